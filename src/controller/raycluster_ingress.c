/* raycluster_ingress.c - dashboard Ingress (see raycluster_ingress.h). Every cluster annotation
 * except kubernetes.io/ingress.class is copied onto the Ingress (KubeRay's generic way to
 * configure ingress controllers); that one becomes spec.ingressClassName instead. */
#include "controller/raycluster_ingress.h"

#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "controller/raycluster_pod.h"
#include "controller/raycluster_service.h"
#include "ray/raystart.h"

#include <stdio.h>
#include <string.h>

#define INGRESS_CLASS_ANNOTATION "kubernetes.io/ingress.class"

bool raycluster_wants_ingress(const struct raycluster *rc)
{
    return rc->spec.head.enable_ingress.set && rc->spec.head.enable_ingress.v;
}

int raycluster_build_ingress(const struct raycluster *rc, json_t **out, struct krc_error *err)
{
    char ident[RAYNAME_MAX], name[RAYNAME_MAX], svc_name[RAYNAME_MAX], tmp[RAYNAME_MAX];
    const json_t *opts = rc->spec.head.ingress_options;
    const char *path = kobj_str(opts, "path"), *path_type = kobj_str(opts, "pathType");
    const char *host = kobj_str(opts, "host");
    json_t *ports = raycluster_service_ports(rc);
    json_t *dash = json_object_get(ports, "dashboard");
    json_int_t port = json_is_integer(dash) ? json_integer_value(dash) : RAY_DEFAULT_DASHBOARD_PORT;
    json_t *ing = NULL, *anno = json_object();
    *out = NULL;
    snprintf(tmp, sizeof(tmp), "%.400s-head-ingress", rc->meta.name);
    rayname_check_name(tmp, name);
    rayname_head_service(rc, svc_name);
    if (!ports || !anno)
        goto nomem;
    const char *k;
    json_t *v;
    json_object_foreach(rc->meta.annotations, k, v)
    {
        if (strcmp(k, INGRESS_CLASS_ANNOTATION) != 0 && json_object_set(anno, k, v))
            goto nomem;
    }
    json_t *rule = json_pack("{s:{s:[{s:s, s:s, s:{s:{s:s, s:{s:I}}}}]}}", "http", "paths", "path",
                             path ? path : "/", "pathType", path_type ? path_type : "Prefix",
                             "backend", "service", "name", svc_name, "port", "number", port);
    if (rule && host && kobj_set_str(rule, "host", host)) {
        json_decref(rule);
        goto nomem;
    }
    ing =
        json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s, s:s}}, s:{s:[o]}}", "apiVersion",
                  "networking.k8s.io/v1", "kind", "Ingress", "metadata", "name", name, "namespace",
                  rc->meta.ns, "labels", RAY_LABEL_CLUSTER, rc->meta.name, RAY_LABEL_IDENTIFIER,
                  rayname_identifier(rc->meta.name, RAY_NODE_HEAD, ident), K8S_LABEL_APP_NAME,
                  RAY_APP_NAME, K8S_LABEL_CREATED_BY, RAY_COMPONENT_NAME, "spec", "rules", rule);
    if (!ing)
        goto nomem;
    if (json_object_size(anno)) {
        int r = kobj_set_new(kobj_obj(ing, "metadata"), "annotations", anno);
        anno = NULL;
        if (r)
            goto nomem;
    }
    json_t *tls = kobj_arr(opts, "tls");
    const char *cls = raycluster_annotation(rc, INGRESS_CLASS_ANNOTATION);
    if ((json_array_size(tls) && kobj_set_new(kobj_obj(ing, "spec"), "tls", json_deep_copy(tls))) ||
        (cls && kobj_set_str(kobj_obj(ing, "spec"), "ingressClassName", cls)) ||
        raycluster_set_owner(ing, rc))
        goto nomem;
    json_decref(ports);
    json_decref(anno);
    *out = ing;
    return 0;
nomem:
    json_decref(ing);
    json_decref(ports);
    json_decref(anno);
    return krc_error_set(err, KRC_ENOMEM, "build ingress for RayCluster %s/%s: out of memory",
                         rc->meta.ns, rc->meta.name);
}
