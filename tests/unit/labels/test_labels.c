/* Labels: targets on hand-made candles (every value computed by hand in the comments), the tp1 hit
 * rule, NaN tail, thresholds fitted only on the given rows, and a real-data sanity run. */
#include "test.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/labels.h"
#include "trademl/parse.h"
#include "trademl/series.h"

/* n candles from close/high/low arrays (open = previous close), 1 h apart. */
static void make_candles(struct tml_candles *c, const double *cl, const double *hi,
                         const double *lo, size_t n) {
  tml_candles_init(c, "TESTUSDT", 3600000);
  for (size_t i = 0; i < n; i++)
    CHECK_INT(tml_candles_push(c, (int64_t)i * 3600000, i ? cl[i - 1] : cl[0], hi[i], lo[i], cl[i],
                               1.0),
              0);
}

static struct tml_label_spec spec_h2(void) {
  struct tml_label_spec s;
  tml_label_spec_default(&s);
  s.horizon = 2;
  s.min_fit_rows = 3;
  return s;
}

TEST(head_names_and_classes) {
  CHECK_STR(tml_head_name(TML_HEAD_DIRECTION), "direction");
  CHECK_STR(tml_head_name(TML_HEAD_POSITION_SIZE), "position_size");
  CHECK(tml_head_name(TML_HEAD_COUNT) == NULL);
  CHECK_INT(tml_head_nclass(TML_HEAD_DIRECTION), 3);
  CHECK_INT(tml_head_nclass(TML_HEAD_VOLATILITY), 4);
  CHECK_INT(tml_head_nclass(TML_HEAD_TIMING), 3);
  CHECK_INT(tml_head_nclass(TML_HEAD_STOP_LOSS), 0);
  CHECK_INT(tml_head_nclass(TML_HEAD_POSITION_SIZE), 0);
  CHECK_STR(tml_head_class_name(TML_HEAD_DIRECTION, 0), "down");
  CHECK_STR(tml_head_class_name(TML_HEAD_DIRECTION, 2), "up");
  CHECK_STR(tml_head_class_name(TML_HEAD_VOLATILITY, 3), "extreme");
  CHECK_STR(tml_head_class_name(TML_HEAD_TIMING, 1), "ok");
  CHECK(tml_head_class_name(TML_HEAD_TIMING, 3) == NULL);
  CHECK(tml_head_class_name(TML_HEAD_STOP_LOSS, 0) == NULL);
}

