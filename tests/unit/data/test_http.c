/* http: token bucket arithmetic, backoff bounds and determinism, and the retry loop against the
 * loopback mock exchange (Retry-After honoured, 5xx retried, 4xx failing at once, dead host). */
#include "test.h"
#include "mock_spawn.h"
#include "trademl/error.h"
#include "trademl/http.h"
#include "trademl/timeutil.h"

TEST(ratelimit_paces_to_rate) {
  struct tml_ratelimit rl;
  tml_ratelimit_init(&rl, 10.0, 2.0); /* 10/s, burst 2 */
  CHECK_INT(tml_ratelimit_reserve(&rl, 1.0, 100.0), 0);
  CHECK_INT(tml_ratelimit_reserve(&rl, 1.0, 100.0), 0);
  CHECK_INT(tml_ratelimit_reserve(&rl, 1.0, 100.0), 100);  /* third in the same instant */
  CHECK_INT(tml_ratelimit_reserve(&rl, 1.0, 100.0), 200);  /* reservations queue up */
  CHECK_INT(tml_ratelimit_reserve(&rl, 1.0, 100.25), 50); /* -2 + 2.5 tokens, minus 1 */
  CHECK_INT(tml_ratelimit_reserve(&rl, 1.0, 101.0), 0);  /* 1 s later: refilled, capped at burst */
  /* 100 requests at 10/s cannot finish in less than ~9.8 s of waiting */
  tml_ratelimit_init(&rl, 10.0, 2.0);
  double t = 0.0;
  for (int i = 0; i < 100; i++)
    t += (double)tml_ratelimit_reserve(&rl, 1.0, t) / 1000.0;
  CHECK_NEAR(t, 9.8, 0.01);
  /* weights: a cost-5 request takes 5 tokens */
  tml_ratelimit_init(&rl, 20.0, 10.0);
  CHECK_INT(tml_ratelimit_reserve(&rl, 5.0, 0.0), 0);
  CHECK_INT(tml_ratelimit_reserve(&rl, 5.0, 0.0), 0);
  CHECK_INT(tml_ratelimit_reserve(&rl, 5.0, 0.0), 250);
}

TEST(ratelimit_pause_blocks) {
  struct tml_ratelimit rl;
  tml_ratelimit_init(&rl, 100.0, 10.0);
  tml_ratelimit_pause(&rl, 50.0, 1500);
  CHECK_INT(tml_ratelimit_reserve(&rl, 1.0, 50.0), 1500);
  CHECK_INT(tml_ratelimit_reserve(&rl, 1.0, 51.6), 0);
}

TEST(backoff_bounds_and_seed) {
  struct tml_backoff a, b;
  tml_backoff_init(&a, 100, 2000, 42);
  tml_backoff_init(&b, 100, 2000, 42);
  for (int i = 0; i < 12; i++) {
    int64_t d = 100;
    for (int k = 0; k < i && d < 2000; k++)
      d *= 2;
    if (d > 2000)
      d = 2000;
    int64_t x = tml_backoff_next(&a, i), y = tml_backoff_next(&b, i);
    CHECK_INT(x, y); /* same seed, same waits */
    CHECK_MSG(x >= d / 2 && x <= d, "attempt %d: %lld not in [%lld, %lld]", i, (long long)x,
              (long long)(d / 2), (long long)d);
  }
  tml_backoff_init(&b, 100, 2000, 43);
  int differ = 0;
  tml_backoff_init(&a, 100, 2000, 42);
  for (int i = 0; i < 8; i++)
    differ += tml_backoff_next(&a, 5) != tml_backoff_next(&b, 5);
  CHECK(differ > 0);
}

struct sleeps {
  int64_t total;
  int n;
};
static void record_sleep(void *ctx, int64_t ms) {
  struct sleeps *s = ctx;
  s->total += ms;
  s->n++;
}

static struct tml_http *client(struct sleeps *s) {
  struct tml_http_opts o = {0};
  o.backoff_base_ms = 10;
  o.backoff_cap_ms = 40;
  o.max_retries = 3;
  o.seed = 7;
  o.sleep_ms = record_sleep;
  o.sleep_ctx = s;
  o.quiet = true;
  o.timeout_ms = 5000;
  struct tml_http *h;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_http_create(&o, &h, &err), &err);
  return h;
}

