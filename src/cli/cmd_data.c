/* `trademl data <verb>`: candle data in the store. The verbs come from data_verbs.def; this file
 * holds the dispatcher, the shared helpers and the verbs import, list, gaps and resample. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cmd_data.h"
#include "cli_config.h"
#include "trademl/config.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/import.h"
#include "trademl/parse.h"
#include "trademl/quality.h"
#include "trademl/resample.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

static const struct {
  const char *name;
  cli_cmd_fn fn;
  const char *summary;
} verbs[] = {
#define DATA_VERB(name, fn, summary) {#name, fn, summary},
#include "data_verbs.def"
#undef DATA_VERB
};

static void data_usage(FILE *f) {
  fprintf(f, "usage: trademl data <verb> [options]\n\nVerbs:\n");
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
  fprintf(f, "\nRun 'trademl data <verb> --help' for a verb's options.\n");
}

int cmd_data(int argc, char **argv) {
  if (argc < 2) {
    data_usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    data_usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    if (strcmp(argv[1], verbs[i].name) == 0)
      return verbs[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "trademl: error: unknown data verb '%s'\n\n", argv[1]);
  data_usage(stderr);
  return 2;
}

/* The database path honours --home, $TRADEML_HOME, trademl.yaml and $TRADEML_DATA_DB_PATH, exactly as
 * every other command resolves it (cli_load_config). */
int cmd_data_open_store(struct tml_store **s, struct tml_error *err) {
  struct tml_paths p;
  struct tml_config *cfg = NULL;
  int rc = cli_load_config(NULL, &p, &cfg, err);
  tml_config_free(cfg);
  if (!rc)
    rc = tml_paths_ensure(&p, err);
  if (!rc)
    rc = tml_store_open(p.db, s, err);
  return rc;
}

int cmd_data_symbol(const char *in, char *out, struct tml_error *err) {
  if (!in || tml_symbol_normalize(in, out, TML_SYMBOL_MAX) != 0)
    return tml_error_set(err, TML_EINVAL, "invalid --symbol '%s' (1-32 of A-Z 0-9 - _, e.g. BTCUSDT or BTC/USDT)",
                         in ? in : "");
  return 0;
}

static int parse_interval_opt(const char *flag, const char *v, int64_t *ms, struct tml_error *err) {
  int rc = tml_interval_parse(v, ms, err);
  if (rc)
    tml_error_prefix(err, "--%s", flag);
  return rc;
}

/* ---- import ------------------------------------------------------------------------------- */

static const struct cli_opt import_opts[] = {
    {"symbol", CLI_VALUE, "SYMBOL", "symbol the candles belong to (required, e.g. SOLUSDT)", NULL},
    {"interval", CLI_VALUE, "INTERVAL", "candle interval (1m..1w); inferred from the file if omitted", NULL},
    {"format", CLI_VALUE, "FORMAT", "auto (default), csv, binance or freqtrade", NULL},
    {"replace", CLI_FLAG, NULL, "overwrite stored candles whose values differ", NULL},
    {"skip-bad-rows", CLI_FLAG, NULL, "skip and report bad rows instead of rejecting the file", NULL},
    {"json", CLI_FLAG, NULL, "print the result as JSON", NULL},
    {"volume-column", CLI_VALUE, "NAME", "header column holding the volume (default: the base-asset volume)", NULL},
    {"time-column", CLI_VALUE, "NAME", "header column holding the open time (default: open_time, timestamp, date...)",
     NULL},
    {"asset", CLI_VALUE, "NAME", "wide multi-asset files (BTC:open ... ETH:close): the asset to import", NULL},
    {"drop-last-candle", CLI_FLAG, NULL, "leave out the newest candle (an export may have written it still forming)",
     NULL},
};

