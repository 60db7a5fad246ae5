#include "test.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/import.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/db_pg.h"

#include <sqlite3.h>

#define M15 (15 * TML_MS_PER_MINUTE)

/* True when hay contains the n bytes at needle. */
static bool memmem_str(const char *hay, const char *needle, size_t n) {
  for (; *hay; hay++)
    if (strncmp(hay, needle, n) == 0)
      return true;
  return false;
}

/* A fresh store on the backend under test: SQLite, or PostgreSQL for the store_pg.* entries (same code). */
static struct tml_store *open_tmp(const char *name, char **dir_out) {
  char *location = tml_test_db_location(name);
  struct tml_store *s = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_store_open(location, &s, &err), &err);
  CHECK_STR(tml_store_backend(s), tml_test_db_is_pg() ? "postgresql" : "sqlite");
  free(location);
  if (dir_out)
    *dir_out = tml_test_tmpdir(name);
  return s;
}

static void fill(struct tml_candles *c, const char *sym, size_t n, int64_t t0) {
  tml_candles_init(c, sym, M15);
  for (size_t i = 0; i < n; i++) {
    double b = 100.0 + (double)i;
    tml_candles_push(c, t0 + (int64_t)i * M15, b, b + 2, b - 1, b + 1, 10.0 + (double)i);
  }
}

