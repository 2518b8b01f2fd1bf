/* crd_schema.c - the ray.io CRDs' field tables (RayCluster, RayJob, RayCronJob, RayService) and
 * their YAML renderer. RayJob (and RayService) embeds the RayCluster spec and status nodes
 * (rayClusterSpec, rayClusterStatus) and RayCronJob embeds the RayJob spec (jobTemplate), exactly
 * as KubeRay's Go types nest, so each schema fact is written once.
 *
 * The table is the one place the CRD schema is written down: every field the operator models is
 * typed (with the API server's defaults, enums and CEL rules of spec §2, §2.13), and the
 * Kubernetes types we pass through unchanged (PodTemplateSpec, Service, ResourceRequirements, ...)
 * are KRC_CRD_K8S references. Rendered opaque (the committed default) they are objects with
 * x-kubernetes-preserve-unknown-fields, neither pruned nor validated here (the API server
 * validates the pods we create from them); rendered expanded (hack/gen-crds.sh --expanded) they
 * are the pinned Kubernetes' own schemas (crd_k8s.c), as in KubeRay's CRDs. Regenerate the
 * committed files with hack/gen-crds.sh after editing; `hack/gen-crds.sh --check` (and the unit
 * test test_crd_schema) fail when one is stale.
 *
 * Why a tree of static const nodes rather than builder functions producing jansson objects: the
 * schema is fixed data, so as constants it needs no allocation, no error path per node and no
 * cleanup; it reads as the nested table it is (the shorthands below mirror the Python
 * generator's s(), i32(), strmap(), obj(), ... it replaced); and a node used in several places
 * (the quantity schema, the Redis credential) is one named object, so the renderer can give it a
 * YAML anchor by identity, as PyYAML did, without comparing subtrees.
 *
 * The renderer drives libyaml's emitter (the C library PyYAML's emitter mirrors), with 2-space
 * indentation, width 100, block styles and no document markers, and chooses scalar quoting the
 * way PyYAML's safe_dump did: a string that would read back as another type under YAML 1.1's
 * implicit rules ('True', '0', 'null', ...) is single-quoted, everything else is left to the
 * emitter's plain-scalar analysis. The result is byte-for-byte the file the Python generator
 * wrote. */
#include "api/crd_schema.h"

#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- Table shorthands ------------------------------------------------------------------------ */

#define N_STR(s)  (&(const struct krc_crd_node){.kind = KRC_CRD_STR, .str = (s)})
#define N_INT(n)  (&(const struct krc_crd_node){.kind = KRC_CRD_INT, .num = (n)})
#define N_BOOL(v) (&(const struct krc_crd_node){.kind = KRC_CRD_BOOL, .num = (v)})
#define KV(k, v)                                                                                   \
    {                                                                                              \
        (k), (v)                                                                                   \
    }
#define ENTRIES(...) ((const struct krc_crd_entry[]){__VA_ARGS__, {NULL, NULL}})
#define MAP(...)                                                                                   \
    (&(const struct krc_crd_node){.kind = KRC_CRD_MAP, .entries = ENTRIES(__VA_ARGS__)})
#define EMPTY_MAP                                                                                  \
    (&(const struct krc_crd_node){.kind = KRC_CRD_MAP,                                             \
                                  .entries = (const struct krc_crd_entry[]){{NULL, NULL}}})
#define SEQ(...)                                                                                   \
    (&(const struct krc_crd_node){                                                                 \
        .kind = KRC_CRD_SEQ, .items = (const struct krc_crd_node *const[]){__VA_ARGS__, NULL}})
/* A named node referenced from several places (anchored once, aliased after). */
#define SHARED_MAP(name, ...)                                                                      \
    static const struct krc_crd_node name = {                                                      \
        .kind = KRC_CRD_MAP, .shared = true, .entries = ENTRIES(__VA_ARGS__)}
/* A named node referenced once (a top-level piece of the table, for readability). */
#define NAMED_MAP(name, ...)                                                                       \
    static const struct krc_crd_node name = {.kind = KRC_CRD_MAP, .entries = ENTRIES(__VA_ARGS__)}

#define T(type) KV("type", N_STR(type))
#define STRING  MAP(T("string"))
/* A string with more keywords (enum, default, format, ...) after its type. */
#define STRING_WITH(...) MAP(T("string"), __VA_ARGS__)
#define ENUM(...)        KV("enum", SEQ(__VA_ARGS__))
#define BOOLEAN          MAP(T("boolean"))
#define I32              MAP(T("integer"), KV("format", N_STR("int32")))
#define I32_DEFAULT(n)   MAP(T("integer"), KV("format", N_STR("int32")), KV("default", N_INT(n)))
#define I64              MAP(T("integer"), KV("format", N_STR("int64")))
#define STRMAP           MAP(T("object"), KV("additionalProperties", STRING))
#define STRLIST          MAP(T("array"), KV("items", STRING))
/* An embedded Kubernetes type (see KRC_CRD_K8S), and a list of them. */
#define K8S(def)      (&(const struct krc_crd_node){.kind = KRC_CRD_K8S, .str = "io.k8s." def})
#define K8S_LIST(def) MAP(T("array"), KV("items", K8S(def)))
#define POD_TEMPLATE  K8S("api.core.v1.PodTemplateSpec")
/* An object with properties, and one with properties and a required list. */
#define OBJ(...) MAP(T("object"), KV("properties", MAP(__VA_ARGS__)))
#define OBJ_REQ(required, ...)                                                                     \
    MAP(T("object"), KV("properties", MAP(__VA_ARGS__)), KV("required", required))
#define VALIDATION(rule, message) MAP(KV("rule", N_STR(rule)), KV("message", N_STR(message)))

/* ---- The table ------------------------------------------------------------------------------- */

SHARED_MAP(quantity, KV("anyOf", SEQ(MAP(T("integer")), MAP(T("string")))),
           KV("pattern",
              N_STR("^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
                    "([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$")),
           KV("x-kubernetes-int-or-string", N_BOOL(1)));

SHARED_MAP(credential, T("object"),
           KV("properties",
              MAP(KV("value", STRING), KV("valueFrom", K8S("api.core.v1.EnvVarSource")))));

/* networkPolicy's head, worker and workerGroups[] share their rule lists. */
SHARED_MAP(ingress_rules, T("array"),
           KV("items", K8S("api.networking.v1.NetworkPolicyIngressRule")));
SHARED_MAP(egress_rules, T("array"), KV("items", K8S("api.networking.v1.NetworkPolicyEgressRule")));

