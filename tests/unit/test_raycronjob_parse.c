/* Unit tests for api/raycronjob parsing, status JSON and validation (spec §12.1, §12.2): each
 * validation step as a table row with KubeRay's exact message; and the created RayJob's name
 * (§12.5). The cron grammar itself is tested in test_cron.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raycluster_testutil.h"
#include "api/raycronjob.h"

static void test_parse_samples(void **state)
{
    (void)state;
    json_t *doc = tu_load_rayjob("cronjob-timezone.json");
    struct raycronjob cj;
    struct krc_error err = {0};
    assert_int_equal(raycronjob_parse(doc, &cj, &err), 0);
    assert_string_equal(cj.meta.name, "raycronjob-timezone");
    assert_string_equal(cj.spec.schedule, "45 21 * * MON-FRI");
    assert_string_equal(cj.spec.time_zone, "Asia/Taipei");
    assert_true(cj.spec.suspend.set);
    assert_false(cj.spec.suspend.v);
    assert_true(cj.spec.job.has_cluster_spec);
    assert_true(cj.spec.job.shutdown_after_job_finishes);
    assert_int_equal(cj.spec.job.ttl_seconds_after_finished, 600);
    assert_string_equal(cj.spec.cluster.meta.name, "raycronjob-timezone");
    assert_string_equal(cj.status.last_schedule_time, "2024-01-01T13:45:00Z");
    json_t *st = raycronjob_status_to_json(&cj.status);
    char *got = tu_dump(st);
    assert_string_equal(got, "{\"lastScheduleTime\":\"2024-01-01T13:45:00Z\"}");
    free(got);
    json_decref(st);
    raycronjob_release(&cj);
    json_decref(doc);

    doc = tu_load_rayjob("cronjob.json");
    assert_int_equal(raycronjob_apply_schema_defaults(doc), 0);
    assert_string_equal(kobj_path_str(doc, "spec.jobTemplate.submissionMode"), "K8sJobMode");
    assert_int_equal(raycronjob_parse(doc, &cj, &err), 0);
    assert_null(cj.spec.time_zone);
    assert_false(cj.spec.suspend.set);
    assert_string_equal(cj.status.last_schedule_time, "");
    st = raycronjob_status_to_json(&cj.status);
    assert_int_equal(json_object_size(st), 0);
    json_decref(st);
    raycronjob_release(&cj);

    tu_set(doc, "spec.jobTemplate.backoffLimit", "\"x\"");
    assert_int_equal(raycronjob_parse(doc, &cj, &err), KRC_EINVAL);
    assert_string_equal(err.msg, "RayCronJob default/raycronjob-sample: "
                                 "spec.jobTemplate.backoffLimit: expected an int32, got a string");
    tu_set(doc, "spec.jobTemplate.backoffLimit", NULL);
    tu_set(doc, "spec.timeZone", "5");
    assert_int_equal(raycronjob_parse(doc, &cj, &err), KRC_EINVAL);
    assert_non_null(strstr(err.msg, "RayCronJob default/raycronjob-sample: spec.timeZone"));
    json_decref(doc);
}

/* Type errors in the RayCronJob's own fields name the kind, the object and the field path. The
 * object is named from the metadata read so far, so a bad namespace already names the object. */
static void test_type_errors_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *path, *value, *want;
    } cases[] = {
        {"spec.suspend", "\"yes\"",
         "RayCronJob default/raycronjob-sample: spec.suspend: expected a boolean, got a string"},
        {"spec.schedule", "[]",
         "RayCronJob default/raycronjob-sample: spec.schedule: expected a string, got an array"},
        {"spec.jobTemplate", "1",
         "RayCronJob default/raycronjob-sample: spec.jobTemplate: expected an object, got an "
         "integer"},
        {"metadata.namespace", "7",
         "RayCronJob /raycronjob-sample: metadata.namespace: expected a string, got an integer"},
        {"metadata.generation", "1.5",
         "RayCronJob default/raycronjob-sample: metadata.generation: expected an integer, got a "
         "number"},
        {"metadata.annotations", "{\"a\": false}",
         "RayCronJob default/raycronjob-sample: metadata.annotations[\"a\"]: expected a string, "
         "got a boolean"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = tu_load_rayjob("cronjob.json");
        tu_set(doc, cases[i].path, cases[i].value);
        struct raycronjob cj;
        struct krc_error err = {0};
        int rc = raycronjob_parse(doc, &cj, &err);
        if (rc != KRC_EINVAL || strcmp(err.msg, cases[i].want) != 0)
            fail_msg("%s=%s: got %d \"%s\", want \"%s\"", cases[i].path, cases[i].value, rc,
                     err.msg, cases[i].want);
        json_decref(doc);
    }
}

struct patch {
    const char *path, *value;
};

