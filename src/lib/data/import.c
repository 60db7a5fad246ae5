/* Candle file importers. Every format is read whole (gzread reads plain files unchanged, so .gz is
 * transparent; a UTF-8 byte-order mark is skipped), parsed row by row into flat staging columns
 * with the source line of each row, validated, sorted ascending and de-duplicated. Bad rows are
 * reported as "'file' line N: what is wrong"; by default one bad row rejects the file, with
 * skip_bad_rows they are dropped and counted. Files from other tools are stored right or refused
 * with a message naming what was found: the volume column is the base-asset one, a wide multi-asset
 * file needs an explicit asset, the declared interval must match the spacing of the candles.
 * Nothing here touches the store: the caller writes the result in one transaction. */
#include "trademl/import.h"
#include "util/common.h"

#include <ctype.h>
#include <sys/stat.h>
#include <zlib.h>

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"

#define MAX_FIELDS 64
#define MAX_BANNER_LINES 5
#define T_2009 INT64_C(1230768000000) /* 2009-01-01T00:00:00Z: no crypto market traded before */
#define HDR_SHOWN 160                 /* header characters quoted in messages */

enum epoch_unit { UNIT_DATE, UNIT_S, UNIT_MS, UNIT_US, UNIT_NS };
static const char *const UNIT_NAME[] = {"a date", "seconds", "milliseconds", "microseconds", "nanoseconds"};

struct field {
  const char *p;
  size_t len;
};

/* Staging: candles in file order plus the line each came from. */
struct ctx {
  const char *path;
  const struct tml_import_opts *o;
  struct tml_import_report *rep;
  struct tml_candles rows;
  size_t *line;          /* source line per staged row, same capacity as rows */
  size_t line_cap;
  char first_bad[TML_IMPORT_MSG_MAX];
  char last_bad[TML_IMPORT_MSG_MAX];
  int epoch_unit;        /* unit of the first epoch-number time (-1: none yet) */
  size_t epoch_line;     /* its line */
  int64_t *times;        /* every time that parsed, bad rows' too: the spacing is the file's */
  size_t ntimes, times_cap;
  bool last_cut;         /* the last line has no newline and was a bad row: the file ended early */
  size_t last_cut_line;
};

