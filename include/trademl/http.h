/* Rate-limited HTTP GET for the exchange clients (libcurl underneath): a token bucket per exchange
 * endpoint that spends before a request goes out, capped exponential backoff with seedable jitter,
 * and a retry loop that honours Retry-After / reset headers. The caller classifies each reply
 * (exchanges signal limits differently: HTTP 429/418/403, Bybit retCode 10006 at HTTP 200, ...). */
#ifndef TML_HTTP_H
#define TML_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/buf.h"

struct tml_error;

/* Token bucket: `rate` tokens per second refill up to `burst`; a request costs `cost` tokens
 * (Binance request weight; 1 elsewhere). Pure arithmetic on a caller-supplied clock so it is
 * testable without sleeping. */
struct tml_ratelimit {
  double rate;      /* tokens per second; <= 0 disables limiting */
  double burst;     /* bucket size */
  double tokens;    /* current content; negative = reserved ahead */
  double last_s;    /* clock of the last update; < 0 until the first reserve */
  double paused_until_s; /* no request before this (after a 429 / ban) */
};

void tml_ratelimit_init(struct tml_ratelimit *rl, double rate_per_s, double burst);
/* Takes `cost` tokens at time now_s and returns how many milliseconds the caller must wait before
 * sending (0 when tokens were available). Waiting that long and then sending keeps the long-run
 * rate at or below `rate`. */
int64_t tml_ratelimit_reserve(struct tml_ratelimit *rl, double cost, double now_s);
/* Blocks the bucket until now_s + wait_ms and empties it (called after a rate-limit reply). */
void tml_ratelimit_pause(struct tml_ratelimit *rl, double now_s, int64_t wait_ms);

/* Capped exponential backoff with "equal jitter" (AWS Architecture Blog, "Exponential Backoff And
 * Jitter", 2015): d = min(cap, base * 2^attempt); wait = d/2 + uniform[0, d/2]. The generator is
 * splitmix64, seeded explicitly so tests are reproducible. */
struct tml_backoff {
  int64_t base_ms;
  int64_t cap_ms;
  uint64_t state;
};
void tml_backoff_init(struct tml_backoff *b, int64_t base_ms, int64_t cap_ms, uint64_t seed);
int64_t tml_backoff_next(struct tml_backoff *b, int attempt); /* attempt 0, 1, 2, ... */

struct tml_http_opts {
  long timeout_ms;          /* whole request; 0 = 30000 */
  long connect_timeout_ms;  /* 0 = 10000 */
  int max_retries;          /* retries after the first try; 0 = 6, negative = none */
  int64_t backoff_base_ms;  /* 0 = 500 */
  int64_t backoff_cap_ms;   /* 0 = 30000 */
  int64_t max_wait_ms;      /* longest single wait honoured (Retry-After, reset); 0 = 300000.
                               A longer demand fails with TML_ERATELIMIT instead of hanging. */
  uint64_t seed;            /* jitter seed; 0 = derived from the clock */
  /* Sleep hook (tests record waits instead of sleeping); NULL = nanosleep. */
  void (*sleep_ms)(void *ctx, int64_t ms);
  void *sleep_ctx;
  bool quiet;               /* no warnings on retries (tests) */
  const char *proxy;        /* CURLOPT_PROXY ("http://host:3128", "socks5h://host:1080"); NULL or ""
                               = connect directly (libcurl's proxy environment variables are never
                               consulted). Copied by tml_http_create. */
};

struct tml_http_response {
  long status;              /* HTTP status, 0 before a reply */
  struct tml_buf body;
  int64_t retry_after_ms;   /* Retry-After (seconds) in ms; -1 when absent */
  int64_t reset_at_ms;      /* X-Bapi-Limit-Reset-Timestamp (epoch ms); -1 when absent */
  int64_t date_ms;          /* Date header (second resolution); -1 when absent */
  long used_weight;         /* X-MBX-USED-WEIGHT-1M; -1 when absent */
};

void tml_http_response_init(struct tml_http_response *r);
void tml_http_response_release(struct tml_http_response *r);

/* What the caller makes of a reply. */
enum tml_http_verdict {
  TML_HTTP_OK = 0,       /* done: hand the reply back */
  TML_HTTP_TRANSIENT,    /* retry with backoff (5xx, truncated body, server busy) */
  TML_HTTP_RATE_LIMITED, /* wait *wait_ms (or backoff when <= 0), pause the bucket, retry */
  TML_HTTP_FAIL          /* permanent: classify has set err */
};
typedef enum tml_http_verdict (*tml_http_classify_fn)(void *ctx, const struct tml_http_response *r,
                                                      int64_t *wait_ms, struct tml_error *err);

struct tml_http_stats {
  size_t requests;       /* attempts sent */
  size_t retries;        /* attempts after a failure */
  size_t rate_limited;   /* replies classified TML_HTTP_RATE_LIMITED */
  int64_t waited_ms;     /* total time slept (buckets + backoff + Retry-After) */
};

struct tml_http; /* opaque: one curl handle (keep-alive), options, stats */

/* Creates a client; opts may be NULL for defaults. Caller frees with tml_http_destroy(). */
int tml_http_create(const struct tml_http_opts *opts, struct tml_http **out, struct tml_error *err);
void tml_http_destroy(struct tml_http *h); /* accepts NULL */

/* One attempt, no retry: fills resp (status, body, headers). Transport failures return TML_ENET
 * (with the host named and `trademl data import` suggested when the host cannot be reached) or
 * TML_ETIMEDOUT. An HTTP error status is not a failure here. */
int tml_http_get_once(struct tml_http *h, const char *url, struct tml_http_response *resp,
                      struct tml_error *err);

/* GET with pacing and retries: waits on `bucket` (may be NULL) for `cost` tokens, sends, asks
 * `classify` (NULL = 2xx ok, 429/418 rate limited, 5xx transient, other fail), and retries
 * transient errors, timeouts and connection resets with backoff, rate limits after the wait the
 * server asked for. Returns 0 with resp filled, TML_ERATELIMIT / TML_ENET / TML_ETIMEDOUT /
 * TML_EEXCHANGE after the retries are spent, or what classify set on TML_HTTP_FAIL. */
int tml_http_get(struct tml_http *h, const char *url, struct tml_ratelimit *bucket, double cost,
                 tml_http_classify_fn classify, void *ctx, struct tml_http_response *resp,
                 struct tml_error *err);

void tml_http_get_stats(const struct tml_http *h, struct tml_http_stats *out);
/* "api.bybit.com" from "https://api.bybit.com/v5/..." into out (for messages). */
void tml_http_host(const char *url, char *out, size_t outsz);

#endif
