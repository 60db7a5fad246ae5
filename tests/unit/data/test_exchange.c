/* exchange: each client fetches a whole real series through the loopback mock exchange and must
 * reproduce the source CSV exactly (same candles, none added, none lost), and survive or report
 * every injected fault as documented in docs/exchanges.md. */
#include "test.h"
#include "mock_spawn.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/exchange.h"
#include "trademl/timeutil.h"
#include "data/exchange_internal.h"

/* Minimal CSV reader for the reference: open_time(ms),open,high,low,close,volume[,...] */
static void load_csv(const char *rel, struct tml_candles *c) {
  char *path = tml_test_data_file(rel);
  char *txt = tml_test_read_file(path, NULL);
  CHECK(txt != NULL);
  tml_candles_init(c, "REF", 0);
  char *line = strchr(txt, '\n'); /* skip the header */
  while (line && *++line) {
    char *end;
    long long t = strtoll(line, &end, 10);
    double v[5];
    for (int k = 0; k < 5; k++) {
      CHECK(*end == ',');
      v[k] = strtod(end + 1, &end);
    }
    CHECK(tml_candles_push(c, (int64_t)t, v[0], v[1], v[2], v[3], v[4]) == 0);
    line = strchr(end, '\n');
  }
  free(txt);
  free(path);
}

static void check_same(const struct tml_candles *got, const struct tml_candles *ref, size_t n) {
  CHECK_INT(got->len, n);
  for (size_t i = 0; i < n; i++) {
    CHECK_MSG(got->open_time[i] == ref->open_time[i], "row %zu: open time %lld, expected %lld", i,
              (long long)got->open_time[i], (long long)ref->open_time[i]);
    CHECK_MSG(got->open[i] == ref->open[i] && got->high[i] == ref->high[i] &&
                  got->low[i] == ref->low[i] && got->close[i] == ref->close[i] &&
                  got->volume[i] == ref->volume[i],
              "row %zu (t=%lld): values differ", i, (long long)ref->open_time[i]);
  }
}

static int append_page(void *ctx, const struct tml_candles *page, int64_t ws, int64_t we,
                       struct tml_error *err) {
  struct tml_candles *all = ctx;
  (void)err;
  for (size_t i = 0; i < page->len; i++) {
    CHECK(page->open_time[i] >= ws && page->open_time[i] <= we);
    CHECK(all->len == 0 || page->open_time[i] > all->open_time[all->len - 1]); /* ascending */
    CHECK(tml_candles_push(all, page->open_time[i], page->open[i], page->high[i], page->low[i],
                           page->close[i], page->volume[i]) == 0);
  }
  return 0;
}

static struct tml_exchange *open_ex(const char *name, const char *market, const struct mock *m,
                                    long timeout_ms) {
  struct tml_exchange_config cfg = {0};
  cfg.name = name;
  cfg.market = market;
  cfg.base_url = m->base;
  cfg.rate_per_s = 5000.0;
  cfg.http.backoff_base_ms = 1;
  cfg.http.backoff_cap_ms = 4;
  cfg.http.seed = 1;
  cfg.http.quiet = true;
  cfg.http.timeout_ms = timeout_ms;
  cfg.http.max_wait_ms = 5000;
  struct tml_exchange *ex;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_exchange_open(&cfg, &ex, &err), &err);
  return ex;
}

struct run {
  struct tml_candles got;
  struct tml_range_stats st;
  struct tml_http_stats http;
  struct tml_error err;
  int rc;
};

/* Fetches everything (from 2020) for symbol/interval through the mock. */
static void fetch_all(const char *name, const char *market, const struct mock *m, const char *symbol,
                      int64_t iv, long timeout_ms, struct run *r) {
  struct tml_exchange *ex = open_ex(name, market, m, timeout_ms);
  tml_candles_init(&r->got, symbol, iv);
  tml_error_init(&r->err);
  int64_t from = tml_days_from_civil(2020, 1, 1) * TML_MS_PER_DAY;
  r->rc = tml_exchange_fetch_range(ex, symbol, iv, from, INT64_MAX, 0, append_page, &r->got, &r->st,
                                   &r->err);
  tml_exchange_http_stats(ex, &r->http);
  tml_exchange_close(ex);
}