struct vcase {
    const char *name;
    struct patch patches[3];
    const char *want; /* NULL = valid */
};

static const struct vcase vcases[] = {
    {"sample is valid", {{0}}, NULL},
    {"descriptor schedule", {{"spec.schedule", "\"@every 1h\""}}, NULL},
    {"name of 37 characters",
     {{"metadata.name", "\"a234567890123456789012345678901234567\""}},
     "RayCronJob name should be no more than 36 characters"},
    {"name of 36 characters",
     {{"metadata.name", "\"a23456789012345678901234567890123456\""}},
     NULL},
    {"TZ in schedule",
     {{"spec.schedule", "\"TZ=UTC * * * * *\""}},
     "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"},
    {"CRON_TZ in schedule",
     {{"spec.schedule", "\"CRON_TZ=Asia/Tokyo 0 * * * *\""}},
     "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"},
    {"unparseable schedule",
     {{"spec.schedule", "\"invalid cron string\""}},
     "invalid cron schedule: expected exactly 5 fields, found 3: [invalid cron string]"},
    {"out of range schedule",
     {{"spec.schedule", "\"0 25 * * *\""}},
     "invalid cron schedule: end of range (25) above maximum (23): 25"},
    {"empty schedule", {{"spec.schedule", "\"\""}}, "invalid cron schedule: empty spec string"},
    {"empty time zone",
     {{"spec.timeZone", "\"\""}},
     "timeZone must not be empty string, omit the field to use the local time zone of the KubeRay "
     "operator"},
    {"unknown time zone",
     {{"spec.timeZone", "\"Invalid/Zone\""}},
     "invalid time zone: unknown time zone Invalid/Zone"},
    {"known time zone", {{"spec.timeZone", "\"Europe/Berlin\""}}, NULL},
    {"template without cluster",
     {{"spec.jobTemplate.rayClusterSpec", NULL}},
     "invalid RayJob template: The RayJob spec is invalid: one of RayClusterSpec or "
     "ClusterSelector must be set"},
    {"template ttl without shutdown",
     {{"spec.jobTemplate.shutdownAfterJobFinishes", "false"}},
     "invalid RayJob template: The RayJob spec is invalid: a RayJob with shutdownAfterJobFinishes "
     "set to false cannot have TTLSecondsAfterFinished"},
    {"template message keeps its own prefix (none here)",
     {{"spec.jobTemplate.clusterSelector", "{\"a\": \"b\"}"}},
     "invalid RayJob template: cluster name in ClusterSelector should not be empty"},
    {"schedule checked before time zone",
     {{"spec.schedule", "\"bad\""}, {"spec.timeZone", "\"\""}},
     "invalid cron schedule: expected exactly 5 fields, found 1: [bad]"},
};

static void test_validation_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
        const struct vcase *c = &vcases[i];
        json_t *doc = tu_load_rayjob("cronjob.json");
        for (size_t p = 0; p < 3 && c->patches[p].path; p++)
            tu_set(doc, c->patches[p].path, c->patches[p].value);
        struct raycronjob cj;
        struct krc_error err = {0};
        if (raycronjob_parse(doc, &cj, &err))
            fail_msg("%s: parse failed: %s", c->name, err.msg);
        struct raycluster_gates g;
        raycluster_gates_default(&g);
        struct krc_strbuf full = KRC_STRBUF_INIT;
        int rc = raycronjob_validate(&cj, &g, &err, &full);
        if (!c->want && rc)
            fail_msg("%s: want valid, got %d \"%s\"", c->name, rc, err.msg);
        if (c->want && (rc != KRC_EINVAL || strcmp(full.buf, c->want) || strcmp(err.msg, c->want)))
            fail_msg("%s:\n  got  %d \"%s\"\n  want \"%s\"", c->name, rc, err.msg, c->want);
        krc_strbuf_release(&full);
        raycronjob_release(&cj);
        json_decref(doc);
    }
}

static void test_rayjob_name(void **state)
{
    (void)state;
    char buf[RAYJOB_MAX_NAME_LEN + 1];
    /* 2024-01-01T00:05:00Z is minute 28401125 */
    assert_int_equal(raycronjob_rayjob_name("test-cronjob", 1704067500, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "test-cronjob-28401125");
    /* a 36-character name (the validation limit) still fits the RayJob limit of 47 */
    const char *name36 = "a23456789012345678901234567890123456";
    assert_int_equal(raycronjob_rayjob_name(name36, 1704067500, buf, sizeof(buf)), 0);
    assert_int_equal(strlen(buf), 45);
    char small[8];
    assert_int_equal(raycronjob_rayjob_name("test-cronjob", 1704067500, small, sizeof(small)),
                     KRC_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_samples),
        cmocka_unit_test(test_type_errors_name_the_field),
        cmocka_unit_test(test_validation_table),
        cmocka_unit_test(test_rayjob_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
