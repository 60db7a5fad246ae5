/* The live loop: predictions store, options, outcomes and live metrics on hand-computed cases, and the
 * loop itself on real Bybit candles with a fake clock (timers, zero reloads, bitwise equality with
 * tml_predict_latest, restart backfill without gaps or duplicates, refused models, dropped symbols).
 * Every storage test runs against SQLite (live.*) and PostgreSQL (live_pg.*, the same code: the
 * database is tml_test_db_location's); the few that look inside SQLite say so and skip on PostgreSQL. */
#include "test.h"

#include <sqlite3.h>
#include <time.h>

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/fsutil.h"
#include "trademl/jobs.h"
#include "trademl/live.h"
#include "trademl/modelset.h"
#include "trademl/predict.h"
#include "trademl/registry.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "trademl/train.h"
#include "live/live_internal.h"
#include "util/db_pg.h"

#define IV (15 * TML_MS_PER_MINUTE)

/* location: a SQLite file or a PostgreSQL URL (tml_test_db_location). */
static struct tml_store *open_store(const char *location) {
  struct tml_store *s = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_store_open(location, &s, &err), &err);
  CHECK_STR(tml_store_backend(s), tml_test_db_is_pg() ? "postgresql" : "sqlite");
  return s;
}

static struct tml_live_prediction make_pred(const char *symbol, int64_t candle_ms, float up) {
  struct tml_live_prediction p;
  memset(&p, 0, sizeof(p));
  snprintf(p.strategy, sizeof(p.strategy), "xgb5");
  snprintf(p.symbol, sizeof(p.symbol), "%s", symbol);
  p.interval_ms = IV;
  p.candle_ms = candle_ms;
  p.p.candle_ms = candle_ms;
  p.model_id = 3;
  snprintf(p.model_version, sizeof(p.model_version), "v1");
  p.p.proba[TML_HEAD_DIRECTION][0] = 0.1f;
  p.p.proba[TML_HEAD_DIRECTION][1] = 0.9f - up;
  p.p.proba[TML_HEAD_DIRECTION][2] = up;
  p.p.cls[TML_HEAD_DIRECTION] = up > 0.9f - up ? 2 : 1;
  for (int j = 0; j < 4; j++)
    p.p.proba[TML_HEAD_VOLATILITY][j] = 0.25f;
  p.p.proba[TML_HEAD_TIMING][0] = 1.0f / 3.0f; /* not exactly representable: must round-trip */
  p.p.proba[TML_HEAD_TIMING][1] = 1.0f / 3.0f;
  p.p.proba[TML_HEAD_TIMING][2] = 1.0f / 3.0f;
  p.p.value[TML_HEAD_STOP_LOSS] = 1.2345678f;
  p.p.value[TML_HEAD_POSITION_SIZE] = 0.1f;
  p.created_ms = candle_ms + IV + 2000;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    p.outcome[h] = NAN;
  return p;
}

TEST(predictions_store_unique_across_reopen) {
  char *dir = tml_test_db_location("live_store");
  struct tml_store *s = open_store(dir);
  struct tml_error err;
  tml_error_init(&err);
  int64_t t0 = INT64_C(1704067200000);
  struct tml_live_prediction a = make_pred("BTCUSDT", t0, 0.7f), b = make_pred("BTCUSDT", t0 + IV, 0.2f);
  struct tml_live_prediction e = make_pred("ETHUSDT", t0, 0.5f);
  bool ins = false;
  CHECK_OK(tml_live_predictions_put(s, &a, &ins, &err), &err);
  CHECK(ins && a.id > 0);
  CHECK_OK(tml_live_predictions_put(s, &b, &ins, &err), &err);
  CHECK(ins);
  CHECK_OK(tml_live_predictions_put(s, &e, &ins, &err), &err);
  /* The same candle again (another value): kept as first stored, not duplicated. */
  struct tml_live_prediction again = make_pred("BTCUSDT", t0, 0.05f);
  CHECK_OK(tml_live_predictions_put(s, &again, &ins, &err), &err);
  CHECK(!ins);
  tml_store_close(s);
  s = open_store(dir); /* a restart */
  CHECK_OK(tml_live_predictions_put(s, &again, &ins, &err), &err);
  CHECK(!ins);
  struct tml_live_query q;
  tml_live_query_init(&q);
  q.symbol = "BTCUSDT";
  q.interval_ms = IV;
  struct tml_live_prediction *rows = NULL;
  size_t n = 0;
  CHECK_OK(tml_live_predictions_list(s, &q, &rows, &n, &err), &err);
  CHECK_INT(n, 2);
  CHECK_INT(rows[0].candle_ms, t0);
  CHECK_INT(rows[1].candle_ms, t0 + IV);
  CHECK(memcmp(&rows[0].p, &a.p, sizeof(a.p)) == 0); /* floats round-trip exactly, classes re-derived */
  CHECK(memcmp(&rows[1].p, &b.p, sizeof(b.p)) == 0);
  CHECK(!rows[0].resolved && isnan(rows[0].outcome[0]));
  free(rows);
  /* since/until bounds and limit (newest first kept, returned oldest first) */
  q.since_ms = t0 + 1;
  CHECK_OK(tml_live_predictions_list(s, &q, &rows, &n, &err), &err);
  CHECK_INT(n, 1);
  free(rows);
  tml_live_query_init(&q);
  q.limit = 1;
  CHECK_OK(tml_live_predictions_list(s, &q, &rows, &n, &err), &err);
  CHECK_INT(n, 1);
  CHECK_INT(rows[0].candle_ms, t0 + IV);
  free(rows);
  CHECK_OK(tml_live_predictions_latest(s, "xgb5", IV, &rows, &n, &err), &err);
  CHECK_INT(n, 2);
  CHECK_STR(rows[0].symbol, "BTCUSDT");
  CHECK_INT(rows[0].candle_ms, t0 + IV);
  CHECK_STR(rows[1].symbol, "ETHUSDT");
  free(rows);
  /* Resolving stores the outcome; JSON and CSV show it. */
  float out[TML_HEAD_COUNT] = {2, 1, 0, 1.5f, 0.25f};
  CHECK_OK(tml_live_predictions_resolve(s, a.id, out, t0 + 20 * IV, &err), &err);
  CHECK_INT(tml_live_predictions_resolve(s, 999999, out, t0, &err), TML_ENOENT);
  tml_live_query_init(&q);
  q.resolved_only = true;
  CHECK_OK(tml_live_predictions_list(s, &q, &rows, &n, &err), &err);
  CHECK_INT(n, 1);
  CHECK(rows[0].resolved);
  CHECK(rows[0].outcome[0] == 2.0f && rows[0].outcome[3] == 1.5f);
  struct tml_buf b1;
  tml_buf_init(&b1, 0);
  tml_live_prediction_to_json(&rows[0], &b1);
  CHECK_CONTAINS(tml_buf_str(&b1), "\"outcome\":{\"direction\":\"up\",\"volatility\":\"normal\",\"timing\":\"bad\"");
  CHECK_CONTAINS(tml_buf_str(&b1), "\"stop_loss\":{\"value\":1.2345677614212036}");
  tml_buf_reset(&b1);
  tml_live_predictions_csv_header(&b1);
  tml_live_prediction_to_csv(&rows[0], &b1);
  CHECK_CONTAINS(tml_buf_str(&b1), "symbol,interval,strategy,candle_open_time");
  CHECK_CONTAINS(tml_buf_str(&b1), "BTCUSDT,15m,xgb5,2024-01-01T00:00:00Z,3,v1,0,");
  CHECK_CONTAINS(tml_buf_str(&b1), ",up,normal,bad,1.5,0.25\n");
  tml_buf_release(&b1);
  free(rows);
  tml_store_close(s);
  free(dir);
}

static struct tml_config *test_config(const char *home) {
  struct tml_config *cfg = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_config_load(NULL, home, &cfg, &err), &err);
  return cfg;
}

static void set(struct tml_config *cfg, const char *key, const char *value) {
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_config_set(cfg, key, value, TML_CFG_FLAG, "--test", &err), &err);
}

static int opts_rc(struct tml_config *cfg, char *msg, size_t msgsz) {
  struct tml_live_opts o;
  struct tml_error err;
  tml_error_init(&err);
  int rc = tml_live_opts_from_config(cfg, &o, &err);
  snprintf(msg, msgsz, "%s", err.msg);
  tml_live_opts_release(&o);
  return rc;
}

static void spoil_poll(struct tml_live_opts *o) { o->poll_ms = 0; }
static void spoil_heartbeat(struct tml_live_opts *o) { o->heartbeat_ms = -1; }
static void spoil_delay(struct tml_live_opts *o) { o->close_delay_ms = -5; }
static void spoil_drift(struct tml_live_opts *o) { o->drift_min_resolved = o->drift_window + 1; }

