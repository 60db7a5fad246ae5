/* Live progress line with a ticker thread (cli_progress.h). */
#include "cli_progress.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "trademl/timeutil.h"

void cli_progress_fmt_seconds(double s, char *out, size_t outsz) {
  long v = s < 0 ? 0 : (long)(s + 0.5);
  if (v < 60)
    snprintf(out, outsz, "%lds", v);
  else if (v < 3600)
    snprintf(out, outsz, "%ldm%02lds", v / 60, v % 60);
  else
    snprintf(out, outsz, "%ldh%02ldm", v / 3600, v % 3600 / 60);
}

/* Caller holds the lock. */
static void line_locked(struct cli_progress *p, char *out, size_t outsz) {
  double el = tml_monotonic_s() - p->t0;
  char e[16], l[40] = "", pct[16] = "";
  cli_progress_fmt_seconds(el, e, sizeof(e));
  if (p->frac >= 0) {
    snprintf(pct, sizeof(pct), " | %.0f%%", p->frac * 100.0);
    /* Time left from the rate so far; unknown until a little is done. */
    if (p->frac >= 0.02 && p->frac < 1.0) {
      char t[16];
      cli_progress_fmt_seconds(el * (1.0 - p->frac) / p->frac, t, sizeof(t));
      snprintf(l, sizeof(l), " | ~%s left", t);
    }
  }
  snprintf(out, outsz, "%s%s | %s elapsed%s", p->text[0] ? p->text : "working", pct, e, l);
}

void cli_progress_line(struct cli_progress *p, char *out, size_t outsz) {
  pthread_mutex_lock(&p->lock);
  line_locked(p, out, outsz);
  pthread_mutex_unlock(&p->lock);
}

static void draw_locked(struct cli_progress *p) {
  char line[400];
  line_locked(p, line, sizeof(line));
  size_t n = strlen(line);
  fprintf(stderr, "\r%s", line);
  if (p->drawn > n)
    fprintf(stderr, "%*s", (int)(p->drawn - n), "");
  fflush(stderr);
  p->drawn = n;
}

/* A tick every 200 ms; stop wakes the ticker at once (a plain sleep made every command that shows
 * progress wait for the next tick before it could exit: up to 200 ms, 100 ms on average). */
static void *tick(void *arg) {
  struct cli_progress *p = arg;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_nsec += 200 * 1000000L;
    if (at.tv_nsec >= 1000000000L) {
      at.tv_sec++;
      at.tv_nsec -= 1000000000L;
    }
    while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &at) != ETIMEDOUT)
      ;
    if (p->stop)
      break;
    double now = tml_monotonic_s();
    if (p->tty) {
      draw_locked(p);
    } else if (now - p->last_line >= p->period_s) {
      char line[400];
      line_locked(p, line, sizeof(line));
      fprintf(stderr, "progress: %s\n", line);
      fflush(stderr);
      p->last_line = now;
    }
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

int cli_progress_start(struct cli_progress *p, bool tty, double period_s) {
  memset(p, 0, sizeof(*p));
  pthread_mutex_init(&p->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->wake, &ca);
  pthread_condattr_destroy(&ca);
  p->tty = tty;
  p->period_s = period_s > 0 ? period_s : 10.0;
  p->t0 = p->last_line = tml_monotonic_s();
  p->frac = -1;
  if (pthread_create(&p->ticker, NULL, tick, p) != 0)
    return -1; /* the lock stays usable: cli_progress_set still takes it */
  p->started = true;
  return 0;
}

void cli_progress_set(struct cli_progress *p, double frac, const char *fmt, ...) {
  if (!p)
    return;
  pthread_mutex_lock(&p->lock);
  p->frac = frac > 1 ? 1 : frac;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->text, sizeof(p->text), fmt, ap);
  va_end(ap);
  pthread_mutex_unlock(&p->lock);
}

void cli_progress_clear(struct cli_progress *p) {
  if (!p || !p->started)
    return;
  pthread_mutex_lock(&p->lock);
  if (p->tty && p->drawn) {
    fprintf(stderr, "\r%*s\r", (int)p->drawn, "");
    fflush(stderr);
    p->drawn = 0;
  }
  pthread_mutex_unlock(&p->lock);
}

void cli_progress_pause(struct cli_progress *p) {
  if (!p || !p->started)
    return;
  pthread_mutex_lock(&p->lock);
  if (p->tty && p->drawn) {
    fprintf(stderr, "\r%*s\r", (int)p->drawn, "");
    fflush(stderr);
    p->drawn = 0;
  }
}

void cli_progress_resume(struct cli_progress *p) {
  if (!p || !p->started)
    return;
  fflush(stdout);
  pthread_mutex_unlock(&p->lock);
}

void cli_progress_stop(struct cli_progress *p) {
  if (!p || !p->started)
    return;
  pthread_mutex_lock(&p->lock);
  p->stop = true;
  pthread_cond_signal(&p->wake);
  pthread_mutex_unlock(&p->lock);
  pthread_join(p->ticker, NULL);
  cli_progress_clear(p);
  p->started = false;
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->lock);
}
