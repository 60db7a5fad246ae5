/* The binary model files of trademl's neural-network strategies, as `predict`, the live loop and the
 * daemon read them: an LSTM model (lstm_model.bin, tml_lstm_load) and an RL agent (tml_rl_agent_load).
 *   byte 0: bit 0 the format (0 LSTM, 1 RL agent); bit 1 set: the checksums stay as fuzzed, else
 *           they are recomputed (LSTM: the payload's and the header's FNV-1a; RL: the trailing one)
 *           so that mutations reach the parser behind them; bit 2 set (RL): the feature-set checksum
 *           stays as fuzzed, else it is this build's
 *   rest:   the file.
 * A refusal must be TML_EMODEL (or TML_ENOMEM) with a message naming the file. A file that loads must
 * then predict rows of zeros, NaN, +-Inf and extremes without a sanitizer report: the LSTM by
 * streaming (class probabilities in [0, 1] or NaN), the agent by one decision per row and position
 * (an action among its actions, probabilities in [0, 1] or NaN). The loaders allocate from the
 * header's dimensions, so libFuzzer's malloc limit (scripts/fuzz.sh: -rss_limit_mb=2048) also
 * catches a file of a few kilobytes that asks for gigabytes. */
#include "fuzz.h"

#include <math.h>
#include <stdbool.h>

#include "trademl/featureset.h"
#include "trademl/hash.h"
#include "trademl/lstm.h"
#include "trademl/rl.h"

#define LSTM_HEADER 256 /* lstm_model.c: HEADER_SIZE; payload FNV at 204, header FNV (of 0..247) at 248 */
#define RL_FSUM_AT 12   /* ppo.c: magic 8, version 4, then the 16-byte feature-set checksum */

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void check_refusal(int rc, const struct tml_error *err, const char *path) {
  if ((rc != TML_EMODEL && rc != TML_ENOMEM) || !err->msg[0])
    abort();
  if (rc == TML_EMODEL && !strstr(err->msg, path))
    abort(); /* a refusal names the file */
}

static void check_prob(float p) {
  if (!isnan(p) && !(p >= 0.0f && p <= 1.0f))
    abort();
}

/* Row kind k of n floats: 0 zeros, 1 NaN, 2 +Inf, 3 -Inf, 4 +-3e38, 5 mixed. */
static void make_row(float *x, size_t n, int k) {
  static const float mixed[] = {0.5f, -1.0f, NAN, 1e-30f, 7.0f, -INFINITY, 100.0f};
  for (size_t j = 0; j < n; j++)
    x[j] = k == 0 ? 0.0f
           : k == 1 ? NAN
           : k == 2 ? INFINITY
           : k == 3 ? -INFINITY
           : k == 4 ? (j % 2 ? 3e38f : -3e38f)
                    : mixed[j % (sizeof mixed / sizeof *mixed)];
}

static void run_lstm(const char *path) {
  struct tml_error err;
  tml_error_init(&err);
  struct tml_lstm_model *m = NULL;
  int rc = tml_lstm_load(path, NULL, NULL, &m, &err);
  if (rc) {
    check_refusal(rc, &err, path);
    return;
  }
  struct tml_lstm_info info;
  tml_lstm_info(m, &info);
  struct tml_lstm_stream *s = NULL;
  rc = tml_lstm_stream_open(m, &s, &err);
  if (rc && rc != TML_ENOMEM)
    abort(); /* opening a stream only allocates */
  if (!rc) {
    float *row = malloc((info.ncols ? info.ncols : 1) * sizeof *row);
    float out[TML_HEAD_COUNT][TML_MAX_CLASSES];
    if (!row)
      abort();
    for (int k = 0; k < 6; k++) {
      make_row(row, info.ncols, k);
      tml_lstm_stream_step(s, row, out);
      for (int h = 0; h < TML_HEAD_COUNT; h++)
        if (tml_head_nclass((enum tml_head)h) > 0)
          for (size_t c = 0; c < tml_lstm_head_width((enum tml_head)h); c++)
            check_prob(out[h][c]);
    }
    free(row);
    tml_lstm_stream_close(s);
  }
  tml_lstm_free(m);
}

static void run_rl(const char *path) {
  struct tml_error err;
  tml_error_init(&err);
  struct tml_rl_agent *a = NULL;
  int rc = tml_rl_agent_load(path, &a, &err);
  if (rc) {
    check_refusal(rc, &err, path);
    return;
  }
  size_t n = tml_rl_agent_nfeat(a);
  int nact = tml_rl_agent_action_count(a);
  float *row = malloc((n ? n : 1) * sizeof *row), *probs = malloc((size_t)(nact > 0 ? nact : 1) * sizeof *probs);
  if (!row || !probs || nact < 1)
    abort();
  for (int k = 0; k < 6; k++)
    for (int pos = -1; pos <= 1; pos++) {
      make_row(row, n, k);
      float value = 0.0f;
      int action = -1;
      tml_rl_agent_act(a, row, pos, k == 4 ? 1e300 : 0.01 * k, (size_t)k, probs, &value, &action);
      if (action < 0 || action >= nact)
        abort();
      for (int i = 0; i < nact; i++)
        check_prob(probs[i]);
    }
  free(row);
  free(probs);
  tml_rl_agent_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_quiet();
  if (size < 1)
    return 0;
  unsigned opt = data[0];
  size_t n = size - 1;
  uint8_t *f = malloc(n ? n : 1);
  if (!f)
    abort();
  memcpy(f, data + 1, n);
  bool rl = opt & 1;
  if (!(opt & 2)) {
    if (!rl && n >= LSTM_HEADER) {
      put_u64(f + 204, tml_fnv1a64(TML_FNV64_INIT, f + LSTM_HEADER, n - LSTM_HEADER));
      put_u64(f + 248, tml_fnv1a64(TML_FNV64_INIT, f, 248));
    }
    if (rl && !(opt & 4) && n >= RL_FSUM_AT + 16)
      memcpy(f + RL_FSUM_AT, tml_featureset_checksum(), 16);
    if (rl && n >= 16)
      put_u64(f + n - 8, tml_fnv1a64(TML_FNV64_INIT, f, n - 8));
  }
  char path[600];
  fuzz_write(rl ? "agent.bin" : "lstm_model.bin", f, n, path, sizeof path);
  free(f);
  if (rl)
    run_rl(path);
  else
    run_lstm(path);
  return 0;
}
