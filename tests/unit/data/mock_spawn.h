/* Starts and stops tests/mock/mock_exchange (found through $TML_MOCK_EXCHANGE) for a test:
 * posix_spawn, wait for its port file, kill with SIGTERM. Header-only; included by test files. */
#ifndef TML_TEST_MOCK_SPAWN_H
#define TML_TEST_MOCK_SPAWN_H

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

extern char **environ;

struct mock {
  pid_t pid;
  int port;
  char base[64];   /* "http://127.0.0.1:PORT" */
  char *dir;
};

/* args: NULL-terminated extra arguments (--series ..., --fault ...). SKIPs without the binary. */
static void mock_start(struct mock *m, const char *name, const char *const *args) {
  const char *bin = getenv("TML_MOCK_EXCHANGE");
  if (!bin || !*bin)
    SKIP("TML_MOCK_EXCHANGE is not set (run through ctest)");
  m->dir = tml_test_tmpdir(name);
  char port_file[4200];
  snprintf(port_file, sizeof(port_file), "%s/port", m->dir);
  const char *argv[64];
  size_t n = 0;
  argv[n++] = bin;
  argv[n++] = "--port-file";
  argv[n++] = port_file;
  argv[n++] = "--max-seconds";
  argv[n++] = "300";
  for (size_t i = 0; args && args[i] && n < 62; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  char log_file[4200];
  snprintf(log_file, sizeof(log_file), "%s/mock.log", m->dir);
  posix_spawn_file_actions_addopen(&fa, 1, log_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawn(&m->pid, bin, &fa, NULL, (char *const *)(uintptr_t)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  CHECK_MSG(rc == 0, "cannot start %s: %s", bin, strerror(rc));
  for (int i = 0; i < 500; i++) { /* up to 10 s (ASan start-up is slow) */
    char *txt = tml_test_read_file(port_file, NULL);
    if (txt) {
      m->port = (int)strtol(txt, NULL, 10);
      free(txt);
      snprintf(m->base, sizeof(m->base), "http://127.0.0.1:%d", m->port);
      return;
    }
    int status;
    if (waitpid(m->pid, &status, WNOHANG) == m->pid)
      tml_test_fail(__FILE__, __LINE__, "mock_exchange exited (status %d) before listening", status);
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  kill(m->pid, SIGKILL);
  tml_test_fail(__FILE__, __LINE__, "mock_exchange did not write %s", port_file);
}

static void mock_stop(struct mock *m) {
  if (m->pid > 0) {
    kill(m->pid, SIGTERM);
    int status;
    waitpid(m->pid, &status, 0);
    m->pid = 0;
  }
  free(m->dir);
  m->dir = NULL;
}

#endif
