/* raycluster_controller.c - the RayCluster reconcile layer (see raycluster_controller.h).
 *
 * A reconcile reads the RayCluster and its pods and services from the informer caches, rebuilds
 * the JSON documents the pure layer reads (the caches hold compact projections, not documents),
 * and executes, in KubeRay's order: validation, autoscaler RBAC, head Service, the pod plan of
 * raycluster_scale.h, then the status of raycluster_status.h, written only when it differs.
 *
 * Not yet here (each is said in the report of the issue): the GCS FT Redis cleanup finalizer and
 * Job (§6.12; deletion relies on owner references only), Ingress/Route, the auth Secret, the
 * headless worker and serve Services, the GCS storage PVC, and the Secret/PVC watches.
 *
 * _GNU_SOURCE for timegm() and strptime() (creationTimestamp and deletionTimestamp to seconds)
 * and random(). */
#define _GNU_SOURCE
#include "controller/raycluster_controller.h"

#include "api/kobj.h"
#include "controller/raycluster_cleanup_job.h"
#include "controller/raycluster_expect.h"
#include "controller/raycluster_hash.h"
#include "controller/raycluster_names.h"
#include "controller/raycluster_pod.h"
#include "controller/raycluster_rbac.h"
#include "controller/raycluster_scale.h"
#include "controller/raycluster_service.h"
#include "controller/raycluster_status.h"
#include "controller/raypod.h"
#include "kube/informer.h"
#include "kube/workqueue.h"
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POD_SELECTOR "ray.io/node-type in (head,worker,redis-cleanup)"

/* Worker pods one reconcile creates before it yields: the key goes to the back of the queue, so a
 * cluster scaling to 500 workers never keeps a new cluster from its head pod for long (KubeRay
 * creates the whole difference in one reconcile). The next turn plans the rest once the
 * expectations of this batch are met. */
#define RAYCLUSTER_CREATE_BATCH 32

static const struct krc_resource RES_RAYCLUSTER = {"ray.io", "v1", "rayclusters", 1};
static const struct krc_resource RES_POD = {"", "v1", "pods", 1};
static const struct krc_resource RES_SERVICE = {"", "v1", "services", 1};
static const struct krc_resource RES_SA = {"", "v1", "serviceaccounts", 1};
static const struct krc_resource RES_JOB = {"batch", "v1", "jobs", 1};
static const struct krc_resource RES_ROLE = {"rbac.authorization.k8s.io", "v1", "roles", 1};
static const struct krc_resource RES_ROLEBINDING = {"rbac.authorization.k8s.io", "v1",
                                                    "rolebindings", 1};

/* Projections: what each cache keeps besides the fixed metadata (projection.h). The index of a
 * path in its list is how it is read back. */
static const char *const RC_PATHS[] = {"spec", "status", "metadata.annotations",
                                       "metadata.finalizers", "metadata.creationTimestamp"};
static const char *const POD_PATHS[] = {"metadata.annotations", "spec.containers",
                                        "spec.restartPolicy", "status"};
static const char *const SVC_PATHS[] = {"spec"};
#define NPATHS(a) (sizeof(a) / sizeof((a)[0]))

/* The informers of one watched namespace (ns NULL: all namespaces, one set). */
struct nsset {
    char *ns;
    struct krc_informer *rcs, *pods, *svcs;
};

struct prov_series {
    char *ns, *name, *uid;
    double seconds;
};

struct raycluster_controller {
    struct raycluster_controller_opts o;
    struct nsset *sets;
    size_t nsets;
    struct krc_workqueue *queue;
    struct krc_workqueue_workers *workers;
    struct raycluster_expect *expect;
    pthread_mutex_t mu; /* guards the metric state below */
    struct prov_series *prov;
    size_t nprov, capprov;
    unsigned long long results[3]; /* success, error, requeue_after */
};

static int64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *now_rfc3339(char buf[40])
{
    return krc_events_format_time(krc_events_wall_now(), 0, buf, 40);
}

/* ---- cache objects back to documents ---------------------------------------------------- */

static int set_path_json(json_t *doc, const char *dotted, const struct krc_object *o, size_t i)
{
    json_t *v = NULL;
    if (krc_object_path_json(o, i, &v, NULL))
        return KRC_ENOMEM;
    if (!v)
        return 0;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", dotted);
    json_t *parent = doc;
    char *seg = buf, *dot;
    while ((dot = strchr(seg, '.'))) {
        *dot = '\0';
        if (!(parent = kobj_ensure_obj(parent, seg))) {
            json_decref(v);
            return KRC_ENOMEM;
        }
        seg = dot + 1;
    }
    return kobj_set_new(parent, seg, v);
}

static json_t *meta_json(const struct krc_object *o)
{
    json_t *m = json_object(), *labels = json_object();
    if (!m || !labels)
        goto err;
    if (kobj_set_str(m, "name", krc_object_name(o)) ||
        kobj_set_str(m, "namespace", krc_object_namespace(o)) ||
        kobj_set_str(m, "uid", krc_object_uid(o)) ||
        kobj_set_str(m, "resourceVersion", krc_object_resource_version(o)))
        goto err;
    if (krc_object_generation(o) &&
        kobj_set_new(m, "generation", json_integer(krc_object_generation(o))))
        goto err;
    if (krc_object_deletion_timestamp(o) &&
        kobj_set_str(m, "deletionTimestamp", krc_object_deletion_timestamp(o)))
        goto err;
    for (size_t i = 0; i < krc_object_label_count(o); i++) {
        const char *k, *v;
        if (krc_object_label_at(o, i, &k, &v) == 0 && kobj_set_str(labels, k, v))
            goto err;
    }
    if (kobj_set_new(m, "labels", labels))
        goto err_m;
    return m;
err:
    json_decref(labels);
err_m:
    json_decref(m);
    return NULL;
}

