/* raycluster_pod.h - the desired head and worker Pods of a RayCluster (spec §7), as JSON.
 *
 * Pure: (cluster, operator options, replica labels) -> Pod object ready to POST. The result is a
 * new jansson tree the caller owns (json_decref). Construction follows KubeRay's order step by
 * step because order is observable (container, env and volume order; which value wins).
 *
 * NICHE features that are not implemented yet - mTLS pod wiring (gate RayClusterMTLS) and the
 * history-server collector (gate RayClusterHistoryServer) - make the builders fail with
 * KRC_EINVAL and a message saying so, rather than build a pod that silently lacks them. Both are
 * rejected by validation while their gates are off (the default). */
#ifndef KRC_CONTROLLER_RAYCLUSTER_POD_H
#define KRC_CONTROLLER_RAYCLUSTER_POD_H

#include "api/raycluster.h"
#include "controller/raycluster_opts.h"
#include "util/error.h"

#include <jansson.h>

/* Where a new worker pod sits in its group (labels of §3.1, gate RayMultiHostIndexing). */
struct raycluster_worker_slot {
    int replica_index;        /* ray.io/worker-group-replica-index (gate on) */
    const char *replica_name; /* ray.io/worker-group-replica-name (numOfHosts > 1), or NULL */
    int host_index;           /* ray.io/replica-host-index (numOfHosts > 1) */
};

/* §7.1. spec_hash (§6.11) may be NULL to leave out the hash and version annotations. */
int raycluster_build_head_pod(const struct raycluster *rc, const struct raycluster_opts *o,
                              const char *spec_hash, json_t **out, struct krc_error *err);

/* §7.2, for workerGroupSpecs[group]. */
int raycluster_build_worker_pod(const struct raycluster *rc, const struct raycluster_opts *o,
                                size_t group, const struct raycluster_worker_slot *slot,
                                json_t **out, struct krc_error *err);

/* The controller reference to the cluster (§ terminology), a new object. */
json_t *raycluster_owner_reference(const struct raycluster *rc);
/* Replaces any ownerReference with the cluster's UID, else appends it. 0 or KRC_ENOMEM. */
int raycluster_set_owner(json_t *obj, const struct raycluster *rc);

#endif
