/* `trademl data fetch` and `trademl data sync`: candles from an exchange into the store through
 * the library's fetch module (incremental, resumable, one transaction per page). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "trademl/jobs.h"
#include "cmd_data.h"
#include "cli_config.h"
#include "trademl/config.h"
#include "trademl/featureset.h"
#include "trademl/fsutil.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/exchange.h"
#include "trademl/fetch.h"
#include "trademl/parse.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

/* ---- shared with `trademl universe` ---------------------------------------------------------- */

/* The market flag: --category (bybit), --product-type (bitget) or --market (binance, or any). */
const char *cmd_exchange_market(const struct cli_args *a) {
  const char *m = cli_get(a, "category");
  if (!m)
    m = cli_get(a, "product-type");
  if (!m)
    m = cli_get(a, "market");
  return m;
}

/* The client settings for exchange `name`/`market` from the configuration (tml_exchange_config_from:
 * exchanges.<name>.base_url, exchanges.http.*). A --base-url flag is set on its key first, so it is
 * validated like any URL and `origin` says "flag --base-url". *out borrows from cfg. */
int cmd_exchange_config(struct tml_config *cfg, const char *name, const char *market,
                        const char *base_url_flag, struct tml_exchange_config *out,
                        struct tml_error *err) {
  int rc = tml_exchange_config_from(cfg, name, market, out, err);
  if (rc || !base_url_flag)
    return rc;
  char key[64];
  bool futures = strcmp(out->name, "binance") == 0 && out->market && strcmp(out->market, "futures") == 0;
  snprintf(key, sizeof(key), "exchanges.%s.base_url", futures ? "binance_futures" : out->name);
  rc = tml_config_set(cfg, key, base_url_flag, TML_CFG_FLAG, "--base-url", err);
  if (rc == 0)
    rc = tml_exchange_config_from(cfg, name, market, out, err);
  return rc;
}

/* ---- progress -------------------------------------------------------------------------------- */

struct progress {
  bool tty;
  bool shown;
};

static void on_progress(void *ctx, const struct tml_fetch_progress *p) {
  struct progress *pr = ctx;
  if (!pr->tty)
    return;
  double pct = p->expected ? 100.0 * (double)p->fetched / (double)p->expected : 100.0;
  char eta[32] = "?";
  if (p->eta_s >= 0)
    snprintf(eta, sizeof(eta), "%.0f s", p->eta_s);
  fprintf(stderr, "\r  %s %s: %zu / %zu candles (%.0f%%), %.1f s, ETA %s   ", p->symbol,
          tml_interval_name(p->interval_ms), p->fetched, p->expected, pct, p->elapsed_s, eta);
  fflush(stderr);
  pr->shown = true;
}

static void progress_end(struct progress *pr) {
  if (pr->shown)
    fprintf(stderr, "\r\033[K");
  pr->shown = false;
}

static void print_result(const char *exname, const char *market, const char *symbol, int64_t iv,
                         const struct tml_fetch_result *r, double secs) {
  char a[32], b[32];
  printf("%s %s %s %s: %zu candles fetched (%zu new, %zu already stored) in %zu requests, %.1f s\n",
         exname, market, symbol, tml_interval_name(iv), r->fetched, r->inserted, r->unchanged,
         r->requests, secs);
  if (r->stored_rows) {
    tml_time_format(r->stored_first_ms, a, sizeof(a));
    tml_time_format(r->stored_last_ms, b, sizeof(b));
    printf("  stored: %zu candles, %s .. %s\n", r->stored_rows, a, b);
  }
  if (r->listed_ms > 0 && r->listed_ms >= r->from_ms) {
    tml_time_format(r->listed_ms, a, sizeof(a));
    printf("  note: the exchange has no candles before %s (listing); the range starts there\n", a);
  }
  if (r->empty_windows)
    printf("  note: %zu windows had no candles on the exchange (outages or halts; see `trademl data "
           "gaps`)\n",
           r->empty_windows);
}

