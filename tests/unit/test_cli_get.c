/* Unit tests for cli/table.c, cli/get.c and cli/scale.c: the `get` tables, ages and quantities,
 * and the checks and changes of `scale cluster` (spec kubectl-ray.md §1.4, §4.3-§4.5, §4.10,
 * worked example 3 of §8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cli/get.h"
#include "cli/scale.h"

/* 2026-01-01T00:00:00Z */
#define T0 1767225600LL

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad fixture: %s", e.text);
    return v;
}

static char *render(struct cli_table *t)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    assert_int_equal(cli_table_print(t, &out), 0);
    cli_table_release(t);
    return krc_strbuf_detach(&out);
}

static void test_table_pads_all_but_last_column(void **state)
{
    (void)state;
    struct cli_table t;
    const char *h[] = {"A", "LONGER", "LAST"};
    const char *r[] = {"x", "y", "z"};
    assert_int_equal(cli_table_init(&t, 3, h), 0);
    assert_int_equal(cli_table_add(&t, r), 0);
    char *s = render(&t);
    assert_string_equal(s, "A     LONGER   LAST\n"
                           "x     y        z\n");
    free(s);
}

static void test_table_without_rows_prints_nothing(void **state)
{
    (void)state;
    struct cli_table t;
    const char *h[] = {"NAME", "AGE"};
    assert_int_equal(cli_table_init(&t, 2, h), 0);
    char *s = render(&t);
    assert_string_equal(s, "");
    free(s);
}

static void test_human_durations_match_kubectl(void **state)
{
    (void)state;
    static const struct {
        long long s;
        const char *want;
    } cases[] = {{-5, "<invalid>"}, {-1, "0s"},       {0, "0s"},        {45, "45s"},
                 {119, "119s"},     {125, "2m5s"},    {180, "3m"},      {599, "9m59s"},
                 {1500, "25m"},     {10740, "179m"},  {10800, "3h"},    {12000, "3h20m"},
                 {43200, "12h"},    {190800, "2d5h"}, {2592000, "30d"}, {65664000, "2y30d"}};
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cli_human_duration(cases[i].s, buf, sizeof(buf));
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("%llds: got %s, want %s", cases[i].s, buf, cases[i].want);
    }
    cli_age(NULL, T0, buf, sizeof(buf));
    assert_string_equal(buf, "<unknown>");
    cli_age("2025-12-31T23:35:00Z", T0, buf, sizeof(buf));
    assert_string_equal(buf, "25m");
}

/* §8 example 3: get cluster 25 minutes after creation, 8 CPUs / 16Gi desired. */
static void test_get_cluster_row_of_example_3(void **state)
{
    (void)state;
    json_t *list = load("{\"items\":[{\"metadata\":{\"name\":\"demo\",\"namespace\":\"default\","
                        "\"creationTimestamp\":\"2025-12-31T23:35:00Z\"},"
                        "\"status\":{\"desiredWorkerReplicas\":3,\"availableWorkerReplicas\":3,"
                        "\"desiredCPU\":\"8\",\"desiredMemory\":\"16Gi\",\"desiredGPU\":\"0\","
                        "\"desiredTPU\":\"0\",\"state\":\"ready\",\"conditions\":["
                        "{\"type\":\"HeadPodReady\",\"status\":\"True\"},"
                        "{\"type\":\"RayClusterProvisioned\",\"status\":\"True\"}]}}]}");
    struct cli_table t;
    assert_int_equal(cli_cluster_rows(list, T0, &t), 0);
    char *s = render(&t);
    assert_string_equal(
        s, "NAME   NAMESPACE   DESIRED WORKERS   AVAILABLE WORKERS   CPUS   GPUS   TPUS   MEMORY"
           "   CONDITION               STATUS   AGE\n"
           "demo   default     3                 3                   8      0      0      16Gi  "
           "   RayClusterProvisioned   ready    25m\n");
    free(s);
    json_decref(list);
}

static void test_get_cluster_defaults_for_missing_status(void **state)
{
    (void)state;
    json_t *list = load("{\"items\":[{\"metadata\":{\"name\":\"c\",\"namespace\":\"ns\"},"
                        "\"status\":{\"desiredMemory\":\"2048Mi\",\"conditions\":["
                        "{\"type\":\"HeadPodReady\",\"status\":\"False\"},"
                        "{\"type\":\"ReplicaFailure\",\"status\":\"True\"}]}}]}");
    struct cli_table t;
    assert_int_equal(cli_cluster_rows(list, T0, &t), 0);
    char *s = render(&t);
    assert_non_null(strstr(s, "\nc      ns          0                 0                   0      "
                              "0      0      2Gi      ReplicaFailure            <unknown>\n"));
    free(s);
    json_decref(list);
}