#define BYBIT_1H "bybit-linear/BTC_USDT_USDT-1h-futures.csv"

static void bybit_mock(struct mock *m, const char *name, const char *fault1, const char *fault2) {
  char *csv = tml_test_data_file(BYBIT_1H);
  static char spec[4200];
  snprintf(spec, sizeof(spec), "bybit:linear:BTCUSDT:1h:%s", csv);
  free(csv);
  const char *args[8] = {"--series", spec, NULL, NULL, NULL, NULL, NULL, NULL};
  size_t n = 2;
  if (fault1) {
    args[n++] = "--fault";
    args[n++] = fault1;
  }
  if (fault2) {
    args[n++] = "--fault";
    args[n++] = fault2;
  }
  mock_start(m, name, args);
}

TEST(bybit_reproduces_csv) {
  struct tml_candles ref;
  load_csv(BYBIT_1H, &ref);
  struct mock m;
  bybit_mock(&m, "bybit_full", NULL, NULL);
  struct run r;
  fetch_all("bybit", "linear", &m, "BTCUSDT", TML_MS_PER_HOUR, 0, &r);
  CHECK_OK(r.rc, &r.err);
  check_same(&r.got, &ref, ref.len);
  CHECK_INT(r.st.empty_windows, 0);
  /* 1 time call + ceil(rows spanned / 1000) pages from 2020-01-01; no retries */
  CHECK_INT(r.http.retries, 0);
  tml_candles_release(&r.got);
  tml_candles_release(&ref);
  mock_stop(&m);
}

TEST(bybit_survives_faults) {
  static const char *const faults[][2] = {
      {"http429:2:3", NULL},        {"ratelimit10006:1:2", NULL}, {"http503:2:4", "http502:1:1"},
      {"truncated:1:5", NULL},      {"reset:2:2", NULL},          {"empty:1:40", NULL},
      {"http403:1:6", NULL},        {"slow:1:3:1500", NULL},
  };
  /* a reset on a reused connection is retried by libcurl itself once; two in a row reach us */
  struct tml_candles ref;
  load_csv(BYBIT_1H, &ref);
  for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
    struct mock m;
    bybit_mock(&m, "bybit_fault", faults[i][0], faults[i][1]);
    struct run r;
    fetch_all("bybit", "linear", &m, "BTCUSDT", TML_MS_PER_HOUR, 1000, &r);
    CHECK_MSG(r.rc == 0, "fault %s: %s", faults[i][0], r.err.msg);
    check_same(&r.got, &ref, ref.len);
    CHECK_MSG(strncmp(faults[i][0], "empty", 5) == 0 ? r.http.retries == 0 : r.http.retries >= 1,
              "fault %s: %zu retries", faults[i][0], r.http.retries);
    CHECK_INT(r.st.empty_windows, 0);
    tml_candles_release(&r.got);
    mock_stop(&m);
  }
  tml_candles_release(&ref);
}

TEST(bybit_open_candle_dropped) {
  struct tml_candles ref;
  load_csv(BYBIT_1H, &ref);
  char *csv = tml_test_data_file(BYBIT_1H);
  char spec[4200], now[32];
  snprintf(spec, sizeof(spec), "bybit:linear:BTCUSDT:1h:%s", csv);
  free(csv);
  /* the server clock is in the middle of the last candle: it is still open */
  snprintf(now, sizeof(now), "%lld", (long long)(ref.open_time[ref.len - 1] + 30 * 60000));
  const char *args[] = {"--series", spec, "--now", now, NULL};
  struct mock m;
  mock_start(&m, "bybit_open", args);
  struct run r;
  fetch_all("bybit", "linear", &m, "BTCUSDT", TML_MS_PER_HOUR, 0, &r);
  CHECK_OK(r.rc, &r.err);
  check_same(&r.got, &ref, ref.len - 1);
  /* and a single page that reaches now, asked for directly, drops it too */
  struct tml_exchange *ex = open_ex("bybit", "linear", &m, 0);
  struct tml_candles page;
  struct tml_error err;
  tml_error_init(&err);
  int64_t last = ref.open_time[ref.len - 1];
  CHECK_OK(tml_exchange_klines(ex, "BTCUSDT", TML_MS_PER_HOUR, last - 5 * TML_MS_PER_HOUR, last, 0,
                               &page, &err),
           &err);
  CHECK_INT(page.len, 5);
  CHECK_INT(page.open_time[4], last - TML_MS_PER_HOUR);
  tml_candles_release(&page);
  tml_exchange_close(ex);
  tml_candles_release(&r.got);
  tml_candles_release(&ref);
  mock_stop(&m);
}

