/* jobid.h - the random names of a RayJob attempt (spec rayjob.md §6.1, §7).
 *
 * KubeRay names each attempt's RayCluster and (unless spec.jobId is set) its Ray submission ID
 * `<rayjob-name>-<5 random characters>` drawn from Kubernetes' rand.String alphabet
 * "bcdfghjklmnpqrstvwxz2456789" (no vowels, no confusable digits). Randomness comes from
 * getrandom(2), so the functions are thread-safe and need no seeding.
 *
 * Usage (controller, once per attempt, result persisted in status before use):
 *     char *id = NULL;
 *     if (ray_jobid_generate(name, spec_job_id, &id, err)) ...;   // free(id)
 *     char *cluster = NULL;
 *     if (ray_random_name(name, &cluster, err)) ...;              // free(cluster)
 * InteractiveMode never generates an ID: it copies spec.jobId itself. */
#ifndef KRC_RAY_JOBID_H
#define KRC_RAY_JOBID_H

#include "util/error.h"

#include <stddef.h>

#define RAY_RANDOM_ALPHABET   "bcdfghjklmnpqrstvwxz2456789"
#define RAY_RANDOM_SUFFIX_LEN 5

/* Fills out with RAY_RANDOM_SUFFIX_LEN characters of RAY_RANDOM_ALPHABET (uniform) and a NUL.
 * KRC_EIO when getrandom fails. */
int ray_random_suffix(char out[RAY_RANDOM_SUFFIX_LEN + 1], struct krc_error *err);

/* *out = "<prefix>-<5 random characters>" (malloc'd; caller frees). Used for the RayCluster name
 * of §6.1 and the job ID of §7. KRC_EINVAL for a NULL prefix, KRC_ENOMEM, KRC_EIO. */
int ray_random_name(const char *prefix, char **out, struct krc_error *err);

/* §7: *out = spec_job_id verbatim when it is non-empty, else ray_random_name(rayjob_name)
 * (a fresh value on every call, i.e. every attempt). Caller frees *out. */
int ray_jobid_generate(const char *rayjob_name, const char *spec_job_id, char **out,
                       struct krc_error *err);

#endif
