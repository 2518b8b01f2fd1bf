/* mutex.h - locking that cannot fail silently.
 *
 * pthread_mutex_lock/unlock fail only on a programming error (an uninitialised or destroyed mutex,
 * unlocking one not held): there is no sensible way to carry on, so these log what failed and
 * abort instead of making every caller handle an impossible error. */
#ifndef KRC_UTIL_MUTEX_H
#define KRC_UTIL_MUTEX_H

#include <pthread.h>

void krc_mutex_lock(pthread_mutex_t *mu);
void krc_mutex_unlock(pthread_mutex_t *mu);

#endif
