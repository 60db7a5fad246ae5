/* The strategy table on real BTCUSDT 1h candles, for every registered strategy (a loop over the
 * table, so a new strategy is tested the moment it is registered): a fit reads only its training rows
 * (poisoning every other row's targets and every later row's features changes nothing), prediction of
 * a row is prefix-invariant and the live stream equals the batch to the last bit, save/load round
 * trips, a folder of one strategy is refused by another, truncated and corrupt files are refused
 * naming the file, the fit cache fits once, and unknown names list the known ones. */
#include "test.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/dataset.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/labels.h"
#include "trademl/strategy.h"
#include "trademl/timeutil.h"

#include <sys/stat.h>
#include <unistd.h>

#define KEEP_CANDLES 6000
/* Row layout of the tests: fit rows, purge, stop rows, purge, test rows. */
#define FIT_END 3600
#define STOP_BEGIN (FIT_END + 12)
#define STOP_END 4400
#define TEST_BEGIN (STOP_END + 12)
#define TEST_END 4900

static void load_dataset(struct tml_dataset *d) {
  char *path = tml_test_data_file("binance-spot/BTCUSDT_1h_2021-2026.csv");
  struct tml_candles all, c;
  size_t n = tml_test_load_candles(path, "BTCUSDT", 0, &all);
  free(path);
  struct tml_error err;
  tml_error_init(&err);
  tml_candles_init(&c, "BTCUSDT", TML_MS_PER_HOUR);
  for (size_t i = n - KEEP_CANDLES; i < n; i++)
    CHECK_OK(tml_candles_push(&c, all.open_time[i], all.open[i], all.high[i], all.low[i], all.close[i], all.volume[i]),
             &err);
  tml_candles_release(&all);
  struct tml_dataset_opts o;
  memset(&o, 0, sizeof(o));
  o.features.base_interval_ms = TML_MS_PER_HOUR;
  tml_label_spec_default(&o.labels);
  o.from_ms = INT64_MIN;
  CHECK_OK(tml_dataset_build(&c, 1, &o, d, &err), &err);
  tml_candles_release(&c);
  CHECK_MSG(d->nrows > TEST_END, "only %zu rows", d->nrows);
}

struct fold {
  size_t rows[STOP_END];
  size_t nfit, nstop;
  struct tml_label_thresholds th;
};

static void make_fold(const struct tml_dataset *d, struct fold *f) {
  struct tml_error err;
  tml_error_init(&err);
  f->nfit = f->nstop = 0;
  for (size_t r = 0; r < FIT_END; r++)
    f->rows[f->nfit++] = r;
  for (size_t r = STOP_BEGIN; r < STOP_END; r++)
    f->rows[f->nfit + f->nstop++] = r;
  struct tml_label_spec spec;
  tml_label_spec_default(&spec);
  struct tml_range fit = {0, FIT_END};
  CHECK_OK(tml_labels_fit(d->fwd_return, d->fwd_vol, d->timing, &fit, 1, &spec, &f->th, &err), &err);
}

/* Small budgets for the strategies that read their own keys (rl: a few thousand environment steps
 * instead of the 300k default), loaded once per test process. */
static struct tml_config *small_cfg;
static void free_small_cfg(void) { tml_config_free(small_cfg); }
static const struct tml_config *small_config(void) {
  if (small_cfg)
    return small_cfg;
  struct tml_error err;
  tml_error_init(&err);
  char *home = tml_test_tmpdir("strategy_small_cfg");
  CHECK_OK(tml_config_load(NULL, home, &small_cfg, &err), &err);
  free(home);
  atexit(free_small_cfg);
  const char *kv[][2] = {{"ensemble.inner_folds", "2"}, {"lstm.epochs", "3"}, {"lstm.hidden_size", "12"}, {"lstm.sequence_length", "16"},
                         {"rl.total_steps", "4096"}, {"rl.hidden", "16"}, {"rl.n_envs", "4"},
                         {"rl.rollout_steps", "128"}, {"rl.minibatch", "128"}, {"rl.episode_candles", "256"}};
  for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
    CHECK_OK(tml_config_set(small_cfg, kv[i][0], kv[i][1], TML_CFG_FLAG, "--test", &err), &err);
  return small_cfg;
}

