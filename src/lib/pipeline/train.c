/* The training pipeline (docs/training.md): store -> dataset (features + continuous targets, computed
 * once) -> time split with purge -> class thresholds fitted on training rows only -> five heads trained
 * in parallel worker threads (one XGBoost thread each: coarse parallelism is robust on few cores, see
 * shared/docs/xgboost-c-api.md) -> validation metrics and importance -> folder written atomically. */
#include "trademl/train.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/learner.h"
#include "trademl/modelset.h"
#include "trademl/store.h"
#include "trademl/strategy.h"
#include "trademl/timeutil.h"
#include "util/common.h"

#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xgboost/c_api.h>

void tml_train_opts_default(struct tml_train_opts *o) {
  memset(o, 0, sizeof(*o));
  o->interval_ms = 15 * TML_MS_PER_MINUTE;
  o->encoding = TML_ENC_ONE_HOT;
  o->test_size = 0.2;
  o->min_train_rows = 1000;
  tml_label_spec_default(&o->labels);
  tml_xgb_params_default(&o->xgb);
  o->models_dir = "var/models";
  o->strategy = "xgb5";
}

void tml_train_result_release(struct tml_train_result *r) {
  if (!r)
    return;
  if (r->col_names)
    for (size_t i = 0; i < r->ncols; i++)
      free(r->col_names[i]);
  free(r->col_names);
  r->col_names = NULL;
}

static int online_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* Forwards a strategy's fit progress as training events (ROUND per round, HEAD_DONE per head) and
 * records how long each head took: from its start event (TML_STRATEGY_HEAD_START) to its end, or
 * from the start of the fit when the strategy sends no start event. */
struct fit_progress {
  const struct tml_train_opts *o;
  struct tml_train_result *r;
  double t0;
  double start[TML_HEAD_COUNT]; /* < 0: no start event seen */
  pthread_mutex_t lock;
};

static int on_fit_progress(void *ud, int head, int round, int total_rounds, double metric, int best_round) {
  struct fit_progress *fp = ud;
  const struct tml_train_opts *o = fp->o;
  if (round < 0 && head >= 0 && head < TML_HEAD_COUNT) {
    pthread_mutex_lock(&fp->lock);
    double now = tml_monotonic_s();
    if (round == TML_STRATEGY_HEAD_START)
      fp->start[head] = now;
    else
      fp->r->heads[head].seconds = now - (fp->start[head] >= 0 ? fp->start[head] : fp->t0);
    pthread_mutex_unlock(&fp->lock);
  }
  if (round == TML_STRATEGY_HEAD_START)
    return 0;
  if (!o->progress)
    return 0;
  if (round < 0)
    return o->progress(o->progress_ud, TML_EV_HEAD_DONE, "training", head, best_round, total_rounds, metric,
                       best_round);
  return o->progress(o->progress_ud, TML_EV_ROUND, "training", head, round, total_rounds, metric, best_round);
}