static void json_result(struct tml_buf *j, const char *exname, const char *market,
                        const char *symbol, int64_t iv, const struct tml_fetch_result *r, int rc,
                        const struct tml_error *err) {
  tml_buf_puts(j, "{\"exchange\":");
  tml_buf_json_str(j, exname);
  tml_buf_puts(j, ",\"market\":");
  tml_buf_json_str(j, market);
  tml_buf_puts(j, ",\"symbol\":");
  tml_buf_json_str(j, symbol);
  tml_buf_printf(j, ",\"interval\":\"%s\"", tml_interval_name(iv));
  if (rc) {
    tml_buf_printf(j, ",\"ok\":false,\"error\":\"%s\",\"message\":", tml_errname(rc));
    tml_buf_json_str(j, err->msg);
    tml_buf_puts(j, "}");
    return;
  }
  tml_buf_printf(j,
                 ",\"ok\":true,\"from_ms\":%" PRId64 ",\"to_ms\":%" PRId64 ",\"server_time_ms\":%" PRId64
                 ",\"requests\":%zu,\"ranges\":%zu,\"fetched\":%zu,\"inserted\":%zu,\"unchanged\":%zu,"
                 "\"empty_windows\":%zu,\"listed_ms\":%" PRId64 ",\"stored_rows\":%zu,"
                 "\"stored_first_ms\":%" PRId64 ",\"stored_last_ms\":%" PRId64 "}",
                 r->from_ms, r->to_ms, r->server_now_ms, r->requests, r->ranges, r->fetched,
                 r->inserted, r->unchanged, r->empty_windows, r->listed_ms, r->stored_rows,
                 r->stored_first_ms, r->stored_last_ms);
}

/* ---- fetch ----------------------------------------------------------------------------------- */

static const struct cli_opt fetch_opts[] = {
    {"exchange", CLI_VALUE, "NAME", "bybit, bitget or binance (default: data.exchange)", NULL},
    {"category", CLI_VALUE, "CAT", "bybit: spot, linear (default) or inverse", NULL},
    {"product-type", CLI_VALUE, "TYPE", "bitget: USDT-FUTURES (default), COIN-FUTURES, USDC-FUTURES or SPOT", NULL},
    {"market", CLI_VALUE, "MARKET", "binance: spot (default) or futures (USDT-M)", NULL},
    {"symbol", CLI_LIST, "SYMBOL", "one or more symbols, e.g. BTCUSDT (required)", NULL},
    {"interval", CLI_VALUE, "INTERVAL", "candle interval, e.g. 15m (required)", NULL},
    {"days", CLI_VALUE, "N", "fetch the last N days (default: data.days)", NULL},
    {"since", CLI_VALUE, "DATE", "fetch from DATE (2024-01-01 or 2024-01-01T12:00Z)", NULL},
    {"until", CLI_VALUE, "DATE", "stop at DATE (default: the last closed candle)", NULL},
    {"base-url", CLI_VALUE, "URL", "exchange base URL (default: exchanges.<name>.base_url)", NULL},
    {"json", CLI_FLAG, NULL, "print the result as JSON", NULL},
};

static int parse_date(const char *flag, const char *v, int64_t *ms, struct tml_error *err) {
  if (tml_time_parse(v, strlen(v), ms) != 0)
    return tml_error_set(err, TML_EINVAL, "--%s '%s' is not a date (use 2024-01-01 or 2024-01-01T12:00Z)",
                         flag, v);
  return 0;
}

