#include "test.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/parse.h"

TEST(first_error_wins) {
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_error_set(&err, TML_EPARSE, "line %d bad", 3), TML_EPARSE);
  tml_error_set(&err, TML_EIO, "second");
  CHECK_INT(err.code, TML_EPARSE);
  CHECK_STR(err.msg, "line 3 bad");
  tml_error_prefix(&err, "importing %s", "x.csv");
  CHECK_STR(err.msg, "importing x.csv: line 3 bad");
  CHECK_INT(tml_error_set(NULL, TML_EIO, "ignored"), TML_EIO);
}

TEST(table_maps_codes) {
  CHECK_STR(tml_strerror(TML_EINVAL), "invalid argument");
  CHECK_STR(tml_errname(TML_ENOENT), "ENOENT");
  CHECK_INT(tml_error_exit_code(TML_EUSAGE), 2);
  CHECK_INT(tml_error_exit_code(TML_EDATA), 1);
  CHECK_INT(tml_error_exit_code(TML_EMODEL), 2); /* a corrupt or incompatible model is bad input */
  CHECK_INT(tml_error_http_status(TML_EMODEL), 409);
  CHECK_INT(tml_error_http_status(TML_ENOENT), 404);
  CHECK_INT(tml_error_http_status(TML_ERATELIMIT), 429);
  CHECK_INT(tml_error_http_status(-999), 500);
}

TEST(buf_grows_and_caps) {
  struct tml_buf b;
  tml_buf_init(&b, 16);
  CHECK_INT(tml_buf_puts(&b, "0123456789"), 0);
  CHECK_INT(tml_buf_printf(&b, "%d", 12345), 0);
  CHECK_STR(tml_buf_str(&b), "012345678912345");
  CHECK_INT(tml_buf_puts(&b, "xx"), TML_ETOOBIG);
  CHECK_STR(tml_buf_str(&b), "012345678912345");
  tml_buf_reset(&b);
  CHECK_INT(tml_buf_json_str(&b, "a\"b\n"), 0);
  CHECK_STR(tml_buf_str(&b), "\"a\\\"b\\n\"");
  tml_buf_release(&b);
}

TEST(parse_checked_numbers) {
  double d;
  int64_t i;
  CHECK_INT(tml_parse_double(" 1.5e3 ", 7, &d), 0);
  CHECK_NEAR(d, 1500.0, 0);
  CHECK_INT(tml_parse_double("1.5x", 4, &d), TML_EPARSE);
  CHECK_INT(tml_parse_double("nan", 3, &d), TML_EPARSE);
  CHECK_INT(tml_parse_double("", 0, &d), TML_EPARSE);
  CHECK_INT(tml_parse_int64_str("1672531200000", &i), 0);
  CHECK_INT(i, INT64_C(1672531200000));
  CHECK_INT(tml_parse_int64_str("99999999999999999999", &i), TML_EPARSE);
  bool b;
  CHECK_INT(tml_parse_bool_str("Yes", &b), 0);
  CHECK(b);
  CHECK_INT(tml_parse_bool_str("maybe", &b), TML_EPARSE);
}

TEST(symbols_normalized_and_validated) {
  char s[33];
  CHECK_INT(tml_symbol_normalize("btc/usdt", s, sizeof(s)), 0);
  CHECK_STR(s, "BTCUSDT");
  CHECK_INT(tml_symbol_normalize("BTC/USDT:USDT", s, sizeof(s)), 0);
  CHECK_STR(s, "BTCUSDT");
  CHECK_INT(tml_symbol_normalize("../etc", s, sizeof(s)), TML_EINVAL);
  CHECK(!tml_symbol_valid("BTC;DROP"));
  CHECK(tml_symbol_valid("1000PEPEUSDT"));
}

TEST(prefix_never_doubles_the_colon) {
  /* A caller that ends its prefix in ": " (as "--to: " once did) must not print "--to: : unknown ...". */
  struct tml_error err;
  tml_error_init(&err);
  tml_error_set(&err, TML_EINVAL, "unknown interval '7m'");
  tml_error_prefix(&err, "--%s: ", "to");
  CHECK_STR(err.msg, "--to: unknown interval '7m'");
  tml_error_prefix(&err, "data resample:");
  CHECK_STR(err.msg, "data resample: --to: unknown interval '7m'");
}

TEST(durations_parse_with_units) {
  int64_t s = 0;
  CHECK_INT(tml_parse_duration_str("90", &s), 0);
  CHECK_INT(s, 90);
  CHECK_INT(tml_parse_duration_str("15m", &s), 0);
  CHECK_INT(s, 900);
  CHECK_INT(tml_parse_duration_str("2h", &s), 0);
  CHECK_INT(s, 7200);
  CHECK_INT(tml_parse_duration_str("1d", &s), 0);
  CHECK_INT(s, 86400);
  CHECK_INT(tml_parse_duration_str("2x", &s), TML_EPARSE);
  CHECK_INT(tml_parse_duration_str("-5m", &s), TML_EPARSE);
  CHECK_INT(tml_parse_duration_str("", &s), TML_EPARSE);
}

TEST(utf8_bom_length) {
  CHECK_INT(tml_parse_bom_len("\xEF\xBB\xBFopen_time", 12), 3);
  CHECK_INT(tml_parse_bom_len("\xEF\xBB\xBF", 3), 3);
  CHECK_INT(tml_parse_bom_len("\xEF\xBB", 2), 0);   /* a cut-off mark is not a mark */
  CHECK_INT(tml_parse_bom_len("[[1,2]]", 7), 0);
  CHECK_INT(tml_parse_bom_len(NULL, 0), 0);
}
