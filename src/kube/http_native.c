/* http_native.c - the API server transport on a TLS library and nghttp2 (KRC_HTTP_BACKEND=native).
 *
 * Why hand-written: Debian's libcurl is built with every protocol and authentication scheme, so
 * loading it maps some 33 more libraries (GnuTLS through librtmp, Kerberos, LDAP, SASL, libssh2,
 * libpsl, ...) and costs about 7 MB of resident memory in a process whose whole budget is 5 MB.
 * The API server needs one thing: HTTPS (HTTP/2 via ALPN, HTTP/1.1 otherwise) to one host. The
 * protocol work is done by libraries: GnuTLS or OpenSSL (KRC_TLS, behind tls.h) does TLS and
 * certificate checks, nghttp2 does the HTTP/2 framing, HPACK and flow control. Only the glue is
 * ours: sockets, a blocking loop with deadlines, an HTTP/1.1 response reader (status line, headers,
 * Content-Length and chunked bodies), and the connection pool. http.c is the libcurl backend of the
 * same interface (http.h).
 *
 * Model (as in http.c): a mutex-guarded LIFO pool of connections; a request takes one for its
 * whole exchange (a watch keeps it for the stream's life) and puts it back if it is still clean.
 * An HTTP/2 connection thus carries one stream at a time. Each connection is driven by the thread
 * that holds it, with non-blocking sockets and poll(2) in slices of POLL_SLICE_MS, so deadlines,
 * the request's cancel flag and krc_http_shutdown take effect within that slice. A request that
 * fails on a reused connection before any response byte arrived (the server closed it while idle)
 * is repeated once on a new connection, as libcurl does. TLS sessions are resumed across
 * connections (the newest session ticket is kept, in tls_*.c). SIGPIPE: plain sockets use
 * MSG_NOSIGNAL and the TLS layer never raises it, so a process need not ignore SIGPIPE. Plain
 * http:// to any host works the same way (HTTP/1.1), so the transport can also serve other HTTP
 * clients. Retry-After is read in both forms (seconds and HTTP-date, retry.h). Not supported
 * (nor used by the API client): proxies, h2c, response compression. */
#include "kube/http.h"

#include "kube/retry.h"
#include "kube/tls.h"
#include "kube/token.h"
#include "util/log.h"
#include "util/mutex.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    DEFAULT_CONNECT_TIMEOUT_MS = 10 * 1000,
    DEFAULT_MAX_IDLE = 8,
    POLL_SLICE_MS = 200,         /* how often a blocked call checks cancel flags */
    READ_BUF = 16 * 1024,        /* per connection; one TLS record */
    HEADER_MAX = 64 * 1024,      /* an HTTP/1.1 response head larger than this is refused */
    LINE_MAX_LEN = 8 * 1024,     /* one header or chunk-size line */
    H2_WINDOW = 4 * 1024 * 1024, /* receive window, stream and connection (Go: 4 MB a stream) */
    H2_MAX_STREAMS = 100,        /* advertised; we open one at a time */
    TCP_KEEPALIVE_S = 60,        /* first probe after this idle time, then every interval */
    ERRMSG_MAX = 256,
    ALIVE_READS_MAX = 64, /* reads of what an idle connection received before giving up on it */
};

/* One TCP (+TLS) connection, HTTP/1.1 or HTTP/2. Owned by one thread at a time. */
struct conn {
    int fd;
    struct krc_tls_conn *tls; /* NULL for http:// */
    nghttp2_session *h2;      /* NULL for HTTP/1.1 */
    int dead;                 /* must not be reused */
    char *rbuf;               /* READ_BUF bytes; [rpos, rlen) unread */
    size_t rpos, rlen;
    struct xfer *x; /* the exchange in progress (HTTP/2 callbacks find it here) */
};

struct krc_http {
    char *server;    /* URL prefix shown to users (tls-server-name in place of the host) */
    int tls;         /* https:// */
    char *host;      /* to connect to (no brackets around IPv6) */
    char *port;      /* decimal */
    char *prefix;    /* path prefix of the server URL, "" or "/x" */
    char *authority; /* Host / :authority */
    char *verify_name;
    char *user_agent;
    long connect_timeout_ms;
    struct krc_tls_ctx *tls_ctx; /* NULL for http:// */
    struct krc_bearer bearer;
    int bearer_ok;

    pthread_mutex_t mu; /* guards idle and nidle */
    int mu_ok;
    struct conn **idle;
    int nidle, max_idle;

    struct krc_cancel shutdown;
    _Atomic uint64_t n_attempts, n_connections, n_http2;
};

/* One attempt. */
struct xfer {
    struct krc_http *h;
    const struct krc_http_request *req;
    struct krc_http_response *resp;
    int64_t deadline_ms; /* 0 = none */
    int sink_rc;         /* what the body sink failed with */
    int stream_closed;   /* HTTP/2: the stream ended */
    uint32_t h2_error;   /* HTTP/2: RST_STREAM / GOAWAY code of the stream */
    int32_t stream_id;
    size_t body_off;    /* HTTP/2: request body bytes handed to nghttp2 */
    int transient_fail; /* the failure is worth another try */
    int refused;        /* HTTP/2: the server refused the stream unprocessed (REFUSED_STREAM) */
    int http1_only;     /* a connection for an Upgrade: ALPN http/1.1 only */
    struct krc_strbuf *head_lines; /* when set, the response's header lines, each + NUL */
    char msg[ERRMSG_MAX];
};

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dup_str(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = strdup(s);
    return *out ? 0 : KRC_ENOMEM;
}

static int dup_n(const char *s, size_t n, char **out)
{
    *out = malloc(n + 1);
    if (!*out)
        return KRC_ENOMEM;
    memcpy(*out, s, n);
    (*out)[n] = '\0';
    return 0;
}

static void wipe(void *p, size_t n)
{
    volatile char *v = p;
    for (size_t i = 0; i < n; i++)
        v[i] = 0;
}

static void wipe_strbuf(struct krc_strbuf *sb)
{
    if (sb->alloc)
        wipe(sb->buf, sb->alloc);
    krc_strbuf_release(sb);
}

