/* Unit tests for controller/rayjob_submitter: the K8sJobMode submitter Job (spec rayjob.md §8.1,
 * worked example §17.1) and the SidecarMode container (§8.3.1, §17.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kobj.h"
#include "controller/rayjob_submitter.h"

#define CLUSTER_SPEC_MIN                                                                           \
    "\"rayClusterSpec\": {\"headGroupSpec\": {\"template\": {\"spec\": {\"containers\": "          \
    "[{\"name\": \"h\", \"image\": \"i\"}]}}}}"

#define EXAMPLE_SPEC                                                                               \
    "\"entrypoint\": \"echo no quote 'single quote' \\\"double quote\\\"\", "                      \
    "\"runtimeEnvYAML\": \"test: test\", \"metadata\": {\"testKey\": \"testValue\"}, "             \
    "\"entrypointNumCpus\": 1, \"entrypointNumGpus\": 0.5, "                                       \
    "\"entrypointResources\": \"{\\\"Custom_1\\\": 1, \\\"Custom_2\\\": 5.5}\", "                  \
    "\"rayClusterSpec\": {\"rayVersion\": \"2.6.0\", \"headGroupSpec\": {\"template\": "           \
    "{\"spec\": {\"containers\": [{\"name\": \"ray-head\", \"image\": \"rayproject/ray:2.9.0\", "  \
    "\"ports\": [{\"name\": \"dashboard\", \"containerPort\": 8265}]}]}}}}"

static const char *const EXAMPLE_SCRIPT =
    "until python -c \"import urllib.request; "
    "r=urllib.request.urlopen('http://127.0.0.1:8265/api/gcs_healthz', timeout=10); exit(0 if "
    "b'success' in r.read() else 1)\" >/dev/null 2>&1 ; do echo \"Waiting for Ray Dashboard GCS "
    "to become healthy at http://127.0.0.1:8265 ...\" ; sleep 2 ; done ; if ! ray job status "
    "--address http://127.0.0.1:8265 testJobId >/dev/null 2>&1 ; then ray job submit --address "
    "http://127.0.0.1:8265 --no-wait --runtime-env-json \"{\\\"test\\\":\\\"test\\\"}\" "
    "--metadata-json \"{\\\"testKey\\\":\\\"testValue\\\"}\" --submission-id testJobId "
    "--entrypoint-num-cpus 1.000000 --entrypoint-num-gpus 0.500000 --entrypoint-resources "
    "\"{\\\"Custom_1\\\": 1, \\\"Custom_2\\\": 5.5}\" -- echo no quote 'single quote' \"double "
    "quote\" ; fi ; ray job logs --address http://127.0.0.1:8265 --follow testJobId";

static void parse(const char *spec_members, struct rayjob *job)
{
    char text[8192];
    json_error_t jerr;
    snprintf(text, sizeof(text),
             "{\"metadata\": {\"name\": \"job\", \"namespace\": \"ns\", \"uid\": \"u-1\"}, "
             "\"spec\": {%s}}",
             spec_members);
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("bad test JSON: %s", jerr.text);
    struct krc_error err = {0};
    if (rayjob_parse(doc, job, &err))
        fail_msg("parse: %s", err.msg);
    json_decref(doc);
}

static const char *env_value(const json_t *container, size_t i, const char **name)
{
    json_t *e = json_array_get(kobj_arr(container, "env"), i);
    *name = kobj_str(e, "name");
    return kobj_str(e, "value");
}

static void test_k8s_job_mode_submitter_matches_the_worked_example(void **state)
{
    (void)state;
    struct rayjob job;
    parse(EXAMPLE_SPEC, &job);
    struct rayjob_submitter_input in = {
        &job, &job.cluster, "job-abcde", "testJobId", "http://127.0.0.1:8265", false};
    json_t *obj = NULL;
    struct krc_error err = {0};
    assert_int_equal(rayjob_build_submitter_job(&in, &obj, &err), 0);
    assert_string_equal(kobj_path_str(obj, "metadata.name"), "job");
    assert_string_equal(
        kobj_map_get(kobj_path(obj, "metadata.labels"), "app.kubernetes.io/created-by"),
        "kuberay-operator");
    assert_int_equal(json_integer_value(kobj_path(obj, "spec.backoffLimit")), 2);
    json_t *owner = json_array_get(kobj_path(obj, "metadata.ownerReferences"), 0);
    assert_string_equal(kobj_str(owner, "kind"), "RayJob");
    assert_true(json_is_true(json_object_get(owner, "controller")));
    json_t *pod = kobj_path(obj, "spec.template.spec");
    assert_string_equal(kobj_str(pod, "restartPolicy"), "Never");
    json_t *c0 = kobj_container(pod, 0);
    assert_string_equal(kobj_str(c0, "name"), "ray-job-submitter");
    assert_string_equal(kobj_str(c0, "image"), "rayproject/ray:2.9.0");
    assert_string_equal(kobj_path_str(c0, "resources.requests.cpu"), "500m");
    json_t *cmd = kobj_arr(c0, "command"), *args = kobj_arr(c0, "args");
    assert_int_equal(json_array_size(cmd), 3);
    assert_string_equal(json_string_value(json_array_get(cmd, 1)), "-ce");
    assert_int_equal(json_array_size(args), 1);
    assert_string_equal(json_string_value(json_array_get(args, 0)), EXAMPLE_SCRIPT);
    const char *n, *v;
    v = env_value(c0, 0, &n);
    assert_string_equal(n, "PYTHONUNBUFFERED");
    assert_string_equal(v, "1");
    v = env_value(c0, 1, &n);
    assert_string_equal(n, "RAY_DASHBOARD_ADDRESS");
    assert_string_equal(v, "http://127.0.0.1:8265");
    v = env_value(c0, 2, &n);
    assert_string_equal(n, "RAY_JOB_SUBMISSION_ID");
    assert_string_equal(v, "testJobId");
    assert_string_equal(
        kobj_map_get(kobj_path(obj, "spec.template.metadata.labels"), "ray.io/originated-from-crd"),
        "RayJob");
    json_decref(obj);
    rayjob_release(&job);
}

static void test_user_template_with_a_command_is_kept_and_gets_the_env(void **state)
{
    (void)state;
    struct rayjob job;
    parse(
        "\"entrypoint\": \"python x.py\", \"submitterConfig\": {\"backoffLimit\": 0}, "
        "\"submitterPodTemplate\": {\"spec\": {\"restartPolicy\": \"OnFailure\", "
        "\"containers\": [{\"name\": \"mine\", \"image\": \"img\", \"command\": [\"/submitter\"], "
        "\"env\": [{\"name\": \"A\", \"value\": \"b\"}]}]}}, " CLUSTER_SPEC_MIN,
        &job);
    struct rayjob_submitter_input in = {&job, &job.cluster, "c", "id-1", "svc:8265", true};
    json_t *obj = NULL;
    assert_int_equal(rayjob_build_submitter_job(&in, &obj, NULL), 0);
    assert_int_equal(json_integer_value(kobj_path(obj, "spec.backoffLimit")), 0);
    json_t *c0 = kobj_container(kobj_path(obj, "spec.template.spec"), 0);
    assert_string_equal(kobj_str(c0, "name"), "mine");
    assert_int_equal(json_array_size(kobj_arr(c0, "command")), 1);
    assert_null(kobj_arr(c0, "args"));
    assert_int_equal(json_array_size(kobj_arr(c0, "env")), 4);
    const char *n, *v = env_value(c0, 3, &n);
    assert_string_equal(n, "RAY_JOB_SUBMISSION_ID");
    assert_string_equal(v, "id-1");
    json_decref(obj);
    rayjob_release(&job);
}

static void test_metadata_with_an_old_ray_version_blocks_the_submitter(void **state)
{
    (void)state;
    struct rayjob job;
    parse("\"entrypoint\": \"python x.py\", \"metadata\": {\"k\": \"v\"}, \"rayClusterSpec\": "
          "{\"rayVersion\": \"2.5.0\", \"headGroupSpec\": {\"template\": {\"spec\": "
          "{\"containers\": [{\"name\": \"h\", \"image\": \"i\"}]}}}}",
          &job);
    struct rayjob_submitter_input in = {&job, &job.cluster, "c", "id", "svc:8265", false};
    json_t *obj = NULL;
    struct krc_error err = {0};
    assert_int_equal(rayjob_build_submitter_job(&in, &obj, &err), KRC_EINVAL);
    assert_null(obj);
    assert_non_null(strstr(err.msg, "the Ray version must be at least 2.6.0"));
    rayjob_release(&job);
}

static void test_sidecar_container_uses_the_direct_form_and_an_empty_address(void **state)
{
    (void)state;
    struct rayjob job;
    parse("\"submissionMode\": \"SidecarMode\", " EXAMPLE_SPEC, &job);
    struct rayjob_submitter_input in = {&job, &job.cluster, "job-x", "testJobId", "", false};
    json_t *c = NULL;
    assert_int_equal(rayjob_build_sidecar_container(&in, &c, NULL), 0);
    assert_string_equal(kobj_str(c, "name"), "ray-job-submitter");
    const char *script = json_string_value(json_array_get(kobj_arr(c, "args"), 0));
    assert_non_null(strstr(script, "http://localhost:8265/api/gcs_healthz"));
    assert_non_null(strstr(script, "ray job submit --address http://127.0.0.1:8265 --runtime-env"));
    assert_null(strstr(script, "--no-wait"));
    const char *n, *v = env_value(c, 1, &n);
    assert_string_equal(n, "RAY_DASHBOARD_ADDRESS");
    assert_string_equal(v, "");
    json_decref(c);
    rayjob_release(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_k8s_job_mode_submitter_matches_the_worked_example),
        cmocka_unit_test(test_user_template_with_a_command_is_kept_and_gets_the_env),
        cmocka_unit_test(test_metadata_with_an_old_ray_version_blocks_the_submitter),
        cmocka_unit_test(test_sidecar_container_uses_the_direct_form_and_an_empty_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
