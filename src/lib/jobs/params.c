/* Job parameters as data: a job's params are a JSON object of configuration keys and values
 * ({"training.num_boost_round": 60}) plus a few options of the job's own command that are not
 * configuration (validate: force; the hidden noop kind: seconds, fail_attempts, ...). A worker hands
 * the keys to the child as `--set key=value` and the options as the flags named in the table below, so
 * a job runs exactly as it was submitted whatever the command-line flags are called by then.
 *
 * Jobs queued by older versions stored flag names ({"num-boost-round": 60}); tml__job_params_upgrade
 * translates them once when the table is opened, through the frozen table of the flags those versions
 * accepted (legacy_flags below: a record of the past, never extended). */
#include "jobs/jobs_internal.h"
#include "util/common.h"

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"

#include <ctype.h>
#include <jansson.h>

/* Options of a kind's command that are not configuration keys: the stored key and the flag the
 * worker passes. The one place these two names meet. */
static const struct job_option {
  enum tml_job_kind kind;
  const char *key, *flag;
  bool is_switch; /* a flag without a value: true adds it, false leaves it out */
} options[] = {
    {TML_JOB_VALIDATE, "force", "--force", true},
    {TML_JOB_NOOP, "seconds", "--seconds", false},
    {TML_JOB_NOOP, "fail_attempts", "--fail-attempts", false},
    {TML_JOB_NOOP, "exit", "--exit", false},
    {TML_JOB_NOOP, "record", "--record", false},
    {TML_JOB_NOOP, "tag", "--tag", false},
};

/* Configuration keys a job may not set in params: the job row's own fields (set them there) and the
 * locations every process of an installation must share. */
static const struct {
  const char *key, *use;
} reserved[] = {
    {"data.symbols", "the job's symbols"},   {"data.interval", "the job's interval"},
    {"data.days", "the job's days"},         {"model.strategy", "the job's strategy"},
    {"validation.mode", "the job's mode"},   {"training.threads", "the worker (it shares its cores)"},
    {"data.db_path", "the worker's configuration"}, {"logging.dir", "the worker's configuration"},
};

/* The flags of `train` and `validate` (with their configuration key) and of `jobs noop` that jobs
 * queued before params became data could carry. Frozen: used only to upgrade old rows. */
static const struct {
  const char *flag, *key;
} legacy_flags[] = {
    {"training-mode", "model.training_mode"},
    {"symbol-encoding", "model.symbol_encoding"},
    {"test-size", "training.test_size"},
    {"purge-gap", "training.purge_gap"},
    {"num-boost-round", "training.num_boost_round"},
    {"early-stopping-rounds", "training.early_stopping_rounds"},
    {"learning-rate", "training.learning_rate"},
    {"max-depth", "training.max_depth"},
    {"min-child-weight", "training.min_child_weight"},
    {"subsample", "training.subsample"},
    {"colsample-bytree", "training.colsample_bytree"},
    {"max-bin", "training.max_bin"},
    {"seed", "training.seed"},
    {"engine", "training.engine"},
    {"horizon", "labels.horizon"},
    {"min-train-rows", "training.min_train_rows"},
    {"models-dir", "model.models_dir"},
    {"test-period-days", "validation.test_period_days"},
    {"min-train-days", "validation.min_train_days"},
    {"window", "validation.window"},
    {"train-window-days", "validation.train_window_days"},
    {"quick-folds", "validation.quick_folds"},
    {"embargo-days", "validation.embargo_days"},
    {"signal-threshold", "validation.signal_threshold"},
    {"fee-pct", "validation.fee_pct"},
    {"gate", "validation.gates.rules"},
    {"force", "force"},
    {"seconds", "seconds"},
    {"fail-attempts", "fail_attempts"},
    {"exit", "exit"},
    {"record", "record"},
    {"tag", "tag"},
};

static const struct job_option *find_option(enum tml_job_kind kind, const char *key) {
  for (size_t i = 0; i < TML_ARRAY_LEN(options); i++)
    if (options[i].kind == kind && strcmp(options[i].key, key) == 0)
      return &options[i];
  return NULL;
}

static const char *legacy_key(const char *flag) {
  for (size_t i = 0; i < TML_ARRAY_LEN(legacy_flags); i++)
    if (strcmp(legacy_flags[i].flag, flag) == 0)
      return legacy_flags[i].key;
  return NULL;
}

/* Text form of a scalar (or a list of scalars, joined with ',') as `--set` and the flags take it. */
static int value_text(const json_t *v, struct tml_buf *out) {
  if (json_is_string(v))
    return tml_buf_puts(out, json_string_value(v));
  if (json_is_integer(v))
    return tml_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  if (json_is_real(v)) { /* the shortest text that reads back as the same double */
    char num[64];
    double d = json_real_value(v);
    for (int prec = 15; prec <= 17; prec++) {
      snprintf(num, sizeof(num), "%.*g", prec, d);
      if (strtod(num, NULL) == d)
        break;
    }
    return tml_buf_puts(out, num);
  }
  if (json_is_boolean(v))
    return tml_buf_puts(out, json_is_true(v) ? "true" : "false");
  if (json_is_array(v)) {
    int rc = 0;
    for (size_t i = 0; !rc && i < json_array_size(v); i++) {
      const json_t *e = json_array_get(v, i);
      if (json_is_array(e) || json_is_object(e) || json_is_null(e))
        return TML_EINVAL;
      if (i)
        rc = tml_buf_putc(out, ',');
      if (!rc)
        rc = value_text(e, out);
    }
    return rc;
  }
  return TML_EINVAL;
}

