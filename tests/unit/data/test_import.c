#include "test.h"
#include "trademl/error.h"
#include "trademl/import.h"
#include "trademl/timeutil.h"

#include <zlib.h>

#define M15 (15 * TML_MS_PER_MINUTE)
#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z */

static char *fixture(const char *test, const char *name, const char *content) {
  char *dir = tml_test_tmpdir(test);
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  fputs(content, f);
  fclose(f);
  free(dir);
  return p;
}

static int run(const char *path, int64_t iv, bool skip, struct tml_candles *c, struct tml_import_report *r,
               struct tml_error *err) {
  struct tml_import_opts o = {.symbol = "BTCUSDT", .interval_ms = iv, .skip_bad_rows = skip};
  tml_error_init(err);
  return tml_import_file(path, &o, c, r, err);
}

/* The three rows every layout below encodes: 2024-01-01 00:00, 00:15, 00:30 at 15m. */
static void check_three(const struct tml_candles *c) {
  CHECK_INT(c->len, 3);
  CHECK_STR(c->symbol, "BTCUSDT");
  CHECK_INT(c->interval_ms, M15);
  CHECK_INT(c->open_time[0], T0);
  CHECK_INT(c->open_time[1], T0 + M15);
  CHECK_INT(c->open_time[2], T0 + 2 * M15);
  CHECK_NEAR(c->open[0], 100, 0);
  CHECK_NEAR(c->high[0], 110, 0);
  CHECK_NEAR(c->low[0], 95, 0);
  CHECK_NEAR(c->close[0], 105, 0);
  CHECK_NEAR(c->volume[0], 1.5, 0);
  CHECK_NEAR(c->close[2], 107, 0);
  CHECK_NEAR(c->volume[2], 3.5, 0);
}

static void import_ok(const char *test, const char *name, const char *content, enum tml_import_format want) {
  char *p = fixture(test, name, content);
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_OK(run(p, M15, false, &c, &r, &err), &err);
  check_three(&c);
  CHECK_INT(r.rows_read, 3);
  CHECK_INT(r.rows_ok, 3);
  CHECK_INT(r.rows_skipped, 0);
  CHECK_INT(r.format, want);
  tml_candles_release(&c);
  free(p);
}

TEST(csv_epoch_ms_with_extra_column) {
  import_ok("imp_ms", "a.csv",
            "open_time,open,high,low,close,volume,source\n"
            "1704067200000,100,110,95,105,1.5,daisybum\n"
            "1704068100000,105,108,101,106,2.5,daisybum\n"
            "1704069000000,106,109,104,107,3.5,Harthor\n",
            TML_IMPORT_CSV);
}

TEST(csv_epoch_seconds_timestamp_crlf) {
  import_ok("imp_s", "a.csv",
            "timestamp,open,high,low,close,volume\r\n"
            "1704067200,100,110,95,105,1.5\r\n"
            "1704068100,105,108,101,106,2.5\r\n"
            "1704069000,106,109,104,107,3.5\r\n",
            TML_IMPORT_CSV);
}

TEST(csv_date_strings) {
  import_ok("imp_date", "a.csv",
            "date,open,high,low,close,volume\n"
            "2024-01-01 00:00:00,100,110,95,105,1.5\n"
            "2024-01-01T00:15:00Z,105,108,101,106,2.5\n"
            "\"2024-01-01 00:30:00\",106,109,104,107,3.5\n\n",
            TML_IMPORT_CSV);
}

TEST(csv_without_header_and_reordered_columns) {
  import_ok("imp_nohdr", "a.csv",
            "1704067200000,100,110,95,105,1.5\n"
            "1704068100000,105,108,101,106,2.5\n"
            "1704069000000,106,109,104,107,3.5\n",
            TML_IMPORT_CSV);
  import_ok("imp_reorder", "b.csv",
            "Volume;Close;Low;High;Open;Timestamp\n"
            "1.5;105;95;110;100;1704067200000\n"
            "2.5;106;101;108;105;1704068100000\n"
            "3.5;107;104;109;106;1704069000000\n",
            TML_IMPORT_CSV);
}

TEST(binance_dump_ms_and_us) {
  import_ok("imp_bn_ms", "BTCUSDT-15m-2024-01.csv",
            "1704067200000,100,110,95,105,1.5,1704068099999,150,10,0.7,70,0\n"
            "1704068100000,105,108,101,106,2.5,1704068999999,250,20,1.2,120,0\n"
            "1704069000000,106,109,104,107,3.5,1704069899999,350,30,1.7,170,0\n",
            TML_IMPORT_BINANCE_DUMP);
  import_ok("imp_bn_us", "BTCUSDT-15m-2025-01.csv",
            "1704067200000000,100,110,95,105,1.5,1704068099999999,150,10,0.7,70,0\n"
            "1704068100000000,105,108,101,106,2.5,1704068999999999,250,20,1.2,120,0\n"
            "1704069000000000,106,109,104,107,3.5,1704069899999999,350,30,1.7,170,0\n",
            TML_IMPORT_BINANCE_DUMP);
}

