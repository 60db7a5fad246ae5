/* The walk-forward metric table (include/trademl/valmetrics.h): every metric of a fold has a name and
 * a slot, laid out once (head by head: class metrics, per-class metrics, regression metrics, the
 * stopping point; then trading and row counts) and reached through named accessors. Gates and the
 * trading statistics live here too, so validation and its reports share one vocabulary. */
#include "trademl/valmetrics.h"
#include "trademl/error.h"
#include "util/common.h"

#include <ctype.h>
#include <pthread.h>

#define MAX_METRICS 192
static char metric_names[MAX_METRICS][48];
static int metric_heads[MAX_METRICS];  /* head of each id, -1 for trading and rows */
static size_t nmetrics;
static int head_first[TML_HEAD_COUNT]; /* first metric id of each head */
static int trading_first, rows_first, env_first;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static const char *const class_metrics[] = {"accuracy", "macro_f1", "roc_auc", "logloss"};
static const char *const per_class[] = {"precision", "recall", "f1", "roc_auc"};
static const char *const reg_metrics[] = {"rmse", "mae", "r2"};
static const char *const trading_metrics[] = {"signals",        "hit_rate_tp1",     "avg_return_pct",
                                              "cum_return_pct", "sharpe",           "max_drawdown_pct",
                                              "profit_factor",  "bh_return_pct"};
static const char *const row_metrics[] = {"fit", "stop", "test", "purged", "embargoed"};
static const char *const env_metrics[] = {"net_return",   "sharpe",    "max_drawdown",          "profit_factor",
                                          "trades",       "exposure",  "fees_paid",             "buy_hold_net_return",
                                          "flat_net_return", "direction_net_return"};

static void add_metric(int head, const char *a, const char *b, const char *c) {
  snprintf(metric_names[nmetrics], sizeof(metric_names[0]), "%s.%s%s%s", a, b, c ? "." : "", c ? c : "");
  metric_heads[nmetrics] = head;
  nmetrics++;
}

static void build_metric_table(void) {
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    const char *hn = tml_head_name(head);
    int k = tml_head_nclass(head);
    head_first[h] = (int)nmetrics;
    if (k > 0) {
      for (size_t i = 0; i < TML_ARRAY_LEN(class_metrics); i++)
        add_metric(h, hn, class_metrics[i], NULL);
      for (int c = 0; c < k; c++)
        for (size_t i = 0; i < TML_ARRAY_LEN(per_class); i++)
          add_metric(h, hn, per_class[i], tml_head_class_name(head, c));
    } else {
      for (size_t i = 0; i < TML_ARRAY_LEN(reg_metrics); i++)
        add_metric(h, hn, reg_metrics[i], NULL);
    }
    add_metric(h, hn, "best_iteration", NULL);
  }
  trading_first = (int)nmetrics;
  for (size_t i = 0; i < TML_ARRAY_LEN(trading_metrics); i++)
    add_metric(-1, "trading", trading_metrics[i], NULL);
  rows_first = (int)nmetrics;
  for (size_t i = 0; i < TML_ARRAY_LEN(row_metrics); i++)
    add_metric(-1, "rows", row_metrics[i], NULL);
  env_first = (int)nmetrics;
  for (size_t i = 0; i < TML_ARRAY_LEN(env_metrics); i++)
    add_metric(-1, "env", env_metrics[i], NULL);
}

static void table(void) { pthread_once(&metrics_once, build_metric_table); }

size_t tml_validate_metric_count(void) {
  table();
  return nmetrics;
}

const char *tml_validate_metric_name(size_t id) {
  table();
  return id < nmetrics ? metric_names[id] : NULL;
}

int tml_validate_metric_id(const char *name) {
  table();
  for (size_t i = 0; i < nmetrics; i++)
    if (strcmp(metric_names[i], name) == 0)
      return (int)i;
  return -1;
}

int tml_metric_head(size_t id) {
  table();
  return id < nmetrics ? metric_heads[id] : -1;
}

static bool valid_head(enum tml_head h) { return (int)h >= 0 && h < TML_HEAD_COUNT; }

int tml_metric_class(enum tml_head h, enum tml_class_metric m) {
  table();
  if (!valid_head(h) || tml_head_nclass(h) == 0 || (size_t)m >= TML_ARRAY_LEN(class_metrics))
    return -1;
  return head_first[h] + (int)m;
}

