#include "test.h"
#include "trademl/error.h"
#include "trademl/import.h"
#include "trademl/timeutil.h"

#include <sys/stat.h>
#include <unistd.h>
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
           "1704069000000,106,109,104,107,3.5\n"
           "1704069900000,107,109,104,108,4.5\n"
           "1704070800000,108,109,104,107,5.5\n",
           line3);
  char *p = fixture(test, "bad.csv", content);
  char want[1200];
  snprintf(want, sizeof(want), "'%s' line 3: %s", p, msg);
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_INT(run(p, iv, false, &c, &r, &err), code);
  CHECK_INT(c.len, 0);
  CHECK_CONTAINS(err.msg, "cannot import ");
  CHECK_CONTAINS(err.msg, want);
  CHECK_CONTAINS(err.msg, "(1 bad row in all; nothing imported: fix the file or use --skip-bad-rows)");
  tml_candles_release(&c);
  CHECK_OK(run(p, iv, true, &c, &r, &err), &err);
  CHECK_INT(c.len, 4);
  CHECK_INT(r.rows_read, 5);
  CHECK_INT(r.rows_ok, 4);
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
    snprintf(want, sizeof(want), "'%s' line 3: time ", p);
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
  CHECK_CONTAINS(err.msg, "g.json' line 1: row 1: expected ',' or ']' after a candle");
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
  CHECK_CONTAINS(err.msg, "m.csv' line 3: high 0.5 is below low 1 (25 bad rows in all;");
  tml_candles_release(&c);
  CHECK_OK(run(p, M15, true, &c, &r, &err), &err);
  CHECK_INT(c.len, 25);
  CHECK_INT(r.rows_skipped, 25);
  CHECK_INT(r.nbad, TML_IMPORT_BAD_KEPT);
  CHECK_CONTAINS(r.bad[19], "m.csv' line 41: high 0.5 is below low 1");
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
  CHECK_CONTAINS(err.msg, "BTC_USDT_USDT-1h-mark.csv' line 2: volume field is empty (17880 bad rows in all;");
  tml_candles_release(&c);
  free(p);
}

/* ---- files from other tools, and malformed files (issue 12) ---- */

#define H1 TML_MS_PER_HOUR

static int run_o(const char *path, struct tml_import_opts o, struct tml_candles *c, struct tml_import_report *r,
                 struct tml_error *err) {
  if (!o.symbol)
    o.symbol = "BTCUSDT";
  tml_error_init(err);
  return tml_import_file(path, &o, c, r, err);
}

/* Imports content with o and checks the three standard rows (check_three). */
static void shape_ok(const char *test, const char *name, const char *content, struct tml_import_opts o,
                     struct tml_import_report *r) {
  char *p = fixture(test, name, content);
  struct tml_candles c;
  struct tml_error err;
  if (!o.interval_ms)
    o.interval_ms = M15;
  CHECK_OK(run_o(p, o, &c, r, &err), &err);
  check_three(&c);
  CHECK_INT(r->rows_skipped, 0);
  tml_candles_release(&c);
  free(p);
}

TEST(utf8_bom_csv_and_json) {
  struct tml_import_report r;
  shape_ok("imp_bom_csv", "bom.csv",
           "\xEF\xBB\xBFopen_time,open,high,low,close,volume\r\n"
           "1704067200000,100,110,95,105,1.5\r\n"
           "1704068100000,105,108,101,106,2.5\r\n"
           "1704069000000,106,109,104,107,3.5\r\n",
           (struct tml_import_opts){0}, &r);
  CHECK_INT(r.format, TML_IMPORT_CSV);
  char json[256];
  snprintf(json, sizeof(json), "\xEF\xBB\xBF%s", FREQTRADE);
  shape_ok("imp_bom_json", "bom.json", json, (struct tml_import_opts){0}, &r);
  CHECK_INT(r.format, TML_IMPORT_FREQTRADE_JSON);
}

