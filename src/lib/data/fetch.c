/* Incremental, resumable candle fetch into the store. The store is the only state: the missing
 * ranges are computed from what it holds, each page is committed on its own, so a fetch killed at
 * any point leaves whole pages behind and the next run asks only for what is still missing.
 * A small table fetch_sources (kept by the store's backend, next to the candles) remembers which
 * exchange/market each series came from and where the exchange's history begins, so `sync` can
 * update everything and a range before a listing is not walked again. */
#include "trademl/fetch.h"
#include "util/common.h"

#include "data/store_backend.h"
#include "trademl/error.h"
#include "trademl/log.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

int tml_fetch_sources(struct tml_store *s, struct tml_fetch_source **out, size_t *n,
                      struct tml_error *err) {
  return tml__store_source_list(s, out, n, err);
}

/* The stored extent of the series, from the store (a dry-run count of everything). */
static int series_extent(struct tml_store *s, const char *symbol, int64_t iv, struct tml_fetch_result *r,
                         struct tml_error *err) {
  struct tml_delete_stats st;
  int rc = tml_store_delete_range(s, symbol, iv, INT64_MIN, INT64_MAX, true, &st, err);
  if (rc == 0) {
    r->stored_rows = st.rows;
    r->stored_first_ms = st.first_ms;
    r->stored_last_ms = st.last_ms;
  }
  return rc;
}

/* ---- missing ranges -------------------------------------------------------------------------- */

struct range {
  int64_t from, to; /* inclusive open times */
};

struct ranges {
  struct range *v;
  size_t len, cap;
};

static int ranges_push(struct ranges *rs, int64_t from, int64_t to) {
  if (rs->len == rs->cap) {
    size_t cap = rs->cap ? rs->cap * 2 : 16;
    struct range *p = realloc(rs->v, cap * sizeof(*p));
    if (!p)
      return TML_ENOMEM;
    rs->v = p;
    rs->cap = cap;
  }
  rs->v[rs->len].from = from;
  rs->v[rs->len].to = to;
  rs->len++;
  return 0;
}

/* The open times in [from, to] that `have` (ascending) lacks, as ranges. */
static int missing_ranges(const struct tml_candles *have, int64_t from, int64_t to, int64_t iv,
                          struct ranges *out) {
  int64_t next = from;
  for (size_t i = 0; i < have->len; i++) {
    int64_t t = have->open_time[i];
    if (t < from || t > to)
      continue;
    if (t > next && ranges_push(out, next, t - iv))
      return TML_ENOMEM;
    next = t + iv;
  }
  if (next <= to && ranges_push(out, next, to))
    return TML_ENOMEM;
  return 0;
}

/* ---- the fetch ------------------------------------------------------------------------------- */

struct page_ctx {
  struct tml_store *store;
  struct tml_fetch_result *r;
  const struct tml_fetch_opts *o;
  struct tml_fetch_progress prog;
  double t0;
};

static int store_page(void *vctx, const struct tml_candles *page, int64_t ws, int64_t we,
                      struct tml_error *err) {
  struct page_ctx *c = vctx;
  (void)ws;
  (void)we;
  if (page->len) {
    struct tml_put_stats ps = {0, 0, 0};
    int rc = tml_store_put(c->store, page, false, &ps, err); /* one transaction per page */
    if (rc)
      return rc;
    c->r->fetched += page->len;
    c->r->inserted += ps.inserted;
    c->r->unchanged += ps.unchanged;
  }
  if (c->o->progress) {
    c->prog.fetched = c->r->fetched;
    c->prog.elapsed_s = tml_monotonic_s() - c->t0;
    c->prog.eta_s = -1.0;
    if (c->prog.fetched > 0 && c->prog.expected > c->prog.fetched)
      c->prog.eta_s = c->prog.elapsed_s / (double)c->prog.fetched *
                      (double)(c->prog.expected - c->prog.fetched);
    else if (c->prog.fetched > 0)
      c->prog.eta_s = 0.0;
    c->o->progress(c->o->progress_ctx, &c->prog);
  }
  return 0;
}

static int64_t align_up(int64_t t, int64_t iv) {
  int64_t f = tml_time_floor(t, iv);
  return f == t ? t : tml_time_floor(t + iv, iv);
}

