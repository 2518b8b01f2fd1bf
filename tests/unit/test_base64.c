/* Unit tests for util/base64: RFC 4648 vectors, wrapped input, and malformed input rejected with
 * the offset of the first bad byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/error.h"

static void decode_ok(const char *in, const char *want)
{
    char *out = NULL;
    size_t len = 0;
    int rc = krc_base64_decode(in, strlen(in), &out, &len, NULL);
    if (rc)
        fail_msg("decode \"%s\": %d", in, rc);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
    assert_int_equal(out[len], '\0');
    free(out);
}

static void test_rfc4648_vectors_decode(void **state)
{
    (void)state;
    decode_ok("", "");
    decode_ok("Zg==", "f");
    decode_ok("Zm8=", "fo");
    decode_ok("Zm9v", "foo");
    decode_ok("Zm9vYg==", "foob");
    decode_ok("Zm9vYmE=", "fooba");
    decode_ok("Zm9vYmFy", "foobar");
    decode_ok("Zm9v\nYmFy\r\n", "foobar"); /* wrapped like PEM pasted into YAML */
    decode_ok("+/+/", "\xfb\xff\xbf");
}

static void test_malformed_input_is_rejected_with_offset(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t bad;
    } cases[] = {
        {"Zm9v*mFy", 4},   /* outside the alphabet */
        {"Zm9", 3},        /* truncated */
        {"Z===", 1},       /* too much padding */
        {"Zg==Zg==", 4},   /* data after padding */
        {"Zg=a", 3},       /* padding in the middle */
        {"Zm9vYmFy_-", 8}, /* base64url is not base64 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = (char *)1;
        size_t len = 7, bad = 0;
        int rc = krc_base64_decode(cases[i].in, strlen(cases[i].in), &out, &len, &bad);
        if (rc != KRC_EINVAL)
            fail_msg("\"%s\": got %d, want KRC_EINVAL", cases[i].in, rc);
        if (bad != cases[i].bad)
            fail_msg("\"%s\": bad offset %zu, want %zu", cases[i].in, bad, cases[i].bad);
        assert_null(out);
        assert_int_equal(len, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors_decode),
        cmocka_unit_test(test_malformed_input_is_rejected_with_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
