/* The LSTM model of the `lstm` strategy (docs/lstm.md), on the neural-network core (nn.h): the last
 * `sequence_length` rows of one symbol's features, standardised with statistics of the fit rows only,
 * go through `layers` stacked LSTM layers; the last step's hidden state feeds one dense layer with
 * the five heads' outputs (direction 3 + volatility 4 + timing 3 logits, stop_loss and position_size
 * values). The loss is the sum of the heads' mean losses (cross-entropy, squared error of the
 * standardised regression target); Adam with gradient-norm clipping and dropout; early stopping on
 * the stop rows keeps the best epoch's weights.
 *
 * Rows are those of a feature matrix (dataset.h): nrows x ncols row-major, optionally several
 * symbols interleaved (sym[r] = symbol of row r). The window of row r is r and the sequence_length-1
 * rows of the same symbol before it in the matrix; a window that reaches before the symbol's first
 * row is padded at the front with zero (standardised: mean) rows.
 *
 * Prediction runs its own fixed-order loops (not BLAS), so predicting row t in a batch and predicting
 * it by streaming (tml_lstm_stream_step) give the same bits, and predict() is thread-safe. */
#ifndef TML_LSTM_H
#define TML_LSTM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/labels.h"  /* enum tml_head, struct tml_range */
#include "trademl/metrics.h" /* TML_MAX_CLASSES */

struct tml_buf;
struct tml_config;
struct tml_error;

#define TML_LSTM_FORMAT_VERSION 1
#define TML_LSTM_MAX_LAYERS 4
#define TML_LSTM_NOUT 12 /* 3 + 4 + 3 + 1 + 1 */

/* Hyperparameters: the lstm.* keys of the configuration (docs/config.md). */
struct tml_lstm_params {
  int hidden;            /* units per layer, 1..1024 */
  int layers;            /* stacked LSTM layers, 1..TML_LSTM_MAX_LAYERS */
  double learning_rate;  /* Adam step size, (0, 1] */
  int batch_size;        /* windows per step, 1..4096 */
  int epochs;            /* maximum passes over the fit rows, 1..10000 */
  int patience;          /* epochs without a better validation loss before stopping, 1..1000 */
  double dropout;        /* between layers and before the heads, [0, 0.9] */
  double clip;           /* maximum gradient L2 norm, 0 = no clipping, [0, 1e6] */
  int sequence_length;   /* rows per window, 1..4096 */
  uint64_t seed;         /* weights, dropout masks and batch order */
  int threads;           /* OpenBLAS threads for training, >= 1 */
};

/* The documented defaults (docs/lstm.md). */
void tml_lstm_params_default(struct tml_lstm_params *p);
/* 0, or TML_EINVAL naming the first key out of range, its range and the value given. */
int tml_lstm_params_validate(const struct tml_lstm_params *p, struct tml_error *err);
/* Reads the lstm.* keys from cfg (NULL: the defaults) and validates them. threads: the resolved
 * thread budget (>= 1), which sets OpenBLAS's thread count during the fit. */
int tml_lstm_params_from_config(const struct tml_config *cfg, int threads, struct tml_lstm_params *p,
                                struct tml_error *err);

/* Offset and width of head h in the TML_LSTM_NOUT outputs of a row. */
size_t tml_lstm_head_offset(enum tml_head h);
size_t tml_lstm_head_width(enum tml_head h);

struct tml_lstm_model;

/* What fit reads. Everything is borrowed for the call. */
struct tml_lstm_fit_data {
  const float *X;            /* nrows x ncols row-major */
  size_t nrows, ncols;
  const uint16_t *sym;       /* symbol of each row, NULL = one symbol */
  const size_t *rows;        /* nfit fit rows then nstop stop rows, ascending within each part */
  size_t nfit, nstop;
  const float *y[TML_HEAD_COUNT]; /* per entry of rows: class id (as float) or regression value; NaN unknown */
};

