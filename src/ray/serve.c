/* serve.c - Ray Serve REST calls of the RayService controller (see serve.h).
 *
 * Decoding mirrors Go's encoding/json into KubeRay's typed structs: unknown fields are ignored,
 * null reads as the zero value, and a known field of the wrong JSON type fails the whole answer
 * ("unparseable"), so the types of the fields KubeRay declares are checked before anything is
 * copied. */
#include "ray/serve.h"

#include "util/gojson.h"

#include <stdio.h>
#include <string.h>

#define ERROR_BODY_MAX 400 /* bytes of a response body quoted in an error */
#define PROXY_URL_MAX  128
#define HTTP_OK        200

static bool str_or_null(const json_t *v)
{
    return !v || json_is_null(v) || json_is_string(v);
}

static bool obj_or_null(const json_t *v)
{
    return !v || json_is_null(v) || json_is_object(v);
}

/* The string fields KubeRay's structs declare, checked for type (values of the others are
 * ignored). */
static bool strings_ok(const json_t *o, const char *const *keys)
{
    for (; *keys; keys++)
        if (!str_or_null(json_object_get(o, *keys)))
            return false;
    return true;
}

static const char *const APP_STRINGS[] = {"name",   "route_prefix", "docs_path",
                                          "status", "message",      NULL};
static const char *const DEPLOY_STRINGS[] = {"name", "status", "message", NULL};
static const char *const TOP_STRINGS[] = {"deploy_mode", NULL};

static bool types_ok(const json_t *root)
{
    const char *k, *dk;
    json_t *app, *dep;
    if (!json_is_object(root) && !json_is_null(root))
        return false;
    if (!strings_ok(root, TOP_STRINGS) || !obj_or_null(json_object_get(root, "applications")))
        return false;
    json_object_foreach(json_object_get(root, "applications"), k, app)
    {
        if (!obj_or_null(app) || !strings_ok(app, APP_STRINGS) ||
            !obj_or_null(json_object_get(app, "deployments")))
            return false;
        json_object_foreach(json_object_get(app, "deployments"), dk, dep)
        {
            if (!obj_or_null(dep) || !strings_ok(dep, DEPLOY_STRINGS))
                return false;
        }
    }
    return true;
}

/* Sets out[key] = v when v is a non-empty string (omitempty). */
static int copy_nonempty(json_t *out, const char *key, const json_t *v)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return 0;
    return json_object_set_new(out, key, json_stringn(json_string_value(v), json_string_length(v)))
               ? KRC_ENOMEM
               : 0;
}

static json_t *app_status(const json_t *app, bool *running)
{
    json_t *out = json_object(), *deps = json_object(), *dep;
    const char *dk;
    const char *st = json_string_value(json_object_get(app, "status"));
    *running = st && strcmp(st, RAY_SERVE_APP_RUNNING) == 0;
    if (!out || !deps || copy_nonempty(out, "status", json_object_get(app, "status")) ||
        copy_nonempty(out, "message", json_object_get(app, "message")))
        goto oom;
    json_object_foreach(json_object_get(app, "deployments"), dk, dep)
    {
        json_t *d = json_object();
        if (!d || copy_nonempty(d, "status", json_object_get(dep, "status")) ||
            copy_nonempty(d, "message", json_object_get(dep, "message")) ||
            json_object_set_new(deps, dk, d))
            goto oom;
    }
    if (json_object_size(deps) && json_object_set(out, "serveDeploymentStatuses", deps))
        goto oom;
    json_decref(deps);
    return out;
oom:
    json_decref(deps);
    json_decref(out);
    return NULL;
}

