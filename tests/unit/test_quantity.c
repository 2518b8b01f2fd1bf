/* Unit tests for util/quantity: parsing, canonical printing, accessors and arithmetic, checked
 * against the expectations in Kubernetes' own tests (k8s.io/apimachinery/pkg/api/resource
 * quantity_test.go and quantity_example_test.go), plus the limits quantity.h documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/quantity.h"

#define DSI  KRC_QUANTITY_DECIMAL_SI
#define BIN  KRC_QUANTITY_BINARY_SI
#define DEXP KRC_QUANTITY_DECIMAL_EXPONENT
/* An expected value or milli-value of "ERANGE": the accessor must fail with KRC_ERANGE. */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct parse_case {
    const char *in;
    const char *canonical; /* Kubernetes' canonical String() */
    enum krc_quantity_format format;
    const char *value; /* Value() */
    const char *milli; /* MilliValue() */
};

/* Inputs from Kubernetes' tests. The canonical column is the form Kubernetes prints once the value
 * is re-serialised; for "1E6", "100.035k", "1." and a few others its String() echoes the input
 * instead (kubernetes/kubernetes#138165), see test_string_is_canonical_where_kubernetes_echoes. */
static const struct parse_case parse_cases[] = {
    /* TestQuantityParse: zeros, then binary, decimal and exponent suffixes. */
    {"0", "0", DSI, "0", "0"},
    {"0n", "0", DSI, "0", "0"},
    {"0u", "0", DSI, "0", "0"},
    {"0m", "0", DSI, "0", "0"},
    {"0Ki", "0", BIN, "0", "0"},
    {"0k", "0", DSI, "0", "0"},
    {"0Mi", "0", BIN, "0", "0"},
    {"0M", "0", DSI, "0", "0"},
    {"0Gi", "0", BIN, "0", "0"},
    {"0G", "0", DSI, "0", "0"},
    {"0Ti", "0", BIN, "0", "0"},
    {"0T", "0", DSI, "0", "0"},
    {"00", "0", DSI, "0", "0"},
    {"1", "1", DSI, "1", "1000"},
    {"1Ki", "1Ki", BIN, "1024", "1024000"},
    {"8Ki", "8Ki", BIN, "8192", "8192000"},
    {"7Mi", "7Mi", BIN, "7340032", "7340032000"},
    {"6Gi", "6Gi", BIN, "6442450944", "6442450944000"},
    {"5Ti", "5Ti", BIN, "5497558138880", "5497558138880000"},
    {"4Pi", "4Pi", BIN, "4503599627370496", "4503599627370496000"},
    {"3Ei", "3Ei", BIN, "3458764513820540928", "ERANGE"},
    {"10Ti", "10Ti", BIN, "10995116277760", "10995116277760000"},
    {"100Ti", "100Ti", BIN, "109951162777600", "109951162777600000"},
    {"5n", "5n", DSI, "1", "1"},
    {"4u", "4u", DSI, "1", "1"},
    {"3m", "3m", DSI, "1", "3"},
    {"9", "9", DSI, "9", "9000"},
    {"8k", "8k", DSI, "8000", "8000000"},
    {"50k", "50k", DSI, "50000", "50000000"},
    {"7M", "7M", DSI, "7000000", "7000000000"},
    {"6G", "6G", DSI, "6000000000", "6000000000000"},
    {"5T", "5T", DSI, "5000000000000", "5000000000000000"},
    {"40T", "40T", DSI, "40000000000000", "40000000000000000"},
    {"300T", "300T", DSI, "300000000000000", "300000000000000000"},
    {"2P", "2P", DSI, "2000000000000000", "2000000000000000000"},
    {"1E", "1E", DSI, "1000000000000000000", "ERANGE"},
    {"1E-3", "1e-3", DEXP, "1", "1"},
    {"1e3", "1e3", DEXP, "1000", "1000000"},
    {"1E6", "1e6", DEXP, "1000000", "1000000000"},
    {"1e9", "1e9", DEXP, "1000000000", "1000000000000"},
    {"1E12", "1e12", DEXP, "1000000000000", "1000000000000000"},
    {"1e15", "1e15", DEXP, "1000000000000000", "1000000000000000000"},
    {"1E18", "1e18", DEXP, "1000000000000000000", "ERANGE"},
    {"1e14", "100e12", DEXP, "100000000000000", "100000000000000000"},
    {"1e13", "10e12", DEXP, "10000000000000", "10000000000000000"},
    /* TestQuantityParse: non-standard but parsable, and things that look like floating point. */
    {"100.035k", "100035", DSI, "100035", "100035000"},
    {"0.001", "1m", DSI, "1", "1"},
    {"0.0005k", "500m", DSI, "1", "500"},
    {"0.005", "5m", DSI, "1", "5"},
    {"0.05", "50m", DSI, "1", "50"},
    {"0.5", "500m", DSI, "1", "500"},
    {"0.00050k", "500m", DSI, "1", "500"},
    {"0.00500", "5m", DSI, "1", "5"},
    {"0.05000", "50m", DSI, "1", "50"},
    {"0.50000", "500m", DSI, "1", "500"},
    {"0.5e0", "500e-3", DEXP, "1", "500"},
    {"0.5e-1", "50e-3", DEXP, "1", "50"},
    {"0.5e-2", "5e-3", DEXP, "1", "5"},
    {"10.035M", "10035k", DSI, "10035000", "10035000000"},
    {"1.2e3", "1200", DEXP, "1200", "1200000"},
    {"1.3E+6", "1300e3", DEXP, "1300000", "1300000000"},
    {"1.40e9", "1400e6", DEXP, "1400000000", "1400000000000"},
    {"1.53E12", "1530e9", DEXP, "1530000000000", "1530000000000000"},
    {"1.6e15", "1600e12", DEXP, "1600000000000000", "1600000000000000000"},
    {"1.7E18", "1700e15", DEXP, "1700000000000000000", "ERANGE"},
    {"9.01", "9010m", DSI, "10", "9010"},
    {"8.1k", "8100", DSI, "8100", "8100000"},
    {"7.123456M", "7123456", DSI, "7123456", "7123456000"},
    {"6.987654321G", "6987654321", DSI, "6987654321", "6987654321000"},
    {"5.444T", "5444G", DSI, "5444000000000", "5444000000000000"},
    {"40.1T", "40100G", DSI, "40100000000000", "40100000000000000"},
    {"300.2T", "300200G", DSI, "300200000000000", "300200000000000000"},
    {"2.5P", "2500T", DSI, "2500000000000000", "2500000000000000000"},
    {"1.01E", "1010P", DSI, "1010000000000000000", "ERANGE"},
    /* TestQuantityParse: rounding up to a nano, the binary cap, fractional binary, "trolls". */
    {"3.001n", "4n", DSI, "1", "1"},
    {"1.1E-9", "2e-9", DEXP, "1", "1"},
    {"0.0000000001", "1n", DSI, "1", "1"},
    {"0.0000000005", "1n", DSI, "1", "1"},
    {"0.00000000050", "1n", DSI, "1", "1"},
    {"0.5e-9", "1e-9", DEXP, "1", "1"},
    {"0.9n", "1n", DSI, "1", "1"},
    {"0.00000012345", "124n", DSI, "1", "1"},
    {"0.00000012354", "124n", DSI, "1", "1"},
    {"9Ei", "9223372036854775807", BIN, "9223372036854775807", "ERANGE"},
    {"9223372036854775807Ki", "9223372036854775807", BIN, "9223372036854775807", "ERANGE"},
    {"12E", "12E", DSI, "ERANGE", "ERANGE"},
    {"100.035Ki", "102435840m", BIN, "102436", "102435840"},
    {"0.5Mi", "512Ki", BIN, "524288", "524288000"},
    {"0.05Gi", "53687091200m", BIN, "53687092", "53687091200"},
    {"0.025Ti", "27487790694400m", BIN, "27487790695", "27487790694400"},
    {"0.000000000001Ki", "2n", DSI, "1", "1"},
    {".001", "1m", DSI, "1", "1"},
    {".0001k", "100m", DSI, "1", "100"},
    {"1.", "1", DSI, "1", "1000"},
    {"1.G", "1G", DSI, "1000000000", "1000000000000"},
    /* TestQuantityString alternates and TestQuantityParseEmit: non-canonical in, canonical out. */
    {"1024Mi", "1Gi", BIN, "1073741824", "1073741824000"},
    {"307200Ki", "300Mi", BIN, "314572800", "314572800000"},
    {"1025024Mi", "1001Gi", BIN, "1074815565824", "1074815565824000"},
    {"1024Gi", "1Ti", BIN, "1099511627776", "1099511627776000"},
    {"5000m", "5", DSI, "5", "5000"},
    {"1000M", "1G", DSI, "1000000000", "1000000000000"},
    {"0.001T", "1G", DSI, "1000000000", "1000000000000"},
    {"1000u", "1m", DSI, "1", "1"},
    {"1.08", "1080m", DSI, "2", "1080"},
    {"1080000000n", "1080m", DSI, "2", "1080"},
    {".001e12", "1e9", DEXP, "1000000000", "1000000000000"},
    {"0.001e0", "1e-3", DEXP, "1", "1"},
    {"1000e-12", "1e-9", DEXP, "1", "1"},
    {".001Ki", "1024m", BIN, "2", "1024"},
    {".000001Ki", "1024u", DSI, "1", "2"},
    {".000000001Ki", "1024n", DSI, "1", "1"},
    {".000000000001Ki", "2n", DSI, "1", "1"},
    /* ExampleMustParse. */
    {"5Gi", "5Gi", BIN, "5368709120", "5368709120000"},
    {"5G", "5G", DSI, "5000000000", "5000000000000"},
    {"5300m", "5300m", DSI, "6", "5300"},
    {"5.4", "5400m", DSI, "6", "5400"},
    /* TestParseQuantity: around 10^18, 2^63 and 10^19, where Kubernetes leaves int64. */
    {"999999999999999999.1", "999999999999999999100m", DSI, "1000000000000000000", "ERANGE"},
    {"9999999999999999999", "9999999999999999999", DSI, "ERANGE", "ERANGE"},
    {"9999999999999999999000m", "9999999999999999999", DSI, "ERANGE", "ERANGE"},
    {"1000000000000000000", "1E", DSI, "1000000000000000000", "ERANGE"},
    {"1.0000000000000000001E", "1000000000000000000100m", DSI, "1000000000000000001", "ERANGE"},
    {"1.000000000000000001E", "1000000000000000001", DSI, "1000000000000000001", "ERANGE"},
    {"10E", "10E", DSI, "ERANGE", "ERANGE"},
    {"10.0000000000000000001E", "10000000000000000000100m", DSI, "ERANGE", "ERANGE"},
    {"9223372036854775807", "9223372036854775807", DSI, "9223372036854775807", "ERANGE"},
    {"9223372036854775807.1", "9223372036854775807100m", DSI, "ERANGE", "ERANGE"},
    {"9223372036854775808", "9223372036854775808", DSI, "ERANGE", "ERANGE"},
    {"8Ei", "9223372036854775807", BIN, "9223372036854775807", "ERANGE"},
    /* The forms this operator sees most. */
    {"1.5Gi", "1536Mi", BIN, "1610612736", "1610612736000"},
    {"1536Mi", "1536Mi", BIN, "1610612736", "1610612736000"},
    {"1000m", "1", DSI, "1", "1000"},
    {"100M", "100M", DSI, "100000000", "100000000000"},
    {"1.1", "1100m", DSI, "2", "1100"},
};

