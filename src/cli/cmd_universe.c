/* `trademl universe refresh`: the tradable symbols of an exchange market, ranked by 24 h turnover
 * or volume, with listing dates, and which of them the store does not hold yet; those go into the
 * new-symbol training queue when model.auto_train_new_symbols is true (unless --no-queue). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_config.h"
#include "cli_jobs.h"
#include "cmd_data.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/exchange.h"
#include "trademl/parse.h"
#include "trademl/scheduler.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "trademl/universe.h"


static const struct cli_opt refresh_opts[] = {
    {"exchange", CLI_VALUE, "NAME", "bybit, bitget or binance (required)", NULL},
    {"category", CLI_VALUE, "CAT", "bybit: spot, linear (default) or inverse", NULL},
    {"product-type", CLI_VALUE, "TYPE", "bitget: USDT-FUTURES (default), COIN-FUTURES, USDC-FUTURES or SPOT", NULL},
    {"market", CLI_VALUE, "MARKET", "binance: spot (default) or futures (USDT-M)", NULL},
    {"quote", CLI_VALUE, "COIN", "keep symbols quoted in COIN, e.g. USDT (default: all)", NULL},
    {"top", CLI_VALUE, "N", "keep the N highest ranked (default: all)", NULL},
    {"by", CLI_VALUE, "RANK", "turnover (24 h quote volume, default) or volume (24 h base volume)", NULL},
    {"base-url", CLI_VALUE, "URL", "exchange base URL (default: exchanges.<name>.base_url)", NULL},
    {"json", CLI_FLAG, NULL, "print the result as JSON", NULL},
    {"no-queue", CLI_FLAG, NULL, "report new symbols only; do not queue them for training", NULL},
};

/* Puts the symbols not in the store into the new-symbol queue (once: symbols already queued stay as they
 * are). queued[i] says whether new[i] was added now. */
static int queue_new(char (*syms)[TML_SYMBOL_MAX], size_t n, bool *queued, struct tml_error *err) {
  struct cli_jobs_ctx c;
  int rc = cli_jobs_open(NULL, false, &c, err);
  struct tml_symqueue_entry *e = NULL;
  size_t ne = 0;
  if (!rc)
    rc = tml_symqueue_list(c.jobs, &e, &ne, err);
  const char **list = calloc(n ? n : 1, sizeof(*list));
  if (!rc && !list)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory queueing %zu symbols", n);
  size_t k = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    queued[i] = true;
    for (size_t j = 0; j < ne && queued[i]; j++)
      queued[i] = strcmp(e[j].symbol, syms[i]) != 0;
    if (queued[i])
      list[k++] = syms[i];
  }
  size_t added = 0;
  if (!rc && k)
    rc = tml_symqueue_add(c.jobs, list, k, &added, err);
  if (rc)
    tml_error_prefix(err, "new symbols were found but not queued for training");
  free(list);
  free(e);
  cli_jobs_close(&c);
  return rc;
}

static bool stored(const struct tml_series_info *info, size_t n, const char *symbol) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(info[i].symbol, symbol) == 0)
      return true;
  return false;
}

static void fmt_num(double v, char *out, size_t outsz) {
  if (isnan(v))
    snprintf(out, outsz, "-");
  else
    snprintf(out, outsz, "%.0f", v);
}

