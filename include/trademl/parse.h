/* Checked number parsing for anything that comes from users, files or the network
 * (atoi/atof are banned: they cannot report errors). */
#ifndef TML_PARSE_H
#define TML_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Narrows s[0..*len) to its part without leading and trailing white space (isspace): the blanks
 * every parser here, the configuration and list values read past. */
void tml_trim(const char **s, size_t *len);

/* Parse the whole of s[0..len) (surrounding blanks allowed). Return 0 or TML_EPARSE. */
int tml_parse_double(const char *s, size_t len, double *out);
int tml_parse_int64(const char *s, size_t len, int64_t *out);
/* NUL-terminated convenience forms. */
int tml_parse_double_str(const char *s, double *out);
int tml_parse_int64_str(const char *s, int64_t *out);
int tml_parse_bool_str(const char *s, bool *out); /* true/false/yes/no/on/off/1/0 */
/* A duration in whole seconds: "90", "90s", "15m", "2h", "1d" (>= 0). 0 or TML_EPARSE. */
int tml_parse_duration_str(const char *s, int64_t *seconds);

/* A symbol is 1..32 of [A-Z0-9] plus '-', '_' (never '/' or '.', so it is safe in paths and SQL).
 * tml_symbol_normalize turns "btc/usdt", "BTC/USDT:USDT" or "BTC-USDT" into "BTCUSDT". */
bool tml_symbol_valid(const char *s);
int tml_symbol_normalize(const char *in, char *out, size_t outsz);

/* Length of a UTF-8 byte-order mark (EF BB BF) at the start of s[0..len): 3 or 0. Text files saved
 * by Excel and Windows tools start with one; every reader of CSV or JSON files skips it with this. */
size_t tml_parse_bom_len(const char *s, size_t len);

#endif