TEST(options_from_config_and_bad_input) {
  char *dir = tml_test_tmpdir("live_opts");
  struct tml_config *cfg = test_config(dir);
  char msg[1024];
  struct tml_live_opts o;
  struct tml_error err;
  tml_error_init(&err);
  set(cfg, "live.exchange", "none");
  set(cfg, "live.symbols", "btc/usdt,ETHUSDT");
  set(cfg, "live.interval", "5m");
  set(cfg, "live.coverage_check_seconds", "120");
  CHECK_OK(tml_live_opts_from_config(cfg, &o, &err), &err);
  CHECK_STR(o.exchange, "");
  CHECK_INT(o.interval_ms, 5 * TML_MS_PER_MINUTE);
  CHECK_INT(o.universe, TML_LIVE_UNIVERSE_LIST);
  CHECK_INT(o.nsymbols, 2);
  CHECK_STR(o.symbols[0], "BTCUSDT");
  CHECK_INT(o.coverage_check_ms, 120000);
  CHECK_INT(o.close_delay_ms, 2000);
  CHECK_INT(o.model_max_age_ms, 0); /* rotation off: never stale */
  CHECK_INT(o.store_cache_mib, 2);  /* the loop's long-lived candle store: small cache, no map */
  CHECK_INT(o.store_mmap_mib, 0);
  tml_live_opts_release(&o);
  set(cfg, "data.resident_cache_mib", "8");
  set(cfg, "data.resident_mmap_mib", "32");
  CHECK_OK(tml_live_opts_from_config(cfg, &o, &err), &err);
  CHECK_INT(o.store_cache_mib, 8);
  CHECK_INT(o.store_mmap_mib, 32);
  tml_live_opts_release(&o);
  /* contradicting keys */
  set(cfg, "live.universe", "top:50");
  CHECK_INT(opts_rc(cfg, msg, sizeof(msg)), TML_EINVAL);
  CHECK_CONTAINS(msg, "live.symbols (--symbols) and live.universe (--universe 'top:50') contradict");
  set(cfg, "live.symbols", "");
  CHECK_INT(opts_rc(cfg, msg, sizeof(msg)), TML_EINVAL);
  CHECK_CONTAINS(msg, "live.exchange is none");
  /* universe specs that do not parse */
  const char *bad[] = {"top:0", "top:x", "top:", "tip:5", "BTC,,ETH"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    set(cfg, "live.universe", bad[i]);
    CHECK_INT(opts_rc(cfg, msg, sizeof(msg)), TML_EINVAL);
    CHECK_CONTAINS(msg, "does not parse");
  }
  set(cfg, "live.universe", "");
  set(cfg, "live.exchange", "krakken");
  CHECK_INT(opts_rc(cfg, msg, sizeof(msg)), TML_EINVAL);
  CHECK_CONTAINS(msg, "krakken");
  set(cfg, "live.exchange", "bybit");
  set(cfg, "live.category", "options");
  CHECK_INT(opts_rc(cfg, msg, sizeof(msg)), TML_EINVAL);
  CHECK_CONTAINS(msg, "live.exchange/live.category");
  set(cfg, "live.category", "linear");
  set(cfg, "live.interval", "7m");
  CHECK_INT(opts_rc(cfg, msg, sizeof(msg)), TML_EINVAL);
  CHECK_CONTAINS(msg, "live.interval");
  set(cfg, "live.interval", "15m");
  set(cfg, "live.universe", "all");
  CHECK_OK(tml_live_opts_from_config(cfg, &o, &err), &err);
  CHECK_INT(o.universe, TML_LIVE_UNIVERSE_ALL);
  CHECK_STR(o.category, "linear");
  tml_live_opts_release(&o);
  set(cfg, "live.drift.min_resolved", "500");
  CHECK_INT(opts_rc(cfg, msg, sizeof(msg)), TML_EINVAL);
  CHECK_CONTAINS(msg, "live.drift.min_resolved");
  set(cfg, "live.drift.min_resolved", "50");
  set(cfg, "operations.model_rotation.enabled", "true");
  set(cfg, "operations.model_rotation.retrain_frequency_days", "2");
  CHECK_OK(tml_live_opts_from_config(cfg, &o, &err), &err);
  CHECK_INT(o.model_max_age_ms, 48 * TML_MS_PER_HOUR);
  tml_live_opts_release(&o);
  /* Options filled by hand: tml_live_create names the one out of range, and writes nothing. */
  struct tml_paths paths;
  memset(&paths, 0, sizeof(paths));
  snprintf(paths.home, sizeof(paths.home), "%s/nohome", dir);
  snprintf(paths.db, sizeof(paths.db), "%s/nohome/trademl.db", dir);
  snprintf(paths.models, sizeof(paths.models), "%s/nohome/models", dir);
  snprintf(paths.logs, sizeof(paths.logs), "%s/nohome/logs", dir);
  struct {
    void (*spoil)(struct tml_live_opts *);
    const char *named;
  } cases[] = {
      {spoil_poll, "live.poll_ms (poll_ms) is out of range"},
      {spoil_heartbeat, "live.heartbeat_seconds (heartbeat_ms) is out of range"},
      {spoil_delay, "live.close_delay_seconds (close_delay_ms) is out of range"},
      {spoil_drift, "live.drift.min_resolved (drift_min_resolved, larger than live.drift.window)"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    tml_live_opts_init(&o);
    cases[i].spoil(&o);
    struct tml_live *l = NULL;
    tml_error_init(&err);
    CHECK_INT(tml_live_create(cfg, &paths, &o, &l, &err), TML_EINVAL);
    CHECK(l == NULL);
    CHECK_CONTAINS(err.msg, cases[i].named);
    tml_live_opts_release(&o);
  }
  CHECK(!tml_path_exists(paths.home));
  tml_config_free(cfg);
  free(dir);
}

/* Three candles, h = 2, worked by hand (docs/labels.md):
 *   close 100 -> 101 -> 102: fwd_return = ln 1.02 = 0.0198 > 0.005  -> up (2)
 *   r = ln 1.01, ln(102/101): population std = (r1 - r2)/2 = 4.90e-5 in (1e-5, 1e-4] -> normal (1)
 *   long: MFE = 103/100 - 1 = 0.03, MAE = 1 - 99/100 = 0.01 -> timing 0.75 > 0.6 -> good (2)
 *   target 1% reached on candle 1, MAE before it 0.01 -> stop 1.0%; position 0.5 / 1.0 = 0.5 */
TEST(outcome_hand_computed) {
  struct tml_candles c;
  tml_candles_init(&c, "TESTUSDT", IV);
  tml_candles_push(&c, 0, 100, 100, 100, 100, 1);
  tml_candles_push(&c, IV, 100, 103, 99, 101, 1);
  tml_candles_push(&c, 2 * IV, 101, 102, 100, 102, 1);
  struct tml_label_spec spec;
  tml_label_spec_default(&spec);
  spec.horizon = 2;
  struct tml_label_thresholds th = {{-0.005, 0.005}, {1e-5, 1e-4, 1e-3}, {0.3, 0.6}};
  float out[TML_HEAD_COUNT];
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_live_outcome(&c, 0, &spec, &th, out, &err), &err);
  CHECK(out[TML_HEAD_DIRECTION] == 2.0f);
  CHECK(out[TML_HEAD_VOLATILITY] == 1.0f);
  CHECK(out[TML_HEAD_TIMING] == 2.0f);
  CHECK_NEAR(out[TML_HEAD_STOP_LOSS], 1.0, 1e-6);
  CHECK_NEAR(out[TML_HEAD_POSITION_SIZE], 0.5, 1e-6);
  /* The horizon has not passed for candle 1. */
  CHECK_INT(tml_live_outcome(&c, 1, &spec, &th, out, &err), TML_EDATA);
  CHECK(isnan(out[0]));
  tml_candles_release(&c);
}

/* Equal to the label code of training on a real series (targets over the whole series). */
TEST(outcome_equals_training_labels) {
  char *csv = tml_test_data_file("bybit-linear/BTC_USDT_USDT-15m-futures.csv");
  struct tml_candles c;
  tml_test_load_candles(csv, "BTCUSDT", 600, &c);
  free(csv);
  struct tml_label_spec spec;
  tml_label_spec_default(&spec);
  struct tml_label_thresholds th = {{-0.002, 0.002}, {0.001, 0.002, 0.004}, {0.4, 0.7}};
  struct tml_targets t;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_targets_compute(&c, &spec, &t, &err), &err);
  size_t classes_seen[3] = {0, 0, 0};
  for (size_t i = 0; i + (size_t)spec.horizon < c.len; i++) {
    float out[TML_HEAD_COUNT];
    CHECK_OK(tml_live_outcome(&c, i, &spec, &th, out, &err), &err);
    for (int h = 0; h < TML_HEAD_COUNT; h++) {
      float y;
      CHECK_OK(tml_labels_head_value((enum tml_head)h, &th, t.fwd_return[i], t.fwd_vol[i], t.timing[i],
                                     t.stop_loss_pct[i], t.position_size[i], &y),
               &err);
      CHECK_MSG(memcmp(&y, &out[h], sizeof(y)) == 0, "row %zu head %d: %g vs %g", i, h, (double)y, (double)out[h]);
    }
    classes_seen[(int)out[0]]++;
  }
  CHECK(classes_seen[0] > 0 && classes_seen[1] > 0 && classes_seen[2] > 0);
  tml_targets_release(&t);
  tml_candles_release(&c);
}

