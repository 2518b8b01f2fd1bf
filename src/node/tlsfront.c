/* tlsfront.c - TLS termination for the kubelet endpoint (see tlsfront.h).
 *
 * The kubelet endpoint's HTTP server (libmicrohttpd, kubeletserver.c) runs
 * without TLS; this file owns the listening socket, the GnuTLS handshake with
 * client-certificate verification, and one relay thread per connection that
 * moves bytes between the TLS session and the plaintext end of a socketpair
 * handed to the HTTP server.
 *
 * Why not libmicrohttpd's own TLS: for an upgraded connection (`kubectl exec`,
 * SPDY/3.1) MHD 0.9.75 forwards TLS through buffers carved from what the
 * connection's memory pool has left, and by then the response header's write
 * buffer has taken all of it, so it falls back to an 8-byte emergency buffer:
 * every 4 bytes of exec output became one syscall pair, one select and one TLS
 * record (about 200 KB/s; fixed upstream in 0.9.76, Debian 12 ships 0.9.75).
 * The relay here moves up to RELAY_BUF bytes per record, with TCP_NODELAY, so
 * small exchanges are not held back by Nagle either.
 *
 * Each relay is non-blocking after the handshake: client-to-server and
 * server-to-client bytes go through one buffer each; a side that ends is passed
 * on as a half-close (client EOF becomes shutdown(SHUT_WR) of the socketpair;
 * server EOF becomes a TLS close_notify, and the relay ends). */
#define _GNU_SOURCE
#include "node/tlsfront.h"

#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum {
    LISTEN_BACKLOG = 128,
    HANDSHAKE_TIMEOUT_S = 10, /* also the wait for a refused client's request */
    RELAY_BUF = 64 * 1024,    /* per direction; four TLS records */
    REFUSED_REQUEST_MAX = 16 * 1024,
    ACCEPT_RETRY_MS = 100, /* after EMFILE and the like */
    STOP_WAIT_S = 5,
};

static const char REFUSAL[] = "HTTP/1.1 401 Unauthorized\r\n"
                              "Content-Type: text/plain\r\n"
                              "Content-Length: 28\r\n"
                              "Connection: close\r\n"
                              "\r\n"
                              "client certificate required\n";

struct relay {
    struct krc_tlsfront *f;
    struct relay *next; /* in f->relays, guarded by f->mu */
    int net;            /* the client's TCP connection */
    int app;            /* our end of the socketpair; -1 before it exists */
    struct sockaddr_storage peer;
    socklen_t peer_len;
};

struct krc_tlsfront {
    int listen_fd;
    int stop_pipe[2];
    pthread_t accept_thread;
    int accept_started;
    gnutls_certificate_credentials_t cred;
    krc_tlsfront_conn_fn fn;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct relay *relays; /* running relay threads */
    int stopping;
};

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int peer_verified(gnutls_session_t s)
{
    unsigned n = 0, status = 0;
    if (!gnutls_certificate_get_peers(s, &n) || n == 0)
        return 0;
    return gnutls_certificate_verify_peers2(s, &status) == 0 && status == 0;
}

/* A client without a valid certificate: read its request (so closing does not
 * reset the connection before it reads the answer), answer 401 and close. */
static void refuse(gnutls_session_t s)
{
    char buf[REFUSED_REQUEST_MAX];
    ssize_t n;
    do
        n = gnutls_record_recv(s, buf, sizeof(buf));
    while (n == GNUTLS_E_INTERRUPTED);
    size_t off = 0;
    while (off < sizeof(REFUSAL) - 1) {
        n = gnutls_record_send(s, REFUSAL + off, sizeof(REFUSAL) - 1 - off);
        if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN)
            continue;
        if (n < 0)
            return;
        off += (size_t)n;
    }
    gnutls_bye(s, GNUTLS_SHUT_WR);
}

/* Moves bytes both ways until the server side ends (or either side fails). net
 * and app are non-blocking. */
