/* exec.c - pods/exec over WebSocket (see exec.h).
 *
 * The handshake goes through http.h's Upgrade (a dedicated HTTP/1.1 connection; HTTP/2 has no
 * Upgrade). After it, every WebSocket message the server sends carries one channel byte and then
 * that channel's bytes: 1 stdout, 2 stderr, 3 the Status JSON that ends the command. A message may
 * come in fragments, the channel byte in the first non-empty one. SPDY, which kubectl used before
 * WebSocket, is not offered: the API server (v1.30+) translates WebSocket exec to whatever the
 * kubelet speaks, so WebSocket alone reaches every node. Throttling (the client's token bucket) is
 * not applied: an exec is one long call, not a request rate. */
#include "kube/exec.h"

#include "kube/http.h"
#include "kube/path.h"
#include "kube/status.h"
#include "kube/websocket.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define PROTOCOLS    "v5.channel.k8s.io, v4.channel.k8s.io"
#define PROTOCOL_V5  "v5.channel.k8s.io"
#define PROTOCOL_V4  "v4.channel.k8s.io"
#define EXIT_CAUSE   "ExitCode"
#define NONZERO_EXIT "NonZeroExitCode"
#define STATUS_OK    "Success"

enum {
    FRAME_MAX = 4 * 1024 * 1024, /* payload of one frame; the API server sends ~32 KiB */
    READ_CHUNK = 64 * 1024,      /* bytes asked of the connection per read */
    CLOSE_WAIT_MS = 2000,        /* for the server's close after ours */
    CHANNEL_PENDING = -2,        /* a message started with an empty fragment */
    NO_MESSAGE = -1,
};

static int64_t now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int krc_exec_build_path(const struct krc_exec_opts *o, struct krc_strbuf *out,
                        struct krc_error *err)
{
    static const struct krc_resource pods = {"", "v1", "pods", 1};
    if (!o->argc)
        return krc_error_set(err, KRC_EINVAL, "exec in pod %s: no command", o->pod);
    int rc = krc_path_build(out, &pods, o->ns, o->pod, "exec", err);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < o->argc; i++)
        rc = krc_query_add(out, "command", o->argv[i]);
    if (!rc && o->container)
        rc = krc_query_add(out, "container", o->container);
    if (!rc)
        rc = krc_query_add(out, "stdout", "true");
    if (!rc && o->want_stderr)
        rc = krc_query_add(out, "stderr", "true");
    return rc ? krc_error_set(err, rc, "exec in pod %s: building the URL: %s", o->pod,
                              krc_strerror(rc))
              : 0;
}

int krc_exec_parse_status(const char *json, size_t len, int *exit_code, struct krc_error *err)
{
    json_error_t jerr;
    json_t *st = json_loadb(json, len, 0, &jerr);
    int rc = 0;
    *exit_code = -1;
    const char *status = json_string_value(json_object_get(st, "status"));
    const char *reason = json_string_value(json_object_get(st, "reason"));
    const char *message = json_string_value(json_object_get(st, "message"));
    if (!status) {
        rc =
            krc_error_set(err, KRC_EINVAL, "exec: the error channel holds no Status: %.200s", json);
        goto out;
    }
    if (strcmp(status, STATUS_OK) == 0) {
        *exit_code = 0;
        goto out;
    }
    if (reason && strcmp(reason, NONZERO_EXIT) == 0) {
        size_t i;
        json_t *cause;
        json_array_foreach(json_object_get(json_object_get(st, "details"), "causes"), i, cause)
        {
            const char *r = json_string_value(json_object_get(cause, "reason"));
            const char *m = json_string_value(json_object_get(cause, "message"));
            char *end;
            long code = m ? strtol(m, &end, 10) : -1;
            if (r && strcmp(r, EXIT_CAUSE) == 0 && m && end != m && *end == '\0' && code >= 0 &&
                code <= 255) {
                *exit_code = (int)code;
                goto out;
            }
        }
        rc = krc_error_set(err, KRC_EINVAL, "exec: %s without an exit code", NONZERO_EXIT);
        goto out;
    }
    rc = krc_error_set(err, KRC_EIO, "exec: %s", message ? message : "the command failed");
out:
    json_decref(st);
    return rc;
}

/* One exec's WebSocket session. */
struct session {
    const struct krc_exec_opts *o;
    struct krc_http_upgraded *u;
    unsigned char *buf; /* received, not yet decoded: [0, len) */
    size_t len, cap;
    int channel;    /* of the message in progress: NO_MESSAGE, CHANNEL_PENDING or the byte */
    int close_sent; /* our close frame went out */
    int closed;     /* the server's close arrived */
    struct krc_strbuf status;
    int64_t deadline; /* 0 = none */
};

static long left_ms(const struct session *s)
{
    if (!s->deadline)
        return 0;
    int64_t left = s->deadline - now_ms();
    return left > 0 ? (long)left : 1;
}

