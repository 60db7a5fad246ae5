#include "test.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

/* Every variable these tests set; cleared first so tests do not depend on the caller's env. */
static const char *test_env[] = {
    "TRADEML_HOME", "TRADEML_TRAINING_TEST_SIZE", "TRAINING_CRON_SCHEDULE", "MAX_CONCURRENT_TRAINING_JOBS",
    "TRAINING_JOB_TIMEOUT", "TRADEML_TRAINING_JOB_TIMEOUT", "TRAINING_RETRY_ATTEMPTS",
    "MIN_TRAINING_DATA_POINTS", "MODEL_RETENTION_DAYS", "LOG_LEVEL", "TRADEML_LOGGING_LEVEL",
    "TRADEML_API_TOKEN", "TRADEML_SERVER_API_TOKEN", "TRADEML_BYBIT_BASE_URL", "TRADEML_BITGET_BASE_URL",
    "TRADEML_BINANCE_BASE_URL", "TRADEML_DATA_SYMBOLS", "TRADEML_LABELS_DIRECTION_QUANTILES",
    "TRADEML_TRAINING_SEED", "ML_TRAINING_DEBUG", "TRAINING_BATCH_SIZE", "TRAINING_JOB_TIMOUT",
    "TRAINING_TEST_SIZE", "TRADEML_LOGING_LEVEL",
};

static void clean_env(void) {
  for (size_t i = 0; i < sizeof(test_env) / sizeof(test_env[0]); i++)
    unsetenv(test_env[i]);
}

