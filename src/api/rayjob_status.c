/* rayjob_status.c - the RayJob status as an owned C struct: parse, copy, serialize, compare.
 *
 * Serialization follows KubeRay's Go struct and its json tags: omitempty strings and pointers are
 * left out, while the two non-pointer structs (rayJobInfo, rayClusterStatus) are always written,
 * because encoding/json never omits a struct. Members come out in the Go field order. The
 * embedded RayCluster status reuses raycluster_status.c unchanged. */
#include "api/rayjob.h"

#include "api/kobj.h"

#include <stdlib.h>
#include <string.h>

int rayjob_status_set_str(char **field, const char *value)
{
    char *copy = strdup(value ? value : "");
    if (!copy)
        return KRC_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

void rayjob_status_init(struct rayjob_status *st)
{
    memset(st, 0, sizeof(*st));
    raycluster_status_init(&st->ray_cluster_status);
}

/* Every owned string, so init/free/copy/fill walk one list. */
#define STATUS_STRINGS(st)                                                                         \
    {                                                                                              \
        &(st)->job_status_raw, &(st)->deployment_status_raw, &(st)->job_id,                        \
            &(st)->ray_cluster_name, &(st)->dashboard_url, &(st)->reason, &(st)->message,          \
            &(st)->start_time, &(st)->end_time, &(st)->job_status_check_failure_start_time,        \
            &(st)->ray_job_info.start_time, &(st)->ray_job_info.end_time                           \
    }

void rayjob_status_free(struct rayjob_status *st)
{
    char **strs[] = STATUS_STRINGS(st);
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(*strs[i]);
    raycluster_status_free(&st->ray_cluster_status);
    memset(st, 0, sizeof(*st));
}

static int fill_empty(struct rayjob_status *st)
{
    char **strs[] = STATUS_STRINGS(st);
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (!*strs[i] && !(*strs[i] = strdup("")))
            return KRC_ENOMEM;
    return 0;
}

static int bad(struct krc_error *err, const char *field, const char *what)
{
    return krc_error_set(err, KRC_EINVAL, "status.%s: expected %s", field, what);
}

static int take_str(const json_t *obj, const char *key, const char *path, char **out,
                    struct krc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return bad(err, path, "a string");
    return (*out = strdup(json_string_value(v))) ? 0 : KRC_ENOMEM;
}

static int take_opt_i32(const json_t *obj, const char *key, struct rc_opt_i32 *out,
                        struct krc_error *err)
{
    json_t *v = json_object_get(obj, key);
    out->set = false;
    out->v = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
        json_integer_value(v) > INT32_MAX)
        return bad(err, key, "an int32");
    out->set = true;
    out->v = (int32_t)json_integer_value(v);
    return 0;
}

/* A status enum member: the enum, plus the spelling when it is not one KubeRay knows. */
static int take_enum(const json_t *obj, const char *key, bool deploy, int *out, char **raw,
                     struct krc_error *err)
{
    char *s = NULL;
    int rc = take_str(obj, key, key, &s, err);
    if (rc || !s)
        return rc;
    if (deploy) {
        enum rayjob_deployment_status d = rayjob_deployment_status_parse(s);
        *out = (int)d;
        rc = d == RAYJOB_DS_UNKNOWN;
    } else {
        enum rayjob_job_status j = rayjob_job_status_parse(s);
        *out = (int)j;
        rc = j == RAYJOB_JS_UNKNOWN;
    }
    if (rc)
        *raw = s; /* keep the unknown spelling */
    else
        free(s);
    return 0;
}

