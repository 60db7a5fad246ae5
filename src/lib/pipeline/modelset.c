/* Model-set folders: naming, lookup of the newest set for a symbol, loading with consistency checks. */
#include "trademl/modelset.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/hash.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"
#include "util/common.h"

#include <dirent.h>
#include <jansson.h>

void tml_modelset_key(const char *const *symbols, size_t n, char *out, size_t outsz) {
  if (n == 1) {
    snprintf(out, outsz, "%s", symbols[0]);
    return;
  }
  uint64_t h = TML_FNV64_INIT;
  for (size_t i = 0; i < n; i++)
    h = tml_fnv1a64(h, symbols[i], strlen(symbols[i]) + 1);
  char hex[17];
  tml_hash_hex(h, hex);
  snprintf(out, outsz, "MULTI-%.8s", hex);
}

void tml_modelset_free(struct tml_modelset *m) {
  if (!m)
    return;
  tml_strategy_model_free(m->model);
  free(m->symbols);
  free(m->metadata);
  free(m);
}

int tml_modelset_symbol_index(const struct tml_modelset *m, const char *symbol) {
  for (size_t i = 0; i < m->nsymbols; i++)
    if (strcmp(m->symbols[i], symbol) == 0)
      return (int)i;
  return -1;
}

static const char *get_str(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

int tml_modelset_load(const char *dir, struct tml_modelset **out, struct tml_error *err) {
  *out = NULL;
  if (!tml_path_is_dir(dir))
    return tml_error_set(err, TML_ENOENT, "model set folder '%s' does not exist", dir);
  struct tml_modelset *m = calloc(1, sizeof(*m));
  if (!m)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  snprintf(m->dir, sizeof(m->dir), "%s", dir);
  char path[4200];
  snprintf(path, sizeof(path), "%s/metadata.json", dir);
  size_t len = 0;
  json_t *meta = NULL;
  int rc = tml_read_file(path, &m->metadata, &len, err);
  if (rc) {
    rc = tml_error_set(err, TML_EMODEL, "model set '%s' has no readable metadata.json", dir);
    goto out;
  }
  json_error_t jerr;
  meta = json_loadb(m->metadata, len, 0, &jerr);
  if (!meta) {
    rc = tml_error_set(err, TML_EMODEL, "corrupt '%s' line %d: %s", path, jerr.line, jerr.text);
    goto out;
  }
  const char *version = get_str(meta, "version"), *strategy = get_str(meta, "strategy");
  const char *interval = get_str(meta, "interval"), *enc = get_str(meta, "symbol_encoding");
  json_t *fs = json_object_get(meta, "feature_set");
  json_t *symbols = json_object_get(meta, "symbols");
  const char *checksum = fs ? get_str(fs, "checksum") : NULL;
  json_t *cols = fs ? json_object_get(fs, "columns") : NULL;
  json_t *nfeat = fs ? json_object_get(fs, "nfeatures") : NULL;
  if (!version || !strategy || !interval || !enc || !checksum || !json_is_array(symbols) || !json_is_array(cols) ||
      !json_is_integer(nfeat) || json_array_size(symbols) == 0) {
    rc = tml_error_set(err, TML_EMODEL,
                       "'%s' lacks required fields (version, strategy, interval, symbols, symbol_encoding, "
                       "feature_set.checksum/columns/nfeatures): retrain the model set",
                       path);
    goto out;
  }
  snprintf(m->version, sizeof(m->version), "%s", version);
  snprintf(m->strategy, sizeof(m->strategy), "%s", strategy);
  snprintf(m->feature_checksum, sizeof(m->feature_checksum), "%s", checksum);
  if ((rc = tml_interval_parse(interval, &m->interval_ms, err)) ||
      (rc = tml_symbol_encoding_parse(enc, &m->encoding, err))) {
    tml_error_prefix(err, "'%s'", path);
    rc = TML_EMODEL;
    goto out;
  }
  m->nsymbols = json_array_size(symbols);
  m->symbols = calloc(m->nsymbols, sizeof(*m->symbols));
  if (!m->symbols) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < m->nsymbols; i++) {
    const char *s = json_string_value(json_array_get(symbols, i));
    if (!s || strlen(s) >= sizeof(m->symbols[i]) || !tml_symbol_valid(s)) {
      rc = tml_error_set(err, TML_EMODEL, "'%s': symbols[%zu] is not a symbol like BTCUSDT: the file is corrupt; "
                         "retrain the model set", path, i);
      goto out;
    }
    snprintf(m->symbols[i], sizeof(m->symbols[i]), "%s", s);
  }
  m->nfeat = (size_t)json_integer_value(nfeat);
  m->ncols = json_array_size(cols);
  if (strcmp(m->feature_checksum, tml_featureset_checksum()) != 0 || m->nfeat != tml_featureset_ncols()) {
    rc = tml_error_set(err, TML_EMODEL,
                       "model set '%s' was trained with feature set checksum %s (%zu features) but this trademl "
                       "computes %s (%zu features): retrain it with `trademl train`",
                       dir, m->feature_checksum, m->nfeat, tml_featureset_checksum(), tml_featureset_ncols());
    goto out;
  }
  /* Prediction rows are the features plus the symbol columns of the encoding: a metadata.json that
   * counts otherwise would make them overrun (found by tests/fuzz/fuzz_modelset). */
  size_t extra = m->encoding == TML_ENC_ONE_HOT ? m->nsymbols : m->encoding == TML_ENC_INDEX ? 1 : 0;
  if (m->ncols != m->nfeat + extra) {
    rc = tml_error_set(err, TML_EMODEL,
                       "'%s': feature_set.columns names %zu columns but %zu features and the %s encoding of %zu "
                       "symbol(s) make %zu: the file is corrupt; retrain the model set",
                       path, m->ncols, m->nfeat, enc, m->nsymbols, m->nfeat + extra);
    goto out;
  }
  json_t *data = json_object_get(meta, "data");
  const char *last = data ? get_str(data, "last_row") : NULL;
  if (last)
    tml_time_parse(last, strlen(last), &m->data_last_ms);
  /* The strategy that wrote the set reads its own files; sets from before engines were recorded are
   * XGBoost's. */
  const struct tml_strategy *strat = NULL;
  struct tml_error e;
  tml_error_init(&e);
  if (tml_strategy_lookup(m->strategy, &strat, &e) != 0) {
    rc = tml_error_set(err, TML_EMODEL, "model set '%s' was written by strategy '%s', which this trademl does not "
                       "have (%s)", dir, m->strategy, e.msg);
    goto out;
  }
  struct tml_strategy_load_info info = {.metadata = m->metadata, .engine = get_str(meta, "engine"), .ncols = m->ncols};
  rc = tml_strategy_model_load(strat, dir, &info, &m->model, err);
out:
  json_decref(meta);
  if (rc) {
    tml_modelset_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

int tml_modelset_load_as(const char *dir, const char *strategy, struct tml_modelset **out, struct tml_error *err) {
  int rc = tml_modelset_load(dir, out, err);
  if (rc || !strategy || strcmp((*out)->strategy, strategy) == 0)
    return rc;
  rc = tml_error_set(err, TML_EMODEL, "model set '%s' was written by strategy '%s', not '%s': load it as %s or train "
                     "a %s set", dir, (*out)->strategy, strategy, (*out)->strategy, strategy);
  tml_modelset_free(*out);
  *out = NULL;
  return rc;
}

/* Newest version folder (lexicographic max of non-hidden names) in parent; false if none. */
static bool newest_version(const char *parent, char *out, size_t outsz) {
  DIR *d = opendir(parent);
  if (!d)
    return false;
  bool found = false;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    if (!found || strcmp(e->d_name, out) > 0) {
      snprintf(out, outsz, "%s", e->d_name);
      found = true;
    }
  }
  closedir(d);
  return found;
}

static bool multi_set_has(const char *dir, const char *symbol) {
  char path[4200];
  if (tml_path_fmt(path, sizeof(path), NULL, "%s/metadata.json", dir))
    return false;
  json_error_t jerr;
  json_t *meta = json_load_file(path, 0, &jerr);
  bool has = false;
  json_t *syms = meta ? json_object_get(meta, "symbols") : NULL;
  for (size_t i = 0; json_is_array(syms) && i < json_array_size(syms); i++) {
    const char *s = json_string_value(json_array_get(syms, i));
    has = has || (s && strcmp(s, symbol) == 0);
  }
  json_decref(meta);
  return has;
}

int tml_modelset_find_latest(const char *models_dir, const char *strategy, const char *symbol, int64_t interval_ms,
                             char *dir, size_t dirsz, struct tml_error *err) {
  char parent[4200], version[256];
  const char *iv = tml_interval_name(interval_ms);
  snprintf(parent, sizeof(parent), "%s/%s/%s/%s", models_dir, strategy, symbol, iv ? iv : "?");
  if (newest_version(parent, version, sizeof(version))) {
    snprintf(dir, dirsz, "%s/%s", parent, version);
    return 0;
  }
  /* Multi-symbol sets that include the symbol; the newest version wins. */
  char root[4200], best[4200] = "", best_version[256] = "";
  snprintf(root, sizeof(root), "%s/%s", models_dir, strategy);
  DIR *d = opendir(root);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, "MULTI-", 6) != 0)
      continue;
    if (tml_path_fmt(parent, sizeof(parent), NULL, "%s/%s/%s", root, e->d_name, iv ? iv : "?"))
      continue;
    if (!newest_version(parent, version, sizeof(version)))
      continue;
    char cand[4200];
    if (tml_path_fmt(cand, sizeof(cand), NULL, "%s/%s", parent, version))
      continue;
    if (multi_set_has(cand, symbol) && strcmp(version, best_version) > 0) {
      memcpy(best_version, version, sizeof(best_version));
      memcpy(best, cand, sizeof(best));
    }
  }
  if (d)
    closedir(d);
  if (best[0]) {
    snprintf(dir, dirsz, "%s", best);
    return 0;
  }
  return tml_error_set(err, TML_ENOENT,
                       "no %s model set for %s %s under '%s': train one with `trademl train --symbol %s --interval %s`",
                       strategy, symbol, iv ? iv : "?", models_dir, symbol, iv ? iv : "?");
}
