/* Validation reports: report.json (every fold, every metric, the parameters, the data range and the
 * input hash) and report.html (one self-contained page: inline CSS and SVG charts drawn here, no
 * script, no network), written into <reports_dir>/<id>/ through a temporary folder and a rename so
 * a reader never sees half a report. Also the listing and table rendering of `trademl report`. */
#include "trademl/report.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/hash.h"
#include "trademl/timeutil.h"
#include "trademl/strategy.h"
#include "trademl/validate.h"
#include "util/common.h"

#include <dirent.h>
#include <jansson.h>
#include <sys/stat.h>

/* ---- JSON ---- */
static void put_num(struct tml_buf *b, double v) {
  if (isfinite(v))
    tml_buf_printf(b, "%.10g", v);
  else
    tml_buf_puts(b, "null");
}

static void put_time(struct tml_buf *b, const char *key, int64_t ms) {
  char ts[32];
  tml_time_format(ms, ts, sizeof(ts));
  tml_buf_printf(b, "\"%s\":\"%s\"", key, ts);
}

static void put_metric_map(struct tml_buf *b, const double *v) {
  size_t nm = tml_validate_metric_count();
  tml_buf_putc(b, '{');
  bool first = true;
  for (size_t m = 0; m < nm; m++) {
    if (isnan(v[m]))
      continue;
    tml_buf_printf(b, "%s\"%s\":", first ? "" : ",", tml_validate_metric_name(m));
    put_num(b, v[m]);
    first = false;
  }
  tml_buf_putc(b, '}');
}

static void gate_text(const struct tml_gate *g, char *out, size_t n) {
  snprintf(out, n, "%s %s %g", tml_validate_metric_name((size_t)g->metric), tml_gate_op_str(g->op), g->threshold);
}

/* Top columns by mean gain share, ties by column order. */
static size_t top_features(const struct tml_validate_result *r, const struct tml_validate_stage *st, size_t *idx,
                           size_t max) {
  size_t n = 0;
  for (size_t k = 0; k < max; k++) {
    size_t best = SIZE_MAX;
    for (size_t j = 0; j < r->ncols; j++) {
      bool taken = false;
      for (size_t q = 0; q < n; q++)
        taken = taken || idx[q] == j;
      if (!taken && st->importance[j] > 0 && (best == SIZE_MAX || st->importance[j] > st->importance[best]))
        best = j;
    }
    if (best == SIZE_MAX)
      break;
    idx[n++] = best;
  }
  return n;
}

int tml_validate_report_json(const struct tml_validate_result *r, const struct tml_validate_stage *st,
                             const struct tml_validate_opts *o, struct tml_buf *b) {
  const struct tml_train_opts *to = &o->train;
  char created[32];
  tml_time_format(tml_now_ms(), created, sizeof(created));
  tml_buf_printf(b, "{\"format\":1,\"kind\":\"walk_forward\",\"report_id\":");
  tml_buf_json_str(b, st->report_id);
  tml_buf_printf(b, ",\"created_at\":\"%s\",\"stage\":\"%s\",\"mode\":\"%s\",\"symbols\":[", created,
                 tml_validate_mode_name(st->mode), tml_validate_mode_name(o->mode));
  for (size_t i = 0; i < to->nsymbols; i++) {
    if (i)
      tml_buf_putc(b, ',');
    tml_buf_json_str(b, to->symbols[i]);
  }
  tml_buf_printf(b, "],\"interval\":\"%s\",\"data\":{", tml_interval_name(to->interval_ms));
  put_time(b, "first_row", r->first_ms);
  tml_buf_putc(b, ',');
  put_time(b, "last_row", r->last_ms);
  tml_buf_printf(b, ",\"days\":%g,\"candles\":%zu,\"rows\":%zu,\"columns\":%zu,\"input_hash\":\"%s\"},", to->days,
                 r->candles, r->rows, r->ncols, r->input_hash);
  const struct tml_fold_spec *s = &st->spec;
  tml_buf_printf(b,
                 "\"parameters\":{\"folds\":{\"window\":\"%s\",\"test_period_days\":%d,\"min_train_days\":%d,"
                 "\"train_window_days\":%d,\"embargo_days\":%d,\"max_folds\":%d,\"purge_candles\":%d,"
                 "\"early_stopping_share\":%g},\"signal_threshold\":%g,\"fee_pct_round_trip\":%g,\"min_train_rows\":%zu,"
                 "\"labels\":",
                 s->window == TML_WINDOW_FIXED ? "fixed" : "expanding", s->test_period_days, s->min_train_days,
                 s->train_window_days, s->embargo_days, s->max_folds, st->plan.purge_candles, s->stop_share,
                 o->signal_threshold, o->fee_pct, to->min_train_rows);
  int rc = tml_label_spec_to_json(&to->labels, b);
  tml_buf_puts(b, ",\"xgboost\":");
  if (!rc)
    rc = tml_xgb_params_to_json(&to->xgb, tml_strategy_trains_engine(to->strategy, to->engine, to->config, "native"),
                                b);
  tml_buf_printf(b, ",\"engine\":\"%s\",\"strategy\":", to->engine ? to->engine : "xgboost");
  tml_buf_json_str(b, to->strategy ? to->strategy : TML_STRATEGY_DEFAULT);
  tml_buf_puts(b, ",\"heads\":[");
  bool first = true;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    if (!o->heads || (o->heads & (1u << h))) {
      tml_buf_printf(b, "%s\"%s\"", first ? "" : ",", tml_head_name((enum tml_head)h));
      first = false;
    }
  tml_buf_puts(b, "]},\"folds\":[");
  for (size_t k = 0; k < st->nfolds; k++) {
    const struct tml_validate_fold *f = &st->folds[k];
    const struct tml_label_thresholds *th = &f->thresholds;
    tml_buf_printf(b, "%s{\"fold\":%zu,", k ? "," : "", k + 1);
    put_time(b, "train_from", f->fold.train_from_ms);
    tml_buf_putc(b, ',');
    put_time(b, "stop_from", f->fold.stop_from_ms);
    tml_buf_putc(b, ',');
    put_time(b, "test_from", f->fold.test_from_ms);
    tml_buf_putc(b, ',');
    put_time(b, "test_to", f->fold.test_to_ms);
    tml_buf_printf(b,
                   ",\"row_ranges\":{\"fit\":[%zu,%zu],\"stop\":[%zu,%zu],\"test\":[%zu,%zu]},"
                   "\"thresholds\":{\"direction\":[%.10g,%.10g],\"volatility\":[%.10g,%.10g,%.10g],"
                   "\"timing\":[%.10g,%.10g]},\"metrics\":",
                   f->fold.fit.begin, f->fold.fit.end, f->fold.stop.begin, f->fold.stop.end, f->fold.test.begin,
                   f->fold.test.end, th->direction[0], th->direction[1], th->volatility[0], th->volatility[1],
                   th->volatility[2], th->timing[0], th->timing[1]);
    put_metric_map(b, f->value);
    tml_buf_puts(b, ",\"baseline\":");
    put_metric_map(b, f->baseline);
    tml_buf_putc(b, '}');
  }
  tml_buf_puts(b, "],\"summary\":{");
  size_t nm = tml_validate_metric_count();
  first = true;
  for (size_t m = 0; m < nm; m++) {
    if (isnan(st->mean[m]) && isnan(st->baseline_mean[m]))
      continue;
    tml_buf_printf(b, "%s\"%s\":{\"mean\":", first ? "" : ",", tml_validate_metric_name(m));
    put_num(b, st->mean[m]);
    tml_buf_puts(b, ",\"std\":");
    put_num(b, st->std[m]);
    tml_buf_puts(b, ",\"min\":");
    put_num(b, st->min[m]);
    tml_buf_puts(b, ",\"max\":");
    put_num(b, st->max[m]);
    tml_buf_puts(b, ",\"baseline\":");
    put_num(b, st->baseline_mean[m]);
    tml_buf_putc(b, '}');
    first = false;
  }
  tml_buf_puts(b, "},\"gates\":[");
  for (size_t i = 0; i < st->ngates; i++) {
    const struct tml_validate_gate_result *g = &st->gates[i];
    char txt[96];
    gate_text(&g->gate, txt, sizeof(txt));
    tml_buf_printf(b, "%s{\"rule\":", i ? "," : "");
    tml_buf_json_str(b, txt);
    tml_buf_printf(b, ",\"metric\":\"%s\",\"op\":\"%s\",\"threshold\":%.10g,\"value\":",
                   tml_validate_metric_name((size_t)g->gate.metric), tml_gate_op_str(g->gate.op), g->gate.threshold);
    put_num(b, g->value);
    tml_buf_puts(b, ",\"baseline\":");
    put_num(b, g->baseline);
    tml_buf_printf(b, ",\"passed\":%s}", g->passed ? "true" : "false");
  }
  tml_buf_printf(b, "],\"passed\":%s,\"importance\":{\"head\":\"direction\",\"measure\":\"mean share of total gain "
                    "over folds\",\"top\":[",
                 st->passed ? "true" : "false");
  size_t idx[20];
  size_t ntop = top_features(r, st, idx, 20);
  for (size_t i = 0; i < ntop; i++) {
    tml_buf_printf(b, "%s{\"feature\":", i ? "," : "");
    tml_buf_json_str(b, r->col_names ? r->col_names[idx[i]] : "?");
    tml_buf_printf(b, ",\"share\":%.10g}", st->importance[idx[i]]);
  }
  tml_buf_puts(b, "]},\"equity\":{\"unit\":\"percent of starting equity, compounded\",\"time\":[");
  for (size_t i = 0; i < st->ncurve; i++) {
    char ts[32];
    tml_time_format(st->curve_time[i], ts, sizeof(ts));
    tml_buf_printf(b, "%s\"%s\"", i ? "," : "", ts);
  }
  tml_buf_puts(b, "],\"signals\":[");
  for (size_t i = 0; i < st->ncurve; i++) {
    if (i)
      tml_buf_putc(b, ',');
    put_num(b, st->curve_model[i]);
  }
  tml_buf_puts(b, "],\"buy_and_hold\":[");
  for (size_t i = 0; i < st->ncurve; i++) {
    if (i)
      tml_buf_putc(b, ',');
    put_num(b, st->curve_bh[i]);
  }
  /* Everything that may differ between identical runs sits below: timings and the thread budget. */
  tml_buf_printf(b,
                 "]},\"run\":{\"threads\":%d,\"seconds\":%.3f,\"features_seconds\":%.3f,\"thread_seconds\":{"
                 "\"prepare\":%.3f,\"xgboost_train\":%.3f,\"xgboost_round0\":%.3f,\"predict\":%.3f,"
                 "\"metrics\":%.3f},\"rounds\":%lld,\"fold_seconds\":[",
                 to->threads, st->seconds, r->t_features, st->t_prepare, st->t_boost, st->t_round0, st->t_predict,
                 st->t_metrics, st->rounds);
  for (size_t k = 0; k < st->nfolds; k++)
    tml_buf_printf(b, "%s%.3f", k ? "," : "", st->folds[k].seconds);
  tml_buf_puts(b, "]}}\n");
  if (!rc && !b->ptr)
    rc = TML_ENOMEM;
  return rc;
}