int ray_serve_parse_applications(long http_status, const char *status_text, const char *body,
                                 size_t len, json_t **apps, bool *ready, struct krc_error *err)
{
    int cut = (int)(len > ERROR_BODY_MAX ? ERROR_BODY_MAX : len);
    json_t *root = NULL, *out = NULL, *app;
    const char *k;
    bool all_running = true;
    *apps = NULL;
    *ready = false;
    if (http_status < 200 || http_status > 299)
        return krc_error_set(err, KRC_ESERVER, "GetServeDetails fail: %s %.*s",
                             status_text ? status_text : "", cut, body ? body : "");
    root = json_loadb(body ? body : "", len, JSON_DECODE_ANY, NULL);
    if (!root || !types_ok(root)) {
        json_decref(root);
        return krc_error_set(err, KRC_EINVAL,
                             "GetServeDetails failed. Failed to unmarshal bytes: %.*s", cut,
                             body ? body : "");
    }
    if (!(out = json_object()))
        goto oom;
    json_object_foreach(json_object_get(root, "applications"), k, app)
    {
        bool running;
        json_t *st = app_status(app, &running);
        if (!st || json_object_set_new(out, *k ? k : RAY_SERVE_DEFAULT_APP_NAME, st))
            goto oom;
        all_running &= running;
    }
    *ready = json_object_size(out) > 0 && all_running;
    *apps = out;
    json_decref(root);
    return 0;
oom:
    json_decref(out);
    json_decref(root);
    return krc_error_set(err, KRC_ENOMEM, "GetServeDetails: out of memory");
}

int ray_serve_build_body(const char *serve_config_yaml, struct krc_strbuf *out,
                         struct krc_error *err)
{
    const char *y = serve_config_yaml ? serve_config_yaml : "";
    json_t *doc = NULL;
    int rc = gojson_yaml_to_json(y, strlen(y), &doc, err);
    if (rc)
        return rc;
    if (!json_is_object(doc) && !json_is_null(doc)) {
        json_decref(doc);
        return krc_error_set(err, KRC_EINVAL,
                             "yaml: unmarshal errors: serveConfigV2 is not a mapping");
    }
    rc = gojson_encode(doc, out, err);
    json_decref(doc);
    return rc;
}

int ray_serve_get_applications(struct ray_dashboard_client *c, json_t **apps, bool *ready,
                               struct krc_error *err)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    char text[RAY_DASHBOARD_STATUS_TEXT_MAX] = "";
    long status = 0;
    *apps = NULL;
    *ready = false;
    int rc = ray_dashboard_request(c, "GET", RAY_SERVE_APPS_PATH RAY_SERVE_APPS_QUERY, NULL, 0,
                                   &status, text, &body, err);
    if (!rc)
        rc = ray_serve_parse_applications(status, text, body.buf, body.len, apps, ready, err);
    krc_strbuf_release(&body);
    return rc;
}

int ray_serve_put_applications(struct ray_dashboard_client *c, const char *serve_config_yaml,
                               struct krc_error *err)
{
    struct krc_strbuf req = KRC_STRBUF_INIT, body = KRC_STRBUF_INIT;
    char text[RAY_DASHBOARD_STATUS_TEXT_MAX] = "";
    long status = 0;
    int rc = ray_serve_build_body(serve_config_yaml, &req, err);
    if (!rc)
        rc = ray_dashboard_request(c, "PUT", RAY_SERVE_APPS_PATH, req.buf, req.len, &status, text,
                                   &body, err);
    if (!rc && (status < 200 || status > 299))
        rc = krc_error_set(err, KRC_ESERVER, "UpdateDeployments fail: %s %.*s", text,
                           (int)(body.len > ERROR_BODY_MAX ? ERROR_BODY_MAX : body.len),
                           body.buf ? body.buf : "");
    krc_strbuf_release(&req);
    krc_strbuf_release(&body);
    return rc;
}

bool ray_serve_proxy_healthy(const char *ip, long long port)
{
    char base[PROXY_URL_MAX], text[RAY_DASHBOARD_STATUS_TEXT_MAX];
    struct ray_dashboard_client *c = NULL;
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    long status = 0;
    if (!ip || !*ip)
        return false;
    snprintf(base, sizeof(base), "http://%s:%lld", ip, port);
    struct ray_dashboard_opts o = {.base_url = base, .timeout_ms = RAY_DASHBOARD_TIMEOUT_MS};
    bool ok = ray_dashboard_client_new(&o, &c, &err) == 0 &&
              ray_dashboard_request(c, "GET", RAY_SERVE_PROXY_HEALTHZ, NULL, 0, &status, text,
                                    &body, &err) == 0 &&
              status == HTTP_OK;
    ray_dashboard_client_free(c);
    krc_strbuf_release(&body);
    return ok;
}