NAMED_MAP(head_group, T("object"),
          KV("properties",
             MAP(KV("template", POD_TEMPLATE), KV("rayStartParams", STRMAP),
                 KV("serviceType", STRING), KV("headService", K8S("api.core.v1.Service")),
                 KV("enableIngress", BOOLEAN),
                 KV("ingressOptions",
                    OBJ(KV("host", STRING), KV("path", STRING),
                        KV("pathType", STRING_WITH(ENUM(N_STR("Exact"), N_STR("Prefix"),
                                                        N_STR("ImplementationSpecific")))),
                        KV("tls", K8S_LIST("api.networking.v1.IngressTLS")))),
                 KV("resources", STRMAP), KV("labels", STRMAP))),
          KV("required", SEQ(N_STR("template"))));

NAMED_MAP(worker_group, T("object"),
          KV("properties",
             MAP(KV("groupName", STRING), KV("replicas", I32_DEFAULT(0)),
                 KV("minReplicas", I32_DEFAULT(0)), KV("maxReplicas", I32_DEFAULT(2147483647)),
                 KV("numOfHosts", I32_DEFAULT(1)), KV("rayStartParams", STRMAP),
                 KV("template", POD_TEMPLATE),
                 KV("scaleStrategy", OBJ(KV("workersToDelete", STRLIST))), KV("resources", STRMAP),
                 KV("labels", STRMAP), KV("idleTimeoutSeconds", I32),
                 KV("priority", I32_DEFAULT(0)), KV("suspend", BOOLEAN))),
          KV("required", SEQ(N_STR("groupName"), N_STR("maxReplicas"), N_STR("minReplicas"),
                             N_STR("template"))));

NAMED_MAP(autoscaler_options, T("object"),
          KV("properties",
             MAP(KV("version", STRING_WITH(ENUM(N_STR("v1"), N_STR("v2")))), KV("image", STRING),
                 KV("imagePullPolicy", STRING),
                 KV("resources", K8S("api.core.v1.ResourceRequirements")),
                 KV("securityContext", K8S("api.core.v1.SecurityContext")),
                 KV("env", K8S_LIST("api.core.v1.EnvVar")),
                 KV("envFrom", K8S_LIST("api.core.v1.EnvFromSource")),
                 KV("volumeMounts", K8S_LIST("api.core.v1.VolumeMount")), KV("command", STRLIST),
                 KV("args", STRLIST), KV("idleTimeoutSeconds", I32),
                 KV("upscalingMode", STRING_WITH(ENUM(N_STR("Default"), N_STR("Aggressive"),
                                                      N_STR("Conservative")))))));

NAMED_MAP(managed_by, T("string"),
          KV("x-kubernetes-validations",
             SEQ(VALIDATION("self == oldSelf", "the managedBy field is immutable"),
                 VALIDATION("self in ['ray.io/kuberay-operator', 'kueue.x-k8s.io/multikueue']",
                            "the managedBy field value must be either 'ray.io/kuberay-operator' "
                            "or 'kueue.x-k8s.io/multikueue'"))));

NAMED_MAP(gcs_ft_options, T("object"),
          KV("properties",
             MAP(KV("backend", STRING_WITH(ENUM(N_STR("redis"), N_STR("rocksdb")),
                                           KV("x-kubernetes-validations",
                                              SEQ(VALIDATION("self == oldSelf",
                                                             "gcsFaultToleranceOptions.backend is "
                                                             "immutable"))))),
                 KV("redisAddress", STRING), KV("redisUsername", &credential),
                 KV("redisPassword", &credential), KV("externalStorageNamespace", STRING),
                 KV("storage", OBJ(KV("claimName", STRING), KV("size", &quantity),
                                   KV("storageClassName", STRING), KV("accessModes", STRLIST),
                                   KV("subPath", STRING),
                                   KV("deletionPolicy", STRING_WITH(ENUM(N_STR("DeleteWithCluster"),
                                                                         N_STR("Retain")))))))));

NAMED_MAP(
    network_policy, T("object"),
    KV("properties",
       MAP(KV("mode",
              STRING_WITH(ENUM(N_STR("DenyAll"), N_STR("DenyAllIngress"), N_STR("DenyAllEgress")),
                          KV("default", N_STR("DenyAll")))),
           KV("head", OBJ(KV("ingressRules", &ingress_rules), KV("egressRules", &egress_rules))),
           KV("worker", OBJ(KV("ingressRules", &ingress_rules), KV("egressRules", &egress_rules))),
           KV("workerGroups",
              MAP(T("array"), KV("x-kubernetes-list-type", N_STR("map")),
                  KV("x-kubernetes-list-map-keys", SEQ(N_STR("groupName"))),
                  KV("items", OBJ_REQ(SEQ(N_STR("groupName")), KV("groupName", STRING),
                                      KV("ingressRules", &ingress_rules),
                                      KV("egressRules", &egress_rules))))))));

NAMED_MAP(
    spec, T("object"),
    KV("properties",
       MAP(KV("headGroupSpec", &head_group),
           KV("workerGroupSpecs", MAP(T("array"), KV("items", &worker_group))),
           KV("rayVersion", STRING), KV("enableInTreeAutoscaling", BOOLEAN),
           KV("autoscalerOptions", &autoscaler_options), KV("suspend", BOOLEAN),
           KV("managedBy", &managed_by), KV("headServiceAnnotations", STRMAP),
           KV("gcsFaultToleranceOptions", &gcs_ft_options),
           KV("upgradeStrategy",
              OBJ(KV("type", STRING_WITH(ENUM(N_STR("Recreate"), N_STR("None")))))),
           KV("authOptions", OBJ(KV("mode", STRING_WITH(ENUM(N_STR("disabled"), N_STR("token")))),
                                 KV("secretName", STRING), KV("enableK8sTokenAuth", BOOLEAN))),
           KV("tlsOptions", OBJ(KV("enabled", BOOLEAN))), KV("networkPolicy", &network_policy),
           KV("historyServerOptions",
              OBJ(KV("collectorOptions",
                     OBJ(KV("image", STRING), KV("imagePullPolicy", STRING),
                         KV("resources", K8S("api.core.v1.ResourceRequirements")),
                         KV("env", K8S_LIST("api.core.v1.EnvVar")))))))),
    KV("required", SEQ(N_STR("headGroupSpec"))));

/* metav1.Condition's type: an optional DNS subdomain prefix and a name. */
#define CONDITION_TYPE_PATTERN                                                                     \
    "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"                        \
    "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"

