/* The live loop inside the daemon (`trademl serve --live`, live.enabled) and its routes:
 *   GET /api/live                    the loop's status (tml_live_snapshot here, else from the store)
 *   GET /api/predictions/latest      newest stored prediction per symbol
 *   GET /api/predictions             stored predictions of one symbol, with their outcomes
 *   GET /api/predictions/stream      Server-Sent Events: one `prediction` event per new prediction
 *
 * The loop (src/lib/live, the same code as `trademl live`) runs on a thread of its own, never on the
 * HTTP threads and never training (train jobs go to the worker pool). Its on_prediction callback
 * publishes to the SSE hub. When no loop runs in this process, the hub follows the predictions another
 * process stores (`trademl live` on the same database): the housekeeping task "live" reads rows with a
 * larger id than the last one published every 250 ms (the task's period in server.c).
 *
 * SSE without blocking an HTTP thread: each subscriber has a bounded byte queue (SRV_SSE_QUEUE_BYTES);
 * publishing appends under the hub lock and never waits (an event that does not fit is dropped and
 * counted, and the subscriber is told how many it missed with an `event: dropped`). The content reader
 * copies what is queued; with nothing queued it suspends its connection (MHD_suspend_connection) and
 * returns 0, and the publisher resumes it. So a slow or idle subscriber holds no thread, and the loop
 * never waits for a subscriber. Keep-alive comments every SRV_SSE_KEEPALIVE_MS also reveal
 * subscribers that went away (libmicrohttpd cannot see a disconnect while a connection is suspended). */
#include "srv.h"

#include <inttypes.h>
#include <math.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trademl/config.h"
#include "trademl/exchange.h"
#include "trademl/live.h"
#include "trademl/log.h"
#include "trademl/parse.h"
#include "trademl/store.h"
#include "trademl/strategy.h"
#include "trademl/timeutil.h"
#include "util/common.h"

#define SRV_SSE_QUEUE_BYTES (1024u * 1024u) /* per subscriber: several candles of 300 symbols */
#define SRV_SSE_MAX_SUBSCRIBERS 256
#define SRV_LIVE_TAIL_BATCH 2000

struct srv_sse_sub {
  struct srv_sse_sub *next;
  struct srv_live *hub;
  struct MHD_Connection *conn;
  char *q;                 /* queued bytes q[off..len) */
  size_t off, len;
  uint64_t dropped;        /* events dropped for this subscriber, total */
  uint64_t dropped_unsent; /* dropped since the last `dropped` event */
  bool suspended;          /* its connection is suspended, waiting for data */
};

struct srv_live {
  /* the loop, when it runs in this process */
  struct tml_live *loop;
  struct tml_live_opts lopts;
  bool opts_set;
  pthread_t thread;
  bool thread_started;
  atomic_bool stop;
  atomic_bool loop_done;  /* tml_live_run returned */
  char strategy[64];
  int64_t interval_ms;
  /* the SSE hub */
  pthread_mutex_t lock;
  struct srv_sse_sub *subs;
  size_t nsubs;
  bool closing;
  uint64_t events;        /* predictions published */
  uint64_t dropped;       /* events dropped over all subscribers */
  uint64_t subscribers_total;
  int64_t last_keepalive_ms;
  /* following another process's loop (no loop here) */
  struct tml_store *tail_store; /* housekeeping thread only */
  int64_t tail_last_id;         /* -1 = not started */
  int64_t tail_ms;
};

/* ---- the hub ------------------------------------------------------------------------------------- */

static void resume_locked(struct srv_sse_sub *sub) {
  if (sub->suspended) {
    sub->suspended = false;
    MHD_resume_connection(sub->conn);
  }
}

/* Appends text to sub's queue, or drops it (and counts) when it does not fit. Under the hub lock. */
static bool enqueue_locked(struct srv_sse_sub *sub, const char *text, size_t n) {
  if (sub->off && sub->off == sub->len)
    sub->off = sub->len = 0;
  if (sub->len + n > SRV_SSE_QUEUE_BYTES && sub->off) { /* compact before giving up */
    memmove(sub->q, sub->q + sub->off, sub->len - sub->off);
    sub->len -= sub->off;
    sub->off = 0;
  }
  if (sub->len + n > SRV_SSE_QUEUE_BYTES)
    return false;
  memcpy(sub->q + sub->len, text, n);
  sub->len += n;
  return true;
}

