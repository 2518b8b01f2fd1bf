/* quantity.h - Kubernetes resource quantities ("500m", "1536Mi", "1e3"): parse, compare, add and
 * print them the way k8s.io/apimachinery/pkg/api/resource does.
 *
 * Representation. Kubernetes keeps an int64 scaled by a power of ten and falls back to an
 * arbitrary-precision decimal (inf.Dec). We keep a sign, a 64-bit integer part and a count of
 * nano-units (10^-9): fixed size, no allocation, and exact for every quantity whose magnitude is
 * below 2^64 (about 1.8e19). That covers everything the operator handles: every result Kubernetes'
 * int64 accessors can return, memory in bytes, and binary quantities, which Kubernetes itself caps
 * at 2^63-1 ("8Ei" parses as 9223372036854775807). Nano is also where Kubernetes stops: a finer
 * non-zero part is rounded away from zero ("0.1n" is "1n"), so nothing is lost below it. The cost:
 * a decimal quantity of 2^64 or more ("20E", "1e20") is KRC_ERANGE here where Kubernetes keeps it.
 * A plain int64 of nano-units, the obvious alternative, would stop at about 9.2e9, less than
 * "16Gi" of memory.
 *
 * Where we differ from Kubernetes on purpose:
 *   - The number needs at least one digit, as Kubernetes documents and as the CRD validation
 *     pattern enforces; Kubernetes' parser itself also accepts "Mi", ".", "+" and "-" as zero.
 *   - Input is capped at KRC_QUANTITY_INPUT_MAX bytes; Kubernetes has no cap.
 *   - krc_quantity_to_string() always prints the canonical form. Kubernetes echoes some inputs back
 *     verbatim ("+1", "01", "1E3", "1.500"; kubernetes/kubernetes#138165).
 *   - An exponent is taken by value; Kubernetes truncates it to 32 bits ("1e4294967296" is 1).
 *   - Value and milli-value round negative numbers away from zero, as Kubernetes documents and
 *     does for most inputs; its arbitrary-precision path gets some wrong ("-1.1Ki" gives -1125).
 *
 * A struct krc_quantity is a plain value: copy it freely, zero-initialise it for "0". Read
 * `format` directly; the other fields are private to quantity.c. */
#ifndef KRC_UTIL_QUANTITY_H
#define KRC_UTIL_QUANTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct krc_error;

/* Longest string krc_quantity_parse() accepts, in bytes, not counting the NUL. */
#define KRC_QUANTITY_INPUT_MAX 64
/* A buffer of this size holds any quantity krc_quantity_to_string() prints, NUL included. */
#define KRC_QUANTITY_STR_MAX 40

/* How a quantity prints, remembered from the suffix it was parsed with. */
enum krc_quantity_format {
    KRC_QUANTITY_DECIMAL_SI = 0,   /* 12M = 12 * 10^6; also no suffix, and n u m k G T P E */
    KRC_QUANTITY_BINARY_SI,        /* 12Mi = 12 * 2^20; Ki Mi Gi Ti Pi Ei */
    KRC_QUANTITY_DECIMAL_EXPONENT, /* 12e6 */
};

struct krc_quantity {
    uint64_t units; /* integer part of the magnitude */
    uint32_t nanos; /* fractional part of the magnitude in 10^-9, below 10^9 */
    bool negative;  /* never set for zero */
    enum krc_quantity_format format;
};

/* Parses s: an optional sign, digits with an optional decimal point ("1.5", "1.", ".5"), then a
 * suffix: one of n u m k M G T P E (decimal SI), Ki Mi Gi Ti Pi Ei (binary SI), or e/E and a signed
 * integer ("1e3", "1E-2"). A non-zero value finer than 1n is rounded away from zero to the next
 * nano; a binary quantity over 2^63-1 is capped there; one below 1 becomes decimal SI
 * (".000000000001Ki" is 1.024n, rounded to "2n"). Returns 0, KRC_EINVAL for malformed or
 * over-long input, or KRC_ERANGE for a magnitude of 2^64 or more; on error *out is unchanged and
 * err names the input. s must be NUL-terminated. Never allocates. */
int krc_quantity_parse(const char *s, struct krc_quantity *out, struct krc_error *err);

/* value or value/1000, in the given format, as Kubernetes' NewQuantity and NewMilliQuantity. */
struct krc_quantity krc_quantity_from_int64(int64_t value, enum krc_quantity_format format);
struct krc_quantity krc_quantity_from_milli(int64_t milli, enum krc_quantity_format format);

/* Writes the canonical form into buf, as Kubernetes' String(): the largest suffix (or exponent, a
 * multiple of 3) that leaves an integer, so "1.5Gi" prints "1536Mi", "0.5" prints "500m" and
 * "1000m" prints "1". A binary quantity that is below 1024 or not an integer prints in decimal SI.
 * Zero prints "0". Returns 0, or KRC_ETOOLARGE (buf set to "") when size is too small, which a
 * buffer of KRC_QUANTITY_STR_MAX never is. */
int krc_quantity_to_string(const struct krc_quantity *q, char *buf, size_t size);

/* The value rounded away from zero to an integer (Kubernetes' Value(): "1.1" is 2, "-1.1" is -2).
 * Returns 0, or KRC_ERANGE if that does not fit an int64 (Kubernetes silently overflows). */
int krc_quantity_value(const struct krc_quantity *q, int64_t *out, struct krc_error *err);
/* The value in thousandths, rounded away from zero (Kubernetes' MilliValue(): "1n" is 1).
 * Returns 0, or KRC_ERANGE if that does not fit an int64 (from about 9.2e15 up). */
int krc_quantity_milli_value(const struct krc_quantity *q, int64_t *out, struct krc_error *err);

/* The nearest double (Kubernetes' AsApproximateFloat64 and AsFloat64Slow can be one bit off:
 * they give 0.0058096450000000004 for "5.809644071m", which is 0.005809645 after nano rounding). */
double krc_quantity_to_double(const struct krc_quantity *q);

/* -1, 0 or 1 as a is less than, equal to or greater than b; the format does not matter. */
int krc_quantity_cmp(const struct krc_quantity *a, const struct krc_quantity *b);
/* -1, 0 or 1 for negative, zero, positive. */
int krc_quantity_sign(const struct krc_quantity *q);
bool krc_quantity_is_zero(const struct krc_quantity *q);

/* q += y and q -= y. When q is zero it takes y's format first, as in Kubernetes, so that adding
 * "1Gi" to a zero total prints "1Gi". Returns 0, or KRC_ERANGE (q unchanged) when the magnitude of
 * the result would reach 2^64. */
int krc_quantity_add(struct krc_quantity *q, const struct krc_quantity *y, struct krc_error *err);
int krc_quantity_sub(struct krc_quantity *q, const struct krc_quantity *y, struct krc_error *err);

#endif
