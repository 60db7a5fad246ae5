/* Idle threads lent to open offers of work (include/trademl/helpers.h). */
#include "trademl/helpers.h"

#include <stddef.h>

void tml_helpers_init(struct tml_helpers *h) {
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cv, NULL);
  h->offers = NULL;
  h->closed = false;
  h->joins = 0;
}

void tml_helpers_destroy(struct tml_helpers *h) {
  pthread_cond_destroy(&h->cv);
  pthread_mutex_destroy(&h->mu);
}

void tml_helpers_offer(struct tml_helpers *h, struct tml_helpers_offer *o, void (*fn)(void *), void *arg, int seats) {
  o->fn = fn;
  o->arg = arg;
  o->seats = seats > 0 ? seats : 0;
  o->inside = 0;
  o->next = NULL;
  if (o->seats == 0)
    return;
  pthread_mutex_lock(&h->mu);
  struct tml_helpers_offer **at = &h->offers;
  while (*at)
    at = &(*at)->next;
  *at = o;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
}

/* Unlinks o from the open offers (under h->mu); no effect when it is not there. */
static void unlink_offer(struct tml_helpers *h, struct tml_helpers_offer *o) {
  for (struct tml_helpers_offer **at = &h->offers; *at; at = &(*at)->next)
    if (*at == o) {
      *at = o->next;
      o->next = NULL;
      return;
    }
}

void tml_helpers_withdraw(struct tml_helpers *h, struct tml_helpers_offer *o) {
  pthread_mutex_lock(&h->mu);
  unlink_offer(h, o);
  o->seats = 0;
  while (o->inside > 0)
    pthread_cond_wait(&h->cv, &h->mu);
  pthread_mutex_unlock(&h->mu);
}

void tml_helpers_serve(struct tml_helpers *h) {
  pthread_mutex_lock(&h->mu);
  for (;;) {
    struct tml_helpers_offer *o = h->offers;
    if (o) {
      /* take a seat; a full offer leaves the list (its owner still withdraws it) */
      if (--o->seats == 0)
        unlink_offer(h, o);
      o->inside++;
      h->joins++;
      pthread_mutex_unlock(&h->mu);
      o->fn(o->arg);
      pthread_mutex_lock(&h->mu);
      o->inside--;
      pthread_cond_broadcast(&h->cv); /* the owner may be waiting in withdraw */
      continue;
    }
    if (h->closed)
      break;
    pthread_cond_wait(&h->cv, &h->mu);
  }
  pthread_mutex_unlock(&h->mu);
}

void tml_helpers_close(struct tml_helpers *h) {
  pthread_mutex_lock(&h->mu);
  h->closed = true;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
}