static void test_get_node_rows_with_namespace_column(void **state)
{
    (void)state;
    json_t *list = load(
        "{\"items\":[{\"metadata\":{\"name\":\"demo-head-x7k2p\",\"namespace\":\"default\","
        "\"creationTimestamp\":\"2025-12-31T21:00:00Z\",\"labels\":{\"ray.io/cluster\":\"demo\","
        "\"ray.io/node-type\":\"head\",\"ray.io/group\":\"headgroup\"}},"
        "\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"2\",\"memory\":"
        "\"4Gi\"},\"limits\":{\"nvidia.com/gpu\":\"1\"}}}]}},"
        "{\"metadata\":{\"name\":\"train-gpu-worker-9qz4d\",\"namespace\":\"team-a\","
        "\"creationTimestamp\":\"2025-12-29T19:00:00Z\",\"labels\":{\"ray.io/cluster\":\"train\","
        "\"ray.io/node-type\":\"worker\",\"ray.io/group\":\"gpu-group\"}},"
        "\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"4\",\"memory\":"
        "\"16Gi\",\"nvidia.com/gpu\":\"1\"}}}]}}]}");
    struct cli_table t;
    assert_int_equal(cli_node_rows(list, true, T0, &t), 0);
    char *s = render(&t);
    assert_string_equal(
        s, "NAMESPACE   NAME                     CPUS   GPUS   TPUS   MEMORY   CLUSTER   TYPE     "
           "WORKER GROUP   AGE\n"
           "default     demo-head-x7k2p          2      0      0      4Gi      demo      head     "
           "headgroup      3h\n"
           "team-a      train-gpu-worker-9qz4d   4      1      0      16Gi     train     worker   "
           "gpu-group      2d5h\n");
    free(s);
    json_decref(list);
}

/* §8 example 3 and the §4.5 illustration. */
static void test_get_workergroup_totals_and_ready_count(void **state)
{
    (void)state;
    json_t *cluster = load("{\"metadata\":{\"name\":\"demo\",\"namespace\":\"default\"}}");
    json_t *group = load(
        "{\"groupName\":\"default-group\",\"replicas\":3,\"minReplicas\":0,\"maxReplicas\":5,"
        "\"numOfHosts\":4,\"template\":{\"spec\":{\"containers\":[{\"resources\":{\"requests\":"
        "{\"cpu\":\"2\",\"memory\":\"4Gi\"}}}]}}}");
    json_t *gpu =
        load("{\"groupName\":\"gpu-group\",\"replicas\":2,\"minReplicas\":1,\"maxReplicas\":4,"
             "\"template\":{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"6\","
             "\"memory\":\"24Gi\"},\"limits\":{\"nvidia.com/gpu\":\"1\"}}},{\"resources\":{"
             "\"requests\":{\"cpu\":\"2\",\"memory\":\"8Gi\"}}}]}}}");
    json_t *pods = load(
        "{\"items\":[{\"metadata\":{\"labels\":{\"ray.io/node-type\":\"worker\"}},\"status\":"
        "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
        "{\"metadata\":{\"labels\":{\"ray.io/node-type\":\"worker\"}},\"status\":"
        "{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
        "{\"metadata\":{\"labels\":{\"ray.io/node-type\":\"worker\"}},\"status\":"
        "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}]}");
    struct cli_table t;
    assert_int_equal(cli_ready_workers(pods), 1);
    assert_int_equal(cli_workergroup_table_init(false, &t), 0);
    assert_int_equal(cli_workergroup_row(cluster, group, 3, false, &t), 0);
    assert_int_equal(cli_workergroup_row(cluster, gpu, 1, false, &t), 0);
    char *s = render(&t);
    assert_string_equal(s, "NAME            MIN   MAX   REPLICAS   CPUS   GPUS   TPUS   MEMORY   "
                           "CLUSTER\n"
                           "default-group   0     5     3/3        6      0      0      12Gi     "
                           "demo\n"
                           "gpu-group       1     4     1/2        16     2      0      64Gi     "
                           "demo\n");
    free(s);
    json_decref(cluster);
    json_decref(group);
    json_decref(gpu);
    json_decref(pods);
}

