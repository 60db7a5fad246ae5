/* Bybit v5 public market data: /v5/market/kline (spot, linear, inverse), /v5/market/time,
 * /v5/market/instruments-info and /v5/market/tickers. Facts: ../shared/docs/exchange-apis.md §1
 * (bybit-exchange/docs kline.mdx, instrument.mdx, error.mdx, rate-limit.mdx).
 * - Pages come newest first; start and end are inclusive on candle open time; limit <= 1000.
 * - Business errors arrive at HTTP 200 with a non-zero retCode; 10006 = rate limit, with
 *   X-Bapi-Limit-Reset-Timestamp saying when it lifts. HTTP 403 = IP limit breached.
 * - The IP budget is 600 requests per 5 s for all endpoints; we pace klines at 10/s (as ccxt). */
#include "data/exchange_internal.h"
#include "util/common.h"

#include <curl/curl.h>

#include "trademl/error.h"
#include "trademl/timeutil.h"

#define BYBIT_LIMIT 1000

static int bybit_setup(struct tml_exchange *ex, struct tml_error *err) {
  if (strcmp(ex->market, "spot") != 0 && strcmp(ex->market, "linear") != 0 &&
      strcmp(ex->market, "inverse") != 0)
    return tml_error_set(err, TML_EINVAL, "unknown bybit category '%s': use one of %s", ex->market,
                         tml__bybit_ops.markets);
  if (!ex->base_url[0])
    tml__exchange_set_base(ex, NULL, "https://api.bybit.com");
  tml__exchange_set_rate(ex, 10.0, 5.0);
  return 0;
}

/* docs/v5/enum.mdx#interval: 1,3,5,15,30,60,120,240,360,720 (minutes), D, W, M. */
static const char *bybit_interval(const struct tml_exchange *ex, int64_t ms) {
  (void)ex;
  switch (ms / 60000) {
  case 1: return "1";
  case 3: return "3";
  case 5: return "5";
  case 15: return "15";
  case 30: return "30";
  case 60: return "60";
  case 120: return "120";
  case 240: return "240";
  case 360: return "360";
  case 720: return "720";
  case 1440: return "D";
  case 10080: return "W";
  default: return NULL;
  }
}

static size_t bybit_window(const struct tml_exchange *ex, int64_t iv, int64_t start, int64_t now) {
  (void)ex;
  (void)iv;
  (void)start;
  (void)now;
  return BYBIT_LIMIT;
}

static enum tml_http_verdict bybit_classify(const struct tml_http_response *r, json_t *root,
                                            int64_t *wait_ms, struct tml_error *err) {
  if (r->status == 403 || r->status == 429) {
    /* 403 = "access too frequent" (IP limit; the ban lifts after >= 10 min) or a blocked region */
    tml_error_set(err, TML_ERATELIMIT,
                  "HTTP %ld from bybit (IP rate limit breached, or requests from this region are "
                  "blocked)",
                  r->status);
    *wait_ms = r->retry_after_ms;
    if (r->reset_at_ms > 0)
      *wait_ms = TML_MAX(0, r->reset_at_ms - tml_now_ms());
    return TML_HTTP_RATE_LIMITED;
  }
  if (r->status >= 500)
    return TML_HTTP_TRANSIENT;
  json_t *code = json_object_get(root, "retCode");
  if (r->status != 200) {
    tml_error_set(err, TML_EEXCHANGE, "HTTP %ld from bybit: %.160s", r->status,
                  tml_buf_str(&r->body));
    return TML_HTTP_FAIL;
  }
  if (!root)
    return TML_HTTP_OK; /* not JSON: the caller retries, then reports */
  if (!json_is_integer(code)) {
    tml_error_set(err, TML_EPARSE, "bybit reply: field 'retCode' is missing (API changed?)");
    return TML_HTTP_FAIL;
  }
  json_int_t rc = json_integer_value(code);
  const char *msg = json_string_value(json_object_get(root, "retMsg"));
  msg = msg ? msg : "";
  if (rc == 0)
    return TML_HTTP_OK;
  if (rc == 10006) {
    tml_error_set(err, TML_ERATELIMIT, "bybit retCode 10006 (%s)", msg);
    *wait_ms = r->reset_at_ms > 0 ? TML_MAX(0, r->reset_at_ms - tml_now_ms()) : 2000;
    return TML_HTTP_RATE_LIMITED;
  }
  if (rc == 10000 || rc == 10016 || rc == 429) {
    tml_error_set(err, TML_EEXCHANGE, "bybit retCode %lld (%s)", (long long)rc, msg);
    return TML_HTTP_TRANSIENT;
  }
  tml_error_set(err, rc == 10001 ? TML_EINVAL : TML_EEXCHANGE, "bybit retCode %lld: %s",
                (long long)rc, msg);
  return TML_HTTP_FAIL;
}

