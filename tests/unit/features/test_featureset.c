#include "test.h"
#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/resample.h"
#include "trademl/series.h"
#include "trademl/timeutil.h"


#define BTC15 "binance-spot/BTCUSDT_15m_2023-2026.csv"
#define ETH1H "binance-spot/ETHUSDT_1h_2021-2026.csv"

static void load(const char *rel, size_t rows, struct tml_candles *c) {
  char *path = tml_test_data_file(rel);
  CHECK(tml_test_load_candles(path, "BENCH", rows, c) > 0);
  free(path);
}

TEST(columns_names_checksum) {
  CHECK_INT(tml_featureset_ncols(), 70);
  CHECK_INT(TML_FEATURESET_VERSION, 1);
  CHECK_STR(tml_featureset_name(0), "ret_log_1");
  CHECK_STR(tml_featureset_name(69), "htf_vol_cc_20");
  CHECK(tml_featureset_name(70) == NULL);
  for (size_t i = 0; i < 70; i++) {
    CHECK_INT(tml_featureset_index(tml_featureset_name(i)), (long long)i);
    for (size_t j = 0; j < i; j++)
      CHECK_MSG(strcmp(tml_featureset_name(i), tml_featureset_name(j)) != 0, "duplicate %s",
                tml_featureset_name(i));
  }
  CHECK_INT(tml_featureset_index("close"), -1);
  const char *sum = tml_featureset_checksum();
  CHECK_INT(strlen(sum), 16);
  CHECK_INT(strspn(sum, "0123456789abcdef"), 16);
  CHECK_STR(tml_featureset_checksum(), sum);
  /* The value is pinned: a change here means the definitions changed, which must go with
   * docs/features.md and (for a new set) TML_FEATURESET_VERSION. */
  CHECK_STR(sum, "45856493e47557ba");
}

TEST(docs_list_every_column) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/docs/features.md", TML_SOURCE_DIR);
  char *doc = tml_test_read_file(path, NULL);
  CHECK_MSG(doc != NULL, "cannot read %s", path);
  for (size_t i = 0; i < tml_featureset_ncols(); i++) {
    char needle[96];
    snprintf(needle, sizeof(needle), "| `%s` |", tml_featureset_name(i));
    CHECK_MSG(strstr(doc, needle) != NULL, "docs/features.md lacks a row for %s",
              tml_featureset_name(i));
  }
  CHECK_CONTAINS(doc, tml_featureset_checksum());
  free(doc);
}

TEST(default_htf_and_warmup) {
  CHECK_INT(tml_featureset_default_htf(5 * TML_MS_PER_MINUTE), TML_MS_PER_HOUR);
  CHECK_INT(tml_featureset_default_htf(15 * TML_MS_PER_MINUTE), TML_MS_PER_HOUR);
  CHECK_INT(tml_featureset_default_htf(TML_MS_PER_HOUR), 4 * TML_MS_PER_HOUR);
  CHECK_INT(tml_featureset_default_htf(4 * TML_MS_PER_HOUR), TML_MS_PER_DAY);
  CHECK_INT(tml_featureset_default_htf(TML_MS_PER_DAY), 7 * TML_MS_PER_DAY);
  CHECK_INT(tml_featureset_default_htf(7 * TML_MS_PER_DAY), 0);
  struct tml_featureset_opts o = {15 * TML_MS_PER_MINUTE, 0};
  CHECK_INT(tml_featureset_warmup(&o), 204); /* (50+1) hours of 4 candles */
  o.base_interval_ms = TML_MS_PER_HOUR;
  CHECK_INT(tml_featureset_warmup(&o), 204); /* (50+1) 4h buckets of 4 */
  o.base_interval_ms = 5 * TML_MS_PER_MINUTE;
  CHECK_INT(tml_featureset_warmup(&o), 612);
  o.htf_interval_ms = 7 * TML_MS_PER_MINUTE; /* not a multiple */
  CHECK_INT(tml_featureset_warmup(&o), 0);
}

