/* Unit tests of the node agent's cluster DNS (src/node/dns.c): which names a pod's /etc/hosts
 * lists for Services (ClusterIP and headless, ready and not-ready endpoints) and for pods with a
 * hostname and subdomain, in which order, which watch events can change them, and when a burst
 * of changes is recomputed. Pure: objects are projected from JSON with the informers'
 * projections, no API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kube/projection.h"
#include "node/agent.h"

static const char *SERVICES =
    "["
    "{\"metadata\":{\"name\":\"head\",\"namespace\":\"ray\"},\"spec\":{\"clusterIP\":\"10.96.0.9\"}"
    "},"
    "{\"metadata\":{\"name\":\"workers\",\"namespace\":\"ray\"},\"spec\":{\"clusterIP\":\"None\"}},"
    "{\"metadata\":{\"name\":\"empty\",\"namespace\":\"ray\"},\"spec\":{\"clusterIP\":\"None\"}}]";

static const char *SLICES =
    "["
    "{\"metadata\":{\"name\":\"head-x\",\"namespace\":\"ray\",\"labels\":{\"kubernetes.io/"
    "service-name\":\"head\"}},"
    " \"endpoints\":[{\"addresses\":[\"10.1.1.2\"],\"conditions\":{\"ready\":false}},"
    "                {\"addresses\":[\"10.1.1.3\"],\"conditions\":{\"ready\":true}},"
    "                {\"addresses\":[\"10.1.1.4\"],\"conditions\":{\"ready\":true}}]},"
    "{\"metadata\":{\"name\":\"workers-x\",\"namespace\":\"ray\",\"labels\":{\"kubernetes.io/"
    "service-name\":\"workers\"}},"
    " \"endpoints\":[{\"addresses\":[\"10.1.2.1\"],\"conditions\":{\"ready\":true}},"
    "                {\"addresses\":[\"10.1.2.2\"],\"conditions\":{\"ready\":true}}]}]";

static const char *PODS = "[{\"metadata\":{\"name\":\"w-0\",\"namespace\":\"ray\"},"
                          "\"spec\":{\"hostname\":\"w-0\",\"subdomain\":\"workers\"},\"status\":{"
                          "\"podIP\":\"10.1.2.1\"}}]";

/* One object projected as kind's informer would project it. */
static struct krc_object *project(enum krc_dns_kind kind, const char *json)
{
    size_t n;
    const char *const *paths = krc_dns_paths(kind, &n);
    struct krc_projection *p = NULL;
    struct krc_object *o = NULL;
    struct krc_error err = {0};
    assert_int_equal(krc_projection_new(paths, n, NULL, &p, &err), 0);
    assert_int_equal(krc_projection_parse_object(p, json, strlen(json), &o, &err), 0);
    krc_projection_free(p);
    return o;
}

/* A store snapshot of kind from a JSON array of objects, in the array's order. */
static void load(struct krc_object_list *out, enum krc_dns_kind kind, const char *array)
{
    json_error_t je;
    json_t *items = json_loads(array, 0, &je), *item;
    size_t i;
    assert_non_null(items);
    out->len = json_array_size(items);
    out->items = calloc(out->len ? out->len : 1, sizeof(*out->items));
    assert_non_null(out->items);
    json_array_foreach(items, i, item)
    {
        char *s = json_dumps(item, JSON_COMPACT);
        assert_non_null(s);
        out->items[i] = project(kind, s);
        free(s);
    }
    json_decref(items);
}

static char *hosts_of(const char *svcs, const char *slices, const char *pods, const char *ns)
{
    struct krc_object_list l[KRC_DNS_NKINDS];
    load(&l[KRC_DNS_SERVICES], KRC_DNS_SERVICES, svcs);
    load(&l[KRC_DNS_SLICES], KRC_DNS_SLICES, slices);
    load(&l[KRC_DNS_PODS], KRC_DNS_PODS, pods);
    struct krc_agent a;
    memset(&a, 0, sizeof(a));
    pthread_mutex_init(&a.mu, NULL);
    a.dns_records = krc_dns_compute(&l[KRC_DNS_SERVICES], &l[KRC_DNS_SLICES], &l[KRC_DNS_PODS]);
    assert_non_null(a.dns_records);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    assert_int_equal(krc_dns_hosts(&a, ns, "10.1.9.9", "me", &out), 0);
    json_decref(a.dns_records);
    for (int k = 0; k < KRC_DNS_NKINDS; k++)
        krc_object_list_release(&l[k]);
    pthread_mutex_destroy(&a.mu);
    return krc_strbuf_detach(&out);
}

static char *hosts_for(const char *ns)
{
    return hosts_of(SERVICES, SLICES, PODS, ns);
}

