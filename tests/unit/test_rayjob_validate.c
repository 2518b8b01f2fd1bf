/* Unit tests for api/rayjob validation (spec §3.3): every check as one table row - a manifest from
 * tests/data/rayjob/, the patches that break it, and KubeRay's exact message (with its
 * "The RayJob spec is invalid: " prefix exactly where KubeRay puts it). Valid rows cover every
 * test manifest, so a check that fires too eagerly fails too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raycluster_testutil.h"
#include "api/rayjob.h"

#define SPEC_INVALID "The RayJob spec is invalid: "
#define HEAD_SPEC    "spec.rayClusterSpec.headGroupSpec.template.spec"
#define RULES        "spec.deletionStrategy.deletionRules"

enum which { SPEC = 0, METADATA, STATUS };

struct patch {
    const char *path, *value; /* value NULL deletes */
};

struct vcase {
    const char *name;
    const char *file;
    struct patch patches[6];
    enum which which;
    bool gate_off;    /* RayJobDeletionPolicy off */
    const char *want; /* NULL = valid */
};

static const struct vcase vcases[] = {
    /* every manifest is valid as written */
    {"sample", "sample.json", {{0}}, SPEC, false, NULL},
    {"shutdown", "shutdown.json", {{0}}, SPEC, false, NULL},
    {"resources", "resources.json", {{0}}, SPEC, false, NULL},
    {"interactive", "interactive.json", {{0}}, SPEC, false, NULL},
    {"http mode", "http-mode.json", {{0}}, SPEC, false, NULL},
    {"existing cluster", "existing-cluster.json", {{0}}, SPEC, false, NULL},
    {"sidecar", "sidecar.json", {{0}}, SPEC, false, NULL},
    {"deletion rules", "deletion-rules.json", {{0}}, SPEC, false, NULL},
    {"deletion legacy", "deletion-legacy.json", {{0}}, SPEC, false, NULL},
    {"kueue", "kueue.json", {{0}}, SPEC, false, NULL},
    {"with status", "with-status.json", {{0}}, SPEC, false, NULL},
    {"sample metadata", "sample.json", {{0}}, METADATA, false, NULL},
    {"sample status", "with-status.json", {{0}}, STATUS, false, NULL},

    /* metadata */
    {"name of 48 characters",
     "sample.json",
     {{"metadata.name", "\"a23456789012345678901234567890123456789012345678\""}},
     METADATA,
     false,
     "The RayJob metadata is invalid: RayJob name should be no more than 47 characters"},
    {"name of 47 characters is fine",
     "sample.json",
     {{"metadata.name", "\"a2345678901234567890123456789012345678901234567\""}},
     METADATA,
     false,
     NULL},
    {"name not DNS-1035",
     "sample.json",
     {{"metadata.name", "\"1rayjob\""}},
     METADATA,
     false,
     "The RayJob metadata is invalid: RayJob name should be a valid DNS1035 label: [a DNS-1035 "
     "label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
     "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex "
     "used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')]"},
    {"too long and not DNS-1035 reports the length",
     "sample.json",
     {{"metadata.name", "\"A23456789012345678901234567890123456789012345678\""}},
     METADATA,
     false,
     "The RayJob metadata is invalid: RayJob name should be no more than 47 characters"},

    /* spec 1-3 */
    {"suspend without shutdownAfterJobFinishes",
     "sample.json",
     {{"spec.suspend", "true"}},
     SPEC,
     false,
     SPEC_INVALID "a RayJob with shutdownAfterJobFinishes set to false is not allowed to be "
                  "suspended"},
    {"negative ttlSecondsAfterFinished",
     "shutdown.json",
     {{"spec.ttlSecondsAfterFinished", "-1"}},
     SPEC,
     false,
     SPEC_INVALID "TTLSecondsAfterFinished must be a non-negative integer"},
    {"ttl without shutdownAfterJobFinishes",
     "shutdown.json",
     {{"spec.shutdownAfterJobFinishes", "false"}},
     SPEC,
     false,
     SPEC_INVALID "a RayJob with shutdownAfterJobFinishes set to false cannot have "
                  "TTLSecondsAfterFinished"},

    /* spec 4: deletionStrategy */
    {"deletion strategy with the gate off",
     "deletion-rules.json",
     {{0}},
     SPEC,
     true,
     "RayJobDeletionPolicy feature gate must be enabled to use DeletionStrategy"},
    {"deletion rules with shutdownAfterJobFinishes",
     "deletion-rules.json",
     {{"spec.shutdownAfterJobFinishes", "true"}},
     SPEC,
     false,
     SPEC_INVALID "spec.shutdownAfterJobFinishes and spec.deletionStrategy.deletionRules are "
                  "mutually exclusive"},
    {"deletion rules with legacy fields",
     "deletion-rules.json",
     {{"spec.deletionStrategy.onSuccess", "{\"policy\": \"DeleteCluster\"}"}},
     SPEC,
     false,
     SPEC_INVALID "Cannot use both legacy onSuccess/onFailure fields and deletionRules "
                  "simultaneously"},
    {"legacy without onFailure",
     "deletion-legacy.json",
     {{"spec.deletionStrategy.onFailure", NULL}},
     SPEC,
     false,
     "both DeletionStrategy.OnSuccess and DeletionStrategy.OnFailure must be set when using the "
     "legacy deletion policy fields of DeletionStrategy"},
    {"legacy onSuccess without policy",
     "deletion-legacy.json",
     {{"spec.deletionStrategy.onSuccess", "{}"}},
     SPEC,
     false,
     "the DeletionPolicyType field of DeletionStrategy.OnSuccess cannot be unset when "
     "DeletionStrategy is enabled"},
    {"legacy onFailure without policy",
     "deletion-legacy.json",
     {{"spec.deletionStrategy.onFailure", "{}"}},
     SPEC,
     false,
     "the DeletionPolicyType field of DeletionStrategy.OnFailure cannot be unset when "
     "DeletionStrategy is enabled"},
    {"legacy DeleteCluster on success with a cluster selector",
     "existing-cluster.json",
     {{"spec.deletionStrategy",
       "{\"onSuccess\": {\"policy\": \"DeleteCluster\"}, \"onFailure\": {\"policy\": "
       "\"DeleteNone\"}}"}},
     SPEC,
     false,
     "the ClusterSelector mode doesn't support DeletionStrategy=DeleteCluster on success"},
    {"legacy DeleteWorkers on failure with a cluster selector",
     "existing-cluster.json",
     {{"spec.deletionStrategy",
       "{\"onSuccess\": {\"policy\": \"DeleteSelf\"}, \"onFailure\": {\"policy\": "
       "\"DeleteWorkers\"}}"}},
     SPEC,
     false,
     "the ClusterSelector mode doesn't support DeletionStrategy=DeleteWorkers on failure"},
    {"legacy DeleteWorkers with autoscaling",
     "deletion-legacy.json",
     {{"spec.deletionStrategy.onSuccess.policy", "\"DeleteWorkers\""},
      {"spec.rayClusterSpec.enableInTreeAutoscaling", "true"}},
     SPEC,
     false,
     "DeletionStrategy=DeleteWorkers currently does not support RayCluster with autoscaling "
     "enabled"},
    {"legacy DeleteNone with shutdownAfterJobFinishes",
     "deletion-legacy.json",
     {{"spec.shutdownAfterJobFinishes", "true"}},
     SPEC,
     false,
     SPEC_INVALID "shutdownAfterJobFinshes is set to 'true' while deletion policy is "
                  "'DeleteNone'"},
    {"empty deletion strategy",
     "sample.json",
     {{"spec.deletionStrategy", "{}"}},
     SPEC,
     false,
     SPEC_INVALID "DeletionStrategy requires either BOTH onSuccess and onFailure, OR the "
                  "deletionRules field (cannot be empty)"},
    {"empty deletionRules list",
     "sample.json",
     {{"spec.deletionStrategy", "{\"deletionRules\": []}"}},
     SPEC,
     false,
     SPEC_INVALID "DeletionStrategy requires either BOTH onSuccess and onFailure, OR the "
                  "deletionRules field (cannot be empty)"},
    {"rule with both conditions",
     "deletion-rules.json",
     {{RULES ".1.condition.jobDeploymentStatus", "\"Failed\""}},
     SPEC,
     false,
     "deletionRules[1]: cannot set both JobStatus and JobDeploymentStatus at the same time"},
    {"rule with no condition",
     "deletion-rules.json",
     {{RULES ".0.condition", "{\"ttlSeconds\": 1}"}},
     SPEC,
     false,
     "deletionRules[0]: exactly one of JobStatus and JobDeploymentStatus must be set"},
    {"rule with negative ttl",
     "deletion-rules.json",
     {{RULES ".3.condition.ttlSeconds", "-5"}},
     SPEC,
     false,
     "deletionRules[3]: TTLSeconds must be non-negative"},
    {"rule DeleteCluster with a cluster selector",
     "existing-cluster.json",
     {{"spec.deletionStrategy",
       "{\"deletionRules\": [{\"policy\": \"DeleteSelf\", \"condition\": {\"jobStatus\": "
       "\"FAILED\"}}, {\"policy\": \"DeleteCluster\", \"condition\": {\"jobStatus\": "
       "\"SUCCEEDED\"}}]}"}},
     SPEC,
     false,
     "deletionRules[1]: DeletionPolicyType 'DeleteCluster' not supported when ClusterSelector is "
     "set"},
    {"rule DeleteWorkers with autoscaling",
     "deletion-rules.json",
     {{"spec.rayClusterSpec.enableInTreeAutoscaling", "true"}},
     SPEC,
     false,
     "deletionRules[0]: DeletionPolicyType 'DeleteWorkers' not supported with autoscaling "
     "enabled"},
    {"duplicate rule",
     "deletion-rules.json",
     {{RULES ".4", "{\"policy\": \"DeleteCluster\", \"condition\": {\"jobStatus\": \"FAILED\", "
                   "\"ttlSeconds\": 60}}"}},
     SPEC,
     false,
     "deletionRules[4]: duplicate rule for DeletionPolicyType 'DeleteCluster' and JobStatus "
     "'FAILED'"},
    {"duplicate rule on deployment status",
     "deletion-rules.json",
     {{RULES ".3",
       "{\"policy\": \"DeleteSelf\", \"condition\": {\"jobDeploymentStatus\": \"Failed\"}}"}},
     SPEC,
     false,
     "deletionRules[4]: duplicate rule for DeletionPolicyType 'DeleteSelf' and "
     "JobDeploymentStatus 'Failed'"},
    {"TTL order violated",
     "deletion-rules.json",
     {{RULES ".1.condition.ttlSeconds", "10"}},
     SPEC,
     false,
     "for JobStatus 'FAILED': DeleteCluster TTL (10) must be >= DeleteWorkers TTL (30)"},
    {"TTL order compares with the previous present policy",
     "deletion-rules.json",
     {{RULES ".1", NULL}, {RULES ".1.condition.ttlSeconds", "20"}},
     SPEC,
     false,
     "for JobStatus 'FAILED': DeleteSelf TTL (20) must be >= DeleteWorkers TTL (30)"},
    {"DeleteNone takes no part in the TTL order",
     "deletion-rules.json",
     {{RULES ".5",
       "{\"policy\": \"DeleteNone\", \"condition\": {\"jobStatus\": \"FAILED\", \"ttlSeconds\": "
       "0}}"}},
     SPEC,
     false,
     NULL},
    {"all rule errors are joined",
     "deletion-rules.json",
     {{RULES ".0.condition", "{}"},
      {RULES ".2.condition.ttlSeconds", "-1"},
      {RULES ".4.condition.ttlSeconds", "10"},
      {RULES ".5",
       "{\"policy\": \"DeleteWorkers\", \"condition\": {\"jobDeploymentStatus\": \"Failed\", "
       "\"ttlSeconds\": 20}}"}},
     SPEC,
     false,
     "deletionRules[0]: exactly one of JobStatus and JobDeploymentStatus must be set\n"
     "deletionRules[2]: TTLSeconds must be non-negative\n"
     "for JobDeploymentStatus 'Failed': DeleteSelf TTL (10) must be >= DeleteWorkers TTL (20)"},

    /* spec 5-9 */
    {"suspend with a cluster selector",
     "existing-cluster.json",
     {{"spec.suspend", "true"}, {"spec.shutdownAfterJobFinishes", "true"}},
     SPEC,
     false,
     SPEC_INVALID "the ClusterSelector mode doesn't support the suspend operation"},
    {"neither cluster spec nor selector",
     "sample.json",
     {{"spec.rayClusterSpec", NULL}},
     SPEC,
     false,
     SPEC_INVALID "one of RayClusterSpec or ClusterSelector must be set"},
    {"empty selector counts as unset",
     "existing-cluster.json",
     {{"spec.clusterSelector", "{}"}},
     SPEC,
     false,
     SPEC_INVALID "one of RayClusterSpec or ClusterSelector must be set"},
    {"selector without ray.io/cluster",
     "existing-cluster.json",
     {{"spec.clusterSelector", "{\"app\": \"x\"}"}},
     SPEC,
     false,
     "cluster name in ClusterSelector should not be empty"},
    {"selector with an empty cluster name",
     "existing-cluster.json",
     {{"spec.clusterSelector", "{\"ray.io/cluster\": \"\"}"}},
     SPEC,
     false,
     "cluster name in ClusterSelector should not be empty"},
    {"selector in SidecarMode",
     "existing-cluster.json",
     {{"spec.submissionMode", "\"SidecarMode\""}},
     SPEC,
     false,
     "ClusterSelector is not supported in SidecarMode"},
    {"selector with backoffLimit",
     "existing-cluster.json",
     {{"spec.backoffLimit", "1"}},
     SPEC,
     false,
     SPEC_INVALID "BackoffLimit is incompatible with ClusterSelector mode"},
    {"selector wins over rayClusterSpec, which is still validated",
     "existing-cluster.json",
     {{"spec.rayClusterSpec", "{\"headGroupSpec\": {\"template\": {\"spec\": {\"containers\": "
                              "[]}}}}"}},
     SPEC,
     false,
     SPEC_INVALID "headGroupSpec should have at least one container"},
    {"InteractiveMode with backoffLimit",
     "interactive.json",
     {{"spec.backoffLimit", "2"}},
     SPEC,
     false,
     SPEC_INVALID "BackoffLimit is incompatible with InteractiveMode"},
    {"SidecarMode with a submitter template",
     "sidecar.json",
     {{"spec.submitterPodTemplate", "{\"spec\": {\"containers\": []}}"}},
     SPEC,
     false,
     "Currently, SidecarMode doesn't support SubmitterPodTemplate"},
    {"SidecarMode with a submitter config",
     "sidecar.json",
     {{"spec.submitterConfig", "{\"backoffLimit\": 1}"}},
     SPEC,
     false,
     "Currently, SidecarMode doesn't support SubmitterConfig"},
    {"SidecarMode with head restartPolicy Always",
     "sidecar.json",
     {{HEAD_SPEC ".restartPolicy", "\"Always\""}},
     SPEC,
     false,
     "restartPolicy for head Pod should be Never or unset when using SidecarMode"},
    {"SidecarMode with head restartPolicy Never",
     "sidecar.json",
     {{HEAD_SPEC ".restartPolicy", "\"Never\""}},
     SPEC,
     false,
     NULL},

    /* spec 10 */
    {"k8s token auth",
     "sample.json",
     {{"spec.rayClusterSpec.authOptions", "{\"mode\": \"token\", \"enableK8sTokenAuth\": true}"}},
     SPEC,
     false,
     SPEC_INVALID "K8s token auth mode is currently not supported for RayJob"},
    {"RayCluster spec error is wrapped",
     "sample.json",
     {{HEAD_SPEC ".containers", "[]"}},
     SPEC,
     false,
     SPEC_INVALID "headGroupSpec should have at least one container"},
    {"suspended worker group with the gate off",
     "sample.json",
     {{"spec.rayClusterSpec.workerGroupSpecs.0.suspend", "true"}},
     SPEC,
     true,
     SPEC_INVALID "worker group small-group can be suspended only when the RayJobDeletionPolicy "
                  "feature gate is enabled"},
    {"suspended worker group with the gate on",
     "sample.json",
     {{"spec.rayClusterSpec.workerGroupSpecs.0.suspend", "true"}},
     SPEC,
     false,
     NULL},

    /* spec 11-14 */
    {"runtimeEnvYAML not a mapping",
     "sample.json",
     {{"spec.runtimeEnvYAML", "\"invalid_yaml_str\""}},
     SPEC,
     false,
     "failed to unmarshal RuntimeEnvYAML: invalid_yaml_str: error unmarshaling JSON: while "
     "decoding JSON: json: cannot unmarshal string into Go value of type types.RuntimeEnvType"},
    {"activeDeadlineSeconds zero",
     "sample.json",
     {{"spec.activeDeadlineSeconds", "0"}},
     SPEC,
     false,
     SPEC_INVALID "activeDeadlineSeconds must be a positive integer"},
    {"preRunningDeadlineSeconds negative",
     "sample.json",
     {{"spec.preRunningDeadlineSeconds", "-3"}},
     SPEC,
     false,
     SPEC_INVALID "preRunningDeadlineSeconds must be a positive integer"},
    {"backoffLimit negative",
     "shutdown.json",
     {{"spec.backoffLimit", "-1"}},
     SPEC,
     false,
     SPEC_INVALID "backoffLimit must be a positive integer"},
    {"first failure wins: suspend before deadline",
     "sample.json",
     {{"spec.suspend", "true"}, {"spec.activeDeadlineSeconds", "0"}},
     SPEC,
     false,
     SPEC_INVALID "a RayJob with shutdownAfterJobFinishes set to false is not allowed to be "
                  "suspended"},

    /* status */
    {"Waiting outside InteractiveMode",
     "with-status.json",
     {{"status.jobDeploymentStatus", "\"Waiting\""}},
     STATUS,
     false,
     "The RayJob status is invalid: JobDeploymentStatus cannot be `Waiting` when SubmissionMode "
     "is not InteractiveMode"},
    {"Waiting in InteractiveMode",
     "interactive.json",
     {{"status", "{\"jobDeploymentStatus\": \"Waiting\"}"}},
     STATUS,
     false,
     NULL},
};