TEST(spec_defaults_validate_json) {
  struct tml_label_spec s;
  struct tml_error err;
  tml_error_init(&err);
  tml_label_spec_default(&s);
  CHECK_INT(s.horizon, 12);
  CHECK_OK(tml_label_spec_validate(&s, &err), &err);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  CHECK_INT(tml_label_spec_to_json(&s, &b), 0);
  CHECK_STR(tml_buf_str(&b),
            "{\"horizon\":12,\"direction_mode\":\"quantile\",\"direction_quantiles\":[0.33333333333333331,"
            "0.66666666666666663],\"direction_band\":0.002,\"volatility_quantiles\":[0.5,0.8,0.95],"
            "\"timing_quantiles\":[0.33333333333333331,0.66666666666666663],\"tp1_pct\":1,"
            "\"tp1_stop_pct\":1,\"stop_loss_mult\":1,\"stop_loss_min_pct\":0.5,"
            "\"stop_loss_max_pct\":5,\"target_risk_pct\":0.5,\"position_min\":0.1,"
            "\"position_max\":1,\"min_fit_rows\":50}");
  tml_buf_release(&b);
  s.horizon = 0;
  CHECK_INT(tml_label_spec_validate(&s, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "horizon = 0");
  tml_label_spec_default(&s);
  s.volatility_quantiles[1] = 0.4;
  tml_error_init(&err);
  CHECK_INT(tml_label_spec_validate(&s, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "volatility_quantiles must be strictly increasing");
  tml_label_spec_default(&s);
  s.stop_loss_min_pct = 6;
  tml_error_init(&err);
  CHECK_INT(tml_label_spec_validate(&s, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "stop_loss_min_pct 6 is above stop_loss_max_pct 5");
}

/* Long case, h = 2, tp1 = 1 %, stop 1 %:
 * t0 close 100; t1 H 101.5 L 99.5 C 101; t2 H 102.5 L 100.8 C 102; t3, t4 tail. */
TEST(targets_hand_long) {
  const double cl[5] = {100, 101, 102, 100, 99};
  const double hi[5] = {100, 101.5, 102.5, 102, 100};
  const double lo[5] = {100, 99.5, 100.8, 99.9, 98};
  struct tml_candles c;
  make_candles(&c, cl, hi, lo, 5);
  struct tml_label_spec s = spec_h2();
  struct tml_targets t;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_targets_compute(&c, &s, &t, &err), &err);
  CHECK_INT(t.len, 5);
  /* fwd_return = ln(102/100) */
  CHECK_NEAR(t.fwd_return[0], log(1.02), 1e-15);
  /* r1 = ln(101/100), r2 = ln(102/101): population std of two values = |r1 - r2| / 2 */
  CHECK_NEAR(t.fwd_vol[0], fabs(log(1.01) - log(102.0 / 101.0)) / 2.0, 1e-15);
  /* long: fav = {0.015, 0.025}, adv = {0.005, -0.008}: MFE 0.025, MAE 0.005,
   * timing = 0.025 / 0.030 = 0.8333..; target 1 % reached at t1 -> MAE before = 0.005 ->
   * stop 0.5 % (at the floor), position = 0.5 / 0.5 = 1 */
  CHECK_NEAR(t.timing[0], 0.025 / 0.030, 1e-12);
  CHECK_NEAR(t.stop_loss_pct[0], 0.5, 1e-12);
  CHECK_NEAR(t.position_size[0], 1.0, 1e-12);
  /* tp1: t1 low 99.5 > 99 (no stop), high 101.5 >= 101 -> hit */
  CHECK_INT(t.tp1_hit[0], 1);
  /* row 1 (close 101): window t2, t3; fwd = ln(100/101) < 0 -> short;
   * fav = 1 - L/101: {1 - 100.8/101, 1 - 99.9/101}, adv = H/101 - 1: {102.5/101 - 1, 102/101 - 1}
   * target 1 % first reached at t3 (1 - 99.9/101 = 0.01089) -> MAE before = 102.5/101 - 1
   * = 1.485 % -> stop 1.4851 %, position 0.5 / 1.4851 = 0.33667 */
  CHECK_NEAR(t.fwd_return[1], log(100.0 / 101.0), 1e-15);
  double mae = 102.5 / 101.0 - 1.0, mfe = 1.0 - 99.9 / 101.0;
  CHECK_NEAR(t.timing[1], mfe / (mfe + mae), 1e-12);
  CHECK_NEAR(t.stop_loss_pct[1], 100.0 * mae, 1e-12);
  CHECK_NEAR(t.position_size[1], 0.5 / (100.0 * mae), 1e-12);
  /* tp1 long from 101: t2 low 100.8 > 99.99, high 102.5 >= 102.01 -> hit */
  CHECK_INT(t.tp1_hit[1], 1);
  /* row 2 (close 102): t3 low 99.9 <= 100.98 -> stop first */
  CHECK_INT(t.tp1_hit[2], 0);
  /* the last h = 2 rows have no label */
  CHECK_INT(t.unlabelled, 2);
  for (size_t i = 3; i < 5; i++) {
    CHECK(isnan(t.fwd_return[i]) && isnan(t.fwd_vol[i]) && isnan(t.timing[i]));
    CHECK(isnan(t.stop_loss_pct[i]) && isnan(t.position_size[i]));
    CHECK_INT(t.tp1_hit[i], -1);
  }
  tml_targets_release(&t);
  tml_candles_release(&c);
}

TEST(tp1_hit_rules) {
  struct tml_label_spec s = spec_h2();
  struct tml_targets t;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_candles c;
  /* same candle touches both 101 and 99 -> stop first (0) */
  const double cl1[3] = {100, 100, 100}, hi1[3] = {100, 101.2, 100}, lo1[3] = {100, 98.9, 100};
  make_candles(&c, cl1, hi1, lo1, 3);
  CHECK_OK(tml_targets_compute(&c, &s, &t, &err), &err);
  CHECK_INT(t.tp1_hit[0], 0);
  tml_targets_release(&t);
  tml_candles_release(&c);
  /* neither level touched within the horizon -> 0 */
  const double cl2[3] = {100, 100.5, 100.2}, hi2[3] = {100, 100.9, 100.6}, lo2[3] = {100, 99.2, 99.5};
  make_candles(&c, cl2, hi2, lo2, 3);
  CHECK_OK(tml_targets_compute(&c, &s, &t, &err), &err);
  CHECK_INT(t.tp1_hit[0], 0);
  tml_targets_release(&t);
  tml_candles_release(&c);
  /* target touched in the second candle, after a close call on the stop (99.01 > 99) -> 1 */
  const double cl3[3] = {100, 99.5, 101}, hi3[3] = {100, 100, 101.0}, lo3[3] = {100, 99.01, 99.4};
  make_candles(&c, cl3, hi3, lo3, 3);
  CHECK_OK(tml_targets_compute(&c, &s, &t, &err), &err);
  CHECK_INT(t.tp1_hit[0], 1);
  tml_targets_release(&t);
  tml_candles_release(&c);
  /* a target beyond the horizon does not count: h = 1 sees only the first candle */
  s.horizon = 1;
  make_candles(&c, cl3, hi3, lo3, 3);
  CHECK_OK(tml_targets_compute(&c, &s, &t, &err), &err);
  CHECK_INT(t.tp1_hit[0], 0);
  CHECK_INT(t.unlabelled, 1);
  tml_targets_release(&t);
  tml_candles_release(&c);
}

TEST(stop_loss_clip_and_no_target) {
  /* long (fwd >= 0), target 1 % never reached, adverse 8 % -> stop clipped to 5 %, position 0.1 */
  const double cl[3] = {100, 95, 100.5}, hi[3] = {100, 100.5, 100.9}, lo[3] = {100, 92, 94};
  struct tml_candles c;
  make_candles(&c, cl, hi, lo, 3);
  struct tml_label_spec s = spec_h2();
  struct tml_targets t;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_targets_compute(&c, &s, &t, &err), &err);
  CHECK_NEAR(t.stop_loss_pct[0], 5.0, 0);
  CHECK_NEAR(t.position_size[0], 0.1, 1e-15);
  /* MFE = 0.009, MAE = 0.08 -> timing 0.009 / 0.089 */
  CHECK_NEAR(t.timing[0], (100.9 / 100 - 1) / ((100.9 / 100 - 1) + (1 - 92.0 / 100)), 1e-12);
  /* stop_loss_mult = 0.5 halves the unclipped stop: adverse 3 % -> 1.5 % */
  const double lo2[3] = {100, 97, 99};
  tml_targets_release(&t);
  tml_candles_release(&c);
  make_candles(&c, cl, hi, lo2, 3);
  s.stop_loss_mult = 0.5;
  CHECK_OK(tml_targets_compute(&c, &s, &t, &err), &err);
  CHECK_NEAR(t.stop_loss_pct[0], 1.5, 1e-12);
  CHECK_NEAR(t.position_size[0], 0.5 / 1.5, 1e-12);
  tml_targets_release(&t);
  tml_candles_release(&c);
}

TEST(bad_price_unlabelled) {
  const double cl[5] = {100, 101, 0, 100, 99}, hi[5] = {100, 102, 103, 101, 100},
               lo[5] = {100, 99, 98, 99, 98};
  struct tml_candles c;
  make_candles(&c, cl, hi, lo, 5);
  struct tml_label_spec s = spec_h2();
  struct tml_targets t;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_targets_compute(&c, &s, &t, &err), &err);
  /* rows 0, 1, 2 see the zero close of row 2; rows 3, 4 lack a horizon */
  CHECK_INT(t.unlabelled, 5);
  CHECK(isnan(t.fwd_return[0]));
  tml_targets_release(&t);
  tml_candles_release(&c);
}

