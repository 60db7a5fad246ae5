/* Walk-forward validation (docs/validation.md). The dataset is built once; tml_dataset_plan_folds
 * lays out the calendar folds (split, purge and embargo rules live there). Each fold: gather its fit
 * and early-stopping rows, fit class thresholds on the fit rows only, train the heads (XGBoost with
 * nthread = 1: folds run in parallel worker threads, so results do not depend on the thread count),
 * predict the test rows, compute every metric and its do-nothing baseline, and the trading view of
 * the direction head. Stages aggregate folds (mean, std, min, max) and evaluate the gates. */
#include "trademl/validate.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/helpers.h"
#include "trademl/metrics.h"
#include "trademl/rl.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "trademl/strategy.h"
#include "trademl/valmetrics.h"
#include "util/common.h"

#include <pthread.h>
#include <ctype.h>
#include <unistd.h>

const char *tml_validate_mode_name(enum tml_validate_mode m) {
  switch (m) {
  case TML_VALIDATE_FULL: return "full";
  case TML_VALIDATE_SEQUENTIAL: return "sequential";
  case TML_VALIDATE_QUICK: break;
  }
  return "quick";
}

/* ---- defaults ---- */
void tml_validate_opts_default(struct tml_validate_opts *o) {
  memset(o, 0, sizeof(*o));
  tml_train_opts_default(&o->train);
  struct tml_fold_spec base = {.embargo_days = 0, .horizon = o->train.labels.horizon, .stop_share = 0.2};
  o->quick = base;
  o->quick.window = TML_WINDOW_FIXED;
  o->quick.train_window_days = 180;
  o->quick.min_train_days = 180;
  o->quick.test_period_days = 60;
  o->quick.max_folds = 5;
  o->full = base;
  o->full.window = TML_WINDOW_EXPANDING;
  o->full.min_train_days = 120;
  o->full.train_window_days = 120;
  o->full.test_period_days = 21;
  o->full.max_folds = 0;
  o->signal_threshold = 0.6;
  o->fee_pct = 0.2;
  static const char *const defaults[] = {"direction.recall.up>0.35", "direction.accuracy>0.60",
                                         "direction.roc_auc.up>0.61", "direction.f1.up>0.45"};
  for (size_t i = 0; i < TML_ARRAY_LEN(defaults); i++)
    if (tml_gate_parse(defaults[i], &o->gates[o->ngates], NULL) == 0)
      o->ngates++;
  o->reports_dir = "var/reports";
}

/* ---- folds as tasks ----
 * Each fold is one task, taken largest first (fold_order) by a fixed number of worker threads:
 * gather its training rows, fit class thresholds on the fit rows, fit the strategy (one thread:
 * folds run in parallel, so results never depend on the thread count), predict the test rows and
 * compute every metric. Every result lands in a slot of its own (fold, metric), and sums over
 * folds are taken in fold order afterwards. With a fit cache (validate --compare), strategies of one
 * run share fits of the same fold's rows. */
struct fold_shared {
  size_t *rows;        /* fit rows then stop rows (dataset indices) */
  size_t nfit, nstop;
  double *importance;  /* direction head's gain share per column (ncols), freed at release */
};

struct fold_ctx {
  const struct tml_dataset *d;
  const struct tml_validate_opts *o;
  const struct tml_strategy *strategy; /* o->train.strategy */
  struct tml_strategy_cache *cache;    /* borrowed, may be NULL */
  struct tml_validate_stage *st;
  pthread_mutex_t lock;
  struct fold_shared *fs;
  int heads[TML_HEAD_COUNT];
  size_t nheads, ntasks, next, done;
  size_t *order;         /* fold indices in the order workers take them: most training rows first */
  size_t running;        /* folds started and not finished */
  size_t nworkers;       /* threads taking folds (set before they start) */
  struct tml_helpers helpers; /* workers with no fold left join the heads of the folds still fitting */
  size_t rows_total, rows_done; /* training rows of all folds and of the folds done (the ETA; rows_done
                                   read without the lock through ATOMIC_GET) */
  int rc;                /* set under lock; read without it through ATOMIC_GET */
  struct tml_error err;
  int cancelled;         /* set and read through ATOMIC_SET / ATOMIC_GET (the fitting threads poll it) */
  double t0;
  const char *stage_name;
  unsigned char *signal; /* per dataset row: 1 when the direction head signalled long (test rows) */
};

/* Fields the fitting threads read without the lock (rc, cancelled, done, rows_done): relaxed atomic
 * loads and stores, so that every access is defined (they only go 0 -> 1 or up, and a late read
 * costs a round). */
#define ATOMIC_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ATOMIC_SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Heads of one fold may fit on two threads at once (a helper joined): the counters are locked. */
struct round_ud {
  struct fold_ctx *ctx;
  size_t fold;
  pthread_mutex_t lock;
  int rounds;                      /* rounds run so far, all heads */
  double t_last[TML_HEAD_COUNT];   /* per head: monotonic time of its last event */
  double t_last_owner;             /* the last event the fold's own thread sent, any head */
  double t_round0;                 /* summed time from a head's start to the end of its round 0 */
  double t_start[TML_HEAD_COUNT];  /* per head: when it started (TML_STRATEGY_HEAD_START), 0 = not seen */
  pthread_t owner;                 /* the thread running the fold */
  double t_helped;                 /* summed time of the heads other threads fitted (helpers) */
};

