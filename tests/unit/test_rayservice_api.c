/* Unit tests for api/rayservice: parsing (fields, malformed input), derived values, controller
 * validation messages (spec rayservice.md §3.3), Go durations, and the status helpers (conditions,
 * the §5.3 write comparison). Documents are built inline from a minimal valid RayService. */
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

static const char *const BASE =
    "{\"apiVersion\":\"ray.io/v1\",\"kind\":\"RayService\","
    "\"metadata\":{\"name\":\"demo\",\"namespace\":\"prod\",\"uid\":\"u1\",\"generation\":3,"
    "\"labels\":{\"team\":\"a\"},\"annotations\":{\"note\":\"x\"}},"
    "\"spec\":{\"serveConfigV2\":\"applications: []\\n\","
    "\"rayClusterConfig\":{\"rayVersion\":\"2.52.0\",\"headGroupSpec\":{\"rayStartParams\":{},"
    "\"template\":{\"spec\":{\"containers\":[{\"name\":\"ray-head\",\"image\":\"rayproject/"
    "ray\"}]}}},"
    "\"workerGroupSpecs\":[{\"groupName\":\"w\",\"replicas\":1,\"minReplicas\":0,"
    "\"maxReplicas\":5,\"rayStartParams\":{},\"template\":{\"spec\":{\"containers\":"
    "[{\"name\":\"ray-worker\",\"image\":\"rayproject/ray\"}]}}}]}}}";

static json_t *base_doc(void)
{
    json_error_t je;
    json_t *doc = json_loads(BASE, 0, &je);
    if (!doc)
        fail_msg("bad test document: %s", je.text);
    return doc;
}

/* Sets doc[dotted path] = JSON text value (objects created along the way). */
static void patch(json_t *doc, const char *path, const char *value)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *parent = doc;
    char *seg = buf, *dot;
    while ((dot = strchr(seg, '.'))) {
        *dot = '\0';
        parent = kobj_ensure_obj(parent, seg);
        assert_non_null(parent);
        seg = dot + 1;
    }
    json_error_t je;
    json_t *v = json_loads(value, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad patch value %s: %s", value, je.text);
    assert_int_equal(json_object_set_new(parent, seg, v), 0);
}

static void test_parse_fields_and_defaults(void **state)
{
    (void)state;
    json_t *doc = base_doc();
    struct rayservice rs;
    struct krc_error err = {0};
    assert_int_equal(rayservice_parse(doc, &rs, &err), 0);
    assert_string_equal(rs.meta.name, "demo");
    assert_string_equal(rs.meta.ns, "prod");
    assert_string_equal(rs.spec.serve_config_v2, "applications: []\n");
    assert_null(rs.spec.upgrade_type);
    assert_false(rs.spec.suspend);
    assert_non_null(rs.cluster.root);
    assert_string_equal(rs.cluster.meta.name, "demo");
    assert_int_equal(rs.cluster.spec.n_workers, 1);
    assert_string_equal(raycluster_annotation(&rs.cluster, "note"), "x");
    assert_int_equal(rayservice_deletion_delay_seconds(&rs), 60);
    assert_true(rayservice_managed_by_kuberay(&rs));
    assert_null(rs.status);
    rayservice_release(&rs);
    json_decref(doc);
}

static void test_parse_optional_fields(void **state)
{
    (void)state;
    json_t *doc = base_doc();
    patch(doc, "spec.rayClusterDeletionDelaySeconds", "0");
    patch(doc, "spec.upgradeStrategy", "{\"type\":\"None\"}");
    patch(doc, "spec.excludeHeadPodFromServeSvc", "true");
    patch(doc, "spec.suspend", "true");
    patch(doc, "spec.managedBy", "\"kueue.x-k8s.io/multikueue\"");
    patch(doc, "spec.serveService", "{\"metadata\":{\"name\":\"custom\"},\"spec\":{}}");
    patch(doc, "status", "{\"serviceStatus\":\"Running\"}");
    struct rayservice rs;
    struct krc_error err = {0};
    assert_int_equal(rayservice_parse(doc, &rs, &err), 0);
    assert_int_equal(rayservice_deletion_delay_seconds(&rs), 0);
    assert_string_equal(rs.spec.upgrade_type, "None");
    assert_true(rs.spec.exclude_head_pod_from_serve_svc);
    assert_true(rs.spec.suspend);
    assert_false(rayservice_managed_by_kuberay(&rs));
    assert_non_null(rs.spec.serve_service);
    assert_string_equal(kobj_str(rs.status, "serviceStatus"), "Running");
    rayservice_release(&rs);
    json_decref(doc);
}

