/* rayservice_controller.c - the RayService controller's lifecycle (informers, queue, workers) and
 * the skeleton of a pass in the order of spec §5.1: read, managedBy, Serve cache pruning, dangling
 * clusters (§6.5), deletion and finalizer, validation (§3.3), suspend, initializing timeout,
 * RayClusters (§6.1, §6.4), head serve labels and Serve applications (rayservice_serve.c),
 * Services (§9), status (rayservice_state.c). The helpers every part of a pass uses (API reads and
 * writes, Events, the status write) are here too. The RayService, its RayClusters and its
 * Services are read from the informer caches (rayservice_controller.h). */
#define _GNU_SOURCE
#include "controller/rayservice_controller_internal.h"

#include "api/kobj.h"
#include "controller/rayservice_cluster.h"
#include "controller/rayservice_state.h"
#include "ray/jobid.h"
#include "kube/informer.h"
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct krc_resource rayservice_res_rayservice = {"ray.io", "v1", "rayservices", 1};
const struct krc_resource rayservice_res_raycluster = {"ray.io", "v1", "rayclusters", 1};
const struct krc_resource rayservice_res_service = {"", "v1", "services", 1};
const struct krc_resource rayservice_res_pod = {"", "v1", "pods", 1};
const struct krc_resource rayservice_res_slice = {"discovery.k8s.io", "v1", "endpointslices", 1};
const struct krc_resource rayservice_res_secret = {"", "v1", "secrets", 1};

/* The RayService cache is what a pass reads (rayservice_parse: spec, status, the metadata it
 * types), what triggers passes (annotations, for the update predicate) and what the metrics of §17
 * read (status.conditions). */
#define RS_PATH_SPEC        0
#define RS_PATH_STATUS      1
#define RS_PATH_ANNOTATIONS 2
static const char *const RS_PATHS[] = {
    [RS_PATH_SPEC] = "spec",
    [RS_PATH_STATUS] = "status",
    [RS_PATH_ANNOTATIONS] = "metadata.annotations",
    "metadata.finalizers",
    "metadata.creationTimestamp",
};
/* The same paths at the same indices as the RayCluster controller's cache, which this controller
 * shares when it can (rayservice_controller_opts.clusters). */
static const char *const RC_PATHS[] = {
    [RAYCLUSTER_CACHE_PATH_SPEC] = "spec",
    [RAYCLUSTER_CACHE_PATH_STATUS] = "status",
    [RAYCLUSTER_CACHE_PATH_ANNOTATIONS] = "metadata.annotations",
};
/* kubectl's copy of an applied RayService or RayCluster is not kept. */
static const struct krc_projection_drop RS_DROPS[] = {
    {RS_PATH_ANNOTATIONS, KRC_LAST_APPLIED_ANNOTATION}};
static const struct krc_projection_drop RC_DROPS[] = {
    {RAYCLUSTER_CACHE_PATH_ANNOTATIONS, KRC_LAST_APPLIED_ANNOTATION}};
/* Owned Services: the head and serve Services of §9 carry ray.io/originated-from-crd=RayService
 * (the selector keeps every other Service of the cluster out of the cache, where KubeRay's
 * Owns(&Service{}) caches them all); a pass reads their selector, ports and clusterIP. */
#define SVC_SELECTOR RAY_LABEL_ORIGINATED_FROM_CRD "=" RAYSERVICE_KIND
static const char *const SVC_PATHS[] = {"spec"};
/* The RayClusters' own Services when this controller runs without the RayCluster controller's
 * caches: the same selector and projection as that controller's. */
static const char *const CLUSTER_SVC_PATHS[] = {[RAYCLUSTER_SVC_CACHE_PATH_SPEC] = "spec"};
#define NPATHS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- handlers ------------------------------------------------------------------------------- */

static void enqueue_name(struct rayservice_controller *c, const char *ns, const char *name)
{
    char key[KRC_WORKQUEUE_KEY_MAX];
    int n = snprintf(key, sizeof(key), "%s/%s", ns, name);
    if (n > 0 && (size_t)n < sizeof(key))
        (void)krc_workqueue_add(c->queue, key); /* fails only on shutdown or ENOMEM */
}

static void rs_add(void *ctx, struct krc_object *o)
{
    enqueue_name(ctx, krc_object_namespace(o), krc_object_name(o));
}

