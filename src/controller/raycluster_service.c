/* raycluster_service.c - head, headless-worker and serve Services (see raycluster_service.h).
 *
 * The port set comes from the head *template's* Ray container (not the built pod), so the pod's
 * operator-added metrics port never suppresses the defaults - a KubeRay quirk we keep. Ports are
 * kept in a name-sorted JSON object while collecting (duplicate names: last wins, like KubeRay's
 * map), which also gives the sorted order KubeRay applies to the default head Service. */
#include "controller/raycluster_service.h"

#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "controller/raycluster_pod.h"
#include "ray/raystart.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *raycluster_head_service_selector(const struct raycluster *rc)
{
    char ident[RAYNAME_MAX];
    return json_pack("{s:s, s:s, s:s}", RAY_LABEL_CLUSTER, rc->meta.name, RAY_LABEL_NODE_TYPE,
                     "head", RAY_LABEL_IDENTIFIER,
                     rayname_identifier(rc->meta.name, RAY_NODE_HEAD, ident));
}

json_t *raycluster_service_ports(const struct raycluster *rc)
{
    json_t *m = json_object();
    json_t *ray = kobj_container(kobj_obj(rc->spec.head.template, "spec"), 0);
    size_t i;
    json_t *p;
    if (!m)
        return NULL;
    json_array_foreach(kobj_arr(ray, "ports"), i, p)
    {
        json_t *cp = json_object_get(p, "containerPort");
        json_int_t port = json_is_integer(cp) ? json_integer_value(cp) : 0;
        const char *name = kobj_str(p, "name");
        char buf[40];
        if (!name || !*name) {
            snprintf(buf, sizeof(buf), "%lld-port", (long long)port);
            name = buf;
        }
        if (kobj_set_new(m, name, json_integer(port)))
            goto err;
    }
    if (json_object_size(m) == 0 &&
        (kobj_set_new(m, "client", json_integer(RAY_DEFAULT_CLIENT_PORT)) ||
         kobj_set_new(m, "gcs-server", json_integer(atoi(RAY_DEFAULT_GCS_PORT))) ||
         kobj_set_new(m, "dashboard", json_integer(RAY_DEFAULT_DASHBOARD_PORT)) ||
         kobj_set_new(m, "metrics", json_integer(RAY_DEFAULT_METRICS_PORT)) ||
         kobj_set_new(m, "serve", json_integer(RAY_DEFAULT_SERVE_PORT))))
        goto err;
    if (!json_object_get(m, "metrics") &&
        kobj_set_new(m, "metrics", json_integer(RAY_DEFAULT_METRICS_PORT)))
        goto err;
    return m;
err:
    json_decref(m);
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends {name, port[, appProtocol: tcp]} for the ports accepted by keep(), in name order. */
static int append_ports(json_t *list, const json_t *ports, bool app_protocol,
                        bool (*keep)(const char *))
{
    size_t n = json_object_size(ports), i = 0;
    const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
    json_t *pm = (json_t *)(uintptr_t)ports;
    int rc = 0;
    if (n && !keys)
        return KRC_ENOMEM;
    for (void *it = json_object_iter(pm); it; it = json_object_iter_next(pm, it))
        keys[i++] = json_object_iter_key(it);
    if (n)
        qsort(keys, n, sizeof(*keys), cmp_str);
    for (i = 0; i < n && !rc; i++) {
        if (keep && !keep(keys[i]))
            continue;
        json_t *sp = json_pack("{s:s, s:O}", "name", keys[i], "port", json_object_get(pm, keys[i]));
        if (sp && app_protocol && kobj_set_str(sp, "appProtocol", "tcp")) {
            json_decref(sp);
            sp = NULL;
        }
        rc = kobj_append_new(list, sp);
    }
    free(keys);
    return rc;
}

static int copy_map_into(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)src, k, v)
    {
        if (json_object_set(dst, k, v))
            return KRC_ENOMEM;
    }
    return 0;
}

