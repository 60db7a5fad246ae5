/* Rate-limited HTTP GET over libcurl for the exchange clients. The token bucket spends before a
 * request goes out so documented budgets are never hit in normal operation; the retry loop handles
 * what still comes back (rate limits with the server's wait, transient failures with backoff). */
#include "trademl/http.h"
#include "util/common.h"

#include <curl/curl.h>
#include <pthread.h>
#include <strings.h>
#include <time.h>

#include "trademl/error.h"
#include "trademl/log.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"

#define BODY_MAX ((size_t)64 << 20) /* 64 MiB: a full instruments list is a few MiB */

struct tml_http {
  CURL *curl;
  struct tml_http_opts opts;
  struct tml_backoff backoff;
  struct tml_http_stats stats;
  char curl_err[CURL_ERROR_SIZE];
  char proxy[1024]; /* copy of opts.proxy; "" = direct */
};

/* ---- token bucket ---------------------------------------------------------------------------- */

void tml_ratelimit_init(struct tml_ratelimit *rl, double rate_per_s, double burst) {
  rl->rate = rate_per_s;
  rl->burst = burst > 1.0 ? burst : 1.0;
  rl->tokens = rl->burst;
  rl->last_s = -1.0;
  rl->paused_until_s = 0.0;
}

int64_t tml_ratelimit_reserve(struct tml_ratelimit *rl, double cost, double now_s) {
  double wait_s = 0.0;
  if (rl->paused_until_s > now_s)
    wait_s = rl->paused_until_s - now_s;
  if (rl->rate <= 0.0)
    return (int64_t)ceil(wait_s * 1000.0);
  if (rl->last_s >= 0.0 && now_s > rl->last_s)
    rl->tokens = TML_MIN(rl->burst, rl->tokens + (now_s - rl->last_s) * rl->rate);
  if (rl->last_s < 0.0 || now_s > rl->last_s)
    rl->last_s = now_s;
  rl->tokens -= cost;
  if (rl->tokens < 0.0)
    wait_s = TML_MAX(wait_s, -rl->tokens / rl->rate);
  return (int64_t)ceil(wait_s * 1000.0);
}

void tml_ratelimit_pause(struct tml_ratelimit *rl, double now_s, int64_t wait_ms) {
  double until = now_s + (double)wait_ms / 1000.0;
  if (until > rl->paused_until_s)
    rl->paused_until_s = until;
  rl->tokens = 0.0;
  rl->last_s = until; /* refill starts when the pause ends */
}