NAMED_MAP(condition, T("object"),
          KV("properties",
             MAP(KV("type", STRING_WITH(KV("maxLength", N_INT(316)),
                                        KV("pattern", N_STR(CONDITION_TYPE_PATTERN)))),
                 KV("status", STRING_WITH(ENUM(N_STR("True"), N_STR("False"), N_STR("Unknown")))),
                 KV("observedGeneration",
                    MAP(T("integer"), KV("format", N_STR("int64")), KV("minimum", N_INT(0)))),
                 KV("lastTransitionTime", STRING_WITH(KV("format", N_STR("date-time")))),
                 KV("reason",
                    STRING_WITH(KV("maxLength", N_INT(1024)), KV("minLength", N_INT(1)),
                                KV("pattern", N_STR("^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")))),
                 KV("message", STRING_WITH(KV("maxLength", N_INT(32768)))))),
          KV("required", SEQ(N_STR("lastTransitionTime"), N_STR("message"), N_STR("reason"),
                             N_STR("status"), N_STR("type"))));

NAMED_MAP(status, T("object"),
          KV("properties",
             MAP(KV("state", STRING), KV("reason", STRING),
                 KV("conditions", MAP(T("array"), KV("items", &condition),
                                      KV("x-kubernetes-list-type", N_STR("map")),
                                      KV("x-kubernetes-list-map-keys", SEQ(N_STR("type"))))),
                 KV("readyWorkerReplicas", I32), KV("availableWorkerReplicas", I32),
                 KV("desiredWorkerReplicas", I32), KV("minWorkerReplicas", I32),
                 KV("maxWorkerReplicas", I32), KV("desiredCPU", &quantity),
                 KV("desiredMemory", &quantity), KV("desiredGPU", &quantity),
                 KV("desiredTPU", &quantity), KV("endpoints", STRMAP),
                 KV("head", OBJ(KV("podIP", STRING), KV("podName", STRING), KV("serviceIP", STRING),
                                KV("serviceName", STRING))),
                 KV("lastUpdateTime",
                    STRING_WITH(KV("format", N_STR("date-time")), KV("nullable", N_BOOL(1)))),
                 KV("stateTransitionTimes",
                    MAP(T("object"),
                        KV("additionalProperties", STRING_WITH(KV("format", N_STR("date-time")))))),
                 KV("observedGeneration", I64))));

/* kubectl get columns: name, type, JSON path; PRIO adds priority (shown only with -o wide). */
#define COLUMN(name, type, path)                                                                   \
    MAP(KV("name", N_STR(name)), KV("type", N_STR(type)), KV("jsonPath", N_STR(path)))
#define COLUMN_PRIO(name, type, path, prio)                                                        \
    MAP(KV("name", N_STR(name)), KV("type", N_STR(type)), KV("jsonPath", N_STR(path)),             \
        KV("priority", N_INT(prio)))

#define PRINTER_COLUMNS                                                                            \
    SEQ(COLUMN("desired workers", "integer", ".status.desiredWorkerReplicas"),                     \
        COLUMN("available workers", "integer", ".status.availableWorkerReplicas"),                 \
        COLUMN("cpus", "string", ".status.desiredCPU"),                                            \
        COLUMN("memory", "string", ".status.desiredMemory"),                                       \
        COLUMN("gpus", "string", ".status.desiredGPU"),                                            \
        COLUMN_PRIO("tpus", "string", ".status.desiredTPU", 1),                                    \
        COLUMN("status", "string", ".status.state"),                                               \
        COLUMN("age", "date", ".metadata.creationTimestamp"),                                      \
        COLUMN_PRIO("head pod IP", "string", ".status.head.podIP", 1),                             \
        COLUMN_PRIO("head service IP", "string", ".status.head.serviceIP", 1))

/* The frame every CRD shares: group ray.io, names, Namespaced scope, the given versions. */
#define CRD_OBJECT(crd_name_, kind_, list_kind_, plural_, singular_, versions_)                    \
    KV("apiVersion", N_STR("apiextensions.k8s.io/v1")),                                            \
        KV("kind", N_STR("CustomResourceDefinition")),                                             \
        KV("metadata", MAP(KV("name", N_STR(crd_name_)))),                                         \
        KV("spec",                                                                                 \
           MAP(KV("group", N_STR("ray.io")),                                                       \
               KV("names", MAP(KV("kind", N_STR(kind_)), KV("listKind", N_STR(list_kind_)),        \
                               KV("plural", N_STR(plural_)), KV("singular", N_STR(singular_)),     \
                               KV("categories", SEQ(N_STR("all"))))),                              \
               KV("scope", N_STR("Namespaced")), KV("versions", versions_)))

/* The object schema of one version: apiVersion, kind, metadata, spec, status. */
#define OBJECT_SCHEMA(spec_node_, status_node_)                                                    \
    MAP(KV("openAPIV3Schema",                                                                      \
           OBJ(KV("apiVersion", STRING), KV("kind", STRING), KV("metadata", MAP(T("object"))),     \
               KV("spec", spec_node_), KV("status", status_node_))))

/* The served and stored version v1, with the status subresource and printer columns. */
#define V1_VERSION(columns_, spec_node_, status_node_)                                             \
    MAP(KV("name", N_STR("v1")), KV("served", N_BOOL(1)), KV("storage", N_BOOL(1)),                \
        KV("subresources", MAP(KV("status", EMPTY_MAP))),                                          \
        KV("additionalPrinterColumns", columns_),                                                  \
        KV("schema", OBJECT_SCHEMA(spec_node_, status_node_)))

/* ---- RayJob (spec rayjob.md §1.1, §2, §3.1) ------------------------------------------------- */

#define DATE_TIME STRING_WITH(KV("format", N_STR("date-time")))
#define NUMBER    MAP(T("number"))
#define DELETION_POLICY                                                                            \
    STRING_WITH(ENUM(N_STR("DeleteCluster"), N_STR("DeleteWorkers"), N_STR("DeleteSelf"),          \
                     N_STR("DeleteNone")))

NAMED_MAP(deletion_condition, T("object"),
          KV("properties",
             MAP(KV("jobStatus", STRING_WITH(ENUM(N_STR("SUCCEEDED"), N_STR("FAILED")))),
                 KV("jobDeploymentStatus", STRING_WITH(ENUM(N_STR("Failed")))),
                 KV("ttlSeconds", MAP(T("integer"), KV("format", N_STR("int32")),
                                      KV("default", N_INT(0)), KV("minimum", N_INT(0)))))),
          KV("x-kubernetes-validations",
             SEQ(VALIDATION("!(has(self.jobStatus) && has(self.jobDeploymentStatus))",
                            "JobStatus and JobDeploymentStatus cannot be used together within "
                            "the same deletion condition."),
                 VALIDATION("has(self.jobStatus) || has(self.jobDeploymentStatus)",
                            "the deletion condition requires either the JobStatus or the "
                            "JobDeploymentStatus field."))));

