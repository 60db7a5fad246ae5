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
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "srv.h"
#include "trademl/log.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"
#include "util/common.h"

struct srv_conn {
  struct tml_buf body;
  bool too_big;                   /* declared or received body over the limit */
  double t0;
  const struct srv_route *route;  /* NULL until the head matched a route */
  size_t route_index;             /* srv_nroutes = unmatched (metrics) */
  struct srv_request req;         /* path parameters found when matching */
  int early_status;               /* non-zero: the head was refused, early holds the answer */
  struct srv_response early;
  bool answered;                  /* a response is queued: later calls only drain the body */
};

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
  /* A stream is idle between events by design: the idle timeout (server.idle_timeout) that protects
   * against half-open clients does not apply to it; its keep-alive comments find dead clients. */
  MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
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

/* ---- checks made on the request head, before any body is read ---- */

/* Case-insensitive comparison of n bytes. */
static bool eq_nocase(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
      return false;
  return true;
}

/* Splits "name", "name:port", "[v6]" or "[v6]:port" into the host (brackets removed, one trailing
 * dot dropped) and the port (0 when absent). False when it is none of these. */
static bool split_hostport(const char *hp, char *host, size_t hostsz, unsigned *port) {
  const char *h = hp, *colon;
  size_t hlen;
  *port = 0;
  if (hp[0] == '[') {
    const char *close = strchr(hp, ']');
    if (!close)
      return false;
    h = hp + 1;
    hlen = (size_t)(close - h);
    colon = close[1] == ':' ? close + 1 : NULL;
    if (close[1] && !colon)
      return false;
  } else {
    colon = strchr(hp, ':');
    if (colon && strchr(colon + 1, ':'))
      return false; /* a bare IPv6 address is not a Host */
    hlen = colon ? (size_t)(colon - hp) : strlen(hp);
  }
  if (hlen && h[hlen - 1] == '.')
    hlen--;
  if (hlen == 0 || hlen >= hostsz)
    return false;
  for (size_t i = 0; i < hlen; i++) {
    unsigned char c = (unsigned char)h[i];
    if (!(isalnum(c) || c == '-' || c == '.' || c == '_' || (hp[0] == '[' && (c == ':' || c == '%'))))
      return false;
  }
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  if (colon) {
    int64_t p = 0;
    if (tml_parse_int64_str(colon + 1, &p) != 0 || p < 1 || p > 65535)
      return false;
    *port = (unsigned)p;
  }
  return true;
}

