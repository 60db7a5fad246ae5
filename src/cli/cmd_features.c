/* trademl features: the feature matrix (or, with --indicators, the raw TA-Lib-named indicator values)
 * of a stored symbol as CSV, for inspection and comparison with other tools. */
#include <stdio.h>
#include <string.h>
#include <math.h>

#include "cli.h"
#include "cli_config.h"
#include "commands.h"
#include "trademl/db.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/featureset.h"
#include "trademl/fsutil.h"
#include "trademl/indicators.h"
#include "trademl/parse.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

static const char usage[] =
    "usage: trademl features --symbol SYMBOL [--interval 15m] [--out FILE] [--indicators]\n"
    "\n"
    "Writes the feature matrix of feature set v1 (warm-up rows dropped) as CSV to FILE or stdout.\n"
    "--indicators writes the raw indicators under TA-Lib names instead (empty where TA-Lib has no value).";

static const struct cli_opt opts[] = {
    {"symbol", CLI_VALUE, "SYMBOL", "stored symbol", NULL},
    {"interval", CLI_VALUE, "INTERVAL", "candle interval", "data.interval"},
    {"out", CLI_VALUE, "FILE", "output CSV (default: stdout)", NULL},
    {"indicators", CLI_FLAG, NULL, "raw TA-Lib-named indicators instead of model features", NULL},
};

static int write_features(const struct tml_candles *c, struct tml_buf *b, struct tml_error *err) {
  struct tml_featureset_opts fo = {.base_interval_ms = c->interval_ms, .htf_interval_ms = 0};
  struct tml_features f;
  int rc = tml_features_compute(c, &fo, &f, err);
  if (rc)
    return rc;
  tml_buf_puts(b, "open_time");
  for (size_t j = 0; j < f.ncols; j++)
    tml_buf_printf(b, ",%s", tml_featureset_name(j));
  tml_buf_putc(b, '\n');
  for (size_t r = 0; r < f.nrows && !rc; r++) {
    char ts[32];
    tml_time_format(f.open_time[r], ts, sizeof(ts));
    tml_buf_puts(b, ts);
    for (size_t j = 0; j < f.ncols; j++)
      tml_buf_printf(b, ",%.9g", (double)f.X[r * f.ncols + j]);
    rc = tml_buf_putc(b, '\n');
  }
  if (rc)
    tml_error_set(err, rc, "feature CSV too large for memory");
  fprintf(stderr, "%zu rows x %zu features (%zu warm-up rows dropped), feature set v%d checksum %s\n", f.nrows,
          f.ncols, f.warmup_dropped, TML_FEATURESET_VERSION, tml_featureset_checksum());
  tml_features_release(&f);
  return rc;
}

static int write_indicators(const struct tml_candles *c, struct tml_buf *b, struct tml_error *err) {
  struct tml_indicator_table t;
  int rc = tml_indicators_compute(c, &t, err);
  if (rc)
    return rc;
  tml_buf_puts(b, "open_time");
  for (size_t j = 0; j < t.ncols; j++)
    tml_buf_printf(b, ",%s", t.names[j]);
  tml_buf_putc(b, '\n');
  for (size_t r = 0; r < t.nrows && !rc; r++) {
    char ts[32];
    tml_time_format(c->open_time[r], ts, sizeof(ts));
    tml_buf_puts(b, ts);
    for (size_t j = 0; j < t.ncols; j++) {
      double v = t.values[j * t.nrows + r];
      if (isnan(v))
        tml_buf_putc(b, ',');
      else
        tml_buf_printf(b, ",%.17g", v);
    }
    rc = tml_buf_putc(b, '\n');
  }
  if (rc)
    tml_error_set(err, rc, "indicator CSV too large for memory");
  tml_indicator_table_release(&t);
  return rc;
}

int cmd_features(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  const char *raw = cli_get(&a, "symbol");
  if (!raw)
    return cli_usage_error("missing --symbol SYMBOL");
  char symbol[TML_SYMBOL_MAX];
  if (tml_symbol_normalize(raw, symbol, sizeof(symbol)) != 0)
    return cli_usage_error("invalid symbol '%s': use letters and digits like BTCUSDT", raw);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_paths paths;
  struct tml_config *cfg = NULL;
  struct tml_store *store = NULL;
  struct tml_candles c;
  tml_candles_init(&c, symbol, 0);
  struct tml_buf b;
  tml_buf_init(&b, (size_t)4 << 30);
  int64_t interval = 0;
  int rc = cli_load_config(&a, &paths, &cfg, &err);
  if (rc)
    return cli_fail(&err);
  if ((rc = tml_interval_parse(tml_config_get(cfg, "data.interval"), &interval, &err)))
    goto out;
  if (!tml_db_exists(paths.db)) {
    rc = tml_error_set(&err, TML_ENOENT, "no candle store at '%s': import candles first", paths.db);
    goto out;
  }
  if ((rc = tml_store_open(paths.db, &store, &err)) ||
      (rc = tml_store_load(store, symbol, interval, INT64_MIN, INT64_MAX, &c, &err)))
    goto out;
  if (c.len == 0) {
    rc = tml_error_set(&err, TML_ENOENT, "no %s candles for %s in '%s' (see `trademl data list`)",
                       tml_interval_name(interval), symbol, paths.db);
    goto out;
  }
  rc = cli_has(&a, "indicators") ? write_indicators(&c, &b, &err) : write_features(&c, &b, &err);
  if (rc)
    goto out;
  const char *path = cli_get(&a, "out");
  if (path && strcmp(path, "-") != 0)
    rc = tml_write_file_atomic(path, b.ptr, b.len, &err);
  else if (fwrite(b.ptr, 1, b.len, stdout) != b.len)
    rc = tml_error_set(&err, TML_EIO, "cannot write to stdout");
out:
  tml_buf_release(&b);
  tml_candles_release(&c);
  tml_store_close(store);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}
