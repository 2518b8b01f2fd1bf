/* Unit tests for controller/controller_runtime: the --watch-namespace list (empty entries, leading
 * and trailing spaces, duplicates dropped, "" and NULL meaning all namespaces), which entry serves
 * a namespace, work queue key splitting, start/stop of the workers of a runtime without informers,
 * the controller_runtime_reconcile_total series and cached objects back to documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/controller_runtime.h"

/* Parses list and checks the entries against want (NULL entries allowed), nwant of them. */
static void check_parse(const char *list, const char *const *want, size_t nwant)
{
    char **ns = NULL;
    size_t n = 0;
    struct krc_error err = {0};
    assert_int_equal(controller_runtime_parse(list, &ns, &n, &err), 0);
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++) {
        if (want[i])
            assert_string_equal(ns[i], want[i]);
        else
            assert_null(ns[i]);
    }
    controller_runtime_free_list(ns, n);
}

static void test_parse_all_namespaces(void **state)
{
    (void)state;
    const char *const all[] = {NULL};
    check_parse(NULL, all, 1);
    check_parse("", all, 1);
    check_parse(",", all, 1);
    check_parse(",, ,  ,", all, 1); /* entries of spaces only are empty */
}

static void test_parse_lists(void **state)
{
    (void)state;
    const char *const one[] = {"ns1"};
    check_parse("ns1", one, 1);
    check_parse("ns1,", one, 1);
    check_parse(",,ns1,,", one, 1);
    check_parse("  ns1", one, 1); /* leading spaces dropped */
    const char *const two[] = {"ns1", "ns2"};
    check_parse("ns1,ns2", two, 2);
    check_parse("ns1, ns2", two, 2);
    check_parse("ns1,,ns2", two, 2);
    const char *const trailing[] = {"ns1 ", "ns2"};
    check_parse("ns1 , ns2", trailing, 2); /* only leading spaces are dropped */
    const char *const tab[] = {"\tns1"};
    check_parse("\tns1", tab, 1); /* only spaces */
    const char *const dup[] = {"a", "b"};
    check_parse("a,b,a", dup, 2); /* a namespace listed twice is watched once */
}

static void test_find(void **state)
{
    (void)state;
    struct controller_runtime s;
    struct krc_error err = {0};
    assert_int_equal(controller_runtime_init(&s, "test", NULL, NULL, "a, b,a", &err), 0);
    assert_int_equal(s.nns, 2);
    assert_int_equal(controller_runtime_find(&s, "a"), 0);
    assert_int_equal(controller_runtime_find(&s, "b"), 1);
    assert_int_equal(controller_runtime_find(&s, "c"), -1);
    assert_int_equal(controller_runtime_find(&s, NULL), -1);
    controller_runtime_release(&s);
    assert_int_equal(controller_runtime_init(&s, "test", NULL, NULL, NULL, &err), 0);
    assert_int_equal(s.nns, 1);
    assert_null(s.ns[0]);
    assert_int_equal(controller_runtime_find(&s, "anything"), 0); /* all namespaces */
    assert_int_equal(controller_runtime_find(&s, NULL), 0);
    controller_runtime_release(&s);
}

static void test_split_key(void **state)
{
    (void)state;
    char ns[CONTROLLER_RUNTIME_NAME_MAX], name[CONTROLLER_RUNTIME_NAME_MAX];
    assert_true(controller_runtime_split_key("default/raycluster-kuberay", ns, name));
    assert_string_equal(ns, "default");
    assert_string_equal(name, "raycluster-kuberay");
    assert_true(controller_runtime_split_key("ns/a/b", ns, name)); /* the first slash splits */
    assert_string_equal(ns, "ns");
    assert_string_equal(name, "a/b");
    assert_true(controller_runtime_split_key("/x", ns, name));
    assert_string_equal(ns, "");
    assert_false(controller_runtime_split_key("no-slash", ns, name));
    char key[2 * CONTROLLER_RUNTIME_NAME_MAX + 2];
    memset(key, 'a', CONTROLLER_RUNTIME_NAME_MAX - 1); /* 253: the longest name */
    key[CONTROLLER_RUNTIME_NAME_MAX - 1] = '/';
    memcpy(key + CONTROLLER_RUNTIME_NAME_MAX, "n", 2);
    assert_true(controller_runtime_split_key(key, ns, name));
    assert_int_equal(strlen(ns), CONTROLLER_RUNTIME_NAME_MAX - 1);
    memset(key, 'a', CONTROLLER_RUNTIME_NAME_MAX); /* 254: too long */
    key[CONTROLLER_RUNTIME_NAME_MAX] = '/';
    memcpy(key + CONTROLLER_RUNTIME_NAME_MAX + 1, "n", 2);
    assert_false(controller_runtime_split_key(key, ns, name));
    memcpy(key, "ns/", 3);
    memset(key + 3, 'b', CONTROLLER_RUNTIME_NAME_MAX);
    key[3 + CONTROLLER_RUNTIME_NAME_MAX] = '\0';
    assert_false(controller_runtime_split_key(key, ns, name)); /* name too long */
}

