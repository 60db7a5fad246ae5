/* Maps the effective configuration (trademl.yaml + environment + flags) onto training options, so
 * that the CLI, jobs and the HTTP API build the very same options from the same keys. */
#include "trademl/train.h"
#include "trademl/strategy.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/gbdt.h"
#include "trademl/learner.h"
#include "trademl/timeutil.h"
#include "util/common.h"

static int int_key(const struct tml_config *cfg, const char *key, int *out, struct tml_error *err) {
  int64_t v = tml_config_int(cfg, key);
  if (v < INT_MIN || v > INT_MAX)
    return tml_error_set(err, TML_EINVAL, "%s = %" PRId64 " is out of range", key, v);
  *out = (int)v;
  return 0;
}

static int pair(const struct tml_config *cfg, const char *key, double *out, size_t n, struct tml_error *err) {
  double v[4];
  size_t got = tml_config_doubles(cfg, key, v, 4);
  if (got != n)
    return tml_error_set(err, TML_EINVAL, "%s (%s) must list %zu numbers, has %zu", key,
                         tml_config_origin(cfg, key), n, got);
  for (size_t i = 0; i < n; i++)
    out[i] = v[i];
  return 0;
}

int tml_train_opts_from_config(const struct tml_config *cfg, struct tml_train_opts *o, struct tml_error *err) {
  int rc = tml_interval_parse(tml_config_get(cfg, "data.interval"), &o->interval_ms, err);
  if (rc)
    return rc;
  o->days = tml_config_double(cfg, "data.days");
  const char *mode = tml_config_get(cfg, "model.training_mode");
  o->multi_symbol = strcmp(mode, "multi_symbol") == 0;
  if ((rc = tml_symbol_encoding_parse(tml_config_get(cfg, "model.symbol_encoding"), &o->encoding, err)))
    return rc;
  o->strategy = tml_config_get(cfg, "model.strategy");
  o->config = cfg;
  const struct tml_strategy *strategy = NULL;
  if ((rc = tml_strategy_lookup(o->strategy, &strategy, err))) {
    tml_error_prefix(err, "model.strategy (%s)", tml_config_origin(cfg, "model.strategy"));
    return rc;
  }
  o->models_dir = tml_config_get(cfg, "model.models_dir");
  o->test_size = tml_config_double(cfg, "training.test_size");
  int64_t min_rows = tml_config_int(cfg, "training.min_train_rows");
  o->min_train_rows = min_rows > 0 ? (size_t)min_rows : 1;
  if ((rc = int_key(cfg, "training.purge_gap", &o->purge_gap, err)) ||
      (rc = int_key(cfg, "training.threads", &o->threads, err)))
    return rc;

  struct tml_xgb_params *x = &o->xgb;
  if ((rc = int_key(cfg, "training.num_boost_round", &x->num_boost_round, err)) ||
      (rc = int_key(cfg, "training.early_stopping_rounds", &x->early_stopping_rounds, err)) ||
      (rc = int_key(cfg, "training.max_depth", &x->max_depth, err)) ||
      (rc = int_key(cfg, "training.max_bin", &x->max_bin, err)) ||
      (rc = int_key(cfg, "training.max_leaves", &x->max_leaves, err)))
    return rc;
  x->grow_policy = tml_xgb_grow_policy_parse(tml_config_get(cfg, "training.grow_policy"));
  x->native_histogram = tml_xgb_native_histogram_parse(tml_config_get(cfg, "training.native_histogram"));
  x->eta = tml_config_double(cfg, "training.learning_rate");
  x->min_child_weight = tml_config_double(cfg, "training.min_child_weight");
  x->subsample = tml_config_double(cfg, "training.subsample");
  x->colsample_bytree = tml_config_double(cfg, "training.colsample_bytree");
  x->lambda = tml_config_double(cfg, "training.lambda");
  x->seed = (uint64_t)tml_config_int(cfg, "training.seed");
  if ((rc = tml_xgb_params_validate(x, err)))
    return rc;
  const struct tml_learner *engine = NULL;
  o->engine = tml_config_get(cfg, "training.engine");
  if ((rc = tml_learner_lookup(o->engine, &engine, err)))
    return rc;
  if (engine == &tml_learner_native && (rc = tml_gbdt_params_validate(x, err)))
    return rc;

  struct tml_label_spec *l = &o->labels;
  if ((rc = int_key(cfg, "labels.horizon", &l->horizon, err)) ||
      (rc = pair(cfg, "labels.direction_quantiles", l->direction_quantiles, 2, err)) ||
      (rc = pair(cfg, "labels.volatility_quantiles", l->volatility_quantiles, 3, err)) ||
      (rc = pair(cfg, "labels.timing_quantiles", l->timing_quantiles, 2, err)))
    return rc;
  l->tp1_pct = tml_config_double(cfg, "labels.tp1_pct");
  l->tp1_stop_pct = tml_config_double(cfg, "labels.sl_pct");
  l->stop_loss_min_pct = tml_config_double(cfg, "labels.stop_loss_min_pct");
  l->stop_loss_max_pct = tml_config_double(cfg, "labels.stop_loss_max_pct");
  l->target_risk_pct = tml_config_double(cfg, "labels.risk_per_trade_pct");
  l->position_min = tml_config_double(cfg, "labels.position_size_min");
  l->position_max = tml_config_double(cfg, "labels.position_size_max");
  if ((rc = tml_label_spec_validate(l, err)))
    return rc;

  const char *htf = tml_config_get(cfg, "features.htf_interval");
  o->features.base_interval_ms = o->interval_ms;
  o->features.htf_interval_ms = 0;
  if (htf && strcmp(htf, "auto") != 0) {
    if ((rc = tml_interval_parse(htf, &o->features.htf_interval_ms, err)))
      return rc;
    if (o->features.htf_interval_ms <= o->interval_ms || o->features.htf_interval_ms % o->interval_ms)
      return tml_error_set(err, TML_EINVAL,
                           "features.htf_interval %s must be a multiple of the base interval %s and larger",
                           htf, tml_interval_name(o->interval_ms));
  }
  return 0;
}