/* Writes `text` to <tmpdir>/trademl.yaml and chdirs into tmpdir so "trademl.yaml" is found. */
static char *in_dir_with_file(const char *name, const char *text) {
  char *dir = tml_test_tmpdir(name);
  CHECK(chdir(dir) == 0);
  if (text) {
    FILE *f = fopen("trademl.yaml", "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
  }
  return dir;
}

/* Loads ./trademl.yaml and expects failure; returns the message (static). */
static const char *load_error(const char *name, const char *yaml, int code) {
  static struct tml_error err;
  struct tml_config *c = NULL;
  tml_error_init(&err);
  char *dir = in_dir_with_file(name, yaml);
  int rc = tml_config_load(NULL, "h", &c, &err);
  CHECK_MSG(rc == code, "expected %d, got %d (%s)", code, rc, err.msg);
  CHECK(c == NULL);
  free(dir);
  return err.msg;
}

TEST(defaults) {
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_defaults", NULL);
  CHECK_OK(tml_config_load(NULL, "/srv/tml", &c, &err), &err);
  CHECK(tml_config_file(c) == NULL);
  CHECK_STR(tml_config_get(c, "data.db_path"), "/srv/tml/trademl.db");
  CHECK_STR(tml_config_get(c, "model.models_dir"), "/srv/tml/models");
  CHECK_STR(tml_config_get(c, "logging.dir"), "/srv/tml/logs");
  CHECK_NEAR(tml_config_double(c, "training.test_size"), 0.2, 0);
  CHECK_INT(tml_config_int(c, "training.num_boost_round"), 500);
  CHECK_INT(tml_config_int(c, "training.job_timeout"), 3600);
  CHECK_INT(tml_config_int(c, "data.days"), 730);
  CHECK_STR(tml_config_get(c, "data.interval"), "15m");
  CHECK_STR(tml_config_get(c, "model.training_mode"), "single_symbol");
  CHECK_STR(tml_config_get(c, "training.cron_schedule"), "0 2,14,22 * * *");
  CHECK_STR(tml_config_get(c, "server.listen"), "127.0.0.1:8000");
  CHECK_STR(tml_config_get(c, "logging.level"), "warning");
  CHECK_STR(tml_config_get(c, "exchanges.binance_futures.base_url"), "https://fapi.binance.com");
  CHECK(tml_config_bool(c, "model.auto_train_new_symbols"));
  CHECK(!tml_config_bool(c, "operations.model_rotation.enabled"));
  CHECK_STR(tml_config_origin(c, "training.test_size"), "default");
  CHECK_INT(tml_config_source_of(c, "training.test_size"), TML_CFG_DEFAULT);
  CHECK(tml_config_get(c, "training.nope") == NULL);
  CHECK(tml_config_origin(c, "training.nope") == NULL);
  CHECK(tml_config_key_known("validation.gates.min_sharpe"));
  CHECK(!tml_config_key_known("validation.gates"));
  double q[4];
  CHECK_INT(tml_config_doubles(c, "labels.direction_quantiles", q, 4), 2);
  /* Exactly the label module's defaults (tml_label_spec_default): 1/3 and 2/3. */
  CHECK_NEAR(q[0], 1.0 / 3.0, 0);
  CHECK_NEAR(q[1], 2.0 / 3.0, 0);
  CHECK_INT(tml_config_doubles(c, "labels.volatility_quantiles", q, 4), 3);
  CHECK_NEAR(q[2], 0.95, 0);
  CHECK_INT(tml_config_list(c, "data.symbols", NULL, 0), 0);
  tml_config_free(c);
  tml_config_free(NULL);
  free(dir);
}

TEST(home_from_env_when_null) {
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_home", NULL);
  setenv("TRADEML_HOME", "/data/b/", 1);
  CHECK_OK(tml_config_load(NULL, NULL, &c, &err), &err);
  CHECK_STR(tml_config_get(c, "data.db_path"), "/data/b/trademl.db");
  tml_config_free(c);
  unsetenv("TRADEML_HOME");
  CHECK_OK(tml_config_load(NULL, NULL, &c, &err), &err);
  CHECK_STR(tml_config_get(c, "model.models_dir"), "var/models");
  tml_config_free(c);
  free(dir);
}

static const char *sample_yaml = "# trademl settings\n"              /* 1 */
                                 "training:\n"                       /* 2 */
                                 "  test_size: 0.3\n"                /* 3 */
                                 "  job_timeout: 2h\n"               /* 4 */
                                 "  seed: 7\n"                       /* 5 */
                                 "data:\n"                           /* 6 */
                                 "  db_path: /x/db.sqlite\n"         /* 7 */
                                 "  symbols:\n"                      /* 8 */
                                 "    - btc/usdt\n"                  /* 9 */
                                 "    - ETH-USDT\n"                  /* 10 */
                                 "labels:\n"                         /* 11 */
                                 "  direction_quantiles: [0.25, 0.75]\n" /* 12 */
                                 "validation.gates.min_sharpe: 1.5\n"    /* 13 */
                                 "server:\n"                         /* 14 */
                                 "  api_token: s3cret\n"             /* 15 */
                                 "model:\n"                          /* 16 */
                                 "  auto_train_new_symbols: no\n";   /* 17 */

TEST(file_overrides_with_line_provenance) {
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_file", sample_yaml);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_STR(tml_config_file(c), "trademl.yaml");
  CHECK_NEAR(tml_config_double(c, "training.test_size"), 0.3, 0);
  CHECK_STR(tml_config_origin(c, "training.test_size"), "trademl.yaml:3");
  CHECK_INT(tml_config_source_of(c, "training.test_size"), TML_CFG_FILE);
  CHECK_INT(tml_config_int(c, "training.job_timeout"), 7200);
  CHECK_STR(tml_config_get(c, "training.job_timeout"), "7200");
  CHECK_STR(tml_config_origin(c, "training.job_timeout"), "trademl.yaml:4");
  CHECK_STR(tml_config_get(c, "data.db_path"), "/x/db.sqlite");
  CHECK_STR(tml_config_origin(c, "data.symbols"), "trademl.yaml:8");
  const char *syms[4];
  CHECK_INT(tml_config_list(c, "data.symbols", syms, 4), 2);
  CHECK_STR(syms[0], "BTCUSDT");
  CHECK_STR(syms[1], "ETHUSDT");
  CHECK_STR(tml_config_get(c, "data.symbols"), "BTCUSDT,ETHUSDT");
  double q[2];
  CHECK_INT(tml_config_doubles(c, "labels.direction_quantiles", q, 2), 2);
  CHECK_NEAR(q[0], 0.25, 0);
  CHECK_NEAR(q[1], 0.75, 0);
  CHECK_NEAR(tml_config_double(c, "validation.gates.min_sharpe"), 1.5, 0); /* dotted key at top level */
  CHECK_STR(tml_config_origin(c, "validation.gates.min_sharpe"), "trademl.yaml:13");
  CHECK(!tml_config_bool(c, "model.auto_train_new_symbols"));
  CHECK_STR(tml_config_get(c, "server.api_token"), "s3cret");
  CHECK_STR(tml_config_origin(c, "training.max_depth"), "default");
  tml_config_free(c);
  free(dir);
}

TEST(explicit_path_and_missing_file) {
  struct tml_error err;
  struct tml_config *c = NULL;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_path", "training:\n  max_depth: 9\n");
  CHECK(rename("trademl.yaml", "other.yaml") == 0);
  CHECK_OK(tml_config_load("other.yaml", "h", &c, &err), &err);
  CHECK_INT(tml_config_int(c, "training.max_depth"), 9);
  CHECK_STR(tml_config_origin(c, "training.max_depth"), "other.yaml:2");
  tml_config_free(c);
  c = NULL;
  CHECK_INT(tml_config_load("missing.yaml", "h", &c, &err), TML_ENOENT);
  CHECK(c == NULL);
  CHECK_CONTAINS(err.msg, "cannot read config file 'missing.yaml'");
  free(dir);
}

TEST(env_beats_file_and_flag_beats_env) {
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_layers", sample_yaml);
  setenv("TRADEML_TRAINING_TEST_SIZE", "0.4", 1);
  setenv("TRADEML_TRAINING_SEED", "", 1); /* empty = unset */
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_NEAR(tml_config_double(c, "training.test_size"), 0.4, 0);
  CHECK_STR(tml_config_origin(c, "training.test_size"), "env TRADEML_TRAINING_TEST_SIZE");
  CHECK_INT(tml_config_source_of(c, "training.test_size"), TML_CFG_ENV);
  CHECK_INT(tml_config_int(c, "training.seed"), 7);
  CHECK_OK(tml_config_set(c, "training.test_size", "0.1", TML_CFG_FLAG, "--test-size", &err), &err);
  CHECK_NEAR(tml_config_double(c, "training.test_size"), 0.1, 0);
  CHECK_STR(tml_config_origin(c, "training.test_size"), "flag --test-size");
  CHECK_INT(tml_config_source_of(c, "training.test_size"), TML_CFG_FLAG);
  tml_config_free(c);
  clean_env();
  free(dir);
}

TEST(legacy_env_aliases) {
  static const struct {
    const char *var, *value, *key, *expect;
  } cases[] = {
      {"TRAINING_CRON_SCHEDULE", "30  1 * * 1", "training.cron_schedule", "30 1 * * 1"},
      {"MAX_CONCURRENT_TRAINING_JOBS", "5", "training.max_concurrent_jobs", "5"},
      {"TRAINING_JOB_TIMEOUT", "7200", "training.job_timeout", "7200"},
      {"TRAINING_RETRY_ATTEMPTS", "1", "training.retry_attempts", "1"},
      {"MIN_TRAINING_DATA_POINTS", "5000", "training.min_data_points", "5000"},
      {"MODEL_RETENTION_DAYS", "14", "model.retention_days", "14"},
      {"LOG_LEVEL", "WARN", "logging.level", "warning"},
      {"TRADEML_API_TOKEN", "tok", "server.api_token", "tok"},
      {"TRADEML_BYBIT_BASE_URL", "http://127.0.0.1:9001/", "exchanges.bybit.base_url", "http://127.0.0.1:9001"},
      {"TRADEML_BITGET_BASE_URL", "http://127.0.0.1:9002", "exchanges.bitget.base_url", "http://127.0.0.1:9002"},
      {"TRADEML_BINANCE_BASE_URL", "http://127.0.0.1:9003", "exchanges.binance.base_url", "http://127.0.0.1:9003"},
  };
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_legacy", NULL);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    setenv(cases[i].var, cases[i].value, 1);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char origin[128];
    snprintf(origin, sizeof(origin), "env %s", cases[i].var);
    CHECK_STR(tml_config_get(c, cases[i].key), cases[i].expect);
    CHECK_STR(tml_config_origin(c, cases[i].key), origin);
  }
  tml_config_free(c);
  /* The TRADEML_ name wins over the legacy one. */
  setenv("TRADEML_TRAINING_JOB_TIMEOUT", "15m", 1);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_INT(tml_config_int(c, "training.job_timeout"), 900);
  CHECK_STR(tml_config_origin(c, "training.job_timeout"), "env TRADEML_TRAINING_JOB_TIMEOUT");
  tml_config_free(c);
  clean_env();
  free(dir);
}

