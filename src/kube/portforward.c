/* portforward.c - one forwarded TCP connection to a pod's port (see portforward.h).
 *
 * The handshake goes through http.h's Upgrade, as exec.c's does, asking for the subprotocol
 * SPDY/3.1+portforward.k8s.io: the API server (v1.31+) then reads the client's SPDY/3.1 byte
 * stream out of the WebSocket's binary messages and speaks SPDY to the kubelet. We are the SPDY
 * client: stream 1 is the error stream (half-closed at once: only the node writes to it), stream
 * 3 the data stream, both with the headers port and requestid (0: one connection per session).
 * Each write becomes one DATA frame in one binary message. Received binary messages are
 * concatenated and cut into SPDY frames; SYN_REPLY, SETTINGS and WINDOW_UPDATE need nothing
 * from us (header blocks we receive are never inflated: nothing we need is in them), PINGs are
 * answered. Bytes on the error stream are the node's message (a refused connection); a reset or
 * GOAWAY ends the connection. No threads: reads wait on the connection with a timeout, so
 * krc_portforward_pipe alternates between the local socket and the connection. */
#include "kube/portforward.h"

#include "kube/http.h"
#include "kube/path.h"
#include "kube/spdy.h"
#include "kube/status.h"
#include "kube/websocket.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    ERROR_STREAM = 1,
    DATA_STREAM = 3,
    WS_FRAME_MAX = 4 * 1024 * 1024, /* payload of one received WebSocket frame */
    SPDY_BUF_MAX = KRC_SPDY_MAX_FRAME + 2 * KRC_SPDY_HEADER_LEN,
    READ_CHUNK = 64 * 1024,
    WRITE_CHUNK = 32 * 1024, /* payload of one DATA frame we send */
    ERROR_MSG_MAX = 4096,    /* of the node's error message */
    IO_TIMEOUT_MS = 30000,   /* for one write to the connection */
    PIPE_SLICE_MS = 10,      /* krc_portforward_pipe's wait on the connection per round */
    PORT_MAX = 65535,
};

struct krc_portforward {
    struct krc_http_upgraded *u;
    struct krc_spdy_zlib *z;
    struct krc_cancel *cancel;
    unsigned char *ws; /* received WebSocket bytes not yet decoded: [0, wslen) */
    size_t wslen, wscap;
    struct krc_strbuf spdy; /* unwrapped SPDY bytes not yet parsed */
    struct krc_strbuf in;   /* data-stream bytes not yet read; [inpos, len) */
    size_t inpos;
    struct krc_strbuf errmsg; /* error-stream bytes */
    int remote_fin, reset, closed, write_closed;
    char what[320]; /* "pod NS/POD port N", for messages */
};

static int send_ws(struct krc_portforward *pf, int opcode, const void *p, size_t n,
                   struct krc_error *err)
{
    struct krc_strbuf f = KRC_STRBUF_INIT;
    unsigned char mask[4];
    if (getrandom(mask, sizeof(mask), 0) != (ssize_t)sizeof(mask))
        return krc_error_set(err, KRC_EIO, "port-forward: no random mask key");
    int rc = krc_ws_encode(&f, opcode, 1, p, n, mask);
    if (rc)
        rc = krc_error_set(err, rc, "port-forward: out of memory");
    else
        rc = krc_http_upgraded_write(pf->u, f.buf, f.len, IO_TIMEOUT_MS, err);
    krc_strbuf_release(&f);
    return rc;
}

/* Sends the SPDY frames in sb as one binary message and empties sb. */
static int send_spdy(struct krc_portforward *pf, struct krc_strbuf *sb, struct krc_error *err)
{
    int rc = send_ws(pf, KRC_WS_OP_BINARY, sb->buf, sb->len, err);
    krc_strbuf_reset(sb);
    return rc;
}