int cmd_data_fetch(int argc, char **argv) {
  struct cli_args a;
  int ec = 0;
  if (cli_parse(&a, fetch_opts, sizeof(fetch_opts) / sizeof(fetch_opts[0]), argc, argv,
                "usage: trademl data fetch --exchange bybit|bitget|binance [--category C | --product-type T | --market M]\n"
                "                          --symbol SYMBOL... --interval INTERVAL (--days N | --since DATE) [--until DATE] [--json]\n\n"
                "Downloads closed candles into the store. Only ranges the store lacks are requested; every page\n"
                "is committed on its own, so an interrupted fetch resumes where it stopped. Public data: no keys.\n"
                "Base URLs: --base-url or exchanges.<name>.base_url (trademl.yaml, $TRADEML_BYBIT_BASE_URL, ...);\n"
                "timeouts, retries, rate and proxy: exchanges.http.* (see `trademl config keys`).",
                &ec))
    return ec;
  /* --exchange and --days default to data.exchange and data.days, so jobs and the new-symbol queue
   * can ask for "the candles of X" without knowing where they come from. */
  struct tml_paths paths;
  struct tml_config *conf = NULL;
  struct tml_error cerr;
  tml_error_init(&cerr);
  if (cli_load_config(NULL, &paths, &conf, &cerr))
    return cli_fail(&cerr);
  char exbuf[32], daybuf[32];
  snprintf(exbuf, sizeof(exbuf), "%s", tml_config_get(conf, "data.exchange"));
  snprintf(daybuf, sizeof(daybuf), "%s", tml_config_get(conf, "data.days"));
  const char *exname = cli_get(&a, "exchange");
  const char *default_market = NULL;
  if (!exname) {
    exname = exbuf;
    if (strcmp(exname, "binance_futures") == 0) {
      exname = "binance";
      default_market = "futures";
    }
  }
  const char *syms[CLI_MAX_VALUES];
  size_t nsyms = cli_get_list(&a, "symbol", syms, CLI_MAX_VALUES);
  if (nsyms == 0) {
    tml_config_free(conf);
    return cli_usage_error("data fetch needs --symbol (e.g. --symbol BTCUSDT)");
  }
  if (!cli_get(&a, "interval")) {
    tml_config_free(conf);
    return cli_usage_error("data fetch needs --interval (e.g. --interval 15m)");
  }
  if (cli_get(&a, "days") && cli_get(&a, "since")) {
    tml_config_free(conf);
    return cli_usage_error("give --days or --since, not both");
  }
  const char *days_s = cli_get(&a, "days");
  if (!days_s && !cli_get(&a, "since"))
    days_s = strcmp(daybuf, "0") != 0 ? daybuf : "730";
  struct tml_error err;
  tml_error_init(&err);
  int64_t iv = 0, since = 0, until = INT64_MAX, days = 0;
  if (tml_interval_parse(cli_get(&a, "interval"), &iv, &err)) {
    tml_error_prefix(&err, "--interval");
    tml_config_free(conf);
    return cli_fail(&err);
  }
  if (days_s && (tml_parse_int64_str(days_s, &days) != 0 || days < 1 || days > 36500)) {
    tml_config_free(conf);
    return cli_usage_error("--days must be a whole number of days between 1 and 36500, not '%s'", days_s);
  }
  if (cli_get(&a, "since") && parse_date("since", cli_get(&a, "since"), &since, &err)) {
    tml_config_free(conf);
    return cli_fail(&err);
  }
  if (cli_get(&a, "until") && parse_date("until", cli_get(&a, "until"), &until, &err)) {
    tml_config_free(conf);
    return cli_fail(&err);
  }
  char norm[CLI_MAX_VALUES][TML_SYMBOL_MAX];
  for (size_t i = 0; i < nsyms; i++)
    if (cmd_data_symbol(syms[i], norm[i], &err)) {
      tml_config_free(conf);
      return cli_fail(&err);
    }

  struct tml_exchange_config cfg;
  struct tml_exchange *ex = NULL;
  int xrc = cmd_exchange_config(conf, exname, cmd_exchange_market(&a) ? cmd_exchange_market(&a) : default_market,
                                cli_get(&a, "base-url"), &cfg, &err);
  if (xrc == 0)
    xrc = tml_exchange_open(&cfg, &ex, &err);
  tml_config_free(conf); /* the client copied what it needs */
  if (xrc)
    return cli_fail(&err);
  if (tml_exchange_check_interval(ex, iv, &err)) {
    tml_exchange_close(ex);
    return cli_fail(&err);
  }
  struct tml_store *s = NULL;
  if (cmd_data_open_store(&s, &err)) {
    tml_exchange_close(ex);
    return cli_fail(&err);
  }
  int64_t now = 0;
  int rc = tml_exchange_server_time(ex, &now, &err);
  bool json = cli_has(&a, "json");
  struct progress pr = {isatty(fileno(stderr)) != 0 && !json, false};
  struct tml_buf j;
  tml_buf_init(&j, 0);
  tml_buf_puts(&j, "[");
  int first_rc = rc;
  for (size_t i = 0; rc == 0 && i < nsyms; i++) {
    struct tml_fetch_opts o = {0};
    o.from_ms = days ? now - days * TML_MS_PER_DAY : since;
    o.to_ms = until;
    o.now_ms = now;
    o.progress = on_progress;
    o.progress_ctx = &pr;
    struct tml_fetch_result r;
    struct tml_error e;
    tml_error_init(&e);
    double t0 = tml_monotonic_s();
    int frc = tml_fetch_series(s, ex, norm[i], iv, &o, &r, &e);
    progress_end(&pr);
    if (json) {
      tml_buf_puts(&j, i ? "," : "");
      json_result(&j, exname, tml_exchange_market(ex), norm[i], iv, &r, frc, &e);
    } else if (frc == 0) {
      print_result(exname, tml_exchange_market(ex), norm[i], iv, &r, tml_monotonic_s() - t0);
    } else {
      fprintf(stderr, "trademl: error: %s\n", e.msg);
    }
    if (frc && !first_rc) {
      first_rc = frc;
      err = e;
    }
  }
  tml_buf_puts(&j, "]");
  if (json && rc == 0) /* when the server clock could not be read there is only the error */
    printf("%s\n", tml_buf_str(&j));
  tml_buf_release(&j);
  tml_store_close(s);
  tml_exchange_close(ex);
  if (rc)
    return cli_fail(&err);
  if (first_rc) /* already printed per symbol; a worker still needs the code to decide on a retry */
    tml_job_report_error(first_rc, err.msg);
  return first_rc ? tml_error_exit_code(first_rc) : 0;
}

