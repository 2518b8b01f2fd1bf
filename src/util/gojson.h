/* gojson.h - JSON text exactly as Go's encoding/json produces it, and YAML read as
 * sigs.k8s.io/yaml / go-yaml v2 read it (for KubeRay's runtimeEnvYAML and submission bodies,
 * spec rayjob.md §8.2, §8.4; api/rayjob_runtime_env.c adds KubeRay's error wording).
 *
 * Go's encoding/json writes compact JSON with map keys sorted bytewise, escapes <, >, &, U+2028 and
 * U+2029 as \u003c..., control characters as \b \f \n \r \t or \u00XX (lower-case hex), and numbers
 * in the shortest form that round-trips (float64, or float32 for float32 fields), switching to
 * exponent form below 1e-6 and from 1e21. jansson's dumper differs on all of these, hence this
 * encoder. The YAML reader applies YAML 1.1 plain-scalar rules as go-yaml v2 does (yes/no/on/off
 * and y/n are booleans, 0x/0o/octal/underscored integers, "1.0" is the float 1 and encodes as 1,
 * ~/null/empty are null, quoted scalars stay strings) and only reads the first document.
 * Known gap: an integer above 2^63-1 (a Go uint64) is kept as a float64, so it prints rounded
 * ("9223372036854775808" -> 9223372036854776000) where Go prints it exactly; !!binary scalars
 * stay base64 text.
 * Pure functions, thread-safe. */
#ifndef KRC_UTIL_GOJSON_H
#define KRC_UTIL_GOJSON_H

#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stddef.h>

/* Appends v encoded as Go's json.Marshal would (objects sorted; reals as float64). KRC_EINVAL for
 * NaN or infinity ("json: unsupported value: NaN"). */
int gojson_encode(const json_t *v, struct krc_strbuf *out, struct krc_error *err);

/* gojson_encode_flags: GOJSON_NUMBERS_AS_FLOAT64 writes integers as float64 values, as Go does
 * after decoding JSON into interface{} (2^53 and beyond lose precision the same way). */
#define GOJSON_NUMBERS_AS_FLOAT64 1u
int gojson_encode_flags(const json_t *v, unsigned flags, struct krc_strbuf *out,
                        struct krc_error *err);

/* Appends a JSON string literal of the UTF-8 bytes s[0..len) as Go encodes it (invalid UTF-8
 * becomes U+FFFD). */
int gojson_encode_string(const char *s, size_t len, struct krc_strbuf *out);

/* Appends f as Go encodes a float32 (shortest float32 round trip: 1.1, 0.5, 2). */
int gojson_encode_float32(float f, struct krc_strbuf *out);

/* Parses YAML text into a jansson tree with go-yaml v2 typing and sigs.k8s.io/yaml's key
 * conversion (non-string keys become their text: true, 1, 1.5). Empty or whitespace-only text ->
 * json null. *out is a new reference. KRC_EINVAL with "yaml: ..." for malformed YAML, and with
 * "json: unsupported value: NaN" (+Inf, -Inf) for a .nan/.inf value, which json.Marshal rejects
 * (as a map key it is the text ".nan"). */
int gojson_yaml_to_json(const char *text, size_t len, json_t **out, struct krc_error *err);

/* Appends s quoted as Go's strconv.Quote: "..." with \" \\ \a \b \f \n \r \t \v, other control
 * bytes and DEL as \xNN, invalid UTF-8 as \xNN, non-printable runes as \uNNNN / \UNNNNNNNN,
 * printable non-ASCII kept. (Printability of non-ASCII runes follows Unicode categories for the
 * common ranges: C1 controls, format characters, separators, private use and noncharacters are
 * escaped; unassigned code points inside assigned blocks are treated as printable.) */
int gojson_strconv_quote(const char *s, size_t len, struct krc_strbuf *out);

#endif