static int on_round(void *ud, int head, int round, int total_rounds, double metric, int best) {
  struct round_ud *r = ud;
  (void)metric;
  double now = tml_monotonic_s();
  int h = head >= 0 && head < TML_HEAD_COUNT ? head : 0;
  pthread_mutex_lock(&r->lock);
  /* A head's round 0 counts from its previous event, or from the fold thread's previous event of any
   * head when that came later: heads trained together (in lockstep) send their round 0 one after
   * another, and each counts only what came since the one before, so the sum is the time to the
   * last head's round 0, not every head's wait for the others. Heads trained one after another on
   * the fold's thread count from their own start as before. */
  double from = r->t_last[h];
  bool own = pthread_equal(pthread_self(), r->owner);
  if (own && r->t_last_owner > from)
    from = r->t_last_owner;
  if (round == 0)
    r->t_round0 += now - from;
  if (own)
    r->t_last_owner = now;
  if (round == TML_STRATEGY_HEAD_START)
    r->t_start[h] = now;
  else if (round == -1 && head >= 0 && r->t_start[h] > 0 && !pthread_equal(pthread_self(), r->owner))
    r->t_helped += now - r->t_start[h];
  r->t_last[h] = now;
  if (round >= 0)
    r->rounds++;
  pthread_mutex_unlock(&r->lock);
  if (round < 0)
    return 0; /* a head starts or is done */
  struct fold_ctx *c = r->ctx;
  if (ATOMIC_GET(c->cancelled) || ATOMIC_GET(c->rc))
    return 1;
  if (c->o->progress) {
    struct tml_validate_progress p = {.event = TML_VEV_ROUND, .stage = c->stage_name, .fold = r->fold,
                                      .nfolds = c->st->nfolds, .folds_done = ATOMIC_GET(c->done), .head = head,
                                      .done_share = c->rows_total ? (double)ATOMIC_GET(c->rows_done) /
                                                                        (double)c->rows_total : -1.0,
                                      .round = round, .best_round = best, .total_rounds = total_rounds,
                                      .elapsed_s = tml_monotonic_s() - c->t0, .eta_s = -1};
    if (c->o->progress(c->o->progress_ud, &p)) {
      ATOMIC_SET(c->cancelled, 1);
      return 1;
    }
  }
  return 0;
}

static bool head_enabled(const struct tml_validate_opts *o, int h) { return !o->heads || (o->heads & (1u << h)); }

/* Buy-and-hold through the test rows r of a range, in percent: per symbol close[r] / first close of
 * that symbol in the range - 1, averaged over the symbols seen so far (one notional split equally).
 * Walks rows in order, calling back every row with the running value. */
struct bh_walk {
  double *start, *cur; /* per symbol */
  double sum;
  size_t nseen;
};

static int bh_begin(struct bh_walk *w, size_t nsymbols) {
  w->start = malloc(nsymbols * sizeof(double));
  w->cur = calloc(nsymbols, sizeof(double));
  w->sum = 0;
  w->nseen = 0;
  for (size_t i = 0; w->start && i < nsymbols; i++)
    w->start[i] = NAN;
  return w->start && w->cur ? 0 : TML_ENOMEM;
}

static double bh_step(struct bh_walk *w, const struct tml_dataset *d, size_t r) {
  size_t s = d->sym[r];
  if (isnan(w->start[s])) {
    w->start[s] = d->close[r];
    w->nseen++;
  }
  double v = (d->close[r] / w->start[s] - 1.0) * 100.0;
  w->sum += v - w->cur[s];
  w->cur[s] = v;
  return w->sum / (double)w->nseen;
}

static void bh_end(struct bh_walk *w) {
  free(w->start);
  free(w->cur);
}

static void shared_release(struct fold_shared *f) {
  free(f->rows);
  f->rows = NULL;
}

static int fold_rows_error(size_t k, size_t nfit, size_t min_rows, struct tml_error *err) {
  return tml_error_set(err, TML_EDATA,
                       "fold %zu has %zu fit rows, fewer than training.min_train_rows = %zu: lengthen the training "
                       "window or lower --min-train-rows",
                       k + 1, nfit, min_rows);
}

/* Gathers fold k's training rows and fits its class thresholds on the fit rows only. */
static int prepare_fold(struct fold_ctx *c, size_t k, struct tml_error *err) {
  const struct tml_dataset *d = c->d;
  struct fold_shared *fs = &c->fs[k];
  struct tml_validate_fold *vf = &c->st->folds[k];
  const struct tml_fold *f = &c->st->plan.folds[k];
  size_t nmax = (f->fit.end - f->fit.begin) + (f->stop.end - f->stop.begin);
  vf->fold = *f;
  fs->rows = malloc((nmax ? nmax : 1) * sizeof(size_t));
  double *fr = malloc((nmax ? nmax : 1) * sizeof(double)), *fv = malloc((nmax ? nmax : 1) * sizeof(double));
  double *tm = malloc((nmax ? nmax : 1) * sizeof(double));
  int rc = 0;
  if (!fs->rows || !fr || !fv || !tm) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory for fold %zu (%zu training rows)", k + 1, nmax);
    goto out;
  }
  tml_fold_train_rows(d, &c->st->plan, k, fs->rows, &fs->nfit, &fs->nstop);
  for (size_t i = 0; i < fs->nfit + fs->nstop; i++) {
    size_t r = fs->rows[i];
    fr[i] = d->fwd_return[r];
    fv[i] = d->fwd_vol[r];
    tm[i] = d->timing[r];
  }
  struct tml_fold_rows counts = {fs->nfit, fs->nstop, f->test.end - f->test.begin, f->purged, f->embargoed};
  tml_metric_put_rows(vf->value, &counts);
  tml_metric_put_rows(vf->baseline, &counts);
  if (fs->nfit < c->o->train.min_train_rows) {
    rc = fold_rows_error(k, fs->nfit, c->o->train.min_train_rows, err);
    goto out;
  }
  struct tml_range fit_range = {0, fs->nfit};
  if ((rc = tml_labels_fit(fr, fv, tm, &fit_range, 1, &c->o->train.labels, &vf->thresholds, err)))
    tml_error_prefix(err, "fold %zu", k + 1);
out:
  free(fr);
  free(fv);
  free(tm);
  return rc;
}

/* A class head whose fit rows hold a single class carries no information: refuse the fold early. */
static int check_fit_classes(struct fold_ctx *c, size_t k, struct tml_error *err) {
  struct fold_shared *fs = &c->fs[k];
  struct tml_strategy_fit_data fd = {.d = c->d, .rows = fs->rows, .nfit = fs->nfit, .nstop = 0,
                                     .thresholds = &c->st->folds[k].thresholds};
  float *y = malloc((fs->nfit ? fs->nfit : 1) * sizeof(float));
  if (!y)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  int rc = 0;
  for (size_t i = 0; i < c->nheads && !rc; i++) {
    enum tml_head head = (enum tml_head)c->heads[i];
    int nclass = tml_head_nclass(head);
    if (nclass == 0)
      continue;
    tml_strategy_fit_labels(&fd, head, y);
    bool seen[TML_MAX_CLASSES] = {false};
    int present = 0;
    for (size_t r = 0; r < fs->nfit; r++)
      if (!isnan(y[r]) && !seen[(int)y[r]]) {
        seen[(int)y[r]] = true;
        present++;
      }
    if (present < 2)
      rc = tml_error_set(err, TML_EDATA, "head '%s' has a single class in the fold's %zu fit rows",
                         tml_head_name(head), fs->nfit);
  }
  free(y);
  return rc;
}

