/* raycronjob_controller.c - the RayCronJob reconcile loop (spec rayjob.md §12.4; see
 * raycronjob_controller.h). The decisions are raycronjob_plan.c; this file does the I/O: read the
 * RayCronJob, emit the validation / suspension events, create the RayJob, write
 * status.lastScheduleTime and requeue for the next tick. */
#include "controller/raycronjob_controller.h"

#include "api/kobj.h"
#include "api/raycronjob.h"
#include "controller/raycronjob_plan.h"
#include "kube/informer.h"
#include "kube/workqueue.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S              INT64_C(1000000000)
#define CACHE_SYNC_TIMEOUT_MS (2 * 60 * 1000)
#define NS_NAME_MAX           254

static const struct krc_resource RES_RAYCRONJOB = {"ray.io", "v1", "raycronjobs", 1};
static const struct krc_resource RES_RAYJOB = {"ray.io", "v1", "rayjobs", 1};
static const char *const CJ_PATHS[] = {"spec", "status"};
#define NPATHS(a) (sizeof(a) / sizeof((a)[0]))

struct raycronjob_controller {
    struct raycronjob_controller_opts o;
    struct krc_informer **informers;
    char **namespaces; /* NULL entry: all namespaces */
    size_t n;
    struct krc_workqueue *queue;
    struct krc_workqueue_workers *workers;
};

/* ---- handlers -------------------------------------------------------------------------- */

static void on_add(void *ctx, struct krc_object *o)
{
    struct raycronjob_controller *c = ctx;
    char key[KRC_WORKQUEUE_KEY_MAX];
    int n = snprintf(key, sizeof(key), "%s/%s", krc_object_namespace(o), krc_object_name(o));
    if (n > 0 && (size_t)n < sizeof(key))
        (void)krc_workqueue_add(c->queue, key); /* fails only on shutdown or ENOMEM */
}

static void on_update(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj)
{
    (void)old_obj;
    on_add(ctx, new_obj);
}

static void on_delete(void *ctx, struct krc_object *o)
{
    (void)ctx;
    (void)o; /* created RayJobs are garbage-collected through their owner reference */
}

static void record_event(struct raycronjob_controller *c, const struct raycronjob *cj,
                         enum krc_event_type type, const char *reason, const char *action,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void record_event(struct raycronjob_controller *c, const struct raycronjob *cj,
                         enum krc_event_type type, const char *reason, const char *action,
                         const char *fmt, ...)
{
    char note[KRC_EVENTS_NOTE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note, sizeof(note), fmt, ap);
    va_end(ap);
    KRC_LOG_INFO("event", "reason", reason, "namespace", cj->meta.ns, "name", cj->meta.name);
    if (!c->o.events)
        return;
    struct krc_events_ref ref = {"ray.io/v1",   RAYCRONJOB_CRD_NAME, cj->meta.ns,
                                 cj->meta.name, cj->meta.uid,        cj->meta.resource_version,
                                 NULL};
    (void)krc_events_record(c->o.events, &ref, type, reason, action, "%s", note);
}

/* ---- reconcile ------------------------------------------------------------------------- */

/* §12.2: 1 when invalid (event emitted), 0 when valid, < 0 on error. */
static int validate(struct raycronjob_controller *c, const struct raycronjob *cj,
                    struct krc_error *err)
{
    struct krc_strbuf full = KRC_STRBUF_INIT;
    struct krc_error verr;
    krc_error_clear(&verr);
    int r = raycronjob_validate(cj, &c->o.gates, &verr, &full);
    if (r == KRC_EINVAL) {
        record_event(c, cj, KRC_EVENT_WARNING, RAYCRONJOB_EVENT_INVALID_SPEC, "Validate",
                     "%s/%s: %s", cj->meta.ns, cj->meta.name, full.len ? full.buf : verr.msg);
        r = 1;
    } else if (r) {
        r = krc_error_set(err, r, "validate: %s", verr.msg);
    }
    krc_strbuf_release(&full);
    return r;
}

static int create_rayjob(struct raycronjob_controller *c, const struct raycronjob *cj, int64_t tick,
                         struct krc_error *err)
{
    json_t *obj = NULL;
    int r = raycronjob_plan_rayjob(cj, tick, &obj, err);
    if (r)
        return r;
    char *body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!body)
        return krc_error_set(err, KRC_ENOMEM, "serialize RayJob: out of memory");
    r = krc_client_create(c->o.client, &RES_RAYJOB, cj->meta.ns, body, strlen(body), NULL, NULL,
                          err);
    free(body);
    if (r == KRC_EEXIST) /* an earlier reconcile created it; its status write came later */
        return 0;
    if (!r)
        KRC_LOG_INFO("created RayJob", "namespace", cj->meta.ns, "cronjob", cj->meta.name);
    return r;
}

