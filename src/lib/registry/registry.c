/* The model registry's policy: what a model-set folder's row holds (read from its metadata.json and
 * report.json), when a new set becomes active, manual (re)activation, retention and consistency
 * checks. Storage is reached only through a backend table (registry_backend.h); every decision that
 * reads and then writes runs inside one backend write transaction, so two processes registering at
 * once cannot both make their set active. */
#include "trademl/registry.h"
#include "util/common.h"

#include <dirent.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/registry_backend.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/db.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/labels.h"
#include "trademl/log.h"
#include "trademl/mem.h"
#include "trademl/modelset.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"

struct tml_registry {
  const struct tml__registry_backend *be;
  void *db;
  char cache_dir[TML_PATH_MAX]; /* where this host keeps models fetched from the database; "" = their own path */
};

/* --- rows and policy -------------------------------------------------------------------------- */

void tml_model_row_init(struct tml_model_row *r) {
  memset(r, 0, sizeof(*r));
  r->score = (double)NAN;
}

void tml_model_row_release(struct tml_model_row *r) {
  if (!r)
    return;
  free(r->symbols);
  free(r->metrics_json);
  r->symbols = NULL;
  r->metrics_json = NULL;
}

void tml_model_rows_free(struct tml_model_row *rows, size_t n) {
  if (!rows)
    return;
  for (size_t i = 0; i < n; i++)
    tml_model_row_release(&rows[i]);
  free(rows);
}

double tml_model_age_days(const struct tml_model_row *r, int64_t now_ms) {
  return (double)(now_ms - r->created_ms) / (double)TML_MS_PER_DAY;
}

double tml_model_data_age_days(const struct tml_model_row *r, int64_t now_ms) {
  return r->data_to_ms ? (double)(now_ms - r->data_to_ms) / (double)TML_MS_PER_DAY : (double)NAN;
}

void tml_activation_policy_default(struct tml_activation_policy *p) {
  memset(p, 0, sizeof(*p));
  snprintf(p->metric, sizeof(p->metric), "direction.roc_auc_macro");
}

/* "<head>.<metric>" with a known head, or "report.<path>"; each component non-empty. */
static bool metric_valid(const char *m) {
  const char *dot = strchr(m, '.');
  if (!dot || dot == m || dot[1] == '\0' || strstr(m, "..") || m[strlen(m) - 1] == '.')
    return false;
  if (strncmp(m, "report.", 7) == 0)
    return true;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    const char *name = tml_head_name((enum tml_head)h);
    if (strlen(name) == (size_t)(dot - m) && strncmp(m, name, (size_t)(dot - m)) == 0)
      return strchr(dot + 1, '.') == NULL;
  }
  return false;
}

int tml_activation_policy_from_config(const struct tml_config *cfg, struct tml_activation_policy *p,
                                      struct tml_error *err) {
  tml_activation_policy_default(p);
  p->require_gates = tml_config_bool(cfg, "model.activation.require_gates");
  p->min_improvement = tml_config_double(cfg, "model.activation.min_improvement");
  const char *m = tml_config_get(cfg, "model.activation.metric");
  if (!m || !metric_valid(m) || strlen(m) >= sizeof(p->metric))
    return tml_error_set(err, TML_EINVAL,
                         "model.activation.metric '%s' is not a metric: use <head>.<metric> (direction.roc_auc_macro,"
                         " stop_loss.rmse, ...) or report.<path> (a number in report.json)",
                         m ? m : "");
  snprintf(p->metric, sizeof(p->metric), "%s", m);
  return 0;
}

bool tml_registry_metric_higher_is_better(const char *metric) {
  const char *last = strrchr(metric, '.');
  last = last ? last + 1 : metric;
  static const char *const lower[] = {"logloss", "rmse", "mae", "loss", "drawdown"};
  for (size_t i = 0; i < TML_ARRAY_LEN(lower); i++)
    if (strstr(last, lower[i]))
      return false;
  return true;
}

const char *tml_registry_problem_name(enum tml_registry_problem_kind k) {
  switch (k) {
  case TML_REGPROB_MISSING:
    return "missing";
  case TML_REGPROB_CORRUPT:
    return "corrupt";
  case TML_REGPROB_UNREGISTERED:
    return "unregistered";
  case TML_REGPROB_TRASH:
    return "trash";
  case TML_REGPROB_STALE_TMP:
    return "stale-tmp";
  }
  return "unknown";
}

static void put_time(struct tml_buf *b, const char *key, int64_t ms) {
  char ts[40];
  tml_time_format(ms, ts, sizeof(ts));
  tml_buf_printf(b, ",\"%s\":", key);
  tml_buf_json_str(b, ts);
}

int tml_model_row_to_json(const struct tml_model_row *r, struct tml_buf *b) {
  tml_buf_printf(b, "{\"id\":%" PRId64 ",\"strategy\":", r->id);
  tml_buf_json_str(b, r->strategy);
  tml_buf_puts(b, ",\"key\":");
  tml_buf_json_str(b, r->key);
  tml_buf_puts(b, ",\"symbols\":[");
  const char *s = r->symbols ? r->symbols : "";
  bool first = true;
  while (*s) {
    const char *end = strchr(s, ',');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    char sym[64];
    snprintf(sym, sizeof(sym), "%.*s", (int)TML_MIN(n, sizeof(sym) - 1), s);
    if (!first)
      tml_buf_putc(b, ',');
    tml_buf_json_str(b, sym);
    first = false;
    s += n;
    if (*s == ',')
      s++;
  }
  const char *iv = tml_interval_name(r->interval_ms);
  tml_buf_puts(b, "],\"interval\":");
  tml_buf_json_str(b, iv ? iv : "?");
  tml_buf_puts(b, ",\"version\":");
  tml_buf_json_str(b, r->version);
  tml_buf_puts(b, ",\"path\":");
  tml_buf_json_str(b, r->path);
  tml_buf_printf(b, ",\"active\":%s,\"status_reason\":", r->active ? "true" : "false");
  tml_buf_json_str(b, r->status_reason);
  tml_buf_puts(b, ",\"metric\":");
  tml_buf_json_str(b, r->metric);
  if (isnan(r->score))
    tml_buf_puts(b, ",\"score\":null");
  else
    tml_buf_printf(b, ",\"score\":%.12g", r->score);
  tml_buf_printf(b, ",\"has_report\":%s,\"gates_passed\":%s", r->has_report ? "true" : "false",
                 r->has_report ? (r->gates_passed ? "true" : "false") : "null");
  put_time(b, "data_from", r->data_from_ms);
  put_time(b, "data_to", r->data_to_ms);
  tml_buf_printf(b, ",\"feature_version\":%d,\"feature_checksum\":", r->feature_version);
  tml_buf_json_str(b, r->feature_checksum);
  tml_buf_puts(b, ",\"input_hash\":");
  tml_buf_json_str(b, r->input_hash);
  if (r->job_id)
    tml_buf_printf(b, ",\"job_id\":%" PRId64, r->job_id);
  else
    tml_buf_puts(b, ",\"job_id\":null");
  put_time(b, "created", r->created_ms);
  tml_buf_printf(b, ",\"folder_missing\":%s,\"metrics\":%s}", r->folder_missing ? "true" : "false",
                 r->metrics_json && *r->metrics_json ? r->metrics_json : "{}");
  return b->ptr ? 0 : TML_ENOMEM;
}

