/* Allocation of large flat arrays (feature matrices, datasets) and of growing row arrays (listings). */
#ifndef TML_MEM_H
#define TML_MEM_H

#include <stddef.h>

/* Allocates `bytes` for a large array that is written once front to back. Blocks of 4 MiB and more are
 * aligned to 2 MiB and advised as transparent-huge-page candidates, which cuts the page faults of the
 * first write by ~500x on Linux (kernel setting "madvise"); smaller ones come from malloc. Free with
 * free(). Returns NULL when out of memory. */
void *tml_alloc_large(size_t bytes);

/* The row array of a listing with room for row n: doubles the capacity (from `first`) when full.
 * Returns the array, moved or not, or NULL when out of memory or the size would overflow (the old
 * array stays valid and *cap unchanged). */
void *tml_grow(void *rows, size_t *cap, size_t n, size_t elem, size_t first);

#endif
