/* Unit tests for ray/jobsubmit: the submitter script of spec rayjob.md §8.2 / §17.1 / §17.2, byte
 * for byte, including its quoting, JSON and metadata-version rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ray/jobsubmit.h"

#define ENTRYPOINT_QUOTES "echo no quote 'single quote' \"double quote\""
#define WAIT_K8S_127                                                                               \
    "until python -c \"import urllib.request; "                                                    \
    "r=urllib.request.urlopen('http://127.0.0.1:8265/api/gcs_healthz', timeout=10); exit(0 if "    \
    "b'success' in r.read() else 1)\" >/dev/null 2>&1 ; do echo \"Waiting for Ray Dashboard GCS "  \
    "to become healthy at http://127.0.0.1:8265 ...\" ; sleep 2 ; done ; "
#define WAIT_SIDECAR(port)                                                                         \
    "until python -c \"import urllib.request; r=urllib.request.urlopen('http://localhost:" port    \
    "/api/gcs_healthz', timeout=10); exit(0 if b'success' in r.read() else 1)\" >/dev/null 2>&1 "  \
    "; do echo \"Waiting for Ray Dashboard GCS to become healthy at http://127.0.0.1:" port        \
    " ...\" ; sleep 2 ; done ; "
#define ALL_OPTIONS                                                                                \
    "--runtime-env-json \"{\\\"test\\\":\\\"test\\\"}\" --metadata-json "                          \
    "\"{\\\"testKey\\\":\\\"testValue\\\"}\" --submission-id testJobId --entrypoint-num-cpus "     \
    "1.000000 --entrypoint-num-gpus 0.500000 --entrypoint-resources \"{\\\"Custom_1\\\": 1, "      \
    "\\\"Custom_2\\\": 5.5}\""

static json_t *metadata_test_key(void)
{
    json_t *m = json_pack("{s:s}", "testKey", "testValue");
    assert_non_null(m);
    return m;
}

static char *build_ok(const struct ray_submit_input *in)
{
    struct krc_error err = {0};
    char *out = NULL;
    int rc = ray_jobsubmit_build_script(in, &out, &err);
    if (rc)
        fail_msg("build failed: %d %s", rc, err.msg);
    assert_non_null(out);
    return out;
}

static void assert_script(const struct ray_submit_input *in, const char *want)
{
    char *got = build_ok(in);
    if (strcmp(got, want) != 0)
        fail_msg("script differs:\n got  [%s]\n want [%s]", got, want);
    free(got);
}

static struct ray_submit_input all_options(enum ray_submit_mode mode, json_t *metadata)
{
    struct ray_submit_input in = {
        .mode = mode,
        .dashboard_url = "http://127.0.0.1:8265",
        .dashboard_port = 8265,
        .job_id = "testJobId",
        .entrypoint = ENTRYPOINT_QUOTES,
        .runtime_env_yaml = "test: test",
        .metadata = metadata,
        .has_ray_cluster_spec = true,
        .ray_version = "2.6.0",
        .entrypoint_num_cpus = 1.0f,
        .entrypoint_num_gpus = 0.5f,
        .entrypoint_resources = "{\"Custom_1\": 1, \"Custom_2\": 5.5}",
    };
    return in;
}

static void test_k8s_job_mode_without_options_matches_kuberay_example(void **state)
{
    (void)state;
    struct ray_submit_input in = {.mode = RAY_SUBMIT_K8S_JOB,
                                  .dashboard_url = "test-url",
                                  .job_id = "test-job-id",
                                  .entrypoint = ENTRYPOINT_QUOTES};
    assert_script(
        &in, "until python -c \"import urllib.request; "
             "r=urllib.request.urlopen('http://test-url/api/gcs_healthz', timeout=10); exit(0 if "
             "b'success' in r.read() else 1)\" >/dev/null 2>&1 ; do echo \"Waiting for Ray "
             "Dashboard GCS to become healthy at http://test-url ...\" ; sleep 2 ; done ; if ! ray "
             "job status --address http://test-url test-job-id >/dev/null 2>&1 ; then ray job "
             "submit --address http://test-url --no-wait --submission-id test-job-id -- echo no "
             "quote 'single quote' \"double quote\" ; fi ; ray job logs --address http://test-url "
             "--follow test-job-id");
}

static void test_k8s_job_mode_with_every_option_matches_spec_17_1(void **state)
{
    (void)state;
    json_t *m = metadata_test_key();
    struct ray_submit_input in = all_options(RAY_SUBMIT_K8S_JOB, m);
    assert_script(&in, WAIT_K8S_127 "if ! ray job status --address http://127.0.0.1:8265 testJobId "
                                    ">/dev/null 2>&1 ; then ray job submit --address "
                                    "http://127.0.0.1:8265 --no-wait " ALL_OPTIONS
                                    " -- " ENTRYPOINT_QUOTES " ; fi ; ray job logs --address "
                                    "http://127.0.0.1:8265 --follow testJobId");
    json_decref(m);
}

static void test_sidecar_mode_uses_direct_form_and_localhost_probe(void **state)
{
    (void)state;
    json_t *m = metadata_test_key();
    struct ray_submit_input in = all_options(RAY_SUBMIT_SIDECAR, m);
    in.dashboard_url = ""; /* unknown when the RayCluster is built: not used in this mode */
    assert_script(&in,
                  WAIT_SIDECAR("8265") "ray job submit --address http://127.0.0.1:8265 " ALL_OPTIONS
                                       " -- " ENTRYPOINT_QUOTES " ;");
    in.dashboard_port = 9000;
    assert_script(&in,
                  WAIT_SIDECAR("9000") "ray job submit --address http://127.0.0.1:9000 " ALL_OPTIONS
                                       " -- " ENTRYPOINT_QUOTES " ;");
    in.dashboard_port = 0; /* no port named dashboard: the default */
    assert_script(&in,
                  WAIT_SIDECAR("8265") "ray job submit --address http://127.0.0.1:8265 " ALL_OPTIONS
                                       " -- " ENTRYPOINT_QUOTES " ;");
    json_decref(m);
}

