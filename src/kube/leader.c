/* leader.c - leader election on a Lease (see leader.h for the behaviour).
 *
 * Three layers, each usable without the next: the pure decision functions (observe, decide, the
 * deadline test), one client-go tryAcquireOrRenew step over an abstract lock, and the elector
 * thread that runs acquire and renew loops around that step with a Lease lock on the API server.
 *
 * The Lease lock keeps the whole Lease object last read or written and sends it back with a new
 * spec, so every update carries the resourceVersion it was based on and the server refuses it
 * (409) when someone else wrote in between; no other locking exists between contenders.
 *
 * The elector thread sleeps on a condition variable (CLOCK_MONOTONIC) so krc_leader_stop() wakes
 * it at once; a request in flight is not interrupted (the client has no per-call cancel) but is
 * bounded by the per-request timeout of half the renew deadline. Expiry and deadlines are judged
 * on CLOCK_MONOTONIC; only the strings written as acquireTime/renewTime use the wall clock. */
#include "kube/leader.h"

#include "kube/client.h"
#include "kube/events.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_SEC    INT64_C(1000000000)
#define EVENT_QUEUE   16 /* the elector records two events in its life */
#define DESC_MAX      600
#define HOSTNAME_SIZE 256

static const struct krc_resource leases = {"coordination.k8s.io", "v1", "leases", 1};

/* ---- pure decision logic ---- */

static int record_equal(const struct krc_lease_record *a, const struct krc_lease_record *b)
{
    return strcmp(a->holder, b->holder) == 0 && a->lease_duration_s == b->lease_duration_s &&
           strcmp(a->acquire_time, b->acquire_time) == 0 &&
           strcmp(a->renew_time, b->renew_time) == 0 && a->transitions == b->transitions;
}

static void set_observed(struct krc_leader_state *st, const struct krc_lease_record *rec,
                         int64_t now_ns)
{
    st->observed = *rec;
    st->observed_ns = now_ns;
    st->has_observed = 1;
}

void krc_leader_observe(struct krc_leader_state *st, const struct krc_lease_record *remote,
                        int64_t now_ns)
{
    if (st->has_observed && record_equal(&st->observed, remote))
        return;
    set_observed(st, remote, now_ns);
}

int krc_leader_observed_ours(const struct krc_leader_state *st)
{
    return st->has_observed && strcmp(st->observed.holder, st->identity) == 0;
}

int krc_leader_observed_valid(const struct krc_leader_state *st, int64_t now_ns)
{
    /* lease_duration_s is an int32 on the wire (checked on parse), so this cannot overflow. */
    return st->has_observed &&
           st->observed_ns + st->observed.lease_duration_s * NS_PER_SEC > now_ns;
}

enum krc_leader_decision krc_leader_decide(const struct krc_leader_state *st, int64_t now_ns)
{
    if (krc_leader_observed_ours(st))
        return KRC_LEADER_RENEW;
    if (st->has_observed && st->observed.holder[0] && krc_leader_observed_valid(st, now_ns))
        return KRC_LEADER_WAIT;
    return KRC_LEADER_ACQUIRE;
}

int krc_leader_renew_deadline_passed(int64_t cycle_start_ns, int64_t now_ns,
                                     int64_t renew_deadline_ns)
{
    return now_ns - cycle_start_ns >= renew_deadline_ns;
}

/* The record this contender writes at wall_ns, before acquire time and transitions are fixed. */
static void fresh_record(const struct krc_leader_state *st, int64_t wall_ns,
                         struct krc_lease_record *rec)
{
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->holder, sizeof(rec->holder), "%s", st->identity);
    rec->lease_duration_s = st->lease_duration_s;
    krc_events_format_time(wall_ns, 1, rec->renew_time, sizeof(rec->renew_time));
    memcpy(rec->acquire_time, rec->renew_time, sizeof(rec->acquire_time));
}

int krc_leader_try_acquire_or_renew(struct krc_leader_state *st, const struct krc_leader_lock *lock,
                                    int64_t now_ns, int64_t wall_ns, int *holding,
                                    struct krc_error *err)
{
    struct krc_lease_record want, remote;
    int rc;

    *holding = 0;
    fresh_record(st, wall_ns, &want);

