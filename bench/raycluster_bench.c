/* raycluster_bench.c - the RayCluster controller under load: many clusters at once, and
 * head-of-line blocking behind one large scale-up (run by hack/bench-raycluster.sh).
 *
 * Two subcommands, each printing one result line on stdout (progress goes to stderr):
 *
 *   raycluster_bench create --namespace NS --clusters N [--workers W] [--operator-pid PID] ...
 *     creates N RayClusters (1 head + W workers) from --threads threads at once, then waits until
 *     every one has status.state "ready" and prints
 *       create: clusters=N pods=N seconds_to_all_ready=S seconds_to_create=S seconds_to_all_pods=S
 *               peak_rss_kb=N rss_kb=N rss_anon_kb=N cpu_seconds=S
 *     pods is what the namespace holds at the end (an exact count: more than N * (1 + W) would
 *     be duplicates and fails the run); peak_rss_kb (VmHWM), rss_kb (VmRSS), rss_anon_kb (RssAnon:
 *     VmRSS without the pages of mapped files, i.e. the shared libraries' code that other
 *     processes share) and cpu_seconds (utime + stime) are the operator's, read from /proc/PID
 *     when all are ready.
 *
 *   raycluster_bench hol --namespace NS [--big-workers 500] [--start-after 20] [--probes 5] ...
 *     creates RayCluster hol-big with 0 workers, waits for its head pod, sets its worker group to
 *     --big-workers replicas and, once --start-after of those workers exist, creates probe
 *     clusters hol-new-0, hol-new-1, ... one after another (each once the previous one has its
 *     head pod, up to --probes, while hol-big is still short of its workers). A probe's delay is
 *     the time from its create call to the ADDED watch event of its head pod; it prints the worst:
 *       hol: hol_delay_ms=N probes=K delays_ms=A,B,... big_workers=N big_seconds_to_all=S
 *     A single probe would land at a random point of whatever the operator is doing for hol-big,
 *     so the worst of several is the number that says whether a new cluster waits behind it.
 *
 * Pods are pinned to kwok nodes with spec.nodeName (--node-prefix P --nodes K: cluster i goes to
 * node P<i mod K>), so the scheduler's throughput (50 QPS by default) is not what is measured;
 * --node-prefix "" leaves placement to the scheduler (nodeSelector type=kwok and kwok's
 * toleration). Every wait has a deadline (--timeout-s) and fails the run (exit 1) when it passes.
 * The client is unthrottled: the operator, not this driver, should be the bottleneck. */
#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define LABEL_CLUSTER       "ray.io/cluster"
#define LABEL_NODE_TYPE     "ray.io/node-type"
#define STATE_READY         "\"ready\""
#define RAY_VERSION         "2.52.0"
#define RAY_IMAGE           "rayproject/ray:" RAY_VERSION
#define POLL_NS             (50 * 1000 * 1000LL) /* store polling period */
#define PROGRESS_NS         (10 * 1000000000LL)  /* a progress line on stderr this often */
#define DEFAULT_TIMEOUT_S   900                  /* deadline of a phase (--timeout-s) */
#define DEFAULT_THREADS     8                    /* concurrent creates */
#define DEFAULT_WORKERS     3
#define DEFAULT_BIG_WORKERS 500
#define DEFAULT_START_AFTER 20
#define DEFAULT_PROBES      5
#define HOL_BIG             "hol-big"
#define HOL_NEW             "hol-new" /* probes are hol-new-0, hol-new-1, ... */
#define NAME_MAX_LEN        64

static const struct krc_resource RES_RAYCLUSTER = {"ray.io", "v1", "rayclusters", 1};
static const struct krc_resource RES_POD = {"", "v1", "pods", 1};

struct opts {
    const char *cmd, *ns, *node_prefix;
    long clusters, workers, threads, nodes, big_workers, start_after, probes, timeout_s;
    pid_t operator_pid;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double secs(int64_t ns)
{
    return (double)ns / 1e9;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    nanosleep(&ts, NULL);
}

/* ---- the operator's resources, from /proc -------------------------------------------------- */

/* The value in kB of a "Key:   N kB" line of /proc/PID/status, or -1. */
static long proc_status_kb(pid_t pid, const char *key)
{
    char path[64], line[256];
    size_t klen = strlen(key);
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':')
            kb = strtol(line + klen + 1, NULL, 10);
    }
    fclose(f);
    return kb;
}

