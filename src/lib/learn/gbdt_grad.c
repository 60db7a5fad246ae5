/* The softmax of a boosting round, eight rows at a time (learn/gbdt_impl.h): the gradient pass of
 * the class trees and the validation metric's probabilities.
 *
 * Row by row this is tml__gbdt_softmax and tml_gbdt_softmax_grad: XGBoost 1.7's common::Softmax
 * (the largest margin subtracted in float, expf, the sum in double divided by as a float) and
 * multi:softprob's gradients (g = p - [class is the label], h = max(2 p (1 - p), 1e-16) in float).
 * The eight-row path computes the same IEEE operations in the same order on eight lanes, so it
 * gives the same bits; the one call it cannot make per lane is expf. It reproduces glibc's expf
 * (sysdeps/ieee754/flt-32/e_expf.c, the FMA variant glibc picks on a processor with AVX2 and FMA):
 *   z = x * 32/ln2 (double), k = round(z) through the shift 1.5 * 2^52 (one fused multiply-add),
 *   r = x * 32/ln2 - k (fused), s = 2^(k/32) from a 32-entry table of 2^(i/32) with k/32's integer
 *   part added to the exponent bits, exp(x) ~= s * (C0 r^3 + C1 r^2 + C2 r + 1) with the fused
 *   steps z = C0 r + C1, y = C2 r + 1, y = z r^2 + y, rounded to float once;
 * for |x| < 88 only (glibc's fast path; a group of eight rows with any other value, a NaN or an
 * infinity is computed by the row-by-row code). The vector path runs only with glibc, on a processor
 * with AVX2 and FMA (where glibc's ifunc picks that variant), and only after a self-check on first use
 * found it equal to the process's own expf on 16,384 inputs spread over (-88, 0] (glibc tunables that
 * hide AVX2 or FMA, or a glibc whose expf changed, turn it off there). The unit test
 * gbdt.softmax_rows_equal_the_row_by_row_code compares both paths bit for bit, and
 * `bench_softmax exhaustive` every float of the fast range. */
#include "learn/gbdt_impl.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__GLIBC__)
#include <immintrin.h>
#define GRAD_VECTOR 1
#endif

#define HESS_EPS 1e-16f /* multi:softprob's hessian floor */

/* One row: the public function (trademl/gbdt.h), the reference of the eight-row code. */
void tml_gbdt_softmax_grad(const float *margin, int nclass, int label, float *g, float *h) {
  float p[MAX_CLASSES];
  for (int k = 0; k < nclass; k++)
    p[k] = margin[k];
  tml__gbdt_softmax(p, nclass);
  for (int k = 0; k < nclass; k++) {
    g[k] = k == label ? p[k] - 1.0f : p[k];
    float hh = 2.0f * p[k] * (1.0f - p[k]);
    h[k] = hh > HESS_EPS ? hh : HESS_EPS;
  }
}

/* Row i's gradients into gh (class k's pair at gh + 2 (k * gstride + i)) and ghr (8 floats a row)
 * through the public one-row function. */
static void grad_row(const float *margin, size_t mstride, size_t i, int K, const float *label, float *gh,
                     size_t gstride, float *ghr) {
  float mg[MAX_CLASSES], g[MAX_CLASSES], h[MAX_CLASSES];
  mg[0] = margin[i]; /* K >= 2; a store GCC sees always happen (else it warns of mg unset) */
  for (int k = 1; k < K; k++)
    mg[k] = margin[(size_t)k * mstride + i];
  tml_gbdt_softmax_grad(mg, K, (int)label[i], g, h);
  for (int k = 0; k < K; k++) {
    float *q = gh + 2 * ((size_t)k * gstride + i);
    q[0] = g[k];
    q[1] = h[k];
  }
  if (ghr)
    for (int k = 0; k < K; k++) {
      ghr[i * 8 + 2 * (size_t)k] = g[k];
      ghr[i * 8 + 2 * (size_t)k + 1] = h[k];
    }
}

static float label_p_row(const float *margin, size_t mstride, size_t i, int K, const float *label) {
  float p[MAX_CLASSES];
  for (int k = 0; k < K; k++)
    p[k] = margin[(size_t)k * mstride + i];
  tml__gbdt_softmax(p, K);
  return p[(int)label[i]];
}

#ifdef GRAD_VECTOR
#define VEC_MAX_K 8 /* classes the eight-row path keeps in registers (trademl's heads have 3 and 4) */

/* glibc's constants (e_exp2f_data.c: invln2_scaled, poly_scaled, shift; N = 32) */
#define EXPF_INVLN2N (0x1.71547652b82fep+0 * 32)
#define EXPF_C0 (0x1.c6af84b912394p-5 / 32 / 32 / 32)
#define EXPF_C1 (0x1.ebfce50fac4f3p-3 / 32 / 32)
#define EXPF_C2 (0x1.62e42ff0c52d6p-1 / 32)
#define EXPF_SHIFT 0x1.8p+52

