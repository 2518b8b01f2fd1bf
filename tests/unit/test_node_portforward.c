/* Unit tests for node/portforward: the stream headers as the kubelet reads them, the error-stream
 * text, and a whole session over a socketpair (the client side played with node/spdy's frame
 * builders) forwarding to a listener on loopback. The session test enters the test's own network
 * namespace with setns(2), which needs CAP_SYS_ADMIN: without it, it is skipped. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/portforward.h"
#include "kube/spdy.h"
#include "util/error.h"
#include "util/strbuf.h"

#define IO_TIMEOUT_MS 10000

/* The uncompressed header block of a SYN_STREAM built from n name/value pairs, as the session
 * sees it after inflating. */
static void header_block(const char *const *names, const char *const *values, size_t n,
                         struct krc_strbuf *raw)
{
    struct krc_spdy_zlib *tx, *rx;
    struct krc_strbuf wire = KRC_STRBUF_INIT;
    struct krc_spdy_frame f;
    const uint8_t *block;
    size_t blen;
    assert_int_equal(krc_spdy_zlib_new(&tx, NULL), 0);
    assert_int_equal(krc_spdy_zlib_new(&rx, NULL), 0);
    assert_int_equal(krc_spdy_add_syn_stream(tx, 1, 0, names, values, n, &wire, NULL), 0);
    assert_true(krc_spdy_parse((const uint8_t *)wire.buf, wire.len, &f) > 0);
    assert_int_equal(krc_spdy_header_block(&f, &block, &blen), 0);
    assert_int_equal(krc_spdy_headers_inflate(rx, block, blen, raw, NULL), 0);
    krc_strbuf_release(&wire);
    krc_spdy_zlib_free(tx);
    krc_spdy_zlib_free(rx);
}

struct header_case {
    const char *streamtype, *port, *requestid; /* NULL: header absent */
    uint32_t stream_id;
    int rc;
    enum krc_portforward_stream type;
    unsigned port_value;
    const char *want_id; /* the request id, or a piece of the error message */
};

static const struct header_case header_cases[] = {
    {"data", "8080", "7", 3, 0, KRC_PF_STREAM_DATA, 8080, "7"},
    {"error", "65535", "0", 1, 0, KRC_PF_STREAM_ERROR, 65535, "0"},
    /* old clients send no requestid: error stream id, data stream id - 2 pair up */
    {"error", "80", NULL, 5, 0, KRC_PF_STREAM_ERROR, 80, "5"},
    {"data", "80", NULL, 7, 0, KRC_PF_STREAM_DATA, 80, "5"},
    {"data", "80", "", 9, 0, KRC_PF_STREAM_DATA, 80, "7"},
    {"data", NULL, "1", 1, KRC_EINVAL, 0, 0, "\"port\" header is required"},
    {"data", "", "1", 1, KRC_EINVAL, 0, 0, "\"port\" header is required"},
    {"data", "0", "1", 1, KRC_EINVAL, 0, 0, "must be > 0"},
    {"data", "65536", "1", 1, KRC_EINVAL, 0, 0, "unable to parse \"65536\" as a port"},
    {"data", "+80", "1", 1, KRC_EINVAL, 0, 0, "unable to parse"},
    {"data", "80x", "1", 1, KRC_EINVAL, 0, 0, "unable to parse"},
    {"data", "99999999999999999999", "1", 1, KRC_EINVAL, 0, 0, "unable to parse"},
    {NULL, "80", "1", 1, KRC_EINVAL, 0, 0, "\"streamType\" header is required"},
    {"stdout", "80", "1", 1, KRC_EINVAL, 0, 0, "invalid stream type \"stdout\""},
};

static void test_stream_headers_are_read_as_the_kubelet_reads_them(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
        const struct header_case *c = &header_cases[i];
        const char *names[3], *values[3];
        size_t n = 0;
        if (c->streamtype) {
            names[n] = "streamtype";
            values[n++] = c->streamtype;
        }
        if (c->port) {
            names[n] = "port";
            values[n++] = c->port;
        }
        if (c->requestid) {
            names[n] = "requestid";
            values[n++] = c->requestid;
        }
        struct krc_strbuf raw = KRC_STRBUF_INIT;
        struct krc_portforward_headers h;
        struct krc_error err;
        krc_error_clear(&err);
        header_block(names, values, n, &raw);
        int rc = krc_portforward_parse_headers((const uint8_t *)raw.buf, raw.len, c->stream_id, &h,
                                               &err);
        krc_strbuf_release(&raw);
        if (rc != c->rc)
            fail_msg("case %zu: rc %d, want %d (%s)", i, rc, c->rc, err.msg);
        if (rc != 0) {
            if (!strstr(err.msg, c->want_id))
                fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, c->want_id);
            continue;
        }
        if (h.type != c->type || h.port != c->port_value || strcmp(h.request_id, c->want_id))
            fail_msg("case %zu: got type %d port %u id %s", i, (int)h.type, h.port, h.request_id);
    }
}

