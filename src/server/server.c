/* Server lifecycle (create, tick, drain, destroy) and the housekeeping tasks table. The HTTP plumbing
 * is in http.c, the route table in routes.c, /health and /metrics in metrics.c. */
#include "server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"
#include "trademl/config.h"
#include "trademl/log.h"
#include "trademl/parse.h"
#include "trademl/registry.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

void tml__server_http_stop(struct tml_server *s);

/* Periods of the housekeeping tasks; the tick runs every ~100 ms and each task only when its period
 * has elapsed (Redis serverCron). */
static const struct srv_task task_table[] = {
    {"runner", 250, srv_task_runner, 0},
    {"scheduler", 1000, srv_task_scheduler, 0},
    {"coverage", 15 * 1000, srv_task_coverage, 0},
    {"retention", 3600 * 1000, srv_task_retention, 0},
    {"live", 250, srv_task_live, 0},
};

/* Splits "HOST:PORT" / "[v6]:PORT". */
static int parse_listen(const char *listen, char *host, size_t hostsz, unsigned *port, struct tml_error *err) {
  const char *colon = NULL;
  const char *h = listen;
  size_t hlen;
  if (listen[0] == '[') {
    const char *close = strchr(listen, ']');
    if (!close || close[1] != ':')
      goto bad;
    h = listen + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(listen, ':');
    if (!colon)
      goto bad;
    hlen = (size_t)(colon - listen);
  }
  int64_t p = 0;
  if (hlen == 0 || hlen >= hostsz || tml_parse_int64_str(colon + 1, &p) != 0 || p < 0 || p > 65535)
    goto bad;
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  *port = (unsigned)p;
  return 0;
bad:
  return tml_error_set(err, TML_EINVAL, "invalid listen address '%s': use HOST:PORT like 127.0.0.1:8000", listen);
}

/* Temporary model folders of trainings killed earlier are removed at start; those of trainings that
 * still run (workers of another process) are kept (tml_tmpdir_stale). A failure only warns. */
static void sweep_tmp(const char *models_dir) {
  struct tml_error e;
  tml_error_init(&e);
  struct tml_registry_problem *gone = NULL;
  size_t n = 0;
  int rc = tml_registry_sweep_tmp(models_dir, tml_now_ms(), false, &gone, &n, &e);
  for (size_t i = 0; i < n; i++)
    tml_info("serve: removed stale temporary folder %s (%s)", gone[i].path, gone[i].detail);
  if (rc)
    tml_warn("serve: %s", e.msg);
  free(gone);
}

/* The server.* keys that defend against web pages and slow clients (see http.c). */
static int browser_settings(struct tml_server *s, const struct tml_config *cfg, struct tml_error *err) {
  size_t n = tml_config_list(cfg, "server.allowed_hosts", NULL, 0);
  if (n > SRV_MAX_ALLOWED_HOSTS)
    return tml_error_set(err, TML_EINVAL, "server.allowed_hosts (from %s) lists %zu names; at most %d are allowed",
                         tml_config_origin(cfg, "server.allowed_hosts"), n, SRV_MAX_ALLOWED_HOSTS);
  s->nallowed_hosts = tml_config_list(cfg, "server.allowed_hosts", s->allowed_hosts, SRV_MAX_ALLOWED_HOSTS);
  for (size_t i = 0; i < s->nallowed_hosts; i++) {
    const char *h = s->allowed_hosts[i];
    bool ok = h[0] != '\0' && strlen(h) < 250;
    for (const char *c = h; ok && *c; c++)
      ok = isalnum((unsigned char)*c) || strchr("-._:[]", *c) != NULL;
    if (!ok)
      return tml_error_set(err, TML_EINVAL,
                           "server.allowed_hosts (from %s) item '%.100s' is not a host name: use NAME or NAME:PORT "
                           "like trademl.example.com or trademl.lan:8000",
                           tml_config_origin(cfg, "server.allowed_hosts"), h);
  }
  s->auth_reads = tml_config_bool(cfg, "server.auth_reads");
  if (s->auth_reads && !s->token[0])
    return tml_error_set(err, TML_EINVAL,
                         "server.auth_reads (from %s) is on but no token is set: set server.api_token (or "
                         "TRADEML_API_TOKEN), or turn server.auth_reads off",
                         tml_config_origin(cfg, "server.auth_reads"));
  s->idle_timeout_s = (unsigned)tml_config_int(cfg, "server.idle_timeout");
  s->max_client_connections = (unsigned)tml_config_int(cfg, "server.max_client_connections");
  s->max_connections = (unsigned)tml_config_int(cfg, "server.max_connections");
  return 0;
}