/* Validation metrics, stopping point and top-10 features of every head of the fitted model. */
static int head_results(const struct tml_strategy_model *sm, const struct tml_dataset *d, const struct tml_split *split,
                        float *const *y, struct tml_head_result *results, struct tml_error *err) {
  const struct tml_strategy *s = sm->strategy;
  size_t nv = split->valid.end - split->valid.begin;
  float *pred[TML_HEAD_COUNT] = {0};
  double *gain = calloc(d->ncols, sizeof(double));
  int rc = gain ? 0 : tml_error_set(err, TML_ENOMEM, "out of memory");
  for (int h = 0; h < TML_HEAD_COUNT && !rc; h++)
    if (!(pred[h] = malloc(nv * tml_strategy_head_width((enum tml_head)h) * sizeof(float))))
      rc = tml_error_set(err, TML_ENOMEM, "out of memory predicting %zu validation rows", nv);
  if (!rc)
    rc = s->predict(sm->impl, d, split->valid, pred, err);
  for (int h = 0; h < TML_HEAD_COUNT && !rc; h++) {
    enum tml_head head = (enum tml_head)h;
    int nclass = tml_head_nclass(head);
    struct tml_head_result *res = &results[h];
    struct tml_strategy_head_info hi;
    s->head_info(sm->impl, h, &hi);
    res->best_iteration = hi.best_iteration;
    res->best_score = hi.best_score;
    if (hi.seconds >= 0.0) /* heads trained together: the fit's own share, not start-to-end wall time */
      res->seconds = hi.seconds;
    const float *yv = y[h] + split->valid.begin;
    rc = nclass > 0 ? tml_metrics_classification(yv, pred[h], nv, nclass, &res->cls, err)
                    : tml_metrics_regression(yv, pred[h], nv, &res->reg, err);
    if (rc) {
      tml_error_prefix(err, "head '%s'", tml_head_name(head));
      break;
    }
    res->ntop = 0;
    if (!s->importance)
      continue;
    memset(gain, 0, d->ncols * sizeof(double));
    if ((rc = s->importance(sm->impl, h, gain, NULL, NULL, err)))
      break;
    /* Top 10 by gain; ties broken by column order for determinism. */
    for (size_t k = 0; k < 10; k++) {
      size_t best = SIZE_MAX;
      for (size_t j = 0; j < d->ncols; j++) {
        bool taken = false;
        for (size_t q = 0; q < res->ntop; q++)
          taken = taken || res->top[q] == j;
        if (!taken && gain[j] > 0 && (best == SIZE_MAX || gain[j] > gain[best]))
          best = j;
      }
      if (best == SIZE_MAX)
        break;
      res->top[res->ntop] = best;
      res->top_gain[res->ntop] = gain[best];
      res->ntop++;
    }
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(pred[h]);
  free(gain);
  return rc;
}

static int stage(const struct tml_train_opts *o, const char *name) {
  if (o->progress && o->progress(o->progress_ud, TML_EV_STAGE, name, -1, 0, 0, 0.0, 0))
    return TML_EINTR;
  return 0;
}

/* ---- loading ---- */
static int load_series(struct tml_store *store, const struct tml_train_opts *o, struct tml_candles *series,
                       struct tml_error *err) {
  for (size_t s = 0; s < o->nsymbols; s++) {
    int rc = tml_store_load(store, o->symbols[s], o->interval_ms, INT64_MIN, INT64_MAX, &series[s], err);
    if (rc)
      return rc;
    if (series[s].len == 0) {
      struct tml_series_info *info = NULL;
      size_t n = 0;
      struct tml_buf have;
      tml_buf_init(&have, 0);
      if (tml_store_list(store, &info, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++)
          if (strcmp(info[i].symbol, o->symbols[s]) == 0)
            tml_buf_printf(&have, "%s%s", have.len ? ", " : "", tml_interval_name(info[i].interval_ms));
        free(info);
      }
      rc = tml_error_set(err, TML_ENOENT,
                         "no %s candles for %s in the store%s%s%s: import them with `trademl data import FILE --symbol "
                         "%s --interval %s` or fetch them with `trademl data fetch`",
                         tml_interval_name(o->interval_ms), o->symbols[s], have.len ? " (stored intervals: " : "",
                         tml_buf_str(&have), have.len ? ")" : "", o->symbols[s], tml_interval_name(o->interval_ms));
      tml_buf_release(&have);
      return rc;
    }
  }
  return 0;
}

static int check_opts(const struct tml_train_opts *o, struct tml_error *err) {
  if (o->nsymbols == 0)
    return tml_error_set(err, TML_EINVAL, "no symbol given: pass --symbol SYMBOL");
  if (!tml_interval_name(o->interval_ms))
    return tml_error_set(err, TML_EINVAL, "unsupported interval of %" PRId64 " ms", o->interval_ms);
  if (!(o->test_size > 0.0 && o->test_size < 0.9))
    return tml_error_set(err, TML_EINVAL, "--test-size %g is out of range: use a fraction in (0, 0.9)", o->test_size);
  if (o->days < 0)
    return tml_error_set(err, TML_EINVAL, "--days %g must not be negative", o->days);
  if (o->purge_gap < 0)
    return tml_error_set(err, TML_EINVAL, "--purge-gap %d must not be negative", o->purge_gap);
  for (size_t i = 0; i < o->nsymbols; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(o->symbols[i], o->symbols[j]) == 0)
        return tml_error_set(err, TML_EINVAL, "symbol %s is given twice", o->symbols[i]);
  return tml_label_spec_validate(&o->labels, err);
}

/* Creates the temporary folder early, so an unwritable models folder fails before any work. */
static int make_tmp_dir(const struct tml_train_opts *o, const char *parent, char *tmp, size_t tmpsz,
                        struct tml_error *err) {
  int rc = tml_mkdir_p(parent, err);
  if (rc) {
    tml_error_prefix(err, "models folder '%s' is not usable", o->models_dir);
    return rc;
  }
  /* The name records this process, so a sweep never removes the folder while training runs. */
  if ((rc = tml_tmpdir_template(parent, tmp, tmpsz, err)))
    return rc;
  if (!mkdtemp(tmp))
    return tml_error_set(err, errno == EACCES || errno == EROFS ? TML_EPERM : TML_EIO,
                         "models folder '%s' is not writable (%s): fix its permissions or set model.models_dir",
                         parent, strerror(errno));
  return 0;
}

/* ---- writing ---- */
static void version_name(char *out, size_t outsz) {
  struct tml_tm tm;
  tml_time_split(tml_now_ms(), &tm);
  snprintf(out, outsz, "%04" PRId64 "%02u%02uT%02u%02u%02uZ", tm.year, tm.month, tm.day, tm.hour, tm.minute,
           tm.second);
}

/* metadata.json "comparison": the incumbent and its metrics on this set's validation rows, in the
 * shape of "heads" ({"heads":{"direction":{"metrics":{...}}}}), or why it could not be scored. */
static json_t *comparison_json(const struct tml_train_comparison *c) {
  json_t *o = json_object();
  json_object_set_new(o, "incumbent_path", json_string(c->incumbent_dir));
  json_object_set_new(o, "incumbent_version", json_string(c->incumbent_version));
  if (!c->scored) {
    json_object_set_new(o, "error", json_string(c->why_not));
    return o;
  }
  char t[32];
  json_object_set_new(o, "rows", json_integer((json_int_t)c->rows));
  tml_time_format(c->from_ms, t, sizeof(t));
  json_object_set_new(o, "from", json_string(t));
  tml_time_format(c->to_ms, t, sizeof(t));
  json_object_set_new(o, "to", json_string(t));
  json_t *heads = json_object();
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    int k = tml_head_nclass(head);
    const char *names[TML_MAX_CLASSES];
    for (int j = 0; j < k; j++)
      names[j] = tml_head_class_name(head, j);
    struct tml_buf b;
    tml_buf_init(&b, 0);
    if (k)
      tml_class_metrics_to_json(&c->heads[h].cls, names, &b);
    else
      tml_reg_metrics_to_json(&c->heads[h].reg, &b);
    json_t *m = json_loadb(b.ptr ? b.ptr : "{}", b.len, 0, NULL);
    tml_buf_release(&b);
    json_t *hv = json_object();
    json_object_set_new(hv, "metrics", m ? m : json_object());
    json_object_set_new(heads, tml_head_name(head), hv);
  }
  json_object_set_new(o, "heads", heads);
  return o;
}