TEST(fit_uses_only_given_rows) {
  /* 300 rows; fit on [100, 200) where fwd = 1..100 (shuffled order does not matter):
   * linear-interpolated quantiles: q(1/3) = 1 + 99/3 = 34, q(2/3) = 1 + 198/3 = 67,
   * vol = 0.01 * (1..100): q(.5) = 0.505, q(.8) = 0.802, q(.95) = 0.9505 */
  enum { N = 300 };
  double fwd[N], vol[N], tim[N];
  for (int i = 0; i < N; i++) {
    int k = (i * 37) % 100 + 1; /* a permutation of 1..100 on every block of 100 */
    fwd[i] = k;
    vol[i] = 0.01 * k;
    tim[i] = 0.001 * k;
  }
  struct tml_label_spec s;
  tml_label_spec_default(&s);
  struct tml_range r = {100, 200};
  struct tml_label_thresholds th, th2;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_labels_fit(fwd, vol, tim, &r, 1, &s, &th, &err), &err);
  CHECK_NEAR(th.direction[0], 34.0, 1e-12);
  CHECK_NEAR(th.direction[1], 67.0, 1e-12);
  CHECK_NEAR(th.volatility[0], 0.505, 1e-12);
  CHECK_NEAR(th.volatility[1], 0.802, 1e-12);
  CHECK_NEAR(th.volatility[2], 0.9505, 1e-12);
  CHECK_NEAR(th.timing[0], 0.034, 1e-12);
  /* change every value outside the range: thresholds unchanged */
  for (int i = 0; i < N; i++)
    if (i < 100 || i >= 200)
      fwd[i] = vol[i] = tim[i] = 1e6 + i;
  CHECK_OK(tml_labels_fit(fwd, vol, tim, &r, 1, &s, &th2, &err), &err);
  CHECK(memcmp(&th, &th2, sizeof th) == 0);
  /* a NaN row inside the range is ignored; a changed value inside changes the fit */
  fwd[150] = NAN;
  CHECK_OK(tml_labels_fit(fwd, vol, tim, &r, 1, &s, &th2, &err), &err);
  CHECK(th2.direction[0] != th.direction[0] || th2.direction[1] != th.direction[1]);
  /* two ranges are pooled: [100,150) + [150,200) = the same rows */
  fwd[150] = (150 * 37) % 100 + 1;
  struct tml_range two[2] = {{100, 150}, {150, 200}};
  CHECK_OK(tml_labels_fit(fwd, vol, tim, two, 2, &s, &th2, &err), &err);
  CHECK(memcmp(&th, &th2, sizeof th) == 0);
  /* too few rows -> TML_EDATA */
  struct tml_range small = {100, 120};
  CHECK_INT(tml_labels_fit(fwd, vol, tim, &small, 1, &s, &th2, &err), TML_EDATA);
  CHECK_CONTAINS(err.msg, "only 20 labelled training rows");
  /* band mode: fixed symmetric boundaries */
  s.direction_mode = TML_DIRECTION_BAND;
  s.direction_band = 0.004;
  CHECK_OK(tml_labels_fit(fwd, vol, tim, &r, 1, &s, &th2, &err), &err);
  CHECK_NEAR(th2.direction[0], -0.004, 0);
  CHECK_NEAR(th2.direction[1], 0.004, 0);
}

