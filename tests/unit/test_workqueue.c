/* Unit tests for kube/workqueue: dedup, one worker per key, delays, rate-limited requeues,
 * shutdown and the worker runner. Time-dependent tests use an injected clock; threads are
 * synchronised by polling the queue's stats, never by sleeping a guessed amount. Worker threads
 * record what they saw in atomics and the main thread asserts (cmocka is not thread-safe). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/workqueue.h"
#include "util/error.h"
#include "util/log.h"

#define MS KRC_NS_PER_MS

struct fake_clock {
    _Atomic int64_t now;
};

static int64_t fake_now(void *ctx)
{
    return atomic_load(&((struct fake_clock *)ctx)->now);
}

static void advance(struct fake_clock *c, int64_t ns)
{
    atomic_fetch_add(&c->now, ns);
}

static struct krc_workqueue *new_queue(struct fake_clock *clock)
{
    struct krc_workqueue_opts opts = {.name = "test"};
    if (clock) {
        opts.now_ns = fake_now;
        opts.clock_ctx = clock;
    }
    struct krc_workqueue *q = NULL;
    struct krc_error err = {0};
    if (krc_workqueue_new(&opts, &q, &err) != 0)
        fail_msg("krc_workqueue_new: %s", err.msg);
    return q;
}

static struct krc_workqueue_stats stats(struct krc_workqueue *q)
{
    struct krc_workqueue_stats st;
    krc_workqueue_stats(q, &st);
    return st;
}

static void pause_briefly(void)
{
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
}

/* Gets a key that must be ready now and checks which one it is. */
static void expect_get(struct krc_workqueue *q, const char *want)
{
    const char *key = NULL;
    int rc = krc_workqueue_try_get(q, &key);
    if (rc != 0)
        fail_msg("try_get: %s, want key %s", krc_strerror(rc), want);
    assert_string_equal(key, want);
}

static void expect_nothing_ready(struct krc_workqueue *q)
{
    const char *key = NULL;
    int rc = krc_workqueue_try_get(q, &key);
    if (rc != KRC_ENOTFOUND)
        fail_msg("try_get: %s (key %s), want nothing ready", krc_strerror(rc), rc ? "-" : key);
}

/* ---- single-threaded semantics ---- */

static void test_add_dedups_keys_waiting_for_a_worker(void **state)
{
    (void)state;
    struct krc_workqueue *q = new_queue(NULL);
    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    assert_int_equal(krc_workqueue_add(q, "ns/b"), 0);
    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    assert_int_equal(krc_workqueue_len(q), 2);
    expect_get(q, "ns/a");
    expect_get(q, "ns/b");
    expect_nothing_ready(q);
    krc_workqueue_done(q, "ns/a");
    krc_workqueue_done(q, "ns/b");
    assert_int_equal(stats(q).keys, 0);
    krc_workqueue_free(q);
}

static void test_key_added_while_processing_is_requeued_once_after_done(void **state)
{
    (void)state;
    struct krc_workqueue *q = new_queue(NULL);
    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    const char *key;
    assert_int_equal(krc_workqueue_try_get(q, &key), 0);
    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    /* Not handed out while a worker holds it. */
    assert_int_equal(krc_workqueue_len(q), 0);
    expect_nothing_ready(q);
    krc_workqueue_done(q, key);
    assert_int_equal(krc_workqueue_len(q), 1);
    expect_get(q, "ns/a");
    krc_workqueue_done(q, "ns/a");
    assert_int_equal(krc_workqueue_len(q), 0);
    assert_int_equal(stats(q).keys, 0);
    krc_workqueue_free(q);
}

static void test_done_for_a_key_not_processing_changes_nothing(void **state)
{
    (void)state;
    struct krc_workqueue *q = new_queue(NULL);
    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    krc_workqueue_done(q, "ns/a");       /* queued, not processing */
    krc_workqueue_done(q, "ns/unknown"); /* never seen */
    assert_int_equal(krc_workqueue_len(q), 1);
    expect_get(q, "ns/a");
    krc_workqueue_done(q, "ns/a");
    krc_workqueue_free(q);
}