static int write_metadata(const char *path, const struct tml_train_opts *o, const struct tml_train_result *r,
                          const struct tml_dataset *d, const struct tml_strategy_model *model, struct tml_error *err) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  int rc = tml_train_result_to_json(r, o, &b);
  if (rc) {
    tml_buf_release(&b);
    return tml_error_set(err, rc, "cannot build metadata.json");
  }
  /* Parse back to add the parts only a model set needs, then dump in insertion order. */
  json_error_t jerr;
  json_t *root = json_loadb(b.ptr, b.len, 0, &jerr);
  tml_buf_release(&b);
  if (!root)
    return tml_error_set(err, TML_EIO, "internal: metadata JSON invalid: %s", jerr.text);
  json_t *symbols = json_array();
  for (size_t i = 0; i < d->nsymbols; i++)
    json_array_append_new(symbols, json_string(d->symbols[i]));
  json_t *cols = json_array();
  for (size_t i = 0; i < d->ncols; i++)
    json_array_append_new(cols, json_string(d->col_names[i]));
  json_t *meta = json_object();
  json_object_set_new(meta, "format", json_integer(TML_MODELSET_FORMAT));
  json_object_set_new(meta, "strategy", json_string(model->strategy->name));
  struct tml_buf details;
  tml_buf_init(&details, 0);
  json_t *dj = NULL;
  if (model->strategy->describe(model->impl, &details) == 0)
    dj = json_loadb(details.ptr ? details.ptr : "{}", details.len, 0, NULL);
  tml_buf_release(&details);
  json_object_set_new(meta, "strategy_details", dj ? dj : json_object());
  json_object_set_new(meta, "engine", json_string(o->engine ? o->engine : TML_LEARNER_DEFAULT));
  json_object_set_new(meta, "version", json_string(r->version));
  json_object_set_new(meta, "symbols", symbols);
  json_object_set_new(meta, "interval", json_string(tml_interval_name(o->interval_ms)));
  json_object_set_new(meta, "training_mode", json_string(o->multi_symbol ? "multi_symbol" : "single_symbol"));
  json_object_set_new(meta, "symbol_encoding", json_string(tml_symbol_encoding_name(d->encoding)));
  json_t *fs = json_object();
  json_object_set_new(fs, "version", json_integer(TML_FEATURESET_VERSION));
  json_object_set_new(fs, "checksum", json_string(tml_featureset_checksum()));
  json_object_set_new(fs, "htf_interval",
                      json_string(tml_interval_name(o->features.htf_interval_ms ? o->features.htf_interval_ms
                                                                                : tml_featureset_default_htf(o->interval_ms))));
  json_object_set_new(fs, "nfeatures", json_integer((json_int_t)d->nfeat));
  json_object_set_new(fs, "columns", cols);
  json_object_set_new(meta, "feature_set", fs);
  json_object_update(meta, root);
  json_decref(root);
  json_t *ver = json_object();
  json_object_set_new(ver, "trademl", json_string(TML_VERSION));
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  char xv[32];
  snprintf(xv, sizeof(xv), "%d.%d.%d", major, minor, patch);
  json_object_set_new(ver, "xgboost", json_string(xv));
  json_object_set_new(meta, "software", ver);
  char created[32];
  tml_time_format(tml_now_ms(), created, sizeof(created));
  json_object_set_new(meta, "created_at", json_string(created));
  if (r->cmp.attempted) {
    json_t *cmp = comparison_json(&r->cmp);
    if (!cmp) {
      json_decref(meta);
      return tml_error_set(err, TML_ENOMEM, "out of memory writing metadata.json");
    }
    json_object_set_new(meta, "comparison", cmp);
  }
  char *text = json_dumps(meta, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
  json_decref(meta);
  if (!text)
    return tml_error_set(err, TML_ENOMEM, "out of memory writing metadata.json");
  size_t len = strlen(text);
  rc = tml_write_file_atomic(path, text, len, err);
  free(text);
  return rc;
}