/* utime + stime of /proc/PID/stat in seconds, or -1. Fields 14 and 15, counted after the ')'
 * that ends the command name (which may hold spaces). */
static double proc_cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    /* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) */
    if (!p ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(ut + st) / (double)hz : -1;
}

/* ---- RayCluster documents ------------------------------------------------------------------- */

/* The pod template's placement: a kwok node by name, or the scheduler onto any kwok node. */
static int add_placement(struct krc_strbuf *b, const struct opts *o, long i)
{
    if (o->node_prefix && *o->node_prefix)
        return krc_strbuf_addf(b, "\"nodeName\":\"%s%ld\",", o->node_prefix,
                               o->nodes > 0 ? i % o->nodes : 0);
    return krc_strbuf_adds(b, "\"nodeSelector\":{\"type\":\"kwok\"},");
}

/* One container as a KubeRay sample has it: limits a Ray node is sized by, small requests so
 * that thousands fit on a few simulated nodes when the scheduler places them. */
static int add_template(struct krc_strbuf *b, const struct opts *o, long i, const char *container)
{
    int r = krc_strbuf_adds(b, "\"template\":{\"spec\":{");
    if (!r)
        r = add_placement(b, o, i);
    if (!r)
        r = krc_strbuf_addf(
            b,
            "\"tolerations\":[{\"key\":\"kwok.x-k8s.io/node\",\"operator\":\"Exists\","
            "\"effect\":\"NoSchedule\"}],"
            "\"containers\":[{\"name\":\"%s\",\"image\":\"" RAY_IMAGE "\","
            "\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"2Gi\"},"
            "\"requests\":{\"cpu\":\"10m\",\"memory\":\"64Mi\"}}}]}}",
            container);
    return r;
}

static int raycluster_body(struct krc_strbuf *b, const struct opts *o, const char *name, long i,
                           long replicas, long max_replicas)
{
    int r = krc_strbuf_addf(b,
                            "{\"apiVersion\":\"ray.io/v1\",\"kind\":\"RayCluster\","
                            "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"},"
                            "\"spec\":{\"rayVersion\":\"" RAY_VERSION "\","
                            "\"headGroupSpec\":{\"rayStartParams\":{},",
                            name, o->ns);
    if (!r)
        r = add_template(b, o, i, "ray-head");
    if (!r)
        r = krc_strbuf_addf(b,
                            "},\"workerGroupSpecs\":[{\"groupName\":\"workers\",\"replicas\":%ld,"
                            "\"minReplicas\":0,\"maxReplicas\":%ld,\"rayStartParams\":{},",
                            replicas, max_replicas);
    if (!r)
        r = add_template(b, o, i, "ray-worker");
    if (!r)
        r = krc_strbuf_adds(b, "}]}}");
    return r;
}

static int create_raycluster(struct krc_client *c, const struct opts *o, const char *name, long i,
                             long replicas, long max_replicas, struct krc_error *err)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    int r = raycluster_body(&body, o, name, i, replicas, max_replicas);
    if (r)
        r = krc_error_set(err, r, "build RayCluster %s: out of memory", name);
    else
        r = krc_client_create(c, &RES_RAYCLUSTER, o->ns, body.buf, body.len, NULL, NULL, err);
    krc_strbuf_release(&body);
    return r;
}

/* ---- create: N clusters at once ------------------------------------------------------------- */

struct creator {
    struct krc_client *client;
    const struct opts *o;
    atomic_long next, created;
    atomic_int failed;
    pthread_mutex_t mu; /* guards first_err */
    struct krc_error first_err;
};

