/* controller_runtime.h - what the RayCluster, RayJob and RayCronJob controllers share to run
 * (operator-runtime §8.3), so that each keeps only its own reconcile:
 *   - the namespaces of --watch-namespace and the informers a controller keeps in each;
 *   - start (informers, cache sync, workers) and stop of a controller;
 *   - work queue keys ("ns/name");
 *   - the controller_runtime_reconcile_total counters and the Events on a reconciled object.
 *
 * A controller parses its --watch-namespace value once (controller_runtime_init), creates its
 * informers for each namespace entry through controller_runtime_informer (or registers one that
 * another controller owns with controller_runtime_borrow); controller_runtime_start then starts
 * every owned informer, waits for every cache to sync and starts the workers;
 * controller_runtime_stop and controller_runtime_release undo it.
 *
 * The namespace list (controller_runtime_parse, pure): comma-separated; each entry loses its
 * leading spaces (only spaces, only leading ones); empty entries are skipped; a namespace listed
 * again is dropped (one set of informers each); no entry at all (NULL, "", ",, ,") means one NULL
 * entry: all namespaces. */
#ifndef KRC_CONTROLLER_CONTROLLER_RUNTIME_H
#define KRC_CONTROLLER_CONTROLLER_RUNTIME_H

#include "api/json_field.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/workqueue.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* How long start waits for each cache's first list (operator-runtime §8.3). */
#define CONTROLLER_RUNTIME_CACHE_SYNC_TIMEOUT_MS (2 * 60 * 1000)
/* The size of the buffers controller_runtime_split_key fills (names are at most 253 bytes). */
#define CONTROLLER_RUNTIME_NAME_MAX 254

/* One informer of a runtime and the namespace entry it serves; a borrowed one belongs to another
 * controller, which starts, stops and frees it (start only waits for its sync). */
struct controller_runtime_cache {
    struct krc_informer *inf;
    size_t ns_index;
    bool borrowed;
};

/* The result label of controller_runtime_reconcile_total. */
enum controller_runtime_result {
    CONTROLLER_RUNTIME_SUCCESS,
    CONTROLLER_RUNTIME_ERROR,
    CONTROLLER_RUNTIME_REQUEUE_AFTER,
    CONTROLLER_RUNTIME_NRESULTS
};

struct controller_runtime {
    const char *controller; /* "raycluster": metric label, error messages (not copied) */
    struct krc_client *client;
    struct krc_workqueue *queue; /* the controller's, not freed here */
    char **ns;                   /* the parsed list; a NULL entry: all namespaces */
    size_t nns;
    struct controller_runtime_cache *caches; /* in registration order: start and stop follow it */
    size_t ncaches, capcaches;
    struct krc_workqueue_workers *workers;
    atomic_ullong results[CONTROLLER_RUNTIME_NRESULTS]; /* controller_runtime_reconcile_total */
};

/* Splits list (NULL is "") as described above into *ns (*nns >= 1 entries, each strdup'ed or
 * NULL). 0 or KRC_ENOMEM (then nothing is allocated). */
int controller_runtime_parse(const char *list, char ***ns, size_t *nns, struct krc_error *err);
/* Frees what controller_runtime_parse returned. */
void controller_runtime_free_list(char **ns, size_t nns);

/* Fills rt (zeroed first) with the parsed watch_namespaces; client and queue are borrowed. 0 or
 * KRC_ENOMEM ("<controller> controller: out of memory"). */
int controller_runtime_init(struct controller_runtime *rt, const char *controller,
                            struct krc_client *client, struct krc_workqueue *queue,
                            const char *watch_namespaces, struct krc_error *err);

/* The index of the first namespace entry that covers ns (a NULL entry covers every namespace),
 * or -1. */
long controller_runtime_find(const struct controller_runtime *rt, const char *ns);

/* Creates an informer for namespace entry i (opts->namespace is set from it), adds h to it and
 * keeps it in rt; *out receives it. On failure *out is NULL and nothing is kept. */
int controller_runtime_informer(struct controller_runtime *rt, size_t i,
                                struct krc_informer_options *opts,
                                const struct krc_informer_handlers *h, struct krc_informer **out,
                                struct krc_error *err);
/* Keeps inf (another controller's) in rt for namespace entry i: start waits for its sync. */
int controller_runtime_borrow(struct controller_runtime *rt, size_t i, struct krc_informer *inf,
                              struct krc_error *err);

/* Fails with a clear message when the CRD of res is not installed: one list call (limit 1) in the
 * first namespace entry. what: e.g. "RayJob"; crd: e.g. "rayjobs.ray.io". */
int controller_runtime_check_crd(const struct controller_runtime *rt,
                                 const struct krc_resource *res, const char *what, const char *crd,
                                 struct krc_error *err);

/* Starts every owned informer, waits for every cache to sync
 * (CONTROLLER_RUNTIME_CACHE_SYNC_TIMEOUT_MS each), then starts workers (<= 0: one) running
 * fn(ctx, key, ...). */
int controller_runtime_start(struct controller_runtime *rt, int workers,
                             krc_workqueue_reconcile_fn fn, void *ctx, struct krc_error *err);
/* Aborts the workers (or shuts the queue down when there are none) and stops every owned
 * informer. Idempotent. */
void controller_runtime_stop(struct controller_runtime *rt);
/* Stops, then frees the owned informers and the namespace list (not the queue). */
void controller_runtime_release(struct controller_runtime *rt);

/* Splits a work queue key "ns/name" at its first slash into ns and name (each
 * CONTROLLER_RUNTIME_NAME_MAX bytes). false when there is no slash or a part is too long: not a
 * key a controller made. */
bool controller_runtime_split_key(const char *key, char ns[CONTROLLER_RUNTIME_NAME_MAX],
                                  char name[CONTROLLER_RUNTIME_NAME_MAX]);

/* Counts one reconcile (thread-safe). */
void controller_runtime_count(struct controller_runtime *rt, enum controller_runtime_result result);
/* Appends the three controller_runtime_reconcile_total series of rt's controller to out, after
 * the metric's HELP and TYPE lines when help (once per exposition). 0 or KRC_ENOMEM. */
int controller_runtime_reconcile_total(struct controller_runtime *rt, bool help,
                                       struct krc_strbuf *out);

/* A cached object back to a document a parser reads: apiVersion, kind, metadata (name,
 * namespace, uid, resourceVersion, generation, deletionTimestamp, labels) and, for each i <
 * npaths, the value the informer keeps at projection path i set at the dotted path paths[i]
 * (absent values are left out). A new object, or NULL when out of memory. The RayService
 * controller's reader; the RayCluster and RayJob controllers still keep their own copies. */
json_t *controller_runtime_object_doc(const struct krc_object *o, const char *api_version,
                                      const char *kind, const char *const *paths, size_t npaths);

/* Logs an Event on the ray.io/v1 object kind/meta and records it with ev (NULL: only logged);
 * best effort by design (events.h: the recorder counts and logs drops). */
void controller_runtime_eventv(struct krc_events *ev, const char *kind,
                               const struct json_field_objmeta *meta, enum krc_event_type type,
                               const char *reason, const char *action, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));

#endif
