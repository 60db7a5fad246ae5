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

void tml_format_age(int64_t ms, char *out, size_t outsz) {
  int64_t s = ms < 0 ? 0 : ms / 1000;
  if (s < 60)
    snprintf(out, outsz, "%" PRId64 "s", s);
  else if (s < 3600)
    snprintf(out, outsz, "%" PRId64 "m %02" PRId64 "s", s / 60, s % 60);
  else if (s < 86400)
    snprintf(out, outsz, "%" PRId64 "h %02" PRId64 "m", s / 3600, s % 3600 / 60);
  else
    snprintf(out, outsz, "%" PRId64 "d %02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

int tml_prediction_check_age(struct tml_prediction *p, int64_t interval_ms, int64_t now_ms, int stale_intervals,
                             int64_t max_age_ms, const char *symbol, struct tml_error *err) {
  p->age_ms = now_ms - (p->candle_ms + interval_ms);
  p->stale_after_ms = (int64_t)(stale_intervals > 0 ? stale_intervals : TML_PREDICT_STALE_INTERVALS) * interval_ms;
  p->stale = p->age_ms > p->stale_after_ms;
  if (max_age_ms > 0 && p->age_ms > max_age_ms) {
    char age[32], lim[32], at[32];
    tml_format_age(p->age_ms, age, sizeof(age));
    tml_format_age(max_age_ms, lim, sizeof(lim));
    tml_time_format(p->candle_ms + interval_ms, at, sizeof(at));
    return tml_error_set(err, TML_ESTALE,
                         "latest closed %s candle of %s closed at %s, %s ago, older than the allowed %s "
                         "(predict.max_age / --max-age): fetch newer candles (`trademl data fetch --symbol %s "
                         "--interval %s`) or import them",
                         tml_interval_name(interval_ms), symbol, at, age, lim, symbol, tml_interval_name(interval_ms));
  }
  return 0;
}

int tml_decision_to_json(const struct tml_decision *d, bool lossless, struct tml_buf *b) {
  if (d->nactions <= 0 || d->action < 0 || d->action >= d->nactions)
    return tml_buf_puts(b, "null");
  tml_buf_puts(b, "{\"name\":");
  tml_buf_json_str(b, d->names[d->action]);
  tml_buf_puts(b, ",\"probabilities\":{");
  for (int j = 0; j < d->nactions; j++) {
    tml_buf_puts(b, j ? "," : "");
    tml_buf_json_str(b, d->names[j]);
    if (lossless) {
      tml_buf_putc(b, ':');
      tml_buf_json_num(b, (double)d->probs[j]);
    } else {
      tml_buf_printf(b, ":%.6f", (double)d->probs[j]);
    }
  }
  tml_buf_puts(b, "},\"value\":");
  tml_buf_json_num(b, (double)d->value);
  if (d->position_carried) {
    static const char *const side[3] = {"short", "flat", "long"};
    tml_buf_printf(b, ",\"position\":{\"side\":\"%s\",\"entry_price\":", side[d->position + 1]);
    tml_buf_json_num(b, d->entry_price);
    tml_buf_puts(b, ",\"unrealised\":");
    tml_buf_json_num(b, d->unrealised);
    tml_buf_printf(b, ",\"hold_candles\":%" PRId64 ",\"equity\":", d->hold_candles);
    tml_buf_json_num(b, d->equity);
    tml_buf_printf(b, ",\"trades\":%" PRId64 "}", d->trades);
  }
  return tml_buf_putc(b, '}');
}

int tml_prediction_to_json(const struct tml_prediction *p, const struct tml_modelset *m, const char *symbol,
                           int64_t now_ms, struct tml_buf *b) {
  char open[32], close[32];
  tml_time_format(p->candle_ms, open, sizeof(open));
  tml_time_format(p->candle_ms + m->interval_ms, close, sizeof(close));
  tml_buf_puts(b, "{\"symbol\":");
  tml_buf_json_str(b, symbol);
  tml_buf_printf(b, ",\"interval\":\"%s\",\"candle_open_time\":\"%s\",\"candle_close_time\":\"%s\","
                    "\"candle_age_seconds\":%" PRId64 ",",
                 tml_interval_name(m->interval_ms), open, close, (now_ms - p->candle_ms - m->interval_ms) / 1000);
  /* Only a checked prediction (tml_prediction_check_age) says whether it is stale: never a default false. */
  if (p->stale_after_ms > 0)
    tml_buf_printf(b, "\"stale\":%s,\"stale_after_seconds\":%" PRId64 ",", p->stale ? "true" : "false",
                   p->stale_after_ms / 1000);
  tml_buf_puts(b, "\"model\":{\"strategy\":");
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
  tml_buf_putc(b, '}');
  if (p->decision.nactions > 0) {
    tml_buf_puts(b, ",\"action\":");
    tml_decision_to_json(&p->decision, false, b);
  }
  return tml_buf_puts(b, "}");
}