static json_t *object_doc(const struct krc_object *o, const char *api_version, const char *kind,
                          const char *const *paths, size_t npaths)
{
    json_t *doc = json_object(), *meta = meta_json(o);
    if (!doc || !meta || kobj_set_str(doc, "apiVersion", api_version) ||
        kobj_set_str(doc, "kind", kind) || kobj_set_new(doc, "metadata", meta)) {
        json_decref(doc);
        return NULL;
    }
    for (size_t i = 0; i < npaths; i++) {
        if (set_path_json(doc, paths[i], o, i)) {
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}

/* The documents of every cached object of store with label ray.io/cluster=cluster in ns. */
static json_t *cluster_children(struct krc_store *store, const char *ns, const char *cluster,
                                const char *api_version, const char *kind, const char *const *paths,
                                size_t npaths, struct krc_error *err)
{
    struct krc_object_list l = {0};
    json_t *arr = json_array();
    if (!arr || krc_store_list_index(store, KRC_STORE_BY_LABEL, cluster, &l, err))
        goto err;
    for (size_t i = 0; i < l.len; i++) {
        if (strcmp(krc_object_namespace(l.items[i]), ns) != 0)
            continue;
        json_t *d = object_doc(l.items[i], api_version, kind, paths, npaths);
        if (!d || json_array_append_new(arr, d))
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

/* ---- sets, handlers ------------------------------------------------------------------------ */

static struct nsset *find_set(struct raycluster_controller *c, const char *ns)
{
    for (size_t i = 0; i < c->nsets; i++) {
        if (!c->sets[i].ns || strcmp(c->sets[i].ns, ns) == 0)
            return &c->sets[i];
    }
    return NULL;
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

#define EVENT(c, rc, type, reason, action, ...)                                                    \
    record_event((c), (rc), (type), (reason), (action), __VA_ARGS__)

static void record_event(struct raycluster_controller *c, const struct raycluster *rc,
                         enum krc_event_type type, const char *reason, const char *action,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void record_event(struct raycluster_controller *c, const struct raycluster *rc,
                         enum krc_event_type type, const char *reason, const char *action,
                         const char *fmt, ...)
{
    char note[KRC_EVENTS_NOTE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note, sizeof(note), fmt, ap);
    va_end(ap);
    KRC_LOG_INFO("event", "reason", reason, "namespace", rc->meta.ns, "name", rc->meta.name);
    if (!c->o.events)
        return;
    struct krc_events_ref ref = {"ray.io/v1",   "RayCluster", rc->meta.ns,
                                 rc->meta.name, rc->meta.uid, rc->meta.resource_version,
                                 NULL};
    /* Best effort by design (events.h): the recorder counts and logs drops. */
    (void)krc_events_record(c->o.events, &ref, type, reason, action, "%s", note);
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

static void prov_set(struct raycluster_controller *c, const struct raycluster *rc)
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

/* ---- sub-reconcilers ------------------------------------------------------------------------ */

/* Creates obj (consumed) unless an object of its name exists; never updates (KubeRay). */
static int ensure_created(struct raycluster_controller *c, const struct raycluster *rc,
                          const struct krc_resource *res, json_t *obj, const char *what,
                          const char *ok_reason, const char *fail_reason, struct krc_error *err)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    char *body = NULL;
    const char *name = kobj_path_str(obj, "metadata.name");
    int r = krc_client_get(c->o.client, res, rc->meta.ns, name ? name : "", &out, err);
    if (r != KRC_ENOTFOUND)
        goto out;
    if (!(body = json_dumps(obj, JSON_COMPACT))) {
        r = krc_error_set(err, KRC_ENOMEM, "serialize %s: out of memory", what);
        goto out;
    }
    r = krc_client_create(c->o.client, res, rc->meta.ns, body, strlen(body), NULL, &out, err);
    if (r == KRC_EEXIST) {
        r = 0;
    } else if (r) {
        EVENT(c, rc, KRC_EVENT_WARNING, fail_reason, "Create", "Failed creating %s %s/%s, %s", what,
              rc->meta.ns, name, err->msg);
    } else {
        EVENT(c, rc, KRC_EVENT_NORMAL, ok_reason, "Create", "Created %s %s/%s", what, rc->meta.ns,
              name);
    }
out:
    free(body);
    krc_strbuf_release(&out);
    json_decref(obj);
    return r;
}

static int reconcile_rbac(struct raycluster_controller *c, const struct raycluster *rc,
                          struct krc_error *err)
{
    json_t *obj = NULL;
    int r;
    if (!raycluster_autoscaling_enabled(rc))
        return 0;
    if (!raycluster_autoscaler_sa_is_user_provided(rc)) {
        if ((r = raycluster_build_autoscaler_sa(rc, &obj, err)) ||
            (r = ensure_created(c, rc, &RES_SA, obj, "service account", "CreatedServiceAccount",
                                "FailedToCreateServiceAccount", err)))
            return r;
    }
    if ((r = raycluster_build_autoscaler_role(rc, &obj, err)) ||
        (r = ensure_created(c, rc, &RES_ROLE, obj, "role", "CreatedRole", "FailedToCreateRole",
                            err)))
        return r;
    if ((r = raycluster_build_autoscaler_rolebinding(rc, &obj, err)) ||
        (r = ensure_created(c, rc, &RES_ROLEBINDING, obj, "role binding", "CreatedRoleBinding",
                            "FailedToCreateRoleBinding", err)))
        return r;
    return 0;
}

static bool labels_match(json_t *selector, const json_t *labels)
{
    const char *k;
    json_t *v;
    json_object_foreach(selector, k, v)
    {
        const char *have = kobj_map_get(labels, k);
        if (!have || strcmp(have, json_string_value(v)) != 0)
            return false;
    }
    return true;
}

/* The cached Services that select the head (raycluster_head_service_selector), as documents. */
static json_t *head_services(struct nsset *set, const struct raycluster *rc, struct krc_error *err)
{
    json_t *all = cluster_children(krc_informer_store(set->svcs), rc->meta.ns, rc->meta.name, "v1",
                                   "Service", SVC_PATHS, NPATHS(SVC_PATHS), err);
    json_t *sel = raycluster_head_service_selector(rc), *out = json_array();
    size_t i;
    json_t *s;
    if (!all || !sel || !out)
        goto err;
    json_array_foreach(all, i, s)
    {
        if (labels_match(sel, kobj_path(s, "metadata.labels")) && json_array_append(out, s))
            goto err;
    }
    json_decref(all);
    json_decref(sel);
    return out;
err:
    json_decref(all);
    json_decref(sel);
    json_decref(out);
    if (!err->code)
        krc_error_set(err, KRC_ENOMEM, "head services of %s/%s: out of memory", rc->meta.ns,
                      rc->meta.name);
    return NULL;
}

static int reconcile_head_service(struct raycluster_controller *c, struct nsset *set,
                                  const struct raycluster *rc, struct krc_error *err)
{
    json_t *have = head_services(set, rc, err), *svc = NULL;
    char *body = NULL;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int r;
    if (!have)
        return err->code;
    if (json_array_size(have) > 0) {
        r = 0;
        goto out;
    }
    if ((r = raycluster_build_head_service(rc, &c->o.build, &svc, err)))
        goto out;
    if (!(body = json_dumps(svc, JSON_COMPACT))) {
        r = krc_error_set(err, KRC_ENOMEM, "serialize head service: out of memory");
        goto out;
    }
    const char *name = kobj_path_str(svc, "metadata.name");
    r = krc_client_create(c->o.client, &RES_SERVICE, rc->meta.ns, body, strlen(body), NULL, &out,
                          err);
    if (r == KRC_EEXIST) {
        r = 0; /* our cache is behind; the next reconcile sees it */
    } else if (r) {
        EVENT(c, rc, KRC_EVENT_WARNING, "FailedToCreateService", "Create",
              "Failed creating service %s/%s, %s", rc->meta.ns, name, err->msg);
    } else {
        EVENT(c, rc, KRC_EVENT_NORMAL, "CreatedService", "Create", "Created service %s/%s",
              rc->meta.ns, name);
    }
out:
    free(body);
    krc_strbuf_release(&out);
    json_decref(svc);
    json_decref(have);
    return r;
}

/* ---- pods ------------------------------------------------------------------------------------ */

static int pod_lookup(void *ctx, const char *ns, const char *pod)
{
    struct krc_object *o = krc_store_get(ctx, ns, pod);
    krc_object_unref(o);
    return o != NULL;
}

static void random_suffix(char out[6], void *arg)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    (void)arg;
    for (int i = 0; i < 5; i++)
        out[i] = alphabet[random() % (sizeof(alphabet) - 1)];
    out[5] = '\0';
}

static const json_t *find_pod(const json_t *pods, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (strcmp(raypod_name(p), name) == 0)
            return p;
    }
    return NULL;
}

/* "Pod status: <phase>; Pod restart policy: <policy>; Ray container terminated status: <s>". */
static void pod_state_text(const json_t *pod, char *buf, size_t size)
{
    struct krc_strbuf t = KRC_STRBUF_INIT;
    if (!pod || raypod_terminated_text(pod, &t))
        krc_strbuf_reset(&t);
    snprintf(buf, size,
             "Pod status: %s; Pod restart policy: %s; Ray container terminated status: %s",
             pod ? raypod_phase(pod) : "", pod ? raypod_restart_policy(pod) : "",
             t.len ? t.buf : "<nil>");
    krc_strbuf_release(&t);
}

static int delete_collection(struct raycluster_controller *c, const char *ns, const char *selector,
                             struct krc_error *err)
{
    struct krc_strbuf q = KRC_STRBUF_INIT, out = KRC_STRBUF_INIT;
    int r = krc_query_add(&q, "labelSelector", selector);
    if (!r) {
        struct krc_request req = {.method = "DELETE", .res = &RES_POD, .ns = ns, .query = q.buf};
        r = krc_client_do(c->o.client, &req, &out, err);
    } else {
        krc_error_set(err, r, "delete pods in %s: cannot build the query", ns);
    }
    krc_strbuf_release(&q);
    krc_strbuf_release(&out);
    return r;
}

static bool any_live_pod(const json_t *pods, const char *group)
{
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *g = raypod_label(p, RAY_LABEL_GROUP);
        if (!raypod_is_terminating(p) && (!group || (g && strcmp(g, group) == 0)))
            return true;
    }
    return false;
}

static int create_pod(struct raycluster_controller *c, const struct raycluster *rc, json_t *pod,
                      char *name, size_t size, struct krc_error *err)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *resp = NULL;
    char *body = json_dumps(pod, JSON_COMPACT);
    int r;
    if (!body) {
        r = krc_error_set(err, KRC_ENOMEM, "serialize pod: out of memory");
        goto out;
    }
    if ((r = krc_client_create(c->o.client, &RES_POD, rc->meta.ns, body, strlen(body), NULL, &out,
                               err)))
        goto out;
    if ((r = krc_client_parse_json(&out, &resp, err)))
        goto out;
    const char *n = kobj_path_str(resp, "metadata.name");
    snprintf(name, size, "%s", n ? n : "");
out:
    json_decref(resp);
    free(body);
    krc_strbuf_release(&out);
    return r;
}

static int delete_pod(struct raycluster_controller *c, const char *ns, const char *name,
                      struct krc_error *err)
{
    return krc_client_delete(c->o.client, &RES_POD, ns, name, NULL, NULL, err);
}

struct pod_ctx {
    struct raycluster_controller *c;
    const struct raycluster *rc;
    const json_t *pods;
    const char *hash;
    struct raycluster_reconcile_result *res;
    char *msg; /* buffer of res->message */
    size_t msg_size;
    bool more; /* stopped after RAYCLUSTER_CREATE_BATCH creates; the rest is for the next turn */
};

static const char *group_name(const struct raycluster *rc, long g)
{
    return g < 0 ? "" : rc->spec.workers[g].group_name;
}

static int fail_replica(struct pod_ctx *p, const struct raycluster_action *a,
                        const struct krc_error *e)
{
    p->res->outcome = RAYCLUSTER_OUTCOME_REPLICA_FAILURE;
    p->res->failure_reason = a->failure_reason;
    snprintf(p->msg, p->msg_size, "%s\n%s", a->failure_reason ? a->failure_reason : "", e->msg);
    p->res->message = p->msg;
    return e->code ? e->code : KRC_EIO;
}

static int exec_delete_worker(struct pod_ctx *p, const struct raycluster_action *a,
                              struct krc_error *err)
{
    struct raycluster_controller *c = p->c;
    const struct raycluster *rc = p->rc;
    const char *ns = rc->meta.ns, *g = group_name(rc, a->group);
    char state[512];
    int r = delete_pod(c, ns, a->pod_name, err);
    switch (a->cause) {
    case RAYCLUSTER_DELETE_WORKERS_TO_DELETE:
        if (r == KRC_ENOTFOUND)
            return 0;
        if (r) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteWorkerPod", "Delete",
                  "Failed deleting pod %s/%s, %s", ns, a->pod_name, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedWorkerPod", "Delete", "Deleted pod %s/%s", ns,
              a->pod_name);
        break;
    case RAYCLUSTER_DELETE_SCALE_DOWN:
        if (r && r != KRC_ENOTFOUND) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteWorkerPod", "Delete",
                  "Failed deleting Pod %s/%s, %s", ns, a->pod_name, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedWorkerPod", "Delete", "Deleted Pod %s/%s", ns,
              a->pod_name);
        break;
    case RAYCLUSTER_DELETE_MULTIHOST:
        if (r == KRC_ENOTFOUND)
            return 0;
        pod_state_text(find_pod(p->pods, a->pod_name), state, sizeof(state));
        if (r) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteWorkerPod", "Delete",
                  "Failed deleting worker Pod %s/%s for group %s; %s, %s", ns, a->pod_name, g,
                  state, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedWorkerPod", "Delete",
              "Deleted worker Pod %s/%s for group %s: %s", ns, a->pod_name, g,
              a->reason ? a->reason : "");
        break;
    default: /* unhealthy: NotFound is a failure, as in KubeRay */
        pod_state_text(find_pod(p->pods, a->pod_name), state, sizeof(state));
        if (r) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteWorkerPod", "Delete",
                  "Failed deleting worker Pod %s/%s; %s, %s", ns, a->pod_name, state, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedWorkerPod", "Delete", "Deleted worker Pod %s/%s; %s",
              ns, a->pod_name, state);
        break;
    }
    if (raycluster_expect_record(c->expect, ns, rc->meta.name, g, a->pod_name,
                                 RAYCLUSTER_EXPECT_DELETE, mono_now()))
        KRC_LOG_WARN("cannot record a delete expectation", "pod", a->pod_name);
    return 0;
}

