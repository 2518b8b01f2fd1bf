/* workqueue.c - the controller work queue (see workqueue.h for the contract) and its workers.
 *
 * One allocation per key: a struct wq_item holds the key bytes and all of the key's state (flags
 * DIRTY = must be processed, PROCESSING = held by a worker, PARKED = in the delay heap), plus the
 * links of the three structures that reference it:
 *   - a chained hash table of every live item (the dedup set): O(1) average lookup, 8 bytes a slot,
 *     grown at load factor 1, never shrunk;
 *   - an intrusive FIFO of items that are DIRTY and not PROCESSING: O(1) push and pop, no memory;
 *   - a binary min-heap of PARKED items ordered by (ready time, parking order): O(log n) park and
 *     unpark, one pointer per parked key. A parked key keeps its earliest time, as in client-go.
 * An item is freed as soon as none of the three flags is set. client-go keeps the same state in
 * several maps and a slice, each holding its own reference to the key.
 *
 * There is no timer thread (client-go runs a waitingLoop goroutine): get() moves due keys from the
 * heap to the FIFO itself, and a getter with nothing to do sleeps until the earliest parked time.
 * Every blocked getter sleeps with that deadline and a new earliest time wakes them all, so nothing
 * depends on which getter the clock belongs to; the cost is that all idle workers wake at each
 * due time, fine for the handful of workers a controller runs.
 *
 * Locking: one mutex per queue; the rate limiter has its own and is never called with the queue
 * lock held. A pthread call failing on an initialised object is a broken invariant: it aborts. */
#include "kube/workqueue.h"

#include "util/hash.h"
#include "util/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WQ_MIN_SLOTS      64
#define WQ_MIN_HEAP       16
#define MAX_WAIT_SLICE_NS (3600 * KRC_NS_PER_SEC) /* cap per timed wait; callers loop */

enum { ITEM_DIRTY = 1, ITEM_PROCESSING = 2, ITEM_PARKED = 4 };

struct wq_item {
    struct wq_item *hnext; /* hash chain */
    struct wq_item *qnext; /* FIFO link, while queued */
    int64_t ready_at;      /* while parked */
    uint64_t seq;          /* while parked: ties in ready_at keep parking order */
    size_t heap_idx;       /* while parked */
    uint32_t hash;
    unsigned flags;
    char key[];
};

struct krc_workqueue {
    pthread_mutex_t mu;
    pthread_cond_t ready; /* a key was queued, the earliest parked time moved, or shutdown */
    pthread_cond_t idle;  /* shutting down and nothing queued or processing */
    char *name;
    struct krc_ratelimiter *limiter;
    struct krc_ratelimiter own_limiter;
    int owns_limiter;
    int64_t (*now_ns)(void *clock_ctx);
    void *clock_ctx;

    struct wq_item **slots; /* hash table of all items */
    size_t nslots, nkeys;
    struct wq_item *head, *tail; /* FIFO */
    size_t depth;
    struct wq_item **heap; /* parked items */
    size_t nparked, heap_cap;
    uint64_t park_seq;
    size_t processing;
    int getters_blocked;
    int shutting_down;
};

struct krc_workqueue_workers {
    struct krc_workqueue *q;
    krc_workqueue_reconcile_fn fn;
    void *ctx;
    /* Set by krc_workqueue_abort_workers(): workers finish the key they hold and take no other. */
    atomic_int stopping;
    int n;
    pthread_t threads[];
};

static void must(int rc, const char *call)
{
    if (rc == 0)
        return;
    char num[16];
    snprintf(num, sizeof(num), "%d", rc);
    KRC_LOG_ERROR("workqueue: pthread call failed", "call", call, "errno", num);
    abort();
}

static void lock(struct krc_workqueue *q)
{
    must(pthread_mutex_lock(&q->mu), "pthread_mutex_lock");
}

