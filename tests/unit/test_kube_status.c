/* Unit tests for kube/status: Kubernetes Status bodies (and bodies that are not Statuses) become
 * typed errors whose message names the call, the code, the reason and the server's explanation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kube/status.h"
#include "util/error.h"

struct status_case {
    const char *name;
    long http;
    const char *body;
    int code;
    const char *want[3]; /* fragments the message must contain */
};

#define STATUS(code, reason, msg)                                                                  \
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","           \
    "\"message\":\"" msg "\",\"reason\":\"" reason "\",\"code\":" #code "}"

static const struct status_case cases[] = {
    {"not-found",
     404,
     STATUS(404, "NotFound", "configmaps \\\"x\\\" not found"),
     KRC_ENOTFOUND,
     {"get configmaps default/x: 404 NotFound: configmaps \"x\" not found"}},
    {"already-exists",
     409,
     STATUS(409, "AlreadyExists", "configmaps \\\"x\\\" already exists"),
     KRC_EEXIST,
     {"409 AlreadyExists", "already exists"}},
    {"conflict",
     409,
     STATUS(409, "Conflict",
            "Operation cannot be fulfilled on configmaps \\\"x\\\": the object has "
            "been modified; please apply your changes to the latest version"),
     KRC_ECONFLICT,
     {"409 Conflict", "has been modified"}},
    {"conflict-without-reason",
     409,
     "{\"kind\":\"Status\",\"code\":409}",
     KRC_ECONFLICT,
     {"409", "(no message)"}},
    {"gone",
     410,
     STATUS(410, "Gone", "too old resource version: 1 (2)"),
     KRC_EGONE,
     {"410 Gone", "too old resource version"}},
    {"expired-continue",
     410,
     STATUS(410, "Expired",
            "The provided continue parameter is too old to display a consistent "
            "list result."),
     KRC_EGONE,
     {"410 Expired"}},
    {"unauthorized",
     401,
     STATUS(401, "Unauthorized", "Unauthorized"),
     KRC_EUNAUTHORIZED,
     {"401 Unauthorized"}},
    {"forbidden",
     403,
     STATUS(403, "Forbidden", "configmaps is forbidden: User \\\"bob\\\" cannot get resource"),
     KRC_EFORBIDDEN,
     {"403 Forbidden", "User \"bob\""}},
    {"bad-request",
     400,
     STATUS(400, "BadRequest", "the body of the request was in an unknown format"),
     KRC_EINVAL,
     {"400 BadRequest"}},
    {"timeout",
     504,
     STATUS(504, "Timeout", "Timeout: request did not complete within 60s"),
     KRC_ETIMEOUT,
     {"504 Timeout"}},
    {"too-many-requests",
     429,
     STATUS(429, "TooManyRequests", "please try again later"),
     KRC_ESERVER,
     {"429 TooManyRequests"}},
    {"internal",
     500,
     STATUS(500, "InternalError", "etcdserver: request timed out"),
     KRC_ESERVER,
     {"500 InternalError", "etcdserver"}},
    {"too-large",
     413,
     STATUS(413, "RequestEntityTooLarge", "Request entity too large"),
     KRC_ETOOLARGE,
     {"413"}},
    /* 422: the causes are listed when the server's message does not already carry them. */
    {"invalid-with-causes",
     422,
     "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Invalid\",\"code\":422,"
     "\"message\":\"ConfigMap \\\"Bad_Name\\\" is invalid\","
     "\"details\":{\"name\":\"Bad_Name\",\"kind\":\"ConfigMap\",\"causes\":["
     "{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: \\\"Bad_Name\\\": a lowercase "
     "RFC 1123 subdomain\",\"field\":\"metadata.name\"},"
     "{\"reason\":\"FieldValueRequired\",\"message\":\"Required value\",\"field\":\"spec.x\"}]}}",
     KRC_EINVALID,
     {"422 Invalid", "metadata.name: Invalid value", "spec.x: Required value"}},
    {"invalid-message-has-causes",
     422,
     "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"code\":422,"
     "\"message\":\"X is invalid: spec.x: Required value\","
     "\"details\":{\"causes\":[{\"message\":\"Required value\",\"field\":\"spec.x\"}]}}",
     KRC_EINVALID,
     {"X is invalid: spec.x: Required value"}},
    /* Bodies that are not a Status still get a typed error from the HTTP code. */
    {"html-from-a-proxy",
     502,
     "<html><body>Bad Gateway</body></html>",
     KRC_ESERVER,
     {"HTTP 502", "<html><body>Bad Gateway"}},
    {"truncated-json", 404, "{\"kind\":\"Status\",\"code\":40", KRC_ENOTFOUND, {"HTTP 404"}},
    {"empty-body", 403, "", KRC_EFORBIDDEN, {"HTTP 403 (empty body)"}},
    {"json-not-a-status", 409, "{\"kind\":\"ConfigMap\"}", KRC_ECONFLICT, {"HTTP 409"}},
    {"status-with-wrong-types",
     404,
     "{\"kind\":\"Status\",\"reason\":7,\"message\":[1]}",
     KRC_ENOTFOUND,
     {"404 NotFound: (no message)"}},
    {"control-bytes-are-not-copied", 500, "a\x01\x02\nb", KRC_ESERVER, {"HTTP 500: a   b"}},
};