static int exec_action(struct pod_ctx *p, const struct raycluster_action *a, struct krc_error *err)
{
    struct raycluster_controller *c = p->c;
    const struct raycluster *rc = p->rc;
    const char *ns = rc->meta.ns, *name = rc->meta.name;
    char sel[RAYNAME_MAX + 128], pod_name[RAYNAME_MAX], state[512];
    json_t *pod = NULL;
    int r = 0;
    switch (a->kind) {
    case RAYCLUSTER_ACT_DELETE_ALL_PODS: {
        bool recreate = a->cause == RAYCLUSTER_DELETE_RECREATE;
        snprintf(sel, sizeof(sel), "%s=%s", RAY_LABEL_CLUSTER, name);
        if (any_live_pod(p->pods, NULL) && (r = delete_collection(c, ns, sel, err))) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeletePodCollection", "Delete",
                  recreate ? "Failed deleting Pods due to spec change with Recreate "
                             "upgradeStrategy for RayCluster %s/%s, %s"
                           : "Failed deleting Pods due to suspension for RayCluster %s/%s, %s",
                  ns, name, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedPod", "Delete",
              recreate ? "Deleted all Pods for RayCluster %s/%s due to spec change with Recreate "
                         "upgradeStrategy"
                       : "Deleted Pods for RayCluster %s/%s due to suspension",
              ns, name);
        if (a->drop_expectations)
            raycluster_expect_drop_cluster(c->expect, ns, name);
        break;
    }
    case RAYCLUSTER_ACT_UPDATE_HEAD_STAMP: {
        char patch[512];
        snprintf(patch, sizeof(patch),
                 "{\"metadata\":{\"annotations\":{\"%s\":\"%s\",\"%s\":\"%s\"}}}",
                 RAY_ANNOTATION_KUBERAY_VERSION, c->o.build.kuberay_version,
                 RAY_ANNOTATION_RECREATE_HASH, p->hash);
        struct krc_error e2 = {0};
        if (krc_client_patch(c->o.client, &RES_POD, ns, a->pod_name, NULL, KRC_PATCH_MERGE, patch,
                             strlen(patch), NULL, NULL, &e2))
            KRC_LOG_WARN("cannot re-stamp the head pod", "error", e2.msg);
        break;
    }
    case RAYCLUSTER_ACT_DELETE_HEAD_POD:
        pod_state_text(find_pod(p->pods, a->pod_name), state, sizeof(state));
        if ((r = delete_pod(c, ns, a->pod_name, err))) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteHeadPod", "Delete",
                  "Failed deleting head Pod %s/%s; %s, %s", ns, a->pod_name, state, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedHeadPod", "Delete", "Deleted head Pod %s/%s; %s", ns,
              a->pod_name, state);
        if (raycluster_expect_record(c->expect, ns, name, "", a->pod_name, RAYCLUSTER_EXPECT_DELETE,
                                     mono_now()))
            KRC_LOG_WARN("cannot record a delete expectation", "pod", a->pod_name);
        break;
    case RAYCLUSTER_ACT_CREATE_HEAD_POD:
        if ((r = raycluster_build_head_pod(rc, &c->o.build, p->hash, &pod, err)))
            return fail_replica(p, a, err);
        if ((r = create_pod(c, rc, pod, pod_name, sizeof(pod_name), err))) {
            const char *n = kobj_path_str(pod, "metadata.name");
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToCreateHeadPod", "Create",
                  "Failed to create head Pod %s/%s, %s", ns, n ? n : "", err->msg);
            json_decref(pod);
            return fail_replica(p, a, err);
        }
        json_decref(pod);
        if (raycluster_expect_record(c->expect, ns, name, "", pod_name, RAYCLUSTER_EXPECT_CREATE,
                                     mono_now()))
            KRC_LOG_WARN("cannot record a create expectation", "pod", pod_name);
        EVENT(c, rc, KRC_EVENT_NORMAL, "CreatedHeadPod", "Create", "Created head Pod %s/%s", ns,
              pod_name);
        break;
    case RAYCLUSTER_ACT_DELETE_GROUP_PODS: {
        const char *g = group_name(rc, a->group);
        snprintf(sel, sizeof(sel), "%s=%s,%s=%s", RAY_LABEL_CLUSTER, name, RAY_LABEL_GROUP, g);
        if (any_live_pod(p->pods, g) && (r = delete_collection(c, ns, sel, err))) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteWorkerPodCollection", "Delete",
                  "Failed deleting worker Pods for suspended group %s in RayCluster %s/%s, %s", g,
                  ns, name, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedWorkerPod", "Delete",
              "Deleted all pods for suspended worker group %s in RayCluster %s/%s", g, ns, name);
        break;
    }
    case RAYCLUSTER_ACT_DELETE_WORKER_POD:
        if ((r = exec_delete_worker(p, a, err)))
            return r;
        break;
    case RAYCLUSTER_ACT_CREATE_WORKER_POD: {
        struct raycluster_worker_slot slot = a->slot;
        slot.replica_name = a->replica_name[0] ? a->replica_name : NULL;
        if ((r = raycluster_build_worker_pod(rc, &c->o.build, (size_t)a->group, &slot, &pod, err)))
            return fail_replica(p, a, err);
        r = create_pod(c, rc, pod, pod_name, sizeof(pod_name), err);
        json_decref(pod);
        if (r) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToCreateWorkerPod", "Create",
                  "Failed to create worker Pod for the cluster %s/%s, %s", ns, name, err->msg);
            return fail_replica(p, a, err);
        }
        if (raycluster_expect_record(c->expect, ns, name, group_name(rc, a->group), pod_name,
                                     RAYCLUSTER_EXPECT_CREATE, mono_now()))
            KRC_LOG_WARN("cannot record a create expectation", "pod", pod_name);
        EVENT(c, rc, KRC_EVENT_NORMAL, "CreatedWorkerPod", "Create", "Created worker Pod %s/%s", ns,
              pod_name);
        break;
    }
    case RAYCLUSTER_ACT_FAIL:
        p->res->outcome = RAYCLUSTER_OUTCOME_OTHER_ERROR;
        snprintf(p->msg, p->msg_size, "%s", a->reason ? a->reason : "");
        p->res->message = p->msg;
        return krc_error_set(err, KRC_EINVAL, "%s", p->msg);
    }
    if (a->then_fail) {
        p->res->outcome = RAYCLUSTER_OUTCOME_OTHER_ERROR;
        snprintf(p->msg, p->msg_size, "%s", a->reason ? a->reason : "");
        p->res->message = p->msg;
        return krc_error_set(err, KRC_EINVAL, "%s", p->msg);
    }
    return 0;
}

