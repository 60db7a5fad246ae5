#include "test.h"
#include "trademl/dataset.h"
#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/series.h"
#include "trademl/timeutil.h"

static void build(const char *rel, const char *symbol, size_t rows, struct tml_candles *c) {
  char *path = tml_test_data_file(rel);
  tml_test_load_candles(path, symbol, rows, c);
  free(path);
}

static void opts_default(struct tml_dataset_opts *o) {
  memset(o, 0, sizeof(*o));
  tml_label_spec_default(&o->labels);
  o->encoding = TML_ENC_ONE_HOT;
  o->from_ms = INT64_MIN;
}

/* Every row of a one-symbol dataset is the features of its own candle (the dataset keeps the
 * feature matrix itself, its kept run moved to the start: dataset.c). */
static void check_rows_are_features(const struct tml_dataset *d, const struct tml_candles *c) {
  struct tml_features f;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_features_compute(c, NULL, &f, &err), &err);
  CHECK_INT(d->ncols, f.ncols);
  size_t first = 0; /* the candle of row 0 */
  while (first < c->len && c->open_time[first] != d->time[0])
    first++;
  CHECK(first < c->len && first >= f.first_index);
  for (size_t r = 0; r < d->nrows; r++) {
    size_t frow = first - f.first_index + r;
    CHECK_MSG(frow < f.nrows && memcmp(d->X + r * d->ncols, f.X + frow * f.ncols, f.ncols * sizeof(float)) == 0,
              "row %zu is not the features of candle %zu", r, first + r);
  }
  tml_features_release(&f);
}

TEST(split_purges_every_label_window) {
  struct tml_candles c;
  build("binance-spot/BTCUSDT_1h_2021-2026.csv", "BTCUSDT", 4000, &c);
  struct tml_dataset_opts o;
  opts_default(&o);
  struct tml_dataset d;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_dataset_build(&c, 1, &o, &d, &err), &err);
  /* Rows are the candles minus warm-up and the last horizon candles. */
  CHECK_INT(d.nrows + d.warmup_dropped + d.unlabelled, c.len);
  CHECK_INT(d.unlabelled, o.labels.horizon);
  check_rows_are_features(&d, &c); /* no window: the unlabelled last rows given back */
  for (int purge = o.labels.horizon; purge <= o.labels.horizon + 24; purge += 12) {
    struct tml_split s;
    CHECK_OK(tml_dataset_split(&d, 0.2, purge, &s, &err), &err);
    CHECK_INT(s.valid.end, d.nrows);
    CHECK_INT(s.train.begin, 0);
    CHECK_INT(s.valid.begin - s.train.end, purge); /* hourly candles without gaps here */
    CHECK(d.time[s.valid.begin] == s.valid_from_ms);
    for (size_t i = s.train.begin; i < s.train.end; i++) {
      /* the row's label reads candles t+1..t+h: all must open before the validation period */
      int64_t last_label_candle = d.time[i] + (int64_t)o.labels.horizon * d.interval_ms;
      CHECK_MSG(last_label_candle < s.valid_from_ms, "train row %zu label window reaches validation", i);
    }
    size_t expect_valid = d.nrows - (size_t)((double)d.nrows * 0.8);
    CHECK_INT(s.valid.end - s.valid.begin, expect_valid);
  }
  struct tml_split s;
  CHECK_INT(tml_dataset_split(&d, 1.5, 12, &s, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "test size 1.5 is out of range");
  tml_dataset_release(&d);
  tml_candles_release(&c);
}

