/* rayservice_suspend.c - the suspend state machine of a RayService pass (spec rayservice.md §12),
 * driven by the persisted Suspending and Suspended conditions: commit (conditions, empty
 * statuses), delete every owned RayCluster and Service, complete; resume re-initializes the
 * conditions and lets the pass go on (a new cluster is then prepared). */
#include "controller/rayservice_controller_internal.h"

#include "api/kobj.h"

#include <stdio.h>
#include <string.h>

static int set_conds(json_t *st, const char *now, const char *const (*rows)[4], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rayservice_status_set_condition(st, rows[i][0], rows[i][1], rows[i][2], rows[i][3],
                                            now))
            return KRC_ENOMEM;
    return 0;
}

/* Deletes the RayService's clusters and Services; *left: something was still listed. */
static int suspend_delete(struct rayservice_pass *x, bool *left, struct krc_error *err)
{
    char sel[RAYSERVICE_SELECTOR_MAX];
    json_t *svcs = NULL, *item;
    size_t i;
    int r = 0;
    struct krc_delete_opts d = {.propagation_policy = "Background"};
    snprintf(sel, sizeof(sel), "%s=%s,%s=%s", RAY_LABEL_ORIGINATED_FROM_CR_NAME, x->rs->meta.name,
             RAY_LABEL_ORIGINATED_FROM_CRD, RAYSERVICE_KIND);
    *left = json_array_size(kobj_arr(x->list, "items")) > 0;
    json_array_foreach(kobj_arr(x->list, "items"), i, item)
    {
        if (!kobj_path_str(item, "metadata.deletionTimestamp") &&
            (r = rayservice_pass_delete_cluster(x, rayservice_pass_name(item), " during suspend",
                                                err)))
            return r;
    }
    if ((r = rayservice_pass_list(x, &rayservice_res_service, sel, &svcs, err)))
        return r;
    *left |= json_array_size(kobj_arr(svcs, "items")) > 0;
    json_array_foreach(kobj_arr(svcs, "items"), i, item)
    {
        const char *name = rayservice_pass_name(item);
        if (kobj_path_str(item, "metadata.deletionTimestamp"))
            continue;
        r = krc_client_delete(x->c->o.client, &rayservice_res_service, rayservice_pass_ns(x), name,
                              &d, NULL, err);
        if (r == KRC_ENOTFOUND) {
            r = 0;
            continue;
        }
        if (r) {
            rayservice_pass_event(x, KRC_EVENT_WARNING, "FailedToDeleteService", "Delete",
                                  "Failed to delete the Service %s/%s during suspend: %s",
                                  rayservice_pass_ns(x), name, err->msg);
            break;
        }
        rayservice_pass_event(x, KRC_EVENT_NORMAL, "DeletedService", "Delete",
                              "Deleted the Service %s/%s during suspend", rayservice_pass_ns(x),
                              name);
    }
    json_decref(svcs);
    return r;
}

/* §12: returns 1 when the pass ends here (*requeue set), 0 to continue, < 0 on error. The status
 * it changed is written here. */
