/* informer_bench.c - what an informer over pods costs: memory per cached pod, list and watch speed.
 *
 * Runs one informer over pods (the projection a Ray operator would declare, the ray.io/cluster
 * index), waits until it has synced and prints one line:
 *   informer: pods=N rss_kb=N baseline_rss_kb=N cache_bytes_per_pod=N list_objects_per_s=N
 * With --churn N it then measures watch-event handling: it starts a copy of itself in --patch
 * mode (a separate process, so its CPU is not counted here), which merge-patches an annotation of
 * the pods N times from PATCH_THREADS threads, and prints, before the line above,
 *   informer-watch: events=N events_per_s=N cpu_seconds=S events_per_cpu_s=N
 * timed from the first to the Nth update event the informer delivered; cpu_seconds is this
 * process's user+system time over that window (all threads), so events_per_cpu_s is what the
 * informer could handle with one core, while events_per_s is bounded by how fast the API server
 * accepts the patches on this machine. list_cpu_seconds is this process's CPU time up to the sync
 * (the generator is a child, so a timer of the whole run would count its CPU too).
 * baseline_rss_kb is the process's resident size with its libraries loaded and the API client
 * made, before the informer starts; rss_kb is after the sync (with --watch-s, after watching that
 * long too). cache_bytes_per_pod is what the store holds (objects, entries, buckets, indexes;
 * krc_store_bytes) divided by the pods; malloc's overhead shows only in rss_kb.
 *
 * Usage: informer_bench [--namespace NS] [--selector LABELS] [--page-size N] [--expect N]
 *                       [--watch-s S] [--timeout-s S] [--churn N]
 *        informer_bench --patch N --namespace NS   (the churn generator)
 * --expect N makes the run fail (exit 1) unless at least N pods were cached. Reads $KUBECONFIG.
 * Build it without sanitizers (a Release build) for meaningful memory numbers. */
#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#define RAY_CLUSTER_LABEL "ray.io/cluster"
#define CHURN_ANNOTATION  "bench.kuberay-c.io/seq"

enum {
    PATCH_THREADS = 8,  /* concurrent PATCHes of the churn generator */
    PATCH_PODS = 500,   /* distinct pods it patches, round-robin */
    NAME_MAX_LEN = 254, /* a pod name, with its NUL */
    POLL_MS = 10,       /* how often the main thread looks at the event count */
};

extern char **environ;

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

static double cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int usage(void)
{
    fprintf(stderr, "usage: informer_bench [--namespace NS] [--selector LABELS] [--page-size N] "
                    "[--expect N] [--watch-s S] [--timeout-s S] [--churn N]\n"
                    "       informer_bench --patch N --namespace NS\n");
    return 2;
}

/* ---- the churn generator (--patch) ---- */

struct patcher {
    struct krc_client *client;
    const char *ns;
    char (*names)[NAME_MAX_LEN];
    size_t nnames;
    atomic_long next; /* the next patch number to send */
    long total;
    atomic_int failed;
};

static void *patch_loop(void *arg)
{
    struct patcher *p = arg;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    const struct krc_resource pods = KRC_RESOURCE("", "v1", "pods", 1);
    char body[128];
    long i;
    while ((i = atomic_fetch_add(&p->next, 1)) < p->total && !atomic_load(&p->failed)) {
        struct krc_error err = {0};
        int n = snprintf(body, sizeof(body),
                         "{\"metadata\":{\"annotations\":{\"" CHURN_ANNOTATION "\":\"%ld\"}}}", i);
        if (krc_client_patch(p->client, &pods, p->ns, p->names[(size_t)i % p->nnames], NULL,
                             KRC_PATCH_MERGE, body, (size_t)n, NULL, &out, &err) != 0) {
            fprintf(stderr, "informer_bench: %s\n", err.msg);
            atomic_store(&p->failed, 1);
        }
    }
    krc_strbuf_release(&out);
    return NULL;
}

/* Patches up to PATCH_PODS pods of ns, total times in all, from PATCH_THREADS threads. */
static int run_patcher(struct krc_client *client, const char *ns, long total)
{
    const struct krc_resource pods = KRC_RESOURCE("", "v1", "pods", 1);
    struct krc_list_opts lo = {.limit = PATCH_PODS};
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    struct patcher p = {.client = client, .ns = ns, .total = total};
    pthread_t th[PATCH_THREADS];
    int nth = 0, rc = 1;
    json_t *doc = NULL;

    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    if (krc_client_list(client, &pods, ns, &lo, &out, &err) != 0 ||
        krc_client_parse_json(&out, &doc, &err) != 0) {
        fprintf(stderr, "informer_bench: %s\n", err.msg);
        goto out;
    }
    json_t *items = json_object_get(doc, "items");
    p.names = calloc(json_array_size(items) + 1, sizeof(*p.names));
    if (!p.names) {
        fprintf(stderr, "informer_bench: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *name = json_string_value(
            json_object_get(json_object_get(json_array_get(items, i), "metadata"), "name"));
        if (name)
            snprintf(p.names[p.nnames++], NAME_MAX_LEN, "%s", name);
    }
    if (p.nnames == 0) {
        fprintf(stderr, "informer_bench: no pods to patch in %s\n", ns);
        goto out;
    }
    for (; nth < PATCH_THREADS; nth++)
        if (pthread_create(&th[nth], NULL, patch_loop, &p) != 0) {
            fprintf(stderr, "informer_bench: pthread_create failed\n");
            break;
        }
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    rc = nth > 0 && !atomic_load(&p.failed) ? 0 : 1;
out:
    json_decref(doc);
    free(p.names);
    krc_strbuf_release(&out);
    return rc;
}

