/* Strategy `ensemble`: a global model (by default over every stored symbol of the interval, with the
 * dataset's symbol encoding as multi-symbol training does) that stacks member strategies (xgb5, and
 * xgb5 on the native engine by default; lstm once it exists) with a meta-model per head:
 *
 *  - class heads: a log-linear pool (Genest & Zidek 1986; a multinomial logistic regression with one
 *    weight per member and a bias per class): logit_c = sum_m a_m log p_mc + b_c, fitted by full-batch
 *    gradient descent on the cross-entropy from the plain geometric mean (a_m = 1/M, b = 0) with an L2
 *    pull (ensemble.meta_l2) back towards it, so a weak out-of-fold signal leaves the members' average;
 *  - regression heads: ridge regression on the members' values (standardised), closed form.
 *
 * Stacking without leakage (Wolpert 1992; the time-series form of Lopez de Prado, AFML 7.4): the
 * meta-model is fitted ONLY on out-of-fold predictions of the fold's fit rows. The fit rows are cut
 * into ensemble.inner_folds + 1 time-ordered blocks at candle-time boundaries; for block j >= 1 each
 * member is fitted on the earlier blocks' rows whose label windows close before block j starts (the
 * purge: horizon candles), early-stopping on the last 20 % of them (purged again), and predicts block
 * j. Block 0 never gets an out-of-fold prediction. The members kept in the model are then fitted on all
 * of the fold's rows (fit + stop, as a member would be alone; with a fit cache this is the very fit
 * of the standalone strategy on the same fold). The stop rows are used only for the members' early
 * stopping, never by the meta-model.
 *
 * Folder: ensemble.json (members, meta weights, standardisation) and members/<i>-<name>/ holding
 * each member's own files. */
#include "trademl/strategy.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/parse.h"
#include "util/common.h"

#include <jansson.h>
#include <sys/stat.h>

#define MAX_MEMBERS 4
#define ENSEMBLE_FORMAT 1
#define META_ITERS 400
#define LOG_FLOOR 1e-6f

struct member {
  const struct tml_strategy *s;
  char engine[32];                 /* "" = the default engine */
  struct tml_strategy_model *m;
};

struct meta_head {
  size_t nin;                      /* inputs: members x width */
  double *mean, *sd;               /* nin: standardisation of the inputs (OOF rows) */
  double *w;                       /* class: a member weights then nclass biases; regression: nin + 1 */
};

struct ensemble {
  size_t nmembers;
  struct member members[MAX_MEMBERS];
  struct meta_head meta[TML_HEAD_COUNT];
  size_t noof;                     /* out-of-fold rows the meta-model was fitted on */
  double l2;
  int inner_folds;
};

static void ensemble_free(void *impl) {
  struct ensemble *e = impl;
  if (!e)
    return;
  for (size_t i = 0; i < e->nmembers; i++)
    tml_strategy_model_free(e->members[i].m);
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    free(e->meta[h].mean);
    free(e->meta[h].sd);
    free(e->meta[h].w);
  }
  free(e);
}

/* s without its leading and trailing white space (cut in place), as the configuration trims values. */
static char *trim_spaces(char *s) {
  const char *t = s;
  size_t len = strlen(s);
  tml_trim(&t, &len);
  char *out = s + (t - s);
  out[len] = '\0';
  return out;
}

/* Parses "xgb5,lstm" (or "xgb5,xgb5:native") into e->members (strategies looked up, no models). */
static int parse_members(const char *spec, struct ensemble *e, struct tml_error *err) {
  char buf[256];
  e->nmembers = 0;
  if ((size_t)snprintf(buf, sizeof(buf), "%s", spec ? spec : "") >= sizeof(buf))
    return tml_error_set(err, TML_EINVAL,
                         "ensemble.members is %zu characters long; at most %zu are read: list at most %d members "
                         "as NAME or NAME:ENGINE, without padding",
                         strlen(spec), sizeof(buf) - 1, MAX_MEMBERS);
  char *p = buf;
  for (int pos = 1;; pos++) {
    char *end = strchr(p, ',');
    if (end)
      *end = '\0';
    char *colon = strchr(p, ':'); /* "xgb5 : native , lstm": spaces around either part */
    if (colon)
      *colon = '\0';
    p = trim_spaces(p);
    if (!*p && (pos > 1 || end || colon)) /* "" alone is the empty list, refused below */
      return tml_error_set(err, TML_EINVAL,
                           "ensemble.members '%s': member %d is empty; list strategies such as xgb5,lstm separated "
                           "by single commas",
                           spec, pos);
    if (!*p)
      break;
    if (e->nmembers == MAX_MEMBERS)
      return tml_error_set(err, TML_EINVAL, "ensemble.members '%s' lists more than %d members", spec, MAX_MEMBERS);
    struct member *mb = &e->members[e->nmembers];
    int rc = tml_strategy_lookup(p, &mb->s, err);
    if (rc) {
      tml_error_prefix(err, "ensemble.members '%s'", spec);
      return rc;
    }
    if (mb->s == &tml_strategy_ensemble)
      return tml_error_set(err, TML_EINVAL, "ensemble.members '%s': an ensemble cannot be its own member", spec);
    snprintf(mb->engine, sizeof(mb->engine), "%s", colon ? trim_spaces(colon + 1) : "");
    if (colon && !mb->engine[0])
      return tml_error_set(err, TML_EINVAL,
                           "ensemble.members '%s': member %d names no engine after its colon; write %s:native or "
                           "%s:xgboost, or %s alone for the default engine",
                           spec, pos, p, p, p);
    if (mb->engine[0]) {
      const struct tml_learner *l = NULL;
      if ((rc = tml_learner_lookup(mb->engine, &l, err))) {
        tml_error_prefix(err, "ensemble.members '%s'", spec);
        return rc;
      }
    }
    e->nmembers++;
    if (!end)
      break;
    p = end + 1;
  }
  if (e->nmembers == 0)
    return tml_error_set(err, TML_EINVAL, "ensemble.members is empty: list member strategies such as xgb5,lstm");
  return 0;
}

