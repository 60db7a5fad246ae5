/* Functions that are easy to misuse (overflow, hidden state, no error reporting). Use tml_buf,
 * snprintf, strtok_r-free parsing, the checked parse helpers in parse.h and tml_time_* instead. */
#ifndef TML_BANNED_H
#define TML_BANNED_H

#define TML_BANNED(func) sorry_##func##_is_banned_in_trademl

#undef strcpy
#define strcpy(x, y) TML_BANNED(strcpy)
#undef strcat
#define strcat(x, y) TML_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) TML_BANNED(strncpy)
#undef sprintf
#define sprintf(...) TML_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) TML_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) TML_BANNED(strtok)
#undef atoi
#define atoi(x) TML_BANNED(atoi)
#undef atol
#define atol(x) TML_BANNED(atol)
#undef atof
#define atof(x) TML_BANNED(atof)
#undef gmtime
#define gmtime(x) TML_BANNED(gmtime)
#undef localtime
#define localtime(x) TML_BANNED(localtime)
#undef gets
#define gets(x) TML_BANNED(gets)

#endif
