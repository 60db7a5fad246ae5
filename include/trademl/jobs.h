/* The job table: training, validation, retraining and fetch jobs kept in the same SQLite file as the
 * candle store (WAL, bounded busy timeout). Clients submit (deduplicated atomically: an identical job
 * that is queued or running is returned instead of a new one), list, show, cancel and read counts;
 * workers claim jobs with a lease, heartbeat, report progress and finish them, and the finish step
 * applies the retry policy (exponential backoff up to max_attempts). See docs/jobs.md.
 *
 * A struct tml_jobs handle is one SQLite connection: use it from one thread at a time (open one per
 * thread; they all see the same table). */
#ifndef TML_JOBS_H
#define TML_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_error;
struct tml_buf;
struct tml_config;
struct tml_jobs; /* opaque */

enum tml_job_kind {
  TML_JOB_TRAIN,    /* trademl train --symbol S... --interval I [--days D] --json */
  TML_JOB_VALIDATE, /* trademl validate --symbol S --interval I --mode quick|full|sequential --json */
  TML_JOB_RETRAIN,  /* a scheduled retrain of a model: runs like train */
  TML_JOB_FETCH,    /* trademl data fetch --symbol S --interval I [--days D] */
  TML_JOB_NOOP,     /* hidden test kind: sleeps params.seconds, may fail (docs/jobs.md) */
  TML_JOB_KIND_COUNT
};

enum tml_job_status {
  TML_JOB_QUEUED,
  TML_JOB_RUNNING,
  TML_JOB_SUCCEEDED,
  TML_JOB_FAILED,
  TML_JOB_CANCELLED,
  TML_JOB_TIMED_OUT,
  TML_JOB_STATUS_COUNT
};

/* "train", "validate", ...; "queued", "running", ...; never NULL ("?" when out of range). */
const char *tml_job_kind_name(enum tml_job_kind k);
const char *tml_job_status_name(enum tml_job_status s);
/* Parse names (case-insensitive); TML_EINVAL listing the valid names. */
int tml_job_kind_parse(const char *s, enum tml_job_kind *out, struct tml_error *err);
int tml_job_status_parse(const char *s, enum tml_job_status *out, struct tml_error *err);
/* True for succeeded, failed, cancelled, timed_out. */
bool tml_job_status_final(enum tml_job_status s);

#define TML_JOB_MAX_SYMBOLS 64

/* What to run; input of tml_jobs_submit. Strings are borrowed for the call. */
struct tml_job_spec {
  enum tml_job_kind kind;
  const char *symbols[TML_JOB_MAX_SYMBOLS]; /* "BTCUSDT" or "BTC/USDT" (normalized by submit) */
  size_t nsymbols;                          /* >= 1 except for noop */
  const char *interval;                     /* "5m"; NULL = the handle's default interval */
  const char *strategy;                     /* NULL or "" = the handle's default strategy */
  const char *mode;                         /* validate: quick|full|sequential (NULL = quick); else NULL */
  double days;                              /* history days (0 = the command's default) */
  const char *params; /* NULL or a JSON object of configuration keys and values the job runs with,
                         {"training.num_boost_round":60}; values string/number/bool or a list of them.
                         Plus the kind's options that are not configuration (tml_job_option_known):
                         validate: force (bool); noop: seconds, fail_attempts, exit, record, tag.
                         The job's own fields (symbols, interval, days, strategy, mode) are refused here. */
  int priority;       /* higher runs first; default 0 */
  int max_attempts;   /* 0 = 1 + training.retry_attempts */
  int timeout_s;      /* wall-time limit of one attempt; 0 = training.job_timeout */
  const char *source; /* who asked: "cli", "api", "scheduler", "queue", "rotation"; NULL = "cli" */
};
/* Zeroes a spec (kind train, everything default). */
void tml_job_spec_init(struct tml_job_spec *s);

