/* UTC time and candle intervals. All times are Unix milliseconds (int64), UTC, candle open times. */
#ifndef TML_TIMEUTIL_H
#define TML_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_error;

#define TML_MS_PER_MINUTE INT64_C(60000)
#define TML_MS_PER_HOUR INT64_C(3600000)
#define TML_MS_PER_DAY INT64_C(86400000)

/* Parses "1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 1w" (also "M15", "H1", "D1" as bots send them)
 * into milliseconds. Unknown intervals fail with TML_EINVAL and list the valid ones. */
int tml_interval_parse(const char *s, int64_t *ms, struct tml_error *err);
/* Canonical name ("15m") of a supported interval, or NULL. */
const char *tml_interval_name(int64_t ms);
/* Comma-separated list of supported interval names, for messages. */
const char *tml_interval_list(void);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back (Howard Hinnant's algorithms). */
int64_t tml_days_from_civil(int64_t y, unsigned m, unsigned d);
void tml_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

struct tml_tm {
  int64_t year;
  unsigned month, day, hour, minute, second, millis;
  unsigned wday; /* 0 = Sunday */
};
void tml_time_split(int64_t ms, struct tml_tm *tm);

/* Formats as "2024-01-31T13:45:00Z" (millis appended only if non-zero). out must hold 32 bytes. */
void tml_time_format(int64_t ms, char *out, size_t outsz);
/* Parses "2024-01-31", "2024-01-31 13:45[:00[.123]]", "2024-01-31T13:45:00Z", "...+02:00".
 * Returns 0 or TML_EPARSE. */
int tml_time_parse(const char *s, size_t len, int64_t *ms);

int64_t tml_now_ms(void);              /* wall clock, UTC */
double tml_monotonic_s(void);          /* for durations */

/* Floors t to a multiple of interval_ms (UTC-aligned; weeks align to Monday like exchanges). */
int64_t tml_time_floor(int64_t t, int64_t interval_ms);

#endif
