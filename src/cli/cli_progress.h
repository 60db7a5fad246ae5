/* Live progress of long commands (train, validate, worker): one status line, kept fresh by a ticker
 * thread so that nothing runs for long without a sign of life.
 * - On a terminal (stderr is a TTY): the line is redrawn in place about 5 times a second with the
 *   status text, percent, elapsed time and time left.
 * - Otherwise (logs, pipes, --json runs): one line "progress: ..." to stderr every period_s seconds
 *   (logging.progress_seconds), nothing else; stdout stays clean for JSON.
 * The command updates the status from its progress callbacks (any thread). docs/training.md. */
#ifndef TML_CLI_PROGRESS_H
#define TML_CLI_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct cli_progress {
  pthread_mutex_t lock;
  pthread_cond_t wake;            /* the ticker's wait between ticks; signalled by stop */
  pthread_t ticker;
  bool started, stop, tty;
  double t0, period_s, last_line; /* monotonic seconds */
  double frac;                    /* 0..1, < 0 = unknown */
  char text[256];                 /* what is running now ("training BTCUSDT 15m: direction 120/500 ...") */
  size_t drawn;                   /* characters of the live line on screen (TTY) */
};

/* Starts the ticker. period_s <= 0 means 10 s. tty: draw a live line (normally isatty(stderr)).
 * Returns 0, or -1 when the thread cannot start (progress is then silent; the command still runs). */
int cli_progress_start(struct cli_progress *p, bool tty, double period_s);
/* Sets the status (printf format) and the done fraction (< 0 unknown). Thread-safe. */
void cli_progress_set(struct cli_progress *p, double frac, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Blanks the live line (TTY) so normal output can follow; the ticker keeps running. */
void cli_progress_clear(struct cli_progress *p);
/* Holds the line off while the command prints normal output: blanks the live line and keeps the ticker
 * from drawing until cli_progress_resume. Do not call cli_progress_set in between. */
void cli_progress_pause(struct cli_progress *p);
void cli_progress_resume(struct cli_progress *p);
/* Stops the ticker and blanks the live line. Safe on a progress that was never started. */
void cli_progress_stop(struct cli_progress *p);
/* "1m05s", "2h03m", "45s" into out (>= 16 bytes). */
void cli_progress_fmt_seconds(double s, char *out, size_t outsz);
/* The status line as drawn: "<text> | 42% | 1m05s elapsed | ~1m30s left" (for tests and the worker). */
void cli_progress_line(struct cli_progress *p, char *out, size_t outsz);

#endif
