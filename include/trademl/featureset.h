/* The named, versioned model feature set: 50 technical, 10 candle-structure and 10 multi-timeframe
 * columns, all scale-free (ratios, normalised distances, log returns) so one model can serve
 * several symbols. docs/features.md lists every column with its formula and warm-up.
 *
 * One code path: tml_feature_stream_push() updates every indicator state once per candle (O(1));
 * tml_features_compute() is that stream run over a series, so training and live prediction cannot
 * disagree, and every value at candle t depends on candles up to t only. The higher-timeframe
 * columns use the last *closed* higher-interval candle, built in the stream by UTC bucket
 * (tml_time_floor): a bucket is closed once its last sub-candle or a candle of a later bucket
 * arrived. Gaps in the input are not filled: indicators continue across them, and a bucket with
 * missing sub-candles is built from those present. */
#ifndef TML_FEATURESET_H
#define TML_FEATURESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_candles;
struct tml_error;

#define TML_FEATURESET_VERSION 1

struct tml_featureset_opts {
  int64_t base_interval_ms; /* candle interval; 0 = the series' interval_ms */
  int64_t htf_interval_ms;  /* higher interval; 0 = tml_featureset_default_htf(base) */
};

/* Number of columns (70 in version 1). */
size_t tml_featureset_ncols(void);
/* Name of column `col` ("ret_log_1"...), a static string; NULL when col is out of range. */
const char *tml_featureset_name(size_t col);
/* Index of the column named `name`, or -1. */
long tml_featureset_index(const char *name);
/* 16 hex digits: FNV-1a 64 over the version, every column's name and its definition string
 * (formula and parameters). It changes whenever a definition changes; a model stores it and
 * refuses to load against a different one. Static string. */
const char *tml_featureset_checksum(void);
/* Default higher interval: 1h below 1h (5m, 15m...), 4h for 1h and 2h, 1d below 1d (4h...),
 * 1w for 1d. 0 for a base of 1w or more (no default exists). */
int64_t tml_featureset_default_htf(int64_t base_interval_ms);
/* Upper bound of the candles consumed before the first complete row (gap-free or not); 0 when
 * the options are invalid. */
size_t tml_featureset_warmup(const struct tml_featureset_opts *o);

struct tml_features {
  size_t nrows, ncols;
  float *X;               /* row-major nrows*ncols, no NaN */
  size_t first_index;     /* candle index of row 0 */
  size_t warmup_dropped;  /* candles before row 0 (== first_index) */
  int64_t *open_time;     /* per row */
};

/* Runs the feature stream over `c` (borrowed) and keeps the complete rows: row r is candle
 * first_index + r; every row after the warm-up is complete (no NaN). `o` may be NULL (defaults).
 * Returns 0; TML_EINVAL for bad options; TML_EDATA for unusable candles (non-finite or
 * non-positive prices, negative volume, times not ascending) or a series shorter than the warm-up;
 * TML_ENOMEM. On success the caller releases `out` with tml_features_release(); on failure `out`
 * is left empty. */
int tml_features_compute(const struct tml_candles *c, const struct tml_featureset_opts *o,
                         struct tml_features *out, struct tml_error *err);
/* As tml_features_compute, with stored higher-interval candles as context: every candle of `ctx`
 * (interval = the feature set's higher interval, ascending; NULL = none) that closed before the first
 * candle of `c` (open_time + interval <= c's first open_time) is fed to the higher-timeframe columns
 * first, as if it had been built from sub-candles; from the first candle of `c` on, the stream builds
 * the higher candles itself, as without context. So where both exist the values are identical when the
 * stored candles equal the resampled ones, and nothing after a row's candle is used. *nctx_used (may be
 * NULL) counts the context candles fed. TML_EINVAL for a ctx of another interval, TML_EDATA for an
 * unusable context candle, else as tml_features_compute. threads >= 2 lets a helper thread fault a
 * large matrix in while the stream writes it (tml_prefault_start); the values are the same either way. */
int tml_features_compute_ctx(const struct tml_candles *c, const struct tml_candles *ctx,
                             const struct tml_featureset_opts *o, int threads, struct tml_features *out,
                             size_t *nctx_used, struct tml_error *err);
/* Frees the arrays; accepts NULL. */
void tml_features_release(struct tml_features *f);

/* Live form: one push per closed candle, in ascending open_time. */
struct tml_feature_stream;
/* Creates a stream (caller destroys it). o->base_interval_ms must be set (> 0).
 * Returns 0, TML_EINVAL (bad intervals), TML_ENOMEM. */
int tml_feature_stream_create(const struct tml_featureset_opts *o, struct tml_feature_stream **out,
                              struct tml_error *err);
/* Consumes one candle and writes its feature row to `row` (ncols floats; NaN where a feature is
 * still warming up); *ready is true when the row is complete. Returns 0, or TML_EINVAL for a
 * candle that is out of order or has non-finite/non-positive prices or a negative volume (the
 * stream state is left unchanged, *ready false). */
int tml_feature_stream_push(struct tml_feature_stream *s, int64_t open_time, double open, double high,
                            double low, double close, double volume, float *row, bool *ready);
/* Feeds one closed higher-interval candle (open_time on an interval boundary, after the previous
 * one) before the first base candle: the context tml_features_compute_ctx uses. TML_EINVAL once a
 * base candle was pushed, for a misaligned or out-of-order time, or non-finite/non-positive prices. */
int tml_feature_stream_push_context(struct tml_feature_stream *s, int64_t open_time, double open, double high,
                                    double low, double close);
/* Accepts NULL. */
void tml_feature_stream_destroy(struct tml_feature_stream *s);

#endif
