/* Unit tests of leader election's pure logic (kube/leader): the decision table, expiry judged by
 * when we observed the record (never the remote clock), the renew deadline, and client-go's
 * tryAcquireOrRenew step over a fake lock that enforces resourceVersion-style optimistic
 * concurrency. Time is passed in; nothing sleeps and nothing talks to a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kube/leader.h"

#define S  INT64_C(1000000000)
#define ME "me_1"

static struct krc_lease_record rec(const char *holder, int64_t dur_s, const char *renew,
                                   int64_t transitions)
{
    struct krc_lease_record r;
    memset(&r, 0, sizeof(r));
    snprintf(r.holder, sizeof(r.holder), "%s", holder);
    r.lease_duration_s = dur_s;
    snprintf(r.acquire_time, sizeof(r.acquire_time), "2024-01-01T00:00:00.000000Z");
    snprintf(r.renew_time, sizeof(r.renew_time), "%s", renew);
    r.transitions = transitions;
    return r;
}

static struct krc_leader_state state(void)
{
    struct krc_leader_state st;
    memset(&st, 0, sizeof(st));
    st.identity = ME;
    st.lease_duration_s = 15;
    return st;
}

static const char *decision_name(enum krc_leader_decision d)
{
    return d == KRC_LEADER_WAIT ? "wait" : d == KRC_LEADER_ACQUIRE ? "acquire" : "renew";
}

/* ---- decide ---- */

static void test_decision_table(void **state_)
{
    (void)state_;
    static const struct {
        const char *name;
        const char *holder;
        int64_t dur_s;
        int64_t seen_ago_ns; /* how long ago we observed the record as it is */
        enum krc_leader_decision want;
    } cases[] = {
        {"free (released) lease is acquired", "", 15, 1 * S, KRC_LEADER_ACQUIRE},
        {"free lease with zero duration is acquired", "", 0, 0, KRC_LEADER_ACQUIRE},
        {"held by another and fresh: wait", "other", 15, 1 * S, KRC_LEADER_WAIT},
        {"held by another, just observed: wait", "other", 15, 0, KRC_LEADER_WAIT},
        {"held by another, 1 ns before expiry: wait", "other", 15, 15 * S - 1, KRC_LEADER_WAIT},
        {"held by another, unchanged for exactly the duration: acquire", "other", 15, 15 * S,
         KRC_LEADER_ACQUIRE},
        {"held by another, unchanged for longer: acquire", "other", 15, 16 * S, KRC_LEADER_ACQUIRE},
        {"held by another with zero duration: acquire", "other", 0, 0, KRC_LEADER_ACQUIRE},
        {"our own, fresh: renew", ME, 15, 1 * S, KRC_LEADER_RENEW},
        {"our own, unchanged past the duration: still renew (the server says ours)", ME, 15, 60 * S,
         KRC_LEADER_RENEW},
        {"an identity that only starts like ours is another: wait", ME "x", 15, 1 * S,
         KRC_LEADER_WAIT},
    };
    const int64_t now = 1000 * S;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct krc_leader_state st = state();
        struct krc_lease_record r = rec(cases[i].holder, cases[i].dur_s, "t", 3);
        krc_leader_observe(&st, &r, now - cases[i].seen_ago_ns);
        enum krc_leader_decision got = krc_leader_decide(&st, now);
        if (got != cases[i].want)
            fail_msg("%s: got %s, want %s", cases[i].name, decision_name(got),
                     decision_name(cases[i].want));
    }
}

/* The remote renewTime is written by the holder's clock, which may be hours off ours: it must not
 * matter. Only the time we saw the record change counts. */