/* --- reading a model-set folder --------------------------------------------------------------- */

static bool folder_missing(const char *path) {
  char meta[4300];
  if (!tml_path_is_dir(path))
    return true;
  snprintf(meta, sizeof(meta), "%s/metadata.json", path);
  return !tml_path_exists(meta);
}

static void mark_missing(struct tml_model_row *r) { r->folder_missing = folder_missing(r->path); }

/* This host's folder for row r: its own path, or <cache_dir>/<strategy>/<key>/<interval>/<version> (the
 * last four components of the path it was registered with). */
static int local_folder(const struct tml_registry *reg, const struct tml_model_row *r, char *out, size_t outsz) {
  if (!reg->cache_dir[0])
    return snprintf(out, outsz, "%s", r->path) < (int)outsz ? 0 : TML_EINVAL;
  const char *tail = r->path + strlen(r->path);
  for (int parts = 0; tail > r->path;) {
    tail--;
    if (*tail == '/' && ++parts == 4) {
      tail++;
      break;
    }
  }
  return snprintf(out, outsz, "%s/%s", reg->cache_dir, tail) < (int)outsz ? 0 : TML_EINVAL;
}

/* Marks r's folder missing or not, first bringing it to this host when the backend keeps the artefacts
 * (PostgreSQL): the files are written (checksums verified) into local_folder() and r->path is set to it.
 * A set with no stored files stays missing (0); a corrupt one is an error (TML_EMODEL). */
static int find_folder(struct tml_registry *reg, struct tml_model_row *r, struct tml_error *err) {
  char local[sizeof(r->path)];
  if (!reg->be->get_files || local_folder(reg, r, local, sizeof(local)) != 0) {
    mark_missing(r);
    return 0;
  }
  if (folder_missing(local)) {
    size_t nfiles = 0, bytes = 0;
    struct tml_error e;
    tml_error_init(&e);
    int rc = reg->be->get_files(reg->db, r->id, local, &nfiles, &bytes, &e);
    if (rc && rc != TML_ENOENT)
      return tml_error_set(err, rc, "%s", e.msg);
    if (!rc && nfiles)
      tml_info("model %" PRId64 ": fetched %zu files (%zu bytes) from the database into '%s'", r->id, nfiles, bytes,
               local);
  }
  if (!folder_missing(local))
    snprintf(r->path, sizeof(r->path), "%s", local);
  mark_missing(r);
  return 0;
}

/* json value at a dotted path below root; NULL when any part is missing. */
static json_t *json_path(json_t *root, const char *path) {
  char part[128];
  json_t *v = root;
  while (v && *path) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof(part))
      return NULL;
    memcpy(part, path, n);
    part[n] = '\0';
    v = json_is_object(v) ? json_object_get(v, part) : NULL;
    path += n + (dot ? 1 : 0);
  }
  return v;
}

/* Score of `metric` from parsed metadata/report; NAN when absent or not a number. */
static double metric_value(json_t *meta, json_t *report, const char *metric) {
  json_t *v = NULL;
  if (strncmp(metric, "report.", 7) == 0) {
    /* "report.<metric>" is the walk-forward mean of a validation metric, whose names contain dots
     * (report.trading.sharpe -> summary["trading.sharpe"].mean); other paths are read literally. */
    json_t *summary = report ? json_object_get(report, "summary") : NULL;
    json_t *entry = summary ? json_object_get(summary, metric + 7) : NULL;
    v = entry ? json_object_get(entry, "mean") : report ? json_path(report, metric + 7) : NULL;
  } else {
    const char *dot = strchr(metric, '.');
    char head[64];
    if (!dot || (size_t)(dot - metric) >= sizeof(head))
      return (double)NAN;
    snprintf(head, sizeof(head), "%.*s", (int)(dot - metric), metric);
    json_t *heads = json_object_get(meta, "heads");
    json_t *h = heads ? json_object_get(heads, head) : NULL;
    v = h ? json_path(json_object_get(h, "metrics"), dot + 1) : NULL;
  }
  return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

static json_t *load_json(const char *path, char *why, size_t whysz) {
  json_error_t jerr;
  json_t *j = json_load_file(path, 0, &jerr);
  if (!j)
    snprintf(why, whysz, "line %d: %s", jerr.line, jerr.text);
  else if (!json_is_object(j)) {
    snprintf(why, whysz, "not a JSON object");
    json_decref(j);
    j = NULL;
  }
  return j;
}

static int time_field(json_t *data, const char *key, int64_t *out) {
  const char *s = json_string_value(json_object_get(data, key));
  *out = 0;
  return s && tml_time_parse(s, strlen(s), out) == 0 ? 0 : -1;
}

/* Compact metrics for the row: every number of heads.<head>.metrics, plus report gates. */
static char *metrics_summary(json_t *meta, json_t *report) {
  json_t *out = json_object();
  json_t *heads = json_object_get(meta, "heads");
  const char *hname;
  json_t *h;
  json_object_foreach(heads, hname, h) {
    json_t *m = json_object_get(h, "metrics"), *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
      if (json_is_number(v) && strcmp(k, "n") != 0 && strcmp(k, "nclass") != 0 && strcmp(k, "auc_skipped") != 0)
        json_object_set(o, k, v);
    }
    json_object_set_new(out, hname, o);
  }
  json_t *gates = report ? json_object_get(report, "gates") : NULL;
  if (gates)
    json_object_set(out, "gates", gates);
  json_t *verdict = report ? json_object_get(report, "passed") : NULL;
  if (json_is_boolean(verdict))
    json_object_set(out, "gates_passed", verdict);
  char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(10));
  json_decref(out);
  return text;
}

