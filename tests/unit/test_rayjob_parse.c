/* Unit tests for api/rayjob parsing, schema defaults, enum spellings, derived values, the
 * runtimeEnvYAML conversion and the status JSON round trip. Manifests live in tests/data/rayjob/
 * (our own, covering the fields of KubeRay's ray-job.*.yaml samples); each table row patches one
 * by dotted path and states what must come out. */
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

static void rj_parse(json_t *doc, struct rayjob *job)
{
    struct krc_error err = {0};
    if (rayjob_parse(doc, job, &err) != 0)
        fail_msg("parse failed: %s", err.msg);
}

/* --- every test manifest parses, with the fields it sets -------------------------------------- */

static void test_sample_fields(void **state)
{
    (void)state;
    json_t *doc = tu_load_rayjob("sample.json");
    struct rayjob job;
    rj_parse(doc, &job);
    assert_string_equal(job.meta.name, "rayjob-sample");
    assert_string_equal(job.meta.ns, "default");
    assert_string_equal(job.spec.entrypoint, "python /home/ray/samples/sample_code.py");
    assert_int_equal(job.spec.submission_mode, RAYJOB_MODE_K8S_JOB);
    assert_null(job.spec.submission_mode_raw);
    assert_true(job.spec.has_cluster_spec);
    assert_non_null(job.cluster.root);
    assert_string_equal(job.cluster.meta.name, "rayjob-sample");
    assert_int_equal(job.cluster.spec.n_workers, 1);
    assert_string_equal(job.cluster.spec.workers[0].group_name, "small-group");
    assert_string_equal(kobj_map_get(job.spec.metadata, "team"), "ml");
    assert_true(job.spec.active_deadline_seconds.set);
    assert_int_equal(job.spec.active_deadline_seconds.v, 600);
    assert_int_equal(job.spec.pre_running_deadline_seconds.v, 300);
    assert_non_null(job.spec.submitter_pod_template);
    assert_true(job.spec.submitter_config_set);
    assert_int_equal(rayjob_submitter_backoff_limit(&job.spec), 3);
    assert_int_equal(rayjob_backoff_limit(&job.spec), 0);
    assert_false(job.spec.backoff_limit.set);
    assert_false(rayjob_uses_cluster_selector(&job.spec));
    assert_null(rayjob_selector_cluster_name(&job.spec));
    assert_true(rayjob_managed_by_kuberay(&job.spec));
    assert_false(job.spec.deletion.set);
    assert_int_equal(job.status.deployment_status, RAYJOB_DS_NEW);
    assert_int_equal(job.status.job_status, RAYJOB_JS_NEW);
    assert_string_equal(job.status.message, "");
    rayjob_release(&job);
    json_decref(doc);
}

struct mode_case {
    const char *file;
    enum rayjob_submission_mode mode;
    const char *selector; /* expected cluster name from the selector, or NULL */
};

