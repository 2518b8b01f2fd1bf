/* Unit tests for cli/flags.c and the shared helpers of cli/common.c: pflag's parsing rules and
 * messages (spec kubectl-ray.md §1.2, §1.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_flagdef defs[] = {
    {"labels", 0, CLI_FLAG_MAP, NULL, "labels", NULL},
    {"replicas", 'r', CLI_FLAG_INT32, "-1", "replicas", NULL},
    {"yes", 'y', CLI_FLAG_BOOL, "false", "yes", NULL},
    {"all-namespaces", 'A', CLI_FLAG_BOOL, "false", "all", NULL},
    {"worker-group", 'w', CLI_FLAG_STRING, "", "group", NULL},
    {"timeout", 0, CLI_FLAG_DURATION, "5m0s", "timeout", NULL},
    {"head-cpu", 0, CLI_FLAG_STRING, "2", "cpu", NULL},
};

static int parse(struct cli_args *a, struct krc_error *err, int argc, char **argv)
{
    return cli_args_parse(a, defs, sizeof(defs) / sizeof(defs[0]), cli_global_flags,
                          cli_nglobal_flags, argc, argv, err);
}

static void test_map_single_pair_keeps_commas(void **state)
{
    (void)state;
    json_t *m = json_object();
    char cause[256];
    assert_int_equal(cli_parse_map("a=b,c", m, cause, sizeof(cause)), 0);
    assert_string_equal(json_string_value(json_object_get(m, "a")), "b,c");
    assert_int_equal(json_object_size(m), 1);
    json_decref(m);
}

static void test_map_csv_record_of_pairs_merges(void **state)
{
    (void)state;
    json_t *m = json_object();
    char cause[256];
    assert_int_equal(cli_parse_map("app=ray,env=dev", m, cause, sizeof(cause)), 0);
    assert_int_equal(cli_parse_map("\"x=1,2\",env=prod", m, cause, sizeof(cause)), 0);
    assert_string_equal(json_string_value(json_object_get(m, "app")), "ray");
    assert_string_equal(json_string_value(json_object_get(m, "env")), "prod");
    assert_string_equal(json_string_value(json_object_get(m, "x")), "1,2");
    json_decref(m);
}

static void test_map_malformed_entry_is_named(void **state)
{
    (void)state;
    json_t *m = json_object();
    char cause[256];
    assert_int_equal(cli_parse_map("novalue", m, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "novalue must be formatted as key=value");
    assert_int_equal(cli_parse_map("a=1,b,c=2", m, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "b must be formatted as key=value");
    json_decref(m);
}

static void test_invalid_value_uses_pflag_envelope_with_shorthand(void **state)
{
    (void)state;
    struct cli_args a;
    struct krc_error err;
    char *argv[] = {"-r", "x"};
    assert_int_equal(parse(&a, &err, 2, argv), CLI_FAIL);
    assert_string_equal(err.msg, "invalid argument \"x\" for \"-r, --replicas\" flag: "
                                 "strconv.ParseInt: parsing \"x\": invalid syntax");
    cli_args_release(&a);

    char *argv2[] = {"--labels", "oops"};
    assert_int_equal(parse(&a, &err, 2, argv2), CLI_FAIL);
    assert_string_equal(err.msg, "invalid argument \"oops\" for \"--labels\" flag: oops must be "
                                 "formatted as key=value");
    cli_args_release(&a);

    char *argv3[] = {"--replicas=99999999999"};
    assert_int_equal(parse(&a, &err, 1, argv3), CLI_FAIL);
    assert_string_equal(err.msg, "invalid argument \"99999999999\" for \"-r, --replicas\" flag: "
                                 "strconv.ParseInt: parsing \"99999999999\": value out of range");
    cli_args_release(&a);
}

static void test_unknown_flags_are_reported_as_pflag_does(void **state)
{
    (void)state;
    struct cli_args a;
    struct krc_error err;
    char *argv[] = {"--nope"};
    assert_int_equal(parse(&a, &err, 1, argv), CLI_FAIL);
    assert_string_equal(err.msg, "unknown flag: --nope");
    cli_args_release(&a);
    char *argv2[] = {"-yq"};
    assert_int_equal(parse(&a, &err, 1, argv2), CLI_FAIL);
    assert_string_equal(err.msg, "unknown shorthand flag: 'q' in -yq");
    cli_args_release(&a);
    char *argv3[] = {"--worker-group"};
    assert_int_equal(parse(&a, &err, 1, argv3), CLI_FAIL);
    assert_string_equal(err.msg, "flag needs an argument: --worker-group");
    cli_args_release(&a);
}

static void test_interleaved_flags_clusters_and_dash(void **state)
{
    (void)state;
    struct cli_args a;
    struct krc_error err;
    char *argv[] = {"demo", "-yA", "-wsmall", "-n", "ns1", "--head-cpu=", "--", "python", "-c"};
    assert_int_equal(parse(&a, &err, 9, argv), 0);
    assert_true(cli_flag_bool(&a, "yes"));
    assert_true(cli_flag_bool(&a, "all-namespaces"));
    assert_string_equal(cli_flag_str(&a, "worker-group"), "small");
    assert_string_equal(cli_flag_str(&a, "namespace"), "ns1");
    assert_true(cli_flag_changed(&a, "head-cpu"));
    assert_string_equal(cli_flag_str(&a, "head-cpu"), "");
    assert_false(cli_flag_changed(&a, "labels"));
    assert_int_equal(cli_flag_int(&a, "replicas"), -1);
    assert_int_equal(cli_flag_int(&a, "timeout"), 300000);
    assert_int_equal(a.npos, 3); /* words after "--" count as arguments, as in cobra */
    assert_string_equal(a.pos[0], "demo");
    assert_int_equal(a.ndash, 2);
    assert_string_equal(a.dash[0], "python");
    assert_string_equal(a.dash[1], "-c");
    cli_args_release(&a);
}

