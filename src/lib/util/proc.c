/* Child processes for the job runner: fork + setpgid + exec with the child's output in a log file
 * and a report pipe on fd 3. Everything the child needs (argv, environment, fds) is prepared before
 * fork so the child only calls async-signal-safe functions; spawns are serialised by a mutex so a
 * concurrent fork in another thread never inherits a half-set-up pipe. */
#include "trademl/proc.h"
#include "util/common.h"

#include "trademl/error.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;

static void set_cloexec(int fd) { fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC); }

int tml_proc_spawn(char *const argv[], const char *const env_extra[], const char *log_path, bool die_with_parent,
                   struct tml_proc *p, struct tml_error *err) {
  p->pid = 0;
  p->report_fd = -1;
  size_t nenv = 0, nextra = 0;
  while (environ && environ[nenv])
    nenv++;
  while (env_extra && env_extra[nextra])
    nextra++;
  char **envp = calloc(nenv + nextra + 2, sizeof(*envp));
  if (!envp)
    return tml_error_set(err, TML_ENOMEM, "out of memory starting '%s'", argv[0]);
  size_t k = 0;
  for (size_t i = 0; i < nenv; i++)
    if (strncmp(environ[i], "TRADEML_PROGRESS_FD=", 20) != 0)
      envp[k++] = environ[i];
  for (size_t i = 0; i < nextra; i++)
    envp[k++] = (char *)(uintptr_t)env_extra[i];
  static char fd_env[] = "TRADEML_PROGRESS_FD=3";
  envp[k++] = fd_env;
  envp[k] = NULL;

  int rc = 0;
  pthread_mutex_lock(&spawn_lock);
  int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  int nullfd = open("/dev/null", O_RDONLY);
  int pfd[2] = {-1, -1};
  if (logfd < 0 || nullfd < 0 || pipe(pfd) != 0) {
    rc = tml_error_set(err, TML_EIO, "cannot open job log '%s': %s", log_path, strerror(errno));
    goto out;
  }
  set_cloexec(logfd);
  set_cloexec(nullfd);
  set_cloexec(pfd[0]);
  set_cloexec(pfd[1]);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    rc = tml_error_set(err, TML_EIO, "cannot fork to run '%s': %s", argv[0], strerror(errno));
    goto out;
  }
  if (pid == 0) {
    setpgid(0, 0);
    if (die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent)
        _exit(125);
    }
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    dup2(nullfd, 0);
    dup2(logfd, 1);
    dup2(logfd, 2);
    dup2(pfd[1], 3); /* dup2 clears FD_CLOEXEC on the new fd */
    execve(argv[0], argv, envp);
    static const char msg[] = "trademl job: cannot execute the trademl binary\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
    _exit(127);
  }
  setpgid(pid, pid); /* also in the parent, so a kill right after spawn reaches the group */
  p->pid = pid;
  p->report_fd = pfd[0];
  pfd[0] = -1;
  fcntl(p->report_fd, F_SETFL, fcntl(p->report_fd, F_GETFL) | O_NONBLOCK);
out:
  if (logfd >= 0)
    close(logfd);
  if (nullfd >= 0)
    close(nullfd);
  if (pfd[0] >= 0)
    close(pfd[0]);
  if (pfd[1] >= 0)
    close(pfd[1]);
  pthread_mutex_unlock(&spawn_lock);
  free(envp);
  return rc;
}

bool tml_proc_poll(struct tml_proc *p, int *status) {
  if (p->pid <= 0)
    return true;
  int ws = 0;
  pid_t r = waitpid(p->pid, &ws, WNOHANG);
  if (r == 0)
    return false;
  if (r < 0) {
    *status = -1;
  } else if (WIFEXITED(ws)) {
    *status = WEXITSTATUS(ws);
  } else if (WIFSIGNALED(ws)) {
    *status = -WTERMSIG(ws);
  } else {
    return false;
  }
  return true;
}

void tml_proc_kill_group(const struct tml_proc *p, int sig) {
  if (p->pid > 0)
    kill(-p->pid, sig);
}

size_t tml_proc_read_report(struct tml_proc *p, char *buf, size_t cap) {
  if (p->report_fd < 0 || cap < 2)
    return 0;
  ssize_t n = read(p->report_fd, buf, cap - 1);
  if (n <= 0) {
    buf[0] = '\0';
    return 0;
  }
  buf[n] = '\0';
  return (size_t)n;
}

void tml_proc_release(struct tml_proc *p) {
  if (p->report_fd >= 0)
    close(p->report_fd);
  p->report_fd = -1;
}