    /* 1. Fast path: a leader whose lease is valid updates what it wrote last. */
    if (krc_leader_observed_ours(st) && krc_leader_observed_valid(st, now_ns)) {
        memcpy(want.acquire_time, st->observed.acquire_time, sizeof(want.acquire_time));
        want.transitions = st->observed.transitions;
        rc = lock->update(lock->ctx, &want, err);
        if (rc == 0)
            goto acquired;
        KRC_LOG_INFO("optimistic lease renewal failed, reading the lease", "identity", st->identity,
                     "error", err ? err->msg : "");
        fresh_record(st, wall_ns, &want);
    }

    /* 2. Read the record, or create it. */
    rc = lock->get(lock->ctx, &remote, err);
    if (rc == KRC_ENOTFOUND) {
        rc = lock->create(lock->ctx, &want, err);
        if (rc == 0)
            goto acquired;
        return rc;
    }
    if (rc)
        return rc;

    /* 3. Judge it by when we saw it change. */
    krc_leader_observe(st, &remote, now_ns);
    switch (krc_leader_decide(st, now_ns)) {
    case KRC_LEADER_WAIT:
        return 0;
    case KRC_LEADER_RENEW:
        memcpy(want.acquire_time, remote.acquire_time, sizeof(want.acquire_time));
        want.transitions = remote.transitions;
        break;
    case KRC_LEADER_ACQUIRE:
        want.transitions = remote.transitions + 1;
        break;
    }

    /* 4. Write; a 409 means someone else wrote since our read. */
    rc = lock->update(lock->ctx, &want, err);
    if (rc)
        return rc;
acquired:
    set_observed(st, &want, now_ns);
    *holding = 1;
    return 0;
}

/* ---- Lease <-> record ---- */

static int spec_str(const json_t *spec, const char *key, char *buf, size_t size,
                    struct krc_error *err)
{
    const json_t *v = json_object_get(spec, key);
    buf[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return krc_error_set(err, KRC_EINVAL, "lease spec.%s: not a string", key);
    size_t len = json_string_length(v);
    if (len >= size)
        return krc_error_set(err, KRC_EINVAL, "lease spec.%s: longer than %zu bytes", key,
                             size - 1);
    memcpy(buf, json_string_value(v), len + 1);
    if (strlen(buf) != len)
        return krc_error_set(err, KRC_EINVAL, "lease spec.%s: contains a NUL byte", key);
    return 0;
}

static int spec_int32(const json_t *spec, const char *key, int64_t *out, struct krc_error *err)
{
    const json_t *v = json_object_get(spec, key);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return krc_error_set(err, KRC_EINVAL, "lease spec.%s: not an integer", key);
    json_int_t n = json_integer_value(v);
    if (n < INT32_MIN || n > INT32_MAX)
        return krc_error_set(err, KRC_EINVAL, "lease spec.%s: %lld is out of range", key,
                             (long long)n);
    *out = (int64_t)n;
    return 0;
}

int krc_leader_record_from_lease(const json_t *lease, struct krc_lease_record *out,
                                 struct krc_error *err)
{
    int rc = 0;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(lease))
        return krc_error_set(err, KRC_EINVAL, "lease: not a JSON object");
    const json_t *spec = json_object_get(lease, "spec");
    if (!spec || json_is_null(spec))
        return 0;
    if (!json_is_object(spec))
        return krc_error_set(err, KRC_EINVAL, "lease spec: not an object");
    if (!rc)
        rc = spec_str(spec, "holderIdentity", out->holder, sizeof(out->holder), err);
    if (!rc)
        rc = spec_int32(spec, "leaseDurationSeconds", &out->lease_duration_s, err);
    if (!rc)
        rc = spec_str(spec, "acquireTime", out->acquire_time, sizeof(out->acquire_time), err);
    if (!rc)
        rc = spec_str(spec, "renewTime", out->renew_time, sizeof(out->renew_time), err);
    if (!rc)
        rc = spec_int32(spec, "leaseTransitions", &out->transitions, err);
    return rc;
}

static json_t *time_or_null(const char *s)
{
    return *s ? json_string(s) : json_null();
}

json_t *krc_leader_record_to_spec(const struct krc_lease_record *rec)
{
    json_t *spec = json_object();
    if (!spec)
        return NULL;
    /* json_object_set_new steals (and on failure frees) the value; a NULL value fails. */
    if (json_object_set_new(spec, "holderIdentity", json_string(rec->holder)) ||
        json_object_set_new(spec, "leaseDurationSeconds", json_integer(rec->lease_duration_s)) ||
        json_object_set_new(spec, "acquireTime", time_or_null(rec->acquire_time)) ||
        json_object_set_new(spec, "renewTime", time_or_null(rec->renew_time)) ||
        json_object_set_new(spec, "leaseTransitions", json_integer(rec->transitions))) {
        json_decref(spec);
        return NULL;
    }
    return spec;
}

