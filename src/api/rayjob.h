/* rayjob.h - the ray.io/v1 RayJob type in C: parse, schema defaults, validation, status.
 *
 * Design: the same borrowing model as raycluster.h. A parsed struct rayjob keeps one reference to
 * the JSON document it came from; strings, maps and the submitter pod template point into it.
 * The embedded spec.rayClusterSpec is parsed by raycluster_parse() into a full struct raycluster
 * (metadata = the RayJob's name, namespace and annotations; spec = rayClusterSpec), so the RayJob
 * controller and validator reuse every RayCluster predicate and the RayCluster spec validation
 * unchanged. Fields where KubeRay distinguishes absent from zero (*int32 in Go) carry "set" flags.
 *
 * The status owns its memory (it is computed, compared and serialized back), as in raycluster.h.
 * jobStatus and jobDeploymentStatus are enums; a value outside KubeRay's set parses to *_UNKNOWN
 * and its spelling is kept in *_raw so that a status round trip never rewrites it.
 *
 * Ownership: rayjob_parse() fills a caller-provided struct; rayjob_release() frees what it took.
 * Strings and json_t pointers in it are valid until then. */
#ifndef KRC_API_RAYJOB_H
#define KRC_API_RAYJOB_H

#include "api/raycluster.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits and well-known names (spec §3.3, §6). */
/* RAYCLUSTER_MAX_NAME_LEN minus the 6-character random suffix of the RayCluster name. */
#define RAYJOB_MAX_NAME_LEN                    47
#define RAYJOB_CLUSTER_SELECTOR_KEY            RAY_LABEL_CLUSTER /* "ray.io/cluster" */
#define RAYJOB_MANAGED_BY_MULTIKUEUE           "kueue.x-k8s.io/multikueue"
#define RAYJOB_DEFAULT_SUBMITTER_BACKOFF_LIMIT 2

/* Event reasons of controller validation (spec §3.3). */
#define RAYJOB_EVENT_INVALID_METADATA "InvalidRayJobMetadata"
#define RAYJOB_EVENT_INVALID_SPEC     "InvalidRayJobSpec"
#define RAYJOB_EVENT_INVALID_STATUS   "InvalidRayJobStatus"

/* status.reason values (KubeRay's JobFailedReason). */
#define RAYJOB_REASON_SUBMISSION_FAILED             "SubmissionFailed"
#define RAYJOB_REASON_DEADLINE_EXCEEDED             "DeadlineExceeded"
#define RAYJOB_REASON_PRE_RUNNING_DEADLINE_EXCEEDED "PreRunningDeadlineExceeded"
#define RAYJOB_REASON_APP_FAILED                    "AppFailed"
#define RAYJOB_REASON_TRANSITION_GRACE_PERIOD_EXCEEDED                                             \
    "JobDeploymentStatusTransitionGracePeriodExceeded"
#define RAYJOB_REASON_STATUS_CHECK_TIMEOUT_EXCEEDED "JobStatusCheckTimeoutExceeded"
#define RAYJOB_REASON_VALIDATION_FAILED             "ValidationFailed"

/* status.jobStatus: Ray's JobStatus. NEW is "". */
enum rayjob_job_status {
    RAYJOB_JS_NEW = 0,   /* "" */
    RAYJOB_JS_PENDING,   /* "PENDING" */
    RAYJOB_JS_RUNNING,   /* "RUNNING" */
    RAYJOB_JS_STOPPED,   /* "STOPPED" */
    RAYJOB_JS_SUCCEEDED, /* "SUCCEEDED" */
    RAYJOB_JS_FAILED,    /* "FAILED" */
    RAYJOB_JS_UNKNOWN    /* any other spelling (kept in job_status_raw) */
};

/* status.jobDeploymentStatus: the operator's state machine. NEW is "". */
enum rayjob_deployment_status {
    RAYJOB_DS_NEW = 0,           /* "" */
    RAYJOB_DS_INITIALIZING,      /* "Initializing" */
    RAYJOB_DS_RUNNING,           /* "Running" */
    RAYJOB_DS_COMPLETE,          /* "Complete" */
    RAYJOB_DS_FAILED,            /* "Failed" */
    RAYJOB_DS_VALIDATION_FAILED, /* "ValidationFailed" */
    RAYJOB_DS_SUSPENDING,        /* "Suspending" */
    RAYJOB_DS_SUSPENDED,         /* "Suspended" */
    RAYJOB_DS_RETRYING,          /* "Retrying" */
    RAYJOB_DS_WAITING,           /* "Waiting" */
    RAYJOB_DS_UNKNOWN            /* any other spelling (kept in deployment_status_raw) */
};

