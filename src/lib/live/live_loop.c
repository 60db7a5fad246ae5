/* The live loop (docs/live.md). One thread calls tml_live_tick() every poll_ms; each tick reads the loop
 * clock and does only what is due:
 *   universe refresh   every live.universe_refresh_minutes (symbols join; those that left are dropped)
 *   candle             when a new candle closed (+ live.close_delay_seconds): incremental sync of every
 *                      symbol, registry check (reload only when the active row id changed), predictions
 *                      for every closed candle not yet predicted, outcomes whose horizon passed, drift
 *   coverage           every live.coverage_check_seconds: blocked/training symbols re-checked with
 *                      tml_coverage_check (a train job submitted once when one qualifies), model age
 *   heartbeat          every live.heartbeat_seconds: one log line
 * Timers are kept on the loop clock as "next due" times advanced by whole periods, so a check runs
 * exactly once per period whatever the tick rate. */
#include "trademl/db.h"
#include "trademl/live.h"
#include "util/common.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "live/live_internal.h"
#include "trademl/config.h"
#include "trademl/coverage.h"
#include "trademl/error.h"
#include "trademl/exchange.h"
#include "trademl/fetch.h"
#include "trademl/fsutil.h"
#include "trademl/jobs.h"
#include "trademl/mem.h"
#include "trademl/modelset.h"
#include "trademl/modelstream.h"
#include "trademl/registry.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "trademl/universe.h"

/* Looks again for a candle that closed but was not yet available: at most this many times per close. */
#define LIVE_BEHIND_TRIES 3
/* A universe refresh the exchange did not answer is tried again after this long (loop clock). */
#define LIVE_UNIVERSE_RETRY_MS 60000

struct sym {
  struct tml_live_symbol st;      /* what status shows (and what is persisted) */
  bool in_universe;
  bool registry_seen;             /* first registry check done: later loads count as reloads */
  bool needs_sync;                /* joined: sync (and check) it on the next tick */
  bool cov_now;                   /* run its coverage check on the next tick (joined mid-run) */
  int64_t persisted_model_id;     /* model the previous run used (backfill rule) */
  int64_t refused_model_id;       /* active model refused (checksum, corrupt): not retried until it changes */
  int64_t launch_ms;              /* listing time from the exchange; -1 unknown */
  struct tml_modelset *m;         /* owned */
  struct tml_model_stream *stream;
  bool have_labels;
  struct tml_label_spec spec;
  struct tml_label_thresholds th;
  bool stale_model, drift, stalled;
  int64_t retrain_for_model;      /* model id a retrain job was submitted for (stale/drift): once each */
  enum tml_live_state nomodel_state; /* blocked / training from the last coverage check */
  char nomodel_reason[320];
  char last_error[256];           /* last sync error logged (logged again only when it changes) */
  bool sync_failed;               /* the last sync failed: retried before the next candle */
  int64_t retry_sync_ms;          /* loop time of that retry */
  bool behind;                    /* synced, but the newest closed candle was not there yet */
  int behind_tries;               /* looks again for it since the last close (bounded) */
};

struct tml_live {
  struct tml_live_opts o;         /* copied; o.symbols owned */
  struct tml_store *store;
  struct tml_jobs *jobs;
  struct tml_registry *reg;
  struct tml_exchange *ex;
  struct tml_cov_opts cov;
  char models_dir[TML_PATH_MAX];
  char universe_name[64];
  struct sym *syms;
  size_t nsyms, cap;
  int64_t now;                    /* loop clock of the current tick */
  int64_t clock_offset;           /* exchange clock - wall clock, last known */
  bool clock_failed;              /* this tick's server time request found the exchange unreachable */
  bool down_logged;               /* "exchange unreachable" logged; cleared by the next good sync */
  bool started;                   /* first tick done */
  int64_t last_boundary;          /* close time of the newest candle processed */
  int64_t next_universe, next_coverage, next_heartbeat;
  struct tml_live_counters c;
  pthread_mutex_t lock;           /* guards snap */
  struct tml_live_status snap;
};

/* ---- small helpers -------------------------------------------------------------------------------- */

static void emit(struct tml_live *l, const char *level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void emit(struct tml_live *l, const char *level, const char *fmt, ...) {
  if (!l->o.on_event)
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  l->o.on_event(l->o.cb_ctx, level, line);
}

static const char *ivname(const struct tml_live *l) {
  const char *n = tml_interval_name(l->o.interval_ms);
  return n ? n : "?";
}

static void fmt_period(int64_t ms, char *out, size_t sz) {
  if (ms % TML_MS_PER_MINUTE == 0)
    snprintf(out, sz, "%" PRId64 "m", ms / TML_MS_PER_MINUTE);
  else
    snprintf(out, sz, "%" PRId64 "s", ms / 1000);
}

static void unload(struct sym *s) {
  tml_model_stream_close(s->stream);
  s->stream = NULL;
  tml_modelset_free(s->m);
  s->m = NULL;
  s->have_labels = false;
  s->st.model_id = 0;
  s->st.model_version[0] = '\0';
  s->st.model_created_ms = 0;
  s->stale_model = s->drift = false;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    memset(&s->st.quality[h], 0, sizeof(s->st.quality[h]));
    s->st.quality[h].accuracy = s->st.quality[h].logloss = s->st.quality[h].rmse = NAN;
    s->st.quality[h].oos_accuracy = s->st.quality[h].oos_logloss = s->st.quality[h].oos_rmse = NAN;
  }
}

static void set_state(struct tml_live *l, struct sym *s, enum tml_live_state state, const char *reason) {
  bool changed = s->st.state != state;
  bool reason_changed = strcmp(s->st.reason, reason) != 0;
  if (!changed && !reason_changed)
    return;
  enum tml_live_state old = s->st.state;
  if (changed)
    s->st.since_ms = l->now;
  s->st.state = state;
  snprintf(s->st.reason, sizeof(s->st.reason), "%s", reason);
  if (!changed && state != TML_LIVE_BLOCKED && state != TML_LIVE_TRAINING)
    return;
  switch (state) {
  case TML_LIVE_ACTIVE:
    emit(l, "info", "%s: %s model %" PRId64 " (%s) predicting", s->st.symbol,
         old == TML_LIVE_BLOCKED || old == TML_LIVE_TRAINING ? "unblocked:" : "active:", s->st.model_id,
         s->st.model_version);
    break;
  case TML_LIVE_BLOCKED:
  case TML_LIVE_TRAINING:
  case TML_LIVE_STALE:
  case TML_LIVE_STALE_DATA:
  case TML_LIVE_DRIFT:
    emit(l, state == TML_LIVE_BLOCKED || state == TML_LIVE_TRAINING ? "info" : "warning", "%s: %s", s->st.symbol,
         reason);
    break;
  case TML_LIVE_DROPPED:
  case TML_LIVE_STATE_COUNT:
    emit(l, "info", "%s: %s", s->st.symbol, reason);
    break;
  }
}

