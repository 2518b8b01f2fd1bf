/* tls_openssl.c - the TLS layer (tls.h) on OpenSSL (KRC_TLS=openssl).
 *
 * Owns the SSL_CTX of a krc_http (trust store, client certificate, ALPN, TLS >= 1.2), the newest
 * session ticket (resumption) and the SSL of each connection. SIGPIPE: OpenSSL writes with
 * write(2), without MSG_NOSIGNAL, so TLS calls run with SIGPIPE blocked in the calling thread and
 * a pending one consumed, as libpq does, so a process need not ignore SIGPIPE. Memory: creating
 * the first SSL_CTX costs ~3 MB resident (provider initialisation touches much of libcrypto);
 * skipping openssl.cnf, a private OSSL_LIB_CTX, malloc_trim change nothing measurable, and not
 * loading the error strings saves ~280 KB at the price of numeric error messages, so none of
 * that is done: KRC_TLS=gnutls is the lighter choice. */
#include "kube/tls.h"

#include "util/log.h"
#include "util/mutex.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const unsigned char alpn_protos[] = "\x02h2\x08http/1.1";
static const unsigned char alpn_protos_h1[] = "\x08http/1.1"; /* for HTTP/1.1 upgrades */

struct krc_tls_ctx {
    SSL_CTX *ssl_ctx;
    pthread_mutex_t mu; /* guards session */
    int mu_ok;
    SSL_SESSION *session; /* newest session ticket, for resumption */
};

struct krc_tls_conn {
    SSL *ssl;
};

/* The newest OpenSSL error, for messages; clears the queue. */
static const char *ssl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_get_error();
    unsigned long last = e;
    while (e) {
        last = e;
        e = ERR_get_error();
    }
    if (!last)
        return "unknown TLS error";
    ERR_error_string_n(last, buf, size);
    return buf;
}

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

/* ---- SIGPIPE guard ---- */

struct sigpipe_guard {
    sigset_t old;
    int was_pending;
    int ok;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    g->ok = pthread_sigmask(SIG_BLOCK, &set, &g->old) == 0;
    g->was_pending = g->ok && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
    sigset_t set, pending;
    if (!g->ok)
        return;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- the context ---- */

static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0; /* encrypted keys are not supported: never prompt on a terminal */
}

/* Keeps a copy of the newest session: the connection's own session object is marked not
 * resumable when the connection is freed without close_notify (a server closing an idle
 * connection), which would spoil resumption for every connection after it. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct krc_tls_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    SSL_SESSION *copy = SSL_SESSION_dup(sess);
    if (!copy)
        return 0; /* resumption is an optimisation */
    krc_mutex_lock(&ctx->mu);
    SSL_SESSION *old = ctx->session;
    ctx->session = copy;
    krc_mutex_unlock(&ctx->mu);
    SSL_SESSION_free(old);
    return 0; /* the library drops its reference to sess */
}

static int tls_error(struct krc_error *err, const char *what, const char *name)
{
    char ebuf[160];
    return krc_error_set(err, KRC_EINVAL, "http client: %s%s%s: %s", what, name ? " " : "",
                         name ? name : "", ssl_reason(ebuf, sizeof(ebuf)));
}

/* A key that OpenSSL refused; when only because it is not the certificate's, says so. */
static int key_error(struct krc_error *err, const char *what, const char *name)
{
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
        ERR_clear_error();
        return krc_error_set(err, KRC_EINVAL,
                             "http client: client certificate and key do not match");
    }
    return tls_error(err, what, name);
}

/* Adds every certificate of a PEM blob to the trust store. */
static int load_ca_pem(SSL_CTX *sctx, const struct krc_pem *pem, struct krc_error *err)
{
    BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
    X509_STORE *store = SSL_CTX_get_cert_store(sctx);
    X509 *cert;
    int n = 0, rc = 0;
    if (!bio)
        return krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
    while ((cert = PEM_read_bio_X509(bio, NULL, no_password, NULL)) != NULL) {
        int ok = X509_STORE_add_cert(store, cert) == 1;
        X509_free(cert);
        if (!ok) {
            rc = tls_error(err, "certificate-authority-data", NULL);
            break;
        }
        n++;
    }
    ERR_clear_error(); /* the read after the last certificate fails by design */
    BIO_free(bio);
    if (!rc && n == 0)
        rc = krc_error_set(err, KRC_EINVAL,
                           "http client: certificate-authority-data holds no PEM certificate");
    return rc;
}

