#include "test.h"
#include "trademl/error.h"
#include "trademl/import.h"
#include "trademl/quality.h"
#include "trademl/timeutil.h"

#define M15 (15 * TML_MS_PER_MINUTE)

TEST(hand_series_gaps_and_coverage) {
  struct tml_candles c;
  tml_candles_init(&c, "BTCUSDT", M15);
  /* present: 0,1,2, 5, 6, 10  -> gaps 3..4 (2), 7..9 (3); expected 11, rows 6 */
  int idx[] = {0, 1, 2, 5, 6, 10};
  for (size_t i = 0; i < 6; i++)
    tml_candles_push(&c, INT64_C(1704067200000) + idx[i] * M15, 1, 1, 1, 1, 1);
  struct tml_quality q;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_quality_compute(&c, &q, &err), &err);
  CHECK_INT(q.first_ms, INT64_C(1704067200000));
  CHECK_INT(q.last_ms, INT64_C(1704067200000) + 10 * M15);
  CHECK_INT(q.rows, 6);
  CHECK_INT(q.expected, 11);
  CHECK_INT(q.missing, 5);
  CHECK_INT(q.ngaps, 2);
  CHECK_INT(q.gaps[0].from_ms, INT64_C(1704067200000) + 3 * M15);
  CHECK_INT(q.gaps[0].to_ms, INT64_C(1704067200000) + 4 * M15);
  CHECK_INT(q.gaps[0].missing, 2);
  CHECK_INT(q.gaps[1].from_ms, INT64_C(1704067200000) + 7 * M15);
  CHECK_INT(q.gaps[1].to_ms, INT64_C(1704067200000) + 9 * M15);
  CHECK_INT(q.gaps[1].missing, 3);
  CHECK_NEAR(q.coverage_pct, 100.0 * 6 / 11, 1e-12);
  CHECK_NEAR(q.history_days, 11.0 * 15 / 1440, 1e-12);
  tml_quality_release(&q);
  tml_quality_release(&q); /* idempotent */
  tml_candles_release(&c);
}

TEST(empty_and_unsorted) {
  struct tml_candles c;
  tml_candles_init(&c, "BTCUSDT", M15);
  struct tml_quality q;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_quality_compute(&c, &q, &err), &err);
  CHECK_INT(q.rows, 0);
  CHECK_INT(q.expected, 0);
  CHECK_INT(q.ngaps, 0);
  CHECK_NEAR(q.coverage_pct, 0, 0);
  tml_candles_push(&c, 2 * M15, 1, 1, 1, 1, 1);
  tml_candles_push(&c, M15, 1, 1, 1, 1, 1);
  CHECK_INT(tml_quality_compute(&c, &q, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "quality of BTCUSDT 15m: candle at 1970-01-01T00:15:00Z is out of order");
  tml_candles_release(&c);
}

/* The real Binance spot file: the 2023-03-24 outage (candles 12:45..13:45 missing; 12:30 and 14:00
 * were printed) and the 41-candle hole on 2023-12-31 13:45..23:45 that no source covers. */
TEST(real_binance_btc_15m_known_gaps) {
  char *p = tml_test_data_file("binance-spot/BTCUSDT_15m_2023-2026.csv");
  struct tml_candles c;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_import_opts o = {.symbol = "BTCUSDT", .interval_ms = M15};
  CHECK_OK(tml_import_file(p, &o, &c, NULL, &err), &err);
  struct tml_quality q;
  CHECK_OK(tml_quality_compute(&c, &q, &err), &err);
  CHECK_INT(q.rows, 109129);
  CHECK_INT(q.ngaps, 2);
  CHECK_INT(q.missing, 46);
  CHECK_INT(q.expected, 109175);
  char a[32], b[32];
  tml_time_format(q.gaps[0].from_ms, a, sizeof(a));
  tml_time_format(q.gaps[0].to_ms, b, sizeof(b));
  CHECK_STR(a, "2023-03-24T12:45:00Z");
  CHECK_STR(b, "2023-03-24T13:45:00Z");
  CHECK_INT(q.gaps[0].missing, 5);
  tml_time_format(q.gaps[1].from_ms, a, sizeof(a));
  tml_time_format(q.gaps[1].to_ms, b, sizeof(b));
  CHECK_STR(a, "2023-12-31T13:45:00Z");
  CHECK_STR(b, "2023-12-31T23:45:00Z");
  CHECK_INT(q.gaps[1].missing, 41);
  CHECK_NEAR(q.coverage_pct, 100.0 * 109129 / 109175, 1e-12);
  CHECK_NEAR(q.history_days, 109175.0 / 96, 1e-12);
  tml_quality_release(&q);
  tml_candles_release(&c);
  free(p);
}
