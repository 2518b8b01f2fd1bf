/* retry.c - retry policy of the REST client (see retry.h). */
#include "kube/retry.h"

#include "kube/client.h"

#include <string.h>

int krc_retry_idempotent(const char *method)
{
    static const char *const idempotent[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof(idempotent) / sizeof(idempotent[0]); i++)
        if (strcmp(method, idempotent[i]) == 0)
            return 1;
    return 0;
}

int krc_retry_should(const char *method, int rc, const struct krc_http_response *resp)
{
    if (rc == 0) {
        long s = resp->status;
        if (s == 429)
            return 1;
        /* 501 Not Implemented and 505 will not change on a second try. */
        if (s == 500 || s == 502 || s == 503 || s == 504)
            return krc_retry_idempotent(method);
        return 0;
    }
    if (rc != KRC_EIO && rc != KRC_ETIMEOUT)
        return 0; /* canceled, too large, out of memory, stopped by the receiver */
    if (!resp->sent)
        return rc == KRC_ETIMEOUT || resp->transient;
    /* A request timeout after sending is not retried: the caller's time budget is spent. */
    return rc == KRC_EIO && resp->transient && krc_retry_idempotent(method);
}

long krc_retry_delay_ms(int attempt, long retry_after_s, uint64_t rnd)
{
    if (retry_after_s > 0) {
        if (retry_after_s > KRC_CLIENT_RETRY_AFTER_MAX_S)
            retry_after_s = KRC_CLIENT_RETRY_AFTER_MAX_S;
        return retry_after_s * 1000;
    }
    long d = KRC_CLIENT_RETRY_BASE_MS;
    for (int i = 0; i < attempt && d < KRC_CLIENT_RETRY_MAX_MS; i++)
        d *= 2;
    if (d > KRC_CLIENT_RETRY_MAX_MS)
        d = KRC_CLIENT_RETRY_MAX_MS;
    return d / 2 + (long)(rnd % (uint64_t)(d / 2 + 1));
}
