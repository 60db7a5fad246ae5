/* Shared by the libFuzzer targets tests/fuzz/fuzz_<target>.c: a private scratch folder per process
 * (under $TMPDIR; scripts/fuzz.sh points it into build-fuzz/ and removes it afterwards), writing an
 * input to a file there, and quiet logging. Every target defines LLVMFuzzerTestOneInput and may
 * define LLVMFuzzerInitialize. A target must never leave state that makes the next input behave
 * differently, so a crash reproduces from its input alone (`build-fuzz/tests/fuzz/fuzz_x crash-...`). */
#ifndef TML_FUZZ_H
#define TML_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fuzz_dir_path[512];

static void fuzz_dir_remove(void) {
  if (fuzz_dir_path[0])
    tml_rm_rf(fuzz_dir_path, NULL);
}

/* The process's scratch folder, created on first use and removed at exit. Aborts when it cannot be
 * made: a harness that cannot set up must not report "no crash". */
static inline const char *fuzz_dir(void) {
  if (fuzz_dir_path[0])
    return fuzz_dir_path;
  const char *tmp = getenv("TMPDIR");
  snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/tml-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(fuzz_dir_path)) {
    perror("fuzz: mkdtemp");
    abort();
  }
  atexit(fuzz_dir_remove);
  return fuzz_dir_path;
}

/* Writes data to <scratch>/name (replacing it) and returns the path in out. Aborts on I/O failure. */
static inline void fuzz_write(const char *name, const uint8_t *data, size_t size, char *out, size_t outsz) {
  snprintf(out, outsz, "%s/%s", fuzz_dir(), name);
  FILE *f = fopen(out, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    perror("fuzz: writing the input file");
    abort();
  }
}

/* Library warnings would flood the fuzzer's output: keep errors only. */
static inline void fuzz_quiet(void) { tml_log_set_level(TML_LOG_ERROR); }

#endif
