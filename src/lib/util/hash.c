/* FNV-1a 64 (Fowler–Noll–Vo, http://www.isthe.com/chongo/tech/comp/fnv/): h ^= byte; h *= prime. */
#include "trademl/hash.h"
#include "util/common.h"

uint64_t tml_fnv1a64(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

void tml_hash_hex(uint64_t h, char *out) { snprintf(out, 17, "%016" PRIx64, h); }