/* accuracy 2/3, log loss (ln 2 + ln(10/3) + ln(5/4)) / 3, RMSE sqrt(1.25 / 3); the unresolved one ignored. */
TEST(quality_and_drift_hand_computed) {
  struct tml_live_prediction p[4];
  float ups[4] = {0.5f, 0.1f, 0.8f, 0.9f};
  float pd[4][3] = {{0.2f, 0.3f, 0.5f}, {0.6f, 0.3f, 0.1f}, {0.1f, 0.1f, 0.8f}, {0.05f, 0.05f, 0.9f}};
  float y[4] = {2, 1, 2, 0};
  float sl[4] = {1, 2, 3, 9}, sly[4] = {1.5f, 2, 2, 0};
  for (int i = 0; i < 4; i++) {
    p[i] = make_pred("BTCUSDT", i * IV, ups[i]);
    for (int j = 0; j < 3; j++)
      p[i].p.proba[0][j] = pd[i][j];
    p[i].p.cls[0] = pd[i][0] > pd[i][2] ? 0 : 2;
    p[i].p.value[TML_HEAD_STOP_LOSS] = sl[i];
    p[i].resolved = i < 3;
    p[i].outcome[0] = i < 3 ? y[i] : NAN;
    p[i].outcome[TML_HEAD_STOP_LOSS] = i < 3 ? sly[i] : NAN;
  }
  struct tml_live_head_quality q[TML_HEAD_COUNT];
  memset(q, 0, sizeof(q));
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    q[h].oos_accuracy = q[h].oos_logloss = q[h].oos_rmse = NAN;
    tml_live_quality_compute(p, 4, (enum tml_head)h, &q[h]);
  }
  CHECK_INT(q[0].n, 3);
  CHECK_NEAR(q[0].accuracy, 2.0 / 3.0, 1e-12);
  double ll = (-log((double)0.5f) - log((double)0.3f) - log((double)0.8f)) / 3.0;
  CHECK_NEAR(q[0].logloss, ll, 1e-12);
  CHECK_NEAR(q[0].logloss, 0.70675, 1e-4);
  CHECK(isnan(q[0].rmse));
  CHECK_INT(q[TML_HEAD_STOP_LOSS].n, 3);
  CHECK_NEAR(q[TML_HEAD_STOP_LOSS].rmse, sqrt(1.25 / 3.0), 1e-7);
  CHECK(isnan(q[TML_HEAD_STOP_LOSS].accuracy));
  CHECK_INT(q[TML_HEAD_VOLATILITY].n, 0); /* no outcomes given for it */
  /* Drift: 0.7068 - 0.55 = 0.157 */
  q[0].oos_logloss = 0.55;
  CHECK(tml_live_quality_drift(q, 3, 0.10));
  CHECK(!tml_live_quality_drift(q, 4, 0.10)); /* too few resolved */
  CHECK(!tml_live_quality_drift(q, 3, 0.20)); /* within the margin */
  q[0].oos_logloss = NAN;
  CHECK(!tml_live_quality_drift(q, 3, 0.10)); /* no out-of-sample figure: never drift */
}

/* ---- the loop on real candles with a fake clock ------------------------------------------------------ */

#define NBTC 3200
#define NTRAIN 2900 /* candles stored when the model is trained; later ones are revealed by the clock */

struct fake_clock {
  int64_t now;
};
static int64_t fake_now(void *ctx) { return ((struct fake_clock *)ctx)->now; }

struct capture {
  struct tml_buf log;
  size_t predictions;
  int64_t last_candle;
  bool in_order;
};
static void on_event(void *ctx, const char *level, const char *line) {
  struct capture *c = ctx;
  tml_buf_printf(&c->log, "%s %s\n", level, line);
}
static void on_prediction(void *ctx, const struct tml_live_prediction *p) {
  struct capture *c = ctx;
  if (c->predictions && p->candle_ms <= c->last_candle)
    c->in_order = false;
  c->predictions++;
  c->last_candle = p->candle_ms;
}

static size_t count_lines(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

struct loopfix {
  char *dir;
  struct tml_paths paths;
  struct tml_config *cfg;
  struct tml_store *store;
  struct tml_candles btc;
  char model_dir[4200];
  int64_t model_id;
  int64_t t0; /* a clock reading 3 s after candle NTRAIN-1 closed */
};

static void put_slice(struct tml_store *s, const struct tml_candles *c, size_t from, size_t to) {
  struct tml_candles part;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_candles_slice(c, from, to, &part), &err);
  CHECK_OK(tml_store_put(s, &part, false, NULL, &err), &err);
  tml_candles_release(&part);
}

static int64_t register_dir(struct loopfix *f, const char *dir, int64_t created_ms) {
  struct tml_registry *reg = NULL;
  struct tml_model_row row;
  tml_model_row_init(&row);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_open(f->paths.db, &reg, &err), &err);
  CHECK_OK(tml_registry_register(reg, dir, 0, NULL, created_ms, &row, &err), &err);
  CHECK_MSG(row.active, "model %s not activated: %s", dir, row.status_reason);
  int64_t id = row.id;
  tml_model_row_release(&row);
  tml_registry_close(reg);
  return id;
}

/* A copy of the model folder under another version name (same model, new registry row). */
static void copy_model(struct loopfix *f, const char *version, char *out, size_t outsz) {
  snprintf(out, outsz, "%s/../%s", f->model_dir, version);
  char cmd[9000];
  snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", f->model_dir, out);
  CHECK_MSG(system(cmd) == 0, "%s failed", cmd);
}

static void loopfix_open_ex(struct loopfix *f, const char *name, bool reveal_future);
static void loopfix_open(struct loopfix *f, const char *name) { loopfix_open_ex(f, name, true); }

/* reveal_future false: only the candles up to NTRAIN are stored (the test stores later ones itself). */
static void loopfix_open_ex(struct loopfix *f, const char *name, bool reveal_future) {
  memset(f, 0, sizeof(*f));
  char *btc_csv = tml_test_data_file("bybit-linear/BTC_USDT_USDT-15m-futures.csv");
  char *eth_csv = tml_test_data_file("bybit-linear/ETH_USDT_USDT-15m-futures.csv");
  struct tml_error err;
  tml_error_init(&err);
  f->dir = tml_test_tmpdir(name);
  snprintf(f->paths.home, sizeof(f->paths.home), "%s", f->dir);
  if (tml_test_db_is_pg()) { /* the database on the test server; model folders in the home as always */
    char *url = tml_test_db_location(name);
    snprintf(f->paths.db, sizeof(f->paths.db), "%s", url);
    free(url);
  } else {
    snprintf(f->paths.db, sizeof(f->paths.db), "%s/trademl.db", f->dir);
  }
  snprintf(f->paths.models, sizeof(f->paths.models), "%s/models", f->dir);
  snprintf(f->paths.logs, sizeof(f->paths.logs), "%s/logs", f->dir);
  CHECK_OK(tml_paths_ensure(&f->paths, &err), &err);
  f->cfg = test_config(f->dir);
  set(f->cfg, "model.models_dir", f->paths.models);
  set(f->cfg, "data.db_path", f->paths.db);
  set(f->cfg, "data.min_history_days", "20");
  set(f->cfg, "data.min_coverage_pct", "90");
  set(f->cfg, "live.exchange", "none");
  f->store = open_store(f->paths.db);
  tml_test_load_candles(btc_csv, "BTCUSDT", NBTC, &f->btc);
  put_slice(f->store, &f->btc, 0, NTRAIN);
  /* A short listing: ETH's candles of the last ~5 days of the BTC window only. */
  struct tml_candles eth;
  tml_test_load_candles(eth_csv, "ETHUSDT", 2000, &eth);
  size_t a = tml_candles_lower_bound(&eth, f->btc.open_time[NBTC - 500]);
  size_t b = tml_candles_lower_bound(&eth, f->btc.open_time[NBTC - 1] + 1);
  CHECK(b - a > 400);
  put_slice(f->store, &eth, a, b);
  tml_candles_release(&eth);
  free(btc_csv);
  free(eth_csv);
  struct tml_train_opts o;
  tml_train_opts_default(&o);
  o.symbols[0] = "BTCUSDT";
  o.nsymbols = 1;
  o.interval_ms = IV;
  o.models_dir = f->paths.models;
  o.strategy = "xgb5";
  o.xgb.num_boost_round = 8;
  o.threads = 1;
  struct tml_train_result r;
  CHECK_OK(tml_train_run(f->store, &o, &r, &err), &err);
  snprintf(f->model_dir, sizeof(f->model_dir), "%s", r.model_dir);
  tml_train_result_release(&r);
  f->t0 = f->btc.open_time[NTRAIN] + 3000;
  f->model_id = register_dir(f, f->model_dir, f->t0 - 60000);
  if (reveal_future)
    put_slice(f->store, &f->btc, NTRAIN, NBTC); /* the future, revealed by the clock */
}

static void loopfix_close(struct loopfix *f) {
  tml_candles_release(&f->btc);
  tml_store_close(f->store);
  tml_config_free(f->cfg);
  free(f->dir);
}

static struct tml_live *start_loop(struct loopfix *f, struct fake_clock *clk, struct capture *cap) {
  struct tml_live_opts o;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_live_opts_from_config(f->cfg, &o, &err), &err);
  o.clock = fake_now;
  o.clock_ctx = clk;
  o.on_event = on_event;
  o.on_prediction = on_prediction;
  o.cb_ctx = cap;
  struct tml_live *l = NULL;
  CHECK_OK(tml_live_create(f->cfg, &f->paths, &o, &l, &err), &err);
  tml_live_opts_release(&o);
  return l;
}

static void run_ticks(struct tml_live *l, struct fake_clock *clk, size_t n, int64_t step_ms) {
  struct tml_error err;
  tml_error_init(&err);
  for (size_t i = 0; i < n; i++) {
    CHECK_OK(tml_live_tick(l, &err), &err);
    if (i + 1 < n)
      clk->now += step_ms;
  }
}

