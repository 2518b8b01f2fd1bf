/* execsession.c - a `kubectl exec` session (see execsession.h).
 *
 * The client (the API server, for kubectl) opens one SPDY stream per channel, each tagged with a
 * "streamtype" header: error, stdin, stdout, stderr and, with a tty, resize. We answer each
 * SYN_STREAM with a SYN_REPLY, and once all expected streams exist ask the supervisor to fork
 * the command with our pipe ends (or one pty slave) as its stdio. Then one poll loop moves
 * bytes: stdin DATA frames into the stdin pipe, stdout/stderr pipe output into DATA frames, and
 * resize messages into TIOCSWINSZ. When the supervisor reports the exit code we drain the pipes
 * (for at most DRAIN_MS: a background child may keep them open), close the output streams, send
 * the metav1.Status on the error stream, and GOAWAY. This is the order client-go's v4 protocol
 * reads them in: stdout and stderr to EOF, then the error stream.
 *
 * Stdin is buffered up to STDIN_BUF_MAX; past that we stop reading the connection until the
 * process reads its stdin, which is the only back-pressure SPDY without flow control offers.
 * _GNU_SOURCE for pipe2 and ptsname_r. */
#define _GNU_SOURCE
#include "node/execsession.h"

#include "node/podproto.h"
#include "kube/spdy.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
    STREAM_TIMEOUT_MS = 30000, /* the kubelet's streamCreationTimeout */
    FIRST_SIZE_WAIT_MS = 1000, /* a tty waits this long for the terminal size before starting */
    DRAIN_MS = 1000,
    READ_CHUNK = 32 * 1024,
    IN_BUF_MAX = 2 * KRC_SPDY_MAX_FRAME,
    STDIN_BUF_MAX = 1 << 20,
    SEND_TIMEOUT_S = 60,
    CH_ERROR = 0,
    CH_STDIN,
    CH_STDOUT,
    CH_STDERR,
    CH_RESIZE,
    N_CH,
};

static const char *const channel_names[N_CH] = {"error", "stdin", "stdout", "stderr", "resize"};

struct session {
    int sock;
    const struct krc_exec_request *req;
    struct krc_spdy_zlib *z;
    struct krc_strbuf in, out, stdin_buf, resize;
    uint32_t stream[N_CH]; /* 0 = not opened */
    uint32_t last_stream;
    int want[N_CH];
    int stdin_fd, out_fd[2], sup_fd; /* out_fd: stdout, stderr (one pty master with a tty) */
    int stdin_fin, sock_eof;
    int exited, exit_code;
    struct winsize size; /* the last size the resize stream sent */
    int have_size;
    char error[KRC_ERROR_MSG_MAX];
    struct krc_strbuf sup_line;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int krc_exec_status_json(int exit_code, const char *error_msg, struct krc_strbuf *out)
{
    json_t *doc;
    char code[16], msg[KRC_ERROR_MSG_MAX + 128];
    snprintf(code, sizeof(code), "%d", exit_code);
    if (error_msg) {
        snprintf(msg, sizeof(msg), "error executing command in container: %s", error_msg);
        char full[sizeof(msg) + 32];
        snprintf(full, sizeof(full), "Internal error occurred: %s", msg);
        doc = json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s}]},s:i}", "metadata", "status", "Failure",
                        "message", full, "reason", "InternalError", "details", "causes", "message",
                        msg, "code", 500);
    } else if (exit_code != 0) {
        snprintf(msg, sizeof(msg), "command terminated with non-zero exit code: exit status %d",
                 exit_code);
        doc = json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s,s:s}]}}", "metadata", "status", "Failure",
                        "message", msg, "reason", "NonZeroExitCode", "details", "causes", "reason",
                        "ExitCode", "message", code);
    } else {
        doc = json_pack("{s:{},s:s}", "metadata", "status", "Success");
    }
    if (!doc)
        return KRC_ENOMEM;
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!s)
        return KRC_ENOMEM;
    int rc = krc_strbuf_adds(out, s);
    free(s);
    return rc;
}

/* Writes and empties s->out. The upgraded socket is non-blocking (the TLS front's socketpair,
 * which MHD_add_connection made so), so a full buffer waits up to SEND_TIMEOUT_S for room. */
