/* raycluster_gcsft.c - GCS fault tolerance at deletion (§6.12): the finalizer
 * ray.io/gcs-ft-redis-cleanup-finalizer added to clusters with external Redis, and on deletion
 * the Ray pods deleted first, then the Redis cleanup Job (raycluster_cleanup_job.h) created and
 * awaited, or the finalizer force-removed after the timeout.
 *
 * _GNU_SOURCE for timegm() and strptime() (deletionTimestamp to seconds). */
#define _GNU_SOURCE
#include "controller/raycluster_controller_internal.h"

#include "api/kobj.h"
#include "controller/raycluster_cleanup_job.h"
#include "controller/raycluster_names.h"
#include "controller/raypod.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    json_t *pods =
        raycluster_ctrl_children(krc_informer_store(set->pods), rc->meta.ns, rc->meta.name, "v1",
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
    if (live_head && (r = raycluster_ctrl_delete_pods(c, rc->meta.ns, sel, err)))
        return r;
    snprintf(sel, sizeof(sel), "%s=%s,%s=worker", RAY_LABEL_CLUSTER, rc->meta.name,
             RAY_LABEL_NODE_TYPE);
    if (live_worker && (r = raycluster_ctrl_delete_pods(c, rc->meta.ns, sel, err)))
        return r;
    if (any_head) {
        *requeue = DELETION_HEAD_REQUEUE_NS; /* the GCS must stop writing first */
        return 0;
    }
    return cleanup_job_step(c, rc, requeue, err);
}

int raycluster_ctrl_reconcile_finalizer(struct raycluster_controller *c, struct nsset *set,
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