/* The state of a symbol that has a model, from its flags. */
static void derive_state(struct tml_live *l, struct sym *s) {
  if (!s->in_universe || !s->m)
    return;
  char reason[320];
  if (s->stalled) {
    char t[32];
    tml_time_format(s->st.last_candle_ms, t, sizeof(t));
    snprintf(reason, sizeof(reason),
             "candles stalled: newest %s candle opened %s, %d or more intervals behind (live.stall_intervals); "
             "not predicted until the data catches up",
             ivname(l), s->st.last_candle_ms >= 0 ? t : "never", l->o.stall_intervals);
    set_state(l, s, TML_LIVE_STALE_DATA, reason);
  } else if (s->stale_model) {
    snprintf(reason, sizeof(reason),
             "model %" PRId64 " is %.1f hours old (> %.0f, live.model_max_age_hours); retrain submitted; %s",
             s->st.model_id, (double)(l->now - s->st.model_created_ms) / (double)TML_MS_PER_HOUR,
             (double)l->o.model_max_age_ms / (double)TML_MS_PER_HOUR,
             l->o.stale_block ? "not predicted until retrained (live.stale_action=block)" : "predictions marked stale");
    set_state(l, s, TML_LIVE_STALE, reason);
  } else if (s->drift) {
    const struct tml_live_head_quality *q = s->st.quality;
    int worst = 0;
    double gap = -INFINITY;
    for (int h = 0; h < TML_HEAD_COUNT; h++)
      if (!isnan(q[h].logloss) && !isnan(q[h].oos_logloss) && q[h].logloss - q[h].oos_logloss > gap) {
        gap = q[h].logloss - q[h].oos_logloss;
        worst = h;
      }
    snprintf(reason, sizeof(reason),
             "drift: live %s log loss %.3f over %zu resolved predictions > out-of-sample %.3f + %.2f "
             "(live.drift.logloss_margin); retrain submitted",
             tml_head_name((enum tml_head)worst), q[worst].logloss, q[worst].n, q[worst].oos_logloss,
             l->o.drift_logloss_margin);
    set_state(l, s, TML_LIVE_DRIFT, reason);
  } else {
    set_state(l, s, TML_LIVE_ACTIVE, "");
  }
}

static struct sym *find_sym(struct tml_live *l, const char *symbol) {
  for (size_t i = 0; i < l->nsyms; i++)
    if (strcmp(l->syms[i].st.symbol, symbol) == 0)
      return &l->syms[i];
  return NULL;
}

static int cmp_sym(const void *a, const void *b) {
  return strcmp(((const struct sym *)a)->st.symbol, ((const struct sym *)b)->st.symbol);
}

static struct sym *add_sym(struct tml_live *l, const char *symbol, struct tml_error *err) {
  void *nv = tml_grow(l->syms, &l->cap, l->nsyms, sizeof(*l->syms), 16);
  if (!nv) {
    tml_error_set(err, TML_ENOMEM, "out of memory adding %s to the live universe", symbol);
    return NULL;
  }
  l->syms = nv;
  struct sym *s = &l->syms[l->nsyms++];
  memset(s, 0, sizeof(*s));
  snprintf(s->st.symbol, sizeof(s->st.symbol), "%s", symbol);
  s->st.state = TML_LIVE_BLOCKED;
  s->st.last_candle_ms = -1;
  s->st.last_predicted_ms = -1;
  s->launch_ms = -1;
  s->nomodel_state = TML_LIVE_BLOCKED;
  unload(s);
  return s;
}

/* ---- jobs ----------------------------------------------------------------------------------------- */

static int64_t submit_job(struct tml_live *l, struct sym *s, enum tml_job_kind kind, bool *existed) {
  *existed = false;
  if (!l->o.submit_jobs)
    return 0;
  struct tml_job_spec spec;
  tml_job_spec_init(&spec);
  spec.kind = kind;
  spec.symbols[0] = s->st.symbol;
  spec.nsymbols = 1;
  spec.interval = ivname(l);
  spec.strategy = l->o.strategy;
  spec.params = l->o.job_params;
  spec.source = "live";
  int64_t id = 0;
  struct tml_error e;
  tml_error_init(&e);
  if (tml_jobs_submit(l->jobs, &spec, &id, existed, &e) != 0) {
    emit(l, "warning", "%s: cannot submit a %s job: %s", s->st.symbol, tml_job_kind_name(kind), e.msg);
    return 0;
  }
  if (!*existed)
    l->c.jobs_submitted++;
  s->st.job_id = id;
  return id;
}

/* Cancels the queued jobs the loop submitted for a symbol that left the universe. */
static size_t cancel_queued(struct tml_live *l, const char *symbol) {
  struct tml_job_filter f;
  tml_job_filter_init(&f);
  f.status_mask = 1u << TML_JOB_QUEUED;
  f.symbol = symbol;
  f.source = "live";
  struct tml_job *rows = NULL;
  size_t n = 0, cancelled = 0;
  struct tml_error e;
  tml_error_init(&e);
  if (tml_jobs_list(l->jobs, &f, &rows, &n, NULL, &e) != 0) {
    emit(l, "warning", "%s: cannot list its queued jobs: %s", symbol, e.msg);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    tml_error_init(&e);
    if (tml_jobs_cancel(l->jobs, rows[i].id, NULL, &e) == 0)
      cancelled++;
  }
  free(rows);
  return cancelled;
}

/* ---- predictions ------------------------------------------------------------------------------------ */

/* Stores and publishes one prediction of s's current model. */
static int publish(struct tml_live *l, struct sym *s, const struct tml_modelset *m, int64_t model_id,
                   const char *version, const struct tml_prediction *p, struct tml_error *err) {
  struct tml_live_prediction lp;
  memset(&lp, 0, sizeof(lp));
  snprintf(lp.strategy, sizeof(lp.strategy), "%s", l->o.strategy);
  snprintf(lp.symbol, sizeof(lp.symbol), "%s", s->st.symbol);
  lp.interval_ms = m->interval_ms;
  lp.candle_ms = p->candle_ms;
  lp.model_id = model_id;
  snprintf(lp.model_version, sizeof(lp.model_version), "%s", version);
  lp.p = *p;
  lp.stale = s->stale_model && model_id == s->st.model_id;
  lp.created_ms = l->now;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    lp.outcome[h] = NAN;
  bool inserted = false;
  int rc = tml_live_predictions_put(l->store, &lp, &inserted, err);
  if (rc)
    return rc;
  if (p->candle_ms > s->st.last_predicted_ms)
    s->st.last_predicted_ms = p->candle_ms;
  if (!inserted)
    return 0; /* predicted before (a restart between store and status): never twice */
  l->c.predictions++;
  s->st.predictions++;
  s->st.last_prediction_at_ms = l->now;
  int64_t close = p->candle_ms + m->interval_ms;
  if (close < l->c.started_ms)
    l->c.backfilled++;
  else if (close + l->o.close_delay_ms <= l->now)
    l->c.tick_lag_s = (double)(tml_now_ms() - l->c.last_tick_wall_ms + (l->now - close - l->o.close_delay_ms)) / 1000.0;
  if (l->o.on_prediction)
    l->o.on_prediction(l->o.cb_ctx, &lp);
  return 0;
}

/* Pushes the stored closed candles after the stream's last one with open time < until_ms (exclusive) and
 * close <= close_limit_ms through stream, storing each prediction. */
static int push_range(struct tml_live *l, struct sym *s, struct tml_model_stream *stream, const struct tml_modelset *m,
                      int64_t model_id, const char *version, int64_t until_ms, int64_t close_limit_ms,
                      struct tml_error *err) {
  int64_t last = tml_model_stream_last_ms(stream);
  struct tml_candles c;
  int rc = tml_store_load(l->store, s->st.symbol, m->interval_ms, last == INT64_MIN ? INT64_MIN : last + 1, until_ms,
                          &c, err);
  if (rc)
    return rc;
  for (size_t i = 0; i < c.len && !rc; i++) {
    if (c.open_time[i] + c.interval_ms > close_limit_ms)
      break;
    struct tml_prediction p;
    bool ready = false;
    struct tml_error e;
    tml_error_init(&e);
    int prc = tml_model_stream_push(stream, c.open_time[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i],
                                    &p, &ready, &e);
    if (prc == TML_EINVAL) { /* an unusable candle is skipped, as the feature stream does in training */
      emit(l, "warning", "%s: %s", s->st.symbol, e.msg);
      continue;
    }
    if (prc) {
      rc = tml_error_set(err, prc, "%s", e.msg);
      break;
    }
    if (c.open_time[i] > s->st.last_candle_ms)
      s->st.last_candle_ms = c.open_time[i];
    if (ready)
      rc = publish(l, s, m, model_id, version, &p, err);
  }
  tml_candles_release(&c);
  return rc;
}