/* Records why the attempt failed (the first reason wins) and returns code. */
static int fail(struct xfer *x, int code, int transient, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct xfer *x, int code, int transient, const char *fmt, ...)
{
    if (!x->msg[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
        va_end(ap);
        x->transient_fail = transient;
    }
    return code;
}

/* ---- waiting ---- */

static int canceled(const struct xfer *x)
{
    return krc_cancel_requested(x->req->cancel) || krc_cancel_requested(&x->h->shutdown);
}

/* Waits until fd is ready for events, the deadline passes or the exchange is canceled. */
static int wait_fd(struct xfer *x, int fd, short events, int64_t deadline, const char *doing)
{
    for (;;) {
        if (canceled(x))
            return fail(x, KRC_ECANCELED, 0, "canceled");
        int slice = POLL_SLICE_MS;
        if (deadline) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return fail(x, KRC_ETIMEOUT, 1, "timed out %s", doing);
            if (left < slice)
                slice = (int)left;
        }
        struct pollfd p = {fd, events, 0};
        int n = poll(&p, 1, slice);
        if (n > 0)
            return 0; /* ready, or an error/hangup the next I/O call reports */
        if (n < 0 && errno != EINTR)
            return fail(x, KRC_EIO, 1, "poll: %s", strerror(errno));
    }
}

/* ---- connection I/O ---- */

/* Reads what is available (waiting for at least one byte): > 0 bytes, 0 at EOF, < 0 on error. */
static ssize_t conn_read(struct xfer *x, struct conn *c, char *buf, size_t len)
{
    if (canceled(x))
        return fail(x, KRC_ECANCELED, 0, "canceled");
    for (;;) {
        if (c->tls) {
            struct krc_tls_status st;
            ssize_t n = krc_tls_read(c->tls, buf, len, &st);
            if (n >= 0)
                return n;
            if (n == KRC_TLS_WANT_READ || n == KRC_TLS_WANT_WRITE) {
                int rc = wait_fd(x, c->fd, n == KRC_TLS_WANT_READ ? POLLIN : POLLOUT,
                                 x->deadline_ms, "waiting for the response");
                if (rc)
                    return rc;
                continue;
            }
            return fail(x, KRC_EIO, 1, "%s", st.msg);
        }
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd(x, c->fd, POLLIN, x->deadline_ms, "waiting for the response");
            if (rc)
                return rc;
            continue;
        }
        if (errno == ECONNRESET)
            return 0;
        return fail(x, KRC_EIO, 1, "recv: %s", strerror(errno));
    }
}

static int conn_write(struct xfer *x, struct conn *c, const char *data, size_t len)
{
    while (len > 0) {
        if (canceled(x))
            return fail(x, KRC_ECANCELED, 0, "canceled");
        ssize_t n;
        int want = POLLOUT;
        if (c->tls) {
            struct krc_tls_status st;
            n = krc_tls_write(c->tls, data, len, &st);
            if (n == KRC_TLS_WANT_READ || n == KRC_TLS_WANT_WRITE) {
                want = n == KRC_TLS_WANT_READ ? POLLIN : POLLOUT;
                n = 0;
            } else if (n < 0) {
                return fail(x, KRC_EIO, 1, "%s", st.msg);
            }
        } else {
            n = send(c->fd, data, len, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    return fail(x, KRC_EIO, 1, "send: %s", strerror(errno));
                n = 0;
            }
        }
        if (n == 0) {
            int rc = wait_fd(x, c->fd, (short)want, x->deadline_ms, "sending the request");
            if (rc)
                return rc;
            continue;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void conn_free(struct conn *c)
{
    if (!c)
        return;
    if (c->h2)
        nghttp2_session_del(c->h2);
    if (c->tls)
        krc_tls_conn_free(c->tls, !c->dead); /* no close_notify on a broken connection */
    if (c->fd >= 0)
        close(c->fd);
    free(c->rbuf);
    free(c);
}

/* ---- HTTP/2 callbacks (nghttp2 calls them from mem_recv / mem_send) ---- */

static int deliver(struct xfer *x, const char *data, size_t n);

static int h2_on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *ud)
{
    (void)s;
    (void)flags;
    struct conn *c = ud;
    struct xfer *x = c->x;
    char v[64]; /* :status and Retry-After; the longest date form (RFC 850) takes 33 bytes */
    if (!x || frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != x->stream_id)
        return 0;
    if (valuelen >= sizeof(v))
        return 0;
    memcpy(v, value, valuelen);
    v[valuelen] = '\0';
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        long st = strtol(v, NULL, 10);
        if (st >= 200) /* 1xx heads are informational */
            x->resp->status = st;
    } else if (namelen == 11 && memcmp(name, "retry-after", 11) == 0) {
        long secs;
        if (krc_retry_after_parse(v, (int64_t)time(NULL), &secs) == 0)
            x->resp->retry_after_s = secs;
    }
    return 0;
}

static int h2_on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                      size_t len, void *ud)
{
    (void)s;
    (void)flags;
    struct conn *c = ud;
    struct xfer *x = c->x;
    if (!x || stream_id != x->stream_id)
        return 0;
    return deliver(x, (const char *)data, len) ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int h2_on_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    (void)s;
    struct conn *c = ud;
    struct xfer *x = c->x;
    if (x && stream_id == x->stream_id) {
        x->stream_closed = 1;
        x->h2_error = error_code;
    }
    return 0;
}

static int h2_on_frame(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
    (void)s;
    struct conn *c = ud;
    if (frame->hd.type == NGHTTP2_GOAWAY)
        c->dead = 1; /* finish what is under way, open no new stream here */
    return 0;
}

static ssize_t h2_read_body(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *source, void *ud)
{
    (void)s;
    (void)stream_id;
    (void)source;
    struct conn *c = ud;
    struct xfer *x = c->x;
    const struct krc_http_request *req = x->req;
    size_t left = req->body_len - x->body_off;
    size_t n = left < length ? left : length;
    if (n)
        memcpy(buf, req->body + x->body_off, n);
    x->body_off += n;
    if (x->body_off == req->body_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Creates the HTTP/2 session of a connection whose TLS handshake chose "h2". */
static int h2_start(struct conn *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return KRC_ENOMEM;
    nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_on_frame);
    int rc = nghttp2_session_client_new(&c->h2, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) {
        c->h2 = NULL;
        return KRC_ENOMEM;
    }
    const nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW},
    };
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0 ||
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, H2_WINDOW) != 0)
        return KRC_ENOMEM; /* the only failure of either with these arguments */
    return 0;
}