/* glibc's table: the bits of 2^(i/32) minus i << 47 (so that adding k << 47 puts k / 32 into the
 * exponent). The entries are the doubles nearest 2^(i/32), which exp2 gives for these 32 points
 * (checked against glibc's own table; any wrong entry would fail the bitwise tests). Filled once,
 * with the self-check (vector_check), before any eight-row code runs. */
static long long expf_tab[32];
static void expf_table_fill(void) {
  for (int i = 0; i < 32; i++) {
    double d = exp2((double)i / 32.0);
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    u -= (uint64_t)i << 47;
    memcpy(&expf_tab[i], &u, sizeof u);
  }
}

/* expf of four floats, each |x| < 88 (the caller checks). */
__attribute__((target("avx2,fma"))) static inline __m128 expf4(__m128 x) {
  __m256d xd = _mm256_cvtps_pd(x), inv = _mm256_set1_pd(EXPF_INVLN2N), shift = _mm256_set1_pd(EXPF_SHIFT);
  __m256d kd0 = _mm256_fmadd_pd(inv, xd, shift);
  __m256i ki = _mm256_castpd_si256(kd0);
  __m256d kd = _mm256_sub_pd(kd0, shift);
  __m256d r = _mm256_fmsub_pd(inv, xd, kd);
  __m256i t = _mm256_i64gather_epi64(expf_tab, _mm256_and_si256(ki, _mm256_set1_epi64x(31)), 8);
  t = _mm256_add_epi64(t, _mm256_slli_epi64(ki, 47));
  __m256d z = _mm256_fmadd_pd(r, _mm256_set1_pd(EXPF_C0), _mm256_set1_pd(EXPF_C1));
  __m256d r2 = _mm256_mul_pd(r, r);
  __m256d y = _mm256_fmadd_pd(r, _mm256_set1_pd(EXPF_C2), _mm256_set1_pd(1.0));
  y = _mm256_fmadd_pd(z, r2, y);
  y = _mm256_mul_pd(y, _mm256_castsi256_pd(t));
  return _mm256_cvtpd_ps(y);
}

/* The softmax of rows [i, i + 8) into p[0..K) (eight lanes each). False, with nothing computed,
 * when a lane leaves expf's fast path (|m_k - max| >= 88, or NaN): the caller then goes row by row. */
__attribute__((target("avx2,fma"))) static bool softmax8(const float *margin, size_t mstride, size_t i, int K,
                                                         __m256 *p) {
  __m256 mx = _mm256_loadu_ps(margin + i);
  for (int k = 1; k < K; k++) /* max_ps(a, b) is a > b ? a : b, the scalar loop's select */
    mx = _mm256_max_ps(_mm256_loadu_ps(margin + (size_t)k * mstride + i), mx);
  __m256i fast = _mm256_set1_epi32(-1);
  const __m256i absmask = _mm256_set1_epi32(0x7fffffff), limit = _mm256_set1_epi32(0x42b00000); /* 88.0f */
  for (int k = 0; k < K; k++) {
    p[k] = _mm256_sub_ps(_mm256_loadu_ps(margin + (size_t)k * mstride + i), mx);
    __m256i a = _mm256_and_si256(_mm256_castps_si256(p[k]), absmask);
    fast = _mm256_and_si256(fast, _mm256_cmpgt_epi32(limit, a));
  }
  if (_mm256_movemask_ps(_mm256_castsi256_ps(fast)) != 0xff)
    return false;
  __m256d s0 = _mm256_setzero_pd(), s1 = s0;
  for (int k = 0; k < K; k++) {
    __m128 e0 = expf4(_mm256_castps256_ps128(p[k])), e1 = expf4(_mm256_extractf128_ps(p[k], 1));
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(e0));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(e1));
    p[k] = _mm256_set_m128(e1, e0);
  }
  __m256 fsum = _mm256_set_m128(_mm256_cvtpd_ps(s1), _mm256_cvtpd_ps(s0));
  for (int k = 0; k < K; k++)
    p[k] = _mm256_div_ps(p[k], fsum);
  return true;
}

/* The self-check: expf4 against the process's expf on 2^14 floats spaced evenly (by their bits)
 * over (-88, 0], both ends included. */
__attribute__((target("avx2,fma"))) static bool expf4_matches_libm(void) {
  const uint32_t lo = 0x80000000u, hi = 0x80000000u | 0x42afffffu, steps = 1u << 14;
  bool same = true;
  for (uint32_t q = 0; q < steps; q += 4) {
    float x[4], e[4];
    for (uint32_t l = 0; l < 4; l++) {
      uint32_t u = lo + (uint32_t)((uint64_t)(hi - lo) * (q + l) / (steps - 1));
      memcpy(&x[l], &u, sizeof u);
    }
    _mm_storeu_ps(e, expf4(_mm_loadu_ps(x)));
    for (uint32_t l = 0; l < 4; l++) {
      float want = expf(x[l]);
      same &= memcmp(&e[l], &want, sizeof want) == 0;
    }
  }
  _mm256_zeroupper();
  return same;
}