static void small_params(struct tml_strategy_params *p) {
  memset(p, 0, sizeof(*p));
  p->cfg = small_config();
  tml_xgb_params_default(&p->xgb);
  p->xgb.num_boost_round = 30;
  p->xgb.early_stopping_rounds = 8;
  p->xgb.max_depth = 3;
  p->xgb.max_bin = 32;
  p->threads = 2;
}

static struct tml_strategy_model *fit(const struct tml_strategy *s, const struct tml_dataset *d, const struct fold *f,
                                      const struct tml_strategy_params *p) {
  struct tml_strategy_fit_data fd = {.d = d, .rows = f->rows, .nfit = f->nfit, .nstop = f->nstop, .thresholds = &f->th,
                                     .horizon = 12};
  struct tml_strategy_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_strategy_fit(s, &fd, p, &m, &err), &err);
  return m;
}

/* Predictions of rows r (all heads), one buffer per head; free with free_pred. */
static void predict(const struct tml_strategy_model *m, const struct tml_dataset *d, struct tml_range r,
                    float *out[TML_HEAD_COUNT]) {
  struct tml_error err;
  tml_error_init(&err);
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    out[h] = malloc((r.end - r.begin) * tml_strategy_head_width((enum tml_head)h) * sizeof(float));
  CHECK_OK(m->strategy->predict(m->impl, d, r, out, &err), &err);
}

static void free_pred(float *out[TML_HEAD_COUNT]) {
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(out[h]);
}

static void check_same(const char *what, const char *strategy, float *a[TML_HEAD_COUNT], float *b[TML_HEAD_COUNT],
                       size_t n) {
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    size_t w = tml_strategy_head_width((enum tml_head)h);
    for (size_t i = 0; i < n * w; i++)
      CHECK_MSG(memcmp(&a[h][i], &b[h][i], sizeof(float)) == 0, "%s: %s head %s value %zu: %.9g vs %.9g", strategy,
                what, tml_head_name((enum tml_head)h), i, (double)a[h][i], (double)b[h][i]);
  }
}

/* Which sets train native models (and so record the native engine's own parameters): the set's
 * engine, or an ensemble member's NAME:native. */
TEST(trains_engine_reads_the_engine_and_ensemble_members) {
  struct tml_config *cfg = NULL;
  struct tml_error err;
  tml_error_init(&err);
  char *home = tml_test_tmpdir("strategy_trains_engine");
  CHECK_OK(tml_config_load(NULL, home, &cfg, &err), &err);
  CHECK(!tml_strategy_trains_engine(NULL, NULL, cfg, "native"));
  CHECK(tml_strategy_trains_engine(NULL, NULL, cfg, "xgboost"));
  CHECK(tml_strategy_trains_engine("xgb5", "native", cfg, "native"));
  CHECK(!tml_strategy_trains_engine("ensemble", "xgboost", cfg, "native")); /* default members xgb5,lstm */
  CHECK_OK(tml_config_set(cfg, "ensemble.members", "xgb5, xgb5:native ", TML_CFG_FLAG, "--test", &err), &err);
  CHECK(tml_strategy_trains_engine("ensemble", NULL, cfg, "native"));
  CHECK(!tml_strategy_trains_engine("xgb5", NULL, cfg, "native")); /* members are the ensemble's only */
  CHECK_OK(tml_config_set(cfg, "ensemble.members", "xgb5:xgboost,lstm", TML_CFG_FLAG, "--test", &err), &err);
  CHECK(!tml_strategy_trains_engine("ensemble", NULL, cfg, "native"));
  CHECK_OK(tml_config_set(cfg, "ensemble.members", "lstm , xgb5 : native", TML_CFG_FLAG, "--test", &err), &err);
  CHECK(tml_strategy_trains_engine("ensemble", NULL, cfg, "native")); /* spaces around the colon too */
  tml_config_free(cfg);
  free(home);
}

/* ensemble.members: white space around names and engines is read past; an empty member or an
 * empty engine is refused with its position; a list too long to read whole is refused with its
 * length, not cut short (which could drop or rename the last member). */
