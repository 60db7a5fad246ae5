/* Checked parsing of numbers, booleans and symbols. */
#include "trademl/parse.h"
#include "trademl/error.h"
#include "util/common.h"

#include <ctype.h>

void tml_trim(const char **s, size_t *len) {
  while (*len && isspace((unsigned char)**s)) {
    (*s)++;
    (*len)--;
  }
  while (*len && isspace((unsigned char)(*s)[*len - 1]))
    (*len)--;
}

int tml_parse_double(const char *s, size_t len, double *out) {
  tml_trim(&s, &len);
  char tmp[64];
  if (len == 0 || len >= sizeof(tmp))
    return TML_EPARSE;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *end = NULL;
  errno = 0;
  double v = strtod(tmp, &end);
  if (end != tmp + len || errno == ERANGE || !isfinite(v))
    return TML_EPARSE;
  *out = v;
  return 0;
}

int tml_parse_int64(const char *s, size_t len, int64_t *out) {
  tml_trim(&s, &len);
  char tmp[32];
  if (len == 0 || len >= sizeof(tmp))
    return TML_EPARSE;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *end = NULL;
  errno = 0;
  long long v = strtoll(tmp, &end, 10);
  if (end != tmp + len || errno == ERANGE)
    return TML_EPARSE;
  *out = (int64_t)v;
  return 0;
}

int tml_parse_double_str(const char *s, double *out) { return tml_parse_double(s, strlen(s), out); }
int tml_parse_int64_str(const char *s, int64_t *out) { return tml_parse_int64(s, strlen(s), out); }

int tml_parse_duration_str(const char *s, int64_t *out) {
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    n--;
  int64_t mult = 1;
  if (n && isalpha((unsigned char)s[n - 1])) {
    switch (tolower((unsigned char)s[n - 1])) {
    case 's': mult = 1; break;
    case 'm': mult = 60; break;
    case 'h': mult = 3600; break;
    case 'd': mult = 86400; break;
    default: return TML_EPARSE;
    }
    n--;
  }
  int64_t x;
  if (n == 0 || tml_parse_int64(s, n, &x) || x < 0 || x > INT64_MAX / mult)
    return TML_EPARSE;
  *out = x * mult;
  return 0;
}


int tml_parse_bool_str(const char *s, bool *out) {
  static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
  char low[8];
  size_t n = strlen(s);
  if (n == 0 || n >= sizeof(low))
    return TML_EPARSE;
  for (size_t i = 0; i <= n; i++)
    low[i] = (char)tolower((unsigned char)s[i]);
  for (size_t i = 0; i < 4; i++) {
    if (strcmp(low, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcmp(low, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return TML_EPARSE;
}

bool tml_symbol_valid(const char *s) {
  size_t n = 0;
  for (; s[n]; n++) {
    char c = s[n];
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  }
  return n >= 1 && n <= 32;
}

int tml_symbol_normalize(const char *in, char *out, size_t outsz) {
  size_t k = 0;
  for (const char *p = in; *p; p++) {
    if (*p == ':')
      break; /* ccxt settle suffix "BTC/USDT:USDT" */
    if (*p == '/' || *p == '-' || *p == '_')
      continue;
    if (k + 1 >= outsz)
      return TML_EINVAL;
    out[k++] = (char)toupper((unsigned char)*p);
  }
  if (k == 0 || k >= outsz)
    return TML_EINVAL;
  out[k] = '\0';
  return tml_symbol_valid(out) ? 0 : TML_EINVAL;
}

size_t tml_parse_bom_len(const char *s, size_t len) {
  if (s && len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
    return 3;
  return 0;
}
