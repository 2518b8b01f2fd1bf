/* Integration test of kube/exec (pods/exec over WebSocket) against the real control plane and a
 * node agent: a pod runs on the node (it tolerates the agent's taint kuberay-c.io/node-agent),
 * then commands run in it through the API server, which upgrades the request and relays it to the
 * node. Checks stdout and stderr byte for byte (a large output too, which spans many frames), the
 * exit code, and the errors for a missing pod and a missing executable. Exit 77 (skipped) without
 * KUBECONFIG. Works in a namespace of its own and deletes it. */
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
#include "kube/exec.h"
#include "util/strbuf.h"

#define POD                     "exec-target"
#define AGENT_TAINT             "kuberay-c.io/node-agent"
#define POD_READY_MS            120000
#define SERVICE_ACCOUNT_WAIT_MS 30000
#define EXEC_TIMEOUT_MS         60000
#define BIG_OUTPUT_BYTES        3000000 /* several MiB: many WebSocket frames */

static const struct krc_resource namespaces = {"", "v1", "namespaces", 0};
static const struct krc_resource pods = {"", "v1", "pods", 1};

static struct krc_client *client;
static char ns[64];

struct output {
    struct krc_strbuf out, err;
};

static int collect(void *ctx, int channel, const char *data, size_t len)
{
    struct output *o = ctx;
    return krc_strbuf_add(channel == KRC_EXEC_STDOUT ? &o->out : &o->err, data, len);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs argv in the pod; returns krc_exec's code and fills out and res. */
static int run(const char *pod, const char *const *argv, size_t argc, struct output *out,
               struct krc_exec_result *res, struct krc_error *err)
{
    struct krc_exec_opts o = {.ns = ns,
                              .pod = pod,
                              .container = "main",
                              .argv = argv,
                              .argc = argc,
                              .want_stderr = 1,
                              .on_output = collect,
                              .ctx = out,
                              .timeout_ms = EXEC_TIMEOUT_MS};
    krc_strbuf_init(&out->out, 0);
    krc_strbuf_init(&out->err, 0);
    return krc_exec(client, &o, res, err);
}

static void release(struct output *out)
{
    krc_strbuf_release(&out->out);
    krc_strbuf_release(&out->err);
}

static int pod_running(void)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    json_t *doc = NULL;
    int running = 0;
    if (krc_client_get(client, &pods, ns, POD, &body, &err) == 0 &&
        krc_client_parse_json(&body, &doc, &err) == 0) {
        const char *phase =
            json_string_value(json_object_get(json_object_get(doc, "status"), "phase"));
        running = phase && strcmp(phase, "Running") == 0;
    }
    json_decref(doc);
    krc_strbuf_release(&body);
    return running;
}

static int group_setup(void **state)
{
    (void)state;
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    struct krc_client_options opts = {.qps = -1};
    char body[1024];
    if (krc_kubeconfig_load(&cfg, NULL, &err) != 0) {
        fprintf(stderr, "kubeconfig: %s\n", err.msg);
        return -1;
    }
    int rc = krc_client_new(&cfg, &opts, &client, &err);
    krc_kubeconfig_free(&cfg);
    if (rc) {
        fprintf(stderr, "client: %s\n", err.msg);
        return -1;
    }
    snprintf(ns, sizeof(ns), "krc-itest-exec-%ld", (long)getpid());
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    if (krc_client_create(client, &namespaces, NULL, body, strlen(body), NULL, NULL, &err) != 0) {
        fprintf(stderr, "namespace: %s\n", err.msg);
        return -1;
    }
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" POD "\"},"
             "\"spec\":{\"terminationGracePeriodSeconds\":1,"
             "\"tolerations\":[{\"key\":\"" AGENT_TAINT "\",\"operator\":\"Exists\"}],"
             "\"containers\":[{\"name\":\"main\",\"image\":\"busybox\","
             "\"command\":[\"sleep\",\"3600\"]}]}}");
    /* A new namespace's default ServiceAccount is made by the controller-manager a moment later;
     * until then the API server's ServiceAccount admission refuses pods (403). */
    for (long waited = 0;; waited += 500) {
        rc = krc_client_create(client, &pods, ns, body, strlen(body), NULL, NULL, &err);
        if (rc == 0)
            break;
        if (rc != KRC_EFORBIDDEN || !strstr(err.msg, "serviceaccount") ||
            waited > SERVICE_ACCOUNT_WAIT_MS) {
            fprintf(stderr, "pod: %s\n", err.msg);
            return -1;
        }
        sleep_ms(500);
    }
    for (long waited = 0; !pod_running(); waited += 500) {
        if (waited > POD_READY_MS) {
            fprintf(stderr, "pod %s/%s is not Running after %d ms\n", ns, POD, POD_READY_MS);
            return -1;
        }
        sleep_ms(500);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    struct krc_error err = {0, ""};
    struct krc_delete_opts del = {.propagation_policy = "Background"};
    if (client) {
        (void)krc_client_delete(client, &namespaces, NULL, ns, &del, NULL, &err);
        krc_client_free(client);
    }
    return 0;
}