/* Sends every frame nghttp2 has queued. */
static int h2_flush(struct xfer *x, struct conn *c)
{
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->h2, &data);
        if (n < 0)
            return fail(x, n == NGHTTP2_ERR_NOMEM ? KRC_ENOMEM : KRC_EIO, 1, "HTTP/2: %s",
                        nghttp2_strerror((int)n));
        if (n == 0)
            return 0;
        int rc = conn_write(x, c, (const char *)data, (size_t)n);
        if (rc)
            return rc;
    }
}

/* ---- opening a connection ---- */

static void set_sockopts(int fd)
{
    int one = 1, idle = TCP_KEEPALIVE_S;
    /* Latency and dead-peer detection only: a failure here is not worth failing a request. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle)) != 0)
        KRC_LOG_DEBUG("setsockopt failed", "error", strerror(errno));
}

static int tcp_connect(struct xfer *x, struct conn *c, int64_t deadline)
{
    struct krc_http *h = x->h;
    struct addrinfo hints, *ai = NULL;
    int rc = 0, last = ECONNREFUSED;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int g = getaddrinfo(h->host, h->port, &hints, &ai);
    if (g != 0)
        return fail(x, g == EAI_MEMORY ? KRC_ENOMEM : KRC_EIO, 1, "cannot resolve %s: %s", h->host,
                    gai_strerror(g));
    for (struct addrinfo *p = ai; p && c->fd < 0; p = p->ai_next) {
        int fd = socket(p->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, p->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, p->ai_addr, p->ai_addrlen) != 0 && errno != EINPROGRESS) {
            last = errno;
            close(fd);
            continue;
        }
        rc = wait_fd(x, fd, POLLOUT, deadline, "connecting");
        if (rc) {
            close(fd);
            break;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = errno;
        if (soerr) {
            last = soerr;
            close(fd);
            continue;
        }
        set_sockopts(fd);
        c->fd = fd;
    }
    freeaddrinfo(ai);
    if (rc)
        return rc;
    if (c->fd < 0) {
        x->resp->connect_refused = last == ECONNREFUSED;
        return fail(x, KRC_EIO, 1, "cannot connect to %s port %s: %s", h->host, h->port,
                    strerror(last));
    }
    return 0;
}

static int tls_connect(struct xfer *x, struct conn *c, int64_t deadline)
{
    struct krc_http *h = x->h;
    struct krc_tls_status st;

    int rc = krc_tls_conn_new(h->tls_ctx, c->fd, h->verify_name, x->http1_only, &c->tls, &st);
    if (rc)
        return fail(x, st.sys_errno == ENOMEM ? KRC_ENOMEM : KRC_EIO, 0, "TLS (server name %s): %s",
                    h->verify_name, st.msg);
    for (;;) {
        rc = krc_tls_handshake(c->tls, &st);
        if (rc == 0)
            break;
        if (rc == KRC_TLS_WANT_READ || rc == KRC_TLS_WANT_WRITE) {
            rc = wait_fd(x, c->fd, rc == KRC_TLS_WANT_READ ? POLLIN : POLLOUT, deadline,
                         "in the TLS handshake");
            if (rc)
                return rc;
            continue;
        }
        c->dead = 1;          /* no close_notify on a failed handshake */
        if (st.verify_failed) /* fails the same way every time: not transient */
            return fail(x, KRC_EIO, 0, "TLS: server certificate verification failed: %s", st.msg);
        return fail(x, KRC_EIO, 1, "TLS handshake with %s port %s: %s", h->host, h->port, st.msg);
    }
    if (krc_tls_is_h2(c->tls) && h2_start(c) != 0)
        return fail(x, KRC_ENOMEM, 0, "HTTP/2: out of memory");
    return 0;
}

