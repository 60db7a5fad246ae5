/* Tests of the LSTM model (include/trademl/lstm.h) on synthetic matrices: it learns a label that
 * depends on a row 20 steps back (five heads), saves and loads to identical predictions, streams to
 * the same bits as batch prediction, is deterministic, refuses bad files and bad parameters. */
#include "test.h"

#include "trademl/error.h"
#include "trademl/hash.h"
#include "trademl/lstm.h"
#include "trademl/nn.h"

#include <unistd.h>

/* A matrix of NSYM interleaved symbols, 3 columns of random signs per row. Heads per row r of a
 * symbol (k = its index within the symbol):
 *   direction   = 2 if x0 of the row 20 back is +1 else 0   (unknown for k < 20)
 *   volatility  = (x1 of 3 back > 0) + 2 (x2 now > 0)        (4 classes)
 *   timing      = 1 always (a constant class is fine)
 *   stop_loss   = 1 + 0.5 x1 of 1 back;  position_size = 0.5 */
struct synth {
  size_t nrows, ncols;
  float *X;
  uint16_t *sym;
  float *target[TML_HEAD_COUNT]; /* per row */
};

static void synth_make(struct synth *s, size_t per_sym, size_t nsym, uint64_t seed) {
  s->ncols = 3;
  s->nrows = per_sym * nsym;
  s->X = malloc(s->nrows * 3 * sizeof(float));
  s->sym = malloc(s->nrows * sizeof(uint16_t));
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    s->target[h] = malloc(s->nrows * sizeof(float));
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, seed);
  for (size_t i = 0; i < s->nrows; i++) {
    s->sym[i] = (uint16_t)(i % nsym);
    for (size_t j = 0; j < 3; j++)
      s->X[i * 3 + j] = tml_nn_rng_uniform(&r) < 0.5 ? -1.0f : 1.0f;
  }
  for (size_t i = 0; i < s->nrows; i++) {
    size_t k = i / nsym;
#define BACK(n, col) s->X[(i - (n) * nsym) * 3 + (col)]
    s->target[TML_HEAD_DIRECTION][i] = k >= 20 ? (BACK(20, 0) > 0 ? 2.0f : 0.0f) : NAN;
    s->target[TML_HEAD_VOLATILITY][i] = k >= 3 ? (float)((BACK(3, 1) > 0) + 2 * (BACK(0, 2) > 0)) : NAN;
    s->target[TML_HEAD_TIMING][i] = 1.0f;
    s->target[TML_HEAD_STOP_LOSS][i] = k >= 1 ? 1.0f + 0.5f * BACK(1, 1) : NAN;
    s->target[TML_HEAD_POSITION_SIZE][i] = 0.5f;
#undef BACK
  }
}

static void synth_release(struct synth *s) {
  free(s->X);
  free(s->sym);
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(s->target[h]);
}

/* Fit on the first `fit` rows (stop = the next `stop`), targets gathered per entry. */
struct fit_setup {
  size_t *rows;
  float *y[TML_HEAD_COUNT];
  struct tml_lstm_fit_data fd;
};

static void setup_fit(struct fit_setup *f, const struct synth *s, size_t fit, size_t stop) {
  f->rows = malloc((fit + stop) * sizeof(size_t));
  for (size_t i = 0; i < fit + stop; i++)
    f->rows[i] = i;
  memset(&f->fd, 0, sizeof f->fd);
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    f->y[h] = malloc((fit + stop) * sizeof(float));
    for (size_t i = 0; i < fit + stop; i++)
      f->y[h][i] = s->target[h][f->rows[i]];
    f->fd.y[h] = f->y[h];
  }
  f->fd.X = s->X;
  f->fd.nrows = s->nrows;
  f->fd.ncols = s->ncols;
  f->fd.sym = s->sym;
  f->fd.rows = f->rows;
  f->fd.nfit = fit;
  f->fd.nstop = stop;
}

