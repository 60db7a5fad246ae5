/* Small helpers the API handlers share: error and JSON responses, query values, symbols, path ids, JSON
 * text from a buffer, and the request-body field check (unknown names, types and ranges, each named in
 * the error). */
#include "srv.h"

#include <ctype.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trademl/parse.h"
#include "util/common.h"

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

int srv_parse_id(const char *s, int64_t *id, struct srv_response *res, int *status) {
  if (tml_parse_int64_str(s, id) != 0 || *id <= 0) {
    *status = srv_error(res, TML_EINVAL, "invalid id '%.40s': expected a positive integer", s);
    return -1;
  }
  return 0;
}

json_t *srv_json_from(const struct tml_buf *b) {
  return b->len ? json_loadb(b->ptr, b->len, 0, NULL) : NULL;
}

static const char *ftype_name(enum srv_ftype t) {
  switch (t) {
  case SRV_FT_STRING: return "a string";
  case SRV_FT_INT: return "an integer";
  case SRV_FT_NUMBER: return "a number";
  case SRV_FT_BOOL: return "true or false";
  case SRV_FT_STRINGS: return "a list of strings";
  }
  return "?";
}

static const char *json_type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "a list";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "?";
}

int srv_check_fields(json_t *body, const struct srv_field *fields, size_t nfields, struct tml_error *err) {
  const char *key;
  json_t *v;
  json_object_foreach(body, key, v) {
    const struct srv_field *f = NULL;
    for (size_t i = 0; i < nfields; i++)
      if (strcmp(fields[i].name, key) == 0)
        f = &fields[i];
    if (!f) {
      struct tml_buf names;
      tml_buf_init(&names, 0);
      for (size_t i = 0; i < nfields; i++)
        tml_buf_printf(&names, "%s%s", i ? ", " : "", fields[i].name);
      int rc = tml_error_set(err, TML_EINVAL, "unknown field '%.64s' in the request body; known fields: %s", key,
                             tml_buf_str(&names));
      tml_buf_release(&names);
      return rc;
    }
    bool ok;
    double num = 0;
    switch (f->type) {
    case SRV_FT_STRING: ok = json_is_string(v); break;
    case SRV_FT_BOOL: ok = json_is_boolean(v); break;
    case SRV_FT_INT: ok = json_is_integer(v); num = ok ? (double)json_integer_value(v) : 0; break;
    case SRV_FT_NUMBER: ok = json_is_number(v); num = ok ? json_number_value(v) : 0; break;
    case SRV_FT_STRINGS:
      ok = json_is_array(v);
      for (size_t i = 0; ok && i < json_array_size(v); i++)
        ok = json_is_string(json_array_get(v, i));
      num = ok ? (double)json_array_size(v) : 0;
      break;
    default: ok = false;
    }
    if (!ok)
      return tml_error_set(err, TML_EINVAL, "field '%s' must be %s, got %s", key, ftype_name(f->type),
                           json_type_name(v));
    if ((f->type == SRV_FT_INT || f->type == SRV_FT_NUMBER) && (num < f->min || num > f->max))
      return tml_error_set(err, TML_EINVAL, "field '%s' is %g; expected %s between %g and %g", key, num,
                           ftype_name(f->type), f->min, f->max);
    if (f->type == SRV_FT_STRINGS && (num < f->min || num > f->max))
      return tml_error_set(err, TML_EINVAL, "field '%s' has %g items; expected between %g and %g", key, num, f->min,
                           f->max);
  }
  return 0;
}

