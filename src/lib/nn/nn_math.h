/* Fast, vectorisable exp / sigmoid / tanh for the nn core (internal). glibc's tanhf (through expm1f)
 * took over half of an LSTM training step; these are plain float arithmetic that GCC vectorises, and
 * deterministic: the same input gives the same bits in training, batch prediction and streaming.
 * exp: Cephes' expf (S. Moshier): n = round(x log2 e), r = x - n ln 2 (in two parts), a degree-6
 * polynomial for exp(r), times 2^n built in the exponent bits. Relative error < 2e-7 on
 * [-87, 88]; inputs are clamped to that range (sigmoid and tanh saturate well before it). */
#ifndef TML_NN_MATH_H
#define TML_NN_MATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline float tml__nn_expf(float x) {
  /* written so that NaN takes the upper bound (its comparisons are false): converting a NaN to an
   * integer below is undefined; for every other x the same clamp */
  x = x < 88.0f ? x : 88.0f;
  x = x > -87.0f ? x : -87.0f;
  float fx = x * 1.44269504088896341f + 0.5f;
  int32_t n = (int32_t)fx;             /* truncation; fix to floor for negatives */
  n -= (float)n > fx ? 1 : 0;
  float nf = (float)n;
  float r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  uint32_t bits = (uint32_t)(n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

static inline float tml__nn_sigmoid(float x) { return 1.0f / (1.0f + tml__nn_expf(-x)); }

/* tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|): no overflow, absolute error ~1e-7 near 0. */
static inline float tml__nn_tanh(float x) {
  float ax = x < 0.0f ? -x : x;
  float e = tml__nn_expf(-2.0f * ax);
  float t = (1.0f - e) / (1.0f + e);
  return x < 0.0f ? -t : t;
}

static inline void tml__nn_sigmoid_n(float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] = tml__nn_sigmoid(x[i]);
}

static inline void tml__nn_tanh_n(float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] = tml__nn_tanh(x[i]);
}

#endif
