/* The error table's functions: messages, names, exit codes and HTTP statuses from one list. */
#include "trademl/error.h"
#include "util/common.h"

void tml_error_init(struct tml_error *err) {
  if (err) {
    err->code = 0;
    err->msg[0] = '\0';
  }
}

void tml_error_clear(struct tml_error *err) { tml_error_init(err); }

int tml_error_set(struct tml_error *err, int code, const char *fmt, ...) {
  if (!err || err->code != 0)
    return code;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  va_end(ap);
  return code;
}

void tml_error_prefix(struct tml_error *err, const char *fmt, ...) {
  if (!err || err->code == 0)
    return;
  char prefix[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof(prefix), fmt, ap);
  va_end(ap);
  /* The separator is ours: a prefix that ends in ':' (or ": ") would print "--to: : ...". */
  size_t pl = strnlen(prefix, sizeof(prefix));
  while (pl > 0 && (prefix[pl - 1] == ' ' || prefix[pl - 1] == ':'))
    prefix[--pl] = '\0';
  char old[TML_ERROR_MSG_MAX];
  memcpy(old, err->msg, sizeof(old));
  int plen = (int)strnlen(prefix, sizeof(prefix));
  int room = (int)sizeof(err->msg) - plen - 3;
  snprintf(err->msg, sizeof(err->msg), "%s: %.*s", prefix, room > 0 ? room : 0, old);
}

const char *tml_strerror(int code) {
  switch (code) {
#define TML_X(name, value, exitc, http, retry, desc) \
  case value:                                 \
    return desc;
    TML_ERRNO_MAP(TML_X)
#undef TML_X
  default:
    return "unknown error";
  }
}

const char *tml_errname(int code) {
  switch (code) {
#define TML_X(name, value, exitc, http, retry, desc) \
  case value:                                 \
    return #name;
    TML_ERRNO_MAP(TML_X)
#undef TML_X
  default:
    return "EUNKNOWN";
  }
}

int tml_error_exit_code(int code) {
  switch (code) {
#define TML_X(name, value, exitc, http, retry, desc) \
  case value:                                 \
    return exitc;
    TML_ERRNO_MAP(TML_X)
#undef TML_X
  default:
    return 1;
  }
}

int tml_error_http_status(int code) {
  switch (code) {
#define TML_X(name, value, exitc, http, retry, desc) \
  case value:                                 \
    return http;
    TML_ERRNO_MAP(TML_X)
#undef TML_X
  default:
    return 500;
  }
}

bool tml_error_retryable(int code) {
  switch (code) {
#define TML_X(name, value, exitc, http, retry, desc) \
  case value:                                        \
    return retry != 0;
    TML_ERRNO_MAP(TML_X)
#undef TML_X
  default:
    return true;
  }
}