static int write_status(struct raycronjob_controller *c, const struct raycronjob *cj, int64_t tick,
                        struct krc_error *err)
{
    char ts[RAYCRONJOB_RFC3339_LEN];
    if (raycronjob_plan_format_time(tick, ts, sizeof(ts)))
        return krc_error_set(err, KRC_ERANGE, "tick %lld out of range", (long long)tick);
    json_t *doc = json_deep_copy(cj->root);
    json_t *st = doc ? kobj_ensure_obj(doc, "status") : NULL;
    char *body = NULL;
    int r;
    if (!st || kobj_set_str(st, "lastScheduleTime", ts) ||
        !(body = json_dumps(doc, JSON_COMPACT))) {
        r = krc_error_set(err, KRC_ENOMEM, "write status: out of memory");
    } else {
        r = krc_client_update_status(c->o.client, &RES_RAYCRONJOB, cj->meta.ns, cj->meta.name, body,
                                     strlen(body), NULL, NULL, err);
    }
    free(body);
    json_decref(doc);
    return r;
}

static int reconcile_cronjob(struct raycronjob_controller *c, const struct raycronjob *cj,
                             int64_t *requeue_ns, struct krc_error *err)
{
    int r = validate(c, cj, err);
    if (r)
        return r > 0 ? 0 : r; /* invalid: no status change, no requeue */
    if (cj->spec.suspend.set && cj->spec.suspend.v) {
        record_event(c, cj, KRC_EVENT_NORMAL, RAYCRONJOB_EVENT_SUSPENDED, "Suspend",
                     "RayCronJob suspended, no new RayJobs will be created");
        return 0;
    }
    struct cron_schedule *sched = NULL;
    if ((r = raycronjob_plan_parse_schedule(cj, &sched, err)))
        return r;
    int64_t earliest;
    if (raycronjob_plan_earliest(cj, &earliest)) {
        cron_free(sched);
        KRC_LOG_ERROR("RayCronJob has no usable lastScheduleTime / creationTimestamp", "namespace",
                      cj->meta.ns, "name", cj->meta.name);
        return 0;
    }
    struct raycronjob_plan plan;
    raycronjob_plan_decide(sched, earliest, (int64_t)time(NULL), &plan);
    cron_free(sched);
    switch (plan.action) {
    case RAYCRONJOB_PLAN_NEVER:
        return 0;
    case RAYCRONJOB_PLAN_WAIT:
        *requeue_ns = plan.requeue_s * NS_PER_S;
        return 0;
    case RAYCRONJOB_PLAN_CREATE:
        break;
    }
    if ((r = create_rayjob(c, cj, plan.tick, err)) || (r = write_status(c, cj, plan.tick, err)))
        return r;
    if (plan.requeue_s > 0) /* else the status write's own event brings the next tick */
        *requeue_ns = plan.requeue_s * NS_PER_S;
    return 0;
}