static const char FREQTRADE[] = "[[1704067200000,100,110,95,105,1.5],\n [1704068100000,105,108,101,106,2.5],"
                                "[1704069000000.0,106,109,104,107,3.5]]";

TEST(freqtrade_plain_and_gzip) {
  import_ok("imp_ft", "BTC_USDT-15m.json", FREQTRADE, TML_IMPORT_FREQTRADE_JSON);
  char *dir = tml_test_tmpdir("imp_ftgz");
  char p[4096];
  snprintf(p, sizeof(p), "%s/BTC_USDT-15m.json.gz", dir);
  gzFile gz = gzopen(p, "wb");
  gzwrite(gz, FREQTRADE, (unsigned)strlen(FREQTRADE));
  gzclose(gz);
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_OK(run(p, M15, false, &c, &r, &err), &err);
  check_three(&c);
  CHECK_INT(r.format, TML_IMPORT_FREQTRADE_JSON);
  tml_candles_release(&c);
  free(dir);
}

TEST(newest_first_and_cryptodatadownload) {
  char *p = fixture("imp_desc", "a.csv",
                    "open_time,open,high,low,close,volume\n"
                    "1704069000000,106,109,104,107,3.5\n"
                    "1704068100000,105,108,101,106,2.5\n"
                    "1704067200000,100,110,95,105,1.5\n");
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_OK(run(p, M15, false, &c, &r, &err), &err);
  check_three(&c);
  CHECK(!r.sorted_input);
  tml_candles_release(&c);
  free(p);
  import_ok("imp_cdd", "Binance_BTCUSDT_15m.csv",
            "https://www.CryptoDataDownload.com\n"
            "Unix,Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT,tradecount\n"
            "1704069000000,2024-01-01 00:30:00,BTCUSDT,106,109,104,107,3.5,371,30\n"
            "1704068100000,2024-01-01 00:15:00,BTCUSDT,105,108,101,106,2.5,265,20\n"
            "1704067200000,2024-01-01 00:00:00,BTCUSDT,100,110,95,105,1.5,157,10\n",
            TML_IMPORT_CSV);
  import_ok("imp_cdd_dates", "Binance_BTCUSDT_15m_dates.csv",
            "https://www.CryptoDataDownload.com\n"
            "Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT\n"
            "2024-01-01 00:30:00,BTCUSDT,106,109,104,107,3.5,371\n"
            "2024-01-01 00:15:00,BTCUSDT,105,108,101,106,2.5,265\n"
            "2024-01-01 00:00:00,BTCUSDT,100,110,95,105,1.5,157\n",
            TML_IMPORT_CSV);
}

TEST(identical_duplicates_dropped_and_interval_inferred) {
  char *p = fixture("imp_dup", "a.csv",
                    "open_time,open,high,low,close,volume\n"
                    "1704067200000,100,110,95,105,1.5\n"
                    "1704068100000,105,108,101,106,2.5\n"
                    "1704068100000,105,108,101,106,2.5\n"
                    "1704069000000,106,109,104,107,3.5\n");
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_OK(run(p, 0, false, &c, &r, &err), &err);
  check_three(&c);
  CHECK(r.interval_inferred);
  CHECK_INT(r.interval_ms, M15);
  CHECK_INT(r.rows_read, 4);
  CHECK_INT(r.rows_duplicate, 1);
  tml_candles_release(&c);
  free(p);
}

/* One bad line 3 in an otherwise good file: the exact message, nothing returned; with
 * skip_bad_rows the other two rows come back and the message is in the report. */
static void bad_line(const char *test, const char *line3, int64_t iv, int code, const char *msg) {
  char content[1024];
  snprintf(content, sizeof(content),
           "open_time,open,high,low,close,volume\n"
           "1704067200000,100,110,95,105,1.5\n"
           "%s\n"
           "1704069000000,106,109,104,107,3.5\n",
           line3);
  char *p = fixture(test, "bad.csv", content);
  char want[1200];
  snprintf(want, sizeof(want), "%s:3: %s", p, msg);
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_INT(run(p, iv, false, &c, &r, &err), code);
  CHECK_INT(c.len, 0);
  CHECK_CONTAINS(err.msg, want);
  CHECK_CONTAINS(err.msg, "(1 bad row in all; nothing imported: fix the file or use --skip-bad-rows)");
  tml_candles_release(&c);
  CHECK_OK(run(p, iv, true, &c, &r, &err), &err);
  CHECK_INT(c.len, 2);
  CHECK_INT(r.rows_read, 3);
  CHECK_INT(r.rows_ok, 2);
  CHECK_INT(r.rows_skipped, 1);
  CHECK_INT(r.nbad, 1);
  CHECK_STR(r.bad[0], want);
  tml_candles_release(&c);
  free(p);
}

