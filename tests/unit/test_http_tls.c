/* Unit tests of the API server transport (kube/http.h, whichever backend is built) against a TLS
 * server on loopback: trust from certificate-authority-data or a file, verification failures
 * (wrong CA, wrong name), insecure-skip-tls-verify, tls-server-name, client certificates inline
 * and from files, connection reuse, chunked streaming with cancel, Retry-After, and the errors
 * krc_http_new reports for an unusable TLS configuration. Certificates are
 * made here with OpenSSL (an EC CA, a server certificate for "kube.test" only, a client
 * certificate); the server is HTTP/1.1 with keep-alive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fake_http.h"
#include "kube/http.h"

enum { REQ_MAX = 16 * 1024, PEM_MAX = 8 * 1024 };

struct pki {
    EVP_PKEY *ca_key, *server_key, *client_key, *other_key;
    X509 *ca, *server, *client, *other_ca, *server_ip, *server_other_ip;
    char ca_pem[PEM_MAX], other_ca_pem[PEM_MAX], client_pem[PEM_MAX], client_key_pem[PEM_MAX],
        other_key_pem[PEM_MAX];
};

static struct pki pki;

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int is_ca,
                       const char *san)
{
    X509 *c = X509_new();
    X509V3_CTX ctx;
    assert_non_null(c);
    assert_int_equal(X509_set_version(c, 2), 1);
    static long serial = 1;
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 24 * 3600);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    assert_int_equal(X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name), 1);
    assert_int_equal(X509_set_pubkey(c, key), 1);
    X509V3_set_ctx(&ctx, issuer ? issuer : c, c, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                                              is_ca ? "critical,CA:TRUE" : "CA:FALSE");
    assert_non_null(ext);
    X509_add_ext(c, ext, -1);
    X509_EXTENSION_free(ext);
    if (san) {
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        assert_non_null(ext);
        X509_add_ext(c, ext, -1);
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return c;
}

static void to_pem(X509 *cert, EVP_PKEY *key, char *out, size_t size)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    assert_non_null(b);
    if (cert)
        assert_int_equal(PEM_write_bio_X509(b, cert), 1);
    else
        assert_int_equal(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL), 1);
    long n = BIO_get_mem_data(b, &data);
    assert_true(n > 0 && (size_t)n < size);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
}

static int pki_setup(void **state)
{
    (void)state;
    pki.ca_key = EVP_EC_gen("P-256");
    pki.server_key = EVP_EC_gen("P-256");
    pki.client_key = EVP_EC_gen("P-256");
    pki.other_key = EVP_EC_gen("P-256");
    assert_true(pki.ca_key && pki.server_key && pki.client_key && pki.other_key);
    pki.ca = make_cert(pki.ca_key, "test-ca", NULL, NULL, 1, NULL);
    pki.other_ca = make_cert(pki.other_key, "other-ca", NULL, NULL, 1, NULL);
    /* No IP address in the server certificate: 127.0.0.1 only verifies via tls-server-name. */
    pki.server = make_cert(pki.server_key, "kube.test", pki.ca, pki.ca_key, 0, "DNS:kube.test");
    pki.client = make_cert(pki.client_key, "admin", pki.ca, pki.ca_key, 0, NULL);
    /* An API server reached by address: an iPAddress entry, and one for another address. */
    pki.server_ip = make_cert(pki.server_key, "kube-ip", pki.ca, pki.ca_key, 0,
                              "DNS:kube.test,IP:127.0.0.1,IP:::1");
    pki.server_other_ip = make_cert(pki.server_key, "kube-other-ip", pki.ca, pki.ca_key, 0,
                                    "DNS:kube.test,IP:127.0.0.2");
    to_pem(pki.ca, NULL, pki.ca_pem, sizeof(pki.ca_pem));
    to_pem(pki.other_ca, NULL, pki.other_ca_pem, sizeof(pki.other_ca_pem));
    to_pem(pki.client, NULL, pki.client_pem, sizeof(pki.client_pem));
    to_pem(NULL, pki.client_key, pki.client_key_pem, sizeof(pki.client_key_pem));
    to_pem(NULL, pki.other_key, pki.other_key_pem, sizeof(pki.other_key_pem));
    return 0;
}