static void test_overlong_key_is_rejected(void **state)
{
    (void)state;
    struct krc_workqueue *q = new_queue(NULL);
    char *key = malloc(KRC_WORKQUEUE_KEY_MAX + 2);
    assert_non_null(key);
    memset(key, 'k', KRC_WORKQUEUE_KEY_MAX + 1);
    key[KRC_WORKQUEUE_KEY_MAX + 1] = '\0';
    assert_int_equal(krc_workqueue_add(q, key), KRC_EINVAL);
    assert_int_equal(krc_workqueue_add_rate_limited(q, key), KRC_EINVAL);
    key[KRC_WORKQUEUE_KEY_MAX] = '\0';
    assert_int_equal(krc_workqueue_add(q, key), 0);
    free(key);
    krc_workqueue_free(q); /* frees the queued key */
}

static void test_many_keys_survive_table_growth(void **state)
{
    (void)state;
    struct krc_workqueue *q = new_queue(NULL);
    enum { KEYS = 5000 };
    char key[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < KEYS; i++) {
            snprintf(key, sizeof(key), "ns/key-%d", i);
            assert_int_equal(krc_workqueue_add(q, key), 0);
        }
    }
    assert_int_equal(krc_workqueue_len(q), KEYS);
    for (int i = 0; i < KEYS; i++) {
        snprintf(key, sizeof(key), "ns/key-%d", i);
        expect_get(q, key);
        krc_workqueue_done(q, key);
    }
    assert_int_equal(stats(q).keys, 0);
    krc_workqueue_free(q);
}

/* ---- delays, with an injected clock ---- */

static void test_add_after_releases_keys_in_time_order(void **state)
{
    (void)state;
    struct fake_clock clock = {1000 * MS};
    struct krc_workqueue *q = new_queue(&clock);
    assert_int_equal(krc_workqueue_add_after(q, "ns/a", 30 * MS), 0);
    assert_int_equal(krc_workqueue_add_after(q, "ns/b", 10 * MS), 0);
    assert_int_equal(krc_workqueue_add_after(q, "ns/c", 20 * MS), 0);
    assert_int_equal(krc_workqueue_add_after(q, "ns/d", 20 * MS), 0);
    assert_int_equal(stats(q).parked, 4);
    expect_nothing_ready(q);

    advance(&clock, 10 * MS - 1);
    expect_nothing_ready(q);
    advance(&clock, 1);
    expect_get(q, "ns/b");
    expect_nothing_ready(q);
    advance(&clock, 10 * MS);
    expect_get(q, "ns/c"); /* equal times keep the order they were added in */
    expect_get(q, "ns/d");
    advance(&clock, 100 * MS);
    expect_get(q, "ns/a");
    for (const char *k = "abcd"; *k; k++) {
        char key[8];
        snprintf(key, sizeof(key), "ns/%c", *k);
        krc_workqueue_done(q, key);
    }
    assert_int_equal(stats(q).keys, 0);
    krc_workqueue_free(q);
}

static void test_add_after_keeps_the_earliest_time(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    struct krc_workqueue *q = new_queue(&clock);
    assert_int_equal(krc_workqueue_add_after(q, "ns/a", 50 * MS), 0);
    assert_int_equal(krc_workqueue_add_after(q, "ns/a", 10 * MS), 0);
    assert_int_equal(krc_workqueue_add_after(q, "ns/a", 100 * MS), 0);
    assert_int_equal(stats(q).parked, 1);
    advance(&clock, 10 * MS);
    expect_get(q, "ns/a");
    assert_int_equal(stats(q).parked, 0);
    krc_workqueue_done(q, "ns/a");
    krc_workqueue_free(q);
}

static void test_add_after_without_delay_adds_now(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    struct krc_workqueue *q = new_queue(&clock);
    assert_int_equal(krc_workqueue_add_after(q, "ns/a", 0), 0);
    assert_int_equal(krc_workqueue_add_after(q, "ns/b", -5), 0);
    assert_int_equal(stats(q).parked, 0);
    expect_get(q, "ns/a");
    expect_get(q, "ns/b");
    krc_workqueue_done(q, "ns/a");
    krc_workqueue_done(q, "ns/b");
    krc_workqueue_free(q);
}