/* ---- HTML and SVG ---- */
static void html_esc(struct tml_buf *b, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '<': tml_buf_puts(b, "&lt;"); break;
    case '>': tml_buf_puts(b, "&gt;"); break;
    case '&': tml_buf_puts(b, "&amp;"); break;
    case '"': tml_buf_puts(b, "&quot;"); break;
    default: tml_buf_putc(b, *s);
    }
  }
}

#define SVG_W 640.0
#define SVG_H 240.0
#define PAD_L 56.0
#define PAD_R 12.0
#define PAD_T 26.0
#define PAD_B 30.0

static const char *const colors[] = {"#1f77b4", "#999999", "#d62728", "#2ca02c"};

/* A line chart: nseries series of n points each (NaN points are skipped), x = index 0..n-1. */
static void svg_lines(struct tml_buf *b, const char *id, const char *title, size_t n, size_t nseries,
                      const double *const *ys, const char *const *names, const char *const *xlabels) {
  double lo = INFINITY, hi = -INFINITY;
  for (size_t s = 0; s < nseries; s++)
    for (size_t i = 0; i < n; i++)
      if (isfinite(ys[s][i])) {
        lo = ys[s][i] < lo ? ys[s][i] : lo;
        hi = ys[s][i] > hi ? ys[s][i] : hi;
      }
  if (!isfinite(lo)) {
    lo = 0;
    hi = 1;
  }
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  double pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  double pw = SVG_W - PAD_L - PAD_R, ph = SVG_H - PAD_T - PAD_B;
  tml_buf_printf(b, "<figure class=\"chart\" id=\"%s\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                    "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\"><title>",
                 id, SVG_W, SVG_H, SVG_W, SVG_H);
  html_esc(b, title);
  tml_buf_printf(b, "</title><text x=\"%.0f\" y=\"16\" class=\"t\">", PAD_L);
  html_esc(b, title);
  tml_buf_puts(b, "</text>");
  for (int t = 0; t <= 4; t++) {
    double v = lo + (hi - lo) * t / 4.0, y = PAD_T + ph - ph * t / 4.0;
    tml_buf_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"g\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" class=\"a\" text-anchor=\"end\">%.4g</text>",
                   PAD_L, SVG_W - PAD_R, y, y, PAD_L - 4, y + 4, v);
  }
  size_t nl = n < 8 ? n : 8;
  for (size_t t = 0; xlabels && t < nl; t++) {
    size_t i = nl > 1 ? t * (n - 1) / (nl - 1) : 0;
    double x = PAD_L + (n > 1 ? pw * (double)i / (double)(n - 1) : pw / 2);
    const char *anchor = nl > 1 && t == 0 ? "start" : nl > 1 && t + 1 == nl ? "end" : "middle";
    tml_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"a\" text-anchor=\"%s\">", x, SVG_H - 10, anchor);
    html_esc(b, xlabels[i]);
    tml_buf_puts(b, "</text>");
  }
  for (size_t s = 0; s < nseries; s++) {
    tml_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s points=\"", colors[s % 4],
                   s == 1 ? " stroke-dasharray=\"4 3\"" : "");
    for (size_t i = 0; i < n; i++) {
      if (!isfinite(ys[s][i]))
        continue;
      double x = PAD_L + (n > 1 ? pw * (double)i / (double)(n - 1) : pw / 2);
      double y = PAD_T + ph - ph * (ys[s][i] - lo) / (hi - lo);
      tml_buf_printf(b, "%.1f,%.1f ", x, y);
    }
    tml_buf_puts(b, "\"/>");
    double lx = PAD_L + 170.0 * (double)s + 250;
    tml_buf_printf(b, "<rect x=\"%.0f\" y=\"8\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%.0f\" y=\"17\" "
                      "class=\"a\">",
                   lx, colors[s % 4], lx + 14);
    html_esc(b, names[s]);
    tml_buf_puts(b, "</text>");
  }
  tml_buf_puts(b, "</svg></figure>\n");
}

