/* verbs.c - the Kubernetes verbs as thin wrappers over krc_client_do and krc_client_stream: each
 * one only builds its query string (and, for delete, its DeleteOptions body). Keeping them here
 * leaves client.c about transport policy and makes each verb's wire format easy to check. */
#include "kube/client.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const patch_content_types[] = {
    [KRC_PATCH_MERGE] = "application/merge-patch+json",
    [KRC_PATCH_JSON] = "application/json-patch+json",
    [KRC_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
    [KRC_PATCH_APPLY] = "application/apply-patch+yaml",
};

static int query_error(int rc, struct krc_error *err)
{
    return krc_error_set(err, rc, "building a query string: %s", krc_strerror(rc));
}

static int write_query(const struct krc_write_opts *o, struct krc_strbuf *q)
{
    int rc = 0;
    if (!o)
        return 0;
    if (!rc)
        rc = krc_query_add(q, "fieldManager", o->field_manager);
    if (!rc && o->dry_run)
        rc = krc_query_add(q, "dryRun", "All");
    if (!rc && o->force)
        rc = krc_query_add(q, "force", "true");
    return rc;
}

static int list_query(const struct krc_list_opts *o, int watch, struct krc_strbuf *q)
{
    int rc = 0;
    if (watch)
        rc = krc_query_add(q, "watch", "true");
    if (!o)
        return rc;
    if (!rc)
        rc = krc_query_add(q, "labelSelector", o->label_selector);
    if (!rc)
        rc = krc_query_add(q, "fieldSelector", o->field_selector);
    if (!rc && o->limit > 0)
        rc = krc_query_add_int(q, "limit", o->limit);
    if (!rc)
        rc = krc_query_add(q, "continue", o->continue_token);
    if (!rc)
        rc = krc_query_add(q, "resourceVersion", o->resource_version);
    if (!rc)
        rc = krc_query_add(q, "resourceVersionMatch", o->resource_version_match);
    if (!rc && o->timeout_seconds > 0)
        rc = krc_query_add_int(q, "timeoutSeconds", o->timeout_seconds);
    if (!rc && watch && o->allow_watch_bookmarks)
        rc = krc_query_add(q, "allowWatchBookmarks", "true");
    return rc;
}

int krc_client_get(struct krc_client *c, const struct krc_resource *res, const char *ns,
                   const char *name, struct krc_strbuf *out, struct krc_error *err)
{
    struct krc_request req = {.method = "GET", .res = res, .ns = ns, .name = name};
    if (!name)
        return krc_error_set(err, KRC_EINVAL, "get %s: no name given", res ? res->resource : "?");
    return krc_client_do(c, &req, out, err);
}

int krc_client_list(struct krc_client *c, const struct krc_resource *res, const char *ns,
                    const struct krc_list_opts *opts, struct krc_strbuf *out, struct krc_error *err)
{
    struct krc_strbuf q = KRC_STRBUF_INIT;
    int rc = list_query(opts, 0, &q);
    if (rc) {
        rc = query_error(rc, err);
        goto out;
    }
    struct krc_request req = {.method = "GET", .res = res, .ns = ns, .query = q.buf};
    rc = krc_client_do(c, &req, out, err);
out:
    krc_strbuf_release(&q);
    return rc;
}

/* POST, PUT and PATCH share this: a body, a content type and the write options. */
static int write_call(struct krc_client *c, const char *method, const struct krc_resource *res,
                      const char *ns, const char *name, const char *subresource,
                      const char *content_type, const char *body, size_t len,
                      const struct krc_write_opts *opts, struct krc_strbuf *out,
                      struct krc_error *err)
{
    struct krc_strbuf q = KRC_STRBUF_INIT;
    int rc;

    if (!body)
        return krc_error_set(err, KRC_EINVAL, "%s %s: no body given", method,
                             res ? res->resource : "?");
    rc = write_query(opts, &q);
    if (rc) {
        rc = query_error(rc, err);
        goto out;
    }
    struct krc_request req = {
        .method = method,
        .res = res,
        .ns = ns,
        .name = name,
        .subresource = subresource,
        .query = q.buf,
        .content_type = content_type,
        .body = body,
        .body_len = len,
    };
    rc = krc_client_do(c, &req, out, err);
out:
    krc_strbuf_release(&q);
    return rc;
}

int krc_client_create(struct krc_client *c, const struct krc_resource *res, const char *ns,
                      const char *body, size_t len, const struct krc_write_opts *opts,
                      struct krc_strbuf *out, struct krc_error *err)
{
    return write_call(c, "POST", res, ns, NULL, NULL, "application/json", body, len, opts, out,
                      err);
}

int krc_client_update(struct krc_client *c, const struct krc_resource *res, const char *ns,
                      const char *name, const char *body, size_t len,
                      const struct krc_write_opts *opts, struct krc_strbuf *out,
                      struct krc_error *err)
{
    if (!name)
        return krc_error_set(err, KRC_EINVAL, "update %s: no name given",
                             res ? res->resource : "?");
    return write_call(c, "PUT", res, ns, name, NULL, "application/json", body, len, opts, out, err);
}