static void test_expiry_ignores_the_remote_clock(void **state_)
{
    (void)state_;
    /* A holder whose clock is far behind: its renewTime looks ancient, but we just saw it. */
    struct krc_leader_state st = state();
    struct krc_lease_record behind = rec("other", 15, "2001-01-01T00:00:00.000000Z", 0);
    krc_leader_observe(&st, &behind, 100 * S);
    assert_int_equal(krc_leader_decide(&st, 101 * S), KRC_LEADER_WAIT);

    /* A holder whose clock is far ahead, that stopped renewing: its renewTime is in our future,
     * yet the record has not changed for longer than the duration, so it has expired. */
    st = state();
    struct krc_lease_record ahead = rec("other", 15, "2099-01-01T00:00:00.000000Z", 0);
    krc_leader_observe(&st, &ahead, 100 * S);
    krc_leader_observe(&st, &ahead, 110 * S); /* unchanged: observation time stays at 100 s */
    assert_int_equal(st.observed_ns, 100 * S);
    assert_int_equal(krc_leader_decide(&st, 114 * S), KRC_LEADER_WAIT);
    assert_int_equal(krc_leader_decide(&st, 116 * S), KRC_LEADER_ACQUIRE);

    /* A renewal (any change of the record) restarts the clock. */
    struct krc_lease_record renewed = rec("other", 15, "2099-01-01T00:00:02.000000Z", 0);
    krc_leader_observe(&st, &renewed, 110 * S);
    assert_int_equal(st.observed_ns, 110 * S);
    assert_int_equal(krc_leader_decide(&st, 116 * S), KRC_LEADER_WAIT);
}