int cmd_data_import(int argc, char **argv) {
  struct cli_args a;
  int ec = 0;
  if (cli_parse(&a, import_opts, sizeof(import_opts) / sizeof(import_opts[0]), argc, argv,
                "usage: trademl data import FILE --symbol SYMBOL [--interval 5m] [--format auto|csv|binance|freqtrade]\n"
                "                           [--replace] [--skip-bad-rows] [--json] [--volume-column NAME]\n"
                "                           [--time-column NAME] [--asset NAME] [--drop-last-candle]\n\n"
                "Validates every row and stores the file in one transaction (nothing is written on failure).",
                &ec))
    return ec;
  const char *files[2];
  if (cli_positionals(&a, files, 2) != 1)
    return cli_usage_error("data import needs exactly one FILE (see --help)");
  if (!cli_get(&a, "symbol"))
    return cli_usage_error("data import needs --symbol (the file's symbol is never guessed)");
  struct tml_error err;
  tml_error_init(&err);
  char sym[TML_SYMBOL_MAX];
  struct tml_import_opts o = {.symbol = sym,
                              .skip_bad_rows = cli_has(&a, "skip-bad-rows"),
                              .volume_column = cli_get(&a, "volume-column"),
                              .time_column = cli_get(&a, "time-column"),
                              .asset = cli_get(&a, "asset"),
                              .drop_last_candle = cli_has(&a, "drop-last-candle")};
  if (cmd_data_symbol(cli_get(&a, "symbol"), sym, &err))
    return cli_fail(&err);
  if (cli_get(&a, "interval") && parse_interval_opt("interval", cli_get(&a, "interval"), &o.interval_ms, &err))
    return cli_fail(&err);
  if (cli_get(&a, "format") && tml_import_format_parse(cli_get(&a, "format"), &o.format))
    return cli_usage_error("--format must be auto, csv, binance or freqtrade, not '%s'", cli_get(&a, "format"));

  struct tml_import_report *rep = calloc(1, sizeof(*rep));
  struct tml_candles c;
  tml_candles_init(&c, sym, 0);
  struct tml_store *s = NULL;
  struct tml_put_stats st = {0, 0, 0};
  bool json = cli_has(&a, "json");
  int rc = rep ? 0 : tml_error_set(&err, TML_ENOMEM, "out of memory");
  if (!rc)
    rc = tml_import_file(files[0], &o, &c, rep, &err);
  if (rep && rep->nbad && (rc == 0 || !json)) {
    for (size_t i = 0; i < rep->nbad; i++)
      fprintf(stderr, "bad row: %s\n", rep->bad[i]);
    if (rep->rows_skipped > rep->nbad)
      fprintf(stderr, "... and %zu more bad rows\n", rep->rows_skipped - rep->nbad);
  }
  if (rc && rep && o.skip_bad_rows && rep->rows_skipped)
    fprintf(stderr, "skipped %zu bad row%s of %zu read before the import failed (nothing imported)\n",
            rep->rows_skipped, rep->rows_skipped == 1 ? "" : "s", rep->rows_read);
  if (!rc)
    rc = cmd_data_open_store(&s, &err);
  if (!rc)
    rc = tml_store_put(s, &c, cli_has(&a, "replace"), &st, &err);
  if (!rc) {
    const char *iv = tml_interval_name(c.interval_ms);
    if (json) {
      struct tml_buf b;
      tml_buf_init(&b, 0);
      tml_buf_printf(&b, "{\"file\":");
      tml_buf_json_str(&b, files[0]);
      tml_buf_printf(&b,
                     ",\"symbol\":\"%s\",\"interval\":\"%s\",\"interval_inferred\":%s,\"format\":\"%s\","
                     "\"rows_read\":%zu,\"inserted\":%zu,\"unchanged\":%zu,\"replaced\":%zu,\"skipped\":%zu,"
                     "\"duplicates\":%zu,\"volume_column\":",
                     c.symbol, iv, rep->interval_inferred ? "true" : "false", tml_import_format_name(rep->format),
                     rep->rows_read, st.inserted, st.unchanged, st.replaced, rep->rows_skipped, rep->rows_duplicate);
      tml_buf_json_str(&b, rep->volume_column);
      tml_buf_puts(&b, ",\"asset\":");
      tml_buf_json_str(&b, rep->asset);
      char t[32];
      tml_buf_puts(&b, ",\"dropped_last\":");
      if (rep->dropped_last) {
        tml_time_format(rep->dropped_last_ms, t, sizeof(t));
        tml_buf_json_str(&b, t);
      } else {
        tml_buf_puts(&b, "null");
      }
      tml_buf_puts(&b, ",\"open_candle\":");
      if (rep->open_candle) {
        tml_time_format(rep->open_candle_ms, t, sizeof(t));
        tml_buf_json_str(&b, t);
      } else {
        tml_buf_puts(&b, "null");
      }
      tml_buf_puts(&b, ",\"bad_rows\":[");
      for (size_t i = 0; i < rep->nbad; i++) {
        if (i)
          tml_buf_putc(&b, ',');
        tml_buf_json_str(&b, rep->bad[i]);
      }
      tml_buf_puts(&b, "]}");
      printf("%s\n", tml_buf_str(&b));
      tml_buf_release(&b);
    } else {
      if (rep->interval_inferred)
        printf("interval %s inferred from the spacing of the candles\n", iv);
      printf("imported %s as %s %s (%s%s)\n", files[0], c.symbol, iv, tml_import_format_name(rep->format),
             rep->sorted_input ? "" : ", sorted");
      printf("rows read %zu, inserted %zu, unchanged %zu, replaced %zu, skipped %zu, duplicates %zu\n", rep->rows_read,
             st.inserted, st.unchanged, st.replaced, rep->rows_skipped, rep->rows_duplicate);
      if (rep->asset[0])
        printf("asset %s of a wide multi-asset file\n", rep->asset);
      if (rep->volume_column[0] && strcasecmp(rep->volume_column, "volume") != 0)
        printf("volume from column '%s'\n", rep->volume_column);
      char t[32];
      if (rep->dropped_last) {
        tml_time_format(rep->dropped_last_ms, t, sizeof(t));
        printf("left out the newest candle %s (--drop-last-candle)\n", t);
      }
      if (rep->open_candle) {
        tml_time_format(rep->open_candle_ms, t, sizeof(t));
        fprintf(stderr, "note: the newest candle %s was still forming when imported (it closes after now); re-import "
                        "later with --replace, or pass --drop-last-candle to leave it out\n", t);
      }
    }
  }
  tml_store_close(s);
  tml_candles_release(&c);
  free(rep);
  return rc ? cli_fail(&err) : 0;
}

