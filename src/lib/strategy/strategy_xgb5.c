/* Strategy `xgb5`: five independent boosted heads (one per target) on the feature row of the candle,
 * on the engine named by training.engine (learner.h: XGBoost or the native GBDT). Heads train in
 * parallel worker threads (one engine thread each when the budget allows: coarse parallelism is
 * robust on few cores), each with early stopping on the stop rows; a worker with no head left to
 * start grows class trees of the heads still training (native engine). The folder holds
 * <head>_model.json and <head>_feature_importance.csv per head; the bytes are those trademl wrote
 * before strategies existed (the same rows reach the engine in the same order). */
#include "trademl/strategy.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/helpers.h"
#include "trademl/learner.h"
#include "util/common.h"

#include <pthread.h>

struct xgb5 {
  const struct tml_learner *engine;
  struct tml_model *heads[TML_HEAD_COUNT]; /* NULL for a head not fitted (params heads mask) */
  double seconds[TML_HEAD_COUNT];          /* heads trained together: each head's time; else -1 */
};

/* An empty model: no head, no head's time (NULL when out of memory). */
static struct xgb5 *xgb5_new(void) {
  struct xgb5 *m = calloc(1, sizeof(*m));
  for (int h = 0; m && h < TML_HEAD_COUNT; h++)
    m->seconds[h] = -1.0;
  return m;
}

static int xgb5_needs(const struct tml_strategy_params *p, struct tml_strategy_needs *out, struct tml_error *err) {
  (void)p;
  (void)err;
  memset(out, 0, sizeof(*out));
  out->symbol_encoding = true;
  return 0;
}

static void xgb5_free(void *impl) {
  struct xgb5 *m = impl;
  if (!m)
    return;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    tml_model_free(m->heads[h]);
  free(m);
}

/* ---- fit: heads as tasks over a shared prepared fold ---- */
struct fit_job {
  const struct tml_strategy_params *p;
  struct tml_learner_fold fold;
  const float *y[TML_HEAD_COUNT];
  struct tml_range train, valid;       /* within fold.X */
  const char *const *names;
  struct tml_xgb_params xgb;           /* nthread per worker */
  struct xgb5 *m;
  int heads[TML_HEAD_COUNT];
  int nheads, next;
  int running;                         /* heads being trained now */
  /* The fit's own workers that find no head left lend themselves here to the heads still training
   * (the native engine gives them whole class trees of a round); closed when the last head ends. */
  struct tml_helpers trees;
  pthread_mutex_t lock;
  int rc;
  struct tml_error err;
  volatile int cancelled;
};

struct round_ud {
  struct fit_job *job;
  int head;
};

static int on_round(void *ud, int round, double metric, int best_round) {
  struct round_ud *r = ud;
  const struct tml_strategy_params *p = r->job->p;
  if (r->job->cancelled)
    return 1;
  if (p->progress && p->progress(p->progress_ud, r->head, round, r->job->xgb.num_boost_round, metric, best_round)) {
    r->job->cancelled = 1;
    return 1;
  }
  return 0;
}

/* A head's start, before its first round (false: the caller cancelled the fit). */
static bool head_start(struct fit_job *job, int h) {
  const struct tml_strategy_params *p = job->p;
  if (p->progress && p->progress(p->progress_ud, h, TML_STRATEGY_HEAD_START, job->xgb.num_boost_round, NAN, -1)) {
    job->cancelled = 1;
    return false;
  }
  return true;
}

/* A head's end, with the round it keeps. */
static void head_end(const struct fit_job *job, int h) {
  const struct tml_strategy_params *p = job->p;
  const struct tml_model *hm = job->m->heads[h];
  if (p->progress)
    p->progress(p->progress_ud, h, -1, job->xgb.num_boost_round, tml_model_best_score(hm),
                tml_model_best_iteration(hm));
}

/* Under job->lock: once no head is training and none is left to start, the workers lent to the
 * heads' trees are let go. */
static void close_trees_if_done(struct fit_job *job) {
  if (job->running == 0 && (job->next >= job->nheads || job->rc || job->cancelled))
    tml_helpers_close(&job->trees);
}

