/* dashboard.c - Ray dashboard Job REST client (see dashboard.h).
 *
 * Transport: the project's own HTTP layer (kube/http.h) over plain http:// to the dashboard, the
 * same code that talks to the API server, so the operator loads no libcurl (whose Debian build
 * maps some 33 more libraries). A client holds one krc_http, so the few requests of one reconcile
 * share a kept-alive connection.
 *
 * Decoding follows Go's encoding/json into KubeRay's structs: unknown fields are ignored, null
 * reads as the zero value, and a field of the wrong type fails the whole decode. */
#include "ray/dashboard.h"

#include "api/rayjob.h"
#include "kube/config.h"
#include "kube/http.h"
#include "util/gojson.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_LINE_MAX   128
#define HTTP_NOT_FOUND    404
#define HTTP_SERVER_ERROR 500
#define MSG_ALREADY_USED  "Please use a different submission_id"
#define HEALTHY_MARKER    "success"
#define CONTENT_TYPE_JSON "application/json"
#define ERROR_BODY_MAX    400 /* bytes of a response body quoted in an error */
#define USER_AGENT        "kuberay-c-dashboard-client"

struct ray_dashboard_client {
    struct krc_http *http;
    char *base_url;
    char *auth_value; /* "Bearer <token>" for x-ray-authorization, or NULL */
    long timeout_ms;
};

struct response {
    long status;
    char status_text[STATUS_LINE_MAX]; /* "400 Bad Request", as Go's resp.Status */
    struct krc_strbuf body;
};

bool ray_job_status_is_terminal(const char *status)
{
    return status && (strcmp(status, RAY_JOB_STATUS_STOPPED) == 0 ||
                      strcmp(status, RAY_JOB_STATUS_SUCCEEDED) == 0 ||
                      strcmp(status, RAY_JOB_STATUS_FAILED) == 0);
}

bool ray_dashboard_is_check_failure(int code)
{
    return code == KRC_EIO || code == KRC_ETIMEOUT || code == KRC_EINVAL || code == KRC_ETOOLARGE ||
           code == KRC_ESERVER;
}

int ray_dashboard_client_new(const struct ray_dashboard_opts *opts,
                             struct ray_dashboard_client **out, struct krc_error *err)
{
    struct ray_dashboard_client *c = NULL;
    struct krc_strbuf val = KRC_STRBUF_INIT;
    int rc;

    *out = NULL;
    if (!opts || !opts->base_url || !*opts->base_url)
        return krc_error_set(err, KRC_EINVAL, "dashboard client: no base URL");
    if (opts->auth_token && strpbrk(opts->auth_token, "\r\n"))
        return krc_error_set(err, KRC_EINVAL, "dashboard client: auth token has a line break");
    if (!(c = calloc(1, sizeof(*c))))
        goto oom;
    size_t n = strlen(opts->base_url);
    while (n > 0 && opts->base_url[n - 1] == '/')
        n--;
    if (!(c->base_url = strndup(opts->base_url, n)))
        goto oom;
    if (opts->auth_token && *opts->auth_token) {
        if (krc_strbuf_addf(&val, "Bearer %s", opts->auth_token) ||
            !(c->auth_value = krc_strbuf_detach(&val)))
            goto oom;
    }
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : RAY_DASHBOARD_TIMEOUT_MS;
    /* The transport takes its server from a kubeconfig; only the URL is set (no credentials). */
    struct krc_kubeconfig cfg = {.server = c->base_url};
    struct krc_http_options ho = {
        .connect_timeout_ms = c->timeout_ms, .max_idle_handles = 1, .user_agent = USER_AGENT};
    if ((rc = krc_http_new(&cfg, &ho, &c->http, err))) {
        ray_dashboard_client_free(c);
        return krc_error_wrap(err, rc, "dashboard client %.*s", (int)n, opts->base_url);
    }
    *out = c;
    return 0;
oom:
    krc_strbuf_release(&val);
    ray_dashboard_client_free(c);
    return krc_error_set(err, KRC_ENOMEM, "dashboard client: out of memory");
}

void ray_dashboard_client_free(struct ray_dashboard_client *c)
{
    if (!c)
        return;
    krc_http_free(c->http);
    free(c->base_url);
    if (c->auth_value)
        memset(c->auth_value, 0, strlen(c->auth_value));
    free(c->auth_value);
    free(c);
}