/* Metrics of head h of fold k from its test predictions `pred`: labels with the fold's thresholds,
 * the do-nothing baseline, the model's metrics; the direction head adds the trading view. */
static int score_head(struct fold_ctx *c, size_t k, int h, const struct tml_strategy_model *m, const float *pred,
                      struct tml_error *err) {
  const struct tml_dataset *d = c->d;
  const struct tml_validate_opts *o = c->o;
  struct fold_shared *fs = &c->fs[k];
  struct tml_validate_fold *vf = &c->st->folds[k];
  const struct tml_fold *f = &c->st->plan.folds[k];
  enum tml_head head = (enum tml_head)h;
  int nclass = tml_head_nclass(head);
  size_t width = tml_strategy_head_width(head), ncols = d->ncols;
  size_t nfit = fs->nfit, ntest = f->test.end - f->test.begin;
  double *v = vf->value, *b = vf->baseline;
  float *y = malloc((nfit ? nfit : 1) * sizeof(float)), *ytest = malloc((ntest ? ntest : 1) * sizeof(float));
  float *base = malloc((ntest ? ntest : 1) * width * sizeof(float));
  double *ret = NULL, *ret_all = NULL;
  int rc = 0;
  if (!y || !ytest || !base) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
    goto out;
  }
  struct tml_strategy_fit_data fd = {.d = d, .rows = fs->rows, .nfit = nfit, .nstop = 0, .thresholds = &vf->thresholds};
  tml_strategy_fit_labels(&fd, head, y);
  for (size_t i = 0; i < ntest; i++) {
    size_t r = f->test.begin + i;
    if (tml_labels_head_value(head, &vf->thresholds, d->fwd_return[r], d->fwd_vol[r], d->timing[r],
                              d->stop_loss_pct[r], d->position_size[r], &ytest[i]) != 0)
      ytest[i] = NAN;
  }
  /* Baseline: the fit rows' class prior as constant probabilities (its argmax is the majority class),
   * or the fit rows' mean for regressions. */
  double prior[TML_MAX_CLASSES] = {0}, mean = 0;
  for (size_t i = 0; i < nfit; i++) {
    if (nclass > 0)
      prior[(int)y[i]] += 1.0;
    else
      mean += (double)y[i];
  }
  if (nclass > 0) {
    for (int cl = 0; cl < nclass; cl++)
      prior[cl] /= (double)nfit;
    for (size_t i = 0; i < ntest; i++)
      for (int cl = 0; cl < nclass; cl++)
        base[i * width + (size_t)cl] = (float)prior[cl];
  } else {
    mean /= (double)nfit;
    for (size_t i = 0; i < ntest; i++)
      base[i] = (float)mean;
  }
  struct tml_strategy_head_info hi;
  m->strategy->head_info(m->impl, h, &hi);
  v[tml_metric_best_iteration(head)] = hi.best_iteration >= 0 ? (double)hi.best_iteration : (double)NAN;
  if (nclass > 0) {
    struct tml_class_metrics cm, cb;
    rc = tml_metrics_classification(ytest, pred, ntest, nclass, &cm, err);
    if (!rc)
      rc = tml_metrics_classification(ytest, base, ntest, nclass, &cb, err);
    if (!rc) {
      tml_metric_put_class(v, head, &cm);
      tml_metric_put_class(b, head, &cb);
    }
  } else {
    struct tml_reg_metrics rm, rb;
    rc = tml_metrics_regression(ytest, pred, ntest, &rm, err);
    if (!rc)
      rc = tml_metrics_regression(ytest, base, ntest, &rb, err);
    if (!rc) {
      tml_metric_put_reg(v, head, &rm);
      tml_metric_put_reg(b, head, &rb);
    }
  }
  if (rc || h != TML_HEAD_DIRECTION)
    goto out;
  fs->importance = calloc(ncols, sizeof(double));
  ret = malloc((ntest ? ntest : 1) * sizeof(double));
  ret_all = malloc((ntest ? ntest : 1) * sizeof(double));
  if (!fs->importance || !ret || !ret_all) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
    goto out;
  }
  if (m->strategy->importance && m->strategy->importance(m->impl, h, fs->importance, NULL, NULL, NULL) == 0) {
    double tot = 0;
    for (size_t j = 0; j < ncols; j++)
      tot += fs->importance[j];
    for (size_t j = 0; j < ncols; j++)
      fs->importance[j] = tot > 0 ? fs->importance[j] / tot : 0.0;
  } else {
    memset(fs->importance, 0, ncols * sizeof(double));
  }
  /* Trading view: long at the close of candle t when P(up) >= threshold, out at the close of t+h;
   * net return = exp(fwd_return) - 1 - fee (round trip), in percent. */
  size_t nsig = 0, hits = 0, known = 0, hits_all = 0, known_all = 0;
  for (size_t i = 0; i < ntest; i++) {
    size_t r = f->test.begin + i;
    double net = (exp(d->fwd_return[r]) - 1.0) * 100.0 - o->fee_pct;
    ret_all[i] = net;
    if (d->tp1_hit[r] >= 0) {
      known_all++;
      hits_all += d->tp1_hit[r] == 1;
    }
    if ((double)pred[i * width + 2] >= o->signal_threshold) {
      c->signal[r] = 1; /* test ranges of folds never overlap: no lock needed */
      ret[nsig++] = net;
      if (d->tp1_hit[r] >= 0) {
        known++;
        hits += d->tp1_hit[r] == 1;
      }
    }
  }
  double years = (double)(f->test_to_ms - f->test_from_ms) / (365.0 * (double)TML_MS_PER_DAY);
  struct tml_trade_stats ts;
  tml_trade_stats_compute(ret, nsig, years, &ts);
  tml_metric_put_trades(v, &ts);
  /* Baseline: a long signal on every test candle (never skipping the market). */
  tml_trade_stats_compute(ret_all, ntest, years, &ts);
  tml_metric_put_trades(b, &ts);
  int hit = tml_metric_trading(TML_TM_HIT_RATE_TP1);
  v[hit] = known ? (double)hits / (double)known : (double)NAN;
  b[hit] = known_all ? (double)hits_all / (double)known_all : (double)NAN;
  struct bh_walk bw;
  if (bh_begin(&bw, d->nsymbols)) {
    bh_end(&bw);
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
    goto out;
  }
  double bh = 0;
  for (size_t r = f->test.begin; r < f->test.end; r++)
    bh = bh_step(&bw, d, r);
  bh_end(&bw);
  v[tml_metric_trading(TML_TM_BH_RETURN)] = b[tml_metric_trading(TML_TM_BH_RETURN)] = bh;
