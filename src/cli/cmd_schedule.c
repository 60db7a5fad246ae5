/* trademl schedule show: the cron schedule, the last slot run and the next fire times (UTC). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_jobs.h"
#include "commands.h"
#include "trademl/config.h"
#include "trademl/cron.h"
#include "trademl/error.h"
#include "trademl/parse.h"
#include "trademl/scheduler.h"
#include "trademl/timeutil.h"

static const char usage[] = "usage: trademl schedule show [--count N] [--json]\n\nTimes are UTC.";

static const struct cli_opt opts[] = {
    {"count", CLI_VALUE, "N", "next fire times shown (default 5)", NULL},
    {"cron", CLI_VALUE, "EXPR", "schedule to show instead of the configured one", "training.cron_schedule"},
    {"json", CLI_FLAG, NULL, "print JSON", NULL},
};

int cmd_schedule(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  const char *pos[2];
  size_t npos = cli_positionals(&a, pos, 2);
  if (npos != 1 || strcmp(pos[0], "show") != 0)
    return cli_usage_error("schedule needs the verb 'show'");
  int64_t count = 5;
  if (cli_get(&a, "count") && (tml_parse_int64_str(cli_get(&a, "count"), &count) != 0 || count < 1 || count > 100))
    return cli_usage_error("--count: expected 1 to 100");
  struct tml_error err;
  tml_error_init(&err);
  struct cli_jobs_ctx c;
  struct tml_cron cron;
  int64_t last = 0;
  int rc = cli_jobs_open(&a, false, &c, &err);
  if (!rc)
    rc = tml_cron_parse(tml_config_get(c.cfg, "training.cron_schedule"), &cron, &err);
  if (!rc)
    rc = tml_scheduler_last_slot(c.jobs, "retrain", &last, &err);
  if (!rc) {
    bool json = cli_has(&a, "json");
    char t[32] = "never";
    if (last)
      tml_time_format(last, t, sizeof(t));
    if (json)
      printf("{\"name\":\"retrain\",\"cron\":\"%s\",\"origin\":\"%s\",\"timezone\":\"UTC\",\"last_slot\":%s%s%s,\"next\":[",
             cron.expr, tml_config_origin(c.cfg, "training.cron_schedule"), last ? "\"" : "", last ? t : "null",
             last ? "\"" : "");
    else
      printf("retrain  %s  (UTC; %s)\n  steps: new-symbol queue, model rotation, retention\n  last slot run: %s\n  next:\n",
             cron.expr, tml_config_origin(c.cfg, "training.cron_schedule"), t);
    int64_t at = tml_now_ms();
    for (int64_t i = 0; i < count; i++) {
      int64_t next;
      if (tml_cron_next(&cron, at, &next) != 0)
        break;
      tml_time_format(next, t, sizeof(t));
      printf(json ? "%s\"%s\"" : "%s    %s\n", json && i ? "," : "", t);
      at = next;
    }
    if (json)
      printf("]}\n");
  }
  cli_jobs_close(&c);
  return rc ? cli_fail(&err) : 0;
}