static int conn_open(struct xfer *x, struct conn **out)
{
    struct krc_http *h = x->h;
    int64_t deadline = now_ms() + h->connect_timeout_ms;
    if (x->deadline_ms && x->deadline_ms < deadline)
        deadline = x->deadline_ms;
    *out = NULL;
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return fail(x, KRC_ENOMEM, 0, "out of memory");
    c->fd = -1;
    c->rbuf = malloc(READ_BUF);
    if (!c->rbuf) {
        conn_free(c);
        return fail(x, KRC_ENOMEM, 0, "out of memory");
    }
    int rc = tcp_connect(x, c, deadline);
    if (!rc && h->tls)
        rc = tls_connect(x, c, deadline);
    if (rc) {
        c->dead = 1;
        conn_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- the pool ---- */

/* Whether an idle connection is still usable: reads (without waiting) what the server sent
 * meanwhile. An HTTP/2 server may have sent SETTINGS, PING or GOAWAY; an HTTP/1.1 server nothing
 * but its close. TLS 1.3 session tickets are consumed here too. */
static int conn_alive(struct conn *c)
{
    for (int i = 0; i < ALIVE_READS_MAX; i++) {
        ssize_t n;
        if (c->tls) {
            struct krc_tls_status st;
            n = krc_tls_read(c->tls, c->rbuf, READ_BUF, &st);
            if (n <= 0)
                return n == KRC_TLS_WANT_READ;
        } else {
            n = recv(c->fd, c->rbuf, READ_BUF, MSG_DONTWAIT);
            if (n < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK;
            if (n == 0)
                return 0;
        }
        if (!c->h2)
            return 0; /* bytes nobody asked for */
        if (nghttp2_session_mem_recv(c->h2, (const uint8_t *)c->rbuf, (size_t)n) < 0 || c->dead)
            return 0;
    }
    return 0;
}

static struct conn *pool_get(struct krc_http *h)
{
    for (;;) {
        struct conn *c = NULL;
        krc_mutex_lock(&h->mu);
        if (h->nidle > 0)
            c = h->idle[--h->nidle];
        krc_mutex_unlock(&h->mu);
        if (!c || conn_alive(c))
            return c;
        c->dead = 1;
        conn_free(c);
    }
}

static void pool_put(struct krc_http *h, struct conn *c)
{
    krc_mutex_lock(&h->mu);
    if (h->nidle < h->max_idle) {
        h->idle[h->nidle++] = c;
        c = NULL;
    }
    krc_mutex_unlock(&h->mu);
    conn_free(c); /* the pool is full: close this connection */
}

/* ---- the response body sink ---- */

/* Hands body bytes to where the request wants them; an error body is kept for its message. */
static int deliver(struct xfer *x, const char *data, size_t n)
{
    const struct krc_http_request *req = x->req;
    long st = x->resp->status;
    int rc = 0;
    if (st < 200 || st > 299) {
        struct krc_strbuf *b = &x->resp->body;
        size_t room = KRC_HTTP_ERROR_BODY_MAX - b->len;
        if (n > room)
            n = room; /* keep the start, drop the rest */
        if (n && krc_strbuf_add(b, data, n) != 0)
            rc = KRC_ENOMEM;
    } else if (req->on_chunk) {
        rc = req->on_chunk(req->chunk_ctx, data, n);
    } else if (req->out) {
        rc = n > req->out_max - req->out->len ? KRC_ETOOLARGE : krc_strbuf_add(req->out, data, n);
    }
    if (rc)
        x->sink_rc = rc;
    return rc;
}

/* ---- HTTP/1.1 ---- */

enum { CUT = 1 }; /* the connection closed before the body ended */

struct h1_head {
    long status;
    int keep_alive, chunked;
    long long length; /* Content-Length, -1 when absent */
};

/* Refills the connection's buffer: 1, 0 at EOF, or an error. */
static int h1_fill(struct xfer *x, struct conn *c)
{
    ssize_t n = conn_read(x, c, c->rbuf, READ_BUF);
    if (n < 0)
        return (int)n;
    c->rpos = 0;
    c->rlen = (size_t)n;
    return n > 0;
}

/* One line without its CRLF: 1, 0 at EOF before the line ended, or an error. */
static int h1_line(struct xfer *x, struct conn *c, struct krc_strbuf *line)
{
    krc_strbuf_reset(line);
    for (;;) {
        if (c->rpos == c->rlen) {
            int rc = h1_fill(x, c);
            if (rc <= 0)
                return rc;
        }
        const char *start = c->rbuf + c->rpos;
        const char *nl = memchr(start, '\n', c->rlen - c->rpos);
        size_t n = nl ? (size_t)(nl - start) : c->rlen - c->rpos;
        int rc = krc_strbuf_add(line, start, n);
        if (rc)
            return fail(x, rc, 0, "a response header line is longer than %d bytes", LINE_MAX_LEN);
        c->rpos += n + (nl ? 1 : 0);
        if (nl) {
            if (line->len && line->buf[line->len - 1] == '\r')
                line->buf[--line->len] = '\0';
            return 1;
        }
    }
}

static int ends_with_token(const char *value, const char *token)
{
    size_t n = strlen(value), t = strlen(token);
    return n >= t && strcasecmp(value + n - t, token) == 0;
}

static void h1_header(struct xfer *x, struct h1_head *r, char *line)
{
    char *colon = strchr(line, ':');
    if (!colon)
        return;
    *colon = '\0';
    char *v = colon + 1, *end;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        v[--n] = '\0';
    if (strcasecmp(line, "Content-Length") == 0) {
        long long len = strtoll(v, &end, 10);
        r->length = end != v && *end == '\0' && len >= 0 ? len : -2;
    } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
        r->chunked = ends_with_token(v, "chunked");
    } else if (strcasecmp(line, "Connection") == 0) {
        if (strcasecmp(v, "close") == 0)
            r->keep_alive = 0;
        else if (strcasecmp(v, "keep-alive") == 0)
            r->keep_alive = 1;
    } else if (strcasecmp(line, "Retry-After") == 0) {
        long secs;
        if (krc_retry_after_parse(v, (int64_t)time(NULL), &secs) == 0)
            x->resp->retry_after_s = secs;
    }
}

/* Reads the status line and headers (skipping 1xx heads): 1, 0 at EOF, or an error. */
static int h1_read_head(struct xfer *x, struct conn *c, struct h1_head *r, struct krc_strbuf *line)
{
    for (;;) {
        int major = 0, minor = 0, rc = h1_line(x, c, line);
        size_t total = line->len;
        if (rc <= 0)
            return rc;
        memset(r, 0, sizeof(*r));
        r->length = -1;
        if (sscanf(line->buf, "HTTP/%d.%d %ld", &major, &minor, &r->status) != 3 ||
            r->status < 100 || r->status > 999)
            return fail(x, KRC_EIO, 1, "malformed HTTP status line");
        r->keep_alive = major == 1 && minor >= 1;
        if (x->head_lines)
            krc_strbuf_reset(x->head_lines);
        for (;;) {
            rc = h1_line(x, c, line);
            if (rc <= 0)
                return rc;
            total += line->len;
            if (total > HEADER_MAX)
                return fail(x, KRC_EIO, 0, "response headers larger than %d bytes", HEADER_MAX);
            if (!line->len)
                break;
            if (x->head_lines && krc_strbuf_add(x->head_lines, line->buf, line->len + 1) != 0)
                return fail(x, KRC_ENOMEM, 0, "out of memory");
            h1_header(x, r, line->buf);
        }
        if (r->length == -2)
            return fail(x, KRC_EIO, 1, "malformed Content-Length");
        if (r->status >= 200 || r->status == 101)
            return 1;
    }
}

/* Passes n body bytes on: 0, CUT, or an error. */
static int h1_copy(struct xfer *x, struct conn *c, unsigned long long n)
{
    while (n > 0) {
        if (c->rpos == c->rlen) {
            int rc = h1_fill(x, c);
            if (rc <= 0)
                return rc < 0 ? rc : CUT;
        }
        size_t avail = c->rlen - c->rpos;
        size_t k = avail < n ? avail : (size_t)n;
        int rc = deliver(x, c->rbuf + c->rpos, k);
        if (rc)
            return rc;
        c->rpos += k;
        n -= k;
    }
    return 0;
}

static int h1_read_body(struct xfer *x, struct conn *c, struct h1_head *r, struct krc_strbuf *line)
{
    int rc;
    if (strcmp(x->req->method, "HEAD") == 0 || r->status == 204 || r->status == 304 ||
        r->status < 200)
        return 0;
    if (r->chunked) {
        for (;;) {
            if ((rc = h1_line(x, c, line)) <= 0)
                return rc < 0 ? rc : CUT;
            char *end;
            unsigned long long size = strtoull(line->buf, &end, 16);
            if (end == line->buf)
                return fail(x, KRC_EIO, 1, "malformed chunked body");
            if (size == 0)
                break;
            if ((rc = h1_copy(x, c, size)) != 0)
                return rc;
            if ((rc = h1_line(x, c, line)) <= 0)
                return rc < 0 ? rc : CUT;
            if (line->len)
                return fail(x, KRC_EIO, 1, "malformed chunked body");
        }
        do { /* trailers, up to the empty line */
            if ((rc = h1_line(x, c, line)) <= 0)
                return rc < 0 ? rc : CUT;
        } while (line->len);
        return 0;
    }
    if (r->length >= 0)
        return h1_copy(x, c, (unsigned long long)r->length);
    r->keep_alive = 0; /* the body runs to the connection's end */
    for (;;) {
        if (c->rpos == c->rlen && (rc = h1_fill(x, c)) <= 0)
            return rc;
        if ((rc = deliver(x, c->rbuf + c->rpos, c->rlen - c->rpos)) != 0)
            return rc;
        c->rpos = c->rlen;
    }
}

/* Whether a request sends a body (and so a Content-Length), as libcurl did for these methods. */
static int sends_body(const struct krc_http_request *req)
{
    return strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
           (req->body || strcmp(req->method, "DELETE") != 0);
}

static int h1_exchange(struct xfer *x, struct conn *c, const struct krc_strbuf *tok)
{
    struct krc_http *h = x->h;
    const struct krc_http_request *req = x->req;
    struct krc_strbuf rq = KRC_STRBUF_INIT, line;
    struct h1_head head;
    int rc;

    krc_strbuf_init(&line, LINE_MAX_LEN);
    if (krc_strbuf_addf(&rq, "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: %s\r\n",
                        req->method, h->prefix, req->path_and_query, h->authority, h->user_agent,
                        req->accept ? req->accept : "application/json") != 0 ||
        (req->content_type &&
         krc_strbuf_addf(&rq, "Content-Type: %s\r\n", req->content_type) != 0) ||
        (tok->len && krc_strbuf_addf(&rq, "Authorization: Bearer %s\r\n", tok->buf) != 0) ||
        (req->extra_header_name && krc_strbuf_addf(&rq, "%s: %s\r\n", req->extra_header_name,
                                                   req->extra_header_value) != 0) ||
        (sends_body(req) &&
         krc_strbuf_addf(&rq, "Content-Length: %zu\r\n", req->body ? req->body_len : 0) != 0) ||
        krc_strbuf_adds(&rq, "\r\n") != 0 ||
        (req->body && req->body_len && krc_strbuf_add(&rq, req->body, req->body_len) != 0)) {
        rc = fail(x, KRC_ENOMEM, 0, "out of memory");
        goto out;
    }
    rc = conn_write(x, c, rq.buf, rq.len);
    if (rc)
        goto out;
    rc = h1_read_head(x, c, &head, &line);
    if (rc == 0)
        rc = fail(x, KRC_EIO, 1, "the server closed the connection without answering");
    if (rc < 0)
        goto out;
    x->resp->status = head.status;
    rc = h1_read_body(x, c, &head, &line);
    if (rc == CUT) {
        c->dead = 1;
        rc = fail(x, KRC_EIO, 1, "the connection closed before the response ended");
    }
    if (!rc && (!head.keep_alive || c->rpos != c->rlen))
        c->dead = 1;
out:
    if (rc)
        c->dead = 1;
    wipe_strbuf(&rq);
    krc_strbuf_release(&line);
    return rc;
}

/* ---- HTTP/2 ---- */

#define NV(n, v, f)                                                                                \
    {                                                                                              \
        (uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), sizeof(n) - 1, strlen(v), (f)        \
    }

static int h2_exchange(struct xfer *x, struct conn *c, const struct krc_strbuf *tok)
{
    struct krc_http *h = x->h;
    const struct krc_http_request *req = x->req;
    struct krc_strbuf path = KRC_STRBUF_INIT, auth = KRC_STRBUF_INIT;
    char clen[24];
    nghttp2_nv nv[10];
    size_t n = 0;
    int rc = 0;

    if (krc_strbuf_addf(&path, "%s%s", h->prefix, req->path_and_query) != 0 ||
        (tok->len && krc_strbuf_addf(&auth, "Bearer %s", tok->buf) != 0)) {
        rc = fail(x, KRC_ENOMEM, 0, "out of memory");
        goto out;
    }
    /* nghttp2 copies names and values; the nv array itself may live on the stack. */
    nv[n++] = (nghttp2_nv)NV(":method", req->method, NGHTTP2_NV_FLAG_NONE);
    nv[n++] = (nghttp2_nv)NV(":scheme", "https", NGHTTP2_NV_FLAG_NONE);
    nv[n++] = (nghttp2_nv)NV(":authority", h->authority, NGHTTP2_NV_FLAG_NONE);
    nv[n++] = (nghttp2_nv)NV(":path", path.buf, NGHTTP2_NV_FLAG_NONE);
    nv[n++] = (nghttp2_nv)NV("user-agent", h->user_agent, NGHTTP2_NV_FLAG_NONE);
    nv[n++] = (nghttp2_nv)NV("accept", req->accept ? req->accept : "application/json",
                             NGHTTP2_NV_FLAG_NONE);
    if (req->content_type)
        nv[n++] = (nghttp2_nv)NV("content-type", req->content_type, NGHTTP2_NV_FLAG_NONE);
    if (auth.len) /* never in the HPACK table */
        nv[n++] = (nghttp2_nv)NV("authorization", auth.buf, NGHTTP2_NV_FLAG_NO_INDEX);
    if (req->extra_header_name) {
        nghttp2_nv extra = {(uint8_t *)(uintptr_t)req->extra_header_name,
                            (uint8_t *)(uintptr_t)req->extra_header_value,
                            strlen(req->extra_header_name), strlen(req->extra_header_value),
                            NGHTTP2_NV_FLAG_NO_INDEX};
        nv[n++] = extra;
    }
    if (sends_body(req)) {
        snprintf(clen, sizeof(clen), "%zu", req->body ? req->body_len : 0);
        nv[n++] = (nghttp2_nv)NV("content-length", clen, NGHTTP2_NV_FLAG_NONE);
    }
    nghttp2_data_provider prov = {.source = {.ptr = NULL}, .read_callback = h2_read_body};
    c->x = x;
    int32_t id =
        nghttp2_submit_request(c->h2, NULL, nv, n, req->body && req->body_len ? &prov : NULL, NULL);
    if (id < 0) {
        rc = fail(x, id == NGHTTP2_ERR_NOMEM ? KRC_ENOMEM : KRC_EIO, 1, "HTTP/2: %s",
                  nghttp2_strerror(id));
        goto out;
    }
    x->stream_id = id;
    for (;;) {
        if ((rc = h2_flush(x, c)) != 0 || x->stream_closed)
            break;
        ssize_t r = conn_read(x, c, c->rbuf, READ_BUF);
        if (r <= 0) {
            rc = r < 0 ? (int)r
                 : x->resp->status
                     ? fail(x, KRC_EIO, 1, "the connection closed before the response ended")
                     : fail(x, KRC_EIO, 1, "the server closed the connection without answering");
            break;
        }
        ssize_t m = nghttp2_session_mem_recv(c->h2, (const uint8_t *)c->rbuf, (size_t)r);
        if (m < 0) {
            rc = x->sink_rc ? x->sink_rc
                            : fail(x, m == NGHTTP2_ERR_NOMEM ? KRC_ENOMEM : KRC_EIO, 1,
                                   "HTTP/2: %s", nghttp2_strerror((int)m));
            break;
        }
    }
    if (!rc && x->h2_error) {
        /* REFUSED_STREAM (also what a GOAWAY below our stream id means) guarantees that the
         * server did not act on the request, so even a POST may be sent again. */
        x->refused = x->h2_error == NGHTTP2_REFUSED_STREAM && !x->resp->status;
        rc = fail(x, KRC_EIO, 1, "HTTP/2 stream reset: %s", nghttp2_http2_strerror(x->h2_error));
    }
    if (!rc && !x->resp->status)
        rc = fail(x, KRC_EIO, 1, "HTTP/2 stream ended without a status");
    if (rc || !nghttp2_session_want_read(c->h2))
        c->dead = 1; /* a stream cut short leaves the session's state unknown */
out:
    c->x = NULL;
    if (rc)
        c->dead = 1;
    wipe_strbuf(&auth);
    krc_strbuf_release(&path);
    return rc;
}

/* ---- the client ---- */

/* Splits the server URL; with tls-server-name, that name is the Host and the verified name while
 * connections still go to the URL's host. */
static int parse_server(struct krc_http *h, const struct krc_kubeconfig *cfg, struct krc_error *err)
{
    const char *u = cfg->server, *p, *host, *port = NULL;
    size_t hostlen, portlen = 0;
    const char *tsn = cfg->tls_server_name && *cfg->tls_server_name ? cfg->tls_server_name : NULL;

    if (strncasecmp(u, "https://", 8) == 0) {
        h->tls = 1;
        p = u + 8;
    } else if (strncasecmp(u, "http://", 7) == 0) {
        p = u + 7;
    } else {
        return krc_error_set(err, KRC_EINVAL, "http client: server %s is not an http(s) URL", u);
    }
    size_t alen = strcspn(p, "/?#");
    const char *rest = p + alen;
    if (alen == 0 || memchr(p, '@', alen))
        return krc_error_set(err, KRC_EINVAL, "http client: server %s: unsupported host part", u);
    if (p[0] == '[') {
        const char *close = memchr(p, ']', alen);
        if (!close)
            return krc_error_set(err, KRC_EINVAL, "http client: server %s: bad IPv6 address", u);
        host = p + 1;
        hostlen = (size_t)(close - host);
        if (close + 1 < rest && close[1] == ':')
            port = close + 2;
        else if (close + 1 != rest)
            return krc_error_set(err, KRC_EINVAL, "http client: server %s: bad host", u);
    } else {
        const char *colon = memchr(p, ':', alen);
        host = p;
        hostlen = colon ? (size_t)(colon - p) : alen;
        if (colon)
            port = colon + 1;
    }
    if (port) {
        portlen = (size_t)(rest - port);
        long v = 0;
        for (size_t i = 0; i < portlen; i++)
            v = port[i] >= '0' && port[i] <= '9' && v < 65536 ? v * 10 + (port[i] - '0') : -1;
        if (portlen == 0 || v <= 0 || v > 65535)
            return krc_error_set(err, KRC_EINVAL, "http client: server %s: bad port", u);
    }
    size_t plen = strcspn(rest, "?#");
    while (plen > 0 && rest[plen - 1] == '/')
        plen--;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    int rc = dup_n(host, hostlen, &h->host) || dup_n(rest, plen, &h->prefix) ||
             (port ? dup_n(port, portlen, &h->port) : dup_str(h->tls ? "443" : "80", &h->port)) ||
             dup_str(tsn ? tsn : h->host, &h->verify_name);
    if (!rc && tsn)
        rc = krc_strbuf_addf(&sb, "%s%s%.*s", tsn, port ? ":" : "", (int)portlen, port ? port : "");
    else if (!rc)
        rc = krc_strbuf_add(&sb, p, alen);
    if (!rc) {
        h->authority = krc_strbuf_detach(&sb);
        rc = !h->authority;
    }
    if (!rc)
        rc = krc_strbuf_addf(&sb, "%s://%s%s", h->tls ? "https" : "http", h->authority, h->prefix);
    if (!rc) {
        h->server = krc_strbuf_detach(&sb);
        rc = !h->server;
    }
    krc_strbuf_release(&sb);
    return rc ? krc_error_set(err, KRC_ENOMEM, "http client: out of memory") : 0;
}

/* A client certificate needs its key and the other way round; checked here, once for every TLS
 * layer, so each layer may assume both or neither. */
static int check_client_cert_pair(const struct krc_kubeconfig *cfg, struct krc_error *err)
{
    int has_cert = cfg->client_cert_file || cfg->client_cert_data.data;
    int has_key = cfg->client_key_file || cfg->client_key_data.data;
    if (has_cert == has_key)
        return 0;
    return krc_error_set(err, KRC_EINVAL, "http client: %s without %s",
                         has_cert ? "client-certificate" : "client-key",
                         has_cert ? "client-key" : "client-certificate");
}

int krc_http_new(const struct krc_kubeconfig *cfg, const struct krc_http_options *opts,
                 struct krc_http **out, struct krc_error *err)
{
    struct krc_http *h;
    int rc;

    *out = NULL;
    if (!cfg || !cfg->server)
        return krc_error_set(err, KRC_EINVAL, "http client: configuration has no server");
    h = calloc(1, sizeof(*h));
    if (!h)
        return krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
    krc_cancel_init(&h->shutdown);
    h->connect_timeout_ms = opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
                                                                 : DEFAULT_CONNECT_TIMEOUT_MS;
    h->max_idle = opts && opts->max_idle_handles > 0 ? opts->max_idle_handles : DEFAULT_MAX_IDLE;
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h);
        return krc_error_set(err, KRC_ENOMEM, "http client: pthread_mutex_init failed");
    }
    h->mu_ok = 1;
    h->idle = calloc((size_t)h->max_idle, sizeof(*h->idle));
    if (!h->idle ||
        dup_str(opts && opts->user_agent ? opts->user_agent : "kuberay-c", &h->user_agent)) {
        rc = krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
        goto out;
    }
    if ((rc = parse_server(h, cfg, err)) != 0)
        goto out;
    if (h->tls && ((rc = check_client_cert_pair(cfg, err)) != 0 ||
                   (rc = krc_tls_ctx_new(cfg, &h->tls_ctx, err)) != 0))
        goto out;
    rc = krc_bearer_init(&h->bearer, cfg->token, cfg->token_file, err);
    if (rc)
        goto out;
    h->bearer_ok = 1;
    *out = h;
out:
    if (rc)
        krc_http_free(h);
    return rc;
}