/* ---- the Lease lock ---- */

struct lease_lock {
    struct krc_client *client;
    const char *ns, *name; /* owned by the elector */
    json_t *lease;         /* the Lease last read or written; NULL before */
};

/* Parses a Lease answer, takes it as the new base for updates and, if out, reads its record. */
static int keep_lease(struct lease_lock *l, const struct krc_strbuf *body,
                      struct krc_lease_record *out, struct krc_error *err)
{
    json_t *doc = NULL;
    struct krc_lease_record rec;
    int rc = krc_client_parse_json(body, &doc, err);
    if (rc)
        goto out;
    rc = krc_leader_record_from_lease(doc, out ? out : &rec, err);
    if (rc) {
        krc_error_wrap(err, rc, "lease %s/%s", l->ns, l->name);
        goto out;
    }
    json_decref(l->lease);
    l->lease = doc;
    doc = NULL;
out:
    json_decref(doc);
    return rc;
}

static int lease_get(void *ctx, struct krc_lease_record *out, struct krc_error *err)
{
    struct lease_lock *l = ctx;
    struct krc_strbuf body = KRC_STRBUF_INIT;
    int rc = krc_client_get(l->client, &leases, l->ns, l->name, &body, err);
    if (rc == 0)
        rc = keep_lease(l, &body, out, err);
    krc_strbuf_release(&body);
    return rc;
}

/* Sends doc (a Lease) with POST (name NULL) or PUT, and keeps the answer. */
static int lease_write(struct lease_lock *l, json_t *doc, int create, struct krc_error *err)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    char *text = json_dumps(doc, JSON_COMPACT);
    int rc;
    if (!text) {
        rc = krc_error_set(err, KRC_ENOMEM, "lease %s/%s: cannot encode", l->ns, l->name);
        goto out;
    }
    if (create)
        rc = krc_client_create(l->client, &leases, l->ns, text, strlen(text), NULL, &body, err);
    else
        rc = krc_client_update(l->client, &leases, l->ns, l->name, text, strlen(text), NULL, &body,
                               err);
    if (rc == 0)
        rc = keep_lease(l, &body, NULL, err);
out:
    free(text);
    krc_strbuf_release(&body);
    return rc;
}

static int lease_create(void *ctx, const struct krc_lease_record *rec, struct krc_error *err)
{
    struct lease_lock *l = ctx;
    json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "coordination.k8s.io/v1",
                            "kind", "Lease", "metadata", "name", l->name, "namespace", l->ns);
    int rc;
    if (!doc || json_object_set_new(doc, "spec", krc_leader_record_to_spec(rec))) {
        rc = krc_error_set(err, KRC_ENOMEM, "lease %s/%s: out of memory", l->ns, l->name);
        goto out;
    }
    rc = lease_write(l, doc, 1, err);
out:
    json_decref(doc);
    return rc;
}

static int lease_update(void *ctx, const struct krc_lease_record *rec, struct krc_error *err)
{
    struct lease_lock *l = ctx;
    json_t *doc = NULL;
    int rc;
    if (!l->lease)
        return krc_error_set(err, KRC_EINVAL, "lease %s/%s: update before any read", l->ns,
                             l->name);
    doc = json_copy(l->lease); /* shallow: only the new spec differs */
    if (!doc || json_object_set_new(doc, "spec", krc_leader_record_to_spec(rec))) {
        rc = krc_error_set(err, KRC_ENOMEM, "lease %s/%s: out of memory", l->ns, l->name);
        goto out;
    }
    rc = lease_write(l, doc, 0, err);
out:
    json_decref(doc);
    return rc;
}

/* ---- identity ---- */