/* Malformed input: wrong types anywhere fail with the field's path, and leave nothing. */
static void test_parse_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *path, *value, *want;
    } cases[] = {
        {"spec.suspend", "\"yes\"", "RayService prod/demo: spec.suspend: expected a boolean"},
        {"spec.serveConfigV2", "7", "spec.serveConfigV2: expected a string"},
        {"spec.rayClusterDeletionDelaySeconds", "\"60\"",
         "spec.rayClusterDeletionDelaySeconds: expected an int32"},
        {"spec.rayClusterDeletionDelaySeconds", "9999999999", "does not fit in an int32"},
        {"spec.upgradeStrategy", "[]", "spec.upgradeStrategy: expected an object"},
        {"spec.upgradeStrategy", "{\"type\":1}", "spec.upgradeStrategy.type: expected a string"},
        {"spec.rayClusterConfig", "\"x\"", "spec.rayClusterConfig: expected an object"},
        {"spec.rayClusterConfig.workerGroupSpecs", "{}",
         "RayService prod/demo: spec.rayClusterConfig.workerGroupSpecs"},
        {"spec.serveService", "{\"metadata\":[]}",
         "spec.serveService.metadata: expected an object"},
        {"spec", "[]", "spec: expected an object"},
        {"metadata", "5", "metadata"},
        {"status", "\"x\"", "status: expected an object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = base_doc();
        patch(doc, cases[i].path, cases[i].value);
        struct rayservice rs;
        struct krc_error err = {0};
        int r = rayservice_parse(doc, &rs, &err);
        if (r != KRC_EINVAL || !strstr(err.msg, cases[i].want))
            fail_msg("case %zu (%s=%s): rc %d, message \"%s\", want \"%s\"", i, cases[i].path,
                     cases[i].value, r, err.msg, cases[i].want);
        assert_null(rs.root);
        json_decref(doc);
    }
    struct rayservice rs;
    struct krc_error err = {0};
    json_t *arr = json_array();
    assert_int_equal(rayservice_parse(arr, &rs, &err), KRC_EINVAL);
    assert_non_null(strstr(err.msg, "expected a JSON object"));
    json_decref(arr);
}

