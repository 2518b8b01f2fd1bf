/* Unit tests for util/gojson: JSON text as Go's encoding/json writes it (numbers, escapes, key
 * order), the part of KubeRay's output that jansson's dumper would get wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/gojson.h"

static void assert_encoded(json_t *v, const char *want)
{
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    if (gojson_encode(v, &sb, &err))
        fail_msg("encode: %s", err.msg);
    if (strcmp(sb.buf, want) != 0)
        fail_msg("got [%s] want [%s]", sb.buf, want);
    krc_strbuf_release(&sb);
    json_decref(v);
}

static void test_float64_uses_shortest_form_and_go_exponent_rules(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {1.0, "1"},
        {-0.0, "-0"},
        {0.1, "0.1"},
        {1.5, "1.5"},
        {100, "100"},
        {0.000001, "0.000001"},
        {1e-7, "1e-7"},
        {1.25e-10, "1.25e-10"},
        {123456789012345680000.0, "123456789012345680000"},
        {1e21, "1e+21"},
        {1.5e300, "1.5e+300"},
        {-2.5e-8, "-2.5e-8"},
        {1.0 / 3.0, "0.3333333333333333"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_encoded(json_real(cases[i].v), cases[i].want);
}

static void test_float32_shortest(void **state)
{
    (void)state;
    static const struct {
        float v;
        const char *want;
    } cases[] = {
        {1.1f, "1.1"},   {0.5f, "0.5"},          {2.0f, "2"},   {16777217.0f, "16777216"},
        {1e-7f, "1e-7"}, {3e10f, "30000000000"}, {0.1f, "0.1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct krc_strbuf sb = KRC_STRBUF_INIT;
        assert_int_equal(gojson_encode_float32(cases[i].v, &sb), 0);
        if (strcmp(sb.buf, cases[i].want) != 0)
            fail_msg("float32 %g: got [%s] want [%s]", (double)cases[i].v, sb.buf, cases[i].want);
        krc_strbuf_release(&sb);
    }
}

static void test_strings_escape_as_go(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
        {"\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\""},
        {"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\""},
        {"<a href='x'>&</a>", 17, "\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\""},
        {"line\xe2\x80\xa8para\xe2\x80\xa9", 14, "\"line\\u2028para\\u2029\""},
        {"bad\xff", 4, "\"bad\\ufffd\""},
        {"caf\xc3\xa9/", 6, "\"caf\xc3\xa9/\""},
        {"nul\0x", 5, "\"nul\\u0000x\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct krc_strbuf sb = KRC_STRBUF_INIT;
        assert_int_equal(gojson_encode_string(cases[i].in, cases[i].len, &sb), 0);
        if (strcmp(sb.buf, cases[i].want) != 0)
            fail_msg("case %zu: got [%s] want [%s]", i, sb.buf, cases[i].want);
        krc_strbuf_release(&sb);
    }
}

static void test_objects_sorted_bytewise_and_compact(void **state)
{
    (void)state;
    assert_encoded(json_pack("{s:i,s:i,s:i,s:[b,n]}", "b", 1, "B", 2, "a", 3, "\xc3\xa9", 1, 0),
                   "{\"B\":2,\"a\":3,\"b\":1,\"\xc3\xa9\":[true,null]}");
    assert_encoded(json_object(), "{}");
    assert_encoded(json_array(), "[]");
}

static void test_nonfinite_yaml_values_fail_but_keys_are_text(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *msg;
    } bad[] = {{"x: .nan", "json: unsupported value: NaN"},
               {"x: [1, .Inf]", "json: unsupported value: +Inf"},
               {"x: {y: -.INF}", "json: unsupported value: -Inf"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *y = (json_t *)1;
        struct krc_error err = {0};
        assert_int_equal(gojson_yaml_to_json(bad[i].yaml, strlen(bad[i].yaml), &y, &err),
                         KRC_EINVAL);
        assert_null(y);
        assert_string_equal(err.msg, bad[i].msg);
    }
    json_t *y = NULL;
    assert_int_equal(gojson_yaml_to_json(".nan: 1\n+.inf: 2", 16, &y, NULL), 0);
    assert_encoded(y, "{\".inf\":2,\".nan\":1}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float64_uses_shortest_form_and_go_exponent_rules),
        cmocka_unit_test(test_float32_shortest),
        cmocka_unit_test(test_strings_escape_as_go),
        cmocka_unit_test(test_objects_sorted_bytewise_and_compact),
        cmocka_unit_test(test_nonfinite_yaml_values_fail_but_keys_are_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
