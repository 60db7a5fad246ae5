/* HTTP request bodies of every route that takes one (POST /api/training/start, .../jobs/{id}/cancel,
 * /api/models/{id}/activate, POST and DELETE /api/queue), without a network: the dispatcher's body
 * check (srv_body_parse: depth, JSON, object) and then the route's own handler, against a real
 * server state (SQLite job table, queue and registry in a scratch home holding candles of BTCUSDT).
 *   byte 0: the route
 *   then:   the path parameter ({id}) up to the first newline, for the routes that have one
 *   rest:   the body
 * Checked: the answer is a JSON body; a body the client got wrong never gets a 5xx. After each
 * input the job table and the queue are reset to one queued job (id 1), so inputs do not interact. */
#include "fuzz.h"

#include <jansson.h>
#include <sqlite3.h>

#include "server.h"
#include "srv.h"
#include "trademl/config.h"
#include "trademl/jobs.h"
#include "trademl/series.h"
#include "trademl/store.h"

static struct tml_server *srv;
static struct tml_config *cfg;
static struct tml_paths paths;
static struct tml_store *store;
static struct tml_jobs *jobs;

static const char *const body_routes[] = {"/api/training/start", "/api/training/jobs/{id}/cancel",
                                          "/api/models/{id}/activate", "/api/queue"};

static void must(int rc, const struct tml_error *err, const char *what) {
  if (rc) {
    fprintf(stderr, "fuzz_http: %s: %s\n", what, err->msg);
    abort();
  }
}

/* Empties the job table and the queue, then queues one train job for BTCUSDT (id 1). */
static void reset_state(void) {
  char *msg = NULL;
  if (sqlite3_exec(tml_store_db(store),
                   "DELETE FROM job_attempts; DELETE FROM jobs; DELETE FROM symbol_queue;"
                   "DELETE FROM sqlite_sequence WHERE name = 'jobs';",
                   NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "fuzz_http: reset: %s\n", msg ? msg : "?");
    abort();
  }
  struct tml_job_spec spec;
  tml_job_spec_init(&spec);
  spec.symbols[0] = "BTCUSDT";
  spec.nsymbols = 1;
  int64_t id = 0;
  struct tml_error err;
  tml_error_init(&err);
  must(tml_jobs_submit(jobs, &spec, &id, NULL, &err), &err, "submitting the baseline job");
  if (id != 1)
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_quiet();
  struct tml_error err;
  tml_error_init(&err);
  char home[600], conf[600];
  snprintf(home, sizeof(home), "%s/home", fuzz_dir());
  fuzz_write("trademl.yaml", (const uint8_t *)"", 0, conf, sizeof(conf));
  must(tml_paths_resolve(home, &paths, &err), &err, "paths");
  must(tml_config_load(conf, paths.home, &cfg, &err), &err, "config");
  must(tml_paths_ensure(&paths, &err), &err, "home");
  must(tml_store_open(paths.db, &store, &err), &err, "store");
  struct tml_candles c;
  tml_candles_init(&c, "BTCUSDT", 15 * 60000);
  for (int64_t i = 0; i < 96; i++)
    if (tml_candles_push(&c, 1704067200000 + i * 15 * 60000, 100, 101, 99, 100.5, 1))
      abort();
  must(tml_store_put(store, &c, false, NULL, &err), &err, "candles");
  tml_candles_release(&c);
  must(tml_jobs_open(paths.db, NULL, &jobs, &err), &err, "jobs");
  struct tml_server_opts o;
  memset(&o, 0, sizeof(o));
  o.listen = "127.0.0.1:0";
  o.cfg = cfg;
  o.paths = &paths;
  must(tml_server_create(&o, &srv, &err), &err, "server");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  reset_state();
  /* byte 0: route (DELETE /api/queue is the fifth) */
  size_t which = data[0] % 5;
  const char *pattern = body_routes[which < 4 ? which : 3];
  const char *method = which == 4 ? "DELETE" : "POST";
  const struct srv_route *route = NULL;
  for (size_t i = 0; i < srv_nroutes; i++)
    if (strcmp(srv_routes[i].pattern, pattern) == 0 && strcmp(srv_routes[i].method, method) == 0)
      route = &srv_routes[i];
  if (!route || !(route->flags & SRV_JSON_BODY))
    abort(); /* the route table changed: update body_routes */
  const uint8_t *p = data + 1, *end = data + size;
  struct srv_request req;
  memset(&req, 0, sizeof(req));
  req.method = method;
  req.path = pattern;
  if (strchr(pattern, '{')) {
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (n == 0 || n >= sizeof(req.params[0]) || memchr(p, '/', n) || memchr(p, 0, n))
      return 0; /* route_match gives handlers a non-empty segment without '/' */
    memcpy(req.params[0], p, n);
    req.params[0][n] = '\0';
    p = nl ? nl + 1 : end;
  }
  struct srv_response res;
  memset(&res, 0, sizeof(res));
  tml_buf_init(&res.body, 0);
  json_t *body = NULL;
  int status = srv_body_parse((const char *)p, (size_t)(end - p), &body, &res);
  if (status == 0) {
    req.body = body;
    status = route->fn(srv, &req, &res);
    json_decref(body);
  }
  if (status < 200 || status >= 500) {
    fprintf(stderr, "fuzz_http: %s %s answered %d: %s\n", method, pattern, status, tml_buf_str(&res.body));
    abort(); /* the request's own fault is never a server error */
  }
  json_error_t je;
  json_t *answer = json_loadb(res.body.ptr, res.body.len, 0, &je);
  if (!answer)
    abort();
  json_decref(answer);
  tml_buf_release(&res.body);
  return 0;
}
