/* workqueue.h - the controller work queue, with client-go's workqueue semantics.
 *
 * Items are keys ("namespace/name"). The contract a controller relies on:
 *   - a key is queued at most once: adding a key that is already waiting for a worker is a no-op;
 *   - a key is never handed to two workers at once: a key added while a worker holds it is queued
 *     again, once, when that worker calls krc_workqueue_done();
 *   - krc_workqueue_add_after() parks the key until its time, keeping the earliest time if the key
 *     is already parked; krc_workqueue_add_rate_limited() parks it for the rate limiter's delay
 *     (krc_ratelimiter: per-key exponential backoff, max with an overall token bucket);
 *   - after krc_workqueue_shutdown() adds are dropped (KRC_ECANCELED), parked keys are dropped, and
 *     krc_workqueue_get() keeps handing out keys already queued, then returns KRC_ECANCELED. So a
 *     shutdown drains the queue, as in client-go.
 *
 * Ownership: the queue copies keys. The key returned by get() points into the queue's memory and
 * stays valid until done() for that key. All functions are thread-safe; krc_workqueue_free() only
 * when no thread uses the queue any more (stop workers first). */
#ifndef KRC_KUBE_WORKQUEUE_H
#define KRC_KUBE_WORKQUEUE_H

#include "kube/ratelimit.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

/* Longer keys are rejected with KRC_EINVAL (a namespace/name is at most 63 + 1 + 253 bytes). */
#define KRC_WORKQUEUE_KEY_MAX 1024

struct krc_workqueue;

struct krc_workqueue_opts {
    const char *name;                /* for logs and errors, e.g. "raycluster"; copied */
    struct krc_ratelimiter *limiter; /* borrowed, must outlive the queue; NULL = the queue owns one
                                        with client-go's defaults */
    int64_t (*now_ns)(void *clock_ctx); /* NULL = CLOCK_MONOTONIC; tests inject a fake clock.
                                           Called from any thread, with the queue locked: it
                                           must be cheap, never block, never go backwards. */
    void *clock_ctx;
};

struct krc_workqueue_stats {
    size_t depth;        /* keys waiting for a worker (what krc_workqueue_len returns) */
    size_t processing;   /* keys held by workers */
    size_t parked;       /* keys waiting for their add_after time */
    size_t keys;         /* distinct keys known to the queue (each one allocation) */
    int getters_blocked; /* threads asleep in krc_workqueue_get() */
    int shutting_down;
};

/* opts may be NULL (all defaults). 0, KRC_ENOMEM or KRC_EIO. */
int krc_workqueue_new(const struct krc_workqueue_opts *opts, struct krc_workqueue **out,
                      struct krc_error *err);
void krc_workqueue_free(struct krc_workqueue *q);

/* 0; KRC_ECANCELED after shutdown (the key is dropped; callers may treat it as success);
 * KRC_EINVAL for a key over KRC_WORKQUEUE_KEY_MAX; KRC_ENOMEM (the key is not queued). */
int krc_workqueue_add(struct krc_workqueue *q, const char *key);
/* As add, once delay_ns has passed (delay_ns <= 0 adds now). */
int krc_workqueue_add_after(struct krc_workqueue *q, const char *key, int64_t delay_ns);
/* Records a failure of key with the rate limiter and adds it after the limiter's delay. */
int krc_workqueue_add_rate_limited(struct krc_workqueue *q, const char *key);
/* Clears key's failure history (call on success); the queue itself is unaffected. */
void krc_workqueue_forget(struct krc_workqueue *q, const char *key);
/* Failures recorded for key since it was last forgotten. */
int krc_workqueue_num_requeues(struct krc_workqueue *q, const char *key);

/* Blocks until a key is ready, marks it as processing and stores it in *key; 0, or KRC_ECANCELED
 * once the queue is shut down and empty. Every 0 must be followed by done() for that key. */
int krc_workqueue_get(struct krc_workqueue *q, const char **key);
/* As get, without blocking: KRC_ENOTFOUND when no key is ready now (KRC_ECANCELED after
 * shutdown, as get). */
int krc_workqueue_try_get(struct krc_workqueue *q, const char **key);
/* The worker is finished with key; if it was added meanwhile, it is queued again. */
void krc_workqueue_done(struct krc_workqueue *q, const char *key);

/* Keys waiting for a worker (not those processing or parked). */
size_t krc_workqueue_len(struct krc_workqueue *q);
void krc_workqueue_stats(struct krc_workqueue *q, struct krc_workqueue_stats *st);

/* Stops accepting keys and wakes every blocked get(). Idempotent. */
void krc_workqueue_shutdown(struct krc_workqueue *q);
/* shutdown(), then waits until no key is queued or being processed (client-go's
 * ShutDownWithDrain, which also waits for the queued keys its workers are still taking); so it
 * needs running workers if keys are still queued. */
void krc_workqueue_shutdown_with_drain(struct krc_workqueue *q);
int krc_workqueue_shutting_down(struct krc_workqueue *q);

/* ---- workers ---- */

/* A reconcile: 0 on success, a negative KRC_E* code on failure (the key is retried with
 * rate-limited backoff; the callback logs its own detail). On success it may set
 * *requeue_after_ns > 0 to look at the key again after that long (the backoff is reset).
 * *requeue_after_ns is 0 on entry. Called from worker threads, never twice at once for one key. */
typedef int (*krc_workqueue_reconcile_fn)(void *ctx, const char *key, int64_t *requeue_after_ns);

struct krc_workqueue_workers;

/* Starts n threads, each looping get -> fn -> requeue/forget -> done until get() returns
 * KRC_ECANCELED. 0, KRC_EINVAL, KRC_ENOMEM or KRC_EIO; on failure no thread is left running (if
 * some had started, the queue was shut down to stop them). */
int krc_workqueue_start_workers(struct krc_workqueue *q, int n, krc_workqueue_reconcile_fn fn,
                                void *ctx, struct krc_workqueue_workers **out,
                                struct krc_error *err);
/* Shuts the queue down, lets the workers finish the keys still queued, joins them and frees w. */
void krc_workqueue_stop_workers(struct krc_workqueue_workers *w);
/* Shuts the queue down, lets each worker finish the key it holds (no other), joins them and
 * frees w; keys still queued are dropped. This is the operator's shutdown: it must not wait for a
 * long queue to drain, and dropping keys is safe because reconciles are level-triggered (the
 * informers' initial list queues every object again at the next start). */
void krc_workqueue_abort_workers(struct krc_workqueue_workers *w);

#endif
