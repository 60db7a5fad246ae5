/* Scheduled work and the new-symbol queue. One scheduled run: (1) the new-symbol queue: each queued
 * symbol that passes the history/coverage gate gets one training job (source "queue"; the job's final
 * outcome removes it or records the error, see tml_jobs_finish); a symbol with too little history is
 * re-checked only after training.coverage_recheck_seconds; (2) rotation of models older than
 * operations.model_rotation.retrain_frequency_days; (3) retention (registry prune). Slots are claimed in
 * scheduler_state in a BEGIN IMMEDIATE transaction, so two schedulers never run one slot. */
#include "trademl/scheduler.h"
#include "util/common.h"

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/coverage.h"
#include "trademl/error.h"
#include "trademl/fetch.h"
#include "trademl/fsutil.h"
#include "trademl/jobs.h"
#include "trademl/mem.h"
#include "trademl/parse.h"
#include "trademl/registry.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "jobs/jobs_internal.h"
#include "jobs/queue_backend.h"

#include <jansson.h>
#include <unistd.h>

/* ---- new-symbol queue ---- */

#define BE(q) tml__jobs_backend(q)
#define DB(q) tml__jobs_conn(q)

static int add_locked(struct tml_jobs *q, const char *sym, int64_t added_ms, int attempts, const char *last_error,
                      size_t *added, struct tml_error *err) {
  bool yes = false;
  int rc = BE(q)->symq_add(DB(q), sym, added_ms, attempts, last_error, &yes, err);
  if (!rc && added && yes)
    (*added)++;
  return rc;
}

int tml_symqueue_add(struct tml_jobs *q, const char *const *symbols, size_t n, size_t *added, struct tml_error *err) {
  if (added)
    *added = 0;
  char (*norm)[40] = calloc(n ? n : 1, sizeof(*norm));
  if (!norm)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++)
    if (tml_symbol_normalize(symbols[i], norm[i], sizeof(norm[i])) != 0 || !tml_symbol_valid(norm[i]))
      rc = tml_error_set(err, TML_EINVAL, "'%s' is not a valid symbol (like LTCUSDT or LTC/USDT); nothing added",
                         symbols[i]);
  if (!rc)
    rc = BE(q)->begin(DB(q), "adding to the new-symbol queue", err);
  if (!rc) {
    int64_t now = tml_now_ms();
    for (size_t i = 0; i < n && !rc; i++)
      rc = add_locked(q, norm[i], now, 0, NULL, added, err);
    if (rc)
      BE(q)->rollback(DB(q));
    else
      rc = BE(q)->commit(DB(q), "adding to the new-symbol queue", err);
  }
  free(norm);
  return rc;
}

int tml_symqueue_list(struct tml_jobs *q, struct tml_symqueue_entry **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  return BE(q)->symq_list(DB(q), out, n, err);
}

int tml_symqueue_remove(struct tml_jobs *q, const char *symbol, size_t *removed, struct tml_error *err) {
  if (removed)
    *removed = 0;
  char norm[40] = "";
  if (symbol && (tml_symbol_normalize(symbol, norm, sizeof(norm)) != 0 || !tml_symbol_valid(norm)))
    return tml_error_set(err, TML_EINVAL, "'%s' is not a valid symbol", symbol);
  size_t n = 0;
  int rc = BE(q)->symq_remove(DB(q), symbol ? norm : NULL, &n, err);
  if (rc)
    return rc;
  if (removed)
    *removed = n;
  if (symbol && n == 0)
    return tml_error_set(err, TML_ENOENT, "%s is not in the new-symbol queue", norm);
  return 0;
}

/* The Bybit bot's queue file (data/new_symbol_training_queue.json):
 *   {"queued_symbols": ["LTCUSDT", "AVAXUSDT"], "queued_at": {"LTCUSDT": "2025-12-04T03:19:03.423000"}}
 * queued_at is optional per symbol (the import time is used then); naive times are UTC. */