/* ---- list --------------------------------------------------------------------------------- */

static const struct cli_opt list_opts[] = {
    {"symbol", CLI_VALUE, "SYMBOL", "only this symbol", NULL},
    {"json", CLI_FLAG, NULL, "print the result as JSON", NULL},
};

int cmd_data_list(int argc, char **argv) {
  struct cli_args a;
  int ec = 0;
  if (cli_parse(&a, list_opts, sizeof(list_opts) / sizeof(list_opts[0]), argc, argv,
                "usage: trademl data list [--symbol SYMBOL] [--json]\n\n"
                "Stored series with first/last candle, rows, missing candles, gaps, history days and coverage.",
                &ec))
    return ec;
  const char *pos[1];
  if (cli_positionals(&a, pos, 1))
    return cli_usage_error("data list takes no arguments (did you mean --symbol %s?)", pos[0]);
  struct tml_error err;
  tml_error_init(&err);
  char sym[TML_SYMBOL_MAX] = "";
  if (cli_get(&a, "symbol") && cmd_data_symbol(cli_get(&a, "symbol"), sym, &err))
    return cli_fail(&err);
  bool json = cli_has(&a, "json");
  struct tml_store *s = NULL;
  struct tml_series_info *info = NULL;
  size_t n = 0;
  int rc = cmd_data_open_store(&s, &err);
  if (!rc)
    rc = tml_store_list(s, &info, &n, &err);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  if (json)
    tml_buf_putc(&b, '[');
  else
    tml_buf_printf(&b, "%-14s %-8s %-20s %-20s %9s %8s %6s %8s %9s\n", "SYMBOL", "INTERVAL", "FIRST", "LAST", "ROWS",
                   "MISSING", "GAPS", "DAYS", "COVERAGE%");
  size_t shown = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    if (sym[0] && strcmp(sym, info[i].symbol) != 0)
      continue;
    struct tml_candles c;
    struct tml_quality q;
    rc = tml_store_load(s, info[i].symbol, info[i].interval_ms, INT64_MIN, INT64_MAX, &c, &err);
    if (!rc)
      rc = tml_quality_compute(&c, &q, &err);
    tml_candles_release(&c);
    if (rc)
      break;
    char first[32], last[32];
    tml_time_format(q.first_ms, first, sizeof(first));
    tml_time_format(q.last_ms, last, sizeof(last));
    const char *iv = tml_interval_name(info[i].interval_ms);
    if (json)
      tml_buf_printf(&b,
                     "%s{\"symbol\":\"%s\",\"interval\":\"%s\",\"first\":\"%s\",\"last\":\"%s\",\"first_ms\":%" PRId64
                     ",\"last_ms\":%" PRId64 ",\"rows\":%zu,\"expected\":%zu,\"missing\":%zu,\"gaps\":%zu,"
                     "\"history_days\":%.4f,\"coverage_pct\":%.4f}",
                     shown ? "," : "", info[i].symbol, iv, first, last, q.first_ms, q.last_ms, q.rows, q.expected,
                     q.missing, q.ngaps, q.history_days, q.coverage_pct);
    else
      tml_buf_printf(&b, "%-14s %-8s %-20s %-20s %9zu %8zu %6zu %8.1f %9.2f\n", info[i].symbol, iv, first, last,
                     q.rows, q.missing, q.ngaps, q.history_days, q.coverage_pct);
    shown++;
    tml_quality_release(&q);
  }
  if (!rc) {
    if (json)
      tml_buf_putc(&b, ']');
    else if (shown == 0)
      tml_buf_printf(&b, "(no candles stored%s%s; see 'trademl data import --help')\n", sym[0] ? " for " : "", sym);
    printf("%s%s", tml_buf_str(&b), json ? "\n" : "");
  }
  tml_buf_release(&b);
  free(info);
  tml_store_close(s);
  return rc ? cli_fail(&err) : 0;
}