static int reconcile(void *ctx, const char *key, int64_t *requeue_after_ns)
{
    struct raycronjob_controller *c = ctx;
    struct krc_error err;
    char ns[NS_NAME_MAX];
    krc_error_clear(&err);
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) >= sizeof(ns))
        return 0;
    memcpy(ns, key, (size_t)(slash - key));
    ns[slash - key] = '\0';
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *doc = NULL;
    int r = krc_client_get(c->o.client, &RES_RAYCRONJOB, ns, slash + 1, &out, &err);
    if (!r)
        r = krc_client_parse_json(&out, &doc, &err);
    krc_strbuf_release(&out);
    if (r == KRC_ENOTFOUND)
        return 0;
    if (r) {
        KRC_LOG_ERROR("reconcile failed", "controller", "raycronjob", "key", key, "error", err.msg);
        return r;
    }
    struct raycronjob cj;
    r = raycronjob_parse(doc, &cj, &err);
    json_decref(doc); /* cj holds its own reference */
    if (r) {
        KRC_LOG_ERROR("cannot parse RayCronJob", "key", key, "error", err.msg);
        return 0;
    }
    r = reconcile_cronjob(c, &cj, requeue_after_ns, &err);
    raycronjob_release(&cj);
    if (r)
        KRC_LOG_ERROR("reconcile failed", "controller", "raycronjob", "key", key, "error", err.msg);
    return r;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static int add_namespace(struct raycronjob_controller *c, const char *ns, struct krc_error *err)
{
    if (ns && !(c->namespaces[c->n] = strdup(ns)))
        return krc_error_set(err, KRC_ENOMEM, "raycronjob controller: out of memory");
    struct krc_informer_options io = {
        .resource = RES_RAYCRONJOB,
        .namespace = ns,
        .paths = CJ_PATHS,
        .npaths = NPATHS(CJ_PATHS),
    };
    struct krc_informer_handlers h = {on_add, on_update, on_delete, c};
    int r = krc_informer_new(c->o.client, &io, &c->informers[c->n], err);
    c->n++;
    if (!r)
        r = krc_informer_add_handlers(c->informers[c->n - 1], &h, err);
    return r;
}

int raycronjob_controller_new(const struct raycronjob_controller_opts *opts,
                              struct raycronjob_controller **out, struct krc_error *err)
{
    struct raycronjob_controller *c = calloc(1, sizeof(*c));
    char *list = NULL;
    int r;
    if (!c)
        return krc_error_set(err, KRC_ENOMEM, "raycronjob controller: out of memory");
    c->o = *opts;
    struct krc_workqueue_opts qo = {.name = "raycronjob"};
    if ((r = krc_workqueue_new(&qo, &c->queue, err)))
        goto fail;
    const char *w = opts->watch_namespaces ? opts->watch_namespaces : "";
    size_t n = 1;
    for (const char *s = w; *s; s++)
        n += *s == ',';
    c->informers = calloc(n, sizeof(*c->informers));
    c->namespaces = calloc(n, sizeof(*c->namespaces));
    if (!c->informers || !c->namespaces || !(list = strdup(w))) {
        r = krc_error_set(err, KRC_ENOMEM, "raycronjob controller: out of memory");
        goto fail;
    }
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (*tok && (r = add_namespace(c, tok, err)))
            goto fail;
    }
    if (c->n == 0 && (r = add_namespace(c, NULL, err)))
        goto fail;
    free(list);
    *out = c;
    return 0;
fail:
    free(list);
    raycronjob_controller_free(c);
    return r;
}

int raycronjob_controller_start(struct raycronjob_controller *c, struct krc_error *err)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_list_opts lo = {.limit = 1};
    int r = krc_client_list(c->o.client, &RES_RAYCRONJOB, c->namespaces[0], &lo, &out, err);
    krc_strbuf_release(&out);
    if (r == KRC_ENOTFOUND)
        return krc_error_set(err, r, "the RayCronJob CRD (raycronjobs.ray.io) is not installed");
    if (r)
        return r;
    for (size_t i = 0; i < c->n; i++) {
        if ((r = krc_informer_start(c->informers[i], err)))
            return r;
    }
    for (size_t i = 0; i < c->n; i++) {
        if ((r = krc_informer_wait_synced(c->informers[i], CACHE_SYNC_TIMEOUT_MS)))
            return krc_error_set(err, r,
                                 "raycronjob controller: cache of namespace %s did not sync: %s",
                                 c->namespaces[i] ? c->namespaces[i] : "(all)", krc_strerror(r));
    }
    return krc_workqueue_start_workers(c->queue, c->o.workers > 0 ? c->o.workers : 1, reconcile, c,
                                       &c->workers, err);
}

void raycronjob_controller_stop(struct raycronjob_controller *c)
{
    if (c->workers) {
        krc_workqueue_abort_workers(c->workers);
        c->workers = NULL;
    } else if (c->queue) {
        krc_workqueue_shutdown(c->queue);
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->informers[i])
            krc_informer_stop(c->informers[i]);
    }
}

void raycronjob_controller_free(struct raycronjob_controller *c)
{
    if (!c)
        return;
    raycronjob_controller_stop(c);
    for (size_t i = 0; i < c->n; i++) {
        krc_informer_free(c->informers[i]);
        free(c->namespaces[i]);
    }
    free(c->informers);
    free(c->namespaces);
    krc_workqueue_free(c->queue);
    free(c);
}
