/* gojson.c - Go-compatible JSON text, strconv.Quote and go-yaml v2 reading (see gojson.h).
 *
 * Shortest round-trip numbers are found by printing with increasing precision until strtod
 * (strtof for float32) gives the value back: at most 17 (9) snprintf calls per number, which is
 * cheap for the handful of numbers in a runtime env. It matches Go's Ryu-based shortest output
 * except, in theory, at the rare power-of-two boundaries where a farther shortest decimal also
 * round-trips; such values do not occur in hand-written YAML.
 *
 * YAML is read from libyaml's event stream rather than its document API because the document
 * loader replaces a missing tag with !!str, and go-yaml v2 types plain scalars only when they
 * carry no tag. */
#include "util/gojson.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define GOJSON_MAX_DEPTH   100
#define YAML_MAX_DEPTH     100
#define YAML_MAX_ANCHORS   1024
#define FLOAT64_MAX_DIGITS 17
#define FLOAT32_MAX_DIGITS 9
#define NUMBUF_LEN         64
#define RUNE_ERROR         0xFFFDu
#define YAML_TAG_PREFIX    "tag:yaml.org,2002:"
#define YAML_TAG_STR       YAML_TAG_PREFIX "str"
#define YAML_TAG_INT       YAML_TAG_PREFIX "int"
#define YAML_TAG_FLOAT     YAML_TAG_PREFIX "float"
#define YAML_TAG_BOOL      YAML_TAG_PREFIX "bool"
#define YAML_TAG_NULL      YAML_TAG_PREFIX "null"
#define YAML_TAG_BINARY    YAML_TAG_PREFIX "binary"
#define YAML_TAG_MERGE     YAML_TAG_PREFIX "merge"
#define YAML_TAG_TIMESTAMP YAML_TAG_PREFIX "timestamp"
#define YAML_MERGE_KEY     "<<"
#define GO_G_EPREC         6

static const char hexdig[] = "0123456789abcdef";

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

/* Decodes one rune at s[0..n) as Go's utf8.DecodeRune: invalid or truncated sequences, overlong
 * forms, surrogates and values past U+10FFFF give RUNE_ERROR with width 1. */
static uint32_t decode_rune(const unsigned char *s, size_t n, size_t *width)
{
    unsigned char c = s[0];
    uint32_t r, min;
    size_t need;

    *width = 1;
    if (c < 0x80)
        return c;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2, r = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3, r = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4, r = c & 0x07, min = 0x10000;
    } else {
        return RUNE_ERROR;
    }
    if (n < need)
        return RUNE_ERROR;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return RUNE_ERROR;
        r = (r << 6) | (s[i] & 0x3F);
    }
    if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        return RUNE_ERROR;
    *width = need;
    return r;
}

/* ---- JSON encoding ------------------------------------------------------------------------- */

int gojson_encode_string(const char *s, size_t len, struct krc_strbuf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc;

    if ((rc = krc_strbuf_addch(out, '"')))
        return rc;
    for (size_t i = 0; i < len;) {
        unsigned char b = p[i];
        if (b < 0x80) {
            char esc = 0;
            switch (b) {
            case '"':
            case '\\':
                esc = (char)b;
                break;
            case '\b':
                esc = 'b';
                break;
            case '\f':
                esc = 'f';
                break;
            case '\n':
                esc = 'n';
                break;
            case '\r':
                esc = 'r';
                break;
            case '\t':
                esc = 't';
                break;
            default:
                break;
            }
            if (esc)
                rc = krc_strbuf_addch(out, '\\') || krc_strbuf_addch(out, esc) ? KRC_ENOMEM : 0;
            else if (b < 0x20 || b == '<' || b == '>' || b == '&')
                rc = krc_strbuf_addf(out, "\\u00%c%c", hexdig[b >> 4], hexdig[b & 0xF]);
            else
                rc = krc_strbuf_addch(out, (char)b);
            if (rc)
                return rc;
            i++;
            continue;
        }
        size_t w;
        uint32_t r = decode_rune(p + i, len - i, &w);
        if (r == RUNE_ERROR && w == 1)
            rc = krc_strbuf_adds(out, "\\ufffd");
        else if (r == 0x2028 || r == 0x2029)
            rc = krc_strbuf_addf(out, "\\u%04x", (unsigned)r);
        else
            rc = krc_strbuf_add(out, p + i, w);
        if (rc)
            return rc;
        i += w;
    }
    return krc_strbuf_addch(out, '"');
}