/* spec.submissionMode. An absent field is K8sJobMode (the CRD default); a value outside the set
 * parses to UNKNOWN with the spelling kept in submission_mode_raw (spec §5.3 step 9). */
enum rayjob_submission_mode {
    RAYJOB_MODE_K8S_JOB = 0, /* "K8sJobMode" */
    RAYJOB_MODE_HTTP,        /* "HTTPMode" */
    RAYJOB_MODE_INTERACTIVE, /* "InteractiveMode" */
    RAYJOB_MODE_SIDECAR,     /* "SidecarMode" */
    RAYJOB_MODE_UNKNOWN
};

/* DeletionPolicyType. UNSET means the field is absent (legacy policy without "policy"). */
enum rayjob_deletion_policy {
    RAYJOB_POLICY_UNSET = 0,
    RAYJOB_POLICY_DELETE_CLUSTER, /* "DeleteCluster" */
    RAYJOB_POLICY_DELETE_WORKERS, /* "DeleteWorkers" */
    RAYJOB_POLICY_DELETE_SELF,    /* "DeleteSelf" */
    RAYJOB_POLICY_DELETE_NONE,    /* "DeleteNone" */
    RAYJOB_POLICY_UNKNOWN         /* rejected by the CRD enum; kept so parse never fails on it */
};

/* Enum <-> KubeRay spelling. *_str never returns NULL (UNKNOWN gives ""); *_parse maps NULL and
 * "" to the zero value where that is KubeRay's meaning, and anything unrecognized to UNKNOWN. */
const char *rayjob_job_status_str(enum rayjob_job_status s);
enum rayjob_job_status rayjob_job_status_parse(const char *s);
const char *rayjob_deployment_status_str(enum rayjob_deployment_status s);
enum rayjob_deployment_status rayjob_deployment_status_parse(const char *s);
const char *rayjob_submission_mode_str(enum rayjob_submission_mode m);
enum rayjob_submission_mode rayjob_submission_mode_parse(const char *s); /* NULL/"" -> K8S_JOB */
const char *rayjob_deletion_policy_str(enum rayjob_deletion_policy p);
enum rayjob_deletion_policy rayjob_deletion_policy_parse(const char *s); /* NULL -> UNSET */

/* KubeRay's IsJobTerminal (STOPPED, SUCCEEDED, FAILED) and IsJobDeploymentTerminal (Complete,
 * Failed). */
bool rayjob_job_status_terminal(enum rayjob_job_status s);
bool rayjob_deployment_status_terminal(enum rayjob_deployment_status s);

/* Legacy deletionStrategy.onSuccess / onFailure. */
struct rayjob_deletion_legacy {
    bool set;                           /* the object is present */
    enum rayjob_deletion_policy policy; /* UNSET when "policy" is absent */
};

/* One deletionStrategy.deletionRules[] entry. */
struct rayjob_deletion_rule {
    enum rayjob_deletion_policy policy;
    bool job_status_set;
    enum rayjob_job_status job_status; /* condition.jobStatus when job_status_set */
    bool deployment_status_set;
    enum rayjob_deployment_status deployment_status; /* condition.jobDeploymentStatus */
    int32_t ttl_seconds;                             /* condition.ttlSeconds, 0 when absent */
    const char *condition_value; /* the jobStatus or jobDeploymentStatus spelling (borrowed) */
};

struct rayjob_deletion_strategy {
    bool set; /* spec.deletionStrategy present */
    struct rayjob_deletion_legacy on_success, on_failure;
    bool rules_set;                     /* deletionRules present (possibly empty) */
    struct rayjob_deletion_rule *rules; /* owned array, NULL when n_rules == 0 */
    size_t n_rules;
};