static const struct tml_live_symbol *find(const struct tml_live_status *st, const char *symbol) {
  for (size_t i = 0; i < st->nsymbols; i++)
    if (strcmp(st->symbols[i].symbol, symbol) == 0)
      return &st->symbols[i];
  tml_test_fail(__FILE__, __LINE__, "%s not in the live status", symbol);
}

/* Every stored BTC prediction, ascending; checks there is no gap (consecutive candles). */
static size_t btc_predictions(struct loopfix *f, struct tml_live_prediction **rows) {
  struct tml_live_query q;
  tml_live_query_init(&q);
  q.symbol = "BTCUSDT";
  q.interval_ms = IV;
  size_t n = 0;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_live_predictions_list(f->store, &q, rows, &n, &err), &err);
  for (size_t i = 1; i < n; i++)
    CHECK_MSG((*rows)[i].candle_ms == (*rows)[i - 1].candle_ms + IV, "gap or duplicate after prediction %zu", i - 1);
  return n;
}

TEST(loop_timers_predictions_and_restart) {
  struct loopfix f;
  loopfix_open(&f, "live_loop");
  struct fake_clock clk = {f.t0};
  struct capture cap;
  memset(&cap, 0, sizeof(cap));
  cap.in_order = true;
  tml_buf_init(&cap.log, 0);
  struct tml_live *l = start_loop(&f, &clk, &cap);
  /* 4 hours of loop time in 10 s ticks. */
  size_t nticks = 1440;
  run_ticks(l, &clk, nticks, 10000);
  struct tml_live_status st;
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  int64_t span_s = (int64_t)(nticks - 1) * 10;
  CHECK_INT(st.counters.ticks, nticks);
  CHECK_INT(st.counters.coverage_checks, span_s / 300 + 1); /* exactly on its timer, from the first tick */
  CHECK_INT(st.counters.universe_refreshes, span_s / 3600 + 1);
  CHECK_INT(st.counters.reloads, 0);                        /* nothing changed: zero reloads, ETH blocked */
  CHECK_INT(st.counters.loads, 1);
  CHECK_INT(st.counters.jobs_submitted, 0);
  const struct tml_live_symbol *btc = find(&st, "BTCUSDT"), *eth = find(&st, "ETHUSDT");
  CHECK_STR(tml_live_state_name(btc->state), "active");
  CHECK_INT(btc->model_id, f.model_id);
  CHECK_STR(tml_live_state_name(eth->state), "blocked");
  CHECK_CONTAINS(eth->reason, "days of history (< 20 minimum); blocked until enough history accumulates; "
                              "re-checked every 300s; will not trigger training");
  CHECK(eth->next_check_ms > clk.now && eth->next_check_ms <= clk.now + 300000);
  /* Candles NTRAIN-1 .. the last closed one: one prediction each, in order, each equal to
   * tml_predict_latest for that candle bit for bit. */
  int64_t boundary = tml_time_floor(clk.now - 2000, IV);
  size_t expect = (size_t)((boundary - f.btc.open_time[NTRAIN - 1]) / IV);
  CHECK_INT(cap.predictions, expect);
  CHECK(cap.in_order);
  CHECK_INT(st.counters.predictions, expect);
  tml_live_status_release(&st);
  struct tml_live_prediction *rows = NULL;
  size_t n = btc_predictions(&f, &rows);
  CHECK_INT(n, expect);
  CHECK_INT(rows[0].candle_ms, f.btc.open_time[NTRAIN - 1]);
  struct tml_modelset *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_modelset_load(f.model_dir, &m, &err), &err);
  for (size_t i = 0; i < n; i++) {
    struct tml_prediction p;
    CHECK_OK(tml_predict_latest(f.store, m, "BTCUSDT", rows[i].candle_ms + IV, &p, &err), &err);
    CHECK_MSG(p.candle_ms == rows[i].candle_ms && memcmp(p.proba, rows[i].p.proba, sizeof(p.proba)) == 0 &&
                  memcmp(p.value, rows[i].p.value, sizeof(p.value)) == 0 && memcmp(p.cls, rows[i].p.cls, sizeof(p.cls)) == 0,
              "live prediction %zu differs from tml_predict_latest", i);
    CHECK_INT(rows[i].model_id, f.model_id);
  }
  /* Outcomes: candles whose 12-candle horizon passed are resolved with the model's thresholds. */
  size_t resolved = 0;
  for (size_t i = 0; i < n; i++)
    resolved += rows[i].resolved;
  CHECK_INT(resolved, n - 12);
  free(rows);
  const char *log = tml_buf_str(&cap.log);
  CHECK_INT(count_lines(log, "info live loop started: coverage checks every 300s, universe refresh every 60m, "
                             "heartbeat every 600s\n"), 1);
  CHECK_INT(count_lines(log, "live heartbeat: 1 active symbols, 1 blocked, 0 training, 0 stale, last candle "),
            span_s / 600);
  CHECK_INT(count_lines(log, "ETHUSDT: only "), 1); /* blocked once, not re-logged every check */
  tml_live_destroy(l);

  /* Down for 2 hours (8 candles close); meanwhile a new model is registered 1 hour in. The restart
   * backfills the 8 candles: those that closed before the new model was registered with the old one. */
  int64_t down_at = clk.now;
  clk.now += 2 * TML_MS_PER_HOUR;
  char v2[4400];
  copy_model(&f, "29990101T000000Z", v2, sizeof(v2));
  int64_t created2 = down_at + TML_MS_PER_HOUR;
  int64_t id2 = register_dir(&f, v2, created2);
  CHECK(id2 != f.model_id);
  tml_buf_release(&cap.log);
  memset(&cap, 0, sizeof(cap));
  cap.in_order = true;
  tml_buf_init(&cap.log, 0);
  l = start_loop(&f, &clk, &cap);
  run_ticks(l, &clk, 1, 0);
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_INT(st.counters.backfilled, 8);
  CHECK_INT(st.counters.predictions, 8);
  CHECK_INT(st.counters.reloads, 0);
  CHECK_INT(find(&st, "BTCUSDT")->model_id, id2);
  tml_live_status_release(&st);
  size_t n2 = btc_predictions(&f, &rows);
  CHECK_INT(n2, n + 8);
  size_t old_model = 0, new_model = 0;
  for (size_t i = n; i < n2; i++) {
    bool before = rows[i].candle_ms + IV <= created2;
    CHECK_INT(rows[i].model_id, before ? f.model_id : id2);
    old_model += before;
    new_model += !before;
  }
  CHECK(old_model >= 3 && new_model >= 3);
  free(rows);
  CHECK_CONTAINS(tml_buf_str(&cap.log), "BTCUSDT: backfilled ");
  /* More ticks, nothing new: no duplicates, no reloads. */
  run_ticks(l, &clk, 5, 1000); /* stays before the next close */
  CHECK_INT(btc_predictions(&f, &rows), n2);
  free(rows);
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_INT(st.counters.reloads, 0);
  tml_live_status_release(&st);
  tml_live_destroy(l);
  tml_buf_release(&cap.log);
  /* What `trademl live status` reads from the store in another process. */
  CHECK_OK(tml_live_status_load(f.store, "xgb5", IV, &st, &err), &err);
  CHECK(!st.running);
  CHECK_INT(st.nsymbols, 2);
  CHECK_STR(tml_live_state_name(find(&st, "ETHUSDT")->state), "blocked");
  CHECK_INT(find(&st, "BTCUSDT")->last_predicted_ms, f.btc.open_time[NTRAIN - 1] + (int64_t)(n2 - 1) * IV);
  tml_live_status_release(&st);
  tml_modelset_free(m);
  loopfix_close(&f);
}