static bool same_text(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

static bool same_labels(const struct krc_object *a, const struct krc_object *b)
{
    size_t n = krc_object_label_count(a);
    if (n != krc_object_label_count(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *ka, *va, *kb, *vb;
        if (krc_object_label_at(a, i, &ka, &va) || krc_object_label_at(b, i, &kb, &vb) ||
            strcmp(ka, kb) != 0 || strcmp(va, vb) != 0)
            return false;
    }
    return true;
}

/* §5.2: an update is enqueued only when the generation, the labels or the annotations changed
 * (status writes, including this controller's own, are not). */
static void rs_update(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj)
{
    if (krc_object_generation(old_obj) == krc_object_generation(new_obj) &&
        same_labels(old_obj, new_obj) &&
        same_text(krc_object_path(old_obj, RS_PATH_ANNOTATIONS, NULL),
                  krc_object_path(new_obj, RS_PATH_ANNOTATIONS, NULL)))
        return;
    rs_add(ctx, new_obj);
}

/* An owned RayCluster or Service changed: its RayService's pass (every event, as Owns()). */
static void owned_add(void *ctx, struct krc_object *o)
{
    const char *name =
        rayservice_owner_name(krc_object_controller_kind(o), krc_object_controller_name(o),
                              krc_object_label(o, RAY_LABEL_ORIGINATED_FROM_CRD),
                              krc_object_label(o, RAY_LABEL_ORIGINATED_FROM_CR_NAME));
    if (name)
        enqueue_name(ctx, krc_object_namespace(o), name);
}

static void owned_update(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj)
{
    owned_add(ctx, old_obj);
    owned_add(ctx, new_obj);
}

/* ---- one pass ------------------------------------------------------------------------------- */

void rayservice_pass_event(struct rayservice_pass *x, enum krc_event_type type, const char *reason,
                           const char *action, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    controller_runtime_eventv(x->c->o.events, RAYSERVICE_KIND, &x->rs->meta, type, reason, action,
                              fmt, ap);
    va_end(ap);
}

const char *rayservice_pass_ns(const struct rayservice_pass *x)
{
    return x->rs->meta.ns;
}

const char *rayservice_pass_name(const json_t *o)
{
    const char *n = kobj_path_str(o, "metadata.name");
    return n ? n : "";
}

int rayservice_pass_get(struct rayservice_pass *x, const struct krc_resource *res, const char *name,
                        json_t **out, struct krc_error *err)
{
    struct krc_strbuf b = KRC_STRBUF_INIT;
    *out = NULL;
    int r = krc_client_get(x->c->o.client, res, rayservice_pass_ns(x), name, &b, err);
    if (!r)
        r = krc_client_parse_json(&b, out, err);
    krc_strbuf_release(&b);
    return r;
}

int rayservice_pass_list(struct rayservice_pass *x, const struct krc_resource *res,
                         const char *selector, json_t **out, struct krc_error *err)
{
    struct krc_strbuf b = KRC_STRBUF_INIT;
    struct krc_list_opts lo = {.label_selector = selector};
    *out = NULL;
    int r = krc_client_list(x->c->o.client, res, rayservice_pass_ns(x), &lo, &b, err);
    if (!r)
        r = krc_client_parse_json(&b, out, err);
    krc_strbuf_release(&b);
    return r;
}

int rayservice_pass_put(struct rayservice_pass *x, const struct krc_resource *res, const char *name,
                        json_t *obj, bool status, struct krc_strbuf *out, struct krc_error *err)
{
    char *body = json_dumps(obj, JSON_COMPACT);
    if (!body)
        return krc_error_set(err, KRC_ENOMEM, "serialize %s: out of memory", name);
    int r = status ? krc_client_update_status(x->c->o.client, res, rayservice_pass_ns(x), name,
                                              body, strlen(body), NULL, out, err)
                   : krc_client_update(x->c->o.client, res, rayservice_pass_ns(x), name, body,
                                       strlen(body), NULL, out, err);
    free(body);
    return r;
}

/* §4's list (the RayClusters labelled as the RayService's) from the RayCluster cache, as
 * {"items": [...]} of documents with the cached paths (spec, status, annotations). */
static int list_clusters(struct rayservice_pass *x, struct krc_error *err)
{
    struct krc_object_list l = {0};
    json_t *items = json_array();
    int r;
    /* x->list owns items from here on; the pass frees x->list. */
    x->list = json_object();
    if (!items || !x->list || kobj_set_new(x->list, "items", items)) {
        if (!x->list)
            json_decref(items);
        return krc_error_set(err, KRC_ENOMEM, "list RayClusters of %s: out of memory", x->key);
    }
    if ((r = krc_store_list_index(krc_informer_store(x->c->clusters[x->nsi]),
                                  KRC_STORE_BY_NAMESPACE, rayservice_pass_ns(x), &l, err)))
        return r;
    for (size_t i = 0; i < l.len && !r; i++) {
        struct krc_object *o = l.items[i];
        if (rayservice_labels_match(krc_object_label(o, RAY_LABEL_ORIGINATED_FROM_CRD),
                                    krc_object_label(o, RAY_LABEL_ORIGINATED_FROM_CR_NAME),
                                    x->rs->meta.name) &&
            kobj_append_new(items, controller_runtime_object_doc(o, "ray.io/v1", "RayCluster",
                                                                 RC_PATHS, NPATHS(RC_PATHS))))
            r = krc_error_set(err, KRC_ENOMEM, "list RayClusters of %s: out of memory", x->key);
    }
    krc_object_list_release(&l);
    return r;
}

static void set_now(struct rayservice_pass *x)
{
    time_t t = time(NULL);
    struct tm tm;
    x->now_s = (int64_t)t;
    gmtime_r(&t, &tm);
    strftime(x->now, sizeof(x->now), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool has_finalizer(const struct rayservice *rs, long *index)
{
    json_t *v;
    size_t i;
    json_array_foreach(rs->meta.finalizers, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), RAYSERVICE_FINALIZER) == 0) {
            if (index)
                *index = (long)i;
            return true;
        }
    }
    return false;
}

static int edit_finalizer(struct rayservice_pass *x, bool add, struct krc_error *err)
{
    char body[768];
    long idx = -1;
    if (add && x->rs->meta.finalizers)
        snprintf(body, sizeof(body),
                 "[{\"op\":\"test\",\"path\":\"/metadata/"
                 "resourceVersion\",\"value\":\"%s\"},"
                 "{\"op\":\"add\",\"path\":\"/metadata/finalizers/"
                 "-\",\"value\":\"%s\"}]",
                 x->rv, RAYSERVICE_FINALIZER);
    else if (add)
        snprintf(body, sizeof(body),
                 "[{\"op\":\"test\",\"path\":\"/metadata/"
                 "resourceVersion\",\"value\":\"%s\"},"
                 "{\"op\":\"add\",\"path\":\"/metadata/"
                 "finalizers\",\"value\":[\"%s\"]}]",
                 x->rv, RAYSERVICE_FINALIZER);
    else if (has_finalizer(x->rs, &idx))
        snprintf(body, sizeof(body),
                 "[{\"op\":\"test\",\"path\":\"/metadata/finalizers/"
                 "%ld\",\"value\":\"%s\"},"
                 "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/%ld\"}]",
                 idx, RAYSERVICE_FINALIZER, idx);
    else
        return 0;
    return krc_client_patch(x->c->o.client, &rayservice_res_rayservice, rayservice_pass_ns(x),
                            x->rs->meta.name, NULL, KRC_PATCH_JSON, body, strlen(body), NULL, NULL,
                            err);
}

int rayservice_pass_write_status(struct rayservice_pass *x, json_t *status, struct krc_error *err)
{
    json_t *doc = json_deep_copy(x->rs->root);
    json_t *meta = doc ? kobj_obj(doc, "metadata") : NULL;
    int r;
    if (!meta || kobj_set_str(meta, "resourceVersion", x->rv) ||
        kobj_set_str(status, "lastUpdateTime", x->now) || json_object_set(doc, "status", status)) {
        json_decref(doc);
        return krc_error_set(err, KRC_ENOMEM, "write status of %s: out of memory", x->key);
    }
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *resp = NULL;
    r = rayservice_pass_put(x, &rayservice_res_rayservice, x->rs->meta.name, doc, true, &out, err);
    /* A later write of the same pass (resume, §12) needs the new resourceVersion. */
    if (!r && krc_client_parse_json(&out, &resp, NULL) == 0) {
        const char *rv = kobj_path_str(resp, "metadata.resourceVersion");
        if (rv)
            snprintf(x->rv, sizeof(x->rv), "%s", rv);
    }
    json_decref(resp);
    krc_strbuf_release(&out);
    json_decref(doc);
    return r;
}

/* ---- §6.5 dangling clusters and deletion ---------------------------------------------------- */

int rayservice_pass_delete_cluster(struct rayservice_pass *x, const char *name, const char *suffix,
                                   struct krc_error *err)
{
    struct krc_delete_opts d = {.propagation_policy = "Background"};
    int r = krc_client_delete(x->c->o.client, &rayservice_res_raycluster, rayservice_pass_ns(x),
                              name, &d, NULL, err);
    if (r == KRC_ENOTFOUND)
        return 0;
    if (r) {
        rayservice_pass_event(x, KRC_EVENT_WARNING, "FailedToDeleteRayCluster", "Delete",
                              "Failed to delete the RayCluster %s/%s%s: %s", rayservice_pass_ns(x),
                              name, suffix, err->msg);
        return r;
    }
    rayservice_pass_event(x, KRC_EVENT_NORMAL, "DeletedRayCluster", "Delete",
                          "Deleted the RayCluster %s/%s%s", rayservice_pass_ns(x), name, suffix);
    return 0;
}

static int cleanup_clusters(struct rayservice_pass *x, bool deleting, struct krc_error *err)
{
    const char *an = rayservice_status_cluster_name(x->rs->status, false);
    const char *pn = rayservice_status_cluster_name(x->rs->status, true);
    json_t *item;
    size_t i;
    int r;
    json_array_foreach(kobj_arr(x->list, "items"), i, item)
    {
        const char *name = rayservice_pass_name(item);
        if (deleting) {
            if ((r = rayservice_pass_delete_cluster(x, name, "", err)))
                return r;
            continue;
        }
        if (strcmp(name, an) == 0 || strcmp(name, pn) == 0)
            continue;
        int64_t at =
            rayservice_memory_deletion_time(&x->c->mem, rayservice_pass_ns(x), name, x->now_s,
                                            rayservice_deletion_delay_seconds(x->rs));
        if (!at || x->now_s <= at)
            continue;
        if ((r = rayservice_pass_delete_cluster(x, name, "", err)))
            return r;
        if (kobj_path_str(item, "metadata.deletionTimestamp"))
            rayservice_memory_deletion_forget(&x->c->mem, rayservice_pass_ns(x),
                                              name); /* its second delete: it is going */
    }
    return 0;
}

/* ---- §3.3 validation ------------------------------------------------------------------------ */

/* 1 when invalid (handled: event, status written), 0 when valid, < 0 on error. */
static int validate(struct rayservice_pass *x, struct krc_error *err)
{
    struct krc_strbuf full = KRC_STRBUF_INIT;
    struct krc_error verr = {0};
    const char *reason = NULL;
    json_t *st = NULL;
    int r = 0;
    if (rayservice_validate_metadata(x->rs, &verr, &full))
        reason = RAYSERVICE_EVENT_INVALID_METADATA;
    else if (rayservice_validate_spec(x->rs, &x->c->o.build.gates, false, &verr, &full))
        reason = RAYSERVICE_EVENT_INVALID_SPEC;
    if (!reason)
        goto out;
    if (verr.code == KRC_ENOMEM) {
        r = krc_error_set(err, KRC_ENOMEM, "validate: out of memory");
        goto out;
    }
    const char *msg = full.len ? full.buf : verr.msg;
    rayservice_pass_event(x, KRC_EVENT_WARNING, reason, "Validate", "%s/%s: %s",
                          rayservice_pass_ns(x), x->rs->meta.name, msg);
    st = x->rs->status ? json_deep_copy(x->rs->status) : json_object();
    if (!st || rayservice_status_set_condition(st, RAYSERVICE_COND_READY, "False",
                                               RAYSERVICE_REASON_VALIDATION, msg, x->now)) {
        r = krc_error_set(err, KRC_ENOMEM, "validate: out of memory");
        goto out;
    }
    r = rayservice_pass_write_status(x, st, err);
    if (!r)
        r = 1;
out:
    json_decref(st);
    krc_strbuf_release(&full);
    return r;
}

/* ---- §6.1, §6.4 RayClusters ----------------------------------------------------------------- */

static json_t *find_cluster(const json_t *list, const char *name)
{
    json_t *item;
    size_t i;
    if (!name || !*name)
        return NULL;
    json_array_foreach(kobj_arr(list, "items"), i, item)
    {
        if (strcmp(rayservice_pass_name(item), name) == 0)
            return item;
    }
    return NULL;
}

static int create_pending(struct rayservice_pass *x, const char *name, struct krc_error *err)
{
    json_t *obj = NULL;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    char *body = NULL;
    int r = rayservice_build_cluster(x->rs, name, x->c->o.build.kuberay_version, &obj, err);
    if (!r && !(body = json_dumps(obj, JSON_COMPACT)))
        r = krc_error_set(err, KRC_ENOMEM, "serialize RayCluster: out of memory");
    if (!r)
        r = krc_client_create(x->c->o.client, &rayservice_res_raycluster, rayservice_pass_ns(x),
                              body, strlen(body), NULL, &out, err);
    if (!r)
        r = krc_client_parse_json(&out, &x->created, err);
    free(body);
    json_decref(obj);
    krc_strbuf_release(&out);
    if (r == KRC_EEXIST)
        return r; /* created by an earlier pass, not in the cache yet: the caller requeues */
    if (r) {
        rayservice_pass_event(x, KRC_EVENT_WARNING, "FailedToCreateRayCluster", "Create",
                              "Failed to create the RayCluster %s/%s: %s", rayservice_pass_ns(x),
                              name, err->msg);
        return r;
    }
    rayservice_pass_event(x, KRC_EVENT_NORMAL, "CreatedRayCluster", "Create",
                          "Created the RayCluster %s/%s", rayservice_pass_ns(x), name);
    x->pending = x->created;
    return 0;
}

/* §6.4: replace spec (keeping spec.suspend), labels and annotations of the cluster `have` (from
 * the cache) with the goal's. The update is a PUT of the whole object, so the object is read from
 * the API server first: the cache keeps no owner references, finalizers and the rest of the
 * metadata a PUT would otherwise drop (an update in place is rare: a spec change or another
 * operator version). */
static int update_in_place(struct rayservice_pass *x, json_t *have, const char *which,
                           struct krc_error *err)
{
    const char *name = rayservice_pass_name(have);
    json_t *goal = NULL, *doc = NULL;
    int r = rayservice_pass_get(x, &rayservice_res_raycluster, name, &doc, err);
    if (!r)
        r = rayservice_build_cluster(x->rs, name, x->c->o.build.kuberay_version, &goal, err);
    if (r)
        goto out;
    have = doc;
    json_t *spec = json_deep_copy(kobj_obj(goal, "spec"));
    json_t *suspend = kobj_path(have, "spec.suspend");
    json_t *meta = kobj_obj(doc, "metadata");
    if (!spec || !meta || (suspend && json_object_set(spec, "suspend", suspend)) ||
        (!suspend && (json_object_del(spec, "suspend"), 0)) || kobj_set_new(doc, "spec", spec) ||
        json_object_set(meta, "labels", kobj_path(goal, "metadata.labels")) ||
        json_object_set(meta, "annotations", kobj_path(goal, "metadata.annotations"))) {
        r = krc_error_set(err, KRC_ENOMEM, "update RayCluster %s: out of memory", name);
        goto out;
    }
    r = rayservice_pass_put(x, &rayservice_res_raycluster, name, doc, false, NULL, err);
    if (r)
        rayservice_pass_event(x, KRC_EVENT_WARNING, "FailedToUpdateRayCluster", "Update",
                              "Failed to update the %s RayCluster %s/%s: %s", which,
                              rayservice_pass_ns(x), name, err->msg);
    else
        rayservice_pass_event(x, KRC_EVENT_NORMAL, "UpdatedRayCluster", "Update",
                              "Updated the %s RayCluster %s/%s", which, rayservice_pass_ns(x),
                              name);
out:
    json_decref(goal);
    json_decref(doc);
    return r;
}

static int reconcile_clusters(struct rayservice_pass *x, struct krc_error *err)
{
    const char *an = rayservice_status_cluster_name(x->rs->status, false);
    const char *pn = rayservice_status_cluster_name(x->rs->status, true);
    struct rayservice_hash_cmp cmp;
    int r;
    x->active = find_cluster(x->list, an);
    x->pending = find_cluster(x->list, pn);
    if (*pn && !x->pending)
        return create_pending(x, pn, err);
    if (x->active && !rayservice_status_condition_true(x->rs->status, RAYSERVICE_COND_UPGRADE)) {
        const char *v = kobj_map_get(kobj_path(x->active, "metadata.annotations"),
                                     RAY_ANNOTATION_KUBERAY_VERSION);
        const char *ours = x->c->o.build.kuberay_version ? x->c->o.build.kuberay_version : "";
        if ((r = rayservice_compare_cluster(x->rs, kobj_path(x->active, "metadata.annotations"),
                                            &cmp)))
            return krc_error_set(err, r, "hash: out of memory");
        if ((!v || strcmp(v, ours) != 0 || (!cmp.full && cmp.prefix)) &&
            (r = update_in_place(x, x->active, "active", err)))
            return r;
    }
    if (x->pending) {
        if ((r = rayservice_compare_cluster(x->rs, kobj_path(x->pending, "metadata.annotations"),
                                            &cmp)))
            return krc_error_set(err, r, "hash: out of memory");
        if (!cmp.full && cmp.prefix && (r = update_in_place(x, x->pending, "pending", err)))
            return r;
    }
    return 0;
}

/* ---- §9 Services ---------------------------------------------------------------------------- */

/* Whether the cached Service `name` already selects target's cluster: then there is nothing to
 * do and no request. Otherwise (not cached yet, another selector, or a Service without the
 * RayService's labels) the Service is read from the API server and created or updated. */
static bool service_current(struct rayservice_pass *x, const char *name, const json_t *want)
{
    struct krc_object *o =
        krc_store_get(krc_informer_store(x->c->svcs[x->nsi]), rayservice_pass_ns(x), name);
    json_t *spec = NULL;
    bool same = false;
    if (o && krc_object_path_json(o, 0, &spec, NULL) == 0) {
        const char *cur = kobj_map_get(kobj_obj(spec, "selector"), RAY_LABEL_CLUSTER);
        const char *target = kobj_map_get(kobj_path(want, "spec.selector"), RAY_LABEL_CLUSTER);
        same = cur && target && strcmp(cur, target) == 0;
    }
    json_decref(spec);
    krc_object_unref(o);
    return same;
}

static int ensure_service(struct rayservice_pass *x, json_t *want, struct krc_error *err)
{
    const char *name = kobj_path_str(want, "metadata.name");
    json_t *have = NULL;
    char *body = NULL;
    if (service_current(x, name, want))
        return 0;
    int r = rayservice_pass_get(x, &rayservice_res_service, name, &have, err);
    if (r == KRC_ENOTFOUND) {
        krc_error_clear(err);
        if (!(body = json_dumps(want, JSON_COMPACT)))
            return krc_error_set(err, KRC_ENOMEM, "serialize Service: out of memory");
        r = krc_client_create(x->c->o.client, &rayservice_res_service, rayservice_pass_ns(x), body,
                              strlen(body), NULL, NULL, err);
        free(body);
        if (r)
            rayservice_pass_event(x, KRC_EVENT_WARNING, "FailedToCreateService", "Create",
                                  "Failed to create the service %s/%s, %s", rayservice_pass_ns(x),
                                  name, err->msg);
        else
            rayservice_pass_event(x, KRC_EVENT_NORMAL, "CreatedService", "Create",
                                  "Created the service %s/%s", rayservice_pass_ns(x), name);
        return r;
    }
    if (r)
        return r;
    const char *cur = kobj_map_get(kobj_path(have, "spec.selector"), RAY_LABEL_CLUSTER);
    const char *target = kobj_map_get(kobj_path(want, "spec.selector"), RAY_LABEL_CLUSTER);
    if (cur && target && strcmp(cur, target) == 0) {
        json_decref(have);
        return 0;
    }
    json_t *spec = json_deep_copy(kobj_obj(want, "spec"));
    const char *ip = kobj_path_str(have, "spec.clusterIP");
    if (!spec || (ip && kobj_set_str(spec, "clusterIP", ip)) || kobj_set_new(have, "spec", spec)) {
        json_decref(have);
        return krc_error_set(err, KRC_ENOMEM, "update Service: out of memory");
    }
    r = rayservice_pass_put(x, &rayservice_res_service, name, have, false, NULL, err);
    json_decref(have);
    if (r)
        rayservice_pass_event(x, KRC_EVENT_WARNING, "FailedToUpdateService", "Update",
                              "Failed to update the service %s/%s, %s", rayservice_pass_ns(x), name,
                              err->msg);
    else
        rayservice_pass_event(x, KRC_EVENT_NORMAL, "UpdatedService", "Update",
                              "Updated the service %s/%s", rayservice_pass_ns(x), name);
    return r;
}

static int reconcile_services(struct rayservice_pass *x, const json_t *cluster,
                              struct krc_error *err)
{
    struct raycluster rc;
    json_t *head = NULL, *serve = NULL;
    int r = raycluster_parse((json_t *)(uintptr_t)cluster, &rc, err);
    if (r)
        return r;
    if (!(r = rayservice_build_head_service(x->rs, &rc, &x->c->o.build, &head, err)) &&
        !(r = rayservice_build_serve_service(x->rs, &rc, &serve, err)) &&
        !(r = ensure_service(x, head, err)))
        r = ensure_service(x, serve, err);
    json_decref(head);
    json_decref(serve);
    raycluster_release(&rc);
    if (!r)
        x->target = rayservice_pass_name(cluster);
    return r;
}

/* ---- §10 status (the observations; rayservice_state.c computes) --------------------------- */

static int compute_status(struct rayservice_pass *x, json_t **out, struct krc_error *err)
{
    char svc[RAYSERVICE_NAME_MAX], sel[RAYSERVICE_SELECTOR_MAX], *name = NULL;
    json_t *slices = NULL;
    struct rayservice_state_timeout to;
    snprintf(sel, sizeof(sel), "kubernetes.io/service-name=%s",
             rayservice_serve_service_name(x->rs, svc));
    int r = rayservice_pass_list(x, &rayservice_res_slice, sel, &slices, err);
    if (!r)
        r = ray_random_name(x->rs->meta.name, &name, err);
    if (r)
        goto out;
    struct rayservice_state_in in = {
        .rs = x->rs,
        .active = x->active,
        .pending = x->pending,
        .active_apps = x->active_apps,
        .pending_apps = x->pending_apps,
        .target = x->target,
        .endpoints = rayservice_count_endpoints(slices),
        .zero_downtime_env = x->c->zero_downtime_env,
        .new_cluster_name = name,
        .now = x->now,
        .now_s = x->now_s,
    };
    if ((r = rayservice_state_compute(&in, out, &to, err)))
        goto out;
    if (to.fired)
        rayservice_pass_event(
            x, KRC_EVENT_WARNING, "RayServiceInitializingTimeout", "Reconcile",
            "RayService initializing timeout exceeded after %s (configured timeout: %s)",
            to.elapsed, to.limit);
out:
    free(name);
    json_decref(slices);
    return r;
}

/* ---- the pass ------------------------------------------------------------------------------- */

static int reconcile_rs(struct rayservice_pass *x, int64_t *requeue, struct krc_error *err)
{
    struct rayservice *rs = x->rs;
    json_t *st = NULL;
    int r;
    *requeue = 0;
    if (!rayservice_managed_by_kuberay(rs))
        return 0;
    rayservice_memory_serve_prune(&x->c->mem, x->key,
                                  rayservice_status_cluster_name(rs->status, false),
                                  rayservice_status_cluster_name(rs->status, true));
    if ((r = list_clusters(x, err)))
        return r;
    bool deleting = rs->meta.deletion_timestamp != NULL;
    if ((r = cleanup_clusters(x, deleting, err)))
        return r;
    size_t nclusters = json_array_size(kobj_arr(x->list, "items"));
    if (deleting) {
        if (nclusters == 0) {
            rayservice_memory_serve_prune(&x->c->mem, x->key, NULL, NULL);
            return edit_finalizer(x, false, err);
        }
        *requeue = RAYSERVICE_REQUEUE_NS;
        return 0;
    }
    if (!has_finalizer(rs, NULL)) {
        if ((r = edit_finalizer(x, true, err)))
            return krc_error_wrap(err, r, "failed to add the finalizer %s: ", RAYSERVICE_FINALIZER);
        *requeue = RAYSERVICE_REQUEUE_NS;
        return 0;
    }
    if ((r = validate(x, err)))
        return r < 0 ? r : 0;
    if ((r = rayservice_pass_suspend(x, requeue, err)))
        return r < 0 ? r : 0;
    json_t *ready = rayservice_status_condition(rs->status, RAYSERVICE_COND_READY);
    const char *reason = kobj_str(ready, "reason");
    if (reason && strcmp(reason, RAYSERVICE_REASON_INIT_TIMEOUT) == 0 &&
        !rayservice_status_condition_true(rs->status, RAYSERVICE_COND_READY)) {
        *requeue = nclusters ? RAYSERVICE_REQUEUE_NS : 0;
        return 0;
    }
    if ((r = reconcile_clusters(x, err)))
        return r == KRC_ENOTFOUND || r == KRC_EEXIST ? (*requeue = RAYSERVICE_REQUEUE_NS, 0) : r;
    if ((x->active && (r = rayservice_pass_head_label(x, x->active, err))) ||
        (x->pending && (r = rayservice_pass_head_label(x, x->pending, err))))
        return r;
    if (x->pending &&
        (r = rayservice_pass_serve(x, x->pending, &x->pending_apps, &x->pending_ready, err)))
        return r;
    bool prepare = true;
    if (x->active && !x->pending &&
        (r = rayservice_state_should_prepare(x->rs, x->active, NULL, false, x->c->zero_downtime_env,
                                             &prepare)))
        return krc_error_set(err, r, "hash: out of memory");
    if (x->active && !x->pending && !prepare &&
        (r = rayservice_pass_serve(x, x->active, &x->active_apps, &x->active_ready, err)))
        return r;
    const json_t *target = x->pending_ready ? x->pending : x->active_ready ? x->active : NULL;
    if (target && (r = reconcile_services(x, target, err)))
        return r;
    if ((r = compute_status(x, &st, err)))
        return r;
    if (rayservice_status_differs(rs->status, st)) {
        r = rayservice_pass_write_status(x, st, err);
        if (!r)
            KRC_LOG_INFO("RayService status", "rayservice", x->key, "active",
                         rayservice_status_cluster_name(st, false), "pending",
                         rayservice_status_cluster_name(st, true), "serviceStatus",
                         kobj_str(st, "serviceStatus") ? kobj_str(st, "serviceStatus") : "");
    }
    json_decref(st);
    if (!r)
        *requeue = RAYSERVICE_REQUEUE_NS;
    return r;
}

static int reconcile(void *ctx, const char *key, int64_t *requeue_after_ns)
{
    struct rayservice_controller *c = ctx;
    struct krc_error err = {0};
    char ns[CONTROLLER_RUNTIME_NAME_MAX], name[CONTROLLER_RUNTIME_NAME_MAX];
    struct rayservice rs;
    struct rayservice_pass x = {.c = c, .rs = &rs};
    int r;
    *requeue_after_ns = 0;
    if (!controller_runtime_split_key(key, ns, name))
        return 0;
    long nsi = controller_runtime_find(&c->rt, ns);
    if (nsi < 0)
        return 0;
    x.nsi = (size_t)nsi;
    snprintf(x.key, sizeof(x.key), "%s", key);
    struct krc_object *o = krc_store_get(krc_informer_store(c->services[x.nsi]), ns, name);
    if (!o) {
        rayservice_memory_serve_prune(&c->mem, key, NULL, NULL);
        controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_SUCCESS);
        return 0;
    }
    json_t *doc =
        controller_runtime_object_doc(o, "ray.io/v1", RAYSERVICE_KIND, RS_PATHS, NPATHS(RS_PATHS));
    krc_object_unref(o);
    if (!doc) {
        r = krc_error_set(&err, KRC_ENOMEM, "read RayService %s: out of memory", key);
        goto fail;
    }
    r = rayservice_parse(doc, &rs, &err);
    json_decref(doc);
    if (r) {
        KRC_LOG_ERROR("cannot parse RayService", "key", key, "error", err.msg);
        controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_SUCCESS);
        return 0;
    }
    const char *rv = rs.meta.resource_version;
    snprintf(x.rv, sizeof(x.rv), "%s", rv ? rv : "");
    set_now(&x);
    r = reconcile_rs(&x, requeue_after_ns, &err);
    json_decref(x.list);
    json_decref(x.created);
    json_decref(x.active_apps);
    json_decref(x.pending_apps);
    json_decref(x.status_hold);
    rayservice_release(&rs);
    if (r)
        goto fail;
    controller_runtime_count(&c->rt, *requeue_after_ns > 0 ? CONTROLLER_RUNTIME_REQUEUE_AFTER
                                                           : CONTROLLER_RUNTIME_SUCCESS);
    return 0;
