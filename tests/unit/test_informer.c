/* Unit tests of kube/informer against a scripted HTTP/1.1 server on loopback, for what a healthy
 * API server never shows on demand: a list in pages, a watch the server ends, bookmarks, 410 Gone
 * as an HTTP answer and as an ERROR event, a stream cut inside an event. Each connection gets the
 * next scripted reply and is closed; the server records each request line, so the tests check
 * what the informer asked for (resourceVersion, continue, bookmarks) as well as what its handlers
 * were told. Once the script is exhausted the server holds an empty watch open. */
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

#include "fake_http.h"
#include "fake_kube.h"
#include "kube/client.h"
#include "kube/informer.h"

enum { MAX_SCRIPT = 16 };

enum mode {
    REPLY,      /* status and body, then close */
    STREAM_END, /* 200 and body without a length, then close: a watch the server ends */
};

struct reply {
    enum mode mode;
    int status;
    const char *body;
    int delay_ms;
};

struct server {
    struct fake_listener l;
    int port;
    const struct reply *script;
    int nscript;
    pthread_mutex_t mu;
    int served;
    char requests[MAX_SCRIPT + 8][256];
};

static void serve_one(void *arg, int fd)
{
    struct server *s = arg;
    char req[8192], head[256];

    if (fake_read_request(fd, req, sizeof(req)) != 0) /* GETs only: no body */
        return;
    pthread_mutex_lock(&s->mu);
    int i = s->served++;
    const char *path = strchr(req, ' ') ? strchr(req, ' ') + 1 : req;
    if (i < MAX_SCRIPT + 8)
        snprintf(s->requests[i], sizeof(s->requests[i]), "%.*s", (int)strcspn(path, " \r\n"), path);
    pthread_mutex_unlock(&s->mu);
    if (i >= s->nscript) { /* exhausted: an idle watch until the client hangs up */
        static const char idle[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n";
        fake_write_all(fd, idle, strlen(idle));
        fake_hold_open(&s->l, fd);
        return;
    }
    const struct reply *r = &s->script[i];
    if (r->delay_ms)
        fake_sleep_ms(r->delay_ms);
    if (r->mode == REPLY)
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 r->status, strlen(r->body));
    else
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
    fake_write_all(fd, head, strlen(head));
    fake_write_all(fd, r->body, strlen(r->body));
}

static struct server *server_start(const struct reply *script, int n)
{
    struct server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    assert_true(n <= MAX_SCRIPT);
    s->script = script;
    s->nscript = n;
    assert_int_equal(pthread_mutex_init(&s->mu, NULL), 0);
    fake_listener_start(&s->l, serve_one, s);
    s->port = s->l.port;
    return s;
}

