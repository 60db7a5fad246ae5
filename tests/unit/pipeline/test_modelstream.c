/* The model stream is the one prediction path: pushing candles one by one must give, bit for bit,
 * what tml_predict_latest computes from the store for the same candle (real Bybit candles). */
#include "test.h"
#include "trademl/error.h"
#include "trademl/modelstream.h"
#include "trademl/predict.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "trademl/train.h"

#define BTC_15M "bybit-linear/BTC_USDT_USDT-15m-futures.csv"
#define NCANDLES 3200
#define NSTREAM 120 /* candles pushed one by one after opening */

struct fixture {
  char *dir;
  struct tml_store *store;
  struct tml_candles c;
  struct tml_modelset *m;
};

/* Stores the first NCANDLES candles of BTCUSDT 15m and trains a tiny model set on all but the last
 * NSTREAM (so the pushed candles are after the training data, as live). */
static void fixture_open(struct fixture *f, const char *name) {
  struct tml_error err;
  tml_error_init(&err);
  char *csv = tml_test_data_file(BTC_15M);
  f->dir = tml_test_tmpdir(name);
  tml_test_load_candles(csv, "BTCUSDT", NCANDLES, &f->c);
  free(csv);
  CHECK_INT(f->c.len, NCANDLES);
  char db[4200], models[4200];
  snprintf(db, sizeof(db), "%s/t.db", f->dir);
  snprintf(models, sizeof(models), "%s/models", f->dir);
  CHECK_OK(tml_store_open(db, &f->store, &err), &err);
  struct tml_candles head;
  CHECK_OK(tml_candles_slice(&f->c, 0, NCANDLES - NSTREAM, &head), &err);
  CHECK_OK(tml_store_put(f->store, &head, false, NULL, &err), &err);
  tml_candles_release(&head);
  struct tml_train_opts o;
  tml_train_opts_default(&o);
  o.symbols[0] = "BTCUSDT";
  o.nsymbols = 1;
  o.interval_ms = f->c.interval_ms;
  o.models_dir = models;
  o.strategy = "xgb5";
  o.xgb.num_boost_round = 8;
  o.threads = 1;
  struct tml_train_result r;
  CHECK_OK(tml_train_run(f->store, &o, &r, &err), &err);
  CHECK_OK(tml_modelset_load(r.model_dir, &f->m, &err), &err);
  tml_train_result_release(&r);
}

static void fixture_close(struct fixture *f) {
  tml_modelset_free(f->m);
  tml_store_close(f->store);
  tml_candles_release(&f->c);
  free(f->dir);
}

static void check_same(const struct tml_prediction *a, const struct tml_prediction *b, size_t i) {
  CHECK_MSG(a->candle_ms == b->candle_ms, "candle %zu: candle_ms %lld vs %lld", i, (long long)a->candle_ms,
            (long long)b->candle_ms);
  CHECK_MSG(memcmp(a->proba, b->proba, sizeof(a->proba)) == 0, "candle %zu: class probabilities differ", i);
  CHECK_MSG(memcmp(a->cls, b->cls, sizeof(a->cls)) == 0, "candle %zu: classes differ", i);
  CHECK_MSG(memcmp(a->value, b->value, sizeof(a->value)) == 0, "candle %zu: regression values differ", i);
}

