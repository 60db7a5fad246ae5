#include "test.h"
#include "trademl/error.h"
#include "trademl/series.h"

TEST(push_sort_and_search) {
  struct tml_candles c;
  struct tml_error err;
  tml_error_init(&err);
  tml_candles_init(&c, "BTCUSDT", 60000);
  for (int i = 9; i >= 0; i--)
    CHECK_INT(tml_candles_push(&c, i * 60000, i, i + 1, i - 1, i, 1), 0);
  CHECK_OK(tml_candles_sort(&c, &err), &err);
  for (size_t i = 0; i < c.len; i++)
    CHECK_INT(c.open_time[i], (long long)i * 60000);
  CHECK_NEAR(c.high[3], 4.0, 0);
  CHECK_INT(tml_candles_lower_bound(&c, 3 * 60000 + 1), 4);
  struct tml_candles s;
  CHECK_INT(tml_candles_slice(&c, 2, 5, &s), 0);
  CHECK_INT(s.len, 3);
  CHECK_INT(s.open_time[0], 120000);
  tml_candles_release(&s);
  tml_candles_push(&c, 60000, 1, 1, 1, 1, 1);
  CHECK_INT(tml_candles_sort(&c, &err), TML_ECONFLICT);
  CHECK_CONTAINS(err.msg, "duplicate candle at 1970-01-01T00:01:00Z");
  tml_candles_release(&c);
}