/* Whether b creates another pod of a's multi-host replica: a batch never ends inside a replica,
 * since the next turn would find it incomplete and delete it (§6.7). */
static bool same_replica(const struct raycluster_action *a, const struct raycluster_action *b)
{
    return b->kind == RAYCLUSTER_ACT_CREATE_WORKER_POD && b->group == a->group &&
           a->replica_name[0] && strcmp(a->replica_name, b->replica_name) == 0;
}

static int reconcile_pods(struct raycluster_controller *c, struct nsset *set,
                          const struct raycluster *rc, struct pod_ctx *p, struct krc_error *err)
{
    struct krc_store *pods_store = krc_informer_store(set->pods);
    struct raycluster_plan plan = {0};
    char hash[RAYCLUSTER_HASH_LEN + 1];
    bool *sat = NULL;
    json_t *pods = NULL;
    int r;
    int64_t now = mono_now();
    if ((r = raycluster_spec_hash(rc, hash))) {
        krc_error_set(err, r, "hash the spec of %s/%s", rc->meta.ns, rc->meta.name);
        goto out;
    }
    if (!(pods = cluster_children(pods_store, rc->meta.ns, rc->meta.name, "v1", "Pod", POD_PATHS,
                                  NPATHS(POD_PATHS), err))) {
        r = err->code;
        goto out;
    }
    if (rc->spec.n_workers && !(sat = calloc(rc->spec.n_workers, sizeof(*sat)))) {
        r = krc_error_set(err, KRC_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t g = 0; g < rc->spec.n_workers; g++)
        sat[g] = raycluster_expect_satisfied(c->expect, rc->meta.ns, rc->meta.name,
                                             rc->spec.workers[g].group_name, pod_lookup, pods_store,
                                             now);
    struct raycluster_scale_input in = {
        .pods = pods,
        .head_expectations_satisfied = raycluster_expect_satisfied(
            c->expect, rc->meta.ns, rc->meta.name, "", pod_lookup, pods_store, now),
        .group_expectations_satisfied = sat,
        .spec_hash = hash,
        .random_suffix = random_suffix,
    };
    if ((r = raycluster_plan_pods(rc, &c->o.build, &in, &plan, err)))
        goto out;
    p->pods = pods;
    p->hash = hash;
    size_t creates = 0;
    for (size_t i = 0; i < plan.n; i++) {
        const struct raycluster_action *a = &plan.actions[i];
        if ((r = exec_action(p, a, err)))
            break;
        creates += a->kind == RAYCLUSTER_ACT_CREATE_WORKER_POD;
        if (creates >= RAYCLUSTER_CREATE_BATCH && i + 1 < plan.n &&
            !same_replica(a, &plan.actions[i + 1])) {
            p->more = true;
            break;
        }
    }
out:
    raycluster_plan_free(&plan);
    free(sat);
    json_decref(pods);
    p->pods = NULL;
    p->hash = NULL;
    return r;
}

/* ---- status ------------------------------------------------------------------------------- */

static int write_status(struct raycluster_controller *c, const struct raycluster *rc,
                        const struct raycluster_status *st, struct krc_error *err)
{
    json_t *doc = json_deep_copy(rc->root), *sj = raycluster_status_to_json(st);
    char *body = NULL;
    int r = KRC_ENOMEM;
    if (!doc || !sj)
        goto out;
    if (kobj_set_new(doc, "status", sj)) {
        sj = NULL;
        goto out;
    }
    sj = NULL;
    if (!(body = json_dumps(doc, JSON_COMPACT)))
        goto out;
    r = krc_client_update_status(c->o.client, &RES_RAYCLUSTER, rc->meta.ns, rc->meta.name, body,
                                 strlen(body), NULL, NULL, err);
out:
    if (r == KRC_ENOMEM)
        krc_error_set(err, r, "write status of %s/%s: out of memory", rc->meta.ns, rc->meta.name);
    free(body);
    json_decref(sj);
    json_decref(doc);
    return r;
}

/* Computes the status from the caches and writes it when it differs; *written tells which. */
static int reconcile_status(struct raycluster_controller *c, struct nsset *set,
                            const struct raycluster *rc,
                            const struct raycluster_reconcile_result *res, bool *written,
                            struct krc_error *err)
{
    struct raycluster_status st;
    char now[40];
    json_t *pods = cluster_children(krc_informer_store(set->pods), rc->meta.ns, rc->meta.name, "v1",
                                    "Pod", POD_PATHS, NPATHS(POD_PATHS), err);
    json_t *svcs = pods ? head_services(set, rc, err) : NULL;
    int r;
    *written = false;
    raycluster_status_init(&st);
    if (!pods || !svcs) {
        r = err->code ? err->code : KRC_ENOMEM;
        goto out;
    }
    struct raycluster_observed obs = {pods, svcs};
    if ((r = raycluster_compute_status(rc, &c->o.build.gates, &obs, res, now_rfc3339(now), &st,
                                       err)))
        goto out;
    if (!raycluster_status_differs(&rc->status, &st))
        goto out;
    if ((r = write_status(c, rc, &st, err)))
        goto out;
    *written = true;
    if (!raycluster_status_condition_true(&rc->status, RAYCLUSTER_COND_PROVISIONED) &&
        raycluster_status_condition_true(&st, RAYCLUSTER_COND_PROVISIONED))
        prov_set(c, rc);
out:
    raycluster_status_free(&st);
    json_decref(pods);
    json_decref(svcs);
    return r;
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

/* ---- GCS FT finalizer and Redis cleanup (§6.12) ---------------------------------------- */

#define GCS_FT_FINALIZER         "ray.io/gcs-ft-redis-cleanup-finalizer"
#define GCS_FT_DELETION_TIMEOUT  "ray.io/gcs-ft-deletion-timeout"
#define GCS_FT_DEFAULT_TIMEOUT_S 300
#define DELETION_HEAD_REQUEUE_NS (10 * INT64_C(1000000000))

/* The index of the finalizer in metadata.finalizers, or -1. */
static long finalizer_index(const struct raycluster *rc)
{
    json_t *f = kobj_path(rc->root, "metadata.finalizers"), *v;
    size_t i;
    json_array_foreach(f, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), GCS_FT_FINALIZER) == 0)
            return (long)i;
    }
    return -1;
}

