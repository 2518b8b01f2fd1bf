/* Unit tests for cli/gen.c, cli/yaml.c and the config file of cli/create.c: the generated
 * RayCluster and its dry-run YAML (spec kubectl-ray.md §3, §4.1, §4.1.1, worked example 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cli/create.h"

static const char example1[] = "apiVersion: ray.io/v1\n"
                               "kind: RayCluster\n"
                               "metadata:\n"
                               "  name: demo\n"
                               "  namespace: default\n"
                               "spec:\n"
                               "  autoscalerOptions:\n"
                               "    version: v2\n"
                               "  enableInTreeAutoscaling: true\n"
                               "  headGroupSpec:\n"
                               "    rayStartParams:\n"
                               "      num-cpus: \"0\"\n"
                               "    template:\n"
                               "      spec:\n"
                               "        containers:\n"
                               "        - image: rayproject/ray:2.52.0\n"
                               "          name: ray-head\n"
                               "          ports:\n"
                               "          - containerPort: 6379\n"
                               "            name: gcs-server\n"
                               "          - containerPort: 8265\n"
                               "            name: dashboard\n"
                               "          - containerPort: 10001\n"
                               "            name: client\n"
                               "          resources:\n"
                               "            limits:\n"
                               "              memory: 4Gi\n"
                               "            requests:\n"
                               "              cpu: \"2\"\n"
                               "              memory: 4Gi\n"
                               "  rayVersion: 2.52.0\n"
                               "  workerGroupSpecs:\n"
                               "  - groupName: default-group\n"
                               "    numOfHosts: 1\n"
                               "    replicas: 2\n"
                               "    template:\n"
                               "      spec:\n"
                               "        containers:\n"
                               "        - image: rayproject/ray:2.52.0\n"
                               "          name: ray-worker\n"
                               "          resources:\n"
                               "            limits:\n"
                               "              memory: 4Gi\n"
                               "            requests:\n"
                               "              cpu: \"2\"\n"
                               "              memory: 4Gi\n"
                               "\n";

/* The model `create cluster demo --worker-replicas 2 --head-ray-start-params num-cpus=0
 * --autoscaler V2` builds (flag defaults of §4.1). */
static void flag_defaults(struct cli_cluster_model *m, struct cli_group_model *g)
{
    memset(m, 0, sizeof(*m));
    memset(g, 0, sizeof(*g));
    m->name = "demo";
    m->namespace = "default";
    m->ray_version = "2.52.0";
    m->image = "rayproject/ray:2.52.0";
    m->head.cpu = "2";
    m->head.memory = "4Gi";
    m->head.gpu = "0";
    m->head.ephemeral = "";
    g->name = "default-group";
    g->replicas = 1;
    g->has_hosts = true;
    g->num_of_hosts = 1;
    g->cpu = "2";
    g->memory = "4Gi";
    g->gpu = "0";
    g->tpu = "0";
    g->ephemeral = "";
    m->groups = g;
    m->ngroups = 1;
}

static char *dry_run(const struct cli_cluster_model *m)
{
    json_t *obj = NULL;
    struct krc_error err;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    if (cli_gen_cluster(m, &obj, &err) != 0)
        fail_msg("generate: %s", err.msg);
    assert_int_equal(cli_gen_dry_run(obj, &out, &err), 0);
    json_decref(obj);
    return krc_strbuf_detach(&out);
}

static void test_dry_run_of_example_1(void **state)
{
    (void)state;
    struct cli_cluster_model m;
    struct cli_group_model g;
    json_t *params = json_pack("{s:s}", "num-cpus", "0");
    flag_defaults(&m, &g);
    g.replicas = 2;
    m.head.ray_start_params = params;
    m.autoscaler = "v2";
    char *s = dry_run(&m);
    assert_string_equal(s, example1);
    free(s);
    json_decref(params);
}

/* resources of the first container of a head or worker group spec */
static const json_t *resources_of(const json_t *group)
{
    const json_t *tmpl = json_object_get(json_object_get(group, "template"), "spec");
    return json_object_get(json_array_get(json_object_get(tmpl, "containers"), 0), "resources");
}