/* Reads dir/metadata.json (and report.json when present) into r; `metric` picks the score. */
static int read_set(const char *dir, const char *metric, struct tml_model_row *r, struct tml_error *err) {
  char path[4300], why[256] = "";
  json_t *meta = NULL, *report = NULL;
  int rc = 0;
  snprintf(path, sizeof(path), "%s/metadata.json", dir);
  if (!tml_path_exists(path))
    return tml_error_set(err, TML_ENOENT, "'%s' is not a model set: it has no metadata.json", dir);
  if (!(meta = load_json(path, why, sizeof(why))))
    return tml_error_set(err, TML_EMODEL, "cannot read '%s': %s", path, why);

  const char *strategy = json_string_value(json_object_get(meta, "strategy"));
  const char *version = json_string_value(json_object_get(meta, "version"));
  const char *interval = json_string_value(json_object_get(meta, "interval"));
  json_t *symbols = json_object_get(meta, "symbols");
  json_t *fs = json_object_get(meta, "feature_set");
  json_t *data = json_object_get(meta, "data");
  if (!strategy || !version || !interval || !json_is_array(symbols) || json_array_size(symbols) == 0 ||
      json_array_size(symbols) > 4096 || !json_is_object(fs) || !json_is_object(data)) {
    rc = tml_error_set(err, TML_EMODEL,
                       "'%s' lacks strategy, version, interval, symbols, feature_set or data: not a trademl model "
                       "set (or written by an incompatible version)", path);
    goto out;
  }
  if (tml_interval_parse(interval, &r->interval_ms, NULL) != 0) {
    rc = tml_error_set(err, TML_EMODEL, "'%s': unknown interval '%s'", path, interval);
    goto out;
  }
  snprintf(r->strategy, sizeof(r->strategy), "%s", strategy);
  snprintf(r->version, sizeof(r->version), "%s", version);
  snprintf(r->path, sizeof(r->path), "%s", dir);
  size_t n = json_array_size(symbols);
  const char *names[4096];
  struct tml_buf sb;
  tml_buf_init(&sb, 0);
  for (size_t i = 0; i < n; i++) {
    names[i] = json_string_value(json_array_get(symbols, i));
    if (!names[i] || !tml_symbol_valid(names[i])) {
      tml_buf_release(&sb);
      rc = tml_error_set(err, TML_EMODEL, "'%s': symbol %zu is not a valid symbol", path, i + 1);
      goto out;
    }
    if (i)
      tml_buf_putc(&sb, ',');
    tml_buf_puts(&sb, names[i]);
  }
  r->symbols = tml_buf_detach(&sb, NULL);
  r->nsymbols = n;
  tml_modelset_key(names, n, r->key, sizeof(r->key));
  r->feature_version = (int)json_integer_value(json_object_get(fs, "version"));
  const char *ck = json_string_value(json_object_get(fs, "checksum"));
  snprintf(r->feature_checksum, sizeof(r->feature_checksum), "%s", ck ? ck : "");
  const char *ih = json_string_value(json_object_get(data, "input_hash"));
  snprintf(r->input_hash, sizeof(r->input_hash), "%s", ih ? ih : "");
  time_field(data, "first_row", &r->data_from_ms);
  time_field(data, "last_row", &r->data_to_ms);

  /* report.json: walk-forward validation with gate verdicts; absent = no gates were run. */
  snprintf(path, sizeof(path), "%s/report.json", dir);
  r->has_report = tml_path_exists(path);
  if (r->has_report) {
    report = load_json(path, why, sizeof(why));
    /* validate_report.c writes "gates": [per-gate results] and the overall verdict as "passed". */
    json_t *passed = report ? json_object_get(report, "passed") : NULL;
    r->gates_passed = json_is_true(passed);
    if (!report)
      snprintf(r->status_reason, sizeof(r->status_reason), "report.json unreadable (%.200s)", why);
    else if (!json_is_boolean(passed))
      snprintf(r->status_reason, sizeof(r->status_reason), "report.json has no \"passed\" gate verdict");
  }
  snprintf(r->metric, sizeof(r->metric), "%s", metric);
  r->score = metric_value(meta, report, metric);
  r->metrics_json = metrics_summary(meta, report);
  if (!r->symbols || !r->metrics_json)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory reading '%s'", dir);
out:
  json_decref(meta);
  json_decref(report);
  return rc;
}

/* Score of `metric` for the set in dir, for comparing against an active row registered under another
 * metric; NAN when the folder cannot be read. */
static double folder_score(const char *dir, const char *metric) {
  struct tml_model_row r;
  tml_model_row_init(&r);
  double s = read_set(dir, metric, &r, NULL) == 0 ? r.score : (double)NAN;
  tml_model_row_release(&r);
  return s;
}

/* metadata.json "comparison" of a set (written by training, train.c comparison_json): the incumbent
 * scored on this set's validation rows. */
struct comparison {
  bool present, scored;
  char incumbent_path[4200];
  double score;          /* the incumbent's value of the policy metric on those rows; NAN = none */
  json_int_t rows;
  char from[32], to[32];
  char error[512];       /* why the incumbent could not be scored */
};

static void read_comparison(const char *dir, const char *metric, struct comparison *c) {
  memset(c, 0, sizeof(*c));
  c->score = (double)NAN;
  char path[4300], why[256];
  snprintf(path, sizeof(path), "%s/metadata.json", dir);
  json_t *meta = load_json(path, why, sizeof(why));
  json_t *o = meta ? json_object_get(meta, "comparison") : NULL;
  if (json_is_object(o)) {
    c->present = true;
    const char *ip = json_string_value(json_object_get(o, "incumbent_path"));
    snprintf(c->incumbent_path, sizeof(c->incumbent_path), "%s", ip ? ip : "");
    const char *e = json_string_value(json_object_get(o, "error"));
    snprintf(c->error, sizeof(c->error), "%s", e ? e : "");
    c->scored = !e && json_is_object(json_object_get(o, "heads"));
    c->rows = json_integer_value(json_object_get(o, "rows"));
    const char *f = json_string_value(json_object_get(o, "from")), *t = json_string_value(json_object_get(o, "to"));
    snprintf(c->from, sizeof(c->from), "%s", f ? f : "");
    snprintf(c->to, sizeof(c->to), "%s", t ? t : "");
    /* "report.*" metrics come from a walk-forward run, not from the validation rows. */
    if (c->scored && strncmp(metric, "report.", 7) != 0)
      c->score = metric_value(o, NULL, metric);
  }
  json_decref(meta);
}

/* Absolute, normalised form of path ("." and ".." folded, no repeated or trailing '/'), without
 * resolving symbolic links (realpath is not in plain POSIX 2008 here). Registered paths and scanned
 * paths both go through it, so they compare equal. 0 or -1 when it does not fit / no cwd. */