int tml_fetch_series(struct tml_store *s, struct tml_exchange *ex, const char *symbol,
                     int64_t interval_ms, const struct tml_fetch_opts *o, struct tml_fetch_result *r,
                     struct tml_error *err) {
  struct tml_fetch_result local;
  if (!r)
    r = &local;
  memset(r, 0, sizeof(*r));
  r->listed_ms = -1;
  const char *exname = tml_exchange_name(ex), *market = tml_exchange_market(ex);
  int rc = tml_exchange_check_interval(ex, interval_ms, err);
  if (rc)
    return rc;
  const char *ivname = tml_interval_name(interval_ms);
  struct tml_fetch_source src;
  bool known = false;
  rc = tml__store_source_get(s, symbol, interval_ms, &src, &known, err);
  if (rc)
    return rc;
  if (known && (strcmp(src.exchange, exname) != 0 || strcmp(src.market, market) != 0))
    return tml_error_set(err, TML_ECONFLICT,
                         "%s %s is stored from %s %s; fetching it from %s %s would mix venues in "
                         "one series (use another --home, or delete the series first)",
                         symbol, ivname, src.exchange, src.market, exname, market);
  int64_t listed = known ? src.listed_ms : -1;

  int64_t now = o->now_ms;
  if (now <= 0) {
    rc = tml_exchange_server_time(ex, &now, err);
    if (rc)
      return rc;
  }
  r->server_now_ms = now;
  int64_t last_closed = tml_time_floor(now, interval_ms) - interval_ms;
  int64_t from = align_up(o->from_ms, interval_ms);
  int64_t to = tml_time_floor(TML_MIN(o->to_ms, last_closed), interval_ms);
  char a[32], b[32];
  if (from > last_closed) {
    tml_time_format(from, a, sizeof(a));
    tml_time_format(last_closed, b, sizeof(b));
    return tml_error_set(err, TML_EINVAL,
                         "%s %s: the range starts at %s, after the last closed candle %s (%s "
                         "server time): nothing to fetch",
                         symbol, ivname, a, b, exname);
  }
  if (from > to) {
    tml_time_format(from, a, sizeof(a));
    tml_time_format(to, b, sizeof(b));
    return tml_error_set(err, TML_EINVAL, "%s %s: empty range %s .. %s", symbol, ivname, a, b);
  }
  if (listed > from) {
    r->listed_ms = listed;
    from = listed;
    if (from > to) {
      tml_time_format(listed, a, sizeof(a));
      return tml_error_set(err, TML_EDATA,
                           "%s %s %s %s begins at %s: there are no candles in the range asked for",
                           exname, market, symbol, ivname, a);
    }
  }
  r->from_ms = from;
  r->to_ms = to;

  struct tml_candles have;
  struct ranges miss = {NULL, 0, 0};
  struct tml_http_stats h0, h1;
  tml_exchange_http_stats(ex, &h0);
  rc = tml_store_load(s, symbol, interval_ms, from, to + 1, &have, err);
  if (rc == 0 && missing_ranges(&have, from, to, interval_ms, &miss))
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
  int64_t have_first = have.len ? have.open_time[0] : -1;
  tml_candles_release(&have);
  /* Merge ranges that fit one page together: one request instead of one per small gap. */
  size_t w = 0;
  for (size_t i = 0; rc == 0 && i < miss.len; i++) {
    if (w > 0) {
      struct range *cur = &miss.v[w - 1];
      size_t win = tml_exchange_window(ex, interval_ms, cur->from, now);
      if (miss.v[i].to - cur->from <= (int64_t)(win - 1) * interval_ms) {
        cur->to = miss.v[i].to;
        continue;
      }
    }
    miss.v[w++] = miss.v[i];
  }
  miss.len = w;
  r->ranges = miss.len;

  struct page_ctx pc = {s, r, o, {symbol, interval_ms, 0, 0, 0.0, -1.0}, tml_monotonic_s()};
  for (size_t i = 0; i < miss.len; i++)
    pc.prog.expected += (size_t)((miss.v[i].to - miss.v[i].from) / interval_ms + 1);
  bool leading_empty = false;
  for (size_t i = 0; rc == 0 && i < miss.len; i++) {
    struct tml_range_stats st;
    rc = tml_exchange_fetch_range(ex, symbol, interval_ms, miss.v[i].from, miss.v[i].to, now,
                                  store_page, &pc, &st, err);
    if (rc)
      break;
    r->empty_windows += st.empty_windows;
    bool leading = i == 0 && miss.v[i].from == from && (have_first < 0 || have_first > from);
    if (leading && st.first_ms > from)
      r->listed_ms = st.first_ms; /* the exchange has nothing before this */
    else if (leading && st.first_ms < 0 && have_first > 0)
      r->listed_ms = have_first;
    if (i == 0)
      leading_empty = leading && st.first_ms < 0 && have_first < 0;
  }
  free(miss.v);
  tml_exchange_http_stats(ex, &h1);
  r->requests = h1.requests - h0.requests;
  if (rc)
    return rc;
  if (leading_empty && r->fetched == 0) {
    tml_time_format(from, a, sizeof(a));
    tml_time_format(to, b, sizeof(b));
    return tml_error_set(err, TML_EDATA,
                         "%s %s %s has no %s candles between %s and %s: the symbol did not trade "
                         "then (listed later? see `trademl universe refresh`)",
                         exname, market, symbol, ivname, a, b);
  }
  if (r->listed_ms < 0)
    r->listed_ms = listed;
  struct tml_fetch_source put;
  memset(&put, 0, sizeof(put));
  snprintf(put.symbol, sizeof(put.symbol), "%s", symbol);
  put.interval_ms = interval_ms;
  snprintf(put.exchange, sizeof(put.exchange), "%s", exname);
  snprintf(put.market, sizeof(put.market), "%s", market);
  put.listed_ms = r->listed_ms;
  rc = tml__store_source_put(s, &put, tml_now_ms(), err);
  if (rc == 0)
    rc = series_extent(s, symbol, interval_ms, r, err);
  return rc;
}

