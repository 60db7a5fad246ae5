/* Higher timeframes from lower ones: buckets aligned to UTC boundaries (weeks start on Monday, see
 * tml_time_floor). Only closed, complete buckets become candles. */
#ifndef TML_RESAMPLE_H
#define TML_RESAMPLE_H

#include <stdint.h>

#include "trademl/series.h"

struct tml_error;

/* Resamples in (ascending, supported interval) to to_interval_ms, which must be a supported interval
 * and a multiple of in->interval_ms. For each bucket: open = first open, high = max high, low = min
 * low, close = last close, volume = sum. A bucket missing any sub-candle is dropped, and so is one
 * not yet closed at now_ms (bucket start + to_interval > now_ms); pass INT64_MAX to judge by
 * completeness only. out is initialised by the call; release with tml_candles_release(). Returns 0,
 * TML_EINVAL (incompatible intervals, unsorted input) or TML_ENOMEM. */
int tml_resample(const struct tml_candles *in, int64_t to_interval_ms, int64_t now_ms, struct tml_candles *out,
                 struct tml_error *err);

#endif
