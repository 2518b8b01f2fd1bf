/* projection.h - compact, immutable, reference-counted cache objects built by streaming JSON.
 *
 * An informer caches many objects (40,000 pods) for as long as the process runs, so it keeps only
 * what its consumers read. A projection is that declaration: a list of dotted paths
 * ("status.phase", "metadata.ownerReferences", "spec.containers"); each selects one subtree,
 * kept as compact JSON text. Every object also keeps, in fixed fields, the metadata every
 * controller needs: name, namespace, uid, resourceVersion, generation, deletionTimestamp, all
 * labels (parsed into key/value pairs; the store indexes one of them) and the kind, name and uid
 * of the controller owner reference. Annotations and everything else are kept only if declared.
 *
 * A struct krc_object is one allocation (header, a table of the declared paths, then the
 * strings), immutable once built, shared by reference count: readers take a reference instead
 * of a deep copy and may hold it as long as they like on any thread. A declared path's JSON is
 * found in O(1) by its index (its position in the declared list). A caller that wants a DOM
 * parses just that value with jansson (krc_object_path_json); nothing else is ever parsed twice.
 *
 * The parser (struct krc_projection_parser) is a SAX consumer of yajl: it is fed bytes in chunks
 * of any size and never holds more than the object being built, so a 100 MB list response costs
 * one object of memory, not a DOM of the whole list. It reads three shapes: one object, a List
 * (items handed to a callback one by one as each completes, list metadata kept), and a stream of
 * watch events. Depth, the size of each kept value and the size of any single JSON token are
 * capped; malformed input yields KRC_EINVAL with the byte offset, never a crash.
 *
 * Paths: segments separated by '.', map keys only (no array indexes, no escaping of '.' in a key);
 * a path may not lie inside another declared path. At most KRC_PROJECTION_MAX_PATHS. */
#ifndef KRC_KUBE_PROJECTION_H
#define KRC_KUBE_PROJECTION_H

#include "util/error.h"

#include <jansson.h>
#include <stddef.h>

#define KRC_PROJECTION_MAX_PATHS 64
#define KRC_PROJECTION_MAX_DROPS 8
/* The annotation `kubectl apply` adds: a copy of the whole object as applied, which no controller
 * reads and which doubles what a cached RayCluster or RayJob costs. */
#define KRC_LAST_APPLIED_ANNOTATION "kubectl.kubernetes.io/last-applied-configuration"
/* Defaults of struct krc_projection_limits. An object in etcd is at most 1.5 MiB, so no kept value
 * or single token of a well-formed response comes near 4 MiB. */
#define KRC_PROJECTION_DEFAULT_MAX_DEPTH 64
#define KRC_PROJECTION_DEFAULT_MAX_VALUE (4u * 1024 * 1024)

struct krc_projection_limits {
    size_t max_depth; /* nesting of maps and arrays in one response; 0 = default, at most 1024 */
    /* bytes of one kept value (a declared path's JSON, all labels, one string field) and of any
     * single JSON token; 0 = default, at most 64 MiB */
    size_t max_value;
};

struct krc_projection;
struct krc_object;

/* Builds a projection from npaths dotted paths (copied). KRC_EINVAL naming the path when one is
 * empty, has an empty segment, repeats another or lies inside another; KRC_ENOMEM. The projection
 * is immutable and may be shared by any number of parsers and threads; free it after the last
 * parser using it is freed (objects do not refer to it). */
int krc_projection_new(const char *const *paths, size_t npaths,
                       const struct krc_projection_limits *limits, struct krc_projection **out,
                       struct krc_error *err);
void krc_projection_free(struct krc_projection *p);
/* A member left out of a kept value: the member `key` of the map that declared path `path` (an
 * index) selects, e.g. {2, KRC_LAST_APPLIED_ANNOTATION} when path 2 is "metadata.annotations".
 * Only members of that map itself; a value that is not a map is kept whole. */
struct krc_projection_drop {
    size_t path;
    const char *key;
};
/* Adds a member to leave out (key copied); call before any parser uses p. KRC_EINVAL when the
 * path index is out of range, the key empty, or KRC_PROJECTION_MAX_DROPS are declared already;
 * KRC_ENOMEM. */
int krc_projection_drop_member(struct krc_projection *p, const struct krc_projection_drop *d,
                               struct krc_error *err);
size_t krc_projection_count(const struct krc_projection *p);
/* The i-th declared path, or NULL when i is out of range. */
const char *krc_projection_path(const struct krc_projection *p, size_t i);

/* ---- objects ---- */

/* Takes one more reference (o may be NULL); returns o. Thread-safe (atomic). */
struct krc_object *krc_object_ref(struct krc_object *o);
/* Drops one reference, freeing the object with the last one. NULL is ignored. Thread-safe. */
void krc_object_unref(struct krc_object *o);

/* Fixed fields. Strings live as long as the object; those of name, namespace, uid and
 * resourceVersion are "" when the JSON lacked them (namespace is "" for cluster-scoped kinds). */