NAMED_MAP(
    deletion_strategy, T("object"),
    KV("properties",
       MAP(KV("onSuccess", OBJ(KV("policy", DELETION_POLICY))),
           KV("onFailure", OBJ(KV("policy", DELETION_POLICY))),
           KV("deletionRules", MAP(T("array"), KV("minItems", N_INT(1)),
                                   KV("x-kubernetes-list-type", N_STR("atomic")),
                                   KV("items", OBJ_REQ(SEQ(N_STR("condition"), N_STR("policy")),
                                                       KV("policy", DELETION_POLICY),
                                                       KV("condition", &deletion_condition))))))),
    KV("x-kubernetes-validations",
       SEQ(VALIDATION("!((has(self.onSuccess) || has(self.onFailure)) && "
                      "has(self.deletionRules))",
                      "legacy policies (onSuccess/onFailure) and deletionRules cannot be used "
                      "together within the same deletionStrategy"),
           VALIDATION("((has(self.onSuccess) && has(self.onFailure)) || "
                      "has(self.deletionRules))",
                      "deletionStrategy requires either BOTH onSuccess and onFailure, OR the "
                      "deletionRules field (cannot be empty)"))));

/* RayJobSpec; also RayCronJob's spec.jobTemplate. rayClusterSpec is the RayCluster spec node. */
NAMED_MAP(rayjob_spec, T("object"),
          KV("properties",
             MAP(KV("entrypoint", STRING), KV("rayClusterSpec", &spec),
                 KV("clusterSelector", STRMAP),
                 KV("submissionMode", STRING_WITH(KV("default", N_STR("K8sJobMode")))),
                 KV("jobId", STRING), KV("runtimeEnvYAML", STRING), KV("metadata", STRMAP),
                 KV("entrypointNumCpus", NUMBER), KV("entrypointNumGpus", NUMBER),
                 KV("entrypointResources", STRING), KV("shutdownAfterJobFinishes", BOOLEAN),
                 KV("ttlSecondsAfterFinished", I32_DEFAULT(0)), KV("activeDeadlineSeconds", I32),
                 KV("preRunningDeadlineSeconds",
                    MAP(T("integer"), KV("format", N_STR("int32")), KV("minimum", N_INT(1)))),
                 KV("backoffLimit", I32_DEFAULT(0)), KV("submitterPodTemplate", POD_TEMPLATE),
                 KV("submitterConfig", OBJ(KV("backoffLimit", I32))), KV("suspend", BOOLEAN),
                 KV("managedBy", &managed_by), KV("deletionStrategy", &deletion_strategy))));

NAMED_MAP(rayjob_status, T("object"),
          KV("properties",
             MAP(KV("jobStatus", STRING), KV("jobDeploymentStatus", STRING), KV("jobId", STRING),
                 KV("rayClusterName", STRING), KV("dashboardURL", STRING), KV("reason", STRING),
                 KV("message", STRING), KV("startTime", DATE_TIME), KV("endTime", DATE_TIME),
                 KV("rayJobInfo", OBJ(KV("startTime", DATE_TIME), KV("endTime", DATE_TIME))),
                 KV("succeeded", I32_DEFAULT(0)), KV("failed", I32_DEFAULT(0)),
                 KV("rayClusterStatus", &status), KV("jobStatusCheckFailureStartTime", DATE_TIME),
                 KV("observedGeneration", I64))));

#define RAYJOB_PRINTER_COLUMNS                                                                     \
    SEQ(COLUMN("job status", "string", ".status.jobStatus"),                                       \
        COLUMN("deployment status", "string", ".status.jobDeploymentStatus"),                      \
        COLUMN("ray cluster name", "string", ".status.rayClusterName"),                            \
        COLUMN("start time", "string", ".status.startTime"),                                       \
        COLUMN("end time", "string", ".status.endTime"),                                           \
        COLUMN("age", "date", ".metadata.creationTimestamp"))

/* The deprecated v1alpha1 RayJob (served, not stored, no conversion webhook): the schema of
 * KubeRay's frozen v1alpha1 types, whose RayCluster spec predates most of v1's fields. */
NAMED_MAP(
    v1alpha1_cluster_spec, T("object"),
    KV("properties",
       MAP(KV("headGroupSpec",
              OBJ_REQ(SEQ(N_STR("rayStartParams"), N_STR("template")), KV("template", POD_TEMPLATE),
                      KV("rayStartParams", STRMAP), KV("serviceType", STRING),
                      KV("headService", K8S("api.core.v1.Service")), KV("enableIngress", BOOLEAN))),
           KV("workerGroupSpecs",
              MAP(T("array"),
                  KV("items",
                     OBJ_REQ(SEQ(N_STR("groupName"), N_STR("maxReplicas"), N_STR("minReplicas"),
                                 N_STR("rayStartParams"), N_STR("template")),
                             KV("groupName", STRING), KV("replicas", I32_DEFAULT(0)),
                             KV("minReplicas", I32_DEFAULT(0)),
                             KV("maxReplicas", I32_DEFAULT(2147483647)),
                             KV("rayStartParams", STRMAP), KV("template", POD_TEMPLATE),
                             KV("scaleStrategy", OBJ(KV("workersToDelete", STRLIST))))))),
           KV("rayVersion", STRING), KV("enableInTreeAutoscaling", BOOLEAN),
           KV("autoscalerOptions",
              OBJ(KV("image", STRING), KV("imagePullPolicy", STRING),
                  KV("resources", K8S("api.core.v1.ResourceRequirements")),
                  KV("securityContext", K8S("api.core.v1.SecurityContext")),
                  KV("env", K8S_LIST("api.core.v1.EnvVar")),
                  KV("envFrom", K8S_LIST("api.core.v1.EnvFromSource")),
                  KV("volumeMounts", K8S_LIST("api.core.v1.VolumeMount")),
                  KV("idleTimeoutSeconds", I32),
                  KV("upscalingMode", STRING_WITH(ENUM(N_STR("Default"), N_STR("Aggressive"),
                                                       N_STR("Conservative")))))),
           KV("suspend", BOOLEAN), KV("headServiceAnnotations", STRMAP))),
    KV("required", SEQ(N_STR("headGroupSpec"))));

NAMED_MAP(v1alpha1_rayjob_spec, T("object"),
          KV("properties",
             MAP(KV("entrypoint", STRING), KV("rayClusterSpec", &v1alpha1_cluster_spec),
                 KV("clusterSelector", STRMAP), KV("jobId", STRING), KV("runtimeEnvYAML", STRING),
                 KV("metadata", STRMAP), KV("entrypointNumCpus", NUMBER),
                 KV("entrypointNumGpus", NUMBER), KV("entrypointResources", STRING),
                 KV("shutdownAfterJobFinishes", BOOLEAN),
                 KV("ttlSecondsAfterFinished", I32_DEFAULT(0)),
                 KV("submitterPodTemplate", POD_TEMPLATE), KV("suspend", BOOLEAN))),
          KV("required", SEQ(N_STR("entrypoint"))));

