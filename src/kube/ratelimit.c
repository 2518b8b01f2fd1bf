/* ratelimit.c - token bucket, per-key exponential backoff and the controller rate limiter.
 *
 * The bucket keeps a fractional token count refilled lazily from the elapsed time on each call
 * (no timer thread), like Go's rate.Limiter. The count may go negative: take() and the controller
 * limiter reserve their token on arrival and then wait for it to exist, which serves waiters in
 * arrival order and spreads simultaneous retries over time. Floating point is fine here (tokens are
 * small numbers); a tiny epsilon absorbs rounding so a caller who waited exactly the returned delay
 * always finds its token.
 *
 * The backoff remembers failures in a chained hash table with one allocation per key (the count
 * and the key bytes together). It grows at load factor 1 and never shrinks: the bucket array is
 * 8 bytes per slot, and keys leave it when forgotten. A pthread call that fails on an initialised
 * mutex is a broken invariant, not a runtime condition, so it aborts with a log line. */
#include "kube/ratelimit.h"

#include "util/hash.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKET_NEVER       INT64_MIN
#define TOKEN_EPSILON      1e-9
#define BACKOFF_MIN_SLOTS  16
#define MAX_WAIT_SLICE_NS  (3600 * KRC_NS_PER_SEC) /* cap per timed wait; the loop waits again */
#define MAX_RETURNED_DELAY (INT64_MAX / 4)

static void must(int rc, const char *call)
{
    if (rc == 0)
        return;
    char num[16];
    snprintf(num, sizeof(num), "%d", rc);
    KRC_LOG_ERROR("ratelimit: pthread call failed", "call", call, "errno", num);
    abort();
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    must(clock_gettime(CLOCK_MONOTONIC, &ts) == 0 ? 0 : errno, "clock_gettime");
    return (int64_t)ts.tv_sec * KRC_NS_PER_SEC + ts.tv_nsec;
}

static int pthread_err(int rc)
{
    return rc == ENOMEM || rc == EAGAIN ? KRC_ENOMEM : KRC_EIO;
}

/* ---- token bucket ---- */

static int cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc)
        return pthread_err(rc);
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cond, &attr);
    must(pthread_condattr_destroy(&attr), "pthread_condattr_destroy");
    return rc ? pthread_err(rc) : 0;
}

int krc_token_bucket_init(struct krc_token_bucket *tb, double qps, int burst)
{
    if (isnan(qps))
        return KRC_EINVAL;
    int unlimited = qps <= 0 || isinf(qps);
    if (!unlimited && burst < 1)
        return KRC_EINVAL;

    memset(tb, 0, sizeof(*tb));
    tb->qps = unlimited ? 0 : qps;
    tb->burst = unlimited ? 0 : burst;
    tb->tokens = tb->burst;
    tb->last_ns = BUCKET_NEVER;

    int rc = pthread_mutex_init(&tb->mu, NULL);
    if (rc)
        return pthread_err(rc);
    rc = cond_init_monotonic(&tb->cond);
    if (rc) {
        must(pthread_mutex_destroy(&tb->mu), "pthread_mutex_destroy");
        return rc;
    }
    return 0;
}

void krc_token_bucket_destroy(struct krc_token_bucket *tb)
{
    must(pthread_cond_destroy(&tb->cond), "pthread_cond_destroy");
    must(pthread_mutex_destroy(&tb->mu), "pthread_mutex_destroy");
}

static void bucket_refill(struct krc_token_bucket *tb, int64_t now_ns)
{
    if (tb->last_ns == BUCKET_NEVER) {
        tb->last_ns = now_ns;
        return;
    }
    if (now_ns <= tb->last_ns)
        return;
    double tokens = tb->tokens + (double)(now_ns - tb->last_ns) * tb->qps / 1e9;
    tb->tokens = tokens < tb->burst ? tokens : tb->burst;
    tb->last_ns = now_ns;
}

