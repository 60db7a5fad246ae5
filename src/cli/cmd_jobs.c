/* trademl jobs <verb>: submit, list, show, cancel and count jobs in the job table (docs/jobs.md).
 * `jobs noop` is the hidden test job kind's command (sleeps, reports progress, may fail). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_jobs.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/jobs.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"

#include <jansson.h>

static int parse_id(const char *s, int64_t *id) {
  if (!s || tml_parse_int64_str(s, id) != 0 || *id <= 0)
    return cli_usage_error("job id '%s' is not a positive number", s ? s : "");
  return 0;
}

/* ---- submit ---- */

static const char submit_usage[] =
    "usage: trademl jobs submit KIND --symbol SYMBOL... [--interval 5m] [--days N] [options]\n"
    "\n"
    "Queues a job: KIND is train, validate (with --mode quick|full|sequential), retrain or fetch.\n"
    "An identical job that is queued or running is returned instead of a new one.";

static const struct cli_opt submit_opts[] = {
    {"symbol", CLI_LIST, "SYMBOL", "symbols (BTCUSDT or BTC/USDT)", NULL},
    {"interval", CLI_VALUE, "INTERVAL", "candle interval (default data.interval)", NULL},
    {"days", CLI_VALUE, "N", "history days (0 = the command's default)", NULL},
    {"mode", CLI_VALUE, "MODE", "validate: quick, full or sequential", NULL},
    {"strategy", CLI_VALUE, "NAME", "strategy (default model.strategy)", NULL},
    {"priority", CLI_VALUE, "N", "higher runs first (default 0)", NULL},
    {"max-attempts", CLI_VALUE, "N", "attempts before giving up (default 1 + training.retry_attempts)", NULL},
    {"timeout", CLI_VALUE, "SECONDS", "wall-time limit of one attempt (default training.job_timeout)", NULL},
    {"param", CLI_LIST, "KEY=VALUE", "extra flag for the job's command (num-boost-round=60)", NULL},
    {"params", CLI_VALUE, "JSON", "extra flags as a JSON object", NULL},
    {"json", CLI_FLAG, NULL, "print the job as JSON", NULL},
};

static int opt_int(const struct cli_args *a, const char *name, int lo, int hi, int *out) {
  const char *v = cli_get(a, name);
  if (!v)
    return 0;
  int64_t x;
  if (tml_parse_int64_str(v, &x) != 0 || x < lo || x > hi)
    return cli_usage_error("--%s '%s': expected a whole number from %d to %d", name, v, lo, hi);
  *out = (int)x;
  return 0;
}

/* The options of the command a job kind runs. */
static const struct cli_opt *job_command_opts(enum tml_job_kind kind, size_t *n);

/* Translates a --param/--params object into what the job stores: a flag of the kind's command becomes
 * the configuration key it overrides (num-boost-round -> training.num_boost_round) through the
 * command's own option table; a configuration key stays; a flag that is an option of the job
 * (validate --force, noop --seconds) becomes that option's key. *out is malloc'ed (free()). */
static int translate_params(enum tml_job_kind kind, json_t *given, char **out, struct tml_error *err) {
  *out = NULL;
  size_t nopts = 0;
  const struct cli_opt *opts = job_command_opts(kind, &nopts);
  json_t *stored = json_object();
  int rc = 0;
  const char *key;
  json_t *v;
  json_object_foreach(given, key, v) {
    const char *nk = key;
    if (!strchr(key, '.') && !tml_job_option_known(kind, key)) {
      const struct cli_opt *o = NULL;
      for (size_t i = 0; i < nopts && !o; i++)
        if (strcmp(opts[i].name, key) == 0)
          o = &opts[i];
      char opt_key[96];
      snprintf(opt_key, sizeof(opt_key), "%s", key);
      for (char *p = opt_key; *p; p++)
        if (*p == '-')
          *p = '_';
      if (o && o->config_key) {
        nk = o->config_key;
      } else if (o && tml_job_option_known(kind, opt_key)) {
        json_object_set(stored, opt_key, v);
        continue;
      } else if (o) {
        rc = tml_error_set(err, TML_EUSAGE, "--param %s: --%s of '%s' jobs is not a setting a job can carry", key, key,
                           tml_job_kind_name(kind));
        break;
      } else {
        rc = tml_error_set(err, TML_EUSAGE,
                           "--param %s: %s jobs have no flag --%s and it is not a configuration key "
                           "('trademl config keys' lists them)",
                           key, tml_job_kind_name(kind), key);
        break;
      }
    }
    json_object_set(stored, nk, v);
  }
  if (!rc) {
    *out = json_dumps(stored, JSON_COMPACT | JSON_SORT_KEYS);
    if (!*out)
      rc = tml_error_set(err, TML_ENOMEM, "out of memory formatting job params");
  }
  json_decref(stored);
  return rc;
}

