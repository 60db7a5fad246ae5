/* The live tables (live_predictions, live_symbols, live_loop) in the candle store's database, so
 * `trademl live status`, `trademl predictions` and the daemon read what a loop in another process (or,
 * on PostgreSQL, on another host) is doing. This file is the front: argument handling, the action block,
 * JSON/CSV formatting and which loop counts as running; storage goes through the backend table of
 * live_backend.h (live_sqlite.c, live_pg.c), chosen by the store's backend and kept with the store
 * handle. */
#include "trademl/live.h"
#include "util/common.h"

#include <jansson.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include "data/store_backend.h"
#include "live/live_backend.h"
#include "live/live_internal.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/predict.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

static const char *const state_names[TML_LIVE_STATE_COUNT] = {"active",     "blocked", "training", "stale",
                                                              "stale_data", "drift",   "dropped"};

const char *tml_live_state_name(enum tml_live_state s) {
  return (unsigned)s < TML_LIVE_STATE_COUNT ? state_names[s] : "?";
}

int tml_live_state_parse(const char *s, enum tml_live_state *out, struct tml_error *err) {
  for (int i = 0; i < TML_LIVE_STATE_COUNT; i++)
    if (strcmp(s, state_names[i]) == 0) {
      *out = (enum tml_live_state)i;
      return 0;
    }
  return tml_error_set(err, TML_EINVAL,
                       "unknown live state '%s': use active, blocked, training, stale, stale_data, drift or dropped", s);
}

enum tml_live_state tml__live_state_or_blocked(const char *name) {
  enum tml_live_state state = TML_LIVE_BLOCKED;
  if (!name || tml_live_state_parse(name, &state, NULL) != 0)
    state = TML_LIVE_BLOCKED;
  return state;
}

/* ---- the backend of a store ------------------------------------------------------------------------ */

struct live_handle {
  const struct tml__live_backend *be;
  void *db;
};

static void handle_free(void *p) {
  struct live_handle *h = p;
  if (!h)
    return;
  h->be->close(h->db);
  free(h);
}

/* The live tables' backend of store, opened (tables created or migrated) on first use and kept with the
 * store handle until it closes. */
static int live_db(struct tml_store *store, struct live_handle **out, struct tml_error *err) {
  struct live_handle *h = tml__store_ext(store);
  if (h) {
    *out = h;
    return 0;
  }
  *out = NULL;
  if (!(h = calloc(1, sizeof(*h))))
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the live tables");
  h->be = tml_store_db(store) ? &tml__live_sqlite : &tml__live_pg;
  int rc = h->be->open(store, &h->db, err);
  if (rc) {
    free(h);
    return rc;
  }
  tml__store_set_ext(store, h, handle_free);
  *out = h;
  return 0;
}

int tml__live_schema(struct tml_store *store, struct tml_error *err) {
  struct live_handle *h;
  return live_db(store, &h, err);
}

int tml_live_tables_create(struct tml_store *store, struct tml_error *err) { return tml__live_schema(store, err); }

/* ---- predictions ---------------------------------------------------------------------------------- */

/* Column k of the 12 stored values <-> head/class. */
static void value_slot(int k, int *head, int *cls) {
  int base = 0;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    int w = tml_head_nclass((enum tml_head)h);
    if (w == 0)
      w = 1;
    if (k < base + w) {
      *head = h;
      *cls = k - base;
      return;
    }
    base += w;
  }
  *head = -1;
  *cls = 0;
}

double tml__live_value_get(const struct tml_prediction *p, int k) {
  int h, c;
  value_slot(k, &h, &c);
  return tml_head_nclass((enum tml_head)h) ? (double)p->proba[h][c] : (double)p->value[h];
}

void tml__live_value_set(struct tml_prediction *p, int k, float v) {
  int h, c;
  value_slot(k, &h, &c);
  if (tml_head_nclass((enum tml_head)h))
    p->proba[h][c] = v;
  else
    p->value[h] = v;
}

