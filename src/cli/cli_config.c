/* Loads the layered configuration for a subcommand and applies its flags on top. */
#include "cli_config.h"
#include <stdlib.h>
#include "trademl/parse.h"
#include "trademl/timeutil.h"
#include "trademl/registry.h"
#include "trademl/modelset.h"

#include <stdio.h>
#include <string.h>

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/db.h"
#include "trademl/fsutil.h"
#include "trademl/jobs.h"
#include "trademl/log.h"
#include "trademl/store.h"

static int copy_path(char *dst, size_t dstsz, const char *src, const char *key, struct tml_error *err) {
  size_t n = strlen(src);
  if (n >= dstsz)
    return tml_error_set(err, TML_EINVAL, "%s is too long (%zu bytes)", key, n);
  memcpy(dst, src, n + 1);
  return 0;
}

static int apply_flags(const struct cli_args *a, struct tml_config *c, struct tml_error *err) {
  for (size_t o = 0; o < a->nopts && o < 64; o++) {
    const struct cli_opt *opt = &a->opts[o];
    if (!opt->config_key || !a->seen[o])
      continue;
    char flag[96];
    snprintf(flag, sizeof(flag), "--%s", opt->name);
    struct tml_buf value;
    tml_buf_init(&value, 1 << 16);
    int rc = 0;
    if (opt->kind == CLI_FLAG) {
      rc = tml_buf_puts(&value, "true");
    } else {
      size_t n = 0;
      for (size_t i = 0; !rc && i < a->nvalues; i++) {
        if (a->value_opt[i] != (int)o)
          continue;
        if (opt->kind == CLI_VALUE) /* the last one wins */
          tml_buf_reset(&value);
        else if (n++)
          rc = tml_buf_putc(&value, ',');
        if (!rc)
          rc = tml_buf_puts(&value, a->values[i]);
      }
    }
    if (rc)
      rc = tml_error_set(err, rc, "value of %s is too long", flag);
    else
      rc = tml_config_set(c, opt->config_key, tml_buf_str(&value), TML_CFG_FLAG, flag, err);
    tml_buf_release(&value);
    if (rc)
      return rc;
  }
  return 0;
}

/* Global --set KEY=VALUE flags: above the file and the environment, below the command's own flags. */
static int apply_sets(struct tml_config *c, struct tml_error *err) {
  for (size_t i = 0; i < cli_globals.nsets; i++) {
    const char *kv = cli_globals.sets[i];
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
      return tml_error_set(err, TML_EUSAGE, "--set '%.200s': expected KEY=VALUE (training.num_boost_round=60)", kv);
    char key[128];
    if ((size_t)(eq - kv) >= sizeof(key))
      return tml_error_set(err, TML_EUSAGE, "--set '%.200s': key too long", kv);
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    int rc = tml_config_set(c, key, eq + 1, TML_CFG_FLAG, "--set", err);
    if (rc)
      return rc;
  }
  return 0;
}

/* Where candles, jobs and the registry live: data.database when set (a PostgreSQL URL or a SQLite file),
 * else the SQLite file data.db_path. */
static const char *database_location(const struct tml_config *c) {
  const char *url = tml_config_get(c, "data.database");
  return url[0] ? url : tml_config_get(c, "data.db_path");
}

int cli_load_config(const struct cli_args *a, struct tml_paths *paths, struct tml_config **cfg,
                    struct tml_error *err) {
  struct tml_config *c = NULL;
  *cfg = NULL;
  int rc = tml_paths_resolve(cli_globals.home, paths, err);
  if (!rc)
    rc = tml_config_load(cli_globals.config_path, paths->home, &c, err);
  if (!rc)
    rc = apply_sets(c, err);
  if (!rc && a)
    rc = apply_flags(a, c, err);
  if (!rc)
    rc = tml_config_validate(c, err);
  if (!rc)
    rc = copy_path(paths->db, sizeof(paths->db), database_location(c), "data.database", err);
  if (!rc)
    tml_db_set_connect_wait_ms((int)(tml_config_int(c, "data.connect_wait") * 1000)); /* <= 3600 s */
  if (!rc)
    rc = copy_path(paths->models, sizeof(paths->models), tml_config_get(c, "model.models_dir"),
                   "model.models_dir", err);
  if (!rc)
    rc = copy_path(paths->logs, sizeof(paths->logs), tml_config_get(c, "logging.dir"), "logging.dir", err);
  /* Environment warnings once per process; a job's child process leaves them to its worker. */
  static bool warned;
  if (!rc && !warned && !tml_job_in_child()) {
    warned = true;
    for (size_t i = 0; i < tml_config_warning_count(c); i++)
      fprintf(stderr, "trademl: warning: %s\n", tml_config_warning(c, i));
  }
  if (!rc) {
    enum tml_log_level level;
    if (tml_log_parse_level(tml_config_get(c, "logging.level"), &level) == 0)
      tml_log_set_level(level);
  }
  if (rc) {
    tml_config_free(c);
    return rc;
  }
  *cfg = c;
  return 0;
}

/* The job that runs this command (set by the job runner), for the registry row; 0 outside a job. */
static int64_t job_id_from_env(void) {
  int64_t id = 0;
  const char *s = getenv("TRADEML_JOB_ID");
  if (!s || tml_parse_int64_str(s, &id) != 0 || id < 0)
    return 0;
  return id;
}

