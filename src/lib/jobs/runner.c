/* The job runner: N threads in one process (the `trademl worker` command or the daemon), each claiming
 * one job at a time and supervising it as a child process group: the same trademl binary with the
 * job's subcommand and flags, so a job runs exactly as the CLI does. Each thread heartbeats the lease,
 * stores progress reported on the child's fd 3 at most every few seconds, enforces the wall-time limit
 * and cancellation (SIGTERM to the group, SIGKILL after a grace period) and finishes the job with the
 * retry policy. The child dies with its worker thread (PR_SET_PDEATHSIG), so a killed worker leaves
 * no training behind; its job is taken again when the lease expires. */
#include "trademl/jobs.h"
#include "util/common.h"

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/log.h"
#include "trademl/proc.h"
#include "trademl/timeutil.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

/* ---- argv of a job ---- */

struct argv_builder {
  char **argv;
  size_t max, n;
  char *storage;
  size_t size, used;
  bool overflow;
  int pass; /* params: 0 = configuration keys, 1 = command options */
};

static void add_arg(struct argv_builder *b, const char *s) {
  size_t len = strlen(s) + 1;
  if (b->n + 1 >= b->max || b->used + len > b->size) {
    b->overflow = true;
    return;
  }
  memcpy(b->storage + b->used, s, len);
  b->argv[b->n++] = b->storage + b->used;
  b->used += len;
}

static int add_param(void *ud, const char *config_key, const char *flag, const char *value) {
  struct argv_builder *b = ud;
  if (config_key && b->pass == 0) {
    char kv[4096];
    int n = snprintf(kv, sizeof(kv), "%s=%s", config_key, value);
    if (n < 0 || (size_t)n >= sizeof(kv)) {
      b->overflow = true;
      return 0;
    }
    add_arg(b, "--set");
    add_arg(b, kv);
  } else if (flag && b->pass == 1) {
    add_arg(b, flag);
    if (value)
      add_arg(b, value);
  }
  return 0;
}

int tml_job_argv(const struct tml_job *j, const char *exe, const char *home, const char *config_path, int threads,
                 char **argv, size_t max_args, size_t *argc, char *storage, size_t storage_size,
                 struct tml_error *err) {
  struct argv_builder b = {argv, max_args, 0, storage, storage_size, 0, false, 0};
  *argc = 0;
  add_arg(&b, exe);
  if (home && *home) {
    add_arg(&b, "--home");
    add_arg(&b, home);
  }
  if (config_path && *config_path) {
    add_arg(&b, "--config");
    add_arg(&b, config_path);
  }
  /* The params' configuration keys, as global --set KEY=VALUE before the command. */
  b.pass = 0;
  int prc = tml_job_params_each(j, add_param, &b, err);
  if (prc)
    return prc;
  char num[64];
  switch (j->kind) {
  case TML_JOB_TRAIN:
  case TML_JOB_RETRAIN:
    add_arg(&b, "train");
    break;
  case TML_JOB_VALIDATE:
    add_arg(&b, "validate");
    break;
  case TML_JOB_FETCH:
    add_arg(&b, "data");
    add_arg(&b, "fetch");
    break;
  case TML_JOB_NOOP:
    add_arg(&b, "jobs");
    add_arg(&b, "noop");
    break;
  default:
    return tml_error_set(err, TML_EINVAL, "job %" PRId64 ": unknown kind", j->id);
  }
  if (j->kind != TML_JOB_NOOP) {
    add_arg(&b, "--symbol");
    const char *p = j->symbols;
    while (*p) {
      const char *c = strchr(p, ',');
      size_t len = c ? (size_t)(c - p) : strlen(p);
      char sym[64];
      snprintf(sym, sizeof(sym), "%.*s", (int)TML_MIN(len, sizeof(sym) - 1), p);
      add_arg(&b, sym);
      p += len + (c ? 1 : 0);
    }
    add_arg(&b, "--interval");
    add_arg(&b, j->interval);
    if (j->days > 0) {
      snprintf(num, sizeof(num), "%.10g", j->days);
      add_arg(&b, "--days");
      add_arg(&b, num);
    }
  }
  if (j->kind == TML_JOB_VALIDATE) {
    add_arg(&b, "--mode");
    add_arg(&b, j->mode[0] ? j->mode : "quick");
  }
  if (j->kind == TML_JOB_TRAIN || j->kind == TML_JOB_RETRAIN) {
    add_arg(&b, "--strategy");
    add_arg(&b, j->strategy);
  }
  if (threads > 0 && j->kind != TML_JOB_FETCH && j->kind != TML_JOB_NOOP) {
    snprintf(num, sizeof(num), "%d", threads);
    add_arg(&b, "--threads");
    add_arg(&b, num);
  }
  /* The options of the kind's command (validate --force; noop --seconds ...). */
  b.pass = 1;
  prc = tml_job_params_each(j, add_param, &b, err);
  if (prc)
    return prc;
  if (j->kind != TML_JOB_FETCH && j->kind != TML_JOB_NOOP)
    add_arg(&b, "--json");
  if (b.overflow)
    return tml_error_set(err, TML_ETOOBIG, "job %" PRId64 ": command line too long", j->id);
  argv[b.n] = NULL;
  *argc = b.n;
  return 0;
}