static void test_zero_downtime(void **state)
{
    (void)state;
    static const struct {
        const char *type, *env;
        bool gate, want;
    } cases[] = {
        {NULL, NULL, true, true},
        {NULL, "false", true, false},
        {NULL, "FALSE", true, false},
        {NULL, "true", true, true},
        {"NewCluster", "false", true, true},
        {"None", NULL, true, false},
        {"NewClusterWithIncrementalUpgrade", NULL, true, true},
        {"NewClusterWithIncrementalUpgrade", NULL, false, false},
        {"Bogus", NULL, true, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rayservice rs = {0};
        rs.spec.upgrade_type = cases[i].type;
        if (rayservice_zero_downtime_enabled(&rs, cases[i].env, cases[i].gate) != cases[i].want)
            fail_msg("case %zu: want %d", i, cases[i].want);
    }
}

static void test_go_durations(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
        int64_t ns;
        const char *str;
    } cases[] = {
        {"0", 1, 0, "0s"},
        {"30m", 1, INT64_C(1800000000000), "30m0s"},
        {"1h", 1, INT64_C(3600000000000), "1h0m0s"},
        {"90s", 1, INT64_C(90000000000), "1m30s"},
        {"1.5h", 1, INT64_C(5400000000000), "1h30m0s"},
        {"-5m", 1, INT64_C(-300000000000), "-5m0s"},
        {"1h2m3.5s", 1, INT64_C(3723500000000), "1h2m3.5s"},
        {"12.345678s", 1, INT64_C(12345678000), "12.345678s"},
        {"1.5ms", 1, INT64_C(1500000), "1.5ms"},
        {"10s", 1, INT64_C(10000000000), "10s"},
        {"2us", 1, 2000, "2\xc2\xb5s"},
        {"7ns", 1, 7, "7ns"},
        {".5s", 1, INT64_C(500000000), "500ms"},
        {"100", 0, 0, NULL},
        {"5.5", 0, 0, NULL},
        {"abc", 0, 0, NULL},
        {"", 0, 0, NULL},
        {"1x", 0, 0, NULL},
        {"-", 0, 0, NULL},
        {".s", 0, 0, NULL},
        {"99999999999h", 0, 0, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ns = -1;
        int r = rayservice_parse_go_duration(cases[i].in, &ns);
        if ((r == 0) != cases[i].ok || (r == 0 && ns != cases[i].ns))
            fail_msg("parse \"%s\": rc %d ns %lld", cases[i].in, r, (long long)ns);
        if (!cases[i].str)
            continue;
        struct krc_strbuf sb = KRC_STRBUF_INIT;
        assert_int_equal(rayservice_format_go_duration(cases[i].ns, &sb), 0);
        if (strcmp(sb.buf, cases[i].str) != 0)
            fail_msg("format %lld: got \"%s\", want \"%s\"", (long long)cases[i].ns, sb.buf,
                     cases[i].str);
        krc_strbuf_release(&sb);
    }
}

/* §3.3: each row breaks one rule; the message is KubeRay's. NULL want = valid. */
static void test_validation_messages(void **state)
{
    (void)state;
    static const struct {
        const char *path, *value;
        bool meta;
        const char *want;
    } cases[] = {
        {NULL, NULL, false, NULL},
        {"metadata.name", "\"a23456789012345678901234567890123456789012345678\"", true,
         "The RayService metadata is invalid: RayService name should be no more than 47 "
         "characters"},
        {"metadata.name", "\"1abc\"", true,
         "The RayService metadata is invalid: RayService name should be a valid DNS1035 label: "
         "[a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
         "with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  "
         "or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')]"},
        {"metadata.annotations", "{\"ray.io/initializing-timeout\":\"0\"}", true,
         "The RayService metadata is invalid: RayService annotations is invalid: annotation "
         "ray.io/initializing-timeout must be a positive duration, got: 0"},
        {"metadata.annotations", "{\"ray.io/initializing-timeout\":\"-5m\"}", true,
         "must be a positive duration, got: -5m"},
        {"metadata.annotations", "{\"ray.io/initializing-timeout\":\"-100\"}", true,
         "annotation ray.io/initializing-timeout must be a positive integer (seconds), got: -100"},
        {"metadata.annotations", "{\"ray.io/initializing-timeout\":\"5.5\"}", true,
         "annotation ray.io/initializing-timeout has invalid format: 5.5. Expected Go duration "
         "format (e.g., '5m', '1h') or positive integer seconds"},
        {"metadata.annotations", "{\"ray.io/initializing-timeout\":\"120\"}", true, NULL},
        {"metadata.annotations", "{\"ray.io/initializing-timeout\":\"10m\"}", true, NULL},
        {"spec.rayClusterConfig.authOptions", "{\"mode\":\"token\",\"enableK8sTokenAuth\":true}",
         false,
         "The RayService spec is invalid: K8s token auth mode is currently not supported for "
         "RayService"},
        {"spec.rayClusterConfig.headGroupSpec.headService", "{\"metadata\":{\"name\":\"x\"}}",
         false,
         "The RayService spec is invalid: spec.rayClusterConfig.headGroupSpec.headService."
         "metadata.name should not be set"},
        {"spec.upgradeStrategy", "{\"type\":\"Blue\"}", false,
         "The RayService spec is invalid: Spec.UpgradeStrategy.Type value Blue is invalid, valid "
         "options are NewClusterWithIncrementalUpgrade, NewCluster, or None"},
        {"spec.rayClusterDeletionDelaySeconds", "-1", false,
         "The RayService spec is invalid: Spec.RayClusterDeletionDelaySeconds should be a "
         "non-negative integer, got -1"},
        {"spec.upgradeStrategy", "{\"type\":\"NewClusterWithIncrementalUpgrade\"}", false,
         "The RayService spec is invalid: Ray Autoscaler is required for "
         "NewClusterWithIncrementalUpgrade"},
        {"spec.rayClusterConfig.headGroupSpec.template", "{\"spec\":{\"containers\":[]}}", false,
         "The RayService spec is invalid: "},
    };
    struct raycluster_gates g = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = base_doc();
        if (cases[i].path)
            patch(doc, cases[i].path, cases[i].value);
        struct rayservice rs;
        struct krc_error err = {0};
        struct krc_strbuf full = KRC_STRBUF_INIT;
        if (rayservice_parse(doc, &rs, &err))
            fail_msg("case %zu: parse failed: %s", i, err.msg);
        int r = rayservice_validate_metadata(&rs, &err, &full);
        if (!r)
            r = rayservice_validate_spec(&rs, &g, true, &err, &full);
        if (!cases[i].want) {
            if (r)
                fail_msg("case %zu: unexpected error %s", i, err.msg);
        } else if (r != KRC_EINVAL || !strstr(full.buf ? full.buf : "", cases[i].want)) {
            fail_msg("case %zu: rc %d, got \"%s\", want \"%s\"", i, r, full.buf ? full.buf : "",
                     cases[i].want);
        }
        krc_strbuf_release(&full);
        rayservice_release(&rs);
        json_decref(doc);
    }
}

