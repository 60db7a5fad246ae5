/* Binance public market data: spot /api/v3/{klines,time,exchangeInfo,ticker/24hr} and USDT-M
 * futures /fapi/v1/{klines,time,exchangeInfo,ticker/24hr}. Facts: ../shared/docs/exchange-apis.md
 * §3 (binance-spot-api-docs rest-api.md, errors.md; developers.binance.com futures pages).
 * - Pages are oldest first; startTime/endTime inclusive; limit <= 1000 (futures 1500, but 1000 is
 *   the cheaper weight per row: 5 vs 10).
 * - Budgets are request weight per IP: spot 6000/min (klines weight 2), futures 2400/min (klines
 *   weight 5 at limit 1000). We pace at about a quarter of that.
 * - 429 (+ Retry-After) = slow down, 418 = banned until Retry-After, 403 = WAF. Errors are
 *   {"code": -1121, "msg": "Invalid symbol."} at HTTP 4xx. */
#include "data/exchange_internal.h"
#include "util/common.h"

#include "trademl/error.h"
#include "trademl/timeutil.h"

#define BINANCE_LIMIT 1000

static bool is_futures(const struct tml_exchange *ex) { return strcmp(ex->market, "futures") == 0; }

static int binance_setup(struct tml_exchange *ex, struct tml_error *err) {
  if (strcmp(ex->market, "spot") != 0 && !is_futures(ex))
    return tml_error_set(err, TML_EINVAL, "unknown binance market '%s': use one of %s", ex->market,
                         tml__binance_ops.markets);
  if (!ex->base_url[0]) {
    if (is_futures(ex))
      tml__exchange_set_base(ex, NULL, "https://fapi.binance.com");
    else
      tml__exchange_set_base(ex, NULL, "https://api.binance.com");
  }
  /* weight units per second: spot 6000/min = 100/s, futures 2400/min = 40/s */
  if (is_futures(ex))
    tml__exchange_set_rate(ex, 20.0, 10.0);
  else
    tml__exchange_set_rate(ex, 25.0, 25.0);
  return 0;
}

static const char *binance_interval(const struct tml_exchange *ex, int64_t ms) {
  (void)ex;
  /* 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 1w: the same spelling as trademl's */
  return tml_interval_name(ms);
}

static size_t binance_window(const struct tml_exchange *ex, int64_t iv, int64_t start,
                             int64_t now) {
  (void)ex;
  (void)iv;
  (void)start;
  (void)now;
  return BINANCE_LIMIT;
}

static enum tml_http_verdict binance_classify(const struct tml_http_response *r, json_t *root,
                                              int64_t *wait_ms, struct tml_error *err) {
  json_int_t code = 0;
  const char *msg = "";
  if (json_is_object(root)) {
    json_t *c = json_object_get(root, "code");
    code = json_is_integer(c) ? json_integer_value(c) : 0;
    const char *m = json_string_value(json_object_get(root, "msg"));
    msg = m ? m : "";
  }
  if (r->status == 429 || r->status == 418 || r->status == 403 || code == -1003) {
    tml_error_set(err, TML_ERATELIMIT, "binance HTTP %ld%s%s", r->status,
                  r->status == 418 ? " (IP banned for ignoring 429s)"
                  : r->status == 403 ? " (WAF rule)"
                                     : " (too much request weight)",
                  msg[0] ? msg : "");
    *wait_ms = r->retry_after_ms;
    return TML_HTTP_RATE_LIMITED;
  }
  if (r->status >= 500)
    return TML_HTTP_TRANSIENT;
  if (r->status >= 400) {
    bool bad_input = code == -1121 || code == -1120 || code == -1100 || code == -1130;
    if (code)
      tml_error_set(err, bad_input ? TML_EINVAL : TML_EEXCHANGE, "binance code %lld: %s",
                    (long long)code, msg);
    else
      tml_error_set(err, TML_EEXCHANGE, "binance HTTP %ld: %.160s", r->status,
                    tml_buf_str(&r->body));
    return TML_HTTP_FAIL;
  }
  return TML_HTTP_OK;
}

