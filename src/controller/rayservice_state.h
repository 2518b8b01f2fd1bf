/* rayservice_state.h - the pure status computation of a RayService pass (spec rayservice.md §6.3,
 * §10): whether a new pending cluster is prepared, the promotion of the pending cluster once the
 * Services point at it, the conditions (with the initializing timeout of §10.4) and serviceStatus.
 *
 * Everything observed in the pass comes in through struct rayservice_state_in (clusters,
 * application statuses, the endpoint count, the clock, a fresh random name), so the whole §10
 * is a function from inputs to a new status object, covered by table tests; the controller writes
 * the result when rayservice_status_differs() says so, and emits the timeout event. */
#ifndef KRC_CONTROLLER_RAYSERVICE_STATE_H
#define KRC_CONTROLLER_RAYSERVICE_STATE_H

#include "api/rayservice.h"
#include "util/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* §6.3 rules 1, 3-5 (rule 2 is the rollback of the incremental upgrade, not implemented). active
 * and pending are the cluster objects (NULL when absent); *yes when a new pending cluster should
 * be prepared. 0 or KRC_ENOMEM. */
int rayservice_state_should_prepare(const struct rayservice *rs, const json_t *active,
                                    const json_t *pending, bool services_to_pending,
                                    const char *zero_downtime_env, bool *yes);

struct rayservice_state_in {
    const struct rayservice
        *rs; /* spec, generation, annotations and the status read (rs->status) */
    const json_t *active, *pending;           /* the cluster objects, NULL when absent */
    const json_t *active_apps, *pending_apps; /* §7 application statuses, NULL when not read */
    const char *target; /* the cluster the Services were pointed at in this pass, or NULL */
    long endpoints;     /* §9.4 */
    const char *zero_downtime_env; /* ENABLE_ZERO_DOWNTIME, NULL when unset */
    const char *new_cluster_name;  /* the name a cluster prepared by §6.3 gets */
    const char *now;               /* RFC 3339 */
    int64_t now_s;                 /* the same in unix seconds */
};

/* Set when the initializing timeout fired in this computation (the caller emits
 * RayServiceInitializingTimeout with these Go-formatted durations). */
struct rayservice_state_timeout {
    bool fired;
    char limit[48], elapsed[48];
};

/* §10.1: *out = the new status (a new object). KRC_EINVAL when target is neither the active nor
 * the pending cluster (KubeRay panics there), KRC_ENOMEM. */
int rayservice_state_compute(const struct rayservice_state_in *in, json_t **out,
                             struct rayservice_state_timeout *to, struct krc_error *err);

#endif