static int on_spdy_frame(struct krc_portforward *pf, const struct krc_spdy_frame *f,
                         struct krc_error *err)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int rc = 0;
    switch (f->type) {
    case KRC_SPDY_DATA:
        if (f->stream_id == DATA_STREAM) {
            if (f->len && krc_strbuf_add(&pf->in, f->payload, f->len))
                return krc_error_set(err, KRC_ENOMEM, "port-forward: out of memory");
            if (f->flags & KRC_SPDY_FLAG_FIN)
                pf->remote_fin = 1;
        } else if (f->stream_id == ERROR_STREAM && f->len) {
            size_t n = f->len;
            if (n > ERROR_MSG_MAX - pf->errmsg.len)
                n = ERROR_MSG_MAX - pf->errmsg.len;
            if (n && krc_strbuf_add(&pf->errmsg, f->payload, n))
                return krc_error_set(err, KRC_ENOMEM, "port-forward: out of memory");
        }
        return 0;
    case KRC_SPDY_RST_STREAM:
        if (f->stream_id == DATA_STREAM)
            pf->reset = 1;
        return 0;
    case KRC_SPDY_GOAWAY:
        pf->reset = !pf->remote_fin;
        return 0;
    case KRC_SPDY_PING:
        if (krc_spdy_add_ping(f->stream_id, &out))
            return krc_error_set(err, KRC_ENOMEM, "port-forward: out of memory");
        rc = send_spdy(pf, &out, err);
        krc_strbuf_release(&out);
        return rc;
    default: /* SYN_REPLY, SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do */
        return 0;
    }
}

/* Cuts the SPDY bytes received so far into frames. */
static int parse_spdy(struct krc_portforward *pf, struct krc_error *err)
{
    size_t off = 0;
    int rc = 0;
    while (off < pf->spdy.len) {
        struct krc_spdy_frame f;
        ssize_t used = krc_spdy_parse((const uint8_t *)pf->spdy.buf + off, pf->spdy.len - off, &f);
        if (used == 0)
            break;
        if (used < 0)
            return krc_error_set(err, KRC_EIO, "port-forward to %s: malformed SPDY frame",
                                 pf->what);
        off += (size_t)used;
        if ((rc = on_spdy_frame(pf, &f, err)) != 0)
            break;
    }
    memmove(pf->spdy.buf, pf->spdy.buf + off, pf->spdy.len - off);
    pf->spdy.len -= off;
    pf->spdy.buf[pf->spdy.len] = '\0';
    return rc;
}

static int on_ws_frame(struct krc_portforward *pf, const struct krc_ws_frame *f,
                       struct krc_error *err)
{
    switch (f->opcode) {
    case KRC_WS_OP_PING:
        return send_ws(pf, KRC_WS_OP_PONG, f->payload, f->len, err);
    case KRC_WS_OP_CLOSE:
        pf->closed = 1;
        return 0;
    case KRC_WS_OP_BINARY:
    case KRC_WS_OP_CONTINUATION:
        if (f->len && krc_strbuf_add(&pf->spdy, f->payload, f->len))
            return krc_error_set(err, KRC_ETOOLARGE, "port-forward to %s: SPDY frame too large",
                                 pf->what);
        return parse_spdy(pf, err);
    default: /* text and pong: nothing for us */
        return 0;
    }
}