int rayservice_pass_suspend(struct rayservice_pass *x, int64_t *requeue, struct krc_error *err)
{
    const json_t *old = x->rs->status;
    bool suspended = rayservice_status_condition_true(old, RAYSERVICE_COND_SUSPENDED);
    bool suspending = rayservice_status_condition_true(old, RAYSERVICE_COND_SUSPENDING);
    json_t *st = NULL;
    int r = 0, end = 0;
    if (!suspended && !suspending && !x->rs->spec.suspend)
        return 0;
    if (suspended && x->rs->spec.suspend)
        return 1; /* stays suspended, no requeue */
    if (!(st = old ? json_deep_copy(old) : json_object()) ||
        kobj_set_new(st, "observedGeneration", json_integer(x->rs->meta.generation)))
        goto oom;
    if (suspended) { /* resume */
        static const char *const resume[][4] = {
            {RAYSERVICE_COND_SUSPENDED, "False", RAYSERVICE_REASON_RESUMED,
             "Spec.Suspend is false; RayService has resumed."},
            {RAYSERVICE_COND_READY, "False", RAYSERVICE_REASON_INITIALIZING,
             "RayService is initializing after resuming from suspend."},
            {RAYSERVICE_COND_UPGRADE, "False", RAYSERVICE_REASON_INITIALIZING,
             "RayService is initializing after resuming from suspend."},
        };
        rayservice_status_remove_condition(st, RAYSERVICE_COND_READY);
        rayservice_status_remove_condition(st, RAYSERVICE_COND_UPGRADE);
        if (set_conds(st, x->now, resume, 3))
            goto oom;
    } else if (!suspending) { /* commit */
        static const char *const commit[][4] = {
            {RAYSERVICE_COND_SUSPENDING, "True", RAYSERVICE_REASON_SUSPEND_REQUEST,
             "Spec.Suspend is true; will delete all Kubernetes resources owned by this "
             "RayService."},
            {RAYSERVICE_COND_READY, "False", RAYSERVICE_REASON_SUSPEND_PROGRESS,
             "RayService is suspending."},
            {RAYSERVICE_COND_UPGRADE, "False", RAYSERVICE_REASON_SUSPEND_PROGRESS,
             "No upgrade in progress."},
            {RAYSERVICE_COND_ROLLBACK, "False", RAYSERVICE_REASON_SUSPEND_PROGRESS,
             "No rollback in progress."},
        };
        if (set_conds(st, x->now, commit, 4) ||
            kobj_set_new(st, "activeServiceStatus", json_object()) ||
            kobj_set_new(st, "pendingServiceStatus", json_object()))
            goto oom;
        json_object_del(st, "numServeEndpoints");
        json_object_del(st, "serviceStatus");
        end = 1;
    } else { /* suspending: delete everything, then complete */
        bool left = false;
        if ((r = suspend_delete(x, &left, err)))
            goto out;
        static const char *const progress[][4] = {
            {RAYSERVICE_COND_SUSPENDING, "True", RAYSERVICE_REASON_SUSPEND_PROGRESS,
             "Waiting for all Kubernetes resources owned by this RayService to be deleted."},
        };
        static const char *const complete[][4] = {
            {RAYSERVICE_COND_SUSPENDING, "False", RAYSERVICE_REASON_SUSPEND_COMPLETE,
             "All owned resources have been deleted."},
            {RAYSERVICE_COND_SUSPENDED, "True", RAYSERVICE_REASON_SUSPEND_COMPLETE,
             "All owned resources have been deleted."},
            {RAYSERVICE_COND_READY, "False", RAYSERVICE_REASON_SUSPEND_COMPLETE,
             "RayService is suspended."},
            {RAYSERVICE_COND_UPGRADE, "False", RAYSERVICE_REASON_SUSPEND_COMPLETE,
             "No upgrade in progress."},
            {RAYSERVICE_COND_ROLLBACK, "False", RAYSERVICE_REASON_SUSPEND_COMPLETE,
             "No rollback in progress."},
        };
        if (left ? set_conds(st, x->now, progress, 1) : set_conds(st, x->now, complete, 5))
            goto oom;
        end = 1;
    }
    if (!json_equal(st, old ? old : st) || !old)
        r = rayservice_pass_write_status(x, st, err);
    else
        r = 0;
    if (!r && end)
        *requeue = RAYSERVICE_REQUEUE_NS;
    if (!r && !end) { /* resumed: the rest of the pass starts from the status just written */
        x->status_hold = st;
        x->rs->status = st;
        st = NULL;
    }
    json_decref(st);
    return r ? r : end;
oom:
    r = krc_error_set(err, KRC_ENOMEM, "suspend %s: out of memory", x->key);
out:
    json_decref(st);
    return r;
}
