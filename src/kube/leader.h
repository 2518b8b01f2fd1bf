/* leader.h - leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics.
 *
 * One elector per process and lease. krc_leader_start() runs it on a thread of its own:
 *   - acquire: every retry period (plus client-go's jitter, up to 1.2 periods more) try to take
 *     the lease. It is free when it does not exist (create it), when its holderIdentity is empty
 *     (released), or when it has expired: leaseDurationSeconds have passed since THIS process
 *     last saw the record change. The remote renewTime is never compared with our clock, so clock
 *     skew between machines cannot make a live leader look expired (client-go's rule).
 *   - on success: is_leader becomes 1, a core/v1 Event "<identity> became leader" (reason
 *     LeaderElection, regarding the Lease) is recorded, then on_started_leading runs.
 *   - renew: every retry period, write a new renewTime (optimistically on the Lease we last wrote;
 *     on failure, read it and decide again). If no renewal succeeds within the renew deadline,
 *     leadership is lost: is_leader becomes 0, on_stopped_leading runs and the thread ends (as
 *     client-go's Run returns; KubeRay then exits 1). To contend again, create a new elector.
 *   - writes are conditional on the resourceVersion last read or written: a 409 means another
 *     contender won the race, and this one retries after the retry period. leaseTransitions is
 *     incremented whenever the holder changes.
 *   - krc_leader_stop(): ends the loop; a leader runs on_stopped_leading and then, if
 *     release_on_cancel, clears holderIdentity (leaseDurationSeconds 1) so a successor takes over
 *     at its next retry instead of after the lease expires (a lost leader releases too, if the
 *     lease still names it, as in client-go). client-go releases before calling
 *     OnStoppedLeading; here the work stops before the lease is handed over, which is the order
 *     that keeps two leaders from overlapping. KubeRay does not release (spec §7): off by default.
 *     Either way of stopping leading also records "<identity> stopped leading" (client-go does),
 *     written before krc_leader_stop() returns if the server answers within a request timeout.
 *
 * The elector builds its own REST client from the kubeconfig: a per-request timeout of half the
 * renew deadline and no retries inside a call (the election loop is the retry), its own QPS
 * bucket, and the user agent with "/leader-election" appended (spec §4.2), so a slow or throttled
 * controller client cannot starve renewals. A call in flight delays krc_leader_stop() by at most
 * that timeout.
 *
 * Callbacks run on the elector thread and must return promptly (start work elsewhere): a callback
 * that blocks delays renewals. client-go runs them on goroutines of their own. A callback must not
 * call krc_leader_stop() or krc_leader_free() (the thread would join itself); exiting the process
 * from on_stopped_leading, as KubeRay does, is fine.
 *
 * The pure part of the algorithm (observe a record, decide, one acquire-or-renew step over an
 * abstract lock) is exposed below with the time passed in, for table-driven unit tests. */
#ifndef KRC_KUBE_LEADER_H
#define KRC_KUBE_LEADER_H

#include "kube/config.h"
#include "util/error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define KRC_LEADER_DEFAULT_LEASE_DURATION_NS (15 * INT64_C(1000000000))
#define KRC_LEADER_DEFAULT_RENEW_DEADLINE_NS (10 * INT64_C(1000000000))
#define KRC_LEADER_DEFAULT_RETRY_PERIOD_NS   (2 * INT64_C(1000000000))
#define KRC_LEADER_DEFAULT_JITTER            1.2 /* client-go's JitterFactor on acquire */
#define KRC_LEADER_IDENTITY_MAX              256 /* bytes, NUL included */
#define KRC_LEADER_TIME_MAX                  40  /* a MicroTime string, NUL included */

struct krc_leader;

struct krc_leader_callbacks {
    void (*on_started_leading)(void *ctx);
    void (*on_stopped_leading)(void *ctx);
    /* The holder seen changed (identity "" when released); also called with our own identity. */
    void (*on_new_leader)(void *ctx, const char *identity);
    void *ctx;
};

/* Zero-initialised fields mean the defaults. */
struct krc_leader_opts {
    const char *lease_name;      /* required: "ray-operator-leader" */
    const char *lease_namespace; /* required */
    const char *identity;        /* NULL = "<hostname>_<random UUID>", as KubeRay */
    int64_t lease_duration_ns;   /* whole seconds on the wire (truncated); >= 1 s */
    int64_t renew_deadline_ns;   /* < lease duration */
    int64_t retry_period_ns;     /* retry * 1.2 < renew deadline (client-go's check) */
    double jitter;               /* extra random wait on acquire, in retry periods; 0 = 1.2,
                                    < 0 = none */
    int release_on_cancel;       /* clear holderIdentity in krc_leader_stop() */
    int no_events;               /* record no LeaderElection Events */
    const char *user_agent;      /* NULL = "kuberay-c"; "/leader-election" is appended */
    struct krc_leader_callbacks callbacks;
};

/* Validates opts and builds the elector and its client (cfg is copied). Nothing runs yet.
 * 0, KRC_EINVAL (the message names the option), KRC_ENOMEM, or the client's error. */
