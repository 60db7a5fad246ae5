/* Bitget v2 public market data: mix (futures) and spot candles / history-candles, server time,
 * contract and symbol lists, tickers. Facts: ../shared/docs/exchange-apis.md §2 (bitget.com
 * api-doc pages; ccxt bitget.js; freqtrade bitget.py).
 * - `candles` (recent) serves up to 1000 rows but only reaches back a limited time that depends
 *   on the granularity (ccxt's maxRecentDaysPerTimeframe: 1m-30m 30 d, 1h 60 d, 4h 240 d, 6h 360 d,
 *   12h 720 d, 1d 1440 d, 1w 10080 d) and silently returns [] beyond it; `history-candles` reaches
 *   back to listing but serves at most 200 rows. One request may span at most 90 days.
 * - Whether startTime/endTime are inclusive, and whether history pages anchor on endTime, is not
 *   documented: every request asks for one extra candle on each side of the window
 *   (startTime = start - interval, endTime = end + interval, limit = window + 2) so the window is
 *   covered under any of those readings; rows outside it are dropped.
 * - Errors: HTTP 400 with a string code ("40034" unknown symbol); 429 = rate limit (20 req/s/IP). */
#include "data/exchange_internal.h"
#include "util/common.h"

#include <strings.h>

#include "trademl/error.h"
#include "trademl/timeutil.h"

#define BITGET_RECENT_LIMIT 1000
#define BITGET_HISTORY_LIMIT 200
#define BITGET_MAX_SPAN_MS (90 * TML_MS_PER_DAY)

static bool is_spot(const struct tml_exchange *ex) { return strcmp(ex->market, "SPOT") == 0; }

static int bitget_setup(struct tml_exchange *ex, struct tml_error *err) {
  static const char *const markets[] = {"USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES", "SPOT"};
  bool ok = false;
  for (size_t i = 0; i < TML_ARRAY_LEN(markets); i++)
    if (strcasecmp(ex->market, markets[i]) == 0) {
      snprintf(ex->market, sizeof(ex->market), "%s", markets[i]);
      ok = true;
    }
  if (!ok)
    return tml_error_set(err, TML_EINVAL, "unknown bitget product type '%s': use one of %s",
                         ex->market, tml__bitget_ops.markets);
  if (!ex->base_url[0])
    tml__exchange_set_base(ex, NULL, "https://api.bitget.com");
  tml__exchange_set_rate(ex, 10.0, 5.0);
  return 0;
}

/* Futures granularity 1m,3m,5m,15m,30m,1H,2H,4H and UTC-anchored 6Hutc,12Hutc,1Dutc,1Wutc;
 * spot 1min,3min,5min,15min,30min,1h,4h,6Hutc,12Hutc,1Dutc,1Wutc (no 2h). */
static const char *bitget_interval(const struct tml_exchange *ex, int64_t ms) {
  bool spot = is_spot(ex);
  switch (ms / 60000) {
  case 1: return spot ? "1min" : "1m";
  case 3: return spot ? "3min" : "3m";
  case 5: return spot ? "5min" : "5m";
  case 15: return spot ? "15min" : "15m";
  case 30: return spot ? "30min" : "30m";
  case 60: return spot ? "1h" : "1H";
  case 120: return spot ? NULL : "2H";
  case 240: return spot ? "4h" : "4H";
  case 360: return "6Hutc";
  case 720: return "12Hutc";
  case 1440: return "1Dutc";
  case 10080: return "1Wutc";
  default: return NULL;
  }
}

/* How far back the recent endpoint reaches (ccxt maxRecentDaysPerTimeframe, in days). */
static int64_t recent_reach_ms(int64_t iv) {
  int64_t days;
  if (iv <= 30 * TML_MS_PER_MINUTE)
    days = 30;
  else if (iv <= TML_MS_PER_HOUR)
    days = 60;
  else
    days = 60 * (iv / TML_MS_PER_HOUR); /* 2h 120, 4h 240, 6h 360, 12h 720, 1d 1440, 1w 10080 */
  return days * TML_MS_PER_DAY;
}

static bool use_recent(int64_t iv, int64_t start, int64_t now) {
  /* one day of margin: the reach is measured by the server at its own clock */
  return now <= 0 || start >= now - recent_reach_ms(iv) + TML_MS_PER_DAY;
}

static size_t span_cap(int64_t iv, size_t limit) {
  int64_t by_span = BITGET_MAX_SPAN_MS / iv - 2;
  size_t w = limit - 2;
  return by_span > 0 && (size_t)by_span < w ? (size_t)by_span : w;
}