static int open_stream(struct tml_live *l, struct sym *s, int64_t boundary, struct tml_error *err);

/* Predicts every closed candle (open < boundary) not yet predicted with the current model. When the
 * database fails half way (a lost connection, a lock), the stream has taken candles whose predictions
 * were not stored: it is dropped, and the next tick reopens it after the last stored prediction, so
 * those candles are predicted then, once. */
static int predict_new(struct tml_live *l, struct sym *s, int64_t boundary, struct tml_error *err) {
  if (!s->m || !s->in_universe || s->stalled || (s->stale_model && l->o.stale_block))
    return 0;
  int rc = s->stream ? 0 : open_stream(l, s, boundary, err);
  if (!rc)
    rc = push_range(l, s, s->stream, s->m, s->st.model_id, s->st.model_version, boundary, INT64_MAX, err);
  if (rc) {
    tml_model_stream_close(s->stream);
    s->stream = NULL;
  }
  return rc;
}

/* Opens the stream of a freshly loaded model: positioned after the last stored prediction of the symbol
 * (so candles that closed since are predicted next, once each), or, when the symbol was never predicted,
 * at the newest closed candle whose prediction is stored at once. */
static int open_stream(struct tml_live *l, struct sym *s, int64_t boundary, struct tml_error *err) {
  int64_t at = s->st.last_predicted_ms >= 0 ? s->st.last_predicted_ms + l->o.interval_ms : boundary;
  int rc = tml_model_stream_open(l->store, s->m, s->st.symbol, at, &s->stream, err);
  if (rc)
    return rc;
  if (s->st.last_predicted_ms < 0) {
    struct tml_prediction p;
    struct tml_error e;
    tml_error_init(&e);
    int64_t last = tml_model_stream_last_ms(s->stream);
    if (last != INT64_MIN && last > s->st.last_candle_ms)
      s->st.last_candle_ms = last;
    bool fresh = last != INT64_MIN && last >= boundary - (int64_t)l->o.stall_intervals * l->o.interval_ms;
    if (fresh && tml_model_stream_latest(s->stream, &p, &e) == 0)
      rc = publish(l, s, s->m, s->st.model_id, s->st.model_version, &p, err);
  }
  if (rc) { /* not stored: reopened (and published) again next time */
    tml_model_stream_close(s->stream);
    s->stream = NULL;
  }
  return rc;
}

/* The backfill rule: candles that closed while the loop was down and before the currently active model
 * was registered are predicted with the model the previous run used (when its folder still loads). */
static int backfill_previous(struct tml_live *l, struct sym *s, const struct tml_model_row *active, int64_t boundary,
                             struct tml_error *err) {
  if (s->persisted_model_id <= 0 || s->persisted_model_id == active->id || s->st.last_predicted_ms < 0 ||
      active->created_ms <= s->st.last_predicted_ms + l->o.interval_ms)
    return 0;
  struct tml_model_row old;
  tml_model_row_init(&old);
  struct tml_modelset *m = NULL;
  struct tml_model_stream *stream = NULL;
  struct tml_error e;
  tml_error_init(&e);
  int rc = 0;
  if (tml_registry_get(l->reg, s->persisted_model_id, &old, &e) != 0 || old.folder_missing ||
      tml_modelset_load(old.path, &m, &e) != 0 ||
      tml_model_stream_open(l->store, m, s->st.symbol, s->st.last_predicted_ms + l->o.interval_ms, &stream, &e) != 0) {
    emit(l, "warning",
         "%s: the previous model %" PRId64 " cannot be loaded (%s): candles that closed before model %" PRId64
         " was registered are backfilled with model %" PRId64,
         s->st.symbol, s->persisted_model_id, e.msg, active->id, active->id);
    goto out;
  }
  uint64_t before = l->c.predictions;
  rc = push_range(l, s, stream, m, old.id, old.version, boundary, active->created_ms, err);
  if (!rc && l->c.predictions > before)
    emit(l, "info", "%s: backfilled %" PRIu64 " candles with the previous model %" PRId64 " (active before model %" PRId64
         " was registered)", s->st.symbol, l->c.predictions - before, old.id, active->id);
out:
  tml_model_stream_close(stream);
  tml_modelset_free(m);
  tml_model_row_release(&old);
  return rc;
}

/* Reads the active registry row; loads it when its id changed (a reload after the first check). */
static int check_registry(struct tml_live *l, struct sym *s, int64_t boundary, struct tml_error *err) {
  struct tml_model_row row;
  tml_model_row_init(&row);
  struct tml_error e;
  tml_error_init(&e);
  int rc = tml_registry_active(l->reg, l->o.strategy, s->st.symbol, l->o.interval_ms, &row, &e);
  bool first = !s->registry_seen;
  s->registry_seen = true;
  if (rc == TML_ENOENT) {
    rc = 0;
    if (s->m) {
      emit(l, "warning", "%s: model %" PRId64 " is no longer active and no other is; blocked", s->st.symbol,
           s->st.model_id);
      unload(s);
      s->nomodel_state = TML_LIVE_BLOCKED;
      snprintf(s->nomodel_reason, sizeof(s->nomodel_reason), "no active model (model deactivated); re-checked every %" PRId64 "s",
               l->o.coverage_check_ms / 1000);
      set_state(l, s, TML_LIVE_BLOCKED, s->nomodel_reason);
    }
    s->refused_model_id = 0;
    goto out;
  }
  if (rc) {
    rc = tml_error_set(err, rc, "%s: reading the registry: %s", s->st.symbol, e.msg);
    goto out;
  }
  if (row.id == s->st.model_id || row.id == s->refused_model_id)
    goto out;
  struct tml_modelset *m = NULL;
  if (row.folder_missing)
    tml_error_set(&e, TML_EMODEL, "its folder '%s' is missing", row.path);
  else
    tml_modelset_load(row.path, &m, &e);
  if (!m) {
    s->refused_model_id = row.id;
    unload(s);
    s->nomodel_state = TML_LIVE_BLOCKED;
    snprintf(s->nomodel_reason, sizeof(s->nomodel_reason), "active model %" PRId64 " refused: %.250s", row.id, e.msg);
    set_state(l, s, TML_LIVE_BLOCKED, s->nomodel_reason);
    goto out;
  }
  if (first && (rc = backfill_previous(l, s, &row, boundary, err))) {
    tml_modelset_free(m);
    goto out;
  }
  int64_t old_id = s->st.model_id;
  unload(s); /* the swap: the loop thread is the only user, so no prediction is in progress */
  s->m = m;
  s->refused_model_id = 0;
  s->st.model_id = row.id;
  snprintf(s->st.model_version, sizeof(s->st.model_version), "%s", row.version);
  s->st.model_created_ms = row.created_ms;
  l->c.loads++;
  if (!first)
    l->c.reloads++;
  tml_error_init(&e);
  s->have_labels = tml__live_model_labels(m->metadata, &s->spec, &s->th, &e) == 0;
  if (!s->have_labels)
    emit(l, "warning", "%s: model %" PRId64 ": %s; outcomes and live metrics are not computed", s->st.symbol, row.id,
         e.msg);
  tml_error_init(&e);
  if (tml_live_quality_load_oos(m->dir, s->st.quality, &e) != 0)
    emit(l, "warning", "%s: model %" PRId64 ": %s", s->st.symbol, row.id, e.msg);
  if (old_id > 0)
    emit(l, "info", "%s: model %" PRId64 " (%s) activated; reloaded (was model %" PRId64 ")", s->st.symbol, row.id,
         row.version, old_id);
  else
    emit(l, "info", "%s: model %" PRId64 " (%s) loaded", s->st.symbol, row.id, row.version);
  if ((rc = open_stream(l, s, boundary, err))) {
    /* the database (a lost connection, a lock, a refused write), not the model: predict_new reopens it */
    if (rc == TML_ENET || rc == TML_EBUSY || rc == TML_EDB) {
      s->st.job_id = 0;
      derive_state(l, s);
      goto out;
    }
    tml_error_init(&e);
    snprintf(s->nomodel_reason, sizeof(s->nomodel_reason), "model %" PRId64 " cannot stream %s: %.200s", row.id,
             s->st.symbol, err ? err->msg : "error");
    if (err)
      tml_error_clear(err);
    s->refused_model_id = row.id;
    unload(s);
    set_state(l, s, TML_LIVE_BLOCKED, s->nomodel_reason);
    rc = 0;
    goto out;
  }
  s->st.job_id = 0;
  derive_state(l, s);
out:
  tml_model_row_release(&row);
  return rc;
}

