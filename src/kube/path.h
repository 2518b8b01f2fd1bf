/* path.h - REST paths and query strings of the Kubernetes API.
 *
 * A resource type is named by group, version and plural resource, plus whether it is namespaced;
 * that is all the client needs, so CRDs work exactly like built-in types and no discovery is done.
 * The layout is fixed by the API: /api/v1 for the core group, /apis/GROUP/VERSION otherwise, then
 * [/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]]. Names and namespaces are validated (no '/', not
 * "." or "..", which the server would route elsewhere) and percent-escaped; query values are
 * escaped so selectors like "app in (a,b)" survive. */
#ifndef KRC_KUBE_PATH_H
#define KRC_KUBE_PATH_H

#include "util/error.h"
#include "util/strbuf.h"

struct krc_resource {
    const char *group;    /* "" or NULL for the core group */
    const char *version;  /* "v1" */
    const char *resource; /* lower-case plural: "configmaps", "rayclusters" */
    int namespaced;
};

#define KRC_RESOURCE(group, version, resource, namespaced)                                         \
    ((struct krc_resource){(group), (version), (resource), (namespaced)})

/* Appends the path of a collection (name NULL) or of an object, and of a subresource (NULL for
 * none; "status", "scale", "log", ...) of that object. For a namespaced type, ns NULL or "" names
 * the collection across all namespaces (lists and watches only: an object or subresource of a
 * namespaced type needs a namespace). A cluster-scoped type rejects a namespace. KRC_EINVAL with a
 * message naming the argument on bad input; KRC_ENOMEM/KRC_ETOOLARGE from the buffer. */
int krc_path_build(struct krc_strbuf *out, const struct krc_resource *res, const char *ns,
                   const char *name, const char *subresource, struct krc_error *err);

/* Appends s percent-escaped: everything but RFC 3986 unreserved characters becomes %XX. */
int krc_path_escape(struct krc_strbuf *out, const char *s);

/* Appends "?key=value" for the first parameter of out (no '?' in it yet), "&key=value" after;
 * value is escaped. A NULL or empty value appends nothing. */
int krc_query_add(struct krc_strbuf *out, const char *key, const char *value);
/* The same for an integer value. */
int krc_query_add_int(struct krc_strbuf *out, const char *key, long long value);

/* "resource", "resource.group" for messages: "configmaps", "rayclusters.ray.io". */
const char *krc_resource_name(const struct krc_resource *res, char *buf, size_t size);

#endif
