/* Unit tests for node/ipam: CIDR parsing, the allocatable range, round-robin order, and the
 * one-file-per-address store in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/ipam.h"
#include "util/error.h"

static uint32_t ip(const char *s)
{
    uint32_t a = 0;
    assert_int_equal(krc_ipam_parse_addr(s, &a), 0);
    return a;
}

static void test_parse_cidr_accepts_only_well_formed_ipv4(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
        int prefix;
    } cases[] = {
        {"10.244.0.1/16", 1, 16},
        {"0.0.0.0/0", 1, 0},
        {"255.255.255.255/32", 1, 32},
        {"10.244.0.1", 0, 0},
        {"10.244.0.1/33", 0, 0},
        {"10.244.0/16", 0, 0},
        {"10.244.0.256/16", 0, 0},
        {"010.1.1.1/8", 0, 0},
        {"10.244.0.1/", 0, 0},
        {"10.244.0.1/1a", 0, 0},
        {"a.b.c.d/8", 0, 0},
        {"10.244.0.1/16 ", 0, 0},
        {"", 0, 0},
        {"1.2.3.4.5/8", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t a;
        int p = -1;
        int rc = krc_ipam_parse_cidr(cases[i].in, &a, &p);
        if (cases[i].ok != (rc == 0))
            fail_msg("parse_cidr(\"%s\") = %d, want %s", cases[i].in, rc,
                     cases[i].ok ? "ok" : "error");
        if (rc == 0)
            assert_int_equal(p, cases[i].prefix);
    }
}

static void test_format_round_trips(void **state)
{
    (void)state;
    char buf[KRC_IPAM_ADDR_MAX];
    krc_ipam_format(ip("10.244.255.254"), buf);
    assert_string_equal(buf, "10.244.255.254");
    krc_ipam_format(0xffffffffu, buf);
    assert_string_equal(buf, "255.255.255.255");
}

static void test_net_excludes_network_broadcast_and_gateway(void **state)
{
    (void)state;
    struct krc_ipam_net n;
    assert_int_equal(krc_ipam_net_init(&n, "10.244.0.1/16", NULL, NULL), 0);
    assert_int_equal(n.network, ip("10.244.0.0"));
    assert_int_equal(n.gateway, ip("10.244.0.1"));
    assert_int_equal(n.first, ip("10.244.0.1"));
    assert_int_equal(n.last, ip("10.244.255.254"));
    assert_false(krc_ipam_net_allocatable(&n, ip("10.244.0.0")));
    assert_false(krc_ipam_net_allocatable(&n, ip("10.244.0.1")));
    assert_true(krc_ipam_net_allocatable(&n, ip("10.244.0.2")));
    assert_false(krc_ipam_net_allocatable(&n, ip("10.244.255.255")));
    assert_false(krc_ipam_net_allocatable(&n, ip("10.245.0.2")));
}

static void test_net_rejects_bad_bridge_addresses_and_ranges(void **state)
{
    (void)state;
    static const struct {
        const char *bridge, *range;
    } bad[] = {
        {"10.244.0.0/16", NULL},            /* the network address */
        {"10.244.255.255/16", NULL},        /* the broadcast address */
        {"10.244.0.1/31", NULL},            /* too small */
        {"10.244.0.1/4", NULL},             /* too large */
        {"10.244.0.1/16", "10.245.0.0/24"}, /* range outside */
        {"10.244.0.1/16", "10.244.1.0/8"},  /* range larger than the network */
        {"10.244.0.1/16", "10.244.1.1/24"}, /* range not a network address */
        {"10.244.0.1/30", "10.244.0.1/32"}, /* only the gateway */
        {"nonsense", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct krc_ipam_net n;
        struct krc_error err = {0};
        if (krc_ipam_net_init(&n, bad[i].bridge, bad[i].range, &err) != KRC_EINVAL)
            fail_msg("net_init(%s, %s) accepted", bad[i].bridge,
                     bad[i].range ? bad[i].range : "NULL");
        assert_true(err.msg[0] != '\0');
    }
}

static void test_range_limits_allocation_to_the_node_share(void **state)
{
    (void)state;
    struct krc_ipam_net n;
    assert_int_equal(krc_ipam_net_init(&n, "10.244.0.1/16", "10.244.1.0/24", NULL), 0);
    /* the node range's network and broadcast addresses are left out, as CNI host-local does */
    assert_int_equal(n.first, ip("10.244.1.1"));
    assert_int_equal(n.last, ip("10.244.1.254"));
    assert_int_equal(krc_ipam_net_next(&n, 0), ip("10.244.1.1"));
    assert_false(krc_ipam_net_allocatable(&n, ip("10.244.1.0")));
    assert_false(krc_ipam_net_allocatable(&n, ip("10.244.1.255")));
    /* a /32 range is its one address */
    assert_int_equal(krc_ipam_net_init(&n, "10.244.0.1/16", "10.244.2.7/32", NULL), 0);
    assert_int_equal(n.first, ip("10.244.2.7"));
    assert_int_equal(n.last, ip("10.244.2.7"));
}

static void test_next_skips_the_gateway_and_wraps(void **state)
{
    (void)state;
    struct krc_ipam_net n;
    assert_int_equal(krc_ipam_net_init(&n, "192.168.7.1/29", NULL, NULL), 0);
    /* .0 network, .1 gateway, .7 broadcast: .2 .. .6 */
    assert_int_equal(krc_ipam_net_next(&n, 0), ip("192.168.7.2"));
    assert_int_equal(krc_ipam_net_next(&n, ip("192.168.7.2")), ip("192.168.7.3"));
    assert_int_equal(krc_ipam_net_next(&n, ip("192.168.7.6")), ip("192.168.7.2"));
    assert_int_equal(krc_ipam_net_next(&n, ip("8.8.8.8")), ip("192.168.7.2"));
    struct krc_ipam_net g;
    assert_int_equal(krc_ipam_net_init(&g, "192.168.7.6/29", NULL, NULL), 0);
    assert_int_equal(krc_ipam_net_next(&g, ip("192.168.7.5")), ip("192.168.7.1"));
}