static int jobs_submit(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, submit_opts, sizeof(submit_opts) / sizeof(submit_opts[0]), argc, argv, submit_usage, &code))
    return code;
  const char *pos[4];
  size_t npos = cli_positionals(&a, pos, 4);
  if (npos != 1)
    return cli_usage_error("jobs submit needs exactly one KIND (train, validate, retrain or fetch)");
  struct tml_error err;
  tml_error_init(&err);
  struct tml_job_spec spec;
  tml_job_spec_init(&spec);
  if (tml_job_kind_parse(pos[0], &spec.kind, &err) || spec.kind == TML_JOB_NOOP) {
    if (spec.kind == TML_JOB_NOOP && !getenv("TRADEML_TEST_JOBS") && !err.code)
      tml_error_set(&err, TML_EINVAL, "unknown job kind 'noop' (expected train, validate, retrain or fetch)");
    if (err.code)
      return cli_fail(&err);
  }
  spec.nsymbols = cli_get_list(&a, "symbol", spec.symbols, TML_JOB_MAX_SYMBOLS);
  spec.interval = cli_get(&a, "interval");
  spec.mode = cli_get(&a, "mode");
  spec.strategy = cli_get(&a, "strategy");
  if (cli_get(&a, "days") && (tml_parse_double_str(cli_get(&a, "days"), &spec.days) != 0 || spec.days < 0))
    return cli_usage_error("--days '%s': expected a number >= 0", cli_get(&a, "days"));
  if (opt_int(&a, "priority", -1000, 1000, &spec.priority) || opt_int(&a, "max-attempts", 1, 100, &spec.max_attempts) ||
      opt_int(&a, "timeout", 1, 604800, &spec.timeout_s))
    return 2;
  /* --param k=v pairs (numbers and booleans stay typed) or --params JSON: flags of the job's command
   * or configuration keys; stored as configuration keys (translate_params). */
  const char *kv[64];
  size_t nkv = cli_get_list(&a, "param", kv, 64);
  if (nkv && cli_get(&a, "params"))
    return cli_usage_error("use --param or --params, not both");
  json_t *given = NULL;
  if (nkv) {
    given = json_object();
    for (size_t i = 0; i < nkv; i++) {
      const char *eq = strchr(kv[i], '=');
      if (!eq || eq == kv[i]) {
        json_decref(given);
        return cli_usage_error("--param '%s': expected KEY=VALUE", kv[i]);
      }
      char key[96];
      snprintf(key, sizeof(key), "%.*s", (int)(eq - kv[i]), kv[i]);
      double d;
      json_t *v;
      if (tml_parse_double_str(eq + 1, &d) == 0)
        v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
      else if (strcmp(eq + 1, "true") == 0 || strcmp(eq + 1, "false") == 0)
        v = json_boolean(strcmp(eq + 1, "true") == 0);
      else
        v = NULL;
      json_object_set_new(given, key, v ? v : json_string(eq + 1));
    }
  } else if (cli_get(&a, "params")) {
    json_error_t jerr;
    given = json_loads(cli_get(&a, "params"), 0, &jerr);
    if (!given) {
      tml_error_set(&err, TML_EINVAL, "--params: not JSON (%s at column %d)", jerr.text, jerr.column);
      return cli_fail(&err);
    }
    if (!json_is_object(given)) {
      json_decref(given);
      tml_error_set(&err, TML_EINVAL, "--params: expected a JSON object of flags or configuration keys");
      return cli_fail(&err);
    }
  }
  char *params = NULL;
  if (given) {
    int trc = translate_params(spec.kind, given, &params, &err);
    json_decref(given);
    if (trc)
      return cli_fail(&err);
  }
  spec.params = params;
  spec.source = "cli";
  struct cli_jobs_ctx c;
  int rc = cli_jobs_open(&a, false, &c, &err);
  int64_t id = 0;
  bool existed = false;
  if (!rc)
    rc = tml_jobs_submit(c.jobs, &spec, &id, &existed, &err);
  struct tml_job j;
  if (!rc)
    rc = tml_jobs_get(c.jobs, id, &j, &err);
  if (!rc) {
    if (cli_has(&a, "json")) {
      struct tml_buf out;
      tml_buf_init(&out, 0);
      tml_buf_printf(&out, "{\"existed\":%s,\"job\":", existed ? "true" : "false");
      tml_job_to_json(&j, &out);
      tml_buf_puts(&out, "}\n");
      fputs(tml_buf_str(&out), stdout);
      tml_buf_release(&out);
    } else if (existed) {
      printf("job %" PRId64 " already %s: %s %s %s (identical job; not queued again)\n", id,
             tml_job_status_name(j.status), tml_job_kind_name(j.kind), j.symbols, j.interval);
    } else {
      printf("job %" PRId64 " queued: %s %s %s\n", id, tml_job_kind_name(j.kind), j.symbols, j.interval);
    }
  }
  cli_jobs_close(&c);
  free(params);
  return rc ? cli_fail(&err) : 0;
}