static bool is_ip_literal(const char *host) {
  unsigned char a[16];
  return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* localhost and its subdomains, which browsers always resolve to loopback (RFC 6761). */
static bool is_localhost_name(const char *host) {
  size_t n = strlen(host);
  return strcasecmp(host, "localhost") == 0 || (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0);
}

/* True when host[:port] matches an entry of server.allowed_hosts ("name" any port, "name:port"). */
static bool in_allowed_hosts(const struct tml_server *s, const char *host, unsigned port) {
  for (size_t i = 0; i < s->nallowed_hosts; i++) {
    char h[256];
    unsigned p;
    if (split_hostport(s->allowed_hosts[i], h, sizeof(h), &p) && strcasecmp(h, host) == 0 && (!p || p == port))
      return true;
  }
  return false;
}

/* DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 reaches this daemon with
 * "Host: evil.example". Rebinding needs a name the attacker controls, so IP addresses, localhost, the
 * listen host and the configured names are accepted and every other name is refused. */
static bool host_allowed(const struct tml_server *s, const char *hosthdr) {
  char host[256];
  unsigned port;
  if (!split_hostport(hosthdr, host, sizeof(host), &port))
    return false;
  return is_ip_literal(host) || is_localhost_name(host) || strcasecmp(host, s->host) == 0 ||
         in_allowed_hosts(s, host, port);
}

/* Cross-site requests: a browser names the page that sent a request in Origin. Accepted: no Origin
 * (not a browser), the page's own origin (same host and port as Host), a loopback origin on the
 * daemon's port, and the names of server.allowed_hosts. "null" (sandboxed frames, file://) is not. */
static bool origin_allowed(const struct tml_server *s, const char *origin, const char *hosthdr) {
  if (!origin)
    return true;
  size_t skip;
  unsigned defport;
  if (strncasecmp(origin, "http://", 7) == 0) {
    skip = 7;
    defport = 80;
  } else if (strncasecmp(origin, "https://", 8) == 0) {
    skip = 8;
    defport = 443;
  } else {
    return false;
  }
  char host[256];
  unsigned port;
  if (strchr(origin + skip, '/') || !split_hostport(origin + skip, host, sizeof(host), &port))
    return false;
  if (!port)
    port = defport;
  char hhost[256];
  unsigned hport;
  if (hosthdr && split_hostport(hosthdr, hhost, sizeof(hhost), &hport) && strcasecmp(host, hhost) == 0 &&
      port == (hport ? hport : defport))
    return true;
  if ((is_localhost_name(host) || tml_server_host_is_loopback(host)) && port == s->port)
    return true;
  return in_allowed_hosts(s, host, port);
}

/* "application/json", any case, optionally followed by parameters (";charset=utf-8"). */
static bool is_json_type(const char *ct) {
  if (!ct)
    return false;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  if (!eq_nocase(ct, "application/json", 16))
    return false;
  char c = ct[16];
  return c == '\0' || c == ';' || c == ' ' || c == '\t';
}

/* "Bearer <token>", the scheme in any case (RFC 7235), with the token compared in constant time. */
static bool bearer_ok(const struct tml_server *s, const char *auth) {
  if (!auth)
    return false;
  while (*auth == ' ')
    auth++;
  if (!eq_nocase(auth, "bearer", 6) || (auth[6] != ' ' && auth[6] != '\t'))
    return false;
  const char *t = auth + 6;
  while (*t == ' ' || *t == '\t')
    t++;
  char tok[sizeof(s->token) + 1];
  size_t n = strlen(t);
  while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
    n--;
  if (n >= sizeof(tok))
    return false;
  memcpy(tok, t, n);
  tok[n] = '\0';
  return tml_server_token_equal(s->token, tok);
}

/* Everything that can be decided from the request line and headers: Host, route and method, a
 * declared body over the limit, the token, and for routes that change state the Origin and the
 * Content-Type (a form that another web page posts cannot carry application/json). 0 when the
 * request may go on; else the status, with res holding the error. */
static int check_head(struct tml_server *s, struct MHD_Connection *conn, const char *method, const char *url,
                      struct srv_conn *sc, struct srv_response *res) {
  struct srv_request *req = &sc->req;
  memset(req, 0, sizeof(*req));
  req->method = method;
  req->path = url;
  req->conn = conn;
  sc->route_index = srv_nroutes;
  const char *hosthdr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
  if (hosthdr && !host_allowed(s, hosthdr)) {
    char name[256];
    unsigned port;
    if (!split_hostport(hosthdr, name, sizeof(name), &port))
      snprintf(name, sizeof(name), "%.200s", hosthdr);
    return srv_error_http(res, 421, "EHOST",
                          "Host '%.200s' is not a name this daemon answers to (protection against DNS rebinding): "
                          "add '%s' to server.allowed_hosts in the configuration, or use http://127.0.0.1:%u/",
                          hosthdr, name, s->port);
  }
  const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
  char allow[128] = "";
  for (size_t i = 0; i < srv_nroutes; i++) {
    struct srv_request probe = *req;
    if (!route_match(srv_routes[i].pattern, url, &probe))
      continue;
    if (strcmp(srv_routes[i].method, m) == 0) {
      sc->route = &srv_routes[i];
      sc->route_index = i;
      *req = probe;
      break;
    }
    size_t al = strlen(allow);
    snprintf(allow + al, sizeof(allow) - al, "%s%s", al ? ", " : "", srv_routes[i].method);
  }
  const struct srv_route *route = sc->route;
  if (!route) {
    if (allow[0]) {
      snprintf(res->allow, sizeof(res->allow), "%s", allow);
      return srv_error_http(res, 405, "EMETHOD", "method %s is not allowed on %s; allowed: %s", method, url, allow);
    }
    return srv_error_http(res, 404, "ENOENT", "no route for %s %.200s; see docs/api.md for the API", method, url);
  }
  if (sc->too_big)
    return srv_error_http(res, 413, "ETOOBIG", "request body is larger than the %zu-byte limit", s->max_body);
  bool mutates = (route->flags & SRV_MUTATES) != 0;
  if (s->token[0] && (mutates || (s->auth_reads && !(route->flags & SRV_PUBLIC))) &&
      !bearer_ok(s, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization")))
    return srv_error_http(res, 401, "EAUTH", "%s %s needs 'Authorization: Bearer <token>' (server.api_token%s)",
                          method, url, mutates ? "" : "; server.auth_reads is on");
  if (!mutates)
    return 0;
  const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
  if (!origin_allowed(s, origin, hosthdr))
    return srv_error_http(res, 403, "EORIGIN",
                          "cross-site request refused: %s %s comes from a page of Origin '%.200s', not from this "
                          "daemon; to let pages of that site change state here, add its host name to "
                          "server.allowed_hosts",
                          method, url, origin);
  const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
  if (!is_json_type(ct))
    return srv_error_http(res, 415, "EMEDIA",
                          "%s %s needs the header 'Content-Type: application/json', also without a body (got %s%.60s%s): "
                          "this keeps other web pages from posting forms here; with curl add "
                          "-H 'Content-Type: application/json'",
                          method, url, ct ? "'" : "none", ct ? ct : "", ct ? "'" : "");
  if (atomic_load(&s->stopping))
    return srv_error_http(res, 503, "EBUSY", "the server is shutting down and accepts no new work");
  return 0;
}

/* Runs the handler once the body is in: the body limit, JSON that parses into an object no deeper
 * than SRV_MAX_DEPTH. Returns the status; res holds the body. */
static int dispatch(struct tml_server *s, struct srv_conn *sc, struct srv_response *res) {
  const struct srv_route *route = sc->route;
  if (sc->too_big)
    return srv_error_http(res, 413, "ETOOBIG", "request body is larger than the %zu-byte limit", s->max_body);
  json_t *body = NULL;
  if (route->flags & SRV_JSON_BODY) {
    int status = srv_body_parse(sc->body.ptr, sc->body.len, &body, res);
    if (status)
      return status;
  }
  struct srv_request req = sc->req;
  req.body = body;
  int status = route->fn(s, &req, res);
  json_decref(body);
  return status;
}

static enum MHD_Result answer(struct tml_server *s, struct MHD_Connection *conn, struct srv_conn *sc, int status,
                              struct srv_response *res) {
  sc->answered = true;
  bool stream = res->sse && status == 200 && sc->req.method && strcmp(sc->req.method, "GET") == 0;
  enum MHD_Result ok = stream ? send_stream(s, conn) : send_response(conn, status, res);
  stats_record(s, sc->route_index, status, tml_monotonic_s() - sc->t0);
  return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  (void)version;
  struct tml_server *s = cls;
  struct srv_conn *sc = *con_cls;
  if (!sc) {
    /* First call: the head is in, no body has been read yet. */
    sc = calloc(1, sizeof(*sc));
    if (!sc)
      return MHD_NO;
    tml_buf_init(&sc->body, s->max_body);
    tml_buf_init(&sc->early.body, 0);
    sc->t0 = tml_monotonic_s();
    *con_cls = sc;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    int64_t n = 0;
    if (cl && (tml_parse_int64_str(cl, &n) != 0 || n < 0 || (uint64_t)n > s->max_body))
      sc->too_big = true;
    sc->early_status = check_head(s, conn, method, url, sc, &sc->early);
    if (sc->early_status && sc->too_big)
      /* Answer now rather than wait for a body over the limit that may never come; libmicrohttpd
       * closes the connection after this response since the body was not read. */
      return answer(s, conn, sc, sc->early_status, &sc->early);
    return MHD_YES;
  }
  if (sc->answered) {
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (*upload_data_size) {
    /* A refused request's body is read and dropped, so the answer reaches a client still sending;
     * so is the rest of a body without a declared length that outgrows the limit (libmicrohttpd 0.9
     * cannot answer in the middle of an upload: it would close the connection without a response). */
    if (!sc->early_status && !sc->too_big && tml_buf_append(&sc->body, upload_data, *upload_data_size) != 0)
      sc->too_big = true;
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (sc->early_status)
    return answer(s, conn, sc, sc->early_status, &sc->early);
  struct srv_response res;
  memset(&res, 0, sizeof(res));
  tml_buf_init(&res.body, 0);
  int status = dispatch(s, sc, &res);
  enum MHD_Result ok = answer(s, conn, sc, status, &res);
  tml_buf_release(&res.body);
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
  tml_buf_release(&sc->early.body);
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

/* Slow clients: each open connection holds a descriptor. Raises the soft descriptor limit towards
 * the hard one so server.max_connections fits, or lowers the connection limit (with a warning) when the
 * hard limit is too low, keeping room for the database, logs and worker pipes. */
#define SRV_SPARE_FDS 256u
static unsigned fit_connection_limit(unsigned want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return want;
  rlim_t need = (rlim_t)want + SRV_SPARE_FDS;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    rlim_t cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    struct rlimit nl = {cur, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
      rl.rlim_cur = cur;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    unsigned fit = rl.rlim_cur > 2 * SRV_SPARE_FDS ? (unsigned)(rl.rlim_cur - SRV_SPARE_FDS) : (unsigned)rl.rlim_cur / 2;
    tml_warn("serve: server.max_connections %u does not fit the open-file limit %llu: accepting %u connections "
             "(raise it with 'ulimit -n' or LimitNOFILE=)",
             want, (unsigned long long)rl.rlim_cur, fit);
    return fit;
  }
  return want;
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
  /* epoll (MHD_USE_AUTO on Linux) keeps thousands of idle sockets cheap, unlike select's 1024;
   * suspend/resume: a prediction stream with nothing to send parks its connection instead of a thread. */
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
  if (ai->ai_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  unsigned threads = s->opts.http_threads ? s->opts.http_threads : 4;
  unsigned max_conns = fit_connection_limit(s->max_connections);
  s->daemon = MHD_start_daemon(flags, (uint16_t)s->port, NULL, NULL, on_request, s,
                               MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                               MHD_OPTION_THREAD_POOL_SIZE, threads,
                               MHD_OPTION_CONNECTION_LIMIT, max_conns,
                               MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->max_client_connections,
                               MHD_OPTION_CONNECTION_TIMEOUT, s->idle_timeout_s,
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
