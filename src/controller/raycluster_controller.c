/* raycluster_controller.c - the RayCluster reconcile layer (see raycluster_controller.h): its
 * informers and event handlers, the work queue, the top-level reconcile order, Events and the
 * metrics; the other steps are in the files listed in raycluster_controller_internal.h.
 *
 * A reconcile reads the RayCluster and its pods and services from the informer caches, rebuilds
 * the JSON documents the pure layer reads (the caches hold compact projections, not documents),
 * and executes, in KubeRay's order: validation, the GCS FT finalizer, autoscaler RBAC, Ingress,
 * auth Secret, head Service, the pod plan of raycluster_scale.h, then the status of
 * raycluster_status.h, written only when it differs.
 *
 * Not yet here: the OpenShift Route, the headless worker and serve Services, the GCS storage
 * PVC, and the Secret/PVC/Ingress watches.
 *
 * _GNU_SOURCE for timegm() and strptime() (creationTimestamp to seconds) and random(). */
#define _GNU_SOURCE
#include "controller/raycluster_controller_internal.h"

#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "util/log.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POD_SELECTOR "ray.io/node-type in (head,worker,redis-cleanup)"
/* Services are read only through their ray.io/cluster label (the store's index): those without
 * it, every other Service of the cluster, are not cached at all. */
#define SVC_SELECTOR RAY_LABEL_CLUSTER
/* Free heap goes back to the system (malloc_trim) after every reconcile of a cluster of at least
 * TRIM_CLUSTER_PODS pods (its documents were built and freed: 16 MB of heap held 0.6 MB in use
 * during a 500-worker scale-up; a trim costs about a millisecond, building those documents far
 * more), and after any other reconcile at most every TRIM_ANY_NS (many small clusters fragment
 * the heap too). */
#define TRIM_CLUSTER_PODS 64
#define TRIM_ANY_NS       (10 * INT64_C(1000000000))

int64_t raycluster_ctrl_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- cache objects back to documents (controller_runtime_object_doc, plus pod details) ---- */

/* The name of the Ray container (the first) of the template pod o was built from: headGroupSpec's
 * for the head, that of the worker group named by its ray.io/group label otherwise; NULL when no
 * group matches. KubeRay reads the pod's own first container, which is the template's unless the
 * template changed since the pod was created (and a changed template recreates the pods only
 * under upgradeStrategy Recreate): the price of not caching spec.containers. */
static const char *ray_container_name(const struct raycluster *rc, const struct krc_object *o)
{
    const char *type = krc_object_label(o, RAY_LABEL_NODE_TYPE);
    const json_t *tmpl = NULL;
    if (type && strcmp(type, "head") == 0) {
        tmpl = rc->spec.head.template;
    } else {
        const char *g = krc_object_label(o, RAY_LABEL_GROUP);
        for (size_t i = 0; g && i < rc->spec.n_workers && !tmpl; i++) {
            const char *gn = rc->spec.workers[i].group_name;
            if (gn && strcmp(gn, g) == 0)
                tmpl = rc->spec.workers[i].template;
        }
    }
    return kobj_str(kobj_container(kobj_obj(tmpl, "spec"), 0), "name");
}

static int set_container_name(json_t *doc, const char *name)
{
    json_t *spec = kobj_ensure_obj(doc, "spec");
    json_t *c = json_pack("[{s:s}]", "name", name);
    if (!spec || !c) {
        json_decref(c);
        return KRC_ENOMEM;
    }
    return kobj_set_new(spec, "containers", c);
}

static json_t *children(struct krc_store *store, const char *ns, const char *cluster,
                        const char *api_version, const char *kind, const char *const *paths,
                        size_t npaths, const struct raycluster *pods_of, struct krc_error *err)
{
    struct krc_object_list l = {0};
    json_t *arr = json_array();
    if (!arr || krc_store_list_index(store, KRC_STORE_BY_LABEL, cluster, &l, err))
        goto err;
    for (size_t i = 0; i < l.len; i++) {
        if (strcmp(krc_object_namespace(l.items[i]), ns) != 0)
            continue;
        json_t *d = controller_runtime_object_doc(l.items[i], api_version, kind, paths, npaths);
        if (!d || json_array_append_new(arr, d))
            goto err;
        const char *cname = pods_of ? ray_container_name(pods_of, l.items[i]) : NULL;
        if (cname && set_container_name(d, cname))
            goto err;
    }
    krc_object_list_release(&l);
    return arr;
err:
    krc_object_list_release(&l);
    json_decref(arr);
    krc_error_set(err, KRC_ENOMEM, "list children of %s/%s: out of memory", ns, cluster);
    return NULL;
}