/* ---- gaps --------------------------------------------------------------------------------- */

static const struct cli_opt gaps_opts[] = {
    {"symbol", CLI_VALUE, "SYMBOL", "the series' symbol (required)", NULL},
    {"interval", CLI_VALUE, "INTERVAL", "the series' interval (required)", NULL},
    {"json", CLI_FLAG, NULL, "print the result as JSON", NULL},
};

int cmd_data_gaps(int argc, char **argv) {
  struct cli_args a;
  int ec = 0;
  if (cli_parse(&a, gaps_opts, sizeof(gaps_opts) / sizeof(gaps_opts[0]), argc, argv,
                "usage: trademl data gaps --symbol SYMBOL --interval INTERVAL [--json]\n\n"
                "Lists each run of missing candles (first and last missing open time, count).",
                &ec))
    return ec;
  if (!cli_get(&a, "symbol") || !cli_get(&a, "interval"))
    return cli_usage_error("data gaps needs --symbol and --interval (see --help)");
  struct tml_error err;
  tml_error_init(&err);
  char sym[TML_SYMBOL_MAX];
  int64_t iv;
  if (cmd_data_symbol(cli_get(&a, "symbol"), sym, &err) ||
      parse_interval_opt("interval", cli_get(&a, "interval"), &iv, &err))
    return cli_fail(&err);
  struct tml_store *s = NULL;
  struct tml_candles c;
  struct tml_quality q;
  memset(&q, 0, sizeof(q));
  tml_candles_init(&c, sym, iv);
  int rc = cmd_data_open_store(&s, &err);
  if (!rc)
    rc = tml_store_load(s, sym, iv, INT64_MIN, INT64_MAX, &c, &err);
  if (!rc && c.len == 0)
    rc = tml_error_set(&err, TML_ENOENT, "no %s %s candles stored (see 'trademl data list')", sym,
                       tml_interval_name(iv));
  if (!rc)
    rc = tml_quality_compute(&c, &q, &err);
  if (!rc) {
    struct tml_buf b;
    tml_buf_init(&b, 0);
    char from[32], to[32];
    if (cli_has(&a, "json")) {
      tml_buf_printf(&b, "{\"symbol\":\"%s\",\"interval\":\"%s\",\"missing\":%zu,\"gaps\":[", sym,
                     tml_interval_name(iv), q.missing);
      for (size_t i = 0; i < q.ngaps; i++) {
        tml_time_format(q.gaps[i].from_ms, from, sizeof(from));
        tml_time_format(q.gaps[i].to_ms, to, sizeof(to));
        tml_buf_printf(&b, "%s{\"from\":\"%s\",\"to\":\"%s\",\"from_ms\":%" PRId64 ",\"to_ms\":%" PRId64
                           ",\"missing\":%zu}",
                       i ? "," : "", from, to, q.gaps[i].from_ms, q.gaps[i].to_ms, q.gaps[i].missing);
      }
      tml_buf_puts(&b, "]}\n");
    } else {
      tml_buf_printf(&b, "%s %s: %zu gap%s, %zu missing candle%s\n", sym, tml_interval_name(iv), q.ngaps,
                     q.ngaps == 1 ? "" : "s", q.missing, q.missing == 1 ? "" : "s");
      if (q.ngaps)
        tml_buf_printf(&b, "%-20s %-20s %8s\n", "FROM", "TO", "MISSING");
      for (size_t i = 0; i < q.ngaps; i++) {
        tml_time_format(q.gaps[i].from_ms, from, sizeof(from));
        tml_time_format(q.gaps[i].to_ms, to, sizeof(to));
        tml_buf_printf(&b, "%-20s %-20s %8zu\n", from, to, q.gaps[i].missing);
      }
    }
    fputs(tml_buf_str(&b), stdout);
    tml_buf_release(&b);
  }
  tml_quality_release(&q);
  tml_candles_release(&c);
  tml_store_close(s);
  return rc ? cli_fail(&err) : 0;
}

