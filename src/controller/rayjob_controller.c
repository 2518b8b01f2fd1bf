/* rayjob_controller.c - the RayJob reconcile layer (see rayjob_controller.h).
 *
 * A reconcile: read the RayJob from the cache and parse it; skip it when another controller
 * manages it; validate (§3.3); observe the RayCluster, the submitter and, when the state machine
 * asks, the dashboard; run rayjob_sm_step(); execute its actions in order (any failure is an
 * error requeue and nothing is written); write the status when it says so.
 *
 * _GNU_SOURCE for strptime() (via rayjob_state) and random(). */
#define _GNU_SOURCE
#include "controller/rayjob_controller.h"

#include "api/kobj.h"
#include "api/raycluster.h"
#include "api/rayjob.h"
#include "controller/controller_runtime.h"
#include "controller/rayjob_cluster.h"
#include "controller/rayjob_state.h"
#include "controller/rayjob_submitter.h"
#include "kube/informer.h"
#include "kube/workqueue.h"
#include "ray/dashboard.h"
#include "ray/jobid.h"
#include "ray/jobsubmit.h"
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NS_PER_S               INT64_C(1000000000)
#define SUBMITTER_SELECTOR     "app.kubernetes.io/created-by=kuberay-operator"
#define DASHBOARD_DEFAULT_PORT "8265"
#define RAYJOB_URL_MAX         512

static const struct krc_resource RES_RAYJOB = {"ray.io", "v1", "rayjobs", 1};
static const struct krc_resource RES_RAYCLUSTER = {"ray.io", "v1", "rayclusters", 1};
static const struct krc_resource RES_JOB = {"batch", "v1", "jobs", 1};
static const struct krc_resource RES_SERVICE = {"", "v1", "services", 1};
static const struct krc_resource RES_POD = {"", "v1", "pods", 1};

static const char *const RJ_PATHS[] = {"spec", "status", "metadata.annotations",
                                       "metadata.finalizers", "metadata.creationTimestamp"};
/* The same paths at the same indices as the RayCluster controller's cache, which this controller
 * shares when it can (rayjob_controller_opts.clusters). */
static const char *const RC_PATHS[] = {
    [RAYCLUSTER_CACHE_PATH_SPEC] = "spec",
    [RAYCLUSTER_CACHE_PATH_STATUS] = "status",
    [RAYCLUSTER_CACHE_PATH_ANNOTATIONS] = "metadata.annotations",
};
static const char *const JOB_PATHS[] = {"status"};
/* kubectl's copy of an applied RayJob or RayCluster is not kept (index 2: the annotations of
 * RJ_PATHS and RC_PATHS). */
static const struct krc_projection_drop APPLIED_DROPS[] = {{2, KRC_LAST_APPLIED_ANNOTATION}};
#define NPATHS(a) (sizeof(a) / sizeof((a)[0]))

/* The informers of one watched namespace (ns NULL: all namespaces); rt owns them. */
struct nsset {
    const char *ns;
    struct krc_informer *jobs, *clusters, *submitters;
};

struct duration_series {
    char *ns, *name, *uid, *state, *retry;
    double seconds;
};

struct rayjob_controller {
    struct rayjob_controller_opts o;
    struct rayjob_sm_config cfg;
    struct nsset *sets; /* one per entry of rt.ns */
    struct krc_workqueue *queue;
    struct controller_runtime rt; /* watched namespaces, informers, workers */
    pthread_mutex_t mu;           /* guards the metric state below */
    struct duration_series *dur;
    size_t ndur, capdur;
};

/* ---- handlers -------------------------------------------------------------------------- */

static struct nsset *find_set(struct rayjob_controller *c, const char *ns)
{
    long i = controller_runtime_find(&c->rt, ns);
    return i < 0 ? NULL : &c->sets[i];
}

static void enqueue_name(struct rayjob_controller *c, const char *ns, const char *name)
{
    char key[KRC_WORKQUEUE_KEY_MAX];
    int n = snprintf(key, sizeof(key), "%s/%s", ns, name);
    if (n > 0 && (size_t)n < sizeof(key))
        (void)krc_workqueue_add(c->queue, key); /* fails only on shutdown or ENOMEM */
}

static void rj_add(void *ctx, struct krc_object *o)
{
    enqueue_name(ctx, krc_object_namespace(o), krc_object_name(o));
}

static void rj_update(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj)
{
    (void)old_obj;
    rj_add(ctx, new_obj);
}

static void owned_add(void *ctx, struct krc_object *o)
{
    const char *kind = krc_object_controller_kind(o), *name = krc_object_controller_name(o);
    if (kind && name && strcmp(kind, RAYJOB_CRD_NAME) == 0)
        enqueue_name(ctx, krc_object_namespace(o), name);
}

static void owned_update(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj)
{
    owned_add(ctx, old_obj);
    owned_add(ctx, new_obj);
}

/* ---- events ---------------------------------------------------------------------------- */

