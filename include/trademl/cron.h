/* 5-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC.
 * Fields take `*`, numbers, ranges `a-b`, steps `*` or `a-b` followed by /n, lists `a,b-c`, month names
 * JAN..DEC and weekday names SUN..SAT (case-insensitive; 7 is also Sunday). As in Vixie cron, when
 * both day-of-month and day-of-week are restricted (neither starts with `*`) a day matches if
 * EITHER matches. No time zones, so no DST skips or repeats: documented in docs/jobs.md. */
#ifndef TML_CRON_H
#define TML_CRON_H

#include <stdbool.h>
#include <stdint.h>

struct tml_error;

struct tml_cron {
  uint64_t minutes;  /* bit m for minute 0..59 */
  uint32_t hours;    /* bit h, 0..23 */
  uint32_t mdays;    /* bit d, 1..31 */
  uint16_t months;   /* bit m, 1..12 */
  uint8_t wdays;     /* bit w, 0..6 (0 = Sunday) */
  bool mday_star;    /* day-of-month field started with '*' */
  bool wday_star;    /* day-of-week field started with '*' */
  char expr[128];    /* the expression as given, blanks collapsed */
};

/* Parses expr into c. TML_EINVAL naming the field and the problem ("cron '0 25 * * *': hour field
 * '25': 25 is out of range 0-23"). */
int tml_cron_parse(const char *expr, struct tml_cron *c, struct tml_error *err);
/* True when minute-aligned time ms (UTC) is a fire time. */
bool tml_cron_matches(const struct tml_cron *c, int64_t ms);
/* First fire time strictly after after_ms. TML_ENOENT when none within 5 years (e.g. "0 0 30 2 *"). */
int tml_cron_next(const struct tml_cron *c, int64_t after_ms, int64_t *next_ms);
/* Latest fire time <= at_ms (within 5 years); TML_ENOENT when none. Used for missed-slot catch-up. */
int tml_cron_prev(const struct tml_cron *c, int64_t at_ms, int64_t *prev_ms);

#endif