static void unlock(struct krc_workqueue *q)
{
    must(pthread_mutex_unlock(&q->mu), "pthread_mutex_unlock");
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    must(clock_gettime(CLOCK_MONOTONIC, &ts) == 0 ? 0 : errno, "clock_gettime");
    return (int64_t)ts.tv_sec * KRC_NS_PER_SEC + ts.tv_nsec;
}

static int64_t default_now_ns(void *clock_ctx)
{
    (void)clock_ctx;
    return monotonic_ns();
}

static int64_t queue_now(struct krc_workqueue *q)
{
    return q->now_ns(q->clock_ctx);
}

static int pthread_err(int rc)
{
    return rc == ENOMEM || rc == EAGAIN ? KRC_ENOMEM : KRC_EIO;
}

/* Sleeps on cond for at most ns of CLOCK_MONOTONIC (the caller loops and re-checks). */
static void cond_wait_ns(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t ns)
{
    if (ns > MAX_WAIT_SLICE_NS)
        ns = MAX_WAIT_SLICE_NS;
    if (ns < 1)
        ns = 1;
    int64_t deadline = monotonic_ns() + ns;
    struct timespec ts = {.tv_sec = (time_t)(deadline / KRC_NS_PER_SEC),
                          .tv_nsec = (long)(deadline % KRC_NS_PER_SEC)};
    int rc = pthread_cond_timedwait(cond, mu, &ts);
    if (rc != ETIMEDOUT)
        must(rc, "pthread_cond_timedwait");
}

static int key_ok(const char *key)
{
    return key && strnlen(key, KRC_WORKQUEUE_KEY_MAX + 1) <= KRC_WORKQUEUE_KEY_MAX;
}

/* ---- the item table ---- */

/* util/hash.h's FNV-1a, folded to the 32 bits an item keeps (the table is far smaller). */
static uint32_t hash_key(const char *key)
{
    uint64_t h = krc_fnv1a64_str(KRC_FNV1A64_INIT, key);
    return (uint32_t)(h ^ (h >> 32));
}

/* The link pointing at key's item, or the NULL link ending its chain. */
static struct wq_item **item_link(struct krc_workqueue *q, const char *key, uint32_t hash)
{
    struct wq_item **link = &q->slots[hash & (q->nslots - 1)];
    while (*link && ((*link)->hash != hash || strcmp((*link)->key, key) != 0))
        link = &(*link)->hnext;
    return link;
}

static struct wq_item *item_find(struct krc_workqueue *q, const char *key)
{
    return *item_link(q, key, hash_key(key));
}

/* Doubles the table; on allocation failure keeps the old one (longer chains, still correct). */
static void table_grow(struct krc_workqueue *q)
{
    size_t n = q->nslots * 2;
    struct wq_item **slots = calloc(n, sizeof(*slots));
    if (!slots)
        return;
    for (size_t i = 0; i < q->nslots; i++) {
        struct wq_item *it = q->slots[i];
        while (it) {
            struct wq_item *next = it->hnext;
            it->hnext = slots[it->hash & (n - 1)];
            slots[it->hash & (n - 1)] = it;
            it = next;
        }
    }
    free(q->slots);
    q->slots = slots;
    q->nslots = n;
}

static int item_get(struct krc_workqueue *q, const char *key, struct wq_item **out)
{
    uint32_t hash = hash_key(key);
    struct wq_item **link = item_link(q, key, hash);
    if (*link) {
        *out = *link;
        return 0;
    }
    size_t len = strlen(key);
    struct wq_item *it = malloc(sizeof(*it) + len + 1);
    if (!it)
        return KRC_ENOMEM;
    memset(it, 0, sizeof(*it));
    it->hash = hash;
    memcpy(it->key, key, len + 1);
    *link = it;
    q->nkeys++;
    if (q->nkeys > q->nslots)
        table_grow(q);
    *out = it;
    return 0;
}

/* Frees it once nothing references it any more. */
static void item_release_if_idle(struct krc_workqueue *q, struct wq_item *it)
{
    if (it->flags)
        return;
    struct wq_item **link = item_link(q, it->key, it->hash);
    *link = it->hnext;
    q->nkeys--;
    free(it);
}