static int universe_refresh(int argc, char **argv) {
  struct cli_args a;
  int ec = 0;
  if (cli_parse(&a, refresh_opts, sizeof(refresh_opts) / sizeof(refresh_opts[0]), argc, argv,
                "usage: trademl universe refresh --exchange bybit|bitget|binance [--category C | --product-type T | --market M]\n"
                "                                [--quote USDT] [--top 50] [--by turnover|volume] [--json]\n\n"
                "Lists the symbols trading now with their listing dates, ranked by 24 h turnover or volume, and\n"
                "reports the ones the candle store does not hold yet. When model.auto_train_new_symbols is true\n"
                "(the default) those are put into the new-symbol training queue once (see 'trademl queue list';\n"
                "the scheduler trains them when they pass the coverage gate); --no-queue only reports them.",
                &ec))
    return ec;
  const char *exname = cli_get(&a, "exchange");
  if (!exname)
    return cli_usage_error("universe refresh needs --exchange (%s)", tml_exchange_names());
  struct tml_error err;
  tml_error_init(&err);
  struct tml_universe_opts o = {0};
  o.quote = cli_get(&a, "quote");
  if (cli_get(&a, "by") && tml_universe_parse_rank(cli_get(&a, "by"), &o.by, &err))
    return cli_usage_error("--by: %s", err.msg);
  int64_t top = 0;
  if (cli_get(&a, "top") && (tml_parse_int64_str(cli_get(&a, "top"), &top) != 0 || top < 1))
    return cli_usage_error("--top must be a positive whole number, not '%s'", cli_get(&a, "top"));
  o.top = (size_t)top;

  struct tml_paths paths;
  struct tml_config *conf = NULL;
  struct tml_exchange_config cfg;
  struct tml_exchange *ex = NULL;
  int xrc = cli_load_config(NULL, &paths, &conf, &err);
  if (xrc == 0)
    xrc = cmd_exchange_config(conf, exname, cmd_exchange_market(&a), cli_get(&a, "base-url"), &cfg, &err);
  if (xrc == 0)
    xrc = tml_exchange_open(&cfg, &ex, &err);
  /* New listings go into the training queue when the configuration says so (model.auto_train_new_symbols). */
  bool auto_train = xrc == 0 && tml_config_bool(conf, "model.auto_train_new_symbols") && !cli_has(&a, "no-queue");
  tml_config_free(conf); /* the client copied what it needs */
  if (xrc)
    return cli_fail(&err);
  struct tml_instruments l;
  tml_instruments_init(&l);
  struct tml_store *s = NULL;
  struct tml_series_info *info = NULL;
  size_t ninfo = 0;
  int rc = tml_universe_discover(ex, &o, &l, &err);
  if (rc == 0)
    rc = cmd_data_open_store(&s, &err);
  if (rc == 0)
    rc = tml_store_list(s, &info, &ninfo, &err);
  if (rc) {
    tml_instruments_release(&l);
    tml_store_close(s);
    tml_exchange_close(ex);
    return cli_fail(&err);
  }
  size_t nnew = 0;
  for (size_t i = 0; i < l.len; i++)
    nnew += !stored(info, ninfo, l.items[i].symbol);
  char (*news)[TML_SYMBOL_MAX] = calloc(nnew ? nnew : 1, sizeof(*news));
  bool *queued = calloc(nnew ? nnew : 1, sizeof(*queued));
  size_t nqueued = 0;
  if (!news || !queued)
    rc = tml_error_set(&err, TML_ENOMEM, "out of memory");
  for (size_t i = 0, k = 0; !rc && i < l.len; i++)
    if (!stored(info, ninfo, l.items[i].symbol))
      snprintf(news[k++], TML_SYMBOL_MAX, "%s", l.items[i].symbol);
  if (!rc && auto_train && nnew)
    rc = queue_new(news, nnew, queued, &err);
  for (size_t i = 0; !rc && i < nnew; i++)
    nqueued += queued[i];
  if (rc) {
    free(news);
    free(queued);
    free(info);
    tml_instruments_release(&l);
    tml_store_close(s);
    tml_exchange_close(ex);
    return cli_fail(&err);
  }
  const char *market = tml_exchange_market(ex);
  if (cli_has(&a, "json")) {
    struct tml_buf j;
    tml_buf_init(&j, 0);
    tml_buf_puts(&j, "{\"exchange\":");
    tml_buf_json_str(&j, exname);
    tml_buf_puts(&j, ",\"market\":");
    tml_buf_json_str(&j, market);
    tml_buf_printf(&j, ",\"by\":\"%s\",\"symbols\":[", o.by == TML_RANK_VOLUME ? "volume" : "turnover");
    for (size_t i = 0; i < l.len; i++) {
      const struct tml_instrument *it = &l.items[i];
      tml_buf_printf(&j, "%s{\"rank\":%zu,\"symbol\":", i ? "," : "", i + 1);
      tml_buf_json_str(&j, it->symbol);
      tml_buf_puts(&j, ",\"base\":");
      tml_buf_json_str(&j, it->base);
      tml_buf_puts(&j, ",\"quote\":");
      tml_buf_json_str(&j, it->quote);
      tml_buf_puts(&j, ",\"status\":");
      tml_buf_json_str(&j, it->status);
      if (isnan(it->turnover_24h))
        tml_buf_puts(&j, ",\"turnover_24h\":null");
      else
        tml_buf_printf(&j, ",\"turnover_24h\":%.17g", it->turnover_24h);
      if (isnan(it->volume_24h))
        tml_buf_puts(&j, ",\"volume_24h\":null");
      else
        tml_buf_printf(&j, ",\"volume_24h\":%.17g", it->volume_24h);
      if (it->launch_ms >= 0)
        tml_buf_printf(&j, ",\"listed_ms\":%" PRId64, it->launch_ms);
      else
        tml_buf_puts(&j, ",\"listed_ms\":null");
      tml_buf_printf(&j, ",\"stored\":%s}", stored(info, ninfo, it->symbol) ? "true" : "false");
    }
    tml_buf_printf(&j, "],\"new_symbols\":%zu,\"auto_train_new_symbols\":%s,\"new_symbols_queued\":%zu,\"queued\":[",
                   nnew, auto_train ? "true" : "false", nqueued);
    for (size_t i = 0, k = 0; i < nnew; i++)
      if (queued[i]) {
        tml_buf_puts(&j, k++ ? "," : "");
        tml_buf_json_str(&j, news[i]);
      }
    tml_buf_puts(&j, "]}");
    printf("%s\n", tml_buf_str(&j));
    tml_buf_release(&j);
  } else {
    printf("%s %s: %zu symbols%s%s, ranked by 24 h %s\n", exname, market, l.len,
           o.quote ? " quoted in " : "", o.quote ? o.quote : "",
           o.by == TML_RANK_VOLUME ? "volume" : "turnover");
    printf("%4s  %-16s %20s %20s  %-10s  %s\n", "RANK", "SYMBOL", "TURNOVER_24H", "VOLUME_24H",
           "LISTED", "STORED");
    for (size_t i = 0; i < l.len; i++) {
      const struct tml_instrument *it = &l.items[i];
      char t[32], v[32], d[32] = "-";
      fmt_num(it->turnover_24h, t, sizeof(t));
      fmt_num(it->volume_24h, v, sizeof(v));
      if (it->launch_ms > 0) {
        tml_time_format(it->launch_ms, d, sizeof(d));
        d[10] = '\0';
      }
      printf("%4zu  %-16s %20s %20s  %-10s  %s\n", i + 1, it->symbol, t, v, d,
             stored(info, ninfo, it->symbol) ? "yes" : "NEW");
    }
    if (nnew) {
      printf("%zu symbol%s not in the store yet:", nnew, nnew == 1 ? " is" : "s are");
      for (size_t i = 0; i < l.len; i++)
        if (!stored(info, ninfo, l.items[i].symbol))
          printf(" %s", l.items[i].symbol);
      printf("\n");
      if (!auto_train) {
        printf("(reported only: %s; fetch them with `trademl data fetch` or queue them with `trademl queue add`)\n",
               cli_has(&a, "no-queue") ? "--no-queue" : "model.auto_train_new_symbols is false");
      } else {
        for (size_t i = 0; i < nnew; i++)
          if (queued[i])
            printf("queued %s for training (new listing)\n", news[i]);
        printf("%zu new symbol%s queued for training, %zu already queued (model.auto_train_new_symbols; see "
               "`trademl queue list`)\n", nqueued, nqueued == 1 ? "" : "s", nnew - nqueued);
      }
    } else {
      printf("every listed symbol is in the store\n");
    }
  }
  free(news);
  free(queued);
  free(info);
  tml_instruments_release(&l);
  tml_store_close(s);
  tml_exchange_close(ex);
  return 0;
}

int cmd_universe(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "refresh") == 0)
    return universe_refresh(argc - 1, argv + 1);
  FILE *f = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) ? stdout : stderr;
  if (argc >= 2 && f == stderr)
    fprintf(stderr, "trademl: error: unknown universe verb '%s'\n\n", argv[1]);
  fprintf(f, "usage: trademl universe <verb> [options]\n\nVerbs:\n"
             "  refresh    list tradable symbols ranked by turnover or volume; report new ones\n"
             "\nRun 'trademl universe refresh --help' for its options.\n");
  return f == stdout ? 0 : 2;
}