void cli_incumbent_dir(const char *db_path, const char *strategy, const char *const *symbols, size_t n,
                       int64_t interval_ms, char *dir, size_t dirsz) {
  dir[0] = '\0';
  if (!tml_path_exists(db_path) || n == 0)
    return;
  char key[64];
  tml_modelset_key(symbols, n, key, sizeof(key));
  struct tml_registry *reg = NULL;
  struct tml_model_row row;
  tml_model_row_init(&row);
  if (tml_registry_open(db_path, &reg, NULL) == 0 &&
      tml_registry_active_in_group(reg, strategy, key, interval_ms, &row, NULL) == 0 && !row.folder_missing &&
      strlen(row.path) < dirsz)
    memcpy(dir, row.path, strlen(row.path) + 1);
  tml_model_row_release(&row);
  tml_registry_close(reg);
}

/* The claim of the job attempt this command runs as (set by the job runner): TRADEML_JOB_FENCE, the
 * fencing token; 0 outside a job (or under a worker older than fencing). */
static int64_t job_fence_from_env(void) {
  int64_t fence = 0;
  const char *s = getenv("TRADEML_JOB_FENCE");
  if (!s || tml_parse_int64_str(s, &fence) != 0 || fence <= 0)
    return 0;
  return fence;
}

int cli_register_model_set(const struct tml_config *cfg, const char *db_path, const char *model_dir,
                           struct tml_model_row *row, struct tml_error *err) {
  struct tml_activation_policy policy;
  struct tml_registry *reg = NULL;
  int rc = tml_activation_policy_from_config(cfg, &policy, err);
  if (!rc)
    rc = tml_registry_open(db_path, &reg, err);
  /* A job's child registers only while its attempt still holds the job: the registry checks the claim's
   * fencing token inside the registration's transaction. A stale token (the lease expired while this
   * host was partitioned or paused, and the job was taken again or ended) registers nothing, and the
   * set this attempt wrote is removed, so no folder of a void attempt is left for anyone to pick up. */
  int64_t job = job_id_from_env(), fence = job ? job_fence_from_env() : 0;
  if (!rc)
    rc = tml_registry_register_fenced(reg, model_dir, job, fence, &policy, tml_now_ms(), row, err);
  if (rc == TML_ESTALE) {
    struct tml_error rmerr;
    tml_error_init(&rmerr);
    bool removed = tml_rm_rf(model_dir, &rmerr) == 0;
    tml_err("refusing to register: %s; %s the model set '%s' this attempt wrote", err ? err->msg : "stale fencing token",
            removed ? "removed" : "could not remove", model_dir);
    if (!removed)
      tml_err("%s", rmerr.msg);
    tml_error_prefix(err, "refusing to register");
  } else if (rc) {
    tml_error_prefix(err, "model set written to '%s' but not registered (retry with 'trademl models register %s')",
                     model_dir, model_dir);
  }
  tml_registry_close(reg);
  return rc;
}

int cli_run_symbols(const struct tml_config *cfg, struct tml_store *store, int64_t interval_ms,
                    char (**out)[TML_SYMBOL_MAX], size_t *n, bool *from_store, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  *from_store = false;
  size_t want = tml_config_list(cfg, "data.symbols", NULL, 0);
  struct tml_series_info *info = NULL;
  size_t ninfo = 0;
  const char **raw = NULL;
  char (*syms)[TML_SYMBOL_MAX] = NULL;
  int rc = 0;
  if (want == 0) {
    /* data.symbols empty: every symbol the store holds at this interval (docs/config.md). */
    if ((rc = tml_store_list(store, &info, &ninfo, err)))
      return rc;
    for (size_t i = 0; i < ninfo; i++)
      want += info[i].interval_ms == interval_ms;
    if (want == 0) {
      struct tml_buf have;
      tml_buf_init(&have, 0);
      for (size_t i = 0; i < ninfo; i++)
        tml_buf_printf(&have, "%s%s %s", have.len ? ", " : "", info[i].symbol, tml_interval_name(info[i].interval_ms));
      rc = tml_error_set(err, TML_EUSAGE,
                         "no symbol given and the store holds no %s candles%s%s%s: pass --symbol SYMBOL, set "
                         "data.symbols in trademl.yaml, or import/fetch %s candles first (trademl data import|fetch)",
                         tml_interval_name(interval_ms), have.len ? " (stored: " : "", tml_buf_str(&have),
                         have.len ? ")" : "", tml_interval_name(interval_ms));
      tml_buf_release(&have);
      goto out;
    }
    *from_store = true;
  }
  syms = calloc(want, sizeof(*syms));
  raw = calloc(want, sizeof(*raw));
  if (!syms || !raw) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory listing %zu symbols", want);
    goto out;
  }
  if (*from_store) {
    size_t k = 0;
    for (size_t i = 0; i < ninfo; i++)
      if (info[i].interval_ms == interval_ms)
        snprintf(syms[k++], TML_SYMBOL_MAX, "%s", info[i].symbol);
  } else {
    tml_config_list(cfg, "data.symbols", raw, want);
    for (size_t i = 0; i < want && !rc; i++)
      if (tml_symbol_normalize(raw[i], syms[i], TML_SYMBOL_MAX) != 0)
        rc = tml_error_set(err, TML_EINVAL, "invalid symbol '%s': use letters and digits like BTCUSDT or BTC/USDT",
                           raw[i]);
  }
out:
  free(info);
  free(raw);
  if (rc) {
    free(syms);
    return rc;
  }
  *out = syms;
  *n = want;
  return 0;
}