/* ---- FIFO ---- */

static void fifo_push(struct krc_workqueue *q, struct wq_item *it)
{
    it->qnext = NULL;
    if (q->tail)
        q->tail->qnext = it;
    else
        q->head = it;
    q->tail = it;
    q->depth++;
    must(pthread_cond_signal(&q->ready), "pthread_cond_signal");
}

static struct wq_item *fifo_pop(struct krc_workqueue *q)
{
    struct wq_item *it = q->head;
    q->head = it->qnext;
    if (!q->head)
        q->tail = NULL;
    it->qnext = NULL;
    q->depth--;
    return it;
}

/* client-go's Add on an item: mark dirty; queue it unless already queued or being processed. */
static void item_enqueue(struct krc_workqueue *q, struct wq_item *it)
{
    if (it->flags & ITEM_DIRTY)
        return;
    it->flags |= ITEM_DIRTY;
    if (!(it->flags & ITEM_PROCESSING))
        fifo_push(q, it);
}

/* ---- delay heap ---- */

static int heap_less(const struct wq_item *a, const struct wq_item *b)
{
    return a->ready_at < b->ready_at || (a->ready_at == b->ready_at && a->seq < b->seq);
}

static void heap_set(struct krc_workqueue *q, size_t i, struct wq_item *it)
{
    q->heap[i] = it;
    it->heap_idx = i;
}

static void heap_sift_up(struct krc_workqueue *q, size_t i)
{
    struct wq_item *it = q->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(it, q->heap[parent]))
            break;
        heap_set(q, i, q->heap[parent]);
        i = parent;
    }
    heap_set(q, i, it);
}

static void heap_sift_down(struct krc_workqueue *q, size_t i)
{
    struct wq_item *it = q->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= q->nparked)
            break;
        if (child + 1 < q->nparked && heap_less(q->heap[child + 1], q->heap[child]))
            child++;
        if (!heap_less(q->heap[child], it))
            break;
        heap_set(q, i, q->heap[child]);
        i = child;
    }
    heap_set(q, i, it);
}

static struct wq_item *heap_pop(struct krc_workqueue *q)
{
    struct wq_item *top = q->heap[0];
    q->nparked--;
    if (q->nparked > 0) {
        heap_set(q, 0, q->heap[q->nparked]);
        heap_sift_down(q, 0);
    }
    top->flags &= ~(unsigned)ITEM_PARKED;
    return top;
}

/* Parks it until ready_at, or moves its time earlier if it is already parked later. */
static int item_park(struct krc_workqueue *q, struct wq_item *it, int64_t ready_at)
{
    if (it->flags & ITEM_PARKED) {
        if (ready_at >= it->ready_at)
            return 0;
        it->ready_at = ready_at;
        heap_sift_up(q, it->heap_idx);
    } else {
        if (q->nparked == q->heap_cap) {
            size_t cap = q->heap_cap ? q->heap_cap * 2 : WQ_MIN_HEAP;
            struct wq_item **heap = realloc(q->heap, cap * sizeof(*heap));
            if (!heap)
                return KRC_ENOMEM;
            q->heap = heap;
            q->heap_cap = cap;
        }
        it->ready_at = ready_at;
        it->seq = q->park_seq++;
        it->flags |= ITEM_PARKED;
        heap_set(q, q->nparked++, it);
        heap_sift_up(q, it->heap_idx);
    }
    /* Sleeping getters wait for the old earliest time; make them look again. */
    if (q->heap[0] == it)
        must(pthread_cond_broadcast(&q->ready), "pthread_cond_broadcast");
    return 0;
}

/* Queues every parked key whose time has come. */
static void unpark_due(struct krc_workqueue *q, int64_t now)
{
    while (q->nparked > 0 && q->heap[0]->ready_at <= now)
        item_enqueue(q, heap_pop(q));
}

/* ---- queue ---- */

