/* retry.h - when and how long to wait before repeating a failed API call.
 *
 * Pure functions of the outcome of one attempt, so the policy is tested by tables of cases.
 * What may be repeated: a 429 (the server refused before acting), a failure before the request
 * left (refused connection, DNS, TLS handshake), and, for idempotent methods only, a 5xx or a
 * connection broken after sending, since a POST or PATCH may have been applied once already. */
#ifndef KRC_KUBE_RETRY_H
#define KRC_KUBE_RETRY_H

#include "kube/http.h"

#include <stdint.h>

/* GET, HEAD, PUT, DELETE and OPTIONS are idempotent (RFC 9110); POST and PATCH are not. */
int krc_retry_idempotent(const char *method);

/* Whether to try again after an attempt that ended with rc (krc_http_perform's result) and resp.
 * Says nothing about the number of attempts: the caller caps those. */
int krc_retry_should(const char *method, int rc, const struct krc_http_response *resp);

/* Parses a Retry-After header value (RFC 9110 10.2.3): delay-seconds, or an HTTP-date in any of
 * the three forms a recipient must accept (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", the
 * obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994"),
 * turned into seconds from now_s (Unix time) to that date. Into *out_s: the seconds, 0 for a date
 * not in the future, at most KRC_CLIENT_RETRY_AFTER_MAX_S (as krc_retry_delay_ms caps them).
 * Leading and trailing spaces and tabs are ignored; anything else malformed (a sign, a fraction,
 * an unknown day or month name, a day the month lacks, a time out of range, another zone than
 * GMT, trailing text) is KRC_EINVAL and leaves *out_s alone. Pure: no locale, no time zone. */
int krc_retry_after_parse(const char *value, int64_t now_s, long *out_s);

/* Milliseconds to wait before retry number attempt (0-based): the server's Retry-After when it
 * gave one (capped at KRC_CLIENT_RETRY_AFTER_MAX_S), else base * 2^attempt capped at max, with
 * "equal jitter" (a random point in the upper half) from rnd so that clients that failed together
 * do not all come back together. */
long krc_retry_delay_ms(int attempt, long retry_after_s, uint64_t rnd);

#endif