static void test_parked_key_already_queued_is_not_duplicated(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    struct krc_workqueue *q = new_queue(&clock);
    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    assert_int_equal(krc_workqueue_add_after(q, "ns/a", 5 * MS), 0);
    advance(&clock, 5 * MS);
    assert_int_equal(krc_workqueue_len(q), 1);
    expect_get(q, "ns/a");
    expect_nothing_ready(q);
    krc_workqueue_done(q, "ns/a");
    assert_int_equal(stats(q).keys, 0);
    krc_workqueue_free(q);
}

/* The RayCluster controller's yield (raycluster_batch.h): a reconcile that stops after its time
 * budget asks for a requeue after 1 ns, and events for its own pods re-add it while it runs; a key
 * added meanwhile (a new cluster) must come out first, whichever way the key came back. */
static void test_key_requeued_by_its_reconcile_goes_behind_keys_already_queued(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    struct krc_workqueue *q = new_queue(&clock);
    /* requeue-after only */
    assert_int_equal(krc_workqueue_add(q, "ns/big"), 0);
    expect_get(q, "ns/big");
    assert_int_equal(krc_workqueue_add(q, "ns/new"), 0);
    assert_int_equal(krc_workqueue_add_after(q, "ns/big", 1), 0);
    krc_workqueue_done(q, "ns/big");
    advance(&clock, 1);
    expect_get(q, "ns/new");
    expect_get(q, "ns/big");
    krc_workqueue_done(q, "ns/new");
    /* re-added by an event while processing (dirty), and the requeue-after as well */
    assert_int_equal(krc_workqueue_add(q, "ns/new2"), 0);
    assert_int_equal(krc_workqueue_add(q, "ns/big"), 0);
    assert_int_equal(krc_workqueue_add_after(q, "ns/big", 1), 0);
    krc_workqueue_done(q, "ns/big");
    advance(&clock, 1);
    expect_get(q, "ns/new2");
    expect_get(q, "ns/big");
    expect_nothing_ready(q);
    krc_workqueue_done(q, "ns/new2");
    krc_workqueue_done(q, "ns/big");
    assert_int_equal(stats(q).keys, 0);
    krc_workqueue_free(q);
}

static void test_rate_limited_requeues_back_off_and_forget_resets(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    struct krc_workqueue *q = new_queue(&clock);
    const int64_t want[] = {5 * MS, 10 * MS, 20 * MS, 40 * MS};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(krc_workqueue_add_rate_limited(q, "ns/a"), 0);
        assert_int_equal(krc_workqueue_num_requeues(q, "ns/a"), (int)i + 1);
        advance(&clock, want[i] - 1);
        expect_nothing_ready(q);
        advance(&clock, 1);
        expect_get(q, "ns/a");
        krc_workqueue_done(q, "ns/a");
    }
    krc_workqueue_forget(q, "ns/a");
    assert_int_equal(krc_workqueue_num_requeues(q, "ns/a"), 0);
    assert_int_equal(krc_workqueue_add_rate_limited(q, "ns/a"), 0);
    advance(&clock, 5 * MS);
    expect_get(q, "ns/a");
    krc_workqueue_done(q, "ns/a");
    krc_workqueue_forget(q, "ns/a");
    krc_workqueue_free(q);
}

static void test_borrowed_limiter_is_used_and_not_freed(void **state)
{
    (void)state;
    struct krc_ratelimiter rl;
    assert_int_equal(krc_ratelimiter_init(&rl, 7 * MS, 1000 * MS, 0, 0), 0);
    struct fake_clock clock = {0};
    struct krc_workqueue_opts opts = {
        .name = "borrowed", .limiter = &rl, .now_ns = fake_now, .clock_ctx = &clock};
    struct krc_workqueue *q = NULL;
    assert_int_equal(krc_workqueue_new(&opts, &q, NULL), 0);
    assert_int_equal(krc_workqueue_add_rate_limited(q, "ns/a"), 0);
    advance(&clock, 7 * MS - 1);
    expect_nothing_ready(q);
    advance(&clock, 1);
    expect_get(q, "ns/a");
    krc_workqueue_done(q, "ns/a");
    krc_workqueue_free(q);
    assert_int_equal(krc_ratelimiter_num_requeues(&rl, "ns/a"), 1);
    krc_ratelimiter_destroy(&rl);
}