/* Nanoseconds until `missing` more tokens have accrued, rounded up, at least 1. */
static int64_t bucket_ns_for(const struct krc_token_bucket *tb, double missing)
{
    double ns = missing * 1e9 / tb->qps;
    if (ns >= (double)MAX_RETURNED_DELAY)
        return MAX_RETURNED_DELAY;
    int64_t whole = (int64_t)ns;
    if ((double)whole < ns)
        whole++;
    return whole > 0 ? whole : 1;
}

static int64_t bucket_reserve_locked(struct krc_token_bucket *tb, int64_t now_ns)
{
    if (tb->qps <= 0)
        return 0;
    bucket_refill(tb, now_ns);
    if (tb->tokens >= 1.0 - TOKEN_EPSILON) {
        tb->tokens -= 1.0;
        return 0;
    }
    return bucket_ns_for(tb, 1.0 - tb->tokens);
}

static int64_t bucket_borrow_locked(struct krc_token_bucket *tb, int64_t now_ns)
{
    if (tb->qps <= 0)
        return 0;
    bucket_refill(tb, now_ns);
    tb->tokens -= 1.0;
    if (tb->tokens >= -TOKEN_EPSILON)
        return 0;
    return bucket_ns_for(tb, -tb->tokens);
}

int64_t krc_token_bucket_reserve_ns_at(struct krc_token_bucket *tb, int64_t now_ns)
{
    must(pthread_mutex_lock(&tb->mu), "pthread_mutex_lock");
    int64_t ns = bucket_reserve_locked(tb, now_ns);
    must(pthread_mutex_unlock(&tb->mu), "pthread_mutex_unlock");
    return ns;
}

int64_t krc_token_bucket_reserve_ns(struct krc_token_bucket *tb)
{
    return krc_token_bucket_reserve_ns_at(tb, monotonic_ns());
}

int64_t krc_token_bucket_borrow_ns_at(struct krc_token_bucket *tb, int64_t now_ns)
{
    must(pthread_mutex_lock(&tb->mu), "pthread_mutex_lock");
    int64_t ns = bucket_borrow_locked(tb, now_ns);
    must(pthread_mutex_unlock(&tb->mu), "pthread_mutex_unlock");
    return ns;
}

/* Sleeps on cond until now + ns of CLOCK_MONOTONIC at most (a long wait is cut into slices; the
 * caller loops and re-checks its condition anyway). */
static void cond_wait_ns(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t ns)
{
    if (ns > MAX_WAIT_SLICE_NS)
        ns = MAX_WAIT_SLICE_NS;
    int64_t deadline = monotonic_ns() + ns;
    struct timespec ts = {.tv_sec = (time_t)(deadline / KRC_NS_PER_SEC),
                          .tv_nsec = (long)(deadline % KRC_NS_PER_SEC)};
    int rc = pthread_cond_timedwait(cond, mu, &ts);
    if (rc != ETIMEDOUT)
        must(rc, "pthread_cond_timedwait");
}

int krc_token_bucket_take(struct krc_token_bucket *tb)
{
    int rc = 0;
    must(pthread_mutex_lock(&tb->mu), "pthread_mutex_lock");
    if (tb->canceled) {
        rc = KRC_ECANCELED;
        goto out;
    }
    int64_t now = monotonic_ns();
    int64_t delay = bucket_borrow_locked(tb, now);
    if (delay == 0)
        goto out;

    int64_t deadline = now + delay;
    tb->sleepers++;
    while (!tb->canceled && now < deadline) {
        cond_wait_ns(&tb->cond, &tb->mu, deadline - now);
        now = monotonic_ns();
    }
    tb->sleepers--;
    if (now < deadline) {
        /* Canceled before our token existed: give it back, as rate.Limiter does. */
        tb->tokens = tb->tokens + 1.0 < tb->burst ? tb->tokens + 1.0 : tb->burst;
        rc = KRC_ECANCELED;
    }
out:
    must(pthread_mutex_unlock(&tb->mu), "pthread_mutex_unlock");
    return rc;
}