json_t *raycluster_ctrl_children(struct krc_store *store, const char *ns, const char *cluster,
                                 const char *api_version, const char *kind,
                                 const char *const *paths, size_t npaths, struct krc_error *err)
{
    return children(store, ns, cluster, api_version, kind, paths, npaths, NULL, err);
}

json_t *raycluster_ctrl_pods(struct nsset *set, const struct raycluster *rc, struct krc_error *err)
{
    return children(krc_informer_store(set->pods), rc->meta.ns, rc->meta.name, "v1", "Pod",
                    POD_PATHS, NPATHS(POD_PATHS), rc, err);
}

/* ---- sets, handlers ------------------------------------------------------------------------ */

static struct nsset *find_set(struct raycluster_controller *c, const char *ns)
{
    long i = controller_runtime_find(&c->rt, ns);
    return i < 0 ? NULL : &c->sets[i];
}

static void enqueue_name(struct raycluster_controller *c, const char *ns, const char *name)
{
    char key[KRC_WORKQUEUE_KEY_MAX];
    int n = snprintf(key, sizeof(key), "%s/%s", ns, name);
    if (n > 0 && (size_t)n < sizeof(key))
        (void)krc_workqueue_add(c->queue, key); /* only fails on shutdown or ENOMEM: logged by
                                                   the next periodic requeue's absence */
}

static void rc_add(void *ctx, struct krc_object *o)
{
    enqueue_name(ctx, krc_object_namespace(o), krc_object_name(o));
}

