/* Unit tests for api/raycluster validation (spec §5.2, §5.3) and its helpers: every rule as one
 * table row - a manifest, the patches that break it, and KubeRay's exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raycluster_testutil.h"
#include "api/generic_version.h"
#include "api/k8s_validation.h"
#include "api/raycluster.h"

enum which { SPEC = 0, METADATA, UPGRADE, STATUS };

struct patch {
    const char *path, *value; /* value NULL deletes */
};

struct vcase {
    const char *name;
    const char *file;
    struct patch patches[5];
    enum which which;
    const char *gate_on;  /* gate to turn on: "embedded", "mtls", "netpol", "history" */
    const char *gate_off; /* gate to turn off: "jobdeletion" */
    const char *want;     /* NULL = valid */
};

#define W0     "spec.workerGroupSpecs.0"
#define HEAD_C "spec.headGroupSpec.template.spec.containers.0"
#define W0_C   W0 ".template.spec.containers.0"

static const struct vcase vcases[] = {
    /* rule 1: metadata */
    {"name too long",
     "minimal.json",
     {{"metadata.name", "\"a234567890123456789012345678901234567890123456789012345\""}},
     METADATA,
     NULL,
     NULL,
     "RayCluster name should be no more than 53 characters"},
    {"name not DNS-1035",
     "minimal.json",
     {{"metadata.name", "\"1abc\""}},
     METADATA,
     NULL,
     NULL,
     "RayCluster name should be a valid DNS1035 label: [a DNS-1035 label must consist of lower "
     "case alphanumeric characters or '-', start with an alphabetic character, and end with an "
     "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
     "'[a-z]([-a-z0-9]*[a-z0-9])?')]"},
    {"valid name", "minimal.json", {{0}}, METADATA, NULL, NULL, NULL},
    /* rule 2 */
    {"head without containers",
     "minimal.json",
     {{"spec.headGroupSpec.template.spec.containers", "[]"}},
     SPEC,
     NULL,
     NULL,
     "headGroupSpec should have at least one container"},
    /* rule 3 */
    {"head resources in both places",
     "minimal.json",
     {{"spec.headGroupSpec.rayStartParams.num-cpus", "\"1\""},
      {"spec.headGroupSpec.resources", "{\"cpu\": \"1\"}"}},
     SPEC,
     NULL,
     NULL,
     "resource fields should not be set in both rayStartParams and Resources for Head group; "
     "please use only one"},
    {"empty num-cpus does not count",
     "minimal.json",
     {{"spec.headGroupSpec.rayStartParams.num-cpus", "\"\""},
      {"spec.headGroupSpec.resources", "{\"cpu\": \"1\"}"}},
     SPEC,
     NULL,
     NULL,
     NULL},
    /* rule 4 */
    {"head labels param",
     "minimal.json",
     {{"spec.headGroupSpec.rayStartParams.labels", "\"a=b\""}},
     SPEC,
     NULL,
     NULL,
     "rayStartParams['labels'] is not supported for Head group; please use the top-level Labels "
     "field instead"},
    {"head label bad value",
     "minimal.json",
     {{"spec.headGroupSpec.labels", "{\"ok\": \"-bad\"}"}},
     SPEC,
     NULL,
     NULL,
     "invalid label value for key 'ok' in Head group: '-bad', error: a valid label must be an "
     "empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
     "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
     "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"},
    {"head label bad key",
     "minimal.json",
     {{"spec.headGroupSpec.labels", "{\"/x\": \"v\"}"}},
     SPEC,
     NULL,
     NULL,
     "invalid label key for Head group: '/x', error: prefix part must be non-empty"},
    /* rule 5.1 */
    {"worker without containers",
     "gpu-worker.json",
     {{W0 ".template.spec.containers", "[]"}},
     SPEC,
     NULL,
     NULL,
     "workerGroupSpec should have at least one container"},
    /* rule 5.2 */
    {"worker without minReplicas",
     "gpu-worker.json",
     {{W0 ".minReplicas", NULL}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group must set both minReplicas and maxReplicas when autoscaling is "
     "disabled"},
    {"autoscaling allows absent min/max",
     "gpu-worker.json",
     {{W0 ".minReplicas", NULL},
      {W0 ".maxReplicas", NULL},
      {"spec.enableInTreeAutoscaling", "true"}},
     SPEC,
     NULL,
     NULL,
     NULL},
    /* rule 5.3 */
    {"negative min",
     "gpu-worker.json",
     {{W0 ".minReplicas", "-1"}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group has negative minReplicas -1"},
    {"negative max",
     "gpu-worker.json",
     {{W0 ".maxReplicas", "-2"}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group has negative maxReplicas -2"},
    {"min above max",
     "gpu-worker.json",
     {{W0 ".minReplicas", "5"}, {W0 ".maxReplicas", "4"}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group has minReplicas 5 greater than maxReplicas 4"},
    /* rule 5.4 */
    {"worker resources in both places",
     "gpu-worker.json",
     {{W0 ".rayStartParams.memory", "\"1000\""}, {W0 ".resources", "{\"memory\": \"1Gi\"}"}},
     SPEC,
     NULL,
     NULL,
     "resource fields should not be set in both rayStartParams and Resources for small-group "
     "group; please use only one"},
    {"worker labels param",
     "gpu-worker.json",
     {{W0 ".rayStartParams.labels", "\"a=b\""}},
     SPEC,
     NULL,
     NULL,
     "rayStartParams['labels'] is not supported for small-group group; please use the top-level "
     "Labels field instead"},
    /* rule 5.5 */
    {"negative group idle timeout",
     "gpu-worker.json",
     {{W0 ".idleTimeoutSeconds", "-5"}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group: idleTimeoutSeconds must be non-negative, got -5"},
    {"group idle timeout without v2",
     "gpu-worker.json",
     {{W0 ".idleTimeoutSeconds", "60"}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group: idleTimeoutSeconds is set, but autoscaler v2 is not enabled. "
     "Please set .spec.autoscalerOptions.version to 'v2' (or set RAY_enable_autoscaler_v2 "
     "environment variable to 'true' in the head pod if using KubeRay < 1.4.0)"},
    {"group idle timeout with v2 env",
     "gpu-worker.json",
     {{W0 ".idleTimeoutSeconds", "60"},
      {"spec.enableInTreeAutoscaling", "true"},
      {HEAD_C ".env.1", "{\"name\": \"RAY_enable_autoscaler_v2\", \"value\": \"1\"}"}},
     SPEC,
     NULL,
     NULL,
     NULL},
    /* rule 5.6 */
    {"priority without version",
     "gpu-worker.json",
     {{W0 ".priority", "3"}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group: priority is set, but RayVersion was not specified. Ray version "
     "2.56.0 or later is required"},
    {"priority zero is fine", "gpu-worker.json", {{W0 ".priority", "0"}}, SPEC, NULL, NULL, NULL},
    {"priority bad version",
     "gpu-worker.json",
     {{W0 ".priority", "3"}, {"spec.rayVersion", "\"nightly\""}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group: priority is set, but RayVersion format is invalid: nightly, could "
     "not parse \"nightly\" as version"},
    {"priority old version",
     "gpu-worker.json",
     {{W0 ".priority", "3"}, {"spec.rayVersion", "\"2.55.9\""}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group: priority is set, but minimum Ray version is 2.56.0, got 2.55.9"},
    {"priority without v2",
     "gpu-worker.json",
     {{W0 ".priority", "3"}, {"spec.rayVersion", "\"2.56.0\""}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group: priority is set to 3, but autoscaler v2 is not enabled. Priority "
     "is only supported with autoscaler v2 enabled"},
    /* rule 6 */
    {"ft annotation and options",
     "external-redis.json",
     {{"metadata.annotations", "{\"ray.io/ft-enabled\": \"false\"}"}},
     SPEC,
     NULL,
     NULL,
     "ray.io/ft-enabled annotation and GcsFaultToleranceOptions are both set. Please use only "
     "GcsFaultToleranceOptions to configure GCS fault tolerance"},
    /* rule 7 */
    {"redis address without ft",
     "minimal.json",
     {{HEAD_C ".env.1", "{\"name\": \"RAY_REDIS_ADDRESS\", \"value\": \"r:6379\"}"}},
     SPEC,
     NULL,
     NULL,
     "RAY_REDIS_ADDRESS is set which implicitly enables GCS fault tolerance, but "
     "GcsFaultToleranceOptions is not set. Please set GcsFaultToleranceOptions to enable GCS fault "
     "tolerance"},
    {"legacy ft annotation with redis address", "legacy-ft.json", {{0}}, SPEC, NULL, NULL, NULL},
    /* rule 8 */
    {"redis-password param with options",
     "external-redis.json",
     {{"spec.headGroupSpec.rayStartParams.redis-password", "\"x\""}},
     SPEC,
     NULL,
     NULL,
     "cannot set `redis-password` in rayStartParams when GcsFaultToleranceOptions is enabled - "
     "use GcsFaultToleranceOptions.RedisPassword instead"},
    {"REDIS_PASSWORD env with options",
     "external-redis.json",
     {{HEAD_C ".env", "[{\"name\": \"REDIS_PASSWORD\", \"value\": \"x\"}]"}},
     SPEC,
     NULL,
     NULL,
     "cannot set `REDIS_PASSWORD` env var in head Pod when GcsFaultToleranceOptions is enabled - "
     "use GcsFaultToleranceOptions.RedisPassword instead"},
    {"RAY_REDIS_ADDRESS env with options",
     "external-redis.json",
     {{HEAD_C ".env", "[{\"name\": \"RAY_REDIS_ADDRESS\", \"value\": \"x\"}]"}},
     SPEC,
     NULL,
     NULL,
     "cannot set `RAY_REDIS_ADDRESS` env var in head Pod when GcsFaultToleranceOptions is enabled "
     "- use GcsFaultToleranceOptions.RedisAddress instead"},
    {"storage namespace annotation with options",
     "external-redis.json",
     {{"metadata.annotations", "{\"ray.io/external-storage-namespace\": \"ns\"}"}},
     SPEC,
     NULL,
     NULL,
     "cannot set `ray.io/external-storage-namespace` annotation when GcsFaultToleranceOptions is "
     "enabled - use GcsFaultToleranceOptions.ExternalStorageNamespace instead"},
    {"rocksdb without gate",
     "external-redis.json",
     {{"spec.gcsFaultToleranceOptions", "{\"backend\": \"rocksdb\"}"}},
     SPEC,
     NULL,
     NULL,
     "the embedded RocksDB GCS fault tolerance backend (GcsFaultToleranceOptions.Backend: "
     "'rocksdb') requires the GCSFaultToleranceEmbeddedStorage feature gate to be enabled"},
    {"rocksdb with redis address",
     "external-redis.json",
     {{"spec.gcsFaultToleranceOptions.backend", "\"rocksdb\""}},
     SPEC,
     "embedded",
     NULL,
     "cannot set GcsFaultToleranceOptions.RedisAddress when backend is 'rocksdb'"},
    {"rocksdb claim with size",
     "minimal.json",
     {{"spec.gcsFaultToleranceOptions",
       "{\"backend\": \"rocksdb\", \"storage\": {\"claimName\": \"c\", \"size\": \"2Gi\"}}"}},
     SPEC,
     "embedded",
     NULL,
     "GcsFaultToleranceOptions.Storage.ClaimName is mutually exclusive with size, "
     "storageClassName, and accessModes"},
    {"rocksdb with gcs storage env",
     "minimal.json",
     {{"spec.gcsFaultToleranceOptions", "{\"backend\": \"rocksdb\"}"},
      {HEAD_C ".env.1", "{\"name\": \"RAY_gcs_storage_path\", \"value\": \"/x\"}"}},
     SPEC,
     "embedded",
     NULL,
     "cannot set `RAY_gcs_storage` or `RAY_gcs_storage_path` env var in head Pod when the "
     "embedded GCS FT backend is used - these are managed by KubeRay"},
    {"rocksdb with gcs mount",
     "minimal.json",
     {{"spec.gcsFaultToleranceOptions", "{\"backend\": \"rocksdb\"}"},
      {HEAD_C ".volumeMounts", "[{\"name\": \"data\", \"mountPath\": \"/data/gcs\"}]"}},
     SPEC,
     "embedded",
     NULL,
     "cannot set a volume mount named \"gcs-storage\" or mounted at /data/gcs in the head "
     "container when the embedded GCS FT backend is used - it is managed by KubeRay"},
    {"rocksdb ok",
     "minimal.json",
     {{"spec.gcsFaultToleranceOptions", "{\"backend\": \"rocksdb\", \"storage\": {}}"}},
     SPEC,
     "embedded",
     NULL,
     NULL},
    {"redis with storage",
     "external-redis.json",
     {{"spec.gcsFaultToleranceOptions.storage", "{\"size\": \"1Gi\"}"}},
     SPEC,
     NULL,
     NULL,
     "cannot set GcsFaultToleranceOptions.Storage when backend is 'redis' - it only applies to "
     "the 'rocksdb' backend"},
    /* rule 9 */
    {"redis username env",
     "minimal.json",
     {{HEAD_C ".env.1", "{\"name\": \"REDIS_USERNAME\", \"value\": \"u\"}"}},
     SPEC,
     NULL,
     NULL,
     "cannot set redis username in rayStartParams or environment variables - use "
     "GcsFaultToleranceOptions.RedisUsername instead"},
    /* rule 10 */
    {"suspended group without gate",
     "gpu-worker.json",
     {{W0 ".suspend", "true"}},
     SPEC,
     NULL,
     "jobdeletion",
     "worker group small-group can be suspended only when the RayJobDeletionPolicy feature gate "
     "is enabled"},
    {"suspended group with gate",
     "gpu-worker.json",
     {{W0 ".suspend", "true"}},
     SPEC,
     NULL,
     NULL,
     NULL},
    /* rule 11 */
    {"v2 env without autoscaling",
     "minimal.json",
     {{HEAD_C ".env.1", "{\"name\": \"RAY_enable_autoscaler_v2\", \"value\": \"true\"}"}},
     SPEC,
     NULL,
     NULL,
     "environment variable RAY_enable_autoscaler_v2 cannot be set to 'true' when "
     "enableInTreeAutoscaling is false. Please set enableInTreeAutoscaling: true to use "
     "autoscaler v2"},
    {"v2 env false without autoscaling",
     "minimal.json",
     {{HEAD_C ".env.1", "{\"name\": \"RAY_enable_autoscaler_v2\", \"value\": \"false\"}"}},
     SPEC,
     NULL,
     NULL,
     NULL},
    /* rule 12 */
    {"suspended group with autoscaling",
     "autoscaler-v2.json",
     {{W0 ".suspend", "true"}},
     SPEC,
     NULL,
     NULL,
     "worker group small-group cannot be suspended with Autoscaler enabled"},
    {"version and env both",
     "autoscaler-v2.json",
     {{HEAD_C ".env", "[{\"name\": \"RAY_enable_autoscaler_v2\", \"value\": \"true\"}]"}},
     SPEC,
     NULL,
     NULL,
     "both .spec.autoscalerOptions.version and head Pod env var RAY_enable_autoscaler_v2 are set, "
     "please only use the former"},
    {"v2 head restart policy",
     "autoscaler-v2.json",
     {{"spec.headGroupSpec.template.spec.restartPolicy", "\"Always\""}},
     SPEC,
     NULL,
     NULL,
     "restartPolicy for head Pod should be Never or unset when using autoscaler V2"},
    {"v2 worker restart policy",
     "autoscaler-v2.json",
     {{W0 ".template.spec.restartPolicy", "\"OnFailure\""}},
     SPEC,
     NULL,
     NULL,
     "restartPolicy for worker group small-group should be Never or unset when using autoscaler "
     "V2"},
    /* rule 13 */
    {"negative autoscaler idle timeout",
     "autoscaler-v2.json",
     {{"spec.autoscalerOptions.idleTimeoutSeconds", "-1"}},
     SPEC,
     NULL,
     NULL,
     "autoscalerOptions.idleTimeoutSeconds must be non-negative, got -1"},
    /* rule 14 */
    {"autoscaler env gen cmd",
     "autoscaler-v2.json",
     {{"spec.autoscalerOptions.env",
       "[{\"name\": \"KUBERAY_GEN_AUTOSCALER_START_CMD\", \"value\": \"x\"}]"}},
     SPEC,
     NULL,
     NULL,
     "autoscalerOptions.env must not contain KUBERAY_GEN_AUTOSCALER_START_CMD: it is managed by "
     "KubeRay and injected automatically into the autoscaler container"},
    /* rule 15 */
    {"history server without gate",
     "minimal.json",
     {{"spec.historyServerOptions", "{\"collectorOptions\": {\"image\": \"c\"}}"}},
     SPEC,
     NULL,
     NULL,
     "RayClusterHistoryServer feature gate is not enabled"},
    {"history server without collector",
     "minimal.json",
     {{"spec.historyServerOptions", "{}"}},
     SPEC,
     "history",
     NULL,
     "historyServerOptions.collectorOptions must be set"},
    {"collector without image",
     "minimal.json",
     {{"spec.historyServerOptions", "{\"collectorOptions\": {}}"}},
     SPEC,
     "history",
     NULL,
     "historyServerOptions.collectorOptions.image must be set"},
    {"collector forbidden env",
     "minimal.json",
     {{"spec.historyServerOptions",
       "{\"collectorOptions\": {\"image\": \"c\", \"env\": [{\"name\": \"RAY_ROLE\"}]}}"}},
     SPEC,
     "history",
     NULL,
     "historyServerOptions.collectorOptions.env must not contain RAY_ROLE: it is managed by "
     "KubeRay and injected automatically into the collector container"},
    {"collector without backend",
     "minimal.json",
     {{"spec.historyServerOptions", "{\"collectorOptions\": {\"image\": \"c\"}}"}},
     SPEC,
     "history",
     NULL,
     "STORAGE_BACKEND environment variable must be set with a literal string value in "
     "historyServerOptions.collectorOptions.env"},
    {"collector s3 without region",
     "minimal.json",
     {{"spec.historyServerOptions", "{\"collectorOptions\": {\"image\": \"c\", \"env\": "
                                    "[{\"name\": \"STORAGE_BACKEND\", \"value\": \"s3\"}]}}"}},
     SPEC,
     "history",
     NULL,
     "S3_REGION environment variable must be set when STORAGE_BACKEND is S3"},
    /* rule 16 */
    {"token auth without version",
     "auth-token.json",
     {{"spec.rayVersion", NULL}},
     SPEC,
     NULL,
     NULL,
     "authOptions.mode is 'token' but RayVersion was not specified. Ray version 2.52.0 or later "
     "is required"},
    {"token auth old version",
     "auth-token.json",
     {{"spec.rayVersion", "\"2.51.1\""}},
     SPEC,
     NULL,
     NULL,
     "authOptions.mode is 'token' but minimum Ray version is 2.52.0, got 2.51.1"},
    {"token auth bad version",
     "auth-token.json",
     {{"spec.rayVersion", "\"2\""}},
     SPEC,
     NULL,
     NULL,
     "authOptions.mode is 'token' but RayVersion format is invalid: 2, illegal version string "
     "\"2\""},
    {"k8s token auth old version",
     "auth-token.json",
     {{"spec.authOptions.enableK8sTokenAuth", "true"}},
     SPEC,
     NULL,
     NULL,
     "authOptions.enableK8sTokenAuth is enabled but minimum Ray version is 2.55.0, got 2.52.0"},
    {"k8s token auth with secret",
     "auth-token.json",
     {{"spec.authOptions.enableK8sTokenAuth", "true"},
      {"spec.authOptions.secretName", "\"s\""},
      {"spec.rayVersion", "\"2.55.0\""}},
     SPEC,
     NULL,
     NULL,
     "authOptions.enableK8sTokenAuth is enabled and authOptions.secretName is also set"},
    {"k8s token auth without token mode",
     "auth-token.json",
     {{"spec.authOptions", "{\"enableK8sTokenAuth\": true}"}},
     SPEC,
     NULL,
     NULL,
     "authOptions.enableK8sTokenAuth is enabled but authOptions.mode not set to 'token'"},
    /* rule 17 */
    {"network policy without gate",
     "minimal.json",
     {{"spec.networkPolicy", "{}"}},
     SPEC,
     NULL,
     NULL,
     "spec.networkPolicy requires the RayClusterNetworkPolicy feature gate to be enabled"},
    {"network policy ingress rules with deny egress",
     "minimal.json",
     {{"spec.networkPolicy", "{\"mode\": \"DenyAllEgress\", \"head\": {\"ingressRules\": [{}]}}"}},
     SPEC,
     "netpol",
     NULL,
     "networkPolicy.head.ingressRules cannot be set when mode is \"DenyAllEgress\" (ingress is "
     "not restricted)"},
    {"network policy unknown group",
     "gpu-worker.json",
     {{"spec.networkPolicy", "{\"workerGroups\": [{\"groupName\": \"nope\"}]}"}},
     SPEC,
     "netpol",
     NULL,
     "networkPolicy.workerGroups[\"nope\"] does not match any group name in workerGroupSpecs"},
    {"network policy bad group name",
     "gpu-worker.json",
     {{"spec.networkPolicy", "{}"}, {W0 ".groupName", "\"Small\""}},
     SPEC,
     "netpol",
     NULL,
     "worker group name \"Small\" must be a valid DNS1123 label when networkPolicy is enabled (it "
     "is embedded in the NetworkPolicy name): [a lowercase RFC 1123 label must consist of lower "
     "case alphanumeric characters or '-', and must start and end with an alphanumeric character "
     "(e.g. 'my-name',  or '123-abc', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')]"},
    /* rule 18 */
    {"tls without gate",
     "minimal.json",
     {{"spec.tlsOptions", "{\"enabled\": false}"}},
     SPEC,
     NULL,
     NULL,
     "spec.tlsOptions requires the RayClusterMTLS feature gate to be enabled"},
    {"tls env in worker",
     "gpu-worker.json",
     {{"spec.tlsOptions", "{\"enabled\": true}"},
      {W0_C ".env", "[{\"name\": \"RAY_USE_TLS\", \"value\": \"1\"}]"}},
     SPEC,
     "mtls",
     NULL,
     "cannot set RAY_USE_TLS environment variable in worker group \"small-group\" when tlsOptions "
     "is set - the operator manages TLS configuration automatically"},
    /* rule 21 */
    {"bad upgrade type",
     "minimal.json",
     {{"spec.upgradeStrategy", "{\"type\": \"Rolling\"}"}},
     UPGRADE,
     NULL,
     NULL,
     "The RayCluster spec is invalid: Spec.UpgradeStrategy.Type value Rolling is invalid, valid "
     "options are Recreate or None"},
    {"upgrade on RayJob cluster",
     "minimal.json",
     {{"spec.upgradeStrategy", "{\"type\": \"None\"}"},
      {"metadata.labels", "{\"ray.io/originated-from-crd\": \"RayJob\"}"}},
     UPGRADE,
     NULL,
     NULL,
     "upgradeStrategy cannot be set when RayCluster is created by RayJob"},
    {"recreate on plain cluster",
     "minimal.json",
     {{"spec.upgradeStrategy", "{\"type\": \"Recreate\"}"}},
     UPGRADE,
     NULL,
     NULL,
     NULL},
    /* §5.3 */
    {"suspending and suspended",
     "minimal.json",
     {{"status.conditions",
       "[{\"type\": \"RayClusterSuspending\", \"status\": \"True\", \"reason\": \"x\", "
       "\"message\": \"\", \"lastTransitionTime\": \"2024-01-01T00:00:00Z\"}, "
       "{\"type\": \"RayClusterSuspended\", \"status\": \"True\", \"reason\": \"x\", "
       "\"message\": \"\", \"lastTransitionTime\": \"2024-01-01T00:00:00Z\"}]"}},
     STATUS,
     NULL,
     NULL,
     "invalid RayCluster State: rayv1.RayClusterSuspending and rayv1.RayClusterSuspended "
     "conditions should not be both true"},
};

static void run_case(const struct vcase *c)
{
    json_t *doc = tu_load(c->file);
    for (size_t i = 0; i < 5 && c->patches[i].path; i++)
        tu_set(doc, c->patches[i].path, c->patches[i].value);
    struct raycluster rc;
    tu_parse(doc, &rc);
    struct raycluster_gates g;
    raycluster_gates_default(&g);
    if (c->gate_on && strcmp(c->gate_on, "embedded") == 0)
        g.gcs_ft_embedded = true;
    if (c->gate_on && strcmp(c->gate_on, "mtls") == 0)
        g.mtls = true;
    if (c->gate_on && strcmp(c->gate_on, "netpol") == 0)
        g.network_policy = true;
    if (c->gate_on && strcmp(c->gate_on, "history") == 0)
        g.history_server = true;
    if (c->gate_off)
        g.job_deletion_policy = false;
    struct krc_error err = {0};
    struct krc_strbuf full = KRC_STRBUF_INIT;
    int r;
    switch (c->which) {
    case METADATA:
        r = raycluster_validate_metadata(&rc, &err, &full);
        break;
    case UPGRADE:
        r = raycluster_validate_upgrade_strategy(&rc, &err);
        break;
    case STATUS:
        r = raycluster_validate_status(&rc, &err);
        break;
    default:
        r = raycluster_validate_spec(&rc, &g, &err, &full);
        break;
    }
    if (!c->want && r != 0)
        fail_msg("%s: expected valid, got %d: %s", c->name, r, err.msg);
    if (c->want) {
        if (r != KRC_EINVAL)
            fail_msg("%s: expected KRC_EINVAL, got %d", c->name, r);
        const char *got = full.len ? full.buf : err.msg;
        if (strcmp(got, c->want) != 0)
            fail_msg("%s:\n got  [%s]\n want [%s]", c->name, got, c->want);
    }
    krc_strbuf_release(&full);
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_validation_rules_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++)
        run_case(&vcases[i]);
}

static void test_group_label_errors_are_joined_in_key_order(void **state)
{
    (void)state;
    json_t *doc = tu_load("gpu-worker.json");
    tu_set(doc, W0 ".labels", "{\"b\": \"-x\", \"a/b/c\": \"ok\"}");
    struct raycluster rc;
    tu_parse(doc, &rc);
    struct raycluster_gates g;
    raycluster_gates_default(&g);
    struct krc_error err;
    struct krc_strbuf full = KRC_STRBUF_INIT;
    assert_int_equal(raycluster_validate_spec(&rc, &g, &err, &full), KRC_EINVAL);
    const char *first = "invalid label key for small-group group: 'a/b/c', error: a qualified name "
                        "must consist of";
    const char *second = "; invalid label value for key 'b' in small-group group: '-x', error: a "
                         "valid label must be";
    assert_true(strncmp(full.buf, first, strlen(first)) == 0);
    assert_non_null(strstr(full.buf, second));
    /* the short error struct holds a (possibly truncated) prefix of the same text */
    assert_true(strncmp(err.msg, full.buf, strlen(err.msg)) == 0);
    krc_strbuf_release(&full);
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_autoscaler_v1_restart_policy_warning(void **state)
{
    (void)state;
    json_t *doc = tu_load("autoscaler-v2.json");
    tu_set(doc, "spec.autoscalerOptions.version", "\"v1\"");
    tu_set(doc, W0 ".template.spec.restartPolicy", "\"Always\"");
    tu_set(doc, "spec.workerGroupSpecs.1",
           "{\"groupName\": \"b\", \"template\": {\"spec\": {\"restartPolicy\": \"OnFailure\", "
           "\"containers\": [{\"name\": \"w\"}]}}}");
    struct raycluster rc;
    tu_parse(doc, &rc);
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_int_equal(raycluster_autoscaler_v1_warning(&rc, &sb), 1);
    assert_string_equal(sb.buf, "restartPolicy for worker groups [small-group, b] should be Never "
                                "or unset when using autoscaler V1");
    krc_strbuf_release(&sb);
    raycluster_release(&rc);
    json_decref(doc);
}

/* KubeRay's samples (our own renditions of what they contain) go through the API server's
 * defaulting and then must pass every validator with the default gates. */
static void test_sample_manifests_are_accepted(void **state)
{
    (void)state;
    static const char *const files[] = {"minimal.json",
                                        "gpu-worker.json",
                                        "sample.json",
                                        "autoscaler-v2.json",
                                        "external-redis.json",
                                        "tpu-multihost.json",
                                        "custom-head-service.json",
                                        "auth-token.json",
                                        "legacy-ft.json",
                                        "overwrite-command.json"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        json_t *doc = tu_load(files[i]);
        assert_int_equal(raycluster_apply_schema_defaults(doc), 0);
        struct raycluster rc;
        struct krc_error err = {0};
        if (raycluster_parse(doc, &rc, &err))
            fail_msg("%s: parse: %s", files[i], err.msg);
        struct raycluster_gates g;
        raycluster_gates_default(&g);
        if (raycluster_validate_metadata(&rc, &err, NULL) ||
            raycluster_validate_spec(&rc, &g, &err, NULL) ||
            raycluster_validate_upgrade_strategy(&rc, &err) ||
            raycluster_validate_status(&rc, &err))
            fail_msg("%s: %s", files[i], err.msg);
        raycluster_release(&rc);
        json_decref(doc);
    }
}

static void test_generic_versions(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        int ok;
        int cmp_2_53_0; /* sign of v - 2.53.0 when ok */
    } cases[] = {
        {"2.53.0", 1, 0},  {"v2.53.0", 1, 0}, {" 2.53 ", 1, 0}, {"2.53.0-rc1", 1, 0},
        {"2.52.9", 1, -1}, {"2.100.0", 1, 1}, {"3.0", 1, 1},    {"2.53.0.1", 1, 1},
        {"nightly", 0, 0}, {"2", 0, 0},       {"", 0, 0},       {"02.53.0", 0, 0},
    };
    struct generic_version min = {3, {2, 53, 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct generic_version v;
        int r = generic_version_parse(cases[i].v, &v, NULL);
        if ((r == 0) != cases[i].ok)
            fail_msg("%s: parse ok=%d", cases[i].v, r == 0);
        if (r == 0) {
            int c = generic_version_cmp(&v, &min);
            c = c < 0 ? -1 : c > 0;
            if (c != cases[i].cmp_2_53_0)
                fail_msg("%s: cmp %d", cases[i].v, c);
        }
    }
}

static void test_k8s_name_checks(void **state)
{
    (void)state;
    struct k8sval_errs e;
    k8sval_errs_init(&e);
    k8sval_dns1035_label("raycluster-sample", &e);
    k8sval_qualified_name("example.com/my.name_1", &e);
    k8sval_label_value("", &e);
    k8sval_label_value("A-b.c_d", &e);
    assert_int_equal(e.n, 0);
    k8sval_qualified_name("Example.com/x", &e);
    assert_int_equal(e.n, 1);
    assert_true(strncmp(e.msg[0], "prefix part a lowercase RFC 1123 subdomain", 42) == 0);
    k8sval_errs_init(&e);
    k8sval_label_value("a234567890123456789012345678901234567890123456789012345678901234", &e);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.msg[0], "must be no more than 63 characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation_rules_table),
        cmocka_unit_test(test_group_label_errors_are_joined_in_key_order),
        cmocka_unit_test(test_autoscaler_v1_restart_policy_warning),
        cmocka_unit_test(test_sample_manifests_are_accepted),
        cmocka_unit_test(test_generic_versions),
        cmocka_unit_test(test_k8s_name_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