fail:
    KRC_LOG_ERROR("reconcile failed", "controller", "rayservice", "key", key, "error", err.msg);
    controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_ERROR);
    return r;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static int add_set(struct rayservice_controller *c, size_t i, struct krc_error *err)
{
    struct krc_informer_handlers own = {owned_add, owned_update, owned_add, c};
    struct krc_informer_handlers prim = {rs_add, rs_update, rs_add, c};
    int r;
    if (c->o.clusters) {
        if ((r = raycluster_controller_share_clusters(c->o.clusters, c->rt.ns[i], &own,
                                                      &c->clusters[i], err)) ||
            (r = controller_runtime_borrow(&c->rt, i, c->clusters[i], err)) ||
            (r = raycluster_controller_share_services(c->o.clusters, c->rt.ns[i],
                                                      &c->cluster_svcs[i], err)) ||
            (r = controller_runtime_borrow(&c->rt, i, c->cluster_svcs[i], err)))
            return r;
    } else {
        struct krc_informer_handlers none = {.ctx = c};
        struct krc_informer_options co = {.resource = rayservice_res_service,
                                          .label_selector = RAY_LABEL_CLUSTER,
                                          .paths = CLUSTER_SVC_PATHS,
                                          .npaths = NPATHS(CLUSTER_SVC_PATHS)};
        if ((r = controller_runtime_informer(&c->rt, i, &co, &none, &c->cluster_svcs[i], err)))
            return r;
        struct krc_informer_options io = {.resource = rayservice_res_raycluster,
                                          .paths = RC_PATHS,
                                          .npaths = NPATHS(RC_PATHS),
                                          .drops = RC_DROPS,
                                          .ndrops = NPATHS(RC_DROPS)};
        if ((r = controller_runtime_informer(&c->rt, i, &io, &own, &c->clusters[i], err)))
            return r;
    }
    struct krc_informer_options so = {.resource = rayservice_res_rayservice,
                                      .paths = RS_PATHS,
                                      .npaths = NPATHS(RS_PATHS),
                                      .drops = RS_DROPS,
                                      .ndrops = NPATHS(RS_DROPS)};
    struct krc_informer_options vo = {.resource = rayservice_res_service,
                                      .label_selector = SVC_SELECTOR,
                                      .paths = SVC_PATHS,
                                      .npaths = NPATHS(SVC_PATHS)};
    if ((r = controller_runtime_informer(&c->rt, i, &so, &prim, &c->services[i], err)))
        return r;
    return controller_runtime_informer(&c->rt, i, &vo, &own, &c->svcs[i], err);
}

