/* Model sets on disk: <models_dir>/<strategy>/<key>/<interval>/<version>/ holding the strategy's files
 * (xgb5: one <head>_model.json and <head>_feature_importance.csv per head; see docs/strategies.md)
 * plus metadata.json naming the strategy.
 * key is the symbol, or "MULTI-<8 hex>" for a multi-symbol set (its symbols are in metadata.json).
 * Folders are written under a ".tmp-" name and renamed into place, so a reader never sees half a set. */
#ifndef TML_MODELSET_H
#define TML_MODELSET_H

#include <stddef.h>
#include <stdint.h>

#include "trademl/dataset.h"
#include "trademl/labels.h"
#include "trademl/learner.h"
#include "trademl/strategy.h"
#include "trademl/xgb.h"

struct tml_error;

#define TML_MODELSET_FORMAT 1

/* Folder key of a set of symbols (the symbol itself when there is one). out holds >= 48 bytes. */
void tml_modelset_key(const char *const *symbols, size_t n, char *out, size_t outsz);

struct tml_modelset {
  char dir[4096];
  char version[64];
  char strategy[64];
  int64_t interval_ms;
  size_t nsymbols;
  char (*symbols)[TML_SYMBOL_MAX];
  enum tml_symbol_encoding encoding;
  size_t nfeat, ncols;
  char feature_checksum[64];
  struct tml_label_spec labels;
  int64_t data_last_ms;                    /* last candle time used in training */
  struct tml_strategy_model *model;        /* metadata.json "strategy"'s table and its loaded model */
  char *metadata;                          /* metadata.json text */
};

/* Loads a model set and checks it: every file present and parseable, the feature-set checksum equal to
 * the running code's (TML_EMODEL otherwise, naming both), the column count consistent. */
int tml_modelset_load(const char *dir, struct tml_modelset **out, struct tml_error *err);
void tml_modelset_free(struct tml_modelset *m);
/* tml_modelset_load, refusing (TML_EMODEL, naming both) a set written by another strategy than `strategy`. */
int tml_modelset_load_as(const char *dir, const char *strategy, struct tml_modelset **out, struct tml_error *err);

/* Finds the newest set (by version name) that covers `symbol` at `interval_ms`: first the symbol's own
 * folder, then multi-symbol sets listing it. TML_ENOENT with a hint to train when none exists. */
int tml_modelset_find_latest(const char *models_dir, const char *strategy, const char *symbol, int64_t interval_ms,
                             char *dir, size_t dirsz, struct tml_error *err);

/* Index of `symbol` in the set's symbol list, or -1. */
int tml_modelset_symbol_index(const struct tml_modelset *m, const char *symbol);

#endif