TEST(bybit_errors_reported) {
  struct mock m;
  bybit_mock(&m, "bybit_errors", NULL, NULL);
  struct tml_exchange *ex = open_ex("bybit", "linear", &m, 0);
  struct tml_candles page;
  struct tml_error err;
  tml_error_init(&err);
  /* unknown symbol: fails at once with the exchange's message, no retry */
  CHECK_INT(tml_exchange_klines(ex, "NOPEUSDT", TML_MS_PER_HOUR, 1701216000000, 1701226800000, 0,
                                &page, &err),
            TML_EINVAL);
  CHECK_CONTAINS(err.msg, "Not supported symbols");
  CHECK_CONTAINS(err.msg, "bybit linear kline NOPEUSDT 1h");
  struct tml_http_stats hs;
  tml_exchange_http_stats(ex, &hs);
  CHECK_INT(hs.requests, 1);
  /* an interval Bybit does not have: no request at all, the valid ones listed */
  tml_error_init(&err);
  CHECK_INT(tml_exchange_klines(ex, "BTCUSDT", 8 * TML_MS_PER_HOUR, 1701216000000, 1701226800000, 0,
                                &page, &err),
            TML_EINVAL);
  CHECK_CONTAINS(err.msg, "bybit linear has no 8h candles: use one of 1m, 3m, 5m, 15m, 30m, 1h");
  tml_exchange_http_stats(ex, &hs);
  CHECK_INT(hs.requests, 1);
  tml_exchange_close(ex);
  mock_stop(&m);
  /* a changed reply shape names the field */
  bybit_mock(&m, "bybit_shape", "shape:-1", NULL);
  struct run r;
  fetch_all("bybit", "linear", &m, "BTCUSDT", TML_MS_PER_HOUR, 0, &r);
  CHECK_INT(r.rc, TML_EPARSE);
  CHECK_CONTAINS(r.err.msg, "field 'list' is missing");
  tml_candles_release(&r.got);
  mock_stop(&m);
  /* a 403 that never ends: reported as a rate limit after the retries */
  bybit_mock(&m, "bybit_403", "http403:-1", NULL);
  fetch_all("bybit", "linear", &m, "BTCUSDT", TML_MS_PER_HOUR, 0, &r);
  CHECK_INT(r.rc, TML_ERATELIMIT);
  CHECK_CONTAINS(r.err.msg, "HTTP 403");
  CHECK_CONTAINS(r.err.msg, "gave up after 7 attempts");
  tml_candles_release(&r.got);
  mock_stop(&m);
}

TEST(binance_spot_reproduces_csv) {
  const char *rel = "binance-spot/SOLUSDT_1h_2021-2026.csv";
  struct tml_candles ref;
  load_csv(rel, &ref);
  char *csv = tml_test_data_file(rel);
  char spec[4200];
  snprintf(spec, sizeof(spec), "binance:spot:SOLUSDT:1h:%s", csv);
  free(csv);
  const char *args[] = {"--series", spec, "--fault", "http418:1:7", "--fault", "empty:1:20", NULL};
  struct mock m;
  mock_start(&m, "binance_full", args);
  struct run r;
  fetch_all("binance", "spot", &m, "SOLUSDT", TML_MS_PER_HOUR, 0, &r);
  CHECK_OK(r.rc, &r.err);
  check_same(&r.got, &ref, ref.len); /* the real outage gaps stay gaps */
  CHECK_INT(r.http.rate_limited, 1);
  CHECK(r.http.waited_ms >= 1000); /* Retry-After: 1 honoured */
  tml_candles_release(&r.got);
  /* invalid symbol / interval and a reply that is not JSON */
  struct tml_exchange *ex = open_ex("binance", "spot", &m, 0);
  struct tml_candles page;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_exchange_klines(ex, "FOOBAR", TML_MS_PER_HOUR, ref.open_time[0], ref.open_time[9],
                                0, &page, &err),
            TML_EINVAL);
  CHECK_CONTAINS(err.msg, "binance code -1121: Invalid symbol.");
  tml_exchange_close(ex);
  tml_candles_release(&ref);
  mock_stop(&m);
}