static const char bybit_hint[] = "the Bybit queue file looks like {\"queued_symbols\": [\"LTCUSDT\", \"AVAXUSDT\"], "
                                 "\"queued_at\": {\"LTCUSDT\": \"2025-12-04T03:19:03.423000\"}} (docs/jobs.md)";

static int import_bybit(struct tml_jobs *q, const char *path, json_t *root, size_t *added, struct tml_error *err) {
  json_t *list = json_object_get(root, "queued_symbols"), *at = json_object_get(root, "queued_at");
  if (!json_is_array(list))
    return tml_error_set(err, TML_EPARSE, "queue file '%s': \"queued_symbols\" must be a list of symbol strings; %s",
                         path, bybit_hint);
  if (at && !json_is_null(at) && !json_is_object(at))
    return tml_error_set(err, TML_EPARSE, "queue file '%s': \"queued_at\" must be an object mapping each symbol to "
                         "its queue time; %s", path, bybit_hint);
  const char *key;
  json_t *val;
  if (json_is_object(at)) {
    json_object_foreach(at, key, val) {
      int64_t ms;
      if (!json_is_string(val) || tml_time_parse(json_string_value(val), strlen(json_string_value(val)), &ms) != 0)
        return tml_error_set(err, TML_EPARSE, "queue file '%s': \"queued_at\".\"%s\" is not a time like "
                             "2025-12-04T03:19:03.423000 (naive = UTC); fix or remove that entry", path, key);
    }
  }
  size_t n = json_array_size(list);
  char (*syms)[40] = calloc(n ? n : 1, sizeof(*syms));
  int64_t *when = calloc(n ? n : 1, sizeof(*when));
  int rc = 0;
  if (!syms || !when)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", path);
  int64_t now = tml_now_ms();
  for (size_t i = 0; i < n && !rc; i++) {
    json_t *e = json_array_get(list, i);
    if (!json_is_string(e)) {
      rc = tml_error_set(err, TML_EPARSE, "queue file '%s': \"queued_symbols\"[%zu] is not a symbol string; %s", path,
                         i, bybit_hint);
      break;
    }
    const char *sym = json_string_value(e);
    if (tml_symbol_normalize(sym, syms[i], sizeof(syms[i])) != 0 || !tml_symbol_valid(syms[i])) {
      rc = tml_error_set(err, TML_EPARSE, "queue file '%s': \"queued_symbols\"[%zu] '%s' is not a valid symbol "
                         "(like LTCUSDT)", path, i, sym);
      break;
    }
    json_t *t = json_is_object(at) ? json_object_get(at, sym) : NULL;
    when[i] = now;
    if (json_is_string(t))
      tml_time_parse(json_string_value(t), strlen(json_string_value(t)), &when[i]); /* checked above */
  }
  if (!rc)
    rc = BE(q)->begin(DB(q), "importing the queue", err);
  if (!rc) {
    for (size_t i = 0; i < n && !rc; i++)
      rc = add_locked(q, syms[i], when[i], 0, NULL, added, err);
    if (rc)
      BE(q)->rollback(DB(q));
    else
      rc = BE(q)->commit(DB(q), "importing the queue", err);
  }
  free(syms);
  free(when);
  if (rc && added)
    *added = 0;
  return rc;
}

/* Python's datetime.isoformat() of a naive UTC time: "2025-12-04T03:19:03.423000", no fraction when zero. */
static void iso_naive(int64_t ms, char *out, size_t outsz) {
  struct tml_tm tm;
  tml_time_split(ms, &tm);
  int64_t frac = ((ms % 1000) + 1000) % 1000;
  if (frac)
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03d000", (int)tm.year, (int)tm.month, (int)tm.day,
             (int)tm.hour, (int)tm.minute, (int)tm.second, (int)frac);
  else
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d", (int)tm.year, (int)tm.month, (int)tm.day, (int)tm.hour,
             (int)tm.minute, (int)tm.second);
}