/* argmax, first on ties: the same rule as tml_model_stream_push. */
void tml__live_row_finish(struct tml_live_prediction *lp) {
  struct tml_prediction *p = &lp->p;
  p->candle_ms = lp->candle_ms;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    int k = tml_head_nclass((enum tml_head)h), best = 0;
    for (int j = 1; j < k; j++)
      if (p->proba[h][j] > p->proba[h][best])
        best = j;
    p->cls[h] = best;
  }
}

void tml_live_query_init(struct tml_live_query *q) {
  memset(q, 0, sizeof(*q));
  q->since_ms = INT64_MIN;
  q->until_ms = INT64_MAX;
}

/* p->action from p->p.decision: the action block as `predict` prints it, numbers lossless. */
static int action_fill(struct tml_live_prediction *p, struct tml_error *err) {
  const struct tml_decision *d = &p->p.decision;
  p->action[0] = '\0';
  if (d->nactions <= 0 || d->action < 0 || d->action >= d->nactions)
    return 0;
  struct tml_buf b;
  tml_buf_init(&b, 0);
  int rc = tml_decision_to_json(d, true, &b);
  if (!rc && b.len >= sizeof(p->action))
    rc = tml_error_set(err, TML_EINVAL, "the action block of %s is %zu bytes; at most %zu are stored", p->symbol,
                       b.len, sizeof(p->action) - 1);
  else if (rc)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
  else
    memcpy(p->action, b.ptr, b.len + 1);
  tml_buf_release(&b);
  return rc;
}

int tml_live_predictions_put(struct tml_store *store, struct tml_live_prediction *p, bool *inserted,
                             struct tml_error *err) {
  bool local = false;
  if (!inserted)
    inserted = &local;
  *inserted = false;
  int rc = 0;
  struct live_handle *h;
  if (p->p.decision.nactions > 0 && (rc = action_fill(p, err)))
    return rc;
  if ((rc = live_db(store, &h, err)))
    return rc;
  return h->be->put(h->db, p, inserted, err);
}

int tml_live_predictions_resolve(struct tml_store *store, int64_t id, const float outcome[TML_HEAD_COUNT],
                                 int64_t resolved_ms, struct tml_error *err) {
  struct live_handle *h;
  int rc = live_db(store, &h, err);
  return rc ? rc : h->be->resolve(h->db, id, outcome, resolved_ms, err);
}

int tml_live_predictions_list(struct tml_store *store, const struct tml_live_query *q,
                              struct tml_live_prediction **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  struct live_handle *h;
  int rc = live_db(store, &h, err);
  return rc ? rc : h->be->list(h->db, q, out, n, err);
}

int tml_live_predictions_latest(struct tml_store *store, const char *strategy, int64_t interval_ms,
                                struct tml_live_prediction **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  struct live_handle *h;
  int rc = live_db(store, &h, err);
  return rc ? rc : h->be->latest(h->db, strategy, interval_ms, out, n, err);
}

int tml_live_predictions_after(struct tml_store *store, int64_t after_id, size_t limit,
                               struct tml_live_prediction **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  struct live_handle *h;
  int rc = live_db(store, &h, err);
  return rc ? rc : h->be->after(h->db, after_id, limit, out, n, err);
}

int tml_live_predictions_max_id(struct tml_store *store, int64_t *id, struct tml_error *err) {
  *id = 0;
  struct live_handle *h;
  int rc = live_db(store, &h, err);
  return rc ? rc : h->be->max_id(h->db, id, err);
}

int tml__live_last_predicted(struct tml_store *store, const char *strategy, const char *symbol, int64_t interval_ms,
                             int64_t *candle_ms, struct tml_error *err) {
  *candle_ms = -1;
  struct live_handle *h;
  int rc = live_db(store, &h, err);
  return rc ? rc : h->be->last_predicted(h->db, strategy, symbol, interval_ms, candle_ms, err);
}