int rayservice_controller_new(const struct rayservice_controller_opts *opts,
                              struct rayservice_controller **out, struct krc_error *err)
{
    struct rayservice_controller *c = calloc(1, sizeof(*c));
    int r;
    *out = NULL;
    if (!c)
        return krc_error_set(err, KRC_ENOMEM, "rayservice controller: out of memory");
    c->o = *opts;
    c->zero_downtime_env = getenv("ENABLE_ZERO_DOWNTIME");
    rayservice_memory_init(&c->mem);
    struct krc_workqueue_opts qo = {.name = "rayservice"};
    if ((r = krc_workqueue_new(&qo, &c->queue, err)) ||
        (r = controller_runtime_init(&c->rt, "rayservice", c->o.client, c->queue,
                                     opts->watch_namespaces, err)))
        goto err;
    c->services = calloc(c->rt.nns, sizeof(*c->services));
    c->clusters = calloc(c->rt.nns, sizeof(*c->clusters));
    c->svcs = calloc(c->rt.nns, sizeof(*c->svcs));
    c->cluster_svcs = calloc(c->rt.nns, sizeof(*c->cluster_svcs));
    if (!c->services || !c->clusters || !c->svcs || !c->cluster_svcs) {
        r = krc_error_set(err, KRC_ENOMEM, "rayservice controller: out of memory");
        goto err;
    }
    for (size_t i = 0; i < c->rt.nns; i++)
        if ((r = add_set(c, i, err)))
            goto err;
    *out = c;
    return 0;
err:
    rayservice_controller_free(c);
    return r;
}

