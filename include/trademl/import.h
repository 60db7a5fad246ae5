/* Candle file importers: generic CSV (header detection, epoch s/ms/us or date strings, 12-hour
 * dates and banner lines as in CryptoDataDownload exports, pandas exports with an unnamed date
 * index, base/quote volume columns, wide multi-asset files with an explicit asset, extra columns
 * ignored), Binance kline dumps (12 columns, no header) and freqtrade JSON ([[ts,o,h,l,c,v],...]),
 * plain or gzip, with or without a UTF-8 byte-order mark. Parses, validates (implausible candles
 * are refused at their line) and sorts; never touches the store, so a failed import cannot write
 * anything. */
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
  const char *volume_column; /* NULL: the base-asset volume column, chosen from the header */
  const char *time_column;   /* NULL: the first accepted time name, or an unnamed first column */
  const char *asset;         /* wide files (BTC:open ... ETH:close): which asset's columns to import */
  bool drop_last_candle;     /* leave the newest candle out (an export may write it while it forms) */
  int64_t now_ms;            /* 0 = the wall clock; bounds future times, tells a still-forming candle */
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
  int64_t spacing_ms;              /* median spacing between consecutive distinct times (0: < 2 times) */
  char volume_column[64];          /* header name of the volume column used ("" without a header) */
  char asset[32];                  /* asset imported from a wide multi-asset file ("" otherwise) */
  bool dropped_last;               /* drop_last_candle left out the candle at dropped_last_ms */
  int64_t dropped_last_ms;
  bool open_candle;                /* the newest candle kept was still forming at now_ms */
  int64_t open_candle_ms;          /* its open time */
  size_t nbad;                     /* messages kept in bad[] (<= TML_IMPORT_BAD_KEPT) */
  char bad[TML_IMPORT_BAD_KEPT][TML_IMPORT_MSG_MAX]; /* "'file' line N: what is wrong" */
};

/* Reads path (gzip-compressed or plain, any format), validates every row and returns the candles
 * sorted ascending in out (initialised by the call; release with tml_candles_release(), also on
 * failure). rep may be NULL. Row checks: field count and numbers, prices > 0, high >= low, open
 * and close in [low, high], volume >= 0, times from 2009 on and at most one interval past now_ms,
 * one epoch unit per file (seconds and milliseconds never mixed), open times on the interval grid
 * (UTC-aligned), no duplicate time with different values. File checks: the declared interval must
 * equal the median spacing of the candles; a truncated gzip or a last line cut off mid-row fails
 * even with skip_bad_rows. Returns 0; TML_EINVAL (bad symbol or option, unknown interval, interval
 * not inferable or not the spacing found); TML_ENOENT/TML_EIO (cannot read, directory, truncated
 * gzip); TML_EPARSE/TML_EDATA (no candle header, bad rows without skip_bad_rows, or no rows at
 * all): the message is "cannot import 'file' line N: what is wrong" for the first bad row plus the
 * count of all. */
int tml_import_file(const char *path, const struct tml_import_opts *o, struct tml_candles *out,
                    struct tml_import_report *rep, struct tml_error *err);

/* "auto", "csv", "binance", "freqtrade"; returns 0 or TML_EINVAL. */
int tml_import_format_parse(const char *s, enum tml_import_format *out);
const char *tml_import_format_name(enum tml_import_format f);

#endif
