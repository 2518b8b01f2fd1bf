/* status.h - turning a failed API call into a typed krc_error.
 *
 * The API server explains failures with a Status object (kind "Status": code, reason, message,
 * details.causes). The HTTP code picks the error class; the reason refines it where one code means
 * two things (409 AlreadyExists vs Conflict) or where the code alone says too little (a 410 or an
 * "Expired" continue token both mean "start over": KRC_EGONE). 422 Invalid lists the server's
 * causes ("spec.x: Required value") so the log line says what to fix. A body that is not a Status
 * (a proxy's HTML page, truncated JSON) still yields a typed error from the HTTP code, with a
 * printable excerpt of the body. */
#ifndef KRC_KUBE_STATUS_H
#define KRC_KUBE_STATUS_H

#include "util/error.h"

#include <jansson.h>
#include <stddef.h>

/* The error code for an HTTP status and a Status reason (reason may be NULL or ""). */
int krc_status_code_to_error(long http_code, const char *reason);

/* Fills err from an HTTP error response: "WHAT: CODE REASON: message[; causes]". what names the
 * call ("get configmaps default/x"). Returns the error code (never 0, even for a 2xx code). */
int krc_status_error(long http_code, const char *body, size_t len, const char *what,
                     struct krc_error *err);

/* The same for a Status object already parsed, as found in a watch ERROR event; its own "code"
 * field gives the HTTP code (500 when absent). */
int krc_status_error_json(const json_t *status, const char *what, struct krc_error *err);

#endif