/* Shortest digits of v: "d.ddde[+-]X" reduced to digits[] (no point) and decimal exponent exp10
 * such that v = 0.d1d2...dn * 10^exp10. is32 selects float32 round-tripping. */
static void shortest_digits(double v, bool is32, char *digits, size_t cap, int *exp10)
{
    char buf[NUMBUF_LEN];
    int maxp = is32 ? FLOAT32_MAX_DIGITS : FLOAT64_MAX_DIGITS;

    for (int p = 1; p <= maxp; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
        if (is32 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            break;
    }
    /* buf = [-]d[.ddd]e[+-]XX */
    const char *q = buf;
    if (*q == '-')
        q++;
    size_t n = 0;
    for (; *q && *q != 'e'; q++) {
        if (*q != '.' && n + 1 < cap)
            digits[n++] = *q;
    }
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *exp10 = (*q == 'e' ? atoi(q + 1) : 0) + 1;
}

/* Go's encoding/json float encoding (floatEncoder) of v as a float64 or float32. */
static int encode_float(double v, bool is32, struct krc_strbuf *out)
{
    char digits[NUMBUF_LEN];
    int exp10, rc;

    if (v == 0)
        return krc_strbuf_adds(out, signbit(v) ? "-0" : "0");
    double a = fabs(v);
    bool efmt = is32 ? ((float)a < 1e-6f || (float)a >= 1e21f) : (a < 1e-6 || a >= 1e21);
    shortest_digits(v, is32, digits, sizeof(digits), &exp10);
    size_t n = strlen(digits);
    if (v < 0 && (rc = krc_strbuf_addch(out, '-')))
        return rc;
    if (efmt) {
        /* d[.ddd]e[+-]XX, with Go's clean-up of e-0X to e-X. */
        int e = exp10 - 1;
        if ((rc = krc_strbuf_addch(out, digits[0])))
            return rc;
        if (n > 1 && ((rc = krc_strbuf_addch(out, '.')) || (rc = krc_strbuf_adds(out, digits + 1))))
            return rc;
        if (e < 0 && e > -10)
            return krc_strbuf_addf(out, "e-%d", -e);
        return krc_strbuf_addf(out, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    if (exp10 <= 0) {
        if ((rc = krc_strbuf_adds(out, "0.")))
            return rc;
        for (int i = 0; i < -exp10; i++) {
            if ((rc = krc_strbuf_addch(out, '0')))
                return rc;
        }
        return krc_strbuf_adds(out, digits);
    }
    if ((size_t)exp10 >= n) {
        if ((rc = krc_strbuf_adds(out, digits)))
            return rc;
        for (size_t i = n; i < (size_t)exp10; i++) {
            if ((rc = krc_strbuf_addch(out, '0')))
                return rc;
        }
        return 0;
    }
    if ((rc = krc_strbuf_add(out, digits, (size_t)exp10)) || (rc = krc_strbuf_addch(out, '.')))
        return rc;
    return krc_strbuf_adds(out, digits + exp10);
}

int gojson_encode_float32(float f, struct krc_strbuf *out)
{
    return encode_float((double)f, true, out);
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int encode_value(const json_t *v, unsigned flags, int depth, struct krc_strbuf *out,
                        struct krc_error *err)
{
    int rc = 0;

    if (depth > GOJSON_MAX_DEPTH)
        return krc_error_set(err, KRC_EINVAL, "json: nesting deeper than %d", GOJSON_MAX_DEPTH);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = n ? calloc(n, sizeof(*keys)) : NULL;
        const char *k;
        json_t *val;
        if (n && !keys)
            return krc_error_set(err, KRC_ENOMEM, "json: out of memory");
        json_object_foreach((json_t *)(uintptr_t)v, k, val) keys[i++] = k;
        if (n > 1)
            qsort(keys, n, sizeof(*keys), cmp_keys);
        if ((rc = krc_strbuf_addch(out, '{')))
            goto obj_out;
        for (i = 0; i < n; i++) {
            if ((i && (rc = krc_strbuf_addch(out, ','))) ||
                (rc = gojson_encode_string(keys[i], strlen(keys[i]), out)) ||
                (rc = krc_strbuf_addch(out, ':')))
                goto obj_out;
            if ((rc = encode_value(json_object_get(v, keys[i]), flags, depth + 1, out, err)))
                goto obj_out_err;
        }
        rc = krc_strbuf_addch(out, '}');
    obj_out:
        if (rc)
            krc_error_set(err, rc, "json: out of memory");
    obj_out_err:
        free(keys);
        return rc;
    }
    case JSON_ARRAY:
        if ((rc = krc_strbuf_addch(out, '[')))
            break;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i && (rc = krc_strbuf_addch(out, ',')))
                break;
            if ((rc = encode_value(json_array_get(v, i), flags, depth + 1, out, err)))
                return rc;
        }
        if (!rc)
            rc = krc_strbuf_addch(out, ']');
        break;
    case JSON_STRING:
        rc = gojson_encode_string(json_string_value(v), json_string_length(v), out);
        break;
    case JSON_INTEGER:
        if (flags & GOJSON_NUMBERS_AS_FLOAT64)
            rc = encode_float((double)json_integer_value(v), false, out);
        else
            rc = krc_strbuf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        double d = json_real_value(v);
        if (isnan(d) || isinf(d))
            return krc_error_set(err, KRC_EINVAL, "json: unsupported value: %s",
                                 isnan(d) ? "NaN"
                                 : d > 0  ? "+Inf"
                                          : "-Inf");
        rc = encode_float(d, false, out);
        break;
    }
    case JSON_TRUE:
        rc = krc_strbuf_adds(out, "true");
        break;
    case JSON_FALSE:
        rc = krc_strbuf_adds(out, "false");
        break;
    case JSON_NULL:
        rc = krc_strbuf_adds(out, "null");
        break;
    }
    if (rc)
        return krc_error_set(err, rc, "json: %s", krc_strerror(rc));
    return 0;
}

