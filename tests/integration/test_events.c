/* Integration tests of the events recorder (kube/events) against the real control plane (exit 77,
 * "skipped", without $KUBECONFIG). The Events are written by the recorder's worker through a real
 * client and read back from the API server, which validates them (events.k8s.io/v1 is strict:
 * eventTime, reportingController/Instance, action, series rules), so a test passing means the
 * server accepted what we wrote. Each run works in a namespace of its own, about a ConfigMap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/client.h"
#include "kube/events.h"

#define CONTROLLER "krc-itest-controller"
#define FLOOD_N    200
#define FLOOD_Q    4

static const struct krc_resource namespaces = {"", "v1", "namespaces", 0};
static const struct krc_resource configmaps = {"", "v1", "configmaps", 1};
static const struct krc_resource events_v1 = {"events.k8s.io", "v1", "events", 1};
static const struct krc_resource core_events = {"", "v1", "events", 1};

static struct krc_kubeconfig cfg;
static struct krc_client *client;
static char ns[64];
static char cm_uid[64], cm_rv[32];
static struct krc_events_ref subject;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

static struct krc_events *recorder(struct krc_client *c, enum krc_events_api api, size_t queue)
{
    struct krc_events_opts o = {
        .api = api,
        .reporting_controller = CONTROLLER,
        .queue_size = queue,
    };
    struct krc_events *r = NULL;
    struct krc_error err = {0, ""};
    if (krc_events_new(c, &o, &r, &err) != 0)
        fail_msg("krc_events_new: %s", err.msg);
    return r;
}

/* The Events of the test namespace with this reason (a new reference: json_decref it). */
static json_t *events_with_reason(const struct krc_resource *res, const char *reason)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    json_t *list = NULL, *found = json_array();
    if (krc_client_list(client, res, ns, NULL, &out, &err) != 0 ||
        krc_client_parse_json(&out, &list, &err) != 0)
        fail_msg("list events: %s", err.msg);
    krc_strbuf_release(&out);
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(list, "items"), i, ev)
    {
        const char *r = json_string_value(json_object_get(ev, "reason"));
        if (r && strcmp(r, reason) == 0)
            json_array_append(found, ev);
    }
    json_decref(list);
    return found;
}

static const char *jstr(json_t *o, const char *k1, const char *k2)
{
    json_t *v = json_object_get(o, k1);
    return json_string_value(k2 ? json_object_get(v, k2) : v);
}

static json_int_t jint(json_t *o, const char *k1, const char *k2)
{
    json_t *v = json_object_get(o, k1);
    return json_integer_value(k2 ? json_object_get(v, k2) : v);
}

/* ---- tests ---- */

static void test_five_identical_events_become_one_event_with_series_count_5(void **state)
{
    (void)state;
    struct krc_events *r = recorder(client, KRC_EVENTS_API_EVENTS_V1, 0);
    /* The first is created; the next four PATCH its series (two of them may share a PATCH). */
    assert_int_equal(krc_events_record(r, &subject, KRC_EVENT_WARNING, "Repeated", "Reconcile",
                                       "pod %s failed", "head-0"),
                     0);
    assert_int_equal(krc_events_flush(r, 10000), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(krc_events_record(r, &subject, KRC_EVENT_WARNING, "Repeated", "Reconcile",
                                           "pod %s failed", "head-0"),
                         0);
        if (i % 2)
            assert_int_equal(krc_events_flush(r, 10000), 0);
    }
    assert_int_equal(krc_events_flush(r, 10000), 0);
    struct krc_events_stats st;
    krc_events_stats(r, &st);
    assert_int_equal(st.created, 1);
    assert_true(st.patched >= 1);
    assert_int_equal(st.failed, 0);
    krc_events_free(r);

    json_t *found = events_with_reason(&events_v1, "Repeated");
    assert_int_equal(json_array_size(found), 1);
    json_t *ev = json_array_get(found, 0);
    assert_int_equal(jint(ev, "series", "count"), 5);
    assert_non_null(jstr(ev, "series", "lastObservedTime"));
    assert_string_equal(jstr(ev, "note", NULL), "pod head-0 failed");
    assert_string_equal(jstr(ev, "type", NULL), "Warning");
    assert_string_equal(jstr(ev, "action", NULL), "Reconcile");
    assert_string_equal(jstr(ev, "reportingController", NULL), CONTROLLER);
    assert_true(
        strncmp(jstr(ev, "reportingInstance", NULL), CONTROLLER "-", strlen(CONTROLLER) + 1) == 0);
    assert_string_equal(jstr(ev, "regarding", "apiVersion"), "v1");
    assert_string_equal(jstr(ev, "regarding", "kind"), "ConfigMap");
    assert_string_equal(jstr(ev, "regarding", "namespace"), ns);
    assert_string_equal(jstr(ev, "regarding", "name"), "subject");
    assert_string_equal(jstr(ev, "regarding", "uid"), cm_uid);
    assert_string_equal(jstr(ev, "regarding", "resourceVersion"), cm_rv);
    assert_true(strncmp(jstr(ev, "metadata", "name"), "subject.", 8) == 0);
    json_decref(found);
}

