/* One symbol's model set with a streaming feature state: the single prediction code path shared by
 * `trademl predict` (tml_predict_latest), the live loop and the C ABI for bots. Opening streams every
 * stored closed candle through the feature stream (O(1) per candle, the same code training uses);
 * each newer closed candle is then pushed in O(1) and the five heads are predicted for it, so a live
 * prediction equals what `trademl predict` computes for the same candle and model to the last bit. */
#ifndef TML_MODELSTREAM_H
#define TML_MODELSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/modelset.h"
#include "trademl/predict.h"

struct tml_error;
struct tml_store;
struct tml_model_stream; /* opaque: model set (borrowed) + tml_feature_stream + symbol index + last prediction */

/* Opens a stream of `symbol` for the model set m (borrowed: it must outlive the stream) at the model's
 * interval: every stored candle closed at now_ms (open time + interval <= now_ms) is streamed through
 * the feature stream and, when the last one completes a feature row, its prediction becomes the
 * stream's latest. Too little history is not an error here (tml_model_stream_latest says how much is
 * missing; later pushes may complete the warm-up). On success *out is the caller's (close with
 * tml_model_stream_close). Returns 0, TML_EINVAL (m was not trained on symbol), TML_EDATA (a stored
 * candle the features refuse: non-finite or non-positive price; the message names symbol and time),
 * TML_EDB, TML_EXGB, TML_ENOMEM. Single-threaded: one thread at a time per stream and per model set
 * (XGBoost reuses a booster's output buffer). */
int tml_model_stream_open(struct tml_store *store, const struct tml_modelset *m, const char *symbol,
                          int64_t now_ms, struct tml_model_stream **out, struct tml_error *err);

/* Opens an empty stream (no stored history is read): for callers that push every candle themselves
 * (the C ABI). Same contract as tml_model_stream_open otherwise. */
int tml_model_stream_create(const struct tml_modelset *m, const char *symbol, struct tml_model_stream **out,
                            struct tml_error *err);

/* Pushes one closed candle (open time strictly after the last one pushed or streamed; an older or equal
 * one is refused with TML_EINVAL and the state is unchanged) and, when the feature row is complete,
 * predicts the five heads into *p and sets *ready (p may be NULL; the prediction is also kept as the
 * stream's latest). *ready false (and *p zeroed) while the features are still warming up. Returns 0,
 * TML_EINVAL (out of order, or a non-finite/non-positive price or negative volume: the candle is
 * skipped, state unchanged), TML_EXGB. */
int tml_model_stream_push(struct tml_model_stream *s, int64_t open_ms, double open, double high, double low,
                          double close, double volume, struct tml_prediction *p, bool *ready,
                          struct tml_error *err);

/* The prediction for the last candle pushed (or streamed at open). TML_EDATA when there is none yet:
 * no closed candle, or fewer candles than the features need (the message says how many there are and
 * how many are needed). */
int tml_model_stream_latest(const struct tml_model_stream *s, struct tml_prediction *p, struct tml_error *err);

/* Open time of the last candle pushed or streamed; INT64_MIN when none. */
int64_t tml_model_stream_last_ms(const struct tml_model_stream *s);
/* Number of candles pushed or streamed so far. */
size_t tml_model_stream_candles(const struct tml_model_stream *s);
/* The model set the stream predicts with (borrowed from the caller of open). */
const struct tml_modelset *tml_model_stream_modelset(const struct tml_model_stream *s);
/* Frees the stream (not the model set). Accepts NULL. */
void tml_model_stream_close(struct tml_model_stream *s);

#endif