TEST(binance_futures_reproduces_csv) {
  const char *rel = "binance-usdm-2025h2/ETHUSDT_15m.csv";
  struct tml_candles ref;
  load_csv(rel, &ref);
  char *csv = tml_test_data_file(rel);
  char spec[4200];
  snprintf(spec, sizeof(spec), "binance:futures:ETHUSDT:15m:%s", csv);
  free(csv);
  const char *args[] = {"--series", spec, "--fault", "http429:1:3", NULL};
  struct mock m;
  mock_start(&m, "binance_fut", args);
  struct run r;
  fetch_all("binance", "futures", &m, "ETHUSDT", 15 * TML_MS_PER_MINUTE, 0, &r);
  CHECK_OK(r.rc, &r.err);
  check_same(&r.got, &ref, ref.len);
  tml_candles_release(&r.got);
  tml_candles_release(&ref);
  mock_stop(&m);
}

TEST(bitget_reproduces_csv) {
  /* 1h: the recent endpoint reaches back 60 days, so most pages come from history-candles (200
   * rows) and the last ones from candles (1000 rows); both paths must agree with the file */
  const char *rel = "bybit-linear/ETH_USDT_USDT-1h-futures.csv";
  struct tml_candles ref;
  load_csv(rel, &ref);
  char *csv = tml_test_data_file(rel);
  char spec[4200], spot[4200];
  snprintf(spec, sizeof(spec), "bitget:USDT-FUTURES:ETHUSDT:1h:%s", csv);
  snprintf(spot, sizeof(spot), "bitget:SPOT:ETHUSDT:1h:%s", csv);
  free(csv);
  const char *args[] = {"--series", spec, "--series", spot, "--fault", "http429:2:10", NULL};
  struct mock m;
  mock_start(&m, "bitget_full", args);
  struct run r;
  fetch_all("bitget", "USDT-FUTURES", &m, "ETHUSDT", TML_MS_PER_HOUR, 0, &r);
  CHECK_OK(r.rc, &r.err);
  check_same(&r.got, &ref, ref.len);
  CHECK_INT(r.http.rate_limited, 2);
  tml_candles_release(&r.got);
  fetch_all("bitget", "SPOT", &m, "ETHUSDT", TML_MS_PER_HOUR, 0, &r);
  CHECK_OK(r.rc, &r.err);
  check_same(&r.got, &ref, ref.len);
  tml_candles_release(&r.got);
  /* unknown symbol: HTTP 400 code 40034 */
  struct tml_exchange *ex = open_ex("bitget", "USDT-FUTURES", &m, 0);
  struct tml_candles page;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_exchange_klines(ex, "NOPEUSDT", TML_MS_PER_HOUR, ref.open_time[0],
                                ref.open_time[5], 0, &page, &err),
            TML_EINVAL);
  CHECK_CONTAINS(err.msg, "bitget code 40034: Parameter NOPEUSDT does not exist");
  tml_exchange_close(ex);
  tml_candles_release(&ref);
  mock_stop(&m);
}

