/* Shared by fuzz_import and fuzz_import_gz: runs tml_import_file on a file with options taken from one
 * selector byte, and checks what the importer promises (include/trademl/import.h): a refusal carries
 * a message; an accepted file gives ascending, on-grid, valid candles whose count matches the report. */
#ifndef TML_FUZZ_IMPORT_CHECK_H
#define TML_FUZZ_IMPORT_CHECK_H

#include "fuzz.h"

#include "trademl/import.h"
#include "trademl/series.h"
#include "trademl/timeutil.h"

static inline void fuzz_import_path(const char *path, uint8_t sel) {
  static const enum tml_import_format formats[4] = {TML_IMPORT_AUTO, TML_IMPORT_CSV, TML_IMPORT_BINANCE_DUMP,
                                                    TML_IMPORT_FREQTRADE_JSON};
  static const int64_t intervals[4] = {0, 3600000, 60000, 86400000};
  struct tml_import_opts o = {.symbol = "btc/usdt",
                              .interval_ms = intervals[(sel >> 2) & 3],
                              .skip_bad_rows = (sel & 0x10) != 0,
                              .format = formats[sel & 3]};
  struct tml_candles c;
  struct tml_import_report rep;
  struct tml_error err;
  tml_error_init(&err);
  int rc = tml_import_file(path, &o, &c, &rep, &err);
  if (rc) {
    if (!err.msg[0] || c.len != 0 || rep.rows_ok != 0)
      abort(); /* a refusal names the problem and returns nothing */
  } else {
    if (c.len == 0 || c.len != rep.rows_ok || c.interval_ms != rep.interval_ms || rep.interval_ms <= 0 ||
        strcmp(c.symbol, "BTCUSDT") != 0 || rep.nbad > TML_IMPORT_BAD_KEPT)
      abort();
    if (!o.skip_bad_rows && rep.rows_skipped)
      abort(); /* without --skip-bad-rows one bad row rejects the file */
    for (size_t i = 0; i < c.len; i++) {
      if (i && c.open_time[i] <= c.open_time[i - 1])
        abort();
      if (tml_time_floor(c.open_time[i], c.interval_ms) != c.open_time[i])
        abort();
      if (!(c.high[i] >= c.low[i]) || !(c.open[i] >= c.low[i] && c.open[i] <= c.high[i]) ||
          !(c.close[i] >= c.low[i] && c.close[i] <= c.high[i]) || !(c.volume[i] >= 0))
        abort();
    }
  }
  tml_candles_release(&c);
}

#endif