static void record_event(struct rayjob_controller *c, const struct rayjob *job,
                         enum krc_event_type type, const char *reason, const char *action,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void record_event(struct rayjob_controller *c, const struct rayjob *job,
                         enum krc_event_type type, const char *reason, const char *action,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    controller_runtime_eventv(c->o.events, RAYJOB_CRD_NAME, &job->meta, type, reason, action, fmt,
                              ap);
    va_end(ap);
}

/* ---- metrics state --------------------------------------------------------------------- */

static void dur_free(struct duration_series *d)
{
    free(d->ns);
    free(d->name);
    free(d->uid);
    free(d->state);
    free(d->retry);
}

static void dur_forget(struct rayjob_controller *c, const char *ns, const char *name)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->ndur;) {
        if (strcmp(c->dur[i].ns, ns) == 0 && strcmp(c->dur[i].name, name) == 0) {
            dur_free(&c->dur[i]);
            c->dur[i] = c->dur[--c->ndur];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

static void dur_set(struct rayjob_controller *c, const struct rayjob *job, const char *state,
                    int32_t retry, double seconds)
{
    char rbuf[16];
    snprintf(rbuf, sizeof(rbuf), "%d", retry);
    struct duration_series d = {strdup(job->meta.ns), strdup(job->meta.name), strdup(job->meta.uid),
                                strdup(state),        strdup(rbuf),           seconds};
    pthread_mutex_lock(&c->mu);
    if (!d.ns || !d.name || !d.uid || !d.state || !d.retry)
        goto drop;
    for (size_t i = 0; i < c->ndur; i++) {
        struct duration_series *e = &c->dur[i];
        if (strcmp(e->ns, d.ns) == 0 && strcmp(e->name, d.name) == 0 &&
            strcmp(e->uid, d.uid) == 0 && strcmp(e->state, d.state) == 0 &&
            strcmp(e->retry, d.retry) == 0) {
            e->seconds = seconds;
            goto drop;
        }
    }
    if (c->ndur == c->capdur) {
        size_t cap = c->capdur ? c->capdur * 2 : 16;
        struct duration_series *p = realloc(c->dur, cap * sizeof(*p));
        if (!p)
            goto drop;
        c->dur = p;
        c->capdur = cap;
    }
    c->dur[c->ndur++] = d;
    pthread_mutex_unlock(&c->mu);
    return;
drop:
    pthread_mutex_unlock(&c->mu);
    dur_free(&d);
}

/* ---- one reconcile ---------------------------------------------------------------------- */

/* What a reconcile holds besides the RayJob: the parsed RayCluster and submitter Job. */
struct rctx {
    struct rayjob_controller *c;
    struct nsset *set;
    struct rayjob *job;
    bool have_cluster;
    struct raycluster cluster; /* valid when have_cluster */
    json_t *submitter;         /* Job document or NULL */
    char resource_version[128];
    char dashboard_url[RAYJOB_URL_MAX];
};

static bool has_finalizer(const struct rayjob *job, long *index)
{
    json_t *v;
    size_t i;
    json_array_foreach(job->meta.finalizers, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), RAYJOB_FINALIZER) == 0) {
            if (index)
                *index = (long)i;
            return true;
        }
    }
    return false;
}

static int load_cluster(struct rctx *x, const char *name, struct krc_error *err)
{
    if (!name || !*name)
        return 0;
    struct krc_object *o =
        krc_store_get(krc_informer_store(x->set->clusters), x->job->meta.ns, name);
    if (!o)
        return 0;
    json_t *doc =
        controller_runtime_object_doc(o, "ray.io/v1", "RayCluster", RC_PATHS, NPATHS(RC_PATHS));
    krc_object_unref(o);
    if (!doc)
        return krc_error_set(err, KRC_ENOMEM, "read RayCluster %s: out of memory", name);
    int r = raycluster_parse(doc, &x->cluster, err);
    json_decref(doc);
    if (!r)
        x->have_cluster = true;
    return r;
}

/* The submitter Job: from the cache, else from the API (a Job created a moment ago). */
static int load_submitter(struct rctx *x, struct krc_error *err)
{
    const struct rayjob *job = x->job;
    struct krc_object *o =
        krc_store_get(krc_informer_store(x->set->submitters), job->meta.ns, job->meta.name);
    if (o) {
        x->submitter =
            controller_runtime_object_doc(o, "batch/v1", "Job", JOB_PATHS, NPATHS(JOB_PATHS));
        krc_object_unref(o);
        return x->submitter ? 0 : krc_error_set(err, KRC_ENOMEM, "out of memory");
    }
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int r = krc_client_get(x->c->o.client, &RES_JOB, job->meta.ns, job->meta.name, &out, err);
    if (!r)
        r = krc_client_parse_json(&out, &x->submitter, err);
    krc_strbuf_release(&out);
    if (r == KRC_ENOTFOUND) {
        krc_error_clear(err);
        return 0;
    }
    return r;
}

static void observe_submitter(const json_t *jobdoc, struct rayjob_sm_obs *obs)
{
    json_t *conds = kobj_path(jobdoc, "status.conditions"), *cd;
    size_t i;
    obs->submitter_found = jobdoc != NULL;
    obs->submitter_deleting = kobj_path_str(jobdoc, "metadata.deletionTimestamp") != NULL;
    json_array_foreach(conds, i, cd)
    {
        const char *t = kobj_str(cd, "type"), *s = kobj_str(cd, "status");
        if (!t || !s || strcmp(s, "True") != 0)
            continue;
        bool failed = strcmp(t, "Failed") == 0, complete = strcmp(t, "Complete") == 0;
        if (!failed && !complete)
            continue;
        if (failed && !obs->submitter_failed) {
            obs->submitter_failed = true;
            obs->submitter_fail_reason = kobj_str(cd, "reason");
            obs->submitter_fail_message = kobj_str(cd, "message");
        }
        obs->submitter_complete |= complete;
        if (!obs->submitter_finished_at)
            obs->submitter_finished_at = rayjob_time_parse(kobj_str(cd, "lastTransitionTime"));
    }
}

static bool workers_suspended(const struct raycluster *rc)
{
    for (size_t i = 0; i < rc->spec.n_workers; i++) {
        if (!raycluster_group_suspended(&rc->spec.workers[i]))
            return false;
    }
    return true;
}

/* §6.4: read the cluster's head Service and compute the address. Failures leave it unset (the
 * state machine turns that into an error requeue once the cluster is ready). */
static void observe_dashboard_url(struct rctx *x, struct rayjob_sm_obs *obs)
{
    char name[256];
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error e = {0};
    json_t *svc = NULL;
    rayjob_cluster_head_service_name(&x->cluster, name, sizeof(name));
    if (krc_client_get(x->c->o.client, &RES_SERVICE, x->job->meta.ns, name, &out, &e) == 0 &&
        krc_client_parse_json(&out, &svc, &e) == 0 &&
        rayjob_dashboard_url(&x->cluster, svc, x->c->o.build.cluster_domain, x->dashboard_url,
                             sizeof(x->dashboard_url), &e) == 0)
        obs->dashboard_url = x->dashboard_url;
    else
        KRC_LOG_INFO("dashboard address not known yet", "namespace", x->job->meta.ns, "cluster",
                     x->cluster.meta.name, "error", e.msg);
    json_decref(svc);
    krc_strbuf_release(&out);
}

