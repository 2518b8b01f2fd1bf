/* Unit tests for api/raycluster parsing, schema defaults and the status struct: hostile input is
 * an error naming the field, never a crash; the status round-trips through JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raycluster_testutil.h"
#include "api/raycluster.h"

static void test_parses_fields_the_operator_reasons_about(void **state)
{
    (void)state;
    json_t *doc = tu_load("autoscaler-v2.json");
    struct raycluster rc;
    tu_parse(doc, &rc);
    assert_string_equal(rc.meta.name, "raycluster-autoscaler");
    assert_string_equal(rc.meta.ns, "ray");
    assert_string_equal(rc.spec.ray_version, "2.52.0");
    assert_true(raycluster_autoscaling_enabled(&rc));
    assert_int_equal(rc.spec.autoscaler.version, RAYCLUSTER_AUTOSCALER_V2);
    assert_true(rc.spec.autoscaler.idle_timeout_seconds.set);
    assert_int_equal(rc.spec.autoscaler.idle_timeout_seconds.v, 60);
    assert_string_equal(kobj_map_get(rc.spec.head.ray_start_params, "num-cpus"), "0");
    assert_int_equal(rc.spec.n_workers, 1);
    assert_string_equal(rc.spec.workers[0].group_name, "small-group");
    assert_true(rc.spec.workers[0].replicas.set);
    assert_int_equal(rc.spec.workers[0].max_replicas.v, 10);
    assert_false(rc.spec.workers[0].num_of_hosts.set);
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_absent_ray_start_params_become_empty_maps(void **state)
{
    (void)state;
    json_t *doc = tu_load("gpu-worker.json");
    tu_set(doc, "spec.headGroupSpec.rayStartParams", NULL);
    tu_set(doc, "spec.workerGroupSpecs.0.rayStartParams", "null");
    struct raycluster rc;
    tu_parse(doc, &rc);
    assert_true(json_is_object(rc.spec.head.ray_start_params));
    assert_int_equal(json_object_size(rc.spec.head.ray_start_params), 0);
    assert_true(json_is_object(rc.spec.workers[0].ray_start_params));
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_bad_input_is_an_error_naming_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *path, *value, *want;
    } cases[] = {
        {"spec.workerGroupSpecs.0.replicas", "\"3\"",
         "RayCluster default/raycluster-sample: spec.workerGroupSpecs[0].replicas: expected an "
         "int32, got a string"},
        {"spec.workerGroupSpecs.0.replicas", "3.5", "got a number"},
        {"spec.workerGroupSpecs.0.maxReplicas", "1099511627776", "does not fit in an int32"},
        {"spec.workerGroupSpecs.0.rayStartParams", "{\"port\": 6379}",
         "spec.workerGroupSpecs[0].rayStartParams[\"port\"]: expected a string, got an integer"},
        {"spec.headGroupSpec", NULL,
         "spec.headGroupSpec: expected an object (the field is required)"},
        {"spec.headGroupSpec.template", NULL, "spec.headGroupSpec.template: expected an object"},
        {"spec.workerGroupSpecs.0.template", "[]",
         "spec.workerGroupSpecs[0].template: expected an object, got an array"},
        {"spec.headGroupSpec.template.spec.containers", "{}", "containers: expected an array"},
        {"spec.headGroupSpec.template.spec.containers.0", "\"x\"",
         "containers[0]: expected an object"},
        {"spec.headGroupSpec.template.spec.containers.0.env", "{}", "env: expected an array"},
        {"spec.headGroupSpec.template.spec.containers.0.ports", "\"8080\"",
         "containers[0].ports: expected an array, got a string"},
        {"spec.headGroupSpec.template.spec.containers.0.command", "[\"ray\", 1]",
         "containers[0].command[1]: expected a string"},
        {"spec.headGroupSpec.template.spec.containers.0.resources.limits", "[]",
         "containers[0].resources.limits: expected an object"},
        {"spec.workerGroupSpecs.0.template.spec.volumes", "{}", "spec.volumes: expected an array"},
        {"spec.enableInTreeAutoscaling", "\"true\"",
         "spec.enableInTreeAutoscaling: expected a boolean"},
        {"spec.autoscalerOptions", "{\"version\": \"v3\"}", "unsupported value \"v3\""},
        {"spec.autoscalerOptions", "{\"args\": [1]}",
         "spec.autoscalerOptions.args[0]: expected a string"},
        {"spec.workerGroupSpecs.0.scaleStrategy", "{\"workersToDelete\": [null]}",
         "workersToDelete[0]: expected a string"},
        {"spec.workerGroupSpecs", "{}", "spec.workerGroupSpecs: expected an array"},
        {"spec.workerGroupSpecs.0", "7", "spec.workerGroupSpecs[0]: expected an object"},
        {"spec.gcsFaultToleranceOptions", "{\"backend\": \"etcd\"}", "unsupported value \"etcd\""},
        {"spec.gcsFaultToleranceOptions", "{\"redisPassword\": \"x\"}",
         "redisPassword: expected an object"},
        {"metadata.labels", "{\"a\": 1}", "metadata.labels[\"a\"]: expected a string"},
        {"metadata.generation", "\"1\"", "metadata.generation: expected an integer"},
        {"status.readyWorkerReplicas", "\"1\"", "status.readyWorkerReplicas: expected an int32"},
        {"status.conditions", "[1]", "status.conditions: expected an array of objects"},
        {"spec", "[]", "spec: expected an object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = tu_load("gpu-worker.json");
        tu_set(doc, cases[i].path, cases[i].value);
        struct raycluster rc;
        struct krc_error err = {0};
        int r = raycluster_parse(doc, &rc, &err);
        if (r != KRC_EINVAL || !strstr(err.msg, cases[i].want))
            fail_msg("%s=%s: got %d [%s], want [%s]", cases[i].path,
                     cases[i].value ? cases[i].value : "(deleted)", r, err.msg, cases[i].want);
        json_decref(doc);
    }
}

static void test_non_objects_and_empty_documents(void **state)
{
    (void)state;
    struct raycluster rc;
    struct krc_error err = {0};
    json_t *arr = json_array(), *empty = json_object();
    assert_int_equal(raycluster_parse(NULL, &rc, &err), KRC_EINVAL);
    assert_int_equal(raycluster_parse(arr, &rc, &err), KRC_EINVAL);
    assert_int_equal(raycluster_parse(empty, &rc, &err), KRC_EINVAL);
    assert_non_null(strstr(err.msg, "spec"));
    json_decref(arr);
    json_decref(empty);
}

static void test_schema_defaults_fill_only_absent_fields(void **state)
{
    (void)state;
    json_t *doc = tu_load("gpu-worker.json");
    tu_set(doc, "spec.workerGroupSpecs.0.maxReplicas", NULL);
    tu_set(doc, "spec.workerGroupSpecs.0.minReplicas", "null");
    tu_set(doc, "spec.networkPolicy", "{}");
    assert_int_equal(raycluster_apply_schema_defaults(doc), 0);
    struct raycluster rc;
    tu_parse(doc, &rc);
    const struct raycluster_worker_group *w = &rc.spec.workers[0];
    assert_int_equal(w->replicas.v, 3);
    assert_int_equal(w->min_replicas.v, 0);
    assert_int_equal(w->max_replicas.v, INT32_MAX);
    assert_int_equal(w->num_of_hosts.v, 1);
    assert_true(w->priority.set);
    assert_string_equal(kobj_str(rc.spec.network_policy, "mode"), "DenyAll");
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_status_round_trips_and_omits_empty_fields(void **state)
{
    (void)state;
    json_t *doc = tu_load("minimal.json");
    tu_set(doc, "status",
           "{\"state\": \"ready\", \"desiredCPU\": \"2\", \"desiredMemory\": 1024, "
           "\"readyWorkerReplicas\": 2, \"endpoints\": {\"dashboard\": \"8265\"}, "
           "\"head\": {\"podIP\": \"10.0.0.1\"}, \"observedGeneration\": 4, "
           "\"conditions\": [{\"type\": \"HeadPodReady\", \"status\": \"True\", \"reason\": "
           "\"HeadPodRunningAndReady\", \"message\": \"\", \"lastTransitionTime\": "
           "\"2024-01-01T00:00:00Z\"}]}");
    struct raycluster rc;
    tu_parse(doc, &rc);
    json_t *out = raycluster_status_to_json(&rc.status);
    char *text = tu_dump(out);
    assert_string_equal(
        text,
        "{\"conditions\":[{\"lastTransitionTime\":\"2024-01-01T00:00:00Z\",\"message\":\"\","
        "\"reason\":\"HeadPodRunningAndReady\",\"status\":\"True\",\"type\":\"HeadPodReady\"}],"
        "\"desiredCPU\":\"2\",\"desiredGPU\":\"0\",\"desiredMemory\":\"1024\",\"desiredTPU\":"
        "\"0\",\"endpoints\":{\"dashboard\":\"8265\"},\"head\":{\"podIP\":\"10.0.0.1\"},"
        "\"observedGeneration\":4,\"readyWorkerReplicas\":2,\"state\":\"ready\"}");
    struct raycluster_status copy;
    assert_int_equal(raycluster_status_copy(&rc.status, &copy), 0);
    assert_false(raycluster_status_differs(&rc.status, &copy));
    copy.available_worker_replicas = 1;
    assert_true(raycluster_status_differs(&rc.status, &copy));
    copy.available_worker_replicas = 0;
    raycluster_status_set_str(&copy.desired_cpu, "3");
    raycluster_status_set_str(&copy.last_update_time, "2025-01-01T00:00:00Z");
    copy.observed_generation = 9;
    assert_false(raycluster_status_differs(&rc.status, &copy)); /* quirk: not compared (§9.7) */
    raycluster_status_free(&copy);
    free(text);
    json_decref(out);
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_set_condition_semantics(void **state)
{
    (void)state;
    struct raycluster_status st;
    raycluster_status_init(&st);
    assert_int_equal(raycluster_status_set_condition(&st, "A", "False", "r1", "m1", "t1"), 0);
    assert_int_equal(raycluster_status_set_condition(&st, "B", "True", "r", "", "t1"), 0);
    /* same status: reason/message change, time kept */
    assert_int_equal(raycluster_status_set_condition(&st, "A", "False", "r2", "m2", "t2"), 0);
    assert_string_equal(st.conditions[0].last_transition_time, "t1");
    assert_string_equal(st.conditions[0].reason, "r2");
    /* status change moves the time */
    assert_int_equal(raycluster_status_set_condition(&st, "A", "True", "r3", "", "t3"), 0);
    assert_string_equal(st.conditions[0].last_transition_time, "t3");
    assert_true(raycluster_status_condition_true(&st, "A"));
    raycluster_status_remove_condition(&st, "A");
    assert_int_equal(st.n_conditions, 1);
    assert_string_equal(st.conditions[0].type, "B");
    raycluster_status_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_fields_the_operator_reasons_about),
        cmocka_unit_test(test_absent_ray_start_params_become_empty_maps),
        cmocka_unit_test(test_bad_input_is_an_error_naming_the_field),
        cmocka_unit_test(test_non_objects_and_empty_documents),
        cmocka_unit_test(test_schema_defaults_fill_only_absent_fields),
        cmocka_unit_test(test_status_round_trips_and_omits_empty_fields),
        cmocka_unit_test(test_set_condition_semantics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