TEST(open_rejects_bad_names) {
  struct tml_exchange_config cfg = {0};
  struct tml_exchange *ex;
  struct tml_error err;
  tml_error_init(&err);
  cfg.name = "kraken";
  CHECK_INT(tml_exchange_open(&cfg, &ex, &err), TML_EINVAL);
  CHECK_STR(err.msg, "unknown exchange 'kraken': use one of bybit, bitget, binance");
  tml_error_init(&err);
  cfg.name = "bybit";
  cfg.market = "futures";
  CHECK_INT(tml_exchange_open(&cfg, &ex, &err), TML_EINVAL);
  CHECK_STR(err.msg, "unknown bybit category 'futures': use one of spot, linear, inverse");
  tml_error_init(&err);
  cfg.name = "bitget";
  cfg.market = "usdt-futures"; /* case-insensitive, normalised */
  CHECK_OK(tml_exchange_open(&cfg, &ex, &err), &err);
  CHECK_STR(tml_exchange_market(ex), "USDT-FUTURES");
  CHECK_STR(tml_exchange_base_url(ex), "https://api.bitget.com"); /* never the environment */
  CHECK_INT(tml_exchange_check_interval(ex, 2 * TML_MS_PER_HOUR, &err), 0);
  tml_exchange_close(ex);
  cfg.market = "SPOT";
  CHECK_OK(tml_exchange_open(&cfg, &ex, &err), &err);
  CHECK_INT(tml_exchange_check_interval(ex, 2 * TML_MS_PER_HOUR, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "bitget SPOT has no 2h candles");
  tml_exchange_close(ex);
}

TEST(unreachable_names_host) {
  struct tml_exchange_config cfg = {0};
  cfg.name = "binance";
  cfg.base_url = "http://127.0.0.1:1";
  cfg.http.backoff_base_ms = 1;
  cfg.http.max_retries = 1;
  cfg.http.quiet = true;
  struct tml_exchange *ex;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_exchange_open(&cfg, &ex, &err), &err);
  int64_t now;
  CHECK_INT(tml_exchange_server_time(ex, &now, &err), TML_ENET);
  CHECK_CONTAINS(err.msg, "binance server time: cannot reach 127.0.0.1:1");
  CHECK_CONTAINS(err.msg, "trademl data import");
  tml_exchange_close(ex);
}

TEST(instruments_all_exchanges) {
  char *a = tml_test_data_file("binance-usdm-2025h2/BTCUSDT_15m.csv");
  char *b = tml_test_data_file("binance-usdm-2025h2/ETHUSDT_15m.csv");
  char *c = tml_test_data_file("binance-usdm-2025h2/DOGEUSDT_15m.csv");
  static char specs[9][4200];
  const char *exs[3][2] = {{"bybit", "linear"}, {"bitget", "USDT-FUTURES"}, {"binance", "futures"}};
  const char *files[3] = {a, b, c};
  const char *syms[3] = {"BTCUSDT", "ETHUSDT", "DOGEUSDT"};
  const char *args[24];
  size_t n = 0;
  for (int e = 0; e < 3; e++)
    for (int s = 0; s < 3; s++) {
      snprintf(specs[e * 3 + s], sizeof(specs[0]), "%s:%s:%s:15m:%s", exs[e][0], exs[e][1], syms[s],
               files[s]);
      args[n++] = "--series";
      args[n++] = specs[e * 3 + s];
    }
  args[n++] = "--instruments-page"; /* Bybit linear pages through nextPageCursor */
  args[n++] = "2";
  args[n] = NULL;
  struct mock m;
  mock_start(&m, "instruments", args);
  struct tml_candles btc;
  load_csv("binance-usdm-2025h2/BTCUSDT_15m.csv", &btc);
  for (int e = 0; e < 3; e++) {
    struct tml_exchange *ex = open_ex(exs[e][0], exs[e][1], &m, 0);
    struct tml_instruments l;
    tml_instruments_init(&l);
    struct tml_error err;
    tml_error_init(&err);
    CHECK_OK(tml_exchange_instruments(ex, &l, &err), &err);
    CHECK_INT(l.len, 3);
    CHECK_STR(l.items[0].symbol, "BTCUSDT"); /* sorted by symbol */
    CHECK_STR(l.items[0].quote, "USDT");
    CHECK_STR(l.items[0].base, "BTC");
    CHECK_INT(l.items[0].launch_ms, btc.open_time[0]);
    CHECK(l.items[0].turnover_24h > 1e6);
    CHECK(l.items[0].volume_24h > 0);
    CHECK_STR(l.items[1].symbol, "DOGEUSDT");
    tml_instruments_release(&l);
    tml_exchange_close(ex);
  }
  tml_candles_release(&btc);
  free(a);
  free(b);
  free(c);
  mock_stop(&m);
}

/* tml_exchange_config_from: base URL, timeout, retries, backoff, rate and proxy come from the
 * configuration keys, binance futures has its own URL key, and the environment is not read by the
 * client (only by the config loader). */