int krc_leader_default_identity(char *buf, size_t size, struct krc_error *err)
{
    char host[HOSTNAME_SIZE] = "";
    unsigned char u[16];
    if (gethostname(host, sizeof(host) - 1) != 0)
        return krc_error_set(err, KRC_EIO, "leader identity: gethostname: %s", strerror(errno));
    if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u))
        return krc_error_set(err, KRC_EIO, "leader identity: getrandom: %s", strerror(errno));
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    int n = snprintf(buf, size,
                     "%s_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     host, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
                     u[12], u[13], u[14], u[15]);
    if (n < 0 || (size_t)n >= size)
        return krc_error_set(err, KRC_ETOOLARGE, "leader identity: longer than %zu bytes",
                             size - 1);
    return 0;
}

/* ---- the elector ---- */

struct krc_leader {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* CLOCK_MONOTONIC; signalled by stop */
    int mu_ok, wake_ok;
    int stop_requested; /* under mu */
    pthread_t thread;
    int started, joined;
    atomic_int leader;
    atomic_int has_led;
    atomic_int finished;

    struct krc_client *client;
    struct krc_events *events;
    struct lease_lock ll;
    struct krc_leader_lock lock;
    struct krc_leader_state st;
    char identity[KRC_LEADER_IDENTITY_MAX];
    char *ns, *name;
    char desc[DESC_MAX]; /* "namespace/name" for logs */
    int64_t lease_duration_ns, renew_deadline_ns, retry_period_ns;
    double jitter;
    int release;
    struct krc_leader_callbacks cb;
    char reported[KRC_LEADER_IDENTITY_MAX];
    int has_reported;
    uint64_t rnd; /* splitmix64 state for the jitter */
};

static void must(int rc, const char *call)
{
    if (rc == 0)
        return;
    char num[16];
    snprintf(num, sizeof(num), "%d", rc);
    KRC_LOG_ERROR("leader election: pthread call failed", "call", call, "errno", num);
    abort();
}

static int64_t mono_now(void)
{
    struct timespec ts;
    must(clock_gettime(CLOCK_MONOTONIC, &ts) == 0 ? 0 : errno, "clock_gettime");
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Sleeps until the monotonic deadline or a stop; returns 1 when stopping. */
static int sleep_until(struct krc_leader *le, int64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / NS_PER_SEC), (long)(deadline_ns % NS_PER_SEC)};
    must(pthread_mutex_lock(&le->mu), "pthread_mutex_lock");
    while (!le->stop_requested && mono_now() < deadline_ns) {
        int rc = pthread_cond_timedwait(&le->wake, &le->mu, &ts);
        if (rc == ETIMEDOUT)
            break;
        must(rc, "pthread_cond_timedwait");
    }
    int stop = le->stop_requested;
    must(pthread_mutex_unlock(&le->mu), "pthread_mutex_unlock");
    return stop;
}

static int stopping(struct krc_leader *le)
{
    must(pthread_mutex_lock(&le->mu), "pthread_mutex_lock");
    int stop = le->stop_requested;
    must(pthread_mutex_unlock(&le->mu), "pthread_mutex_unlock");
    return stop;
}