static void svg_bars(struct tml_buf *b, const char *id, const char *title, size_t n, const double *v,
                     const char *const *labels) {
  double hi = 0;
  for (size_t i = 0; i < n; i++)
    hi = v[i] > hi ? v[i] : hi;
  if (hi <= 0)
    hi = 1;
  double h = PAD_T + 18.0 * (double)n + 8;
  tml_buf_printf(b, "<figure class=\"chart\" id=\"%s\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                    "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\"><title>",
                 id, SVG_W, h, SVG_W, h);
  html_esc(b, title);
  tml_buf_puts(b, "</title><text x=\"8\" y=\"16\" class=\"t\">");
  html_esc(b, title);
  tml_buf_puts(b, "</text>");
  for (size_t i = 0; i < n; i++) {
    double y = PAD_T + 18.0 * (double)i, w = (SVG_W - 260) * v[i] / hi;
    tml_buf_printf(b, "<text x=\"196\" y=\"%.0f\" class=\"a\" text-anchor=\"end\">", y + 12);
    html_esc(b, labels[i]);
    tml_buf_printf(b, "</text><rect x=\"200\" y=\"%.0f\" width=\"%.1f\" height=\"14\" fill=\"%s\"/>"
                      "<text x=\"%.1f\" y=\"%.0f\" class=\"a\">%.3f</text>",
                   y, w, colors[0], 204 + w, y + 12, v[i]);
  }
  tml_buf_puts(b, "</svg></figure>\n");
}

static void fmt_day(int64_t ms, char *out, size_t n) {
  char ts[32];
  tml_time_format(ms, ts, sizeof(ts));
  snprintf(out, n, "%.10s", ts);
}

static void cell_num(struct tml_buf *b, double v) {
  if (isfinite(v))
    tml_buf_printf(b, "<td>%.4g</td>", v);
  else
    tml_buf_puts(b, "<td>-</td>");
}