static void test_cluster_ip_service_resolves_to_one_ready_endpoint(void **state)
{
    (void)state;
    char *h = hosts_for("ray");
    assert_non_null(strstr(h, "10.1.1.3 head.ray.svc.cluster.local head.ray.svc head.ray head\n"));
    assert_null(strstr(h, "10.1.1.2 "));             /* not ready */
    assert_null(strstr(h, "10.1.1.4 head.ray.svc")); /* one address for a ClusterIP name */
    free(h);
}

static void test_headless_service_lists_every_ready_pod_and_per_pod_names(void **state)
{
    (void)state;
    char *h = hosts_for("ray");
    assert_non_null(strstr(h, "10.1.2.1 workers.ray.svc.cluster.local"));
    assert_non_null(strstr(h, "10.1.2.2 workers.ray.svc.cluster.local"));
    assert_non_null(strstr(h, "10.1.2.1 w-0.workers.ray.svc.cluster.local\n"));
    assert_null(strstr(h, "empty.ray")); /* no endpoints, no name */
    free(h);
}

static void test_short_names_only_in_the_pods_own_namespace(void **state)
{
    (void)state;
    char *h = hosts_for("other");
    assert_non_null(strstr(h, "10.1.1.3 head.ray.svc.cluster.local head.ray.svc head.ray\n"));
    assert_non_null(strstr(h, "10.1.9.9\tme\n"));
    free(h);
}

static void test_whole_hosts_file_is_unchanged_from_the_list_based_version(void **state)
{
    (void)state;
    char *h = hosts_for("ray");
    /* The records part, as the version that listed every 2 s wrote it for these lists. */
    const char *want =
        "10.1.1.3 head.ray.svc.cluster.local head.ray.svc head.ray head\n"
        "10.1.2.1 workers.ray.svc.cluster.local workers.ray.svc workers.ray workers\n"
        "10.1.2.2 workers.ray.svc.cluster.local workers.ray.svc workers.ray workers\n"
        "10.1.2.1 w-0.workers.ray.svc.cluster.local\n";
    size_t hl = strlen(h), wl = strlen(want);
    assert_true(hl >= wl);
    assert_string_equal(h + hl - wl, want);
    free(h);
}

#define HEADLESS(ns, name)                                                                         \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\"},\"spec\":{\"clusterIP\":"      \
    "\"None\"}}"
#define SLICE(ns, name, svc, ip, ready)                                                            \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\",\"labels\":{\"kubernetes.io/"   \
    "service-name\":\"" svc "\"}},\"endpoints\":[{\"addresses\":[\"" ip "\"],\"conditions\":{"     \
    "\"ready\":" ready "}}]}"
#define NAMED_POD(ns, name, ip)                                                                    \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns                                     \
    "\"},\"spec\":{\"hostname\":\"" name "\",\"subdomain\":\"s\"},\"status\":{\"podIP\":\"" ip     \
    "\"}}"

static void test_records_follow_the_list_order_whatever_order_the_store_gives(void **state)
{
    (void)state;
    /* etcd orders keys "ns/name" bytewise: "a-b/x" < "a/x" < "a/y" ('-' sorts before '/'). */
    char *h = hosts_of(
        "[" HEADLESS("a", "y") "," HEADLESS("a", "x") "," HEADLESS("a-b", "x") "]",
        "[" SLICE("a", "y-1", "y", "10.0.0.3",
                  "true") "," SLICE("a-b", "x-1", "x", "10.0.0.1",
                                    "true") "," SLICE("a", "x-1", "x", "10.0.0.2", "true") "]",
        "[" NAMED_POD("a", "p2", "10.0.1.2") "," NAMED_POD("a", "p1", "10.0.1.1") "]", "a");
    const char *x_ab = strstr(h, "10.0.0.1 x.a-b.svc"), *x_a = strstr(h, "10.0.0.2 x.a.svc");
    const char *y_a = strstr(h, "10.0.0.3 y.a.svc"), *p1 = strstr(h, "10.0.1.1 p1.s.a.svc");
    const char *p2 = strstr(h, "10.0.1.2 p2.s.a.svc");
    assert_non_null(x_ab);
    assert_non_null(x_a);
    assert_non_null(y_a);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_true(x_ab < x_a);
    assert_true(x_a < y_a);
    assert_true(y_a < p1); /* services first, then pods */
    assert_true(p1 < p2);
    free(h);
}

