/* Unit tests of the REST client's request loop and streams against a scripted HTTP/1.1 server on
 * loopback: the behaviours a healthy API server never shows on demand (429 with Retry-After,
 * 503, connections dropped before or after the request, oversized bodies and lines, slow answers)
 * and that decide whether a request is repeated. The server answers each connection with the next
 * scripted response and closes it, and records what it was asked. */
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

enum { MAX_SCRIPT = 16, REQ_MAX = 64 * 1024 };

enum fake_mode {
    REPLY,      /* status, headers, body, close */
    CUT,        /* status and headers promising more body than is sent, close */
    DROP,       /* read the request, close without a word */
    STREAM,     /* 200, then body (no length), then hold until the client hangs up */
    STREAM_END, /* 200, then body (no length), then close */
};

struct fake_reply {
    enum fake_mode mode;
    int status;
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
    int delay_ms;
};

struct fake_server {
    struct fake_listener l;
    int port;
    struct fake_reply script[MAX_SCRIPT];
    int nscript;
    pthread_mutex_t mu;
    int served;
    char requests[MAX_SCRIPT][128]; /* "METHOD /path?query" */
    char auth[MAX_SCRIPT][128];     /* Authorization header */
    char ctype[MAX_SCRIPT][64];     /* Content-Type header */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void serve_one(void *arg, int fd)
{
    struct fake_server *s = arg;
    static char req[REQ_MAX];
    if (fake_read_request(fd, req, sizeof(req)) != 0)
        return;
    pthread_mutex_lock(&s->mu);
    int i = s->served < MAX_SCRIPT ? s->served : MAX_SCRIPT - 1;
    size_t n = strcspn(req, "\r\n");
    const char *sp = memchr(req, ' ', n);
    const char *sp2 = sp ? memchr(sp + 1, ' ', n - (size_t)(sp + 1 - req)) : NULL;
    snprintf(s->requests[i], sizeof(s->requests[i]), "%.*s", (int)(sp2 ? sp2 - req : (long)n), req);
    fake_header_value(req, "\r\nAuthorization:", s->auth[i], sizeof(s->auth[i]));
    fake_header_value(req, "\r\nContent-Type:", s->ctype[i], sizeof(s->ctype[i]));
    struct fake_reply r = s->served < s->nscript
                              ? s->script[s->served]
                              : (struct fake_reply){REPLY, 500, NULL, "script exhausted", 0};
    s->served++;
    pthread_mutex_unlock(&s->mu);

    if (r.delay_ms)
        fake_sleep_ms(r.delay_ms);
    if (r.mode == DROP)
        return;
    char head[512];
    const char *body = r.body ? r.body : "";
    if (r.mode == REPLY || r.mode == CUT)
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n%s\r\n",
                 r.status, strlen(body) + (r.mode == CUT ? 100 : 0), r.headers ? r.headers : "");
    else
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
    fake_write_all(fd, head, strlen(head));
    fake_write_all(fd, body, strlen(body));
    if (r.mode == STREAM)
        fake_hold_open(&s->l, fd); /* until the client hangs up (or the test ends) */
}

static struct fake_server *fake_start(const struct fake_reply *script, int n)
{
    struct fake_server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    assert_true(n <= MAX_SCRIPT);
    if (n)
        memcpy(s->script, script, (size_t)n * sizeof(*script));
    s->nscript = n;
    assert_int_equal(pthread_mutex_init(&s->mu, NULL), 0);
    fake_listener_start(&s->l, serve_one, s);
    s->port = s->l.port;
    return s;
}

