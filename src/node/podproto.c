/* podproto.c - JSON-lines framing and the client side of the supervisor protocol. */
#include "node/podproto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int krc_podproto_encode(json_t *doc, struct krc_strbuf *out, struct krc_error *err)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return krc_error_set(err, KRC_ENOMEM, "encode message: out of memory");
    size_t len = strlen(text);
    int rc = 0;
    if (len >= KRC_PODPROTO_LINE_MAX)
        rc = krc_error_set(err, KRC_ETOOLARGE, "encode message: %zu bytes, over the %d cap", len,
                           KRC_PODPROTO_LINE_MAX);
    if (rc == 0 && (krc_strbuf_add(out, text, len) || krc_strbuf_addch(out, '\n')))
        rc = krc_error_set(err, KRC_ENOMEM, "encode message: out of memory");
    free(text);
    return rc;
}

int krc_podproto_decode(const char *line, size_t len, json_t **out, struct krc_error *err)
{
    json_error_t jerr;
    if (len >= KRC_PODPROTO_LINE_MAX)
        return krc_error_set(err, KRC_ETOOLARGE, "message: over the %d byte cap",
                             KRC_PODPROTO_LINE_MAX);
    json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return krc_error_set(err, KRC_EINVAL, "message: invalid JSON: %s", jerr.text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return krc_error_set(err, KRC_EINVAL, "message: not a JSON object");
    }
    *out = doc;
    return 0;
}

json_t *krc_podproto_error(int code, const char *msg)
{
    return json_pack("{s:b, s:i, s:s}", "ok", 0, "code", code, "error", msg);
}

int krc_podproto_check(json_t *resp, struct krc_error *err)
{
    json_t *ok = json_object_get(resp, "ok");
    if (json_is_true(ok))
        return 0;
    json_t *code = json_object_get(resp, "code");
    json_t *msg = json_object_get(resp, "error");
    int c = json_is_integer(code) ? (int)json_integer_value(code) : KRC_EIO;
    if (c >= 0 || c < -100)
        c = KRC_EIO;
    return krc_error_set(err, c, "%s",
                         json_is_string(msg) ? json_string_value(msg)
                                             : "supervisor: malformed response");
}

static int set_timeouts(int fd, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
           setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int krc_podproto_send(const char *socket_path, json_t *req, int timeout_ms, int *fd_out,
                      struct krc_error *err)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int rc = 0;
    *fd_out = -1;
    if (strlen(socket_path) >= sizeof(addr.sun_path))
        return krc_error_set(err, KRC_EINVAL, "supervisor %s: socket path too long", socket_path);
    memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return krc_error_set(err, KRC_EIO, "supervisor %s: socket: %s", socket_path,
                             strerror(errno));
    if (set_timeouts(fd, timeout_ms) != 0) {
        rc = krc_error_set(err, KRC_EIO, "supervisor %s: timeouts: %s", socket_path,
                           strerror(errno));
        goto out;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        int e = errno;
        rc = krc_error_set(err, e == ENOENT || e == ECONNREFUSED ? KRC_ENOTFOUND : KRC_EIO,
                           "supervisor %s: connect: %s", socket_path, strerror(e));
        goto out;
    }
    rc = krc_podproto_encode(req, &out, err);
    for (size_t off = 0; rc == 0 && off < out.len;) {
        ssize_t n = send(fd, out.buf + off, out.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = krc_error_set(err, errno == EAGAIN ? KRC_ETIMEOUT : KRC_EIO,
                               "supervisor %s: send: %s", socket_path, strerror(errno));
        else
            off += (size_t)n;
    }
out:
    krc_strbuf_release(&out);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

int krc_podproto_recv(int fd, const char *socket_path, json_t **resp, struct krc_error *err)
{
    struct krc_strbuf in;
    int rc = 0;
    krc_strbuf_init(&in, KRC_PODPROTO_LINE_MAX);
    *resp = NULL;
    while (rc == 0 && !memchr(in.buf, '\n', in.len)) {
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = krc_error_set(err, errno == EAGAIN ? KRC_ETIMEOUT : KRC_EIO,
                               "supervisor %s: receive: %s", socket_path, strerror(errno));
        else if (n == 0)
            rc = krc_error_set(err, KRC_EIO, "supervisor %s: closed without a response",
                               socket_path);
        else if (krc_strbuf_add(&in, chunk, (size_t)n))
            rc = krc_error_set(err, KRC_ETOOLARGE, "supervisor %s: response over %d bytes",
                               socket_path, KRC_PODPROTO_LINE_MAX);
    }
    if (rc == 0)
        rc = krc_podproto_decode(in.buf, (size_t)((char *)memchr(in.buf, '\n', in.len) - in.buf),
                                 resp, err);
    if (rc == 0) {
        rc = krc_podproto_check(*resp, err);
        if (rc) {
            json_decref(*resp);
            *resp = NULL;
        }
    }
    krc_strbuf_release(&in);
    return rc;
}

int krc_podproto_call(const char *socket_path, json_t *req, json_t **resp, int timeout_ms,
                      struct krc_error *err)
{
    int fd;
    *resp = NULL;
    int rc = krc_podproto_send(socket_path, req, timeout_ms, &fd, err);
    if (rc == 0) {
        rc = krc_podproto_recv(fd, socket_path, resp, err);
        close(fd);
    }
    return rc;
}