NAMED_MAP(v1alpha1_cluster_status, T("object"),
          KV("properties",
             MAP(KV("state", STRING), KV("reason", STRING), KV("readyWorkerReplicas", I32),
                 KV("availableWorkerReplicas", I32), KV("desiredWorkerReplicas", I32),
                 KV("minWorkerReplicas", I32), KV("maxWorkerReplicas", I32),
                 KV("desiredCPU", &quantity), KV("desiredMemory", &quantity),
                 KV("desiredGPU", &quantity), KV("desiredTPU", &quantity), KV("endpoints", STRMAP),
                 KV("head", OBJ(KV("podIP", STRING), KV("serviceIP", STRING))),
                 KV("lastUpdateTime",
                    STRING_WITH(KV("format", N_STR("date-time")), KV("nullable", N_BOOL(1)))),
                 KV("observedGeneration", I64))));

NAMED_MAP(v1alpha1_rayjob_status, T("object"),
          KV("properties",
             MAP(KV("jobStatus", STRING), KV("jobDeploymentStatus", STRING), KV("jobId", STRING),
                 KV("rayClusterName", STRING), KV("dashboardURL", STRING), KV("message", STRING),
                 KV("startTime", DATE_TIME), KV("endTime", DATE_TIME),
                 KV("rayClusterStatus", &v1alpha1_cluster_status), KV("observedGeneration", I64))));

/* The deprecated v1alpha1 of a kind: served, not stored, no conversion webhook. */
#define V1ALPHA1_WARNING(kind)                                                                     \
    "ray.io/v1alpha1 " kind " is deprecated; use ray.io/v1 " kind ". v1alpha1 receives no new "    \
    "fields and will be unavailable in KubeRay 1.9."
#define V1ALPHA1_HEAD(kind)                                                                        \
    KV("name", N_STR("v1alpha1")), KV("served", N_BOOL(1)), KV("storage", N_BOOL(0)),              \
        KV("deprecated", N_BOOL(1)), KV("deprecationWarning", N_STR(V1ALPHA1_WARNING(kind))),      \
        KV("subresources", MAP(KV("status", EMPTY_MAP)))

NAMED_MAP(rayjob_crd,
          CRD_OBJECT("rayjobs.ray.io", "RayJob", "RayJobList", "rayjobs", "rayjob",
                     SEQ(V1_VERSION(RAYJOB_PRINTER_COLUMNS, &rayjob_spec, &rayjob_status),
                         MAP(V1ALPHA1_HEAD("RayJob"),
                             KV("schema",
                                OBJECT_SCHEMA(&v1alpha1_rayjob_spec, &v1alpha1_rayjob_status))))));

/* RayCluster, down here because its v1alpha1 shares nodes with the v1alpha1 RayJob. */
NAMED_MAP(crd, CRD_OBJECT("rayclusters.ray.io", "RayCluster", "RayClusterList", "rayclusters",
                          "raycluster",
                          SEQ(V1_VERSION(PRINTER_COLUMNS, &spec, &status),
                              MAP(V1ALPHA1_HEAD("RayCluster"),
                                  KV("additionalPrinterColumns", PRINTER_COLUMNS),
                                  KV("schema", OBJECT_SCHEMA(&v1alpha1_cluster_spec,
                                                             &v1alpha1_cluster_status))))));

/* ---- RayCronJob (spec rayjob.md §1.2, §12.1) ------------------------------------------------ */

NAMED_MAP(raycronjob_spec, T("object"),
          KV("properties",
             MAP(KV("schedule", STRING), KV("jobTemplate", &rayjob_spec),
                 KV("timeZone", STRING_WITH(KV("minLength", N_INT(1)))), KV("suspend", BOOLEAN))),
          KV("required", SEQ(N_STR("jobTemplate"), N_STR("schedule"))));

#define RAYCRONJOB_PRINTER_COLUMNS                                                                 \
    SEQ(COLUMN("schedule", "string", ".spec.schedule"),                                            \
        COLUMN("timezone", "string", ".spec.timeZone"),                                            \
        COLUMN("last schedule", "date", ".status.lastScheduleTime"),                               \
        COLUMN("age", "date", ".metadata.creationTimestamp"),                                      \
        COLUMN("suspend", "boolean", ".spec.suspend"))

NAMED_MAP(raycronjob_crd, CRD_OBJECT("raycronjobs.ray.io", "RayCronJob", "RayCronJobList",
                                     "raycronjobs", "raycronjob",
                                     SEQ(V1_VERSION(RAYCRONJOB_PRINTER_COLUMNS, &raycronjob_spec,
                                                    OBJ(KV("lastScheduleTime", DATE_TIME))))));

/* ---- RayService (spec rayservice.md §1, §2, §3.1) ------------------------------------------ */

#define RAYSERVICE_I32_MIN0 MAP(T("integer"), KV("format", N_STR("int32")), KV("minimum", N_INT(0)))

NAMED_MAP(
    rayservice_spec, T("object"),
    KV("properties",
       MAP(KV("serviceUnhealthySecondThreshold", I32),
           KV("deploymentUnhealthySecondThreshold", I32), KV("serveConfigV2", STRING),
           KV("upgradeStrategy",
              OBJ(KV("type", STRING),
                  KV("clusterUpgradeOptions",
                     OBJ_REQ(SEQ(N_STR("gatewayClassName"), N_STR("intervalSeconds"),
                                 N_STR("stepSizePercent")),
                             KV("maxSurgePercent", I32_DEFAULT(100)), KV("stepSizePercent", I32),
                             KV("intervalSeconds", I32), KV("gatewayClassName", STRING))))),
           KV("rayClusterDeletionDelaySeconds", RAYSERVICE_I32_MIN0), KV("rayClusterConfig", &spec),
           KV("managedBy", &managed_by), KV("serveService", K8S("api.core.v1.Service")),
           KV("excludeHeadPodFromServeSvc", BOOLEAN), KV("suspend", BOOLEAN))),
    KV("required", SEQ(N_STR("rayClusterConfig"))));

#define RAYSERVICE_APP_STATUSES                                                                    \
    MAP(T("object"),                                                                               \
        KV("additionalProperties",                                                                 \
           OBJ(KV("status", STRING), KV("message", STRING),                                        \
               KV("serveDeploymentStatuses",                                                       \
                  MAP(T("object"), KV("additionalProperties",                                      \
                                      OBJ(KV("status", STRING), KV("message", STRING))))))))

