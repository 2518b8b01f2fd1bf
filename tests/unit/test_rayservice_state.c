/* Unit tests for controller/rayservice_state: the status of a RayService pass (spec rayservice.md
 * §6.3, §10) as a function of what the pass observed - creation, a pending cluster starting,
 * promotion, a cluster-spec change (blue/green or not, by upgrade strategy), endpoints dropping,
 * the initializing timeout, and the inconsistent-Services error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api/kobj.h"
#include "api/rayservice.h"
#include "controller/rayservice_cluster.h"
#include "controller/rayservice_state.h"

#define NOW   "2026-12-01T10:00:00Z"
#define NOW_S INT64_C(1796119200) /* NOW in unix seconds */

static const char *const BASE =
    "{\"apiVersion\":\"ray.io/v1\",\"kind\":\"RayService\","
    "\"metadata\":{\"name\":\"demo\",\"namespace\":\"prod\",\"uid\":\"u1\",\"generation\":4},"
    "\"spec\":{\"serveConfigV2\":\"applications: []\","
    "\"rayClusterConfig\":{\"headGroupSpec\":{\"rayStartParams\":{},\"template\":{\"spec\":"
    "{\"containers\":[{\"name\":\"ray-head\",\"image\":\"ray:1\"}]}}}}}}";

struct fixture {
    json_t *doc;
    struct rayservice rs;
};

/* The RayService with `status` (JSON text or NULL) and, when image is set, that head image. */
static void load(struct fixture *f, const char *status, const char *image, const char *patch_key,
                 const char *patch_json)
{
    struct krc_error err = {0};
    f->doc = json_loads(BASE, 0, NULL);
    assert_non_null(f->doc);
    if (status)
        json_object_set_new(f->doc, "status", json_loads(status, 0, NULL));
    if (image)
        json_object_set_new(json_array_get(kobj_path(f->doc, "spec.rayClusterConfig.headGroupSpec."
                                                             "template.spec.containers"),
                                           0),
                            "image", json_string(image));
    if (patch_key)
        json_object_set_new(kobj_obj(f->doc, "spec"), patch_key, json_loads(patch_json, 0, NULL));
    if (rayservice_parse(f->doc, &f->rs, &err))
        fail_msg("parse: %s", err.msg);
}

static void unload(struct fixture *f)
{
    rayservice_release(&f->rs);
    json_decref(f->doc);
}

/* A RayCluster built from the fixture's current spec, with a status. */
static json_t *cluster(const struct fixture *f, const char *name)
{
    json_t *rc = NULL;
    struct krc_error err = {0};
    assert_int_equal(rayservice_build_cluster(&f->rs, name, "v1", &rc, &err), 0);
    json_object_set_new(rc, "status", json_pack("{s:s}", "state", "ready"));
    return rc;
}

static json_t *compute(const struct rayservice_state_in *in, struct rayservice_state_timeout *to)
{
    json_t *st = NULL;
    struct krc_error err = {0};
    if (rayservice_state_compute(in, &st, to, &err))
        fail_msg("compute: %s", err.msg);
    return st;
}

static const char *cond_field(const json_t *st, const char *type, const char *field)
{
    return kobj_str(rayservice_status_condition(st, type), field);
}

static void test_new_rayservice_prepares_a_cluster(void **state)
{
    (void)state;
    struct fixture f;
    struct rayservice_state_timeout to;
    load(&f, NULL, NULL, NULL, NULL);
    struct rayservice_state_in in = {
        .rs = &f.rs, .new_cluster_name = "demo-bcdfg", .now = NOW, .now_s = NOW_S};
    json_t *st = compute(&in, &to);
    assert_string_equal(rayservice_status_cluster_name(st, true), "demo-bcdfg");
    assert_string_equal(rayservice_status_cluster_name(st, false), "");
    assert_string_equal(cond_field(st, "Ready", "reason"), "Initializing");
    assert_string_equal(cond_field(st, "Ready", "message"), "RayService is initializing");
    assert_string_equal(cond_field(st, "UpgradeInProgress", "reason"), "Initializing");
    assert_int_equal(json_integer_value(json_object_get(st, "observedGeneration")), 4);
    assert_null(json_object_get(st, "serviceStatus"));
    assert_null(json_object_get(st, "numServeEndpoints"));
    assert_false(to.fired);
    json_decref(st);
    unload(&f);
}

