/* cancel.h - a flag one thread raises to stop another thread's long call (a watch stream, a
 * retry backoff). Polled, not signalled: the HTTP transport checks it between bounded waits (the
 * native one at least every 200 ms, the libcurl one from its progress callback at least once a
 * second), so a cancel takes effect within about a second. */
#ifndef KRC_KUBE_CANCEL_H
#define KRC_KUBE_CANCEL_H

#include <stdatomic.h>

struct krc_cancel {
    atomic_int requested;
};

#define KRC_CANCEL_INIT                                                                            \
    {                                                                                              \
        0                                                                                          \
    }

static inline void krc_cancel_init(struct krc_cancel *c)
{
    atomic_init(&c->requested, 0);
}

/* Safe from any thread, and from a signal handler (a lock-free store). */
static inline void krc_cancel_request(struct krc_cancel *c)
{
    atomic_store(&c->requested, 1);
}

static inline int krc_cancel_requested(struct krc_cancel *c)
{
    return c && atomic_load(&c->requested);
}

#endif