int tml_validate_report_html(const struct tml_validate_result *r, const struct tml_validate_stage *st,
                             const struct tml_validate_opts *o, struct tml_buf *b) {
  const struct tml_train_opts *to = &o->train;
  char a[32], z[32];
  fmt_day(r->first_ms, a, sizeof(a));
  fmt_day(r->last_ms, z, sizeof(z));
  tml_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>trademl validation ");
  html_esc(b, to->symbols[0]);
  tml_buf_puts(b, "</title><style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}"
                  "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;"
                  "text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
                  ".pass{color:#176b1e;font-weight:bold}.fail{color:#b00020;font-weight:bold}"
                  ".verdict{font-size:20px;padding:8px 12px;border-radius:4px;display:inline-block}"
                  ".verdict.pass{background:#e3f4e4}.verdict.fail{background:#fbe4e7}"
                  "figure.chart{display:inline-block;margin:6px}.t{font-size:13px;font-weight:bold}"
                  ".a{font-size:11px;fill:#444}.g{stroke:#e5e5e5}</style></head><body>\n<h1>Walk-forward "
                  "validation: ");
  for (size_t i = 0; i < to->nsymbols; i++) {
    if (i)
      tml_buf_puts(b, ", ");
    html_esc(b, to->symbols[i]);
  }
  tml_buf_printf(b, " %s (%s)</h1>\n<p>Report <code>", tml_interval_name(to->interval_ms),
                 tml_validate_mode_name(st->mode));
  html_esc(b, st->report_id);
  tml_buf_printf(b, "</code>: rows %s .. %s (%zu rows, %zu candles, input hash %s); %zu folds, %s window, "
                    "%d-day test periods, purge %d candles, embargo %d days; signal P(up) &gt;= %g, fee %g%% round trip.</p>\n",
                 a, z, r->rows, r->candles, r->input_hash, st->nfolds,
                 st->spec.window == TML_WINDOW_FIXED ? "fixed" : "expanding", st->spec.test_period_days,
                 st->plan.purge_candles, st->spec.embargo_days, o->signal_threshold, o->fee_pct);
  tml_buf_printf(b, "<p id=\"verdict\" class=\"verdict %s\">Verdict: %s</p>\n", st->passed ? "pass" : "fail",
                 st->passed ? "all gates passed" : "gate not passed");
  tml_buf_puts(b, "<h2>Gates</h2><table id=\"gates\"><tr><th>gate</th><th>mean over folds</th><th>baseline</th>"
                  "<th>result</th></tr>\n");
  for (size_t i = 0; i < st->ngates; i++) {
    const struct tml_validate_gate_result *g = &st->gates[i];
    char txt[96];
    gate_text(&g->gate, txt, sizeof(txt));
    tml_buf_puts(b, "<tr><td>");
    html_esc(b, txt);
    tml_buf_puts(b, "</td>");
    cell_num(b, g->value);
    cell_num(b, g->baseline);
    tml_buf_printf(b, "<td class=\"%s\">%s</td></tr>\n", g->passed ? "pass" : "fail", g->passed ? "passed" : "FAILED");
  }
  tml_buf_puts(b, "</table>\n<h2>Fold metrics against the baselines</h2>\n");
  size_t n = st->nfolds, nm;
  double *mv = malloc((n ? n : 1) * sizeof(double)), *bv = malloc((n ? n : 1) * sizeof(double));
  char(*xl)[16] = malloc((n ? n : 1) * sizeof(*xl));
  const char **xlp = malloc((n ? n : 1) * sizeof(char *));
  if (!mv || !bv || !xl || !xlp) {
    free(mv);
    free(bv);
    free(xl);
    free(xlp);
    return TML_ENOMEM;
  }
  for (size_t k = 0; k < n; k++) {
    fmt_day(st->folds[k].fold.test_from_ms, xl[k], sizeof(xl[k]));
    xlp[k] = xl[k];
  }
  static const char *const charted[] = {"direction.accuracy",  "direction.roc_auc.up", "direction.f1.up",
                                        "direction.recall.up", "direction.logloss",    "volatility.macro_f1",
                                        "timing.macro_f1",     "stop_loss.rmse",       "position_size.rmse",
                                        "trading.avg_return_pct"};
  for (size_t c = 0; c < TML_ARRAY_LEN(charted); c++) {
    int id = tml_validate_metric_id(charted[c]);
    if (id < 0 || isnan(st->mean[id]))
      continue;
    for (size_t k = 0; k < n; k++) {
      mv[k] = st->folds[k].value[id];
      bv[k] = st->folds[k].baseline[id];
    }
    const double *ys[2] = {mv, bv};
    const char *names[2] = {"model", "baseline"};
    char cid[64];
    snprintf(cid, sizeof(cid), "chart-%s", charted[c]);
    for (char *p = cid; *p; p++)
      *p = *p == '.' ? '-' : *p;
    svg_lines(b, cid, charted[c], n, 2, ys, names, xlp);
  }
  free(mv);
  free(bv);
  free(xl);
  free(xlp);
  if (st->ncurve > 0) {
    tml_buf_puts(b, "<h2>Equity of the direction signals against buy-and-hold (test periods only, "
                    "compounded)</h2>\n");
    char(*tl)[16] = malloc(st->ncurve * sizeof(*tl));
    const char **tlp = malloc(st->ncurve * sizeof(char *));
    if (tl && tlp) {
      for (size_t i = 0; i < st->ncurve; i++) {
        fmt_day(st->curve_time[i], tl[i], sizeof(tl[i]));
        tlp[i] = tl[i];
      }
      const double *ys[2] = {st->curve_model, st->curve_bh};
      const char *names[2] = {"signals (cum. %)", "buy and hold (cum. %)"};
      svg_lines(b, "chart-equity", "cumulative return, % of starting equity (compounded)", st->ncurve, 2, ys, names, tlp);
    }
    free(tl);
    free(tlp);
  }
  size_t idx[15];
  size_t ntop = top_features(r, st, idx, 15);
  if (ntop) {
    double v[15];
    const char *labels[15];
    for (size_t i = 0; i < ntop; i++) {
      v[i] = st->importance[idx[i]];
      labels[i] = r->col_names ? r->col_names[idx[i]] : "?";
    }
    tml_buf_puts(b, "<h2>Feature importance (direction head, mean gain share over folds)</h2>\n");
    svg_bars(b, "chart-importance", "gain share", ntop, v, labels);
  }
  tml_buf_puts(b, "<h2>Folds</h2><table id=\"folds\"><tr><th>fold</th><th>train from</th><th>early stop from</th>"
                  "<th>test from</th><th>test to</th><th>fit rows</th><th>stop rows</th><th>test rows</th>"
                  "<th>purged</th><th>embargoed</th><th>direction acc.</th><th>baseline</th><th>signals</th></tr>\n");
  int acc = tml_validate_metric_id("direction.accuracy"), sig = tml_validate_metric_id("trading.signals");
  for (size_t k = 0; k < n; k++) {
    const struct tml_validate_fold *f = &st->folds[k];
    char d1[16], d2[16], d3[16], d4[16];
    fmt_day(f->fold.train_from_ms, d1, sizeof(d1));
    fmt_day(f->fold.stop_from_ms, d2, sizeof(d2));
    fmt_day(f->fold.test_from_ms, d3, sizeof(d3));
    fmt_day(f->fold.test_to_ms, d4, sizeof(d4));
    tml_buf_printf(b, "<tr><td>%zu</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%zu</td><td>%zu</td>"
                      "<td>%zu</td><td>%zu</td><td>%zu</td>",
                   k + 1, d1, d2, d3, d4, f->fold.nfit, f->fold.nstop, f->fold.test.end - f->fold.test.begin,
                   f->fold.purged, f->fold.embargoed);
    cell_num(b, f->value[acc]);
    cell_num(b, f->baseline[acc]);
    cell_num(b, f->value[sig]);
    tml_buf_puts(b, "</tr>\n");
  }
  tml_buf_puts(b, "</table>\n");
  tml_buf_puts(b, "<h2>Summary (out of sample, over folds)</h2><table id=\"summary\"><tr><th>metric</th>"
                  "<th>mean</th><th>std</th><th>min</th><th>max</th><th>baseline</th></tr>\n");
  nm = tml_validate_metric_count();
  for (size_t m = 0; m < nm; m++) {
    if (isnan(st->mean[m]))
      continue;
    tml_buf_printf(b, "<tr><td>%s</td>", tml_validate_metric_name(m));
    cell_num(b, st->mean[m]);
    cell_num(b, st->std[m]);
    cell_num(b, st->min[m]);
    cell_num(b, st->max[m]);
    cell_num(b, st->baseline_mean[m]);
    tml_buf_puts(b, "</tr>\n");
  }
  tml_buf_puts(b, "</table>\n<p>Baselines: the training window's class prior as constant probabilities "
                  "(majority class), the training mean for regressions, a long signal on every candle for the "
                  "trading view. Trading returns compound: trading.cum_return_pct is the change of an equity "
                  "that every signal multiplies by (1 + net return), in percent of the starting equity, and "
                  "trading.max_drawdown_pct its largest fall from a running peak, in percent of that peak "
                  "(0 to 100). See docs/validation.md.</p>\n</body></html>\n");
  return b->ptr ? 0 : TML_ENOMEM;
}