/* Trains heads until none is left to start. */
static void fit_heads(struct fit_job *job) {
  for (;;) {
    pthread_mutex_lock(&job->lock);
    int i = job->rc || job->cancelled ? job->nheads : job->next++;
    if (i < job->nheads)
      job->running++;
    pthread_mutex_unlock(&job->lock);
    if (i >= job->nheads)
      break;
    int h = job->heads[i];
    if (!head_start(job, h)) {
      pthread_mutex_lock(&job->lock);
      job->running--;
      close_trees_if_done(job);
      pthread_mutex_unlock(&job->lock);
      break;
    }
    struct tml_error e;
    tml_error_init(&e);
    struct round_ud ud = {job, h};
    int rc = tml_model_train(job->m->engine, &job->fold, job->y[h], job->train, job->valid,
                             tml_head_nclass((enum tml_head)h), &job->xgb, job->names, on_round, &ud,
                             &job->m->heads[h], &e);
    if (rc)
      tml_error_prefix(&e, "training head '%s'", tml_head_name((enum tml_head)h));
    if (!rc)
      head_end(job, h);
    pthread_mutex_lock(&job->lock);
    if (rc && !job->rc) {
      job->rc = rc;
      job->err = e;
    }
    job->running--;
    close_trees_if_done(job);
    pthread_mutex_unlock(&job->lock);
  }
}

/* All heads on this thread in one call (the engine's train_heads): a head's progress as when it is
 * trained alone, its start announced before the call and its end after. */
static void fit_together(struct fit_job *job) {
  struct tml_train_head lh[TML_HEAD_COUNT];
  struct round_ud ud[TML_HEAD_COUNT];
  struct tml_model *out[TML_HEAD_COUNT] = {0};
  double seconds[TML_HEAD_COUNT];
  for (int i = 0; i < job->nheads; i++) {
    int h = job->heads[i];
    if (!head_start(job, h))
      return;
    ud[i] = (struct round_ud){job, h};
    lh[i] = (struct tml_train_head){job->y[h], tml_head_nclass((enum tml_head)h), on_round, &ud[i],
                                      tml_head_name((enum tml_head)h)};
  }
  if ((job->rc = tml_model_train_heads(job->m->engine, &job->fold, lh, (size_t)job->nheads, job->train, job->valid,
                                       &job->xgb, job->names, out, seconds, &job->err)))
    return;
  for (int i = 0; i < job->nheads; i++) {
    int h = job->heads[i];
    job->m->heads[h] = out[i];
    job->m->seconds[h] = seconds[i];
    head_end(job, h);
  }
}

/* A worker of the fit: heads, then the trees of the heads still training. */
static void *fit_worker(void *arg) {
  struct fit_job *job = arg;
  fit_heads(job);
  pthread_mutex_lock(&job->lock);
  close_trees_if_done(job); /* no head was left to start at all */
  pthread_mutex_unlock(&job->lock);
  tml_helpers_serve(&job->trees);
  return NULL;
}

/* A thread lent by the caller's helpers: heads only, then back to the caller's other work. */
static void fit_worker_run(void *arg) { fit_heads(arg); }

/* The heads on `workers` threads (this one included) and on the caller's idle threads (helpers),
 * head by head. */
static void fit_spread(struct fit_job *job, int workers) {
  const struct tml_strategy_params *p = job->p;
  if (workers > 1) /* a worker with no head left to start helps the heads still training */
    job->fold.helpers = &job->trees;
  pthread_t tids[TML_HEAD_COUNT];
  int started = 0;
  for (int w = 1; w < workers; w++)
    if (pthread_create(&tids[started], NULL, fit_worker, job) == 0)
      started++;
  /* Idle threads of the caller may take heads no worker has started, with the workers' engine
   * parameters: the same models whichever thread fits a head. */
  struct tml_helpers_offer offer;
  if (p->helpers)
    tml_helpers_offer(p->helpers, &offer, fit_worker_run, job, job->nheads - workers);
  fit_worker(job);
  if (p->helpers)
    tml_helpers_withdraw(p->helpers, &offer);
  for (int w = 0; w < started; w++)
    pthread_join(tids[w], NULL);
}