int raycluster_build_head_service(const struct raycluster *rc, const struct raycluster_opts *o,
                                  json_t **out, struct krc_error *err)
{
    char ident[RAYNAME_MAX], name[RAYNAME_MAX];
    const struct raycluster_head_group *h = &rc->spec.head;
    const char *app = kobj_map_get(kobj_path(h->template, "metadata.labels"), K8S_LABEL_APP_NAME);
    json_t *ports = raycluster_service_ports(rc);
    json_t *selector = json_pack(
        "{s:s, s:s, s:s, s:s, s:s}", RAY_LABEL_CLUSTER, rc->meta.name, RAY_LABEL_NODE_TYPE, "head",
        RAY_LABEL_IDENTIFIER, rayname_identifier(rc->meta.name, RAY_NODE_HEAD, ident),
        K8S_LABEL_APP_NAME, app ? app : RAY_APP_NAME, K8S_LABEL_CREATED_BY, RAY_COMPONENT_NAME);
    json_t *svc = NULL;
    int r = KRC_ENOMEM;
    *out = NULL;
    if (!ports || !selector)
        goto err;
    rayname_head_service(rc, name);
    if (h->head_service) {
        /* The user's Service is the base: selector replaced, annotations and labels overlaid,
         * generated ports appended; not made headless. */
        svc = json_deep_copy(h->head_service);
        json_t *meta = svc ? kobj_ensure_obj(svc, "metadata") : NULL;
        json_t *spec = svc ? kobj_ensure_obj(svc, "spec") : NULL;
        json_t *anno = meta ? kobj_ensure_obj(meta, "annotations") : NULL;
        json_t *labels = meta ? kobj_ensure_obj(meta, "labels") : NULL;
        json_t *plist = spec ? kobj_ensure_arr(spec, "ports") : NULL;
        const char *type = kobj_str(spec, "type");
        if (!anno || !labels || !plist ||
            kobj_set_new(spec, "selector", json_deep_copy(selector)) ||
            copy_map_into(anno, rc->spec.head_service_annotations) ||
            append_ports(plist, ports, true, NULL) || copy_map_into(labels, selector) ||
            kobj_set_str(meta, "name", name) || kobj_set_str(meta, "namespace", rc->meta.ns) ||
            ((!type || !*type) && h->service_type && kobj_set_str(spec, "type", h->service_type)))
            goto err;
        if (json_object_size(anno) == 0)
            json_object_del(meta, "annotations");
        if (!kobj_str(svc, "apiVersion") && kobj_set_str(svc, "apiVersion", "v1"))
            goto err;
        if (!kobj_str(svc, "kind") && kobj_set_str(svc, "kind", "Service"))
            goto err;
    } else {
        svc = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:{s:[], s:O}}", "apiVersion", "v1", "kind",
                        "Service", "metadata", "name", name, "namespace", rc->meta.ns, "labels",
                        json_deep_copy(selector), "spec", "ports", "selector", selector);
        json_t *meta = kobj_obj(svc, "metadata"), *spec = kobj_obj(svc, "spec");
        if (!svc || append_ports(kobj_arr(spec, "ports"), ports, true, NULL))
            goto err;
        if (json_object_size(rc->spec.head_service_annotations) &&
            kobj_set_new(meta, "annotations", json_deep_copy(rc->spec.head_service_annotations)))
            goto err;
        const char *type = h->service_type ? h->service_type : "";
        if (*type && kobj_set_str(spec, "type", type))
            goto err;
        if (!o->head_cluster_ip_service && (!*type || strcmp(type, "ClusterIP") == 0) &&
            (kobj_set_str(spec, "clusterIP", "None") ||
             kobj_set_new(spec, "publishNotReadyAddresses", json_true())))
            goto err;
    }
    /* KubeRay also rejects a head Service without ports; metrics is always added, so it cannot
     * happen here. */
    if (raycluster_set_owner(svc, rc))
        goto err;
    *out = svc;
    svc = NULL;
    r = 0;
    goto out;