static void test_sidecar_mode_with_restart_gate_uses_status_check_form(void **state)
{
    (void)state;
    struct ray_submit_input in = {.mode = RAY_SUBMIT_SIDECAR,
                                  .sidecar_status_check = true,
                                  .job_id = "testJobId",
                                  .entrypoint = "python x.py"};
    assert_script(&in, WAIT_SIDECAR("8265") "if ! ray job status --address http://127.0.0.1:8265 "
                                            "testJobId >/dev/null 2>&1 ; then ray job submit "
                                            "--address http://127.0.0.1:8265 --no-wait "
                                            "--submission-id testJobId -- python x.py ; fi ; ray "
                                            "job logs --address http://127.0.0.1:8265 --follow "
                                            "testJobId");
}

static void test_empty_tokens_keep_their_separators(void **state)
{
    (void)state;
    struct ray_submit_input in = {
        .mode = RAY_SUBMIT_K8S_JOB, .dashboard_url = "h:1", .job_id = "", .entrypoint = "  \t "};
    char *got = build_ok(&in);
    assert_non_null(strstr(got, "ray job status --address http://h:1  >/dev/null"));
    assert_non_null(strstr(got, "--no-wait --  ; fi ;"));
    assert_null(strstr(got, "--submission-id"));
    const char *tail = "--follow ";
    size_t n = strlen(got), m = strlen(tail);
    assert_true(n > m && strcmp(got + n - m, tail) == 0);
    free(got);
}

static void test_entrypoint_is_trimmed_and_inserted_raw(void **state)
{
    (void)state;
    struct ray_submit_input in = {.mode = RAY_SUBMIT_SIDECAR,
                                  .job_id = "id",
                                  .entrypoint = "\n  python -c \"print($HOME)\" && echo `x`  \n"};
    char *got = build_ok(&in);
    assert_non_null(strstr(got, "-- python -c \"print($HOME)\" && echo `x` ;"));
    free(got);
}

