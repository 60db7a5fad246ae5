/* trademl report list | show <report-id|path>: stored validation reports (<home>/reports/<id>/).
 * `show` prints the table of one report (report.html next to it opens in a browser); --json prints
 * report.json itself (show) or the listing (list). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_config.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/fsutil.h"
#include "trademl/report.h"

static const char usage[] =
    "usage: trademl report list [--json]\n"
    "       trademl report show <report-id|path> [--json]\n"
    "\n"
    "Lists the stored validation reports (newest first) or prints one as a table; the report.html next\n"
    "to its report.json is a self-contained page to open in a browser.";

static const struct cli_opt opts[] = {
    {"json", CLI_FLAG, NULL, "print JSON (the listing, or report.json itself)", NULL},
};

static int do_list(const char *dir, bool json) {
  struct tml_error err;
  tml_error_init(&err);
  struct tml_report_info *info = NULL;
  size_t n = 0;
  if (tml_report_list(dir, &info, &n, &err))
    return cli_fail(&err);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  if (json) {
    tml_buf_putc(&b, '[');
    for (size_t i = 0; i < n; i++) {
      tml_buf_printf(&b, "%s{\"id\":", i ? "," : "");
      tml_buf_json_str(&b, info[i].id);
      tml_buf_puts(&b, ",\"dir\":");
      tml_buf_json_str(&b, info[i].dir);
      tml_buf_puts(&b, ",\"symbols\":");
      tml_buf_json_str(&b, info[i].symbols);
      tml_buf_printf(&b, ",\"interval\":\"%s\",\"stage\":\"%s\",\"created_at\":\"%s\",\"folds\":%zu,\"passed\":%s}",
                     info[i].interval, info[i].stage, info[i].created_at, info[i].nfolds,
                     info[i].passed ? "true" : "false");
    }
    tml_buf_puts(&b, "]\n");
  } else if (n == 0) {
    tml_buf_printf(&b, "no reports in %s: run `trademl validate --symbol SYMBOL`\n", dir);
  } else {
    tml_buf_printf(&b, "%-44s %-12s %-8s %-6s %6s  %s\n", "id", "symbols", "interval", "stage", "folds", "verdict");
    for (size_t i = 0; i < n; i++)
      tml_buf_printf(&b, "%-44s %-12s %-8s %-6s %6zu  %s\n", info[i].id, info[i].symbols, info[i].interval,
                     info[i].stage, info[i].nfolds, info[i].passed ? "passed" : "gate not passed");
  }
  fputs(tml_buf_str(&b), stdout);
  tml_buf_release(&b);
  free(info);
  return 0;
}

static int do_show(const char *dir, const char *which, bool json) {
  struct tml_error err;
  tml_error_init(&err);
  char rdir[TML_PATH_MAX + 256], path[TML_PATH_MAX + 300];
  char *text = NULL;
  size_t len = 0;
  int rc = tml_report_resolve(dir, which, rdir, sizeof(rdir), &err);
  if (!rc) {
    snprintf(path, sizeof(path), "%s/report.json", rdir);
    rc = tml_read_file(path, &text, &len, &err);
  }
  if (rc)
    return cli_fail(&err);
  if (json) {
    fwrite(text, 1, len, stdout);
  } else {
    struct tml_buf b;
    tml_buf_init(&b, 0);
    rc = tml_report_table(text, len, &b, &err);
    if (!rc)
      printf("%shtml      %s/report.html\n", tml_buf_str(&b), rdir);
    tml_buf_release(&b);
  }
  free(text);
  return rc ? cli_fail(&err) : 0;
}

int cmd_report(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  const char *pos[3];
  size_t np = cli_positionals(&a, pos, 3);
  if (np == 0)
    return cli_usage_error("report needs a verb: list or show <report-id|path>");
  struct tml_error err;
  tml_error_init(&err);
  struct tml_paths paths;
  struct tml_config *cfg = NULL;
  if (cli_load_config(NULL, &paths, &cfg, &err))
    return cli_fail(&err);
  tml_config_free(cfg);
  char dir[TML_PATH_MAX + 16];
  snprintf(dir, sizeof(dir), "%s/reports", paths.home);
  bool json = cli_has(&a, "json");
  if (strcmp(pos[0], "list") == 0) {
    if (np != 1)
      return cli_usage_error("report list takes no arguments, got '%s'", pos[1]);
    return do_list(dir, json);
  }
  if (strcmp(pos[0], "show") == 0) {
    if (np != 2)
      return cli_usage_error("report show takes one report id or path (see `trademl report list`)");
    return do_show(dir, pos[1], json);
  }
  return cli_usage_error("unknown report verb '%s': use list or show", pos[0]);
}