static void release_fit(struct fit_setup *f) {
  free(f->rows);
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(f->y[h]);
}

static void small_params(struct tml_lstm_params *p) {
  tml_lstm_params_default(p);
  p->hidden = 16;
  p->sequence_length = 21; /* the row 20 back is the window's first */
  p->batch_size = 32;
  p->epochs = 6;
  p->patience = 6;
  p->learning_rate = 0.02;
  p->dropout = 0.0;
  p->clip = 5.0;
}

static double direction_accuracy(const struct tml_lstm_model *m, const struct synth *s, size_t from) {
  size_t n = s->nrows - from;
  float *dir = malloc(n * 3 * sizeof(float));
  float *out[TML_HEAD_COUNT] = {dir, NULL, NULL, NULL, NULL};
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_lstm_predict(m, s->X, s->nrows, s->ncols, s->sym, (struct tml_range){from, s->nrows}, out, &err),
           &err);
  size_t right = 0, counted = 0;
  for (size_t i = 0; i < n; i++) {
    float y = s->target[TML_HEAD_DIRECTION][from + i];
    if (!isfinite(y))
      continue;
    const float *p = dir + 3 * i;
    CHECK_NEAR((double)p[0] + (double)p[1] + (double)p[2], 1.0, 1e-5);
    int best = p[2] > p[0] ? (p[2] > p[1] ? 2 : 1) : (p[0] > p[1] ? 0 : 1);
    right += best == (int)y;
    counted++;
  }
  free(dir);
  return (double)right / (double)counted;
}

/* Fits once per process for the tests that need a model. */
static struct synth g_s;
static struct tml_lstm_model *g_model;
static const size_t g_fit = 4000, g_stop = 800;

static struct tml_lstm_model *fitted(void) {
  if (g_model)
    return g_model;
  synth_make(&g_s, 3000, 2, 5);
  struct fit_setup f;
  setup_fit(&f, &g_s, g_fit, g_stop);
  struct tml_lstm_params p;
  small_params(&p);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_lstm_fit(&f.fd, &p, NULL, NULL, &g_model, &err), &err);
  release_fit(&f);
  return g_model;
}

/* A quick model (one epoch on a small matrix) for the tests that need any fitted model. */
static struct synth q_s;
static struct tml_lstm_model *q_model;

static struct tml_lstm_model *quick(void) {
  if (q_model)
    return q_model;
  synth_make(&q_s, 400, 2, 12);
  struct fit_setup f;
  setup_fit(&f, &q_s, 500, 100);
  struct tml_lstm_params p;
  small_params(&p);
  p.epochs = 1;
  p.dropout = 0.1;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_lstm_fit(&f.fd, &p, NULL, NULL, &q_model, &err), &err);
  release_fit(&f);
  return q_model;
}

__attribute__((destructor)) static void cleanup_quick(void) {
  tml_lstm_free(q_model);
  if (q_model)
    synth_release(&q_s);
}

__attribute__((destructor)) static void cleanup(void) {
  tml_lstm_free(g_model);
  if (g_model)
    synth_release(&g_s);
}

TEST(learns_twenty_steps_back) {
  struct tml_lstm_model *m = fitted();
  double acc = direction_accuracy(m, &g_s, g_fit + g_stop);
  struct tml_lstm_info info;
  tml_lstm_info(m, &info);
  fprintf(stderr, "direction accuracy on unseen rows %.4f (epochs %d, best %d, valid loss %.4f)\n", acc,
          info.epochs_run, info.best_epoch, info.best_valid_loss);
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    fprintf(stderr, "  head %d valid %.4f\n", h, info.head_valid_loss[h]);
  CHECK_MSG(acc > 0.95, "the LSTM model reached only %.4f on the 20-rows-back direction label", acc);
  CHECK(info.best_epoch >= 0 && info.best_epoch < info.epochs_run);
  /* The regression head learnt stop_loss = 1 +- 0.5: RMSE in target units well below the 0.5 spread. */
  CHECK_MSG(info.head_valid_loss[TML_HEAD_STOP_LOSS] < 0.2, "stop_loss RMSE %g",
            info.head_valid_loss[TML_HEAD_STOP_LOSS]);
}

