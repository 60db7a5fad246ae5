/* Exchange market-data clients: one interface (struct tml_exchange_ops) implemented by Bybit v5,
 * Bitget v2 and Binance (spot and USDT-M futures), selected by name. Public market data only: no
 * keys are taken, sent or logged. Every candle handed out is closed (the still-open candle is
 * dropped by comparing with the server's clock), in ascending open time, without duplicates. */
#ifndef TML_EXCHANGE_H
#define TML_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/http.h"
#include "trademl/series.h"

struct tml_error;
struct tml_exchange; /* opaque handle: ops + market + base URL + HTTP client + rate buckets */

struct tml_exchange_config {
  const char *name;        /* "bybit" | "bitget" | "binance" */
  const char *market;      /* NULL = default. bybit: spot|linear|inverse (linear);
                              bitget: USDT-FUTURES|COIN-FUTURES|USDC-FUTURES|SPOT (USDT-FUTURES);
                              binance: spot|futures (spot) */
  const char *base_url;    /* NULL or "" = the public host (the environment is never read) */
  struct tml_http_opts http; /* zero = defaults */
  double rate_per_s;       /* 0 = the per-exchange default (well inside the documented budget) */
};

struct tml_config;
/* Fills *out for exchange `name` and `market` (NULL = the exchange's default) from the
 * configuration: exchanges.<name>.base_url (binance futures: exchanges.binance_futures.base_url),
 * exchanges.http.timeout_ms, .retries, .backoff_ms, .backoff_cap_ms, .rate and .proxy. The name
 * may also be "binance_futures" (data.exchange's spelling): out->name is then "binance" and the
 * market "futures". cfg NULL = the built-in defaults (public hosts, no proxy). Strings in *out are
 * borrowed from cfg and `market` (valid until cfg is freed or the keys are set again); the market
 * itself is validated by tml_exchange_open. Unknown name: TML_EINVAL listing the exchanges. */
int tml_exchange_config_from(const struct tml_config *cfg, const char *name, const char *market,
                             struct tml_exchange_config *out, struct tml_error *err);

/* One tradable symbol from universe discovery. */
struct tml_instrument {
  char symbol[TML_SYMBOL_MAX];
  char base[24];
  char quote[24];
  char status[24];          /* as the exchange spells it: Trading, normal, online, TRADING */
  int64_t launch_ms;        /* listing / onboard time; -1 when the exchange does not say */
  double turnover_24h;      /* 24 h quote volume; NAN when unknown */
  double volume_24h;        /* 24 h base volume; NAN when unknown */
};

struct tml_instruments {
  struct tml_instrument *items;
  size_t len, cap;
};
void tml_instruments_init(struct tml_instruments *l);
void tml_instruments_release(struct tml_instruments *l);
int tml_instruments_push(struct tml_instruments *l, const struct tml_instrument *it);

/* The per-exchange vtable. Implementations live in exchange_<name>.c; fields are documented in
 * src/lib/data/exchange_internal.h. Callers use the tml_exchange_* functions below. */
struct tml_exchange_ops {
  const char *name;
  const char *markets;         /* "spot, linear, inverse": valid market names for messages */
  const char *default_market;
  /* Validates ex->market, fills base URL and rate buckets. */
  int (*setup)(struct tml_exchange *ex, struct tml_error *err);
  /* Exchange spelling of an interval ("15", "15m", "1H"...), or NULL when unsupported. */
  const char *(*interval_code)(const struct tml_exchange *ex, int64_t interval_ms);
  /* Largest window (in candles) one call of `klines` may be given for a window starting at
   * start_ms when the server clock reads now_ms. */
  size_t (*window_candles)(const struct tml_exchange *ex, int64_t interval_ms, int64_t start_ms,
                           int64_t now_ms);
  /* Candles with open time in [start_ms, end_ms] (aligned, at most window_candles of them),
   * appended to out unsorted; *reply_time_ms = the reply's server time or -1. */
  int (*klines)(struct tml_exchange *ex, const char *symbol, int64_t interval_ms, int64_t start_ms,
                int64_t end_ms, struct tml_candles *out, int64_t *reply_time_ms,
                struct tml_error *err);
  int (*server_time)(struct tml_exchange *ex, int64_t *now_ms, struct tml_error *err);
  /* Tradable symbols with launch dates and 24 h turnover/volume where the exchange gives them. */
  int (*instruments)(struct tml_exchange *ex, struct tml_instruments *out, struct tml_error *err);
};

