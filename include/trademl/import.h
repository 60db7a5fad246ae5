/* Candle file importers: generic CSV (header detection, epoch s/ms/us or date strings, banner lines
 * as in CryptoDataDownload exports, extra columns ignored), Binance kline dumps (12 columns, no
 * header) and freqtrade JSON ([[ts,o,h,l,c,v],...], plain or gzip). Parses, validates and sorts;
 * never touches the store, so a failed import cannot write anything. */
#ifndef TML_IMPORT_H
#define TML_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/series.h"

struct tml_error;

enum tml_import_format { TML_IMPORT_AUTO, TML_IMPORT_CSV, TML_IMPORT_BINANCE_DUMP, TML_IMPORT_FREQTRADE_JSON };

struct tml_import_opts {
  const char *symbol;      /* required; normalized ("btc/usdt" -> "BTCUSDT") then validated */
  int64_t interval_ms;     /* 0 = infer from the spacing of the times when unambiguous */
  bool skip_bad_rows;      /* false: any bad row rejects the file; true: skip and report them */
  enum tml_import_format format;
};

#define TML_IMPORT_BAD_KEPT 20  /* bad-row messages kept verbatim; all are counted */
#define TML_IMPORT_MSG_MAX 256

struct tml_import_report {
  enum tml_import_format format;   /* the format used (detected when AUTO) */
  size_t rows_read;                /* data rows seen (header, banner and blank lines excluded) */
  size_t rows_ok;                  /* rows in the output */
  size_t rows_skipped;             /* bad rows skipped (skip_bad_rows) or found (rejected file) */
  size_t rows_duplicate;           /* identical repeats of a time, dropped */
  bool sorted_input;               /* false when the file was not ascending (e.g. newest-first) */
  bool interval_inferred;          /* interval_ms below came from the data, not the options */
  int64_t interval_ms;             /* the interval used */
  size_t nbad;                     /* messages kept in bad[] (<= TML_IMPORT_BAD_KEPT) */
  char bad[TML_IMPORT_BAD_KEPT][TML_IMPORT_MSG_MAX]; /* "file:line: what is wrong" */
};

/* Reads path (gzip-compressed or plain, any format), validates every row and returns the candles
 * sorted ascending in out (initialised by the call; release with tml_candles_release(), also on
 * failure). rep may be NULL. Validation: field count and numbers, high >= low, open and close in
 * [low, high], volume >= 0, open times on the interval grid (UTC-aligned), no duplicate time with
 * different values. Returns 0; TML_EINVAL (bad symbol, unknown interval, interval not inferable);
 * TML_ENOENT/TML_EIO (cannot read); TML_EPARSE/TML_EDATA (bad rows without skip_bad_rows, or no
 * rows at all): the message is "file:line: what is wrong" for the first bad row plus the count. */
int tml_import_file(const char *path, const struct tml_import_opts *o, struct tml_candles *out,
                    struct tml_import_report *rep, struct tml_error *err);

/* "auto", "csv", "binance", "freqtrade"; returns 0 or TML_EINVAL. */
int tml_import_format_parse(const char *s, enum tml_import_format *out);
const char *tml_import_format_name(enum tml_import_format f);

#endif