static void test_connect_error_names_port_pod_and_both_attempts(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(
        krc_portforward_connect_error("uid-1", 9999, ECONNREFUSED, EAFNOSUPPORT, msg, sizeof(msg)),
        0);
    assert_string_equal(msg, "error forwarding port 9999 to pod uid-1, uid : failed to connect to "
                             "localhost:9999 inside namespace \"uid-1\", IPv4: dial tcp4 "
                             "127.0.0.1:9999: connect: connection refused IPv6 dial tcp6 "
                             "[::1]:9999: connect: address family not supported by protocol ");
    assert_int_equal(krc_portforward_connect_error("uid-1", 1, ECONNREFUSED, ECONNREFUSED, msg, 20),
                     KRC_ETOOLARGE);
}

/* --- a session over a socketpair --- */

struct client {
    int fd;
    struct krc_spdy_zlib *tx, *rx;
    struct krc_strbuf in;
};

static void client_send(struct client *c, struct krc_strbuf *frames)
{
    for (size_t off = 0; off < frames->len;) {
        ssize_t n = send(c->fd, frames->buf + off, frames->len - off, MSG_NOSIGNAL);
        assert_true(n > 0);
        off += (size_t)n;
    }
    krc_strbuf_reset(frames);
}

static void add_syn(struct client *c, uint32_t id, const char *type, unsigned port,
                    const char *request_id, struct krc_strbuf *out)
{
    char p[16];
    snprintf(p, sizeof(p), "%u", port);
    const char *names[] = {"streamtype", "port", "requestid"};
    const char *values[] = {type, p, request_id};
    assert_int_equal(krc_spdy_add_syn_stream(c->tx, id, 0, names, values, 3, out, NULL), 0);
}

/* The next frame from the session (its header block inflated, to keep rx in step); the payload
 * is copied to payload (NUL-terminated). */
static void next_frame(struct client *c, struct krc_spdy_frame *f, char *payload, size_t max)
{
    for (;;) {
        ssize_t n = krc_spdy_parse((const uint8_t *)c->in.buf, c->in.len, f);
        assert_true(n >= 0);
        if (n > 0) {
            size_t len = f->len < max - 1 ? f->len : max - 1;
            memcpy(payload, f->payload, len);
            payload[len] = '\0';
            if (f->type == KRC_SPDY_SYN_REPLY) {
                const uint8_t *block;
                size_t blen;
                struct krc_strbuf raw = KRC_STRBUF_INIT;
                assert_int_equal(krc_spdy_header_block(f, &block, &blen), 0);
                assert_int_equal(krc_spdy_headers_inflate(c->rx, block, blen, &raw, NULL), 0);
                krc_strbuf_release(&raw);
            }
            f->payload = NULL; /* points into c->in, which moves now */
            memmove(c->in.buf, c->in.buf + n, c->in.len - (size_t)n);
            c->in.len -= (size_t)n;
            return;
        }
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, IO_TIMEOUT_MS), 1);
        char buf[4096];
        ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
        assert_true(r > 0);
        assert_int_equal(krc_strbuf_add(&c->in, buf, (size_t)r), 0);
    }
}

static void expect_frame(struct client *c, enum krc_spdy_type type, uint32_t id, uint8_t flags,
                         const char *payload_part)
{
    struct krc_spdy_frame f;
    char payload[1024];
    next_frame(c, &f, payload, sizeof(payload));
    if (f.type != type || f.stream_id != id || (f.flags & KRC_SPDY_FLAG_FIN) != flags)
        fail_msg("got frame type %d stream %u flags %u, want type %d stream %u flags %u",
                 (int)f.type, f.stream_id, f.flags, (int)type, id, flags);
    if (payload_part && !strstr(payload, payload_part))
        fail_msg("stream %u: \"%s\" lacks \"%s\"", id, payload, payload_part);
}

struct server {
    int sock;
    struct krc_portforward_request req;
};

static void *serve_thread(void *arg)
{
    struct server *s = arg;
    krc_portforward_serve(s->sock, NULL, 0, &s->req);
    return NULL;
}

static int listener(unsigned *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void read_all(int fd, char *buf, size_t max)
{
    size_t got = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, IO_TIMEOUT_MS), 1);
        ssize_t n = recv(fd, buf + got, max - 1 - got, 0);
        assert_true(n >= 0);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
}