struct rayjob_spec {
    const char *entrypoint;           /* "" when absent */
    const char *job_id;               /* "" when absent */
    const char *runtime_env_yaml;     /* "" when absent */
    const char *entrypoint_resources; /* "" when absent (JSON text, not validated) */
    double entrypoint_num_cpus;       /* float32 in KubeRay; 0 when absent */
    double entrypoint_num_gpus;
    enum rayjob_submission_mode submission_mode;
    const char *submission_mode_raw; /* the spelling as written, NULL when absent */
    json_t *metadata;                /* borrowed string map or NULL */
    json_t *cluster_selector; /* borrowed string map or NULL (an empty map counts as unset) */
    bool has_cluster_spec;    /* spec.rayClusterSpec present; then `cluster` below is parsed */
    json_t *cluster_spec;     /* borrowed rayClusterSpec object or NULL */
    json_t *submitter_pod_template; /* borrowed PodTemplateSpec object or NULL */
    bool submitter_config_set;
    struct rc_opt_i32 submitter_backoff_limit; /* submitterConfig.backoffLimit */
    const char *managed_by;                    /* NULL when absent */
    struct rayjob_deletion_strategy deletion;
    bool shutdown_after_job_finishes;
    bool suspend;
    int32_t ttl_seconds_after_finished; /* 0 when absent (CRD default) */
    struct rc_opt_i32 active_deadline_seconds;
    struct rc_opt_i32 pre_running_deadline_seconds;
    struct rc_opt_i32 backoff_limit; /* CRD default 0; unset only in unschema'd manifests */
};

/* status.rayJobInfo. */
struct rayjob_info {
    char *start_time, *end_time; /* RFC 3339, "" when absent */
};

/* Owns all its memory. Strings are never NULL after rayjob_status_parse()/rayjob_status_copy()
 * ("" means absent); rayjob_status_init() leaves them NULL, which every function here reads as
 * "". Change strings with rayjob_status_set_str(). */
struct rayjob_status {
    enum rayjob_job_status job_status;
    char *job_status_raw; /* spelling when job_status == UNKNOWN, else "" */
    enum rayjob_deployment_status deployment_status;
    char *deployment_status_raw; /* spelling when deployment_status == UNKNOWN, else "" */
    char *job_id, *ray_cluster_name, *dashboard_url;
    char *reason; /* a RAYJOB_REASON_* value or "" */
    char *message;
    char *start_time, *end_time; /* RFC 3339 UTC, whole seconds; "" when absent */
    char *job_status_check_failure_start_time;
    struct rayjob_info ray_job_info;
    struct rc_opt_i32 succeeded, failed; /* *int32 in KubeRay: written as 0 once set */
    struct raycluster_status ray_cluster_status;
    int64_t observed_generation;
};

struct rayjob {
    json_t *root; /* owned reference to the whole document */
    struct json_field_objmeta meta;
    struct rayjob_spec spec;
    /* The embedded RayCluster when spec.has_cluster_spec: a struct raycluster over a synthetic
     * document {metadata: {name, namespace, annotations of the RayJob}, spec: rayClusterSpec}
     * (rayClusterSpec borrowed, not copied). Zeroed otherwise. */
    struct raycluster cluster;
    struct rayjob_status status;
};

/* Parses a RayJob object. On failure returns KRC_EINVAL (or KRC_ENOMEM) with err naming the
 * object and the field ("RayJob ns/name: spec.backoffLimit: expected an int32, got a string"),
 * and leaves nothing to release. The document is referenced, not copied. */
int rayjob_parse(json_t *doc, struct rayjob *job, struct krc_error *err);
void rayjob_release(struct rayjob *job);

/* Parses a bare RayJobSpec object (a RayCronJob's spec.jobTemplate) into spec + cluster, with
 * ns/name/annotations used only for the embedded RayCluster and error messages. path prefixes
 * error paths (e.g. "spec.jobTemplate"). The caller keeps `spec_obj` alive and releases with
 * rayjob_spec_release(). */
int rayjob_spec_parse(json_t *spec_obj, const char *ns, const char *name, json_t *annotations,
                      const char *path, struct rayjob_spec *spec, struct raycluster *cluster,
                      struct krc_error *err);
void rayjob_spec_release(struct rayjob_spec *spec, struct raycluster *cluster);

/* Applies the CRD's structural defaults to a RayJob document as the API server does on
 * create/update (spec.backoffLimit = 0, spec.ttlSecondsAfterFinished = 0, spec.submissionMode =
 * K8sJobMode, deletionRules[].condition.ttlSeconds = 0, status.succeeded/failed = 0 when a status
 * object exists, and the RayCluster defaults inside spec.rayClusterSpec). For manifests read
 * from files. 0 or KRC_ENOMEM. */
int rayjob_apply_schema_defaults(json_t *doc);
/* The same for a bare RayJobSpec object (RayCronJob spec.jobTemplate). */
int rayjob_spec_apply_schema_defaults(json_t *spec);

/* Derived values, exactly as KubeRay's utils. */
/* clusterSelector["ray.io/cluster"], or NULL when the selector is absent/empty. An empty string
 * is returned as "" (validation rejects it). */
