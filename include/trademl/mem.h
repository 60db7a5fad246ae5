/* Allocation of large flat arrays (feature matrices, datasets). */
#ifndef TML_MEM_H
#define TML_MEM_H

#include <stddef.h>

/* Allocates `bytes` for a large array that is written once front to back. Blocks of 4 MiB and more are
 * aligned to 2 MiB and advised as transparent-huge-page candidates, which cuts the page faults of the
 * first write by ~500x on Linux (kernel setting "madvise"); smaller ones come from malloc. Free with
 * free(). Returns NULL when out of memory. */
void *tml_alloc_large(size_t bytes);

#endif