static const char *format_name(enum krc_quantity_format f)
{
    switch (f) {
    case KRC_QUANTITY_DECIMAL_SI:
        return "DecimalSI";
    case KRC_QUANTITY_BINARY_SI:
        return "BinarySI";
    case KRC_QUANTITY_DECIMAL_EXPONENT:
        return "DecimalExponent";
    }
    return "?";
}

/* Parses s, failing the test with the error message if that does not work. */
static struct krc_quantity must_parse(const char *s)
{
    struct krc_quantity q;
    struct krc_error err = {0};
    if (krc_quantity_parse(s, &q, &err) != 0)
        fail_msg("parse \"%s\": %s", s, err.msg);
    return q;
}

static void check_string(const char *what, const struct krc_quantity *q, const char *want)
{
    char got[KRC_QUANTITY_STR_MAX];
    assert_int_equal(krc_quantity_to_string(q, got, sizeof(got)), 0);
    if (strcmp(got, want) != 0)
        fail_msg("%s printed \"%s\", want \"%s\"", what, got, want);
}

/* Checks an accessor's result, written as a decimal string or "ERANGE", against want. */
static void check_int(const char *what, const char *in, int rc, int64_t got, const char *want)
{
    char s[32];
    if (rc == KRC_ERANGE)
        snprintf(s, sizeof(s), "ERANGE");
    else if (rc != 0)
        snprintf(s, sizeof(s), "rc %d", rc);
    else
        snprintf(s, sizeof(s), "%lld", (long long)got);
    if (strcmp(s, want) != 0)
        fail_msg("%s of \"%s\" is %s, want %s", what, in, s, want);
}