/* The client certificate (first PEM block) and its chain from a blob. */
static int load_cert_pem(SSL_CTX *sctx, const struct krc_pem *pem, struct krc_error *err)
{
    BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
    X509 *cert;
    int rc = 0;
    if (!bio)
        return krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
    cert = PEM_read_bio_X509(bio, NULL, no_password, NULL);
    if (!cert || SSL_CTX_use_certificate(sctx, cert) != 1)
        rc = tls_error(err, "client-certificate-data", NULL);
    X509_free(cert);
    while (!rc && (cert = PEM_read_bio_X509(bio, NULL, no_password, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(sctx, cert) != 1) {
            X509_free(cert);
            rc = tls_error(err, "client-certificate-data chain", NULL);
        }
    }
    ERR_clear_error();
    BIO_free(bio);
    return rc;
}

static int load_key_pem(SSL_CTX *sctx, const struct krc_pem *pem, struct krc_error *err)
{
    BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
    int rc = 0;
    if (!bio)
        return krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    if (!key || SSL_CTX_use_PrivateKey(sctx, key) != 1)
        rc = key_error(err, "client-key-data", NULL);
    EVP_PKEY_free(key);
    BIO_free(bio);
    return rc;
}

static int setup(SSL_CTX *sctx, const struct krc_kubeconfig *cfg, struct krc_error *err)
{
    int rc;
    SSL_CTX_set_default_passwd_cb(sctx, no_password);
    SSL_CTX_set_mode(sctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_min_proto_version(sctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_alpn_protos(sctx, alpn_protos, sizeof(alpn_protos) - 1) != 0)
        return tls_error(err, "configuring TLS", NULL);
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(sctx, on_new_session);
    if (cfg->insecure_skip_tls_verify) {
        SSL_CTX_set_verify(sctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER, NULL);
        /* A configured CA replaces the system trust store, as in client-go. */
        if (cfg->ca_file && SSL_CTX_load_verify_locations(sctx, cfg->ca_file, NULL) != 1)
            return tls_error(err, "certificate-authority", cfg->ca_file);
        if (cfg->ca_data.data && (rc = load_ca_pem(sctx, &cfg->ca_data, err)) != 0)
            return rc;
        if (!cfg->ca_file && !cfg->ca_data.data && SSL_CTX_set_default_verify_paths(sctx) != 1)
            return tls_error(err, "loading the system trust store", NULL);
    }
    if (cfg->client_cert_file) {
        if (SSL_CTX_use_certificate_chain_file(sctx, cfg->client_cert_file) != 1)
            return tls_error(err, "client-certificate", cfg->client_cert_file);
    } else if (cfg->client_cert_data.data &&
               (rc = load_cert_pem(sctx, &cfg->client_cert_data, err)) != 0) {
        return rc;
    }
    if (cfg->client_key_file) {
        if (SSL_CTX_use_PrivateKey_file(sctx, cfg->client_key_file, SSL_FILETYPE_PEM) != 1)
            return key_error(err, "client-key", cfg->client_key_file);
    } else if (cfg->client_key_data.data &&
               (rc = load_key_pem(sctx, &cfg->client_key_data, err)) != 0) {
        return rc;
    }
    int has_cert = cfg->client_cert_file || cfg->client_cert_data.data;
    int has_key = cfg->client_key_file || cfg->client_key_data.data;
    if (has_cert && has_key && SSL_CTX_check_private_key(sctx) != 1)
        return tls_error(err, "client certificate and key do not match", NULL);
    return 0;
}

int krc_tls_ctx_new(const struct krc_kubeconfig *cfg, struct krc_tls_ctx **out,
                    struct krc_error *err)
{
    *out = NULL;
    struct krc_tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
    if (pthread_mutex_init(&ctx->mu, NULL) != 0) {
        free(ctx);
        return krc_error_set(err, KRC_ENOMEM, "http client: pthread_mutex_init failed");
    }
    ctx->mu_ok = 1;
    ERR_clear_error();
    ctx->ssl_ctx = SSL_CTX_new(TLS_client_method());
    int rc = ctx->ssl_ctx ? 0 : tls_error(err, "creating the TLS context", NULL);
    if (!rc) {
        SSL_CTX_set_app_data(ctx->ssl_ctx, ctx);
        rc = setup(ctx->ssl_ctx, cfg, err);
    }
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
    SSL_SESSION_free(ctx->session);
    SSL_CTX_free(ctx->ssl_ctx);
    if (ctx->mu_ok)
        pthread_mutex_destroy(&ctx->mu);
    free(ctx);
}

/* ---- connections ---- */

static int is_ip(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int krc_tls_conn_new(struct krc_tls_ctx *ctx, int fd, const char *verify_name, int http1_only,
                     struct krc_tls_conn **out, struct krc_tls_status *st)
{
    char ebuf[160];
    *out = NULL;
    struct krc_tls_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return set_status(st, ENOMEM, "out of memory");
    ERR_clear_error();
    c->ssl = SSL_new(ctx->ssl_ctx);
    if (!c->ssl) {
        free(c);
        return set_status(st, ENOMEM, "%s", ssl_reason(ebuf, sizeof(ebuf)));
    }
    int rc = 0;
    int ip = is_ip(verify_name);
    if (SSL_set_fd(c->ssl, fd) != 1)
        rc = set_status(st, 0, "%s", ssl_reason(ebuf, sizeof(ebuf)));
    SSL_set_connect_state(c->ssl);
    /* SSL_set_alpn_protos returns 0 on success, unlike most of OpenSSL. */
    if (!rc && http1_only &&
        SSL_set_alpn_protos(c->ssl, alpn_protos_h1, sizeof(alpn_protos_h1) - 1) != 0)
        rc = set_status(st, ENOMEM, "%s", ssl_reason(ebuf, sizeof(ebuf)));
    if (!rc && !ip && SSL_set_tlsext_host_name(c->ssl, verify_name) != 1)
        rc = set_status(st, 0, "%s", ssl_reason(ebuf, sizeof(ebuf)));
    if (!rc && SSL_get_verify_mode(c->ssl) != SSL_VERIFY_NONE) {
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), verify_name)
                    : SSL_set1_host(c->ssl, verify_name);
        if (ok != 1)
            rc = set_status(st, 0, "%s", ssl_reason(ebuf, sizeof(ebuf)));
    }
    if (rc) {
        krc_tls_conn_free(c, 0);
        return rc;
    }
    krc_mutex_lock(&ctx->mu);
    int sok = !ctx->session || SSL_set_session(c->ssl, ctx->session) == 1;
    krc_mutex_unlock(&ctx->mu);
    if (!sok)
        ERR_clear_error(); /* resumption is an optimisation: go on with a full handshake */
    *out = c;
    return 0;
}

int krc_tls_handshake(struct krc_tls_conn *c, struct krc_tls_status *st)
{
    char ebuf[160];
    struct sigpipe_guard g;
    ERR_clear_error();
    sigpipe_block(&g);
    int r = SSL_do_handshake(c->ssl);
    int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
    int saved = errno;
    sigpipe_restore(&g);
    if (r == 1)
        return 0;
    if (e == SSL_ERROR_WANT_READ)
        return KRC_TLS_WANT_READ;
    if (e == SSL_ERROR_WANT_WRITE)
        return KRC_TLS_WANT_WRITE;
    long v = SSL_get_verify_result(c->ssl);
    if (v != X509_V_OK) {
        set_status(st, 0, "%s", X509_verify_cert_error_string(v));
        st->verify_failed = 1;
        return KRC_TLS_FAILED;
    }
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        return set_status(st, saved, "%s", saved ? strerror(saved) : "connection closed");
    return set_status(st, 0, "%s", ssl_reason(ebuf, sizeof(ebuf)));
}

int krc_tls_is_h2(struct krc_tls_conn *c)
{
    const unsigned char *proto = NULL;
    unsigned int plen = 0;
    SSL_get0_alpn_selected(c->ssl, &proto, &plen);
    return plen == 2 && memcmp(proto, "h2", 2) == 0;
}

ssize_t krc_tls_read(struct krc_tls_conn *c, void *buf, size_t len, struct krc_tls_status *st)
{
    char ebuf[160];
    struct sigpipe_guard g;
    ERR_clear_error();
    sigpipe_block(&g);
    int n = SSL_read(c->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
    int e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
    int saved = errno;
    sigpipe_restore(&g);
    if (n > 0)
        return n;
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    if (e == SSL_ERROR_WANT_READ)
        return KRC_TLS_WANT_READ;
    if (e == SSL_ERROR_WANT_WRITE)
        return KRC_TLS_WANT_WRITE;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        if (saved && saved != EPIPE && saved != ECONNRESET)
            return set_status(st, saved, "recv: %s", strerror(saved));
        return 0; /* closed without close_notify: an EOF as far as HTTP goes */
    }
    return set_status(st, 0, "TLS: %s", ssl_reason(ebuf, sizeof(ebuf)));
}

ssize_t krc_tls_write(struct krc_tls_conn *c, const void *buf, size_t len,
                      struct krc_tls_status *st)
{
    char ebuf[160];
    struct sigpipe_guard g;
    ERR_clear_error();
    sigpipe_block(&g);
    int r = SSL_write(c->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
    int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
    int saved = errno;
    sigpipe_restore(&g);
    if (r > 0)
        return r;
    if (e == SSL_ERROR_WANT_READ)
        return KRC_TLS_WANT_READ;
    if (e == SSL_ERROR_WANT_WRITE)
        return KRC_TLS_WANT_WRITE;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        return set_status(st, saved, "send: %s", saved ? strerror(saved) : "connection closed");
    return set_status(st, 0, "TLS: %s", ssl_reason(ebuf, sizeof(ebuf)));
}

void krc_tls_conn_free(struct krc_tls_conn *c, int notify)
{
    if (!c)
        return;
    if (notify) {
        struct sigpipe_guard g;
        sigpipe_block(&g);
        (void)SSL_shutdown(c->ssl); /* best effort close_notify; never waits */
        sigpipe_restore(&g);
    }
    ERR_clear_error();
    SSL_free(c->ssl);
    free(c);
}
