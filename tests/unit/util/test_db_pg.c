/* PostgreSQL connections and schema migrations against a real server (scripts/pg-test-server.sh):
 * wrong password, unreachable server, malformed URL, a schema newer than the binary, a migration
 * interrupted half way, and a connection lost between two calls. */
#include "test.h"

#include "trademl/db.h"
#include "trademl/error.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/db_pg.h"

#define M15 (15 * TML_MS_PER_MINUTE)

/* The password of a test URL (between "user:" and '@'), into out. */
static void password_of(const char *url, char *out, size_t outsz) {
  const char *p = strchr(strstr(url, "://") + 3, ':') + 1;
  snprintf(out, outsz, "%.*s", (int)(strchr(p, '@') - p), p);
}

TEST(wrong_password_is_named_and_not_retried) {
  char *url = tml_test_pg_url("url");
  char pw[128], bad[4200];
  password_of(url, pw, sizeof(pw));
  const char *at = strchr(strstr(url, "://") + 3, '@');
  snprintf(bad, sizeof(bad), "postgresql://trademl:wrong-%s%s", pw, at);
  struct tml_store *s = NULL;
  struct tml_error err;
  tml_error_init(&err);
  double t0 = tml_monotonic_s();
  CHECK_INT(tml_store_open(bad, &s, &err), TML_EPERM);
  CHECK(tml_monotonic_s() - t0 < 3.0); /* not retried for the connect wait */
  CHECK(s == NULL);
  CHECK_CONTAINS(err.msg, "cannot log in to PostgreSQL at postgresql://trademl:********@127.0.0.1:");
  CHECK_CONTAINS(err.msg, "password authentication failed");
  CHECK_CONTAINS(err.msg, "data.database (environment TRADEML_DATABASE_URL)");
  CHECK(!strstr(err.msg, pw));
  free(url);
}

TEST(unreachable_server_retries_then_names_the_fix) {
  /* Nothing listens on port 1; retry for 600 ms with backoff, then fail. */
  tml_db_set_connect_wait_ms(600);
  struct tml_store *s = NULL;
  struct tml_error err;
  tml_error_init(&err);
  double t0 = tml_monotonic_s();
  int rc = tml_store_open("postgresql://trademl:sekrit@127.0.0.1:1/trademl", &s, &err);
  double waited = tml_monotonic_s() - t0;
  CHECK_INT(rc, TML_ENET);
  CHECK_MSG(waited >= 0.25 && waited < 5, "waited %.2f s", waited);
  CHECK_CONTAINS(err.msg, "cannot reach PostgreSQL at postgresql://trademl:********@127.0.0.1:1/trademl after");
  CHECK_CONTAINS(err.msg, "attempts");
  CHECK_CONTAINS(err.msg, "data.connect_wait");
  CHECK(!strstr(err.msg, "sekrit"));
  tml_db_set_connect_wait_ms(10000);
}

TEST(malformed_url) {
  struct tml_store *s = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_store_open("postgresql://trademl:sekrit@127.0.0.1:port/trademl", &s, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "malformed PostgreSQL URL");
  CHECK_CONTAINS(err.msg, "data.database");
  CHECK(!strstr(err.msg, "sekrit"));
  tml_error_init(&err);
  CHECK_INT(tml_store_open("postgresql://127.0.0.1/db?sslmode=sometimes", &s, &err), TML_EDB);
  CHECK_CONTAINS(err.msg, "sslmode");
  CHECK(s == NULL);
}

static const struct tml__pg_migration STEPS[] = {
    {1, "table a", "CREATE TABLE mig_a (x integer)"},
    {2, "tables b and c", "CREATE TABLE mig_b (x integer); CREATE TABLE mig_c (x integer); INSERT INTO mig_a VALUES (2)"},
    {3, "table d", "CREATE TABLE mig_d (x integer)"},
};

static bool table_exists(struct tml__pg *pg, const char *name) {
  const char *params[] = {name};
  struct tml_error err;
  tml_error_init(&err);
  PGresult *r = tml__pg_query(pg, "SELECT to_regclass($1) IS NOT NULL", 1, params, false, "test", &err);
  CHECK_MSG(r != NULL, "%s", err.msg);
  bool yes = PQgetvalue(r, 0, 0)[0] == 't';
  PQclear(r);
  return yes;
}

