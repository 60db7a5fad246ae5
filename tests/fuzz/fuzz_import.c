/* Candle files as `trademl data import` reads them (CSV with any header or banner, Binance dumps,
 * freqtrade JSON, any of them gzip-compressed): byte 0 picks the options (format, interval,
 * --skip-bad-rows), the rest is the file. Raw bytes, so truncated and corrupt gzip streams are
 * tried too; fuzz_import_gz feeds well-formed gzip. */
#include "import_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_quiet();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  char path[600];
  fuzz_write("candles.csv", data + 1, size - 1, path, sizeof(path));
  fuzz_import_path(path, data[0]);
  return 0;
}