NAMED_MAP(rayservice_service_status, T("object"),
          KV("properties",
             MAP(KV("applicationStatuses", RAYSERVICE_APP_STATUSES), KV("targetCapacity", I32),
                 KV("trafficRoutedPercent", I32), KV("lastTrafficMigratedTime", DATE_TIME),
                 KV("rayClusterName", STRING), KV("rayClusterStatus", &status))));

NAMED_MAP(rayservice_status, T("object"),
          KV("properties",
             MAP(KV("conditions", MAP(T("array"), KV("items", &condition),
                                      KV("x-kubernetes-list-type", N_STR("map")),
                                      KV("x-kubernetes-list-map-keys", SEQ(N_STR("type"))))),
                 KV("lastUpdateTime", DATE_TIME), KV("serviceStatus", STRING),
                 KV("activeServiceStatus", &rayservice_service_status),
                 KV("pendingServiceStatus", &rayservice_service_status),
                 KV("numServeEndpoints", I32), KV("observedGeneration", I64))));

#define RAYSERVICE_PRINTER_COLUMNS                                                                 \
    SEQ(COLUMN("service status", "string", ".status.serviceStatus"),                               \
        COLUMN("num serve endpoints", "string", ".status.numServeEndpoints"))

/* v1alpha1: serveConfigV2, the v1alpha1 cluster spec, serveService and the two thresholds;
 * statuses carry healthLastUpdateTime, no conditions. */
NAMED_MAP(v1alpha1_rayservice_spec, T("object"),
          KV("properties",
             MAP(KV("serviceUnhealthySecondThreshold", I32),
                 KV("deploymentUnhealthySecondThreshold", I32), KV("serveConfigV2", STRING),
                 KV("rayClusterConfig", &v1alpha1_cluster_spec),
                 KV("serveService", K8S("api.core.v1.Service")))));

#define V1ALPHA1_APP_STATUSES                                                                      \
    MAP(T("object"),                                                                               \
        KV("additionalProperties",                                                                 \
           OBJ(KV("status", STRING), KV("message", STRING), KV("healthLastUpdateTime", DATE_TIME), \
               KV("serveDeploymentStatuses",                                                       \
                  MAP(T("object"),                                                                 \
                      KV("additionalProperties", OBJ(KV("status", STRING), KV("message", STRING),  \
                                                     KV("healthLastUpdateTime", DATE_TIME))))))))

NAMED_MAP(v1alpha1_rayservice_service_status, T("object"),
          KV("properties",
             MAP(KV("applicationStatuses", V1ALPHA1_APP_STATUSES), KV("rayClusterName", STRING),
                 KV("rayClusterStatus", &v1alpha1_cluster_status))));

NAMED_MAP(v1alpha1_rayservice_status, T("object"),
          KV("properties", MAP(KV("serviceStatus", STRING),
                               KV("activeServiceStatus", &v1alpha1_rayservice_service_status),
                               KV("pendingServiceStatus", &v1alpha1_rayservice_service_status),
                               KV("lastUpdateTime", DATE_TIME), KV("observedGeneration", I64))));

NAMED_MAP(
    rayservice_crd,
    CRD_OBJECT("rayservices.ray.io", "RayService", "RayServiceList", "rayservices", "rayservice",
               SEQ(V1_VERSION(RAYSERVICE_PRINTER_COLUMNS, &rayservice_spec, &rayservice_status),
                   MAP(V1ALPHA1_HEAD("RayService"),
                       KV("schema", OBJECT_SCHEMA(&v1alpha1_rayservice_spec,
                                                  &v1alpha1_rayservice_status))))));

const struct krc_crd_node *krc_crd_raycluster(void)
{
    return &crd;
}

const struct krc_crd_node *krc_crd_rayjob(void)
{
    return &rayjob_crd;
}

const struct krc_crd_node *krc_crd_raycronjob(void)
{
    return &raycronjob_crd;
}

const struct krc_crd_node *krc_crd_rayservice(void)
{
    return &rayservice_crd;
}

static const struct krc_crd_file crd_files[KRC_CRD_COUNT] = {
    [KRC_CRD_RAYCLUSTER] = {KRC_CRD_RAYCLUSTER_PATH, &crd},
    [KRC_CRD_RAYJOB] = {KRC_CRD_RAYJOB_PATH, &rayjob_crd},
    [KRC_CRD_RAYCRONJOB] = {KRC_CRD_RAYCRONJOB_PATH, &raycronjob_crd},
    [KRC_CRD_RAYSERVICE] = {KRC_CRD_RAYSERVICE_PATH, &rayservice_crd},
};

const struct krc_crd_file *krc_crd_file(enum krc_crd_id id)
{
    return (unsigned)id < KRC_CRD_COUNT ? &crd_files[id] : NULL;
}

/* ---- Lookups --------------------------------------------------------------------------------- */

size_t krc_crd_len(const struct krc_crd_node *node)
{
    size_t n = 0;
    if (node && node->kind == KRC_CRD_MAP)
        while (node->entries[n].key)
            n++;
    else if (node && node->kind == KRC_CRD_SEQ)
        while (node->items[n])
            n++;
    return n;
}

const struct krc_crd_node *krc_crd_get(const struct krc_crd_node *node, const char *key)
{
    if (!node || node->kind != KRC_CRD_MAP || !key)
        return NULL;
    for (const struct krc_crd_entry *e = node->entries; e->key; e++)
        if (strcmp(e->key, key) == 0)
            return e->value;
    return NULL;
}

const struct krc_crd_node *krc_crd_path(const struct krc_crd_node *node, const char *dotted)
{
    char step[128];
    const char *p = dotted;
    while (node && p && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || len >= sizeof(step))
            return NULL;
        memcpy(step, p, len);
        step[len] = '\0';
        p = dot ? dot + 1 : NULL;
        if (node->kind == KRC_CRD_SEQ) {
            char *end;
            unsigned long idx = strtoul(step, &end, 10);
            if (*end || step[0] < '0' || step[0] > '9' || idx >= krc_crd_len(node))
                return NULL;
            node = node->items[idx];
        } else {
            node = krc_crd_get(node, step);
        }
    }
    return node;
}

/* ---- Rendering ------------------------------------------------------------------------------- */

#define CRD_HEADER                                                                                 \
    "# Generated by hack/gen-crds.sh from src/api/crd_schema.c; do not edit by hand.\n---\n"
/* The expanded form names its second source; krc_crd_text_is_expanded() looks for this. */
#define CRD_EXPANDED_MARK " and the Kubernetes OpenAPI"
#define CRD_HEADER_EXPANDED                                                                        \
    "# Generated by hack/gen-crds.sh from src/api/crd_schema.c" CRD_EXPANDED_MARK                  \
    "; do not edit by hand.\n---\n"
