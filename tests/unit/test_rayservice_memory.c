/* Unit tests for controller/rayservice_memory: the Serve config cache of spec rayservice.md §7.3
 * (per RayService and cluster, exact text, pruning to the active and pending clusters) and the
 * deletion times of dangling clusters (§6.5: first sighting records, nothing deleted then). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "controller/rayservice_memory.h"

static void test_serve_cache(void **state)
{
    (void)state;
    struct rayservice_memory m;
    rayservice_memory_init(&m);
    assert_false(rayservice_memory_serve_has(&m, "ns/a", "a-1"));
    rayservice_memory_serve_store(&m, "ns/a", "a-1", "apps: 1");
    rayservice_memory_serve_store(&m, "ns/a", "a-2", "apps: 2");
    rayservice_memory_serve_store(&m, "ns/b", "a-1", "other");
    assert_true(rayservice_memory_serve_has(&m, "ns/a", "a-1"));
    assert_true(rayservice_memory_serve_matches(&m, "ns/a", "a-1", "apps: 1"));
    /* plain text comparison: a whitespace edit is a change */
    assert_false(rayservice_memory_serve_matches(&m, "ns/a", "a-1", "apps:  1"));
    rayservice_memory_serve_store(&m, "ns/a", "a-1", "apps: 3");
    assert_true(rayservice_memory_serve_matches(&m, "ns/a", "a-1", "apps: 3"));
    /* pruning keeps only the named clusters of that RayService */
    rayservice_memory_serve_prune(&m, "ns/a", "a-2", NULL);
    assert_false(rayservice_memory_serve_has(&m, "ns/a", "a-1"));
    assert_true(rayservice_memory_serve_has(&m, "ns/a", "a-2"));
    assert_true(rayservice_memory_serve_has(&m, "ns/b", "a-1"));
    rayservice_memory_serve_prune(&m, "ns/a", NULL, NULL);
    assert_false(rayservice_memory_serve_has(&m, "ns/a", "a-2"));
    assert_int_equal(m.nserve, 1);
    /* growth past the first allocation */
    for (int i = 0; i < 40; i++) {
        char c[16];
        snprintf(c, sizeof(c), "c-%d", i);
        rayservice_memory_serve_store(&m, "ns/c", c, "x");
    }
    assert_true(rayservice_memory_serve_matches(&m, "ns/c", "c-39", "x"));
    rayservice_memory_release(&m);
}

static void test_deletion_times(void **state)
{
    (void)state;
    struct rayservice_memory m;
    rayservice_memory_init(&m);
    /* first sighting: recorded, 0 returned (nothing deleted in this pass, even with delay 0) */
    assert_int_equal(rayservice_memory_deletion_time(&m, "ns", "old", 1000, 60), 0);
    assert_int_equal(rayservice_memory_deletion_time(&m, "ns", "zero", 1000, 0), 0);
    /* later passes see the recorded time, whatever the delay is now */
    assert_int_equal(rayservice_memory_deletion_time(&m, "ns", "old", 1030, 5), 1060);
    assert_int_equal(rayservice_memory_deletion_time(&m, "ns", "zero", 1001, 0), 1000);
    assert_int_equal(rayservice_memory_deletion_time(&m, "other", "old", 2000, 1), 0);
    rayservice_memory_deletion_forget(&m, "ns", "old");
    assert_int_equal(rayservice_memory_deletion_time(&m, "ns", "old", 3000, 60), 0);
    assert_int_equal(rayservice_memory_deletion_time(&m, "ns", "old", 3001, 60), 3060);
    rayservice_memory_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_cache),
        cmocka_unit_test(test_deletion_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
