/* Unit tests for kube/exec over http.h's Upgrade against a fake API server on loopback (plain
 * http://): the handshake the client sends, frames that arrive in the same read as the 101 head,
 * a message split into fragments with an empty first one, a ping answered by a masked pong, the
 * exit code from the error channel, and the answers that must fail (a non-101 Status, a wrong
 * Sec-WebSocket-Accept, a frame the RFC forbids). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_http.h"
#include "fake_kube.h"
#include "kube/exec.h"
#include "kube/websocket.h"

enum { REQ_MAX = 8192, READ_MAX = 4096 };

enum scenario { RUN_OK, FORBIDDEN, BAD_ACCEPT, BAD_FRAME };

struct server {
    enum scenario what;
    char request[REQ_MAX];
    int pong_ok;  /* the client answered the ping with a masked pong, same payload */
    int close_ok; /* the client sent a masked close frame */
};

static void frame(struct krc_strbuf *sb, int op, int fin, const char *p, size_t n)
{
    assert_int_equal(krc_ws_encode(sb, op, fin, p, n, NULL), 0);
}

/* Reads client frames until one of opcode op arrives (or the client goes); checks its payload. */
static int expect_client_frame(int fd, int op, const char *payload, size_t n)
{
    unsigned char buf[READ_MAX];
    size_t len = 0;
    for (;;) {
        struct krc_ws_frame f;
        char why[96];
        long used = krc_ws_decode(buf, len, READ_MAX, 1, &f, why, sizeof(why));
        if (used < 0)
            return 0;
        if (used > 0) {
            if (f.opcode == op)
                return !payload || (f.len == n && memcmp(f.payload, payload, n) == 0);
            memmove(buf, buf + used, len - (size_t)used);
            len -= (size_t)used;
            continue;
        }
        ssize_t r = read(fd, buf + len, sizeof(buf) - len);
        if (r <= 0)
            return 0;
        len += (size_t)r;
    }
}

static void serve(void *arg, int fd)
{
    struct server *s = arg;
    char key[128], accept[KRC_WS_ACCEPT_LEN + 1];
    struct krc_strbuf out = KRC_STRBUF_INIT;
    static const char status[] =
        "\x03{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":["
        "{\"reason\":\"ExitCode\",\"message\":\"7\"}]}}";
    static const char close_payload[] = {0x03, (char)0xE8};

    if (fake_read_request(fd, s->request, sizeof(s->request)) != 0)
        return;
    if (s->what == FORBIDDEN) {
        static const char body[] =
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
            "\"message\":\"pods \\\"p\\\" is forbidden\",\"reason\":"
            "\"Forbidden\",\"code\":403}";
        char head[256];
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         sizeof(body) - 1);
        fake_write_all(fd, head, (size_t)n);
        fake_write_all(fd, body, sizeof(body) - 1);
        return;
    }
    fake_header_value(s->request, "\r\nSec-WebSocket-Key:", key, sizeof(key));
    krc_ws_accept_for(key, accept);
    assert_int_equal(
        krc_strbuf_addf(&out,
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                        "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n",
                        s->what == BAD_ACCEPT ? "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" : accept),
        0);
    if (s->what == BAD_FRAME) {
        assert_int_equal(krc_strbuf_add(&out, "\xC2\x01\x01", 3), 0); /* a reserved bit */
        fake_write_all(fd, out.buf, out.len);
        krc_strbuf_release(&out);
        (void)expect_client_frame(fd, KRC_WS_OP_CLOSE, NULL, 0);
        return;
    }
    /* In the same write as the head: stdout split over three frames, the first empty. */
    frame(&out, KRC_WS_OP_BINARY, 0, "", 0);
    frame(&out, KRC_WS_OP_CONTINUATION, 0, "\x01hel", 4);
    frame(&out, KRC_WS_OP_CONTINUATION, 1, "lo\n", 3);
    frame(&out, KRC_WS_OP_PING, 1, "p1", 2);
    fake_write_all(fd, out.buf, out.len);
    krc_strbuf_reset(&out);
    s->pong_ok = expect_client_frame(fd, KRC_WS_OP_PONG, "p1", 2);
    frame(&out, KRC_WS_OP_BINARY, 1, "\x02oops\n", 6);
    frame(&out, KRC_WS_OP_BINARY, 1, "\x04{}", 3); /* resize: ignored */
    frame(&out, KRC_WS_OP_BINARY, 1, status, sizeof(status) - 1);
    frame(&out, KRC_WS_OP_CLOSE, 1, close_payload, sizeof(close_payload));
    fake_write_all(fd, out.buf, out.len);
    krc_strbuf_release(&out);
    s->close_ok = expect_client_frame(fd, KRC_WS_OP_CLOSE, NULL, 0);
}