TEST(validation_messages) {
  bad_line("imp_v1", "1704068100000,105,abc,101,106,2.5", M15, TML_EPARSE, "high 'abc' is not a number");
  bad_line("imp_v2", "1704068100000,105,100,101,100.5,2.5", M15, TML_EPARSE, "high 100 is below low 101");
  bad_line("imp_v3", "1704068100000,99,108,101,106,2.5", M15, TML_EPARSE, "open 99 is outside [low 101, high 108]");
  bad_line("imp_v4", "1704068100000,105,108,101,108.5,2.5", M15, TML_EPARSE,
           "close 108.5 is outside [low 101, high 108]");
  bad_line("imp_v5", "1704068100000,105,108,101,106,-2.5", M15, TML_EPARSE, "volume -2.5 is negative");
  bad_line("imp_v6", "1704068160000,105,108,101,106,2.5", M15, TML_EPARSE,
           "time 2024-01-01T00:16:00Z is not on the 15m grid (open times must be multiples of 15m in UTC)");
  bad_line("imp_v7", "1704067200000,105,108,101,106,2.5", M15, TML_EPARSE,
           "duplicate time 2024-01-01T00:00:00Z with values different from line 2");
  bad_line("imp_v8", "1704068100000,105,108,101,106", M15, TML_EPARSE, "expected at least 6 fields, found 5");
  bad_line("imp_v9", "yesterday,105,108,101,106,2.5", M15, TML_EPARSE,
           "time 'yesterday' is neither an epoch number nor a date like 2024-01-31 13:45:00");
  bad_line("imp_v10", "1704068100000,105,108,101,106,", M15, TML_EPARSE, "volume field is empty");
  bad_line("imp_v11", "1704068100000,105,nan,101,106,2", M15, TML_EPARSE, "high 'nan' is not a number");
}

/* Found by tests/fuzz/fuzz_import: the smallest int64 as a time negated out of range (UB) while its
 * unit was guessed. It is now an ordinary bad row, refused at its line (the ASan/UBSan build checks). */
TEST(extreme_epoch_numbers_are_bad_rows) {
  static const char *const times[] = {"-9223372036854775808", "9223372036854775807"};
  for (size_t i = 0; i < 2; i++) {
    char content[256], name[32];
    snprintf(content, sizeof(content),
             "open_time,open,high,low,close,volume\n1704067200000,100,110,95,105,1.5\n%s,105,108,101,106,2.5\n",
             times[i]);
    snprintf(name, sizeof(name), "imp_e%zu", i);
    char *p = fixture(name, "bad.csv", content);
    char want[1200];
    snprintf(want, sizeof(want), "%s:3: time ", p);
    struct tml_candles c;
    struct tml_import_report r;
    struct tml_error err;
    CHECK_INT(run(p, M15, false, &c, &r, &err), TML_EPARSE);
    CHECK_INT(c.len, 0);
    CHECK_CONTAINS(err.msg, want);
    tml_candles_release(&c);
    free(p);
  }
}

