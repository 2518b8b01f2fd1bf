/* informer_bench.c - what an informer over pods costs: memory per cached pod and list speed.
 *
 * Runs one informer over pods (the projection a Ray operator would declare, the ray.io/cluster
 * index), waits until it has synced and prints one line:
 *   informer: pods=N rss_kb=N baseline_rss_kb=N cache_bytes_per_pod=N list_objects_per_s=N
 * baseline_rss_kb is the process's resident size with its libraries loaded and the API client
 * made, before the informer starts; rss_kb is after the sync (with --watch-s, after watching that
 * long too). cache_bytes_per_pod is what the store holds (objects, entries, buckets, indexes;
 * krc_store_bytes) divided by the pods; malloc's overhead shows only in rss_kb.
 *
 * Usage: informer_bench [--namespace NS] [--selector LABELS] [--page-size N] [--expect N]
 *                       [--watch-s S] [--timeout-s S]
 * --expect N makes the run fail (exit 1) unless at least N pods were cached. Reads $KUBECONFIG.
 * Build it without sanitizers (a Release build) for meaningful memory numbers. */
#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RAY_CLUSTER_LABEL "ray.io/cluster"

/* What a Ray operator reads from its pods. */
static const char *const pod_paths[] = {
    "metadata.creationTimestamp", "metadata.annotations",     "spec.nodeName", "status.phase",
    "status.conditions",          "status.containerStatuses", "status.podIP",
};

static long rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: informer_bench [--namespace NS] [--selector LABELS] [--page-size N] "
                    "[--expect N] [--watch-s S] [--timeout-s S]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *ns = NULL, *selector = NULL;
    long long page_size = 0, expect = 0;
    long watch_s = 0, timeout_s = 600;
    struct krc_kubeconfig cfg;
    struct krc_client *client = NULL;
    struct krc_informer *inf = NULL;
    struct krc_error err = {0};
    struct krc_client_options copts = {.qps = -1};
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        if (strcmp(argv[i], "--namespace") == 0)
            ns = v;
        else if (strcmp(argv[i], "--selector") == 0)
            selector = v;
        else if (strcmp(argv[i], "--page-size") == 0)
            page_size = atoll(v);
        else if (strcmp(argv[i], "--expect") == 0)
            expect = atoll(v);
        else if (strcmp(argv[i], "--watch-s") == 0)
            watch_s = atol(v);
        else if (strcmp(argv[i], "--timeout-s") == 0)
            timeout_s = atol(v);
        else
            return usage();
        i++;
    }
    krc_log_configure(KRC_LOG_WARN, KRC_LOG_FORMAT_TEXT, 2);
    if (krc_kubeconfig_load_default(&cfg, NULL, &err) != 0) {
        fprintf(stderr, "informer_bench: %s\n", err.msg);
        return 1;
    }
    rc = krc_client_new(&cfg, &copts, &client, &err);
    krc_kubeconfig_free(&cfg);
    if (rc != 0) {
        fprintf(stderr, "informer_bench: %s\n", err.msg);
        return 1;
    }
    long baseline = rss_kb();

    struct krc_informer_options o = {
        .resource = KRC_RESOURCE("", "v1", "pods", 1),
        .namespace = ns,
        .label_selector = selector,
        .paths = pod_paths,
        .npaths = sizeof(pod_paths) / sizeof(pod_paths[0]),
        .index_label = RAY_CLUSTER_LABEL,
        .page_size = page_size,
    };
    rc = krc_informer_new(client, &o, &inf, &err);
    if (rc == 0)
        rc = krc_informer_start(inf, &err);
    if (rc != 0) {
        fprintf(stderr, "informer_bench: %s\n", err.msg);
        goto out;
    }
    double t0 = now_s();
    rc = krc_informer_wait_synced(inf, timeout_s * 1000);
    double took = now_s() - t0;
    if (rc != 0) {
        fprintf(stderr, "informer_bench: not synced after %ld s: %s\n", timeout_s,
                krc_strerror(rc));
        goto out;
    }
    if (watch_s > 0) {
        struct timespec ts = {watch_s, 0};
        nanosleep(&ts, NULL);
    }
    struct krc_store *store = krc_informer_store(inf);
    size_t pods = krc_store_len(store);
    size_t bytes = krc_store_bytes(store);
    printf("informer: pods=%zu rss_kb=%ld baseline_rss_kb=%ld cache_bytes_per_pod=%zu "
           "list_objects_per_s=%.0f\n",
           pods, rss_kb(), baseline, pods ? bytes / pods : 0, took > 0 ? (double)pods / took : 0.0);
    fflush(stdout);
    rc = (long long)pods >= expect ? 0 : 1;
    if (rc)
        fprintf(stderr, "informer_bench: %zu pods cached, expected at least %lld\n", pods, expect);
out:
    krc_informer_free(inf);
    krc_client_free(client);
    return rc;
}
