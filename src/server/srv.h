/* Internals shared by the server's files: the server struct, the request and response handed to
 * handlers, the route table and the helpers handlers use to answer. Not a public API. */
#ifndef TML_SRV_H
#define TML_SRV_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/jobs.h"

struct MHD_Connection;
struct MHD_Daemon;
struct sqlite3;
struct tml_cov_row;
struct tml_jobs;
struct tml_registry;
struct tml_runner;
struct tml_scheduler;
struct tml_store;

/* Route flags. */
#define SRV_MUTATES 0x1u   /* changes state: needs the token when one is set; refused while stopping */
#define SRV_JSON_BODY 0x2u /* a JSON object body is required (an empty body counts as {}) */
#define SRV_NO_LOG 0x4u    /* not counted per route in latency logs (assets) */
#define SRV_PUBLIC 0x8u    /* answered without the token even with server.auth_reads (health, dashboard files) */

#define SRV_MAX_PARAMS 2
#define SRV_MAX_DEPTH 32   /* JSON nesting limit, checked before jansson parses */
#define SRV_MAX_ALLOWED_HOSTS 64

struct srv_request {
  const char *method;
  const char *path;                         /* decoded path, borrowed from libmicrohttpd */
  char params[SRV_MAX_PARAMS][128];         /* "{...}" path segments, in order */
  json_t *body;                             /* parsed JSON object or NULL (owned by the request) */
  struct MHD_Connection *conn;              /* for query arguments */
};

struct srv_response {
  struct tml_buf body;
  const char *content_type;                 /* static; default application/json */
  char allow[128];                          /* Allow header for 405 */
  bool cache;                               /* static asset: allow caching */
  bool sse;                                 /* answer with the prediction stream (live_api.c) */
};

struct tml_server;
/* Every handler: reads req, writes res->body, returns the HTTP status. */
typedef int (*srv_handler)(struct tml_server *s, const struct srv_request *req, struct srv_response *res);

struct srv_route {
  const char *method;
  const char *pattern;                      /* "/api/training/jobs/{id}"; "{x}" matches one segment */
  srv_handler fn;
  unsigned flags;
  const char *name;                         /* metrics label, e.g. "GET /api/training/jobs/{id}" */
};

extern const struct srv_route srv_routes[];
extern const size_t srv_nroutes;

/* HTTP request counters by route and status, guarded by a mutex (tiny critical sections). */
#define SRV_MAX_CODES 12
struct srv_route_stats {
  int code[SRV_MAX_CODES];
  uint64_t count[SRV_MAX_CODES];
  double seconds_sum;
  uint64_t seconds_count;
};

/* One periodic housekeeping task (Redis serverCron style): run when its period has elapsed. */
struct srv_task {
  const char *name;
  int64_t period_ms;
  void (*fn)(struct tml_server *s, int64_t now_ms);
  int64_t last_ms;
};

/* Job queue, registry, scheduler, runner and coverage snapshot of the daemon (workers.c opens and
 * closes it). HTTP handlers use q and reg under s->db_lock; the tick owns tick_q, sched, tick_store. */
struct srv_jobs_state {
  struct tml_jobs *q;           /* HTTP handlers, under db_lock */
  struct tml_registry *reg;     /* HTTP handlers, under db_lock */
  struct tml_jobs *tick_q;      /* housekeeping thread only */
  struct tml_scheduler *sched;  /* housekeeping thread only */
  struct tml_runner *runner;    /* its own threads */
  int concurrency;
  int64_t last_sched_run_ms;    /* last time a scheduled run fired (0 = not in this process) */
  struct tml_store *tick_store; /* housekeeping thread only (coverage) */
  pthread_mutex_t cov_lock;     /* guards the coverage snapshot */
  struct tml_cov_row *cov;      /* latest coverage of the default interval, owned */
  size_t ncov;
  int64_t cov_ms;               /* when it was computed; 0 = never */
};