TEST(loop_refuses_checksum_and_drops_symbols) {
  struct loopfix f;
  loopfix_open(&f, "live_refuse");
  struct tml_error err;
  tml_error_init(&err);
  /* A model whose feature checksum differs from the running code's becomes active. */
  char bad[4400], meta[4500];
  copy_model(&f, "29990101T000000Z", bad, sizeof(bad));
  snprintf(meta, sizeof(meta), "%s/metadata.json", bad);
  size_t len = 0;
  char *text = tml_test_read_file(meta, &len);
  CHECK(text != NULL);
  char *at = strstr(text, tml_featureset_checksum());
  CHECK(at != NULL);
  memcpy(at, "0123456789abcdef", 16);
  CHECK_OK(tml_write_file_atomic(meta, text, len, &err), &err);
  free(text);
  int64_t bad_id = register_dir(&f, bad, f.t0 - 1000);
  /* A queued job the loop submitted for ETH earlier. */
  struct tml_jobs *jobs = NULL;
  CHECK_OK(tml_jobs_open(f.paths.db, NULL, &jobs, &err), &err);
  struct tml_job_spec spec;
  tml_job_spec_init(&spec);
  spec.symbols[0] = "ETHUSDT";
  spec.nsymbols = 1;
  spec.interval = "15m";
  spec.source = "live";
  int64_t job = 0;
  CHECK_OK(tml_jobs_submit(jobs, &spec, &job, NULL, &err), &err);
  set(f.cfg, "live.universe_refresh_minutes", "1");
  struct fake_clock clk = {f.t0};
  struct capture cap;
  memset(&cap, 0, sizeof(cap));
  tml_buf_init(&cap.log, 0);
  struct tml_live *l = start_loop(&f, &clk, &cap);
  run_ticks(l, &clk, 200, 5000);
  struct tml_live_status st;
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  const struct tml_live_symbol *btc = find(&st, "BTCUSDT");
  CHECK_STR(tml_live_state_name(btc->state), "blocked");
  CHECK_CONTAINS(btc->reason, "refused");
  CHECK_CONTAINS(btc->reason, "feature set checksum 0123456789abcdef");
  CHECK_INT(st.counters.loads, 0);
  CHECK_INT(st.counters.reloads, 0);
  CHECK_INT(st.counters.predictions, 0);
  CHECK_INT(count_lines(tml_buf_str(&cap.log), "BTCUSDT: active model"), 1); /* refused once, not retried */
  tml_live_status_release(&st);
  (void)bad_id;
  /* ETH leaves the universe (its candles are deleted): dropped, its queued live job cancelled. */
  CHECK_OK(tml_store_delete(f.store, "ETHUSDT", IV, &err), &err);
  run_ticks(l, &clk, 20, 5000);
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_MSG(find(&st, "ETHUSDT")->state == TML_LIVE_DROPPED, "ETHUSDT not dropped: %s\n%s",
            tml_live_state_name(find(&st, "ETHUSDT")->state), tml_buf_str(&cap.log));
  CHECK_CONTAINS(find(&st, "ETHUSDT")->reason, "1 queued job cancelled");
  tml_live_status_release(&st);
  struct tml_job j;
  CHECK_OK(tml_jobs_get(jobs, job, &j, &err), &err);
  CHECK_STR(tml_job_status_name(j.status), "cancelled");
  /* Rolling back to the good model (an activation) loads it: one reload, predictions resume. */
  struct tml_registry *reg = NULL;
  CHECK_OK(tml_registry_open(f.paths.db, &reg, &err), &err);
  CHECK_OK(tml_registry_activate(reg, f.model_id, &err), &err);
  tml_registry_close(reg);
  run_ticks(l, &clk, 200, 5000);
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_STR(tml_live_state_name(find(&st, "BTCUSDT")->state), "active");
  CHECK_INT(st.counters.reloads, 1);
  CHECK_INT(st.counters.loads, 1);
  CHECK(st.counters.predictions > 0);
  tml_live_status_release(&st);
  tml_live_destroy(l);
  tml_jobs_close(jobs);
  tml_buf_release(&cap.log);
  loopfix_close(&f);
}

/* Jobs the loop submitted for a symbol, by kind. */
static size_t live_jobs(struct loopfix *f, const char *symbol, enum tml_job_kind kind) {
  struct tml_jobs *jobs = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_jobs_open(f->paths.db, NULL, &jobs, &err), &err);
  struct tml_job_filter flt;
  tml_job_filter_init(&flt);
  flt.symbol = symbol;
  flt.source = "live";
  flt.kind = (int)kind;
  struct tml_job *rows = NULL;
  size_t n = 0;
  CHECK_OK(tml_jobs_list(jobs, &flt, &rows, &n, NULL, &err), &err);
  free(rows);
  tml_jobs_close(jobs);
  return n;
}

/* A model whose walk-forward log loss was (implausibly) 0.01: live log loss is far worse once enough
 * predictions resolved -> drift, one retrain job, however long the loop keeps running. */
TEST(loop_drift_submits_one_retrain) {
  struct loopfix f;
  loopfix_open(&f, "live_drift");
  struct tml_error err;
  tml_error_init(&err);
  char report[4400];
  snprintf(report, sizeof(report), "%s/report.json", f.model_dir);
  static const char rep[] = "{\"summary\":{\"direction.logloss\":{\"mean\":0.01},\"direction.accuracy\":{\"mean\":0.9},"
                            "\"stop_loss.rmse\":{\"mean\":0.5}}}";
  CHECK_OK(tml_write_file_atomic(report, rep, strlen(rep), &err), &err);
  set(f.cfg, "live.drift.window", "20");
  set(f.cfg, "live.drift.min_resolved", "10");
  struct fake_clock clk = {f.t0};
  struct capture cap;
  memset(&cap, 0, sizeof(cap));
  tml_buf_init(&cap.log, 0);
  struct tml_live *l = start_loop(&f, &clk, &cap);
  run_ticks(l, &clk, 10, 15 * 60000); /* 10 candles: nothing resolved yet */
  struct tml_live_status st;
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_STR(tml_live_state_name(find(&st, "BTCUSDT")->state), "active");
  CHECK_INT(find(&st, "BTCUSDT")->quality[0].n, 0);
  tml_live_status_release(&st);
  run_ticks(l, &clk, 30, 15 * 60000); /* 12 + 10 candles later: resolved >= 10 */
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  const struct tml_live_symbol *btc = find(&st, "BTCUSDT");
  CHECK_STR(tml_live_state_name(btc->state), "drift");
  CHECK_CONTAINS(btc->reason, "drift: live direction log loss");
  CHECK(btc->quality[0].n >= 10 && btc->quality[0].n <= 20);
  CHECK_NEAR(btc->quality[0].oos_logloss, 0.01, 1e-12);
  CHECK_NEAR(btc->quality[0].oos_accuracy, 0.9, 1e-12);
  CHECK_NEAR(btc->quality[TML_HEAD_STOP_LOSS].oos_rmse, 0.5, 1e-12);
  CHECK(btc->quality[0].logloss > 0.11);
  CHECK(!isnan(btc->quality[TML_HEAD_STOP_LOSS].rmse));
  CHECK_INT(st.counters.jobs_submitted, 1);
  tml_live_status_release(&st);
  run_ticks(l, &clk, 20, 15 * 60000);
  CHECK_INT(live_jobs(&f, "BTCUSDT", TML_JOB_RETRAIN), 1);
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_STR(tml_live_state_name(find(&st, "BTCUSDT")->state), "drift"); /* still predicting */
  CHECK_INT(st.counters.jobs_submitted, 1);
  CHECK(st.counters.predictions >= 55); /* one per candle (run_ticks does not advance after its last tick) */
  tml_live_status_release(&st);
  CHECK_INT(count_lines(tml_buf_str(&cap.log), "BTCUSDT: drift: "), 1);
  tml_live_destroy(l);
  tml_buf_release(&cap.log);
  loopfix_close(&f);
}

/* A model older than live.model_max_age_hours: stale, one retrain job; with stale_action=block no
 * prediction is made until a new model is activated. */
TEST(loop_stale_model_retrains_once_and_blocks) {
  struct loopfix f;
  loopfix_open(&f, "live_stale");
  set(f.cfg, "live.model_max_age_hours", "2");
  set(f.cfg, "live.stale_action", "block");
  struct fake_clock clk = {f.t0};
  struct capture cap;
  memset(&cap, 0, sizeof(cap));
  tml_buf_init(&cap.log, 0);
  struct tml_live *l = start_loop(&f, &clk, &cap);
  run_ticks(l, &clk, 60, 60000); /* 1 hour: fresh */
  struct tml_live_status st;
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_STR(tml_live_state_name(find(&st, "BTCUSDT")->state), "active");
  uint64_t made = st.counters.predictions;
  CHECK(made >= 4);
  tml_live_status_release(&st);
  run_ticks(l, &clk, 120, 60000); /* past 2 hours: stale at the next coverage check */
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  const struct tml_live_symbol *btc = find(&st, "BTCUSDT");
  CHECK_STR(tml_live_state_name(btc->state), "stale");
  CHECK_CONTAINS(btc->reason, "hours old (> 2, live.model_max_age_hours); retrain submitted; not predicted");
  uint64_t at_stale = st.counters.predictions;
  CHECK(at_stale <= made + 5);
  tml_live_status_release(&st);
  run_ticks(l, &clk, 120, 60000);
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_INT(st.counters.predictions, at_stale); /* blocked: nothing predicted */
  CHECK_INT(st.counters.jobs_submitted, 1);
  tml_live_status_release(&st);
  CHECK_INT(live_jobs(&f, "BTCUSDT", TML_JOB_RETRAIN), 1);
  tml_live_destroy(l);
  tml_buf_release(&cap.log);
  loopfix_close(&f);
}

/* A train job the loop submitted succeeded but no model was activated (the registry's gate rejected
 * it): the symbol stays blocked with that reason and is not re-queued on every coverage check (the
 * "re-queued forever" failure), also after a restart. */
