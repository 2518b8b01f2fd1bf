/* portforward.c - a `kubectl port-forward` session (see portforward.h).
 *
 * The client opens two SPDY streams per forwarded connection, tagged with the same "requestid"
 * header: an "error" stream (which it half-closes at once: only we write to it) and a "data"
 * stream. We answer every valid SYN_STREAM with a SYN_REPLY and refuse invalid ones with
 * RST_STREAM, as the kubelet does. Once both streams of a request exist we connect to
 * 127.0.0.1:<port>, then [::1]:<port>, from a socket made in the pod's network namespace (the
 * thread enters it with setns(2) just for socket(2): a socket stays in the namespace it was
 * created in, as podnet.c does for netlink). Bytes then flow both ways: DATA frames of the data
 * stream into the socket, socket reads into DATA frames. The client's FIN on the data stream
 * half-closes the socket (shutdown SHUT_WR); the pod's EOF ends the pair: FIN on the data stream
 * and an empty FIN on the error stream. A connection that cannot be made gets the kubelet's
 * message on the error stream and a reset data stream (client-go then ends its whole
 * port-forward; that is its choice, not ours).
 *
 * One thread, one poll loop for the session and all its connections. Writes to the client block
 * (up to SEND_TIMEOUT_S), and the client's bytes for a pod socket are buffered up to
 * TO_POD_MAX; past that we stop reading the client until the pod reads. Like exec, that is the
 * only back-pressure SPDY without flow control offers, and its cost is head-of-line blocking: a
 * pod application that stops reading one connection stalls the session's other connections
 * (per-stream WINDOW_UPDATE flow control would avoid it, but the API server's spdystream does
 * not wait for window updates either). _GNU_SOURCE for setns. */
#define _GNU_SOURCE
#include "node/portforward.h"

#include "node/podjson.h"
#include "node/sandbox.h"
#include "kube/spdy.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    STREAM_TIMEOUT_MS = 30000, /* the kubelet's streamCreationTimeout: a pair must be complete */
    READ_CHUNK = 32 * 1024,
    IN_BUF_MAX = 2 * KRC_SPDY_MAX_FRAME,
    TO_POD_MAX = 1 << 20,
    SEND_TIMEOUT_S = 60,
    MAX_PAIRS = 256, /* connections at once per session; more streams are refused */
    STAT_MAX = 1024,
};

enum pair_state { PAIR_WAITING, PAIR_CONNECTING, PAIR_OPEN };

/* One forwarded connection: its two streams and the socket in the pod. */
struct pair {
    struct pair *next;
    char request_id[KRC_PORTFORWARD_ID_MAX];
    uint32_t data_id, error_id; /* 0 until that stream is opened */
    uint16_t port;
    enum pair_state state;
    unsigned long serial; /* unique in the session: tells a reused address from the old pair */
    int fd, family;       /* the socket in the pod and its address family */
    int v4_error;         /* errno of the 127.0.0.1 attempt, once made */
    int client_fin;       /* the client sends no more data */
    int shut_wr;          /* ... and the pod was told so */
    long long expires;    /* PAIR_WAITING: refused after this (monotonic ms) */
    struct krc_strbuf to_pod;
};