static void test_status_bodies_map_to_typed_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct status_case *sc = &cases[i];
        struct krc_error err = {0, ""};
        int rc = krc_status_error(sc->http, sc->body, strlen(sc->body), "get configmaps default/x",
                                  &err);
        if (rc != sc->code || err.code != sc->code)
            fail_msg("case %s: got %d/%d (%s), want %d", sc->name, rc, err.code, err.msg, sc->code);
        if (strncmp(err.msg, "get configmaps default/x: ", 26) != 0)
            fail_msg("case %s: message does not start with the call: %s", sc->name, err.msg);
        for (int k = 0; k < 3 && sc->want[k]; k++)
            if (!strstr(err.msg, sc->want[k]))
                fail_msg("case %s: message lacks \"%s\": %s", sc->name, sc->want[k], err.msg);
    }
}

static void test_long_bodies_are_cut_to_an_excerpt(void **state)
{
    (void)state;
    char body[4096];
    struct krc_error err = {0, ""};
    memset(body, 'x', sizeof(body));
    assert_int_equal(krc_status_error(503, body, sizeof(body), "list pods", &err), KRC_ESERVER);
    assert_non_null(strstr(err.msg, "..."));
    assert_true(strlen(err.msg) < 300);
}

static void test_long_server_message_is_cut_not_lost(void **state)
{
    (void)state;
    char body[2048];
    char msg[1200];
    struct krc_error err = {0, ""};
    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    snprintf(body, sizeof(body),
             "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"code\":422,"
             "\"message\":\"%s\"}",
             msg);
    assert_int_equal(krc_status_error(422, body, strlen(body), "create configmaps ns/x", &err),
                     KRC_EINVALID);
    assert_int_equal(strlen(err.msg), KRC_ERROR_MSG_MAX - 1);
    assert_non_null(strstr(err.msg, "create configmaps ns/x: 422 Invalid: mmmm"));
}

static void test_many_causes_fit_the_fixed_message_buffer(void **state)
{
    (void)state;
    json_t *causes = json_array();
    for (int i = 0; i < 200; i++)
        json_array_append_new(causes, json_pack("{s:s, s:s}", "field", "spec.containers[0].image",
                                                "message", "Required value"));
    json_t *st = json_pack("{s:s, s:s, s:i, s:s, s:{s:o}}", "kind", "Status", "reason", "Invalid",
                           "code", 422, "message", "invalid", "details", "causes", causes);
    struct krc_error err = {0, ""};
    assert_int_equal(krc_status_error_json(st, "create pods ns/p", &err), KRC_EINVALID);
    assert_true(strlen(err.msg) < KRC_ERROR_MSG_MAX);
    assert_non_null(strstr(err.msg, "create pods ns/p: 422 Invalid: invalid [causes: spec."));
    json_decref(st);
}

static void test_watch_error_event_status_uses_its_own_code(void **state)
{
    (void)state;
    json_t *st = json_pack("{s:s, s:s, s:s, s:i}", "kind", "Status", "reason", "Expired", "message",
                           "too old resource version: 5 (900)", "code", 410);
    struct krc_error err = {0, ""};
    assert_int_equal(krc_status_error_json(st, "watch configmaps", &err), KRC_EGONE);
    assert_non_null(strstr(err.msg, "watch configmaps: 410 Expired: too old resource version"));
    json_decref(st);

    st = json_pack("{s:s}", "kind", "Status"); /* no code at all */
    assert_int_equal(krc_status_error_json(st, "watch pods", &err), KRC_ESERVER);
    assert_non_null(strstr(err.msg, "500"));
    json_decref(st);
}

static void test_code_mapping_prefers_expired_reason(void **state)
{
    (void)state;
    assert_int_equal(krc_status_code_to_error(500, "Expired"), KRC_EGONE);
    assert_int_equal(krc_status_code_to_error(409, "AlreadyExists"), KRC_EEXIST);
    assert_int_equal(krc_status_code_to_error(409, NULL), KRC_ECONFLICT);
    assert_int_equal(krc_status_code_to_error(418, ""), KRC_ESERVER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_bodies_map_to_typed_errors),
        cmocka_unit_test(test_long_bodies_are_cut_to_an_excerpt),
        cmocka_unit_test(test_long_server_message_is_cut_not_lost),
        cmocka_unit_test(test_many_causes_fit_the_fixed_message_buffer),
        cmocka_unit_test(test_watch_error_event_status_uses_its_own_code),
        cmocka_unit_test(test_code_mapping_prefers_expired_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