TEST(interrupted_migration_reruns_to_completion) {
  char *url = tml_test_db_location("mig_interrupt");
  struct tml__pg pg;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml__pg_connect(&pg, url, "test", &err), &err);
  /* Version 2 runs its statements, then the process "dies" before COMMIT. */
  tml__pg_migrate_fail_at(2);
  int applied = -1;
  CHECK_INT(tml__pg_migrate(&pg, "test", STEPS, 3, &applied, &err), TML_EINTR);
  CHECK_INT(applied, 1);
  int version = -1;
  CHECK_OK(tml__pg_schema_version(&pg, "test", &version, &err), &err);
  CHECK_INT(version, 1);
  /* Nothing of version 2 is visible: no half-migrated database that looks fine. */
  CHECK(table_exists(&pg, "mig_a"));
  CHECK(!table_exists(&pg, "mig_b") && !table_exists(&pg, "mig_c") && !table_exists(&pg, "mig_d"));
  tml_error_init(&err);
  CHECK_OK(tml__pg_migrate(&pg, "test", STEPS, 3, &applied, &err), &err);
  CHECK_INT(applied, 2);
  CHECK_OK(tml__pg_schema_version(&pg, "test", &version, &err), &err);
  CHECK_INT(version, 3);
  CHECK(table_exists(&pg, "mig_b") && table_exists(&pg, "mig_c") && table_exists(&pg, "mig_d"));
  PGresult *r = tml__pg_query(&pg, "SELECT count(*) FROM mig_a", 0, NULL, false, "test", &err);
  CHECK_STR(PQgetvalue(r, 0, 0), "1"); /* version 2's insert ran once */
  PQclear(r);
  /* Idempotent: a third run applies nothing. */
  CHECK_OK(tml__pg_migrate(&pg, "test", STEPS, 3, &applied, &err), &err);
  CHECK_INT(applied, 0);
  tml__pg_close(&pg);
  free(url);
}

TEST(schema_newer_than_binary_is_refused) {
  char *url = tml_test_db_location("mig_newer");
  struct tml_store *s = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_store_open(url, &s, &err), &err);
  tml_store_close(s);
  struct tml__pg pg;
  CHECK_OK(tml__pg_connect(&pg, url, "test", &err), &err);
  CHECK_OK(tml__pg_exec(&pg, "UPDATE schema_version SET version = 7 WHERE component = 'candles'", 0, NULL, "test", &err),
           &err);
  tml__pg_close(&pg);
  s = NULL;
  CHECK_INT(tml_store_open(url, &s, &err), TML_EDB);
  CHECK(s == NULL);
  CHECK_CONTAINS(err.msg, "has candles schema version 7, but this trademl knows versions up to 2");
  CHECK_CONTAINS(err.msg, "upgrade trademl");
  free(url);
}

/* Ends every session of the test database whose URL is url; there must be one (the store's). */
static void terminate_sessions(const char *url) {
  char *admin = tml_test_pg_url("admin_url");
  struct tml__pg pg;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml__pg_connect(&pg, admin, "test", &err), &err);
  const char *params[] = {strrchr(url, '/') + 1};
  PGresult *r = tml__pg_query(&pg, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
                              1, params, false, "test", &err);
  CHECK_MSG(r != NULL, "%s", err.msg);
  CHECK_MSG(strcmp(PQgetvalue(r, 0, 0), "0") != 0, "no session of %s to end", params[0]);
  PQclear(r);
  tml__pg_close(&pg);
  free(admin);
}

TEST(lost_connection_reconnects) {
  char *url = tml_test_db_location("reconnect");
  struct tml_store *s = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_store_open(url, &s, &err), &err);
  struct tml_candles c, back;
  tml_candles_init(&c, "BTCUSDT", M15);
  for (int i = 0; i < 10; i++)
    tml_candles_push(&c, 1704067200000 + i * M15, 1, 2, 0.5, 1.5, 10);
  CHECK_OK(tml_store_put(s, &c, false, NULL, &err), &err);
  /* The server ends every session of this database (as a restart or a dropped link would). */
  terminate_sessions(url);
  /* Reads and writes go on over a new connection. */
  CHECK_OK(tml_store_load(s, "BTCUSDT", M15, INT64_MIN, INT64_MAX, &back, &err), &err);
  CHECK_INT(back.len, 10);
  tml_candles_release(&back);
  /* The health check reconnects as well. */
  terminate_sessions(url);
  CHECK_OK(tml_store_ping(s, &err), &err);
  c.open_time[0] -= M15;
  struct tml_put_stats st;
  CHECK_OK(tml_store_put(s, &c, false, &st, &err), &err);
  CHECK_INT(st.inserted, 1);
  CHECK_INT(st.unchanged, 9);
  tml_candles_release(&c);
  tml_store_close(s);
  free(url);
}