static size_t bitget_window(const struct tml_exchange *ex, int64_t iv, int64_t start, int64_t now) {
  (void)ex;
  return span_cap(iv, use_recent(iv, start, now) ? BITGET_RECENT_LIMIT : BITGET_HISTORY_LIMIT);
}

static enum tml_http_verdict bitget_classify(const struct tml_http_response *r, json_t *root,
                                             int64_t *wait_ms, struct tml_error *err) {
  const char *code = json_string_value(json_object_get(root, "code"));
  const char *msg = json_string_value(json_object_get(root, "msg"));
  msg = msg ? msg : "";
  if (r->status == 429 || (code && strcmp(code, "429") == 0)) {
    tml_error_set(err, TML_ERATELIMIT, "bitget HTTP %ld: too many requests", r->status);
    *wait_ms = r->retry_after_ms; /* Bitget sends none that we know of: backoff then */
    return TML_HTTP_RATE_LIMITED;
  }
  if (r->status >= 500 || (code && strcmp(code, "40015") == 0))
    return TML_HTTP_TRANSIENT;
  if (r->status != 200 || (code && strcmp(code, "00000") != 0)) {
    if (code)
      tml_error_set(err,
                    strcmp(code, "40034") == 0 || strcmp(code, "40019") == 0 ||
                            strcmp(code, "40020") == 0
                        ? TML_EINVAL
                        : TML_EEXCHANGE,
                    "bitget code %s: %s", code, msg);
    else
      tml_error_set(err, TML_EEXCHANGE, "bitget HTTP %ld: %.160s", r->status,
                    tml_buf_str(&r->body));
    return TML_HTTP_FAIL;
  }
  if (root && !code) {
    tml_error_set(err, TML_EPARSE, "bitget reply: field 'code' is missing (API changed?)");
    return TML_HTTP_FAIL;
  }
  return TML_HTTP_OK;
}

/* One request for [start, end] (both aligned, at most limit - 2 candles). */
static int bitget_request(struct tml_exchange *ex, const char *symbol, int64_t iv, int64_t start,
                          int64_t end, bool history, struct tml_candles *out, int64_t *reply_time,
                          struct tml_error *err) {
  char path[512], what[160];
  int64_t limit = (end - start) / iv + 3;
  const char *gran = bitget_interval(ex, iv);
  if (is_spot(ex) && history) /* spot history-candles takes no startTime (endTime required) */
    snprintf(path, sizeof(path),
             "/api/v2/spot/market/history-candles?symbol=%s&granularity=%s&endTime=%" PRId64
             "&limit=%" PRId64,
             symbol, gran, end + iv, limit);
  else if (is_spot(ex))
    snprintf(path, sizeof(path),
             "/api/v2/spot/market/candles?symbol=%s&granularity=%s&startTime=%" PRId64
             "&endTime=%" PRId64 "&limit=%" PRId64,
             symbol, gran, start - iv, end + iv, limit);
  else
    snprintf(path, sizeof(path),
             "/api/v2/mix/market/%s?symbol=%s&productType=%s&granularity=%s&startTime=%" PRId64
             "&endTime=%" PRId64 "&limit=%" PRId64,
             history ? "history-candles" : "candles", symbol, ex->market, gran, start - iv,
             end + iv, limit);
  snprintf(what, sizeof(what), "bitget %s %s %s %s", ex->market,
           history ? "history-candles" : "candles", symbol, tml_interval_name(iv));
  json_t *root, *data;
  int rc = tml__exchange_get_json(ex, TML_BUCKET_KLINES, 1.0, path, bitget_classify, what, &root,
                                  err);
  if (rc)
    return rc;
  json_t *rt = json_object_get(root, "requestTime");
  if (json_is_integer(rt))
    *reply_time = (int64_t)json_integer_value(rt);
  data = json_object_get(root, "data");
  if (json_is_null(data) || (json_is_string(data) && json_string_length(data) == 0))
    data = NULL; /* "" happens right after a listing (ccxt): no candles */
  else
    rc = tml__json_field(root, "data", JSON_ARRAY, what, &data, err);
  size_t n = rc == 0 && data ? json_array_size(data) : 0;
  if (rc == 0 && tml_candles_reserve(out, out->len + n))
    rc = tml_error_set(err, TML_ENOMEM, "%s: out of memory", what);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = tml__push_row(json_array_get(data, i), what, i, start, end, out, err);
  json_decref(root);
  return rc;
}

