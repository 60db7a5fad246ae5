/* Predictions of a model set for the latest closed candle of a symbol, computed through the streaming
 * feature path that live trading uses (the batch features are that same stream). */
#ifndef TML_PREDICT_H
#define TML_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/labels.h"
#include "trademl/metrics.h"

struct tml_buf;
struct tml_error;
struct tml_modelset;
struct tml_store;

/* The decision of a strategy that acts rather than forecasts (strategy.h decide hook; rl): its actions'
 * names (static strings), probabilities, the chosen (most probable) action and the critic's value. */
#define TML_DECISION_MAX_ACTIONS 8
struct tml_decision {
  int nactions;                      /* 0 = the strategy has no decision */
  const char *names[TML_DECISION_MAX_ACTIONS];
  float probs[TML_DECISION_MAX_ACTIONS];
  int action;
  float value;
  /* The paper position the decision was taken in (strategies that trade a stream: position_carried). */
  bool position_carried;
  int position;                      /* -1 short, 0 flat, 1 long, after this candle's fill */
  double entry_price;                /* fill price of the open position (0 when flat) */
  double unrealised;                 /* its profit at this candle's close, fraction of the equity at entry */
  int64_t hold_candles;              /* candles it has been held */
  double equity;                     /* paper equity since the stream's first candle (starts at 1) */
  int64_t trades;                    /* positions opened since then */
};

struct tml_prediction {
  int64_t candle_ms;                 /* open time of the candle predicted from */
  float proba[TML_HEAD_COUNT][TML_MAX_CLASSES]; /* class heads */
  int cls[TML_HEAD_COUNT];           /* argmax class of class heads */
  float value[TML_HEAD_COUNT];       /* regression heads */
  /* Staleness, set by tml_prediction_check_age (zero = not checked: no "stale" in the JSON). */
  int64_t age_ms;                    /* now - close time of the candle */
  int64_t stale_after_ms;            /* the candle is stale past this age; 0 = not checked */
  bool stale;                        /* age_ms > stale_after_ms */
  struct tml_decision decision;      /* strategies with a decide hook; nactions 0 otherwise */
};

#define TML_PREDICT_STALE_INTERVALS 3 /* predict.stale_intervals default */

/* Marks p stale when its candle closed more than stale_intervals intervals before now_ms (the store
 * has not been synced: the prediction is for the past). max_age_ms > 0 refuses a candle older than
 * that: TML_ESTALE naming the age, the limit (predict.max_age / --max-age) and the fix. Returns 0
 * otherwise, also for a stale candle within max_age (the caller warns). */
int tml_prediction_check_age(struct tml_prediction *p, int64_t interval_ms, int64_t now_ms, int stale_intervals,
                             int64_t max_age_ms, const char *symbol, struct tml_error *err);
/* "3h 05m", "2d 04h", "45s": an age for humans. out holds >= 32 bytes. */
void tml_format_age(int64_t ms, char *out, size_t outsz);

/* Loads the symbol's candles, drops those not closed at now_ms, streams features over the whole history
 * and predicts the five heads for the last closed candle. TML_EDATA if there is not enough history. */
int tml_predict_latest(struct tml_store *store, const struct tml_modelset *m, const char *symbol, int64_t now_ms,
                       struct tml_prediction *p, struct tml_error *err);
/* The action block of a decision as JSON (`{"name":...,"probabilities":{...},"value":...}`, with
 * "position" when the strategy carries one), appended to b; "null" when d holds no decision. lossless
 * prints every probability with the digits that round-trip a float (the live store); otherwise with six
 * decimals (predict's output). Returns tml_buf's status. */
int tml_decision_to_json(const struct tml_decision *d, bool lossless, struct tml_buf *b);
int tml_prediction_to_json(const struct tml_prediction *p, const struct tml_modelset *m, const char *symbol,
                           int64_t now_ms, struct tml_buf *out);

#endif