static bool vector_ok;
static pthread_once_t vector_once = PTHREAD_ONCE_INIT;
static void vector_check(void) {
  expf_table_fill();
  vector_ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && expf4_matches_libm();
}

/* Rows [0, n - n % 8) of tml__gbdt_softmax_grad_rows; *fast counts the rows the vector code
 * computed (the others went row by row). Returns the rows done. */
__attribute__((target("avx2,fma"))) static size_t grad_rows_avx2(const float *margin, size_t mstride, size_t n, int K,
                                                                 const float *label, float *gh, size_t gstride,
                                                                 float *ghr, size_t *fast) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), eps = _mm256_set1_ps(HESS_EPS);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 p[VEC_MAX_K];
    if (!softmax8(margin, mstride, i, K, p)) {
      for (size_t q = i; q < i + 8; q++)
        grad_row(margin, mstride, q, K, label, gh, gstride, ghr);
      continue;
    }
    *fast += 8;
    __m256 lab = _mm256_loadu_ps(label + i);
    float gv[VEC_MAX_K][8], hv[VEC_MAX_K][8];
    for (int k = 0; k < K; k++) {
      __m256 is = _mm256_cmp_ps(lab, _mm256_set1_ps((float)k), _CMP_EQ_OQ);
      __m256 g = _mm256_blendv_ps(p[k], _mm256_sub_ps(p[k], one), is);
      __m256 h = _mm256_mul_ps(_mm256_mul_ps(two, p[k]), _mm256_sub_ps(one, p[k]));
      h = _mm256_max_ps(h, eps); /* hh > eps ? hh : eps */
      /* (g, h) pairs of rows i .. i + 7: unpack gives rows 0 1 4 5 and 2 3 6 7 */
      __m256 lo = _mm256_unpacklo_ps(g, h), hi = _mm256_unpackhi_ps(g, h);
      float *q = gh + 2 * ((size_t)k * gstride + i);
      _mm256_storeu_ps(q, _mm256_permute2f128_ps(lo, hi, 0x20));
      _mm256_storeu_ps(q + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
      if (ghr) {
        _mm256_storeu_ps(gv[k], g);
        _mm256_storeu_ps(hv[k], h);
      }
    }
    if (ghr)
      for (size_t q = 0; q < 8; q++)
        for (int k = 0; k < K; k++) {
          ghr[(i + q) * 8 + 2 * (size_t)k] = gv[k][q];
          ghr[(i + q) * 8 + 2 * (size_t)k + 1] = hv[k][q];
        }
  }
  _mm256_zeroupper(); /* SSE code follows (see gbdt_split.c's cut_mask_avx2) */
  return i;
}

__attribute__((target("avx2,fma"))) static size_t label_p_avx2(const float *margin, size_t mstride, size_t n, int K,
                                                               const float *label, float *out, size_t *fast) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 p[VEC_MAX_K];
    if (!softmax8(margin, mstride, i, K, p)) {
      for (size_t q = i; q < i + 8; q++)
        out[q] = label_p_row(margin, mstride, q, K, label);
      continue;
    }
    *fast += 8;
    __m256 lab = _mm256_loadu_ps(label + i), py = _mm256_setzero_ps();
    for (int k = 0; k < K; k++)
      py = _mm256_blendv_ps(py, p[k], _mm256_cmp_ps(lab, _mm256_set1_ps((float)k), _CMP_EQ_OQ));
    _mm256_storeu_ps(out + i, py);
  }
  _mm256_zeroupper();
  return i;
}
#endif

bool tml__gbdt_softmax_vector(unsigned flags) {
#ifdef GRAD_VECTOR
  if (flags & TML_GBDT_NO_AVX2)
    return false;
  pthread_once(&vector_once, vector_check);
  return vector_ok;
#else
  (void)flags;
  return false;
#endif
}

size_t tml__gbdt_softmax_grad_rows(const float *margin, size_t mstride, size_t n, int K, const float *label, float *gh,
                                   size_t gstride, float *ghr, bool vector) {
  size_t i = 0, fast = 0;
#ifdef GRAD_VECTOR
  if (vector && K <= VEC_MAX_K)
    i = grad_rows_avx2(margin, mstride, n, K, label, gh, gstride, ghr, &fast);
#else
  (void)vector;
#endif
  for (; i < n; i++)
    grad_row(margin, mstride, i, K, label, gh, gstride, ghr);
  return fast;
}

size_t tml__gbdt_softmax_label_p(const float *margin, size_t mstride, size_t n, int K, const float *label, float *out,
                                 bool vector) {
  size_t i = 0, fast = 0;
#ifdef GRAD_VECTOR
  if (vector && K <= VEC_MAX_K)
    i = label_p_avx2(margin, mstride, n, K, label, out, &fast);
#else
  (void)vector;
#endif
  for (; i < n; i++)
    out[i] = label_p_row(margin, mstride, i, K, label);
  return fast;
}
