/* Included by every library .c after its own header: standard headers, then the banned-function
 * list (git's banned.h), so a banned call anywhere in the library fails to compile. */
#ifndef TML_COMMON_H
#define TML_COMMON_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define TML_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TML_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TML_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