int tml_server_create(const struct tml_server_opts *o, struct tml_server **out, struct tml_error *err) {
  *out = NULL;
  struct tml_server *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "out of memory creating the server");
  s->opts = *o;
  pthread_mutex_init(&s->db_lock, NULL);
  pthread_mutex_init(&s->stats_lock, NULL);
  atomic_init(&s->stopping, false);
  s->started_ms = tml_now_ms();
  atomic_init(&s->tick_ms, s->started_ms);
  s->max_body = o->max_body ? o->max_body : TML_SERVER_MAX_BODY_DEFAULT;
  int rc = parse_listen(o->listen ? o->listen : "127.0.0.1:8000", s->host, sizeof(s->host), &s->port, err);
  if (rc)
    goto fail;
  if (o->api_token && o->api_token[0]) {
    if (strlen(o->api_token) >= sizeof(s->token)) {
      rc = tml_error_set(err, TML_EINVAL, "server.api_token is longer than %zu bytes", sizeof(s->token) - 1);
      goto fail;
    }
    snprintf(s->token, sizeof(s->token), "%s", o->api_token);
  }
  if (!tml_server_host_is_loopback(s->host) && !s->token[0]) {
    rc = tml_error_set(err, TML_EPERM,
                       "refusing to listen on non-loopback address '%s' without a token: set server.api_token "
                       "(or TRADEML_API_TOKEN), or listen on 127.0.0.1",
                       s->host);
    goto fail;
  }
  if ((rc = browser_settings(s, o->cfg, err)))
    goto fail;
  s->stats = calloc(srv_nroutes + 1, sizeof(*s->stats));
  s->ntasks = TML_ARRAY_LEN(task_table);
  s->tasks = malloc(sizeof(task_table));
  if (!s->stats || !s->tasks) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory creating the server");
    goto fail;
  }
  memcpy(s->tasks, task_table, sizeof(task_table));
  if ((rc = tml_paths_ensure(o->paths, err)))
    goto fail;
  sweep_tmp(o->paths->models);
  if ((rc = tml_store_open_resident(o->paths->db, o->cfg, &s->store, err)))
    goto fail;
  if ((rc = srv_model_cache_create(o->paths->db, o->cfg, &s->models, err)))
    goto fail;
  if ((rc = srv_jobs_open(s, err)))
    goto fail;
  if ((rc = srv_live_open(s, err)))
    goto fail;
  *out = s;
  return 0;
fail:
  tml_server_destroy(s);
  return rc;
}

const char *tml_server_host(const struct tml_server *s) { return s->host; }

unsigned tml_server_port(const struct tml_server *s) { return s && s->daemon ? s->port : 0; }

void tml_server_tick(struct tml_server *s, int64_t now_ms) {
  for (size_t i = 0; i < s->ntasks; i++) {
    struct srv_task *t = &s->tasks[i];
    if (t->last_ms && now_ms - t->last_ms < t->period_ms)
      continue;
    t->last_ms = now_ms;
    t->fn(s, now_ms);
  }
  atomic_store(&s->tick_ms, now_ms);
}

int tml_server_drain(struct tml_server *s, int64_t grace_ms) { return srv_jobs_drain(s, grace_ms); }

void tml_server_destroy(struct tml_server *s) {
  if (!s)
    return;
  srv_live_stop(s);
  srv_live_close_streams(s);
  tml__server_http_stop(s);
  srv_live_close(s);
  srv_jobs_close(s);
  srv_model_cache_destroy(s->models);
  tml_store_close(s->store);
  free(s->stats);
  free(s->tasks);
  pthread_mutex_destroy(&s->db_lock);
  pthread_mutex_destroy(&s->stats_lock);
  free(s);
}