static void test_stdout_stderr_and_exit_code_arrive_apart(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "printf 'to out\\n'; printf 'to err\\n' >&2; exit 3"};
    struct output out;
    struct krc_exec_result res;
    struct krc_error err = {0, ""};
    int rc = run(POD, argv, 3, &out, &res, &err);
    if (rc)
        fail_msg("exec: %d %s", rc, err.msg);
    assert_string_equal(out.out.buf, "to out\n");
    assert_string_equal(out.err.buf, "to err\n");
    assert_int_equal(res.exit_code, 3);
    print_message("subprotocol: %s\n", res.protocol);
    assert_true(strcmp(res.protocol, "v5.channel.k8s.io") == 0 ||
                strcmp(res.protocol, "v4.channel.k8s.io") == 0);
    release(&out);
}

static void test_success_is_exit_code_zero(void **state)
{
    (void)state;
    const char *argv[] = {"true"};
    struct output out;
    struct krc_exec_result res;
    struct krc_error err = {0, ""};
    int rc = run(POD, argv, 1, &out, &res, &err);
    if (rc)
        fail_msg("exec: %d %s", rc, err.msg);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(out.out.len, 0);
    release(&out);
}

static void test_large_output_arrives_whole(void **state)
{
    (void)state;
    char script[128];
    snprintf(script, sizeof(script), "head -c %d /dev/zero | tr '\\0' 'x'", BIG_OUTPUT_BYTES);
    const char *argv[] = {"sh", "-c", script};
    struct output out;
    struct krc_exec_result res;
    struct krc_error err = {0, ""};
    int rc = run(POD, argv, 3, &out, &res, &err);
    if (rc)
        fail_msg("exec: %d %s", rc, err.msg);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(out.out.len, BIG_OUTPUT_BYTES);
    for (size_t i = 0; i < out.out.len; i++)
        if (out.out.buf[i] != 'x')
            fail_msg("byte %zu is %d, not 'x'", i, out.out.buf[i]);
    release(&out);
}

static void test_missing_pod_is_not_found(void **state)
{
    (void)state;
    const char *argv[] = {"true"};
    struct output out;
    struct krc_exec_result res;
    struct krc_error err = {0, ""};
    assert_int_equal(run("no-such-pod", argv, 1, &out, &res, &err), KRC_ENOTFOUND);
    assert_int_equal(res.exit_code, -1);
    release(&out);
}

static void test_missing_executable_is_an_error_not_an_exit_code(void **state)
{
    (void)state;
    const char *argv[] = {"/no/such/executable"};
    struct output out;
    struct krc_exec_result res;
    struct krc_error err = {0, ""};
    int rc = run(POD, argv, 1, &out, &res, &err);
    print_message("missing executable: rc %d, exit code %d, %s\n", rc, res.exit_code, err.msg);
    /* Either the server refuses to start it (an error Status), or the node's runtime reports the
     * shell's 126/127; never a success. */
    if (rc == 0)
        assert_true(res.exit_code == 126 || res.exit_code == 127);
    else
        assert_int_equal(rc, KRC_EIO);
    release(&out);
}

int main(void)
{
    if (!getenv("KUBECONFIG") || !*getenv("KUBECONFIG")) {
        fprintf(stderr, "KUBECONFIG not set: skipping\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdout_stderr_and_exit_code_arrive_apart),
        cmocka_unit_test(test_success_is_exit_code_zero),
        cmocka_unit_test(test_large_output_arrives_whole),
        cmocka_unit_test(test_missing_pod_is_not_found),
        cmocka_unit_test(test_missing_executable_is_an_error_not_an_exit_code),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
