/* raycluster.h - the ray.io/v1 RayCluster type in C: parse, schema defaults, validation, status.
 *
 * Design: a parsed struct raycluster keeps one reference to the JSON document it came from and
 * points into it - strings, maps and pod templates are borrowed from that tree, so parsing copies
 * nothing and fields the operator does not model (the full PodTemplateSpec, headService, ...)
 * pass through to the objects we build unchanged. Fields the operator reasons about are typed
 * here, with "set" flags where KubeRay distinguishes absent from zero (*int32 / *bool in Go).
 * The parsed struct is read-only; builders deep-copy what they edit.
 *
 * The status is the exception: struct raycluster_status owns its memory, because the status
 * computation produces a new one that outlives no document and is serialized back to JSON.
 *
 * Parse is strict about types and ranges (a string where an int32 belongs, 2^40 replicas, a map
 * with non-string values are errors naming the field), because KubeRay would never see such an
 * object: the API server's schema rejects it. Semantic rules are left to raycluster_validate_*.
 *
 * Ownership: raycluster_parse() fills a caller-provided struct; raycluster_release() frees what it
 * took. Strings and json_t pointers in it are valid until then. */
#ifndef KRC_API_RAYCLUSTER_H
#define KRC_API_RAYCLUSTER_H

#include "api/json_field.h" /* struct rc_opt_i32, rc_opt_bool, json_field_objmeta */
#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Label, annotation and well-known names shared by every RayCluster consumer. */
#define RAY_LABEL_CLUSTER                 "ray.io/cluster"
#define RAY_LABEL_NODE_TYPE               "ray.io/node-type"
#define RAY_LABEL_GROUP                   "ray.io/group"
#define RAY_LABEL_IDENTIFIER              "ray.io/identifier"
#define RAY_LABEL_IS_RAY_NODE             "ray.io/is-ray-node"
#define RAY_LABEL_SERVE                   "ray.io/serve"
#define RAY_LABEL_ORIGINATED_FROM_CR_NAME "ray.io/originated-from-cr-name"
#define RAY_LABEL_ORIGINATED_FROM_CRD     "ray.io/originated-from-crd"
#define RAY_LABEL_HEADLESS_WORKER_SVC     "ray.io/headless-worker-svc"
#define RAY_LABEL_REPLICA_INDEX           "ray.io/worker-group-replica-index"
#define RAY_LABEL_REPLICA_NAME            "ray.io/worker-group-replica-name"
#define RAY_LABEL_HOST_INDEX              "ray.io/replica-host-index"
#define K8S_LABEL_APP_NAME                "app.kubernetes.io/name"
#define K8S_LABEL_CREATED_BY              "app.kubernetes.io/created-by"
#define RAY_APP_NAME                      "kuberay"
#define RAY_COMPONENT_NAME                "kuberay-operator"
#define RAY_HEAD_GROUP_NAME               "headgroup"

#define RAY_ANNOTATION_FT_ENABLED           "ray.io/ft-enabled"
#define RAY_ANNOTATION_EXTERNAL_STORAGE_NS  "ray.io/external-storage-namespace"
#define RAY_ANNOTATION_OVERWRITE_CMD        "ray.io/overwrite-container-cmd"
#define RAY_ANNOTATION_RECREATE_HASH        "ray.io/upgrade-strategy-recreate-hash"
#define RAY_ANNOTATION_KUBERAY_VERSION      "ray.io/kuberay-version"
#define RAY_ANNOTATION_DISABLE_HEAD_RESTART "ray.io/disable-provisioned-head-restart"
#define RAY_ANNOTATION_ENABLE_SERVE_SERVICE "ray.io/enable-serve-service"

#define RAY_MANAGED_BY_KUBERAY  "ray.io/kuberay-operator"
#define RAYCLUSTER_MAX_NAME_LEN 53

/* Condition types and reasons (§2.12). */
#define RAYCLUSTER_COND_PROVISIONED     "RayClusterProvisioned"
#define RAYCLUSTER_COND_HEAD_POD_READY  "HeadPodReady"
#define RAYCLUSTER_COND_REPLICA_FAILURE "ReplicaFailure"
#define RAYCLUSTER_COND_SUSPENDING      "RayClusterSuspending"
#define RAYCLUSTER_COND_SUSPENDED       "RayClusterSuspended"
#define RAYCLUSTER_STATE_READY          "ready"
#define RAYCLUSTER_STATE_SUSPENDED      "suspended"

/* Who created the cluster (label ray.io/originated-from-crd); anything unknown is RayCluster. */
enum raycluster_creator {
    RAYCLUSTER_CREATOR_RAYCLUSTER = 0,
    RAYCLUSTER_CREATOR_RAYJOB,
    RAYCLUSTER_CREATOR_RAYSERVICE
};

enum raycluster_autoscaler_version {
    RAYCLUSTER_AUTOSCALER_UNSET = 0,
    RAYCLUSTER_AUTOSCALER_V1,
    RAYCLUSTER_AUTOSCALER_V2
};

