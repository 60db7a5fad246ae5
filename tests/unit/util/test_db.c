/* Database locations: which backend a location names, redaction of credentials, URL validation. */
#include "test.h"

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/db.h"
#include "trademl/error.h"

TEST(kind_of) {
  CHECK_INT(tml_db_kind_of("postgresql://u@h/db"), TML_DB_POSTGRES);
  CHECK_INT(tml_db_kind_of("postgres://h/db"), TML_DB_POSTGRES);
  CHECK_INT(tml_db_kind_of("PostgreSQL://h/db"), TML_DB_POSTGRES);
  CHECK_INT(tml_db_kind_of("var/trademl.db"), TML_DB_SQLITE);
  CHECK_INT(tml_db_kind_of("/tmp/postgresql:/x.db"), TML_DB_SQLITE);
  CHECK_INT(tml_db_kind_of(NULL), TML_DB_SQLITE);
  CHECK_STR(tml_db_kind_name(TML_DB_POSTGRES), "postgresql");
  CHECK_STR(tml_db_kind_name(TML_DB_SQLITE), "sqlite");
}

TEST(redact_userinfo_password) {
  char out[256];
  CHECK_STR(tml_db_redact("postgresql://trademl:s3cr3t@db.internal:5432/trademl", out, sizeof(out)),
            "postgresql://trademl:********@db.internal:5432/trademl");
  /* A password holding '/', ':' and '@' (raw) is still masked whole. */
  CHECK_STR(tml_db_redact("postgres://u:a/b:c@d@h/db?sslmode=require", out, sizeof(out)),
            "postgres://u:********@h/db?sslmode=require");
  /* No password: unchanged. */
  CHECK_STR(tml_db_redact("postgresql://trademl@db.internal/trademl", out, sizeof(out)),
            "postgresql://trademl@db.internal/trademl");
  CHECK_STR(tml_db_redact("postgresql:///trademl?host=/run/pg", out, sizeof(out)), "postgresql:///trademl?host=/run/pg");
}

TEST(redact_parameters) {
  char out[256];
  CHECK_STR(tml_db_redact("postgresql://h/db?user=x&password=hunter2&sslmode=verify-full", out, sizeof(out)),
            "postgresql://h/db?user=x&password=********&sslmode=verify-full");
  CHECK_STR(tml_db_redact("postgresql://h/db?sslpassword=keypass", out, sizeof(out)),
            "postgresql://h/db?sslpassword=********");
  CHECK_STR(tml_db_redact("postgresql://a:b@h/db?password=c&passfile=/p", out, sizeof(out)),
            "postgresql://a:********@h/db?password=********&passfile=/p");
  /* A SQLite path is copied as is. */
  CHECK_STR(tml_db_redact("var/trademl.db", out, sizeof(out)), "var/trademl.db");
}

TEST(redact_truncates_without_leaking) {
  char out[20];
  tml_db_redact("postgresql://user:topsecretpassword@host/db", out, sizeof(out));
  CHECK(strlen(out) == sizeof(out) - 1);
  CHECK(!strstr(out, "top"));
  char tiny[1] = {'x'};
  tml_db_redact("postgresql://u:p@h/db", tiny, sizeof(tiny));
  CHECK_INT(tiny[0], 0);
}

TEST(check_location) {
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_db_check_location("postgresql://u@127.0.0.1:5432/db?sslmode=disable", "data.database", &err), &err);
  CHECK_OK(tml_db_check_location("var/trademl.db", "data.database", &err), &err);
  /* A port that is not a number, an unknown parameter, a bad percent escape, another scheme. */
  CHECK_INT(tml_db_check_location("postgresql://u:pw@host:notaport/db", "data.database", &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "data.database");
  CHECK_CONTAINS(err.msg, "malformed PostgreSQL URL");
  CHECK(!strstr(err.msg, "pw@"));
  tml_error_init(&err);
  CHECK_INT(tml_db_check_location("postgresql://u:hunter2@host/db?sslmod=require", "data.database", &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "sslmod");
  CHECK(!strstr(err.msg, "hunter2"));
  tml_error_init(&err);
  CHECK_INT(tml_db_check_location("postgresql://u:%zz@host/db", "data.database", &err), TML_EINVAL);
  tml_error_init(&err);
  CHECK_INT(tml_db_check_location("mysql://u@h/db", "data.database", &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "postgresql://");
  tml_error_init(&err);
  CHECK_INT(tml_db_check_location("", "data.database", &err), TML_EINVAL);
}

TEST(config_key_masks_password) {
  char *dir = tml_test_tmpdir("db_config");
  struct tml_config *c = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_config_load(NULL, dir, &c, &err), &err);
  CHECK_STR(tml_config_get(c, "data.database"), "");
  CHECK_OK(tml_config_set(c, "data.database", "postgresql://trademl:hunter2@db/trademl", TML_CFG_ENV,
                          "TRADEML_DATABASE_URL", &err),
           &err);
  CHECK_OK(tml_config_validate(c, &err), &err);
  /* Both the table and the JSON form show the URL with the password masked. */
  for (int json = 0; json < 2; json++) {
    struct tml_buf b;
    tml_buf_init(&b, 1 << 20);
    CHECK_OK(tml_config_show(c, json, &b), &err);
    CHECK_CONTAINS(tml_buf_str(&b), "postgresql://trademl:********@db/trademl");
    CHECK(!strstr(tml_buf_str(&b), "hunter2"));
    tml_buf_release(&b);
  }
  CHECK_OK(tml_config_set(c, "data.database", "postgresql://u:hunter2@h:xx/db", TML_CFG_FLAG, "--database", &err),
           &err);
  CHECK_INT(tml_config_validate(c, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "data.database (from flag --database)");
  CHECK(!strstr(err.msg, "hunter2"));
  tml_config_free(c);
  free(dir);
}