int tml_symqueue_export(struct tml_jobs *q, const char *path, size_t *exported, struct tml_error *err) {
  if (exported)
    *exported = 0;
  struct tml_symqueue_entry *e = NULL;
  size_t n = 0;
  int rc = tml_symqueue_list(q, &e, &n, err);
  if (rc)
    return rc;
  struct tml_buf b;
  tml_buf_init(&b, 0);
  /* The layout of json.dump(queue, f, indent=2), which the bot's own tools write (no final newline). */
  int brc = tml_buf_puts(&b, n ? "{\n  \"queued_symbols\": [\n" : "{\n  \"queued_symbols\": [],\n");
  for (size_t i = 0; i < n; i++) {
    brc |= tml_buf_puts(&b, "    ");
    brc |= tml_buf_json_str(&b, e[i].symbol);
    brc |= tml_buf_puts(&b, i + 1 < n ? ",\n" : "\n  ],\n");
  }
  brc |= tml_buf_puts(&b, n ? "  \"queued_at\": {\n" : "  \"queued_at\": {}\n}");
  for (size_t i = 0; i < n; i++) {
    char when[48];
    iso_naive(e[i].added_ms, when, sizeof(when));
    brc |= tml_buf_puts(&b, "    ");
    brc |= tml_buf_json_str(&b, e[i].symbol);
    brc |= tml_buf_printf(&b, ": \"%s\"%s", when, i + 1 < n ? ",\n" : "\n  }\n}");
  }
  if (brc)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory writing the queue to '%s'", path);
  else
    rc = tml_write_file_atomic(path, b.ptr, b.len, err);
  if (!rc && exported)
    *exported = n;
  tml_buf_release(&b);
  free(e);
  return rc;
}

int tml_symqueue_import(struct tml_jobs *q, const char *path, size_t *added, struct tml_error *err) {
  if (added)
    *added = 0;
  json_error_t jerr;
  json_t *root = json_load_file(path, JSON_DECODE_ANY, &jerr);
  if (!root && jerr.line < 0) /* not a parse error: the file itself cannot be read */
    return tml_error_set(err, tml_path_exists(path) ? TML_EIO : TML_ENOENT, "cannot read queue file '%s': %s", path,
                         strerror(errno));
  if (!root)
    return tml_error_set(err, TML_EPARSE, "queue file '%s': not valid JSON (line %d: %s)", path, jerr.line, jerr.text);
  const char *fmt_hint = "expected {\"queued_symbols\":[\"LTCUSDT\",...],\"queued_at\":{\"LTCUSDT\":\"...\"}}, "
                         "{\"queue\":[{\"symbol\":\"LTCUSDT\",\"added_at\":\"...\",\"attempts\":0},...]} "
                         "or [\"LTCUSDT\", ...] (docs/jobs.md)";
  if (json_is_object(root) && json_object_get(root, "queued_symbols")) {
    int brc = import_bybit(q, path, root, added, err);
    json_decref(root);
    return brc;
  }
  json_t *list = json_is_array(root) ? root : json_is_object(root) ? json_object_get(root, "queue") : NULL;
  int rc = 0;
  if (!list || !json_is_array(list)) {
    rc = tml_error_set(err, TML_EPARSE, "queue file '%s': %s; %s", path,
                       json_is_object(root) ? "the object has no \"queue\" array" : "top level is not an object or array",
                       fmt_hint);
    goto done;
  }
  size_t n = json_array_size(list);
  struct item {
    char symbol[40];
    int64_t added_ms;
    int attempts;
    char error[512];
  } *items = calloc(n ? n : 1, sizeof(*items));
  if (!items) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory importing '%s'", path);
    goto done;
  }
  int64_t now = tml_now_ms();
  for (size_t i = 0; i < n && !rc; i++) {
    json_t *e = json_array_get(list, i);
    const char *sym = NULL;
    items[i].added_ms = now;
    if (json_is_string(e)) {
      sym = json_string_value(e);
    } else if (json_is_object(e)) {
      json_t *s = json_object_get(e, "symbol"), *at = json_object_get(e, "added_at"),
             *att = json_object_get(e, "attempts"), *le = json_object_get(e, "last_error");
      if (!json_is_string(s)) {
        rc = tml_error_set(err, TML_EPARSE, "queue file '%s': entry %zu has no \"symbol\" string; %s", path, i, fmt_hint);
        break;
      }
      sym = json_string_value(s);
      if (at && !json_is_null(at)) {
        if (!json_is_string(at) ||
            tml_time_parse(json_string_value(at), strlen(json_string_value(at)), &items[i].added_ms) != 0) {
          rc = tml_error_set(err, TML_EPARSE, "queue file '%s': entry %zu (%s): \"added_at\" is not a time like "
                             "2025-01-31T12:00:00Z", path, i, sym);
          break;
        }
      }
      if (att && !json_is_null(att)) {
        if (!json_is_integer(att) || json_integer_value(att) < 0 || json_integer_value(att) > 1000000) {
          rc = tml_error_set(err, TML_EPARSE, "queue file '%s': entry %zu (%s): \"attempts\" must be a whole number >= 0",
                             path, i, sym);
          break;
        }
        items[i].attempts = (int)json_integer_value(att);
      }
      if (json_is_string(le))
        snprintf(items[i].error, sizeof(items[i].error), "%s", json_string_value(le));
    } else {
      rc = tml_error_set(err, TML_EPARSE, "queue file '%s': entry %zu is neither a symbol string nor an object; %s",
                         path, i, fmt_hint);
      break;
    }
    if (tml_symbol_normalize(sym, items[i].symbol, sizeof(items[i].symbol)) != 0 || !tml_symbol_valid(items[i].symbol))
      rc = tml_error_set(err, TML_EPARSE, "queue file '%s': entry %zu: '%s' is not a valid symbol", path, i, sym);
  }
  if (!rc)
    rc = BE(q)->begin(DB(q), "importing the queue", err);
  if (!rc) {
    for (size_t i = 0; i < n && !rc; i++)
      rc = add_locked(q, items[i].symbol, items[i].added_ms, items[i].attempts, items[i].error, added, err);
    if (rc)
      BE(q)->rollback(DB(q));
    else
      rc = BE(q)->commit(DB(q), "importing the queue", err);
  }
  free(items);
