/* Growable text buffer with a size cap (git's strbuf, curl's dynbuf): JSON, SQL, CSV lines,
 * messages. Always NUL-terminated once anything was appended. */
#ifndef TML_BUF_H
#define TML_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct tml_buf {
  char *ptr;     /* NULL until the first append; then NUL-terminated */
  size_t len;    /* bytes used, excluding the NUL */
  size_t cap;    /* bytes allocated */
  size_t max;    /* growth beyond this fails with TML_ETOOBIG; 0 = 1 GiB */
};

void tml_buf_init(struct tml_buf *b, size_t max);
void tml_buf_release(struct tml_buf *b);
void tml_buf_reset(struct tml_buf *b);              /* len = 0, keeps the allocation */
int tml_buf_append(struct tml_buf *b, const void *data, size_t len);
int tml_buf_puts(struct tml_buf *b, const char *s);
int tml_buf_putc(struct tml_buf *b, char c);
int tml_buf_printf(struct tml_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tml_buf_vprintf(struct tml_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends v as a JSON number: the shorter of %.15g / %.17g that reads back exactly (readable and
 * lossless); NaN and infinities as null. */
int tml_buf_json_num(struct tml_buf *b, double v);
/* Appends s as a JSON string literal with quotes and escapes; bytes that are not well-formed UTF-8
 * become \ufffd, so the result is always valid JSON. */
int tml_buf_json_str(struct tml_buf *b, const char *s);
/* "" when empty; never NULL. Borrowed: valid until the next modification. */
const char *tml_buf_str(const struct tml_buf *b);
/* Hands the allocation to the caller (free with free()); the buffer is left empty. */
char *tml_buf_detach(struct tml_buf *b, size_t *len);

#endif
