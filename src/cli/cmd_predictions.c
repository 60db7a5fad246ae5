/* trademl predictions: the stored live predictions of a symbol with their realised outcomes (once the
 * label horizon passed), as a table, JSON or CSV. Read-only. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_config.h"
#include "commands.h"
#include "trademl/db.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/fsutil.h"
#include "trademl/live.h"
#include "trademl/parse.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

static const char usage[] =
    "usage: trademl predictions --symbol SYMBOL [--interval 15m] [--since TIME] [--until TIME] [--limit N]\n"
    "                           [--json | --csv]\n"
    "\n"
    "Lists the predictions the live loop stored for SYMBOL (candle open times from --since to --until, UTC)\n"
    "with their outcomes once resolved. --limit keeps the newest N.";

static const struct cli_opt opts[] = {
    {"symbol", CLI_VALUE, "SYMBOL", "symbol", NULL},
    {"interval", CLI_VALUE, "INTERVAL", "candle interval", "live.interval"},
    {"since", CLI_VALUE, "TIME", "first candle open time (2026-12-01 or ISO-8601)", NULL},
    {"until", CLI_VALUE, "TIME", "last candle open time", NULL},
    {"limit", CLI_VALUE, "N", "newest N predictions only", NULL},
    {"strategy", CLI_VALUE, "NAME", "strategy", "model.strategy"},
    {"json", CLI_FLAG, NULL, "print a JSON array", NULL},
    {"csv", CLI_FLAG, NULL, "print CSV with a header line", NULL},
};

static int parse_time_opt(const char *name, const char *s, int64_t *out) {
  if (tml_time_parse(s, strlen(s), out) != 0)
    return cli_usage_error("invalid --%s '%s': use a UTC date or time like 2026-12-01 or 2026-12-01T10:15:00Z", name, s);
  return 0;
}

int cmd_predictions(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  const char *raw = cli_get(&a, "symbol");
  if (!raw)
    return cli_usage_error("missing --symbol SYMBOL (e.g. --symbol BTCUSDT)");
  char symbol[TML_SYMBOL_MAX];
  if (tml_symbol_normalize(raw, symbol, sizeof(symbol)) != 0)
    return cli_usage_error("invalid --symbol '%s': use letters and digits like BTCUSDT", raw);
  if (cli_has(&a, "json") && cli_has(&a, "csv"))
    return cli_usage_error("give --json or --csv, not both");
  struct tml_live_query q;
  tml_live_query_init(&q);
  if (cli_get(&a, "since") && (code = parse_time_opt("since", cli_get(&a, "since"), &q.since_ms)))
    return code;
  if (cli_get(&a, "until") && (code = parse_time_opt("until", cli_get(&a, "until"), &q.until_ms)))
    return code;
  if (q.since_ms != INT64_MIN && q.until_ms != INT64_MAX && q.since_ms > q.until_ms)
    return cli_usage_error("--since %s is after --until %s: swap them", cli_get(&a, "since"), cli_get(&a, "until"));
  if (cli_get(&a, "limit")) {
    int64_t n = 0;
    if (tml_parse_int64_str(cli_get(&a, "limit"), &n) != 0 || n < 1)
      return cli_usage_error("invalid --limit '%s': a whole number of predictions, at least 1", cli_get(&a, "limit"));
    q.limit = (size_t)n;
  }
  struct tml_error err;
  tml_error_init(&err);
  struct tml_paths paths;
  struct tml_config *cfg = NULL;
  struct tml_store *store = NULL;
  struct tml_live_prediction *rows = NULL;
  size_t n = 0;
  struct tml_buf out;
  tml_buf_init(&out, 0);
  int rc = cli_load_config(&a, &paths, &cfg, &err);
  if (rc)
    goto out;
  const char *ivs = tml_config_get(cfg, "live.interval");
  if (!ivs || !*ivs)
    ivs = tml_config_get(cfg, "data.interval");
  if ((rc = tml_interval_parse(ivs, &q.interval_ms, &err))) {
    tml_error_prefix(&err, "--interval");
    goto out;
  }
  if (!tml_db_exists(paths.db)) {
    rc = tml_error_set(&err, TML_EINVAL, "unknown symbol %s: there is no database at '%s' (nothing fetched or predicted "
                       "here; check --home)", symbol, paths.db);
    goto out;
  }
  if ((rc = tml_store_open(paths.db, &store, &err)))
    goto out;
  q.strategy = tml_config_get(cfg, "model.strategy");
  q.symbol = symbol;
  if ((rc = tml_live_predictions_list(store, &q, &rows, &n, &err)))
    goto out;
  if (n == 0) {
    /* Nothing in the range: fine for a known symbol, a usage error for one the store never heard of. */
    struct tml_candles c;
    rc = tml_store_load(store, symbol, q.interval_ms, INT64_MIN, INT64_MAX, &c, &err);
    size_t stored = c.len;
    tml_candles_release(&c);
    if (rc)
      goto out;
    struct tml_live_query any;
    tml_live_query_init(&any);
    any.symbol = symbol;
    any.limit = 1;
    struct tml_live_prediction *one = NULL;
    size_t none = 0;
    if ((rc = tml_live_predictions_list(store, &any, &one, &none, &err)))
      goto out;
    free(one);
    if (stored == 0 && none == 0) {
      rc = tml_error_set(&err, TML_EINVAL,
                         "unknown symbol %s: no %s candles and no live predictions stored (check --symbol and "
                         "--interval; `trademl data list` shows what is stored)",
                         symbol, tml_interval_name(q.interval_ms));
      goto out;
    }
  }
  if (cli_has(&a, "json")) {
    tml_buf_putc(&out, '[');
    for (size_t i = 0; i < n; i++) {
      if (i)
        tml_buf_putc(&out, ',');
      tml_live_prediction_to_json(&rows[i], &out);
    }
    tml_buf_puts(&out, "]\n");
  } else if (cli_has(&a, "csv")) {
    tml_live_predictions_csv_header(&out);
    for (size_t i = 0; i < n; i++)
      tml_live_prediction_to_csv(&rows[i], &out);
  } else {
    tml_buf_printf(&out, "%-20s %-6s %-9s %-8s %-9s %-8s %8s %8s  %s\n", "CANDLE", "MODEL", "DIRECTION", "P", "VOLATIL.",
                   "TIMING", "STOP%", "SIZE", "OUTCOME (direction volatility timing)");
    for (size_t i = 0; i < n; i++) {
      const struct tml_live_prediction *p = &rows[i];
      char t[32], oc[64] = "pending";
      tml_time_format(p->candle_ms, t, sizeof(t));
      if (p->resolved) {
        const char *d = isnan(p->outcome[0]) ? "?" : tml_head_class_name(TML_HEAD_DIRECTION, (int)p->outcome[0]);
        const char *v = isnan(p->outcome[1]) ? "?" : tml_head_class_name(TML_HEAD_VOLATILITY, (int)p->outcome[1]);
        const char *g = isnan(p->outcome[2]) ? "?" : tml_head_class_name(TML_HEAD_TIMING, (int)p->outcome[2]);
        snprintf(oc, sizeof(oc), "%s %s %s", d ? d : "?", v ? v : "?", g ? g : "?");
      }
      int dc = p->p.cls[TML_HEAD_DIRECTION];
      tml_buf_printf(&out, "%-20s %-6" PRId64 " %-9s %-8.3f %-9s %-8s %8.2f %8.2f  %s%s\n", t, p->model_id,
                     tml_head_class_name(TML_HEAD_DIRECTION, dc), (double)p->p.proba[TML_HEAD_DIRECTION][dc],
                     tml_head_class_name(TML_HEAD_VOLATILITY, p->p.cls[TML_HEAD_VOLATILITY]),
                     tml_head_class_name(TML_HEAD_TIMING, p->p.cls[TML_HEAD_TIMING]),
                     (double)p->p.value[TML_HEAD_STOP_LOSS], (double)p->p.value[TML_HEAD_POSITION_SIZE], oc,
                     p->stale ? " (stale model)" : "");
    }
    tml_buf_printf(&out, "%zu prediction%s\n", n, n == 1 ? "" : "s");
  }
  fputs(tml_buf_str(&out), stdout);
out:
  tml_buf_release(&out);
  free(rows);
  tml_store_close(store);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}
