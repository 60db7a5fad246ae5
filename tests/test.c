/* Test runner: `test_x name` runs one test, `test_x` runs all, `test_x --list` lists them. */
#include "test.h"
#include "trademl/error.h"
#include "trademl/import.h"
#include "trademl/series.h"
#include "util/db_pg.h"

#include <ctype.h>

#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#define TML_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TML_TEST_ASAN 1
#endif
#endif

#define MAX_TESTS 512
static struct {
  const char *name;
  tml_test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static const char *current;

void tml_test_register(const char *name, tml_test_fn fn) {
  if (ntests < MAX_TESTS) {
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
  }
}

void tml_test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL %s (%s:%d): ", current ? current : "?", file, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

void tml_test_skip(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stdout, "SKIP %s: ", current ? current : "?");
  vfprintf(stdout, fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  exit(77);
}

const char *tml_test_data_dir(void) {
  static char dir[4096];
  const char *env = getenv("TRADEML_DATA_DIR");
  if (env && *env)
    snprintf(dir, sizeof(dir), "%s", env);
  else
    snprintf(dir, sizeof(dir), "%s/../shared/data", TML_SOURCE_DIR);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    tml_test_skip("real data folder %s is missing (set TRADEML_DATA_DIR)", dir);
  return dir;
}

char *tml_test_data_file(const char *relpath) {
  const char *dir = tml_test_data_dir();
  size_t n = strlen(dir) + strlen(relpath) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", dir, relpath);
  struct stat st;
  if (stat(p, &st) != 0)
    tml_test_skip("data file %s is missing", p);
  return p;
}

char *tml_test_tmpdir(const char *name) {
  size_t n = strlen(TML_BINARY_DIR) + strlen(name) + 64;
  char *p = malloc(n);
  snprintf(p, n, "%s/testtmp", TML_BINARY_DIR);
  mkdir(p, 0755);
  snprintf(p, n, "%s/testtmp/%s.%ld", TML_BINARY_DIR, name, (long)getpid());
  char cmd[8192];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot clean %s\n", p);
  }
  if (mkdir(p, 0755) != 0) {
    fprintf(stderr, "cannot create %s\n", p);
    exit(1);
  }
  return p;
}

size_t tml_test_load_candles(const char *path, const char *symbol, size_t max_rows, struct tml_candles *out) {
  struct tml_import_opts o = {.symbol = symbol, .interval_ms = 0, .skip_bad_rows = false, .format = TML_IMPORT_AUTO};
  struct tml_import_report rep;
  struct tml_error err;
  tml_error_init(&err);
  if (tml_import_file(path, &o, out, &rep, &err) != 0)
    tml_test_fail(__FILE__, __LINE__, "cannot load %s: %s", path, err.msg);
  if (max_rows && out->len > max_rows)
    out->len = max_rows;
  return out->len;
}

char *tml_test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)sz + 1);
  size_t got = fread(buf, 1, (size_t)sz, f);
  fclose(f);
  buf[got] = '\0';
  if (len)
    *len = got;
  return buf;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--list") == 0) {
    for (int i = 0; i < ntests; i++)
      printf("%s\n", tests[i].name);
    return 0;
  }
  int ran = 0;
  for (int i = 0; i < ntests; i++) {
    if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
      continue;
    current = tests[i].name;
    tests[i].fn();
    printf("ok %s\n", current);
    ran++;
  }
  if (ran == 0) {
    fprintf(stderr, "no test named '%s'\n", argc > 1 ? argv[1] : "");
    return 1;
  }
  return 0;
}

bool tml_test_db_is_pg(void) {
  const char *b = getenv("TML_TEST_DB");
  return b && strcmp(b, "postgresql") == 0;
}

/* First line of a file into out; false when it cannot be read. */
static bool read_line(const char *path, char *out, size_t outsz) {
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  bool ok = fgets(out, (int)outsz, f) != NULL;
  fclose(f);
  if (ok)
    out[strcspn(out, "\n")] = '\0';
  return ok && out[0];
}

char *tml_test_pg_url(const char *file) {
  const char *state = getenv("TML_TEST_PG_STATE");
  char path[4096], url[4096];
  if (!state || !*state)
    tml_test_fail(__FILE__, __LINE__, "TML_TEST_PG_STATE is not set (run the PostgreSQL tests through ctest)");
  snprintf(path, sizeof(path), "%s/%s", state, file);
  if (!read_line(path, url, sizeof(url))) {
    if (access("/usr/lib/postgresql/15/bin/postgres", X_OK) != 0)
      tml_test_skip("PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin/postgres; scripts/setup.sh --test "
                    "installs postgresql-15)");
    tml_test_fail(__FILE__, __LINE__, "PostgreSQL 15 is installed but the test server is not running (%s missing): "
                  "see the pg.start test's output", path);
  }
  return strdup(url);
}

char *tml_test_db_location(const char *name) {
  if (!tml_test_db_is_pg()) {
    char *dir = tml_test_tmpdir(name);
    size_t n = strlen(dir) + 16;
    char *p = malloc(n);
    snprintf(p, n, "%s/trademl.db", dir);
    free(dir);
    return p;
  }
  char *admin = tml_test_pg_url("admin_url");
  char *app = tml_test_pg_url("url");
  /* A fresh database per test (and process), owned by the application role. */
  char db[64];
  int n = snprintf(db, sizeof(db), "t_%.40s_%ld", name, (long)getpid());
  for (int i = 0; i < n && i < (int)sizeof(db); i++)
    db[i] = isalnum((unsigned char)db[i]) ? (char)tolower((unsigned char)db[i]) : '_';
  struct tml__pg pg;
  struct tml_error err;
  tml_error_init(&err);
  char sql[256];
  if (tml__pg_connect(&pg, admin, "test setup", &err) != 0)
    tml_test_fail(__FILE__, __LINE__, "cannot connect to the test server: %s", err.msg);
  snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db);
  int rc = tml__pg_exec(&pg, sql, 0, NULL, "dropping a test database", &err);
  snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER trademl", db);
  if (!rc)
    rc = tml__pg_exec(&pg, sql, 0, NULL, "creating a test database", &err);
  tml__pg_close(&pg);
  if (rc)
    tml_test_fail(__FILE__, __LINE__, "%s", err.msg);
  /* The application URL ends in "/trademl": swap the database name. */
  char *slash = strrchr(app, '/');
  size_t len = (size_t)(slash - app) + 1 + strlen(db) + 1;
  char *url = malloc(len);
  snprintf(url, len, "%.*s/%s", (int)(slash - app), app, db);
  free(admin);
  free(app);
  return url;
}

int tml_test_in_limited_child(int (*fn)(void *arg), void *arg, long extra_mb) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
#ifndef TML_TEST_ASAN
    long pages = 0;
    FILE *st = fopen("/proc/self/statm", "r"); /* first field: the address space in pages */
    if (!st || fscanf(st, "%ld", &pages) != 1)
      _exit(126);
    fclose(st);
    rlim_t cap = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)extra_mb << 20);
    struct rlimit old;
    if (getrlimit(RLIMIT_AS, &old) == 0 && old.rlim_max != RLIM_INFINITY && cap > old.rlim_max)
      cap = old.rlim_max; /* a lower hard limit (ulimit -v) already holds: it cannot be raised */
    struct rlimit lim = {cap, cap};
    if (setrlimit(RLIMIT_AS, &lim) != 0)
      _exit(126);
#else
    (void)extra_mb;
#endif
    int rc = fn(arg);
    _exit(rc < 0 || rc > 125 ? 125 : rc);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}