static void test_quantities_are_canonical_and_zero_is_dropped(void **state)
{
    (void)state;
    struct cli_cluster_model m;
    struct cli_group_model g;
    json_t *spec = NULL;
    struct krc_error err;
    flag_defaults(&m, &g);
    m.head.cpu = "1.5";
    m.head.memory = "0";
    m.head.ephemeral = "0.5Gi";
    g.cpu = "1000m";
    g.memory = "2048Mi";
    g.gpu = "1";
    g.tpu = "0.0";
    assert_int_equal(cli_gen_cluster_spec(&m, &spec, &err), 0);
    const json_t *hres = resources_of(json_object_get(spec, "headGroupSpec"));
    char *h = json_dumps(hres, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(h, "{\"limits\":{\"ephemeral-storage\":\"512Mi\"},\"requests\":{\"cpu\":"
                           "\"1500m\",\"ephemeral-storage\":\"512Mi\"}}");
    free(h);
    const json_t *wres = resources_of(json_array_get(json_object_get(spec, "workerGroupSpecs"), 0));
    char *w = json_dumps(wres, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(w, "{\"limits\":{\"memory\":\"2Gi\",\"nvidia.com/gpu\":\"1\"},"
                           "\"requests\":{\"cpu\":\"1\",\"memory\":\"2Gi\",\"nvidia.com/gpu\":"
                           "\"1\"}}");
    free(w);
    assert_null(json_object_get(spec, "enableInTreeAutoscaling"));
    json_decref(spec);
}

static void test_unnamed_groups_get_default_names(void **state)
{
    (void)state;
    struct cli_cluster_model m;
    struct cli_group_model g[3];
    json_t *spec = NULL;
    struct krc_error err;
    flag_defaults(&m, &g[0]);
    memset(g, 0, sizeof(g));
    g[1].name = "named";
    m.groups = g;
    m.ngroups = 3;
    assert_int_equal(cli_gen_cluster_spec(&m, &spec, &err), 0);
    const json_t *groups = json_object_get(spec, "workerGroupSpecs");
    const char *want[] = {"default-group", "named", "default-group-2"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *grp = json_array_get(groups, i);
        assert_string_equal(json_string_value(json_object_get(grp, "groupName")), want[i]);
        assert_int_equal(json_integer_value(json_object_get(grp, "replicas")), 0);
        assert_null(json_object_get(grp, "numOfHosts"));
    }
    json_decref(spec);
}

static void test_quantity_and_tpu_checks(void **state)
{
    (void)state;
    char cause[512];
    assert_int_equal(cli_validate_quantity("500m", "head-cpu", cause, sizeof(cause)), 0);
    assert_int_equal(cli_validate_quantity("two", "head-cpu", cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "head-cpu is not a valid resource quantity: quantities must match "
                               "the regular expression "
                               "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    assert_int_equal(cli_validate_quantity("", "worker-gpu", cause, sizeof(cause)), CLI_FAIL);
    assert_int_equal(cli_validate_quantity("-1", "worker-cpu", cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "worker-cpu cannot be negative");

    json_t *sel = json_pack("{s:s}", "cloud.google.com/gke-tpu-accelerator", "tpu-v5");
    assert_int_equal(cli_validate_tpu("0", true, 0, NULL, cause, sizeof(cause)), 0);
    assert_int_equal(cli_validate_tpu("0.0", true, 0, sel, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "numOfHosts cannot be 0 when using TPU");
    assert_int_equal(cli_validate_tpu("1", false, 0, NULL, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "cloud.google.com/gke-tpu-accelerator is not set in "
                               "--worker-node-selectors. See https://cloud.google.com/"
                               "kubernetes-engine/docs/concepts/plan-tpus#availability for "
                               "supported values");
    assert_int_equal(cli_validate_tpu("1", true, 1, sel, cause, sizeof(cause)), CLI_FAIL);
    assert_non_null(strstr(cause, "cloud.google.com/gke-tpu-topology is not set"));
    json_decref(sel);
}

static void test_yaml_quotes_what_would_not_read_back_as_a_string(void **state)
{
    (void)state;
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:{}, s:i, s:b, s:[s, {s:s, s:s}]}",
        "a-num", "0", "b-bool", "yes", "c-empty", "", "d-plain", "4Gi", "e-colon", "a: b", "f-star",
        "*x", "g-float", "1.5e3", "h-sexagesimal", "1:20", "i-multi", "x\ny\n", "j", "k", "l-int",
        7, "m-bool", 1, "n-seq", "v", "o", "1", "p", "q");
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err;
    assert_int_equal(cli_yaml_emit(doc, &out, &err), 0);
    assert_string_equal(out.buf, "a-num: \"0\"\n"
                                 "b-bool: \"yes\"\n"
                                 "c-empty: \"\"\n"
                                 "d-plain: 4Gi\n"
                                 "e-colon: 'a: b'\n"
                                 "f-star: '*x'\n"
                                 "g-float: \"1.5e3\"\n"
                                 "h-sexagesimal: \"1:20\"\n"
                                 "i-multi: |\n"
                                 "  x\n"
                                 "  y\n"
                                 "j: []\n"
                                 "k: {}\n"
                                 "l-int: 7\n"
                                 "m-bool: true\n"
                                 "n-seq:\n"
                                 "- v\n"
                                 "- o: \"1\"\n"
                                 "  p: q\n");
    krc_strbuf_release(&out);
    json_decref(doc);
}

static void test_yaml_sorts_keys_naturally(void **state)
{
    (void)state;
    json_t *doc =
        json_pack("{s:i, s:i, s:i, s:i, s:i}", "a10", 1, "a9", 2, "b", 3, "A", 4, "a_", 5);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err;
    assert_int_equal(cli_yaml_emit(doc, &out, &err), 0);
    assert_string_equal(out.buf, "A: 4\na_: 5\na9: 2\na10: 1\nb: 3\n");
    krc_strbuf_release(&out);
    json_decref(doc);
}

/* go-yaml v2.4 folds plain values at a space once past 80 columns (not at 80), one level deeper;
 * keys and runs of spaces are never broken. */
static void test_yaml_folds_long_plain_values_like_go_yaml(void **state)
{
    (void)state;
    json_t *doc = json_pack("{s:s, s:{s:[s]}}", "k",
                            "abcdefgh abcdefgh abcdefgh abcdefgh abcdefgh abcdefgh abcdefgh "
                            "abcdefgh abcdefgh abcdefgh abcdefgh abcdefgh",
                            "m", "seq",
                            "0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 "
                            "0123456789 0123456789");
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err;
    assert_int_equal(cli_yaml_emit(doc, &out, &err), 0);
    assert_string_equal(out.buf, "k: abcdefgh abcdefgh abcdefgh abcdefgh abcdefgh abcdefgh "
                                 "abcdefgh abcdefgh abcdefgh\n"
                                 "  abcdefgh abcdefgh abcdefgh\n"
                                 "m:\n"
                                 "  seq:\n"
                                 "  - 0123456789 0123456789 0123456789 0123456789 0123456789 "
                                 "0123456789 0123456789 0123456789\n"); /* col 80: not past */
    krc_strbuf_release(&out);
    json_decref(doc);
}

static int parse_config(const char *text, struct cli_config *c, char *cause, size_t size)
{
    return cli_config_parse(text, strlen(text), c, cause, size);
}

static void test_empty_config_file_gives_the_defaults(void **state)
{
    (void)state;
    struct cli_config c;
    char cause[512];
    assert_int_equal(parse_config("", &c, cause, sizeof(cause)), 0);
    assert_int_equal(cli_config_validate(&c, cause, sizeof(cause)), 0);
    c.model.name = "demo";
    c.model.namespace = "default";
    char *s = dry_run(&c.model);
    /* Example 1 without the autoscaler, the head params, numOfHosts, and with 1 replica. */
    assert_non_null(strstr(s, "  - groupName: default-group\n    replicas: 1\n"));
    assert_null(strstr(s, "numOfHosts"));
    assert_null(strstr(s, "autoscaler"));
    assert_non_null(strstr(s, "              cpu: \"2\"\n              memory: 4Gi\n"));
    free(s);
    cli_config_release(&c);
}

static void test_config_file_merges_head_and_replaces_groups(void **state)
{
    (void)state;
    struct cli_config c;
    char cause[512];
    const char *text = "name: demo\n"
                       "labels: {app: ray}\n"
                       "service-account: sa\n"
                       "autoscaler:\n  version: v1\n"
                       "head:\n  gpu: 1\n  ray-start-params:\n    metrics-export-port: 8082\n"
                       "worker-groups:\n"
                       "- replicas: 2\n  cpu: 3\n  num-of-hosts: 2\n"
                       "- name: big\n  memory: 8Gi\n";
    assert_int_equal(parse_config(text, &c, cause, sizeof(cause)), 0);
    assert_int_equal(cli_config_validate(&c, cause, sizeof(cause)), 0);
    assert_string_equal(c.name, "demo");
    assert_string_equal(c.model.head.cpu, "2");
    assert_string_equal(c.model.head.gpu, "1");
    assert_int_equal(c.model.ngroups, 2);
    assert_int_equal(c.model.groups[0].replicas, 2);
    assert_true(c.model.groups[0].has_hosts);
    assert_string_equal(c.model.groups[0].cpu, "3");
    assert_null(c.model.groups[1].cpu);
    assert_false(c.model.groups[1].has_hosts);
    c.model.name = "demo";
    json_t *obj = NULL;
    struct krc_error err;
    assert_int_equal(cli_gen_cluster(&c.model, &obj, &err), 0);
    const json_t *spec = json_object_get(obj, "spec");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(spec, "headGroupSpec"), "rayStartParams"),
            "metrics-export-port")),
        "8082");
    const json_t *head_spec = json_object_get(
        json_object_get(json_object_get(spec, "headGroupSpec"), "template"), "spec");
    assert_string_equal(json_string_value(json_object_get(head_spec, "serviceAccountName")), "sa");
    const json_t *g1 = json_array_get(json_object_get(spec, "workerGroupSpecs"), 1);
    assert_string_equal(json_string_value(json_object_get(g1, "groupName")), "big");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(spec, "autoscalerOptions"), "version")),
        "v1");
    json_decref(obj);
    cli_config_release(&c);
}

