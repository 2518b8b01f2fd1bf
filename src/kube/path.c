/* path.c - building API paths and query strings (see path.h). Everything is appended to a caller's
 * strbuf, so a URL is built in one buffer without intermediate allocations. */
#include "kube/path.h"

#include <stdio.h>
#include <string.h>

static int is_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int krc_path_escape(struct krc_strbuf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int rc;
        if (is_unreserved(*p)) {
            rc = krc_strbuf_addch(out, (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = krc_strbuf_add(out, esc, sizeof(esc));
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* A path segment the server can route: non-empty, no '/', not a dot segment. A segment over the
 * 253 bytes of a DNS subdomain is still allowed here: validation of names is the server's job. */
static int check_segment(const char *what, const char *s, struct krc_error *err)
{
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strchr(s, '/'))
        return krc_error_set(err, KRC_EINVAL, "%s \"%.64s\" cannot be used in a path", what, s);
    return 0;
}

static int nonempty(const char *s)
{
    return s && *s;
}

/* Appends "/a/b/c/d" for the non-NULL leading arguments, each escaped. */
static int add_segments(struct krc_strbuf *out, const char *a, const char *b, const char *c,
                        const char *d)
{
    const char *segs[] = {a, b, c, d};
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]) && segs[i]; i++) {
        int rc = krc_strbuf_addch(out, '/');
        if (!rc)
            rc = krc_path_escape(out, segs[i]);
        if (rc)
            return rc;
    }
    return 0;
}

const char *krc_resource_name(const struct krc_resource *res, char *buf, size_t size)
{
    if (nonempty(res->group))
        snprintf(buf, size, "%s.%s", res->resource, res->group);
    else
        snprintf(buf, size, "%s", res->resource);
    return buf;
}

int krc_path_build(struct krc_strbuf *out, const struct krc_resource *res, const char *ns,
                   const char *name, const char *subresource, struct krc_error *err)
{
    int rc;

    if (!res || !nonempty(res->version) || !nonempty(res->resource))
        return krc_error_set(err, KRC_EINVAL, "resource type needs a version and a resource");
    if ((rc = check_segment("version", res->version, err)) ||
        (rc = check_segment("resource", res->resource, err)) ||
        (nonempty(res->group) && (rc = check_segment("group", res->group, err))))
        return rc;
    if (!res->namespaced && nonempty(ns))
        return krc_error_set(err, KRC_EINVAL,
                             "%s is cluster-scoped but namespace \"%.64s\" was given",
                             res->resource, ns);
    if (res->namespaced && !nonempty(ns) && (name || subresource))
        return krc_error_set(err, KRC_EINVAL, "%s is namespaced: %s \"%.64s\" needs a namespace",
                             res->resource, name ? "object" : "subresource",
                             name ? name : subresource);
    if (subresource && !name)
        return krc_error_set(err, KRC_EINVAL, "subresource %s of %s needs an object name",
                             subresource, res->resource);
    if ((nonempty(ns) && (rc = check_segment("namespace", ns, err))) ||
        (name && (rc = check_segment("name", name, err))) ||
        (subresource && (rc = check_segment("subresource", subresource, err))))
        return rc;

    if (nonempty(res->group))
        rc = add_segments(out, "apis", res->group, res->version, NULL);
    else
        rc = add_segments(out, "api", res->version, NULL, NULL);
    if (!rc && nonempty(ns))
        rc = add_segments(out, "namespaces", ns, NULL, NULL);
    if (!rc)
        rc = add_segments(out, res->resource, name, subresource, NULL);
    if (rc)
        return krc_error_set(err, rc, "building the path of %s: %s", res->resource,
                             krc_strerror(rc));
    return 0;
}

int krc_query_add(struct krc_strbuf *out, const char *key, const char *value)
{
    if (!nonempty(value))
        return 0;
    int rc = krc_strbuf_addch(out, memchr(out->buf, '?', out->len) ? '&' : '?');
    if (!rc)
        rc = krc_path_escape(out, key);
    if (!rc)
        rc = krc_strbuf_addch(out, '=');
    if (!rc)
        rc = krc_path_escape(out, value);
    return rc;
}

int krc_query_add_int(struct krc_strbuf *out, const char *key, long long value)
{
    char num[24];
    snprintf(num, sizeof(num), "%lld", value);
    return krc_query_add(out, key, num);
}
