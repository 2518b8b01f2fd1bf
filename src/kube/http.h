/* http.h - one HTTP exchange with the API server: TLS, credentials, connection reuse.
 *
 * Two backends implement it, chosen at build time by KRC_HTTP_BACKEND: http_native.c (OpenSSL +
 * nghttp2, the default) and http.c (libcurl). This is the transport under client.c, which adds
 * paths, throttling, retries and error typing. A krc_http performs exactly one attempt per call and
 * reports what happened in enough detail (status, Retry-After, whether the request may have reached
 * the server) for the caller to decide whether to retry. It is thread-safe: any number of threads
 * may call krc_http_perform at once. It copies what it needs from the config, so the config may be
 * freed after krc_http_new. */
#ifndef KRC_KUBE_HTTP_H
#define KRC_KUBE_HTTP_H

#include "kube/cancel.h"
#include "kube/config.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <stddef.h>
#include <stdint.h>

/* Body bytes of an error response kept for the message; the rest is read and dropped. */
#define KRC_HTTP_ERROR_BODY_MAX (64u * 1024)

struct krc_http;

struct krc_http_options {
    long connect_timeout_ms; /* 0 = 10 s */
    int max_idle_handles;    /* connections kept open between requests; 0 = 8 */
    const char *user_agent;  /* NULL = "kuberay-c" */
};

/* Receives the body of a 2xx response as it arrives. Returns 0 to go on, or a negative KRC_E*
 * code, which aborts the transfer and is returned by krc_http_perform. */
typedef int (*krc_http_chunk_fn)(void *ctx, const char *data, size_t len);

struct krc_http_request {
    const char *method;         /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path_and_query; /* "/api/v1/...?...", appended to the server URL */
    const char *accept;         /* NULL = application/json */
    const char *content_type;   /* of body; NULL when there is none */
    /* One more request header (e.g. "x-ray-authorization"), or NULL; the name in lower case (as
     * HTTP/2 requires), neither part with a line break. The value is never logged. */
    const char *extra_header_name;
    const char *extra_header_value;
    const char *body; /* not copied; must stay valid during the call */
    size_t body_len;
    long timeout_ms; /* the whole exchange; 0 = no limit */
    int force_token_reload;
    /* Where a 2xx body goes: into out (replaced, at most out_max bytes, else KRC_ETOOLARGE), or to
     * on_chunk; or nowhere when both are NULL. */
    struct krc_strbuf *out;
    size_t out_max;
    krc_http_chunk_fn on_chunk;
    void *chunk_ctx;
    struct krc_cancel *cancel; /* NULL = not cancellable */
};

struct krc_http_response {
    long status;            /* HTTP status; 0 when no response arrived */
    long retry_after_s;     /* Retry-After in seconds (dates too: retry.h); -1 when absent */
    int sent;               /* 0 only when the request surely did not reach the server */
    int transient;          /* a transport failure worth retrying (reset, refused, ...) */
    int connect_refused;    /* no connection: the server's port refused it (nothing listens) */
    struct krc_strbuf body; /* body of a non-2xx response, at most KRC_HTTP_ERROR_BODY_MAX */
};

int krc_http_new(const struct krc_kubeconfig *cfg, const struct krc_http_options *opts,
                 struct krc_http **out, struct krc_error *err);
void krc_http_free(struct krc_http *h);

/* Aborts every transfer in progress or to come with KRC_ECANCELED (within about a second). */
void krc_http_shutdown(struct krc_http *h);
/* Whether the bearer token comes from a file (so a 401 may be cured by re-reading it). */
int krc_http_has_token_file(const struct krc_http *h);
/* Counters since creation: attempts made, connections opened, responses received over HTTP/2. */
void krc_http_stats(struct krc_http *h, uint64_t *attempts, uint64_t *connections, uint64_t *http2);
/* The server URL requests go to (with tls-server-name in place of the host when set). */
const char *krc_http_server(const struct krc_http *h);

void krc_http_response_init(struct krc_http_response *resp);
void krc_http_response_release(struct krc_http_response *resp);

/* One attempt. Returns 0 when a response arrived, whatever its status (see resp->status), or a
 * negative code when none did or the transfer was cut: KRC_EIO (transport, with the backend's
 * reason), KRC_ETIMEOUT, KRC_ECANCELED, KRC_ETOOLARGE (out_max), KRC_ENOMEM, or the code an
 * on_chunk callback returned. resp is reset first. */
int krc_http_perform(struct krc_http *h, const struct krc_http_request *req,
                     struct krc_http_response *resp, struct krc_error *err);

/* ---- HTTP/1.1 Upgrade: a connection handed over to another protocol (WebSocket) ----
 *
 * HTTP/2 has no Upgrade, so each upgrade opens a dedicated connection whose TLS ALPN offers
 * http/1.1 alone; it is never pooled and is closed by krc_http_upgraded_free. Only the native
 * backend implements this; the libcurl one answers KRC_EINVAL. */
struct krc_http_upgraded;

struct krc_http_upgrade_request {
    const char *path_and_query; /* sent as a GET */
    /* Further request header lines without CRLF ("Upgrade: websocket", ...); Host, User-Agent
     * and Authorization are added. None may contain a line break. */
    const char *const *headers;
    size_t nheaders;
    long timeout_ms;           /* connecting and the handshake; 0 = the connect timeout */
    struct krc_cancel *cancel; /* also stops later reads and writes; NULL = not cancellable */
};

/* One attempt. Returns 0 when a response arrived: *out is the upgraded connection when it was
 * 101 Switching Protocols (resp->status 101), else NULL with resp->status and resp->body set (the
 * body up to KRC_HTTP_ERROR_BODY_MAX). A negative code as krc_http_perform otherwise. */
int krc_http_upgrade(struct krc_http *h, const struct krc_http_upgrade_request *req,
                     struct krc_http_response *resp, struct krc_http_upgraded **out,
                     struct krc_error *err);
/* The value of a header of the 101 response (name case-insensitive, the first such header), or
 * NULL. Valid until krc_http_upgraded_free. */
const char *krc_http_upgraded_header(const struct krc_http_upgraded *u, const char *name);
/* Reads what is available, waiting at most timeout_ms (0 = no limit) for the first byte: > 0
 * bytes, 0 when the peer closed the connection, or KRC_ETIMEOUT, KRC_ECANCELED, KRC_EIO. */
long krc_http_upgraded_read(struct krc_http_upgraded *u, void *buf, size_t len, long timeout_ms,
                            struct krc_error *err);
/* Writes all of data (waiting at most timeout_ms; 0 = no limit): 0 or a negative code. */
int krc_http_upgraded_write(struct krc_http_upgraded *u, const void *data, size_t len,
                            long timeout_ms, struct krc_error *err);
void krc_http_upgraded_free(struct krc_http_upgraded *u);

#endif
