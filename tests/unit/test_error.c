/* Unit tests for util/error: set, wrap, clear, truncation of long messages and code names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/error.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A string of n copies of c, for messages that overflow the buffer. */
static const char *repeat(char c, size_t n)
{
    static char buf[2 * KRC_ERROR_MSG_MAX];
    assert_true(n < sizeof(buf));
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void test_set_fills_code_and_message_and_returns_code(void **state)
{
    (void)state;
    struct krc_error err = {0};
    int rc = krc_error_set(&err, KRC_ENOTFOUND, "get pods %s/%s: %d NotFound", "default",
                           "ray-head", 404);
    assert_int_equal(rc, KRC_ENOTFOUND);
    assert_int_equal(err.code, KRC_ENOTFOUND);
    assert_string_equal(err.msg, "get pods default/ray-head: 404 NotFound");
}

static void test_set_replaces_an_earlier_error(void **state)
{
    (void)state;
    struct krc_error err = {0};
    krc_error_set(&err, KRC_EIO, "first");
    krc_error_set(&err, KRC_ETIMEOUT, "second");
    assert_int_equal(err.code, KRC_ETIMEOUT);
    assert_string_equal(err.msg, "second");
}

static void test_set_and_wrap_accept_a_null_error(void **state)
{
    (void)state;
    assert_int_equal(krc_error_set(NULL, KRC_EINVAL, "ignored %d", 1), KRC_EINVAL);
    assert_int_equal(krc_error_wrap(NULL, KRC_EIO, "ignored"), KRC_EIO);
    krc_error_clear(NULL);
}

static void test_set_truncates_a_long_message(void **state)
{
    (void)state;
    struct krc_error err = {0};
    const char *long_msg = repeat('x', KRC_ERROR_MSG_MAX + 100);
    assert_int_equal(krc_error_set(&err, KRC_EINVAL, "%s", long_msg), KRC_EINVAL);
    assert_int_equal(strlen(err.msg), KRC_ERROR_MSG_MAX - 1);
    assert_memory_equal(err.msg, long_msg, KRC_ERROR_MSG_MAX - 1);
}

static void test_wrap_prefixes_context_and_keeps_the_first_code(void **state)
{
    (void)state;
    struct krc_error err = {0};
    krc_error_set(&err, KRC_ENOTFOUND, "get pods default/ray-head: 404");
    int rc = krc_error_wrap(&err, KRC_EIO, "reconcile %s/%s", "default", "c");
    assert_int_equal(rc, KRC_ENOTFOUND);
    assert_int_equal(err.code, KRC_ENOTFOUND);
    assert_string_equal(err.msg, "reconcile default/c: get pods default/ray-head: 404");

    krc_error_wrap(&err, KRC_EIO, "worker");
    assert_string_equal(err.msg, "worker: reconcile default/c: get pods default/ray-head: 404");
}

static void test_wrap_of_a_clear_error_takes_the_given_code(void **state)
{
    (void)state;
    struct krc_error err = {0};
    krc_error_clear(&err);
    assert_int_equal(krc_error_wrap(&err, KRC_ECANCELED, "shutdown"), KRC_ECANCELED);
    assert_int_equal(err.code, KRC_ECANCELED);
    assert_string_equal(err.msg, "shutdown");
}

/* The buffer always ends up NUL-terminated and at most KRC_ERROR_MSG_MAX - 1 long: the context is
 * kept first, then the separator, then as much of the old message as fits. */
static void test_wrap_truncates_at_the_buffer_size(void **state)
{
    (void)state;
    static const struct {
        size_t prefix_len;
        const char *tail; /* what must follow the prefix */
    } cases[] = {
        {KRC_ERROR_MSG_MAX - 1 - 2 - 3, ": old"}, /* everything just fits */
        {KRC_ERROR_MSG_MAX - 1 - 2 - 1, ": o"},   /* the old message is cut */
        {KRC_ERROR_MSG_MAX - 1 - 2, ": "},        /* only the separator fits */
        {KRC_ERROR_MSG_MAX - 1 - 1, ":"},         /* half the separator fits */
        {KRC_ERROR_MSG_MAX - 1, ""},              /* the context fills the buffer */
        {KRC_ERROR_MSG_MAX + 50, ""},             /* the context itself is cut */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct krc_error err = {0};
        krc_error_set(&err, KRC_EIO, "old");
        krc_error_wrap(&err, KRC_EIO, "%s", repeat('p', cases[i].prefix_len));
        size_t kept = cases[i].prefix_len < KRC_ERROR_MSG_MAX - 1 ? cases[i].prefix_len
                                                                  : KRC_ERROR_MSG_MAX - 1;
        size_t len = strlen(err.msg);
        if (len != kept + strlen(cases[i].tail) || strcmp(err.msg + kept, cases[i].tail) != 0)
            fail_msg("prefix of %zu: message ends \"%s\" (length %zu), want tail \"%s\"",
                     cases[i].prefix_len, err.msg + (len > 8 ? len - 8 : 0), len, cases[i].tail);
        assert_int_equal(err.code, KRC_EIO);
    }
}

static void test_wrap_of_a_full_message_keeps_its_start(void **state)
{
    (void)state;
    struct krc_error err = {0};
    krc_error_set(&err, KRC_ESERVER, "%s", repeat('o', KRC_ERROR_MSG_MAX + 10));
    krc_error_wrap(&err, KRC_EIO, "ctx");
    assert_int_equal(strlen(err.msg), KRC_ERROR_MSG_MAX - 1);
    assert_memory_equal(err.msg, "ctx: ooo", 8);
    assert_int_equal(err.code, KRC_ESERVER);
}

static void test_clear_resets_code_and_message(void **state)
{
    (void)state;
    struct krc_error err = {0};
    krc_error_set(&err, KRC_EGONE, "watch expired");
    krc_error_clear(&err);
    assert_int_equal(err.code, KRC_OK);
    assert_string_equal(err.msg, "");
}

static void test_strerror_names_every_code(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
    } cases[] = {
        {KRC_OK, "OK"},
        {KRC_ENOMEM, "OutOfMemory"},
        {KRC_EINVAL, "InvalidArgument"},
        {KRC_EIO, "IOError"},
        {KRC_ENOTFOUND, "NotFound"},
        {KRC_EEXIST, "AlreadyExists"},
        {KRC_ECONFLICT, "Conflict"},
        {KRC_EGONE, "Gone"},
        {KRC_EFORBIDDEN, "Forbidden"},
        {KRC_EUNAUTHORIZED, "Unauthorized"},
        {KRC_EINVALID, "Invalid"},
        {KRC_ETIMEOUT, "Timeout"},
        {KRC_ETOOLARGE, "TooLarge"},
        {KRC_ESERVER, "ServerError"},
        {KRC_ECANCELED, "Canceled"},
        {KRC_ERANGE, "OutOfRange"},
        {1, "Unknown"},
        {-16, "Unknown"},
        {INT32_MIN, "Unknown"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *got = krc_strerror(cases[i].code);
        if (!got || strcmp(got, cases[i].name) != 0)
            fail_msg("krc_strerror(%d) = \"%s\", want \"%s\"", cases[i].code, got ? got : "(null)",
                     cases[i].name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_fills_code_and_message_and_returns_code),
        cmocka_unit_test(test_set_replaces_an_earlier_error),
        cmocka_unit_test(test_set_and_wrap_accept_a_null_error),
        cmocka_unit_test(test_set_truncates_a_long_message),
        cmocka_unit_test(test_wrap_prefixes_context_and_keeps_the_first_code),
        cmocka_unit_test(test_wrap_of_a_clear_error_takes_the_given_code),
        cmocka_unit_test(test_wrap_truncates_at_the_buffer_size),
        cmocka_unit_test(test_wrap_of_a_full_message_keeps_its_start),
        cmocka_unit_test(test_clear_resets_code_and_message),
        cmocka_unit_test(test_strerror_names_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