TEST(unknown_interval_symbol_and_missing_file) {
  char *p = fixture("imp_iv", "a.csv", "open_time,open,high,low,close,volume\n1704067200000,1,1,1,1,1\n");
  struct tml_candles c;
  struct tml_error err;
  CHECK_INT(run(p, 7 * TML_MS_PER_MINUTE, false, &c, NULL, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "unknown interval of 420000 ms (valid: ");
  tml_candles_release(&c);
  CHECK_INT(run(p, 0, false, &c, NULL, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "cannot infer the interval from 1 row(s); pass --interval");
  tml_candles_release(&c);
  struct tml_import_opts o = {.symbol = "../../etc/passwd", .interval_ms = M15};
  tml_error_init(&err);
  CHECK_INT(tml_import_file(p, &o, &c, NULL, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "invalid symbol '../../etc/passwd'");
  tml_candles_release(&c);
  CHECK_INT(run("/nonexistent/x.csv", M15, false, &c, NULL, &err), TML_ENOENT);
  CHECK_CONTAINS(err.msg, "cannot open '/nonexistent/x.csv'");
  tml_candles_release(&c);
  free(p);
  p = fixture("imp_empty", "e.csv", "open_time,open,high,low,close,volume\n");
  CHECK_INT(run(p, M15, false, &c, NULL, &err), TML_EDATA);
  CHECK_CONTAINS(err.msg, "no valid candle rows found (0 read, 0 bad)");
  tml_candles_release(&c);
  free(p);
  p = fixture("imp_garbage", "g.json", "[[1704067200000,1,2,0.5,1]");
  CHECK_INT(run(p, M15, false, &c, NULL, &err), TML_EPARSE);
  CHECK_CONTAINS(err.msg, "g.json:1: row 1: expected ',' or ']' after a candle");
  tml_candles_release(&c);
  free(p);
}

TEST(skip_bad_rows_keeps_twenty_messages) {
  size_t cap = 64 * 1024, n = 0;
  char *content = malloc(cap);
  n += (size_t)snprintf(content + n, cap - n, "open_time,open,high,low,close,volume\n");
  for (int i = 0; i < 50; i++) {
    long long t = (long long)(T0 + i * M15);
    if (i % 2)
      n += (size_t)snprintf(content + n, cap - n, "%lld,1,0.5,1,1,1\n", t); /* high < low */
    else
      n += (size_t)snprintf(content + n, cap - n, "%lld,1,2,0.5,1.5,1\n", t);
  }
  char *p = fixture("imp_many", "m.csv", content);
  free(content);
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_INT(run(p, M15, false, &c, &r, &err), TML_EPARSE);
  CHECK_CONTAINS(err.msg, "m.csv:3: high 0.5 is below low 1 (25 bad rows in all;");
  tml_candles_release(&c);
  CHECK_OK(run(p, M15, true, &c, &r, &err), &err);
  CHECK_INT(c.len, 25);
  CHECK_INT(r.rows_skipped, 25);
  CHECK_INT(r.nbad, TML_IMPORT_BAD_KEPT);
  CHECK_CONTAINS(r.bad[19], "m.csv:41: high 0.5 is below low 1");
  tml_candles_release(&c);
  free(p);
}

/* ---- real files from ../shared/data ---- */

TEST(real_bybit_sol_5m_dates) {
  char *p = tml_test_data_file("bybit-linear/SOLUSDT_5m.csv");
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_OK(run(p, 0, false, &c, &r, &err), &err);
  CHECK(r.interval_inferred);
  CHECK_INT(c.interval_ms, 5 * TML_MS_PER_MINUTE);
  CHECK_INT(c.len, 8000);
  CHECK_INT(c.open_time[0], INT64_C(1733260800000)); /* 2024-12-03 21:20:00 */
  CHECK_NEAR(c.open[0], 235.28, 0);
  CHECK_NEAR(c.volume[0], 228407.8, 0);
  CHECK_NEAR(c.close[7999], 198.32, 0);
  tml_candles_release(&c);
  free(p);
}

TEST(real_binance_spot_btc_15m) {
  char *p = tml_test_data_file("binance-spot/BTCUSDT_15m_2023-2026.csv");
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_OK(run(p, M15, false, &c, &r, &err), &err);
  CHECK_INT(c.len, 109129);
  CHECK_INT(r.rows_skipped, 0);
  CHECK_INT(c.open_time[0], INT64_C(1672531200000));
  CHECK_NEAR(c.open[0], 16541.77, 0);
  CHECK_INT(c.open_time[c.len - 1], INT64_C(1770787800000));
  CHECK_NEAR(c.close[c.len - 1], 67440.35, 0);
  tml_candles_release(&c);
  free(p);
}

TEST(real_freqtrade_gzip) {
  char *p = tml_test_data_file("freqtrade-json/XRP_USDT_USDT-1h-futures.json.gz");
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_OK(run(p, TML_MS_PER_HOUR, false, &c, &r, &err), &err);
  CHECK_INT(r.format, TML_IMPORT_FREQTRADE_JSON);
  CHECK_INT(c.len, 100);
  CHECK_INT(c.open_time[0], INT64_C(1637110800000));
  CHECK_NEAR(c.open[0], 1.0801, 0);
  CHECK_NEAR(c.high[0], 1.09758, 0);
  CHECK_NEAR(c.low[0], 1.07654, 0);
  CHECK_NEAR(c.close[0], 1.07925, 0);
  CHECK_NEAR(c.volume[0], 3153694.607359, 0);
  tml_candles_release(&c);
  free(p);
}

TEST(real_mark_file_has_no_volume) {
  char *p = tml_test_data_file("bybit-linear/BTC_USDT_USDT-1h-mark.csv");
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_INT(run(p, TML_MS_PER_HOUR, false, &c, &r, &err), TML_EPARSE);
  CHECK_CONTAINS(err.msg, "BTC_USDT_USDT-1h-mark.csv:2: volume field is empty (17880 bad rows in all;");
  tml_candles_release(&c);
  free(p);
}
