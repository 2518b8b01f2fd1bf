/* rayservice_cluster.c - RayClusters, hashes, Services and endpoint counts of a RayService (see
 * rayservice_cluster.h). Hashes as raycluster_hash.c does; the hash detects
 * changes, it guards nothing. */
#include "controller/rayservice_cluster.h"

#include "api/kobj.h"
#include "controller/raycluster_hash.h"
#include "controller/raycluster_names.h"
#include "controller/raycluster_pod.h"
#include "controller/raycluster_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hash ----------------------------------------------------------------------------------- */

_Static_assert(RAYSERVICE_HASH_LEN == RAYCLUSTER_HASH_LEN, "one hash format for both");

int rayservice_cluster_hash(const json_t *cluster_config, long ngroups,
                            char out[RAYSERVICE_HASH_LEN + 1])
{
    json_t *spec = json_is_object(cluster_config) ? json_deep_copy(cluster_config) : json_object();
    if (!spec)
        return KRC_ENOMEM;
    json_object_del(spec, "suspend");
    json_object_del(spec, "upgradeStrategy");
    raycluster_hash_strip_group(kobj_obj(spec, "headGroupSpec"));
    json_t *groups = kobj_arr(spec, "workerGroupSpecs"), *w;
    while (groups && ngroups >= 0 && json_array_size(groups) > (size_t)ngroups)
        json_array_remove(groups, json_array_size(groups) - 1);
    size_t i;
    json_array_foreach(groups, i, w) raycluster_hash_strip_group(w);
    int r = raycluster_hash_json(spec, out);
    json_decref(spec);
    return r;
}

int rayservice_compare_cluster(const struct rayservice *rs, const json_t *cluster_annotations,
                               struct rayservice_hash_cmp *out)
{
    char goal[RAYSERVICE_HASH_LEN + 1];
    const char *have = kobj_map_get(cluster_annotations, RAYSERVICE_ANNOTATION_HASH);
    const char *ng = kobj_map_get(cluster_annotations, RAYSERVICE_ANNOTATION_NUM_GROUPS);
    int r;
    out->full = out->prefix = false;
    if ((r = rayservice_cluster_hash(rs->spec.cluster_config, RAYSERVICE_ALL_WORKER_GROUPS, goal)))
        return r;
    out->full = have && strcmp(have, goal) == 0;
    char *end = NULL;
    long n = ng ? strtol(ng, &end, 10) : 0;
    if (!ng || !*ng || *end || n < 0) {
        out->prefix = true; /* a missing or non-integer count counts as "prefix equal" */
        return 0;
    }
    size_t goal_groups = json_array_size(kobj_arr(rs->spec.cluster_config, "workerGroupSpecs"));
    if (goal_groups < (size_t)n)
        return 0;
    if ((r = rayservice_cluster_hash(rs->spec.cluster_config, n, goal)))
        return r;
    out->prefix = have && strcmp(have, goal) == 0;
    return 0;
}

/* ---- the RayCluster ------------------------------------------------------------------------- */

json_t *rayservice_owner_reference(const struct rayservice *rs)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", "ray.io/v1", "kind",
                     RAYSERVICE_KIND, "name", rs->meta.name, "uid", rs->meta.uid, "controller", 1,
                     "blockOwnerDeletion", 1);
}

const char *rayservice_owner_name(const char *owner_kind, const char *owner_name,
                                  const char *crd_label, const char *cr_name_label)
{
    if (owner_kind && owner_name && *owner_name && strcmp(owner_kind, RAYSERVICE_KIND) == 0)
        return owner_name;
    if (crd_label && cr_name_label && *cr_name_label && strcmp(crd_label, RAYSERVICE_KIND) == 0)
        return cr_name_label;
    return NULL;
}

bool rayservice_labels_match(const char *crd_label, const char *cr_name_label, const char *name)
{
    return crd_label && cr_name_label && name && strcmp(crd_label, RAYSERVICE_KIND) == 0 &&
           strcmp(cr_name_label, name) == 0;
}

int rayservice_set_owner(json_t *obj, const struct rayservice *rs)
{
    json_t *meta = kobj_ensure_obj(obj, "metadata");
    json_t *refs = meta ? kobj_ensure_arr(meta, "ownerReferences") : NULL;
    if (!refs)
        return KRC_ENOMEM;
    return kobj_append_new(refs, rayservice_owner_reference(rs));
}

static int oom(struct krc_error *err, const struct rayservice *rs, const char *what)
{
    return krc_error_set(err, KRC_ENOMEM, "build the %s of RayService %s/%s: out of memory", what,
                         rs->meta.ns, rs->meta.name);
}