static int abs_path(const char *path, char *out, size_t outsz) {
  char joined[8400];
  if (path[0] == '/') {
    snprintf(joined, sizeof(joined), "%s", path);
  } else {
    char cwd[4096];
    if (!getcwd(cwd, sizeof(cwd)))
      return -1;
    snprintf(joined, sizeof(joined), "%s/%s", cwd, path);
  }
  size_t len = 0;
  out[0] = '\0';
  const char *s = joined;
  while (*s) {
    while (*s == '/')
      s++;
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0)
      break;
    if (n == 1 && s[0] == '.') {
      /* skip */
    } else if (n == 2 && s[0] == '.' && s[1] == '.') {
      char *slash = strrchr(out, '/');
      len = slash ? (size_t)(slash - out) : 0;
      out[len] = '\0';
    } else {
      if (len + 1 + n + 1 > outsz)
        return -1;
      out[len++] = '/';
      memcpy(out + len, s, n);
      len += n;
      out[len] = '\0';
    }
    s += n;
  }
  if (len == 0)
    snprintf(out, outsz, "/");
  return 0;
}

/* --- handle ----------------------------------------------------------------------------------- */

int tml_registry_open(const char *db_path, struct tml_registry **out, struct tml_error *err) {
  *out = NULL;
  struct tml_registry *reg = calloc(1, sizeof(*reg));
  if (!reg)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the model registry");
  reg->be = tml_db_kind_of(db_path) == TML_DB_POSTGRES ? &tml__registry_pg : &tml__registry_sqlite;
  int rc = reg->be->open(db_path, &reg->db, err);
  if (rc) {
    free(reg);
    return rc;
  }
  *out = reg;
  return 0;
}

void tml_registry_close(struct tml_registry *reg) {
  if (!reg)
    return;
  reg->be->close(reg->db);
  free(reg);
}

const char *tml_registry_backend(const struct tml_registry *reg) { return reg ? reg->be->name : "none"; }

int tml_registry_set_cache_dir(struct tml_registry *reg, const char *models_dir, struct tml_error *err) {
  if (!models_dir || !models_dir[0]) {
    reg->cache_dir[0] = '\0';
    return 0;
  }
  return abs_path(models_dir, reg->cache_dir, sizeof(reg->cache_dir)) == 0
             ? 0
             : tml_error_set(err, TML_EINVAL, "models folder '%.200s...' is too long", models_dir);
}

bool tml_registry_keeps_files(const struct tml_registry *reg) { return reg && reg->be->put_files; }

int tml_registry_upload_files(struct tml_registry *reg, int64_t id, bool *uploaded, struct tml_error *err) {
  if (uploaded)
    *uploaded = false;
  const struct tml__registry_backend *be = reg->be;
  if (!be->put_files)
    return 0;
  struct tml_model_row r;
  tml_model_row_init(&r);
  int rc = be->get(reg->db, id, &r, err);
  if (rc)
    return rc;
  size_t have = 0;
  if ((rc = be->count_files(reg->db, id, &have, err)) || have || folder_missing(r.path))
    goto out;
  if ((rc = be->begin(reg->db, err)))
    goto out;
  if ((rc = be->put_files(reg->db, id, r.path, err)) || (rc = be->commit(reg->db, err))) {
    be->rollback(reg->db);
    goto out;
  }
  if (uploaded)
    *uploaded = true;
out:
  tml_model_row_release(&r);
  return rc;
}

/* --- registration ----------------------------------------------------------------------------- */

/* Decides whether `r` replaces `cur` (NULL = no active row). Fills r->status_reason; returns true to
 * activate. The incumbent's figure is its score on r's own validation rows when training recorded one
 * for this very incumbent (c), so both are judged on the same rows; otherwise its registered score on
 * its own rows, and the reason says so. *cmp_out receives what was compared (NULL when nothing was). */
static bool decide(const struct tml_activation_policy *p, struct tml_model_row *r, const struct tml_model_row *cur,
                   const struct comparison *c, json_t **cmp_out) {
  *cmp_out = NULL;
  const char *iv = tml_interval_name(r->interval_ms);
  if (r->has_report && !r->gates_passed) {
    if (!r->status_reason[0]) /* read_set words unreadable reports */
      snprintf(r->status_reason, sizeof(r->status_reason), "walk-forward gates failed (report.json)");
    return false;
  }
  if (!r->has_report && p->require_gates) {
    snprintf(r->status_reason, sizeof(r->status_reason),
             "no walk-forward report (model.activation.require_gates is true)");
    return false;
  }
  if (!cur) {
    snprintf(r->status_reason, sizeof(r->status_reason), "first active model for %s %s %s", r->strategy, r->key,
             iv ? iv : "?");
    return true;
  }
  if (folder_missing(cur->path)) {
    snprintf(r->status_reason, sizeof(r->status_reason), "replaces model %" PRId64 " whose folder is missing",
             cur->id);
    return true;
  }
  double old = strcmp(cur->metric, p->metric) == 0 ? cur->score : folder_score(cur->path, p->metric);
  char cur_abs[4200] = "", cmp_abs[4200] = "", note[600] = "";
  bool same_rows = false;
  if (c->present && abs_path(cur->path, cur_abs, sizeof(cur_abs)) == 0 &&
      abs_path(c->incumbent_path, cmp_abs, sizeof(cmp_abs)) == 0 && strcmp(cur_abs, cmp_abs) != 0)
    snprintf(note, sizeof(note), "the set was scored against '%.300s', not the active model %" PRId64,
             c->incumbent_path, cur->id);
  else if (c->present && !c->scored)
    snprintf(note, sizeof(note), "the active model could not be scored on the same rows: %.500s", c->error);
  else if (c->present && strncmp(p->metric, "report.", 7) == 0)
    snprintf(note, sizeof(note), "%s is a walk-forward figure of each set's own run", p->metric);
  else if (c->present && isnan(c->score))
    snprintf(note, sizeof(note), "no %s for the active model on the same rows", p->metric);
  else if (c->present)
    same_rows = true;
  else
    snprintf(note, sizeof(note), "no comparison on the same rows in metadata.json (registered by hand or trained "
                                 "before the model became active)");
  if (same_rows)
    old = c->score;
  json_t *cj = json_object();
  json_object_set_new(cj, "incumbent_id", json_integer((json_int_t)cur->id));
  json_object_set_new(cj, "metric", json_string(p->metric));
  json_object_set_new(cj, "challenger", isnan(r->score) ? json_null() : json_real(r->score));
  json_object_set_new(cj, "incumbent", isnan(old) ? json_null() : json_real(old));
  json_object_set_new(cj, "same_rows", json_boolean(same_rows));
  if (same_rows) {
    json_object_set_new(cj, "rows", json_integer(c->rows));
    json_object_set_new(cj, "from", json_string(c->from));
    json_object_set_new(cj, "to", json_string(c->to));
  } else {
    json_object_set_new(cj, "note", json_string(note));
  }
  *cmp_out = cj;
  char rows_said[160];
  if (same_rows)
    snprintf(rows_said, sizeof(rows_said), " on the same %lld validation rows", (long long)c->rows);
  else
    snprintf(rows_said, sizeof(rows_said), " (own rows; not compared on the same rows)");
  if (isnan(old)) {
    snprintf(r->status_reason, sizeof(r->status_reason), "replaces model %" PRId64 ", which has no %s", cur->id,
             p->metric);
    return true;
  }
  if (isnan(r->score)) {
    snprintf(r->status_reason, sizeof(r->status_reason), "no %s to compare with active model %" PRId64 " (%.6g)",
             p->metric, cur->id, old);
    return false;
  }
  double gain = tml_registry_metric_higher_is_better(p->metric) ? r->score - old : old - r->score;
  if (gain >= p->min_improvement) {
    char why[700];
    snprintf(why, sizeof(why), "%s %.6g vs %.6g of model %" PRId64 "%s", p->metric, r->score, old, cur->id, rows_said);
    snprintf(r->status_reason, sizeof(r->status_reason), "%.255s", why);
    return true;
  }
  char why[700];
  if (p->min_improvement > 0 && gain >= 0)
    snprintf(why, sizeof(why),
             "%s %.6g does not beat %.6g of active model %" PRId64 " by %g (model.activation.min_improvement)%s",
             p->metric, r->score, old, cur->id, p->min_improvement, rows_said);
  else
    snprintf(why, sizeof(why), "%s %.6g is worse than %.6g of active model %" PRId64 "%s", p->metric, r->score, old,
             cur->id, rows_said);
  snprintf(r->status_reason, sizeof(r->status_reason), "%.255s", why);
  return false;
}

