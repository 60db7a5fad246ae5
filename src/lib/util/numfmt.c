/* Numbers as text, byte for byte what printf writes (include/trademl/numfmt.h).
 *
 * %.*g of a finite nonzero v = m * 2^e (m the 53-bit significand): with X = floor(log10 |v|) the
 * decimal exponent, the P significant digits are N = round(|v| * 10^(P - 1 - X)), computed exactly
 * as a quotient of 128-bit integers with its remainder (ties to even). A guess of X off by one shows
 * as N outside [10^(P-1), 10^P) before rounding and is corrected (the guess, floor((e + 52) log10 2)
 * for v = m * 2^e with m normalised, is X or one below it); rounding up to 10^P moves X up by one.
 * Then C11 7.21.6.1's %g: style f with P - 1 - X decimals when P > X >= -4, else style e with P - 1
 * decimals, trailing zeros and a trailing point removed. */
#include "trademl/numfmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

static const uint64_t P10[20] = {1ULL,
                                 10ULL,
                                 100ULL,
                                 1000ULL,
                                 10000ULL,
                                 100000ULL,
                                 1000000ULL,
                                 10000000ULL,
                                 100000000ULL,
                                 1000000000ULL,
                                 10000000000ULL,
                                 100000000000ULL,
                                 1000000000000ULL,
                                 10000000000000ULL,
                                 100000000000000ULL,
                                 1000000000000000ULL,
                                 10000000000000000ULL,
                                 100000000000000000ULL,
                                 1000000000000000000ULL,
                                 10000000000000000000ULL};

static inline u128 p10(int k) { return k < 20 ? (u128)P10[k] : (u128)P10[19] * P10[k - 19]; } /* k <= 38 */

static inline int bitlen128(u128 x) {
  uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
  return hi ? 128 - __builtin_clzll(hi) : lo ? 64 - __builtin_clzll(lo) : 0;
}

/* floor(m * 2^e * 10^t) into *q and how the rest compares with one half (-1, 0, 1) into *half;
 * false when an intermediate would not fit 128 bits. */
static bool scaled(uint64_t m, int e, int t, u128 *q, int *half) {
  if (t > 38 || t < -38)
    return false;
  u128 num, den;
  int shift = 0; /* den = 2^shift when t >= 0 */
  if (e >= 0) {
    if (bitlen128(m) + e > 127)
      return false;
    num = (u128)m << e;
    den = 1;
  } else {
    if (-e > 127)
      return false;
    num = m;
    shift = -e;
    den = 0;
  }
  if (t >= 0) {
    u128 f = p10(t);
    if (bitlen128(num) + bitlen128(f) > 128)
      return false;
    num *= f;
  } else {
    u128 f = p10(-t);
    if (shift) { /* den = 2^shift * 10^-t */
      if (shift + bitlen128(f) > 127)
        return false;
      den = f << shift;
      shift = 0;
    } else {
      den = f;
    }
  }
  u128 rem;
  if (shift) {
    *q = num >> shift;
    rem = num & (((u128)1 << shift) - 1);
    u128 h = (u128)1 << (shift - 1);
    *half = rem < h ? -1 : rem > h ? 1 : 0;
  } else {
    *q = num / den;
    rem = num % den;
    u128 twice = rem << 1; /* den < 2^127: no overflow */
    *half = twice < den ? -1 : twice > den ? 1 : 0;
  }
  return true;
}

/* floor(k * log10(2)) for |k| <= 1100 (78913 / 2^18 is below log10(2) by 7.9e-7: checked against long
 * double for every such k, none lands on the other side of an integer); a floor division for k < 0. */
static inline int floor_log10_pow2(int k) {
  int64_t t = (int64_t)k * 78913;
  return (int)(t >= 0 ? t >> 18 : -((-t + (INT64_C(1) << 18) - 1) >> 18));
}

/* The P significant digits of m * 2^e (m normalised: bit 52 set), rounded, and their decimal
 * exponent; false when out of reach. The value lies in [2^(e + 52), 2^(e + 53)), so its decimal
 * exponent is floor((e + 52) log10 2) or one more: the first guess is the lower one, raised when the
 * digits come out one too many, or when its scale 10^(P - 1 - x) is one power too large for 128
 * bits (the right one, a power smaller, may fit). */