TEST(config_from_configuration) {
  char *dir = tml_test_tmpdir("exchange_config_from");
  struct tml_config *cfg = NULL;
  struct tml_error err;
  tml_error_init(&err);
  setenv("TRADEML_BYBIT_BASE_URL", "http://127.0.0.1:9/", 1); /* legacy env name of the key */
  CHECK_OK(tml_config_load(NULL, dir, &cfg, &err), &err);
  unsetenv("TRADEML_BYBIT_BASE_URL");
  CHECK_OK(tml_config_set(cfg, "exchanges.binance_futures.base_url", "http://127.0.0.1:7", TML_CFG_FLAG, "t", &err), &err);
  CHECK_OK(tml_config_set(cfg, "exchanges.http.timeout_ms", "1234", TML_CFG_FLAG, "t", &err), &err);
  CHECK_OK(tml_config_set(cfg, "exchanges.http.retries", "0", TML_CFG_FLAG, "t", &err), &err);
  CHECK_OK(tml_config_set(cfg, "exchanges.http.backoff_ms", "20", TML_CFG_FLAG, "t", &err), &err);
  CHECK_OK(tml_config_set(cfg, "exchanges.http.rate", "7.5", TML_CFG_FLAG, "t", &err), &err);
  CHECK_OK(tml_config_set(cfg, "exchanges.http.proxy", "http://127.0.0.1:3", TML_CFG_FLAG, "t", &err), &err);
  struct tml_exchange_config xc;
  CHECK_OK(tml_exchange_config_from(cfg, "bybit", NULL, &xc, &err), &err);
  CHECK_STR(xc.name, "bybit");
  CHECK(xc.market == NULL);
  CHECK_STR(xc.base_url, "http://127.0.0.1:9");
  CHECK_INT(xc.http.timeout_ms, 1234);
  CHECK_INT(xc.http.max_retries, -1); /* 0 retries = none, not the library default */
  CHECK_INT(xc.http.backoff_base_ms, 20);
  CHECK_INT(xc.http.backoff_cap_ms, 30000);
  CHECK_STR(xc.http.proxy, "http://127.0.0.1:3");
  CHECK(xc.rate_per_s == 7.5);
  CHECK_OK(tml_exchange_config_from(cfg, "binance", "futures", &xc, &err), &err);
  CHECK_STR(xc.base_url, "http://127.0.0.1:7");
  CHECK_OK(tml_exchange_config_from(cfg, "binance_futures", NULL, &xc, &err), &err);
  CHECK_STR(xc.name, "binance");
  CHECK_STR(xc.market, "futures");
  CHECK_STR(xc.base_url, "http://127.0.0.1:7");
  CHECK_OK(tml_exchange_config_from(cfg, "binance", NULL, &xc, &err), &err);
  CHECK_STR(xc.base_url, "https://api.binance.com");
  CHECK_OK(tml_exchange_config_from(cfg, "bitget", "SPOT", &xc, &err), &err);
  CHECK_STR(xc.base_url, "https://api.bitget.com");
  CHECK_INT(tml_exchange_config_from(cfg, "kraken", NULL, &xc, &err), TML_EINVAL);
  CHECK_STR(err.msg, "unknown exchange 'kraken': use one of bybit, bitget, binance");
  /* NULL config: public hosts and library defaults */
  CHECK_OK(tml_exchange_config_from(NULL, "bybit", "spot", &xc, &err), &err);
  CHECK(xc.base_url == NULL && xc.http.proxy == NULL && xc.http.timeout_ms == 0);
  struct tml_exchange *ex = NULL;
  setenv("TRADEML_BYBIT_BASE_URL", "http://127.0.0.1:9", 1);
  CHECK_OK(tml_exchange_open(&xc, &ex, &err), &err);
  unsetenv("TRADEML_BYBIT_BASE_URL");
  CHECK_STR(tml_exchange_base_url(ex), "https://api.bybit.com");
  tml_exchange_close(ex);
  tml_config_free(cfg);
  free(dir);
}

/* The proxy is exactly the configured one: a configured proxy that is down makes the request fail
 * (so it is used), and with no proxy configured libcurl's http_proxy variable is ignored. */