/* Operator feature gates that change RayCluster behaviour (spec §13.1). */
struct raycluster_gates {
    bool status_conditions;   /* RayClusterStatusConditions, default on */
    bool multi_host_indexing; /* RayMultiHostIndexing, default on */
    bool job_deletion_policy; /* RayJobDeletionPolicy, default on */
    bool gcs_ft_embedded;     /* GCSFaultToleranceEmbeddedStorage, default off */
    bool mtls;                /* RayClusterMTLS, default off */
    bool network_policy;      /* RayClusterNetworkPolicy, default off */
    bool history_server;      /* RayClusterHistoryServer, default off */
    bool cron_job;            /* RayCronJob (the RayCronJob controller), default off */
};
void raycluster_gates_default(struct raycluster_gates *g);

struct raycluster_credential {
    bool set;
    const char *value;  /* NULL when absent */
    json_t *value_from; /* EnvVarSource or NULL */
};

struct raycluster_gcs_ft {
    bool set;
    const char *backend; /* "redis", "rocksdb" or NULL (= redis) */
    const char *redis_address;
    const char *external_storage_namespace;
    struct raycluster_credential redis_username, redis_password;
    json_t *storage; /* GcsEmbeddedStorage object or NULL */
    const char *storage_claim_name;
    const char *storage_sub_path;
};

struct raycluster_autoscaler_options {
    bool set;
    enum raycluster_autoscaler_version version;
    const char *image, *image_pull_policy, *upscaling_mode;
    json_t *resources, *security_context, *env, *env_from, *volume_mounts, *command, *args;
    struct rc_opt_i32 idle_timeout_seconds;
};

struct raycluster_auth_options {
    bool set;
    const char *mode;        /* "token", "disabled" or NULL */
    const char *secret_name; /* NULL when absent */
    struct rc_opt_bool enable_k8s_token_auth;
};

struct raycluster_head_group {
    json_t *template; /* PodTemplateSpec (object, required) */
    json_t *
        ray_start_params; /* owned reference; an empty object when absent (KubeRay's setDefaults) */
    json_t *resources;    /* string map or NULL */
    json_t *labels;       /* string map or NULL */
    const char *service_type; /* NULL when absent */
    json_t *head_service;     /* Service object or NULL */
    struct rc_opt_bool enable_ingress;
    json_t *ingress_options; /* object or NULL */
};

struct raycluster_worker_group {
    const char *group_name; /* "" when absent */
    struct rc_opt_i32 replicas, min_replicas, max_replicas, idle_timeout_seconds, priority;
    struct rc_opt_i32 num_of_hosts;
    struct rc_opt_bool suspend;
    json_t *ray_start_params; /* owned reference; empty object when absent */
    json_t *resources, *labels;
    json_t *template;          /* PodTemplateSpec (object, required) */
    json_t *workers_to_delete; /* array of strings or NULL */
};

struct raycluster_spec {
    const char *ray_version; /* "" when absent */
    struct rc_opt_bool enable_in_tree_autoscaling;
    struct rc_opt_bool suspend;
    const char *managed_by; /* NULL when absent */
    json_t *head_service_annotations;
    struct raycluster_autoscaler_options autoscaler;
    struct raycluster_gcs_ft gcs_ft;
    struct raycluster_auth_options auth;
    bool upgrade_strategy_set;
    const char *upgrade_strategy_type; /* NULL when absent */
    bool tls_options_set;
    struct rc_opt_bool tls_enabled;
    json_t *network_policy;         /* object or NULL */
    json_t *history_server_options; /* object or NULL */
    struct raycluster_head_group head;
    struct raycluster_worker_group *workers;
    size_t n_workers;
};

struct raycluster_condition {
    char *type, *status, *reason, *message, *last_transition_time;
    int64_t observed_generation;
};

struct raycluster_head_info {
    char *pod_ip, *service_ip, *pod_name, *service_name; /* never NULL ("" when empty) */
};

/* Owns all its memory (see the file comment). Strings are never NULL; "" means absent. */
struct raycluster_status {
    char *state, *reason;
    struct raycluster_condition *conditions;
    size_t n_conditions;
    int32_t ready_worker_replicas, available_worker_replicas, desired_worker_replicas;
    int32_t min_worker_replicas, max_worker_replicas;
    char *desired_cpu, *desired_memory, *desired_gpu, *desired_tpu; /* "0" when absent */
    json_t *endpoints;                                              /* string map, never NULL */
    struct raycluster_head_info head;
    char *last_update_time;         /* "" when absent */
    json_t *state_transition_times; /* state -> time map, NULL when absent */
    int64_t observed_generation;
};

struct raycluster {
    json_t *root; /* owned reference to the whole document */
    struct json_field_objmeta meta;
    struct raycluster_spec spec;
    struct raycluster_status status;
};