static void publish_text(struct srv_live *L, const char *text, size_t n, bool counted) {
  pthread_mutex_lock(&L->lock);
  if (counted)
    L->events++;
  for (struct srv_sse_sub *sub = L->subs; sub; sub = sub->next) {
    if (sub->dropped_unsent) {
      char note[96];
      int k = snprintf(note, sizeof(note), "event: dropped\ndata: {\"dropped\":%" PRIu64 "}\n\n", sub->dropped_unsent);
      if (k > 0 && enqueue_locked(sub, note, (size_t)k))
        sub->dropped_unsent = 0;
    }
    if (!enqueue_locked(sub, text, n)) {
      if (counted) {
        sub->dropped++;
        sub->dropped_unsent++;
        L->dropped++;
      }
    }
    resume_locked(sub);
  }
  pthread_mutex_unlock(&L->lock);
}

/* One prediction as an SSE event (id = its row id, so a client can tell where it is). */
static void publish_prediction(struct srv_live *L, const struct tml_live_prediction *p) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  tml_buf_printf(&b, "id: %" PRId64 "\nevent: prediction\ndata: ", p->id);
  if (tml_live_prediction_to_json(p, &b) == 0) {
    tml_buf_puts(&b, "\n\n");
    publish_text(L, b.ptr, b.len, true);
  }
  tml_buf_release(&b);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  struct srv_sse_sub *sub = cls;
  struct srv_live *L = sub->hub;
  ssize_t n;
  pthread_mutex_lock(&L->lock);
  if (sub->len > sub->off) {
    size_t k = sub->len - sub->off < max ? sub->len - sub->off : max;
    memcpy(buf, sub->q + sub->off, k);
    sub->off += k;
    if (sub->off == sub->len)
      sub->off = sub->len = 0;
    n = (ssize_t)k;
  } else if (L->closing) {
    n = MHD_CONTENT_READER_END_OF_STREAM;
  } else {
    /* Nothing to send: park the connection until the publisher (or the keep-alive) resumes it. */
    sub->suspended = true;
    MHD_suspend_connection(sub->conn);
    n = 0;
  }
  pthread_mutex_unlock(&L->lock);
  return n;
}

static void sse_free(void *cls) {
  struct srv_sse_sub *sub = cls;
  struct srv_live *L = sub->hub;
  pthread_mutex_lock(&L->lock);
  for (struct srv_sse_sub **pp = &L->subs; *pp; pp = &(*pp)->next) {
    if (*pp == sub) {
      *pp = sub->next;
      L->nsubs--;
      break;
    }
  }
  pthread_mutex_unlock(&L->lock);
  free(sub->q);
  free(sub);
}

struct MHD_Response *srv_sse_response(struct tml_server *s, struct MHD_Connection *conn) {
  struct srv_live *L = s->live;
  struct srv_sse_sub *sub = calloc(1, sizeof(*sub));
  if (!sub || !(sub->q = malloc(SRV_SSE_QUEUE_BYTES))) {
    free(sub);
    return NULL;
  }
  sub->hub = L;
  sub->conn = conn;
  static const char hello[] = "retry: 3000\n: connected to trademl predictions\n\n";
  memcpy(sub->q, hello, sizeof(hello) - 1);
  sub->len = sizeof(hello) - 1;
  struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, sub, sse_free);
  if (!r) {
    free(sub->q);
    free(sub);
    return NULL;
  }
  pthread_mutex_lock(&L->lock);
  sub->next = L->subs;
  L->subs = sub;
  L->nsubs++;
  L->subscribers_total++;
  pthread_mutex_unlock(&L->lock);
  return r;
}

void srv_live_sse_stats(struct tml_server *s, struct srv_sse_stats *st) {
  struct srv_live *L = s->live;
  memset(st, 0, sizeof(*st));
  if (!L)
    return;
  pthread_mutex_lock(&L->lock);
  st->subscribers = L->nsubs;
  st->subscribers_total = L->subscribers_total;
  st->events = L->events;
  st->dropped = L->dropped;
  pthread_mutex_unlock(&L->lock);
}

int srv_h_predictions_stream(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  (void)req;
  struct srv_live *L = s->live;
  pthread_mutex_lock(&L->lock);
  size_t n = L->nsubs;
  bool closing = L->closing;
  pthread_mutex_unlock(&L->lock);
  if (closing || atomic_load(&s->stopping))
    return srv_error_http(res, 503, "EBUSY", "the server is shutting down");
  if (n >= SRV_SSE_MAX_SUBSCRIBERS)
    return srv_error_http(res, 503, "EBUSY", "too many prediction stream subscribers (%d); try again later",
                          SRV_SSE_MAX_SUBSCRIBERS);
  res->sse = true; /* http.c answers with srv_sse_response */
  return 200;
}

