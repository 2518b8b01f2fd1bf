/* Unit tests for the pure parts of ray/dashboard: decoding GET /api/jobs/{id} (spec rayjob.md
 * §10.1, §9.3) and the POST /api/jobs/ body (§8.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ray/dashboard.h"

static int parse(long status, const char *body, struct ray_job_info *info, struct krc_error *err)
{
    return ray_dashboard_parse_job_info(status, "job-1", body, body ? strlen(body) : 0, info, err);
}

static void test_job_info_fields_are_decoded(void **state)
{
    (void)state;
    const char *body =
        "{\"type\":\"SUBMISSION\",\"job_id\":\"02000000\",\"submission_id\":\"job-1\","
        "\"driver_info\":null,\"status\":\"SUCCEEDED\",\"entrypoint\":\"python x.py\","
        "\"message\":\"Job finished successfully.\",\"error_type\":null,\"start_time\":"
        "1704067200123,\"end_time\":1704067260456,\"metadata\":{\"owner\":\"me\"},"
        "\"runtime_env\":{\"pip\":[\"a\"]},\"driver_exit_code\":0}";
    struct ray_job_info info;
    struct krc_error err = {0};
    assert_int_equal(parse(200, body, &info, &err), 0);
    assert_string_equal(info.status, "SUCCEEDED");
    assert_string_equal(info.message, "Job finished successfully.");
    assert_null(info.error_type);
    assert_string_equal(info.entrypoint, "python x.py");
    assert_string_equal(info.job_id, "02000000");
    assert_string_equal(info.submission_id, "job-1");
    assert_true(info.start_time == UINT64_C(1704067200123));
    assert_true(info.end_time == UINT64_C(1704067260456));
    assert_string_equal(json_string_value(json_object_get(info.metadata, "owner")), "me");
    assert_true(json_is_array(json_object_get(info.runtime_env, "pip")));
    ray_job_info_release(&info);
}

static void test_missing_and_null_fields_read_as_zero_values(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{}", "null", "{\"status\":null,\"start_time\":null}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct ray_job_info info;
        struct krc_error err = {0};
        if (parse(200, bodies[i], &info, &err))
            fail_msg("body %s: %s", bodies[i], err.msg);
        assert_string_equal(info.status, "");
        assert_string_equal(info.message, "");
        assert_string_equal(info.job_id, "");
        assert_null(info.error_type);
        assert_null(info.metadata);
        assert_true(info.start_time == 0 && info.end_time == 0);
        ray_job_info_release(&info);
    }
}

static void test_error_type_is_kept_when_set(void **state)
{
    (void)state;
    struct ray_job_info info;
    assert_int_equal(parse(200,
                           "{\"status\":\"FAILED\",\"error_type\":\"JOB_SUPERVISOR_ACTOR_"
                           "START_FAILURE\",\"message\":\"boom\"}",
                           &info, NULL),
                     0);
    assert_string_equal(info.error_type, "JOB_SUPERVISOR_ACTOR_START_FAILURE");
    assert_string_equal(info.message, "boom");
    ray_job_info_release(&info);
}

static void test_404_is_not_found_with_kuberay_text(void **state)
{
    (void)state;
    struct ray_job_info info;
    struct krc_error err = {0};
    assert_int_equal(parse(404, "{\"status\":\"RUNNING\"}", &info, &err), KRC_ENOTFOUND);
    assert_string_equal(err.msg, "Job job-1 does not exist on the cluster");
    assert_null(info.status);
}

/* §9.3 quirk: any other status with a JSON body decodes as if successful. */
static void test_non_404_error_status_with_json_body_is_decoded(void **state)
{
    (void)state;
    struct ray_job_info info;
    assert_int_equal(parse(500, "{\"detail\":\"internal\"}", &info, NULL), 0);
    assert_string_equal(info.status, "");
    ray_job_info_release(&info);
}