/* ---- shutdown ---- */

static void test_shutdown_drops_new_and_parked_keys_but_hands_out_queued_ones(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    struct krc_workqueue *q = new_queue(&clock);
    assert_int_equal(krc_workqueue_add(q, "ns/queued"), 0);
    assert_int_equal(krc_workqueue_add_after(q, "ns/parked", 5 * MS), 0);
    krc_workqueue_shutdown(q);
    krc_workqueue_shutdown(q); /* idempotent */
    assert_true(krc_workqueue_shutting_down(q));
    assert_int_equal(krc_workqueue_add(q, "ns/late"), KRC_ECANCELED);
    assert_int_equal(krc_workqueue_add_after(q, "ns/late", 5 * MS), KRC_ECANCELED);
    assert_int_equal(krc_workqueue_add_rate_limited(q, "ns/late"), KRC_ECANCELED);
    assert_int_equal(krc_workqueue_num_requeues(q, "ns/late"), 0);
    advance(&clock, 10 * MS);
    expect_get(q, "ns/queued");
    const char *key;
    assert_int_equal(krc_workqueue_try_get(q, &key), KRC_ECANCELED);
    assert_int_equal(krc_workqueue_get(q, &key), KRC_ECANCELED);
    krc_workqueue_done(q, "ns/queued");
    assert_int_equal(stats(q).keys, 0);
    krc_workqueue_free(q);
}

struct getter {
    struct krc_workqueue *q;
    int rc;
    char key[64];
};

static void *getter_main(void *arg)
{
    struct getter *g = arg;
    const char *key;
    g->rc = krc_workqueue_get(g->q, &key);
    if (g->rc == 0) {
        snprintf(g->key, sizeof(g->key), "%s", key);
        krc_workqueue_done(g->q, key);
    }
    return NULL;
}

static void wait_for_blocked_getters(struct krc_workqueue *q, int n)
{
    while (stats(q).getters_blocked < n)
        pause_briefly();
}

static void test_shutdown_wakes_every_blocked_getter(void **state)
{
    (void)state;
    struct krc_workqueue *q = new_queue(NULL);
    enum { N = 4 };
    struct getter g[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        g[i] = (struct getter){.q = q, .rc = 1};
        assert_int_equal(pthread_create(&th[i], NULL, getter_main, &g[i]), 0);
    }
    wait_for_blocked_getters(q, N);
    krc_workqueue_shutdown(q);
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(g[i].rc, KRC_ECANCELED);
    }
    assert_int_equal(stats(q).getters_blocked, 0);
    krc_workqueue_free(q);
}

static void test_blocked_getter_receives_a_key_added_later(void **state)
{
    (void)state;
    struct krc_workqueue *q = new_queue(NULL);
    struct getter g = {.q = q, .rc = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, getter_main, &g), 0);
    wait_for_blocked_getters(q, 1);
    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.key, "ns/a");
    krc_workqueue_free(q);
}

static void test_blocked_getter_wakes_when_a_parked_key_is_due(void **state)
{
    (void)state;
    /* Real clock: a getter that is asleep with nothing queued must wake by itself when the key's
     * time comes. Only "it returns" is asserted, not how soon. */
    struct krc_workqueue *q = new_queue(NULL);
    struct getter g = {.q = q, .rc = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, getter_main, &g), 0);
    wait_for_blocked_getters(q, 1);
    assert_int_equal(krc_workqueue_add_after(q, "ns/a", 2 * MS), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.key, "ns/a");
    krc_workqueue_free(q);
}

struct drainer {
    struct krc_workqueue *q;
    atomic_int returned;
};

