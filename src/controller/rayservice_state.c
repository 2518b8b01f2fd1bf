/* rayservice_state.c - the status of a RayService pass as a pure function (see rayservice_state.h).
 * The new status starts as a copy of the one read, so fields this operator does not compute
 * (e.g. the incremental-upgrade ones) survive untouched. */
#define _GNU_SOURCE
#include "controller/rayservice_state.h"

#include "api/kobj.h"
#include "controller/rayservice_cluster.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_S INT64_C(1000000000)

int rayservice_state_should_prepare(const struct rayservice *rs, const json_t *active,
                                    const json_t *pending, bool services_to_pending,
                                    const char *zero_downtime_env, bool *yes)
{
    struct rayservice_hash_cmp cmp;
    *yes = false;
    if (services_to_pending)
        return 0;
    if (!active && !pending) {
        *yes = true;
        return 0;
    }
    const json_t *ref = pending ? pending : active;
    int r = rayservice_compare_cluster(rs, kobj_path(ref, "metadata.annotations"), &cmp);
    if (r)
        return r;
    if (cmp.full || cmp.prefix)
        return 0;
    *yes = rayservice_zero_downtime_enabled(rs, zero_downtime_env, false);
    return 0;
}

/* The status side object for a cluster: the old one's fields, the cluster's status copied, the
 * application statuses of this pass. */
static json_t *side_status(const json_t *old, const json_t *cluster, const json_t *apps)
{
    json_t *s = old ? json_deep_copy(old) : json_object();
    json_t *cs = cluster ? kobj_obj(cluster, "status") : NULL;
    if (!s || json_object_set_new(s, "rayClusterStatus", cs ? json_deep_copy(cs) : json_object()))
        goto err;
    if (json_object_size(apps) ? json_object_set_new(s, "applicationStatuses", json_deep_copy(apps))
                               : (json_object_del(s, "applicationStatuses"), 0))
        goto err;
    return s;
err:
    json_decref(s);
    return NULL;
}

static int format_duration(int64_t ns, char *out, size_t size)
{
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    int r = rayservice_format_go_duration(ns, &sb);
    if (!r)
        snprintf(out, size, "%s", sb.buf);
    krc_strbuf_release(&sb);
    return r;
}

/* §10.4: Ready False/Initializing for at least the annotation's timeout: clear both cluster
 * names and set Ready False/InitializingTimeout. */
