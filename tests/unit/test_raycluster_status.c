/* Unit tests for controller/raycluster_status: status computed from observed pods and services
 * (spec §9, examples in §15.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raycluster_testutil.h"
#include "controller/raycluster_status.h"

#define T0 "2024-05-01T10:00:00Z"
#define T1 "2024-05-01T10:00:05Z"

/* An observed pod: type "head"/"worker", ready "True"/"False"/NULL (no Ready condition). */
static json_t *pod(const char *name, const char *type, const char *group, const char *phase,
                   const char *ready)
{
    json_t *p = json_pack("{s:{s:s, s:{s:s, s:s, s:s}}, s:{s:[{s:s}]}, s:{s:s, s:s}}", "metadata",
                          "name", name, "labels", "ray.io/cluster", "c", "ray.io/node-type", type,
                          "ray.io/group", group, "spec", "containers", "name", "ray", "status",
                          "phase", phase, "podIP", "10.0.0.9");
    if (ready)
        json_object_set_new(json_object_get(p, "status"), "conditions",
                            json_pack("[{s:s, s:s}]", "type", "Ready", "status", ready));
    return p;
}

static json_t *headless_svc(void)
{
    return tu_json(
        "[{\"metadata\": {\"name\": \"c-head-svc\"}, \"spec\": {\"clusterIP\": \"None\", "
        "\"ports\": [{\"name\": \"dashboard\", \"port\": 8265, \"targetPort\": 8265}, "
        "{\"name\": \"client\", \"port\": 10001, \"targetPort\": 10001}]}}]");
}

static const struct raycluster_reconcile_result OK = {RAYCLUSTER_OUTCOME_OK, NULL, NULL};

/* Computes the status of doc with pods/services; the result replaces doc's status so the next
 * call sees it (as after a write). */
static void step(json_t *doc, json_t *pods, json_t *svcs,
                 const struct raycluster_reconcile_result *res, const char *now,
                 struct raycluster_status *out)
{
    struct raycluster rc;
    struct raycluster_gates g;
    struct krc_error err = {0};
    raycluster_gates_default(&g);
    tu_parse(doc, &rc);
    struct raycluster_observed obs = {pods, svcs};
    if (raycluster_compute_status(&rc, &g, &obs, res, now, out, &err))
        fail_msg("compute status: %s", err.msg);
    json_object_set_new(doc, "status", raycluster_status_to_json(out));
    raycluster_release(&rc);
}

static const struct raycluster_condition *cond(const struct raycluster_status *st, const char *type)
{
    const struct raycluster_condition *c = raycluster_status_condition(st, type);
    if (!c)
        fail_msg("no condition %s", type);
    return c;
}

static void assert_cond(const struct raycluster_status *st, const char *type, const char *status,
                        const char *reason, const char *message)
{
    const struct raycluster_condition *c = cond(st, type);
    if (strcmp(c->status, status) || strcmp(c->reason, reason) ||
        (message && strcmp(c->message, message)))
        fail_msg("%s: got %s/%s/%s want %s/%s/%s", type, c->status, c->reason, c->message, status,
                 reason, message ? message : "*");
}