static void *drainer_main(void *arg)
{
    struct drainer *d = arg;
    krc_workqueue_shutdown_with_drain(d->q);
    atomic_store(&d->returned, 1);
    return NULL;
}

static void test_shutdown_with_drain_waits_for_keys_in_flight(void **state)
{
    (void)state;
    struct krc_workqueue *q = new_queue(NULL);
    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    const char *key;
    assert_int_equal(krc_workqueue_try_get(q, &key), 0);

    struct drainer d = {.q = q};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, drainer_main, &d), 0);
    while (!krc_workqueue_shutting_down(q))
        pause_briefly();
    for (int i = 0; i < 100; i++)
        sched_yield(); /* give a wrong early return every chance to show */
    assert_int_equal(atomic_load(&d.returned), 0);
    krc_workqueue_done(q, key);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(atomic_load(&d.returned), 1);
    krc_workqueue_free(q);
}

/* ---- workers ---- */

enum { STRESS_KEYS = 16, STRESS_WORKERS = 8, STRESS_PRODUCERS = 4, STRESS_ADDS = 3000 };

struct stress {
    struct krc_workqueue *q;
    atomic_int in_flight[STRESS_KEYS];
    atomic_int added_gen[STRESS_KEYS]; /* bumped before each add */
    atomic_int seen_gen[STRESS_KEYS];  /* what the last reconcile of the key saw */
    atomic_int overlaps;               /* reconciles that found the key already in flight */
    atomic_int calls;
    atomic_int bad_entry; /* *requeue_after_ns was not 0 on entry */
};

static int stress_index(const char *key)
{
    return atoi(key + strlen("ns/k"));
}

static int stress_reconcile(void *ctx, const char *key, int64_t *requeue_after_ns)
{
    struct stress *s = ctx;
    int i = stress_index(key);
    if (*requeue_after_ns != 0)
        atomic_fetch_add(&s->bad_entry, 1);
    if (atomic_fetch_add(&s->in_flight[i], 1) != 0)
        atomic_fetch_add(&s->overlaps, 1);
    atomic_store(&s->seen_gen[i], atomic_load(&s->added_gen[i]));
    int n = atomic_fetch_add(&s->calls, 1);
    for (int y = 0; y < 3; y++)
        sched_yield(); /* widen the window in which a second worker could take the key */
    /* Re-add while processing: it must come back after done, to one worker. After shutdown the
     * add is refused (KRC_ECANCELED), which is fine: the producers' adds were all in by then. */
    if (n % 7 == 0)
        (void)krc_workqueue_add(s->q, key);
    atomic_fetch_sub(&s->in_flight[i], 1);
    return n % 11 == 0 ? KRC_ECONFLICT : 0; /* some failures take the rate-limited path */
}

struct producer {
    struct stress *s;
    unsigned seed;
    atomic_int add_errors;
};

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    char key[32];
    for (int n = 0; n < STRESS_ADDS; n++) {
        int i = (int)(rand_r(&p->seed) % STRESS_KEYS);
        snprintf(key, sizeof(key), "ns/k%d", i);
        atomic_fetch_add(&p->s->added_gen[i], 1);
        if (krc_workqueue_add(p->s->q, key) != 0)
            atomic_fetch_add(&p->add_errors, 1);
        if (n % 64 == 0)
            sched_yield();
    }
    return NULL;
}