out:
  free(y);
  free(ytest);
  free(base);
  free(ret);
  free(ret_all);
  return rc;
}

/* Fold k: its rows and thresholds, the strategy's fit, predictions of the test rows, every head's
 * metrics. */
/* The env.* slots of fold k (valmetrics.h): the strategy's trading in the rl environment over the test
 * rows with the rl.* costs, next to buy-and-hold, flat and the policy following its direction head.
 * Left NaN where it does not apply (a multi-symbol dataset, bad rl.* settings: validate reports the
 * heads either way). */
static void env_metrics(struct fold_ctx *c, size_t k, const struct tml_strategy_model *m, const float *direction,
                        struct tml_range test) {
  double *v = c->st->folds[k].value;
  for (int i = 0; i <= TML_EM_DIRECTION_NET_RETURN; i++)
    v[tml_metric_env((enum tml_env_metric)i)] = NAN;
  struct tml_rl_env_opts eo;
  struct tml_rl_ppo_params pp;
  struct tml_rl_fold_trading ft;
  struct tml_error e;
  tml_error_init(&e);
  if (c->d->nsymbols != 1 || test.end - test.begin < 2 || tml_rl_opts_from_config(c->o->train.config, &eo, &pp, &e) ||
      tml_rl_fold_trading(c->d, test.begin, test.end, &eo, direction, &ft, &e))
    return;
  struct tml_rl_trading_metrics own = ft.direction;
  bool has_own = ft.has_direction;
  if (m->strategy->trade)
    has_own = m->strategy->trade(m->impl, c->d, test, &own, &e) == 0;
  if (has_own) {
    v[tml_metric_env(TML_EM_NET_RETURN)] = own.net_return;
    v[tml_metric_env(TML_EM_SHARPE)] = own.sharpe;
    v[tml_metric_env(TML_EM_MAX_DRAWDOWN)] = own.max_drawdown;
    v[tml_metric_env(TML_EM_PROFIT_FACTOR)] = own.profit_factor;
    v[tml_metric_env(TML_EM_TRADES)] = (double)own.trades;
    v[tml_metric_env(TML_EM_EXPOSURE)] = own.exposure;
    v[tml_metric_env(TML_EM_FEES_PAID)] = own.fees_paid;
  }
  v[tml_metric_env(TML_EM_BUY_HOLD_NET_RETURN)] = ft.buy_hold.net_return;
  v[tml_metric_env(TML_EM_FLAT_NET_RETURN)] = ft.flat.net_return;
  if (ft.has_direction)
    v[tml_metric_env(TML_EM_DIRECTION_NET_RETURN)] = ft.direction.net_return;
}

/* together: the fold's heads may train together on its thread (tml_strategy_params.heads_together). */
static int run_fold(struct fold_ctx *c, size_t k, bool together, struct tml_error *err) {
  const struct tml_dataset *d = c->d;
  const struct tml_validate_opts *o = c->o;
  struct fold_shared *fs = &c->fs[k];
  const struct tml_fold *f = &c->st->plan.folds[k];
  size_t ntest = f->test.end - f->test.begin;
  struct tml_strategy_model *m = NULL;
  float *pred[TML_HEAD_COUNT] = {0};
  double t0 = tml_monotonic_s(), t1 = t0, t2 = t0, t3 = t0;
  struct round_ud ud = {.ctx = c, .fold = k, .owner = pthread_self()};
  pthread_mutex_init(&ud.lock, NULL);
  int rc = prepare_fold(c, k, err);
  if (!rc)
    rc = check_fit_classes(c, k, err);
  if (rc)
    goto out;
  char key[64];
  snprintf(key, sizeof(key), "%s fold %zu", c->stage_name, k + 1);
  struct tml_strategy_fit_data fd = {.d = d, .rows = fs->rows, .nfit = fs->nfit, .nstop = fs->nstop,
                                     .thresholds = &c->st->folds[k].thresholds, .horizon = o->train.labels.horizon,
                                     .cache_key = key};
  struct tml_strategy_params sp = {.cfg = o->train.config, .xgb = o->train.xgb, .engine = o->train.engine,
                                   .threads = 1, .heads = o->heads, .progress = on_round, .progress_ud = &ud,
                                   .cache = c->cache, .helpers = &c->helpers, .heads_together = together};
  t1 = tml_monotonic_s();
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    ud.t_last[h] = t1;
  ud.t_last_owner = t1;
  rc = tml_strategy_fit(c->strategy, &fd, &sp, &m, err);
  t2 = tml_monotonic_s();
  for (size_t i = 0; i < c->nheads && !rc; i++) {
    enum tml_head h = (enum tml_head)c->heads[i];
    if (!(pred[h] = malloc((ntest ? ntest : 1) * tml_strategy_head_width(h) * sizeof(float))))
      rc = tml_error_set(err, TML_ENOMEM, "out of memory");
  }
  if (!rc)
    rc = m->strategy->predict(m->impl, d, f->test, pred, err);
  t3 = tml_monotonic_s();
  for (size_t i = 0; i < c->nheads && !rc; i++)
    rc = score_head(c, k, c->heads[i], m, pred[c->heads[i]], err);
  if (!rc)
    env_metrics(c, k, m, pred[TML_HEAD_DIRECTION], f->test);
out:
  tml_strategy_model_free(m);
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(pred[h]);
  double t4 = tml_monotonic_s();
  pthread_mutex_lock(&c->lock);
  if (!rc) {
    c->st->t_prepare += t1 - t0;
    c->st->t_boost += t2 - t1 + ud.t_helped; /* thread-seconds: the fit's wall plus the helpers' heads */
    c->st->t_round0 += ud.t_round0;
    c->st->rounds += ud.rounds;
    c->st->t_predict += t3 - t2;
    c->st->t_metrics += t4 - t3;
  }
  c->st->folds[k].seconds += t4 - t0;
  pthread_mutex_unlock(&c->lock);
  pthread_mutex_destroy(&ud.lock);
  if (rc && rc != TML_EINTR)
    tml_error_prefix(err, "fold %zu", k + 1);
  return rc;
}

