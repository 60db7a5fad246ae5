/* The five prediction targets ("heads") and the take-profit-1 hit outcome, from one label spec.
 * Continuous targets are computed once per series (tml_targets_compute); class boundaries are
 * fitted on training rows only (tml_labels_fit) and applied per head (tml_labels_head_value /
 * tml_labels_head_fill). Every formula is written out in docs/labels.md. */
#ifndef TML_LABELS_H
#define TML_LABELS_H

#include <stddef.h>
#include <stdint.h>

struct tml_buf;
struct tml_candles;
struct tml_error;

enum tml_head {
  TML_HEAD_DIRECTION,     /* 3 classes: down / neutral / up */
  TML_HEAD_VOLATILITY,    /* 4 classes: low / normal / high / extreme */
  TML_HEAD_TIMING,        /* 3 classes: bad / ok / good entry */
  TML_HEAD_STOP_LOSS,     /* regression: stop-loss distance in percent */
  TML_HEAD_POSITION_SIZE, /* regression: fraction of full size in [position_min, position_max] */
  TML_HEAD_COUNT
};

/* "direction", "volatility", "timing", "stop_loss", "position_size"; NULL for an invalid head. */
const char *tml_head_name(enum tml_head h);
/* Number of classes: 3, 4, 3, 0, 0 (0 = regression); -1 for an invalid head. */
int tml_head_nclass(enum tml_head h);
/* Class name ("down","neutral","up" / "low","normal","high","extreme" / "bad","ok","good");
 * NULL when k is out of range or the head is a regression head. */
const char *tml_head_class_name(enum tml_head h, int k);

/* How direction classes are bounded. */
enum tml_direction_mode {
  TML_DIRECTION_QUANTILE = 0, /* boundaries = direction_quantiles of the training forward returns */
  TML_DIRECTION_BAND = 1      /* boundaries = -direction_band, +direction_band (fixed) */
};

struct tml_label_spec {
  int horizon;                     /* h, candles ahead (default 12) */
  int direction_mode;              /* enum tml_direction_mode (default QUANTILE) */
  double direction_quantiles[2];   /* default 1/3, 2/3 */
  double direction_band;           /* |log return| neutral band for BAND mode (default 0.002) */
  double volatility_quantiles[3];  /* default 0.50, 0.80, 0.95 */
  double timing_quantiles[2];      /* default 1/3, 2/3 */
  double tp1_pct;                  /* take-profit-1 distance in % (default 1.0) */
  double tp1_stop_pct;             /* stop distance in % for the tp1 hit outcome (default 1.0) */
  double stop_loss_mult;           /* stop = MAE before target x mult (default 1.0) */
  double stop_loss_min_pct;        /* clip, default 0.5 */
  double stop_loss_max_pct;        /* clip, default 5.0 */
  double target_risk_pct;          /* position = target_risk_pct / stop_loss_pct (default 0.5) */
  double position_min;             /* clip, default 0.1 */
  double position_max;             /* clip, default 1.0 */
  size_t min_fit_rows;             /* fewer labelled training rows -> TML_EDATA (default 50) */
};

/* Fills the defaults listed above. */
void tml_label_spec_default(struct tml_label_spec *s);
/* 0, or TML_EINVAL with a message naming the first bad field and its allowed range. */
int tml_label_spec_validate(const struct tml_label_spec *s, struct tml_error *err);
/* Appends the spec as one JSON object (all fields). 0 or TML_ENOMEM/TML_ETOOBIG. */
int tml_label_spec_to_json(const struct tml_label_spec *s, struct tml_buf *out);

/* Continuous targets, one value per candle (same indexing as the candles). */
struct tml_targets {
  size_t len;
  double *fwd_return;     /* ln(close[t+h] / close[t]) */
  double *fwd_vol;        /* population std of the next h one-candle log returns */
  double *timing;         /* MFE / (MFE + MAE) in the forward-return direction, in [0, 1] */
  double *stop_loss_pct;  /* clip(100 x MAE-before-target x mult, min, max) */
  double *position_size;  /* clip(target_risk_pct / stop_loss_pct, min, max) */
  int8_t *tp1_hit;        /* 1 hit, 0 not hit (stop first or neither), -1 unknown */
  size_t unlabelled;      /* rows whose targets are NaN (the last h rows, plus bad prices) */
};

/* Computes all targets for every candle. Rows without a full horizon (the last h) or with a
 * non-positive/non-finite price in the window get NaN targets and tp1_hit = -1, and are counted
 * in out->unlabelled. `out` is filled by this call (caller releases with tml_targets_release).
 * Returns 0, TML_EINVAL (bad spec) or TML_ENOMEM. */
int tml_targets_compute(const struct tml_candles *c, const struct tml_label_spec *s,
                        struct tml_targets *out, struct tml_error *err);
/* Frees the arrays; accepts NULL. */
void tml_targets_release(struct tml_targets *t);

struct tml_range {
  size_t begin, end; /* half-open row range [begin, end) */
};

/* Class boundaries, ascending; the class of a value v is the number of boundaries b with v > b
 * (so v equal to a boundary falls in the lower class), see docs/labels.md. */
struct tml_label_thresholds {
  double direction[2];
  double volatility[3];
  double timing[2];
};

/* Fits class boundaries on the rows of the given ranges only (NaN rows ignored): quantiles with
 * linear interpolation (numpy's default). Arrays are indexed like the targets; ranges must lie
 * inside the arrays' length, which the caller guarantees. TML_EDATA when fewer than
 * s->min_fit_rows labelled rows are found; TML_EINVAL for a bad spec; TML_ENOMEM. */
int tml_labels_fit(const double *fwd_return, const double *fwd_vol, const double *timing,
                   const struct tml_range *train, size_t nranges, const struct tml_label_spec *s,
                   struct tml_label_thresholds *th, struct tml_error *err);

/* The training target of head h for one row: a class id as float, or the regression value.
 * Returns 0, TML_EDATA when the needed target is NaN (unlabelled row; *y is set to NaN), or
 * TML_EINVAL for an invalid head. */
int tml_labels_head_value(enum tml_head h, const struct tml_label_thresholds *th, double fwd_return,
                          double fwd_vol, double timing, double stop_loss_pct, double position_size,
                          float *y);

/* Vectorised form: y[i] = head value of row i for i in [0, t->len); NaN for unlabelled rows.
 * *nan_rows (may be NULL) receives the number of NaN outputs. 0 or TML_EINVAL. */
int tml_labels_head_fill(enum tml_head h, const struct tml_label_thresholds *th,
                         const struct tml_targets *t, float *y, size_t *nan_rows);

#endif