#define MAX_SHARED 32

/* YAML 1.1 implicit resolvers for plain scalars (PyYAML's Resolver, in POSIX ERE): a string that
 * matches one reads back as a bool, int, float, null, timestamp, merge key or value key, so it
 * must be quoted to stay a string. */
static const char *const implicit_patterns[] = {
    "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    "^([-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"
    "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
    "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
    "^(<<)$",
    "^(~|null|Null|NULL|)$",
    "^([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
    "|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]"
    "(\\.[0-9]*)?([ \t]*(Z|[-+][0-9][0-9]?(:[0-9][0-9])?))?)$",
    "^(=)$",
};
#define N_IMPLICIT (sizeof(implicit_patterns) / sizeof(implicit_patterns[0]))

struct shared_use {
    const struct krc_crd_node *node;
    int seen;     /* references found by the first pass */
    int anchor;   /* 0 = none (referenced once), else the N of idNNN */
    bool written; /* emitted in full already: later references are aliases */
};

struct render {
    yaml_emitter_t emitter;
    struct krc_strbuf *out;
    int write_rc;
    regex_t implicit[N_IMPLICIT];
    size_t n_compiled;
    struct shared_use shared[MAX_SHARED];
    size_t n_shared;
    int next_anchor;
    const json_t *k8s; /* OpenAPI schemas for KRC_CRD_K8S nodes, or NULL (opaque) */
    struct krc_error *err;
};

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
    struct render *r = data;
    int rc = krc_strbuf_add(r->out, buffer, size);
    if (rc) {
        r->write_rc = rc;
        return 0;
    }
    return 1;
}

static struct shared_use *find_shared(struct render *r, const struct krc_crd_node *node)
{
    for (size_t i = 0; i < r->n_shared; i++)
        if (r->shared[i].node == node)
            return &r->shared[i];
    return NULL;
}

/* First pass, in emission order: a shared node gets an anchor when its second reference is
 * reached, so anchors are numbered in the order PyYAML's serializer numbered them. */
static int assign_anchors(struct render *r, const struct krc_crd_node *node)
{
    if (node->shared) {
        struct shared_use *u = find_shared(r, node);
        if (!u) {
            if (r->n_shared == MAX_SHARED)
                return krc_error_set(r->err, KRC_EINVAL, "crd: more than %d shared nodes",
                                     MAX_SHARED);
            u = &r->shared[r->n_shared++];
            *u = (struct shared_use){.node = node};
        }
        if (++u->seen == 2)
            u->anchor = ++r->next_anchor;
        if (u->seen > 1)
            return 0;
    }
    int rc = 0;
    if (node->kind == KRC_CRD_MAP)
        for (const struct krc_crd_entry *e = node->entries; e->key && !rc; e++)
            rc = assign_anchors(r, e->value);
    else if (node->kind == KRC_CRD_SEQ)
        for (const struct krc_crd_node *const *it = node->items; *it && !rc; it++)
            rc = assign_anchors(r, *it);
    return rc;
}

static int emit(struct render *r, yaml_event_t *ev, int init_ok)
{
    if (!init_ok)
        return krc_error_set(r->err, KRC_ENOMEM, "crd: cannot build a YAML event");
    if (!yaml_emitter_emit(&r->emitter, ev)) {
        if (r->write_rc)
            return krc_error_set(r->err, r->write_rc, "crd: out of memory writing YAML");
        return krc_error_set(r->err, KRC_EINVAL, "crd: YAML emitter: %s",
                             r->emitter.problem ? r->emitter.problem : "unknown error");
    }
    return 0;
}

static bool resolves_implicitly(const struct render *r, const char *s)
{
    for (size_t i = 0; i < N_IMPLICIT; i++)
        if (regexec(&r->implicit[i], s, 0, NULL, 0) == 0)
            return true;
    return false;
}

static int emit_scalar(struct render *r, const char *value, bool is_string, yaml_char_t *anchor)
{
    yaml_event_t ev;
    /* Strings that would read back as another type lose plain_implicit, which makes the emitter
     * quote them; numbers and booleans are plain and read back as themselves. */
    int plain_implicit = is_string ? !resolves_implicitly(r, value) : 1;
    int ok =
        yaml_scalar_event_initialize(&ev, anchor, NULL, (yaml_char_t *)(uintptr_t)value,
                                     (int)strlen(value), plain_implicit, 1, YAML_ANY_SCALAR_STYLE);
    return emit(r, &ev, ok);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A JSON schema tree as YAML, object keys sorted (controller-gen's order). */
static int emit_json(struct render *r, const json_t *v)
{
    yaml_event_t ev;
    char num[64];
    int rc = 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        const char *k;
        json_t *x;
        if (!keys)
            return krc_error_set(r->err, KRC_ENOMEM, "crd: out of memory");
        json_object_foreach((json_t *)(uintptr_t)v, k, x) keys[i++] = k;
        qsort(keys, n, sizeof(*keys), cmp_key);
        rc =
            emit(r, &ev,
                 yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
        for (i = 0; i < n && !rc; i++)
            if (!(rc = emit_scalar(r, keys[i], true, NULL)))
                rc = emit_json(r, json_object_get(v, keys[i]));
        free(keys);
        return rc ? rc : emit(r, &ev, yaml_mapping_end_event_initialize(&ev));
    }
    case JSON_ARRAY: {
        if ((rc = emit(r, &ev,
                       yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                            YAML_BLOCK_SEQUENCE_STYLE))))
            return rc;
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if ((rc = emit_json(r, x)))
                return rc;
        }
        return emit(r, &ev, yaml_sequence_end_event_initialize(&ev));
    }
    case JSON_STRING:
        return emit_scalar(r, json_string_value(v), true, NULL);
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return emit_scalar(r, num, false, NULL);
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        return emit_scalar(r, num, false, NULL);
    case JSON_TRUE:
        return emit_scalar(r, "true", false, NULL);
    case JSON_FALSE:
        return emit_scalar(r, "false", false, NULL);
    default:
        return emit_scalar(r, "null", false, NULL);
    }
}

/* An embedded Kubernetes type: its full schema, or an opaque object without the OpenAPI. */
static int emit_k8s(struct render *r, const struct krc_crd_node *node)
{
    yaml_event_t ev;
    int rc;
    if (!r->k8s) {
        if ((rc = emit(r, &ev,
                       yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                           YAML_BLOCK_MAPPING_STYLE))) ||
            (rc = emit_scalar(r, "type", true, NULL)) ||
            (rc = emit_scalar(r, "object", true, NULL)) ||
            (rc = emit_scalar(r, "x-kubernetes-preserve-unknown-fields", true, NULL)) ||
            (rc = emit_scalar(r, "true", false, NULL)))
            return rc;
        return emit(r, &ev, yaml_mapping_end_event_initialize(&ev));
    }
    json_t *schema = NULL;
    if ((rc = krc_crd_k8s_schema(r->k8s, node->str, &schema, r->err)))
        return rc;
    rc = emit_json(r, schema);
    json_decref(schema);
    return rc;
}