static void check_case(const char *in, const char *canonical, enum krc_quantity_format format,
                       const char *value, const char *milli)
{
    struct krc_quantity q = must_parse(in);
    char what[96];
    snprintf(what, sizeof(what), "\"%s\"", in);
    check_string(what, &q, canonical);
    if (q.format != format)
        fail_msg("\"%s\" has format %s, want %s", in, format_name(q.format), format_name(format));
    int64_t v = 0, m = 0;
    int rc = krc_quantity_value(&q, &v, NULL);
    check_int("value", in, rc, v, value);
    rc = krc_quantity_milli_value(&q, &m, NULL);
    check_int("milli-value", in, rc, m, milli);
}

/* "-" + s, except for zero and ERANGE. */
static void negate(char *out, size_t size, const char *s)
{
    int plain = strcmp(s, "0") == 0 || strcmp(s, "ERANGE") == 0;
    snprintf(out, size, "%s%s", plain ? "" : "-", s);
}

static void test_parse_table_matches_kubernetes(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        check_case(c->in, c->canonical, c->format, c->value, c->milli);
    }
}

/* As Kubernetes' test does: "-x" is the negation of "x" (rounding away from zero), "+x" is x. */
static void test_signed_inputs_mirror_the_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        char in[KRC_QUANTITY_INPUT_MAX + 2], want[KRC_QUANTITY_STR_MAX + 1];
        char value[32], milli[32];
        snprintf(in, sizeof(in), "+%s", c->in);
        check_case(in, c->canonical, c->format, c->value, c->milli);

        /* -2^63 fits in an int64 where 2^63 does not; test_value_limits has that edge. */
        if (strcmp(c->in, "9223372036854775808") == 0 ||
            strcmp(c->in, "9223372036854775807.1") == 0)
            continue;
        snprintf(in, sizeof(in), "-%s", c->in);
        negate(want, sizeof(want), c->canonical);
        negate(value, sizeof(value), c->value);
        negate(milli, sizeof(milli), c->milli);
        check_case(in, want, c->format, value, milli);
    }
}

