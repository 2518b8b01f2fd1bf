/* log.c - formats log lines into a fixed stack buffer (a line longer than KRC_LOG_LINE_MAX is cut
 * and ends with "..."), then writes it with a single write(2). */
#include "util/log.h"

#include "util/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { KRC_LOG_LINE_MAX = 4096 };

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Process-wide sink, set once by main(); atomics so a late reconfigure is still race-free. */
static _Atomic int log_min_level = KRC_LOG_INFO;
static _Atomic int log_format = KRC_LOG_FORMAT_TEXT;
static _Atomic int log_fd = STDERR_FILENO;

void krc_log_configure(enum krc_log_level min_level, enum krc_log_format format, int fd)
{
    atomic_store(&log_min_level, (int)min_level);
    atomic_store(&log_format, (int)format);
    atomic_store(&log_fd, fd);
}

int krc_log_parse_level(const char *s, enum krc_log_level *out)
{
    for (int i = KRC_LOG_DEBUG; i <= KRC_LOG_ERROR; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum krc_log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = KRC_LOG_WARN;
        return 0;
    }
    return KRC_EINVAL;
}

int krc_log_parse_format(const char *s, enum krc_log_format *out)
{
    if (strcmp(s, "text") == 0 || strcmp(s, "console") == 0) {
        *out = KRC_LOG_FORMAT_TEXT;
        return 0;
    }
    if (strcmp(s, "json") == 0) {
        *out = KRC_LOG_FORMAT_JSON;
        return 0;
    }
    return KRC_EINVAL;
}

int krc_log_enabled(enum krc_log_level level)
{
    return (int)level >= atomic_load(&log_min_level);
}

struct line {
    char buf[KRC_LOG_LINE_MAX];
    size_t len;
    int truncated;
};

static void put(struct line *l, const char *s, size_t n)
{
    /* Keep room for "...\n". */
    size_t room = sizeof(l->buf) - 4 - l->len;
    if (n > room) {
        n = room;
        l->truncated = 1;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_json_string(struct line *l, const char *s)
{
    put(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            put(l, "\\\"", 2);
            break;
        case '\\':
            put(l, "\\\\", 2);
            break;
        case '\n':
            put(l, "\\n", 2);
            break;
        case '\t':
            put(l, "\\t", 2);
            break;
        case '\r':
            put(l, "\\r", 2);
            break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04x", *p);
                puts_(l, esc);
            } else {
                put(l, (const char *)p, 1);
            }
        }
    }
    put(l, "\"", 1);
}

static int needs_quotes(const char *s)
{
    if (!*s)
        return 1;
    for (const char *p = s; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
            return 1;
    return 0;
}

static void put_text_value(struct line *l, const char *s)
{
    if (needs_quotes(s))
        put_json_string(l, s); /* JSON escaping is a fine quoting for logfmt too */
    else
        puts_(l, s);
}

static void put_timestamp(struct line *l, int json)
{
    struct timespec ts;
    struct tm tm;
    char out[40];
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || !gmtime_r(&ts.tv_sec, &tm)) {
        puts_(l, json ? "\"\"" : "-");
        return;
    }
    size_t n = strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, sizeof(out) - n, ".%03ldZ", ts.tv_nsec / 1000000L);
    if (json)
        put_json_string(l, out);
    else
        puts_(l, out);
}

void krc_log(enum krc_log_level level, const char *msg, ...)
{
    if (!krc_log_enabled(level))
        return;
    int saved_errno = errno;
    int json = atomic_load(&log_format) == KRC_LOG_FORMAT_JSON;
    struct line l = {.len = 0, .truncated = 0};
    const char *lvl = level_names[level <= KRC_LOG_ERROR ? level : KRC_LOG_ERROR];

    if (json) {
        puts_(&l, "{\"ts\":");
        put_timestamp(&l, 1);
        puts_(&l, ",\"level\":\"");
        puts_(&l, lvl);
        puts_(&l, "\",\"msg\":");
        put_json_string(&l, msg);
    } else {
        puts_(&l, "ts=");
        put_timestamp(&l, 0);
        puts_(&l, " level=");
        puts_(&l, lvl);
        puts_(&l, " msg=");
        put_json_string(&l, msg);
    }

    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *val = va_arg(ap, const char *);
        if (!val)
            val = "";
        if (json) {
            put(&l, ",", 1);
            put_json_string(&l, key);
            put(&l, ":", 1);
            put_json_string(&l, val);
        } else {
            put(&l, " ", 1);
            puts_(&l, key);
            put(&l, "=", 1);
            put_text_value(&l, val);
        }
    }
    va_end(ap);

    if (json && !l.truncated)
        put(&l, "}", 1);
    if (l.truncated) {
        memcpy(l.buf + l.len, "...", 3);
        l.len += 3;
    }
    l.buf[l.len++] = '\n';

    int fd = atomic_load(&log_fd);
    size_t off = 0;
    while (off < l.len) {
        ssize_t n = write(fd, l.buf + off, l.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* nowhere left to report a failing log sink */
        off += (size_t)n;
    }
    errno = saved_errno;
}
