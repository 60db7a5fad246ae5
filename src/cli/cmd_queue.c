/* trademl queue add|list|clear|remove|import|export: the new-symbol training queue (docs/jobs.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_jobs.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/jobs.h"
#include "trademl/scheduler.h"
#include "trademl/timeutil.h"

static const char usage[] =
    "usage: trademl queue add SYMBOL... | list [--json] | remove SYMBOL | clear | import FILE | export FILE\n"
    "\n"
    "The new-symbol queue: each scheduled run (or 'trademl retrain') trains queued symbols that pass the\n"
    "coverage gate; a symbol leaves the queue when its training succeeds. import reads the Bybit bot's\n"
    "{\"queued_symbols\":[\"LTCUSDT\"],\"queued_at\":{\"LTCUSDT\":\"2025-12-04T03:19:03.423000\"}} (naive = UTC),\n"
    "{\"queue\":[{\"symbol\":\"LTCUSDT\",\"added_at\":\"...\",\"attempts\":0}]} or [\"LTCUSDT\", ...]; export writes\n"
    "the Bybit bot's format back (atomically), so its tools keep reading it.";

static const struct cli_opt opts[] = {{"json", CLI_FLAG, NULL, "print JSON (list)", NULL}};

int cmd_queue(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, 1, argc, argv, usage, &code))
    return code;
  const char *pos[CLI_MAX_VALUES];
  size_t npos = cli_positionals(&a, pos, CLI_MAX_VALUES);
  if (npos == 0)
    return cli_usage_error("queue needs a verb: add, list, remove, clear, import or export");
  const char *verb = pos[0];
  bool is_add = strcmp(verb, "add") == 0, is_list = strcmp(verb, "list") == 0, is_clear = strcmp(verb, "clear") == 0,
       is_remove = strcmp(verb, "remove") == 0, is_import = strcmp(verb, "import") == 0, is_export = strcmp(verb, "export") == 0;
  if (!is_add && !is_list && !is_clear && !is_remove && !is_import && !is_export)
    return cli_usage_error("unknown queue verb '%s' (add, list, remove, clear, import, export)", verb);
  if (is_add && npos < 2)
    return cli_usage_error("queue add needs at least one symbol");
  if ((is_remove || is_import || is_export) && npos != 2)
    return cli_usage_error("queue %s needs exactly one %s", verb, is_remove ? "symbol" : "file");
  if ((is_list || is_clear) && npos != 1)
    return cli_usage_error("queue %s takes no arguments", verb);
  struct tml_error err;
  tml_error_init(&err);
  struct cli_jobs_ctx c;
  int rc = cli_jobs_open(&a, false, &c, &err);
  size_t n = 0;
  if (!rc && is_add) {
    rc = tml_symqueue_add(c.jobs, pos + 1, npos - 1, &n, &err);
    if (!rc)
      printf("%zu symbol%s added (%zu already queued)\n", n, n == 1 ? "" : "s", npos - 1 - n);
  } else if (!rc && is_import) {
    rc = tml_symqueue_import(c.jobs, pos[1], &n, &err);
    if (!rc)
      printf("%zu symbol%s imported from %s\n", n, n == 1 ? "" : "s", pos[1]);
  } else if (!rc && is_export) {
    rc = tml_symqueue_export(c.jobs, pos[1], &n, &err);
    if (!rc)
      printf("%zu symbol%s exported to %s\n", n, n == 1 ? "" : "s", pos[1]);
  } else if (!rc && (is_clear || is_remove)) {
    rc = tml_symqueue_remove(c.jobs, is_remove ? pos[1] : NULL, &n, &err);
    if (!rc)
      printf("%zu symbol%s removed\n", n, n == 1 ? "" : "s");
  } else if (!rc) {
    struct tml_symqueue_entry *e = NULL;
    rc = tml_symqueue_list(c.jobs, &e, &n, &err);
    if (!rc) {
      struct tml_buf out;
      tml_buf_init(&out, 0);
      if (cli_has(&a, "json"))
        tml_buf_puts(&out, "{\"queue\":[");
      else
        tml_buf_printf(&out, "%-16s %-20s %8s %-8s %-20s %s\n", "SYMBOL", "ADDED", "ATTEMPTS", "JOB", "NEXT CHECK",
                       "LAST ERROR");
      for (size_t i = 0; i < n; i++) {
        char added[32], next[32] = "-", job[24] = "-";
        tml_time_format(e[i].added_ms, added, sizeof(added));
        if (e[i].next_check_ms)
          tml_time_format(e[i].next_check_ms, next, sizeof(next));
        if (e[i].job_id)
          snprintf(job, sizeof(job), "%" PRId64, e[i].job_id);
        if (cli_has(&a, "json")) {
          tml_buf_printf(&out, "%s{\"symbol\":\"%s\",\"added_at\":\"%s\",\"attempts\":%d,\"job_id\":%" PRId64
                               ",\"next_check_ms\":%" PRId64 ",\"last_error\":",
                         i ? "," : "", e[i].symbol, added, e[i].attempts, e[i].job_id, e[i].next_check_ms);
          tml_buf_json_str(&out, e[i].last_error);
          tml_buf_putc(&out, '}');
        } else {
          tml_buf_printf(&out, "%-16s %-20s %8d %-8s %-20s %s\n", e[i].symbol, added, e[i].attempts, job, next,
                         e[i].last_error);
        }
      }
      tml_buf_puts(&out, cli_has(&a, "json") ? "]}\n" : "");
      if (!cli_has(&a, "json"))
        tml_buf_printf(&out, "%zu queued\n", n);
      fputs(tml_buf_str(&out), stdout);
      tml_buf_release(&out);
      free(e);
    }
  }
  cli_jobs_close(&c);
  return rc ? cli_fail(&err) : 0;
}
