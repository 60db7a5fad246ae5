/* libmicrohttpd glue and the dispatcher. Everything a handler can rely on is checked here, before it
 * runs: the path matches a route, the method is allowed, the body fits the limit, mutating routes carry
 * the token, and a JSON body parses into an object no deeper than SRV_MAX_DEPTH. Per-request state
 * lives in struct srv_conn and is freed in the completion callback, whatever happened to the request. */
#include "server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "srv.h"
#include "trademl/log.h"
#include "trademl/parse.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

struct srv_conn {
  struct tml_buf body;
  bool too_big;
  bool started;
  double t0;
};

/* ---- helpers for handlers ---- */

int srv_error_http(struct srv_response *res, int status, const char *code, const char *fmt, ...) {
  char msg[TML_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  tml_buf_reset(&res->body);
  tml_buf_puts(&res->body, "{\"error\":{\"code\":");
  tml_buf_json_str(&res->body, code);
  tml_buf_puts(&res->body, ",\"message\":");
  tml_buf_json_str(&res->body, msg);
  tml_buf_puts(&res->body, "}}");
  res->content_type = "application/json";
  return status;
}

int srv_error(struct srv_response *res, int code, const char *fmt, ...) {
  char msg[TML_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  int status = tml_error_http_status(code);
  if (status < 400)
    status = 500; /* an error path must never answer 2xx */
  return srv_error_http(res, status, tml_errname(code), "%s", msg);
}

int srv_json(struct srv_response *res, int status, json_t *j) {
  if (!j)
    return srv_error(res, TML_ENOMEM, "out of memory building the response");
  char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
  json_decref(j);
  if (!text)
    return srv_error(res, TML_ENOMEM, "out of memory serialising the response");
  tml_buf_reset(&res->body);
  tml_buf_puts(&res->body, text);
  free(text);
  res->content_type = "application/json";
  return status;
}

const char *srv_query(const struct srv_request *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int srv_symbol(const char *raw, char *out, size_t outsz, struct tml_error *err) {
  if (!raw || !*raw)
    return tml_error_set(err, TML_EINVAL, "missing symbol: give one like BTCUSDT or BTC/USDT");
  size_t n = strlen(raw);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)raw[i];
    if (!(isalnum(c) || c == '/' || c == ':' || c == '_' || c == '-') || c > 127 || i >= 64)
      return tml_error_set(err, TML_EINVAL,
                           "invalid symbol '%.64s': use letters and digits like BTCUSDT or BTC/USDT", raw);
  }
  if (tml_symbol_normalize(raw, out, outsz) != 0)
    return tml_error_set(err, TML_EINVAL, "invalid symbol '%s': use letters and digits like BTCUSDT or BTC/USDT",
                         raw);
  return 0;
}

bool srv_json_depth_ok(const char *s, size_t len) {
  int depth = 0;
  bool in_str = false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (in_str) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_str = false;
    } else if (c == '"') {
      in_str = true;
    } else if (c == '{' || c == '[') {
      if (++depth > SRV_MAX_DEPTH)
        return false;
    } else if (c == '}' || c == ']') {
      depth--;
    }
  }
  return true;
}

int srv_body_parse(const char *ptr, size_t len, json_t **out, struct srv_response *res) {
  *out = NULL;
  if (len == 0) {
    *out = json_object();
    return *out ? 0 : srv_error(res, TML_ENOMEM, "out of memory reading the request body");
  }
  if (!srv_json_depth_ok(ptr, len))
    return srv_error(res, TML_EPARSE, "malformed JSON: nested deeper than %d levels", SRV_MAX_DEPTH);
  json_error_t je;
  json_t *body = json_loadb(ptr, len, JSON_REJECT_DUPLICATES, &je);
  if (!body)
    return srv_error(res, TML_EPARSE, "malformed JSON at line %d column %d: %s", je.line, je.column, je.text);
  if (!json_is_object(body)) {
    json_decref(body);
    return srv_error(res, TML_EINVAL, "request body must be a JSON object like {\"symbol\":\"BTCUSDT\"}");
  }
  *out = body;
  return 0;
}

bool tml_server_token_equal(const char *expected, const char *presented) {
  size_t le = strlen(expected), lp = strlen(presented);
  /* Compare every byte of the expected token whatever the presented one holds, so timing does not
   * reveal how many leading bytes matched. */
  unsigned diff = (unsigned)(le ^ lp) | (le == 0);
  for (size_t i = 0; i < le; i++) {
    unsigned char p = i < lp ? (unsigned char)presented[i] : 0;
    diff |= (unsigned)((unsigned char)expected[i] ^ p);
  }
  return diff == 0;
}

