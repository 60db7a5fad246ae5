/* The model registry: one row per trained model set (strategy, symbols, interval, version, folder,
 * metrics, data range, feature set, input hash, job, time) and the active pointer, at most one
 * active version per (strategy, key, interval) where key is the set's folder key (the symbol, or
 * "MULTI-<hex>" for a multi-symbol set; see modelset.h). Registration decides activation by a
 * configurable policy in the same transaction that inserts the row. Retention deletes folders and
 * rows together; `check` finds rows whose folder is missing or corrupt and folders without rows.
 *
 * Storage sits behind a backend table of functions. The SQLite backend lives in the candle store's
 * database file (tables `models`, `model_symbols`), WAL mode, 5 s busy timeout, then TML_EBUSY
 * "database '<path>' is locked by another process". The PostgreSQL backend (a postgresql:// location)
 * also keeps every model set's files in the database (`model_files`, with checksums), registered in
 * the same transaction as the row, and writes them to a host's disk when a row is looked up there and
 * its folder is missing, so a set trained on one host is served on another without a shared file
 * system (docs/postgresql.md).
 * A handle is for one thread; open one per thread/process. See docs/registry.md. */
#ifndef TML_REGISTRY_H
#define TML_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_error;
struct tml_buf;
struct tml_config;
struct tml_registry; /* opaque */

#define TML_REGISTRY_BUSY_TIMEOUT_MS 5000

/* When a newly registered set becomes active (config model.activation.*). */
struct tml_activation_policy {
  bool require_gates;     /* a set without report.json (no gates run) stays inactive */
  char metric[128];       /* "<head>.<metric>" = metadata heads.<head>.metrics.<metric>
                             (default "direction.roc_auc_macro"), or "report.<a>.<b>..." = a number
                             at that path in report.json */
  double min_improvement; /* new must beat active by at least this (in the metric's better direction);
                             0 = "not worse" activates (ties activate the newer set) */
};

/* require_gates false, metric "direction.roc_auc_macro", min_improvement 0. */
void tml_activation_policy_default(struct tml_activation_policy *p);
/* Reads model.activation.require_gates/.metric/.min_improvement. 0 or TML_EINVAL (bad metric name). */
int tml_activation_policy_from_config(const struct tml_config *cfg, struct tml_activation_policy *p,
                                      struct tml_error *err);
/* True when a larger value of `metric` is better. Lower is better when the last path component
 * contains "logloss", "rmse", "mae", "loss" or "drawdown"; otherwise higher is better. */
bool tml_registry_metric_higher_is_better(const char *metric);

/* One registry row. Value struct: zero it (or tml_model_row_init) before first use; release the owned
 * strings with tml_model_row_release(). */
struct tml_model_row {
  int64_t id;                 /* > 0 */
  char strategy[64];
  char key[48];               /* folder key: the symbol, or "MULTI-<8 hex>" */
  char *symbols;              /* owned: comma-separated symbols of the set ("BTCUSDT" or "BTCUSDT,ETHUSDT") */
  size_t nsymbols;
  int64_t interval_ms;
  char version[64];           /* folder name, e.g. "20250101T000000Z" */
  char path[4200];            /* absolute or as-given folder of the set */
  bool active;
  char status_reason[256];    /* why active/inactive ("inactive: gates failed", "superseded by model 7") */
  char metric[128];           /* the metric that `score` holds (policy at registration) */
  double score;               /* value of `metric`; NAN when the set has none */
  bool has_report;            /* report.json was present at registration */
  bool gates_passed;          /* report.json gates.passed (false when !has_report) */
  int64_t data_from_ms;       /* first and last training row time (metadata data.first_row/last_row) */
  int64_t data_to_ms;
  int feature_version;        /* metadata feature_set.version */
  char feature_checksum[32];  /* metadata feature_set.checksum (16 hex) */
  char input_hash[17];        /* metadata data.input_hash (16 hex) */
  int64_t job_id;             /* job that trained it; 0 = none (CLI) */
  int64_t created_ms;         /* registration time (UTC ms) */
  char *metrics_json;         /* owned: compact JSON {"<head>":{<metrics>},...,"gates":{...}} */
  bool folder_missing;        /* set by list/get/active: the folder (or its metadata.json) is gone */
};

/* Model age means one thing everywhere (coverage, models list, /metrics; docs/registry.md):
 * tml_model_age_days = days since the set was trained (its registration, done right after training);
 * tml_model_data_age_days = days since the newest candle it was trained on (data_to_ms; NAN when the
 * row has none). Rotation retrains by the first; the second says how stale its knowledge is. */
double tml_model_age_days(const struct tml_model_row *r, int64_t now_ms);
double tml_model_data_age_days(const struct tml_model_row *r, int64_t now_ms);

void tml_model_row_init(struct tml_model_row *r);
/* Frees the owned strings and zeroes them; NULL allowed. */
void tml_model_row_release(struct tml_model_row *r);
/* Releases n rows and frees the array (as returned by list); NULL allowed. */
void tml_model_rows_free(struct tml_model_row *rows, size_t n);
/* Appends the row as a JSON object (all fields; times as ISO-8601 UTC). 0 or TML_ETOOBIG/ENOMEM. */
int tml_model_row_to_json(const struct tml_model_row *r, struct tml_buf *out);