static void test_float_flags_use_go_percent_f_of_float32(void **state)
{
    (void)state;
    static const struct {
        float v;
        const char *want;
    } cases[] = {
        {1.0f, "--entrypoint-num-cpus 1.000000 "},
        {0.5f, "--entrypoint-num-cpus 0.500000 "},
        {0.1f, "--entrypoint-num-cpus 0.100000 "},
        {2.25f, "--entrypoint-num-cpus 2.250000 "},
        {1e-7f, "--entrypoint-num-cpus 0.000000 "},
        {123456.789f, "--entrypoint-num-cpus 123456.789062 "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ray_submit_input in = {
            .mode = RAY_SUBMIT_SIDECAR, .entrypoint = "x", .entrypoint_num_cpus = cases[i].v};
        char *got = build_ok(&in);
        if (!strstr(got, cases[i].want))
            fail_msg("cpus %g: want [%s] in [%s]", (double)cases[i].v, cases[i].want, got);
        free(got);
    }
    struct ray_submit_input zero = {.mode = RAY_SUBMIT_SIDECAR,
                                    .entrypoint = "x",
                                    .entrypoint_num_cpus = 0.0f,
                                    .entrypoint_num_gpus = -1.0f};
    char *got = build_ok(&zero);
    assert_null(strstr(got, "--entrypoint-num"));
    free(got);
}

/* runtimeEnvYAML -> --runtime-env-json "<Go JSON, strconv.Quote'd>". */
static void test_runtime_env_yaml_is_reencoded_as_go_json(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"test: test", "\"{\\\"test\\\":\\\"test\\\"}\""},
        {"   ", "\"null\""},
        {"b: 1\na: 2", "\"{\\\"a\\\":2,\\\"b\\\":1}\""},
        {"f: 1.0\ng: 1.5\nh: 1e3\ni: .5",
         "\"{\\\"f\\\":1,\\\"g\\\":1.5,\\\"h\\\":1000,\\\"i\\\":0.5}\""},
        {"a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: ~\ng: null\nh:",
         "\"{\\\"a\\\":true,\\\"b\\\":false,\\\"c\\\":true,\\\"d\\\":false,\\\"e\\\":true,"
         "\\\"f\\\":"
         "null,\\\"g\\\":null,\\\"h\\\":null}\""},
        {"a: 0x1F\nb: 017\nc: 0o17\nd: 1_000\ne: -0b11\nf: +5",
         "\"{\\\"a\\\":31,\\\"b\\\":15,\\\"c\\\":15,\\\"d\\\":1000,\\\"e\\\":-3,\\\"f\\\":5}\""},
        {"a: '1'\nb: \"yes\"\nc: |\n  x\n",
         "\"{\\\"a\\\":\\\"1\\\",\\\"b\\\":\\\"yes\\\",\\\"c\\\":\\\"x\\\\n\\\"}\""},
        {"a: <b> & c", "\"{\\\"a\\\":\\\"\\\\u003cb\\\\u003e \\\\u0026 c\\\"}\""},
        {"pip: [requests, 'numpy==1.0']\nenv_vars: {K: v}",
         "\"{\\\"env_vars\\\":{\\\"K\\\":\\\"v\\\"},\\\"pip\\\":[\\\"requests\\\",\\\"numpy==1."
         "0\\\"]}\""},
        /* go-yaml v2 resolves keys too: y/n/on/off keys become "true"/"false". */
        {"n: 1\nY: 2", "\"{\\\"false\\\":1,\\\"true\\\":2}\""},
        {"1: a\ntrue: b\n1.5: c",
         "\"{\\\"1\\\":\\\"a\\\",\\\"1.5\\\":\\\"c\\\",\\\"true\\\":\\\"b\\\"}\""},
        {"a: 2001-12-14\nb: 1.2.3\nc: 1e400",
         "\"{\\\"a\\\":\\\"2001-12-14\\\",\\\"b\\\":\\\"1.2.3\\\",\\\"c\\\":\\\"1e400\\\"}\""},
        {"a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n  j: 2",
         "\"{\\\"a\\\":{\\\"k\\\":1},\\\"b\\\":{\\\"k\\\":1},\\\"c\\\":{\\\"j\\\":2,\\\"k\\\":1}}"
         "\""},
        {"a: !!str 5\nb: !!float 2\nc: 9223372036854775807",
         "\"{\\\"a\\\":\\\"5\\\",\\\"b\\\":2,\\\"c\\\":9223372036854775807}\""},
        {"a: h\xc3\xa9llo", "\"{\\\"a\\\":\\\"h\xc3\xa9llo\\\"}\""},
        {"x: 1\n---\ny: 2\n", "\"{\\\"x\\\":1}\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ray_submit_input in = {
            .mode = RAY_SUBMIT_SIDECAR, .entrypoint = "x", .runtime_env_yaml = cases[i].yaml};
        char *got = build_ok(&in);
        char want[512];
        snprintf(want, sizeof(want), "--runtime-env-json %s -- x ;", cases[i].want);
        if (!strstr(got, want))
            fail_msg("yaml [%s]:\n want [%s]\n in   [%s]", cases[i].yaml, want, got);
        free(got);
    }
}

