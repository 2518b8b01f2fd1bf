/* events.h - the events recorder: Kubernetes Events about objects, written in the background,
 * repeats folded into one Event.
 *
 * krc_events_record() never blocks and never does I/O: it formats the note, folds the call into
 * the recorder's cache and, when a write is due, puts the cache entry on a bounded queue that one
 * worker thread drains. A full queue drops the event (counted, and logged at counts 1, 2, 4, 8...)
 * rather than slowing a reconcile, as client-go's broadcaster does.
 *
 * Aggregation, after client-go's EventSeries (tools/events): calls that name the same object
 * (apiVersion, kind, namespace, name, uid, fieldPath), type, reason, action and note within the
 * series window of the previous one are one Event. The first is created; later ones PATCH the
 * Event's series {count, lastObservedTime} (core/v1: count and lastTimestamp). Two departures from
 * client-go, both deliberate:
 *   - client-go writes a running series only every 30 minutes and when it ends; here each
 *     repetition queues a PATCH, and repetitions that arrive while one is queued share it. The
 *     count on the server is therefore current within one write, at the cost of one PATCH per
 *     burst of repetitions.
 *   - client-go's key leaves out the note and includes the object's resourceVersion; here the
 *     note is in the key (different messages are different Events, as in client-go's core/v1
 *     correlator) and the resourceVersion is not (an object that changed between two identical
 *     events still gets one series). The Event keeps the first resourceVersion seen.
 * The cache is an LRU of at most cache_size entries; an entry waiting for or in a write is never
 * evicted. A series ends after series_window_ns without a repetition (client-go's 6 minutes):
 * the next call starts a new Event. A PATCH that finds the Event gone (the API server deletes
 * Events after its --event-ttl, 1 h by default) creates it again.
 *
 * Writes are not retried beyond what the client does itself (429 and connection errors, with
 * backoff); a refused or failed write is logged and counted, and the next repetition of the event
 * writes the full count. client-go retries a write up to 12 times, 10 s apart; the cost of not
 * doing so is that an event that never repeats is lost when its one write fails.
 *
 * Two APIs: events.k8s.io/v1 (controllers, spec §8.1) and core/v1 (the leader-election Event,
 * spec §7). Event names are "<object name>.<hex of the wall clock in ns>", as client-go's, made
 * unique within a recorder and cut to the 253 characters the API allows.
 *
 * The note is never logged (it may quote user data); logs name the reason and the object. */
#ifndef KRC_KUBE_EVENTS_H
#define KRC_KUBE_EVENTS_H

#include "kube/client.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

#define KRC_EVENTS_NOTE_MAX              1024 /* the API's limit on note; longer notes are cut */
#define KRC_EVENTS_FIELD_MAX             128  /* reason, action, reportingInstance limits */
#define KRC_EVENTS_NAME_MAX              253  /* an Event's metadata.name */
#define KRC_EVENTS_DEFAULT_QUEUE_SIZE    1000 /* client-go's maxQueuedEvents */
#define KRC_EVENTS_DEFAULT_CACHE_SIZE    1024
#define KRC_EVENTS_DEFAULT_SERIES_WINDOW (6 * 60 * INT64_C(1000000000)) /* client-go finishTime */

struct krc_events;

enum krc_events_api {
    KRC_EVENTS_API_EVENTS_V1 = 0, /* events.k8s.io/v1 Event: regarding, note, series */
    KRC_EVENTS_API_CORE_V1,       /* v1 Event: involvedObject, message, count */
};

enum krc_event_type { KRC_EVENT_NORMAL = 0, KRC_EVENT_WARNING };

/* The object an event is about. The strings are copied by krc_events_record. */
struct krc_events_ref {
    const char *api_version;      /* "ray.io/v1", "v1"; required */
    const char *kind;             /* "RayCluster"; required */
    const char *ns;               /* NULL or "" for a cluster-scoped object (the Event goes in
                                     "default", as client-go does) */
    const char *name;             /* required */
    const char *uid;              /* NULL = unknown */
    const char *resource_version; /* NULL = unknown; not part of the dedup key */
    const char *field_path;       /* NULL; e.g. "spec.containers{ray-head}" */
};

/* Where writes go. The default sink is the client given to krc_events_new; unit tests pass their
 * own. Both calls return 0 or a negative KRC_E* code: KRC_EEXIST from create makes the recorder
 * pick a new name and create again, KRC_ENOTFOUND from patch makes it create the Event anew. */