static int send_frame(struct session *s, int opcode, const void *payload, size_t len,
                      struct krc_error *err)
{
    struct krc_strbuf f = KRC_STRBUF_INIT;
    unsigned char mask[4];
    if (getrandom(mask, sizeof(mask), 0) != (ssize_t)sizeof(mask))
        return krc_error_set(err, KRC_EIO, "exec: no random mask key");
    int rc = krc_ws_encode(&f, opcode, 1, payload, len, mask);
    if (rc)
        rc = krc_error_set(err, rc, "exec: out of memory");
    else
        rc = krc_http_upgraded_write(s->u, f.buf, f.len, left_ms(s), err);
    krc_strbuf_release(&f);
    return rc;
}

static int send_close(struct session *s, int code, struct krc_error *err)
{
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    if (s->close_sent)
        return 0;
    s->close_sent = 1;
    return send_frame(s, KRC_WS_OP_CLOSE, p, sizeof(p), err);
}

/* Bytes of the message in progress, after its channel byte. */
static int on_data(struct session *s, const unsigned char *p, size_t n, struct krc_error *err)
{
    if (!n)
        return 0;
    switch (s->channel) {
    case KRC_EXEC_STDOUT:
    case KRC_EXEC_STDERR:
        if (s->o->on_output) {
            int rc = s->o->on_output(s->o->ctx, s->channel, (const char *)p, n);
            if (rc)
                return krc_error_set(err, rc, "exec in pod %s: stopped by the receiver: %s",
                                     s->o->pod, krc_strerror(rc));
        }
        return 0;
    case KRC_EXEC_ERROR:
        if (n > KRC_EXEC_STATUS_MAX - s->status.len)
            return krc_error_set(err, KRC_ETOOLARGE, "exec in pod %s: Status over %d bytes",
                                 s->o->pod, KRC_EXEC_STATUS_MAX);
        return krc_strbuf_add(&s->status, p, n) ? krc_error_set(err, KRC_ENOMEM,
                                                                "exec: out of "
                                                                "memory")
                                                : 0;
    default: /* resize or an unknown channel: nothing for us */
        return 0;
    }
}

static int on_frame(struct session *s, const struct krc_ws_frame *f, struct krc_error *err)
{
    const unsigned char *p = f->payload;
    size_t n = f->len;
    switch (f->opcode) {
    case KRC_WS_OP_PING:
        return send_frame(s, KRC_WS_OP_PONG, p, n, err);
    case KRC_WS_OP_PONG:
        return 0;
    case KRC_WS_OP_CLOSE:
        s->closed = 1;
        return send_close(s, KRC_WS_CLOSE_NORMAL, err);
    case KRC_WS_OP_TEXT:
    case KRC_WS_OP_BINARY:
        if (s->channel != NO_MESSAGE)
            goto protocol;
        s->channel = CHANNEL_PENDING;
        break;
    default: /* continuation */
        if (s->channel == NO_MESSAGE)
            goto protocol;
        break;
    }
    if (s->channel == CHANNEL_PENDING && n) {
        s->channel = p[0];
        p++;
        n--;
    }
    int rc = on_data(s, p, n, err);
    if (f->fin)
        s->channel = NO_MESSAGE;
    return rc;
protocol:
    (void)send_close(s, KRC_WS_CLOSE_PROTOCOL, NULL);
    return krc_error_set(err, KRC_EIO, "exec in pod %s: WebSocket continuation out of place",
                         s->o->pod);
}

/* Reads and handles frames until the server closes the session. */
static int pump(struct session *s, struct krc_error *err)
{
    char why[96];
    while (!s->closed) {
        size_t off = 0;
        for (;;) {
            struct krc_ws_frame f;
            long used =
                krc_ws_decode(s->buf + off, s->len - off, FRAME_MAX, 0, &f, why, sizeof(why));
            if (used == 0)
                break;
            if (used < 0) {
                (void)send_close(
                    s, used == KRC_ETOOLARGE ? KRC_WS_CLOSE_TOO_BIG : KRC_WS_CLOSE_PROTOCOL, NULL);
                return krc_error_set(err, used == KRC_ETOOLARGE ? KRC_ETOOLARGE : KRC_EIO,
                                     "exec in pod %s: bad WebSocket frame: %s", s->o->pod, why);
            }
            off += (size_t)used;
            int rc = on_frame(s, &f, err);
            if (rc)
                return rc;
            if (s->closed)
                return 0;
        }
        if (off) {
            memmove(s->buf, s->buf + off, s->len - off);
            s->len -= off;
        }
        if (s->cap - s->len < READ_CHUNK) {
            size_t want = s->len + READ_CHUNK;
            if (want > FRAME_MAX + KRC_WS_HEADER_MAX + READ_CHUNK)
                return krc_error_set(err, KRC_ETOOLARGE, "exec in pod %s: frame too large",
                                     s->o->pod);
            unsigned char *nb = realloc(s->buf, want);
            if (!nb)
                return krc_error_set(err, KRC_ENOMEM, "exec: out of memory");
            s->buf = nb;
            s->cap = want;
        }
        if (s->deadline && now_ms() >= s->deadline)
            return krc_error_set(err, KRC_ETIMEOUT, "exec in pod %s: timed out", s->o->pod);
        long n = krc_http_upgraded_read(s->u, s->buf + s->len, s->cap - s->len, left_ms(s), err);
        if (n < 0)
            return (int)n;
        if (n == 0) /* closed without a close frame: what arrived is all there is */
            return 0;
        s->len += (size_t)n;
    }
    return 0;
}