struct tml_server {
  struct tml_server_opts opts;
  char host[256];
  unsigned port;
  bool ipv6;
  char token[256];                          /* "" = no auth */
  size_t max_body;
  struct MHD_Daemon *daemon;
  pthread_mutex_t db_lock;                  /* serialises use of the shared connections below */
  struct tml_store *store;                  /* candles; its sqlite handle also holds jobs/models */
  atomic_bool stopping;
  atomic_llong tick_ms;                     /* last housekeeping pass (health: heartbeat age) */
  int64_t started_ms;
  pthread_mutex_t stats_lock;
  struct srv_route_stats *stats;            /* srv_nroutes + 1 (the last: unmatched) */
  struct srv_task *tasks;
  size_t ntasks;
  struct srv_jobs_state *jobs;              /* job queue/runner state (workers.c), owned */
  struct srv_model_cache *models;           /* loaded model sets + read connections (model_cache.c), owned */
  struct srv_live *live;                    /* live loop thread + SSE hub (live_api.c), owned */
  /* Browser and slow-client defences (http.c), from the server.* keys. */
  const char *allowed_hosts[SRV_MAX_ALLOWED_HOSTS]; /* borrowed from opts.cfg; lower case is not assumed */
  size_t nallowed_hosts;
  bool auth_reads;                          /* reads need the token too (all but SRV_PUBLIC routes) */
  unsigned idle_timeout_s;                  /* MHD_OPTION_CONNECTION_TIMEOUT */
  unsigned max_client_connections;          /* MHD_OPTION_PER_IP_CONNECTION_LIMIT */
  unsigned max_connections;                 /* MHD_OPTION_CONNECTION_LIMIT */
};

