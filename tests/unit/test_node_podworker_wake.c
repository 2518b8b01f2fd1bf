/* Unit tests of when a pod worker next wakes on its own (krc_podworker_next_wake in
 * src/node/podworker.c): the earliest future restart back-off, probe due time, retry after a
 * failure, capped by the idle period; deadlines that were due when the last pass began are ignored
 * (they were handled, or do not apply), so a stale one cannot make the worker spin. Pure: a worker
 * struct filled by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "node/podworker.h"

enum { T0 = 100000, NOW = 100005, IDLE = 10000 };

struct fixture {
    struct krc_podworker w;
    struct krc_ctrstate c[2];
    json_t *spec[2];
};

static void setup(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->spec[0] = json_pack("{s:s}", "name", "plain");
    f->spec[1] = json_pack("{s:s, s:{s:i}, s:{s:i}}", "name", "probed", "readinessProbe",
                           "periodSeconds", 10, "livenessProbe", "periodSeconds", 10);
    f->w.ctrs = f->c;
    f->w.n_ctrs = 2;
    for (int i = 0; i < 2; i++) {
        f->c[i].spec = f->spec[i];
        f->c[i].started_once = 1;
        f->c[i].st.state = KRC_CONTAINER_RUNNING;
    }
}

static void teardown(struct fixture *f)
{
    json_decref(f->spec[0]);
    json_decref(f->spec[1]);
}

static void test_idle_pod_sleeps_for_the_idle_period(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    assert_int_equal(krc_podworker_next_wake(&f.w, T0, NOW, IDLE), NOW + IDLE);
    teardown(&f);
}

static void test_earliest_probe_of_a_running_container(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    f.c[1].probe_next[PROBE_READINESS] = NOW + 3000;
    f.c[1].probe_next[PROBE_LIVENESS] = NOW + 2000;
    f.c[1].probe_next[PROBE_STARTUP] = NOW + 10;  /* no startupProbe in the spec: ignored */
    f.c[0].probe_next[PROBE_READINESS] = NOW + 5; /* no probes at all: ignored */
    assert_int_equal(krc_podworker_next_wake(&f.w, T0, NOW, IDLE), NOW + 2000);
    /* an exited container's probes do not run */
    f.c[1].st.state = KRC_CONTAINER_EXITED;
    assert_int_equal(krc_podworker_next_wake(&f.w, T0, NOW, IDLE), NOW + IDLE);
    teardown(&f);
}

static void test_restart_backoff_and_retry(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    f.c[0].st.state = KRC_CONTAINER_EXITED;
    f.c[0].next_start_ms = NOW + 4000;
    assert_int_equal(krc_podworker_next_wake(&f.w, T0, NOW, IDLE), NOW + 4000);
    f.w.retry_at = NOW + 200;
    assert_int_equal(krc_podworker_next_wake(&f.w, T0, NOW, IDLE), NOW + 200);
    teardown(&f);
}

static void test_deadlines_due_when_the_pass_began_are_ignored(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    /* due before the pass began: handled or not applicable (readiness before startup) */
    f.c[1].probe_next[PROBE_READINESS] = T0 - 1;
    f.c[0].next_start_ms = T0;
    assert_int_equal(krc_podworker_next_wake(&f.w, T0, NOW, IDLE), NOW + IDLE);
    /* due during the pass, after it began: run at once (a past time) */
    f.c[0].next_start_ms = T0 + 1;
    assert_int_equal(krc_podworker_next_wake(&f.w, T0, NOW, IDLE), T0 + 1);
    teardown(&f);
}

static void test_without_a_watch_the_tick_caps_the_wait(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    f.c[1].probe_next[PROBE_LIVENESS] = NOW + 2000;
    assert_int_equal(krc_podworker_next_wake(&f.w, T0, NOW, 200), NOW + 200);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_pod_sleeps_for_the_idle_period),
        cmocka_unit_test(test_earliest_probe_of_a_running_container),
        cmocka_unit_test(test_restart_backoff_and_retry),
        cmocka_unit_test(test_deadlines_due_when_the_pass_began_are_ignored),
        cmocka_unit_test(test_without_a_watch_the_tick_caps_the_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