static void server_stop(struct server *s)
{
    fake_listener_stop(&s->l);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static int served(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->served;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- handlers that log what they are told ---- */

struct log {
    pthread_mutex_t mu;
    char text[4096];
    int resyncs;
};

static void logf_(struct log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct log *l, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&l->mu);
    size_t n = strlen(l->text);
    va_start(ap, fmt);
    vsnprintf(l->text + n, sizeof(l->text) - n, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&l->mu);
}

static void on_add(void *ctx, struct krc_object *o)
{
    logf_(ctx, "add %s@%s\n", krc_object_name(o), krc_object_resource_version(o));
}

static void on_update(void *ctx, struct krc_object *old, struct krc_object *o)
{
    struct log *l = ctx;
    if (old == o) { /* a resync */
        pthread_mutex_lock(&l->mu);
        l->resyncs++;
        pthread_mutex_unlock(&l->mu);
        return;
    }
    logf_(ctx, "update %s@%s->%s\n", krc_object_name(o), krc_object_resource_version(old),
          krc_object_resource_version(o));
}

static void on_delete(void *ctx, struct krc_object *o)
{
    logf_(ctx, "delete %s@%s\n", krc_object_name(o), krc_object_resource_version(o));
}

static struct krc_informer *informer_on(struct krc_client *c, struct log *l, long resync_ms)
{
    static const char *const paths[] = {"data"};
    struct krc_informer *inf = NULL;
    struct krc_error err;
    struct krc_informer_handlers h = {on_add, on_update, on_delete, l};
    struct krc_informer_options o = {
        .resource = KRC_RESOURCE("", "v1", "configmaps", 1),
        .namespace = "ns",
        .label_selector = "app=x",
        .paths = paths,
        .npaths = 1,
        .page_size = 2,
        .watch_timeout_s = 60,
        .resync_ms = resync_ms,
        .backoff_min_ms = 10,
        .backoff_max_ms = 40,
    };
    if (krc_informer_new(c, &o, &inf, &err) != 0 || krc_informer_add_handlers(inf, &h, &err) != 0 ||
        krc_informer_start(inf, &err) != 0)
        fail_msg("informer: %s", err.msg);
    return inf;
}

static void wait_served(struct server *s, int n)
{
    for (int i = 0; i < 500 && served(s) < n; i++)
        fake_sleep_ms(10);
    if (served(s) < n)
        fail_msg("%d requests served, expected %d", served(s), n);
}

#define CM(name, rv)                                                                               \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"ns\",\"resourceVersion\":\"" rv "\"}}"
#define EV(type, name, rv) "{\"type\":\"" type "\",\"object\":" CM(name, rv) "}\n"
#define LIST(rv, cont, items)                                                                      \
    "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"" rv                          \
    "\",\"continue\":\"" cont "\"},\"items\":[" items "]}"

static const char gone_status[] = "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"too "
                                  "old resource version: 15 (40)\",\"reason\":\"Expired\","
                                  "\"code\":410}";

/* The whole life: a paged list, a watch with a bookmark that the server ends, 410 at the start of
 * the next watch, a relist delivered as the difference, a stream cut inside an event, a 410 ERROR
 * event, and a relist that finds nothing new. */
static void test_list_watch_relist_cycle(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {REPLY, 200, LIST("10", "c1", CM("a", "1") "," CM("b", "1")), 0},
        {REPLY, 200, LIST("10", "", CM("c", "1")), 0},
        {STREAM_END, 200,
         EV("MODIFIED", "a", "11") "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{"
                                   "\"resourceVersion\":\"15\"}}}\n",
         0},
        {REPLY, 410, gone_status, 0},
        {REPLY, 200, LIST("20", "", CM("a", "11") "," CM("c", "16") "," CM("d", "17")), 0},
        {STREAM_END, 200, EV("DELETED", "d", "21") "{\"type\":\"ADDED\",\"object\":{\"meta", 0},
        {STREAM_END, 200,
         "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\","
         "\"message\":\"too old\"}}\n",
         0},
        {REPLY, 200, LIST("30", "", CM("a", "11") "," CM("c", "16")), 0},
    };
    static const char *const want_requests[] = {
        "/api/v1/namespaces/ns/configmaps?labelSelector=app%3Dx&limit=2",
        "/api/v1/namespaces/ns/configmaps?labelSelector=app%3Dx&limit=2&continue=c1",
        "/api/v1/namespaces/ns/configmaps?watch=true&labelSelector=app%3Dx&resourceVersion=10&"
        "timeoutSeconds=",
        "/api/v1/namespaces/ns/configmaps?watch=true&labelSelector=app%3Dx&resourceVersion=15&",
        "/api/v1/namespaces/ns/configmaps?labelSelector=app%3Dx&limit=2",
        "/api/v1/namespaces/ns/configmaps?watch=true&labelSelector=app%3Dx&resourceVersion=20&",
        "/api/v1/namespaces/ns/configmaps?watch=true&labelSelector=app%3Dx&resourceVersion=21&",
        "/api/v1/namespaces/ns/configmaps?labelSelector=app%3Dx&limit=2",
        "/api/v1/namespaces/ns/configmaps?watch=true&labelSelector=app%3Dx&resourceVersion=30&",
    };
    struct server *s = server_start(script, sizeof(script) / sizeof(script[0]));
    struct krc_client *c = fake_kube_client(s->port, NULL, 5000, -1);
    struct log l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct krc_informer *inf = informer_on(c, &l, 0);
    struct krc_informer_stats st;

    assert_int_equal(krc_informer_wait_synced(inf, 5000), 0);
    wait_served(s, 9); /* the last is the idle watch from 30 */
    fake_sleep_ms(50);
    krc_informer_stats(inf, &st);
    krc_informer_stop(inf);

    assert_string_equal(l.text, "add a@1\nadd b@1\nadd c@1\n"
                                "update a@1->11\n"
                                "update c@1->16\nadd d@17\ndelete b@1\n"
                                "delete d@21\n");
    for (size_t i = 0; i < sizeof(want_requests) / sizeof(want_requests[0]); i++) {
        if (strncmp(s->requests[i], want_requests[i], strlen(want_requests[i])) != 0)
            fail_msg("request %zu: %s\nwant prefix: %s", i, s->requests[i], want_requests[i]);
        if (strstr(want_requests[i], "watch=true") &&
            !strstr(s->requests[i], "allowWatchBookmarks=true"))
            fail_msg("request %zu without bookmarks: %s", i, s->requests[i]);
    }
    assert_int_equal(st.lists, 3);
    assert_int_equal(st.gone, 2);
    assert_int_equal(st.errors, 1); /* the cut stream */
    assert_int_equal(st.events, 2);
    assert_string_equal(st.resource_version, "30");
    assert_int_equal(krc_store_len(krc_informer_store(inf)), 2);

    krc_informer_free(inf);
    krc_client_free(c);
    server_stop(s);
}