/* ---- backoff --------------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

void tml_backoff_init(struct tml_backoff *b, int64_t base_ms, int64_t cap_ms, uint64_t seed) {
  b->base_ms = base_ms > 0 ? base_ms : 1;
  b->cap_ms = cap_ms > b->base_ms ? cap_ms : b->base_ms;
  b->state = seed;
}

int64_t tml_backoff_next(struct tml_backoff *b, int attempt) {
  int64_t d = b->base_ms;
  for (int i = 0; i < attempt && d < b->cap_ms; i++)
    d *= 2;
  if (d > b->cap_ms)
    d = b->cap_ms;
  int64_t half = d / 2;
  uint64_t r = splitmix64(&b->state);
  return half + (int64_t)(r % (uint64_t)(d - half + 1));
}

/* ---- client ---------------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void tml_http_response_init(struct tml_http_response *r) {
  r->status = 0;
  tml_buf_init(&r->body, BODY_MAX);
  r->retry_after_ms = -1;
  r->reset_at_ms = -1;
  r->date_ms = -1;
  r->used_weight = -1;
}

void tml_http_response_release(struct tml_http_response *r) {
  if (r)
    tml_buf_release(&r->body);
}

static void response_reset(struct tml_http_response *r) {
  r->status = 0;
  tml_buf_reset(&r->body);
  r->retry_after_ms = -1;
  r->reset_at_ms = -1;
  r->date_ms = -1;
  r->used_weight = -1;
}

int tml_http_create(const struct tml_http_opts *opts, struct tml_http **out, struct tml_error *err) {
  *out = NULL;
  pthread_once(&curl_once, curl_init_once);
  struct tml_http *h = calloc(1, sizeof(*h));
  if (!h)
    return tml_error_set(err, TML_ENOMEM, "cannot allocate an HTTP client");
  if (opts)
    h->opts = *opts;
  if (h->opts.proxy && strlen(h->opts.proxy) >= sizeof(h->proxy)) {
    free(h);
    return tml_error_set(err, TML_EINVAL, "proxy URL is longer than %zu bytes", sizeof(h->proxy) - 1);
  }
  snprintf(h->proxy, sizeof(h->proxy), "%s", h->opts.proxy ? h->opts.proxy : "");
  h->opts.proxy = h->proxy;
  if (h->opts.timeout_ms <= 0)
    h->opts.timeout_ms = 30000;
  if (h->opts.connect_timeout_ms <= 0)
    h->opts.connect_timeout_ms = 10000;
  if (h->opts.max_retries == 0)
    h->opts.max_retries = 6;
  if (h->opts.max_retries < 0)
    h->opts.max_retries = 0;
  if (h->opts.backoff_base_ms <= 0)
    h->opts.backoff_base_ms = 500;
  if (h->opts.backoff_cap_ms <= 0)
    h->opts.backoff_cap_ms = 30000;
  if (h->opts.max_wait_ms <= 0)
    h->opts.max_wait_ms = 300000;
  uint64_t seed = h->opts.seed ? h->opts.seed : (uint64_t)tml_now_ms() ^ (uint64_t)(uintptr_t)h;
  tml_backoff_init(&h->backoff, h->opts.backoff_base_ms, h->opts.backoff_cap_ms, seed);
  h->curl = curl_easy_init();
  if (!h->curl) {
    free(h);
    return tml_error_set(err, TML_ENOMEM, "cannot create a libcurl handle");
  }
  *out = h;
  return 0;
}

void tml_http_destroy(struct tml_http *h) {
  if (!h)
    return;
  curl_easy_cleanup(h->curl);
  free(h);
}

void tml_http_get_stats(const struct tml_http *h, struct tml_http_stats *out) { *out = h->stats; }

void tml_http_host(const char *url, char *out, size_t outsz) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t n = strcspn(p, "/?#");
  snprintf(out, outsz, "%.*s", (int)n, p);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
  struct tml_http_response *r = userdata;
  size_t n = size * nmemb;
  if (tml_buf_append(&r->body, data, n) != 0)
    return 0; /* too big: curl aborts with CURLE_WRITE_ERROR */
  return n;
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *vlen) {
  size_t nl = strlen(name);
  if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
    return false;
  const char *v = line + nl + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  *value = v;
  *vlen = (size_t)(end - v);
  return true;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata) {
  struct tml_http_response *r = userdata;
  size_t n = size * nmemb;
  const char *v;
  size_t vlen;
  char tmp[128];
  int64_t x;
  if (header_is(line, n, "Retry-After", &v, &vlen)) {
    if (tml_parse_int64(v, vlen, &x) == 0 && x >= 0) {
      r->retry_after_ms = x * 1000;
    } else {
      snprintf(tmp, sizeof(tmp), "%.*s", (int)TML_MIN(vlen, sizeof(tmp) - 1), v);
      time_t t = curl_getdate(tmp, NULL);
      if (t > 0) {
        int64_t w = (int64_t)t * 1000 - tml_now_ms();
        r->retry_after_ms = w > 0 ? w : 0;
      }
    }
  } else if (header_is(line, n, "X-Bapi-Limit-Reset-Timestamp", &v, &vlen)) {
    if (tml_parse_int64(v, vlen, &x) == 0)
      r->reset_at_ms = x;
  } else if (header_is(line, n, "X-MBX-USED-WEIGHT-1M", &v, &vlen)) {
    if (tml_parse_int64(v, vlen, &x) == 0)
      r->used_weight = (long)x;
  } else if (header_is(line, n, "Date", &v, &vlen)) {
    snprintf(tmp, sizeof(tmp), "%.*s", (int)TML_MIN(vlen, sizeof(tmp) - 1), v);
    time_t t = curl_getdate(tmp, NULL);
    if (t > 0)
      r->date_ms = (int64_t)t * 1000;
  }
  return n;
}

int tml_http_get_once(struct tml_http *h, const char *url, struct tml_http_response *resp,
                      struct tml_error *err) {
  response_reset(resp);
  CURL *c = h->curl;
  curl_easy_reset(c);
  h->curl_err[0] = '\0';
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->opts.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
  /* Always set: "" makes libcurl connect directly instead of reading http_proxy & co. from the
   * environment, so the proxy is exactly what the configuration says (exchanges.http.proxy). */
  curl_easy_setopt(c, CURLOPT_PROXY, h->proxy);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "trademl/" TML_VERSION);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip/deflate if offered */
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  h->stats.requests++;
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    resp->status = status;
    if (!resp->body.ptr)
      tml_buf_puts(&resp->body, ""); /* always a string, even for an empty body */
    return 0;
  }
  char host[256];
  tml_http_host(url, host, sizeof(host));
  const char *why = h->curl_err[0] ? h->curl_err : curl_easy_strerror(rc);
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
    return tml_error_set(err, TML_ETIMEDOUT, "request to %s timed out after %ld ms (%s)", host,
                         h->opts.timeout_ms, why);
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    /* A name that does not resolve is a configuration problem: retrying repeats it (error.h). */
    return tml_error_set(err, TML_ENOHOST,
                         "host name %s does not resolve (%s): check the exchange base URL "
                         "(exchanges.<name>.base_url or TRADEML_<NAME>_BASE_URL) and DNS, or load candles from files "
                         "with `trademl data import`",
                         host, why);
  case CURLE_COULDNT_CONNECT:
    if (h->proxy[0])
      return tml_error_set(err, TML_ENET,
                           "cannot reach %s through the proxy %s (%s): check exchanges.http.proxy", host,
                           h->proxy, why);
    return tml_error_set(err, TML_ENET,
                         "cannot reach %s (%s): check the network or the exchange base URL, or "
                         "load candles from files with `trademl data import`",
                         host, why);
  case CURLE_WRITE_ERROR:
    return tml_error_set(err, TML_ETOOBIG, "reply from %s is larger than %zu bytes", host, BODY_MAX);
  default:
    return tml_error_set(err, TML_ENET, "request to %s failed: %s", host, why);
  }
}