const char *tml_strategy_ensemble_members(const struct tml_config *cfg) {
  return cfg ? tml_config_get(cfg, "ensemble.members") : "xgb5,lstm";
}

/* Here rather than in strategy.c: it reads the ensemble's member list with the ensemble's own parser
 * (strategy.c only lists the strategies). Errs towards recording: a native set whose members all
 * name another engine, or a member lstm:native (no boosting), still counts as training native
 * models. A member list the ensemble refuses trains nothing: false. */
bool tml_strategy_trains_engine(const char *strategy, const char *engine, const struct tml_config *cfg,
                                const char *name) {
  if (strcmp(engine ? engine : TML_LEARNER_DEFAULT, name) == 0)
    return true;
  if (strcmp(strategy ? strategy : TML_STRATEGY_DEFAULT, tml_strategy_ensemble.name) != 0)
    return false;
  struct ensemble e;
  struct tml_error err;
  tml_error_init(&err);
  if (parse_members(tml_strategy_ensemble_members(cfg), &e, &err))
    return false;
  for (size_t i = 0; i < e.nmembers; i++)
    if (strcmp(e.members[i].engine, name) == 0) /* "xgb5:native": the member's own engine */
      return true;
  return false;
}

static int read_settings(const struct tml_strategy_params *p, struct ensemble *e, struct tml_error *err) {
  const char *members = tml_strategy_ensemble_members(p->cfg);
  e->inner_folds = p->cfg ? (int)tml_config_int(p->cfg, "ensemble.inner_folds") : 3;
  e->l2 = p->cfg ? tml_config_double(p->cfg, "ensemble.meta_l2") : 1.0;
  if (e->inner_folds < 2 || e->inner_folds > 10)
    return tml_error_set(err, TML_EINVAL, "ensemble.inner_folds %d is out of range: use 2 to 10", e->inner_folds);
  if (!(e->l2 >= 0 && e->l2 <= 100))
    return tml_error_set(err, TML_EINVAL, "ensemble.meta_l2 %g is out of range: use 0 to 100", e->l2);
  return parse_members(members, e, err);
}

static int ensemble_needs(const struct tml_strategy_params *p, struct tml_strategy_needs *out, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  out->all_symbols = true;
  out->symbol_encoding = true;
  struct ensemble *e = calloc(1, sizeof(*e));
  if (!e)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  int rc = read_settings(p, e, err);
  for (size_t i = 0; !rc && i < e->nmembers; i++) {
    struct tml_strategy_needs mn;
    if ((rc = e->members[i].s->needs(p, &mn, err)))
      break;
    out->context_rows = mn.context_rows > out->context_rows ? mn.context_rows : out->context_rows;
  }
  ensemble_free(e);
  return rc;
}

/* ---- meta-model inputs: per head, each member's output per row ---- */
static size_t head_inputs(const struct ensemble *e, enum tml_head h) { return e->nmembers * tml_strategy_head_width(h); }

/* Input j of a row from the members' outputs out[member][h] (row i, width w). */
static double meta_input(enum tml_head h, const float *member_out, size_t i, size_t c) {
  size_t w = tml_strategy_head_width(h);
  float v = member_out[i * w + c];
  if (isnan(v))
    return (double)NAN; /* a head the member does not hold: the ensemble does not either */
  if (tml_head_nclass(h) > 0)
    return log((double)(v > LOG_FLOOR ? v : LOG_FLOOR));
  return (double)v;
}

/* Builds the standardised input matrix Z (n x nin) of head h from the members' predictions. */
static void build_inputs(const struct ensemble *e, enum tml_head h, float *const *mo, size_t n, double *Z) {
  size_t w = tml_strategy_head_width(h), nin = head_inputs(e, h);
  for (size_t i = 0; i < n; i++)
    for (size_t m = 0; m < e->nmembers; m++)
      for (size_t c = 0; c < w; c++)
        Z[i * nin + m * w + c] = meta_input(h, mo[m], i, c);
}