bool tml_server_host_is_loopback(const char *host) {
  if (strcmp(host, "localhost") == 0)
    return true;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1) {
    static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return memcmp(&a6, lo, 16) == 0;
  }
  return false;
}

/* ---- routing ---- */

/* Matches path against pattern; fills params from "{x}" segments. */
static bool route_match(const char *pattern, const char *path, struct srv_request *req) {
  size_t np = 0;
  const char *p = pattern, *u = path;
  while (*p && *u) {
    if (*p == '{') {
      const char *pe = strchr(p, '}');
      const char *ue = strchr(u, '/');
      size_t ulen = ue ? (size_t)(ue - u) : strlen(u);
      if (!pe || ulen == 0 || ulen >= sizeof(req->params[0]) || np >= SRV_MAX_PARAMS)
        return false;
      memcpy(req->params[np], u, ulen);
      req->params[np][ulen] = '\0';
      np++;
      p = pe + 1;
      u += ulen;
      continue;
    }
    if (*p != *u)
      return false;
    p++;
    u++;
  }
  return *p == '\0' && *u == '\0';
}

static void stats_record(struct tml_server *s, size_t route, int status, double seconds) {
  pthread_mutex_lock(&s->stats_lock);
  struct srv_route_stats *st = &s->stats[route];
  for (size_t i = 0; i < SRV_MAX_CODES; i++) {
    if (st->code[i] == status || st->code[i] == 0) {
      st->code[i] = status;
      st->count[i]++;
      break;
    }
  }
  st->seconds_sum += seconds;
  st->seconds_count++;
  pthread_mutex_unlock(&s->stats_lock);
}

static enum MHD_Result send_stream(struct tml_server *s, struct MHD_Connection *conn) {
  struct MHD_Response *r = srv_sse_response(s, conn);
  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
  MHD_add_response_header(r, "Cache-Control", "no-store");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "X-Accel-Buffering", "no");
  enum MHD_Result ok = MHD_queue_response(conn, 200, r);
  MHD_destroy_response(r);
  return ok;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, int status, struct srv_response *res) {
  size_t len = 0;
  char *data = tml_buf_detach(&res->body, &len);
  struct MHD_Response *r =
      MHD_create_response_from_buffer(data ? len : 0, data, data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!r) {
    free(data);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", res->content_type ? res->content_type : "application/json");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "Cache-Control", res->cache ? "max-age=60" : "no-store");
  if (res->content_type && strncmp(res->content_type, "text/html", 9) == 0) {
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                            "connect-src 'self'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
  }
  if (res->allow[0])
    MHD_add_response_header(r, "Allow", res->allow);
  if (status == 401)
    MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
  enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, r);
  MHD_destroy_response(r);
  return ok;
}

