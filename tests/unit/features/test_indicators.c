#include "test.h"
#include "trademl/error.h"
#include "trademl/indicators.h"
#include "trademl/series.h"

#include <unistd.h>


/* ---- small exact cases ---- */

TEST(init_rejects_bad_periods) {
  struct tml_sma s;
  struct tml_rsi r;
  struct tml_cci c;
  struct tml_macd m;
  CHECK_INT(tml_sma_init(&s, 0), TML_EINVAL);
  CHECK_INT(tml_sma_init(&s, TML_IND_MAX_PERIOD + 1), TML_EINVAL);
  CHECK_INT(tml_sma_init(&s, TML_IND_MAX_PERIOD), 0);
  CHECK_INT(tml_rsi_init(&r, 1), TML_EINVAL);
  CHECK_INT(tml_cci_init(&c, 1), TML_EINVAL);
  CHECK_INT(tml_macd_init(&m, 12, 26, 0), TML_EINVAL);
}

TEST(sma_ema_lookback_and_values) {
  struct tml_sma s;
  struct tml_ema e;
  CHECK_INT(tml_sma_init(&s, 3), 0);
  CHECK_INT(tml_ema_init(&e, 3), 0);
  const double x[] = {1, 2, 3, 4, 8};
  double sma[5], ema[5];
  for (int i = 0; i < 5; i++) {
    sma[i] = tml_sma_update(&s, x[i]);
    ema[i] = tml_ema_update(&e, x[i]);
  }
  CHECK(isnan(sma[0]) && isnan(sma[1]) && isnan(ema[1]));
  CHECK_NEAR(sma[2], 2.0, 0);
  CHECK_NEAR(sma[3], 3.0, 0);
  CHECK_NEAR(sma[4], 5.0, 0);
  CHECK_NEAR(ema[2], 2.0, 0);             /* seeded with SMA(1,2,3) */
  CHECK_NEAR(ema[3], 3.0, 0);             /* (4-2)*0.5+2 */
  CHECK_NEAR(ema[4], 5.5, 0);             /* (8-3)*0.5+3 */
}

TEST(rolling_extreme_matches_brute_force) {
  struct tml_rolling_extreme mx, mn;
  CHECK_INT(tml_rolling_extreme_init(&mx, 7, true), 0);
  CHECK_INT(tml_rolling_extreme_init(&mn, 7, false), 0);
  double x[500];
  uint64_t st = 88172645463325252ull;
  for (int i = 0; i < 500; i++) {
    st ^= st << 13, st ^= st >> 7, st ^= st << 17;
    x[i] = (double)(st % 50); /* many ties */
  }
  for (int i = 0; i < 500; i++) {
    double a = tml_rolling_extreme_update(&mx, x[i]), b = tml_rolling_extreme_update(&mn, x[i]);
    if (i < 6) {
      CHECK(isnan(a) && isnan(b));
      continue;
    }
    double hi = x[i], lo = x[i];
    for (int j = i - 6; j <= i; j++) {
      hi = fmax(hi, x[j]);
      lo = fmin(lo, x[j]);
    }
    CHECK_NEAR(a, hi, 0);
    CHECK_NEAR(b, lo, 0);
  }
}

TEST(flat_series_defined_values) {
  /* A constant price: TA-Lib's zero guards give RSI 0, CCI 0, WILLR 0, STOCH 0, ADX stays 0. */
  struct tml_rsi r;
  struct tml_cci c;
  struct tml_willr w;
  struct tml_adx a;
  tml_rsi_init(&r, 14);
  tml_cci_init(&c, 20);
  tml_willr_init(&w, 14);
  tml_adx_init(&a, 14);
  double rv = 0, cv = 0, wv = 0, av = 0, pdi = 0;
  for (int i = 0; i < 60; i++) {
    rv = tml_rsi_update(&r, 100);
    cv = tml_cci_update(&c, 100, 100, 100);
    wv = tml_willr_update(&w, 100, 100, 100);
    av = tml_adx_update(&a, 100, 100, 100, &pdi, NULL);
  }
  CHECK_NEAR(rv, 0, 0);
  CHECK_NEAR(cv, 0, 0);
  CHECK_NEAR(wv, 0, 0);
  CHECK_NEAR(pdi, 0, 0);
  CHECK(av == 0.0);
}

TEST(table_shape_and_lookbacks) {
  struct tml_candles c;
  tml_candles_init(&c, "SYN", 60000);
  for (int i = 0; i < 100; i++) {
    double p = 100 + 10 * sin(i * 0.3);
    tml_candles_push(&c, i * 60000, p, p + 1, p - 1, p + 0.5, 10 + i);
  }
  struct tml_indicator_table t;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_indicators_compute(&c, &t, &err), &err);
  CHECK_INT(t.ncols, 23);
  CHECK_INT(t.nrows, 100);
  /* first defined row per column = TA-Lib's lookback */
  static const struct {
    const char *name;
    int lookback;
  } lb[] = {{"RSI_14", 14},       {"EMA_20", 19},         {"MACD_12_26_9", 33},
            {"ATR_14", 14},       {"ADX_14", 27},         {"PLUS_DI_14", 14},
            {"BBANDS_UPPER_20_2", 19}, {"STOCH_SLOWK_14_3_3", 17}, {"STOCH_SLOWD_14_3_3", 17},
            {"WILLR_14", 13},     {"CCI_20", 19},         {"MFI_14", 14},
            {"OBV", 0},           {"ROC_10", 10},         {"MOM_10", 10},
            {"SMA_50", 49},       {"TRANGE", 1}};
  for (size_t k = 0; k < sizeof(lb) / sizeof(lb[0]); k++) {
    size_t col = t.ncols;
    for (size_t j = 0; j < t.ncols; j++)
      if (strcmp(t.names[j], lb[k].name) == 0)
        col = j;
    CHECK_MSG(col < t.ncols, "column %s missing", lb[k].name);
    size_t first = 0;
    while (first < t.nrows && isnan(t.values[col * t.nrows + first]))
      first++;
    CHECK_MSG((int)first == lb[k].lookback, "%s: first value at %zu, TA-Lib lookback %d",
              lb[k].name, first, lb[k].lookback);
    for (size_t i = first; i < t.nrows; i++)
      CHECK_MSG(!isnan(t.values[col * t.nrows + i]), "%s: NaN at %zu", lb[k].name, i);
  }
  tml_indicator_table_release(&t);
  tml_indicator_table_release(&t); /* idempotent */
  tml_candles_release(&c);
}