static int save_set(const struct tml_train_opts *o, struct tml_train_result *r, const struct tml_dataset *d,
                    const struct tml_strategy_model *model, const char *tmp, const char *parent, struct tml_error *err) {
  char path[4200];
  int rc = model->strategy->save(model->impl, tmp, d, err);
  if (rc)
    return rc;
  for (size_t i = 0; i < o->nextra_files && !rc; i++) {
    const struct tml_train_extra_file *f = &o->extra_files[i];
    if (!f->name || !f->name[0] || strchr(f->name, '/') || f->name[0] == '.')
      return tml_error_set(err, TML_EINVAL, "extra model-set file name '%s' must be a plain file name",
                           f->name ? f->name : "(null)");
    snprintf(path, sizeof(path), "%s/%s", tmp, f->name);
    rc = tml_write_file_atomic(path, f->data, f->len, err);
  }
  if (rc)
    return rc;
  snprintf(path, sizeof(path), "%s/metadata.json", tmp);
  rc = write_metadata(path, o, r, d, model, err);
  if (rc)
    return rc;
  /* Versions are UTC seconds; a second set in the same second gets a suffix. */
  for (int attempt = 0; attempt < 100; attempt++) {
    char final[4200];
    if (attempt == 0)
      snprintf(final, sizeof(final), "%s/%s", parent, r->version);
    else
      snprintf(final, sizeof(final), "%s/%s-%d", parent, r->version, attempt + 1);
    if (tml_path_exists(final))
      continue;
    if (rename(tmp, final) != 0)
      return tml_error_set(err, TML_EIO, "cannot move model set into '%s': %s", final, strerror(errno));
    if (attempt > 0) {
      size_t vl = strlen(r->version);
      snprintf(r->version + vl, sizeof(r->version) - vl, "-%d", attempt + 1);
    }
    memcpy(r->model_dir, final, sizeof(r->model_dir) - 1);
    r->model_dir[sizeof(r->model_dir) - 1] = '\0';
    return tml_fsync_dir(parent, err);
  }
  return tml_error_set(err, TML_EEXIST, "too many model sets named %s in '%s'", r->version, parent);
}

/* Scores the incumbent set o->incumbent_dir on the validation rows of d with this run's labels y, so
 * that activation compares the two on the same rows. A set that cannot be scored (other feature set,
 * other symbols or encoding, unreadable) is not an error: cmp->why_not says why and the registry falls
 * back to the incumbent's own figures, saying so. */