TEST(bad_options_and_candles) {
  struct tml_error err;
  tml_error_init(&err);
  struct tml_feature_stream *s = NULL;
  struct tml_featureset_opts o = {15 * TML_MS_PER_MINUTE, 10 * TML_MS_PER_MINUTE};
  CHECK_INT(tml_feature_stream_create(&o, &s, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "higher interval");
  CHECK(s == NULL);
  o.htf_interval_ms = 0;
  tml_error_init(&err);
  CHECK_OK(tml_feature_stream_create(&o, &s, &err), &err);
  float row[70];
  bool ready = true;
  CHECK_INT(tml_feature_stream_push(s, 0, 1, 2, 0.5, 1, 10, row, &ready), 0);
  CHECK(!ready);
  CHECK_INT(tml_feature_stream_push(s, 0, 1, 2, 0.5, 1, 10, row, &ready), TML_EINVAL); /* same time */
  CHECK_INT(tml_feature_stream_push(s, 900000, 1, 2, -0.5, 1, 10, row, &ready), TML_EINVAL);
  CHECK_INT(tml_feature_stream_push(s, 900000, 1, 2, 0.5, NAN, 10, row, &ready), TML_EINVAL);
  CHECK_INT(tml_feature_stream_push(s, 900000, 1, 2, 0.5, 1, -1, row, &ready), TML_EINVAL);
  CHECK_INT(tml_feature_stream_push(s, 900000, 1, 2, 0.5, 1, 0, row, &ready), 0);
  tml_feature_stream_destroy(s);
  tml_feature_stream_destroy(NULL);

  /* batch: a bad candle is named; a short series says how much is needed */
  struct tml_candles c;
  load(BTC15, 300, &c);
  c.low[250] = 0;
  struct tml_features f;
  tml_error_init(&err);
  CHECK_INT(tml_features_compute(&c, NULL, &f, &err), TML_EDATA);
  CHECK_CONTAINS(err.msg, "candle 250 at 2023-01-03T14:30:00Z");
  CHECK(f.X == NULL && f.nrows == 0);
  c.len = 150;
  tml_error_init(&err);
  CHECK_INT(tml_features_compute(&c, NULL, &f, &err), TML_EDATA);
  CHECK_CONTAINS(err.msg, "150 candles do not cover the feature warm-up (up to 204 candles)");
  tml_features_release(&f);
  tml_candles_release(&c);
}

/* Every row complete and finite, warm-up within the bound, open times aligned. */
static void check_matrix(const struct tml_candles *c, const struct tml_features *f) {
  struct tml_featureset_opts o = {c->interval_ms, 0};
  CHECK_INT(f->ncols, 70);
  CHECK_INT(f->first_index, f->warmup_dropped);
  CHECK_MSG(f->first_index <= tml_featureset_warmup(&o), "first row %zu beyond the bound %zu",
            f->first_index, tml_featureset_warmup(&o));
  CHECK_INT(f->nrows + f->first_index, c->len);
  for (size_t r = 0; r < f->nrows; r++) {
    CHECK_INT(f->open_time[r], c->open_time[f->first_index + r]);
    for (size_t j = 0; j < f->ncols; j++)
      CHECK_MSG(isfinite(f->X[r * f->ncols + j]), "%s row %zu is not finite",
                tml_featureset_name(j), r);
  }
}

TEST(matrix_complete_btc_15m_and_eth_1h) {
  const char *files[2] = {BTC15, ETH1H};
  for (int k = 0; k < 2; k++) {
    struct tml_candles c;
    load(files[k], 30000, &c);
    struct tml_features f;
    struct tml_error err;
    tml_error_init(&err);
    CHECK_OK(tml_features_compute(&c, NULL, &f, &err), &err);
    check_matrix(&c, &f);
    printf("%s: %zu rows, warm-up %zu candles dropped\n", files[k], f.nrows, f.warmup_dropped);
    tml_features_release(&f);
    tml_candles_release(&c);
  }
}

/* Features of a prefix equal, bit for bit, those of the full series on the same candles. */
static void check_causal(const char *rel, size_t total, const size_t *cuts, size_t ncuts) {
  struct tml_candles c;
  load(rel, total, &c);
  struct tml_features full;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_features_compute(&c, NULL, &full, &err), &err);
  size_t len = c.len;
  for (size_t k = 0; k < ncuts; k++) {
    c.len = cuts[k];
    struct tml_features pre;
    CHECK_OK(tml_features_compute(&c, NULL, &pre, &err), &err);
    CHECK_INT(pre.first_index, full.first_index);
    CHECK_INT(pre.nrows, cuts[k] - full.first_index);
    CHECK_MSG(memcmp(pre.X, full.X, sizeof(float) * pre.nrows * pre.ncols) == 0,
              "%s: prefix of %zu candles differs from the full series", rel, cuts[k]);
    CHECK(memcmp(pre.open_time, full.open_time, sizeof(int64_t) * pre.nrows) == 0);
    tml_features_release(&pre);
  }
  c.len = len;
  tml_features_release(&full);
  tml_candles_release(&c);
}

TEST(causal_prefixes_btc_15m) {
  /* 15m in 1h buckets: cuts at every position within a bucket (…01, …02, …03, …04 candles). */
  const size_t cuts[] = {205, 1001, 1002, 1003, 1004, 7777, 15001, 24998, 24999};
  check_causal(BTC15, 25000, cuts, sizeof(cuts) / sizeof(cuts[0]));
}

