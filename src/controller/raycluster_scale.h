/* raycluster_scale.h - which pods to create and delete (spec §6.3-§6.10), as a pure plan.
 *
 * raycluster_plan_pods() turns (cluster, operator options, observed pods, expectation state) into
 * an ordered list of actions - KubeRay's reconcilePods with every API call replaced by "append an
 * action". The reconcile layer executes the actions in order and stops at the first failure:
 *
 *   - an action that fails ends the reconcile with a replica failure whose reason is the action's
 *     failure_reason (FailedDeleteAllPods, FailedDeleteHeadPod, FailedCreateHeadPod,
 *     FailedDeleteWorkerPod, FailedCreateWorkerPod), except where NotFound is tolerated: a
 *     WORKERS_TO_DELETE or MULTIHOST delete ignores NotFound (no expectation, no event); a
 *     SCALE_DOWN delete treats NotFound as success (expectation and event still recorded); an
 *     UNHEALTHY delete fails on it, as in KubeRay;
 *   - an action with then_fail set ends the reconcile after it succeeded, with `reason` as a plain
 *     (non replica-failure) error; a FAIL action does the same without doing anything;
 *   - UPDATE_HEAD_STAMP failures are only logged.
 * Every successful pod create/delete records a scale expectation for (group, pod name); the
 * delete-collection actions do not, and DELETE_ALL_PODS with drop_expectations clears the
 * cluster's expectations.
 *
 * Bounds: at most RAYCLUSTER_PLAN_MAX_CREATES pod creations per group per plan (KubeRay would loop
 * over any diff, e.g. 2^31-1 replicas; the rest is planned by the next reconcile once the
 * expectations are met), and a negative desired count (numOfHosts < 0) deletes at most the pods
 * that exist, where KubeRay would index past its list and panic.
 *
 * One deliberate simplification: KubeRay subtracts a workersToDelete pod from the running count
 * only when its delete call succeeds; the plan subtracts every named pod present in the group's
 * pod list (i.e. assumes the delete succeeds). The difference shows only when the cache lists a
 * pod the API server no longer has, and the next reconcile converges to the same state. */
#ifndef KRC_CONTROLLER_RAYCLUSTER_SCALE_H
#define KRC_CONTROLLER_RAYCLUSTER_SCALE_H

#include "api/raycluster.h"
#include "controller/raycluster_opts.h"
#include "controller/raycluster_pod.h"
#include "util/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RAYCLUSTER_PLAN_MAX_CREATES 10000

enum raycluster_action_kind {
    RAYCLUSTER_ACT_DELETE_ALL_PODS,   /* delete-collection ray.io/cluster=<name> */
    RAYCLUSTER_ACT_UPDATE_HEAD_STAMP, /* re-stamp the head's hash and version annotations */
    RAYCLUSTER_ACT_DELETE_HEAD_POD,
    RAYCLUSTER_ACT_CREATE_HEAD_POD,
    RAYCLUSTER_ACT_DELETE_GROUP_PODS, /* delete-collection of a suspended worker group */
    RAYCLUSTER_ACT_DELETE_WORKER_POD,
    RAYCLUSTER_ACT_CREATE_WORKER_POD,
    RAYCLUSTER_ACT_FAIL, /* end the reconcile with `reason` as error */
};

enum raycluster_delete_cause {
    RAYCLUSTER_DELETE_UNHEALTHY = 0, /* §6.8 */
    RAYCLUSTER_DELETE_WORKERS_TO_DELETE,
    RAYCLUSTER_DELETE_SCALE_DOWN,
    RAYCLUSTER_DELETE_MULTIHOST,  /* a whole multi-host replica; reason = the event's suffix */
    RAYCLUSTER_DELETE_SUSPENSION, /* DELETE_ALL_PODS */
    RAYCLUSTER_DELETE_RECREATE,   /* DELETE_ALL_PODS */
};

struct raycluster_action {
    enum raycluster_action_kind kind;
    long group; /* worker group index, or -1 for the head / the whole cluster */
    enum raycluster_delete_cause cause;
    char *pod_name;             /* owned; DELETE_*_POD and UPDATE_HEAD_STAMP */
    char *reason;               /* owned or NULL; health reason, multi-host note or FAIL message */
    const char *failure_reason; /* static; the replica failure if this action fails */
    struct raycluster_worker_slot slot; /* CREATE_WORKER_POD; slot.replica_name points at ... */
    char replica_name[80];              /* ... this buffer (multi-host) */
    bool drop_expectations;             /* DELETE_ALL_PODS for a Recreate upgrade */
    bool then_fail;
};

struct raycluster_plan {
    struct raycluster_action *actions;
    size_t n, cap;
};

struct raycluster_scale_input {
    const json_t *pods; /* every pod labelled ray.io/cluster=<name> (the cache's view) */
    bool head_expectations_satisfied;
    const bool *group_expectations_satisfied; /* one per worker group; NULL = all satisfied */
    const char *spec_hash;                    /* raycluster_spec_hash(), for Recreate */
    /* Five characters from "bcdfghjklmnpqrstvwxz2456789" for multi-host replica names. */
    void (*random_suffix)(char out[6], void *arg);
    void *random_arg;
};

int raycluster_plan_pods(const struct raycluster *rc, const struct raycluster_opts *o,
                         const struct raycluster_scale_input *in, struct raycluster_plan *plan,
                         struct krc_error *err);
void raycluster_plan_free(struct raycluster_plan *plan);

#endif