static int xgb5_fit(const struct tml_strategy_fit_data *fd, const struct tml_strategy_params *p, void **out,
                    struct tml_error *err) {
  *out = NULL;
  const struct tml_dataset *d = fd->d;
  size_t ncols = d->ncols, ntrain = fd->nfit + fd->nstop;
  struct fit_job job;
  memset(&job, 0, sizeof(job));
  pthread_mutex_init(&job.lock, NULL);
  tml_helpers_init(&job.trees);
  tml_error_init(&job.err);
  job.p = p;
  job.names = (const char *const *)d->col_names;
  float *gathered = NULL, *ybuf[TML_HEAD_COUNT] = {0};
  struct xgb5 *m = xgb5_new();
  int rc = 0;
  if (!m) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
    goto out;
  }
  job.m = m;
  if ((rc = tml_learner_lookup(p->engine ? p->engine : TML_LEARNER_DEFAULT, &m->engine, err)))
    goto out;
  if (fd->nfit == 0 || fd->nstop == 0) {
    rc = tml_error_set(err, TML_EDATA, "xgb5 needs fit and early-stopping rows (got %zu and %zu)", fd->nfit, fd->nstop);
    goto out;
  }
  /* Rows in two contiguous runs (a train/validation split, a fold without embargo) are read in place
   * from the dataset: X spans from the first fit row to the last stop row and the purged rows between
   * the runs are never read. Otherwise the rows are gathered. Either way the engine sees the same
   * rows in the same order. */
  size_t a = fd->rows[0], b = fd->rows[fd->nfit];
  bool runs = fd->rows[fd->nfit - 1] == a + fd->nfit - 1 && fd->rows[ntrain - 1] == b + fd->nstop - 1 &&
              b >= a + fd->nfit;
  const float *X;
  size_t nrows;
  if (runs) {
    X = d->X + a * ncols;
    nrows = b + fd->nstop - a;
    job.train = (struct tml_range){0, fd->nfit};
    job.valid = (struct tml_range){b - a, b - a + fd->nstop};
  } else {
    if (!(gathered = malloc(ntrain * ncols * sizeof(float)))) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory for %zu training rows", ntrain);
      goto out;
    }
    for (size_t i = 0; i < ntrain; i++)
      memcpy(gathered + i * ncols, d->X + fd->rows[i] * ncols, ncols * sizeof(float));
    X = gathered;
    nrows = ntrain;
    job.train = (struct tml_range){0, fd->nfit};
    job.valid = (struct tml_range){fd->nfit, ntrain};
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    if (p->heads && !(p->heads & (1u << h)))
      continue;
    float *y = ybuf[h] = malloc((nrows ? nrows : 1) * sizeof(float));
    if (!y) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory for labels");
      goto out;
    }
    if (runs) {
      for (size_t i = 0; i < nrows; i++)
        y[i] = NAN; /* purged rows: never read */
      float *tmp = malloc(ntrain * sizeof(float));
      if (!tmp) {
        rc = tml_error_set(err, TML_ENOMEM, "out of memory for labels");
        goto out;
      }
      tml_strategy_fit_labels(fd, (enum tml_head)h, tmp);
      memcpy(y, tmp, fd->nfit * sizeof(float));
      memcpy(y + job.valid.begin, tmp + fd->nfit, fd->nstop * sizeof(float));
      free(tmp);
    } else {
      tml_strategy_fit_labels(fd, (enum tml_head)h, y);
    }
    job.y[h] = y;
    job.heads[job.nheads++] = h;
  }
  if (job.nheads == 0) {
    rc = tml_error_set(err, TML_EINVAL, "no head selected to fit");
    goto out;
  }
  /* Heads with more classes first (more trees a round): a thread that joins late, or a second
   * worker, then takes the smaller heads, and the fit ends sooner. Each head's model is the same
   * whatever the order. */
  for (int i = 1; i < job.nheads; i++) {
    int h = job.heads[i], j = i;
    while (j > 0 && tml_head_nclass((enum tml_head)job.heads[j - 1]) < tml_head_nclass((enum tml_head)h)) {
      job.heads[j] = job.heads[j - 1];
      j--;
    }
    job.heads[j] = h;
  }
  int budget = p->threads > 0 ? p->threads : 1;
  int workers = budget < job.nheads ? budget : job.nheads;
  job.xgb = p->xgb;
  job.xgb.nthread = budget / workers > 0 ? budget / workers : 1;
  /* Once for all heads; fitted on the fit rows only (native: quantile bins), on the whole thread
   * budget (no head has started yet; the same bins whatever the number of threads). */
  struct tml_xgb_params prep = job.xgb;
  prep.nthread = TML_MIN(budget, 16); /* the bins use no more; the engines' limit is 1024 */
  if ((rc = tml_learner_fold_prepare(m->engine, X, nrows, ncols, job.train, &prep, &job.fold, err)))
    goto out;
  /* One thread and an engine that trains heads together: all heads in one call (the native engine:
   * one root pass for all of them a round), unless the caller's idle threads may come to take heads
   * and the caller did not say they need not. */
  if (workers == 1 && job.nheads >= 2 && m->engine->train_heads && (!p->helpers || p->heads_together))
    fit_together(&job);
  else
    fit_spread(&job, workers);
  tml_learner_fold_release(m->engine, &job.fold);
  if (job.cancelled)
    rc = tml_error_set(err, TML_EINTR, "fit cancelled");
  else if (job.rc)
    rc = tml_error_set(err, job.rc, "%s", job.err.msg);
