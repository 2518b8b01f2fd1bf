/* tls_gnutls.c - the TLS layer (tls.h) on GnuTLS (KRC_TLS=gnutls).
 *
 * GnuTLS costs ~2.5 MB more resident memory than Mbed TLS in an API client (its constructor,
 * p11-kit's and seven dependent libraries load before the first connection) and ~1.7 MB less
 * than OpenSSL 3.0; it speaks TLS 1.3, which the default layer (tls_mbedtls.c) does not.
 * Owns the credentials of a krc_http (trust, client certificate and key), its priority string
 * (TLS 1.2 and 1.3) and the newest session data (resumption), and the gnutls session of each
 * connection. Sessions are created with GNUTLS_NO_SIGNAL (send(2) with MSG_NOSIGNAL), so no TLS
 * call raises SIGPIPE and a process need not ignore it. */
#include "kube/tls.h"

#include "util/log.h"
#include "util/mutex.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TLS 1.2 and 1.3 only, otherwise GnuTLS's defaults. */
#define PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define ALPN_H2  "h2"
#define ALPN_H1  "http/1.1"

enum { KEY_ID_MAX = 64 };

struct krc_tls_ctx {
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
    int verify;
    pthread_mutex_t mu; /* guards session */
    int mu_ok;
    gnutls_datum_t session; /* newest resumption data; size 0 when none */
};

struct krc_tls_conn {
    struct krc_tls_ctx *ctx;
    gnutls_session_t s;
    int saved; /* this connection's resumption data is in ctx */
};

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

static void free_secret(gnutls_datum_t *d)
{
    if (d->data) {
        gnutls_memset(d->data, 0, d->size);
        gnutls_free(d->data);
    }
    d->data = NULL;
    d->size = 0;
}

/* ---- the context ---- */

static int gnutls_fail(struct krc_error *err, int code, const char *what, const char *name)
{
    return krc_error_set(err, code == GNUTLS_E_MEMORY_ERROR ? KRC_ENOMEM : KRC_EINVAL,
                         "http client: %s%s%s: %s", what, name ? " " : "", name ? name : "",
                         gnutls_strerror(code));
}

static int load_trust(struct krc_tls_ctx *ctx, const struct krc_kubeconfig *cfg,
                      struct krc_error *err)
{
    int n;
    /* A configured CA replaces the system trust store, as in client-go. */
    if (cfg->ca_file) {
        n = gnutls_certificate_set_x509_trust_file(ctx->cred, cfg->ca_file, GNUTLS_X509_FMT_PEM);
        if (n < 0)
            return gnutls_fail(err, n, "certificate-authority", cfg->ca_file);
        if (n == 0)
            return krc_error_set(err, KRC_EINVAL,
                                 "http client: certificate-authority %s holds no PEM certificate",
                                 cfg->ca_file);
    }
    if (cfg->ca_data.data) {
        gnutls_datum_t d = {(unsigned char *)cfg->ca_data.data, (unsigned int)cfg->ca_data.len};
        n = gnutls_certificate_set_x509_trust_mem(ctx->cred, &d, GNUTLS_X509_FMT_PEM);
        if (n < 0)
            return gnutls_fail(err, n, "certificate-authority-data", NULL);
        if (n == 0)
            return krc_error_set(
                err, KRC_EINVAL,
                "http client: certificate-authority-data holds no PEM certificate");
    }
    if (!cfg->ca_file && !cfg->ca_data.data) {
        n = gnutls_certificate_set_x509_system_trust(ctx->cred);
        if (n < 0)
            return gnutls_fail(err, n, "loading the system trust store", NULL);
    }
    return 0;
}

/* Whether the certificate (the first of a PEM blob) carries the public half of the key: their
 * key IDs (SHA-256 of the public key) are equal. 1, 0, or a negative GnuTLS code. GnuTLS's own
 * check signs and verifies a test message, which makes a client that authenticates with a token
 * (in-cluster) page in ~0.5 MB of public-key code it never needs otherwise. */