static void standardise_fit(struct meta_head *mh, double *Z, size_t n) {
  for (size_t j = 0; j < mh->nin; j++) {
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
      s += Z[i * mh->nin + j];
    double mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
      ss += (Z[i * mh->nin + j] - mean) * (Z[i * mh->nin + j] - mean);
    double sd = sqrt(ss / (double)n);
    mh->mean[j] = mean;
    mh->sd[j] = sd > 1e-12 ? sd : 1.0;
  }
}

/* The log-linear pool of class head with k classes and M members: minimises the mean cross-entropy
 * + l2/2 sum_m (a_m - 1/M)^2 over the rows with a known label, by gradient descent with a step that
 * halves whenever the loss rises. Z holds the raw inputs (log-probabilities, member-major: m * k + c). */
static void fit_pool(struct meta_head *mh, size_t M, int k, const double *Z, const float *y, size_t n, double l2) {
  size_t nw = M + (size_t)k, nin = mh->nin;
  double *g = calloc(nw, sizeof(double)), *prev = malloc(nw * sizeof(double));
  if (!g || !prev)
    goto out; /* the geometric mean stays */
  double step = 1.0, last = INFINITY, a0 = 1.0 / (double)M;
  for (int it = 0; it < META_ITERS; it++) {
    memset(g, 0, nw * sizeof(double));
    double loss = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
      const double *z = Z + i * nin;
      if (isnan(y[i]) || isnan(z[0]))
        continue;
      double s[TML_MAX_CLASSES], mx = -INFINITY, tot = 0;
      for (int c = 0; c < k; c++) {
        double v = mh->w[M + (size_t)c];
        for (size_t m = 0; m < M; m++)
          v += mh->w[m] * z[m * (size_t)k + (size_t)c];
        s[c] = v;
        mx = v > mx ? v : mx;
      }
      for (int c = 0; c < k; c++)
        tot += (s[c] = exp(s[c] - mx));
      int yc = (int)y[i];
      loss -= log(s[yc] / tot);
      for (int c = 0; c < k; c++) {
        double d = s[c] / tot - (c == yc ? 1.0 : 0.0);
        for (size_t m = 0; m < M; m++)
          g[m] += d * z[m * (size_t)k + (size_t)c];
        g[M + (size_t)c] += d;
      }
      used++;
    }
    if (used == 0)
      break;
    double pen = 0;
    for (size_t m = 0; m < M; m++)
      pen += (mh->w[m] - a0) * (mh->w[m] - a0);
    loss = loss / (double)used + 0.5 * l2 * pen;
    if (loss > last) { /* overshoot: back to the previous weights with half the step */
      memcpy(mh->w, prev, nw * sizeof(double));
      step *= 0.5;
      if (step < 1e-6)
        break;
      continue;
    }
    last = loss;
    memcpy(prev, mh->w, nw * sizeof(double));
    for (size_t q = 0; q < nw; q++) {
      double grad = g[q] / (double)used + (q < M ? l2 * (mh->w[q] - a0) : 0.0);
      mh->w[q] -= step * grad;
    }
  }
out:
  free(g);
  free(prev);
}

/* Ridge regression in closed form: (Z'Z + n l2 I) w = Z'y with a bias column (unpenalised), solved by
 * Gaussian elimination with partial pivoting. */
static void fit_ridge(struct meta_head *mh, const double *Z, const float *y, size_t n, double l2) {
  size_t p = mh->nin + 1;
  double *A = calloc(p * p, sizeof(double)), *b = calloc(p, sizeof(double));
  if (!A || !b)
    goto out;
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(y[i]))
      continue;
    used++;
    for (size_t r = 0; r < p; r++) {
      double zr = r < mh->nin ? Z[i * mh->nin + r] : 1.0;
      b[r] += zr * (double)y[i];
      for (size_t c = 0; c < p; c++)
        A[r * p + c] += zr * (c < mh->nin ? Z[i * mh->nin + c] : 1.0);
    }
  }
  for (size_t r = 0; r < mh->nin; r++)
    A[r * p + r] += (double)used * l2 + 1e-9;
  for (size_t c = 0; c < p; c++) {
    size_t piv = c;
    for (size_t r = c + 1; r < p; r++)
      if (fabs(A[r * p + c]) > fabs(A[piv * p + c]))
        piv = r;
    if (fabs(A[piv * p + c]) < 1e-300)
      goto out; /* singular (no rows): weights stay zero */
    if (piv != c) {
      for (size_t q = 0; q < p; q++) {
        double t = A[c * p + q];
        A[c * p + q] = A[piv * p + q];
        A[piv * p + q] = t;
      }
      double t = b[c];
      b[c] = b[piv];
      b[piv] = t;
    }
    for (size_t r = c + 1; r < p; r++) {
      double f = A[r * p + c] / A[c * p + c];
      for (size_t q = c; q < p; q++)
        A[r * p + q] -= f * A[c * p + q];
      b[r] -= f * b[c];
    }
  }
  for (size_t c = p; c-- > 0;) {
    double s = b[c];
    for (size_t q = c + 1; q < p; q++)
      s -= A[c * p + q] * mh->w[q];
    mh->w[c] = s / A[c * p + c];
  }
out:
  free(A);
  free(b);
}

