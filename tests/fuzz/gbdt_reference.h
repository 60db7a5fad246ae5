/* The reference for native model prediction, shared by tests/unit/learn/test_gbdt.c and
 * fuzz_gbdt_model.c: the margins of row x as a native model file (parsed by jansson) describes its
 * trees, walked straight from the file's arrays. Each tree from its root by "feature", "value",
 * "left" (right = left + 1) and "default_left" (NaN and +-Inf missing), its leaf value added to class
 * t % K in tree order, from base_score. Prediction's own layout (src/lib/learn/forest.c) must give
 * these margins bit for bit. The file must have loaded (tml_gbdt_from_json checked every index). */
#ifndef TML_TEST_GBDT_REFERENCE_H
#define TML_TEST_GBDT_REFERENCE_H

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>

static inline void gbdt_file_margins(const json_t *root, const float *x, float *margin) {
  json_int_t ncl = json_integer_value(json_object_get(root, "nclass"));
  size_t K = ncl > 0 ? (size_t)ncl : 1;
  for (size_t k = 0; k < K; k++)
    margin[k] = (float)json_number_value(json_object_get(root, "base_score"));
  json_t *trees = json_object_get(root, "trees");
  for (size_t t = 0; t < json_array_size(trees); t++) {
    json_t *tr = json_array_get(trees, t);
    json_t *f = json_object_get(tr, "feature"), *v = json_object_get(tr, "value"), *l = json_object_get(tr, "left");
    json_t *dl = json_object_get(tr, "default_left");
    size_t i = 0;
    while (json_integer_value(json_array_get(f, i)) >= 0) {
      float xv = x[json_integer_value(json_array_get(f, i))];
      bool left = isfinite(xv) ? xv < (float)json_number_value(json_array_get(v, i))
                               : json_integer_value(json_array_get(dl, i)) == 1;
      i = (size_t)json_integer_value(json_array_get(l, i)) + (left ? 0 : 1);
    }
    margin[t % K] += (float)json_number_value(json_array_get(v, i));
  }
}

#endif
