/* token.c - bearer token cache with change detection by stat(2) (see token.h). The copy handed
 * out and the file buffer are wiped before release, so tokens do not linger in freed memory. */
#include "kube/token.h"

#include "kube/config.h"
#include "util/fileio.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void wipe(char *s)
{
    if (!s)
        return;
    volatile char *v = s;
    while (*v)
        *v++ = 0;
}

int krc_bearer_init(struct krc_bearer *b, const char *token, const char *path,
                    struct krc_error *err)
{
    memset(b, 0, sizeof(*b));
    b->recheck_ns = KRC_BEARER_RECHECK_NS;
    if (path && *path) {
        b->path = strdup(path);
        if (!b->path)
            return krc_error_set(err, KRC_ENOMEM, "bearer token: out of memory");
    } else if (token && *token) {
        b->token = strdup(token);
        if (!b->token)
            return krc_error_set(err, KRC_ENOMEM, "bearer token: out of memory");
    }
    int rc = pthread_mutex_init(&b->mu, NULL);
    if (rc) {
        free(b->path);
        free(b->token);
        return krc_error_set(err, KRC_ENOMEM, "bearer token: pthread_mutex_init: %s", strerror(rc));
    }
    return 0;
}

void krc_bearer_destroy(struct krc_bearer *b)
{
    wipe(b->token);
    free(b->token);
    free(b->path);
    pthread_mutex_destroy(&b->mu);
    memset(b, 0, sizeof(*b));
}

/* Re-reads the file if forced or if it changed; called with the mutex held. */
static int reload(struct krc_bearer *b, int force, struct krc_error *err)
{
    struct krc_strbuf text;
    struct stat st;
    int rc = 0;

    if (stat(b->path, &st) != 0)
        return krc_error_set(err, errno == ENOENT ? KRC_ENOTFOUND : KRC_EIO,
                             "bearer token file %s: %s", b->path, strerror(errno));
    if (!force && b->token && st.st_mtim.tv_sec == b->mtime.tv_sec &&
        st.st_mtim.tv_nsec == b->mtime.tv_nsec && st.st_ino == b->ino && st.st_size == b->size)
        return 0;
    krc_strbuf_init(&text, KRC_TOKEN_FILE_MAX);
    rc = krc_file_read(b->path, KRC_TOKEN_FILE_MAX, &text, err);
    if (rc) {
        krc_error_wrap(err, rc, "bearer token");
        goto out;
    }
    size_t start = 0, end = text.len;
    while (start < end && isspace((unsigned char)text.buf[start]))
        start++;
    while (end > start && isspace((unsigned char)text.buf[end - 1]))
        end--;
    if (start == end) {
        rc = krc_error_set(err, KRC_EINVAL, "bearer token file %s is empty", b->path);
        goto out;
    }
    char *tok = strndup(text.buf + start, end - start);
    if (!tok) {
        rc = krc_error_set(err, KRC_ENOMEM, "bearer token: out of memory");
        goto out;
    }
    wipe(b->token);
    free(b->token);
    b->token = tok;
    b->mtime = st.st_mtim;
    b->ino = st.st_ino;
    b->size = st.st_size;
out:
    if (text.alloc)
        memset(text.buf, 0, text.alloc);
    krc_strbuf_release(&text);
    return rc;
}

/* A failing lock or unlock means a destroyed or corrupted mutex, a bug no caller can handle. */
static void must(int rc, const char *what)
{
    if (rc) {
        KRC_LOG_ERROR("mutex operation failed", "call", what, "error", strerror(rc));
        abort();
    }
}

int krc_bearer_get(struct krc_bearer *b, int force, struct krc_strbuf *out, struct krc_error *err)
{
    int rc = 0;

    krc_strbuf_reset(out);
    must(pthread_mutex_lock(&b->mu), "pthread_mutex_lock");
    if (b->path) {
        int64_t now = now_ns();
        if (force || !b->token || b->checked_ns == 0 || now - b->checked_ns >= b->recheck_ns) {
            struct krc_error e = {0, ""};
            b->checked_ns = now ? now : 1;
            rc = reload(b, force, &e);
            if (rc && b->token) {
                KRC_LOG_WARN("cannot re-read the bearer token file; keeping the previous token",
                             "path", b->path, "error", e.msg);
                rc = 0;
            } else if (rc) {
                krc_error_set(err, rc, "%s", e.msg);
            }
        }
    }
    if (!rc && b->token && krc_strbuf_adds(out, b->token) != 0)
        rc = krc_error_set(err, KRC_ENOMEM, "bearer token: out of memory");
    must(pthread_mutex_unlock(&b->mu), "pthread_mutex_unlock");
    return rc;
}
