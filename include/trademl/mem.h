/* Allocation of large flat arrays (feature matrices, datasets), faulting them in from a helper thread,
 * and growing row arrays (listings). */
#ifndef TML_MEM_H
#define TML_MEM_H

#include <stddef.h>

/* Allocates `bytes` for a large array that is written once front to back. Blocks of 4 MiB and more are
 * aligned to 2 MiB and advised as transparent-huge-page candidates, which cuts the page faults of the
 * first write by ~500x on Linux (kernel setting "madvise"); smaller ones come from malloc. Free with
 * free(). Returns NULL when out of memory. */
void *tml_alloc_large(size_t bytes);

/* Faulting a fresh large array in from another thread while this one writes it from the front.
 * The first write of a page costs a page fault and the kernel clearing the page; for a 30 MB feature
 * matrix that is ~60 ms of a serial phase on a virtual machine (perf: clear_page). tml_prefault_start
 * asks the kernel (MADV_POPULATE_WRITE, Linux 5.14+) to map the whole 2 MiB pages of [p, p + len)
 * from the end towards the front on a helper thread, so the helper faults the back of the array
 * while the writer faults the front (from where they cross, the helper finds the pages mapped). The
 * helper never writes the memory (the advice maps pages, it stores nothing), so the writer may run
 * at the same time. Starts nothing (pf->started 0) below 4 MiB, without the advice in the headers,
 * after the running kernel has once refused it, or when no thread can be started. `pf` is read by
 * the helper: it must stay where it is until tml_prefault_finish, which waits for the helper; call
 * that before freeing or moving the array (it does nothing when nothing was started). */
struct tml_prefault {
  char *p;
  size_t len;
  int started;
  unsigned long tid; /* pthread_t, kept opaque here */
};
void tml_prefault_start(void *p, size_t len, struct tml_prefault *pf);
void tml_prefault_finish(struct tml_prefault *pf);

/* The row array of a listing with room for row n: doubles the capacity (from `first`) when full.
 * Returns the array, moved or not, or NULL when out of memory or the size would overflow (the old
 * array stays valid and *cap unchanged). */
void *tml_grow(void *rows, size_t *cap, size_t n, size_t elem, size_t first);

#endif