/* A uniform double in [0, 1) from splitmix64. */
static double rand01(struct krc_leader *le)
{
    uint64_t z = (le->rnd += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(UINT64_C(1) << 53);
}

/* client-go's wait.JitterUntil: the period plus up to jitter periods more. */
static int64_t acquire_wait(struct krc_leader *le)
{
    if (le->jitter <= 0)
        return le->retry_period_ns;
    return le->retry_period_ns + (int64_t)(rand01(le) * le->jitter * (double)le->retry_period_ns);
}

/* client-go's maybeReportTransition. */
static void report_transition(struct krc_leader *le)
{
    if (!le->st.has_observed)
        return;
    if (le->has_reported && strcmp(le->reported, le->st.observed.holder) == 0)
        return;
    memcpy(le->reported, le->st.observed.holder, sizeof(le->reported));
    le->has_reported = 1;
    KRC_LOG_INFO("lease holder changed", "lease", le->desc, "holder", le->reported);
    if (le->cb.on_new_leader)
        le->cb.on_new_leader(le->cb.ctx, le->reported);
}

/* One step; returns 1 when we hold the lease. */
static int try_once(struct krc_leader *le)
{
    struct krc_error err = {0, ""};
    int holding = 0;
    int rc = krc_leader_try_acquire_or_renew(&le->st, &le->lock, mono_now(), krc_events_wall_now(),
                                             &holding, &err);
    if (rc == KRC_ECONFLICT || rc == KRC_EEXIST)
        KRC_LOG_INFO("lost a race for the lease", "lease", le->desc, "error", err.msg);
    else if (rc)
        KRC_LOG_WARN("cannot read or write the lease", "lease", le->desc, "error", err.msg);
    report_transition(le);
    return holding;
}

static void record_event(struct krc_leader *le, const char *what)
{
    if (!le->events)
        return;
    const json_t *meta = json_object_get(le->ll.lease, "metadata");
    struct krc_events_ref ref = {
        .api_version = "coordination.k8s.io/v1",
        .kind = "Lease",
        .ns = le->ns,
        .name = le->name,
        .uid = json_string_value(json_object_get(meta, "uid")),
        .resource_version = json_string_value(json_object_get(meta, "resourceVersion")),
    };
    int rc = krc_events_record(le->events, &ref, KRC_EVENT_NORMAL, "LeaderElection", NULL, "%s %s",
                               le->identity, what);
    if (rc)
        KRC_LOG_WARN("leader election event not recorded", "lease", le->desc, "error",
                     krc_strerror(rc));
}

/* Renews until a cycle misses its deadline (returns 1: lost) or a stop (returns 0). A cycle is
 * client-go's PollUntilContextTimeout: try now and every retry period until renew deadline. */
static int renew_loop(struct krc_leader *le)
{
    for (;;) {
        if (sleep_until(le, mono_now() + le->retry_period_ns))
            return 0;
        int64_t start = mono_now();
        while (!try_once(le)) {
            int64_t deadline = start + le->renew_deadline_ns;
            int64_t next = mono_now() + le->retry_period_ns;
            if (sleep_until(le, next < deadline ? next : deadline))
                return 0;
            if (krc_leader_renew_deadline_passed(start, mono_now(), le->renew_deadline_ns))
                return 1;
        }
    }
}

/* client-go's release: clear the holder if it is still us, so a successor need not wait. */
static void release(struct krc_leader *le)
{
    struct krc_error err = {0, ""};
    struct krc_lease_record remote, rec;
    int rc = le->lock.get(le->lock.ctx, &remote, &err);
    if (rc)
        goto fail;
    krc_leader_observe(&le->st, &remote, mono_now());
    if (!krc_leader_observed_ours(&le->st))
        return;
    memset(&rec, 0, sizeof(rec));
    rec.lease_duration_s = 1;
    rec.transitions = remote.transitions;
    krc_events_format_time(krc_events_wall_now(), 1, rec.renew_time, sizeof(rec.renew_time));
    memcpy(rec.acquire_time, rec.renew_time, sizeof(rec.acquire_time));
    rc = le->lock.update(le->lock.ctx, &rec, &err);
    if (rc)
        goto fail;
    set_observed(&le->st, &rec, mono_now());
    KRC_LOG_INFO("released the lease", "lease", le->desc, "identity", le->identity);
    return;
fail:
    KRC_LOG_WARN("cannot release the lease", "lease", le->desc, "error", err.msg);
}

static void *elector_main(void *arg)
{
    struct krc_leader *le = arg;

    KRC_LOG_INFO("attempting to acquire the lease", "lease", le->desc, "identity", le->identity);
    for (;;) {
        if (stopping(le))
            goto out;
        if (try_once(le))
            break;
        if (sleep_until(le, mono_now() + acquire_wait(le)))
            goto out;
    }
    atomic_store(&le->leader, 1);
    atomic_store(&le->has_led, 1);
    KRC_LOG_INFO("successfully acquired the lease", "lease", le->desc, "identity", le->identity);
    record_event(le, "became leader");
    if (le->cb.on_started_leading)
        le->cb.on_started_leading(le->cb.ctx);

    int lost = renew_loop(le);
    atomic_store(&le->leader, 0);
    if (lost)
        KRC_LOG_ERROR("leader election lost: no renewal within the renew deadline", "lease",
                      le->desc, "identity", le->identity);
    else
        KRC_LOG_INFO("stopped leading", "lease", le->desc, "identity", le->identity);
    record_event(le, "stopped leading");
    if (le->cb.on_stopped_leading)
        le->cb.on_stopped_leading(le->cb.ctx);
    if (le->release)
        release(le);
out:
    atomic_store(&le->finished, 1);
    return NULL;
}

static int check_opts(const struct krc_leader_opts *o, int64_t ld, int64_t rd, int64_t rp,
                      struct krc_error *err)
{
    if (!o->lease_name || !*o->lease_name)
        return krc_error_set(err, KRC_EINVAL, "leader election: no lease name given");
    if (!o->lease_namespace || !*o->lease_namespace)
        return krc_error_set(err, KRC_EINVAL, "leader election %s: no lease namespace given",
                             o->lease_name);
    if (ld < NS_PER_SEC)
        return krc_error_set(err, KRC_EINVAL,
                             "leader election %s: lease duration must be at least 1 s",
                             o->lease_name);
    if (rd >= ld / NS_PER_SEC * NS_PER_SEC) /* what others see is the whole seconds written */
        return krc_error_set(err, KRC_EINVAL,
                             "leader election %s: lease duration (whole seconds) must be greater "
                             "than the renew deadline",
                             o->lease_name);
    if (rp <= 0 || (double)rd <= KRC_LEADER_DEFAULT_JITTER * (double)rp)
        return krc_error_set(err, KRC_EINVAL,
                             "leader election %s: renew deadline must be greater than retry "
                             "period * %.1f",
                             o->lease_name, KRC_LEADER_DEFAULT_JITTER);
    if (o->identity && (!*o->identity || strlen(o->identity) >= KRC_LEADER_IDENTITY_MAX))
        return krc_error_set(err, KRC_EINVAL, "leader election %s: identity must be 1 to %d bytes",
                             o->lease_name, KRC_LEADER_IDENTITY_MAX - 1);
    return 0;
}

static int make_client(struct krc_leader *le, const struct krc_kubeconfig *cfg,
                       const struct krc_leader_opts *o, struct krc_error *err)
{
    struct krc_strbuf ua = KRC_STRBUF_INIT;
    int rc =
        krc_strbuf_addf(&ua, "%s/leader-election", o->user_agent ? o->user_agent : "kuberay-c");
    if (rc) {
        rc = krc_error_set(err, rc, "leader election %s: user agent: %s", o->lease_name,
                           krc_strerror(rc));
        goto out;
    }
    long timeout_ms = (long)(le->renew_deadline_ns / 2 / 1000000);
    struct krc_client_options copts = {
        .request_timeout_ms = timeout_ms > 0 ? timeout_ms : 1,
        .max_retries = -1,
        .user_agent = ua.buf,
    };
    rc = krc_client_new(cfg, &copts, &le->client, err);
    if (rc)
        krc_error_wrap(err, rc, "leader election %s", o->lease_name);
out:
    krc_strbuf_release(&ua);
    return rc;
}

static int init_sync(struct krc_leader *le)
{
    pthread_condattr_t attr;
    if (pthread_mutex_init(&le->mu, NULL) != 0)
        return KRC_EIO;
    le->mu_ok = 1;
    if (pthread_condattr_init(&attr) != 0)
        return KRC_EIO;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&le->wake, &attr);
    must(pthread_condattr_destroy(&attr), "pthread_condattr_destroy");
    if (rc != 0)
        return KRC_EIO;
    le->wake_ok = 1;
    return 0;
}