void ray_job_info_release(struct ray_job_info *info)
{
    if (!info)
        return;
    free(info->status);
    free(info->message);
    free(info->error_type);
    free(info->entrypoint);
    free(info->job_id);
    free(info->submission_id);
    json_decref(info->metadata);
    json_decref(info->runtime_env);
    memset(info, 0, sizeof(*info));
}

/* ---- transport ------------------------------------------------------------------------------ */

/* Go's http.StatusText for the codes a dashboard answers with. Go's HTTP/1 client keeps the
 * server's reason phrase; aiohttp (the dashboard's server) sends exactly these standard ones. */
static const char *reason_phrase(long status)
{
    static const struct {
        long code;
        const char *text;
    } phrases[] = {
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {304, "Not Modified"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {413, "Request Entity Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Entity"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
        if (phrases[i].code == status)
            return phrases[i].text;
    }
    return NULL;
}

/* Performs one request. method "GET", "POST" or "DELETE"; body may be NULL (POST sends an empty
 * body). The body of the answer, whatever its status, ends in r->body. On a transport failure
 * returns the classified code with err naming what. */
static int do_request(struct ray_dashboard_client *c, const char *method, const char *path,
                      const char *body, size_t body_len, bool json_body, struct response *r,
                      struct krc_error *err)
{
    struct krc_http_response resp;
    struct krc_error terr = {0};
    int rc;

    memset(r, 0, sizeof(*r));
    krc_strbuf_init(&r->body, RAY_DASHBOARD_MAX_BODY);
    krc_http_response_init(&resp);
    struct krc_http_request req = {
        .method = method,
        .path_and_query = path,
        .content_type = json_body ? CONTENT_TYPE_JSON : NULL,
        .extra_header_name = c->auth_value ? RAY_DASHBOARD_AUTH_HEADER : NULL,
        .extra_header_value = c->auth_value,
        /* POST always carries a body (empty when there is none), as Go's client sends one. */
        .body = body ? body : (strcmp(method, "POST") == 0 ? "" : NULL),
        .body_len = body ? body_len : 0,
        .timeout_ms = c->timeout_ms,
        .out = &r->body,
        .out_max = RAY_DASHBOARD_MAX_BODY,
    };
    rc = krc_http_perform(c->http, &req, &resp, &terr);
    if (rc == KRC_ETOOLARGE)
        rc = krc_error_set(err, KRC_ETOOLARGE, "%s %s%s: response body over %u bytes", method,
                           c->base_url, path, RAY_DASHBOARD_MAX_BODY);
    else if (rc == KRC_ETIMEOUT)
        rc = krc_error_set(err, KRC_ETIMEOUT, "%s %s%s: timeout after %ld ms: %s", method,
                           c->base_url, path, c->timeout_ms, terr.msg);
    else if (rc == KRC_ENOMEM)
        rc = krc_error_set(err, KRC_ENOMEM, "%s %s%s: out of memory", method, c->base_url, path);
    else if (rc && resp.connect_refused)
        rc = krc_error_set(err, KRC_EIO, "connection refused: %s %s%s: %s", method, c->base_url,
                           path, terr.msg);
    else if (rc)
        rc = krc_error_set(err, KRC_EIO, "%s %s%s: %s", method, c->base_url, path, terr.msg);
    if (rc == 0) {
        r->status = resp.status;
        const char *phrase = reason_phrase(resp.status);
        snprintf(r->status_text, sizeof(r->status_text), "%ld%s%s", resp.status, phrase ? " " : "",
                 phrase ? phrase : "");
        if (resp.status < 200 || resp.status > 299) {
            /* A non-2xx body came in resp.body (cut at KRC_HTTP_ERROR_BODY_MAX). */
            krc_strbuf_reset(&r->body);
            if (resp.body.len && krc_strbuf_add(&r->body, resp.body.buf, resp.body.len))
                rc = krc_error_set(err, KRC_ENOMEM, "%s %s%s: out of memory", method, c->base_url,
                                   path);
        }
    }
    krc_http_response_release(&resp);
    if (rc)
        krc_strbuf_release(&r->body);
    return rc;
}

static void response_release(struct response *r)
{
    krc_strbuf_release(&r->body);
}

static bool is_2xx(long status)
{
    return status >= 200 && status <= 299;
}

/* ---- decoding ------------------------------------------------------------------------------- */

/* Go's decoder fails the whole decode when a known field has the wrong JSON type; check them all
 * first so the filling below can only fail for lack of memory. */
static bool is_string_or_null(const json_t *v)
{
    return !v || json_is_null(v) || json_is_string(v);
}

static bool is_u64_or_null(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_integer(v) && json_integer_value(v) >= 0);
}

static bool is_object_or_null(const json_t *v, bool strings_only)
{
    const char *k;
    json_t *e;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_object(v))
        return false;
    if (strings_only) {
        json_object_foreach((json_t *)(uintptr_t)v, k, e)
        {
            if (!json_is_string(e) && !json_is_null(e))
                return false;
        }
    }
    return true;
}