/* SidecarMode: the head pod and its ray-job-submitter container (§8.3.3). */
static int observe_sidecar(struct rctx *x, const char *cluster, struct rayjob_sm_obs *obs,
                           json_t **pods_out, struct krc_error *err)
{
    char sel[512];
    struct krc_strbuf out = KRC_STRBUF_INIT;
    snprintf(sel, sizeof(sel), "%s=%s,%s=head", RAY_LABEL_CLUSTER, cluster, RAY_LABEL_NODE_TYPE);
    struct krc_list_opts lo = {.label_selector = sel};
    json_t *list = NULL;
    int r = krc_client_list(x->c->o.client, &RES_POD, x->job->meta.ns, &lo, &out, err);
    if (!r)
        r = krc_client_parse_json(&out, &list, err);
    krc_strbuf_release(&out);
    if (r)
        return r;
    json_t *items = kobj_arr(list, "items");
    if (json_array_size(items) > 1) {
        json_decref(list);
        return krc_error_set(err, KRC_EINVAL, "more than one head pod in cluster %s", cluster);
    }
    json_t *pod = json_array_get(items, 0), *cs;
    size_t i;
    obs->head_pod_found = pod != NULL;
    json_array_foreach(kobj_path(pod, "status.containerStatuses"), i, cs)
    {
        const char *n = kobj_str(cs, "name");
        json_t *term = kobj_path(cs, "state.terminated");
        if (!n || strcmp(n, RAY_SUBMITTER_CONTAINER_NAME) != 0 || !term)
            continue;
        obs->sidecar_terminated = true;
        obs->sidecar_exit_code = (int)json_integer_value(json_object_get(term, "exitCode"));
        obs->sidecar_reason = kobj_str(term, "reason");
        obs->sidecar_finished_at = rayjob_time_parse(kobj_str(term, "finishedAt"));
    }
    *pods_out = list;
    return 0;
}

/* The dashboard's base URL: the head pod IP (see the header) with the port of dashboardURL. */
static int dashboard_client(struct rctx *x, const char *dashboard_url,
                            struct ray_dashboard_client **out, struct krc_error *err)
{
    char base[RAYJOB_URL_MAX + 16];
    const char *ip = x->have_cluster ? x->cluster.status.head.pod_ip : NULL;
    const char *colon = dashboard_url ? strrchr(dashboard_url, ':') : NULL;
    if (ip && *ip)
        snprintf(base, sizeof(base), "http://%s:%s", ip,
                 colon ? colon + 1 : DASHBOARD_DEFAULT_PORT);
    else if (dashboard_url && strncmp(dashboard_url, "http://", 7) == 0)
        snprintf(base, sizeof(base), "%s", dashboard_url);
    else
        snprintf(base, sizeof(base), "http://%s", dashboard_url ? dashboard_url : "");
    struct ray_dashboard_opts o = {.base_url = base, .timeout_ms = RAY_DASHBOARD_TIMEOUT_MS};
    return ray_dashboard_client_new(&o, out, err);
}

/* ---- actions --------------------------------------------------------------------------- */

static int edit_finalizer(struct rctx *x, bool add, struct krc_error *err)
{
    const struct rayjob *job = x->job;
    char body[768];
    long idx = -1;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *resp = NULL;
    const char *rv = x->resource_version;
    if (add && job->meta.finalizers)
        snprintf(body, sizeof(body),
                 "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"%s\"},"
                 "{\"op\":\"add\",\"path\":\"/metadata/finalizers/-\",\"value\":\"%s\"}]",
                 rv, RAYJOB_FINALIZER);
    else if (add)
        snprintf(body, sizeof(body),
                 "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"%s\"},"
                 "{\"op\":\"add\",\"path\":\"/metadata/finalizers\",\"value\":[\"%s\"]}]",
                 rv, RAYJOB_FINALIZER);
    else if (has_finalizer(job, &idx))
        snprintf(body, sizeof(body),
                 "[{\"op\":\"test\",\"path\":\"/metadata/finalizers/%ld\",\"value\":\"%s\"},"
                 "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/%ld\"}]",
                 idx, RAYJOB_FINALIZER, idx);
    else
        return 0;
    int r = krc_client_patch(x->c->o.client, &RES_RAYJOB, job->meta.ns, job->meta.name, NULL,
                             KRC_PATCH_JSON, body, strlen(body), NULL, &out, err);
    if (!r && !krc_client_parse_json(&out, &resp, NULL)) {
        const char *nrv = kobj_path_str(resp, "metadata.resourceVersion");
        if (nrv)
            snprintf(x->resource_version, sizeof(x->resource_version), "%s", nrv);
    }
    json_decref(resp);
    krc_strbuf_release(&out);
    return r;
}

static int create_object(struct rctx *x, const struct krc_resource *res, json_t *obj,
                         struct krc_error *err)
{
    char *body = json_dumps(obj, JSON_COMPACT);
    if (!body)
        return krc_error_set(err, KRC_ENOMEM, "serialize: out of memory");
    int r = krc_client_create(x->c->o.client, res, x->job->meta.ns, body, strlen(body), NULL, NULL,
                              err);
    free(body);
    return r;
}

static int act_create_cluster(struct rctx *x, const struct rayjob_status *st, struct krc_error *err)
{
    const struct rayjob *job = x->job;
    json_t *obj = NULL;
    int r = rayjob_build_cluster(job, st->ray_cluster_name, st->job_id, st->dashboard_url,
                                 x->c->o.build.login_shell, &obj, err);
    if (!r)
        r = create_object(x, &RES_RAYCLUSTER, obj, err);
    json_decref(obj);
    if (r == KRC_EEXIST)
        return 0; /* the cache is behind */
    if (r) {
        record_event(x->c, job, KRC_EVENT_WARNING, "FailedToCreateRayCluster", "Create",
                     "Failed to create RayCluster %s/%s: %s", job->meta.ns, st->ray_cluster_name,
                     err->msg);
        return r;
    }
    record_event(x->c, job, KRC_EVENT_NORMAL, "CreatedRayCluster", "Create",
                 "Created RayCluster %s/%s", job->meta.ns, st->ray_cluster_name);
    return 0;
}

