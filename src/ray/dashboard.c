/* dashboard.c - Ray dashboard Job REST client over libcurl (see dashboard.h).
 *
 * Transport: one curl easy handle per request, no connection reuse. The operator makes a few
 * requests per RayJob reconcile, so a handshake each is cheap next to the reconcile itself; a
 * shared connection pool would need locking (or a handle per thread) for little gain. This file is
 * the only user of curl in src/ray; moving onto the project's own HTTP layer later only touches
 * do_request().
 *
 * Decoding follows Go's encoding/json into KubeRay's structs: unknown fields are ignored, null
 * reads as the zero value, and a field of the wrong type fails the whole decode. */
#include "ray/dashboard.h"

#include "api/rayjob.h"
#include "util/gojson.h"

#include <curl/curl.h>
#include <errno.h>
#include <float.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_LINE_MAX   128
#define HTTP_NOT_FOUND    404
#define HTTP_SERVER_ERROR 500
#define MSG_ALREADY_USED  "Please use a different submission_id"
#define HEALTHY_MARKER    "success"
#define CONTENT_TYPE_JSON "Content-Type: application/json"
#define ERROR_BODY_MAX    400 /* bytes of a response body quoted in an error */

struct ray_dashboard_client {
    char *base_url;
    char *auth_header; /* "x-ray-authorization: Bearer <token>" or NULL */
    long timeout_ms;
};

struct response {
    long status;
    char status_text[STATUS_LINE_MAX]; /* "400 Bad Request", as Go's resp.Status */
    struct krc_strbuf body;
    bool too_large;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

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
    struct krc_strbuf hdr = KRC_STRBUF_INIT;

    *out = NULL;
    if (!opts || !opts->base_url || !*opts->base_url)
        return krc_error_set(err, KRC_EINVAL, "dashboard client: no base URL");
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK)
        return krc_error_set(err, KRC_EIO, "dashboard client: curl_global_init: %s",
                             curl_easy_strerror(curl_init_result));
    if (!(c = calloc(1, sizeof(*c))))
        goto oom;
    size_t n = strlen(opts->base_url);
    while (n > 0 && opts->base_url[n - 1] == '/')
        n--;
    if (!(c->base_url = strndup(opts->base_url, n)))
        goto oom;
    if (opts->auth_token && *opts->auth_token) {
        if (strpbrk(opts->auth_token, "\r\n")) {
            ray_dashboard_client_free(c);
            return krc_error_set(err, KRC_EINVAL, "dashboard client: auth token has a line break");
        }
        if (krc_strbuf_addf(&hdr, RAY_DASHBOARD_AUTH_HEADER ": Bearer %s", opts->auth_token) ||
            !(c->auth_header = krc_strbuf_detach(&hdr)))
            goto oom;
    }
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : RAY_DASHBOARD_TIMEOUT_MS;
    *out = c;
    return 0;
oom:
    krc_strbuf_release(&hdr);
    ray_dashboard_client_free(c);
    return krc_error_set(err, KRC_ENOMEM, "dashboard client: out of memory");
}

void ray_dashboard_client_free(struct ray_dashboard_client *c)
{
    if (!c)
        return;
    free(c->base_url);
    free(c->auth_header);
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

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct response *r = arg;
    size_t n = size * nmemb;
    if (krc_strbuf_add(&r->body, data, n)) {
        r->too_large = true;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct response *r = arg;
    size_t n = size * nmemb;
    /* "HTTP/1.1 400 Bad Request\r\n": keep "400 Bad Request" (the last status line wins, so an
     * interim 100 Continue is replaced). */
    if (n > 5 && memcmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', n);
        if (sp) {
            size_t len = n - (size_t)(sp + 1 - data);
            while (len > 0 && (sp[len] == '\r' || sp[len] == '\n'))
                len--;
            if (len >= sizeof(r->status_text))
                len = sizeof(r->status_text) - 1;
            memcpy(r->status_text, sp + 1, len);
            r->status_text[len] = '\0';
        }
    }
    return n;
}

/* Performs one request. method "GET", "POST" or "DELETE"; body may be NULL (POST sends an empty
 * body). On a transport failure returns the classified code with err naming what. */
static int do_request(struct ray_dashboard_client *c, const char *method, const char *path,
                      const char *body, size_t body_len, bool json_body, struct response *r,
                      struct krc_error *err)
{
    CURL *h = NULL;
    struct curl_slist *headers = NULL, *tmp;
    struct krc_strbuf url = KRC_STRBUF_INIT;
    char errbuf[CURL_ERROR_SIZE] = "";
    int rc = 0;

    memset(r, 0, sizeof(*r));
    krc_strbuf_init(&r->body, RAY_DASHBOARD_MAX_BODY);
    if (krc_strbuf_adds(&url, c->base_url) || krc_strbuf_adds(&url, path))
        goto oom;
    if (!(h = curl_easy_init()))
        goto oom;
    if (json_body) {
        if (!(tmp = curl_slist_append(headers, CONTENT_TYPE_JSON)))
            goto oom;
        headers = tmp;
    }
    if (c->auth_header) {
        if (!(tmp = curl_slist_append(headers, c->auth_header)))
            goto oom;
        headers = tmp;
    }
    /* No "Expect: 100-continue" round trip for larger bodies. */
    if (!(tmp = curl_slist_append(headers, "Expect:")))
        goto oom;
    headers = tmp;

    if (curl_easy_setopt(h, CURLOPT_URL, url.buf) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HEADERDATA, r) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
        rc = krc_error_set(err, KRC_EIO, "%s %s: curl setup failed", method, url.buf);
        goto out;
    }
    CURLcode set = CURLE_OK;
    if (strcmp(method, "POST") == 0) {
        set = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? body_len : 0));
        if (set == CURLE_OK)
            set = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    } else if (strcmp(method, "GET") != 0) {
        set = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    if (set != CURLE_OK) {
        rc = krc_error_set(err, KRC_EIO, "%s %s: curl setup failed", method, url.buf);
        goto out;
    }

    CURLcode res = curl_easy_perform(h);
    if (res != CURLE_OK) {
        long os_errno = 0;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(res);
        if (r->too_large)
            rc = krc_error_set(err, KRC_ETOOLARGE, "%s %s: response body over %u bytes", method,
                               url.buf, RAY_DASHBOARD_MAX_BODY);
        else if (res == CURLE_OPERATION_TIMEDOUT)
            rc = krc_error_set(err, KRC_ETIMEOUT, "%s %s: timeout after %ld ms: %s", method,
                               url.buf, c->timeout_ms, detail);
        else if (res == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED)
            rc = krc_error_set(err, KRC_EIO, "connection refused: %s %s: %s", method, url.buf,
                               detail);
        else
            rc = krc_error_set(err, KRC_EIO, "%s %s: %s", method, url.buf, detail);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    goto out;
oom:
    rc = krc_error_set(err, KRC_ENOMEM, "%s %s: out of memory", method, path);
out:
    curl_slist_free_all(headers);
    if (h)
        curl_easy_cleanup(h);
    krc_strbuf_release(&url);
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
