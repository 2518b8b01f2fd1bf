/* valctx.h - how the ray.io/v1 validators (raycluster_validate.c, rayjob_validate.c) report a
 * failed rule: one message, set on the caller's struct krc_error with KRC_EINVAL and, when the
 * caller asked for it, copied whole into a strbuf (krc_error truncates long messages; KubeRay's
 * messages, which users and Kueue match on, must reach status and events uncut). */
#ifndef KRC_API_VALCTX_H
#define KRC_API_VALCTX_H

#include "util/error.h"
#include "util/strbuf.h"

#include <stddef.h>

/* Where a validator reports: err always, full (may be NULL) gets the untruncated message. */
struct valctx {
    struct krc_error *err;
    struct krc_strbuf *full;
};

/* Sets KRC_ENOMEM with "validation: out of memory" and returns KRC_ENOMEM. */
int valctx_oom(struct valctx *v);

/* Reports an already formatted message of len bytes. Returns KRC_EINVAL, or KRC_ENOMEM when
 * copying into v->full fails. */
int valctx_reject_text(struct valctx *v, const char *text, size_t len);

/* Formats and reports a message; returns as valctx_reject_text. */
int valctx_reject(struct valctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
