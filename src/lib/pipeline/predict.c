/* Latest-candle prediction: stream features over the stored history, predict five heads. */
#include "trademl/predict.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

int tml_predict_latest(struct tml_store *store, const struct tml_modelset *m, const char *symbol, int64_t now_ms,
                       struct tml_prediction *p, struct tml_error *err) {
  memset(p, 0, sizeof(*p));
  int sidx = tml_modelset_symbol_index(m, symbol);
  if (sidx < 0)
    return tml_error_set(err, TML_EINVAL, "model set '%s' was not trained on %s", m->dir, symbol);
  struct tml_candles c;
  int rc = tml_store_load(store, symbol, m->interval_ms, INT64_MIN, INT64_MAX, &c, err);
  if (rc)
    return rc;
  /* The last candle may still be forming: use only candles closed at now_ms. */
  size_t n = c.len;
  while (n > 0 && c.open_time[n - 1] + c.interval_ms > now_ms)
    n--;
  float *row = calloc(m->ncols, sizeof(float));
  struct tml_feature_stream *fs = NULL;
  struct tml_featureset_opts fo = {.base_interval_ms = m->interval_ms, .htf_interval_ms = 0};
  if (!row) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
    goto out;
  }
  if (n == 0) {
    rc = tml_error_set(err, TML_EDATA, "no closed %s candle of %s in the store", tml_interval_name(m->interval_ms),
                       symbol);
    goto out;
  }
  if ((rc = tml_feature_stream_create(&fo, &fs, err)))
    goto out;
  bool ready = false;
  for (size_t i = 0; i < n && !rc; i++)
    rc = tml_feature_stream_push(fs, c.open_time[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i], row,
                                 &ready);
  if (rc)
    goto out;
  if (!ready) {
    rc = tml_error_set(err, TML_EDATA, "%s has %zu closed %s candles, fewer than the %zu the features need", symbol,
                       n, tml_interval_name(m->interval_ms), tml_featureset_warmup(&fo));
    goto out;
  }
  if (m->encoding == TML_ENC_ONE_HOT)
    for (size_t j = 0; j < m->nsymbols; j++)
      row[m->nfeat + j] = (int)j == sidx ? 1.0f : 0.0f;
  else if (m->encoding == TML_ENC_INDEX)
    row[m->nfeat] = (float)sidx;
  p->candle_ms = c.open_time[n - 1];
  for (int h = 0; h < TML_HEAD_COUNT && !rc; h++) {
    int k = tml_head_nclass((enum tml_head)h);
    float out[TML_MAX_CLASSES];
    rc = tml_model_predict(m->heads[h], row, 1, out, err);
    if (rc)
      break;
    if (k == 0) {
      p->value[h] = out[0];
      continue;
    }
    int best = 0;
    for (int j = 0; j < k; j++) {
      p->proba[h][j] = out[j];
      if (out[j] > out[best])
        best = j;
    }
    p->cls[h] = best;
  }
out:
  tml_feature_stream_destroy(fs);
  free(row);
  tml_candles_release(&c);
  return rc;
}

int tml_prediction_to_json(const struct tml_prediction *p, const struct tml_modelset *m, const char *symbol,
                           int64_t now_ms, struct tml_buf *b) {
  char open[32], close[32];
  tml_time_format(p->candle_ms, open, sizeof(open));
  tml_time_format(p->candle_ms + m->interval_ms, close, sizeof(close));
  tml_buf_puts(b, "{\"symbol\":");
  tml_buf_json_str(b, symbol);
  tml_buf_printf(b, ",\"interval\":\"%s\",\"candle_open_time\":\"%s\",\"candle_close_time\":\"%s\","
                    "\"candle_age_seconds\":%" PRId64 ",\"model\":{\"strategy\":",
                 tml_interval_name(m->interval_ms), open, close, (now_ms - p->candle_ms - m->interval_ms) / 1000);
  tml_buf_json_str(b, m->strategy);
  tml_buf_puts(b, ",\"version\":");
  tml_buf_json_str(b, m->version);
  tml_buf_puts(b, ",\"path\":");
  tml_buf_json_str(b, m->dir);
  tml_buf_printf(b, ",\"feature_checksum\":\"%s\"},\"predictions\":{", m->feature_checksum);
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    int k = tml_head_nclass(head);
    tml_buf_printf(b, "%s\"%s\":{", h ? "," : "", tml_head_name(head));
    if (k == 0) {
      tml_buf_printf(b, "\"value\":%.6g}", (double)p->value[h]);
      continue;
    }
    tml_buf_printf(b, "\"class\":\"%s\",\"probabilities\":{", tml_head_class_name(head, p->cls[h]));
    for (int j = 0; j < k; j++)
      tml_buf_printf(b, "%s\"%s\":%.6f", j ? "," : "", tml_head_class_name(head, j), (double)p->proba[h][j]);
    tml_buf_puts(b, "}}");
  }
  return tml_buf_puts(b, "}}");
}