int rayservice_build_cluster(const struct rayservice *rs, const char *name, const char *version,
                             json_t **out, struct krc_error *err)
{
    char hash[RAYSERVICE_HASH_LEN + 1], ngroups[32];
    json_t *rc = NULL, *labels, *anno, *spec;
    *out = NULL;
    if (!rs->spec.cluster_config)
        return krc_error_set(err, KRC_EINVAL, "RayService %s/%s has no rayClusterConfig",
                             rs->meta.ns, rs->meta.name);
    if (rayservice_cluster_hash(rs->spec.cluster_config, RAYSERVICE_ALL_WORKER_GROUPS, hash))
        return oom(err, rs, "RayCluster");
    snprintf(ngroups, sizeof(ngroups), "%zu",
             json_array_size(kobj_arr(rs->spec.cluster_config, "workerGroupSpecs")));
    labels = rs->meta.labels ? json_deep_copy(rs->meta.labels) : json_object();
    anno = rs->meta.annotations ? json_deep_copy(rs->meta.annotations) : json_object();
    spec = json_deep_copy(rs->spec.cluster_config);
    if (!labels || !anno || !spec ||
        kobj_set_str(labels, RAY_LABEL_ORIGINATED_FROM_CR_NAME, rs->meta.name) ||
        kobj_set_str(labels, RAY_LABEL_ORIGINATED_FROM_CRD, RAYSERVICE_KIND) ||
        kobj_set_str(anno, RAYSERVICE_ANNOTATION_HASH, hash) ||
        kobj_set_str(anno, RAYSERVICE_ANNOTATION_NUM_GROUPS, ngroups) ||
        kobj_set_str(anno, RAY_ANNOTATION_KUBERAY_VERSION, version ? version : "")) {
        json_decref(labels);
        json_decref(anno);
        json_decref(spec);
        return oom(err, rs, "RayCluster");
    }
    rc = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:o}, s:o}", "apiVersion", "ray.io/v1", "kind",
                   "RayCluster", "metadata", "name", name, "namespace", rs->meta.ns, "labels",
                   labels, "annotations", anno, "spec", spec);
    if (!rc || rayservice_set_owner(rc, rs)) {
        json_decref(rc);
        return oom(err, rs, "RayCluster");
    }
    *out = rc;
    return 0;
}

/* ---- Services ------------------------------------------------------------------------------- */

int rayservice_build_head_service(const struct rayservice *rs, const struct raycluster *cluster,
                                  const struct raycluster_opts *o, json_t **out,
                                  struct krc_error *err)
{
    json_t *svc = NULL, *meta, *labels, *sel;
    char name[RAYSERVICE_NAME_MAX], ident[RAYSERVICE_NAME_MAX];
    int r;
    *out = NULL;
    if ((r = raycluster_build_head_service(cluster, o, &svc, err)))
        return r;
    snprintf(name, sizeof(name), "%.200s" RAYSERVICE_HEAD_SVC_SUFFIX, rs->meta.name);
    snprintf(ident, sizeof(ident), "%.200s-head", rs->meta.name);
    labels = json_pack("{s:s, s:s, s:s, s:s}", RAY_LABEL_ORIGINATED_FROM_CR_NAME, rs->meta.name,
                       RAY_LABEL_ORIGINATED_FROM_CRD, RAYSERVICE_KIND, RAY_LABEL_NODE_TYPE, "head",
                       RAY_LABEL_IDENTIFIER, ident);
    meta = kobj_ensure_obj(svc, "metadata");
    sel = kobj_path(svc, "spec.selector");
    /* No label or annotation inputs from the cluster (§9.1), default app name in the selector. */
    if (meta)
        json_object_del(meta, "annotations");
    if (!meta || !labels || !sel || kobj_set_new(meta, "labels", labels) ||
        kobj_set_str(meta, "name", name) || kobj_set_str(sel, K8S_LABEL_APP_NAME, RAY_APP_NAME) ||
        (json_object_del(meta, "ownerReferences"), rayservice_set_owner(svc, rs))) {
        json_decref(svc);
        return oom(err, rs, "head Service");
    }
    *out = svc;
    return 0;
}

const char *rayservice_serve_service_name(const struct rayservice *rs, char *buf)
{
    const char *n = kobj_path_str(rs->spec.serve_service, "metadata.name");
    if (n && *n)
        snprintf(buf, RAYSERVICE_NAME_MAX, "%s", n);
    else
        snprintf(buf, RAYSERVICE_NAME_MAX, "%.200s" RAYSERVICE_SERVE_SVC_SUFFIX, rs->meta.name);
    return buf;
}

static bool is_serve_port(const char *name)
{
    return strcmp(name, "serve") == 0 || strncmp(name, "serve-", 6) == 0;
}