/* The implementation for a name, or NULL. */
const struct tml_exchange_ops *tml_exchange_find(const char *name);
/* "bybit, bitget, binance" */
const char *tml_exchange_names(void);

/* Opens a client. Unknown exchange or market fail with TML_EINVAL listing the valid ones.
 * Caller closes with tml_exchange_close(). */
int tml_exchange_open(const struct tml_exchange_config *cfg, struct tml_exchange **out,
                      struct tml_error *err);
void tml_exchange_close(struct tml_exchange *ex); /* accepts NULL */

const char *tml_exchange_name(const struct tml_exchange *ex);
const char *tml_exchange_market(const struct tml_exchange *ex);
const char *tml_exchange_base_url(const struct tml_exchange *ex);
/* HTTP counters of this client (requests, retries, rate-limited replies, time waited). */
void tml_exchange_http_stats(const struct tml_exchange *ex, struct tml_http_stats *out);

/* Fails with TML_EINVAL naming the supported intervals when the exchange has no such candle. */
int tml_exchange_check_interval(const struct tml_exchange *ex, int64_t interval_ms,
                                struct tml_error *err);
/* The exchange clock (Bybit /v5/market/time, Binance /api/v3/time, Bitget /api/v2/public/time). */
int tml_exchange_server_time(struct tml_exchange *ex, int64_t *now_ms, struct tml_error *err);

/* One page: closed candles with open time in [start_ms, end_ms] (start rounded up, end down to
 * the interval), ascending, de-duplicated; out is re-initialised for symbol/interval. The caller
 * keeps the window within tml_exchange_window(). now_ms (the server clock, or <= 0 to use the
 * reply's time) decides which candle is still open. */
int tml_exchange_klines(struct tml_exchange *ex, const char *symbol, int64_t interval_ms,
                        int64_t start_ms, int64_t end_ms, int64_t now_ms, struct tml_candles *out,
                        struct tml_error *err);
size_t tml_exchange_window(const struct tml_exchange *ex, int64_t interval_ms, int64_t start_ms,
                           int64_t now_ms);

/* Called once per fetched page (in ascending window order) by tml_exchange_fetch_range. A
 * non-zero return stops the fetch and is returned. `page` is borrowed for the call. */
typedef int (*tml_page_fn)(void *ctx, const struct tml_candles *page, int64_t window_start,
                           int64_t window_end, struct tml_error *err);

struct tml_range_stats {
  size_t pages;          /* requests that returned candles or were accepted empty */
  size_t candles;        /* candles handed to the callback */
  size_t empty_windows;  /* windows still empty after one retry, after the first candle */
  int64_t first_ms, last_ms; /* first and last candle seen; -1 when none */
};

/* Walks [from_ms, to_ms] forward in explicit windows (start and end sent on every request),
 * calling `page` for each. to_ms is clamped to the last closed candle by the server clock
 * (now_ms > 0 is used as that clock, else it is asked for). An empty window after candles were
 * seen is asked again once (exchanges return spurious empty pages); leading empty windows are
 * normal (the symbol did not trade yet). stats may be NULL. */
int tml_exchange_fetch_range(struct tml_exchange *ex, const char *symbol, int64_t interval_ms,
                             int64_t from_ms, int64_t to_ms, int64_t now_ms, tml_page_fn page,
                             void *ctx, struct tml_range_stats *stats, struct tml_error *err);

/* Tradable symbols (see struct tml_instrument); out must be initialised. */
int tml_exchange_instruments(struct tml_exchange *ex, struct tml_instruments *out,
                             struct tml_error *err);

#endif
