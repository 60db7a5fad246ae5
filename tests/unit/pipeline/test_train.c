#include "test.h"
#include "trademl/error.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "trademl/train.h"

/* A store holding `n` 5-minute candles of SYMBOL whose close never moves (high/low do). */
static struct tml_store *flat_store(const char *dir, size_t n) {
  char db[4200];
  snprintf(db, sizeof(db), "%s/t.db", dir);
  struct tml_store *s = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_store_open(db, &s, &err), &err);
  struct tml_candles c;
  tml_candles_init(&c, "FLATUSDT", 5 * TML_MS_PER_MINUTE);
  for (size_t i = 0; i < n; i++)
    tml_candles_push(&c, (int64_t)i * c.interval_ms + INT64_C(1704067200000), 100, 101, 99, 100, 1);
  CHECK_OK(tml_store_put(s, &c, false, NULL, &err), &err);
  tml_candles_release(&c);
  return s;
}

TEST(one_class_labels_are_refused) {
  char *dir = tml_test_tmpdir("train_flat");
  struct tml_store *s = flat_store(dir, 4000);
  struct tml_train_opts o;
  tml_train_opts_default(&o);
  o.symbols[0] = "FLATUSDT";
  o.nsymbols = 1;
  o.interval_ms = 5 * TML_MS_PER_MINUTE;
  char models[4200];
  snprintf(models, sizeof(models), "%s/models", dir);
  o.models_dir = models;
  o.xgb.num_boost_round = 5;
  struct tml_train_result r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_train_run(s, &o, &r, &err), TML_EDATA);
  CHECK_CONTAINS(err.msg, "has a single class in its");
  CHECK_CONTAINS(err.msg, "training rows of FLATUSDT");
  tml_train_result_release(&r);
  /* Nothing was left behind: not even the temporary folder. */
  char parent[4300];
  snprintf(parent, sizeof(parent), "rmdir %s/xgb5/FLATUSDT/5m 2>/dev/null", models);
  CHECK_MSG(system(parent) == 0, "model folder not empty after a refused run");
  tml_store_close(s);
  free(dir);
}

TEST(too_little_data_says_how_much) {
  char *dir = tml_test_tmpdir("train_short");
  struct tml_store *s = flat_store(dir, 900);
  struct tml_train_opts o;
  tml_train_opts_default(&o);
  o.symbols[0] = "FLATUSDT";
  o.nsymbols = 1;
  o.interval_ms = 5 * TML_MS_PER_MINUTE;
  o.dry_run = true;
  struct tml_train_result r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_train_run(s, &o, &r, &err), TML_EDATA);
  CHECK_CONTAINS(err.msg, "not enough data for FLATUSDT 5m");
  CHECK_CONTAINS(err.msg, "from 900 candles");
  CHECK_CONTAINS(err.msg, "training needs 1263 rows");
  tml_train_result_release(&r);
  o.symbols[0] = "NOPEUSDT";
  tml_error_init(&err);
  CHECK_INT(tml_train_run(s, &o, &r, &err), TML_ENOENT);
  CHECK_CONTAINS(err.msg, "no 5m candles for NOPEUSDT");
  tml_train_result_release(&r);
  tml_store_close(s);
  free(dir);
}