int krc_workqueue_new(const struct krc_workqueue_opts *opts, struct krc_workqueue **out,
                      struct krc_error *err)
{
    static const struct krc_workqueue_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    const char *name = opts->name ? opts->name : "workqueue";
    int rc = KRC_ENOMEM;
    int have_mu = 0, have_ready = 0, have_idle = 0;
    pthread_condattr_t attr;
    int have_attr = 0;

    struct krc_workqueue *q = calloc(1, sizeof(*q));
    if (!q)
        goto err;
    q->name = strdup(name);
    q->slots = calloc(WQ_MIN_SLOTS, sizeof(*q->slots));
    if (!q->name || !q->slots)
        goto err;
    q->nslots = WQ_MIN_SLOTS;
    q->now_ns = opts->now_ns ? opts->now_ns : default_now_ns;
    q->clock_ctx = opts->clock_ctx;

    int prc = pthread_mutex_init(&q->mu, NULL);
    if (prc)
        goto err_pthread;
    have_mu = 1;
    prc = pthread_condattr_init(&attr);
    if (prc)
        goto err_pthread;
    have_attr = 1;
    prc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (prc)
        goto err_pthread;
    prc = pthread_cond_init(&q->ready, &attr);
    if (prc)
        goto err_pthread;
    have_ready = 1;
    prc = pthread_cond_init(&q->idle, &attr);
    if (prc)
        goto err_pthread;
    have_idle = 1;
    must(pthread_condattr_destroy(&attr), "pthread_condattr_destroy");
    have_attr = 0;

    if (opts->limiter) {
        q->limiter = opts->limiter;
    } else {
        rc = krc_ratelimiter_init_default(&q->own_limiter);
        if (rc)
            goto err;
        q->limiter = &q->own_limiter;
        q->owns_limiter = 1;
    }
    *out = q;
    return 0;

err_pthread:
    rc = pthread_err(prc);
err:
    if (have_attr)
        must(pthread_condattr_destroy(&attr), "pthread_condattr_destroy");
    if (have_idle)
        must(pthread_cond_destroy(&q->idle), "pthread_cond_destroy");
    if (have_ready)
        must(pthread_cond_destroy(&q->ready), "pthread_cond_destroy");
    if (have_mu)
        must(pthread_mutex_destroy(&q->mu), "pthread_mutex_destroy");
    if (q) {
        free(q->slots);
        free(q->name);
        free(q);
    }
    return krc_error_set(err, rc, "workqueue %s: create: %s", name, krc_strerror(rc));
}

void krc_workqueue_free(struct krc_workqueue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->nslots; i++) {
        struct wq_item *it = q->slots[i];
        while (it) {
            struct wq_item *next = it->hnext;
            free(it);
            it = next;
        }
    }
    free(q->slots);
    free(q->heap);
    if (q->owns_limiter)
        krc_ratelimiter_destroy(&q->own_limiter);
    must(pthread_cond_destroy(&q->idle), "pthread_cond_destroy");
    must(pthread_cond_destroy(&q->ready), "pthread_cond_destroy");
    must(pthread_mutex_destroy(&q->mu), "pthread_mutex_destroy");
    free(q->name);
    free(q);
}

int krc_workqueue_add_after(struct krc_workqueue *q, const char *key, int64_t delay_ns)
{
    if (!key_ok(key))
        return KRC_EINVAL;
    int64_t ready_at = 0;
    if (delay_ns > 0) {
        int64_t now = queue_now(q);
        ready_at = now > 0 && delay_ns > INT64_MAX - now ? INT64_MAX : now + delay_ns;
    }
    int rc = KRC_ECANCELED;
    struct wq_item *it;
    lock(q);
    if (q->shutting_down)
        goto out;
    rc = item_get(q, key, &it);
    if (rc)
        goto out;
    if (delay_ns <= 0) {
        item_enqueue(q, it);
    } else {
        rc = item_park(q, it, ready_at);
        if (rc)
            item_release_if_idle(q, it);
    }
out:
    unlock(q);
    return rc;
}

int krc_workqueue_add(struct krc_workqueue *q, const char *key)
{
    return krc_workqueue_add_after(q, key, 0);
}