TEST(push_equals_predict_latest_bitwise) {
  struct fixture f;
  fixture_open(&f, "modelstream_bitwise");
  struct tml_error err;
  tml_error_init(&err);
  int64_t iv = f.c.interval_ms;
  size_t first = NCANDLES - NSTREAM;
  /* Open at the close of the last stored candle: its prediction is the stream's latest. */
  struct tml_model_stream *s = NULL;
  CHECK_OK(tml_model_stream_open(f.store, f.m, "BTCUSDT", f.c.open_time[first - 1] + iv, &s, &err), &err);
  CHECK_INT(tml_model_stream_last_ms(s), f.c.open_time[first - 1]);
  CHECK_INT(tml_model_stream_candles(s), first);
  struct tml_prediction ps, pl;
  CHECK_OK(tml_model_stream_latest(s, &ps, &err), &err);
  CHECK_OK(tml_predict_latest(f.store, f.m, "BTCUSDT", f.c.open_time[first - 1] + iv, &pl, &err), &err);
  check_same(&ps, &pl, first - 1);
  size_t differ = 0; /* consecutive predictions must not all be equal (the check would be vacuous) */
  for (size_t i = first; i < NCANDLES; i++) {
    struct tml_candles one;
    CHECK_OK(tml_candles_slice(&f.c, i, i + 1, &one), &err);
    CHECK_OK(tml_store_put(f.store, &one, false, NULL, &err), &err);
    tml_candles_release(&one);
    bool ready = false;
    struct tml_prediction prev = ps;
    CHECK_OK(tml_model_stream_push(s, f.c.open_time[i], f.c.open[i], f.c.high[i], f.c.low[i], f.c.close[i],
                                   f.c.volume[i], &ps, &ready, &err), &err);
    CHECK(ready);
    /* A still-open candle must not count: predict_latest half an interval before the close sees i-1. */
    CHECK_OK(tml_predict_latest(f.store, f.m, "BTCUSDT", f.c.open_time[i] + iv - 1, &pl, &err), &err);
    check_same(&prev, &pl, i - 1);
    CHECK_OK(tml_predict_latest(f.store, f.m, "BTCUSDT", f.c.open_time[i] + iv, &pl, &err), &err);
    check_same(&ps, &pl, i);
    if (memcmp(prev.value, ps.value, sizeof(ps.value)) != 0 || memcmp(prev.proba, ps.proba, sizeof(ps.proba)) != 0)
      differ++;
  }
  CHECK_MSG(differ > NSTREAM / 2, "only %zu of %d pushes changed the prediction", differ, NSTREAM);
  tml_model_stream_close(s);
  fixture_close(&f);
}

TEST(push_refuses_old_and_bad_candles) {
  struct fixture f;
  fixture_open(&f, "modelstream_refuse");
  struct tml_error err;
  tml_error_init(&err);
  int64_t iv = f.c.interval_ms;
  size_t first = NCANDLES - NSTREAM;
  struct tml_model_stream *s = NULL;
  CHECK_OK(tml_model_stream_open(f.store, f.m, "BTCUSDT", INT64_MAX, &s, &err), &err);
  struct tml_prediction before, p;
  CHECK_OK(tml_model_stream_latest(s, &before, &err), &err);
  bool ready = true;
  /* The same candle again: refused, state unchanged. */
  size_t k = first - 1;
  CHECK_INT(tml_model_stream_push(s, f.c.open_time[k], f.c.open[k], f.c.high[k], f.c.low[k], f.c.close[k],
                                  f.c.volume[k], &p, &ready, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "is not after the last one streamed");
  CHECK(!ready);
  tml_error_init(&err);
  CHECK_INT(tml_model_stream_push(s, f.c.open_time[first], NAN, 1, 1, 1, 1, &p, &ready, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "is unusable");
  CHECK_INT(tml_model_stream_last_ms(s), f.c.open_time[k]);
  CHECK_OK(tml_model_stream_latest(s, &p, &err), &err);
  check_same(&p, &before, k);
  tml_model_stream_close(s);
  /* A symbol the set was not trained on. */
  tml_error_init(&err);
  CHECK_INT(tml_model_stream_open(f.store, f.m, "ETHUSDT", INT64_MAX, &s, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "was not trained on ETHUSDT");
  CHECK(s == NULL);
  tml_error_init(&err);
  /* Too little history: the stream opens, latest says how much is missing, pushes complete it. */
  CHECK_OK(tml_model_stream_open(f.store, f.m, "BTCUSDT", f.c.open_time[9] + iv, &s, &err), &err);
  CHECK_INT(tml_model_stream_candles(s), 10);
  CHECK_INT(tml_model_stream_latest(s, &p, &err), TML_EDATA);
  CHECK_CONTAINS(err.msg, "BTCUSDT has 10 closed 15m candles, fewer than the");
  size_t i = 10;
  for (ready = false; !ready && i < first; i++)
    CHECK_OK(tml_model_stream_push(s, f.c.open_time[i], f.c.open[i], f.c.high[i], f.c.low[i], f.c.close[i],
                                   f.c.volume[i], &p, &ready, &err), &err);
  CHECK(ready);
  struct tml_prediction pl;
  CHECK_OK(tml_predict_latest(f.store, f.m, "BTCUSDT", f.c.open_time[i - 1] + iv, &pl, &err), &err);
  check_same(&p, &pl, i - 1);
  tml_model_stream_close(s);
  fixture_close(&f);
}
