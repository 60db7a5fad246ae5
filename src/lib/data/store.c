/* The candle store: argument checks and dispatch to a backend (store_backend.h): the SQLite file
 * (store_sqlite.c) or PostgreSQL (store_pg.c). */
#include "trademl/store.h"
#include "data/store_backend.h"
#include "util/common.h"

#include "trademl/config.h"
#include "trademl/db.h"
#include "trademl/error.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"

static int check_series(const char *symbol, int64_t interval_ms, struct tml_error *err) {
  if (!symbol || !tml_symbol_valid(symbol))
    return tml_error_set(err, TML_EINVAL, "invalid symbol '%s' (1-32 of A-Z 0-9 - _, e.g. BTCUSDT)",
                         symbol ? symbol : "(null)");
  if (!tml_interval_name(interval_ms))
    return tml_error_set(err, TML_EINVAL, "unsupported interval of %" PRId64 " ms (valid: %s)", interval_ms,
                         tml_interval_list());
  return 0;
}

int tml__store_conflict(const char *symbol, int64_t interval_ms, int64_t open_time, const double stored[5],
                        const double fresh[5], struct tml_error *err) {
  char ts[32];
  tml_time_format(open_time, ts, sizeof(ts));
  return tml_error_set(err, TML_ECONFLICT,
                       "%s %s candle at %s is already stored with different values: stored o=%.15g h=%.15g "
                       "l=%.15g c=%.15g v=%.15g, new o=%.15g h=%.15g l=%.15g c=%.15g v=%.15g "
                       "(nothing was written; use --replace to overwrite)",
                       symbol, tml_interval_name(interval_ms), ts, stored[0], stored[1], stored[2], stored[3],
                       stored[4], fresh[0], fresh[1], fresh[2], fresh[3], fresh[4]);
}

/* --- the public API: argument checks, then the backend ---------------------------------------- */

struct tml_store {
  const struct tml__store_backend *be;
  void *db;
  char *location;            /* as opened: a PostgreSQL URL may hold a password, never printed */
  void *ext;                 /* tml__store_ext: state a higher module keeps with this handle */
  void (*ext_free)(void *ext);
};