int krc_workqueue_add_rate_limited(struct krc_workqueue *q, const char *key)
{
    if (!key_ok(key))
        return KRC_EINVAL;
    /* Not a failure to count once the queue is going away (racy, but only an optimisation). */
    if (krc_workqueue_shutting_down(q))
        return KRC_ECANCELED;
    int64_t delay;
    int rc = krc_ratelimiter_when_at(q->limiter, key, queue_now(q), &delay);
    if (rc)
        return rc;
    return krc_workqueue_add_after(q, key, delay);
}

void krc_workqueue_forget(struct krc_workqueue *q, const char *key)
{
    krc_ratelimiter_forget(q->limiter, key);
}

int krc_workqueue_num_requeues(struct krc_workqueue *q, const char *key)
{
    return krc_ratelimiter_num_requeues(q->limiter, key);
}

static int get_locked(struct krc_workqueue *q, const char **key, int block)
{
    for (;;) {
        int64_t now = q->nparked ? queue_now(q) : 0;
        unpark_due(q, now);
        if (q->head)
            break;
        if (q->shutting_down)
            return KRC_ECANCELED;
        if (!block)
            return KRC_ENOTFOUND;
        q->getters_blocked++;
        if (q->nparked)
            cond_wait_ns(&q->ready, &q->mu, q->heap[0]->ready_at - now);
        else
            must(pthread_cond_wait(&q->ready, &q->mu), "pthread_cond_wait");
        q->getters_blocked--;
    }
    struct wq_item *it = fifo_pop(q);
    it->flags = (it->flags & ~(unsigned)ITEM_DIRTY) | ITEM_PROCESSING;
    q->processing++;
    *key = it->key;
    return 0;
}

int krc_workqueue_get(struct krc_workqueue *q, const char **key)
{
    lock(q);
    int rc = get_locked(q, key, 1);
    unlock(q);
    return rc;
}

int krc_workqueue_try_get(struct krc_workqueue *q, const char **key)
{
    lock(q);
    int rc = get_locked(q, key, 0);
    unlock(q);
    return rc;
}

void krc_workqueue_done(struct krc_workqueue *q, const char *key)
{
    int unknown = 0;
    lock(q);
    struct wq_item *it = item_find(q, key);
    if (!it || !(it->flags & ITEM_PROCESSING)) {
        unknown = 1;
        goto out;
    }
    it->flags &= ~(unsigned)ITEM_PROCESSING;
    q->processing--;
    if (it->flags & ITEM_DIRTY)
        fifo_push(q, it);
    else
        item_release_if_idle(q, it); /* it and key are gone from here on */
    if (q->shutting_down && q->processing == 0 && q->depth == 0)
        must(pthread_cond_broadcast(&q->idle), "pthread_cond_broadcast");
out:
    unlock(q);
    if (unknown)
        KRC_LOG_WARN("workqueue: done() for a key that is not being processed", "queue", q->name,
                     "key", key);
}

size_t krc_workqueue_len(struct krc_workqueue *q)
{
    lock(q);
    unpark_due(q, q->nparked ? queue_now(q) : 0);
    size_t n = q->depth;
    unlock(q);
    return n;
}

void krc_workqueue_stats(struct krc_workqueue *q, struct krc_workqueue_stats *st)
{
    lock(q);
    unpark_due(q, q->nparked ? queue_now(q) : 0);
    st->depth = q->depth;
    st->processing = q->processing;
    st->parked = q->nparked;
    st->keys = q->nkeys;
    st->getters_blocked = q->getters_blocked;
    st->shutting_down = q->shutting_down;
    unlock(q);
}

void krc_workqueue_shutdown(struct krc_workqueue *q)
{
    lock(q);
    q->shutting_down = 1;
    while (q->nparked > 0)
        item_release_if_idle(q, heap_pop(q));
    must(pthread_cond_broadcast(&q->ready), "pthread_cond_broadcast");
    unlock(q);
}