/* The meta-model's output for one row of raw inputs z (nin values, not yet standardised). */
static void meta_apply(const struct meta_head *mh, enum tml_head h, const double *z, float *out) {
  int k = tml_head_nclass(h);
  size_t nin = mh->nin;
  double zs[MAX_MEMBERS * TML_MAX_CLASSES];
  for (size_t j = 0; j < nin; j++)
    zs[j] = (z[j] - mh->mean[j]) / mh->sd[j];
  if (k == 0) {
    double a = mh->w[nin];
    for (size_t j = 0; j < nin; j++)
      a += mh->w[j] * zs[j];
    out[0] = (float)a;
    return;
  }
  size_t M = nin / (size_t)k;
  double s[TML_MAX_CLASSES], mx = -INFINITY, tot = 0;
  for (int c = 0; c < k; c++) {
    double a = mh->w[M + (size_t)c];
    for (size_t m = 0; m < M; m++)
      a += mh->w[m] * z[m * (size_t)k + (size_t)c];
    s[c] = a;
    mx = a > mx ? a : mx;
  }
  for (int c = 0; c < k; c++)
    tot += (s[c] = exp(s[c] - mx));
  for (int c = 0; c < k; c++)
    out[c] = (float)(s[c] / tot);
}

/* Weights of head h's meta-model: class heads one per member plus a bias per class; regression heads
 * one per input plus the bias. */
static size_t meta_weights(const struct ensemble *e, enum tml_head h) {
  int k = tml_head_nclass(h);
  return k > 0 ? e->nmembers + (size_t)k : head_inputs(e, h) + 1;
}

static int alloc_meta(struct ensemble *e, struct tml_error *err) {
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    struct meta_head *mh = &e->meta[h];
    int k = tml_head_nclass((enum tml_head)h);
    mh->nin = head_inputs(e, (enum tml_head)h);
    size_t nw = meta_weights(e, (enum tml_head)h);
    mh->mean = calloc(mh->nin, sizeof(double));
    mh->sd = malloc(mh->nin * sizeof(double));
    mh->w = calloc(nw, sizeof(double));
    if (!mh->mean || !mh->sd || !mh->w)
      return tml_error_set(err, TML_ENOMEM, "out of memory");
    for (size_t j = 0; j < mh->nin; j++)
      mh->sd[j] = 1.0;
    for (size_t m = 0; k > 0 && m < e->nmembers; m++)
      mh->w[m] = 1.0 / (double)e->nmembers; /* the geometric mean of the members */
  }
  return 0;
}

static struct tml_strategy_params member_params(const struct tml_strategy_params *p, const struct member *mb) {
  struct tml_strategy_params mp = *p;
  if (mb->engine[0])
    mp.engine = mb->engine;
  return mp;
}

/* Predictions of every member for rows [r.begin, r.end) into mo[m][h] (allocated here). */
static int members_predict(const struct ensemble *e, struct tml_strategy_model *const *models, const struct tml_dataset *d,
                           struct tml_range r, float *mo[MAX_MEMBERS][TML_HEAD_COUNT], struct tml_error *err) {
  size_t n = r.end - r.begin;
  for (size_t m = 0; m < e->nmembers; m++) {
    for (int h = 0; h < TML_HEAD_COUNT; h++)
      if (!(mo[m][h] = malloc((n ? n : 1) * tml_strategy_head_width((enum tml_head)h) * sizeof(float))))
        return tml_error_set(err, TML_ENOMEM, "out of memory predicting %zu rows", n);
    int rc = models[m]->strategy->predict(models[m]->impl, d, r, mo[m], err);
    if (rc) {
      tml_error_prefix(err, "ensemble member %s", models[m]->strategy->name);
      return rc;
    }
  }
  return 0;
}

static void free_outputs(float *mo[MAX_MEMBERS][TML_HEAD_COUNT]) {
  for (size_t m = 0; m < MAX_MEMBERS; m++)
    for (int h = 0; h < TML_HEAD_COUNT; h++) {
      free(mo[m][h]);
      mo[m][h] = NULL;
    }
}

/* Out-of-fold predictions of the fit rows (inner folds, see the top of the file) into oof[m][h] (per
 * OOF row) and the OOF rows' dataset indices into oof_rows. */
