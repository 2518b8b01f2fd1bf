/* Integration test of kube/portforward (pods/portforward over a WebSocket carrying SPDY/3.1)
 * against the real control plane and a node agent: a pod (tolerating the agent's taint
 * kuberay-c.io/node-agent) runs `python3 -m http.server`; an HTTP GET sent through a forwarded
 * connection must come back with the server's page, also through krc_portforward_pipe from a
 * local socket pair; a port nothing listens on must give the node's error; a missing pod
 * KRC_ENOTFOUND. Exit 77 (skipped) without KUBECONFIG. Works in a namespace of its own and
 * deletes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "itest_pod.h"
#include "kube/client.h"
#include "kube/portforward.h"
#include "util/strbuf.h"

#define POD           "pf-target"
#define AGENT_TAINT   "kuberay-c.io/node-agent"
#define PORT          8080
#define PORT_STR      "8080"
#define CLOSED_PORT   8081
#define SERVER_UP_MS  60000
#define IO_TIMEOUT_MS 30000
#define REQUEST       "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"
#define PAGE_MARK     "Directory listing for /"

static struct krc_client *client;
static char ns[64];

/* One GET through a fresh forwarded connection: krc_portforward_read's codes, the answer in out. */
static int get_page(int port, struct krc_strbuf *out, struct krc_error *err)
{
    struct krc_portforward_opts o = {
        .ns = ns, .pod = POD, .port = port, .timeout_ms = IO_TIMEOUT_MS};
    struct krc_portforward *pf;
    char buf[4096];
    long n;
    int rc = krc_portforward_open(client, &o, &pf, err);
    if (rc)
        return rc;
    rc = krc_portforward_write(pf, REQUEST, strlen(REQUEST), err);
    while (!rc && (n = krc_portforward_read(pf, buf, sizeof(buf), IO_TIMEOUT_MS, err)) != 0) {
        if (n < 0)
            rc = (int)n;
        else if (krc_strbuf_add(out, buf, (size_t)n))
            rc = KRC_ENOMEM;
    }
    krc_portforward_free(pf);
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    char body[1024];
    if (itest_client_and_namespace("krc-itest-pf", &client, ns, sizeof(ns)) != 0)
        return -1;
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" POD "\"},"
             "\"spec\":{\"terminationGracePeriodSeconds\":1,"
             "\"tolerations\":[{\"key\":\"" AGENT_TAINT "\",\"operator\":\"Exists\"}],"
             "\"containers\":[{\"name\":\"main\",\"image\":\"python\","
             "\"command\":[\"python3\",\"-m\",\"http.server\",\"" PORT_STR "\"]}]}}");
    return itest_run_pod(client, ns, POD, body);
}

static int group_teardown(void **state)
{
    (void)state;
    itest_cleanup(client, ns);
    client = NULL;
    return 0;
}

static void test_get_through_the_forward_returns_the_page(void **state)
{
    (void)state;
    struct krc_strbuf page = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    int rc = -1;
    /* the pod is Running before python has bound its port: retry while the node refuses */
    for (long waited = 0; waited < SERVER_UP_MS; waited += 500) {
        krc_strbuf_reset(&page);
        if ((rc = get_page(PORT, &page, &err)) == 0)
            break;
        print_message("not yet: %s\n", err.msg);
        itest_sleep_ms(500);
    }
    if (rc)
        fail_msg("port-forward GET: %d %s", rc, err.msg);
    assert_true(strncmp(page.buf, "HTTP/1.0 200", 12) == 0);
    assert_non_null(strstr(page.buf, PAGE_MARK));
    krc_strbuf_release(&page);
}

static void test_pipe_copies_a_local_socket_both_ways(void **state)
{
    (void)state;
    struct krc_portforward_opts o = {
        .ns = ns, .pod = POD, .port = PORT, .timeout_ms = IO_TIMEOUT_MS};
    struct krc_portforward *pf;
    struct krc_error err = {0, ""};
    struct krc_strbuf page = KRC_STRBUF_INIT;
    int sv[2];
    char buf[4096];
    ssize_t n;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    /* the request waits in the socket buffer; the pipe sends it, then copies the answer back */
    assert_int_equal(write(sv[0], REQUEST, strlen(REQUEST)), (ssize_t)strlen(REQUEST));
    int rc = krc_portforward_open(client, &o, &pf, &err);
    if (rc)
        fail_msg("open: %d %s", rc, err.msg);
    rc = krc_portforward_pipe(pf, sv[1], &err);
    if (rc)
        fail_msg("pipe: %d %s", rc, err.msg);
    krc_portforward_free(pf);
    close(sv[1]);
    while ((n = read(sv[0], buf, sizeof(buf))) > 0)
        assert_int_equal(krc_strbuf_add(&page, buf, (size_t)n), 0);
    close(sv[0]);
    assert_non_null(strstr(page.buf, PAGE_MARK));
    krc_strbuf_release(&page);
}

static void test_closed_port_is_the_nodes_error(void **state)
{
    (void)state;
    struct krc_strbuf page = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    int rc = get_page(CLOSED_PORT, &page, &err);
    print_message("closed port: %d %s\n", rc, err.msg);
    assert_int_equal(rc, KRC_EIO);
    assert_int_equal(page.len, 0);
    krc_strbuf_release(&page);
}

static void test_missing_pod_is_not_found(void **state)
{
    (void)state;
    struct krc_portforward_opts o = {
        .ns = ns, .pod = "no-such-pod", .port = PORT, .timeout_ms = IO_TIMEOUT_MS};
    struct krc_portforward *pf = NULL;
    struct krc_error err = {0, ""};
    assert_int_equal(krc_portforward_open(client, &o, &pf, &err), KRC_ENOTFOUND);
    assert_null(pf);
}

int main(void)
{
    if (!getenv("KUBECONFIG") || !*getenv("KUBECONFIG")) {
        fprintf(stderr, "KUBECONFIG not set: skipping\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_through_the_forward_returns_the_page),
        cmocka_unit_test(test_pipe_copies_a_local_socket_both_ways),
        cmocka_unit_test(test_closed_port_is_the_nodes_error),
        cmocka_unit_test(test_missing_pod_is_not_found),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