TEST(unknown_key_suggests_closest) {
  clean_env();
  CHECK_STR(load_error("cfg_unknown", "training:\n  tset_size: 0.3\n", TML_EPARSE),
            "unknown key 'training.tset_size' at trademl.yaml:2:3; did you mean 'training.test_size'?");
  CHECK_STR(load_error("cfg_unknown2", "test_size: 0.3\n", TML_EPARSE),
            "unknown key 'test_size' at trademl.yaml:1:1; did you mean 'training.test_size'?");
  CHECK_STR(load_error("cfg_unknown3", "foo:\n  bar: 1\n", TML_EPARSE),
            "unknown key 'foo.bar' at trademl.yaml:2:3; 'trademl config keys' lists the known keys");
  CHECK_CONTAINS(load_error("cfg_section", "training: 5\n", TML_EPARSE),
                 "'training' at trademl.yaml:1:1 is a section, not a value");
}

TEST(wrong_type_and_range) {
  clean_env();
  CHECK_STR(load_error("cfg_type", "data:\n  days: 30\ntraining:\n  test_size: abc\n", TML_EPARSE),
            "training.test_size at trademl.yaml:4:14: expected a number between 0 and 0.9, got 'abc'");
  CHECK_STR(load_error("cfg_range", "training:\n  test_size: 1.5\n", TML_EPARSE),
            "training.test_size at trademl.yaml:2:14: expected a number between 0 and 0.9, got '1.5'");
  CHECK_STR(load_error("cfg_int", "training:\n  max_depth: 2.5\n", TML_EPARSE),
            "training.max_depth at trademl.yaml:2:14: expected an integer between 0 and 32, got '2.5'");
  CHECK_STR(load_error("cfg_bool", "model:\n  auto_train_new_symbols: maybe\n", TML_EPARSE),
            "model.auto_train_new_symbols at trademl.yaml:2:27: expected true or false, got 'maybe'");
  CHECK_STR(load_error("cfg_enum", "model:\n  training_mode: multi\n", TML_EPARSE),
            "model.training_mode at trademl.yaml:2:18: expected one of single_symbol, multi_symbol, got "
            "'multi'");
  CHECK_CONTAINS(load_error("cfg_interval", "data:\n  interval: 7m\n", TML_EPARSE),
                 "data.interval at trademl.yaml:2:13: expected an interval (");
  CHECK_CONTAINS(load_error("cfg_dur", "training:\n  job_timeout: 5s\n", TML_EPARSE),
                 "training.job_timeout at trademl.yaml:2:16: expected a duration (3600, 90s, 15m, 2h, 1d) "
                 "of seconds between 10 and 604800, got '5s'");
  CHECK_CONTAINS(load_error("cfg_cron", "training:\n  cron_schedule: '0 2 * *'\n", TML_EPARSE),
                 "cron '0 2 * *': 4 fields, expected 5");
  CHECK_CONTAINS(load_error("cfg_url", "exchanges:\n  bybit:\n    base_url: api.bybit.com\n", TML_EPARSE),
                 "exchanges.bybit.base_url at trademl.yaml:3:15: expected an http:// or https:// URL");
  CHECK_CONTAINS(load_error("cfg_listen", "server:\n  listen: localhost:99999\n", TML_EPARSE),
                 "expected HOST:PORT");
  CHECK_CONTAINS(load_error("cfg_strategy", "model:\n  strategy: ../evil\n", TML_EPARSE),
                 "model.strategy at trademl.yaml:2:13: expected a name");
  CHECK_STR(load_error("cfg_seq", "training:\n  test_size: [0.1]\n", TML_EPARSE),
            "training.test_size at trademl.yaml:2:14: expected a number between 0 and 0.9, got a list");
  CHECK_CONTAINS(load_error("cfg_dup", "training:\n  seed: 1\n  seed: 2\n", TML_EPARSE),
                 "training.seed at trademl.yaml:3: set twice in the file (first at line 2)");
}