static void test_validation_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
        const struct vcase *c = &vcases[i];
        json_t *doc = tu_load_rayjob(c->file);
        for (size_t p = 0; p < 6 && c->patches[p].path; p++)
            tu_set(doc, c->patches[p].path, c->patches[p].value);
        struct rayjob job;
        struct krc_error err = {0};
        if (rayjob_parse(doc, &job, &err))
            fail_msg("%s: parse failed: %s", c->name, err.msg);
        struct raycluster_gates g;
        raycluster_gates_default(&g);
        g.job_deletion_policy = !c->gate_off;
        struct krc_strbuf full = KRC_STRBUF_INIT;
        int rc = c->which == METADATA ? rayjob_validate_metadata(&job, &err, &full)
                 : c->which == STATUS ? rayjob_validate_status(&job, &err)
                                      : rayjob_validate_spec(&job, &g, &err, &full);
        const char *msg = full.len ? full.buf : err.msg;
        if (!c->want && rc != 0)
            fail_msg("%s: want valid, got %d \"%s\"", c->name, rc, msg);
        if (c->want && (rc != KRC_EINVAL || strcmp(msg, c->want) != 0))
            fail_msg("%s:\n  got  %d \"%s\"\n  want \"%s\"", c->name, rc, msg, c->want);
        krc_strbuf_release(&full);
        rayjob_release(&job);
        json_decref(doc);
    }
}

