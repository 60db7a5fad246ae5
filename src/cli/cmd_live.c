/* trademl live: the live loop in the foreground (src/lib/live, the same code `trademl serve --live`
 * runs), and `trademl live status`, which reads the state a loop (in any process) stored. Flags set the
 * live.* configuration keys, so flags, trademl.yaml and the environment are one vocabulary. */
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_config.h"
#include "cmd_data.h"
#include "commands.h"
#include "trademl/db.h"
#include "trademl/exchange.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/fsutil.h"
#include "trademl/live.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

static const char usage[] =
    "usage: trademl live [--exchange E] [--category C] [--interval I] [--universe top:N|all|A,B]\n"
    "                    [--symbols A B C] [--strategy NAME] [--jsonl] [--once]\n"
    "       trademl live status [--json] [--interval I] [--strategy NAME]\n"
    "\n"
    "Runs the live loop in the foreground until SIGINT/SIGTERM: after each candle closes it syncs the new\n"
    "candles of every symbol, predicts them with the symbol's active model, stores and prints the\n"
    "predictions; blocked symbols are re-checked on the coverage timer and trained once (by workers:\n"
    "`trademl worker`), new models are loaded when activated. Log lines go to stderr. `live status`\n"
    "shows every symbol's state (active, blocked and why, training, stale, stale_data, drift, dropped).\n"
    "See docs/live.md.";

static const struct cli_opt opts[] = {
    {"exchange", CLI_VALUE, "NAME", "bybit, bitget, binance, binance_futures or none", "live.exchange"},
    {"category", CLI_VALUE, "MARKET", "market of the exchange (bybit: spot|linear|inverse)", "live.category"},
    {"interval", CLI_VALUE, "INTERVAL", "candle interval", "live.interval"},
    {"universe", CLI_VALUE, "SPEC", "top:N, all, or a comma list of symbols", "live.universe"},
    {"symbols", CLI_LIST, "SYMBOL", "the symbols to predict (instead of --universe)", "live.symbols"},
    {"poll-ms", CLI_VALUE, "MS", "tick period", "live.poll_ms"},
    {"jsonl", CLI_FLAG, NULL, "print every prediction as one JSON line on stdout", NULL},
    {"once", CLI_FLAG, NULL, "one tick (sync, predict what is due), then exit", NULL},
    {"json", CLI_FLAG, NULL, "status: print JSON", NULL},
    {"strategy", CLI_VALUE, "NAME", "the strategy whose models predict (xgb5, rl, ...; docs/strategies.md)",
     "model.strategy"},
};

static atomic_bool live_stop;

static void on_live_signal(int sig) {
  cli_stop_signal = sig;
  atomic_store(&live_stop, true);
}

struct out_ctx {
  bool jsonl;
  struct tml_buf line;
};

static void print_event(void *vctx, const char *level, const char *line) {
  (void)vctx;
  char now[32];
  tml_time_format(tml_now_ms() / 1000 * 1000, now, sizeof(now));
  fprintf(stderr, "%s %s %s\n", now, level, line);
  fflush(stderr);
}

static void print_prediction(void *vctx, const struct tml_live_prediction *p) {
  struct out_ctx *c = vctx;
  tml_buf_reset(&c->line);
  if (c->jsonl) {
    tml_live_prediction_to_json(p, &c->line);
  } else {
    char t[32];
    tml_time_format(p->candle_ms, t, sizeof(t));
    const struct tml_prediction *q = &p->p;
    tml_buf_printf(&c->line, "%s %-12s %s direction %s (%.3f) volatility %s timing %s stop %.2f%% size %.2f model %" PRId64 "%s",
                   t, p->symbol, tml_interval_name(p->interval_ms),
                   tml_head_class_name(TML_HEAD_DIRECTION, q->cls[TML_HEAD_DIRECTION]),
                   (double)q->proba[TML_HEAD_DIRECTION][q->cls[TML_HEAD_DIRECTION]],
                   tml_head_class_name(TML_HEAD_VOLATILITY, q->cls[TML_HEAD_VOLATILITY]),
                   tml_head_class_name(TML_HEAD_TIMING, q->cls[TML_HEAD_TIMING]), (double)q->value[TML_HEAD_STOP_LOSS],
                   (double)q->value[TML_HEAD_POSITION_SIZE], p->model_id, p->stale ? " (stale)" : "");
  }
  printf("%s\n", tml_buf_str(&c->line));
  fflush(stdout);
}