static void test_malformed_input_is_einval_naming_the_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        /* Kubernetes' own invalid list (TestQuantityParse). */
        "1.1.M",
        "1+1.0M",
        "0.1mi",
        "0.1am",
        "aoeu",
        ".5i",
        "1i",
        "-3.01i",
        "-3.01e-",
        " 1",
        "1 ",
        /* No digits: Kubernetes' parser reads these as zero, its grammar and CRD pattern do not. */
        "Mi",
        "k",
        ".",
        "+",
        "-",
        "-.",
        "+Ki",
        "e3",
        /* Malformed suffixes and exponents. */
        "1.2.3",
        "1 Gi",
        "1iB",
        "1e",
        "1E+",
        "1e-",
        "1e1.5",
        "1ee3",
        "1e3i",
        "1KI",
        "1K",
        "1mi",
        "1Gib",
        "1G ",
        "1\n",
        "1x",
        "--1",
        "+-1",
        "1e99999999999999999999",
        "1e9223372036854775808",
        "0x10",
        "1,5",
        "١",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct krc_quantity q = krc_quantity_from_int64(7, DSI);
        struct krc_error err = {0};
        int rc = krc_quantity_parse(bad[i], &q, &err);
        if (rc != KRC_EINVAL || err.code != KRC_EINVAL)
            fail_msg("\"%s\": rc %d, want KRC_EINVAL", bad[i], rc);
        if (!strstr(err.msg, "quantity \""))
            fail_msg("\"%s\": message \"%s\" does not quote the input", bad[i], err.msg);
        if (q.units != 7)
            fail_msg("\"%s\": a failed parse changed the output", bad[i]);
    }
}

static void test_error_message_quotes_input_and_says_why(void **state)
{
    (void)state;
    struct krc_quantity q;
    struct krc_error err = {0};
    assert_int_equal(krc_quantity_parse("1.2.3", &q, &err), KRC_EINVAL);
    assert_string_equal(err.msg, "quantity \"1.2.3\": unknown suffix \".3\" (want n u m k M G T P "
                                 "E, Ki Mi Gi Ti Pi Ei or e<integer>)");
    assert_int_equal(krc_quantity_parse("", &q, &err), KRC_EINVAL);
    assert_string_equal(err.msg, "quantity \"\": empty string");
    assert_int_equal(krc_quantity_parse("Mi", &q, &err), KRC_EINVAL);
    assert_string_equal(err.msg, "quantity \"Mi\": no digits in the number");
    /* Control characters and quotes in hostile input never reach a log line raw. */
    assert_int_equal(krc_quantity_parse("1\"\n\x1b", &q, &err), KRC_EINVAL);
    assert_null(strchr(err.msg, '\n'));
    assert_null(strchr(err.msg, '\x1b'));
    assert_non_null(strstr(err.msg, "\"1???\""));
}

static void test_input_over_the_cap_is_einval(void **state)
{
    (void)state;
    char s[KRC_QUANTITY_INPUT_MAX + 2];
    memset(s, '0', sizeof(s));
    s[KRC_QUANTITY_INPUT_MAX] = '\0';
    struct krc_quantity q;
    assert_int_equal(krc_quantity_parse(s, &q, NULL), 0); /* exactly at the cap: fine */
    assert_true(krc_quantity_is_zero(&q));

    s[KRC_QUANTITY_INPUT_MAX] = '1';
    s[KRC_QUANTITY_INPUT_MAX + 1] = '\0';
    struct krc_error err = {0};
    assert_int_equal(krc_quantity_parse(s, &q, &err), KRC_EINVAL);
    assert_non_null(strstr(err.msg, "longer than 64 bytes"));
    assert_non_null(strstr(err.msg, "...\"")); /* quoted, cut short */
    assert_true(strlen(err.msg) < 120);
}

