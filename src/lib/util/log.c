/* Leveled logging: one line per message, UTC timestamp, level, text. */
#include "trademl/log.h"
#include "trademl/error.h"
#include "trademl/timeutil.h"
#include "util/common.h"

#include <ctype.h>

static enum tml_log_level current_level = TML_LOG_WARN;
static FILE *log_stream;

void tml_log_set_level(enum tml_log_level level) { current_level = level; }
enum tml_log_level tml_log_get_level(void) { return current_level; }
void tml_log_set_stream(FILE *f) { log_stream = f; }

int tml_log_parse_level(const char *s, enum tml_log_level *out) {
  static const struct {
    const char *name;
    enum tml_log_level level;
  } names[] = {{"debug", TML_LOG_DEBUG}, {"info", TML_LOG_INFO},   {"warning", TML_LOG_WARN},
               {"warn", TML_LOG_WARN},   {"error", TML_LOG_ERROR}, {"off", TML_LOG_OFF}};
  char low[16];
  size_t n = strlen(s);
  if (n >= sizeof(low))
    return TML_EINVAL;
  for (size_t i = 0; i <= n; i++)
    low[i] = (char)tolower((unsigned char)s[i]);
  for (size_t i = 0; i < TML_ARRAY_LEN(names); i++) {
    if (strcmp(low, names[i].name) == 0) {
      *out = names[i].level;
      return 0;
    }
  }
  return TML_EINVAL;
}

void tml_log(enum tml_log_level level, const char *fmt, ...) {
  static const char *tags[] = {"debug", "info", "warning", "error"};
  if (level < current_level || level >= TML_LOG_OFF)
    return;
  FILE *f = log_stream ? log_stream : stderr;
  char ts[32];
  tml_time_format(tml_now_ms(), ts, sizeof(ts));
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(f, "%s %s: %s\n", ts, tags[level], line);
  fflush(f);
}