/* Adds or removes the finalizer with a JSON patch conditional on the resourceVersion we read
 * (our cached document is a projection, so a full PUT would drop what it does not hold). */
static int edit_finalizer(struct raycluster_controller *c, const struct raycluster *rc, bool add,
                          struct krc_error *err)
{
    char body[512];
    long idx = finalizer_index(rc);
    const char *rv = rc->meta.resource_version;
    if (add && kobj_path(rc->root, "metadata.finalizers"))
        snprintf(body, sizeof(body),
                 "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"%s\"},"
                 "{\"op\":\"add\",\"path\":\"/metadata/finalizers/-\",\"value\":\"%s\"}]",
                 rv, GCS_FT_FINALIZER);
    else if (add)
        snprintf(body, sizeof(body),
                 "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"%s\"},"
                 "{\"op\":\"add\",\"path\":\"/metadata/finalizers\",\"value\":[\"%s\"]}]",
                 rv, GCS_FT_FINALIZER);
    else if (idx >= 0)
        snprintf(body, sizeof(body),
                 "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"%s\"},"
                 "{\"op\":\"test\",\"path\":\"/metadata/finalizers/%ld\",\"value\":\"%s\"},"
                 "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/%ld\"}]",
                 rv, idx, GCS_FT_FINALIZER, idx);
    else
        return 0;
    return krc_client_patch(c->o.client, &RES_RAYCLUSTER, rc->meta.ns, rc->meta.name, NULL,
                            KRC_PATCH_JSON, body, strlen(body), NULL, NULL, err);
}

