/* Internal to src/lib/live: the tables behind the predictions store and the persisted status (through
 * the backend table of live_backend.h), and the helpers the loop shares with them. */
#ifndef TML_LIVE_INTERNAL_H
#define TML_LIVE_INTERNAL_H

#include "trademl/live.h"

struct tml_config;
struct tml_exchange_config;

/* Opens the live tables' backend of store (live_backend.h): creates the tables when missing (SQLite) or
 * migrates them (PostgreSQL); idempotent, and cheap once the store handle has it. */
int tml__live_schema(struct tml_store *store, struct tml_error *err);

/* Upserts the loop row and every symbol row of st in one transaction. */
int tml__live_status_save(struct tml_store *store, const struct tml_live_status *st, struct tml_error *err);

/* Open time of the newest stored prediction of symbol; -1 when none. */
int tml__live_last_predicted(struct tml_store *store, const char *strategy, const char *symbol, int64_t interval_ms,
                             int64_t *candle_ms, struct tml_error *err);
/* Unresolved predictions of symbol with candle_ms <= max_candle_ms, oldest first (at most limit). */
int tml__live_unresolved(struct tml_store *store, const char *strategy, const char *symbol, int64_t interval_ms,
                         int64_t max_candle_ms, size_t limit, struct tml_live_prediction **out, size_t *n,
                         struct tml_error *err);
/* The newest `limit` resolved predictions of symbol made by model_id, oldest first. */
int tml__live_recent_resolved(struct tml_store *store, const char *strategy, const char *symbol, int64_t interval_ms,
                              int64_t model_id, size_t limit, struct tml_live_prediction **out, size_t *n,
                              struct tml_error *err);
/* Symbol rows persisted for strategy/interval (the loop's previous run), ordered by symbol. */
int tml__live_symbols_load(struct tml_store *store, const char *strategy, int64_t interval_ms,
                           struct tml_live_symbol **out, size_t *n, struct tml_error *err);

/* Label spec and thresholds of a model set from its metadata.json text (labels.spec, labels.thresholds). */
int tml__live_model_labels(const char *metadata, struct tml_label_spec *spec, struct tml_label_thresholds *th,
                           struct tml_error *err);

/* The exchange client settings of the live loop: name/market from the live options, base URL from the
 * configuration (exchanges.<name>.base_url; binance futures: exchanges.binance_futures.base_url). The one
 * place that maps configuration to a client; strings point into cfg or name/market. */
int tml__live_exchange_config(const struct tml_config *cfg, const char *name, const char *market,
                              struct tml_exchange_config *out, struct tml_error *err);

#endif
