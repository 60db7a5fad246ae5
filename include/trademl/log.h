/* Leveled logging to stderr (or a file). Level from LOG_LEVEL / config `logging.level`. */
#ifndef TML_LOG_H
#define TML_LOG_H

#include <stdio.h>

enum tml_log_level { TML_LOG_DEBUG = 0, TML_LOG_INFO, TML_LOG_WARN, TML_LOG_ERROR, TML_LOG_OFF };

void tml_log_set_level(enum tml_log_level level);
enum tml_log_level tml_log_get_level(void);
/* "debug", "info", "warning"/"warn", "error", "off" (case-insensitive); returns 0 or TML_EINVAL. */
int tml_log_parse_level(const char *s, enum tml_log_level *out);
void tml_log_set_stream(FILE *f); /* NULL = stderr; borrowed */
void tml_log(enum tml_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tml_debug(...) tml_log(TML_LOG_DEBUG, __VA_ARGS__)
#define tml_info(...) tml_log(TML_LOG_INFO, __VA_ARGS__)
#define tml_warn(...) tml_log(TML_LOG_WARN, __VA_ARGS__)
#define tml_err(...) tml_log(TML_LOG_ERROR, __VA_ARGS__)

#endif