static const char *svc_cluster(const json_t *svc)
{
    return kobj_map_get(kobj_path(svc, "spec.selector"), RAY_LABEL_CLUSTER);
}

/* §6.3: create `<rayjob>-head-svc`, or re-point it at the current cluster. */
static int act_head_service(struct rctx *x, struct krc_error *err)
{
    const struct rayjob *job = x->job;
    char name[300];
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *have = NULL, *want = NULL;
    char *body = NULL;
    int r;
    if (!x->have_cluster)
        return 0; /* created in this reconcile: next time */
    snprintf(name, sizeof(name), "%s%s", job->meta.name, RAYJOB_HEAD_SVC_SUFFIX);
    r = krc_client_get(x->c->o.client, &RES_SERVICE, job->meta.ns, name, &out, err);
    if (r && r != KRC_ENOTFOUND)
        goto out;
    if (!r && (r = krc_client_parse_json(&out, &have, err)))
        goto out;
    const char *cur = have ? svc_cluster(have) : NULL;
    if (cur && strcmp(cur, x->cluster.meta.name) == 0) {
        r = 0;
        goto out;
    }
    if ((r = rayjob_build_head_service(job, &x->cluster, &x->c->o.build, &want, err)))
        goto out;
    if (!have) {
        krc_error_clear(err);
        r = create_object(x, &RES_SERVICE, want, err);
        if (r == KRC_EEXIST)
            r = 0;
        else if (r)
            record_event(x->c, job, KRC_EVENT_WARNING, "FailedToCreateService", "Create",
                         "Failed to create the service %s/%s, %s", job->meta.ns, name, err->msg);
        else
            record_event(x->c, job, KRC_EVENT_NORMAL, "CreatedService", "Create",
                         "Created the service %s/%s", job->meta.ns, name);
        goto out;
    }
    /* A retry moved the job to a new cluster: new spec, same clusterIP. */
    json_t *spec = json_deep_copy(kobj_obj(want, "spec"));
    const char *ip = kobj_path_str(have, "spec.clusterIP");
    if (!spec || (ip && kobj_set_str(spec, "clusterIP", ip)) || kobj_set_new(have, "spec", spec) ||
        !(body = json_dumps(have, JSON_COMPACT))) {
        r = krc_error_set(err, KRC_ENOMEM, "update service: out of memory");
        goto out;
    }
    r = krc_client_update(x->c->o.client, &RES_SERVICE, job->meta.ns, name, body, strlen(body),
                          NULL, NULL, err);
    if (r)
        record_event(x->c, job, KRC_EVENT_WARNING, "FailedToUpdateService", "Update",
                     "Failed to update the service %s/%s, %s", job->meta.ns, name, err->msg);
    else
        record_event(x->c, job, KRC_EVENT_NORMAL, "UpdatedService", "Update",
                     "Updated the service %s/%s", job->meta.ns, name);
out:
    free(body);
    json_decref(have);
    json_decref(want);
    krc_strbuf_release(&out);
    return r;
}

static int act_create_submitter(struct rctx *x, const struct rayjob_status *st,
                                struct krc_error *err)
{
    const struct rayjob *job = x->job;
    json_t *obj = NULL;
    const struct raycluster *used = x->have_cluster ? &x->cluster : &job->cluster;
    struct rayjob_submitter_input in = {
        job, used, st->ray_cluster_name, st->job_id, st->dashboard_url, x->c->o.build.login_shell};
    int r = rayjob_build_submitter_job(&in, &obj, err);
    if (r)
        return r; /* a script error (metadata vs rayVersion): retried forever, as KubeRay */
    r = create_object(x, &RES_JOB, obj, err);
    json_decref(obj);
    if (r == KRC_EEXIST)
        return 0;
    if (r) {
        record_event(x->c, job, KRC_EVENT_WARNING, "FailedToCreateRayJobSubmitter", "Create",
                     "Failed to create new Kubernetes Job %s/%s: %s", job->meta.ns, job->meta.name,
                     err->msg);
        return r;
    }
    record_event(x->c, job, KRC_EVENT_NORMAL, "CreatedRayJobSubmitter", "Create",
                 "Created Kubernetes Job %s/%s", job->meta.ns, job->meta.name);
    return 0;
}

static int act_delete_cluster(struct rctx *x, const char *name, struct krc_error *err)
{
    const struct rayjob *job = x->job;
    int r = krc_client_delete(x->c->o.client, &RES_RAYCLUSTER, job->meta.ns, name, NULL, NULL, err);
    if (r == KRC_ENOTFOUND)
        return 0;
    if (r) {
        record_event(x->c, job, KRC_EVENT_WARNING, "FailedToDeleteRayCluster", "Delete",
                     "Failed to delete cluster %s/%s: %s", job->meta.ns, name, err->msg);
        return r;
    }
    record_event(x->c, job, KRC_EVENT_NORMAL, "DeletedRayCluster", "Delete",
                 "Deleted cluster %s/%s", job->meta.ns, name);
    return 0;
}

static int act_delete_submitter(struct rctx *x, struct krc_error *err)
{
    const struct rayjob *job = x->job;
    struct krc_delete_opts d = {.propagation_policy = "Background"};
    int r =
        krc_client_delete(x->c->o.client, &RES_JOB, job->meta.ns, job->meta.name, &d, NULL, err);
    if (r == KRC_ENOTFOUND)
        return 0;
    if (r) {
        record_event(x->c, job, KRC_EVENT_WARNING, "FailedToDeleteRayJobSubmitter", "Delete",
                     "Failed to delete submitter K8s Job %s/%s: %s", job->meta.ns, job->meta.name,
                     err->msg);
        return r;
    }
    record_event(x->c, job, KRC_EVENT_NORMAL, "DeletedRayJobSubmitter", "Delete",
                 "Deleted submitter K8s Job %s/%s", job->meta.ns, job->meta.name);
    return 0;
}

