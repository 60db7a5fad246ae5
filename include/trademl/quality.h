/* Data quality of one candle series: span, missing candles and the gap list, history length and
 * coverage. These are the inputs of the coverage gate (defaults: >= 90 history days, >= 95 %). */
#ifndef TML_QUALITY_H
#define TML_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include "trademl/series.h"

struct tml_error;

struct tml_gap {
  int64_t from_ms;  /* open time of the first missing candle */
  int64_t to_ms;    /* open time of the last missing candle (inclusive) */
  size_t missing;   /* (to_ms - from_ms) / interval + 1 */
};

struct tml_quality {
  int64_t first_ms, last_ms; /* open times of the first and last candle (0 when empty) */
  size_t rows;               /* candles present */
  size_t expected;           /* (last - first) / interval + 1, or 0 when empty */
  size_t missing;            /* expected - rows */
  double history_days;       /* (last + interval - first) / 1 day */
  double coverage_pct;       /* 100 * rows / expected; 0 when empty */
  struct tml_gap *gaps;      /* ascending; owned, free with tml_quality_release() */
  size_t ngaps;
};

/* Computes the quality of c, which must be ascending with a supported interval (as the store and
 * the importers produce). q is filled by the call; release it with tml_quality_release(). An empty
 * series is not an error (all zero). Returns 0, TML_EINVAL (unsorted or off-grid) or TML_ENOMEM. */
int tml_quality_compute(const struct tml_candles *c, struct tml_quality *q, struct tml_error *err);
/* Frees the gap list. Accepts NULL. */
void tml_quality_release(struct tml_quality *q);

#endif