static void relay_bytes(gnutls_session_t s, int net, int app)
{
    char *up = malloc(RELAY_BUF), *down = malloc(RELAY_BUF); /* client->server, server->client */
    size_t up_len = 0, up_off = 0, down_len = 0, down_off = 0;
    int net_eof = 0, app_eof = 0, app_shut = 0;
    if (!up || !down) {
        KRC_LOG_WARN("kubelet endpoint: out of memory for a connection");
        goto out;
    }
    for (;;) {
        int progress = 0, send_blocked = 0;
        if (!net_eof && up_len < RELAY_BUF) {
            ssize_t n = gnutls_record_recv(s, up + up_len, RELAY_BUF - up_len);
            if (n > 0) {
                up_len += (size_t)n;
                progress = 1;
            } else if (n == 0 || gnutls_error_is_fatal((int)n)) {
                net_eof = 1;
            }
        }
        if (up_off < up_len) {
            ssize_t n = send(app, up + up_off, up_len - up_off, MSG_NOSIGNAL);
            if (n > 0) {
                up_off += (size_t)n;
                progress = 1;
                if (up_off == up_len)
                    up_off = up_len = 0;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                goto out; /* the server side is gone */
            }
        }
        if (net_eof && up_len == 0 && !app_shut) {
            shutdown(app, SHUT_WR);
            app_shut = 1;
        }
        if (!app_eof && down_len == 0) {
            ssize_t n = recv(app, down, RELAY_BUF, 0);
            if (n > 0) {
                down_len = (size_t)n;
                down_off = 0;
                progress = 1;
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                app_eof = 1;
            }
        }
        if (down_off < down_len) {
            ssize_t n = gnutls_record_send(s, down + down_off, down_len - down_off);
            if (n > 0) {
                down_off += (size_t)n;
                progress = 1;
                if (down_off == down_len)
                    down_off = down_len = 0;
            } else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
                send_blocked = 1;
            } else {
                goto out; /* the client is gone */
            }
        }
        if (app_eof && down_len == 0) {
            gnutls_bye(s, GNUTLS_SHUT_WR); /* best effort: non-blocking */
            goto out;
        }
        if (progress)
            continue;
        struct pollfd p[2] = {{.fd = net}, {.fd = app}};
        if (!net_eof && up_len < RELAY_BUF)
            p[0].events |= POLLIN;
        if (send_blocked)
            p[0].events |= POLLOUT;
        if (!app_eof && down_len == 0)
            p[1].events |= POLLIN;
        if (up_off < up_len)
            p[1].events |= POLLOUT;
        /* An fd we wait for nothing on is left out: poll reports a hang-up even
         * when no event is asked for, which would spin here while the other side
         * still works. */
        for (int i = 0; i < 2; i++)
            if (!p[i].events)
                p[i].fd = -1;
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            goto out;
    }