static void test_different_reasons_make_separate_events(void **state)
{
    (void)state;
    struct krc_events *r = recorder(client, KRC_EVENTS_API_EVENTS_V1, 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            krc_events_record(r, &subject, KRC_EVENT_NORMAL, "ReasonA", "Create", "same note"), 0);
        assert_int_equal(
            krc_events_record(r, &subject, KRC_EVENT_NORMAL, "ReasonB", "Create", "same note"), 0);
        assert_int_equal(krc_events_flush(r, 10000), 0);
    }
    krc_events_free(r);
    json_t *a = events_with_reason(&events_v1, "ReasonA");
    json_t *b = events_with_reason(&events_v1, "ReasonB");
    assert_int_equal(json_array_size(a), 1);
    assert_int_equal(json_array_size(b), 1);
    assert_int_equal(jint(json_array_get(a, 0), "series", "count"), 2);
    assert_int_equal(jint(json_array_get(b, 0), "series", "count"), 2);
    assert_string_not_equal(jstr(json_array_get(a, 0), "metadata", "name"),
                            jstr(json_array_get(b, 0), "metadata", "name"));
    json_decref(a);
    json_decref(b);
}

/* A recorder whose writes are slow (its client may send 2 requests a second) and whose queue
 * holds 4: a burst of 200 distinct events must not slow the caller; what does not fit is dropped
 * and counted, and exactly what was accepted reaches the server. */
static void test_a_full_queue_drops_and_counts_instead_of_blocking(void **state)
{
    (void)state;
    struct krc_client *slow = NULL;
    struct krc_error err = {0, ""};
    struct krc_client_options copts = {.qps = 2, .burst = 1};
    assert_int_equal(krc_client_new(&cfg, &copts, &slow, &err), 0);
    struct krc_events *r = recorder(slow, KRC_EVENTS_API_EVENTS_V1, FLOOD_Q);

    int64_t worst = 0, start = mono_ns();
    int accepted = 0, dropped = 0;
    for (int i = 0; i < FLOOD_N; i++) {
        int64_t t = mono_ns();
        int rc = krc_events_record(r, &subject, KRC_EVENT_NORMAL, "Flood", "Test", "event %d", i);
        t = mono_ns() - t;
        worst = t > worst ? t : worst;
        if (rc == 0)
            accepted++;
        else if (rc == KRC_ETOOLARGE)
            dropped++;
        else
            fail_msg("record %d: %s", i, krc_strerror(rc));
    }
    int64_t total = mono_ns() - start;
    fprintf(stderr, "flood: %d accepted, %d dropped, %.3f ms total, worst call %.3f ms\n", accepted,
            dropped, (double)total / 1e6, (double)worst / 1e6);
    /* Each call is a format and a hash lookup; a blocking call would wait ~500 ms for a token.
     * 50 ms per call is far above the microseconds it takes even under sanitizers. */
    assert_true(worst < 50 * INT64_C(1000000));
    /* At most the queue plus the one write in flight, plus the writes that freed slots during
     * the burst (2 a second): everything else was dropped. */
    assert_true(accepted >= FLOOD_Q);
    assert_true(accepted <= FLOOD_Q + 1 + 2);
    assert_int_equal(accepted + dropped, FLOOD_N);
    struct krc_events_stats st;
    krc_events_stats(r, &st);
    assert_int_equal(st.dropped, (uint64_t)dropped);
    assert_int_equal(st.recorded, (uint64_t)accepted);

    assert_int_equal(krc_events_flush(r, 20000), 0);
    krc_events_stats(r, &st);
    assert_int_equal(st.created, (uint64_t)accepted);
    krc_events_free(r);
    krc_client_free(slow);
    json_t *found = events_with_reason(&events_v1, "Flood");
    assert_int_equal(json_array_size(found), (size_t)accepted);
    json_decref(found);
}