TEST(round_trip_and_list) {
  struct tml_store *s = open_tmp("store_rt", NULL);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_candles c, back;
  fill(&c, "BTCUSDT", 10, 1700000100000 - 1700000100000 % M15);
  struct tml_put_stats st;
  CHECK_OK(tml_store_put(s, &c, false, &st, &err), &err);
  CHECK_INT(st.inserted, 10);
  CHECK_INT(st.unchanged, 0);
  CHECK_OK(tml_store_load(s, "btc/usdt", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_STR(back.symbol, "BTCUSDT");
  CHECK_INT(back.len, 10);
  for (size_t i = 0; i < 10; i++) {
    CHECK_INT(back.open_time[i], c.open_time[i]);
    CHECK_NEAR(back.open[i], c.open[i], 0);
    CHECK_NEAR(back.high[i], c.high[i], 0);
    CHECK_NEAR(back.low[i], c.low[i], 0);
    CHECK_NEAR(back.close[i], c.close[i], 0);
    CHECK_NEAR(back.volume[i], c.volume[i], 0);
  }
  tml_candles_release(&back);
  /* from inclusive, to exclusive */
  CHECK_OK(tml_store_load(s, "BTCUSDT", M15, c.open_time[2], c.open_time[5], &back, &err), &err);
  CHECK_INT(back.len, 3);
  CHECK_INT(back.open_time[0], c.open_time[2]);
  tml_candles_release(&back);
  /* one end open (the PostgreSQL read leaves an open end out of its query) */
  CHECK_OK(tml_store_load(s, "BTCUSDT", M15, c.open_time[7], INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 3);
  CHECK_INT(back.open_time[0], c.open_time[7]);
  tml_candles_release(&back);
  CHECK_OK(tml_store_load(s, "BTCUSDT", M15, INT64_MIN, c.open_time[4], &back, &err), &err);
  CHECK_INT(back.len, 4);
  CHECK_INT(back.open_time[3], c.open_time[3]);
  tml_candles_release(&back);
  /* other interval: nothing */
  CHECK_OK(tml_store_load(s, "BTCUSDT", TML_MS_PER_HOUR, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 0);
  tml_candles_release(&back);

  struct tml_candles e;
  fill(&e, "ETHUSDT", 4, c.open_time[0]);
  CHECK_OK(tml_store_put(s, &e, false, NULL, &err), &err);
  struct tml_series_info *info;
  size_t n;
  CHECK_OK(tml_store_list(s, &info, &n, &err), &err);
  CHECK_INT(n, 2);
  CHECK_STR(info[0].symbol, "BTCUSDT");
  CHECK_INT(info[0].interval_ms, M15);
  CHECK_INT(info[0].rows, 10);
  CHECK_INT(info[0].first_ms, c.open_time[0]);
  CHECK_INT(info[0].last_ms, c.open_time[9]);
  CHECK_STR(info[1].symbol, "ETHUSDT");
  CHECK_INT(info[1].rows, 4);
  free(info);
  CHECK_OK(tml_store_delete(s, "ETHUSDT", M15, &err), &err);
  CHECK_OK(tml_store_list(s, &info, &n, &err), &err);
  CHECK_INT(n, 1);
  free(info);
  tml_candles_release(&c);
  tml_candles_release(&e);
  tml_store_close(s);
}

TEST(idempotent_conflict_replace) {
  struct tml_store *s = open_tmp("store_conflict", NULL);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_candles c;
  int64_t t0 = 1704067200000; /* 2024-01-01T00:00:00Z */
  fill(&c, "SOLUSDT", 5, t0);
  struct tml_put_stats st;
  CHECK_OK(tml_store_put(s, &c, false, &st, &err), &err);
  CHECK_OK(tml_store_put(s, &c, false, &st, &err), &err);
  CHECK_INT(st.inserted, 0);
  CHECK_INT(st.unchanged, 5);
  CHECK_INT(st.replaced, 0);

  /* A batch of 3 new candles plus one conflicting candle: nothing of it may be written. */
  struct tml_candles d;
  fill(&d, "SOLUSDT", 8, t0);
  d.close[2] = 102.5; /* stored 103 */
  tml_error_init(&err);
  CHECK_INT(tml_store_put(s, &d, false, &st, &err), TML_ECONFLICT);
  CHECK_CONTAINS(err.msg, "SOLUSDT 15m candle at 2024-01-01T00:30:00Z is already stored with different values");
  CHECK_CONTAINS(err.msg, "stored o=102 h=104 l=101 c=103 v=12");
  CHECK_CONTAINS(err.msg, "new o=102 h=104 l=101 c=102.5 v=12");
  CHECK_CONTAINS(err.msg, "--replace");
  struct tml_candles back;
  CHECK_OK(tml_store_load(s, "SOLUSDT", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 5);
  CHECK_NEAR(back.close[2], 103, 0);
  tml_candles_release(&back);

  tml_error_init(&err);
  CHECK_OK(tml_store_put(s, &d, true, &st, &err), &err);
  CHECK_INT(st.inserted, 3);
  CHECK_INT(st.unchanged, 4);
  CHECK_INT(st.replaced, 1);
  CHECK_OK(tml_store_load(s, "SOLUSDT", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 8);
  CHECK_NEAR(back.close[2], 102.5, 0);
  tml_candles_release(&back);
  tml_candles_release(&c);
  tml_candles_release(&d);
  tml_store_close(s);
}

TEST(failed_import_writes_nothing) {
  char *dir;
  struct tml_store *s = open_tmp("store_failimport", &dir);
  char path[4096];
  snprintf(path, sizeof(path), "%s/bad.csv", dir);
  FILE *f = fopen(path, "w");
  fputs("open_time,open,high,low,close,volume\n"
        "1704067200000,1,2,0.5,1.5,10\n"
        "1704068100000,1,2,0.5,1.5,10\n"
        "1704069000000,1,0.4,0.5,1.5,10\n",
        f);
  fclose(f);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_candles c;
  struct tml_import_opts o = {.symbol = "BTCUSDT", .interval_ms = M15};
  CHECK_INT(tml_import_file(path, &o, &c, NULL, &err), TML_EPARSE);
  CHECK_INT(c.len, 0);
  /* The CLI only stores after a successful parse; an empty put after the failure must leave the
   * store empty as well. */
  struct tml_series_info *info;
  size_t n = 99;
  CHECK_OK(tml_store_list(s, &info, &n, &err), &err);
  CHECK_INT(n, 0);
  CHECK(info == NULL);
  tml_candles_release(&c);
  tml_store_close(s);
  free(dir);
}

TEST(wal_and_validation) {
  struct tml_store *s = open_tmp("store_wal", NULL);
  if (!tml_test_db_is_pg()) {
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(tml_store_db(s), "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
  } else {
    CHECK(tml_store_db(s) == NULL); /* no SQLite connection to share */
  }
  struct tml_error err;
  tml_error_init(&err);
  struct tml_candles c;
  fill(&c, "BTC'; DROP TABLE candles;--", 1, 0);
  CHECK_INT(tml_store_put(s, &c, false, NULL, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "invalid symbol");
  tml_candles_release(&c);
  fill(&c, "BTCUSDT", 1, 0);
  c.interval_ms = 7 * TML_MS_PER_MINUTE;
  tml_error_init(&err);
  CHECK_INT(tml_store_put(s, &c, false, NULL, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "unsupported interval of 420000 ms");
  tml_candles_release(&c);
  tml_error_init(&err);
  CHECK_INT(tml_store_load(s, "../etc", M15, INT64_MIN, INT64_MAX, &c, &err), TML_EINVAL);
  tml_candles_release(&c);
  tml_store_close(s);

  struct tml_store *s2 = NULL;
  tml_error_init(&err);
  if (!tml_test_db_is_pg()) {
    CHECK_INT(tml_store_open("/nonexistent-dir/x/trademl.db", &s2, &err), TML_EDB);
    CHECK_CONTAINS(err.msg, "cannot open candle store '/nonexistent-dir/x/trademl.db'");
  } else {
    /* A database that does not exist on a server that does: named, with the fix. */
    char *url = tml_test_pg_url("url");
    char bad[4200];
    snprintf(bad, sizeof(bad), "%.*s/no_such_db", (int)(strrchr(url, '/') - url), url);
    CHECK_INT(tml_store_open(bad, &s2, &err), TML_EDB);
    CHECK_CONTAINS(err.msg, "database \"no_such_db\" does not exist");
    CHECK_CONTAINS(err.msg, "createdb");
    const char *pw = strchr(strstr(url, "://") + 3, ':') + 1; /* "<password>@127.0.0.1:..." */
    CHECK(strchr(pw, '@') != NULL);
    CHECK(!strstr(err.msg, pw) && !memmem_str(err.msg, pw, (size_t)(strchr(pw, '@') - pw)));
    CHECK_CONTAINS(err.msg, "trademl:********@127.0.0.1");
    free(url);
  }
  CHECK(s2 == NULL);
}

TEST(delete_range_dry_run_and_bounds) {
  struct tml_store *s = open_tmp("store_delrange", NULL);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_candles c, e, back;
  int64_t t0 = 1704067200000; /* 2024-01-01T00:00:00Z */
  fill(&c, "BTCUSDT", 10, t0);
  fill(&e, "ETHUSDT", 10, t0);
  CHECK_OK(tml_store_put(s, &c, false, NULL, &err), &err);
  CHECK_OK(tml_store_put(s, &e, false, NULL, &err), &err);
  struct tml_delete_stats st;
  /* dry run: counts, first and last, deletes nothing */
  CHECK_OK(tml_store_delete_range(s, "BTCUSDT", M15, t0 + 2 * M15, t0 + 4 * M15, true, &st, &err), &err);
  CHECK_INT(st.rows, 3);
  CHECK_INT(st.first_ms, t0 + 2 * M15);
  CHECK_INT(st.last_ms, t0 + 4 * M15);
  CHECK_OK(tml_store_load(s, "BTCUSDT", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 10);
  tml_candles_release(&back);
  /* one stray row: from == to */
  CHECK_OK(tml_store_delete_range(s, "btc/usdt", M15, t0 + 9 * M15, t0 + 9 * M15, false, &st, &err), &err);
  CHECK_INT(st.rows, 1);
  CHECK_INT(st.first_ms, t0 + 9 * M15);
  /* inclusive bounds, other symbols untouched */
  CHECK_OK(tml_store_delete_range(s, "BTCUSDT", M15, t0 + 2 * M15, t0 + 4 * M15, false, &st, &err), &err);
  CHECK_INT(st.rows, 3);
  CHECK_OK(tml_store_load(s, "BTCUSDT", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 6);
  CHECK_INT(back.open_time[1], t0 + M15);
  CHECK_INT(back.open_time[2], t0 + 5 * M15);
  CHECK_INT(back.open_time[5], t0 + 8 * M15);
  tml_candles_release(&back);
  CHECK_OK(tml_store_load(s, "ETHUSDT", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 10);
  tml_candles_release(&back);
  /* nothing in range is not an error */
  CHECK_OK(tml_store_delete_range(s, "BTCUSDT", M15, t0 + 3 * M15, t0 + 4 * M15, false, &st, &err), &err);
  CHECK_INT(st.rows, 0);
  /* the whole series */
  CHECK_OK(tml_store_delete_range(s, "BTCUSDT", M15, INT64_MIN, INT64_MAX, false, &st, &err), &err);
  CHECK_INT(st.rows, 6);
  CHECK_OK(tml_store_load(s, "BTCUSDT", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 0);
  tml_candles_release(&back);
  CHECK_INT(tml_store_delete_range(s, "BTCUSDT", M15, t0 + M15, t0, false, &st, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "the range starts after it ends");
  tml_error_init(&err);
  CHECK_INT(tml_store_delete_range(s, "BTC;X", M15, t0, t0, false, &st, &err), TML_EINVAL);
  tml_candles_release(&c);
  tml_candles_release(&e);
  tml_store_close(s);
}

static int64_t pragma_int(struct tml_store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  CHECK_INT(sqlite3_prepare_v2(tml_store_db(s), sql, -1, &st, NULL), SQLITE_OK);
  CHECK_INT(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* A command's connection gets the big page cache and map; a connection a long-running process keeps
 * gets data.resident_cache_mib / data.resident_mmap_mib (defaults 2 and 0, or what is configured). */
TEST(resident_connections_bound_cache_and_map) {
  char *dir = NULL;
  struct tml_store *cmd = open_tmp("store_resident", &dir);
  if (tml_test_db_is_pg()) { /* the server owns PostgreSQL's caches: sizing a connection's does nothing */
    struct tml_error e;
    tml_error_init(&e);
    CHECK_OK(tml_store_set_memory(cmd, 5, 16, &e), &e);
    tml_store_close(cmd);
    free(dir);
    return;
  }
  CHECK_INT(pragma_int(cmd, "PRAGMA cache_size"), -TML_STORE_CACHE_MIB * 1024);
  CHECK_INT(pragma_int(cmd, "PRAGMA mmap_size"), (int64_t)TML_STORE_MMAP_MIB * 1024 * 1024);
  char path[4096];
  snprintf(path, sizeof(path), "%s/trademl.db", dir);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_config *cfg = NULL;
  CHECK_OK(tml_config_load(NULL, dir, &cfg, &err), &err);
  struct tml_store *res = NULL;
  CHECK_OK(tml_store_open_resident(path, cfg, &res, &err), &err);
  CHECK_INT(pragma_int(res, "PRAGMA cache_size"), -2 * 1024);
  CHECK_INT(pragma_int(res, "PRAGMA mmap_size"), 0);
  tml_store_close(res);
  CHECK_OK(tml_config_set(cfg, "data.resident_cache_mib", "5", TML_CFG_FLAG, "--test", &err), &err);
  CHECK_OK(tml_config_set(cfg, "data.resident_mmap_mib", "16", TML_CFG_FLAG, "--test", &err), &err);
  CHECK_OK(tml_store_open_resident(path, cfg, &res, &err), &err);
  CHECK_INT(pragma_int(res, "PRAGMA cache_size"), -5 * 1024);
  CHECK_INT(pragma_int(res, "PRAGMA mmap_size"), 16 * 1024 * 1024);
  tml_store_close(res);
  CHECK_INT(tml_config_set(cfg, "data.resident_cache_mib", "-1", TML_CFG_FLAG, "--test", &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "data.resident_cache_mib");
  tml_config_free(cfg);
  tml_store_close(cmd);
  free(dir);
}

/* A batch that holds one open time twice, into an empty store: equal values count once as inserted and
 * once as unchanged; different values are a conflict and nothing is written. (On PostgreSQL the first
 * case also exercises the fall-back from the direct COPY to the staged comparison.) */
TEST(duplicate_candles_in_one_batch) {
  struct tml_store *s = open_tmp("store_dupes", NULL);
  struct tml_error err;
  tml_error_init(&err);
  int64_t t0 = 1704067200000;
  struct tml_candles c, back;
  tml_candles_init(&c, "XRPUSDT", M15);
  tml_candles_push(&c, t0, 1, 2, 0.5, 1.5, 10);
  tml_candles_push(&c, t0 + M15, 1, 2, 0.5, 1.5, 11);
  tml_candles_push(&c, t0 + M15, 1, 2, 0.5, 1.5, 11);
  struct tml_put_stats st;
  CHECK_OK(tml_store_put(s, &c, false, &st, &err), &err);
  CHECK_INT(st.inserted, 2);
  CHECK_INT(st.unchanged, 1);
  CHECK_INT(st.replaced, 0);
  tml_candles_release(&c);
  tml_candles_init(&c, "ADAUSDT", M15);
  tml_candles_push(&c, t0, 1, 2, 0.5, 1.5, 10);
  tml_candles_push(&c, t0, 1, 2, 0.5, 1.25, 10);
  CHECK_INT(tml_store_put(s, &c, false, &st, &err), TML_ECONFLICT);
  CHECK_CONTAINS(err.msg, "ADAUSDT 15m candle at 2024-01-01T00:00:00Z is already stored with different values");
  CHECK_OK(tml_store_load(s, "ADAUSDT", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 0);
  tml_candles_release(&back);
  CHECK_OK(tml_store_load(s, "XRPUSDT", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 2);
  CHECK_NEAR(back.volume[1], 11, 0);
  tml_candles_release(&back);
  tml_candles_release(&c);
  tml_store_close(s);
}

/* PostgreSQL: a short bounded load (the live loop's new candles) runs its COPY outside a
 * transaction, without the whole-series settings; when every session of the database has been ended
 * since the last call (a server restart), it reconnects and sends the COPY again, like a load of a
 * whole series does. */
TEST(loads_reconnect_after_the_sessions_ended) {
  if (!tml_test_db_is_pg())
    SKIP("ends PostgreSQL sessions (store_pg.loads_reconnect_after_the_sessions_ended)");
  struct tml_error err;
  tml_error_init(&err);
  char *location = tml_test_db_location("store_reconnect"); /* a fresh database: open it once */
  struct tml_store *s = NULL;
  CHECK_OK(tml_store_open(location, &s, &err), &err);
  struct tml_candles c, back;
  fill(&c, "BTCUSDT", 20, 1700000100000 - 1700000100000 % M15);
  CHECK_OK(tml_store_put(s, &c, false, NULL, &err), &err);
  char *admin = tml_test_pg_url("admin_url");
  const char *db[] = {strrchr(location, '/') + 1};
  for (int round = 0; round < 2; round++) {
    struct tml__pg pg;
    CHECK_OK(tml__pg_connect(&pg, admin, "test", &err), &err);
    PGresult *r = tml__pg_query(&pg, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
                                1, db, false, "test", &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    CHECK_MSG(strtol(PQgetvalue(r, 0, 0), NULL, 10) >= 1, "no session of %s to end", db[0]);
    PQclear(r);
    tml__pg_close(&pg);
    if (round == 0) /* short and bounded: no transaction */
      CHECK_OK(tml_store_load(s, "BTCUSDT", M15, c.open_time[3], c.open_time[8], &back, &err), &err);
    else /* the whole series: in a transaction with the settings */
      CHECK_OK(tml_store_load(s, "BTCUSDT", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
    CHECK_INT(back.len, round == 0 ? 5 : 20);
    CHECK_INT(back.open_time[0], c.open_time[round == 0 ? 3 : 0]);
    tml_candles_release(&back);
  }
  /* and the connection is usable for the next short load */
  CHECK_OK(tml_store_load(s, "BTCUSDT", M15, c.open_time[18], c.open_time[19] + 1, &back, &err), &err);
  CHECK_INT(back.len, 2);
  tml_candles_release(&back);
  free(admin);
  free(location);
  tml_candles_release(&c);
  tml_store_close(s);
}