TEST(cross_key_rule) {
  clean_env();
  CHECK_STR(load_error("cfg_cross", "labels:\n  stop_loss_min_pct: 6\n", TML_EINVAL),
            "labels.stop_loss_min_pct (6, from trademl.yaml:2) must not exceed labels.stop_loss_max_pct "
            "(5, from default)");
  CHECK_CONTAINS(load_error("cfg_q3", "labels:\n  direction_quantiles: [0.2, 0.5, 0.8]\n", TML_EINVAL),
                 "labels.direction_quantiles (from trademl.yaml:2) needs exactly 2 values");
}

TEST(malformed_yaml_names_line) {
  clean_env();
  CHECK_STR(load_error("cfg_yaml1", "training:\n  test_size: 0.3\n    bad: x\n", TML_EPARSE),
            "malformed YAML in trademl.yaml:3:8: mapping values are not allowed in this context (fix the "
            "syntax there)");
  CHECK_CONTAINS(load_error("cfg_yaml2", "data:\n  symbols: [BTCUSDT, ETHUSDT\n", TML_EPARSE),
                 "malformed YAML in trademl.yaml:3:1: did not find expected ',' or ']'");
  CHECK_CONTAINS(load_error("cfg_yaml3", "- a\n- b\n", TML_EPARSE),
                 "trademl.yaml:1:1: expected a mapping of keys");
  CHECK_CONTAINS(load_error("cfg_yaml4", "training:\n  seed: 1\n---\nx: 1\n", TML_EPARSE),
                 "trademl.yaml:4: a second YAML document");
  /* Comments only / empty: no keys, no error. */
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  char *dir = in_dir_with_file("cfg_empty", "# nothing yet\n");
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  tml_config_free(c);
  free(dir);
}

