/* Universe discovery: the tradable symbols of an exchange market with their listing dates,
 * filtered by quote coin and ranked by 24 h turnover or volume. */
#ifndef TML_UNIVERSE_H
#define TML_UNIVERSE_H

#include <stdbool.h>
#include <stddef.h>

#include "trademl/exchange.h"

struct tml_error;

enum tml_universe_rank { TML_RANK_TURNOVER = 0, TML_RANK_VOLUME };

struct tml_universe_opts {
  const char *quote;          /* keep symbols quoted in this coin ("USDT"); NULL = all */
  size_t top;                 /* keep the first `top` after ranking; 0 = all */
  enum tml_universe_rank by;  /* turnover = 24 h quote volume, volume = 24 h base volume */
  bool include_inactive;      /* keep symbols that are not trading (pre-launch, halted) */
};

/* "turnover" or "volume"; TML_EINVAL otherwise (err lists both). */
int tml_universe_parse_rank(const char *s, enum tml_universe_rank *out, struct tml_error *err);
/* Whether an exchange's status string means "trading now" (Bybit Trading, Bitget normal/online,
 * Binance TRADING). */
bool tml_universe_is_trading(const char *status);

/* Asks ex for its instruments and tickers and fills out (initialised by the caller) with the
 * trading symbols that match, in descending order of the ranking value (unknown values last, ties
 * by symbol). Returns 0 or the exchange's error. */
int tml_universe_discover(struct tml_exchange *ex, const struct tml_universe_opts *o,
                          struct tml_instruments *out, struct tml_error *err);

#endif