/* Runs all checks, then the handler. Returns the status; res holds the body. */
static int dispatch(struct tml_server *s, struct MHD_Connection *conn, const char *method, const char *url,
                    struct srv_conn *sc, size_t *route_out, struct srv_response *res) {
  struct srv_request req;
  memset(&req, 0, sizeof(req));
  req.method = method;
  req.path = url;
  req.conn = conn;
  *route_out = srv_nroutes;
  const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
  const struct srv_route *route = NULL;
  char allow[128] = "";
  for (size_t i = 0; i < srv_nroutes; i++) {
    struct srv_request probe = req;
    if (!route_match(srv_routes[i].pattern, url, &probe))
      continue;
    if (strcmp(srv_routes[i].method, m) == 0) {
      route = &srv_routes[i];
      req = probe;
      *route_out = i;
      break;
    }
    size_t al = strlen(allow);
    snprintf(allow + al, sizeof(allow) - al, "%s%s", al ? ", " : "", srv_routes[i].method);
  }
  if (!route) {
    if (allow[0]) {
      snprintf(res->allow, sizeof(res->allow), "%s", allow);
      return srv_error_http(res, 405, "EMETHOD", "method %s is not allowed on %s; allowed: %s", method, url, allow);
    }
    return srv_error_http(res, 404, "ENOENT", "no route for %s %.200s; see docs/api.md for the API", method, url);
  }
  if (sc->too_big)
    return srv_error_http(res, 413, "ETOOBIG", "request body is larger than the %zu-byte limit", s->max_body);
  if (route->flags & SRV_MUTATES) {
    if (s->token[0]) {
      const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
      if (!auth || strncmp(auth, "Bearer ", 7) != 0 || !tml_server_token_equal(s->token, auth + 7))
        return srv_error_http(res, 401, "EAUTH", "%s %s needs 'Authorization: Bearer <token>' (server.api_token)",
                              method, url);
    }
    if (atomic_load(&s->stopping))
      return srv_error_http(res, 503, "EBUSY", "the server is shutting down and accepts no new work");
  }
  json_t *body = NULL;
  if (route->flags & SRV_JSON_BODY) {
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (sc->body.len && ct && strncmp(ct, "application/json", 16) != 0)
      return srv_error_http(res, 415, "EMEDIA", "request body must be JSON (Content-Type: application/json), got '%.60s'",
                            ct);
    int status = srv_body_parse(sc->body.ptr, sc->body.len, &body, res);
    if (status)
      return status;
  }
  req.body = body;
  int status = route->fn(s, &req, res);
  json_decref(body);
  return status;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  (void)version;
  struct tml_server *s = cls;
  struct srv_conn *sc = *con_cls;
  if (!sc) {
    sc = calloc(1, sizeof(*sc));
    if (!sc)
      return MHD_NO;
    tml_buf_init(&sc->body, s->max_body);
    sc->t0 = tml_monotonic_s();
    *con_cls = sc;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    int64_t n = 0;
    if (cl && (tml_parse_int64_str(cl, &n) != 0 || n < 0 || (uint64_t)n > s->max_body))
      sc->too_big = true; /* answered once the (discarded) body has been read */
    return MHD_YES;
  }
  if (*upload_data_size) {
    if (!sc->too_big && tml_buf_append(&sc->body, upload_data, *upload_data_size) != 0)
      sc->too_big = true;
    *upload_data_size = 0;
    return MHD_YES;
  }
  struct srv_response res;
  memset(&res, 0, sizeof(res));
  tml_buf_init(&res.body, 0);
  size_t route = srv_nroutes;
  int status = dispatch(s, conn, method, url, sc, &route, &res);
  enum MHD_Result ok = res.sse && status == 200 && strcmp(method, "GET") == 0 ? send_stream(s, conn)
                                                                               : send_response(conn, status, &res);
  tml_buf_release(&res.body);
  stats_record(s, route, status, tml_monotonic_s() - sc->t0);
  return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)conn;
  (void)toe;
  struct srv_conn *sc = *con_cls;
  if (!sc)
    return;
  tml_buf_release(&sc->body);
  free(sc);
  *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  tml_debug("http: %s", msg);
}

int tml_server_start(struct tml_server *s, struct tml_error *err) {
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  char port[16];
  snprintf(port, sizeof(port), "%u", s->port);
  int gai = getaddrinfo(s->host, port, &hints, &ai);
  if (gai != 0 || !ai)
    return tml_error_set(err, TML_EINVAL, "cannot resolve listen address '%s': %s", s->host, gai_strerror(gai));
  /* Suspend/resume: a prediction stream with nothing to send parks its connection instead of a thread. */
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
  if (ai->ai_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  unsigned threads = s->opts.http_threads ? s->opts.http_threads : 4;
  s->daemon = MHD_start_daemon(flags, (uint16_t)s->port, NULL, NULL, on_request, s,
                               MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                               MHD_OPTION_THREAD_POOL_SIZE, threads,
                               MHD_OPTION_CONNECTION_LIMIT, 512u,
                               MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                               MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                               MHD_OPTION_END);
  freeaddrinfo(ai);
  if (!s->daemon)
    return tml_error_set(err, TML_EIO,
                         "cannot listen on %s:%u: the port may be in use or need privileges; choose another with "
                         "--listen HOST:PORT",
                         s->host, s->port);
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  if (info && info->port)
    s->port = info->port;
  return srv_live_start(s, err); /* the live loop, when enabled, once requests can be served */
}

void tml_server_quiesce(struct tml_server *s) {
  if (!s)
    return;
  atomic_store(&s->stopping, true);
  srv_live_stop(s); /* the live loop submits jobs and stores predictions: no new work */
}

void tml__server_http_stop(struct tml_server *s);
void tml__server_http_stop(struct tml_server *s) {
  if (s && s->daemon) {
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
  }
}
