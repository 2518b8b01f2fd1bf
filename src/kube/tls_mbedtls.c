/* tls_mbedtls.c - the TLS layer (tls.h) on Mbed TLS 2.28 (KRC_TLS=mbedtls, the default).
 *
 * Why Mbed TLS: an API client's resident budget is 5 MB. Loading GnuTLS alone (its library
 * constructor, p11-kit's, and seven dependent libraries) costs ~2.5 MB before a single
 * connection, OpenSSL 3.0 ~3 MB once a context exists; Mbed TLS (three libraries, no
 * dependencies) runs a whole client handshake and request in ~1.2 MB. Debian 12 ships the 2.28
 * LTS branch: TLS 1.2 only (an API server requiring TLS 1.3 needs KRC_TLS=gnutls or openssl).
 *
 * Mbed TLS's default suite order (ChaCha20-Poly1305 first, which a Go API server follows) is
 * kept: reading 137 MB from an API server took 0.60 CPU seconds with it and 0.77 with AES-128-GCM
 * first, although Mbed TLS uses AES-NI and PCLMULQDQ for the latter.
 *
 * Owns the client configuration of a krc_http (trust, client certificate and key, ALPN, TLS 1.2,
 * the random source), the newest session (resumption by session ticket) and the ssl context of
 * each connection. Randomness comes from getrandom(2) (the kernel's CSPRNG, thread-safe, nothing
 * to seed). The socket is driven with send(2)/recv(2) and MSG_NOSIGNAL, so no call raises SIGPIPE.
 *
 * Name checks: Mbed TLS 2.28 matches a DNS name against the certificate's dNSName entries (or its
 * CN without them) but knows nothing of iPAddress entries, and checks no name at all when none is
 * set. So for an IP address (an API server at https://10.0.0.1) no name is set and
 * check_ip_san(), run by the verify callback on the server's own certificate, requires an
 * iPAddress entry equal to it, as Go's crypto/tls does. */
#include "kube/tls.h"

#include "util/log.h"
#include "util/mutex.h"

#include <arpa/inet.h>
#include <errno.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

/* The system trust store, as Debian's ca-certificates lays it out (one bundle file). */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

enum {
    ERRBUF_MAX = 128,
    VERIFY_INFO_MAX = 160,
    /* An iPAddress entry of a subjectAltName is context-specific tag 7 (RFC 5280 4.2.1.6). */
    SAN_TAG_IP = MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS,
    /* Set in the verify flags when no iPAddress entry matches; Mbed TLS's own code for a name
     * mismatch, so mbedtls_x509_crt_verify_info() words it. */
    IP_MISMATCH_FLAG = MBEDTLS_X509_BADCERT_CN_MISMATCH,
};

struct krc_tls_ctx {
    mbedtls_ssl_config conf;
    mbedtls_ssl_config conf_h1; /* the same but ALPN http/1.1 only, for HTTP/1.1 upgrades */
    mbedtls_x509_crt trust;
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;
    int verify;
    pthread_mutex_t mu; /* guards session, has_session */
    int mu_ok;
    mbedtls_ssl_session session; /* the newest session, for resumption */
    int has_session;
};

struct krc_tls_conn {
    struct krc_tls_ctx *ctx;
    mbedtls_ssl_context ssl;
    int fd;
    int io_errno; /* errno of the socket call that failed, for the status */
    int ip_len;   /* > 0: the server's certificate must carry this IP address */
    unsigned char ip[sizeof(struct in6_addr)];
};

static const char *alpn_protocols[] = {"h2", "http/1.1", NULL};
static const char *alpn_protocols_h1[] = {"http/1.1", NULL};

