#include "test.h"
#include "trademl/buf.h"

static void json_str_is(const char *in, const char *want) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  CHECK_INT(tml_buf_json_str(&b, in), 0);
  CHECK_STR(tml_buf_str(&b), want);
  tml_buf_release(&b);
}

TEST(json_str_escapes) {
  json_str_is("a\"b\\c\n\r\t\x01", "\"a\\\"b\\\\c\\n\\r\\t\\u0001\"");
  json_str_is("", "\"\"");
}

/* Found by tests/fuzz/fuzz_http: POST /api/models/lqt%95%8Ct/activate answered an error whose message
 * quoted the raw bytes, so the body was not valid JSON (nor was a message cut by %.40s inside a
 * character). Well-formed UTF-8 passes unchanged; every other byte becomes U+FFFD. */
TEST(json_str_keeps_output_valid_utf8) {
  json_str_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  json_str_is("lqt\x95\x8ct", "\"lqt\\ufffd\\ufffdt\"");
  json_str_is("cut \xc3", "\"cut \\ufffd\"");              /* a character cut at the end */
  json_str_is("\xe2\x82", "\"\\ufffd\\ufffd\"");            /* lead byte without enough continuation */
  json_str_is("\xc0\xaf", "\"\\ufffd\\ufffd\"");            /* overlong '/' */
  json_str_is("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* a UTF-16 surrogate */
  json_str_is("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* above U+10FFFF */
  json_str_is("\xff", "\"\\ufffd\"");
}