int krc_leader_new(const struct krc_kubeconfig *cfg, const struct krc_leader_opts *opts,
                   struct krc_leader **out, struct krc_error *err);
/* Starts the elector thread. 0, KRC_EINVAL (already started) or KRC_EIO. */
int krc_leader_start(struct krc_leader *le, struct krc_error *err);
/* Stops the thread and joins it (see above for release and callbacks); idempotent. */
void krc_leader_stop(struct krc_leader *le);
/* Stops if needed and frees. NULL is a no-op. */
void krc_leader_free(struct krc_leader *le);

/* 1 while this process holds the lease, else 0. Lock-free: a metrics gauge may call it
 * (leader_election_master_status). */
int krc_leader_is_leader(const struct krc_leader *le);
/* 1 once this elector has led at least once: the gauge's series appears from then on (§11.1). */
int krc_leader_has_led(const struct krc_leader *le);
/* 1 once the elector thread has ended (leadership lost, or stopped). */
int krc_leader_finished(const struct krc_leader *le);
const char *krc_leader_identity(const struct krc_leader *le);
const char *krc_leader_lease_name(const struct krc_leader *le);

/* "<hostname>_<random v4 UUID>" into buf. 0, or KRC_EIO when no randomness is available. */
int krc_leader_default_identity(char *buf, size_t size, struct krc_error *err);

/* ---- the decision logic, pure, time passed in (for unit tests) ---- */

/* A Lease's spec as the election sees it (client-go's LeaderElectionRecord). Times are kept as
 * the strings the server holds: they are written back, never interpreted. */
struct krc_lease_record {
    char holder[KRC_LEADER_IDENTITY_MAX]; /* "" = free */
    int64_t lease_duration_s;
    char acquire_time[KRC_LEADER_TIME_MAX]; /* "" = unset */
    char renew_time[KRC_LEADER_TIME_MAX];
    int64_t transitions;
};

/* What one contender knows between steps. */
struct krc_leader_state {
    const char *identity; /* borrowed */
    int64_t lease_duration_s;
    struct krc_lease_record observed; /* the record last read or written */
    int64_t observed_ns;              /* monotonic time it was first seen as it is */
    int has_observed;
};

enum krc_leader_decision {
    KRC_LEADER_WAIT,    /* another holder's lease is still valid */
    KRC_LEADER_ACQUIRE, /* free or expired: take it, leaseTransitions + 1 */
    KRC_LEADER_RENEW,   /* ours: renew, keeping acquireTime and leaseTransitions */
};

/* Remembers remote as observed at now_ns, unless it equals what was observed already (then the
 * observation time stays: that is how expiry is measured). */
void krc_leader_observe(struct krc_leader_state *st, const struct krc_lease_record *remote,
                        int64_t now_ns);
/* What to do about the observed record at now_ns. */
enum krc_leader_decision krc_leader_decide(const struct krc_leader_state *st, int64_t now_ns);
/* The observed record names us. */
int krc_leader_observed_ours(const struct krc_leader_state *st);
/* observed_ns + leaseDuration is still ahead of now_ns. */
int krc_leader_observed_valid(const struct krc_leader_state *st, int64_t now_ns);
/* A renew cycle that began at cycle_start_ns has run out of time at now_ns. */
int krc_leader_renew_deadline_passed(int64_t cycle_start_ns, int64_t now_ns,
                                     int64_t renew_deadline_ns);

/* How a step reads and writes the record. The Lease lock talks to the API server; tests pass a
 * fake. update is conditional on what get, create or update last returned (KRC_ECONFLICT when
 * someone wrote in between); create fails with KRC_EEXIST when the lease exists. */
struct krc_leader_lock {
    int (*get)(void *ctx, struct krc_lease_record *out, struct krc_error *err);
    int (*create)(void *ctx, const struct krc_lease_record *rec, struct krc_error *err);
    int (*update)(void *ctx, const struct krc_lease_record *rec, struct krc_error *err);
    void *ctx;
};

/* One tryAcquireOrRenew of client-go: fast path (a leader with a valid observation updates
 * directly), else get (create when absent), observe, decide, update. now_ns is monotonic, wall_ns
 * the wall clock written as acquireTime/renewTime. Sets *holding to 1 when we hold the lease
 * afterwards. Returns 0 (also when another holder's lease is valid: *holding 0) or the lock's
 * error (KRC_ECONFLICT/KRC_EEXIST: lost a race), with err filled. */
int krc_leader_try_acquire_or_renew(struct krc_leader_state *st, const struct krc_leader_lock *lock,
                                    int64_t now_ns, int64_t wall_ns, int *holding,
                                    struct krc_error *err);

/* A record from a Lease object, and a spec from a record. from_lease: KRC_EINVAL on wrong types or
 * oversized strings (naming the field); absent fields are "" / 0 as in client-go. */
int krc_leader_record_from_lease(const json_t *lease, struct krc_lease_record *out,
                                 struct krc_error *err);
/* The spec object of rec (a new reference), or NULL when out of memory. */
json_t *krc_leader_record_to_spec(const struct krc_lease_record *rec);

#endif