/* ---- sync ----------------------------------------------------------------------------------------- */

/* A failure that says the exchange itself did not answer (after the client's retries), not this symbol. */
static bool unreachable(int rc) {
  return rc == TML_ENET || rc == TML_ETIMEDOUT || rc == TML_ERATELIMIT || rc == TML_EPERM;
}

/* The retry of a sync that failed or was postponed. */
static int64_t retry_at(const struct tml_live *l) { return l->now + TML_MAX(5000, 5 * l->o.poll_ms); }

/* Returns the fetch's result (0 when up to date). */

/* Whether two error messages say the same thing, digits aside: libcurl's "... after 3 ms: Couldn't
 * connect" differs from one attempt to the next, and a repeated failure is logged once. Compares at
 * most n bytes of each. */
static bool same_error(const char *a, const char *b, size_t n) {
  size_t i = 0, j = 0;
  while (i < n && j < n && a[i] && b[j]) {
    bool da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
    if (da && db) {
      while (i < n && a[i] >= '0' && a[i] <= '9')
        i++;
      while (j < n && b[j] >= '0' && b[j] <= '9')
        j++;
      continue;
    }
    if (a[i] != b[j])
      return false;
    i++;
    j++;
  }
  return (i >= n || !a[i]) && (j >= n || !b[j]);
}

static int sync_symbol(struct tml_live *l, struct sym *s, int64_t boundary) {
  if (!l->ex)
    return 0;
  int64_t iv = l->o.interval_ms;
  int64_t from = s->st.last_candle_ms >= 0 ? s->st.last_candle_ms + iv
                                           : l->now - (int64_t)(l->o.history_days * (double)TML_MS_PER_DAY);
  if (s->st.last_candle_ms < 0 && s->launch_ms > from)
    from = s->launch_ms;
  if (from > boundary - iv) {
    s->sync_failed = false;
    return 0; /* up to date */
  }
  struct tml_fetch_opts fo = {0};
  fo.from_ms = from;
  fo.to_ms = boundary - iv;
  fo.now_ms = l->now;
  struct tml_fetch_result r;
  struct tml_error e;
  tml_error_init(&e);
  int rc = tml_fetch_series(l->store, l->ex, s->st.symbol, iv, &fo, &r, &e);
  s->sync_failed = rc != 0 && rc != TML_EDATA;
  /* A failed sync is tried again after a pause (the client already backed off), not only at the next
   * close: the symbol catches up as soon as the exchange answers. */
  s->retry_sync_ms = retry_at(l);
  if (rc == 0) {
    s->last_error[0] = '\0';
    if (r.stored_rows > 0 && r.stored_last_ms > s->st.last_candle_ms)
      s->st.last_candle_ms = r.stored_last_ms;
    return 0;
  }
  if (rc != TML_EDATA && rc != TML_ECONFLICT && rc != TML_EINVAL)
    l->c.exchange_errors++;
  if (!same_error(s->last_error, e.msg, sizeof(s->last_error) - 1)) {
    emit(l, "warning", "%s: sync failed: %s", s->st.symbol, e.msg);
    snprintf(s->last_error, sizeof(s->last_error), "%.255s", e.msg);
  }
  return rc;
}

/* The newest stored candle when no exchange syncs it (another process fills the store). */
static int refresh_last_candle(struct tml_live *l, struct sym *s, struct tml_error *err) {
  struct tml_candles c;
  int64_t from = s->st.last_candle_ms >= 0 ? s->st.last_candle_ms + 1 : INT64_MIN;
  int rc = tml_store_load(l->store, s->st.symbol, l->o.interval_ms, from, INT64_MAX, &c, err);
  if (rc)
    return rc;
  /* only closed candles count */
  for (size_t i = c.len; i > 0; i--)
    if (c.open_time[i - 1] + c.interval_ms <= l->now) {
      if (c.open_time[i - 1] > s->st.last_candle_ms)
        s->st.last_candle_ms = c.open_time[i - 1];
      break;
    }
  tml_candles_release(&c);
  return 0;
}

/* ---- coverage and age ------------------------------------------------------------------------------ */

/* True when job id is a train/retrain job that succeeded (false when unknown, e.g. purged). */
static bool job_succeeded(struct tml_live *l, int64_t id) {
  struct tml_job j;
  struct tml_error e;
  tml_error_init(&e);
  if (tml_jobs_get(l->jobs, id, &j, &e) != 0)
    return false;
  return j.status == TML_JOB_SUCCEEDED && (j.kind == TML_JOB_TRAIN || j.kind == TML_JOB_RETRAIN);
}

static void coverage_one(struct tml_live *l, struct sym *s) {
  if (s->m || !s->in_universe)
    return;
  s->st.next_check_ms = l->next_coverage;
  if (s->refused_model_id)
    return; /* blocked by a refused model until the active row changes */
  struct tml_cov_row row;
  struct tml_error e;
  tml_error_init(&e);
  l->cov.now_ms = l->now;
  if (tml_coverage_check(l->store, l->jobs, &l->cov, s->st.symbol, &row, &e) != 0) {
    emit(l, "warning", "%s: coverage check failed: %s", s->st.symbol, e.msg);
    return;
  }
  int64_t every = l->o.coverage_check_ms / 1000;
  char reason[320];
  enum tml_live_state state = TML_LIVE_BLOCKED;
  bool existed = false;
  int64_t id;
  switch (row.verdict) {
  case TML_COV_NO_DATA:
    snprintf(reason, sizeof(reason),
             "no %s candles yet; blocked until candles are stored; re-checked every %" PRId64 "s; will not trigger "
             "training",
             ivname(l), every);
    break;
  case TML_COV_INSUFFICIENT_HISTORY:
    snprintf(reason, sizeof(reason),
             "only %.1f days of history (< %g minimum); blocked until enough history accumulates; re-checked every "
             "%" PRId64 "s; will not trigger training",
             row.history_days, l->cov.min_history_days, every);
    break;
  case TML_COV_LOW_COVERAGE:
    snprintf(reason, sizeof(reason),
             "coverage %.2f%% (< %g%% minimum); blocked until the gaps are filled; re-checked every %" PRId64
             "s; will not trigger training",
             row.coverage_pct, l->cov.min_coverage_pct, every);
    break;
  case TML_COV_TRAINING:
    state = TML_LIVE_TRAINING;
    s->st.job_id = row.job_id;
    snprintf(reason, sizeof(reason), "training: job %" PRId64 " is queued or running; re-checked every %" PRId64 "s",
             row.job_id, every);
    break;
  case TML_COV_FAILED:
    s->st.job_id = row.job_id;
    snprintf(reason, sizeof(reason),
             "training job %" PRId64 " failed (see `trademl jobs show %" PRId64 "`); blocked until a model is "
             "activated; re-checked every %" PRId64 "s",
             row.job_id, row.job_id, every);
    break;
  case TML_COV_UNTRAINED:
    /* The last training job of this symbol succeeded yet no model is active (the registry's gate
     * rejected it, or it was deactivated since): training again on every re-check would re-queue the
     * symbol forever. It stays blocked until a model is activated (a manual or scheduled retrain). */
    if (s->st.job_id > 0 && job_succeeded(l, s->st.job_id)) {
      snprintf(reason, sizeof(reason),
               "training job %" PRId64 " succeeded but no model was activated (see `trademl jobs show %" PRId64
               "` and `trademl models list`); blocked until a model is activated; re-checked every %" PRId64
               "s; not resubmitted",
               s->st.job_id, s->st.job_id, every);
      break;
    }
    id = submit_job(l, s, TML_JOB_TRAIN, &existed);
    if (id > 0) {
      state = TML_LIVE_TRAINING;
      snprintf(reason, sizeof(reason), "training: enough history (%.1f days); job %" PRId64 " %s", row.history_days, id,
               existed ? "already queued or running" : "submitted");
    } else {
      snprintf(reason, sizeof(reason),
               "no active model and no training job (live jobs disabled or refused); re-checked every %" PRId64 "s",
               every);
    }
    break;
  case TML_COV_OK:
  case TML_COV_VERDICT_COUNT:
    /* has an active model: the registry check loads it */
    snprintf(reason, sizeof(reason), "an active model exists; loading it on the next registry check");
    break;
  }
  s->nomodel_state = state;
  snprintf(s->nomodel_reason, sizeof(s->nomodel_reason), "%s", reason);
  set_state(l, s, state, reason);
}

