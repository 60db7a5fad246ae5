/* Resampling to a higher interval in one pass. Buckets are [floor(t), floor(t) + to) with
 * tml_time_floor (UTC, weeks from Monday). A bucket is emitted only when it holds all to/from
 * sub-candles and has closed by now_ms, so a partial or still-forming candle never looks closed. */
#include "trademl/resample.h"
#include "util/common.h"

#include "trademl/error.h"
#include "trademl/timeutil.h"

int tml_resample(const struct tml_candles *in, int64_t to_interval_ms, int64_t now_ms, struct tml_candles *out,
                 struct tml_error *err) {
  int64_t from = in->interval_ms, to = to_interval_ms;
  tml_candles_init(out, in->symbol, to);
  if (!tml_interval_name(from) || !tml_interval_name(to) || to <= from || to % from != 0)
    return tml_error_set(err, TML_EINVAL,
                         "cannot resample %s from %s to %s: the target must be a larger supported interval and a "
                         "multiple of the source (valid: %s)",
                         in->symbol, tml_interval_name(from) ? tml_interval_name(from) : "?",
                         tml_interval_name(to) ? tml_interval_name(to) : "?", tml_interval_list());
  if (in->len && tml_candles_reserve(out, in->len / (size_t)(to / from) + 1))
    return tml_error_set(err, TML_ENOMEM, "out of memory resampling %s", in->symbol);
  const size_t per_bucket = (size_t)(to / from);
  size_t i = 0;
  while (i < in->len) {
    int64_t start = tml_time_floor(in->open_time[i], to);
    size_t j = i;
    double hi = in->high[i], lo = in->low[i], vol = 0;
    for (; j < in->len && in->open_time[j] < start + to; j++) {
      if (j > i && in->open_time[j] <= in->open_time[j - 1]) {
        tml_candles_release(out);
        return tml_error_set(err, TML_EINVAL, "cannot resample %s: open times are not strictly ascending", in->symbol);
      }
      hi = TML_MAX(hi, in->high[j]);
      lo = TML_MIN(lo, in->low[j]);
      vol += in->volume[j];
    }
    bool complete = j - i == per_bucket;
    bool closed = now_ms == INT64_MAX || start + to <= now_ms;
    if (complete && closed)
      tml_candles_push(out, start, in->open[i], hi, lo, in->close[j - 1], vol);
    i = j;
  }
  return 0;
}