struct session {
    int sock;
    int own_netns; /* this thread's own network namespace, to return to */
    const struct krc_portforward_request *req;
    struct krc_spdy_zlib *z;
    struct krc_strbuf in, out;
    struct pair *pairs;
    size_t n_pairs;
    unsigned long next_serial;
    int sock_eof;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- pure part --- */

int krc_portforward_parse_headers(const uint8_t *block, size_t len, uint32_t stream_id,
                                  struct krc_portforward_headers *out, struct krc_error *err)
{
    char port[16], type[16];
    memset(out, 0, sizeof(*out));
    int rc = krc_spdy_headers_get(block, len, "port", port, sizeof(port));
    if (rc == KRC_ENOTFOUND || (rc == 0 && port[0] == '\0'))
        return krc_error_set(err, KRC_EINVAL, "\"port\" header is required");
    if (rc != 0)
        return krc_error_set(err, KRC_EINVAL, "unable to parse the \"port\" header as a port");
    char *end;
    errno = 0;
    unsigned long p = isdigit((unsigned char)port[0]) ? strtoul(port, &end, 10) : 0;
    if (!isdigit((unsigned char)port[0]) || errno || *end || p > UINT16_MAX)
        return krc_error_set(err, KRC_EINVAL, "unable to parse \"%s\" as a port", port);
    if (p < 1)
        return krc_error_set(err, KRC_EINVAL, "port \"%s\" must be > 0", port);
    out->port = (uint16_t)p;
    rc = krc_spdy_headers_get(block, len, "streamtype", type, sizeof(type));
    if (rc == KRC_ENOTFOUND || (rc == 0 && type[0] == '\0'))
        return krc_error_set(err, KRC_EINVAL, "\"streamType\" header is required");
    if (rc == 0 && strcmp(type, "error") == 0)
        out->type = KRC_PF_STREAM_ERROR;
    else if (rc == 0 && strcmp(type, "data") == 0)
        out->type = KRC_PF_STREAM_DATA;
    else
        return krc_error_set(err, KRC_EINVAL, "invalid stream type \"%s\"",
                             rc == 0 ? type : "(too long)");
    rc = krc_spdy_headers_get(block, len, "requestid", out->request_id, sizeof(out->request_id));
    if (rc == KRC_ETOOLARGE || rc == KRC_EINVAL)
        return krc_error_set(err, KRC_EINVAL, "requestID header too long");
    if (rc == KRC_ENOTFOUND || out->request_id[0] == '\0') {
        long long id = out->type == KRC_PF_STREAM_DATA ? (long long)stream_id - 2 : stream_id;
        snprintf(out->request_id, sizeof(out->request_id), "%lld", id);
    }
    return 0;
}

/* strerror as Go's syscall errors read: lower case first letter ("connection refused"). */
static void go_errno_text(int e, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", strerror(e));
    if (out[0] && isupper((unsigned char)out[0]) && !isupper((unsigned char)out[1]))
        out[0] = (char)tolower((unsigned char)out[0]);
}

int krc_portforward_connect_error(const char *pod_id, uint16_t port, int v4_error, int v6_error,
                                  char *out, size_t outlen)
{
    char e4[128], e6[128];
    go_errno_text(v4_error, e4, sizeof(e4));
    go_errno_text(v6_error, e6, sizeof(e6));
    int n = snprintf(out, outlen,
                     "error forwarding port %u to pod %s, uid : failed to connect to localhost:%u "
                     "inside namespace \"%s\", IPv4: dial tcp4 127.0.0.1:%u: connect: %s IPv6 dial "
                     "tcp6 [::1]:%u: connect: %s ",
                     port, pod_id, port, pod_id, port, e4, port, e6);
    return n < 0 || (size_t)n >= outlen ? KRC_ETOOLARGE : 0;
}

/* --- the pod's network namespace --- */

int krc_portforward_open_netns(const char *pod_dir, int *fd, struct krc_error *err)
{
    json_t *doc = NULL;
    int rc, dirfd = open(pod_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), procfd = -1, statfd = -1;
    char path[64], stat[STAT_MAX];
    *fd = -1;
    if (dirfd < 0)
        return krc_error_set(err, KRC_ENOTFOUND, "pod directory %s: %s", pod_dir, strerror(errno));
    rc = krc_podjson_read_file(dirfd, "sandbox.json", &doc, err);
    if (rc != 0)
        goto out;
    json_int_t pid = json_integer_value(json_object_get(doc, "pid"));
    json_int_t start = json_integer_value(json_object_get(doc, "start_time"));
    if (pid <= 0) {
        rc = krc_error_set(err, KRC_ENOTFOUND, "the pod sandbox has no supervisor");
        goto out;
    }
    /* /proc/<pid> as a directory fd pins the process we check: if the pid is reused after the
     * check, openat below fails instead of opening a stranger's namespace. */
    snprintf(path, sizeof(path), "/proc/%lld", (long long)pid);
    procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    statfd = procfd < 0 ? -1 : openat(procfd, "stat", O_RDONLY | O_CLOEXEC);
    ssize_t n = statfd < 0 ? -1 : read(statfd, stat, sizeof(stat) - 1);
    unsigned long long started = 0;
    if (n > 0)
        stat[n] = '\0';
    if (n <= 0 || krc_sandbox_parse_start_time(stat, &started) != 0 ||
        started != (unsigned long long)start) {
        rc = krc_error_set(err, KRC_ENOTFOUND, "the pod's supervisor (pid %lld) is not running",
                           (long long)pid);
        goto out;
    }
    *fd = openat(procfd, "ns/net", O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        rc = krc_error_set(err, KRC_ENOTFOUND, "the pod's network namespace: %s", strerror(errno));
out:
    json_decref(doc);
    if (statfd >= 0)
        close(statfd);
    if (procfd >= 0)
        close(procfd);
    close(dirfd);
    return rc;
}

/* A non-blocking TCP socket of family made in the pod's network namespace; -errno on failure. */
static int pod_socket(struct session *s, int family)
{
    if (setns(s->req->netns_fd, CLONE_NEWNET) != 0)
        return -errno;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int e = errno;
    if (setns(s->own_netns, CLONE_NEWNET) != 0) {
        /* Carrying on in a pod's namespace would serve the next request from the wrong one. */
        KRC_LOG_ERROR("cannot return to the agent's network namespace", "error", strerror(errno));
        abort();
    }
    return fd >= 0 ? fd : -e;
}

/* Starts a connection attempt to the pair's port (127.0.0.1 first, then ::1). 0 if under way
 * (or made), else the errno of the failure. */
static int start_connect(struct session *s, struct pair *p, int family)
{
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } a;
    socklen_t alen;
    memset(&a, 0, sizeof(a));
    if (family == AF_INET) {
        a.v4.sin_family = AF_INET;
        a.v4.sin_port = htons(p->port);
        a.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        alen = sizeof(a.v4);
    } else {
        a.v6.sin6_family = AF_INET6;
        a.v6.sin6_port = htons(p->port);
        a.v6.sin6_addr = in6addr_loopback;
        alen = sizeof(a.v6);
    }
    int fd = pod_socket(s, family);
    if (fd < 0)
        return -fd;
    if (connect(fd, (struct sockaddr *)&a, alen) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return e;
    }
    p->fd = fd;
    p->family = family;
    p->state = PAIR_CONNECTING;
    return 0;
}

/* --- the client side --- */

/* Writes and empties s->out (see execsession.c: the upgraded socket is non-blocking). */
static int flush_out(struct session *s)
{
    for (size_t off = 0; off < s->out.len;) {
        ssize_t n = send(s->sock, s->out.buf + off, s->out.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        struct pollfd pfd = {.fd = s->sock, .events = POLLOUT};
        if (n < 0 && errno == EAGAIN && poll(&pfd, 1, SEND_TIMEOUT_S * 1000) > 0)
            continue;
        if (n <= 0) {
            krc_strbuf_reset(&s->out);
            return KRC_EIO;
        }
        off += (size_t)n;
    }
    krc_strbuf_reset(&s->out);
    return 0;
}

static struct pair *pair_by_stream(struct session *s, uint32_t id)
{
    for (struct pair *p = s->pairs; p; p = p->next)
        if (id && (p->data_id == id || p->error_id == id))
            return p;
    return NULL;
}

static void pair_free(struct session *s, struct pair *p)
{
    for (struct pair **pp = &s->pairs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    s->n_pairs--;
    if (p->fd >= 0)
        close(p->fd);
    krc_strbuf_release(&p->to_pod);
    free(p);
}

/* The pod side is done: end both streams and forget the pair. */
static int pair_finish(struct session *s, struct pair *p)
{
    int rc = krc_spdy_add_data(p->data_id, KRC_SPDY_FLAG_FIN, NULL, 0, &s->out);
    if (rc == 0)
        rc = krc_spdy_add_data(p->error_id, KRC_SPDY_FLAG_FIN, NULL, 0, &s->out);
    pair_free(s, p);
    return rc;
}

/* No connection could be made: the message on the error stream, the data stream reset. */
static int pair_fail(struct session *s, struct pair *p, int v6_error)
{
    char msg[KRC_ERROR_MSG_MAX];
    krc_portforward_connect_error(s->req->pod_id, p->port, p->v4_error, v6_error, msg, sizeof(msg));
    KRC_LOG_DEBUG("port-forward: connect failed", "error", msg);
    int rc = krc_spdy_add_data(p->error_id, KRC_SPDY_FLAG_FIN, msg, strlen(msg), &s->out);
    if (rc == 0)
        rc = krc_spdy_add_rst_stream(p->data_id, KRC_SPDY_RST_CANCEL, &s->out);
    pair_free(s, p);
    return rc;
}

/* The IPv4 attempt failed with e: try IPv6, or give up. */
static int connect_next(struct session *s, struct pair *p, int family_failed, int e)
{
    if (p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
    if (family_failed == AF_INET6)
        return pair_fail(s, p, e);
    p->v4_error = e;
    int e6 = start_connect(s, p, AF_INET6);
    return e6 ? pair_fail(s, p, e6) : 0;
}

static int refuse_stream(struct session *s, uint32_t id, const char *why)
{
    KRC_LOG_DEBUG("port-forward: stream refused", "reason", why);
    return krc_spdy_add_rst_stream(id, KRC_SPDY_RST_CANCEL, &s->out);
}

static int on_syn_stream(struct session *s, const struct krc_spdy_frame *f)
{
    const uint8_t *block;
    size_t blen;
    struct krc_strbuf raw = KRC_STRBUF_INIT;
    struct krc_error err;
    struct krc_portforward_headers h;
    krc_error_clear(&err);
    /* Every header block goes through the inflater, even a refused stream's: the compression
     * context spans the connection. */
    int rc = krc_spdy_header_block(f, &block, &blen);
    if (rc == 0)
        rc = krc_spdy_headers_inflate(s->z, block, blen, &raw, &err);
    if (rc != 0) {
        krc_strbuf_release(&raw);
        return rc;
    }
    rc = krc_portforward_parse_headers((const uint8_t *)raw.buf, raw.len, f->stream_id, &h, &err);
    krc_strbuf_release(&raw);
    if (rc != 0)
        return refuse_stream(s, f->stream_id, err.msg);
    struct pair *p = s->pairs;
    while (p && strcmp(p->request_id, h.request_id) != 0)
        p = p->next;
    if (!p && s->n_pairs >= MAX_PAIRS)
        return refuse_stream(s, f->stream_id, "too many connections");
    if (p && (h.type == KRC_PF_STREAM_DATA ? p->data_id : p->error_id))
        return refuse_stream(s, f->stream_id, "stream already assigned");
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return KRC_ENOMEM;
        snprintf(p->request_id, sizeof(p->request_id), "%s", h.request_id);
        p->fd = -1;
        p->serial = ++s->next_serial;
        p->port = h.port;
        p->state = PAIR_WAITING;
        p->expires = now_ms() + STREAM_TIMEOUT_MS;
        krc_strbuf_init(&p->to_pod, 0);
        p->next = s->pairs;
        s->pairs = p;
        s->n_pairs++;
    }
    if (h.type == KRC_PF_STREAM_DATA) {
        p->data_id = f->stream_id;
        p->port = h.port; /* the kubelet dials the data stream's port */
        p->client_fin = f->flags & KRC_SPDY_FLAG_FIN;
    } else {
        p->error_id = f->stream_id;
    }
    rc = krc_spdy_add_syn_reply(s->z, f->stream_id, 0, NULL, NULL, 0, &s->out, &err);
    if (rc == 0 && p->data_id && p->error_id) {
        int e = start_connect(s, p, AF_INET);
        rc = e ? connect_next(s, p, AF_INET, e) : 0;
    }
    return rc;
}

static int on_data(struct session *s, const struct krc_spdy_frame *f)
{
    struct pair *p = pair_by_stream(s, f->stream_id);
    if (!p || f->stream_id != p->data_id || p->client_fin)
        return 0; /* the error stream carries nothing from the client */
    if (f->flags & KRC_SPDY_FLAG_FIN)
        p->client_fin = 1;
    return f->len ? krc_strbuf_add(&p->to_pod, f->payload, f->len) : 0;
}

/* The client reset one of a pair's streams: the connection is over. */
static int on_rst_stream(struct session *s, const struct krc_spdy_frame *f)
{
    struct pair *p = pair_by_stream(s, f->stream_id);
    if (!p)
        return 0;
    int rc = 0;
    if (p->error_id && p->error_id != f->stream_id)
        rc = krc_spdy_add_data(p->error_id, KRC_SPDY_FLAG_FIN, NULL, 0, &s->out);
    pair_free(s, p);
    return rc;
}

static int on_frames(struct session *s)
{
    size_t pos = 0;
    int rc = 0;
    while (rc == 0) {
        struct krc_spdy_frame f;
        ssize_t n = krc_spdy_parse((const uint8_t *)s->in.buf + pos, s->in.len - pos, &f);
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        pos += (size_t)n;
        switch (f.type) {
        case KRC_SPDY_SYN_STREAM:
            rc = on_syn_stream(s, &f);
            break;
        case KRC_SPDY_DATA:
            rc = on_data(s, &f);
            break;
        case KRC_SPDY_RST_STREAM:
            rc = on_rst_stream(s, &f);
            break;
        case KRC_SPDY_PING:
            rc = krc_spdy_add_ping(f.stream_id, &s->out);
            break;
        case KRC_SPDY_GOAWAY:
            s->sock_eof = 1;
            break;
        default:
            break; /* SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do */
        }
    }
    memmove(s->in.buf, s->in.buf + pos, s->in.len - pos);
    s->in.len -= pos;
    s->in.buf[s->in.len] = '\0';
    return rc;
}

static int read_sock(struct session *s)
{
    char buf[READ_CHUNK];
    ssize_t n = recv(s->sock, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        s->sock_eof = 1;
        return 0;
    }
    int rc = krc_strbuf_add(&s->in, buf, (size_t)n);
    return rc ? rc : on_frames(s);
}

/* --- the pod side --- */

static int on_connected(struct session *s, struct pair *p)
{
    int e = 0;
    socklen_t len = sizeof(e);
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
        e = errno;
    if (e == EINPROGRESS || e == EINTR)
        return 0;
    if (e)
        return connect_next(s, p, p->family, e);
    p->state = PAIR_OPEN;
    return 0;
}

/* Moves one chunk from the pod to the data stream; at EOF (or an error) ends the pair. */
static int pump_from_pod(struct session *s, struct pair *p)
{
    char buf[READ_CHUNK];
    ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return pair_finish(s, p);
    return krc_spdy_add_data(p->data_id, 0, buf, (size_t)n, &s->out);
}

static int pump_to_pod(struct session *s, struct pair *p)
{
    (void)s;
    if (p->to_pod.len) {
        ssize_t n = send(p->fd, p->to_pod.buf, p->to_pod.len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return 0;
        if (n < 0) { /* the pod side is gone: what it sent is still read to its EOF */
            krc_strbuf_reset(&p->to_pod);
            p->client_fin = 1;
        } else {
            memmove(p->to_pod.buf, p->to_pod.buf + n, p->to_pod.len - (size_t)n);
            p->to_pod.len -= (size_t)n;
        }
    }
    if (p->client_fin && !p->to_pod.len && !p->shut_wr) {
        if (shutdown(p->fd, SHUT_WR) != 0)
            KRC_LOG_DEBUG("port-forward: shutdown", "error", strerror(errno));
        p->shut_wr = 1;
    }
    return 0;
}

/* Refuses the streams of pairs still incomplete after STREAM_TIMEOUT_MS; returns the time until
 * the next such deadline (-1: none). */
static int expire_pairs(struct session *s, int *rc)
{
    long long now = now_ms(), next = -1;
    for (struct pair *p = s->pairs, *nx; p && *rc == 0; p = nx) {
        nx = p->next;
        if (p->state != PAIR_WAITING)
            continue;
        if (p->expires <= now) {
            KRC_LOG_DEBUG("port-forward: timed out waiting for streams", "request", p->request_id);
            uint32_t id = p->data_id ? p->data_id : p->error_id;
            *rc = krc_spdy_add_rst_stream(id, KRC_SPDY_RST_CANCEL, &s->out);
            pair_free(s, p);
        } else if (next < 0 || p->expires - now < next) {
            next = p->expires - now;
        }
    }
    return (int)next;
}

static int buffered_too_much(const struct session *s)
{
    for (const struct pair *p = s->pairs; p; p = p->next)
        if (p->to_pod.len >= TO_POD_MAX)
            return 1;
    return 0;
}

/* Moves bytes until the client goes away. */
static int run(struct session *s)
{
    struct pollfd *pfd = calloc(MAX_PAIRS + 1, sizeof(*pfd));
    struct pair **owner = calloc(MAX_PAIRS + 1, sizeof(*owner));
    unsigned long *serial = calloc(MAX_PAIRS + 1, sizeof(*serial));
    int rc = pfd && owner && serial ? 0 : KRC_ENOMEM;
    if (rc == 0 && s->in.len)
        rc = on_frames(s);
    if (rc == 0)
        rc = flush_out(s);
    while (rc == 0 && !s->sock_eof) {
        int timeout = expire_pairs(s, &rc);
        if (rc == 0)
            rc = flush_out(s);
        if (rc)
            break;
        nfds_t n = 0;
        /* Over the buffer cap only a hang-up (the client gone, or the agent stopping) is read. */
        pfd[n] = (struct pollfd){.fd = s->sock, .events = buffered_too_much(s) ? 0 : POLLIN};
        owner[n++] = NULL;
        for (struct pair *p = s->pairs; p; p = p->next) {
            if (p->state == PAIR_WAITING)
                continue;
            short ev = p->state == PAIR_CONNECTING ? POLLOUT : POLLIN;
            if (p->state == PAIR_OPEN && (p->to_pod.len || (p->client_fin && !p->shut_wr)))
                ev |= POLLOUT;
            pfd[n] = (struct pollfd){.fd = p->fd, .events = ev};
            serial[n] = p->serial;
            owner[n++] = p;
        }
        if (poll(pfd, n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            rc = KRC_EIO;
            break;
        }
        if (pfd[0].revents)
            rc = read_sock(s);
        /* A pair may be freed by an earlier step of this pass (and its memory reused by a new
         * one): only a pair still listed with the same serial gets the event. */
        for (nfds_t i = 1; rc == 0 && i < n; i++) {
            struct pair *p = owner[i];
            short rev = pfd[i].revents;
            int live = 0;
            for (struct pair *q = s->pairs; q && !live; q = q->next)
                live = q == p && q->serial == serial[i];
            if (!rev || !live)
                continue;
            if (p->state == PAIR_CONNECTING) {
                rc = on_connected(s, p);
                continue;
            }
            if (rev & POLLOUT)
                rc = pump_to_pod(s, p);
            if (rc == 0 && rev & (POLLIN | POLLHUP | POLLERR))
                rc = pump_from_pod(s, p);
        }
        if (rc == 0)
            rc = flush_out(s);
    }
    free(pfd);
    free(owner);
    free(serial);
    return rc;
}

void krc_portforward_serve(int sock, const char *extra, size_t extra_len,
                           const struct krc_portforward_request *req)
{
    struct session s;
    struct krc_error err;
    memset(&s, 0, sizeof(s));
    krc_error_clear(&err);
    s.sock = sock;
    s.req = req;
    krc_strbuf_init(&s.in, IN_BUF_MAX);
    krc_strbuf_init(&s.out, 0);
    struct timeval tv = {SEND_TIMEOUT_S, 0};
    if (setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
        KRC_LOG_DEBUG("port-forward: no send timeout", "error", strerror(errno));
    s.own_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int rc = s.own_netns < 0 ? krc_error_set(&err, KRC_EIO, "open own netns: %s", strerror(errno))
                             : krc_spdy_zlib_new(&s.z, &err);
    if (rc == 0 && extra_len)
        rc = krc_strbuf_add(&s.in, extra, extra_len);
    if (rc == 0)
        rc = run(&s);
    if (rc != 0 && rc != KRC_EIO)
        KRC_LOG_WARN("port-forward: session ended", "pod", req->pod_id, "error",
                     err.msg[0] ? err.msg : krc_strerror(rc));
    while (s.pairs)
        pair_free(&s, s.pairs);
    if (s.own_netns >= 0)
        close(s.own_netns);
    krc_spdy_zlib_free(s.z);
    krc_strbuf_release(&s.in);
    krc_strbuf_release(&s.out);
}