static int act_suspend_workers(struct rctx *x, const char *name, struct krc_error *err)
{
    const struct rayjob *job = x->job;
    struct krc_strbuf body = KRC_STRBUF_INIT;
    int r = krc_strbuf_addch(&body, '[');
    for (size_t i = 0; !r && x->have_cluster && i < x->cluster.spec.n_workers; i++)
        r = krc_strbuf_addf(&body,
                            "%s{\"op\":\"add\",\"path\":\"/spec/workerGroupSpecs/%zu/suspend\","
                            "\"value\":true}",
                            i ? "," : "", i);
    if (!r)
        r = krc_strbuf_addch(&body, ']');
    if (r) {
        krc_strbuf_release(&body);
        return krc_error_set(err, r, "suspend workers: out of memory");
    }
    r = krc_client_patch(x->c->o.client, &RES_RAYCLUSTER, job->meta.ns, name, NULL, KRC_PATCH_JSON,
                         body.buf, body.len, NULL, NULL, err);
    krc_strbuf_release(&body);
    if (r) {
        record_event(x->c, job, KRC_EVENT_WARNING, "FailedToUpdateRayCluster", "Update",
                     "Failed to suspend worker groups in cluster %s/%s: %s", job->meta.ns, name,
                     err->msg);
        return r;
    }
    record_event(x->c, job, KRC_EVENT_NORMAL, "UpdatedRayCluster", "Update",
                 "Set the `suspend` field to true for all worker groups in cluster %s/%s",
                 job->meta.ns, name);
    return 0;
}

/* §11 step 1: best effort, errors only logged. */
static void act_stop_job(struct rctx *x)
{
    const struct rayjob_status *st = &x->job->status;
    struct ray_dashboard_client *dc = NULL;
    struct krc_error e = {0};
    if (!st->dashboard_url || !*st->dashboard_url)
        return;
    if (dashboard_client(x, st->dashboard_url, &dc, &e) == 0 &&
        ray_dashboard_stop_job(dc, st->job_id, NULL, &e) == 0)
        KRC_LOG_INFO("stopped the Ray job", "namespace", x->job->meta.ns, "jobId", st->job_id);
    else
        KRC_LOG_INFO("failed to stop the Ray job", "namespace", x->job->meta.ns, "jobId",
                     st->job_id, "error", e.msg);
    ray_dashboard_client_free(dc);
}

static int execute(struct rctx *x, const struct rayjob_sm_result *res, struct krc_error *err)
{
    const struct rayjob *job = x->job;
    const struct rayjob_status *st = &res->status;
    unsigned a = res->actions;
    int r = 0;
    if ((a & RAYJOB_ACT_ADD_FINALIZER) && (r = edit_finalizer(x, true, err)))
        return krc_error_wrap(err, r, "failed to add the finalizer %s: ", RAYJOB_FINALIZER);
    if ((a & RAYJOB_ACT_CREATE_CLUSTER) && (r = act_create_cluster(x, st, err)))
        return r;
    if (a & RAYJOB_ACT_CLUSTER_NOT_FOUND)
        record_event(x->c, job, KRC_EVENT_WARNING, "RayClusterNotFound", "Validate",
                     "RayCluster %s/%s set in the clusterSelector is not found. It must be "
                     "created manually",
                     job->meta.ns, st->ray_cluster_name);
    if ((a & RAYJOB_ACT_ENSURE_HEAD_SERVICE) && (r = act_head_service(x, err)))
        return r;
    if ((a & RAYJOB_ACT_CREATE_SUBMITTER) && (r = act_create_submitter(x, st, err)))
        return r;
    if ((a & RAYJOB_ACT_DELETE_CLUSTER) &&
        (r = act_delete_cluster(x, job->status.ray_cluster_name, err)))
        return r;
    if ((a & RAYJOB_ACT_DELETE_SUBMITTER) && (r = act_delete_submitter(x, err)))
        return r;
    if ((a & RAYJOB_ACT_SUSPEND_WORKERS) &&
        (r = act_suspend_workers(x, job->status.ray_cluster_name, err)))
        return r;
    if (a & RAYJOB_ACT_STOP_JOB)
        act_stop_job(x);
    if ((a & RAYJOB_ACT_REMOVE_FINALIZER) && (r = edit_finalizer(x, false, err)))
        return r;
    if (a & RAYJOB_ACT_DELETE_SELF) {
        r = krc_client_delete(x->c->o.client, &RES_RAYJOB, job->meta.ns, job->meta.name, NULL, NULL,
                              err);
        if (r == KRC_ENOTFOUND)
            r = 0;
    }
    return r;
}

static int write_status(struct rctx *x, const struct rayjob_status *st, struct krc_error *err)
{
    json_t *doc = json_deep_copy(x->job->root), *sj = rayjob_status_to_json(st);
    json_t *meta = doc ? kobj_obj(doc, "metadata") : NULL;
    char *body = NULL;
    int r = KRC_ENOMEM;
    if (!doc || !sj || !meta || kobj_set_str(meta, "resourceVersion", x->resource_version))
        goto out;
    if (kobj_set_new(doc, "status", sj)) {
        sj = NULL;
        goto out;
    }
    sj = NULL;
    if (!(body = json_dumps(doc, JSON_COMPACT)))
        goto out;
    r = krc_client_update_status(x->c->o.client, &RES_RAYJOB, x->job->meta.ns, x->job->meta.name,
                                 body, strlen(body), NULL, NULL, err);
out:
    if (r == KRC_ENOMEM)
        krc_error_set(err, r, "write status of %s/%s: out of memory", x->job->meta.ns,
                      x->job->meta.name);
    free(body);
    json_decref(sj);
    json_decref(doc);
    return r;
}