static void test_initializing_timeout(void **state)
{
    (void)state;
    json_t *doc = base_doc();
    patch(doc, "metadata.annotations", "{\"ray.io/initializing-timeout\":\"120\"}");
    struct rayservice rs;
    struct krc_error err = {0};
    int64_t ns = 0;
    assert_int_equal(rayservice_parse(doc, &rs, &err), 0);
    assert_true(rayservice_initializing_timeout(&rs, &ns));
    assert_int_equal(ns, INT64_C(120000000000));
    rayservice_release(&rs);
    patch(doc, "metadata.annotations", "{\"ray.io/initializing-timeout\":\"abc\"}");
    assert_int_equal(rayservice_parse(doc, &rs, &err), 0);
    assert_false(rayservice_initializing_timeout(&rs, &ns));
    rayservice_release(&rs);
    json_decref(doc);
}

static void test_conditions(void **state)
{
    (void)state;
    json_t *st = json_pack("{s:i}", "observedGeneration", 4);
    assert_int_equal(rayservice_status_set_condition(st, "Ready", "False", "Initializing",
                                                     "RayService is initializing", "T1"),
                     0);
    json_t *c = rayservice_status_condition(st, "Ready");
    assert_string_equal(kobj_str(c, "lastTransitionTime"), "T1");
    assert_int_equal(json_integer_value(json_object_get(c, "observedGeneration")), 4);
    /* same status: time kept, reason/message overwritten */
    assert_int_equal(
        rayservice_status_set_condition(st, "Ready", "False", "ZeroServeEndpoints", "m2", "T2"), 0);
    c = rayservice_status_condition(st, "Ready");
    assert_string_equal(kobj_str(c, "lastTransitionTime"), "T1");
    assert_string_equal(kobj_str(c, "reason"), "ZeroServeEndpoints");
    assert_false(rayservice_status_condition_true(st, "Ready"));
    /* status change: new time */
    assert_int_equal(
        rayservice_status_set_condition(st, "Ready", "True", "NonZeroServeEndpoints", "m", "T3"),
        0);
    assert_string_equal(kobj_str(rayservice_status_condition(st, "Ready"), "lastTransitionTime"),
                        "T3");
    assert_true(rayservice_status_condition_true(st, "Ready"));
    rayservice_status_remove_condition(st, "Ready");
    assert_null(rayservice_status_condition(st, "Ready"));
    json_decref(st);
}

/* §5.3: which differences cause a status write. */
static void test_status_differs(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        bool differs;
    } cases[] = {
        {"{}", "{}", false},
        {"{}", "{\"serviceStatus\":\"Running\"}", true},
        {"{\"numServeEndpoints\":0}", "{}", false},
        {"{\"numServeEndpoints\":1}", "{}", true},
        {"{\"observedGeneration\":1}", "{\"observedGeneration\":2}", false},
        {"{\"lastUpdateTime\":\"a\"}", "{\"lastUpdateTime\":\"b\"}", false},
        {"{\"activeServiceStatus\":{\"rayClusterStatus\":{\"state\":\"ready\"}}}",
         "{\"activeServiceStatus\":{}}", false},
        {"{\"activeServiceStatus\":{\"rayClusterName\":\"x\"}}", "{}", true},
        {"{\"pendingServiceStatus\":{\"rayClusterName\":\"x\"}}",
         "{\"pendingServiceStatus\":{\"rayClusterName\":\"y\"}}", true},
        {"{\"pendingServiceStatus\":{\"applicationStatuses\":{}}}", "{}", false},
        {"{\"pendingServiceStatus\":{\"applicationStatuses\":{\"a\":{\"status\":\"RUNNING\"}}}}",
         "{\"pendingServiceStatus\":{\"applicationStatuses\":{\"a\":{\"status\":\"DEPLOYING\"}}}}",
         true},
        {"{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}",
         "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}", true},
        {"{\"conditions\":[]}", "{}", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *a = json_loads(cases[i].a, 0, NULL), *b = json_loads(cases[i].b, 0, NULL);
        assert_non_null(a);
        assert_non_null(b);
        if (rayservice_status_differs(a, b) != cases[i].differs ||
            rayservice_status_differs(b, a) != cases[i].differs)
            fail_msg("case %zu: %s vs %s: want differs=%d", i, cases[i].a, cases[i].b,
                     cases[i].differs);
        json_decref(a);
        json_decref(b);
    }
    json_t *st = json_pack("{s:{s:s}}", "pendingServiceStatus", "rayClusterName", "demo-x");
    assert_string_equal(rayservice_status_cluster_name(st, true), "demo-x");
    assert_string_equal(rayservice_status_cluster_name(st, false), "");
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fields_and_defaults),
        cmocka_unit_test(test_parse_optional_fields),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_zero_downtime),
        cmocka_unit_test(test_go_durations),
        cmocka_unit_test(test_validation_messages),
        cmocka_unit_test(test_initializing_timeout),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_status_differs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
