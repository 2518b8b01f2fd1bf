/* http.c - libcurl plumbing: a pool of easy handles, a share handle, TLS and bearer setup.
 *
 * Connection reuse. A mutex-guarded LIFO pool of CURL easy handles; each handle keeps its own
 * (HTTP/2 when the server offers it through ALPN) connection alive between requests. A thread
 * takes a handle for one request (a watch keeps it for the stream's life) and gives it back.
 * Compared with a handle per thread, the pool bounds connections by the peak concurrency, not the
 * thread count, and the client can free every handle deterministically; LIFO hands out the most
 * recently used, warm connection, and handles beyond max_idle are closed on release.
 * The share handle shares the DNS cache and TLS sessions (so a new connection resumes TLS
 * cheaply), but not connections: libcurl does not support sharing its connection cache between
 * concurrent threads, nor HTTP/2 streams of one connection across easy handles. The cost is one
 * TCP+TLS connection per concurrent request instead of client-go's single multiplexed HTTP/2
 * connection; the alternative is one I/O thread driving a curl multi handle, with every request
 * and every watch callback funnelled through it, which we can adopt behind this same interface if
 * connection count ever matters more than simplicity.
 *
 * Each request starts from curl_easy_reset (which keeps the live connection, TLS session cache and
 * share) and sets every option again, so no option can leak from one request to the next. TLS
 * blobs are passed with CURL_BLOB_NOCOPY: they live in this struct for its whole life.
 * curl_global_init/cleanup are reference-counted under a mutex, paired by krc_http_new/free. */
#include "kube/http.h"

#include "kube/token.h"
#include "util/log.h"
#include "util/mutex.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    DEFAULT_CONNECT_TIMEOUT_MS = 10 * 1000,
    DEFAULT_MAX_IDLE = 8,
};

static pthread_mutex_t global_mu = PTHREAD_MUTEX_INITIALIZER;
static int global_refs;

struct krc_http {
    char *server;                       /* URL prefix of every request */
    struct curl_slist *connect_to_list; /* "name:port:host:port" when tls-server-name is set */
    int insecure;
    char *ca_file;
    struct krc_pem ca, cert, key;
    char *cert_file, *key_file;
    char *user_agent;
    long connect_timeout_ms;
    struct krc_bearer bearer;
    int bearer_ok;

    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    int share_mu_n;

    struct krc_cancel shutdown; /* aborts every transfer: krc_http_shutdown */
    _Atomic uint64_t n_attempts, n_connections, n_http2;

    pthread_mutex_t pool_mu;
    int pool_mu_ok;
    CURL **idle;
    int nidle, max_idle;
};

/* Per-attempt state the callbacks see. */
struct transfer {
    struct krc_http *h;
    CURL *curl;
    const struct krc_http_request *req;
    struct krc_http_response *resp;
    int sink_rc;
};

/* A failing lock or unlock means a destroyed or corrupted mutex, a bug no caller can handle. */
static int global_ref(struct krc_error *err)
{
    int rc = 0;
    krc_mutex_lock(&global_mu);
    if (global_refs == 0) {
        CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (c != CURLE_OK)
            rc = krc_error_set(err, KRC_EIO, "curl_global_init: %s", curl_easy_strerror(c));
    }
    if (!rc)
        global_refs++;
    krc_mutex_unlock(&global_mu);
    return rc;
}