/* A fold's training rows: its cost, as far as it is known before fitting. */
static size_t fold_rows(const struct tml_fold *f) { return f->nfit + f->nstop; }

/* Largest folds first (ties in fold order): with an expanding window the last folds are the
 * largest, and taking them last left one worker alone with a large fold at the end (longest
 * processing time first). Results do not depend on the order: every fold writes its own slots. */
static int fold_order(struct fold_ctx *c) {
  size_t n = c->ntasks;
  if (!(c->order = malloc((n ? n : 1) * sizeof *c->order)))
    return TML_ENOMEM;
  const struct tml_fold *f = c->st->plan.folds;
  for (size_t i = 0; i < n; i++) { /* insertion sort: dozens of folds */
    size_t k = i, j = i;
    c->rows_total += fold_rows(&f[k]);
    while (j > 0 && fold_rows(&f[c->order[j - 1]]) < fold_rows(&f[k])) {
      c->order[j] = c->order[j - 1];
      j--;
    }
    c->order[j] = k;
  }
  return 0;
}

static void *task_worker(void *arg) {
  struct fold_ctx *c = arg;
  for (;;) {
    pthread_mutex_lock(&c->lock);
    size_t i = ATOMIC_GET(c->rc) || ATOMIC_GET(c->cancelled) ? c->ntasks : c->next++;
    /* A fold that starts while at least as many folds wait as there are other workers is seldom
     * joined by a worker with nothing left (those workers take the waiting folds, which are no
     * larger: largest first): its heads may train together, in lockstep on this thread. The last
     * folds train head by head, so that workers left without a fold can take their heads. */
    bool together = i < c->ntasks && c->ntasks - c->next + 1 >= c->nworkers;
    if (i < c->ntasks)
      c->running++;
    else if (c->running == 0) /* the last fold is done: nothing more will be offered */
      tml_helpers_close(&c->helpers);
    pthread_mutex_unlock(&c->lock);
    if (i >= c->ntasks) {
      /* No fold left to start: help the folds still fitting (their heads) until the last is done. */
      tml_helpers_serve(&c->helpers);
      break;
    }
    size_t k = c->order[i];
    struct tml_error e;
    tml_error_init(&e);
    int rc = run_fold(c, k, together, &e);
    pthread_mutex_lock(&c->lock);
    if (rc && !ATOMIC_GET(c->rc) && !ATOMIC_GET(c->cancelled)) {
      ATOMIC_SET(c->rc, rc);
      c->err = e;
    }
    shared_release(&c->fs[k]);
    c->running--;
    if (!rc) {
      ATOMIC_SET(c->done, c->done + 1); /* written under the lock only */
      ATOMIC_SET(c->rows_done, c->rows_done + fold_rows(&c->st->plan.folds[k]));
    }
    size_t done = c->done;
    size_t rows_done = c->rows_done;
    double left = rows_done ? (double)(c->rows_total - rows_done) / (double)rows_done : 0.0;
    pthread_mutex_unlock(&c->lock);
    if (!rc && c->o->progress) {
      /* the time left in proportion to the training rows left (folds differ in size, the largest
       * run first) */
      double el = tml_monotonic_s() - c->t0;
      struct tml_validate_progress p = {.event = TML_VEV_FOLD_DONE, .stage = c->stage_name, .fold = k,
                                        .nfolds = c->st->nfolds, .folds_done = done, .head = -1, .elapsed_s = el,
                                        .eta_s = el * left,
                                        .done_share = c->rows_total ? (double)rows_done / (double)c->rows_total
                                                                    : -1.0,
                                        .result = &c->st->folds[k]};
      if (c->o->progress(c->o->progress_ud, &p))
        ATOMIC_SET(c->cancelled, 1);
    }
  }
  return NULL;
}

void tml_validate_stage_release(struct tml_validate_stage *st) {
  if (!st)
    return;
  for (size_t k = 0; st->folds && k < st->nfolds; k++) {
    free(st->folds[k].value);
    free(st->folds[k].baseline);
  }
  free(st->folds);
  tml_fold_plan_release(&st->plan);
  free(st->mean);
  free(st->std);
  free(st->min);
  free(st->max);
  free(st->baseline_mean);
  free(st->curve_time);
  free(st->curve_model);
  free(st->curve_bh);
  free(st->importance);
  memset(st, 0, sizeof(*st));
}

static void aggregate(struct tml_validate_stage *st) {
  size_t nm = tml_validate_metric_count();
  for (size_t m = 0; m < nm; m++) {
    double s = 0, ss = 0, sb = 0, lo = INFINITY, hi = -INFINITY;
    size_t n = 0, nb = 0;
    for (size_t k = 0; k < st->nfolds; k++) {
      double x = st->folds[k].value[m], y = st->folds[k].baseline[m];
      if (!isnan(x)) {
        s += x;
        n++;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
      }
      if (!isnan(y)) {
        sb += y;
        nb++;
      }
    }
    double mean = n ? s / (double)n : (double)NAN;
    for (size_t k = 0; k < st->nfolds; k++) {
      double x = st->folds[k].value[m];
      if (!isnan(x))
        ss += (x - mean) * (x - mean);
    }
    st->mean[m] = mean;
    st->std[m] = n > 1 ? sqrt(ss / (double)(n - 1)) : n ? 0.0 : (double)NAN; /* sample std (n - 1) */
    st->min[m] = n ? lo : (double)NAN;
    st->max[m] = n ? hi : (double)NAN;
    st->baseline_mean[m] = nb ? sb / (double)nb : (double)NAN;
  }
}