static bool labels_equal(const struct krc_object *a, const struct krc_object *b)
{
    size_t n = krc_object_label_count(a);
    if (n != krc_object_label_count(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *k, *v, *v2;
        if (krc_object_label_at(a, i, &k, &v))
            return false;
        if (!(v2 = krc_object_label(b, k)) || strcmp(v, v2) != 0)
            return false;
    }
    return true;
}

static bool path_equal(const struct krc_object *a, const struct krc_object *b, size_t i)
{
    const char *x = krc_object_path(a, i, NULL), *y = krc_object_path(b, i, NULL);
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

/* Predicate G/L/A: status-only updates are ignored. Annotations are compared as compact JSON,
 * which is key-order sensitive: a reordering costs one extra reconcile, never a missed one. */
static void rc_update(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj)
{
    if (krc_object_generation(old_obj) != krc_object_generation(new_obj) ||
        !labels_equal(old_obj, new_obj) || !path_equal(old_obj, new_obj, 2))
        rc_add(ctx, new_obj);
}

static void owned_add(void *ctx, struct krc_object *o)
{
    const char *kind = krc_object_controller_kind(o), *name = krc_object_controller_name(o);
    if (kind && name && strcmp(kind, "RayCluster") == 0)
        enqueue_name(ctx, krc_object_namespace(o), name);
}

static void owned_update(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj)
{
    owned_add(ctx, old_obj);
    owned_add(ctx, new_obj);
}

/* Pod handlers with the injected delay (raycluster_controller_opts.test_pod_event_delay_ns):
 * sleeping on the informer thread delays every later pod event and store update. */
static void pod_delay(struct raycluster_controller *c)
{
    int64_t d = c->o.test_pod_event_delay_ns;
    if (d > 0) {
        struct timespec ts = {(time_t)(d / 1000000000), (long)(d % 1000000000)};
        nanosleep(&ts, NULL);
    }
}

static void pod_add(void *ctx, struct krc_object *o)
{
    pod_delay(ctx);
    owned_add(ctx, o);
}

static void pod_update(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj)
{
    pod_delay(ctx);
    owned_update(ctx, old_obj, new_obj);
}

/* ---- events ------------------------------------------------------------------------------- */

void raycluster_ctrl_event(struct raycluster_controller *c, const struct raycluster *rc,
                           enum krc_event_type type, const char *reason, const char *action,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    controller_runtime_eventv(c->o.events, "RayCluster", &rc->meta, type, reason, action, fmt, ap);
    va_end(ap);
}

/* ---- metrics state ------------------------------------------------------------------------- */

static void prov_forget(struct raycluster_controller *c, const char *ns, const char *name)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nprov;) {
        struct prov_series *s = &c->prov[i];
        if (strcmp(s->ns, ns) == 0 && strcmp(s->name, name) == 0) {
            free(s->ns);
            free(s->name);
            free(s->uid);
            c->prov[i] = c->prov[--c->nprov];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

void raycluster_ctrl_prov_set(struct raycluster_controller *c, const struct raycluster *rc)
{
    struct tm tm = {0};
    const char *ts = rc->meta.creation_timestamp;
    if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double secs = (double)now.tv_sec + now.tv_nsec / 1e9 - (double)timegm(&tm);
    prov_forget(c, rc->meta.ns, rc->meta.name);
    pthread_mutex_lock(&c->mu);
    if (c->nprov == c->capprov) {
        size_t cap = c->capprov ? c->capprov * 2 : 16;
        struct prov_series *p = realloc(c->prov, cap * sizeof(*p));
        if (!p)
            goto out;
        c->prov = p;
        c->capprov = cap;
    }
    struct prov_series s = {strdup(rc->meta.ns), strdup(rc->meta.name), strdup(rc->meta.uid), secs};
    if (!s.ns || !s.name || !s.uid) {
        free(s.ns);
        free(s.name);
        free(s.uid);
        goto out;
    }
    c->prov[c->nprov++] = s;
out:
    pthread_mutex_unlock(&c->mu);
}

/* ---- reconcile ------------------------------------------------------------------------------ */

static bool validate(struct raycluster_controller *c, const struct raycluster *rc, int *status_err,
                     struct krc_error *err)
{
    struct krc_strbuf full = KRC_STRBUF_INIT, warn = KRC_STRBUF_INIT;
    bool ok = false;
    *status_err = 0;
    if (raycluster_validate_metadata(rc, err, &full)) {
        EVENT(c, rc, KRC_EVENT_WARNING, "InvalidRayClusterMetadata", "Validate",
              "The RayCluster metadata is invalid %s/%s: %s", rc->meta.ns, rc->meta.name,
              full.len ? full.buf : err->msg);
        goto out;
    }
    if (raycluster_validate_spec(rc, &c->o.build.gates, err, &full) ||
        raycluster_validate_upgrade_strategy(rc, err)) {
        EVENT(c, rc, KRC_EVENT_WARNING, "InvalidRayClusterSpec", "Validate",
              "The RayCluster spec is invalid %s/%s: %s", rc->meta.ns, rc->meta.name,
              full.len ? full.buf : err->msg);
        goto out;
    }
    if (raycluster_autoscaler_v1_warning(rc, &warn) == 1)
        EVENT(c, rc, KRC_EVENT_WARNING, "InvalidRayClusterSpec", "Validate", "%s", warn.buf);
    if ((*status_err = raycluster_validate_status(rc, err))) {
        EVENT(c, rc, KRC_EVENT_WARNING, "InvalidRayClusterStatus", "Validate",
              "The RayCluster status is invalid %s/%s: %s", rc->meta.ns, rc->meta.name, err->msg);
        goto out;
    }
    ok = true;
out:
    krc_strbuf_release(&full);
    krc_strbuf_release(&warn);
    return ok;
}

static int reconcile_cluster(struct raycluster_controller *c, struct nsset *set,
                             const struct raycluster *rc, int64_t *requeue, struct krc_error *err)
{
    int status_err;
    if (rc->spec.managed_by && strcmp(rc->spec.managed_by, RAY_MANAGED_BY_KUBERAY) != 0) {
        KRC_LOG_INFO("managed by another controller; skipping", "namespace", rc->meta.ns, "name",
                     rc->meta.name, "managedBy", rc->spec.managed_by);
        return 0;
    }
    if (!validate(c, rc, &status_err, err))
        return status_err;
    int fr;
    if (raycluster_ctrl_reconcile_finalizer(c, set, rc, requeue, &fr, err))
        return fr;
    if (rc->meta.deletion_timestamp)
        return 0; /* children go with the owner references (garbage collector) */

    char msg[KRC_ERROR_MSG_MAX + 64];
    struct raycluster_reconcile_result res = {RAYCLUSTER_OUTCOME_OK, NULL, NULL};
    bool more = false;
    json_t *pods = NULL; /* the pod step's documents when it wrote nothing */
    int r = raycluster_ctrl_reconcile_rbac(c, rc, err);
    if (!r)
        r = raycluster_ctrl_reconcile_ingress(c, rc, err);
    if (!r)
        r = raycluster_ctrl_reconcile_auth_secret(c, rc, err);
    if (!r)
        r = raycluster_ctrl_reconcile_head_service(c, set, rc, err);
    if (r) {
        res.outcome = RAYCLUSTER_OUTCOME_OTHER_ERROR;
        snprintf(msg, sizeof(msg), "%s", err->msg);
        res.message = msg;
    } else {
        r = raycluster_ctrl_reconcile_pods(c, set, rc, &res, msg, sizeof(msg), &more, &pods, err);
    }
    struct krc_error serr = {0};
    bool written = false;
    /* A pass that stopped on its time budget (raycluster_batch.h) goes on at once: its status
     * waits for the turn that finishes the plan, as KubeRay writes it once after all the creates
     * (no status PUT per turn, none from a cache that has not seen the last one: no 409). */
    int sr = more ? 0 : raycluster_ctrl_reconcile_status(c, set, rc, &res, pods, &written, &serr);
    json_decref(pods);
    if (r)
        return r;
    if (sr) {
        *err = serr;
        return sr;
    }
    *requeue = more ? 1 : written ? RAYCLUSTER_STATUS_REQUEUE_NS : c->o.requeue_ns;
    return 0;
}

static void maybe_trim(struct raycluster_controller *c, struct nsset *set, const char *name)
{
    int64_t now = raycluster_ctrl_mono_now();
    bool large = krc_store_count_index(krc_informer_store(set->pods), KRC_STORE_BY_LABEL, name) >=
                 TRIM_CLUSTER_PODS;
    pthread_mutex_lock(&c->mu);
    int64_t since = now - c->last_trim_ns;
    bool trim = large || since >= TRIM_ANY_NS;
    if (trim)
        c->last_trim_ns = now;
    pthread_mutex_unlock(&c->mu);
    if (trim)
        malloc_trim(0);
}

static int reconcile(void *ctx, const char *key, int64_t *requeue_after_ns)
{
    struct raycluster_controller *c = ctx;
    struct krc_error err = {0};
    char ns[CONTROLLER_RUNTIME_NAME_MAX], name[CONTROLLER_RUNTIME_NAME_MAX];
    if (!controller_runtime_split_key(key, ns, name))
        return 0; /* not a key we made; nothing to retry */
    struct nsset *set = find_set(c, ns);
    if (!set)
        return 0;
    struct krc_object *o = krc_store_get(krc_informer_store(set->rcs), ns, name);
    if (!o) {
        raycluster_expect_drop_cluster(c->expect, ns, name);
        prov_forget(c, ns, name);
        controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_SUCCESS);
        return 0;
    }
    json_t *doc =
        controller_runtime_object_doc(o, "ray.io/v1", "RayCluster", RC_PATHS, NPATHS(RC_PATHS));
    krc_object_unref(o);
    if (!doc) {
        controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_ERROR);
        return KRC_ENOMEM;
    }
    struct raycluster rc;
    int r = raycluster_parse(doc, &rc, &err);
    json_decref(doc); /* rc holds its own reference */
    if (r) {
        KRC_LOG_ERROR("cannot parse RayCluster", "key", key, "error", err.msg);
        controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_SUCCESS);
        return 0; /* the API server's schema should make this impossible; retrying won't help */
    }
    r = reconcile_cluster(c, set, &rc, requeue_after_ns, &err);
    raycluster_release(&rc);
    maybe_trim(c, set, name);
    if (r) {
        KRC_LOG_ERROR("reconcile failed", "controller", "raycluster", "key", key, "error", err.msg);
        controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_ERROR);
        return r;
    }
    controller_runtime_count(&c->rt, *requeue_after_ns > 0 ? CONTROLLER_RUNTIME_REQUEUE_AFTER
                                                           : CONTROLLER_RUNTIME_SUCCESS);
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

