/* raycluster_status_write.c - the status step of a RayCluster reconcile: the status of
 * raycluster_status.h computed from the informer caches and the outcome of the pod step, written
 * (update of the status subresource) only when it differs from the one read (§9). */
#include "controller/raycluster_controller_internal.h"

#include "api/kobj.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

static const char *now_rfc3339(char buf[40])
{
    return krc_events_format_time(krc_events_wall_now(), 0, buf, 40);
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

int raycluster_ctrl_reconcile_status(struct raycluster_controller *c, struct nsset *set,
                                     const struct raycluster *rc,
                                     const struct raycluster_reconcile_result *res,
                                     json_t *shared_pods, bool *written, struct krc_error *err)
{
    struct raycluster_status st;
    char now[40];
    json_t *pods = shared_pods ? json_incref(shared_pods) : raycluster_ctrl_pods(set, rc, err);
    json_t *svcs = pods ? raycluster_ctrl_head_services(set, rc, err) : NULL;
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
        raycluster_ctrl_prov_set(c, rc);
out:
    raycluster_status_free(&st);
    json_decref(pods);
    json_decref(svcs);
    return r;
}