out:
    free(up);
    free(down);
}

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    struct krc_tlsfront *f = r->f;
    gnutls_session_t s = NULL;
    int one = 1, sv[2] = {-1, -1};
    struct timeval tv = {HANDSHAKE_TIMEOUT_S, 0};
    if (setsockopt(r->net, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        setsockopt(r->net, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(r->net, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
        KRC_LOG_DEBUG("kubelet endpoint: socket options", "error", strerror(errno));
    int rc = gnutls_init(&s, GNUTLS_SERVER);
    if (rc == GNUTLS_E_SUCCESS)
        rc = gnutls_set_default_priority(s);
    if (rc == GNUTLS_E_SUCCESS)
        rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, f->cred);
    if (rc == GNUTLS_E_SUCCESS) {
        gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
        gnutls_transport_set_int(s, r->net);
        gnutls_handshake_set_timeout(s, HANDSHAKE_TIMEOUT_S * 1000);
        do
            rc = gnutls_handshake(s);
        while (rc < 0 && !gnutls_error_is_fatal(rc) &&
               !__atomic_load_n(&f->stopping, __ATOMIC_RELAXED));
    }
    if (rc < 0) {
        KRC_LOG_DEBUG("kubelet endpoint: TLS handshake failed", "error", gnutls_strerror(rc));
        goto out;
    }
    if (!peer_verified(s)) {
        refuse(s);
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        set_nonblocking(sv[0]) != 0 || set_nonblocking(r->net) != 0) {
        KRC_LOG_WARN("kubelet endpoint: no socketpair", "error", strerror(errno));
        goto out;
    }
    pthread_mutex_lock(&f->mu);
    r->app = sv[0];
    pthread_mutex_unlock(&f->mu);
    f->fn(f->ctx, sv[1], (const struct sockaddr *)&r->peer, r->peer_len);
    sv[1] = -1; /* the callee's now */
    relay_bytes(s, r->net, r->app);
out:
    if (s)
        gnutls_deinit(s);
    if (sv[1] >= 0)
        close(sv[1]);
    if (sv[0] >= 0 && r->app != sv[0])
        close(sv[0]);
    pthread_mutex_lock(&f->mu);
    for (struct relay **p = &f->relays; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    close(r->net);
    if (r->app >= 0)
        close(r->app);
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    free(r);
    return NULL;
}

/* Starts a detached relay thread for an accepted connection (closes it on
 * failure). */
static void start_relay(struct krc_tlsfront *f, int fd, const struct sockaddr_storage *peer,
                        socklen_t peer_len)
{
    struct relay *r = calloc(1, sizeof(*r));
    pthread_attr_t attr;
    pthread_t t;
    if (!r) {
        KRC_LOG_WARN("kubelet endpoint: out of memory for a connection");
        close(fd);
        return;
    }
    r->f = f;
    r->net = fd;
    r->app = -1;
    r->peer = *peer;
    r->peer_len = peer_len;
    pthread_mutex_lock(&f->mu);
    r->next = f->relays;
    f->relays = r;
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (rc == 0)
            rc = pthread_create(&t, &attr, relay_main, r);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0)
        f->relays = r->next;
    pthread_mutex_unlock(&f->mu);
    if (rc != 0) {
        KRC_LOG_WARN("kubelet endpoint: no thread for a connection", "error", strerror(rc));
        close(fd);
        free(r);
    }
}

static void *accept_main(void *arg)
{
    struct krc_tlsfront *f = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = f->listen_fd, .events = POLLIN},
                              {.fd = f->stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            KRC_LOG_ERROR("kubelet endpoint: poll failed", "error", strerror(errno));
            return NULL;
        }
        if (p[1].revents)
            return NULL;
        struct sockaddr_storage peer;
        socklen_t len = sizeof(peer);
        int fd = accept4(f->listen_fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                KRC_LOG_WARN("kubelet endpoint: accept failed", "error", strerror(errno));
                poll(NULL, 0, ACCEPT_RETRY_MS);
            }
            continue; /* EINTR, ECONNABORTED, EAGAIN and the like */
        }
        start_relay(f, fd, &peer, len);
    }
}