static void score_incumbent(const struct tml_train_opts *o, const struct tml_dataset *d, const struct tml_split *split,
                            float *const *y, struct tml_train_comparison *cmp) {
  cmp->attempted = true;
  snprintf(cmp->incumbent_dir, sizeof(cmp->incumbent_dir), "%s", o->incumbent_dir);
  struct tml_error e;
  tml_error_init(&e);
  struct tml_modelset *m = NULL;
  size_t nv = split->valid.end - split->valid.begin;
  if (tml_modelset_load(o->incumbent_dir, &m, &e)) {
    snprintf(cmp->why_not, sizeof(cmp->why_not), "%.500s", e.msg);
    goto out;
  }
  snprintf(cmp->incumbent_version, sizeof(cmp->incumbent_version), "%s", m->version);
  bool same = m->ncols == d->ncols && m->nsymbols == d->nsymbols && m->encoding == d->encoding &&
              m->interval_ms == o->interval_ms;
  for (size_t i = 0; same && i < d->nsymbols; i++)
    same = strcmp(m->symbols[i], d->symbols[i]) == 0;
  if (!same) {
    snprintf(cmp->why_not, sizeof(cmp->why_not),
             "the incumbent's columns differ (%zu vs %zu: other symbols, encoding or interval)", m->ncols, d->ncols);
    goto out;
  }
  float *outs[TML_HEAD_COUNT] = {0};
  bool ok = nv > 0;
  for (int h = 0; h < TML_HEAD_COUNT && ok; h++)
    ok = (outs[h] = malloc(nv * tml_strategy_head_width((enum tml_head)h) * sizeof(float))) != NULL;
  if (!ok) {
    snprintf(cmp->why_not, sizeof(cmp->why_not), "%s", nv ? "out of memory" : "no validation rows");
    for (int h = 0; h < TML_HEAD_COUNT; h++)
      free(outs[h]);
    goto out;
  }
  /* One prediction of every head (a stacked strategy predicts its members once). */
  int prc = m->model->strategy->predict(m->model->impl, d, split->valid, outs, &e);
  for (int h = 0; h < TML_HEAD_COUNT && !prc; h++) {
    int k = tml_head_nclass((enum tml_head)h);
    const float *yv = y[h] + split->valid.begin;
    prc = k > 0 ? tml_metrics_classification(yv, outs[h], nv, k, &cmp->heads[h].cls, &e)
                : tml_metrics_regression(yv, outs[h], nv, &cmp->heads[h].reg, &e);
    if (prc)
      snprintf(cmp->why_not, sizeof(cmp->why_not), "scoring head '%s': %.400s", tml_head_name((enum tml_head)h), e.msg);
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(outs[h]);
  if (prc) {
    if (!cmp->why_not[0])
      snprintf(cmp->why_not, sizeof(cmp->why_not), "predicting: %.400s", e.msg);
    goto out;
  }
  cmp->rows = nv;
  cmp->from_ms = d->time[split->valid.begin];
  cmp->to_ms = d->time[split->valid.end - 1];
  cmp->scored = true;
out:
  tml_modelset_free(m);
}

static int check_classes(const struct tml_dataset *d, struct tml_range train, enum tml_head h, const float *y,
                         struct tml_head_result *res, struct tml_range valid, struct tml_error *err) {
  int k = tml_head_nclass(h);
  if (k == 0) {
    double st = 0, sv = 0;
    for (size_t i = train.begin; i < train.end; i++)
      st += (double)y[i];
    for (size_t i = valid.begin; i < valid.end; i++)
      sv += (double)y[i];
    res->train_mean = st / (double)(train.end - train.begin);
    res->valid_mean = sv / (double)(valid.end - valid.begin);
    return 0;
  }
  for (size_t i = train.begin; i < train.end; i++)
    res->train_counts[(int)y[i]]++;
  for (size_t i = valid.begin; i < valid.end; i++)
    res->valid_counts[(int)y[i]]++;
  int present = 0;
  for (int c = 0; c < k; c++)
    present += res->train_counts[c] > 0;
  if (present < 2)
    return tml_error_set(err, TML_EDATA,
                         "head '%s' has a single class in its %zu training rows of %s: the labels carry no "
                         "information; use more data (--days) or change labels.* in trademl.yaml",
                         tml_head_name(h), train.end - train.begin, d->symbols[0]);
  return 0;
}

int tml_train_build_dataset(struct tml_store *store, const struct tml_train_opts *o, struct tml_dataset *d,
                            double *t_load, double *t_features, struct tml_error *err) {
  memset(d, 0, sizeof(*d));
  if (o->nsymbols == 0 || o->nsymbols > TML_TRAIN_MAX_SYMBOLS)
    return tml_error_set(err, TML_EINVAL, "give 1 to %d symbols (--symbol SYMBOL), not %zu", TML_TRAIN_MAX_SYMBOLS,
                         o->nsymbols);
  double t0 = tml_monotonic_s();
  struct tml_candles *series = calloc(o->nsymbols, sizeof(*series));
  if (!series)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  for (size_t s = 0; s < o->nsymbols; s++)
    tml_candles_init(&series[s], o->symbols[s], o->interval_ms);
  int rc = load_series(store, o, series, err);
  /* --days-1h: the stored higher-interval series as context before each symbol's first base candle. */
  struct tml_candles *ctx = NULL;
  int64_t htf = o->features.htf_interval_ms ? o->features.htf_interval_ms : tml_featureset_default_htf(o->interval_ms);
  if (!rc && o->htf_context) {
    ctx = calloc(o->nsymbols, sizeof(*ctx));
    if (!ctx)
      rc = tml_error_set(err, TML_ENOMEM, "out of memory");
    for (size_t s = 0; !rc && s < o->nsymbols; s++) {
      tml_candles_init(&ctx[s], o->symbols[s], htf);
      int64_t from = INT64_MIN;
      if (o->htf_context_days > 0)
        from = series[s].open_time[series[s].len - 1] - (int64_t)(o->htf_context_days * (double)TML_MS_PER_DAY);
      rc = tml_store_load(store, o->symbols[s], htf, from, series[s].open_time[0], &ctx[s], err);
    }
  }
  double t1 = tml_monotonic_s();
  if (!rc) {
    struct tml_dataset_opts dopt = {.features = o->features, .labels = o->labels, .encoding = o->encoding,
                                    .from_ms = INT64_MIN, .htf_context = ctx,
                                    .threads = o->threads > 0 ? o->threads : online_cores()};
    dopt.features.base_interval_ms = o->interval_ms;
    if (o->days > 0) {
      int64_t last = INT64_MIN;
      for (size_t s = 0; s < o->nsymbols; s++)
        last = TML_MAX(last, series[s].open_time[series[s].len - 1]);
      dopt.from_ms = last - (int64_t)(o->days * (double)TML_MS_PER_DAY) + o->interval_ms;
    }
    rc = tml_dataset_build(series, o->nsymbols, &dopt, d, err);
  }
  for (size_t s = 0; s < o->nsymbols; s++) {
    tml_candles_release(&series[s]);
    if (ctx)
      tml_candles_release(&ctx[s]);
  }
  free(ctx);
  free(series);
  if (t_load)
    *t_load = t1 - t0;
  if (t_features)
    *t_features = tml_monotonic_s() - t1;
  return rc;
}

int tml_train_run(struct tml_store *store, const struct tml_train_opts *o, struct tml_train_result *r,
                  struct tml_error *err) {
  memset(r, 0, sizeof(*r));
  double t_start = tml_monotonic_s();
  struct tml_dataset d;
  memset(&d, 0, sizeof(d));
  float *y[TML_HEAD_COUNT] = {0};
  size_t *rows = NULL;
  struct tml_strategy_model *model = NULL;
  const struct tml_strategy *strategy = NULL;
  char tmp[4200] = "", parent[4200] = "";
  int rc = check_opts(o, err);
  if (rc)
    goto out;
  if ((rc = tml_strategy_lookup(o->strategy ? o->strategy : TML_STRATEGY_DEFAULT, &strategy, err)))
    goto out;

  char key[64];
  tml_modelset_key(o->symbols, o->nsymbols, key, sizeof(key));
  snprintf(parent, sizeof(parent), "%s/%s/%s/%s", o->models_dir, strategy->name, key, tml_interval_name(o->interval_ms));
  if (!o->dry_run && (rc = make_tmp_dir(o, parent, tmp, sizeof(tmp), err)))
    goto out;

  if ((rc = stage(o, "data")))
    goto cancelled;
  if ((rc = tml_train_build_dataset(store, o, &d, &r->t_load, &r->t_features, err)))
    goto out;
  if ((rc = stage(o, "features")))
    goto cancelled;
  struct tml_dataset_opts dopt = {.features = o->features};
  dopt.features.base_interval_ms = o->interval_ms;
  r->candles = d.candles;
  r->rows = d.nrows;
  r->warmup_dropped = d.warmup_dropped;
  r->context_candles = d.context_candles;
  r->unlabelled = d.unlabelled;
  r->before_window = d.before_window;
  r->first_ms = d.first_ms;
  r->last_ms = d.last_ms;
  r->ncols = d.ncols;
  memcpy(r->input_hash, d.input_hash, sizeof(r->input_hash));

  int purge = o->purge_gap > o->labels.horizon ? o->purge_gap : o->labels.horizon;
  size_t need_valid = (size_t)((double)o->min_train_rows * o->test_size / (1.0 - o->test_size)) + 1;
  size_t need_rows = o->min_train_rows + (size_t)purge + need_valid;
  if (d.nrows < need_rows) {
    size_t warm = tml_featureset_warmup(&dopt.features);
    rc = tml_error_set(err, TML_EDATA,
                       "not enough data for %s %s: %zu usable rows (from %zu candles: %zu warm-up, %zu without a "
                       "full %d-candle label window, %zu before the --days window), but training needs %zu rows "
                       "(%zu training + %d purge + %zu validation), i.e. about %zu candles of history; import or "
                       "fetch more candles, lower training.min_train_rows, or widen --days",
                       o->symbols[0], tml_interval_name(o->interval_ms), d.nrows, d.candles, d.warmup_dropped,
                       d.unlabelled, o->labels.horizon, d.before_window, need_rows, o->min_train_rows, purge,
                       need_valid, need_rows + warm + (size_t)o->labels.horizon);
    goto out;
  }

  if ((rc = stage(o, "labels")))
    goto cancelled;
  struct tml_split split;
  if ((rc = tml_dataset_split(&d, o->test_size, purge, &split, err)))
    goto out;
  r->train_rows = split.train.end - split.train.begin;
  r->valid_rows = split.valid.end - split.valid.begin;
  r->purged = split.purged;
  r->valid_from_ms = split.valid_from_ms;
  if (r->train_rows < o->min_train_rows) {
    rc = tml_error_set(err, TML_EDATA, "only %zu training rows after the split, need %zu (training.min_train_rows)",
                       r->train_rows, o->min_train_rows);
    goto out;
  }
  if ((rc = tml_labels_fit(d.fwd_return, d.fwd_vol, d.timing, &split.train, 1, &o->labels, &r->thresholds, err)))
    goto out;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    y[h] = malloc(d.nrows * sizeof(float));
    if (!y[h]) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory for labels");
      goto out;
    }
    tml_dataset_head_values(&d, (enum tml_head)h, &r->thresholds, (struct tml_range){0, d.nrows}, y[h]);
    if ((rc = check_classes(&d, split.train, (enum tml_head)h, y[h], &r->heads[h], split.valid, err)))
      goto out;
  }
  r->col_names = calloc(d.ncols, sizeof(char *));
  for (size_t j = 0; r->col_names && j < d.ncols; j++) {
    size_t n = strlen(d.col_names[j]) + 1;
    r->col_names[j] = malloc(n);
    if (r->col_names[j])
      memcpy(r->col_names[j], d.col_names[j], n);
  }
  if (o->dry_run) {
    r->t_total = tml_monotonic_s() - t_start;
    goto out;
  }

  if ((rc = stage(o, "training")))
    goto cancelled;
  double t0 = tml_monotonic_s();
  size_t ntrain = r->train_rows + r->valid_rows;
  if (!(rows = malloc(ntrain * sizeof(size_t)))) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < r->train_rows; i++)
    rows[i] = split.train.begin + i;
  for (size_t i = 0; i < r->valid_rows; i++)
    rows[r->train_rows + i] = split.valid.begin + i;
  struct tml_strategy_fit_data fd = {.d = &d, .rows = rows, .nfit = r->train_rows, .nstop = r->valid_rows,
                                     .thresholds = &r->thresholds, .horizon = o->labels.horizon};
  struct tml_strategy_params sp = {.cfg = o->config, .xgb = o->xgb, .engine = o->engine,
                                   .threads = o->threads > 0 ? o->threads : online_cores(),
                                   .progress = on_fit_progress};
  struct fit_progress fp = {.o = o, .r = r, .t0 = t0};
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    fp.start[h] = -1.0;
  pthread_mutex_init(&fp.lock, NULL);
  sp.progress_ud = &fp;
  struct tml_error fit_err;
  tml_error_init(&fit_err);
  rc = tml_strategy_fit(strategy, &fd, &sp, &model, &fit_err);
  pthread_mutex_destroy(&fp.lock);
  r->t_train = tml_monotonic_s() - t0;
  if (rc == TML_EINTR)
    goto cancelled;
  if (rc) {
    tml_error_set(err, rc, "%s", fit_err.msg);
    goto out;
  }
  if ((rc = head_results(model, &d, &split, y, r->heads, err)))
    goto out;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    r->t_xgb += r->heads[h].seconds;

  if (o->incumbent_dir && o->incumbent_dir[0]) {
    if ((rc = stage(o, "comparing with the active set")))
      goto cancelled;
    score_incumbent(o, &d, &split, y, &r->cmp);
  }
  if ((rc = stage(o, "save")))
    goto cancelled;
  t0 = tml_monotonic_s();
  version_name(r->version, sizeof(r->version));
  rc = save_set(o, r, &d, model, tmp, parent, err);
  if (!rc)
    tmp[0] = '\0'; /* renamed: nothing to clean up */
  r->t_save = tml_monotonic_s() - t0;
  r->t_total = tml_monotonic_s() - t_start;
  goto out;