static void test_decimal_of_2_to_64_or_more_is_erange(void **state)
{
    (void)state;
    static const char *const big[] = {
        "20E",
        "18446744073709551616",
        "18446744073709551615.9999999991",
        "1e20",
        "1e1000",
        "-1e20",
        "100000000000000000000000000000000000000000000000000000000000000",
        "1e9223372036854775807",
    };
    for (size_t i = 0; i < ARRAY_LEN(big); i++) {
        struct krc_quantity q;
        struct krc_error err = {0};
        int rc = krc_quantity_parse(big[i], &q, &err);
        char start[24];
        snprintf(start, sizeof(start), "quantity \"%.12s", big[i]);
        if (rc != KRC_ERANGE || strncmp(err.msg, start, strlen(start)) != 0)
            fail_msg("\"%s\": rc %d (%s), want KRC_ERANGE naming the input", big[i], rc, err.msg);
    }
    /* The largest magnitude that fits, to the nano. */
    check_case("18446744073709551615.999999999", "18446744073709551615999999999n", DSI, "ERANGE",
               "ERANGE");
    check_case("18446744073709551615", "18446744073709551615", DSI, "ERANGE", "ERANGE");
}

/* Kubernetes caps binary quantities at 2^63-1 while parsing, however large the input. */
static void test_binary_over_int64_max_is_capped(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"8Ei", "9223372036854775807", BIN, "9223372036854775807", "ERANGE"},
        {"9Ei", "9223372036854775807", BIN, "9223372036854775807", "ERANGE"},
        {"8192Pi", "9223372036854775807", BIN, "9223372036854775807", "ERANGE"},
        {"9223372036854775807Ki", "9223372036854775807", BIN, "9223372036854775807", "ERANGE"},
        {"8191.99999999999999999Pi", "9223372036854775807", BIN, "9223372036854775807", "ERANGE"},
        {"99999999999999999999999999999999999999999999999999999Ei", "9223372036854775807", BIN,
         "9223372036854775807", "ERANGE"},
        {"-8Ei", "-9223372036854775807", BIN, "-9223372036854775807", "ERANGE"},
        /* Just under the cap: kept exactly, and printed in decimal as it is not an integer. */
        {"8191.9999999999Pi", "9223372036854663218009315738n", BIN, "9223372036854663219",
         "ERANGE"},
        {"7.99999999999Ei", "9223372036843246592953931531n", BIN, "9223372036843246593", "ERANGE"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        check_case(cases[i].in, cases[i].canonical, cases[i].format, cases[i].value,
                   cases[i].milli);
}

static void test_finer_than_nano_rounds_away_from_zero(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"1e-100", "1e-9", DEXP, "1", "1"},
        {"-1e-100", "-1e-9", DEXP, "-1", "-1"},
        {"1e-1000", "1e-9", DEXP, "1", "1"},
        {"1e-9223372036854775808", "1e-9", DEXP, "1", "1"},
        {"0e1000", "0", DEXP, "0", "0"},
        {"0.0000000000000000000000000000000000000000000000000000000001n", "1n", DSI, "1", "1"},
        {"1.0000000001", "1000000001n", DSI, "2", "1001"},
        {"-0.0000000001", "-1n", DSI, "-1", "-1"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        check_case(cases[i].in, cases[i].canonical, cases[i].format, cases[i].value,
                   cases[i].milli);
}

/* Kubernetes' parser keeps the input string for some inputs and String() hands it back unchanged
 * (kubernetes/kubernetes#138165). We always print the canonical form, which is what Kubernetes
 * prints for the same value after any arithmetic. */
static void test_string_is_canonical_where_kubernetes_echoes(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"+1", "1"},        {"01", "1"},     {"1E3", "1e3"},     {"1e+3", "1e3"},
        {"1e03", "1e3"},    {"1e0", "1"},    {"1.500", "1500m"}, {"1.001", "1001m"},
        {"1.441k", "1441"}, {"+1Ki", "1Ki"}, {"007Mi", "7Mi"},   {"1.", "1"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct krc_quantity q = must_parse(cases[i][0]);
        char what[64];
        snprintf(what, sizeof(what), "\"%s\"", cases[i][0]);
        check_string(what, &q, cases[i][1]);
    }
}