int tml_metric_per_class(enum tml_head h, enum tml_per_class_metric m, int cls) {
  table();
  if (!valid_head(h) || cls < 0 || cls >= tml_head_nclass(h) || (size_t)m >= TML_ARRAY_LEN(per_class))
    return -1;
  return head_first[h] + (int)TML_ARRAY_LEN(class_metrics) + (int)TML_ARRAY_LEN(per_class) * cls + (int)m;
}

int tml_metric_reg(enum tml_head h, enum tml_reg_metric m) {
  table();
  if (!valid_head(h) || tml_head_nclass(h) != 0 || (size_t)m >= TML_ARRAY_LEN(reg_metrics))
    return -1;
  return head_first[h] + (int)m;
}

int tml_metric_best_iteration(enum tml_head h) {
  table();
  if (!valid_head(h))
    return -1;
  int k = tml_head_nclass(h);
  return head_first[h] + (k > 0 ? (int)(TML_ARRAY_LEN(class_metrics) + TML_ARRAY_LEN(per_class) * (size_t)k)
                                : (int)TML_ARRAY_LEN(reg_metrics));
}

int tml_metric_trading(enum tml_trading_metric m) {
  table();
  return (size_t)m < TML_ARRAY_LEN(trading_metrics) ? trading_first + (int)m : -1;
}

int tml_metric_env(enum tml_env_metric m) {
  table();
  return (size_t)m < TML_ARRAY_LEN(env_metrics) ? env_first + (int)m : -1;
}

int tml_metric_rows(enum tml_rows_metric m) {
  table();
  return (size_t)m < TML_ARRAY_LEN(row_metrics) ? rows_first + (int)m : -1;
}

void tml_metric_put_class(double *v, enum tml_head h, const struct tml_class_metrics *m) {
  v[tml_metric_class(h, TML_CM_ACCURACY)] = m->accuracy;
  v[tml_metric_class(h, TML_CM_MACRO_F1)] = m->macro_f1;
  v[tml_metric_class(h, TML_CM_ROC_AUC)] = m->roc_auc_macro;
  v[tml_metric_class(h, TML_CM_LOGLOSS)] = m->logloss;
  for (int c = 0; c < m->nclass && c < tml_head_nclass(h); c++) {
    v[tml_metric_per_class(h, TML_PC_PRECISION, c)] = m->precision[c];
    v[tml_metric_per_class(h, TML_PC_RECALL, c)] = m->recall[c];
    v[tml_metric_per_class(h, TML_PC_F1, c)] = m->f1[c];
    /* A class absent from the test rows has no AUC; constant scores give 0.5 by ranks. */
    v[tml_metric_per_class(h, TML_PC_ROC_AUC, c)] = m->auc[c];
  }
}

void tml_metric_put_reg(double *v, enum tml_head h, const struct tml_reg_metrics *m) {
  v[tml_metric_reg(h, TML_RM_RMSE)] = m->rmse;
  v[tml_metric_reg(h, TML_RM_MAE)] = m->mae;
  v[tml_metric_reg(h, TML_RM_R2)] = m->r2;
}

void tml_metric_put_rows(double *v, const struct tml_fold_rows *r) {
  v[tml_metric_rows(TML_ROWS_FIT)] = (double)r->fit;
  v[tml_metric_rows(TML_ROWS_STOP)] = (double)r->stop;
  v[tml_metric_rows(TML_ROWS_TEST)] = (double)r->test;
  v[tml_metric_rows(TML_ROWS_PURGED)] = (double)r->purged;
  v[tml_metric_rows(TML_ROWS_EMBARGOED)] = (double)r->embargoed;
}

void tml_metric_put_trades(double *v, const struct tml_trade_stats *ts) {
  v[tml_metric_trading(TML_TM_SIGNALS)] = (double)ts->trades;
  v[tml_metric_trading(TML_TM_AVG_RETURN)] = ts->avg_return_pct;
  v[tml_metric_trading(TML_TM_CUM_RETURN)] = ts->cum_return_pct;
  v[tml_metric_trading(TML_TM_MAX_DRAWDOWN)] = ts->max_drawdown_pct;
  v[tml_metric_trading(TML_TM_PROFIT_FACTOR)] = ts->profit_factor;
  v[tml_metric_trading(TML_TM_SHARPE)] = ts->sharpe;
}

