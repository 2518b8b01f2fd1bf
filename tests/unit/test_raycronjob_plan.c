/* Unit tests for controller/raycronjob_plan (spec rayjob.md §12.3-§12.5): the TZ= schedule,
 * which time counts as "earliest", wait / create / catch-up decisions and the created RayJob. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/raycronjob_plan.h"

#define CRONJOB_DOC                                                                                \
    "{\"apiVersion\":\"ray.io/"                                                                    \
    "v1\",\"kind\":\"RayCronJob\",\"metadata\":{\"name\":\"test-"                                  \
    "cronjob\",\"namespace\":\"ns1\",\"uid\":\"u-1\",\"creationTimestamp\":"                       \
    "\"2024-01-01T00:00:"                                                                          \
    "00Z\"},\"spec\":{\"schedule\":\"*/5 * * * "                                                   \
    "*\",%s\"jobTemplate\":{\"entrypoint\":\"python "                                              \
    "-c 1\",\"clusterSelector\":{\"ray.io/cluster\":\"c\"}}}%s}"

static json_t *cronjob_doc(const char *extra_spec, const char *status)
{
    char buf[2048];
    snprintf(buf, sizeof(buf), CRONJOB_DOC, extra_spec, status);
    json_error_t jerr;
    json_t *doc = json_loads(buf, 0, &jerr);
    if (!doc)
        fail_msg("bad test document: %s", jerr.text);
    return doc;
}

static void parse_cronjob(const char *extra_spec, const char *status, struct raycronjob *cj)
{
    json_t *doc = cronjob_doc(extra_spec, status);
    struct krc_error err = {0};
    if (raycronjob_parse(doc, cj, &err))
        fail_msg("parse: %s", err.msg);
    json_decref(doc);
}

static void test_schedule_uses_time_zone(void **state)
{
    (void)state;
    struct raycronjob cj;
    struct cron_schedule *s = NULL;
    struct krc_error err = {0};
    parse_cronjob("\"timeZone\":\"Asia/Tokyo\",", "", &cj);
    cj.spec.schedule = "0 9 * * *"; /* parsed as "TZ=Asia/Tokyo 0 9 * * *" */
    assert_int_equal(raycronjob_plan_parse_schedule(&cj, &s, &err), 0);
    /* 09:00 in Tokyo is 00:00Z */
    assert_true(cron_next(s, 1704067200) == 1704153600);
    cron_free(s);
    cj.spec.time_zone = NULL;
    cj.spec.schedule = "TZ=UTC 0 9 * * *"; /* validation rejects TZ=; here only
                                              the prefix form */
    assert_int_equal(raycronjob_plan_parse_schedule(&cj, &s, &err), 0);
    assert_true(cron_next(s, 1704067200) == 1704099600);
    cron_free(s);
    raycronjob_release(&cj);
}