static bool job_finished(const json_t *job)
{
    json_t *conds = kobj_path(job, "status.conditions"), *cd;
    size_t i;
    json_array_foreach(conds, i, cd)
    {
        const char *t = kobj_str(cd, "type"), *st = kobj_str(cd, "status");
        if (t && st && strcmp(st, "True") == 0 &&
            (strcmp(t, "Complete") == 0 || strcmp(t, "Failed") == 0 ||
             strcmp(t, "FailureTarget") == 0))
            return true;
    }
    return false;
}

static time_t parse_time(const char *ts)
{
    struct tm tm = {0};
    if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return 0;
    return timegm(&tm);
}

/* Go's time.Duration text for whole seconds ("5m0s", "42s"). */
static void go_duration(long secs, char *buf, size_t size)
{
    if (secs >= 3600)
        snprintf(buf, size, "%ldh%ldm%lds", secs / 3600, secs % 3600 / 60, secs % 60);
    else if (secs >= 60)
        snprintf(buf, size, "%ldm%lds", secs / 60, secs % 60);
    else
        snprintf(buf, size, "%lds", secs);
}

static long deletion_timeout_s(const struct raycluster *rc)
{
    const char *v = raycluster_annotation(rc, GCS_FT_DELETION_TIMEOUT);
    char *end;
    long t = v ? strtol(v, &end, 10) : 0;
    return v && *v && !*end && t > 0 ? t : GCS_FT_DEFAULT_TIMEOUT_S;
}

static int cleanup_job_step(struct raycluster_controller *c, const struct raycluster *rc,
                            int64_t *requeue, struct krc_error *err)
{
    char sel[RAYNAME_MAX + 64], age[64];
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_list_opts lo = {.label_selector = sel};
    json_t *list = NULL, *job = NULL;
    char *body = NULL;
    int r;
    snprintf(sel, sizeof(sel), "%s=%s,%s=redis-cleanup", RAY_LABEL_CLUSTER, rc->meta.name,
             RAY_LABEL_NODE_TYPE);
    if ((r = krc_client_list(c->o.client, &RES_JOB, rc->meta.ns, &lo, &out, err)) ||
        (r = krc_client_parse_json(&out, &list, err)))
        goto out;
    long elapsed = (long)(time(NULL) - parse_time(rc->meta.deletion_timestamp));
    if (elapsed >= deletion_timeout_s(rc)) {
        if ((r = edit_finalizer(c, rc, false, err)))
            goto out;
        const char *ns_anno = raycluster_annotation(rc, RAY_ANNOTATION_EXTERNAL_STORAGE_NS);
        go_duration(elapsed, age, sizeof(age));
        EVENT(c, rc, KRC_EVENT_WARNING, "ForceDeletedStuckCluster", "Cleanup",
              "Force-removed GCS FT finalizer after %s due to Redis cleanup timeout; Redis storage "
              "namespace \"%s\" may need manual cleanup",
              age, ns_anno ? ns_anno : "");
        goto out;
    }
    json_t *items = kobj_arr(list, "items");
    if (json_array_size(items) > 0) {
        if (job_finished(json_array_get(items, 0)))
            r = edit_finalizer(c, rc, false, err);
        else
            *requeue = RAYCLUSTER_STATUS_REQUEUE_NS;
        goto out;
    }
    if ((r = raycluster_build_redis_cleanup_job(rc, &c->o.build, &job, err)))
        goto out;
    const char *name = kobj_path_str(job, "metadata.name");
    if (!(body = json_dumps(job, JSON_COMPACT))) {
        r = krc_error_set(err, KRC_ENOMEM, "serialize the cleanup job: out of memory");
        goto out;
    }
    r = krc_client_create(c->o.client, &RES_JOB, rc->meta.ns, body, strlen(body), NULL, NULL, err);
    if (r == KRC_EEXIST) {
        r = 0;
    } else if (r) {
        EVENT(c, rc, KRC_EVENT_WARNING, "FailedToCreateRedisCleanupJob", "Create",
              "Failed to create Redis cleanup Job %s/%s, %s", rc->meta.ns, name ? name : "",
              err->msg);
        goto out;
    } else {
        EVENT(c, rc, KRC_EVENT_NORMAL, "CreatedRedisCleanupJob", "Create",
              "Created Redis cleanup Job %s/%s", rc->meta.ns, name ? name : "");
    }
    *requeue = RAYCLUSTER_STATUS_REQUEUE_NS;
out:
    free(body);
    json_decref(job);
    json_decref(list);
    krc_strbuf_release(&out);
    return r;
}