static void test_modes_and_selector(void **state)
{
    (void)state;
    static const struct mode_case cases[] = {
        {"interactive.json", RAYJOB_MODE_INTERACTIVE, NULL},
        {"http-mode.json", RAYJOB_MODE_HTTP, NULL},
        {"sidecar.json", RAYJOB_MODE_SIDECAR, NULL},
        {"existing-cluster.json", RAYJOB_MODE_K8S_JOB, "raycluster-kuberay"},
        {"shutdown.json", RAYJOB_MODE_K8S_JOB, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = tu_load_rayjob(cases[i].file);
        struct rayjob job;
        rj_parse(doc, &job);
        if (job.spec.submission_mode != cases[i].mode)
            fail_msg("%s: mode %d, want %d", cases[i].file, job.spec.submission_mode,
                     cases[i].mode);
        const char *sel = rayjob_selector_cluster_name(&job.spec);
        if (cases[i].selector ? !sel || strcmp(sel, cases[i].selector) : sel != NULL)
            fail_msg("%s: selector cluster %s, want %s", cases[i].file, sel ? sel : "(null)",
                     cases[i].selector ? cases[i].selector : "(null)");
        assert_int_equal(job.spec.has_cluster_spec, cases[i].selector == NULL);
        rayjob_release(&job);
        json_decref(doc);
    }
}

static void test_entrypoint_resources_are_float32(void **state)
{
    (void)state;
    json_t *doc = tu_load_rayjob("resources.json");
    struct rayjob job;
    tu_set(doc, "spec.entrypointNumGpus", "0.1");
    rj_parse(doc, &job);
    assert_true(job.spec.entrypoint_num_cpus == 2.0);
    assert_true(job.spec.entrypoint_num_gpus == (double)0.1f);
    assert_string_equal(job.spec.entrypoint_resources, "{\"resource1\": 1, \"resource2\": 2}");
    rayjob_release(&job);
    json_decref(doc);
}

static void test_deletion_rules_parsed(void **state)
{
    (void)state;
    json_t *doc = tu_load_rayjob("deletion-rules.json");
    struct rayjob job;
    rj_parse(doc, &job);
    const struct rayjob_deletion_strategy *d = &job.spec.deletion;
    assert_true(d->set);
    assert_true(d->rules_set);
    assert_int_equal(d->n_rules, 5);
    assert_false(d->on_success.set);
    assert_int_equal(d->rules[0].policy, RAYJOB_POLICY_DELETE_WORKERS);
    assert_true(d->rules[0].job_status_set);
    assert_int_equal(d->rules[0].job_status, RAYJOB_JS_FAILED);
    assert_int_equal(d->rules[0].ttl_seconds, 30);
    assert_string_equal(d->rules[0].condition_value, "FAILED");
    assert_true(d->rules[4].deployment_status_set);
    assert_int_equal(d->rules[4].deployment_status, RAYJOB_DS_FAILED);
    assert_int_equal(d->rules[4].policy, RAYJOB_POLICY_DELETE_SELF);
    rayjob_release(&job);
    json_decref(doc);

    doc = tu_load_rayjob("deletion-legacy.json");
    rj_parse(doc, &job);
    assert_true(job.spec.deletion.on_success.set);
    assert_int_equal(job.spec.deletion.on_success.policy, RAYJOB_POLICY_DELETE_CLUSTER);
    assert_int_equal(job.spec.deletion.on_failure.policy, RAYJOB_POLICY_DELETE_NONE);
    assert_false(job.spec.deletion.rules_set);
    rayjob_release(&job);
    json_decref(doc);
}

static void test_kueue_fields(void **state)
{
    (void)state;
    json_t *doc = tu_load_rayjob("kueue.json");
    struct rayjob job;
    rj_parse(doc, &job);
    assert_true(job.spec.suspend);
    assert_true(job.spec.shutdown_after_job_finishes);
    assert_true(rayjob_managed_by_kuberay(&job.spec));
    assert_string_equal(rayjob_label(&job, "kueue.x-k8s.io/queue-name"), "user-queue");
    rayjob_release(&job);
    tu_set(doc, "spec.managedBy", "\"kueue.x-k8s.io/multikueue\"");
    rj_parse(doc, &job);
    assert_false(rayjob_managed_by_kuberay(&job.spec));
    rayjob_release(&job);
    json_decref(doc);
}

/* --- malformed input is an error naming the field --------------------------------------------- */

struct bad_case {
    const char *path, *value;
    const char *want; /* substring of the error */
};

static void test_type_errors_name_the_field(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"spec.backoffLimit", "\"3\"", "spec.backoffLimit: expected an int32, got a string"},
        {"spec.ttlSecondsAfterFinished", "4294967296", "does not fit in an int32"},
        {"spec.entrypoint", "1", "spec.entrypoint: expected a string, got an integer"},
        {"spec.entrypointNumCpus", "\"2\"", "spec.entrypointNumCpus: expected a number"},
        {"spec.clusterSelector", "{\"ray.io/cluster\": 1}",
         "spec.clusterSelector[\"ray.io/cluster\"]: expected a string"},
        {"spec.shutdownAfterJobFinishes", "\"true\"", "expected a boolean"},
        {"spec.deletionStrategy.deletionRules", "{}", "deletionRules: expected an array"},
        {"spec.deletionStrategy.deletionRules", "[1]", "deletionRules[0]: expected an object"},
        {"spec.submitterPodTemplate.spec.containers", "[1]",
         "submitterPodTemplate.spec.containers[0]: expected an object"},
        {"spec.rayClusterSpec.headGroupSpec.template", "null",
         "RayJob default/rayjob-sample: spec.rayClusterSpec.headGroupSpec.template"},
        {"spec.rayClusterSpec.workerGroupSpecs.0.replicas", "\"1\"",
         "spec.rayClusterSpec.workerGroupSpecs[0].replicas: expected an int32"},
        {"metadata.name", "5", "metadata.name: expected a string"},
        {"status.jobStatus", "1", "status.jobStatus: expected a string"},
        {"status.rayClusterStatus", "[]", "status: expected an object"},
        {"spec", "[]", "spec: expected an object, got an array"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = tu_load_rayjob("sample.json");
        tu_set(doc, cases[i].path, cases[i].value);
        struct rayjob job;
        struct krc_error err = {0};
        int rc = rayjob_parse(doc, &job, &err);
        if (rc != KRC_EINVAL || !strstr(err.msg, cases[i].want))
            fail_msg("%s=%s: rc %d, message \"%s\", want \"%s\"", cases[i].path, cases[i].value, rc,
                     err.msg, cases[i].want);
        assert_null(job.root); /* nothing to release */
        json_decref(doc);
    }
    struct rayjob job;
    assert_int_equal(rayjob_parse(NULL, &job, NULL), KRC_EINVAL);
}

