/* Unit tests for ray/raystart: `ray start` flag derivation and rendering (spec §7.5, §15.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raycluster_testutil.h"
#include "ray/raystart.h"
#include "util/strbuf.h"

/* Derives from the container limits, then renders - no §7.5.1 defaults - as in spec §15.3. */
static void assert_rendered(enum ray_node_type t, const char *params_json, const char *limits_json,
                            const char *want)
{
    json_t *params = tu_json(params_json);
    json_t *res = json_pack("{s:o}", "limits", tu_json(limits_json));
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_int_equal(raystart_add_container_resources(params, res), 0);
    assert_int_equal(raystart_render(t, params, &sb), 0);
    if (strcmp(sb.buf, want) != 0)
        fail_msg("params %s limits %s:\n got  [%s]\n want [%s]", params_json, limits_json, sb.buf,
                 want);
    krc_strbuf_release(&sb);
    json_decref(params);
    json_decref(res);
}

static void test_flag_derivation_table_matches_kuberay(void **state)
{
    (void)state;
    static const struct {
        enum ray_node_type t;
        const char *params, *limits, *want;
    } cases[] = {
        {RAY_NODE_WORKER, "{}", "{\"nvidia.com/gpu\": \"1\"}", "ray start  --num-gpus=1 "},
        {RAY_NODE_WORKER, "{}", "{\"nvidia.com/mig-2g.32gb\": \"1\"}", "ray start  --num-gpus=1 "},
        {RAY_NODE_WORKER, "{}", "{\"google.com/tpu\": \"4\"}",
         "ray start  --resources='{\"TPU\":4}' "},
        {RAY_NODE_HEAD, "{}", "{\"aws.amazon.com/neuroncore\": \"4\"}",
         "ray start --head  --resources='{\"neuron_cores\":4}' "},
        {RAY_NODE_HEAD, "{}",
         "{\"google.com/tpu\": \"8\", \"aws.amazon.com/neuroncore\": \"4\", \"nvidia.com/gpu\": 1}",
         "ray start --head  --num-gpus=1  --resources='{\"neuron_cores\":4}' "},
        {RAY_NODE_HEAD, "{\"resources\": \"\\\"{\\\"custom_resource\\\":2}\\\"\"}",
         "{\"aws.amazon.com/neuroncore\": \"4\"}",
         "ray start --head  --resources='{\"custom_resource\":2,\"neuron_cores\":4}' "},
        {RAY_NODE_HEAD, "{\"resources\": \"'{\\\"custom_resource\\\":2,\\\"TPU\\\":4}'\"}",
         "{\"google.com/tpu\": \"8\"}",
         "ray start --head  --resources='{\"custom_resource\":2,\"TPU\":4}' "},
        {RAY_NODE_HEAD, "{\"resources\": \"{\"}", "{\"aws.amazon.com/neuroncore\": \"4\"}",
         "ray start --head  --resources={ "},
        {RAY_NODE_HEAD, "{\"include-log-monitor\": \"false\"}", "{}",
         "ray start --head  --include-log-monitor=false "},
        {RAY_NODE_HEAD, "{\"include-log-monitor\": \"true\"}", "{}",
         "ray start --head  --include-log-monitor=true "},
        /* cpu from the limit rounded up; memory in bytes */
        {RAY_NODE_WORKER, "{}", "{\"cpu\": \"1500m\", \"memory\": \"1Gi\"}",
         "ray start  --memory=1073741824  --num-cpus=2 "},
        /* zero GPU limits are skipped; the first non-zero GPU key (sorted) wins */
        {RAY_NODE_WORKER, "{}", "{\"amd.com/gpu\": \"0\", \"nvidia.com/gpu\": \"2\"}",
         "ray start  --num-gpus=2 "},
        /* an explicit num-gpus is kept */
        {RAY_NODE_WORKER, "{\"num-gpus\": \"7\"}", "{\"nvidia.com/gpu\": \"2\"}",
         "ray start  --num-gpus=7 "},
        /* bool switches: false dropped, true as a bare flag, case-insensitive */
        {RAY_NODE_WORKER, "{\"block\": \"TRUE\", \"disable-usage-stats\": \"False\"}", "{}",
         "ray start  --block "},
        /* an empty value still renders the flag */
        {RAY_NODE_WORKER, "{\"object-store-memory\": \"\"}", "{}",
         "ray start  --object-store-memory= "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_rendered(cases[i].t, cases[i].params, cases[i].limits, cases[i].want);
}

static void test_cpu_falls_back_to_request_but_memory_uses_limit_only(void **state)
{
    (void)state;
    json_t *params = json_object();
    json_t *res = tu_json("{\"requests\": {\"cpu\": \"2\", \"memory\": \"1Gi\"}}");
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_int_equal(raystart_add_container_resources(params, res), 0);
    assert_int_equal(raystart_render(RAY_NODE_WORKER, params, &sb), 0);
    assert_string_equal(sb.buf, "ray start  --num-cpus=2 ");
    krc_strbuf_release(&sb);
    json_decref(params);
    json_decref(res);
}

static void test_group_resources_override_start_params(void **state)
{
    (void)state;
    static const struct {
        const char *resources, *want;
    } cases[] = {
        {"{\"cpu\": \"2\", \"memory\": \"4Gi\"}", "ray start  --memory=4294967296  --num-cpus=2 "},
        {"{\"CPU\": \"2\", \"GPU\": \"4\"}", "ray start  --num-cpus=2  --num-gpus=4 "},
        {"{\"nvidia.com/gpu\": \"1\", \"TPU\": \"4\"}",
         "ray start  --num-gpus=1  --resources='{\"TPU\":4}' "},
        {"{\"cpu\": \"500m\", \"accel\": \"0.5\", \"tiny\": \"100n\"}",
         "ray start  --num-cpus=1  --resources='{\"accel\":0.5,\"tiny\":1e-7}' "},
        {"{\"cpu\": \"not-a-quantity\"}", "ray start "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *params = json_object();
        json_t *res = tu_json(cases[i].resources);
        struct krc_strbuf sb = KRC_STRBUF_INIT;
        assert_int_equal(raystart_apply_group_resources(params, res), 0);
        assert_int_equal(raystart_render(RAY_NODE_WORKER, params, &sb), 0);
        if (strcmp(sb.buf, cases[i].want) != 0)
            fail_msg("resources %s: got [%s] want [%s]", cases[i].resources, sb.buf, cases[i].want);
        krc_strbuf_release(&sb);
        json_decref(params);
        json_decref(res);
    }
}

static void test_group_labels_render_sorted(void **state)
{
    (void)state;
    json_t *params = json_object();
    json_t *labels = tu_json("{\"topology.kubernetes.io/zone\": \"us-central2\", "
                             "\"ray.io/node-group\": \"worker-group-1\", "
                             "\"cloud.google.com/gke-spot\": \"true\"}");
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_int_equal(raystart_apply_group_labels(params, labels), 0);
    assert_int_equal(raystart_render(RAY_NODE_WORKER, params, &sb), 0);
    assert_string_equal(sb.buf,
                        "ray start  --labels=cloud.google.com/gke-spot=true,ray.io/"
                        "node-group=worker-group-1,topology.kubernetes.io/zone=us-central2 ");
    krc_strbuf_release(&sb);
    json_decref(params);
    json_decref(labels);
}

static void test_defaults_for_head_and_worker(void **state)
{
    (void)state;
    json_t *head = tu_json("{\"block\": \"false\"}");
    json_t *worker = tu_json("{\"metrics-export-port\": \"9000\"}");
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_int_equal(raystart_set_missing(head, RAY_NODE_HEAD, "6379", ""), 0);
    assert_int_equal(raystart_render(RAY_NODE_HEAD, head, &sb), 0);
    assert_string_equal(sb.buf, "ray start --head  --block  --dashboard-agent-listen-port=52365  "
                                "--dashboard-host=0.0.0.0  --metrics-export-port=8080 ");
    krc_strbuf_reset(&sb);
    assert_int_equal(raystart_set_missing(worker, RAY_NODE_WORKER, "6380", "c-head-svc.ns.svc.x"),
                     0);
    assert_int_equal(raystart_render(RAY_NODE_WORKER, worker, &sb), 0);
    assert_string_equal(sb.buf, "ray start  --address=c-head-svc.ns.svc.x:6380  --block  "
                                "--dashboard-agent-listen-port=52365  --metrics-export-port=9000 ");
    krc_strbuf_release(&sb);
    json_decref(head);
    json_decref(worker);
}

static void test_head_port_defaults_to_6379(void **state)
{
    (void)state;
    json_t *p = tu_json("{\"port\": \"6380\"}");
    json_t *e = json_object();
    assert_string_equal(raystart_head_port(p), "6380");
    assert_string_equal(raystart_head_port(e), "6379");
    assert_string_equal(raystart_head_port(NULL), "6379");
    json_decref(p);
    json_decref(e);
}

static void test_gpu_keys(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool gpu;
    } cases[] = {
        {"nvidia.com/gpu", true},
        {"amd.com/gpu", true},
        {"gpu", true},
        {"nvidia.com/mig-1g.10gb", true},
        {"x/nvidia.com/mig-22g.128gb", true},
        {"nvidia.com/GPU", false},
        {"nvidia.com/mig-1g.10gbx", false},
        {"nvidia.com/mig-g.10gb", false},
        {"google.com/tpu", false},
        {"cpu", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (raystart_is_gpu_key(cases[i].name) != cases[i].gpu)
            fail_msg("%s: expected gpu=%d", cases[i].name, cases[i].gpu);
}

static void test_go_float_formatting(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {4, "4"},
        {0.5, "0.5"},
        {1e-7, "1e-7"},
        {1e21, "1e+21"},
        {1e20, "100000000000000000000"},
        {0.000001, "0.000001"},
        {123.25, "123.25"},
        {-2.5, "-2.5"},
        {0.1, "0.1"},
        {1.5e-10, "1.5e-10"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        raystart_format_float(cases[i].d, buf, sizeof(buf));
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("%.17g: got %s want %s", cases[i].d, buf, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flag_derivation_table_matches_kuberay),
        cmocka_unit_test(test_cpu_falls_back_to_request_but_memory_uses_limit_only),
        cmocka_unit_test(test_group_resources_override_start_params),
        cmocka_unit_test(test_group_labels_render_sorted),
        cmocka_unit_test(test_defaults_for_head_and_worker),
        cmocka_unit_test(test_head_port_defaults_to_6379),
        cmocka_unit_test(test_gpu_keys),
        cmocka_unit_test(test_go_float_formatting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