TEST(sequence_length_one_cannot) {
  struct synth s;
  synth_make(&s, 1500, 1, 6);
  struct fit_setup f;
  setup_fit(&f, &s, 1000, 200);
  struct tml_lstm_params p;
  small_params(&p);
  p.sequence_length = 1;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_lstm_model *m = NULL;
  CHECK_OK(tml_lstm_fit(&f.fd, &p, NULL, NULL, &m, &err), &err);
  double acc = direction_accuracy(m, &s, 1200);
  CHECK_MSG(acc < 0.62, "sequence length 1 reached %.4f: the task leaks", acc);
  tml_lstm_free(m);
  release_fit(&f);
  synth_release(&s);
}

static float *predict_all(const struct tml_lstm_model *m, const struct synth *s, struct tml_range r) {
  size_t n = r.end - r.begin;
  float *buf = malloc(n * TML_LSTM_NOUT * sizeof(float));
  float *out[TML_HEAD_COUNT];
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    out[h] = buf + n * tml_lstm_head_offset((enum tml_head)h);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_lstm_predict(m, s->X, s->nrows, s->ncols, s->sym, r, out, &err), &err);
  return buf;
}

TEST(save_load_identical_predictions) {
  struct tml_lstm_model *m = quick();
  char *dir = tml_test_tmpdir("lstm_save");
  char path[4096];
  snprintf(path, sizeof path, "%s/lstm.model", dir);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_lstm_save(m, path, "lstm", "0123456789abcdef", &err), &err);
  struct tml_lstm_model *back = NULL;
  CHECK_OK(tml_lstm_load(path, "lstm", "0123456789abcdef", &back, &err), &err);
  struct tml_range r = {500, q_s.nrows};
  float *a = predict_all(m, &q_s, r), *b = predict_all(back, &q_s, r);
  CHECK_MSG(memcmp(a, b, (r.end - r.begin) * TML_LSTM_NOUT * sizeof(float)) == 0,
            "a loaded model predicts differently from the saved one");
  struct tml_lstm_info i1, i2;
  tml_lstm_info(m, &i1);
  tml_lstm_info(back, &i2);
  CHECK_INT(i2.best_epoch, i1.best_epoch);
  CHECK_INT(i2.params.hidden, 16);
  CHECK(i2.best_valid_loss == i1.best_valid_loss);
  /* saving the loaded model gives the same bytes */
  char path2[4096];
  snprintf(path2, sizeof path2, "%s/again.model", dir);
  CHECK_OK(tml_lstm_save(back, path2, "lstm", "0123456789abcdef", &err), &err);
  FILE *f1 = fopen(path, "rb"), *f2 = fopen(path2, "rb");
  CHECK(f1 && f2);
  int c1, c2;
  do {
    c1 = fgetc(f1);
    c2 = fgetc(f2);
    CHECK(c1 == c2);
  } while (c1 != EOF);
  fclose(f1);
  fclose(f2);
  free(a);
  free(b);
  tml_lstm_free(back);
  free(dir);
}