static void test_time_parse_and_format(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(raycronjob_plan_parse_time("2024-01-01T00:05:00Z", &t), 0);
    assert_true(t == 1704067500);
    assert_int_equal(raycronjob_plan_parse_time("2024-01-01T09:05:00.123+09:00", &t), 0);
    assert_true(t == 1704067500);
    assert_int_equal(raycronjob_plan_parse_time("2023-12-31T19:05:00-05:00", &t), 0);
    assert_true(t == 1704067500);
    assert_int_equal(raycronjob_plan_parse_time("2024-01-01T00:05:00", &t), KRC_EINVAL);
    assert_int_equal(raycronjob_plan_parse_time("2024-01-01T00:05:00Zx", &t), KRC_EINVAL);
    assert_int_equal(raycronjob_plan_parse_time("yesterday", &t), KRC_EINVAL);
    assert_int_equal(raycronjob_plan_parse_time(NULL, &t), KRC_EINVAL);
    char buf[RAYCRONJOB_RFC3339_LEN];
    assert_int_equal(raycronjob_plan_format_time(1704067500, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "2024-01-01T00:05:00Z");
    assert_int_equal(raycronjob_plan_format_time(1704067500, buf, 5), KRC_ERANGE);
}

static void test_earliest_prefers_last_schedule_time(void **state)
{
    (void)state;
    struct raycronjob cj;
    int64_t t = 0;
    parse_cronjob("", "", &cj);
    assert_int_equal(raycronjob_plan_earliest(&cj, &t), 0);
    assert_true(t == 1704067200); /* creationTimestamp */
    raycronjob_release(&cj);
    parse_cronjob("", ",\"status\":{\"lastScheduleTime\":\"2024-01-01T00:10:00Z\"}", &cj);
    assert_int_equal(raycronjob_plan_earliest(&cj, &t), 0);
    assert_true(t == 1704067800);
    raycronjob_release(&cj);
}

struct decide_case {
    const char *spec;
    int64_t earliest, now;
    enum raycronjob_plan_action action;
    int64_t tick, requeue_s;
};

static void test_decide(void **state)
{
    (void)state;
    static const struct decide_case cases[] = {
        /* created 00:00:00, now 00:01:40: wait for 00:05 */
        {"*/5 * * * *", 1704067200, 1704067300, RAYCRONJOB_PLAN_WAIT, 1704067500, 200},
        /* exactly at the tick: create it, come back at 00:10 */
        {"*/5 * * * *", 1704067200, 1704067500, RAYCRONJOB_PLAN_CREATE, 1704067500, 300},
        /* 3 s late: the requeue is shortened accordingly */
        {"*/5 * * * *", 1704067200, 1704067503, RAYCRONJOB_PLAN_CREATE, 1704067500, 297},
        /* an hour of downtime: the oldest missed tick first, no timed requeue (<= 0) */
        {"*/5 * * * *", 1704067200, 1704070800, RAYCRONJOB_PLAN_CREATE, 1704067500, -3000},
        /* strictly after earliest: lastScheduleTime 00:05 -> 00:10 */
        {"*/5 * * * *", 1704067500, 1704067600, RAYCRONJOB_PLAN_WAIT, 1704067800, 200},
        {"0 0 30 2 *", 1704067200, 1704067300, RAYCRONJOB_PLAN_NEVER, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cron_schedule *s = NULL;
        struct krc_error err = {0};
        assert_int_equal(cron_parse(cases[i].spec, "UTC", &s, &err), 0);
        struct raycronjob_plan p;
        raycronjob_plan_decide(s, cases[i].earliest, cases[i].now, &p);
        cron_free(s);
        if (p.action != cases[i].action || p.tick != cases[i].tick ||
            p.requeue_s != cases[i].requeue_s)
            fail_msg("case %zu: got action %d tick %lld requeue %lld, want %d %lld %lld", i,
                     (int)p.action, (long long)p.tick, (long long)p.requeue_s, (int)cases[i].action,
                     (long long)cases[i].tick, (long long)cases[i].requeue_s);
    }
}

static void test_rayjob_for_tick(void **state)
{
    (void)state;
    struct raycronjob cj;
    struct krc_error err = {0};
    json_t *obj = NULL;
    parse_cronjob("", "", &cj);
    assert_int_equal(raycronjob_plan_rayjob(&cj, 1704067500, &obj, &err), 0);
    json_error_t jerr;
    json_t *want = json_loads("{\"apiVersion\":\"ray.io/"
                              "v1\",\"kind\":\"RayJob\",\"metadata\":{\"name\":\"test-cronjob-"
                              "28401125\",\"namespace\":\"ns1\",\"labels\":{\"ray.io/"
                              "cronjob-name\":\"test-cronjob\"},"
                              "\"annotations\":{\"ray.io/"
                              "cronjob-scheduled-timestamp\":\"2024-01-01T00:05:00Z\"},"
                              "\"ownerReferences\":[{\"apiVersion\":\"ray.io/"
                              "v1\",\"kind\":\"RayCronJob\",\"name\":"
                              "\"test-cronjob\",\"uid\":\"u-1\",\"controller\":true,"
                              "\"blockOwnerDeletion\":true}]},"
                              "\"spec\":{\"entrypoint\":\"python -c "
                              "1\",\"clusterSelector\":{\"ray.io/cluster\":\"c\"}}}",
                              0, &jerr);
    assert_non_null(want);
    if (!json_equal(obj, want)) {
        char *got = json_dumps(obj, JSON_SORT_KEYS);
        fail_msg("got %s", got);
    }
    /* a deep copy: editing the RayJob leaves the template alone */
    json_object_set_new(json_object_get(obj, "spec"), "entrypoint", json_string("x"));
    assert_string_equal(json_string_value(json_object_get(cj.spec.job_template, "entrypoint")),
                        "python -c 1");
    json_decref(want);
    json_decref(obj);
    cj.spec.job_template = NULL;
    assert_int_equal(raycronjob_plan_rayjob(&cj, 1704067500, &obj, &err), KRC_EINVAL);
    assert_null(obj);
    raycronjob_release(&cj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_uses_time_zone),
        cmocka_unit_test(test_time_parse_and_format),
        cmocka_unit_test(test_earliest_prefers_last_schedule_time),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_rayjob_for_tick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
