/* Cron expressions (training.cron_schedule, `trademl schedule`): tml_cron_parse on any text, then,
 * for an expression that parses, next/prev/matches around a fixed time, checking they agree. */
#include "fuzz.h"

#include "trademl/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char expr[512];
  if (size >= sizeof(expr))
    return 0; /* the config caps values far below this */
  memcpy(expr, data, size);
  expr[size] = '\0';
  struct tml_cron c;
  struct tml_error err;
  tml_error_init(&err);
  int rc = tml_cron_parse(expr, &c, &err);
  if (rc) {
    if (rc != TML_EINVAL || !err.msg[0])
      abort(); /* a refusal must be TML_EINVAL with a message */
    return 0;
  }
  if (!memchr(c.expr, '\0', sizeof(c.expr)))
    abort();
  const int64_t t0 = 1735689600000; /* 2025-01-01T00:00:00Z */
  int64_t next = 0, prev = 0;
  if (tml_cron_next(&c, t0, &next) == 0 && (next <= t0 || next % 60000 != 0 || !tml_cron_matches(&c, next)))
    abort();
  if (tml_cron_prev(&c, t0, &prev) == 0 && (prev > t0 || prev % 60000 != 0 || !tml_cron_matches(&c, prev)))
    abort();
  return 0;
}