int tml__registry_fence_verdict(int64_t job_id, int64_t fence, const char *status, int64_t current,
                                const char *worker, struct tml_error *err) {
  if (status && strcmp(status, "running") == 0 && current == fence)
    return 0;
  if (!status)
    return tml_error_set(err, TML_ESTALE, "job %" PRId64 ": fencing token %" PRId64 " is stale (there is no such job)",
                         job_id, fence);
  return tml_error_set(err, TML_ESTALE,
                       "job %" PRId64 ": fencing token %" PRId64 " is stale (the job is %s under token %" PRId64
                       ", worker %s)",
                       job_id, fence, status, current, worker && worker[0] ? worker : "none");
}

int tml_registry_register(struct tml_registry *reg, const char *model_dir, int64_t job_id,
                          const struct tml_activation_policy *policy, int64_t now_ms, struct tml_model_row *row,
                          struct tml_error *err) {
  return tml_registry_register_fenced(reg, model_dir, job_id, 0, policy, now_ms, row, err);
}

int tml_registry_register_fenced(struct tml_registry *reg, const char *model_dir, int64_t job_id, int64_t fence,
                                 const struct tml_activation_policy *policy, int64_t now_ms, struct tml_model_row *row,
                                 struct tml_error *err) {
  struct tml_activation_policy defp;
  if (!policy) {
    tml_activation_policy_default(&defp);
    policy = &defp;
  }
  struct tml_model_row r, cur;
  tml_model_row_init(&r);
  tml_model_row_init(&cur);
  if (row)
    tml_model_row_init(row);
  char real[4200];
  if (abs_path(model_dir, real, sizeof(real)) != 0)
    return tml_error_set(err, TML_EINVAL, "cannot register model set '%s': path too long", model_dir);
  if (!tml_path_is_dir(real))
    return tml_error_set(err, TML_ENOENT, "cannot register model set '%s': no such folder", model_dir);
  int rc = read_set(real, policy->metric, &r, err);
  if (rc)
    goto out;
  r.job_id = job_id;
  r.created_ms = now_ms;

  const struct tml__registry_backend *be = reg->be;
  if (fence > 0 && job_id <= 0) {
    rc = tml_error_set(err, TML_EINVAL, "cannot register model set '%s': fencing token %" PRId64 " without a job id",
                       model_dir, fence);
    goto out;
  }
  if ((rc = be->begin(reg->db, err)))
    goto out;
  /* The attempt's claim is checked first, inside this transaction, and holds until it commits. */
  if (fence > 0 && (rc = be->job_fence(reg->db, job_id, fence, err)))
    goto rollback;
  int64_t existing = 0;
  if ((rc = be->find_path(reg->db, r.path, &existing, err)))
    goto rollback;
  if (existing) {
    rc = tml_error_set(err, TML_EEXIST, "model set '%s' is already registered as model %" PRId64, r.path, existing);
    goto rollback;
  }
  rc = be->active_in_group(reg->db, r.strategy, r.key, r.interval_ms, &cur, err);
  if (rc && rc != TML_ENOENT)
    goto rollback;
  bool have_cur = rc == 0;
  struct comparison cmp;
  read_comparison(real, policy->metric, &cmp);
  json_t *cmp_json = NULL;
  bool activate = decide(policy, &r, have_cur ? &cur : NULL, &cmp, &cmp_json);
  if (cmp_json) { /* recorded with the row: both figures and the rows they came from */
    json_t *mj = json_loads(r.metrics_json, 0, NULL);
    char *text = NULL;
    if (json_is_object(mj)) {
      json_object_set(mj, "comparison", cmp_json);
      text = json_dumps(mj, JSON_COMPACT | JSON_REAL_PRECISION(10));
    }
    json_decref(mj);
    json_decref(cmp_json);
    if (!text) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory registering '%s'", real);
      goto rollback;
    }
    free(r.metrics_json);
    r.metrics_json = text;
  }
  r.active = false;
  if ((rc = be->insert(reg->db, &r, &r.id, err)))
    goto rollback;
  /* The artefacts go with the row (same transaction) where the backend keeps them. */
  if (be->put_files && (rc = be->put_files(reg->db, r.id, real, err)))
    goto rollback;
  if (activate) {
    char why[128];
    snprintf(why, sizeof(why), "superseded by model %" PRId64, r.id);
    if (have_cur && (rc = be->set_active(reg->db, cur.id, false, why, err)))
      goto rollback;
    if ((rc = be->set_active(reg->db, r.id, true, r.status_reason, err)))
      goto rollback;
    r.active = true;
  }
  if ((rc = be->commit(reg->db, err)))
    goto rollback;
  mark_missing(&r);
  if (row) {
    *row = r;
    tml_model_row_init(&r);
  }
  goto out;
