/* error.h - the one error convention of kuberay-c.
 *
 * Every fallible function returns 0 on success or a negative KRC_E* code, and, when the caller
 * passes a non-NULL struct krc_error, fills it with a message that names the object and the cause
 * ("get pods default/ray-head: 404 NotFound: pods \"ray-head\" not found"). The struct is
 * caller-owned and fixed-size, so reporting an error never allocates and never fails. */
#ifndef KRC_UTIL_ERROR_H
#define KRC_UTIL_ERROR_H

#include <stddef.h>

enum krc_errcode {
    KRC_OK = 0,
    KRC_ENOMEM = -1,        /* allocation failed */
    KRC_EINVAL = -2,        /* bad argument or malformed input (parse errors) */
    KRC_EIO = -3,           /* a syscall, file or network operation failed */
    KRC_ENOTFOUND = -4,     /* HTTP 404 / missing file or key */
    KRC_EEXIST = -5,        /* HTTP 409 AlreadyExists */
    KRC_ECONFLICT = -6,     /* HTTP 409 Conflict (stale resourceVersion) */
    KRC_EGONE = -7,         /* HTTP 410 Gone (watch resourceVersion too old) */
    KRC_EFORBIDDEN = -8,    /* HTTP 403 */
    KRC_EUNAUTHORIZED = -9, /* HTTP 401 */
    KRC_EINVALID = -10,     /* HTTP 422 Invalid (the server rejected the object) */
    KRC_ETIMEOUT = -11,     /* a deadline passed */
    KRC_ETOOLARGE = -12,    /* input over a size cap */
    KRC_ESERVER = -13,      /* HTTP 5xx, 429 or another unexpected status */
    KRC_ECANCELED = -14,    /* the operation was stopped on purpose (shutdown) */
    KRC_ERANGE = -15,       /* a number does not fit */
};

#define KRC_ERROR_MSG_MAX 512

struct krc_error {
    int code;
    char msg[KRC_ERROR_MSG_MAX];
};

/* Fills err (if non-NULL) with code and a printf-style message; returns code so callers can write
 * `return krc_error_set(err, KRC_EINVAL, "...")`. A message longer than the buffer is truncated. */
int krc_error_set(struct krc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with more context ("reconcile default/c: " + old message).
 * Returns err->code (or the given code when err is NULL). */
int krc_error_wrap(struct krc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to KRC_OK with an empty message. */
void krc_error_clear(struct krc_error *err);

/* A short fixed name for a code, e.g. "NotFound"; never NULL. */
const char *krc_strerror(int code);

#endif