done:
  json_decref(root);
  if (rc && added)
    *added = 0;
  return rc;
}

/* ---- reports ---- */

void tml_sched_report_init(struct tml_sched_report *r) { memset(r, 0, sizeof(*r)); }
void tml_sched_report_release(struct tml_sched_report *r) {
  if (!r)
    return;
  free(r->items);
  memset(r, 0, sizeof(*r));
}

static const char *const action_names[] = {"train_new", "rotate", "prune", "skip"};

static void report_add(struct tml_sched_report *r, enum tml_sched_action a, const char *symbol, int64_t job_id,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report_add(struct tml_sched_report *r, enum tml_sched_action a, const char *symbol, int64_t job_id,
                       const char *fmt, ...) {
  void *ni = tml_grow(r->items, &r->cap, r->n, sizeof(*r->items), 16);
  if (!ni)
    return;
  r->items = ni;
  struct tml_sched_item *it = &r->items[r->n++];
  memset(it, 0, sizeof(*it));
  it->action = a;
  snprintf(it->symbol, sizeof(it->symbol), "%s", symbol ? symbol : "");
  it->job_id = job_id;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
  va_end(ap);
  if (a == TML_SCHED_SKIP)
    r->skipped++;
  else if (a == TML_SCHED_PRUNE)
    r->pruned++;
  else if (job_id)
    r->submitted++;
}

int tml_sched_report_format(const struct tml_sched_report *r, bool json, struct tml_buf *out) {
  int rc = 0;
  if (json) {
    rc |= tml_buf_puts(out, "{\"items\":[");
    for (size_t i = 0; i < r->n; i++) {
      rc |= tml_buf_printf(out, "%s{\"action\":\"%s\",\"symbol\":", i ? "," : "", action_names[r->items[i].action]);
      rc |= tml_buf_json_str(out, r->items[i].symbol);
      rc |= tml_buf_puts(out, ",\"reason\":");
      rc |= tml_buf_json_str(out, r->items[i].reason);
      rc |= tml_buf_printf(out, ",\"job_id\":%" PRId64 "}", r->items[i].job_id);
    }
    rc |= tml_buf_printf(out, "],\"submitted\":%zu,\"skipped\":%zu,\"pruned\":%zu}\n", r->submitted, r->skipped,
                         r->pruned);
  } else {
    for (size_t i = 0; i < r->n; i++) {
      const struct tml_sched_item *it = &r->items[i];
      char job[32] = "";
      if (it->job_id)
        snprintf(job, sizeof(job), "job %" PRId64, it->job_id);
      rc |= tml_buf_printf(out, "%-10s %-16s %-10s %s\n", action_names[it->action], it->symbol, job, it->reason);
    }
    rc |= tml_buf_printf(out, "%zu job%s submitted, %zu skipped, %zu model version%s pruned\n", r->submitted,
                         r->submitted == 1 ? "" : "s", r->skipped, r->pruned, r->pruned == 1 ? "" : "s");
  }
  return rc ? TML_ETOOBIG : 0;
}

/* ---- one run ---- */

static bool wanted(const struct tml_sched_run_opts *o, const char *symbol) {
  if (!o->symbols || o->nsymbols == 0)
    return true;
  for (size_t i = 0; i < o->nsymbols; i++) {
    char norm[40];
    if (tml_symbol_normalize(o->symbols[i], norm, sizeof(norm)) == 0 && strcmp(norm, symbol) == 0)
      return true;
  }
  return false;
}

static int set_queue_fields(struct tml_jobs *q, const char *symbol, int64_t next_check_ms, int64_t job_id,
                            struct tml_error *err) {
  return BE(q)->symq_set(DB(q), symbol, next_check_ms, job_id, err);
}

static int submit_train(struct tml_jobs *q, enum tml_job_kind kind, const char *symbol, const char *interval,
                        const char *source, int64_t *id, bool *existed, struct tml_error *err) {
  struct tml_job_spec spec;
  tml_job_spec_init(&spec);
  spec.kind = kind;
  spec.symbols[0] = symbol;
  spec.nsymbols = 1;
  spec.interval = interval;
  spec.source = source;
  return tml_jobs_submit(q, &spec, id, existed, err);
}

/* True when (symbol, interval) was fetched from an exchange (a fetch_sources row). A stored series
 * without one was imported from files: the scheduler never fetches it (the user brings its candles). */
static int fetched_from_exchange(struct tml_store *store, const char *symbol, int64_t interval_ms, bool *yes,
                                 struct tml_error *err) {
  struct tml_fetch_source *src = NULL;
  size_t n = 0;
  *yes = false;
  int rc = tml_fetch_sources(store, &src, &n, err);
  for (size_t i = 0; !rc && i < n; i++)
    if (src[i].interval_ms == interval_ms && strcmp(src[i].symbol, symbol) == 0)
      *yes = true;
  free(src);
  return rc;
}

static int run_queue(struct tml_store *store, struct tml_jobs *q, const struct tml_config *cfg,
                     const struct tml_sched_run_opts *o, const struct tml_cov_opts *co, int64_t now,
                     struct tml_sched_report *rep, struct tml_error *err) {
  struct tml_symqueue_entry *e = NULL;
  size_t n = 0;
  int rc = tml_symqueue_list(q, &e, &n, err);
  int64_t recheck_ms = tml_config_int(cfg, "training.coverage_recheck_seconds") * 1000;
  const char *interval = tml_interval_name(co->interval_ms);
  for (size_t i = 0; i < n && !rc; i++) {
    if (!wanted(o, e[i].symbol))
      continue;
    if (e[i].next_check_ms > now) {
      char t[32];
      tml_time_format(e[i].next_check_ms, t, sizeof(t));
      report_add(rep, TML_SCHED_SKIP, e[i].symbol, 0, "waiting: coverage re-check at %s", t);
      continue;
    }
    struct tml_cov_row row;
    rc = tml_coverage_check(store, q, co, e[i].symbol, &row, err);
    if (rc)
      break;
    if (row.verdict == TML_COV_NO_DATA || row.verdict == TML_COV_INSUFFICIENT_HISTORY ||
        row.verdict == TML_COV_LOW_COVERAGE) {
      /* New listings must not wait for a human: ask for their candles (a fetch job from data.exchange,
       * incremental and deduplicated), then look again after the re-check period. A series the user
       * imported from files is theirs to extend: no fetch job for it. */
      bool from_exchange = false;
      if (row.verdict != TML_COV_NO_DATA &&
          (rc = fetched_from_exchange(store, e[i].symbol, co->interval_ms, &from_exchange, err)))
        break;
      if (row.verdict != TML_COV_NO_DATA && !from_exchange) {
        if (!o->dry_run && (rc = set_queue_fields(q, e[i].symbol, now + recheck_ms, 0, err)))
          break;
        report_add(rep, TML_SCHED_SKIP, e[i].symbol, 0,
                   "%s; imported from files, so not fetched: import more %s candles with `trademl data import`; "
                   "re-checked in %" PRId64 " s",
                   row.reason, interval, recheck_ms / 1000);
        continue;
      }
      int64_t fid = 0;
      bool fexisted = false;
      if (!o->dry_run) {
        struct tml_job_spec spec;
        tml_job_spec_init(&spec);
        spec.kind = TML_JOB_FETCH;
        spec.symbols[0] = e[i].symbol;
        spec.nsymbols = 1;
        spec.interval = interval;
        spec.days = tml_config_double(cfg, "data.days") > 0 ? tml_config_double(cfg, "data.days") : 730;
        spec.source = "queue";
        rc = tml_jobs_submit(q, &spec, &fid, &fexisted, err);
        if (!rc)
          rc = set_queue_fields(q, e[i].symbol, now + recheck_ms, 0, err);
      }
      report_add(rep, TML_SCHED_SKIP, e[i].symbol, fid, "%s; %s; re-checked in %" PRId64 " s", row.reason,
                 o->dry_run ? "would fetch candles" : fexisted ? "fetch already queued" : "fetch submitted",
                 recheck_ms / 1000);
      continue;
    }
    if (row.verdict == TML_COV_TRAINING) {
      report_add(rep, TML_SCHED_SKIP, e[i].symbol, row.job_id, "%s", row.reason);
      continue;
    }
    if (o->dry_run) {
      report_add(rep, TML_SCHED_TRAIN_NEW, e[i].symbol, 0, "would train (%.1f days, %.2f%% coverage)", row.history_days,
                 row.coverage_pct);
      continue;
    }
    int64_t id = 0;
    bool existed = false;
    rc = submit_train(q, TML_JOB_TRAIN, e[i].symbol, interval, "queue", &id, &existed, err);
    if (!rc)
      rc = set_queue_fields(q, e[i].symbol, 0, id, err);
    if (!rc)
      report_add(rep, TML_SCHED_TRAIN_NEW, e[i].symbol, id, "%s (%.1f days, %.2f%% coverage)",
                 existed ? "already queued" : "training submitted", row.history_days, row.coverage_pct);
  }
  free(e);
  return rc;
}

static int run_rotation(struct tml_store *store, struct tml_jobs *q, const struct tml_config *cfg,
                        const struct tml_sched_run_opts *o, const struct tml_cov_opts *co, struct tml_sched_report *rep,
                        struct tml_error *err) {
  bool enabled = tml_config_bool(cfg, "operations.model_rotation.enabled");
  bool forced = o->force_rotation && o->symbols && o->nsymbols;
  if (!enabled && !forced) {
    report_add(rep, TML_SCHED_SKIP, "", 0, "rotation disabled (operations.model_rotation.enabled = false)");
    return 0;
  }
  double max_age = (double)tml_config_int(cfg, "operations.model_rotation.retrain_frequency_days");
  struct tml_cov_row *rows = NULL;
  size_t n = 0;
  int rc = tml_coverage_compute(store, q, co, &rows, &n, err);
  const char *interval = tml_interval_name(co->interval_ms);
  for (size_t i = 0; i < n && !rc; i++) {
    const struct tml_cov_row *r = &rows[i];
    if (!wanted(o, r->symbol) || !r->has_model)
      continue;
    bool due = r->model_age_days >= max_age || forced;
    if (!due) {
      report_add(rep, TML_SCHED_SKIP, r->symbol, 0, "model %s was trained %.1f days ago < %g", r->model_version,
                 r->model_age_days, max_age);
      continue;
    }
    if (r->verdict == TML_COV_TRAINING) {
      report_add(rep, TML_SCHED_SKIP, r->symbol, r->job_id, "%s", r->reason);
      continue;
    }
    if (o->dry_run) {
      report_add(rep, TML_SCHED_ROTATE, r->symbol, 0, "would retrain: model %s was trained %.1f days ago",
                 r->model_version, r->model_age_days);
      continue;
    }
    int64_t id = 0;
    bool existed = false;
    rc = submit_train(q, TML_JOB_RETRAIN, r->symbol, interval, "rotation", &id, &existed, err);
    if (!rc)
      report_add(rep, TML_SCHED_ROTATE, r->symbol, id, "model %s was trained %.1f days ago%s", r->model_version,
                 r->model_age_days, existed ? " (already queued)" : "");
  }
  free(rows);
  return rc;
}

static int run_retention(struct tml_jobs *q, const struct tml_config *cfg, const struct tml_sched_run_opts *o,
                         int64_t now, struct tml_sched_report *rep, struct tml_error *err) {
  struct tml_registry *reg = NULL;
  int rc = tml_registry_open(tml__jobs_path(q), &reg, err);
  if (rc)
    return rc;
  struct tml_prune_report pr;
  memset(&pr, 0, sizeof(pr));
  rc = tml_registry_prune(reg, now, (int)tml_config_int(cfg, "model.retention_days"),
                          (int)tml_config_int(cfg, "model.keep_newest"), o->dry_run, &pr, err);
  for (size_t i = 0; !rc && i < pr.ndeleted; i++)
    report_add(rep, TML_SCHED_PRUNE, pr.deleted[i].key, 0, "%s model %" PRId64 " version %s",
               o->dry_run ? "would delete" : "deleted", pr.deleted[i].id, pr.deleted[i].version);
  tml_prune_report_release(&pr);
  tml_registry_close(reg);
  return rc;
}

int tml_scheduler_run_once(struct tml_store *store, struct tml_jobs *q, const struct tml_config *cfg,
                           const struct tml_sched_run_opts *o, struct tml_sched_report *rep, struct tml_error *err) {
  struct tml_sched_run_opts def;
  if (!o) {
    memset(&def, 0, sizeof(def));
    o = &def;
  }
  int64_t now = o->now_ms ? o->now_ms : tml_now_ms();
  struct tml_cov_opts co;
  int rc = tml_cov_opts_from_config(cfg, &co, err);
  co.now_ms = now;
  if (!rc) {
    if (o->skip_queue)
      report_add(rep, TML_SCHED_SKIP, "", 0, "new-symbol queue skipped (--skip-queue)");
    else if (!tml_config_bool(cfg, "model.auto_train_new_symbols"))
      report_add(rep, TML_SCHED_SKIP, "", 0, "new-symbol queue off (model.auto_train_new_symbols = false)");
    else
      rc = run_queue(store, q, cfg, o, &co, now, rep, err);
  }
  if (!rc)
    rc = run_rotation(store, q, cfg, o, &co, rep, err);
  if (!rc)
    rc = run_retention(q, cfg, o, now, rep, err);
  return rc;
}

/* ---- slots ---- */

int tml_scheduler_last_slot(struct tml_jobs *q, const char *name, int64_t *slot_ms, struct tml_error *err) {
  bool exists = false;
  return BE(q)->slot_get(DB(q), name, &exists, slot_ms, err);
}

int tml_scheduler_claim_slot(struct tml_jobs *q, const char *name, const struct tml_cron *cron, int64_t now_ms,
                             bool *claimed, int64_t *slot_ms, struct tml_error *err) {
  *claimed = false;
  int64_t slot = 0;
  if (tml_cron_prev(cron, now_ms, &slot) != 0)
    return 0; /* no slot within the search window: nothing due */
  if (slot_ms)
    *slot_ms = slot;
  int rc = BE(q)->begin(DB(q), "claiming a schedule slot", err);
  if (rc)
    return rc;
  bool exists = false;
  int64_t last = 0;
  rc = BE(q)->slot_get(DB(q), name, &exists, &last, err);
  if (rc || (exists && slot <= last))
    goto rollback; /* already run (by us or another process, on any host) */
  char owner[96];
  char host[64] = "host";
  gethostname(host, sizeof(host) - 1);
  host[sizeof(host) - 1] = '\0';
  snprintf(owner, sizeof(owner), "%s:%ld", host, (long)getpid());
  rc = BE(q)->slot_set(DB(q), name, slot, exists ? now_ms : 0, owner, err);
  if (rc)
    goto rollback;
  rc = BE(q)->commit(DB(q), "claiming a schedule slot", err);
  if (!rc)
    *claimed = exists; /* the first sighting only records the slot */
  return rc;
rollback:
  BE(q)->rollback(DB(q));
  return rc;
}

/* ---- the daemon's trigger ---- */

struct tml_scheduler {
  const struct tml_config *cfg;
  char db_path[TML_PATH_MAX];
  struct tml_cron cron;
  struct tml_jobs *q;
  struct tml_store *store;
  int64_t next_check_ms;
};

int tml_scheduler_create(const char *db_path, const struct tml_config *cfg, struct tml_scheduler **out,
                         struct tml_error *err) {
  *out = NULL;
  struct tml_scheduler *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "out of memory creating the scheduler");
  s->cfg = cfg;
  snprintf(s->db_path, sizeof(s->db_path), "%s", db_path);
  struct tml_jobs_opts jo;
  int rc = tml_cron_parse(tml_config_get(cfg, "training.cron_schedule"), &s->cron, err);
  if (!rc)
    rc = tml_jobs_opts_from_config(cfg, &jo, err);
  if (!rc)
    rc = tml_store_open_resident(db_path, cfg, &s->store, err);
  if (!rc)
    rc = tml_jobs_open(db_path, &jo, &s->q, err);
  if (rc) {
    tml_scheduler_destroy(s);
    return rc;
  }
  *out = s;
  return 0;
}