static int pki_teardown(void **state)
{
    (void)state;
    X509_free(pki.ca);
    X509_free(pki.other_ca);
    X509_free(pki.server);
    X509_free(pki.client);
    X509_free(pki.server_ip);
    X509_free(pki.server_other_ip);
    EVP_PKEY_free(pki.ca_key);
    EVP_PKEY_free(pki.server_key);
    EVP_PKEY_free(pki.client_key);
    EVP_PKEY_free(pki.other_key);
    return 0;
}

/* ---- the server ---- */

struct server {
    struct fake_listener l;
    int port;
    SSL_CTX *ctx;
    pthread_mutex_t mu;
    int connections, requests, resumed;
    char host[128], auth[128], path[256];
};

static int alpn_http11(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char proto[] = "\x08http/1.1";
    if (SSL_select_next_proto((unsigned char **)(uintptr_t)out, outlen, proto, sizeof(proto) - 1,
                              in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    return SSL_TLSEXT_ERR_OK;
}

static void ssl_write_all(SSL *ssl, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        int w = SSL_write(ssl, s, (int)n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* SSL_read that sits out the socket's receive timeouts until the test stops the server. */
static int read_wait(struct server *s, SSL *ssl, char *buf, int n)
{
    for (;;) {
        int r = SSL_read(ssl, buf, n);
        if (r > 0)
            return r;
        int e = SSL_get_error(ssl, r);
        if (fake_listener_stopping(&s->l) ||
            !(e == SSL_ERROR_WANT_READ ||
              (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))))
            return -1;
    }
}

/* Answers one request; 0 to keep the connection, -1 to close it. */
static int answer(struct server *s, SSL *ssl, const char *req)
{
    char path[256], resp[512];
    size_t n = strcspn(req, " ");
    snprintf(path, sizeof(path), "%.*s", (int)strcspn(req + n + 1, " "), req + n + 1);
    pthread_mutex_lock(&s->mu);
    s->requests++;
    snprintf(s->path, sizeof(s->path), "%s", path);
    fake_header_value(req, "\r\nHost:", s->host, sizeof(s->host));
    fake_header_value(req, "\r\nAuthorization:", s->auth, sizeof(s->auth));
    pthread_mutex_unlock(&s->mu);
    if (strncmp(path, "/watch", 6) == 0) {
        /* Chunked lines, then hold the stream open until the client goes. */
        ssl_write_all(ssl, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"
                           "6\r\nline1\n\r\n"
                           "c\r\nline2\nline3\n\r\n");
        while (!fake_listener_stopping(&s->l)) {
            char b[64];
            if (read_wait(s, ssl, b, sizeof(b)) <= 0)
                break;
        }
        return -1;
    }
    if (strncmp(path, "/close-after", 12) == 0) {
        /* A keep-alive answer, then the server drops the idle connection (as an API server
         * does on restart or after its idle timeout). */
        ssl_write_all(ssl, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
        return -1;
    }
    if (strncmp(path, "/busy", 5) == 0) {
        ssl_write_all(ssl, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
                           "Content-Length: 4\r\n\r\nbusy");
        return 0;
    }
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(path) + 11, "{\"path\":\"");
    ssl_write_all(ssl, resp);
    snprintf(resp, sizeof(resp), "%s\"}", path);
    ssl_write_all(ssl, resp);
    return 0;
}

static void serve_conn(struct server *s, int fd)
{
    static char req[REQ_MAX];
    SSL *ssl = SSL_new(s->ctx);
    assert_non_null(ssl);
    SSL_set_fd(ssl, fd);
    int ok;
    while ((ok = SSL_accept(ssl)) != 1 && !fake_listener_stopping(&s->l)) {
        int e = SSL_get_error(ssl, ok); /* sit out receive timeouts (slow under valgrind) */
        if (!(e == SSL_ERROR_WANT_READ ||
              (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))))
            break;
    }
    if (ok == 1) {
        if (SSL_session_reused(ssl)) {
            pthread_mutex_lock(&s->mu);
            s->resumed++;
            pthread_mutex_unlock(&s->mu);
        }
        for (;;) {
            size_t len = 0;
            char *end = NULL;
            while (!end && len + 1 < sizeof(req)) {
                int r = read_wait(s, ssl, req + len, (int)(sizeof(req) - 1 - len));
                if (r <= 0)
                    goto out;
                len += (size_t)r;
                req[len] = '\0';
                end = strstr(req, "\r\n\r\n");
            }
            if (!end || answer(s, ssl, req) != 0)
                break;
        }
    }
out:
    SSL_free(ssl);
}

static void serve(void *arg, int fd)
{
    struct server *s = arg;
    struct timeval tv = {0, 200 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* so stop is noticed */
    pthread_mutex_lock(&s->mu);
    s->connections++;
    pthread_mutex_unlock(&s->mu);
    serve_conn(s, fd);
}

static struct server *server_start_with(X509 *cert, int require_client_cert)
{
    struct server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(s->ctx);
    assert_int_equal(SSL_CTX_use_certificate(s->ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, pki.server_key), 1);
    SSL_CTX_set_alpn_select_cb(s->ctx, alpn_http11, NULL);
    if (require_client_cert) {
        assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(s->ctx), pki.ca), 1);
        SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    assert_int_equal(pthread_mutex_init(&s->mu, NULL), 0);
    fake_listener_start(&s->l, serve, s);
    s->port = s->l.port;
    return s;
}

static struct server *server_start(int require_client_cert)
{
    return server_start_with(pki.server, require_client_cert);
}

static void server_stop(struct server *s)
{
    fake_listener_stop(&s->l);
    SSL_CTX_free(s->ctx);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- the client side ---- */

static char *pem_dup(const char *pem, struct krc_pem *out)
{
    out->data = strdup(pem);
    assert_non_null(out->data);
    out->len = strlen(pem);
    return out->data;
}

static void config(struct krc_kubeconfig *cfg, const char *host, int port)
{
    char url[128];
    memset(cfg, 0, sizeof(*cfg));
    snprintf(url, sizeof(url), "https://%s:%d", host, port);
    cfg->server = strdup(url);
    cfg->tls_server_name = strdup("kube.test");
    cfg->token = strdup("tls-test-token");
    cfg->namespace = strdup("default");
    assert_true(cfg->server && cfg->tls_server_name && cfg->token && cfg->namespace);
    pem_dup(pki.ca_pem, &cfg->ca_data);
}

struct result {
    int rc;
    long status, retry_after;
    int sent, transient;
    char msg[KRC_ERROR_MSG_MAX];
    char body[256];
};

static struct result get(struct krc_http *h, const char *path)
{
    struct krc_http_response resp;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    struct result r;
    struct krc_http_request req = {
        .method = "GET", .path_and_query = path, .timeout_ms = 5000, .out = &out, .out_max = 4096};
    krc_http_response_init(&resp);
    r.rc = krc_http_perform(h, &req, &resp, &err);
    r.status = resp.status;
    r.retry_after = resp.retry_after_s;
    r.sent = resp.sent;
    r.transient = resp.transient;
    snprintf(r.msg, sizeof(r.msg), "%s", r.rc ? err.msg : "");
    snprintf(r.body, sizeof(r.body), "%s", out.len ? out.buf : resp.body.buf);
    krc_http_response_release(&resp);
    krc_strbuf_release(&out);
    return r;
}

static struct krc_http *client(const struct krc_kubeconfig *cfg)
{
    struct krc_http *h = NULL;
    struct krc_error err = {0, ""};
    if (krc_http_new(cfg, NULL, &h, &err) != 0)
        fail_msg("krc_http_new: %s", err.msg);
    return h;
}

static void test_ca_data_and_tls_server_name_with_reuse(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    struct krc_kubeconfig cfg;
    config(&cfg, "127.0.0.1", s->port);
    struct krc_http *h = client(&cfg);
    char want[64];
    snprintf(want, sizeof(want), "https://kube.test:%d", s->port);
    assert_string_equal(krc_http_server(h), want);
    for (int i = 0; i < 3; i++) {
        struct result r = get(h, "/api/v1/namespaces?limit=1");
        if (r.rc)
            fail_msg("GET: %s", r.msg);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "{\"path\":\"/api/v1/namespaces?limit=1\"}");
    }
    uint64_t attempts, conns, h2;
    krc_http_stats(h, &attempts, &conns, &h2);
    assert_int_equal(attempts, 3);
    assert_int_equal(conns, 1); /* kept alive and reused */
    assert_int_equal(s->connections, 1);
    snprintf(want, sizeof(want), "kube.test:%d", s->port);
    assert_string_equal(s->host, want);
    assert_string_equal(s->auth, "Bearer tls-test-token");
    krc_http_free(h);
    krc_kubeconfig_free(&cfg);
    server_stop(s);
}

static void test_verification_failures_are_not_transient(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    struct krc_kubeconfig cfg;
    struct krc_http *h;
    struct result r;

    /* The right CA, but the name checked is 127.0.0.1, which the certificate does not carry. */
    config(&cfg, "127.0.0.1", s->port);
    free(cfg.tls_server_name);
    cfg.tls_server_name = NULL;
    h = client(&cfg);
    r = get(h, "/x");
    assert_int_equal(r.rc, KRC_EIO);
    assert_int_equal(r.sent, 0);
    assert_int_equal(r.transient, 0);
    krc_http_free(h);
    krc_kubeconfig_free(&cfg);

    /* The right name, a CA that did not sign the certificate. */
    config(&cfg, "127.0.0.1", s->port);
    free(cfg.ca_data.data);
    pem_dup(pki.other_ca_pem, &cfg.ca_data);
    h = client(&cfg);
    r = get(h, "/x");
    assert_int_equal(r.rc, KRC_EIO);
    assert_int_equal(r.sent, 0);
    assert_int_equal(r.transient, 0);
    assert_null(strstr(r.msg, "tls-test-token"));
    krc_http_free(h);

    /* insecure-skip-tls-verify accepts it. */
    cfg.insecure_skip_tls_verify = 1;
    h = client(&cfg);
    r = get(h, "/y");
    if (r.rc)
        fail_msg("GET insecure: %s", r.msg);
    assert_int_equal(r.status, 200);
    krc_http_free(h);
    krc_kubeconfig_free(&cfg);
    server_stop(s);
}

/* Without tls-server-name the address in the URL is checked against the certificate's iPAddress
 * entries (not its DNS names or CN). */
static void test_ip_address_checked_against_ip_entries(void **state)
{
    (void)state;
    struct server *s = server_start_with(pki.server_ip, 0);
    struct krc_kubeconfig cfg;
    config(&cfg, "127.0.0.1", s->port);
    free(cfg.tls_server_name);
    cfg.tls_server_name = NULL;
    struct krc_http *h = client(&cfg);
    struct result r = get(h, "/by-address");
    if (r.rc)
        fail_msg("GET https://127.0.0.1 with IP:127.0.0.1 in the certificate: %s", r.msg);
    assert_int_equal(r.status, 200);
    krc_http_free(h);
    krc_kubeconfig_free(&cfg);
    server_stop(s);

    s = server_start_with(pki.server_other_ip, 0);
    config(&cfg, "127.0.0.1", s->port);
    free(cfg.tls_server_name);
    cfg.tls_server_name = NULL;
    h = client(&cfg);
    r = get(h, "/by-address");
    assert_int_equal(r.rc, KRC_EIO);
    assert_int_equal(r.sent, 0);
    assert_int_equal(r.transient, 0);
    krc_http_free(h);
    krc_kubeconfig_free(&cfg);
    server_stop(s);
}

static void write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(data, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_client_certificate_inline_and_from_files(void **state)
{
    (void)state;
    struct server *s = server_start(1);
    struct krc_kubeconfig cfg;
    struct krc_http *h;
    struct result r;

    config(&cfg, "127.0.0.1", s->port); /* no client certificate: the handshake fails */
    h = client(&cfg);
    r = get(h, "/x");
    assert_true(r.rc == KRC_EIO);
    krc_http_free(h);

    pem_dup(pki.client_pem, &cfg.client_cert_data);
    pem_dup(pki.client_key_pem, &cfg.client_key_data);
    h = client(&cfg);
    r = get(h, "/inline");
    if (r.rc)
        fail_msg("GET with inline certificate: %s", r.msg);
    assert_int_equal(r.status, 200);
    krc_http_free(h);
    krc_kubeconfig_free(&cfg);

    char dir[] = "/tmp/krc-http-tls-XXXXXX", ca[64], crt[64], key[64];
    assert_non_null(mkdtemp(dir));
    snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
    snprintf(crt, sizeof(crt), "%s/client.crt", dir);
    snprintf(key, sizeof(key), "%s/client.key", dir);
    write_file(ca, pki.ca_pem);
    write_file(crt, pki.client_pem);
    write_file(key, pki.client_key_pem);
    config(&cfg, "127.0.0.1", s->port);
    free(cfg.ca_data.data);
    cfg.ca_data.data = NULL;
    cfg.ca_data.len = 0;
    cfg.ca_file = strdup(ca);
    cfg.client_cert_file = strdup(crt);
    cfg.client_key_file = strdup(key);
    h = client(&cfg);
    r = get(h, "/files");
    if (r.rc)
        fail_msg("GET with certificate files: %s", r.msg);
    assert_int_equal(r.status, 200);
    krc_http_free(h);
    krc_kubeconfig_free(&cfg);
    unlink(ca);
    unlink(crt);
    unlink(key);
    rmdir(dir);
    server_stop(s);
}

/* krc_http_new fails with msg naming what is wrong (both TLS libraries word the rest their way). */
static void expect_config_error(const struct krc_kubeconfig *cfg, const char *what)
{
    struct krc_http *h = NULL;
    struct krc_error err = {0, ""};
    assert_int_equal(krc_http_new(cfg, NULL, &h, &err), KRC_EINVAL);
    assert_null(h);
    if (!strstr(err.msg, what))
        fail_msg("expected \"%s\" in: %s", what, err.msg);
}

static void test_unusable_tls_configuration_is_reported_up_front(void **state)
{
    (void)state;
    struct krc_kubeconfig cfg;

    config(&cfg, "127.0.0.1", 1); /* never connected to */
    pem_dup(pki.client_pem, &cfg.client_cert_data);
    pem_dup(pki.other_key_pem, &cfg.client_key_data);
    expect_config_error(&cfg, "client certificate and key do not match");
    krc_kubeconfig_free(&cfg);

    /* A certificate without its key, whichever TLS layer is built. */
    config(&cfg, "127.0.0.1", 1);
    pem_dup(pki.client_pem, &cfg.client_cert_data);
    expect_config_error(&cfg, "client-certificate without client-key");
    krc_kubeconfig_free(&cfg);

    config(&cfg, "127.0.0.1", 1);
    free(cfg.ca_data.data);
    pem_dup("not a certificate\n", &cfg.ca_data);
    expect_config_error(&cfg, "certificate-authority-data");
    krc_kubeconfig_free(&cfg);

    config(&cfg, "127.0.0.1", 1);
    free(cfg.ca_data.data);
    cfg.ca_data.data = NULL;
    cfg.ca_data.len = 0;
    cfg.ca_file = strdup("/nonexistent/krc-ca.crt");
    assert_non_null(cfg.ca_file);
    expect_config_error(&cfg, "/nonexistent/krc-ca.crt");
    krc_kubeconfig_free(&cfg);
}

static void test_retry_after_and_error_body(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    struct krc_kubeconfig cfg;
    config(&cfg, "127.0.0.1", s->port);
    struct krc_http *h = client(&cfg);
    struct result r = get(h, "/busy");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.status, 429);
    assert_int_equal(r.retry_after, 7);
    assert_string_equal(r.body, "busy");
    r = get(h, "/after"); /* the connection stays usable after an error status */
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.status, 200);
    krc_http_free(h);
    krc_kubeconfig_free(&cfg);
    server_stop(s);
}

static void test_idle_connection_closed_by_the_server_is_replaced(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    struct krc_kubeconfig cfg;
    config(&cfg, "127.0.0.1", s->port);
    struct krc_http *h = client(&cfg);
    struct result r = get(h, "/close-after");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.body, "{}");
    struct timespec pause = {0, 100 * 1000 * 1000}; /* for the server's close to arrive */
    nanosleep(&pause, NULL);
    r = get(h, "/next"); /* the pooled connection is dead by now: a new one, no error */
    if (r.rc)
        fail_msg("GET after the server closed: %s", r.msg);
    assert_int_equal(r.status, 200);
    uint64_t attempts, conns, h2;
    krc_http_stats(h, &attempts, &conns, &h2);
    assert_int_equal(attempts, 2);
    assert_int_equal(conns, 2);
    pthread_mutex_lock(&s->mu);
    int resumed = s->resumed;
    pthread_mutex_unlock(&s->mu);
    assert_int_equal(resumed, 1); /* the second connection resumed the first one's session */
    krc_http_free(h);
    krc_kubeconfig_free(&cfg);
    server_stop(s);
}