/* §6.12 step 2.2: the cluster is being deleted and holds the finalizer. */
static int reconcile_ft_deletion(struct raycluster_controller *c, struct nsset *set,
                                 const struct raycluster *rc, int64_t *requeue,
                                 struct krc_error *err)
{
    char sel[RAYNAME_MAX + 64];
    json_t *pods = cluster_children(krc_informer_store(set->pods), rc->meta.ns, rc->meta.name, "v1",
                                    "Pod", POD_PATHS, NPATHS(POD_PATHS), err);
    bool any_head = false, live_head = false, live_worker = false;
    size_t i;
    json_t *p;
    int r = 0;
    if (!pods)
        return err->code;
    json_array_foreach(pods, i, p)
    {
        const char *t = raypod_label(p, RAY_LABEL_NODE_TYPE);
        bool head = t && strcmp(t, "head") == 0, worker = t && strcmp(t, "worker") == 0;
        any_head |= head;
        live_head |= head && !raypod_is_terminating(p);
        live_worker |= worker && !raypod_is_terminating(p);
    }
    json_decref(pods);
    snprintf(sel, sizeof(sel), "%s=%s,%s=head", RAY_LABEL_CLUSTER, rc->meta.name,
             RAY_LABEL_NODE_TYPE);
    if (live_head && (r = delete_collection(c, rc->meta.ns, sel, err)))
        return r;
    snprintf(sel, sizeof(sel), "%s=%s,%s=worker", RAY_LABEL_CLUSTER, rc->meta.name,
             RAY_LABEL_NODE_TYPE);
    if (live_worker && (r = delete_collection(c, rc->meta.ns, sel, err)))
        return r;
    if (any_head) {
        *requeue = DELETION_HEAD_REQUEUE_NS; /* the GCS must stop writing first */
        return 0;
    }
    return cleanup_job_step(c, rc, requeue, err);
}

/* Returns 1 when the reconcile ends here (with *requeue and the result in *r). */
static int reconcile_finalizer(struct raycluster_controller *c, struct nsset *set,
                               const struct raycluster *rc, int64_t *requeue, int *r,
                               struct krc_error *err)
{
    bool deleting = rc->meta.deletion_timestamp != NULL;
    bool has = finalizer_index(rc) >= 0;
    bool ft = raycluster_gcs_ft_enabled(rc), embedded = raycluster_gcs_ft_embedded(rc);
    *r = 0;
    if (deleting && embedded && has) {
        *r = edit_finalizer(c, rc, false, err);
        return 1;
    }
    if (!c->o.redis_cleanup || !ft || embedded)
        return 0;
    if (!deleting && !has) {
        if ((*r = edit_finalizer(c, rc, true, err)))
            krc_error_wrap(err, *r,
                           "failed to add the finalizer %s to the RayCluster: ", GCS_FT_FINALIZER);
        else
            *requeue = RAYCLUSTER_STATUS_REQUEUE_NS;
        return 1;
    }
    if (deleting && has) {
        *r = reconcile_ft_deletion(c, set, rc, requeue, err);
        return 1;
    }
    return 0;
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
    if (reconcile_finalizer(c, set, rc, requeue, &fr, err))
        return fr;
    if (rc->meta.deletion_timestamp)
        return 0; /* children go with the owner references (garbage collector) */

    char msg[KRC_ERROR_MSG_MAX + 64];
    struct raycluster_reconcile_result res = {RAYCLUSTER_OUTCOME_OK, NULL, NULL};
    struct pod_ctx p = {c, rc, NULL, NULL, &res, msg, sizeof(msg), false};
    int r = reconcile_rbac(c, rc, err);
    if (!r)
        r = reconcile_head_service(c, set, rc, err);
    if (r) {
        res.outcome = RAYCLUSTER_OUTCOME_OTHER_ERROR;
        snprintf(msg, sizeof(msg), "%s", err->msg);
        res.message = msg;
    } else {
        r = reconcile_pods(c, set, rc, &p, err);
    }
    struct krc_error serr = {0};
    bool written = false;
    int sr = reconcile_status(c, set, rc, &res, &written, &serr);
    if (r)
        return r;
    if (sr) {
        *err = serr;
        return sr;
    }
    *requeue = p.more ? 1 : written ? RAYCLUSTER_STATUS_REQUEUE_NS : c->o.requeue_ns;
    return 0;
}

static void count_result(struct raycluster_controller *c, int idx)
{
    pthread_mutex_lock(&c->mu);
    c->results[idx]++;
    pthread_mutex_unlock(&c->mu);
}

static int reconcile(void *ctx, const char *key, int64_t *requeue_after_ns)
{
    struct raycluster_controller *c = ctx;
    struct krc_error err = {0};
    char ns[254], name[254];
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) >= sizeof(ns) || strlen(slash + 1) >= sizeof(name))
        return 0; /* not a key we made; nothing to retry */
    memcpy(ns, key, (size_t)(slash - key));
    ns[slash - key] = '\0';
    snprintf(name, sizeof(name), "%s", slash + 1);
    struct nsset *set = find_set(c, ns);
    if (!set)
        return 0;
    struct krc_object *o = krc_store_get(krc_informer_store(set->rcs), ns, name);
    if (!o) {
        raycluster_expect_drop_cluster(c->expect, ns, name);
        prov_forget(c, ns, name);
        count_result(c, 0);
        return 0;
    }
    json_t *doc = object_doc(o, "ray.io/v1", "RayCluster", RC_PATHS, NPATHS(RC_PATHS));
    krc_object_unref(o);
    if (!doc) {
        count_result(c, 1);
        return KRC_ENOMEM;
    }
    struct raycluster rc;
    int r = raycluster_parse(doc, &rc, &err);
    json_decref(doc); /* rc holds its own reference */
    if (r) {
        KRC_LOG_ERROR("cannot parse RayCluster", "key", key, "error", err.msg);
        count_result(c, 0);
        return 0; /* the API server's schema should make this impossible; retrying won't help */
    }
    r = reconcile_cluster(c, set, &rc, requeue_after_ns, &err);
    raycluster_release(&rc);
    if (r) {
        KRC_LOG_ERROR("reconcile failed", "controller", "raycluster", "key", key, "error", err.msg);
        count_result(c, 1);
        return r;
    }
    count_result(c, *requeue_after_ns > 0 ? 2 : 0);
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

enum informer_kind { INF_PRIMARY, INF_POD, INF_OWNED };