static void test_cluster_ip_takes_the_first_ready_address_by_slice_name(void **state)
{
    (void)state;
    char *h = hosts_of(
        "[{\"metadata\":{\"name\":\"h\",\"namespace\":\"n\"},\"spec\":{"
        "\"clusterIP\":\"10.96.0.1\"}}]",
        "[" SLICE("n", "h-b", "h", "10.0.0.2", "true") "," SLICE(
            "n", "h-a", "h", "10.0.0.1", "true") "," SLICE("n", "g-a", "g", "10.0.0.9", "true") "]",
        "[]", "n");
    assert_non_null(strstr(h, "10.0.0.1 h.n.svc.cluster.local h.n.svc h.n h\n"));
    assert_null(strstr(h, "10.0.0.2"));
    assert_null(strstr(h, "10.0.0.9")); /* another Service's slice */
    free(h);
}

static void test_publish_not_ready_addresses_lists_not_ready_endpoints(void **state)
{
    (void)state;
    char *h = hosts_of("[{\"metadata\":{\"name\":\"h\",\"namespace\":\"n\"},\"spec\":{"
                       "\"clusterIP\":\"None\",\"publishNotReadyAddresses\":true}},"
                       "{\"metadata\":{\"name\":\"g\",\"namespace\":\"n\"},\"spec\":{"
                       "\"clusterIP\":\"None\"}}]",
                       "[" SLICE("n", "h-a", "h", "10.0.0.1",
                                 "false") "," SLICE("n", "g-a", "g", "10.0.0.2", "false") "]",
                       "[]", "n");
    assert_non_null(strstr(h, "10.0.0.1 h.n.svc"));
    assert_null(strstr(h, "10.0.0.2"));
    free(h);
}

static void test_pod_being_deleted_or_without_ip_has_no_record(void **state)
{
    (void)state;
    char *h =
        hosts_of("[]", "[]",
                 "[{\"metadata\":{\"name\":\"d\",\"namespace\":\"n\",\"deletionTimestamp\":"
                 "\"2026-01-01T00:00:00Z\"},\"spec\":{\"hostname\":\"d\",\"subdomain\":\"s\"},"
                 "\"status\":{\"podIP\":\"10.0.0.1\"}},"
                 "{\"metadata\":{\"name\":\"e\",\"namespace\":\"n\"},\"spec\":{\"hostname\":"
                 "\"e\",\"subdomain\":\"s\"},\"status\":{}},"
                 "{\"metadata\":{\"name\":\"f\",\"namespace\":\"n\"},\"spec\":{\"hostname\":"
                 "\"f\"},\"status\":{\"podIP\":\"10.0.0.3\"}}]",
                 "n");
    assert_null(strstr(h, "svc.cluster.local"));
    free(h);
}

/* ---- relevance of watch events ---- */

#define POD_V(rv, extra, ip)                                                                       \
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"resourceVersion\":\"" rv "\"" extra       \
    "},\"spec\":{\"hostname\":\"p\",\"subdomain\":\"s\"},\"status\":{\"podIP\":\"" ip              \
    "\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"" rv "\"}]}}"
#define PLAIN_POD(rv)                                                                              \
    "{\"metadata\":{\"name\":\"q\",\"namespace\":\"n\",\"resourceVersion\":\"" rv "\"},"           \
    "\"status\":{\"podIP\":\"10.0.0." rv "\"}}"
#define DELETING ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\""
#define SVC_V(rv, labels, spec)                                                                    \
    "{\"metadata\":{\"name\":\"h\",\"namespace\":\"n\",\"resourceVersion\":\"" rv                  \
    "\",\"labels\":{" labels "}},\"spec\":{" spec "}}"
#define SLICE_V(rv, labels, ready)                                                                 \
    "{\"metadata\":{\"name\":\"h-a\",\"namespace\":\"n\",\"resourceVersion\":\"" rv                \
    "\",\"labels\":{" labels "}},\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],\"conditions\":{"    \
    "\"ready\":" ready "}}]}"
#define OWNED "\"kubernetes.io/service-name\":\"h\""