static void fake_stop(struct fake_server *s)
{
    fake_listener_stop(&s->l);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* A client of http://127.0.0.1:port with the static token the tests look for. */
static struct krc_client *fake_client(int port, long timeout_ms, int max_retries)
{
    return fake_kube_client(port, "static-secret-token", timeout_ms, max_retries);
}

static const struct krc_resource configmaps = {"", "v1", "configmaps", 1};
static const char cm[] = "{\"metadata\":{\"name\":\"x\"}}";
static const char status503[] =
    "{\"kind\":\"Status\",\"code\":503,\"reason\":\"ServiceUnavailable\","
    "\"message\":\"etcd is down\"}";

static void test_429_is_retried_for_post_after_retry_after(void **state)
{
    (void)state;
    static const struct fake_reply script[] = {
        {REPLY, 429, "Retry-After: 1\r\n",
         "{\"kind\":\"Status\",\"code\":429,\"reason\":\"TooManyRequests\"}", 0},
        {REPLY, 201, NULL, cm, 0},
    };
    struct fake_server *s = fake_start(script, 2);
    struct krc_client *c = fake_client(s->port, 5000, 3);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    int64_t t0 = now_ms();
    int rc = krc_client_create(c, &configmaps, "default", cm, strlen(cm), NULL, &out, &err);
    int64_t took = now_ms() - t0;
    if (rc)
        fail_msg("create: %s", err.msg);
    assert_string_equal(out.buf, cm);
    assert_int_equal(s->served, 2);
    assert_string_equal(s->requests[1], "POST /api/v1/namespaces/default/configmaps");
    assert_string_equal(s->ctype[1], "application/json");
    assert_string_equal(s->auth[0], "Bearer static-secret-token");
    if (took < 950)
        fail_msg("retried after %lld ms, before Retry-After's second", (long long)took);
    krc_strbuf_release(&out);
    krc_client_free(c);
    fake_stop(s);
}

static void test_429_retry_after_as_an_http_date_is_honoured(void **state)
{
    (void)state;
    /* Two seconds ahead as an IMF-fixdate: the retry waits 1-2 s (whole seconds), where without
     * the date the client's own backoff would retry within 100 ms. */
    char header[80];
    time_t when = time(NULL) + 2;
    struct tm tm;
    assert_non_null(gmtime_r(&when, &tm));
    assert_true(
        strftime(header, sizeof(header), "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm) > 0);
    const struct fake_reply script[] = {
        {REPLY, 429, header, "{\"kind\":\"Status\",\"code\":429,\"reason\":\"TooManyRequests\"}",
         0},
        {REPLY, 201, NULL, cm, 0},
    };
    struct fake_server *s = fake_start(script, 2);
    struct krc_client *c = fake_client(s->port, 5000, 3);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    int64_t t0 = now_ms();
    int rc = krc_client_create(c, &configmaps, "default", cm, strlen(cm), NULL, &out, &err);
    int64_t took = now_ms() - t0;
    if (rc)
        fail_msg("create: %s", err.msg);
    assert_int_equal(s->served, 2);
    if (took < 950)
        fail_msg("retried after %lld ms, before the Retry-After date (%s)", (long long)took,
                 header);
    krc_strbuf_release(&out);
    krc_client_free(c);
    fake_stop(s);
}

static void test_503_is_retried_for_get_but_not_for_post(void **state)
{
    (void)state;
    static const struct fake_reply script[] = {
        {REPLY, 503, NULL, status503, 0},
        {REPLY, 200, NULL, cm, 0},
        {REPLY, 503, NULL, status503, 0},
        {REPLY, 201, NULL, cm, 0},
    };
    struct fake_server *s = fake_start(script, 4);
    struct krc_client *c = fake_client(s->port, 5000, 3);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    struct krc_client_stats st;

    int rc = krc_client_get(c, &configmaps, "default", "x", &out, &err);
    if (rc)
        fail_msg("get: %s", err.msg);
    assert_int_equal(s->served, 2);

    rc = krc_client_create(c, &configmaps, "default", cm, strlen(cm), NULL, &out, &err);
    assert_int_equal(rc, KRC_ESERVER);
    assert_int_equal(s->served, 3); /* not repeated: a POST may have been applied */
    assert_int_equal(out.len, 0);
    if (!strstr(err.msg, "create configmaps default/x: 503 ServiceUnavailable: etcd is down"))
        fail_msg("message: %s", err.msg);
    krc_client_stats(c, &st);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.attempts, 3);
    krc_strbuf_release(&out);
    krc_client_free(c);
    fake_stop(s);
}

static void test_dropped_connection_is_retried_only_when_idempotent(void **state)
{
    (void)state;
    static const struct fake_reply script[] = {
        {DROP, 0, NULL, NULL, 0},
        {REPLY, 200, NULL, cm, 0},
        {DROP, 0, NULL, NULL, 0},
    };
    struct fake_server *s = fake_start(script, 3);
    struct krc_client *c = fake_client(s->port, 5000, 3);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    static const char patch[] = "{\"data\":{\"a\":\"b\"}}";

    int rc = krc_client_update(c, &configmaps, "default", "x", cm, strlen(cm), NULL, &out, &err);
    if (rc)
        fail_msg("update: %s", err.msg);
    assert_int_equal(s->served, 2);
    assert_string_equal(s->requests[0], "PUT /api/v1/namespaces/default/configmaps/x");

    rc = krc_client_patch(c, &configmaps, "default", "x", NULL, KRC_PATCH_MERGE, patch,
                          strlen(patch), NULL, &out, &err);
    assert_int_equal(rc, KRC_EIO);
    assert_int_equal(s->served, 3);
    assert_string_equal(s->ctype[2], "application/merge-patch+json");
    if (!strstr(err.msg, "patch configmaps default/x"))
        fail_msg("message: %s", err.msg);
    krc_strbuf_release(&out);
    krc_client_free(c);
    fake_stop(s);
}

static void test_refused_connection_is_retried_even_for_post_then_gives_up(void **state)
{
    (void)state;
    /* A port with nothing listening: take one and close it. */
    struct fake_server *s = fake_start(NULL, 0);
    int port = s->port;
    fake_stop(s);
    struct krc_client *c = fake_client(port, 5000, 2);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    struct krc_client_stats st;
    int rc = krc_client_create(c, &configmaps, "default", cm, strlen(cm), NULL, &out, &err);
    assert_int_equal(rc, KRC_EIO);
    krc_client_stats(c, &st);
    assert_int_equal(st.attempts, 3); /* nothing reached a server: safe to repeat a POST */
    assert_int_equal(st.retries, 2);
    assert_null(strstr(err.msg, "static-secret-token"));
    krc_strbuf_release(&out);
    krc_client_free(c);
}

static void test_slow_answer_times_out_without_retry(void **state)
{
    (void)state;
    static const struct fake_reply script[] = {{REPLY, 200, NULL, cm, 1500}};
    struct fake_server *s = fake_start(script, 1);
    struct krc_client *c = fake_client(s->port, 300, 3);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    int64_t t0 = now_ms();
    assert_int_equal(krc_client_get(c, &configmaps, "default", "x", &out, &err), KRC_ETIMEOUT);
    assert_true(now_ms() - t0 < 1200);
    assert_int_equal(s->served, 1);
    krc_strbuf_release(&out);
    krc_client_free(c);
    fake_stop(s);
}

static void test_oversized_body_is_refused(void **state)
{
    (void)state;
    static char big[8192];
    memset(big, 'x', sizeof(big) - 1);
    struct fake_reply script[] = {{REPLY, 200, NULL, big, 0}};
    struct fake_server *s = fake_start(script, 1);
    struct krc_client *c = fake_client(s->port, 5000, 3);
    struct krc_strbuf out;
    struct krc_error err = {0, ""};
    krc_strbuf_init(&out, 1024);
    assert_int_equal(krc_client_get(c, &configmaps, "default", "x", &out, &err), KRC_ETOOLARGE);
    assert_int_equal(out.len, 0);
    assert_int_equal(s->served, 1);
    krc_strbuf_release(&out);
    krc_client_free(c);
    fake_stop(s);
}

static void test_401_with_static_token_is_not_retried(void **state)
{
    (void)state;
    static const struct fake_reply script[] = {
        {REPLY, 401, NULL, "{\"kind\":\"Status\",\"code\":401,\"reason\":\"Unauthorized\"}", 0}};
    struct fake_server *s = fake_start(script, 1);
    struct krc_client *c = fake_client(s->port, 5000, 3);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    assert_int_equal(krc_client_get(c, &configmaps, "default", "x", &out, &err), KRC_EUNAUTHORIZED);
    assert_int_equal(s->served, 1);
    assert_null(strstr(err.msg, "static-secret-token"));
    krc_strbuf_release(&out);
    krc_client_free(c);
    fake_stop(s);
}

static void test_error_status_with_cut_body_is_still_typed(void **state)
{
    (void)state;
    /* The API server closes unauthenticated HTTP/2 connections right after its 401. */
    static const struct fake_reply script[] = {
        {CUT, 401, NULL, "{\"kind\":\"Status\",\"code\":401,", 0},
        {CUT, 200, NULL, "{\"kind\":\"ConfigMap\",", 0},
        {REPLY, 200, NULL, cm, 0},
    };
    struct fake_server *s = fake_start(script, 3);
    struct krc_client *c = fake_client(s->port, 5000, 3);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    assert_int_equal(krc_client_get(c, &configmaps, "default", "x", &out, &err), KRC_EUNAUTHORIZED);
    if (!strstr(err.msg, "get configmaps default/x: HTTP 401"))
        fail_msg("message: %s", err.msg);
    /* A cut 2xx body is a broken transfer, not an answer: a GET is repeated. */
    int rc = krc_client_get(c, &configmaps, "default", "x", &out, &err);
    if (rc)
        fail_msg("get: %s", err.msg);
    assert_string_equal(out.buf, cm);
    assert_int_equal(s->served, 3);
    krc_strbuf_release(&out);
    krc_client_free(c);
    fake_stop(s);
}

/* ---- streams ---- */

struct lines_seen {
    int n;
    char last[64];
    struct krc_cancel *cancel_at_3;
};

static int on_line(void *ctx, const char *line, size_t len)
{
    struct lines_seen *ls = ctx;
    (void)len;
    ls->n++;
    snprintf(ls->last, sizeof(ls->last), "%s", line);
    if (ls->n == 3 && ls->cancel_at_3)
        krc_cancel_request(ls->cancel_at_3); /* as another thread would */
    return 0;
}

static const char three[] =
    "{\"type\":\"ADDED\"}\n{\"type\":\"MODIFIED\"}\n{\"type\":\"DELETED\"}\n";

static void test_stream_delivers_lines_and_stops_on_cancel(void **state)
{
    (void)state;
    struct fake_reply script[] = {{STREAM, 200, NULL, three, 0}};
    struct fake_server *s = fake_start(script, 1);
    struct krc_client *c = fake_client(s->port, 5000, 3);
    struct krc_cancel cancel = KRC_CANCEL_INIT;
    struct lines_seen ls = {0, "", &cancel};
    struct krc_stream_opts so = {.on_line = on_line, .ctx = &ls, .cancel = &cancel};
    struct krc_list_opts lo = {.resource_version = "42", .timeout_seconds = 30};
    struct krc_error err = {0, ""};
    int64_t t0 = now_ms();
    assert_int_equal(krc_client_watch(c, &configmaps, "default", &lo, &so, &err), KRC_ECANCELED);
    assert_true(now_ms() - t0 < 2500);
    assert_int_equal(ls.n, 3);
    assert_string_equal(ls.last, "{\"type\":\"DELETED\"}");
    assert_string_equal(s->requests[0], "GET /api/v1/namespaces/default/configmaps"
                                        "?watch=true&resourceVersion=42&timeoutSeconds=30");
    krc_client_free(c);
    fake_stop(s);
}

static void test_stream_retries_before_first_byte_and_ends_cleanly(void **state)
{
    (void)state;
    struct fake_reply script[] = {
        {REPLY, 503, NULL, status503, 0},
        {STREAM_END, 200, NULL, three, 0},
    };
    struct fake_server *s = fake_start(script, 2);
    struct krc_client *c = fake_client(s->port, 5000, 3);
    struct lines_seen ls = {0, "", NULL};
    struct krc_stream_opts so = {.on_line = on_line, .ctx = &ls};
    struct krc_error err = {0, ""};
    int rc = krc_client_watch(c, &configmaps, NULL, NULL, &so, &err);
    if (rc)
        fail_msg("watch: %s", err.msg);
    assert_int_equal(ls.n, 3);
    assert_int_equal(s->served, 2);
    assert_string_equal(s->requests[1], "GET /api/v1/configmaps?watch=true");
    krc_client_free(c);
    fake_stop(s);
}

static void test_stream_errors_for_long_line_and_cut_line(void **state)
{
    (void)state;
    static char longline[256];
    memset(longline, 'y', 200);
    longline[200] = '\n';
    struct fake_reply script[] = {
        {STREAM_END, 200, NULL, longline, 0},
        {STREAM_END, 200, NULL, "{\"type\":\"ADDED\"}\n{\"type\":\"MOD", 0},
    };
    struct fake_server *s = fake_start(script, 2);
    struct krc_client *c = fake_client(s->port, 5000, 3);
    struct lines_seen ls = {0, "", NULL};
    struct krc_stream_opts so = {.on_line = on_line, .ctx = &ls, .max_line = 100};
    struct krc_error err = {0, ""};
    assert_int_equal(krc_client_watch(c, &configmaps, "default", NULL, &so, &err), KRC_ETOOLARGE);
    if (!strstr(err.msg, "longer than 100 bytes"))
        fail_msg("message: %s", err.msg);
    assert_int_equal(ls.n, 0);
    assert_int_equal(krc_client_watch(c, &configmaps, "default", NULL, &so, &err), KRC_EIO);
    if (!strstr(err.msg, "ended inside a line"))
        fail_msg("message: %s", err.msg);
    assert_int_equal(ls.n, 1);
    assert_int_equal(s->served, 2); /* neither is retried: lines had been delivered */
    krc_client_free(c);
    fake_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_429_is_retried_for_post_after_retry_after),
        cmocka_unit_test(test_429_retry_after_as_an_http_date_is_honoured),
        cmocka_unit_test(test_503_is_retried_for_get_but_not_for_post),
        cmocka_unit_test(test_dropped_connection_is_retried_only_when_idempotent),
        cmocka_unit_test(test_refused_connection_is_retried_even_for_post_then_gives_up),
        cmocka_unit_test(test_slow_answer_times_out_without_retry),
        cmocka_unit_test(test_oversized_body_is_refused),
        cmocka_unit_test(test_401_with_static_token_is_not_retried),
        cmocka_unit_test(test_error_status_with_cut_body_is_still_typed),
        cmocka_unit_test(test_stream_delivers_lines_and_stops_on_cancel),
        cmocka_unit_test(test_stream_retries_before_first_byte_and_ends_cleanly),
        cmocka_unit_test(test_stream_errors_for_long_line_and_cut_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