static int new_informer(struct raycluster_controller *c, const char *ns, struct krc_resource res,
                        const char *selector, const char *const *paths, size_t npaths,
                        const char *index_label, enum informer_kind kind, struct krc_informer **out,
                        struct krc_error *err)
{
    struct krc_informer_options io = {
        .resource = res,
        .namespace = ns,
        .label_selector = selector,
        .paths = paths,
        .npaths = npaths,
        .index_label = index_label,
    };
    struct krc_informer_handlers h = {rc_add, rc_update, rc_add, c};
    if (kind == INF_POD)
        h = (struct krc_informer_handlers){pod_add, pod_update, pod_add, c};
    else if (kind == INF_OWNED)
        h = (struct krc_informer_handlers){owned_add, owned_update, owned_add, c};
    int r = krc_informer_new(c->o.client, &io, out, err);
    if (!r && (r = krc_informer_add_handlers(*out, &h, err))) {
        krc_informer_free(*out);
        *out = NULL;
    }
    return r;
}

static int add_set(struct raycluster_controller *c, const char *ns, struct krc_error *err)
{
    struct nsset *s = &c->sets[c->nsets];
    int r;
    memset(s, 0, sizeof(*s));
    if (ns && !(s->ns = strdup(ns)))
        return krc_error_set(err, KRC_ENOMEM, "out of memory");
    c->nsets++;
    if ((r = new_informer(c, ns, RES_RAYCLUSTER, NULL, RC_PATHS, NPATHS(RC_PATHS), NULL,
                          INF_PRIMARY, &s->rcs, err)) ||
        (r = new_informer(c, ns, RES_POD, POD_SELECTOR, POD_PATHS, NPATHS(POD_PATHS),
                          RAY_LABEL_CLUSTER, INF_POD, &s->pods, err)) ||
        (r = new_informer(c, ns, RES_SERVICE, NULL, SVC_PATHS, NPATHS(SVC_PATHS), RAY_LABEL_CLUSTER,
                          INF_OWNED, &s->svcs, err)))
        return r;
    return 0;
}

int raycluster_controller_new(const struct raycluster_controller_opts *opts,
                              struct raycluster_controller **out, struct krc_error *err)
{
    struct raycluster_controller *c = calloc(1, sizeof(*c));
    char *list = NULL;
    int r = KRC_ENOMEM;
    if (!c)
        return krc_error_set(err, KRC_ENOMEM, "raycluster controller: out of memory");
    c->o = *opts;
    pthread_mutex_init(&c->mu, NULL);
    srandom((unsigned)time(NULL) ^ (unsigned)getpid()); /* multi-host replica name suffixes */
    struct krc_workqueue_opts qo = {.name = "raycluster"};
    if ((r = krc_workqueue_new(&qo, &c->queue, err)) ||
        (r = raycluster_expect_new(&c->expect, err)))
        goto err;
    const char *w = opts->watch_namespaces ? opts->watch_namespaces : "";
    size_t n = 1;
    for (const char *s = w; *s; s++)
        n += *s == ',';
    if (!(c->sets = calloc(n, sizeof(*c->sets))) || !(list = strdup(w))) {
        r = krc_error_set(err, KRC_ENOMEM, "raycluster controller: out of memory");
        goto err;
    }
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (*tok && (r = add_set(c, tok, err)))
            goto err;
    }
    if (c->nsets == 0 && (r = add_set(c, NULL, err)))
        goto err;
    free(list);
    *out = c;
    return 0;
err:
    free(list);
    raycluster_controller_free(c);
    return r;
}

int raycluster_controller_start(struct raycluster_controller *c, struct krc_error *err)
{
    int r;
    for (size_t i = 0; i < c->nsets; i++) {
        struct krc_informer *infs[] = {c->sets[i].rcs, c->sets[i].pods, c->sets[i].svcs};
        for (size_t j = 0; j < 3; j++) {
            if ((r = krc_informer_start(infs[j], err)))
                return r;
        }
    }
    for (size_t i = 0; i < c->nsets; i++) {
        struct krc_informer *infs[] = {c->sets[i].rcs, c->sets[i].pods, c->sets[i].svcs};
        for (size_t j = 0; j < 3; j++) {
            if ((r = krc_informer_wait_synced(infs[j], RAYCLUSTER_CACHE_SYNC_TIMEOUT_MS)))
                return krc_error_set(err, r,
                                     "raycluster controller: caches of namespace %s did "
                                     "not sync: %s",
                                     c->sets[i].ns ? c->sets[i].ns : "(all)", krc_strerror(r));
        }
    }
    return krc_workqueue_start_workers(c->queue, c->o.workers > 0 ? c->o.workers : 1, reconcile, c,
                                       &c->workers, err);
}

void raycluster_controller_stop(struct raycluster_controller *c)
{
    if (c->workers) {
        krc_workqueue_stop_workers(c->workers);
        c->workers = NULL;
    } else if (c->queue) {
        krc_workqueue_shutdown(c->queue);
    }
    for (size_t i = 0; i < c->nsets; i++) {
        if (c->sets[i].rcs)
            krc_informer_stop(c->sets[i].rcs);
        if (c->sets[i].pods)
            krc_informer_stop(c->sets[i].pods);
        if (c->sets[i].svcs)
            krc_informer_stop(c->sets[i].svcs);
    }
}

void raycluster_controller_free(struct raycluster_controller *c)
{
    if (!c)
        return;
    raycluster_controller_stop(c);
    for (size_t i = 0; i < c->nsets; i++) {
        krc_informer_free(c->sets[i].rcs);
        krc_informer_free(c->sets[i].pods);
        krc_informer_free(c->sets[i].svcs);
        free(c->sets[i].ns);
    }
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
    for (size_t i = 0; i < c->nsets && !r; i++) {
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
    pthread_mutex_lock(&c->mu);
    r = krc_strbuf_addf(out,
                        "# HELP controller_runtime_reconcile_total Total number of reconciliations "
                        "per controller\n# TYPE controller_runtime_reconcile_total counter\n"
                        "controller_runtime_reconcile_total{controller=\"raycluster\","
                        "result=\"success\"} %llu\n"
                        "controller_runtime_reconcile_total{controller=\"raycluster\","
                        "result=\"error\"} %llu\n"
                        "controller_runtime_reconcile_total{controller=\"raycluster\","
                        "result=\"requeue_after\"} %llu\n",
                        c->results[0], c->results[1], c->results[2]);
    pthread_mutex_unlock(&c->mu);
out:
    krc_strbuf_release(&info);
    krc_strbuf_release(&cond);
    return r;
}
