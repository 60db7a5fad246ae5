/* Scheduled work: the cron trigger (training.cron_schedule, UTC), and one scheduled run, which in
 * order processes the new-symbol queue (model.auto_train_new_symbols), rotates models older than
 * operations.model_rotation.retrain_frequency_days (when enabled) and applies retention (registry
 * prune). A slot is claimed in a transaction (scheduler_state table) so two processes never run the
 * same slot; a run missed while nothing was running happens once at start-up, not once per slot.
 * Also the new-symbol queue (symbol_queue table). See docs/jobs.md. */
#ifndef TML_SCHEDULER_H
#define TML_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/cron.h"

struct tml_error;
struct tml_buf;
struct tml_config;
struct tml_jobs;
struct tml_store;

/* ---- new-symbol queue ---- */

struct tml_symqueue_entry {
  char symbol[40];
  int64_t added_ms;
  int attempts;           /* training attempts that failed so far */
  char last_error[512];   /* "" when none */
  int64_t next_check_ms;  /* not considered before this (coverage re-check timer); 0 = now */
  int64_t job_id;         /* the training job last submitted for it, 0 = none */
};

/* Adds symbols (normalized; invalid names are TML_EINVAL naming them, nothing added). Symbols
 * already queued are left as they are; *added (may be NULL) counts new ones. */
int tml_symqueue_add(struct tml_jobs *q, const char *const *symbols, size_t n, size_t *added, struct tml_error *err);
/* All entries, oldest first; *out malloc'ed (free()). */
int tml_symqueue_list(struct tml_jobs *q, struct tml_symqueue_entry **out, size_t *n, struct tml_error *err);
/* Removes one symbol (TML_ENOENT when not queued) or, with symbol NULL, all; *removed may be NULL. */
int tml_symqueue_remove(struct tml_jobs *q, const char *symbol, size_t *removed, struct tml_error *err);
/* Imports a JSON queue file, one of three forms: the Bybit bot's file
 * {"queued_symbols":["LTCUSDT","AVAXUSDT"],"queued_at":{"LTCUSDT":"2025-12-04T03:19:03.423000"}} (naive times
 * are UTC; a symbol without a queued_at entry gets the import time), or {"queue":[{"symbol":"LTCUSDT","added_at":"2025-01-01T00:00:00Z",
 * "attempts":0}, ...]} (added_at, attempts, last_error optional) or a plain list ["LTCUSDT", ...].
 * Anything else is TML_EPARSE naming the path and what is wrong; nothing is imported then. */
int tml_symqueue_import(struct tml_jobs *q, const char *path, size_t *added, struct tml_error *err);
/* Writes the queue to `path` atomically in the Bybit bot's format (as json.dump(..., indent=2) lays it out):
 * queued_symbols oldest first, queued_at as naive UTC times with microseconds ("2025-12-04T03:19:03.423000",
 * no fraction when zero; trademl keeps milliseconds). *exported (may be NULL) counts the symbols. */
int tml_symqueue_export(struct tml_jobs *q, const char *path, size_t *exported, struct tml_error *err);

/* ---- one scheduled run ---- */

enum tml_sched_action {
  TML_SCHED_TRAIN_NEW,  /* a queued symbol was submitted for training */
  TML_SCHED_ROTATE,     /* an old model was submitted for retraining */
  TML_SCHED_PRUNE,      /* retention removed old model versions */
  TML_SCHED_SKIP,       /* considered and skipped (reason says why) */
};

struct tml_sched_item {
  enum tml_sched_action action;
  char symbol[40];
  char reason[256];     /* "insufficient history: 12.3 days < 90", "model 9.2 days old >= 7" */
  int64_t job_id;       /* submitted (or already queued/running) job, 0 = none */
};

struct tml_sched_report {
  struct tml_sched_item *items; /* owned; tml_sched_report_release */
  size_t n, cap;
  size_t submitted, skipped, pruned;
};
void tml_sched_report_init(struct tml_sched_report *r);
void tml_sched_report_release(struct tml_sched_report *r);
/* Human table or JSON ({"items":[{"action":"train_new","symbol":..,"reason":..,"job_id":..}],...}). */
int tml_sched_report_format(const struct tml_sched_report *r, bool json, struct tml_buf *out);

struct tml_sched_run_opts {
  bool dry_run;          /* decide and report; submit nothing, change nothing */
  bool skip_queue;       /* do not process the new-symbol queue */
  const char *const *symbols; /* restrict rotation and the queue to these (NULL = all) */
  size_t nsymbols;
  int64_t now_ms;        /* 0 = now */
  bool force_rotation;   /* rotate the listed symbols even when rotation is disabled or the model is young
                            (`trademl retrain --symbols`) */
};

/* Runs the three steps once (no slot claim; `trademl retrain` and the scheduler call it). Jobs are
 * submitted to q (deduplicated), not waited for. store gives history/coverage of queued symbols;
 * cfg gives the keys. Returns 0 or the first hard error (a skipped symbol is not an error). */
int tml_scheduler_run_once(struct tml_store *store, struct tml_jobs *q, const struct tml_config *cfg,
                           const struct tml_sched_run_opts *o, struct tml_sched_report *rep, struct tml_error *err);

/* ---- the trigger ---- */

/* Claims the latest slot of cron at or before now_ms for schedule `name` in one transaction. *claimed
 * is true when that slot was not yet run by anyone (then the caller runs it); false when it was, or
 * when this is the first time the schedule is seen (its latest slot is then recorded as done, so a
 * fresh install does not run at once). *slot_ms (may be NULL) gets the slot. */
int tml_scheduler_claim_slot(struct tml_jobs *q, const char *name, const struct tml_cron *cron, int64_t now_ms,
                             bool *claimed, int64_t *slot_ms, struct tml_error *err);
/* The last slot run for `name` (0 when never). */
int tml_scheduler_last_slot(struct tml_jobs *q, const char *name, int64_t *slot_ms, struct tml_error *err);

struct tml_scheduler; /* opaque: the daemon's periodic trigger */

/* Creates a scheduler over db_path with cfg (borrowed; must outlive it). Opens its own connections.
 * TML_EINVAL for a malformed training.cron_schedule. Free with tml_scheduler_destroy(). */
int tml_scheduler_create(const char *db_path, const struct tml_config *cfg, struct tml_scheduler **out,
                         struct tml_error *err);
void tml_scheduler_destroy(struct tml_scheduler *s);
/* Call about once a second from one thread (the daemon's housekeeping tick): when a slot is due and
 * this process claims it, runs tml_scheduler_run_once. *ran (may be NULL) tells whether it ran; rep
 * (may be NULL) receives the run's report. Cheap when nothing is due. */
int tml_scheduler_tick(struct tml_scheduler *s, int64_t now_ms, bool *ran, struct tml_sched_report *rep,
                       struct tml_error *err);
/* Next fire time after now_ms, and the parsed schedule. */
int64_t tml_scheduler_next(const struct tml_scheduler *s, int64_t now_ms);
const struct tml_cron *tml_scheduler_cron(const struct tml_scheduler *s);

#endif
