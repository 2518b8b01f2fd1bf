/* Unit tests for controller/raycluster_scale: the pod plan (spec §6.3-§6.10, examples §15.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raycluster_testutil.h"
#include "controller/raycluster_scale.h"
#include "util/strbuf.h"

static json_t *pod(const char *name, const char *type, const char *group, const char *phase)
{
    return json_pack("{s:{s:s, s:{s:s, s:s, s:s}}, s:{s:[{s:s}]}, s:{s:s}}", "metadata", "name",
                     name, "labels", "ray.io/cluster", "c", "ray.io/node-type", type,
                     "ray.io/group", group, "spec", "containers", "name", "ray", "status", "phase",
                     phase);
}

static void set_label(json_t *p, const char *k, const char *v)
{
    json_object_set_new(json_object_get(json_object_get(p, "metadata"), "labels"), k,
                        json_string(v));
}

/* head + pod1..podN of small-group, all Running */
static json_t *pods_with_workers(int n)
{
    json_t *arr = json_array();
    json_array_append_new(arr, pod("head", "head", "headgroup", "Running"));
    for (int i = 1; i <= n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "pod%d", i);
        json_array_append_new(arr, pod(name, "worker", "small-group", "Running"));
    }
    return arr;
}

static json_t *cluster(int replicas, int min, int max, bool autoscaling, const char *to_delete)
{
    json_t *doc = tu_one_group_cluster(replicas, min, max);
    if (autoscaling)
        tu_set(doc, "spec.enableInTreeAutoscaling", "true");
    if (to_delete) {
        char list[256];
        snprintf(list, sizeof(list), "{\"workersToDelete\": %s}", to_delete);
        tu_set(doc, "spec.workerGroupSpecs.0.scaleStrategy", list);
    }
    return doc;
}

static void fixed_suffix(char out[6], void *arg)
{
    int *n = arg;
    int k = (*n)++ % 100;
    memcpy(out, "abc", 3);
    out[3] = (char)('0' + k / 10);
    out[4] = (char)('0' + k % 10);
    out[5] = '\0';
}

/* Renders the plan compactly: "C:head", "D:pod2(wtd)", "C:w#0", "DALL(susp)", "FAIL:msg"... */
static char *plan_text(json_t *doc, json_t *pods, const struct raycluster_opts *o_in, bool head_ok,
                       const bool *groups_ok, const char *hash)
{
    struct raycluster rc;
    struct raycluster_opts o;
    struct raycluster_plan plan;
    struct krc_error err = {0};
    int counter = 0;
    if (o_in)
        o = *o_in;
    else
        raycluster_opts_default(&o);
    tu_parse(doc, &rc);
    struct raycluster_scale_input in = {pods, head_ok, groups_ok, hash, fixed_suffix, &counter};
    if (raycluster_plan_pods(&rc, &o, &in, &plan, &err))
        fail_msg("plan: %s", err.msg);
    static const char *const causes[] = {"unhealthy", "wtd", "down", "mh", "susp", "recreate"};
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    for (size_t i = 0; i < plan.n; i++) {
        const struct raycluster_action *a = &plan.actions[i];
        if (i)
            krc_strbuf_addch(&sb, ' ');
        switch (a->kind) {
        case RAYCLUSTER_ACT_DELETE_ALL_PODS:
            krc_strbuf_addf(&sb, "DALL(%s%s)", causes[a->cause],
                            a->drop_expectations ? ",drop" : "");
            break;
        case RAYCLUSTER_ACT_UPDATE_HEAD_STAMP:
            krc_strbuf_addf(&sb, "STAMP:%s", a->pod_name);
            break;
        case RAYCLUSTER_ACT_DELETE_HEAD_POD:
            krc_strbuf_addf(&sb, "DHEAD:%s%s", a->pod_name, a->then_fail ? "!" : "");
            break;
        case RAYCLUSTER_ACT_CREATE_HEAD_POD:
            krc_strbuf_adds(&sb, "C:head");
            break;
        case RAYCLUSTER_ACT_DELETE_GROUP_PODS:
            krc_strbuf_addf(&sb, "DGROUP:%ld", a->group);
            break;
        case RAYCLUSTER_ACT_DELETE_WORKER_POD:
            krc_strbuf_addf(&sb, "D:%s(%s)", a->pod_name, causes[a->cause]);
            break;
        case RAYCLUSTER_ACT_CREATE_WORKER_POD:
            if (a->slot.replica_name)
                krc_strbuf_addf(&sb, "C:%s#%d/%d", a->slot.replica_name, a->slot.replica_index,
                                a->slot.host_index);
            else
                krc_strbuf_addf(&sb, "C:w#%d", a->slot.replica_index);
            break;
        case RAYCLUSTER_ACT_FAIL:
            krc_strbuf_addf(&sb, "FAIL:%s", a->reason);
            break;
        }
    }
    raycluster_plan_free(&plan);
    raycluster_release(&rc);
    return krc_strbuf_detach(&sb);
}