static int check_entry(enum tml_job_kind kind, const char *key, const json_t *v, struct tml_error *err) {
  const char *kname = tml_job_kind_name(kind);
  const struct job_option *opt = find_option(kind, key);
  if (!opt && !strchr(key, '.')) {
    const char *lk = legacy_key(key);
    if (lk && strchr(lk, '.'))
      return tml_error_set(err, TML_EINVAL,
                           "job params: '%s' is a command-line flag; params take configuration keys: use '%s'", key,
                           lk);
    return tml_error_set(err, TML_EINVAL,
                         "job params: '%s' is neither a configuration key ('trademl config keys') nor an option of "
                         "%s jobs",
                         key, kname);
  }
  if (opt && opt->is_switch && !json_is_boolean(v))
    return tml_error_set(err, TML_EINVAL, "job params: '%s' must be true or false", key);
  if (!opt) {
    for (size_t i = 0; i < TML_ARRAY_LEN(reserved); i++)
      if (strcmp(reserved[i].key, key) == 0)
        return tml_error_set(err, TML_EINVAL, "job params: '%s' cannot be set per job; it is set by %s", key,
                             reserved[i].use);
  }
  struct tml_buf text;
  tml_buf_init(&text, 4096);
  int rc = value_text(v, &text);
  if (rc) {
    rc = tml_error_set(err, TML_EINVAL, "job params: '%s' must be a string, number, boolean or a list of them", key);
  } else if (!opt) {
    char where[128];
    snprintf(where, sizeof(where), "in the params of a %s job", kname);
    rc = tml_config_check_value(key, tml_buf_str(&text), where, err);
  }
  tml_buf_release(&text);
  return rc;
}

int tml__job_params_canonical(enum tml_job_kind kind, const char *params, char *out, size_t outsz,
                              struct tml_error *err) {
  if (!params || !*params) {
    snprintf(out, outsz, "{}");
    return 0;
  }
  json_error_t jerr;
  json_t *root = json_loads(params, 0, &jerr);
  if (!root)
    return tml_error_set(err, TML_EINVAL, "job params: not JSON (%s at column %d): %.200s", jerr.text, jerr.column,
                         params);
  int rc = 0;
  if (!json_is_object(root)) {
    rc = tml_error_set(err, TML_EINVAL,
                       "job params: expected a JSON object of configuration keys, got %.200s", params);
    goto done;
  }
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if ((rc = check_entry(kind, key, v, err)))
      goto done;
  }
  char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory formatting job params");
    goto done;
  }
  if (strlen(text) >= outsz)
    rc = tml_error_set(err, TML_EINVAL, "job params too long (%zu bytes, max %zu)", strlen(text), outsz - 1);
  else
    snprintf(out, outsz, "%s", text);
  free(text);
done:
  json_decref(root);
  return rc;
}

int tml__job_params_upgrade(enum tml_job_kind kind, const char *params, char *out, size_t outsz, bool *changed,
                            struct tml_error *err) {
  *changed = false;
  json_t *root = json_loads(params && *params ? params : "{}", 0, NULL);
  if (!root || !json_is_object(root)) {
    json_decref(root);
    return tml_error_set(err, TML_EINVAL, "params are not a JSON object: %.200s", params ? params : "");
  }
  json_t *up = json_object();
  int rc = 0;
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    const char *nk = key;
    if (!strchr(key, '.') && !find_option(kind, key)) {
      nk = legacy_key(key);
      if (!nk) {
        rc = tml_error_set(err, TML_EINVAL,
                           "param '%s' was a flag of an older version that no configuration key replaces; "
                           "submit the job again",
                           key);
        break;
      }
      *changed = true;
    }
    json_object_set(up, nk, v);
  }
  if (!rc) {
    char *text = json_dumps(up, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text || strlen(text) >= outsz)
      rc = tml_error_set(err, TML_ETOOBIG, "upgraded params do not fit");
    else
      snprintf(out, outsz, "%s", text);
    free(text);
  }
  json_decref(up);
  json_decref(root);
  return rc;
}

int tml_job_params_each(const struct tml_job *j, tml_job_param_fn fn, void *ud, struct tml_error *err) {
  json_error_t jerr;
  json_t *root = json_loads(j->params[0] ? j->params : "{}", 0, &jerr);
  if (!root || !json_is_object(root)) {
    json_decref(root);
    return tml_error_set(err, TML_EINVAL, "job %" PRId64 ": params are not a JSON object: %.200s", j->id, j->params);
  }
  struct tml_buf text;
  tml_buf_init(&text, 1 << 16);
  int rc = 0;
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    tml_buf_reset(&text);
    const struct job_option *opt = find_option(j->kind, key);
    if (!opt && !strchr(key, '.')) {
      rc = tml_error_set(err, TML_EINVAL, "job %" PRId64 ": param '%s' is not a configuration key (resubmit it)",
                         j->id, key);
      break;
    }
    if (value_text(v, &text)) {
      rc = tml_error_set(err, TML_EINVAL, "job %" PRId64 ": param '%s' has a value of the wrong type", j->id, key);
      break;
    }
    if (opt && opt->is_switch && !json_is_true(v))
      continue;
    rc = fn(ud, opt ? NULL : key, opt ? opt->flag : NULL, opt && opt->is_switch ? NULL : tml_buf_str(&text));
    if (rc) {
      rc = tml_error_set(err, rc, "job %" PRId64 ": command line too long", j->id);
      break;
    }
  }
  tml_buf_release(&text);
  json_decref(root);
  return rc;
}

bool tml_job_option_known(enum tml_job_kind kind, const char *key) { return key && find_option(kind, key) != NULL; }
