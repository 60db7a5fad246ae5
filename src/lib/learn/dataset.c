/* Dataset assembly: per series, the feature stream and the continuous targets are computed once;
 * complete, labelled rows are copied into one row-major matrix ordered by (time, symbol), with the
 * symbol encoding columns appended. Splits are row ranges with a purge gap (docs/training.md). */
#include "trademl/dataset.h"
#include "trademl/error.h"
#include "trademl/hash.h"
#include "trademl/timeutil.h"
#include "trademl/mem.h"
#include "util/common.h"

#include <pthread.h>

const char *tml_symbol_encoding_name(enum tml_symbol_encoding e) {
  switch (e) {
  case TML_ENC_ONE_HOT: return "one_hot";
  case TML_ENC_INDEX: return "index";
  case TML_ENC_NONE: break;
  }
  return "none";
}

int tml_symbol_encoding_parse(const char *s, enum tml_symbol_encoding *out, struct tml_error *err) {
  if (strcmp(s, "one_hot") == 0 || strcmp(s, "onehot") == 0)
    *out = TML_ENC_ONE_HOT;
  else if (strcmp(s, "index") == 0)
    *out = TML_ENC_INDEX;
  else if (strcmp(s, "none") == 0)
    *out = TML_ENC_NONE;
  else
    return tml_error_set(err, TML_EINVAL, "unknown symbol encoding '%s': use one_hot or index", s);
  return 0;
}

void tml_dataset_release(struct tml_dataset *d) {
  if (!d)
    return;
  free(d->X);
  free(d->time);
  free(d->sym);
  free(d->close);
  free(d->open);
  free(d->high);
  free(d->low);
  free(d->fwd_return);
  free(d->fwd_vol);
  free(d->timing);
  free(d->stop_loss_pct);
  free(d->position_size);
  free(d->tp1_hit);
  if (d->col_names)
    for (size_t i = 0; i < d->ncols; i++)
      free(d->col_names[i]);
  free(d->col_names);
  free(d->symbols);
  memset(d, 0, sizeof(*d));
}

/* One kept row before merging: which series, which feature row. */
struct row_ref {
  int64_t time;
  uint32_t series;
  uint32_t frow;
};

static int cmp_row_ref(const void *a, const void *b) {
  const struct row_ref *x = a, *y = b;
  if (x->time != y->time)
    return (x->time > y->time) - (x->time < y->time);
  return (x->series > y->series) - (x->series < y->series);
}

static char *str_dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

static bool target_complete(const struct tml_targets *t, size_t i) {
  return !isnan(t->fwd_return[i]) && !isnan(t->fwd_vol[i]) && !isnan(t->timing[i]) &&
         !isnan(t->stop_loss_pct[i]) && !isnan(t->position_size[i]);
}

static void hash_series(uint64_t *h, const struct tml_candles *c) {
  *h = tml_fnv1a64(*h, c->symbol, strlen(c->symbol) + 1);
  *h = tml_fnv1a64(*h, c->open_time, c->len * sizeof(int64_t));
  const double *cols[] = {c->open, c->high, c->low, c->close, c->volume};
  for (size_t k = 0; k < TML_ARRAY_LEN(cols); k++)
    *h = tml_fnv1a64(*h, cols[k], c->len * sizeof(double));
}