/* ---- watch-event measurement (--churn) ---- */

struct churn {
    long target;
    atomic_long updates;
    double t_first, cpu_first; /* at the first update event */
    double t_last, cpu_last;   /* at the target-th */
    atomic_int armed;          /* counting starts when the generator does */
    atomic_int done;
};

static void on_update(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj)
{
    (void)old_obj;
    (void)new_obj;
    struct churn *c = ctx;
    if (!atomic_load(&c->armed))
        return;
    long n = atomic_fetch_add(&c->updates, 1) + 1;
    if (n == 1) {
        c->t_first = now_s();
        c->cpu_first = cpu_s();
    }
    if (n == c->target) {
        c->t_last = now_s();
        c->cpu_last = cpu_s();
        atomic_store(&c->done, 1);
    }
}

/* Starts the generator, waits for its events, prints the informer-watch line. */
static int measure_churn(struct churn *c, const char *ns, long timeout_s, double list_cpu)
{
    char count[32], exe[] = "/proc/self/exe";
    char *argv[] = {exe, "--patch", count, "--namespace", (char *)(uintptr_t)ns, NULL};
    pid_t pid;
    int status = 0, rc;

    snprintf(count, sizeof(count), "%ld", c->target);
    atomic_store(&c->armed, 1);
    rc = posix_spawn(&pid, exe, NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "informer_bench: cannot start the churn generator: %s\n", strerror(rc));
        return 1;
    }
    double deadline = now_s() + (double)timeout_s;
    while (!atomic_load(&c->done) && now_s() < deadline)
        sleep_ms(POLL_MS);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!atomic_load(&c->done)) {
        fprintf(stderr, "informer_bench: %ld of %ld update events after %ld s\n",
                atomic_load(&c->updates), c->target, timeout_s);
        return 1;
    }
    double took = c->t_last - c->t_first, cpu = c->cpu_last - c->cpu_first;
    printf("informer-watch: events=%ld events_per_s=%.0f cpu_seconds=%.2f events_per_cpu_s=%.0f "
           "list_cpu_seconds=%.2f\n",
           c->target, took > 0 ? (double)(c->target - 1) / took : 0.0, cpu,
           cpu > 0 ? (double)(c->target - 1) / cpu : 0.0, list_cpu);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *ns = NULL, *selector = NULL;
    long long page_size = 0, expect = 0;
    long watch_s = 0, timeout_s = 600, churn_n = 0, patch_n = 0;
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
        else if (strcmp(argv[i], "--churn") == 0)
            churn_n = atol(v);
        else if (strcmp(argv[i], "--patch") == 0)
            patch_n = atol(v);
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
    if (patch_n > 0) {
        rc = ns ? run_patcher(client, ns, patch_n) : usage();
        krc_client_free(client);
        return rc;
    }
    long baseline = rss_kb();
    struct churn churn = {.target = churn_n};
    atomic_init(&churn.updates, 0);
    atomic_init(&churn.done, 0);
    atomic_init(&churn.armed, 0);

    struct krc_informer_options o = {
        .resource = KRC_RESOURCE("", "v1", "pods", 1),
        .namespace = ns,
        .label_selector = selector,
        .paths = pod_paths,
        .npaths = sizeof(pod_paths) / sizeof(pod_paths[0]),
        .index_label = RAY_CLUSTER_LABEL,
        .page_size = page_size,
    };
    struct krc_informer_handlers handlers = {.on_update = on_update, .ctx = &churn};
    rc = krc_informer_new(client, &o, &inf, &err);
    if (rc == 0 && churn_n > 0)
        rc = krc_informer_add_handlers(inf, &handlers, &err);
    if (rc == 0)
        rc = krc_informer_start(inf, &err);
    if (rc != 0) {
        fprintf(stderr, "informer_bench: %s\n", err.msg);
        goto out;
    }
    double t0 = now_s();
    rc = krc_informer_wait_synced(inf, timeout_s * 1000);
    double took = now_s() - t0, list_cpu = cpu_s();
    if (rc != 0) {
        fprintf(stderr, "informer_bench: not synced after %ld s: %s\n", timeout_s,
                krc_strerror(rc));
        goto out;
    }
    if (watch_s > 0) {
        struct timespec ts = {watch_s, 0};
        nanosleep(&ts, NULL);
    }
    if (churn_n > 0 && (!ns || measure_churn(&churn, ns, timeout_s, list_cpu) != 0)) {
        rc = 1;
        goto out;
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
