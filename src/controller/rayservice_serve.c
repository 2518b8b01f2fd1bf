/* rayservice_serve.c - the parts of a RayService pass that talk to Ray (spec rayservice.md §7,
 * §8): the head Pod's ray.io/serve label from the Serve proxy's health, and the Serve
 * applications of one cluster (status GET every pass, config PUT on a cache miss, zero
 * applications or changed text, §7.3). */
#include "controller/rayservice_controller_internal.h"

#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "controller/rayservice_cluster.h"
#include "kube/informer.h"
#include "ray/dashboard.h"
#include "ray/serve.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/wipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASHBOARD_PORT "dashboard"
#define URL_MAX        512 /* http://<253>.<63>.svc.<63>:<port> */
#define SERVE_GET_HINT                                                                             \
    "failed to get Serve application statuses from the dashboard. If you observe this error "      \
    "consistently, please check "                                                                  \
    "https://docs.ray.io/en/latest/cluster/kubernetes/troubleshooting/"                            \
    "rayservice-troubleshooting.html for more details. err: failed to get serve details: "
#define SERVE_PUT_HINT                                                                             \
    "fail to create / update Serve applications. If you observe this error consistently, please "  \
    "check \"Issue 5: Fail to create / update Serve applications.\" in "                           \
    "https://docs.ray.io/en/master/cluster/kubernetes/troubleshooting/"                            \
    "rayservice-troubleshooting.html#kuberay-raysvc-troubleshoot for more details. err: "

/* ---- §8 head Pod serve label ---------------------------------------------------------------- */

int rayservice_pass_head_label(struct rayservice_pass *x, const json_t *cluster,
                               struct krc_error *err)
{
    const char *cname = rayservice_pass_name(cluster);
    char sel[RAYSERVICE_SELECTOR_MAX];
    json_t *pods = NULL;
    int r;
    snprintf(sel, sizeof(sel), "%s=%s,%s=head", RAY_LABEL_CLUSTER, cname, RAY_LABEL_NODE_TYPE);
    if ((r = rayservice_pass_list(x, &rayservice_res_pod, sel, &pods, err)))
        return r;
    json_t *items = kobj_arr(pods, "items");
    if (json_array_size(items) == 0) {
        json_decref(pods);
        return krc_error_set(err, KRC_ENOTFOUND, "found 0 head. cluster name %s, namespace %s",
                             cname, rayservice_pass_ns(x));
    }
    if (json_array_size(items) > 1) {
        json_decref(pods);
        return krc_error_set(err, KRC_EINVAL, "found multiple heads. filter labels %s", sel);
    }
    json_t *pod = json_array_get(items, 0);
    const char *value = "false";
    if (!x->rs->spec.exclude_head_pod_from_serve_svc) {
        long long port = RAYSERVICE_DEFAULT_SERVE_PT;
        kobj_container_port(kobj_container(kobj_obj(pod, "spec"), 0), "serve", &port);
        if (ray_serve_proxy_healthy(kobj_path_str(pod, "status.podIP"), port))
            value = "true";
    }
    const char *have = kobj_map_get(kobj_path(pod, "metadata.labels"), RAY_LABEL_SERVE);
    const char *pname = rayservice_pass_name(pod);
    if (!have || strcmp(have, value) != 0) {
        char body[256];
        snprintf(body, sizeof(body), "{\"metadata\":{\"labels\":{\"%s\":\"%s\"}}}", RAY_LABEL_SERVE,
                 value);
        r = krc_client_patch(x->c->o.client, &rayservice_res_pod, rayservice_pass_ns(x), pname,
                             NULL, KRC_PATCH_MERGE, body, strlen(body), NULL, NULL, err);
        if (r)
            rayservice_pass_event(
                x, KRC_EVENT_WARNING, "FailedToUpdateHeadPodServeLabel", "Update",
                "Failed to update the serve label to \"%s\" for the Head Pod %s/%s: %s", value,
                rayservice_pass_ns(x), pname, err->msg);
        else
            rayservice_pass_event(x, KRC_EVENT_NORMAL, "UpdatedHeadPodServeLabel", "Update",
                                  "Updated the serve label to \"%s\" for the Head Pod %s/%s", value,
                                  rayservice_pass_ns(x), pname);
    }
    json_decref(pods);
    return r;
}

/* ---- §7 Serve applications ------------------------------------------------------------------ */

static bool head_ready(const json_t *cluster)
{
    json_t *c;
    size_t i;
    json_array_foreach(kobj_path(cluster, "status.conditions"), i, c)
    {
        const char *t = kobj_str(c, "type"), *s = kobj_str(c, "status");
        if (t && s && strcmp(t, "HeadPodReady") == 0)
            return strcmp(s, "True") == 0;
    }
    return false;
}

/* The head Service's spec: from the RayClusters' Service cache, else (not cached yet) from the
 * API server. */
static int head_service_spec(struct rayservice_pass *x, const char *name, json_t **spec,
                             struct krc_error *err)
{
    struct krc_object *o =
        krc_store_get(krc_informer_store(x->c->cluster_svcs[x->nsi]), rayservice_pass_ns(x), name);
    json_t *svc = NULL;
    int r;
    *spec = NULL;
    if (o) {
        r = krc_object_path_json(o, RAYCLUSTER_SVC_CACHE_PATH_SPEC, spec, err);
        krc_object_unref(o);
        return r;
    }
    if ((r = rayservice_pass_get(x, &rayservice_res_service, name, &svc, err)))
        return r;
    *spec = json_incref(kobj_obj(svc, "spec"));
    json_decref(svc);
    return 0;
}

