/* cron: parsing (lists, ranges, steps, names, errors naming the field) and next/previous fire times,
 * including the Vixie day-of-month OR day-of-week rule, month ends and leap days (UTC, no DST). */
#include "test.h"

#include "trademl/cron.h"
#include "trademl/error.h"
#include "trademl/timeutil.h"

static int64_t T(const char *s) {
  int64_t ms = 0;
  if (tml_time_parse(s, strlen(s), &ms) != 0)
    tml_test_fail(__FILE__, __LINE__, "bad time %s", s);
  return ms;
}

static const char *next_str(const char *expr, const char *after) {
  static char out[32];
  struct tml_cron c;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_cron_parse(expr, &c, &err), &err);
  int64_t n = 0;
  if (tml_cron_next(&c, T(after), &n) != 0)
    return "none";
  tml_time_format(n, out, sizeof(out));
  return out;
}

static const char *prev_str(const char *expr, const char *at) {
  static char out[32];
  struct tml_cron c;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_cron_parse(expr, &c, &err), &err);
  int64_t n = 0;
  if (tml_cron_prev(&c, T(at), &n) != 0)
    return "none";
  tml_time_format(n, out, sizeof(out));
  return out;
}

TEST(parse_fields) {
  struct tml_cron c;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_cron_parse("  0  2,14,22 * *   * ", &c, &err), &err);
  CHECK_STR(c.expr, "0 2,14,22 * * *");
  CHECK_INT(c.minutes, 1);
  CHECK_INT(c.hours, (1u << 2) | (1u << 14) | (1u << 22));
  CHECK(c.mday_star && c.wday_star);
  CHECK_OK(tml_cron_parse("*/15 9-17/4 1,15 jan-MAR,dec sun,6", &c, &err), &err);
  CHECK_INT(c.minutes, (1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45));
  CHECK_INT(c.hours, (1u << 9) | (1u << 13) | (1u << 17));
  CHECK_INT(c.mdays, (1u << 1) | (1u << 15));
  CHECK_INT(c.months, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 12));
  CHECK_INT(c.wdays, (1u << 0) | (1u << 6));
  CHECK_OK(tml_cron_parse("5/20 * * * 7", &c, &err), &err); /* 5-59/20; 7 = Sunday */
  CHECK_INT(c.minutes, (1ull << 5) | (1ull << 25) | (1ull << 45));
  CHECK_INT(c.wdays, 1);
}