static int out_of_fold(struct ensemble *e, const struct tml_strategy_fit_data *fd, const struct tml_strategy_params *p,
                       float *oof[MAX_MEMBERS][TML_HEAD_COUNT], size_t *oof_rows, size_t *noof, struct tml_error *err) {
  const struct tml_dataset *d = fd->d;
  size_t nfit = fd->nfit, K = (size_t)e->inner_folds;
  *noof = 0;
  /* Block starts: equal shares of the fit rows, moved forward to a candle-time boundary. */
  size_t start[12];
  for (size_t j = 0; j <= K; j++) {
    size_t i = nfit * j / (K + 1);
    while (i > 0 && i < nfit && d->time[fd->rows[i]] == d->time[fd->rows[i - 1]])
      i++;
    start[j] = i;
  }
  start[K + 1] = nfit;
  size_t *inner = malloc((nfit ? nfit : 1) * sizeof(size_t));
  float *tmp[MAX_MEMBERS][TML_HEAD_COUNT] = {{0}};
  int rc = inner ? 0 : tml_error_set(err, TML_ENOMEM, "out of memory");
  int64_t iv = d->interval_ms, gap = (int64_t)fd->horizon * iv;
  for (size_t j = 1; j <= K && !rc; j++) {
    if (start[j] >= start[j + 1])
      continue;
    int64_t block_t = d->time[fd->rows[start[j]]];
    /* Inner training rows: earlier blocks, label window closed before the block starts. */
    size_t n = 0;
    for (size_t i = 0; i < start[j]; i++)
      if (d->time[fd->rows[i]] + gap < block_t)
        inner[n++] = fd->rows[i];
    /* Their last 20 % (from a time boundary) stop early; the rows before it are purged likewise. */
    size_t sb = n - n / 5;
    while (sb > 0 && sb < n && d->time[inner[sb]] == d->time[inner[sb - 1]])
      sb++;
    if (sb >= n || sb == 0)
      continue; /* too few rows for this inner fold: its block gets no out-of-fold prediction */
    int64_t stop_t = d->time[inner[sb]];
    size_t nf = 0;
    while (nf < sb && d->time[inner[nf]] + gap < stop_t)
      nf++;
    /* inner[0..nf) fit, inner[sb..n) stop: compact them. */
    memmove(inner + nf, inner + sb, (n - sb) * sizeof(size_t));
    size_t ns = n - sb;
    if (nf < 50 || ns == 0)
      continue;
    struct tml_strategy_fit_data ifd = {.d = d, .rows = inner, .nfit = nf, .nstop = ns, .thresholds = fd->thresholds,
                                        .horizon = fd->horizon, .cache_key = NULL};
    struct tml_range br = {fd->rows[start[j]], fd->rows[start[j + 1] - 1] + 1};
    for (size_t m = 0; m < e->nmembers && !rc; m++) {
      struct tml_strategy_params mp = member_params(p, &e->members[m]);
      mp.cache = NULL;
      struct tml_strategy_model *mm = NULL;
      rc = tml_strategy_fit(e->members[m].s, &ifd, &mp, &mm, err);
      if (rc) {
        tml_error_prefix(err, "ensemble member %s, inner fold %zu", e->members[m].s->name, j);
        break;
      }
      struct tml_strategy_model *one[MAX_MEMBERS] = {0};
      one[0] = mm;
      struct ensemble single = {.nmembers = 1};
      single.members[0] = e->members[m];
      float *bo[MAX_MEMBERS][TML_HEAD_COUNT] = {{0}};
      rc = members_predict(&single, one, d, br, bo, err);
      /* Keep only the block's fit rows (the range may hold embargoed rows between them). */
      for (int h = 0; h < TML_HEAD_COUNT && !rc; h++) {
        size_t w = tml_strategy_head_width((enum tml_head)h), q = *noof;
        for (size_t i = start[j]; i < start[j + 1]; i++, q++)
          memcpy(oof[m][h] + q * w, bo[0][h] + (fd->rows[i] - br.begin) * w, w * sizeof(float));
      }
      free_outputs(bo);
      tml_strategy_model_free(mm);
    }
    if (!rc) {
      for (size_t i = start[j]; i < start[j + 1]; i++)
        oof_rows[(*noof)++] = fd->rows[i];
    }
  }
  free_outputs(tmp);
  free(inner);
  return rc;
}

