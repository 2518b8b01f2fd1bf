/* Unit tests for kube/ratelimit: token bucket, per-key backoff and the controller limiter.
 * Time is injected through the `_at` functions; no test depends on how fast the machine is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "kube/ratelimit.h"
#include "util/error.h"

#define MS KRC_NS_PER_MS
#define S  KRC_NS_PER_SEC

/* An arbitrary clock origin, far from 0, like a real CLOCK_MONOTONIC reading. */
#define T0 (12345 * S)

static void pause_briefly(void)
{
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
}

/* ---- token bucket ---- */

static void test_bucket_allows_burst_then_paces_at_qps(void **state)
{
    (void)state;
    struct krc_token_bucket tb;
    assert_int_equal(krc_token_bucket_init(&tb, 10.0, 3), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, T0), 0);
    assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, T0), 100 * MS);
    assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, T0 + 50 * MS), 50 * MS);
    assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, T0 + 100 * MS), 0);
    assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, T0 + 100 * MS), 100 * MS);
    krc_token_bucket_destroy(&tb);
}

static void test_bucket_refill_stops_at_burst(void **state)
{
    (void)state;
    struct krc_token_bucket tb;
    assert_int_equal(krc_token_bucket_init(&tb, 10.0, 3), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, T0), 0);
    int64_t later = T0 + 3600 * S;
    for (int i = 0; i < 3; i++)
        assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, later), 0);
    assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, later), 100 * MS);
    krc_token_bucket_destroy(&tb);
}

static void test_bucket_waiting_the_returned_delay_always_yields_a_token(void **state)
{
    (void)state;
    /* A rate whose period is not a whole number of nanoseconds, to exercise rounding. */
    struct krc_token_bucket tb;
    assert_int_equal(krc_token_bucket_init(&tb, 3.0, 1), 0);
    int64_t now = T0;
    assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, now), 0);
    for (int i = 0; i < 1000; i++) {
        int64_t wait = krc_token_bucket_reserve_ns_at(&tb, now);
        assert_true(wait > 0);
        now += wait;
        assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, now), 0);
    }
    /* 1000 tokens at 3 qps take 333.33 s, rounded up by at most 1 ns per token. */
    assert_in_range(now - T0, 1000 * S / 3, 1000 * S / 3 + 1000);
    krc_token_bucket_destroy(&tb);
}

static void test_bucket_unlimited_never_waits(void **state)
{
    (void)state;
    const double rates[] = {0.0, -1.0, INFINITY};
    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        struct krc_token_bucket tb;
        assert_int_equal(krc_token_bucket_init(&tb, rates[r], 0), 0);
        for (int i = 0; i < 1000; i++) {
            assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, T0), 0);
            assert_int_equal(krc_token_bucket_borrow_ns_at(&tb, T0), 0);
        }
        assert_int_equal(krc_token_bucket_take(&tb), 0);
        assert_int_equal(krc_token_bucket_reserve_ns(&tb), 0);
        krc_token_bucket_destroy(&tb);
    }
}

static void test_bucket_init_rejects_nan_qps_and_empty_burst(void **state)
{
    (void)state;
    struct krc_token_bucket tb;
    assert_int_equal(krc_token_bucket_init(&tb, NAN, 10), KRC_EINVAL);
    assert_int_equal(krc_token_bucket_init(&tb, 5.0, 0), KRC_EINVAL);
    assert_int_equal(krc_token_bucket_init(&tb, 5.0, -3), KRC_EINVAL);
}

static void test_bucket_borrow_spreads_callers_over_time(void **state)
{
    (void)state;
    struct krc_token_bucket tb;
    assert_int_equal(krc_token_bucket_init(&tb, 10.0, 2), 0);
    const int64_t want[] = {0, 0, 100 * MS, 200 * MS, 300 * MS};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(krc_token_bucket_borrow_ns_at(&tb, T0), want[i]);
    /* Three tokens are owed, so a reserver needs a fourth. */
    assert_int_equal(krc_token_bucket_reserve_ns_at(&tb, T0), 400 * MS);
    krc_token_bucket_destroy(&tb);
}

static void test_bucket_take_does_not_sleep_while_tokens_remain(void **state)
{
    (void)state;
    /* One token per ~11.6 days: a sleep here would hang the test (ctest's timeout fails it). */
    struct krc_token_bucket tb;
    assert_int_equal(krc_token_bucket_init(&tb, 1e-6, 2), 0);
    assert_int_equal(krc_token_bucket_take(&tb), 0);
    assert_int_equal(krc_token_bucket_take(&tb), 0);
    assert_true(krc_token_bucket_reserve_ns(&tb) > 0);
    krc_token_bucket_destroy(&tb);
}

