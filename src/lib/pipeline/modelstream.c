/* Model stream: a model set plus one symbol's streaming feature state. The only place where a feature
 * row is turned into the five heads' predictions, so `trademl predict`, the live loop and the C ABI
 * agree to the last bit (tests/unit/pipeline/test_modelstream.c checks it on real candles). */
#include "trademl/modelstream.h"
#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

struct tml_model_stream {
  const struct tml_modelset *m; /* borrowed */
  char symbol[TML_SYMBOL_MAX];
  int sidx;                      /* index of symbol in m->symbols (encoding columns) */
  struct tml_featureset_opts fo;
  struct tml_feature_stream *fs;
  void *state;                   /* the strategy's per-symbol state (stream_open) */
  float *row;                    /* m->ncols floats: features, then the symbol encoding */
  int64_t last_ms;               /* last candle streamed; INT64_MIN when none */
  double ohlc[4];                /* its prices (strategies that trade the stream: stream_trade) */
  size_t candles;                /* candles streamed */
  bool have_latest;
  struct tml_prediction latest;
};

int64_t tml_model_stream_last_ms(const struct tml_model_stream *s) { return s->last_ms; }
size_t tml_model_stream_candles(const struct tml_model_stream *s) { return s->candles; }
const struct tml_modelset *tml_model_stream_modelset(const struct tml_model_stream *s) { return s->m; }

void tml_model_stream_close(struct tml_model_stream *s) {
  if (!s)
    return;
  if (s->state)
    s->m->model->strategy->stream_close(s->state);
  tml_feature_stream_destroy(s->fs);
  free(s->row);
  free(s);
}