const char *rayjob_selector_cluster_name(const struct rayjob_spec *spec);
/* True when clusterSelector is a non-empty map (KubeRay: len(ClusterSelector) != 0). */
bool rayjob_uses_cluster_selector(const struct rayjob_spec *spec);
/* submitterConfig.backoffLimit, or 2. */
int32_t rayjob_submitter_backoff_limit(const struct rayjob_spec *spec);
/* spec.backoffLimit, or 0. */
int32_t rayjob_backoff_limit(const struct rayjob_spec *spec);
/* managedBy absent or "ray.io/kuberay-operator". */
bool rayjob_managed_by_kuberay(const struct rayjob_spec *spec);
const char *rayjob_annotation(const struct rayjob *job, const char *key);
const char *rayjob_label(const struct rayjob *job, const char *key);

/* spec.runtimeEnvYAML as KubeRay's UnmarshalRuntimeEnvYAML reads it (YAML 1.1 scalars as
 * sigs.k8s.io/yaml resolves them). *out is a new JSON object (or NULL for an empty / null
 * document, Go's nil map). On failure KRC_EINVAL with KubeRay's message
 * "failed to unmarshal RuntimeEnvYAML: <yaml>: <err>" in err (the same text validation uses),
 * or KRC_ENOMEM. KubeRay re-encodes the map with Go's json.Marshal, which sorts keys: dump with
 * JSON_COMPACT | JSON_SORT_KEYS to get the same --runtime-env-json / runtime_env text. */
int rayjob_runtime_env_json(const char *yaml, json_t **out, struct krc_error *err,
                            struct krc_strbuf *full);

/* Validation (spec §3.3). Each returns 0 when valid, KRC_EINVAL with KubeRay's exact message in
 * err->msg (including KubeRay's "The RayJob ... is invalid: " prefixes, which form part of the
 * status message and event note), or KRC_ENOMEM. err->msg is capped at KRC_ERROR_MSG_MAX; when
 * full is non-NULL it receives the untruncated message (RayCluster errors and joined
 * deletionRules errors can be long). */
int rayjob_validate_metadata(const struct rayjob *job, struct krc_error *err,
                             struct krc_strbuf *full);
int rayjob_validate_spec(const struct rayjob *job, const struct raycluster_gates *g,
                         struct krc_error *err, struct krc_strbuf *full);
/* The spec checks on a bare spec (RayCronJob template validation, §12.2 step 5). cluster is the
 * embedded RayCluster parsed by rayjob_spec_parse (ignored unless spec->has_cluster_spec). */
int rayjob_validate_spec_only(const struct rayjob_spec *spec, const struct raycluster *cluster,
                              const struct raycluster_gates *g, struct krc_error *err,
                              struct krc_strbuf *full);
int rayjob_validate_status(const struct rayjob *job, struct krc_error *err);

/* Status helpers (rayjob_status.c). */
void rayjob_status_init(struct rayjob_status *st);
void rayjob_status_free(struct rayjob_status *st);
/* Parses obj (the "status" member, may be NULL) into st. 0, KRC_EINVAL or KRC_ENOMEM. st must
 * be initialized; on failure it is left initialized (empty). */
int rayjob_status_parse(const json_t *obj, struct rayjob_status *st, struct krc_error *err);
int rayjob_status_copy(const struct rayjob_status *src, struct rayjob_status *dst);
/* Serializes as KubeRay's JSON encoding does: omitempty strings/pointers left out; rayJobInfo
 * and rayClusterStatus (non-pointer structs) always present. NULL on ENOMEM. */
json_t *rayjob_status_to_json(const struct rayjob_status *st);
/* True when every field is equal (deep comparison). */
bool rayjob_status_equal(const struct rayjob_status *a, const struct rayjob_status *b);
/* Spec §4.3: true when a field that triggers a status write differs: jobStatus (incl. raw),
 * jobDeploymentStatus (incl. raw), jobStatusCheckFailureStartTime, or rayClusterStatus compared
 * on state, reason, ready/available/desired/min/max worker replicas, endpoints, head and
 * conditions (lastUpdateTime / observedGeneration alone do not count). message, dashboardURL,
 * rayJobInfo, counters etc. alone do not trigger a write. */
bool rayjob_status_differs_for_write(const struct rayjob_status *a, const struct rayjob_status *b);
/* Replaces *field with a copy of value (value NULL = ""). 0 or KRC_ENOMEM. */
int rayjob_status_set_str(char **field, const char *value);

#endif