static void test_malformed_runtime_env_yaml_fails_with_yaml_error(void **state)
{
    (void)state;
    static const char *const bad[] = {"a: [1, 2", "a: b: c", "\tx: 1", "a: *nope", "a: 'open"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ray_submit_input in = {
            .mode = RAY_SUBMIT_K8S_JOB, .dashboard_url = "u", .runtime_env_yaml = bad[i]};
        struct krc_error err = {0};
        char *out = (char *)1;
        assert_int_equal(ray_jobsubmit_build_script(&in, &out, &err), KRC_EINVAL);
        assert_null(out);
        if (strncmp(err.msg, "yaml: ", 6) != 0)
            fail_msg("yaml [%s]: message [%s] lacks the yaml: prefix", bad[i], err.msg);
    }
}

/* Go strconv.Quote through --entrypoint-resources, which is passed as given. */
static void test_quoting_follows_go_strconv_quote(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"{\"a\": 1}", "\"{\\\"a\\\": 1}\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"\a\b\f\n\r\t\v", "\"\\a\\b\\f\\n\\r\\t\\v\""},
        {"\x01\x1f\x7f", "\"\\x01\\x1f\\x7f\""},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
         "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"bad\xff\xc3", "\"bad\\xff\\xc3\""},
        {"nb\xc2\xa0sp\xc2\x85", "\"nb\\u00a0sp\\u0085\""},
        {"zw\xe2\x80\x8b bom\xef\xbb\xbf", "\"zw\\u200b bom\\ufeff\""},
        {"pua\xee\x80\x80 \xf4\x8f\xbf\xbd", "\"pua\\ue000 \\U0010fffd\""},
        {"$HOME `x`", "\"$HOME `x`\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ray_submit_input in = {
            .mode = RAY_SUBMIT_SIDECAR, .entrypoint = "x", .entrypoint_resources = cases[i].in};
        char *got = build_ok(&in);
        char want[256];
        snprintf(want, sizeof(want), "--entrypoint-resources %s -- x ;", cases[i].want);
        if (!strstr(got, want))
            fail_msg("case %zu:\n want [%s]\n in   [%s]", i, want, got);
        free(got);
    }
}

static void test_metadata_is_sorted_go_json(void **state)
{
    (void)state;
    json_t *m = json_pack("{s:s,s:s,s:s}", "zeta", "1", "alpha", "<&>", "mid", "q\"uote");
    struct ray_submit_input in = {.mode = RAY_SUBMIT_SIDECAR, .entrypoint = "x", .metadata = m};
    char *got = build_ok(&in);
    const char *want = "--metadata-json \"{\\\"alpha\\\":\\\"\\\\u003c\\\\u0026\\\\u003e\\\","
                       "\\\"mid\\\":\\\"q\\\\\\\"uote\\\",\\\"zeta\\\":\\\"1\\\"}\" -- x ;";
    if (!strstr(got, want))
        fail_msg("want [%s] in [%s]", want, got);
    free(got);
    json_decref(m);

    json_t *empty = json_object();
    in.metadata = empty;
    got = build_ok(&in);
    assert_null(strstr(got, "--metadata-json"));
    free(got);
    json_decref(empty);
}

static void test_metadata_requires_ray_2_6_or_newer(void **state)
{
    (void)state;
    static const struct {
        bool has_spec;
        const char *version;
        int rc;
        const char *msg;
    } cases[] = {
        {true, "2.6.0", 0, NULL},
        {true, "2.6", 0, NULL},
        {true, "v2.7.0", 0, NULL},
        {true, "2.52.0", 0, NULL},
        {true, "3", 0, NULL},
        {true, "2.6.0+build.1", 0, NULL},
        {true, "", 0, NULL},
        {true, NULL, 0, NULL},
        {false, "1.0.0", 0, NULL},
        {true, "2.5.0", KRC_EINVAL,
         "the Ray version must be at least 2.6.0 to use the metadata field"},
        {true, "2.10.0-rc1", KRC_EINVAL,
         "the Ray version must be at least 2.6.0 to use the metadata field"},
        {true, "nightly", KRC_EINVAL,
         "failed to parse Ray version: nightly: invalid semantic version"},
        {true, "not-a-version", KRC_EINVAL,
         "failed to parse Ray version: not-a-version: invalid semantic version"},
        {true, "2.6.0.1", KRC_EINVAL,
         "failed to parse Ray version: 2.6.0.1: invalid semantic version"},
        {true, "2.7.0-01", KRC_EINVAL,
         "failed to parse Ray version: 2.7.0-01: version segment starts with 0"},
        {true, "99999999999999999999.0", KRC_EINVAL,
         "failed to parse Ray version: 99999999999999999999.0: error parsing version segment: "
         "strconv.ParseUint: parsing \"99999999999999999999\": value out of range"},
    };
    json_t *m = metadata_test_key();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ray_submit_input in = all_options(RAY_SUBMIT_K8S_JOB, m);
        in.has_ray_cluster_spec = cases[i].has_spec;
        in.ray_version = cases[i].version;
        struct krc_error err = {0};
        char *out = NULL;
        int rc = ray_jobsubmit_build_script(&in, &out, &err);
        if (rc != cases[i].rc)
            fail_msg("version [%s]: rc %d want %d (%s)",
                     cases[i].version ? cases[i].version : "(null)", rc, cases[i].rc, err.msg);
        if (rc == 0) {
            assert_non_null(strstr(out, "--metadata-json"));
        } else {
            assert_null(out);
            if (strcmp(err.msg, cases[i].msg) != 0)
                fail_msg("version [%s]:\n got  [%s]\n want [%s]", cases[i].version, err.msg,
                         cases[i].msg);
        }
        free(out);
    }
    /* Without metadata the version is never checked. */
    struct ray_submit_input in = all_options(RAY_SUBMIT_K8S_JOB, NULL);
    in.ray_version = "nightly";
    free(build_ok(&in));
    json_decref(m);
}

