/* Options of the live loop from the live.* configuration keys (one vocabulary: the CLI flags of
 * `trademl live` set these keys), the universe spec, and the one mapping from configuration to an
 * exchange client. */
#include "trademl/live.h"
#include "util/common.h"

#include <strings.h>

#include "live/live_internal.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/exchange.h"
#include "trademl/parse.h"
#include "trademl/strategy.h"
#include "trademl/timeutil.h"

void tml_live_opts_init(struct tml_live_opts *o) {
  memset(o, 0, sizeof(*o));
  o->interval_ms = 15 * TML_MS_PER_MINUTE;
  snprintf(o->strategy, sizeof(o->strategy), "xgb5");
  o->universe = TML_LIVE_UNIVERSE_STORED;
  o->close_delay_ms = 2000;
  o->poll_ms = 1000;
  o->universe_refresh_ms = 60 * TML_MS_PER_MINUTE;
  o->coverage_check_ms = 300 * 1000;
  o->heartbeat_ms = 600 * 1000;
  o->model_max_age_ms = 0;
  o->drift_window = 200;
  o->drift_min_resolved = 50;
  o->drift_logloss_margin = 0.10;
  o->stall_intervals = 3;
  o->history_days = 730;
  o->submit_jobs = true;
  o->store_cache_mib = 2;
  o->store_mmap_mib = 0;
}

void tml_live_opts_release(struct tml_live_opts *o) {
  if (!o)
    return;
  free(o->symbols);
  o->symbols = NULL;
  o->nsymbols = 0;
}

/* Appends one symbol (normalized) to o->symbols unless present. */
static int add_symbol(struct tml_live_opts *o, const char *raw, const char *where, struct tml_error *err) {
  char sym[TML_SYMBOL_MAX];
  if (tml_symbol_normalize(raw, sym, sizeof(sym)) != 0)
    return tml_error_set(err, TML_EINVAL, "%s: '%s' is not a symbol: use letters and digits like BTCUSDT", where, raw);
  for (size_t i = 0; i < o->nsymbols; i++)
    if (strcmp(o->symbols[i], sym) == 0)
      return 0;
  if (o->nsymbols >= TML_LIVE_MAX_SYMBOLS)
    return tml_error_set(err, TML_EINVAL, "%s: more than %d symbols", where, TML_LIVE_MAX_SYMBOLS);
  void *ns = realloc(o->symbols, (o->nsymbols + 1) * sizeof(*o->symbols));
  if (!ns)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  o->symbols = ns;
  snprintf(o->symbols[o->nsymbols++], TML_SYMBOL_MAX, "%s", sym);
  return 0;
}

int tml_live_universe_parse(const char *spec, struct tml_live_opts *o, struct tml_error *err) {
  free(o->symbols);
  o->symbols = NULL;
  o->nsymbols = 0;
  o->top = 0;
  while (*spec == ' ')
    spec++;
  if (*spec == '\0') {
    o->universe = TML_LIVE_UNIVERSE_STORED;
    return 0;
  }
  if (strcasecmp(spec, "all") == 0) {
    o->universe = TML_LIVE_UNIVERSE_ALL;
    return 0;
  }
  if (strncasecmp(spec, "top:", 4) == 0) {
    int64_t n = 0;
    if (tml_parse_int64_str(spec + 4, &n) != 0 || n < 1 || n > TML_LIVE_MAX_SYMBOLS)
      return tml_error_set(err, TML_EINVAL,
                           "live.universe: '%s' does not parse: top:N needs a whole number N between 1 and %d "
                           "(e.g. top:50)",
                           spec, TML_LIVE_MAX_SYMBOLS);
    o->universe = TML_LIVE_UNIVERSE_TOP;
    o->top = (size_t)n;
    return 0;
  }
  if (strchr(spec, ':'))
    return tml_error_set(err, TML_EINVAL,
                         "live.universe: '%s' does not parse: use top:N, all, or a comma list of symbols "
                         "(BTCUSDT,ETHUSDT)",
                         spec);
  o->universe = TML_LIVE_UNIVERSE_LIST;
  const char *p = spec;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char item[64];
    while (len > 0 && *p == ' ') {
      p++;
      len--;
    }
    while (len > 0 && p[len - 1] == ' ')
      len--;
    if (len == 0 || len >= sizeof(item))
      return tml_error_set(err, TML_EINVAL,
                           "live.universe: '%s' does not parse: an empty or over-long item in the symbol list "
                           "(use top:N, all, or BTCUSDT,ETHUSDT)",
                           spec);
    memcpy(item, p, len);
    item[len] = '\0';
    int rc = add_symbol(o, item, "live.universe", err);
    if (rc)
      return rc;
    p = e ? e + 1 : p + strlen(p);
  }
  return 0;
}