int tml_store_open(const char *location, struct tml_store **out, struct tml_error *err) {
  *out = NULL;
  struct tml_store *s = calloc(1, sizeof(*s));
  if (!s || !(s->location = strdup(location ? location : ""))) {
    free(s);
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the candle store");
  }
  s->be = tml_db_kind_of(location) == TML_DB_POSTGRES ? &tml__store_pg : &tml__store_sqlite;
  int rc = s->be->open(location, &s->db, err);
  if (rc) {
    free(s->location);
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void tml_store_close(struct tml_store *s) {
  if (!s)
    return;
  if (s->ext_free) /* first: it may borrow the store's connection */
    s->ext_free(s->ext);
  s->be->close(s->db);
  memset(s->location, 0, strlen(s->location)); /* the password goes with the handle */
  free(s->location);
  free(s);
}

const char *tml__store_location(const struct tml_store *s) { return s->location; }

void *tml__store_ext(struct tml_store *s) { return s->ext; }

void tml__store_set_ext(struct tml_store *s, void *ext, void (*free_fn)(void *ext)) {
  if (s->ext_free)
    s->ext_free(s->ext);
  s->ext = ext;
  s->ext_free = free_fn;
}

const char *tml_store_backend(const struct tml_store *s) { return s ? s->be->name : "none"; }

int tml_store_ping(struct tml_store *s, struct tml_error *err) { return s->be->ping(s->db, err); }

struct sqlite3 *tml_store_db(struct tml_store *s) { return s && s->be->sqlite ? s->be->sqlite(s->db) : NULL; }

int tml_store_set_memory(struct tml_store *s, int64_t cache_mib, int64_t mmap_mib, struct tml_error *err) {
  return s->be->set_memory ? s->be->set_memory(s->db, cache_mib, mmap_mib, err) : 0;
}

int tml_store_open_resident(const char *db_path, const struct tml_config *cfg, struct tml_store **out,
                            struct tml_error *err) {
  int rc = tml_store_open(db_path, out, err);
  if (!rc && (rc = tml_store_set_memory(*out, tml_config_int(cfg, "data.resident_cache_mib"),
                                        tml_config_int(cfg, "data.resident_mmap_mib"), err))) {
    tml_store_close(*out);
    *out = NULL;
  }
  return rc;
}

int tml_store_put(struct tml_store *s, const struct tml_candles *c, bool replace, struct tml_put_stats *stats,
                  struct tml_error *err) {
  int rc = check_series(c->symbol, c->interval_ms, err);
  return rc ? rc : s->be->put(s->db, c, replace, stats, err);
}

int tml_store_load(struct tml_store *s, const char *symbol, int64_t interval_ms, int64_t from_ms, int64_t to_ms,
                   struct tml_candles *out, struct tml_error *err) {
  char sym[TML_SYMBOL_MAX];
  tml_candles_init(out, NULL, interval_ms);
  if (!symbol || tml_symbol_normalize(symbol, sym, sizeof(sym)) != 0)
    return tml_error_set(err, TML_EINVAL, "invalid symbol '%s' (1-32 of A-Z 0-9 - _, e.g. BTCUSDT)",
                         symbol ? symbol : "(null)");
  int rc = check_series(sym, interval_ms, err);
  if (rc)
    return rc;
  snprintf(out->symbol, sizeof(out->symbol), "%s", sym);
  return s->be->load(s->db, sym, interval_ms, from_ms, to_ms, out, err);
}

int tml_store_list(struct tml_store *s, struct tml_series_info **out, size_t *n, struct tml_error *err) {
  return s->be->list(s->db, out, n, err);
}

int tml_store_delete(struct tml_store *s, const char *symbol, int64_t interval_ms, struct tml_error *err) {
  char sym[TML_SYMBOL_MAX];
  if (!symbol || tml_symbol_normalize(symbol, sym, sizeof(sym)) != 0)
    return tml_error_set(err, TML_EINVAL, "invalid symbol '%s'", symbol ? symbol : "(null)");
  int rc = check_series(sym, interval_ms, err);
  return rc ? rc : s->be->remove(s->db, sym, interval_ms, err);
}

int tml_store_delete_range(struct tml_store *s, const char *symbol, int64_t interval_ms, int64_t from_ms,
                           int64_t to_ms, bool dry_run, struct tml_delete_stats *stats, struct tml_error *err) {
  char sym[TML_SYMBOL_MAX];
  if (!symbol || tml_symbol_normalize(symbol, sym, sizeof(sym)) != 0)
    return tml_error_set(err, TML_EINVAL, "invalid symbol '%s' (1-32 of A-Z 0-9 - _, e.g. BTCUSDT)",
                         symbol ? symbol : "(null)");
  int rc = check_series(sym, interval_ms, err);
  if (rc)
    return rc;
  if (from_ms > to_ms)
    return tml_error_set(err, TML_EINVAL, "cannot delete %s %s candles: the range starts after it ends", sym,
                         tml_interval_name(interval_ms));
  return s->be->remove_range(s->db, sym, interval_ms, from_ms, to_ms, dry_run, stats, err);
}

int tml__store_source_get(struct tml_store *s, const char *symbol, int64_t interval_ms, struct tml_fetch_source *src,
                          bool *found, struct tml_error *err) {
  return s->be->source_get(s->db, symbol, interval_ms, src, found, err);
}

int tml__store_source_put(struct tml_store *s, const struct tml_fetch_source *src, int64_t now_ms,
                          struct tml_error *err) {
  return s->be->source_put(s->db, src, now_ms, err);
}

int tml__store_source_list(struct tml_store *s, struct tml_fetch_source **out, size_t *n, struct tml_error *err) {
  return s->be->source_list(s->db, out, n, err);
}