/* Waits at most timeout_ms (0 = no limit) for bytes from the connection and handles them. */
static int pump(struct krc_portforward *pf, long timeout_ms, struct krc_error *err)
{
    char why[96];
    if (pf->wscap - pf->wslen < READ_CHUNK) {
        size_t want = pf->wslen + READ_CHUNK;
        if (want > WS_FRAME_MAX + KRC_WS_HEADER_MAX + READ_CHUNK)
            return krc_error_set(err, KRC_ETOOLARGE, "port-forward to %s: frame too large",
                                 pf->what);
        unsigned char *nb = realloc(pf->ws, want);
        if (!nb)
            return krc_error_set(err, KRC_ENOMEM, "port-forward: out of memory");
        pf->ws = nb;
        pf->wscap = want;
    }
    long n =
        krc_http_upgraded_read(pf->u, pf->ws + pf->wslen, pf->wscap - pf->wslen, timeout_ms, err);
    if (n < 0)
        return (int)n;
    if (n == 0) {
        pf->closed = 1;
        return 0;
    }
    pf->wslen += (size_t)n;
    size_t off = 0;
    int rc = 0;
    while (!rc && !pf->closed) {
        struct krc_ws_frame f;
        long used =
            krc_ws_decode(pf->ws + off, pf->wslen - off, WS_FRAME_MAX, 0, &f, why, sizeof(why));
        if (used == 0)
            break;
        if (used < 0)
            return krc_error_set(err, KRC_EIO, "port-forward to %s: bad WebSocket frame: %s",
                                 pf->what, why);
        off += (size_t)used;
        rc = on_ws_frame(pf, &f, err);
    }
    memmove(pf->ws, pf->ws + off, pf->wslen - off);
    pf->wslen -= off;
    return rc;
}

long krc_portforward_read(struct krc_portforward *pf, void *buf, size_t len, long timeout_ms,
                          struct krc_error *err)
{
    for (;;) {
        if (pf->inpos < pf->in.len) {
            size_t n = pf->in.len - pf->inpos < len ? pf->in.len - pf->inpos : len;
            memcpy(buf, pf->in.buf + pf->inpos, n);
            pf->inpos += n;
            if (pf->inpos == pf->in.len) {
                krc_strbuf_reset(&pf->in);
                pf->inpos = 0;
            }
            return (long)n;
        }
        if (pf->errmsg.len)
            return krc_error_set(err, KRC_EIO, "port-forward to %s: %s", pf->what, pf->errmsg.buf);
        if (pf->remote_fin)
            return 0;
        if (pf->reset || pf->closed)
            return krc_error_set(err, KRC_EIO, "port-forward to %s: the stream was %s", pf->what,
                                 pf->reset ? "reset" : "closed");
        int rc = pump(pf, timeout_ms, err);
        if (rc)
            return rc;
    }
}

int krc_portforward_write(struct krc_portforward *pf, const void *data, size_t len,
                          struct krc_error *err)
{
    struct krc_strbuf f = KRC_STRBUF_INIT;
    const char *p = data;
    int rc = 0;
    if (pf->write_closed)
        return krc_error_set(err, KRC_EINVAL, "port-forward to %s: write after shutdown", pf->what);
    while (!rc && len > 0) {
        size_t n = len < WRITE_CHUNK ? len : WRITE_CHUNK;
        if (krc_spdy_add_data(DATA_STREAM, 0, p, n, &f))
            rc = krc_error_set(err, KRC_ENOMEM, "port-forward: out of memory");
        else
            rc = send_spdy(pf, &f, err);
        p += n;
        len -= n;
    }
    krc_strbuf_release(&f);
    return rc;
}

int krc_portforward_shutdown_write(struct krc_portforward *pf, struct krc_error *err)
{
    struct krc_strbuf f = KRC_STRBUF_INIT;
    int rc = 0;
    if (pf->write_closed)
        return 0;
    pf->write_closed = 1;
    if (krc_spdy_add_data(DATA_STREAM, KRC_SPDY_FLAG_FIN, NULL, 0, &f))
        rc = krc_error_set(err, KRC_ENOMEM, "port-forward: out of memory");
    else
        rc = send_spdy(pf, &f, err);
    krc_strbuf_release(&f);
    return rc;
}