int krc_tlsfront_start(const char *addr, int port, const char *cert_pem, const char *key_pem,
                       const char *ca_pem, krc_tlsfront_conn_fn fn, void *ctx,
                       struct krc_tlsfront **out, struct krc_error *err)
{
    struct krc_tlsfront *f = calloc(1, sizeof(*f));
    int rc = 0, one = 1;
    if (!f)
        return krc_error_set(err, KRC_ENOMEM, "kubelet endpoint: out of memory");
    f->listen_fd = f->stop_pipe[0] = f->stop_pipe[1] = -1;
    f->fn = fn;
    f->ctx = ctx;
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        return krc_error_set(err, KRC_ENOMEM, "kubelet endpoint: no mutex");
    }
    if (pthread_cond_init(&f->cond, NULL) != 0) {
        pthread_mutex_destroy(&f->mu);
        free(f);
        return krc_error_set(err, KRC_ENOMEM, "kubelet endpoint: no condition variable");
    }
    gnutls_datum_t cert = {(unsigned char *)(uintptr_t)cert_pem, (unsigned)strlen(cert_pem)};
    gnutls_datum_t key = {(unsigned char *)(uintptr_t)key_pem, (unsigned)strlen(key_pem)};
    gnutls_datum_t ca = {(unsigned char *)(uintptr_t)ca_pem, (unsigned)strlen(ca_pem)};
    int g = gnutls_certificate_allocate_credentials(&f->cred);
    if (g < 0) {
        f->cred = NULL;
        rc = krc_error_set(err, KRC_ENOMEM, "kubelet endpoint: %s", gnutls_strerror(g));
        goto fail;
    }
    if ((g = gnutls_certificate_set_x509_key_mem(f->cred, &cert, &key, GNUTLS_X509_FMT_PEM)) < 0) {
        rc = krc_error_set(err, KRC_EINVAL, "kubelet endpoint: certificate or key: %s",
                           gnutls_strerror(g));
        goto fail;
    }
    if ((g = gnutls_certificate_set_x509_trust_mem(f->cred, &ca, GNUTLS_X509_FMT_PEM)) <= 0) {
        rc = krc_error_set(err, KRC_EINVAL, "kubelet endpoint: client CA: %s",
                           g < 0 ? gnutls_strerror(g) : "no certificate");
        goto fail;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        rc = krc_error_set(err, KRC_EINVAL, "kubelet endpoint: bad address %s", addr);
        goto fail;
    }
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->listen_fd < 0 ||
        setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(f->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        listen(f->listen_fd, LISTEN_BACKLOG) != 0) {
        rc = krc_error_set(err, KRC_EIO, "kubelet endpoint: cannot listen on %s:%d: %s", addr, port,
                           strerror(errno));
        goto fail;
    }
    if (pipe2(f->stop_pipe, O_CLOEXEC) != 0) {
        rc = krc_error_set(err, KRC_EIO, "kubelet endpoint: pipe: %s", strerror(errno));
        goto fail;
    }
    int t = pthread_create(&f->accept_thread, NULL, accept_main, f);
    if (t != 0) {
        rc = krc_error_set(err, KRC_EIO, "kubelet endpoint: no thread: %s", strerror(t));
        goto fail;
    }
    f->accept_started = 1;
    *out = f;
    return 0;
fail:
    krc_tlsfront_stop(f);
    return rc;
}

void krc_tlsfront_stop(struct krc_tlsfront *f)
{
    if (!f)
        return;
    __atomic_store_n(&f->stopping, 1, __ATOMIC_RELAXED);
    if (f->accept_started) {
        if (write(f->stop_pipe[1], "x", 1) != 1)
            KRC_LOG_WARN("kubelet endpoint: cannot wake the accept thread", "error",
                         strerror(errno));
        else
            pthread_join(f->accept_thread, NULL);
    }
    pthread_mutex_lock(&f->mu);
    for (struct relay *r = f->relays; r; r = r->next) {
        shutdown(r->net, SHUT_RDWR);
        if (r->app >= 0)
            shutdown(r->app, SHUT_RDWR);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STOP_WAIT_S;
    while (f->relays && pthread_cond_timedwait(&f->cond, &f->mu, &until) == 0)
        ;
    int left = f->relays != NULL;
    pthread_mutex_unlock(&f->mu);
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    for (int i = 0; i < 2; i++)
        if (f->stop_pipe[i] >= 0)
            close(f->stop_pipe[i]);
    f->listen_fd = f->stop_pipe[0] = f->stop_pipe[1] = -1;
    if (left) { /* they still use f and its credentials: leave both (the process
                   is ending) */
        KRC_LOG_WARN("kubelet endpoint: connections still open at stop");
        return;
    }
    if (f->cred)
        gnutls_certificate_free_credentials(f->cred);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