TEST(stream_equals_batch_bits) {
  struct tml_lstm_model *m = quick();
  struct tml_range r = {0, 400}; /* from the first row: covers the padded windows too */
  float *batch = predict_all(m, &q_s, r);
  size_t n = r.end - r.begin;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_lstm_stream *st[2];
  CHECK_OK(tml_lstm_stream_open(m, &st[0], &err), &err);
  CHECK_OK(tml_lstm_stream_open(m, &st[1], &err), &err);
  float out[TML_HEAD_COUNT][TML_MAX_CLASSES];
  for (size_t i = 0; i < n; i++) {
    tml_lstm_stream_step(st[q_s.sym[i]], q_s.X + i * 3, out);
    for (int h = 0; h < TML_HEAD_COUNT; h++) {
      size_t w = tml_lstm_head_width((enum tml_head)h);
      const float *b = batch + n * tml_lstm_head_offset((enum tml_head)h) + i * w;
      CHECK_MSG(memcmp(out[h], b, w * sizeof(float)) == 0, "row %zu head %d: stream %.9g batch %.9g", i, h,
                (double)out[h][0], (double)b[0]);
    }
  }
  tml_lstm_stream_close(st[0]);
  tml_lstm_stream_close(st[1]);
  free(batch);
}

TEST(deterministic_same_bytes) {
  struct synth s;
  synth_make(&s, 600, 1, 8);
  struct fit_setup f;
  setup_fit(&f, &s, 400, 100);
  struct tml_lstm_params p;
  small_params(&p);
  p.epochs = 2;
  p.dropout = 0.2; /* masks come from the seed too */
  p.threads = 2;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_lstm_model *a = NULL, *b = NULL, *c = NULL;
  CHECK_OK(tml_lstm_fit(&f.fd, &p, NULL, NULL, &a, &err), &err);
  CHECK_OK(tml_lstm_fit(&f.fd, &p, NULL, NULL, &b, &err), &err);
  p.seed = 43;
  CHECK_OK(tml_lstm_fit(&f.fd, &p, NULL, NULL, &c, &err), &err);
  char *dir = tml_test_tmpdir("lstm_determinism");
  char pa[4096], pb[4096], pc[4096];
  snprintf(pa, sizeof pa, "%s/a", dir);
  snprintf(pb, sizeof pb, "%s/b", dir);
  snprintf(pc, sizeof pc, "%s/c", dir);
  CHECK_OK(tml_lstm_save(a, pa, "lstm", NULL, &err), &err);
  CHECK_OK(tml_lstm_save(b, pb, "lstm", NULL, &err), &err);
  CHECK_OK(tml_lstm_save(c, pc, "lstm", NULL, &err), &err);
  FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb"), *fc = fopen(pc, "rb");
  CHECK(fa && fb && fc);
  unsigned char ha[256], hb[256], hc[256];
  CHECK(fread(ha, 1, 256, fa) == 256 && fread(hb, 1, 256, fb) == 256 && fread(hc, 1, 256, fc) == 256);
  CHECK_MSG(memcmp(ha + 196, hb + 196, 16) == 0, "same seed and threads: different weights");
  CHECK_MSG(memcmp(ha + 204, hc + 204, 8) != 0, "another seed: the same weights");
  int x, y;
  do {
    x = fgetc(fa);
    y = fgetc(fb);
    CHECK(x == y);
  } while (x != EOF);
  fclose(fa);
  fclose(fb);
  fclose(fc);
  tml_lstm_free(a);
  tml_lstm_free(b);
  tml_lstm_free(c);
  free(dir);
  release_fit(&f);
  synth_release(&s);
}

static void write_bytes(const char *path, const unsigned char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  CHECK(fwrite(b, 1, n, f) == n);
  fclose(f);
}

/* In a child of tml_test_in_limited_child: 0 when the file at arg is refused as corrupt for its
 * weight count, 2 when loading ran out of memory, 1 otherwise. */
static int load_refused_as_corrupt(void *arg) {
  struct tml_error e;
  tml_error_init(&e);
  struct tml_lstm_model *o = NULL;
  int code = tml_lstm_load(arg, "lstm", NULL, &o, &e);
  if (code == TML_EMODEL && o == NULL && strstr(e.msg, "weights where its dimensions need"))
    return 0;
  return code == TML_ENOMEM ? 2 : 1;
}

