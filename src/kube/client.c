/* client.c - the REST client's core: lifecycle, the request loop (throttle, attempt, classify,
 * back off) shared by plain requests and streams, and JSON parsing of responses.
 *
 * The loop builds the URL once and describes the call ("update configmaps default/x") only when
 * something failed, so the common path does no formatting. Each attempt takes a token from the
 * QPS bucket: retries are traffic too, and a server in trouble should not see a client speed up.
 * Backoff sleeps in short slices so a shutdown or a stream's cancel cuts it short. The verbs live
 * in verbs.c, on top of krc_client_do and krc_client_stream. */
#include "kube/client.h"

#include "kube/http.h"
#include "kube/ratelimit.h"
#include "kube/retry.h"
#include "kube/status.h"
#include "util/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SLEEP_SLICE_MS = 50, WHAT_MAX = 320 };

struct krc_client {
    struct krc_http *http;
    struct krc_token_bucket bucket;
    int bucket_ok;
    struct krc_cancel shutdown;
    char *namespace;
    long request_timeout_ms;
    int max_retries;
    _Atomic uint64_t rnd; /* jitter source (splitmix64 state) */
    _Atomic uint64_t retries;
};

int krc_client_new(const struct krc_kubeconfig *cfg, const struct krc_client_options *opts,
                   struct krc_client **out, struct krc_error *err)
{
    static const struct krc_client_options defaults = {0};
    struct krc_client *c;
    int rc;

