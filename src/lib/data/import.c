/* Candle file importers. Every format is read whole (gzread reads plain files unchanged, so .gz is
 * transparent), parsed row by row into flat staging columns with the source line of each row,
 * validated, sorted ascending and de-duplicated. Bad rows are reported as "file:line: what is
 * wrong"; by default one bad row rejects the file, with skip_bad_rows they are dropped and counted.
 * Nothing here touches the store: the caller writes the result in one transaction. */
#include "trademl/import.h"
#include "util/common.h"

#include <ctype.h>
#include <zlib.h>

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"

#define MAX_FIELDS 64
#define MAX_BANNER_LINES 5

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
};

static void bad_row(struct ctx *x, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bad_row(struct ctx *x, size_t line, const char *fmt, ...) {
  char msg[TML_IMPORT_MSG_MAX];
  int n = snprintf(msg, sizeof(msg), "%s:%zu: ", x->path, line);
  if (n < 0 || (size_t)n >= sizeof(msg))
    n = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
  va_end(ap);
  struct tml_import_report *r = x->rep;
  if (r->rows_skipped == 0)
    snprintf(x->first_bad, sizeof(x->first_bad), "%s", msg);
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

/* Epoch numbers are told apart by magnitude: seconds (< 1e11, i.e. before year 5138), ms (< 1e14),
 * microseconds (< 1e17, Binance spot dumps since 2025) and nanoseconds. */
static int64_t epoch_to_ms(int64_t v) {
  uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v; /* unsigned: -INT64_MIN does not overflow */
  if (a < UINT64_C(100000000000))
    return v * 1000;
  if (a < UINT64_C(100000000000000))
    return v;
  if (a < UINT64_C(100000000000000000))
    return v / 1000;
  return v / 1000000;
}

static int parse_time_field(const char *s, size_t len, int64_t *ms) {
  int64_t v;
  if (tml_parse_int64(s, len, &v) == 0) {
    *ms = epoch_to_ms(v);
    return 0;
  }
  double d;
  if (tml_parse_double(s, len, &d) == 0) {
    if (d != floor(d) || fabs(d) > 9e18)
      return TML_EPARSE;
    *ms = epoch_to_ms((int64_t)d);
    return 0;
  }
  return tml_time_parse(s, len, ms);
}

static const char *const VALUE_NAMES[5] = {"open", "high", "low", "close", "volume"};

/* Checks one parsed row and stages it or reports it. Returns 0 or TML_ENOMEM. */
static int take_row(struct ctx *x, size_t line, int64_t t, const double v[5]) {
  double o = v[0], h = v[1], l = v[2], c = v[3], vol = v[4];
  if (h < l)
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

static bool field_starts(const struct field *f, const char *prefix) {
  size_t n = strlen(prefix);
  if (f->len < n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)f->p[i]) != prefix[i])
      return false;
  return true;
}

/* Column indexes: [0] time, [1..5] open high low close volume. */
static bool map_header(const struct field *f, size_t nf, int col[6]) {
  static const char *const time_names[] = {"open_time", "opentime", "open time", "timestamp", "unix",
                                           "unix timestamp", "time", "date", "datetime"};
  for (int k = 0; k < 6; k++)
    col[k] = -1;
  int best_time = (int)TML_ARRAY_LEN(time_names);
  for (size_t i = 0; i < nf; i++) {
    for (int t = 0; t < best_time; t++)
      if (field_is(&f[i], time_names[t])) {
        best_time = t;
        col[0] = (int)i;
      }
    for (int k = 0; k < 4; k++)
      if (col[k + 1] < 0 && field_is(&f[i], VALUE_NAMES[k]))
        col[k + 1] = (int)i;
    if (field_is(&f[i], "volume"))
      col[5] = (int)i;
  }
  /* CryptoDataDownload names volumes "Volume BTC" (base) then "Volume USDT" (quote): take the first. */
  for (size_t i = 0; i < nf && col[5] < 0; i++)
    if (field_starts(&f[i], "volume"))
      col[5] = (int)i;
  for (int k = 0; k < 6; k++)
    if (col[k] < 0)
      return false;
  return true;
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

static int parse_csv(struct ctx *x, const char *data, size_t size, enum tml_import_format fmt, struct tml_error *err) {
  struct field f[MAX_FIELDS];
  int col[6] = {0, 1, 2, 3, 4, 5};
  bool layout_known = false;
  char delim = ',';
  size_t banner = 0, line = 0, pos = 0;
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
      delim = pick_delim(p, len);
      size_t nf = split_fields(p, len, delim, f, MAX_FIELDS);
      int64_t t;
      if (looks_like_header(f, nf)) {
        if (!map_header(f, nf, col))
          return tml_error_set(err, TML_EPARSE,
                               "%s:%zu: header lacks a time column (open_time, timestamp, date, unix) or one of "
                               "open, high, low, close, volume",
                               x->path, line);
        layout_known = true;
        continue;
      }
      if (nf >= 6 && parse_time_field(f[0].p, f[0].len, &t) == 0) {
        layout_known = true; /* no header: time, open, high, low, close, volume[, ...] */
        if (fmt == TML_IMPORT_AUTO && nf == 12)
          r->format = TML_IMPORT_BINANCE_DUMP;
      } else if (++banner > MAX_BANNER_LINES) {
        return tml_error_set(err, TML_EPARSE,
                             "%s:%zu: no header and no candle row in the first lines (expected a header with "
                             "open_time/timestamp/date, open, high, low, close, volume)",
                             x->path, line);
      } else {
        continue; /* a banner line such as CryptoDataDownload's URL */
      }
    }
    size_t nf = split_fields(p, len, delim, f, MAX_FIELDS);
    r->rows_read++;
    int need = 0;
    for (int k = 0; k < 6; k++)
      need = TML_MAX(need, col[k] + 1);
    if (nf < (size_t)need) {
      bad_row(x, line, "expected at least %d fields, found %zu", need, nf);
      continue;
    }
    int64_t t;
    const struct field *tf = &f[col[0]];
    if (parse_time_field(tf->p, tf->len, &t) != 0) {
      bad_row(x, line, "time '%.*s' is neither an epoch number nor a date like 2024-01-31 13:45:00", (int)TML_MIN(tf->len, 64),
              tf->p);
      continue;
    }
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

static int parse_freqtrade(struct ctx *x, const char *data, size_t size, struct tml_error *err) {
  struct jscan j = {data, data + size, 1};
  x->rep->format = TML_IMPORT_FREQTRADE_JSON;
  if (!jexpect(&j, '['))
    return tml_error_set(err, TML_EPARSE, "%s:%zu: expected '[' starting a freqtrade candle list", x->path, j.line);
  if (jexpect(&j, ']'))
    return 0;
  for (size_t row = 1;; row++) {
    if (!jexpect(&j, '['))
      return tml_error_set(err, TML_EPARSE, "%s:%zu: row %zu: expected '[' starting [ts, open, high, low, close, volume]",
                           x->path, j.line, row);
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
        return tml_error_set(err, TML_EPARSE, "%s:%zu: row %zu: expected ',' or ']'", x->path, j.line, row);
    }
    x->rep->rows_read++;
    int64_t t = 0;
    double v[5];
    bool ok = true;
    if (n != 6) {
      bad_row(x, j.line, "row %zu: expected 6 values [ts, open, high, low, close, volume], found %zu", row, n);
      ok = false;
    } else if (parse_time_field(tok[0].p, tok[0].len, &t) != 0) {
      bad_row(x, j.line, "row %zu: time '%.*s' is not an epoch number", row, (int)TML_MIN(tok[0].len, 64), tok[0].p);
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
      return tml_error_set(err, TML_EPARSE, "%s:%zu: row %zu: expected ',' or ']' after a candle", x->path, j.line, row);
  }
  jskip(&j);
  if (j.p != j.end)
    return tml_error_set(err, TML_EPARSE, "%s:%zu: unexpected text after the candle list", x->path, j.line);
  return 0;
}

/* ---- shared steps ------------------------------------------------------------------------- */

static int read_all(const char *path, struct tml_buf *b, struct tml_error *err) {
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
      rc = tml_error_set(err, TML_EIO, "cannot read '%s': %s (truncated or corrupt gzip?)", path, msg);
      break;
    }
    if (n == 0)
      break;
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
  tml_candles_init(&x.rows, sym, o->interval_ms);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  uint8_t *keep = NULL;
  int rc = read_all(path, &b, err);
  if (rc)
    goto done;
  const char *data = tml_buf_str(&b);
  size_t i0 = 0;
  while (i0 < b.len && isspace((unsigned char)data[i0]))
    i0++;
  enum tml_import_format fmt = o->format;
  if (fmt == TML_IMPORT_AUTO && i0 < b.len && data[i0] == '[')
    fmt = TML_IMPORT_FREQTRADE_JSON;
  rc = fmt == TML_IMPORT_FREQTRADE_JSON ? parse_freqtrade(&x, data, b.len, err) : parse_csv(&x, data, b.len, fmt, err);
  if (rc)
    goto done;

  int64_t iv = o->interval_ms;
  if (iv == 0) {
    rc = infer_interval(&x, &iv, err);
    if (rc)
      goto done;
    r->interval_inferred = true;
  }
  r->interval_ms = iv;
  out->interval_ms = iv;
  keep = malloc(x.rows.len ? x.rows.len : 1);
  if (!keep) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", path);
    goto done;
  }
  for (size_t i = 0; i < x.rows.len; i++) {
    int64_t t = x.rows.open_time[i];
    keep[i] = tml_time_floor(t, iv) == t;
    if (!keep[i]) {
      char ts[32];
      tml_time_format(t, ts, sizeof(ts));
      bad_row(&x, x.line[i], "time %s is not on the %s grid (open times must be multiples of %s in UTC)", ts,
              tml_interval_name(iv), tml_interval_name(iv));
    }
  }
  rc = finish(&x, keep, out, err);
  if (rc)
    goto done;
  if (r->rows_skipped && !o->skip_bad_rows) {
    rc = tml_error_set(err, TML_EPARSE, "%s (%zu bad row%s in all; nothing imported: fix the file or use --skip-bad-rows)",
                       x.first_bad, r->rows_skipped, r->rows_skipped == 1 ? "" : "s");
    goto done;
  }
  if (out->len == 0) {
    rc = tml_error_set(err, TML_EDATA, "'%s': no valid candle rows found (%zu read, %zu bad)", path, r->rows_read,
                       r->rows_skipped);
    goto done;
  }
  r->rows_ok = out->len;
done:
  if (rc) {
    tml_candles_release(out);
    r->rows_ok = 0;
  }
  free(keep);
  free(x.line);
  tml_candles_release(&x.rows);
  tml_buf_release(&b);
  return rc;
}