int tml__live_unresolved(struct tml_store *store, const char *strategy, const char *symbol, int64_t interval_ms,
                         int64_t max_candle_ms, size_t limit, struct tml_live_prediction **out, size_t *n,
                         struct tml_error *err) {
  *out = NULL;
  *n = 0;
  struct live_handle *h;
  int rc = live_db(store, &h, err);
  return rc ? rc : h->be->unresolved(h->db, strategy, symbol, interval_ms, max_candle_ms, limit, out, n, err);
}

int tml__live_recent_resolved(struct tml_store *store, const char *strategy, const char *symbol, int64_t interval_ms,
                              int64_t model_id, size_t limit, struct tml_live_prediction **out, size_t *n,
                              struct tml_error *err) {
  *out = NULL;
  *n = 0;
  struct live_handle *h;
  int rc = live_db(store, &h, err);
  return rc ? rc : h->be->recent_resolved(h->db, strategy, symbol, interval_ms, model_id, limit, out, n, err);
}

/* ---- formatting ------------------------------------------------------------------------------------ */

static void put_time(struct tml_buf *b, int64_t ms) {
  char t[32];
  tml_time_format(ms, t, sizeof(t));
  tml_buf_printf(b, "\"%s\"", t);
}

static void put_outcome(struct tml_buf *b, enum tml_head h, float v) {
  int k = tml_head_nclass(h);
  if (isnan(v))
    tml_buf_puts(b, "null");
  else if (k)
    tml_buf_json_str(b, tml_head_class_name(h, (int)v) ? tml_head_class_name(h, (int)v) : "?");
  else
    tml_buf_json_num(b, (double)v);
}

int tml_live_prediction_to_json(const struct tml_live_prediction *p, struct tml_buf *b) {
  const char *iv = tml_interval_name(p->interval_ms);
  tml_buf_puts(b, "{\"symbol\":");
  tml_buf_json_str(b, p->symbol);
  tml_buf_printf(b, ",\"interval\":\"%s\",\"strategy\":", iv ? iv : "?");
  tml_buf_json_str(b, p->strategy);
  tml_buf_puts(b, ",\"candle_open_time\":");
  put_time(b, p->candle_ms);
  tml_buf_puts(b, ",\"candle_close_time\":");
  put_time(b, p->candle_ms + p->interval_ms);
  tml_buf_printf(b, ",\"model\":{\"id\":%" PRId64 ",\"version\":", p->model_id);
  tml_buf_json_str(b, p->model_version);
  tml_buf_printf(b, "},\"stale\":%s,\"created\":", p->stale ? "true" : "false");
  put_time(b, p->created_ms);
  tml_buf_puts(b, ",\"predictions\":{");
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    int k = tml_head_nclass(head);
    tml_buf_printf(b, "%s\"%s\":{", h ? "," : "", tml_head_name(head));
    if (k == 0) {
      tml_buf_puts(b, "\"value\":");
      tml_buf_json_num(b, (double)p->p.value[h]);
      tml_buf_putc(b, '}');
      continue;
    }
    tml_buf_printf(b, "\"class\":\"%s\",\"probabilities\":{", tml_head_class_name(head, p->p.cls[h]));
    for (int j = 0; j < k; j++) {
      tml_buf_printf(b, "%s\"%s\":", j ? "," : "", tml_head_class_name(head, j));
      tml_buf_json_num(b, (double)p->p.proba[h][j]);
    }
    tml_buf_puts(b, "}}");
  }
  tml_buf_puts(b, "}");
  if (p->action[0]) {
    tml_buf_puts(b, ",\"action\":");
    tml_buf_puts(b, p->action);
  }
  tml_buf_puts(b, ",\"outcome\":");
  if (!p->resolved)
    return tml_buf_puts(b, "null}");
  tml_buf_puts(b, "{");
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    tml_buf_printf(b, "%s\"%s\":", h ? "," : "", tml_head_name((enum tml_head)h));
    put_outcome(b, (enum tml_head)h, p->outcome[h]);
  }
  tml_buf_puts(b, ",\"resolved\":");
  put_time(b, p->resolved_ms);
  return tml_buf_puts(b, "}}");
}