static void test_starting_pending_cluster_keeps_its_name(void **state)
{
    (void)state;
    struct fixture f;
    struct rayservice_state_timeout to;
    load(&f,
         "{\"pendingServiceStatus\":{\"rayClusterName\":\"demo-aaaaa\"},\"conditions\":[{\"type\":"
         "\"Ready\",\"status\":\"False\",\"reason\":\"Initializing\",\"message\":\"m\","
         "\"lastTransitionTime\":\"2026-12-01T09:59:00Z\"},{\"type\":\"UpgradeInProgress\","
         "\"status\":\"False\",\"reason\":\"Initializing\",\"message\":\"m\","
         "\"lastTransitionTime\":\"2026-12-01T09:59:00Z\"}]}",
         NULL, NULL, NULL);
    json_t *pending = cluster(&f, "demo-aaaaa");
    json_t *apps = json_loads("{\"app\":{\"status\":\"DEPLOYING\"}}", 0, NULL);
    struct rayservice_state_in in = {.rs = &f.rs,
                                     .pending = pending,
                                     .pending_apps = apps,
                                     .new_cluster_name = "demo-zzzzz",
                                     .now = NOW,
                                     .now_s = NOW_S};
    json_t *st = compute(&in, &to);
    assert_string_equal(rayservice_status_cluster_name(st, true), "demo-aaaaa");
    assert_true(json_equal(kobj_path(st, "pendingServiceStatus.applicationStatuses"), apps));
    assert_string_equal(kobj_path_str(st, "pendingServiceStatus.rayClusterStatus.state"), "ready");
    /* no timeout annotation: stays Initializing, times kept */
    assert_string_equal(cond_field(st, "Ready", "reason"), "Initializing");
    assert_string_equal(cond_field(st, "Ready", "lastTransitionTime"), "2026-12-01T09:59:00Z");
    assert_string_equal(cond_field(st, "UpgradeInProgress", "reason"), "Initializing");
    assert_true(rayservice_status_differs(f.rs.status, st)); /* the apps appeared */
    json_decref(st);
    json_decref(apps);
    json_decref(pending);
    unload(&f);
}

/* §10.2: Services pointed at the pending cluster: promoted; endpoints make it Ready. */
static void test_promotion(void **state)
{
    (void)state;
    struct fixture f;
    struct rayservice_state_timeout to;
    load(&f, "{\"pendingServiceStatus\":{\"rayClusterName\":\"demo-aaaaa\"}}", NULL, NULL, NULL);
    json_t *pending = cluster(&f, "demo-aaaaa");
    json_t *apps = json_loads("{\"app\":{\"status\":\"RUNNING\"}}", 0, NULL);
    struct rayservice_state_in in = {.rs = &f.rs,
                                     .pending = pending,
                                     .pending_apps = apps,
                                     .target = "demo-aaaaa",
                                     .endpoints = 1,
                                     .new_cluster_name = "demo-zzzzz",
                                     .now = NOW,
                                     .now_s = NOW_S};
    json_t *st = compute(&in, &to);
    assert_string_equal(rayservice_status_cluster_name(st, false), "demo-aaaaa");
    assert_string_equal(rayservice_status_cluster_name(st, true), "");
    assert_true(json_equal(kobj_path(st, "activeServiceStatus.applicationStatuses"), apps));
    assert_string_equal(cond_field(st, "Ready", "status"), "True");
    assert_string_equal(cond_field(st, "Ready", "reason"), "NonZeroServeEndpoints");
    assert_string_equal(cond_field(st, "UpgradeInProgress", "reason"), "NoPendingCluster");
    assert_string_equal(kobj_str(st, "serviceStatus"), "Running");
    assert_int_equal(json_integer_value(json_object_get(st, "numServeEndpoints")), 1);
    json_decref(st);

    /* Services pointing at a cluster that is neither: an error, not a crash */
    struct krc_error err = {0};
    in.target = "demo-other";
    assert_int_equal(rayservice_state_compute(&in, &st, &to, &err), KRC_EINVAL);
    assert_null(st);
    json_decref(apps);
    json_decref(pending);
    unload(&f);
}

