/* The HTTP daemon behind `trademl serve`: a libmicrohttpd server with one route table, JSON API,
 * Prometheus metrics, health and the embedded dashboard, plus the periodic housekeeping tick that the
 * serving process drives (Redis serverCron). Heavy work never runs here: jobs run in worker processes. */
#ifndef TML_SERVER_H
#define TML_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_config;
struct tml_error;
struct tml_paths;
struct tml_server; /* opaque */

#define TML_SERVER_MAX_BODY_DEFAULT (64u * 1024u)

struct tml_server_opts {
  const char *listen;             /* "HOST:PORT"; HOST may be an IPv4/IPv6 literal or a name */
  const char *api_token;          /* NULL or "" = no authentication (loopback only) */
  unsigned http_threads;          /* libmicrohttpd thread pool size; 0 = 4 */
  size_t max_body;                /* request body limit in bytes; 0 = TML_SERVER_MAX_BODY_DEFAULT */
  int workers;                    /* jobs run at once by this daemon's runner; 0 = API only */
  const struct tml_config *cfg;   /* borrowed for the server's lifetime */
  const struct tml_paths *paths;  /* borrowed for the server's lifetime */
  const char *self_exe;           /* trademl binary the workers run; NULL = /proc/self/exe */
  const char *config_path;        /* --config passed to workers; NULL = none */
  bool live;                      /* run the live loop in this process (serve --live, live.enabled) */
};

/* Validates the options (the address parses; a non-loopback address needs a token) and opens the
 * database. Does not listen yet. On success the caller owns *out (tml_server_destroy). TML_EINVAL for a
 * bad address, TML_EPERM for a public address without a token, TML_EDB/TML_EIO for the database. */
int tml_server_create(const struct tml_server_opts *o, struct tml_server **out, struct tml_error *err);
/* Starts listening (libmicrohttpd's own threads serve requests). TML_EIO naming the address when the
 * socket cannot be bound (port in use, no permission). */
int tml_server_start(struct tml_server *s, struct tml_error *err);
/* The host part of the listen address, borrowed. */
const char *tml_server_host(const struct tml_server *s);
/* The bound port (useful with port 0); 0 before start. */
unsigned tml_server_port(const struct tml_server *s);
/* One housekeeping pass: runs every periodic task whose period has elapsed (scheduler, job runner,
 * timeouts, retention). Called by the serving loop every ~100 ms; never blocks on training. */
void tml_server_tick(struct tml_server *s, int64_t now_ms);
/* Graceful stop, step one: stop accepting connections and new work (mutating routes answer 503). */
void tml_server_quiesce(struct tml_server *s);
/* Graceful stop, step two: lets running jobs reach a checkpoint or requeues them, waiting at most
 * grace_ms. Returns the number of jobs requeued. */
int tml_server_drain(struct tml_server *s, int64_t grace_ms);
/* Stops the HTTP threads and frees everything; NULL is allowed. */
void tml_server_destroy(struct tml_server *s);

/* Constant-time comparison of a presented token with the expected one (length leaks, content does not). */
bool tml_server_token_equal(const char *expected, const char *presented);
/* True when the address (IPv4/IPv6 literal, or "localhost") is a loopback address. */
bool tml_server_host_is_loopback(const char *host);

#endif