/* The row arrays of n rows; the feature matrix too unless X is given (owned by d from here on). */
static int alloc_rows(struct tml_dataset *d, size_t n, float *X, struct tml_error *err) {
  size_t m = n ? n : 1;
  d->X = X ? X : tml_alloc_large(m * d->ncols * sizeof(float));
  d->time = malloc(m * sizeof(int64_t));
  d->sym = malloc(m * sizeof(uint16_t));
  d->tp1_hit = malloc(m);
  d->col_names = calloc(d->ncols, sizeof(char *));
  double **dcols[] = {&d->close, &d->fwd_return, &d->fwd_vol, &d->timing, &d->stop_loss_pct, &d->position_size,
                      &d->open, &d->high, &d->low};
  bool ok = d->X && d->time && d->sym && d->tp1_hit && d->col_names;
  for (size_t j = 0; j < TML_ARRAY_LEN(dcols); j++) {
    *dcols[j] = malloc(m * sizeof(double));
    ok = ok && *dcols[j];
  }
  if (!ok)
    return tml_error_set(err, TML_ENOMEM, "out of memory building the dataset (%zu rows x %zu columns)", n, d->ncols);
  for (size_t j = 0; j < d->ncols; j++) {
    char name[64];
    if (j < d->nfeat)
      snprintf(name, sizeof(name), "%s", tml_featureset_name(j));
    else if (d->encoding == TML_ENC_ONE_HOT)
      snprintf(name, sizeof(name), "sym_%s", d->symbols[j - d->nfeat]);
    else
      snprintf(name, sizeof(name), "sym_index");
    d->col_names[j] = str_dup(name);
    if (!d->col_names[j])
      return tml_error_set(err, TML_ENOMEM, "out of memory naming columns");
  }
  return 0;
}

struct targets_job {
  const struct tml_candles *c;
  const struct tml_label_spec *spec;
  struct tml_targets *out;
  int rc;
  struct tml_error err;
};

static void *targets_run(void *arg) {
  struct targets_job *j = arg;
  j->rc = tml_targets_compute(j->c, j->spec, j->out, &j->err);
  return NULL;
}