/* The core/v1 mode used for the leader-election Event: repeats raise count. */
static void test_core_v1_repeats_raise_count(void **state)
{
    (void)state;
    struct krc_events *r = recorder(client, KRC_EVENTS_API_CORE_V1, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            krc_events_record(r, &subject, KRC_EVENT_NORMAL, "CoreRepeat", NULL, "x became y"), 0);
        assert_int_equal(krc_events_flush(r, 10000), 0);
    }
    krc_events_free(r);
    json_t *found = events_with_reason(&core_events, "CoreRepeat");
    assert_int_equal(json_array_size(found), 1);
    json_t *ev = json_array_get(found, 0);
    assert_int_equal(jint(ev, "count", NULL), 3);
    assert_string_equal(jstr(ev, "message", NULL), "x became y");
    assert_string_equal(jstr(ev, "source", "component"), CONTROLLER);
    assert_string_equal(jstr(ev, "involvedObject", "uid"), cm_uid);
    assert_non_null(jstr(ev, "lastTimestamp", NULL));
    json_decref(found);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    (void)state;
    struct krc_error err = {0, ""};
    struct krc_client_options opts = {.qps = -1};
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *cm = NULL;
    char body[256];
    int rc = -1;

    if (krc_kubeconfig_load(&cfg, NULL, &err) != 0 || krc_client_new(&cfg, &opts, &client, &err))
        goto out;
    snprintf(ns, sizeof(ns), "krc-itest-events-%ld", (long)getpid());
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    if (krc_client_create(client, &namespaces, NULL, body, strlen(body), NULL, NULL, &err))
        goto out;
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"subject\"}}");
    if (krc_client_create(client, &configmaps, ns, body, strlen(body), NULL, &out, &err) ||
        krc_client_parse_json(&out, &cm, &err))
        goto out;
    snprintf(cm_uid, sizeof(cm_uid), "%s", jstr(cm, "metadata", "uid"));
    snprintf(cm_rv, sizeof(cm_rv), "%s", jstr(cm, "metadata", "resourceVersion"));
    subject = (struct krc_events_ref){.api_version = "v1",
                                      .kind = "ConfigMap",
                                      .ns = ns,
                                      .name = "subject",
                                      .uid = cm_uid,
                                      .resource_version = cm_rv};
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "setup: %s\n", err.msg);
    json_decref(cm);
    krc_strbuf_release(&out);
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    struct krc_error err = {0, ""};
    struct krc_delete_opts del = {.propagation_policy = "Background"};
    if (krc_client_delete(client, &namespaces, NULL, ns, &del, NULL, &err) != 0)
        fprintf(stderr, "delete namespace %s: %s\n", ns, err.msg);
    krc_client_free(client);
    krc_kubeconfig_free(&cfg);
    return 0;
}

int main(void)
{
    if (!getenv("KUBECONFIG") || !*getenv("KUBECONFIG")) {
        fprintf(stderr, "KUBECONFIG is not set: skipping (start a cluster with hack/cluster.sh)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_five_identical_events_become_one_event_with_series_count_5),
        cmocka_unit_test(test_different_reasons_make_separate_events),
        cmocka_unit_test(test_a_full_queue_drops_and_counts_instead_of_blocking),
        cmocka_unit_test(test_core_v1_repeats_raise_count),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
