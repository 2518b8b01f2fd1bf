/* rayjob_submitter.h - the submitter of a RayJob (spec rayjob.md §8.1, §8.3): the batch/v1 Job of
 * K8sJobMode, and the `ray-job-submitter` container that K8sJobMode's default template and
 * SidecarMode's head Pod run. The script itself comes from ray/jobsubmit.h.
 *
 * Pure builders over jansson trees; the caller creates what they return and json_decref()s it. */
#ifndef KRC_CONTROLLER_RAYJOB_SUBMITTER_H
#define KRC_CONTROLLER_RAYJOB_SUBMITTER_H

#include "api/raycluster.h"
#include "api/rayjob.h"
#include "util/error.h"

#include <jansson.h>
#include <stdbool.h>

struct rayjob_submitter_input {
    const struct rayjob *job;
    /* The RayCluster the job runs on (its head template gives the image and auth options): the
     * RayJob's own rayClusterSpec, or the selected cluster parsed from the API. */
    const struct raycluster *cluster;
    const char *cluster_name;  /* status.rayClusterName (the auth Secret's default name) */
    const char *job_id;        /* status.jobId */
    const char *dashboard_url; /* status.dashboardURL ("" in SidecarMode, as KubeRay) */
    bool login_shell;          /* ENABLE_LOGIN_SHELL=true */
};

/* §8.1: the submitter Job named like the RayJob. KRC_EINVAL with KubeRay's message when the
 * script cannot be built (runtimeEnvYAML, metadata vs rayVersion), KRC_ENOMEM. */
int rayjob_build_submitter_job(const struct rayjob_submitter_input *in, json_t **out,
                               struct krc_error *err);

/* §8.3.1: the container SidecarMode appends to the head Pod template. */
int rayjob_build_sidecar_container(const struct rayjob_submitter_input *in, json_t **out,
                                   struct krc_error *err);

#endif
