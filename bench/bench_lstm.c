/* Times the lstm strategy's model on real candles: training with the lstm.* defaults (or KEY=VALUE
 * overrides) on the last DAYS days of a CSV, split like `trademl train` (newest 20 % of rows for
 * validation / early stopping, purge = label horizon), and one-new-candle streaming prediction.
 *   build/bench/bench_lstm CSV DAYS [hidden=N layers=N lr=X batch=N epochs=N patience=N dropout=X
 *                                   clip=X seq=N seed=N threads=N] [export=FILE] [stream=1] [fit=0]
 * Prints one JSON line. export=FILE also writes the raw feature matrix, the fit/stop rows and the five
 * head targets for bench/lstm_torch.py (format in that script), so both train on the same numbers;
 * fit=0 stops after that. stream=1 adds the one-new-candle prediction time (wall and thread CPU). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trademl/dataset.h"
#include "trademl/error.h"
#include "trademl/import.h"
#include "trademl/labels.h"
#include "trademl/lstm.h"
#include "trademl/parse.h"
#include "trademl/series.h"
#include "trademl/timeutil.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_now(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int num(const char *s, double *out) {
  char *end = NULL;
  *out = strtod(s, &end);
  return end && *end == '\0' && end != s ? 0 : -1;
}

static int epoch_line(void *ud, int epoch, int epochs, double train_loss, double valid_loss, int best) {
  (void)ud;
  fprintf(stderr, "epoch %d/%d train %.5f valid %.5f best %d\n", epoch + 1, epochs, train_loss, valid_loss, best + 1);
  return 0;
}

static int write_export(const char *path, const struct tml_dataset *d, const size_t *rows, size_t nfit, size_t nstop,
                        float *const *y) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  /* "TMLLSTMX", u64 nrows, ncols, nfit, nstop; f32 X[nrows*ncols]; u64 rows[nfit+nstop];
   * f32 y[5][nfit+nstop] (per entry of rows, NaN unknown). Native byte order (same machine). */
  uint64_t hdr[4] = {d->nrows, d->ncols, nfit, nstop};
  uint64_t *r64 = malloc((nfit + nstop) * sizeof *r64);
  if (!r64) {
    fclose(f);
    return -1;
  }
  for (size_t i = 0; i < nfit + nstop; i++)
    r64[i] = rows[i];
  int ok = fwrite("TMLLSTMX", 1, 8, f) == 8 && fwrite(hdr, sizeof hdr, 1, f) == 1 &&
           fwrite(d->X, sizeof(float), d->nrows * d->ncols, f) == d->nrows * d->ncols &&
           fwrite(r64, sizeof *r64, nfit + nstop, f) == nfit + nstop;
  for (int h = 0; h < TML_HEAD_COUNT && ok; h++)
    ok = fwrite(y[h], sizeof(float), nfit + nstop, f) == nfit + nstop;
  free(r64);
  return fclose(f) == 0 && ok ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_lstm CSV DAYS [KEY=VALUE...]\n");
    return 2;
  }
  struct tml_lstm_params p;
  tml_lstm_params_default(&p);
  const char *export_path = NULL;
  int stream = 0, do_fit = 1;
  double days = 0;
  if (num(argv[2], &days) || days <= 0) {
    fprintf(stderr, "DAYS '%s' must be a positive number\n", argv[2]);
    return 2;
  }
  for (int i = 3; i < argc; i++) {
    const char *eq = strchr(argv[i], '=');
    double v = 0;
    if (!eq) {
      fprintf(stderr, "argument '%s' is not KEY=VALUE\n", argv[i]);
      return 2;
    }
    size_t kl = (size_t)(eq - argv[i]);
    if (kl == 6 && !strncmp(argv[i], "export", 6)) {
      export_path = eq + 1;
      continue;
    }
    if (num(eq + 1, &v)) {
      fprintf(stderr, "argument '%s': the value is not a number\n", argv[i]);
      return 2;
    }
#define KEY(name) (kl == strlen(name) && !strncmp(argv[i], name, kl))
    if (KEY("hidden")) p.hidden = (int)v;
    else if (KEY("layers")) p.layers = (int)v;
    else if (KEY("lr")) p.learning_rate = v;
    else if (KEY("batch")) p.batch_size = (int)v;
    else if (KEY("epochs")) p.epochs = (int)v;
    else if (KEY("patience")) p.patience = (int)v;
    else if (KEY("dropout")) p.dropout = v;
    else if (KEY("clip")) p.clip = v;
    else if (KEY("seq")) p.sequence_length = (int)v;
    else if (KEY("seed")) p.seed = (uint64_t)v;
    else if (KEY("threads")) p.threads = (int)v;
    else if (KEY("stream")) stream = (int)v;
    else if (KEY("fit")) do_fit = (int)v;
    else {
      fprintf(stderr, "unknown key in '%s'\n", argv[i]);
      return 2;
    }
#undef KEY
  }
  struct tml_error err;
  tml_error_init(&err);
  struct tml_candles c;
  struct tml_import_opts io = {.symbol = "BENCH", .interval_ms = 0, .skip_bad_rows = false, .format = TML_IMPORT_AUTO};
  struct tml_import_report rep;
  if (tml_import_file(argv[1], &io, &c, &rep, &err) != 0) {
    fprintf(stderr, "bench_lstm: %s\n", err.msg);
    return 1;
  }
  struct tml_dataset d;
  struct tml_dataset_opts dopt = {.from_ms = INT64_MIN};
  tml_label_spec_default(&dopt.labels);
  dopt.features.base_interval_ms = c.interval_ms;
  dopt.from_ms = c.open_time[c.len - 1] - (int64_t)(days * (double)TML_MS_PER_DAY) + c.interval_ms;
  if (tml_dataset_build(&c, 1, &dopt, &d, &err)) {
    fprintf(stderr, "bench_lstm: %s\n", err.msg);
    return 1;
  }
  struct tml_split split;
  struct tml_label_thresholds th;
  if (tml_dataset_split(&d, 0.2, dopt.labels.horizon, &split, &err) ||
      tml_labels_fit(d.fwd_return, d.fwd_vol, d.timing, &split.train, 1, &dopt.labels, &th, &err)) {
    fprintf(stderr, "bench_lstm: %s\n", err.msg);
    return 1;
  }
  size_t nfit = split.train.end - split.train.begin, nstop = split.valid.end - split.valid.begin;
  size_t *rows = malloc((nfit + nstop) * sizeof *rows);
  float *yall = malloc(d.nrows * sizeof *yall), *y[TML_HEAD_COUNT];
  for (size_t i = 0; i < nfit; i++)
    rows[i] = split.train.begin + i;
  for (size_t i = 0; i < nstop; i++)
    rows[nfit + i] = split.valid.begin + i;
  struct tml_lstm_fit_data fd = {.X = d.X, .nrows = d.nrows, .ncols = d.ncols, .rows = rows, .nfit = nfit,
                                 .nstop = nstop};
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    y[h] = malloc((nfit + nstop) * sizeof(float));
    tml_dataset_head_values(&d, (enum tml_head)h, &th, (struct tml_range){0, d.nrows}, yall);
    for (size_t i = 0; i < nfit + nstop; i++)
      y[h][i] = yall[rows[i]];
    fd.y[h] = y[h];
  }
  if (export_path && write_export(export_path, &d, rows, nfit, nstop, y)) {
    fprintf(stderr, "bench_lstm: cannot write %s\n", export_path);
    return 1;
  }
  if (!do_fit) {
    printf("{\"impl\":\"trademl\",\"rows\":%zu,\"cols\":%zu,\"fit_rows\":%zu,\"stop_rows\":%zu,\"exported\":%s}\n",
           d.nrows, d.ncols, nfit, nstop, export_path ? "true" : "false");
    return 0;
  }
  struct tml_lstm_model *m = NULL;
  double t0 = now(), c0 = cpu_now(CLOCK_PROCESS_CPUTIME_ID);
  if (tml_lstm_fit(&fd, &p, epoch_line, NULL, &m, &err)) {
    fprintf(stderr, "bench_lstm: %s\n", err.msg);
    return 1;
  }
  double fit_s = now() - t0, cpu_s = cpu_now(CLOCK_PROCESS_CPUTIME_ID) - c0;
  struct tml_lstm_info info;
  tml_lstm_info(m, &info);
  printf("{\"impl\":\"trademl\",\"rows\":%zu,\"cols\":%zu,\"fit_rows\":%zu,\"stop_rows\":%zu,\"hidden\":%d,"
         "\"layers\":%d,\"seq\":%d,\"batch\":%d,\"epochs\":%d,\"threads\":%d,\"fit_s\":%.3f,\"cpu_s\":%.3f,"
         "\"epochs_run\":%d,"
         "\"best_epoch\":%d,\"best_valid_loss\":%.6f",
         d.nrows, d.ncols, nfit, nstop, p.hidden, p.layers, p.sequence_length, p.batch_size, p.epochs, p.threads,
         fit_s, cpu_s, info.epochs_run, info.best_epoch + 1, info.best_valid_loss);
  if (stream) {
    /* One new candle with carried state: warm the stream on every row but the last 1000, then time each
     * of those 1000 steps (feed + five heads); repeated 5 times, min and median of the per-step means. */
    struct tml_lstm_stream *s = NULL;
    double reps[5], creps[5];
    float out[TML_HEAD_COUNT][TML_MAX_CLASSES];
    size_t n = d.nrows > 1000 ? 1000 : d.nrows / 2;
    for (int r = 0; r < 5; r++) {
      if (tml_lstm_stream_open(m, &s, &err)) {
        fprintf(stderr, "bench_lstm: %s\n", err.msg);
        return 1;
      }
      for (size_t i = 0; i + n < d.nrows; i++)
        tml_lstm_stream_step(s, d.X + i * d.ncols, NULL);
      double s0 = now(), sc = cpu_now(CLOCK_THREAD_CPUTIME_ID);
      for (size_t i = d.nrows - n; i < d.nrows; i++)
        tml_lstm_stream_step(s, d.X + i * d.ncols, out);
      reps[r] = (now() - s0) / (double)n * 1e6;
      creps[r] = (cpu_now(CLOCK_THREAD_CPUTIME_ID) - sc) / (double)n * 1e6;
      tml_lstm_stream_close(s);
    }
    qsort(reps, 5, sizeof reps[0], cmp_double);
    qsort(creps, 5, sizeof creps[0], cmp_double);
    printf(",\"stream_step_us_min\":%.2f,\"stream_step_us_median\":%.2f,\"stream_step_cpu_us_min\":%.2f,"
           "\"stream_step_cpu_us_median\":%.2f",
           reps[0], reps[2], creps[0], creps[2]);
  }
  printf("}\n");
  tml_lstm_free(m);
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(y[h]);
  free(yall);
  free(rows);
  tml_dataset_release(&d);
  tml_candles_release(&c);
  return 0;
}
