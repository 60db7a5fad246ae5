/* The exchange-independent half of the market-data clients: selection by name, the JSON request
 * helper, page clean-up (ascending order, duplicates, the still-open candle) and the forward walk
 * over a date range in explicit windows. The per-exchange halves are exchange_<name>.c. */
#include "trademl/exchange.h"
#include "util/common.h"

#include "data/exchange_internal.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/log.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"

static const struct tml_exchange_ops *const all_ops[] = {&tml__bybit_ops, &tml__bitget_ops,
                                                         &tml__binance_ops};

const struct tml_exchange_ops *tml_exchange_find(const char *name) {
  for (size_t i = 0; name && i < TML_ARRAY_LEN(all_ops); i++)
    if (strcmp(all_ops[i]->name, name) == 0)
      return all_ops[i];
  return NULL;
}

const char *tml_exchange_names(void) { return "bybit, bitget, binance"; }

void tml_instruments_init(struct tml_instruments *l) { memset(l, 0, sizeof(*l)); }

void tml_instruments_release(struct tml_instruments *l) {
  if (!l)
    return;
  free(l->items);
  memset(l, 0, sizeof(*l));
}

int tml_instruments_push(struct tml_instruments *l, const struct tml_instrument *it) {
  if (l->len == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 256;
    struct tml_instrument *p = realloc(l->items, cap * sizeof(*p));
    if (!p)
      return TML_ENOMEM;
    l->items = p;
    l->cap = cap;
  }
  l->items[l->len++] = *it;
  return 0;
}

void tml__exchange_set_base(struct tml_exchange *ex, const char *explicit_url, const char *fallback) {
  const char *url = explicit_url && *explicit_url ? explicit_url : fallback;
  snprintf(ex->base_url, sizeof(ex->base_url), "%s", url);
  size_t n = strlen(ex->base_url);
  while (n > 0 && ex->base_url[n - 1] == '/')
    ex->base_url[--n] = '\0';
}

int tml_exchange_config_from(const struct tml_config *cfg, const char *name, const char *market,
                             struct tml_exchange_config *out, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  bool futures_alias = name && strcmp(name, "binance_futures") == 0;
  const struct tml_exchange_ops *ops = tml_exchange_find(futures_alias ? "binance" : name);
  if (!ops)
    return tml_error_set(err, TML_EINVAL, "unknown exchange '%s': use one of %s", name ? name : "",
                         tml_exchange_names());
  out->name = ops->name;
  out->market = market && *market ? market : (futures_alias ? "futures" : NULL);
  if (!cfg)
    return 0;
  /* Binance spot and futures are two hosts, so two keys; the market is matched the way
   * exchange_binance.c validates it (exactly "futures"). */
  const char *section = ops->name;
  if (strcmp(ops->name, "binance") == 0 && out->market && strcmp(out->market, "futures") == 0)
    section = "binance_futures";
  char key[64];
  snprintf(key, sizeof(key), "exchanges.%s.base_url", section);
  out->base_url = tml_config_get(cfg, key);
  out->http.timeout_ms = (long)tml_config_int(cfg, "exchanges.http.timeout_ms");
  int64_t retries = tml_config_int(cfg, "exchanges.http.retries");
  out->http.max_retries = retries == 0 ? -1 : (int)retries; /* tml_http_opts: 0 = default, < 0 = none */
  out->http.backoff_base_ms = tml_config_int(cfg, "exchanges.http.backoff_ms");
  out->http.backoff_cap_ms = tml_config_int(cfg, "exchanges.http.backoff_cap_ms");
  out->http.proxy = tml_config_get(cfg, "exchanges.http.proxy");
  out->rate_per_s = tml_config_double(cfg, "exchanges.http.rate");
  return 0;
}

void tml__exchange_set_rate(struct tml_exchange *ex, double klines_rate, double other_rate) {
  if (ex->rate_per_s > 0) {
    klines_rate = ex->rate_per_s;
    other_rate = ex->rate_per_s;
  }
  tml_ratelimit_init(&ex->buckets[TML_BUCKET_KLINES], klines_rate, TML_MAX(1.0, klines_rate / 2));
  tml_ratelimit_init(&ex->buckets[TML_BUCKET_OTHER], other_rate, TML_MAX(1.0, other_rate / 2));
}

