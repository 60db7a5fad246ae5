/* Predictions of a model set for the latest closed candle of a symbol, computed through the streaming
 * feature path that live trading uses (the batch features are that same stream). */
#ifndef TML_PREDICT_H
#define TML_PREDICT_H

#include <stdint.h>

#include "trademl/labels.h"
#include "trademl/metrics.h"
#include "trademl/modelset.h"

struct tml_buf;
struct tml_error;
struct tml_store;

struct tml_prediction {
  int64_t candle_ms;                 /* open time of the candle predicted from */
  float proba[TML_HEAD_COUNT][TML_MAX_CLASSES]; /* class heads */
  int cls[TML_HEAD_COUNT];           /* argmax class of class heads */
  float value[TML_HEAD_COUNT];       /* regression heads */
};

/* Loads the symbol's candles, drops those not closed at now_ms, streams features over the whole history
 * and predicts the five heads for the last closed candle. TML_EDATA if there is not enough history. */
int tml_predict_latest(struct tml_store *store, const struct tml_modelset *m, const char *symbol, int64_t now_ms,
                       struct tml_prediction *p, struct tml_error *err);
int tml_prediction_to_json(const struct tml_prediction *p, const struct tml_modelset *m, const char *symbol,
                           int64_t now_ms, struct tml_buf *out);

#endif