/* ---- list ---- */

static const char list_usage[] = "usage: trademl jobs list [--status STATUS...] [--kind KIND] [--symbol S] [--limit N]";

static const struct cli_opt list_opts[] = {
    {"status", CLI_LIST, "STATUS", "queued, running, succeeded, failed, cancelled, timed_out", NULL},
    {"kind", CLI_VALUE, "KIND", "train, validate, retrain, fetch", NULL},
    {"symbol", CLI_VALUE, "SYMBOL", "jobs that include this symbol", NULL},
    {"limit", CLI_VALUE, "N", "at most N jobs (default 100, max 1000)", NULL},
    {"offset", CLI_VALUE, "N", "skip the newest N", NULL},
    {"json", CLI_FLAG, NULL, "print JSON", NULL},
};

static void fmt_elapsed(const struct tml_job *j, char *out, size_t outsz) {
  double s = j->elapsed_s;
  if (j->status == TML_JOB_RUNNING && j->started_ms)
    s += (double)(tml_now_ms() - j->started_ms) / 1000.0;
  if (s <= 0)
    snprintf(out, outsz, "-");
  else if (s < 120)
    snprintf(out, outsz, "%.1fs", s);
  else
    snprintf(out, outsz, "%.1fm", s / 60);
}

static int jobs_list(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, list_opts, sizeof(list_opts) / sizeof(list_opts[0]), argc, argv, list_usage, &code))
    return code;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_job_filter f;
  tml_job_filter_init(&f);
  const char *st[8];
  size_t nst = cli_get_list(&a, "status", st, 8);
  for (size_t i = 0; i < nst; i++) {
    enum tml_job_status s;
    if (tml_job_status_parse(st[i], &s, &err))
      return cli_fail(&err);
    f.status_mask |= 1u << s;
  }
  if (cli_get(&a, "kind")) {
    enum tml_job_kind k;
    if (tml_job_kind_parse(cli_get(&a, "kind"), &k, &err))
      return cli_fail(&err);
    f.kind = (int)k;
  }
  char sym[64];
  if (cli_get(&a, "symbol")) {
    if (tml_symbol_normalize(cli_get(&a, "symbol"), sym, sizeof(sym)) != 0)
      return cli_usage_error("--symbol '%s' is not a valid symbol", cli_get(&a, "symbol"));
    f.symbol = sym;
  }
  int limit = 100, offset = 0;
  if (opt_int(&a, "limit", 1, 1000, &limit) || opt_int(&a, "offset", 0, 1000000000, &offset))
    return 2;
  f.limit = (size_t)limit;
  f.offset = (size_t)offset;
  struct cli_jobs_ctx c;
  struct tml_job *rows = NULL;
  size_t n = 0, total = 0;
  int rc = cli_jobs_open(&a, false, &c, &err);
  if (!rc)
    rc = tml_jobs_list(c.jobs, &f, &rows, &n, &total, &err);
  if (!rc) {
    struct tml_buf out;
    tml_buf_init(&out, 0);
    if (cli_has(&a, "json")) {
      tml_buf_printf(&out, "{\"total\":%zu,\"jobs\":[", total);
      for (size_t i = 0; i < n; i++) {
        if (i)
          tml_buf_putc(&out, ',');
        tml_job_to_json(&rows[i], &out);
      }
      tml_buf_puts(&out, "]}\n");
    } else {
      tml_buf_printf(&out, "%-6s %-9s %-10s %-20s %-4s %6s %7s %-20s %8s  %s\n", "ID", "KIND", "STATUS", "SYMBOLS",
                     "INT", "PROG", "TRIES", "CREATED", "ELAPSED", "ERROR");
      for (size_t i = 0; i < n; i++) {
        const struct tml_job *j = &rows[i];
        char created[32], el[32], tries[16];
        tml_time_format(j->created_ms, created, sizeof(created));
        fmt_elapsed(j, el, sizeof(el));
        snprintf(tries, sizeof(tries), "%d/%d", j->attempts, j->max_attempts);
        tml_buf_printf(&out, "%-6" PRId64 " %-9s %-10s %-20.20s %-4s %5.0f%% %7s %-20s %8s  %.60s\n", j->id,
                       tml_job_kind_name(j->kind), tml_job_status_name(j->status), j->symbols, j->interval,
                       j->progress, tries, created, el, j->error);
      }
      tml_buf_printf(&out, "%zu of %zu job%s\n", n, total, total == 1 ? "" : "s");
    }
    fputs(tml_buf_str(&out), stdout);
    tml_buf_release(&out);
  }
  free(rows);
  cli_jobs_close(&c);
  return rc ? cli_fail(&err) : 0;
}