TEST(parse_errors_name_the_field) {
  struct {
    const char *expr, *want;
  } cases[] = {
      {"0 25 * * *", "hour field '25': 25 is out of range (allowed 0-23)"},
      {"61 * * * *", "minute field '61': 61 is out of range"},
      {"0 0 0 * *", "day-of-month field '0': 0 is out of range (allowed 1-31)"},
      {"0 0 * 13 *", "month field '13'"},
      {"0 0 * FOO *", "month field 'FOO': expected a number, a name or '*' (allowed 1-12 or JAN-DEC)"},
      {"0 0 * * 8", "day-of-week field '8'"},
      {"0 0 * * MON-", "day-of-week field 'MON-': range needs an end value"},
      {"*/0 * * * *", "minute field '*/0': step must be"},
      {"5-1 * * * *", "range 5-1 is backwards"},
      {"0 0 * *", "4 fields, expected 5"},
      {"0 0 * * * *", "more than 5 fields"},
      {"", "0 fields, expected 5"},
      {"0 2;14 * * *", "hour field '2;14': unexpected character ';'"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct tml_cron c;
    struct tml_error err;
    tml_error_init(&err);
    CHECK_INT(tml_cron_parse(cases[i].expr, &c, &err), TML_EINVAL);
    CHECK_CONTAINS(err.msg, cases[i].want);
  }
}

TEST(next_default_schedule) {
  CHECK_STR(next_str("0 2,14,22 * * *", "2025-03-01T00:00:00Z"), "2025-03-01T02:00:00Z");
  CHECK_STR(next_str("0 2,14,22 * * *", "2025-03-01T02:00:00Z"), "2025-03-01T14:00:00Z"); /* strictly after */
  CHECK_STR(next_str("0 2,14,22 * * *", "2025-03-01T22:00:30Z"), "2025-03-02T02:00:00Z");
  CHECK_STR(next_str("0 2,14,22 * * *", "2024-12-31T23:59:00Z"), "2025-01-01T02:00:00Z");
  CHECK_STR(next_str("*/15 * * * *", "2025-03-01T10:07:59Z"), "2025-03-01T10:15:00Z");
}

TEST(next_month_and_leap_edges) {
  CHECK_STR(next_str("0 0 31 * *", "2025-04-01T00:00:00Z"), "2025-05-31T00:00:00Z"); /* April has 30 */
  CHECK_STR(next_str("0 0 29 2 *", "2025-01-01T00:00:00Z"), "2028-02-29T00:00:00Z"); /* next leap day */
  CHECK_STR(next_str("0 0 29 2 *", "2024-02-28T12:00:00Z"), "2024-02-29T00:00:00Z");
  CHECK_STR(next_str("0 0 30 2 *", "2025-01-01T00:00:00Z"), "none");
  CHECK_STR(next_str("30 12 * DEC *", "2025-06-15T00:00:00Z"), "2025-12-01T12:30:00Z");
  CHECK_STR(next_str("0 0 1 1 *", "2099-12-31T23:59:00Z"), "2100-01-01T00:00:00Z");
}

TEST(vixie_day_rule) {
  /* Both restricted: the 13th OR any Friday. 2025-06-01 is a Sunday; first Friday is 06-06. */
  CHECK_STR(next_str("0 0 13 * FRI", "2025-06-01T00:00:00Z"), "2025-06-06T00:00:00Z");
  CHECK_STR(next_str("0 0 13 * FRI", "2025-06-06T00:00:00Z"), "2025-06-13T00:00:00Z"); /* a Friday anyway */
  CHECK_STR(next_str("0 0 13 * FRI", "2025-06-20T00:00:00Z"), "2025-06-27T00:00:00Z");
  CHECK_STR(next_str("0 0 13 * MON", "2025-06-09T00:00:00Z"), "2025-06-13T00:00:00Z"); /* the 13th, a Friday */
  /* Day-of-month '*': only weekdays count. */
  CHECK_STR(next_str("0 0 * * MON", "2025-06-01T00:00:00Z"), "2025-06-02T00:00:00Z");
  /* Day-of-week '*' with a restricted day-of-month: only that day. */
  CHECK_STR(next_str("0 0 13 * *", "2025-06-01T00:00:00Z"), "2025-06-13T00:00:00Z");
  /* A star with a step still counts as a star for the rule (Vixie): odd days AND Mondays. */
  CHECK_STR(next_str("0 0 */2 * MON", "2025-06-01T00:00:00Z"), "2025-06-09T00:00:00Z");
  /* Sunday as 0 and 7. */
  CHECK_STR(next_str("0 0 * * 0", "2025-06-02T00:00:00Z"), "2025-06-08T00:00:00Z");
  CHECK_STR(next_str("0 0 * * 7", "2025-06-02T00:00:00Z"), "2025-06-08T00:00:00Z");
}

TEST(prev_for_catch_up) {
  CHECK_STR(prev_str("0 2,14,22 * * *", "2025-03-01T13:59:00Z"), "2025-03-01T02:00:00Z");
  CHECK_STR(prev_str("0 2,14,22 * * *", "2025-03-01T14:00:00Z"), "2025-03-01T14:00:00Z"); /* inclusive */
  CHECK_STR(prev_str("0 2,14,22 * * *", "2025-03-01T01:00:00Z"), "2025-02-28T22:00:00Z");
  CHECK_STR(prev_str("0 0 29 2 *", "2025-06-01T00:00:00Z"), "2024-02-29T00:00:00Z");
  struct tml_cron c;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_cron_parse("0 2,14,22 * * *", &c, &err), &err);
  CHECK(tml_cron_matches(&c, T("2025-03-01T14:00:00Z")));
  CHECK(!tml_cron_matches(&c, T("2025-03-01T14:01:00Z")));
}
