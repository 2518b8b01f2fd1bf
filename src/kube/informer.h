/* informer.h - list-then-watch one resource type into a store and tell handlers what changed.
 *
 * An informer keeps a struct krc_store equal to what the API server has for one resource type
 * (any group/version/resource; optionally one namespace, a label and a field selector), holding
 * only the projection its consumers declared (projection.h). It runs one thread, which:
 *   1. lists in pages (limit/continue), each page projected as it is parsed and applied to the
 *      store as a relist round (store.h), so handlers see adds, updates and deletes, never a gap;
 *   2. watches from the list's resourceVersion with bookmarks and a server-side timeout, and
 *      re-watches from the last resourceVersion seen (events or bookmarks) whenever a watch ends;
 *   3. on 410 Gone (the HTTP answer or an ERROR event) lists again, delivered as the difference;
 *   4. on any other failure (connection lost, server restarting) backs off exponentially with
 *      jitter and resumes the watch from the last resourceVersion, so no event is lost.
 *
 * Handlers run on the informer's thread, one call at a time, in the order the changes happened;
 * they must be quick (enqueue a key, as the sample-controller does) and must not call
 * krc_informer_stop. Objects are borrowed references valid during the call: take your own with
 * krc_object_ref to keep one. A delete found by a relist carries the last state the store had.
 *
 * Resync: with resync_ms set, every object is re-delivered as on_update(obj, obj) about that
 * often, from the same thread; the watch is then capped to the resync period (one re-watch per
 * period, the price of keeping handlers single-threaded).
 *
 * Cost of the list: a page (page_size objects, ~2-4 MB of JSON for 500 pods) is buffered whole,
 * because the REST client returns response bodies whole; parsing it never builds a DOM. */
#ifndef KRC_KUBE_INFORMER_H
#define KRC_KUBE_INFORMER_H

#include "kube/client.h"
#include "kube/path.h"
#include "kube/projection.h"
#include "kube/store.h"
#include "util/error.h"

#include <stddef.h>

#define KRC_INFORMER_DEFAULT_PAGE_SIZE      500
#define KRC_INFORMER_DEFAULT_WATCH_TIMEOUT  300 /* s; each watch lasts 1x-2x this (jitter) */
#define KRC_INFORMER_DEFAULT_BACKOFF_MIN_MS 800 /* client-go's reflector backoff */
#define KRC_INFORMER_DEFAULT_BACKOFF_MAX_MS 30000
#define KRC_INFORMER_MAX_HANDLERS           8

struct krc_informer;

struct krc_informer_handlers {
    void (*on_add)(void *ctx, struct krc_object *obj);
    void (*on_update)(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj);
    void (*on_delete)(void *ctx, struct krc_object *obj);
    void *ctx;
};

/* Zero means the default. Strings and paths are copied by krc_informer_new. */
struct krc_informer_options {
    struct krc_resource resource;
    const char *namespace;      /* NULL or "": all namespaces (or a cluster-scoped type) */
    const char *label_selector; /* server-side filter, NULL for none */
    const char *field_selector;
    const char *const *paths; /* the projection: declared paths (projection.h) */
    size_t npaths;
    const struct krc_projection_drop *drops; /* members left out of kept values (projection.h) */
    size_t ndrops;
    struct krc_projection_limits limits;
    const char *index_label; /* label indexed by the store (store.h), or NULL */
    long long page_size;     /* objects per list page */
    long watch_timeout_s;    /* server-side timeoutSeconds of a watch */
    long resync_ms;          /* 0: no resync */
    long backoff_min_ms, backoff_max_ms;
};

/* Counters for logs, metrics and tests; resource_version is the last one seen. */
struct krc_informer_stats {
    unsigned long lists;   /* complete relist rounds */
    unsigned long watches; /* watch requests started */
    unsigned long gone;    /* 410s that forced a relist */
    unsigned long errors;  /* failed lists or watches (each followed by a backoff) */
    unsigned long events;  /* watch events applied, bookmarks excluded */
    char resource_version[64];
};

/* Creates a stopped informer on client (which must outlive it). KRC_EINVAL for bad options
 * (no resource, bad paths), KRC_ENOMEM. */
int krc_informer_new(struct krc_client *client, const struct krc_informer_options *opts,
                     struct krc_informer **out, struct krc_error *err);
/* Registers handlers (copied); only before krc_informer_start. KRC_EINVAL afterwards or past
 * KRC_INFORMER_MAX_HANDLERS. */
int krc_informer_add_handlers(struct krc_informer *inf, const struct krc_informer_handlers *h,
                              struct krc_error *err);
/* Starts the thread. KRC_EINVAL if already started; KRC_EIO if the thread cannot be created. */
int krc_informer_start(struct krc_informer *inf, struct krc_error *err);
/* Whether the first list has been applied completely (stays true afterwards). Any thread. */
int krc_informer_has_synced(struct krc_informer *inf);
/* Waits until synced: 0, KRC_ETIMEOUT after timeout_ms (< 0: no limit), KRC_ECANCELED if the
 * informer is stopped first. Call after krc_informer_start. */
int krc_informer_wait_synced(struct krc_informer *inf, long timeout_ms);
/* The store, for reads by any thread; owned by the informer. */
struct krc_store *krc_informer_store(struct krc_informer *inf);
void krc_informer_stats(struct krc_informer *inf, struct krc_informer_stats *out);
/* Fault injection, for tests: abandons the current watch at once, without applying what is still
 * in flight, and starts the next one from resource_version; "1" makes the server answer 410 Gone,
 * which must end in a relist delivered as the difference. KRC_EINVAL if not running or too long. */
int krc_informer_force_rewatch(struct krc_informer *inf, const char *resource_version,
                               struct krc_error *err);
/* Stops the thread and joins it (idempotent). A watch stops within about a second; a list page
 * in flight is finished first, since the client's list cannot be cancelled. */
void krc_informer_stop(struct krc_informer *inf);
/* Stops if needed and frees everything, the store included. */
void krc_informer_free(struct krc_informer *inf);

#endif
