/* trademl serve: the HTTP daemon (API, metrics, dashboard), the scheduler and the worker pool in one
 * process. The main thread runs the housekeeping tick; libmicrohttpd's threads answer requests; the
 * job runner's threads supervise training child processes. SIGTERM/SIGINT stop it gracefully. */
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_config.h"
#include "commands.h"
#include "server.h"
#include "trademl/config.h"
#include "trademl/fsutil.h"
#include "trademl/log.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"

static const char usage[] =
    "usage: trademl serve [--listen HOST:PORT] [--workers N] [--no-workers] [--drain-grace SECONDS] [--live]\n"
    "\n"
    "Serves the JSON API, /health, /metrics and the dashboard, runs the training schedule and a pool of\n"
    "worker processes. Binds to 127.0.0.1 unless told otherwise; a non-loopback address needs\n"
    "server.api_token (or TRADEML_API_TOKEN), which every mutating route then requires as\n"
    "'Authorization: Bearer <token>'. With --live (live.enabled) the live loop of `trademl live` runs in\n"
    "the daemon too, on a thread of its own: /api/live, /api/predictions and the Server-Sent Events\n"
    "stream /api/predictions/stream. See docs/api.md and docs/live.md.";

static const struct cli_opt opts[] = {
    {"listen", CLI_VALUE, "HOST:PORT", "address to listen on", "server.listen"},
    {"workers", CLI_VALUE, "N", "jobs run at once by this daemon's worker pool", "server.workers"},
    {"no-workers", CLI_FLAG, NULL, "API and scheduler only; workers elsewhere (trademl jobs work) run the jobs", NULL},
    {"http-threads", CLI_VALUE, "N", "threads answering HTTP requests (default 4)", NULL},
    {"max-body", CLI_VALUE, "BYTES", "request body limit (default 65536)", NULL},
    {"drain-grace", CLI_VALUE, "SECONDS",
     "on SIGTERM, wait this long for running jobs to finish before requeueing them (default 10)", NULL},
    {"live", CLI_FLAG, NULL, "run the live loop in the daemon (live.* keys; docs/live.md)", "live.enabled"},
};


static int int_flag(const struct cli_args *a, const char *name, int64_t lo, int64_t hi, int64_t def, int64_t *out) {
  const char *v = cli_get(a, name);
  *out = def;
  if (!v)
    return 0;
  if (tml_parse_int64_str(v, out) || *out < lo || *out > hi)
    return cli_usage_error("invalid --%s '%s': expected an integer between %" PRId64 " and %" PRId64, name, v, lo,
                           hi);
  return 0;
}

int cmd_serve(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  int64_t http_threads, max_body, grace_s;
  if ((code = int_flag(&a, "http-threads", 1, 64, 4, &http_threads)) ||
      (code = int_flag(&a, "max-body", 1024, 64 * 1024 * 1024, 65536, &max_body)) ||
      (code = int_flag(&a, "drain-grace", 0, 86400, 10, &grace_s)))
    return code;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_paths paths;
  struct tml_config *cfg = NULL;
  if (cli_load_config(&a, &paths, &cfg, &err))
    return cli_fail(&err);
  struct tml_server_opts so = {0};
  so.listen = tml_config_get(cfg, "server.listen");
  so.api_token = tml_config_get(cfg, "server.api_token");
  so.http_threads = (unsigned)http_threads;
  so.max_body = (size_t)max_body;
  so.workers = cli_has(&a, "no-workers") ? 0 : (int)tml_config_int(cfg, "server.workers");
  so.cfg = cfg;
  so.paths = &paths;
  so.config_path = cli_globals.config_path;
  so.live = tml_config_bool(cfg, "live.enabled");
  struct tml_server *srv = NULL;
  int rc = tml_server_create(&so, &srv, &err);
  if (!rc)
    rc = tml_server_start(srv, &err);
  if (rc) {
    tml_server_destroy(srv);
    tml_config_free(cfg);
    return cli_fail(&err);
  }
  cli_catch_stop_signals();
  signal(SIGPIPE, SIG_IGN);
  const char *host = tml_server_host(srv);
  bool v6 = strchr(host, ':') != NULL;
  printf("trademl: serving on http://%s%s%s:%u/ (%d worker%s, home %s%s)\n", v6 ? "[" : "", host, v6 ? "]" : "",
         tml_server_port(srv), so.workers, so.workers == 1 ? "" : "s", paths.home, so.live ? ", live loop" : "");
  fflush(stdout);
  while (!cli_stop_signal) {
    tml_server_tick(srv, tml_now_ms());
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  tml_info("serve: %s received: accepting no new work; waiting up to %" PRId64 " s for running jobs",
           cli_stop_signal == SIGINT ? "SIGINT" : "SIGTERM", grace_s);
  tml_server_quiesce(srv);
  int requeued = tml_server_drain(srv, grace_s * 1000);
  tml_server_destroy(srv);
  tml_config_free(cfg);
  printf("trademl: stopped (%d running job%s requeued)\n", requeued, requeued == 1 ? "" : "s");
  return 0;
}