int rayjob_status_parse(const json_t *obj, struct rayjob_status *st, struct krc_error *err)
{
    int rc = 0;
    rayjob_status_init(st);
    if (obj && !json_is_null(obj) && !json_is_object(obj))
        return krc_error_set(err, KRC_EINVAL, "status: expected an object");
    if (json_is_object(obj)) {
        int js = 0, ds = 0;
        json_t *info = json_object_get(obj, "rayJobInfo");
        json_t *og = json_object_get(obj, "observedGeneration");
        json_t *rcs = json_object_get(obj, "rayClusterStatus");
        if ((rc = take_enum(obj, "jobStatus", false, &js, &st->job_status_raw, err)) ||
            (rc = take_enum(obj, "jobDeploymentStatus", true, &ds, &st->deployment_status_raw,
                            err)) ||
            (rc = take_str(obj, "jobId", "jobId", &st->job_id, err)) ||
            (rc = take_str(obj, "rayClusterName", "rayClusterName", &st->ray_cluster_name, err)) ||
            (rc = take_str(obj, "dashboardURL", "dashboardURL", &st->dashboard_url, err)) ||
            (rc = take_str(obj, "reason", "reason", &st->reason, err)) ||
            (rc = take_str(obj, "message", "message", &st->message, err)) ||
            (rc = take_str(obj, "startTime", "startTime", &st->start_time, err)) ||
            (rc = take_str(obj, "endTime", "endTime", &st->end_time, err)) ||
            (rc = take_str(obj, "jobStatusCheckFailureStartTime", "jobStatusCheckFailureStartTime",
                           &st->job_status_check_failure_start_time, err)) ||
            (rc = take_opt_i32(obj, "succeeded", &st->succeeded, err)) ||
            (rc = take_opt_i32(obj, "failed", &st->failed, err)))
            goto out;
        st->job_status = (enum rayjob_job_status)js;
        st->deployment_status = (enum rayjob_deployment_status)ds;
        if (og && !json_is_null(og) && !json_is_integer(og)) {
            rc = bad(err, "observedGeneration", "an integer");
            goto out;
        }
        st->observed_generation = json_is_integer(og) ? json_integer_value(og) : 0;
        if (info && !json_is_null(info)) {
            if (!json_is_object(info)) {
                rc = bad(err, "rayJobInfo", "an object");
                goto out;
            }
            if ((rc = take_str(info, "startTime", "rayJobInfo.startTime",
                               &st->ray_job_info.start_time, err)) ||
                (rc = take_str(info, "endTime", "rayJobInfo.endTime", &st->ray_job_info.end_time,
                               err)))
                goto out;
        }
        if (rcs && !json_is_null(rcs)) {
            raycluster_status_free(&st->ray_cluster_status);
            if ((rc = raycluster_status_parse(rcs, &st->ray_cluster_status, err))) {
                if (rc != KRC_ENOMEM)
                    krc_error_wrap(err, rc, "rayClusterStatus");
                goto out;
            }
        }
    }
    if (!st->ray_cluster_status.state &&
        (rc = raycluster_status_parse(NULL, &st->ray_cluster_status, err)))
        goto out;
    rc = fill_empty(st);
out:
    if (rc == KRC_ENOMEM)
        krc_error_set(err, rc, "status: out of memory");
    if (rc)
        rayjob_status_free(st);
    return rc;
}

int rayjob_status_copy(const struct rayjob_status *src, struct rayjob_status *dst)
{
    rayjob_status_init(dst);
    dst->job_status = src->job_status;
    dst->deployment_status = src->deployment_status;
    dst->succeeded = src->succeeded;
    dst->failed = src->failed;
    dst->observed_generation = src->observed_generation;
    char **d[] = STATUS_STRINGS(dst);
    char *const *s[] = STATUS_STRINGS(src);
    int rc = 0;
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        if ((rc = rayjob_status_set_str(d[i], *s[i])))
            goto err;
    if ((rc = raycluster_status_copy(&src->ray_cluster_status, &dst->ray_cluster_status)))
        goto err;
    return 0;
err:
    rayjob_status_free(dst);
    return rc;
}

static int put_str(json_t *o, const char *key, const char *v)
{
    return (v && *v) ? kobj_set_str(o, key, v) : 0;
}

