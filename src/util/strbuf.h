/* strbuf.h - a growable, always NUL-terminated byte buffer (in the spirit of git's strbuf).
 *
 * Used for building request bodies, URLs and log lines. A strbuf owns its memory; initialise with
 * KRC_STRBUF_INIT or krc_strbuf_init(), release with krc_strbuf_release(). Every append reports
 * allocation failure (KRC_ENOMEM) and leaves the buffer valid and unchanged on failure. An optional
 * cap bounds the size, so data from the network cannot grow a buffer without limit. */
#ifndef KRC_UTIL_STRBUF_H
#define KRC_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct krc_strbuf {
    char *buf;  /* NUL-terminated; points at a static "" until the first append */
    size_t len; /* bytes in use, not counting the NUL */
    size_t alloc;
    size_t cap; /* maximum len; 0 = unbounded */
};

extern char krc_strbuf_empty[];
#define KRC_STRBUF_INIT                                                                            \
    {                                                                                              \
        krc_strbuf_empty, 0, 0, 0                                                                  \
    }

void krc_strbuf_init(struct krc_strbuf *sb, size_t cap);
void krc_strbuf_release(struct krc_strbuf *sb);
/* Makes room for at least extra more bytes. KRC_ETOOLARGE past the cap, KRC_ENOMEM on failure. */
int krc_strbuf_grow(struct krc_strbuf *sb, size_t extra);
int krc_strbuf_add(struct krc_strbuf *sb, const void *data, size_t len);
int krc_strbuf_adds(struct krc_strbuf *sb, const char *s);
int krc_strbuf_addch(struct krc_strbuf *sb, char c);
int krc_strbuf_addf(struct krc_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int krc_strbuf_vaddf(struct krc_strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void krc_strbuf_reset(struct krc_strbuf *sb);
/* Hands the heap buffer to the caller (free() it) and resets sb; NULL on allocation failure. */
char *krc_strbuf_detach(struct krc_strbuf *sb);

#endif
