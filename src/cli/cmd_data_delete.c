/* `trademl data delete`: removes candles of one series, a range of open times or (with --all) the
 * whole series, in one transaction; --dry-run shows what would go. Deleting everything needs the
 * explicit --all so that a forgotten --from/--to never empties a series by accident. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_data.h"
#include "trademl/error.h"
#include "trademl/parse.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

static const struct cli_opt delete_opts[] = {
    {"symbol", CLI_VALUE, "SYMBOL", "the series' symbol (required)", NULL},
    {"interval", CLI_VALUE, "INTERVAL", "the series' interval (required)", NULL},
    {"from", CLI_VALUE, "TIME", "first open time to delete, inclusive (date or epoch ms)", NULL},
    {"to", CLI_VALUE, "TIME", "last open time to delete, inclusive (date or epoch ms)", NULL},
    {"all", CLI_FLAG, NULL, "delete the whole series (required when neither --from nor --to is given)", NULL},
    {"dry-run", CLI_FLAG, NULL, "show what would be deleted (count, first, last) and delete nothing", NULL},
    {"json", CLI_FLAG, NULL, "print the result as JSON", NULL},
};

/* A date ("2024-01-31", "2024-01-31 13:45", "...T13:45:00Z") or epoch milliseconds. */
static int parse_time_opt(const char *flag, const char *v, int64_t *ms) {
  if (tml_time_parse(v, strlen(v), ms) == 0)
    return 0;
  if (tml_parse_int64_str(v, ms) == 0) {
    if (*ms >= INT64_C(100000000000))
      return 0;
    return cli_usage_error("--%s %s looks like epoch seconds; give epoch milliseconds or a date like 2024-01-31 13:45",
                           flag, v);
  }
  return cli_usage_error("--%s '%s' is neither a date like 2024-01-31 13:45 nor epoch milliseconds", flag, v);
}

int cmd_data_delete(int argc, char **argv) {
  struct cli_args a;
  int ec = 0;
  if (cli_parse(&a, delete_opts, sizeof(delete_opts) / sizeof(delete_opts[0]), argc, argv,
                "usage: trademl data delete --symbol SYMBOL --interval INTERVAL (--from TIME | --to TIME | --all)\n"
                "                           [--dry-run] [--json]\n\n"
                "Deletes the candles of one series whose open time is in [--from, --to] (both inclusive; either may\n"
                "be left open) in one transaction. The whole series needs --all. --dry-run only shows what would go.",
                &ec))
    return ec;
  const char *pos[1];
  if (cli_positionals(&a, pos, 1))
    return cli_usage_error("data delete takes no arguments (did you mean --symbol %s?)", pos[0]);
  if (!cli_get(&a, "symbol") || !cli_get(&a, "interval"))
    return cli_usage_error("data delete needs --symbol and --interval (see --help)");
  bool ranged = cli_get(&a, "from") || cli_get(&a, "to");
  if (!ranged && !cli_has(&a, "all"))
    return cli_usage_error("data delete without --from/--to would delete the whole series: pass --all to mean that, "
                           "or --from/--to for a range (try --dry-run first)");
  if (ranged && cli_has(&a, "all"))
    return cli_usage_error("data delete: --all deletes the whole series and cannot be combined with --from/--to");
  struct tml_error err;
  tml_error_init(&err);
  char sym[TML_SYMBOL_MAX];
  int64_t iv, from = INT64_MIN, to = INT64_MAX;
  if (cmd_data_symbol(cli_get(&a, "symbol"), sym, &err))
    return cli_fail(&err);
  if (tml_interval_parse(cli_get(&a, "interval"), &iv, &err)) {
    tml_error_prefix(&err, "--interval: ");
    return cli_fail(&err);
  }
  if (cli_get(&a, "from") && (ec = parse_time_opt("from", cli_get(&a, "from"), &from)) != 0)
    return ec;
  if (cli_get(&a, "to") && (ec = parse_time_opt("to", cli_get(&a, "to"), &to)) != 0)
    return ec;
  if (from > to)
    return cli_usage_error("--from %s is after --to %s", cli_get(&a, "from"), cli_get(&a, "to"));
  bool dry = cli_has(&a, "dry-run");
  struct tml_store *s = NULL;
  struct tml_delete_stats st = {0, 0, 0};
  int rc = cmd_data_open_store(&s, &err);
  if (!rc)
    rc = tml_store_delete_range(s, sym, iv, from, to, dry, &st, &err);
  tml_store_close(s);
  if (rc)
    return cli_fail(&err);
  char first[32] = "", last[32] = "";
  if (st.rows) {
    tml_time_format(st.first_ms, first, sizeof(first));
    tml_time_format(st.last_ms, last, sizeof(last));
  }
  const char *ivn = tml_interval_name(iv);
  if (cli_has(&a, "json")) {
    printf("{\"symbol\":\"%s\",\"interval\":\"%s\",\"dry_run\":%s,\"%s\":%zu", sym, ivn, dry ? "true" : "false",
           dry ? "would_delete" : "deleted", st.rows);
    if (st.rows)
      printf(",\"first\":\"%s\",\"last\":\"%s\",\"first_ms\":%" PRId64 ",\"last_ms\":%" PRId64, first, last, st.first_ms,
             st.last_ms);
    printf("}\n");
  } else if (st.rows == 0) {
    printf("no %s %s candles %s (nothing %sdeleted; see 'trademl data list')\n", sym, ivn,
           ranged ? "in that range" : "stored", dry ? "would be " : "");
  } else {
    printf("%s %zu %s %s candle%s, %s .. %s%s\n", dry ? "would delete" : "deleted", st.rows, sym, ivn,
           st.rows == 1 ? "" : "s", first, last, dry ? " (dry run: nothing deleted)" : "");
  }
  return 0;
}
