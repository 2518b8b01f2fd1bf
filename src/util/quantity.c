/* quantity.c - parsing, arithmetic and canonical printing of Kubernetes quantities (quantity.h).
 *
 * Parsing reads all the digits into one small fixed-width integer (struct wide) that counts
 * nano-units: it applies the suffix, rounds once, and only then splits the result into units and
 * nanos. Rounding once is what Kubernetes does, and it matters for binary suffixes:
 * ".000000000001Ki" is 1.024n and rounds up to 2n, where rounding before multiplying by 1024 would
 * give 1024n. 320 bits hold the largest input KRC_QUANTITY_INPUT_MAX allows (63 digits times 2^60
 * times 10^9), so only the loop that applies a decimal exponent has to watch for overflow. */
#include "util/quantity.h"

#include "util/error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    NANOS_PER_UNIT = 1000000000,
    NANO_EXPONENT = -9,
    WIDE_LIMBS = 10,       /* 320 bits, see the top of the file */
    UNITS_LIMBS = 2,       /* a valid result has units below 2^64 */
    EXPONENT_CLAMP = 1000, /* any bigger exponent moves every input digit out of range */
    QUOTE_MAX = 40,        /* bytes of a bad input repeated in an error message */
};

/* Every suffix Kubernetes knows except the "e<exponent>" form. exponent is a power of 10, or of 2
 * for binary SI. Used both ways: parsing looks up the name, printing looks up the exponent. */
static const struct {
    const char *name;
    int exponent;
    enum krc_quantity_format format;
} suffixes[] = {
    {"n", -9, KRC_QUANTITY_DECIMAL_SI}, {"u", -6, KRC_QUANTITY_DECIMAL_SI},
    {"m", -3, KRC_QUANTITY_DECIMAL_SI}, {"", 0, KRC_QUANTITY_DECIMAL_SI},
    {"k", 3, KRC_QUANTITY_DECIMAL_SI},  {"M", 6, KRC_QUANTITY_DECIMAL_SI},
    {"G", 9, KRC_QUANTITY_DECIMAL_SI},  {"T", 12, KRC_QUANTITY_DECIMAL_SI},
    {"P", 15, KRC_QUANTITY_DECIMAL_SI}, {"E", 18, KRC_QUANTITY_DECIMAL_SI},
    {"Ki", 10, KRC_QUANTITY_BINARY_SI}, {"Mi", 20, KRC_QUANTITY_BINARY_SI},
    {"Gi", 30, KRC_QUANTITY_BINARY_SI}, {"Ti", 40, KRC_QUANTITY_BINARY_SI},
    {"Pi", 50, KRC_QUANTITY_BINARY_SI}, {"Ei", 60, KRC_QUANTITY_BINARY_SI},
};

#define NSUFFIXES (sizeof(suffixes) / sizeof(suffixes[0]))

/* An unsigned integer of WIDE_LIMBS 32-bit limbs, least significant first. */
struct wide {
    uint32_t limb[WIDE_LIMBS];
};

/* w = w * mul + add. Returns nonzero if the result does not fit (w is then meaningless). */
static int wide_mul_add(struct wide *w, uint32_t mul, uint32_t add)
{
    uint64_t carry = add;
    for (int i = 0; i < WIDE_LIMBS; i++) {
        uint64_t t = (uint64_t)w->limb[i] * mul + carry;
        w->limb[i] = (uint32_t)t;
        carry = t >> 32;
    }
    return carry != 0;
}

/* w = w / div, returning the remainder. */
static uint32_t wide_div(struct wide *w, uint32_t div)
{
    uint64_t rem = 0;
    for (int i = WIDE_LIMBS - 1; i >= 0; i--) {
        uint64_t cur = (rem << 32) | w->limb[i];
        w->limb[i] = (uint32_t)(cur / div);
        rem = cur % div;
    }
    return (uint32_t)rem;
}

