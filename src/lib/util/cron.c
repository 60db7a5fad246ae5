/* 5-field cron expressions in UTC: parsing into bit sets and next/previous fire times. The search
 * walks day by day (at most 5 years) and then within the matching day, so it is exact and cheap.
 * Day rule (Vixie cron): when both day-of-month and day-of-week are restricted, either may match. */
#include "trademl/cron.h"
#include "util/common.h"

#include "trademl/error.h"
#include "trademl/timeutil.h"

#include <ctype.h>

static const char *const field_names[5] = {"minute", "hour", "day-of-month", "month", "day-of-week"};
static const int field_min[5] = {0, 0, 1, 1, 0};
static const int field_max[5] = {59, 23, 31, 12, 7};
static const char *const month_names[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                            "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const wday_names[7] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* Reads a number or (month/weekday fields) a 3-letter name at *p. */
static int read_value(int field, const char **p, int *out) {
  const char *s = *p;
  if (isdigit((unsigned char)*s)) {
    long v = 0;
    while (isdigit((unsigned char)*s)) {
      v = v * 10 + (*s - '0');
      if (v > 1000)
        return -1;
      s++;
    }
    *out = (int)v;
    *p = s;
    return 0;
  }
  if ((field == 3 || field == 4) && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
      isalpha((unsigned char)s[2])) {
    char name[4] = {(char)toupper((unsigned char)s[0]), (char)toupper((unsigned char)s[1]),
                    (char)toupper((unsigned char)s[2]), 0};
    const char *const *names = field == 3 ? month_names : wday_names;
    int count = field == 3 ? 12 : 7;
    for (int i = 0; i < count; i++)
      if (strcmp(name, names[i]) == 0) {
        *out = field == 3 ? i + 1 : i;
        *p = s + 3;
        return 0;
      }
  }
  return -1;
}

static int field_error(struct tml_error *err, const char *expr, int field, const char *text, const char *why) {
  return tml_error_set(err, TML_EINVAL, "cron '%s': %s field '%s': %s (allowed %d-%d%s)", expr, field_names[field],
                       text, why, field_min[field], field_max[field],
                       field == 3 ? " or JAN-DEC" : field == 4 ? " or SUN-SAT, 0 and 7 = Sunday" : "");
}

/* Parses one field's text into bits (bit i = value i). */
static int parse_field(const char *expr, int field, const char *text, uint64_t *bits, bool *star,
                       struct tml_error *err) {
  int lo = field_min[field], hi = field_max[field];
  *bits = 0;
  *star = text[0] == '*';
  const char *p = text;
  for (;;) {
    int a, b, step = 1;
    if (*p == '*') {
      a = lo;
      b = hi;
      p++;
    } else {
      if (read_value(field, &p, &a) != 0)
        return field_error(err, expr, field, text, "expected a number, a name or '*'");
      b = a;
      if (*p == '-') {
        p++;
        if (read_value(field, &p, &b) != 0)
          return field_error(err, expr, field, text, "range needs an end value");
      }
      char why[64];
      if (a < lo || a > hi || b < lo || b > hi) {
        snprintf(why, sizeof(why), "%d is out of range", (a < lo || a > hi) ? a : b);
        return field_error(err, expr, field, text, why);
      }
      if (b < a) {
        snprintf(why, sizeof(why), "range %d-%d is backwards", a, b);
        return field_error(err, expr, field, text, why);
      }
    }
    if (*p == '/') {
      p++;
      if (!isdigit((unsigned char)*p) || read_value(0, &p, &step) != 0 || step < 1 || step > hi)
        return field_error(err, expr, field, text, "step must be a number from 1 to the field's maximum");
      if (b == a && text[0] != '*')
        b = hi; /* "5/15" means 5-max/15, as in Vixie cron */
    }
    for (int v = a; v <= b; v += step)
      *bits |= UINT64_C(1) << v;
    if (*p == ',') {
      p++;
      continue;
    }
    if (*p != '\0') {
      char why[64];
      snprintf(why, sizeof(why), "unexpected character '%c'", *p);
      return field_error(err, expr, field, text, why);
    }
    break;
  }
  return 0;
}

int tml_cron_parse(const char *expr, struct tml_cron *c, struct tml_error *err) {
  memset(c, 0, sizeof(*c));
  if (!expr)
    return tml_error_set(err, TML_EINVAL, "cron expression missing");
  char fields[5][64];
  int nf = 0;
  size_t o = 0;
  const char *p = expr;
  while (*p) {
    while (isspace((unsigned char)*p))
      p++;
    if (!*p)
      break;
    if (nf == 5)
      return tml_error_set(err, TML_EINVAL,
                           "cron '%s': more than 5 fields (expected minute hour day-of-month month day-of-week)", expr);
    size_t n = 0;
    while (*p && !isspace((unsigned char)*p)) {
      if (n + 1 >= sizeof(fields[0]))
        return tml_error_set(err, TML_EINVAL, "cron '%s': %s field is too long", expr, field_names[nf]);
      fields[nf][n++] = *p++;
    }
    fields[nf][n] = '\0';
    int w = snprintf(c->expr + o, sizeof(c->expr) - o, "%s%s", nf ? " " : "", fields[nf]);
    if (w < 0 || (size_t)w >= sizeof(c->expr) - o)
      return tml_error_set(err, TML_EINVAL, "cron expression too long (max 127 characters)");
    o += (size_t)w;
    nf++;
  }
  if (nf != 5)
    return tml_error_set(err, TML_EINVAL,
                         "cron '%s': %d field%s, expected 5 (minute hour day-of-month month day-of-week), e.g. "
                         "'0 2,14,22 * * *'",
                         expr, nf, nf == 1 ? "" : "s");
  uint64_t bits[5];
  bool star[5];
  for (int f = 0; f < 5; f++) {
    int rc = parse_field(expr, f, fields[f], &bits[f], &star[f], err);
    if (rc)
      return rc;
  }
  c->minutes = bits[0];
  c->hours = (uint32_t)bits[1];
  c->mdays = (uint32_t)bits[2];
  c->months = (uint16_t)bits[3];
  uint64_t wd = bits[4];
  if (wd & (UINT64_C(1) << 7))
    wd |= 1; /* 7 = Sunday */
  c->wdays = (uint8_t)(wd & 0x7f);
  c->mday_star = star[2];
  c->wday_star = star[4];
  return 0;
}

static bool day_matches(const struct tml_cron *c, int64_t day) {
  int64_t y;
  unsigned m, d;
  tml_civil_from_days(day, &y, &m, &d);
  if (!(c->months & (1u << m)))
    return false;
  unsigned wday = (unsigned)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
  bool md = (c->mdays >> d) & 1u, wd = (c->wdays >> wday) & 1u;
  if (!c->mday_star && !c->wday_star)
    return md || wd;
  return md && wd;
}

bool tml_cron_matches(const struct tml_cron *c, int64_t ms) {
  int64_t day = ms >= 0 ? ms / TML_MS_PER_DAY : -((-ms + TML_MS_PER_DAY - 1) / TML_MS_PER_DAY);
  int64_t minute_of_day = (ms - day * TML_MS_PER_DAY) / TML_MS_PER_MINUTE;
  unsigned h = (unsigned)(minute_of_day / 60), mi = (unsigned)(minute_of_day % 60);
  return day_matches(c, day) && ((c->hours >> h) & 1u) && ((c->minutes >> mi) & 1u);
}

#define SEARCH_DAYS (366 * 5 + 2)

int tml_cron_next(const struct tml_cron *c, int64_t after_ms, int64_t *next_ms) {
  int64_t t = tml_time_floor(after_ms, TML_MS_PER_MINUTE) + TML_MS_PER_MINUTE;
  int64_t day = tml_time_floor(t, TML_MS_PER_DAY) / TML_MS_PER_DAY;
  int start_min = (int)((t - day * TML_MS_PER_DAY) / TML_MS_PER_MINUTE);
  for (int i = 0; i < SEARCH_DAYS; i++, day++, start_min = 0) {
    if (!day_matches(c, day))
      continue;
    for (int m = start_min; m < 24 * 60; m++) {
      if (((c->hours >> (m / 60)) & 1u) && ((c->minutes >> (m % 60)) & 1u)) {
        *next_ms = day * TML_MS_PER_DAY + m * TML_MS_PER_MINUTE;
        return 0;
      }
    }
  }
  return TML_ENOENT;
}

int tml_cron_prev(const struct tml_cron *c, int64_t at_ms, int64_t *prev_ms) {
  int64_t t = tml_time_floor(at_ms, TML_MS_PER_MINUTE);
  int64_t day = tml_time_floor(t, TML_MS_PER_DAY) / TML_MS_PER_DAY;
  int start_min = (int)((t - day * TML_MS_PER_DAY) / TML_MS_PER_MINUTE);
  for (int i = 0; i < SEARCH_DAYS; i++, day--, start_min = 24 * 60 - 1) {
    if (!day_matches(c, day))
      continue;
    for (int m = start_min; m >= 0; m--) {
      if (((c->hours >> (m / 60)) & 1u) && ((c->minutes >> (m % 60)) & 1u)) {
        *prev_ms = day * TML_MS_PER_DAY + m * TML_MS_PER_MINUTE;
        return 0;
      }
    }
  }
  return TML_ENOENT;
}
