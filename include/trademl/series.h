/* Columnar candles (structure of arrays): one symbol, one interval, ascending open times.
 * The representation every layer above the store works on; sized once, no per-row allocation. */
#ifndef TML_SERIES_H
#define TML_SERIES_H

#include <stddef.h>
#include <stdint.h>

struct tml_error;

#define TML_SYMBOL_MAX 33

struct tml_candles {
  char symbol[TML_SYMBOL_MAX]; /* normalized, e.g. "BTCUSDT" */
  int64_t interval_ms;         /* candle length */
  size_t len;                  /* rows in use */
  size_t cap;                  /* rows allocated in every column */
  int64_t *open_time;          /* UTC ms, strictly ascending */
  double *open;
  double *high;
  double *low;
  double *close;
  double *volume;              /* base-asset volume */
};

/* Fills an empty series; no allocation until reserve/push. */
void tml_candles_init(struct tml_candles *c, const char *symbol, int64_t interval_ms);
/* Frees the columns; the struct may be re-initialised. Accepts NULL. */
void tml_candles_release(struct tml_candles *c);
/* Ensures capacity for `rows` rows in every column. TML_ENOMEM on failure. */
int tml_candles_reserve(struct tml_candles *c, size_t rows);
int tml_candles_push(struct tml_candles *c, int64_t open_time, double open, double high, double low,
                     double close, double volume);
/* Index of the first row with open_time >= t (len if none). Binary search. */
size_t tml_candles_lower_bound(const struct tml_candles *c, int64_t t);
/* Copies rows [from, to) into dst (initialised by this call). */
int tml_candles_slice(const struct tml_candles *c, size_t from, size_t to, struct tml_candles *dst);
/* Sorts by open time; returns TML_ECONFLICT naming the first duplicate time if any remain. */
int tml_candles_sort(struct tml_candles *c, struct tml_error *err);

#endif