TEST(loop_no_resubmit_after_job_without_activation) {
  struct loopfix f;
  loopfix_open(&f, "live_noactivation");
  set(f.cfg, "data.min_history_days", "3"); /* ETH's ~5 days qualify: one train job */
  struct tml_error err;
  tml_error_init(&err);
  struct fake_clock clk = {f.t0};
  struct capture cap;
  memset(&cap, 0, sizeof(cap));
  tml_buf_init(&cap.log, 0);
  struct tml_live *l = start_loop(&f, &clk, &cap);
  run_ticks(l, &clk, 3, 10000);
  CHECK_INT(live_jobs(&f, "ETHUSDT", TML_JOB_TRAIN), 1);
  /* A worker runs it; it succeeds, and no model becomes active. */
  struct tml_jobs *jobs = NULL;
  CHECK_OK(tml_jobs_open(f.paths.db, NULL, &jobs, &err), &err);
  struct tml_job j;
  bool got = false;
  CHECK_OK(tml_jobs_claim(jobs, "test-worker", 60, &j, &got, &err), &err);
  CHECK(got);
  CHECK_STR(j.symbols, "ETHUSDT");
  CHECK_OK(tml_jobs_finish(jobs, j.id, j.fence, TML_OUTCOME_SUCCEEDED, 0, 1.0, NULL, NULL, NULL, &err), &err);
  run_ticks(l, &clk, 360, 10000); /* one hour: 12 coverage checks */
  CHECK_INT(live_jobs(&f, "ETHUSDT", TML_JOB_TRAIN), 1);
  struct tml_live_status st;
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_INT(st.counters.jobs_submitted, 1);
  const struct tml_live_symbol *eth = find(&st, "ETHUSDT");
  CHECK_STR(tml_live_state_name(eth->state), "blocked");
  CHECK_CONTAINS(eth->reason, "succeeded but no model was activated");
  tml_live_status_release(&st);
  /* After a restart too (the job id is persisted). */
  tml_live_destroy(l);
  l = start_loop(&f, &clk, &cap);
  run_ticks(l, &clk, 60, 10000);
  CHECK_INT(live_jobs(&f, "ETHUSDT", TML_JOB_TRAIN), 1);
  tml_live_destroy(l);
  tml_jobs_close(jobs);
  tml_buf_release(&cap.log);
  loopfix_close(&f);
}

/* A candle stored a little after its close (the exchange or the process filling the store lags the
 * close delay) is predicted within seconds, not one interval late at the next close. */
TEST(loop_late_candle_predicted_within_seconds) {
  struct loopfix f;
  loopfix_open_ex(&f, "live_late", false);
  struct fake_clock clk = {f.t0};
  struct capture cap;
  memset(&cap, 0, sizeof(cap));
  tml_buf_init(&cap.log, 0);
  struct tml_live *l = start_loop(&f, &clk, &cap);
  run_ticks(l, &clk, 1, 0);
  CHECK_INT(cap.predictions, 1); /* candle NTRAIN-1 */
  clk.now = f.btc.open_time[NTRAIN] + IV + 3000; /* candle NTRAIN closed 3 s ago; not stored yet */
  run_ticks(l, &clk, 1, 0);
  CHECK_INT(cap.predictions, 1);
  put_slice(f.store, &f.btc, NTRAIN, NTRAIN + 1); /* it arrives 5 s late */
  clk.now += 10000;
  run_ticks(l, &clk, 1, 0);
  CHECK_INT(cap.predictions, 2);
  CHECK_INT(cap.last_candle, f.btc.open_time[NTRAIN]);
  /* Nothing more arrives: a few more looks, then quiet until the next close. */
  run_ticks(l, &clk, 60, 1000);
  CHECK_INT(cap.predictions, 2);
  put_slice(f.store, &f.btc, NTRAIN + 1, NTRAIN + 3);
  clk.now = f.btc.open_time[NTRAIN + 2] + 3000;
  run_ticks(l, &clk, 1, 0);
  CHECK_INT(cap.predictions, 3);
  tml_live_destroy(l);
  tml_buf_release(&cap.log);
  loopfix_close(&f);
}

/* A universe refresh the exchange does not answer (a loop started while the exchange is down) is
 * retried every minute of loop time, not only after live.universe_refresh_minutes. */
TEST(loop_universe_refresh_retried_when_exchange_down) {
  struct loopfix f;
  loopfix_open(&f, "live_universe_down");
  set(f.cfg, "live.exchange", "bybit");
  set(f.cfg, "live.category", "linear");
  set(f.cfg, "live.universe", "all");
  set(f.cfg, "exchanges.bybit.base_url", "http://127.0.0.1:1"); /* nothing listens: refused at once */
  set(f.cfg, "exchanges.http.retries", "0");
  set(f.cfg, "exchanges.http.timeout_ms", "500");
  struct fake_clock clk = {f.t0};
  struct capture cap;
  memset(&cap, 0, sizeof(cap));
  tml_buf_init(&cap.log, 0);
  struct tml_live *l = start_loop(&f, &clk, &cap);
  run_ticks(l, &clk, 31, 10000); /* 5 minutes */
  struct tml_live_status st;
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_INT(st.counters.universe_refreshes, 0);
  CHECK_INT(st.counters.exchange_errors, 6); /* at 0, 1, 2, 3, 4 and 5 minutes */
  CHECK_INT(st.nsymbols, 0);
  tml_live_status_release(&st);
  CHECK_INT(count_lines(tml_buf_str(&cap.log), "universe refresh failed (keeping the current universe)"), 6);
  tml_live_destroy(l);
  tml_buf_release(&cap.log);
  loopfix_close(&f);
}

static int count_stmt(unsigned type, void *ctx, void *p, void *x) {
  (void)type;
  (void)p;
  (void)x;
  (*(size_t *)ctx)++;
  return 0;
}

static int count_progress(void *ctx) {
  (*(size_t *)ctx)++;
  return 0;
}

/* The rolling live metrics read the newest N resolved predictions of the current model on every candle.
 * After a reload the new model has none yet: that read must not walk the symbol's whole prediction
 * history (a year of 15m candles per symbol, every candle, for every symbol). Counted in SQLite VM
 * steps (sqlite3_progress_handler), not time. */