static int write_fd(int fd, const char *p, size_t n, struct krc_error *err)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return krc_error_set(err, KRC_EIO, "port-forward: writing the local socket: %s",
                                 strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int krc_portforward_pipe(struct krc_portforward *pf, int fd, struct krc_error *err)
{
    char buf[WRITE_CHUNK];
    int local_eof = 0;
    for (;;) {
        if (pf->cancel && krc_cancel_requested(pf->cancel))
            return krc_error_set(err, KRC_ECANCELED, "port-forward to %s: canceled", pf->what);
        long n = krc_portforward_read(pf, buf, sizeof(buf), PIPE_SLICE_MS, err);
        if (n == 0) /* the pod side ended: so does the connection, as with kubectl */
            return 0;
        if (n > 0) {
            int rc = write_fd(fd, buf, (size_t)n, err);
            if (rc)
                return rc;
            continue;
        }
        if (n != KRC_ETIMEOUT)
            return (int)n;
        if (local_eof)
            continue;
        struct pollfd p = {fd, POLLIN, 0};
        int ready = poll(&p, 1, 0);
        if (ready < 0 && errno != EINTR)
            return krc_error_set(err, KRC_EIO, "port-forward: poll: %s", strerror(errno));
        if (ready <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno != ECONNRESET)
            return krc_error_set(err, KRC_EIO, "port-forward: reading the local socket: %s",
                                 strerror(errno));
        int rc = r > 0 ? krc_portforward_write(pf, buf, (size_t)r, err)
                       : krc_portforward_shutdown_write(pf, err);
        if (r <= 0)
            local_eof = 1;
        if (rc)
            return rc;
    }
}

/* Opens the error stream (half-closed) and the data stream. */
static int open_streams(struct krc_portforward *pf, int port, struct krc_error *err)
{
    static const char *const names[] = {"streamtype", "port", "requestid"};
    struct krc_strbuf f = KRC_STRBUF_INIT;
    char portbuf[16];
    snprintf(portbuf, sizeof(portbuf), "%d", port);
    const char *const errv[] = {"error", portbuf, "0"};
    const char *const datav[] = {"data", portbuf, "0"};
    int rc =
        krc_spdy_add_syn_stream(pf->z, ERROR_STREAM, KRC_SPDY_FLAG_FIN, names, errv, 3, &f, err);
    if (!rc)
        rc = krc_spdy_add_syn_stream(pf->z, DATA_STREAM, 0, names, datav, 3, &f, err);
    if (!rc)
        rc = send_spdy(pf, &f, err);
    krc_strbuf_release(&f);
    return rc;
}

static int check_handshake(struct krc_portforward *pf, const char *key, struct krc_error *err)
{
    char accept[KRC_WS_ACCEPT_LEN + 1];
    const char *up = krc_http_upgraded_header(pf->u, "Upgrade");
    const char *acc = krc_http_upgraded_header(pf->u, "Sec-WebSocket-Accept");
    const char *proto = krc_http_upgraded_header(pf->u, "Sec-WebSocket-Protocol");
    krc_ws_accept_for(key, accept);
    if (!up || strcasecmp(up, "websocket") != 0)
        return krc_error_set(err, KRC_EIO, "port-forward to %s: the server switched to \"%s\"",
                             pf->what, up ? up : "");
    if (!acc || strcmp(acc, accept) != 0)
        return krc_error_set(err, KRC_EIO, "port-forward to %s: wrong Sec-WebSocket-Accept",
                             pf->what);
    if (!proto || strcmp(proto, KRC_PORTFORWARD_PROTOCOL) != 0)
        return krc_error_set(
            err, KRC_EIO,
            "port-forward to %s: the server did not choose " KRC_PORTFORWARD_PROTOCOL
            " (got \"%s\")",
            pf->what, proto ? proto : "");
    return 0;
}

int krc_portforward_open(struct krc_client *c, const struct krc_portforward_opts *o,
                         struct krc_portforward **out, struct krc_error *err)
{
    static const struct krc_resource pods = {"", "v1", "pods", 1};
    struct krc_strbuf path = KRC_STRBUF_INIT, keyhdr = KRC_STRBUF_INIT;
    struct krc_http_response resp;
    struct krc_portforward *pf;
    char key[KRC_WS_KEY_LEN + 1];
    int rc;

    *out = NULL;
    if (o->port < 1 || o->port > PORT_MAX)
        return krc_error_set(err, KRC_EINVAL, "port-forward: bad port %d", o->port);
    if (!(pf = calloc(1, sizeof(*pf))))
        return krc_error_set(err, KRC_ENOMEM, "port-forward: out of memory");
    krc_http_response_init(&resp);
    krc_strbuf_init(&pf->spdy, SPDY_BUF_MAX);
    krc_strbuf_init(&pf->in, 0);
    krc_strbuf_init(&pf->errmsg, ERROR_MSG_MAX);
    pf->cancel = o->cancel;
    snprintf(pf->what, sizeof(pf->what), "pod %.100s/%.100s port %d", o->ns, o->pod, o->port);
    if ((rc = krc_spdy_zlib_new(&pf->z, err)) != 0)
        goto out;
    if ((rc = krc_path_build(&path, &pods, o->ns, o->pod, "portforward", err)) != 0)
        goto out;
    if (krc_ws_make_key(key) != 0) {
        rc = krc_error_set(err, KRC_EIO, "port-forward: no random key");
        goto out;
    }
    if (krc_strbuf_addf(&keyhdr, "Sec-WebSocket-Key: %s", key) != 0) {
        rc = krc_error_set(err, KRC_ENOMEM, "port-forward: out of memory");
        goto out;
    }
    const char *headers[] = {"Connection: Upgrade", "Upgrade: websocket",
                             "Sec-WebSocket-Version: 13", keyhdr.buf,
                             "Sec-WebSocket-Protocol: " KRC_PORTFORWARD_PROTOCOL};
    struct krc_http_upgrade_request ureq = {.path_and_query = path.buf,
                                            .headers = headers,
                                            .nheaders = sizeof(headers) / sizeof(headers[0]),
                                            .timeout_ms = o->timeout_ms,
                                            .cancel = o->cancel};
    if ((rc = krc_http_upgrade(krc_client_transport(c), &ureq, &resp, &pf->u, err)) != 0)
        goto out;
    if (!pf->u) {
        char what[512];
        snprintf(what, sizeof(what), "port-forward to %s", pf->what);
        rc = krc_status_error(resp.status, resp.body.buf, resp.body.len, what, err);
        goto out;
    }
    if ((rc = check_handshake(pf, key, err)) != 0)
        goto out;
    rc = open_streams(pf, o->port, err);
out:
    krc_http_response_release(&resp);
    krc_strbuf_release(&keyhdr);
    krc_strbuf_release(&path);
    if (rc)
        krc_portforward_free(pf);
    else
        *out = pf;
    return rc;
}

void krc_portforward_free(struct krc_portforward *pf)
{
    if (!pf)
        return;
    if (pf->u && !pf->closed) { /* best effort: GOAWAY, then the WebSocket close */
        struct krc_strbuf f = KRC_STRBUF_INIT;
        struct krc_error ignored;
        unsigned char code[2] = {KRC_WS_CLOSE_NORMAL >> 8, KRC_WS_CLOSE_NORMAL & 0xff};
        if (krc_spdy_add_goaway(0, KRC_SPDY_GOAWAY_OK, &f) == 0) /* 0: no stream of theirs */
            (void)send_spdy(pf, &f, &ignored);
        (void)send_ws(pf, KRC_WS_OP_CLOSE, code, sizeof(code), &ignored);
        krc_strbuf_release(&f);
    }
    krc_http_upgraded_free(pf->u);
    krc_spdy_zlib_free(pf->z);
    krc_strbuf_release(&pf->spdy);
    krc_strbuf_release(&pf->in);
    krc_strbuf_release(&pf->errmsg);
    free(pf->ws);
    free(pf);
}
