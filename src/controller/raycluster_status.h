/* raycluster_status.h - the desired RayCluster status from observed state (spec §9).
 *
 * Pure: (cluster as read, gates, observed pods and head Services, the reconcile's outcome, now) ->
 * new status. The reconcile layer then writes it only if raycluster_status_differs() says a
 * compared field changed (§9.7). Fields the computation does not touch keep their previous value,
 * as KubeRay computes on a copy of the object. */
#ifndef KRC_CONTROLLER_RAYCLUSTER_STATUS_H
#define KRC_CONTROLLER_RAYCLUSTER_STATUS_H

#include "api/raycluster.h"
#include "util/error.h"

#include <jansson.h>

enum raycluster_outcome {
    RAYCLUSTER_OUTCOME_OK = 0,          /* the sub-reconcilers succeeded */
    RAYCLUSTER_OUTCOME_REPLICA_FAILURE, /* failed creating/deleting pods (§2.12 reasons) */
    RAYCLUSTER_OUTCOME_OTHER_ERROR,     /* any other error */
};

struct raycluster_reconcile_result {
    enum raycluster_outcome outcome;
    /* REPLICA_FAILURE: FailedDeleteAllPods, FailedDeleteHeadPod, FailedCreateHeadPod,
     * FailedDeleteWorkerPod or FailedCreateWorkerPod. */
    const char *failure_reason;
    /* The full error text; KubeRay's is "<Reason>\n<underlying error>". */
    const char *message;
};

struct raycluster_observed {
    const json_t *pods;          /* every pod labelled ray.io/cluster=<name> in the namespace */
    const json_t *head_services; /* Services matching raycluster_head_service_selector() */
};

/* Fills out (initialised here; free with raycluster_status_free). `now` is an RFC 3339 time.
 * Errors that abort KubeRay's computation (several head pods, no or several head Services, a head
 * Service without clusterIP) return KRC_EINVAL with KubeRay's message; out is then empty. */
int raycluster_compute_status(const struct raycluster *rc, const struct raycluster_gates *g,
                              const struct raycluster_observed *obs,
                              const struct raycluster_reconcile_result *res, const char *now,
                              struct raycluster_status *out, struct krc_error *err);

/* §6.3: desired pods of a group: 0 when suspended, else clamp(replicas, min, max) * numOfHosts
 * (absent replicas = min, absent min = 0, absent max = 2147483647, absent numOfHosts = 1). int32
 * arithmetic wraps as in KubeRay. */
int32_t raycluster_group_desired_pods(const struct raycluster_worker_group *g);
int32_t raycluster_group_num_of_hosts(const struct raycluster_worker_group *g);

/* §9.2 totals as canonical quantity strings; each buffer >= 40 bytes. 0, KRC_ERANGE (a total of
 * 2^64 or more) or KRC_ENOMEM. */
int raycluster_desired_resources(const struct raycluster *rc, char *cpu, char *memory, char *gpu,
                                 char *tpu, struct krc_error *err);

#endif