/* Number of limbs in use: 0 for zero. */
static int wide_len(const struct wide *w)
{
    int n = WIDE_LIMBS;
    while (n > 0 && w->limb[n - 1] == 0)
        n--;
    return n;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Copies at most QUOTE_MAX bytes of s into out for an error message, replacing bytes that would
 * garble a log line with '?' and marking a cut with "...". */
static void quote(char out[QUOTE_MAX + 4], const char *s)
{
    size_t i = 0;
    for (; s[i] && i < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* Fails a parse of s with a message that quotes it: `quantity "1.2.3": unknown suffix ".3" ...`. */
static int parse_error(struct krc_error *err, int code, const char *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int parse_error(struct krc_error *err, int code, const char *s, const char *fmt, ...)
{
    char q[QUOTE_MAX + 4];
    char cause[KRC_ERROR_MSG_MAX];
    va_list ap;
    quote(q, s);
    va_start(ap, fmt);
    vsnprintf(cause, sizeof(cause), fmt, ap);
    va_end(ap);
    return krc_error_set(err, code, "quantity \"%s\": %s", q, cause);
}

/* Reads the "<sign><digits>" after an 'e'/'E' suffix into *exp, clamped to +-EXPONENT_CLAMP.
 * Returns -1 when s is not that, or is outside int64 (as Kubernetes' strconv.ParseInt). */
static int parse_exponent(const char *s, int *exp)
{
    int negative = *s == '-';
    if (*s == '+' || *s == '-')
        s++;
    if (!*s)
        return -1;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; *s; s++) {
        if (!is_digit(*s))
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    int clamped = v > EXPONENT_CLAMP ? EXPONENT_CLAMP : (int)v;
    *exp = negative ? -clamped : clamped;
    return 0;
}

/* Interprets the suffix: the power of ten (decimal) or two (binary) it stands for, and the format.
 * Returns -1 for an unknown suffix. */
static int parse_suffix(const char *s, int *exp, enum krc_quantity_format *format)
{
    for (size_t i = 0; i < NSUFFIXES; i++) {
        if (strcmp(s, suffixes[i].name) == 0) {
            *exp = suffixes[i].exponent;
            *format = suffixes[i].format;
            return 0;
        }
    }
    if ((s[0] == 'e' || s[0] == 'E') && parse_exponent(s + 1, exp) == 0) {
        *format = KRC_QUANTITY_DECIMAL_EXPONENT;
        return 0;
    }
    return -1;
}

/* A quantity string taken apart, before any arithmetic. */
struct scanned {
    bool negative;
    const char *number; /* the digits, with at most one '.' among them */
    const char *end;    /* just past the number, where the suffix starts */
    int nfrac;          /* digits after the '.' */
    int exp;            /* the suffix's power of ten, or of two for binary SI */
    enum krc_quantity_format format;
};

/* Splits s into sign, number and suffix; 0 or KRC_EINVAL. */
static int scan(const char *s, struct scanned *sc, struct krc_error *err)
{
    const char *p = s;
    sc->negative = *p == '-';
    if (*p == '+' || *p == '-')
        p++;
    sc->number = p;
    while (is_digit(*p))
        p++;
    int nint = (int)(p - sc->number);
    sc->nfrac = 0;
    if (*p == '.') {
        const char *frac = ++p;
        while (is_digit(*p))
            p++;
        sc->nfrac = (int)(p - frac);
    }
    sc->end = p;
    if (nint == 0 && sc->nfrac == 0)
        return parse_error(err, KRC_EINVAL, s, "no digits in the number");
    if (parse_suffix(p, &sc->exp, &sc->format) != 0) {
        char sq[QUOTE_MAX + 4];
        quote(sq, p);
        return parse_error(err, KRC_EINVAL, s,
                           "unknown suffix \"%s\" (want n u m k M G T P E, Ki Mi Gi Ti Pi Ei or "
                           "e<integer>)",
                           sq);
    }
    return 0;
}

/* The magnitude sc stands for, rounded up to a whole nano. Returns -1 if it is 2^64 or more. */
static int scanned_magnitude(const struct scanned *sc, uint64_t *units, uint32_t *nanos)
{
    struct wide n = {{0}}; /* nano-units once multiplied by 10^scale */
    int overflow = 0;
    for (const char *d = sc->number; d < sc->end; d++)
        if (is_digit(*d))
            overflow |= wide_mul_add(&n, 10, (uint32_t)(*d - '0'));
    int scale = -NANO_EXPONENT - sc->nfrac;
    if (sc->format == KRC_QUANTITY_BINARY_SI) {
        for (int i = 0; i < sc->exp; i += 10)
            overflow |= wide_mul_add(&n, 1024, 0);
    } else {
        scale += sc->exp;
    }
    /* Past UNITS_LIMBS + 1 limbs the units alone are over 2^64, so stop before n overflows. */
    for (; scale > 0 && !overflow && wide_len(&n) > 0; scale--)
        overflow = wide_mul_add(&n, 10, 0) || wide_len(&n) > UNITS_LIMBS + 1;
    int inexact = 0;
    for (; scale < 0 && wide_len(&n) > 0; scale++)
        inexact |= wide_div(&n, 10) != 0;
    /* Kubernetes rounds up so that asking for a little of a resource never gives none. */
    if (inexact)
        overflow |= wide_mul_add(&n, 1, 1);
    *nanos = wide_div(&n, NANOS_PER_UNIT);
    *units = ((uint64_t)n.limb[1] << 32) | n.limb[0];
    return overflow || wide_len(&n) > UNITS_LIMBS ? -1 : 0;
}

int krc_quantity_parse(const char *s, struct krc_quantity *out, struct krc_error *err)
{
    size_t len = strnlen(s, KRC_QUANTITY_INPUT_MAX + 1);
    if (len == 0)
        return parse_error(err, KRC_EINVAL, s, "empty string");
    if (len > KRC_QUANTITY_INPUT_MAX)
        return parse_error(err, KRC_EINVAL, s, "longer than %d bytes", KRC_QUANTITY_INPUT_MAX);

    struct scanned sc = {0};
    int rc = scan(s, &sc, err);
    if (rc)
        return rc;
    uint64_t units;
    uint32_t nanos;
    int overflow = scanned_magnitude(&sc, &units, &nanos) != 0;
    enum krc_quantity_format format = sc.format;
    if (format == KRC_QUANTITY_BINARY_SI) {
        /* Kubernetes caps binary quantities, silently, at 2^63-1. */
        if (overflow || units > INT64_MAX || (units == INT64_MAX && nanos)) {
            units = INT64_MAX;
            nanos = 0;
        }
        if (units == 0 && nanos != 0)
            format = KRC_QUANTITY_DECIMAL_SI;
    } else if (overflow) {
        return parse_error(err, KRC_ERANGE, s, "magnitude is 2^64 or more");
    }

    out->units = units;
    out->nanos = nanos;
    out->negative = sc.negative && (units || nanos);
    out->format = format;
    return 0;
}

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
}

struct krc_quantity krc_quantity_from_int64(int64_t value, enum krc_quantity_format format)
{
    struct krc_quantity q = {
        .units = magnitude(value), .nanos = 0, .negative = value < 0, .format = format};
    return q;
}

struct krc_quantity krc_quantity_from_milli(int64_t milli, enum krc_quantity_format format)
{
    uint64_t m = magnitude(milli);
    struct krc_quantity q = {.units = m / 1000,
                             .nanos = (uint32_t)(m % 1000) * 1000000,
                             .negative = milli < 0,
                             .format = format};
    return q;
}

/* Writes the magnitude as decimal digits times 10^*exp with no trailing zeros, then lowers *exp
 * to a multiple of 3 (padding with zeros), which is the mantissa Kubernetes prints. digits holds
 * at most 20 + 9 digits: padding only puts back zeros that stripping removed. */
static void decimal_mantissa(const struct krc_quantity *q, char digits[32], int *exp)
{
    int n;
    if (q->units)
        n = snprintf(digits, 32, "%" PRIu64 "%09" PRIu32, q->units, q->nanos);
    else
        n = snprintf(digits, 32, "%" PRIu32, q->nanos);
    int e = NANO_EXPONENT;
    while (n > 1 && digits[n - 1] == '0') {
        n--;
        e++;
    }
    while (e % 3 != 0) {
        digits[n++] = '0';
        e--;
    }
    digits[n] = '\0';
    *exp = e;
}

/* The suffix for 10^exponent (decimal SI) or 2^exponent (binary SI), or NULL if there is none. */
static const char *suffix_name(int exponent, enum krc_quantity_format format)
{
    if (exponent == 0)
        return "";
    for (size_t i = 0; i < NSUFFIXES; i++)
        if (suffixes[i].exponent == exponent && suffixes[i].format == format)
            return suffixes[i].name;
    return NULL;
}

int krc_quantity_to_string(const struct krc_quantity *q, char *buf, size_t size)
{
    const char *sign = q->negative ? "-" : "";
    int n;
    if (q->units == 0 && q->nanos == 0) {
        n = snprintf(buf, size, "0");
    } else if (q->format == KRC_QUANTITY_BINARY_SI && q->units >= 1024 && q->nanos == 0) {
        uint64_t m = q->units;
        int exp = 0;
        while (m % 1024 == 0 && exp < 60) { /* 60 ("Ei") is as far as 64 bits go anyway */
            m /= 1024;
            exp += 10;
        }
        n = snprintf(buf, size, "%s%" PRIu64 "%s", sign, m, suffix_name(exp, q->format));
    } else {
        char digits[32];
        int exp;
        decimal_mantissa(q, digits, &exp);
        /* Binary quantities print as decimal SI here: below 1024 or not an integer. */
        const char *suffix = NULL;
        if (q->format == KRC_QUANTITY_DECIMAL_SI || q->format == KRC_QUANTITY_BINARY_SI)
            suffix = suffix_name(exp, KRC_QUANTITY_DECIMAL_SI);
        else if (exp == 0)
            suffix = ""; /* exponent form with nothing to say */
        if (suffix)
            n = snprintf(buf, size, "%s%s%s", sign, digits, suffix);
        else
            n = snprintf(buf, size, "%s%se%d", sign, digits, exp);
    }
    if (n < 0 || (size_t)n >= size) {
        if (size > 0)
            buf[0] = '\0';
        return KRC_ETOOLARGE;
    }
    return 0;
}

/* Gives a magnitude the sign of q as an int64, or KRC_ERANGE. */
static int signed_result(const struct krc_quantity *q, uint64_t mag, int overflow, const char *what,
                         int64_t *out, struct krc_error *err)
{
    uint64_t limit = q->negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (overflow || mag > limit) {
        char s[KRC_QUANTITY_STR_MAX];
        int rc = krc_quantity_to_string(q, s, sizeof(s));
        return krc_error_set(err, KRC_ERANGE, "quantity %s: %s does not fit in int64",
                             rc == 0 ? s : "?", what);
    }
    if (!q->negative)
        *out = (int64_t)mag;
    else if (mag == (uint64_t)INT64_MAX + 1)
        *out = INT64_MIN;
    else
        *out = -(int64_t)mag;
    return 0;
}

int krc_quantity_value(const struct krc_quantity *q, int64_t *out, struct krc_error *err)
{
    uint64_t mag = q->units + (q->nanos != 0);
    int overflow = mag < q->units;
    return signed_result(q, mag, overflow, "value", out, err);
}

int krc_quantity_milli_value(const struct krc_quantity *q, int64_t *out, struct krc_error *err)
{
    uint64_t frac = (q->nanos + 999999u) / 1000000u; /* thousandths, rounded up: 0..1000 */
    int overflow = q->units > (UINT64_MAX - frac) / 1000;
    uint64_t mag = overflow ? 0 : q->units * 1000 + frac;
    return signed_result(q, mag, overflow, "milli-value", out, err);
}

double krc_quantity_to_double(const struct krc_quantity *q)
{
    /* The exact value as "<digits>e-9" and strtod, which rounds correctly; there is no decimal
     * point, so the locale cannot change the result. */
    char s[48];
    const char *sign = q->negative ? "-" : "";
    if (q->units)
        snprintf(s, sizeof(s), "%s%" PRIu64 "%09" PRIu32 "e-9", sign, q->units, q->nanos);
    else
        snprintf(s, sizeof(s), "%s%" PRIu32 "e-9", sign, q->nanos);
    return strtod(s, NULL);
}

/* Compares magnitudes only. */
static int cmp_magnitude(const struct krc_quantity *a, const struct krc_quantity *b)
{
    if (a->units != b->units)
        return a->units < b->units ? -1 : 1;
    if (a->nanos != b->nanos)
        return a->nanos < b->nanos ? -1 : 1;
    return 0;
}

int krc_quantity_sign(const struct krc_quantity *q)
{
    if (q->units == 0 && q->nanos == 0)
        return 0;
    return q->negative ? -1 : 1;
}

bool krc_quantity_is_zero(const struct krc_quantity *q)
{
    return krc_quantity_sign(q) == 0;
}

int krc_quantity_cmp(const struct krc_quantity *a, const struct krc_quantity *b)
{
    int sa = krc_quantity_sign(a), sb = krc_quantity_sign(b);
    if (sa != sb)
        return sa < sb ? -1 : 1;
    int m = cmp_magnitude(a, b);
    return sa < 0 ? -m : m;
}

/* q += y, where y_negative replaces y's sign (so sub can reuse this). */
static int add_signed(struct krc_quantity *q, const struct krc_quantity *y, bool y_negative,
                      const char *op, struct krc_error *err)
{
    struct krc_quantity r = *q;
    if (krc_quantity_is_zero(q))
        r.format = y->format;
    if (krc_quantity_is_zero(y)) {
        *q = r;
        return 0;
    }
    if (krc_quantity_is_zero(q) || q->negative == y_negative) {
        uint32_t nanos = q->nanos + y->nanos;
        uint64_t carry = nanos >= NANOS_PER_UNIT;
        r.nanos = carry ? nanos - NANOS_PER_UNIT : nanos;
        r.units = q->units + y->units + carry;
        if (q->units > UINT64_MAX - y->units || r.units < carry) {
            char a[KRC_QUANTITY_STR_MAX], b[KRC_QUANTITY_STR_MAX];
            int rc = krc_quantity_to_string(q, a, sizeof(a));
            rc |= krc_quantity_to_string(y, b, sizeof(b));
            return krc_error_set(err, KRC_ERANGE, "quantity %s %s %s: magnitude reaches 2^64",
                                 rc == 0 ? a : "?", op, rc == 0 ? b : "?");
        }
        r.negative = y_negative;
    } else {
        /* Opposite signs: subtract the smaller magnitude from the larger, keep its sign. */
        const struct krc_quantity *big = q, *small = y;
        bool negative = q->negative;
        if (cmp_magnitude(q, y) < 0) {
            big = y;
            small = q;
            negative = y_negative;
        }
        uint32_t borrow = big->nanos < small->nanos;
        r.nanos = big->nanos + borrow * NANOS_PER_UNIT - small->nanos;
        r.units = big->units - small->units - borrow;
        r.negative = negative && (r.units || r.nanos);
    }
    *q = r;
    return 0;
}

int krc_quantity_add(struct krc_quantity *q, const struct krc_quantity *y, struct krc_error *err)
{
    return add_signed(q, y, y->negative, "+", err);
}

int krc_quantity_sub(struct krc_quantity *q, const struct krc_quantity *y, struct krc_error *err)
{
    return add_signed(q, y, !y->negative && !krc_quantity_is_zero(y), "-", err);
}