struct chunks {
    char got[64];
    size_t len;
    struct krc_cancel *cancel;
};

static int on_chunk(void *ctx, const char *data, size_t len)
{
    struct chunks *c = ctx;
    if (c->len + len < sizeof(c->got)) {
        memcpy(c->got + c->len, data, len);
        c->len += len;
        c->got[c->len] = '\0';
    }
    if (strstr(c->got, "line3\n"))
        krc_cancel_request(c->cancel);
    return 0;
}

static void test_chunked_stream_and_cancel(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    struct krc_kubeconfig cfg;
    config(&cfg, "127.0.0.1", s->port);
    struct krc_http *h = client(&cfg);
    struct krc_cancel cancel = KRC_CANCEL_INIT;
    struct chunks c = {"", 0, &cancel};
    struct krc_http_request req = {.method = "GET",
                                   .path_and_query = "/watch",
                                   .on_chunk = on_chunk,
                                   .chunk_ctx = &c,
                                   .cancel = &cancel};
    struct krc_http_response resp;
    struct krc_error err = {0, ""};
    krc_http_response_init(&resp);
    assert_int_equal(krc_http_perform(h, &req, &resp, &err), KRC_ECANCELED);
    assert_int_equal(resp.status, 200);
    assert_string_equal(c.got, "line1\nline2\nline3\n");
    krc_http_response_release(&resp);
    krc_http_free(h);
    krc_kubeconfig_free(&cfg);
    server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_data_and_tls_server_name_with_reuse),
        cmocka_unit_test(test_verification_failures_are_not_transient),
        cmocka_unit_test(test_ip_address_checked_against_ip_entries),
        cmocka_unit_test(test_client_certificate_inline_and_from_files),
        cmocka_unit_test(test_unusable_tls_configuration_is_reported_up_front),
        cmocka_unit_test(test_retry_after_and_error_body),
        cmocka_unit_test(test_idle_connection_closed_by_the_server_is_replaced),
        cmocka_unit_test(test_chunked_stream_and_cancel),
    };
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