/* One row of the job table. Plain value struct: copy freely. */
struct tml_job {
  int64_t id;
  enum tml_job_kind kind;
  enum tml_job_status status;
  char symbols[1024];        /* comma-separated, normalized */
  char interval[8];          /* canonical ("5m") */
  char strategy[64];
  char mode[16];             /* validate mode, or "" */
  double days;
  char params[1024];         /* JSON object text, "{}" when none */
  char source[16];
  int priority;
  double progress;           /* 0..100 */
  char stage[64];            /* last reported stage ("features", "training direction"), or "" */
  int attempts;              /* attempts started so far */
  int max_attempts;
  int timeout_s;
  bool cancel_requested;     /* a running job asked to stop */
  char error[1024];          /* last error ("" when none) */
  char worker_id[96];        /* worker holding or last holding the job */
  int64_t lease_expires_ms;  /* 0 when not running */
  int64_t not_before_ms;     /* a retry waits until this time (backoff); 0 = now */
  int64_t created_ms, started_ms, finished_ms; /* started = start of the latest attempt; 0 = not yet */
  double elapsed_s;          /* seconds run, summed over attempts */
  char result[2048];         /* JSON summary of a success ({"accuracy":..., "hit_rate_tp1":...}), or "{}" */
  int64_t fence;             /* fencing token of the latest claim (0 = never claimed): grows with every
                                claim in the database; a worker acts on the job only under its own token */
};

/* One attempt of a job (history shown by `jobs show`). */
struct tml_job_attempt {
  int attempt;               /* 1-based */
  char worker_id[96];
  int64_t started_ms, finished_ms; /* finished 0 while running */
  enum tml_job_status outcome;     /* running, succeeded, failed, cancelled, timed_out */
  int exit_code;                   /* child's exit status, or -signal, or 0 */
  char error[512];
};

/* Defaults a handle applies to submitted jobs, and its database behaviour. */
struct tml_jobs_opts {
  int busy_timeout_ms;       /* wait this long for a lock, then TML_EBUSY "database ... is locked" */
  int default_max_attempts;  /* 1 + training.retry_attempts */
  int default_timeout_s;     /* training.job_timeout */
  double backoff_base_s;     /* retry n waits base * 2^(n-1) seconds (training.retry_backoff_seconds) */
  char default_interval[8];  /* data.interval */
  char default_strategy[64]; /* model.strategy */
  bool check_symbols;        /* submit refuses symbols with no stored candles at the interval
                                (train/validate/retrain); true by default */
  int max_running;           /* claim refuses when this many jobs hold a live lease, across all
                                processes (training.max_concurrent_jobs); 0 = no global limit */
};
void tml_jobs_opts_default(struct tml_jobs_opts *o);
/* Fills o from training.retry_attempts, job_timeout, retry_backoff_seconds, data.busy_timeout,
 * data.interval and model.strategy. 0 always (keys are validated by the config). */
int tml_jobs_opts_from_config(const struct tml_config *cfg, struct tml_jobs_opts *o, struct tml_error *err);

/* Opens the job table at db_path: a SQLite file (created with the schema when missing; the parent
 * folder must exist; WAL mode) or a postgresql:// URL (schema created/migrated; docs/cluster.md).
 * opts NULL = defaults. Caller closes with tml_jobs_close(). Returns 0, TML_EDB (message names the
 * path or the redacted URL), TML_EBUSY (locked longer than the timeout), TML_ENET (server unreachable
 * after data.connect_wait), TML_EPERM (authentication), TML_EINVAL (malformed URL), TML_ENOMEM. */
int tml_jobs_open(const char *db_path, const struct tml_jobs_opts *opts, struct tml_jobs **out,
                  struct tml_error *err);
void tml_jobs_close(struct tml_jobs *q); /* accepts NULL */
/* "sqlite" or "postgresql". */
const char *tml_jobs_backend_name(const struct tml_jobs *q);
/* True when the database answers a trivial statement now. Never waits for the reconnect budget (a
 * lost PostgreSQL connection is retried by a single attempt at most every 2 s), so /health can ask. */
bool tml_jobs_ping(struct tml_jobs *q);
/* The options the handle was opened with. */
const struct tml_jobs_opts *tml_jobs_options(const struct tml_jobs *q);

/* Submits a job. Validates kind, symbols (format, and stored candles when opts.check_symbols),
 * interval, mode and params; TML_EINVAL naming the bad field otherwise. Atomic deduplication (a
 * UNIQUE partial index over the job's identity while queued or running): when an identical job
 * (kind, symbols, interval, strategy, mode, days, params) is queued or running, its id is returned
 * and *existed is set. A train/retrain job for a symbol that is already queued or running under
 * another train/retrain job is also returned (a symbol training is never queued again).
 * existed may be NULL. Returns 0, TML_EINVAL, TML_ENOENT (symbol not stored), TML_EBUSY, TML_EDB. */
int tml_jobs_submit(struct tml_jobs *q, const struct tml_job_spec *spec, int64_t *id, bool *existed,
                    struct tml_error *err);

/* Reads one job. TML_ENOENT when there is no such id. */
int tml_jobs_get(struct tml_jobs *q, int64_t id, struct tml_job *out, struct tml_error *err);

