/* raycluster_hash.h - the "pod-relevant spec" hash of the Recreate upgrade strategy (spec §6.11).
 *
 * SHA-1 over the spec with upgradeStrategy, each group's replicas/minReplicas/maxReplicas/
 * workersToDelete and every template's tolerations/schedulingGates removed (fields the autoscaler
 * and Kueue change without a spec change that should recreate pods), encoded in base32 "extended
 * hex" (0-9A-V, 32 characters). Absent rayStartParams count as {} (KubeRay serializes them).
 *
 * The JSON is serialized with sorted keys rather than Go's field order, so the hash is stable but
 * not bit-equal to KubeRay's. That is enough: a head pod stamped by another operator version is
 * re-stamped rather than recreated (the ray.io/kuberay-version check), so hashes from the two
 * operators are never compared. */
#ifndef KRC_CONTROLLER_RAYCLUSTER_HASH_H
#define KRC_CONTROLLER_RAYCLUSTER_HASH_H

#include "api/raycluster.h"

#define RAYCLUSTER_HASH_LEN 32

/* out must hold RAYCLUSTER_HASH_LEN + 1 bytes. 0 or KRC_ENOMEM. */
int raycluster_spec_hash(const struct raycluster *rc, char out[RAYCLUSTER_HASH_LEN + 1]);

/* The parts shared with the RayService cluster hash (rayservice_cluster.c):
 * removes from a head or worker group object what the autoscaler and Kueue change (replicas,
 * minReplicas, maxReplicas, scaleStrategy.workersToDelete and an emptied scaleStrategy, the
 * template's tolerations and schedulingGates); */
void raycluster_hash_strip_group(json_t *group);
/* and hashes a spec: base32hex(SHA-1) of its compact JSON with sorted keys. 0 or KRC_ENOMEM. */
int raycluster_hash_json(const json_t *spec, char out[RAYCLUSTER_HASH_LEN + 1]);

#endif