static void global_unref(void)
{
    krc_mutex_lock(&global_mu);
    if (--global_refs == 0)
        curl_global_cleanup();
    krc_mutex_unlock(&global_mu);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)c;
    (void)access;
    struct krc_http *h = ud;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        krc_mutex_lock(&h->share_mu[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *ud)
{
    (void)c;
    struct krc_http *h = ud;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        krc_mutex_unlock(&h->share_mu[data]);
}

static int dup_str(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = strdup(s);
    return *out ? 0 : KRC_ENOMEM;
}

static int dup_pem(const struct krc_pem *p, struct krc_pem *out)
{
    out->data = NULL;
    out->len = 0;
    if (!p->data)
        return 0;
    out->data = malloc(p->len + 1);
    if (!out->data)
        return KRC_ENOMEM;
    memcpy(out->data, p->data, p->len);
    out->data[p->len] = '\0';
    out->len = p->len;
    return 0;
}

/* With tls-server-name, requests name that host (so SNI and certificate verification use it) and
 * CURLOPT_CONNECT_TO sends the connection to the real address. */
static int setup_server(struct krc_http *h, const struct krc_kubeconfig *cfg, struct krc_error *err)
{
    CURLU *u = NULL;
    char *host = NULL, *port = NULL, *url = NULL;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    int rc = 0;

    if (!cfg->tls_server_name || !*cfg->tls_server_name)
        return dup_str(cfg->server, &h->server) ? krc_error_set(err, KRC_ENOMEM, "out of memory")
                                                : 0;
    u = curl_url();
    if (!u) {
        rc = krc_error_set(err, KRC_ENOMEM, "out of memory");
        goto out;
    }
    if (curl_url_set(u, CURLUPART_URL, cfg->server, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_HOST, cfg->tls_server_name, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
        rc = krc_error_set(err, KRC_EINVAL, "server %s with tls-server-name %s: not a valid URL",
                           cfg->server, cfg->tls_server_name);
        goto out;
    }
    /* curl_url_get adds a '/' path to a bare host; the server prefix must not end in '/'. */
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    if (krc_strbuf_addf(&sb, "%s:%s:%s:%s", cfg->tls_server_name, port, host, port) != 0 ||
        dup_str(url, &h->server) != 0) {
        rc = krc_error_set(err, KRC_ENOMEM, "out of memory");
        goto out;
    }
    h->connect_to_list = curl_slist_append(NULL, sb.buf);
    if (!h->connect_to_list)
        rc = krc_error_set(err, KRC_ENOMEM, "out of memory");
out:
    curl_free(host);
    curl_free(port);
    curl_free(url);
    curl_url_cleanup(u);
    krc_strbuf_release(&sb);
    return rc;
}

static int setup_share(struct krc_http *h, struct krc_error *err)
{
    for (; h->share_mu_n < CURL_LOCK_DATA_LAST; h->share_mu_n++)
        if (pthread_mutex_init(&h->share_mu[h->share_mu_n], NULL) != 0)
            return krc_error_set(err, KRC_ENOMEM, "pthread_mutex_init failed");
    h->share = curl_share_init();
    if (!h->share)
        return krc_error_set(err, KRC_ENOMEM, "curl_share_init failed");
    if (curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
        return krc_error_set(err, KRC_EIO, "curl_share_setopt failed");
    return 0;
}

int krc_http_new(const struct krc_kubeconfig *cfg, const struct krc_http_options *opts,
                 struct krc_http **out, struct krc_error *err)
{
    struct krc_http *h;
    int rc;

    *out = NULL;
    if (!cfg || !cfg->server)
        return krc_error_set(err, KRC_EINVAL, "http client: configuration has no server");
    rc = global_ref(err);
    if (rc)
        return rc;
    h = calloc(1, sizeof(*h));
    if (!h) {
        global_unref();
        return krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
    }
    krc_cancel_init(&h->shutdown);
    h->insecure = cfg->insecure_skip_tls_verify;
    h->connect_timeout_ms = opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
                                                                 : DEFAULT_CONNECT_TIMEOUT_MS;
    h->max_idle = opts && opts->max_idle_handles > 0 ? opts->max_idle_handles : DEFAULT_MAX_IDLE;
    if (dup_str(cfg->ca_file, &h->ca_file) || dup_pem(&cfg->ca_data, &h->ca) ||
        dup_str(cfg->client_cert_file, &h->cert_file) ||
        dup_pem(&cfg->client_cert_data, &h->cert) || dup_str(cfg->client_key_file, &h->key_file) ||
        dup_pem(&cfg->client_key_data, &h->key) ||
        dup_str(opts && opts->user_agent ? opts->user_agent : "kuberay-c", &h->user_agent)) {
        rc = krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
        goto out;
    }
    h->idle = calloc((size_t)h->max_idle, sizeof(*h->idle));
    if (!h->idle) {
        rc = krc_error_set(err, KRC_ENOMEM, "http client: out of memory");
        goto out;
    }
    if ((rc = setup_server(h, cfg, err)) != 0 || (rc = setup_share(h, err)) != 0)
        goto out;
    if (pthread_mutex_init(&h->pool_mu, NULL) != 0) {
        rc = krc_error_set(err, KRC_ENOMEM, "http client: pthread_mutex_init failed");
        goto out;
    }
    h->pool_mu_ok = 1;
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

static void wipe_pem(struct krc_pem *p)
{
    if (p->data) {
        volatile char *v = p->data;
        for (size_t i = 0; i < p->len; i++)
            v[i] = 0;
    }
    free(p->data);
}

void krc_http_free(struct krc_http *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->nidle; i++)
        curl_easy_cleanup(h->idle[i]);
    free(h->idle);
    /* The share is freed after every easy handle that used it. */
    if (h->share)
        curl_share_cleanup(h->share);
    for (int i = 0; i < h->share_mu_n; i++)
        pthread_mutex_destroy(&h->share_mu[i]);
    if (h->pool_mu_ok)
        pthread_mutex_destroy(&h->pool_mu);
    if (h->bearer_ok)
        krc_bearer_destroy(&h->bearer);
    free(h->server);
    curl_slist_free_all(h->connect_to_list);
    free(h->ca_file);
    wipe_pem(&h->ca);
    wipe_pem(&h->cert);
    wipe_pem(&h->key);
    free(h->cert_file);
    free(h->key_file);
    free(h->user_agent);
    free(h);
    global_unref();
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

/* Takes an idle handle or makes a new one joined to the share. NULL on allocation failure. */
static CURL *pool_get(struct krc_http *h)
{
    CURL *c = NULL;
    krc_mutex_lock(&h->pool_mu);
    if (h->nidle > 0)
        c = h->idle[--h->nidle];
    krc_mutex_unlock(&h->pool_mu);
    if (c)
        return c;
    c = curl_easy_init();
    if (c && curl_easy_setopt(c, CURLOPT_SHARE, h->share) != CURLE_OK) {
        curl_easy_cleanup(c);
        c = NULL;
    }
    return c;
}

static void pool_put(struct krc_http *h, CURL *c)
{
    krc_mutex_lock(&h->pool_mu);
    if (h->nidle < h->max_idle) {
        h->idle[h->nidle++] = c;
        c = NULL;
    }
    krc_mutex_unlock(&h->pool_mu);
    if (c)
        curl_easy_cleanup(c); /* the pool is full: close this connection */
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct transfer *t = ud;
    size_t n = size * nmemb;
    const struct krc_http_request *req = t->req;

    if (t->resp->status == 0 &&
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->resp->status) != CURLE_OK)
        t->resp->status = 0;
    if (t->resp->status < 200 || t->resp->status > 299) {
        /* An error body is only read for its message: keep the start, drop the rest. */
        struct krc_strbuf *b = &t->resp->body;
        size_t room = KRC_HTTP_ERROR_BODY_MAX - b->len;
        if (krc_strbuf_add(b, data, n < room ? n : room) != 0) {
            t->sink_rc = KRC_ENOMEM;
            return 0;
        }
        return n;
    }
    if (req->on_chunk) {
        int rc = req->on_chunk(req->chunk_ctx, data, n);
        if (rc) {
            t->sink_rc = rc;
            return 0; /* a short count makes libcurl abort with CURLE_WRITE_ERROR */
        }
    } else if (req->out) {
        if (n > req->out_max - req->out->len) {
            t->sink_rc = KRC_ETOOLARGE;
            return 0;
        }
        int rc = krc_strbuf_add(req->out, data, n);
        if (rc) {
            t->sink_rc = rc;
            return 0;
        }
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    struct transfer *t = ud;
    return krc_cancel_requested(t->req->cancel) || krc_cancel_requested(&t->h->shutdown);
}

/* Failures before the request left this machine, or of a broken connection: worth another try.
 * TLS verification and configuration errors are not: they fail the same way every time. */
static int transient_code(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

/* Codes that can only happen before any byte of the request was sent. */
static int unsent_code(CURLcode c)
{
    return c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_COULDNT_CONNECT ||
           c == CURLE_SSL_CONNECT_ERROR;
}

#define SETOPT(c, opt, val)                                                                        \
    do {                                                                                           \
        if (curl_easy_setopt((c), (opt), (val)) != CURLE_OK)                                       \
            goto setopt_failed;                                                                    \
    } while (0)

static int set_tls(struct krc_http *h, CURL *c)
{
    struct curl_blob blob;
    if (h->insecure) {
        SETOPT(c, CURLOPT_SSL_VERIFYPEER, 0L);
        SETOPT(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    /* A configured CA replaces the system trust store, as in client-go. */
    if (h->ca_file || h->ca.data) {
        SETOPT(c, CURLOPT_CAINFO, h->ca_file);
        SETOPT(c, CURLOPT_CAPATH, (char *)NULL);
    }
    if (h->ca.data) {
        blob = (struct curl_blob){h->ca.data, h->ca.len, CURL_BLOB_NOCOPY};
        SETOPT(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (h->cert_file) {
        SETOPT(c, CURLOPT_SSLCERT, h->cert_file);
        SETOPT(c, CURLOPT_SSLCERTTYPE, "PEM");
    } else if (h->cert.data) {
        blob = (struct curl_blob){h->cert.data, h->cert.len, CURL_BLOB_NOCOPY};
        SETOPT(c, CURLOPT_SSLCERT_BLOB, &blob);
        SETOPT(c, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (h->key_file) {
        SETOPT(c, CURLOPT_SSLKEY, h->key_file);
        SETOPT(c, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (h->key.data) {
        blob = (struct curl_blob){h->key.data, h->key.len, CURL_BLOB_NOCOPY};
        SETOPT(c, CURLOPT_SSLKEY_BLOB, &blob);
        SETOPT(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
    return 0;
setopt_failed:
    return KRC_EIO;
}

/* Frees a header list, wiping each line first: one of them carries the bearer token. */
static void free_headers(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l; l = l->next) {
        volatile char *v = l->data;
        while (*v)
            *v++ = 0;
    }
    curl_slist_free_all(list);
}

/* Builds the request headers; the bearer token passes through tok, which the caller wipes. */
static int build_headers(struct krc_http *h, const struct krc_http_request *req,
                         struct krc_strbuf *tok, struct curl_slist **out, struct krc_error *err)
{
    struct krc_strbuf line = KRC_STRBUF_INIT;
    struct curl_slist *list = NULL, *next;
    int rc = krc_bearer_get(&h->bearer, req->force_token_reload, tok, err);

    *out = NULL;
    if (rc)
        return rc;
#define ADD_HEADER(s)                                                                              \
    do {                                                                                           \
        if (!(next = curl_slist_append(list, (s))))                                                \
            goto nomem;                                                                            \
        list = next;                                                                               \
    } while (0)
    if (krc_strbuf_addf(&line, "Accept: %s", req->accept ? req->accept : "application/json") != 0)
        goto nomem;
    ADD_HEADER(line.buf);
    ADD_HEADER("Expect:"); /* no 100-continue round trip before a body */
    if (req->content_type) {
        krc_strbuf_reset(&line);
        if (krc_strbuf_addf(&line, "Content-Type: %s", req->content_type) != 0)
            goto nomem;
        ADD_HEADER(line.buf);
    }
    if (tok->len) {
        krc_strbuf_reset(&line);
        if (krc_strbuf_addf(&line, "Authorization: Bearer %s", tok->buf) != 0)
            goto nomem;
        ADD_HEADER(line.buf);
    }
    if (req->extra_header_name) {
        krc_strbuf_reset(&line);
        if (krc_strbuf_addf(&line, "%s: %s", req->extra_header_name, req->extra_header_value) != 0)
            goto nomem;
        ADD_HEADER(line.buf);
    }
#undef ADD_HEADER
    if (line.alloc)
        memset(line.buf, 0, line.alloc);
    krc_strbuf_release(&line);
    *out = list;
    return 0;
nomem:
    if (line.alloc)
        memset(line.buf, 0, line.alloc);
    krc_strbuf_release(&line);
    free_headers(list);
    return krc_error_set(err, KRC_ENOMEM, "%s %s: out of memory", req->method, req->path_and_query);
}

static int setup_request(struct krc_http *h, CURL *c, const struct krc_http_request *req,
                         struct transfer *t, struct curl_slist *headers, const char *url,
                         char *errbuf)
{
    curl_easy_reset(c);
    SETOPT(c, CURLOPT_URL, url);
    SETOPT(c, CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(c, CURLOPT_NOSIGNAL, 1L);
    SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    SETOPT(c, CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
    SETOPT(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 0L);
    SETOPT(c, CURLOPT_USERAGENT, h->user_agent);
    SETOPT(c, CURLOPT_HTTPHEADER, headers);
    SETOPT(c, CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(c, CURLOPT_WRITEDATA, t);
    SETOPT(c, CURLOPT_NOPROGRESS, 0L);
    SETOPT(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    SETOPT(c, CURLOPT_XFERINFODATA, t);
    if (h->connect_to_list)
        SETOPT(c, CURLOPT_CONNECT_TO, h->connect_to_list);
    if (strcmp(req->method, "GET") == 0) {
        SETOPT(c, CURLOPT_HTTPGET, 1L);
    } else {
        SETOPT(c, CURLOPT_CUSTOMREQUEST, req->method);
        if (req->body || strcmp(req->method, "DELETE") != 0) {
            SETOPT(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
            SETOPT(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
        }
    }
    return set_tls(h, c);
setopt_failed:
    return KRC_EIO;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Turns a failed curl_easy_perform into an error code, and says whether a retry may help. */
static int transport_error(CURLcode cc, const struct transfer *t, const char *errbuf,
                           struct krc_error *err)
{
    const struct krc_http_request *req = t->req;
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);

    if (cc == CURLE_WRITE_ERROR && t->sink_rc) {
        if (t->sink_rc == KRC_ETOOLARGE && !req->on_chunk)
            return krc_error_set(err, KRC_ETOOLARGE, "%s %s: response larger than %zu bytes",
                                 req->method, req->path_and_query, req->out_max);
        return krc_error_set(err, t->sink_rc, "%s %s: stopped by the receiver: %s", req->method,
                             req->path_and_query, krc_strerror(t->sink_rc));
    }
    t->resp->transient = transient_code(cc);
    switch (cc) {
    case CURLE_ABORTED_BY_CALLBACK:
        return krc_error_set(err, KRC_ECANCELED, "%s %s: canceled", req->method,
                             req->path_and_query);
    case CURLE_OPERATION_TIMEDOUT:
        return krc_error_set(err, KRC_ETIMEOUT, "%s %s: %s", req->method, req->path_and_query,
                             detail);
    case CURLE_OUT_OF_MEMORY:
        return krc_error_set(err, KRC_ENOMEM, "%s %s: out of memory", req->method,
                             req->path_and_query);
    default:
        return krc_error_set(err, KRC_EIO, "%s %s: %s", req->method, req->path_and_query, detail);
    }
}

/* Counts the attempt, the connection it opened (if any) and its HTTP version; logs it at debug. */
static void account(struct krc_http *h, CURL *c, const struct krc_http_request *req,
                    const struct krc_http_response *resp, int64_t ms, int rc)
{
    long conns = 0, version = 0;
    char status[16], dur[24];

    if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns) != CURLE_OK)
        conns = 0;
    if (curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &version) != CURLE_OK)
        version = 0;
    atomic_fetch_add(&h->n_attempts, 1);
    atomic_fetch_add(&h->n_connections, (uint64_t)(conns > 0 ? conns : 0));
    if (version == CURL_HTTP_VERSION_2_0)
        atomic_fetch_add(&h->n_http2, 1);
    if (!krc_log_enabled(KRC_LOG_DEBUG))
        return;
    snprintf(status, sizeof(status), "%ld", resp->status);
    snprintf(dur, sizeof(dur), "%lld", (long long)ms);
    KRC_LOG_DEBUG("api request", "method", req->method, "path", req->path_and_query, "status",
                  status, "ms", dur, "http2", version == CURL_HTTP_VERSION_2_0 ? "true" : "false",
                  "new_connection", conns > 0 ? "true" : "false", "result", krc_strerror(rc));
}

void krc_http_stats(struct krc_http *h, uint64_t *attempts, uint64_t *connections, uint64_t *http2)
{
    *attempts = atomic_load(&h->n_attempts);
    *connections = atomic_load(&h->n_connections);
    *http2 = atomic_load(&h->n_http2);
}

int krc_http_perform(struct krc_http *h, const struct krc_http_request *req,
                     struct krc_http_response *resp, struct krc_error *err)
{
    struct krc_strbuf url = KRC_STRBUF_INIT, tok = KRC_STRBUF_INIT;
    struct curl_slist *headers = NULL;
    char errbuf[CURL_ERROR_SIZE];
    struct transfer t = {h, NULL, req, resp, 0};
    CURL *c = NULL;
    curl_off_t retry_after = 0, pretransfer = 0;
    int64_t start = now_ms();
    int rc = 0, performed = 0;

    errbuf[0] = '\0';
    krc_strbuf_reset(&resp->body);
    resp->status = 0;
    resp->retry_after_s = -1;
    resp->sent = 0;
    resp->transient = 0;
    resp->connect_refused = 0;
    if (req->out)
        krc_strbuf_reset(req->out);
    if (krc_strbuf_addf(&url, "%s%s", h->server, req->path_and_query) != 0) {
        rc = krc_error_set(err, KRC_ENOMEM, "%s %s: out of memory", req->method,
                           req->path_and_query);
        goto out;
    }
    rc = build_headers(h, req, &tok, &headers, err);
    if (rc)
        goto out;
    c = pool_get(h);
    if (!c) {
        rc = krc_error_set(err, KRC_ENOMEM, "%s %s: cannot create a libcurl handle", req->method,
                           req->path_and_query);
        goto out;
    }
    t.curl = c;
    if (setup_request(h, c, req, &t, headers, url.buf, errbuf) != 0) {
        rc = krc_error_set(err, KRC_EIO, "%s %s: libcurl rejected an option (%s)", req->method,
                           req->path_and_query, curl_version());
        goto out;
    }
    CURLcode cc = curl_easy_perform(c);
    performed = 1;
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK)
        resp->status = 0;
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
        resp->retry_after_s = (long)retry_after;
    if (curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) != CURLE_OK)
        pretransfer = 1; /* unknown: assume the worst, that it was sent */
    resp->sent = cc == CURLE_OK || (!unsent_code(cc) && pretransfer > 0);
    if (cc == CURLE_COULDNT_CONNECT) {
        long os_errno = 0;
        resp->connect_refused = curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK &&
                                os_errno == ECONNREFUSED;
    }
    if (cc != CURLE_OK && resp->status >= 300 && cc != CURLE_ABORTED_BY_CALLBACK && !t.sink_rc) {
        /* The answer (an error status) arrived and only its body was cut: the API server closes
         * the connection of unauthenticated HTTP/2 clients right after a 401, for one. The status
         * is the server's verdict; the Status body is only its explanation. */
        KRC_LOG_DEBUG("error response body cut short", "path", req->path_and_query, "error",
                      errbuf[0] ? errbuf : curl_easy_strerror(cc));
        cc = CURLE_OK;
    }
    if (cc != CURLE_OK)
        rc = transport_error(cc, &t, errbuf, err);
    else if (t.sink_rc)
        rc = krc_error_set(err, t.sink_rc, "%s %s: %s", req->method, req->path_and_query,
                           krc_strerror(t.sink_rc));
out:
    if (performed)
        account(h, c, req, resp, now_ms() - start, rc);
    if (c) {
        /* Drop every pointer into this call's stack and buffers before the handle idles. */
        curl_easy_reset(c);
        pool_put(h, c);
    }
    free_headers(headers); /* after the handle let go of them */
    if (tok.alloc)
        memset(tok.buf, 0, tok.alloc);
    krc_strbuf_release(&tok);
    krc_strbuf_release(&url);
    return rc;
}

/* HTTP/1.1 Upgrade is implemented by the native backend only (http.h): libcurl's easy interface
 * would need CURLOPT_CONNECT_ONLY and hand-made HTTP, which is what http_native.c already has. */
struct krc_http_upgraded {
    int unused;
};

int krc_http_upgrade(struct krc_http *h, const struct krc_http_upgrade_request *req,
                     struct krc_http_response *resp, struct krc_http_upgraded **out,
                     struct krc_error *err)
{
    (void)h;
    (void)resp;
    *out = NULL;
    return krc_error_set(err, KRC_EINVAL, "GET %s: HTTP/1.1 upgrades need KRC_HTTP_BACKEND=native",
                         req->path_and_query);
}

const char *krc_http_upgraded_header(const struct krc_http_upgraded *u, const char *name)
{
    (void)u;
    (void)name;
    return NULL;
}

long krc_http_upgraded_read(struct krc_http_upgraded *u, void *buf, size_t len, long timeout_ms,
                            struct krc_error *err)
{
    (void)u;
    (void)buf;
    (void)len;
    (void)timeout_ms;
    return krc_error_set(err, KRC_EINVAL, "HTTP/1.1 upgrades need KRC_HTTP_BACKEND=native");
}

int krc_http_upgraded_write(struct krc_http_upgraded *u, const void *data, size_t len,
                            long timeout_ms, struct krc_error *err)
{
    (void)u;
    (void)data;
    (void)len;
    (void)timeout_ms;
    return krc_error_set(err, KRC_EINVAL, "HTTP/1.1 upgrades need KRC_HTTP_BACKEND=native");
}

void krc_http_upgraded_free(struct krc_http_upgraded *u)
{
    free(u);
}
