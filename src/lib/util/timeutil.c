/* UTC calendar arithmetic without gmtime/timegm (no hidden state, no time zone dependence). */
#include "trademl/timeutil.h"
#include "trademl/error.h"
#include "util/common.h"

#include <ctype.h>
#include <time.h>

static const struct {
  const char *name;
  int64_t ms;
} intervals[] = {
    {"1m", TML_MS_PER_MINUTE},      {"3m", 3 * TML_MS_PER_MINUTE},  {"5m", 5 * TML_MS_PER_MINUTE},
    {"15m", 15 * TML_MS_PER_MINUTE}, {"30m", 30 * TML_MS_PER_MINUTE}, {"1h", TML_MS_PER_HOUR},
    {"2h", 2 * TML_MS_PER_HOUR},    {"4h", 4 * TML_MS_PER_HOUR},    {"6h", 6 * TML_MS_PER_HOUR},
    {"8h", 8 * TML_MS_PER_HOUR},    {"12h", 12 * TML_MS_PER_HOUR},  {"1d", TML_MS_PER_DAY},
    {"1w", 7 * TML_MS_PER_DAY},
};

const char *tml_interval_list(void) { return "1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 1w"; }

const char *tml_interval_name(int64_t ms) {
  for (size_t i = 0; i < TML_ARRAY_LEN(intervals); i++)
    if (intervals[i].ms == ms)
      return intervals[i].name;
  return NULL;
}

int tml_interval_parse(const char *s, int64_t *ms, struct tml_error *err) {
  char norm[16];
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n >= sizeof(norm) - 1)
    goto bad;
  /* Bot-style "M15", "H1", "H4", "D1", "W1": letter first, then the count. */
  if (isalpha((unsigned char)s[0]) && isdigit((unsigned char)s[1])) {
    size_t k = 0;
    for (size_t i = 1; i < n; i++)
      norm[k++] = s[i];
    char unit = (char)tolower((unsigned char)s[0]);
    norm[k++] = unit;
    norm[k] = '\0';
  } else {
    for (size_t i = 0; i < n; i++)
      norm[i] = s[i];
    norm[n] = '\0';
    /* "1M" means one month on exchanges; we do not support it, so keep case for m/M. */
    if (n > 1 && (norm[n - 1] == 'H' || norm[n - 1] == 'D' || norm[n - 1] == 'W'))
      norm[n - 1] = (char)tolower((unsigned char)norm[n - 1]);
  }
  if (strcmp(norm, "60m") == 0) {
    *ms = TML_MS_PER_HOUR;
    return 0;
  }
  for (size_t i = 0; i < TML_ARRAY_LEN(intervals); i++) {
    if (strcmp(intervals[i].name, norm) == 0) {
      *ms = intervals[i].ms;
      return 0;
    }
  }
bad:
  return tml_error_set(err, TML_EINVAL,
                       "unknown interval '%s': use one of %s, or the same as M1, M3, M5, M15, M30, H1, H2, H4, H6, "
                       "H8, H12, D1, W1",
                       s ? s : "", tml_interval_list());
}

int64_t tml_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = (int64_t)(m > 2 ? m - 3 : m + 9);
  const int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void tml_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

void tml_time_split(int64_t ms, struct tml_tm *tm) {
  int64_t days = floor_div(ms, TML_MS_PER_DAY);
  int64_t rem = ms - days * TML_MS_PER_DAY;
  tml_civil_from_days(days, &tm->year, &tm->month, &tm->day);
  tm->hour = (unsigned)(rem / TML_MS_PER_HOUR);
  tm->minute = (unsigned)((rem / TML_MS_PER_MINUTE) % 60);
  tm->second = (unsigned)((rem / 1000) % 60);
  tm->millis = (unsigned)(rem % 1000);
  int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
  tm->wday = (unsigned)(w < 0 ? w + 7 : w);
}

