/* rayservice.h - the ray.io/v1 RayService type in C: parse, derived values, validation and the
 * status helpers (spec rayservice.md §2, §3.3, §10).
 *
 * Design: the borrowing model of rayjob.h. A parsed struct rayservice keeps one reference to the
 * JSON document it came from; strings and maps point into it. spec.rayClusterConfig is parsed by
 * raycluster_parse() into a full struct raycluster (metadata = the RayService's name, namespace
 * and annotations), so validation reuses the RayCluster rules unchanged (§3.3 rule 5).
 *
 * The status is kept as JSON (`status`, borrowed; NULL when absent): the controller computes a
 * new status object from it and writes it back whole, and only a few members are interpreted
 * (cluster names, conditions), so a typed mirror of every field would only be copied back and
 * forth. rayservice_status_* below are the pure operations on such status objects.
 *
 * Ownership: rayservice_parse() fills a caller-provided struct; rayservice_release() frees what it
 * took. Strings and json_t pointers in it are valid until then. */
#ifndef KRC_API_RAYSERVICE_H
#define KRC_API_RAYSERVICE_H

#include "api/json_field.h"
#include "api/raycluster.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define RAYSERVICE_KIND                    "RayService"
#define RAYSERVICE_FINALIZER               "ray.io/rayservice-finalizer"
#define RAYSERVICE_MAX_NAME_LEN            47 /* 53 - 6 for the "-xxxxx" cluster suffix */
#define RAYSERVICE_DEFAULT_DELETION_DELAY  60 /* seconds (§6.5) */
#define RAYSERVICE_ANNOTATION_INIT_TIMEOUT "ray.io/initializing-timeout"
#define RAYSERVICE_ANNOTATION_HASH         "ray.io/hash-without-replicas-and-workers-to-delete"
#define RAYSERVICE_ANNOTATION_NUM_GROUPS   "ray.io/num-worker-groups"

/* spec.upgradeStrategy.type spellings. */
#define RAYSERVICE_UPGRADE_NEW_CLUSTER "NewCluster"
#define RAYSERVICE_UPGRADE_INCREMENTAL "NewClusterWithIncrementalUpgrade"
#define RAYSERVICE_UPGRADE_NONE        "None"

/* Event reasons of controller validation (§3.3). */
#define RAYSERVICE_EVENT_INVALID_METADATA "InvalidRayServiceMetadata"
#define RAYSERVICE_EVENT_INVALID_SPEC     "InvalidRayServiceSpec"

/* Condition types and reasons (§2.5). */
#define RAYSERVICE_COND_READY              "Ready"
#define RAYSERVICE_COND_UPGRADE            "UpgradeInProgress"
#define RAYSERVICE_COND_SUSPENDING         "Suspending"
#define RAYSERVICE_COND_SUSPENDED          "Suspended"
#define RAYSERVICE_COND_ROLLBACK           "RollbackInProgress"
#define RAYSERVICE_REASON_INITIALIZING     "Initializing"
#define RAYSERVICE_REASON_INIT_TIMEOUT     "InitializingTimeout"
#define RAYSERVICE_REASON_NONZERO_ENDP     "NonZeroServeEndpoints"
#define RAYSERVICE_REASON_ZERO_ENDP        "ZeroServeEndpoints"
#define RAYSERVICE_REASON_VALIDATION       "ValidationFailed"
#define RAYSERVICE_REASON_BOTH_CLUSTERS    "BothActivePendingClustersExist"
#define RAYSERVICE_REASON_NO_PENDING       "NoPendingCluster"
#define RAYSERVICE_REASON_NO_ACTIVE        "NoActiveCluster"
#define RAYSERVICE_REASON_SUSPEND_REQUEST  "SuspendRequested"
#define RAYSERVICE_REASON_SUSPEND_PROGRESS "SuspendInProgress"
#define RAYSERVICE_REASON_SUSPEND_COMPLETE "SuspendComplete"
#define RAYSERVICE_REASON_RESUMED          "RayServiceResumed"
#define RAYSERVICE_SERVICE_STATUS_RUNNING  "Running"

