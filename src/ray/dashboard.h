/* dashboard.h - client of the Ray dashboard's Job REST API as KubeRay's operator uses it
 * (spec rayjob.md §9, §10): job info, submit, stop, delete, GCS health.
 *
 * Usage (one client per reconcile, as KubeRay builds one; a client is cheap):
 *     struct ray_dashboard_opts o = { .base_url = "http://<status.dashboardURL>",
 *                                     .auth_token = token_or_NULL, .timeout_ms = 2000 };
 *     struct ray_dashboard_client *c;
 *     if (ray_dashboard_client_new(&o, &c, err)) ...;
 *     struct ray_job_info info;
 *     int r = ray_dashboard_get_job(c, job_id, &info, err);
 *     if (r == KRC_ENOTFOUND) ...;                  // 404: "Job <id> does not exist on the
 * cluster" else if (ray_dashboard_is_check_failure(r)) ...; // transport/timeout/bad JSON: §9.3
 * timer else if (r == 0) { use info.status ...; ray_job_info_release(&info); }
 *     ray_dashboard_client_free(c);
 *
 * Error codes (err->msg says what happened, with KubeRay's wording where the controller shows it):
 *   KRC_ENOTFOUND  HTTP 404 (get_job)
 *   KRC_EIO        transport failure; err->msg starts with "connection refused: " when the
 *                  dashboard port is closed, else names the transport's error
 *   KRC_ETIMEOUT   no answer within timeout_ms
 *   KRC_EINVAL     a body that is not the expected JSON ("GetJobInfo fail: <body>",
 *                  "SubmitJob fail: <body>"), or a bad argument
 *   KRC_ETOOLARGE  a response body over RAY_DASHBOARD_MAX_BODY
 *   KRC_EEXIST     submit: HTTP 500 "Please use a different submission_id"
 *   KRC_ESERVER    other non-2xx answers of submit/delete/gcs_healthz ("SubmitJob fail: 400 Bad
 *                  Request <body>")
 * As in KubeRay, get_job decodes any non-404 answer with a JSON body as job info (§9.3 quirk).
 *
 * Thread safety: a client may be shared by threads (its transport, kube/http.h, is thread-safe).
 * Transport: the project's own HTTP layer over http:// (HTTP/1.1, one kept-alive connection per
 * client), so no libcurl is loaded. */
#ifndef KRC_RAY_DASHBOARD_H
#define KRC_RAY_DASHBOARD_H

#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define RAY_DASHBOARD_JOB_PATH         "/api/jobs/"
#define RAY_DASHBOARD_GCS_HEALTHZ      "/api/gcs_healthz"
#define RAY_DASHBOARD_AUTH_HEADER      "x-ray-authorization" /* value "Bearer <token>" */
#define RAY_DASHBOARD_TIMEOUT_MS       2000                  /* direct (§9.1) */
#define RAY_DASHBOARD_PROXY_TIMEOUT_MS 10000                 /* through the API-server proxy */
#define RAY_DASHBOARD_MAX_BODY         (8u << 20)            /* cap on a response body */

/* Ray job statuses (JobStatus) and the terminal test KubeRay uses (IsJobTerminal). */
#define RAY_JOB_STATUS_NEW       ""
#define RAY_JOB_STATUS_PENDING   "PENDING"
#define RAY_JOB_STATUS_RUNNING   "RUNNING"
#define RAY_JOB_STATUS_STOPPED   "STOPPED"
#define RAY_JOB_STATUS_SUCCEEDED "SUCCEEDED"
#define RAY_JOB_STATUS_FAILED    "FAILED"
bool ray_job_status_is_terminal(const char *status); /* STOPPED, SUCCEEDED, FAILED */

struct ray_dashboard_opts {
    const char *base_url;   /* "http://host:port" (or a proxy URL); no trailing slash needed */
    const char *auth_token; /* NULL/"" = no x-ray-authorization header */
    long timeout_ms;        /* whole-request timeout; <= 0 -> RAY_DASHBOARD_TIMEOUT_MS */
};

struct ray_dashboard_client;

/* Copies opts. KRC_EINVAL for a NULL/empty base_url, KRC_ENOMEM. */
int ray_dashboard_client_new(const struct ray_dashboard_opts *opts,
                             struct ray_dashboard_client **out, struct krc_error *err);
void ray_dashboard_client_free(struct ray_dashboard_client *c);

/* GET /api/jobs/{id} decoded. Strings are malloc'd, never NULL ("" when missing or null), except
 * error_type which is NULL when missing or null. Release with ray_job_info_release(). */