/* ---- child side ---- */

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static double last_report_s = -1e9;

static int report_fd(void) {
  const char *s = getenv("TRADEML_PROGRESS_FD");
  if (!s || !*s)
    return -1;
  int fd = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9' || fd > 100000)
      return -1;
    fd = fd * 10 + (*p - '0');
  }
  return fd;
}

bool tml_job_in_child(void) { return report_fd() >= 0; }

static void write_all(int fd, const char *s, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, s, len);
    if (w <= 0)
      return;
    s += w;
    len -= (size_t)w;
  }
}

void tml_job_report_progress(double pct, const char *stage) {
  int fd = report_fd();
  if (fd < 0)
    return;
  pthread_mutex_lock(&report_lock);
  double now = tml_monotonic_s();
  if (pct >= 100 || now - last_report_s >= 1.0) {
    last_report_s = now;
    char line[256];
    int n = snprintf(line, sizeof(line), "progress %.1f %s\n", pct, stage ? stage : "");
    for (int i = 0; i < n - 1; i++)
      if (line[i] == '\n')
        line[i] = ' ';
    if (n > 0)
      write_all(fd, line, TML_MIN((size_t)n, sizeof(line) - 1));
  }
  pthread_mutex_unlock(&report_lock);
}

void tml_job_report_result(const char *json) {
  int fd = report_fd();
  if (fd < 0 || !json)
    return;
  pthread_mutex_lock(&report_lock);
  write_all(fd, "result ", 7);
  /* One line on the pipe: write the spans between newlines. */
  for (const char *p = json; *p;) {
    size_t n = strcspn(p, "\n");
    if (n)
      write_all(fd, p, n);
    p += n;
    while (*p == '\n')
      p++;
  }
  write_all(fd, "\n", 1);
  pthread_mutex_unlock(&report_lock);
}

void tml_job_report_error(int code, const char *msg) {
  int fd = report_fd();
  if (fd < 0 || code == 0)
    return;
  char line[1200];
  int n = snprintf(line, sizeof(line), "error %d %s", code, msg && *msg ? msg : tml_strerror(code));
  if (n <= 0)
    return;
  size_t len = TML_MIN((size_t)n, sizeof(line) - 2);
  for (size_t i = 0; i < len; i++)
    if (line[i] == '\n' || line[i] == '\r')
      line[i] = ' ';
  line[len++] = '\n';
  pthread_mutex_lock(&report_lock);
  write_all(fd, line, len);
  pthread_mutex_unlock(&report_lock);
}

/* ---- the runner ---- */

struct tml_runner {
  struct tml_runner_opts o;
  char *db_path, *exe, *home, *config_path, *logs_dir, *worker_name;
  int job_threads;
  pthread_t *threads;
  size_t nthreads;
  pthread_mutex_t lock;
  bool stop;
  enum tml_runner_stop_mode stop_mode;
  bool joined;
  size_t idle_threads;
  struct tml_runner_stats stats;
  int64_t *current;    /* job id each thread runs now (0 = none), for the process heartbeat */
  pthread_t beat_thread;
  bool beat_started;
  char role[16];
};

