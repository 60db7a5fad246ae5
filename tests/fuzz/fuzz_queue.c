/* The new-symbol queue file (`trademl queue import FILE`, tml_symqueue_import): the input is the file,
 * {"queue":[{"symbol":..,"added_at":..,"attempts":..,"last_error":..}]} or ["LTCUSDT", ...]. An
 * accepted file must leave only valid symbols queued; a refused one must name the problem and add
 * nothing. The queue is emptied after each input so every input starts from the same state. */
#include "fuzz.h"

#include "trademl/jobs.h"
#include "trademl/scheduler.h"
#include "trademl/parse.h"

static struct tml_jobs *q;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_quiet();
  char db[600];
  snprintf(db, sizeof(db), "%s/queue.db", fuzz_dir());
  struct tml_error err;
  tml_error_init(&err);
  if (tml_jobs_open(db, NULL, &q, &err)) {
    fprintf(stderr, "fuzz_queue: %s\n", err.msg);
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[600];
  fuzz_write("queue.json", data, size, path, sizeof(path));
  struct tml_error err;
  tml_error_init(&err);
  size_t added = 99;
  int rc = tml_symqueue_import(q, path, &added, &err);
  struct tml_symqueue_entry *e = NULL;
  size_t n = 0;
  struct tml_error lerr;
  tml_error_init(&lerr);
  if (tml_symqueue_list(q, &e, &n, &lerr))
    abort();
  if (rc) {
    if (!err.msg[0] || added != 0 || n != 0)
      abort(); /* refused: named, and nothing queued */
  } else {
    if (added != n)
      abort(); /* the queue was empty, so everything listed was added by this file */
    for (size_t i = 0; i < n; i++)
      if (!tml_symbol_valid(e[i].symbol) || e[i].attempts < 0 || !memchr(e[i].last_error, '\0', sizeof(e[i].last_error)))
        abort();
  }
  free(e);
  tml_error_init(&lerr);
  if (n && tml_symqueue_remove(q, NULL, NULL, &lerr))
    abort();
  return 0;
}