static const struct relevance_case {
    const char *what;
    enum krc_dns_kind kind;
    const char *old_json, *new_json; /* NULL: added / deleted */
    int want;
} RELEVANCE[] = {
    {"a pod without hostname and subdomain added", KRC_DNS_PODS, NULL, PLAIN_POD("1"), 0},
    {"a pod without hostname and subdomain changing its IP", KRC_DNS_PODS, PLAIN_POD("1"),
     PLAIN_POD("2"), 0},
    {"a named pod added", KRC_DNS_PODS, NULL, POD_V("1", "", "10.0.0.1"), 1},
    {"a named pod whose status conditions changed", KRC_DNS_PODS, POD_V("1", "", "10.0.0.1"),
     POD_V("2", "", "10.0.0.1"), 0},
    {"a named pod whose IP changed", KRC_DNS_PODS, POD_V("1", "", "10.0.0.1"),
     POD_V("2", "", "10.0.0.2"), 1},
    {"a named pod being deleted", KRC_DNS_PODS, POD_V("1", "", "10.0.0.1"),
     POD_V("2", DELETING, "10.0.0.1"), 1},
    {"a deleting pod gone", KRC_DNS_PODS, POD_V("2", DELETING, "10.0.0.1"), NULL, 0},
    {"a named pod gone", KRC_DNS_PODS, POD_V("1", "", "10.0.0.1"), NULL, 1},
    {"a service added", KRC_DNS_SERVICES, NULL, SVC_V("1", "", "\"clusterIP\":\"None\""), 1},
    {"a service deleted", KRC_DNS_SERVICES, SVC_V("1", "", "\"clusterIP\":\"None\""), NULL, 1},
    {"a service whose labels changed", KRC_DNS_SERVICES, SVC_V("1", "", "\"clusterIP\":\"None\""),
     SVC_V("2", "\"a\":\"b\"", "\"clusterIP\":\"None\""), 0},
    {"a service turned headless", KRC_DNS_SERVICES, SVC_V("1", "", "\"clusterIP\":\"10.96.0.1\""),
     SVC_V("2", "", "\"clusterIP\":\"None\""), 1},
    {"a service publishing not-ready addresses", KRC_DNS_SERVICES,
     SVC_V("1", "", "\"clusterIP\":\"None\""),
     SVC_V("2", "", "\"clusterIP\":\"None\",\"publishNotReadyAddresses\":true"), 1},
    {"a service's slice added", KRC_DNS_SLICES, NULL, SLICE_V("1", OWNED, "true"), 1},
    {"a slice of no service added", KRC_DNS_SLICES, NULL, SLICE_V("1", "", "true"), 0},
    {"a service's slice deleted", KRC_DNS_SLICES, SLICE_V("1", OWNED, "true"), NULL, 1},
    {"an endpoint turned not ready", KRC_DNS_SLICES, SLICE_V("1", OWNED, "true"),
     SLICE_V("2", OWNED, "false"), 1},
    {"a slice whose other labels changed", KRC_DNS_SLICES, SLICE_V("1", OWNED, "true"),
     SLICE_V("2", OWNED ",\"x\":\"y\"", "true"), 0},
    {"a slice moved to a service", KRC_DNS_SLICES, SLICE_V("1", "", "true"),
     SLICE_V("2", OWNED, "true"), 1},
};

static void test_only_changes_that_can_alter_records_are_relevant(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(RELEVANCE) / sizeof(RELEVANCE[0]); i++) {
        const struct relevance_case *c = &RELEVANCE[i];
        struct krc_object *o = c->old_json ? project(c->kind, c->old_json) : NULL;
        struct krc_object *n = c->new_json ? project(c->kind, c->new_json) : NULL;
        int got = krc_dns_relevant(c->kind, o, n);
        if (got != c->want)
            fail_msg("%s: relevant=%d, want %d", c->what, got, c->want);
        krc_object_unref(o);
        krc_object_unref(n);
    }
}

static void test_burst_is_recomputed_after_a_quiet_period_capped_from_its_first_change(void **state)
{
    (void)state;
    /* a lone change: after the quiet period */
    assert_int_equal(krc_dns_due_ms(1000, 1000), 1000 + KRC_DNS_QUIET_MS);
    /* a burst still going: the quiet period restarts with each change */
    assert_int_equal(krc_dns_due_ms(1000, 1100), 1100 + KRC_DNS_QUIET_MS);
    /* a change stream never quiet: at most KRC_DNS_MAX_DELAY_MS after the first */
    assert_int_equal(krc_dns_due_ms(1000, 1000 + KRC_DNS_MAX_DELAY_MS),
                     1000 + KRC_DNS_MAX_DELAY_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_ip_service_resolves_to_one_ready_endpoint),
        cmocka_unit_test(test_headless_service_lists_every_ready_pod_and_per_pod_names),
        cmocka_unit_test(test_short_names_only_in_the_pods_own_namespace),
        cmocka_unit_test(test_whole_hosts_file_is_unchanged_from_the_list_based_version),
        cmocka_unit_test(test_records_follow_the_list_order_whatever_order_the_store_gives),
        cmocka_unit_test(test_cluster_ip_takes_the_first_ready_address_by_slice_name),
        cmocka_unit_test(test_publish_not_ready_addresses_lists_not_ready_endpoints),
        cmocka_unit_test(test_pod_being_deleted_or_without_ip_has_no_record),
        cmocka_unit_test(test_only_changes_that_can_alter_records_are_relevant),
        cmocka_unit_test(
            test_burst_is_recomputed_after_a_quiet_period_capped_from_its_first_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