static void check_age(struct tml_live *l, struct sym *s) {
  if (!s->m || l->o.model_max_age_ms <= 0 || s->stale_model)
    return;
  if (l->now - s->st.model_created_ms <= l->o.model_max_age_ms)
    return;
  s->stale_model = true;
  if (s->retrain_for_model != s->st.model_id) {
    bool existed = false;
    if (submit_job(l, s, TML_JOB_RETRAIN, &existed) > 0)
      s->retrain_for_model = s->st.model_id;
  }
  derive_state(l, s);
}

/* ---- outcomes and drift ---------------------------------------------------------------------------- */

/* Labels of another model (a prediction made before a reload). */
static bool labels_of(struct tml_live *l, int64_t model_id, struct tml_label_spec *spec, struct tml_label_thresholds *th) {
  struct tml_model_row row;
  tml_model_row_init(&row);
  bool ok = false;
  char path[TML_PATH_MAX];
  char *meta = NULL;
  size_t len = 0;
  if (tml_registry_get(l->reg, model_id, &row, NULL) == 0 && !row.folder_missing &&
      tml_path_fmt(path, sizeof(path), NULL, "%s/metadata.json", row.path) == 0 &&
      tml_read_file(path, &meta, &len, NULL) == 0)
    ok = tml__live_model_labels(meta, spec, th, NULL) == 0;
  free(meta);
  tml_model_row_release(&row);
  return ok;
}

static int resolve(struct tml_live *l, struct sym *s, struct tml_error *err) {
  if (!s->m || !s->have_labels || s->st.last_candle_ms < 0)
    return 0;
  int64_t iv = l->o.interval_ms;
  int64_t hz = s->spec.horizon;
  struct tml_live_prediction *preds = NULL;
  size_t n = 0;
  int rc = tml__live_unresolved(l->store, l->o.strategy, s->st.symbol, iv, s->st.last_candle_ms - hz * iv, 2000, &preds,
                                &n, err);
  if (rc || n == 0)
    goto quality;
  struct tml_candles c;
  if ((rc = tml_store_load(l->store, s->st.symbol, iv, preds[0].candle_ms, s->st.last_candle_ms + 1, &c, err)))
    goto out;
  int64_t other_id = 0;
  struct tml_label_spec ospec;
  struct tml_label_thresholds oth;
  bool other_ok = false;
  for (size_t i = 0; i < n && !rc; i++) {
    size_t t = tml_candles_lower_bound(&c, preds[i].candle_ms);
    if (t >= c.len || c.open_time[t] != preds[i].candle_ms)
      continue; /* its candle is no longer stored */
    if (c.len - t < (size_t)hz + 1)
      break; /* with gaps the horizon (in candles) may not have passed yet */
    const struct tml_label_spec *sp = &s->spec;
    const struct tml_label_thresholds *th = &s->th;
    if (preds[i].model_id != s->st.model_id) {
      if (preds[i].model_id != other_id) {
        other_id = preds[i].model_id;
        other_ok = labels_of(l, other_id, &ospec, &oth);
      }
      sp = &ospec;
      th = &oth;
    }
    float out[TML_HEAD_COUNT];
    if (preds[i].model_id != s->st.model_id && !other_ok)
      for (int h = 0; h < TML_HEAD_COUNT; h++)
        out[h] = NAN;
    else
      tml_live_outcome(&c, t, sp, th, out, NULL); /* NaN outcomes when the prices are unusable */
    if ((rc = tml_live_predictions_resolve(l->store, preds[i].id, out, l->now, err)))
      break;
    l->c.resolved++;
  }
  tml_candles_release(&c);
  if (rc)
    goto out;
quality:
  free(preds);
  preds = NULL;
  if ((rc = tml__live_recent_resolved(l->store, l->o.strategy, s->st.symbol, iv, s->st.model_id, l->o.drift_window,
                                      &preds, &n, err)))
    goto out;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    tml_live_quality_compute(preds, n, (enum tml_head)h, &s->st.quality[h]);
  if (!s->drift && tml_live_quality_drift(s->st.quality, l->o.drift_min_resolved, l->o.drift_logloss_margin)) {
    s->drift = true;
    if (s->retrain_for_model != s->st.model_id) {
      bool existed = false;
      if (submit_job(l, s, TML_JOB_RETRAIN, &existed) > 0)
        s->retrain_for_model = s->st.model_id;
    }
  }
out:
  free(preds);
  return rc;
}

/* ---- universe --------------------------------------------------------------------------------------- */

struct wanted {
  char (*v)[TML_SYMBOL_MAX];
  int64_t *launch;
  size_t n;
};

static int wanted_push(struct wanted *w, const char *symbol, int64_t launch) {
  void *nv = realloc(w->v, (w->n + 1) * sizeof(*w->v));
  if (!nv)
    return TML_ENOMEM;
  w->v = nv;
  void *nl = realloc(w->launch, (w->n + 1) * sizeof(*w->launch));
  if (!nl)
    return TML_ENOMEM;
  w->launch = nl;
  snprintf(w->v[w->n], TML_SYMBOL_MAX, "%s", symbol);
  w->launch[w->n++] = launch;
  return 0;
}

/* The symbols the universe should hold now; *ok false when the exchange did not answer (keep as is). */
static int universe_wanted(struct tml_live *l, struct wanted *w, bool *ok, struct tml_error *err) {
  *ok = true;
  int rc = 0;
  if (l->o.universe == TML_LIVE_UNIVERSE_LIST) {
    for (size_t i = 0; i < l->o.nsymbols && !rc; i++)
      rc = wanted_push(w, l->o.symbols[i], -1);
  } else if (l->o.universe == TML_LIVE_UNIVERSE_STORED) {
    struct tml_series_info *info = NULL;
    size_t n = 0;
    if ((rc = tml_store_list(l->store, &info, &n, err)))
      return rc;
    for (size_t i = 0; i < n && !rc; i++)
      if (info[i].interval_ms == l->o.interval_ms)
        rc = wanted_push(w, info[i].symbol, -1);
    free(info);
  } else {
    struct tml_universe_opts uo = {NULL, l->o.universe == TML_LIVE_UNIVERSE_TOP ? l->o.top : 0, TML_RANK_TURNOVER,
                                   false};
    struct tml_instruments ins;
    tml_instruments_init(&ins);
    struct tml_error e;
    tml_error_init(&e);
    if (tml_universe_discover(l->ex, &uo, &ins, &e) != 0) {
      l->c.exchange_errors++;
      emit(l, "warning", "universe refresh failed (keeping the current universe): %s", e.msg);
      *ok = false;
    }
    for (size_t i = 0; *ok && i < ins.len && !rc; i++)
      rc = wanted_push(w, ins.items[i].symbol, ins.items[i].launch_ms);
    tml_instruments_release(&ins);
  }
  if (rc == TML_ENOMEM)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory refreshing the universe");
  return rc;
}