static void test_renew_deadline_table(void **state_)
{
    (void)state_;
    static const struct {
        int64_t start, now, deadline;
        int passed;
    } cases[] = {
        {0, 0, 10 * S, 0},      {0, 10 * S - 1, 10 * S, 0}, {0, 10 * S, 10 * S, 1},
        {0, 11 * S, 10 * S, 1}, {5 * S, 14 * S, 10 * S, 0}, {5 * S, 15 * S, 10 * S, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (krc_leader_renew_deadline_passed(cases[i].start, cases[i].now, cases[i].deadline) !=
            cases[i].passed)
            fail_msg("case %zu: start=%lld now=%lld deadline=%lld: want passed=%d", i,
                     (long long)cases[i].start, (long long)cases[i].now,
                     (long long)cases[i].deadline, cases[i].passed);
}

/* ---- one step over a fake lock ---- */

/* The "server": one record and a version that every write bumps. */
struct store {
    int exists;
    struct krc_lease_record rec;
    unsigned version;
};

/* One contender's view of the store: the version it last read or wrote. */
struct fake_lock {
    struct store *s;
    unsigned seen;
    int gets, creates, updates;
    void (*after_get)(void *arg); /* run once, after the next read */
    void *after_get_arg;
};

static void after_get(struct fake_lock *l)
{
    void (*fn)(void *) = l->after_get;
    l->after_get = NULL;
    if (fn)
        fn(l->after_get_arg);
}

static int fake_get(void *ctx, struct krc_lease_record *out, struct krc_error *err)
{
    struct fake_lock *l = ctx;
    int rc = 0;
    l->gets++;
    if (!l->s->exists) {
        rc = krc_error_set(err, KRC_ENOTFOUND, "lease not found");
    } else {
        *out = l->s->rec;
        l->seen = l->s->version;
    }
    after_get(l);
    return rc;
}

static int fake_create(void *ctx, const struct krc_lease_record *r, struct krc_error *err)
{
    struct fake_lock *l = ctx;
    l->creates++;
    if (l->s->exists)
        return krc_error_set(err, KRC_EEXIST, "lease already exists");
    l->s->exists = 1;
    l->s->rec = *r;
    l->seen = ++l->s->version;
    return 0;
}

static int fake_update(void *ctx, const struct krc_lease_record *r, struct krc_error *err)
{
    struct fake_lock *l = ctx;
    l->updates++;
    if (!l->s->exists)
        return krc_error_set(err, KRC_ENOTFOUND, "lease not found");
    if (l->seen != l->s->version)
        return krc_error_set(err, KRC_ECONFLICT, "lease changed since version %u", l->seen);
    l->s->rec = *r;
    l->seen = ++l->s->version;
    return 0;
}

struct contender {
    struct krc_leader_state st;
    struct fake_lock fl;
    struct krc_leader_lock lock;
};

static void contender_init(struct contender *c, const char *identity, struct store *s)
{
    memset(c, 0, sizeof(*c));
    c->st.identity = identity;
    c->st.lease_duration_s = 15;
    c->fl.s = s;
    c->lock = (struct krc_leader_lock){fake_get, fake_create, fake_update, &c->fl};
}

/* Runs one step at monotonic now (wall clock = now + 1.7e18 ns); returns the error code. */
static int step(struct contender *c, int64_t now, int *holding)
{
    struct krc_error err = {0, ""};
    return krc_leader_try_acquire_or_renew(&c->st, &c->lock, now, INT64_C(1700000000) * S + now,
                                           holding, &err);
}

/* A contender's step interleaved into another's, between its read and its write. */
struct interleave {
    struct contender *other;
    int64_t now;
    int holding;
};

static void run_interleaved(void *arg)
{
    struct interleave *in = arg;
    assert_int_equal(step(in->other, in->now, &in->holding), 0);
}

static void test_absent_lease_is_created_with_zero_transitions(void **state_)
{
    (void)state_;
    struct store s = {0};
    struct contender a;
    int holding = 0;
    contender_init(&a, "a", &s);
    assert_int_equal(step(&a, 1 * S, &holding), 0);
    assert_true(holding);
    assert_int_equal(a.fl.creates, 1);
    assert_string_equal(s.rec.holder, "a");
    assert_int_equal(s.rec.lease_duration_s, 15);
    assert_int_equal(s.rec.transitions, 0);
    assert_string_equal(s.rec.acquire_time, s.rec.renew_time);
    assert_string_equal(s.rec.renew_time, "2023-11-14T22:13:21.000000Z");
}

static void test_fresh_lease_of_another_is_left_alone(void **state_)
{
    (void)state_;
    struct store s = {1, rec("b", 15, "t1", 4), 7};
    struct contender a;
    int holding = 1;
    contender_init(&a, "a", &s);
    assert_int_equal(step(&a, 1 * S, &holding), 0);
    assert_false(holding);
    assert_int_equal(a.fl.updates, 0);
    /* Still fresh 14 s later (nothing changed, but 15 s have not passed). */
    assert_int_equal(step(&a, 15 * S, &holding), 0);
    assert_false(holding);
    assert_int_equal(a.fl.updates, 0);
    assert_string_equal(s.rec.holder, "b");
}

static void test_expired_lease_is_taken_over_and_transitions_incremented(void **state_)
{
    (void)state_;
    struct store s = {1, rec("b", 15, "t1", 4), 7};
    struct contender a;
    int holding = 1;
    contender_init(&a, "a", &s);
    assert_int_equal(step(&a, 1 * S, &holding), 0);
    assert_false(holding);
    assert_int_equal(step(&a, 17 * S, &holding), 0);
    assert_true(holding);
    assert_string_equal(s.rec.holder, "a");
    assert_int_equal(s.rec.transitions, 5);
    assert_string_equal(s.rec.acquire_time, "2023-11-14T22:13:37.000000Z");
}

static void test_released_lease_is_taken_at_once(void **state_)
{
    (void)state_;
    struct store s = {1, rec("", 1, "t1", 2), 3};
    struct contender a;
    int holding = 0;
    contender_init(&a, "a", &s);
    assert_int_equal(step(&a, 1 * S, &holding), 0);
    assert_true(holding);
    assert_int_equal(s.rec.transitions, 3);
}

static void test_renewal_keeps_acquire_time_and_transitions_on_the_fast_path(void **state_)
{
    (void)state_;
    struct store s = {0};
    struct contender a;
    int holding = 0;
    contender_init(&a, "a", &s);
    assert_int_equal(step(&a, 1 * S, &holding), 0);
    char acquired[KRC_LEADER_TIME_MAX];
    memcpy(acquired, s.rec.acquire_time, sizeof(acquired));
    int gets = a.fl.gets;

    assert_int_equal(step(&a, 3 * S, &holding), 0);
    assert_true(holding);
    assert_int_equal(a.fl.gets, gets); /* no read: the fast path updated directly */
    assert_string_equal(s.rec.acquire_time, acquired);
    assert_string_equal(s.rec.renew_time, "2023-11-14T22:13:23.000000Z");
    assert_int_equal(s.rec.transitions, 0);
}

/* Two contenders see the same expired lease; the second write is refused (409), and the loser
 * then sees the winner's fresh record and waits. */
static void test_conflict_means_the_race_was_lost(void **state_)
{
    (void)state_;
    struct store s = {1, rec("c", 15, "t1", 1), 9};
    struct contender a, b;
    int ha = 0, hb = 0;
    contender_init(&a, "a", &s);
    contender_init(&b, "b", &s);
    assert_int_equal(step(&a, 1 * S, &ha), 0);
    assert_int_equal(step(&b, 1 * S, &hb), 0);
    assert_false(ha || hb);

    /* At 20 s c has expired for both; a writes between b's read and b's write. */
    struct interleave in = {&a, 20 * S, 0};
    b.fl.after_get = run_interleaved;
    b.fl.after_get_arg = &in;
    assert_int_equal(step(&b, 20 * S, &hb), KRC_ECONFLICT);
    assert_false(hb);
    assert_true(in.holding);
    assert_string_equal(s.rec.holder, "a");
    assert_int_equal(s.rec.transitions, 2);

    /* Next round b reads a's record, new to it, and waits. */
    assert_int_equal(step(&b, 21 * S, &hb), 0);
    assert_false(hb);
    assert_int_equal(s.rec.transitions, 2);
}

static void test_create_race_is_lost_with_eexist(void **state_)
{
    (void)state_;
    struct store s = {0};
    struct contender a, b;
    int hb = 0;
    contender_init(&a, "a", &s);
    contender_init(&b, "b", &s);
    struct interleave in = {&a, 1 * S, 0};
    b.fl.after_get = run_interleaved;
    b.fl.after_get_arg = &in;
    assert_int_equal(step(&b, 1 * S, &hb), KRC_EEXIST);
    assert_false(hb);
    assert_true(in.holding);
    assert_string_equal(s.rec.holder, "a");
    assert_int_equal(step(&b, 2 * S, &hb), 0);
    assert_false(hb);
}

/* A leader whose lease was overwritten behind its back: the optimistic update gets a 409, the
 * read shows a fresh foreign holder, and the step reports not holding. */
static void test_fast_path_conflict_falls_back_to_reading(void **state_)
{
    (void)state_;
    struct store s = {0};
    struct contender a;
    int holding = 0;
    contender_init(&a, "a", &s);
    assert_int_equal(step(&a, 1 * S, &holding), 0);
    assert_true(holding);

    s.rec = rec("intruder", 15, "t9", 7);
    s.version++;
    int gets = a.fl.gets;
    assert_int_equal(step(&a, 3 * S, &holding), 0);
    assert_false(holding);
    assert_int_equal(a.fl.gets, gets + 1);
    assert_string_equal(s.rec.holder, "intruder");
    assert_false(krc_leader_observed_ours(&a.st));
}

/* Someone changed the lease without changing its holder (e.g. a label): the fast path fails,
 * the slow path renews, keeping acquireTime and transitions. */
static void test_slow_path_renews_our_own_lease(void **state_)
{
    (void)state_;
    struct store s = {0};
    struct contender a;
    int holding = 0;
    contender_init(&a, "a", &s);
    assert_int_equal(step(&a, 1 * S, &holding), 0);
    char acquired[KRC_LEADER_TIME_MAX];
    memcpy(acquired, s.rec.acquire_time, sizeof(acquired));
    s.version++;
    assert_int_equal(step(&a, 3 * S, &holding), 0);
    assert_true(holding);
    assert_string_equal(s.rec.acquire_time, acquired);
    assert_int_equal(s.rec.transitions, 0);
}

static int failing_get(void *ctx, struct krc_lease_record *out, struct krc_error *err)
{
    (void)ctx;
    (void)out;
    return krc_error_set(err, KRC_ESERVER, "500 from the server");
}

static void test_read_error_is_returned_and_not_holding(void **state_)
{
    (void)state_;
    struct store s = {0};
    struct contender a;
    contender_init(&a, "a", &s);
    a.lock.get = failing_get;
    int holding = 1;
    struct krc_error err = {0, ""};
    assert_int_equal(krc_leader_try_acquire_or_renew(&a.st, &a.lock, S, 0, &holding, &err),
                     KRC_ESERVER);
    assert_false(holding);
    assert_string_equal(err.msg, "500 from the server");
    assert_int_equal(a.fl.creates + a.fl.updates, 0);
}

/* ---- Lease JSON ---- */

static void test_record_from_lease(void **state_)
{
    (void)state_;
    struct krc_error err = {0, ""};
    struct krc_lease_record r;
    json_t *lease =
        json_loads("{\"metadata\":{\"name\":\"l\"},\"spec\":{\"holderIdentity\":\"h_1\","
                   "\"leaseDurationSeconds\":15,\"acquireTime\":\"2024-01-01T00:00:00."
                   "000000Z\",\"renewTime\":\"2024-01-01T00:00:05.000000Z\","
                   "\"leaseTransitions\":3}}",
                   0, NULL);
    assert_non_null(lease);
    assert_int_equal(krc_leader_record_from_lease(lease, &r, &err), 0);
    assert_string_equal(r.holder, "h_1");
    assert_int_equal(r.lease_duration_s, 15);
    assert_string_equal(r.renew_time, "2024-01-01T00:00:05.000000Z");
    assert_int_equal(r.transitions, 3);

    /* Round trip through the spec we write. */
    json_t *spec = krc_leader_record_to_spec(&r);
    assert_non_null(spec);
    json_t *again = json_pack("{s:o}", "spec", spec);
    struct krc_lease_record r2;
    assert_int_equal(krc_leader_record_from_lease(again, &r2, &err), 0);
    assert_memory_equal(&r, &r2, sizeof(r));
    json_decref(again);
    json_decref(lease);
}

static void test_record_from_lease_rejects_malformed_specs(void **state_)
{
    (void)state_;
    static const struct {
        const char *json;
        int rc;
        const char *msg; /* substring of the error */
    } cases[] = {
        {"{}", 0, ""},
        {"{\"spec\":null}", 0, ""},
        {"{\"spec\":{\"holderIdentity\":null}}", 0, ""},
        {"[]", KRC_EINVAL, "not a JSON object"},
        {"{\"spec\":3}", KRC_EINVAL, "spec: not an object"},
        {"{\"spec\":{\"holderIdentity\":7}}", KRC_EINVAL, "holderIdentity: not a string"},
        {"{\"spec\":{\"leaseDurationSeconds\":\"15\"}}", KRC_EINVAL, "not an integer"},
        {"{\"spec\":{\"leaseDurationSeconds\":4294967296}}", KRC_EINVAL, "out of range"},
        {"{\"spec\":{\"leaseTransitions\":1.5}}", KRC_EINVAL, "leaseTransitions"},
        {"{\"spec\":{\"renewTime\":\"2024-01-01T00:00:05.000000000000000000000000Z\"}}", KRC_EINVAL,
         "renewTime: longer than"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct krc_error err = {0, ""};
        struct krc_lease_record r;
        json_t *doc = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(doc);
        int rc = krc_leader_record_from_lease(doc, &r, &err);
        json_decref(doc);
        if (rc != cases[i].rc || !strstr(err.msg, cases[i].msg))
            fail_msg("%s: rc %d (%s), want %d with \"%s\"", cases[i].json, rc, err.msg, cases[i].rc,
                     cases[i].msg);
        if (rc == 0 && r.holder[0])
            fail_msg("%s: holder should be empty", cases[i].json);
    }

    /* A holder longer than any identity we could write. */
    char big[KRC_LEADER_IDENTITY_MAX + 8];
    memset(big, 'h', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_t *doc = json_pack("{s:{s:s}}", "spec", "holderIdentity", big);
    struct krc_error err = {0, ""};
    struct krc_lease_record r;
    assert_int_equal(krc_leader_record_from_lease(doc, &r, &err), KRC_EINVAL);
    json_decref(doc);
}

static void test_empty_times_are_written_as_null(void **state_)
{
    (void)state_;
    struct krc_lease_record r;
    memset(&r, 0, sizeof(r));
    json_t *spec = krc_leader_record_to_spec(&r);
    assert_non_null(spec);
    assert_true(json_is_null(json_object_get(spec, "acquireTime")));
    assert_string_equal(json_string_value(json_object_get(spec, "holderIdentity")), "");
    json_decref(spec);
}

/* ---- identity and options ---- */

static void test_default_identity_is_hostname_underscore_uuid4(void **state_)
{
    (void)state_;
    char host[256] = "", id[KRC_LEADER_IDENTITY_MAX], id2[KRC_LEADER_IDENTITY_MAX];
    struct krc_error err = {0, ""};
    assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
    assert_int_equal(krc_leader_default_identity(id, sizeof(id), &err), 0);
    assert_int_equal(krc_leader_default_identity(id2, sizeof(id2), &err), 0);
    assert_string_not_equal(id, id2);
    size_t hl = strlen(host);
    assert_memory_equal(id, host, hl);
    assert_int_equal(id[hl], '_');
    const char *u = id + hl + 1;
    assert_int_equal(strlen(u), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(u[i], '-');
        else if (!isxdigit((unsigned char)u[i]) || isupper((unsigned char)u[i]))
            fail_msg("uuid %s: bad character at %d", u, i);
    }
    assert_int_equal(u[14], '4');
    assert_non_null(strchr("89ab", u[19]));
    assert_int_equal(krc_leader_default_identity(id, 8, &err), KRC_ETOOLARGE);
}

static void test_options_are_validated(void **state_)
{
    (void)state_;
    struct krc_kubeconfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.server = "https://127.0.0.1:1";
    cfg.namespace = "default";
    static const struct {
        const char *name, *ns;
        int64_t ld, rd, rp;
        int rc;
        const char *msg;
    } cases[] = {
        {"l", "ns", 0, 0, 0, 0, ""},
        {"l", "ns", 3 * S, 2 * S, S / 2, 0, ""},
        {NULL, "ns", 0, 0, 0, KRC_EINVAL, "no lease name"},
        {"l", "", 0, 0, 0, KRC_EINVAL, "no lease namespace"},
        {"l", "ns", S / 2, S / 4, S / 8, KRC_EINVAL, "at least 1 s"},
        {"l", "ns", 10 * S, 10 * S, 2 * S, KRC_EINVAL, "greater than the renew deadline"},
        {"l", "ns", 3 * S / 2, 6 * S / 5, S / 10, KRC_EINVAL, "(whole seconds)"},
        {"l", "ns", 5 * S / 2, 3 * S / 2, S / 2, 0, ""},
        {"l", "ns", 15 * S, 10 * S, 9 * S, KRC_EINVAL, "retry period"},
        {"l", "ns", 15 * S, 10 * S, -1, KRC_EINVAL, "retry period"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct krc_leader_opts o = {
            .lease_name = cases[i].name,
            .lease_namespace = cases[i].ns,
            .lease_duration_ns = cases[i].ld,
            .renew_deadline_ns = cases[i].rd,
            .retry_period_ns = cases[i].rp,
        };
        struct krc_leader *le = NULL;
        struct krc_error err = {0, ""};
        int rc = krc_leader_new(&cfg, &o, &le, &err);
        if (rc != cases[i].rc || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: rc %d (%s), want %d with \"%s\"", i, rc, err.msg, cases[i].rc,
                     cases[i].msg);
        if (rc == 0) {
            assert_false(krc_leader_is_leader(le));
            assert_false(krc_leader_finished(le));
            assert_non_null(strchr(krc_leader_identity(le), '_'));
            assert_string_equal(krc_leader_lease_name(le), "l");
        }
        krc_leader_free(le);
    }
}

static void test_given_identity_is_used(void **state_)
{
    (void)state_;
    struct krc_kubeconfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.server = "https://127.0.0.1:1";
    struct krc_leader_opts o = {.lease_name = "l", .lease_namespace = "ns", .identity = "pod-1"};
    struct krc_leader *le = NULL;
    struct krc_error err = {0, ""};
    assert_int_equal(krc_leader_new(&cfg, &o, &le, &err), 0);
    assert_string_equal(krc_leader_identity(le), "pod-1");
    /* Stop without start is a no-op; free stops. */
    krc_leader_stop(le);
    krc_leader_free(le);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_expiry_ignores_the_remote_clock),
        cmocka_unit_test(test_renew_deadline_table),
        cmocka_unit_test(test_absent_lease_is_created_with_zero_transitions),
        cmocka_unit_test(test_fresh_lease_of_another_is_left_alone),
        cmocka_unit_test(test_expired_lease_is_taken_over_and_transitions_incremented),
        cmocka_unit_test(test_released_lease_is_taken_at_once),
        cmocka_unit_test(test_renewal_keeps_acquire_time_and_transitions_on_the_fast_path),
        cmocka_unit_test(test_conflict_means_the_race_was_lost),
        cmocka_unit_test(test_create_race_is_lost_with_eexist),
        cmocka_unit_test(test_fast_path_conflict_falls_back_to_reading),
        cmocka_unit_test(test_slow_path_renews_our_own_lease),
        cmocka_unit_test(test_read_error_is_returned_and_not_holding),
        cmocka_unit_test(test_record_from_lease),
        cmocka_unit_test(test_record_from_lease_rejects_malformed_specs),
        cmocka_unit_test(test_empty_times_are_written_as_null),
        cmocka_unit_test(test_default_identity_is_hostname_underscore_uuid4),
        cmocka_unit_test(test_options_are_validated),
        cmocka_unit_test(test_given_identity_is_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
