/* trademl cluster status [--json]: every process that works on this installation's database (daemons
 * and workers, on any host): host, role, pid, start, last heartbeat, running jobs, and whether it is
 * alive (heartbeat within three beat periods) or lost. With PostgreSQL these are all the hosts; with
 * SQLite the processes of this machine. See docs/cluster.md. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_jobs.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/db.h"
#include "trademl/error.h"
#include "trademl/jobs.h"
#include "trademl/timeutil.h"

static const char usage[] =
    "usage: trademl cluster status [--json]\n"
    "\n"
    "Every process of the installation (daemons and workers on every host sharing the database): host,\n"
    "role, pid, when it started, its last heartbeat (every 2 s; 'lost' after 6 s without one) and the\n"
    "jobs it runs. See docs/cluster.md.";

static const struct cli_opt opts[] = {
    {"json", CLI_FLAG, NULL, "print JSON", NULL},
};

#define LOST_AFTER_MS 6000

int cmd_cluster(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  const char *pos[2];
  size_t npos = cli_positionals(&a, pos, 2);
  if (npos != 1 || strcmp(pos[0], "status") != 0)
    return cli_usage_error("cluster needs the verb 'status'");
  struct tml_error err;
  tml_error_init(&err);
  struct cli_jobs_ctx c;
  int rc = cli_jobs_open(&a, false, &c, &err);
  struct tml_cluster_process *rows = NULL;
  size_t n = 0;
  size_t counts[TML_JOB_STATUS_COUNT] = {0};
  if (!rc)
    rc = tml_jobs_processes(c.jobs, &rows, &n, &err);
  if (!rc)
    rc = tml_jobs_counts(c.jobs, counts, &err);
  if (!rc) {
    int64_t now = tml_now_ms();
    char where[1024];
    tml_db_redact(c.paths.db, where, sizeof(where));
    struct tml_buf out;
    tml_buf_init(&out, 0);
    if (cli_has(&a, "json")) {
      tml_buf_puts(&out, "{\"database\":");
      tml_buf_json_str(&out, where);
      tml_buf_printf(&out, ",\"backend\":\"%s\",\"queued\":%zu,\"running\":%zu,\"processes\":[",
                     tml_jobs_backend_name(c.jobs), counts[TML_JOB_QUEUED], counts[TML_JOB_RUNNING]);
      for (size_t i = 0; i < n; i++) {
        const struct tml_cluster_process *p = &rows[i];
        char started[32], beat[32];
        tml_time_format(p->started_ms, started, sizeof(started));
        tml_time_format(p->heartbeat_ms, beat, sizeof(beat));
        tml_buf_puts(&out, i ? ",{\"id\":" : "{\"id\":");
        tml_buf_json_str(&out, p->id);
        tml_buf_puts(&out, ",\"host\":");
        tml_buf_json_str(&out, p->host);
        tml_buf_puts(&out, ",\"role\":");
        tml_buf_json_str(&out, p->role);
        tml_buf_printf(&out,
                       ",\"pid\":%" PRId64 ",\"started_at\":\"%s\",\"last_heartbeat\":\"%s\",\"heartbeat_age_s\":%.1f,"
                       "\"alive\":%s,\"running\":%d,\"jobs\":[%s]}",
                       p->pid, started, beat, (double)(now - p->heartbeat_ms) / 1000.0,
                       now - p->heartbeat_ms <= LOST_AFTER_MS ? "true" : "false", p->running, p->jobs);
      }
      tml_buf_puts(&out, "]}\n");
    } else {
      tml_buf_printf(&out, "database %s (%s): %zu queued, %zu running\n", where, tml_jobs_backend_name(c.jobs),
                     counts[TML_JOB_QUEUED], counts[TML_JOB_RUNNING]);
      tml_buf_printf(&out, "%-24s %-7s %8s  %-20s  %-14s %-7s %s\n", "HOST", "ROLE", "PID", "STARTED",
                     "LAST HEARTBEAT", "STATE", "RUNNING JOBS");
      for (size_t i = 0; i < n; i++) {
        const struct tml_cluster_process *p = &rows[i];
        char started[32], age[32];
        tml_time_format(p->started_ms, started, sizeof(started));
        snprintf(age, sizeof(age), "%.1f s ago", (double)(now - p->heartbeat_ms) / 1000.0);
        tml_buf_printf(&out, "%-24s %-7s %8" PRId64 "  %-20.20s  %-14s %-7s %d%s%s\n", p->host, p->role, p->pid,
                       started, age, now - p->heartbeat_ms <= LOST_AFTER_MS ? "alive" : "lost", p->running,
                       p->jobs[0] ? ": " : "", p->jobs);
      }
      if (n == 0)
        tml_buf_puts(&out, "(no daemon or worker has heartbeated)\n");
    }
    fputs(tml_buf_str(&out), stdout);
    tml_buf_release(&out);
  }
  free(rows);
  cli_jobs_close(&c);
  return rc ? cli_fail(&err) : 0;
}