static int refresh_universe(struct tml_live *l, struct tml_error *err) {
  struct wanted w = {NULL, NULL, 0};
  bool ok = true;
  int rc = universe_wanted(l, &w, &ok, err);
  if (!rc && !ok) {
    /* The exchange did not answer: try again in a minute, not a whole refresh period later (a loop
     * started while the exchange was down would otherwise have no symbols for an hour). */
    int64_t retry = l->now + TML_MIN(l->o.universe_refresh_ms, LIVE_UNIVERSE_RETRY_MS);
    if (retry < l->next_universe)
      l->next_universe = retry;
  }
  if (rc || !ok)
    goto out;
  l->c.universe_refreshes++;
  for (size_t i = 0; i < w.n; i++) {
    struct sym *s = find_sym(l, w.v[i]);
    if (!s) {
      if (!(s = add_sym(l, w.v[i], err))) {
        rc = TML_ENOMEM;
        goto out;
      }
      snprintf(s->st.reason, sizeof(s->st.reason), "joined the universe; waiting for its first sync and coverage check");
      s->st.since_ms = l->now;
    } else if (s->in_universe) {
      s->launch_ms = w.launch[i];
      continue;
    } else {
      set_state(l, s, TML_LIVE_BLOCKED, "rejoined the universe; waiting for its coverage check");
      s->registry_seen = false;
    }
    s->launch_ms = w.launch[i];
    s->in_universe = true;
    s->needs_sync = true;
    s->cov_now = l->started;
    if (l->started)
      emit(l, "info", "%s: joined the universe", s->st.symbol);
  }
  for (size_t i = 0; i < l->nsyms; i++) {
    struct sym *s = &l->syms[i];
    if (!s->in_universe)
      continue;
    bool keep = false;
    for (size_t j = 0; j < w.n && !keep; j++)
      keep = strcmp(w.v[j], s->st.symbol) == 0;
    if (keep)
      continue;
    s->in_universe = false;
    unload(s);
    size_t cancelled = cancel_queued(l, s->st.symbol);
    char reason[320];
    snprintf(reason, sizeof(reason), "left the universe: no longer synced or predicted; %zu queued job%s cancelled",
             cancelled, cancelled == 1 ? "" : "s");
    s->st.next_check_ms = 0;
    set_state(l, s, TML_LIVE_DROPPED, reason);
  }
  qsort(l->syms, l->nsyms, sizeof(*l->syms), cmp_sym);
out:
  free(w.v);
  free(w.launch);
  return rc;
}

/* ---- status ---------------------------------------------------------------------------------------- */

static int build_status(struct tml_live *l, struct tml_live_status *st) {
  memset(st, 0, sizeof(*st));
  snprintf(st->exchange, sizeof(st->exchange), "%s", l->o.exchange);
  snprintf(st->category, sizeof(st->category), "%s", l->o.category);
  st->interval_ms = l->o.interval_ms;
  snprintf(st->strategy, sizeof(st->strategy), "%s", l->o.strategy);
  snprintf(st->universe, sizeof(st->universe), "%s", l->universe_name);
  st->running = true;
  st->updated_ms = tml_now_ms();
  st->pid = (int)getpid();
  st->counters = l->c;
  if (l->nsyms) {
    st->symbols = calloc(l->nsyms, sizeof(*st->symbols));
    if (!st->symbols)
      return TML_ENOMEM;
  }
  for (size_t i = 0; i < l->nsyms; i++) {
    st->symbols[i] = l->syms[i].st;
    st->by_state[l->syms[i].st.state]++;
  }
  st->nsymbols = l->nsyms;
  return 0;
}

static int persist(struct tml_live *l, bool running, struct tml_error *err) {
  struct tml_live_status st;
  if (build_status(l, &st) != 0)
    return tml_error_set(err, TML_ENOMEM, "out of memory building the live status");
  st.running = running;
  int rc = tml__live_status_save(l->store, &st, err);
  pthread_mutex_lock(&l->lock);
  tml_live_status_release(&l->snap);
  l->snap = st; /* takes the symbols */
  pthread_mutex_unlock(&l->lock);
  return rc;
}

int tml_live_snapshot(struct tml_live *l, struct tml_live_status *out) {
  pthread_mutex_lock(&l->lock);
  *out = l->snap;
  out->symbols = NULL;
  int rc = 0;
  if (l->snap.nsymbols) {
    out->symbols = malloc(l->snap.nsymbols * sizeof(*out->symbols));
    if (out->symbols)
      memcpy(out->symbols, l->snap.symbols, l->snap.nsymbols * sizeof(*out->symbols));
    else {
      out->nsymbols = 0;
      rc = TML_ENOMEM;
    }
  }
  pthread_mutex_unlock(&l->lock);
  return rc;
}

static void heartbeat(struct tml_live *l) {
  size_t active = 0, blocked = 0, training = 0, stale = 0;
  for (size_t i = 0; i < l->nsyms; i++)
    switch (l->syms[i].st.state) {
    case TML_LIVE_ACTIVE:
    case TML_LIVE_DRIFT:
      active++;
      break;
    case TML_LIVE_BLOCKED:
      blocked++;
      break;
    case TML_LIVE_TRAINING:
      training++;
      break;
    case TML_LIVE_STALE:
    case TML_LIVE_STALE_DATA:
      stale++;
      break;
    case TML_LIVE_DROPPED:
    case TML_LIVE_STATE_COUNT:
      break;
    }
  char last[32] = "none";
  if (l->c.last_candle_ms >= 0)
    tml_time_format(l->c.last_candle_ms, last, sizeof(last));
  emit(l, "info", "live heartbeat: %zu active symbols, %zu blocked, %zu training, %zu stale, last candle %s", active,
       blocked, training, stale, last);
}

/* ---- the loop -------------------------------------------------------------------------------------- */

static int64_t loop_clock(struct tml_live *l) {
  if (l->o.clock)
    return l->o.clock(l->o.clock_ctx);
  int64_t wall = tml_now_ms();
  if (!l->ex)
    return wall;
  int64_t t = 0;
  struct tml_error e;
  tml_error_init(&e);
  l->clock_failed = false;
  if (tml_exchange_server_time(l->ex, &t, &e) == 0) {
    l->clock_offset = t - wall;
    return t;
  }
  l->clock_failed = unreachable(e.code);
  l->c.exchange_errors++;
  return wall + l->clock_offset;
}

/* Advances a timer by whole periods past now; true when it was due. */
static bool due(int64_t *next, int64_t period, int64_t now) {
  if (now < *next)
    return false;
  int64_t k = (now - *next) / period + 1;
  *next += k * period;
  return true;
}