int gojson_encode_flags(const json_t *v, unsigned flags, struct krc_strbuf *out,
                        struct krc_error *err)
{
    if (!v)
        return krc_strbuf_adds(out, "null") ? krc_error_set(err, KRC_ENOMEM, "json: out of memory")
                                            : 0;
    return encode_value(v, flags, 0, out, err);
}

int gojson_encode(const json_t *v, struct krc_strbuf *out, struct krc_error *err)
{
    return gojson_encode_flags(v, 0, out, err);
}

/* ---- strconv.Quote -------------------------------------------------------------------------- */

struct rune_range {
    uint32_t lo, hi;
};

/* Non-ASCII code points Go's unicode.IsPrint rejects, for the ranges that matter in practice:
 * C1 controls, no-break and other spaces (Zs except U+0020), Zl/Zp, format characters (Cf),
 * private use (Co) and noncharacters. Sorted. */
static const struct rune_range nonprint[] = {
    {0x0080, 0x00A0},   {0x00AD, 0x00AD},   {0x0600, 0x0605},    {0x061C, 0x061C},
    {0x06DD, 0x06DD},   {0x070F, 0x070F},   {0x0890, 0x0891},    {0x08E2, 0x08E2},
    {0x1680, 0x1680},   {0x180E, 0x180E},   {0x2000, 0x200F},    {0x2028, 0x202F},
    {0x205F, 0x2064},   {0x2065, 0x206F},   {0x3000, 0x3000},    {0xD800, 0xF8FF},
    {0xFDD0, 0xFDEF},   {0xFEFF, 0xFEFF},   {0xFFF0, 0xFFFB},    {0xFFFE, 0xFFFF},
    {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F},  {0x1BCA0, 0x1BCA3},
    {0x1D173, 0x1D17A}, {0xE0000, 0xE0FFF}, {0xF0000, 0x10FFFF},
};

static bool rune_is_print(uint32_t r)
{
    if (r < 0x80)
        return r >= 0x20 && r < 0x7F;
    if ((r & 0xFFFE) == 0xFFFE)
        return false;
    for (size_t i = 0; i < sizeof(nonprint) / sizeof(nonprint[0]); i++) {
        if (r < nonprint[i].lo)
            return true;
        if (r <= nonprint[i].hi)
            return false;
    }
    return true;
}