/* ---- writing ---- */
int tml_validate_report_write(const struct tml_validate_result *r, struct tml_validate_stage *st,
                              const struct tml_validate_opts *o, struct tml_error *err) {
  struct tml_tm tm;
  tml_time_split(tml_now_ms(), &tm);
  uint64_t h = TML_FNV64_INIT;
  h = tml_fnv1a64(h, r->input_hash, strlen(r->input_hash));
  h = tml_fnv1a64(h, &st->mode, sizeof(st->mode));
  h = tml_fnv1a64(h, &st->spec, sizeof(st->spec));
  h = tml_fnv1a64(h, &o->train.xgb, sizeof(o->train.xgb));
  h = tml_fnv1a64(h, &o->train.labels, sizeof(o->train.labels));
  const char *strategy = o->train.strategy ? o->train.strategy : TML_STRATEGY_DEFAULT;
  h = tml_fnv1a64(h, strategy, strlen(strategy));
  char hex[17];
  tml_hash_hex(h, hex);
  snprintf(st->report_id, sizeof(st->report_id), "%04" PRId64 "%02u%02uT%02u%02u%02uZ-%s-%.8s", tm.year, tm.month,
           tm.day, tm.hour, tm.minute, tm.second, tml_validate_mode_name(st->mode), hex);
  int rc = tml_mkdir_p(o->reports_dir, err);
  if (rc) {
    tml_error_prefix(err, "reports folder '%s' is not usable", o->reports_dir);
    return rc;
  }
  char tmp[4200], final[4200], path[4300];
  if ((rc = tml_path_fmt(tmp, sizeof(tmp), err, "%s/.tmp-XXXXXX", o->reports_dir)))
    return rc;
  if (!mkdtemp(tmp))
    return tml_error_set(err, errno == EACCES || errno == EROFS ? TML_EPERM : TML_EIO,
                         "reports folder '%s' is not writable (%s): fix its permissions or use --home",
                         o->reports_dir, strerror(errno));
  struct tml_buf js, html;
  tml_buf_init(&js, 0);
  tml_buf_init(&html, 0);
  rc = tml_validate_report_json(r, st, o, &js);
  if (!rc)
    rc = tml_validate_report_html(r, st, o, &html);
  if (rc) {
    rc = tml_error_set(err, rc, "cannot render the report");
    goto out;
  }
  snprintf(path, sizeof(path), "%s/report.json", tmp);
  if ((rc = tml_write_file_atomic(path, js.ptr, js.len, err)))
    goto out;
  snprintf(path, sizeof(path), "%s/report.html", tmp);
  if ((rc = tml_write_file_atomic(path, html.ptr, html.len, err)))
    goto out;
  for (int attempt = 0; attempt < 100; attempt++) {
    if (attempt == 0)
      snprintf(final, sizeof(final), "%s/%s", o->reports_dir, st->report_id);
    else
      snprintf(final, sizeof(final), "%s/%s-%d", o->reports_dir, st->report_id, attempt + 1);
    if (tml_path_exists(final))
      continue;
    if (rename(tmp, final) != 0) {
      rc = tml_error_set(err, TML_EIO, "cannot move the report into '%s': %s", final, strerror(errno));
      goto out;
    }
    tmp[0] = '\0';
    if (attempt > 0) {
      size_t l = strlen(st->report_id);
      snprintf(st->report_id + l, sizeof(st->report_id) - l, "-%d", attempt + 1);
    }
    snprintf(st->report_dir, sizeof(st->report_dir), "%s", final);
    rc = tml_fsync_dir(o->reports_dir, err);
    goto out;
  }
  rc = tml_error_set(err, TML_EEXIST, "too many reports named %s", st->report_id);
out:
  if (tmp[0])
    tml_rm_rf(tmp, NULL);
  tml_buf_release(&js);
  tml_buf_release(&html);
  return rc;
}

/* ---- stored reports ---- */
static void fill_info(const char *dir, const char *id, struct tml_report_info *ri) {
  memset(ri, 0, sizeof(*ri));
  snprintf(ri->id, sizeof(ri->id), "%.127s", id);
  snprintf(ri->dir, sizeof(ri->dir), "%s", dir);
  char path[4300];
  snprintf(path, sizeof(path), "%s/report.json", dir);
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root)
    return;
  json_t *syms = json_object_get(root, "symbols");
  size_t i;
  json_t *v;
  json_array_foreach(syms, i, v) {
    size_t l = strlen(ri->symbols);
    snprintf(ri->symbols + l, sizeof(ri->symbols) - l, "%s%s", i ? "," : "", json_string_value(v) ? json_string_value(v) : "");
  }
  const char *s;
  if ((s = json_string_value(json_object_get(root, "interval"))))
    snprintf(ri->interval, sizeof(ri->interval), "%s", s);
  if ((s = json_string_value(json_object_get(root, "stage"))))
    snprintf(ri->stage, sizeof(ri->stage), "%s", s);
  if ((s = json_string_value(json_object_get(root, "created_at"))))
    snprintf(ri->created_at, sizeof(ri->created_at), "%s", s);
  ri->nfolds = json_array_size(json_object_get(root, "folds"));
  ri->passed = json_is_true(json_object_get(root, "passed"));
  json_decref(root);
}

static int cmp_info_desc(const void *a, const void *b) {
  return -strcmp(((const struct tml_report_info *)a)->id, ((const struct tml_report_info *)b)->id);
}

int tml_report_list(const char *reports_dir, struct tml_report_info **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  DIR *dh = opendir(reports_dir);
  if (!dh) {
    if (errno == ENOENT)
      return 0;
    return tml_error_set(err, TML_EIO, "cannot read reports folder '%s': %s", reports_dir, strerror(errno));
  }
  size_t cap = 0;
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(dh))) {
    if (de->d_name[0] == '.')
      continue;
    char dir[4200], js[4300];
    snprintf(dir, sizeof(dir), "%s/%s", reports_dir, de->d_name);
    snprintf(js, sizeof(js), "%s/report.json", dir);
    if (!tml_path_exists(js))
      continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      struct tml_report_info *p = realloc(*out, cap * sizeof(**out));
      if (!p) {
        rc = tml_error_set(err, TML_ENOMEM, "out of memory listing reports");
        break;
      }
      *out = p;
    }
    fill_info(dir, de->d_name, &(*out)[(*n)++]);
  }
  closedir(dh);
  if (rc) {
    free(*out);
    *out = NULL;
    *n = 0;
    return rc;
  }
  if (*n > 1)
    qsort(*out, *n, sizeof(**out), cmp_info_desc);
  return 0;
}

int tml_report_resolve(const char *reports_dir, const char *id_or_path, char *dir, size_t dirsz, struct tml_error *err) {
  char js[4400];
  size_t l = strlen(id_or_path);
  if (l > 12 && strcmp(id_or_path + l - 12, "/report.json") == 0 && tml_path_exists(id_or_path)) {
    snprintf(dir, dirsz, "%.*s", (int)(l - 12), id_or_path);
    return 0;
  }
  snprintf(js, sizeof(js), "%s/report.json", id_or_path);
  if (strchr(id_or_path, '/') && tml_path_exists(js)) {
    snprintf(dir, dirsz, "%s", id_or_path);
    return 0;
  }
  snprintf(js, sizeof(js), "%s/%s/report.json", reports_dir, id_or_path);
  if (!strchr(id_or_path, '/') && tml_path_exists(js)) {
    snprintf(dir, dirsz, "%s/%s", reports_dir, id_or_path);
    return 0;
  }
  return tml_error_set(err, TML_ENOENT,
                       "no report '%s' (looked for %s/%s/report.json and a folder or report.json at that path): see "
                       "`trademl report list`",
                       id_or_path, reports_dir, id_or_path);
}