void krc_workqueue_shutdown_with_drain(struct krc_workqueue *q)
{
    krc_workqueue_shutdown(q);
    lock(q);
    while (q->processing > 0 || q->depth > 0)
        must(pthread_cond_wait(&q->idle, &q->mu), "pthread_cond_wait");
    unlock(q);
}

int krc_workqueue_shutting_down(struct krc_workqueue *q)
{
    lock(q);
    int s = q->shutting_down;
    unlock(q);
    return s;
}

/* ---- workers ---- */

/* One reconcile of key, then the requeue decision, as controller-runtime's reconcileHandler:
 * error -> rate-limited retry; success -> forget, and re-add after requeue_after if asked. */
static void worker_process(struct krc_workqueue_workers *w, const char *key)
{
    struct krc_workqueue *q = w->q;
    int64_t requeue_after_ns = 0;
    int rc = w->fn(w->ctx, key, &requeue_after_ns);
    int qrc = 0;
    if (rc != 0) {
        KRC_LOG_ERROR("reconcile failed; retrying with backoff", "queue", q->name, "key", key,
                      "error", krc_strerror(rc));
        qrc = krc_workqueue_add_rate_limited(q, key);
    } else {
        krc_workqueue_forget(q, key);
        if (requeue_after_ns > 0)
            qrc = krc_workqueue_add_after(q, key, requeue_after_ns);
    }
    if (qrc != 0 && qrc != KRC_ECANCELED)
        KRC_LOG_ERROR("requeue failed; the key waits for its next event", "queue", q->name, "key",
                      key, "error", krc_strerror(qrc));
    krc_workqueue_done(q, key);
}

static void *worker_main(void *arg)
{
    struct krc_workqueue_workers *w = arg;
    const char *key;
    while (!atomic_load(&w->stopping) && krc_workqueue_get(w->q, &key) == 0) {
        if (atomic_load(&w->stopping)) {
            krc_workqueue_done(w->q, key);
            break;
        }
        worker_process(w, key);
    }
    return NULL;
}

int krc_workqueue_start_workers(struct krc_workqueue *q, int n, krc_workqueue_reconcile_fn fn,
                                void *ctx, struct krc_workqueue_workers **out,
                                struct krc_error *err)
{
    if (n < 1 || !fn)
        return krc_error_set(err, KRC_EINVAL,
                             "workqueue %s: start %d workers: need n >= 1 and a reconcile function",
                             q->name, n);
    struct krc_workqueue_workers *w = malloc(sizeof(*w) + (size_t)n * sizeof(w->threads[0]));
    if (!w)
        return krc_error_set(err, KRC_ENOMEM, "workqueue %s: start %d workers: out of memory",
                             q->name, n);
    w->q = q;
    w->fn = fn;
    w->ctx = ctx;
    atomic_init(&w->stopping, 0);
    w->n = 0;
    int rc = 0;
    for (; w->n < n; w->n++) {
        rc = pthread_create(&w->threads[w->n], NULL, worker_main, w);
        if (rc)
            goto err;
    }
    *out = w;
    return 0;

err:;
    char msg[128];
    if (strerror_r(rc, msg, sizeof(msg)) != 0)
        snprintf(msg, sizeof(msg), "error %d", rc);
    krc_error_set(err, pthread_err(rc), "workqueue %s: start worker %d of %d: %s", q->name,
                  w->n + 1, n, msg);
    if (w->n > 0)
        krc_workqueue_stop_workers(w);
    else
        free(w);
    return pthread_err(rc);
}

void krc_workqueue_abort_workers(struct krc_workqueue_workers *w)
{
    /* Before the shutdown, so that a worker woken by it sees the flag. */
    atomic_store(&w->stopping, 1);
    krc_workqueue_stop_workers(w);
}

void krc_workqueue_stop_workers(struct krc_workqueue_workers *w)
{
    krc_workqueue_shutdown(w->q);
    for (int i = 0; i < w->n; i++)
        must(pthread_join(w->threads[i], NULL), "pthread_join");
    free(w);
}