int tml_model_stream_create(const struct tml_modelset *m, const char *symbol, struct tml_model_stream **out,
                            struct tml_error *err) {
  *out = NULL;
  int sidx = tml_modelset_symbol_index(m, symbol);
  if (sidx < 0)
    return tml_error_set(err, TML_EINVAL, "model set '%s' was not trained on %s", m->dir, symbol);
  struct tml_model_stream *s = calloc(1, sizeof(*s));
  if (!s || !(s->row = calloc(m->ncols, sizeof(float)))) {
    free(s);
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  }
  s->m = m;
  snprintf(s->symbol, sizeof(s->symbol), "%s", symbol);
  s->sidx = sidx;
  s->last_ms = INT64_MIN;
  s->fo.base_interval_ms = m->interval_ms;
  s->fo.htf_interval_ms = 0;
  int rc = tml_feature_stream_create(&s->fo, &s->fs, err);
  if (!rc)
    rc = m->model->strategy->stream_open(m->model->impl, &s->state, err);
  if (rc) {
    tml_model_stream_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* Steps the strategy's state over the complete feature row in s->row (encoding columns written here)
 * and, when p is given, predicts the five heads for it. Every complete row is stepped, so strategies
 * with memory (sequences) see the same history live as in training. */
static int step_row(struct tml_model_stream *s, int64_t open_ms, struct tml_prediction *p, struct tml_error *err) {
  const struct tml_modelset *m = s->m;
  if (m->encoding == TML_ENC_ONE_HOT)
    for (size_t j = 0; j < m->nsymbols; j++)
      s->row[m->nfeat + j] = (int)j == s->sidx ? 1.0f : 0.0f;
  else if (m->encoding == TML_ENC_INDEX)
    s->row[m->nfeat] = (float)s->sidx;
  const struct tml_strategy *st = m->model->strategy;
  if (!p) {
    int rc = st->stream_step(s->state, s->row, NULL, err);
    if (!rc && st->stream_trade)
      rc = st->stream_trade(s->state, m->interval_ms, s->ohlc, NULL, err);
    return rc;
  }
  memset(p, 0, sizeof(*p));
  p->candle_ms = open_ms;
  float out[TML_HEAD_COUNT][TML_MAX_CLASSES];
  int rc = m->model->strategy->stream_step(s->state, s->row, out, err);
  if (rc)
    return rc;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    int k = tml_head_nclass((enum tml_head)h);
    if (k == 0) {
      p->value[h] = out[h][0];
      continue;
    }
    int best = 0;
    for (int j = 0; j < k; j++) {
      p->proba[h][j] = out[h][j];
      if (out[h][j] > out[h][best])
        best = j;
    }
    p->cls[h] = best;
  }
  /* A strategy that trades the stream decides with the position its earlier decisions built;
   * decide() answers from the row alone. */
  if (st->stream_trade)
    return st->stream_trade(s->state, m->interval_ms, s->ohlc, &p->decision, err);
  if (st->decide)
    return st->decide(m->model->impl, s->row, &p->decision, err);
  return 0;
}

/* Feeds one candle to the feature stream; *ready when the row is complete. */
static int feed(struct tml_model_stream *s, int64_t open_ms, double o, double h, double l, double c, double v,
                int bad_code, bool *ready, struct tml_error *err) {
  *ready = false;
  if (s->candles > 0 && open_ms <= s->last_ms) {
    char t[32], last[32];
    tml_time_format(open_ms, t, sizeof(t));
    tml_time_format(s->last_ms, last, sizeof(last));
    return tml_error_set(err, TML_EINVAL, "%s candle %s is not after the last one streamed (%s); push closed candles "
                         "in ascending open time, once each", s->symbol, t, last);
  }
  if (tml_feature_stream_push(s->fs, open_ms, o, h, l, c, v, s->row, ready) != 0) {
    char t[32];
    tml_time_format(open_ms, t, sizeof(t));
    return tml_error_set(err, bad_code, "%s candle %s is unusable (open %g high %g low %g close %g volume %g): "
                         "prices must be finite and positive, volume not negative", s->symbol, t, o, h, l, c, v);
  }
  s->last_ms = open_ms;
  s->candles++;
  s->ohlc[0] = o;
  s->ohlc[1] = h;
  s->ohlc[2] = l;
  s->ohlc[3] = c;
  return 0;
}

int tml_model_stream_push(struct tml_model_stream *s, int64_t open_ms, double open, double high, double low,
                          double close, double volume, struct tml_prediction *p, bool *ready,
                          struct tml_error *err) {
  bool ok = false;
  if (ready)
    *ready = false;
  if (p)
    memset(p, 0, sizeof(*p));
  int rc = feed(s, open_ms, open, high, low, close, volume, TML_EINVAL, &ok, err);
  if (rc)
    return rc;
  s->have_latest = false;
  if (!ok)
    return 0;
  if ((rc = step_row(s, open_ms, &s->latest, err)))
    return rc;
  s->have_latest = true;
  if (p)
    *p = s->latest;
  if (ready)
    *ready = true;
  return 0;
}

int tml_model_stream_open(struct tml_store *store, const struct tml_modelset *m, const char *symbol,
                          int64_t now_ms, struct tml_model_stream **out, struct tml_error *err) {
  *out = NULL;
  struct tml_model_stream *s = NULL;
  struct tml_candles c;
  int rc = tml_model_stream_create(m, symbol, &s, err);
  if (rc)
    return rc;
  if ((rc = tml_store_load(store, symbol, m->interval_ms, INT64_MIN, INT64_MAX, &c, err)))
    goto fail;
  /* The last candle may still be forming: use only candles closed at now_ms. */
  size_t n = c.len;
  while (n > 0 && c.open_time[n - 1] + c.interval_ms > now_ms)
    n--;
  bool ready = false;
  for (size_t i = 0; i < n; i++) {
    if ((rc = feed(s, c.open_time[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i], TML_EDATA, &ready,
                   err)))
      goto fail_candles;
    /* Only the last streamed candle is predicted: the rows before it only advance the state. */
    if (ready && (rc = step_row(s, s->last_ms, i + 1 == n ? &s->latest : NULL, err)))
      goto fail_candles;
    s->have_latest = ready && i + 1 == n;
  }
  tml_candles_release(&c);
  *out = s;
  return 0;
fail_candles:
  tml_candles_release(&c);
fail:
  tml_model_stream_close(s);
  return rc;
}

int tml_model_stream_latest(const struct tml_model_stream *s, struct tml_prediction *p, struct tml_error *err) {
  memset(p, 0, sizeof(*p));
  if (s->have_latest) {
    *p = s->latest;
    return 0;
  }
  const char *iv = tml_interval_name(s->m->interval_ms);
  if (s->candles == 0)
    return tml_error_set(err, TML_EDATA, "no closed %s candle of %s in the store", iv ? iv : "?", s->symbol);
  return tml_error_set(err, TML_EDATA, "%s has %zu closed %s candles, fewer than the %zu the features need",
                       s->symbol, s->candles, iv ? iv : "?", tml_featureset_warmup(&s->fo));
}
