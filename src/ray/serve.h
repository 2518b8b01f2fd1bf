/* serve.h - the Ray Serve endpoints the RayService controller uses (spec rayservice.md §7.4,
 * §7.5, §14): the declarative application status (GET), the multi-application config (PUT) and
 * the proxy health check, on the dashboard client's transport (ray/dashboard.h).
 *
 * The pure halves (decoding a status answer into the RayService's applicationStatuses map,
 * building the PUT body from serveConfigV2) are separate functions so they are unit-tested
 * without a server. */
#ifndef KRC_RAY_SERVE_H
#define KRC_RAY_SERVE_H

#include "ray/dashboard.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>

#define RAY_SERVE_APPS_PATH        "/api/serve/applications/"
#define RAY_SERVE_APPS_QUERY       "?api_type=declarative"
#define RAY_SERVE_PROXY_HEALTHZ    "/-/healthz"
#define RAY_SERVE_APP_RUNNING      "RUNNING"
#define RAY_SERVE_DEFAULT_APP_NAME "default"

/* Decodes a GET answer (§14.2) into *apps: a new object {app: {status, message,
 * serveDeploymentStatuses: {deployment: {status, message}}}} as RayService status holds it
 * (empty strings and maps left out; an application named "" stored as "default"). *ready: at
 * least one application and every one RUNNING (§7.5). Non-2xx: KRC_ESERVER "GetServeDetails
 * fail: <status text> <body>"; a body that is not the expected JSON: KRC_EINVAL
 * "GetServeDetails failed. Failed to unmarshal bytes: <body>". */
int ray_serve_parse_applications(long http_status, const char *status_text, const char *body,
                                 size_t len, json_t **apps, bool *ready, struct krc_error *err);

/* §7.4: serveConfigV2 (YAML) as the JSON body of the PUT (go-yaml v2 scalars, Go's encoder).
 * Empty text gives "null" (KubeRay's encoding of an empty document). A YAML error or a document
 * that is not a mapping: KRC_EINVAL. */
int ray_serve_build_body(const char *serve_config_yaml, struct krc_strbuf *out,
                         struct krc_error *err);

/* GET RAY_SERVE_APPS_PATH RAY_SERVE_APPS_QUERY and decode it. */
int ray_serve_get_applications(struct ray_dashboard_client *c, json_t **apps, bool *ready,
                               struct krc_error *err);
/* PUT RAY_SERVE_APPS_PATH with the body of ray_serve_build_body. Non-2xx: KRC_ESERVER
 * "UpdateDeployments fail: <status text> <body>". */
int ray_serve_put_applications(struct ray_dashboard_client *c, const char *serve_config_yaml,
                               struct krc_error *err);
/* §14.4: true iff GET http://<ip>:<port>/-/healthz answers 200 (timeout
 * RAY_DASHBOARD_TIMEOUT_MS); any failure is false. */
bool ray_serve_proxy_healthy(const char *ip, long long port);

#endif