static void test_to_string_reports_a_short_buffer(void **state)
{
    (void)state;
    struct krc_quantity q = must_parse("1536Mi");
    char buf[7];
    assert_int_equal(krc_quantity_to_string(&q, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1536Mi");
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(krc_quantity_to_string(&q, buf, 6), KRC_ETOOLARGE);
    assert_string_equal(buf, "");
    assert_int_equal(krc_quantity_to_string(&q, buf, 0), KRC_ETOOLARGE);
}

/* The widest outputs: every digit significant, a sign and the longest suffix. */
static void test_longest_quantity_fits_str_max(void **state)
{
    (void)state;
    static const char *const widest[][2] = {
        {"-18446744073709551615.999999999", "-18446744073709551615999999999n"},
        {"-18446744073709551615.999999999e0", "-18446744073709551615999999999e-9"},
        {"-18446744073709551615", "-18446744073709551615"},
    };
    for (size_t i = 0; i < ARRAY_LEN(widest); i++) {
        struct krc_quantity q = must_parse(widest[i][0]);
        char buf[KRC_QUANTITY_STR_MAX];
        assert_int_equal(krc_quantity_to_string(&q, buf, sizeof(buf)), 0);
        assert_string_equal(buf, widest[i][1]);
    }
}

/* TestNewSet and TestMilliNewSet. */
static void test_constructors_print_like_kubernetes(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        enum krc_quantity_format format;
        const char *whole, *milli;
    } cases[] = {
        {1, DSI, "1", "1m"},
        {1000, DSI, "1k", "1"},
        {1234000, DSI, "1234k", "1234"},
        {1024, BIN, "1Ki", "1024m"},
        {1000000, DEXP, "1e6", "1e3"},
        {1024 * 1024, BIN, "1Mi", "1048576m"},
        {0, BIN, "0", "0"},
        {-1500, DSI, "-1500", "-1500m"},
        {INT64_MAX, DSI, "9223372036854775807", "9223372036854775807m"},
        {INT64_MIN, DSI, "-9223372036854775808", "-9223372036854775808m"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct krc_quantity q = krc_quantity_from_int64(cases[i].v, cases[i].format);
        char what[64];
        snprintf(what, sizeof(what), "from_int64(%lld)", (long long)cases[i].v);
        check_string(what, &q, cases[i].whole);
        int64_t back = 0;
        assert_int_equal(krc_quantity_value(&q, &back, NULL), 0);
        assert_int_equal(back, cases[i].v);

        q = krc_quantity_from_milli(cases[i].v, cases[i].format);
        snprintf(what, sizeof(what), "from_milli(%lld)", (long long)cases[i].v);
        check_string(what, &q, cases[i].milli);
        assert_int_equal(krc_quantity_milli_value(&q, &back, NULL), 0);
        assert_int_equal(back, cases[i].v);
    }
}

static void test_value_limits(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"9223372036854775807", "9223372036854775807", DSI, "9223372036854775807", "ERANGE"},
        {"9223372036854775806.5", "9223372036854775806500m", DSI, "9223372036854775807", "ERANGE"},
        {"9223372036854775807.000000001", "9223372036854775807000000001n", DSI, "ERANGE", "ERANGE"},
        {"-9223372036854775808", "-9223372036854775808", DSI, "-9223372036854775808", "ERANGE"},
        {"-9223372036854775807.1", "-9223372036854775807100m", DSI, "-9223372036854775808",
         "ERANGE"},
        {"-9223372036854775808.000000001", "-9223372036854775808000000001n", DSI, "ERANGE",
         "ERANGE"},
        {"9223372036854775.807", "9223372036854775807m", DSI, "9223372036854776",
         "9223372036854775807"},
        {"9223372036854775.8070001", "9223372036854775807000100n", DSI, "9223372036854776",
         "ERANGE"},
        {"-9223372036854775.808", "-9223372036854775808m", DSI, "-9223372036854776",
         "-9223372036854775808"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        check_case(cases[i].in, cases[i].canonical, cases[i].format, cases[i].value,
                   cases[i].milli);

    struct krc_quantity q = must_parse("10E");
    struct krc_error err = {0};
    int64_t v = 42;
    assert_int_equal(krc_quantity_value(&q, &v, &err), KRC_ERANGE);
    assert_int_equal(v, 42);
    assert_string_equal(err.msg, "quantity 10E: value does not fit in int64");
    assert_int_equal(krc_quantity_milli_value(&q, &v, &err), KRC_ERANGE);
    assert_string_equal(err.msg, "quantity 10E: milli-value does not fit in int64");
}

/* TestStringQuantityAsApproximateFloat64 and the large-number rows of
 * TestQuantityAsApproximateFloat64, then values where the nearest double matters. */
static void test_to_double_is_the_nearest_double(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        double want;
    } cases[] = {
        {"2Ki", 2048},
        {"1.1Ki", 1126.4},
        {"1Mi", 1.048576e+06},
        {"2Gi", 2.147483648e+09},
        {"12E", 1.2e19},
        {"9223372036854775807", 9223372036854775807.0},
        {"0", 0},
        {"-0", 0},
        {"-1.5", -1.5},
        {"7340032e-1", 734003.2},
        {"5.809644071m", 0.005809645}, /* Kubernetes is one bit above this */
        {"1n", 1e-9},
        {"18446744073709551615.999999999", 18446744073709551616.0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct krc_quantity q = must_parse(cases[i].in);
        double got = krc_quantity_to_double(&q);
        if (got != cases[i].want)
            fail_msg("\"%s\" as double is %.17g, want %.17g", cases[i].in, got, cases[i].want);
    }
}

static void test_cmp_orders_by_value_whatever_the_format(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int want;
    } cases[] = {
        /* TestQuantityCmp */
        {"0", "0", 0},
        {"100m", "50m", 1},
        {"50m", "100m", -1},
        {"10000T", "100Gi", 1},
        /* Formats do not matter, signs and nanos do. */
        {"1Ki", "1024", 0},
        {"1k", "1e3", 0},
        {"0", "-0", 0},
        {"0Mi", "0e5", 0},
        {"1n", "0", 1},
        {"-1n", "0", -1},
        {"-1", "1", -1},
        {"-2", "-1", -1},
        {"-1.5", "-1.4", -1},
        {"1.000000001", "1", 1},
        {"18446744073709551615", "18446744073709551614.999999999", 1},
        {"9.01", "9010m", 0},
        {"800m", "1", -1},
        {"800m", "790m", 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct krc_quantity a = must_parse(cases[i].a), b = must_parse(cases[i].b);
        int ab = krc_quantity_cmp(&a, &b), ba = krc_quantity_cmp(&b, &a);
        if (ab != cases[i].want || ba != -cases[i].want)
            fail_msg("cmp(\"%s\", \"%s\") = %d and reversed %d, want %d", cases[i].a, cases[i].b,
                     ab, ba, cases[i].want);
    }
}

static void test_sign_and_is_zero(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int sign;
    } cases[] = {
        {"0", 0}, {"-0", 0}, {"+0Mi", 0}, {"0.0e9", 0}, {"1n", 1}, {"-1n", -1}, {"-8Ei", -1},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct krc_quantity q = must_parse(cases[i].in);
        if (krc_quantity_sign(&q) != cases[i].sign)
            fail_msg("sign of \"%s\" is %d, want %d", cases[i].in, krc_quantity_sign(&q),
                     cases[i].sign);
        if (krc_quantity_is_zero(&q) != (cases[i].sign == 0))
            fail_msg("is_zero of \"%s\" is wrong", cases[i].in);
    }
    struct krc_quantity zero = {0};
    assert_true(krc_quantity_is_zero(&zero));
    check_string("{0}", &zero, "0");
}

struct arith_case {
    const char *a, *b;
    const char *want;
    enum krc_quantity_format format;
};

static void check_arith(const struct arith_case *c, size_t n, int sub)
{
    for (size_t i = 0; i < n; i++) {
        struct krc_quantity q = must_parse(c[i].a), y = must_parse(c[i].b);
        struct krc_error err = {0};
        int rc = sub ? krc_quantity_sub(&q, &y, &err) : krc_quantity_add(&q, &y, &err);
        char what[128];
        snprintf(what, sizeof(what), "\"%s\" %s \"%s\"", c[i].a, sub ? "-" : "+", c[i].b);
        if (rc != 0)
            fail_msg("%s: rc %d: %s", what, rc, err.msg);
        check_string(what, &q, c[i].want);
        if (q.format != c[i].format)
            fail_msg("%s has format %s, want %s", what, format_name(q.format),
                     format_name(c[i].format));
    }
}

/* TestAdd and TestQuantityAddZeroPreservesSuffix: a zero takes the format of what is added. */
static void test_add(void **state)
{
    (void)state;
    static const struct arith_case cases[] = {
        {"10", "1e1", "20", DSI},
        {"10", "1Ki", "1034", DSI},
        {"1Ki", "10", "1034", BIN},
        {"0", "50", "50", DSI},
        {"50", "0", "50", DSI},
        {"0", "0", "0", DSI},
        {"100m", "0", "100m", DSI},
        {"0", "100m", "100m", DSI},
        {"1Gi", "0", "1Gi", BIN},
        {"0", "1Gi", "1Gi", BIN},
        {"0e0", "1Gi", "1Gi", BIN},
        {"0Mi", "0", "0", DSI},
        {"1Gi", "512Mi", "1536Mi", BIN},
        {"999999999n", "1n", "1", DSI},
        {"1.5", "-2", "-500m", DSI},
        {"-1.5", "2", "500m", DSI},
        {"-1", "-1n", "-1000000001n", DSI},
        {"1", "-1", "0", DSI},
        {"18446744073709551614.5", "0.5", "18446744073709551615", DSI},
    };
    check_arith(cases, ARRAY_LEN(cases), 0);
}

/* TestSub and TestQuantitySubZeroPreservesSuffix. */
static void test_sub(void **state)
{
    (void)state;
    static const struct arith_case cases[] = {
        {"10", "1e1", "0", DSI},    {"10", "1", "9", DSI},          {"10Ki", "1", "10239", BIN},
        {"0", "50", "-50", DSI},    {"50", "0", "50", DSI},         {"0", "0", "0", DSI},
        {"100m", "0", "100m", DSI}, {"0", "100m", "-100m", DSI},    {"1Gi", "0", "1Gi", BIN},
        {"0", "1Gi", "-1Gi", BIN},  {"1", "1n", "999999999n", DSI}, {"1", "1.5", "-500m", DSI},
        {"-1", "-1", "0", DSI},     {"-1", "1", "-2", DSI},         {"2Gi", "512Mi", "1536Mi", BIN},
    };
    check_arith(cases, ARRAY_LEN(cases), 1);
}

static void test_add_past_2_to_64_is_erange_and_keeps_q(void **state)
{
    (void)state;
    struct krc_quantity q = must_parse("18446744073709551615.5");
    struct krc_quantity y = must_parse("500000001n");
    struct krc_error err = {0};
    assert_int_equal(krc_quantity_add(&q, &y, &err), KRC_ERANGE);
    check_string("q after a failed add", &q, "18446744073709551615500m");
    assert_string_equal(err.msg,
                        "quantity 18446744073709551615500m + 500000001n: magnitude reaches 2^64");

    q = must_parse("-18446744073709551615");
    y = must_parse("1");
    assert_int_equal(krc_quantity_sub(&q, &y, &err), KRC_ERANGE);
    check_string("q after a failed sub", &q, "-18446744073709551615");
    assert_int_equal(krc_quantity_sub(&q, &y, NULL), KRC_ERANGE);

    y = must_parse("500m"); /* just fits */
    q = must_parse("18446744073709551615.5");
    assert_int_equal(krc_quantity_add(&q, &y, NULL), KRC_ERANGE);
    y = must_parse("499999999n");
    assert_int_equal(krc_quantity_add(&q, &y, NULL), 0);
    check_string("sum", &q, "18446744073709551615999999999n");
}

/* TestAddSubRoundTripAcrossScales: adding then subtracting the same values gives zero back. */
static void test_add_then_sub_round_trips_to_zero(void **state)
{
    (void)state;
    static const char *const suffix[] = {"n", "u", "m", "", "k", "M", "G", "Ki", "Mi", "Gi"};
    struct krc_quantity total = {0};
    struct krc_quantity parts[100];
    uint64_t x = 88172645463325252u; /* xorshift64: deterministic, no seed to pass around */
    for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char s[32];
        snprintf(s, sizeof(s), "%s%u%s", x & 1 ? "-" : "", (unsigned)(x >> 40),
                 suffix[(x >> 8) % ARRAY_LEN(suffix)]);
        parts[i] = must_parse(s);
        assert_int_equal(krc_quantity_add(&total, &parts[i], NULL), 0);
    }
    for (size_t i = 0; i < ARRAY_LEN(parts); i++)
        assert_int_equal(krc_quantity_sub(&total, &parts[i], NULL), 0);
    assert_true(krc_quantity_is_zero(&total));
    check_string("round trip", &total, "0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table_matches_kubernetes),
        cmocka_unit_test(test_signed_inputs_mirror_the_table),
        cmocka_unit_test(test_malformed_input_is_einval_naming_the_input),
        cmocka_unit_test(test_error_message_quotes_input_and_says_why),
        cmocka_unit_test(test_input_over_the_cap_is_einval),
        cmocka_unit_test(test_decimal_of_2_to_64_or_more_is_erange),
        cmocka_unit_test(test_binary_over_int64_max_is_capped),
        cmocka_unit_test(test_finer_than_nano_rounds_away_from_zero),
        cmocka_unit_test(test_string_is_canonical_where_kubernetes_echoes),
        cmocka_unit_test(test_to_string_reports_a_short_buffer),
        cmocka_unit_test(test_longest_quantity_fits_str_max),
        cmocka_unit_test(test_constructors_print_like_kubernetes),
        cmocka_unit_test(test_value_limits),
        cmocka_unit_test(test_to_double_is_the_nearest_double),
        cmocka_unit_test(test_cmp_orders_by_value_whatever_the_format),
        cmocka_unit_test(test_sign_and_is_zero),
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_sub),
        cmocka_unit_test(test_add_past_2_to_64_is_erange_and_keeps_q),
        cmocka_unit_test(test_add_then_sub_round_trips_to_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