static void gates_eval(struct tml_validate_stage *st, const struct tml_validate_opts *o) {
  st->ngates = o->ngates;
  st->passed = true;
  for (size_t i = 0; i < o->ngates; i++) {
    struct tml_validate_gate_result *g = &st->gates[i];
    g->gate = o->gates[i];
    g->value = st->mean[g->gate.metric];
    g->baseline = st->baseline_mean[g->gate.metric];
    g->passed = tml_gate_holds(&g->gate, g->value);
    st->passed = st->passed && g->passed;
  }
}

/* Equity curves over the concatenated test periods: the direction signals (additive net returns,
 * each signal the same notional) against buy-and-hold (additive returns of holding through each test
 * period), sampled every `step` rows and at the end of every fold. */
static int build_curves(const struct tml_dataset *d, const struct tml_validate_opts *o, struct tml_validate_stage *st,
                        const unsigned char *signal, struct tml_error *err) {
  size_t total = 0;
  for (size_t k = 0; k < st->nfolds; k++)
    total += st->folds[k].fold.test.end - st->folds[k].fold.test.begin;
  size_t step = total / TML_VALIDATE_CURVE_MAX + 1;
  size_t cap = total / step + st->nfolds + 2;
  st->curve_time = malloc(cap * sizeof(int64_t));
  st->curve_model = malloc(cap * sizeof(double));
  st->curve_bh = malloc(cap * sizeof(double));
  if (!st->curve_time || !st->curve_model || !st->curve_bh)
    return tml_error_set(err, TML_ENOMEM, "out of memory for the equity curves");
  /* Compounded across the concatenated test periods, as the trading metrics are (in percent of the
   * starting equity); buy-and-hold compounds fold after fold the same way. */
  double eq = 1.0, bh_base = 0;
  size_t seen = 0, n = 0;
  for (size_t k = 0; k < st->nfolds; k++) {
    const struct tml_fold *f = &st->folds[k].fold;
    double bh = bh_base;
    struct bh_walk bw;
    if (bh_begin(&bw, d->nsymbols)) {
      bh_end(&bw);
      return tml_error_set(err, TML_ENOMEM, "out of memory for the equity curves");
    }
    for (size_t r = f->test.begin; r < f->test.end; r++, seen++) {
      if (signal && signal[r])
        eq = tml_equity_compound(eq, (exp(d->fwd_return[r]) - 1.0) * 100.0 - o->fee_pct);
      bh = ((1.0 + bh_base / 100.0) * (1.0 + bh_step(&bw, d, r) / 100.0) - 1.0) * 100.0;
      if ((seen % step == 0 || r + 1 == f->test.end) && n < cap) {
        st->curve_time[n] = d->time[r];
        st->curve_model[n] = (eq - 1.0) * 100.0;
        st->curve_bh[n] = bh;
        n++;
      }
    }
    bh_end(&bw);
    bh_base = bh;
  }
  st->ncurve = n;
  return 0;
}

int tml_validate_dataset(const struct tml_dataset *d, const struct tml_validate_opts *o, enum tml_validate_mode mode,
                         struct tml_validate_stage *st, struct tml_error *err) {
  memset(st, 0, sizeof(*st));
  size_t nm = tml_validate_metric_count();
  double t0 = tml_monotonic_s();
  st->mode = mode == TML_VALIDATE_FULL ? TML_VALIDATE_FULL : TML_VALIDATE_QUICK;
  st->spec = st->mode == TML_VALIDATE_FULL ? o->full : o->quick;
  st->spec.horizon = o->train.labels.horizon;
  st->spec.purge_candles = o->train.purge_gap;
  st->spec.stop_share = o->train.test_size > 0.5 ? 0.5 : o->train.test_size;
  int rc = tml_dataset_plan_folds(d, &st->spec, &st->plan, err);
  if (rc)
    goto fail;
  st->nfolds = st->plan.nfolds;
  st->folds = calloc(st->nfolds, sizeof(*st->folds));
  st->mean = malloc(nm * sizeof(double));
  st->std = malloc(nm * sizeof(double));
  st->min = malloc(nm * sizeof(double));
  st->max = malloc(nm * sizeof(double));
  st->baseline_mean = malloc(nm * sizeof(double));
  st->importance = calloc(d->ncols, sizeof(double));
  bool ok = st->folds && st->mean && st->std && st->min && st->max && st->baseline_mean && st->importance;
  for (size_t k = 0; ok && k < st->nfolds; k++) {
    st->folds[k].value = malloc(nm * sizeof(double));
    st->folds[k].baseline = malloc(nm * sizeof(double));
    ok = st->folds[k].value && st->folds[k].baseline;
    for (size_t m = 0; ok && m < nm; m++)
      st->folds[k].value[m] = st->folds[k].baseline[m] = NAN;
  }
  if (!ok) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory for %zu folds", st->nfolds);
    goto fail;
  }
  struct fold_ctx c;
  memset(&c, 0, sizeof(c));
  c.d = d;
  c.o = o;
  c.st = st;
  c.t0 = t0;
  c.stage_name = tml_validate_mode_name(st->mode);
  c.cache = o->cache;
  if ((rc = tml_strategy_lookup(o->train.strategy ? o->train.strategy : TML_STRATEGY_DEFAULT, &c.strategy, err)))
    goto fail;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    if (head_enabled(o, h))
      c.heads[c.nheads++] = h;
  if (c.nheads == 0) {
    rc = tml_error_set(err, TML_EINVAL, "no head selected for validation");
    goto fail;
  }
  c.ntasks = st->nfolds;
  c.signal = calloc(d->nrows ? d->nrows : 1, 1);
  c.fs = calloc(st->nfolds, sizeof(*c.fs));
  if (!c.signal || !c.fs || fold_order(&c)) {
    free(c.signal);
    free(c.fs);
    free(c.order);
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
    goto fail;
  }
  tml_error_init(&c.err);
  pthread_mutex_init(&c.lock, NULL);
  tml_helpers_init(&c.helpers);
  if (o->progress) {
    struct tml_validate_progress p = {.event = TML_VEV_PLAN, .stage = c.stage_name, .nfolds = st->nfolds,
                                      .head = -1, .eta_s = -1, .plan = &st->plan};
    if (o->progress(o->progress_ud, &p))
      c.cancelled = 1;
  }
  /* Every fold's fit rows, before any fold runs: folds are taken largest first, so a small fold
   * that cannot train would otherwise fail only after the larger ones were fitted. */
  for (size_t k = 0; k < st->nfolds && !rc; k++)
    if (st->plan.folds[k].nfit < o->train.min_train_rows)
      rc = fold_rows_error(k, st->plan.folds[k].nfit, o->train.min_train_rows, err);
  if (rc) {
    free(c.signal);
    free(c.fs);
    free(c.order);
    tml_helpers_destroy(&c.helpers);
    pthread_mutex_destroy(&c.lock);
    goto fail;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  size_t budget = o->train.threads > 0 ? (size_t)o->train.threads : cores > 0 ? (size_t)cores : 1;
  /* one worker per fold at most, and beyond the folds helpers for their heads (tml_helpers) */
  size_t most = c.ntasks * c.nheads, workers = budget < most ? budget : most;
  c.nworkers = workers < 256 ? workers : 256;
  pthread_t tids[256];
  size_t started = 0;
  for (size_t w = 1; w < workers && w < 256; w++)
    if (pthread_create(&tids[started], NULL, task_worker, &c) == 0)
      started++;
  task_worker(&c);
  for (size_t w = 0; w < started; w++)
    pthread_join(tids[w], NULL);
  tml_helpers_destroy(&c.helpers);
  pthread_mutex_destroy(&c.lock);
  if (!c.cancelled && !c.rc) {
    /* Importance: mean over folds, summed in fold order (independent of the thread count). */
    for (size_t k = 0; k < st->nfolds; k++)
      for (size_t j = 0; c.fs[k].importance && j < d->ncols; j++)
        st->importance[j] += c.fs[k].importance[j] / (double)st->nfolds;
    aggregate(st);
    gates_eval(st, o);
    rc = build_curves(d, o, st, head_enabled(o, TML_HEAD_DIRECTION) ? c.signal : NULL, err);
  }
  for (size_t k = 0; k < st->nfolds; k++) {
    shared_release(&c.fs[k]);
    free(c.fs[k].importance);
  }
  free(c.fs);
  free(c.signal);
  free(c.order);
  if (rc)
    goto fail;
  if (c.cancelled) {
    rc = tml_error_set(err, TML_EINTR, "validation interrupted: no report was written");
    goto fail;
  }
  if (c.rc) {
    rc = tml_error_set(err, c.rc, "%s", c.err.msg);
    goto fail;
  }
  st->seconds = tml_monotonic_s() - t0;
  return 0;
fail:
  tml_validate_stage_release(st);
  return rc;
}

