#include "test.h"
#include "trademl/error.h"
#include "trademl/import.h"
#include "trademl/resample.h"
#include "trademl/timeutil.h"

#define M5 (5 * TML_MS_PER_MINUTE)
#define M15 (15 * TML_MS_PER_MINUTE)
#define H1 TML_MS_PER_HOUR
#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z, a Monday */

TEST(complete_and_incomplete_buckets) {
  struct tml_candles in, out;
  tml_candles_init(&in, "BTCUSDT", M5);
  /* 10:50, 10:55 (partial 10:45 bucket: dropped), 11:00..11:10 (complete), 11:15, 11:25 (11:20
   * missing: dropped), 11:30..11:40 (complete). */
  int64_t base = T0 + 10 * H1;
  struct { int m; double o, h, l, c, v; } rows[] = {
      {50, 9, 9, 9, 9, 1},   {55, 9, 9, 9, 9, 1},     {60, 10, 12, 9, 11, 1},   {65, 11, 15, 10, 14, 2},
      {70, 14, 14, 8, 9, 3}, {75, 1, 1, 1, 1, 1},     {85, 1, 1, 1, 1, 1},      {90, 20, 21, 19, 20, 0.5},
      {95, 20, 22, 20, 21, 0.25}, {100, 21, 21, 18, 18.5, 0.125},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
    tml_candles_push(&in, base + H1 + (rows[i].m - 60) * TML_MS_PER_MINUTE, rows[i].o, rows[i].h, rows[i].l,
                     rows[i].c, rows[i].v); /* m = minutes after 10:00 */
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_resample(&in, M15, INT64_MAX, &out, &err), &err);
  CHECK_INT(out.interval_ms, M15);
  CHECK_STR(out.symbol, "BTCUSDT");
  CHECK_INT(out.len, 2);
  CHECK_INT(out.open_time[0], base + H1);
  CHECK_NEAR(out.open[0], 10, 0);
  CHECK_NEAR(out.high[0], 15, 0);
  CHECK_NEAR(out.low[0], 8, 0);
  CHECK_NEAR(out.close[0], 9, 0);
  CHECK_NEAR(out.volume[0], 6, 0);
  CHECK_INT(out.open_time[1], base + H1 + 30 * TML_MS_PER_MINUTE);
  CHECK_NEAR(out.open[1], 20, 0);
  CHECK_NEAR(out.high[1], 22, 0);
  CHECK_NEAR(out.low[1], 18, 0);
  CHECK_NEAR(out.close[1], 18.5, 0);
  CHECK_NEAR(out.volume[1], 0.875, 0);
  tml_candles_release(&out);
  /* The last bucket (11:30-11:45) is still forming at 11:44:59.999: only the first comes out. */
  CHECK_OK(tml_resample(&in, M15, base + H1 + 45 * TML_MS_PER_MINUTE - 1, &out, &err), &err);
  CHECK_INT(out.len, 1);
  CHECK_INT(out.open_time[0], base + H1);
  tml_candles_release(&out);
  CHECK_OK(tml_resample(&in, M15, base + H1 + 45 * TML_MS_PER_MINUTE, &out, &err), &err);
  CHECK_INT(out.len, 2);
  tml_candles_release(&out);
  tml_candles_release(&in);
}

TEST(weeks_start_monday_and_bad_intervals) {
  struct tml_candles in, out;
  tml_candles_init(&in, "ETHUSDT", TML_MS_PER_DAY);
  /* 2023-12-30 (Sat) .. 2024-01-14 (Sun): the week of 2024-01-01 and of 2024-01-08 are complete. */
  for (int d = -2; d < 14; d++)
    tml_candles_push(&in, T0 + d * TML_MS_PER_DAY, 100 + d, 200 + d, 50 + d, 101 + d, 1);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_resample(&in, 7 * TML_MS_PER_DAY, INT64_MAX, &out, &err), &err);
  CHECK_INT(out.len, 2);
  CHECK_INT(out.open_time[0], T0);
  CHECK_NEAR(out.open[0], 100, 0);
  CHECK_NEAR(out.high[0], 206, 0);
  CHECK_NEAR(out.low[0], 50, 0);
  CHECK_NEAR(out.close[0], 107, 0);
  CHECK_NEAR(out.volume[0], 7, 0);
  CHECK_INT(out.open_time[1], T0 + 7 * TML_MS_PER_DAY);
  tml_candles_release(&out);
  CHECK_INT(tml_resample(&in, H1, INT64_MAX, &out, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "cannot resample ETHUSDT from 1d to 1h");
  tml_candles_release(&out);
  tml_candles_release(&in);
  tml_candles_init(&in, "ETHUSDT", 2 * H1);
  tml_error_init(&err);
  CHECK_INT(tml_resample(&in, 3 * H1, INT64_MAX, &out, &err), TML_EINVAL);
  tml_candles_release(&out);
  tml_candles_release(&in);
}

/* Bybit BTC perpetual: 15m resampled to 1h must equal the exchange's own 1h candles wherever the
 * hour is complete in the 15m file. */
TEST(real_bybit_btc_15m_to_1h_matches_exchange_1h) {
  char *p15 = tml_test_data_file("bybit-linear/BTC_USDT_USDT-15m-futures.csv");
  char *p1h = tml_test_data_file("bybit-linear/BTC_USDT_USDT-1h-futures.csv");
  struct tml_candles c15, c1h, out;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_import_opts o = {.symbol = "BTCUSDT", .interval_ms = M15};
  CHECK_OK(tml_import_file(p15, &o, &c15, NULL, &err), &err);
  o.interval_ms = H1;
  CHECK_OK(tml_import_file(p1h, &o, &c1h, NULL, &err), &err);
  CHECK_OK(tml_resample(&c15, H1, INT64_MAX, &out, &err), &err);
  CHECK(out.len > 18000);
  size_t matched = 0;
  for (size_t i = 0; i < out.len; i++) {
    size_t j = tml_candles_lower_bound(&c1h, out.open_time[i]);
    if (j == c1h.len || c1h.open_time[j] != out.open_time[i])
      continue;
    CHECK_NEAR(out.open[i], c1h.open[j], 0);
    CHECK_NEAR(out.high[i], c1h.high[j], 0);
    CHECK_NEAR(out.low[i], c1h.low[j], 0);
    CHECK_NEAR(out.close[i], c1h.close[j], 0);
    CHECK_NEAR(out.volume[i], c1h.volume[j], 1e-9);
    matched++;
  }
  CHECK_MSG(matched * 100 >= out.len * 99, "only %zu of %zu resampled hours found in the 1h file", matched, out.len);
  tml_candles_release(&c15);
  tml_candles_release(&c1h);
  tml_candles_release(&out);
  free(p15);
  free(p1h);
}