static void test_workers_never_reconcile_one_key_concurrently_and_lose_no_add(void **state)
{
    (void)state;
    static struct stress s; /* large-ish; zeroed atomics */
    memset(&s, 0, sizeof(s));
    s.q = new_queue(NULL);
    struct krc_workqueue_workers *w = NULL;
    struct krc_error err = {0};
    if (krc_workqueue_start_workers(s.q, STRESS_WORKERS, stress_reconcile, &s, &w, &err) != 0)
        fail_msg("start workers: %s", err.msg);

    struct producer p[STRESS_PRODUCERS];
    pthread_t th[STRESS_PRODUCERS];
    for (int i = 0; i < STRESS_PRODUCERS; i++) {
        p[i].s = &s;
        p[i].seed = (unsigned)i * 7919u + 1;
        atomic_init(&p[i].add_errors, 0);
        assert_int_equal(pthread_create(&th[i], NULL, producer_main, &p[i]), 0);
    }
    for (int i = 0; i < STRESS_PRODUCERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(atomic_load(&p[i].add_errors), 0);
    }
    /* Every add is in; stopping hands the keys still queued to the workers, then joins them. */
    krc_workqueue_stop_workers(w);

    assert_int_equal(atomic_load(&s.overlaps), 0);
    assert_int_equal(atomic_load(&s.bad_entry), 0);
    assert_true(atomic_load(&s.calls) > 0);
    for (int i = 0; i < STRESS_KEYS; i++) {
        if (atomic_load(&s.seen_gen[i]) != atomic_load(&s.added_gen[i]))
            fail_msg("key %d: last reconcile saw add #%d of %d", i, atomic_load(&s.seen_gen[i]),
                     atomic_load(&s.added_gen[i]));
    }
    struct krc_workqueue_stats st = stats(s.q);
    assert_int_equal(st.processing, 0);
    assert_int_equal(st.depth, 0);
    assert_int_equal(st.keys, 0);
    krc_workqueue_free(s.q);
}

/* A reconcile scripted per call: fail, then succeed asking for a requeue, then succeed. */
struct script {
    atomic_int calls;
    atomic_int bad_entry;
};

static int script_reconcile(void *ctx, const char *key, int64_t *requeue_after_ns)
{
    (void)key;
    struct script *sc = ctx;
    if (*requeue_after_ns != 0)
        atomic_fetch_add(&sc->bad_entry, 1);
    int n = atomic_fetch_add(&sc->calls, 1);
    if (n == 0)
        return KRC_ESERVER;
    if (n == 1)
        *requeue_after_ns = 30 * MS;
    return 0;
}

/* Waits until the worker has finished `calls` reconciles and put the key where it belongs. */
static void wait_for_settled(struct krc_workqueue *q, struct script *sc, int calls, size_t parked)
{
    for (;;) {
        struct krc_workqueue_stats st = stats(q);
        if (atomic_load(&sc->calls) == calls && st.processing == 0 && st.parked == parked)
            return;
        pause_briefly();
    }
}

static void test_worker_retries_errors_with_backoff_and_honours_requeue_after(void **state)
{
    (void)state;
    struct fake_clock clock = {0};
    struct krc_workqueue *q = new_queue(&clock);
    struct script sc = {0};
    struct krc_workqueue_workers *w = NULL;
    assert_int_equal(krc_workqueue_start_workers(q, 1, script_reconcile, &sc, &w, NULL), 0);

    assert_int_equal(krc_workqueue_add(q, "ns/a"), 0);
    wait_for_settled(q, &sc, 1, 1); /* failed: parked for 5 ms */
    assert_int_equal(krc_workqueue_num_requeues(q, "ns/a"), 1);

    advance(&clock, 5 * MS);
    wait_for_settled(q, &sc, 2, 1); /* succeeded, asked for 30 ms: forgotten and parked */
    assert_int_equal(krc_workqueue_num_requeues(q, "ns/a"), 0);

    advance(&clock, 30 * MS - 1);
    for (int i = 0; i < 100; i++)
        sched_yield();
    assert_int_equal(atomic_load(&sc.calls), 2); /* not due yet */
    advance(&clock, 1);
    wait_for_settled(q, &sc, 3, 0); /* succeeded: nothing left */
    assert_int_equal(stats(q).keys, 0);
    assert_int_equal(atomic_load(&sc.bad_entry), 0);

    krc_workqueue_stop_workers(w);
    krc_workqueue_free(q);
}

/* abort_workers (the operator's shutdown): the worker finishes the key it holds and takes none of
 * the keys still queued. The first reconcile blocks until the abort has begun (the queue reports
 * shutting down, which abort sets after its stop flag), so the order is deterministic. */
struct blocking_first {
    struct krc_workqueue *q;
    atomic_int calls;
    atomic_int started;
    atomic_int release;
};

