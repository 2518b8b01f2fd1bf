/* mutex.c - locking that aborts on a programming error (see mutex.h). */
#include "util/mutex.h"

#include "util/log.h"

#include <stdlib.h>
#include <string.h>

void krc_mutex_lock(pthread_mutex_t *mu)
{
    int rc = pthread_mutex_lock(mu);
    if (rc) {
        KRC_LOG_ERROR("pthread_mutex_lock failed", "error", strerror(rc));
        abort();
    }
}

void krc_mutex_unlock(pthread_mutex_t *mu)
{
    int rc = pthread_mutex_unlock(mu);
    if (rc) {
        KRC_LOG_ERROR("pthread_mutex_unlock failed", "error", strerror(rc));
        abort();
    }
}