/* §3.3: returns 1 when the RayJob is invalid (handled here), 0 when valid, < 0 on error. */
static int validate(struct rctx *x, struct krc_error *err)
{
    const struct rayjob *job = x->job;
    struct krc_strbuf full = KRC_STRBUF_INIT;
    struct krc_error verr = {0};
    const char *reason = NULL;
    int r = 0;
    if (rayjob_validate_metadata(job, &verr, &full))
        reason = RAYJOB_EVENT_INVALID_METADATA;
    else if (rayjob_validate_spec(job, &x->c->o.build.gates, &verr, &full))
        reason = RAYJOB_EVENT_INVALID_SPEC;
    else if (rayjob_validate_status(job, &verr))
        reason = RAYJOB_EVENT_INVALID_STATUS;
    if (!reason)
        goto out;
    if (verr.code == KRC_ENOMEM) {
        r = krc_error_set(err, KRC_ENOMEM, "validate: out of memory");
        goto out;
    }
    const char *msg = full.len ? full.buf : verr.msg;
    record_event(x->c, job, KRC_EVENT_WARNING, reason, "Validate", "%s/%s: %s", job->meta.ns,
                 job->meta.name, msg);
    r = 1;
    struct rayjob_status st;
    if (rayjob_status_copy(&job->status, &st)) {
        r = krc_error_set(err, KRC_ENOMEM, "validate: out of memory");
        goto out;
    }
    st.deployment_status = RAYJOB_DS_VALIDATION_FAILED;
    if (rayjob_status_set_str(&st.deployment_status_raw, "") ||
        rayjob_status_set_str(&st.reason, RAYJOB_REASON_VALIDATION_FAILED) ||
        rayjob_status_set_str(&st.message, msg))
        r = krc_error_set(err, KRC_ENOMEM, "validate: out of memory");
    else if (rayjob_status_differs_for_write(&job->status, &st)) {
        int wr = write_status(x, &st, err);
        if (wr)
            r = wr;
    }
    rayjob_status_free(&st);
out:
    krc_strbuf_release(&full);
    return r;
}

static int64_t env_seconds(const char *name, bool *set)
{
    const char *v = getenv(name);
    char *end;
    long long s = v ? strtoll(v, &end, 10) : 0;
    *set = v && *v && !*end;
    return *set ? (int64_t)s : 0;
}

/* Query the dashboard for the job; fills obs (strings point into info). */
static void query_job(struct rctx *x, const struct rayjob_status *st, struct rayjob_sm_obs *obs,
                      struct ray_job_info *info)
{
    struct ray_dashboard_client *dc = NULL;
    struct krc_error e = {0};
    int r = dashboard_client(x, st->dashboard_url, &dc, &e);
    if (!r)
        r = ray_dashboard_get_job(dc, st->job_id, info, &e);
    ray_dashboard_client_free(dc);
    if (r == 0) {
        obs->info = RAYJOB_INFO_OK;
        obs->info_status = info->status;
        obs->info_message = info->message;
        obs->info_start_ms = (int64_t)info->start_time;
        obs->info_end_ms = (int64_t)info->end_time;
    } else if (r == KRC_ENOTFOUND) {
        obs->info = RAYJOB_INFO_NOT_FOUND;
    } else {
        obs->info = RAYJOB_INFO_ERROR;
        KRC_LOG_INFO("job status check failed", "namespace", x->job->meta.ns, "name",
                     x->job->meta.name, "error", e.msg);
    }
}

static void submit_job(struct rctx *x, const struct rayjob_status *st, struct rayjob_sm_obs *obs)
{
    const struct rayjob_spec *sp = &x->job->spec;
    struct ray_dashboard_client *dc = NULL;
    struct krc_error e = {0};
    struct ray_job_submit_request req = {
        .entrypoint = sp->entrypoint,
        .submission_id = st->job_id,
        .metadata = sp->metadata,
        .runtime_env_yaml = sp->runtime_env_yaml,
        .entrypoint_num_cpus = (float)sp->entrypoint_num_cpus,
        .entrypoint_num_gpus = (float)sp->entrypoint_num_gpus,
        .entrypoint_resources = sp->entrypoint_resources,
    };
    int r = dashboard_client(x, st->dashboard_url, &dc, &e);
    if (!r)
        r = ray_dashboard_submit_job(dc, &req, NULL, &e);
    ray_dashboard_client_free(dc);
    obs->submit = r ? RAYJOB_SUBMIT_ERROR : RAYJOB_SUBMIT_OK;
    if (r)
        KRC_LOG_INFO("job submission failed", "namespace", x->job->meta.ns, "name",
                     x->job->meta.name, "error", e.msg);
    else
        KRC_LOG_INFO("submitted the Ray job", "namespace", x->job->meta.ns, "jobId", st->job_id);
}