TEST(base_volume_chosen_over_quote_volume) {
  struct tml_import_report r;
  /* volume_btc + volume: the exact "volume" is the quote volume here */
  shape_ok("imp_vol1", "v1.csv",
           "date,open,high,low,close,volume_btc,volume\n"
           "2024-01-01 00:00,100,110,95,105,1.5,157.5\n"
           "2024-01-01 00:15,105,108,101,106,2.5,265\n"
           "2024-01-01 00:30,106,109,104,107,3.5,374.5\n",
           (struct tml_import_opts){0}, &r);
  CHECK_STR(r.volume_column, "volume_btc");
  /* Volume BTC + Volume USDT, quote first */
  shape_ok("imp_vol2", "v2.csv",
           "Unix,Date,Symbol,Open,High,Low,Close,Volume USDT,Volume BTC\n"
           "1704067200,2024-01-01 00:00:00,BTCUSDT,100,110,95,105,157.5,1.5\n"
           "1704068100,2024-01-01 00:15:00,BTCUSDT,105,108,101,106,265,2.5\n"
           "1704069000,2024-01-01 00:30:00,BTCUSDT,106,109,104,107,374.5,3.5\n",
           (struct tml_import_opts){0}, &r);
  CHECK_STR(r.volume_column, "Volume BTC");
  /* CryptoCompare: VolumeTo (quote) before VolumeFrom (base) */
  shape_ok("imp_vol3", "v3.csv",
           "time,close,high,low,open,volumeto,volumefrom\n"
           "1704067200,105,110,95,100,157.5,1.5\n"
           "1704068100,106,108,101,105,265,2.5\n"
           "1704069000,107,109,104,106,374.5,3.5\n",
           (struct tml_import_opts){0}, &r);
  CHECK_STR(r.volume_column, "volumefrom");
  /* Binance klines through pandas: volume is base; quote and taker columns are not the volume */
  shape_ok("imp_vol4", "v4.csv",
           "open_time,open,high,low,close,quote_asset_volume,volume,taker_buy_base_asset_volume\n"
           "1704067200000,100,110,95,105,157.5,1.5,0.7\n"
           "1704068100000,105,108,101,106,265,2.5,1.2\n"
           "1704069000000,106,109,104,107,374.5,3.5,1.7\n",
           (struct tml_import_opts){0}, &r);
  CHECK_STR(r.volume_column, "volume");
  /* --volume-column overrides: the quote volume, on request */
  char *p = fixture("imp_vol5", "v5.csv",
                    "date,open,high,low,close,volume_btc,volume\n"
                    "2024-01-01 00:00,100,110,95,105,1.5,157.5\n"
                    "2024-01-01 00:15,105,108,101,106,2.5,265\n"
                    "2024-01-01 00:30,106,109,104,107,3.5,374.5\n");
  struct tml_candles c;
  struct tml_error err;
  CHECK_OK(run_o(p, (struct tml_import_opts){.interval_ms = M15, .volume_column = "VOLUME"}, &c, &r, &err), &err);
  CHECK_NEAR(c.volume[0], 157.5, 0);
  CHECK_STR(r.volume_column, "volume");
  tml_candles_release(&c);
  free(p);
}

static const char WIDE[] = "timestamp,BTC:open,BTC:high,BTC:low,BTC:close,BTC:volume,ETH:open,ETH:high,ETH:low,"
                           "ETH:close,ETH:volume\n"
                           "1704067200000,42000,42100,41900,42050,10,100,110,95,105,1.5\n"
                           "1704068100000,42050,42200,42000,42150,11,105,108,101,106,2.5\n"
                           "1704069000000,42150,42300,42100,42200,12,106,109,104,107,3.5\n";