static int bybit_klines(struct tml_exchange *ex, const char *symbol, int64_t iv, int64_t start,
                        int64_t end, struct tml_candles *out, int64_t *reply_time,
                        struct tml_error *err) {
  char path[512], what[128];
  int64_t limit = (end - start) / iv + 1;
  snprintf(path, sizeof(path),
           "/v5/market/kline?category=%s&symbol=%s&interval=%s&start=%" PRId64 "&end=%" PRId64
           "&limit=%" PRId64,
           ex->market, symbol, bybit_interval(ex, iv), start, end, TML_MIN(limit, BYBIT_LIMIT));
  snprintf(what, sizeof(what), "bybit %s kline %s %s", ex->market, symbol, tml_interval_name(iv));
  json_t *root, *result, *list;
  int rc = tml__exchange_get_json(ex, TML_BUCKET_KLINES, 1.0, path, bybit_classify, what, &root, err);
  if (rc)
    return rc;
  rc = tml__json_field(root, "result", JSON_OBJECT, what, &result, err);
  if (rc == 0)
    rc = tml__json_field(result, "list", JSON_ARRAY, what, &list, err);
  json_t *t = json_object_get(root, "time");
  *reply_time = json_is_integer(t) ? (int64_t)json_integer_value(t) : -1;
  size_t n = rc == 0 ? json_array_size(list) : 0;
  if (rc == 0 && tml_candles_reserve(out, out->len + n))
    rc = tml_error_set(err, TML_ENOMEM, "%s: out of memory", what);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = tml__push_row(json_array_get(list, i), what, i, start, end, out, err);
  json_decref(root);
  return rc;
}

static int bybit_time(struct tml_exchange *ex, int64_t *now, struct tml_error *err) {
  json_t *root;
  int rc = tml__exchange_get_json(ex, TML_BUCKET_OTHER, 1.0, "/v5/market/time", bybit_classify,
                                  "bybit server time", &root, err);
  if (rc)
    return rc;
  rc = tml__json_i64(json_object_get(root, "time"), "bybit server time", "time", now, err);
  json_decref(root);
  return rc;
}

static int bybit_instruments(struct tml_exchange *ex, struct tml_instruments *out,
                             struct tml_error *err) {
  char path[1024], what[96];
  snprintf(what, sizeof(what), "bybit %s instruments-info", ex->market);
  char cursor[512] = "";
  int rc = 0;
  for (int pages = 0; rc == 0 && pages < 100; pages++) {
    if (cursor[0]) {
      char *esc = curl_easy_escape(NULL, cursor, 0);
      snprintf(path, sizeof(path), "/v5/market/instruments-info?category=%s&limit=1000&cursor=%s",
               ex->market, esc ? esc : "");
      curl_free(esc);
    } else {
      snprintf(path, sizeof(path), "/v5/market/instruments-info?category=%s&limit=1000", ex->market);
    }
    json_t *root, *result, *list;
    rc = tml__exchange_get_json(ex, TML_BUCKET_OTHER, 1.0, path, bybit_classify, what, &root, err);
    if (rc)
      break;
    rc = tml__json_field(root, "result", JSON_OBJECT, what, &result, err);
    if (rc == 0)
      rc = tml__json_field(result, "list", JSON_ARRAY, what, &list, err);
    for (size_t i = 0; rc == 0 && i < json_array_size(list); i++) {
      json_t *row = json_array_get(list, i);
      struct tml_instrument it = {.launch_ms = -1, .turnover_24h = NAN, .volume_24h = NAN};
      tml__json_str(row, "symbol", it.symbol, sizeof(it.symbol));
      if (!it.symbol[0]) {
        rc = tml_error_set(err, TML_EPARSE, "%s: field 'list[%zu].symbol' is missing", what, i);
        break;
      }
      tml__json_str(row, "baseCoin", it.base, sizeof(it.base));
      tml__json_str(row, "quoteCoin", it.quote, sizeof(it.quote));
      tml__json_str(row, "status", it.status, sizeof(it.status));
      json_t *lt = json_object_get(row, "launchTime"); /* absent on spot */
      if (lt && tml__json_i64(lt, what, "launchTime", &it.launch_ms, err) != 0) {
        rc = TML_EPARSE;
        break;
      }
      rc = tml_instruments_push(out, &it);
    }
    cursor[0] = '\0';
    if (rc == 0)
      tml__json_str(result, "nextPageCursor", cursor, sizeof(cursor));
    json_decref(root);
    if (!cursor[0] || strcmp(ex->market, "spot") == 0)
      break;
  }
  if (rc)
    return rc;
  tml__instruments_sort(out);
  /* 24 h turnover and volume for ranking */
  snprintf(path, sizeof(path), "/v5/market/tickers?category=%s", ex->market);
  snprintf(what, sizeof(what), "bybit %s tickers", ex->market);
  json_t *root, *result, *list;
  rc = tml__exchange_get_json(ex, TML_BUCKET_OTHER, 1.0, path, bybit_classify, what, &root, err);
  if (rc)
    return rc;
  rc = tml__json_field(root, "result", JSON_OBJECT, what, &result, err);
  if (rc == 0)
    rc = tml__json_field(result, "list", JSON_ARRAY, what, &list, err);
  if (rc == 0)
    rc = tml__instruments_apply_tickers(out, list, "turnover24h", "volume24h", what, err);
  json_decref(root);
  return rc;
}

const struct tml_exchange_ops tml__bybit_ops = {
    .name = "bybit",
    .markets = "spot, linear, inverse",
    .default_market = "linear",
    .setup = bybit_setup,
    .interval_code = bybit_interval,
    .window_candles = bybit_window,
    .klines = bybit_klines,
    .server_time = bybit_time,
    .instruments = bybit_instruments,
};