int tml_exchange_open(const struct tml_exchange_config *cfg, struct tml_exchange **out,
                      struct tml_error *err) {
  *out = NULL;
  const struct tml_exchange_ops *ops = tml_exchange_find(cfg->name);
  if (!ops)
    return tml_error_set(err, TML_EINVAL, "unknown exchange '%s': use one of %s",
                         cfg->name ? cfg->name : "", tml_exchange_names());
  struct tml_exchange *ex = calloc(1, sizeof(*ex));
  if (!ex)
    return tml_error_set(err, TML_ENOMEM, "cannot allocate an exchange client");
  ex->ops = ops;
  snprintf(ex->market, sizeof(ex->market), "%s",
           cfg->market && *cfg->market ? cfg->market : ops->default_market);
  ex->rate_per_s = cfg->rate_per_s;
  tml__exchange_set_base(ex, cfg->base_url, "");
  int rc = ops->setup(ex, err);
  if (rc == 0)
    rc = tml_http_create(&cfg->http, &ex->http, err);
  if (rc) {
    tml_exchange_close(ex);
    return rc;
  }
  *out = ex;
  return 0;
}

void tml_exchange_close(struct tml_exchange *ex) {
  if (!ex)
    return;
  tml_http_destroy(ex->http);
  free(ex);
}

const char *tml_exchange_name(const struct tml_exchange *ex) { return ex->ops->name; }
const char *tml_exchange_market(const struct tml_exchange *ex) { return ex->market; }
const char *tml_exchange_base_url(const struct tml_exchange *ex) { return ex->base_url; }

void tml_exchange_http_stats(const struct tml_exchange *ex, struct tml_http_stats *out) {
  tml_http_get_stats(ex->http, out);
}

int tml_exchange_check_interval(const struct tml_exchange *ex, int64_t interval_ms,
                                struct tml_error *err) {
  if (ex->ops->interval_code(ex, interval_ms))
    return 0;
  struct tml_buf valid;
  tml_buf_init(&valid, 0);
  static const int64_t all[] = {60000,    180000,   300000,   900000,   1800000,  3600000, 7200000,
                                14400000, 21600000, 28800000, 43200000, 86400000, 604800000};
  for (size_t i = 0; i < TML_ARRAY_LEN(all); i++)
    if (ex->ops->interval_code(ex, all[i]))
      tml_buf_printf(&valid, "%s%s", valid.len ? ", " : "", tml_interval_name(all[i]));
  const char *name = tml_interval_name(interval_ms);
  tml_error_set(err, TML_EINVAL, "%s %s has no %s candles: use one of %s", ex->ops->name,
                ex->market, name ? name : "such", tml_buf_str(&valid));
  tml_buf_release(&valid);
  return TML_EINVAL;
}

/* ---- requests -------------------------------------------------------------------------------- */

struct classify_ctx {
  tml__classify_fn fn;
  json_t *root; /* parsed body of the accepted reply */
  const char *host;
};

static enum tml_http_verdict classify_json(void *vctx, const struct tml_http_response *r,
                                           int64_t *wait_ms, struct tml_error *err) {
  struct classify_ctx *c = vctx;
  json_error_t jerr;
  json_t *root = NULL;
  if (r->body.len > 0)
    root = json_loadb(r->body.ptr, r->body.len, 0, &jerr);
  enum tml_http_verdict v = c->fn(r, root, wait_ms, err);
  if (v == TML_HTTP_OK && !root) {
    tml_error_set(err, TML_EPARSE, "reply from %s is not JSON (HTTP %ld, %zu bytes): '%.80s'",
                  c->host, r->status, r->body.len, tml_buf_str(&r->body));
    return TML_HTTP_TRANSIENT; /* truncated bodies come from dropped connections: try again */
  }
  if (v == TML_HTTP_OK) {
    json_decref(c->root);
    c->root = root;
  } else {
    json_decref(root);
  }
  return v;
}

void tml__exchange_set_reply_source(struct tml_exchange *ex, tml__reply_fn fn, void *ctx) {
  ex->reply_fn = fn;
  ex->reply_ctx = ctx;
}