static void test_undecodable_bodies_are_getjobinfo_failures(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "",
        "<html>502 Bad Gateway</html>",
        "{\"status\":",
        "[]",
        "\"RUNNING\"",
        "{\"status\":1}",
        "{\"message\":{}}",
        "{\"start_time\":-1}",
        "{\"start_time\":1.5}",
        "{\"end_time\":\"1\"}",
        "{\"metadata\":{\"k\":1}}",
        "{\"metadata\":[]}",
        "{\"runtime_env\":\"x\"}",
        "{\"error_type\":5}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct ray_job_info info;
        struct krc_error err = {0};
        int rc = parse(200, bodies[i], &info, &err);
        if (rc != KRC_EINVAL)
            fail_msg("body [%s]: rc %d, want KRC_EINVAL", bodies[i], rc);
        char want[256];
        snprintf(want, sizeof(want), "GetJobInfo fail: %s", bodies[i]);
        assert_string_equal(err.msg, want);
        assert_null(info.status);
        assert_true(ray_dashboard_is_check_failure(rc));
    }
}

static void test_terminal_statuses(void **state)
{
    (void)state;
    assert_true(ray_job_status_is_terminal("SUCCEEDED"));
    assert_true(ray_job_status_is_terminal("FAILED"));
    assert_true(ray_job_status_is_terminal("STOPPED"));
    assert_false(ray_job_status_is_terminal("RUNNING"));
    assert_false(ray_job_status_is_terminal("PENDING"));
    assert_false(ray_job_status_is_terminal(""));
    assert_false(ray_job_status_is_terminal(NULL));
    assert_false(ray_dashboard_is_check_failure(KRC_ENOTFOUND));
    assert_false(ray_dashboard_is_check_failure(0));
    assert_true(ray_dashboard_is_check_failure(KRC_ETIMEOUT));
}

static char *submit_body(const struct ray_job_submit_request *req, int want_rc,
                         struct krc_error *err)
{
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    int rc = ray_dashboard_build_submit_body(req, &sb, err);
    if (rc != want_rc)
        fail_msg("build body: rc %d want %d (%s)", rc, want_rc, err->msg);
    return krc_strbuf_detach(&sb);
}

static void test_submit_body_matches_spec_example(void **state)
{
    (void)state;
    json_t *m = json_pack("{s:s}", "owner", "test1");
    struct ray_job_submit_request req = {.entrypoint = "python samply.py",
                                         .submission_id = "rayjob-sample-x7k2p",
                                         .metadata = m,
                                         .entrypoint_num_cpus = 1.0f};
    struct krc_error err = {0};
    char *body = submit_body(&req, 0, &err);
    assert_string_equal(body, "{\"metadata\":{\"owner\":\"test1\"},\"entrypoint\":\"python "
                              "samply.py\",\"submission_id\":\"rayjob-sample-x7k2p\","
                              "\"entrypoint_num_cpus\":1}");
    free(body);
    json_decref(m);
}

static void test_submit_body_key_order_and_number_forms(void **state)
{
    (void)state;
    json_t *m = json_pack("{s:s,s:s}", "b", "2", "a", "1");
    struct ray_job_submit_request req = {
        .entrypoint = "  echo <x> && y ",
        .submission_id = "id",
        .metadata = m,
        .runtime_env_yaml = "working_dir: /w\nenv_vars: {NUM: 10}\npip: [a]\nnum: 12\nf: 1.10",
        .entrypoint_num_cpus = 1.1f,
        .entrypoint_num_gpus = 0.5f,
        .entrypoint_resources = "{\"Custom_2\": 5.5, \"Custom_1\": 1, \"z\": 0.1, \"big\": 3e10}",
    };
    struct krc_error err = {0};
    char *body = submit_body(&req, 0, &err);
    assert_string_equal(
        body, "{\"runtime_env\":{\"env_vars\":{\"NUM\":10},\"f\":1.1,\"num\":12,\"pip\":[\"a\"],"
              "\"working_dir\":\"/w\"},\"metadata\":{\"a\":\"1\",\"b\":\"2\"},"
              "\"entrypoint_resources\":{\"Custom_1\":1,\"Custom_2\":5.5,\"big\":30000000000,"
              "\"z\":0.1},\"entrypoint\":\"  echo \\u003cx\\u003e \\u0026\\u0026 y \","
              "\"submission_id\":\"id\",\"entrypoint_num_cpus\":1.1,\"entrypoint_num_gpus\":0.5}");
    free(body);
    json_decref(m);
}

