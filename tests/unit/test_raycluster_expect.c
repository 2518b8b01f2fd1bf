/* Scale expectations (spec §6.9): a group is planned again only once the cache has observed what
 * the last reconcile did. The cache is a fake: a list of pod names that "exist". */
#include "controller/raycluster_expect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define SEC INT64_C(1000000000)

struct fake_cache {
    const char *present[8]; /* "ns/pod" */
    int error;              /* nonzero: every read fails */
};

static int lookup(void *ctx, const char *ns, const char *pod)
{
    struct fake_cache *c = ctx;
    char key[128];
    if (c->error)
        return -3;
    snprintf(key, sizeof(key), "%s/%s", ns, pod);
    for (size_t i = 0; i < 8 && c->present[i]; i++) {
        if (strcmp(c->present[i], key) == 0)
            return 1;
    }
    return 0;
}

struct expect_case {
    const char *name;
    enum raycluster_expect_op op;
    struct fake_cache cache;
    int64_t elapsed_ns; /* since the record */
    bool satisfied;
};

static const struct expect_case CASES[] = {
    {"create seen by the cache", RAYCLUSTER_EXPECT_CREATE, {{"ns/p"}, 0}, 0, true},
    {"create not yet seen", RAYCLUSTER_EXPECT_CREATE, {{NULL}, 0}, 1 * SEC, false},
    {"create not seen after exactly 30 s", RAYCLUSTER_EXPECT_CREATE, {{NULL}, 0}, 30 * SEC, false},
    {"create not seen after more than 30 s",
     RAYCLUSTER_EXPECT_CREATE,
     {{NULL}, 0},
     30 * SEC + 1,
     true},
    {"create with a failing cache read", RAYCLUSTER_EXPECT_CREATE, {{NULL}, 1}, 1 * SEC, false},
    {"delete gone from the cache", RAYCLUSTER_EXPECT_DELETE, {{NULL}, 0}, 0, true},
    {"delete still cached (terminating)", RAYCLUSTER_EXPECT_DELETE, {{"ns/p"}, 0}, 0, false},
    {"delete never times out", RAYCLUSTER_EXPECT_DELETE, {{"ns/p"}, 0}, 3600 * SEC, false},
    {"delete with a failing cache read", RAYCLUSTER_EXPECT_DELETE, {{NULL}, 1}, 0, false},
};

static void test_expectation_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        const struct expect_case *tc = &CASES[i];
        struct raycluster_expect *e;
        struct fake_cache cache = tc->cache;
        assert_int_equal(raycluster_expect_new(&e, NULL), 0);
        assert_int_equal(raycluster_expect_record(e, "ns", "c", "g", "p", tc->op, 100 * SEC), 0);
        bool got = raycluster_expect_satisfied(e, "ns", "c", "g", lookup, &cache,
                                               100 * SEC + tc->elapsed_ns);
        if (got != tc->satisfied)
            fail_msg("%s: satisfied=%d, want %d", tc->name, got, tc->satisfied);
        /* A satisfied item is removed; an unsatisfied one stays. */
        assert_int_equal(raycluster_expect_len(e), tc->satisfied ? 0 : 1);
        raycluster_expect_free(e);
    }
}

static void test_groups_and_clusters_are_independent(void **state)
{
    (void)state;
    struct raycluster_expect *e;
    struct fake_cache empty = {{NULL}, 0};
    assert_int_equal(raycluster_expect_new(&e, NULL), 0);
    assert_int_equal(
        raycluster_expect_record(e, "ns", "c", "small", "w1", RAYCLUSTER_EXPECT_CREATE, 0), 0);
    assert_false(raycluster_expect_satisfied(e, "ns", "c", "small", lookup, &empty, SEC));
    assert_true(raycluster_expect_satisfied(e, "ns", "c", "", lookup, &empty, SEC));
    assert_true(raycluster_expect_satisfied(e, "ns", "c", "big", lookup, &empty, SEC));
    assert_true(raycluster_expect_satisfied(e, "ns", "other", "small", lookup, &empty, SEC));
    assert_true(raycluster_expect_satisfied(e, "ns2", "c", "small", lookup, &empty, SEC));
    raycluster_expect_free(e);
}

static void test_recording_a_pod_again_replaces_its_item(void **state)
{
    (void)state;
    struct raycluster_expect *e;
    struct fake_cache empty = {{NULL}, 0};
    assert_int_equal(raycluster_expect_new(&e, NULL), 0);
    assert_int_equal(raycluster_expect_record(e, "ns", "c", "g", "p", RAYCLUSTER_EXPECT_CREATE, 0),
                     0);
    assert_int_equal(raycluster_expect_record(e, "ns", "c", "g", "p", RAYCLUSTER_EXPECT_DELETE, 0),
                     0);
    assert_int_equal(raycluster_expect_len(e), 1);
    /* The delete replaced the create: the pod being absent now satisfies the group. */
    assert_true(raycluster_expect_satisfied(e, "ns", "c", "g", lookup, &empty, SEC));
    raycluster_expect_free(e);
}

static void test_stale_cache_blocks_the_group_until_every_create_is_seen(void **state)
{
    (void)state;
    struct raycluster_expect *e;
    struct fake_cache cache = {{"ns/w1", NULL}, 0};
    assert_int_equal(raycluster_expect_new(&e, NULL), 0);
    assert_int_equal(raycluster_expect_record(e, "ns", "c", "g", "w1", RAYCLUSTER_EXPECT_CREATE, 0),
                     0);
    assert_int_equal(raycluster_expect_record(e, "ns", "c", "g", "w2", RAYCLUSTER_EXPECT_CREATE, 0),
                     0);
    assert_false(raycluster_expect_satisfied(e, "ns", "c", "g", lookup, &cache, SEC));
    cache.present[1] = "ns/w2";
    assert_true(raycluster_expect_satisfied(e, "ns", "c", "g", lookup, &cache, 2 * SEC));
    assert_int_equal(raycluster_expect_len(e), 0);
    raycluster_expect_free(e);
}

static void test_drop_cluster_forgets_only_that_cluster(void **state)
{
    (void)state;
    struct raycluster_expect *e;
    assert_int_equal(raycluster_expect_new(&e, NULL), 0);
    assert_int_equal(raycluster_expect_record(e, "ns", "c", "g", "a", RAYCLUSTER_EXPECT_CREATE, 0),
                     0);
    assert_int_equal(raycluster_expect_record(e, "ns", "c", "", "b", RAYCLUSTER_EXPECT_DELETE, 0),
                     0);
    assert_int_equal(raycluster_expect_record(e, "ns", "d", "g", "c", RAYCLUSTER_EXPECT_CREATE, 0),
                     0);
    assert_int_equal(raycluster_expect_record(e, "ns2", "c", "g", "d", RAYCLUSTER_EXPECT_CREATE, 0),
                     0);
    raycluster_expect_drop_cluster(e, "ns", "c");
    assert_int_equal(raycluster_expect_len(e), 2);
    raycluster_expect_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expectation_table),
        cmocka_unit_test(test_groups_and_clusters_are_independent),
        cmocka_unit_test(test_recording_a_pod_again_replaces_its_item),
        cmocka_unit_test(test_stale_cache_blocks_the_group_until_every_create_is_seen),
        cmocka_unit_test(test_drop_cluster_forgets_only_that_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
