/* trademl configuration: one table of every known key (type, default, range, help, environment
 * variables), loaded in layers
 *
 *     defaults  ->  trademl.yaml  ->  environment  ->  command-line flags
 *
 * with the provenance of every value kept ("default", "trademl.yaml:12", "env LOG_LEVEL",
 * "flag --test-size"). The file is YAML with keys grouped by section (`training: {test_size: 0.2}`
 * is the key `training.test_size`); unknown keys are errors that suggest the closest known key.
 * Environment: TRADEML_<KEY> with dots as underscores, upper case (TRADEML_TRAINING_TEST_SIZE),
 * plus the legacy names existing setups use (LOG_LEVEL, TRAINING_JOB_TIMEOUT, ...); the TRADEML_
 * name wins when both are set; an empty variable counts as unset. See docs/config.md. */
#ifndef TML_CONFIG_H
#define TML_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_error;
struct tml_buf;
struct tml_config; /* opaque */

enum tml_config_source { TML_CFG_DEFAULT, TML_CFG_FILE, TML_CFG_ENV, TML_CFG_FLAG };

/* Builds the effective configuration: defaults, then the file `path` (NULL = ./trademl.yaml when it
 * exists, else no file; an explicit path that is missing is TML_ENOENT), then the environment.
 * `home` is the resolved state directory (tml_paths_resolve) that the path keys data.db_path,
 * model.models_dir and logging.dir default into; NULL resolves it from $TRADEML_HOME or ./var.
 * On success *out is a new config the caller frees with tml_config_free(). Errors name the file,
 * line and column or the environment variable, the key, and the fix: TML_EPARSE for anything wrong
 * inside the file (malformed YAML, unknown key, bad value), TML_EINVAL for a bad environment value
 * or a cross-key rule, TML_ENOENT for a missing explicit file, TML_EIO, TML_ENOMEM. */
int tml_config_load(const char *path, const char *home, struct tml_config **out, struct tml_error *err);
/* Warnings about the environment collected by tml_config_load, for the caller to print once at start:
 * TRAINING_BATCH_SIZE (no effect: no strategy trains in batches) and every TRADEML_*, TRAINING_* or
 * ML_TRAINING_* variable trademl does not read, naming the closest known one. (ML_TRAINING_DEBUG=true
 * sets logging.level to debug; LOG_LEVEL and TRADEML_LOGGING_LEVEL win over it.) Borrowed strings. */
size_t tml_config_warning_count(const struct tml_config *c);
const char *tml_config_warning(const struct tml_config *c, size_t i); /* NULL past the end */
/* Frees a config; NULL is allowed. */
void tml_config_free(struct tml_config *c);

/* Validates `value` for `key` and stores it with its provenance. `origin` says where it came from:
 * for TML_CFG_FILE "file:line", TML_CFG_ENV the variable name, TML_CFG_FLAG the flag ("--test-size");
 * NULL for defaults. Lists are comma-separated ("0.33,0.67"). Returns 0, or TML_EINVAL for an
 * unknown key or a bad value (the old value is kept). */
int tml_config_set(struct tml_config *c, const char *key, const char *value, enum tml_config_source src,
                   const char *origin, struct tml_error *err);

/* Checks rules that span keys (labels.stop_loss_min_pct <= labels.stop_loss_max_pct, ...).
 * tml_config_load calls it; call it again after setting flags. 0 or TML_EINVAL. */
int tml_config_validate(const struct tml_config *c, struct tml_error *err);

/* Normalized string form of a value ("0.2", "true", "15m", lists comma-separated); NULL for unknown
 * keys. Borrowed: valid until the key is set again or the config is freed. */
const char *tml_config_get(const struct tml_config *c, const char *key);
/* Typed getters. Keys are compile-time constants, so an unknown key or a key of another type is a
 * programming error: these print the key and abort(). int: integer and duration (seconds) keys;
 * double: number and integer keys; bool: boolean keys. */
int64_t tml_config_int(const struct tml_config *c, const char *key);
double tml_config_double(const struct tml_config *c, const char *key);
bool tml_config_bool(const struct tml_config *c, const char *key);
/* Items of a list key (string or number list): fills out[0..max) with borrowed strings and returns
 * the number of items (which may exceed max). */
size_t tml_config_list(const struct tml_config *c, const char *key, const char **out, size_t max);
/* Items of a number-list key as doubles; returns the number of items (may exceed max). */
size_t tml_config_doubles(const struct tml_config *c, const char *key, double *out, size_t max);

/* Provenance of a value: "default", "trademl.yaml:12", "env TRAINING_JOB_TIMEOUT",
 * "flag --test-size"; NULL for unknown keys. Borrowed like tml_config_get. */
const char *tml_config_origin(const struct tml_config *c, const char *key);
/* Source layer of a value; TML_CFG_DEFAULT for unknown keys. */
enum tml_config_source tml_config_source_of(const struct tml_config *c, const char *key);
/* The config file that was read, or NULL when none. Borrowed. */
const char *tml_config_file(const struct tml_config *c);

/* Appends the effective configuration to `out`: a table "KEY  VALUE  ORIGIN" or, with json, an
 * object {"file":..., "home":..., "keys":{"<key>":{"value":<typed>,"origin":"..."}}}. Secrets
 * (server.api_token) are shown as "********" when set. Returns 0 or TML_ETOOBIG/TML_ENOMEM. */
int tml_config_show(const struct tml_config *c, bool json, struct tml_buf *out);

/* True when key is in the table of known keys. */
bool tml_config_key_known(const char *key);
/* Checks that `value` is valid for `key` without a config object (job parameters are checked when a
 * job is submitted, long before a worker loads its configuration). `where` goes into the message
 * ("in job params"). Cross-key rules are not checked. 0, or TML_EINVAL naming the key and what it
 * expects (unknown key: the closest known one). */
int tml_config_check_value(const char *key, const char *value, const char *where, struct tml_error *err);

/* Describes the known keys, for `trademl config keys` and the docs. */
struct tml_config_key_info {
  const char *name;          /* "training.test_size" */
  const char *type;          /* "int", "number", "bool", "string", "enum", "list", "number list",
                                "duration", "interval", "path", "url", "cron", "host:port" */
  const char *default_value; /* string form; home-relative paths as "<home>/trademl.db" */
  const char *help;
  char expected[192];        /* "a number between 0 and 0.9" */
  char env[2][96];           /* TRADEML_TRAINING_TEST_SIZE, then the legacy name if any */
  size_t nenv;
  bool secret;
};
size_t tml_config_key_count(void);
/* Fills *out for key number `index` (0 .. tml_config_key_count()-1); TML_ENOENT past the end. */
int tml_config_key_info(size_t index, struct tml_config_key_info *out);
/* Validates a config file on its own (defaults + file, no environment), as `trademl config check`
 * does. 0, or the error tml_config_load would give for it. */
int tml_config_check_file(const char *path, struct tml_error *err);

#endif