TEST(causal_prefixes_eth_1h) {
  /* 1h in 4h buckets */
  const size_t cuts[] = {300, 2001, 2002, 2003, 9999, 14998};
  check_causal(ETH1H, 15000, cuts, sizeof(cuts) / sizeof(cuts[0]));
}

TEST(stream_equals_batch) {
  struct tml_candles c;
  load(BTC15, 3000, &c);
  struct tml_features f;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_features_compute(&c, NULL, &f, &err), &err);
  struct tml_featureset_opts o = {c.interval_ms, 0};
  struct tml_feature_stream *s;
  CHECK_OK(tml_feature_stream_create(&o, &s, &err), &err);
  float row[70];
  size_t ready_rows = 0;
  for (size_t i = 0; i < c.len; i++) {
    bool ready;
    CHECK_INT(tml_feature_stream_push(s, c.open_time[i], c.open[i], c.high[i], c.low[i],
                                      c.close[i], c.volume[i], row, &ready),
              0);
    CHECK_INT(ready, i >= f.first_index);
    if (ready) {
      CHECK_MSG(memcmp(row, f.X + (i - f.first_index) * 70, sizeof(row)) == 0,
                "stream row %zu differs from the batch", i);
      ready_rows++;
    }
  }
  CHECK_INT(ready_rows, f.nrows);
  tml_feature_stream_destroy(s);
  tml_features_release(&f);
  tml_candles_release(&c);
}

/* htf_ret_log_1 must be the log return of the last *closed* hourly candle, built by brute force
 * from the 15m candles: the hour of candle i counts only once its last quarter (…:45) is in. */
TEST(htf_uses_last_closed_bucket) {
  struct tml_candles c;
  load(BTC15, 4001, &c); /* starts at 00:00, so no partial first bucket */
  struct tml_features f;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_features_compute(&c, NULL, &f, &err), &err);
  long col = tml_featureset_index("htf_ret_log_1");
  CHECK(col >= 0);
  size_t checked = 0;
  for (size_t r = 0; r < f.nrows; r++) {
    size_t i = f.first_index + r;
    int64_t hour = tml_time_floor(c.open_time[i], TML_MS_PER_HOUR);
    bool closed = c.open_time[i] + c.interval_ms >= hour + TML_MS_PER_HOUR;
    int64_t last_closed = closed ? hour : hour - TML_MS_PER_HOUR;
    /* close of an hour = close of its last 15m candle (no gaps in this stretch) */
    size_t a = tml_candles_lower_bound(&c, last_closed + TML_MS_PER_HOUR) - 1;
    size_t b = tml_candles_lower_bound(&c, last_closed) - 1;
    CHECK_INT(tml_time_floor(c.open_time[a], TML_MS_PER_HOUR), last_closed);
    double expect = log(c.close[a]) - log(c.close[b]);
    CHECK_MSG(f.X[r * 70 + (size_t)col] == (float)expect,
              "row %zu (%lld): htf_ret_log_1 %.9g, expected %.9g", r, (long long)c.open_time[i],
              (double)f.X[r * 70 + (size_t)col], expect);
    checked++;
  }
  CHECK(checked > 3000);
  tml_features_release(&f);
  tml_candles_release(&c);
}

TEST(gaps_continue_and_partial_first_bucket) {
  /* Start mid-hour (skipped first bucket) and remove candles to make gaps, inside a bucket and
   * across several buckets: every row after the warm-up is still complete. */
  struct tml_candles full, c;
  load(BTC15, 3000, &full);
  tml_candles_init(&c, "GAPPY", full.interval_ms);
  for (size_t i = 2; i < full.len; i++) {
    if ((i >= 700 && i < 703) || (i >= 1500 && i < 1530) || i % 97 == 0)
      continue;
    tml_candles_push(&c, full.open_time[i], full.open[i], full.high[i], full.low[i], full.close[i],
                     full.volume[i]);
  }
  struct tml_features f;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_features_compute(&c, NULL, &f, &err), &err);
  check_matrix(&c, &f);
  tml_features_release(&f);
  tml_candles_release(&c);
  tml_candles_release(&full);
}

/* --days-1h: stored 1h candles as context before the first 15m candle. Where both exist the
 * higher-timeframe columns equal, bit for bit, those built from the full 15m history (the stored
 * 1h candles here are the resampled 15m ones); context candles that close after the first base
 * candle are never used (no look-ahead); without context the same columns differ (it matters). */
