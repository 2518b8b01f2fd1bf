/* client.h - the Kubernetes REST client: typed verbs on any resource, raw JSON bytes out.
 *
 * One struct krc_client per process and API server, shared by every thread. Requests name a
 * resource type (struct krc_resource: group, version, plural, scope), so built-in types and CRDs
 * are the same to the client and no discovery happens. Bodies go in and come out as raw JSON
 * bytes: the caller decides whether and how to parse (krc_client_parse_json for jansson), and a
 * list is never decoded twice.
 *
 * Every call: waits for a token of the client's QPS/burst bucket (every attempt takes one, as
 * client-go does), retries 429 (any verb: the server did not act) and connection failures that
 * surely happened before the request was sent (any verb), and 5xx or failures after sending for
 * idempotent verbs only (GET, PUT, DELETE), with exponential backoff, honouring Retry-After;
 * re-reads a token file once on 401; and returns a typed error from the server's Status, whose
 * message names the verb, resource, namespace/name and the server's reason ("update
 * configmaps default/x: 409 Conflict: ..."). Out buffers are caller-owned; on error out is empty.
 *
 * Streams (watch) deliver complete newline-delimited JSON lines to a callback as they arrive. */
#ifndef KRC_KUBE_CLIENT_H
#define KRC_KUBE_CLIENT_H

#include "kube/cancel.h"
#include "kube/config.h"
#include "kube/path.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Size caps on what the server may send us. */
#define KRC_CLIENT_RESPONSE_MAX (64u * 1024 * 1024) /* any non-streamed body, lists included */
#define KRC_STREAM_LINE_MAX     (16u * 1024 * 1024) /* one watch event (objects are <= ~3 MiB) */

#define KRC_CLIENT_DEFAULT_QPS                20.0 /* controller-runtime's defaults */
#define KRC_CLIENT_DEFAULT_BURST              30
#define KRC_CLIENT_DEFAULT_REQUEST_TIMEOUT_MS (60 * 1000)
#define KRC_CLIENT_DEFAULT_MAX_RETRIES        5
#define KRC_CLIENT_RETRY_BASE_MS              100   /* first backoff; doubles per retry */
#define KRC_CLIENT_RETRY_MAX_MS               10000 /* backoff cap */
#define KRC_CLIENT_RETRY_AFTER_MAX_S          60    /* a larger Retry-After is cut to this */

struct krc_client;

/* Zero-initialised options mean the defaults above. */
struct krc_client_options {
    double qps; /* requests per second; < 0 = unlimited */
    int burst;
    long connect_timeout_ms;
    long request_timeout_ms; /* per attempt; streams have their own */
    int max_retries;         /* < 0 = never retry */
    int max_idle_connections;
    const char *user_agent;
};

/* Creates a client; cfg is copied and may be freed afterwards. */
int krc_client_new(const struct krc_kubeconfig *cfg, const struct krc_client_options *opts,
                   struct krc_client **out, struct krc_error *err);
/* Frees the client. No call may be in progress (krc_client_shutdown first, then join threads). */
void krc_client_free(struct krc_client *c);
/* Makes every call in progress or to come fail with KRC_ECANCELED (throttled calls wake at once,
 * transfers and streams within about a second). For process shutdown. */
void krc_client_shutdown(struct krc_client *c);

/* Counters since the client was created, for metrics and tests. */
struct krc_client_stats {
    uint64_t attempts;    /* HTTP exchanges made, retries and 401 re-tries included */
    uint64_t retries;     /* attempts repeated after a retryable failure */
    uint64_t connections; /* TCP+TLS connections opened: attempts minus these were reused */
    uint64_t http2;       /* responses received over HTTP/2 */
};
void krc_client_stats(struct krc_client *c, struct krc_client_stats *out);

/* The default namespace of the configuration ("default" if none). */
const char *krc_client_namespace(const struct krc_client *c);
/* The server URL. */
const char *krc_client_server(const struct krc_client *c);
/* The transport under the client, for the clients of upgraded connections (exec.h). */
struct krc_http;
struct krc_http *krc_client_transport(struct krc_client *c);

/* A request in general terms, for what the verbs below do not cover (pods/eviction, scale, ...).
 * method is "GET", "POST", "PUT", "PATCH" or "DELETE"; query is "?k=v&..." built with
 * krc_query_add, or NULL. */
struct krc_request {
    const char *method;
    const struct krc_resource *res;
    const char *ns, *name, *subresource;
    const char *query;
    const char *accept;       /* NULL = application/json; pods/log answers text/plain */
    const char *content_type; /* of body */
    const char *body;
    size_t body_len;
};

int krc_client_do(struct krc_client *c, const struct krc_request *req, struct krc_strbuf *out,
                  struct krc_error *err);

struct krc_list_opts {
    const char *label_selector; /* "app=ray,tier!=head" */
    const char *field_selector; /* "metadata.name=x" */
    long long limit;            /* page size; 0 = everything at once */
    const char *continue_token; /* metadata.continue of the previous page */
    const char *resource_version;
    const char *resource_version_match; /* "Exact", "NotOlderThan" */
    long timeout_seconds;               /* server-side; watches end cleanly after it */
    int allow_watch_bookmarks;          /* watch only */
};

struct krc_write_opts {
    const char *field_manager;
    int dry_run; /* dryRun=All: validated and defaulted, not stored */
    int force;   /* server-side apply: take over conflicting fields */
};