/* ---- the loop thread ----------------------------------------------------------------------------- */

static void on_loop_prediction(void *ctx, const struct tml_live_prediction *p) {
  publish_prediction(ctx, p);
}

static void on_loop_event(void *ctx, const char *level, const char *line) {
  (void)ctx;
  enum tml_log_level lv = strcmp(level, "error") == 0     ? TML_LOG_ERROR
                          : strcmp(level, "warning") == 0 ? TML_LOG_WARN
                                                          : TML_LOG_INFO;
  tml_log(lv, "%s", line);
}

static void *loop_main(void *arg) {
  struct srv_live *L = arg;
  struct tml_error err;
  tml_error_init(&err);
  if (tml_live_run(L->loop, &L->stop, &err) != 0)
    tml_err("live loop ended: %s", err.msg);
  atomic_store(&L->loop_done, true);
  return NULL;
}

static int strategy_interval(const struct tml_config *cfg, char *strategy, size_t sz, int64_t *interval_ms,
                             struct tml_error *err) {
  snprintf(strategy, sz, "%s", tml_config_get(cfg, "model.strategy"));
  const char *iv = tml_config_get(cfg, "live.interval");
  if (!iv || !*iv)
    iv = tml_config_get(cfg, "data.interval");
  int rc = tml_interval_parse(iv, interval_ms, err);
  if (rc)
    tml_error_prefix(err, "live.interval");
  return rc;
}

int srv_live_open(struct tml_server *s, struct tml_error *err) {
  struct srv_live *L = calloc(1, sizeof(*L));
  if (!L)
    return tml_error_set(err, TML_ENOMEM, "out of memory creating the live state");
  pthread_mutex_init(&L->lock, NULL);
  atomic_init(&L->stop, false);
  atomic_init(&L->loop_done, false);
  L->tail_last_id = -1;
  s->live = L;
  int rc = strategy_interval(s->opts.cfg, L->strategy, sizeof(L->strategy), &L->interval_ms, err);
  if (rc || !s->opts.live)
    return rc;
  if ((rc = tml_live_opts_from_config(s->opts.cfg, &L->lopts, err)))
    return rc;
  L->opts_set = true;
  L->interval_ms = L->lopts.interval_ms;
  snprintf(L->strategy, sizeof(L->strategy), "%s", L->lopts.strategy);
  if (L->lopts.exchange[0]) { /* exchanges.http.* as `trademl live` and `data fetch` take them */
    struct tml_exchange_config xc;
    if ((rc = tml_exchange_config_from(s->opts.cfg, L->lopts.exchange, L->lopts.category[0] ? L->lopts.category : NULL,
                                       &xc, err)))
      return rc;
    L->lopts.http = xc.http;
    L->lopts.rate_per_s = xc.rate_per_s;
  }
  L->lopts.on_prediction = on_loop_prediction;
  L->lopts.on_event = on_loop_event;
  L->lopts.cb_ctx = L;
  return tml_live_create(s->opts.cfg, s->opts.paths, &L->lopts, &L->loop, err);
}

int srv_live_start(struct tml_server *s, struct tml_error *err) {
  struct srv_live *L = s->live;
  if (!L || !L->loop || L->thread_started)
    return 0;
  if (pthread_create(&L->thread, NULL, loop_main, L) != 0)
    return tml_error_set(err, TML_EIO, "cannot start the live loop thread");
  L->thread_started = true;
  return 0;
}

void srv_live_stop(struct tml_server *s) {
  struct srv_live *L = s ? s->live : NULL;
  if (!L)
    return;
  atomic_store(&L->stop, true);
  if (L->thread_started) {
    pthread_join(L->thread, NULL);
    L->thread_started = false;
  }
}