int gojson_strconv_quote(const char *s, size_t len, struct krc_strbuf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc;

    if ((rc = krc_strbuf_addch(out, '"')))
        return rc;
    for (size_t i = 0; i < len;) {
        size_t w;
        uint32_t r = decode_rune(p + i, len - i, &w);
        if (w == 1 && r == RUNE_ERROR) {
            rc = krc_strbuf_addf(out, "\\x%c%c", hexdig[p[i] >> 4], hexdig[p[i] & 0xF]);
        } else if (r == '"' || r == '\\') {
            rc = krc_strbuf_addch(out, '\\') || krc_strbuf_addch(out, (char)r) ? KRC_ENOMEM : 0;
        } else if (rune_is_print(r)) {
            rc = krc_strbuf_add(out, p + i, w);
        } else {
            static const char ctl[] = "\a\b\f\n\r\t\v";
            static const char esc[] = "abfnrtv";
            const char *c = r ? strchr(ctl, (int)r) : NULL;
            if (r < 0x80 && c)
                rc = krc_strbuf_addf(out, "\\%c", esc[c - ctl]);
            else if (r < 0x20 || r == 0x7F)
                rc = krc_strbuf_addf(out, "\\x%c%c", hexdig[r >> 4], hexdig[r & 0xF]);
            else if (r < 0x10000)
                rc = krc_strbuf_addf(out, "\\u%04x", (unsigned)r);
            else
                rc = krc_strbuf_addf(out, "\\U%08x", (unsigned)r);
        }
        if (rc)
            return rc;
        i += w;
    }
    return krc_strbuf_addch(out, '"');
}

/* ---- YAML (go-yaml v2 semantics) ------------------------------------------------------------ */

struct anchor {
    char *name;
    json_t *value;
};

struct yreader {
    yaml_parser_t parser;
    /* jansson cannot hold NaN or infinities: such a value is kept as its YAML text and remembered
     * here ("NaN", "+Inf", "-Inf"), because encoding it fails in Go (json.Marshal). As a map key it
     * is fine (sigs.k8s.io/yaml turns it into ".nan"/".inf"/"-.inf"). */
    const char *nonfinite;
    struct anchor *anchors;
    size_t n_anchors;
    struct krc_error *err;
};

/* "yaml: line N: <problem>" as go-yaml v2's parser.fail() words it. */
static int yaml_fail(struct yreader *y)
{
    const yaml_parser_t *p = &y->parser;
    size_t line = 0;

    if (p->problem_mark.line != 0) {
        line = p->problem_mark.line;
        if (p->error == YAML_SCANNER_ERROR)
            line++;
    } else if (p->context_mark.line != 0) {
        line = p->context_mark.line;
    }
    const char *msg =
        p->problem && *p->problem ? p->problem : "unknown problem parsing YAML content";
    if (p->error == YAML_MEMORY_ERROR)
        return krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
    if (line)
        return krc_error_set(y->err, KRC_EINVAL, "yaml: line %zu: %s", line, msg);
    return krc_error_set(y->err, KRC_EINVAL, "yaml: %s", msg);
}

static int next_event(struct yreader *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->parser, ev))
        return yaml_fail(y);
    return 0;
}

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++) {
        if (strcmp(s, *list) == 0)
            return true;
    }
    return false;
}