static void test_config_file_errors(void **state)
{
    (void)state;
    struct cli_config c;
    char cause[512];
    assert_int_equal(parse_config("name: x\nfoo: 1\n", &c, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "yaml: unmarshal errors:\n  line 2: field foo not found in type "
                               "generation.RayClusterConfig");
    cli_config_release(&c);
    assert_int_equal(parse_config("head:\n  cpus: 1\n", &c, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "yaml: unmarshal errors:\n  line 2: field cpus not found in type "
                               "generation.Head");
    cli_config_release(&c);
    assert_int_equal(parse_config("worker-groups:\n- cpu: lots\n", &c, cause, sizeof(cause)), 0);
    assert_int_equal(cli_config_validate(&c, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "cpu (worker group 0) is not a valid resource quantity: "
                               "quantities must match the regular expression "
                               "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    cli_config_release(&c);
    assert_int_equal(
        parse_config("worker-groups:\n- tpu: 1\n  num-of-hosts: 0\n", &c, cause, sizeof(cause)), 0);
    assert_int_equal(cli_config_validate(&c, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "numOfHosts cannot be 0 when using TPU");
    cli_config_release(&c);
    assert_int_equal(
        parse_config("gke:\n  gcsfuse:\n    mount-path: /data\n", &c, cause, sizeof(cause)), 0);
    assert_int_equal(cli_config_validate(&c, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, ".gcsfuse.bucket-name is required");
    cli_config_release(&c);
}

static void test_gcsfuse_volume_mount_and_annotations(void **state)
{
    (void)state;
    struct cli_config c;
    char cause[512];
    const char *text = "gke:\n  gcsfuse:\n    bucket-name: b\n    mount-path: /data\n"
                       "    disable-metrics: true\n    resources:\n      memory: 1Gi\n";
    assert_int_equal(parse_config(text, &c, cause, sizeof(cause)), 0);
    assert_int_equal(cli_config_validate(&c, cause, sizeof(cause)), 0);
    c.model.name = "demo";
    char *s = dry_run(&c.model);
    assert_non_null(strstr(s, "    template:\n"
                              "      metadata:\n"
                              "        annotations:\n"
                              "          gke-gcsfuse/memory-limit: 1Gi\n"
                              "          gke-gcsfuse/memory-request: 1Gi\n"
                              "      spec:\n"));
    assert_non_null(strstr(s, "          volumeMounts:\n"
                              "          - mountPath: /data\n"
                              "            name: cluster-storage\n"));
    assert_non_null(strstr(s, "        volumes:\n"
                              "        - csi:\n"
                              "            driver: gcsfuse.csi.storage.gke.io\n"
                              "            volumeAttributes:\n"
                              "              bucketName: b\n"
                              "              disableMetrics: \"true\"\n"
                              "          name: cluster-storage\n"));
    free(s);
    cli_config_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dry_run_of_example_1),
        cmocka_unit_test(test_quantities_are_canonical_and_zero_is_dropped),
        cmocka_unit_test(test_unnamed_groups_get_default_names),
        cmocka_unit_test(test_quantity_and_tpu_checks),
        cmocka_unit_test(test_yaml_quotes_what_would_not_read_back_as_a_string),
        cmocka_unit_test(test_yaml_sorts_keys_naturally),
        cmocka_unit_test(test_yaml_folds_long_plain_values_like_go_yaml),
        cmocka_unit_test(test_empty_config_file_gives_the_defaults),
        cmocka_unit_test(test_config_file_merges_head_and_replaces_groups),
        cmocka_unit_test(test_config_file_errors),
        cmocka_unit_test(test_gcsfuse_volume_mount_and_annotations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