static void bad_row(struct ctx *x, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bad_row(struct ctx *x, size_t line, const char *fmt, ...) {
  char msg[TML_IMPORT_MSG_MAX];
  int n = snprintf(msg, sizeof(msg), "'%s' line %zu: ", x->path, line);
  if (n < 0 || (size_t)n >= sizeof(msg))
    n = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
  va_end(ap);
  struct tml_import_report *r = x->rep;
  if (r->rows_skipped == 0)
    snprintf(x->first_bad, sizeof(x->first_bad), "%s", msg);
  snprintf(x->last_bad, sizeof(x->last_bad), "%s", msg);
  if (r->nbad < TML_IMPORT_BAD_KEPT)
    snprintf(r->bad[r->nbad++], TML_IMPORT_MSG_MAX, "%s", msg);
  r->rows_skipped++;
}

static int stage_push(struct ctx *x, size_t line, int64_t t, const double v[5]) {
  if (tml_candles_push(&x->rows, t, v[0], v[1], v[2], v[3], v[4]))
    return TML_ENOMEM;
  if (x->line_cap < x->rows.cap) {
    size_t *nl = realloc(x->line, x->rows.cap * sizeof(*nl));
    if (!nl)
      return TML_ENOMEM;
    x->line = nl;
    x->line_cap = x->rows.cap;
  }
  x->line[x->rows.len - 1] = line;
  return 0;
}

static int note_time(struct ctx *x, int64_t t) {
  if (x->ntimes == x->times_cap) {
    size_t cap = x->times_cap ? x->times_cap * 2 : 1024;
    int64_t *nt = realloc(x->times, cap * sizeof(*nt));
    if (!nt)
      return TML_ENOMEM;
    x->times = nt;
    x->times_cap = cap;
  }
  x->times[x->ntimes++] = t;
  return 0;
}

/* Epoch numbers are told apart by magnitude: seconds (< 1e11, i.e. before year 5138), ms (< 1e14),
 * microseconds (< 1e17, Binance spot dumps since 2025) and nanoseconds. */
static int64_t epoch_to_ms(int64_t v, int *unit) {
  uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* no overflow for INT64_MIN */
  if (a < UINT64_C(100000000000)) {
    *unit = UNIT_S;
    return v * 1000;
  }
  if (a < UINT64_C(100000000000000)) {
    *unit = UNIT_MS;
    return v;
  }
  if (a < UINT64_C(100000000000000000)) {
    *unit = UNIT_US;
    return v / 1000;
  }
  *unit = UNIT_NS;
  return v / 1000000;
}

/* 12-hour dates as older CryptoDataDownload exports write them: "2019-10-17 11-PM", also
 * "2019-10-17 11 PM", "2019-10-17 11:00 PM", "2019-10-17 11:00:00PM". 12 AM is midnight. */
static int parse_time_12h(const char *s, size_t len, int64_t *ms) {
  while (len && isspace((unsigned char)s[len - 1]))
    len--;
  while (len && isspace((unsigned char)*s)) {
    s++;
    len--;
  }
  int64_t day;
  if (len < 14 || tml_time_parse(s, 10, &day) != 0 || s[10] != ' ')
    return TML_EPARSE;
  char ap = (char)toupper((unsigned char)s[len - 2]);
  if ((ap != 'A' && ap != 'P') || toupper((unsigned char)s[len - 1]) != 'M')
    return TML_EPARSE;
  const char *p = s + 11, *end = s + len - 2;
  if (end > p && (end[-1] == ' ' || end[-1] == '-'))
    end--;
  unsigned hms[3] = {0, 0, 0};
  for (int k = 0; k < 3 && p < end; k++) {
    if (k && *p++ != ':')
      return TML_EPARSE;
    int digits = 0;
    while (p < end && isdigit((unsigned char)*p) && digits < 2) {
      hms[k] = hms[k] * 10 + (unsigned)(*p++ - '0');
      digits++;
    }
    if (digits == 0 || (k > 0 && digits != 2))
      return TML_EPARSE;
  }
  if (p != end || hms[0] < 1 || hms[0] > 12 || hms[1] > 59 || hms[2] > 59)
    return TML_EPARSE;
  unsigned h = hms[0] % 12 + (ap == 'P' ? 12 : 0);
  *ms = day + (int64_t)h * TML_MS_PER_HOUR + (int64_t)hms[1] * TML_MS_PER_MINUTE + (int64_t)hms[2] * 1000;
  return 0;
}

static int parse_time_field(const char *s, size_t len, int64_t *ms, int *unit) {
  int64_t v;
  *unit = UNIT_DATE;
  if (tml_parse_int64(s, len, &v) == 0) {
    *ms = epoch_to_ms(v, unit);
    return 0;
  }
  double d;
  if (tml_parse_double(s, len, &d) == 0) {
    if (d != floor(d) || fabs(d) > 9e18)
      return TML_EPARSE;
    *ms = epoch_to_ms((int64_t)d, unit);
    return 0;
  }
  if (tml_time_parse(s, len, ms) == 0)
    return 0;
  return parse_time_12h(s, len, ms);
}

/* One epoch unit per file: a file that mixes seconds and milliseconds (or any two units) is
 * corrupt or concatenated from different tools, and its times cannot be trusted row by row. */
static bool same_epoch_unit(struct ctx *x, size_t line, int unit, const struct field *tf) {
  if (unit == UNIT_DATE)
    return true;
  if (x->epoch_unit < 0) {
    x->epoch_unit = unit;
    x->epoch_line = line;
    return true;
  }
  if (unit == x->epoch_unit)
    return true;
  bad_row(x, line, "time %.*s is in %s but line %zu's is in %s (epoch units mixed in one file: convert it to one unit)",
          (int)TML_MIN(tf->len, 32), tf->p, UNIT_NAME[unit], x->epoch_line, UNIT_NAME[x->epoch_unit]);
  return false;
}

static const char *const VALUE_NAMES[5] = {"open", "high", "low", "close", "volume"};

/* Checks one parsed row and stages it or reports it. Returns 0 or TML_ENOMEM. */
static int take_row(struct ctx *x, size_t line, int64_t t, const double v[5]) {
  double o = v[0], h = v[1], l = v[2], c = v[3], vol = v[4];
  int nonpos = -1;
  for (int k = 0; k < 4 && nonpos < 0; k++)
    if (!(v[k] > 0))
      nonpos = k;
  if (t < T_2009) {
    char ts[32];
    tml_time_format(t, ts, sizeof(ts));
    bad_row(x, line, "time %s is before 2009, when no crypto market traded (a wrong epoch unit or date?)", ts);
  } else if (nonpos >= 0)
    bad_row(x, line, "%s %.15g is not a positive price", VALUE_NAMES[nonpos], v[nonpos]);
  else if (h < l)
    bad_row(x, line, "high %.15g is below low %.15g", h, l);
  else if (o < l || o > h)
    bad_row(x, line, "open %.15g is outside [low %.15g, high %.15g]", o, l, h);
  else if (c < l || c > h)
    bad_row(x, line, "close %.15g is outside [low %.15g, high %.15g]", c, l, h);
  else if (vol < 0)
    bad_row(x, line, "volume %.15g is negative", vol);
  else
    return stage_push(x, line, t, v);
  return 0;
}

/* ---- CSV ---------------------------------------------------------------------------------- */

static size_t split_fields(const char *p, size_t len, char delim, struct field *f, size_t max) {
  size_t n = 0, i = 0;
  while (n < max) {
    size_t start = i;
    bool quoted = false;
    while (i < len && (quoted || p[i] != delim)) {
      if (p[i] == '"')
        quoted = !quoted;
      i++;
    }
    const char *s = p + start;
    size_t l = i - start;
    while (l && isspace((unsigned char)*s)) {
      s++;
      l--;
    }
    while (l && isspace((unsigned char)s[l - 1]))
      l--;
    if (l >= 2 && s[0] == '"' && s[l - 1] == '"') {
      s++;
      l -= 2;
    }
    f[n].p = s;
    f[n].len = l;
    n++;
    if (i >= len)
      break;
    i++; /* the delimiter */
  }
  return n;
}

static bool field_is(const struct field *f, const char *name) {
  size_t n = strlen(name);
  if (f->len != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)f->p[i]) != name[i])
      return false;
  return true;
}