TEST(bad_env_and_flag_values_name_their_source) {
  struct tml_error err;
  struct tml_config *c = NULL;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_badenv", NULL);
  setenv("TRAINING_JOB_TIMEOUT", "soon", 1);
  CHECK_INT(tml_config_load(NULL, "h", &c, &err), TML_EINVAL);
  CHECK_STR(err.msg, "training.job_timeout from environment variable TRAINING_JOB_TIMEOUT: expected a "
                     "duration (3600, 90s, 15m, 2h, 1d) of seconds between 10 and 604800, got 'soon'");
  clean_env();
  tml_error_init(&err);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_INT(tml_config_set(c, "training.test_size", "-1", TML_CFG_FLAG, "--test-size", &err), TML_EINVAL);
  CHECK_STR(err.msg, "training.test_size from --test-size: expected a number between 0 and 0.9, got '-1'");
  CHECK_NEAR(tml_config_double(c, "training.test_size"), 0.2, 0); /* old value kept */
  CHECK_STR(tml_config_origin(c, "training.test_size"), "default");
  tml_error_init(&err);
  CHECK_INT(tml_config_set(c, "training.max_dept", "3", TML_CFG_FLAG, "--set", &err), TML_EINVAL);
  CHECK_STR(err.msg, "unknown key 'training.max_dept' from --set; did you mean 'training.max_depth'?");
  /* A secret never appears in a message. */
  tml_error_init(&err);
  CHECK_OK(tml_config_set(c, "server.api_token", "abc", TML_CFG_ENV, "TRADEML_API_TOKEN", &err), &err);
  tml_config_free(c);
  free(dir);
}