int tml__exchange_get_json(struct tml_exchange *ex, int bucket, double cost, const char *path_query,
                           tml__classify_fn classify, const char *what, json_t **root,
                           struct tml_error *err) {
  *root = NULL;
  struct tml_buf url;
  tml_buf_init(&url, 0);
  int rc = tml_buf_printf(&url, "%s%s", ex->base_url, path_query);
  if (rc)
    return tml_error_set(err, rc, "%s: URL too long", what);
  char host[256];
  tml_http_host(url.ptr, host, sizeof(host));
  struct classify_ctx ctx = {classify, NULL, host};
  struct tml_http_response resp;
  tml_http_response_init(&resp);
  tml_debug("GET %s", url.ptr);
  struct tml_error e;
  tml_error_init(&e);
  if (ex->reply_fn) {
    rc = ex->reply_fn(ex->reply_ctx, url.ptr, &resp, &e);
    int64_t wait_ms = 0;
    if (rc == 0 && classify_json(&ctx, &resp, &wait_ms, &e) != TML_HTTP_OK)
      rc = e.code ? e.code : TML_EEXCHANGE;
    if (rc && !e.msg[0])
      tml_error_set(&e, rc, "HTTP %ld from %s", resp.status, host);
  } else {
    rc = tml_http_get(ex->http, url.ptr, &ex->buckets[bucket], cost, classify_json, &ctx, &resp, &e);
  }
  if (rc) {
    tml_error_set(err, rc, "%s: %s", what, e.msg);
    json_decref(ctx.root);
  } else {
    *root = ctx.root;
  }
  tml_http_response_release(&resp);
  tml_buf_release(&url);
  return rc;
}

int tml__json_field(json_t *obj, const char *name, json_type type, const char *what, json_t **out,
                    struct tml_error *err) {
  json_t *v = json_is_object(obj) ? json_object_get(obj, name) : NULL;
  static const char *const names[] = {"an object", "an array", "a string", "an integer",
                                      "a number",  "true",     "false",    "null"};
  if (!v)
    return tml_error_set(err, TML_EPARSE, "%s: field '%s' is missing from the reply (API changed?)",
                         what, name);
  if (json_typeof(v) != type)
    return tml_error_set(err, TML_EPARSE, "%s: field '%s' is not %s (API changed?)", what, name,
                         names[type]);
  *out = v;
  return 0;
}

int tml__json_num(json_t *v, const char *what, const char *field, double *out, struct tml_error *err) {
  if (json_is_number(v)) {
    *out = json_number_value(v);
    return 0;
  }
  if (json_is_string(v) && tml_parse_double(json_string_value(v), json_string_length(v), out) == 0)
    return 0;
  return tml_error_set(err, TML_EPARSE, "%s: field '%s' is not a number (API changed?)", what, field);
}

int tml__json_i64(json_t *v, const char *what, const char *field, int64_t *out,
                  struct tml_error *err) {
  if (json_is_integer(v)) {
    *out = (int64_t)json_integer_value(v);
    return 0;
  }
  if (json_is_string(v) && tml_parse_int64(json_string_value(v), json_string_length(v), out) == 0)
    return 0;
  return tml_error_set(err, TML_EPARSE, "%s: field '%s' is not an integer (API changed?)", what,
                       field);
}

