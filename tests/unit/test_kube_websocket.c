/* Unit tests for kube/websocket (RFC 6455 keys and framing) and the pure parts of kube/exec (the
 * exec URL and the error channel's Status): RFC examples byte for byte, every length encoding,
 * partial input, and each kind of frame the RFC forbids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/exec.h"
#include "kube/websocket.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/strbuf.h"

enum { BIG = 70000 };

static void test_accept_key_matches_the_rfc_example(void **state)
{
    (void)state;
    char accept[KRC_WS_ACCEPT_LEN + 1];
    krc_ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", accept); /* RFC 6455 1.3 */
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_made_keys_are_16_random_bytes_in_base64(void **state)
{
    (void)state;
    char a[KRC_WS_KEY_LEN + 1], b[KRC_WS_KEY_LEN + 1];
    char *raw = NULL;
    size_t n = 0;
    assert_int_equal(krc_ws_make_key(a), 0);
    assert_int_equal(krc_ws_make_key(b), 0);
    assert_int_equal(strlen(a), KRC_WS_KEY_LEN);
    assert_string_not_equal(a, b);
    assert_int_equal(krc_base64_decode(a, strlen(a), &raw, &n, NULL), 0);
    assert_int_equal(n, 16);
    free(raw);
}

static void test_frames_match_the_rfc_examples(void **state)
{
    (void)state;
    static const unsigned char unmasked[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const unsigned char masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                           0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const unsigned char mask[] = {0x37, 0xfa, 0x21, 0x3d};
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_int_equal(krc_ws_encode(&sb, KRC_WS_OP_TEXT, 1, "Hello", 5, NULL), 0);
    assert_int_equal(sb.len, sizeof(unmasked));
    assert_memory_equal(sb.buf, unmasked, sizeof(unmasked));
    krc_strbuf_reset(&sb);
    assert_int_equal(krc_ws_encode(&sb, KRC_WS_OP_TEXT, 1, "Hello", 5, mask), 0);
    assert_int_equal(sb.len, sizeof(masked));
    assert_memory_equal(sb.buf, masked, sizeof(masked));

    struct krc_ws_frame f;
    char why[96];
    assert_int_equal(krc_ws_decode((unsigned char *)sb.buf, sb.len, 100, 1, &f, why, sizeof(why)),
                     (long)sizeof(masked));
    assert_int_equal(f.fin, 1);
    assert_int_equal(f.opcode, KRC_WS_OP_TEXT);
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.payload, "Hello", 5);
    krc_strbuf_release(&sb);
}

/* Every length encoding (7-bit, 16-bit, 64-bit) at its edges, masked and not. */
static void test_every_length_round_trips(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, BIG};
    static const size_t hdr[] = {2, 2, 2, 4, 4, 4, 10, 10};
    static const unsigned char mask[] = {1, 2, 3, 4};
    char *payload = malloc(BIG);
    assert_non_null(payload);
    for (size_t i = 0; i < BIG; i++)
        payload[i] = (char)(i * 7);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (int m = 0; m < 2; m++) {
            struct krc_strbuf sb = KRC_STRBUF_INIT;
            struct krc_ws_frame f;
            char why[96];
            assert_int_equal(
                krc_ws_encode(&sb, KRC_WS_OP_BINARY, 0, payload, lens[i], m ? mask : NULL), 0);
            assert_int_equal(sb.len, hdr[i] + (m ? 4 : 0) + lens[i]);
            /* Any prefix is "need more", never an error. */
            for (size_t cut = 0; cut < sb.len; cut += cut < 16 ? 1 : 4099)
                assert_int_equal(
                    krc_ws_decode((unsigned char *)sb.buf, cut, BIG, m, &f, why, sizeof(why)), 0);
            assert_int_equal(
                krc_ws_decode((unsigned char *)sb.buf, sb.len, BIG, m, &f, why, sizeof(why)),
                (long)sb.len);
            assert_int_equal(f.fin, 0);
            assert_int_equal(f.opcode, KRC_WS_OP_BINARY);
            assert_int_equal(f.len, lens[i]);
            if (lens[i])
                assert_memory_equal(f.payload, payload, lens[i]);
            krc_strbuf_release(&sb);
        }
    }
    free(payload);
}

struct bad_case {
    const char *what;
    unsigned char bytes[16];
    size_t len;
    size_t max;
    int expect_masked;
    long want;
};

