/* The route table: every URL the daemon answers, its method, flags and handler. The dispatcher in
 * http.c checks method, body size, token and JSON before a handler runs. docs/api.md documents each. */
#include "srv.h"

#include "util/common.h"

#define R(m, p, fn, flags) {m, p, fn, flags, m " " p}

const struct srv_route srv_routes[] = {
    R("GET", "/health", srv_h_health, 0),
    R("GET", "/metrics", srv_h_metrics, 0),
    R("POST", "/api/training/start", srv_h_training_start, SRV_MUTATES | SRV_JSON_BODY),
    R("GET", "/api/training/jobs", srv_h_jobs_list, 0),
    R("GET", "/api/training/jobs/{id}", srv_h_job_get, 0),
    R("POST", "/api/training/jobs/{id}/cancel", srv_h_job_cancel, SRV_MUTATES | SRV_JSON_BODY),
    R("GET", "/api/models", srv_h_models_list, 0),
    R("GET", "/api/models/{id}", srv_h_model_get, 0),
    R("POST", "/api/models/{id}/activate", srv_h_model_activate, SRV_MUTATES | SRV_JSON_BODY),
    R("GET", "/api/coverage", srv_h_coverage, 0),
    R("GET", "/api/queue", srv_h_queue_get, 0),
    R("POST", "/api/queue", srv_h_queue_post, SRV_MUTATES | SRV_JSON_BODY),
    R("DELETE", "/api/queue", srv_h_queue_delete, SRV_MUTATES | SRV_JSON_BODY),
    R("GET", "/api/schedule", srv_h_schedule, 0),
    R("GET", "/api/symbols", srv_h_symbols, 0),
    R("GET", "/api/predict/{symbol}", srv_h_predict, 0),
    R("GET", "/api/live", srv_h_live, 0),
    R("GET", "/api/predictions/latest", srv_h_predictions_latest, 0),
    R("GET", "/api/predictions/stream", srv_h_predictions_stream, 0),
    R("GET", "/api/predictions", srv_h_predictions, 0),
    R("GET", "/", srv_h_asset, SRV_NO_LOG),
    R("GET", "/assets/{file}", srv_h_asset, SRV_NO_LOG),
};
const size_t srv_nroutes = sizeof(srv_routes) / sizeof(srv_routes[0]);

int srv_h_asset(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  (void)s;
  char want[160];
  snprintf(want, sizeof(want), "/%s", req->params[0][0] ? req->params[0] : "index.html");
  for (size_t i = 0; i < srv_nassets; i++) {
    if (strcmp(srv_assets[i].path, want) != 0)
      continue;
    tml_buf_append(&res->body, srv_assets[i].data, srv_assets[i].len);
    res->content_type = srv_assets[i].content_type;
    res->cache = false;
    return 200;
  }
  return srv_error_http(res, 404, "ENOENT", "no dashboard asset '%.100s'", req->params[0]);
}