void tml_runner_opts_default(struct tml_runner_opts *o) {
  memset(o, 0, sizeof(*o));
  o->concurrency = 3;
  o->lease_s = 60;
  o->cancel_grace_s = 10;
  o->poll_ms = 500;
  o->progress_interval_s = 2;
  tml_jobs_opts_default(&o->jobs);
}

int tml_runner_opts_from_config(const struct tml_config *cfg, struct tml_runner_opts *o, struct tml_error *err) {
  tml_runner_opts_default(o);
  o->concurrency = (int)tml_config_int(cfg, "training.max_concurrent_jobs");
  o->lease_s = (int)tml_config_int(cfg, "training.lease_seconds");
  o->cancel_grace_s = (int)tml_config_int(cfg, "training.cancel_grace_seconds");
  o->threads_total = (int)tml_config_int(cfg, "training.threads");
  return tml_jobs_opts_from_config(cfg, &o->jobs, err);
}

static bool stopping(struct tml_runner *r, enum tml_runner_stop_mode *mode) {
  pthread_mutex_lock(&r->lock);
  bool s = r->stop;
  if (mode)
    *mode = r->stop_mode;
  pthread_mutex_unlock(&r->lock);
  return s;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Last non-empty line of a log file (for the error message of a failed job). */
static void log_tail(const char *path, char *out, size_t outsz) {
  out[0] = '\0';
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return;
  char buf[1024];
  off_t end = lseek(fd, 0, SEEK_END);
  off_t start = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, start);
  close(fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  char *line = strrchr(buf, '\n');
  const char *last = line ? line + 1 : buf;
  size_t len = TML_MIN(strlen(last), outsz - 1);
  memcpy(out, last, len);
  out[len] = '\0';
}

struct child_reports {
  char partial[4096];
  size_t plen;
  double pct;
  char stage[64];
  bool progress_new;
  char result[2048];
  int error_code;       /* reported by the child before exiting (0 = none) */
  char error_msg[1024];
};

static void parse_report_line(struct child_reports *cr, const char *line) {
  if (strncmp(line, "progress ", 9) == 0) {
    char *end = NULL;
    double pct = strtod(line + 9, &end);
    if (end && end != line + 9) {
      cr->pct = pct;
      while (*end == ' ')
        end++;
      snprintf(cr->stage, sizeof(cr->stage), "%s", end);
      cr->progress_new = true;
    }
  } else if (strncmp(line, "result ", 7) == 0) {
    snprintf(cr->result, sizeof(cr->result), "%s", line + 7);
  } else if (strncmp(line, "error ", 6) == 0) {
    char *end = NULL;
    long code = strtol(line + 6, &end, 10);
    if (end && end != line + 6 && code < 0 && code > -10000) {
      cr->error_code = (int)code;
      while (*end == ' ')
        end++;
      snprintf(cr->error_msg, sizeof(cr->error_msg), "%s", end);
    }
  }
}

static void drain_reports(struct tml_proc *p, struct child_reports *cr) {
  char buf[4096];
  size_t n;
  while ((n = tml_proc_read_report(p, buf, sizeof(buf))) > 0) {
    for (size_t i = 0; i < n; i++) {
      if (buf[i] == '\n') {
        cr->partial[cr->plen] = '\0';
        parse_report_line(cr, cr->partial);
        cr->plen = 0;
      } else if (cr->plen + 1 < sizeof(cr->partial)) {
        cr->partial[cr->plen++] = buf[i];
      }
    }
  }
}

static void stat_add(struct tml_runner *r, size_t *field, long delta) {
  pthread_mutex_lock(&r->lock);
  *field = (size_t)((long)*field + delta);
  if (field == &r->stats.running && r->stats.running > r->stats.max_running)
    r->stats.max_running = r->stats.running;
  pthread_mutex_unlock(&r->lock);
}

static void run_job(struct tml_runner *r, struct tml_jobs *q, const char *worker_id, const struct tml_job *j) {
  struct tml_error err;
  tml_error_init(&err);
  char *argv[512];
  size_t argc = 0;
  char storage[16384];
  char log_path[TML_PATH_MAX], dir[TML_PATH_MAX];
  char msg[1024] = "";
  enum tml_job_outcome outcome = TML_OUTCOME_FAILED;
  int exit_code = 0;
  double t0 = tml_monotonic_s(), elapsed = 0;
  struct child_reports cr;
  memset(&cr, 0, sizeof(cr));
  snprintf(dir, sizeof(dir), "%s/jobs", r->logs_dir);
  if (tml_job_argv(j, r->exe, r->home, r->config_path, r->job_threads, argv, TML_ARRAY_LEN(argv), &argc, storage,
                   sizeof(storage), &err) ||
      tml_mkdir_p(dir, &err) || tml_job_log_path(r->logs_dir, j->id, log_path, sizeof(log_path), &err)) {
    snprintf(msg, sizeof(msg), "%s", err.msg);
    outcome = TML_OUTCOME_FATAL;
    goto finish;
  }
  /* A header line per attempt, so `jobs show` tells attempts apart. */
  {
    FILE *lf = fopen(log_path, "a");
    if (lf) {
      char now[32];
      tml_time_format(tml_now_ms(), now, sizeof(now));
      fprintf(lf, "=== job %" PRId64 " attempt %d/%d by %s at %s:", j->id, j->attempts, j->max_attempts, worker_id,
              now);
      for (size_t i = 1; i < argc; i++)
        fprintf(lf, " %s", argv[i]);
      fputc('\n', lf);
      fclose(lf);
    }
  }
  char env_id[64], env_attempt[64], env_fence[64];
  snprintf(env_id, sizeof(env_id), "TRADEML_JOB_ID=%" PRId64, j->id);
  snprintf(env_attempt, sizeof(env_attempt), "TRADEML_JOB_ATTEMPT=%d", j->attempts);
  snprintf(env_fence, sizeof(env_fence), "TRADEML_JOB_FENCE=%" PRId64, j->fence);
  const char *env_extra[] = {env_id, env_attempt, env_fence, NULL};
  struct tml_proc proc;
  if (tml_proc_spawn(argv, env_extra, log_path, true, &proc, &err)) {
    snprintf(msg, sizeof(msg), "%s", err.msg);
    outcome = TML_OUTCOME_FAILED;
    goto finish;
  }
  stat_add(r, &r->stats.started, 1);
  stat_add(r, &r->stats.running, 1);
  double hb_every = TML_MAX(1.0, r->o.lease_s / 3.0);
  double last_hb = tml_monotonic_s(), last_progress = 0, kill_at = 0;
  enum { R_NONE, R_CANCEL, R_TIMEOUT, R_REQUEUE, R_LOST } reason = R_NONE;
  bool exited = false;
  while (!exited) {
    exited = tml_proc_poll(&proc, &exit_code);
    drain_reports(&proc, &cr);
    double now = tml_monotonic_s();
    if (cr.progress_new && now - last_progress >= r->o.progress_interval_s) {
      tml_error_clear(&err);
      if (tml_jobs_set_progress(q, j->id, j->fence, cr.pct, cr.stage, &err) == 0) {
        cr.progress_new = false;
        last_progress = now;
      }
    }
    if (exited)
      break;
    if (now - last_hb >= hb_every) {
      bool cancel = false;
      tml_error_clear(&err);
      int rc = tml_jobs_heartbeat(q, j->id, j->fence, r->o.lease_s, &cancel, &err);
      if (rc == 0)
        last_hb = now;
      if (rc == TML_ECONFLICT && reason == R_NONE) {
        reason = R_LOST;
        tml_proc_kill_group(&proc, SIGKILL);
      }
      if (cancel && reason == R_NONE) {
        reason = R_CANCEL;
        tml_proc_kill_group(&proc, SIGTERM);
        kill_at = now + r->o.cancel_grace_s;
      }
    }
    enum tml_runner_stop_mode mode;
    if (reason == R_NONE && now - t0 > j->timeout_s) {
      reason = R_TIMEOUT;
      tml_proc_kill_group(&proc, SIGTERM);
      kill_at = now + r->o.cancel_grace_s;
    } else if (reason == R_NONE && stopping(r, &mode) && mode == TML_RUNNER_REQUEUE) {
      reason = R_REQUEUE;
      tml_proc_kill_group(&proc, SIGTERM);
      kill_at = now + r->o.cancel_grace_s;
    }
    if (reason != R_NONE && kill_at > 0 && now >= kill_at) {
      tml_proc_kill_group(&proc, SIGKILL);
      kill_at = 0;
    }
    /* A cancel is noticed within a heartbeat; check it more often while the lease is long. */
    if (reason == R_NONE && now - last_hb >= 1.0 && hb_every > 1.0) {
      struct tml_job cur;
      tml_error_clear(&err);
      if (tml_jobs_get(q, j->id, &cur, &err) == 0 && cur.cancel_requested) {
        reason = R_CANCEL;
        tml_proc_kill_group(&proc, SIGTERM);
        kill_at = now + r->o.cancel_grace_s;
      }
    }
    sleep_ms(now - t0 < 1.0 ? 10 : 100); /* short jobs finish without a 100 ms tick */
  }
  tml_proc_kill_group(&proc, SIGKILL); /* stragglers the child left in its group */
  drain_reports(&proc, &cr);
  if (cr.plen) {
    cr.partial[cr.plen] = '\0';
    parse_report_line(&cr, cr.partial);
  }
  tml_proc_release(&proc);
  stat_add(r, &r->stats.running, -1);
  elapsed = tml_monotonic_s() - t0;
  if (reason == R_LOST && exit_code != 0) {
    tml_warn("job %" PRId64 ": lease lost (fencing token %" PRId64 " revoked); child killed, another worker owns "
             "the job now",
             j->id, j->fence);
    return;
  }
  /* R_LOST with a child that had finished on its own (while this host could not reach the database): its
   * result is offered like any other and the database refuses it by its stale token (logged by finish). */
  char tail[512];
  log_tail(log_path, tail, sizeof(tail));
  switch (reason) {
  case R_CANCEL:
    outcome = TML_OUTCOME_CANCELLED;
    snprintf(msg, sizeof(msg), "cancelled while running (after %.1f s)", elapsed);
    break;
  case R_TIMEOUT:
    outcome = TML_OUTCOME_TIMED_OUT;
    snprintf(msg, sizeof(msg), "timed out after %d s (wall-time limit); process group killed", j->timeout_s);
    break;
  case R_REQUEUE:
    outcome = TML_OUTCOME_REQUEUE;
    snprintf(msg, sizeof(msg), "worker stopped; job given back");
    break;
  default:
    outcome = tml_job_outcome_of(j->kind, exit_code, exit_code > 0 ? cr.error_code : 0);
    if (outcome == TML_OUTCOME_SUCCEEDED)
      break;
    if (exit_code < 0)
      snprintf(msg, sizeof(msg), "killed by signal %d: %s", -exit_code, tail);
    else if (cr.error_code && outcome == TML_OUTCOME_FATAL)
      snprintf(msg, sizeof(msg), "%.880s (%s; not retried: retrying cannot fix it)", cr.error_msg,
               tml_strerror(cr.error_code));
    else if (cr.error_code)
      snprintf(msg, sizeof(msg), "%.900s (%s)", cr.error_msg, tml_strerror(cr.error_code));
    else
      snprintf(msg, sizeof(msg), "exit code %d: %s", exit_code, tail);
    break;
  }
finish:;
  enum tml_job_status after = TML_JOB_FAILED;
  tml_error_clear(&err);
  const char *result = outcome == TML_OUTCOME_SUCCEEDED && cr.result[0] == '{' ? cr.result : NULL;
  /* The database may be unreachable right now (a partition, a restart): keep the outcome and retry
   * with backoff. Once through, a stale fencing token is refused (and logged) by finish itself. */
  int frc;
  int delay_ms = 200;
  double give_up = tml_monotonic_s() + TML_MAX(60.0, 4.0 * r->o.lease_s);
  while ((frc = tml_jobs_finish(q, j->id, j->fence, outcome, exit_code, elapsed, msg, result, &after, &err)) != 0 &&
         (frc == TML_ENET || frc == TML_EBUSY || frc == TML_EDB) && tml_monotonic_s() < give_up) {
    tml_warn("job %" PRId64 ": cannot store the outcome yet (%s); retrying", j->id, err.msg);
    sleep_ms(delay_ms);
    delay_ms = TML_MIN(delay_ms * 2, 2000);
    tml_error_clear(&err);
  }
  if (frc) {
    tml_warn("job %" PRId64 ": %s", j->id, err.msg);
    return;
  }
  pthread_mutex_lock(&r->lock);
  switch (after) {
  case TML_JOB_SUCCEEDED:
    r->stats.succeeded++;
    break;
  case TML_JOB_CANCELLED:
    r->stats.cancelled++;
    break;
  case TML_JOB_TIMED_OUT:
    r->stats.timed_out++;
    break;
  case TML_JOB_QUEUED:
    if (outcome == TML_OUTCOME_REQUEUE)
      r->stats.requeued++;
    else if (outcome == TML_OUTCOME_TIMED_OUT)
      r->stats.timed_out++;
    else
      r->stats.failed++;
    break;
  default:
    r->stats.failed++;
    break;
  }
  pthread_mutex_unlock(&r->lock);
}

enum tml_job_outcome tml_job_outcome_of(enum tml_job_kind kind, int exit_code, int reported) {
  if (exit_code == 0)
    return TML_OUTCOME_SUCCEEDED;
  /* 3 = a validation gate was not passed: a verdict, not a crash. The job did its work; the verdict and
   * gate values are in its result. Retrying would only repeat the same verdict. */
  if (exit_code == tml_error_exit_code(TML_EGATE) && kind == TML_JOB_VALIDATE)
    return TML_OUTCOME_SUCCEEDED;
  if (exit_code < 0) /* killed (out of memory, a crash): maybe not its fault */
    return TML_OUTCOME_FAILED;
  if (reported) /* the error table says whether repeating can help */
    return tml_error_retryable(reported) ? TML_OUTCOME_FAILED : TML_OUTCOME_FATAL;
  /* Nothing reported (an older binary, a crash before main's error path): 2 = usage error. */
  return exit_code == tml_error_exit_code(TML_EUSAGE) ? TML_OUTCOME_FATAL : TML_OUTCOME_FAILED;
}

struct thread_arg {
  struct tml_runner *r;
  size_t index;
};

/* The process row of `trademl cluster status`: host, role, pid, heartbeat, running jobs; every 2 s on
 * its own connection, removed on a clean stop. */
static void *beat_main(void *ud) {
  struct tml_runner *r = ud;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_jobs *q = NULL;
  struct tml_cluster_process p;
  memset(&p, 0, sizeof(p));
  gethostname(p.host, sizeof(p.host) - 1);
  snprintf(p.role, sizeof(p.role), "%s", r->role);
  p.pid = (int64_t)getpid();
  p.started_ms = tml_now_ms();
  snprintf(p.id, sizeof(p.id), "%s:%" PRId64 ":%s", p.host, p.pid, p.role);
  double next = 0;
  while (!stopping(r, NULL)) {
    double now = tml_monotonic_s();
    if (now >= next) {
      next = now + 2.0;
      tml_error_clear(&err);
      if (!q && tml_jobs_open(r->db_path, &r->o.jobs, &q, &err))
        q = NULL;
      if (q) {
        pthread_mutex_lock(&r->lock);
        p.running = 0;
        p.jobs[0] = '\0';
        for (size_t i = 0; i < r->nthreads; i++)
          if (r->current[i] > 0) {
            size_t len = strlen(p.jobs);
            snprintf(p.jobs + len, sizeof(p.jobs) - len, "%s%" PRId64, p.running ? "," : "", r->current[i]);
            p.running++;
          }
        pthread_mutex_unlock(&r->lock);
        p.heartbeat_ms = tml_now_ms();
        tml_error_clear(&err);
        tml_jobs_process_beat(q, &p, &err); /* a failure is retried on the next beat */
      }
    }
    sleep_ms(100);
  }
  if (q) {
    tml_error_clear(&err);
    tml_jobs_process_remove(q, p.id, &err);
  }
  tml_jobs_close(q);
  return NULL;
}

static void set_current(struct tml_runner *r, size_t index, int64_t id) {
  pthread_mutex_lock(&r->lock);
  r->current[index] = id;
  pthread_mutex_unlock(&r->lock);
}

static void *worker_main(void *ud) {
  struct thread_arg *ta = ud;
  struct tml_runner *r = ta->r;
  size_t index = ta->index;
  char worker_id[96];
  snprintf(worker_id, sizeof(worker_id), "%s#%zu", r->worker_name, ta->index);
  free(ta);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_jobs *q = NULL;
  for (int tries = 0; !q && !stopping(r, NULL); tries++) {
    tml_error_clear(&err);
    if (tml_jobs_open(r->db_path, &r->o.jobs, &q, &err)) {
      tml_err("worker %s: %s", worker_id, err.msg);
      if (tries >= 20)
        break; /* q stays NULL: the thread ends below */
      sleep_ms(500);
    }
  }
  bool idle_counted = false;
  while (q) {
    enum tml_runner_stop_mode mode;
    if (stopping(r, &mode))
      break;
    struct tml_job j;
    bool got = false;
    tml_error_clear(&err);
    if (tml_jobs_claim(q, worker_id, r->o.lease_s, &j, &got, &err))
      tml_warn("worker %s: %s", worker_id, err.msg);
    if (got) {
      if (idle_counted) {
        pthread_mutex_lock(&r->lock);
        r->idle_threads--;
        pthread_mutex_unlock(&r->lock);
        idle_counted = false;
      }
      tml_info("worker %s: job %" PRId64 " (%s %s) attempt %d", worker_id, j.id, tml_job_kind_name(j.kind), j.symbols,
               j.attempts);
      set_current(r, index, j.id);
      run_job(r, q, worker_id, &j);
      set_current(r, index, 0);
      continue;
    }
    if (r->o.exit_when_idle) {
      size_t counts[TML_JOB_STATUS_COUNT];
      tml_error_clear(&err);
      if (tml_jobs_counts(q, counts, &err) == 0 && counts[TML_JOB_QUEUED] == 0 && counts[TML_JOB_RUNNING] == 0)
        break;
    }
    tml_jobs_wait(q, r->o.poll_ms); /* PostgreSQL: woken early by NOTIFY when a job is submitted */
  }
  tml_jobs_close(q);
  pthread_mutex_lock(&r->lock);
  r->stats.threads_alive--;
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

static char *dup_or_null(const char *s) {
  if (!s)
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

int tml_runner_start(const struct tml_runner_opts *opts, struct tml_runner **out, struct tml_error *err) {
  *out = NULL;
  if (!opts->db_path || !opts->logs_dir)
    return tml_error_set(err, TML_EINVAL, "job runner: db_path and logs_dir are required");
  if (opts->concurrency < 1 || opts->concurrency > 256)
    return tml_error_set(err, TML_EINVAL, "job runner: concurrency %d: expected 1 to 256", opts->concurrency);
  struct tml_runner *r = calloc(1, sizeof(*r));
  if (!r)
    return tml_error_set(err, TML_ENOMEM, "out of memory starting the job runner");
  r->o = *opts;
  if (r->o.lease_s < 2)
    r->o.lease_s = 2;
  if (r->o.poll_ms <= 0)
    r->o.poll_ms = 500;
  if (r->o.progress_interval_s <= 0)
    r->o.progress_interval_s = 2;
  pthread_mutex_init(&r->lock, NULL);
  char exe[TML_PATH_MAX];
  if (opts->exe) {
    snprintf(exe, sizeof(exe), "%s", opts->exe);
  } else {
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
      free(r);
      return tml_error_set(err, TML_EIO, "job runner: cannot resolve /proc/self/exe: %s", strerror(errno));
    }
    exe[n] = '\0';
  }
  char name[96];
  if (opts->worker_name) {
    snprintf(name, sizeof(name), "%s", opts->worker_name);
  } else {
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(name, sizeof(name), "%s:%ld", host, (long)getpid());
  }
  r->db_path = dup_or_null(opts->db_path);
  r->exe = dup_or_null(exe);
  r->home = dup_or_null(opts->home);
  r->config_path = dup_or_null(opts->config_path);
  r->logs_dir = dup_or_null(opts->logs_dir);
  r->worker_name = dup_or_null(name);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int total = opts->threads_total > 0 ? opts->threads_total : (int)(cores > 0 ? cores : 1);
  r->job_threads = TML_MAX(1, total / opts->concurrency);
  r->threads = calloc((size_t)opts->concurrency, sizeof(*r->threads));
  r->current = calloc((size_t)opts->concurrency, sizeof(*r->current));
  snprintf(r->role, sizeof(r->role), "%s", opts->role && *opts->role ? opts->role : "worker");
  if (!r->db_path || !r->exe || !r->logs_dir || !r->worker_name || !r->threads || !r->current) {
    tml_runner_destroy(r);
    return tml_error_set(err, TML_ENOMEM, "out of memory starting the job runner");
  }
  for (int i = 0; i < opts->concurrency; i++) {
    struct thread_arg *ta = malloc(sizeof(*ta));
    if (ta) {
      ta->r = r;
      ta->index = (size_t)i;
    }
    pthread_mutex_lock(&r->lock);
    r->stats.threads_alive++; /* before the thread can exit and count itself out */
    pthread_mutex_unlock(&r->lock);
    if (!ta || pthread_create(&r->threads[i], NULL, worker_main, ta) != 0) {
      free(ta);
      pthread_mutex_lock(&r->lock);
      r->stats.threads_alive--;
      pthread_mutex_unlock(&r->lock);
      tml_runner_destroy(r);
      return tml_error_set(err, TML_EIO, "job runner: cannot start worker thread %d", i);
    }
    r->nthreads++;
  }
  if (pthread_create(&r->beat_thread, NULL, beat_main, r) == 0)
    r->beat_started = true;
  *out = r;
  return 0;
}

void tml_runner_request_stop(struct tml_runner *r, enum tml_runner_stop_mode mode) {
  if (!r)
    return;
  pthread_mutex_lock(&r->lock);
  if (!r->stop || mode == TML_RUNNER_REQUEUE)
    r->stop_mode = mode;
  r->stop = true;
  pthread_mutex_unlock(&r->lock);
}

void tml_runner_join(struct tml_runner *r) {
  if (!r || r->joined)
    return;
  for (size_t i = 0; i < r->nthreads; i++)
    pthread_join(r->threads[i], NULL);
  /* exit_when_idle: the workers are done; the heartbeat thread follows them. */
  pthread_mutex_lock(&r->lock);
  r->stop = true;
  pthread_mutex_unlock(&r->lock);
  if (r->beat_started)
    pthread_join(r->beat_thread, NULL);
  r->joined = true;
}

void tml_runner_destroy(struct tml_runner *r) {
  if (!r)
    return;
  if (!r->joined) {
    pthread_mutex_lock(&r->lock);
    bool already = r->stop;
    pthread_mutex_unlock(&r->lock);
    if (!already)
      tml_runner_request_stop(r, TML_RUNNER_REQUEUE);
    tml_runner_join(r);
  }
  pthread_mutex_destroy(&r->lock);
  free(r->threads);
  free(r->current);
  free(r->db_path);
  free(r->exe);
  free(r->home);
  free(r->config_path);
  free(r->logs_dir);
  free(r->worker_name);
  free(r);
}

void tml_runner_get_stats(struct tml_runner *r, struct tml_runner_stats *out) {
  pthread_mutex_lock(&r->lock);
  *out = r->stats;
  pthread_mutex_unlock(&r->lock);
}
