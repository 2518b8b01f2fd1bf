/* ratelimit.h - client-side rate limiters, after client-go's flowcontrol and workqueue limiters.
 *
 * Three pieces, each thread-safe behind its own mutex:
 *   - struct krc_token_bucket: QPS + burst. The REST client takes a token before every request
 *     (client-go's --kube-api-qps/--kube-api-burst throttling).
 *   - struct krc_backoff: per-key exponential failure backoff, base * 2^failures capped at max,
 *     forgotten on success (client-go's ItemExponentialFailureRateLimiter).
 *   - struct krc_ratelimiter: the controller limiter, the larger of the two delays above
 *     (client-go's DefaultControllerRateLimiter: 5 ms .. 1000 s per key, 10 qps burst 100 overall).
 *
 * Time is CLOCK_MONOTONIC nanoseconds. Every function that reads the clock has an `_at` twin that
 * takes `now_ns` instead, so unit tests drive time by hand and never depend on wall-clock timing;
 * the `_at` twins must be fed a non-decreasing clock (a step back counts as no time passing).
 *
 * Structs are caller-allocated (embed them) so a limiter costs no allocation of its own; the fields
 * are private. Destroy only when no thread is using the object any more. */
#ifndef KRC_KUBE_RATELIMIT_H
#define KRC_KUBE_RATELIMIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define KRC_NS_PER_MS  INT64_C(1000000)
#define KRC_NS_PER_SEC INT64_C(1000000000)

/* client-go DefaultControllerRateLimiter. */
#define KRC_RATELIMITER_DEFAULT_BASE_NS (5 * KRC_NS_PER_MS)
#define KRC_RATELIMITER_DEFAULT_MAX_NS  (1000 * KRC_NS_PER_SEC)
#define KRC_RATELIMITER_DEFAULT_QPS     10.0
#define KRC_RATELIMITER_DEFAULT_BURST   100

/* ---- token bucket ---- */

struct krc_token_bucket {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* CLOCK_MONOTONIC; signalled by cancel() */
    double qps;          /* tokens added per second; 0 = unlimited */
    double burst;        /* bucket size */
    double tokens;       /* may go negative: tokens borrowed from the future */
    int64_t last_ns;     /* clock at the last refill; INT64_MIN until the first use */
    int canceled;
    int sleepers; /* threads asleep in take(); read by tests */
};

/* qps <= 0 (or infinite) means unlimited; otherwise burst must be >= 1. The bucket starts full.
 * Returns 0, KRC_EINVAL for a NaN qps or a burst < 1, KRC_ENOMEM/KRC_EIO if a mutex or condition
 * variable cannot be created. */
int krc_token_bucket_init(struct krc_token_bucket *tb, double qps, int burst);
void krc_token_bucket_destroy(struct krc_token_bucket *tb);
/* Takes one token, sleeping until one is available; returns 0, or KRC_ECANCELED if
 * krc_token_bucket_cancel() was called (shutdown). Waiters are served in arrival order: each one
 * reserves its token on arrival and sleeps until the token exists. */
int krc_token_bucket_take(struct krc_token_bucket *tb);
/* Non-blocking: 0 and takes a token if available, else returns the nanoseconds until one is (and
 * takes nothing). Works after cancel() too: cancel only stops the sleepers. */
int64_t krc_token_bucket_reserve_ns(struct krc_token_bucket *tb);
int64_t krc_token_bucket_reserve_ns_at(struct krc_token_bucket *tb, int64_t now_ns);
/* Always takes a token, borrowing it from the future if the bucket is empty, and returns how long
 * the caller must wait before acting on it (0 = now). Go's rate.Limiter.Reserve().Delay(): n
 * callers at once get delays spread over n/qps seconds instead of all retrying together. */
int64_t krc_token_bucket_borrow_ns_at(struct krc_token_bucket *tb, int64_t now_ns);
/* Wakes every thread in take() with KRC_ECANCELED and makes later take() calls fail the same way.
 */
void krc_token_bucket_cancel(struct krc_token_bucket *tb);

/* ---- per-key exponential failure backoff ---- */

struct krc_backoff_entry;

struct krc_backoff {
    pthread_mutex_t mu;
    int64_t base_ns;
    int64_t max_ns;
    struct krc_backoff_entry **buckets; /* chained hash table: key -> failure count */
    size_t nbuckets;                    /* power of two, or 0 before the first failure */
    size_t count;
};

/* 0 <= base_ns <= max_ns, else KRC_EINVAL. KRC_ENOMEM/KRC_EIO if the mutex cannot be created. */
int krc_backoff_init(struct krc_backoff *b, int64_t base_ns, int64_t max_ns);
/* Frees every remembered key. */
void krc_backoff_destroy(struct krc_backoff *b);
/* Records one more failure of key and stores in *delay_ns how long to wait before retrying:
 * base * 2^(failures before this one), capped at max. 0 or KRC_ENOMEM (nothing recorded). */
int krc_backoff_when(struct krc_backoff *b, const char *key, int64_t *delay_ns);
/* Forgets key's failures: the next failure waits base again. A key is remembered (one small
 * allocation) from its first failure until it is forgotten, so callers forget on success. */
void krc_backoff_forget(struct krc_backoff *b, const char *key);
/* Failures recorded for key since it was last forgotten (saturates at INT_MAX). */
int krc_backoff_num_requeues(struct krc_backoff *b, const char *key);

/* ---- controller rate limiter: max(per-key backoff, overall bucket) ---- */

struct krc_ratelimiter {
    struct krc_backoff backoff;
    struct krc_token_bucket bucket;
};

/* base_ns/max_ns as krc_backoff_init, qps/burst as krc_token_bucket_init. */
int krc_ratelimiter_init(struct krc_ratelimiter *rl, int64_t base_ns, int64_t max_ns, double qps,
                         int burst);
/* client-go's defaults (KRC_RATELIMITER_DEFAULT_*). */
int krc_ratelimiter_init_default(struct krc_ratelimiter *rl);
void krc_ratelimiter_destroy(struct krc_ratelimiter *rl);
/* Records a failure of key and returns in *delay_ns the larger of its backoff and the overall
 * bucket's delay (the bucket token is always taken). 0 or KRC_ENOMEM (nothing recorded). */
int krc_ratelimiter_when(struct krc_ratelimiter *rl, const char *key, int64_t *delay_ns);
int krc_ratelimiter_when_at(struct krc_ratelimiter *rl, const char *key, int64_t now_ns,
                            int64_t *delay_ns);
/* Resets key's backoff. The bucket is overall and has nothing per key to forget. */
void krc_ratelimiter_forget(struct krc_ratelimiter *rl, const char *key);
int krc_ratelimiter_num_requeues(struct krc_ratelimiter *rl, const char *key);

#endif