/* §6.3: a hashed change with an active cluster: new pending under NewCluster (default), nothing
 * under None; replicas-only edits never. */
static void test_cluster_spec_change(void **state)
{
    (void)state;
    static const struct {
        const char *image, *key, *value;
        bool new_cluster;
    } cases[] = {
        {NULL, NULL, NULL, false},
        {"ray:2", NULL, NULL, true},
        {"ray:2", "upgradeStrategy", "{\"type\":\"NewCluster\"}", true},
        {"ray:2", "upgradeStrategy", "{\"type\":\"None\"}", false},
        {NULL, "upgradeStrategy", "{\"type\":\"None\"}", false},
    };
    const char *status = "{\"activeServiceStatus\":{\"rayClusterName\":\"demo-aaaaa\"},"
                         "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":"
                         "\"NonZeroServeEndpoints\",\"message\":\"m\",\"lastTransitionTime\":"
                         "\"2026-12-01T09:00:00Z\"}]}";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture old, f;
        struct rayservice_state_timeout to;
        load(&old, status, NULL, NULL, NULL); /* the spec the active cluster was built from */
        json_t *active = cluster(&old, "demo-aaaaa");
        load(&f, status, cases[i].image, cases[i].key, cases[i].value);
        struct rayservice_state_in in = {.rs = &f.rs,
                                         .active = active,
                                         .endpoints = 2,
                                         .new_cluster_name = "demo-zzzzz",
                                         .now = NOW,
                                         .now_s = NOW_S};
        json_t *st = compute(&in, &to);
        const char *pn = rayservice_status_cluster_name(st, true);
        if ((strcmp(pn, "demo-zzzzz") == 0) != cases[i].new_cluster)
            fail_msg("case %zu: pending \"%s\"", i, pn);
        assert_string_equal(cond_field(st, "UpgradeInProgress", "reason"),
                            cases[i].new_cluster ? "BothActivePendingClustersExist"
                                                 : "NoPendingCluster");
        assert_string_equal(cond_field(st, "Ready", "status"), "True");
        json_decref(st);
        json_decref(active);
        unload(&f);
        unload(&old);
    }
}

static void test_endpoints_drop_to_zero(void **state)
{
    (void)state;
    struct fixture f;
    struct rayservice_state_timeout to;
    load(&f,
         "{\"activeServiceStatus\":{\"rayClusterName\":\"demo-aaaaa\"},\"serviceStatus\":"
         "\"Running\",\"numServeEndpoints\":1,\"conditions\":[{\"type\":\"Ready\",\"status\":"
         "\"True\",\"reason\":\"NonZeroServeEndpoints\",\"message\":\"m\",\"lastTransitionTime\":"
         "\"2026-12-01T09:00:00Z\"}]}",
         NULL, NULL, NULL);
    json_t *active = cluster(&f, "demo-aaaaa");
    struct rayservice_state_in in = {.rs = &f.rs,
                                     .active = active,
                                     .endpoints = 0,
                                     .new_cluster_name = "demo-zzzzz",
                                     .now = NOW,
                                     .now_s = NOW_S};
    json_t *st = compute(&in, &to);
    assert_string_equal(cond_field(st, "Ready", "status"), "False");
    assert_string_equal(cond_field(st, "Ready", "reason"), "ZeroServeEndpoints");
    assert_string_equal(cond_field(st, "Ready", "lastTransitionTime"), NOW);
    assert_null(json_object_get(st, "serviceStatus"));
    assert_null(json_object_get(st, "numServeEndpoints"));
    assert_true(rayservice_status_differs(f.rs.status, st));
    json_decref(st);
    json_decref(active);
    unload(&f);
}