int rayservice_controller_start(struct rayservice_controller *c, struct krc_error *err)
{
    int r = controller_runtime_check_crd(&c->rt, &rayservice_res_rayservice, "RayService",
                                         "rayservices.ray.io", err);
    return r ? r : controller_runtime_start(&c->rt, c->o.workers, reconcile, c, err);
}

void rayservice_controller_stop(struct rayservice_controller *c)
{
    controller_runtime_stop(&c->rt);
}

void rayservice_controller_free(struct rayservice_controller *c)
{
    if (!c)
        return;
    controller_runtime_release(&c->rt);
    krc_workqueue_free(c->queue);
    free(c->services);
    free(c->clusters);
    free(c->svcs);
    free(c->cluster_svcs);
    rayservice_memory_release(&c->mem);
    free(c);
}

/* "true" when the condition of that type in a conditions array is True, else "false". */
static const char *condition_label(const json_t *conds, const char *type)
{
    json_t *cd;
    size_t i;
    json_array_foreach(conds, i, cd)
    {
        const char *t = kobj_str(cd, "type"), *s = kobj_str(cd, "status");
        if (t && strcmp(t, type) == 0)
            return s && strcmp(s, "True") == 0 ? "true" : "false";
    }
    return "false";
}

/* §17: one series of each family per cached RayService; a failed list emits nothing. */
static int service_series(struct rayservice_controller *c, struct krc_strbuf *info,
                          struct krc_strbuf *ready, struct krc_strbuf *upgrade)
{
    int r = 0;
    for (size_t i = 0; i < c->rt.nns && !r; i++) {
        struct krc_object_list l = {0};
        if (krc_store_list(krc_informer_store(c->services[i]), &l, NULL))
            continue;
        for (size_t j = 0; j < l.len && !r; j++) {
            struct krc_object *o = l.items[j];
            const char *n = krc_object_name(o), *ns = krc_object_namespace(o);
            const char *uid = krc_object_uid(o);
            json_t *status = NULL;
            (void)krc_object_path_json(o, RS_PATH_STATUS, &status, NULL);
            const json_t *conds = kobj_arr(status, "conditions");
            r = krc_strbuf_addf(info,
                                "kuberay_service_info{name=\"%s\",namespace=\"%s\",uid=\"%s\"} 1\n",
                                n, ns, uid);
            if (!r)
                r = krc_strbuf_addf(ready,
                                    "kuberay_service_condition_ready{name=\"%s\",namespace=\"%s\","
                                    "uid=\"%s\",condition=\"%s\"} 1\n",
                                    n, ns, uid, condition_label(conds, RAYSERVICE_COND_READY));
            if (!r)
                r = krc_strbuf_addf(upgrade,
                                    "kuberay_service_condition_upgrade_in_progress{name=\"%s\","
                                    "namespace=\"%s\",uid=\"%s\",condition=\"%s\"} 1\n",
                                    n, ns, uid, condition_label(conds, RAYSERVICE_COND_UPGRADE));
            json_decref(status);
        }
        krc_object_list_release(&l);
    }
    return r;
}

