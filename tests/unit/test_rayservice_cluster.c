/* Unit tests for controller/rayservice_cluster: the cluster-spec hash and its full/prefix
 * comparisons (spec rayservice.md §6.2, §6.4), the RayCluster a RayService creates (§4, §6.1),
 * the head and serve Services (§9.1, §9.3), the endpoint count (§9.4) and the owner mapping of
 * the watches (§5.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kobj.h"
#include "api/rayservice.h"
#include "controller/rayservice_cluster.h"

static const char *const BASE =
    "{\"apiVersion\":\"ray.io/v1\",\"kind\":\"RayService\","
    "\"metadata\":{\"name\":\"demo\",\"namespace\":\"prod\",\"uid\":\"u1\",\"generation\":3,"
    "\"labels\":{\"team\":\"a\",\"ray.io/originated-from-crd\":\"x\"},"
    "\"annotations\":{\"note\":\"x\"}},"
    "\"spec\":{\"serveConfigV2\":\"\","
    "\"rayClusterConfig\":{\"rayVersion\":\"2.52.0\",\"headGroupSpec\":{\"rayStartParams\":{},"
    "\"template\":{\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"mine\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"ray-head\",\"image\":\"rayproject/ray\"}]}}},"
    "\"workerGroupSpecs\":[{\"groupName\":\"w\",\"replicas\":1,\"minReplicas\":0,"
    "\"maxReplicas\":5,\"rayStartParams\":{},\"template\":{\"spec\":{\"containers\":"
    "[{\"name\":\"ray-worker\",\"image\":\"rayproject/ray\"}]}}}]}}}";

static json_t *base_doc(void)
{
    json_t *doc = json_loads(BASE, 0, NULL);
    assert_non_null(doc);
    return doc;
}

static json_t *cfg(json_t *doc)
{
    return kobj_path(doc, "spec.rayClusterConfig");
}

static json_t *group(json_t *doc, size_t i)
{
    return json_array_get(kobj_arr(cfg(doc), "workerGroupSpecs"), i);
}

static void hash_of(json_t *doc, long n, char out[RAYSERVICE_HASH_LEN + 1])
{
    assert_int_equal(rayservice_cluster_hash(cfg(doc), n, out), 0);
    assert_int_equal(strlen(out), RAYSERVICE_HASH_LEN);
}

static void parse(json_t *doc, struct rayservice *rs)
{
    struct krc_error err = {0};
    if (rayservice_parse(doc, rs, &err))
        fail_msg("parse: %s", err.msg);
}

/* Muted fields leave the hash alone; anything else changes it. */
static void test_hash_muted_and_hashed_fields(void **state)
{
    (void)state;
    char h0[RAYSERVICE_HASH_LEN + 1], h[RAYSERVICE_HASH_LEN + 1];
    json_t *doc = base_doc();
    hash_of(doc, RAYSERVICE_ALL_WORKER_GROUPS, h0);
    for (const char *c = h0; *c; c++)
        assert_non_null(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUV", *c));
    json_t *w = group(doc, 0);
    json_object_set_new(w, "replicas", json_integer(7));
    json_object_set_new(w, "minReplicas", json_integer(2));
    json_object_set_new(w, "maxReplicas", json_integer(9));
    json_object_set_new(w, "scaleStrategy", json_pack("{s:[s]}", "workersToDelete", "p1"));
    json_object_set_new(kobj_path(w, "template.spec"), "tolerations",
                        json_pack("[{s:s}]", "key", "k"));
    json_object_set_new(kobj_path(cfg(doc), "headGroupSpec.template.spec"), "schedulingGates",
                        json_pack("[{s:s}]", "name", "g"));
    json_object_set_new(cfg(doc), "suspend", json_true());
    json_object_set_new(cfg(doc), "upgradeStrategy", json_pack("{s:s}", "type", "Recreate"));
    hash_of(doc, RAYSERVICE_ALL_WORKER_GROUPS, h);
    assert_string_equal(h, h0);
    json_object_set_new(json_array_get(kobj_path(w, "template.spec.containers"), 0), "image",
                        json_string("rayproject/ray:2.53.0"));
    hash_of(doc, RAYSERVICE_ALL_WORKER_GROUPS, h);
    assert_string_not_equal(h, h0);
    json_decref(doc);
}

/* §6.2: full / prefix comparison against a cluster stamped from the base spec. */
static void test_compare_full_and_prefix(void **state)
{
    (void)state;
    json_t *doc = base_doc();
    struct rayservice rs;
    char h0[RAYSERVICE_HASH_LEN + 1];
    hash_of(doc, RAYSERVICE_ALL_WORKER_GROUPS, h0);
    json_t *anno = json_pack("{s:s, s:s}", RAYSERVICE_ANNOTATION_HASH, h0,
                             RAYSERVICE_ANNOTATION_NUM_GROUPS, "1");
    struct rayservice_hash_cmp cmp;

    parse(doc, &rs);
    assert_int_equal(rayservice_compare_cluster(&rs, anno, &cmp), 0);
    assert_true(cmp.full);
    assert_true(cmp.prefix);
    rayservice_release(&rs);

    /* a group appended: not full, prefix equal (update in place) */
    json_array_append_new(kobj_arr(cfg(doc), "workerGroupSpecs"), json_deep_copy(group(doc, 0)));
    json_object_set_new(group(doc, 1), "groupName", json_string("w2"));
    parse(doc, &rs);
    assert_int_equal(rayservice_compare_cluster(&rs, anno, &cmp), 0);
    assert_false(cmp.full);
    assert_true(cmp.prefix);
    rayservice_release(&rs);

    /* the first group changed as well: neither */
    json_object_set_new(group(doc, 0), "groupName", json_string("renamed"));
    parse(doc, &rs);
    assert_int_equal(rayservice_compare_cluster(&rs, anno, &cmp), 0);
    assert_false(cmp.full);
    assert_false(cmp.prefix);
    rayservice_release(&rs);

    /* fewer goal groups than the cluster had: not prefix equal */
    json_array_clear(kobj_arr(cfg(doc), "workerGroupSpecs"));
    parse(doc, &rs);
    assert_int_equal(rayservice_compare_cluster(&rs, anno, &cmp), 0);
    assert_false(cmp.prefix);
    /* a missing or bad group count counts as prefix equal */
    json_object_set_new(anno, RAYSERVICE_ANNOTATION_NUM_GROUPS, json_string("x"));
    assert_int_equal(rayservice_compare_cluster(&rs, anno, &cmp), 0);
    assert_true(cmp.prefix);
    rayservice_release(&rs);
    json_decref(anno);
    json_decref(doc);
}

static void test_build_cluster(void **state)
{
    (void)state;
    json_t *doc = base_doc(), *rc = NULL;
    struct rayservice rs;
    struct krc_error err = {0};
    char h0[RAYSERVICE_HASH_LEN + 1];
    hash_of(doc, RAYSERVICE_ALL_WORKER_GROUPS, h0);
    parse(doc, &rs);
    assert_int_equal(rayservice_build_cluster(&rs, "demo-bcdfg", "v9", &rc, &err), 0);
    json_t *labels = kobj_path(rc, "metadata.labels"),
           *anno = kobj_path(rc, "metadata.annotations");
    assert_string_equal(kobj_path_str(rc, "metadata.name"), "demo-bcdfg");
    assert_string_equal(kobj_path_str(rc, "metadata.namespace"), "prod");
    assert_string_equal(kobj_map_get(labels, "team"), "a");
    assert_string_equal(kobj_map_get(labels, "ray.io/originated-from-crd"), "RayService");
    assert_string_equal(kobj_map_get(labels, "ray.io/originated-from-cr-name"), "demo");
    assert_string_equal(kobj_map_get(anno, "note"), "x");
    assert_string_equal(kobj_map_get(anno, RAYSERVICE_ANNOTATION_HASH), h0);
    assert_string_equal(kobj_map_get(anno, RAYSERVICE_ANNOTATION_NUM_GROUPS), "1");
    assert_string_equal(kobj_map_get(anno, "ray.io/kuberay-version"), "v9");
    json_t *owner = json_array_get(kobj_path(rc, "metadata.ownerReferences"), 0);
    assert_string_equal(kobj_str(owner, "kind"), "RayService");
    assert_string_equal(kobj_str(owner, "uid"), "u1");
    assert_true(json_is_true(json_object_get(owner, "controller")));
    assert_true(json_equal(kobj_obj(rc, "spec"), cfg(doc)));
    json_decref(rc);
    rayservice_release(&rs);
    json_decref(doc);
}

static void test_head_service(void **state)
{
    (void)state;
    json_t *doc = base_doc(), *svc = NULL;
    struct rayservice rs;
    struct krc_error err = {0};
    struct raycluster_opts o = {0};
    json_object_set_new(cfg(doc), "headServiceAnnotations", json_pack("{s:s}", "a", "b"));
    parse(doc, &rs);
    /* the target cluster: the RayService's embedded cluster renamed */
    json_t *cdoc = json_pack("{s:{s:s, s:s}, s:O}", "metadata", "name", "demo-bcdfg", "namespace",
                             "prod", "spec", cfg(doc));
    struct raycluster rc;
    assert_int_equal(raycluster_parse(cdoc, &rc, &err), 0);
    assert_int_equal(rayservice_build_head_service(&rs, &rc, &o, &svc, &err), 0);
    assert_string_equal(kobj_path_str(svc, "metadata.name"), "demo-head-svc");
    assert_null(kobj_path(svc, "metadata.annotations"));
    json_t *want_labels = json_pack("{s:s, s:s, s:s, s:s}", "ray.io/originated-from-cr-name",
                                    "demo", "ray.io/originated-from-crd", "RayService",
                                    "ray.io/node-type", "head", "ray.io/identifier", "demo-head");
    assert_true(json_equal(kobj_path(svc, "metadata.labels"), want_labels));
    json_t *sel = kobj_path(svc, "spec.selector");
    assert_string_equal(kobj_map_get(sel, "ray.io/cluster"), "demo-bcdfg");
    assert_string_equal(kobj_map_get(sel, "ray.io/identifier"), "demo-bcdfg-head");
    assert_string_equal(kobj_map_get(sel, "app.kubernetes.io/name"), "kuberay");
    assert_string_equal(kobj_path_str(svc, "spec.clusterIP"), "None");
    assert_string_equal(
        kobj_str(json_array_get(kobj_path(svc, "metadata.ownerReferences"), 0), "kind"),
        "RayService");
    json_decref(want_labels);
    json_decref(svc);
    raycluster_release(&rc);
    json_decref(cdoc);
    rayservice_release(&rs);
    json_decref(doc);
}

static void serve_svc(json_t *doc, json_t **svc, int want_rc)
{
    struct rayservice rs;
    struct raycluster rc;
    struct krc_error err = {0};
    parse(doc, &rs);
    json_t *cdoc = json_pack("{s:{s:s, s:s}, s:O}", "metadata", "name", "demo-bcdfg", "namespace",
                             "prod", "spec", cfg(doc));
    assert_int_equal(raycluster_parse(cdoc, &rc, &err), 0);
    int r = rayservice_build_serve_service(&rs, &rc, svc, &err);
    if (r != want_rc)
        fail_msg("rc %d: %s", r, err.msg);
    if (r)
        assert_non_null(strstr(err.msg, "Please specify a port named 'serve'"));
    raycluster_release(&rc);
    json_decref(cdoc);
    rayservice_release(&rs);
}

static void test_serve_service(void **state)
{
    (void)state;
    json_t *doc = base_doc(), *svc = NULL;
    /* defaults: no declared ports -> serve 8000 */
    serve_svc(doc, &svc, 0);
    assert_string_equal(kobj_path_str(svc, "metadata.name"), "demo-serve-svc");
    json_t *want = json_loads("[{\"name\":\"serve\",\"port\":8000}]", 0, NULL);
    assert_true(json_equal(kobj_path(svc, "spec.ports"), want));
    json_decref(want);
    want = json_pack("{s:s, s:s}", "ray.io/cluster", "demo-bcdfg", "ray.io/serve", "true");
    assert_true(json_equal(kobj_path(svc, "spec.selector"), want));
    json_decref(want);
    assert_string_equal(kobj_map_get(kobj_path(svc, "metadata.labels"), "ray.io/serve"),
                        "demo-serve");
    json_decref(svc);

    /* declared ports without serve and no template: KubeRay's error */
    json_t *head = json_array_get(kobj_path(cfg(doc), "headGroupSpec.template.spec.containers"), 0);
    json_object_set_new(head, "ports",
                        json_pack("[{s:s, s:i}]", "name", "dashboard", "containerPort", 8265));
    serve_svc(doc, &svc, KRC_EINVAL);

    /* serve-grpc and serve ports; a template port of the same name wins, others dropped */
    json_object_set_new(head, "ports",
                        json_pack("[{s:s, s:i}, {s:s, s:i}]", "name", "serve", "containerPort",
                                  9000, "name", "serve-grpc", "containerPort", 9001));
    json_object_set_new(kobj_obj(doc, "spec"), "serveService",
                        json_loads("{\"metadata\":{\"name\":\"custom\",\"labels\":{\"x\":\"y\"}},"
                                   "\"spec\":{\"ports\":[{\"name\":\"serve\",\"port\":12345,"
                                   "\"appProtocol\":\"kubernetes.io/h2c\"},"
                                   "{\"name\":\"other\",\"port\":1}]}}",
                                   0, NULL));
    serve_svc(doc, &svc, 0);
    assert_string_equal(kobj_path_str(svc, "metadata.name"), "custom");
    assert_string_equal(kobj_map_get(kobj_path(svc, "metadata.labels"), "x"), "y");
    want = json_loads("[{\"name\":\"serve\",\"port\":12345,\"appProtocol\":\"kubernetes.io/h2c\"},"
                      "{\"name\":\"serve-grpc\",\"port\":9001}]",
                      0, NULL);
    if (!json_equal(kobj_path(svc, "spec.ports"), want))
        fail_msg("ports: %s", json_dumps(kobj_path(svc, "spec.ports"), JSON_COMPACT));
    json_decref(want);
    json_decref(svc);
    json_decref(doc);
}

static void test_count_endpoints(void **state)
{
    (void)state;
    json_t *list = json_loads(
        "{\"items\":[{\"endpoints\":[{\"targetRef\":{\"uid\":\"a\"},\"conditions\":{\"ready\":true}"
        "},"
        "{\"targetRef\":{\"uid\":\"b\"},\"conditions\":{\"ready\":false}},"
        "{\"targetRef\":{\"uid\":\"c\"},\"conditions\":{}},"
        "{\"conditions\":{\"ready\":true}}]},"
        "{\"endpoints\":[{\"targetRef\":{\"uid\":\"a\"},\"conditions\":{\"ready\":true}},"
        "{\"targetRef\":{\"uid\":\"d\"},\"conditions\":{\"ready\":true}}]},"
        "{\"endpoints\":null}]}",
        0, NULL);
    assert_non_null(list);
    assert_int_equal(rayservice_count_endpoints(list), 2);
    assert_int_equal(rayservice_count_endpoints(NULL), 0);
    json_decref(list);
}

/* §5.2: which RayService an event on an owned RayCluster or Service enqueues. */
static void test_owner_name_from_reference_then_labels(void **state)
{
    (void)state;
    static const struct {
        const char *kind, *owner, *crd, *cr, *want, *what;
    } cases[] = {
        {"RayService", "svc", NULL, NULL, "svc", "controller reference to a RayService"},
        {"RayService", "svc", "RayService", "other", "svc", "the reference wins over labels"},
        {NULL, NULL, "RayService", "svc", "svc", "no reference: the originated-from labels"},
        {"RayJob", "job", "RayService", "svc", "svc", "another owner kind: the labels"},
        {"RayJob", "job", "RayJob", "job", NULL, "a RayJob's cluster"},
        {NULL, NULL, "RayCluster", "svc", NULL, "labels of another kind"},
        {NULL, NULL, "RayService", NULL, NULL, "crd label without a name"},
        {NULL, NULL, "RayService", "", NULL, "empty name label"},
        {"RayService", "", NULL, NULL, NULL, "empty owner name"},
        {"rayservice", "svc", NULL, NULL, NULL, "kinds are case-sensitive"},
        {NULL, NULL, NULL, NULL, NULL, "nothing"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got =
            rayservice_owner_name(cases[i].kind, cases[i].owner, cases[i].crd, cases[i].cr);
        if (!cases[i].want && got)
            fail_msg("%s: got %s, want none", cases[i].what, got);
        if (cases[i].want && (!got || strcmp(got, cases[i].want) != 0))
            fail_msg("%s: got %s, want %s", cases[i].what, got ? got : "(none)", cases[i].want);
    }
}

/* §4's selector applied to the cache: both labels, exact values. */
static void test_labels_match_selector(void **state)
{
    (void)state;
    assert_true(rayservice_labels_match("RayService", "demo", "demo"));
    assert_false(rayservice_labels_match("RayService", "demo2", "demo"));
    assert_false(rayservice_labels_match("RayService", "dem", "demo"));
    assert_false(rayservice_labels_match("RayJob", "demo", "demo"));
    assert_false(rayservice_labels_match(NULL, "demo", "demo"));
    assert_false(rayservice_labels_match("RayService", NULL, "demo"));
    assert_false(rayservice_labels_match("RayService", "demo", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_muted_and_hashed_fields),
        cmocka_unit_test(test_compare_full_and_prefix),
        cmocka_unit_test(test_build_cluster),
        cmocka_unit_test(test_head_service),
        cmocka_unit_test(test_serve_service),
        cmocka_unit_test(test_count_endpoints),
        cmocka_unit_test(test_owner_name_from_reference_then_labels),
        cmocka_unit_test(test_labels_match_selector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
