/* trademl error table: one X-macro list generates the enum, tml_strerror(), the CLI exit code and
 * the HTTP status, so the three can never disagree. Codes never change meaning once used. */
#ifndef TML_ERROR_H
#define TML_ERROR_H

#include <stddef.h>

/* X(name, value, exit code, http status, description) */
#define TML_ERRNO_MAP(X)                                                                 \
  X(OK, 0, 0, 200, "success")                                                            \
  X(EINVAL, -1, 2, 400, "invalid argument")                                              \
  X(ENOENT, -2, 1, 404, "not found")                                                     \
  X(EIO, -3, 1, 500, "input/output error")                                               \
  X(ENOMEM, -4, 1, 500, "out of memory")                                                 \
  X(EPARSE, -5, 1, 400, "malformed input")                                               \
  X(EDATA, -6, 1, 422, "insufficient or unusable data")                                  \
  X(ECONFLICT, -7, 1, 409, "conflicting data")                                           \
  X(EDB, -8, 1, 500, "database error")                                                   \
  X(EXGB, -9, 1, 500, "XGBoost error")                                                   \
  X(ENET, -10, 1, 502, "network error")                                                  \
  X(ETIMEDOUT, -11, 1, 504, "timed out")                                                 \
  X(ECANCELED, -12, 1, 409, "cancelled")                                                 \
  X(EMODEL, -13, 1, 409, "model incompatible or corrupt")                                \
  X(EBUSY, -14, 1, 503, "resource busy")                                                 \
  X(ERATELIMIT, -15, 1, 429, "rate limited")                                             \
  X(EPERM, -16, 1, 403, "permission denied")                                             \
  X(EINTR, -17, 130, 503, "interrupted")                                                 \
  X(EEXCHANGE, -18, 1, 502, "exchange error")                                            \
  X(EUNSUPPORTED, -19, 1, 501, "not supported")                                          \
  X(EUSAGE, -20, 2, 400, "usage error")                                                  \
  X(EGATE, -21, 3, 200, "gate not passed")                                               \
  X(EEXIST, -22, 1, 409, "already exists")                                               \
  X(ETOOBIG, -23, 1, 413, "too large")

enum tml_errno {
#define TML_X(name, value, exitc, http, desc) TML_##name = (value),
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

#endif