struct seen {
    pthread_mutex_t mu;
    int n;
    char last[64];
};

static int count_reconcile(void *ctx, const char *key, int64_t *requeue_after_ns)
{
    struct seen *s = ctx;
    (void)requeue_after_ns;
    pthread_mutex_lock(&s->mu);
    s->n++;
    snprintf(s->last, sizeof(s->last), "%s", key);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* A scope without informers: start runs the workers on the queue, stop ends them (twice is
 * fine), release leaves the queue to its owner. */
static void test_start_stop_workers(void **state)
{
    (void)state;
    struct krc_error err = {0};
    struct krc_workqueue *q = NULL;
    struct krc_workqueue_opts qo = {.name = "test"};
    assert_int_equal(krc_workqueue_new(&qo, &q, &err), 0);
    struct controller_runtime s;
    assert_int_equal(controller_runtime_init(&s, "test", NULL, q, "", &err), 0);
    struct seen seen = {.mu = PTHREAD_MUTEX_INITIALIZER};
    assert_int_equal(controller_runtime_start(&s, 0, count_reconcile, &seen, &err), 0);
    assert_non_null(s.workers);
    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    int n = 0;
    for (int i = 0; i < 500 && n == 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&seen.mu);
        n = seen.n;
        pthread_mutex_unlock(&seen.mu);
    }
    assert_int_equal(n, 1);
    assert_string_equal(seen.last, "ns/a");
    controller_runtime_stop(&s);
    assert_null(s.workers);
    assert_true(krc_workqueue_shutting_down(q));
    controller_runtime_stop(&s);
    controller_runtime_release(&s);
    krc_workqueue_free(q);
}

/* Stop before start shuts the queue down (the controllers' free on a failed start). */
static void test_stop_unstarted(void **state)
{
    (void)state;
    struct krc_error err = {0};
    struct krc_workqueue *q = NULL;
    struct krc_workqueue_opts qo = {.name = "test"};
    assert_int_equal(krc_workqueue_new(&qo, &q, &err), 0);
    struct controller_runtime s;
    assert_int_equal(controller_runtime_init(&s, "test", NULL, q, "a,b", &err), 0);
    controller_runtime_release(&s);
    assert_true(krc_workqueue_shutting_down(q));
    krc_workqueue_free(q);
}

static void test_reconcile_total(void **state)
{
    (void)state;
    struct krc_error err = {0};
    struct controller_runtime rt;
    assert_int_equal(controller_runtime_init(&rt, "rayjob", NULL, NULL, "", &err), 0);
    controller_runtime_count(&rt, CONTROLLER_RUNTIME_SUCCESS);
    controller_runtime_count(&rt, CONTROLLER_RUNTIME_REQUEUE_AFTER);
    controller_runtime_count(&rt, CONTROLLER_RUNTIME_REQUEUE_AFTER);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    assert_int_equal(controller_runtime_reconcile_total(&rt, false, &out), 0);
    assert_string_equal(
        out.buf, "controller_runtime_reconcile_total{controller=\"rayjob\",result=\"success\"} 1\n"
                 "controller_runtime_reconcile_total{controller=\"rayjob\",result=\"error\"} 0\n"
                 "controller_runtime_reconcile_total{controller=\"rayjob\","
                 "result=\"requeue_after\"} 2\n");
    krc_strbuf_release(&out);
    assert_int_equal(controller_runtime_reconcile_total(&rt, true, &out), 0);
    assert_true(strncmp(out.buf,
                        "# HELP controller_runtime_reconcile_total Total number of "
                        "reconciliations per controller\n"
                        "# TYPE controller_runtime_reconcile_total counter\n"
                        "controller_runtime_reconcile_total{controller=\"rayjob\"",
                        strlen("# HELP controller_runtime_reconcile_total Total number of "
                               "reconciliations per controller\n"
                               "# TYPE controller_runtime_reconcile_total counter\n"
                               "controller_runtime_reconcile_total{controller=\"rayjob\"")) == 0);
    krc_strbuf_release(&out);
    controller_runtime_release(&rt);
}

