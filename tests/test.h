/* trademl's test harness. A test file defines TEST(name) functions (self-registering); CMake
 * registers each as its own ctest entry `<module>.<name>`. A test passes by returning, fails through
 * CHECK* (which print expected and actual), and skips with SKIP("why") (exit 77). */
#ifndef TML_TEST_H
#define TML_TEST_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*tml_test_fn)(void);
void tml_test_register(const char *name, tml_test_fn fn);
void tml_test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
void tml_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define TEST(name)                                                        \
  static void name(void);                                                 \
  __attribute__((constructor)) static void tml_register_##name(void) {    \
    tml_test_register(#name, name);                                       \
  }                                                                       \
  static void name(void)

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond))                                                                    \
      tml_test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);                 \
  } while (0)
#define CHECK_MSG(cond, ...)                                                        \
  do {                                                                              \
    if (!(cond))                                                                    \
      tml_test_fail(__FILE__, __LINE__, __VA_ARGS__);                               \
  } while (0)
#define CHECK_INT(actual, expected)                                                            \
  do {                                                                                         \
    long long a_ = (long long)(actual), e_ = (long long)(expected);                            \
    if (a_ != e_)                                                                              \
      tml_test_fail(__FILE__, __LINE__, "%s: expected %lld, got %lld", #actual, e_, a_);       \
  } while (0)
#define CHECK_STR(actual, expected)                                                            \
  do {                                                                                         \
    const char *a_ = (actual), *e_ = (expected);                                               \
    if (!a_ || strcmp(a_, e_) != 0)                                                            \
      tml_test_fail(__FILE__, __LINE__, "%s: expected \"%s\", got \"%s\"", #actual, e_,         \
                    a_ ? a_ : "(null)");                                                       \
  } while (0)
#define CHECK_CONTAINS(haystack, needle)                                                       \
  do {                                                                                         \
    const char *h_ = (haystack), *n_ = (needle);                                               \
    if (!h_ || !strstr(h_, n_))                                                                \
      tml_test_fail(__FILE__, __LINE__, "%s: expected to contain \"%s\", got \"%s\"", #haystack, \
                    n_, h_ ? h_ : "(null)");                                                   \
  } while (0)
/* |actual - expected| <= tol * max(1, |expected|) */
#define CHECK_NEAR(actual, expected, tol)                                                      \
  do {                                                                                         \
    double a_ = (actual), e_ = (expected), t_ = (tol);                                         \
    double s_ = fabs(e_) > 1.0 ? fabs(e_) : 1.0;                                               \
    if (!(fabs(a_ - e_) <= t_ * s_))                                                           \
      tml_test_fail(__FILE__, __LINE__, "%s: expected %.17g, got %.17g (tol %g)", #actual, e_,  \
                    a_, t_);                                                                   \
  } while (0)
/* Fails with the tml_error's message when rc != 0 (errp must not be NULL). */
#define CHECK_OK(rc, errp)                                                                     \
  do {                                                                                         \
    int r_ = (rc);                                                                             \
    if (r_ != 0)                                                                               \
      tml_test_fail(__FILE__, __LINE__, "%s returned %d: %s", #rc, r_, (errp)->msg);           \
  } while (0)

#define SKIP(...) tml_test_skip(__VA_ARGS__)

/* ../shared/data (or $TRADEML_DATA_DIR); SKIPs when absent. Returns a static string. */
const char *tml_test_data_dir(void);
/* Full path of a file under the data dir; SKIPs when it is missing. Caller frees. */
char *tml_test_data_file(const char *relpath);
/* A fresh empty directory under the build tree for this test; caller frees the string. */
char *tml_test_tmpdir(const char *name);
struct tml_candles;
/* Loads a candle file with the real importer (tml_import_file: format and interval detected) and keeps
 * its first max_rows rows (0 = all); fails the test on any import error. Returns the row count. */
size_t tml_test_load_candles(const char *path, const char *symbol, size_t max_rows, struct tml_candles *out);
/* Database location for a test that runs against every storage backend with the same code: a fresh
 * SQLite file (<tmpdir>/trademl.db), or, when TML_TEST_DB=postgresql (the `<module>_pg.<name>` ctest
 * entries, fixture `pg`), a fresh PostgreSQL database on the throw-away server that
 * scripts/pg-test-server.sh started (state folder $TML_TEST_PG_STATE). Skips when PostgreSQL 15 is not
 * installed; fails when it is but the server is not running. Caller frees. */
char *tml_test_db_location(const char *name);
bool tml_test_db_is_pg(void);
/* A line of the test server's state folder ("url": application role, "admin_url": superuser); skips or
 * fails as tml_test_db_location. Caller frees. */
char *tml_test_pg_url(const char *file);
/* Reads a whole file (NUL-terminated); NULL if missing. Caller frees. */
char *tml_test_read_file(const char *path, size_t *len);
/* Runs fn(arg) in a child process whose address space is limited to extra_mb MB more than it
 * already uses (or to a lower hard limit already set), so that an allocation of gigabytes fails
 * there as out of memory (not under ASan, whose shadow memory does not fit such a limit: fn then
 * runs unlimited). fn must not map much else: no BLAS call (its thread pool's buffers), no new
 * threads (their stacks and malloc arenas). Returns fn's return value (0..125), 126 when the limit
 * could not be set, -1 when the child did not exit normally. */
int tml_test_in_limited_child(int (*fn)(void *arg), void *arg, long extra_mb);

#endif