static int ensemble_fit(const struct tml_strategy_fit_data *fd, const struct tml_strategy_params *p, void **out,
                        struct tml_error *err) {
  *out = NULL;
  struct ensemble *e = calloc(1, sizeof(*e));
  float *oof[MAX_MEMBERS][TML_HEAD_COUNT] = {{0}};
  size_t *oof_rows = NULL;
  double *Z = NULL;
  float *y = NULL;
  int rc = e ? read_settings(p, e, err) : tml_error_set(err, TML_ENOMEM, "out of memory");
  if (rc)
    goto out;
  if (!rc && fd->horizon <= 0)
    rc = tml_error_set(err, TML_EINVAL, "ensemble: the label horizon is needed to purge its inner folds");
  if (!rc)
    rc = alloc_meta(e, err);
  size_t nfit = fd->nfit;
  oof_rows = malloc((nfit ? nfit : 1) * sizeof(size_t));
  for (size_t m = 0; !rc && m < e->nmembers; m++)
    for (int h = 0; h < TML_HEAD_COUNT && !rc; h++)
      if (!(oof[m][h] = malloc((nfit ? nfit : 1) * tml_strategy_head_width((enum tml_head)h) * sizeof(float))))
        rc = tml_error_set(err, TML_ENOMEM, "out of memory");
  if (!rc && !oof_rows)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
  if (rc)
    goto out;
  /* 1. Out-of-fold member predictions on the fit rows. */
  if ((rc = out_of_fold(e, fd, p, oof, oof_rows, &e->noof, err)))
    goto out;
  if (e->noof < 100) {
    rc = tml_error_set(err, TML_EDATA,
                       "ensemble: only %zu out-of-fold rows from %zu fit rows and %d inner folds; the meta-model needs "
                       "at least 100: use more data (--days) or fewer ensemble.inner_folds",
                       e->noof, nfit, e->inner_folds);
    goto out;
  }
  /* 2. The meta-model per head, on the out-of-fold rows only. */
  struct tml_strategy_fit_data ofd = {.d = fd->d, .rows = oof_rows, .nfit = e->noof, .nstop = 0,
                                      .thresholds = fd->thresholds, .horizon = fd->horizon};
  y = malloc(e->noof * sizeof(float));
  size_t maxin = e->nmembers * TML_MAX_CLASSES;
  Z = malloc(e->noof * maxin * sizeof(double));
  if (!y || !Z) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
    goto out;
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    if (p->heads && !(p->heads & (1u << h)))
      continue;
    enum tml_head head = (enum tml_head)h;
    struct meta_head *mh = &e->meta[h];
    float *mo[MAX_MEMBERS];
    for (size_t m = 0; m < e->nmembers; m++)
      mo[m] = oof[m][h];
    build_inputs(e, head, mo, e->noof, Z);
    tml_strategy_fit_labels(&ofd, head, y);
    int k = tml_head_nclass(head);
    if (k > 0) {
      fit_pool(mh, e->nmembers, k, Z, y, e->noof, e->l2); /* raw log-probabilities: mean 0, sd 1 kept */
    } else {
      standardise_fit(mh, Z, e->noof);
      for (size_t i = 0; i < e->noof; i++)
        for (size_t j = 0; j < mh->nin; j++)
          Z[i * mh->nin + j] = (Z[i * mh->nin + j] - mh->mean[j]) / mh->sd[j];
      fit_ridge(mh, Z, y, e->noof, e->l2);
    }
  }
  /* 3. The members kept: fitted on all of the fold's rows (shared through the cache when asked). */
  for (size_t m = 0; m < e->nmembers && !rc; m++) {
    struct tml_strategy_params mp = member_params(p, &e->members[m]);
    rc = tml_strategy_fit(e->members[m].s, fd, &mp, &e->members[m].m, err);
    if (rc)
      tml_error_prefix(err, "ensemble member %s", e->members[m].s->name);
  }
out:
  free_outputs(oof);
  free(oof_rows);
  free(Z);
  free(y);
  if (rc) {
    ensemble_free(e);
    return rc;
  }
  *out = e;
  return 0;
}

static int ensemble_predict(const void *impl, const struct tml_dataset *d, struct tml_range rows, float *const *out,
                            struct tml_error *err) {
  const struct ensemble *e = impl;
  size_t n = rows.end - rows.begin;
  float *mo[MAX_MEMBERS][TML_HEAD_COUNT] = {{0}};
  struct tml_strategy_model *models[MAX_MEMBERS];
  for (size_t m = 0; m < e->nmembers; m++)
    models[m] = e->members[m].m;
  int rc = members_predict(e, models, d, rows, mo, err);
  double z[MAX_MEMBERS * TML_MAX_CLASSES];
  for (int h = 0; h < TML_HEAD_COUNT && !rc; h++) {
    if (!out[h])
      continue;
    enum tml_head head = (enum tml_head)h;
    size_t w = tml_strategy_head_width(head), nin = e->meta[h].nin;
    for (size_t i = 0; i < n; i++) {
      for (size_t m = 0; m < e->nmembers; m++)
        for (size_t c = 0; c < w; c++)
          z[m * w + c] = meta_input(head, mo[m][h], i, c);
      (void)nin;
      meta_apply(&e->meta[h], head, z, out[h] + i * w);
    }
  }
  free_outputs(mo);
  return rc;
}

/* ---- streams: one member stream each ---- */
struct ens_stream {
  const struct ensemble *e;
  void *states[MAX_MEMBERS];
};

static void ensemble_stream_close(void *state) {
  struct ens_stream *s = state;
  if (!s)
    return;
  for (size_t m = 0; m < s->e->nmembers; m++)
    if (s->states[m])
      s->e->members[m].m->strategy->stream_close(s->states[m]);
  free(s);
}

static int ensemble_stream_open(const void *impl, void **state, struct tml_error *err) {
  const struct ensemble *e = impl;
  *state = NULL;
  struct ens_stream *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  s->e = e;
  for (size_t m = 0; m < e->nmembers; m++) {
    int rc = e->members[m].m->strategy->stream_open(e->members[m].m->impl, &s->states[m], err);
    if (rc) {
      ensemble_stream_close(s);
      return rc;
    }
  }
  *state = s;
  return 0;
}

static int ensemble_stream_step(void *state, const float *row, float (*out)[TML_MAX_CLASSES], struct tml_error *err) {
  struct ens_stream *s = state;
  const struct ensemble *e = s->e;
  float mo[MAX_MEMBERS][TML_HEAD_COUNT][TML_MAX_CLASSES];
  for (size_t m = 0; m < e->nmembers; m++) {
    int rc = e->members[m].m->strategy->stream_step(s->states[m], row, out ? mo[m] : NULL, err);
    if (rc)
      return rc;
  }
  if (!out)
    return 0;
  double z[MAX_MEMBERS * TML_MAX_CLASSES];
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    size_t w = tml_strategy_head_width(head);
    for (size_t m = 0; m < e->nmembers; m++)
      for (size_t c = 0; c < w; c++)
        z[m * w + c] = meta_input(head, mo[m][h], 0, c);
    meta_apply(&e->meta[h], head, z, out[h]);
  }
  return 0;
}