/* Case-insensitive equality of two byte ranges. */
static bool seg_eq(const char *a, size_t alen, const char *b, size_t blen) {
  if (alen != blen)
    return false;
  for (size_t i = 0; i < alen; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
      return false;
  return true;
}

static bool field_named(const struct field *f, const char *name) { return seg_eq(f->p, f->len, name, strlen(name)); }

static const char *const TIME_NAMES[] = {"open_time", "opentime", "open time", "timestamp", "unix",
                                         "unix timestamp", "time", "date", "datetime"};
#define TIME_NAMES_TEXT "open_time, opentime, open time, timestamp, unix, unix timestamp, time, date, datetime"

static int find_named(const struct field *f, size_t nf, const char *name) {
  for (size_t i = 0; i < nf; i++)
    if (field_named(&f[i], name))
      return (int)i;
  return -1;
}

/* The time column: --time-column, else the first accepted name in TIME_NAMES order, else an
 * unnamed first column (pandas writes its date index with an empty or "Unnamed: 0" name). */
static int find_time_col(struct ctx *x, const struct field *f, size_t nf, const char *hdr, size_t hlen, size_t line,
                         int *col, struct tml_error *err) {
  if (x->o->time_column) {
    *col = find_named(f, nf, x->o->time_column);
    if (*col >= 0)
      return 0;
    return tml_error_set(err, TML_EINVAL, "cannot import '%s' line %zu: no column named '%s' (--time-column) in the header '%.*s'",
                         x->path, line, x->o->time_column, (int)TML_MIN(hlen, HDR_SHOWN), hdr);
  }
  for (size_t t = 0; t < TML_ARRAY_LEN(TIME_NAMES); t++)
    if ((*col = find_named(f, nf, TIME_NAMES[t])) >= 0)
      return 0;
  if (nf && (f[0].len == 0 || field_is(&f[0], "unnamed: 0") || field_is(&f[0], "index"))) {
    *col = 0;
    return 0;
  }
  return tml_error_set(err, TML_EPARSE,
                       "cannot import '%s' line %zu: the header has no time column; accepted names are " TIME_NAMES_TEXT
                       " (any case) or an unnamed first column (a pandas date index); found '%.*s'; pass "
                       "--time-column NAME to name it",
                       x->path, line, (int)TML_MIN(hlen, HDR_SHOWN), hdr);
}

/* Volume columns by what they hold. Candle volume in trademl is the base asset's (BTC for
 * BTCUSDT); exports often add the quote asset's too, under names that say which is which only
 * relative to the symbol ("Volume BTC" + "Volume USDT"), or by convention (CryptoCompare's
 * VolumeFrom = base, VolumeTo = quote; Binance's quote_asset_volume). */
enum vol_kind { VOL_NONE, VOL_GENERIC, VOL_BASE, VOL_QUOTE, VOL_OTHER };

static enum vol_kind volume_kind(const struct field *f, const char *sym) {
  char n[64];
  if (f->len == 0 || f->len >= sizeof(n))
    return VOL_NONE;
  for (size_t i = 0; i < f->len; i++)
    n[i] = (char)tolower((unsigned char)f->p[i]);
  n[f->len] = '\0';
  if (strstr(n, "taker") || !strstr(n, "vol"))
    return VOL_NONE; /* taker_buy_base_asset_volume is part of the volume, not the volume */
  if (strcmp(n, "volume") == 0 || strcmp(n, "vol") == 0)
    return VOL_GENERIC;
  if (strstr(n, "quote"))
    return VOL_QUOTE;
  if (strstr(n, "base"))
    return VOL_BASE;
  if (strncmp(n, "volume", 6) != 0)
    return VOL_NONE;
  char *tag = n + 6;
  if (*tag && strchr(" _-(/:.", *tag))
    tag++;
  size_t tl = strlen(tag);
  if (tl && tag[tl - 1] == ')')
    tag[--tl] = '\0';
  if (tl == 0)
    return VOL_GENERIC;
  if (strcmp(tag, "from") == 0)
    return VOL_BASE;
  if (strcmp(tag, "to") == 0)
    return VOL_QUOTE;
  size_t sl = strlen(sym);
  bool base = tl < sl, quote = tl < sl;
  for (size_t i = 0; i < tl && (base || quote); i++) {
    if (!isalnum((unsigned char)tag[i]))
      return VOL_OTHER;
    base = base && tolower((unsigned char)sym[i]) == tag[i];
    quote = quote && tolower((unsigned char)sym[sl - tl + i]) == tag[i];
  }
  if (base != quote)
    return base ? VOL_BASE : VOL_QUOTE;
  return VOL_OTHER;
}

static void list_add(char *list, size_t cap, const struct field *f) {
  size_t n = strlen(list);
  snprintf(list + n, cap - n, "%s'%.*s'", n ? ", " : "", (int)TML_MIN(f->len, 40), f->p);
}

/* Picks the volume column of a one-asset header: --volume-column, else the one base-volume
 * column, else the one generic "volume" column; anything else is refused naming the columns. */
static int pick_volume(struct ctx *x, const struct field *f, size_t nf, const char *hdr, size_t hlen, size_t line,
                       int *col, struct tml_error *err) {
  const char *sym = x->rows.symbol;
  if (x->o->volume_column) {
    *col = find_named(f, nf, x->o->volume_column);
    if (*col >= 0)
      return 0;
    return tml_error_set(err, TML_EINVAL, "cannot import '%s' line %zu: no column named '%s' (--volume-column) in the header '%.*s'",
                         x->path, line, x->o->volume_column, (int)TML_MIN(hlen, HDR_SHOWN), hdr);
  }
  size_t count[5] = {0, 0, 0, 0, 0};
  int first[5] = {-1, -1, -1, -1, -1};
  char all[256] = "";
  for (size_t i = 0; i < nf; i++) {
    enum vol_kind k = volume_kind(&f[i], sym);
    if (k == VOL_NONE)
      continue;
    if (count[k]++ == 0)
      first[k] = (int)i;
    list_add(all, sizeof(all), &f[i]);
  }
  if (count[VOL_BASE] == 1) {
    *col = first[VOL_BASE];
    return 0;
  }
  const char *why = NULL;
  if (count[VOL_BASE] > 1)
    why = "several columns hold a base-asset volume";
  else if (count[VOL_OTHER])
    why = "a volume column names an asset that is neither the base nor the quote of the symbol (is the file "
          "for another symbol?)";
  else if (count[VOL_GENERIC] == 1) {
    *col = first[VOL_GENERIC];
    return 0;
  } else if (count[VOL_GENERIC] > 1)
    why = "several columns are named volume";
  else if (count[VOL_QUOTE])
    why = "the only volume column holds the quote-asset volume, and trademl stores the base-asset volume";
  if (why)
    return tml_error_set(err, TML_EPARSE,
                         "cannot import '%s' line %zu: cannot tell the %s base-asset volume column from %s: %s; pass "
                         "--volume-column NAME to choose one",
                         x->path, line, sym, all, why);
  return tml_error_set(err, TML_EPARSE,
                       "cannot import '%s' line %zu: the header has no volume column (volume, Volume <BASE>, VolumeFrom, "
                       "base_volume); found '%.*s'; pass --volume-column NAME to name it",
                       x->path, line, (int)TML_MIN(hlen, HDR_SHOWN), hdr);
}

static void set_volume_name(struct ctx *x, const struct field *f) {
  snprintf(x->rep->volume_column, sizeof(x->rep->volume_column), "%.*s", (int)TML_MIN(f->len, 63), f->p);
}

/* Column indexes: [0] time, [1..5] open high low close volume. */
static int map_header(struct ctx *x, const struct field *f, size_t nf, const char *hdr, size_t hlen, size_t line,
                      int col[6], struct tml_error *err) {
  int rc = find_time_col(x, f, nf, hdr, hlen, line, &col[0], err);
  if (rc)
    return rc;
  char missing[64] = "";
  for (int k = 0; k < 4; k++)
    if ((col[k + 1] = find_named(f, nf, VALUE_NAMES[k])) < 0)
      snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s", missing[0] ? ", " : "",
               VALUE_NAMES[k]);
  if (missing[0])
    return tml_error_set(err, TML_EPARSE, "cannot import '%s' line %zu: the header lacks the column(s) %s; found '%.*s'",
                         x->path, line, missing, (int)TML_MIN(hlen, HDR_SHOWN), hdr);
  rc = pick_volume(x, f, nf, hdr, hlen, line, &col[5], err);
  if (!rc)
    set_volume_name(x, &f[col[5]]);
  return rc;
}