void tml__json_str(json_t *obj, const char *name, char *out, size_t outsz) {
  json_t *v = json_object_get(obj, name);
  snprintf(out, outsz, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int tml__push_row(json_t *row, const char *what, size_t index, int64_t lo, int64_t hi,
                  struct tml_candles *out, struct tml_error *err) {
  char field[48];
  if (!json_is_array(row) || json_array_size(row) < 6) {
    snprintf(field, sizeof(field), "row %zu", index);
    return tml_error_set(err, TML_EPARSE,
                         "%s: %s is not an array of at least 6 values (API changed?)", what, field);
  }
  int64_t t;
  double v[5];
  snprintf(field, sizeof(field), "row %zu [0] open time", index);
  int rc = tml__json_i64(json_array_get(row, 0), what, field, &t, err);
  static const char *const cols[] = {"open", "high", "low", "close", "volume"};
  for (size_t i = 0; rc == 0 && i < 5; i++) {
    snprintf(field, sizeof(field), "row %zu [%zu] %s", index, i + 1, cols[i]);
    rc = tml__json_num(json_array_get(row, i + 1), what, field, &v[i], err);
  }
  if (rc)
    return rc;
  if (t < lo || t > hi)
    return 0;
  if (tml_candles_push(out, t, v[0], v[1], v[2], v[3], v[4]))
    return tml_error_set(err, TML_ENOMEM, "%s: out of memory", what);
  return 0;
}

/* ---- pages and ranges ------------------------------------------------------------------------ */

/* A server clock outside [2009, 2100) is a broken reply, not a time: it would also overflow the
 * clock offset below. */
#define SERVER_TIME_MIN INT64_C(1230768000000) /* 2009-01-01 */
#define SERVER_TIME_MAX INT64_C(4102444800000) /* 2100-01-01 */

int tml_exchange_server_time(struct tml_exchange *ex, int64_t *now_ms, struct tml_error *err) {
  int rc = ex->ops->server_time(ex, now_ms, err);
  if (rc == 0 && (*now_ms < SERVER_TIME_MIN || *now_ms >= SERVER_TIME_MAX))
    rc = tml_error_set(err, TML_EPARSE,
                       "%s server time %" PRId64 " is not a time in milliseconds between 2009 and 2100 "
                       "(API changed, or %s is not %s?)",
                       ex->ops->name, *now_ms, ex->base_url, ex->ops->name);
  if (rc == 0) {
    ex->clock_offset_ms = *now_ms - tml_now_ms();
    ex->clock_known = true;
  }
  return rc;
}

static int64_t align_up(int64_t t, int64_t iv) {
  int64_t f = tml_time_floor(t, iv);
  return f == t ? t : tml_time_floor(t + iv, iv);
}

/* Ascending by open time whatever the page order (Bybit sends newest first); equal times keep
 * the first row. Pages are at most a few thousand rows: reverse when descending, then an
 * insertion sort (linear on sorted input). */
static void sort_dedup(struct tml_candles *c) {
  size_t n = c->len;
  if (n < 2)
    return;
  double *cols[] = {c->open, c->high, c->low, c->close, c->volume};
  if (c->open_time[0] > c->open_time[n - 1]) {
    for (size_t i = 0, j = n - 1; i < j; i++, j--) {
      int64_t t = c->open_time[i];
      c->open_time[i] = c->open_time[j];
      c->open_time[j] = t;
      for (size_t k = 0; k < 5; k++) {
        double x = cols[k][i];
        cols[k][i] = cols[k][j];
        cols[k][j] = x;
      }
    }
  }
  for (size_t i = 1; i < n; i++) {
    int64_t t = c->open_time[i];
    double row[5];
    for (size_t k = 0; k < 5; k++)
      row[k] = cols[k][i];
    size_t j = i;
    while (j > 0 && c->open_time[j - 1] > t) {
      c->open_time[j] = c->open_time[j - 1];
      for (size_t k = 0; k < 5; k++)
        cols[k][j] = cols[k][j - 1];
      j--;
    }
    c->open_time[j] = t;
    for (size_t k = 0; k < 5; k++)
      cols[k][j] = row[k];
  }
  size_t w = 1;
  for (size_t i = 1; i < n; i++) {
    if (c->open_time[i] == c->open_time[w - 1])
      continue;
    c->open_time[w] = c->open_time[i];
    for (size_t k = 0; k < 5; k++)
      cols[k][w] = cols[k][i];
    w++;
  }
  c->len = w;
}

size_t tml_exchange_window(const struct tml_exchange *ex, int64_t interval_ms, int64_t start_ms,
                           int64_t now_ms) {
  size_t w = ex->ops->window_candles(ex, interval_ms, start_ms, now_ms);
  return w ? w : 1;
}

int tml_exchange_klines(struct tml_exchange *ex, const char *symbol, int64_t interval_ms,
                        int64_t start_ms, int64_t end_ms, int64_t now_ms, struct tml_candles *out,
                        struct tml_error *err) {
  tml_candles_init(out, symbol, interval_ms);
  int rc = tml_exchange_check_interval(ex, interval_ms, err);
  if (rc)
    return rc;
  if (!tml_symbol_valid(symbol))
    return tml_error_set(err, TML_EINVAL,
                         "invalid symbol '%s': use upper-case letters and digits, e.g. BTCUSDT",
                         symbol ? symbol : "");
  start_ms = align_up(start_ms, interval_ms);
  end_ms = tml_time_floor(end_ms, interval_ms);
  if (end_ms < start_ms)
    return 0;
  int64_t reply_time = -1;
  rc = ex->ops->klines(ex, symbol, interval_ms, start_ms, end_ms, out, &reply_time, err);
  if (rc)
    return rc;
  sort_dedup(out);
  int64_t clock = now_ms > 0 ? now_ms : reply_time;
  if (clock <= 0 && ex->clock_known)
    clock = tml_now_ms() + ex->clock_offset_ms;
  if (clock > 0 && reply_time > clock)
    clock = reply_time; /* the later clock: a page cannot hold candles after its own reply */
  while (clock > 0 && out->len > 0 && out->open_time[out->len - 1] + interval_ms > clock)
    out->len--; /* still open: its close is the last price, not the close */
  return 0;
}

int tml_exchange_fetch_range(struct tml_exchange *ex, const char *symbol, int64_t interval_ms,
                             int64_t from_ms, int64_t to_ms, int64_t now_ms, tml_page_fn page,
                             void *ctx, struct tml_range_stats *stats, struct tml_error *err) {
  struct tml_range_stats st = {0, 0, 0, -1, -1};
  int rc = tml_exchange_check_interval(ex, interval_ms, err);
  if (rc)
    return rc;
  if (now_ms <= 0) {
    rc = tml_exchange_server_time(ex, &now_ms, err);
    if (rc)
      return rc;
  } else {
    ex->clock_offset_ms = now_ms - tml_now_ms();
    ex->clock_known = true;
  }
  int64_t last_closed = tml_time_floor(now_ms, interval_ms) - interval_ms;
  int64_t start = align_up(from_ms, interval_ms);
  int64_t end = tml_time_floor(TML_MIN(to_ms, last_closed), interval_ms);
  struct tml_candles c;
  tml_candles_init(&c, symbol, interval_ms);
  while (rc == 0 && start <= end) {
    size_t w = tml_exchange_window(ex, interval_ms, start, now_ms);
    int64_t wend = end;
    if ((int64_t)(w - 1) < (end - start) / interval_ms)
      wend = start + (int64_t)(w - 1) * interval_ms;
    tml_candles_release(&c);
    rc = tml_exchange_klines(ex, symbol, interval_ms, start, wend, now_ms, &c, err);
    if (rc == 0 && c.len == 0 && st.candles > 0) {
      tml_debug("%s %s: empty window %" PRId64 "..%" PRId64 " after data; asking again",
                ex->ops->name, symbol, start, wend);
      tml_candles_release(&c);
      rc = tml_exchange_klines(ex, symbol, interval_ms, start, wend, now_ms, &c, err);
      if (rc == 0 && c.len == 0)
        st.empty_windows++;
    }
    if (rc)
      break;
    st.pages++;
    if (c.len) {
      if (st.first_ms < 0)
        st.first_ms = c.open_time[0];
      st.last_ms = c.open_time[c.len - 1];
      st.candles += c.len;
    }
    if (page)
      rc = page(ctx, &c, start, wend, err);
    start = wend + interval_ms;
  }
  tml_candles_release(&c);
  if (stats)
    *stats = st;
  return rc;
}

int tml_exchange_instruments(struct tml_exchange *ex, struct tml_instruments *out,
                             struct tml_error *err) {
  return ex->ops->instruments(ex, out, err);
}

static int cmp_instrument(const void *a, const void *b) {
  return strcmp(((const struct tml_instrument *)a)->symbol, ((const struct tml_instrument *)b)->symbol);
}

void tml__instruments_sort(struct tml_instruments *out) {
  if (out->len > 1)
    qsort(out->items, out->len, sizeof(*out->items), cmp_instrument);
}

int tml__instruments_apply_tickers(struct tml_instruments *out, json_t *rows, const char *turnover_field,
                                   const char *volume_field, const char *what, struct tml_error *err) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < json_array_size(rows); i++) {
    json_t *row = json_array_get(rows, i);
    struct tml_instrument key;
    tml__json_str(row, "symbol", key.symbol, sizeof(key.symbol));
    struct tml_instrument *it =
        out->len ? bsearch(&key, out->items, out->len, sizeof(*out->items), cmp_instrument) : NULL;
    if (!it)
      continue;
    rc = tml__json_num(json_object_get(row, turnover_field), what, turnover_field, &it->turnover_24h, err);
    if (rc == 0)
      rc = tml__json_num(json_object_get(row, volume_field), what, volume_field, &it->volume_24h, err);
  }
  return rc;
}