TEST(bad_files_refused) {
  struct tml_lstm_model *m = quick();
  char *dir = tml_test_tmpdir("lstm_bad");
  char good[4096], bad[4096];
  snprintf(good, sizeof good, "%s/good", dir);
  snprintf(bad, sizeof bad, "%s/bad", dir);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_lstm_save(m, good, "lstm", "0123456789abcdef", &err), &err);
  FILE *f = fopen(good, "rb");
  CHECK(f != NULL);
  unsigned char *b = malloc(1 << 20);
  size_t n = fread(b, 1, 1 << 20, f);
  fclose(f);
  CHECK(n > 256);
  struct tml_lstm_model *out = NULL;
  struct {
    size_t len;      /* bytes written */
    long flip;       /* byte to corrupt, -1 none */
    const char *strategy, *checksum, *expect;
    int code;
  } cases[] = {
      {0, -1, "lstm", NULL, "truncated", TML_EMODEL},
      {100, -1, "lstm", NULL, "truncated", TML_EMODEL},
      {n - 7, -1, "lstm", NULL, "truncated", TML_EMODEL},
      {n, 0, "lstm", NULL, "bad magic", TML_EMODEL},
      {n, 60, "lstm", NULL, "header checksum", TML_EMODEL},
      {n, (long)n - 3, "lstm", NULL, "weights checksum", TML_EMODEL},
      {n, -1, "xgb5", NULL, "strategy 'lstm', not 'xgb5'", TML_EMODEL},
      {n, -1, "lstm", "fedcba9876543210", "feature set 0123456789abcdef", TML_EMODEL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    if (cases[i].flip >= 0)
      c[cases[i].flip] ^= 0x5a;
    write_bytes(bad, c, cases[i].len);
    tml_error_init(&err);
    int rc = tml_lstm_load(bad, cases[i].strategy, cases[i].checksum, &out, &err);
    CHECK_MSG(rc == cases[i].code, "case %zu: rc %d (%s)", i, rc, err.msg);
    CHECK(out == NULL);
    CHECK_CONTAINS(err.msg, bad);
    CHECK_CONTAINS(err.msg, cases[i].expect);
    free(c);
  }
  /* A header that passes its checksum but whose dimensions ask for ~1.6 GB of weights (100000
   * columns x 1024 hidden units) over this small payload: refused as corrupt before anything that
   * size is allocated. Checked in a child whose address space is limited to 512 MB more than it
   * uses, where allocating first would fail as out of memory instead. */
  {
    unsigned char *h = malloc(n);
    memcpy(h, b, n);
    const uint32_t dims[2] = {100000, 1024}; /* columns at byte 52, hidden units at 56 */
    for (int d = 0; d < 2; d++)
      for (int k = 0; k < 4; k++)
        h[52 + 4 * d + k] = (unsigned char)(dims[d] >> (8 * k));
    uint64_t sum = tml_fnv1a64(TML_FNV64_INIT, h, 248);
    for (int k = 0; k < 8; k++)
      h[248 + k] = (unsigned char)(sum >> (8 * k));
    write_bytes(bad, h, n);
    free(h);
    int code = tml_test_in_limited_child(load_refused_as_corrupt, bad, 512);
    CHECK_MSG(code == 0,
              "huge dimensions: the child exited with %d (2: out of memory, the weights were allocated before "
              "the header was checked against the file; 1: not refused as corrupt; 126: no address-space limit "
              "could be set; -1: the child crashed)",
              code);
  }
  /* longer than written */
  unsigned char *c = malloc(n + 5);
  memcpy(c, b, n);
  memset(c + n, 0, 5);
  write_bytes(bad, c, n + 5);
  tml_error_init(&err);
  CHECK_INT(tml_lstm_load(bad, "lstm", NULL, &out, &err), TML_EMODEL);
  CHECK_CONTAINS(err.msg, "longer than written");
  free(c);
  snprintf(bad, sizeof bad, "%s/missing", dir);
  tml_error_init(&err);
  CHECK_INT(tml_lstm_load(bad, "lstm", NULL, &out, &err), TML_ENOENT);
  CHECK_CONTAINS(err.msg, bad);
  free(b);
  free(dir);
}