static void test_submit_body_omits_empty_parts(void **state)
{
    (void)state;
    json_t *empty = json_object();
    static const char *const envs[] = {NULL, "", "{}", "~", "   "};
    static const char *const resources[] = {NULL, "", "{}", "null"};
    for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
        for (size_t j = 0; j < sizeof(resources) / sizeof(resources[0]); j++) {
            struct ray_job_submit_request req = {.runtime_env_yaml = envs[i],
                                                 .entrypoint_resources = resources[j],
                                                 .metadata = empty};
            struct krc_error err = {0};
            char *body = submit_body(&req, 0, &err);
            if (strcmp(body, "{\"entrypoint\":\"\"}") != 0)
                fail_msg("env [%s] resources [%s]: %s", envs[i] ? envs[i] : "(null)",
                         resources[j] ? resources[j] : "(null)", body);
            free(body);
        }
    }
    json_decref(empty);
}

static void test_submit_body_rejects_bad_inputs(void **state)
{
    (void)state;
    static const struct {
        const char *env, *res, *msg_prefix;
    } cases[] = {
        {"a: [1", NULL,
         "failed to unmarshal RuntimeEnvYAML: a: [1: error converting YAML to JSON: yaml: "},
        {"a: .nan", NULL,
         "failed to unmarshal RuntimeEnvYAML: a: .nan: error converting YAML to JSON: json: "
         "unsupported value: NaN"},
        {"- a", NULL,
         "failed to unmarshal RuntimeEnvYAML: - a: error unmarshaling JSON: while decoding JSON: "
         "json: cannot unmarshal array into Go value of type types.RuntimeEnvType"},
        {"- a\n- b", NULL, "failed to unmarshal RuntimeEnvYAML: - a\n- b: error unmarshaling JSON"},
        {"just text", NULL, "failed to unmarshal RuntimeEnvYAML: just text: error unmarshaling"},
        {NULL, "{\"a\": \"1\"}", "json: cannot unmarshal string into Go value of type float32"},
        {NULL, "[1]", "json: cannot unmarshal array into Go value of type map[string]float32"},
        {NULL, "{\"a\": 1e39}", "json: cannot unmarshal number"},
        {NULL, "{bad", "entrypointResources: "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ray_job_submit_request req = {.entrypoint = "x",
                                             .runtime_env_yaml = cases[i].env,
                                             .entrypoint_resources = cases[i].res};
        struct krc_error err = {0};
        char *body = submit_body(&req, KRC_EINVAL, &err);
        if (strncmp(err.msg, cases[i].msg_prefix, strlen(cases[i].msg_prefix)) != 0)
            fail_msg("case %zu: message [%s] does not start with [%s]", i, err.msg,
                     cases[i].msg_prefix);
        free(body);
    }
}

static void test_client_requires_base_url(void **state)
{
    (void)state;
    struct ray_dashboard_client *c = (struct ray_dashboard_client *)1;
    struct ray_dashboard_opts o = {.base_url = ""};
    assert_int_equal(ray_dashboard_client_new(&o, &c, NULL), KRC_EINVAL);
    assert_null(c);
    o.base_url = "http://x";
    o.auth_token = "a\r\nInjected: 1";
    assert_int_equal(ray_dashboard_client_new(&o, &c, NULL), KRC_EINVAL);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_info_fields_are_decoded),
        cmocka_unit_test(test_missing_and_null_fields_read_as_zero_values),
        cmocka_unit_test(test_error_type_is_kept_when_set),
        cmocka_unit_test(test_404_is_not_found_with_kuberay_text),
        cmocka_unit_test(test_non_404_error_status_with_json_body_is_decoded),
        cmocka_unit_test(test_undecodable_bodies_are_getjobinfo_failures),
        cmocka_unit_test(test_terminal_statuses),
        cmocka_unit_test(test_submit_body_matches_spec_example),
        cmocka_unit_test(test_submit_body_key_order_and_number_forms),
        cmocka_unit_test(test_submit_body_omits_empty_parts),
        cmocka_unit_test(test_submit_body_rejects_bad_inputs),
        cmocka_unit_test(test_client_requires_base_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