/* ---- show ---- */

static const char show_usage[] = "usage: trademl jobs show ID [--json] [--log-lines N]";
static const struct cli_opt show_opts[] = {
    {"json", CLI_FLAG, NULL, "print JSON (job, attempts, log path)", NULL},
    {"log-lines", CLI_VALUE, "N", "lines of the job log shown (default 30, 0 = none)", NULL},
};

#define LOG_LINE_MAX 200 /* longer log lines are summarised (one JSON result line can be 10 kB) */

/* One log line for `jobs show`: as it is when short; else its start and what was left out, naming the
 * keys of a JSON object, so N requested lines are N readable lines. */
static void print_log_line(const char *line, size_t len) {
  if (len <= LOG_LINE_MAX) {
    printf("%.*s\n", (int)len, line);
    return;
  }
  /* A JSON object, maybe after a tag ("fold-metrics {...}", the validate progress lines). */
  const char *brace = memchr(line, '{', len < 32 ? len : 32);
  json_t *j = brace ? json_loadb(brace, len - (size_t)(brace - line), 0, NULL) : NULL;
  if (json_is_object(j)) {
    printf("%.*s ... [JSON object, %zu chars; keys:", 120, line, len);
    const char *key;
    json_t *v;
    size_t k = 0;
    json_object_foreach(j, key, v) {
      if (k++ < 12)
        printf("%s %s", k > 1 ? "," : "", key);
    }
    printf("%s; full line in the log]\n", k > 12 ? ", ..." : "");
  } else {
    printf("%.*s ... [+%zu chars; full line in the log]\n", LOG_LINE_MAX - 40, line, len - (LOG_LINE_MAX - 40));
  }
  json_decref(j);
}