static void test_forbidden_frames_are_refused(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"reserved bit", {0xC1, 0x00}, 2, 100, 0, KRC_EINVAL},
        {"reserved data opcode", {0x83, 0x00}, 2, 100, 0, KRC_EINVAL},
        {"reserved control opcode", {0x8B, 0x00}, 2, 100, 0, KRC_EINVAL},
        {"fragmented ping", {0x09, 0x00}, 2, 100, 0, KRC_EINVAL},
        {"control frame over 125", {0x88, 0x7E, 0x00, 0x7E}, 4, 1000, 0, KRC_EINVAL},
        {"masked frame from the server", {0x82, 0x80, 1, 2, 3, 4}, 6, 100, 0, KRC_EINVAL},
        {"unmasked frame from a client", {0x82, 0x00}, 2, 100, 1, KRC_EINVAL},
        {"16-bit length under 126", {0x82, 0x7E, 0x00, 0x05}, 4, 100, 0, KRC_EINVAL},
        {"64-bit length under 65536",
         {0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0x01, 0x00},
         10,
         1000,
         0,
         KRC_EINVAL},
        {"64-bit length top bit", {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, 100, 0, KRC_EINVAL},
        {"over the limit", {0x82, 0x7E, 0x10, 0x00}, 4, 4095, 0, KRC_ETOOLARGE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char buf[16];
        struct krc_ws_frame f;
        char why[96] = "";
        memcpy(buf, cases[i].bytes, sizeof(buf));
        long got = krc_ws_decode(buf, cases[i].len, cases[i].max, cases[i].expect_masked, &f, why,
                                 sizeof(why));
        if (got != cases[i].want)
            fail_msg("%s: got %ld, want %ld", cases[i].what, got, cases[i].want);
        if (!why[0])
            fail_msg("%s: no reason given", cases[i].what);
    }
}

static void test_control_frames_decode_with_their_payload(void **state)
{
    (void)state;
    unsigned char close[] = {0x88, 0x02, 0x03, 0xE8, 0x89, 0x00};
    struct krc_ws_frame f;
    char why[96];
    assert_int_equal(krc_ws_decode(close, sizeof(close), 100, 0, &f, why, sizeof(why)), 4);
    assert_int_equal(f.opcode, KRC_WS_OP_CLOSE);
    assert_int_equal(f.len, 2);
    assert_int_equal(f.payload[0] << 8 | f.payload[1], KRC_WS_CLOSE_NORMAL);
    assert_int_equal(krc_ws_decode(close + 4, 2, 100, 0, &f, why, sizeof(why)), 2);
    assert_int_equal(f.opcode, KRC_WS_OP_PING);
    assert_int_equal(f.len, 0);
}

static void test_exec_path_repeats_command_and_escapes_arguments(void **state)
{
    (void)state;
    const char *argv[] = {"tar", "-cf", "-", "-C", "/tmp/ray/session_latest/logs/", "."};
    struct krc_exec_opts o = {.ns = "default",
                              .pod = "head-0",
                              .container = "ray-head",
                              .argv = argv,
                              .argc = 6,
                              .want_stderr = 1};
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    struct krc_error err;
    assert_int_equal(krc_exec_build_path(&o, &sb, &err), 0);
    assert_string_equal(sb.buf, "/api/v1/namespaces/default/pods/head-0/exec?command=tar"
                                "&command=-cf&command=-&command=-C"
                                "&command=%2Ftmp%2Fray%2Fsession_latest%2Flogs%2F&command=."
                                "&container=ray-head&stdout=true&stderr=true");
    krc_strbuf_reset(&sb);
    o.argc = 0;
    assert_int_equal(krc_exec_build_path(&o, &sb, &err), KRC_EINVAL);
    krc_strbuf_release(&sb);
}

struct status_case {
    const char *json;
    int want_rc;
    int want_exit;
    const char *msg_part; /* in the error message when want_rc != 0 */
};

static void test_exec_status_gives_the_exit_code(void **state)
{
    (void)state;
    static const struct status_case cases[] = {
        {"{\"metadata\":{},\"status\":\"Success\"}", 0, 0, NULL},
        {"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"message\":\"command "
         "terminated with non-zero exit code: exit status 3\",\"details\":{\"causes\":[{"
         "\"reason\":\"ExitCode\",\"message\":\"3\"}]}}",
         0, 3, NULL},
        {"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{"
         "\"reason\":\"ExitCode\",\"message\":\"x\"}]}}",
         KRC_EINVAL, -1, "without an exit code"},
        {"{\"status\":\"Failure\",\"reason\":\"InternalError\",\"message\":\"executable file "
         "not found\"}",
         KRC_EIO, -1, "executable file not found"},
        {"not json", KRC_EINVAL, -1, "no Status"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct krc_error err = {0, ""};
        int code = 42;
        int rc = krc_exec_parse_status(cases[i].json, strlen(cases[i].json), &code, &err);
        if (rc != cases[i].want_rc || code != cases[i].want_exit)
            fail_msg("case %zu: rc %d exit %d, want rc %d exit %d", i, rc, code, cases[i].want_rc,
                     cases[i].want_exit);
        if (cases[i].msg_part && !strstr(err.msg, cases[i].msg_part))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, cases[i].msg_part);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key_matches_the_rfc_example),
        cmocka_unit_test(test_made_keys_are_16_random_bytes_in_base64),
        cmocka_unit_test(test_frames_match_the_rfc_examples),
        cmocka_unit_test(test_every_length_round_trips),
        cmocka_unit_test(test_forbidden_frames_are_refused),
        cmocka_unit_test(test_control_frames_decode_with_their_payload),
        cmocka_unit_test(test_exec_path_repeats_command_and_escapes_arguments),
        cmocka_unit_test(test_exec_status_gives_the_exit_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