TEST(ensemble_members_spaces_and_length) {
  struct tml_config *cfg = NULL;
  struct tml_error err;
  tml_error_init(&err);
  char *home = tml_test_tmpdir("strategy_members");
  CHECK_OK(tml_config_load(NULL, home, &cfg, &err), &err);
  struct tml_strategy_params p = {.cfg = cfg, .threads = 1};
  tml_xgb_params_default(&p.xgb);
  struct tml_strategy_needs needs;
  CHECK_OK(tml_config_set(cfg, "ensemble.members", " xgb5 : native ,lstm ", TML_CFG_FLAG, "--test", &err), &err);
  CHECK_OK(tml_strategy_ensemble.needs(&p, &needs, &err), &err);
  char long_list[400] = "xgb5";
  while (strlen(long_list) < 300)
    strcat(long_list, ", lstm");
  CHECK_OK(tml_config_set(cfg, "ensemble.members", "xgb5,\tlstm", TML_CFG_FLAG, "--test", &err), &err);
  CHECK_OK(tml_strategy_ensemble.needs(&p, &needs, &err), &err); /* a tab is white space too */
  /* refusals: a list too long, an unknown engine, empty members wherever they are, an engine left
   * out after its colon */
  const struct {
    const char *list, *want;
  } bad[] = {{long_list, "ensemble.members is 304 characters long"},
             {"xgb5 : natve", "unknown training engine 'natve'"},
             {"xgb5,,lstm", "member 2 is empty"},
             {"xgb5,", "member 2 is empty"},
             {",xgb5", "member 1 is empty"},
             {":", "member 1 is empty"},
             {"xgb5, :native", "member 2 is empty"},
             {"lstm,xgb5:", "member 2 names no engine after its colon; write xgb5:native"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    tml_error_init(&err); /* the first error set is kept: start each refusal afresh */
    CHECK_OK(tml_config_set(cfg, "ensemble.members", bad[i].list, TML_CFG_FLAG, "--test", &err), &err);
    CHECK_INT(tml_strategy_ensemble.needs(&p, &needs, &err), TML_EINVAL);
    CHECK_CONTAINS(err.msg, bad[i].want);
    CHECK(!tml_strategy_trains_engine("ensemble", NULL, cfg, "native")); /* a refused list trains nothing */
  }
  tml_config_free(cfg);
  free(home);
}

TEST(lookup_refuses_unknown_names_listing_known) {
  const struct tml_strategy *s = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_strategy_lookup("lstm-typo", &s, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "unknown strategy 'lstm-typo'");
  for (size_t i = 0; i < tml_strategy_count(); i++)
    CHECK_CONTAINS(err.msg, tml_strategy_at(i)->name);
  CHECK(tml_strategy_count() >= 2);
  CHECK_OK(tml_strategy_lookup("xgb5", &s, &err), &err);
  CHECK(s == &tml_strategy_xgb5);
  CHECK_OK(tml_strategy_lookup("ensemble", &s, &err), &err);
  CHECK(s == &tml_strategy_ensemble);
  CHECK(tml_strategy_at(tml_strategy_count()) == NULL);
}

/* Every strategy: the model fitted on a dataset whose non-training targets and post-training features
 * are garbage predicts exactly as the model fitted on the clean dataset. */
TEST(every_strategy_fit_reads_only_training_rows) {
  struct tml_dataset d;
  load_dataset(&d);
  struct fold f;
  make_fold(&d, &f);
  struct tml_dataset p = d;
  size_t n = d.nrows;
  double *cols[5];
  double *src[5] = {d.fwd_return, d.fwd_vol, d.timing, d.stop_loss_pct, d.position_size};
  for (int c = 0; c < 5; c++) {
    cols[c] = malloc(n * sizeof(double));
    memcpy(cols[c], src[c], n * sizeof(double));
  }
  p.X = malloc(n * d.ncols * sizeof(float));
  memcpy(p.X, d.X, n * d.ncols * sizeof(float));
  bool *train = calloc(n, sizeof(bool));
  for (size_t i = 0; i < f.nfit + f.nstop; i++)
    train[f.rows[i]] = true;
  for (size_t r = 0; r < n; r++) {
    if (!train[r])
      for (int c = 0; c < 5; c++)
        cols[c][r] = c == 2 ? (double)(r % 3) : (r % 2 ? 1.0 : -1.0) * (double)(r % 7); /* poison */
    if (r >= STOP_END)
      for (size_t j = 0; j < d.ncols; j++)
        p.X[r * d.ncols + j] = (float)((r * 31 + j) % 17) - 8.0f;
  }
  p.fwd_return = cols[0], p.fwd_vol = cols[1], p.timing = cols[2], p.stop_loss_pct = cols[3], p.position_size = cols[4];
  struct tml_strategy_params params;
  small_params(&params);
  for (size_t i = 0; i < tml_strategy_count(); i++) {
    const struct tml_strategy *s = tml_strategy_at(i);
    struct tml_strategy_model *clean = fit(s, &d, &f, &params), *poisoned = fit(s, &p, &f, &params);
    float *a[TML_HEAD_COUNT], *b[TML_HEAD_COUNT];
    struct tml_range test = {TEST_BEGIN, TEST_END};
    predict(clean, &d, test, a);
    predict(poisoned, &d, test, b);
    check_same("poisoned non-training rows", s->name, a, b, test.end - test.begin);
    printf("%s: identical predictions with every non-training row poisoned\n", s->name);
    free_pred(a);
    free_pred(b);
    tml_strategy_model_free(clean);
    tml_strategy_model_free(poisoned);
  }
  for (int c = 0; c < 5; c++)
    free(cols[c]);
  free(p.X);
  free(train);
  tml_dataset_release(&d);
}

/* Every strategy: predicting a row reads no later row (the dataset cut after it gives the same
 * values), and streaming the rows one by one equals the batch prediction to the last bit. */
TEST(every_strategy_prefix_invariant_and_stream_equals_batch) {
  struct tml_dataset d;
  load_dataset(&d);
  struct fold f;
  make_fold(&d, &f);
  struct tml_strategy_params params;
  small_params(&params);
  struct tml_error err;
  tml_error_init(&err);
  for (size_t i = 0; i < tml_strategy_count(); i++) {
    const struct tml_strategy *s = tml_strategy_at(i);
    struct tml_strategy_model *m = fit(s, &d, &f, &params);
    struct tml_range test = {TEST_BEGIN, TEST_END};
    float *full[TML_HEAD_COUNT], *cut[TML_HEAD_COUNT];
    predict(m, &d, test, full);
    struct tml_dataset prefix = d;
    prefix.nrows = TEST_END; /* rows after the last predicted one do not exist */
    predict(m, &prefix, test, cut);
    check_same("prefix", s->name, full, cut, test.end - test.begin);
    /* Stream every row from the first; predict the test rows. */
    void *state = NULL;
    CHECK_OK(s->stream_open(m->impl, &state, &err), &err);
    for (size_t r = 0; r < TEST_END; r++) {
      float out[TML_HEAD_COUNT][TML_MAX_CLASSES];
      bool want = r >= TEST_BEGIN;
      CHECK_OK(s->stream_step(state, d.X + r * d.ncols, want ? out : NULL, &err), &err);
      for (int h = 0; want && h < TML_HEAD_COUNT; h++) {
        size_t w = tml_strategy_head_width((enum tml_head)h);
        for (size_t c = 0; c < w; c++)
          CHECK_MSG(memcmp(&out[h][c], &full[h][(r - TEST_BEGIN) * w + c], sizeof(float)) == 0,
                    "%s: stream row %zu head %s: %.9g vs batch %.9g", s->name, r, tml_head_name((enum tml_head)h),
                    (double)out[h][c], (double)full[h][(r - TEST_BEGIN) * w + c]);
      }
    }
    s->stream_close(state);
    printf("%s: prefix-invariant; stream equals batch on %zu rows\n", s->name, test.end - test.begin);
    free_pred(full);
    free_pred(cut);
    tml_strategy_model_free(m);
  }
  tml_dataset_release(&d);
}

static void truncate_file(const char *path) {
  size_t len = 0;
  char *text = tml_test_read_file(path, &len);
  CHECK_MSG(text && len > 10, "cannot read %s", path);
  FILE *fp = fopen(path, "wb");
  CHECK(fp);
  fwrite(text, 1, len / 2, fp);
  fclose(fp);
  free(text);
}

/* Every strategy: saved and loaded it predicts the same bytes; other strategies refuse its folder;
 * a truncated file is refused naming it. */
TEST(every_strategy_save_load_and_refusals) {
  struct tml_dataset d;
  load_dataset(&d);
  struct fold f;
  make_fold(&d, &f);
  struct tml_strategy_params params;
  small_params(&params);
  struct tml_error err;
  char *root = tml_test_tmpdir("strategy_save_load");
  for (size_t i = 0; i < tml_strategy_count(); i++) {
    const struct tml_strategy *s = tml_strategy_at(i);
    struct tml_strategy_model *m = fit(s, &d, &f, &params), *back = NULL;
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/%s", root, s->name);
    tml_error_init(&err);
    CHECK_OK(tml_mkdir_p(dir, &err), &err);
    CHECK_OK(s->save(m->impl, dir, &d, &err), &err);
    struct tml_strategy_load_info info = {.metadata = "{}", .engine = NULL, .ncols = d.ncols};
    CHECK_OK(tml_strategy_model_load(s, dir, &info, &back, &err), &err);
    float *a[TML_HEAD_COUNT], *b[TML_HEAD_COUNT];
    struct tml_range test = {TEST_BEGIN, TEST_END};
    predict(m, &d, test, a);
    predict(back, &d, test, b);
    check_same("save/load", s->name, a, b, test.end - test.begin);
    free_pred(a);
    free_pred(b);
    tml_strategy_model_free(back);
    /* Loaded as any other strategy: refused, never a crash. */
    for (size_t j = 0; j < tml_strategy_count(); j++) {
      const struct tml_strategy *o = tml_strategy_at(j);
      if (o == s)
        continue;
      struct tml_strategy_model *x = NULL;
      tml_error_init(&err);
      CHECK_INT(tml_strategy_model_load(o, dir, &info, &x, &err), TML_EMODEL);
      CHECK(x == NULL);
      CHECK_CONTAINS(err.msg, dir);
      printf("%s folder loaded as %s: %s\n", s->name, o->name, err.msg);
    }
    /* A model for other columns: refused. */
    struct tml_strategy_load_info wrong = info;
    wrong.ncols = d.ncols + 1;
    tml_error_init(&err);
    CHECK_INT(tml_strategy_model_load(s, dir, &wrong, &back, &err), TML_EMODEL);
    CHECK_CONTAINS(err.msg, "columns");
    tml_strategy_model_free(m);
  }
  /* Truncated files: the xgb5 direction head, the ensemble's description and a member's head. */
  const char *damaged[][2] = {{"xgb5", "direction_model.json"},
                              {"ensemble", "members/1-xgb5/timing_model.json"},
                              {"ensemble", "ensemble.json"},
                              {"lstm", "lstm_model.bin"}};
  for (size_t k = 0; k < sizeof(damaged) / sizeof(damaged[0]); k++) {
    const struct tml_strategy *s = NULL;
    CHECK_OK(tml_strategy_lookup(damaged[k][0], &s, &err), &err);
    char dir[4200], path[4300];
    snprintf(dir, sizeof(dir), "%s/%s", root, damaged[k][0]);
    snprintf(path, sizeof(path), "%s/%s", dir, damaged[k][1]);
    truncate_file(path);
    struct tml_strategy_load_info info = {.metadata = "{}", .engine = NULL, .ncols = d.ncols};
    struct tml_strategy_model *x = NULL;
    tml_error_init(&err);
    CHECK_INT(tml_strategy_model_load(s, dir, &info, &x, &err), TML_EMODEL);
    CHECK_CONTAINS(err.msg, damaged[k][1]);
    printf("truncated %s: %s\n", damaged[k][1], err.msg);
  }
  free(root);
  tml_dataset_release(&d);
}

/* Saves xgb5 model m into root/name and returns the bytes of its head files, concatenated. */
static char *saved_heads(const struct tml_strategy_model *m, const struct tml_dataset *d, const char *root,
                         const char *name, size_t *len) {
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/%s", root, name);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_mkdir_p(dir, &err), &err);
  CHECK_OK(m->strategy->save(m->impl, dir, d, &err), &err);
  struct tml_buf all;
  tml_buf_init(&all, 0);
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s_model.json", dir, tml_head_name((enum tml_head)h));
    char *data = NULL;
    size_t n = 0;
    CHECK_OK(tml_read_file(path, &data, &n, &err), &err);
    tml_buf_append(&all, data, n);
    free(data);
  }
  return tml_buf_detach(&all, len);
}