TEST(head_values) {
  struct tml_label_thresholds th = {{-0.01, 0.01}, {0.1, 0.2, 0.3}, {0.4, 0.6}};
  float y;
  CHECK_INT(tml_labels_head_value(TML_HEAD_DIRECTION, &th, -0.02, 0, 0, 0, 0, &y), 0);
  CHECK_NEAR(y, 0, 0);
  /* a value equal to a boundary falls in the lower class */
  CHECK_INT(tml_labels_head_value(TML_HEAD_DIRECTION, &th, -0.01, 0, 0, 0, 0, &y), 0);
  CHECK_NEAR(y, 0, 0);
  CHECK_INT(tml_labels_head_value(TML_HEAD_DIRECTION, &th, 0.0, 0, 0, 0, 0, &y), 0);
  CHECK_NEAR(y, 1, 0);
  CHECK_INT(tml_labels_head_value(TML_HEAD_DIRECTION, &th, 0.05, 0, 0, 0, 0, &y), 0);
  CHECK_NEAR(y, 2, 0);
  CHECK_INT(tml_labels_head_value(TML_HEAD_VOLATILITY, &th, 0, 0.25, 0, 0, 0, &y), 0);
  CHECK_NEAR(y, 2, 0);
  CHECK_INT(tml_labels_head_value(TML_HEAD_VOLATILITY, &th, 0, 0.35, 0, 0, 0, &y), 0);
  CHECK_NEAR(y, 3, 0);
  CHECK_INT(tml_labels_head_value(TML_HEAD_TIMING, &th, 0, 0, 0.5, 0, 0, &y), 0);
  CHECK_NEAR(y, 1, 0);
  CHECK_INT(tml_labels_head_value(TML_HEAD_STOP_LOSS, &th, 0, 0, 0, 1.25, 0, &y), 0);
  CHECK_NEAR(y, 1.25, 0);
  CHECK_INT(tml_labels_head_value(TML_HEAD_POSITION_SIZE, &th, 0, 0, 0, 1.25, 0.4, &y), 0);
  CHECK_NEAR(y, 0.4f, 0);
  CHECK_INT(tml_labels_head_value(TML_HEAD_DIRECTION, &th, NAN, 0, 0, 0, 0, &y), TML_EDATA);
  CHECK(isnan(y));
  CHECK_INT(tml_labels_head_value(TML_HEAD_COUNT, &th, 0, 0, 0, 0, 0, &y), TML_EINVAL);
}


