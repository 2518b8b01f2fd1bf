/* itest_pod.h - test helpers for integration tests that need one running pod on a node agent: a
 * client from $KUBECONFIG, a fresh namespace, and a pod created in it (after the namespace's
 * default ServiceAccount exists: until the controller-manager makes it, ServiceAccount admission
 * refuses pods with 403) and waited for until Running. Header-only, for tests. */
#ifndef KRC_TEST_ITEST_POD_H
#define KRC_TEST_ITEST_POD_H

#include "kube/client.h"
#include "kube/config.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ITEST_POD_READY_MS            120000
#define ITEST_SERVICE_ACCOUNT_WAIT_MS 30000
#define ITEST_POLL_MS                 500

static const struct krc_resource itest_namespaces = {"", "v1", "namespaces", 0};
static const struct krc_resource itest_pods = {"", "v1", "pods", 1};

static void itest_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A client from $KUBECONFIG and a new namespace "<prefix>-<pid>" (written to ns). 0 or -1. */
static int itest_client_and_namespace(const char *prefix, struct krc_client **client, char *ns,
                                      size_t ns_size)
{
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    struct krc_client_options opts = {.qps = -1};
    char body[256];
    if (krc_kubeconfig_load(&cfg, NULL, &err) != 0) {
        fprintf(stderr, "kubeconfig: %s\n", err.msg);
        return -1;
    }
    int rc = krc_client_new(&cfg, &opts, client, &err);
    krc_kubeconfig_free(&cfg);
    if (rc) {
        fprintf(stderr, "client: %s\n", err.msg);
        return -1;
    }
    snprintf(ns, ns_size, "%s-%ld", prefix, (long)getpid());
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    if (krc_client_create(*client, &itest_namespaces, NULL, body, strlen(body), NULL, NULL, &err) !=
        0) {
        fprintf(stderr, "namespace: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int itest_pod_running(struct krc_client *client, const char *ns, const char *name)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    json_t *doc = NULL;
    int running = 0;
    if (krc_client_get(client, &itest_pods, ns, name, &body, &err) == 0 &&
        krc_client_parse_json(&body, &doc, &err) == 0) {
        const char *phase =
            json_string_value(json_object_get(json_object_get(doc, "status"), "phase"));
        running = phase && strcmp(phase, "Running") == 0;
    }
    json_decref(doc);
    krc_strbuf_release(&body);
    return running;
}

/* Creates the pod (body: its JSON, metadata.name = name) in ns and waits until it runs. 0 or -1. */
static int itest_run_pod(struct krc_client *client, const char *ns, const char *name,
                         const char *body)
{
    struct krc_error err = {0, ""};
    for (long waited = 0;; waited += ITEST_POLL_MS) {
        int rc = krc_client_create(client, &itest_pods, ns, body, strlen(body), NULL, NULL, &err);
        if (rc == 0)
            break;
        if (rc != KRC_EFORBIDDEN || !strstr(err.msg, "serviceaccount") ||
            waited > ITEST_SERVICE_ACCOUNT_WAIT_MS) {
            fprintf(stderr, "pod: %s\n", err.msg);
            return -1;
        }
        itest_sleep_ms(ITEST_POLL_MS);
    }
    for (long waited = 0; !itest_pod_running(client, ns, name); waited += ITEST_POLL_MS) {
        if (waited > ITEST_POD_READY_MS) {
            fprintf(stderr, "pod %s/%s is not Running after %d ms\n", ns, name, ITEST_POD_READY_MS);
            return -1;
        }
        itest_sleep_ms(ITEST_POLL_MS);
    }
    return 0;
}

/* Deletes the namespace (in the background) and frees the client. */
static void itest_cleanup(struct krc_client *client, const char *ns)
{
    struct krc_error err = {0, ""};
    struct krc_delete_opts del = {.propagation_policy = "Background"};
    if (!client)
        return;
    (void)krc_client_delete(client, &itest_namespaces, NULL, ns, &del, NULL, &err);
    krc_client_free(client);
}

#endif