static const char *const job_info_strings[] = {"status",     "message", "error_type",
                                               "entrypoint", "job_id",  "submission_id"};

static bool job_info_types_ok(const json_t *root)
{
    if (json_is_null(root))
        return true;
    if (!json_is_object(root))
        return false;
    for (size_t i = 0; i < sizeof(job_info_strings) / sizeof(job_info_strings[0]); i++) {
        if (!is_string_or_null(json_object_get(root, job_info_strings[i])))
            return false;
    }
    return is_u64_or_null(json_object_get(root, "start_time")) &&
           is_u64_or_null(json_object_get(root, "end_time")) &&
           is_object_or_null(json_object_get(root, "metadata"), true) &&
           is_object_or_null(json_object_get(root, "runtime_env"), false);
}

/* A string field's value ("" when absent or null), malloc'd; NULL only on allocation failure. */
static char *dup_field(const json_t *root, const char *key)
{
    const json_t *v = json_is_object(root) ? json_object_get(root, key) : NULL;
    if (!v || !json_is_string(v))
        return strdup("");
    return strndup(json_string_value(v), json_string_length(v));
}

static uint64_t u64_field(const json_t *root, const char *key)
{
    const json_t *v = json_is_object(root) ? json_object_get(root, key) : NULL;
    return v && json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static json_t *object_field(const json_t *root, const char *key)
{
    json_t *v = json_is_object(root) ? json_object_get(root, key) : NULL;
    return v && json_is_object(v) ? json_incref(v) : NULL;
}

int ray_dashboard_parse_job_info(long http_status, const char *job_id, const char *body, size_t len,
                                 struct ray_job_info *info, struct krc_error *err)
{
    json_t *root = NULL;
    int rc = 0;

    memset(info, 0, sizeof(*info));
    if (http_status == HTTP_NOT_FOUND)
        return krc_error_set(err, KRC_ENOTFOUND, "Job %s does not exist on the cluster",
                             job_id ? job_id : "");
    root = json_loadb(body ? body : "", body ? len : 0, JSON_DECODE_ANY, NULL);
    if (!root || !job_info_types_ok(root)) {
        rc = krc_error_set(err, KRC_EINVAL, "GetJobInfo fail: %.*s",
                           (int)(len > ERROR_BODY_MAX ? ERROR_BODY_MAX : len), body ? body : "");
        goto out;
    }
    const json_t *et = json_is_object(root) ? json_object_get(root, "error_type") : NULL;
    if (!(info->status = dup_field(root, "status")) ||
        !(info->message = dup_field(root, "message")) ||
        !(info->entrypoint = dup_field(root, "entrypoint")) ||
        !(info->job_id = dup_field(root, "job_id")) ||
        !(info->submission_id = dup_field(root, "submission_id")) ||
        (et && json_is_string(et) && !(info->error_type = dup_field(root, "error_type")))) {
        rc = krc_error_set(err, KRC_ENOMEM, "GetJobInfo: out of memory");
        goto out;
    }
    info->start_time = u64_field(root, "start_time");
    info->end_time = u64_field(root, "end_time");
    info->metadata = object_field(root, "metadata");
    info->runtime_env = object_field(root, "runtime_env");
out:
    json_decref(root);
    if (rc)
        ray_job_info_release(info);
    return rc;
}

int ray_dashboard_get_job(struct ray_dashboard_client *c, const char *job_id,
                          struct ray_job_info *info, struct krc_error *err)
{
    struct krc_strbuf path = KRC_STRBUF_INIT;
    struct response r;
    int rc;

    memset(info, 0, sizeof(*info));
    if (!job_id)
        return krc_error_set(err, KRC_EINVAL, "GetJobInfo: no job id");
    if (krc_strbuf_adds(&path, RAY_DASHBOARD_JOB_PATH) || krc_strbuf_adds(&path, job_id)) {
        krc_strbuf_release(&path);
        return krc_error_set(err, KRC_ENOMEM, "GetJobInfo %s: out of memory", job_id);
    }
    rc = do_request(c, "GET", path.buf, NULL, 0, false, &r, err);
    krc_strbuf_release(&path);
    if (rc)
        return rc;
    rc = ray_dashboard_parse_job_info(r.status, job_id, r.body.buf, r.body.len, info, err);
    response_release(&r);
    return rc;
}

/* ---- submit --------------------------------------------------------------------------------- */

/* entrypointResources decoded as Go's json.Unmarshal into map[string]float32: an object whose
 * values are numbers (null reads as 0) within float32 range. *out NULL for null. */
static const char *json_kind(const json_t *v)
{
    return json_is_array(v)    ? "array"
           : json_is_object(v) ? "object"
           : json_is_string(v) ? "string"
           : json_is_number(v) ? "number"
                               : "bool";
}

static int parse_resources(const char *text, json_t **out, struct krc_error *err)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    const char *k;
    json_t *e;
    int rc = 0;

    *out = NULL;
    if (!v)
        return krc_error_set(err, KRC_EINVAL, "entrypointResources: %s", jerr.text);
    if (json_is_null(v))
        goto out;
    if (!json_is_object(v)) {
        rc = krc_error_set(err, KRC_EINVAL,
                           "json: cannot unmarshal %s into Go value of type map[string]float32",
                           json_kind(v));
        goto out;
    }
    json_object_foreach(v, k, e)
    {
        if (json_is_null(e))
            continue;
        if (!json_is_number(e)) {
            rc = krc_error_set(err, KRC_EINVAL,
                               "json: cannot unmarshal %s into Go value of type float32",
                               json_kind(e));
            goto out;
        }
        double d = json_number_value(e);
        if (d > FLT_MAX || d < -FLT_MAX) {
            rc = krc_error_set(err, KRC_EINVAL,
                               "json: cannot unmarshal number into Go value of type float32");
            goto out;
        }
    }
    *out = v;
    return 0;
out:
    json_decref(v);
    return rc;
}