/* ---- wide multi-asset files: time, BTC:open, BTC:high, ..., ETH:close, ETH:volume ----------- */

#define MAX_ASSETS 32

struct assets {
  size_t n;
  struct {
    const char *p;
    size_t len;
    unsigned bits;         /* 1 << k for VALUE_NAMES[k] present */
  } a[MAX_ASSETS];
};

/* Splits "BTC:open" (separators : _ . / - space) into asset and value name; returns the value
 * index or -1. */
static int asset_field(const struct field *f, struct field *asset) {
  size_t i = f->len;
  while (i > 0 && !strchr(":_./- ", f->p[i - 1]))
    i--;
  if (i < 2)
    return -1;
  struct field name = {f->p + i, f->len - i};
  for (int k = 0; k < 5; k++)
    if (field_is(&name, VALUE_NAMES[k])) {
      *asset = (struct field){f->p, i - 1};
      return k;
    }
  return -1;
}

/* Fills as with the prefixes that carry all four prices; returns how many. "Adj Close" alone or
 * "taker_buy_base_asset_volume" never make an asset. */
static size_t find_assets(const struct field *f, size_t nf, struct assets *as) {
  struct assets all;
  all.n = 0;
  for (size_t i = 0; i < nf; i++) {
    struct field a;
    int k = asset_field(&f[i], &a);
    if (k < 0)
      continue;
    size_t j = 0;
    while (j < all.n && !seg_eq(all.a[j].p, all.a[j].len, a.p, a.len))
      j++;
    if (j == all.n) {
      if (all.n == MAX_ASSETS)
        continue;
      all.a[all.n].p = a.p;
      all.a[all.n].len = a.len;
      all.a[all.n++].bits = 0;
    }
    all.a[j].bits |= 1u << k;
  }
  as->n = 0;
  for (size_t j = 0; j < all.n; j++)
    if ((all.a[j].bits & 0xFu) == 0xFu)
      as->a[as->n++] = all.a[j];
  return as->n;
}

static int find_asset_col(const struct field *f, size_t nf, const char *asset, size_t alen, int k) {
  for (size_t i = 0; i < nf; i++) {
    struct field a;
    if (asset_field(&f[i], &a) == k && seg_eq(a.p, a.len, asset, alen))
      return (int)i;
  }
  return -1;
}

static int map_wide(struct ctx *x, const struct field *f, size_t nf, const char *hdr, size_t hlen, size_t line,
                    const struct assets *as, int col[6], struct tml_error *err) {
  char names[256] = "";
  for (size_t j = 0; j < as->n; j++)
    snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%.*s", j ? ", " : "",
             (int)TML_MIN(as->a[j].len, 24), as->a[j].p);
  const char *sym = x->rows.symbol;
  size_t pick = as->n;
  if (x->o->asset) {
    for (size_t j = 0; j < as->n && pick == as->n; j++)
      if (seg_eq(as->a[j].p, as->a[j].len, x->o->asset, strlen(x->o->asset)))
        pick = j;
    if (pick == as->n)
      return tml_error_set(err, TML_EINVAL, "cannot import '%s' line %zu: no columns for asset '%s' (--asset); the file has %s",
                           x->path, line, x->o->asset, names);
  } else if (as->n == 1 && as->a[0].len < strlen(sym) && seg_eq(as->a[0].p, as->a[0].len, sym, as->a[0].len)) {
    pick = 0; /* one asset, and it is the symbol's base: nothing to choose */
  } else {
    return tml_error_set(err, TML_EPARSE,
                         "cannot import '%s' line %zu: a wide file with columns for %zu asset%s (%s); pass --asset NAME "
                         "to import one of them as %s",
                         x->path, line, as->n, as->n == 1 ? "" : "s", names, sym);
  }
  const char *ap = as->a[pick].p;
  size_t al = as->a[pick].len;
  snprintf(x->rep->asset, sizeof(x->rep->asset), "%.*s", (int)TML_MIN(al, 31), ap);
  int rc = find_time_col(x, f, nf, hdr, hlen, line, &col[0], err);
  if (rc)
    return rc;
  for (int k = 0; k < 4; k++)
    col[k + 1] = find_asset_col(f, nf, ap, al, k);
  if (x->o->volume_column) {
    if ((col[5] = find_named(f, nf, x->o->volume_column)) < 0)
      return tml_error_set(err, TML_EINVAL, "cannot import '%s' line %zu: no column named '%s' (--volume-column) in the header",
                           x->path, line, x->o->volume_column);
  } else if ((col[5] = find_asset_col(f, nf, ap, al, 4)) < 0) {
    return tml_error_set(err, TML_EPARSE,
                         "cannot import '%s' line %zu: the wide file has no volume column for %.*s (expected %.*s:volume); "
                         "pass --volume-column NAME",
                         x->path, line, (int)al, ap, (int)al, ap);
  }
  set_volume_name(x, &f[col[5]]);
  return 0;
}

static bool looks_like_header(const struct field *f, size_t nf) {
  bool open = false, close = false;
  for (size_t i = 0; i < nf; i++) {
    open = open || field_is(&f[i], "open");
    close = close || field_is(&f[i], "close");
  }
  return open && close;
}

static char pick_delim(const char *p, size_t len) {
  size_t comma = 0, semi = 0, tab = 0;
  for (size_t i = 0; i < len; i++) {
    comma += p[i] == ',';
    semi += p[i] == ';';
    tab += p[i] == '\t';
  }
  if (tab > comma && tab >= semi)
    return '\t';
  if (semi > comma)
    return ';';
  return ',';
}

#define EXPECTED_LAYOUT                                                                                              \
  "a header with a time column (" TIME_NAMES_TEXT ") and open, high, low, close, volume, or headerless rows "       \
  "time,open,high,low,close,volume"

