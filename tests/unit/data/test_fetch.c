/* fetch: incremental fetch into a real store through the mock exchange: only missing ranges are
 * requested (leading, interior, trailing), a failed fetch resumes without duplicates, venues are
 * never mixed in one series, sync brings a series up to date. */
#include "test.h"
#include "mock_spawn.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/exchange.h"
#include "trademl/fetch.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

#define ETH_1H "bybit-linear/ETH_USDT_USDT-1h-futures.csv"

static void load_csv(const char *rel, struct tml_candles *c, const char *symbol) {
  char *path = tml_test_data_file(rel);
  char *txt = tml_test_read_file(path, NULL);
  CHECK(txt != NULL);
  tml_candles_init(c, symbol, TML_MS_PER_HOUR);
  char *line = strchr(txt, '\n');
  while (line && *++line) {
    char *end;
    long long t = strtoll(line, &end, 10);
    double v[5];
    for (int k = 0; k < 5; k++)
      v[k] = strtod(end + 1, &end);
    CHECK(tml_candles_push(c, (int64_t)t, v[0], v[1], v[2], v[3], v[4]) == 0);
    line = strchr(end, '\n');
  }
  free(txt);
  free(path);
}

static void check_store_equals(struct tml_store *s, const struct tml_candles *ref) {
  struct tml_candles got;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_store_load(s, ref->symbol, ref->interval_ms, INT64_MIN, INT64_MAX, &got, &err), &err);
  CHECK_INT(got.len, ref->len);
  for (size_t i = 0; i < ref->len; i++)
    CHECK_MSG(got.open_time[i] == ref->open_time[i] && got.close[i] == ref->close[i] &&
                  got.volume[i] == ref->volume[i] && got.open[i] == ref->open[i] &&
                  got.high[i] == ref->high[i] && got.low[i] == ref->low[i],
              "row %zu differs (t=%lld vs %lld)", i, (long long)got.open_time[i],
              (long long)ref->open_time[i]);
  tml_candles_release(&got);
}

struct env {
  struct mock m;
  struct tml_store *s;
  struct tml_exchange *ex;
  char *dir;
};

static void setup(struct env *e, const char *name, const char *fault) {
  char *csv = tml_test_data_file(ETH_1H);
  static char spec[4200], spot[4200];
  snprintf(spec, sizeof(spec), "bybit:linear:ETHUSDT:1h:%s", csv);
  snprintf(spot, sizeof(spot), "binance:spot:ETHUSDT:1h:%s", csv);
  free(csv);
  const char *args[] = {"--series", spec, "--series", spot, fault ? "--fault" : NULL, fault, NULL};
  mock_start(&e->m, name, args);
  e->dir = tml_test_tmpdir(name);
  char db[4300];
  snprintf(db, sizeof(db), "%s/t.db", e->dir);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_store_open(db, &e->s, &err), &err);
  struct tml_exchange_config cfg = {0};
  cfg.name = "bybit";
  cfg.base_url = e->m.base;
  cfg.rate_per_s = 5000;
  cfg.http.backoff_base_ms = 1;
  cfg.http.backoff_cap_ms = 2;
  cfg.http.max_retries = 1;
  cfg.http.quiet = true;
  CHECK_OK(tml_exchange_open(&cfg, &e->ex, &err), &err);
}

static void teardown(struct env *e) {
  tml_exchange_close(e->ex);
  tml_store_close(e->s);
  mock_stop(&e->m);
  free(e->dir);
}

