/* Large-array allocation with transparent huge pages where the kernel offers them, and the helper
 * that faults a fresh array in (mem.h). MADV_HUGEPAGE and MADV_POPULATE_WRITE are Linux-specific (not
 * POSIX), hence _DEFAULT_SOURCE in this one file; elsewhere the advice is skipped. */
#define _DEFAULT_SOURCE 1
#include "trademl/mem.h"
#include "util/common.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
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

#ifdef MADV_POPULATE_WRITE
_Static_assert(sizeof(pthread_t) <= sizeof(unsigned long), "a pthread_t fits the opaque field");

/* set once a kernel older than 5.14 has refused the advice: no more helpers are started */
static atomic_bool populate_refused;

static void *prefault_run(void *arg) {
  const struct tml_prefault *pf = arg;
  /* whole huge pages from the end towards the front: one advice per 2 MiB */
  uintptr_t a = (uintptr_t)pf->p, z = a + pf->len, lo = (a + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  for (uintptr_t hi = z / HUGE_PAGE * HUGE_PAGE; hi > lo; hi -= HUGE_PAGE)
    if (madvise((void *)(hi - HUGE_PAGE), HUGE_PAGE, MADV_POPULATE_WRITE) != 0) {
      if (errno == EINVAL)
        atomic_store(&populate_refused, true);
      break; /* an old kernel or no memory: the writer faults the pages itself */
    }
  return NULL;
}
#endif

void tml_prefault_start(void *p, size_t len, struct tml_prefault *pf) {
  memset(pf, 0, sizeof(*pf));
#ifdef MADV_POPULATE_WRITE
  if (!p || len < 2 * HUGE_PAGE || atomic_load(&populate_refused))
    return;
  pf->p = p;
  pf->len = len;
  pthread_t t;
  if (pthread_create(&t, NULL, prefault_run, pf) == 0) {
    memcpy(&pf->tid, &t, sizeof(t));
    pf->started = 1;
  }
#else
  (void)p;
  (void)len;
#endif
}

void tml_prefault_finish(struct tml_prefault *pf) {
  if (!pf->started)
    return;
  pthread_t t;
  memcpy(&t, &pf->tid, sizeof(t));
  pthread_join(t, NULL);
  pf->started = 0;
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
