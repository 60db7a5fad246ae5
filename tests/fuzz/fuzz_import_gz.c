/* Candle files compressed with gzip: byte 0 picks the options as in fuzz_import, byte 1 says where to
 * cut the compressed stream (0 = keep it whole, else keep that share of it in 1/256ths: a truncated
 * download), the rest is the uncompressed file, compressed here so the mutations reach the parsers
 * behind the decompressor. */
#include "import_check.h"

#include <zlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_quiet();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  const uint8_t *plain = data + 2;
  size_t n = size - 2;
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) /* 15 + 16: gzip wrapper */
    abort();
  size_t cap = deflateBound(&z, (uLong)n) + 64;
  uint8_t *gz = malloc(cap);
  if (!gz)
    abort();
  z.next_in = (Bytef *)(uintptr_t)plain;
  z.avail_in = (uInt)n;
  z.next_out = gz;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    abort();
  size_t len = z.total_out;
  deflateEnd(&z);
  if (data[1])
    len = len * data[1] / 256;
  char path[600];
  fuzz_write("candles.csv.gz", gz, len, path, sizeof(path));
  free(gz);
  fuzz_import_path(path, data[0]);
  return 0;
}