rollback:
  be->rollback(reg->db);
out:
  tml_model_row_release(&r);
  tml_model_row_release(&cur);
  return rc;
}

/* --- reading ---------------------------------------------------------------------------------- */

int tml_registry_list(struct tml_registry *reg, const struct tml_registry_filter *filter, struct tml_model_row **rows,
                      size_t *n, struct tml_error *err) {
  int rc = reg->be->list(reg->db, filter, rows, n, err);
  for (size_t i = 0; !rc && i < *n; i++)
    mark_missing(&(*rows)[i]);
  return rc;
}

int tml_registry_get(struct tml_registry *reg, int64_t id, struct tml_model_row *row, struct tml_error *err) {
  tml_model_row_init(row);
  int rc = reg->be->get(reg->db, id, row, err);
  if (!rc)
    rc = find_folder(reg, row, err);
  return rc;
}

int tml_registry_active(struct tml_registry *reg, const char *strategy, const char *symbol, int64_t interval_ms,
                        struct tml_model_row *row, struct tml_error *err) {
  tml_model_row_init(row);
  int rc = reg->be->active_for_symbol(reg->db, strategy, symbol, interval_ms, row, err);
  if (rc == TML_ENOENT) {
    const char *iv = tml_interval_name(interval_ms);
    return tml_error_set(err, TML_ENOENT, "no active model for %s %s%s%s in the registry", symbol, iv ? iv : "?",
                         strategy ? " strategy " : "", strategy ? strategy : "");
  }
  if (!rc)
    rc = find_folder(reg, row, err);
  return rc;
}

int tml_registry_active_in_group(struct tml_registry *reg, const char *strategy, const char *key, int64_t interval_ms,
                                 struct tml_model_row *row, struct tml_error *err) {
  tml_model_row_init(row);
  struct tml_error e;
  tml_error_init(&e);
  int rc = reg->be->active_in_group(reg->db, strategy, key, interval_ms, row, &e);
  if (rc == 0)
    rc = find_folder(reg, row, err);
  else if (rc != TML_ENOENT)
    tml_error_set(err, rc, "%s", e.msg);
  return rc;
}

void tml_registry_model_intervals(struct tml_registry *reg, const char *models_dir, const char *strategy,
                                  const char *symbol, int64_t *out, size_t max, size_t *n) {
  *n = 0;
  struct tml_model_row *rows = NULL;
  size_t nrows = 0;
  struct tml_registry_filter f = {.strategy = strategy, .symbol = symbol};
  if (reg && tml_registry_list(reg, &f, &rows, &nrows, NULL) != 0)
    nrows = 0;
  const char *list = tml_interval_list();
  while (*list && *n < max) {
    size_t len = strcspn(list, ", ");
    char name[16];
    snprintf(name, sizeof(name), "%.*s", (int)TML_MIN(len, sizeof(name) - 1), list);
    list += len;
    list += strspn(list, ", ");
    int64_t iv = 0;
    if (!name[0] || tml_interval_parse(name, &iv, NULL) != 0)
      continue;
    bool have = false;
    for (size_t i = 0; i < nrows && !have; i++)
      have = rows[i].interval_ms == iv && !rows[i].folder_missing;
    /* A set whose folder is not on this host counts when this host's cache holds it or the database
     * keeps its files (it comes here when served); asked only for a listed interval nothing else
     * covers yet. */
    for (size_t i = 0; i < nrows && !have && reg->be->get_files; i++) {
      char local[sizeof(rows[i].path)];
      size_t stored = 0;
      have = rows[i].interval_ms == iv &&
             ((local_folder(reg, &rows[i], local, sizeof(local)) == 0 && !folder_missing(local)) ||
              (reg->be->count_files(reg->db, rows[i].id, &stored, NULL) == 0 && stored > 0));
    }
    char dir[4096];
    if (!have && models_dir && strategy)
      have = tml_modelset_find_latest(models_dir, strategy, symbol, iv, dir, sizeof(dir), NULL) == 0;
    if (have)
      out[(*n)++] = iv;
  }
  tml_model_rows_free(rows, nrows);
}

/* --- activation by hand ----------------------------------------------------------------------- */

int tml_registry_activate(struct tml_registry *reg, int64_t id, struct tml_error *err) {
  const struct tml__registry_backend *be = reg->be;
  struct tml_model_row r, cur;
  tml_model_row_init(&r);
  tml_model_row_init(&cur);
  int rc = be->begin(reg->db, err);
  if (rc)
    return rc;
  if ((rc = be->get(reg->db, id, &r, err)))
    goto rollback;
  if (r.active)
    goto commit;
  if (folder_missing(r.path)) {
    rc = tml_error_set(err, TML_ENOENT,
                       "model %" PRId64 " cannot be activated: its folder '%s' (or its metadata.json) is missing; "
                       "'trademl models check' lists such rows",
                       id, r.path);
    goto rollback;
  }
  rc = be->active_in_group(reg->db, r.strategy, r.key, r.interval_ms, &cur, err);
  if (rc && rc != TML_ENOENT)
    goto rollback;
  if (rc == 0) {
    char why[128];
    snprintf(why, sizeof(why), "deactivated: model %" PRId64 " activated by hand", id);
    if ((rc = be->set_active(reg->db, cur.id, false, why, err)))
      goto rollback;
  }
  if ((rc = be->set_active(reg->db, id, true, "activated by hand", err)))
    goto rollback;
commit:
  if ((rc = be->commit(reg->db, err)))
    goto rollback;
  goto out;
rollback:
  be->rollback(reg->db);
out:
  tml_model_row_release(&r);
  tml_model_row_release(&cur);
  return rc;
}

/* --- retention -------------------------------------------------------------------------------- */

void tml_prune_report_release(struct tml_prune_report *r) {
  if (!r)
    return;
  tml_model_rows_free(r->deleted, r->ndeleted);
  memset(r, 0, sizeof(*r));
}

/* Group order (strategy, key, interval), newest first inside a group. */
static int cmp_group_newest(const void *a, const void *b) {
  const struct tml_model_row *x = a, *y = b;
  int c = strcmp(x->strategy, y->strategy);
  if (!c)
    c = strcmp(x->key, y->key);
  if (!c)
    c = (x->interval_ms > y->interval_ms) - (x->interval_ms < y->interval_ms);
  if (!c)
    c = (x->created_ms < y->created_ms) - (x->created_ms > y->created_ms);
  if (!c)
    c = (x->id < y->id) - (x->id > y->id);
  return c;
}