/* A cached object back to a document: the fixed metadata, each kept path at its place, absent
 * paths left out, a dropped annotation gone. */
static void test_object_doc(void **state)
{
    (void)state;
    static const char *const paths[] = {"spec", "status", "metadata.annotations",
                                        "metadata.finalizers"};
    static const struct krc_projection_drop drop = {2, KRC_LAST_APPLIED_ANNOTATION};
    static const char obj[] =
        "{\"apiVersion\":\"ray.io/v1\",\"kind\":\"RayService\",\"metadata\":{\"name\":\"demo\","
        "\"namespace\":\"prod\",\"uid\":\"u1\",\"resourceVersion\":\"42\",\"generation\":3,"
        "\"deletionTimestamp\":\"2026-01-01T00:00:00Z\",\"labels\":{\"a\":\"b\"},"
        "\"annotations\":{\"x\":\"y\",\"" KRC_LAST_APPLIED_ANNOTATION "\":\"{}\"},"
        "\"finalizers\":[\"f\"],\"ownerReferences\":[{\"kind\":\"K\"}]},"
        "\"spec\":{\"n\":1,\"deep\":{\"k\":[true]}}}";
    struct krc_projection *p = NULL;
    struct krc_projection_parser *ps = NULL;
    struct krc_error err = {0};
    assert_int_equal(krc_projection_new(paths, 4, NULL, &p, &err), 0);
    assert_int_equal(krc_projection_drop_member(p, &drop, &err), 0);
    assert_int_equal(
        krc_projection_parser_new(p, KRC_PROJECTION_OBJECT, NULL, NULL, NULL, &ps, &err), 0);
    assert_int_equal(krc_projection_parser_feed(ps, obj, strlen(obj), &err), 0);
    assert_int_equal(krc_projection_parser_finish(ps, &err), 0);
    struct krc_object *o = krc_projection_parser_take(ps);
    assert_non_null(o);
    json_t *doc = controller_runtime_object_doc(o, "ray.io/v1", "RayService", paths, 4);
    assert_non_null(doc);
    json_t *want = json_loads(
        "{\"apiVersion\":\"ray.io/v1\",\"kind\":\"RayService\",\"metadata\":{\"name\":\"demo\","
        "\"namespace\":\"prod\",\"uid\":\"u1\",\"resourceVersion\":\"42\",\"generation\":3,"
        "\"deletionTimestamp\":\"2026-01-01T00:00:00Z\",\"labels\":{\"a\":\"b\"},"
        "\"annotations\":{\"x\":\"y\"},\"finalizers\":[\"f\"]},"
        "\"spec\":{\"n\":1,\"deep\":{\"k\":[true]}}}",
        0, NULL);
    assert_non_null(want);
    if (!json_equal(doc, want)) {
        char *got = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
        fail_msg("object_doc: got %s", got ? got : "(null)");
    }
    json_decref(want);
    json_decref(doc);
    krc_object_unref(o);
    krc_projection_parser_free(ps);
    krc_projection_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_all_namespaces),
        cmocka_unit_test(test_parse_lists),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_split_key),
        cmocka_unit_test(test_start_stop_workers),
        cmocka_unit_test(test_stop_unstarted),
        cmocka_unit_test(test_reconcile_total),
        cmocka_unit_test(test_object_doc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