static void expect_plan(const char *what, json_t *doc, json_t *pods,
                        const struct raycluster_opts *o, const char *want)
{
    char *got = plan_text(doc, pods, o, true, NULL, NULL);
    if (strcmp(got, want) != 0)
        fail_msg("%s:\n got  [%s]\n want [%s]", what, got, want);
    free(got);
}

/* Table row `row`: the plan for doc (freed here) with five running workers pod1..pod5. */
static void expect_row_plan(size_t row, json_t *doc, const struct raycluster_opts *o,
                            const char *want)
{
    json_t *pods = pods_with_workers(5);
    char what[32];
    snprintf(what, sizeof(what), "case %zu", row);
    expect_plan(what, doc, pods, o, want);
    json_decref(pods);
    json_decref(doc);
}

static void test_workers_to_delete_table(void **state)
{
    (void)state;
    static const struct {
        bool autoscaling, random_delete;
        const char *to_delete;
        int replicas;
        const char *want;
    } cases[] = {
        {true, false, "[\"pod2\", \"pod3\"]", 3, "D:pod2(wtd) D:pod3(wtd)"},
        {true, false, "[\"pod2\", \"NonExistentPod\"]", 3, "D:pod2(wtd) D:NonExistentPod(wtd)"},
        {true, false, "[\"NonExistentPod1\", \"NonExistentPod2\"]", 3,
         "D:NonExistentPod1(wtd) D:NonExistentPod2(wtd)"},
        {true, true, "[\"pod2\", \"NonExistentPod\"]", 3,
         "D:pod2(wtd) D:NonExistentPod(wtd) D:pod1(down)"},
        {false, false, "[\"pod1\", \"pod2\"]", 2, "D:pod1(wtd) D:pod2(wtd) D:pod3(down)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc =
            cluster(cases[i].replicas, 0, 10000, cases[i].autoscaling, cases[i].to_delete);
        struct raycluster_opts o;
        raycluster_opts_default(&o);
        o.random_pod_delete = cases[i].random_delete;
        expect_row_plan(i, doc, &o, cases[i].want);
    }
}

static void test_clamping_table(void **state)
{
    (void)state;
    static const struct {
        int replicas, min, max, hosts;
        bool indexing;
        const char *want;
    } cases[] = {
        /* five running pods; autoscaling off */
        {-1, 1, 5, 1, true, "D:pod1(down) D:pod2(down) D:pod3(down) D:pod4(down)"},
        {0, 1, 5, 1, true, "D:pod1(down) D:pod2(down) D:pod3(down) D:pod4(down)"},
        {4, 0, 3, 1, true, "D:pod1(down) D:pod2(down)"},
        /* numOfHosts 4 with the indexing gate off: pod-by-pod, 4 / 4 / 12 desired */
        {-1, 1, 5, 4, false, "D:pod1(down)"},
        {0, 1, 5, 4, false, "D:pod1(down)"},
        {4, 0, 3, 4, false, "C:w#0 C:w#0 C:w#0 C:w#0 C:w#0 C:w#0 C:w#0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = cluster(cases[i].replicas, cases[i].min, cases[i].max, false, NULL);
        char buf[16];
        snprintf(buf, sizeof(buf), "%d", cases[i].hosts);
        tu_set(doc, "spec.workerGroupSpecs.0.numOfHosts", buf);
        struct raycluster_opts o;
        raycluster_opts_default(&o);
        o.gates.multi_host_indexing = cases[i].indexing;
        expect_row_plan(i, doc, &o, cases[i].want);
    }
}

static void test_scale_up_assigns_lowest_free_replica_index(void **state)
{
    (void)state;
    json_t *doc = cluster(4, 0, 10, false, NULL);
    json_t *pods = pods_with_workers(2);
    set_label(json_array_get(pods, 1), "ray.io/worker-group-replica-index", "0");
    set_label(json_array_get(pods, 2), "ray.io/worker-group-replica-index", "2");
    expect_plan("indices", doc, pods, NULL, "C:w#1 C:w#3");
    json_decref(pods);
    json_decref(doc);
}

static void test_autoscaling_never_scales_down_by_itself(void **state)
{
    (void)state;
    json_t *doc = cluster(1, 0, 10, true, NULL);
    json_t *pods = pods_with_workers(3);
    expect_plan("autoscaler", doc, pods, NULL, "");
    json_decref(pods);
    json_decref(doc);
}

static void test_unhealthy_workers_are_deleted_first_and_stop_the_pass(void **state)
{
    (void)state;
    json_t *doc = cluster(3, 0, 10, false, "[\"pod1\"]");
    json_t *pods = pods_with_workers(3);
    json_object_set_new(json_object_get(json_array_get(pods, 2), "status"), "phase",
                        json_string("Failed"));
    /* a Running pod whose Ray container terminated with restartPolicy Never */
    json_t *p3 = json_array_get(pods, 3);
    json_object_set_new(json_object_get(p3, "spec"), "restartPolicy", json_string("Never"));
    json_object_set_new(
        json_object_get(p3, "status"), "containerStatuses",
        tu_json("[{\"name\": \"ray\", \"state\": {\"terminated\": {\"exitCode\": 1}}}]"));
    expect_plan("unhealthy", doc, pods, NULL,
                "D:pod2(unhealthy) D:pod3(unhealthy) FAIL:delete 2 unhealthy worker Pods");
    /* restartPolicy Always: the kubelet restarts it, keep */
    json_object_set_new(json_object_get(p3, "spec"), "restartPolicy", json_string("Always"));
    expect_plan("restartable", doc, pods, NULL,
                "D:pod2(unhealthy) FAIL:delete 1 unhealthy worker Pods");
    json_decref(pods);
    json_decref(doc);
}

static void test_unhealthy_reason_text(void **state)
{
    (void)state;
    json_t *doc = cluster(0, 0, 10, false, NULL);
    json_t *pods = json_pack("[o]", pod("head", "head", "headgroup", "Failed"));
    struct raycluster rc;
    struct raycluster_opts o;
    struct raycluster_plan plan;
    struct krc_error err;
    raycluster_opts_default(&o);
    tu_parse(doc, &rc);
    struct raycluster_scale_input in = {pods, true, NULL, NULL, NULL, NULL};
    assert_int_equal(raycluster_plan_pods(&rc, &o, &in, &plan, &err), 0);
    assert_int_equal(plan.n, 1);
    assert_int_equal(plan.actions[0].kind, RAYCLUSTER_ACT_DELETE_HEAD_POD);
    assert_true(plan.actions[0].then_fail);
    assert_string_equal(plan.actions[0].failure_reason, "FailedDeleteHeadPod");
    assert_string_equal(plan.actions[0].reason,
                        "The head Pod head status is Failed which is a terminal state. KubeRay "
                        "will delete the Pod and create new Pods in the next reconciliation if "
                        "necessary.");
    raycluster_plan_free(&plan);
    raycluster_release(&rc);
    json_decref(pods);
    json_decref(doc);
}

static void test_head_pod_cases(void **state)
{
    (void)state;
    json_t *doc = cluster(1, 0, 10, false, NULL);
    json_t *none = json_array();
    expect_plan("no head", doc, none, NULL, "C:head C:w#0");
    json_t *two = json_pack("[o, o]", pod("h1", "head", "headgroup", "Running"),
                            pod("h2", "head", "headgroup", "Pending"));
    expect_plan("two heads", doc, two, NULL,
                "FAIL:2 head pods found [h1 h2]. Please delete extra head pods");
    /* provisioned RayJob sidecar clusters do not get their head back */
    tu_set(doc, "metadata.annotations", "{\"ray.io/disable-provisioned-head-restart\": \"true\"}");
    tu_set(doc, "status.conditions",
           "[{\"type\": \"RayClusterProvisioned\", \"status\": \"True\", \"reason\": \"x\", "
           "\"message\": \"\", \"lastTransitionTime\": \"2024-01-01T00:00:00Z\"}]");
    expect_plan("no restart", doc, none, NULL, "");
    /* unsatisfied head expectations skip the head but not the workers */
    char *got = plan_text(doc, none, NULL, false, NULL, NULL);
    assert_string_equal(got, "C:w#0");
    free(got);
    bool groups_ok[1] = {false};
    got = plan_text(doc, none, NULL, false, groups_ok, NULL);
    assert_string_equal(got, "");
    free(got);
    json_decref(two);
    json_decref(none);
    json_decref(doc);
}

static void test_suspension(void **state)
{
    (void)state;
    json_t *doc = cluster(1, 0, 10, false, NULL);
    json_t *pods = pods_with_workers(1);
    tu_set(doc, "spec.suspend", "true");
    expect_plan("suspend requested", doc, pods, NULL, "");
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    o.gates.status_conditions = false;
    expect_plan("gate off", doc, pods, &o, "DALL(susp)");
    tu_set(doc, "spec.suspend", "false"); /* atomic: suspending continues */
    tu_set(doc, "status.conditions",
           "[{\"type\": \"RayClusterSuspending\", \"status\": \"True\", \"reason\": \"x\", "
           "\"message\": \"\", \"lastTransitionTime\": \"2024-01-01T00:00:00Z\"}]");
    expect_plan("suspending", doc, pods, NULL, "DALL(susp)");
    tu_set(doc, "status.conditions.0.type", "\"RayClusterSuspended\"");
    expect_plan("suspended", doc, pods, NULL, "");
    tu_set(doc, "status.conditions", NULL);
    tu_set(doc, "spec.workerGroupSpecs.0.suspend", "true");
    expect_plan("suspended group", doc, pods, NULL, "DGROUP:0");
    json_decref(pods);
    json_decref(doc);
}

static void test_recreate_upgrade(void **state)
{
    (void)state;
    json_t *doc = cluster(1, 0, 10, false, NULL);
    tu_set(doc, "spec.upgradeStrategy", "{\"type\": \"Recreate\"}");
    json_t *pods = pods_with_workers(1);
    json_t *head_meta = json_object_get(json_array_get(pods, 0), "metadata");
    json_object_set_new(head_meta, "annotations",
                        tu_json("{\"ray.io/upgrade-strategy-recreate-hash\": \"OLD\", "
                                "\"ray.io/kuberay-version\": \"kuberay-c\"}"));
    char *got = plan_text(doc, pods, NULL, true, NULL, "NEW");
    assert_string_equal(got, "DALL(recreate,drop)");
    free(got);
    got = plan_text(doc, pods, NULL, true, NULL, "OLD");
    assert_string_equal(got, "");
    free(got);
    /* a head stamped by another operator version is re-stamped, not recreated */
    json_object_set_new(json_object_get(head_meta, "annotations"), "ray.io/kuberay-version",
                        json_string("v1.5.0"));
    got = plan_text(doc, pods, NULL, true, NULL, "NEW");
    assert_string_equal(got, "STAMP:head");
    free(got);
    json_decref(pods);
    json_decref(doc);
}

static void test_multi_host_groups(void **state)
{
    (void)state;
    json_t *doc = tu_load("tpu-multihost.json");
    tu_set(doc, "metadata.name", "\"c\"");
    tu_set(doc, "spec.workerGroupSpecs.0.maxReplicas", "3");
    tu_set(doc, "spec.workerGroupSpecs.0.replicas", "2");
    json_t *pods = json_array();
    json_array_append_new(pods, pod("head", "head", "headgroup", "Running"));
    /* one complete replica r1 (index 0) */
    for (int h = 0; h < 2; h++) {
        char name[16];
        snprintf(name, sizeof(name), "r1-%d", h);
        json_t *p = pod(name, "worker", "tpu-group", "Running");
        set_label(p, "ray.io/worker-group-replica-name", "tpu-group-r1");
        set_label(p, "ray.io/worker-group-replica-index", "0");
        json_array_append_new(pods, p);
    }
    expect_plan("scale up", doc, pods, NULL, "C:tpu-group-abc00#1/0 C:tpu-group-abc00#1/1");
    /* workersToDelete names one pod: the whole replica goes and the pass ends */
    tu_set(doc, "spec.workerGroupSpecs.0.scaleStrategy", "{\"workersToDelete\": [\"r1-1\"]}");
    expect_plan("wtd", doc, pods, NULL,
                "D:r1-0(mh) D:r1-1(mh) FAIL:deleted 2 worker Pods based on ScaleStrategy, "
                "requeueing");
    tu_set(doc, "spec.workerGroupSpecs.0.scaleStrategy", NULL);
    /* an incomplete replica is cleaned up first */
    json_array_remove(pods, 2);
    expect_plan("incomplete", doc, pods, NULL,
                "D:r1-0(mh) FAIL:cleaned up incomplete replica group tpu-group-r1, requeueing");
    json_decref(pods);
    json_decref(doc);
}

static void test_plan_is_bounded(void **state)
{
    (void)state;
    json_t *doc = cluster(INT32_MAX, 0, INT32_MAX, false, NULL);
    json_t *pods = pods_with_workers(0);
    struct raycluster rc;
    struct raycluster_opts o;
    struct raycluster_plan plan;
    struct krc_error err;
    raycluster_opts_default(&o);
    tu_parse(doc, &rc);
    struct raycluster_scale_input in = {pods, true, NULL, NULL, NULL, NULL};
    assert_int_equal(raycluster_plan_pods(&rc, &o, &in, &plan, &err), 0);
    assert_int_equal(plan.n, RAYCLUSTER_PLAN_MAX_CREATES); /* the head exists */
    raycluster_plan_free(&plan);
    raycluster_release(&rc);
    /* numOfHosts -1 makes desired negative: never more deletes than pods */
    tu_set(doc, "spec.workerGroupSpecs.0.replicas", "3");
    tu_set(doc, "spec.workerGroupSpecs.0.numOfHosts", "-1");
    json_decref(pods);
    pods = pods_with_workers(2);
    expect_plan("negative", doc, pods, NULL, "D:pod1(down) D:pod2(down)");
    json_decref(pods);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workers_to_delete_table),
        cmocka_unit_test(test_clamping_table),
        cmocka_unit_test(test_scale_up_assigns_lowest_free_replica_index),
        cmocka_unit_test(test_autoscaling_never_scales_down_by_itself),
        cmocka_unit_test(test_unhealthy_workers_are_deleted_first_and_stop_the_pass),
        cmocka_unit_test(test_unhealthy_reason_text),
        cmocka_unit_test(test_head_pod_cases),
        cmocka_unit_test(test_suspension),
        cmocka_unit_test(test_recreate_upgrade),
        cmocka_unit_test(test_multi_host_groups),
        cmocka_unit_test(test_plan_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