int tml_dataset_build(const struct tml_candles *series, size_t nseries, const struct tml_dataset_opts *o,
                      struct tml_dataset *d, struct tml_error *err) {
  memset(d, 0, sizeof(*d));
  int rc = 0;
  struct tml_features *feats = NULL;
  struct tml_targets *targets = NULL;
  struct row_ref *refs = NULL;
  if (nseries == 0 || nseries > 65535)
    return tml_error_set(err, TML_EINVAL, "a dataset needs 1 to 65535 symbols, got %zu", nseries);
  feats = calloc(nseries, sizeof(*feats));
  targets = calloc(nseries, sizeof(*targets));
  d->symbols = calloc(nseries, sizeof(*d->symbols));
  if (!feats || !targets || !d->symbols) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory building the dataset");
    goto out;
  }
  d->nsymbols = nseries;
  d->encoding = nseries > 1 ? o->encoding : TML_ENC_NONE;
  d->interval_ms = series[0].interval_ms;
  d->nfeat = tml_featureset_ncols();
  size_t extra = d->encoding == TML_ENC_ONE_HOT ? nseries : d->encoding == TML_ENC_INDEX ? 1 : 0;
  d->ncols = d->nfeat + extra;

  uint64_t h = TML_FNV64_INIT;
  size_t kept = 0;
  for (size_t s = 0; s < nseries; s++) {
    const struct tml_candles *c = &series[s];
    snprintf(d->symbols[s], sizeof(d->symbols[s]), "%s", c->symbol);
    if (c->interval_ms != d->interval_ms) {
      rc = tml_error_set(err, TML_EINVAL, "symbols must share one interval: %s is %s, %s is %s", c->symbol,
                         tml_interval_name(c->interval_ms), series[0].symbol, tml_interval_name(d->interval_ms));
      goto out;
    }
    hash_series(&h, c);
    d->candles += c->len;
    const struct tml_candles *ctx = o->htf_context && o->htf_context[s].len ? &o->htf_context[s] : NULL;
    size_t used = 0;
    if (ctx)
      hash_series(&h, ctx);
    /* the series' targets on a second thread while this one computes its features (both only read
     * the candles; a short series is not worth a thread); else one after the other */
    struct targets_job tj = {c, &o->labels, &targets[s], 0, {0}};
    tml_error_init(&tj.err);
    pthread_t tid;
    int threads = c->len >= 4096 ? o->threads : 1;
    bool threaded = threads > 1 && pthread_create(&tid, NULL, targets_run, &tj) == 0;
    rc = tml_features_compute_ctx(c, ctx, &o->features, threads, &feats[s], &used, err);
    if (threaded)
      pthread_join(tid, NULL);
    else if (!rc) /* one thread: no targets after a failed feature pass, as before */
      targets_run(&tj);
    d->context_candles += used;
    if (!rc && tj.rc)
      rc = tml_error_set(err, tj.rc, "%s", tj.err.msg);
    if (rc) {
      tml_error_prefix(err, "%s", c->symbol);
      goto out;
    }
    d->warmup_dropped += feats[s].warmup_dropped;
    for (size_t r = 0; r < feats[s].nrows; r++) {
      size_t i = feats[s].first_index + r;
      if (!target_complete(&targets[s], i))
        d->unlabelled++;
      else if (c->open_time[i] < o->from_ms)
        d->before_window++;
      else
        kept++;
    }
  }
  tml_hash_hex(h, d->input_hash);

  refs = malloc((kept ? kept : 1) * sizeof(*refs));
  if (!refs) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory building the dataset (%zu rows)", kept);
    goto out;
  }
  size_t k = 0;
  for (size_t s = 0; s < nseries; s++) {
    for (size_t r = 0; r < feats[s].nrows; r++) {
      size_t i = feats[s].first_index + r;
      if (target_complete(&targets[s], i) && series[s].open_time[i] >= o->from_ms)
        refs[k++] = (struct row_ref){series[s].open_time[i], (uint32_t)s, (uint32_t)r};
    }
  }
  if (nseries > 1)
    qsort(refs, kept, sizeof(*refs), cmp_row_ref);

  d->nrows = kept;
  /* One symbol without encoding columns keeps a run of its feature rows (those before the window and
   * the unlabelled last ones dropped): the dataset takes the feature matrix itself, the run moved to
   * its start, instead of copying it into a fresh one (for 3 years of 15m candles 30 MB less to
   * allocate, fault in and copy before the first fold starts). */
  float *taken = NULL;
  if (nseries == 1 && extra == 0 && kept > 0 && feats[0].ncols == d->ncols &&
      refs[kept - 1].frow - refs[0].frow == kept - 1) {
    size_t w = d->ncols;
    if (refs[0].frow > 0)
      memmove(feats[0].X, feats[0].X + (size_t)refs[0].frow * w, kept * w * sizeof(float));
    taken = feats[0].X;
    feats[0].X = NULL;
    if (kept < feats[0].nrows) { /* rows before the window: give their room back (a large block shrinks in place) */
      float *shrunk = realloc(taken, kept * w * sizeof(float));
      if (shrunk)
        taken = shrunk;
    }
  }
  rc = alloc_rows(d, kept, taken, err);
  if (rc)
    goto out;
  for (size_t r = 0; r < kept; r++) {
    const struct row_ref *ref = &refs[r];
    const struct tml_features *f = &feats[ref->series];
    const struct tml_targets *t = &targets[ref->series];
    size_t i = f->first_index + ref->frow;
    float *row = d->X + r * d->ncols;
    if (!taken)
      memcpy(row, f->X + (size_t)ref->frow * f->ncols, f->ncols * sizeof(float));
    if (d->encoding == TML_ENC_ONE_HOT)
      for (size_t j = 0; j < nseries; j++)
        row[d->nfeat + j] = j == ref->series ? 1.0f : 0.0f;
    else if (d->encoding == TML_ENC_INDEX)
      row[d->nfeat] = (float)ref->series;
    d->time[r] = ref->time;
    d->sym[r] = (uint16_t)ref->series;
    d->close[r] = series[ref->series].close[i];
    d->open[r] = series[ref->series].open[i];
    d->high[r] = series[ref->series].high[i];
    d->low[r] = series[ref->series].low[i];
    d->fwd_return[r] = t->fwd_return[i];
    d->fwd_vol[r] = t->fwd_vol[i];
    d->timing[r] = t->timing[i];
    d->stop_loss_pct[r] = t->stop_loss_pct[i];
    d->position_size[r] = t->position_size[i];
    d->tp1_hit[r] = t->tp1_hit[i];
  }
  d->first_ms = kept ? d->time[0] : 0;
  d->last_ms = kept ? d->time[kept - 1] : 0;