/* ---- the whole command ---- */
void tml_validate_result_release(struct tml_validate_result *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->nstages; i++)
    tml_validate_stage_release(&r->stages[i]);
  if (r->col_names)
    for (size_t i = 0; i < r->ncols; i++)
      free(r->col_names[i]);
  free(r->col_names);
  memset(r, 0, sizeof(*r));
}

static int stage_event(const struct tml_validate_opts *o, const char *name) {
  if (!o->progress)
    return 0;
  struct tml_validate_progress p = {.event = TML_VEV_STAGE, .stage = name, .head = -1, .eta_s = -1};
  return o->progress(o->progress_ud, &p) ? TML_EINTR : 0;
}

/* Forwards the final model's training progress (cancellation included). */
static int final_progress(void *ud, enum tml_train_event ev, const char *stage, int head, int round, int total,
                          double metric, int best_round) {
  const struct tml_validate_opts *o = ud;
  (void)stage;
  (void)metric;
  if (!o->progress)
    return 0;
  struct tml_validate_progress p = {.event = ev == TML_EV_ROUND ? TML_VEV_ROUND : TML_VEV_STAGE, .stage = "final",
                                    .head = head, .round = round, .best_round = best_round,
                                    .total_rounds = total, .eta_s = -1, .done_share = -1};
  return o->progress(o->progress_ud, &p);
}

/* The dataset's figures and column names in r (names copied: r outlives the dataset). */
static void result_from_dataset(struct tml_validate_result *r, const struct tml_dataset *d) {
  r->first_ms = d->first_ms;
  r->last_ms = d->last_ms;
  r->candles = d->candles;
  r->rows = d->nrows;
  r->ncols = d->ncols;
  memcpy(r->input_hash, d->input_hash, sizeof(r->input_hash));
  r->col_names = calloc(d->ncols, sizeof(char *));
  for (size_t j = 0; r->col_names && j < d->ncols; j++) {
    size_t n = strlen(d->col_names[j]) + 1;
    r->col_names[j] = malloc(n);
    if (r->col_names[j])
      memcpy(r->col_names[j], d->col_names[j], n);
  }
}