/* The dashboard's base URL: head Pod IP and the head Service's port named dashboard. */
static int dashboard_base(struct rayservice_pass *x, const json_t *cluster, char *out, size_t size,
                          struct krc_error *err)
{
    char svcname[RAYSERVICE_NAME_MAX];
    json_t *spec = NULL, *p;
    size_t i;
    long long port = -1;
    const char *hs = kobj_path_str(cluster, "spec.headGroupSpec.headService.metadata.name");
    snprintf(svcname, sizeof(svcname), "%s", hs && *hs ? hs : "");
    if (!*svcname)
        snprintf(svcname, sizeof(svcname), "%.250s-head-svc", rayservice_pass_name(cluster));
    int r = head_service_spec(x, svcname, &spec, err);
    if (r)
        return r;
    json_array_foreach(kobj_arr(spec, "ports"), i, p)
    {
        const char *n = kobj_str(p, "name");
        if (n && strcmp(n, DASHBOARD_PORT) == 0 && json_is_integer(json_object_get(p, "port")))
            port = json_integer_value(json_object_get(p, "port"));
    }
    json_decref(spec);
    if (port < 0)
        return krc_error_set(err, KRC_EINVAL, "dashboard port is not found");
    const char *ip = kobj_path_str(cluster, "status.head.podIP");
    if (ip && *ip)
        snprintf(out, size, "http://%.64s:%lld", ip, port);
    else
        snprintf(out, size, "http://%.253s.%.63s.svc.%.63s:%lld", svcname, rayservice_pass_ns(x),
                 x->c->o.build.cluster_domain && *x->c->o.build.cluster_domain
                     ? x->c->o.build.cluster_domain
                     : RAYSERVICE_DEFAULT_DOMAIN,
                 port);
    return 0;
}

/* §14.1: the dashboard token of a cluster with authOptions.mode token, from its Secret (the
 * name from authOptions.secretName, else the cluster name as the RayCluster controller names
 * it), key auth_token. *token is NULL when auth is off; the caller wipes and frees it. */
static int auth_token(struct rayservice_pass *x, const json_t *cluster, char **token,
                      struct krc_error *err)
{
    const char *mode = kobj_path_str(cluster, "spec.authOptions.mode");
    const char *sn = kobj_path_str(cluster, "spec.authOptions.secretName");
    char name[RAYNAME_MAX];
    json_t *secret = NULL;
    size_t len = 0;
    int r;
    *token = NULL;
    if (!mode || strcmp(mode, "token") != 0)
        return 0;
    if (!sn || !*sn)
        sn = rayname_check_name(rayservice_pass_name(cluster), name);
    if ((r = rayservice_pass_get(x, &rayservice_res_secret, sn, &secret, err)))
        return krc_error_wrap(err, r, "failed to get auth secret %s/%s: ", rayservice_pass_ns(x),
                              sn);
    const char *b64 = kobj_map_get(kobj_obj(secret, "data"), "auth_token");
    if (!b64)
        r = krc_error_set(err, KRC_EINVAL,
                          "auth token key '\"auth_token\"' not found in secret %s/%s",
                          rayservice_pass_ns(x), sn);
    else if (krc_base64_decode(b64, strlen(b64), token, &len, NULL))
        r = krc_error_set(err, KRC_EINVAL, "auth secret %s/%s: auth_token is not base64",
                          rayservice_pass_ns(x), sn);
    json_decref(secret);
    return r;
}

int rayservice_pass_serve(struct rayservice_pass *x, const json_t *cluster, json_t **apps,
                          bool *ready, struct krc_error *err)
{
    char base[URL_MAX], *token = NULL;
    struct ray_dashboard_client *dc = NULL;
    const char *cname = rayservice_pass_name(cluster), *config = x->rs->spec.serve_config_v2;
    int r;
    *apps = NULL;
    *ready = false;
    if (!head_ready(cluster))
        return 0;
    if ((r = dashboard_base(x, cluster, base, sizeof(base), err)) ||
        (r = auth_token(x, cluster, &token, err)))
        return r;
    struct ray_dashboard_opts o = {
        .base_url = base, .auth_token = token, .timeout_ms = RAY_DASHBOARD_TIMEOUT_MS};
    r = ray_dashboard_client_new(&o, &dc, err);
    krc_wipe_str(token);
    free(token);
    if (r)
        return r;
    if ((r = ray_serve_get_applications(dc, apps, ready, err))) {
        krc_error_wrap(err, r, SERVE_GET_HINT);
        goto out;
    }
    bool submit = !rayservice_memory_serve_has(&x->c->mem, x->key, cname) ||
                  json_object_size(*apps) == 0 ||
                  !rayservice_memory_serve_matches(&x->c->mem, x->key, cname, config);
    if (!submit)
        goto out;
    KRC_LOG_INFO("submitting the Serve config", "rayservice", x->key, "cluster", cname);
    if ((r = ray_serve_put_applications(dc, config, err))) {
        krc_error_wrap(err, r, SERVE_PUT_HINT);
        rayservice_pass_event(x, KRC_EVENT_WARNING, "FailedToUpdateServeApplications", "Update",
                              "Failed to update serve applications to the RayCluster %s/%s: %s",
                              rayservice_pass_ns(x), cname, err->msg);
        goto out;
    }
    if (*config)
        rayservice_memory_serve_store(&x->c->mem, x->key, cname, config);
    rayservice_pass_event(x, KRC_EVENT_NORMAL, "UpdatedServeApplications", "Update",
                          "Updated serve applications to the RayCluster %s/%s",
                          rayservice_pass_ns(x), cname);
out:
    ray_dashboard_client_free(dc);
    if (r) {
        json_decref(*apps);
        *apps = NULL;
        *ready = false;
    }
    return r;
}
