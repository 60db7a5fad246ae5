/* Growable, capped text buffer. */
#include "trademl/buf.h"
#include "trademl/error.h"
#include "util/common.h"

#define TML_BUF_DEFAULT_MAX ((size_t)1 << 30)

void tml_buf_init(struct tml_buf *b, size_t max) {
  b->ptr = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max ? max : TML_BUF_DEFAULT_MAX;
}

void tml_buf_release(struct tml_buf *b) {
  if (!b)
    return;
  free(b->ptr);
  b->ptr = NULL;
  b->len = b->cap = 0;
}

void tml_buf_reset(struct tml_buf *b) {
  b->len = 0;
  if (b->ptr)
    b->ptr[0] = '\0';
}

static int grow(struct tml_buf *b, size_t extra) {
  if (extra > b->max || b->len > b->max - extra)
    return TML_ETOOBIG;
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap * 2;
  char *p = realloc(b->ptr, cap);
  if (!p)
    return TML_ENOMEM;
  b->ptr = p;
  b->cap = cap;
  return 0;
}

int tml_buf_append(struct tml_buf *b, const void *data, size_t len) {
  int rc = grow(b, len);
  if (rc)
    return rc;
  if (len)
    memcpy(b->ptr + b->len, data, len);
  b->len += len;
  b->ptr[b->len] = '\0';
  return 0;
}

int tml_buf_puts(struct tml_buf *b, const char *s) { return tml_buf_append(b, s, strlen(s)); }

int tml_buf_putc(struct tml_buf *b, char c) { return tml_buf_append(b, &c, 1); }

int tml_buf_vprintf(struct tml_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return TML_EINVAL;
  int rc = grow(b, (size_t)n);
  if (rc)
    return rc;
  vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int tml_buf_printf(struct tml_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = tml_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

int tml_buf_json_num(struct tml_buf *b, double v) {
  if (!isfinite(v))
    return tml_buf_puts(b, "null");
  char tmp[40];
  snprintf(tmp, sizeof tmp, "%.15g", v);
  if (strtod(tmp, NULL) != v)
    snprintf(tmp, sizeof tmp, "%.17g", v);
  return tml_buf_puts(b, tmp);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), or 0 when the bytes there are not one. p is NUL-terminated. */
static size_t utf8_len(const unsigned char *p) {
  unsigned char c = p[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xBF)
      return 0;
  return n;
}

int tml_buf_json_str(struct tml_buf *b, const char *s) {
  int rc = tml_buf_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
    switch (*p) {
    case '"': rc = tml_buf_puts(b, "\\\""); break;
    case '\\': rc = tml_buf_puts(b, "\\\\"); break;
    case '\n': rc = tml_buf_puts(b, "\\n"); break;
    case '\r': rc = tml_buf_puts(b, "\\r"); break;
    case '\t': rc = tml_buf_puts(b, "\\t"); break;
    default:
      if (*p < 0x20) {
        rc = tml_buf_printf(b, "\\u%04x", (unsigned)*p);
      } else if (*p < 0x80) {
        rc = tml_buf_putc(b, (char)*p);
      } else {
        /* Bytes that are not UTF-8 (a raw %95 in a URL, a message cut inside a character) would make
         * the whole document invalid JSON: each becomes U+FFFD. */
        size_t n = utf8_len(p);
        if (n == 0) {
          rc = tml_buf_puts(b, "\\ufffd");
        } else {
          rc = tml_buf_append(b, p, n);
          p += n - 1;
        }
      }
    }
  }
  return rc ? rc : tml_buf_putc(b, '"');
}

const char *tml_buf_str(const struct tml_buf *b) { return b->ptr ? b->ptr : ""; }

char *tml_buf_detach(struct tml_buf *b, size_t *len) {
  char *p = b->ptr;
  if (!p) {
    p = calloc(1, 1);
  }
  if (len)
    *len = b->len;
  b->ptr = NULL;
  b->len = b->cap = 0;
  return p;
}
