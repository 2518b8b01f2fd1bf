/* raycronjob_controller.c - the RayCronJob reconcile loop (spec rayjob.md §12.4; see
 * raycronjob_controller.h). The decisions are raycronjob_plan.c; this file does the I/O: read the
 * RayCronJob, emit the validation / suspension events, create the RayJob, write
 * status.lastScheduleTime and requeue for the next tick. */
#include "controller/raycronjob_controller.h"

#include "api/kobj.h"
#include "api/raycronjob.h"
#include "controller/controller_runtime.h"
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

#define NS_PER_S INT64_C(1000000000)

static const struct krc_resource RES_RAYCRONJOB = {"ray.io", "v1", "raycronjobs", 1};
static const struct krc_resource RES_RAYJOB = {"ray.io", "v1", "rayjobs", 1};
static const char *const CJ_PATHS[] = {"spec", "status"};
#define NPATHS(a) (sizeof(a) / sizeof((a)[0]))

struct raycronjob_controller {
    struct raycronjob_controller_opts o;
    struct krc_workqueue *queue;
    struct controller_runtime rt; /* one RayCronJob informer per watched namespace */
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
    va_list ap;
    va_start(ap, fmt);
    controller_runtime_eventv(c->o.events, RAYCRONJOB_CRD_NAME, &cj->meta, type, reason, action,
                              fmt, ap);
    va_end(ap);
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
    char ns[CONTROLLER_RUNTIME_NAME_MAX], name[CONTROLLER_RUNTIME_NAME_MAX];
    krc_error_clear(&err);
    if (!controller_runtime_split_key(key, ns, name))
        return 0;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *doc = NULL;
    int r = krc_client_get(c->o.client, &RES_RAYCRONJOB, ns, name, &out, &err);
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

int raycronjob_controller_new(const struct raycronjob_controller_opts *opts,
                              struct raycronjob_controller **out, struct krc_error *err)
{
    struct raycronjob_controller *c = calloc(1, sizeof(*c));
    int r;
    if (!c)
        return krc_error_set(err, KRC_ENOMEM, "raycronjob controller: out of memory");
    c->o = *opts;
    struct krc_workqueue_opts qo = {.name = "raycronjob"};
    if ((r = krc_workqueue_new(&qo, &c->queue, err)) ||
        (r = controller_runtime_init(&c->rt, "raycronjob", c->o.client, c->queue,
                                     opts->watch_namespaces, err)))
        goto fail;
    struct krc_informer_handlers h = {on_add, on_update, on_delete, c};
    for (size_t i = 0; i < c->rt.nns; i++) {
        struct krc_informer_options io = {
            .resource = RES_RAYCRONJOB,
            .paths = CJ_PATHS,
            .npaths = NPATHS(CJ_PATHS),
        };
        struct krc_informer *inf;
        if ((r = controller_runtime_informer(&c->rt, i, &io, &h, &inf, err)))
            goto fail;
    }
    *out = c;
    return 0;
fail:
    raycronjob_controller_free(c);
    return r;
}

int raycronjob_controller_start(struct raycronjob_controller *c, struct krc_error *err)
{
    int r = controller_runtime_check_crd(&c->rt, &RES_RAYCRONJOB, "RayCronJob",
                                         "raycronjobs.ray.io", err);
    return r ? r : controller_runtime_start(&c->rt, c->o.workers, reconcile, c, err);
}

void raycronjob_controller_stop(struct raycronjob_controller *c)
{
    controller_runtime_stop(&c->rt);
}

void raycronjob_controller_free(struct raycronjob_controller *c)
{
    if (!c)
        return;
    controller_runtime_release(&c->rt);
    krc_workqueue_free(c->queue);
    free(c);
}
