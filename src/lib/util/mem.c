/* Large-array allocation with transparent huge pages where the kernel offers them. MADV_HUGEPAGE is
 * Linux-specific (not POSIX), hence _DEFAULT_SOURCE in this one file; elsewhere the advice is skipped. */
#define _DEFAULT_SOURCE 1
#include "trademl/mem.h"
#include "util/common.h"

#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *tml_alloc_large(size_t bytes) {
  if (bytes < 2 * HUGE_PAGE)
    return malloc(bytes ? bytes : 1);
  size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  void *p = aligned_alloc(HUGE_PAGE, rounded);
  if (!p)
    return NULL;
#ifdef MADV_HUGEPAGE
  (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: failure changes nothing but speed */
#endif
  return p;
}

void *tml_grow(void *rows, size_t *cap, size_t n, size_t elem, size_t first) {
  if (n < *cap)
    return rows;
  size_t ncap = *cap ? *cap * 2 : first;
  if (ncap < *cap || (elem && ncap > SIZE_MAX / elem))
    return NULL;
  void *nr = realloc(rows, ncap * elem);
  if (nr)
    *cap = ncap;
  return nr;
}