int tml__live_exchange_config(const struct tml_config *cfg, const char *name, const char *market,
                              struct tml_exchange_config *out, struct tml_error *err) {
  /* One place builds an exchange client's settings from the configuration (exchange.h); the loop only
   * names the key a user would fix. */
  if (strcmp(name, "binance_futures") != 0 && !tml_exchange_find(name))
    return tml_error_set(err, TML_EINVAL, "live.exchange: unknown exchange '%s': use %s, binance_futures or none (--exchange)",
                         name, tml_exchange_names());
  return tml_exchange_config_from(cfg, name, market, out, err);
}

int tml_live_opts_from_config(const struct tml_config *cfg, struct tml_live_opts *o, struct tml_error *err) {
  tml_live_opts_init(o);
  int rc = 0;
  const char *ex = tml_config_get(cfg, "live.exchange");
  if (!ex || !*ex)
    ex = tml_config_get(cfg, "data.exchange");
  if (strcmp(ex, "none") != 0) {
    if (strlen(ex) >= sizeof(o->exchange))
      return tml_error_set(err, TML_EINVAL, "live.exchange: '%s' is too long", ex);
    snprintf(o->exchange, sizeof(o->exchange), "%s", ex);
  }
  const char *cat = tml_config_get(cfg, "live.category");
  if (cat && strlen(cat) >= sizeof(o->category))
    return tml_error_set(err, TML_EINVAL, "live.category: '%s' is too long", cat);
  snprintf(o->category, sizeof(o->category), "%s", cat ? cat : "");
  if (!o->exchange[0] && o->category[0])
    return tml_error_set(err, TML_EINVAL,
                         "live.category '%s' is set but live.exchange is none: give an exchange (--exchange) or drop "
                         "the category",
                         o->category);
  const char *iv = tml_config_get(cfg, "live.interval");
  if (!iv || !*iv)
    iv = tml_config_get(cfg, "data.interval");
  if ((rc = tml_interval_parse(iv, &o->interval_ms, err))) {
    tml_error_prefix(err, "live.interval");
    return rc;
  }
  snprintf(o->strategy, sizeof(o->strategy), "%s", tml_config_get(cfg, "model.strategy"));
  const struct tml_strategy *strat = NULL;
  if ((rc = tml_strategy_lookup(o->strategy, &strat, err))) {
    tml_error_prefix(err, "model.strategy");
    return rc;
  }
  /* Universe: live.universe or live.symbols (not both), else data.symbols, else what is stored. */
  const char *uni = tml_config_get(cfg, "live.universe");
  const char *items[TML_LIVE_MAX_SYMBOLS];
  size_t nlive = tml_config_list(cfg, "live.symbols", items, TML_LIVE_MAX_SYMBOLS);
  if (uni && *uni && nlive > 0)
    return tml_error_set(err, TML_EINVAL,
                         "live.symbols (--symbols) and live.universe (--universe '%s') contradict each other: give "
                         "one of them",
                         uni);
  if (nlive > TML_LIVE_MAX_SYMBOLS)
    return tml_error_set(err, TML_EINVAL, "live.symbols: more than %d symbols", TML_LIVE_MAX_SYMBOLS);
  if (uni && *uni) {
    if ((rc = tml_live_universe_parse(uni, o, err)))
      goto fail;
  } else if (nlive > 0) {
    o->universe = TML_LIVE_UNIVERSE_LIST;
    for (size_t i = 0; i < nlive && !rc; i++)
      rc = add_symbol(o, items[i], "live.symbols", err);
    if (rc)
      goto fail;
  } else {
    size_t nd = tml_config_list(cfg, "data.symbols", items, TML_LIVE_MAX_SYMBOLS);
    o->universe = nd ? TML_LIVE_UNIVERSE_LIST : TML_LIVE_UNIVERSE_STORED;
    for (size_t i = 0; i < nd && i < TML_LIVE_MAX_SYMBOLS && !rc; i++)
      rc = add_symbol(o, items[i], "data.symbols", err);
    if (rc)
      goto fail;
  }
  if (!o->exchange[0] && (o->universe == TML_LIVE_UNIVERSE_TOP || o->universe == TML_LIVE_UNIVERSE_ALL)) {
    rc = tml_error_set(err, TML_EINVAL,
                       "live.universe '%s' asks the exchange for its symbols but live.exchange is none: give an "
                       "exchange (--exchange bybit) or a symbol list (--symbols)",
                       uni);
    goto fail;
  }
  /* The exchange, market and interval must exist: open a client (no request is made) and ask it. */
  if (o->exchange[0]) {
    struct tml_exchange_config xc;
    struct tml_exchange *x = NULL;
    if ((rc = tml__live_exchange_config(cfg, o->exchange, o->category, &xc, err)))
      goto fail;
    if ((rc = tml_exchange_open(&xc, &x, err))) {
      tml_error_prefix(err, "live.exchange/live.category (--exchange/--category)");
      goto fail;
    }
    rc = tml_exchange_check_interval(x, o->interval_ms, err);
    if (!o->category[0])
      snprintf(o->category, sizeof(o->category), "%s", tml_exchange_market(x));
    tml_exchange_close(x);
    if (rc) {
      tml_error_prefix(err, "live.interval (--interval) on %s", o->exchange);
      goto fail;
    }
  }
  o->close_delay_ms = tml_config_int(cfg, "live.close_delay_seconds") * 1000;
  o->poll_ms = tml_config_int(cfg, "live.poll_ms");
  o->universe_refresh_ms = tml_config_int(cfg, "live.universe_refresh_minutes") * TML_MS_PER_MINUTE;
  o->coverage_check_ms = tml_config_int(cfg, "live.coverage_check_seconds") * 1000;
  o->heartbeat_ms = tml_config_int(cfg, "live.heartbeat_seconds") * 1000;
  int64_t age_h = tml_config_int(cfg, "live.model_max_age_hours");
  if (age_h < 0)
    age_h = tml_config_bool(cfg, "operations.model_rotation.enabled")
                ? 24 * tml_config_int(cfg, "operations.model_rotation.retrain_frequency_days")
                : 0;
  o->model_max_age_ms = age_h * TML_MS_PER_HOUR;
  o->stale_block = strcmp(tml_config_get(cfg, "live.stale_action"), "block") == 0;
  o->drift_window = (size_t)tml_config_int(cfg, "live.drift.window");
  o->drift_min_resolved = (size_t)tml_config_int(cfg, "live.drift.min_resolved");
  o->drift_logloss_margin = tml_config_double(cfg, "live.drift.logloss_margin");
  o->stall_intervals = (int)tml_config_int(cfg, "live.stall_intervals");
  o->store_cache_mib = tml_config_int(cfg, "data.resident_cache_mib");
  o->store_mmap_mib = tml_config_int(cfg, "data.resident_mmap_mib");
  o->history_days = (double)tml_config_int(cfg, "data.days");
  if (o->history_days <= 0)
    o->history_days = 730;
  if (o->drift_min_resolved > o->drift_window) {
    rc = tml_error_set(err, TML_EINVAL,
                       "live.drift.min_resolved (%zu) is larger than live.drift.window (%zu): drift could never be "
                       "flagged; lower the first or raise the second",
                       o->drift_min_resolved, o->drift_window);
    goto fail;
  }
  return 0;
fail:
  tml_live_opts_release(o);
  return rc;
}