void tml_time_format(int64_t ms, char *out, size_t outsz) {
  struct tml_tm tm;
  tml_time_split(ms, &tm);
  if (tm.millis)
    snprintf(out, outsz, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ", tm.year, tm.month, tm.day,
             tm.hour, tm.minute, tm.second, tm.millis);
  else
    snprintf(out, outsz, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02uZ", tm.year, tm.month, tm.day, tm.hour,
             tm.minute, tm.second);
}

/* Reads exactly `digits` decimal digits at *p. */
static bool read_num(const char **p, const char *end, int digits, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < digits; i++) {
    if (*p >= end || !isdigit((unsigned char)**p))
      return false;
    v = v * 10 + (unsigned)(**p - '0');
    (*p)++;
  }
  *out = v;
  return true;
}

int tml_time_parse(const char *s, size_t len, int64_t *ms) {
  const char *p = s, *end = s + len;
  unsigned y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
  while (p < end && isspace((unsigned char)*p))
    p++;
  while (end > p && isspace((unsigned char)end[-1]))
    end--;
  if (!read_num(&p, end, 4, &y) || p >= end || *p++ != '-' || !read_num(&p, end, 2, &mo) || p >= end ||
      *p++ != '-' || !read_num(&p, end, 2, &d))
    return TML_EPARSE;
  if (mo < 1 || mo > 12 || d < 1 || d > 31)
    return TML_EPARSE;
  int64_t tz_ms = 0;
  if (p < end) {
    if (*p != 'T' && *p != ' ')
      return TML_EPARSE;
    p++;
    if (!read_num(&p, end, 2, &h) || p >= end || *p++ != ':' || !read_num(&p, end, 2, &mi))
      return TML_EPARSE;
    if (p < end && *p == ':') {
      p++;
      if (!read_num(&p, end, 2, &sec))
        return TML_EPARSE;
      if (p < end && *p == '.') {
        p++;
        unsigned scale = 100;
        const char *fs = p;
        while (p < end && isdigit((unsigned char)*p)) {
          frac += scale * (unsigned)(*p - '0');
          scale /= 10;
          p++;
        }
        if (p == fs)
          return TML_EPARSE;
      }
    }
    if (p < end) {
      if (*p == 'Z' && p + 1 == end) {
        p++;
      } else if ((*p == '+' || *p == '-') && end - p >= 3) {
        int sign = *p == '-' ? -1 : 1;
        p++;
        unsigned th, tmi = 0;
        if (!read_num(&p, end, 2, &th))
          return TML_EPARSE;
        if (p < end && *p == ':')
          p++;
        if (p < end && !read_num(&p, end, 2, &tmi))
          return TML_EPARSE;
        tz_ms = sign * ((int64_t)th * TML_MS_PER_HOUR + (int64_t)tmi * TML_MS_PER_MINUTE);
      } else {
        return TML_EPARSE;
      }
    }
    if (p != end || h > 23 || mi > 59 || sec > 60)
      return TML_EPARSE;
  }
  int64_t days = tml_days_from_civil((int64_t)y, mo, d);
  /* Reject impossible dates such as 2023-02-30 by round-tripping. */
  int64_t ry;
  unsigned rm, rd;
  tml_civil_from_days(days, &ry, &rm, &rd);
  if (ry != (int64_t)y || rm != mo || rd != d)
    return TML_EPARSE;
  *ms = days * TML_MS_PER_DAY + (int64_t)h * TML_MS_PER_HOUR + (int64_t)mi * TML_MS_PER_MINUTE +
        (int64_t)sec * 1000 + (int64_t)frac - tz_ms;
  return 0;
}

int64_t tml_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double tml_monotonic_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int64_t tml_time_floor(int64_t t, int64_t interval_ms) {
  if (interval_ms == 7 * TML_MS_PER_DAY) {
    /* Exchanges start weekly candles on Monday; 1970-01-05 was a Monday. */
    int64_t monday = 4 * TML_MS_PER_DAY;
    return floor_div(t - monday, interval_ms) * interval_ms + monday;
  }
  return floor_div(t, interval_ms) * interval_ms;
}