static int cmp_oldest(const void *a, const void *b) {
  const struct tml_model_row *x = a, *y = b;
  int c = (x->created_ms > y->created_ms) - (x->created_ms < y->created_ms);
  return c ? c : (x->id > y->id) - (x->id < y->id);
}

static bool same_group(const struct tml_model_row *a, const struct tml_model_row *b) {
  return strcmp(a->strategy, b->strategy) == 0 && strcmp(a->key, b->key) == 0 && a->interval_ms == b->interval_ms;
}

/* "<dir of path>/.trash-<id>-<version folder>": hidden, so folder scans (tml_modelset_find_latest) skip it. */
static void trash_name(const struct tml_model_row *r, char *out, size_t outsz) {
  const char *slash = strrchr(r->path, '/');
  if (!slash)
    snprintf(out, outsz, ".trash-%" PRId64 "-%s", r->id, r->path);
  else
    snprintf(out, outsz, "%.*s/.trash-%" PRId64 "-%s", (int)(slash - r->path), r->path, r->id, slash + 1);
}

/* Deletes one row and its folder: folder -> trash name, row deleted in a transaction, trash removed.
 * *deleted false when the row became active meanwhile (the folder is moved back). */
static int prune_one(struct tml_registry *reg, const struct tml_model_row *r, bool *deleted, struct tml_error *err) {
  char trash[4300];
  trash_name(r, trash, sizeof(trash));
  bool moved = false;
  *deleted = false;
  if (tml_path_exists(r->path)) {
    if (rename(r->path, trash) != 0)
      return tml_error_set(err, TML_EIO, "cannot move model %" PRId64 " folder '%s' to '%s' for deletion: %s", r->id,
                           r->path, trash, strerror(errno));
    moved = true;
  }
  int rc = reg->be->begin(reg->db, err);
  if (!rc && (rc = reg->be->remove_inactive(reg->db, r->id, deleted, err)) == 0)
    rc = reg->be->commit(reg->db, err);
  if (rc) {
    reg->be->rollback(reg->db);
    *deleted = false;
  }
  if (!*deleted) {
    if (moved && rename(trash, r->path) != 0 && !rc)
      rc = tml_error_set(err, TML_EIO, "cannot move '%s' back to '%s': %s; 'trademl models check' reports it", trash,
                         r->path, strerror(errno));
    return rc;
  }
  if (moved)
    return tml_rm_rf(trash, err);
  return 0;
}

int tml_registry_prune(struct tml_registry *reg, int64_t now_ms, int retention_days, int keep_newest, bool dry_run,
                       struct tml_prune_report *report, struct tml_error *err) {
  memset(report, 0, sizeof(*report));
  struct tml_model_row *rows = NULL;
  size_t n = 0;
  int rc = reg->be->list(reg->db, NULL, &rows, &n, err);
  if (rc)
    return rc;
  if (n > 1)
    qsort(rows, n, sizeof(*rows), cmp_group_newest);
  int64_t cutoff = now_ms - (int64_t)retention_days * TML_MS_PER_DAY;
  bool *victim = calloc(n ? n : 1, sizeof(bool));
  if (!victim) {
    tml_model_rows_free(rows, n);
    return tml_error_set(err, TML_ENOMEM, "out of memory pruning models");
  }
  size_t nvictims = 0, rank = 0;
  for (size_t i = 0; i < n; i++) {
    rank = (i > 0 && same_group(&rows[i - 1], &rows[i])) ? rank + 1 : 0;
    bool old = retention_days > 0 && rows[i].created_ms < cutoff;
    /* Active first: an active version is kept for that reason whatever its age, so the count of kept
     * active versions equals the number of active rows (young ones were once counted as recent). */
    if (rows[i].active)
      report->kept_active++;
    else if (!old)
      report->kept_recent++;
    else if (rank < (size_t)(keep_newest > 0 ? keep_newest : 0))
      report->kept_newest++;
    else {
      victim[i] = true;
      nvictims++;
    }
  }
  report->deleted = calloc(nvictims ? nvictims : 1, sizeof(*report->deleted));
  if (!report->deleted) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory pruning models");
    goto out;
  }
  /* Move the victims into the report (oldest first) so the report owns their strings. */
  for (size_t i = 0; i < n; i++) {
    if (!victim[i])
      continue;
    report->deleted[report->ndeleted++] = rows[i];
    tml_model_row_init(&rows[i]);
  }
  qsort(report->deleted, report->ndeleted, sizeof(*report->deleted), cmp_oldest);
  if (dry_run)
    goto out;
  size_t done = 0;
  for (size_t i = 0; i < report->ndeleted; i++) {
    struct tml_model_row *r = &report->deleted[i];
    bool deleted = false;
    if (!rc)
      rc = prune_one(reg, r, &deleted, err);
    if (deleted) { /* keep it in the report, compacted to the front */
      struct tml_model_row keep = *r;
      tml_model_row_init(r);
      report->deleted[done++] = keep;
    } else { /* became active meanwhile, or not reached after a failure */
      tml_model_row_release(r);
    }
  }
  report->ndeleted = done;
out:
  free(victim);
  tml_model_rows_free(rows, n);
  return rc;
}

/* --- consistency check ------------------------------------------------------------------------ */

struct problems {
  struct tml_registry_problem *v;
  size_t n, cap;
};

