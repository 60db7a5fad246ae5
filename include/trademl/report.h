/* Stored validation reports: <reports_dir>/<report-id>/{report.json,report.html}, written by
 * tml_validate_report_write. Listing, lookup by id or path, and a terminal table of one report. */
#ifndef TML_REPORT_H
#define TML_REPORT_H

#include <stdbool.h>
#include <stddef.h>

struct tml_buf;
struct tml_error;
struct tml_validate_opts;
struct tml_validate_result;
struct tml_validate_stage;
struct tml_validate_compare;

struct tml_report_info {
  char id[128];
  char dir[4200];
  char symbols[256];   /* comma-separated */
  char interval[16];
  char stage[16];      /* "quick" or "full" */
  char created_at[32];
  size_t nfolds;
  bool passed;
};

/* Lists the reports under reports_dir, newest id first. A missing folder is an empty list. On success
 * the caller frees *out with free(). Unreadable report folders are skipped. 0, TML_EIO or TML_ENOMEM. */
int tml_report_list(const char *reports_dir, struct tml_report_info **out, size_t *n, struct tml_error *err);

/* Resolves `id_or_path` (a report id under reports_dir, a report folder, or a report.json path) to
 * the report's folder. TML_ENOENT naming what was tried, with a hint to `trademl report list`. */
int tml_report_resolve(const char *reports_dir, const char *id_or_path, char *dir, size_t dirsz, struct tml_error *err);

/* Renders report.json text as a terminal table: data range, folds, gates with verdicts and the
 * summary of the main metrics against their baselines. 0, TML_EPARSE (not a report) or TML_ENOMEM. */
int tml_report_table(const char *json, size_t len, struct tml_buf *out, struct tml_error *err);

/* report.json of one stage (deterministic apart from "created_at", "report_id" and "timings"). */
int tml_validate_report_json(const struct tml_validate_result *r, const struct tml_validate_stage *st,
                             const struct tml_validate_opts *o, struct tml_buf *out);
/* report.html: one self-contained page (inline CSS and SVG, no script, no network). */
int tml_validate_report_html(const struct tml_validate_result *r, const struct tml_validate_stage *st,
                             const struct tml_validate_opts *o, struct tml_buf *out);
/* Writes report.json and report.html into <reports_dir>/<id>/ atomically (temporary folder +
 * rename); st->report_id/report_dir receive the names. 0, TML_EIO, TML_EPERM. */
int tml_validate_report_write(const struct tml_validate_result *r, struct tml_validate_stage *st,
                              const struct tml_validate_opts *o, struct tml_error *err);

/* The side-by-side report of validate --compare: compare.json and compare.html in <reports_dir>/<id>/
 * (written atomically); every strategy's metric means head by head on the same folds, the baseline,
 * the best strategy per metric. *id and *dir receive the names (64 and 4200 bytes). */
int tml_validate_compare_json(const struct tml_validate_compare *c, const struct tml_validate_opts *o,
                              struct tml_buf *out);

/* The issue-14 promise checked per head: is an ensemble's mean out-of-sample log loss (RMSE for
 * regression heads) at least as good as the better of its members that are in the comparison? */
struct tml_compare_verdict {
  size_t ensemble;       /* index into c->names */
  size_t member;         /* the better member in the comparison (index into c->names) */
  int head;              /* enum tml_head */
  int metric;            /* metric id: <head>.logloss or <head>.rmse */
  double ensemble_value, member_value;
  bool known;            /* both values finite */
  bool at_least_as_good; /* ensemble_value <= member_value */
  char statement[256];   /* "ensemble is worse than its better member xgb5 on volatility: 1.0876 vs 1.0590 ..." */
};
/* Fills out[] (up to cap) with one verdict per head of every strategy in c that has members
 * (c->members) of which at least one is in the comparison; returns how many (0 = no such strategy). */
size_t tml_validate_compare_verdicts(const struct tml_validate_compare *c, struct tml_compare_verdict *out, size_t cap);
int tml_validate_compare_write(const struct tml_validate_compare *c, const struct tml_validate_opts *o, char *id,
                               char *dir, struct tml_error *err);

#endif