TEST(wide_multi_asset_file_needs_an_asset) {
  struct tml_import_report r;
  shape_ok("imp_wide_eth", "wide.csv", WIDE, (struct tml_import_opts){.asset = "eth"}, &r);
  CHECK_STR(r.asset, "ETH");
  CHECK_STR(r.volume_column, "ETH:volume");
  /* one asset, the symbol's base: no choice to make */
  shape_ok("imp_wide_one", "one.csv",
           "date,BTC_open,BTC_high,BTC_low,BTC_close,BTC_volume\n"
           "2024-01-01 00:00,100,110,95,105,1.5\n"
           "2024-01-01 00:15,105,108,101,106,2.5\n"
           "2024-01-01 00:30,106,109,104,107,3.5\n",
           (struct tml_import_opts){0}, &r);
  CHECK_STR(r.asset, "BTC");
  /* Yahoo's "Adj Close" is not an asset */
  shape_ok("imp_yahoo", "yahoo.csv",
           "Date,Open,High,Low,Close,Adj Close,Volume\n"
           "2024-01-01 00:00,100,110,95,105,105,1.5\n"
           "2024-01-01 00:15,105,108,101,106,106,2.5\n"
           "2024-01-01 00:30,106,109,104,107,107,3.5\n",
           (struct tml_import_opts){0}, &r);
  CHECK_STR(r.asset, "");
}

TEST(cryptodatadownload_12_hour_dates_newest_first) {
  char *p = fixture("imp_12h", "Bitstamp_BTCUSD_1h.csv",
                    "https://www.CryptoDataDownload.com\n"
                    "Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USD\n"
                    "2019-10-18 12-PM,BTCUSD,8070,8080,8060,8075,9.5,76712\n"
                    "2019-10-18 11-AM,BTCUSD,8060,8075,8050,8070,8.5,68595\n"
                    "2019-10-18 12-AM,BTCUSD,8050,8060,8000,8010,12.5,100125\n"
                    "2019-10-17 11-PM,BTCUSD,8040,8055,8030,8050,10.5,84525\n"
                    "2019-10-17 10-PM,BTCUSD,8030,8045,8020,8040,11.5,92460\n");
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_OK(run_o(p, (struct tml_import_opts){.symbol = "BTCUSD", .interval_ms = H1, .skip_bad_rows = false}, &c, &r,
                 &err),
           &err);
  CHECK_INT(c.len, 5);
  CHECK(!r.sorted_input);
  CHECK_INT(c.open_time[0], INT64_C(1571349600000)); /* 2019-10-17T22:00:00Z */
  CHECK_INT(c.open_time[1], INT64_C(1571353200000)); /* 23:00 (11-PM) */
  CHECK_INT(c.open_time[2], INT64_C(1571356800000)); /* 2019-10-18T00:00 (12-AM) */
  CHECK_INT(c.open_time[3], INT64_C(1571396400000)); /* 11:00 (11-AM) */
  CHECK_INT(c.open_time[4], INT64_C(1571400000000)); /* 12:00 (12-PM) */
  CHECK_NEAR(c.volume[2], 12.5, 0);                   /* Volume BTC, the base */
  CHECK_STR(r.volume_column, "Volume BTC");
  tml_candles_release(&c);
  free(p);
  /* the other 12-hour spellings */
  struct tml_import_report r2;
  shape_ok("imp_12h_b", "b.csv",
           "date,open,high,low,close,volume\n"
           "2024-01-01 12:00 AM,100,110,95,105,1.5\n"
           "2024-01-01 12:15:00AM,105,108,101,106,2.5\n"
           "2024-01-01 12:30 am,106,109,104,107,3.5\n",
           (struct tml_import_opts){0}, &r2);
}

