/* The walk-forward metric table, gates and trading statistics (docs/validation.md): one flat, named
 * list of metrics per fold ("direction.recall.up", "trading.sharpe", "rows.fit", ...) with named
 * accessors for every slot, so no caller computes an offset by hand. Shared by validation (which
 * fills the slots), the reports (which print them) and the CLI (which reads gates and keys). */
#ifndef TML_VALMETRICS_H
#define TML_VALMETRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "trademl/labels.h"
#include "trademl/metrics.h"

struct tml_error;

/* ---- the table: ids 0 .. tml_validate_metric_count() - 1 ---- */
size_t tml_validate_metric_count(void);
/* "<head>.<metric>[.<class>]", "trading.<metric>", "rows.<what>"; NULL past the end. */
const char *tml_validate_metric_name(size_t id);
/* Id of a metric name, or -1. */
int tml_validate_metric_id(const char *name);

/* Named slots. Every accessor returns the id (index into a fold's value/baseline vector), or -1 when
 * the head has no such metric (a class metric of a regression head, a class past the head's count). */
enum tml_class_metric { TML_CM_ACCURACY, TML_CM_MACRO_F1, TML_CM_ROC_AUC, TML_CM_LOGLOSS };
enum tml_per_class_metric { TML_PC_PRECISION, TML_PC_RECALL, TML_PC_F1, TML_PC_ROC_AUC };
enum tml_reg_metric { TML_RM_RMSE, TML_RM_MAE, TML_RM_R2 };
enum tml_trading_metric {
  TML_TM_SIGNALS, TML_TM_HIT_RATE_TP1, TML_TM_AVG_RETURN, TML_TM_CUM_RETURN, TML_TM_SHARPE, TML_TM_MAX_DRAWDOWN,
  TML_TM_PROFIT_FACTOR, TML_TM_BH_RETURN
};
enum tml_rows_metric { TML_ROWS_FIT, TML_ROWS_STOP, TML_ROWS_TEST, TML_ROWS_PURGED, TML_ROWS_EMBARGOED };
/* "env.*": trading in the rl environment (docs/rl.md) over the fold's test rows with the rl.* costs:
 * the strategy's own trading (its trade hook, else the policy following its direction head), then the
 * baselines on the same rows and costs: buy-and-hold, flat, and the direction-head policy. Money as a
 * fraction of the starting equity. NaN for a multi-symbol dataset. */
enum tml_env_metric {
  TML_EM_NET_RETURN, TML_EM_SHARPE, TML_EM_MAX_DRAWDOWN, TML_EM_PROFIT_FACTOR, TML_EM_TRADES, TML_EM_EXPOSURE,
  TML_EM_FEES_PAID, TML_EM_BUY_HOLD_NET_RETURN, TML_EM_FLAT_NET_RETURN, TML_EM_DIRECTION_NET_RETURN
};
int tml_metric_class(enum tml_head h, enum tml_class_metric m);
int tml_metric_per_class(enum tml_head h, enum tml_per_class_metric m, int cls);
int tml_metric_reg(enum tml_head h, enum tml_reg_metric m);
int tml_metric_best_iteration(enum tml_head h);
int tml_metric_trading(enum tml_trading_metric m);
int tml_metric_rows(enum tml_rows_metric m);
int tml_metric_env(enum tml_env_metric m);
/* The head a metric id belongs to, or -1 (trading, rows). */
int tml_metric_head(size_t id);

/* Writers of a fold's vector v (tml_validate_metric_count() doubles). */
void tml_metric_put_class(double *v, enum tml_head h, const struct tml_class_metrics *m);
void tml_metric_put_reg(double *v, enum tml_head h, const struct tml_reg_metrics *m);
struct tml_fold_rows {
  size_t fit, stop, test, purged, embargoed;
};
void tml_metric_put_rows(double *v, const struct tml_fold_rows *r);

/* Trading statistics of per-trade net returns in percent, in trade order (docs/validation.md). Equity
 * is compounded: it starts at 1 and each trade multiplies it by (1 + ret/100), floored at 0 (an account
 * cannot lose more than it holds). cum_return_pct = 100 (equity - 1) >= -100; max_drawdown_pct = the
 * largest fall from a running peak in percent of that peak, within [0, 100]. Sharpe is per trade,
 * annualised by trades per year (NAN with fewer than 2 trades or years <= 0); profit factor = gains /
 * losses (NAN without losses). */
struct tml_trade_stats {
  size_t trades;
  double avg_return_pct, cum_return_pct, max_drawdown_pct, sharpe, profit_factor;
};
void tml_trade_stats_compute(const double *ret_pct, size_t n, double years, struct tml_trade_stats *out);
/* One compounding step of equity (1 = the start) by a trade's net return in percent, floored at 0. */
double tml_equity_compound(double equity, double ret_pct);
/* Writes the trading slots signals, avg, cum, drawdown, Sharpe and profit factor of v. */
void tml_metric_put_trades(double *v, const struct tml_trade_stats *ts);

/* ---- gates: "<metric> <op> <value>", op one of > >= < <=, evaluated on the mean over folds ---- */
enum tml_gate_op { TML_GATE_GT, TML_GATE_GE, TML_GATE_LT, TML_GATE_LE };
struct tml_gate {
  int metric;          /* metric id */
  enum tml_gate_op op;
  double threshold;
};
#define TML_VALIDATE_MAX_GATES 32
/* Parses "direction.recall.up>0.35" (blanks allowed). 0 or TML_EINVAL naming the metric or the
 * operator and listing valid forms. */
int tml_gate_parse(const char *s, struct tml_gate *g, struct tml_error *err);
/* Whether value v passes the gate (NaN never passes). */
bool tml_gate_holds(const struct tml_gate *g, double v);
/* ">", ">=", "<", "<=". */
const char *tml_gate_op_str(enum tml_gate_op op);

#endif