static void print_log_tail(const char *path, int lines) {
  char *data = NULL;
  size_t len = 0;
  struct tml_error err;
  tml_error_init(&err);
  if (lines <= 0 || tml_read_file(path, &data, &len, &err) != 0) {
    if (lines > 0)
      printf("log:      %s (not written yet)\n", path);
    return;
  }
  size_t start = len;
  int seen = 0;
  while (start > 0) {
    if (data[start - 1] == '\n' && start != len && ++seen >= lines)
      break;
    start--;
  }
  printf("log:      %s (last %d lines)\n", path, lines);
  for (size_t p = start; p < len;) {
    const char *nl = memchr(data + p, '\n', len - p);
    size_t n = nl ? (size_t)(nl - (data + p)) : len - p;
    print_log_line(data + p, n);
    p += n + 1;
  }
  free(data);
}

static int jobs_show(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, show_opts, sizeof(show_opts) / sizeof(show_opts[0]), argc, argv, show_usage, &code))
    return code;
  const char *pos[2];
  if (cli_positionals(&a, pos, 2) != 1)
    return cli_usage_error("jobs show needs one job id");
  int64_t id;
  if (parse_id(pos[0], &id))
    return 2;
  int lines = 30;
  if (opt_int(&a, "log-lines", 0, 100000, &lines))
    return 2;
  struct tml_error err;
  tml_error_init(&err);
  struct cli_jobs_ctx c;
  struct tml_job j;
  struct tml_job_attempt *att = NULL;
  size_t natt = 0;
  char log_path[TML_PATH_MAX] = "";
  int rc = cli_jobs_open(&a, false, &c, &err);
  if (!rc)
    rc = tml_jobs_get(c.jobs, id, &j, &err);
  if (!rc)
    rc = tml_jobs_attempts(c.jobs, id, &att, &natt, &err);
  if (!rc)
    rc = tml_job_log_path(c.paths.logs, id, log_path, sizeof(log_path), &err);
  if (!rc && cli_has(&a, "json")) {
    struct tml_buf out;
    tml_buf_init(&out, 0);
    tml_buf_puts(&out, "{\"job\":");
    tml_job_to_json(&j, &out);
    tml_buf_puts(&out, ",\"attempts\":[");
    for (size_t i = 0; i < natt; i++) {
      tml_buf_printf(&out, "%s{\"attempt\":%d,\"worker_id\":", i ? "," : "", att[i].attempt);
      tml_buf_json_str(&out, att[i].worker_id);
      tml_buf_printf(&out, ",\"started_ms\":%" PRId64 ",\"finished_ms\":%" PRId64 ",\"outcome\":\"%s\",\"exit_code\":%d,\"error\":",
                     att[i].started_ms, att[i].finished_ms, tml_job_status_name(att[i].outcome), att[i].exit_code);
      tml_buf_json_str(&out, att[i].error);
      tml_buf_putc(&out, '}');
    }
    tml_buf_puts(&out, "],\"log\":");
    tml_buf_json_str(&out, log_path);
    tml_buf_puts(&out, "}\n");
    fputs(tml_buf_str(&out), stdout);
    tml_buf_release(&out);
  } else if (!rc) {
    char created[32] = "-", started[32] = "-", finished[32] = "-", el[32];
    tml_time_format(j.created_ms, created, sizeof(created));
    if (j.started_ms)
      tml_time_format(j.started_ms, started, sizeof(started));
    if (j.finished_ms)
      tml_time_format(j.finished_ms, finished, sizeof(finished));
    fmt_elapsed(&j, el, sizeof(el));
    printf("job %" PRId64 ": %s %s %s  [%s]\n", j.id, tml_job_kind_name(j.kind), j.symbols, j.interval,
           tml_job_status_name(j.status));
    printf("strategy: %s%s%s   days: %g   params: %s   source: %s   priority: %d\n", j.strategy,
           j.mode[0] ? "   mode: " : "", j.mode, j.days, j.params, j.source, j.priority);
    printf("progress: %.0f%% %s\n", j.progress, j.stage);
    printf("attempts: %d of %d   timeout: %d s   elapsed: %s%s\n", j.attempts, j.max_attempts, j.timeout_s, el,
           j.cancel_requested && j.status == TML_JOB_RUNNING ? "   (cancel requested)" : "");
    printf("created:  %s   started: %s   finished: %s\n", created, started, finished);
    if (j.worker_id[0])
      printf("worker:   %s\n", j.worker_id);
    if (j.error[0])
      printf("error:    %s\n", j.error);
    if (strcmp(j.result, "{}") != 0 && j.result[0])
      printf("result:   %s\n", j.result);
    for (size_t i = 0; i < natt; i++) {
      char t0[32] = "-";
      tml_time_format(att[i].started_ms, t0, sizeof(t0));
      double secs = att[i].finished_ms ? (double)(att[i].finished_ms - att[i].started_ms) / 1000.0 : 0;
      printf("  attempt %d  %-10s %s  %.1fs  %s  %s\n", att[i].attempt, tml_job_status_name(att[i].outcome), t0,
             secs, att[i].worker_id, att[i].error);
    }
    print_log_tail(log_path, lines);
  }
  free(att);
  cli_jobs_close(&c);
  return rc ? cli_fail(&err) : 0;
}