out:
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(ybuf[h]);
  free(gathered);
  tml_helpers_destroy(&job.trees);
  pthread_mutex_destroy(&job.lock);
  if (rc) {
    xgb5_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static int xgb5_predict(const void *impl, const struct tml_dataset *d, struct tml_range rows, float *const *out,
                        struct tml_error *err) {
  const struct xgb5 *m = impl;
  size_t n = rows.end - rows.begin;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    if (!out[h])
      continue;
    if (!m->heads[h]) {
      size_t w = tml_strategy_head_width((enum tml_head)h);
      for (size_t i = 0; i < n * w; i++)
        out[h][i] = NAN;
      continue;
    }
    int rc = tml_model_predict(m->heads[h], d->X + rows.begin * d->ncols, n, out[h], err);
    if (rc)
      return rc;
  }
  return 0;
}

/* No state between candles: a stream is the model itself. */
static int xgb5_stream_open(const void *impl, void **state, struct tml_error *err) {
  (void)err;
  *state = (void *)(uintptr_t)impl; /* read only */
  return 0;
}

static int xgb5_stream_step(void *state, const float *row, float (*out)[TML_MAX_CLASSES], struct tml_error *err) {
  const struct xgb5 *m = state;
  if (!out)
    return 0;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    if (!m->heads[h]) {
      for (int j = 0; j < TML_MAX_CLASSES; j++)
        out[h][j] = NAN;
      continue;
    }
    int rc = tml_model_predict(m->heads[h], row, 1, out[h], err);
    if (rc)
      return rc;
  }
  return 0;
}

static void xgb5_stream_close(void *state) { (void)state; }

static int write_importance(const struct tml_model *m, const struct tml_dataset *d, const char *path,
                            struct tml_error *err) {
  size_t n = d->ncols;
  double *gain = calloc(n, sizeof(double)), *weight = calloc(n, sizeof(double)), *cover = calloc(n, sizeof(double));
  size_t *order = malloc(n * sizeof(size_t));
  struct tml_buf b;
  tml_buf_init(&b, 0);
  int rc = (!gain || !weight || !cover || !order) ? tml_error_set(err, TML_ENOMEM, "out of memory") : 0;
  if (!rc)
    rc = tml_model_importance(m, gain, weight, cover, err);
  if (!rc) {
    for (size_t i = 0; i < n; i++)
      order[i] = i;
    /* Insertion sort by gain descending, column order on ties: deterministic. */
    for (size_t i = 1; i < n; i++) {
      size_t v = order[i], j = i;
      while (j > 0 && gain[order[j - 1]] < gain[v]) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = v;
    }
    tml_buf_puts(&b, "feature,gain,weight,cover\n");
    for (size_t i = 0; i < n; i++) {
      size_t c = order[i];
      tml_buf_printf(&b, "%s,%.9g,%.9g,%.9g\n", d->col_names[c], gain[c], weight[c], cover[c]);
    }
    rc = tml_write_file_atomic(path, b.ptr, b.len, err);
  }
  tml_buf_release(&b);
  free(gain);
  free(weight);
  free(cover);
  free(order);
  return rc;
}