void krc_http_free(struct krc_http *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->nidle; i++)
        conn_free(h->idle[i]);
    free(h->idle);
    krc_tls_ctx_free(h->tls_ctx);
    if (h->bearer_ok)
        krc_bearer_destroy(&h->bearer);
    if (h->mu_ok)
        pthread_mutex_destroy(&h->mu);
    free(h->server);
    free(h->host);
    free(h->port);
    free(h->prefix);
    free(h->authority);
    free(h->verify_name);
    free(h->user_agent);
    free(h);
}

void krc_http_shutdown(struct krc_http *h)
{
    krc_cancel_request(&h->shutdown);
}

int krc_http_has_token_file(const struct krc_http *h)
{
    return h->bearer.path != NULL;
}

const char *krc_http_server(const struct krc_http *h)
{
    return h->server;
}

void krc_http_response_init(struct krc_http_response *resp)
{
    resp->status = 0;
    resp->retry_after_s = -1;
    resp->sent = 0;
    resp->transient = 0;
    resp->connect_refused = 0;
    krc_strbuf_init(&resp->body, KRC_HTTP_ERROR_BODY_MAX);
}

void krc_http_response_release(struct krc_http_response *resp)
{
    krc_strbuf_release(&resp->body);
}

void krc_http_stats(struct krc_http *h, uint64_t *attempts, uint64_t *connections, uint64_t *http2)
{
    *attempts = atomic_load(&h->n_attempts);
    *connections = atomic_load(&h->n_connections);
    *http2 = atomic_load(&h->n_http2);
}

