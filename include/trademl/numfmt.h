/* Numbers as text without printf's cost, byte for byte what printf writes. Model files hold
 * hundreds of thousands of numbers; printf's general conversion spends most of a save there. */
#ifndef TML_NUMFMT_H
#define TML_NUMFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TML_FMT_G_MAX 32 /* room for any result of tml_fmt_g, NUL included */

/* Writes what snprintf(out, TML_FMT_G_MAX, "%.*g", prec, v) writes (round to nearest, ties to even,
 * as glibc's printf in the default rounding mode) and returns its length. Exact integer arithmetic
 * (tml_fmt_g_exact) for finite normal values whose scaled digits fit 128 bits: |v| from
 * 10^(prec - 23) (1e-14 at the models' 9 digits for floats, 1e-6 at 17 for doubles) to about 1e38;
 * other values (NaN, infinities, subnormals, prec outside 1..17, far exponents) go to snprintf,
 * whose text is cut at TML_FMT_G_MAX - 1 characters (only a precision above ~24 writes more). */
size_t tml_fmt_g(char *out, double v, int prec);
/* The exact path alone: true with the text in out and its length in *len, or false (out undefined)
 * for a value tml_fmt_g hands to snprintf. */
bool tml_fmt_g_exact(char *out, double v, int prec, size_t *len);

/* Writes v in decimal (as "%lld") and returns its length; out needs 21 bytes. */
size_t tml_fmt_int(char *out, int64_t v);

#endif
