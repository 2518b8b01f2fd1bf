/* Unit tests for util/wipe: every byte of the range is cleared and nothing past it. */
#include "util/wipe.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_wipe_clears_exactly_the_range(void **state)
{
    (void)state;
    unsigned char buf[16];
    memset(buf, 0xAB, sizeof(buf));
    krc_wipe(buf + 2, 10);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], i >= 2 && i < 12 ? 0 : 0xAB);
    krc_wipe(NULL, 0);
}

static void test_wipe_str_clears_up_to_the_terminator(void **state)
{
    (void)state;
    char s[] = "secret\0tail";
    krc_wipe_str(s);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(s[i], 0);
    assert_string_equal(s + 7, "tail");
    krc_wipe_str(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wipe_clears_exactly_the_range),
        cmocka_unit_test(test_wipe_str_clears_up_to_the_terminator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
