/* Unit tests for kube/retry: which outcomes are retried for which methods, and the backoff
 * delays (exponential, capped, jittered into the upper half; Retry-After honoured and capped), and
 * the Retry-After parser (delay-seconds and the three HTTP-date forms, malformed values). */
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

/* ---- Retry-After values ---- */

#define RFC_EXAMPLE 784111777LL  /* Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example date */
#define Y2026       1767225600LL /* Thu, 01 Jan 2026 00:00:00 GMT */
#define BAD         -1           /* KRC_EINVAL expected */

static const struct retry_after_case {
    const char *what, *value;
    long long now;
    long want; /* seconds, or BAD */
} RETRY_AFTER[] = {
    {"delay-seconds", "3", RFC_EXAMPLE, 3},
    {"zero seconds", "0", RFC_EXAMPLE, 0},
    {"seconds with surrounding spaces", " \t7 ", RFC_EXAMPLE, 7},
    {"seconds over the cap", "120", RFC_EXAMPLE, KRC_CLIENT_RETRY_AFTER_MAX_S},
    {"seconds overflowing a long", "99999999999999999999999", RFC_EXAMPLE,
     KRC_CLIENT_RETRY_AFTER_MAX_S},
    {"IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE - 30, 30},
    {"RFC 850 date", "Sunday, 06-Nov-94 08:49:37 GMT", RFC_EXAMPLE - 30, 30},
    {"asctime date, one-digit day", "Sun Nov  6 08:49:37 1994", RFC_EXAMPLE - 30, 30},
    {"asctime date, two-digit day", "Wed Nov 16 08:49:37 1994", RFC_EXAMPLE + 10 * 86400 - 2, 2},
    {"a leap day", "Thu, 29 Feb 1996 00:00:00 GMT", 825552000LL - 5, 5},
    {"a leap second", "Sun, 06 Nov 1994 08:49:60 GMT", RFC_EXAMPLE, 23},
    {"the last second of a century leap year", "Tue, 29 Feb 2000 23:59:59 GMT", 951868799LL - 1, 1},
    {"a date over the cap", "Fri, 31 Dec 9999 23:59:59 GMT", RFC_EXAMPLE,
     KRC_CLIENT_RETRY_AFTER_MAX_S},
    {"a date now", "Sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE, 0},
    {"a date in the past", "Sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE + 100, 0},
    {"an RFC 850 date in the past", "Sunday, 06-Nov-94 08:49:37 GMT", RFC_EXAMPLE + 1, 0},
    {"an asctime date in the past", "Sun Nov  6 08:49:37 1994", Y2026, 0},
    /* Two-digit years: within 50 years ahead they are in the future, beyond that in the past. */
    {"RFC 850 year 26 in 2026", "Thursday, 01-Jan-26 00:00:09 GMT", Y2026, 9},
    {"RFC 850 year 76 from 2026 is 2076", "Wednesday, 01-Jan-76 00:00:00 GMT", Y2026,
     KRC_CLIENT_RETRY_AFTER_MAX_S},
    {"RFC 850 year 77 from 2026 is 1977", "Saturday, 01-Jan-77 00:00:00 GMT", Y2026, 0},
    {"no value", "", RFC_EXAMPLE, BAD},
    {"only spaces", "   ", RFC_EXAMPLE, BAD},
    {"negative seconds", "-5", RFC_EXAMPLE, BAD},
    {"a sign", "+5", RFC_EXAMPLE, BAD},
    {"a fraction", "1.5", RFC_EXAMPLE, BAD},
    {"a unit", "5s", RFC_EXAMPLE, BAD},
    {"another zone", "Sun, 06 Nov 1994 08:49:37 UTC", RFC_EXAMPLE, BAD},
    {"no zone", "Sun, 06 Nov 1994 08:49:37", RFC_EXAMPLE, BAD},
    {"a lowercase day name", "sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE, BAD},
    {"a localised month name", "Sun, 06 Okt 1994 08:49:37 GMT", RFC_EXAMPLE, BAD},
    {"a one-digit IMF day", "Sun, 6 Nov 1994 08:49:37 GMT", RFC_EXAMPLE, BAD},
    {"a two-digit IMF year", "Sun, 06 Nov 94 08:49:37 GMT", RFC_EXAMPLE, BAD},
    {"a day the month lacks", "Thu, 31 Nov 1994 08:49:37 GMT", RFC_EXAMPLE, BAD},
    {"29 February of a common year", "Sat, 29 Feb 1997 00:00:00 GMT", RFC_EXAMPLE, BAD},
    {"29 February of 1900", "Thu, 29 Feb 1900 00:00:00 GMT", RFC_EXAMPLE, BAD},
    {"day zero", "Sun, 00 Nov 1994 08:49:37 GMT", RFC_EXAMPLE, BAD},
    {"hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", RFC_EXAMPLE, BAD},
    {"minute 60", "Sun, 06 Nov 1994 08:60:00 GMT", RFC_EXAMPLE, BAD},
    {"trailing text", "Sun, 06 Nov 1994 08:49:37 GMT x", RFC_EXAMPLE, BAD},
    {"a short day name in RFC 850", "Sun, 06-Nov-94 08:49:37 GMT", RFC_EXAMPLE, BAD},
    {"a long day name in IMF-fixdate", "Sunday, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE, BAD},
    {"asctime with one space before a one-digit day", "Sun Nov 6 08:49:37 1994", RFC_EXAMPLE, BAD},
    {"asctime with a zone", "Sun Nov  6 08:49:37 GMT 1994", RFC_EXAMPLE, BAD},
    {"a truncated date", "Sun, 06 Nov 19", RFC_EXAMPLE, BAD},
};

static void test_retry_after_values_in_seconds_and_every_http_date_form(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(RETRY_AFTER) / sizeof(RETRY_AFTER[0]); i++) {
        const struct retry_after_case *c = &RETRY_AFTER[i];
        long got = -42;
        int rc = krc_retry_after_parse(c->value, c->now, &got);
        if (c->want == BAD && (rc != KRC_EINVAL || got != -42))
            fail_msg("%s (\"%s\"): rc %d, seconds %ld; want KRC_EINVAL, untouched", c->what,
                     c->value, rc, got);
        if (c->want != BAD && (rc != 0 || got != c->want))
            fail_msg("%s (\"%s\"): rc %d, seconds %ld; want %ld", c->what, c->value, rc, got,
                     c->want);
    }
    long got = -42;
    assert_int_equal(krc_retry_after_parse(NULL, RFC_EXAMPLE, &got), KRC_EINVAL);
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
        cmocka_unit_test(test_retry_after_values_in_seconds_and_every_http_date_form),
        cmocka_unit_test(test_idempotent_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