TEST(quality_reads_do_not_walk_the_history) {
  if (tml_test_db_is_pg())
    SKIP("counts SQLite VM steps (quality_reads_use_the_partial_indexes is the PostgreSQL test)");
  char *dir = tml_test_db_location("live_recent");
  struct tml_store *s = open_store(dir);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml__live_schema(s, &err), &err);
  const int64_t t0 = 1717200000000;
  float out[TML_HEAD_COUNT] = {2, 1, 0, 0.5f, 0.1f};
  CHECK_INT(sqlite3_exec(tml_store_db(s), "BEGIN", NULL, NULL, NULL), SQLITE_OK);
  for (int i = 0; i < 20000; i++) {
    struct tml_live_prediction p = make_pred("BTCUSDT", t0 + (int64_t)i * IV, 0.3f);
    bool inserted = false;
    CHECK_OK(tml_live_predictions_put(s, &p, &inserted, &err), &err);
    CHECK_OK(tml_live_predictions_resolve(s, p.id, out, p.created_ms, &err), &err);
  }
  CHECK_INT(sqlite3_exec(tml_store_db(s), "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  size_t steps = 0;
  sqlite3_progress_handler(tml_store_db(s), 100, count_progress, &steps);
  struct tml_live_prediction *rows = NULL;
  size_t n = 0;
  CHECK_OK(tml__live_recent_resolved(s, "xgb5", "BTCUSDT", IV, 4, 200, &rows, &n, &err), &err); /* new model */
  CHECK_INT(n, 0);
  free(rows);
  CHECK_MSG(steps < 20, "reading the resolved predictions of a model without any took %zu00 VM steps", steps);
  steps = 0;
  CHECK_OK(tml__live_recent_resolved(s, "xgb5", "BTCUSDT", IV, 3, 200, &rows, &n, &err), &err);
  CHECK_INT(n, 200);
  CHECK_INT(rows[199].candle_ms, t0 + 19999 * IV);
  free(rows);
  CHECK_MSG(steps < 600, "reading 200 resolved predictions took %zu00 VM steps", steps);
  /* The outcomes step reads the unresolved ones, on every candle: the newest few, not the history. */
  for (int i = 20000; i < 20012; i++) {
    struct tml_live_prediction p = make_pred("BTCUSDT", t0 + (int64_t)i * IV, 0.3f);
    bool inserted = false;
    CHECK_OK(tml_live_predictions_put(s, &p, &inserted, &err), &err);
  }
  steps = 0;
  CHECK_OK(tml__live_unresolved(s, "xgb5", "BTCUSDT", IV, t0 + 20011 * IV, 2000, &rows, &n, &err), &err);
  CHECK_INT(n, 12);
  CHECK_INT(rows[0].candle_ms, t0 + 20000 * IV);
  free(rows);
  CHECK_MSG(steps < 60, "reading 12 unresolved predictions took %zu00 VM steps", steps);
  sqlite3_progress_handler(tml_store_db(s), 0, NULL, NULL);
  /* One statement per stored prediction and per outcome (not the schema script each time). */
  size_t stmts = 0;
  sqlite3_trace_v2(tml_store_db(s), SQLITE_TRACE_STMT, count_stmt, &stmts);
  struct tml_live_prediction p = make_pred("BTCUSDT", t0 + 20012 * IV, 0.3f);
  bool inserted = false;
  CHECK_OK(tml_live_predictions_put(s, &p, &inserted, &err), &err);
  CHECK(inserted);
  CHECK_OK(tml_live_predictions_resolve(s, p.id, out, p.created_ms, &err), &err);
  sqlite3_trace_v2(tml_store_db(s), 0, NULL, NULL);
  CHECK_INT(stmts, 2);
  tml_store_close(s);
  free(dir);
}

/* The exchange down: the first sync that finds it unreachable (after the client's retries) postpones the
 * other symbols' syncs to the retry, so a tick stays short with many symbols; logged once. */
TEST(loop_exchange_down_postpones_other_syncs) {
  struct loopfix f;
  loopfix_open_ex(&f, "live_exchange_down", false); /* BTCUSDT stored up to the first tick's close */
  set(f.cfg, "live.exchange", "bybit");
  set(f.cfg, "live.category", "linear");
  set(f.cfg, "live.symbols", "BTCUSDT,ETHUSDT");
  set(f.cfg, "exchanges.bybit.base_url", "http://127.0.0.1:1"); /* nothing listens: refused at once */
  set(f.cfg, "exchanges.http.retries", "0");
  set(f.cfg, "exchanges.http.timeout_ms", "500");
  struct fake_clock clk = {f.t0};
  struct capture cap;
  memset(&cap, 0, sizeof(cap));
  tml_buf_init(&cap.log, 0);
  struct tml_live *l = start_loop(&f, &clk, &cap);
  run_ticks(l, &clk, 1, 0);
  struct tml_live_status st;
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_INT(st.counters.exchange_errors, 1); /* BTCUSDT tried, ETHUSDT postponed */
  tml_live_status_release(&st);
  clk.now += IV; /* the next close: both symbols are due again */
  run_ticks(l, &clk, 1, 0);
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_INT(st.counters.exchange_errors, 2);
  CHECK_INT(st.counters.ticks, 2);
  tml_live_status_release(&st);
  const char *log = tml_buf_str(&cap.log);
  CHECK_INT(count_lines(log, "warning exchange bybit unreachable: the syncs of 1 other symbols wait for the retry"), 1);
  CHECK_INT(count_lines(log, "BTCUSDT: sync failed"), 1);
  CHECK_MSG(count_lines(log, "ETHUSDT: sync failed") == 0, "%s", log);
  tml_live_destroy(l);
  tml_buf_release(&cap.log);
  loopfix_close(&f);
}

/* A strategy's action block (rl) is stored with the prediction, read back exactly and printed as
 * "action"; a store made before the action column gets it added, its old rows without an action. */
TEST(predictions_store_keep_action_block_and_upgrade_old_store) {
  char *dir = tml_test_db_location("live_action");
  struct tml_store *s = open_store(dir);
  struct tml_error err;
  tml_error_init(&err);
  bool pg = tml_test_db_is_pg(); /* PostgreSQL's tables were made with the column (migration 1) */
  /* the live_predictions table as stores made before the action block have it, with one row */
  CHECK(pg || sqlite3_exec(tml_store_db(s),
                     "CREATE TABLE live_predictions(id INTEGER PRIMARY KEY, strategy TEXT NOT NULL,"
                     " symbol TEXT NOT NULL, interval_ms INTEGER NOT NULL, candle_ms INTEGER NOT NULL, model_id INTEGER NOT NULL,"
                     " model_version TEXT NOT NULL, v0 REAL, v1 REAL, v2 REAL, v3 REAL, v4 REAL, v5 REAL, v6 REAL,"
                     " v7 REAL, v8 REAL, v9 REAL, v10 REAL, v11 REAL, stale INTEGER NOT NULL DEFAULT 0,"
                     " created_ms INTEGER NOT NULL, resolved_ms INTEGER, o0 REAL, o1 REAL, o2 REAL, o3 REAL, o4 REAL,"
                     " UNIQUE(strategy, symbol, interval_ms, candle_ms));"
                     "INSERT INTO live_predictions(strategy, symbol, interval_ms, candle_ms, model_id, model_version,"
                     " created_ms) VALUES('xgb5', 'ETHUSDT', 900000, 1704067200000, 1, 'v0', 1704068102000);",
                     NULL, NULL, NULL) == SQLITE_OK);
  int64_t t0 = INT64_C(1704067200000);
  bool ins = false;
  if (pg) { /* the row without an action, stored as the loop stores a supervised strategy's */
    struct tml_live_prediction old = make_pred("ETHUSDT", t0, 0.5f);
    CHECK_OK(tml_live_predictions_put(s, &old, &ins, &err), &err);
    CHECK(ins);
  }
  struct tml_live_prediction a = make_pred("BTCUSDT", t0, 0.7f);
  snprintf(a.strategy, sizeof(a.strategy), "rl");
  static const char *names[] = {"neutral", "enter_long", "exit_long", "enter_short", "exit_short"};
  a.p.decision.nactions = 5;
  for (int k = 0; k < 5; k++)
    a.p.decision.names[k] = names[k];
  a.p.decision.probs[0] = 0.2f;
  a.p.decision.probs[1] = 1.0f / 3.0f; /* not exactly representable: must round-trip */
  a.p.decision.probs[3] = 1.0f - 0.2f - 1.0f / 3.0f;
  a.p.decision.action = 3;
  a.p.decision.value = -0.0123456789f;
  CHECK_OK(tml_live_predictions_put(s, &a, &ins, &err), &err);
  CHECK(ins);
  struct tml_live_prediction *rows = NULL;
  size_t n = 0;
  struct tml_live_query q;
  tml_live_query_init(&q);
  CHECK_OK(tml_live_predictions_list(s, &q, &rows, &n, &err), &err);
  CHECK_INT(n, 2);
  int rl = strcmp(rows[0].strategy, "rl") == 0 ? 0 : 1;
  CHECK_STR(rows[1 - rl].action, ""); /* the old row: no action, none printed */
  struct tml_buf b;
  tml_buf_init(&b, 0);
  CHECK(tml_live_prediction_to_json(&rows[1 - rl], &b) == 0);
  CHECK(strstr(b.ptr, "\"action\"") == NULL);
  tml_buf_release(&b);
  tml_buf_init(&b, 0);
  CHECK(tml_live_prediction_to_json(&rows[rl], &b) == 0);
  const char *act = strstr(b.ptr, ",\"action\":{\"name\":\"enter_short\",\"probabilities\":{\"neutral\":");
  CHECK(act != NULL);
  CHECK(strstr(b.ptr, "},\"outcome\":null}") != NULL);
  for (int k = 0; k < 5 && act; k++) { /* every action, its float read back exactly */
    char key[32];
    snprintf(key, sizeof(key), "\"%s\":", names[k]);
    const char *at = strstr(act, key);
    CHECK(at != NULL);
    if (at)
      CHECK(strtof(at + strlen(key), NULL) == a.p.decision.probs[k]);
  }
  const char *v = act ? strstr(act, "},\"value\":") : NULL;
  CHECK(v != NULL);
  if (v)
    CHECK(strtof(v + strlen("},\"value\":"), NULL) == a.p.decision.value);
  tml_buf_release(&b);
  free(rows);
  tml_store_close(s);
  free(dir);
}

/* Runs sql on the test database as another client would (the SQLite file, or PostgreSQL). */
static void raw_exec(struct loopfix *f, const char *sql) {
  struct tml_error err;
  tml_error_init(&err);
  if (tml_test_db_is_pg()) {
    struct tml__pg pg;
    CHECK_OK(tml__pg_connect(&pg, f->paths.db, "test", &err), &err);
    CHECK_OK(tml__pg_exec(&pg, sql, 0, NULL, "test", &err), &err);
    tml__pg_close(&pg);
    return;
  }
  char *msg = NULL;
  int rc = sqlite3_exec(tml_store_db(f->store), sql, NULL, NULL, &msg);
  CHECK_MSG(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
  sqlite3_free(msg);
}

/* Makes every insert into live_predictions fail with 'writes refused by the test' (a trigger; TML_EDB),
 * or (on false) work again. */
static void refuse_writes(struct loopfix *f, bool on) {
  bool pg = tml_test_db_is_pg();
  if (on)
    raw_exec(f, pg ? "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                     " $$ BEGIN RAISE EXCEPTION 'writes refused by the test'; END $$;"
                     "CREATE TRIGGER refuse BEFORE INSERT ON live_predictions FOR EACH ROW EXECUTE FUNCTION refuse()"
                   : "CREATE TRIGGER refuse BEFORE INSERT ON live_predictions"
                     " BEGIN SELECT RAISE(ABORT, 'writes refused by the test'); END");
  else
    raw_exec(f, pg ? "DROP TRIGGER refuse ON live_predictions" : "DROP TRIGGER refuse");
}

/* Ends every session of the PostgreSQL test database at url (as a server restart or a cut link would). */
static void terminate_sessions(const char *url) {
  char *admin = tml_test_pg_url("admin_url");
  struct tml__pg pg;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml__pg_connect(&pg, admin, "test", &err), &err);
  const char *params[] = {strrchr(url, '/') + 1};
  PGresult *r = tml__pg_query(&pg, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
                              1, params, false, "test", &err);
  CHECK_MSG(r != NULL, "%s", err.msg);
  CHECK_MSG(strtol(PQgetvalue(r, 0, 0), NULL, 10) >= 4, "expected the loop's sessions of %s, ended %s", params[0],
            PQgetvalue(r, 0, 0));
  PQclear(r);
  tml__pg_close(&pg);
  free(admin);
}

/* The database refuses the loop's prediction writes while two candles close (a trigger that fails every
 * insert): those ticks fail and are retried, and once writes work again both candles are predicted, each
 * once, in order, no gap; the stream had taken them, so it is reopened after the last stored prediction.
 * On PostgreSQL every session of the database is then ended (a server restart): the next tick reconnects
 * and predicts the next candle without an error. */
TEST(loop_failed_writes_lose_no_prediction) {
  struct loopfix f;
  loopfix_open(&f, "live_write_fail");
  bool pg = tml_test_db_is_pg();
  struct fake_clock clk = {f.t0};
  struct capture cap;
  memset(&cap, 0, sizeof(cap));
  cap.in_order = true;
  tml_buf_init(&cap.log, 0);
  struct tml_live *l = start_loop(&f, &clk, &cap);
  run_ticks(l, &clk, 1, 0);
  CHECK_INT(cap.predictions, 1); /* candle NTRAIN-1 */
  refuse_writes(&f, true);
  struct tml_error err;
  for (int k = 0; k < 2; k++) {
    clk.now += IV; /* candle NTRAIN + k closed 3 s ago */
    tml_error_init(&err);
    CHECK(tml_live_tick(l, &err) != 0);
    CHECK_CONTAINS(err.msg, "writes refused by the test");
  }
  CHECK_INT(cap.predictions, 1);
  refuse_writes(&f, false);
  run_ticks(l, &clk, 1, 0);
  CHECK_INT(cap.predictions, 3);
  CHECK_INT(cap.last_candle, f.btc.open_time[NTRAIN + 1]);
  CHECK(cap.in_order);
  struct tml_live_prediction *rows = NULL;
  CHECK_INT(btc_predictions(&f, &rows), 3); /* consecutive, none twice */
  free(rows);
  if (pg) {
    terminate_sessions(f.paths.db);
    clk.now += IV;
    run_ticks(l, &clk, 1, 0);
    CHECK_INT(cap.predictions, 4);
    CHECK_INT(btc_predictions(&f, &rows), 4);
    free(rows);
  }
  struct tml_live_status st;
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  CHECK_INT(st.counters.predictions, pg ? 4 : 3);
  tml_live_status_release(&st);
  tml_live_destroy(l);
  /* what another process reads afterwards: the last predicted candle of the persisted state */
  CHECK_OK(tml_live_status_load(f.store, "xgb5", IV, &st, &err), &err);
  CHECK_INT(find(&st, "BTCUSDT")->last_predicted_ms, f.btc.open_time[NTRAIN + (pg ? 2 : 1)]);
  tml_live_status_release(&st);
  tml_buf_release(&cap.log);
  loopfix_close(&f);
}

/* A database error (not ENET/EBUSY: a refused insert is TML_EDB) while the first model's stream is
 * opened and its latest prediction stored does not refuse the model: the tick fails, the model stays
 * loaded, and once writes work the next tick opens the stream and stores that prediction. */
TEST(loop_db_error_on_model_load_keeps_the_model) {
  struct loopfix f;
  loopfix_open(&f, "live_load_dberr");
  struct fake_clock clk = {f.t0};
  struct capture cap;
  memset(&cap, 0, sizeof(cap));
  tml_buf_init(&cap.log, 0);
  struct tml_live *l = start_loop(&f, &clk, &cap);
  refuse_writes(&f, true);
  struct tml_error err;
  tml_error_init(&err);
  CHECK(tml_live_tick(l, &err) != 0);
  CHECK_CONTAINS(err.msg, "writes refused by the test");
  CHECK_INT(cap.predictions, 0);
  refuse_writes(&f, false);
  run_ticks(l, &clk, 1, 0);
  CHECK_INT(cap.predictions, 1); /* the model was kept: candle NTRAIN-1 */
  struct tml_live_status st;
  CHECK_INT(tml_live_snapshot(l, &st), 0);
  const struct tml_live_symbol *y = find(&st, "BTCUSDT");
  CHECK_MSG(y->model_id > 0 && y->state != TML_LIVE_BLOCKED, "state %s: %s", tml_live_state_name(y->state), y->reason);
  tml_live_status_release(&st);
  tml_live_destroy(l);
  tml_buf_release(&cap.log);
  loopfix_close(&f);
}

/* live_predictions' scan counters from PostgreSQL's statistics (a fresh read on conn). */
struct scan_counts {
  long long seq_scan, unique_read, resolved_read, unresolved_read;
  long long read; /* entries read in the three indexes that can serve the readers (not the id key) */
};

static void read_scan_counts(struct tml__pg *conn, struct scan_counts *c) {
  struct tml_error err;
  tml_error_init(&err);
  PGresult *r = tml__pg_query(conn,
                              "SELECT (SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'live_predictions'),"
                              " coalesce(sum(idx_tup_read) FILTER (WHERE indexrelname LIKE '%\\_key'), 0),"
                              " coalesce(sum(idx_tup_read) FILTER (WHERE indexrelname = 'live_predictions_resolved'), 0),"
                              " coalesce(sum(idx_tup_read) FILTER (WHERE indexrelname = 'live_predictions_unresolved'), 0)"
                              " FROM pg_stat_user_indexes WHERE relname = 'live_predictions'",
                              0, NULL, false, "test", &err);
  CHECK_MSG(r != NULL, "%s", err.msg);
  c->seq_scan = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  c->unique_read = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
  c->resolved_read = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
  c->unresolved_read = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
  c->read = c->unique_read + c->resolved_read + c->unresolved_read;
  PQclear(r);
}

/* Until the live tables' session has reported its statistics (a backend flushes them at the end of a
 * transaction at most once a second): its cheap statements end transactions until *field reaches want. */
static void wait_flushed(struct tml_store *s, struct tml__pg *conn, struct scan_counts *c, const long long *field,
                         long long want) {
  struct tml_error err;
  tml_error_init(&err);
  for (int i = 0; i < 75; i++) {
    read_scan_counts(conn, c);
    if (*field >= want)
      return;
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int64_t id = 0;
    CHECK_OK(tml_live_predictions_max_id(s, &id, &err), &err);
  }
  tml_test_fail(__FILE__, __LINE__,
                "PostgreSQL's statistics did not show the reads within 15 s (want %lld entries; seq_scan %lld, UNIQUE "
                "index %lld, resolved index %lld, unresolved index %lld entries read)",
                want, c->seq_scan, c->unique_read, c->resolved_read, c->unresolved_read);
}

/* The PostgreSQL twin of quality_reads_do_not_walk_the_history: the per-candle readers of a symbol with
 * 20,000 resolved predictions read about as many index entries as rows they return, through whichever
 * index the planner picks (the partial ones, or the UNIQUE one when every row qualifies), never the
 * symbol's history and never a sequential scan (counted in PostgreSQL's scan statistics, not time). */
TEST(quality_reads_use_the_partial_indexes) {
  if (!tml_test_db_is_pg())
    SKIP("PostgreSQL only (quality_reads_do_not_walk_the_history is the SQLite test)");
  char *url = tml_test_db_location("live_plans");
  struct tml_store *s = open_store(url);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml__live_schema(s, &err), &err);
  struct tml__pg pg;
  CHECK_OK(tml__pg_connect(&pg, url, "test", &err), &err);
  CHECK_OK(tml__pg_exec(&pg,
                        "INSERT INTO live_predictions(strategy, symbol, interval_ms, candle_ms, model_id, model_version,"
                        " v0, created_ms, resolved_ms, o0) SELECT 'xgb5', 'BTCUSDT', 900000, 1717200000000 + g::bigint * 900000,"
                        " 3, 'v1', 0.5, 1, CASE WHEN g < 20000 THEN 2 END, CASE WHEN g < 20000 THEN 1 END"
                        " FROM generate_series(0, 20011) g",
                        0, NULL, "test", &err),
           &err);
  CHECK_OK(tml__pg_exec(&pg, "VACUUM (ANALYZE) live_predictions", 0, NULL, "test", &err), &err);
  struct scan_counts c0, c1 = {0, 0, 0, 0, 0}, c2 = {0, 0, 0, 0, 0};
  int64_t id = 0;
  CHECK_OK(tml_live_predictions_max_id(s, &id, &err), &err);
  CHECK_INT(id, 20012);
  /* The baseline: what the session did so far (creating the tables and indexes scans them) reported. */
  struct timespec pause = {1, 100 * 1000 * 1000};
  nanosleep(&pause, NULL);
  CHECK_OK(tml_live_predictions_max_id(s, &id, &err), &err);
  read_scan_counts(&pg, &c0);
  struct tml_live_prediction *rows = NULL;
  size_t n = 0;
  CHECK_OK(tml__live_recent_resolved(s, "xgb5", "BTCUSDT", IV, 4, 200, &rows, &n, &err), &err); /* new model */
  CHECK_INT(n, 0);
  free(rows);
  CHECK_OK(tml__live_recent_resolved(s, "xgb5", "BTCUSDT", IV, 3, 200, &rows, &n, &err), &err);
  CHECK_INT(n, 200);
  CHECK_INT(rows[199].candle_ms, INT64_C(1717200000000) + 19999 * IV);
  free(rows);
  wait_flushed(s, &pg, &c1, &c1.read, c0.read + 200);
  CHECK_MSG(c1.read - c0.read <= 240, "reading 200 resolved predictions (and none of a new model) took %lld index "
            "entries", c1.read - c0.read);
  CHECK_OK(tml__live_unresolved(s, "xgb5", "BTCUSDT", IV, INT64_C(1717200000000) + 20011 * IV, 2000, &rows, &n, &err),
           &err);
  CHECK_INT(n, 12);
  CHECK_INT(rows[0].candle_ms, INT64_C(1717200000000) + 20000 * IV);
  free(rows);
  wait_flushed(s, &pg, &c2, &c2.read, c1.read + 12);
  CHECK_MSG(c2.read - c1.read <= 30, "reading 12 unresolved predictions took %lld index entries", c2.read - c1.read);
  CHECK_INT(c2.seq_scan, c0.seq_scan); /* and no sequential scan */
  tml__pg_close(&pg);
  tml_store_close(s);
  free(url);
}