TEST(secret_is_masked) {
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_secret", sample_yaml);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  CHECK_OK(tml_config_show(c, false, &b), &err);
  CHECK(strstr(tml_buf_str(&b), "s3cret") == NULL);
  CHECK_CONTAINS(tml_buf_str(&b), "server.api_token");
  CHECK_CONTAINS(tml_buf_str(&b), "********");
  CHECK_CONTAINS(tml_buf_str(&b), "trademl.yaml:15");
  tml_buf_reset(&b);
  CHECK_OK(tml_config_show(c, true, &b), &err);
  CHECK(strstr(tml_buf_str(&b), "s3cret") == NULL);
  json_error_t jerr;
  json_t *root = json_loads(tml_buf_str(&b), 0, &jerr);
  CHECK_MSG(root != NULL, "show --json is not JSON: %s", jerr.text);
  json_t *keys = json_object_get(root, "keys");
  CHECK_STR(json_string_value(json_object_get(json_object_get(keys, "server.api_token"), "value")), "********");
  CHECK_STR(json_string_value(json_object_get(root, "file")), "trademl.yaml");
  CHECK_NEAR(json_real_value(json_object_get(json_object_get(keys, "training.test_size"), "value")), 0.3, 0);
  CHECK_INT(json_integer_value(json_object_get(json_object_get(keys, "training.seed"), "value")), 7);
  CHECK(json_is_false(json_object_get(json_object_get(keys, "model.auto_train_new_symbols"), "value")));
  json_t *syms = json_object_get(json_object_get(keys, "data.symbols"), "value");
  CHECK_INT(json_array_size(syms), 2);
  CHECK_STR(json_string_value(json_array_get(syms, 1)), "ETHUSDT");
  CHECK_STR(json_string_value(json_object_get(json_object_get(keys, "training.seed"), "origin")), "trademl.yaml:5");
  CHECK_STR(json_string_value(json_object_get(json_object_get(keys, "training.seed"), "source")), "file");
  CHECK_INT(json_object_size(keys), tml_config_key_count());
  json_decref(root);
  /* An empty secret shows as empty, not as a mask. */
  CHECK_OK(tml_config_set(c, "server.api_token", "", TML_CFG_FLAG, "--token", &err), &err);
  tml_buf_reset(&b);
  CHECK_OK(tml_config_show(c, true, &b), &err);
  CHECK_CONTAINS(tml_buf_str(&b), "\"server.api_token\":{\"value\":\"\"");
  tml_buf_release(&b);
  tml_config_free(c);
  free(dir);
}

