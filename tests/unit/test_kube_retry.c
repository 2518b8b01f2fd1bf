/* Unit tests for kube/retry: which outcomes are retried for which methods, and the backoff
 * delays (exponential, capped, jittered into the upper half; Retry-After honoured and capped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "kube/client.h"
#include "kube/retry.h"

struct retry_case {
    const char *name;
    const char *method;
    int rc;      /* krc_http_perform's result */
    long status; /* when rc == 0 */
    int sent, transient;
    int want;
};

static const struct retry_case cases[] = {
    {"429 is retried for POST", "POST", 0, 429, 1, 0, 1},
    {"429 is retried for PATCH", "PATCH", 0, 429, 1, 0, 1},
    {"503 is retried for GET", "GET", 0, 503, 1, 0, 1},
    {"500 is retried for PUT", "PUT", 0, 500, 1, 0, 1},
    {"504 is retried for DELETE", "DELETE", 0, 504, 1, 0, 1},
    {"503 is not retried for POST", "POST", 0, 503, 1, 0, 0},
    {"502 is not retried for PATCH", "PATCH", 0, 502, 1, 0, 0},
    {"501 is never retried", "GET", 0, 501, 1, 0, 0},
    {"404 is not retried", "GET", 0, 404, 1, 0, 0},
    {"409 is not retried", "PUT", 0, 409, 1, 0, 0},
    {"refused connection is retried for POST", "POST", KRC_EIO, 0, 0, 1, 1},
    {"reset after sending is retried for GET", "GET", KRC_EIO, 0, 1, 1, 1},
    {"reset after sending is not retried for POST", "POST", KRC_EIO, 0, 1, 1, 0},
    {"TLS verification failure is not retried", "GET", KRC_EIO, 0, 0, 0, 0},
    {"connect timeout is retried for PATCH", "PATCH", KRC_ETIMEOUT, 0, 0, 1, 1},
    {"request timeout after sending is not retried", "GET", KRC_ETIMEOUT, 0, 1, 1, 0},
    {"cancel is never retried", "GET", KRC_ECANCELED, 0, 0, 0, 0},
    {"oversized response is not retried", "GET", KRC_ETOOLARGE, 0, 1, 0, 0},
};

static void test_retry_policy_by_method_and_outcome(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct retry_case *rc = &cases[i];
        struct krc_http_response resp;
        krc_http_response_init(&resp);
        resp.status = rc->status;
        resp.sent = rc->sent;
        resp.transient = rc->transient;
        int got = krc_retry_should(rc->method, rc->rc, &resp);
        if (got != rc->want)
            fail_msg("%s: got %d", rc->name, got);
        krc_http_response_release(&resp);
    }
}

static void test_backoff_doubles_within_jitter_and_is_capped(void **state)
{
    (void)state;
    long prev_max = 0;
    for (int attempt = 0; attempt < 12; attempt++) {
        long lo = krc_retry_delay_ms(attempt, -1, 0);
        long hi = krc_retry_delay_ms(attempt, -1, UINT64_MAX - 1);
        long mid = krc_retry_delay_ms(attempt, -1, 12345);
        long full = KRC_CLIENT_RETRY_BASE_MS << (attempt < 10 ? attempt : 10);
        if (full > KRC_CLIENT_RETRY_MAX_MS)
            full = KRC_CLIENT_RETRY_MAX_MS;
        if (lo != full / 2)
            fail_msg("attempt %d: lower bound %ld, want %ld", attempt, lo, full / 2);
        assert_true(hi <= full && mid >= lo && mid <= full);
        assert_true(hi >= prev_max / 2); /* never shrinks */
        prev_max = hi;
    }
    assert_int_equal(krc_retry_delay_ms(30, -1, 7) <= KRC_CLIENT_RETRY_MAX_MS, 1);
}

static void test_retry_after_is_honoured_and_capped(void **state)
{
    (void)state;
    assert_int_equal(krc_retry_delay_ms(0, 3, 99), 3000);
    assert_int_equal(krc_retry_delay_ms(5, 1, 99), 1000);
    assert_int_equal(krc_retry_delay_ms(0, 3600, 99), KRC_CLIENT_RETRY_AFTER_MAX_S * 1000);
}

static void test_idempotent_methods(void **state)
{
    (void)state;
    assert_true(krc_retry_idempotent("GET") && krc_retry_idempotent("PUT") &&
                krc_retry_idempotent("DELETE"));
    assert_false(krc_retry_idempotent("POST") || krc_retry_idempotent("PATCH"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_policy_by_method_and_outcome),
        cmocka_unit_test(test_backoff_doubles_within_jitter_and_is_capped),
        cmocka_unit_test(test_retry_after_is_honoured_and_capped),
        cmocka_unit_test(test_idempotent_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