int krc_client_update_status(struct krc_client *c, const struct krc_resource *res, const char *ns,
                             const char *name, const char *body, size_t len,
                             const struct krc_write_opts *opts, struct krc_strbuf *out,
                             struct krc_error *err)
{
    if (!name)
        return krc_error_set(err, KRC_EINVAL, "update %s status: no name given",
                             res ? res->resource : "?");
    return write_call(c, "PUT", res, ns, name, "status", "application/json", body, len, opts, out,
                      err);
}

int krc_client_patch(struct krc_client *c, const struct krc_resource *res, const char *ns,
                     const char *name, const char *subresource, enum krc_patch_type type,
                     const char *body, size_t len, const struct krc_write_opts *opts,
                     struct krc_strbuf *out, struct krc_error *err)
{
    if (!name)
        return krc_error_set(err, KRC_EINVAL, "patch %s: no name given", res ? res->resource : "?");
    if ((unsigned)type >= sizeof(patch_content_types) / sizeof(patch_content_types[0]))
        return krc_error_set(err, KRC_EINVAL, "patch %s %s: unknown patch type %d",
                             res ? res->resource : "?", name, (int)type);
    if (type == KRC_PATCH_APPLY && (!opts || !opts->field_manager))
        return krc_error_set(err, KRC_EINVAL,
                             "apply %s %s: server-side apply needs a field manager",
                             res ? res->resource : "?", name);
    return write_call(c, "PATCH", res, ns, name, subresource, patch_content_types[type], body, len,
                      opts, out, err);
}

/* DeleteOptions as JSON, or NULL (no body) when every option is the server's default. */
static int delete_body(const struct krc_delete_opts *o, char **out)
{
    json_t *doc = NULL, *pre = NULL;
    int rc = 0;

    *out = NULL;
    if (!o || (!o->propagation_policy && !o->precondition_uid &&
               !o->precondition_resource_version && !o->grace_period_set && !o->dry_run))
        return 0;
    doc = json_pack("{s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
    if (!doc)
        return KRC_ENOMEM;
    if (o->propagation_policy &&
        json_object_set_new(doc, "propagationPolicy", json_string(o->propagation_policy)) != 0)
        rc = KRC_ENOMEM;
    if (!rc && o->grace_period_set &&
        json_object_set_new(doc, "gracePeriodSeconds", json_integer(o->grace_period_seconds)) != 0)
        rc = KRC_ENOMEM;
    if (!rc && o->dry_run && json_object_set_new(doc, "dryRun", json_pack("[s]", "All")) != 0)
        rc = KRC_ENOMEM;
    if (!rc && (o->precondition_uid || o->precondition_resource_version)) {
        pre = json_object();
        if (!pre ||
            (o->precondition_uid &&
             json_object_set_new(pre, "uid", json_string(o->precondition_uid)) != 0) ||
            (o->precondition_resource_version &&
             json_object_set_new(pre, "resourceVersion",
                                 json_string(o->precondition_resource_version)) != 0) ||
            json_object_set(doc, "preconditions", pre) != 0)
            rc = KRC_ENOMEM;
    }
    if (!rc && !(*out = json_dumps(doc, JSON_COMPACT)))
        rc = KRC_ENOMEM;
    json_decref(pre);
    json_decref(doc);
    return rc;
}

int krc_client_delete(struct krc_client *c, const struct krc_resource *res, const char *ns,
                      const char *name, const struct krc_delete_opts *opts, struct krc_strbuf *out,
                      struct krc_error *err)
{
    struct krc_strbuf discard = KRC_STRBUF_INIT;
    char *body = NULL;
    int rc;

    if (!name)
        return krc_error_set(err, KRC_EINVAL, "delete %s: no name given",
                             res ? res->resource : "?");
    rc = delete_body(opts, &body);
    if (rc) {
        rc = krc_error_set(err, rc, "delete %s %s: building DeleteOptions: %s",
                           res ? res->resource : "?", name, krc_strerror(rc));
        goto out;
    }
    struct krc_request req = {
        .method = "DELETE",
        .res = res,
        .ns = ns,
        .name = name,
        .content_type = body ? "application/json" : NULL,
        .body = body,
        .body_len = body ? strlen(body) : 0,
    };
    rc = krc_client_do(c, &req, out ? out : &discard, err);
out:
    free(body);
    krc_strbuf_release(&discard);
    return rc;
}

int krc_client_watch(struct krc_client *c, const struct krc_resource *res, const char *ns,
                     const struct krc_list_opts *opts, const struct krc_stream_opts *sopts,
                     struct krc_error *err)
{
    struct krc_strbuf q = KRC_STRBUF_INIT;
    int rc = list_query(opts, 1, &q);
    if (rc) {
        rc = query_error(rc, err);
        goto out;
    }
    struct krc_request req = {.method = "GET", .res = res, .ns = ns, .query = q.buf};
    rc = krc_client_stream(c, &req, sopts, err);
out:
    krc_strbuf_release(&q);
    return rc;
}