void tml_scheduler_destroy(struct tml_scheduler *s) {
  if (!s)
    return;
  tml_jobs_close(s->q);
  tml_store_close(s->store);
  free(s);
}

int tml_scheduler_tick(struct tml_scheduler *s, int64_t now_ms, bool *ran, struct tml_sched_report *rep,
                       struct tml_error *err) {
  if (ran)
    *ran = false;
  /* Cheap when nothing is due: the database is read once per minute boundary at most. */
  if (now_ms < s->next_check_ms)
    return 0;
  s->next_check_ms = tml_time_floor(now_ms, TML_MS_PER_MINUTE) + TML_MS_PER_MINUTE;
  bool claimed = false;
  int rc = tml_scheduler_claim_slot(s->q, "retrain", &s->cron, now_ms, &claimed, NULL, err);
  if (rc || !claimed)
    return rc;
  struct tml_sched_report local;
  tml_sched_report_init(&local);
  struct tml_sched_run_opts o;
  memset(&o, 0, sizeof(o));
  o.now_ms = now_ms;
  rc = tml_scheduler_run_once(s->store, s->q, s->cfg, &o, rep ? rep : &local, err);
  tml_sched_report_release(&local);
  if (ran)
    *ran = true;
  return rc;
}

int64_t tml_scheduler_next(const struct tml_scheduler *s, int64_t now_ms) {
  int64_t next = 0;
  return tml_cron_next(&s->cron, now_ms, &next) == 0 ? next : 0;
}

const struct tml_cron *tml_scheduler_cron(const struct tml_scheduler *s) { return &s->cron; }