static void test_help_flag_is_recognised_everywhere(void **state)
{
    (void)state;
    struct cli_args a;
    struct krc_error err;
    char *argv[] = {"x", "-h"};
    assert_int_equal(parse(&a, &err, 2, argv), 0);
    assert_true(a.help);
    cli_args_release(&a);
}

static void test_durations_follow_go(void **state)
{
    (void)state;
    long long ms;
    assert_int_equal(cli_parse_duration("5m0s", &ms), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(cli_parse_duration("1h30m", &ms), 0);
    assert_int_equal(ms, 5400000);
    assert_int_equal(cli_parse_duration("1.5s", &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(cli_parse_duration("0", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(cli_parse_duration("10", &ms), CLI_FAIL);
    assert_int_equal(cli_parse_duration("abc", &ms), CLI_FAIL);
}

static void test_resource_references(void **state)
{
    (void)state;
    struct cli_ref r;
    char cause[256];
    assert_int_equal(cli_ref_parse("demo", true, true, &r, cause, sizeof(cause)), 0);
    assert_int_equal(r.type, CLI_REF_RAYCLUSTER);
    assert_string_equal(r.name, "demo");
    assert_int_equal(cli_ref_parse("RayJob/j", true, true, &r, cause, sizeof(cause)), 0);
    assert_int_equal(r.type, CLI_REF_RAYJOB);
    assert_string_equal(r.name, "j");
    assert_int_equal(cli_ref_parse("RayJob/j", false, false, &r, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "unsupported resource type: RayJob");
    assert_int_equal(cli_ref_parse("pod/x", true, true, &r, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "unsupported resource type: pod/x");
    assert_int_equal(cli_ref_parse("/x", true, true, &r, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "unsupported resource type: /x");
    assert_int_equal(cli_ref_parse("a/b/c", true, true, &r, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "invalid resource type/name: a/b/c");
    assert_int_equal(cli_ref_parse("rayservice/", true, true, &r, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "invalid resource type/name: rayservice/");
}

static void test_api_message_is_the_servers(void **state)
{
    (void)state;
    struct krc_error err;
    krc_error_set(&err, KRC_ENOTFOUND,
                  "get rayclusters.ray.io default/x: 404 NotFound: rayclusters.ray.io \"x\" not "
                  "found");
    assert_string_equal(cli_api_msg(&err), "rayclusters.ray.io \"x\" not found");
    krc_error_set(&err, KRC_EIO, "connect 127.0.0.1:1: connection refused");
    assert_string_equal(cli_api_msg(&err), "connect 127.0.0.1:1: connection refused");
}

static void test_operator_version_from_image(void **state)
{
    (void)state;
    char v[128];
    assert_int_equal(cli_image_version("kuberay/operator:v1.4.0", v, sizeof(v)), 0);
    assert_string_equal(v, "v1.4.0");
    assert_int_equal(cli_image_version("localhost:5000/kuberay/operator", v, sizeof(v)), 0);
    assert_string_equal(v, "latest");
    assert_int_equal(cli_image_version("repo@sha256:abc", v, sizeof(v)), 0);
    assert_string_equal(v, "sha256:abc");
    assert_int_equal(cli_image_version("repo:v1.4.0@sha256:abc", v, sizeof(v)), 0);
    assert_string_equal(v, "v1.4.0@sha256:abc");
}

static void test_node_type_is_checked_case_insensitively(void **state)
{
    (void)state;
    char out[16];
    assert_null(cli_check_node_type("HEAD", out, sizeof(out)));
    assert_string_equal(out, "head");
    assert_string_equal(cli_check_node_type("pod", out, sizeof(out)),
                        "must be one of \"all\", \"head\", or \"worker\"");
}

static void test_gke_log_link(void **state)
{
    (void)state;
    struct krc_strbuf url = KRC_STRBUF_INIT;
    assert_int_equal(cli_gke_log_url("default", "demo", "head", "gke_my-proj_us-central1_c1", &url),
                     0);
    assert_string_equal(url.buf, "https://console.cloud.google.com/logs/query;query="
                                 "resource.type%3D%22k8s_container%22%0A"
                                 "resource.labels.namespace_name%3D%22default%22%0A"
                                 "labels.%22k8s-pod%2Fray_io%2Fcluster%22%3D%22demo%22%0A"
                                 "labels.%22k8s-pod%2Fray_io%2Fnode-type%22%3D%22head%22"
                                 "?project=my-proj");
    krc_strbuf_release(&url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_single_pair_keeps_commas),
        cmocka_unit_test(test_map_csv_record_of_pairs_merges),
        cmocka_unit_test(test_map_malformed_entry_is_named),
        cmocka_unit_test(test_invalid_value_uses_pflag_envelope_with_shorthand),
        cmocka_unit_test(test_unknown_flags_are_reported_as_pflag_does),
        cmocka_unit_test(test_interleaved_flags_clusters_and_dash),
        cmocka_unit_test(test_help_flag_is_recognised_everywhere),
        cmocka_unit_test(test_durations_follow_go),
        cmocka_unit_test(test_resource_references),
        cmocka_unit_test(test_api_message_is_the_servers),
        cmocka_unit_test(test_operator_version_from_image),
        cmocka_unit_test(test_node_type_is_checked_case_insensitively),
        cmocka_unit_test(test_gke_log_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
