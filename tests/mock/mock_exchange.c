/* mock_exchange: a loopback HTTP server that imitates the public market-data endpoints of Bybit v5,
 * Bitget v2 and Binance (spot + USDT-M futures) closely enough to test trademl's clients: candles
 * come from CSV files, replies follow the recorded/documented shapes field by field
 * (../shared/data/exchange-responses, ../shared/docs/exchange-apis.md), paging parameters and limits
 * are enforced, and faults are injected on request.
 *
 *   mock_exchange --port-file FILE [--now MS] [--series EX:MARKET:SYMBOL:INTERVAL:CSV[:LISTED_MS]]...
 *                 [--fault KIND[:COUNT[:AFTER[:MS]]]]... [--instruments-page N] [--max-seconds S]
 *
 * EX is bybit|bitget|binance; MARKET is the category / productType / spot|futures; INTERVAL a
 * trademl name (15m, 1h). Only 127.0.0.1 is bound; the ephemeral port is written to FILE.
 *
 * The clock. One simulated server clock drives every exchange: the time endpoints, the `time` /
 * `requestTime` / `serverTime` fields of every reply, which candles exist and which symbols are
 * listed. --now sets it (default: one second after the last candle of any series closed); it only
 * moves when a test moves it:
 *   GET /mock/clock                 {"now":MS}
 *   GET /mock/clock?set=MS          jump to MS (may go back)
 *   GET /mock/clock?advance=MS      move forward, e.g. advance=900000 = one 15m candle
 * A candle exists once it opened (open_time <= now). Closed candles (open_time + interval <= now)
 * are served with the CSV's values. The one still forming is served too, as the real exchanges do
 * (Bybit puts it first, newest-first; Bitget and Binance last), but with what is known of it so
 * far: open = high = low = close = its open price and volume 0, so a client that keeps it stores
 * values that differ from the file (trademl drops it by comparing with the server clock). Each
 * request reads the clock once, so one reply never mixes two clock values.
 *
 * Listings. A series may carry a listing time LISTED_MS (default: its first candle). Before the
 * clock reaches it the symbol does not exist on that exchange/market: it is absent from the
 * instruments and tickers replies and kline requests get the exchange's unknown-symbol error. From
 * then on it is listed with launchTime / onboardDate = LISTED_MS and serves only candles that opened
 * at or after LISTED_MS (the file's earlier rows are the history it did not have on this venue).
 * A listing "mid-run" is a series whose LISTED_MS is after the start clock; the test advances the
 * clock past it. The series set itself is fixed at start (no locking on the request path).
 *
 * Fault kinds (kline/candle requests only; COUNT -1 = forever; AFTER = kline requests let through
 * first): http429 (Retry-After: 1), http403, http418 (Retry-After: 1), http500, http503, slow (MS,
 * default 3000), truncated (half the JSON), reset (connection closed, no reply), ratelimit10006
 * (Bybit retCode 10006 + X-Bapi-Limit-Reset-Timestamp), empty (a success reply without candles),
 * shape (a success reply with the candle list renamed), garbage (HTTP 200 with an HTML page, as a
 * CDN or captive portal sends). Also at run time:
 *   GET /mock/fault?kind=K&count=N&after=M&ms=T     GET /mock/stats     GET /mock/reset
 * (reset clears faults and counters, not the clock). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"

#define MAX_SERIES 1024 /* bench/bench_live.sh serves 300 symbols */
#define MAX_FAULTS 32

struct series {
  char exchange[16], market[32], symbol[40];
  int64_t interval_ms;
  int64_t listed_ms; /* invisible before the clock reaches it; default: the first candle */
  size_t len;
  int64_t *t;
  char **f[5]; /* open, high, low, close, volume: the CSV text, so replies round-trip exactly */
  char *text;  /* the file, cut in place */
};

struct fault {
  char kind[24];
  int count; /* remaining; -1 forever */
  int after; /* kline requests to let through first */
  int ms;
};

static struct series series[MAX_SERIES];
static size_t nseries;
static struct fault faults[MAX_FAULTS];
static size_t nfaults;
static _Atomic int64_t clock_ms;      /* the simulated server clock */
static _Thread_local int64_t now_ms;  /* the clock as read once at the start of this request */
static size_t instruments_page = 500;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static size_t stat_requests, stat_klines, stat_faults;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

/* ---- data ------------------------------------------------------------------------------------ */

static int load_series(const char *spec) {
  if (nseries >= MAX_SERIES)
    return -1;
  struct series *s = &series[nseries];
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s", spec);
  char *parts[5];
  char *p = buf;
  for (int i = 0; i < 4; i++) {
    parts[i] = p;
    p = strchr(p, ':');
    if (!p) {
      fprintf(stderr, "mock_exchange: bad --series '%s' (EX:MARKET:SYMBOL:INTERVAL:CSV)\n", spec);
      return -1;
    }
    *p++ = '\0';
  }
  parts[4] = p;
  /* CSV[:LISTED_MS]: a trailing ":digits" is the listing time */
  s->listed_ms = INT64_MIN;
  char *colon = strrchr(parts[4], ':');
  if (colon && colon > parts[4] && colon[1]) {
    int64_t listed;
    if (tml_parse_int64_str(colon + 1, &listed) == 0) {
      s->listed_ms = listed;
      *colon = '\0';
    }
  }
  snprintf(s->exchange, sizeof(s->exchange), "%s", parts[0]);
  snprintf(s->market, sizeof(s->market), "%s", parts[1]);
  snprintf(s->symbol, sizeof(s->symbol), "%s", parts[2]);
  struct tml_error err;
  tml_error_init(&err);
  if (tml_interval_parse(parts[3], &s->interval_ms, &err) != 0) {
    fprintf(stderr, "mock_exchange: %s\n", err.msg);
    return -1;
  }
  FILE *f = fopen(parts[4], "rb");
  if (!f) {
    fprintf(stderr, "mock_exchange: cannot open %s\n", parts[4]);
    return -1;
  }
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  s->text = malloc((size_t)sz + 1);
  size_t got = fread(s->text, 1, (size_t)sz, f);
  fclose(f);
  s->text[got] = '\0';
  size_t lines = 0;
  for (size_t i = 0; i < got; i++)
    lines += s->text[i] == '\n';
  s->t = malloc((lines + 1) * sizeof(int64_t));
  for (int k = 0; k < 5; k++)
    s->f[k] = malloc((lines + 1) * sizeof(char *));
  char *line = s->text;
  bool first = true;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    size_t ll = strlen(line);
    if (ll && line[ll - 1] == '\r')
      line[--ll] = '\0';
    char *fld[7] = {0};
    int nf = 0;
    for (char *q = line; nf < 7;) {
      fld[nf++] = q;
      char *c = strchr(q, ',');
      if (!c)
        break;
      *c = '\0';
      q = c + 1;
    }
    int64_t t;
    if (nf >= 6 && (tml_parse_int64_str(fld[0], &t) == 0 ||
                    tml_time_parse(fld[0], strlen(fld[0]), &t) == 0)) {
      s->t[s->len] = t;
      for (int k = 0; k < 5; k++)
        s->f[k][s->len] = fld[k + 1];
      s->len++;
    } else if (!first && ll) {
      fprintf(stderr, "mock_exchange: %s: unreadable line '%s'\n", parts[4], line);
      return -1;
    }
    first = false;
    line = nl ? nl + 1 : NULL;
  }
  if (s->listed_ms == INT64_MIN)
    s->listed_ms = s->len ? s->t[0] : 0;
  nseries++;
  return 0;
}

