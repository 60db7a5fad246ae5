/* Idle threads lent to offered work (helpers.h): seats bound the helpers of an offer, every task
 * runs once, withdraw waits for the helpers inside, serve returns once closed. */
#include "test.h"
#include "trademl/helpers.h"

#include <pthread.h>
#include <time.h>

#define NTASKS 64

struct work {
  pthread_mutex_t lock;
  int next, ran[NTASKS];
  int inside, most_inside; /* threads in take_tasks now, and at most */
};

/* The owner's loop: tasks from its own queue until none is left (the shape of xgb5's fit_worker). */
static void take_tasks(void *arg) {
  struct work *w = arg;
  pthread_mutex_lock(&w->lock);
  w->inside++;
  if (w->inside > w->most_inside)
    w->most_inside = w->inside;
  pthread_mutex_unlock(&w->lock);
  for (;;) {
    pthread_mutex_lock(&w->lock);
    int i = w->next < NTASKS ? w->next++ : NTASKS;
    pthread_mutex_unlock(&w->lock);
    if (i >= NTASKS)
      break;
    struct timespec ts = {0, 200000}; /* 0.2 ms: long enough for helpers to join */
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&w->lock);
    w->ran[i]++;
    pthread_mutex_unlock(&w->lock);
  }
  pthread_mutex_lock(&w->lock);
  w->inside--;
  pthread_mutex_unlock(&w->lock);
}

static void *serve(void *arg) {
  tml_helpers_serve(arg);
  return NULL;
}

TEST(offers_run_every_task_once_within_their_seats) {
  struct tml_helpers h;
  tml_helpers_init(&h);
  pthread_t tid[4];
  for (int i = 0; i < 4; i++)
    CHECK(pthread_create(&tid[i], NULL, serve, &h) == 0);
  for (int seats = 0; seats <= 3; seats++) {
    struct work w = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct tml_helpers_offer o;
    tml_helpers_offer(&h, &o, take_tasks, &w, seats);
    take_tasks(&w); /* the owner works too */
    tml_helpers_withdraw(&h, &o);
    /* after withdraw no helper is inside: the work may be freed */
    CHECK_INT(w.inside, 0);
    CHECK_INT(o.inside, 0);
    for (int i = 0; i < NTASKS; i++)
      CHECK_INT(w.ran[i], 1);
    printf("%d seat(s): at most %d thread(s) on the work\n", seats, w.most_inside);
    CHECK_MSG(w.most_inside <= 1 + seats, "%d threads inside an offer of %d seats", w.most_inside, seats);
    if (seats == 0)
      CHECK_INT(w.most_inside, 1);
  }
  tml_helpers_close(&h);
  for (int i = 0; i < 4; i++)
    CHECK(pthread_join(tid[i], NULL) == 0); /* serve returned once closed */
  tml_helpers_destroy(&h);
}

TEST(serve_returns_at_once_when_closed) {
  struct tml_helpers h;
  tml_helpers_init(&h);
  tml_helpers_close(&h);
  tml_helpers_serve(&h);
  struct work w = {.lock = PTHREAD_MUTEX_INITIALIZER};
  struct tml_helpers_offer o;
  tml_helpers_offer(&h, &o, take_tasks, &w, 2);
  take_tasks(&w);
  tml_helpers_withdraw(&h, &o);
  CHECK_INT(w.next, NTASKS);
  tml_helpers_destroy(&h);
}