/* The auto-detected serve ports of the cluster's head container as [{name, port}], in name
 * order. */
static json_t *serve_ports(const struct raycluster *cluster)
{
    json_t *ports = raycluster_service_ports(cluster), *list = json_array(), *v;
    const char *k;
    if (!ports || !list)
        goto err;
    json_object_foreach(ports, k, v)
    {
        if (is_serve_port(k) &&
            kobj_append_new(list, json_pack("{s:s, s:O}", "name", k, "port", v)))
            goto err;
    }
    json_decref(ports);
    return list;
err:
    json_decref(ports);
    json_decref(list);
    return NULL;
}

int rayservice_build_serve_service(const struct rayservice *rs, const struct raycluster *cluster,
                                   json_t **out, struct krc_error *err)
{
    char name[RAYSERVICE_NAME_MAX], label[RAYSERVICE_NAME_MAX];
    json_t *auto_ports = serve_ports(cluster), *svc = NULL, *meta, *spec, *labels, *ports;
    const json_t *tmpl = rs->spec.serve_service;
    *out = NULL;
    if (!auto_ports)
        goto nomem;
    if (json_array_size(auto_ports) == 0 && !tmpl) {
        json_decref(auto_ports);
        return krc_error_set(err, KRC_EINVAL,
                             "Please specify a port named 'serve' (or with the prefix 'serve-', "
                             "e.g. 'serve-grpc') in the Ray head container; otherwise, the "
                             "Kubernetes service for Ray Serve will not be created.");
    }
    rayservice_serve_service_name(rs, name);
    snprintf(label, sizeof(label), "%.200s-serve", rs->meta.name);
    svc = tmpl ? json_deep_copy(tmpl) : json_object();
    meta = svc ? kobj_ensure_obj(svc, "metadata") : NULL;
    spec = svc ? kobj_ensure_obj(svc, "spec") : NULL;
    labels = meta ? kobj_ensure_obj(meta, "labels") : NULL;
    if (!labels || !spec || kobj_set_str(svc, "apiVersion", "v1") ||
        kobj_set_str(svc, "kind", "Service") || kobj_set_str(meta, "name", name) ||
        kobj_set_str(meta, "namespace", rs->meta.ns) ||
        kobj_set_str(labels, RAY_LABEL_ORIGINATED_FROM_CR_NAME, rs->meta.name) ||
        kobj_set_str(labels, RAY_LABEL_ORIGINATED_FROM_CRD, RAYSERVICE_KIND) ||
        kobj_set_str(labels, RAY_LABEL_SERVE, label) ||
        kobj_set_new(spec, "selector",
                     json_pack("{s:s, s:s}", RAY_LABEL_CLUSTER, cluster->meta.name, RAY_LABEL_SERVE,
                               "true")))
        goto nomem;
    if (json_array_size(auto_ports)) {
        /* Auto ports, each replaced by the template's port of the same name (§9.3). */
        json_t *tports = kobj_arr(kobj_obj(tmpl, "spec"), "ports"), *p;
        size_t i;
        ports = json_array();
        json_array_foreach(auto_ports, i, p)
        {
            json_t *t = kobj_list_find(tports, "name", kobj_str(p, "name"));
            if (!ports || kobj_append_new(ports, json_deep_copy(t ? t : p)))
                goto nomem_ports;
        }
        if (kobj_set_new(spec, "ports", ports))
            goto nomem;
    }
    const char *type = kobj_str(spec, "type");
    const char *goal_type = rs->cluster.spec.head.service_type;
    if ((!type || !*type) && goal_type && *goal_type && kobj_set_str(spec, "type", goal_type))
        goto nomem;
    if (rayservice_set_owner(svc, rs))
        goto nomem;
    json_decref(auto_ports);
    *out = svc;
    return 0;
nomem_ports:
    json_decref(ports);
nomem:
    json_decref(svc);
    json_decref(auto_ports);
    return oom(err, rs, "serve Service");
}

long rayservice_count_endpoints(const json_t *slice_list)
{
    json_t *seen = json_object(), *slice, *ep;
    size_t i, j;
    long n;
    if (!seen)
        return 0;
    json_array_foreach(kobj_arr(slice_list, "items"), i, slice)
    {
        json_array_foreach(kobj_arr(slice, "endpoints"), j, ep)
        {
            const char *uid = kobj_path_str(ep, "targetRef.uid");
            if (uid && json_is_true(kobj_path(ep, "conditions.ready")))
                json_object_set_new(seen, uid, json_true()); /* ENOMEM only undercounts */
        }
    }
    n = (long)json_object_size(seen);
    json_decref(seen);
    return n;
}