/* ---- sync ------------------------------------------------------------------------------------ */

static const struct cli_opt sync_opts[] = {
    {"json", CLI_FLAG, NULL, "print the results as JSON", NULL},
};

struct sync_ctx {
  bool json;
  struct tml_buf *j;
  size_t n, failed;
};

static void on_synced(void *vctx, const struct tml_fetch_source *src,
                      const struct tml_fetch_result *r, int rc, const struct tml_error *err) {
  struct sync_ctx *c = vctx;
  if (c->json) {
    tml_buf_puts(c->j, c->n ? "," : "");
    json_result(c->j, src->exchange, src->market, src->symbol, src->interval_ms, r, rc, err);
  } else if (rc == 0) {
    print_result(src->exchange, src->market, src->symbol, src->interval_ms, r, 0.0);
  } else {
    fprintf(stderr, "trademl: error: %s %s %s %s: %s\n", src->exchange, src->market, src->symbol,
            tml_interval_name(src->interval_ms), err->msg);
  }
  c->n++;
  c->failed += rc != 0;
}

int cmd_data_sync(int argc, char **argv) {
  struct cli_args a;
  int ec = 0;
  if (cli_parse(&a, sync_opts, sizeof(sync_opts) / sizeof(sync_opts[0]), argc, argv,
                "usage: trademl data sync [--json]\n\n"
                "Brings every series fetched with `trademl data fetch` up to the last closed candle (interior\n"
                "gaps are filled too). Series imported from files have no exchange recorded and are listed as\n"
                "skipped; fetch them once with `trademl data fetch` to include them.",
                &ec))
    return ec;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_store *s = NULL;
  if (cmd_data_open_store(&s, &err))
    return cli_fail(&err);
  struct tml_buf j;
  tml_buf_init(&j, 0);
  tml_buf_puts(&j, "{\"series\":[");
  struct sync_ctx c = {cli_has(&a, "json"), &j, 0, 0};
  struct tml_paths paths;
  struct tml_config *conf = NULL;
  int rc = cli_load_config(NULL, &paths, &conf, &err);
  if (rc == 0)
    rc = tml_fetch_sync(s, conf, 0, on_synced, &c, &err);
  tml_config_free(conf);
  /* stored series without a recorded exchange */
  struct tml_series_info *info = NULL;
  struct tml_fetch_source *src = NULL;
  size_t ninfo = 0, nsrc = 0, skipped = 0;
  struct tml_error e2;
  tml_error_init(&e2);
  if (tml_store_list(s, &info, &ninfo, &e2) == 0 && tml_fetch_sources(s, &src, &nsrc, &e2) == 0) {
    tml_buf_puts(&j, "],\"skipped\":[");
    for (size_t i = 0; i < ninfo; i++) {
      bool has = false;
      for (size_t k = 0; k < nsrc && !has; k++)
        has = strcmp(src[k].symbol, info[i].symbol) == 0 && src[k].interval_ms == info[i].interval_ms;
      if (has)
        continue;
      if (c.json) {
        tml_buf_printf(&j, "%s{\"symbol\":", skipped ? "," : "");
        tml_buf_json_str(&j, info[i].symbol);
        tml_buf_printf(&j, ",\"interval\":\"%s\"}", tml_interval_name(info[i].interval_ms));
      } else {
        printf("%s %s: skipped (imported from files, no exchange recorded)\n", info[i].symbol,
               tml_interval_name(info[i].interval_ms));
      }
      skipped++;
    }
  }
  free(info);
  free(src);
  tml_buf_printf(&j, "],\"synced\":%zu,\"failed\":%zu}", c.n - c.failed, c.failed);
  if (c.json)
    printf("%s\n", tml_buf_str(&j));
  else if (c.n == 0)
    printf("nothing to sync: no series was fetched from an exchange yet (use `trademl data fetch`)\n");
  else
    printf("synced %zu series, %zu failed, %zu skipped\n", c.n - c.failed, c.failed, skipped);
  tml_buf_release(&j);
  tml_store_close(s);
  if (rc) {
    if (!c.json)
      return cli_fail(&err);
    tml_job_report_error(rc, err.msg);
    return tml_error_exit_code(rc);
  }
  return 0;
}

