/* Latest-candle prediction: a model stream (modelstream.c) opened over the stored history, whose last
 * prediction is the answer; the live loop pushes later candles through the same stream. */
#include "trademl/predict.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/modelstream.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

int tml_predict_latest(struct tml_store *store, const struct tml_modelset *m, const char *symbol, int64_t now_ms,
                       struct tml_prediction *p, struct tml_error *err) {
  memset(p, 0, sizeof(*p));
  struct tml_model_stream *s = NULL;
  int rc = tml_model_stream_open(store, m, symbol, now_ms, &s, err);
  if (rc == 0)
    rc = tml_model_stream_latest(s, p, err);
  tml_model_stream_close(s);
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