static enum tml_http_verdict default_classify(void *ctx, const struct tml_http_response *r,
                                              int64_t *wait_ms, struct tml_error *err) {
  (void)ctx;
  if (r->status >= 200 && r->status < 300)
    return TML_HTTP_OK;
  if (r->status == 429 || r->status == 418) {
    *wait_ms = r->retry_after_ms;
    return TML_HTTP_RATE_LIMITED;
  }
  if (r->status >= 500)
    return TML_HTTP_TRANSIENT;
  tml_error_set(err, TML_EEXCHANGE, "HTTP %ld: %.200s", r->status, tml_buf_str(&r->body));
  return TML_HTTP_FAIL;
}

static void do_sleep(struct tml_http *h, int64_t ms) {
  if (ms <= 0)
    return;
  h->stats.waited_ms += ms;
  if (h->opts.sleep_ms) {
    h->opts.sleep_ms(h->opts.sleep_ctx, ms);
    return;
  }
  struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Transport failures worth another try: timeouts, resets, refused connections (a restarting
 * server). An unknown host is not. */
static bool transport_retryable(int rc) { return (rc == TML_ETIMEDOUT || rc == TML_ENET) && tml_error_retryable(rc); }

int tml_http_get(struct tml_http *h, const char *url, struct tml_ratelimit *bucket, double cost,
                 tml_http_classify_fn classify, void *ctx, struct tml_http_response *resp,
                 struct tml_error *err) {
  if (!classify)
    classify = default_classify;
  char host[256];
  tml_http_host(url, host, sizeof(host));
  struct tml_error last;
  tml_error_init(&last);
  int last_rc = 0;
  for (int attempt = 0;; attempt++) {
    if (bucket)
      do_sleep(h, tml_ratelimit_reserve(bucket, cost, tml_monotonic_s()));
    struct tml_error e;
    tml_error_init(&e);
    int rc = tml_http_get_once(h, url, resp, &e);
    int64_t wait = -1;
    enum tml_http_verdict v;
    if (rc != 0) {
      if (!transport_retryable(rc)) {
        tml_error_set(err, rc, "%s", e.msg);
        return rc;
      }
      v = TML_HTTP_TRANSIENT;
    } else {
      v = classify(ctx, resp, &wait, &e);
      if (v == TML_HTTP_OK)
        return 0;
      if (v == TML_HTTP_FAIL) {
        rc = e.code ? e.code : TML_EEXCHANGE;
        tml_error_set(err, rc, "%s", e.msg[0] ? e.msg : "request failed");
        return rc;
      }
      if (!e.code) {
        if (v == TML_HTTP_RATE_LIMITED)
          tml_error_set(&e, TML_ERATELIMIT, "%s rate limit (HTTP %ld)", host, resp->status);
        else
          tml_error_set(&e, TML_EEXCHANGE, "%s HTTP %ld: %.160s", host, resp->status,
                        tml_buf_str(&resp->body));
      }
      rc = v == TML_HTTP_RATE_LIMITED ? TML_ERATELIMIT : e.code;
    }
    last = e;
    last_rc = rc;
    if (attempt >= h->opts.max_retries)
      break;
    int64_t sleep_ms = tml_backoff_next(&h->backoff, attempt);
    if (v == TML_HTTP_RATE_LIMITED) {
      h->stats.rate_limited++;
      if (wait > 0)
        sleep_ms = wait;
      if (sleep_ms > h->opts.max_wait_ms) {
        char until[32];
        tml_time_format(tml_now_ms() + sleep_ms, until, sizeof(until));
        return tml_error_set(err, TML_ERATELIMIT,
                             "%s asks to wait %.1f s (until %s), longer than the %.1f s allowed: "
                             "%s; try again later",
                             host, (double)sleep_ms / 1000.0, until,
                             (double)h->opts.max_wait_ms / 1000.0, e.msg);
      }
      if (bucket)
        tml_ratelimit_pause(bucket, tml_monotonic_s(), sleep_ms);
    }
    h->stats.retries++;
    if (!h->opts.quiet)
      tml_warn("%s; retrying in %" PRId64 " ms (attempt %d of %d)", e.msg, sleep_ms, attempt + 2,
               h->opts.max_retries + 1);
    if (v == TML_HTTP_RATE_LIMITED && bucket)
      continue; /* the bucket pause does the waiting */
    do_sleep(h, sleep_ms);
  }
  return tml_error_set(err, last_rc ? last_rc : TML_EEXCHANGE, "%s (gave up after %d attempts)",
                       last.msg, h->opts.max_retries + 1);
}