void srv_live_close_streams(struct tml_server *s) {
  struct srv_live *L = s ? s->live : NULL;
  if (!L)
    return;
  pthread_mutex_lock(&L->lock);
  L->closing = true;
  for (struct srv_sse_sub *sub = L->subs; sub; sub = sub->next)
    resume_locked(sub);
  pthread_mutex_unlock(&L->lock);
  /* Let the resumed connections read their end of stream before libmicrohttpd is stopped (stopping
   * it with suspended connections is not allowed); bounded, a stuck client does not hold us. */
  for (int i = 0; i < 100; i++) {
    pthread_mutex_lock(&L->lock);
    size_t n = L->nsubs;
    bool any_suspended = false;
    for (struct srv_sse_sub *sub = L->subs; sub; sub = sub->next)
      if (sub->suspended) {
        any_suspended = true;
        resume_locked(sub);
      }
    pthread_mutex_unlock(&L->lock);
    if (n == 0 || (!any_suspended && i >= 20))
      break;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

void srv_live_close(struct tml_server *s) {
  struct srv_live *L = s ? s->live : NULL;
  if (!L)
    return;
  srv_live_stop(s);
  tml_live_destroy(L->loop);
  if (L->opts_set)
    tml_live_opts_release(&L->lopts);
  tml_store_close(L->tail_store);
  pthread_mutex_destroy(&L->lock);
  free(L);
  s->live = NULL;
}

/* Housekeeping task: keep-alive comments, and, without a loop here, the predictions another process
 * stored since the last pass. */
void srv_task_live(struct tml_server *s, int64_t now_ms) {
  struct srv_live *L = s->live;
  if (!L)
    return;
  int64_t keepalive_ms = tml_config_int(s->opts.cfg, "live.sse_keepalive_seconds") * 1000;
  if (now_ms - L->last_keepalive_ms >= keepalive_ms) {
    L->last_keepalive_ms = now_ms;
    char line[64];
    char t[32];
    tml_time_format(now_ms / 1000 * 1000, t, sizeof(t));
    int k = snprintf(line, sizeof(line), ": keep-alive %s\n\n", t);
    publish_text(L, line, (size_t)k, false);
  }
  if (L->loop)
    return;
  struct tml_error err;
  tml_error_init(&err);
  if (!L->tail_store) {
    if (tml_store_open_resident(s->opts.paths->db, s->opts.cfg, &L->tail_store, &err) != 0) {
      tml_warn("live: cannot follow stored predictions: %s", err.msg);
      return;
    }
  }
  if (L->tail_last_id < 0) { /* start at the newest row: subscribers get what is new from now on */
    int64_t id = 0;
    if (tml_live_predictions_max_id(L->tail_store, &id, &err) == 0)
      L->tail_last_id = id;
    return;
  }
  struct tml_live_prediction *rows = NULL;
  size_t n = 0;
  if (tml_live_predictions_after(L->tail_store, L->tail_last_id, SRV_LIVE_TAIL_BATCH, &rows, &n, &err) != 0) {
    tml_debug("live: reading new predictions: %s", err.msg);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    publish_prediction(L, &rows[i]);
    L->tail_last_id = rows[i].id;
  }
  free(rows);
}

/* ---- status ------------------------------------------------------------------------------------- */

int srv_live_status(struct tml_server *s, int64_t interval_ms, struct tml_live_status *st, bool *here,
                    struct tml_error *err) {
  struct srv_live *L = s->live;
  memset(st, 0, sizeof(*st));
  *here = false;
  if (L->loop && (interval_ms == 0 || interval_ms == L->interval_ms)) {
    *here = true;
    if (tml_live_snapshot(L->loop, st) != 0)
      return tml_error_set(err, TML_ENOMEM, "out of memory copying the live status");
    return 0;
  }
  struct tml_store *store = NULL;
  int rc = srv_model_cache_store(s->models, &store, err);
  if (!rc)
    rc = tml_live_status_load(store, L->strategy, interval_ms ? interval_ms : L->interval_ms, st, err);
  srv_model_cache_store_put(s->models, store);
  return rc;
}

bool srv_live_in_process(struct tml_server *s, bool *loop_ended) {
  struct srv_live *L = s->live;
  *loop_ended = L && L->loop && atomic_load(&L->loop_done);
  return L && L->loop;
}

/* interval query parameter (default: the live interval); 0 and a 400 in res on error. */
static int query_interval(struct tml_server *s, const struct srv_request *req, struct srv_response *res,
                          int64_t *iv, int *status) {
  const char *v = srv_query(req, "interval");
  *iv = s->live->interval_ms;
  if (!v)
    return 0;
  struct tml_error err;
  tml_error_init(&err);
  if (tml_interval_parse(v, iv, &err) != 0) {
    *status = srv_error(res, TML_EINVAL, "query parameter 'interval': %s", err.msg);
    return -1;
  }
  return 0;
}

int srv_h_live(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  int status = 0;
  int64_t iv = 0;
  if (query_interval(s, req, res, &iv, &status))
    return status;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_live_status st;
  bool here = false;
  int rc = srv_live_status(s, iv, &st, &here, &err);
  if (rc) {
    tml_live_status_release(&st);
    return srv_error(res, rc, "%s", err.msg);
  }
  /* {"in_process":bool, ...the status object...} */
  tml_buf_printf(&res->body, "{\"in_process\":%s,\"status\":", here ? "true" : "false");
  rc = tml_live_status_to_json(&st, &res->body);
  tml_buf_puts(&res->body, "}");
  tml_live_status_release(&st);
  if (rc)
    return srv_error(res, rc, "out of memory writing the live status");
  return 200;
}

static void predictions_json(const struct tml_live_prediction *rows, size_t n, int64_t iv, struct tml_buf *b) {
  tml_buf_printf(b, "{\"interval\":\"%s\",\"count\":%zu,\"predictions\":[", tml_interval_name(iv) ? tml_interval_name(iv) : "",
                 n);
  for (size_t i = 0; i < n; i++) {
    if (i)
      tml_buf_putc(b, ',');
    tml_live_prediction_to_json(&rows[i], b);
  }
  tml_buf_puts(b, "]}");
}

static int strategy_param(const struct srv_request *req, struct srv_response *res, const char **out, int *status) {
  const char *v = srv_query(req, "strategy");
  *out = v;
  if (!v)
    return 0;
  const struct tml_strategy *s = NULL;
  struct tml_error err;
  tml_error_init(&err);
  if (tml_strategy_lookup(v, &s, &err)) {
    *status = srv_error(res, TML_EINVAL, "query parameter 'strategy': %s", err.msg);
    return -1;
  }
  *out = s->name;
  return 0;
}

int srv_h_predictions_latest(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  int status = 0;
  int64_t iv = 0;
  const char *strategy = NULL;
  if (query_interval(s, req, res, &iv, &status) || strategy_param(req, res, &strategy, &status))
    return status;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_store *store = NULL;
  struct tml_live_prediction *rows = NULL;
  size_t n = 0;
  int rc = srv_model_cache_store(s->models, &store, &err);
  if (!rc)
    rc = tml_live_predictions_latest(store, strategy, iv, &rows, &n, &err);
  srv_model_cache_store_put(s->models, store);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  predictions_json(rows, n, iv, &res->body);
  free(rows);
  return 200;
}

static int time_param(const struct srv_request *req, const char *name, int64_t *out, struct srv_response *res,
                      int *status) {
  const char *v = srv_query(req, name);
  if (!v)
    return 0;
  if (tml_time_parse(v, strlen(v), out) != 0) {
    *status = srv_error(res, TML_EINVAL,
                        "query parameter '%s': '%.64s' is not a UTC date or time (use 2026-12-01 or "
                        "2026-12-01T10:15:00Z)",
                        name, v);
    return -1;
  }
  return 0;
}

int srv_h_predictions(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  int status = 0;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_live_query q;
  tml_live_query_init(&q);
  char symbol[TML_SYMBOL_MAX];
  const char *raw = srv_query(req, "symbol");
  if (!raw)
    return srv_error(res, TML_EINVAL, "query parameter 'symbol' is required: /api/predictions?symbol=BTCUSDT"
                                      "&interval=15m[&since=2026-12-01][&until=...][&limit=N]");
  if (srv_symbol(raw, symbol, sizeof(symbol), &err))
    return srv_error(res, err.code, "query parameter 'symbol': %s", err.msg);
  q.symbol = symbol;
  if (query_interval(s, req, res, &q.interval_ms, &status) || strategy_param(req, res, &q.strategy, &status) ||
      time_param(req, "since", &q.since_ms, res, &status) || time_param(req, "until", &q.until_ms, res, &status))
    return status;
  if (q.since_ms != INT64_MIN && q.until_ms != INT64_MAX && q.since_ms > q.until_ms)
    return srv_error(res, TML_EINVAL, "query parameters: since is after until; swap them");
  const char *lim = srv_query(req, "limit");
  q.limit = 10000;
  if (lim) {
    int64_t v = 0;
    if (tml_parse_int64_str(lim, &v) != 0 || v < 1 || v > 100000)
      return srv_error(res, TML_EINVAL, "query parameter 'limit': '%.32s' is not an integer between 1 and 100000", lim);
    q.limit = (size_t)v;
  }
  struct tml_store *store = NULL;
  struct tml_live_prediction *rows = NULL;
  size_t n = 0;
  int rc = srv_model_cache_store(s->models, &store, &err);
  if (!rc)
    rc = tml_live_predictions_list(store, &q, &rows, &n, &err);
  srv_model_cache_store_put(s->models, store);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  predictions_json(rows, n, q.interval_ms, &res->body);
  free(rows);
  return 200;
}