static int blocking_first_reconcile(void *ctx, const char *key, int64_t *requeue_after_ns)
{
    (void)key;
    (void)requeue_after_ns;
    struct blocking_first *b = ctx;
    if (atomic_fetch_add(&b->calls, 1) == 0) {
        atomic_store(&b->started, 1);
        while (!atomic_load(&b->release))
            pause_briefly();
    }
    return 0;
}

static void *abort_thread(void *arg)
{
    krc_workqueue_abort_workers(arg);
    return NULL;
}

static void test_abort_workers_drops_queued_keys_after_the_one_in_hand(void **state)
{
    (void)state;
    struct krc_workqueue *q = new_queue(NULL);
    struct blocking_first b = {.q = q};
    struct krc_workqueue_workers *w = NULL;
    assert_int_equal(krc_workqueue_start_workers(q, 1, blocking_first_reconcile, &b, &w, NULL), 0);
    assert_int_equal(krc_workqueue_add(q, "ns/first"), 0);
    while (!atomic_load(&b.started))
        pause_briefly();
    char key[32];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "ns/queued-%d", i);
        assert_int_equal(krc_workqueue_add(q, key), 0);
    }
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, abort_thread, w), 0);
    while (!krc_workqueue_shutting_down(q))
        pause_briefly();
    atomic_store(&b.release, 1);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(atomic_load(&b.calls), 1);
    krc_workqueue_free(q);
}

static void test_start_workers_rejects_bad_arguments(void **state)
{
    (void)state;
    struct krc_workqueue *q = new_queue(NULL);
    struct krc_workqueue_workers *w = NULL;
    struct krc_error err = {0};
    assert_int_equal(krc_workqueue_start_workers(q, 0, script_reconcile, NULL, &w, &err),
                     KRC_EINVAL);
    assert_non_null(strstr(err.msg, "workqueue test"));
    assert_int_equal(krc_workqueue_start_workers(q, 2, NULL, NULL, &w, &err), KRC_EINVAL);
    assert_null(w);
    krc_workqueue_free(q);
}

int main(void)
{
    /* Log every level (the paths run) but keep the expected reconcile errors out of the output. */
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull < 0) {
        perror("open /dev/null");
        return 1;
    }
    krc_log_configure(KRC_LOG_DEBUG, KRC_LOG_FORMAT_TEXT, devnull);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_dedups_keys_waiting_for_a_worker),
        cmocka_unit_test(test_key_added_while_processing_is_requeued_once_after_done),
        cmocka_unit_test(test_done_for_a_key_not_processing_changes_nothing),
        cmocka_unit_test(test_overlong_key_is_rejected),
        cmocka_unit_test(test_many_keys_survive_table_growth),
        cmocka_unit_test(test_add_after_releases_keys_in_time_order),
        cmocka_unit_test(test_add_after_keeps_the_earliest_time),
        cmocka_unit_test(test_add_after_without_delay_adds_now),
        cmocka_unit_test(test_parked_key_already_queued_is_not_duplicated),
        cmocka_unit_test(test_key_requeued_by_its_reconcile_goes_behind_keys_already_queued),
        cmocka_unit_test(test_rate_limited_requeues_back_off_and_forget_resets),
        cmocka_unit_test(test_borrowed_limiter_is_used_and_not_freed),
        cmocka_unit_test(test_shutdown_drops_new_and_parked_keys_but_hands_out_queued_ones),
        cmocka_unit_test(test_shutdown_wakes_every_blocked_getter),
        cmocka_unit_test(test_blocked_getter_receives_a_key_added_later),
        cmocka_unit_test(test_blocked_getter_wakes_when_a_parked_key_is_due),
        cmocka_unit_test(test_shutdown_with_drain_waits_for_keys_in_flight),
        cmocka_unit_test(test_workers_never_reconcile_one_key_concurrently_and_lose_no_add),
        cmocka_unit_test(test_worker_retries_errors_with_backoff_and_honours_requeue_after),
        cmocka_unit_test(test_abort_workers_drops_queued_keys_after_the_one_in_hand),
        cmocka_unit_test(test_start_workers_rejects_bad_arguments),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    close(devnull);
    return failed;
}
