/* lines.c - splits a byte stream into newline-delimited lines for stream callbacks.
 *
 * Every line is copied into one reusable buffer and NUL-terminated, even when it lies whole inside
 * a network chunk: one memcpy per event is cheap next to the JSON parse that follows, and callers
 * get plain C strings. The buffer grows to the longest line seen and never past max_line, which is
 * what bounds memory against a hostile or broken server. */
#include "kube/client.h"

#include <string.h>

void krc_lines_init(struct krc_lines *l, size_t max_line, krc_line_fn fn, void *ctx)
{
    l->max_line = max_line ? max_line : KRC_STREAM_LINE_MAX;
    /* One byte over the cap holds a trailing '\r' of a line exactly max_line long. */
    krc_strbuf_init(&l->line, l->max_line + 1);
    l->fn = fn;
    l->ctx = ctx;
}

void krc_lines_release(struct krc_lines *l)
{
    krc_strbuf_release(&l->line);
}

static int emit(struct krc_lines *l)
{
    struct krc_strbuf *b = &l->line;
    int rc = 0;
    if (b->len && b->buf[b->len - 1] == '\r')
        b->buf[--b->len] = '\0';
    if (b->len > l->max_line)
        return KRC_ETOOLARGE;
    if (b->len)
        rc = l->fn(l->ctx, b->buf, b->len);
    krc_strbuf_reset(b);
    return rc;
}

int krc_lines_feed(struct krc_lines *l, const char *data, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        int rc = krc_strbuf_add(&l->line, data, n);
        if (rc)
            return rc; /* KRC_ETOOLARGE past max_line (+1), or KRC_ENOMEM */
        if (!nl)
            return 0;
        rc = emit(l);
        if (rc)
            return rc;
        data += n + 1;
        len -= n + 1;
    }
    return 0;
}

int krc_lines_finish(struct krc_lines *l)
{
    int partial = l->line.len > 0;
    krc_strbuf_reset(&l->line);
    return partial ? KRC_EIO : 0;
}
