/* Where a reconcile's pod pass yields the queue (raycluster_batch.h): only once the time budget is
 * spent, only right after a pod create, never inside a multi-host replica, never after the last
 * action. Plans are built by hand; the clock is passed in. */
#include "controller/raycluster_batch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define MS     INT64_C(1000000)
#define BUDGET (200 * MS)

enum {
    H = RAYCLUSTER_ACT_CREATE_HEAD_POD,
    W = RAYCLUSTER_ACT_CREATE_WORKER_POD,
    D = RAYCLUSTER_ACT_DELETE_WORKER_POD
};

#define PLAN_MAX 8

struct step {
    int kind;
    long group;
    const char *replica; /* NULL: not multi-host */
};

static struct raycluster_plan make_plan(struct raycluster_action *buf, const struct step *steps,
                                        size_t n)
{
    memset(buf, 0, sizeof(*buf) * PLAN_MAX);
    for (size_t i = 0; i < n; i++) {
        buf[i].kind = (enum raycluster_action_kind)steps[i].kind;
        buf[i].group = steps[i].group;
        if (steps[i].replica)
            snprintf(buf[i].replica_name, sizeof(buf[i].replica_name), "%s", steps[i].replica);
    }
    return (struct raycluster_plan){buf, n, PLAN_MAX};
}

struct yield_case {
    const char *name;
    struct step steps[PLAN_MAX];
    size_t n;
    size_t at;          /* the action just executed */
    int64_t elapsed_ns; /* since the pass started executing */
    bool yield;
};

static void test_yield_table(void **state)
{
    (void)state;
    static const struct yield_case cases[] = {
        {"budget left: go on", {{W, 0, NULL}, {W, 0, NULL}}, 2, 0, BUDGET - 1, false},
        {"budget spent after a worker create", {{W, 0, NULL}, {W, 0, NULL}}, 2, 0, BUDGET, true},
        {"long past the budget", {{W, 0, NULL}, {W, 0, NULL}}, 2, 0, 60000 * MS, true},
        {"after the head create (one create per turn)",
         {{H, -1, NULL}, {W, 0, NULL}},
         2,
         0,
         BUDGET,
         true},
        {"the last action: nothing to leave", {{W, 0, NULL}, {W, 0, NULL}}, 2, 1, BUDGET, false},
        {"after a delete: only creates end a pass",
         {{D, 0, NULL}, {W, 0, NULL}},
         2,
         0,
         BUDGET,
         false},
        {"inside a multi-host replica", {{W, 0, "r1"}, {W, 0, "r1"}}, 2, 0, BUDGET, false},
        {"between two replicas", {{W, 0, "r1"}, {W, 0, "r2"}}, 2, 0, BUDGET, true},
        {"same replica name, other group", {{W, 0, "r1"}, {W, 1, "r1"}}, 2, 0, BUDGET, true},
        {"replica then a delete", {{W, 0, "r1"}, {D, 1, NULL}}, 2, 0, BUDGET, true},
        {"end of a replica of 3",
         {{W, 0, "r"}, {W, 0, "r"}, {W, 0, "r"}, {W, 0, "s"}},
         4,
         2,
         BUDGET,
         true},
        {"middle of a replica of 3",
         {{W, 0, "r"}, {W, 0, "r"}, {W, 0, "r"}, {W, 0, "s"}},
         4,
         1,
         BUDGET,
         false},
    };
    struct raycluster_action buf[PLAN_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct yield_case *c = &cases[i];
        struct raycluster_plan plan = make_plan(buf, c->steps, c->n);
        int64_t started = 5 * MS; /* any origin: only the difference counts */
        bool got =
            raycluster_batch_yield(&plan, c->at, started, started + c->elapsed_ns, BUDGET, true);
        if (got != c->yield)
            fail_msg("case \"%s\": yield %d, want %d", c->name, got, c->yield);
        /* nobody waits: never */
        if (raycluster_batch_yield(&plan, c->at, started, started + c->elapsed_ns, BUDGET, false))
            fail_msg("case \"%s\": yields with no other key waiting", c->name);
    }
}

/* A pass over a plan of 500 worker creates with a clock that advances 68 ms per create (the API
 * server under load) stops after 3 creates, however many pods remain; a fast server (1 ms per
 * create) gets 200. */
static void run_pass(int64_t per_create, size_t want)
{
    enum { N = 500 };
    static struct raycluster_action acts[N];
    memset(acts, 0, sizeof(acts));
    for (size_t i = 0; i < N; i++)
        acts[i].kind = RAYCLUSTER_ACT_CREATE_WORKER_POD;
    struct raycluster_plan plan = {acts, N, N};
    int64_t now = 0, started = 0;
    size_t done = 0;
    for (size_t i = 0; i < N; i++) {
        now += per_create;
        done++;
        if (raycluster_batch_yield(&plan, i, started, now, RAYCLUSTER_BATCH_BUDGET_NS, true))
            break;
    }
    assert_int_equal(done, want);
}

static void test_pass_is_bounded_by_time_not_count(void **state)
{
    (void)state;
    run_pass(68 * MS, 3);
    run_pass(1 * MS, 200);
    run_pass(500 * MS, 1); /* a create slower than the budget: still one per turn */
}

static void test_no_plan(void **state)
{
    (void)state;
    struct raycluster_plan empty = {NULL, 0, 0};
    assert_false(raycluster_batch_yield(&empty, 0, 0, BUDGET, BUDGET, true));
    assert_false(raycluster_batch_yield(NULL, 0, 0, BUDGET, BUDGET, true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yield_table),
        cmocka_unit_test(test_pass_is_bounded_by_time_not_count),
        cmocka_unit_test(test_no_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
