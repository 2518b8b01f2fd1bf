/* store.h - the informer's cache: a thread-safe map "namespace/name" -> struct krc_object, with
 * indexes.
 *
 * Objects are immutable and reference-counted (projection.h), so a reader takes a reference under
 * the lock and uses the object after releasing it, for as long as it likes; a writer replaces the
 * pointer and drops the store's reference. Nobody ever copies an object or holds the lock while
 * looking at one.
 *
 * Three indexes answer a controller's usual questions without a scan: the objects of a namespace,
 * the objects whose controller owner has a given UID (a RayCluster's pods), and the objects whose
 * value of one label, chosen at creation, is a given value (ray.io/cluster=c). Each index key
 * keeps a count, so "how many" is O(1).
 *
 * Relist: after a watch is lost (410 Gone, restart) the informer lists again and must turn the
 * fresh list into events without losing or inventing any. krc_store_replace_begin starts a round;
 * each listed object goes through krc_store_replace_item, which reports whether it was added,
 * updated (resourceVersion differs) or unchanged; krc_store_replace_end removes and returns what
 * the list no longer had. Items are applied as they stream in, so a relist of 40,000 pods never
 * holds two copies of the cache; a round abandoned halfway (the list failed) leaves a store in
 * which every object is one the server really had, and the next round finishes the job. */
#ifndef KRC_KUBE_STORE_H
#define KRC_KUBE_STORE_H

#include "kube/projection.h"
#include "util/error.h"

#include <stddef.h>

struct krc_store;

struct krc_store_options {
    const char *index_label; /* label key whose values are indexed, or NULL for none (copied) */
};

enum krc_store_index {
    KRC_STORE_BY_NAMESPACE, /* key: the namespace ("" for cluster-scoped objects) */
    KRC_STORE_BY_OWNER,     /* key: the UID of the controller owner reference */
    KRC_STORE_BY_LABEL,     /* key: the value of the index label */
};

/* A snapshot: an array of references, owned by the caller. */
struct krc_object_list {
    struct krc_object **items;
    size_t len;
};

/* Unrefs every item and frees the array; the list is empty afterwards. */
void krc_object_list_release(struct krc_object_list *l);

int krc_store_new(const struct krc_store_options *opts, struct krc_store **out,
                  struct krc_error *err);
/* Drops the store's references. No other thread may be using the store. */
void krc_store_free(struct krc_store *s);

/* ---- reading (any thread) ---- */

/* A new reference to the object, or NULL when there is none. O(1). */
struct krc_object *krc_store_get(struct krc_store *s, const char *ns, const char *name);
size_t krc_store_len(struct krc_store *s);
/* Every object, in no particular order. KRC_ENOMEM; out is empty on error. O(n) under the lock. */
int krc_store_list(struct krc_store *s, struct krc_object_list *out, struct krc_error *err);
/* The objects whose index key is key. O(matches) under the lock. KRC_EINVAL for the label index
 * of a store without an index label. */
int krc_store_list_index(struct krc_store *s, enum krc_store_index index, const char *key,
                         struct krc_object_list *out, struct krc_error *err);
/* How many objects have that index key. O(1). */
size_t krc_store_count_index(struct krc_store *s, enum krc_store_index index, const char *key);
/* Bytes the store holds: its objects (each counted once, though others may share them), entries,
 * hash buckets and index groups; malloc's own overhead is not counted. O(1). */
size_t krc_store_bytes(struct krc_store *s);

/* ---- writing (one thread at a time: the informer) ---- */

/* Inserts obj, or replaces the object of the same namespace/name. The store takes its own
 * reference. *old (when old is non-NULL) receives the replaced object (the caller's reference) or
 * NULL; with old NULL it is unreffed. KRC_EINVAL when obj has no name, KRC_ENOMEM. */
int krc_store_upsert(struct krc_store *s, struct krc_object *obj, struct krc_object **old,
                     struct krc_error *err);
/* Removes the object; *old as for upsert. KRC_ENOTFOUND when there was none. */
int krc_store_delete(struct krc_store *s, const char *ns, const char *name,
                     struct krc_object **old);

enum krc_store_change {
    KRC_STORE_UNCHANGED, /* present with the same resourceVersion: the store keeps its object */
    KRC_STORE_ADDED,
    KRC_STORE_UPDATED,
};

/* Starts a relist round: every object is "not seen yet". */
void krc_store_replace_begin(struct krc_store *s);
/* Applies one listed object and marks it seen. *old receives the caller's reference to the
 * replaced object for KRC_STORE_UPDATED, NULL otherwise. Errors as for upsert. */
int krc_store_replace_item(struct krc_store *s, struct krc_object *obj,
                           enum krc_store_change *change, struct krc_object **old,
                           struct krc_error *err);
/* Ends the round: removes every object not seen since krc_store_replace_begin and hands them to
 * the caller in *deleted (for delete events). KRC_ENOMEM (nothing removed then). */
int krc_store_replace_end(struct krc_store *s, struct krc_object_list *deleted,
                          struct krc_error *err);

#endif