TEST(htf_context_equals_resampled_base_where_both_exist) {
  struct tml_candles c, h, part, ctx_before;
  load(BTC15, 25000, &c);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_resample(&c, TML_MS_PER_HOUR, INT64_MAX, &h, &err), &err);
  struct tml_features full, with_ctx, with_past_ctx, without;
  CHECK_OK(tml_features_compute(&c, NULL, &full, &err), &err);
  /* the base series starts at an hour boundary, 12000 candles (125 days) in */
  size_t k = 12000;
  while (c.open_time[k] % TML_MS_PER_HOUR != 0)
    k++;
  CHECK_OK(tml_candles_slice(&c, k, c.len, &part), &err);
  size_t used = 0, used2 = 0;
  CHECK_OK(tml_features_compute_ctx(&part, &h, NULL, 2, &with_ctx, &used, &err), &err);
  /* exactly the 1h candles that closed by the first 15m candle's open */
  size_t want = 0;
  while (want < h.len && h.open_time[want] + TML_MS_PER_HOUR <= part.open_time[0])
    want++;
  CHECK_INT(used, want);
  CHECK(want > 100);
  /* only the context before the base series: the same result (later candles are not read) */
  CHECK_OK(tml_candles_slice(&h, 0, want, &ctx_before), &err);
  CHECK_OK(tml_features_compute_ctx(&part, &ctx_before, NULL, 1, &with_past_ctx, &used2, &err), &err);
  CHECK_INT(used2, want);
  CHECK_INT(with_past_ctx.nrows, with_ctx.nrows);
  CHECK(memcmp(with_past_ctx.X, with_ctx.X, sizeof(float) * with_ctx.nrows * with_ctx.ncols) == 0);
  CHECK_OK(tml_features_compute(&part, NULL, &without, &err), &err);
  long first_htf = tml_featureset_index("htf_ret_log_1");
  CHECK(first_htf > 0);
  size_t ncols = tml_featureset_ncols(), differ = 0;
  size_t fr = 0;
  for (size_t r = 0; r < with_ctx.nrows; r++) {
    while (fr < full.nrows && full.open_time[fr] < with_ctx.open_time[r])
      fr++;
    CHECK(fr < full.nrows);
    CHECK_INT(full.open_time[fr], with_ctx.open_time[r]);
    for (size_t col = (size_t)first_htf; col < ncols; col++) {
      float a = with_ctx.X[r * ncols + col], b = full.X[fr * ncols + col];
      CHECK_MSG(memcmp(&a, &b, sizeof(a)) == 0, "row %zu column %s: %g with context, %g from the full 15m series", r,
                tml_featureset_name(col), (double)a, (double)b);
    }
  }
  /* without context, the 1h columns of the same candles are warming up from scratch */
  size_t cr = 0;
  for (size_t r = 0; r < without.nrows; r++) {
    while (cr < with_ctx.nrows && with_ctx.open_time[cr] < without.open_time[r])
      cr++;
    if (cr >= with_ctx.nrows || with_ctx.open_time[cr] != without.open_time[r])
      continue;
    for (size_t col = (size_t)first_htf; col < ncols; col++)
      differ += without.X[r * ncols + col] != with_ctx.X[cr * ncols + col];
  }
  CHECK(differ > 0);
  /* a context candle after a base candle, or off its boundary, is refused */
  struct tml_featureset_opts fo = {.base_interval_ms = 15 * TML_MS_PER_MINUTE, .htf_interval_ms = 0};
  struct tml_feature_stream *s = NULL;
  CHECK_OK(tml_feature_stream_create(&fo, &s, &err), &err);
  CHECK_INT(tml_feature_stream_push_context(s, h.open_time[0] + 60000, 1, 1, 1, 1), TML_EINVAL);
  CHECK_INT(tml_feature_stream_push_context(s, h.open_time[0], 1, 1, 1, 1), 0);
  CHECK_INT(tml_feature_stream_push_context(s, h.open_time[0], 1, 1, 1, 1), TML_EINVAL); /* not after the last */
  float row[70];
  bool ready;
  CHECK_INT(tml_feature_stream_push(s, h.open_time[1] + TML_MS_PER_HOUR, 1, 1, 1, 1, 1, row, &ready), 0);
  CHECK_INT(tml_feature_stream_push_context(s, h.open_time[3], 1, 1, 1, 1), TML_EINVAL);
  tml_feature_stream_destroy(s);
  /* context of another interval is a usage error */
  struct tml_features bad;
  CHECK_INT(tml_features_compute_ctx(&part, &part, NULL, 1, &bad, NULL, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "context candles are 15m, but the feature set's higher interval is 1h");
  tml_features_release(&full);
  tml_features_release(&with_ctx);
  tml_features_release(&with_past_ctx);
  tml_features_release(&without);
  tml_candles_release(&ctx_before);
  tml_candles_release(&part);
  tml_candles_release(&h);
  tml_candles_release(&c);
}