static void test_get_workergroup_suspended_or_unset_bounds(void **state)
{
    (void)state;
    json_t *cluster = load("{\"metadata\":{\"name\":\"c\",\"namespace\":\"ns\"}}");
    json_t *group = load("{\"groupName\":\"g\",\"replicas\":2,\"suspend\":true,\"template\":{"
                         "\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"cpu\":\"1\"}}}]"
                         "}}}");
    struct cli_table t;
    assert_int_equal(cli_workergroup_table_init(true, &t), 0);
    assert_int_equal(cli_workergroup_row(cluster, group, 0, true, &t), 0);
    char *s = render(&t);
    assert_non_null(strstr(s, "\nns          g      0     2147483647   0/2        0      0      0 "
                              "     0        c\n"));
    free(s);
    json_decref(cluster);
    json_decref(group);
}

static void test_scale_flag_checks_in_kuberay_order(void **state)
{
    (void)state;
    static const struct {
        struct cli_scale_req r;
        const char *want;
    } cases[] = {
        {{-1, -1, -1},
         "must specify at least one of --replicas, --min-replicas, or --max-replicas "
         "(non-negative integers)"},
        {{-2, -3, -4}, "--min-replicas must be a non-negative integer"},
        {{-2, -1, -4}, "--max-replicas must be a non-negative integer"},
        {{-2, -1, -1}, "--replicas must be a non-negative integer"},
        {{3, 5, 4}, "--min-replicas (5) cannot be greater than --max-replicas (4)"},
        {{3, 4, -1}, "--replicas (3) cannot be less than --min-replicas (4)"},
        {{6, -1, 5}, "--replicas (6) cannot be greater than --max-replicas (5)"},
        {{3, -1, 5}, NULL},
    };
    char cause[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = cli_scale_validate(&cases[i].r, cause, sizeof(cause));
        if (!cases[i].want) {
            assert_int_equal(rc, 0);
            continue;
        }
        assert_int_equal(rc, CLI_FAIL);
        assert_string_equal(cause, cases[i].want);
    }
}

/* §8 example 3: -r 3 --max-replicas 5 on a group at the CRD defaults with 2 replicas. */
static void test_scale_apply_example_3(void **state)
{
    (void)state;
    json_t *g = load("{\"groupName\":\"default-group\",\"replicas\":2,\"minReplicas\":0,"
                     "\"maxReplicas\":2147483647}");
    struct cli_scale_req r = {3, -1, 5};
    struct krc_strbuf changes = KRC_STRBUF_INIT;
    char cause[256];
    assert_int_equal(cli_scale_apply(g, &r, &changes, cause, sizeof(cause)), 1);
    assert_string_equal(changes.buf,
                        "Scaled maxReplicas: 2147483647 to 5, Scaled Replicas: 2 to 3");
    assert_int_equal(json_integer_value(json_object_get(g, "replicas")), 3);
    assert_int_equal(json_integer_value(json_object_get(g, "maxReplicas")), 5);
    krc_strbuf_reset(&changes);
    assert_int_equal(cli_scale_apply(g, &r, &changes, cause, sizeof(cause)), 0);
    assert_string_equal(changes.buf, "");

    struct cli_scale_req bad = {-1, 6, -1};
    assert_int_equal(cli_scale_apply(g, &bad, &changes, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "cannot set --min-replicas (6) greater than --max-replicas (5)");
    struct cli_scale_req low = {-1, 4, -1};
    assert_int_equal(cli_scale_apply(g, &low, &changes, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "cannot set --replicas (3) less than --min-replicas (4)");
    assert_int_equal(json_integer_value(json_object_get(g, "minReplicas")), 0);
    krc_strbuf_release(&changes);
    json_decref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_pads_all_but_last_column),
        cmocka_unit_test(test_table_without_rows_prints_nothing),
        cmocka_unit_test(test_human_durations_match_kubectl),
        cmocka_unit_test(test_get_cluster_row_of_example_3),
        cmocka_unit_test(test_get_cluster_defaults_for_missing_status),
        cmocka_unit_test(test_get_node_rows_with_namespace_column),
        cmocka_unit_test(test_get_workergroup_totals_and_ready_count),
        cmocka_unit_test(test_get_workergroup_suspended_or_unset_bounds),
        cmocka_unit_test(test_scale_flag_checks_in_kuberay_order),
        cmocka_unit_test(test_scale_apply_example_3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
