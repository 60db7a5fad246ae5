/* Universe discovery on top of the exchange clients: filter the instrument list to trading
 * symbols of one quote coin and rank them by 24 h turnover or volume. */
#include "trademl/universe.h"
#include "util/common.h"

#include <strings.h>

#include "trademl/error.h"

int tml_universe_parse_rank(const char *s, enum tml_universe_rank *out, struct tml_error *err) {
  if (s && strcmp(s, "turnover") == 0)
    *out = TML_RANK_TURNOVER;
  else if (s && strcmp(s, "volume") == 0)
    *out = TML_RANK_VOLUME;
  else
    return tml_error_set(err, TML_EINVAL, "unknown ranking '%s': use turnover or volume", s ? s : "");
  return 0;
}

bool tml_universe_is_trading(const char *status) {
  return strcasecmp(status, "Trading") == 0 || strcmp(status, "normal") == 0 ||
         strcmp(status, "online") == 0;
}

static double rank_value(const struct tml_instrument *it, enum tml_universe_rank by) {
  double v = by == TML_RANK_VOLUME ? it->volume_24h : it->turnover_24h;
  return isnan(v) ? -1.0 : v;
}

static bool ranks_before(const struct tml_instrument *a, const struct tml_instrument *b,
                         enum tml_universe_rank by) {
  double x = rank_value(a, by), y = rank_value(b, by);
  if (x != y)
    return x > y;
  return strcmp(a->symbol, b->symbol) < 0;
}

/* Insertion sort with the ranking as context (qsort has none in C11 and a global would not be
 * thread-safe). A market lists at most a few thousand symbols. */
static void sort_ranked(struct tml_instrument *v, size_t n, enum tml_universe_rank by) {
  for (size_t i = 1; i < n; i++) {
    struct tml_instrument x = v[i];
    size_t j = i;
    while (j > 0 && ranks_before(&x, &v[j - 1], by)) {
      v[j] = v[j - 1];
      j--;
    }
    v[j] = x;
  }
}

int tml_universe_discover(struct tml_exchange *ex, const struct tml_universe_opts *o,
                          struct tml_instruments *out, struct tml_error *err) {
  int rc = tml_exchange_instruments(ex, out, err);
  if (rc)
    return rc;
  size_t w = 0;
  for (size_t i = 0; i < out->len; i++) {
    const struct tml_instrument *it = &out->items[i];
    if (!o->include_inactive && !tml_universe_is_trading(it->status))
      continue;
    if (o->quote && *o->quote && strcasecmp(it->quote, o->quote) != 0)
      continue;
    out->items[w++] = *it;
  }
  out->len = w;
  sort_ranked(out->items, out->len, o->by);
  if (o->top && out->len > o->top)
    out->len = o->top;
  return 0;
}