cancelled:
  rc = tml_error_set(err, TML_EINTR, "training interrupted: no model set was written");
out:
  if (tmp[0])
    tml_rm_rf(tmp, NULL);
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(y[h]);
  free(rows);
  tml_strategy_model_free(model);
  tml_dataset_release(&d);
  return rc;
}

/* ---- JSON summary (metadata.json body and `train --json`) ---- */
static void put_time(struct tml_buf *b, const char *key, int64_t ms, bool comma) {
  char ts[32];
  tml_time_format(ms, ts, sizeof(ts));
  tml_buf_printf(b, "\"%s\":\"%s\"%s", key, ts, comma ? "," : "");
}

int tml_train_result_to_json(const struct tml_train_result *r, const struct tml_train_opts *o, struct tml_buf *b) {
  int rc = 0;
  tml_buf_puts(b, "{\"data\":{");
  put_time(b, "first_row", r->first_ms, true);
  put_time(b, "last_row", r->last_ms, true);
  put_time(b, "validation_from", r->valid_from_ms, true);
  tml_buf_printf(b,
                 "\"days\":%g,\"candles\":%zu,\"rows\":%zu,\"train_rows\":%zu,\"valid_rows\":%zu,\"purged_rows\":%zu,"
                 "\"warmup_rows\":%zu,\"unlabelled_rows\":%zu,\"rows_before_window\":%zu,\"input_hash\":\"%s\"",
                 o->days, r->candles, r->rows, r->train_rows, r->valid_rows, r->purged, r->warmup_dropped,
                 r->unlabelled, r->before_window, r->input_hash);
  if (o->htf_context)
    tml_buf_printf(b, ",\"htf_context\":{\"interval\":\"%s\",\"days\":%g,\"candles\":%zu}",
                   tml_interval_name(o->features.htf_interval_ms ? o->features.htf_interval_ms
                                                                 : tml_featureset_default_htf(o->interval_ms)),
                   o->htf_context_days, r->context_candles);
  tml_buf_puts(b, "},");
  tml_buf_puts(b, "\"labels\":{\"spec\":");
  rc = tml_label_spec_to_json(&o->labels, b);
  tml_buf_printf(b,
                 ",\"thresholds\":{\"direction\":[%.17g,%.17g],\"volatility\":[%.17g,%.17g,%.17g],"
                 "\"timing\":[%.17g,%.17g]}},",
                 r->thresholds.direction[0], r->thresholds.direction[1], r->thresholds.volatility[0],
                 r->thresholds.volatility[1], r->thresholds.volatility[2], r->thresholds.timing[0],
                 r->thresholds.timing[1]);
  tml_buf_puts(b, "\"parameters\":{\"xgboost\":");
  if (!rc)
    rc = tml_xgb_params_to_json(&o->xgb, tml_strategy_trains_engine(o->strategy, o->engine, o->config, "native"), b);
  tml_buf_printf(b, ",\"test_size\":%g,\"purge_gap\":%d,\"threads\":%d},", o->test_size,
                 o->purge_gap > o->labels.horizon ? o->purge_gap : o->labels.horizon, o->threads);
  tml_buf_puts(b, "\"heads\":{");
  for (int h = 0; h < TML_HEAD_COUNT && !rc; h++) {
    const struct tml_head_result *hr = &r->heads[h];
    enum tml_head head = (enum tml_head)h;
    int k = tml_head_nclass(head);
    tml_buf_printf(b, "%s\"%s\":{\"objective\":\"%s\",\"best_iteration\":%d,\"best_score\":", h ? "," : "",
                   tml_head_name(head), k ? "multi:softprob" : "reg:squarederror", hr->best_iteration);
    /* NaN (a strategy without a validation loss for the head, strategy.h) is JSON null */
    if (isfinite(hr->best_score))
      tml_buf_printf(b, "%.12g,", hr->best_score);
    else
      tml_buf_puts(b, "null,");
    if (k) {
      const char *names[TML_MAX_CLASSES];
      tml_buf_puts(b, "\"label_distribution\":{\"train\":{");
      for (int c = 0; c < k; c++) {
        names[c] = tml_head_class_name(head, c);
        tml_buf_printf(b, "%s\"%s\":%zu", c ? "," : "", names[c], hr->train_counts[c]);
      }
      tml_buf_puts(b, "},\"valid\":{");
      for (int c = 0; c < k; c++)
        tml_buf_printf(b, "%s\"%s\":%zu", c ? "," : "", names[c], hr->valid_counts[c]);
      tml_buf_puts(b, "}},\"metrics\":");
      rc = tml_class_metrics_to_json(&hr->cls, names, b);
    } else {
      tml_buf_printf(b, "\"target_mean\":{\"train\":%.12g,\"valid\":%.12g},\"metrics\":", hr->train_mean,
                     hr->valid_mean);
      rc = tml_reg_metrics_to_json(&hr->reg, b);
    }
    tml_buf_puts(b, ",\"top_features\":[");
    for (size_t i = 0; i < hr->ntop && r->col_names; i++) {
      tml_buf_printf(b, "%s{\"feature\":", i ? "," : "");
      tml_buf_json_str(b, r->col_names[hr->top[i]]);
      tml_buf_printf(b, ",\"gain\":%.9g}", hr->top_gain[i]);
    }
    tml_buf_printf(b, "],\"seconds\":%.3f}", hr->seconds);
  }
  tml_buf_printf(b,
                 "},\"timings\":{\"load_s\":%.3f,\"features_labels_s\":%.3f,\"train_s\":%.3f,\"xgboost_s\":%.3f,"
                 "\"save_s\":%.3f,\"total_s\":%.3f}}",
                 r->t_load, r->t_features, r->t_train, r->t_xgb, r->t_save, r->t_total);
  return rc;
}
