/* jobsubmit.h - the `ray job submit` shell script KubeRay runs in a RayJob's submitter
 * (spec rayjob.md §8.2; container of §8.1.2 / §8.3.1).
 *
 * Inputs are plain values copied out of the RayJob by the caller (no dependency on the API types):
 *
 *     struct ray_submit_input in = {
 *         .mode = RAY_SUBMIT_K8S_JOB,          // or RAY_SUBMIT_SIDECAR
 *         .dashboard_url = status_dashboard_url, // K8sJobMode only ("host:port", "http://"
 * optional) .dashboard_port = 0,                   // SidecarMode: head container 0's port
 * "dashboard" .job_id = status_job_id, .entrypoint = spec_entrypoint,         // trimmed here, then
 * inserted raw .runtime_env_yaml = spec_runtime_env_yaml, .metadata = spec_metadata,             //
 * json_t string map or NULL .has_ray_cluster_spec = true, .ray_version =
 * spec_ray_cluster_spec_ray_version, .entrypoint_num_cpus = 1.0f, ...
 *     };
 *     char *script = NULL;
 *     if (ray_jobsubmit_build_script(&in, &script, err)) -> error requeue (message as KubeRay's)
 *     container.command = ["/bin/bash", ray_jobsubmit_shell_flag(login_shell), "--"]
 *     container.args    = [script]; free(script);
 *
 * The output is byte-for-byte KubeRay's: tokens joined by single spaces (empty tokens keep their
 * separators), JSON re-encoded as Go's encoding/json does (compact, sorted keys, HTML escapes), the
 * quoted values escaped as Go's strconv.Quote, the float flags printed as Go's "%f" of a float32.
 * Pure functions: no I/O, thread-safe. */
#ifndef KRC_RAY_JOBSUBMIT_H
#define KRC_RAY_JOBSUBMIT_H

#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>

/* The submitter container of K8sJobMode's default template and of SidecarMode (§8.1.2, §8.3.1). */
#define RAY_SUBMITTER_CONTAINER_NAME "ray-job-submitter"
#define RAY_SUBMITTER_SHELL          "/bin/bash"
#define RAY_SUBMITTER_FLAG           "-ce"
#define RAY_SUBMITTER_FLAG_LOGIN     "-cel" /* env ENABLE_LOGIN_SHELL=true (case-insensitive) */
#define RAY_SUBMITTER_FLAG_END       "--"
#define RAY_SUBMITTER_LIMIT_CPU      "1"
#define RAY_SUBMITTER_LIMIT_MEMORY   "1Gi"
#define RAY_SUBMITTER_REQUEST_CPU    "500m"
#define RAY_SUBMITTER_REQUEST_MEMORY "200Mi"
#define RAY_ENV_ENABLE_LOGIN_SHELL   "ENABLE_LOGIN_SHELL"
/* Env appended to the submitter container, in this order. */
#define RAY_ENV_PYTHONUNBUFFERED      "PYTHONUNBUFFERED" /* value "1" */
#define RAY_ENV_DASHBOARD_ADDRESS     "RAY_DASHBOARD_ADDRESS"
#define RAY_ENV_JOB_SUBMISSION_ID     "RAY_JOB_SUBMISSION_ID"
#define RAY_DASHBOARD_GCS_HEALTH_PATH "api/gcs_healthz"

enum ray_submit_mode {
    RAY_SUBMIT_K8S_JOB = 0, /* separate submitter Job: address from status.dashboardURL */
    RAY_SUBMIT_SIDECAR,     /* container in the head Pod: http://127.0.0.1:<dashboard_port> */
};

struct ray_submit_input {
    enum ray_submit_mode mode;
    const char *dashboard_url; /* K8sJobMode: status.dashboardURL; "http://" added unless present */
    int dashboard_port;        /* SidecarMode: containerPort named "dashboard"; <= 0 -> 8265 */
    bool
        sidecar_status_check; /* SidecarMode with gate SidecarSubmitterRestart: status-check form */
    const char *job_id;       /* status.jobId; NULL = "" */
    const char *entrypoint;   /* spec.entrypoint (trimmed here); NULL = "" */
    const char *runtime_env_yaml; /* spec.runtimeEnvYAML; NULL/"" = none */
    const json_t *metadata;       /* spec.metadata: object of strings; NULL/{} = none */
    bool has_ray_cluster_spec;    /* spec.rayClusterSpec set (false in clusterSelector mode) */
    const char *ray_version;      /* spec.rayClusterSpec.rayVersion; NULL/"" = unchecked */
    float entrypoint_num_cpus;    /* flag only when > 0 */
    float entrypoint_num_gpus;    /* flag only when > 0 */
    const char
        *entrypoint_resources; /* spec.entrypointResources, passed as given; NULL/"" = none */
};

/* Builds the script of §8.2 (status-check form for K8sJobMode and for SidecarMode with
 * sidecar_status_check, direct form otherwise). *out is malloc'd (caller frees). Errors, with
 * KubeRay's message text in err: KRC_EINVAL for a runtimeEnvYAML that is not valid YAML
 * (yaml: ...), for metadata with a ray_version that does not parse ("failed to parse Ray version:
 * <v>: <why>") or is below 2.6.0 ("the Ray version must be at least 2.6.0 to use the metadata
 * field"), or for a metadata value that is not a string; KRC_ENOMEM. */
int ray_jobsubmit_build_script(const struct ray_submit_input *in, char **out,
                               struct krc_error *err);

/* "-cel" when login_shell (ENABLE_LOGIN_SHELL is "true", case-insensitive), else "-ce". */
const char *ray_jobsubmit_shell_flag(bool login_shell);

/* True when the value of ENABLE_LOGIN_SHELL enables the login shell (strcasecmp "true"). */
bool ray_jobsubmit_login_shell_enabled(const char *env_value);

/* The address the script uses: K8sJobMode dashboard_url with "http://" prefixed unless present;
 * SidecarMode "http://127.0.0.1:<port>". Appended to out. */
int ray_jobsubmit_address(const struct ray_submit_input *in, struct krc_strbuf *out);

/* §8.2 metadata check: 0 when metadata may be used with this cluster spec, else KRC_EINVAL with
 * KubeRay's message. ray_version NULL/"" or !has_ray_cluster_spec -> 0. */
int ray_jobsubmit_check_metadata_version(bool has_ray_cluster_spec, const char *ray_version,
                                         struct krc_error *err);

#endif