static int parse_csv(struct ctx *x, const char *data, size_t size, enum tml_import_format fmt, struct tml_error *err) {
  struct field f[MAX_FIELDS];
  int col[6] = {0, 1, 2, 3, 4, 5};
  bool layout_known = false, prev_row_bad = false;
  char delim = ',';
  size_t banner = 0, line = 0, pos = 0;
  const char *first = NULL, *hdrlike = NULL; /* first non-blank line; a skipped line that looked like a header */
  size_t first_len = 0, first_line = 0, hdrlike_len = 0, hdrlike_nf = 0, hdrlike_line = 0;
  struct tml_import_report *r = x->rep;
  r->format = fmt == TML_IMPORT_AUTO ? TML_IMPORT_CSV : fmt;
  while (pos < size) {
    const char *p = data + pos;
    const char *nl = memchr(p, '\n', size - pos);
    size_t len = nl ? (size_t)(nl - p) : size - pos;
    pos += len + (nl ? 1 : 0);
    line++;
    if (len && p[len - 1] == '\r')
      len--;
    size_t blank = 0;
    while (blank < len && isspace((unsigned char)p[blank]))
      blank++;
    if (blank == len)
      continue;
    if (!layout_known) {
      if (!first) {
        first = p;
        first_len = len;
        first_line = line;
      }
      delim = pick_delim(p, len);
      size_t nf = split_fields(p, len, delim, f, MAX_FIELDS);
      int64_t t;
      int unit, rc;
      struct assets as;
      if (find_assets(f, nf, &as) > 0) {
        if ((rc = map_wide(x, f, nf, p, len, line, &as, col, err)) != 0)
          return rc;
        layout_known = true;
        continue;
      }
      if (x->o->asset)
        return tml_error_set(err, TML_EINVAL,
                             "cannot import '%s' line %zu: --asset %s applies to wide multi-asset files (BTC:open ... "
                             "ETH:close), and this line is not such a header",
                             x->path, line, x->o->asset);
      if (looks_like_header(f, nf)) {
        if ((rc = map_header(x, f, nf, p, len, line, col, err)) != 0)
          return rc;
        layout_known = true;
        continue;
      }
      if (nf >= 6 && parse_time_field(f[0].p, f[0].len, &t, &unit) == 0) {
        if (hdrlike && hdrlike_nf == nf)
          return tml_error_set(err, TML_EPARSE,
                               "cannot import '%s' line %zu: '%.*s' looks like a header but lacks an open or a close "
                               "column; expected " EXPECTED_LAYOUT,
                               x->path, hdrlike_line, (int)TML_MIN(hdrlike_len, HDR_SHOWN), hdrlike);
        if (x->o->volume_column || x->o->time_column)
          return tml_error_set(err, TML_EINVAL,
                               "cannot import '%s': --%s names a header column, but the file has no header (line %zu "
                               "is a candle row)",
                               x->path, x->o->volume_column ? "volume-column" : "time-column", line);
        layout_known = true; /* no header: time, open, high, low, close, volume[, ...] */
        if (fmt == TML_IMPORT_AUTO && nf == 12)
          r->format = TML_IMPORT_BINANCE_DUMP;
      } else if (++banner > MAX_BANNER_LINES) {
        return tml_error_set(err, TML_EPARSE,
                             "cannot import '%s': no candle header and no candle row in the first %zu lines (expected " EXPECTED_LAYOUT
                             "); line %zu is '%.*s'",
                             x->path, line, first_line, (int)TML_MIN(first_len, HDR_SHOWN), first);
      } else {
        if (!hdrlike && nf >= 4) {
          hdrlike = p;
          hdrlike_len = len;
          hdrlike_nf = nf;
          hdrlike_line = line;
        }
        continue; /* a banner line such as CryptoDataDownload's URL */
      }
    }
    size_t nf = split_fields(p, len, delim, f, MAX_FIELDS);
    size_t skipped_before = r->rows_skipped;
    r->rows_read++;
    int need = 0;
    for (int k = 0; k < 6; k++)
      need = TML_MAX(need, col[k] + 1);
    int64_t t;
    int unit;
    const struct field *tf = &f[col[0]];
    if (nf < (size_t)need) {
      bad_row(x, line, "expected at least %d fields, found %zu", need, nf);
    } else if (parse_time_field(tf->p, tf->len, &t, &unit) != 0) {
      bad_row(x, line, "time '%.*s' is neither an epoch number nor a date like 2024-01-31 13:45:00", (int)TML_MIN(tf->len, 64),
              tf->p);
    } else if (note_time(x, t)) {
      return tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", x->path);
    } else if (same_epoch_unit(x, line, unit, tf)) {
      double v[5];
      bool ok = true;
      for (int k = 0; k < 5 && ok; k++) {
        const struct field *vf = &f[col[k + 1]];
        if (vf->len == 0) {
          bad_row(x, line, "%s field is empty", VALUE_NAMES[k]);
          ok = false;
        } else if (tml_parse_double(vf->p, vf->len, &v[k]) != 0) {
          bad_row(x, line, "%s '%.*s' is not a number", VALUE_NAMES[k], (int)TML_MIN(vf->len, 64), vf->p);
          ok = false;
        }
      }
      if (ok && take_row(x, line, t, v))
        return tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", x->path);
    }
    bool row_bad = r->rows_skipped > skipped_before;
    /* A last line without its newline that does not parse was cut off when it lacks fields or
     * when the rows before it were good (a file bad on every row just lacks a final newline). */
    if (!nl && row_bad && (nf < (size_t)need || !prev_row_bad)) {
      x->last_cut = true;
      x->last_cut_line = line;
    }
    prev_row_bad = row_bad;
  }
  if (!layout_known && !first)
    return tml_error_set(err, TML_EDATA, "cannot import '%s': the file is empty (expected " EXPECTED_LAYOUT ")", x->path);
  if (!layout_known)
    return tml_error_set(err, TML_EPARSE, "cannot import '%s': no candle header and no candle row (expected " EXPECTED_LAYOUT
                         "); line %zu is '%.*s'",
                         x->path, first_line, (int)TML_MIN(first_len, HDR_SHOWN), first);
  return 0;
}

/* ---- freqtrade JSON: [[ts, o, h, l, c, v], ...] ------------------------------------------- */

struct jscan {
  const char *p, *end;
  size_t line;
};

static void jskip(struct jscan *j) {
  while (j->p < j->end && isspace((unsigned char)*j->p)) {
    if (*j->p == '\n')
      j->line++;
    j->p++;
  }
}