struct take_thread {
    struct krc_token_bucket *tb;
    int rc;
};

static void *take_main(void *arg)
{
    struct take_thread *t = arg;
    t->rc = krc_token_bucket_take(t->tb);
    return NULL;
}

static int bucket_sleepers(struct krc_token_bucket *tb)
{
    pthread_mutex_lock(&tb->mu);
    int n = tb->sleepers;
    pthread_mutex_unlock(&tb->mu);
    return n;
}

static void test_bucket_cancel_wakes_sleeping_take(void **state)
{
    (void)state;
    struct krc_token_bucket tb;
    assert_int_equal(krc_token_bucket_init(&tb, 1e-6, 1), 0);
    assert_int_equal(krc_token_bucket_take(&tb), 0);

    enum { N = 3 };
    struct take_thread t[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        t[i] = (struct take_thread){.tb = &tb, .rc = 1};
        assert_int_equal(pthread_create(&th[i], NULL, take_main, &t[i]), 0);
    }
    while (bucket_sleepers(&tb) < N)
        pause_briefly();
    krc_token_bucket_cancel(&tb);
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(t[i].rc, KRC_ECANCELED);
    }
    assert_int_equal(bucket_sleepers(&tb), 0);
    assert_int_equal(krc_token_bucket_take(&tb), KRC_ECANCELED);
    krc_token_bucket_destroy(&tb);
}

/* ---- backoff ---- */

static void test_backoff_doubles_from_5ms_and_caps_at_1000s(void **state)
{
    (void)state;
    struct krc_backoff b;
    assert_int_equal(
        krc_backoff_init(&b, KRC_RATELIMITER_DEFAULT_BASE_NS, KRC_RATELIMITER_DEFAULT_MAX_NS), 0);
    /* 5 ms * 2^17 = 655.36 s is the last step under the cap; 2^18 would be 1310.72 s. */
    const int64_t want[] = {5 * MS,      10 * MS,     20 * MS,     40 * MS,    80 * MS,
                            160 * MS,    320 * MS,    640 * MS,    1280 * MS,  2560 * MS,
                            5120 * MS,   10240 * MS,  20480 * MS,  40960 * MS, 81920 * MS,
                            163840 * MS, 327680 * MS, 655360 * MS, 1000 * S,   1000 * S};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int64_t d = -1;
        assert_int_equal(krc_backoff_when(&b, "default/c", &d), 0);
        if (d != want[i])
            fail_msg("failure %zu: delay %lld ns, want %lld ns", i + 1, (long long)d,
                     (long long)want[i]);
        assert_int_equal(krc_backoff_num_requeues(&b, "default/c"), (int)i + 1);
    }
    /* Far past any shift width: still the cap, no overflow (UBSan watches the shifts). */
    for (int i = 0; i < 200; i++) {
        int64_t d = -1;
        assert_int_equal(krc_backoff_when(&b, "default/c", &d), 0);
        assert_int_equal(d, 1000 * S);
    }
    krc_backoff_destroy(&b);
}

static void test_backoff_forget_resets_to_base(void **state)
{
    (void)state;
    struct krc_backoff b;
    assert_int_equal(krc_backoff_init(&b, 5 * MS, 1000 * S), 0);
    int64_t d;
    for (int i = 0; i < 3; i++)
        assert_int_equal(krc_backoff_when(&b, "ns/a", &d), 0);
    assert_int_equal(d, 20 * MS);
    krc_backoff_forget(&b, "ns/a");
    assert_int_equal(krc_backoff_num_requeues(&b, "ns/a"), 0);
    assert_int_equal(krc_backoff_when(&b, "ns/a", &d), 0);
    assert_int_equal(d, 5 * MS);
    krc_backoff_forget(&b, "ns/never-failed");
    krc_backoff_destroy(&b);
}