/* ---- cancel, counts ---- */

static const char cancel_usage[] = "usage: trademl jobs cancel ID...";
static const struct cli_opt cancel_opts[] = {{"json", CLI_FLAG, NULL, "print JSON", NULL}};

static int jobs_cancel(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, cancel_opts, 1, argc, argv, cancel_usage, &code))
    return code;
  const char *pos[64];
  size_t n = cli_positionals(&a, pos, 64);
  if (n == 0)
    return cli_usage_error("jobs cancel needs at least one job id");
  int64_t ids[64];
  for (size_t i = 0; i < n && i < 64; i++)
    if (parse_id(pos[i], &ids[i]))
      return 2;
  struct tml_error err;
  tml_error_init(&err);
  struct cli_jobs_ctx c;
  int rc = cli_jobs_open(&a, false, &c, &err);
  for (size_t i = 0; !rc && i < n && i < 64; i++) {
    enum tml_job_status after;
    rc = tml_jobs_cancel(c.jobs, ids[i], &after, &err);
    if (!rc)
      printf(after == TML_JOB_CANCELLED ? "job %" PRId64 " cancelled\n"
                                        : "job %" PRId64 " is running: cancel requested (its worker stops it)\n",
             ids[i]);
  }
  cli_jobs_close(&c);
  return rc ? cli_fail(&err) : 0;
}

static const char counts_usage[] = "usage: trademl jobs counts [--json]";

static int jobs_counts(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, cancel_opts, 1, argc, argv, counts_usage, &code))
    return code;
  struct tml_error err;
  tml_error_init(&err);
  struct cli_jobs_ctx c;
  size_t counts[TML_JOB_STATUS_COUNT];
  int rc = cli_jobs_open(&a, false, &c, &err);
  if (!rc)
    rc = tml_jobs_counts(c.jobs, counts, &err);
  if (!rc) {
    bool json = cli_has(&a, "json");
    if (json)
      fputc('{', stdout);
    for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
      printf(json ? "%s\"%s\":%zu" : "%s%s %zu", i ? (json ? "," : "  ") : "",
             tml_job_status_name((enum tml_job_status)i), counts[i]);
    fputs(json ? "}\n" : "\n", stdout);
  }
  cli_jobs_close(&c);
  return rc ? cli_fail(&err) : 0;
}

/* ---- noop: the hidden test job ---- */

static const char noop_usage[] =
    "usage: trademl jobs noop [--seconds S] [--fail-attempts N] [--exit CODE] [--record FILE] [--tag T]\n"
    "\n"
    "The command of the hidden `noop` job kind used by tests: sleeps S seconds reporting progress,\n"
    "fails (exit CODE, default 1) while TRADEML_JOB_ATTEMPT <= N, appends 'start/end <ms> <pid>' to FILE.";