/* ---- TA-Lib itself as the reference (tests/talib/reference.js, npm `talib`) ---- */

static void compare_with_talib(const char *relpath, size_t rows) {
  char *data = tml_test_data_file(relpath);
  char script[1024], module[1024];
  snprintf(script, sizeof(script), "%s/tests/talib/reference.js", TML_SOURCE_DIR);
  snprintf(module, sizeof(module), "%s/tests/talib/node_modules/talib/package.json", TML_SOURCE_DIR);
  if (system("node --version >/dev/null 2>&1") != 0) {
    free(data);
    SKIP("node is not installed (scripts/setup.sh --test installs nodejs)");
  }
  if (access(module, R_OK) != 0) {
    free(data);
    SKIP("TA-Lib reference missing: run (cd tests/talib && npm ci) or scripts/setup.sh --test");
  }
  struct tml_candles c;
  CHECK(tml_test_load_candles(data, "REF", rows, &c) > 0);
  struct tml_indicator_table t;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_indicators_compute(&c, &t, &err), &err);

  char cmd[4096];
  snprintf(cmd, sizeof(cmd), "node '%s' '%s' %zu", script, data, rows);
  FILE *p = popen(cmd, "r");
  CHECK_MSG(p != NULL, "cannot run %s", cmd);
  char *line = NULL;
  size_t cap = 0;
  CHECK_MSG(getline(&line, &cap, p) > 0, "no output from %s", cmd);
  /* header: open_time + names; map each to our column */
  size_t map[64], nref = 0;
  char *save = NULL;
  for (char *tok = strtok_r(line, ",\r\n", &save); tok; tok = strtok_r(NULL, ",\r\n", &save)) {
    if (nref++ == 0)
      continue;
    size_t col = t.ncols;
    for (size_t j = 0; j < t.ncols; j++)
      if (strcmp(t.names[j], tok) == 0)
        col = j;
    CHECK_MSG(col < t.ncols, "reference column %s has no counterpart", tok);
    map[nref - 2] = col;
  }
  nref--;
  CHECK_INT(nref, t.ncols);
  size_t row = 0, exact = 0, compared = 0;
  double worst = 0;
  const char *worst_col = "";
  size_t worst_row = 0;
  while (getline(&line, &cap, p) > 0) {
    CHECK_MSG(row < t.nrows, "reference has more rows than the input (%zu)", t.nrows);
    char *q = line, *end;
    long long ts = strtoll(q, &end, 10);
    CHECK_INT(ts, c.open_time[row]);
    q = end;
    for (size_t k = 0; k < nref; k++) {
      CHECK(*q == ',');
      q++;
      double ref = strtod(q, &end);
      CHECK_MSG(end != q, "row %zu: unparsable reference value", row);
      q = end;
      double mine = t.values[map[k] * t.nrows + row];
      const char *name = t.names[map[k]];
      CHECK_MSG(isnan(ref) == isnan(mine), "%s row %zu: TA-Lib %.17g, trademl %.17g (NaN positions "
                "differ)", name, row, ref, mine);
      if (isnan(ref))
        continue;
      compared++;
      double scale = fabs(ref) > 1.0 ? fabs(ref) : 1.0;
      double d = fabs(mine - ref) / scale;
      if (d == 0)
        exact++;
      if (d > worst) {
        worst = d;
        worst_col = name;
        worst_row = row;
      }
      CHECK_MSG(d <= 1e-9, "%s row %zu: TA-Lib %.17g, trademl %.17g (rel diff %.3g)", name, row,
                ref, mine, d);
    }
    row++;
  }
  free(line);
  CHECK_INT(pclose(p), 0);
  CHECK_INT(row, t.nrows);
  printf("%s: %zu rows x %zu columns, %zu values compared, %zu bit-identical, worst rel diff %.3g "
         "(%s row %zu)\n",
         relpath, row, nref, compared, exact, worst, worst_col, worst_row);
  tml_indicator_table_release(&t);
  tml_candles_release(&c);
  free(data);
}

TEST(talib_btc_15m) { compare_with_talib("binance-spot/BTCUSDT_15m_2023-2026.csv", 20000); }

TEST(talib_eth_1h) { compare_with_talib("binance-spot/ETHUSDT_1h_2021-2026.csv", 20000); }

TEST(talib_ada_1h_small_prices) { compare_with_talib("binance-spot/ADAUSDT_1h_2021-2026.csv", 20000); }