static void test_failed_list_is_retried_with_backoff(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {REPLY, 500, "{\"kind\":\"Status\",\"code\":500,\"message\":\"boom\"}", 0},
        {REPLY, 200, "{\"items\":[", 0}, /* a truncated list */
        {REPLY, 200, LIST("5", "", CM("a", "1")), 0},
    };
    struct server *s = server_start(script, 3);
    struct krc_client *c = fake_kube_client(s->port, NULL, 5000, -1);
    struct log l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct krc_informer *inf = informer_on(c, &l, 0);
    struct krc_informer_stats st;

    assert_int_equal(krc_informer_wait_synced(inf, 5000), 0);
    krc_informer_stats(inf, &st);
    assert_int_equal(st.errors, 2);
    assert_int_equal(st.lists, 1);
    assert_string_equal(l.text, "add a@1\n");
    krc_informer_free(inf);
    krc_client_free(c);
    server_stop(s);
}

static void test_resync_redelivers_every_object(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {REPLY, 200, LIST("5", "", CM("a", "1") "," CM("b", "1")), 0},
        /* watches that last a little over a second and end quietly, as the capped ones do */
        {STREAM_END, 200, "", 1100},
        {STREAM_END, 200, "", 1100},
    };
    struct server *s = server_start(script, 3);
    struct krc_client *c = fake_kube_client(s->port, NULL, 5000, -1);
    struct log l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct krc_informer *inf = informer_on(c, &l, 200);

    assert_int_equal(krc_informer_wait_synced(inf, 5000), 0);
    wait_served(s, 4);
    fake_sleep_ms(100);
    krc_informer_stop(inf);
    assert_true(l.resyncs >= 4); /* two objects, at least twice */
    assert_int_equal(l.resyncs % 2, 0);
    assert_string_equal(l.text, "add a@1\nadd b@1\n");
    /* the watch was capped to the resync period: timeoutSeconds=1 */
    assert_non_null(strstr(s->requests[1], "timeoutSeconds=1&"));
    krc_informer_free(inf);
    krc_client_free(c);
    server_stop(s);
}

static void test_stop_ends_an_idle_watch_promptly(void **state)
{
    (void)state;
    static const struct reply script[] = {{REPLY, 200, LIST("5", "", ""), 0}};
    struct server *s = server_start(script, 1);
    struct krc_client *c = fake_kube_client(s->port, NULL, 5000, -1);
    struct log l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct krc_informer *inf = informer_on(c, &l, 0);
    struct timespec t0, t1;
    struct krc_error err;

    assert_int_equal(krc_informer_wait_synced(inf, 5000), 0);
    wait_served(s, 2);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    krc_informer_stop(inf);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (ms > 2500)
        fail_msg("stop took %ld ms", ms);
    krc_informer_stop(inf); /* idempotent */
    assert_int_equal(krc_informer_wait_synced(inf, 0), 0);
    assert_int_equal(krc_informer_force_rewatch(inf, "1", &err), KRC_EINVAL);
    assert_int_equal(krc_informer_start(inf, &err), KRC_EINVAL);
    krc_informer_free(inf);
    krc_client_free(c);
    server_stop(s);
}

static void test_bad_options_are_rejected(void **state)
{
    (void)state;
    static const char *const nested[] = {"status", "status.phase"};
    struct krc_client *c = fake_kube_client(1, NULL, 5000, -1);
    struct krc_informer *inf = (void *)1;
    struct krc_error err;
    struct krc_informer_options o = {.resource = KRC_RESOURCE("", "v1", "pods", 1)};

    o.paths = nested;
    o.npaths = 2;
    assert_int_equal(krc_informer_new(c, &o, &inf, &err), KRC_EINVAL);
    assert_null(inf);
    assert_non_null(strstr(err.msg, "lies inside declared path"));
    o.npaths = 0;
    o.resource.resource = NULL;
    assert_int_equal(krc_informer_new(c, &o, &inf, &err), KRC_EINVAL);
    krc_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_watch_relist_cycle),
        cmocka_unit_test(test_failed_list_is_retried_with_backoff),
        cmocka_unit_test(test_resync_redelivers_every_object),
        cmocka_unit_test(test_stop_ends_an_idle_watch_promptly),
        cmocka_unit_test(test_bad_options_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
