/* Maps the effective configuration onto validation options: the training keys through
 * tml_train_opts_from_config, the fold presets of the mode, every validation.* key that was set
 * explicitly (file, environment, flag) on top of them, and the gates. docs/validation.md. */
#include "trademl/validate.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "util/common.h"

static bool explicit_key(const struct tml_config *cfg, const char *key) {
  return tml_config_source_of(cfg, key) != TML_CFG_DEFAULT;
}

static int days_key(const struct tml_config *cfg, const char *key, int *out) {
  *out = (int)tml_config_int(cfg, key); /* the key table bounds it to 36500 */
  return 0;
}

/* Applies explicit overrides to one stage's spec and checks them against its window.
 * - A fixed window's length is train_window_days; when only min_train_days is given it is the window
 *   length (the existing API sends {"min_train_days":180,"use_expanding_window":false} for the quick
 *   preset's 180-day window).
 * - In sequential mode an option that fits only the other stage's preset window (train_window_days for
 *   the expanding full stage) applies to that other stage alone. It is a contradiction, and an error,
 *   when the window was chosen explicitly or this is the only stage. */
static int apply_overrides(const struct tml_config *cfg, struct tml_fold_spec *s, const char *stage,
                           bool only_stage, struct tml_error *err) {
  bool has_window = explicit_key(cfg, "validation.window");
  if (has_window)
    s->window = strcmp(tml_config_get(cfg, "validation.window"), "fixed") == 0 ? TML_WINDOW_FIXED
                                                                               : TML_WINDOW_EXPANDING;
  if (explicit_key(cfg, "validation.test_period_days"))
    days_key(cfg, "validation.test_period_days", &s->test_period_days);
  if (explicit_key(cfg, "validation.embargo_days"))
    days_key(cfg, "validation.embargo_days", &s->embargo_days);
  bool has_tw = explicit_key(cfg, "validation.train_window_days");
  bool has_min = explicit_key(cfg, "validation.min_train_days");
  bool strict = has_window || only_stage;
  if (s->window == TML_WINDOW_EXPANDING && has_tw) {
    if (strict)
      return tml_error_set(err, TML_EINVAL,
                           "%s (%s) applies to a fixed window, but the %s stage uses an expanding window: drop it or "
                           "pass --window fixed",
                           "validation.train_window_days", tml_config_origin(cfg, "validation.train_window_days"),
                           stage);
    has_tw = false; /* sequential: it sets the quick stage's window */
  }
  if (s->window == TML_WINDOW_FIXED && has_min && has_tw && strict)
    return tml_error_set(err, TML_EINVAL,
                         "validation.min_train_days (%s) and validation.train_window_days (%s) both set the %s stage's "
                         "fixed window: give one of them",
                         tml_config_origin(cfg, "validation.min_train_days"),
                         tml_config_origin(cfg, "validation.train_window_days"), stage);
  if (has_window && s->window == TML_WINDOW_FIXED && !has_tw && !has_min && strcmp(stage, "full") == 0)
    return tml_error_set(err, TML_EINVAL,
                         "validation.window fixed (%s) needs validation.train_window_days in the %s stage (it has no "
                         "fixed-window preset): pass --train-window-days N",
                         tml_config_origin(cfg, "validation.window"), stage);
  if (has_tw)
    days_key(cfg, "validation.train_window_days", &s->train_window_days);
  else if (has_min && s->window == TML_WINDOW_FIXED)
    days_key(cfg, "validation.min_train_days", &s->train_window_days);
  if (has_min)
    days_key(cfg, "validation.min_train_days", &s->min_train_days);
  return 0;
}

int tml_validate_opts_from_config(const struct tml_config *cfg, struct tml_validate_opts *o, struct tml_error *err) {
  int rc = tml_train_opts_from_config(cfg, &o->train, err);
  if (rc)
    return rc;
  /* Folds choose their rows themselves (quick: the newest folds; full: all data), so data.days only
   * narrows the rows when it was set on purpose, not through its training default. */
  if (!explicit_key(cfg, "data.days"))
    o->train.days = 0;
  const char *mode = tml_config_get(cfg, "validation.mode");
  o->mode = strcmp(mode, "full") == 0         ? TML_VALIDATE_FULL
            : strcmp(mode, "sequential") == 0 ? TML_VALIDATE_SEQUENTIAL
                                              : TML_VALIDATE_QUICK;
  o->quick.horizon = o->full.horizon = o->train.labels.horizon;
  o->quick.max_folds = (int)tml_config_int(cfg, "validation.quick_folds");
  bool sequential = o->mode == TML_VALIDATE_SEQUENTIAL;
  if (o->mode != TML_VALIDATE_FULL && (rc = apply_overrides(cfg, &o->quick, "quick", !sequential, err)))
    return rc;
  if (o->mode != TML_VALIDATE_QUICK && (rc = apply_overrides(cfg, &o->full, "full", !sequential, err)))
    return rc;
  o->signal_threshold = tml_config_double(cfg, "validation.signal_threshold");
  o->fee_pct = tml_config_double(cfg, "validation.fee_pct");

  const char *rules[TML_VALIDATE_MAX_GATES];
  size_t n = tml_config_list(cfg, "validation.gates.rules", rules, TML_VALIDATE_MAX_GATES);
  if (n > TML_VALIDATE_MAX_GATES - 4)
    return tml_error_set(err, TML_EINVAL, "validation.gates.rules lists %zu gates; at most %d are allowed", n,
                         TML_VALIDATE_MAX_GATES - 4);
  o->ngates = 0;
  for (size_t i = 0; i < n; i++) {
    if ((rc = tml_gate_parse(rules[i], &o->gates[o->ngates], err))) {
      tml_error_prefix(err, "validation.gates.rules (%s)", tml_config_origin(cfg, "validation.gates.rules"));
      return rc;
    }
    o->ngates++;
  }
  if (tml_config_bool(cfg, "validation.gates.trading")) {
    char rule[96];
    snprintf(rule, sizeof(rule), "trading.signals>=%.17g", tml_config_double(cfg, "validation.gates.min_trades"));
    rc = tml_gate_parse(rule, &o->gates[o->ngates++], err);
    snprintf(rule, sizeof(rule), "trading.profit_factor>=%.17g",
             tml_config_double(cfg, "validation.gates.min_profit_factor"));
    rc = rc ? rc : tml_gate_parse(rule, &o->gates[o->ngates++], err);
    snprintf(rule, sizeof(rule), "trading.sharpe>=%.17g", tml_config_double(cfg, "validation.gates.min_sharpe"));
    rc = rc ? rc : tml_gate_parse(rule, &o->gates[o->ngates++], err);
    snprintf(rule, sizeof(rule), "trading.max_drawdown_pct<=%.17g",
             tml_config_double(cfg, "validation.gates.max_drawdown_pct"));
    rc = rc ? rc : tml_gate_parse(rule, &o->gates[o->ngates++], err);
    if (rc)
      return rc;
  }
  return 0;
}
