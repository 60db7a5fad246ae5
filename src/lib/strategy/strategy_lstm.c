/* Strategy `lstm`: one multi-task LSTM over the last lstm.sequence_length feature rows of a symbol
 * (include/trademl/lstm.h, docs/lstm.md). A thin wrapper: the labels come from the caller's
 * thresholds, the model fits its scaler on the fit rows and early-stops on the stop rows; prediction
 * reads earlier rows of the same symbol as the window, and streaming keeps those rows' projections
 * (so predicting a row by streaming equals batch prediction to the bit). The folder holds
 * lstm_model.bin (header with magic, format version, strategy name, feature checksum, dimensions;
 * checksummed weights). */
#include "trademl/strategy.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/fsutil.h"
#include "trademl/lstm.h"
#include "util/common.h"

#define LSTM_FILE "lstm_model.bin"

static int lstm_params(const struct tml_strategy_params *p, struct tml_lstm_params *lp, struct tml_error *err) {
  return tml_lstm_params_from_config(p ? p->cfg : NULL, p && p->threads > 0 ? p->threads : 1, lp, err);
}

static int lstm_needs(const struct tml_strategy_params *p, struct tml_strategy_needs *out, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  struct tml_lstm_params lp;
  int rc = lstm_params(p, &lp, err);
  if (rc)
    return rc;
  out->context_rows = (size_t)lp.sequence_length - 1;
  return 0;
}

static void lstm_free(void *impl) { tml_lstm_free(impl); }

struct progress_ud {
  const struct tml_strategy_params *p;
};

static int on_epoch(void *ud, int epoch, int epochs, double train_loss, double valid_loss, int best_epoch) {
  const struct progress_ud *u = ud;
  (void)train_loss;
  return u->p->progress ? u->p->progress(u->p->progress_ud, -1, epoch, epochs, valid_loss, best_epoch) : 0;
}

static int lstm_fit(const struct tml_strategy_fit_data *fd, const struct tml_strategy_params *p, void **out,
                    struct tml_error *err) {
  *out = NULL;
  struct tml_lstm_params lp;
  int rc = lstm_params(p, &lp, err);
  if (rc)
    return rc;
  const struct tml_dataset *d = fd->d;
  size_t n = fd->nfit + fd->nstop;
  struct tml_lstm_fit_data lf = {.X = d->X, .nrows = d->nrows, .ncols = d->ncols, .sym = d->sym, .rows = fd->rows,
                                 .nfit = fd->nfit, .nstop = fd->nstop};
  float *y[TML_HEAD_COUNT] = {0};
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    if (!(y[h] = malloc((n ? n : 1) * sizeof(float)))) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory for the lstm labels (%zu rows)", n);
      goto out;
    }
    tml_strategy_fit_labels(fd, (enum tml_head)h, y[h]);
    lf.y[h] = y[h];
  }
  struct progress_ud ud = {p};
  struct tml_lstm_model *m = NULL;
  rc = tml_lstm_fit(&lf, &lp, on_epoch, &ud, &m, err);
  if (!rc)
    *out = m;
out:
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(y[h]);
  return rc;
}

static int lstm_predict(const void *impl, const struct tml_dataset *d, struct tml_range rows, float *const *out,
                        struct tml_error *err) {
  return tml_lstm_predict(impl, d->X, d->nrows, d->ncols, d->sym, rows, out, err);
}

static int lstm_stream_open(const void *impl, void **state, struct tml_error *err) {
  struct tml_lstm_stream *s = NULL;
  int rc = tml_lstm_stream_open(impl, &s, err);
  *state = s;
  return rc;
}

static int lstm_stream_step(void *state, const float *row, float (*out)[TML_MAX_CLASSES], struct tml_error *err) {
  (void)err;
  tml_lstm_stream_step(state, row, out);
  return 0;
}

static void lstm_stream_close(void *state) { tml_lstm_stream_close(state); }

static int lstm_save(const void *impl, const char *dir, const struct tml_dataset *d, struct tml_error *err) {
  (void)d;
  char path[4200];
  snprintf(path, sizeof(path), "%s/%s", dir, LSTM_FILE);
  return tml_lstm_save(impl, path, "lstm", tml_featureset_checksum(), err);
}

static int lstm_load(const char *dir, const struct tml_strategy_load_info *info, void **out, struct tml_error *err) {
  *out = NULL;
  char path[4200];
  snprintf(path, sizeof(path), "%s/%s", dir, LSTM_FILE);
  if (!tml_path_exists(path))
    return tml_error_set(err, TML_EMODEL, "'%s' is missing: the folder is not an lstm model set", path);
  struct tml_lstm_model *m = NULL;
  int rc = tml_lstm_load(path, "lstm", tml_featureset_checksum(), &m, err);
  if (rc)
    return rc == TML_ENOENT ? TML_EMODEL : rc;
  struct tml_lstm_info mi;
  tml_lstm_info(m, &mi);
  if (info && info->ncols && mi.ncols != info->ncols) {
    tml_lstm_free(m);
    return tml_error_set(err, TML_EMODEL, "'%s' has %zu columns but metadata.json says %zu", path, mi.ncols,
                         info->ncols);
  }
  *out = m;
  return 0;
}

static int lstm_describe(const void *impl, struct tml_buf *out) { return tml_lstm_describe(impl, out); }

static void lstm_head_info(const void *impl, int head, struct tml_strategy_head_info *out) {
  struct tml_lstm_info mi;
  tml_lstm_info(impl, &mi);
  out->best_iteration = mi.best_epoch;
  out->best_score = head >= 0 && head < TML_HEAD_COUNT ? mi.head_valid_loss[head] : (double)NAN;
  out->seconds = -1.0;
}

const struct tml_strategy tml_strategy_lstm = {
    .name = "lstm",
    .summary = "one multi-task LSTM over the last lstm.sequence_length feature rows of the symbol",
    .needs = lstm_needs,
    .fit = lstm_fit,
    .predict = lstm_predict,
    .stream_open = lstm_stream_open,
    .stream_step = lstm_stream_step,
    .stream_close = lstm_stream_close,
    .save = lstm_save,
    .load = lstm_load,
    .describe = lstm_describe,
    .head_info = lstm_head_info,
    .importance = NULL,
    .head_model = NULL,
    .free = lstm_free,
};