static int live_status(const struct cli_args *a, struct tml_config *cfg, const struct tml_paths *paths,
                       struct tml_error *err) {
  int64_t iv = 0;
  const char *ivs = tml_config_get(cfg, "live.interval");
  if (!ivs || !*ivs)
    ivs = tml_config_get(cfg, "data.interval");
  int rc = tml_interval_parse(ivs, &iv, err);
  if (rc) {
    tml_error_prefix(err, "--interval");
    return rc;
  }
  if (!tml_db_exists(paths->db))
    return tml_error_set(err, TML_ENOENT, "no database at '%s': no live loop has run here (start one with `trademl live`)",
                         paths->db);
  struct tml_store *store = NULL;
  struct tml_live_status st;
  memset(&st, 0, sizeof(st));
  struct tml_buf out;
  tml_buf_init(&out, 0);
  if ((rc = tml_store_open(paths->db, &store, err)) ||
      (rc = tml_live_status_load(store, tml_config_get(cfg, "model.strategy"), iv, &st, err)))
    goto out;
  if (cli_has(a, "json"))
    tml_live_status_to_json(&st, &out);
  else
    tml_live_status_format(&st, tml_now_ms(), &out);
  printf("%s%s", tml_buf_str(&out), cli_has(a, "json") ? "\n" : "");
out:
  tml_buf_release(&out);
  tml_live_status_release(&st);
  tml_store_close(store);
  return rc;
}

int cmd_live(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  const char *pos[CLI_MAX_VALUES];
  size_t npos = cli_positionals(&a, pos, CLI_MAX_VALUES);
  bool status = npos >= 1 && strcmp(pos[0], "status") == 0;
  if (npos > (status ? 1u : 0u))
    return cli_usage_error("unexpected argument '%s': use `trademl live [options]` or `trademl live status`",
                           pos[status ? 1 : 0]);
  if (status) {
    static const char *const loop_only[] = {"exchange", "category", "universe", "symbols", "poll-ms", "jsonl", "once"};
    for (size_t i = 0; i < sizeof(loop_only) / sizeof(loop_only[0]); i++)
      if (cli_has(&a, loop_only[i]))
        return cli_usage_error("--%s is an option of the loop, not of `live status` (which takes --json, --interval "
                               "and --strategy)",
                               loop_only[i]);
  } else if (cli_has(&a, "json")) {
    return cli_usage_error("--json belongs to `live status`; the loop prints JSON lines with --jsonl");
  }
  if (cli_has(&a, "symbols") && cli_has(&a, "universe"))
    return cli_usage_error("--symbols and --universe '%s' contradict each other: give one of them (--universe also "
                           "takes a comma list: --universe BTCUSDT,ETHUSDT)",
                           cli_get(&a, "universe"));
  struct tml_error err;
  tml_error_init(&err);
  struct tml_paths paths;
  struct tml_config *cfg = NULL;
  struct tml_live *live = NULL;
  struct tml_live_opts o;
  tml_live_opts_init(&o);
  struct out_ctx oc = {cli_has(&a, "jsonl"), {NULL, 0, 0, 0}};
  tml_buf_init(&oc.line, 0);
  int rc = cli_load_config(&a, &paths, &cfg, &err);
  if (rc)
    goto out;
  /* A flag overrides the other way of naming the universe given in a file or the environment. */
  if (cli_has(&a, "symbols") && (rc = tml_config_set(cfg, "live.universe", "", TML_CFG_FLAG, "--symbols", &err)))
    goto out;
  if (cli_has(&a, "universe") && (rc = tml_config_set(cfg, "live.symbols", "", TML_CFG_FLAG, "--universe", &err)))
    goto out;
  if (status) {
    rc = live_status(&a, cfg, &paths, &err);
    goto out;
  }
  if ((rc = tml_live_opts_from_config(cfg, &o, &err)))
    goto out;
  /* Exchange HTTP settings (exchanges.http.*) come from the configuration inside tml_live_create. */
  o.on_event = print_event;
  o.on_prediction = print_prediction;
  o.cb_ctx = &oc;
  if ((rc = tml_live_create(cfg, &paths, &o, &live, &err)))
    goto out;
  if (cli_has(&a, "once")) {
    rc = tml_live_tick(live, &err);
  } else {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_live_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = tml_live_run(live, &live_stop, &err);
    print_event(NULL, "info", "live loop stopped");
  }
out:
  tml_live_destroy(live);
  tml_live_opts_release(&o);
  tml_buf_release(&oc.line);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}