/* Progress per epoch: train_loss and valid_loss (NaN without stop rows) are the summed heads' mean
 * losses. Return non-zero to cancel (fit returns TML_EINTR, no model). */
typedef int (*tml_lstm_progress_fn)(void *ud, int epoch, int epochs, double train_loss, double valid_loss,
                                    int best_epoch);

/* Fits a model. Returns 0; TML_EINVAL (parameters, named, and a window longer than the data:
 * sequence_length > the most rows any symbol has); TML_EDATA (no fit rows, a class head with no
 * labelled fit row, or a diverging fit: NaN/Inf loss, named with the epoch); TML_EINTR; TML_ENOMEM. Caller owns
 * *out (tml_lstm_free). Deterministic: same data, parameters, seed and threads -> same bytes. */
int tml_lstm_fit(const struct tml_lstm_fit_data *fd, const struct tml_lstm_params *p, tml_lstm_progress_fn progress,
                 void *ud, struct tml_lstm_model **out, struct tml_error *err);
void tml_lstm_free(struct tml_lstm_model *m); /* accepts NULL */

/* Predicts rows [rows.begin, rows.end) of X (nrows x ncols, sym as in fit; earlier rows of the same
 * symbol are read as the window). out[h] (NULL = skip) receives width(h) floats per row: class
 * probabilities (softmax) or the regression value in the target's units. Thread-safe. */
int tml_lstm_predict(const struct tml_lstm_model *m, const float *X, size_t nrows, size_t ncols, const uint16_t *sym,
                     struct tml_range rows, float *const *out, struct tml_error *err);

/* Streaming prediction for one symbol: the state is the projections of the last sequence_length rows
 * (a ring buffer), so a new candle costs one input projection and one pass over the window. */
struct tml_lstm_stream;
int tml_lstm_stream_open(const struct tml_lstm_model *m, struct tml_lstm_stream **out, struct tml_error *err);
/* Feeds the next row (ncols raw features) of the symbol; with out != NULL also predicts it
 * (out[h][0..width) as in predict). Equals tml_lstm_predict on the same row to the last bit. */
void tml_lstm_stream_step(struct tml_lstm_stream *s, const float *row, float (*out)[TML_MAX_CLASSES]);
void tml_lstm_stream_close(struct tml_lstm_stream *s); /* accepts NULL */

/* Saves to one file (written atomically): a header with magic, format version, strategy name,
 * feature checksum, dimensions and hyperparameters, then the standardisation and the weights, each
 * part covered by an FNV-1a 64 checksum. */
int tml_lstm_save(const struct tml_lstm_model *m, const char *path, const char *strategy,
                  const char *feature_checksum, struct tml_error *err);
/* Loads a file written by tml_lstm_save. expect_strategy / expect_checksum (NULL = any) must match.
 * A missing, truncated, corrupt, other-format, other-strategy or other-feature-set file is TML_EMODEL
 * (TML_ENOENT when missing) naming the file and what is wrong. Caller owns *out. */
int tml_lstm_load(const char *path, const char *expect_strategy, const char *expect_checksum,
                  struct tml_lstm_model **out, struct tml_error *err);

/* Facts about a model (for metadata and describe). */
struct tml_lstm_info {
  size_t ncols, nparams;
  struct tml_lstm_params params;   /* as trained */
  int best_epoch, epochs_run;
  bool stopped_early;
  double best_valid_loss;          /* summed heads' mean losses at the best epoch (NaN: no stop rows) */
  double head_valid_loss[TML_HEAD_COUNT]; /* class heads: mean cross-entropy; regression: RMSE in target units */
  double fit_seconds;
};
void tml_lstm_info(const struct tml_lstm_model *m, struct tml_lstm_info *out);
/* Appends the info as one JSON object. */
int tml_lstm_describe(const struct tml_lstm_model *m, struct tml_buf *out);

#endif