static int bitget_klines(struct tml_exchange *ex, const char *symbol, int64_t iv, int64_t start,
                         int64_t end, struct tml_candles *out, int64_t *reply_time,
                         struct tml_error *err) {
  int64_t now = ex->clock_known ? tml_now_ms() + ex->clock_offset_ms : -1;
  size_t before = out->len;
  int rc = 0;
  if (use_recent(iv, start, now)) {
    rc = bitget_request(ex, symbol, iv, start, end, false, out, reply_time, err);
    if (rc || out->len > before)
      return rc;
    /* empty: the recent endpoint reaches back less far than documented (ccxt #24890) */
  }
  int64_t step = (int64_t)span_cap(iv, BITGET_HISTORY_LIMIT) * iv;
  for (int64_t s = start; rc == 0 && s <= end; s += step) {
    int64_t e = TML_MIN(end, s + step - iv);
    rc = bitget_request(ex, symbol, iv, s, e, true, out, reply_time, err);
  }
  return rc;
}

static int bitget_time(struct tml_exchange *ex, int64_t *now, struct tml_error *err) {
  json_t *root, *data;
  int rc = tml__exchange_get_json(ex, TML_BUCKET_OTHER, 1.0, "/api/v2/public/time", bitget_classify,
                                  "bitget server time", &root, err);
  if (rc)
    return rc;
  rc = tml__json_field(root, "data", JSON_OBJECT, "bitget server time", &data, err);
  if (rc == 0)
    rc = tml__json_i64(json_object_get(data, "serverTime"), "bitget server time", "data.serverTime",
                       now, err);
  json_decref(root);
  return rc;
}

static int bitget_instruments(struct tml_exchange *ex, struct tml_instruments *out,
                              struct tml_error *err) {
  char path[256], what[96];
  if (is_spot(ex))
    snprintf(path, sizeof(path), "/api/v2/spot/public/symbols");
  else
    snprintf(path, sizeof(path), "/api/v2/mix/market/contracts?productType=%s", ex->market);
  snprintf(what, sizeof(what), "bitget %s symbols", ex->market);
  json_t *root, *data;
  int rc = tml__exchange_get_json(ex, TML_BUCKET_OTHER, 1.0, path, bitget_classify, what, &root, err);
  if (rc)
    return rc;
  rc = tml__json_field(root, "data", JSON_ARRAY, what, &data, err);
  for (size_t i = 0; rc == 0 && i < json_array_size(data); i++) {
    json_t *row = json_array_get(data, i);
    struct tml_instrument it = {.launch_ms = -1, .turnover_24h = NAN, .volume_24h = NAN};
    tml__json_str(row, "symbol", it.symbol, sizeof(it.symbol));
    if (!it.symbol[0]) {
      rc = tml_error_set(err, TML_EPARSE, "%s: field 'data[%zu].symbol' is missing", what, i);
      break;
    }
    tml__json_str(row, "baseCoin", it.base, sizeof(it.base));
    tml__json_str(row, "quoteCoin", it.quote, sizeof(it.quote));
    tml__json_str(row, is_spot(ex) ? "status" : "symbolStatus", it.status, sizeof(it.status));
    json_t *lt = json_object_get(row, "launchTime"); /* futures; "" for old contracts */
    if (json_is_string(lt) && json_string_length(lt) > 0 &&
        tml__json_i64(lt, what, "launchTime", &it.launch_ms, err) != 0)
      rc = TML_EPARSE;
    if (rc == 0)
      rc = tml_instruments_push(out, &it);
  }
  json_decref(root);
  if (rc)
    return rc;
  tml__instruments_sort(out);
  if (is_spot(ex))
    snprintf(path, sizeof(path), "/api/v2/spot/market/tickers");
  else
    snprintf(path, sizeof(path), "/api/v2/mix/market/tickers?productType=%s", ex->market);
  snprintf(what, sizeof(what), "bitget %s tickers", ex->market);
  rc = tml__exchange_get_json(ex, TML_BUCKET_OTHER, 1.0, path, bitget_classify, what, &root, err);
  if (rc)
    return rc;
  rc = tml__json_field(root, "data", JSON_ARRAY, what, &data, err);
  if (rc == 0)
    rc = tml__instruments_apply_tickers(out, data, "quoteVolume", "baseVolume", what, err);
  json_decref(root);
  return rc;
}

const struct tml_exchange_ops tml__bitget_ops = {
    .name = "bitget",
    .markets = "USDT-FUTURES, COIN-FUTURES, USDC-FUTURES, SPOT",
    .default_market = "USDT-FUTURES",
    .setup = bitget_setup,
    .interval_code = bitget_interval,
    .window_candles = bitget_window,
    .klines = bitget_klines,
    .server_time = bitget_time,
    .instruments = bitget_instruments,
};