static bool digits(uint64_t m, int e, int P, uint64_t *N, int *X) {
  int x = floor_log10_pow2(e + 52);
  for (int tries = 0; tries < 3; tries++) {
    u128 q;
    int half;
    if (!scaled(m, e, P - 1 - x, &q, &half)) {
      if (tries > 0)
        return false;
      x++;
      continue;
    }
    if (q >= p10(P)) { /* the guess was low */
      x++;
      continue;
    }
    if (q < p10(P - 1)) { /* the guess was high (not from the first guess, which is never above) */
      x--;
      continue;
    }
    uint64_t n = (uint64_t)q;
    if (half > 0 || (half == 0 && (n & 1)))
      n++;
    if (n == P10[P]) {
      n = P10[P - 1];
      x++;
    }
    *N = n;
    *X = x;
    return true;
  }
  return false;
}

static const char DIG2[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                              "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                              "8081828384858687888990919293949596979899";

/* The n low decimal digits of v (with leading zeros) into d[0 .. n - 1], two at a time. */
static inline void put_low_digits(char *d, uint64_t v, int n) {
  for (; n >= 2; n -= 2, v /= 100)
    memcpy(d + n - 2, DIG2 + 2 * (v % 100), 2);
  if (n)
    d[0] = (char)('0' + v % 10);
}

/* The n digits of N (N < 10^n, n <= 19) into d: above 8 digits as two halves, whose divisions do
 * not wait on each other. */
static inline void put_digits(char *d, uint64_t N, int n) {
  if (n > 8) {
    put_low_digits(d + n - 8, N % 100000000u, 8);
    put_low_digits(d, N / 100000000u, n - 8);
  } else {
    put_low_digits(d, N, n);
  }
}

bool tml_fmt_g_exact(char *out, double v, int prec, size_t *len) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  int bexp = (int)((bits >> 52) & 0x7ff);
  uint64_t m = bits & ((UINT64_C(1) << 52) - 1);
  bool neg = bits >> 63;
  char *p = out;
  if (bexp == 0 && m == 0) { /* +-0 */
    if (neg)
      *p++ = '-';
    *p++ = '0';
    *p = '\0';
    *len = (size_t)(p - out);
    return true;
  }
  uint64_t N = 0;
  int X = 0;
  if (prec < 1 || prec > 17 || bexp == 0 || bexp == 0x7ff ||
      !digits(m | (UINT64_C(1) << 52), bexp - 1075, prec, &N, &X))
    return false;
  char d[20];
  put_digits(d, N, prec);
  int nd = prec;
  while (nd > 1 && d[nd - 1] == '0')
    nd--;
  if (neg)
    *p++ = '-';
  if (X < -4 || X >= prec) { /* style e */
    *p++ = d[0];
    if (nd > 1) {
      *p++ = '.';
      memcpy(p, d + 1, (size_t)nd - 1);
      p += nd - 1;
    }
    *p++ = 'e';
    *p++ = X < 0 ? '-' : '+';
    int ax = X < 0 ? -X : X;
    if (ax >= 100)
      *p++ = (char)('0' + ax / 100);
    *p++ = (char)('0' + ax / 10 % 10);
    *p++ = (char)('0' + ax % 10);
  } else if (X >= 0) { /* style f, an integer part of X + 1 digits */
    for (int i = 0; i <= X; i++)
      *p++ = i < nd ? d[i] : '0';
    if (nd > X + 1) {
      *p++ = '.';
      memcpy(p, d + X + 1, (size_t)(nd - X - 1));
      p += nd - X - 1;
    }
  } else { /* style f, 0.000ddd */
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -X - 1; i++)
      *p++ = '0';
    memcpy(p, d, (size_t)nd);
    p += nd;
  }
  *p = '\0';
  *len = (size_t)(p - out);
  return true;
}

size_t tml_fmt_g(char *out, double v, int prec) {
  size_t len;
  if (tml_fmt_g_exact(out, v, prec, &len))
    return len;
  int n = snprintf(out, TML_FMT_G_MAX, "%.*g", prec, v);
  return n <= 0 ? 0 : n < TML_FMT_G_MAX ? (size_t)n : TML_FMT_G_MAX - 1; /* what was written */
}

size_t tml_fmt_int(char *out, int64_t v) {
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* <= 2^63 < 10^19 */
  int n = 1;
  while (n < 19 && u >= P10[n])
    n++;
  char *p = out;
  if (v < 0)
    *p++ = '-';
  put_digits(p, u, n);
  p += n;
  *p = '\0';
  return (size_t)(p - out);
}