static int add_key(struct krc_strbuf *b, bool *first, const char *key)
{
    if (!*first && krc_strbuf_addch(b, ','))
        return KRC_ENOMEM;
    *first = false;
    if (gojson_encode_string(key, strlen(key), b) || krc_strbuf_addch(b, ':'))
        return KRC_ENOMEM;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int encode_resources(const json_t *res, struct krc_strbuf *b)
{
    size_t n = json_object_size(res), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    const char *k;
    json_t *e;
    int rc = 0;

    if (!keys)
        return KRC_ENOMEM;
    json_object_foreach((json_t *)(uintptr_t)res, k, e) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    bool first = true;
    rc = krc_strbuf_addch(b, '{');
    for (i = 0; !rc && i < n; i++) {
        const json_t *val = json_object_get(res, keys[i]);
        rc = add_key(b, &first, keys[i]);
        if (!rc)
            rc = gojson_encode_float32(json_is_null(val) ? 0.0f : (float)json_number_value(val), b);
    }
    if (!rc)
        rc = krc_strbuf_addch(b, '}');
    free(keys);
    return rc;
}

int ray_dashboard_build_submit_body(const struct ray_job_submit_request *req,
                                    struct krc_strbuf *out, struct krc_error *err)
{
    json_t *env = NULL, *res = NULL;
    bool first = true;
    int rc = 0;

    /* KubeRay reads it with sigs.k8s.io/yaml.Unmarshal into map[string]any (NULL: a nil map). */
    if (req->runtime_env_yaml && *req->runtime_env_yaml &&
        (rc = rayjob_runtime_env_json(req->runtime_env_yaml, &env, err, NULL)))
        goto out;
    if (req->entrypoint_resources && *req->entrypoint_resources &&
        (rc = parse_resources(req->entrypoint_resources, &res, err)))
        goto out;

    if ((rc = krc_strbuf_addch(out, '{')))
        goto oom;
    if (env && json_object_size(env) > 0) {
        if (add_key(out, &first, "runtime_env"))
            goto oom;
        if ((rc = gojson_encode_flags(env, GOJSON_NUMBERS_AS_FLOAT64, out, err)))
            goto out;
    }
    if (req->metadata && json_is_object(req->metadata) && json_object_size(req->metadata) > 0) {
        if (add_key(out, &first, "metadata"))
            goto oom;
        if ((rc = gojson_encode(req->metadata, out, err)))
            goto out;
    }
    if (res && json_object_size(res) > 0) {
        if (add_key(out, &first, "entrypoint_resources") || encode_resources(res, out))
            goto oom;
    }
    const char *ep = req->entrypoint ? req->entrypoint : "";
    if (add_key(out, &first, "entrypoint") || gojson_encode_string(ep, strlen(ep), out))
        goto oom;
    if (req->submission_id && *req->submission_id &&
        (add_key(out, &first, "submission_id") ||
         gojson_encode_string(req->submission_id, strlen(req->submission_id), out)))
        goto oom;
    if (req->entrypoint_num_cpus != 0 && (add_key(out, &first, "entrypoint_num_cpus") ||
                                          gojson_encode_float32(req->entrypoint_num_cpus, out)))
        goto oom;
    if (req->entrypoint_num_gpus != 0 && (add_key(out, &first, "entrypoint_num_gpus") ||
                                          gojson_encode_float32(req->entrypoint_num_gpus, out)))
        goto oom;
    if (krc_strbuf_addch(out, '}'))
        goto oom;
    goto out;
oom:
    rc = krc_error_set(err, KRC_ENOMEM, "SubmitJob: out of memory");
out:
    json_decref(env);
    json_decref(res);
    return rc;
}

int ray_dashboard_submit_job(struct ray_dashboard_client *c,
                             const struct ray_job_submit_request *req, char **job_id_out,
                             struct krc_error *err)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct response r;
    json_t *root = NULL;
    int rc;

    if (job_id_out)
        *job_id_out = NULL;
    if ((rc = ray_dashboard_build_submit_body(req, &body, err)))
        goto out_body;
    if ((rc = do_request(c, "POST", RAY_DASHBOARD_JOB_PATH, body.buf, body.len, true, &r, err)))
        goto out_body;
    const char *id = req->submission_id ? req->submission_id : "";
    int shown = (int)(r.body.len > ERROR_BODY_MAX ? ERROR_BODY_MAX : r.body.len);
    if (!is_2xx(r.status)) {
        if (r.status == HTTP_SERVER_ERROR && strstr(r.body.buf, MSG_ALREADY_USED))
            rc = krc_error_set(err, KRC_EEXIST,
                               "submission ID '%s' already used, Please use a different "
                               "submission_id",
                               id);
        else
            rc = krc_error_set(err, KRC_ESERVER, "SubmitJob fail: %s %.*s",
                               r.status_text[0] ? r.status_text : "(no status)", shown, r.body.buf);
        goto out;
    }
    root = json_loadb(r.body.buf, r.body.len, JSON_DECODE_ANY, NULL);
    const json_t *jid = root && json_is_object(root) ? json_object_get(root, "job_id") : NULL;
    if (!root || !(json_is_object(root) || json_is_null(root)) ||
        (jid && !json_is_string(jid) && !json_is_null(jid))) {
        rc = krc_error_set(err, KRC_EINVAL, "SubmitJob fail: %.*s", shown, r.body.buf);
        goto out;
    }
    if (job_id_out) {
        const char *s = jid && json_is_string(jid) ? json_string_value(jid) : "";
        if (!(*job_id_out = strdup(s)))
            rc = krc_error_set(err, KRC_ENOMEM, "SubmitJob: out of memory");
    }
out:
    json_decref(root);
    response_release(&r);
out_body:
    krc_strbuf_release(&body);
    return rc;
}