struct rayservice_spec {
    const char *serve_config_v2;              /* "" when absent */
    const char *upgrade_type;                 /* upgradeStrategy.type, NULL when absent */
    json_t *cluster_upgrade_options;          /* borrowed object or NULL [NICHE] */
    struct rc_opt_i32 deletion_delay_seconds; /* rayClusterDeletionDelaySeconds */
    json_t *cluster_config;                   /* borrowed rayClusterConfig object or NULL */
    json_t *serve_service;                    /* borrowed Service template or NULL */
    bool exclude_head_pod_from_serve_svc;
    bool suspend;
    const char *managed_by; /* NULL when absent */
    struct rc_opt_i32 service_unhealthy_threshold, deployment_unhealthy_threshold; /* ignored */
};

struct rayservice {
    json_t *root; /* owned reference to the whole document */
    struct json_field_objmeta meta;
    struct rayservice_spec spec;
    /* The RayCluster over a synthetic document {metadata: {name, namespace, annotations of the
     * RayService}, spec: rayClusterConfig} when cluster_config is present; zeroed otherwise. */
    struct raycluster cluster;
    json_t *status; /* borrowed "status" object or NULL */
};

/* Parses a RayService object. On failure KRC_EINVAL (or KRC_ENOMEM) with err naming the object
 * and the field ("RayService default/x: spec.suspend: expected a boolean, got a string"), and
 * nothing to release. The document is referenced, not copied. */
int rayservice_parse(json_t *doc, struct rayservice *rs, struct krc_error *err);
void rayservice_release(struct rayservice *rs);

/* Derived values (§2.1, §6.3, §6.5). */
bool rayservice_managed_by_kuberay(const struct rayservice *rs);
/* rayClusterDeletionDelaySeconds, or 60 when absent. */
int32_t rayservice_deletion_delay_seconds(const struct rayservice *rs);
/* §6.3 rule 5: whether a hashed cluster-spec change makes a new cluster. env_zero_downtime is
 * the value of ENABLE_ZERO_DOWNTIME (NULL when unset); incremental_gate the
 * RayServiceIncrementalUpgrade gate. */
bool rayservice_zero_downtime_enabled(const struct rayservice *rs, const char *env_zero_downtime,
                                      bool incremental_gate);
const char *rayservice_annotation(const struct rayservice *rs, const char *key);

/* Go's time.ParseDuration: 0 and *ns, or KRC_EINVAL for text Go rejects. */
int rayservice_parse_go_duration(const char *s, int64_t *ns);
/* Appends ns formatted as Go's time.Duration.String ("10s", "10m0s", "1h2m3.5s", "1.5ms"). */
int rayservice_format_go_duration(int64_t ns, struct krc_strbuf *out);
/* The ray.io/initializing-timeout annotation in seconds (§10.4): Go duration or integer
 * seconds. false when absent, empty or invalid (validation reports the latter). */
bool rayservice_initializing_timeout(const struct rayservice *rs, int64_t *ns);

/* Validation (§3.3), first failing rule wins. 0 when valid; KRC_EINVAL with KubeRay's exact
 * message (prefixes included) in err->msg and, when full is non-NULL, untruncated in full; or
 * KRC_ENOMEM. */
int rayservice_validate_metadata(const struct rayservice *rs, struct krc_error *err,
                                 struct krc_strbuf *full);
int rayservice_validate_spec(const struct rayservice *rs, const struct raycluster_gates *g,
                             bool incremental_gate, struct krc_error *err, struct krc_strbuf *full);

/* ---- status objects (rayservice_status.c) ----------------------------------------------- */

/* status.conditions[] entry of that type, or NULL. */
json_t *rayservice_status_condition(const json_t *status, const char *type);
/* True when that condition exists with status "True". */
bool rayservice_status_condition_true(const json_t *status, const char *type);
/* meta.SetStatusCondition on status.conditions (created when absent): lastTransitionTime = now
 * for a new condition or a status change, reason and message always overwritten,
 * observedGeneration = status.observedGeneration. 0 or KRC_ENOMEM. */
int rayservice_status_set_condition(json_t *status, const char *type, const char *cstatus,
                                    const char *reason, const char *message, const char *now);
void rayservice_status_remove_condition(json_t *status, const char *type);
/* activeServiceStatus / pendingServiceStatus .rayClusterName, "" when absent. */
const char *rayservice_status_cluster_name(const json_t *status, bool pending);
/* §5.3: true when a field that triggers a status write differs (serviceStatus,
 * numServeEndpoints, conditions, and per active/pending the cluster name and the application
 * statuses). */
bool rayservice_status_differs(const json_t *a, const json_t *b);

#endif