static void *creator_main(void *arg)
{
    struct creator *cr = arg;
    char name[NAME_MAX_LEN];
    long i;
    while (!atomic_load(&cr->failed) && (i = atomic_fetch_add(&cr->next, 1)) < cr->o->clusters) {
        struct krc_error err = {0};
        snprintf(name, sizeof(name), "rc-%05ld", i);
        int r = create_raycluster(cr->client, cr->o, name, i, cr->o->workers, cr->o->workers, &err);
        if (r) {
            pthread_mutex_lock(&cr->mu);
            if (!atomic_exchange(&cr->failed, 1))
                cr->first_err = err;
            pthread_mutex_unlock(&cr->mu);
            break;
        }
        atomic_fetch_add(&cr->created, 1);
    }
    return NULL;
}

static size_t count_ready(struct krc_store *s)
{
    struct krc_object_list l = {0};
    size_t n = 0;
    if (krc_store_list(s, &l, NULL))
        return 0;
    for (size_t i = 0; i < l.len; i++) {
        const char *st = krc_object_path(l.items[i], 0, NULL);
        n += st && strcmp(st, STATE_READY) == 0;
    }
    krc_object_list_release(&l);
    return n;
}

static int start_informer(struct krc_client *c, const struct krc_informer_options *io,
                          const struct krc_informer_handlers *h, struct krc_informer **out,
                          struct krc_error *err)
{
    int r = krc_informer_new(c, io, out, err);
    if (!r && h)
        r = krc_informer_add_handlers(*out, h, err);
    if (!r)
        r = krc_informer_start(*out, err);
    if (!r && (r = krc_informer_wait_synced(*out, DEFAULT_TIMEOUT_S * 1000L)))
        krc_error_set(err, r, "informer did not sync: %s", krc_strerror(r));
    return r;
}

