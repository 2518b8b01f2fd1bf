/* Unit tests for node/volrefresh: when a projected service-account token is requested again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "node/volrefresh.h"

static void test_token_is_refreshed_at_the_fraction_of_its_lifetime(void **state)
{
    (void)state;
    const struct {
        int64_t issued_ms, lifetime_s;
        double fraction;
        int64_t want_ms;
    } cases[] = {
        {1000, 3600, 0.8, 1000 + 2880 * 1000}, /* the kubelet's 80% */
        {0, 600, 0.8, 480 * 1000},             /* the API server's minimum lifetime */
        {0, 600, 0.01, 6 * 1000},              /* forced early (tests) */
        {0, 600, 1.0, 600 * 1000},
        {0, 600, 0.0, 480 * 1000},                   /* out of range: the default */
        {0, 600, 1.5, 480 * 1000},                   /* out of range: the default */
        {0, 600, -0.5, 480 * 1000},                  /* out of range: the default */
        {0, 7 * 24 * 3600, 0.8, 24 * 3600 * 1000LL}, /* at least daily */
        {5, 0, 0.8, 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got =
            krc_volrefresh_token_at(cases[i].issued_ms, cases[i].lifetime_s, cases[i].fraction);
        if (got != cases[i].want_ms)
            fail_msg("case %zu: refresh at %lld, want %lld", i, (long long)got,
                     (long long)cases[i].want_ms);
    }
}

static void test_expiration_timestamps_parse(void **state)
{
    (void)state;
    assert_int_equal(krc_volrefresh_parse_time("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(krc_volrefresh_parse_time("2000-03-01T00:00:01Z"), 951868801);
    assert_int_equal(krc_volrefresh_parse_time("2026-12-01T10:47:00Z"), 1796122020);
    assert_int_equal(krc_volrefresh_parse_time(NULL), 0);
    assert_int_equal(krc_volrefresh_parse_time("2026-12-01 10:47:00"), 0);
    assert_int_equal(krc_volrefresh_parse_time("2026-13-01T10:47:00Z"), 0);
    assert_int_equal(krc_volrefresh_parse_time("2026-12-01T10:47:00Zjunk"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_is_refreshed_at_the_fraction_of_its_lifetime),
        cmocka_unit_test(test_expiration_timestamps_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