int tml_live_predictions_csv_header(struct tml_buf *b) {
  tml_buf_puts(b, "symbol,interval,strategy,candle_open_time,model_id,model_version,stale,created");
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    tml_buf_printf(b, ",%s", tml_head_name(head));
    for (int j = 0; j < tml_head_nclass(head); j++)
      tml_buf_printf(b, ",p_%s_%s", tml_head_name(head), tml_head_class_name(head, j));
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    tml_buf_printf(b, ",outcome_%s", tml_head_name((enum tml_head)h));
  return tml_buf_puts(b, "\n");
}

int tml_live_prediction_to_csv(const struct tml_live_prediction *p, struct tml_buf *b) {
  char t[32], c[32];
  tml_time_format(p->candle_ms, t, sizeof(t));
  tml_time_format(p->created_ms, c, sizeof(c));
  const char *iv = tml_interval_name(p->interval_ms);
  tml_buf_printf(b, "%s,%s,%s,%s,%" PRId64 ",%s,%d,%s", p->symbol, iv ? iv : "?", p->strategy, t, p->model_id,
                 p->model_version, p->stale ? 1 : 0, c);
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    int k = tml_head_nclass(head);
    tml_buf_putc(b, ',');
    if (k == 0) {
      tml_buf_json_num(b, (double)p->p.value[h]);
      continue;
    }
    tml_buf_puts(b, tml_head_class_name(head, p->p.cls[h]));
    for (int j = 0; j < k; j++) {
      tml_buf_putc(b, ',');
      tml_buf_json_num(b, (double)p->p.proba[h][j]);
    }
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    tml_buf_putc(b, ',');
    if (!p->resolved || isnan(p->outcome[h]))
      continue;
    if (tml_head_nclass(head))
      tml_buf_puts(b, tml_head_class_name(head, (int)p->outcome[h]) ? tml_head_class_name(head, (int)p->outcome[h]) : "?");
    else
      tml_buf_json_num(b, (double)p->outcome[h]);
  }
  return tml_buf_puts(b, "\n");
}

/* ---- status --------------------------------------------------------------------------------------- */

void tml_live_status_release(struct tml_live_status *s) {
  if (!s)
    return;
  free(s->symbols);
  s->symbols = NULL;
  s->nsymbols = 0;
}

static void put_num_or_null(struct tml_buf *b, double v) {
  if (isnan(v))
    tml_buf_puts(b, "null");
  else
    tml_buf_json_num(b, v);
}

int tml__live_quality_json(struct tml_buf *b, const struct tml_live_head_quality q[TML_HEAD_COUNT]) {
  tml_buf_putc(b, '{');
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    tml_buf_printf(b, "%s\"%s\":{\"n\":%zu,\"accuracy\":", h ? "," : "", tml_head_name((enum tml_head)h), q[h].n);
    put_num_or_null(b, q[h].accuracy);
    tml_buf_puts(b, ",\"logloss\":");
    put_num_or_null(b, q[h].logloss);
    tml_buf_puts(b, ",\"rmse\":");
    put_num_or_null(b, q[h].rmse);
    tml_buf_puts(b, ",\"oos_accuracy\":");
    put_num_or_null(b, q[h].oos_accuracy);
    tml_buf_puts(b, ",\"oos_logloss\":");
    put_num_or_null(b, q[h].oos_logloss);
    tml_buf_puts(b, ",\"oos_rmse\":");
    put_num_or_null(b, q[h].oos_rmse);
    tml_buf_putc(b, '}');
  }
  return tml_buf_putc(b, '}');
}

static double jnum(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_number(v))
    return (double)NAN;
  return json_number_value(v);
}