/* ---- resample ----------------------------------------------------------------------------- */

static const struct cli_opt resample_opts[] = {
    {"symbol", CLI_VALUE, "SYMBOL", "the series' symbol (required)", NULL},
    {"from", CLI_VALUE, "INTERVAL", "stored source interval, e.g. 5m (required)", NULL},
    {"to", CLI_VALUE, "INTERVAL", "target interval, a multiple of --from, e.g. 1h (required)", NULL},
    {"replace", CLI_FLAG, NULL, "overwrite stored target candles whose values differ", NULL},
    {"json", CLI_FLAG, NULL, "print the result as JSON", NULL},
};

int cmd_data_resample(int argc, char **argv) {
  struct cli_args a;
  int ec = 0;
  if (cli_parse(&a, resample_opts, sizeof(resample_opts) / sizeof(resample_opts[0]), argc, argv,
                "usage: trademl data resample --symbol SYMBOL --from 5m --to 1h [--replace] [--json]\n\n"
                "Builds higher-interval candles (UTC-aligned; weeks start Monday) and stores the closed, complete ones.",
                &ec))
    return ec;
  if (!cli_get(&a, "symbol") || !cli_get(&a, "from") || !cli_get(&a, "to"))
    return cli_usage_error("data resample needs --symbol, --from and --to (see --help)");
  struct tml_error err;
  tml_error_init(&err);
  char sym[TML_SYMBOL_MAX];
  int64_t from, to;
  if (cmd_data_symbol(cli_get(&a, "symbol"), sym, &err) || parse_interval_opt("from", cli_get(&a, "from"), &from, &err) ||
      parse_interval_opt("to", cli_get(&a, "to"), &to, &err))
    return cli_fail(&err);
  struct tml_store *s = NULL;
  struct tml_candles in, out;
  tml_candles_init(&in, sym, from);
  tml_candles_init(&out, sym, to);
  struct tml_put_stats st = {0, 0, 0};
  int rc = cmd_data_open_store(&s, &err);
  if (!rc)
    rc = tml_store_load(s, sym, from, INT64_MIN, INT64_MAX, &in, &err);
  if (!rc && in.len == 0)
    rc = tml_error_set(&err, TML_ENOENT, "no %s %s candles stored to resample (see 'trademl data list')", sym,
                       tml_interval_name(from));
  if (!rc)
    rc = tml_resample(&in, to, tml_now_ms(), &out, &err);
  if (!rc && out.len)
    rc = tml_store_put(s, &out, cli_has(&a, "replace"), &st, &err);
  if (!rc) {
    if (cli_has(&a, "json"))
      printf("{\"symbol\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"source_rows\":%zu,\"candles\":%zu,\"inserted\":%zu,"
             "\"unchanged\":%zu,\"replaced\":%zu}\n",
             sym, tml_interval_name(from), tml_interval_name(to), in.len, out.len, st.inserted, st.unchanged,
             st.replaced);
    else
      printf("resampled %s %s -> %s: %zu source candles, %zu closed complete candles (inserted %zu, unchanged %zu, "
             "replaced %zu)\n",
             sym, tml_interval_name(from), tml_interval_name(to), in.len, out.len, st.inserted, st.unchanged,
             st.replaced);
  }
  tml_candles_release(&in);
  tml_candles_release(&out);
  tml_store_close(s);
  return rc ? cli_fail(&err) : 0;
}
