/* Unit tests for node/execsession's status message: the metav1.Status kubectl reads from the
 * error stream to print errors and pick its own exit code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "node/execsession.h"
#include "util/strbuf.h"

static void check(int code, const char *error, const char *want)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    assert_int_equal(krc_exec_status_json(code, error, &out), 0);
    assert_string_equal(out.buf, want);
    krc_strbuf_release(&out);
}

static void test_exit_zero_is_success(void **state)
{
    (void)state;
    check(0, NULL, "{\"metadata\":{},\"status\":\"Success\"}");
}

static void test_non_zero_exit_carries_the_code_as_cause(void **state)
{
    (void)state;
    check(3, NULL,
          "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero "
          "exit code: exit status 3\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{"
          "\"reason\":\"ExitCode\",\"message\":\"3\"}]}}");
}

static void test_start_failure_is_internal_error(void **state)
{
    (void)state;
    check(0, "exec in c: no such file",
          "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error occurred: error "
          "executing command in container: exec in c: no such file\",\"reason\":\"InternalError\","
          "\"details\":{\"causes\":[{\"message\":\"error executing command in container: exec in "
          "c: no such file\"}]},\"code\":500}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_zero_is_success),
        cmocka_unit_test(test_non_zero_exit_carries_the_code_as_cause),
        cmocka_unit_test(test_start_failure_is_internal_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