struct tml_job_filter {
  unsigned status_mask; /* bit (1u << status); 0 = all */
  int kind;             /* enum tml_job_kind, or -1 = all */
  const char *symbol;   /* jobs that include this symbol, or NULL */
  const char *source;   /* or NULL */
  size_t limit;         /* 0 = 100; at most 1000 */
  size_t offset;
  bool oldest_first;    /* default newest first (id descending) */
};
void tml_job_filter_init(struct tml_job_filter *f); /* everything, newest first, limit 100 */

/* Lists jobs matching f (NULL = all). *out is malloc'ed (free()), NULL when *n == 0; *total (may be
 * NULL) is the number of matching jobs ignoring limit/offset. Returns 0, TML_EBUSY, TML_EDB, TML_ENOMEM. */
int tml_jobs_list(struct tml_jobs *q, const struct tml_job_filter *f, struct tml_job **out, size_t *n,
                  size_t *total, struct tml_error *err);

/* Number of jobs per status: counts[status]. */
int tml_jobs_counts(struct tml_jobs *q, size_t counts[TML_JOB_STATUS_COUNT], struct tml_error *err);

/* Attempt history of a job, oldest first; *out malloc'ed (free()). */
int tml_jobs_attempts(struct tml_jobs *q, int64_t id, struct tml_job_attempt **out, size_t *n,
                      struct tml_error *err);

/* Cancels a job. A queued job becomes cancelled at once; a running job gets cancel_requested and its
 * worker stops it (SIGTERM to the process group, SIGKILL after the grace period) within about a
 * second, then marks it cancelled. *status_after (may be NULL) is the status right after the call.
 * Returns 0, TML_ENOENT, TML_ECONFLICT (already finished: message says how), TML_EBUSY, TML_EDB. */
int tml_jobs_cancel(struct tml_jobs *q, int64_t id, enum tml_job_status *status_after, struct tml_error *err);

/* Deletes finished jobs that finished before before_ms (and their attempts); *deleted may be NULL. */
int tml_jobs_purge(struct tml_jobs *q, int64_t before_ms, size_t *deleted, struct tml_error *err);

/* JSON of one job ({"id":..,"kind":..,"status":..,...,"result":{...}}), appended to out. */
int tml_job_to_json(const struct tml_job *j, struct tml_buf *out);

/* ---- worker side (used by the runner; public for tests and other runners) ---- */

/* Claims the best runnable job (queued, not_before <= now, highest priority, oldest) in one
 * transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE SKIP LOCKED): status running,
 * attempts + 1, worker_id, lease until now + lease_s, an attempt row and a new fencing token
 * (out->fence) that every later call about this attempt must present. Jobs whose worker's lease
 * expired are first given back (or finished when out of attempts or cancel was requested). *got
 * false when nothing is runnable. */
int tml_jobs_claim(struct tml_jobs *q, const char *worker_id, int lease_s, struct tml_job *out, bool *got,
                   struct tml_error *err);
/* Extends the lease of a running job claimed under fencing token `fence` and reports whether cancel
 * was requested. TML_ECONFLICT when the job is no longer held under that token (lease lost). */
int tml_jobs_heartbeat(struct tml_jobs *q, int64_t id, int64_t fence, int lease_s, bool *cancel_requested,
                       struct tml_error *err);
/* Stores progress (clamped to 0..100) and stage (may be NULL) of a job running under `fence`;
 * TML_ECONFLICT (and a warning in the log) under a stale token. */
int tml_jobs_set_progress(struct tml_jobs *q, int64_t id, int64_t fence, double pct, const char *stage,
                          struct tml_error *err);
/* 0 when job id is running under fencing token `fence`; TML_ECONFLICT naming the current status and
 * token otherwise. A job's child checks it right before registering a model (TRADEML_JOB_FENCE). */
int tml_jobs_fence_check(struct tml_jobs *q, int64_t id, int64_t fence, struct tml_error *err);
/* Waits up to timeout_ms for a job to become runnable (PostgreSQL: LISTEN/NOTIFY, returns early when
 * one is submitted or requeued anywhere; SQLite: sleeps). */
void tml_jobs_wait(struct tml_jobs *q, int timeout_ms);