/* Writes {"error":{"code":"EINVAL","message":"..."}} and returns the HTTP status of `code`. */
int srv_error(struct srv_response *res, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same with an explicit HTTP status and code name (for 401/404/405/413 that are not library errors). */
int srv_error_http(struct srv_response *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Serialises j (stolen) into res->body; returns status. */
int srv_json(struct srv_response *res, int status, json_t *j);
/* Query argument or NULL. */
const char *srv_query(const struct srv_request *req, const char *name);
/* Turns a user-given symbol into its canonical form; rejects anything that is not [A-Za-z0-9/:_-]
 * before normalising, so '.', '%' and path separators never reach a path or SQL. */
int srv_symbol(const char *raw, char *out, size_t outsz, struct tml_error *err);
/* Checks nesting depth (<= SRV_MAX_DEPTH) without parsing. */
bool srv_json_depth_ok(const char *s, size_t len);
/* The dispatcher's body check for SRV_JSON_BODY routes: an empty body is {}, anything else must be a
 * JSON object no deeper than SRV_MAX_DEPTH without duplicate keys. 0 with *out owned by the caller, or
 * the HTTP status with res holding the error. Also run by tests/fuzz/fuzz_http.c. */
int srv_body_parse(const char *ptr, size_t len, json_t **out, struct srv_response *res);

/* Dashboard assets (generated from src/server/assets at build time). */
struct srv_asset {
  const char *path;                         /* "/index.html" */
  const char *content_type;
  const unsigned char *data;
  size_t len;
};
extern const struct srv_asset srv_assets[];
extern const size_t srv_nassets;

/* Handlers (one file per area). */
int srv_h_health(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_metrics(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_asset(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_predict(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_predict_pair(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_training_start(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_jobs_list(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_job_get(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_job_cancel(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_models_list(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_model_get(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_model_activate(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_coverage(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_queue_get(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_queue_post(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_queue_delete(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_schedule(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_symbols(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_live(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_predictions_latest(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_predictions(struct tml_server *s, const struct srv_request *req, struct srv_response *res);
int srv_h_predictions_stream(struct tml_server *s, const struct srv_request *req, struct srv_response *res);

/* Shared by the API handlers (api_util.c). */
/* Parses a positive integer path id; on failure writes the 400 answer into res, sets *status, returns -1. */
int srv_parse_id(const char *s, int64_t *id, struct srv_response *res, int *status);
/* A buffer holding JSON text as a jansson value (NULL on parse failure). */
json_t *srv_json_from(const struct tml_buf *b);
/* Request-body field table: name, type and the allowed range (numbers: value; lists: item count). */
enum srv_ftype { SRV_FT_STRING, SRV_FT_INT, SRV_FT_NUMBER, SRV_FT_BOOL, SRV_FT_STRINGS };
struct srv_field {
  const char *name;
  enum srv_ftype type;
  double min, max;
};
/* Checks every field of body against the table: unknown names, types and ranges, each named. */
int srv_check_fields(json_t *body, const struct srv_field *fields, size_t nfields, struct tml_error *err);

/* Housekeeping tasks and job plumbing (workers.c). */
#define SRV_SCHEDULE_NAME "retrain" /* the slot name tml_scheduler_tick claims */
int srv_jobs_open(struct tml_server *s, struct tml_error *err);
void srv_jobs_close(struct tml_server *s);
void srv_task_runner(struct tml_server *s, int64_t now_ms);
void srv_task_scheduler(struct tml_server *s, int64_t now_ms);
void srv_task_retention(struct tml_server *s, int64_t now_ms);
void srv_task_coverage(struct tml_server *s, int64_t now_ms);
int srv_jobs_drain(struct tml_server *s, int64_t grace_ms);
/* A copy of the coverage snapshot (caller frees *rows); false when none was computed yet. */
bool srv_cov_snapshot(struct srv_jobs_state *js, struct tml_cov_row **rows, size_t *n, int64_t *at_ms);
/* Health/metrics facts about jobs, read under db_lock. */
struct srv_job_facts {
  int64_t by_status[TML_JOB_STATUS_COUNT];
  int64_t queue_depth;
  int workers_busy, workers_total;
  int64_t last_success_ms;                  /* 0 = never */
  int64_t runs_total, runs_failed;          /* finished train/validate/retrain jobs in the table */
  int64_t duration_buckets[10];             /* cumulative counts for srv_duration_bounds */
  double duration_sum;
  int64_t duration_count;
  bool db_ok;
};
extern const double srv_duration_bounds[10];
void srv_job_facts(struct tml_server *s, struct srv_job_facts *f);
/* Folder of the model set that serves symbol/interval: the registry's active version when one is
 * set, else the newest set on disk. TML_ENOENT (with a hint to train) when there is none. */
/* (models_api.c) */
int srv_active_model_dir(struct tml_server *s, const char *strategy, const char *symbol, int64_t interval_ms, char *dir,
                         size_t dirsz,
                         struct tml_error *err);
/* Appends active-model, model-age and blocked-symbol metrics (registry/coverage; metrics.c). */
void srv_metrics_models(struct tml_server *s, struct tml_buf *b, int64_t now_ms);
/* Appends the live loop and prediction stream metrics (metrics.c). */
void srv_metrics_live(struct tml_server *s, struct tml_buf *b, int64_t now_ms);

/* Model sets and read connections shared by predictions (model_cache.c; the design is described there).
 * Every function is thread safe. */
struct srv_model_cache;
struct srv_model_entry;
struct tml_modelset;
int srv_model_cache_create(const char *db_path, const struct tml_config *cfg, struct srv_model_cache **out,
                           struct tml_error *err);
void srv_model_cache_destroy(struct srv_model_cache *c);
/* The set in folder dir, loaded on a miss, with a reference taken: *set stays valid (and unchanged)
 * until srv_model_cache_put(c, *out), whatever happens to the cache meanwhile. */
int srv_model_cache_get(struct srv_model_cache *c, const char *dir, struct srv_model_entry **out,
                        const struct tml_modelset **set, struct tml_error *err);
void srv_model_cache_put(struct srv_model_cache *c, struct srv_model_entry *e);
/* dir became the active version of its series: drops the other cached versions of that series. */
void srv_model_cache_activated(struct srv_model_cache *c, const char *dir);
/* Drops every cached set (sets in use are freed by their last user). */
void srv_predict_cache_clear(struct tml_server *s);
/* A read connection to the candle store from the pool (opened when none is idle); give it back with
 * srv_model_cache_store_put. */
int srv_model_cache_store(struct srv_model_cache *c, struct tml_store **out, struct tml_error *err);
void srv_model_cache_store_put(struct srv_model_cache *c, struct tml_store *store);

/* The live loop in the daemon and the prediction stream (live_api.c). */
struct srv_live;
struct tml_live_status;
struct MHD_Response;
/* Creates the SSE hub and, when opts.live, the loop (not started). */
int srv_live_open(struct tml_server *s, struct tml_error *err);
/* Starts the loop thread (no-op without a loop). */
int srv_live_start(struct tml_server *s, struct tml_error *err);
/* Asks the loop to stop and joins its thread. */
void srv_live_stop(struct tml_server *s);
/* Ends every prediction stream (before libmicrohttpd stops). */
void srv_live_close_streams(struct tml_server *s);
/* Stops the loop and frees the live state. Accepts a server without one. */
void srv_live_close(struct tml_server *s);
/* Housekeeping task: keep-alives; following another process's stored predictions. */
void srv_task_live(struct tml_server *s, int64_t now_ms);
/* A streaming response for conn (the subscriber is freed with the response); NULL when out of memory. */
struct MHD_Response *srv_sse_response(struct tml_server *s, struct MHD_Connection *conn);
struct srv_sse_stats {
  size_t subscribers;
  uint64_t subscribers_total, events, dropped;
};
void srv_live_sse_stats(struct tml_server *s, struct srv_sse_stats *st);
/* The status of the loop at interval_ms (0 = the live interval): from the loop of this process
 * (*here true) or from the store. Release st with tml_live_status_release. */
int srv_live_status(struct tml_server *s, int64_t interval_ms, struct tml_live_status *st, bool *here,
                    struct tml_error *err);
/* True when the loop runs in this process; *loop_ended when its thread has returned. */
bool srv_live_in_process(struct tml_server *s, bool *loop_ended);

#endif