TEST(only_missing_ranges_requested) {
  struct env e;
  setup(&e, "fetch_missing", NULL);
  struct tml_candles ref, part;
  load_csv(ETH_1H, &ref, "ETHUSDT");
  /* store the file without: the first 500 rows, rows 5000..5100, 9000..9002, the last 300 */
  tml_candles_init(&part, "ETHUSDT", TML_MS_PER_HOUR);
  for (size_t i = 500; i < ref.len - 300; i++)
    if (!(i >= 5000 && i <= 5100) && !(i >= 9000 && i <= 9002))
      CHECK(tml_candles_push(&part, ref.open_time[i], ref.open[i], ref.high[i], ref.low[i],
                             ref.close[i], ref.volume[i]) == 0);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_store_put(e.s, &part, false, NULL, &err), &err);
  struct tml_fetch_opts o = {0};
  o.from_ms = ref.open_time[0];
  o.to_ms = INT64_MAX;
  struct tml_fetch_result r;
  CHECK_OK(tml_fetch_series(e.s, e.ex, "ETHUSDT", TML_MS_PER_HOUR, &o, &r, &err), &err);
  CHECK_INT(r.inserted, 500 + 101 + 3 + 300);
  CHECK_INT(r.ranges, 4); /* no two gaps fit one 1000-candle page */
  CHECK_INT(r.fetched, r.inserted + r.unchanged);
  CHECK_INT(r.requests, 4); /* one page per range (the clock is read before) */
  CHECK_INT(r.stored_rows, ref.len);
  check_store_equals(e.s, &ref);
  /* everything stored: no candle request at all */
  CHECK_OK(tml_fetch_series(e.s, e.ex, "ETHUSDT", TML_MS_PER_HOUR, &o, &r, &err), &err);
  CHECK_INT(r.ranges, 0);
  CHECK_INT(r.requests, 0);
  tml_candles_release(&part);
  tml_candles_release(&ref);
  teardown(&e);
}

TEST(resumes_after_failure) {
  struct env e;
  setup(&e, "fetch_resume", "http500:-1:6");
  struct tml_candles ref;
  load_csv(ETH_1H, &ref, "ETHUSDT");
  struct tml_fetch_opts o = {0};
  o.from_ms = ref.open_time[0];
  o.to_ms = INT64_MAX;
  struct tml_fetch_result r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_fetch_series(e.s, e.ex, "ETHUSDT", TML_MS_PER_HOUR, &o, &r, &err), TML_EEXCHANGE);
  CHECK_CONTAINS(err.msg, "HTTP 500");
  CHECK_INT(r.inserted, 6000); /* six whole pages committed before the failure */
  /* the exchange recovers: the second run asks only for the rest */
  struct tml_http *h;
  CHECK_OK(tml_http_create(NULL, &h, &err), &err);
  struct tml_http_response resp;
  tml_http_response_init(&resp);
  char url[128];
  snprintf(url, sizeof(url), "%s/mock/reset", e.m.base);
  CHECK_OK(tml_http_get_once(h, url, &resp, &err), &err);
  tml_http_response_release(&resp);
  tml_http_destroy(h);
  tml_error_init(&err);
  CHECK_OK(tml_fetch_series(e.s, e.ex, "ETHUSDT", TML_MS_PER_HOUR, &o, &r, &err), &err);
  CHECK_INT(r.inserted, ref.len - 6000);
  CHECK_INT(r.unchanged, 0);
  check_store_equals(e.s, &ref);
  tml_candles_release(&ref);
  teardown(&e);
}