static int binance_klines(struct tml_exchange *ex, const char *symbol, int64_t iv, int64_t start,
                          int64_t end, struct tml_candles *out, int64_t *reply_time,
                          struct tml_error *err) {
  char path[512], what[128];
  int64_t limit = TML_MIN((end - start) / iv + 1, BINANCE_LIMIT);
  snprintf(path, sizeof(path),
           "%s?symbol=%s&interval=%s&startTime=%" PRId64 "&endTime=%" PRId64 "&limit=%" PRId64,
           is_futures(ex) ? "/fapi/v1/klines" : "/api/v3/klines", symbol, binance_interval(ex, iv),
           start, end, limit);
  snprintf(what, sizeof(what), "binance %s klines %s %s", ex->market, symbol, tml_interval_name(iv));
  /* futures weight by limit: [1,100) 1, [100,500) 2, [500,1000] 5 */
  double cost = is_futures(ex) ? (limit < 100 ? 1.0 : limit < 500 ? 2.0 : 5.0) : 2.0;
  json_t *root;
  int rc = tml__exchange_get_json(ex, TML_BUCKET_KLINES, cost, path, binance_classify, what, &root,
                                  err);
  if (rc)
    return rc;
  *reply_time = -1; /* Binance has none in the body; the caller uses /time */
  if (!json_is_array(root))
    rc = tml_error_set(err, TML_EPARSE, "%s: reply is not an array of klines (API changed?)", what);
  size_t n = rc == 0 ? json_array_size(root) : 0;
  if (rc == 0 && tml_candles_reserve(out, out->len + n))
    rc = tml_error_set(err, TML_ENOMEM, "%s: out of memory", what);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = tml__push_row(json_array_get(root, i), what, i, start, end, out, err);
  json_decref(root);
  return rc;
}

static int binance_time(struct tml_exchange *ex, int64_t *now, struct tml_error *err) {
  json_t *root;
  int rc = tml__exchange_get_json(ex, TML_BUCKET_OTHER, 1.0,
                                  is_futures(ex) ? "/fapi/v1/time" : "/api/v3/time",
                                  binance_classify, "binance server time", &root, err);
  if (rc)
    return rc;
  rc = tml__json_i64(json_object_get(root, "serverTime"), "binance server time", "serverTime", now,
                     err);
  json_decref(root);
  return rc;
}

static int binance_instruments(struct tml_exchange *ex, struct tml_instruments *out,
                               struct tml_error *err) {
  char what[96];
  snprintf(what, sizeof(what), "binance %s exchangeInfo", ex->market);
  json_t *root, *symbols;
  int rc = tml__exchange_get_json(
      ex, TML_BUCKET_OTHER, is_futures(ex) ? 1.0 : 20.0,
      is_futures(ex) ? "/fapi/v1/exchangeInfo" : "/api/v3/exchangeInfo", binance_classify, what,
      &root, err);
  if (rc)
    return rc;
  rc = tml__json_field(root, "symbols", JSON_ARRAY, what, &symbols, err);
  for (size_t i = 0; rc == 0 && i < json_array_size(symbols); i++) {
    json_t *row = json_array_get(symbols, i);
    struct tml_instrument it = {.launch_ms = -1, .turnover_24h = NAN, .volume_24h = NAN};
    tml__json_str(row, "symbol", it.symbol, sizeof(it.symbol));
    if (!it.symbol[0]) {
      rc = tml_error_set(err, TML_EPARSE, "%s: field 'symbols[%zu].symbol' is missing", what, i);
      break;
    }
    tml__json_str(row, "baseAsset", it.base, sizeof(it.base));
    tml__json_str(row, "quoteAsset", it.quote, sizeof(it.quote));
    tml__json_str(row, "status", it.status, sizeof(it.status));
    json_t *od = json_object_get(row, "onboardDate"); /* futures only */
    if (od && tml__json_i64(od, what, "onboardDate", &it.launch_ms, err) != 0)
      rc = TML_EPARSE;
    if (rc == 0)
      rc = tml_instruments_push(out, &it);
  }
  json_decref(root);
  if (rc)
    return rc;
  tml__instruments_sort(out);
  snprintf(what, sizeof(what), "binance %s 24h ticker", ex->market);
  rc = tml__exchange_get_json(ex, TML_BUCKET_OTHER, is_futures(ex) ? 40.0 : 80.0,
                              is_futures(ex) ? "/fapi/v1/ticker/24hr" : "/api/v3/ticker/24hr",
                              binance_classify, what, &root, err);
  if (rc)
    return rc;
  if (!json_is_array(root))
    rc = tml_error_set(err, TML_EPARSE, "%s: reply is not an array (API changed?)", what);
  if (rc == 0)
    rc = tml__instruments_apply_tickers(out, root, "quoteVolume", "volume", what, err);
  json_decref(root);
  return rc;
}

const struct tml_exchange_ops tml__binance_ops = {
    .name = "binance",
    .markets = "spot, futures",
    .default_market = "spot",
    .setup = binance_setup,
    .interval_code = binance_interval,
    .window_candles = binance_window,
    .klines = binance_klines,
    .server_time = binance_time,
    .instruments = binance_instruments,
};