TEST(pandas_unnamed_index_and_time_column) {
  struct tml_import_report r;
  shape_ok("imp_pd1", "pd1.csv",
           ",open,high,low,close,volume\n"
           "2024-01-01 00:00:00+00:00,100,110,95,105,1.5\n"
           "2024-01-01 00:15:00+00:00,105,108,101,106,2.5\n"
           "2024-01-01 00:30:00+00:00,106,109,104,107,3.5\n",
           (struct tml_import_opts){0}, &r);
  shape_ok("imp_pd2", "pd2.csv",
           "Unnamed: 0,open,high,low,close,volume\n"
           "2024-01-01 00:00:00,100,110,95,105,1.5\n"
           "2024-01-01 00:15:00,105,108,101,106,2.5\n"
           "2024-01-01 00:30:00,106,109,104,107,3.5\n",
           (struct tml_import_opts){0}, &r);
  shape_ok("imp_pd3", "pd3.csv",
           "row,candle_start_utc,open,high,low,close,volume\n"
           "0,2024-01-01 00:00:00,100,110,95,105,1.5\n"
           "1,2024-01-01 00:15:00,105,108,101,106,2.5\n"
           "2,2024-01-01 00:30:00,106,109,104,107,3.5\n",
           (struct tml_import_opts){.time_column = "Candle_Start_UTC"}, &r);
}

TEST(drop_last_candle_and_still_forming_candle) {
  char *p = fixture("imp_open", "open.csv",
                    "open_time,open,high,low,close,volume\n"
                    "1704067200000,100,110,95,105,1.5\n"
                    "1704068100000,105,108,101,106,2.5\n"
                    "1704069000000,106,109,104,107,3.5\n"
                    "1704069900000,107,107.5,106.5,107.2,0.4\n");
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  int64_t now = T0 + 3 * M15 + 5 * TML_MS_PER_MINUTE; /* 00:50: the 00:45 candle is still forming */
  CHECK_OK(run_o(p, (struct tml_import_opts){.interval_ms = M15, .now_ms = now}, &c, &r, &err), &err);
  CHECK_INT(c.len, 4);
  CHECK(r.open_candle);
  CHECK_INT(r.open_candle_ms, T0 + 3 * M15);
  tml_candles_release(&c);
  CHECK_OK(run_o(p, (struct tml_import_opts){.interval_ms = M15, .now_ms = now, .drop_last_candle = true}, &c, &r,
                 &err),
           &err);
  check_three(&c);
  CHECK(r.dropped_last);
  CHECK_INT(r.dropped_last_ms, T0 + 3 * M15);
  CHECK(!r.open_candle);
  tml_candles_release(&c);
  /* an hour later every candle has closed */
  CHECK_OK(run_o(p, (struct tml_import_opts){.interval_ms = M15, .now_ms = now + H1}, &c, &r, &err), &err);
  CHECK(!r.open_candle);
  tml_candles_release(&c);
  free(p);
}

