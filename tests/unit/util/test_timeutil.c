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
