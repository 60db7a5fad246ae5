/* Internal to the learn layer: an XGBoost gbtree model flattened into the prediction layout of
 * learn/forest.h and evaluated natively with XGBoost 1.7's exact prediction semantics (see xgb_flat.c). xgb.c builds one for every
 * model it loads or trains and predicts through it; XGBoost's own prediction stays the fallback for
 * model forms this file does not support. */
#ifndef TML_XGB_FLAT_H
#define TML_XGB_FLAT_H

#include <stdbool.h>
#include <stddef.h>

struct tml_error;

/* Opaque: nodes of every tree, the class group of each tree, base_score, nclass, ncols. Immutable once
 * built, so any number of threads may predict with it at once. */
struct tml__xgb_flat;

/* Builds the flat form of the model serialised as XGBoost JSON in json[0..len) (the output of
 * XGBoosterSaveModelToBuffer with format json). TML_EMODEL when the model is of a form this evaluator
 * does not reproduce (dart booster, categorical splits, vector leaves, an objective other than
 * multi:softprob / reg:squarederror) or the text is not such a model: the message says which.
 * TML_ENOMEM. On success *out is the caller's (free with tml__xgb_flat_free). */
int tml__xgb_flat_from_json(const char *json, size_t len, struct tml__xgb_flat **out, struct tml_error *err);

/* Predicts nrows rows of X (row-major, ncols columns, NaN = missing) into out (nrows * max(nclass, 1)
 * floats): class probabilities or the regression value, bit for bit what XGBoost 1.7 predicts. */
void tml__xgb_flat_predict(const struct tml__xgb_flat *f, const float *X, size_t nrows, float *out);

int tml__xgb_flat_nclass(const struct tml__xgb_flat *f);  /* 0 = regression */
size_t tml__xgb_flat_ncols(const struct tml__xgb_flat *f);
size_t tml__xgb_flat_ntrees(const struct tml__xgb_flat *f);

/* Fills X (nrows * ncols floats) with rows that exercise the model's splits at their edges: values
 * equal to split thresholds, just below them, and missing values. Used to check, once per model, that
 * the flat form predicts what XGBoost predicts. */
void tml__xgb_flat_probe_rows(const struct tml__xgb_flat *f, size_t nrows, float *X);

/* Frees the model; accepts NULL. */
void tml__xgb_flat_free(struct tml__xgb_flat *f);

/* xgb.c's ways to predict through XGBoost itself, whatever the model's flat form: the reference the
 * tests compare the flat evaluator with. Same contracts as tml_xgb_predict / tml_xgb_predict_inplace. */
struct tml_xgb_model;
int tml__xgb_predict_dmatrix(const struct tml_xgb_model *m, const float *X, size_t nrows, float *out,
                             struct tml_error *err);
int tml__xgb_predict_booster(struct tml_xgb_model *m, const float *X, size_t nrows, float *out,
                             struct tml_error *err);
/* True when m predicts through its flat form. */
bool tml__xgb_is_flat(const struct tml_xgb_model *m);
/* True while m holds XGBoost's booster (a model loaded from a file drops it once flattened). */
bool tml__xgb_has_booster(const struct tml_xgb_model *m);

#endif