err:
    r = krc_error_set(err, KRC_ENOMEM, "build head service for RayCluster %s/%s: out of memory",
                      rc->meta.ns, rc->meta.name);
out:
    json_decref(svc);
    json_decref(ports);
    json_decref(selector);
    return r;
}

bool raycluster_wants_headless_worker_service(const struct raycluster *rc)
{
    for (size_t i = 0; i < rc->spec.n_workers; i++)
        if (rc->spec.workers[i].num_of_hosts.set && rc->spec.workers[i].num_of_hosts.v > 1)
            return true;
    return false;
}

int raycluster_build_headless_worker_service(const struct raycluster *rc, json_t **out,
                                             struct krc_error *err)
{
    char name[RAYNAME_MAX];
    snprintf(name, sizeof(name), "%.400s-headless", rc->meta.name);
    json_t *svc = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s, s:{s:s, s:s}, s:s, s:b}}",
                            "apiVersion", "v1", "kind", "Service", "metadata", "name", name,
                            "namespace", rc->meta.ns, "labels", RAY_LABEL_HEADLESS_WORKER_SVC,
                            rc->meta.name, "spec", "clusterIP", "None", "selector",
                            RAY_LABEL_CLUSTER, rc->meta.name, RAY_LABEL_NODE_TYPE, "worker", "type",
                            "ClusterIP", "publishNotReadyAddresses", 1);
    *out = NULL;
    if (!svc || raycluster_set_owner(svc, rc)) {
        json_decref(svc);
        return krc_error_set(err, KRC_ENOMEM,
                             "build headless service for RayCluster %s/%s: out of memory",
                             rc->meta.ns, rc->meta.name);
    }
    *out = svc;
    return 0;
}

static bool is_serving_port(const char *name)
{
    return strcmp(name, "serve") == 0 || strncmp(name, "serve-", 6) == 0;
}

int raycluster_build_serve_service(const struct raycluster *rc, json_t **out, struct krc_error *err)
{
    char name[RAYNAME_MAX], label[RAYNAME_MAX];
    json_t *ports = raycluster_service_ports(rc);
    json_t *svc = NULL;
    *out = NULL;
    snprintf(name, sizeof(name), "%.400s-serve-svc", rc->meta.name);
    snprintf(label, sizeof(label), "%.400s-serve", rc->meta.name);
    if (!ports)
        goto nomem;
    svc = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}}, s:{s:{s:s}, s:[]}}", "apiVersion",
                    "v1", "kind", "Service", "metadata", "name", name, "namespace", rc->meta.ns,
                    "labels", RAY_LABEL_ORIGINATED_FROM_CR_NAME, rc->meta.name,
                    RAY_LABEL_ORIGINATED_FROM_CRD, "RayCluster", RAY_LABEL_SERVE, label, "spec",
                    "selector", RAY_LABEL_CLUSTER, rc->meta.name, "ports");
    if (!svc || append_ports(kobj_path(svc, "spec.ports"), ports, false, is_serving_port))
        goto nomem;
    if (json_array_size(kobj_path(svc, "spec.ports")) == 0) {
        json_decref(svc);
        json_decref(ports);
        return krc_error_set(err, KRC_EINVAL,
                             "Please specify a port named 'serve' (or with the prefix 'serve-', "
                             "e.g. 'serve-grpc') in the Ray head container; otherwise, the "
                             "Kubernetes service for Ray Serve will not be created.");
    }
    const char *type = rc->spec.head.service_type;
    if ((type && *type && kobj_set_str(kobj_obj(svc, "spec"), "type", type)) ||
        raycluster_set_owner(svc, rc))
        goto nomem;
    json_decref(ports);
    *out = svc;
    return 0;
nomem:
    json_decref(svc);
    json_decref(ports);
    return krc_error_set(err, KRC_ENOMEM, "build serve service for RayCluster %s/%s: out of memory",
                         rc->meta.ns, rc->meta.name);
}
