/* Columnar candle series: allocation, append, search, slice. */
#include "trademl/series.h"
#include "trademl/error.h"
#include "trademl/timeutil.h"
#include "util/common.h"

void tml_candles_init(struct tml_candles *c, const char *symbol, int64_t interval_ms) {
  memset(c, 0, sizeof(*c));
  if (symbol)
    snprintf(c->symbol, sizeof(c->symbol), "%s", symbol);
  c->interval_ms = interval_ms;
}

void tml_candles_release(struct tml_candles *c) {
  if (!c)
    return;
  free(c->open_time);
  free(c->open);
  free(c->high);
  free(c->low);
  free(c->close);
  free(c->volume);
  c->open_time = NULL;
  c->open = c->high = c->low = c->close = c->volume = NULL;
  c->len = c->cap = 0;
}

int tml_candles_reserve(struct tml_candles *c, size_t rows) {
  if (rows <= c->cap)
    return 0;
  int64_t *t = realloc(c->open_time, rows * sizeof(*t));
  if (!t)
    return TML_ENOMEM;
  c->open_time = t;
  double **cols[] = {&c->open, &c->high, &c->low, &c->close, &c->volume};
  for (size_t i = 0; i < TML_ARRAY_LEN(cols); i++) {
    double *p = realloc(*cols[i], rows * sizeof(double));
    if (!p)
      return TML_ENOMEM;
    *cols[i] = p;
  }
  c->cap = rows;
  return 0;
}

int tml_candles_push(struct tml_candles *c, int64_t open_time, double open, double high, double low,
                     double close, double volume) {
  if (c->len == c->cap) {
    int rc = tml_candles_reserve(c, c->cap ? c->cap * 2 : 1024);
    if (rc)
      return rc;
  }
  size_t i = c->len++;
  c->open_time[i] = open_time;
  c->open[i] = open;
  c->high[i] = high;
  c->low[i] = low;
  c->close[i] = close;
  c->volume[i] = volume;
  return 0;
}

size_t tml_candles_lower_bound(const struct tml_candles *c, int64_t t) {
  size_t lo = 0, hi = c->len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->open_time[mid] < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int tml_candles_slice(const struct tml_candles *c, size_t from, size_t to, struct tml_candles *dst) {
  tml_candles_init(dst, c->symbol, c->interval_ms);
  if (from > to || to > c->len)
    return TML_EINVAL;
  size_t n = to - from;
  if (n == 0)
    return 0;
  int rc = tml_candles_reserve(dst, n);
  if (rc)
    return rc;
  memcpy(dst->open_time, c->open_time + from, n * sizeof(int64_t));
  memcpy(dst->open, c->open + from, n * sizeof(double));
  memcpy(dst->high, c->high + from, n * sizeof(double));
  memcpy(dst->low, c->low + from, n * sizeof(double));
  memcpy(dst->close, c->close + from, n * sizeof(double));
  memcpy(dst->volume, c->volume + from, n * sizeof(double));
  dst->len = n;
  return 0;
}

/* Sorting permutes all six columns; an index sort keeps it simple and stable. */
static const int64_t *sort_keys;
static int cmp_index(const void *a, const void *b) {
  int64_t x = sort_keys[*(const size_t *)a], y = sort_keys[*(const size_t *)b];
  return (x > y) - (x < y);
}

int tml_candles_sort(struct tml_candles *c, struct tml_error *err) {
  bool sorted = true;
  for (size_t i = 1; i < c->len && sorted; i++)
    sorted = c->open_time[i - 1] < c->open_time[i];
  if (!sorted) {
    size_t *idx = malloc(c->len * sizeof(*idx));
    struct tml_candles tmp;
    tml_candles_init(&tmp, c->symbol, c->interval_ms);
    if (!idx || tml_candles_reserve(&tmp, c->len)) {
      free(idx);
      tml_candles_release(&tmp);
      return tml_error_set(err, TML_ENOMEM, "out of memory sorting %zu candles", c->len);
    }
    for (size_t i = 0; i < c->len; i++)
      idx[i] = i;
    sort_keys = c->open_time;
    qsort(idx, c->len, sizeof(*idx), cmp_index);
    for (size_t i = 0; i < c->len; i++) {
      size_t j = idx[i];
      tml_candles_push(&tmp, c->open_time[j], c->open[j], c->high[j], c->low[j], c->close[j], c->volume[j]);
    }
    free(idx);
    tml_candles_release(c);
    *c = tmp;
  }
  for (size_t i = 1; i < c->len; i++) {
    if (c->open_time[i - 1] == c->open_time[i]) {
      char ts[32];
      tml_time_format(c->open_time[i], ts, sizeof(ts));
      return tml_error_set(err, TML_ECONFLICT, "duplicate candle at %s", ts);
    }
  }
  return 0;
}
