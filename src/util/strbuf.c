/* strbuf.c - growable string buffer; growth is geometric (x1.5) to keep appends amortised O(1). */
#include "util/strbuf.h"

#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char krc_strbuf_empty[1];

enum { STRBUF_MIN_ALLOC = 64 };

void krc_strbuf_init(struct krc_strbuf *sb, size_t cap)
{
    sb->buf = krc_strbuf_empty;
    sb->len = 0;
    sb->alloc = 0;
    sb->cap = cap;
}

void krc_strbuf_release(struct krc_strbuf *sb)
{
    if (sb->alloc)
        free(sb->buf);
    krc_strbuf_init(sb, sb->cap);
}

int krc_strbuf_grow(struct krc_strbuf *sb, size_t extra)
{
    if (extra > (size_t)-1 / 2 - sb->len)
        return KRC_ETOOLARGE;
    size_t need = sb->len + extra + 1;
    if (sb->cap && sb->len + extra > sb->cap)
        return KRC_ETOOLARGE;
    if (need <= sb->alloc)
        return 0;
    size_t n = sb->alloc ? sb->alloc + sb->alloc / 2 : STRBUF_MIN_ALLOC;
    if (n < need)
        n = need;
    char *p = realloc(sb->alloc ? sb->buf : NULL, n);
    if (!p)
        return KRC_ENOMEM;
    if (!sb->alloc)
        p[0] = '\0';
    sb->buf = p;
    sb->alloc = n;
    return 0;
}

int krc_strbuf_add(struct krc_strbuf *sb, const void *data, size_t len)
{
    int rc = krc_strbuf_grow(sb, len);
    if (rc)
        return rc;
    memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
    return 0;
}

int krc_strbuf_adds(struct krc_strbuf *sb, const char *s)
{
    return krc_strbuf_add(sb, s, strlen(s));
}

int krc_strbuf_addch(struct krc_strbuf *sb, char c)
{
    return krc_strbuf_add(sb, &c, 1);
}

int krc_strbuf_vaddf(struct krc_strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return KRC_EINVAL;
    int rc = krc_strbuf_grow(sb, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
    return 0;
}

int krc_strbuf_addf(struct krc_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = krc_strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
    return rc;
}

void krc_strbuf_reset(struct krc_strbuf *sb)
{
    sb->len = 0;
    if (sb->alloc)
        sb->buf[0] = '\0';
}

char *krc_strbuf_detach(struct krc_strbuf *sb)
{
    char *out = sb->alloc ? sb->buf : strdup("");
    krc_strbuf_init(sb, sb->cap);
    return out;
}