struct output {
    struct krc_strbuf out, err;
};

static int collect(void *ctx, int channel, const char *data, size_t len)
{
    struct output *o = ctx;
    return krc_strbuf_add(channel == KRC_EXEC_STDOUT ? &o->out : &o->err, data, len);
}

static int run(struct server *s, struct output *out, struct krc_exec_result *res,
               struct krc_error *err)
{
    struct fake_listener l;
    const char *argv[] = {"sh", "-c", "echo hello"};
    struct krc_exec_opts o = {.ns = "ns",
                              .pod = "p",
                              .container = "c",
                              .argv = argv,
                              .argc = 3,
                              .want_stderr = 1,
                              .on_output = collect,
                              .ctx = out,
                              .timeout_ms = 10000};
    krc_strbuf_init(&out->out, 0);
    krc_strbuf_init(&out->err, 0);
    fake_listener_start(&l, serve, s);
    struct krc_client *c = fake_kube_client(l.port, "tok", 10000, 0);
    int rc = krc_exec(c, &o, res, err);
    fake_listener_stop(&l);
    krc_client_free(c);
    return rc;
}

static void release(struct output *out)
{
    krc_strbuf_release(&out->out);
    krc_strbuf_release(&out->err);
}

static void test_exec_demuxes_channels_and_reads_the_exit_code(void **state)
{
    (void)state;
    struct server s = {.what = RUN_OK};
    struct output out;
    struct krc_exec_result res;
    struct krc_error err = {0, ""};
    int rc = run(&s, &out, &res, &err);
    if (rc)
        fail_msg("exec: %d %s", rc, err.msg);
    assert_string_equal(out.out.buf, "hello\n");
    assert_string_equal(out.err.buf, "oops\n");
    assert_int_equal(res.exit_code, 7);
    assert_string_equal(res.protocol, "v5.channel.k8s.io");
    assert_true(s.pong_ok);
    assert_true(s.close_ok);
    /* The handshake the client sent. */
    assert_non_null(strstr(s.request, "GET /api/v1/namespaces/ns/pods/p/exec?command=sh&command=-c"
                                      "&command=echo%20hello&container=c&stdout=true&stderr=true "
                                      "HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "\r\nUpgrade: websocket\r\n"));
    assert_non_null(strstr(s.request, "\r\nSec-WebSocket-Version: 13\r\n"));
    assert_non_null(
        strstr(s.request, "\r\nSec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n"));
    assert_non_null(strstr(s.request, "\r\nAuthorization: Bearer tok\r\n"));
    release(&out);
}

struct failing_case {
    enum scenario what;
    int want_rc;
    const char *msg_part;
};

static void test_refused_or_broken_sessions_fail(void **state)
{
    (void)state;
    static const struct failing_case cases[] = {
        {FORBIDDEN, KRC_EFORBIDDEN, "is forbidden"},
        {BAD_ACCEPT, KRC_EIO, "Sec-WebSocket-Accept"},
        {BAD_FRAME, KRC_EIO, "reserved bits"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct server s = {.what = cases[i].what};
        struct output out;
        struct krc_exec_result res;
        struct krc_error err = {0, ""};
        int rc = run(&s, &out, &res, &err);
        if (rc != cases[i].want_rc || !strstr(err.msg, cases[i].msg_part))
            fail_msg("case %zu: rc %d \"%s\", want %d with \"%s\"", i, rc, err.msg,
                     cases[i].want_rc, cases[i].msg_part);
        assert_int_equal(res.exit_code, -1);
        release(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_demuxes_channels_and_reads_the_exit_code),
        cmocka_unit_test(test_refused_or_broken_sessions_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
