/* Content hashes for identifying inputs (candles, configs, feature definitions). FNV-1a 64-bit:
 * fast and stable across platforms; not a security primitive. */
#ifndef TML_HASH_H
#define TML_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TML_FNV64_INIT UINT64_C(0xcbf29ce484222325)

/* Continues hash h over data (start with TML_FNV64_INIT). */
uint64_t tml_fnv1a64(uint64_t h, const void *data, size_t len);
/* 16 lower-case hex digits + NUL; out must hold 17 bytes. */
void tml_hash_hex(uint64_t h, char *out);

#endif