const char *tml_gate_op_str(enum tml_gate_op op) {
  switch (op) {
  case TML_GATE_GT: return ">";
  case TML_GATE_GE: return ">=";
  case TML_GATE_LT: return "<";
  case TML_GATE_LE: return "<=";
  }
  return "?";
}

double tml_equity_compound(double equity, double ret_pct) {
  double f = 1.0 + ret_pct / 100.0;
  return equity * (f > 0 ? f : 0.0);
}

void tml_trade_stats_compute(const double *ret, size_t n, double years, struct tml_trade_stats *out) {
  memset(out, 0, sizeof(*out));
  out->trades = n;
  out->sharpe = out->profit_factor = (double)NAN;
  if (n == 0)
    return;
  double sum = 0, pos = 0, neg = 0, eq = 1.0, peak = 1.0, mdd = 0;
  for (size_t i = 0; i < n; i++) {
    sum += ret[i];
    if (ret[i] > 0)
      pos += ret[i];
    else
      neg -= ret[i];
    eq = tml_equity_compound(eq, ret[i]);
    peak = eq > peak ? eq : peak;
    double dd = (peak - eq) / peak; /* peak >= 1 */
    mdd = dd > mdd ? dd : mdd;
  }
  double mean = sum / (double)n, ss = 0;
  for (size_t i = 0; i < n; i++)
    ss += (ret[i] - mean) * (ret[i] - mean);
  double sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
  out->avg_return_pct = mean;
  out->cum_return_pct = (eq - 1.0) * 100.0;
  out->max_drawdown_pct = mdd * 100.0;
  out->profit_factor = neg > 0 ? pos / neg : (double)NAN;
  out->sharpe = sd > 0 && years > 0 ? mean / sd * sqrt((double)n / years) : (double)NAN;
}

/* ---- gates ---- */
int tml_gate_parse(const char *s, struct tml_gate *g, struct tml_error *err) {
  memset(g, 0, sizeof(*g));
  const char *op = strpbrk(s, "<>");
  if (!op)
    return tml_error_set(err, TML_EINVAL,
                         "gate '%s' has no comparison: write METRIC>VALUE, e.g. direction.recall.up>0.35 "
                         "(operators > >= < <=)", s);
  char name[64];
  size_t nlen = (size_t)(op - s);
  while (nlen && isspace((unsigned char)s[nlen - 1]))
    nlen--;
  const char *start = s;
  while (nlen && isspace((unsigned char)*start)) {
    start++;
    nlen--;
  }
  if (nlen == 0 || nlen >= sizeof(name))
    return tml_error_set(err, TML_EINVAL, "gate '%s' has no metric name before the comparison", s);
  memcpy(name, start, nlen);
  name[nlen] = '\0';
  g->metric = tml_validate_metric_id(name);
  if (g->metric < 0)
    return tml_error_set(err, TML_EINVAL,
                         "gate '%s': unknown metric '%s'; metrics are <head>.<metric>[.<class>] such as "
                         "direction.accuracy, direction.recall.up, volatility.macro_f1, stop_loss.rmse, or "
                         "trading.sharpe (see docs/validation.md)",
                         s, name);
  const char *v = op + 1;
  if (*v == '=') {
    g->op = *op == '>' ? TML_GATE_GE : TML_GATE_LE;
    v++;
  } else {
    g->op = *op == '>' ? TML_GATE_GT : TML_GATE_LT;
  }
  while (isspace((unsigned char)*v))
    v++;
  char *end = NULL;
  errno = 0;
  g->threshold = strtod(v, &end);
  while (end && isspace((unsigned char)*end))
    end++;
  if (end == v || !end || *end || errno || !isfinite(g->threshold))
    return tml_error_set(err, TML_EINVAL, "gate '%s': '%s' is not a number", s, v);
  return 0;
}

bool tml_gate_holds(const struct tml_gate *g, double v) {
  if (isnan(v))
    return false;
  switch (g->op) {
  case TML_GATE_GT: return v > g->threshold;
  case TML_GATE_GE: return v >= g->threshold;
  case TML_GATE_LT: return v < g->threshold;
  case TML_GATE_LE: return v <= g->threshold;
  }
  return false;
}