static double jnum(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

static void tnum(struct tml_buf *b, double v) {
  if (isfinite(v))
    tml_buf_printf(b, " %10.4f", v);
  else
    tml_buf_printf(b, " %10s", "-");
}

int tml_report_table(const char *json, size_t len, struct tml_buf *b, struct tml_error *err) {
  json_error_t je;
  json_t *root = json_loadb(json, len, 0, &je);
  json_t *folds = root ? json_object_get(root, "folds") : NULL;
  json_t *summary = root ? json_object_get(root, "summary") : NULL;
  if (!json_is_array(folds) || !json_is_object(summary)) {
    json_decref(root);
    return tml_error_set(err, TML_EPARSE, "not a trademl validation report (line %d: %s)", je.line,
                         root ? "missing folds or summary" : je.text);
  }
  json_t *data = json_object_get(root, "data");
  const char *id = json_string_value(json_object_get(root, "report_id"));
  tml_buf_printf(b, "report    %s (%s stage)\n", id ? id : "?",
                 json_string_value(json_object_get(root, "stage")) ? json_string_value(json_object_get(root, "stage"))
                                                                   : "?");
  json_t *syms = json_object_get(root, "symbols");
  size_t i;
  json_t *v;
  tml_buf_puts(b, "symbols  ");
  json_array_foreach(syms, i, v) tml_buf_printf(b, " %s", json_string_value(v) ? json_string_value(v) : "?");
  const char *iv = json_string_value(json_object_get(root, "interval"));
  const char *f0 = json_string_value(json_object_get(data, "first_row"));
  const char *f1 = json_string_value(json_object_get(data, "last_row"));
  tml_buf_printf(b, " %s, rows %s .. %s\n", iv ? iv : "?", f0 ? f0 : "?", f1 ? f1 : "?");
  tml_buf_printf(b, "\n%-5s %-10s %-10s %-10s %8s %8s %10s %10s\n", "fold", "train", "test from", "test to", "fit",
                 "test", "dir.acc", "baseline");
  json_array_foreach(folds, i, v) {
    json_t *m = json_object_get(v, "metrics"), *bl = json_object_get(v, "baseline");
    const char *a = json_string_value(json_object_get(v, "train_from"));
    const char *c = json_string_value(json_object_get(v, "test_from"));
    const char *d = json_string_value(json_object_get(v, "test_to"));
    tml_buf_printf(b, "%-5zu %-10.10s %-10.10s %-10.10s %8.0f %8.0f", i + 1, a ? a : "?", c ? c : "?", d ? d : "?",
                   jnum(m, "rows.fit"), jnum(m, "rows.test"));
    tnum(b, jnum(m, "direction.accuracy"));
    tnum(b, jnum(bl, "direction.accuracy"));
    tml_buf_putc(b, '\n');
  }
  tml_buf_printf(b, "\n%-28s %10s %10s %10s %10s %10s\n", "metric", "mean", "std", "min", "max", "baseline");
  static const char *const shown[] = {
      "direction.accuracy", "direction.macro_f1",   "direction.roc_auc.up", "direction.precision.up",
      "direction.recall.up", "direction.f1.up",     "direction.logloss",    "volatility.accuracy",
      "volatility.macro_f1", "timing.accuracy",     "timing.macro_f1",      "stop_loss.rmse",
      "stop_loss.r2",        "position_size.rmse",  "position_size.r2",     "trading.signals",
      "trading.hit_rate_tp1", "trading.avg_return_pct", "trading.cum_return_pct", "trading.sharpe",
      "trading.max_drawdown_pct", "trading.bh_return_pct", "env.net_return", "env.sharpe", "env.max_drawdown",
      "env.profit_factor", "env.trades", "env.exposure", "env.fees_paid", "env.buy_hold_net_return",
      "env.flat_net_return", "env.direction_net_return"};
  for (size_t k = 0; k < TML_ARRAY_LEN(shown); k++) {
    json_t *s = json_object_get(summary, shown[k]);
    if (!s)
      continue;
    tml_buf_printf(b, "%-28s", shown[k]);
    tnum(b, jnum(s, "mean"));
    tnum(b, jnum(s, "std"));
    tnum(b, jnum(s, "min"));
    tnum(b, jnum(s, "max"));
    tnum(b, jnum(s, "baseline"));
    tml_buf_putc(b, '\n');
  }
  tml_buf_puts(b, "\ngates\n");
  json_array_foreach(json_object_get(root, "gates"), i, v) {
    const char *rule = json_string_value(json_object_get(v, "rule"));
    bool ok = json_is_true(json_object_get(v, "passed"));
    tml_buf_printf(b, "  %-36s mean", rule ? rule : "?");
    tnum(b, jnum(v, "value"));
    tml_buf_printf(b, "  %s\n", ok ? "passed" : "FAILED");
  }
  tml_buf_printf(b, "verdict   %s\n", json_is_true(json_object_get(root, "passed")) ? "all gates passed"
                                                                                   : "gate not passed");
  json_decref(root);
  return b->ptr ? 0 : tml_error_set(err, TML_ENOMEM, "out of memory");
}

/* ---- validate --compare: one report, strategies side by side on the same folds ---- */
struct cmp_metric {
  const char *suffix;
  bool lower_better;
};
static const struct cmp_metric class_cmp[] = {{"logloss", true}, {"accuracy", false}, {"roc_auc", false},
                                              {"macro_f1", false}};
static const struct cmp_metric reg_cmp[] = {{"rmse", true}, {"mae", true}, {"r2", false}};
static const struct cmp_metric trading_cmp[] = {{"sharpe", false}, {"cum_return_pct", false}, {"signals", false}};
static const struct cmp_metric env_cmp[] = {{"net_return", false},         {"sharpe", false},
                                            {"max_drawdown", true},        {"fees_paid", true},
                                            {"buy_hold_net_return", false}, {"flat_net_return", false},
                                            {"direction_net_return", false}};

static void cmp_rows(const struct tml_validate_compare *c, const char *group, const struct cmp_metric *ms, size_t nms,
                     struct tml_buf *b, bool *first) {
  for (size_t i = 0; i < nms; i++) {
    char name[64];
    snprintf(name, sizeof(name), "%s.%s", group, ms[i].suffix);
    int id = tml_validate_metric_id(name);
    if (id < 0)
      continue;
    tml_buf_printf(b, "%s{\"metric\":\"%s\",\"lower_is_better\":%s,\"baseline\":", *first ? "" : ",", name,
                   ms[i].lower_better ? "true" : "false");
    tml_buf_json_num(b, c->results[0].stages[0].baseline_mean[id]);
    tml_buf_puts(b, ",\"strategies\":{");
    int best = -1;
    for (size_t s = 0; s < c->n; s++) {
      const struct tml_validate_stage *st = &c->results[s].stages[0];
      double v = st->mean[id];
      tml_buf_printf(b, "%s\"%s\":{\"mean\":", s ? "," : "", c->names[s]);
      tml_buf_json_num(b, v);
      tml_buf_puts(b, ",\"std\":");
      tml_buf_json_num(b, st->std[id]);
      tml_buf_puts(b, "}");
      if (!isnan(v) && (best < 0 || (ms[i].lower_better ? v < c->results[best].stages[0].mean[id]
                                                        : v > c->results[best].stages[0].mean[id])))
        best = (int)s;
    }
    tml_buf_puts(b, "},\"best\":");
    if (best >= 0)
      tml_buf_json_str(b, c->names[best]);
    else
      tml_buf_puts(b, "null");
    tml_buf_puts(b, "}");
    *first = false;
  }
}

size_t tml_validate_compare_verdicts(const struct tml_validate_compare *c, struct tml_compare_verdict *out, size_t cap) {
  size_t n = 0;
  for (size_t s = 0; s < c->n; s++) {
    if (!c->members[s][0])
      continue;
    /* The members that are in the comparison, by exact name ("xgb5:native" is not "xgb5"). */
    size_t in[TML_VALIDATE_MAX_COMPARE], nin = 0;
    char buf[sizeof(c->members[s])];
    snprintf(buf, sizeof(buf), "%s", c->members[s]);
    for (char *p = buf, *end; p && *p; p = end ? end + 1 : NULL) {
      end = strchr(p, ',');
      if (end)
        *end = '\0';
      for (size_t j = 0; j < c->n; j++) {
        bool seen = false;
        for (size_t k = 0; k < nin; k++)
          seen = seen || in[k] == j;
        if (j != s && !seen && nin < TML_VALIDATE_MAX_COMPARE && strcmp(c->names[j], p) == 0)
          in[nin++] = j;
      }
    }
    if (nin == 0)
      continue;
    for (int h = 0; h < TML_HEAD_COUNT && n < cap; h++) {
      enum tml_head head = (enum tml_head)h;
      bool cls = tml_head_nclass(head) > 0;
      char name[64];
      snprintf(name, sizeof(name), "%s.%s", tml_head_name(head), cls ? "logloss" : "rmse");
      int id = tml_validate_metric_id(name);
      if (id < 0)
        continue;
      struct tml_compare_verdict *v = &out[n++];
      memset(v, 0, sizeof(*v));
      v->ensemble = s;
      v->head = h;
      v->metric = id;
      v->ensemble_value = c->results[s].stages[0].mean[id];
      v->member = in[0];
      for (size_t k = 0; k < nin; k++) {
        double mv = c->results[in[k]].stages[0].mean[id], bv = c->results[v->member].stages[0].mean[id];
        if (isfinite(mv) && (!isfinite(bv) || mv < bv))
          v->member = in[k];
      }
      v->member_value = c->results[v->member].stages[0].mean[id];
      v->known = isfinite(v->ensemble_value) && isfinite(v->member_value);
      v->at_least_as_good = v->known && v->ensemble_value <= v->member_value;
      const char *role = nin > 1 ? "its better member" : "its member";
      const char *what = cls ? "mean out-of-sample log loss" : "mean out-of-sample RMSE";
      if (!v->known)
        snprintf(v->statement, sizeof(v->statement), "cannot tell whether %s is at least as good as %s %s on %s: %s is missing",
                 c->names[s], role, c->names[v->member], tml_head_name(head), what);
      else
        snprintf(v->statement, sizeof(v->statement), "%s is %s %s %s on %s: %.4f vs %.4f (%s, lower is better)",
                 c->names[s], v->at_least_as_good ? "at least as good as" : "worse than", role, c->names[v->member],
                 tml_head_name(head), v->ensemble_value, v->member_value, what);
    }
  }
  return n;
}

int tml_validate_compare_json(const struct tml_validate_compare *c, const struct tml_validate_opts *o,
                              struct tml_buf *b) {
  if (c->n == 0)
    return TML_EINVAL;
  const struct tml_validate_result *r0 = &c->results[0];
  const struct tml_validate_stage *st0 = &r0->stages[0];
  char created[32];
  tml_time_format(tml_now_ms(), created, sizeof(created));
  tml_buf_printf(b, "{\"format\":1,\"kind\":\"walk_forward_compare\",\"created_at\":\"%s\",\"stage\":\"%s\",\"symbols\":[",
                 created, tml_validate_mode_name(st0->mode));
  for (size_t i = 0; i < o->train.nsymbols; i++) {
    if (i)
      tml_buf_putc(b, ',');
    tml_buf_json_str(b, o->train.symbols[i]);
  }
  tml_buf_printf(b, "],\"interval\":\"%s\",\"data\":{", tml_interval_name(o->train.interval_ms));
  put_time(b, "first_row", r0->first_ms);
  tml_buf_putc(b, ',');
  put_time(b, "last_row", r0->last_ms);
  tml_buf_printf(b, ",\"rows\":%zu,\"input_hash\":\"%s\"},\"folds\":[", r0->rows, r0->input_hash);
  for (size_t k = 0; k < st0->nfolds; k++) {
    const struct tml_fold *f = &st0->folds[k].fold;
    tml_buf_printf(b, "%s{", k ? "," : "");
    put_time(b, "test_from", f->test_from_ms);
    tml_buf_putc(b, ',');
    put_time(b, "test_to", f->test_to_ms);
    tml_buf_printf(b, ",\"fit_rows\":%zu,\"test_rows\":%zu}", f->nfit, f->test.end - f->test.begin);
  }
  tml_buf_puts(b, "],\"strategies\":[");
  for (size_t s = 0; s < c->n; s++) {
    const struct tml_validate_stage *st = &c->results[s].stages[0];
    tml_buf_printf(b, "%s{\"name\":\"%s\",\"report_id\":", s ? "," : "", c->names[s]);
    tml_buf_json_str(b, st->report_id);
    tml_buf_printf(b, ",\"gates_passed\":%s,\"fits_on_whole_folds\":%zu,\"seconds\":%.3f}", st->passed ? "true" : "false",
                   c->fits[s], st->seconds);
  }
  tml_buf_puts(b, "],\"heads\":{");
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    tml_buf_printf(b, "%s\"%s\":[", h ? "," : "", tml_head_name(head));
    bool first = true;
    if (tml_head_nclass(head) > 0)
      cmp_rows(c, tml_head_name(head), class_cmp, TML_ARRAY_LEN(class_cmp), b, &first);
    else
      cmp_rows(c, tml_head_name(head), reg_cmp, TML_ARRAY_LEN(reg_cmp), b, &first);
    tml_buf_puts(b, "]");
  }
  tml_buf_puts(b, ",\"trading\":[");
  bool first = true;
  cmp_rows(c, "trading", trading_cmp, TML_ARRAY_LEN(trading_cmp), b, &first);
  /* trading in the rl environment (docs/rl.md): each strategy's own trading and the baselines */
  tml_buf_puts(b, "],\"env\":[");
  first = true;
  cmp_rows(c, "env", env_cmp, TML_ARRAY_LEN(env_cmp), b, &first);
  /* each ensemble against the better of its members in the comparison, head by head (issue 14) */
  tml_buf_puts(b, "]},\"ensemble_vs_members\":[");
  struct tml_compare_verdict v[TML_VALIDATE_MAX_COMPARE * TML_HEAD_COUNT];
  size_t nv = tml_validate_compare_verdicts(c, v, TML_ARRAY_LEN(v));
  for (size_t i = 0; i < nv; i++) {
    tml_buf_printf(b, "%s{\"ensemble\":\"%s\",\"head\":\"%s\",\"metric\":\"%s\",\"ensemble_value\":", i ? "," : "",
                   c->names[v[i].ensemble], tml_head_name((enum tml_head)v[i].head),
                   tml_validate_metric_name((size_t)v[i].metric));
    tml_buf_json_num(b, v[i].ensemble_value);
    tml_buf_printf(b, ",\"better_member\":\"%s\",\"member_value\":", c->names[v[i].member]);
    tml_buf_json_num(b, v[i].member_value);
    tml_buf_puts(b, ",\"at_least_as_good\":");
    tml_buf_puts(b, !v[i].known ? "null" : v[i].at_least_as_good ? "true" : "false");
    tml_buf_puts(b, ",\"statement\":");
    tml_buf_json_str(b, v[i].statement);
    tml_buf_puts(b, "}");
  }
  return tml_buf_puts(b, "]}\n");
}