struct krc_events_sink {
    int (*create)(void *ctx, const struct krc_resource *res, const char *ns, const char *body,
                  size_t len, struct krc_error *err);
    int (*patch)(void *ctx, const struct krc_resource *res, const char *ns, const char *name,
                 const char *body, size_t len, struct krc_error *err); /* a merge patch */
    void *ctx;
};

/* Zero means the default everywhere. */
struct krc_events_opts {
    enum krc_events_api api;
    const char *reporting_controller;   /* required: "raycluster-controller" (core/v1: the
                                           source component) */
    const char *reporting_instance;     /* NULL: events.k8s.io "<controller>-<hostname>";
                                           core/v1 none (controller-runtime sets no source host) */
    size_t queue_size;                  /* entries waiting for the worker */
    size_t cache_size;                  /* entries remembered for aggregation (LRU) */
    int64_t series_window_ns;           /* a repetition later than this starts a new Event */
    int64_t (*now_ns)(void *clock_ctx); /* wall clock (CLOCK_REALTIME ns) for timestamps,
                                           names and the window; NULL = the real one */
    void *clock_ctx;
    const struct krc_events_sink *sink; /* NULL = the client; copied */
    int no_worker; /* tests: start no thread; krc_events_drain() writes on the caller's thread */
};

struct krc_events_stats {
    uint64_t recorded;  /* calls accepted */
    uint64_t coalesced; /* of those, repetitions folded into an existing series */
    uint64_t dropped; /* calls refused because the queue (or a cache of pinned entries) was full */
    uint64_t created; /* successful creates */
    uint64_t patched; /* successful series patches */
    uint64_t failed;  /* writes that failed (logged) */
    size_t queued;    /* entries waiting for the worker now */
    size_t cached;    /* entries in the cache now */
};

/* Creates a recorder writing through client (borrowed: it must outlive the recorder; may be NULL
 * when opts->sink is given) and, unless opts->no_worker, starts its worker thread.
 * 0, KRC_EINVAL (a missing or invalid option), KRC_ENOMEM or KRC_EIO (thread creation). */
int krc_events_new(struct krc_client *client, const struct krc_events_opts *opts,
                   struct krc_events **out, struct krc_error *err);

/* Stops the worker after the write in progress (which the client's timeout bounds; call
 * krc_client_shutdown first to cut it short), drops what is still queued and frees everything.
 * Call krc_events_flush first to write pending events. NULL is a no-op. */
void krc_events_free(struct krc_events *rec);

/* Records an event about regarding: type Normal or Warning, reason (CamelCase, <= 128 bytes),
 * action (what was done or failed, <= 128 bytes; required for events.k8s.io, may be NULL for
 * core/v1) and a printf-style note (cut to KRC_EVENTS_NOTE_MAX bytes on a UTF-8 boundary; bytes
 * that are not UTF-8 become '?'). Thread-safe; never blocks on I/O.
 * 0 (queued or folded into a queued write); KRC_ETOOLARGE (dropped: the queue is full; counted);
 * KRC_EINVAL (a required field missing or too long); KRC_ENOMEM; KRC_ECANCELED (being freed).
 * Events are best effort: callers may ignore the result, the recorder counts and logs. */
int krc_events_record(struct krc_events *rec, const struct krc_events_ref *regarding,
                      enum krc_event_type type, const char *reason, const char *action,
                      const char *note_fmt, ...) __attribute__((format(printf, 6, 7)));

/* Waits until nothing is queued or being written, or timeout_ms passed. 0 or KRC_ETIMEOUT. With
 * no_worker it drains on the caller's thread instead. */
int krc_events_flush(struct krc_events *rec, long timeout_ms);

/* no_worker recorders: performs every queued write on the calling thread; returns how many. */
size_t krc_events_drain(struct krc_events *rec);

void krc_events_stats(struct krc_events *rec, struct krc_events_stats *out);

/* ---- helpers shared with leader.c and unit tests ---- */

/* Wall-clock ns as a Kubernetes MicroTime, "2006-01-02T15:04:05.000000Z" (buf >= 32 bytes), or
 * with micro = 0 as a Time, "2006-01-02T15:04:05Z". Returns buf. */
char *krc_events_format_time(int64_t wall_ns, int micro, char *buf, size_t size);

/* The real wall clock, CLOCK_REALTIME in ns. */
int64_t krc_events_wall_now(void);

/* Writes "<object name>.<hex>" into buf (size > KRC_EVENTS_NAME_MAX): the object name cut so the
 * whole is at most KRC_EVENTS_NAME_MAX characters, without a '.' or '-' left before the dot. */
void krc_events_make_name(const char *object_name, uint64_t suffix, char *buf, size_t size);

#endif