static bool jexpect(struct jscan *j, char c) {
  jskip(j);
  if (j->p < j->end && *j->p == c) {
    j->p++;
    return true;
  }
  return false;
}

static const char *cut_hint(const struct jscan *j) {
  struct jscan k = *j; /* a copy: the caller's line number is read in the same call */
  jskip(&k);
  return k.p >= k.end ? " (the file ends here: truncated?)" : "";
}

static int parse_freqtrade(struct ctx *x, const char *data, size_t size, struct tml_error *err) {
  struct jscan j = {data, data + size, 1};
  x->rep->format = TML_IMPORT_FREQTRADE_JSON;
  if (!jexpect(&j, '['))
    return tml_error_set(err, TML_EPARSE, "cannot import '%s' line %zu: expected '[' starting a freqtrade candle list", x->path, j.line);
  if (jexpect(&j, ']'))
    return 0;
  for (size_t row = 1;; row++) {
    if (!jexpect(&j, '['))
      return tml_error_set(err, TML_EPARSE, "cannot import '%s' line %zu: row %zu: expected '[' starting [ts, open, high, low, close, volume]%s",
                           x->path, j.line, row, cut_hint(&j));
    struct field tok[6];
    size_t n = 0;
    for (;;) {
      jskip(&j);
      const char *s = j.p;
      while (j.p < j.end && *j.p != ',' && *j.p != ']' && !isspace((unsigned char)*j.p))
        j.p++;
      if (n < 6)
        tok[n] = (struct field){s, (size_t)(j.p - s)};
      n++;
      if (jexpect(&j, ']'))
        break;
      if (!jexpect(&j, ','))
        return tml_error_set(err, TML_EPARSE, "cannot import '%s' line %zu: row %zu: expected ',' or ']'%s", x->path, j.line, row,
                             cut_hint(&j));
    }
    x->rep->rows_read++;
    int64_t t = 0;
    int unit;
    double v[5];
    bool ok = true;
    if (n != 6) {
      bad_row(x, j.line, "row %zu: expected 6 values [ts, open, high, low, close, volume], found %zu", row, n);
      ok = false;
    } else if (parse_time_field(tok[0].p, tok[0].len, &t, &unit) != 0) {
      bad_row(x, j.line, "row %zu: time '%.*s' is not an epoch number", row, (int)TML_MIN(tok[0].len, 64), tok[0].p);
      ok = false;
    } else if (note_time(x, t)) {
      return tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", x->path);
    } else if (!same_epoch_unit(x, j.line, unit, &tok[0])) {
      ok = false;
    }
    for (int k = 0; k < 5 && ok; k++)
      if (tml_parse_double(tok[k + 1].p, tok[k + 1].len, &v[k]) != 0) {
        bad_row(x, j.line, "row %zu: %s '%.*s' is not a number", row, VALUE_NAMES[k], (int)TML_MIN(tok[k + 1].len, 64),
                tok[k + 1].p);
        ok = false;
      }
    if (ok && take_row(x, j.line, t, v))
      return tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", x->path);
    if (jexpect(&j, ']'))
      break;
    if (!jexpect(&j, ','))
      return tml_error_set(err, TML_EPARSE, "cannot import '%s' line %zu: row %zu: expected ',' or ']' after a candle%s", x->path, j.line,
                           row, cut_hint(&j));
  }
  jskip(&j);
  if (j.p != j.end)
    return tml_error_set(err, TML_EPARSE, "cannot import '%s' line %zu: unexpected text after the candle list", x->path, j.line);
  return 0;
}

/* ---- shared steps ------------------------------------------------------------------------- */

/* Reads the whole file, gunzipping when it is gzip. *truncated is set when a gzip stream ends
 * before its end marker (zlib reports that as Z_BUF_ERROR at end of input, not as an error of
 * gzread): the text read so far is kept so the caller can say how far it got. */
static int read_all(const char *path, struct tml_buf *b, bool *truncated, struct tml_error *err) {
  struct stat st;
  *truncated = false;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return tml_error_set(err, TML_EIO, "cannot import '%s': it is a directory; give one candle file (CSV, Binance dump "
                         "or freqtrade JSON, optionally .gz)", path);
  gzFile gz = gzopen(path, "rb");
  if (!gz) {
    int e = errno;
    return tml_error_set(err, e == ENOENT ? TML_ENOENT : TML_EIO, "cannot open '%s': %s", path,
                         e ? strerror(e) : "out of memory");
  }
  gzbuffer(gz, 1u << 17);
  char chunk[1 << 16];
  int rc = 0;
  for (;;) {
    int n = gzread(gz, chunk, sizeof(chunk));
    if (n < 0) {
      int zerr;
      const char *msg = gzerror(gz, &zerr);
      rc = tml_error_set(err, TML_EIO, "cannot read '%s': %s (a corrupt gzip file?)", path, msg);
      break;
    }
    if (n == 0) {
      int zerr;
      gzerror(gz, &zerr);
      *truncated = zerr == Z_BUF_ERROR && !gzdirect(gz);
      break;
    }
    if (tml_buf_append(b, chunk, (size_t)n)) {
      rc = tml_error_set(err, TML_ETOOBIG, "'%s' is too large to import at once (over %zu bytes)", path, b->max);
      break;
    }
  }
  gzclose(gz);
  return rc;
}

struct key {
  int64_t t;
  size_t line;
  size_t row;
};