static int emit_node(struct render *r, const struct krc_crd_node *node)
{
    yaml_event_t ev;
    char anchor_buf[16];
    yaml_char_t *anchor = NULL;
    if (node->shared) {
        struct shared_use *u = find_shared(r, node);
        if (u && u->anchor) {
            snprintf(anchor_buf, sizeof(anchor_buf), "id%03d", u->anchor);
            if (u->written)
                return emit(r, &ev, yaml_alias_event_initialize(&ev, (yaml_char_t *)anchor_buf));
            u->written = true;
            anchor = (yaml_char_t *)anchor_buf;
        }
    }
    char num[32];
    int rc = 0;
    switch (node->kind) {
    case KRC_CRD_STR:
        return emit_scalar(r, node->str, true, anchor);
    case KRC_CRD_INT:
        snprintf(num, sizeof(num), "%lld", node->num);
        return emit_scalar(r, num, false, anchor);
    case KRC_CRD_BOOL:
        return emit_scalar(r, node->num ? "true" : "false", false, anchor);
    case KRC_CRD_MAP:
        if ((rc = emit(r, &ev,
                       yaml_mapping_start_event_initialize(&ev, anchor, NULL, 1,
                                                           YAML_BLOCK_MAPPING_STYLE))))
            return rc;
        for (const struct krc_crd_entry *e = node->entries; e->key && !rc; e++)
            if (!(rc = emit_scalar(r, e->key, true, NULL)))
                rc = emit_node(r, e->value);
        return rc ? rc : emit(r, &ev, yaml_mapping_end_event_initialize(&ev));
    case KRC_CRD_SEQ:
        if ((rc = emit(r, &ev,
                       yaml_sequence_start_event_initialize(&ev, anchor, NULL, 1,
                                                            YAML_BLOCK_SEQUENCE_STYLE))))
            return rc;
        for (const struct krc_crd_node *const *it = node->items; *it && !rc; it++)
            rc = emit_node(r, *it);
        return rc ? rc : emit(r, &ev, yaml_sequence_end_event_initialize(&ev));
    case KRC_CRD_K8S:
        return emit_k8s(r, node);
    }
    return krc_error_set(r->err, KRC_EINVAL, "crd: node of unknown kind %d", (int)node->kind);
}

static int render_document(struct render *r, const struct krc_crd_node *root)
{
    yaml_event_t ev;
    int rc;
    if ((rc = emit(r, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))) ||
        (rc = emit(r, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1))) ||
        (rc = emit_node(r, root)) ||
        (rc = emit(r, &ev, yaml_document_end_event_initialize(&ev, 1))) ||
        (rc = emit(r, &ev, yaml_stream_end_event_initialize(&ev))))
        return rc;
    if (!yaml_emitter_flush(&r->emitter))
        return krc_error_set(r->err, r->write_rc ? r->write_rc : KRC_EIO,
                             "crd: cannot flush the YAML emitter");
    return 0;
}

static int render_yaml(const struct krc_crd_node *root, const json_t *k8s, struct krc_strbuf *out,
                       struct krc_error *err)
{
    struct render *r = calloc(1, sizeof(*r));
    if (!r)
        return krc_error_set(err, KRC_ENOMEM, "crd: out of memory");
    r->out = out;
    r->err = err;
    r->k8s = k8s;
    int rc = 0;
    for (; r->n_compiled < N_IMPLICIT; r->n_compiled++) {
        if (regcomp(&r->implicit[r->n_compiled], implicit_patterns[r->n_compiled],
                    REG_EXTENDED | REG_NOSUB)) {
            rc = krc_error_set(err, KRC_EINVAL, "crd: cannot compile resolver pattern %zu",
                               r->n_compiled);
            goto out;
        }
    }
    if (!yaml_emitter_initialize(&r->emitter)) {
        rc = krc_error_set(err, KRC_ENOMEM, "crd: cannot initialise the YAML emitter");
        goto out;
    }
    yaml_emitter_set_output(&r->emitter, write_handler, r);
    yaml_emitter_set_indent(&r->emitter, 2);
    yaml_emitter_set_width(&r->emitter, 100);
    yaml_emitter_set_unicode(&r->emitter, 0);
    yaml_emitter_set_break(&r->emitter, YAML_LN_BREAK);

    size_t start = out->len;
    if (!(rc = assign_anchors(r, root)))
        rc = render_document(r, root);
    yaml_emitter_delete(&r->emitter);
    if (rc && out->len > start) {
        out->len = start;
        out->buf[start] = '\0';
    }
out:
    for (size_t i = 0; i < r->n_compiled; i++)
        regfree(&r->implicit[i]);
    free(r);
    if (rc == KRC_ENOMEM && err && !err->msg[0])
        krc_error_set(err, rc, "crd: out of memory");
    return rc;
}

int krc_crd_render_yaml(const struct krc_crd_node *root, struct krc_strbuf *out,
                        struct krc_error *err)
{
    return render_yaml(root, NULL, out, err);
}

bool krc_crd_text_is_expanded(const char *text)
{
    const char *nl = strchr(text, '\n');
    const char *mark = strstr(text, CRD_EXPANDED_MARK);
    return mark && (!nl || mark < nl);
}

int krc_crd_render(struct krc_strbuf *out, struct krc_error *err)
{
    return krc_crd_render_file(KRC_CRD_RAYCLUSTER, out, err);
}

int krc_crd_render_file(enum krc_crd_id id, struct krc_strbuf *out, struct krc_error *err)
{
    return krc_crd_render_file_k8s(id, NULL, out, err);
}

int krc_crd_render_file_k8s(enum krc_crd_id id, const json_t *k8s_schemas, struct krc_strbuf *out,
                            struct krc_error *err)
{
    const struct krc_crd_file *f = krc_crd_file(id);
    if (!f)
        return krc_error_set(err, KRC_EINVAL, "crd: no CRD with id %d", (int)id);
    size_t start = out->len;
    int rc = krc_strbuf_adds(out, k8s_schemas ? CRD_HEADER_EXPANDED : CRD_HEADER);
    if (rc)
        return krc_error_set(err, rc, "crd: out of memory");
    if ((rc = render_yaml(f->root, k8s_schemas, out, err))) {
        out->len = start;
        out->buf[start] = '\0';
    }
    return rc;
}