static void test_backoff_counts_each_key_separately(void **state)
{
    (void)state;
    struct krc_backoff b;
    assert_int_equal(krc_backoff_init(&b, 5 * MS, 1000 * S), 0);
    /* Enough keys to grow the table several times. */
    enum { KEYS = 1000 };
    char key[32];
    int64_t d;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < KEYS; i++) {
            snprintf(key, sizeof(key), "ns/key-%d", i);
            assert_int_equal(krc_backoff_when(&b, key, &d), 0);
            assert_int_equal(d, (5 * MS) << round);
        }
    }
    assert_int_equal(b.count, KEYS);
    for (int i = 0; i < KEYS; i += 2) {
        snprintf(key, sizeof(key), "ns/key-%d", i);
        krc_backoff_forget(&b, key);
    }
    for (int i = 0; i < KEYS; i++) {
        snprintf(key, sizeof(key), "ns/key-%d", i);
        assert_int_equal(krc_backoff_num_requeues(&b, key), i % 2 ? 3 : 0);
    }
    assert_int_equal(b.count, KEYS / 2);
    krc_backoff_destroy(&b);
}

static void test_backoff_init_rejects_bad_bounds(void **state)
{
    (void)state;
    struct krc_backoff b;
    assert_int_equal(krc_backoff_init(&b, -1, 10), KRC_EINVAL);
    assert_int_equal(krc_backoff_init(&b, 10, 5), KRC_EINVAL);
}

/* ---- controller limiter ---- */

static void test_ratelimiter_takes_the_larger_of_backoff_and_bucket(void **state)
{
    (void)state;
    struct krc_ratelimiter rl;
    assert_int_equal(krc_ratelimiter_init_default(&rl), 0);
    char key[32];
    int64_t d;
    /* The burst of 100 lets 100 first failures through at the per-key base delay. */
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "ns/k%d", i);
        assert_int_equal(krc_ratelimiter_when_at(&rl, key, T0, &d), 0);
        assert_int_equal(d, 5 * MS);
    }
    /* Then the overall 10 qps dominates: 100 ms, 200 ms, ... */
    assert_int_equal(krc_ratelimiter_when_at(&rl, "ns/k100", T0, &d), 0);
    assert_int_equal(d, 100 * MS);
    assert_int_equal(krc_ratelimiter_when_at(&rl, "ns/k0", T0, &d), 0);
    assert_int_equal(d, 200 * MS);
    assert_int_equal(krc_ratelimiter_num_requeues(&rl, "ns/k0"), 2);

    /* Much later the bucket is full again and a key's own backoff dominates. */
    int64_t later = T0 + 3600 * S;
    for (int i = 0; i < 10; i++)
        assert_int_equal(krc_ratelimiter_when_at(&rl, "ns/hot", later, &d), 0);
    assert_int_equal(d, (5 * MS) << 9);
    krc_ratelimiter_forget(&rl, "ns/hot");
    assert_int_equal(krc_ratelimiter_num_requeues(&rl, "ns/hot"), 0);
    assert_int_equal(krc_ratelimiter_when_at(&rl, "ns/hot", later, &d), 0);
    assert_int_equal(d, 5 * MS);
    krc_ratelimiter_destroy(&rl);
}

static void test_ratelimiter_init_rejects_bad_arguments_without_leaking(void **state)
{
    (void)state;
    struct krc_ratelimiter rl;
    assert_int_equal(krc_ratelimiter_init(&rl, 5 * MS, 1 * S, 10.0, 0), KRC_EINVAL);
    assert_int_equal(krc_ratelimiter_init(&rl, 5 * MS, 1 * MS, 10.0, 10), KRC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_allows_burst_then_paces_at_qps),
        cmocka_unit_test(test_bucket_refill_stops_at_burst),
        cmocka_unit_test(test_bucket_waiting_the_returned_delay_always_yields_a_token),
        cmocka_unit_test(test_bucket_unlimited_never_waits),
        cmocka_unit_test(test_bucket_init_rejects_nan_qps_and_empty_burst),
        cmocka_unit_test(test_bucket_borrow_spreads_callers_over_time),
        cmocka_unit_test(test_bucket_take_does_not_sleep_while_tokens_remain),
        cmocka_unit_test(test_bucket_cancel_wakes_sleeping_take),
        cmocka_unit_test(test_backoff_doubles_from_5ms_and_caps_at_1000s),
        cmocka_unit_test(test_backoff_forget_resets_to_base),
        cmocka_unit_test(test_backoff_counts_each_key_separately),
        cmocka_unit_test(test_backoff_init_rejects_bad_bounds),
        cmocka_unit_test(test_ratelimiter_takes_the_larger_of_backoff_and_bucket),
        cmocka_unit_test(test_ratelimiter_init_rejects_bad_arguments_without_leaking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