void krc_token_bucket_cancel(struct krc_token_bucket *tb)
{
    must(pthread_mutex_lock(&tb->mu), "pthread_mutex_lock");
    tb->canceled = 1;
    must(pthread_cond_broadcast(&tb->cond), "pthread_cond_broadcast");
    must(pthread_mutex_unlock(&tb->mu), "pthread_mutex_unlock");
}

/* ---- per-key exponential failure backoff ---- */

struct krc_backoff_entry {
    struct krc_backoff_entry *next;
    uint32_t hash;
    int failures;
    char key[];
};

/* util/hash.h's FNV-1a, folded to the 32 bits an entry keeps (the table is far smaller). */
static uint32_t hash_key(const char *key)
{
    uint64_t h = krc_fnv1a64_str(KRC_FNV1A64_INIT, key);
    return (uint32_t)(h ^ (h >> 32));
}

int krc_backoff_init(struct krc_backoff *b, int64_t base_ns, int64_t max_ns)
{
    if (base_ns < 0 || max_ns < base_ns)
        return KRC_EINVAL;
    memset(b, 0, sizeof(*b));
    b->base_ns = base_ns;
    b->max_ns = max_ns;
    int rc = pthread_mutex_init(&b->mu, NULL);
    return rc ? pthread_err(rc) : 0;
}