struct krc_delete_opts {
    const char *propagation_policy; /* "Foreground", "Background", "Orphan"; NULL = server's */
    const char *precondition_uid;
    const char *precondition_resource_version;
    int grace_period_set; /* gracePeriodSeconds is sent only when set (0 means "now") */
    long long grace_period_seconds;
    int dry_run;
};

enum krc_patch_type {
    KRC_PATCH_MERGE,     /* application/merge-patch+json (RFC 7386) */
    KRC_PATCH_JSON,      /* application/json-patch+json (RFC 6902) */
    KRC_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in types only) */
    KRC_PATCH_APPLY,     /* application/apply-patch+yaml: server-side apply, needs field_manager */
};

/* GET one object. ns must be NULL or "" for a cluster-scoped type (KRC_EINVAL otherwise). */
int krc_client_get(struct krc_client *c, const struct krc_resource *res, const char *ns,
                   const char *name, struct krc_strbuf *out, struct krc_error *err);
/* GET a collection (one page when opts->limit is set; metadata.continue names the next). ns NULL
 * lists a namespaced type across all namespaces. */
int krc_client_list(struct krc_client *c, const struct krc_resource *res, const char *ns,
                    const struct krc_list_opts *opts, struct krc_strbuf *out,
                    struct krc_error *err);
/* POST: the body names the object (metadata.name, or metadata.generateName for a server-chosen
 * name, which the returned object holds). */
int krc_client_create(struct krc_client *c, const struct krc_resource *res, const char *ns,
                      const char *body, size_t len, const struct krc_write_opts *opts,
                      struct krc_strbuf *out, struct krc_error *err);
/* PUT the whole object; its metadata.resourceVersion makes the update conditional (409). */
int krc_client_update(struct krc_client *c, const struct krc_resource *res, const char *ns,
                      const char *name, const char *body, size_t len,
                      const struct krc_write_opts *opts, struct krc_strbuf *out,
                      struct krc_error *err);
/* PUT to the status subresource: only .status changes. */
int krc_client_update_status(struct krc_client *c, const struct krc_resource *res, const char *ns,
                             const char *name, const char *body, size_t len,
                             const struct krc_write_opts *opts, struct krc_strbuf *out,
                             struct krc_error *err);
/* PATCH the object, or its subresource ("status", "scale"; NULL for the object). */
int krc_client_patch(struct krc_client *c, const struct krc_resource *res, const char *ns,
                     const char *name, const char *subresource, enum krc_patch_type type,
                     const char *body, size_t len, const struct krc_write_opts *opts,
                     struct krc_strbuf *out, struct krc_error *err);
/* DELETE with DeleteOptions. out receives the object (being deleted) or a Status; may be NULL. */
int krc_client_delete(struct krc_client *c, const struct krc_resource *res, const char *ns,
                      const char *name, const struct krc_delete_opts *opts, struct krc_strbuf *out,
                      struct krc_error *err);

/* Parses a response body. *out is a new reference (json_decref it). KRC_EINVAL with jansson's
 * line and column when the body is not JSON. */
int krc_client_parse_json(const struct krc_strbuf *body, json_t **out, struct krc_error *err);

/* ---- streams ---- */

/* Receives one line without its '\n' (and '\r'), NUL-terminated, valid only during the call;
 * empty lines are skipped. Returns 0 to go on; anything else stops the stream and is returned by
 * krc_client_stream (use a negative KRC_E* code, or a positive value of your own). */
typedef int (*krc_line_fn)(void *ctx, const char *line, size_t len);

struct krc_stream_opts {
    krc_line_fn on_line;
    void *ctx;
    size_t max_line;           /* 0 = KRC_STREAM_LINE_MAX; a longer line fails the stream */
    long timeout_ms;           /* whole stream, client side; 0 = none */
    struct krc_cancel *cancel; /* raise from another thread to stop; NULL = not cancellable */
};

/* A GET whose body is a stream of lines. Returns 0 when the server ends the stream (for a watch:
 * its timeoutSeconds passed), KRC_ECANCELED, KRC_ETIMEOUT, KRC_ETOOLARGE (a line over the cap),
 * KRC_EIO (the connection broke or ended inside a line), the typed error of a non-2xx answer
 * (KRC_EGONE for a too old resourceVersion), or the callback's value. Retried like a GET until
 * the first byte arrives; never after, as lines may already have been acted upon. */
int krc_client_stream(struct krc_client *c, const struct krc_request *req,
                      const struct krc_stream_opts *opts, struct krc_error *err);

/* A watch: the stream of {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}} events of
 * a collection from opts->resource_version on. An ERROR event is delivered like any other line
 * (krc_status_error_json types its Status, e.g. 410 Expired -> KRC_EGONE). */
int krc_client_watch(struct krc_client *c, const struct krc_resource *res, const char *ns,
                     const struct krc_list_opts *opts, const struct krc_stream_opts *sopts,
                     struct krc_error *err);

/* ---- line splitting, the engine of streams (exposed for tests and other stream users) ---- */

struct krc_lines {
    struct krc_strbuf line; /* the line being assembled */
    size_t max_line;
    krc_line_fn fn;
    void *ctx;
};

void krc_lines_init(struct krc_lines *l, size_t max_line, krc_line_fn fn, void *ctx);
/* Feeds bytes; calls fn for each line completed. 0, KRC_ETOOLARGE, KRC_ENOMEM, or fn's value. */
int krc_lines_feed(struct krc_lines *l, const char *data, size_t len);
/* 0 when no partial line is pending; KRC_EIO otherwise (the stream was cut inside a line). */
int krc_lines_finish(struct krc_lines *l);
void krc_lines_release(struct krc_lines *l);

#endif