TEST(interval_checked_against_spacing) {
  /* 40 daily candles with two gaps */
  char content[8192];
  size_t n = (size_t)snprintf(content, sizeof(content), "open_time,open,high,low,close,volume\n");
  for (int i = 0; i < 40; i++)
    if (i != 7 && i != 20)
      n += (size_t)snprintf(content + n, sizeof(content) - n, "%lld,100,110,95,105,1.5\n",
                            (long long)(T0 + i * TML_MS_PER_DAY));
  char *p = fixture("imp_sp_d", "daily.csv", content);
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_INT(run_o(p, (struct tml_import_opts){.interval_ms = H1}, &c, &r, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "daily.csv' as 1h candles: they are 1d apart (median of 37 steps between candles); pass "
                          "--interval 1d");
  tml_candles_release(&c);
  CHECK_OK(run_o(p, (struct tml_import_opts){.interval_ms = TML_MS_PER_DAY}, &c, &r, &err), &err);
  CHECK_INT(c.len, 38);
  CHECK_INT(r.spacing_ms, TML_MS_PER_DAY);
  tml_candles_release(&c);
  free(p);
  /* 72 hourly candles declared as 1d: refused, also with skip_bad_rows (not 3 "midnight" candles) */
  n = (size_t)snprintf(content, sizeof(content), "open_time,open,high,low,close,volume\n");
  for (int i = 0; i < 72; i++)
    n += (size_t)snprintf(content + n, sizeof(content) - n, "%lld,100,110,95,105,1.5\n", (long long)(T0 + i * H1));
  p = fixture("imp_sp_h", "hourly.csv", content);
  CHECK_INT(run_o(p, (struct tml_import_opts){.interval_ms = TML_MS_PER_DAY, .skip_bad_rows = true}, &c, &r, &err),
            TML_EINVAL);
  CHECK_CONTAINS(err.msg, "as 1d candles: they are 1h apart (median of 71 steps");
  tml_candles_release(&c);
  free(p);
}

/* Writes content gzip-compressed and cuts the compressed file to keep bytes. */
static char *gzip_fixture(const char *test, const char *name, const char *content, long keep) {
  char *dir = tml_test_tmpdir(test);
  size_t len = strlen(dir) + strlen(name) + 2;
  char *p = malloc(len);
  snprintf(p, len, "%s/%s", dir, name);
  free(dir);
  gzFile gz = gzopen(p, "wb");
  gzwrite(gz, content, (unsigned)strlen(content));
  gzclose(gz);
  if (keep > 0 && truncate(p, keep) != 0)
    tml_test_fail(__FILE__, __LINE__, "cannot truncate %s", p);
  return p;
}

static char *big_csv(int rows) {
  size_t cap = (size_t)rows * 64 + 64, n = 0;
  char *s = malloc(cap);
  n += (size_t)snprintf(s + n, cap - n, "open_time,open,high,low,close,volume\n");
  for (int i = 0; i < rows; i++)
    n += (size_t)snprintf(s + n, cap - n, "%lld,%d.5,%d.9,%d.1,%d.7,%d.25\n", (long long)(T0 + i * M15), 100 + i % 7,
                          110 + i % 7, 90 + i % 7, 100 + i % 7, i);
  return s;
}

TEST(truncated_gzip_and_cut_off_file) {
  char *content = big_csv(3000);
  char *p = gzip_fixture("imp_trunc_gz", "t.csv.gz", content, 0);
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_OK(run_o(p, (struct tml_import_opts){.interval_ms = M15}, &c, &r, &err), &err);
  CHECK_INT(c.len, 3000);
  tml_candles_release(&c);
  struct stat st;
  CHECK(stat(p, &st) == 0);
  free(p);
  p = gzip_fixture("imp_trunc_gz2", "t.csv.gz", content, (long)st.st_size / 2);
  CHECK_INT(run_o(p, (struct tml_import_opts){.interval_ms = M15, .skip_bad_rows = true}, &c, &r, &err), TML_EIO);
  CHECK_CONTAINS(err.msg, "t.csv.gz': it is a truncated gzip file");
  CHECK_CONTAINS(err.msg, "nothing imported");
  CHECK_INT(c.len, 0);
  tml_candles_release(&c);
  free(p);
  /* a plain file cut in its last row: not a bad row to skip */
  size_t len = strlen(content);
  content[len - 9] = '\0';
  p = fixture("imp_cut", "cut.csv", content);
  CHECK_INT(run_o(p, (struct tml_import_opts){.interval_ms = M15, .skip_bad_rows = true}, &c, &r, &err), TML_EPARSE);
  CHECK_CONTAINS(err.msg, "cut.csv': the file ends early, its last line 3001 is cut off");
  CHECK_INT(r.rows_skipped, 1);
  tml_candles_release(&c);
  free(p);
  free(content);
}

/* ---- malformed candle files: each must be refused with an error naming the file and what is wrong ---- */

enum mkind { MK_TEXT, MK_DIR, MK_GZ_CUT };

struct malformed {
  const char *name;
  enum mkind kind;
  const char *content;
  struct tml_import_opts o;
  int code;
  const char *want; /* a substring of the message that says what is wrong */
};

static const struct malformed MALFORMED[] = {
    {"dir", MK_DIR, NULL, {.interval_ms = M15}, TML_EIO, "it is a directory; give one candle file"},
    {"empty.csv", MK_TEXT, "", {.interval_ms = M15}, TML_EDATA, "the file is empty"},
    {"blank.csv", MK_TEXT, "\n\n  \n", {.interval_ms = M15}, TML_EDATA, "the file is empty"},
    {"notes.txt", MK_TEXT, "these are my notes\nnothing to see\n", {.interval_ms = M15}, TML_EPARSE,
     "no candle header and no candle row (expected a header with a time column (open_time, opentime, open time, "
     "timestamp, unix, unix timestamp, time, date, datetime) and open, high, low, close, volume"},
    {"banners.csv", MK_TEXT, "a\nb\nc\nd\ne\nf\ng\n", {.interval_ms = M15}, TML_EPARSE,
     "no candle header and no candle row in the first 6 lines"},
    {"short_header.csv", MK_TEXT, "t,o,h,l,c,v\n1704067200000,1,2,0.5,1,1\n1704068100000,1,2,0.5,1,1\n",
     {.interval_ms = M15}, TML_EPARSE, "line 1: 't,o,h,l,c,v' looks like a header but lacks an open or a close column"},
    {"no_time.csv", MK_TEXT, "when,open,high,low,close,volume\n2024-01-01,1,2,0.5,1,1\n", {.interval_ms = M15},
     TML_EPARSE,
     "the header has no time column; accepted names are open_time, opentime, open time, timestamp, unix, unix "
     "timestamp, time, date, datetime (any case) or an unnamed first column (a pandas date index); found "
     "'when,open,high,low,close,volume'; pass --time-column NAME"},
    {"no_high.csv", MK_TEXT, "date,open,low,close,volume\n2024-01-01,1,0.5,1,1\n", {.interval_ms = M15}, TML_EPARSE,
     "the header lacks the column(s) high; found 'date,open,low,close,volume'"},
    {"no_volume.csv", MK_TEXT, "date,open,high,low,close\n2024-01-01,1,2,0.5,1\n", {.interval_ms = M15}, TML_EPARSE,
     "the header has no volume column"},
    {"quote_only.csv", MK_TEXT, "date,open,high,low,close,Volume USDT\n2024-01-01,1,2,0.5,1,1\n",
     {.interval_ms = M15}, TML_EPARSE,
     "cannot tell the BTCUSDT base-asset volume column from 'Volume USDT': the only volume column holds the "
     "quote-asset volume"},
    {"other_symbol.csv", MK_TEXT, "date,open,high,low,close,Volume SOL,Volume USDT\n2024-01-01,1,2,0.5,1,1,1\n",
     {.interval_ms = M15}, TML_EPARSE, "'Volume SOL', 'Volume USDT': a volume column names an asset that is neither"},
    {"two_volumes.csv", MK_TEXT, "date,open,high,low,close,volume,Volume\n2024-01-01,1,2,0.5,1,1,1\n",
     {.interval_ms = M15}, TML_EPARSE, "several columns are named volume; pass --volume-column NAME"},
    {"wide.csv", MK_TEXT, WIDE, {.interval_ms = M15}, TML_EPARSE,
     "a wide file with columns for 2 assets (BTC, ETH); pass --asset NAME to import one of them as BTCUSDT"},
    {"wide_xrp.csv", MK_TEXT, WIDE, {.interval_ms = M15, .asset = "XRP"}, TML_EINVAL,
     "no columns for asset 'XRP' (--asset); the file has BTC, ETH"},
    {"not_wide.csv", MK_TEXT, "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n",
     {.interval_ms = M15, .asset = "BTC"}, TML_EINVAL, "--asset BTC applies to wide multi-asset files"},
    {"volcol.csv", MK_TEXT, "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n",
     {.interval_ms = M15, .volume_column = "qty"}, TML_EINVAL, "no column named 'qty' (--volume-column)"},
    {"timecol.csv", MK_TEXT, "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n",
     {.interval_ms = M15, .time_column = "ts"}, TML_EINVAL, "no column named 'ts' (--time-column)"},
    {"nohdr_volcol.csv", MK_TEXT, "1704067200000,1,2,0.5,1,1\n1704068100000,1,2,0.5,1,1\n",
     {.interval_ms = M15, .volume_column = "volume"}, TML_EINVAL, "--volume-column names a header column, but the file"},
    {"zero_price.csv", MK_TEXT,
     "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n1704068100000,0,2,0,1,1\n"
     "1704069000000,1,2,0.5,1,1\n",
     {.interval_ms = M15}, TML_EPARSE, "line 3: open 0 is not a positive price"},
    {"negative_low.csv", MK_TEXT,
     "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n1704068100000,1,2,-0.5,1,1\n"
     "1704069000000,1,2,0.5,1,1\n",
     {.interval_ms = M15}, TML_EPARSE, "line 3: low -0.5 is not a positive price"},
    {"high_low.csv", MK_TEXT,
     "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n1704068100000,41205,41200.5,41210,41206,1\n"
     "1704069000000,1,2,0.5,1,1\n",
     {.interval_ms = M15}, TML_EPARSE, "line 3: high 41200.5 is below low 41210"},
    {"open_above_high.csv", MK_TEXT,
     "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n1704068100000,3,2,0.5,1,1\n"
     "1704069000000,1,2,0.5,1,1\n",
     {.interval_ms = M15}, TML_EPARSE, "line 3: open 3 is outside [low 0.5, high 2]"},
    {"close_below_low.csv", MK_TEXT,
     "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n1704068100000,1,2,0.5,0.4,1\n"
     "1704069000000,1,2,0.5,1,1\n",
     {.interval_ms = M15}, TML_EPARSE, "line 3: close 0.4 is outside [low 0.5, high 2]"},
    {"before_2009.csv", MK_TEXT,
     "date,open,high,low,close,volume\n2008-12-31 23:00,1,2,0.5,1,1\n2009-01-01 00:00,1,2,0.5,1,1\n"
     "2009-01-01 01:00,1,2,0.5,1,1\n",
     {.interval_ms = H1}, TML_EPARSE, "line 2: time 2008-12-31T23:00:00Z is before 2009"},
    {"int64_min.csv", MK_TEXT,
     "open_time,open,high,low,close,volume\n-9223372036854775808,1,2,0.5,1,1\n1704068100000,1,2,0.5,1,1\n"
     "1704069000000,1,2,0.5,1,1\n",
     {.interval_ms = M15}, TML_EPARSE, "line 2: time 1677-09-21T00:12:43.146Z is before 2009"},
    {"future.csv", MK_TEXT,
     "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n1704068100000,1,2,0.5,1,1\n"
     "1704069000000,1,2,0.5,1,1\n",
     {.interval_ms = M15, .now_ms = T0}, TML_EPARSE,
     "line 4: time 2024-01-01T00:30:00Z is more than one 15m interval in the future (now is 2024-01-01T00:00:00Z)"},
    {"mixed_units.csv", MK_TEXT,
     "timestamp,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n1704068100,1,2,0.5,1,1\n"
     "1704069000000,1,2,0.5,1,1\n",
     {.interval_ms = M15}, TML_EPARSE,
     "line 3: time 1704068100 is in seconds but line 2's is in milliseconds (epoch units mixed in one file"},
    {"mixed_units.json", MK_TEXT, "[[1704067200,1,2,0.5,1,1],[1704068100000,1,2,0.5,1,1],[1704069000,1,2,0.5,1,1]]",
     {.interval_ms = M15}, TML_EPARSE, "time 1704068100000 is in milliseconds but line 1's is in seconds"},
    {"daily_as_1h.csv", MK_TEXT,
     "date,open,high,low,close,volume\n2024-01-01,1,2,0.5,1,1\n2024-01-02,1,2,0.5,1,1\n2024-01-03,1,2,0.5,1,1\n"
     "2024-01-04,1,2,0.5,1,1\n",
     {.interval_ms = H1}, TML_EINVAL, "as 1h candles: they are 1d apart (median of 3 steps between candles); pass --interval 1d"},
    {"odd_spacing.csv", MK_TEXT,
     "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1,1\n1704074400000,1,2,0.5,1,1\n"
     "1704078000000,1,2,0.5,1,1\n1704085200000,1,2,0.5,1,1\n",
     {.interval_ms = M15}, TML_EINVAL, "they are 2h apart (median of 3 steps between candles); pass --interval 2h"},
    {"cut.json", MK_TEXT, "[[1704067200000,1,2,0.5,1,1],[1704068100000,1,2", {.interval_ms = M15}, TML_EPARSE,
     "row 2: expected ',' or ']' (the file ends here: truncated?)"},
    {"cut.csv.gz", MK_GZ_CUT, NULL, {.interval_ms = M15, .skip_bad_rows = true}, TML_EIO,
     "it is a truncated gzip file"},
    {"bad_12h.csv", MK_TEXT,
     "date,open,high,low,close,volume\n2019-10-17 11-PM,1,2,0.5,1,1\n2019-10-17 13-PM,1,2,0.5,1,1\n",
     {.interval_ms = H1}, TML_EPARSE, "line 3: time '2019-10-17 13-PM' is neither an epoch number nor a date"},
};

TEST(malformed_files_get_clear_errors) {
  size_t tried = 0, clear = 0;
  char *big = big_csv(3000);
  for (size_t i = 0; i < sizeof(MALFORMED) / sizeof(MALFORMED[0]); i++) {
    const struct malformed *m = &MALFORMED[i];
    char test[64];
    snprintf(test, sizeof(test), "imp_bad%zu", i);
    char *p;
    if (m->kind == MK_DIR) {
      p = tml_test_tmpdir(test);
    } else if (m->kind == MK_GZ_CUT) {
      p = gzip_fixture(test, m->name, big, 0);
      struct stat st;
      CHECK(stat(p, &st) == 0);
      free(p);
      p = gzip_fixture(test, m->name, big, (long)st.st_size * 2 / 3);
    } else {
      p = fixture(test, m->name, m->content);
    }
    struct tml_candles c;
    struct tml_import_report r;
    struct tml_error err;
    int rc = run_o(p, m->o, &c, &r, &err);
    tried++;
    const char *base = strrchr(p, '/');
    bool ok = rc == m->code && c.len == 0 && strstr(err.msg, m->want) && strstr(err.msg, base ? base + 1 : p);
    if (ok)
      clear++;
    else
      fprintf(stderr, "malformed file %s: rc %d (want %d), message: %s\n  expected it to contain: %s\n", m->name, rc,
              m->code, err.msg, m->want);
    tml_candles_release(&c);
    free(p);
  }
  free(big);
  printf("malformed candle files: %zu tried, %zu refused with a clear error\n", tried, clear);
  CHECK_INT(clear, tried);
}

/* A file whose every row is bad the same way is not "cut off" because its last line lacks a newline. */
TEST(all_rows_bad_without_final_newline_is_not_cut) {
  char *p = fixture("imp_allbad", "mark.csv",
                    "open_time,open,high,low,close,volume\n"
                    "1704067200000,100,110,95,105,\n"
                    "1704068100000,105,108,101,106,\n"
                    "1704069000000,106,109,104,107,");
  struct tml_candles c;
  struct tml_import_report r;
  struct tml_error err;
  CHECK_INT(run(p, M15, false, &c, &r, &err), TML_EPARSE);
  CHECK_CONTAINS(err.msg, "mark.csv' line 2: volume field is empty (3 bad rows in all;");
  tml_candles_release(&c);
  free(p);
}
