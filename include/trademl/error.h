/* trademl error table: one X-macro list generates the enum, tml_strerror(), the CLI exit code and
 * the HTTP status, so the three can never disagree. Codes never change meaning once used. */
#ifndef TML_ERROR_H
#define TML_ERROR_H

#include <stdbool.h>
#include <stddef.h>

/* X(name, value, exit code, http status, retry, description). `retry` is the one place that says whether
 * an operation that failed with the code can succeed when repeated unchanged (1: a network blip, a busy
 * database, a rate limit) or never will (0: too little data, an unknown symbol, a host name that does
 * not resolve, bad input). The job runner retries only the first kind (docs/jobs.md).
 * EMODEL exits 2 like other bad input: every use means "the model file or set the command was given
 * (by --model or through the registry) is corrupt, missing or written for other code", fixed by the
 * user (train again, restore, activate another version), never by repeating the command; over HTTP it
 * stays 409 (the request conflicts with the stored model's state, as an incompatible feature set). */
#define TML_ERRNO_MAP(X)                                                                 \
  X(OK, 0, 0, 200, 0, "success")                                                         \
  X(EINVAL, -1, 2, 400, 0, "invalid argument")                                           \
  X(ENOENT, -2, 1, 404, 0, "not found")                                                  \
  X(EIO, -3, 1, 500, 1, "input/output error")                                            \
  X(ENOMEM, -4, 1, 500, 1, "out of memory")                                              \
  X(EPARSE, -5, 1, 400, 0, "malformed input")                                            \
  X(EDATA, -6, 1, 422, 0, "insufficient or unusable data")                               \
  X(ECONFLICT, -7, 1, 409, 1, "conflicting data")                                        \
  X(EDB, -8, 1, 500, 1, "database error")                                                \
  X(EXGB, -9, 1, 500, 1, "XGBoost error")                                                \
  X(ENET, -10, 1, 502, 1, "network error")                                               \
  X(ETIMEDOUT, -11, 1, 504, 1, "timed out")                                              \
  X(ECANCELED, -12, 1, 409, 0, "cancelled")                                              \
  X(EMODEL, -13, 2, 409, 0, "model incompatible or corrupt")                             \
  X(EBUSY, -14, 1, 503, 1, "resource busy")                                              \
  X(ERATELIMIT, -15, 1, 429, 1, "rate limited")                                          \
  X(EPERM, -16, 1, 403, 0, "permission denied")                                          \
  X(EINTR, -17, 130, 503, 1, "interrupted")                                              \
  X(EEXCHANGE, -18, 1, 502, 1, "exchange error")                                         \
  X(EUNSUPPORTED, -19, 1, 501, 0, "not supported")                                       \
  X(EUSAGE, -20, 2, 400, 0, "usage error")                                               \
  X(EGATE, -21, 3, 200, 0, "gate not passed")                                            \
  X(EEXIST, -22, 1, 409, 0, "already exists")                                            \
  X(ETOOBIG, -23, 1, 413, 0, "too large")                                                \
  X(ENOHOST, -24, 1, 502, 0, "host name does not resolve")                               \
  X(ESTALE, -25, 1, 409, 0, "data too old")

enum tml_errno {
#define TML_X(name, value, exitc, http, retry, desc) TML_##name = (value),
  TML_ERRNO_MAP(TML_X)
#undef TML_X
};

#define TML_ERROR_MSG_MAX 1024

/* Carries the first error of an operation with a human message (git's strbuf *err, curl's error
 * buffer). First error wins; untouched on success; a NULL pointer is allowed everywhere. */
struct tml_error {
  int code;                      /* 0 or a negative TML_E* */
  char msg[TML_ERROR_MSG_MAX];   /* "what failed and on what" */
};

void tml_error_init(struct tml_error *err);
/* Records code and message unless an error is already set; returns code so callers can
 * `return tml_error_set(err, TML_EINVAL, "...")`. */
int tml_error_set(struct tml_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends context to an existing message: "loading BTCUSDT: <old message>". */
void tml_error_prefix(struct tml_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tml_error_clear(struct tml_error *err);

const char *tml_strerror(int code);   /* "invalid argument"; never NULL */
const char *tml_errname(int code);    /* "EINVAL" */
int tml_error_exit_code(int code);    /* 0 ok, 1 failure, 2 usage, 3 gate, 130 interrupted */
int tml_error_http_status(int code);
/* True when an operation that failed with `code` may succeed if simply repeated (the table's retry
 * column); false for errors that repeat identically (unknown codes count as retryable). */
bool tml_error_retryable(int code);

#endif
