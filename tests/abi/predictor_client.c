/* C client of libtrademl_predictor.so built with nothing but the public header (include dir has
 * trademl_predictor.h; no other trademl header is included), strict C99.
 *
 *   predictor_client FULL_HOME PART_HOME SYMBOL INTERVAL CSV N
 *
 * PART_HOME's store lacks the last N candles of CSV that FULL_HOME's has; both serve the same active
 * model. The client checks the ABI's error paths, opens a predictor on each home, pushes the N missing
 * candles into the PART one and checks that its prediction equals, bit for bit, the FULL one's (which
 * was computed at open from the store). It prints the final prediction as one JSON line (floats with 9
 * significant digits, exact for float) for the caller to compare with `trademl predict`. Exit 0 = pass. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trademl_predictor.h"

static int failures;
#define CHECK(cond, ...)                                                                                      \
  do {                                                                                                        \
    if (!(cond)) {                                                                                            \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                         \
      fprintf(stderr, __VA_ARGS__);                                                                           \
      fprintf(stderr, "\n");                                                                                  \
      failures++;                                                                                             \
    }                                                                                                         \
  } while (0)

struct row {
  int64_t t;
  double o, h, l, c, v;
};

/* The last n data rows of a CSV open_time,open,high,low,close,volume. */
static int read_tail(const char *path, size_t n, struct row *out) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  char line[512];
  size_t total = 0, cap = 1 << 17;
  struct row *all = malloc(cap * sizeof(*all));
  if (!all) {
    fclose(f);
    return -1;
  }
  while (fgets(line, sizeof(line), f)) {
    struct row r;
    long long t;
    if (sscanf(line, "%lld,%lf,%lf,%lf,%lf,%lf", &t, &r.o, &r.h, &r.l, &r.c, &r.v) != 6)
      continue; /* the header */
    r.t = (int64_t)t;
    if (total == cap) {
      cap *= 2;
      struct row *na = realloc(all, cap * sizeof(*all));
      if (!na) {
        free(all);
        fclose(f);
        return -1;
      }
      all = na;
    }
    all[total++] = r;
  }
  fclose(f);
  if (total < n) {
    free(all);
    return -1;
  }
  memcpy(out, all + total - n, n * sizeof(*out));
  free(all);
  return 0;
}

static void result_init(struct tml_predictor_result *r, size_t size) {
  memset(r, 0, sizeof(*r));
  r->struct_size = (uint32_t)size;
}

