/* Child processes in their own process group: spawn (fork + setpgid + exec) with stdout/stderr to a
 * file and one extra pipe for reports, non-blocking wait, and group kill. Used by the job runner. */
#ifndef TML_PROC_H
#define TML_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tml_error;

struct tml_proc {
  pid_t pid;         /* also the process group id; 0 when not running */
  int report_fd;     /* read end of the report pipe (non-blocking), or -1 */
};

/* Starts argv[0] (a path) with argv in a new process group. The child's stdout and stderr go to
 * log_path (appended; created 0644), stdin is /dev/null, the write end of a pipe is passed as fd 3
 * and named in the child's environment as TRADEML_PROGRESS_FD=3, and env_extra ("NAME=value",
 * NULL-terminated, may be NULL) is added to the inherited environment. With die_with_parent the
 * child gets SIGKILL when the spawning thread exits (PR_SET_PDEATHSIG). Everything the child needs is
 * prepared before fork, so this is safe in a multi-threaded process. TML_EIO naming the log or exe. */
int tml_proc_spawn(char *const argv[], const char *const env_extra[], const char *log_path, bool die_with_parent,
                   struct tml_proc *p, struct tml_error *err);
/* Non-blocking: true and *status (exit code, or -signal) when the child has exited (it is reaped). */
bool tml_proc_poll(struct tml_proc *p, int *status);
/* Sends sig to the whole process group (ignored when already gone). */
void tml_proc_kill_group(const struct tml_proc *p, int sig);
/* Reads available report bytes into buf (at most cap - 1, NUL-terminated); returns bytes read,
 * 0 when nothing is available. */
size_t tml_proc_read_report(struct tml_proc *p, char *buf, size_t cap);
/* Closes the report fd. */
void tml_proc_release(struct tml_proc *p);

#endif