static const struct cli_opt noop_opts[] = {
    {"seconds", CLI_VALUE, "S", "seconds to sleep", NULL},
    {"fail-attempts", CLI_VALUE, "N", "fail the first N attempts", NULL},
    {"exit", CLI_VALUE, "CODE", "exit code of a failing attempt", NULL},
    {"record", CLI_VALUE, "FILE", "append start/end lines", NULL},
    {"tag", CLI_VALUE, "T", "ignored (makes jobs distinct)", NULL},
};

static const struct cli_opt *job_command_opts(enum tml_job_kind kind, size_t *n) {
  switch (kind) {
  case TML_JOB_TRAIN:
  case TML_JOB_RETRAIN:
    return cmd_train_opts(n);
  case TML_JOB_VALIDATE:
    return cmd_validate_opts(n);
  case TML_JOB_FETCH:
    return cmd_data_fetch_opts(n);
  case TML_JOB_NOOP:
    *n = sizeof(noop_opts) / sizeof(noop_opts[0]);
    return noop_opts;
  default:
    *n = 0;
    return NULL;
  }
}

static void record(const char *path, const char *what) {
  if (!path)
    return;
  FILE *f = fopen(path, "a");
  if (!f)
    return;
  fprintf(f, "%s %" PRId64 " %ld %s\n", what, tml_now_ms(), (long)getpid(), getenv("TRADEML_JOB_ID") ? getenv("TRADEML_JOB_ID") : "-");
  fclose(f);
}

static int jobs_noop(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, noop_opts, sizeof(noop_opts) / sizeof(noop_opts[0]), argc, argv, noop_usage, &code))
    return code;
  double seconds = 0;
  int fail_attempts = 0, exit_code = 1;
  if (cli_get(&a, "seconds") && tml_parse_double_str(cli_get(&a, "seconds"), &seconds) != 0)
    return cli_usage_error("--seconds: expected a number");
  if (opt_int(&a, "fail-attempts", 0, 1000, &fail_attempts) || opt_int(&a, "exit", 0, 255, &exit_code))
    return 2;
  int64_t attempt = 1;
  if (getenv("TRADEML_JOB_ATTEMPT"))
    tml_parse_int64_str(getenv("TRADEML_JOB_ATTEMPT"), &attempt);
  record(cli_get(&a, "record"), "start");
  printf("noop: attempt %" PRId64 ", sleeping %.2f s\n", attempt, seconds);
  fflush(stdout);
  double t0 = tml_monotonic_s();
  while (tml_monotonic_s() - t0 < seconds) {
    tml_job_report_progress(100.0 * (tml_monotonic_s() - t0) / seconds, "sleeping");
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  record(cli_get(&a, "record"), "end");
  if (attempt <= fail_attempts) {
    fprintf(stderr, "noop: failing attempt %" PRId64 " on purpose\n", attempt);
    return exit_code;
  }
  tml_job_report_progress(100, "done");
  tml_job_report_result("{\"noop\":true}");
  return 0;
}

/* ---- dispatcher ---- */

static const struct {
  const char *name;
  cli_cmd_fn fn;
  const char *summary;
} verbs[] = {
    {"cancel", jobs_cancel, "cancel queued or running jobs"},
    {"counts", jobs_counts, "number of jobs per status"},
    {"list", jobs_list, "list jobs (newest first)"},
    {"show", jobs_show, "one job: status, progress, attempts, log"},
    {"submit", jobs_submit, "queue a train, validate, retrain or fetch job"},
};

static void jobs_usage(FILE *f) {
  fprintf(f, "usage: trademl jobs <verb> [options]\n\nVerbs:\n");
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
  fprintf(f, "\nWorkers run the jobs: 'trademl worker'. See docs/jobs.md.\n");
}

int cmd_jobs(int argc, char **argv) {
  if (argc < 2) {
    jobs_usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    jobs_usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "noop") == 0)
    return jobs_noop(argc - 1, argv + 1);
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    if (strcmp(argv[1], verbs[i].name) == 0)
      return verbs[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "trademl: error: unknown jobs verb '%s'\n\n", argv[1]);
  jobs_usage(stderr);
  return 2;
}