int tml_validate_run(struct tml_store *store, const struct tml_validate_opts *o, struct tml_validate_result *r,
                     struct tml_error *err) {
  memset(r, 0, sizeof(*r));
  double t_start = tml_monotonic_s();
  const struct tml_train_opts *to = &o->train;
  struct tml_dataset d;
  memset(&d, 0, sizeof(d));
  struct tml_buf js, html; /* the last stage's report as o->report rendered it */
  tml_buf_init(&js, 0);
  tml_buf_init(&html, 0);
  int rc = 0;
  if (to->nsymbols == 0 || to->nsymbols > TML_TRAIN_MAX_SYMBOLS)
    return tml_error_set(err, TML_EINVAL, "no symbol given: pass --symbol SYMBOL");
  if ((rc = tml_label_spec_validate(&to->labels, err)))
    return rc;
  if ((rc = stage_event(o, "data")))
    goto cancelled;
  if ((rc = tml_train_build_dataset(store, to, &d, NULL, &r->t_features, err)))
    goto out;
  if ((rc = stage_event(o, "features")))
    goto cancelled;
  result_from_dataset(r, &d);

  enum tml_validate_mode modes[2] = {o->mode == TML_VALIDATE_FULL ? TML_VALIDATE_FULL : TML_VALIDATE_QUICK,
                                     TML_VALIDATE_FULL};
  size_t nmodes = o->mode == TML_VALIDATE_SEQUENTIAL ? 2 : 1;
  bool failed_gate = false;
  for (size_t i = 0; i < nmodes; i++) {
    if ((rc = stage_event(o, tml_validate_mode_name(modes[i]))))
      goto cancelled;
    struct tml_validate_stage *st = &r->stages[r->nstages];
    if ((rc = tml_validate_dataset(&d, o, modes[i], st, err)))
      goto out;
    r->nstages++;
    tml_buf_reset(&js);
    tml_buf_reset(&html);
    if (o->report && (rc = o->report(o->report_ud, o, r, st, &js, &html, err)))
      goto out;
    if (!st->passed) {
      failed_gate = true;
      if (o->mode != TML_VALIDATE_SEQUENTIAL || !o->force)
        break;
    }
    /* Sequential on a terminal: the caller shows the quick results and asks before the full stage. */
    if (o->mode == TML_VALIDATE_SEQUENTIAL && i == 0 && o->confirm && o->confirm(o->confirm_ud, st)) {
      rc = tml_error_set(err, TML_ECANCELED,
                         "sequential validation stopped after the quick stage: the full stage was declined (the quick "
                         "report is %s/report.html)",
                         st->report_dir);
      goto out;
    }
  }
  if (o->mode == TML_VALIDATE_SEQUENTIAL && (!failed_gate || o->force)) {
    if ((rc = stage_event(o, "final")))
      goto cancelled;
    /* Attach the full stage's report (as o->report rendered it) to the final model set. */
    struct tml_train_opts fo = *to;
    struct tml_train_extra_file files[2] = {{"report.json", js.ptr, js.len}, {"report.html", html.ptr, html.len}};
    fo.extra_files = files;
    fo.nextra_files = js.len ? 2 : 0;
    fo.progress = final_progress;
    fo.progress_ud = (void *)(uintptr_t)o; /* const is kept: final_progress only reads */
    struct tml_train_result tr;
    rc = tml_train_run(store, &fo, &tr, err);
    if (!rc) {
      memcpy(r->model_dir, tr.model_dir, sizeof(r->model_dir));
      tml_train_result_release(&tr);
    }
    if (rc)
      goto out;
  }
  r->t_total = tml_monotonic_s() - t_start;
  if (failed_gate && !(o->mode == TML_VALIDATE_SEQUENTIAL && o->force))
    rc = tml_error_set(err, TML_EGATE, "gate not passed in the %s stage: see %s/report.html",
                       tml_validate_mode_name(r->stages[r->nstages - 1].mode), r->stages[r->nstages - 1].report_dir);
  goto out;
cancelled:
  rc = tml_error_set(err, TML_EINTR, "validation interrupted: no report or model set was written");
out:
  tml_buf_release(&js);
  tml_buf_release(&html);
  tml_dataset_release(&d);
  return rc;
}

/* ---- validate --compare ---- */
void tml_validate_compare_release(struct tml_validate_compare *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++)
    tml_validate_result_release(&c->results[i]);
  memset(c, 0, sizeof(*c));
}

int tml_validate_compare_run(struct tml_store *store, const struct tml_validate_opts *o, const char *const *strategies,
                             size_t n, struct tml_validate_compare *c, struct tml_error *err) {
  memset(c, 0, sizeof(*c));
  struct tml_dataset d;
  memset(&d, 0, sizeof(d));
  struct tml_strategy_cache *cache = NULL;
  struct tml_buf js, html;
  tml_buf_init(&js, 0);
  tml_buf_init(&html, 0);
  int rc = 0;
  if (n < 2 || n > TML_VALIDATE_MAX_COMPARE)
    return tml_error_set(err, TML_EINVAL, "--compare takes 2 to %d strategies (known: %s), got %zu",
                         TML_VALIDATE_MAX_COMPARE, tml_strategy_names(), n);
  if (o->mode == TML_VALIDATE_SEQUENTIAL)
    return tml_error_set(err, TML_EINVAL, "--compare runs quick or full mode, not sequential");
  for (size_t i = 0; i < n; i++) {
    const struct tml_strategy *s = NULL;
    if ((rc = tml_strategy_lookup(strategies[i], &s, err))) {
      tml_error_prefix(err, "--compare");
      return rc;
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(c->names[j], s->name) == 0)
        return tml_error_set(err, TML_EINVAL, "--compare names strategy '%s' twice", s->name);
    snprintf(c->names[i], sizeof(c->names[i]), "%s", s->name);
    if (s == &tml_strategy_ensemble)
      snprintf(c->members[i], sizeof(c->members[i]), "%s", tml_strategy_ensemble_members(o->train.config));
  }
  if (o->train.nsymbols == 0 || o->train.nsymbols > TML_TRAIN_MAX_SYMBOLS)
    return tml_error_set(err, TML_EINVAL, "no symbol given: pass --symbol SYMBOL");
  if ((rc = tml_label_spec_validate(&o->train.labels, err)) || (rc = tml_strategy_cache_create(&cache, err)))
    return rc;
  if ((rc = stage_event(o, "data")))
    goto cancelled;
  double t_features = 0;
  if ((rc = tml_train_build_dataset(store, &o->train, &d, NULL, &t_features, err)))
    goto out;
  enum tml_validate_mode mode = o->mode == TML_VALIDATE_FULL ? TML_VALIDATE_FULL : TML_VALIDATE_QUICK;
  for (size_t i = 0; i < n; i++) {
    double t0 = tml_monotonic_s();
    struct tml_validate_opts so = *o;
    so.train.strategy = c->names[i];
    so.cache = cache;
    struct tml_validate_result *r = &c->results[i];
    c->n = i + 1;
    result_from_dataset(r, &d);
    r->t_features = t_features;
    if ((rc = stage_event(&so, c->names[i])))
      goto cancelled;
    if ((rc = tml_validate_dataset(&d, &so, mode, &r->stages[0], err))) {
      tml_error_prefix(err, "strategy %s", c->names[i]);
      goto out;
    }
    r->nstages = 1;
    r->t_total = tml_monotonic_s() - t0;
    tml_buf_reset(&js);
    tml_buf_reset(&html);
    if (o->report && (rc = o->report(o->report_ud, &so, r, &r->stages[0], &js, &html, err)))
      goto out;
  }
  for (size_t i = 0; i < c->n; i++)
    c->fits[i] = tml_strategy_cache_fits(cache, c->names[i]);
  goto out;
cancelled:
  rc = tml_error_set(err, TML_EINTR, "validation interrupted: no comparison was written");
out:
  tml_buf_release(&js);
  tml_buf_release(&html);
  tml_strategy_cache_destroy(cache);
  tml_dataset_release(&d);
  return rc;
}
