/* Fetching candles from an exchange into the candle store, incrementally and resumably: only the
 * ranges the store lacks are requested (leading, trailing and interior gaps), every page is stored
 * in its own transaction (an interrupted fetch resumes where it stopped and never duplicates), and
 * the exchange each series came from is recorded so `sync` can bring them all up to date. */
#ifndef TML_FETCH_H
#define TML_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/exchange.h"
#include "trademl/series.h"

struct tml_config;
struct tml_error;
struct tml_store;

struct tml_fetch_progress {
  const char *symbol;
  int64_t interval_ms;
  size_t fetched;    /* candles received so far in this call */
  size_t expected;   /* candles the missing ranges could hold at most */
  double elapsed_s;
  double eta_s;      /* < 0 until it can be estimated */
};
typedef void (*tml_fetch_progress_fn)(void *ctx, const struct tml_fetch_progress *p);

struct tml_fetch_opts {
  int64_t from_ms;   /* first open time wanted */
  int64_t to_ms;     /* last open time wanted; INT64_MAX = the last closed candle */
  int64_t now_ms;    /* server clock; <= 0 = ask the exchange */
  tml_fetch_progress_fn progress; /* called after every page; may be NULL */
  void *progress_ctx;
};

struct tml_fetch_result {
  int64_t server_now_ms;
  int64_t from_ms, to_ms;   /* the range actually considered (aligned, clamped to closed) */
  size_t ranges;            /* missing ranges requested (after merging nearby gaps) */
  size_t requests;          /* HTTP requests for candles (incl. retries; not the clock) */
  size_t fetched;           /* candles received */
  size_t inserted;          /* new in the store */
  size_t unchanged;         /* received but already stored identically */
  size_t empty_windows;     /* windows the exchange had no candles for, after data began */
  int64_t listed_ms;        /* first candle the exchange has (when the range began before it);
                               -1 unknown */
  size_t stored_rows;       /* rows of the series in the store afterwards */
  int64_t stored_first_ms, stored_last_ms;
};

/* Fetches symbol/interval from ex into the store for [o->from_ms, o->to_ms]. Ranges already
 * stored are not asked for again; a range before the symbol's first candle is remembered so it is
 * not walked again. Fails with TML_EINVAL when the range lies entirely in the future, with
 * TML_ECONFLICT when the series is recorded as coming from another exchange/market (venues are
 * never mixed in one series) or when the exchange disagrees with a stored candle, with TML_EDATA
 * when the exchange has no candles at all in the range. r may be NULL. */
int tml_fetch_series(struct tml_store *s, struct tml_exchange *ex, const char *symbol,
                     int64_t interval_ms, const struct tml_fetch_opts *o, struct tml_fetch_result *r,
                     struct tml_error *err);

/* Where a stored series came from (the fetch_sources table in the store's database). */
struct tml_fetch_source {
  char symbol[TML_SYMBOL_MAX];
  int64_t interval_ms;
  char exchange[16];
  char market[32];
  int64_t listed_ms;        /* first candle the exchange has; -1 unknown */
};

/* Every series fetched from an exchange, ordered by symbol and interval. Caller frees *out. */
int tml_fetch_sources(struct tml_store *s, struct tml_fetch_source **out, size_t *n,
                      struct tml_error *err);

/* Reported once per series by tml_fetch_sync: rc 0 with r filled, or the error. */
typedef void (*tml_sync_fn)(void *ctx, const struct tml_fetch_source *src,
                            const struct tml_fetch_result *r, int rc, const struct tml_error *err);

/* Brings every series in fetch_sources up to the last closed candle (filling interior gaps too),
 * one exchange client per exchange/market, each set up by tml_exchange_config_from(cfg, ...) (base
 * URL, HTTP options, proxy, rate; cfg NULL = the public hosts with default options). now_ms <= 0
 * asks each exchange for its clock. A failing series does not stop the others; returns 0 when all
 * succeeded, else the first error (err names the series). report may be NULL. */
int tml_fetch_sync(struct tml_store *s, const struct tml_config *cfg, int64_t now_ms,
                   tml_sync_fn report, void *ctx, struct tml_error *err);

#endif