int rayservice_controller_metrics(struct rayservice_controller *c, struct krc_strbuf *out)
{
    struct krc_strbuf info = KRC_STRBUF_INIT, ready = KRC_STRBUF_INIT, up = KRC_STRBUF_INIT;
    int r = 0;
    if (c->o.enable_metrics) {
        if ((r = service_series(c, &info, &ready, &up)))
            goto out;
        r = krc_strbuf_addf(
            out,
            "# HELP kuberay_service_info Metadata information about RayService custom resources\n"
            "# TYPE kuberay_service_info gauge\n%s"
            "# HELP kuberay_service_condition_ready Describes whether the RayService is ready. "
            "Ready means users can send requests to the underlying cluster and the number of "
            "serve endpoints is greater than 0.\n"
            "# TYPE kuberay_service_condition_ready gauge\n%s"
            "# HELP kuberay_service_condition_upgrade_in_progress Describes whether the "
            "RayService is performing a zero-downtime upgrade.\n"
            "# TYPE kuberay_service_condition_upgrade_in_progress gauge\n%s",
            info.len ? info.buf : "", ready.len ? ready.buf : "", up.len ? up.buf : "");
        if (r)
            goto out;
    }
    r = controller_runtime_reconcile_total(&c->rt, false, out);
out:
    krc_strbuf_release(&info);
    krc_strbuf_release(&ready);
    krc_strbuf_release(&up);
    return r;
}