enum informer_kind { INF_PRIMARY, INF_POD, INF_OWNED };

_Static_assert(RAYCLUSTER_CACHE_SYNC_TIMEOUT_MS == CONTROLLER_RUNTIME_CACHE_SYNC_TIMEOUT_MS,
               "raycluster_controller.h documents the runtime's sync timeout");

static int new_informer(struct raycluster_controller *c, size_t i, struct krc_resource res,
                        const char *selector, const char *const *paths, size_t npaths,
                        const char *index_label, enum informer_kind kind, struct krc_informer **out,
                        struct krc_error *err)
{
    struct krc_informer_options io = {
        .resource = res,
        .label_selector = selector,
        .paths = paths,
        .npaths = npaths,
        .index_label = index_label,
    };
    struct krc_informer_handlers h = {rc_add, rc_update, rc_add, c};
    if (kind == INF_PRIMARY) {
        io.drops = RC_DROPS;
        io.ndrops = NPATHS(RC_DROPS);
    }
    if (kind == INF_POD)
        h = (struct krc_informer_handlers){pod_add, pod_update, pod_add, c};
    else if (kind == INF_OWNED)
        h = (struct krc_informer_handlers){owned_add, owned_update, owned_add, c};
    return controller_runtime_informer(&c->rt, i, &io, &h, out, err);
}