/* compare.html: the same tables, self-contained. */
static int compare_html(const char *json, struct tml_buf *b) {
  json_error_t jerr;
  json_t *root = json_loads(json, 0, &jerr);
  if (!root)
    return TML_EPARSE;
  tml_buf_puts(b, "<!doctype html><html><head><meta charset=\"utf-8\"><title>trademl strategy comparison</title>"
                  "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
                  "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}td:first-child,th:first-child"
                  "{text-align:left}th{background:#f3f3f3}.best{font-weight:bold;background:#e8f5e9}</style></head><body>");
  tml_buf_puts(b, "<h1>Strategies on the same walk-forward folds</h1><p>");
  json_t *syms = json_object_get(root, "symbols");
  for (size_t i = 0; i < json_array_size(syms); i++) {
    tml_buf_puts(b, i ? ", " : "");
    html_esc(b, json_string_value(json_array_get(syms, i)));
  }
  tml_buf_printf(b, " %s, %s stage, %zu folds. Means over folds (std); the best per metric in bold.</p>",
                 json_string_value(json_object_get(root, "interval")), json_string_value(json_object_get(root, "stage")),
                 json_array_size(json_object_get(root, "folds")));
  json_t *strategies = json_object_get(root, "strategies");
  json_t *heads = json_object_get(root, "heads");
  const char *hname;
  json_t *rows;
  json_t *groups = json_object();
  json_object_update(groups, heads);
  json_object_set(groups, "trading", json_object_get(root, "trading"));
  json_object_foreach(groups, hname, rows) {
    tml_buf_puts(b, "<h2>");
    html_esc(b, hname);
    tml_buf_puts(b, "</h2><table><tr><th>metric</th><th>baseline</th>");
    for (size_t s = 0; s < json_array_size(strategies); s++) {
      tml_buf_puts(b, "<th>");
      html_esc(b, json_string_value(json_object_get(json_array_get(strategies, s), "name")));
      tml_buf_puts(b, "</th>");
    }
    tml_buf_puts(b, "</tr>");
    for (size_t i = 0; i < json_array_size(rows); i++) {
      json_t *row = json_array_get(rows, i);
      const char *best = json_string_value(json_object_get(row, "best"));
      tml_buf_puts(b, "<tr><td>");
      html_esc(b, json_string_value(json_object_get(row, "metric")));
      json_t *base = json_object_get(row, "baseline");
      if (json_is_number(base))
        tml_buf_printf(b, "</td><td>%.4f</td>", json_number_value(base));
      else
        tml_buf_puts(b, "</td><td>-</td>");
      for (size_t s = 0; s < json_array_size(strategies); s++) {
        const char *name = json_string_value(json_object_get(json_array_get(strategies, s), "name"));
        json_t *v = json_object_get(json_object_get(json_object_get(row, "strategies"), name), "mean");
        json_t *sd = json_object_get(json_object_get(json_object_get(row, "strategies"), name), "std");
        bool is_best = best && name && strcmp(best, name) == 0;
        if (json_is_number(v))
          tml_buf_printf(b, "<td%s>%.4f (%.4f)</td>", is_best ? " class=\"best\"" : "", json_number_value(v),
                         json_is_number(sd) ? json_number_value(sd) : 0.0);
        else
          tml_buf_puts(b, "<td>-</td>");
      }
      tml_buf_puts(b, "</tr>");
    }
    tml_buf_puts(b, "</table>");
  }
  json_decref(groups);
  json_t *verdicts = json_object_get(root, "ensemble_vs_members");
  if (json_array_size(verdicts) > 0) {
    tml_buf_puts(b, "<h2>Ensemble against the better of its members</h2><ul>");
    for (size_t i = 0; i < json_array_size(verdicts); i++) {
      json_t *v = json_array_get(verdicts, i);
      tml_buf_puts(b, json_is_true(json_object_get(v, "at_least_as_good")) ? "<li>" : "<li><strong>");
      html_esc(b, json_string_value(json_object_get(v, "statement")));
      tml_buf_puts(b, json_is_true(json_object_get(v, "at_least_as_good")) ? "</li>" : "</strong></li>");
    }
    tml_buf_puts(b, "</ul>");
  }
  json_decref(root);
  return tml_buf_puts(b, "</body></html>\n");
}