TEST(bad_parameters_refused) {
  struct tml_lstm_params p;
  struct tml_error err;
  tml_lstm_params_default(&p);
  tml_error_init(&err);
  CHECK_OK(tml_lstm_params_validate(&p, &err), &err);
#define BAD(field, value, key)                                   \
  do {                                                           \
    tml_lstm_params_default(&p);                                 \
    p.field = value;                                             \
    tml_error_init(&err);                                        \
    CHECK_INT(tml_lstm_params_validate(&p, &err), TML_EINVAL);   \
    CHECK_CONTAINS(err.msg, key);                                \
  } while (0)
  BAD(hidden, 0, "lstm.hidden_size");
  BAD(layers, 5, "lstm.layers");
  BAD(learning_rate, 0.0, "lstm.learning_rate");
  BAD(learning_rate, NAN, "lstm.learning_rate");
  BAD(batch_size, 0, "lstm.batch_size");
  BAD(epochs, 0, "lstm.epochs");
  BAD(patience, 0, "lstm.patience");
  BAD(dropout, 0.95, "lstm.dropout");
  BAD(clip, -1.0, "lstm.clip");
  BAD(sequence_length, 0, "lstm.sequence_length");
#undef BAD
  /* a window longer than the data */
  struct synth s;
  synth_make(&s, 100, 2, 9);
  struct fit_setup f;
  setup_fit(&f, &s, 150, 20);
  tml_lstm_params_default(&p);
  p.sequence_length = 101;
  struct tml_lstm_model *m = NULL;
  tml_error_init(&err);
  CHECK_INT(tml_lstm_fit(&f.fd, &p, NULL, NULL, &m, &err), TML_EINVAL); /* a setting to change: exit 2 */
  CHECK_CONTAINS(err.msg, "lstm.sequence_length 101 is longer than the data");
  CHECK(m == NULL);
  release_fit(&f);
  synth_release(&s);
}

static int cancel_at_two(void *ud, int epoch, int epochs, double tl, double vl, int best) {
  (void)epochs;
  (void)tl;
  (void)vl;
  (void)best;
  *(int *)ud = epoch;
  return epoch >= 1;
}

TEST(cancel_keeps_nothing) {
  struct synth s;
  synth_make(&s, 400, 1, 10);
  struct fit_setup f;
  setup_fit(&f, &s, 300, 50);
  struct tml_lstm_params p;
  small_params(&p);
  p.epochs = 5;
  p.patience = 5;
  int last = -1;
  struct tml_lstm_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_lstm_fit(&f.fd, &p, cancel_at_two, &last, &m, &err), TML_EINTR);
  CHECK_INT(last, 1);
  CHECK(m == NULL);
  release_fit(&f);
  synth_release(&s);
}

/* Gradients that grow without bound through a long window (2048 steps, mostly padding) overflow on
 * the first batch: the fit stops, says so and keeps nothing. */
TEST(diverging_fit_refused) {
  struct synth s;
  synth_make(&s, 2100, 1, 11);
  struct fit_setup f;
  setup_fit(&f, &s, 2000, 50);
  struct tml_lstm_params p;
  small_params(&p);
  p.sequence_length = 2048;
  p.batch_size = 8;
  p.epochs = 1;
  struct tml_lstm_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_lstm_fit(&f.fd, &p, NULL, NULL, &m, &err), TML_EDATA);
  CHECK_CONTAINS(err.msg, "lstm training diverged at epoch 1, batch 1");
  CHECK_CONTAINS(err.msg, "nothing was kept");
  CHECK(m == NULL);
  release_fit(&f);
  synth_release(&s);
}