/* xgb5 on the native engine with 2 or more threads: the fit's workers train heads, and a worker with
 * no head left to start grows class trees of the heads still training. On one thread the heads train
 * together (the engine's train_heads: rounds in lockstep, one root pass for all of them). The head
 * files must be those of one thread, byte for byte (trees, gains, covers: also what no prediction
 * reads). */
TEST(xgb5_native_same_models_for_every_thread_count) {
  struct tml_dataset d;
  load_dataset(&d);
  struct fold f;
  make_fold(&d, &f);
  struct tml_strategy_params p;
  small_params(&p);
  p.engine = "native";
  p.xgb.num_boost_round = 60;
  p.xgb.early_stopping_rounds = 0; /* every head grows all its rounds: long enough for helpers to join */
  char *root = tml_test_tmpdir("strategy_native_threads");
  p.threads = 1;
  struct tml_strategy_model *m = fit(&tml_strategy_xgb5, &d, &f, &p);
  size_t nref = 0;
  char *ref = saved_heads(m, &d, root, "t1", &nref);
  tml_strategy_model_free(m);
  static const int threads[] = {2, 3, 5};
  for (size_t i = 0; i < sizeof threads / sizeof *threads; i++) {
    p.threads = threads[i];
    m = fit(&tml_strategy_xgb5, &d, &f, &p);
    char name[16];
    snprintf(name, sizeof name, "t%d", threads[i]);
    size_t n = 0;
    char *got = saved_heads(m, &d, root, name, &n);
    tml_strategy_model_free(m);
    CHECK_MSG(n == nref && memcmp(got, ref, n) == 0, "%d threads: the head files differ from one thread's",
              threads[i]);
    free(got);
  }
  free(ref);
  free(root);
  tml_dataset_release(&d);
}

