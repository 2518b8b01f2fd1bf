/* raycluster_cleanup_job.h - the Redis cleanup Job run when a GCS-FT RayCluster is deleted
 * (spec §8.10, §6.12).
 *
 * Built from a freshly built head pod, then trimmed: only the Ray container, no
 * wait-for-tls-ip-san init container, no probes, fixed small resources, restartPolicy Never, and a
 * command that deletes the cluster's storage namespace from Redis with Ray's own helper. */
#ifndef KRC_CONTROLLER_RAYCLUSTER_CLEANUP_JOB_H
#define KRC_CONTROLLER_RAYCLUSTER_CLEANUP_JOB_H

#include "api/raycluster.h"
#include "controller/raycluster_opts.h"
#include "util/error.h"

#include <jansson.h>

int raycluster_build_redis_cleanup_job(const struct raycluster *rc, const struct raycluster_opts *o,
                                       json_t **out, struct krc_error *err);

#endif
