/* Integration tests of kube/informer against a real control plane (hack/cluster.sh; exit 77,
 * "skipped", without $KUBECONFIG). ConfigMaps carry the tests: no controller touches them, and a
 * label per test keeps each informer to its own objects (every namespace also gets a
 * kube-root-ca.crt ConfigMap).
 *
 * Every test checks two things against a fresh list from the server: the informer's store, and a
 * model the test's handlers build from the events alone (add sets, update checks the old
 * resourceVersion and sets the new, delete removes). Equal models mean no event was lost,
 * duplicated or misordered. The restart test stops kube-apiserver and starts it again with
 * hack/cluster.sh; it needs $KRC_CLUSTER_NAME (set by `hack/cluster.sh env`), else it is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "util/fileio.h"
#include "util/log.h"

#define LABEL_KEY "itest.kuberay-c.io/informer"
#define WAIT_MS   60000

static const struct krc_resource configmaps = {"", "v1", "configmaps", 1};
static const struct krc_resource namespaces = {"", "v1", "namespaces", 0};
static const char *const paths[] = {"data"};

static struct krc_client *client;
static struct krc_projection *proj; /* for reading the server's answers */
static char ns[64];

#define MUST(call)                                                                                 \
    do {                                                                                           \
        struct krc_error must_err_ = {0, ""};                                                      \
        struct krc_error *errp = &must_err_;                                                       \
        int must_rc_ = (call);                                                                     \
        if (must_rc_ != 0)                                                                         \
            fail_msg("%s failed: %d %s", #call, must_rc_, must_err_.msg);                          \
    } while (0)

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- what the handlers see ---- */

#define MODEL_MAX 256

struct recorder {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct krc_strbuf log; /* "ADD a@5\nUPDATE a@5->6\nDELETE a\n" */
    size_t events;
    char names[MODEL_MAX][64], rvs[MODEL_MAX][32]; /* the model: name -> resourceVersion */
    size_t n;
    struct krc_strbuf problems; /* model inconsistencies seen by the handlers */
    /* a gate that holds the informer's thread inside the handler of the object named gate_name */
    const char *gate_name;
    int gate_closed, gate_waiting;
};

static void rec_init(struct recorder *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    krc_strbuf_init(&r->log, 0);
    krc_strbuf_init(&r->problems, 0);
}

static void rec_release(struct recorder *r)
{
    krc_strbuf_release(&r->log);
    krc_strbuf_release(&r->problems);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
}

static long model_find(struct recorder *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return (long)i;
    return -1;
}

static void model_set(struct recorder *r, const char *name, const char *rv)
{
    long i = model_find(r, name);
    if (i < 0) {
        if (r->n == MODEL_MAX) {
            krc_strbuf_adds(&r->problems, "model full\n");
            return;
        }
        i = (long)r->n++;
        snprintf(r->names[i], sizeof(r->names[i]), "%s", name);
    }
    snprintf(r->rvs[i], sizeof(r->rvs[i]), "%s", rv);
}

static void gate(struct recorder *r, const struct krc_object *o)
{
    if (!r->gate_name || strcmp(r->gate_name, krc_object_name(o)) != 0)
        return;
    r->gate_waiting = 1;
    pthread_cond_broadcast(&r->cond);
    while (r->gate_closed)
        pthread_cond_wait(&r->cond, &r->lock);
    r->gate_waiting = 0;
}

static void rec_add(void *ctx, struct krc_object *o)
{
    struct recorder *r = ctx;
    pthread_mutex_lock(&r->lock);
    krc_strbuf_addf(&r->log, "ADD %s@%s\n", krc_object_name(o), krc_object_resource_version(o));
    if (model_find(r, krc_object_name(o)) >= 0)
        krc_strbuf_addf(&r->problems, "add of known %s\n", krc_object_name(o));
    model_set(r, krc_object_name(o), krc_object_resource_version(o));
    r->events++;
    gate(r, o);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void rec_update(void *ctx, struct krc_object *old, struct krc_object *o)
{
    struct recorder *r = ctx;
    pthread_mutex_lock(&r->lock);
    krc_strbuf_addf(&r->log, "UPDATE %s@%s->%s\n", krc_object_name(o),
                    krc_object_resource_version(old), krc_object_resource_version(o));
    long i = model_find(r, krc_object_name(o));
    if (i < 0 || strcmp(r->rvs[i], krc_object_resource_version(old)) != 0)
        krc_strbuf_addf(&r->problems, "update of %s from %s, model has %s\n", krc_object_name(o),
                        krc_object_resource_version(old), i < 0 ? "nothing" : r->rvs[i]);
    model_set(r, krc_object_name(o), krc_object_resource_version(o));
    r->events++;
    gate(r, o);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void rec_delete(void *ctx, struct krc_object *o)
{
    struct recorder *r = ctx;
    pthread_mutex_lock(&r->lock);
    krc_strbuf_addf(&r->log, "DELETE %s\n", krc_object_name(o));
    long i = model_find(r, krc_object_name(o));
    if (i < 0) {
        krc_strbuf_addf(&r->problems, "delete of unknown %s\n", krc_object_name(o));
    } else {
        r->n--;
        memcpy(r->names[i], r->names[r->n], sizeof(r->names[i]));
        memcpy(r->rvs[i], r->rvs[r->n], sizeof(r->rvs[i]));
    }
    r->events++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* ---- comparing with the server ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "name@rv name@rv ..." sorted, from n pairs. */
static void sorted_pairs(char **pairs, size_t n, struct krc_strbuf *out)
{
    qsort(pairs, n, sizeof(pairs[0]), cmp_str);
    krc_strbuf_reset(out);
    for (size_t i = 0; i < n; i++) {
        krc_strbuf_addf(out, "%s%s", i ? " " : "", pairs[i]);
        free(pairs[i]);
    }
    free(pairs);
}

static char *pair(const struct krc_object *o)
{
    char *s = malloc(128);
    assert_non_null(s);
    snprintf(s, 128, "%s@%s", krc_object_name(o), krc_object_resource_version(o));
    return s;
}

struct listed {
    char **pairs;
    size_t n;
};

static int on_listed(void *ctx, struct krc_object *o, struct krc_error *err)
{
    struct listed *l = ctx;
    (void)err;
    l->pairs = realloc(l->pairs, (l->n + 1) * sizeof(*l->pairs));
    assert_non_null(l->pairs);
    l->pairs[l->n++] = pair(o);
    krc_object_unref(o);
    return 0;
}

static void server_state(const char *label, struct krc_strbuf *out)
{
    char sel[128];
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct krc_projection_parser *ps = NULL;
    struct listed l = {0};
    snprintf(sel, sizeof(sel), LABEL_KEY "=%s", label);
    struct krc_list_opts o = {.label_selector = sel};
    MUST(krc_client_list(client, &configmaps, ns, &o, &body, errp));
    MUST(krc_projection_parser_new(proj, KRC_PROJECTION_LIST, on_listed, NULL, &l, &ps, errp));
    MUST(krc_projection_parser_feed(ps, body.buf, body.len, errp));
    MUST(krc_projection_parser_finish(ps, errp));
    krc_projection_parser_free(ps);
    krc_strbuf_release(&body);
    sorted_pairs(l.pairs, l.n, out);
}

static void store_state(struct krc_informer *inf, struct krc_strbuf *out)
{
    struct krc_object_list all;
    char **pairs;
    MUST(krc_store_list(krc_informer_store(inf), &all, errp));
    pairs = calloc(all.len + 1, sizeof(*pairs));
    assert_non_null(pairs);
    for (size_t i = 0; i < all.len; i++)
        pairs[i] = pair(all.items[i]);
    sorted_pairs(pairs, all.len, out);
    krc_object_list_release(&all);
}

static void model_state(struct recorder *r, struct krc_strbuf *out)
{
    char **pairs;
    pthread_mutex_lock(&r->lock);
    pairs = calloc(r->n + 1, sizeof(*pairs));
    assert_non_null(pairs);
    for (size_t i = 0; i < r->n; i++) {
        pairs[i] = malloc(128);
        assert_non_null(pairs[i]);
        snprintf(pairs[i], 128, "%s@%s", r->names[i], r->rvs[i]);
    }
    size_t n = r->n;
    pthread_mutex_unlock(&r->lock);
    sorted_pairs(pairs, n, out);
}

/* Waits until the store and the handlers' model both equal a fresh list, then checks the
 * handlers saw nothing inconsistent. */
static void assert_converges(struct krc_informer *inf, struct recorder *r, const char *label)
{
    struct krc_strbuf server = KRC_STRBUF_INIT, store = KRC_STRBUF_INIT, model = KRC_STRBUF_INIT;
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        server_state(label, &server);
        store_state(inf, &store);
        model_state(r, &model);
        if (strcmp(server.buf, store.buf) == 0 && strcmp(server.buf, model.buf) == 0)
            break;
        if (now_ms() > deadline)
            fail_msg("no convergence:\nserver: %s\nstore:  %s\nmodel:  %s\nevents:\n%s", server.buf,
                     store.buf, model.buf, r->log.buf);
        sleep_ms(200);
    }
    pthread_mutex_lock(&r->lock);
    if (r->problems.len)
        fail_msg("handlers saw inconsistent events:\n%s\nevents:\n%s", r->problems.buf, r->log.buf);
    pthread_mutex_unlock(&r->lock);
    krc_strbuf_release(&server);
    krc_strbuf_release(&store);
    krc_strbuf_release(&model);
}

/* ---- writing ConfigMaps ---- */

/* The resourceVersion of the object a write returned, into rv. */
static void rv_of(const struct krc_strbuf *body, char *rv, size_t size)
{
    struct krc_object *o = NULL;
    MUST(krc_projection_parse_object(proj, body->buf, body->len, &o, errp));
    snprintf(rv, size, "%s", krc_object_resource_version(o));
    krc_object_unref(o);
}

static void cm_create(const char *label, const char *name, int v, char *rv, size_t size)
{
    char body[512];
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int n = snprintf(body, sizeof(body),
                     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
                     "\"labels\":{\"" LABEL_KEY "\":\"%s\"}},\"data\":{\"v\":\"%d\"}}",
                     name, label, v);
    MUST(krc_client_create(client, &configmaps, ns, body, (size_t)n, NULL, &out, errp));
    if (rv)
        rv_of(&out, rv, size);
    krc_strbuf_release(&out);
}

static void cm_set(const char *name, int v, char *rv, size_t size)
{
    char body[128];
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int n = snprintf(body, sizeof(body), "{\"data\":{\"v\":\"%d\"}}", v);
    MUST(krc_client_patch(client, &configmaps, ns, name, NULL, KRC_PATCH_MERGE, body, (size_t)n,
                          NULL, &out, errp));
    if (rv)
        rv_of(&out, rv, size);
    krc_strbuf_release(&out);
}

static void cm_delete(const char *name)
{
    MUST(krc_client_delete(client, &configmaps, ns, name, NULL, NULL, errp));
}

static struct krc_informer *start_informer(const char *label, struct recorder *r)
{
    char sel[128];
    struct krc_informer *inf = NULL;
    struct krc_informer_handlers h = {rec_add, rec_update, rec_delete, r};
    snprintf(sel, sizeof(sel), LABEL_KEY "=%s", label);
    struct krc_informer_options o = {
        .resource = configmaps,
        .namespace = ns,
        .label_selector = sel,
        .paths = paths,
        .npaths = 1,
        .page_size = 7, /* several pages even for a handful of objects */
        .backoff_min_ms = 200,
        .backoff_max_ms = 2000,
    };
    MUST(krc_informer_new(client, &o, &inf, errp));
    MUST(krc_informer_add_handlers(inf, &h, errp));
    MUST(krc_informer_start(inf, errp));
    assert_int_equal(krc_informer_wait_synced(inf, WAIT_MS), 0);
    return inf;
}

static void wait_events(struct recorder *r, size_t n)
{
    long long deadline = now_ms() + WAIT_MS;
    pthread_mutex_lock(&r->lock);
    while (r->events < n && now_ms() < deadline) {
        pthread_mutex_unlock(&r->lock);
        sleep_ms(50);
        pthread_mutex_lock(&r->lock);
    }
    if (r->events < n)
        fail_msg("%zu events of %zu after %d ms:\n%s", r->events, n, WAIT_MS, r->log.buf);
    pthread_mutex_unlock(&r->lock);
}

/* ---- the tests ---- */

static void test_watch_delivers_every_change_in_order(void **state)
{
    (void)state;
    struct recorder r;
    struct krc_strbuf want = KRC_STRBUF_INIT;
    char rv[32], prev[32];
    size_t n = 0;

    rec_init(&r);
    for (int i = 0; i < 12; i++) { /* present before the informer: delivered by the list */
        char name[32];
        snprintf(name, sizeof(name), "pre-%02d", i);
        cm_create("order", name, 0, NULL, 0);
    }
    struct krc_informer *inf = start_informer("order", &r);
    assert_int_equal(r.events, 12);
    n = r.events;
    pthread_mutex_lock(&r.lock);
    krc_strbuf_reset(&r.log);
    pthread_mutex_unlock(&r.lock);

    cm_create("order", "a", 0, rv, sizeof(rv));
    krc_strbuf_addf(&want, "ADD a@%s\n", rv);
    for (int v = 1; v <= 20; v++) {
        snprintf(prev, sizeof(prev), "%s", rv);
        cm_set("a", v, rv, sizeof(rv));
        krc_strbuf_addf(&want, "UPDATE a@%s->%s\n", prev, rv);
    }
    cm_create("order", "b", 0, rv, sizeof(rv));
    krc_strbuf_addf(&want, "ADD b@%s\n", rv);
    cm_delete("a");
    krc_strbuf_adds(&want, "DELETE a\n");
    snprintf(prev, sizeof(prev), "%s", rv);
    cm_set("b", 1, rv, sizeof(rv));
    krc_strbuf_addf(&want, "UPDATE b@%s->%s\n", prev, rv);
    cm_delete("b");
    krc_strbuf_adds(&want, "DELETE b\n");
    n += 25;

    wait_events(&r, n);
    pthread_mutex_lock(&r.lock);
    assert_string_equal(r.log.buf, want.buf);
    pthread_mutex_unlock(&r.lock);
    assert_converges(inf, &r, "order");
    struct krc_informer_stats st;
    krc_informer_stats(inf, &st);
    assert_int_equal(st.lists, 1);
    assert_int_equal(st.events, 25);
    krc_informer_free(inf);
    krc_strbuf_release(&want);
    rec_release(&r);
}

static int probe_line(void *ctx, const char *line, size_t len)
{
    (void)len;
    *(int *)ctx = strstr(line, "\"type\":\"ERROR\"") && strstr(line, "\"code\":410");
    return 1; /* the first event says it all */
}

/* Whether the server answers a watch from resourceVersion "1" with 410. A young apiserver does
 * not: its watch cache still reaches back that far and replays the history instead. */
static int server_says_gone_for_rv1(const char *label)
{
    char sel[128];
    int gone = 0;
    struct krc_error err;
    snprintf(sel, sizeof(sel), LABEL_KEY "=%s", label);
    struct krc_list_opts o = {.label_selector = sel, .resource_version = "1", .timeout_seconds = 1};
    struct krc_stream_opts so = {.on_line = probe_line, .ctx = &gone};
    int rc = krc_client_watch(client, &configmaps, ns, &o, &so, &err);
    return rc == KRC_EGONE || gone;
}

/* The informer's thread is held in a handler while the objects change; then its watch is
 * restarted from resourceVersion "1". The server answers 410 (once its watch cache no longer
 * reaches back that far: after the restart test) and only a relist, delivered as a difference,
 * can bring the handlers' model back to the server's state. A young server replays the history
 * instead, which must converge just as well. */
static void test_410_relists_and_delivers_the_difference(void **state)
{
    (void)state;
    struct recorder r;
    struct krc_informer_stats st;

    rec_init(&r);
    cm_create("gone", "keep", 0, NULL, 0);
    cm_create("gone", "change", 0, NULL, 0);
    cm_create("gone", "remove", 0, NULL, 0);
    cm_create("gone", "gate", 0, NULL, 0);
    int expect_gone = server_says_gone_for_rv1("gone");
    struct krc_informer *inf = start_informer("gone", &r);

    pthread_mutex_lock(&r.lock);
    r.gate_name = "gate";
    r.gate_closed = 1;
    pthread_mutex_unlock(&r.lock);
    cm_set("gate", 1, NULL, 0);
    pthread_mutex_lock(&r.lock);
    long long deadline = now_ms() + WAIT_MS;
    while (!r.gate_waiting && now_ms() < deadline) {
        pthread_mutex_unlock(&r.lock);
        sleep_ms(20);
        pthread_mutex_lock(&r.lock);
    }
    assert_true(r.gate_waiting);
    pthread_mutex_unlock(&r.lock);

    /* the informer is stuck: these reach its watch stream but are never applied from it */
    cm_set("change", 1, NULL, 0);
    cm_delete("remove");
    cm_create("gone", "new", 0, NULL, 0);
    for (int v = 2; v < 30; v++) /* many writes: "1" is long gone */
        cm_set("gate", v, NULL, 0);
    MUST(krc_informer_force_rewatch(inf, "1", errp));

    pthread_mutex_lock(&r.lock);
    r.gate_closed = 0;
    r.gate_name = NULL;
    pthread_cond_broadcast(&r.cond);
    pthread_mutex_unlock(&r.lock);

    assert_converges(inf, &r, "gone");
    krc_informer_stats(inf, &st);
    if (expect_gone && (st.gone < 1 || st.lists < 2))
        fail_msg("no relist after 410: gone=%lu lists=%lu", st.gone, st.lists);
    if (!expect_gone)
        fprintf(stderr,
                "note: the server replayed history from resourceVersion 1 instead of "
                "answering 410 (young watch cache); gone=%lu lists=%lu\n",
                st.gone, st.lists);
    pthread_mutex_lock(&r.lock);
    assert_non_null(strstr(r.log.buf, "UPDATE change@"));
    assert_non_null(strstr(r.log.buf, "DELETE remove\n"));
    assert_non_null(strstr(r.log.buf, "ADD new@"));
    pthread_mutex_unlock(&r.lock);
    krc_informer_free(inf);
    rec_release(&r);
}

/* ---- stopping and starting kube-apiserver ---- */

static int cluster_cmd(const char *args)
{
    char root[1024], cmd[2048];
    const char *file = __FILE__; /* .../tests/integration/test_informer.c */
    const char *cut = strstr(file, "/tests/integration/");
    snprintf(root, sizeof(root), "%.*s", cut ? (int)(cut - file) : 1, cut ? file : ".");
    snprintf(cmd, sizeof(cmd), "'%s/hack/cluster.sh' %s --name '%s' >&2", root, args,
             getenv("KRC_CLUSTER_NAME"));
    return system(cmd);
}

static pid_t apiserver_pid(void)
{
    char path[1024];
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    const char *cache = getenv("KRC_CACHE");
    if (cache)
        snprintf(path, sizeof(path), "%s/clusters/%s/run/kube-apiserver.pid", cache,
                 getenv("KRC_CLUSTER_NAME"));
    else
        snprintf(path, sizeof(path), "%s/.cache/kuberay-c/clusters/%s/run/kube-apiserver.pid",
                 getenv("HOME"), getenv("KRC_CLUSTER_NAME"));
    MUST(krc_file_read(path, 64, &sb, errp));
    pid_t pid = (pid_t)atol(sb.buf);
    krc_strbuf_release(&sb);
    assert_true(pid > 1);
    return pid;
}

static void stop_apiserver(void)
{
    pid_t pid = apiserver_pid();
    assert_int_equal(kill(pid, SIGTERM), 0);
    for (int i = 0; i < 300 && kill(pid, 0) == 0; i++)
        sleep_ms(100);
    if (kill(pid, 0) == 0) {
        kill(pid, SIGKILL);
        sleep_ms(500);
    }
}

static void test_apiserver_restart_loses_no_event(void **state)
{
    (void)state;
    struct recorder r;
    struct krc_informer_stats before, after;
    char name[32];

    const char *cluster = getenv("KRC_CLUSTER_NAME");
    if (!cluster || !*cluster)
        skip();
    rec_init(&r);
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "r-%02d", i);
        cm_create("restart", name, 0, NULL, 0);
    }
    struct krc_informer *inf = start_informer("restart", &r);
    cm_set("r-00", 1, NULL, 0); /* the watch is live */
    wait_events(&r, 11);
    krc_informer_stats(inf, &before);

    stop_apiserver();
    sleep_ms(1500); /* the informer notices and backs off against a closed port */
    assert_int_equal(cluster_cmd("up"), 0);

    /* changes right after the restart, while the informer may still be backing off */
    for (int i = 0; i < 10; i += 2) {
        snprintf(name, sizeof(name), "r-%02d", i);
        cm_set(name, 2, NULL, 0);
    }
    cm_delete("r-01");
    cm_delete("r-03");
    cm_create("restart", "r-new", 0, NULL, 0);

    assert_converges(inf, &r, "restart");
    krc_informer_stats(inf, &after);
    if (after.errors == before.errors)
        fail_msg("the informer never noticed the restart (errors %lu)", after.errors);
    fprintf(stderr, "restart: watches %lu->%lu errors %lu->%lu gone %lu->%lu lists %lu->%lu\n",
            before.watches, after.watches, before.errors, after.errors, before.gone, after.gone,
            before.lists, after.lists);

    /* and the watch works after it */
    cm_set("r-new", 1, NULL, 0);
    assert_converges(inf, &r, "restart");
    krc_informer_free(inf);
    rec_release(&r);
}

static void test_stop_is_prompt_during_a_quiet_watch(void **state)
{
    (void)state;
    struct recorder r;
    rec_init(&r);
    struct krc_informer *inf = start_informer("quiet", &r);
    sleep_ms(500);
    long long t0 = now_ms();
    krc_informer_stop(inf);
    long long took = now_ms() - t0;
    if (took > 3000)
        fail_msg("stop took %lld ms", took);
    assert_int_equal(krc_informer_wait_synced(inf, 10), 0); /* synced stays true */
    krc_informer_free(inf);
    rec_release(&r);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    (void)state;
    struct krc_kubeconfig cfg;
    struct krc_error err;
    struct krc_client_options copts = {.qps = -1};
    struct krc_strbuf out = KRC_STRBUF_INIT;
    char body[256];
    int n;

    if (krc_kubeconfig_load(&cfg, NULL, &err) != 0) {
        fprintf(stderr, "kubeconfig: %s\n", err.msg);
        return -1;
    }
    if (krc_client_new(&cfg, &copts, &client, &err) != 0) {
        fprintf(stderr, "client: %s\n", err.msg);
        krc_kubeconfig_free(&cfg);
        return -1;
    }
    krc_kubeconfig_free(&cfg);
    if (krc_projection_new(paths, 1, NULL, &proj, &err) != 0)
        return -1;
    snprintf(ns, sizeof(ns), "krc-informer-%ld", (long)getpid());
    n = snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
                 "\"name\":\"%s\"}}",
                 ns);
    if (krc_client_create(client, &namespaces, NULL, body, (size_t)n, NULL, &out, &err) != 0) {
        fprintf(stderr, "create namespace %s: %s\n", ns, err.msg);
        return -1;
    }
    krc_strbuf_release(&out);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    struct krc_error err;
    if (client && krc_client_delete(client, &namespaces, NULL, ns, NULL, NULL, &err) != 0)
        fprintf(stderr, "delete namespace %s: %s\n", ns, err.msg);
    krc_projection_free(proj);
    krc_client_free(client);
    return 0;
}

int main(void)
{
    if (!getenv("KUBECONFIG")) {
        fprintf(stderr, "KUBECONFIG is not set: skipping the informer integration tests\n");
        return 77;
    }
    krc_log_configure(KRC_LOG_INFO, KRC_LOG_FORMAT_TEXT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_delivers_every_change_in_order),
        cmocka_unit_test(test_apiserver_restart_loses_no_event),
        cmocka_unit_test(test_410_relists_and_delivers_the_difference),
        cmocka_unit_test(test_stop_is_prompt_during_a_quiet_watch),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