struct ray_job_info {
    char *status; /* JobStatus, verbatim */
    char *message;
    char *error_type; /* NULL when absent/null */
    char *entrypoint;
    char *job_id;
    char *submission_id;
    uint64_t start_time; /* ms since epoch, 0 = unset */
    uint64_t end_time;   /* ms since epoch, 0 = unset */
    json_t *metadata;    /* object (string map) or NULL; owned */
    json_t *runtime_env; /* object or NULL; owned */
};
void ray_job_info_release(struct ray_job_info *info);

/* Pure decoding of a job-info body as KubeRay's Go struct decoding does (unknown fields ignored;
 * null reads as empty; a wrong type is an error). http_status 404 -> KRC_ENOTFOUND with
 * "Job <id> does not exist on the cluster" (job_id may be NULL). Not JSON / wrong types ->
 * KRC_EINVAL "GetJobInfo fail: <body>". info is zeroed first and only filled on success. */
int ray_dashboard_parse_job_info(long http_status, const char *job_id, const char *body, size_t len,
                                 struct ray_job_info *info, struct krc_error *err);

/* §10.1. On success fills *info (caller releases). */
int ray_dashboard_get_job(struct ray_dashboard_client *c, const char *job_id,
                          struct ray_job_info *info, struct krc_error *err);

/* The body of POST /api/jobs/ (§8.4), from plain values. */
struct ray_job_submit_request {
    const char *entrypoint;           /* not trimmed; NULL = "" */
    const char *submission_id;        /* NULL/"" omitted */
    const json_t *metadata;           /* string map; NULL/{} omitted */
    const char *runtime_env_yaml;     /* parsed as YAML into an object; NULL/"" or null omitted */
    float entrypoint_num_cpus;        /* 0 omitted */
    float entrypoint_num_gpus;        /* 0 omitted */
    const char *entrypoint_resources; /* JSON object name->number; NULL/""/{} omitted */
};

/* Appends the exact body of §8.4: keys runtime_env, metadata, entrypoint_resources, entrypoint,
 * submission_id, entrypoint_num_cpus, entrypoint_num_gpus (each when present), compact, nested keys
 * sorted, float32 shortest. KRC_EINVAL for a bad runtimeEnvYAML ("failed to unmarshal
 * RuntimeEnvYAML: ...") or entrypointResources (not an object of numbers). */
int ray_dashboard_build_submit_body(const struct ray_job_submit_request *req,
                                    struct krc_strbuf *out, struct krc_error *err);

/* §10.2. On success *job_id_out (may be NULL) receives the "job_id" of the answer (malloc'd).
 * KRC_EEXIST when the ID is already used ("submission ID '<id>' already used, Please use a
 * different submission_id"). */
int ray_dashboard_submit_job(struct ray_dashboard_client *c,
                             const struct ray_job_submit_request *req, char **job_id_out,
                             struct krc_error *err);

/* §10.3: POST /api/jobs/{id}/stop; when the answer says "stopped": false, reads the job and
 * succeeds only if it is already terminal (error "failed to stop job: ..." otherwise; a 404 then
 * gives KRC_ENOTFOUND). *stopped (may be NULL) receives the answer's flag. */
int ray_dashboard_stop_job(struct ray_dashboard_client *c, const char *job_id, bool *stopped,
                           struct krc_error *err);

/* DELETE /api/jobs/{id} (§10.6). KubeRay ignores the status; here 2xx -> 0, 404 ->
 * KRC_ENOTFOUND, other -> KRC_ESERVER, so callers can choose. */
int ray_dashboard_delete_job(struct ray_dashboard_client *c, const char *job_id,
                             struct krc_error *err);

/* GET /api/gcs_healthz: 0 when the answer is 2xx and its body contains "success" (the submit
 * script's test), KRC_ESERVER otherwise, or a transport error code. */
int ray_dashboard_gcs_healthz(struct ray_dashboard_client *c, struct krc_error *err);

/* True for the codes that count as a status-check failure in §9.3 (transport error, timeout,
 * undecodable body): KRC_EIO, KRC_ETIMEOUT, KRC_EINVAL, KRC_ETOOLARGE, KRC_ESERVER. */
bool ray_dashboard_is_check_failure(int code);

/* One raw request on the client's transport, for the other dashboard APIs (ray/serve.h): method
 * "GET" or "PUT", path with query, json_body (NULL: none; else sent as application/json). On a
 * transport success returns 0 with *status, status_text ("400 Bad Request", as Go's resp.Status)
 * and the response body appended to body (cut at RAY_DASHBOARD_MAX_BODY; a non-2xx body at the
 * transport's error-body cap), whatever the status; else the transport codes listed above. */
#define RAY_DASHBOARD_STATUS_TEXT_MAX 128
int ray_dashboard_request(struct ray_dashboard_client *c, const char *method, const char *path,
                          const char *json_body, size_t body_len, long *status,
                          char status_text[RAY_DASHBOARD_STATUS_TEXT_MAX], struct krc_strbuf *body,
                          struct krc_error *err);

#endif