static void test_null_is_absent(void **state)
{
    (void)state;
    json_t *doc = tu_load_rayjob("sample.json");
    tu_set(doc, "spec.activeDeadlineSeconds", "null");
    tu_set(doc, "spec.submitterConfig", "null");
    tu_set(doc, "status", "null");
    struct rayjob job;
    rj_parse(doc, &job);
    assert_false(job.spec.active_deadline_seconds.set);
    assert_false(job.spec.submitter_config_set);
    assert_int_equal(rayjob_submitter_backoff_limit(&job.spec), 2);
    rayjob_release(&job);
    json_decref(doc);
}

/* --- enums -------------------------------------------------------------------------------------
 */

static void test_enum_spellings_round_trip(void **state)
{
    (void)state;
    static const char *const js[] = {"", "PENDING", "RUNNING", "STOPPED", "SUCCEEDED", "FAILED"};
    static const char *const ds[] = {"",         "Initializing",     "Running",    "Complete",
                                     "Failed",   "ValidationFailed", "Suspending", "Suspended",
                                     "Retrying", "Waiting"};
    static const char *const modes[] = {"K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"};
    static const char *const pol[] = {"DeleteCluster", "DeleteWorkers", "DeleteSelf", "DeleteNone"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(rayjob_job_status_str(rayjob_job_status_parse(js[i])), js[i]);
    for (size_t i = 0; i < 10; i++)
        assert_string_equal(rayjob_deployment_status_str(rayjob_deployment_status_parse(ds[i])),
                            ds[i]);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(rayjob_submission_mode_str(rayjob_submission_mode_parse(modes[i])),
                            modes[i]);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(rayjob_deletion_policy_str(rayjob_deletion_policy_parse(pol[i])),
                            pol[i]);
    assert_int_equal(rayjob_job_status_parse("running"), RAYJOB_JS_UNKNOWN);
    assert_int_equal(rayjob_deployment_status_parse("Done"), RAYJOB_DS_UNKNOWN);
    assert_int_equal(rayjob_submission_mode_parse(NULL), RAYJOB_MODE_K8S_JOB);
    assert_int_equal(rayjob_submission_mode_parse("K8sJob"), RAYJOB_MODE_UNKNOWN);
    assert_int_equal(rayjob_deletion_policy_parse(NULL), RAYJOB_POLICY_UNSET);
    assert_int_equal(rayjob_deletion_policy_parse(""), RAYJOB_POLICY_UNKNOWN);
    assert_true(rayjob_job_status_terminal(RAYJOB_JS_STOPPED));
    assert_true(rayjob_job_status_terminal(RAYJOB_JS_SUCCEEDED));
    assert_true(rayjob_job_status_terminal(RAYJOB_JS_FAILED));
    assert_false(rayjob_job_status_terminal(RAYJOB_JS_RUNNING));
    assert_false(rayjob_job_status_terminal(RAYJOB_JS_NEW));
    assert_true(rayjob_deployment_status_terminal(RAYJOB_DS_COMPLETE));
    assert_true(rayjob_deployment_status_terminal(RAYJOB_DS_FAILED));
    assert_false(rayjob_deployment_status_terminal(RAYJOB_DS_VALIDATION_FAILED));
}

/* --- schema defaults ---------------------------------------------------------------------------
 */

static void test_schema_defaults(void **state)
{
    (void)state;
    json_t *doc = tu_load_rayjob("deletion-rules.json");
    tu_set(doc, "spec.deletionStrategy.deletionRules.0.condition.ttlSeconds", NULL);
    tu_set(doc, "status", "{}");
    assert_int_equal(rayjob_apply_schema_defaults(doc), 0);
    assert_int_equal(json_integer_value(kobj_path(doc, "spec.backoffLimit")), 0);
    assert_non_null(kobj_path(doc, "spec.backoffLimit"));
    assert_non_null(kobj_path(doc, "spec.ttlSecondsAfterFinished"));
    assert_string_equal(kobj_path_str(doc, "spec.submissionMode"), "K8sJobMode");
    json_t *rule0 = json_array_get(kobj_path(doc, "spec.deletionStrategy.deletionRules"), 0);
    assert_non_null(kobj_path(rule0, "condition.ttlSeconds"));
    assert_int_equal(json_integer_value(kobj_path(rule0, "condition.ttlSeconds")), 0);
    json_t *rule1 = json_array_get(kobj_path(doc, "spec.deletionStrategy.deletionRules"), 1);
    assert_int_equal(json_integer_value(kobj_path(rule1, "condition.ttlSeconds")), 60);
    assert_non_null(kobj_path(doc, "status.succeeded"));
    assert_non_null(kobj_path(doc, "status.failed"));
    /* RayCluster defaults inside rayClusterSpec */
    json_t *w0 = json_array_get(kobj_path(doc, "spec.rayClusterSpec.workerGroupSpecs"), 0);
    assert_int_equal(json_integer_value(kobj_path(w0, "numOfHosts")), 1);
    /* present values are kept */
    tu_set(doc, "spec.submissionMode", "\"HTTPMode\"");
    assert_int_equal(rayjob_apply_schema_defaults(doc), 0);
    assert_string_equal(kobj_path_str(doc, "spec.submissionMode"), "HTTPMode");
    json_decref(doc);

    doc = tu_load_rayjob("existing-cluster.json");
    assert_int_equal(rayjob_apply_schema_defaults(doc), 0);
    assert_null(kobj_path(doc, "status"));
    json_decref(doc);
}

/* --- runtimeEnvYAML ----------------------------------------------------------------------------
 */

struct env_case {
    const char *yaml;
    const char *want_json; /* compact sorted JSON, "null" for a nil map, NULL = error */
    const char *want_err;  /* full message when want_json is NULL */
};

static void test_runtime_env_yaml(void **state)
{
    (void)state;
    static const struct env_case cases[] = {
        {"", "null", NULL},
        {"# only a comment\n", "null", NULL},
        {"pip:\n  - requests==2.26.0\nenv_vars:\n  counter_name: \"test_counter\"\n",
         "{\"env_vars\":{\"counter_name\":\"test_counter\"},\"pip\":[\"requests==2.26.0\"]}", NULL},
        {"a: 1\nb: 1.5\nc: yes\nd: off\ne: ~\nf: '1'\ng: 0x10\nh: true\ni: 010\n",
         "{\"a\":1,\"b\":1.5,\"c\":true,\"d\":false,\"e\":null,\"f\":\"1\",\"g\":16,\"h\":true,"
         "\"i\":8}",
         NULL},
        {"1: one\ntrue: two\n", "{\"1\":\"one\",\"true\":\"two\"}", NULL},
        {"working_dir: https://example.com/a.zip\n",
         "{\"working_dir\":\"https://example.com/a.zip\"}", NULL},
        {"invalid_yaml_str", NULL,
         "failed to unmarshal RuntimeEnvYAML: invalid_yaml_str: error unmarshaling JSON: while "
         "decoding JSON: json: cannot unmarshal string into Go value of type "
         "types.RuntimeEnvType"},
        {"- a\n- b\n", NULL,
         "failed to unmarshal RuntimeEnvYAML: - a\n- b\n: error unmarshaling JSON: while "
         "decoding JSON: json: cannot unmarshal array into Go value of type "
         "types.RuntimeEnvType"},
        {"42", NULL,
         "failed to unmarshal RuntimeEnvYAML: 42: error unmarshaling JSON: while decoding JSON: "
         "json: cannot unmarshal number into Go value of type types.RuntimeEnvType"},
        {"a: [1, 2\n", NULL, NULL},
        {"a: b: c\n", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *out = NULL;
        struct krc_error err = {0};
        struct krc_strbuf full = KRC_STRBUF_INIT;
        int rc = rayjob_runtime_env_json(cases[i].yaml, &out, &err, &full);
        if (cases[i].want_json) {
            if (rc)
                fail_msg("case %zu: error %s", i, err.msg);
            char *got = out ? tu_dump(out) : strdup("null");
            if (strcmp(got, cases[i].want_json))
                fail_msg("case %zu: got %s, want %s", i, got, cases[i].want_json);
            free(got);
        } else {
            if (rc != KRC_EINVAL)
                fail_msg("case %zu: rc %d, want KRC_EINVAL", i, rc);
            assert_null(out);
            assert_true(strncmp(full.buf, "failed to unmarshal RuntimeEnvYAML: ", 36) == 0);
            if (cases[i].want_err && strcmp(full.buf, cases[i].want_err))
                fail_msg("case %zu: got \"%s\", want \"%s\"", i, full.buf, cases[i].want_err);
            if (!cases[i].want_err && !strstr(full.buf, "error converting YAML to JSON: yaml: "))
                fail_msg("case %zu: syntax error message \"%s\"", i, full.buf);
        }
        json_decref(out);
        krc_strbuf_release(&full);
    }
}

/* --- status ------------------------------------------------------------------------------------
 */

static void test_status_round_trip(void **state)
{
    (void)state;
    json_t *doc = tu_load_rayjob("with-status.json");
    struct rayjob job;
    rj_parse(doc, &job);
    const struct rayjob_status *st = &job.status;
    assert_int_equal(st->job_status, RAYJOB_JS_RUNNING);
    assert_int_equal(st->deployment_status, RAYJOB_DS_RUNNING);
    assert_string_equal(st->ray_cluster_name, "rayjob-status-raycluster-x7k2p");
    assert_true(st->succeeded.set);
    assert_int_equal(st->succeeded.v, 0);
    assert_int_equal(st->failed.v, 1);
    assert_string_equal(st->ray_cluster_status.state, "ready");
    assert_int_equal(st->ray_cluster_status.n_conditions, 1);
    assert_int_equal(st->observed_generation, 2);
    assert_string_equal(st->ray_job_info.start_time, "2024-01-01T00:00:00Z");
    assert_string_equal(st->ray_job_info.end_time, "");

    json_t *out = rayjob_status_to_json(st);
    assert_non_null(out);
    char *want = tu_dump(json_object_get(doc, "status"));
    char *got = tu_dump(out);
    assert_string_equal(got, want);
    free(want);
    free(got);

    /* copy, equality, and the write trigger of spec §4.3 */
    struct rayjob_status cp;
    assert_int_equal(rayjob_status_copy(st, &cp), 0);
    assert_true(rayjob_status_equal(st, &cp));
    assert_false(rayjob_status_differs_for_write(st, &cp));
    assert_int_equal(rayjob_status_set_str(&cp.message, "other"), 0);
    assert_false(rayjob_status_equal(st, &cp));
    assert_false(rayjob_status_differs_for_write(st, &cp)); /* message alone: no write */
    assert_int_equal(rayjob_status_set_str(&cp.dashboard_url, "x:8265"), 0);
    assert_false(rayjob_status_differs_for_write(st, &cp));
    cp.deployment_status = RAYJOB_DS_COMPLETE;
    assert_true(rayjob_status_differs_for_write(st, &cp));
    cp.deployment_status = st->deployment_status;
    assert_int_equal(rayjob_status_set_str(&cp.ray_cluster_status.last_update_time, "x"), 0);
    assert_false(rayjob_status_differs_for_write(st, &cp));
    assert_int_equal(rayjob_status_set_str(&cp.ray_cluster_status.state, "suspended"), 0);
    assert_true(rayjob_status_differs_for_write(st, &cp));
    rayjob_status_free(&cp);
    assert_int_equal(rayjob_status_copy(st, &cp), 0);
    assert_int_equal(rayjob_status_set_str(&cp.job_status_check_failure_start_time, ""), 0);
    assert_true(rayjob_status_differs_for_write(st, &cp));
    rayjob_status_free(&cp);
    json_decref(out);
    rayjob_release(&job);
    json_decref(doc);
}

static void test_status_empty_and_unknown_values(void **state)
{
    (void)state;
    struct rayjob_status st;
    rayjob_status_init(&st);
    json_t *out = rayjob_status_to_json(&st);
    char *got = tu_dump(out);
    /* non-pointer structs are always written; rayClusterStatus has its always-present fields */
    assert_string_equal(got, "{\"rayClusterStatus\":{\"desiredCPU\":\"0\",\"desiredGPU\":\"0\","
                             "\"desiredMemory\":\"0\",\"desiredTPU\":\"0\",\"head\":{}},"
                             "\"rayJobInfo\":{}}");
    free(got);
    json_decref(out);
    rayjob_status_free(&st);

    json_t *in = tu_json("{\"jobStatus\": \"WEIRD\", \"jobDeploymentStatus\": \"Later\"}");
    struct krc_error err = {0};
    assert_int_equal(rayjob_status_parse(in, &st, &err), 0);
    assert_int_equal(st.job_status, RAYJOB_JS_UNKNOWN);
    assert_string_equal(st.job_status_raw, "WEIRD");
    assert_int_equal(st.deployment_status, RAYJOB_DS_UNKNOWN);
    assert_false(st.succeeded.set);
    out = rayjob_status_to_json(&st);
    assert_string_equal(kobj_str(out, "jobStatus"), "WEIRD");
    assert_string_equal(kobj_str(out, "jobDeploymentStatus"), "Later");
    assert_null(json_object_get(out, "succeeded"));
    json_decref(out);
    rayjob_status_free(&st);
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_fields),
        cmocka_unit_test(test_modes_and_selector),
        cmocka_unit_test(test_entrypoint_resources_are_float32),
        cmocka_unit_test(test_deletion_rules_parsed),
        cmocka_unit_test(test_kueue_fields),
        cmocka_unit_test(test_type_errors_name_the_field),
        cmocka_unit_test(test_null_is_absent),
        cmocka_unit_test(test_enum_spellings_round_trip),
        cmocka_unit_test(test_schema_defaults),
        cmocka_unit_test(test_runtime_env_yaml),
        cmocka_unit_test(test_status_round_trip),
        cmocka_unit_test(test_status_empty_and_unknown_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