/* ---- stop, delete, health ------------------------------------------------------------------- */

int ray_dashboard_stop_job(struct ray_dashboard_client *c, const char *job_id, bool *stopped,
                           struct krc_error *err)
{
    struct krc_strbuf path = KRC_STRBUF_INIT;
    struct response r;
    json_t *root = NULL;
    int rc;

    if (stopped)
        *stopped = false;
    if (!job_id)
        return krc_error_set(err, KRC_EINVAL, "StopJob: no job id");
    if (krc_strbuf_addf(&path, RAY_DASHBOARD_JOB_PATH "%s/stop", job_id)) {
        krc_strbuf_release(&path);
        return krc_error_set(err, KRC_ENOMEM, "StopJob %s: out of memory", job_id);
    }
    rc = do_request(c, "POST", path.buf, NULL, 0, true, &r, err);
    krc_strbuf_release(&path);
    if (rc)
        return rc;
    /* The status code is not checked: the body decides (as KubeRay). */
    root = json_loadb(r.body.buf, r.body.len, JSON_DECODE_ANY, NULL);
    const json_t *st = root && json_is_object(root) ? json_object_get(root, "stopped") : NULL;
    if (!root || !(json_is_object(root) || json_is_null(root)) ||
        (st && !json_is_boolean(st) && !json_is_null(st))) {
        rc = krc_error_set(
            err, KRC_EINVAL, "StopJob %s: undecodable answer (HTTP %ld): %.*s", job_id, r.status,
            (int)(r.body.len > ERROR_BODY_MAX ? ERROR_BODY_MAX : r.body.len), r.body.buf);
        goto out;
    }
    bool was_stopped = st && json_is_true(st);
    if (stopped)
        *stopped = was_stopped;
    if (!was_stopped) {
        struct ray_job_info info;
        if ((rc = ray_dashboard_get_job(c, job_id, &info, err)))
            goto out;
        if (!ray_job_status_is_terminal(info.status))
            rc = krc_error_set(err, KRC_ESERVER, "failed to stop job %s: status %s, message %s",
                               job_id, info.status, info.message);
        ray_job_info_release(&info);
    }
out:
    json_decref(root);
    response_release(&r);
    return rc;
}