TEST(proxy_from_configuration_only) {
  struct mock m;
  bybit_mock(&m, "exchange_proxy", NULL, NULL);
  char *dir = tml_test_tmpdir("exchange_proxy_cfg");
  struct tml_config *cfg = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_config_load(NULL, dir, &cfg, &err), &err);
  CHECK_OK(tml_config_set(cfg, "exchanges.bybit.base_url", m.base, TML_CFG_FLAG, "t", &err), &err);
  CHECK_OK(tml_config_set(cfg, "exchanges.http.retries", "0", TML_CFG_FLAG, "t", &err), &err);
  CHECK_OK(tml_config_set(cfg, "exchanges.http.timeout_ms", "3000", TML_CFG_FLAG, "t", &err), &err);
  struct tml_exchange_config xc;
  struct tml_exchange *ex = NULL;
  int64_t now = 0;
  setenv("http_proxy", "http://127.0.0.1:1", 1);
  setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
  setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
  CHECK_OK(tml_exchange_config_from(cfg, "bybit", "linear", &xc, &err), &err);
  xc.http.quiet = true;
  CHECK_OK(tml_exchange_open(&xc, &ex, &err), &err);
  CHECK_OK(tml_exchange_server_time(ex, &now, &err), &err); /* direct, despite http_proxy */
  CHECK(now > 0);
  tml_exchange_close(ex);
  unsetenv("http_proxy");
  unsetenv("HTTP_PROXY");
  unsetenv("ALL_PROXY");
  CHECK_OK(tml_config_set(cfg, "exchanges.http.proxy", "http://127.0.0.1:1", TML_CFG_FLAG, "t", &err), &err);
  CHECK_OK(tml_exchange_config_from(cfg, "bybit", "linear", &xc, &err), &err);
  xc.http.quiet = true;
  CHECK_OK(tml_exchange_open(&xc, &ex, &err), &err);
  CHECK_INT(tml_exchange_server_time(ex, &now, &err), TML_ENET);
  CHECK_CONTAINS(err.msg, "through the proxy http://127.0.0.1:1");
  CHECK_CONTAINS(err.msg, "exchanges.http.proxy");
  tml_exchange_close(ex);
  tml_config_free(cfg);
  free(dir);
  mock_stop(&m);
}

/* ---- replies from memory (tml__exchange_set_reply_source, also used by tests/fuzz/fuzz_exchange) ---- */

static int one_reply(void *ctx, const char *url, struct tml_http_response *resp, struct tml_error *err) {
  (void)url;
  (void)err;
  resp->status = 200;
  tml_buf_reset(&resp->body);
  tml_buf_puts(&resp->body, ctx);
  return 0;
}

static int64_t time_from(const char *exchange, const char *body, int *rc, struct tml_error *err) {
  struct tml_exchange_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.name = exchange;
  cfg.base_url = "http://127.0.0.1:9";
  struct tml_exchange *ex = NULL;
  tml_error_init(err);
  CHECK_OK(tml_exchange_open(&cfg, &ex, err), err);
  tml__exchange_set_reply_source(ex, one_reply, (void *)(uintptr_t)body);
  int64_t now = 0;
  *rc = tml_exchange_server_time(ex, &now, err);
  tml_exchange_close(ex);
  return now;
}

/* Found by tests/fuzz/fuzz_exchange: a server time of INT64_MIN overflowed the clock offset (UB).
 * A clock outside 2009..2100 is now refused as a broken reply, naming the exchange. */
TEST(implausible_server_time_refused) {
  struct tml_error err;
  int rc;
  CHECK_INT(time_from("bybit", "{\"retCode\":0,\"time\":1704816000000}", &rc, &err), 1704816000000);
  CHECK_OK(rc, &err);
  time_from("bybit", "{\"retCode\":0,\"time\":-9223372036854775808}", &rc, &err);
  CHECK_INT(rc, TML_EPARSE);
  CHECK_CONTAINS(err.msg, "bybit server time -9223372036854775808 is not a time in milliseconds");
  time_from("binance", "{\"serverTime\":1704816000}", &rc, &err); /* seconds, not ms */
  CHECK_INT(rc, TML_EPARSE);
  CHECK_CONTAINS(err.msg, "binance server time 1704816000 is not a time");
  time_from("bitget", "{\"code\":\"00000\",\"data\":{\"serverTime\":\"9223372036854775807\"}}", &rc, &err);
  CHECK_INT(rc, TML_EPARSE);
  CHECK_CONTAINS(err.msg, "bitget server time");
}