TEST(real_data_btc_1h) {
  char *path = tml_test_data_file("binance-spot/BTCUSDT_1h_2021-2026.csv");
  struct tml_candles c;
  CHECK_INT(tml_test_load_candles(path, "BTCUSDT", 5000, &c), 5000);
  free(path);
  struct tml_label_spec s;
  tml_label_spec_default(&s);
  struct tml_targets t;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_targets_compute(&c, &s, &t, &err), &err);
  CHECK_INT(t.unlabelled, 12);
  size_t hits = 0, known = 0;
  for (size_t i = 0; i + 12 < t.len; i++) {
    CHECK(isfinite(t.fwd_return[i]) && t.fwd_vol[i] >= 0 && t.timing[i] >= 0 && t.timing[i] <= 1);
    CHECK(t.stop_loss_pct[i] >= 0.5 && t.stop_loss_pct[i] <= 5.0);
    CHECK(t.position_size[i] >= 0.1 && t.position_size[i] <= 1.0);
    /* position x stop = target risk (0.5 %) wherever neither is clipped */
    CHECK_NEAR(t.position_size[i] * t.stop_loss_pct[i], 0.5, 1e-12);
    known += t.tp1_hit[i] >= 0;
    hits += t.tp1_hit[i] == 1;
  }
  CHECK_INT(known, 5000 - 12);
  double rate = (double)hits / (double)known;
  CHECK_MSG(rate > 0.15 && rate < 0.6, "tp1 hit rate %g is implausible for BTC 1h", rate);
  /* fit on the first 3000 rows: each direction class holds about a third of them */
  struct tml_range r = {0, 3000};
  struct tml_label_thresholds th;
  CHECK_OK(tml_labels_fit(t.fwd_return, t.fwd_vol, t.timing, &r, 1, &s, &th, &err), &err);
  CHECK(th.direction[0] < 0 && th.direction[1] > 0);
  CHECK(th.volatility[0] < th.volatility[1] && th.volatility[1] < th.volatility[2]);
  float *y = malloc(t.len * sizeof *y);
  size_t nan_rows = 0, count[3] = {0, 0, 0};
  CHECK_INT(tml_labels_head_fill(TML_HEAD_DIRECTION, &th, &t, y, &nan_rows), 0);
  CHECK_INT(nan_rows, 12);
  for (size_t i = 0; i < 3000; i++)
    count[(int)y[i]]++;
  for (int k = 0; k < 3; k++)
    CHECK_MSG(count[k] >= 999 && count[k] <= 1001, "class %d has %zu of 3000 rows", k, count[k]);
  printf("BTC 1h 5000 rows: tp1 hit rate %.3f, direction thresholds %.5f %.5f, vol %.5f %.5f %.5f\n",
         rate, th.direction[0], th.direction[1], th.volatility[0], th.volatility[1],
         th.volatility[2]);
  free(y);
  tml_targets_release(&t);
  tml_candles_release(&c);
}