static int flush_out(struct session *s)
{
    for (size_t off = 0; off < s->out.len;) {
        ssize_t n = send(s->sock, s->out.buf + off, s->out.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        struct pollfd p = {.fd = s->sock, .events = POLLOUT};
        if (n < 0 && errno == EAGAIN && poll(&p, 1, SEND_TIMEOUT_S * 1000) > 0)
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

static int channel_of(const struct session *s, uint32_t id)
{
    for (int c = 0; c < N_CH; c++)
        if (s->stream[c] && s->stream[c] == id)
            return c;
    return -1;
}

static void close_stdin(struct session *s)
{
    if (s->stdin_fd >= 0 && !s->req->tty)
        close(s->stdin_fd);
    if (!s->req->tty)
        s->stdin_fd = -1;
    s->stdin_fin = 1;
}

/* {"Width":W,"Height":H} messages, one after another, from the resize stream. */
static void apply_resizes(struct session *s)
{
    for (;;) {
        json_error_t jerr;
        json_t *doc = json_loadb(s->resize.buf, s->resize.len, JSON_DISABLE_EOF_CHECK, &jerr);
        if (!doc)
            return;
        size_t used = jerr.position;
        s->size = (struct winsize){
            .ws_col = (unsigned short)json_integer_value(json_object_get(doc, "Width")),
            .ws_row = (unsigned short)json_integer_value(json_object_get(doc, "Height"))};
        s->have_size = 1;
        json_decref(doc);
        if (s->out_fd[0] >= 0 && ioctl(s->out_fd[0], TIOCSWINSZ, &s->size) != 0)
            KRC_LOG_DEBUG("exec: resize failed", "error", strerror(errno));
        memmove(s->resize.buf, s->resize.buf + used, s->resize.len - used);
        s->resize.len -= used;
        s->resize.buf[s->resize.len] = '\0';
    }
}

static int on_syn_stream(struct session *s, const struct krc_spdy_frame *f)
{
    const uint8_t *block;
    size_t blen;
    struct krc_strbuf raw = KRC_STRBUF_INIT;
    struct krc_error err;
    char type[32];
    int rc = krc_spdy_header_block(f, &block, &blen);
    if (rc == 0)
        rc = krc_spdy_headers_inflate(s->z, block, blen, &raw, &err);
    if (rc == 0)
        rc = krc_spdy_headers_get((const uint8_t *)raw.buf, raw.len, "streamtype", type,
                                  sizeof(type));
    krc_strbuf_release(&raw);
    if (rc)
        return rc == KRC_ENOTFOUND ? 0 : rc;
    s->last_stream = f->stream_id;
    for (int c = 0; c < N_CH; c++)
        if (strcmp(type, channel_names[c]) == 0)
            s->stream[c] = f->stream_id;
    rc = krc_spdy_add_syn_reply(s->z, f->stream_id, 0, NULL, NULL, 0, &s->out, &err);
    if (rc == 0 && f->flags & KRC_SPDY_FLAG_FIN && channel_of(s, f->stream_id) == CH_STDIN)
        s->stdin_fin = 1;
    return rc;
}

/* Handles every complete frame in s->in. */
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
        int ch = channel_of(s, f.stream_id);
        switch (f.type) {
        case KRC_SPDY_SYN_STREAM:
            rc = on_syn_stream(s, &f);
            break;
        case KRC_SPDY_DATA:
            if (ch == CH_STDIN && s->stdin_fd >= 0 && !s->stdin_fin)
                rc = krc_strbuf_add(&s->stdin_buf, f.payload, f.len);
            if (ch == CH_RESIZE) {
                rc = krc_strbuf_add(&s->resize, f.payload, f.len);
                apply_resizes(s);
            }
            if (ch == CH_STDIN && f.flags & KRC_SPDY_FLAG_FIN)
                s->stdin_fin = 1;
            break;
        case KRC_SPDY_RST_STREAM:
            if (ch == CH_STDIN)
                s->stdin_fin = 1;
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
    if (rc == 0)
        rc = on_frames(s);
    if (rc == 0)
        rc = flush_out(s);
    return rc;
}

static int streams_ready(const struct session *s)
{
    for (int c = 0; c < N_CH; c++)
        if (s->want[c] && !s->stream[c])
            return 0;
    return 1;
}

/* Phase 1: SYN_STREAMs until every expected channel exists (and, with a tty, the first terminal
 * size has come, so the command starts with the right one; shortly, as a client may send none). */
static int await_streams(struct session *s)
{
    long long deadline = now_ms() + STREAM_TIMEOUT_MS, size_deadline = 0;
    int rc = on_frames(s);
    if (rc == 0)
        rc = flush_out(s);
    for (;;) {
        if (rc || (streams_ready(s) && !s->req->tty))
            break;
        if (streams_ready(s) && !size_deadline)
            size_deadline = now_ms() + FIRST_SIZE_WAIT_MS;
        if (size_deadline && (s->have_size || now_ms() >= size_deadline))
            break;
        long long left = (size_deadline ? size_deadline : deadline) - now_ms();
        struct pollfd p = {.fd = s->sock, .events = POLLIN};
        if (left <= 0 && size_deadline)
            break;
        if (left <= 0 || s->sock_eof)
            return KRC_ETIMEOUT;
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
            return KRC_EIO;
        if (p.revents)
            rc = read_sock(s);
    }
    return rc;
}

/* Opens the process's stdio: child[] goes to the supervisor, s keeps the other ends. */
static int open_stdio(struct session *s, int child[3], struct krc_error *err)
{
    const struct krc_exec_request *r = s->req;
    if (r->tty) {
        char name[128];
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, name, sizeof(name))) {
            if (m >= 0)
                close(m);
            return krc_error_set(err, KRC_EIO, "open a pty: %s", strerror(errno));
        }
        int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0) {
            close(m);
            return krc_error_set(err, KRC_EIO, "open %s: %s", name, strerror(errno));
        }
        if (fcntl(m, F_SETFL, O_NONBLOCK) != 0) {
            close(m);
            close(slave);
            return krc_error_set(err, KRC_EIO, "pty: %s", strerror(errno));
        }
        if (s->have_size && ioctl(m, TIOCSWINSZ, &s->size) != 0)
            KRC_LOG_DEBUG("exec: initial size failed", "error", strerror(errno));
        s->stdin_fd = r->in ? m : -1;
        s->out_fd[0] = m;
        child[0] = child[1] = child[2] = slave;
        return 0;
    }
    int p[2];
    for (int i = 0; i < 3; i++) {
        int wanted = i == 0 ? r->in : i == 1 ? r->out : r->err;
        if (!wanted) {
            child[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (child[i] < 0)
                return krc_error_set(err, KRC_EIO, "open /dev/null: %s", strerror(errno));
            continue;
        }
        if (pipe2(p, O_CLOEXEC) != 0)
            return krc_error_set(err, KRC_EIO, "pipe: %s", strerror(errno));
        child[i] = i == 0 ? p[0] : p[1];
        if (i == 0 && fcntl(p[1], F_SETFL, O_NONBLOCK) != 0) {
            close(p[1]);
            return krc_error_set(err, KRC_EIO, "pipe: %s", strerror(errno));
        }
        if (i == 0)
            s->stdin_fd = p[1];
        else
            s->out_fd[i - 1] = p[0];
    }
    return 0;
}

/* Connects to the supervisor and sends the exec request with child[] attached. */
static int ask_supervisor(struct session *s, const int child[3], struct krc_error *err)
{
    const struct krc_exec_request *r = s->req;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct krc_strbuf line = KRC_STRBUF_INIT;
    json_t *argv = json_array(), *req = NULL;
    int rc = 0;
    if (strlen(r->socket_path) >= sizeof(addr.sun_path))
        return krc_error_set(err, KRC_EINVAL, "supervisor socket path too long");
    memcpy(addr.sun_path, r->socket_path, strlen(r->socket_path) + 1);
    for (size_t i = 0; argv && i < r->argc; i++)
        if (json_array_append_new(argv, json_string(r->argv[i])))
            rc = KRC_ENOMEM;
    req = argv && rc == 0 ? json_pack("{s:s,s:s,s:O,s:b}", "op", "exec", "name", r->container,
                                      "argv", argv, "tty", r->tty)
                          : NULL;
    if (!req || krc_podproto_encode(req, &line, err) != 0) {
        rc = krc_error_set(err, KRC_ENOMEM, "exec request: out of memory");
        goto out;
    }
    s->sup_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->sup_fd < 0 || connect(s->sup_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        rc = krc_error_set(err, KRC_EIO, "connect to the pod supervisor: %s", strerror(errno));
        goto out;
    }
    union {
        char buf[CMSG_SPACE(sizeof(int) * 3)];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct iovec iov = {.iov_base = line.buf, .iov_len = line.len};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * 3);
    memcpy(CMSG_DATA(cm), child, sizeof(int) * 3);
    /* The request line is far below the socket buffer: one sendmsg carries it and the fds. */
    if (sendmsg(s->sup_fd, &msg, MSG_NOSIGNAL) != (ssize_t)line.len)
        rc = krc_error_set(err, KRC_EIO, "send the exec request: %s", strerror(errno));
out:
    json_decref(req);
    json_decref(argv);
    krc_strbuf_release(&line);
    return rc;
}

/* The supervisor's one-line answer: exit code, or why the command could not run. */
static void read_supervisor(struct session *s)
{
    char buf[4096];
    ssize_t n = recv(s->sup_fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR)
        return;
    if (n > 0 && krc_strbuf_add(&s->sup_line, buf, (size_t)n) == 0 &&
        !memchr(s->sup_line.buf, '\n', s->sup_line.len))
        return;
    json_t *resp = NULL;
    struct krc_error err;
    krc_error_clear(&err);
    char *nl = memchr(s->sup_line.buf, '\n', s->sup_line.len);
    int rc = nl ? krc_podproto_decode(s->sup_line.buf, (size_t)(nl - s->sup_line.buf), &resp, &err)
                : krc_error_set(&err, KRC_EIO, "the pod supervisor closed the exec");
    if (rc == 0)
        rc = krc_podproto_check(resp, &err);
    if (rc == 0)
        s->exit_code = (int)json_integer_value(json_object_get(resp, "exit_code"));
    else
        snprintf(s->error, sizeof(s->error), "%s", err.msg);
    json_decref(resp);
    s->exited = 1;
    close(s->sup_fd);
    s->sup_fd = -1;
}

/* Moves one chunk of output i (0 stdout, 1 stderr) to its stream; at EOF closes the pipe. */
static int pump_output(struct session *s, int i)
{
    char buf[READ_CHUNK];
    ssize_t n = read(s->out_fd[i], buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) { /* EOF, or EIO from a pty master whose slave side is all closed */
        if (s->stdin_fd == s->out_fd[i])
            s->stdin_fd = -1;
        close(s->out_fd[i]);
        s->out_fd[i] = -1;
        return 0;
    }
    int rc = krc_spdy_add_data(s->stream[CH_STDOUT + i], 0, buf, (size_t)n, &s->out);
    return rc ? rc : flush_out(s);
}

static void pump_stdin(struct session *s)
{
    ssize_t n = write(s->stdin_fd, s->stdin_buf.buf, s->stdin_buf.len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n < 0) { /* the process closed its stdin */
        krc_strbuf_reset(&s->stdin_buf);
        close_stdin(s);
        return;
    }
    memmove(s->stdin_buf.buf, s->stdin_buf.buf + n, s->stdin_buf.len - (size_t)n);
    s->stdin_buf.len -= (size_t)n;
    s->stdin_buf.buf[s->stdin_buf.len] = '\0';
}

/* Phase 2: the process runs. Returns when it exited and its output is drained, or the client
 * went away (KRC_ECANCELED). */
static int run(struct session *s)
{
    long long drain_until = 0;
    for (;;) {
        if (s->stdin_fin && s->stdin_buf.len == 0 && s->stdin_fd >= 0 && !s->req->tty)
            close_stdin(s);
        if (s->sock_eof)
            return KRC_ECANCELED;
        if (s->exited && !drain_until)
            drain_until = now_ms() + DRAIN_MS;
        if (s->exited && ((s->out_fd[0] < 0 && s->out_fd[1] < 0) || now_ms() >= drain_until))
            return 0;
        struct pollfd p[5];
        int n = 0, isock = -1, isup = -1, iout[2] = {-1, -1}, iin = -1;
        if (s->stdin_buf.len < STDIN_BUF_MAX) {
            isock = n;
            p[n++] = (struct pollfd){.fd = s->sock, .events = POLLIN};
        }
        if (s->sup_fd >= 0) {
            isup = n;
            p[n++] = (struct pollfd){.fd = s->sup_fd, .events = POLLIN};
        }
        for (int i = 0; i < 2; i++)
            if (s->out_fd[i] >= 0) {
                iout[i] = n;
                p[n++] = (struct pollfd){.fd = s->out_fd[i], .events = POLLIN};
            }
        if (s->stdin_buf.len && s->stdin_fd >= 0) {
            iin = n;
            p[n++] = (struct pollfd){.fd = s->stdin_fd, .events = POLLOUT};
        }
        int timeout = drain_until ? (int)(drain_until - now_ms()) : -1;
        if (poll(p, (nfds_t)n, timeout < 0 && drain_until ? 0 : timeout) < 0 && errno != EINTR)
            return KRC_EIO;
        int rc = 0;
        if (isock >= 0 && p[isock].revents)
            rc = read_sock(s);
        if (rc == 0 && isup >= 0 && p[isup].revents)
            read_supervisor(s);
        for (int i = 0; rc == 0 && i < 2; i++)
            if (iout[i] >= 0 && p[iout[i]].revents && s->out_fd[i] >= 0)
                rc = pump_output(s, i);
        if (rc == 0 && iin >= 0 && p[iin].revents && s->stdin_fd >= 0)
            pump_stdin(s);
        if (rc)
            return rc;
    }
}

/* Phase 3: end the output streams, send the status and say goodbye. */
static void finish(struct session *s)
{
    struct krc_strbuf status = KRC_STRBUF_INIT;
    for (int c = CH_STDOUT; c <= CH_STDERR; c++)
        if (s->stream[c] && krc_spdy_add_data(s->stream[c], KRC_SPDY_FLAG_FIN, NULL, 0, &s->out))
            goto out;
    if (krc_exec_status_json(s->exit_code, s->error[0] ? s->error : NULL, &status) ||
        krc_spdy_add_data(s->stream[CH_ERROR], KRC_SPDY_FLAG_FIN, status.buf, status.len,
                          &s->out) ||
        krc_spdy_add_goaway(s->last_stream, KRC_SPDY_GOAWAY_OK, &s->out))
        goto out;
    if (flush_out(s) != 0)
        KRC_LOG_DEBUG("exec: the client went away before the status");
out:
    krc_strbuf_release(&status);
}

void krc_exec_serve(int sock, const char *extra, size_t extra_len,
                    const struct krc_exec_request *req)
{
    struct session s;
    struct krc_error err;
    int child[3] = {-1, -1, -1};
    memset(&s, 0, sizeof(s));
    krc_error_clear(&err);
    s.sock = sock;
    s.req = req;
    s.stdin_fd = s.out_fd[0] = s.out_fd[1] = s.sup_fd = -1;
    krc_strbuf_init(&s.in, IN_BUF_MAX);
    krc_strbuf_init(&s.out, 0);
    krc_strbuf_init(&s.stdin_buf, 0);
    krc_strbuf_init(&s.resize, READ_CHUNK);
    krc_strbuf_init(&s.sup_line, KRC_PODPROTO_LINE_MAX);
    s.want[CH_ERROR] = 1;
    s.want[CH_STDIN] = req->in;
    s.want[CH_STDOUT] = req->out;
    s.want[CH_STDERR] = req->err && !req->tty;
    s.want[CH_RESIZE] = req->tty;
    struct timeval tv = {SEND_TIMEOUT_S, 0};
    if (setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
        KRC_LOG_DEBUG("exec: no send timeout", "error", strerror(errno));
    int rc = krc_spdy_zlib_new(&s.z, &err);
    if (rc == 0 && extra_len)
        rc = krc_strbuf_add(&s.in, extra, extra_len);
    if (rc == 0 && (rc = await_streams(&s)) != 0) {
        KRC_LOG_WARN("exec: the client did not open its streams", "container", req->container);
        goto out;
    }
    if (rc == 0 && open_stdio(&s, child, &err) == 0 && ask_supervisor(&s, child, &err) == 0) {
        for (int i = 0; i < 3; i++)
            if (child[i] >= 0 && (i == 0 || child[i] != child[i - 1]))
                close(child[i]);
        child[0] = child[1] = child[2] = -1;
        rc = run(&s);
    } else if (rc == 0) {
        snprintf(s.error, sizeof(s.error), "%s", err.msg);
    }
    if (rc == 0)
        finish(&s);
out:
    for (int i = 0; i < 3; i++)
        if (child[i] >= 0 && (i == 0 || child[i] != child[i - 1]))
            close(child[i]);
    if (s.stdin_fd >= 0 && s.stdin_fd != s.out_fd[0])
        close(s.stdin_fd);
    for (int i = 0; i < 2; i++)
        if (s.out_fd[i] >= 0)
            close(s.out_fd[i]);
    if (s.sup_fd >= 0)
        close(s.sup_fd); /* the supervisor kills a process whose requester went away */
    krc_spdy_zlib_free(s.z);
    krc_strbuf_release(&s.in);
    krc_strbuf_release(&s.out);
    krc_strbuf_release(&s.stdin_buf);
    krc_strbuf_release(&s.resize);
    krc_strbuf_release(&s.sup_line);
}