int tml_validate_compare_write(const struct tml_validate_compare *c, const struct tml_validate_opts *o, char *id,
                               char *dir, struct tml_error *err) {
  struct tml_buf js, html;
  tml_buf_init(&js, 0);
  tml_buf_init(&html, 0);
  int rc = tml_validate_compare_json(c, o, &js);
  if (!rc)
    rc = compare_html(tml_buf_str(&js), &html);
  if (rc) {
    rc = tml_error_set(err, rc, "cannot render the comparison report");
    goto out;
  }
  struct tml_tm tm;
  tml_time_split(tml_now_ms(), &tm);
  uint64_t h = TML_FNV64_INIT;
  for (size_t s = 0; s < c->n; s++)
    h = tml_fnv1a64(h, c->names[s], strlen(c->names[s]) + 1);
  h = tml_fnv1a64(h, c->results[0].input_hash, strlen(c->results[0].input_hash));
  char hex[17];
  tml_hash_hex(h, hex);
  snprintf(id, 64, "%04" PRId64 "%02u%02uT%02u%02u%02uZ-compare-%.8s", tm.year, tm.month, tm.day, tm.hour, tm.minute,
           tm.second, hex);
  if ((rc = tml_mkdir_p(o->reports_dir, err)))
    goto out;
  char tmp[4200], path[4300];
  if ((rc = tml_path_fmt(tmp, sizeof(tmp), err, "%s/.tmp-XXXXXX", o->reports_dir)))
    goto out;
  if (!mkdtemp(tmp)) {
    rc = tml_error_set(err, errno == EACCES || errno == EROFS ? TML_EPERM : TML_EIO,
                       "reports folder '%s' is not writable (%s)", o->reports_dir, strerror(errno));
    goto out;
  }
  snprintf(path, sizeof(path), "%s/compare.json", tmp);
  if (!(rc = tml_write_file_atomic(path, js.ptr, js.len, err))) {
    snprintf(path, sizeof(path), "%s/compare.html", tmp);
    rc = tml_write_file_atomic(path, html.ptr, html.len, err);
  }
  if (!rc && (rc = tml_path_fmt(dir, 4200, err, "%s/%s", o->reports_dir, id)) == 0 && rename(tmp, dir) != 0)
    rc = tml_error_set(err, TML_EIO, "cannot move the comparison into '%s': %s", dir, strerror(errno));
  if (rc)
    tml_rm_rf(tmp, NULL);
out:
  tml_buf_release(&js);
  tml_buf_release(&html);
  return rc;
}