    *out = NULL;
    if (!opts)
        opts = &defaults;
    c = calloc(1, sizeof(*c));
    if (!c)
        return krc_error_set(err, KRC_ENOMEM, "client: out of memory");
    krc_cancel_init(&c->shutdown);
    atomic_init(&c->rnd, (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c);
    c->request_timeout_ms = opts->request_timeout_ms > 0 ? opts->request_timeout_ms
                                                         : KRC_CLIENT_DEFAULT_REQUEST_TIMEOUT_MS;
    c->max_retries = opts->max_retries == 0  ? KRC_CLIENT_DEFAULT_MAX_RETRIES
                     : opts->max_retries < 0 ? 0
                                             : opts->max_retries;
    c->namespace = strdup(cfg && cfg->namespace ? cfg->namespace : "default");
    if (!c->namespace) {
        rc = krc_error_set(err, KRC_ENOMEM, "client: out of memory");
        goto out;
    }
    double qps = opts->qps == 0 ? KRC_CLIENT_DEFAULT_QPS : opts->qps < 0 ? 0 : opts->qps;
    int burst = opts->burst > 0 ? opts->burst : KRC_CLIENT_DEFAULT_BURST;
    rc = krc_token_bucket_init(&c->bucket, qps, burst);
    if (rc) {
        krc_error_set(err, rc, "client: rate limiter qps=%g burst=%d: %s", qps, burst,
                      krc_strerror(rc));
        goto out;
    }
    c->bucket_ok = 1;
    struct krc_http_options hopts = {
        .connect_timeout_ms = opts->connect_timeout_ms,
        .max_idle_handles = opts->max_idle_connections,
        .user_agent = opts->user_agent,
    };
    rc = krc_http_new(cfg, &hopts, &c->http, err);
    if (rc)
        goto out;
    *out = c;
out:
    if (rc)
        krc_client_free(c);
    return rc;
}

void krc_client_free(struct krc_client *c)
{
    if (!c)
        return;
    krc_http_free(c->http);
    if (c->bucket_ok)
        krc_token_bucket_destroy(&c->bucket);
    free(c->namespace);
    free(c);
}

void krc_client_shutdown(struct krc_client *c)
{
    krc_cancel_request(&c->shutdown);
    krc_token_bucket_cancel(&c->bucket);
    krc_http_shutdown(c->http);
}

void krc_client_stats(struct krc_client *c, struct krc_client_stats *out)
{
    krc_http_stats(c->http, &out->attempts, &out->connections, &out->http2);
    out->retries = atomic_load(&c->retries);
}

const char *krc_client_namespace(const struct krc_client *c)
{
    return c->namespace;
}

struct krc_http *krc_client_transport(struct krc_client *c)
{
    return c->http;
}

const char *krc_client_server(const struct krc_client *c)
{
    return krc_http_server(c->http);
}

/* The verb of a request in kubectl's words, for messages. */
static const char *verb_of(const struct krc_request *req, int stream)
{
    const char *m = req->method;
    if (stream)
        return req->query && strstr(req->query, "watch=true") ? "watch" : "stream";
    if (strcmp(m, "GET") == 0)
        return req->name ? "get" : "list";
    if (strcmp(m, "POST") == 0)
        return "create";
    if (strcmp(m, "PUT") == 0)
        return "update";
    if (strcmp(m, "PATCH") == 0)
        return "patch";
    if (strcmp(m, "DELETE") == 0)
        return req->name ? "delete" : "deletecollection";
    return m;
}

/* The object a create names in its body ("x", or "x*" for generateName), on error paths only. */
static void body_name(const struct krc_request *req, char *buf, size_t size)
{
    json_t *doc;
    buf[0] = '\0';
    if (!req->body || strcmp(req->method, "POST") != 0 ||
        !(doc = json_loadb(req->body, req->body_len, 0, NULL)))
        return;
    const json_t *meta = json_object_get(doc, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *gen = json_string_value(json_object_get(meta, "generateName"));
    if (name)
        snprintf(buf, size, "%s", name);
    else if (gen)
        snprintf(buf, size, "%s*", gen);
    json_decref(doc);
}

/* "update configmaps.v1 default/x status" style description of a call. */
static void describe(const struct krc_request *req, int stream, char *buf, size_t size)
{
    char res[160], created[128];
    const char *ns = req->ns && *req->ns && req->res->namespaced ? req->ns : NULL;
    const char *name = req->name;

    krc_resource_name(req->res, res, sizeof(res));
    if (!name) {
        body_name(req, created, sizeof(created));
        name = created[0] ? created : NULL;
    }
    if (name)
        snprintf(buf, size, "%s %s %s%s%s%s%s", verb_of(req, stream), res, ns ? ns : "",
                 ns ? "/" : "", name, req->subresource ? " " : "",
                 req->subresource ? req->subresource : "");
    else if (ns)
        snprintf(buf, size, "%s %s in namespace %s", verb_of(req, stream), res, ns);
    else
        snprintf(buf, size, "%s %s%s", verb_of(req, stream), res,
                 req->res->namespaced ? " in all namespaces" : "");
}

static uint64_t next_random(struct krc_client *c)
{
    uint64_t z = atomic_fetch_add(&c->rnd, UINT64_C(0x9E3779B97F4A7C15));
    z += UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Sleeps ms milliseconds unless canceled; KRC_ECANCELED then. */
static int sleep_ms(struct krc_client *c, long ms, struct krc_cancel *cancel)
{
    while (ms > 0) {
        if (krc_cancel_requested(&c->shutdown) || krc_cancel_requested(cancel))
            return KRC_ECANCELED;
        long slice = ms < SLEEP_SLICE_MS ? ms : SLEEP_SLICE_MS;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ; /* interrupted: sleep the rest (EINVAL cannot happen with this timespec) */
        ms -= slice;
    }
    return 0;
}

/* Runs hreq with throttling and retries. started, if non-NULL, turns true once a stream delivered
 * bytes: from then on nothing is retried. */
static int run(struct krc_client *c, const struct krc_request *req, struct krc_http_request *hreq,
               const int *started, struct krc_error *err)
{
    struct krc_http_response resp;
    struct krc_error attempt_err;
    char what[WHAT_MAX];
    int rc = 0, reloaded = 0;

    krc_http_response_init(&resp);
    for (int attempt = 0;; attempt++) {
        if (krc_cancel_requested(&c->shutdown) || krc_token_bucket_take(&c->bucket) != 0) {
            describe(req, started != NULL, what, sizeof(what));
            rc = krc_error_set(err, KRC_ECANCELED, "%s: the client is shutting down", what);
            break;
        }
        krc_error_clear(&attempt_err);
        int hrc = krc_http_perform(c->http, hreq, &resp, &attempt_err);
        hreq->force_token_reload = 0;
        if (hrc == 0 && resp.status >= 200 && resp.status <= 299) {
            rc = 0;
            break;
        }
        if (hrc == 0 && resp.status == 401 && !reloaded && krc_http_has_token_file(c->http)) {
            reloaded = 1; /* the token may have rotated under us: re-read it now, once */
            hreq->force_token_reload = 1;
            attempt--;
            continue;
        }
        describe(req, started != NULL, what, sizeof(what));
        if (hrc == 0)
            rc = krc_status_error(resp.status, resp.body.buf, resp.body.len, what, &attempt_err);
        else
            rc = krc_error_wrap(&attempt_err, hrc, "%s", what);
        if (hreq->out)
            krc_strbuf_reset(hreq->out);
        int retry = attempt < c->max_retries && !(started && *started) &&
                    krc_retry_should(hreq->method, hrc, &resp);
        if (!retry) {
            krc_error_set(err, rc, "%s", attempt_err.msg);
            break;
        }
        atomic_fetch_add(&c->retries, 1);
        long delay = krc_retry_delay_ms(attempt, resp.retry_after_s, next_random(c));
        char ms[24];
        snprintf(ms, sizeof(ms), "%ld", delay);
        KRC_LOG_WARN("retrying API call", "call", what, "error", attempt_err.msg, "delay_ms", ms);
        if (sleep_ms(c, delay, hreq->cancel) != 0) {
            rc = krc_error_set(err, KRC_ECANCELED, "%s: canceled while backing off after: %s", what,
                               attempt_err.msg);
            break;
        }
    }
    krc_http_response_release(&resp);
    return rc;
}

/* URL path and query of a request. */
static int build_url(const struct krc_request *req, struct krc_strbuf *url, struct krc_error *err)
{
    int rc = krc_path_build(url, req->res, req->ns, req->name, req->subresource, err);
    if (rc)
        return rc;
    if (req->query && *req->query && krc_strbuf_adds(url, req->query) != 0)
        return krc_error_set(err, KRC_ENOMEM, "building a URL: out of memory");
    return 0;
}

static int check_request(const struct krc_request *req, struct krc_error *err)
{
    if (!req || !req->method || !req->res)
        return krc_error_set(err, KRC_EINVAL, "API request without a method or resource type");
    return 0;
}

int krc_client_do(struct krc_client *c, const struct krc_request *req, struct krc_strbuf *out,
                  struct krc_error *err)
{
    struct krc_strbuf url = KRC_STRBUF_INIT;
    int rc = check_request(req, err);

    if (out)
        krc_strbuf_reset(out);
    if (rc)
        return rc;
    rc = build_url(req, &url, err);
    if (rc)
        goto out;
    size_t cap = KRC_CLIENT_RESPONSE_MAX;
    if (out && out->cap && out->cap < cap)
        cap = out->cap;
    struct krc_http_request hreq = {
        .method = req->method,
        .path_and_query = url.buf,
        .accept = req->accept,
        .content_type = req->body ? req->content_type : NULL,
        .body = req->body,
        .body_len = req->body_len,
        .timeout_ms = c->request_timeout_ms,
        .out = out,
        .out_max = cap,
    };
    rc = run(c, req, &hreq, NULL, err);
out:
    krc_strbuf_release(&url);
    return rc;
}

struct stream_state {
    struct krc_lines lines;
    int started;
    int line_rc; /* what the line callback (or the splitter) returned */
};

static int on_stream_chunk(void *ctx, const char *data, size_t len)
{
    struct stream_state *s = ctx;
    s->started = 1;
    int rc = krc_lines_feed(&s->lines, data, len);
    if (rc) {
        s->line_rc = rc;
        /* krc_http_perform wants a negative code to abort; the real value is kept above. */
        return rc < 0 ? rc : KRC_ECANCELED;
    }
    return 0;
}

int krc_client_stream(struct krc_client *c, const struct krc_request *req,
                      const struct krc_stream_opts *opts, struct krc_error *err)
{
    struct krc_strbuf url = KRC_STRBUF_INIT;
    struct stream_state s = {.started = 0, .line_rc = 0};
    char what[WHAT_MAX];
    int rc = check_request(req, err);

    if (rc)
        return rc;
    if (!opts || !opts->on_line)
        return krc_error_set(err, KRC_EINVAL, "stream without a line callback");
    krc_lines_init(&s.lines, opts->max_line, opts->on_line, opts->ctx);
    rc = build_url(req, &url, err);
    if (rc)
        goto out;
    struct krc_http_request hreq = {
        .method = req->method,
        .path_and_query = url.buf,
        .accept = req->accept,
        .content_type = req->body ? req->content_type : NULL,
        .body = req->body,
        .body_len = req->body_len,
        .timeout_ms = opts->timeout_ms,
        .on_chunk = on_stream_chunk,
        .chunk_ctx = &s,
        .cancel = opts->cancel,
    };
    rc = run(c, req, &hreq, &s.started, err);
    if (s.line_rc) {
        /* The callback's own value wins over the transport's "aborted by the receiver". */
        rc = s.line_rc;
        describe(req, 1, what, sizeof(what));
        if (rc == KRC_ETOOLARGE)
            krc_error_set(err, rc, "%s: an event is longer than %zu bytes", what, s.lines.max_line);
        else
            krc_error_set(err, rc, "%s: stopped by the line callback (%d)", what, rc);
        goto out;
    }
    if (rc == 0 && krc_lines_finish(&s.lines) != 0) {
        describe(req, 1, what, sizeof(what));
        rc = krc_error_set(err, KRC_EIO, "%s: the stream ended inside a line", what);
    }
out:
    krc_lines_release(&s.lines);
    krc_strbuf_release(&url);
    return rc;
}

int krc_client_parse_json(const struct krc_strbuf *body, json_t **out, struct krc_error *err)
{
    json_error_t jerr;
    *out = json_loadb(body->buf, body->len, 0, &jerr);
    if (!*out)
        return krc_error_set(err, KRC_EINVAL,
                             "parsing a response of %zu bytes: line %d column %d: %s", body->len,
                             jerr.line, jerr.column, jerr.text);
    return 0;
}
