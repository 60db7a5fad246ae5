/* tml_fmt_g and tml_fmt_int write exactly what snprintf writes: random bit patterns over every
 * exponent, floats widened to double (the models' leaf values), values near powers of ten and the
 * style boundaries of %g, exact ties (rounded to even), and the special values. */
#include "test.h"
#include "trademl/numfmt.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static size_t checked, differ;

static void check_g(double v, int prec) {
  char want[64], got[TML_FMT_G_MAX + 8];
  int n = snprintf(want, sizeof want, "%.*g", prec, v);
  memset(got, 'x', sizeof got);
  size_t len = tml_fmt_g(got, v, prec);
  checked++;
  if (len != (size_t)n || strcmp(got, want) != 0) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (differ++ < 10)
      printf("%.17g (bits %016" PRIx64 ") at %%.%dg: '%s', printf writes '%s'\n", v, bits, prec, got, want);
  }
}

static void check_all_prec(double v) {
  for (int p = 1; p <= 17; p++)
    check_g(v, p);
}

TEST(fmt_g_equals_printf) {
  checked = differ = 0;
  /* special values and boundaries */
  const double special[] = {0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, 9.5, 10.0, 1e-4, 1e-5, 9.9999e-5,
                            0.0001234, 123456789.0, 1e16, 1e17, 9.999999999999999e16, 1e21, 1e22, 1e23,
                            DBL_MAX, -DBL_MAX, DBL_MIN, DBL_MIN / 4, 5e-324, FLT_MAX, FLT_MIN, FLT_EPSILON,
                            NAN, -NAN, INFINITY, -INFINITY, 0.30000000000000004, 2.675, 1.005, 123.456};
  for (size_t i = 0; i < sizeof special / sizeof *special; i++) {
    check_all_prec(special[i]);
    check_g(special[i], 0);
    check_g(special[i], 18);
  }
  /* a precision beyond the buffer: the length is what was written */
  {
    char out[TML_FMT_G_MAX];
    size_t n = tml_fmt_g(out, 0.1, 40);
    CHECK_INT(n, strlen(out));
    CHECK_INT(n, TML_FMT_G_MAX - 1);
  }
  /* powers of ten and their neighbours (the exponent guess), all precisions */
  for (int k = -30; k <= 30; k++) {
    double p = pow(10.0, k);
    check_all_prec(p);
    check_all_prec(nextafter(p, 0.0));
    check_all_prec(nextafter(p, INFINITY));
    check_all_prec(-p * 9.5);
    check_all_prec((double)nextafterf((float)p, 0.0f));
    check_all_prec((double)nextafterf((float)p, INFINITY));
  }
  /* exact ties: small integers times powers of two have short exact expansions */
  for (int mm = 1; mm < 2000; mm += 1)
    for (int k = -24; k <= 8; k += 1)
      check_all_prec(ldexp((double)mm, k));
  /* random bit patterns: every exponent, precisions 9 and 17 (the model files') and one at random */
  for (int i = 0; i < 300000; i++) {
    uint64_t b = rnd();
    double v;
    memcpy(&v, &b, sizeof v);
    check_g(v, 17);
    check_g(v, 9);
    check_g(v, 1 + (int)(rnd() % 17));
  }
  /* floats widened to double, the range of leaf values, weights and thresholds */
  for (int i = 0; i < 300000; i++) {
    uint32_t b = (uint32_t)rnd();
    float f;
    memcpy(&f, &b, sizeof f);
    check_g((double)f, 9);
  }
  /* log-uniform doubles from 1e-8 to 1e20 (gains and covers) */
  for (int i = 0; i < 300000; i++) {
    double v = pow(10.0, -8.0 + 28.0 * (double)(rnd() >> 11) / 9007199254740992.0);
    check_g(v, 17);
    check_g(-v, 9);
    check_g((double)(float)v, 9);
  }
  printf("%zu conversions compared with snprintf, %zu differ\n", checked, differ);
  CHECK_MSG(differ == 0, "%zu of %zu conversions differ from snprintf", differ, checked);
}

/* The exact path covers the range numfmt.h names, |v| from 10^(prec - 23) to about 1e38 (the rest
 * goes to snprintf: the same text, but slower), and writes there what snprintf writes. A first
 * guess of the decimal exponent one too low once sent the lowest binade of that range to snprintf
 * at every precision (found in review): the values just above 10^(prec - 23) are checked here. */
TEST(fmt_g_exact_path_covers_its_range) {
  size_t n = 0, slow = 0, wrong = 0;
  for (int prec = 1; prec <= 17; prec++) {
    double lo = pow(10.0, prec - 23) * 1.000001, hi = 1e38;
    for (int i = 0; i < 20000; i++) {
      /* the first 2000 in the binade above lo, then log-uniform up to hi */
      double u = (double)(rnd() >> 11) / 9007199254740992.0;
      double v = i < 2000 ? lo * (1.0 + u) : lo * pow(hi / lo, u);
      for (int s = 0; s < 2; s++, v = -v) {
        char got[TML_FMT_G_MAX], want[64];
        size_t len = 0;
        n++;
        if (!tml_fmt_g_exact(got, v, prec, &len)) {
          if (slow++ < 5)
            printf("%.17g at %%.%dg went to snprintf\n", v, prec);
          continue;
        }
        int w = snprintf(want, sizeof want, "%.*g", prec, v);
        if (len != (size_t)w || strcmp(got, want) != 0)
          wrong++;
      }
    }
  }
  printf("%zu values in the exact range: %zu went to snprintf, %zu differ from it\n", n, slow, wrong);
  CHECK_MSG(slow == 0 && wrong == 0, "%zu of %zu values left the exact path, %zu were written otherwise", slow, n,
            wrong);
  /* and a value below the range does go to snprintf (the bound is where the docs say) */
  char out[TML_FMT_G_MAX];
  size_t len = 0;
  CHECK(!tml_fmt_g_exact(out, 1e-7, 17, &len));
  CHECK(tml_fmt_g_exact(out, 1.5e-6, 17, &len));
}

TEST(fmt_int_equals_printf) {
  const int64_t special[] = {0, 1, -1, 9, 10, -10, 99, 100, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, INT64_MIN + 1};
  char want[32], got[32];
  for (size_t i = 0; i < sizeof special / sizeof *special; i++) {
    snprintf(want, sizeof want, "%" PRId64, special[i]);
    CHECK_INT(tml_fmt_int(got, special[i]), strlen(want));
    CHECK_STR(got, want);
  }
  for (int i = 0; i < 100000; i++) {
    int64_t v = (int64_t)rnd() >> (rnd() % 64);
    snprintf(want, sizeof want, "%" PRId64, v);
    CHECK_INT(tml_fmt_int(got, v), strlen(want));
    CHECK_STR(got, want);
  }
}