static int check_init_timeout(const struct rayservice_state_in *in, json_t *st,
                              struct rayservice_state_timeout *to)
{
    int64_t limit;
    json_t *ready = rayservice_status_condition(st, RAYSERVICE_COND_READY);
    const char *reason = kobj_str(ready, "reason"), *ltt = kobj_str(ready, "lastTransitionTime");
    struct tm tm = {0};
    char msg[256];
    if (!reason || strcmp(reason, RAYSERVICE_REASON_INITIALIZING) != 0 || !ltt ||
        !rayservice_initializing_timeout(in->rs, &limit) ||
        !strptime(ltt, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return 0;
    int64_t elapsed = (in->now_s - (int64_t)timegm(&tm)) * NS_PER_S;
    if (elapsed < limit)
        return 0;
    if (format_duration(limit, to->limit, sizeof(to->limit)) ||
        format_duration(elapsed, to->elapsed, sizeof(to->elapsed)))
        return KRC_ENOMEM;
    snprintf(msg, sizeof(msg),
             "RayService failed to become ready within the configured timeout of %s. Time spent "
             "initializing: %s",
             to->limit, to->elapsed);
    json_t *a = kobj_obj(st, "activeServiceStatus"), *p = kobj_obj(st, "pendingServiceStatus");
    if (a)
        json_object_del(a, "rayClusterName");
    if (p)
        json_object_del(p, "rayClusterName");
    to->fired = true;
    return rayservice_status_set_condition(st, RAYSERVICE_COND_READY, "False",
                                           RAYSERVICE_REASON_INIT_TIMEOUT, msg, in->now);
}

/* §10.3. */
static int set_conditions(const struct rayservice_state_in *in, json_t *st,
                          struct rayservice_state_timeout *to)
{
    const char *now = in->now;
    int r = 0;
    if (json_array_size(kobj_arr(st, "conditions")) == 0 &&
        ((r = rayservice_status_set_condition(st, RAYSERVICE_COND_READY, "False",
                                              RAYSERVICE_REASON_INITIALIZING,
                                              "RayService is initializing", now)) ||
         (r = rayservice_status_set_condition(st, RAYSERVICE_COND_UPGRADE, "False",
                                              RAYSERVICE_REASON_INITIALIZING,
                                              "RayService is initializing", now))))
        return r;
    if (in->endpoints > 0)
        r = rayservice_status_set_condition(st, RAYSERVICE_COND_READY, "True",
                                            RAYSERVICE_REASON_NONZERO_ENDP,
                                            "Number of serve endpoints is greater than 0", now);
    else if (rayservice_status_condition_true(st, RAYSERVICE_COND_READY))
        r = rayservice_status_set_condition(st, RAYSERVICE_COND_READY, "False",
                                            RAYSERVICE_REASON_ZERO_ENDP,
                                            "Number of serve endpoints dropped to 0", now);
    else
        r = check_init_timeout(in, st, to);
    if (r)
        return r;
    const char *an = rayservice_status_cluster_name(st, false);
    const char *pn = rayservice_status_cluster_name(st, true);
    const char *ureason =
        kobj_str(rayservice_status_condition(st, RAYSERVICE_COND_UPGRADE), "reason");
    if (*an && *pn)
        return rayservice_status_set_condition(st, RAYSERVICE_COND_UPGRADE, "True",
                                               RAYSERVICE_REASON_BOTH_CLUSTERS,
                                               "Both active and pending Ray clusters exist", now);
    if (*an)
        return rayservice_status_set_condition(
            st, RAYSERVICE_COND_UPGRADE, "False", RAYSERVICE_REASON_NO_PENDING,
            "Active Ray cluster exists and no pending Ray cluster", now);
    if (!ureason || (strcmp(ureason, RAYSERVICE_REASON_INITIALIZING) != 0 &&
                     strcmp(ureason, RAYSERVICE_REASON_INIT_TIMEOUT) != 0))
        return rayservice_status_set_condition(
            st, RAYSERVICE_COND_UPGRADE, "Unknown", RAYSERVICE_REASON_NO_ACTIVE,
            "No active Ray cluster exists, and the RayService is not initializing. Please open a "
            "GitHub issue in the KubeRay repository.",
            now);
    return 0;
}

int rayservice_state_compute(const struct rayservice_state_in *in, json_t **out,
                             struct rayservice_state_timeout *to, struct krc_error *err)
{
    const json_t *old = in->rs->status;
    json_t *st = old ? json_deep_copy(old) : json_object(), *a = NULL, *p = NULL;
    const char *pn_before = rayservice_status_cluster_name(old, true);
    bool to_pending = false, prepare = false;
    int r;
    *out = NULL;
    memset(to, 0, sizeof(*to));
    if (!st || kobj_set_new(st, "observedGeneration", json_integer(in->rs->meta.generation)))
        goto oom;
    a = side_status(kobj_obj(old, "activeServiceStatus"), in->active, in->active_apps);
    p = side_status(kobj_obj(old, "pendingServiceStatus"), in->pending, in->pending_apps);
    if (!a || !p)
        goto oom;
    const json_t *active = in->active, *pending = in->pending;
    if (in->target) { /* §10.2 promotion */
        const char *an = kobj_str(a, "rayClusterName");
        to_pending = *pn_before && strcmp(in->target, pn_before) == 0;
        if (!an || strcmp(in->target, an) != 0) {
            if (!to_pending) {
                r = krc_error_set(err, KRC_EINVAL,
                                  "the Services point at %s, neither the active nor the pending "
                                  "cluster",
                                  in->target);
                goto out;
            }
            json_decref(a);
            a = p;
            p = json_object();
            active = pending;
            pending = NULL;
            if (!p)
                goto oom;
        }
    }
    if (rayservice_state_should_prepare(in->rs, active, pending, to_pending, in->zero_downtime_env,
                                        &prepare))
        goto oom;
    if (prepare) { /* §6.3: a fresh pending status with only the new name */
        json_decref(p);
        if (!(p = json_pack("{s:s}", "rayClusterName", in->new_cluster_name)))
            goto oom;
    }
    r = json_object_set_new(st, "activeServiceStatus", a);
    a = NULL;
    if (r)
        goto oom;
    r = json_object_set_new(st, "pendingServiceStatus", p);
    p = NULL;
    if (r)
        goto oom;
    if (in->endpoints > 0 ? kobj_set_new(st, "numServeEndpoints", json_integer(in->endpoints))
                          : (json_object_del(st, "numServeEndpoints"), 0))
        goto oom;
    if (set_conditions(in, st, to))
        goto oom;
    if (rayservice_status_condition_true(st, RAYSERVICE_COND_READY)
            ? kobj_set_str(st, "serviceStatus", RAYSERVICE_SERVICE_STATUS_RUNNING)
            : (json_object_del(st, "serviceStatus"), 0))
        goto oom;
    *out = st;
    return 0;
oom:
    r = krc_error_set(err, KRC_ENOMEM, "status of RayService %s/%s: out of memory", in->rs->meta.ns,
                      in->rs->meta.name);
out:
    json_decref(st);
    json_decref(a);
    json_decref(p);
    return r;
}