/* Records why a call failed; returns KRC_TLS_FAILED. */
static int set_status(struct krc_tls_status *st, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_status(struct krc_tls_status *st, int sys_errno, const char *fmt, ...)
{
    va_list ap;
    st->verify_failed = 0;
    st->sys_errno = sys_errno;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
    va_end(ap);
    return KRC_TLS_FAILED;
}

static const char *mbed_strerror(int code, char *buf, size_t size)
{
    mbedtls_strerror(code, buf, size);
    return buf;
}

/* The random source of every handshake: the kernel's CSPRNG. */
static int kernel_random(void *unused, unsigned char *out, size_t len)
{
    (void)unused;
    while (len > 0) {
        ssize_t n = getrandom(out, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
        }
        out += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- the context ---- */

static int mbed_fail(struct krc_error *err, int code, const char *what, const char *name)
{
    char buf[ERRBUF_MAX];
    int oom = code == MBEDTLS_ERR_X509_ALLOC_FAILED || code == MBEDTLS_ERR_PK_ALLOC_FAILED ||
              code == MBEDTLS_ERR_SSL_ALLOC_FAILED;
    return krc_error_set(err, oom ? KRC_ENOMEM : KRC_EINVAL, "http client: %s%s%s: %s", what,
                         name ? " " : "", name ? name : "", mbed_strerror(code, buf, sizeof(buf)));
}

/* Parses PEM data that need not end with a NUL (Mbed TLS wants the NUL counted in the length). */
static int parse_pem_certs(mbedtls_x509_crt *chain, const char *data, size_t len)
{
    char *z = malloc(len + 1);
    if (!z)
        return MBEDTLS_ERR_X509_ALLOC_FAILED;
    memcpy(z, data, len);
    z[len] = '\0';
    int rc = mbedtls_x509_crt_parse(chain, (const unsigned char *)z, len + 1);
    free(z);
    return rc;
}

/* Counts the certificates in a chain. */
static int chain_len(const mbedtls_x509_crt *c)
{
    int n = 0;
    for (; c && c->raw.len; c = c->next)
        n++;
    return n;
}

static int load_trust(struct krc_tls_ctx *ctx, const struct krc_kubeconfig *cfg,
                      struct krc_error *err)
{
    int n;
    /* A configured CA replaces the system trust store, as in client-go. mbedtls returns > 0
     * when some certificates of a bundle did not parse; the usable ones are kept. */
    if (cfg->ca_file) {
        int before = chain_len(&ctx->trust);
        n = mbedtls_x509_crt_parse_file(&ctx->trust, cfg->ca_file);
        if (n < 0)
            return mbed_fail(err, n, "certificate-authority", cfg->ca_file);
        if (chain_len(&ctx->trust) == before)
            return krc_error_set(err, KRC_EINVAL,
                                 "http client: certificate-authority %s holds no PEM certificate",
                                 cfg->ca_file);
    }
    if (cfg->ca_data.data) {
        int before = chain_len(&ctx->trust);
        n = parse_pem_certs(&ctx->trust, cfg->ca_data.data, cfg->ca_data.len);
        if (n < 0)
            return mbed_fail(err, n, "certificate-authority-data", NULL);
        if (chain_len(&ctx->trust) == before)
            return krc_error_set(
                err, KRC_EINVAL,
                "http client: certificate-authority-data holds no PEM certificate");
    }
    if (!cfg->ca_file && !cfg->ca_data.data) {
        n = mbedtls_x509_crt_parse_file(&ctx->trust, SYSTEM_CA_BUNDLE);
        if (n < 0)
            return mbed_fail(err, n, "loading the system trust store", SYSTEM_CA_BUNDLE);
    }
    return 0;
}

/* Reads a whole file for the key parser (NUL-terminated, counted); the caller wipes and frees. */
static int read_pem_file(const char *path, unsigned char **out, size_t *len)
{
    /* mbedtls_pk_load_file is what mbedtls_pk_parse_keyfile uses; it is not public in 2.28, so
     * the file is read here. */
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            unsigned char *nb = malloc(ncap);
            if (!nb) {
                if (buf)
                    mbedtls_platform_zeroize(buf, cap);
                free(buf);
                fclose(f);
                return -ENOMEM;
            }
            if (buf) {
                memcpy(nb, buf, n);
                mbedtls_platform_zeroize(buf, cap);
                free(buf);
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        mbedtls_platform_zeroize(buf, cap);
        free(buf);
        return -EIO;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n + 1;
    return 0;
}

static int load_client_cert(struct krc_tls_ctx *ctx, const struct krc_kubeconfig *cfg,
                            struct krc_error *err)
{
    /* krc_http_new has checked that the certificate and the key come together. */
    if (!cfg->client_cert_file && !cfg->client_cert_data.data)
        return 0;
    const char *cert_what =
        cfg->client_cert_file ? "client-certificate" : "client-certificate-data";
    const char *key_what = cfg->client_key_file ? "client-key" : "client-key-data";
    int n;
    /* The first certificate is the client's, the rest its chain. */
    if (cfg->client_cert_file)
        n = mbedtls_x509_crt_parse_file(&ctx->own_cert, cfg->client_cert_file);
    else
        n = parse_pem_certs(&ctx->own_cert, cfg->client_cert_data.data, cfg->client_cert_data.len);
    if (n < 0)
        return mbed_fail(err, n, cert_what, cfg->client_cert_file);
    if (n > 0 || !chain_len(&ctx->own_cert))
        return krc_error_set(err, KRC_EINVAL, "http client: %s%s%s: not a PEM certificate",
                             cert_what, cfg->client_cert_file ? " " : "",
                             cfg->client_cert_file ? cfg->client_cert_file : "");

    unsigned char *key = NULL;
    size_t key_len = 0;
    if (cfg->client_key_file) {
        int e = read_pem_file(cfg->client_key_file, &key, &key_len);
        if (e)
            return krc_error_set(err, e == -ENOMEM ? KRC_ENOMEM : KRC_EINVAL,
                                 "http client: client-key %s: %s", cfg->client_key_file,
                                 strerror(-e));
    } else {
        key_len = cfg->client_key_data.len + 1;
        if (!(key = malloc(key_len)))
            return krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
        memcpy(key, cfg->client_key_data.data, cfg->client_key_data.len);
        key[key_len - 1] = '\0';
    }
    n = mbedtls_pk_parse_key(&ctx->own_key, key, key_len, NULL, 0);
    mbedtls_platform_zeroize(key, key_len);
    free(key);
    if (n != 0)
        return mbed_fail(err, n, key_what, cfg->client_key_file);
    if (mbedtls_pk_check_pair(&ctx->own_cert.pk, &ctx->own_key) != 0)
        return krc_error_set(err, KRC_EINVAL,
                             "http client: client certificate and key do not match");
    return 0;
}

/* Whether the server's own certificate carries the IP address the connection was made to. */
static int check_ip_san(const struct krc_tls_conn *c, const mbedtls_x509_crt *crt)
{
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s; s = s->next)
        if (s->buf.tag == SAN_TAG_IP && s->buf.len == (size_t)c->ip_len &&
            memcmp(s->buf.p, c->ip, (size_t)c->ip_len) == 0)
            return 1;
    return 0;
}

/* Runs for each certificate of the server's chain; depth 0 is the server's own. */
static int verify_cb(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const struct krc_tls_conn *c = arg;
    if (depth == 0 && c->ip_len > 0 && !check_ip_san(c, crt))
        *flags |= IP_MISMATCH_FLAG;
    return 0;
}

/* One client configuration over the loaded trust and client certificate. Mbed TLS 2.28 sets
 * ALPN per configuration only, hence two of them (a few hundred bytes each). */
static int configure(struct krc_tls_ctx *ctx, mbedtls_ssl_config *conf, const char **alpn,
                     struct krc_error *err)
{
    int n = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT);
    if (n == 0)
        n = mbedtls_ssl_conf_alpn_protocols(conf, alpn);
    if (n != 0)
        return mbed_fail(err, n, "configuring TLS", NULL);
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3); /* TLS 1.2 */
    mbedtls_ssl_conf_rng(conf, kernel_random, NULL);
    mbedtls_ssl_conf_session_tickets(conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
    mbedtls_ssl_conf_authmode(conf,
                              ctx->verify ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_NONE);
    if (ctx->verify)
        mbedtls_ssl_conf_ca_chain(conf, &ctx->trust, NULL);
    if (chain_len(&ctx->own_cert) > 0) {
        n = mbedtls_ssl_conf_own_cert(conf, &ctx->own_cert, &ctx->own_key);
        if (n != 0)
            return mbed_fail(err, n, "using the client certificate", NULL);
    }
    return 0;
}

int krc_tls_ctx_new(const struct krc_kubeconfig *cfg, struct krc_tls_ctx **out,
                    struct krc_error *err)
{
    int rc = 0;
    *out = NULL;
    struct krc_tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
    mbedtls_ssl_config_init(&ctx->conf);
    mbedtls_ssl_config_init(&ctx->conf_h1);
    mbedtls_x509_crt_init(&ctx->trust);
    mbedtls_x509_crt_init(&ctx->own_cert);
    mbedtls_pk_init(&ctx->own_key);
    mbedtls_ssl_session_init(&ctx->session);
    if (pthread_mutex_init(&ctx->mu, NULL) != 0) {
        krc_tls_ctx_free(ctx);
        return krc_error_set(err, KRC_ENOMEM, "http client: pthread_mutex_init failed");
    }
    ctx->mu_ok = 1;
    ctx->verify = !cfg->insecure_skip_tls_verify;
    if (ctx->verify)
        rc = load_trust(ctx, cfg, err);
    if (!rc)
        rc = load_client_cert(ctx, cfg, err);
    if (!rc)
        rc = configure(ctx, &ctx->conf, alpn_protocols, err);
    if (!rc)
        rc = configure(ctx, &ctx->conf_h1, alpn_protocols_h1, err);
    if (rc) {
        krc_tls_ctx_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void krc_tls_ctx_free(struct krc_tls_ctx *ctx)
{
    if (!ctx)
        return;
    mbedtls_ssl_session_free(&ctx->session);
    mbedtls_ssl_config_free(&ctx->conf);
    mbedtls_ssl_config_free(&ctx->conf_h1);
    mbedtls_pk_free(&ctx->own_key);
    mbedtls_x509_crt_free(&ctx->own_cert);
    mbedtls_x509_crt_free(&ctx->trust);
    if (ctx->mu_ok)
        pthread_mutex_destroy(&ctx->mu);
    free(ctx);
}

/* ---- socket I/O for Mbed TLS ---- */

static int sock_send(void *arg, const unsigned char *buf, size_t len)
{
    struct krc_tls_conn *c = arg;
    for (;;) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        c->io_errno = errno;
        return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                                     : MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

static int sock_recv(void *arg, unsigned char *buf, size_t len)
{
    struct krc_tls_conn *c = arg;
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return MBEDTLS_ERR_SSL_WANT_READ;
        c->io_errno = errno;
        return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
    }
}

/* ---- connections ---- */

/* Keeps this connection's session (with its ticket) as the newest, for the next connections. */
static void save_session(struct krc_tls_conn *c)
{
    mbedtls_ssl_session s;
    mbedtls_ssl_session_init(&s);
    if (mbedtls_ssl_get_session(&c->ssl, &s) != 0) {
        mbedtls_ssl_session_free(&s);
        return;
    }
    krc_mutex_lock(&c->ctx->mu);
    mbedtls_ssl_session old = c->ctx->session;
    c->ctx->session = s;
    c->ctx->has_session = 1;
    krc_mutex_unlock(&c->ctx->mu);
    mbedtls_ssl_session_free(&old);
}

int krc_tls_conn_new(struct krc_tls_ctx *ctx, int fd, const char *verify_name, int http1_only,
                     struct krc_tls_conn **out, struct krc_tls_status *st)
{
    char buf[ERRBUF_MAX];
    *out = NULL;
    struct krc_tls_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return set_status(st, ENOMEM, "out of memory");
    c->ctx = ctx;
    c->fd = fd;
    mbedtls_ssl_init(&c->ssl);
    int n = mbedtls_ssl_setup(&c->ssl, http1_only ? &ctx->conf_h1 : &ctx->conf);
    if (n == 0) {
        if (inet_pton(AF_INET, verify_name, c->ip) == 1)
            c->ip_len = (int)sizeof(struct in_addr);
        else if (inet_pton(AF_INET6, verify_name, c->ip) == 1)
            c->ip_len = (int)sizeof(struct in6_addr);
        else /* SNI, and the name the certificate must match */
            n = mbedtls_ssl_set_hostname(&c->ssl, verify_name);
    }
    if (n != 0) {
        krc_tls_conn_free(c, 0);
        return set_status(st, n == MBEDTLS_ERR_SSL_ALLOC_FAILED ? ENOMEM : 0, "%s",
                          mbed_strerror(n, buf, sizeof(buf)));
    }
    if (ctx->verify && c->ip_len > 0)
        mbedtls_ssl_set_verify(&c->ssl, verify_cb, c);
    mbedtls_ssl_set_bio(&c->ssl, c, sock_send, sock_recv, NULL);
    krc_mutex_lock(&ctx->mu);
    if (ctx->has_session) /* resumption is an optimisation: a failure means a full handshake */
        (void)mbedtls_ssl_set_session(&c->ssl, &ctx->session);
    krc_mutex_unlock(&ctx->mu);
    *out = c;
    return 0;
}

/* Maps a failed Mbed TLS call to a status. */
static int io_failure(struct krc_tls_conn *c, int code, const char *doing,
                      struct krc_tls_status *st)
{
    char buf[ERRBUF_MAX];
    if (code == MBEDTLS_ERR_NET_SEND_FAILED || code == MBEDTLS_ERR_NET_RECV_FAILED ||
        code == MBEDTLS_ERR_NET_CONN_RESET)
        return set_status(st, c->io_errno, "%s: %s", doing,
                          c->io_errno ? strerror(c->io_errno) : "connection closed");
    return set_status(st, 0, "TLS: %s", mbed_strerror(code, buf, sizeof(buf)));
}

int krc_tls_handshake(struct krc_tls_conn *c, struct krc_tls_status *st)
{
    int n = mbedtls_ssl_handshake(&c->ssl);
    if (n == 0) {
        save_session(c);
        return 0;
    }
    if (n == MBEDTLS_ERR_SSL_WANT_READ)
        return KRC_TLS_WANT_READ;
    if (n == MBEDTLS_ERR_SSL_WANT_WRITE)
        return KRC_TLS_WANT_WRITE;
    if (n == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        char info[VERIFY_INFO_MAX];
        uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
        if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) <= 0)
            snprintf(info, sizeof(info), "certificate verification failed");
        info[strcspn(info, "\n")] = '\0'; /* the first reason: one line */
        set_status(st, 0, "the server's certificate: %s", info);
        st->verify_failed = 1;
        return KRC_TLS_FAILED;
    }
    if (n == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
        return set_status(st, 0, "the server sent a fatal alert (%d)",
                          c->ssl.in_msg ? c->ssl.in_msg[1] : -1);
    return io_failure(c, n, "handshake", st);
}

int krc_tls_is_h2(struct krc_tls_conn *c)
{
    const char *p = mbedtls_ssl_get_alpn_protocol(&c->ssl);
    return p && strcmp(p, "h2") == 0;
}

ssize_t krc_tls_read(struct krc_tls_conn *c, void *buf, size_t len, struct krc_tls_status *st)
{
    for (;;) {
        int n = mbedtls_ssl_read(&c->ssl, buf, len);
        if (n >= 0)
            return n;
        if (n == MBEDTLS_ERR_SSL_WANT_READ)
            return KRC_TLS_WANT_READ;
        if (n == MBEDTLS_ERR_SSL_WANT_WRITE)
            return KRC_TLS_WANT_WRITE;
        if (n == MBEDTLS_ERR_SSL_CLIENT_RECONNECT || n == MBEDTLS_ERR_SSL_NON_FATAL)
            continue;
        if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == MBEDTLS_ERR_NET_CONN_RESET)
            return 0; /* an EOF as far as HTTP goes */
        if (n == MBEDTLS_ERR_NET_RECV_FAILED && c->io_errno == EPIPE)
            return 0;
        return io_failure(c, n, "recv", st);
    }
}

ssize_t krc_tls_write(struct krc_tls_conn *c, const void *buf, size_t len,
                      struct krc_tls_status *st)
{
    int n = mbedtls_ssl_write(&c->ssl, buf, len);
    if (n > 0)
        return n;
    if (n == MBEDTLS_ERR_SSL_WANT_WRITE || n == 0)
        return KRC_TLS_WANT_WRITE;
    if (n == MBEDTLS_ERR_SSL_WANT_READ)
        return KRC_TLS_WANT_READ;
    return io_failure(c, n, "send", st);
}

void krc_tls_conn_free(struct krc_tls_conn *c, int notify)
{
    if (!c)
        return;
    if (notify) /* best effort close_notify; never waits (the socket is non-blocking) */
        (void)mbedtls_ssl_close_notify(&c->ssl);
    mbedtls_ssl_free(&c->ssl);
    free(c);
}