/* ---- files ---- */
static void member_dir(const char *dir, size_t i, const struct member *mb, char *out, size_t outsz) {
  snprintf(out, outsz, "%s/members/%zu-%s%s%s", dir, i + 1, mb->s->name, mb->engine[0] ? "-" : "", mb->engine);
}

static json_t *doubles(const double *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_real(v[i]));
  return a;
}

static int ensemble_save(const void *impl, const char *dir, const struct tml_dataset *d, struct tml_error *err) {
  const struct ensemble *e = impl;
  char path[4200];
  snprintf(path, sizeof(path), "%s/members", dir);
  int rc = tml_mkdir_p(path, err);
  json_t *root = json_object(), *members = json_array(), *meta = json_object();
  for (size_t m = 0; !rc && m < e->nmembers; m++) {
    const struct member *mb = &e->members[m];
    member_dir(dir, m, mb, path, sizeof(path));
    if ((rc = tml_mkdir_p(path, err)) || (rc = mb->m->strategy->save(mb->m->impl, path, d, err)))
      break;
    json_t *jm = json_object();
    json_object_set_new(jm, "strategy", json_string(mb->s->name));
    json_object_set_new(jm, "engine", json_string(mb->engine[0] ? mb->engine : TML_LEARNER_DEFAULT));
    json_object_set_new(jm, "engine_set", json_boolean(mb->engine[0] != 0));
    json_array_append_new(members, jm);
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    const struct meta_head *mh = &e->meta[h];
    int k = tml_head_nclass((enum tml_head)h);
    json_t *jh = json_object();
    json_object_set_new(jh, "inputs", json_integer((json_int_t)mh->nin));
    json_object_set_new(jh, "mean", doubles(mh->mean, mh->nin));
    json_object_set_new(jh, "sd", doubles(mh->sd, mh->nin));
    json_object_set_new(jh, "model", json_string(k > 0 ? "log_linear_pool" : "ridge"));
    json_object_set_new(jh, "weights", doubles(mh->w, meta_weights(e, (enum tml_head)h)));
    json_object_set_new(meta, tml_head_name((enum tml_head)h), jh);
  }
  json_object_set_new(root, "format", json_integer(ENSEMBLE_FORMAT));
  json_object_set_new(root, "strategy", json_string("ensemble"));
  json_object_set_new(root, "members", members);
  json_object_set_new(root, "inner_folds", json_integer(e->inner_folds));
  json_object_set_new(root, "meta_l2", json_real(e->l2));
  json_object_set_new(root, "oof_rows", json_integer((json_int_t)e->noof));
  json_object_set_new(root, "meta", meta);
  char *text = rc ? NULL : json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
  json_decref(root);
  if (!rc && !text)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory writing ensemble.json");
  if (!rc) {
    snprintf(path, sizeof(path), "%s/ensemble.json", dir);
    rc = tml_write_file_atomic(path, text, strlen(text), err);
  }
  free(text);
  return rc;
}

static int read_doubles(json_t *a, double *v, size_t n, const char *path, const char *what, struct tml_error *err) {
  if (!json_is_array(a) || json_array_size(a) != n)
    return tml_error_set(err, TML_EMODEL, "'%s': %s must list %zu numbers: the file is corrupt; retrain the set", path,
                         what, n);
  for (size_t i = 0; i < n; i++) {
    json_t *x = json_array_get(a, i);
    if (!json_is_number(x) || !isfinite(json_number_value(x)))
      return tml_error_set(err, TML_EMODEL, "'%s': %s[%zu] is not a finite number: the file is corrupt", path, what, i);
    v[i] = json_number_value(x);
  }
  return 0;
}