static void test_session_forwards_both_ways_and_reports_a_refused_port(void **state)
{
    (void)state;
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    assert_true(self >= 0);
    if (setns(self, CLONE_NEWNET) != 0) {
        close(self);
        skip(); /* no CAP_SYS_ADMIN */
    }
    unsigned port, closed;
    int lfd = listener(&port), cfd = listener(&closed);
    close(cfd); /* nothing listens on `closed` now */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    struct server srv = {.sock = sv[1], .req = {.pod_id = "pod-uid", .netns_fd = self}};
    struct client c = {.fd = sv[0]};
    struct krc_strbuf out = KRC_STRBUF_INIT;
    krc_strbuf_init(&c.in, 0);
    assert_int_equal(krc_spdy_zlib_new(&c.tx, NULL), 0);
    assert_int_equal(krc_spdy_zlib_new(&c.rx, NULL), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, serve_thread, &srv), 0);

    /* client-go's order: the error stream, half-closed at once, then the data stream */
    add_syn(&c, 1, "error", port, "0", &out);
    assert_int_equal(krc_spdy_add_data(1, KRC_SPDY_FLAG_FIN, NULL, 0, &out), 0);
    add_syn(&c, 3, "data", port, "0", &out);
    assert_int_equal(krc_spdy_add_data(3, 0, "ping", 4, &out), 0);
    assert_int_equal(krc_spdy_add_data(3, KRC_SPDY_FLAG_FIN, NULL, 0, &out), 0);
    client_send(&c, &out);
    expect_frame(&c, KRC_SPDY_SYN_REPLY, 1, 0, NULL);
    expect_frame(&c, KRC_SPDY_SYN_REPLY, 3, 0, NULL);
    int conn = accept(lfd, NULL, NULL);
    assert_true(conn >= 0);
    char got[64];
    read_all(conn, got, sizeof(got)); /* to EOF: the client's FIN half-closed the socket */
    assert_string_equal(got, "ping");
    assert_int_equal(send(conn, "pong", 4, MSG_NOSIGNAL), 4);
    close(conn);
    expect_frame(&c, KRC_SPDY_DATA, 3, 0, "pong");
    expect_frame(&c, KRC_SPDY_DATA, 3, KRC_SPDY_FLAG_FIN, NULL);
    expect_frame(&c, KRC_SPDY_DATA, 1, KRC_SPDY_FLAG_FIN, NULL);

    /* a port nobody listens on: the kubelet's message on the error stream, data stream reset */
    add_syn(&c, 5, "error", closed, "1", &out);
    add_syn(&c, 7, "data", closed, "1", &out);
    client_send(&c, &out);
    expect_frame(&c, KRC_SPDY_SYN_REPLY, 5, 0, NULL);
    expect_frame(&c, KRC_SPDY_SYN_REPLY, 7, 0, NULL);
    char want[64];
    snprintf(want, sizeof(want), "error forwarding port %u to pod pod-uid", closed);
    expect_frame(&c, KRC_SPDY_DATA, 5, KRC_SPDY_FLAG_FIN, want);
    expect_frame(&c, KRC_SPDY_RST_STREAM, 7, 0, NULL);

    /* a stream without a port is refused; the session carries on and answers a ping */
    const char *names[] = {"streamtype"}, *values[] = {"data"};
    assert_int_equal(krc_spdy_add_syn_stream(c.tx, 9, 0, names, values, 1, &out, NULL), 0);
    assert_int_equal(krc_spdy_add_ping(11, &out), 0);
    client_send(&c, &out);
    expect_frame(&c, KRC_SPDY_RST_STREAM, 9, 0, NULL);
    expect_frame(&c, KRC_SPDY_PING, 11, 0, NULL);

    /* two connections at once, the second answered first; then the client resets one */
    add_syn(&c, 13, "error", port, "2", &out);
    add_syn(&c, 15, "error", port, "3", &out);
    add_syn(&c, 17, "data", port, "2", &out);
    add_syn(&c, 19, "data", port, "3", &out);
    client_send(&c, &out);
    for (uint32_t id = 13; id <= 19; id += 2)
        expect_frame(&c, KRC_SPDY_SYN_REPLY, id, 0, NULL);
    int a = accept(lfd, NULL, NULL), b = accept(lfd, NULL, NULL);
    assert_true(a >= 0 && b >= 0);
    assert_int_equal(send(b, "second", 6, MSG_NOSIGNAL), 6);
    close(b);
    struct krc_spdy_frame f;
    char payload[64];
    next_frame(&c, &f, payload, sizeof(payload));
    uint32_t first = f.stream_id; /* 17 or 19: the accept order is the kernel's */
    assert_true(f.type == KRC_SPDY_DATA && (first == 17 || first == 19));
    assert_string_equal(payload, "second");
    expect_frame(&c, KRC_SPDY_DATA, first, KRC_SPDY_FLAG_FIN, NULL);
    expect_frame(&c, KRC_SPDY_DATA, first - 4, KRC_SPDY_FLAG_FIN, NULL);
    uint32_t other = first == 17 ? 19 : 17;
    assert_int_equal(krc_spdy_add_rst_stream(other, KRC_SPDY_RST_CANCEL, &out), 0);
    client_send(&c, &out);
    expect_frame(&c, KRC_SPDY_DATA, other - 4, KRC_SPDY_FLAG_FIN, NULL);
    read_all(a, got, sizeof(got)); /* the reset closed the pod-side socket */
    assert_string_equal(got, "");
    close(a);

    /* the client goes away: the session ends */
    close(c.fd);
    assert_int_equal(pthread_join(t, NULL), 0);
    close(sv[1]);
    close(lfd);
    close(self);
    krc_strbuf_release(&out);
    krc_strbuf_release(&c.in);
    krc_spdy_zlib_free(c.tx);
    krc_spdy_zlib_free(c.rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_headers_are_read_as_the_kubelet_reads_them),
        cmocka_unit_test(test_connect_error_names_port_pod_and_both_attempts),
        cmocka_unit_test(test_session_forwards_both_ways_and_reports_a_refused_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