TEST(get_retry_after_and_5xx) {
  const char *args[] = {"--fault", "http429:1", "--fault", "http503:2", NULL};
  struct mock m;
  mock_start(&m, "http_retry", args);
  struct sleeps s = {0, 0};
  struct tml_http *h = client(&s);
  char url[256];
  snprintf(url, sizeof(url), "%s/api/v3/klines?symbol=X&interval=1h", m.base);
  struct tml_http_response r;
  tml_http_response_init(&r);
  struct tml_error err;
  tml_error_init(&err);
  /* 429 (Retry-After: 1 -> 1000 ms), then 503 twice (backoff 5..10, 10..20 ms), then the real
   * reply: 400 -1121 for the unknown symbol, which the default classifier fails at once */
  int rc = tml_http_get(h, url, NULL, 1.0, NULL, NULL, &r, &err);
  CHECK_INT(rc, TML_EEXCHANGE);
  CHECK_CONTAINS(err.msg, "-1121");
  struct tml_http_stats st;
  tml_http_get_stats(h, &st);
  CHECK_INT(st.requests, 4);
  CHECK_INT(st.retries, 3);
  CHECK_INT(st.rate_limited, 1);
  CHECK_MSG(s.total >= 1000 + 5 + 10 && s.total <= 1000 + 10 + 20, "waited %lld ms",
            (long long)s.total);
  tml_http_response_release(&r);
  tml_http_destroy(h);
  mock_stop(&m);
}

TEST(get_gives_up_after_retries) {
  const char *args[] = {"--fault", "http500:-1", NULL};
  struct mock m;
  mock_start(&m, "http_giveup", args);
  struct sleeps s = {0, 0};
  struct tml_http *h = client(&s);
  char url[256];
  snprintf(url, sizeof(url), "%s/v5/market/kline?symbol=BTCUSDT&interval=60", m.base);
  struct tml_http_response r;
  tml_http_response_init(&r);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_http_get(h, url, NULL, 1.0, NULL, NULL, &r, &err), TML_EEXCHANGE);
  CHECK_CONTAINS(err.msg, "HTTP 500");
  CHECK_CONTAINS(err.msg, "gave up after 4 attempts");
  CHECK_INT(s.n, 3);
  tml_http_response_release(&r);
  tml_http_destroy(h);
  mock_stop(&m);
}

TEST(get_headers_parsed) {
  const char *args[] = {"--fault", "ratelimit10006:1", NULL};
  struct mock m;
  mock_start(&m, "http_headers", args);
  struct sleeps s = {0, 0};
  struct tml_http *h = client(&s);
  char url[256];
  snprintf(url, sizeof(url), "%s/v5/market/kline?symbol=BTCUSDT&interval=60", m.base);
  struct tml_http_response r;
  tml_http_response_init(&r);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_http_get_once(h, url, &r, &err), &err);
  CHECK_INT(r.status, 200);
  CHECK_CONTAINS(tml_buf_str(&r.body), "\"retCode\":10006");
  int64_t now = tml_now_ms();
  CHECK_MSG(r.reset_at_ms > now && r.reset_at_ms <= now + 1100, "reset %lld now %lld",
            (long long)r.reset_at_ms, (long long)now);
  CHECK(r.date_ms > 0);
  tml_http_response_release(&r);
  tml_http_destroy(h);
  mock_stop(&m);
}

TEST(get_unreachable_host) {
  struct sleeps s = {0, 0};
  struct tml_http *h = client(&s);
  struct tml_http_response r;
  tml_http_response_init(&r);
  struct tml_error err;
  tml_error_init(&err);
  /* port 1 on loopback: refused at once (retried as transient, then reported) */
  CHECK_INT(tml_http_get(h, "http://127.0.0.1:1/api/v3/time", NULL, 1.0, NULL, NULL, &r, &err),
            TML_ENET);
  CHECK_CONTAINS(err.msg, "cannot reach 127.0.0.1:1");
  CHECK_CONTAINS(err.msg, "trademl data import");
  char host[64];
  tml_http_host("https://api.bybit.com/v5/market/kline?x=1", host, sizeof(host));
  CHECK_STR(host, "api.bybit.com");
  tml_http_response_release(&r);
  tml_http_destroy(h);
}

TEST(get_refuses_long_waits) {
  const char *args[] = {"--fault", "http418:-1", NULL};
  struct mock m;
  mock_start(&m, "http_longwait", args);
  struct sleeps s = {0, 0};
  struct tml_http_opts o = {0};
  o.max_wait_ms = 500; /* the ban asks for 1 s */
  o.sleep_ms = record_sleep;
  o.sleep_ctx = &s;
  o.quiet = true;
  struct tml_http *h;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_http_create(&o, &h, &err), &err);
  char url[256];
  snprintf(url, sizeof(url), "%s/api/v3/klines?symbol=X&interval=1h", m.base);
  struct tml_http_response r;
  tml_http_response_init(&r);
  CHECK_INT(tml_http_get(h, url, NULL, 1.0, NULL, NULL, &r, &err), TML_ERATELIMIT);
  CHECK_CONTAINS(err.msg, "asks to wait 1.0 s");
  CHECK_CONTAINS(err.msg, "longer than the 0.5 s allowed");
  CHECK_CONTAINS(err.msg, "rate limit (HTTP 418)");
  CHECK_INT(s.n, 0);
  tml_http_response_release(&r);
  tml_http_destroy(h);
  mock_stop(&m);
}