void krc_backoff_destroy(struct krc_backoff *b)
{
    for (size_t i = 0; i < b->nbuckets; i++) {
        struct krc_backoff_entry *e = b->buckets[i];
        while (e) {
            struct krc_backoff_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(b->buckets);
    b->buckets = NULL;
    b->nbuckets = b->count = 0;
    must(pthread_mutex_destroy(&b->mu), "pthread_mutex_destroy");
}

/* The link that points at key's entry, or the NULL link ending its chain. Needs nbuckets > 0. */
static struct krc_backoff_entry **backoff_slot(struct krc_backoff *b, const char *key,
                                               uint32_t hash)
{
    struct krc_backoff_entry **link = &b->buckets[hash & (b->nbuckets - 1)];
    while (*link && ((*link)->hash != hash || strcmp((*link)->key, key) != 0))
        link = &(*link)->next;
    return link;
}

static struct krc_backoff_entry *backoff_find(struct krc_backoff *b, const char *key)
{
    if (b->nbuckets == 0)
        return NULL;
    return *backoff_slot(b, key, hash_key(key));
}

/* Doubles the table. Failing to grow is harmless (chains get longer), except for the first
 * table, which is required. */
static int backoff_grow(struct krc_backoff *b)
{
    size_t n = b->nbuckets ? b->nbuckets * 2 : BACKOFF_MIN_SLOTS;
    struct krc_backoff_entry **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return b->nbuckets ? 0 : KRC_ENOMEM;
    for (size_t i = 0; i < b->nbuckets; i++) {
        struct krc_backoff_entry *e = b->buckets[i];
        while (e) {
            struct krc_backoff_entry *next = e->next;
            e->next = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(b->buckets);
    b->buckets = nb;
    b->nbuckets = n;
    return 0;
}

static int64_t backoff_delay(const struct krc_backoff *b, int failures)
{
    /* base << failures without overflow: it fits under max iff base <= max >> failures. */
    if (failures >= 62 || b->base_ns > (b->max_ns >> failures))
        return b->max_ns;
    return b->base_ns << failures;
}

int krc_backoff_when(struct krc_backoff *b, const char *key, int64_t *delay_ns)
{
    int rc = 0;
    uint32_t hash = hash_key(key);
    must(pthread_mutex_lock(&b->mu), "pthread_mutex_lock");
    struct krc_backoff_entry *e = b->nbuckets ? *backoff_slot(b, key, hash) : NULL;
    if (!e) {
        if (b->count >= b->nbuckets) {
            rc = backoff_grow(b);
            if (rc)
                goto out;
        }
        size_t len = strlen(key);
        e = malloc(sizeof(*e) + len + 1);
        if (!e) {
            rc = KRC_ENOMEM;
            goto out;
        }
        e->hash = hash;
        e->failures = 0;
        memcpy(e->key, key, len + 1);
        e->next = b->buckets[hash & (b->nbuckets - 1)];
        b->buckets[hash & (b->nbuckets - 1)] = e;
        b->count++;
    }
    *delay_ns = backoff_delay(b, e->failures);
    if (e->failures < INT_MAX)
        e->failures++;
out:
    must(pthread_mutex_unlock(&b->mu), "pthread_mutex_unlock");
    return rc;
}

void krc_backoff_forget(struct krc_backoff *b, const char *key)
{
    must(pthread_mutex_lock(&b->mu), "pthread_mutex_lock");
    if (b->nbuckets) {
        struct krc_backoff_entry **link = backoff_slot(b, key, hash_key(key));
        struct krc_backoff_entry *e = *link;
        if (e) {
            *link = e->next;
            free(e);
            b->count--;
        }
    }
    must(pthread_mutex_unlock(&b->mu), "pthread_mutex_unlock");
}

int krc_backoff_num_requeues(struct krc_backoff *b, const char *key)
{
    must(pthread_mutex_lock(&b->mu), "pthread_mutex_lock");
    struct krc_backoff_entry *e = backoff_find(b, key);
    int n = e ? e->failures : 0;
    must(pthread_mutex_unlock(&b->mu), "pthread_mutex_unlock");
    return n;
}

/* ---- controller rate limiter ---- */

int krc_ratelimiter_init(struct krc_ratelimiter *rl, int64_t base_ns, int64_t max_ns, double qps,
                         int burst)
{
    int rc = krc_backoff_init(&rl->backoff, base_ns, max_ns);
    if (rc)
        return rc;
    rc = krc_token_bucket_init(&rl->bucket, qps, burst);
    if (rc)
        krc_backoff_destroy(&rl->backoff);
    return rc;
}

int krc_ratelimiter_init_default(struct krc_ratelimiter *rl)
{
    return krc_ratelimiter_init(rl, KRC_RATELIMITER_DEFAULT_BASE_NS, KRC_RATELIMITER_DEFAULT_MAX_NS,
                                KRC_RATELIMITER_DEFAULT_QPS, KRC_RATELIMITER_DEFAULT_BURST);
}

void krc_ratelimiter_destroy(struct krc_ratelimiter *rl)
{
    krc_token_bucket_destroy(&rl->bucket);
    krc_backoff_destroy(&rl->backoff);
}

int krc_ratelimiter_when_at(struct krc_ratelimiter *rl, const char *key, int64_t now_ns,
                            int64_t *delay_ns)
{
    int64_t backoff_ns;
    int rc = krc_backoff_when(&rl->backoff, key, &backoff_ns);
    if (rc)
        return rc;
    int64_t bucket_ns = krc_token_bucket_borrow_ns_at(&rl->bucket, now_ns);
    *delay_ns = backoff_ns > bucket_ns ? backoff_ns : bucket_ns;
    return 0;
}

int krc_ratelimiter_when(struct krc_ratelimiter *rl, const char *key, int64_t *delay_ns)
{
    return krc_ratelimiter_when_at(rl, key, monotonic_ns(), delay_ns);
}

void krc_ratelimiter_forget(struct krc_ratelimiter *rl, const char *key)
{
    krc_backoff_forget(&rl->backoff, key);
}

int krc_ratelimiter_num_requeues(struct krc_ratelimiter *rl, const char *key)
{
    return krc_backoff_num_requeues(&rl->backoff, key);
}
