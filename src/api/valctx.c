/* valctx.c - the validators' error reporting (see valctx.h). */
#include "api/valctx.h"

#include <stdarg.h>

int valctx_oom(struct valctx *v)
{
    return krc_error_set(v->err, KRC_ENOMEM, "validation: out of memory");
}

int valctx_reject_text(struct valctx *v, const char *text, size_t len)
{
    krc_error_set(v->err, KRC_EINVAL, "%s", text);
    if (v->full) {
        krc_strbuf_reset(v->full);
        if (krc_strbuf_add(v->full, text, len))
            return valctx_oom(v);
    }
    return KRC_EINVAL;
}

int valctx_reject(struct valctx *v, const char *fmt, ...)
{
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int rc = krc_strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    rc = rc ? valctx_oom(v) : valctx_reject_text(v, sb.buf, sb.len);
    krc_strbuf_release(&sb);
    return rc;
}