int krc_leader_new(const struct krc_kubeconfig *cfg, const struct krc_leader_opts *opts,
                   struct krc_leader **out, struct krc_error *err)
{
    struct krc_leader *le = NULL;
    int rc;

    *out = NULL;
    if (!opts)
        return krc_error_set(err, KRC_EINVAL, "leader election: no options given");
    int64_t ld =
        opts->lease_duration_ns ? opts->lease_duration_ns : KRC_LEADER_DEFAULT_LEASE_DURATION_NS;
    int64_t rd =
        opts->renew_deadline_ns ? opts->renew_deadline_ns : KRC_LEADER_DEFAULT_RENEW_DEADLINE_NS;
    int64_t rp = opts->retry_period_ns ? opts->retry_period_ns : KRC_LEADER_DEFAULT_RETRY_PERIOD_NS;
    rc = check_opts(opts, ld, rd, rp, err);
    if (rc)
        return rc;
    le = calloc(1, sizeof(*le));
    if (!le)
        return krc_error_set(err, KRC_ENOMEM, "leader election %s: out of memory",
                             opts->lease_name);
    atomic_init(&le->leader, 0);
    atomic_init(&le->has_led, 0);
    atomic_init(&le->finished, 0);
    le->lease_duration_ns = ld;
    le->renew_deadline_ns = rd;
    le->retry_period_ns = rp;
    le->jitter = opts->jitter == 0  ? KRC_LEADER_DEFAULT_JITTER
                 : opts->jitter < 0 ? 0
                                    : opts->jitter;
    le->release = opts->release_on_cancel;
    le->cb = opts->callbacks;
    if (init_sync(le) != 0) {
        rc = krc_error_set(err, KRC_EIO, "leader election %s: cannot initialise its lock",
                           opts->lease_name);
        goto out;
    }
    if (opts->identity)
        snprintf(le->identity, sizeof(le->identity), "%s", opts->identity);
    else if ((rc = krc_leader_default_identity(le->identity, sizeof(le->identity), err)) != 0)
        goto out;
    if (getrandom(&le->rnd, sizeof(le->rnd), 0) != (ssize_t)sizeof(le->rnd))
        le->rnd = (uint64_t)mono_now(); /* jitter only: any seed will do */
    le->ns = strdup(opts->lease_namespace);
    le->name = strdup(opts->lease_name);
    if (!le->ns || !le->name) {
        rc = krc_error_set(err, KRC_ENOMEM, "leader election %s: out of memory", opts->lease_name);
        goto out;
    }
    snprintf(le->desc, sizeof(le->desc), "%s/%s", le->ns, le->name);
    rc = make_client(le, cfg, opts, err);
    if (rc)
        goto out;
    if (!opts->no_events) {
        struct krc_events_opts eopts = {
            .api = KRC_EVENTS_API_CORE_V1,
            .reporting_controller = le->identity, /* controller-runtime: the recorder is named
                                                     after the identity */
            .queue_size = EVENT_QUEUE,
            .cache_size = EVENT_QUEUE + 2,
        };
        rc = krc_events_new(le->client, &eopts, &le->events, err);
        if (rc)
            goto out;
    }
    le->ll = (struct lease_lock){.client = le->client, .ns = le->ns, .name = le->name};
    le->lock = (struct krc_leader_lock){lease_get, lease_create, lease_update, &le->ll};
    le->st.identity = le->identity;
    le->st.lease_duration_s = ld / NS_PER_SEC;
    *out = le;
out:
    if (rc)
        krc_leader_free(le);
    return rc;
}