int tml_live_tick(struct tml_live *l, struct tml_error *err) {
  int64_t now = loop_clock(l);
  if (now < l->now)
    now = l->now; /* the loop clock never goes back */
  l->now = now;
  l->c.ticks++;
  l->c.last_tick_ms = now;
  l->c.last_tick_wall_ms = tml_now_ms();
  int rc = 0;
  bool first = !l->started;
  if (first) {
    l->c.started_ms = now;
    l->next_universe = now;
    l->next_coverage = now;
    l->next_heartbeat = now + l->o.heartbeat_ms;
  }
  bool universe_due = due(&l->next_universe, l->o.universe_refresh_ms, now);
  if (universe_due && (rc = refresh_universe(l, err)))
    return rc;
  l->started = true;
  int64_t iv = l->o.interval_ms;
  int64_t boundary = tml_time_floor(now - l->o.close_delay_ms, iv); /* candles opened before it are closed */
  bool candle_due = boundary > l->last_boundary;
  bool cov_due = due(&l->next_coverage, l->o.coverage_check_ms, now);
  if (cov_due)
    l->c.coverage_checks++;
  bool hb_due = due(&l->next_heartbeat, l->o.heartbeat_ms, now);
  bool work = candle_due || cov_due || universe_due;
  /* Once the exchange is found unreachable in a tick (its clock, or a sync, after the client's retries
   * and backoff), the other symbols' syncs wait for the retry instead of each going through the same
   * retries: a tick with hundreds of symbols stays short while the exchange is down. */
  bool ex_down = l->ex && l->clock_failed;
  size_t postponed = 0;
  for (size_t i = 0; i < l->nsyms && !rc; i++) {
    struct sym *s = &l->syms[i];
    if (!s->in_universe)
      continue;
    bool joined = s->needs_sync;
    bool retry = (s->sync_failed || s->behind) && now >= s->retry_sync_ms;
    if (!candle_due && !cov_due && !joined && !s->cov_now && !retry)
      continue;
    work = true;
    s->needs_sync = false;
    if (candle_due || joined || retry) {
      if (l->ex && ex_down) {
        s->sync_failed = true;
        s->retry_sync_ms = retry_at(l);
        postponed++;
      } else if (l->ex) {
        int src = sync_symbol(l, s, boundary);
        if (unreachable(src))
          ex_down = true;
        else if (src == 0)
          l->down_logged = false;
      } else if ((rc = refresh_last_candle(l, s, err)))
        break;
      /* The candle that just closed is not there yet (the exchange, or the process filling the store,
       * lags the close delay): look again shortly, a few times, instead of predicting it one interval
       * late at the next close. */
      if (candle_due)
        s->behind_tries = 0;
      s->behind = !s->sync_failed && s->st.last_candle_ms < boundary - iv && s->behind_tries < LIVE_BEHIND_TRIES;
      if (s->behind) {
        s->behind_tries++;
        s->retry_sync_ms = now + TML_MAX(5000, 5 * l->o.poll_ms);
      }
    }
    /* Stalled data: the newest closed candle should open at boundary - iv. */
    bool stalled = s->st.last_candle_ms < 0 ||
                   boundary - iv - s->st.last_candle_ms >= (int64_t)l->o.stall_intervals * iv;
    s->stalled = stalled;
    if ((rc = check_registry(l, s, boundary, err)))
      break;
    if (cov_due || s->cov_now) {
      s->cov_now = false;
      coverage_one(l, s);
      check_age(l, s);
    }
    if (s->m) {
      derive_state(l, s);
      if ((rc = predict_new(l, s, boundary, err)))
        break;
      if ((candle_due || retry) && (rc = resolve(l, s, err)))
        break;
      derive_state(l, s);
      s->st.next_check_ms = 0;
    } else if (cov_due) {
      s->st.next_check_ms = l->next_coverage;
    }
    if (s->st.last_candle_ms > l->c.last_candle_ms)
      l->c.last_candle_ms = s->st.last_candle_ms;
  }
  if (rc)
    return rc;
  if (postponed && !l->down_logged) {
    emit(l, "warning", "exchange %s unreachable: the syncs of %zu other symbols wait for the retry (every %" PRId64
         "s) instead of each retrying now", l->o.exchange, postponed, TML_MAX(5000, 5 * l->o.poll_ms) / 1000);
    l->down_logged = true;
  }
  if (candle_due)
    l->last_boundary = boundary;
  if (hb_due)
    heartbeat(l);
  if (work || hb_due || first) {
    rc = persist(l, true, err);
  } else { /* counters move every tick; the symbol rows only when something was done */
    pthread_mutex_lock(&l->lock);
    l->snap.counters = l->c;
    pthread_mutex_unlock(&l->lock);
  }
  return rc;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int tml_live_run(struct tml_live *l, const atomic_bool *stop, struct tml_error *err) {
  (void)err;
  char last_err[TML_ERROR_MSG_MAX] = "";
  while (!atomic_load(stop)) {
    struct tml_error e;
    tml_error_init(&e);
    double t0 = tml_monotonic_s();
    if (tml_live_tick(l, &e) != 0) {
      if (strcmp(last_err, e.msg) != 0)
        emit(l, "error", "live tick failed (retried next tick): %s", e.msg);
      snprintf(last_err, sizeof(last_err), "%s", e.msg);
    } else {
      last_err[0] = '\0';
    }
    int64_t spent = (int64_t)((tml_monotonic_s() - t0) * 1000.0);
    for (int64_t left = l->o.poll_ms - spent; left > 0 && !atomic_load(stop); left -= 100)
      sleep_ms(left < 100 ? left : 100);
  }
  return 0;
}

/* ---- create / destroy -------------------------------------------------------------------------------- */

/* A symbol list is checked once at start: known to the exchange, or stored when there is none. */
static int check_symbols(struct tml_live *l, struct tml_error *err) {
  if (l->o.universe != TML_LIVE_UNIVERSE_LIST)
    return 0;
  if (l->ex) {
    struct tml_instruments ins;
    tml_instruments_init(&ins);
    struct tml_error e;
    tml_error_init(&e);
    int rc = 0;
    if (tml_exchange_instruments(l->ex, &ins, &e) != 0) {
      emit(l, "warning", "cannot check the symbols against %s (%s); continuing", l->o.exchange, e.msg);
    } else {
      for (size_t i = 0; i < l->o.nsymbols && !rc; i++) {
        bool found = false;
        for (size_t j = 0; j < ins.len && !found; j++)
          found = strcmp(ins.items[j].symbol, l->o.symbols[i]) == 0;
        if (!found)
          rc = tml_error_set(err, TML_EINVAL,
                             "unknown symbol %s on %s %s (live.symbols/--symbols): check the spelling, or list the "
                             "market's symbols with `trademl universe refresh`",
                             l->o.symbols[i], l->o.exchange, l->o.category);
      }
    }
    tml_instruments_release(&ins);
    return rc;
  }
  struct tml_series_info *info = NULL;
  size_t n = 0;
  int rc = tml_store_list(l->store, &info, &n, err);
  for (size_t i = 0; i < l->o.nsymbols && !rc; i++) {
    bool found = false;
    for (size_t j = 0; j < n && !found; j++)
      found = info[j].interval_ms == l->o.interval_ms && strcmp(info[j].symbol, l->o.symbols[i]) == 0;
    if (!found)
      rc = tml_error_set(err, TML_EINVAL,
                         "unknown symbol %s: no %s candles stored and no exchange to fetch them from (live.exchange "
                         "is none): import or fetch them first, or give --exchange",
                         l->o.symbols[i], ivname(l));
  }
  free(info);
  return rc;
}

int tml_live_create(const struct tml_config *cfg, const struct tml_paths *paths, const struct tml_live_opts *opts,
                    struct tml_live **out, struct tml_error *err) {
  *out = NULL;
  struct tml_live *l = calloc(1, sizeof(*l));
  if (!l)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  pthread_mutex_init(&l->lock, NULL);
  l->o = *opts;
  l->o.symbols = NULL;
  l->o.nsymbols = 0;
  int rc = 0;
  /* Options filled by hand (not by tml_live_opts_from_config, which checks the keys' ranges): name the
   * one that is wrong. */
  const char *bad = opts->interval_ms <= 0 || !tml_interval_name(opts->interval_ms) ? "live.interval (interval_ms)"
                    : opts->poll_ms <= 0                                            ? "live.poll_ms (poll_ms)"
                    : opts->coverage_check_ms <= 0 ? "live.coverage_check_seconds (coverage_check_ms)"
                    : opts->universe_refresh_ms <= 0 ? "live.universe_refresh_minutes (universe_refresh_ms)"
                    : opts->heartbeat_ms <= 0        ? "live.heartbeat_seconds (heartbeat_ms)"
                    : opts->close_delay_ms < 0       ? "live.close_delay_seconds (close_delay_ms)"
                    : opts->stall_intervals < 1      ? "live.stall_intervals (stall_intervals)"
                    : opts->drift_window < 1         ? "live.drift.window (drift_window)"
                    : opts->drift_min_resolved > opts->drift_window
                        ? "live.drift.min_resolved (drift_min_resolved, larger than live.drift.window)"
                        : NULL;
  if (bad) {
    rc = tml_error_set(err, TML_EINVAL,
                       "live options: %s is out of range: give a known interval, positive periods, at least one "
                       "stall interval and a drift window no smaller than its minimum (or fill the options with "
                       "tml_live_opts_from_config)",
                       bad);
    goto fail;
  }
  if (opts->nsymbols) {
    l->o.symbols = malloc(opts->nsymbols * sizeof(*opts->symbols));
    if (!l->o.symbols) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory");
      goto fail;
    }
    memcpy(l->o.symbols, opts->symbols, opts->nsymbols * sizeof(*opts->symbols));
    l->o.nsymbols = opts->nsymbols;
  }
  l->last_boundary = INT64_MIN;
  l->c.last_candle_ms = -1;
  switch (l->o.universe) {
  case TML_LIVE_UNIVERSE_STORED:
    snprintf(l->universe_name, sizeof(l->universe_name), "stored");
    break;
  case TML_LIVE_UNIVERSE_LIST:
    snprintf(l->universe_name, sizeof(l->universe_name), "list");
    break;
  case TML_LIVE_UNIVERSE_TOP:
    snprintf(l->universe_name, sizeof(l->universe_name), "top:%zu", l->o.top);
    break;
  case TML_LIVE_UNIVERSE_ALL:
    snprintf(l->universe_name, sizeof(l->universe_name), "all");
    break;
  }
  if ((rc = tml_cov_opts_from_config(cfg, &l->cov, err)))
    goto fail;
  l->cov.interval_ms = l->o.interval_ms;
  snprintf(l->models_dir, sizeof(l->models_dir), "%s", tml_config_get(cfg, "model.models_dir"));
  l->cov.models_dir = l->models_dir;
  l->cov.strategy = l->o.strategy;
  struct tml_jobs_opts jo;
  if ((rc = tml_jobs_opts_from_config(cfg, &jo, err)))
    goto fail;
  /* Validate before anything is written: the exchange and its symbols first, then the store. */
  if (l->o.exchange[0]) {
    struct tml_exchange_config xc;
    if ((rc = tml__live_exchange_config(cfg, l->o.exchange, l->o.category, &xc, err)))
      goto fail;
    /* Options given by the caller win over the configuration's exchanges.http.* values. */
    if (l->o.http.timeout_ms)
      xc.http.timeout_ms = l->o.http.timeout_ms;
    if (l->o.http.max_retries)
      xc.http.max_retries = l->o.http.max_retries;
    if (l->o.http.backoff_base_ms)
      xc.http.backoff_base_ms = l->o.http.backoff_base_ms;
    if (l->o.http.backoff_cap_ms)
      xc.http.backoff_cap_ms = l->o.http.backoff_cap_ms;
    if (l->o.rate_per_s > 0)
      xc.rate_per_s = l->o.rate_per_s;
    if ((rc = tml_exchange_open(&xc, &l->ex, err)))
      goto fail;
    if (!l->o.category[0])
      snprintf(l->o.category, sizeof(l->o.category), "%s", tml_exchange_market(l->ex));
    if ((rc = check_symbols(l, err)))
      goto fail;
  } else if (!tml_db_exists(paths->db)) {
    rc = tml_error_set(err, TML_EINVAL,
                       "no candle store at '%s' and no exchange to fetch candles from (live.exchange is none): "
                       "import or fetch candles first, or give --exchange",
                       paths->db);
    goto fail;
  }
  /* The loop keeps this connection for days while the file grows: bounded cache, no map (options). */
  if ((rc = tml_paths_ensure(paths, err)) || (rc = tml_store_open(paths->db, &l->store, err)) ||
      (rc = tml_store_set_memory(l->store, l->o.store_cache_mib, l->o.store_mmap_mib, err)))
    goto fail;
  if (!l->ex && (rc = check_symbols(l, err)))
    goto fail;
  /* A model kept in the database (PostgreSQL) is fetched into this host's models folder when missing. */
  if ((rc = tml_jobs_open(paths->db, &jo, &l->jobs, err)) || (rc = tml_registry_open(paths->db, &l->reg, err)) ||
      (rc = tml_registry_set_cache_dir(l->reg, paths->models, err)) || (rc = tml__live_schema(l->store, err)))
    goto fail;
  /* The previous run's symbol states: the model it used (backfill rule) and what status showed. */
  struct tml_live_symbol *prev = NULL;
  size_t nprev = 0;
  if ((rc = tml__live_symbols_load(l->store, l->o.strategy, l->o.interval_ms, &prev, &nprev, err)))
    goto fail;
  for (size_t i = 0; i < nprev && !rc; i++) {
    struct sym *s = add_sym(l, prev[i].symbol, err);
    if (!s) {
      rc = TML_ENOMEM;
      break;
    }
    s->st.state = prev[i].state == TML_LIVE_DROPPED ? TML_LIVE_DROPPED : TML_LIVE_BLOCKED;
    /* As if still in the universe: the first refresh drops the ones that are no longer wanted. */
    s->in_universe = prev[i].state != TML_LIVE_DROPPED;
    snprintf(s->st.reason, sizeof(s->st.reason), "%s", prev[i].state == TML_LIVE_DROPPED ? prev[i].reason : "restarted");
    s->st.since_ms = prev[i].since_ms;
    s->persisted_model_id = prev[i].model_id;
    s->st.job_id = prev[i].job_id;
    s->st.last_candle_ms = prev[i].last_candle_ms;
    rc = tml__live_last_predicted(l->store, l->o.strategy, s->st.symbol, l->o.interval_ms, &s->st.last_predicted_ms,
                                  err);
  }
  free(prev);
  if (rc)
    goto fail;
  char cov[32], uni[32], hb[32];
  snprintf(cov, sizeof(cov), "%" PRId64 "s", l->o.coverage_check_ms / 1000);
  fmt_period(l->o.universe_refresh_ms, uni, sizeof(uni));
  snprintf(hb, sizeof(hb), "%" PRId64 "s", l->o.heartbeat_ms / 1000);
  emit(l, "info", "live loop started: coverage checks every %s, universe refresh every %s, heartbeat every %s", cov, uni,
       hb);
  *out = l;
  return 0;
fail:
  tml_live_destroy(l);
  return rc;
}

void tml_live_destroy(struct tml_live *l) {
  if (!l)
    return;
  if (l->store && l->started) {
    struct tml_error e;
    tml_error_init(&e);
    persist(l, false, &e);
  }
  for (size_t i = 0; i < l->nsyms; i++)
    unload(&l->syms[i]);
  free(l->syms);
  tml_exchange_close(l->ex);
  tml_registry_close(l->reg);
  tml_jobs_close(l->jobs);
  tml_store_close(l->store);
  tml_live_status_release(&l->snap);
  pthread_mutex_destroy(&l->lock);
  tml_live_opts_release(&l->o);
  free(l);
}
