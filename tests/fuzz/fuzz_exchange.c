/* Exchange replies (Bybit v5, Bitget v2, Binance spot/futures): the clients' own request code runs,
 * but every reply comes from the input (tml__exchange_set_reply_source), never from the network.
 *   byte 0: client and market (bybit linear/spot, bitget USDT-FUTURES/SPOT, binance spot/futures)
 *   byte 1: the call (klines, fetch_range, server time, instruments)
 *   byte 2: HTTP status of the first four replies, two bits each (200, 200, 429, 503 ... see below)
 *   rest:   the reply bodies, separated by NUL bytes, served in order; when they run out the
 *           request fails as a network error would.
 * Checked: a failure carries a message; candles handed back are ascending, inside the asked window
 * and closed by the reply's clock. */
#include "fuzz.h"

#include "data/exchange_internal.h"
#include "trademl/exchange.h"
#include "trademl/series.h"

struct replies {
  const uint8_t *p, *end;
  uint8_t status_bits;
  int served;
};

static int next_reply(void *vctx, const char *url, struct tml_http_response *resp, struct tml_error *err) {
  struct replies *r = vctx;
  (void)url;
  if (r->p > r->end || r->served >= 64)
    return tml_error_set(err, TML_ENET, "fuzz: no more replies");
  const uint8_t *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
  const uint8_t *stop = nul ? nul : r->end;
  static const long statuses[4] = {200, 400, 429, 503};
  resp->status = r->served < 4 ? statuses[(r->status_bits >> (2 * r->served)) & 3] : 200;
  tml_buf_reset(&resp->body);
  if (tml_buf_append(&resp->body, r->p, (size_t)(stop - r->p)))
    return tml_error_set(err, TML_ETOOBIG, "fuzz: reply too large");
  r->p = stop + 1;
  r->served++;
  return 0;
}

static struct tml_exchange *clients[6];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_quiet();
  static const char *const names[6][2] = {{"bybit", "linear"},        {"bybit", "spot"},
                                          {"bitget", "USDT-FUTURES"}, {"bitget", "SPOT"},
                                          {"binance", "spot"},        {"binance", "futures"}};
  for (int i = 0; i < 6; i++) {
    struct tml_exchange_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = names[i][0];
    cfg.market = names[i][1];
    cfg.base_url = "http://127.0.0.1:9"; /* never contacted: replies come from the input */
    struct tml_error err;
    tml_error_init(&err);
    if (tml_exchange_open(&cfg, &clients[i], &err)) {
      fprintf(stderr, "fuzz_exchange: %s\n", err.msg);
      abort();
    }
  }
  return 0;
}

static int count_page(void *ctx, const struct tml_candles *page, int64_t ws, int64_t we, struct tml_error *err) {
  (void)err;
  for (size_t i = 0; i < page->len; i++)
    if (page->open_time[i] < ws || page->open_time[i] > we || (i && page->open_time[i] <= page->open_time[i - 1]))
      abort();
  *(size_t *)ctx += page->len;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  struct tml_exchange *ex = clients[data[0] % 6];
  struct replies r = {data + 3, data + size, data[2], 0};
  tml__exchange_set_reply_source(ex, next_reply, &r);
  ex->clock_known = false; /* no state carried over from the previous input */
  ex->clock_offset_ms = 0;
  const int64_t iv = 3600000, start = 1704067200000, end = start + 199 * iv; /* 2024-01-01, 200 hours */
  struct tml_error err;
  tml_error_init(&err);
  int rc = 0;
  switch (data[1] % 4) {
  case 0: {
    struct tml_candles c;
    rc = tml_exchange_klines(ex, "BTCUSDT", iv, start, end, 0, &c, &err);
    for (size_t i = 0; rc == 0 && i < c.len; i++)
      if (c.open_time[i] < start || c.open_time[i] > end || (i && c.open_time[i] <= c.open_time[i - 1]))
        abort();
    tml_candles_release(&c);
    break;
  }
  case 1: {
    size_t got = 0;
    struct tml_range_stats st;
    rc = tml_exchange_fetch_range(ex, "ETHUSDT", iv, start, end + 2000 * iv, (data[1] & 4) ? 0 : end + 10 * iv,
                                  count_page, &got, &st, &err);
    if (rc == 0 && got != st.candles)
      abort();
    break;
  }
  case 2: {
    int64_t now = 0;
    rc = tml_exchange_server_time(ex, &now, &err);
    break;
  }
  default: {
    struct tml_instruments l;
    tml_instruments_init(&l);
    rc = tml_exchange_instruments(ex, &l, &err);
    for (size_t i = 0; rc == 0 && i < l.len; i++)
      if (!l.items[i].symbol[0] || (i && strcmp(l.items[i - 1].symbol, l.items[i].symbol) > 0))
        abort();
    tml_instruments_release(&l);
    break;
  }
  }
  if (rc && !err.msg[0])
    abort();
  tml__exchange_set_reply_source(ex, NULL, NULL);
  return 0;
}