static int put_opt_i32(json_t *o, const char *key, struct rc_opt_i32 v)
{
    return v.set ? kobj_set_new(o, key, json_integer(v.v)) : 0;
}

static const char *job_status_text(const struct rayjob_status *st)
{
    return st->job_status == RAYJOB_JS_UNKNOWN ? st->job_status_raw
                                               : rayjob_job_status_str(st->job_status);
}

static const char *deployment_status_text(const struct rayjob_status *st)
{
    return st->deployment_status == RAYJOB_DS_UNKNOWN
               ? st->deployment_status_raw
               : rayjob_deployment_status_str(st->deployment_status);
}

json_t *rayjob_status_to_json(const struct rayjob_status *st)
{
    json_t *o = json_object(), *info = json_object();
    if (!o || !info)
        goto err;
    if (put_str(info, "startTime", st->ray_job_info.start_time) ||
        put_str(info, "endTime", st->ray_job_info.end_time))
        goto err;
    int info_rc = kobj_set_new(o, "rayJobInfo", info); /* consumes info */
    info = NULL;
    if (info_rc || put_str(o, "jobId", st->job_id) ||
        put_str(o, "rayClusterName", st->ray_cluster_name) ||
        put_str(o, "dashboardURL", st->dashboard_url) ||
        put_str(o, "jobStatus", job_status_text(st)) ||
        put_str(o, "jobDeploymentStatus", deployment_status_text(st)) ||
        put_str(o, "reason", st->reason) || put_str(o, "message", st->message) ||
        put_str(o, "startTime", st->start_time) || put_str(o, "endTime", st->end_time) ||
        put_opt_i32(o, "succeeded", st->succeeded) || put_opt_i32(o, "failed", st->failed) ||
        kobj_set_new(o, "rayClusterStatus", raycluster_status_to_json(&st->ray_cluster_status)) ||
        put_str(o, "jobStatusCheckFailureStartTime", st->job_status_check_failure_start_time) ||
        (st->observed_generation &&
         kobj_set_new(o, "observedGeneration", json_integer(st->observed_generation))))
        goto err;
    return o;
err:
    json_decref(info);
    json_decref(o);
    return NULL;
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool opt_eq(struct rc_opt_i32 a, struct rc_opt_i32 b)
{
    return a.set == b.set && a.v == b.v;
}

static bool enums_eq(const struct rayjob_status *a, const struct rayjob_status *b)
{
    return str_eq(job_status_text(a), job_status_text(b)) &&
           str_eq(deployment_status_text(a), deployment_status_text(b));
}

bool rayjob_status_differs_for_write(const struct rayjob_status *a, const struct rayjob_status *b)
{
    return !enums_eq(a, b) ||
           !str_eq(a->job_status_check_failure_start_time,
                   b->job_status_check_failure_start_time) ||
           raycluster_status_differs(&a->ray_cluster_status, &b->ray_cluster_status);
}

bool rayjob_status_equal(const struct rayjob_status *a, const struct rayjob_status *b)
{
    char *const *x[] = STATUS_STRINGS(a);
    char *const *y[] = STATUS_STRINGS(b);
    for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++)
        if (!str_eq(*x[i], *y[i]))
            return false;
    if (!enums_eq(a, b) || !opt_eq(a->succeeded, b->succeeded) || !opt_eq(a->failed, b->failed) ||
        a->observed_generation != b->observed_generation)
        return false;
    const struct raycluster_status *p = &a->ray_cluster_status, *q = &b->ray_cluster_status;
    return !raycluster_status_differs(p, q) && str_eq(p->last_update_time, q->last_update_time) &&
           p->observed_generation == q->observed_generation &&
           str_eq(p->desired_cpu, q->desired_cpu) && str_eq(p->desired_memory, q->desired_memory) &&
           str_eq(p->desired_gpu, q->desired_gpu) && str_eq(p->desired_tpu, q->desired_tpu);
}