enum tml_job_outcome {
  TML_OUTCOME_SUCCEEDED,
  TML_OUTCOME_FAILED,      /* retried with backoff while attempts remain */
  TML_OUTCOME_FATAL,       /* failed, never retried (usage error, unknown symbol) */
  TML_OUTCOME_TIMED_OUT,   /* retried while attempts remain; final status timed_out */
  TML_OUTCOME_CANCELLED,
  TML_OUTCOME_REQUEUE,     /* worker stopping: give the job back, the attempt is not counted */
};
/* The outcome of a child that exited with exit_code (negative = killed by that signal) after reporting
 * error code reported (0 = none; see tml_job_report_error): success, a gate verdict of a validate job
 * (success), an error that cannot succeed on retry by the error table's retry column
 * (tml_error_retryable: too little data, unknown symbol, unresolvable host, bad input) = FATAL, else
 * FAILED (retried). A child that reported nothing is FATAL only for the usage exit code 2. */
enum tml_job_outcome tml_job_outcome_of(enum tml_job_kind kind, int exit_code, int reported);

/* Ends the current attempt of job id claimed under fencing token `fence`, applying the retry policy: a failure or
 * timeout with attempts left returns the job to queued with not_before = now + backoff; otherwise the
 * final status is set. error/result_json may be NULL. Also updates the new-symbol queue for jobs
 * from source "queue" (removed on success, error and attempts kept on final failure). elapsed_s is
 * this attempt's run time. *status_after may be NULL. TML_ECONFLICT when the token is stale (the lease
 * was lost and the job taken again or ended): nothing changes and the refusal is logged. */
int tml_jobs_finish(struct tml_jobs *q, int64_t id, int64_t fence, enum tml_job_outcome outcome,
                    int exit_code, double elapsed_s, const char *error, const char *result_json,
                    enum tml_job_status *status_after, struct tml_error *err);

/* Gives back running jobs whose lease expired before now_ms (their worker died): queued again while
 * attempts remain, else failed ("worker lost"); cancelled when cancel was requested. */
int tml_jobs_reap(struct tml_jobs *q, int64_t now_ms, size_t *reaped, struct tml_error *err);

/* ---- processes of the installation (trademl cluster status) ---- */

/* One process: a daemon, a worker, a scheduler. Rows are heartbeated every few seconds; a row whose
 * heartbeat is older than three periods is shown as lost. */
struct tml_cluster_process {
  char id[128];       /* "<host>:<pid>:<role>" */
  char host[64];
  char role[16];      /* "serve", "worker" */
  int64_t pid;
  int64_t started_ms, heartbeat_ms;
  int running;        /* jobs running now */
  char jobs[256];     /* their ids, comma-separated */
};
/* Inserts or updates p (by id). */
int tml_jobs_process_beat(struct tml_jobs *q, const struct tml_cluster_process *p, struct tml_error *err);
/* Every process row, by host, role, pid; *out malloc'ed (free()). */
int tml_jobs_processes(struct tml_jobs *q, struct tml_cluster_process **out, size_t *n, struct tml_error *err);
/* Removes a process row (a clean stop). */
int tml_jobs_process_remove(struct tml_jobs *q, const char *process_id, struct tml_error *err);

/* The argv a worker executes for job j (argv[0] = exe), e.g. exe --home H --set
 * training.num_boost_round=60 train --symbol X --interval 5m --days 30 --threads 2 --json: the
 * params' configuration keys as `--set KEY=VALUE` before the command, its options after it. home/config_path may be NULL; threads 0 = omitted.
 * Fills argv[0..*argc) with pointers into storage (a caller buffer of storage_size bytes),
 * argv[*argc] = NULL. TML_EINVAL when the params do not parse, TML_ETOOBIG when it does not fit. */
int tml_job_argv(const struct tml_job *j, const char *exe, const char *home, const char *config_path, int threads,
                 char **argv, size_t max_args, size_t *argc, char *storage, size_t storage_size,
                 struct tml_error *err);

/* Calls fn for each entry of a job's params, in key order: a configuration key with its value as text
 * (config_key set, flag NULL), or an option of the kind's command (config_key NULL, flag "--force",
 * value NULL for a switch that is on; switches that are off are skipped). Lists are joined with ','.
 * fn returns 0 to go on, or an error code that stops the walk (reported as "command line too long").
 * TML_EINVAL when the params do not parse or hold a key that is neither. */
typedef int (*tml_job_param_fn)(void *ud, const char *config_key, const char *flag, const char *value);
int tml_job_params_each(const struct tml_job *j, tml_job_param_fn fn, void *ud, struct tml_error *err);
/* True when key is an option of kind's command that params may carry ("force" for validate). */
bool tml_job_option_known(enum tml_job_kind kind, const char *key);