/* The informers of namespace entry i: RayClusters, their pods and their services. */
static int add_set(struct raycluster_controller *c, size_t i, struct krc_error *err)
{
    struct nsset *s = &c->sets[i];
    int r;
    s->ns = c->rt.ns[i];
    if ((r = new_informer(c, i, RES_RAYCLUSTER, NULL, RC_PATHS, NPATHS(RC_PATHS), NULL, INF_PRIMARY,
                          &s->rcs, err)) ||
        (r = new_informer(c, i, RES_POD, POD_SELECTOR, POD_PATHS, NPATHS(POD_PATHS),
                          RAY_LABEL_CLUSTER, INF_POD, &s->pods, err)) ||
        (r = new_informer(c, i, RES_SERVICE, SVC_SELECTOR, SVC_PATHS, NPATHS(SVC_PATHS),
                          RAY_LABEL_CLUSTER, INF_OWNED, &s->svcs, err)))
        return r;
    return 0;
}

int raycluster_controller_new(const struct raycluster_controller_opts *opts,
                              struct raycluster_controller **out, struct krc_error *err)
{
    struct raycluster_controller *c = calloc(1, sizeof(*c));
    int r = KRC_ENOMEM;
    if (!c)
        return krc_error_set(err, KRC_ENOMEM, "raycluster controller: out of memory");
    c->o = *opts;
    pthread_mutex_init(&c->mu, NULL);
    srandom((unsigned)time(NULL) ^ (unsigned)getpid()); /* multi-host replica name suffixes */
    struct krc_workqueue_opts qo = {.name = "raycluster"};
    if ((r = krc_workqueue_new(&qo, &c->queue, err)) ||
        (r = raycluster_expect_new(&c->expect, err)) ||
        (r = controller_runtime_init(&c->rt, "raycluster", c->o.client, c->queue,
                                     opts->watch_namespaces, err)))
        goto err;
    if (!(c->sets = calloc(c->rt.nns, sizeof(*c->sets)))) {
        r = krc_error_set(err, KRC_ENOMEM, "raycluster controller: out of memory");
        goto err;
    }
    for (size_t i = 0; i < c->rt.nns; i++) {
        if ((r = add_set(c, i, err)))
            goto err;
    }
    *out = c;
    return 0;
err:
    raycluster_controller_free(c);
    return r;
}

int raycluster_controller_share_clusters(struct raycluster_controller *c, const char *ns,
                                         const struct krc_informer_handlers *h,
                                         struct krc_informer **out, struct krc_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < c->rt.nns; i++) {
        const char *sns = c->sets[i].ns;
        if ((!ns && !sns) || (ns && sns && strcmp(ns, sns) == 0)) {
            int r = krc_informer_add_handlers(c->sets[i].rcs, h, err);
            if (!r)
                *out = c->sets[i].rcs;
            return r;
        }
    }
    return krc_error_set(err, KRC_ENOTFOUND, "raycluster controller: namespace %s not watched",
                         ns ? ns : "(all)");
}

int raycluster_controller_share_services(struct raycluster_controller *c, const char *ns,
                                         struct krc_informer **out, struct krc_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < c->rt.nns; i++) {
        const char *sns = c->sets[i].ns;
        if ((!ns && !sns) || (ns && sns && strcmp(ns, sns) == 0)) {
            *out = c->sets[i].svcs;
            return 0;
        }
    }
    return krc_error_set(err, KRC_ENOTFOUND, "raycluster controller: namespace %s not watched",
                         ns ? ns : "(all)");
}

int raycluster_controller_start(struct raycluster_controller *c, struct krc_error *err)
{
    return controller_runtime_start(&c->rt, c->o.workers, reconcile, c, err);
}