/* Opens the registry in the SQLite database at db_path (created with its tables when missing; the
 * parent folder must exist). *out is a handle the caller closes with tml_registry_close().
 * Returns 0, TML_EBUSY (locked by another process beyond the busy timeout), TML_EDB, TML_ENOMEM. */
int tml_registry_open(const char *db_path, struct tml_registry **out, struct tml_error *err);
/* Closes the handle; NULL allowed. */
void tml_registry_close(struct tml_registry *reg);
/* Name of the backend ("sqlite", "postgresql"); never NULL. */
const char *tml_registry_backend(const struct tml_registry *reg);
/* Where this host keeps model sets fetched from the database (PostgreSQL): <models_dir>/<strategy>/<key>/
 * <interval>/<version>. Without it (or with NULL/"") a set is written back to the path it was registered
 * with, which suits hosts that share one layout. 0 or TML_EINVAL (too long). */
int tml_registry_set_cache_dir(struct tml_registry *reg, const char *models_dir, struct tml_error *err);
/* True when the backend keeps model files in the database. */
bool tml_registry_keeps_files(const struct tml_registry *reg);
/* Stores model id's folder in the database when the backend keeps files, the folder is on this host and
 * nothing is stored for it yet (`db migrate-from` uses it for sets registered before). *uploaded (may be
 * NULL) says whether it did. 0, TML_ENOENT (no such id), TML_EIO, TML_EBUSY, TML_EDB. */
int tml_registry_upload_files(struct tml_registry *reg, int64_t id, bool *uploaded, struct tml_error *err);

/* Registers the model-set folder model_dir (reads metadata.json and, when present, report.json) and
 * decides activation by `policy` (NULL = tml_activation_policy_default) against the active version of
 * the same (strategy, key, interval), in ONE transaction: a set becomes active when gates did not fail
 * (and were run, with require_gates) and its score is not worse than the active one's by the policy;
 * the previous active row is then deactivated with reason "superseded by model <id>". Otherwise the
 * row is kept inactive with the reason. job_id 0 = none; now_ms is the registration time.
 * On success *row (may be NULL) receives the new row; release it with tml_model_row_release().
 * Returns 0, TML_ENOENT (no folder or metadata.json), TML_EMODEL (metadata.json unreadable or
 * missing fields), TML_EEXIST (folder already registered; message names the id), TML_EBUSY, TML_EDB. */
int tml_registry_register(struct tml_registry *reg, const char *model_dir, int64_t job_id,
                          const struct tml_activation_policy *policy, int64_t now_ms, struct tml_model_row *row,
                          struct tml_error *err);

/* tml_registry_register for a job's attempt holding fencing token `fence` (> 0; 0 = no check, as
 * tml_registry_register): inside the registration's transaction, before anything is written, the job's
 * row in the job queue of the same database is checked to be running under exactly that token, and it
 * stays locked against the queue until the transaction ends, so an attempt whose lease was revoked (or
 * whose job was requeued, taken by another worker or ended) registers nothing, not even in a race with
 * the revocation. Returns what tml_registry_register does, plus TML_ESTALE (nothing registered; the
 * message names the job's current status, token and worker) and TML_EINVAL (fence without job_id). */
int tml_registry_register_fenced(struct tml_registry *reg, const char *model_dir, int64_t job_id, int64_t fence,
                                 const struct tml_activation_policy *policy, int64_t now_ms, struct tml_model_row *row,
                                 struct tml_error *err);

struct tml_registry_filter {
  const char *strategy; /* NULL = any */
  const char *symbol;   /* NULL = any; else sets that contain this symbol (single or multi) */
  int64_t interval_ms;  /* 0 = any */
  bool active_only;
};

/* Rows matching filter (NULL = all), newest first (created_ms, then id, descending). *rows is an array
 * the caller frees with tml_model_rows_free(*rows, *n) (NULL when *n == 0). Sets folder_missing.
 * Returns 0, TML_EBUSY, TML_EDB, TML_ENOMEM. */
int tml_registry_list(struct tml_registry *reg, const struct tml_registry_filter *filter, struct tml_model_row **rows,
                      size_t *n, struct tml_error *err);
/* Row `id` into *row (release with tml_model_row_release). Get, active and active_in_group bring a set
 * kept in the database to this host when its folder is missing here (see tml_registry_set_cache_dir);
 * a stored file whose checksum disagrees is TML_EMODEL. 0, TML_ENOENT, TML_EBUSY, TML_EDB, TML_EMODEL. */
int tml_registry_get(struct tml_registry *reg, int64_t id, struct tml_model_row *row, struct tml_error *err);
/* The active set for symbol at interval: the active row keyed by the symbol itself, else the newest
 * active multi-symbol set that lists it. strategy NULL = any. 0, TML_ENOENT (none active), TML_EBUSY,
 * TML_EDB. */