int tml_fetch_sync(struct tml_store *s, const struct tml_config *config, int64_t now_ms,
                   tml_sync_fn report, void *ctx, struct tml_error *err) {
  struct tml_fetch_source *src = NULL;
  size_t n = 0;
  int rc = tml_fetch_sources(s, &src, &n, err);
  if (rc)
    return rc;
  int first_rc = 0;
  struct tml_exchange *ex = NULL;
  for (size_t i = 0; i < n; i++) {
    struct tml_error e;
    tml_error_init(&e);
    struct tml_fetch_result r;
    memset(&r, 0, sizeof(r));
    /* one client per exchange/market, reused across its series (keeps the rate buckets) */
    if (ex && (strcmp(tml_exchange_name(ex), src[i].exchange) != 0 ||
               strcmp(tml_exchange_market(ex), src[i].market) != 0)) {
      tml_exchange_close(ex);
      ex = NULL;
    }
    rc = 0;
    if (!ex) {
      struct tml_exchange_config cfg;
      rc = tml_exchange_config_from(config, src[i].exchange, src[i].market, &cfg, &e);
      if (rc == 0)
        rc = tml_exchange_open(&cfg, &ex, &e);
    }
    struct tml_fetch_opts o = {0};
    o.to_ms = INT64_MAX;
    o.now_ms = now_ms;
    if (rc == 0) {
      struct tml_candles first;
      rc = tml_store_load(s, src[i].symbol, src[i].interval_ms, INT64_MIN, INT64_MAX, &first, &e);
      o.from_ms = first.len ? first.open_time[0] : src[i].listed_ms;
      tml_candles_release(&first);
      if (rc == 0 && o.from_ms < 0)
        rc = tml_error_set(&e, TML_EDATA, "%s %s: nothing stored and no listing date known",
                           src[i].symbol, tml_interval_name(src[i].interval_ms));
    }
    if (rc == 0)
      rc = tml_fetch_series(s, ex, src[i].symbol, src[i].interval_ms, &o, &r, &e);
    if (report)
      report(ctx, &src[i], &r, rc, &e);
    if (rc && !first_rc) {
      first_rc = rc;
      tml_error_set(err, rc, "%s %s: %s", src[i].symbol, tml_interval_name(src[i].interval_ms), e.msg);
    }
  }
  tml_exchange_close(ex);
  free(src);
  return first_rc;
}