/* §10.4: Ready False/Initializing for longer than the annotation: names cleared, terminal. */
static void test_initializing_timeout(void **state)
{
    (void)state;
    struct fixture f;
    struct rayservice_state_timeout to;
    load(&f,
         "{\"pendingServiceStatus\":{\"rayClusterName\":\"demo-aaaaa\"},\"conditions\":[{\"type\":"
         "\"Ready\",\"status\":\"False\",\"reason\":\"Initializing\",\"message\":\"m\","
         "\"lastTransitionTime\":\"2026-12-01T09:59:45Z\"},{\"type\":\"UpgradeInProgress\","
         "\"status\":\"False\",\"reason\":\"Initializing\",\"message\":\"m\","
         "\"lastTransitionTime\":\"2026-12-01T09:59:45Z\"}]}",
         NULL, NULL, NULL);
    json_object_set_new(kobj_obj(f.doc, "metadata"), "annotations",
                        json_pack("{s:s}", "ray.io/initializing-timeout", "10s"));
    rayservice_release(&f.rs);
    struct krc_error err = {0};
    assert_int_equal(rayservice_parse(f.doc, &f.rs, &err), 0);
    json_t *pending = cluster(&f, "demo-aaaaa");
    struct rayservice_state_in in = {.rs = &f.rs,
                                     .pending = pending,
                                     .new_cluster_name = "demo-zzzzz",
                                     .now = NOW,
                                     .now_s = NOW_S};
    json_t *st = compute(&in, &to);
    assert_true(to.fired);
    assert_string_equal(to.limit, "10s");
    assert_string_equal(to.elapsed, "15s");
    assert_string_equal(cond_field(st, "Ready", "reason"), "InitializingTimeout");
    assert_string_equal(cond_field(st, "Ready", "message"),
                        "RayService failed to become ready within the configured timeout of 10s. "
                        "Time spent initializing: 15s");
    assert_string_equal(rayservice_status_cluster_name(st, true), "");
    assert_string_equal(cond_field(st, "UpgradeInProgress", "reason"), "Initializing");
    json_decref(st);

    /* not yet: 5 s in */
    in.now_s = NOW_S - 10;
    st = compute(&in, &to);
    assert_false(to.fired);
    assert_string_equal(cond_field(st, "Ready", "reason"), "Initializing");
    json_decref(st);
    json_decref(pending);
    unload(&f);
}

/* §10.3 quirk: after a validation failure only Ready exists; with a pending name only,
 * UpgradeInProgress becomes Unknown/NoActiveCluster. */
static void test_no_active_cluster_after_validation_failure(void **state)
{
    (void)state;
    struct fixture f;
    struct rayservice_state_timeout to;
    load(&f,
         "{\"pendingServiceStatus\":{\"rayClusterName\":\"demo-aaaaa\"},\"conditions\":[{\"type\":"
         "\"Ready\",\"status\":\"False\",\"reason\":\"ValidationFailed\",\"message\":\"bad\","
         "\"lastTransitionTime\":\"2026-12-01T09:00:00Z\"}]}",
         NULL, NULL, NULL);
    json_t *pending = cluster(&f, "demo-aaaaa");
    struct rayservice_state_in in = {.rs = &f.rs,
                                     .pending = pending,
                                     .new_cluster_name = "demo-zzzzz",
                                     .now = NOW,
                                     .now_s = NOW_S};
    json_t *st = compute(&in, &to);
    assert_string_equal(cond_field(st, "Ready", "reason"), "ValidationFailed");
    assert_string_equal(cond_field(st, "UpgradeInProgress", "status"), "Unknown");
    assert_string_equal(cond_field(st, "UpgradeInProgress", "reason"), "NoActiveCluster");
    json_decref(st);
    json_decref(pending);
    unload(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rayservice_prepares_a_cluster),
        cmocka_unit_test(test_starting_pending_cluster_keeps_its_name),
        cmocka_unit_test(test_promotion),
        cmocka_unit_test(test_cluster_spec_change),
        cmocka_unit_test(test_endpoints_drop_to_zero),
        cmocka_unit_test(test_initializing_timeout),
        cmocka_unit_test(test_no_active_cluster_after_validation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