static bool match_yaml_float(const char *s)
{
    /* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    } else {
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* Go strconv.ParseInt(s, 0, 64) (underscores already removed): sign, then 0x/0o/0b/0 prefixes. */
static bool go_parse_int(const char *s, bool allow_sign, bool *neg, uint64_t *mag)
{
    const char *p = s;
    int base = 10;
    uint64_t v = 0;

    *neg = false;
    if (allow_sign && (*p == '+' || *p == '-'))
        *neg = *p++ == '-';
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        base = 8, p += 2;
    else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
        base = 2, p += 2;
    else if (p[0] == '0' && p[1])
        base = 8, p += 1;
    if (!*p)
        return false;
    for (; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            return false;
        if (d >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *mag = v;
    return true;
}

/* resolve() of go-yaml v2 for a plain, untagged scalar. NULL on allocation failure. */
static json_t *resolve_plain(const char *in, const char **nonfinite)
{
    static const char *const yes[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                      "True", "TRUE", "on",  "On",  "ON",  NULL};
    static const char *const no[] = {"n",     "N",     "no",  "No",  "NO",  "false",
                                     "False", "FALSE", "off", "Off", "OFF", NULL};
    static const char *const nul[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const nan[] = {".nan", ".NaN", ".NAN", NULL};
    static const char *const pinf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF", NULL};
    char c = in[0];

    if (in_list(in, yes))
        return json_true();
    if (in_list(in, no))
        return json_false();
    if (in_list(in, nul))
        return json_null();
    if (in_list(in, nan)) {
        *nonfinite = "NaN";
        return json_string(".nan");
    }
    if (in_list(in, pinf)) {
        *nonfinite = "+Inf";
        return json_string(".inf");
    }
    if (in_list(in, ninf)) {
        *nonfinite = "-Inf";
        return json_string("-.inf");
    }
    if (c == '.') {
        /* strconv.ParseFloat on the raw text; an out-of-range value stays a string. */
        if (match_yaml_float(in)) {
            errno = 0;
            double d = strtod(in, NULL);
            if (errno != ERANGE || fabs(d) < 1)
                return json_real(d);
        }
        return json_string(in);
    }
    if ((c >= '0' && c <= '9') || c == '-' || c == '+') {
        size_t n = strlen(in);
        char *plain = malloc(n + 1);
        json_t *v = NULL;
        if (!plain)
            return NULL;
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
            if (in[i] != '_')
                plain[j++] = in[i];
        }
        plain[j] = '\0';
        bool neg;
        uint64_t mag;
        if (go_parse_int(plain, true, &neg, &mag)) {
            if (!neg && mag <= INT64_MAX)
                v = json_integer((json_int_t)mag);
            else if (neg && mag <= (uint64_t)INT64_MAX + 1)
                v = json_integer(mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)mag);
            else if (!neg && plain[0] != '+')
                v = json_real((double)mag); /* uint64 past int64: kept as a number */
        }
        if (!v && match_yaml_float(plain)) {
            errno = 0;
            double d = strtod(plain, NULL);
            if (errno != ERANGE || fabs(d) < 1)
                v = json_real(d);
        }
        if (!v)
            v = json_string(in);
        free(plain);
        return v;
    }
    return json_string(in);
}

/* A scalar event to a value, following go-yaml v2's decoder for an interface{} target. */
static json_t *scalar_value(struct yreader *y, const yaml_event_t *ev, int *rc)
{
    const char *v = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    json_t *out = NULL;

    *rc = 0;
    if (tag && strcmp(tag, "!") == 0)
        tag = NULL;
    if (!tag) {
        /* Quoted and block scalars are strings; plain ones are typed. */
        if (!ev->data.scalar.plain_implicit)
            out = json_stringn(v, ev->data.scalar.length);
        else
            out = resolve_plain(v, &y->nonfinite);
    } else if (strcmp(tag, YAML_TAG_STR) == 0 || strcmp(tag, YAML_TAG_BINARY) == 0 ||
               strncmp(tag, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX)) != 0) {
        out = json_stringn(v, ev->data.scalar.length);
    } else {
        out = resolve_plain(v, &y->nonfinite);
        if (!out)
            goto oom;
        bool ok;
        if (strcmp(tag, YAML_TAG_INT) == 0) {
            ok = json_is_integer(out);
        } else if (strcmp(tag, YAML_TAG_FLOAT) == 0) {
            ok = json_is_real(out);
            if (json_is_integer(out)) {
                json_t *f = json_real((double)json_integer_value(out));
                json_decref(out);
                if (!(out = f))
                    goto oom;
                ok = true;
            }
        } else if (strcmp(tag, YAML_TAG_BOOL) == 0) {
            ok = json_is_boolean(out);
        } else if (strcmp(tag, YAML_TAG_NULL) == 0) {
            ok = json_is_null(out);
        } else {
            /* !!timestamp and other standard tags: the text. */
            json_decref(out);
            out = json_stringn(v, ev->data.scalar.length);
            ok = true;
        }
        if (!ok) {
            json_decref(out);
            *rc = krc_error_set(y->err, KRC_EINVAL, "yaml: cannot decode `%s` as a !!%s", v,
                                tag + strlen(YAML_TAG_PREFIX));
            return NULL;
        }
    }
    if (out)
        return out;
oom:
    *rc = krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
    return NULL;
}

static int remember_anchor(struct yreader *y, const yaml_char_t *name, json_t *v)
{
    if (!name)
        return 0;
    if (y->n_anchors >= YAML_MAX_ANCHORS)
        return krc_error_set(y->err, KRC_ETOOLARGE, "yaml: more than %d anchors", YAML_MAX_ANCHORS);
    struct anchor *a = realloc(y->anchors, (y->n_anchors + 1) * sizeof(*a));
    if (!a)
        return krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
    y->anchors = a;
    char *n = strdup((const char *)name);
    if (!n)
        return krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
    a[y->n_anchors].name = n;
    a[y->n_anchors].value = json_incref(v);
    y->n_anchors++;
    return 0;
}

static json_t *lookup_anchor(struct yreader *y, const yaml_char_t *name)
{
    for (size_t i = y->n_anchors; i > 0; i--) {
        if (strcmp(y->anchors[i - 1].name, (const char *)name) == 0)
            return y->anchors[i - 1].value;
    }
    return NULL;
}

/* sigs.k8s.io/yaml's map key conversion: strings as-is, integers and booleans as text, floats as
 * float32 'g' text; anything else is rejected. */
static int key_text(struct yreader *y, const json_t *k, struct krc_strbuf *out)
{
    int rc = 0;
    switch (json_typeof(k)) {
    case JSON_STRING:
        rc = krc_strbuf_add(out, json_string_value(k), json_string_length(k));
        break;
    case JSON_INTEGER:
        rc = krc_strbuf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(k));
        break;
    case JSON_TRUE:
        rc = krc_strbuf_adds(out, "true");
        break;
    case JSON_FALSE:
        rc = krc_strbuf_adds(out, "false");
        break;
    case JSON_REAL: {
        /* FormatFloat(k, 'g', -1, 32): shortest float32 digits, %e form when the exponent is
         * below -4 or at least 6 (Go's eprec for shortest 'g'). Non-finite keys never get here:
         * they are read as the texts ".nan", ".inf", "-.inf". */
        double d = json_real_value(k);
        char digits[NUMBUF_LEN];
        int e10;
        shortest_digits(d, true, digits, sizeof(digits), &e10);
        int x = e10 - 1;
        if (d == 0)
            rc = krc_strbuf_adds(out, signbit(d) ? "-0" : "0");
        else if (x < -4 || x >= GO_G_EPREC)
            rc = krc_strbuf_addf(out, "%s%c%s%se%c%02d", d < 0 ? "-" : "", digits[0],
                                 digits[1] ? "." : "", digits + 1, x < 0 ? '-' : '+',
                                 x < 0 ? -x : x);
        else
            rc = encode_float(d, true, out);
        break;
    }
    default:
        return krc_error_set(y->err, KRC_EINVAL, "unsupported map key of type %s",
                             json_is_null(k)    ? "<nil>"
                             : json_is_array(k) ? "[]interface {}"
                                                : "map");
    }
    if (rc)
        return krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
    return 0;
}