static int xgb5_save(const void *impl, const char *dir, const struct tml_dataset *d, struct tml_error *err) {
  const struct xgb5 *m = impl;
  char path[4200];
  int rc = 0;
  for (int h = 0; h < TML_HEAD_COUNT && !rc; h++) {
    if (!m->heads[h])
      return tml_error_set(err, TML_EINVAL, "xgb5: head '%s' was not fitted; a model set holds all five heads",
                           tml_head_name((enum tml_head)h));
    snprintf(path, sizeof(path), "%s/%s_model.json", dir, tml_head_name((enum tml_head)h));
    rc = tml_model_save(m->heads[h], path, err);
    if (!rc) {
      snprintf(path, sizeof(path), "%s/%s_feature_importance.csv", dir, tml_head_name((enum tml_head)h));
      rc = write_importance(m->heads[h], d, path, err);
    }
  }
  return rc;
}

static int xgb5_load(const char *dir, const struct tml_strategy_load_info *info, void **out, struct tml_error *err) {
  *out = NULL;
  struct xgb5 *m = xgb5_new();
  if (!m)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  const char *engine = info->engine ? info->engine : TML_LEARNER_DEFAULT;
  int rc = 0;
  if (tml_learner_lookup(engine, &m->engine, NULL) != 0) {
    rc = tml_error_set(err, TML_EMODEL, "model set '%s' was trained by engine '%s', which this trademl does not have "
                       "(it has %s)", dir, engine, tml_learner_names());
    goto out;
  }
  char path[4200];
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    snprintf(path, sizeof(path), "%s/%s_model.json", dir, tml_head_name(head));
    if (!tml_path_exists(path)) {
      rc = tml_error_set(err, TML_EMODEL, "'%s' is missing: the folder is not a complete xgb5 model set", path);
      goto out;
    }
    if ((rc = tml_model_load(m->engine, path, &m->heads[h], err)))
      goto out;
    if (tml_model_ncols(m->heads[h]) != info->ncols || tml_model_nclass(m->heads[h]) != tml_head_nclass(head)) {
      rc = tml_error_set(err, TML_EMODEL, "'%s' does not match metadata.json (%zu columns, %d classes expected)", path,
                         info->ncols, tml_head_nclass(head));
      goto out;
    }
  }
out:
  if (rc) {
    xgb5_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static int xgb5_describe(const void *impl, struct tml_buf *out) {
  const struct xgb5 *m = impl;
  tml_buf_puts(out, "{\"engine\":");
  tml_buf_json_str(out, m->engine->name);
  return tml_buf_puts(out, ",\"heads\":\"one boosted model per head on the candle's feature row\"}");
}

static void xgb5_head_info(const void *impl, int head, struct tml_strategy_head_info *out) {
  const struct xgb5 *m = impl;
  const struct tml_model *hm = head >= 0 && head < TML_HEAD_COUNT ? m->heads[head] : NULL;
  out->best_iteration = hm ? tml_model_best_iteration(hm) : -1;
  out->best_score = hm ? tml_model_best_score(hm) : (double)NAN;
  out->seconds = head >= 0 && head < TML_HEAD_COUNT ? m->seconds[head] : -1.0;
}

static int xgb5_importance(const void *impl, int head, double *gain, double *weight, double *cover,
                           struct tml_error *err) {
  const struct xgb5 *m = impl;
  if (head < 0 || head >= TML_HEAD_COUNT || !m->heads[head])
    return tml_error_set(err, TML_EINVAL, "xgb5: no fitted head %d", head);
  return tml_model_importance(m->heads[head], gain, weight, cover, err);
}

static const struct tml_model *xgb5_head_model(const void *impl, int head) {
  const struct xgb5 *m = impl;
  return head >= 0 && head < TML_HEAD_COUNT ? m->heads[head] : NULL;
}

const struct tml_strategy tml_strategy_xgb5 = {
    .name = "xgb5",
    .summary = "five boosted heads (XGBoost or the native GBDT) on the candle's feature row",
    .needs = xgb5_needs,
    .fit = xgb5_fit,
    .predict = xgb5_predict,
    .stream_open = xgb5_stream_open,
    .stream_step = xgb5_stream_step,
    .stream_close = xgb5_stream_close,
    .save = xgb5_save,
    .load = xgb5_load,
    .describe = xgb5_describe,
    .head_info = xgb5_head_info,
    .importance = xgb5_importance,
    .head_model = xgb5_head_model,
    .free = xgb5_free,
};