static bool listed(const struct series *s) { return now_ms >= s->listed_ms; }

/* The listed series of ex/market/symbol (any interval when iv is 0), or NULL. */
static struct series *find_series(const char *ex, const char *market, const char *symbol,
                                  int64_t iv) {
  for (size_t i = 0; i < nseries; i++)
    if (listed(&series[i]) && strcmp(series[i].exchange, ex) == 0 && strcasecmp(series[i].market, market) == 0 &&
        strcmp(series[i].symbol, symbol) == 0 && (iv == 0 || series[i].interval_ms == iv))
      return &series[i];
  return NULL;
}

static bool symbol_known(const char *ex, const char *market, const char *symbol) {
  return find_series(ex, market, symbol, 0) != NULL;
}

/* first index with t >= x */
static size_t lower(const struct series *s, int64_t x) {
  size_t lo = 0, hi = s->len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->t[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Rows in [a, b] (inclusive) that have opened by `now` and not before the listing; `limit` of
 * them, from the oldest when from_start, else the newest. Out: [*i0, *i1). */
static void select_rows(const struct series *s, int64_t a, int64_t b, size_t limit, bool from_start,
                        size_t *i0, size_t *i1) {
  if (b > now_ms)
    b = now_ms;
  if (a < s->listed_ms)
    a = s->listed_ms;
  size_t lo = lower(s, a), hi = b == INT64_MAX ? s->len : lower(s, b + 1);
  if (hi < lo)
    hi = lo;
  if (hi - lo > limit) {
    if (from_start)
      hi = lo + limit;
    else
      lo = hi - limit;
  }
  *i0 = lo;
  *i1 = hi;
}

/* Row i as served at the current clock: the CSV text when the candle has closed, else the forming
 * candle as far as it is known (open price everywhere, volume 0). */
struct row {
  const char *o, *h, *l, *c, *v;
  double vol, close; /* parsed volume and close, for turnover fields */
};

static void row_at(const struct series *s, size_t i, struct row *r) {
  bool forming = s->t[i] + s->interval_ms > now_ms;
  r->o = s->f[0][i];
  r->h = forming ? r->o : s->f[1][i];
  r->l = forming ? r->o : s->f[2][i];
  r->c = forming ? r->o : s->f[3][i];
  r->v = forming ? "0" : s->f[4][i];
  r->vol = 0;
  r->close = 0;
  tml_parse_double_str(r->v, &r->vol);
  tml_parse_double_str(r->c, &r->close);
}

static void split_symbol(const char *sym, char *base, size_t bsz, char *quote, size_t qsz) {
  static const char *const quotes[] = {"USDT", "USDC", "USD", "BTC", "ETH"};
  size_t n = strlen(sym);
  for (size_t i = 0; i < sizeof(quotes) / sizeof(quotes[0]); i++) {
    size_t q = strlen(quotes[i]);
    if (n > q && strcmp(sym + n - q, quotes[i]) == 0) {
      snprintf(base, bsz, "%.*s", (int)(n - q), sym);
      snprintf(quote, qsz, "%s", quotes[i]);
      return;
    }
  }
  snprintf(base, bsz, "%s", sym);
  snprintf(quote, qsz, "%s", "");
}

/* 24 h base volume and quote turnover from the candles before now */
static void day_stats(const char *ex, const char *market, const char *symbol, double *vol,
                      double *turnover, const char **last) {
  *vol = 0;
  *turnover = 0;
  *last = "0";
  struct series *s = find_series(ex, market, symbol, 0);
  if (!s)
    return;
  size_t i0, i1;
  int64_t last_t = s->len ? s->t[s->len - 1] : now_ms; /* the day up to the series' last candle */
  if (last_t > now_ms)
    last_t = now_ms;
  select_rows(s, last_t - TML_MS_PER_DAY + 1, last_t, SIZE_MAX, true, &i0, &i1);
  struct row rw;
  for (size_t i = i0; i < i1; i++) {
    row_at(s, i, &rw);
    *vol += rw.vol;
    *turnover += rw.vol * rw.close;
  }
  if (i1 > i0) {
    row_at(s, i1 - 1, &rw);
    *last = rw.c;
  }
}

/* ---- faults ---------------------------------------------------------------------------------- */

static void add_fault(const char *kind, int count, int after, int ms) {
  pthread_mutex_lock(&lock);
  if (nfaults < MAX_FAULTS) {
    struct fault *f = &faults[nfaults++];
    snprintf(f->kind, sizeof(f->kind), "%s", kind);
    f->count = count;
    f->after = after;
    f->ms = ms;
  }
  pthread_mutex_unlock(&lock);
}

/* Called for each kline request: the fault to apply, if any (copied out). */
static bool take_fault(struct fault *out) {
  bool hit = false;
  pthread_mutex_lock(&lock);
  stat_klines++;
  for (size_t i = 0; i < nfaults; i++) {
    struct fault *f = &faults[i];
    if (f->count == 0)
      continue;
    if (f->after > 0) {
      f->after--;
      continue;
    }
    if (!hit) {
      *out = *f;
      hit = true;
      if (f->count > 0)
        f->count--;
      stat_faults++;
    }
  }
  pthread_mutex_unlock(&lock);
  return hit;
}

/* ---- replies --------------------------------------------------------------------------------- */

struct reply {
  unsigned status;
  struct tml_buf body;
  const char *content_type;
  int64_t retry_after_s;    /* -1 none */
  int64_t bapi_reset_ms;    /* -1 none */
  long used_weight;         /* -1 none */
  bool drop;                /* close the connection without a reply */
};

static const char *arg(struct MHD_Connection *c, const char *name) {
  return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static bool arg_i64(struct MHD_Connection *c, const char *name, int64_t *out) {
  const char *v = arg(c, name);
  return v && tml_parse_int64_str(v, out) == 0;
}

/* Bybit ----------------------------------------------------------------------------------------- */

static void bybit_envelope_error(struct reply *r, int code, const char *msg) {
  tml_buf_printf(&r->body, "{\"retCode\":%d,\"retMsg\":", code);
  tml_buf_json_str(&r->body, msg);
  tml_buf_printf(&r->body, ",\"result\":{},\"retExtInfo\":{},\"time\":%" PRId64 "}", now_ms);
}

static int64_t bybit_interval(const char *code) {
  if (!code)
    return 0;
  if (strcmp(code, "D") == 0)
    return TML_MS_PER_DAY;
  if (strcmp(code, "W") == 0)
    return 7 * TML_MS_PER_DAY;
  int64_t m;
  if (tml_parse_int64_str(code, &m) != 0)
    return 0;
  static const int64_t ok[] = {1, 3, 5, 15, 30, 60, 120, 240, 360, 720};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    if (ok[i] == m)
      return m * TML_MS_PER_MINUTE;
  return 0;
}

static void bybit_kline(struct MHD_Connection *c, struct reply *r, const struct fault *f) {
  const char *category = arg(c, "category");
  category = category ? category : "linear";
  const char *symbol = arg(c, "symbol");
  int64_t iv = bybit_interval(arg(c, "interval"));
  int64_t start = INT64_MIN, end = INT64_MAX, limit = 200;
  if (!symbol)
    { bybit_envelope_error(r, 10001, "params error: symbol invalid"); return; }
  if (!iv)
    { bybit_envelope_error(r, 10001, "Invalid period!"); return; }
  if ((arg(c, "start") && !arg_i64(c, "start", &start)) || (arg(c, "end") && !arg_i64(c, "end", &end)) ||
      (arg(c, "limit") && !arg_i64(c, "limit", &limit)) || limit < 1 || limit > 1000)
    { bybit_envelope_error(r, 10001, "params error: start, end or limit"); return; }
  if (!symbol_known("bybit", category, symbol))
    { bybit_envelope_error(r, 10001, "Not supported symbols"); return; }
  struct series *s = find_series("bybit", category, symbol, iv);
  size_t i0 = 0, i1 = 0;
  if (s)
    select_rows(s, start, end, (size_t)limit, false, &i0, &i1);
  if (f && strcmp(f->kind, "empty") == 0)
    i1 = i0;
  tml_buf_printf(&r->body, "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"symbol\":");
  tml_buf_json_str(&r->body, symbol);
  tml_buf_printf(&r->body, ",\"category\":\"%s\",\"%s\":[", category,
                 f && strcmp(f->kind, "shape") == 0 ? "rows" : "list");
  for (size_t k = i1; k > i0; k--) { /* newest first: the forming candle, when there is one, leads */
    size_t i = k - 1;
    struct row rw;
    row_at(s, i, &rw);
    tml_buf_printf(&r->body, "%s[\"%" PRId64 "\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%.4f\"]",
                   k == i1 ? "" : ",", s->t[i], rw.o, rw.h, rw.l, rw.c, rw.v, rw.vol * rw.close);
  }
  tml_buf_printf(&r->body, "]},\"retExtInfo\":{},\"time\":%" PRId64 "}", now_ms);
}

static void bybit_instruments(struct MHD_Connection *c, struct reply *r) {
  const char *category = arg(c, "category");
  if (!category)
    { bybit_envelope_error(r, 10001, "params error: category is required"); return; }
  bool spot = strcmp(category, "spot") == 0;
  int64_t limit = 500, from = 0;
  arg_i64(c, "limit", &limit);
  size_t page = spot ? SIZE_MAX : (size_t)(limit < (int64_t)instruments_page ? limit : (int64_t)instruments_page);
  const char *cursor = arg(c, "cursor");
  if (cursor && *cursor && !spot) {
    /* our token is "next%3D<index>" in its decoded form, like Bybit's URL-encoded tokens */
    if (strncmp(cursor, "next%3D", 7) != 0 || tml_parse_int64_str(cursor + 7, &from) != 0)
      { bybit_envelope_error(r, 10001, "params error: cursor invalid"); return; }
  }
  /* unique symbols of this category, in load order */
  const char *syms[MAX_SERIES];
  size_t n = 0;
  for (size_t i = 0; i < nseries; i++) {
    if (!listed(&series[i]) || strcmp(series[i].exchange, "bybit") != 0 || strcmp(series[i].market, category) != 0)
      continue;
    bool dup = false;
    for (size_t j = 0; j < n; j++)
      dup |= strcmp(syms[j], series[i].symbol) == 0;
    if (!dup)
      syms[n++] = series[i].symbol;
  }
  tml_buf_printf(&r->body, "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"category\":\"%s\",\"list\":[",
                 category);
  size_t i = (size_t)from, shown = 0;
  for (; i < n && shown < page; i++, shown++) {
    char base[40], quote[16];
    split_symbol(syms[i], base, sizeof(base), quote, sizeof(quote));
    struct series *s = find_series("bybit", category, syms[i], 0);
    tml_buf_printf(&r->body, "%s{\"symbol\":\"%s\",", shown ? "," : "", syms[i]);
    if (!spot)
      tml_buf_printf(&r->body,
                     "\"contractType\":\"LinearPerpetual\",\"status\":\"Trading\",\"baseCoin\":\"%s\","
                     "\"quoteCoin\":\"%s\",\"launchTime\":\"%" PRId64 "\",\"deliveryTime\":\"0\","
                     "\"deliveryFeeRate\":\"\",\"priceScale\":\"2\",\"settleCoin\":\"%s\"}",
                     base, quote, s ? s->listed_ms : 0, quote);
    else
      tml_buf_printf(&r->body,
                     "\"baseCoin\":\"%s\",\"quoteCoin\":\"%s\",\"innovation\":\"0\",\"status\":\"Trading\"}",
                     base, quote);
  }
  if (i < n && !spot)
    tml_buf_printf(&r->body, "],\"nextPageCursor\":\"next%%3D%zu\"},\"retExtInfo\":{},\"time\":%" PRId64 "}",
                   i, now_ms);
  else
    tml_buf_printf(&r->body, "],\"nextPageCursor\":\"\"},\"retExtInfo\":{},\"time\":%" PRId64 "}", now_ms);
}

static void bybit_tickers(struct MHD_Connection *c, struct reply *r) {
  const char *category = arg(c, "category");
  if (!category)
    { bybit_envelope_error(r, 10001, "params error: category is required"); return; }
  tml_buf_printf(&r->body, "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"category\":\"%s\",\"list\":[",
                 category);
  size_t shown = 0;
  for (size_t i = 0; i < nseries; i++) {
    const struct series *s = &series[i];
    if (strcmp(s->exchange, "bybit") != 0 || strcmp(s->market, category) != 0 ||
        find_series("bybit", category, s->symbol, 0) != s)
      continue;
    double vol, turnover;
    const char *last;
    day_stats("bybit", category, s->symbol, &vol, &turnover, &last);
    tml_buf_printf(&r->body,
                   "%s{\"symbol\":\"%s\",\"lastPrice\":\"%s\",\"volume24h\":\"%.4f\",\"turnover24h\":\"%.4f\"}",
                   shown++ ? "," : "", s->symbol, last, vol, turnover);
  }
  tml_buf_printf(&r->body, "]},\"retExtInfo\":{},\"time\":%" PRId64 "}", now_ms);
}

/* Bitget ---------------------------------------------------------------------------------------- */

static void bitget_error(struct reply *r, unsigned status, const char *code, const char *msg) {
  r->status = status;
  tml_buf_printf(&r->body, "{\"code\":\"%s\",\"msg\":", code);
  tml_buf_json_str(&r->body, msg);
  tml_buf_printf(&r->body, ",\"requestTime\":%" PRId64 ",\"data\":null}", now_ms);
}

static int64_t bitget_granularity(const char *g, bool spot) {
  static const struct {
    const char *fut, *spot;
    int64_t minutes;
  } map[] = {{"1m", "1min", 1},   {"3m", "3min", 3},     {"5m", "5min", 5},
             {"15m", "15min", 15}, {"30m", "30min", 30}, {"1H", "1h", 60},
             {"2H", NULL, 120},   {"4H", "4h", 240},     {"6Hutc", "6Hutc", 360},
             {"12Hutc", "12Hutc", 720}, {"1Dutc", "1Dutc", 1440}, {"1Wutc", "1Wutc", 10080}};
  for (size_t i = 0; g && i < sizeof(map) / sizeof(map[0]); i++) {
    const char *name = spot ? map[i].spot : map[i].fut;
    if (name && strcmp(name, g) == 0)
      return map[i].minutes * TML_MS_PER_MINUTE;
  }
  return 0;
}

/* ccxt's maxRecentDaysPerTimeframe: how far back `candles` reaches */
static int64_t bitget_reach(int64_t iv) {
  if (iv <= 30 * TML_MS_PER_MINUTE)
    return 30 * TML_MS_PER_DAY;
  if (iv <= TML_MS_PER_HOUR)
    return 60 * TML_MS_PER_DAY;
  return 60 * (iv / TML_MS_PER_HOUR) * TML_MS_PER_DAY;
}

static void bitget_candles(struct MHD_Connection *c, struct reply *r, bool spot, bool history,
                           const struct fault *f) {
  const char *symbol = arg(c, "symbol");
  const char *market = spot ? "SPOT" : arg(c, "productType");
  if (!symbol)
    { bitget_error(r, 400, "40019", "Parameter symbol cannot be empty"); return; }
  if (!market)
    { bitget_error(r, 400, "40019", "Parameter productType cannot be empty"); return; }
  int64_t iv = bitget_granularity(arg(c, "granularity"), spot);
  if (!iv)
    { bitget_error(r, 400, "40020", "Parameter granularity error"); return; }
  int64_t start = INT64_MIN, end = INT64_MAX, limit = 100;
  if (arg(c, "startTime") && !arg_i64(c, "startTime", &start))
    { bitget_error(r, 400, "40020", "Parameter startTime error"); return; }
  if (arg(c, "endTime") && !arg_i64(c, "endTime", &end))
    { bitget_error(r, 400, "40020", "Parameter endTime error"); return; }
  if (spot && history && !arg(c, "endTime"))
    { bitget_error(r, 400, "40019", "\xe5\x8f\x82\xe6\x95\xb0 endTime \xe4\xb8\x8d\xe8\x83\xbd\xe4\xb8\xba\xe7\xa9\xba"); return; }
  if (spot && history)
    start = INT64_MIN; /* spot history takes no startTime */
  int64_t max = history ? 200 : 1000;
  if (arg(c, "limit") && (!arg_i64(c, "limit", &limit) || limit < 1 || limit > max))
    { bitget_error(r, 400, "40020", "Parameter limit error"); return; }
  if (start != INT64_MIN && end != INT64_MAX && end - start > 90 * TML_MS_PER_DAY)
    { bitget_error(r, 400, "40020", "Parameter startTime and endTime interval cannot exceed 90 days"); return; }
  if (!symbol_known("bitget", market, symbol)) {
    char msg[128];
    snprintf(msg, sizeof(msg), "Parameter %s does not exist", symbol);
    { bitget_error(r, 400, "40034", msg); return; }
  }
  struct series *s = find_series("bitget", market, symbol, iv);
  size_t i0 = 0, i1 = 0;
  bool beyond_reach = !history && start != INT64_MIN && start < now_ms - bitget_reach(iv);
  if (s && !beyond_reach)
    select_rows(s, start, end, (size_t)limit, !history, &i0, &i1); /* history anchors on endTime */
  if (f && strcmp(f->kind, "empty") == 0)
    i1 = i0;
  tml_buf_printf(&r->body, "{\"code\":\"00000\",\"msg\":\"success\",\"requestTime\":%" PRId64 ",\"%s\":[",
                 now_ms, f && strcmp(f->kind, "shape") == 0 ? "rows" : "data");
  for (size_t i = i0; i < i1; i++) {
    struct row rw;
    row_at(s, i, &rw);
    tml_buf_printf(&r->body, "%s[\"%" PRId64 "\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%.4f\"",
                   i == i0 ? "" : ",", s->t[i], rw.o, rw.h, rw.l, rw.c, rw.v, rw.vol * rw.close);
    if (spot) /* spot rows: baseVolume, usdtVolume, quoteVolume */
      tml_buf_printf(&r->body, ",\"%.4f\"", rw.vol * rw.close);
    tml_buf_puts(&r->body, "]");
  }
  tml_buf_puts(&r->body, "]}");
}

static void bitget_symbols(struct MHD_Connection *c, struct reply *r, bool spot, bool tickers) {
  const char *market = spot ? "SPOT" : arg(c, "productType");
  if (!market)
    { bitget_error(r, 400, "40019", "Parameter productType cannot be empty"); return; }
  tml_buf_printf(&r->body, "{\"code\":\"00000\",\"msg\":\"success\",\"requestTime\":%" PRId64 ",\"data\":[",
                 now_ms);
  size_t shown = 0;
  for (size_t i = 0; i < nseries; i++) {
    const struct series *s = &series[i];
    if (strcmp(s->exchange, "bitget") != 0 || strcasecmp(s->market, market) != 0 ||
        find_series("bitget", market, s->symbol, 0) != s)
      continue;
    char base[40], quote[16];
    split_symbol(s->symbol, base, sizeof(base), quote, sizeof(quote));
    tml_buf_puts(&r->body, shown++ ? "," : "");
    if (tickers) {
      double vol, turnover;
      const char *last;
      day_stats("bitget", market, s->symbol, &vol, &turnover, &last);
      tml_buf_printf(&r->body,
                     "{\"symbol\":\"%s\",\"lastPr\":\"%s\",\"baseVolume\":\"%.4f\",\"quoteVolume\":\"%.4f\","
                     "\"usdtVolume\":\"%.4f\",\"ts\":\"%" PRId64 "\"}",
                     s->symbol, last, vol, turnover, turnover, now_ms);
    } else if (spot) {
      tml_buf_printf(&r->body,
                     "{\"symbol\":\"%s\",\"baseCoin\":\"%s\",\"quoteCoin\":\"%s\",\"status\":\"online\","
                     "\"pricePrecision\":\"2\"}",
                     s->symbol, base, quote);
    } else {
      tml_buf_printf(&r->body,
                     "{\"symbol\":\"%s\",\"baseCoin\":\"%s\",\"quoteCoin\":\"%s\",\"symbolType\":\"perpetual\","
                     "\"symbolStatus\":\"normal\",\"launchTime\":\"%" PRId64 "\",\"offTime\":\"-1\","
                     "\"limitOpenTime\":\"-1\",\"deliveryTime\":\"\"}",
                     s->symbol, base, quote, s->listed_ms);
    }
  }
  tml_buf_puts(&r->body, "]}");
}

/* Binance --------------------------------------------------------------------------------------- */

static void binance_error(struct reply *r, unsigned status, int code, const char *msg) {
  r->status = status;
  tml_buf_printf(&r->body, "{\"code\":%d,\"msg\":", code);
  tml_buf_json_str(&r->body, msg);
  tml_buf_puts(&r->body, "}");
}

static void binance_klines(struct MHD_Connection *c, struct reply *r, bool futures,
                           const struct fault *f) {
  const char *market = futures ? "futures" : "spot";
  const char *symbol = arg(c, "symbol");
  if (!symbol)
    { binance_error(r, 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."); return; }
  int64_t iv = 0;
  const char *ivs = arg(c, "interval");
  struct tml_error err;
  tml_error_init(&err);
  if (!ivs || tml_interval_parse(ivs, &iv, &err) != 0 || strcmp(tml_interval_name(iv), ivs) != 0)
    { binance_error(r, 400, -1120, "Invalid interval."); return; }
  int64_t start = INT64_MIN, end = INT64_MAX, limit = 500;
  if ((arg(c, "startTime") && !arg_i64(c, "startTime", &start)) ||
      (arg(c, "endTime") && !arg_i64(c, "endTime", &end)))
    { binance_error(r, 400, -1100, "Illegal characters found in a parameter."); return; }
  if (arg(c, "limit") && (!arg_i64(c, "limit", &limit) || limit < 1 || limit > (futures ? 1500 : 1000)))
    { binance_error(r, 400, -1130, "Invalid data sent for a parameter."); return; }
  if (!symbol_known("binance", market, symbol))
    { binance_error(r, 400, -1121, "Invalid symbol."); return; }
  struct series *s = find_series("binance", market, symbol, iv);
  size_t i0 = 0, i1 = 0;
  if (s) /* startTime given: oldest first from it; else the newest up to endTime */
    select_rows(s, start, end, (size_t)limit, start != INT64_MIN, &i0, &i1);
  if (f && strcmp(f->kind, "empty") == 0)
    i1 = i0;
  r->used_weight = 2;
  if (f && strcmp(f->kind, "shape") == 0) {
    tml_buf_puts(&r->body, "{\"klines\":[]}");
    return;
  }
  tml_buf_puts(&r->body, "[");
  for (size_t i = i0; i < i1; i++) {
    struct row rw;
    row_at(s, i, &rw);
    double v = rw.vol, cl = rw.close;
    tml_buf_printf(&r->body,
                   "%s[%" PRId64 ",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",%" PRId64 ",\"%.8f\",%zu,\"%.8f\",\"%.8f\",\"0\"]",
                   i == i0 ? "" : ",", s->t[i], rw.o, rw.h, rw.l, rw.c, rw.v, s->t[i] + iv - 1, v * cl,
                   100 + i % 900, v / 2, v * cl / 2);
  }
  tml_buf_puts(&r->body, "]");
}

static void binance_info(struct reply *r, bool futures, bool tickers) {
  const char *market = futures ? "futures" : "spot";
  if (tickers)
    tml_buf_puts(&r->body, "[");
  else
    tml_buf_printf(&r->body,
                   "{\"timezone\":\"UTC\",\"serverTime\":%" PRId64 ",\"rateLimits\":[{\"rateLimitType\":"
                   "\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":%d}],"
                   "\"exchangeFilters\":[],\"symbols\":[",
                   now_ms, futures ? 2400 : 6000);
  size_t shown = 0;
  for (size_t i = 0; i < nseries; i++) {
    const struct series *s = &series[i];
    if (strcmp(s->exchange, "binance") != 0 || strcmp(s->market, market) != 0 ||
        find_series("binance", market, s->symbol, 0) != s)
      continue;
    char base[40], quote[16];
    split_symbol(s->symbol, base, sizeof(base), quote, sizeof(quote));
    tml_buf_puts(&r->body, shown++ ? "," : "");
    if (tickers) {
      double vol, turnover;
      const char *last;
      day_stats("binance", market, s->symbol, &vol, &turnover, &last);
      tml_buf_printf(&r->body,
                     "{\"symbol\":\"%s\",\"lastPrice\":\"%s\",\"volume\":\"%.8f\",\"quoteVolume\":\"%.8f\","
                     "\"count\":1000}",
                     s->symbol, last, vol, turnover);
    } else if (futures) {
      tml_buf_printf(&r->body,
                     "{\"symbol\":\"%s\",\"pair\":\"%s\",\"contractType\":\"PERPETUAL\",\"deliveryDate\":"
                     "4133404800000,\"onboardDate\":%" PRId64 ",\"status\":\"TRADING\",\"baseAsset\":\"%s\","
                     "\"quoteAsset\":\"%s\",\"marginAsset\":\"%s\"}",
                     s->symbol, s->symbol, s->listed_ms, base, quote, quote);
    } else {
      tml_buf_printf(&r->body,
                     "{\"symbol\":\"%s\",\"status\":\"TRADING\",\"baseAsset\":\"%s\",\"baseAssetPrecision\":8,"
                     "\"quoteAsset\":\"%s\",\"quotePrecision\":8,\"isSpotTradingAllowed\":true}",
                     s->symbol, base, quote);
    }
  }
  tml_buf_puts(&r->body, tickers ? "]" : "]}");
}

/* ---- dispatch -------------------------------------------------------------------------------- */

static bool is_kline_path(const char *url) {
  return strstr(url, "kline") != NULL || strstr(url, "candles") != NULL;
}

/* Rate-limit and server-error faults in each exchange's own format. Returns true when applied. */
static bool apply_error_fault(const char *url, const struct fault *f, struct reply *r) {
  bool bybit = strncmp(url, "/v5/", 4) == 0, bitget = strncmp(url, "/api/v2/", 8) == 0;
  if (strcmp(f->kind, "http429") == 0 || strcmp(f->kind, "http418") == 0) {
    r->status = f->kind[5] == '2' ? 429 : 418;
    r->retry_after_s = 1;
    if (bitget)
      tml_buf_printf(&r->body, "{\"code\":\"429\",\"msg\":\"Too Many Requests\",\"requestTime\":%" PRId64 ",\"data\":null}", now_ms);
    else if (bybit)
      tml_buf_puts(&r->body, "{\"retCode\":10006,\"retMsg\":\"Too many visits!\"}");
    else
      tml_buf_puts(&r->body, r->status == 429
                                 ? "{\"code\":-1003,\"msg\":\"Too much request weight used; current limit is 6000 request weight per 1 MINUTE.\"}"
                                 : "{\"code\":-1003,\"msg\":\"Way too much request weight used; IP banned until 1700000000000.\"}");
    return true;
  }
  if (strcmp(f->kind, "http403") == 0) {
    r->status = 403;
    r->content_type = "text/html";
    tml_buf_puts(&r->body, "<html><body><h1>403 Forbidden</h1>access too frequent</body></html>");
    return true;
  }
  if (strncmp(f->kind, "http5", 5) == 0) {
    int64_t st = 500;
    tml_parse_int64_str(f->kind + 4, &st);
    r->status = (unsigned)st;
    r->content_type = "text/html";
    tml_buf_puts(&r->body, "<html><body>server error</body></html>");
    return true;
  }
  if (strcmp(f->kind, "ratelimit10006") == 0 && bybit) {
    r->bapi_reset_ms = tml_now_ms() + 1000;
    tml_buf_printf(&r->body, "{\"retCode\":10006,\"retMsg\":\"Too many visits!\",\"result\":{},\"retExtInfo\":{},\"time\":%" PRId64 "}", now_ms);
    return true;
  }
  if (strcmp(f->kind, "reset") == 0) {
    r->drop = true;
    return true;
  }
  if (strcmp(f->kind, "garbage") == 0) { /* a 200 that is not the API: CDN error page, captive portal */
    r->content_type = "text/html";
    tml_buf_puts(&r->body, "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                           "<h1>Checking your browser</h1></body></html>");
    return true;
  }
  return false;
}

/* GET /mock/clock[?set=MS | ?advance=MS]: reads or moves the server clock. */
static void clock_route(struct MHD_Connection *c, struct reply *r) {
  int64_t v;
  const char *set = arg(c, "set"), *advance = arg(c, "advance");
  if ((set && advance) || (set && (tml_parse_int64_str(set, &v) != 0 || v < 0)) ||
      (advance && (tml_parse_int64_str(advance, &v) != 0 || v < 0))) {
    r->status = 400;
    tml_buf_puts(&r->body, "{\"error\":\"use /mock/clock, /mock/clock?set=MS or /mock/clock?advance=MS "
                           "(MS a whole number >= 0)\"}");
    return;
  }
  if (set)
    atomic_store(&clock_ms, v);
  else if (advance)
    atomic_fetch_add(&clock_ms, v);
  now_ms = atomic_load(&clock_ms);
  tml_buf_printf(&r->body, "{\"now\":%" PRId64 "}", now_ms);
}

static void route(struct MHD_Connection *c, const char *url, struct reply *r) {
  struct fault f;
  bool faulted = false;
  now_ms = atomic_load(&clock_ms); /* one clock reading per request */
  pthread_mutex_lock(&lock);
  stat_requests++;
  pthread_mutex_unlock(&lock);
  if (strcmp(url, "/mock/clock") == 0) {
    clock_route(c, r);
    return;
  }
  if (strcmp(url, "/mock/stats") == 0) {
    pthread_mutex_lock(&lock);
    tml_buf_printf(&r->body, "{\"requests\":%zu,\"kline_requests\":%zu,\"faults_fired\":%zu,\"now\":%" PRId64 "}",
                   stat_requests, stat_klines, stat_faults, now_ms);
    pthread_mutex_unlock(&lock);
    return;
  }
  if (strcmp(url, "/mock/reset") == 0) {
    pthread_mutex_lock(&lock);
    nfaults = 0;
    stat_requests = stat_klines = stat_faults = 0;
    pthread_mutex_unlock(&lock);
    tml_buf_puts(&r->body, "{\"ok\":true}");
    return;
  }
  if (strcmp(url, "/mock/fault") == 0) {
    const char *kind = arg(c, "kind");
    int64_t count = 1, after = 0, ms = 3000;
    arg_i64(c, "count", &count);
    arg_i64(c, "after", &after);
    arg_i64(c, "ms", &ms);
    if (!kind) {
      r->status = 400;
      tml_buf_puts(&r->body, "{\"error\":\"kind is required\"}");
      return;
    }
    add_fault(kind, (int)count, (int)after, (int)ms);
    tml_buf_puts(&r->body, "{\"ok\":true}");
    return;
  }
  if (is_kline_path(url) && take_fault(&f)) {
    faulted = true;
    if (strcmp(f.kind, "slow") == 0) {
      struct timespec ts = {f.ms / 1000, (long)(f.ms % 1000) * 1000000L};
      nanosleep(&ts, NULL);
    } else if (apply_error_fault(url, &f, r)) {
      return;
    }
  }
  const struct fault *fp = faulted ? &f : NULL;
  if (strcmp(url, "/v5/market/time") == 0) {
    tml_buf_printf(&r->body,
                   "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"timeSecond\":\"%" PRId64 "\",\"timeNano\":\"%" PRId64
                   "000000\"},\"retExtInfo\":{},\"time\":%" PRId64 "}",
                   now_ms / 1000, now_ms, now_ms);
  } else if (strcmp(url, "/v5/market/kline") == 0) {
    bybit_kline(c, r, fp);
  } else if (strcmp(url, "/v5/market/instruments-info") == 0) {
    bybit_instruments(c, r);
  } else if (strcmp(url, "/v5/market/tickers") == 0) {
    bybit_tickers(c, r);
  } else if (strcmp(url, "/api/v2/public/time") == 0) {
    tml_buf_printf(&r->body,
                   "{\"code\":\"00000\",\"msg\":\"success\",\"requestTime\":%" PRId64
                   ",\"data\":{\"serverTime\":\"%" PRId64 "\"}}",
                   now_ms, now_ms);
  } else if (strcmp(url, "/api/v2/mix/market/candles") == 0) {
    bitget_candles(c, r, false, false, fp);
  } else if (strcmp(url, "/api/v2/mix/market/history-candles") == 0) {
    bitget_candles(c, r, false, true, fp);
  } else if (strcmp(url, "/api/v2/spot/market/candles") == 0) {
    bitget_candles(c, r, true, false, fp);
  } else if (strcmp(url, "/api/v2/spot/market/history-candles") == 0) {
    bitget_candles(c, r, true, true, fp);
  } else if (strcmp(url, "/api/v2/mix/market/contracts") == 0) {
    bitget_symbols(c, r, false, false);
  } else if (strcmp(url, "/api/v2/spot/public/symbols") == 0) {
    bitget_symbols(c, r, true, false);
  } else if (strcmp(url, "/api/v2/mix/market/tickers") == 0) {
    bitget_symbols(c, r, false, true);
  } else if (strcmp(url, "/api/v2/spot/market/tickers") == 0) {
    bitget_symbols(c, r, true, true);
  } else if (strcmp(url, "/api/v3/time") == 0 || strcmp(url, "/fapi/v1/time") == 0) {
    tml_buf_printf(&r->body, "{\"serverTime\":%" PRId64 "}", now_ms);
  } else if (strcmp(url, "/api/v3/klines") == 0 || strcmp(url, "/fapi/v1/klines") == 0) {
    binance_klines(c, r, url[1] == 'f', fp);
  } else if (strcmp(url, "/api/v3/exchangeInfo") == 0 || strcmp(url, "/fapi/v1/exchangeInfo") == 0) {
    binance_info(r, url[1] == 'f', false);
  } else if (strcmp(url, "/api/v3/ticker/24hr") == 0 || strcmp(url, "/fapi/v1/ticker/24hr") == 0) {
    binance_info(r, url[1] == 'f', true);
  } else {
    r->status = 404;
    tml_buf_puts(&r->body, "{\"error\":\"not found\"}");
    return;
  }
  if (faulted && strcmp(f.kind, "truncated") == 0 && r->body.len > 2) {
    r->body.len /= 2;
    r->body.ptr[r->body.len] = '\0';
  }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state) {
  (void)cls;
  (void)version;
  (void)upload;
  (void)upload_size;
  if (!*state) { /* first call: headers only */
    *state = c;
    return MHD_YES;
  }
  struct reply r = {200, {0}, "application/json", -1, -1, -1, false};
  tml_buf_init(&r.body, 0);
  if (strcmp(method, "GET") != 0) {
    r.status = 405;
    tml_buf_puts(&r.body, "{\"error\":\"GET only\"}");
  } else {
    route(c, url, &r);
  }
  if (r.drop) {
    tml_buf_release(&r.body);
    return MHD_NO; /* closes the connection: the client sees an empty reply */
  }
  size_t len = 0;
  char *body = tml_buf_detach(&r.body, &len);
  if (!body) {
    body = malloc(1);
    if (!body)
      return MHD_NO;
    body[0] = '\0';
  }
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(resp, "Content-Type", r.content_type);
  char v[64];
  if (r.retry_after_s >= 0) {
    snprintf(v, sizeof(v), "%" PRId64, r.retry_after_s);
    MHD_add_response_header(resp, "Retry-After", v);
  }
  if (strncmp(url, "/v5/", 4) == 0) {
    snprintf(v, sizeof(v), "%" PRId64, r.bapi_reset_ms >= 0 ? r.bapi_reset_ms : tml_now_ms());
    MHD_add_response_header(resp, "X-Bapi-Limit-Reset-Timestamp", v);
    MHD_add_response_header(resp, "X-Bapi-Limit", "600");
    MHD_add_response_header(resp, "X-Bapi-Limit-Status", r.bapi_reset_ms >= 0 ? "0" : "599");
  }
  if (r.used_weight >= 0) {
    snprintf(v, sizeof(v), "%ld", r.used_weight);
    MHD_add_response_header(resp, "X-MBX-USED-WEIGHT-1M", v);
  }
  enum MHD_Result ret = MHD_queue_response(c, r.status, resp);
  MHD_destroy_response(resp);
  return ret;
}

int main(int argc, char **argv) {
  const char *port_file = NULL;
  int64_t max_seconds = 600, port = 0;
  bool now_given = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--series") == 0 && v) {
      if (load_series(v) != 0)
        return 2;
      i++;
    } else if (strcmp(a, "--port-file") == 0 && v) {
      port_file = v;
      i++;
    } else if (strcmp(a, "--port") == 0 && v && tml_parse_int64_str(v, &port) == 0) {
      i++;
    } else if (strcmp(a, "--now") == 0 && v && tml_parse_int64_str(v, &now_ms) == 0 && now_ms >= 0) {
      now_given = true;
      i++;
    } else if (strcmp(a, "--max-seconds") == 0 && v && tml_parse_int64_str(v, &max_seconds) == 0) {
      i++;
    } else if (strcmp(a, "--instruments-page") == 0 && v) {
      int64_t n;
      if (tml_parse_int64_str(v, &n) != 0 || n < 1)
        return 2;
      instruments_page = (size_t)n;
      i++;
    } else if (strcmp(a, "--fault") == 0 && v) {
      char kind[24] = "";
      int count = 1, after = 0, ms = 3000;
      char buf[128];
      snprintf(buf, sizeof(buf), "%s", v);
      char *p = buf, *fields[4] = {0};
      for (int k = 0; k < 4 && p; k++) {
        fields[k] = p;
        p = strchr(p, ':');
        if (p)
          *p++ = '\0';
      }
      int64_t x;
      snprintf(kind, sizeof(kind), "%s", fields[0]);
      if (fields[1] && tml_parse_int64_str(fields[1], &x) == 0)
        count = (int)x;
      if (fields[2] && tml_parse_int64_str(fields[2], &x) == 0)
        after = (int)x;
      if (fields[3] && tml_parse_int64_str(fields[3], &x) == 0)
        ms = (int)x;
      add_fault(kind, count, after, ms);
      i++;
    } else {
      fprintf(stderr, "usage: mock_exchange --port-file FILE [--now MS] [--series EX:MARKET:SYMBOL:INTERVAL:CSV[:LISTED_MS]]... "
                      "[--fault KIND[:COUNT[:AFTER[:MS]]]]... [--instruments-page N] [--max-seconds S]\n");
      return 2;
    }
  }
  if (!now_given) {
    for (size_t i = 0; i < nseries; i++)
      if (series[i].len) {
        int64_t t = series[i].t[series[i].len - 1] + series[i].interval_ms + 1000;
        now_ms = t > now_ms ? t : now_ms;
      }
    if (!now_ms)
      now_ms = tml_now_ms();
  }
  atomic_store(&clock_ms, now_ms);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
      (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "mock_exchange: cannot listen on 127.0.0.1\n");
    return 1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  unsigned bound = info ? info->port : 0;
  if (port_file) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", bound) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0) {
      fprintf(stderr, "mock_exchange: cannot write %s\n", port_file);
      MHD_stop_daemon(d);
      return 1;
    }
  }
  printf("mock_exchange listening on 127.0.0.1:%u (now %" PRId64 ", %zu series)\n", bound, now_ms, nseries);
  fflush(stdout);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  double t0 = tml_monotonic_s();
  pid_t parent = getppid(); /* a test that dies must not leave us running */
  while (!stop && tml_monotonic_s() - t0 < (double)max_seconds && getppid() == parent) {
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
  }
  MHD_stop_daemon(d);
  for (size_t i = 0; i < nseries; i++) {
    free(series[i].text);
    free(series[i].t);
    for (int k = 0; k < 5; k++)
      free(series[i].f[k]);
  }
  return 0;
}