/* ---- fetching for `trademl train` --------------------------------------------------------------- */

/* Brings a symbol's series up to date before training (issue: `train` fetches what is missing):
 * - a series fetched before (fetch_sources) is topped up from its exchange and market;
 * - a symbol with no candles at all is fetched from data.exchange;
 * - a symbol imported from files (at any interval) is left alone: the user works from files.
 * The window is `days` (or data.days when 0) plus the features' warm-up. When the exchange cannot be
 * reached but candles are stored, training goes on with a warning; with nothing stored it is an error. */
int cmd_fetch_for_training(struct tml_store *s, const struct tml_config *cfg, const char *symbol,
                           int64_t interval_ms, double days, bool quiet, struct tml_error *err) {
  struct tml_fetch_source *src = NULL;
  struct tml_series_info *info = NULL;
  size_t nsrc = 0, ninfo = 0, stored = 0;
  int rc = tml_fetch_sources(s, &src, &nsrc, err);
  if (!rc)
    rc = tml_store_list(s, &info, &ninfo, err);
  if (rc)
    goto out;
  const struct tml_fetch_source *mine = NULL;
  for (size_t i = 0; i < nsrc; i++)
    if (strcmp(src[i].symbol, symbol) == 0 && src[i].interval_ms == interval_ms)
      mine = &src[i];
  bool imported = false; /* some interval of this symbol came from files */
  for (size_t i = 0; i < ninfo; i++) {
    if (strcmp(info[i].symbol, symbol) != 0)
      continue;
    if (info[i].interval_ms == interval_ms)
      stored = info[i].rows;
    bool fetched = false;
    for (size_t k = 0; k < nsrc; k++)
      fetched = fetched || (strcmp(src[k].symbol, symbol) == 0 && src[k].interval_ms == info[i].interval_ms);
    imported = imported || !fetched;
  }
  if (!mine && imported)
    goto out; /* the user works from files for this symbol: nothing to fetch from */
  struct tml_exchange_config xc;
  const char *name = mine ? mine->exchange : tml_config_get(cfg, "data.exchange");
  rc = tml_exchange_config_from(cfg, name, mine ? mine->market : NULL, &xc, err);
  if (rc)
    goto out;
  if (days <= 0)
    days = 730; /* "all history": download a bounded window rather than walk back to 1970 */
  struct tml_featureset_opts fo = {.base_interval_ms = interval_ms, .htf_interval_ms = 0};
  struct tml_exchange *ex = NULL;
  struct tml_error e;
  tml_error_init(&e);
  int64_t now = 0;
  int frc = tml_exchange_open(&xc, &ex, &e);
  if (!frc)
    frc = tml_exchange_check_interval(ex, interval_ms, &e);
  if (!frc)
    frc = tml_exchange_server_time(ex, &now, &e);
  if (!frc) {
    struct tml_fetch_opts o = {0};
    o.from_ms = now - (int64_t)(days * (double)TML_MS_PER_DAY) -
                (int64_t)tml_featureset_warmup(&fo) * interval_ms;
    o.to_ms = INT64_MAX;
    o.now_ms = now;
    struct progress pr = {!quiet && isatty(fileno(stderr)) != 0, false};
    o.progress = on_progress;
    o.progress_ctx = &pr;
    struct tml_fetch_result r;
    frc = tml_fetch_series(s, ex, symbol, interval_ms, &o, &r, &e);
    progress_end(&pr);
    if (!frc && !quiet)
      printf("fetch     %s %s from %s %s: %zu new candles (%zu requests), %zu stored\n", symbol,
             tml_interval_name(interval_ms), tml_exchange_name(ex), tml_exchange_market(ex), r.inserted, r.requests,
             r.stored_rows);
  }
  tml_exchange_close(ex);
  if (frc && stored > 0)
    fprintf(stderr, "trademl: warning: could not fetch missing %s %s candles (%s); training on the %zu stored\n",
            symbol, tml_interval_name(interval_ms), e.msg, stored);
  else if (frc)
    rc = tml_error_set(err, frc, "no %s candles for %s in the store, and fetching them from %s failed: %s",
                       tml_interval_name(interval_ms), symbol, xc.name, e.msg);
out:
  free(src);
  free(info);
  return rc;
}

/* The flags of `data fetch`, for `jobs submit --param` (cli_jobs.h). */
const struct cli_opt *cmd_data_fetch_opts(size_t *n) {
  *n = sizeof(fetch_opts) / sizeof(fetch_opts[0]);
  return fetch_opts;
}