int tml_registry_active(struct tml_registry *reg, const char *strategy, const char *symbol, int64_t interval_ms,
                        struct tml_model_row *row, struct tml_error *err);
/* The active row of exactly the group (strategy, key, interval) a new set of that key would compete in
 * (key as tml_modelset_key). 0, TML_ENOENT (none active; err untouched), TML_EBUSY, TML_EDB. */
int tml_registry_active_in_group(struct tml_registry *reg, const char *strategy, const char *key, int64_t interval_ms,
                                 struct tml_model_row *row, struct tml_error *err);
/* Intervals at which `symbol` has a model of `strategy` (NULL = any): registry rows whose folder exists
 * here or whose files the database keeps (reg may be NULL) and model-set folders under models_dir (its own or a multi-symbol set listing it),
 * in the order of tml_interval_list(). Up to max into out; *n is the count. Used to default the
 * prediction interval to the only one there is, and to name the ones there are. Never fails. */
void tml_registry_model_intervals(struct tml_registry *reg, const char *models_dir, const char *strategy,
                                  const char *symbol, int64_t *out, size_t max, size_t *n);
/* Makes row `id` the active version of its (strategy, key, interval) by hand (rollback or forward), in
 * one transaction; the previous active row gets reason "deactivated: model <id> activated by hand".
 * Refuses a row whose folder is missing. 0 (also when already active), TML_ENOENT (no such id, or folder
 * missing), TML_EBUSY, TML_EDB. */
int tml_registry_activate(struct tml_registry *reg, int64_t id, struct tml_error *err);

struct tml_prune_report {
  struct tml_model_row *deleted; /* owned: rows deleted (or that would be, dry run), oldest first */
  size_t ndeleted;
  size_t kept_active;            /* kept because active (every active row, whatever its age) */
  size_t kept_newest;            /* inactive, old enough, but kept as one of the newest keep_newest of their group */
  size_t kept_recent;            /* inactive and younger than retention_days (or retention_days 0) */
};
void tml_prune_report_release(struct tml_prune_report *r);

/* Retention: deletes inactive rows with created_ms older than now_ms - retention_days, except the
 * keep_newest newest rows of each (strategy, key, interval), with their folders. For each: the folder
 * is renamed to the hidden "<parent>/.trash-<id>-<version>", the row is deleted in a transaction (only
 * while still inactive), then the trash is removed (a crash in between is reported by check). retention_days 0 = keep everything. dry_run: report
 * only. *report is filled (release with tml_prune_report_release). 0, TML_EBUSY, TML_EDB, TML_EIO. */
int tml_registry_prune(struct tml_registry *reg, int64_t now_ms, int retention_days, int keep_newest, bool dry_run,
                       struct tml_prune_report *report, struct tml_error *err);

enum tml_registry_problem_kind {
  TML_REGPROB_MISSING,      /* row whose folder (or metadata.json) is gone */
  TML_REGPROB_CORRUPT,      /* row whose metadata.json is unreadable, disagrees with the row, or a head file is missing */
  TML_REGPROB_UNREGISTERED, /* a model-set folder under models_dir that no row points to */
  TML_REGPROB_TRASH,        /* a ".trash-<id>-<version>" folder left by an interrupted prune */
  TML_REGPROB_STALE_TMP,    /* a ".tmp-*" folder of a killed training (tml_tmpdir_stale) */
};
struct tml_registry_problem {
  enum tml_registry_problem_kind kind;
  int64_t id;               /* the row; 0 when none */
  bool active;              /* the row is active (a missing active model is serious) */
  char path[4200];
  char detail[512];
};
/* Name of a problem kind ("missing", "corrupt", "unregistered", "trash", "stale-tmp"). */
const char *tml_registry_problem_name(enum tml_registry_problem_kind k);

/* Checks every row's folder, and (when models_dir is not NULL) scans models_dir/<strategy>/<key>/
 * <interval>/<version> for folders without rows, leftover trash and stale temporary folders (a
 * temporary folder whose training still runs is not a problem). *problems is an array the caller
 * frees with free() (NULL when *n == 0). Finding problems is not an error: returns 0, TML_EBUSY,
 * TML_EDB, TML_ENOMEM. */
int tml_registry_check(struct tml_registry *reg, const char *models_dir, struct tml_registry_problem **problems,
                       size_t *n, struct tml_error *err);

/* Removes the temporary folders that killed trainings left under models_dir/<strategy>/<key>/<interval>/
 * (stale by tml_tmpdir_stale with TML_TMPDIR_MIN_AGE_MS; a folder whose training still runs is kept).
 * Needs no registry: workers and the daemon call it at start, `models prune` too. dry_run: list only.
 * *removed (kind TML_REGPROB_STALE_TMP, detail saying why) is freed with free(), also on error; it holds
 * what was removed before a failure. 0, TML_EIO (a folder could not be removed), TML_ENOMEM. */
int tml_registry_sweep_tmp(const char *models_dir, int64_t now_ms, bool dry_run, struct tml_registry_problem **removed,
                           size_t *n, struct tml_error *err);

#endif