int krc_leader_start(struct krc_leader *le, struct krc_error *err)
{
    if (le->started)
        return krc_error_set(err, KRC_EINVAL, "leader election %s: already started", le->desc);
    int rc = pthread_create(&le->thread, NULL, elector_main, le);
    if (rc != 0)
        return krc_error_set(err, KRC_EIO, "leader election %s: pthread_create: %s", le->desc,
                             strerror(rc));
    le->started = 1;
    return 0;
}

void krc_leader_stop(struct krc_leader *le)
{
    if (!le || !le->mu_ok)
        return;
    must(pthread_mutex_lock(&le->mu), "pthread_mutex_lock");
    le->stop_requested = 1;
    must(pthread_cond_broadcast(&le->wake), "pthread_cond_broadcast");
    must(pthread_mutex_unlock(&le->mu), "pthread_mutex_unlock");
    if (le->started && !le->joined) {
        must(pthread_join(le->thread, NULL), "pthread_join");
        le->joined = 1;
        /* The "stopped leading" Event, bounded by one request timeout. */
        if (le->events &&
            krc_events_flush(le->events, (long)(le->renew_deadline_ns / 2 / 1000000)) != 0)
            KRC_LOG_WARN("leader election events not flushed", "lease", le->desc);
    }
}

void krc_leader_free(struct krc_leader *le)
{
    if (!le)
        return;
    krc_leader_stop(le);
    krc_events_free(le->events);
    krc_client_free(le->client);
    json_decref(le->ll.lease);
    free(le->ns);
    free(le->name);
    if (le->wake_ok)
        must(pthread_cond_destroy(&le->wake), "pthread_cond_destroy");
    if (le->mu_ok)
        must(pthread_mutex_destroy(&le->mu), "pthread_mutex_destroy");
    free(le);
}

int krc_leader_is_leader(const struct krc_leader *le)
{
    return atomic_load(&le->leader);
}

int krc_leader_has_led(const struct krc_leader *le)
{
    return atomic_load(&le->has_led);
}

int krc_leader_finished(const struct krc_leader *le)
{
    return atomic_load(&le->finished);
}

const char *krc_leader_identity(const struct krc_leader *le)
{
    return le->identity;
}

const char *krc_leader_lease_name(const struct krc_leader *le)
{
    return le->name;
}