void tml__live_quality_parse(const char *text, struct tml_live_head_quality q[TML_HEAD_COUNT]) {
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    memset(&q[h], 0, sizeof(q[h]));
    q[h].accuracy = q[h].logloss = q[h].rmse = NAN;
    q[h].oos_accuracy = q[h].oos_logloss = q[h].oos_rmse = NAN;
  }
  json_t *root = text ? json_loads(text, 0, NULL) : NULL;
  for (int h = 0; root && h < TML_HEAD_COUNT; h++) {
    json_t *o = json_object_get(root, tml_head_name((enum tml_head)h));
    if (!json_is_object(o))
      continue;
    json_t *n = json_object_get(o, "n");
    q[h].n = json_is_integer(n) && json_integer_value(n) > 0 ? (size_t)json_integer_value(n) : 0;
    q[h].accuracy = jnum(o, "accuracy");
    q[h].logloss = jnum(o, "logloss");
    q[h].rmse = jnum(o, "rmse");
    q[h].oos_accuracy = jnum(o, "oos_accuracy");
    q[h].oos_logloss = jnum(o, "oos_logloss");
    q[h].oos_rmse = jnum(o, "oos_rmse");
  }
  json_decref(root);
}

int tml__live_counters_json(struct tml_buf *b, const struct tml_live_counters *c) {
  tml_buf_printf(b,
                 "{\"ticks\":%" PRIu64 ",\"predictions\":%" PRIu64 ",\"backfilled\":%" PRIu64 ",\"reloads\":%" PRIu64
                 ",\"loads\":%" PRIu64 ",\"exchange_errors\":%" PRIu64 ",\"coverage_checks\":%" PRIu64
                 ",\"universe_refreshes\":%" PRIu64 ",\"jobs_submitted\":%" PRIu64 ",\"resolved\":%" PRIu64
                 ",\"started_ms\":%" PRId64 ",\"last_tick_ms\":%" PRId64 ",\"last_tick_wall_ms\":%" PRId64
                 ",\"last_candle_ms\":%" PRId64 ",\"tick_lag_s\":",
                 c->ticks, c->predictions, c->backfilled, c->reloads, c->loads, c->exchange_errors, c->coverage_checks,
                 c->universe_refreshes, c->jobs_submitted, c->resolved, c->started_ms, c->last_tick_ms,
                 c->last_tick_wall_ms, c->last_candle_ms);
  tml_buf_json_num(b, c->tick_lag_s);
  return tml_buf_putc(b, '}');
}