static void account(struct krc_http *h, const struct krc_http_request *req,
                    const struct krc_http_response *resp, int64_t ms, int conns, int h2, int rc)
{
    char status[16], dur[24];
    atomic_fetch_add(&h->n_attempts, 1);
    atomic_fetch_add(&h->n_connections, (uint64_t)conns);
    if (h2 && resp->status)
        atomic_fetch_add(&h->n_http2, 1);
    if (!krc_log_enabled(KRC_LOG_DEBUG))
        return;
    snprintf(status, sizeof(status), "%ld", resp->status);
    snprintf(dur, sizeof(dur), "%lld", (long long)ms);
    KRC_LOG_DEBUG("api request", "method", req->method, "path", req->path_and_query, "status",
                  status, "ms", dur, "http2", h2 ? "true" : "false", "new_connection",
                  conns > 0 ? "true" : "false", "result", krc_strerror(rc));
}

int krc_http_perform(struct krc_http *h, const struct krc_http_request *req,
                     struct krc_http_response *resp, struct krc_error *err)
{
    struct krc_strbuf tok = KRC_STRBUF_INIT;
    int64_t start = now_ms();
    struct xfer x;
    int rc, conns = 0, h2 = 0;

    krc_strbuf_reset(&resp->body);
    resp->status = 0;
    resp->retry_after_s = -1;
    resp->sent = 0;
    resp->transient = 0;
    resp->connect_refused = 0;
    if (req->out)
        krc_strbuf_reset(req->out);
    rc = krc_bearer_get(&h->bearer, req->force_token_reload, &tok, err);
    if (rc)
        goto out;
    memset(&x, 0, sizeof(x));
    x.h = h;
    x.req = req;
    x.resp = resp;
    x.deadline_ms = req->timeout_ms > 0 ? start + req->timeout_ms : 0;
    for (int tries = 0;; tries++) {
        struct conn *c = pool_get(h);
        int reused = c != NULL;
        if (!c) {
            rc = conn_open(&x, &c);
            if (rc) {
                resp->sent = 0;
                break;
            }
            conns++;
        }
        resp->sent = 1;
        h2 = c->h2 != NULL;
        rc = h2 ? h2_exchange(&x, c, &tok) : h1_exchange(&x, c, &tok);
        if (rc == KRC_EIO && (reused || x.refused) && tries == 0 && !resp->status && !x.sink_rc) {
            /* The server closed the idle connection as we used it, or refused the stream: once
             * more on a new connection, from a clean per-attempt state. */
            KRC_LOG_DEBUG("reused connection failed, retrying on a new one", "path",
                          req->path_and_query, "error", x.msg);
            conn_free(c);
            x.msg[0] = '\0';
            x.transient_fail = 0;
            x.refused = 0;
            x.stream_closed = 0;
            x.h2_error = 0;
            x.stream_id = 0;
            x.body_off = 0;
            krc_strbuf_reset(&resp->body);
            resp->retry_after_s = -1;
            continue;
        }
        if (rc && resp->status >= 300 && !x.sink_rc && rc != KRC_ECANCELED) {
            /* The answer (an error status) arrived and only its body was cut: the API server
             * closes the connection of unauthenticated HTTP/2 clients right after a 401. The
             * status is the server's verdict; the body only explains it. */
            KRC_LOG_DEBUG("error response body cut short", "path", req->path_and_query, "error",
                          x.msg);
            rc = 0;
        }
        if (c->dead || rc)
            conn_free(c);
        else
            pool_put(h, c);
        break;
    }
    if (rc) {
        resp->transient = x.transient_fail;
        if (x.refused)
            resp->sent = 0;
        if (x.sink_rc && rc == x.sink_rc) {
            if (rc == KRC_ETOOLARGE && !req->on_chunk)
                krc_error_set(err, rc, "%s %s: response larger than %zu bytes", req->method,
                              req->path_and_query, req->out_max);
            else
                krc_error_set(err, rc, "%s %s: stopped by the receiver: %s", req->method,
                              req->path_and_query, krc_strerror(rc));
        } else {
            krc_error_set(err, rc, "%s %s: %s", req->method, req->path_and_query,
                          x.msg[0] ? x.msg : krc_strerror(rc));
        }
    }
    account(h, req, resp, now_ms() - start, conns, h2, rc);
out:
    wipe_strbuf(&tok);
    return rc;
}