void raycluster_controller_stop(struct raycluster_controller *c)
{
    controller_runtime_stop(&c->rt);
}

void raycluster_controller_free(struct raycluster_controller *c)
{
    if (!c)
        return;
    controller_runtime_release(&c->rt);
    free(c->sets);
    krc_workqueue_free(c->queue);
    raycluster_expect_free(c->expect);
    for (size_t i = 0; i < c->nprov; i++) {
        free(c->prov[i].ns);
        free(c->prov[i].name);
        free(c->prov[i].uid);
    }
    free(c->prov);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- metrics ------------------------------------------------------------------------------- */

/* Label values are names and UIDs (DNS labels), which need no escaping; owner_kind comes from a
 * label value, which Kubernetes restricts to [A-Za-z0-9._-]. */
static int cluster_series(struct raycluster_controller *c, struct krc_strbuf *info,
                          struct krc_strbuf *cond)
{
    int r = 0;
    for (size_t i = 0; i < c->rt.nns && !r; i++) {
        struct krc_object_list l = {0};
        if ((r = krc_store_list(krc_informer_store(c->sets[i].rcs), &l, NULL)))
            break;
        for (size_t j = 0; j < l.len && !r; j++) {
            struct krc_object *o = l.items[j];
            const char *owner = krc_object_label(o, RAY_LABEL_ORIGINATED_FROM_CRD);
            const char *st = krc_object_path(o, 1, NULL);
            bool prov = false;
            json_t *sj = st ? json_loads(st, 0, NULL) : NULL;
            json_t *conds = sj ? kobj_arr(sj, "conditions") : NULL;
            size_t k;
            json_t *cd;
            json_array_foreach(conds, k, cd)
            {
                const char *t = kobj_str(cd, "type"), *s = kobj_str(cd, "status");
                if (t && s && strcmp(t, RAYCLUSTER_COND_PROVISIONED) == 0 && strcmp(s, "True") == 0)
                    prov = true;
            }
            json_decref(sj);
            r = krc_strbuf_addf(info,
                                "kuberay_cluster_info{name=\"%s\",namespace=\"%s\",uid=\"%s\","
                                "owner_kind=\"%s\"} 1\n",
                                krc_object_name(o), krc_object_namespace(o), krc_object_uid(o),
                                owner ? owner : "None");
            if (!r)
                r = krc_strbuf_addf(cond,
                                    "kuberay_cluster_condition_provisioned{name=\"%s\","
                                    "namespace=\"%s\",uid=\"%s\",condition=\"%s\"} 1\n",
                                    krc_object_name(o), krc_object_namespace(o), krc_object_uid(o),
                                    prov ? "true" : "false");
        }
        krc_object_list_release(&l);
    }
    return r;
}

int raycluster_controller_metrics(struct raycluster_controller *c, struct krc_strbuf *out)
{
    struct krc_strbuf info = KRC_STRBUF_INIT, cond = KRC_STRBUF_INIT;
    int r = 0;
    if (c->o.enable_metrics) {
        if ((r = cluster_series(c, &info, &cond)))
            goto out;
        r = krc_strbuf_addf(out,
                            "# HELP kuberay_cluster_info Metadata information about RayCluster "
                            "custom resources\n# TYPE kuberay_cluster_info gauge\n%s"
                            "# HELP kuberay_cluster_condition_provisioned Indicates whether the "
                            "RayCluster is provisioned\n"
                            "# TYPE kuberay_cluster_condition_provisioned gauge\n%s"
                            "# HELP kuberay_cluster_provisioned_duration_seconds The time, in "
                            "seconds, when a RayCluster's `RayClusterProvisioned` status "
                            "transitions from false (or unset) to true\n"
                            "# TYPE kuberay_cluster_provisioned_duration_seconds gauge\n",
                            info.buf, cond.buf);
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < c->nprov && !r; i++)
            r = krc_strbuf_addf(out,
                                "kuberay_cluster_provisioned_duration_seconds{name=\"%s\","
                                "namespace=\"%s\",uid=\"%s\"} %.3f\n",
                                c->prov[i].name, c->prov[i].ns, c->prov[i].uid, c->prov[i].seconds);
        pthread_mutex_unlock(&c->mu);
        if (r)
            goto out;
    }
    r = controller_runtime_reconcile_total(&c->rt, true, out);
out:
    krc_strbuf_release(&info);
    krc_strbuf_release(&cond);
    return r;
}
