#include "test.h"
#include "trademl/error.h"
#include "trademl/timeutil.h"

TEST(interval_parse_names) {
  int64_t ms = 0;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_interval_parse("15m", &ms, &err), &err);
  CHECK_INT(ms, 15 * 60000);
  CHECK_OK(tml_interval_parse("M15", &ms, &err), &err);
  CHECK_INT(ms, 15 * 60000);
  CHECK_OK(tml_interval_parse("H4", &ms, &err), &err);
  CHECK_INT(ms, 4 * 3600000);
  CHECK_OK(tml_interval_parse("1h", &ms, &err), &err);
  CHECK_STR(tml_interval_name(ms), "1h");
  CHECK_INT(tml_interval_parse("7m", &ms, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "unknown interval '7m'");
  CHECK_CONTAINS(err.msg, "15m");
}

/* The walk-forward scripts' timeframe names (M15, H1, D1, ...) are the same intervals everywhere one is
 * parsed, and the error for an unknown one lists both forms. */
TEST(interval_parse_timeframe_names) {
  static const struct {
    const char *in, *canon;
  } cases[] = {{"M1", "1m"},  {"M3", "3m"},  {"M5", "5m"},  {"M15", "15m"}, {"M30", "30m"},
               {"H1", "1h"},  {"H2", "2h"},  {"H4", "4h"},  {"H6", "6h"},   {"H8", "8h"},
               {"H12", "12h"}, {"D1", "1d"}, {"W1", "1w"},  {"m15", "15m"}, {"h1", "1h"}, {"60m", "1h"}};
  struct tml_error err;
  tml_error_init(&err);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int64_t ms = 0;
    CHECK_OK(tml_interval_parse(cases[i].in, &ms, &err), &err);
    CHECK_STR(tml_interval_name(ms), cases[i].canon);
  }
  int64_t ms = 0;
  CHECK_INT(tml_interval_parse("M7", &ms, &err), TML_EINVAL);
  CHECK_STR(err.msg, "unknown interval 'M7': use one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 1w, or the "
                     "same as M1, M3, M5, M15, M30, H1, H2, H4, H6, H8, H12, D1, W1");
  tml_error_init(&err);
  CHECK_INT(tml_interval_parse("1M", &ms, &err), TML_EINVAL); /* a month on exchanges: not supported */
  tml_error_init(&err);
  CHECK_INT(tml_interval_parse("M15x", &ms, &err), TML_EINVAL);
}

TEST(civil_roundtrip) {
  for (int64_t d = -800000; d < 800000; d += 7) {
    int64_t y;
    unsigned m, dd;
    tml_civil_from_days(d, &y, &m, &dd);
    CHECK_INT(tml_days_from_civil(y, m, dd), d);
  }
  CHECK_INT(tml_days_from_civil(2024, 2, 29), 19782);
}

TEST(time_parse_formats) {
  int64_t ms;
  CHECK_INT(tml_time_parse("2024-12-03 21:20:00", 19, &ms), 0);
  CHECK_INT(ms, INT64_C(1733260800000));
  CHECK_INT(tml_time_parse("2024-12-03T21:20:00Z", 20, &ms), 0);
  CHECK_INT(ms, INT64_C(1733260800000));
  CHECK_INT(tml_time_parse("2024-12-03T23:20:00+02:00", 25, &ms), 0);
  CHECK_INT(ms, INT64_C(1733260800000));
  CHECK_INT(tml_time_parse("2024-12-03", 10, &ms), 0);
  CHECK_INT(ms, INT64_C(1733184000000));
  CHECK_INT(tml_time_parse("2023-02-30", 10, &ms), TML_EPARSE);
  CHECK_INT(tml_time_parse("2023-02-3x", 10, &ms), TML_EPARSE);
  CHECK_INT(tml_time_parse("2023-02-03 25:00", 16, &ms), TML_EPARSE);
}

TEST(time_format_and_floor) {
  char buf[32];
  tml_time_format(INT64_C(1733260800000), buf, sizeof(buf));
  CHECK_STR(buf, "2024-12-03T21:20:00Z");
  CHECK_INT(tml_time_floor(INT64_C(1733260800000) + 1234, 3600000), INT64_C(1733259600000));
  /* 2024-12-03 is a Tuesday; its week starts Monday 2024-12-02. */
  CHECK_INT(tml_time_floor(INT64_C(1733260800000), 7 * 86400000LL), INT64_C(1733097600000));
  CHECK_INT(tml_time_floor(-1, 60000), -60000);
}