static int reconcile_job(struct rctx *x, int64_t *requeue, struct krc_error *err)
{
    struct rayjob_controller *c = x->c;
    const struct rayjob *job = x->job;
    struct rayjob_sm_obs obs = {.now = (int64_t)time(NULL)};
    struct rayjob_sm_result res = {0};
    struct ray_job_info info = {0};
    json_t *pods = NULL;
    int r;
    bool deleting = job->meta.deletion_timestamp != NULL;
    if (!rayjob_managed_by_kuberay(&job->spec))
        return 0;
    if (!deleting && (r = validate(x, err)))
        return r < 0 ? r : 0;
    if ((r = ray_random_suffix(obs.job_suffix, err)) ||
        (r = ray_random_suffix(obs.cluster_suffix, err)))
        return r;
    const char *cname = job->status.ray_cluster_name;
    if ((r = load_cluster(x, cname, err)))
        goto out;
    if (x->have_cluster) {
        obs.cluster_found = true;
        obs.cluster_deleting = x->cluster.meta.deletion_timestamp != NULL;
        obs.cluster_status = &x->cluster.status;
        obs.cluster_workers_suspended = workers_suspended(&x->cluster);
        if (job->status.deployment_status == RAYJOB_DS_INITIALIZING &&
            (!job->status.dashboard_url || !*job->status.dashboard_url) &&
            x->cluster.status.state && strcmp(x->cluster.status.state, "ready") == 0)
            observe_dashboard_url(x, &obs);
    }
    enum rayjob_submission_mode mode = job->spec.submission_mode;
    if (mode != RAYJOB_MODE_HTTP && mode != RAYJOB_MODE_SIDECAR) {
        if ((r = load_submitter(x, err)))
            goto out;
        observe_submitter(x->submitter, &obs);
    }
    if (mode == RAYJOB_MODE_SIDECAR && job->status.deployment_status == RAYJOB_DS_RUNNING &&
        cname && *cname && (r = observe_sidecar(x, cname, &obs, &pods, err)))
        goto out;
    struct rayjob_sm_input in = {job->meta.name, &job->spec, has_finalizer(job, NULL), deleting};
    for (int round = 0; round < 3; round++) {
        rayjob_sm_result_release(&res);
        if ((r = rayjob_sm_step(&in, &c->cfg, &job->status, &obs, &res))) {
            krc_error_set(err, r, "state machine: out of memory");
            goto out;
        }
        if (res.need == RAYJOB_NEED_JOB_INFO)
            query_job(x, &res.status, &obs, &info);
        else if (res.need == RAYJOB_NEED_SUBMIT)
            submit_job(x, &res.status, &obs);
        else
            break;
    }
    if (res.need != RAYJOB_NEED_NOTHING) {
        r = krc_error_set(err, KRC_EINVAL, "state machine did not settle");
        goto out;
    }
    if (res.unknown_state)
        KRC_LOG_DEBUG("RayJob in a state the controller does not act on", "namespace", job->meta.ns,
                      "name", job->meta.name);
    if ((r = execute(x, &res, err)))
        goto out;
    if (res.error) {
        r = krc_error_set(err, KRC_EINVAL, "%s", res.error_msg);
        goto out;
    }
    if (res.write_status) {
        if ((r = write_status(x, &res.status, err)))
            goto out;
        KRC_LOG_INFO("RayJob status", "namespace", job->meta.ns, "name", job->meta.name,
                     "jobDeploymentStatus",
                     rayjob_deployment_status_str(res.status.deployment_status), "jobStatus",
                     rayjob_job_status_str(res.status.job_status));
        if (res.record_duration && c->o.enable_metrics) {
            int64_t start = rayjob_time_parse(res.status.start_time);
            dur_set(c, job, rayjob_deployment_status_str(res.status.deployment_status),
                    job->status.failed.v, start ? (double)(obs.now - start) : 0.0);
        }
    }
    *requeue = res.requeue_s > 0 ? res.requeue_s * NS_PER_S : 0;
out:
    ray_job_info_release(&info);
    rayjob_sm_result_release(&res);
    json_decref(pods);
    return r;
}

static int reconcile(void *ctx, const char *key, int64_t *requeue_after_ns)
{
    struct rayjob_controller *c = ctx;
    struct krc_error err = {0};
    char ns[CONTROLLER_RUNTIME_NAME_MAX], name[CONTROLLER_RUNTIME_NAME_MAX];
    if (!controller_runtime_split_key(key, ns, name))
        return 0;
    struct nsset *set = find_set(c, ns);
    if (!set)
        return 0;
    struct krc_object *o = krc_store_get(krc_informer_store(set->jobs), ns, name);
    if (!o) {
        dur_forget(c, ns, name);
        controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_SUCCESS);
        return 0;
    }
    json_t *doc =
        controller_runtime_object_doc(o, "ray.io/v1", RAYJOB_CRD_NAME, RJ_PATHS, NPATHS(RJ_PATHS));
    struct rctx x = {.c = c, .set = set};
    snprintf(x.resource_version, sizeof(x.resource_version), "%s", krc_object_resource_version(o));
    krc_object_unref(o);
    if (!doc) {
        controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_ERROR);
        return KRC_ENOMEM;
    }
    struct rayjob job;
    int r = rayjob_parse(doc, &job, &err);
    json_decref(doc);
    if (r) {
        KRC_LOG_ERROR("cannot parse RayJob", "key", key, "error", err.msg);
        controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_SUCCESS);
        return 0;
    }
    x.job = &job;
    r = reconcile_job(&x, requeue_after_ns, &err);
    if (x.have_cluster)
        raycluster_release(&x.cluster);
    json_decref(x.submitter);
    rayjob_release(&job);
    if (r) {
        KRC_LOG_ERROR("reconcile failed", "controller", "rayjob", "key", key, "error", err.msg);
        controller_runtime_count(&c->rt, CONTROLLER_RUNTIME_ERROR);
        return r;
    }
    controller_runtime_count(&c->rt, *requeue_after_ns > 0 ? CONTROLLER_RUNTIME_REQUEUE_AFTER
                                                           : CONTROLLER_RUNTIME_SUCCESS);
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static int new_informer(struct rayjob_controller *c, size_t i, struct krc_resource res,
                        const char *selector, const char *const *paths, size_t npaths, bool primary,
                        struct krc_informer **out, struct krc_error *err)
{
    struct krc_informer_options io = {
        .resource = res,
        .label_selector = selector,
        .paths = paths,
        .npaths = npaths,
    };
    if (res.group && strcmp(res.group, "ray.io") == 0) { /* RayJobs and RayClusters */
        io.drops = APPLIED_DROPS;
        io.ndrops = NPATHS(APPLIED_DROPS);
    }
    struct krc_informer_handlers h = {rj_add, rj_update, rj_add, c};
    if (!primary)
        h = (struct krc_informer_handlers){owned_add, owned_update, owned_add, c};
    return controller_runtime_informer(&c->rt, i, &io, &h, out, err);
}

/* The informers of namespace entry i; the RayClusters' are the RayCluster controller's when it
 * shares them (it starts, stops and frees them). */
static int add_set(struct rayjob_controller *c, size_t i, struct krc_error *err)
{
    struct nsset *s = &c->sets[i];
    int r;
    s->ns = c->rt.ns[i];
    if (c->o.clusters) {
        struct krc_informer_handlers h = {owned_add, owned_update, owned_add, c};
        if ((r = raycluster_controller_share_clusters(c->o.clusters, s->ns, &h, &s->clusters,
                                                      err)) ||
            (r = controller_runtime_borrow(&c->rt, i, s->clusters, err)))
            return r;
    }
    if ((r = new_informer(c, i, RES_RAYJOB, NULL, RJ_PATHS, NPATHS(RJ_PATHS), true, &s->jobs,
                          err)) ||
        (!c->o.clusters && (r = new_informer(c, i, RES_RAYCLUSTER, NULL, RC_PATHS, NPATHS(RC_PATHS),
                                             false, &s->clusters, err))) ||
        (r = new_informer(c, i, RES_JOB, SUBMITTER_SELECTOR, JOB_PATHS, NPATHS(JOB_PATHS), false,
                          &s->submitters, err)))
        return r;
    return 0;
}