/* The cache: the same (strategy, engine, rows, heads) is fitted once, also when the ensemble needs
 * it as a member; another engine or other rows are another fit. */
TEST(cache_fits_a_fold_once) {
  struct tml_dataset d;
  load_dataset(&d);
  struct fold f;
  make_fold(&d, &f);
  struct tml_strategy_params params;
  small_params(&params);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_strategy_cache_create(&params.cache, &err), &err);
  struct tml_strategy_fit_data fd = {.d = &d, .rows = f.rows, .nfit = f.nfit, .nstop = f.nstop, .thresholds = &f.th,
                                     .horizon = 12, .cache_key = "fold 1"};
  struct tml_strategy_model *a = NULL, *b = NULL, *e = NULL;
  CHECK_OK(tml_strategy_fit(&tml_strategy_xgb5, &fd, &params, &a, &err), &err);
  CHECK_OK(tml_strategy_fit(&tml_strategy_xgb5, &fd, &params, &b, &err), &err);
  CHECK(a == b);
  CHECK_INT(tml_strategy_cache_fits(params.cache, "xgb5"), 1);
  struct tml_strategy_model *l = NULL;
  CHECK_OK(tml_strategy_fit(&tml_strategy_lstm, &fd, &params, &l, &err), &err);
  CHECK_INT(tml_strategy_cache_fits(params.cache, "lstm"), 1);
  CHECK_OK(tml_strategy_fit(&tml_strategy_ensemble, &fd, &params, &e, &err), &err);
  /* The ensemble's default members (xgb5, lstm) both came from the cache: no new fit of either. */
  CHECK_INT(tml_strategy_cache_fits(params.cache, "xgb5"), 1);
  CHECK_INT(tml_strategy_cache_fits(params.cache, "lstm"), 1);
  CHECK_INT(tml_strategy_cache_fits(params.cache, "ensemble"), 1);
  /* Another engine is another fit of the same rows. */
  struct tml_strategy_model *nat = NULL;
  struct tml_strategy_params np = params;
  np.engine = "native";
  CHECK_OK(tml_strategy_fit(&tml_strategy_xgb5, &fd, &np, &nat, &err), &err);
  CHECK_INT(tml_strategy_cache_fits(params.cache, "xgb5"), 2);
  tml_strategy_model_free(a);
  tml_strategy_model_free(b);
  tml_strategy_model_free(e);
  tml_strategy_model_free(l);
  tml_strategy_model_free(nat);
  tml_strategy_cache_destroy(params.cache);
  tml_dataset_release(&d);
}