TEST(lists_from_env_and_flags) {
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_lists", NULL);
  setenv("TRADEML_DATA_SYMBOLS", " btcusdt, SOL/USDT ", 1);
  setenv("TRADEML_LABELS_DIRECTION_QUANTILES", "[0.2,0.8]", 1);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_STR(tml_config_get(c, "data.symbols"), "BTCUSDT,SOLUSDT");
  CHECK_STR(tml_config_get(c, "labels.direction_quantiles"), "0.2,0.8");
  const char *items[1];
  CHECK_INT(tml_config_list(c, "data.symbols", items, 1), 2); /* count beyond max */
  CHECK_STR(items[0], "BTCUSDT");
  CHECK_INT(tml_config_set(c, "labels.volatility_quantiles", "0.7,0.3", TML_CFG_FLAG, "--vq", &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "expected a list of numbers between 0 and 1, ascending, got '0.7,0.3'");
  tml_error_init(&err);
  CHECK_INT(tml_config_set(c, "data.symbols", "BTCUSDT,,ETHUSDT", TML_CFG_FLAG, "--symbol", &err), TML_EINVAL);
  tml_error_init(&err);
  CHECK_OK(tml_config_set(c, "data.symbols", "", TML_CFG_FLAG, "--symbol", &err), &err);
  CHECK_INT(tml_config_list(c, "data.symbols", items, 1), 0);
  tml_config_free(c);
  clean_env();
  free(dir);
}

TEST(values_are_normalized) {
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_norm", NULL);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_OK(tml_config_set(c, "data.interval", "H1", TML_CFG_FLAG, "--interval", &err), &err);
  CHECK_STR(tml_config_get(c, "data.interval"), "1h");
  CHECK_OK(tml_config_set(c, "features.htf_interval", "auto", TML_CFG_FLAG, "--htf", &err), &err);
  CHECK_OK(tml_config_set(c, "training.learning_rate", " 1e-1 ", TML_CFG_FLAG, "--lr", &err), &err);
  CHECK_STR(tml_config_get(c, "training.learning_rate"), "0.1");
  CHECK_OK(tml_config_set(c, "operations.model_rotation.enabled", "YES", TML_CFG_FLAG, "--rot", &err), &err);
  CHECK_STR(tml_config_get(c, "operations.model_rotation.enabled"), "true");
  CHECK_OK(tml_config_set(c, "training.job_timeout", "1d", TML_CFG_FLAG, "--timeout", &err), &err);
  CHECK_INT(tml_config_int(c, "training.job_timeout"), 86400);
  CHECK_NEAR(tml_config_double(c, "training.max_depth"), 6, 0); /* ints read as doubles too */
  CHECK_OK(tml_config_set(c, "logging.level", "Critical", TML_CFG_ENV, "LOG_LEVEL", &err), &err);
  CHECK_STR(tml_config_get(c, "logging.level"), "error");
  tml_config_free(c);
  free(dir);
}

TEST(key_table_is_complete) {
  struct tml_config_key_info k;
  size_t n = tml_config_key_count();
  CHECK(n >= 60);
  bool saw_legacy = false, saw_secret = false;
  for (size_t i = 0; i < n; i++) {
    CHECK_OK(tml_config_key_info(i, &k), &(struct tml_error){0});
    CHECK(k.name && k.type && k.default_value && k.help && k.help[0] && k.expected[0]);
    CHECK(strncmp(k.env[0], "TRADEML_", 8) == 0);
    if (strcmp(k.name, "training.min_data_points") == 0) {
      CHECK_STR(k.env[0], "TRADEML_TRAINING_MIN_DATA_POINTS");
      CHECK_STR(k.env[1], "MIN_TRAINING_DATA_POINTS");
      CHECK_INT(k.nenv, 2);
      saw_legacy = true;
    }
    if (strcmp(k.name, "data.db_path") == 0)
      CHECK_STR(k.default_value, "<home>/trademl.db");
    if (k.secret) {
      CHECK_STR(k.name, "server.api_token");
      saw_secret = true;
    }
  }
  CHECK(saw_legacy && saw_secret);
  CHECK_INT(tml_config_key_info(n, &k), TML_ENOENT);
}

TEST(check_file_ignores_environment) {
  struct tml_error err;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_check", sample_yaml);
  setenv("TRADEML_TRAINING_TEST_SIZE", "garbage", 1);
  CHECK_OK(tml_config_check_file("trademl.yaml", &err), &err);
  clean_env();
  FILE *f = fopen("bad.yaml", "w");
  fputs("training:\n  tset_size: 1\n", f);
  fclose(f);
  CHECK_INT(tml_config_check_file("bad.yaml", &err), TML_EPARSE);
  CHECK_STR(err.msg, "unknown key 'training.tset_size' at bad.yaml:2:3; did you mean 'training.test_size'?");
  free(dir);
}

/* ML_TRAINING_DEBUG=true (the training service's debug switch) means logging.level debug; LOG_LEVEL and
 * TRADEML_LOGGING_LEVEL win over it; a value that is not a boolean is an error naming the variable. */
TEST(env_ml_training_debug_sets_debug_logging) {
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_mldebug", NULL);
  setenv("ML_TRAINING_DEBUG", "true", 1);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_STR(tml_config_get(c, "logging.level"), "debug");
  CHECK_STR(tml_config_origin(c, "logging.level"), "env ML_TRAINING_DEBUG");
  CHECK_INT((long)tml_config_warning_count(c), 0);
  tml_config_free(c);
  setenv("ML_TRAINING_DEBUG", "false", 1);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_STR(tml_config_get(c, "logging.level"), "warning");
  tml_config_free(c);
  setenv("ML_TRAINING_DEBUG", "1", 1);
  setenv("LOG_LEVEL", "INFO", 1);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_STR(tml_config_get(c, "logging.level"), "info");
  tml_config_free(c);
  setenv("ML_TRAINING_DEBUG", "maybe", 1);
  CHECK_INT(tml_config_load(NULL, "h", &c, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "ML_TRAINING_DEBUG='maybe' is not true or false");
  clean_env();
  free(dir);
}

/* TRAINING_BATCH_SIZE has no meaning for trademl's strategies: one warning saying so, nothing else. */
TEST(env_training_batch_size_warns_it_has_no_effect) {
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_batch", NULL);
  setenv("TRAINING_BATCH_SIZE", "2000", 1);
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_INT((long)tml_config_warning_count(c), 1);
  CHECK_CONTAINS(tml_config_warning(c, 0), "TRAINING_BATCH_SIZE=2000 has no effect");
  CHECK_CONTAINS(tml_config_warning(c, 0), "not in batches");
  CHECK(tml_config_warning(c, 1) == NULL);
  tml_config_free(c);
  clean_env();
  free(dir);
}

/* Unknown TRAINING_* / TRADEML_* variables: one warning each naming the closest known variable. */
TEST(env_unknown_variables_warn_naming_the_closest) {
  struct tml_error err;
  struct tml_config *c;
  tml_error_init(&err);
  clean_env();
  char *dir = in_dir_with_file("cfg_unknown_env", NULL);
  setenv("TRAINING_JOB_TIMOUT", "60", 1);
  setenv("TRAINING_TEST_SIZE", "0.3", 1);
  setenv("TRADEML_LOGING_LEVEL", "debug", 1);
  setenv("TRADEML_HOME", "h", 1); /* known, not a key: no warning */
  CHECK_OK(tml_config_load(NULL, "h", &c, &err), &err);
  CHECK_INT((long)tml_config_warning_count(c), 3);
  bool timeout = false, test_size = false, level = false;
  for (size_t i = 0; i < tml_config_warning_count(c); i++) {
    const char *w = tml_config_warning(c, i);
    timeout |= strstr(w, "TRAINING_JOB_TIMOUT is not a trademl setting and is ignored; the closest known one is "
                         "TRAINING_JOB_TIMEOUT") != NULL;
    test_size |= strstr(w, "TRAINING_TEST_SIZE is not a trademl setting and is ignored; the closest known one is "
                           "TRADEML_TRAINING_TEST_SIZE") != NULL;
    level |= strstr(w, "TRADEML_LOGING_LEVEL is not a trademl setting and is ignored; the closest known one is "
                       "TRADEML_LOGGING_LEVEL") != NULL;
  }
  CHECK(timeout && test_size && level);
  CHECK_INT(tml_config_int(c, "training.job_timeout"), 3600); /* ignored indeed */
  tml_config_free(c);
  clean_env();
  free(dir);
}
