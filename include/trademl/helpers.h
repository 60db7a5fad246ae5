/* Idle threads lent to work that can use them. validate's workers that find no fold left to start
 * would otherwise wait for the last folds; here they join those folds' heads instead. Within one
 * xgb5 fit, workers with no head left to start join the native engine's rounds of the heads still
 * training (the class trees of a round).
 *
 * An owner offers work as a function fn(arg) that takes tasks from the owner's own queue and returns
 * when none is left. fn must be safe to run on several threads at once, and the owner runs it too.
 * Up to `seats` idle threads (those in tml_helpers_serve) join it while the offer is open.
 * tml_helpers_withdraw closes the offer and waits until every helper inside fn has returned, so the
 * owner may free arg after it. A helper joining only changes which thread runs a task: an owner
 * whose results could depend on that must not offer.
 *
 * tml_helpers_serve runs offers until tml_helpers_close has been called and no helper can join any
 * offer still open. Close once nothing more will be offered. */
#ifndef TML_HELPERS_H
#define TML_HELPERS_H

#include <pthread.h>
#include <stdbool.h>

struct tml_helpers_offer {
  void (*fn)(void *arg);
  void *arg;
  int seats;  /* helpers that may still join */
  int inside; /* helpers running fn now */
  struct tml_helpers_offer *next;
};

struct tml_helpers {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* an offer posted, a helper returned, or closed */
  struct tml_helpers_offer *offers; /* open offers, oldest first */
  bool closed;
  unsigned long joins; /* seats taken so far (a statistic, read under mu or after the helpers ended) */
};

void tml_helpers_init(struct tml_helpers *h);
void tml_helpers_destroy(struct tml_helpers *h);
/* Opens an offer of fn(arg) for up to seats helpers (seats <= 0: nothing is posted). */
void tml_helpers_offer(struct tml_helpers *h, struct tml_helpers_offer *o, void (*fn)(void *), void *arg, int seats);
/* Closes the offer (no new helper joins) and returns once no helper is inside its fn. */
void tml_helpers_withdraw(struct tml_helpers *h, struct tml_helpers_offer *o);
/* Runs open offers as they come, one at a time; returns once closed. */
void tml_helpers_serve(struct tml_helpers *h);
void tml_helpers_close(struct tml_helpers *h);

#endif
