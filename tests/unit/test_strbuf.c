/* Unit tests for util/strbuf: growth, formatting, caps and detach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/strbuf.h"

static void test_empty_strbuf_is_empty_string(void **state)
{
    (void)state;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_string_equal(sb.buf, "");
    assert_int_equal(sb.len, 0);
    krc_strbuf_release(&sb);
}

static void test_appends_accumulate_across_growth(void **state)
{
    (void)state;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(krc_strbuf_addf(&sb, "%d,", i % 10), 0);
    assert_int_equal(sb.len, 2000);
    assert_memory_equal(sb.buf, "0,1,2,3,4,", 10);
    assert_int_equal(sb.buf[sb.len], '\0');
    krc_strbuf_release(&sb);
}

static void test_cap_rejects_growth_and_keeps_content(void **state)
{
    (void)state;
    struct krc_strbuf sb;
    krc_strbuf_init(&sb, 8);
    assert_int_equal(krc_strbuf_adds(&sb, "12345678"), 0);
    assert_int_equal(krc_strbuf_addch(&sb, '9'), KRC_ETOOLARGE);
    assert_string_equal(sb.buf, "12345678");
    krc_strbuf_release(&sb);
}

static void test_detach_hands_over_and_resets(void **state)
{
    (void)state;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_int_equal(krc_strbuf_adds(&sb, "abc"), 0);
    char *s = krc_strbuf_detach(&sb);
    assert_string_equal(s, "abc");
    assert_int_equal(sb.len, 0);
    assert_string_equal(sb.buf, "");
    free(s);
    char *empty = krc_strbuf_detach(&sb);
    assert_non_null(empty);
    assert_string_equal(empty, "");
    free(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_strbuf_is_empty_string),
        cmocka_unit_test(test_appends_accumulate_across_growth),
        cmocka_unit_test(test_cap_rejects_growth_and_keeps_content),
        cmocka_unit_test(test_detach_hands_over_and_resets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