TEST(multi_symbol_rows_time_ordered_with_encoding) {
  struct tml_candles c[2];
  build("binance-spot/BTCUSDT_1h_2021-2026.csv", "BTCUSDT", 3000, &c[0]);
  build("binance-spot/ETHUSDT_1h_2021-2026.csv", "ETHUSDT", 2500, &c[1]);
  struct tml_dataset_opts o;
  opts_default(&o);
  struct tml_error err;
  tml_error_init(&err);
  for (int enc = 0; enc < 2; enc++) {
    o.encoding = enc ? TML_ENC_INDEX : TML_ENC_ONE_HOT;
    struct tml_dataset d;
    CHECK_OK(tml_dataset_build(c, 2, &o, &d, &err), &err);
    CHECK_INT(d.ncols, d.nfeat + (enc ? 1 : 2));
    CHECK_STR(d.col_names[d.nfeat], enc ? "sym_index" : "sym_BTCUSDT");
    size_t per[2] = {0, 0};
    for (size_t r = 0; r < d.nrows; r++) {
      per[d.sym[r]]++;
      if (r)
        CHECK(d.time[r - 1] < d.time[r] || (d.time[r - 1] == d.time[r] && d.sym[r - 1] < d.sym[r]));
      const float *row = d.X + r * d.ncols;
      if (enc)
        CHECK(row[d.nfeat] == (float)d.sym[r]);
      else
        CHECK(row[d.nfeat + d.sym[r]] == 1.0f && row[d.nfeat + 1 - d.sym[r]] == 0.0f);
    }
    CHECK(per[0] > 2500 && per[1] > 2000);
    /* The split never puts one candle time on both sides. */
    struct tml_split s;
    CHECK_OK(tml_dataset_split(&d, 0.25, 12, &s, &err), &err);
    CHECK(s.valid.begin == 0 || d.time[s.valid.begin - 1] < d.time[s.valid.begin]);
    tml_dataset_release(&d);
  }
  /* Symbols of different intervals cannot share a dataset. */
  c[1].interval_ms = 15 * TML_MS_PER_MINUTE;
  struct tml_dataset d;
  CHECK_INT(tml_dataset_build(c, 2, &o, &d, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "symbols must share one interval");
  tml_candles_release(&c[0]);
  tml_candles_release(&c[1]);
}

/* With threads (a series' targets on a second thread, the feature matrix faulted in by a helper) the
 * dataset is the same bit for bit, and a label spec the targets refuse fails the build the same way. */
TEST(threads_give_the_same_dataset_and_errors) {
  struct tml_candles c;
  build("binance-spot/BTCUSDT_1h_2021-2026.csv", "BTCUSDT", 20000, &c); /* a matrix past 4 MiB */
  struct tml_dataset_opts o;
  opts_default(&o);
  struct tml_dataset one, two;
  struct tml_error err;
  tml_error_init(&err);
  o.threads = 1;
  CHECK_OK(tml_dataset_build(&c, 1, &o, &one, &err), &err);
  o.threads = 2;
  CHECK_OK(tml_dataset_build(&c, 1, &o, &two, &err), &err);
  CHECK_INT(two.nrows, one.nrows);
  CHECK_INT(two.warmup_dropped, one.warmup_dropped);
  CHECK_INT(two.unlabelled, one.unlabelled);
  CHECK_STR(two.input_hash, one.input_hash);
  CHECK(memcmp(two.X, one.X, one.nrows * one.ncols * sizeof(float)) == 0);
  CHECK(memcmp(two.fwd_return, one.fwd_return, one.nrows * sizeof(double)) == 0);
  CHECK(memcmp(two.position_size, one.position_size, one.nrows * sizeof(double)) == 0);
  tml_dataset_release(&one);
  tml_dataset_release(&two);
  for (int threads = 1; threads <= 2; threads++) {
    o.threads = threads;
    o.labels.horizon = 0;
    struct tml_dataset d;
    CHECK_INT(tml_dataset_build(&c, 1, &o, &d, &err), TML_EINVAL);
    CHECK_CONTAINS(err.msg, "BTCUSDT: label spec: horizon = 0 must be 1..100000 candles");
  }
  tml_candles_release(&c);
}

TEST(window_keeps_recent_rows_and_counts_the_rest) {
  struct tml_candles c;
  build("binance-spot/BTCUSDT_1h_2021-2026.csv", "BTCUSDT", 3000, &c);
  struct tml_dataset_opts o;
  opts_default(&o);
  o.from_ms = c.open_time[2000];
  struct tml_dataset d;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_dataset_build(&c, 1, &o, &d, &err), &err);
  CHECK(d.time[0] == c.open_time[2000]);
  CHECK_INT(d.nrows, 1000 - (size_t)o.labels.horizon);
  CHECK_INT(d.before_window, 2000 - d.warmup_dropped);
  check_rows_are_features(&d, &c); /* the kept run moved to the start */
  tml_dataset_release(&d);
  tml_candles_release(&c);
  /* A matrix past tml_alloc_large's threshold (4 MiB: huge-page aligned, then moved and shrunk) */
  build("binance-spot/BTCUSDT_1h_2021-2026.csv", "BTCUSDT", 20000, &c);
  o.from_ms = c.open_time[5000];
  CHECK_OK(tml_dataset_build(&c, 1, &o, &d, &err), &err);
  CHECK(c.len * d.ncols * sizeof(float) > ((size_t)4 << 20)); /* the features of all candles are past it */
  check_rows_are_features(&d, &c);
  tml_dataset_release(&d);
  tml_candles_release(&c);
}