static int key_matches(const gnutls_datum_t *cert, const gnutls_datum_t *key)
{
    gnutls_x509_crt_t crt = NULL;
    gnutls_x509_privkey_t pk = NULL;
    unsigned char crt_id[KEY_ID_MAX], key_id[KEY_ID_MAX];
    size_t crt_len = sizeof(crt_id), key_len = sizeof(key_id);
    int g = gnutls_x509_crt_init(&crt);
    if (g >= 0)
        g = gnutls_x509_crt_import(crt, cert, GNUTLS_X509_FMT_PEM);
    if (g >= 0)
        g = gnutls_x509_privkey_init(&pk);
    if (g >= 0)
        g = gnutls_x509_privkey_import2(pk, key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g >= 0)
        g = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, crt_id, &crt_len);
    if (g >= 0)
        g = gnutls_x509_privkey_get_key_id(pk, GNUTLS_KEYID_USE_SHA256, key_id, &key_len);
    if (g >= 0)
        g = crt_len == key_len && memcmp(crt_id, key_id, crt_len) == 0;
    if (pk)
        gnutls_x509_privkey_deinit(pk);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    return g;
}

/* A PEM blob from a file (path, read into *owned) or from kubeconfig data. */
static int pem_source(const char *path, const struct krc_pem *data, gnutls_datum_t *out,
                      gnutls_datum_t *owned)
{
    if (path) {
        int g = gnutls_load_file(path, owned);
        *out = *owned;
        return g;
    }
    out->data = (unsigned char *)data->data;
    out->size = (unsigned int)data->len;
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
    const char *cert_file = cfg->client_cert_file ? cfg->client_cert_file : "";
    const char *key_file = cfg->client_key_file ? cfg->client_key_file : "";
    gnutls_datum_t cert, key, cert_owned = {NULL, 0}, key_owned = {NULL, 0};
    int rc = 0;
    int g = pem_source(cfg->client_cert_file, &cfg->client_cert_data, &cert, &cert_owned);
    if (g < 0)
        rc = gnutls_fail(err, g, cert_what, cfg->client_cert_file);
    if (!rc && (g = pem_source(cfg->client_key_file, &cfg->client_key_data, &key, &key_owned)) < 0)
        rc = gnutls_fail(err, g, key_what, cfg->client_key_file);
    if (!rc) {
        /* The first certificate is the client's, the rest its chain. */
        gnutls_certificate_set_flags(ctx->cred, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
        g = gnutls_certificate_set_x509_key_mem2(ctx->cred, &cert, &key, GNUTLS_X509_FMT_PEM, NULL,
                                                 0);
        if (g >= 0 && (g = key_matches(&cert, &key)) == 0)
            g = GNUTLS_E_CERTIFICATE_KEY_MISMATCH;
        if (g == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
            rc = krc_error_set(err, KRC_EINVAL,
                               "http client: client certificate and key do not match");
        else if (g < 0)
            rc = krc_error_set(err, g == GNUTLS_E_MEMORY_ERROR ? KRC_ENOMEM : KRC_EINVAL,
                               "http client: %s%s%s and %s%s%s: %s", cert_what,
                               *cert_file ? " " : "", cert_file, key_what, *key_file ? " " : "",
                               key_file, gnutls_strerror(g));
    }
    free_secret(&key_owned);
    gnutls_free(cert_owned.data);
    return rc;
}

int krc_tls_ctx_new(const struct krc_kubeconfig *cfg, struct krc_tls_ctx **out,
                    struct krc_error *err)
{
    int rc = 0, g;
    *out = NULL;
    struct krc_tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
    if (pthread_mutex_init(&ctx->mu, NULL) != 0) {
        free(ctx);
        return krc_error_set(err, KRC_ENOMEM, "http client: pthread_mutex_init failed");
    }
    ctx->mu_ok = 1;
    ctx->verify = !cfg->insecure_skip_tls_verify;
    if ((g = gnutls_certificate_allocate_credentials(&ctx->cred)) < 0) {
        ctx->cred = NULL;
        rc = gnutls_fail(err, g, "creating the TLS credentials", NULL);
    } else if ((g = gnutls_priority_init(&ctx->prio, PRIORITY, NULL)) < 0) {
        ctx->prio = NULL;
        rc = gnutls_fail(err, g, "configuring TLS", NULL);
    } else if (ctx->verify) {
        rc = load_trust(ctx, cfg, err);
    }
    if (!rc)
        rc = load_client_cert(ctx, cfg, err);
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
    free_secret(&ctx->session);
    if (ctx->prio)
        gnutls_priority_deinit(ctx->prio);
    if (ctx->cred)
        gnutls_certificate_free_credentials(ctx->cred);
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

/* Keeps this connection's resumption data as the newest (once per connection). */
static void save_session(struct krc_tls_conn *c)
{
    gnutls_datum_t d = {NULL, 0};
    c->saved = 1;
    if (gnutls_session_get_data2(c->s, &d) < 0 || !d.size) {
        gnutls_free(d.data);
        return;
    }
    krc_mutex_lock(&c->ctx->mu);
    gnutls_datum_t old = c->ctx->session;
    c->ctx->session = d;
    krc_mutex_unlock(&c->ctx->mu);
    free_secret(&old);
}

int krc_tls_conn_new(struct krc_tls_ctx *ctx, int fd, const char *verify_name, int http1_only,
                     struct krc_tls_conn **out, struct krc_tls_status *st)
{
    const gnutls_datum_t alpn[] = {{(unsigned char *)(uintptr_t)ALPN_H2, sizeof(ALPN_H2) - 1},
                                   {(unsigned char *)(uintptr_t)ALPN_H1, sizeof(ALPN_H1) - 1}};
    *out = NULL;
    struct krc_tls_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return set_status(st, ENOMEM, "out of memory");
    c->ctx = ctx;
    int g = gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
    if (g < 0) {
        free(c);
        return set_status(st, g == GNUTLS_E_MEMORY_ERROR ? ENOMEM : 0, "%s", gnutls_strerror(g));
    }
    if ((g = gnutls_priority_set(c->s, ctx->prio)) < 0 ||
        (g = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, ctx->cred)) < 0 ||
        (g = gnutls_alpn_set_protocols(c->s, http1_only ? alpn + 1 : alpn, http1_only ? 1 : 2, 0)) <
            0 ||
        (!is_ip(verify_name) && (g = gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, verify_name,
                                                            strlen(verify_name))) < 0)) {
        krc_tls_conn_free(c, 0);
        return set_status(st, g == GNUTLS_E_MEMORY_ERROR ? ENOMEM : 0, "%s", gnutls_strerror(g));
    }
    /* The handshake checks the chain against the trust and the name (a DNS name or an IP
     * address) against the certificate. */
    if (ctx->verify)
        gnutls_session_set_verify_cert(c->s, verify_name, 0);
    gnutls_handshake_set_timeout(c->s, 0); /* the caller's deadlines apply */
    gnutls_transport_set_int(c->s, fd);
    krc_mutex_lock(&ctx->mu);
    if (ctx->session.size) /* resumption is an optimisation: a failure means a full handshake */
        (void)gnutls_session_set_data(c->s, ctx->session.data, ctx->session.size);
    krc_mutex_unlock(&ctx->mu);
    *out = c;
    return 0;
}

/* What GNUTLS_E_AGAIN waits for. */
static int want(struct krc_tls_conn *c)
{
    return gnutls_record_get_direction(c->s) ? KRC_TLS_WANT_WRITE : KRC_TLS_WANT_READ;
}

int krc_tls_handshake(struct krc_tls_conn *c, struct krc_tls_status *st)
{
    for (;;) {
        errno = 0;
        int g = gnutls_handshake(c->s);
        int saved = errno;
        if (g == 0) {
            /* TLS 1.2 resumption data exists now; TLS 1.3 tickets arrive after the handshake
             * (see krc_tls_read). */
            if (gnutls_protocol_get_version(c->s) != GNUTLS_TLS1_3)
                save_session(c);
            return 0;
        }
        if (g == GNUTLS_E_AGAIN)
            return want(c);
        if (g == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(g))
            continue;
        if (g == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
            gnutls_datum_t txt = {NULL, 0};
            unsigned status = gnutls_session_get_verify_cert_status(c->s);
            if (gnutls_certificate_verification_status_print(
                    status, gnutls_certificate_type_get(c->s), &txt, 0) == 0)
                set_status(st, 0, "%s", (const char *)txt.data);
            else
                set_status(st, 0, "%s", gnutls_strerror(g));
            gnutls_free(txt.data);
            st->verify_failed = 1;
            return KRC_TLS_FAILED;
        }
        if (g == GNUTLS_E_FATAL_ALERT_RECEIVED) {
            const char *alert = gnutls_alert_get_name(gnutls_alert_get(c->s));
            return set_status(st, 0, "the server sent the alert: %s", alert ? alert : "unknown");
        }
        if (g == GNUTLS_E_PUSH_ERROR || g == GNUTLS_E_PULL_ERROR)
            return set_status(st, saved, "%s", saved ? strerror(saved) : "connection closed");
        if (g == GNUTLS_E_PREMATURE_TERMINATION)
            return set_status(st, 0, "connection closed");
        return set_status(st, 0, "%s", gnutls_strerror(g));
    }
}

int krc_tls_is_h2(struct krc_tls_conn *c)
{
    gnutls_datum_t p = {NULL, 0};
    return gnutls_alpn_get_selected_protocol(c->s, &p) == 0 && p.size == 2 &&
           memcmp(p.data, "h2", 2) == 0;
}

ssize_t krc_tls_read(struct krc_tls_conn *c, void *buf, size_t len, struct krc_tls_status *st)
{
    for (;;) {
        errno = 0;
        ssize_t n = gnutls_record_recv(c->s, buf, len);
        int saved = errno;
        if (!c->saved && (gnutls_session_get_flags(c->s) & GNUTLS_SFLAGS_SESSION_TICKET))
            save_session(c); /* a TLS 1.3 ticket came with what was read */
        if (n >= 0)
            return n;
        if (n == GNUTLS_E_AGAIN)
            return want(c);
        if (n == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal((int)n))
            continue; /* warning alerts, renegotiation requests (not honoured) */
        if (n == GNUTLS_E_PREMATURE_TERMINATION)
            return 0; /* closed without close_notify: an EOF as far as HTTP goes */
        if (n == GNUTLS_E_PULL_ERROR || n == GNUTLS_E_PUSH_ERROR) {
            if (saved && saved != EPIPE && saved != ECONNRESET)
                return set_status(st, saved, "recv: %s", strerror(saved));
            return 0;
        }
        return set_status(st, 0, "TLS: %s", gnutls_strerror((int)n));
    }
}

ssize_t krc_tls_write(struct krc_tls_conn *c, const void *buf, size_t len,
                      struct krc_tls_status *st)
{
    for (;;) {
        errno = 0;
        ssize_t n = gnutls_record_send(c->s, buf, len);
        int saved = errno;
        if (n > 0)
            return n;
        if (n == GNUTLS_E_AGAIN || n == 0)
            return want(c);
        if (n == GNUTLS_E_INTERRUPTED)
            continue;
        if (n == GNUTLS_E_PUSH_ERROR)
            return set_status(st, saved, "send: %s", saved ? strerror(saved) : "connection closed");
        return set_status(st, 0, "TLS: %s", gnutls_strerror((int)n));
    }
}

void krc_tls_conn_free(struct krc_tls_conn *c, int notify)
{
    if (!c)
        return;
    if (notify)
        (void)gnutls_bye(c->s, GNUTLS_SHUT_WR); /* best effort close_notify; never waits */
    gnutls_deinit(c->s);
    free(c);
}