static void print_json(const char *symbol, const struct tml_predictor_result *r) {
  printf("{\"symbol\":\"%s\",\"candle_open_ms\":%lld,\"model_version\":\"%s\",\"predictions\":{", symbol,
         (long long)r->candle_open_ms, r->model_version);
  for (int h = 0; h < TML_PREDICTOR_HEADS; h++) {
    printf("%s\"%s\":", h ? "," : "", tml_predictor_head_name(h));
    if (r->nclass[h] == 0) {
      printf("{\"value\":%.9g}", (double)r->value[h]);
      continue;
    }
    printf("{\"class\":\"%s\",\"probabilities\":{", tml_predictor_class_name(h, r->cls[h]));
    for (int k = 0; k < r->nclass[h]; k++)
      printf("%s\"%s\":%.9g", k ? "," : "", tml_predictor_class_name(h, k), (double)r->proba[h][k]);
    printf("}}");
  }
  printf("}}\n");
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: predictor_client FULL_HOME PART_HOME SYMBOL INTERVAL CSV N\n");
    return 2;
  }
  const char *full_home = argv[1], *part_home = argv[2], *symbol = argv[3], *interval = argv[4], *csv = argv[5];
  size_t n = (size_t)strtoul(argv[6], NULL, 10);
  struct row *rows = calloc(n ? n : 1, sizeof(*rows));
  if (!rows || read_tail(csv, n, rows) != 0) {
    fprintf(stderr, "cannot read the last %zu rows of %s\n", n, csv);
    return 2;
  }

  /* ABI facts and error paths. */
  CHECK(tml_predictor_abi_version() == TML_PREDICTOR_ABI_VERSION, "abi %d", tml_predictor_abi_version());
  CHECK(strcmp(tml_predictor_head_name(TML_PREDICTOR_DIRECTION), "direction") == 0, "head name");
  CHECK(strcmp(tml_predictor_class_name(TML_PREDICTOR_VOLATILITY, 3), "extreme") == 0, "class name");
  CHECK(tml_predictor_head_name(5) == NULL && tml_predictor_class_name(TML_PREDICTOR_STOP_LOSS, 0) == NULL, "names");
  CHECK(tml_predictor_push(NULL, 0, 1, 1, 1, 1, 1) == TML_PREDICTOR_EINVAL, "NULL handle");
  tml_predictor_close(NULL);
  tml_predictor *bad = tml_predictor_open(full_home, NULL, "NOPEUSDT", interval);
  CHECK(bad != NULL, "open returns a handle");
  CHECK(strstr(tml_predictor_last_error(bad), "NOPEUSDT") != NULL, "error names the symbol: '%s'",
        tml_predictor_last_error(bad));
  struct tml_predictor_result r0;
  result_init(&r0, sizeof(r0));
  CHECK(tml_predictor_push(bad, 0, 1, 1, 1, 1, 1) == TML_PREDICTOR_EOPEN, "push on a failed handle");
  CHECK(tml_predictor_latest(bad, &r0) == TML_PREDICTOR_EOPEN, "latest on a failed handle");
  tml_predictor_close(bad);
  bad = tml_predictor_open(full_home, NULL, symbol, "7m");
  CHECK(strstr(tml_predictor_last_error(bad), "7m") != NULL, "bad interval: '%s'", tml_predictor_last_error(bad));
  tml_predictor_close(bad);

  tml_predictor *full = tml_predictor_open(full_home, NULL, symbol, interval);
  tml_predictor *part = tml_predictor_open(part_home, "", symbol, interval);
  if (!full || !part || tml_predictor_last_error(full)[0] || tml_predictor_last_error(part)[0]) {
    fprintf(stderr, "FAIL open: full '%s' part '%s'\n", full ? tml_predictor_last_error(full) : "NULL",
            part ? tml_predictor_last_error(part) : "NULL");
    return 1;
  }
  struct tml_predictor_result want, got, small;
  result_init(&want, sizeof(want));
  result_init(&got, sizeof(got));
  result_init(&small, 8);
  CHECK(tml_predictor_latest(full, &small) == TML_PREDICTOR_EINVAL, "struct_size too small");
  CHECK(strstr(tml_predictor_last_error(full), "struct_size") != NULL, "'%s'", tml_predictor_last_error(full));
  CHECK(tml_predictor_latest(full, &want) == 0, "full latest: %s", tml_predictor_last_error(full));
  CHECK(want.candle_open_ms == rows[n - 1].t, "full predicts the last stored candle %lld, not %lld",
        (long long)rows[n - 1].t, (long long)want.candle_open_ms);
  CHECK(tml_predictor_last_candle_ms(part) == rows[0].t - (rows[1].t - rows[0].t),
        "part's newest stored candle is the one before the pushed ones (%lld)", (long long)tml_predictor_last_candle_ms(part));

  /* An out-of-order candle is refused and changes nothing. */
  int64_t before = tml_predictor_last_candle_ms(part);
  CHECK(tml_predictor_push(part, before, 1, 1, 1, 1, 1) == TML_PREDICTOR_EINVAL, "equal open time refused");
  CHECK(tml_predictor_last_error(part)[0] != '\0', "out-of-order push sets an error");
  CHECK(tml_predictor_push(part, rows[0].t, -1, 1, 1, 1, 1) == TML_PREDICTOR_EINVAL, "negative price refused");
  CHECK(tml_predictor_last_candle_ms(part) == before, "state unchanged after refused pushes");

  for (size_t i = 0; i < n; i++) {
    int rc = tml_predictor_push(part, rows[i].t, rows[i].o, rows[i].h, rows[i].l, rows[i].c, rows[i].v);
    CHECK(rc == TML_PREDICTOR_READY, "push %zu: %d %s", i, rc, tml_predictor_last_error(part));
  }
  CHECK(tml_predictor_latest(part, &got) == 0, "part latest: %s", tml_predictor_last_error(part));
  CHECK(got.candle_open_ms == want.candle_open_ms, "candle %lld vs %lld", (long long)got.candle_open_ms,
        (long long)want.candle_open_ms);
  CHECK(strcmp(got.model_version, want.model_version) == 0 && got.model_id == want.model_id && got.model_id > 0,
        "same active model");
  for (int h = 0; h < TML_PREDICTOR_HEADS; h++) {
    CHECK(got.nclass[h] == want.nclass[h] && got.cls[h] == want.cls[h], "head %d class", h);
    if (want.nclass[h] == 0)
      CHECK(memcmp(&got.value[h], &want.value[h], sizeof(float)) == 0, "head %d value %.9g vs %.9g", h,
            (double)got.value[h], (double)want.value[h]);
    else
      CHECK(memcmp(got.proba[h], want.proba[h], sizeof(float) * (size_t)want.nclass[h]) == 0 && isnan(got.value[h]),
            "head %d probabilities differ", h);
  }
  print_json(symbol, &got);
  tml_predictor_close(full);
  tml_predictor_close(part);
  free(rows);
  if (failures)
    fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
