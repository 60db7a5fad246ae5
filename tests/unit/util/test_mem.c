/* util/mem.c: the prefault helper maps a fresh array's pages from another thread without ever
 * changing what the writer puts there. */
#define _DEFAULT_SOURCE 1 /* mincore, MADV_POPULATE_WRITE */
#include "test.h"
#include "trademl/mem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

/* Pages of [p, p + len) the kernel has mapped. */
static size_t resident_pages(void *p, size_t len) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page, count = 0;
  unsigned char *vec = malloc(n);
  CHECK(vec);
  CHECK_MSG(mincore(p, len, vec) == 0, "mincore: %s", strerror(errno));
  for (size_t i = 0; i < n; i++)
    count += vec[i] & 1;
  free(vec);
  return count;
}

TEST(prefault_keeps_what_the_writer_writes) {
  size_t len = 24 * MIB;
  unsigned char *p = tml_alloc_large(len);
  CHECK(p);
  struct tml_prefault pf;
  tml_prefault_start(p, len, &pf);
  for (size_t i = 0; i < len; i++) /* from the front, while the helper maps from the end */
    p[i] = (unsigned char)(i * 31u + 7u);
  tml_prefault_finish(&pf);
  size_t wrong = 0;
  for (size_t i = 0; i < len; i++)
    wrong += p[i] != (unsigned char)(i * 31u + 7u);
  CHECK_MSG(wrong == 0, "%zu of %zu bytes changed", wrong, len);
  free(p);
}

TEST(prefault_maps_the_pages_of_a_fresh_array) {
  size_t len = 16 * MIB, page = (size_t)sysconf(_SC_PAGESIZE);
  unsigned char *p = tml_alloc_large(len); /* 2 MiB aligned at this size */
  CHECK(p && (uintptr_t)p % (2 * MIB) == 0);
#ifdef MADV_POPULATE_WRITE
  /* does the running kernel take the advice? (probed on a mapping of its own: on p it would map the
   * first huge page before the helper runs) */
  void *probe = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(probe != MAP_FAILED);
  int refused = madvise(probe, page, MADV_POPULATE_WRITE);
  munmap(probe, page);
  if (refused != 0) {
    free(p);
    SKIP("this kernel has no MADV_POPULATE_WRITE (Linux 5.14+): the helper leaves the faults to the writer");
  }
#else
  free(p);
  SKIP("built without MADV_POPULATE_WRITE");
#endif
  size_t before = resident_pages(p, len);
  CHECK_MSG(before < len / page / 2, "%zu of %zu pages mapped before the helper ran", before, len / page);
  struct tml_prefault pf;
  tml_prefault_start(p, len, &pf);
  CHECK_MSG(pf.started, "no helper started for %zu bytes", len);
  tml_prefault_finish(&pf);
  size_t after = resident_pages(p, len);
  CHECK_MSG(after == len / page, "%zu of %zu pages mapped after the helper (%zu before)", after, len / page, before);
  free(p);
  /* below 4 MiB nothing is started */
  unsigned char *q = malloc(MIB);
  CHECK(q);
  tml_prefault_start(q, MIB, &pf);
  CHECK(!pf.started);
  tml_prefault_finish(&pf);
  free(q);
}
