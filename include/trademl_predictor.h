/* trademl predictor: a small, stable C ABI for trading bots in any language (libtrademl_predictor.so).
 *
 * One handle predicts one symbol with the model the trademl registry has active for it, exactly as
 * `trademl predict` and the live loop do (the same streaming feature code and the same five heads):
 *
 *   tml_predictor *h = tml_predictor_open("/srv/trademl/var", NULL, "BTCUSDT", "15m");
 *   if (tml_predictor_last_error(h)[0]) { fprintf(stderr, "%s\n", tml_predictor_last_error(h)); }
 *   tml_predictor_push(h, open_ms, open, high, low, close, volume);  // each newly closed candle
 *   struct tml_predictor_result r = {sizeof(r)};
 *   if (tml_predictor_latest(h, &r) == 0) use(r.proba[TML_PREDICTOR_DIRECTION], r.value[...]);
 *   tml_predictor_close(h);
 *
 * Only <stdint.h> and <stddef.h> are needed. Every function is exported with C linkage; nothing else
 * of the library is visible. Compatibility: functions and the fields of tml_predictor_result are only
 * ever added (at the end); TML_PREDICTOR_ABI_VERSION grows when they are, and
 * tml_predictor_abi_version() says what the loaded library implements. The caller sets
 * result.struct_size = sizeof(result): a library never writes past it. docs/abi.md has the details.
 *
 * Threads: one handle must not be used by two threads at once; distinct handles are independent. */
#ifndef TRADEML_PREDICTOR_H
#define TRADEML_PREDICTOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TML_PREDICTOR_API __attribute__((visibility("default")))
#else
#define TML_PREDICTOR_API
#endif

#define TML_PREDICTOR_ABI_VERSION 1

/* Heads (index into proba/cls/value). */
#define TML_PREDICTOR_DIRECTION 0     /* classes: 0 down, 1 neutral, 2 up */
#define TML_PREDICTOR_VOLATILITY 1    /* classes: 0 low, 1 normal, 2 high, 3 extreme */
#define TML_PREDICTOR_TIMING 2        /* classes: 0 bad, 1 ok, 2 good */
#define TML_PREDICTOR_STOP_LOSS 3     /* regression: stop-loss distance in percent */
#define TML_PREDICTOR_POSITION_SIZE 4 /* regression: fraction of full size */
#define TML_PREDICTOR_HEADS 5
#define TML_PREDICTOR_MAX_CLASSES 8

/* Return codes (negative = error; the message is in tml_predictor_last_error). */
#define TML_PREDICTOR_OK 0
#define TML_PREDICTOR_READY 1         /* push: a prediction for the pushed candle is available */
#define TML_PREDICTOR_WARMING 0       /* push: accepted, the features still need more candles */
#define TML_PREDICTOR_EINVAL (-1)     /* bad argument, out-of-order candle, bad price */
#define TML_PREDICTOR_ENODATA (-2)    /* no prediction yet (warming up) */
#define TML_PREDICTOR_EOPEN (-3)      /* the handle failed to open (see last_error) */
#define TML_PREDICTOR_EFAIL (-4)      /* model/engine failure */

typedef struct tml_predictor tml_predictor; /* opaque */

struct tml_predictor_result {
  uint32_t struct_size;        /* in: sizeof(struct tml_predictor_result) of the caller */
  uint32_t abi_version;        /* out: TML_PREDICTOR_ABI_VERSION of the library */
  int64_t candle_open_ms;      /* open time (UTC ms) of the candle the prediction is for */
  int64_t model_id;            /* registry id of the model (0 when loaded from a folder without one) */
  char model_version[64];      /* the model set's version (folder name), NUL-terminated */
  int32_t nclass[TML_PREDICTOR_HEADS];                       /* 3, 4, 3, 0, 0 */
  int32_t cls[TML_PREDICTOR_HEADS];                          /* argmax class of class heads; -1 otherwise */
  float proba[TML_PREDICTOR_HEADS][TML_PREDICTOR_MAX_CLASSES]; /* class probabilities (nclass used) */
  float value[TML_PREDICTOR_HEADS];                          /* regression heads; NaN for class heads */
};

/* The ABI version the loaded library implements. */
TML_PREDICTOR_API int tml_predictor_abi_version(void);

/* Opens a predictor: reads the configuration as `trademl --home HOME` does (HOME/trademl.db, models,
 * ./trademl.yaml when present, TRADEML_* environment variables), loads the model the registry has
 * active for symbol at interval (strategy NULL or "" = model.strategy; interval NULL or "" =
 * data.interval), and warms the feature stream with every stored closed candle of symbol, so
 * tml_predictor_latest answers at once when there is enough history. Returns a handle in every case
 * but out of memory (NULL): when opening failed, tml_predictor_last_error says why and the other calls
 * return TML_PREDICTOR_EOPEN. Close it with tml_predictor_close. */
TML_PREDICTOR_API tml_predictor *tml_predictor_open(const char *home, const char *strategy, const char *symbol,
                                                    const char *interval);

/* Pushes one closed candle (open time in UTC ms, strictly after the last one pushed or stored; prices
 * positive and finite, volume >= 0). Returns TML_PREDICTOR_READY when the five heads were predicted for
 * it, TML_PREDICTOR_WARMING while the features need more candles, or a negative code (the candle is
 * ignored and the state unchanged). */
TML_PREDICTOR_API int tml_predictor_push(tml_predictor *h, int64_t open_ms, double open, double high, double low,
                                         double close, double volume);

/* The prediction for the newest candle (pushed, or stored at open). 0, TML_PREDICTOR_ENODATA (not
 * enough candles yet), TML_PREDICTOR_EINVAL (NULL or a struct_size smaller than the first version's),
 * TML_PREDICTOR_EOPEN. */
TML_PREDICTOR_API int tml_predictor_latest(tml_predictor *h, struct tml_predictor_result *out);

/* Open time (UTC ms) of the newest candle the predictor has seen; INT64_MIN when none. */
TML_PREDICTOR_API int64_t tml_predictor_last_candle_ms(const tml_predictor *h);

/* The message of the last failed call on h ("" after a successful one). Valid until the next call on h. */
TML_PREDICTOR_API const char *tml_predictor_last_error(const tml_predictor *h);

/* Names: head 0..4 -> "direction"...; class k of head -> "down"...; NULL when out of range. */
TML_PREDICTOR_API const char *tml_predictor_head_name(int head);
TML_PREDICTOR_API const char *tml_predictor_class_name(int head, int k);

/* Frees the handle and its model. NULL is allowed. */
TML_PREDICTOR_API void tml_predictor_close(tml_predictor *h);

#ifdef __cplusplus
}
#endif

#endif