/* A message longer than struct krc_error holds is truncated there and whole in `full`. */
static void test_long_messages_are_whole_in_full(void **state)
{
    (void)state;
    json_t *doc = tu_load_rayjob("deletion-rules.json");
    json_t *rules = json_array();
    for (int i = 0; i < 40; i++)
        json_array_append_new(rules, tu_json("{\"policy\": \"DeleteSelf\", \"condition\": {}}"));
    json_object_set_new(json_object_get(doc, "spec"), "deletionStrategy",
                        json_pack("{s:o}", "deletionRules", rules));
    struct rayjob job;
    struct krc_error err = {0};
    assert_int_equal(rayjob_parse(doc, &job, &err), 0);
    struct raycluster_gates g;
    raycluster_gates_default(&g);
    struct krc_strbuf full = KRC_STRBUF_INIT;
    assert_int_equal(rayjob_validate_spec(&job, &g, &err, &full), KRC_EINVAL);
    assert_true(full.len > KRC_ERROR_MSG_MAX);
    assert_non_null(strstr(full.buf, "deletionRules[39]: exactly one of"));
    assert_int_equal(strlen(err.msg), KRC_ERROR_MSG_MAX - 1);
    assert_true(strncmp(err.msg, full.buf, KRC_ERROR_MSG_MAX - 1) == 0);
    krc_strbuf_release(&full);
    rayjob_release(&job);
    json_decref(doc);
}

/* The spec-only entry point used for RayCronJob templates gives the same answers. */
static void test_spec_only_matches(void **state)
{
    (void)state;
    json_t *doc = tu_load_rayjob("sample.json");
    tu_set(doc, "spec.rayClusterSpec", NULL);
    struct rayjob_spec spec;
    struct raycluster cluster;
    struct krc_error err = {0};
    assert_int_equal(rayjob_spec_parse(json_object_get(doc, "spec"), "ns", "cj", NULL,
                                       "spec.jobTemplate", &spec, &cluster, &err),
                     0);
    struct raycluster_gates g;
    raycluster_gates_default(&g);
    assert_int_equal(rayjob_validate_spec_only(&spec, &cluster, &g, &err, NULL), KRC_EINVAL);
    assert_string_equal(err.msg,
                        SPEC_INVALID "one of RayClusterSpec or ClusterSelector must be set");
    rayjob_spec_release(&spec, &cluster);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation_table),
        cmocka_unit_test(test_long_messages_are_whole_in_full),
        cmocka_unit_test(test_spec_only_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