static void test_desired_resources_arithmetic(void **state)
{
    (void)state;
    static const struct {
        const char *head_limits, *worker_requests;
        int replicas, hosts;
        const char *cpu, *mem, *gpu, *tpu;
    } cases[] = {
        /* §15.4: GPU keys summed, TPUs reported only as TPU */
        {"{\"cpu\": \"1\", \"nvidia.com/gpu\": \"3\", \"nvidia.com/mig-1g.10gb\": \"2\", "
         "\"foo.bar/gpu\": \"2\", \"google.com/tpu\": \"1\"}",
         "{}", 0, 1, "1", "0", "7", "1"},
        {"{\"nvidia.com/gpu\": \"1\", \"nvidia.com/mig-1g.5gb\": \"2\", "
         "\"nvidia.com/mig-2g.10gb\": "
         "\"3\", \"nvidia.com/mig-3g.20gb\": \"4\"}",
         "{}", 0, 1, "0", "0", "10", "0"},
        /* exact quantity arithmetic: 500m + 2 x 500m, 1Gi + 2 x 1Gi */
        {"{\"cpu\": \"500m\", \"memory\": \"1Gi\"}", "{\"cpu\": \"500m\", \"memory\": \"1Gi\"}", 2,
         1, "1500m", "3Gi", "0", "0"},
        /* numOfHosts multiplies; replicas is the raw field */
        {"{\"cpu\": \"2\"}", "{\"cpu\": \"2\"}", 3, 2, "14", "0", "0", "0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = tu_one_group_cluster(cases[i].replicas, 0, 1);
        char buf[512];
        tu_set(doc, "spec.headGroupSpec.template.spec.containers.0.resources", "{}");
        snprintf(buf, sizeof(buf), "{\"limits\": %s}", cases[i].head_limits);
        tu_set(doc, "spec.headGroupSpec.template.spec.containers.0.resources", buf);
        snprintf(buf, sizeof(buf), "{\"requests\": %s}", cases[i].worker_requests);
        tu_set(doc, "spec.workerGroupSpecs.0.template.spec.containers.0.resources", buf);
        snprintf(buf, sizeof(buf), "%d", cases[i].hosts);
        tu_set(doc, "spec.workerGroupSpecs.0.numOfHosts", buf);
        struct raycluster rc;
        tu_parse(doc, &rc);
        char cpu[64], mem[64], gpu[64], tpu[64];
        struct krc_error err;
        assert_int_equal(raycluster_desired_resources(&rc, cpu, mem, gpu, tpu, &err), 0);
        if (strcmp(cpu, cases[i].cpu) || strcmp(mem, cases[i].mem) || strcmp(gpu, cases[i].gpu) ||
            strcmp(tpu, cases[i].tpu))
            fail_msg("case %zu: got cpu=%s mem=%s gpu=%s tpu=%s", i, cpu, mem, gpu, tpu);
        raycluster_release(&rc);
        json_decref(doc);
    }
}

static void test_replica_counts(void **state)
{
    (void)state;
    json_t *doc = tu_one_group_cluster(5, 1, 3);
    tu_set(doc, "spec.workerGroupSpecs.1",
           "{\"groupName\": \"big\", \"replicas\": 1, \"minReplicas\": 2, \"maxReplicas\": "
           "2147483647, \"numOfHosts\": 2, \"template\": {\"spec\": {\"containers\": [{\"name\": "
           "\"w\"}]}}}");
    tu_set(doc, "spec.workerGroupSpecs.2",
           "{\"groupName\": \"off\", \"suspend\": true, \"replicas\": 4, \"minReplicas\": 4, "
           "\"maxReplicas\": 4, \"template\": {\"spec\": {\"containers\": [{\"name\": \"w\"}]}}}");
    json_t *pods = json_pack("[o, o, o, o]", pod("h", "head", "headgroup", "Running", "True"),
                             pod("w1", "worker", "small-group", "Running", "True"),
                             pod("w2", "worker", "small-group", "Running", "False"),
                             pod("w3", "worker", "big", "Pending", NULL));
    json_t *svcs = headless_svc();
    struct raycluster_status st;
    step(doc, pods, svcs, &OK, T0, &st);
    assert_int_equal(st.ready_worker_replicas, 1);
    assert_int_equal(st.available_worker_replicas, 2);
    assert_int_equal(st.desired_worker_replicas, 3 + 4); /* clamp(5,1,3) + clamp(1,2,max)*2 */
    assert_int_equal(st.min_worker_replicas, 1 + 4);
    assert_int_equal(st.max_worker_replicas, INT32_MAX); /* 3 + 2*(2^31-1) saturates */
    assert_int_equal(st.observed_generation, 3);
    assert_string_equal(st.state, "");
    raycluster_status_free(&st);
    json_decref(pods);
    json_decref(svcs);
    json_decref(doc);
}

static void test_desired_pods_clamping(void **state)
{
    (void)state;
    static const struct {
        int replicas, min, max, hosts;
        bool suspend;
        int want;
    } cases[] = {
        {-1, 1, 5, 1, false, 1}, {0, 1, 5, 1, false, 1}, {4, 0, 3, 1, false, 3},
        {-1, 1, 5, 4, false, 4}, {0, 1, 5, 4, false, 4}, {4, 0, 3, 4, false, 12},
        {2, 0, 5, 0, false, 0},  {2, 0, 5, 1, true, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct raycluster_worker_group g;
        memset(&g, 0, sizeof(g));
        g.replicas = (struct rc_opt_i32){cases[i].replicas >= 0, cases[i].replicas};
        g.min_replicas = (struct rc_opt_i32){true, cases[i].min};
        g.max_replicas = (struct rc_opt_i32){true, cases[i].max};
        g.num_of_hosts = (struct rc_opt_i32){true, cases[i].hosts};
        g.suspend = (struct rc_opt_bool){true, cases[i].suspend};
        if (raycluster_group_desired_pods(&g) != cases[i].want)
            fail_msg("case %zu: got %d want %d", i, raycluster_group_desired_pods(&g),
                     cases[i].want);
    }
}

static void test_ready_state_needs_exact_pod_count_and_no_error(void **state)
{
    (void)state;
    json_t *doc = tu_one_group_cluster(1, 0, 3);
    json_t *svcs = headless_svc();
    json_t *head_only = json_pack("[o]", pod("h", "head", "headgroup", "Running", "True"));
    struct raycluster_status st;
    /* a ready head alone while a worker is desired: no state, no transition times */
    step(doc, head_only, svcs, &OK, T0, &st);
    assert_string_equal(st.state, "");
    assert_null(st.state_transition_times);
    raycluster_status_free(&st);
    json_t *all = json_pack("[o, o]", pod("h", "head", "headgroup", "Running", "True"),
                            pod("w", "worker", "small-group", "Running", NULL));
    struct raycluster_reconcile_result failed = {RAYCLUSTER_OUTCOME_OTHER_ERROR, NULL, "boom"};
    step(doc, all, svcs, &failed, T0, &st);
    assert_string_equal(st.state, "");
    raycluster_status_free(&st);
    step(doc, all, svcs, &OK, T1, &st);
    assert_string_equal(st.state, "ready");
    assert_string_equal(kobj_str(st.state_transition_times, "ready"), T1);
    assert_string_equal(st.last_update_time, T1);
    raycluster_status_free(&st);
    /* sticky: a failing worker keeps `ready` */
    json_decref(all);
    all = json_pack("[o, o]", pod("h", "head", "headgroup", "Running", "True"),
                    pod("w", "worker", "small-group", "Failed", NULL));
    step(doc, all, svcs, &OK, T1, &st);
    assert_string_equal(st.state, "ready");
    raycluster_status_free(&st);
    json_decref(all);
    json_decref(head_only);
    json_decref(svcs);
    json_decref(doc);
}

static void test_condition_lifecycle_with_suspension(void **state)
{
    (void)state;
    json_t *doc = tu_one_group_cluster(1, 0, 3);
    json_t *svcs = headless_svc();
    json_t *none = json_array();
    json_t *all = json_pack("[o, o]", pod("h", "head", "headgroup", "Running", "True"),
                            pod("w", "worker", "small-group", "Running", "True"));
    struct raycluster_status st;
    step(doc, none, svcs, &OK, T0, &st);
    assert_cond(&st, "HeadPodReady", "False", "HeadPodNotFound", "Head Pod not found");
    assert_cond(&st, "RayClusterProvisioned", "False", "RayClusterPodsProvisioning",
                "RayCluster Pods are being provisioned for first time");
    assert_cond(&st, "RayClusterSuspended", "False", "RayClusterSuspended", "");
    assert_cond(&st, "RayClusterSuspending", "False", "RayClusterSuspending", "");
    assert_string_equal(st.conditions[0].type, "HeadPodReady");
    raycluster_status_free(&st);

    step(doc, all, svcs, &OK, T1, &st);
    assert_cond(&st, "HeadPodReady", "True", "HeadPodRunningAndReady", "");
    assert_cond(&st, "RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime",
                "All Ray Pods are ready for the first time");
    assert_string_equal(cond(&st, "RayClusterProvisioned")->last_transition_time, T1);
    assert_string_equal(st.state, "ready");
    raycluster_status_free(&st);

    /* Provisioned is sticky while pods fail */
    json_t *failing = json_pack("[o, o]", pod("h", "head", "headgroup", "Running", "False"),
                                pod("w", "worker", "small-group", "Running", "True"));
    step(doc, failing, svcs, &OK, T1, &st);
    assert_cond(&st, "RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime", NULL);
    assert_cond(&st, "HeadPodReady", "False", "Unknown", "");
    raycluster_status_free(&st);

    tu_set(doc, "spec.suspend", "true");
    step(doc, all, svcs, &OK, T1, &st);
    assert_cond(&st, "RayClusterSuspending", "True", "RayClusterSuspending", "");
    assert_string_equal(st.state, "ready");
    raycluster_status_free(&st);

    step(doc, none, svcs, &OK, T1, &st);
    assert_cond(&st, "RayClusterSuspending", "False", "RayClusterSuspending", "");
    assert_cond(&st, "RayClusterSuspended", "True", "RayClusterSuspended", "");
    assert_cond(&st, "RayClusterProvisioned", "False", "RayClusterPodsProvisioning",
                "RayCluster has been suspended");
    assert_string_equal(st.state, "suspended");
    raycluster_status_free(&st);

    /* removing spec.suspend (instead of false) leaves it suspended - quirk */
    tu_set(doc, "spec.suspend", NULL);
    step(doc, none, svcs, &OK, T1, &st);
    assert_cond(&st, "RayClusterSuspended", "True", "RayClusterSuspended", "");
    raycluster_status_free(&st);

    tu_set(doc, "spec.suspend", "false");
    step(doc, none, svcs, &OK, T1, &st);
    assert_cond(&st, "RayClusterSuspended", "False", "RayClusterSuspended", "");
    assert_string_equal(st.state, "suspended");
    raycluster_status_free(&st);

    step(doc, all, svcs, &OK, T1, &st);
    assert_cond(&st, "RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime", NULL);
    assert_string_equal(st.state, "ready");
    raycluster_status_free(&st);
    json_decref(failing);
    json_decref(none);
    json_decref(all);
    json_decref(svcs);
    json_decref(doc);
}

static void test_head_pod_ready_uses_container_reason(void **state)
{
    (void)state;
    json_t *doc = tu_one_group_cluster(0, 0, 3);
    json_t *svcs = headless_svc();
    json_t *h = pod("h", "head", "headgroup", "Running", NULL);
    json_object_set_new(json_object_get(h, "status"), "conditions",
                        tu_json("[{\"type\": \"Ready\", \"status\": \"False\", \"reason\": "
                                "\"ContainersNotReady\", \"message\": \"containers with unready "
                                "status: [ray]\"}]"));
    json_object_set_new(json_object_get(h, "status"), "containerStatuses",
                        tu_json("[{\"name\": \"ray\", \"state\": {\"waiting\": {\"reason\": "
                                "\"CrashLoopBackOff\", \"message\": \"back-off 5m0s\"}}}]"));
    json_t *pods = json_pack("[o]", h);
    struct raycluster_status st;
    step(doc, pods, svcs, &OK, T0, &st);
    assert_cond(&st, "HeadPodReady", "False", "CrashLoopBackOff",
                "containers with unready status: [ray]; ray: back-off 5m0s");
    assert_string_equal(st.head.pod_ip, "10.0.0.9");
    assert_string_equal(st.head.service_ip, "10.0.0.9"); /* headless: the head pod's IP */
    assert_string_equal(st.head.service_name, "c-head-svc");
    assert_string_equal(kobj_str(st.endpoints, "dashboard"), "8265");
    raycluster_status_free(&st);
    json_decref(pods);
    json_decref(svcs);
    json_decref(doc);
}

static void test_replica_failure_condition(void **state)
{
    (void)state;
    json_t *doc = tu_one_group_cluster(0, 0, 3);
    json_t *svcs = headless_svc();
    json_t *pods = json_array();
    struct raycluster_status st;
    struct raycluster_reconcile_result fail = {RAYCLUSTER_OUTCOME_REPLICA_FAILURE,
                                               "FailedCreateHeadPod",
                                               "FailedCreateHeadPod\nquota exceeded"};
    struct raycluster_reconcile_result other = {RAYCLUSTER_OUTCOME_OTHER_ERROR, NULL, "x"};
    step(doc, pods, svcs, &fail, T0, &st);
    assert_cond(&st, "ReplicaFailure", "True", "FailedCreateHeadPod",
                "FailedCreateHeadPod\nquota exceeded");
    raycluster_status_free(&st);
    step(doc, pods, svcs, &other, T0, &st);
    assert_non_null(raycluster_status_condition(&st, "ReplicaFailure"));
    raycluster_status_free(&st);
    step(doc, pods, svcs, &OK, T0, &st);
    assert_null(raycluster_status_condition(&st, "ReplicaFailure"));
    raycluster_status_free(&st);
    json_decref(pods);
    json_decref(svcs);
    json_decref(doc);
}

static void test_gate_off_manages_no_conditions(void **state)
{
    (void)state;
    json_t *doc = tu_one_group_cluster(0, 0, 3);
    tu_set(doc, "spec.suspend", "true");
    json_t *svcs = headless_svc();
    json_t *pods = json_array();
    struct raycluster rc;
    struct raycluster_gates g;
    struct raycluster_status st;
    struct krc_error err;
    raycluster_gates_default(&g);
    g.status_conditions = false;
    tu_parse(doc, &rc);
    struct raycluster_observed obs = {pods, svcs};
    struct raycluster_reconcile_result fail = {RAYCLUSTER_OUTCOME_REPLICA_FAILURE,
                                               "FailedDeleteAllPods", "x"};
    assert_int_equal(raycluster_compute_status(&rc, &g, &obs, &fail, T0, &st, &err), 0);
    assert_int_equal(st.n_conditions, 0);
    assert_string_equal(st.state, "suspended");
    raycluster_status_free(&st);
    raycluster_release(&rc);
    json_decref(pods);
    json_decref(svcs);
    json_decref(doc);
}

static void test_endpoints_and_service_ip(void **state)
{
    (void)state;
    json_t *doc = tu_one_group_cluster(0, 0, 3);
    json_t *svcs = tu_json(
        "[{\"metadata\": {\"name\": \"c-head-svc\"}, \"spec\": {\"clusterIP\": \"10.96.0.10\", "
        "\"ports\": [{\"name\": \"dashboard\", \"port\": 8265, \"nodePort\": 30080, "
        "\"targetPort\": 8265}, {\"name\": \"client\", \"port\": 10001, \"targetPort\": "
        "\"client-port\"}, {\"port\": 1, \"targetPort\": 1}, {\"name\": \"odd\", \"port\": 2}]}}]");
    json_t *pods = json_array();
    struct raycluster_status st;
    step(doc, pods, svcs, &OK, T0, &st);
    assert_string_equal(kobj_str(st.endpoints, "dashboard"), "30080");
    assert_string_equal(kobj_str(st.endpoints, "client"), "client-port");
    assert_int_equal(json_object_size(st.endpoints), 2);
    assert_string_equal(st.head.service_ip, "10.96.0.10");
    assert_string_equal(st.head.pod_ip, "");
    raycluster_status_free(&st);
    json_decref(pods);
    json_decref(svcs);
    json_decref(doc);
}

static void test_errors_abort_the_computation(void **state)
{
    (void)state;
    static const struct {
        const char *services;
        int two_heads;
        const char *want;
    } cases[] = {
        {"[]", 0,
         "unable to find head service. cluster name c, filter labels [default map[ray.io/cluster:c "
         "ray.io/identifier:c-head ray.io/node-type:head]]"},
        {"[{\"spec\": {\"clusterIP\": \"None\"}}, {\"spec\": {\"clusterIP\": \"None\"}}]", 0,
         "found multiple head services. cluster name c"},
        {"[{\"spec\": {}}]", 0, "head service IP is empty. cluster name c"},
        {"[{\"spec\": {\"clusterIP\": \"None\"}}]", 1,
         "found multiple heads. filter labels [default map[ray.io/cluster:c "
         "ray.io/node-type:head]]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = tu_one_group_cluster(0, 0, 3);
        json_t *svcs = tu_json(cases[i].services);
        json_t *pods = json_array();
        if (cases[i].two_heads) {
            json_array_append_new(pods, pod("h1", "head", "headgroup", "Running", "True"));
            json_array_append_new(pods, pod("h2", "head", "headgroup", "Running", "True"));
        }
        struct raycluster rc;
        struct raycluster_gates g;
        struct raycluster_status st;
        struct krc_error err = {0};
        raycluster_gates_default(&g);
        tu_parse(doc, &rc);
        struct raycluster_observed obs = {pods, svcs};
        int r = raycluster_compute_status(&rc, &g, &obs, &OK, T0, &st, &err);
        if (r != KRC_EINVAL || strncmp(err.msg, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got %d [%s]", i, r, err.msg);
        raycluster_release(&rc);
        json_decref(pods);
        json_decref(svcs);
        json_decref(doc);
    }
}

static void test_status_write_only_on_compared_changes(void **state)
{
    (void)state;
    json_t *doc = tu_one_group_cluster(1, 0, 3);
    json_t *svcs = headless_svc();
    json_t *pods = json_pack("[o]", pod("h", "head", "headgroup", "Running", "True"));
    struct raycluster_status first, second;
    step(doc, pods, svcs, &OK, T0, &first);
    /* scaling replicas changes desiredWorkerReplicas -> write; same inputs -> no write */
    step(doc, pods, svcs, &OK, T1, &second);
    assert_false(raycluster_status_differs(&first, &second));
    raycluster_status_free(&second);
    tu_set(doc, "spec.workerGroupSpecs.0.replicas", "2");
    step(doc, pods, svcs, &OK, T1, &second);
    assert_true(raycluster_status_differs(&first, &second));
    raycluster_status_free(&second);
    raycluster_status_free(&first);
    json_decref(pods);
    json_decref(svcs);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_desired_resources_arithmetic),
        cmocka_unit_test(test_replica_counts),
        cmocka_unit_test(test_desired_pods_clamping),
        cmocka_unit_test(test_ready_state_needs_exact_pod_count_and_no_error),
        cmocka_unit_test(test_condition_lifecycle_with_suspension),
        cmocka_unit_test(test_head_pod_ready_uses_container_reason),
        cmocka_unit_test(test_replica_failure_condition),
        cmocka_unit_test(test_gate_off_manages_no_conditions),
        cmocka_unit_test(test_endpoints_and_service_ip),
        cmocka_unit_test(test_errors_abort_the_computation),
        cmocka_unit_test(test_status_write_only_on_compared_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