static int ensemble_load(const char *dir, const struct tml_strategy_load_info *info, void **out, struct tml_error *err) {
  *out = NULL;
  char path[4200], mpath[4200];
  snprintf(path, sizeof(path), "%s/ensemble.json", dir);
  if (!tml_path_exists(path))
    return tml_error_set(err, TML_EMODEL, "'%s' is missing: the folder is not an ensemble model set", path);
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (!root)
    return tml_error_set(err, TML_EMODEL, "corrupt '%s' line %d: %s", path, jerr.line, jerr.text);
  struct ensemble *e = calloc(1, sizeof(*e));
  int rc = e ? 0 : tml_error_set(err, TML_ENOMEM, "out of memory");
  json_t *members = json_object_get(root, "members"), *meta = json_object_get(root, "meta");
  const char *strategy = json_string_value(json_object_get(root, "strategy"));
  if (!rc && (json_integer_value(json_object_get(root, "format")) != ENSEMBLE_FORMAT || !strategy ||
              strcmp(strategy, "ensemble") != 0 || !json_is_array(members) || json_array_size(members) == 0 ||
              json_array_size(members) > MAX_MEMBERS || !json_is_object(meta)))
    rc = tml_error_set(err, TML_EMODEL, "'%s' is not an ensemble description of format %d (strategy, members, meta): "
                       "the file is corrupt; retrain the set", path, ENSEMBLE_FORMAT);
  for (size_t m = 0; !rc && m < json_array_size(members); m++) {
    json_t *jm = json_array_get(members, m);
    struct member *mb = &e->members[m];
    const char *name = json_string_value(json_object_get(jm, "strategy"));
    const char *engine = json_string_value(json_object_get(jm, "engine"));
    if (!name || tml_strategy_lookup(name, &mb->s, NULL) || mb->s == &tml_strategy_ensemble) {
      rc = tml_error_set(err, TML_EMODEL, "'%s': member %zu names strategy '%s', which this trademl does not have (%s)",
                         path, m + 1, name ? name : "(none)", tml_strategy_names());
      break;
    }
    if (json_is_true(json_object_get(jm, "engine_set")) && engine)
      snprintf(mb->engine, sizeof(mb->engine), "%s", engine);
    e->nmembers = m + 1;
    member_dir(dir, m, mb, mpath, sizeof(mpath));
    struct tml_strategy_load_info mi = *info;
    mi.engine = engine;
    rc = tml_strategy_model_load(mb->s, mpath, &mi, &mb->m, err);
  }
  if (!rc)
    rc = alloc_meta(e, err);
  for (int h = 0; h < TML_HEAD_COUNT && !rc; h++) {
    struct meta_head *mh = &e->meta[h];
    json_t *jh = json_object_get(meta, tml_head_name((enum tml_head)h));
    if (json_integer_value(json_object_get(jh, "inputs")) != (json_int_t)mh->nin) {
      rc = tml_error_set(err, TML_EMODEL, "'%s': meta.%s.inputs is not %zu (members x outputs): the file is corrupt",
                         path, tml_head_name((enum tml_head)h), mh->nin);
      break;
    }
    if (!(rc = read_doubles(json_object_get(jh, "mean"), mh->mean, mh->nin, path, "meta mean", err)) &&
        !(rc = read_doubles(json_object_get(jh, "sd"), mh->sd, mh->nin, path, "meta sd", err)))
      rc = read_doubles(json_object_get(jh, "weights"), mh->w, meta_weights(e, (enum tml_head)h), path,
                        "meta weights", err);
    for (size_t j = 0; !rc && j < mh->nin; j++)
      if (!(mh->sd[j] > 0))
        rc = tml_error_set(err, TML_EMODEL, "'%s': meta sd values must be positive: the file is corrupt", path);
  }
  if (!rc) {
    e->inner_folds = (int)json_integer_value(json_object_get(root, "inner_folds"));
    e->l2 = json_number_value(json_object_get(root, "meta_l2"));
    e->noof = (size_t)json_integer_value(json_object_get(root, "oof_rows"));
  }
  json_decref(root);
  if (rc) {
    ensemble_free(e);
    return rc;
  }
  *out = e;
  return 0;
}

static int ensemble_describe(const void *impl, struct tml_buf *out) {
  const struct ensemble *e = impl;
  tml_buf_puts(out, "{\"members\":[");
  for (size_t m = 0; m < e->nmembers; m++) {
    tml_buf_printf(out, "%s{\"strategy\":", m ? "," : "");
    tml_buf_json_str(out, e->members[m].s->name);
    tml_buf_puts(out, ",\"engine\":");
    tml_buf_json_str(out, e->members[m].engine[0] ? e->members[m].engine : TML_LEARNER_DEFAULT);
    tml_buf_puts(out, "}");
  }
  return tml_buf_printf(out, "],\"meta_model\":\"log-linear pool (a weight per member, a bias per class) per "
                             "class head, ridge per regression head\",\"inner_folds\":%d,\"meta_l2\":%g,\"oof_rows\":%zu}",
                        e->inner_folds, e->l2, e->noof);
}

/* The stopping point of the first member's head (the meta-model has none of its own). */
static void ensemble_head_info(const void *impl, int head, struct tml_strategy_head_info *out) {
  const struct ensemble *e = impl;
  const struct tml_strategy_model *m = e->members[0].m;
  m->strategy->head_info(m->impl, head, out);
  out->seconds = -1.0; /* a member's time is not the ensemble's */
}

const struct tml_strategy tml_strategy_ensemble = {
    .name = "ensemble",
    .summary = "a global stacked model: member strategies combined per head by a meta-model fitted on "
               "out-of-fold predictions",
    .needs = ensemble_needs,
    .fit = ensemble_fit,
    .predict = ensemble_predict,
    .stream_open = ensemble_stream_open,
    .stream_step = ensemble_stream_step,
    .stream_close = ensemble_stream_close,
    .save = ensemble_save,
    .load = ensemble_load,
    .describe = ensemble_describe,
    .head_info = ensemble_head_info,
    .importance = NULL,
    .head_model = NULL,
    .free = ensemble_free,
};