/* ---- HTTP/1.1 Upgrade ---- */

struct krc_http_upgraded {
    struct krc_http_request req; /* what the shared code reads: method and cancel */
    struct krc_http_response resp;
    struct xfer x;
    struct conn *c;
    struct krc_strbuf head_lines;
};

void krc_http_upgraded_free(struct krc_http_upgraded *u)
{
    if (!u)
        return;
    conn_free(u->c);
    krc_strbuf_release(&u->head_lines);
    krc_http_response_release(&u->resp);
    free(u);
}

const char *krc_http_upgraded_header(const struct krc_http_upgraded *u, const char *name)
{
    size_t n = strlen(name);
    const char *end = u->head_lines.buf + u->head_lines.len;
    for (const char *p = u->head_lines.buf; p && p < end; p += strlen(p) + 1) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    }
    return NULL;
}

/* Starts a per-call deadline and clears the previous call's failure. */
static void upgraded_arm(struct krc_http_upgraded *u, long timeout_ms)
{
    u->x.msg[0] = '\0';
    u->x.deadline_ms = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
}

static int upgraded_fail(struct krc_http_upgraded *u, int rc, struct krc_error *err)
{
    return krc_error_set(err, rc, "%s %s", krc_http_server(u->x.h),
                         u->x.msg[0] ? u->x.msg : krc_strerror(rc));
}

