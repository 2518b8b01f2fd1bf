/* Unit tests of the node agent's cluster DNS (src/node/dns.c): which names a pod's /etc/hosts
 * lists for Services (ClusterIP and headless, ready and not-ready endpoints) and for pods with a
 * hostname and subdomain. Pure: lists given as JSON, no API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "node/agent.h"

static const char *SERVICES =
    "{\"items\":["
    "{\"metadata\":{\"name\":\"head\",\"namespace\":\"ray\"},\"spec\":{\"clusterIP\":\"10.96.0.9\"}"
    "},"
    "{\"metadata\":{\"name\":\"workers\",\"namespace\":\"ray\"},\"spec\":{\"clusterIP\":\"None\"}},"
    "{\"metadata\":{\"name\":\"empty\",\"namespace\":\"ray\"},\"spec\":{\"clusterIP\":\"None\"}}]}";

static const char *SLICES =
    "{\"items\":["
    "{\"metadata\":{\"namespace\":\"ray\",\"labels\":{\"kubernetes.io/service-name\":\"head\"}},"
    " \"endpoints\":[{\"addresses\":[\"10.1.1.2\"],\"conditions\":{\"ready\":false}},"
    "                {\"addresses\":[\"10.1.1.3\"],\"conditions\":{\"ready\":true}},"
    "                {\"addresses\":[\"10.1.1.4\"],\"conditions\":{\"ready\":true}}]},"
    "{\"metadata\":{\"namespace\":\"ray\",\"labels\":{\"kubernetes.io/service-name\":\"workers\"}},"
    " \"endpoints\":[{\"addresses\":[\"10.1.2.1\"],\"conditions\":{\"ready\":true}},"
    "                {\"addresses\":[\"10.1.2.2\"],\"conditions\":{\"ready\":true}}]}]}";

static const char *PODS = "{\"items\":[{\"metadata\":{\"name\":\"w-0\",\"namespace\":\"ray\"},"
                          "\"spec\":{\"hostname\":\"w-0\",\"subdomain\":\"workers\"},\"status\":{"
                          "\"podIP\":\"10.1.2.1\"}}]}";

static char *hosts_for(const char *ns)
{
    json_error_t je;
    json_t *svcs = json_loads(SERVICES, 0, &je), *slices = json_loads(SLICES, 0, &je),
           *pods = json_loads(PODS, 0, &je);
    assert_non_null(svcs);
    assert_non_null(slices);
    assert_non_null(pods);
    struct krc_agent a;
    memset(&a, 0, sizeof(a));
    pthread_mutex_init(&a.mu, NULL);
    a.dns_records = krc_dns_compute(svcs, slices, pods);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    assert_int_equal(krc_dns_hosts(&a, ns, "10.1.9.9", "me", &out), 0);
    json_decref(a.dns_records);
    json_decref(svcs);
    json_decref(slices);
    json_decref(pods);
    pthread_mutex_destroy(&a.mu);
    return krc_strbuf_detach(&out);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_ip_service_resolves_to_one_ready_endpoint),
        cmocka_unit_test(test_headless_service_lists_every_ready_pod_and_per_pod_names),
        cmocka_unit_test(test_short_names_only_in_the_pods_own_namespace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