static int read_node(struct yreader *y, yaml_event_t *ev, int depth, json_t **out);

/* go-yaml v2 merge: a mapping's keys are set into obj (overwriting); a sequence of mappings is
 * merged last to first so that earlier ones win. */
static int merge_into(struct yreader *y, json_t *obj, json_t *v)
{
    static const char want[] = "map merge requires map or sequence of maps as the value";
    if (json_is_object(v)) {
        if (json_object_update(obj, v))
            return krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
        return 0;
    }
    if (!json_is_array(v))
        return krc_error_set(y->err, KRC_EINVAL, "yaml: %s", want);
    for (size_t i = json_array_size(v); i > 0; i--) {
        json_t *m = json_array_get(v, i - 1);
        if (!json_is_object(m))
            return krc_error_set(y->err, KRC_EINVAL, "yaml: %s", want);
        if (json_object_update(obj, m))
            return krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
    }
    return 0;
}

static int read_mapping(struct yreader *y, int depth, json_t *obj)
{
    int rc = 0;
    struct krc_strbuf key = KRC_STRBUF_INIT;

    for (;;) {
        yaml_event_t ev;
        if ((rc = next_event(y, &ev)))
            break;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        bool is_merge =
            ev.type == YAML_SCALAR_EVENT && ev.data.scalar.plain_implicit &&
            strcmp((const char *)ev.data.scalar.value, YAML_MERGE_KEY) == 0 &&
            (!ev.data.scalar.tag || strcmp((const char *)ev.data.scalar.tag, YAML_TAG_MERGE) == 0);
        json_t *k = NULL, *v = NULL;
        const char *nonfinite_before = y->nonfinite;
        rc = read_node(y, &ev, depth + 1, &k);
        y->nonfinite = nonfinite_before; /* a non-finite key is just text */
        if (!rc && (rc = next_event(y, &ev)) == 0)
            rc = read_node(y, &ev, depth + 1, &v);
        if (!rc && is_merge) {
            rc = merge_into(y, obj, v);
        } else if (!rc) {
            krc_strbuf_reset(&key);
            if ((rc = key_text(y, k, &key)) == 0 && json_object_setn(obj, key.buf, key.len, v))
                rc = krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
        }
        json_decref(k);
        json_decref(v);
        if (rc)
            break;
    }
    krc_strbuf_release(&key);
    return rc;
}