long krc_http_upgraded_read(struct krc_http_upgraded *u, void *buf, size_t len, long timeout_ms,
                            struct krc_error *err)
{
    struct conn *c = u->c;
    if (c->rpos < c->rlen) { /* what arrived with the response head */
        size_t n = c->rlen - c->rpos < len ? c->rlen - c->rpos : len;
        memcpy(buf, c->rbuf + c->rpos, n);
        c->rpos += n;
        return (long)n;
    }
    upgraded_arm(u, timeout_ms);
    ssize_t n = conn_read(&u->x, c, buf, len);
    if (n < 0)
        return upgraded_fail(u, (int)n, err);
    return (long)n;
}

int krc_http_upgraded_write(struct krc_http_upgraded *u, const void *data, size_t len,
                            long timeout_ms, struct krc_error *err)
{
    upgraded_arm(u, timeout_ms);
    int rc = conn_write(&u->x, u->c, data, len);
    return rc ? upgraded_fail(u, rc, err) : 0;
}

int krc_http_upgrade(struct krc_http *h, const struct krc_http_upgrade_request *req,
                     struct krc_http_response *resp, struct krc_http_upgraded **out,
                     struct krc_error *err)
{
    struct krc_strbuf tok = KRC_STRBUF_INIT, rq = KRC_STRBUF_INIT, line;
    struct krc_http_upgraded *u;
    struct h1_head head;
    int rc;

    *out = NULL;
    krc_strbuf_init(&line, LINE_MAX_LEN);
    krc_strbuf_reset(&resp->body);
    resp->status = 0;
    resp->retry_after_s = -1;
    resp->sent = 0;
    resp->transient = 0;
    resp->connect_refused = 0;
    if (!(u = calloc(1, sizeof(*u)))) {
        rc = krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
        goto out;
    }
    u->req.method = "GET";
    u->req.path_and_query = req->path_and_query;
    u->req.cancel = req->cancel;
    krc_http_response_init(&u->resp);
    krc_strbuf_init(&u->head_lines, HEADER_MAX);
    u->x.h = h;
    u->x.req = &u->req;
    u->x.resp = resp; /* during the handshake; u->resp afterwards */
    u->x.http1_only = 1;
    u->x.head_lines = &u->head_lines;
    u->x.deadline_ms = now_ms() + (req->timeout_ms > 0 ? req->timeout_ms : h->connect_timeout_ms);
    if ((rc = krc_bearer_get(&h->bearer, 0, &tok, err)) != 0)
        goto out;
    if ((rc = conn_open(&u->x, &u->c)) != 0)
        goto fail;
    atomic_fetch_add(&h->n_connections, 1);
    atomic_fetch_add(&h->n_attempts, 1);
    resp->sent = 1;
    rc = krc_strbuf_addf(&rq, "GET %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n", h->prefix,
                         req->path_and_query, h->authority, h->user_agent);
    if (!rc && tok.len)
        rc = krc_strbuf_addf(&rq, "Authorization: Bearer %s\r\n", tok.buf);
    for (size_t i = 0; !rc && i < req->nheaders; i++)
        rc = krc_strbuf_addf(&rq, "%s\r\n", req->headers[i]);
    if (!rc)
        rc = krc_strbuf_adds(&rq, "\r\n");
    if (rc) {
        rc = fail(&u->x, KRC_ENOMEM, 0, "out of memory");
        goto fail;
    }
    if ((rc = conn_write(&u->x, u->c, rq.buf, rq.len)) != 0)
        goto fail;
    rc = h1_read_head(&u->x, u->c, &head, &line);
    if (rc == 0)
        rc = fail(&u->x, KRC_EIO, 1, "the server closed the connection without answering");
    if (rc < 0)
        goto fail;
    resp->status = head.status;
    if (head.status == 101) {
        u->x.resp = &u->resp;
        u->x.head_lines = NULL;
        *out = u;
        u = NULL;
        rc = 0;
        goto out;
    }
    rc = h1_read_body(&u->x, u->c, &head, &line); /* the error's body, for its message */
    if (rc == CUT || (rc && resp->status >= 300 && rc != KRC_ECANCELED))
        rc = 0; /* the status is the verdict; the body only explains it */
    if (!rc)
        goto out;
fail:
    resp->transient = u->x.transient_fail;
    krc_error_set(err, rc, "GET %s (upgrade): %s", req->path_and_query,
                  u->x.msg[0] ? u->x.msg : krc_strerror(rc));
out:
    if (u && u->c)
        u->c->dead = 1;
    krc_http_upgraded_free(u);
    wipe_strbuf(&tok);
    wipe_strbuf(&rq);
    krc_strbuf_release(&line);
    return rc;
}