int ray_dashboard_delete_job(struct ray_dashboard_client *c, const char *job_id,
                             struct krc_error *err)
{
    struct krc_strbuf path = KRC_STRBUF_INIT;
    struct response r;
    int rc;

    if (!job_id)
        return krc_error_set(err, KRC_EINVAL, "DeleteJob: no job id");
    if (krc_strbuf_addf(&path, RAY_DASHBOARD_JOB_PATH "%s", job_id)) {
        krc_strbuf_release(&path);
        return krc_error_set(err, KRC_ENOMEM, "DeleteJob %s: out of memory", job_id);
    }
    rc = do_request(c, "DELETE", path.buf, NULL, 0, true, &r, err);
    krc_strbuf_release(&path);
    if (rc)
        return rc;
    if (r.status == HTTP_NOT_FOUND)
        rc = krc_error_set(err, KRC_ENOTFOUND, "Job %s does not exist on the cluster", job_id);
    else if (!is_2xx(r.status))
        rc = krc_error_set(err, KRC_ESERVER, "DeleteJob %s fail: %s %.*s", job_id,
                           r.status_text[0] ? r.status_text : "(no status)",
                           (int)(r.body.len > ERROR_BODY_MAX ? ERROR_BODY_MAX : r.body.len),
                           r.body.buf);
    response_release(&r);
    return rc;
}

int ray_dashboard_gcs_healthz(struct ray_dashboard_client *c, struct krc_error *err)
{
    struct response r;
    int rc = do_request(c, "GET", RAY_DASHBOARD_GCS_HEALTHZ, NULL, 0, false, &r, err);
    if (rc)
        return rc;
    if (!is_2xx(r.status) || !strstr(r.body.buf, HEALTHY_MARKER))
        rc = krc_error_set(err, KRC_ESERVER, "GCS not healthy (HTTP %ld): %.*s", r.status,
                           (int)(r.body.len > 200 ? 200 : r.body.len), r.body.buf);
    response_release(&r);
    return rc;
}

int ray_dashboard_request(struct ray_dashboard_client *c, const char *method, const char *path,
                          const char *json_body, size_t body_len, long *status,
                          char status_text[RAY_DASHBOARD_STATUS_TEXT_MAX], struct krc_strbuf *body,
                          struct krc_error *err)
{
    struct response r;
    int rc = do_request(c, method, path, json_body, body_len, json_body != NULL, &r, err);
    if (rc)
        return rc;
    *status = r.status;
    snprintf(status_text, RAY_DASHBOARD_STATUS_TEXT_MAX, "%s", r.status_text);
    if (r.body.len && krc_strbuf_add(body, r.body.buf, r.body.len))
        rc = krc_error_set(err, KRC_ENOMEM, "%s %s%s: out of memory", method, c->base_url, path);
    response_release(&r);
    return rc;
}
