/* Gaps and coverage of a candle series: one pass over the open times. A gap is a run of missing
 * open times between two present candles; coverage = present / expected between first and last. */
#include "trademl/quality.h"
#include "util/common.h"

#include "trademl/error.h"
#include "trademl/mem.h"
#include "trademl/timeutil.h"

int tml_quality_compute(const struct tml_candles *c, struct tml_quality *q, struct tml_error *err) {
  memset(q, 0, sizeof(*q));
  int64_t iv = c->interval_ms;
  if (!tml_interval_name(iv))
    return tml_error_set(err, TML_EINVAL, "quality of %s: unsupported interval of %" PRId64 " ms", c->symbol, iv);
  if (c->len == 0)
    return 0;
  size_t cap = 0;
  for (size_t i = 1; i < c->len; i++) {
    int64_t d = c->open_time[i] - c->open_time[i - 1];
    if (d <= 0 || d % iv != 0) {
      char ts[32];
      tml_time_format(c->open_time[i], ts, sizeof(ts));
      tml_quality_release(q);
      return tml_error_set(err, TML_EINVAL, "quality of %s %s: candle at %s is %s (expected ascending open times "
                           "%s apart)", c->symbol, tml_interval_name(iv), ts, d <= 0 ? "out of order" : "off the grid",
                           tml_interval_name(iv));
    }
    if (d == iv)
      continue;
    struct tml_gap *grown = tml_grow(q->gaps, &cap, q->ngaps, sizeof(*grown), 16);
    if (!grown) {
      tml_quality_release(q);
      return tml_error_set(err, TML_ENOMEM, "out of memory computing the quality of %s", c->symbol);
    }
    q->gaps = grown;
    struct tml_gap *g = &q->gaps[q->ngaps++];
    g->from_ms = c->open_time[i - 1] + iv;
    g->to_ms = c->open_time[i] - iv;
    g->missing = (size_t)(d / iv - 1);
  }
  q->first_ms = c->open_time[0];
  q->last_ms = c->open_time[c->len - 1];
  q->rows = c->len;
  q->expected = (size_t)((q->last_ms - q->first_ms) / iv) + 1;
  q->missing = q->expected - q->rows;
  q->history_days = (double)(q->last_ms + iv - q->first_ms) / (double)TML_MS_PER_DAY;
  q->coverage_pct = 100.0 * (double)q->rows / (double)q->expected;
  return 0;
}

void tml_quality_release(struct tml_quality *q) {
  if (!q)
    return;
  free(q->gaps);
  q->gaps = NULL;
  q->ngaps = 0;
}