TEST(venues_not_mixed_and_future_rejected) {
  struct env e;
  setup(&e, "fetch_venue", NULL);
  struct tml_fetch_opts o = {0};
  o.from_ms = tml_days_from_civil(2025, 1, 1) * TML_MS_PER_DAY;
  o.to_ms = o.from_ms + 10 * TML_MS_PER_HOUR;
  struct tml_fetch_result r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_fetch_series(e.s, e.ex, "ETHUSDT", TML_MS_PER_HOUR, &o, &r, &err), &err);
  CHECK_INT(r.inserted, 11);
  struct tml_exchange_config cfg = {0};
  cfg.name = "binance";
  cfg.base_url = e.m.base;
  struct tml_exchange *bn;
  CHECK_OK(tml_exchange_open(&cfg, &bn, &err), &err);
  CHECK_INT(tml_fetch_series(e.s, bn, "ETHUSDT", TML_MS_PER_HOUR, &o, &r, &err), TML_ECONFLICT);
  CHECK_STR(err.msg, "ETHUSDT 1h is stored from bybit linear; fetching it from binance spot would "
                     "mix venues in one series (use another --home, or delete the series first)");
  tml_exchange_close(bn);
  tml_error_init(&err);
  o.from_ms = tml_days_from_civil(2030, 1, 1) * TML_MS_PER_DAY;
  o.to_ms = INT64_MAX;
  CHECK_INT(tml_fetch_series(e.s, e.ex, "ETHUSDT", TML_MS_PER_HOUR, &o, &r, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "the range starts at 2030-01-01T00:00:00Z, after the last closed candle "
                          "2026-02-08T12:00:00Z (bybit server time)");
  struct tml_fetch_source *src;
  size_t n;
  CHECK_OK(tml_fetch_sources(e.s, &src, &n, &err), &err);
  CHECK_INT(n, 1);
  CHECK_STR(src[0].exchange, "bybit");
  CHECK_STR(src[0].market, "linear");
  free(src);
  teardown(&e);
}

TEST(sync_brings_series_up_to_date) {
  struct env e;
  setup(&e, "fetch_sync", NULL);
  struct tml_candles ref;
  load_csv(ETH_1H, &ref, "ETHUSDT");
  struct tml_fetch_opts o = {0};
  o.from_ms = ref.open_time[0];
  o.to_ms = ref.open_time[10000];
  struct tml_fetch_result r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_fetch_series(e.s, e.ex, "ETHUSDT", TML_MS_PER_HOUR, &o, &r, &err), &err);
  CHECK_INT(r.stored_rows, 10001);
  /* sync opens its clients from the configuration alone (no environment): the mock is the
   * configured bybit host */
  char *dir = tml_test_tmpdir("fetch_sync_cfg");
  struct tml_config *cfg = NULL;
  CHECK_OK(tml_config_load(NULL, dir, &cfg, &err), &err);
  CHECK_OK(tml_config_set(cfg, "exchanges.bybit.base_url", e.m.base, TML_CFG_FLAG, "test", &err), &err);
  CHECK_OK(tml_config_set(cfg, "exchanges.http.rate", "5000", TML_CFG_FLAG, "test", &err), &err);
  CHECK_OK(tml_fetch_sync(e.s, cfg, 0, NULL, NULL, &err), &err);
  tml_config_free(cfg);
  free(dir);
  check_store_equals(e.s, &ref);
  tml_candles_release(&ref);
  teardown(&e);
}

TEST(nearby_gaps_share_a_request) {
  struct env e;
  setup(&e, "fetch_merge", NULL);
  struct tml_candles ref, part;
  load_csv(ETH_1H, &ref, "ETHUSDT");
  tml_candles_init(&part, "ETHUSDT", TML_MS_PER_HOUR);
  for (size_t i = 0; i < ref.len; i++)
    if (!(i >= 5000 && i <= 5010) && !(i >= 5100 && i <= 5110))
      CHECK(tml_candles_push(&part, ref.open_time[i], ref.open[i], ref.high[i], ref.low[i],
                             ref.close[i], ref.volume[i]) == 0);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_store_put(e.s, &part, false, NULL, &err), &err);
  struct tml_fetch_opts o = {0};
  o.from_ms = ref.open_time[0];
  o.to_ms = INT64_MAX;
  struct tml_fetch_result r;
  CHECK_OK(tml_fetch_series(e.s, e.ex, "ETHUSDT", TML_MS_PER_HOUR, &o, &r, &err), &err);
  CHECK_INT(r.ranges, 1);
  CHECK_INT(r.requests, 1);
  CHECK_INT(r.inserted, 22);
  CHECK_INT(r.unchanged, 89); /* the stored candles between the two gaps come back identical */
  check_store_equals(e.s, &ref);
  tml_candles_release(&part);
  tml_candles_release(&ref);
  teardown(&e);
}
