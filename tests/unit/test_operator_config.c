/* The operator's configuration file (operator-runtime.md §3): defaults, field types, the
 * apiVersion/kind check and the config-only fields. */
#include "controller/operator_config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static int parse(const char *text, struct operator_config *c, struct krc_error *err)
{
    return operator_config_parse(text, strlen(text), c, err);
}

static void test_empty_file_gives_the_defaults(void **state)
{
    (void)state;
    struct operator_config c;
    assert_int_equal(parse("", &c, NULL), 0);
    assert_string_equal(c.metrics_addr, ":8080");
    assert_string_equal(c.probe_addr, ":8082");
    assert_true(c.enable_leader_election);
    assert_int_equal(c.reconcile_concurrency, 1);
    assert_true(c.qps == 100);
    assert_int_equal(c.burst, 200);
    assert_false(c.enable_metrics);
    assert_null(c.default_pod_labels);
    operator_config_release(&c);
}

static void test_fields_are_read_and_explicit_false_is_kept(void **state)
{
    (void)state;
    struct operator_config c;
    const char *text = "apiVersion: config.ray.io/v1alpha1\n"
                       "kind: Configuration\n"
                       "metricsAddr: 127.0.0.1:9090\n"
                       "enableLeaderElection: false\n"
                       "reconcileConcurrency: 4\n"
                       "watchNamespace: a,b\n"
                       "qps: 50\n"
                       "burst: 75\n"
                       "enableMetrics: true\n"
                       "unknownField: ignored\n"
                       "defaultPodLabels: {team: ml}\n"
                       "defaultContainerEnvs:\n"
                       "- name: X\n"
                       "  value: \"1\"\n";
    assert_int_equal(parse(text, &c, NULL), 0);
    assert_string_equal(c.metrics_addr, "127.0.0.1:9090");
    assert_false(c.enable_leader_election);
    assert_int_equal(c.reconcile_concurrency, 4);
    assert_string_equal(c.watch_namespace, "a,b");
    assert_true(c.qps == 50);
    assert_int_equal(c.burst, 75);
    assert_true(c.enable_metrics);
    assert_string_equal(json_string_value(json_object_get(c.default_pod_labels, "team")), "ml");
    assert_int_equal(json_array_size(c.default_container_envs), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(c.default_container_envs, 0), "value")),
        "1");
    operator_config_release(&c);
}

static void test_json_is_accepted(void **state)
{
    (void)state;
    struct operator_config c;
    assert_int_equal(parse("{\"kind\": \"Configuration\", \"burst\": 7}", &c, NULL), 0);
    assert_int_equal(c.burst, 7);
    operator_config_release(&c);
}

struct bad_case {
    const char *text;
    const char *message_part;
};

static const struct bad_case BAD[] = {
    {"burst: 300.5\n", "Configuration.burst of type int"},
    {"reconcileConcurrency: true\n", "Configuration.reconcileConcurrency of type int"},
    {"enableMetrics: \"yes\"\n", "Configuration.enableMetrics of type bool"},
    {"qps: fast\n", "Configuration.qps of type float64"},
    {"defaultPodLabels: [a]\n", "Configuration.defaultPodLabels"},
    {"apiVersion: v1\nkind: Pod\n", "no kind \"Pod\" is registered"},
    {"a: [1, 2\n", "line"},
    {"- just\n- a list\n", "not a mapping"},
};

static void test_wrong_types_and_kinds_are_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        struct operator_config c;
        struct krc_error err = {0};
        int r = parse(BAD[i].text, &c, &err);
        if (r != KRC_EINVAL || !strstr(err.msg, BAD[i].message_part))
            fail_msg("config %s: got %d \"%s\", want EINVAL mentioning \"%s\"", BAD[i].text, r,
                     err.msg, BAD[i].message_part);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_file_gives_the_defaults),
        cmocka_unit_test(test_fields_are_read_and_explicit_false_is_kept),
        cmocka_unit_test(test_json_is_accepted),
        cmocka_unit_test(test_wrong_types_and_kinds_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