int rayjob_controller_new(const struct rayjob_controller_opts *opts, struct rayjob_controller **out,
                          struct krc_error *err)
{
    struct rayjob_controller *c = calloc(1, sizeof(*c));
    int r;
    if (!c)
        return krc_error_set(err, KRC_ENOMEM, "rayjob controller: out of memory");
    c->o = *opts;
    pthread_mutex_init(&c->mu, NULL);
    bool set;
    c->cfg.grace_period_s =
        env_seconds("RAYJOB_DEPLOYMENT_STATUS_TRANSITION_GRACE_PERIOD_SECONDS", &set);
    c->cfg.grace_period_set = set;
    c->cfg.status_check_s = env_seconds("RAYJOB_STATUS_CHECK_TIMEOUT_SECONDS", &set);
    const char *del = getenv("DELETE_RAYJOB_CR_AFTER_JOB_FINISHES");
    c->cfg.delete_rayjob_after_finish = del && strcasecmp(del, "true") == 0;
    c->cfg.deletion_policy_gate = opts->build.gates.job_deletion_policy;
    struct krc_workqueue_opts qo = {.name = "rayjob"};
    if ((r = krc_workqueue_new(&qo, &c->queue, err)) ||
        (r = controller_runtime_init(&c->rt, "rayjob", c->o.client, c->queue,
                                     opts->watch_namespaces, err)))
        goto err;
    if (!(c->sets = calloc(c->rt.nns, sizeof(*c->sets)))) {
        r = krc_error_set(err, KRC_ENOMEM, "rayjob controller: out of memory");
        goto err;
    }
    for (size_t i = 0; i < c->rt.nns; i++) {
        if ((r = add_set(c, i, err)))
            goto err;
    }
    *out = c;
    return 0;
err:
    rayjob_controller_free(c);
    return r;
}

int rayjob_controller_start(struct rayjob_controller *c, struct krc_error *err)
{
    int r = controller_runtime_check_crd(&c->rt, &RES_RAYJOB, "RayJob", "rayjobs.ray.io", err);
    return r ? r : controller_runtime_start(&c->rt, c->o.workers, reconcile, c, err);
}

void rayjob_controller_stop(struct rayjob_controller *c)
{
    controller_runtime_stop(&c->rt);
}

void rayjob_controller_free(struct rayjob_controller *c)
{
    if (!c)
        return;
    controller_runtime_release(&c->rt);
    free(c->sets);
    krc_workqueue_free(c->queue);
    for (size_t i = 0; i < c->ndur; i++)
        dur_free(&c->dur[i]);
    free(c->dur);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- metrics --------------------------------------------------------------------------- */

static int job_series(struct rayjob_controller *c, struct krc_strbuf *info, struct krc_strbuf *dep)
{
    int r = 0;
    for (size_t i = 0; i < c->rt.nns && !r; i++) {
        struct krc_object_list l = {0};
        if ((r = krc_store_list(krc_informer_store(c->sets[i].jobs), &l, NULL)))
            break;
        for (size_t j = 0; j < l.len && !r; j++) {
            struct krc_object *o = l.items[j];
            json_t *st = NULL;
            (void)krc_object_path_json(o, 1, &st, NULL);
            const char *d = kobj_str(st, "jobDeploymentStatus");
            r = krc_strbuf_addf(info,
                                "kuberay_job_info{name=\"%s\",namespace=\"%s\",uid=\"%s\"} 1\n",
                                krc_object_name(o), krc_object_namespace(o), krc_object_uid(o));
            if (!r)
                r = krc_strbuf_addf(dep,
                                    "kuberay_job_deployment_status{name=\"%s\",namespace=\"%s\","
                                    "uid=\"%s\",deployment_status=\"%s\"} 1\n",
                                    krc_object_name(o), krc_object_namespace(o), krc_object_uid(o),
                                    d ? d : "");
            json_decref(st);
        }
        krc_object_list_release(&l);
    }
    return r;
}

int rayjob_controller_metrics(struct rayjob_controller *c, struct krc_strbuf *out)
{
    struct krc_strbuf info = KRC_STRBUF_INIT, dep = KRC_STRBUF_INIT;
    int r = 0;
    if (c->o.enable_metrics) {
        if ((r = job_series(c, &info, &dep)))
            goto out;
        r = krc_strbuf_addf(out,
                            "# HELP kuberay_job_info Metadata information about RayJob custom "
                            "resources\n# TYPE kuberay_job_info gauge\n%s"
                            "# HELP kuberay_job_deployment_status The RayJob's current deployment "
                            "status\n# TYPE kuberay_job_deployment_status gauge\n%s"
                            "# HELP kuberay_job_execution_duration_seconds Duration from when the "
                            "RayJob CR\xe2\x80\x99s JobDeploymentStatus transitions from "
                            "Initializing to either the Retrying state or a terminal state, such "
                            "as Complete or Failed. The Retrying state indicates that the CR "
                            "previously failed and that spec.backoffLimit is enabled.\n"
                            "# TYPE kuberay_job_execution_duration_seconds gauge\n",
                            info.buf, dep.buf);
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < c->ndur && !r; i++)
            r = krc_strbuf_addf(out,
                                "kuberay_job_execution_duration_seconds{name=\"%s\","
                                "namespace=\"%s\",uid=\"%s\",job_deployment_status=\"%s\","
                                "retry_count=\"%s\"} %.3f\n",
                                c->dur[i].name, c->dur[i].ns, c->dur[i].uid, c->dur[i].state,
                                c->dur[i].retry, c->dur[i].seconds);
        pthread_mutex_unlock(&c->mu);
        if (r)
            goto out;
    }
    r = controller_runtime_reconcile_total(&c->rt, false, out);
out:
    krc_strbuf_release(&info);
    krc_strbuf_release(&dep);
    return r;
}