out:
  for (size_t s = 0; feats && s < nseries; s++)
    tml_features_release(&feats[s]);
  for (size_t s = 0; targets && s < nseries; s++)
    tml_targets_release(&targets[s]);
  free(feats);
  free(targets);
  free(refs);
  if (rc)
    tml_dataset_release(d);
  return rc;
}

size_t tml_dataset_lower_bound(const struct tml_dataset *d, int64_t t) {
  size_t lo = 0, hi = d->nrows;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (d->time[mid] < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

size_t tml_dataset_purge_bound(const struct tml_dataset *d, int64_t t, int horizon) {
  /* Row time u labels with candles u+1 .. u+h; candle u+h opens at u + h*interval and closes at the
   * next open, so the label is known before t exactly when u + h*interval < t. */
  return tml_dataset_lower_bound(d, t - (int64_t)horizon * d->interval_ms);
}

int tml_dataset_split(const struct tml_dataset *d, double test_size, int purge_candles, struct tml_split *s,
                      struct tml_error *err) {
  memset(s, 0, sizeof(*s));
  if (!(test_size > 0.0 && test_size < 1.0))
    return tml_error_set(err, TML_EINVAL, "test size %g is out of range: use a fraction between 0 and 1 (e.g. 0.2)",
                         test_size);
  if (d->nrows < 2)
    return tml_error_set(err, TML_EDATA, "cannot split %zu rows into training and validation", d->nrows);
  size_t cut = (size_t)((double)d->nrows * (1.0 - test_size));
  if (cut == 0 || cut >= d->nrows)
    return tml_error_set(err, TML_EDATA, "test size %g leaves no training or no validation rows of %zu", test_size,
                         d->nrows);
  /* Move the cut back to the first row of its candle time so no time is on both sides. */
  int64_t valid_from = d->time[cut];
  size_t vbegin = tml_dataset_lower_bound(d, valid_from);
  /* A training row at time t labels with candles t+1..t+h, which must all open before valid_from:
   * t + h*interval < valid_from. The caller passes purge_candles >= horizon. */
  size_t tend = tml_dataset_purge_bound(d, valid_from, purge_candles);
  s->train = (struct tml_range){0, tend};
  s->valid = (struct tml_range){vbegin, d->nrows};
  s->purged = vbegin - tend;
  s->valid_from_ms = valid_from;
  if (tend == 0)
    return tml_error_set(err, TML_EDATA, "no training rows remain after the purge gap of %d candles", purge_candles);
  return 0;
}

void tml_dataset_head_values(const struct tml_dataset *d, enum tml_head h, const struct tml_label_thresholds *th,
                             struct tml_range r, float *y) {
  for (size_t i = r.begin; i < r.end; i++) {
    float v;
    if (tml_labels_head_value(h, th, d->fwd_return[i], d->fwd_vol[i], d->timing[i], d->stop_loss_pct[i],
                              d->position_size[i], &v) != 0)
      v = NAN;
    y[i] = v;
  }
}

/* ---- walk-forward folds ---- */
void tml_fold_plan_release(struct tml_fold_plan *p) {
  if (!p)
    return;
  free(p->folds);
  memset(p, 0, sizeof(*p));
}

static bool embargoed(const struct tml_fold_plan *p, size_t k, int64_t t) {
  if (p->embargo_ms <= 0)
    return false;
  for (size_t j = 0; j < k; j++) {
    int64_t e0 = p->folds[j].test_to_ms;
    if (t >= e0 && t < e0 + p->embargo_ms)
      return true;
  }
  return false;
}

bool tml_fold_row_trains(const struct tml_dataset *d, const struct tml_fold_plan *p, size_t k, size_t r) {
  const struct tml_fold *f = &p->folds[k];
  bool inside = (r >= f->fit.begin && r < f->fit.end) || (r >= f->stop.begin && r < f->stop.end);
  return inside && !embargoed(p, k, d->time[r]);
}

void tml_fold_train_rows(const struct tml_dataset *d, const struct tml_fold_plan *p, size_t k, size_t *rows,
                         size_t *nfit, size_t *nstop) {
  const struct tml_fold *f = &p->folds[k];
  size_t n = 0;
  for (size_t r = f->fit.begin; r < f->fit.end; r++)
    if (!embargoed(p, k, d->time[r]))
      rows[n++] = r;
  *nfit = n;
  for (size_t r = f->stop.begin; r < f->stop.end; r++)
    if (!embargoed(p, k, d->time[r]))
      rows[n++] = r;
  *nstop = n - *nfit;
}

static int64_t day_floor(int64_t t) {
  int64_t q = t / TML_MS_PER_DAY;
  if (t % TML_MS_PER_DAY < 0)
    q--;
  return q * TML_MS_PER_DAY;
}

int tml_dataset_plan_folds(const struct tml_dataset *d, const struct tml_fold_spec *s, struct tml_fold_plan *p,
                           struct tml_error *err) {
  memset(p, 0, sizeof(*p));
  int64_t iv = d->interval_ms;
  if (s->test_period_days < 1 || s->min_train_days < 1 || s->train_window_days < 1 || s->embargo_days < 0 ||
      s->max_folds < 0 || s->horizon < 1)
    return tml_error_set(err, TML_EINVAL,
                         "fold spec out of range: test period %d days, minimum training %d days, window %d days, "
                         "embargo %d days, max folds %d, horizon %d (days and the horizon must be >= 1)",
                         s->test_period_days, s->min_train_days, s->train_window_days, s->embargo_days,
                         s->max_folds, s->horizon);
  if (!(s->stop_share > 0.0 && s->stop_share <= 0.5))
    return tml_error_set(err, TML_EINVAL, "early-stopping share %g must be in (0, 0.5]", s->stop_share);
  int64_t period = (int64_t)s->test_period_days * TML_MS_PER_DAY;
  if (period <= (int64_t)s->horizon * iv)
    return tml_error_set(err, TML_EINVAL,
                         "the test period of %d day(s) is not longer than the label horizon of %d candles (%.1f "
                         "days): every test row's label would reach past its period; use a longer test period or "
                         "a shorter horizon",
                         s->test_period_days, s->horizon, (double)((int64_t)s->horizon * iv) / (double)TML_MS_PER_DAY);
  int purge = s->purge_candles > s->horizon ? s->purge_candles : s->horizon;
  p->purge_candles = purge;
  p->embargo_ms = (int64_t)s->embargo_days * TML_MS_PER_DAY;
  int need_days = s->window == TML_WINDOW_FIXED ? s->train_window_days : s->min_train_days;
  if (d->nrows == 0)
    return tml_error_set(err, TML_EDATA, "no labelled rows: a fold needs %d days of training rows and %d days of "
                                         "test rows", need_days, s->test_period_days);
  int64_t first_day = day_floor(d->first_ms);
  int64_t end = day_floor(d->last_ms) + TML_MS_PER_DAY;
  int64_t earliest = first_day + (int64_t)need_days * TML_MS_PER_DAY;
  int64_t n = end > earliest ? (end - earliest) / period : 0;
  if (n <= 0) {
    char a[32], b[32];
    tml_time_format(d->first_ms, a, sizeof(a));
    tml_time_format(d->last_ms, b, sizeof(b));
    return tml_error_set(err, TML_EDATA,
                         "too little data for one fold: labelled rows span %.1f days (%s .. %s), but one fold needs "
                         "%d days of %s training plus a %d-day test period = %d days (plus the feature warm-up and "
                         "the %d-candle label horizon); import more history or shorten %s / the test period",
                         (double)(end - first_day) / (double)TML_MS_PER_DAY, a, b, need_days,
                         s->window == TML_WINDOW_FIXED ? "fixed-window" : "minimum", s->test_period_days,
                         need_days + s->test_period_days, s->horizon,
                         s->window == TML_WINDOW_FIXED ? "--train-window-days" : "--min-train-days");
  }
  if (s->max_folds > 0 && n > s->max_folds)
    n = s->max_folds;
  p->folds = calloc((size_t)n, sizeof(*p->folds));
  if (!p->folds)
    return tml_error_set(err, TML_ENOMEM, "out of memory planning %" PRId64 " folds", n);
  p->nfolds = (size_t)n;
  for (size_t k = 0; k < p->nfolds; k++) {
    struct tml_fold *f = &p->folds[k];
    f->test_from_ms = end - (n - (int64_t)k) * period;
    f->test_to_ms = f->test_from_ms + period;
    f->train_from_ms = s->window == TML_WINDOW_FIXED ? f->test_from_ms - (int64_t)s->train_window_days * TML_MS_PER_DAY
                                                     : first_day;
    size_t wb = tml_dataset_lower_bound(d, f->train_from_ms);
    size_t we = tml_dataset_purge_bound(d, f->test_from_ms, purge);
    f->test = (struct tml_range){tml_dataset_lower_bound(d, f->test_from_ms), tml_dataset_lower_bound(d, f->test_to_ms)};
    if (we <= wb + 1) {
      tml_fold_plan_release(p);
      return tml_error_set(err, TML_EDATA, "fold %zu has no training rows before its purge gap", k + 1);
    }
    /* Early-stopping rows: the newest stop_share of the window, from a candle-time boundary. */
    size_t nstop = (size_t)ceil((double)(we - wb) * s->stop_share);
    if (nstop < 1)
      nstop = 1;
    f->stop_from_ms = d->time[we - nstop];
    f->stop = (struct tml_range){tml_dataset_lower_bound(d, f->stop_from_ms), we};
    f->fit = (struct tml_range){wb, tml_dataset_purge_bound(d, f->stop_from_ms, purge)};
    if (f->fit.end < f->fit.begin)
      f->fit.end = f->fit.begin;
    f->purged = (f->stop.begin - f->fit.end) + (f->test.begin - f->stop.end);
  }
  for (size_t k = 0; k < p->nfolds; k++) {
    struct tml_fold *f = &p->folds[k];
    for (size_t r = f->fit.begin; r < f->fit.end; r++) {
      if (embargoed(p, k, d->time[r]))
        f->embargoed++;
      else
        f->nfit++;
    }
    for (size_t r = f->stop.begin; r < f->stop.end; r++) {
      if (embargoed(p, k, d->time[r]))
        f->embargoed++;
      else
        f->nstop++;
    }
    if (f->nfit == 0 || f->nstop == 0 || f->test.end == f->test.begin) {
      char a[32];
      tml_time_format(f->test_from_ms, a, sizeof(a));
      size_t nfit = f->nfit, nstop = f->nstop, ntest = f->test.end - f->test.begin;
      tml_fold_plan_release(p);
      return tml_error_set(err, TML_EDATA,
                           "fold %zu (test from %s) has %zu fit, %zu early-stopping and %zu test rows: every part "
                           "needs rows; the data has a gap there or the window is too short",
                           k + 1, a, nfit, nstop, ntest);
    }
  }
  return 0;
}