/* Log file of a job: <logs_dir>/jobs/<id>.log. TML_EINVAL when it does not fit. */
int tml_job_log_path(const char *logs_dir, int64_t id, char *out, size_t outsz, struct tml_error *err);

/* ---- the runner: N worker threads in this process, each supervising one child at a time ---- */

struct tml_runner; /* opaque */

struct tml_runner_opts {
  const char *db_path;          /* the database with the job table */
  const char *exe;              /* trademl binary the jobs run; NULL = /proc/self/exe */
  const char *home;             /* passed to children as --home (NULL = not passed) */
  const char *config_path;      /* passed to children as --config (NULL = not passed) */
  const char *logs_dir;         /* job logs under <logs_dir>/jobs/ */
  int concurrency;              /* jobs at once (training.max_concurrent_jobs) */
  int threads_total;            /* cores shared by running jobs; 0 = online cores. A job gets
                                   max(1, threads_total / concurrency) (passed as --threads) */
  int lease_s;                  /* training.lease_seconds */
  int cancel_grace_s;           /* SIGTERM -> SIGKILL delay (training.cancel_grace_seconds) */
  int poll_ms;                  /* idle wait between claims; default 500 */
  int progress_interval_s;      /* progress stored at most this often; default 2 */
  const char *worker_name;      /* prefix of worker ids; NULL = "<hostname>:<pid>" */
  bool exit_when_idle;          /* stop when no job is runnable or running (retrain, tests) */
  const char *role;             /* role in `trademl cluster status`: "worker" (NULL) or "serve" */
  struct tml_jobs_opts jobs;
};
void tml_runner_opts_default(struct tml_runner_opts *o);
/* Fills from training.max_concurrent_jobs, lease_seconds, cancel_grace_seconds, threads and the jobs
 * options; paths are left to the caller. */
int tml_runner_opts_from_config(const struct tml_config *cfg, struct tml_runner_opts *o, struct tml_error *err);

/* Starts the worker threads (each opens its own connection). Each job runs as a child process in its
 * own process group (fork, setpgid, exec of opts.exe), stdout+stderr to its log file, with the
 * attempt's wall-time limit; the child reports progress and its result through the fd named by
 * TRADEML_PROGRESS_FD (lines "progress <pct> <stage>" and "result <json>"), and dies with its worker
 * (PR_SET_PDEATHSIG). opts strings are copied. Caller stops and frees with tml_runner_destroy(). */
int tml_runner_start(const struct tml_runner_opts *opts, struct tml_runner **out, struct tml_error *err);

enum tml_runner_stop_mode {
  TML_RUNNER_DRAIN,   /* claim nothing new; wait for running jobs to finish */
  TML_RUNNER_REQUEUE, /* stop running children (SIGTERM, grace, SIGKILL) and give their jobs back */
};
/* Asks the threads to stop (async-signal-unsafe; call from a normal thread). Returns at once. */
void tml_runner_request_stop(struct tml_runner *r, enum tml_runner_stop_mode mode);
/* Waits until every thread has exited (after a stop request, or exit_when_idle). */
void tml_runner_join(struct tml_runner *r);
/* Requests a REQUEUE stop if none was requested, joins and frees. Accepts NULL. */
void tml_runner_destroy(struct tml_runner *r);

struct tml_runner_stats {
  size_t running;   /* children alive now */
  size_t max_running; /* highest seen */
  size_t started, succeeded, failed, timed_out, cancelled, requeued;
  size_t threads_alive; /* runner threads still claiming jobs (0 once exit_when_idle found nothing to do) */
};
void tml_runner_get_stats(struct tml_runner *r, struct tml_runner_stats *out); /* thread-safe */

/* For the child side: reports progress to the worker when TRADEML_PROGRESS_FD is set (no-op
 * otherwise). Throttled to one line per second unless pct >= 100. Async-safe enough for a progress
 * callback (serialised internally). */
void tml_job_report_progress(double pct, const char *stage);
/* Reports the result summary (a JSON object) of a successful job; no-op outside a job. */
void tml_job_report_result(const char *json);
/* Child side: reports the error the command fails with (code and message) to the worker, which
 * decides from it whether the job is retried (tml_job_outcome_of) and stores the message as the job's
 * error. No-op outside a job. Call once, just before exiting non-zero (cli_fail does). */
void tml_job_report_error(int code, const char *msg);
/* True when running as a job child (TRADEML_PROGRESS_FD set). */
bool tml_job_in_child(void);

#endif
