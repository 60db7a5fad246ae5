/* Internals shared by exchange.c and the per-exchange clients exchange_<name>.c: the handle, the
 * request-and-parse helper and JSON accessors that name the missing field. */
#ifndef TML_EXCHANGE_INTERNAL_H
#define TML_EXCHANGE_INTERNAL_H

#include <jansson.h>

#include "trademl/buf.h"
#include "trademl/exchange.h"
#include "trademl/http.h"

enum { TML_BUCKET_KLINES = 0, TML_BUCKET_OTHER = 1, TML_BUCKETS = 2 };

/* Where replies come from instead of the network (tml__exchange_set_reply_source). */
typedef int (*tml__reply_fn)(void *ctx, const char *url, struct tml_http_response *resp, struct tml_error *err);

struct tml_exchange {
  const struct tml_exchange_ops *ops;
  char market[32];             /* validated market / category / product type */
  char base_url[512];          /* no trailing slash */
  struct tml_http *http;
  struct tml_ratelimit buckets[TML_BUCKETS];
  double rate_per_s;           /* from the config; 0 = exchange default */
  int64_t clock_offset_ms;     /* server clock - local clock, from the last server_time call */
  bool clock_known;
  tml__reply_fn reply_fn;      /* NULL = HTTP; else every reply comes from it (fuzzing, tests) */
  void *reply_ctx;
};

/* Makes every later request of ex take its reply from fn (status and body filled by fn; one attempt,
 * no waiting, no retry: a reply that would be retried fails with the error it was classified with), so
 * the clients' reply parsing runs from memory. tests/fuzz/fuzz_exchange.c drives the three clients so. */
void tml__exchange_set_reply_source(struct tml_exchange *ex, tml__reply_fn fn, void *ctx);

/* Base URL for an exchange: explicit (non-empty), else fallback; trailing slashes dropped. */
void tml__exchange_set_base(struct tml_exchange *ex, const char *explicit_url, const char *fallback);
/* Rate buckets: klines and the rest, `rate` requests (or weight units) per second. */
void tml__exchange_set_rate(struct tml_exchange *ex, double klines_rate, double other_rate);

/* Exchange-specific reading of a reply: root is the parsed body or NULL when it is not JSON.
 * Returns the verdict; on TML_HTTP_FAIL sets err with the exchange's own message. */
typedef enum tml_http_verdict (*tml__classify_fn)(const struct tml_http_response *r, json_t *root,
                                                  int64_t *wait_ms, struct tml_error *err);

/* GET base_url + path_query through bucket, classified by classify, parsed as JSON. On success
 * *root is owned by the caller (json_decref). A 2xx reply that is not JSON (truncated, HTML) is
 * retried like a transient error, then fails with TML_EPARSE quoting its start. `what` names the
 * call in messages ("bybit kline BTCUSDT 15m"). */
int tml__exchange_get_json(struct tml_exchange *ex, int bucket, double cost, const char *path_query,
                           tml__classify_fn classify, const char *what, json_t **root,
                           struct tml_error *err);

/* JSON accessors: fail with TML_EPARSE "<what>: field '<name>' ..." when shape differs. */
int tml__json_field(json_t *obj, const char *name, json_type type, const char *what, json_t **out,
                    struct tml_error *err);
/* A number given as a JSON number or a numeric string ("26210.5"). */
int tml__json_num(json_t *v, const char *what, const char *field, double *out, struct tml_error *err);
int tml__json_i64(json_t *v, const char *what, const char *field, int64_t *out, struct tml_error *err);
/* Copies a string member into out ("" when missing or not a string). */
void tml__json_str(json_t *obj, const char *name, char *out, size_t outsz);

/* Instruments are kept sorted by symbol so reply rows can be matched with a binary search. */
void tml__instruments_sort(struct tml_instruments *out);
/* Fills turnover_24h / volume_24h of the known instruments from a 24h ticker array (rows of other
 * symbols are ignored); the exchanges differ only in the field names. TML_EPARSE naming the field. */
int tml__instruments_apply_tickers(struct tml_instruments *out, json_t *rows, const char *turnover_field,
                                   const char *volume_field, const char *what, struct tml_error *err);

/* Parses one kline row [ts, o, h, l, c, v, ...] (strings or numbers) and pushes it when its open
 * time lies in [lo, hi]. */
int tml__push_row(json_t *row, const char *what, size_t index, int64_t lo, int64_t hi,
                  struct tml_candles *out, struct tml_error *err);

extern const struct tml_exchange_ops tml__bybit_ops;
extern const struct tml_exchange_ops tml__bitget_ops;
extern const struct tml_exchange_ops tml__binance_ops;

#endif