/* Checks the server's 101 answer to the key; fills res->protocol. */
static int check_handshake(struct session *s, const char *key, struct krc_exec_result *res,
                           struct krc_error *err)
{
    char accept[KRC_WS_ACCEPT_LEN + 1];
    const char *up = krc_http_upgraded_header(s->u, "Upgrade");
    const char *acc = krc_http_upgraded_header(s->u, "Sec-WebSocket-Accept");
    const char *proto = krc_http_upgraded_header(s->u, "Sec-WebSocket-Protocol");
    krc_ws_accept_for(key, accept);
    if (!up || strcasecmp(up, "websocket") != 0)
        return krc_error_set(err, KRC_EIO,
                             "exec in pod %s: the server switched to \"%s\", not "
                             "websocket",
                             s->o->pod, up ? up : "");
    if (!acc || strcmp(acc, accept) != 0)
        return krc_error_set(err, KRC_EIO, "exec in pod %s: wrong Sec-WebSocket-Accept", s->o->pod);
    if (!proto || (strcmp(proto, PROTOCOL_V5) != 0 && strcmp(proto, PROTOCOL_V4) != 0))
        return krc_error_set(err, KRC_EIO,
                             "exec in pod %s: the server chose no subprotocol "
                             "of " PROTOCOLS " (got \"%s\")",
                             s->o->pod, proto ? proto : "");
    snprintf(res->protocol, sizeof(res->protocol), "%s", proto);
    return 0;
}

int krc_exec(struct krc_client *c, const struct krc_exec_opts *o, struct krc_exec_result *res,
             struct krc_error *err)
{
    struct krc_strbuf path = KRC_STRBUF_INIT, keyhdr = KRC_STRBUF_INIT;
    struct krc_http_response resp;
    struct session s = {.o = o, .channel = NO_MESSAGE};
    char key[KRC_WS_KEY_LEN + 1];
    int rc;

    res->exit_code = -1;
    res->protocol[0] = '\0';
    krc_http_response_init(&resp);
    krc_strbuf_init(&s.status, KRC_EXEC_STATUS_MAX);
    if (o->timeout_ms > 0)
        s.deadline = now_ms() + o->timeout_ms;
    if ((rc = krc_exec_build_path(o, &path, err)) != 0)
        goto out;
    if (krc_ws_make_key(key) != 0) {
        rc = krc_error_set(err, KRC_EIO, "exec: no random key");
        goto out;
    }
    if (krc_strbuf_addf(&keyhdr, "Sec-WebSocket-Key: %s", key) != 0) {
        rc = krc_error_set(err, KRC_ENOMEM, "exec: out of memory");
        goto out;
    }
    const char *headers[] = {"Connection: Upgrade", "Upgrade: websocket",
                             "Sec-WebSocket-Version: 13", keyhdr.buf,
                             "Sec-WebSocket-Protocol: " PROTOCOLS};
    struct krc_http_upgrade_request ureq = {.path_and_query = path.buf,
                                            .headers = headers,
                                            .nheaders = sizeof(headers) / sizeof(headers[0]),
                                            .timeout_ms = o->timeout_ms,
                                            .cancel = o->cancel};
    rc = krc_http_upgrade(krc_client_transport(c), &ureq, &resp, &s.u, err);
    if (rc)
        goto out;
    if (!s.u) {
        char what[512];
        snprintf(what, sizeof(what), "exec in pod %s/%s", o->ns, o->pod);
        rc = krc_status_error(resp.status, resp.body.buf, resp.body.len, what, err);
        goto out;
    }
    if ((rc = check_handshake(&s, key, res, err)) != 0)
        goto out;
    if ((rc = pump(&s, err)) != 0)
        goto out;
    if (!s.close_sent) { /* the server ended without a close frame; say goodbye anyway */
        struct krc_error ignored;
        s.deadline = now_ms() + CLOSE_WAIT_MS;
        (void)send_close(&s, KRC_WS_CLOSE_NORMAL, &ignored);
    }
    if (!s.status.len) {
        rc = krc_error_set(err, KRC_EIO, "exec in pod %s: the stream ended without a status",
                           o->pod);
        goto out;
    }
    rc = krc_exec_parse_status(s.status.buf, s.status.len, &res->exit_code, err);
out:
    krc_http_upgraded_free(s.u);
    krc_http_response_release(&resp);
    krc_strbuf_release(&s.status);
    krc_strbuf_release(&keyhdr);
    krc_strbuf_release(&path);
    free(s.buf);
    return rc;
}