static uint64_t ju(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static int64_t ji(json_t *o, const char *k, int64_t def) {
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

void tml__live_counters_parse(const char *text, struct tml_live_counters *c) {
  memset(c, 0, sizeof(*c));
  c->last_candle_ms = -1;
  json_t *o = text ? json_loads(text, 0, NULL) : NULL;
  if (!o)
    return;
  c->ticks = ju(o, "ticks");
  c->predictions = ju(o, "predictions");
  c->backfilled = ju(o, "backfilled");
  c->reloads = ju(o, "reloads");
  c->loads = ju(o, "loads");
  c->exchange_errors = ju(o, "exchange_errors");
  c->coverage_checks = ju(o, "coverage_checks");
  c->universe_refreshes = ju(o, "universe_refreshes");
  c->jobs_submitted = ju(o, "jobs_submitted");
  c->resolved = ju(o, "resolved");
  c->started_ms = ji(o, "started_ms", 0);
  c->last_tick_ms = ji(o, "last_tick_ms", 0);
  c->last_tick_wall_ms = ji(o, "last_tick_wall_ms", 0);
  c->last_candle_ms = ji(o, "last_candle_ms", -1);
  c->tick_lag_s = jnum(o, "tick_lag_s");
  if (isnan(c->tick_lag_s))
    c->tick_lag_s = 0;
  json_decref(o);
}

static void put_time_or_null(struct tml_buf *b, int64_t ms) {
  if (ms <= 0)
    tml_buf_puts(b, "null");
  else
    put_time(b, ms);
}

int tml_live_status_to_json(const struct tml_live_status *s, struct tml_buf *b) {
  const char *iv = tml_interval_name(s->interval_ms);
  tml_buf_puts(b, "{\"exchange\":");
  tml_buf_json_str(b, s->exchange);
  tml_buf_puts(b, ",\"category\":");
  tml_buf_json_str(b, s->category);
  tml_buf_printf(b, ",\"interval\":\"%s\",\"strategy\":", iv ? iv : "?");
  tml_buf_json_str(b, s->strategy);
  tml_buf_puts(b, ",\"universe\":");
  tml_buf_json_str(b, s->universe);
  tml_buf_printf(b, ",\"running\":%s,\"updated\":", s->running ? "true" : "false");
  put_time_or_null(b, s->updated_ms);
  tml_buf_printf(b, ",\"pid\":%d,\"counters\":", s->pid);
  tml__live_counters_json(b, &s->counters);
  tml_buf_puts(b, ",\"states\":{");
  for (int i = 0; i < TML_LIVE_STATE_COUNT; i++)
    tml_buf_printf(b, "%s\"%s\":%zu", i ? "," : "", state_names[i], s->by_state[i]);
  tml_buf_puts(b, "},\"symbols\":[");
  for (size_t i = 0; i < s->nsymbols; i++) {
    const struct tml_live_symbol *y = &s->symbols[i];
    tml_buf_printf(b, "%s{\"symbol\":", i ? "," : "");
    tml_buf_json_str(b, y->symbol);
    tml_buf_printf(b, ",\"state\":\"%s\",\"reason\":", tml_live_state_name(y->state));
    tml_buf_json_str(b, y->reason);
    tml_buf_puts(b, ",\"since\":");
    put_time_or_null(b, y->since_ms);
    tml_buf_puts(b, ",\"next_check\":");
    put_time_or_null(b, y->next_check_ms);
    tml_buf_puts(b, ",\"model\":");
    if (y->model_id > 0) {
      tml_buf_printf(b, "{\"id\":%" PRId64 ",\"version\":", y->model_id);
      tml_buf_json_str(b, y->model_version);
      tml_buf_puts(b, ",\"created\":");
      put_time_or_null(b, y->model_created_ms);
      tml_buf_putc(b, '}');
    } else {
      tml_buf_puts(b, "null");
    }
    tml_buf_puts(b, ",\"last_candle\":");
    put_time_or_null(b, y->last_candle_ms < 0 ? 0 : y->last_candle_ms);
    tml_buf_puts(b, ",\"last_predicted_candle\":");
    put_time_or_null(b, y->last_predicted_ms < 0 ? 0 : y->last_predicted_ms);
    tml_buf_puts(b, ",\"last_prediction\":");
    put_time_or_null(b, y->last_prediction_at_ms);
    tml_buf_printf(b, ",\"job_id\":%" PRId64 ",\"predictions\":%zu,\"quality\":", y->job_id, y->predictions);
    tml__live_quality_json(b, y->quality);
    tml_buf_putc(b, '}');
  }
  return tml_buf_puts(b, "]}");
}

static void fmt_time(int64_t ms, char *out, size_t sz) {
  if (ms <= 0)
    snprintf(out, sz, "-");
  else
    tml_time_format(ms, out, sz);
}

int tml_live_status_format(const struct tml_live_status *s, int64_t now_ms, struct tml_buf *b) {
  const char *iv = tml_interval_name(s->interval_ms);
  char upd[32];
  fmt_time(s->updated_ms, upd, sizeof(upd));
  tml_buf_printf(b, "live loop %s %s %s (%s, universe %s): %s, updated %s\n", s->exchange[0] ? s->exchange : "(no exchange)",
                 s->category, iv ? iv : "?", s->strategy, s->universe, s->running ? "running" : "stopped", upd);
  tml_buf_printf(b,
                 "ticks %" PRIu64 ", predictions %" PRIu64 " (%" PRIu64 " backfilled), reloads %" PRIu64
                 ", exchange errors %" PRIu64 ", coverage checks %" PRIu64 ", universe refreshes %" PRIu64
                 ", jobs submitted %" PRIu64 "\n",
                 s->counters.ticks, s->counters.predictions, s->counters.backfilled, s->counters.reloads,
                 s->counters.exchange_errors, s->counters.coverage_checks, s->counters.universe_refreshes,
                 s->counters.jobs_submitted);
  tml_buf_printf(b, "%-14s %-10s %-20s %-20s %-9s %-20s %s\n", "SYMBOL", "STATE", "SINCE", "LAST CANDLE", "MODEL",
                 "NEXT CHECK", "REASON");
  for (size_t i = 0; i < s->nsymbols; i++) {
    const struct tml_live_symbol *y = &s->symbols[i];
    char since[32], last[32], next[32], model[32] = "-";
    fmt_time(y->since_ms, since, sizeof(since));
    fmt_time(y->last_candle_ms < 0 ? 0 : y->last_candle_ms, last, sizeof(last));
    if (y->next_check_ms > 0 && y->next_check_ms >= now_ms - 3600 * 1000)
      fmt_time(y->next_check_ms, next, sizeof(next));
    else
      snprintf(next, sizeof(next), "-");
    if (y->model_id > 0)
      snprintf(model, sizeof(model), "%" PRId64, y->model_id);
    tml_buf_printf(b, "%-14s %-10s %-20s %-20s %-9s %-20s %s\n", y->symbol, tml_live_state_name(y->state), since, last,
                   model, next, y->reason);
  }
  tml_buf_printf(b, "%zu symbols:", s->nsymbols);
  for (int i = 0; i < TML_LIVE_STATE_COUNT; i++)
    tml_buf_printf(b, "%s %zu %s", i ? "," : "", s->by_state[i], state_names[i]);
  return tml_buf_puts(b, "\n");
}

int tml__live_status_save(struct tml_store *store, const struct tml_live_status *s, struct tml_error *err) {
  struct live_handle *h;
  int rc = live_db(store, &h, err);
  return rc ? rc : h->be->status_save(h->db, s, err);
}

int tml__live_symbols_load(struct tml_store *store, const char *strategy, int64_t interval_ms,
                           struct tml_live_symbol **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  struct live_handle *h;
  int rc = live_db(store, &h, err);
  return rc ? rc : h->be->symbols_load(h->db, strategy, interval_ms, out, n, err);
}

int tml_live_status_load(struct tml_store *store, const char *strategy, int64_t interval_ms,
                         struct tml_live_status *out, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  struct live_handle *h;
  char host[256] = "";
  bool found = false;
  int rc = live_db(store, &h, err);
  if (!rc)
    rc = h->be->loop_load(h->db, strategy, interval_ms, out, host, sizeof(host), &found, err);
  if (rc)
    return rc;
  if (!found) {
    const char *iv = tml_interval_name(interval_ms);
    return tml_error_set(err, TML_ENOENT,
                         "no live loop has run at %s%s%s: start one with `trademl live --interval %s` or "
                         "`trademl serve --live`",
                         iv ? iv : "?", strategy ? " for strategy " : "", strategy ? strategy : "", iv ? iv : "15m");
  }
  out->interval_ms = interval_ms;
  /* A loop killed with -9 could not say it stopped: running only while its process exists. That can be
   * checked on this host only; a loop on another host (PostgreSQL) is taken at its row's word. */
  char me[256] = "";
  if (gethostname(me, sizeof(me) - 1) != 0)
    me[0] = '\0';
  bool here = !host[0] || strcmp(host, me) == 0;
  if (here)
    out->running = out->running && out->pid > 0 && (kill(out->pid, 0) == 0 || errno == EPERM);
  if ((rc = tml__live_symbols_load(store, out->strategy, interval_ms, &out->symbols, &out->nsymbols, err)))
    return rc;
  for (size_t i = 0; i < out->nsymbols; i++)
    out->by_state[out->symbols[i].state]++;
  return 0;
}