static int cmp_key(const void *a, const void *b) {
  const struct key *x = a, *y = b;
  if (x->t != y->t)
    return (x->t > y->t) - (x->t < y->t);
  return (x->line > y->line) - (x->line < y->line);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The most common spacing between consecutive distinct times, if it is a supported interval and
 * covers at least half of the spacings: anything less clear is left to --interval. */
static int infer_interval(struct ctx *x, int64_t *out, struct tml_error *err) {
  size_t n = x->rows.len;
  if (n < 2)
    return tml_error_set(err, TML_EINVAL, "'%s': cannot infer the interval from %zu row(s); pass --interval",
                         x->path, n);
  int64_t *t = malloc(n * sizeof(*t));
  if (!t)
    return tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", x->path);
  memcpy(t, x->rows.open_time, n * sizeof(*t));
  qsort(t, n, sizeof(*t), cmp_i64);
  size_t nd = 0;
  for (size_t i = 1; i < n; i++)
    if (t[i] != t[i - 1])
      t[nd++] = t[i] - t[i - 1];
  qsort(t, nd, sizeof(*t), cmp_i64);
  int64_t best = 0;
  size_t best_n = 0;
  for (size_t i = 0; i < nd;) {
    size_t k = i;
    while (k < nd && t[k] == t[i])
      k++;
    if (k - i > best_n) {
      best_n = k - i;
      best = t[i];
    }
    i = k;
  }
  free(t);
  if (nd == 0 || !tml_interval_name(best) || best_n * 2 < nd)
    return tml_error_set(err, TML_EINVAL,
                         "'%s': cannot infer the interval (most common spacing %" PRId64
                         " ms in %zu of %zu steps); pass --interval",
                         x->path, best, best_n, nd);
  *out = best;
  return 0;
}

/* Lower median of the steps between consecutive distinct times (0 with fewer than two times).
 * Unlike the most common step it cannot be fooled into agreeing with a wrong --interval by gaps. */
static int median_spacing(const struct ctx *x, int64_t *out, size_t *nsteps) {
  size_t n = x->ntimes, nd = 0;
  *out = 0;
  *nsteps = 0;
  if (n < 2)
    return 0;
  int64_t *t = malloc(n * sizeof(*t));
  if (!t)
    return TML_ENOMEM;
  memcpy(t, x->times, n * sizeof(*t));
  qsort(t, n, sizeof(*t), cmp_i64);
  for (size_t i = 1; i < n; i++)
    if (t[i] != t[i - 1])
      t[nd++] = t[i] - t[i - 1];
  if (nd) {
    qsort(t, nd, sizeof(*t), cmp_i64);
    *out = t[(nd - 1) / 2];
  }
  *nsteps = nd;
  free(t);
  return 0;
}

/* "1d", "2h", "90m", "45s" or "1500 ms": a spacing in words for messages. */
static void span_text(int64_t ms, char *out, size_t outsz) {
  const char *name = tml_interval_name(ms);
  if (name)
    snprintf(out, outsz, "%s", name);
  else if (ms % TML_MS_PER_DAY == 0)
    snprintf(out, outsz, "%" PRId64 "d", ms / TML_MS_PER_DAY);
  else if (ms % TML_MS_PER_HOUR == 0)
    snprintf(out, outsz, "%" PRId64 "h", ms / TML_MS_PER_HOUR);
  else if (ms % TML_MS_PER_MINUTE == 0)
    snprintf(out, outsz, "%" PRId64 "m", ms / TML_MS_PER_MINUTE);
  else if (ms % 1000 == 0)
    snprintf(out, outsz, "%" PRId64 "s", ms / 1000);
  else
    snprintf(out, outsz, "%" PRId64 " ms", ms);
}

int tml_import_format_parse(const char *s, enum tml_import_format *out) {
  static const struct {
    const char *name;
    enum tml_import_format f;
  } names[] = {{"auto", TML_IMPORT_AUTO}, {"csv", TML_IMPORT_CSV}, {"binance", TML_IMPORT_BINANCE_DUMP},
               {"freqtrade", TML_IMPORT_FREQTRADE_JSON}};
  for (size_t i = 0; s && i < TML_ARRAY_LEN(names); i++)
    if (strcmp(s, names[i].name) == 0) {
      *out = names[i].f;
      return 0;
    }
  return TML_EINVAL;
}

const char *tml_import_format_name(enum tml_import_format f) {
  switch (f) {
  case TML_IMPORT_AUTO: return "auto";
  case TML_IMPORT_CSV: return "csv";
  case TML_IMPORT_BINANCE_DUMP: return "binance";
  case TML_IMPORT_FREQTRADE_JSON: return "freqtrade";
  }
  return "?";
}

/* Sorts the staged rows ascending, drops identical repeats and reports repeats with different
 * values (the first occurrence in the file is kept); fills out. */
static int finish(struct ctx *x, const uint8_t *keep, struct tml_candles *out, struct tml_error *err) {
  size_t n = x->rows.len, nk = 0;
  struct key *k = malloc((n ? n : 1) * sizeof(*k));
  if (!k || tml_candles_reserve(out, n ? n : 1)) {
    free(k);
    return tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", x->path);
  }
  for (size_t i = 0; i < n; i++)
    if (keep[i])
      k[nk++] = (struct key){x->rows.open_time[i], x->line[i], i};
  x->rep->sorted_input = true;
  for (size_t i = 1; i < nk && x->rep->sorted_input; i++)
    x->rep->sorted_input = k[i - 1].t < k[i].t;
  qsort(k, nk, sizeof(*k), cmp_key);
  const struct tml_candles *s = &x->rows;
  for (size_t i = 0; i < nk; i++) {
    size_t r = k[i].row;
    if (out->len && out->open_time[out->len - 1] == k[i].t) {
      size_t p = out->len - 1;
      if (out->open[p] == s->open[r] && out->high[p] == s->high[r] && out->low[p] == s->low[r] &&
          out->close[p] == s->close[r] && out->volume[p] == s->volume[r]) {
        x->rep->rows_duplicate++;
      } else {
        char ts[32];
        tml_time_format(k[i].t, ts, sizeof(ts));
        size_t first_line = 0;
        for (size_t q = i; q-- > 0 && k[q].t == k[i].t;)
          first_line = k[q].line;
        bad_row(x, k[i].line, "duplicate time %s with values different from line %zu", ts, first_line);
      }
      continue;
    }
    tml_candles_push(out, k[i].t, s->open[r], s->high[r], s->low[r], s->close[r], s->volume[r]);
  }
  free(k);
  return 0;
}

int tml_import_file(const char *path, const struct tml_import_opts *o, struct tml_candles *out,
                    struct tml_import_report *rep, struct tml_error *err) {
  struct tml_import_report local;
  struct tml_import_report *r = rep ? rep : &local;
  memset(r, 0, sizeof(*r));
  r->format = o->format;
  char sym[TML_SYMBOL_MAX] = "";
  tml_candles_init(out, NULL, o->interval_ms);
  if (!o->symbol || tml_symbol_normalize(o->symbol, sym, sizeof(sym)) != 0)
    return tml_error_set(err, TML_EINVAL, "invalid symbol '%s' (1-32 of A-Z 0-9 - _ after normalizing, e.g. BTCUSDT)",
                         o->symbol ? o->symbol : "(none)");
  snprintf(out->symbol, sizeof(out->symbol), "%s", sym);
  if (o->interval_ms != 0 && !tml_interval_name(o->interval_ms))
    return tml_error_set(err, TML_EINVAL, "unknown interval of %" PRId64 " ms (valid: %s)", o->interval_ms,
                         tml_interval_list());

  struct ctx x;
  memset(&x, 0, sizeof(x));
  x.path = path;
  x.o = o;
  x.rep = r;
  x.epoch_unit = -1;
  tml_candles_init(&x.rows, sym, o->interval_ms);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  uint8_t *keep = NULL;
  bool truncated = false;
  int rc = read_all(path, &b, &truncated, err);
  if (rc)
    goto done;
  size_t bom = tml_parse_bom_len(tml_buf_str(&b), b.len);
  const char *data = tml_buf_str(&b) + bom;
  size_t size = b.len - bom;
  size_t i0 = 0;
  while (i0 < size && isspace((unsigned char)data[i0]))
    i0++;
  enum tml_import_format fmt = o->format;
  if (fmt == TML_IMPORT_AUTO && i0 < size && data[i0] == '[')
    fmt = TML_IMPORT_FREQTRADE_JSON;
  if (fmt == TML_IMPORT_FREQTRADE_JSON && (o->volume_column || o->time_column || o->asset)) {
    rc = tml_error_set(err, TML_EINVAL, "cannot import '%s': --%s applies to CSV files with a header, not to freqtrade JSON",
                       path, o->volume_column ? "volume-column" : o->time_column ? "time-column" : "asset");
    goto done;
  }
  rc = fmt == TML_IMPORT_FREQTRADE_JSON ? parse_freqtrade(&x, data, size, err) : parse_csv(&x, data, size, fmt, err);
  /* A cut-off file fails whatever else went wrong, and even with skip_bad_rows: the rows that are
   * missing are not bad rows that can be skipped. */
  if (truncated) {
    tml_error_init(err);
    rc = tml_error_set(err, TML_EIO,
                       "cannot import '%s': it is a truncated gzip file (the compressed data ends after %zu bytes of "
                       "text, %zu rows read); nothing imported: download or compress it again",
                       path, b.len, r->rows_read);
    goto done;
  }
  if (rc)
    goto done;
  if (x.last_cut) {
    rc = tml_error_set(err, TML_EPARSE,
                       "cannot import '%s': the file ends early, its last line %zu is cut off (%s); nothing imported: "
                       "get the whole file again",
                       path, x.last_cut_line, x.last_bad);
    goto done;
  }

  int64_t spacing;
  size_t nsteps;
  if (median_spacing(&x, &spacing, &nsteps)) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", path);
    goto done;
  }
  r->spacing_ms = spacing;
  int64_t iv = o->interval_ms;
  if (iv == 0) {
    rc = infer_interval(&x, &iv, err);
    if (rc)
      goto done;
    r->interval_inferred = true;
  }
  /* Daily candles declared as 1h pass the grid check (midnight is on every grid) and look like a
   * series with 96 % missing; hourly ones declared as 1d lose 23 of 24 rows to the grid check. The
   * median spacing tells both apart from a series with gaps. */
  if (nsteps >= 2 && spacing != iv) {
    char found[32];
    span_text(spacing, found, sizeof(found));
    rc = tml_error_set(err, TML_EINVAL,
                       "cannot import '%s' as %s candles: they are %s apart (median of %zu steps between candles)%s%s%s",
                       path, tml_interval_name(iv), found, nsteps,
                       tml_interval_name(spacing) ? "; pass --interval " : "; the file's interval is not a supported one (",
                       tml_interval_name(spacing) ? tml_interval_name(spacing) : tml_interval_list(),
                       tml_interval_name(spacing) ? "" : ")");
    goto done;
  }
  r->interval_ms = iv;
  out->interval_ms = iv;
  int64_t now = o->now_ms ? o->now_ms : tml_now_ms();
  keep = malloc(x.rows.len ? x.rows.len : 1);
  if (!keep) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", path);
    goto done;
  }
  for (size_t i = 0; i < x.rows.len; i++) {
    int64_t t = x.rows.open_time[i];
    char ts[32];
    keep[i] = 0;
    if (tml_time_floor(t, iv) != t) {
      tml_time_format(t, ts, sizeof(ts));
      bad_row(&x, x.line[i], "time %s is not on the %s grid (open times must be multiples of %s in UTC)", ts,
              tml_interval_name(iv), tml_interval_name(iv));
    } else if (t > now + iv) {
      char nows[32];
      tml_time_format(t, ts, sizeof(ts));
      tml_time_format(now, nows, sizeof(nows));
      bad_row(&x, x.line[i], "time %s is more than one %s interval in the future (now is %s)", ts,
              tml_interval_name(iv), nows);
    } else {
      keep[i] = 1;
    }
  }
  rc = finish(&x, keep, out, err);
  if (rc)
    goto done;
  if (r->rows_skipped && !o->skip_bad_rows) {
    rc = tml_error_set(err, TML_EPARSE,
                       "cannot import %s (%zu bad row%s in all; nothing imported: fix the file or use --skip-bad-rows)",
                       x.first_bad, r->rows_skipped, r->rows_skipped == 1 ? "" : "s");
    goto done;
  }
  if (o->drop_last_candle && out->len) {
    r->dropped_last = true;
    r->dropped_last_ms = out->open_time[--out->len];
  }
  if (out->len == 0) {
    rc = tml_error_set(err, TML_EDATA, "cannot import '%s': no valid candle rows found (%zu read, %zu bad%s)", path,
                       r->rows_read, r->rows_skipped, r->dropped_last ? ", the only one left out by --drop-last-candle" : "");
    goto done;
  }
  if (out->open_time[out->len - 1] + iv > now) {
    r->open_candle = true;
    r->open_candle_ms = out->open_time[out->len - 1];
  }
  r->rows_ok = out->len;
done:
  if (rc) {
    tml_candles_release(out);
    r->rows_ok = 0;
  }
  free(keep);
  free(x.line);
  free(x.times);
  tml_candles_release(&x.rows);
  tml_buf_release(&b);
  return rc;
}