const char *krc_object_name(const struct krc_object *o);
const char *krc_object_namespace(const struct krc_object *o);
const char *krc_object_uid(const struct krc_object *o);
const char *krc_object_resource_version(const struct krc_object *o);
long long krc_object_generation(const struct krc_object *o); /* 0 when absent */
/* NULL when the object is not being deleted. */
const char *krc_object_deletion_timestamp(const struct krc_object *o);
/* The owner reference with controller=true: NULL when there is none. */
const char *krc_object_controller_uid(const struct krc_object *o);
const char *krc_object_controller_kind(const struct krc_object *o);
const char *krc_object_controller_name(const struct krc_object *o);

/* The value of label key, or NULL when the object does not carry it. O(number of labels). */
const char *krc_object_label(const struct krc_object *o, const char *key);
size_t krc_object_label_count(const struct krc_object *o);
/* The i-th label in document order: 0, or KRC_EINVAL when i is out of range. */
int krc_object_label_at(const struct krc_object *o, size_t i, const char **key, const char **value);

/* The compact JSON text of the i-th declared path (NUL-terminated; *len gets its length when len
 * is non-NULL), or NULL when the object lacks that path or i is out of range. A JSON null in the
 * document is "null", not NULL. O(1). */
const char *krc_object_path(const struct krc_object *o, size_t i, size_t *len);
/* Parses the i-th declared path with jansson into a new reference in *out (json_decref it);
 * *out is NULL, and 0 returned, when the object lacks the path. KRC_ENOMEM or KRC_EINVAL. */
int krc_object_path_json(const struct krc_object *o, size_t i, json_t **out, struct krc_error *err);

/* Bytes of the object's one allocation (what the cache pays for it, malloc's overhead aside). */
size_t krc_object_size(const struct krc_object *o);

/* ---- parsing ---- */

enum krc_projection_mode {
    KRC_PROJECTION_OBJECT, /* one object: take it with krc_projection_parser_take */
    KRC_PROJECTION_LIST,   /* {"kind":"...List","metadata":{...},"items":[...]} */
    KRC_PROJECTION_WATCH,  /* a stream of {"type":...,"object":{...}} lines */
};

enum krc_watch_type {
    KRC_WATCH_ADDED,
    KRC_WATCH_MODIFIED,
    KRC_WATCH_DELETED,
    KRC_WATCH_BOOKMARK,
    KRC_WATCH_ERROR,
};

/* One watch event. For ERROR, object is NULL and code/reason/message come from the Status the
 * event carried (code 410 with reason "Expired" or "Gone" when the resourceVersion is too old;
 * code 0 when the Status had none); otherwise they are 0/NULL. Strings are valid during the
 * callback only. */
struct krc_watch_event {
    enum krc_watch_type type;
    struct krc_object *object;
    int code;
    const char *reason;
    const char *message;
};

/* Item of a list: obj is a reference handed to the callback, which keeps or unrefs it, whatever
 * it returns. Returning a negative KRC_E* code (with err filled) stops the parse with that code. */
typedef int (*krc_projection_item_fn)(void *ctx, struct krc_object *obj, struct krc_error *err);
/* Watch event: ev->object is likewise handed to the callback. */
typedef int (*krc_projection_event_fn)(void *ctx, const struct krc_watch_event *ev,
                                       struct krc_error *err);

struct krc_projection_parser;

/* A parser of one response in the given mode. on_item is required for LIST, on_event for WATCH;
 * both are ignored otherwise. The projection must outlive the parser. */
int krc_projection_parser_new(const struct krc_projection *p, enum krc_projection_mode mode,
                              krc_projection_item_fn on_item, krc_projection_event_fn on_event,
                              void *ctx, struct krc_projection_parser **out, struct krc_error *err);
void krc_projection_parser_free(struct krc_projection_parser *ps);

/* Feeds the next len bytes, in chunks of any size. Callbacks run from inside this call. Errors:
 * KRC_EINVAL (malformed JSON or a non-object where an object belongs, with the byte offset just
 * past the offending token, counted from the start of the response),
 * KRC_ETOOLARGE (a cap), KRC_ENOMEM, or a callback's code. After an error the parser is spent:
 * every later call returns the same code. */
int krc_projection_parser_feed(struct krc_projection_parser *ps, const char *data, size_t len,
                               struct krc_error *err);
/* Declares the end of input: KRC_EINVAL when it ended inside a value (a cut watch stream, a
 * truncated list), or, in OBJECT mode, when there was no value. */
int krc_projection_parser_finish(struct krc_projection_parser *ps, struct krc_error *err);
/* Makes the parser ready for another response in the same mode (the next page of a list). */
int krc_projection_parser_reset(struct krc_projection_parser *ps, struct krc_error *err);

/* OBJECT mode: hands over the parsed object (the caller's reference), or NULL if none. */
struct krc_object *krc_projection_parser_take(struct krc_projection_parser *ps);
/* LIST mode: metadata.resourceVersion and metadata.continue of the list ("" when absent). */
const char *krc_projection_parser_list_resource_version(const struct krc_projection_parser *ps);
const char *krc_projection_parser_list_continue(const struct krc_projection_parser *ps);
/* Bytes fed since the parser was created or reset. */
size_t krc_projection_parser_offset(const struct krc_projection_parser *ps);

/* Projects one complete JSON object held in memory into a new reference in *out. */
int krc_projection_parse_object(const struct krc_projection *p, const char *json, size_t len,
                                struct krc_object **out, struct krc_error *err);

#endif