static int cmd_create(struct krc_client *c, const struct opts *o)
{
    static const char *const rc_paths[] = {"status.state"};
    struct krc_informer *rcs = NULL, *pods = NULL;
    struct krc_error err = {0};
    pthread_t *th = NULL;
    long nth = 0;
    int rc = 1;
    struct creator cr = {.client = c, .o = o};
    pthread_mutex_init(&cr.mu, NULL);
    const size_t want_pods = (size_t)(o->clusters * (1 + o->workers));

    struct krc_informer_options ri = {
        .resource = RES_RAYCLUSTER, .namespace = o->ns, .paths = rc_paths, .npaths = 1};
    struct krc_informer_options pi = {
        .resource = RES_POD, .namespace = o->ns, .label_selector = LABEL_CLUSTER};
    if (start_informer(c, &ri, NULL, &rcs, &err) || start_informer(c, &pi, NULL, &pods, &err))
        goto out;
    if (krc_store_len(krc_informer_store(rcs)) || krc_store_len(krc_informer_store(pods))) {
        fprintf(stderr, "raycluster_bench: namespace %s is not empty\n", o->ns);
        goto out;
    }
    if (!(th = calloc((size_t)o->threads, sizeof(*th)))) {
        fprintf(stderr, "raycluster_bench: out of memory\n");
        goto out;
    }
    int64_t t0 = now_ns();
    for (nth = 0; nth < o->threads; nth++) {
        if (pthread_create(&th[nth], NULL, creator_main, &cr)) {
            fprintf(stderr, "raycluster_bench: cannot start a thread\n");
            atomic_store(&cr.failed, 1);
            break;
        }
    }
    for (long i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    int64_t t_created = now_ns();
    if (atomic_load(&cr.failed)) {
        fprintf(stderr, "raycluster_bench: create failed after %ld: %s\n", atomic_load(&cr.created),
                cr.first_err.msg);
        goto out;
    }
    fprintf(stderr, "[raycluster_bench] created %ld RayClusters in %.2f s\n", o->clusters,
            secs(t_created - t0));

    int64_t deadline = t0 + o->timeout_s * 1000000000LL, next_progress = t0 + PROGRESS_NS;
    int64_t t_pods = 0, t_ready = 0;
    for (;;) {
        int64_t t = now_ns();
        size_t npods = krc_store_len(krc_informer_store(pods));
        size_t ready = count_ready(krc_informer_store(rcs));
        if (!t_pods && npods >= want_pods)
            t_pods = t;
        if (ready >= (size_t)o->clusters) {
            t_ready = t;
            break;
        }
        if (t >= next_progress) {
            fprintf(stderr, "[raycluster_bench] %.0f s: %zu/%zu pods, %zu/%ld ready\n",
                    secs(t - t0), npods, want_pods, ready, o->clusters);
            next_progress += PROGRESS_NS;
        }
        if (t >= deadline) {
            fprintf(stderr,
                    "raycluster_bench: FAILED: %zu of %ld RayClusters ready, %zu of %zu pods "
                    "after %ld s\n",
                    ready, o->clusters, npods, want_pods, o->timeout_s);
            goto out;
        }
        sleep_ns(POLL_NS);
    }
    long hwm = -1, rss = -1, anon = -1;
    double cpu = -1;
    if (o->operator_pid > 0) {
        hwm = proc_status_kb(o->operator_pid, "VmHWM");
        rss = proc_status_kb(o->operator_pid, "VmRSS");
        anon = proc_status_kb(o->operator_pid, "RssAnon");
        cpu = proc_cpu_seconds(o->operator_pid);
        if (hwm < 0 || cpu < 0) {
            fprintf(stderr, "raycluster_bench: cannot read /proc/%ld (operator gone?)\n",
                    (long)o->operator_pid);
            goto out;
        }
    }
    /* Pods created after "ready" (duplicates) would show within a moment: look once more. */
    sleep_ns(10 * POLL_NS);
    size_t npods = krc_store_len(krc_informer_store(pods));
    printf("create: clusters=%ld pods=%zu seconds_to_all_ready=%.1f seconds_to_create=%.1f "
           "seconds_to_all_pods=%.1f peak_rss_kb=%ld rss_kb=%ld rss_anon_kb=%ld cpu_seconds=%.2f\n",
           o->clusters, npods, secs(t_ready - t0), secs(t_created - t0),
           t_pods ? secs(t_pods - t0) : -1.0, hwm, rss, anon, cpu);
    fflush(stdout);
    if (npods != want_pods) {
        fprintf(stderr, "raycluster_bench: FAILED: %zu pods, expected %zu\n", npods, want_pods);
        goto out;
    }
    rc = 0;
out:
    free(th);
    krc_informer_free(rcs);
    krc_informer_free(pods);
    pthread_mutex_destroy(&cr.mu);
    return rc;
}

/* ---- hol: new clusters behind a large scale-up ----------------------------------------------- */

struct hol {
    struct krc_store *store;  /* the pod informer's, indexed by cluster */
    pthread_mutex_t mu;       /* guards probe */
    char probe[NAME_MAX_LEN]; /* the cluster whose head pod is awaited ("" for none) */
    atomic_llong big_head_ns, probe_head_ns;
    atomic_long big_workers_at_head;
};

static long big_workers(struct hol *h)
{
    size_t n = krc_store_count_index(h->store, KRC_STORE_BY_LABEL, HOL_BIG);
    return n > 0 ? (long)n - 1 : 0; /* hol-big's pods minus its head */
}

static void hol_pod_add(void *ctx, struct krc_object *o)
{
    struct hol *h = ctx;
    const char *cl = krc_object_label(o, LABEL_CLUSTER),
               *type = krc_object_label(o, LABEL_NODE_TYPE);
    if (!cl || !type || strcmp(type, "head") != 0)
        return;
    long long t = now_ns(), zero = 0;
    if (strcmp(cl, HOL_BIG) == 0) {
        atomic_compare_exchange_strong(&h->big_head_ns, &zero, t);
        return;
    }
    pthread_mutex_lock(&h->mu);
    bool awaited = strcmp(cl, h->probe) == 0;
    pthread_mutex_unlock(&h->mu);
    if (awaited && atomic_compare_exchange_strong(&h->probe_head_ns, &zero, t))
        atomic_store(&h->big_workers_at_head, big_workers(h)); /* the store holds the pod already */
}

/* Waits until *flag is set (flag non-NULL) or hol-big has want_big workers; 0, or 1 after the
 * deadline. */
static int wait_until(struct hol *h, atomic_llong *flag, long want_big, int64_t deadline)
{
    while (!(flag ? atomic_load(flag) != 0 : big_workers(h) >= want_big)) {
        if (now_ns() >= deadline)
            return 1;
        sleep_ns(flag ? 1000000 : POLL_NS);
    }
    return 0;
}

/* One probe: creates cluster `name` (no workers) and waits for its head pod; *delay_ms. */
static int hol_probe(struct krc_client *c, const struct opts *o, struct hol *h, const char *name,
                     long i, int64_t deadline, long *delay_ms, struct krc_error *err)
{
    pthread_mutex_lock(&h->mu);
    snprintf(h->probe, sizeof(h->probe), "%s", name);
    pthread_mutex_unlock(&h->mu);
    atomic_store(&h->probe_head_ns, 0);
    int64_t t0 = now_ns();
    int r = create_raycluster(c, o, name, i, 0, 1, err);
    if (r)
        return r;
    if (wait_until(h, &h->probe_head_ns, 0, deadline))
        return krc_error_set(err, KRC_ETIMEOUT, "no head pod for %s", name);
    *delay_ms = (long)((atomic_load(&h->probe_head_ns) - t0) / 1000000);
    return 0;
}

static int cmd_hol(struct krc_client *c, const struct opts *o)
{
    struct krc_informer *pods = NULL;
    struct krc_error err = {0};
    struct hol h = {0};
    struct krc_strbuf delays = KRC_STRBUF_INIT;
    int rc = 1;
    struct krc_informer_options pi = {.resource = RES_POD,
                                      .namespace = o->ns,
                                      .label_selector = LABEL_CLUSTER,
                                      .index_label = LABEL_CLUSTER};
    struct krc_informer_handlers hh = {hol_pod_add, NULL, NULL, &h};
    int64_t deadline = now_ns() + o->timeout_s * 1000000000LL;
    pthread_mutex_init(&h.mu, NULL);
    if (krc_informer_new(c, &pi, &pods, &err) || krc_informer_add_handlers(pods, &hh, &err))
        goto out;
    h.store = krc_informer_store(pods);
    if (krc_informer_start(pods, &err) ||
        krc_informer_wait_synced(pods, DEFAULT_TIMEOUT_S * 1000L) != 0)
        goto out;
    if (create_raycluster(c, o, HOL_BIG, 0, 0, o->big_workers, &err))
        goto out;
    if (wait_until(&h, &h.big_head_ns, 0, deadline)) {
        fprintf(stderr, "raycluster_bench: FAILED: no head pod for %s\n", HOL_BIG);
        goto out;
    }
    char patch[128];
    snprintf(patch, sizeof(patch),
             "[{\"op\":\"replace\",\"path\":\"/spec/workerGroupSpecs/0/replicas\",\"value\":%ld}]",
             o->big_workers);
    int64_t t_scale = now_ns();
    if (krc_client_patch(c, &RES_RAYCLUSTER, o->ns, HOL_BIG, NULL, KRC_PATCH_JSON, patch,
                         strlen(patch), NULL, NULL, &err))
        goto out;
    if (wait_until(&h, NULL, o->start_after, deadline)) {
        fprintf(stderr, "raycluster_bench: FAILED: %s has %ld of %ld workers\n", HOL_BIG,
                big_workers(&h), o->start_after);
        goto out;
    }
    /* Probes one after another while the scale-up runs; one that starts after it is done does
     * not count (nothing was ahead of it). */
    long max_ms = -1, done = 0;
    for (long i = 0; i < o->probes; i++) {
        char name[NAME_MAX_LEN];
        long at_create = big_workers(&h), ms = 0;
        if (at_create >= o->big_workers)
            break;
        snprintf(name, sizeof(name), "%s-%ld", HOL_NEW, i);
        if (hol_probe(c, o, &h, name, i, deadline, &ms, &err))
            goto out;
        fprintf(stderr,
                "[raycluster_bench] %s: head pod after %ld ms (%s had %ld workers at create, "
                "%ld at head)\n",
                name, ms, HOL_BIG, at_create, atomic_load(&h.big_workers_at_head));
        if (krc_strbuf_addf(&delays, "%s%ld", done ? "," : "", ms))
            goto out;
        max_ms = ms > max_ms ? ms : max_ms;
        done++;
    }
    if (!done) {
        fprintf(stderr, "raycluster_bench: FAILED: %s scaled up before any probe\n", HOL_BIG);
        goto out;
    }
    if (wait_until(&h, NULL, o->big_workers, deadline)) {
        fprintf(stderr, "raycluster_bench: FAILED: %s has %ld of %ld workers\n", HOL_BIG,
                big_workers(&h), o->big_workers);
        goto out;
    }
    printf(
        "hol: hol_delay_ms=%ld probes=%ld delays_ms=%s big_workers=%ld big_seconds_to_all=%.1f\n",
        max_ms, done, delays.buf, o->big_workers, secs(now_ns() - t_scale));
    fflush(stdout);
    rc = 0;
out:
    if (rc && err.code)
        fprintf(stderr, "raycluster_bench: %s\n", err.msg);
    krc_informer_free(pods);
    krc_strbuf_release(&delays);
    pthread_mutex_destroy(&h.mu);
    return rc;
}

/* ---- main ----------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: raycluster_bench create --namespace NS --clusters N [--workers W] "
            "[--threads T] [--operator-pid PID] [--node-prefix P --nodes K] [--timeout-s S]\n"
            "       raycluster_bench hol --namespace NS [--big-workers N] [--start-after N] "
            "[--probes K] "
            "[--node-prefix P --nodes K] [--timeout-s S]\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.workers = DEFAULT_WORKERS,
                       .threads = DEFAULT_THREADS,
                       .big_workers = DEFAULT_BIG_WORKERS,
                       .start_after = DEFAULT_START_AFTER,
                       .probes = DEFAULT_PROBES,
                       .timeout_s = DEFAULT_TIMEOUT_S,
                       .node_prefix = ""};
    if (argc < 2)
        return -1;
    o->cmd = argv[1];
    for (int i = 2; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        struct {
            const char *name;
            long *l;
        } longs[] = {{"--clusters", &o->clusters},       {"--workers", &o->workers},
                     {"--threads", &o->threads},         {"--nodes", &o->nodes},
                     {"--big-workers", &o->big_workers}, {"--start-after", &o->start_after},
                     {"--probes", &o->probes},           {"--timeout-s", &o->timeout_s}};
        if (!v)
            return -1;
        if (strcmp(k, "--namespace") == 0) {
            o->ns = v;
            continue;
        }
        if (strcmp(k, "--node-prefix") == 0) {
            o->node_prefix = v;
            continue;
        }
        if (strcmp(k, "--operator-pid") == 0) {
            o->operator_pid = (pid_t)atol(v);
            continue;
        }
        size_t j;
        for (j = 0; j < sizeof(longs) / sizeof(longs[0]); j++) {
            if (strcmp(k, longs[j].name) == 0) {
                char *end;
                *longs[j].l = strtol(v, &end, 10);
                if (*end || *longs[j].l < 0)
                    return -1;
                break;
            }
        }
        if (j == sizeof(longs) / sizeof(longs[0]))
            return -1;
    }
    if (!o->ns || o->threads < 1 || o->timeout_s < 1)
        return -1;
    if (strcmp(o->cmd, "create") == 0)
        return o->clusters > 0 ? 0 : -1;
    return strcmp(o->cmd, "hol") == 0 && o->big_workers > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct krc_kubeconfig cfg;
    struct krc_client *client = NULL;
    struct krc_error err = {0};
    struct krc_client_options copts = {.qps = -1};
    if (parse_args(argc, argv, &o))
        return usage();
    krc_log_configure(KRC_LOG_WARN, KRC_LOG_FORMAT_TEXT, 2);
    if (krc_kubeconfig_load_default(&cfg, NULL, &err) != 0) {
        fprintf(stderr, "raycluster_bench: %s\n", err.msg);
        return 1;
    }
    int rc = krc_client_new(&cfg, &copts, &client, &err);
    krc_kubeconfig_free(&cfg);
    if (rc != 0) {
        fprintf(stderr, "raycluster_bench: %s\n", err.msg);
        return 1;
    }
    rc = strcmp(o.cmd, "create") == 0 ? cmd_create(client, &o) : cmd_hol(client, &o);
    krc_client_free(client);
    return rc;
}