/* Parses a RayCluster object. On failure returns KRC_EINVAL (or KRC_ENOMEM) with err naming the
 * object and the field, and leaves nothing to release. The document is referenced, not copied. */
int raycluster_parse(json_t *doc, struct raycluster *rc, struct krc_error *err);
/* raycluster_parse() of a RayClusterSpec embedded in another object (a RayJob's rayClusterSpec, a
 * RayService's rayClusterConfig), named c->ns/c->name with those annotations. Its messages name
 * the embedding object and path: "<kind> ns/name: <path><rest of the RayCluster message>". */
int raycluster_parse_embedded(const struct json_field_ctx *c, json_t *cluster_spec,
                              json_t *annotations, const char *kind, const char *path,
                              struct raycluster *out);
void raycluster_release(struct raycluster *rc);

/* Applies the CRD's structural defaults to a RayCluster document, as the API server does on
 * create/update: workerGroupSpecs[].replicas/minReplicas/priority = 0, maxReplicas = 2147483647,
 * numOfHosts = 1, networkPolicy.mode = DenyAll. Objects read from the API server already have them;
 * this is for manifests read from files. 0 or KRC_ENOMEM; non-object members are left alone. */
int raycluster_apply_schema_defaults(json_t *doc);

/* Derived predicates, exactly as KubeRay's utils. */
bool raycluster_autoscaling_enabled(const struct raycluster *rc);
enum raycluster_creator raycluster_creator(const struct raycluster *rc);
const char *raycluster_creator_name(enum raycluster_creator c);
bool raycluster_gcs_ft_enabled(const struct raycluster *rc);
bool raycluster_gcs_ft_embedded(const struct raycluster *rc);
bool raycluster_auth_enabled(const struct raycluster *rc);
bool raycluster_k8s_auth_enabled(const struct raycluster *rc);
bool raycluster_tls_enabled(const struct raycluster *rc, const struct raycluster_gates *g);
bool raycluster_group_suspended(const struct raycluster_worker_group *g);
/* Annotation value or NULL. */
const char *raycluster_annotation(const struct raycluster *rc, const char *key);
const char *raycluster_label(const struct raycluster *rc, const char *key);

/* Validation (spec §5). Each returns 0 when valid, KRC_EINVAL with KubeRay's exact message in
 * err->msg (no object prefix: the caller builds the event note), or KRC_ENOMEM. err->msg is
 * capped at KRC_ERROR_MSG_MAX; when full is non-NULL it receives the untruncated message. */
int raycluster_validate_metadata(const struct raycluster *rc, struct krc_error *err,
                                 struct krc_strbuf *full);
int raycluster_validate_spec(const struct raycluster *rc, const struct raycluster_gates *g,
                             struct krc_error *err, struct krc_strbuf *full);
int raycluster_validate_upgrade_strategy(const struct raycluster *rc, struct krc_error *err);
int raycluster_validate_status(const struct raycluster *rc, struct krc_error *err);
/* Rule 19 (a warning, not an error): with autoscaler v1, worker groups whose restartPolicy is
 * neither empty nor Never. Returns 1 and fills out with "restartPolicy for worker groups [a, b]
 * should be Never or unset when using autoscaler V1", 0 when there is nothing to warn about, or
 * KRC_ENOMEM. */
int raycluster_autoscaler_v1_warning(const struct raycluster *rc, struct krc_strbuf *out);

/* Status helpers (raycluster_status.c). */
void raycluster_status_init(struct raycluster_status *st);
void raycluster_status_free(struct raycluster_status *st);
/* Parses obj (the "status" member, may be NULL) into st. 0, KRC_EINVAL or KRC_ENOMEM. */
int raycluster_status_parse(const json_t *obj, struct raycluster_status *st, struct krc_error *err);
int raycluster_status_copy(const struct raycluster_status *src, struct raycluster_status *dst);
/* Serializes as KubeRay's JSON encoding does (omitempty fields left out; desired* quantities and
 * head always present). NULL on ENOMEM. */
json_t *raycluster_status_to_json(const struct raycluster_status *st);
/* §9.7: true when a field that triggers a status write differs. */
bool raycluster_status_differs(const struct raycluster_status *a,
                               const struct raycluster_status *b);
const struct raycluster_condition *raycluster_status_condition(const struct raycluster_status *st,
                                                               const char *type);
bool raycluster_status_condition_true(const struct raycluster_status *st, const char *type);
/* meta.SetStatusCondition: appends a new condition with lastTransitionTime = now, or updates an
 * existing one (time changes only with the status; reason and message always overwritten).
 * 0 or KRC_ENOMEM. */
int raycluster_status_set_condition(struct raycluster_status *st, const char *type,
                                    const char *status, const char *reason, const char *message,
                                    const char *now);
void raycluster_status_remove_condition(struct raycluster_status *st, const char *type);
/* Replaces *field with a copy of value. 0 or KRC_ENOMEM. */
int raycluster_status_set_str(char **field, const char *value);

#endif