static void test_overlap(void **state)
{
    (void)state;
    assert_true(krc_ipam_overlaps(ip("10.244.0.1"), 16, ip("10.244.3.7"), 24));
    assert_true(krc_ipam_overlaps(ip("10.0.0.1"), 8, ip("10.244.0.1"), 16));
    assert_false(krc_ipam_overlaps(ip("10.244.0.1"), 16, ip("10.245.0.1"), 16));
    assert_false(krc_ipam_overlaps(ip("192.0.2.2"), 24, ip("10.253.5.1"), 24));
}

/* --- the store, in a temporary directory --- */

struct store {
    char dir[64];
    struct krc_ipam ipam;
};

static int store_setup(void **state)
{
    struct store *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    snprintf(s->dir, sizeof(s->dir), "/tmp/krc-ipam-test-XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    s->ipam.dir = s->dir;
    if (krc_ipam_net_init(&s->ipam.net, "10.9.0.1/29", NULL, NULL) != 0)
        return -1;
    *state = s;
    return 0;
}

static int store_teardown(void **state)
{
    struct store *s = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    int rc = system(cmd);
    free(s);
    return rc == 0 ? 0 : -1;
}

static void test_allocate_is_idempotent_per_pod(void **state)
{
    struct store *s = *state;
    uint32_t a1, a2, b;
    assert_int_equal(krc_ipam_allocate(&s->ipam, "pod-a", &a1, NULL), 0);
    assert_int_equal(krc_ipam_allocate(&s->ipam, "pod-a", &a2, NULL), 0);
    assert_int_equal(a1, a2);
    assert_int_equal(krc_ipam_allocate(&s->ipam, "pod-b", &b, NULL), 0);
    assert_int_not_equal(a1, b);
    uint32_t found;
    assert_int_equal(krc_ipam_lookup(&s->ipam, "pod-b", &found, NULL), 0);
    assert_int_equal(found, b);
}

static void test_allocation_survives_a_new_store_handle(void **state)
{
    struct store *s = *state;
    uint32_t a, again;
    assert_int_equal(krc_ipam_allocate(&s->ipam, "pod-a", &a, NULL), 0);
    struct krc_ipam reopened = {.net = s->ipam.net, .dir = s->dir};
    assert_int_equal(krc_ipam_allocate(&reopened, "pod-a", &again, NULL), 0);
    assert_int_equal(a, again);
}

static void test_exhausted_range_is_an_error_and_release_frees(void **state)
{
    struct store *s = *state;
    char uid[16];
    uint32_t a;
    for (int i = 0; i < 5; i++) { /* .2 .. .6 */
        snprintf(uid, sizeof(uid), "pod-%d", i);
        assert_int_equal(krc_ipam_allocate(&s->ipam, uid, &a, NULL), 0);
    }
    struct krc_error err = {0};
    assert_int_equal(krc_ipam_allocate(&s->ipam, "one-too-many", &a, &err), KRC_ERANGE);
    assert_non_null(strstr(err.msg, "one-too-many"));
    assert_int_equal(krc_ipam_release(&s->ipam, "pod-3", NULL), 0);
    assert_int_equal(krc_ipam_lookup(&s->ipam, "pod-3", &a, NULL), KRC_ENOTFOUND);
    assert_int_equal(krc_ipam_allocate(&s->ipam, "one-too-many", &a, NULL), 0);
    assert_int_equal(krc_ipam_release(&s->ipam, "never-had-one", NULL), 0);
}

static void test_freed_address_is_not_reused_at_once(void **state)
{
    struct store *s = *state;
    uint32_t a, b;
    assert_int_equal(krc_ipam_allocate(&s->ipam, "pod-a", &a, NULL), 0);
    assert_int_equal(krc_ipam_release(&s->ipam, "pod-a", NULL), 0);
    assert_int_equal(krc_ipam_allocate(&s->ipam, "pod-b", &b, NULL), 0);
    assert_int_not_equal(a, b);
}

static void test_reserve_takes_exactly_the_address(void **state)
{
    struct store *s = *state;
    struct krc_error err = {0};
    assert_int_equal(krc_ipam_reserve(&s->ipam, "pod-a", ip("10.9.0.5"), NULL), 0);
    assert_int_equal(krc_ipam_reserve(&s->ipam, "pod-a", ip("10.9.0.5"), NULL), 0);
    assert_int_equal(krc_ipam_reserve(&s->ipam, "pod-b", ip("10.9.0.5"), &err), KRC_EEXIST);
    assert_non_null(strstr(err.msg, "pod-a"));
    assert_int_equal(krc_ipam_reserve(&s->ipam, "pod-b", ip("10.9.0.1"), NULL), KRC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_cidr_accepts_only_well_formed_ipv4),
        cmocka_unit_test(test_format_round_trips),
        cmocka_unit_test(test_net_excludes_network_broadcast_and_gateway),
        cmocka_unit_test(test_net_rejects_bad_bridge_addresses_and_ranges),
        cmocka_unit_test(test_range_limits_allocation_to_the_node_share),
        cmocka_unit_test(test_next_skips_the_gateway_and_wraps),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test_setup_teardown(test_allocate_is_idempotent_per_pod, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_allocation_survives_a_new_store_handle, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_exhausted_range_is_an_error_and_release_frees,
                                        store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_freed_address_is_not_reused_at_once, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_reserve_takes_exactly_the_address, store_setup,
                                        store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
