/* token.h - the bearer token a client sends, static or read from a rotating file.
 *
 * Service-account tokens are short-lived: the kubelet rewrites the file well before expiry. So a
 * token file is re-read when its mtime (or inode or size) changes, checked at most once per
 * interval (a minute by default, as client-go does) to keep stat(2) off the request path, and at
 * once when the server answers 401 (krc_bearer_get with force). Thread-safe: one mutex guards the
 * cached token; callers get a copy, so a concurrent reload never frees a token in use. */
#ifndef KRC_KUBE_TOKEN_H
#define KRC_KUBE_TOKEN_H

#include "util/error.h"
#include "util/strbuf.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define KRC_BEARER_RECHECK_NS (60LL * 1000 * 1000 * 1000)

struct krc_bearer {
    pthread_mutex_t mu;
    char *path;         /* token file, or NULL for a static token */
    char *token;        /* current token, or NULL (no authentication) */
    int64_t recheck_ns; /* minimum time between stat(2) calls; tests set 0 */
    int64_t checked_ns; /* monotonic time of the last stat, 0 = never */
    struct timespec mtime;
    ino_t ino;
    off_t size;
};

/* Static token and/or token file (the file wins, as in client-go); both may be NULL. The file is
 * read at the first krc_bearer_get. */
int krc_bearer_init(struct krc_bearer *b, const char *token, const char *path,
                    struct krc_error *err);
void krc_bearer_destroy(struct krc_bearer *b);

/* Copies the current token into out (replacing its content; empty when there is none). force
 * skips the interval and re-reads the file even if it looks unchanged. When a re-read fails the
 * previous token is kept and returned with a warning logged; the error is returned only when
 * there has never been a token. */
int krc_bearer_get(struct krc_bearer *b, int force, struct krc_strbuf *out, struct krc_error *err);

#endif