static int read_sequence(struct yreader *y, int depth, json_t *arr)
{
    for (;;) {
        yaml_event_t ev;
        int rc;
        json_t *v = NULL;
        if ((rc = next_event(y, &ev)))
            return rc;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if ((rc = read_node(y, &ev, depth + 1, &v)))
            return rc;
        if (json_array_append_new(arr, v))
            return krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
    }
}

/* Reads the node starting with ev (consumed and deleted here) into *out (new reference). */
static int read_node(struct yreader *y, yaml_event_t *ev, int depth, json_t **out)
{
    int rc = 0;
    json_t *v = NULL;

    *out = NULL;
    if (depth > YAML_MAX_DEPTH) {
        rc = krc_error_set(y->err, KRC_EINVAL, "yaml: nesting deeper than %d", YAML_MAX_DEPTH);
        goto out;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if ((v = scalar_value(y, ev, &rc)))
            rc = remember_anchor(y, ev->data.scalar.anchor, v);
        break;
    case YAML_ALIAS_EVENT:
        v = lookup_anchor(y, ev->data.alias.anchor);
        if (!v)
            rc = krc_error_set(y->err, KRC_EINVAL, "yaml: unknown anchor '%s' referenced",
                               (const char *)ev->data.alias.anchor);
        else
            json_incref(v);
        break;
    case YAML_MAPPING_START_EVENT:
        if (!(v = json_object())) {
            rc = krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
            break;
        }
        if ((rc = read_mapping(y, depth, v)) == 0)
            rc = remember_anchor(y, ev->data.mapping_start.anchor, v);
        break;
    case YAML_SEQUENCE_START_EVENT:
        if (!(v = json_array())) {
            rc = krc_error_set(y->err, KRC_ENOMEM, "yaml: out of memory");
            break;
        }
        if ((rc = read_sequence(y, depth, v)) == 0)
            rc = remember_anchor(y, ev->data.sequence_start.anchor, v);
        break;
    default:
        rc = krc_error_set(y->err, KRC_EINVAL, "yaml: unexpected event %d", (int)ev->type);
        break;
    }
out:
    yaml_event_delete(ev);
    if (rc) {
        json_decref(v);
        return rc;
    }
    *out = v;
    return 0;
}

int gojson_yaml_to_json(const char *text, size_t len, json_t **out, struct krc_error *err)
{
    struct yreader y = {.err = err};
    yaml_event_t ev;
    json_t *root = NULL;
    int rc;

    *out = NULL;
    if (!yaml_parser_initialize(&y.parser))
        return krc_error_set(err, KRC_ENOMEM, "yaml: out of memory");
    yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
    /* STREAM-START, then DOCUMENT-START or STREAM-END (empty input = null). */
    if ((rc = next_event(&y, &ev)))
        goto out;
    yaml_event_delete(&ev);
    if ((rc = next_event(&y, &ev)))
        goto out;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        root = json_null();
        goto out;
    }
    yaml_event_delete(&ev);
    if ((rc = next_event(&y, &ev)))
        goto out;
    if ((rc = read_node(&y, &ev, 0, &root)))
        goto out;
    /* Only the first document is read, but it must end cleanly (go-yaml parses its end). */
    if ((rc = next_event(&y, &ev)))
        goto out;
    yaml_event_delete(&ev);
    if (y.nonfinite)
        rc = krc_error_set(err, KRC_EINVAL, "json: unsupported value: %s", y.nonfinite);
out:
    for (size_t i = 0; i < y.n_anchors; i++) {
        free(y.anchors[i].name);
        json_decref(y.anchors[i].value);
    }
    free(y.anchors);
    yaml_parser_delete(&y.parser);
    if (rc) {
        json_decref(root);
        return rc;
    }
    *out = root;
    return 0;
}