static void test_metadata_with_non_string_value_is_rejected(void **state)
{
    (void)state;
    json_t *m = json_pack("{s:i}", "n", 1);
    struct ray_submit_input in = {.mode = RAY_SUBMIT_SIDECAR, .entrypoint = "x", .metadata = m};
    struct krc_error err = {0};
    char *out = NULL;
    assert_int_equal(ray_jobsubmit_build_script(&in, &out, &err), KRC_EINVAL);
    assert_null(out);
    json_decref(m);
}

static void test_address_and_shell_helpers(void **state)
{
    (void)state;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    struct ray_submit_input k8s = {.mode = RAY_SUBMIT_K8S_JOB,
                                   .dashboard_url = "c-head-svc.ns.svc.cluster.local:8265"};
    assert_int_equal(ray_jobsubmit_address(&k8s, &sb), 0);
    assert_string_equal(sb.buf, "http://c-head-svc.ns.svc.cluster.local:8265");
    krc_strbuf_reset(&sb);
    k8s.dashboard_url = "http://x:1";
    assert_int_equal(ray_jobsubmit_address(&k8s, &sb), 0);
    assert_string_equal(sb.buf, "http://x:1");
    krc_strbuf_reset(&sb);
    k8s.dashboard_url = "https://x:1"; /* only http:// is recognised, as in KubeRay */
    assert_int_equal(ray_jobsubmit_address(&k8s, &sb), 0);
    assert_string_equal(sb.buf, "http://https://x:1");
    krc_strbuf_release(&sb);

    assert_string_equal(ray_jobsubmit_shell_flag(false), "-ce");
    assert_string_equal(ray_jobsubmit_shell_flag(true), "-cel");
    assert_true(ray_jobsubmit_login_shell_enabled("TRUE"));
    assert_true(ray_jobsubmit_login_shell_enabled("true"));
    assert_false(ray_jobsubmit_login_shell_enabled("1"));
    assert_false(ray_jobsubmit_login_shell_enabled(""));
    assert_false(ray_jobsubmit_login_shell_enabled(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_k8s_job_mode_without_options_matches_kuberay_example),
        cmocka_unit_test(test_k8s_job_mode_with_every_option_matches_spec_17_1),
        cmocka_unit_test(test_sidecar_mode_uses_direct_form_and_localhost_probe),
        cmocka_unit_test(test_sidecar_mode_with_restart_gate_uses_status_check_form),
        cmocka_unit_test(test_empty_tokens_keep_their_separators),
        cmocka_unit_test(test_entrypoint_is_trimmed_and_inserted_raw),
        cmocka_unit_test(test_float_flags_use_go_percent_f_of_float32),
        cmocka_unit_test(test_runtime_env_yaml_is_reencoded_as_go_json),
        cmocka_unit_test(test_malformed_runtime_env_yaml_fails_with_yaml_error),
        cmocka_unit_test(test_quoting_follows_go_strconv_quote),
        cmocka_unit_test(test_metadata_is_sorted_go_json),
        cmocka_unit_test(test_metadata_requires_ray_2_6_or_newer),
        cmocka_unit_test(test_metadata_with_non_string_value_is_rejected),
        cmocka_unit_test(test_address_and_shell_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
