/* Unit tests of the pod status the node agent reports (src/node/podstatus.c): the phase from
 * container states and restartPolicy, and the Ready conditions. Pure: a worker struct filled by
 * hand, no sandbox, no API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "node/podworker.h"

enum { R = KRC_CONTAINER_RUNNING, X = KRC_CONTAINER_EXITED, N = -1 /* never started */ };

struct phase_case {
    const char *name;
    const char *policy;
    int initialized, failed;
    int state[2], exit_code[2];
    const char *want;
};

static const struct phase_case PHASES[] = {
    {"not initialized yet is Pending", "Always", 0, 0, {N, N}, {0, 0}, "Pending"},
    {"failed init container under Never is Failed", "Never", 0, 1, {N, N}, {0, 0}, "Failed"},
    {"nothing started is Pending", "Always", 1, 0, {N, N}, {0, 0}, "Pending"},
    {"one running is Running", "Always", 1, 0, {R, N}, {0, 0}, "Running"},
    {"all exited 0 under Never is Succeeded", "Never", 1, 0, {X, X}, {0, 0}, "Succeeded"},
    {"one exited non-zero under Never is Failed", "Never", 1, 0, {X, X}, {0, 1}, "Failed"},
    {"exited under Always restarts: Running", "Always", 1, 0, {X, X}, {0, 1}, "Running"},
    {"exited 0 under OnFailure is Succeeded", "OnFailure", 1, 0, {X, X}, {0, 0}, "Succeeded"},
    {"exited 1 under OnFailure restarts: Running", "OnFailure", 1, 0, {X, X}, {1, 0}, "Running"},
    {"running and exited under Never is Running", "Never", 1, 0, {R, X}, {0, 1}, "Running"},
};

static void fill(struct krc_podworker *w, struct krc_ctrstate *c, const struct phase_case *pc)
{
    memset(w, 0, sizeof(*w));
    memset(c, 0, 2 * sizeof(*c));
    w->pod = json_pack("{s:{s:s}}", "spec", "restartPolicy", pc->policy);
    w->ctrs = c;
    w->n_ctrs = 2;
    w->initialized = pc->initialized;
    w->failed = pc->failed;
    for (int i = 0; i < 2; i++) {
        c[i].name = i ? "b" : "a";
        c[i].started_once = pc->state[i] != N;
        c[i].st.state = pc->state[i] == N ? KRC_CONTAINER_UNKNOWN : pc->state[i];
        c[i].st.exit_code = pc->exit_code[i];
    }
}

static void test_phase_follows_container_states_and_restart_policy(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(PHASES) / sizeof(PHASES[0]); i++) {
        struct krc_podworker w;
        struct krc_ctrstate c[2];
        fill(&w, c, &PHASES[i]);
        const char *got = krc_podstatus_phase(&w);
        if (strcmp(got, PHASES[i].want) != 0)
            fail_msg("%s: phase %s, want %s", PHASES[i].name, got, PHASES[i].want);
        json_decref(w.pod);
    }
}

static const char *cond(json_t *status, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "type")), type) == 0)
            return json_string_value(json_object_get(c, "status"));
    }
    return "absent";
}

static void test_ready_only_when_every_container_is_ready(void **state)
{
    (void)state;
    struct krc_agent agent;
    memset(&agent, 0, sizeof(agent));
    strcpy(agent.gateway, "10.1.0.1");
    const struct phase_case running = {"", "Always", 1, 0, {R, R}, {0, 0}, ""};
    struct krc_podworker w;
    struct krc_ctrstate c[2];
    fill(&w, c, &running);
    w.agent = &agent;
    strcpy(w.pod_ip, "10.1.1.5");
    c[0].ready = 1;
    json_t *s = krc_podstatus_build(&w);
    assert_string_equal(cond(s, "Ready"), "False");
    assert_string_equal(cond(s, "Initialized"), "True");
    assert_string_equal(json_string_value(json_object_get(s, "podIP")), "10.1.1.5");
    json_decref(s);
    c[1].ready = 1;
    s = krc_podstatus_build(&w);
    assert_string_equal(cond(s, "Ready"), "True");
    assert_string_equal(cond(s, "ContainersReady"), "True");
    assert_int_equal(json_array_size(json_object_get(s, "containerStatuses")), 2);
    json_decref(s);
    json_decref(w.pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phase_follows_container_states_and_restart_policy),
        cmocka_unit_test(test_ready_only_when_every_container_is_ready),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