static int add_problem(struct problems *p, enum tml_registry_problem_kind kind, const struct tml_model_row *r,
                       const char *path, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int add_problem(struct problems *p, enum tml_registry_problem_kind kind, const struct tml_model_row *r,
                       const char *path, const char *fmt, ...) {
  struct tml_registry_problem *g = tml_grow(p->v, &p->cap, p->n, sizeof(*g), 8);
  if (!g)
    return TML_ENOMEM;
  p->v = g;
  struct tml_registry_problem *q = &p->v[p->n++];
  memset(q, 0, sizeof(*q));
  q->kind = kind;
  q->id = r ? r->id : 0;
  q->active = r && r->active;
  snprintf(q->path, sizeof(q->path), "%s", path);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(q->detail, sizeof(q->detail), fmt, ap);
  va_end(ap);
  return 0;
}

/* Problems of one registered folder that exists. */
static int check_row(struct problems *p, const struct tml_model_row *r) {
  struct tml_model_row disk;
  struct tml_error e;
  tml_error_init(&e);
  tml_model_row_init(&disk);
  int rc = 0;
  if (read_set(r->path, r->metric[0] ? r->metric : "direction.roc_auc_macro", &disk, &e)) {
    rc = add_problem(p, TML_REGPROB_CORRUPT, r, r->path, "%s", e.msg);
    goto out;
  }
  if (strcmp(disk.version, r->version) != 0 || strcmp(disk.input_hash, r->input_hash) != 0 ||
      strcmp(disk.key, r->key) != 0 || disk.interval_ms != r->interval_ms) {
    rc = add_problem(p, TML_REGPROB_CORRUPT, r, r->path,
                     "metadata.json (version %s, input hash %s, key %s) disagrees with the row (version %s, input "
                     "hash %s, key %s): the folder was replaced",
                     disk.version, disk.input_hash, disk.key, r->version, r->input_hash, r->key);
    goto out;
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    char f[4400];
    struct stat st;
    snprintf(f, sizeof(f), "%s/%s_model.json", r->path, tml_head_name((enum tml_head)h));
    if (stat(f, &st) != 0 || st.st_size == 0) {
      rc = add_problem(p, TML_REGPROB_CORRUPT, r, r->path, "head file '%s_model.json' is %s",
                       tml_head_name((enum tml_head)h), stat(f, &st) != 0 ? "missing" : "empty");
      goto out;
    }
  }
out:
  tml_model_row_release(&disk);
  return rc;
}

static bool row_has_path(const struct tml_model_row *rows, size_t n, const char *path) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(rows[i].path, path) == 0)
      return true;
  return false;
}

/* models_dir/<strategy>/<key>/<interval>/<version>: folders without rows, leftover trash, temporary
 * folders of killed attempts. */
static int scan_dir(struct problems *p, const char *dir, int depth, const struct tml_model_row *rows, size_t n,
                    int64_t now_ms) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int rc = 0;
  struct dirent *e;
  while (!rc && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char child[4300];
    snprintf(child, sizeof(child), "%s/%s", dir, e->d_name);
    if (!tml_path_is_dir(child))
      continue;
    if (depth < 3) {
      if (e->d_name[0] != '.')
        rc = scan_dir(p, child, depth + 1, rows, n, now_ms);
      continue;
    }
    char why[200];
    if (tml_tmpdir_stale(child, now_ms, TML_TMPDIR_MIN_AGE_MS, why, sizeof(why))) {
      rc = add_problem(p, TML_REGPROB_STALE_TMP, NULL, child,
                       "temporary folder of a killed training (%s): 'trademl models prune' removes it, as does "
                       "the next worker or daemon start",
                       why);
      continue;
    }
    if (strncmp(e->d_name, ".trash-", 7) == 0) {
      rc = add_problem(p, TML_REGPROB_TRASH, NULL, child,
                       "left by an interrupted prune: remove it (rm -r) unless its model id is still listed");
      continue;
    }
    if (e->d_name[0] == '.')
      continue; /* .tmp-*: a set being written (or too young to tell) */
    char meta[4400];
    snprintf(meta, sizeof(meta), "%s/metadata.json", child);
    if (!tml_path_exists(meta))
      continue;
    char real[4300];
    if (abs_path(child, real, sizeof(real)) != 0)
      memcpy(real, child, sizeof(real));
    if (!row_has_path(rows, n, real))
      rc = add_problem(p, TML_REGPROB_UNREGISTERED, NULL, real,
                       "model set with no registry row: register it with 'trademl models register %s' or delete it",
                       real);
  }
  closedir(d);
  return rc;
}

int tml_registry_check(struct tml_registry *reg, const char *models_dir, struct tml_registry_problem **problems,
                       size_t *n, struct tml_error *err) {
  *problems = NULL;
  *n = 0;
  struct tml_model_row *rows = NULL;
  size_t nrows = 0;
  int rc = reg->be->list(reg->db, NULL, &rows, &nrows, err);
  if (rc)
    return rc;
  struct problems p = {0};
  for (size_t i = 0; i < nrows && !rc; i++) {
    const struct tml_model_row *r = &rows[i];
    if (!tml_path_is_dir(r->path)) {
      char trash[4300];
      trash_name(r, trash, sizeof(trash));
      rc = add_problem(&p, TML_REGPROB_MISSING, r, r->path, "folder is gone%s%s",
                       tml_path_exists(trash) ? "; a prune was interrupted, its files are in " : "",
                       tml_path_exists(trash) ? trash : "");
    } else {
      rc = check_row(&p, r);
    }
  }
  if (!rc && models_dir)
    rc = scan_dir(&p, models_dir, 0, rows, nrows, tml_now_ms());
  tml_model_rows_free(rows, nrows);
  if (rc) {
    free(p.v);
    return tml_error_set(err, TML_ENOMEM, "out of memory checking the model registry");
  }
  *problems = p.v;
  *n = p.n;
  return 0;
}

/* models_dir/<strategy>/<key>/<interval>/.tmp-*: removes (or lists) the stale ones. */
static int sweep_dir(struct problems *p, const char *dir, int depth, int64_t now_ms, bool dry_run,
                     struct tml_error *err) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int rc = 0;
  struct dirent *e;
  while (!rc && (e = readdir(d))) {
    if (e->d_name[0] == '.' && (depth < 3 || strncmp(e->d_name, TML_TMPDIR_PREFIX, strlen(TML_TMPDIR_PREFIX)) != 0))
      continue;
    char child[4300];
    snprintf(child, sizeof(child), "%s/%s", dir, e->d_name);
    if (depth < 3) {
      if (tml_path_is_dir(child))
        rc = sweep_dir(p, child, depth + 1, now_ms, dry_run, err);
      continue;
    }
    char why[200];
    if (!tml_tmpdir_stale(child, now_ms, TML_TMPDIR_MIN_AGE_MS, why, sizeof(why)))
      continue;
    if (!dry_run && (rc = tml_rm_rf(child, err)))
      break;
    if (add_problem(p, TML_REGPROB_STALE_TMP, NULL, child, "%s", why))
      rc = tml_error_set(err, TML_ENOMEM, "out of memory sweeping '%s'", dir);
  }
  closedir(d);
  return rc;
}

int tml_registry_sweep_tmp(const char *models_dir, int64_t now_ms, bool dry_run, struct tml_registry_problem **removed,
                           size_t *n, struct tml_error *err) {
  *removed = NULL;
  *n = 0;
  struct problems p = {0};
  int rc = sweep_dir(&p, models_dir, 0, now_ms, dry_run, err);
  *removed = p.v;
  *n = p.n;
  return rc;
}
