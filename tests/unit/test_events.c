/* Unit tests of the events recorder (kube/events): which calls are the same event (the dedup
 * key), series aggregation into one Event that is PATCHed, the LRU cache, the bounded queue that
 * drops instead of blocking, names, notes, and the two wire formats. The recorder writes to a fake
 * sink that keeps every request, and runs without its worker thread (krc_events_drain writes on
 * the test's thread) except in the one test of the worker itself; the wall clock is a variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/events.h"

#define S         INT64_C(1000000000)
#define T0        (INT64_C(1700000000) * S) /* 2023-11-14T22:13:20Z */
#define MAX_CALLS 64

struct call {
    int patch; /* 0 = create */
    char ns[64];
    char name[300];
    json_t *body;
};

struct fake {
    struct call calls[MAX_CALLS];
    int n;
    int create_rc[4]; /* answers to the next creates (0 after these) */
    int patch_rc[4];
    int ncreate, npatch;
    int64_t now;
};

static int64_t fake_now(void *ctx)
{
    return ((struct fake *)ctx)->now;
}

static int answer(int *queue, int *used)
{
    return *used < 4 ? queue[(*used)++] : 0;
}

static void keep(struct fake *f, int patch, const char *ns, const char *name, const char *body)
{
    assert_true(f->n < MAX_CALLS);
    struct call *c = &f->calls[f->n++];
    c->patch = patch;
    snprintf(c->ns, sizeof(c->ns), "%s", ns);
    snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
    c->body = json_loads(body, 0, NULL);
    assert_non_null(c->body);
}

static int fake_create(void *ctx, const struct krc_resource *res, const char *ns, const char *body,
                       size_t len, struct krc_error *err)
{
    struct fake *f = ctx;
    (void)res;
    assert_int_equal(strlen(body), len);
    json_t *doc = json_loads(body, 0, NULL);
    keep(f, 0, ns, json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")),
         body);
    json_decref(doc);
    int rc = answer(f->create_rc, &f->ncreate);
    return rc ? krc_error_set(err, rc, "create refused: %s", krc_strerror(rc)) : 0;
}

static int fake_patch(void *ctx, const struct krc_resource *res, const char *ns, const char *name,
                      const char *body, size_t len, struct krc_error *err)
{
    struct fake *f = ctx;
    (void)res;
    assert_int_equal(strlen(body), len);
    keep(f, 1, ns, name, body);
    int rc = answer(f->patch_rc, &f->npatch);
    return rc ? krc_error_set(err, rc, "patch refused: %s", krc_strerror(rc)) : 0;
}

static void fake_release(struct fake *f)
{
    for (int i = 0; i < f->n; i++)
        json_decref(f->calls[i].body);
}

struct fixture {
    struct fake f;
    struct krc_events_sink sink;
    struct krc_events *rec;
};

static void setup_with(struct fixture *x, enum krc_events_api api, size_t queue, size_t cache)
{
    memset(x, 0, sizeof(*x));
    x->f.now = T0;
    x->sink = (struct krc_events_sink){fake_create, fake_patch, &x->f};
    struct krc_events_opts o = {
        .api = api,
        .reporting_controller = "raycluster-controller",
        .reporting_instance = "raycluster-controller-host1",
        .queue_size = queue,
        .cache_size = cache,
        .now_ns = fake_now,
        .clock_ctx = &x->f,
        .sink = &x->sink,
        .no_worker = 1,
    };
    struct krc_error err = {0, ""};
    if (krc_events_new(NULL, &o, &x->rec, &err) != 0)
        fail_msg("krc_events_new: %s", err.msg);
}

static void setup(struct fixture *x)
{
    setup_with(x, KRC_EVENTS_API_EVENTS_V1, 0, 0);
}

static void teardown(struct fixture *x)
{
    krc_events_free(x->rec);
    fake_release(&x->f);
}

static const struct krc_events_ref cluster = {
    .api_version = "ray.io/v1",
    .kind = "RayCluster",
    .ns = "team-a",
    .name = "raycluster-sample",
    .uid = "3f1e2d4c-0000-4000-8000-000000000001",
    .resource_version = "1234",
};

static const char *jget(json_t *doc, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = doc;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return json_string_value(cur);
}

static json_int_t jint(json_t *doc, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = doc;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    if (!json_is_integer(cur))
        fail_msg("%s: not an integer", path);
    return json_integer_value(cur);
}

static int creates(const struct fake *f)
{
    int n = 0;
    for (int i = 0; i < f->n; i++)
        n += !f->calls[i].patch;
    return n;
}

static int patches(const struct fake *f)
{
    return f->n - creates(f);
}

/* Records cluster's usual Normal event and writes out what is queued. */
static void record_and_drain(struct fixture *x)
{
    krc_events_record(x->rec, &cluster, KRC_EVENT_NORMAL, "R", "A", "n");
    krc_events_drain(x->rec);
}

static struct krc_events_stats stats_of(struct fixture *x)
{
    struct krc_events_stats st;
    krc_events_stats(x->rec, &st);
    return st;
}

/* ---- the first write ---- */

static void test_first_event_is_created_with_every_field(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    assert_int_equal(krc_events_record(x.rec, &cluster, KRC_EVENT_NORMAL, "CreatedService",
                                       "Create", "Created service %s", "head-svc"),
                     0);
    assert_int_equal(krc_events_drain(x.rec), 1);
    assert_int_equal(x.f.n, 1);
    struct call *c = &x.f.calls[0];
    assert_false(c->patch);
    assert_string_equal(c->ns, "team-a");
    assert_string_equal(jget(c->body, "apiVersion"), "events.k8s.io/v1");
    assert_string_equal(jget(c->body, "kind"), "Event");
    assert_string_equal(jget(c->body, "metadata.namespace"), "team-a");
    char want_name[64];
    snprintf(want_name, sizeof(want_name), "raycluster-sample.%llx", (unsigned long long)T0);
    assert_string_equal(jget(c->body, "metadata.name"), want_name);
    assert_string_equal(jget(c->body, "regarding.apiVersion"), "ray.io/v1");
    assert_string_equal(jget(c->body, "regarding.kind"), "RayCluster");
    assert_string_equal(jget(c->body, "regarding.namespace"), "team-a");
    assert_string_equal(jget(c->body, "regarding.name"), "raycluster-sample");
    assert_string_equal(jget(c->body, "regarding.uid"), cluster.uid);
    assert_string_equal(jget(c->body, "regarding.resourceVersion"), "1234");
    assert_null(json_object_get(json_object_get(c->body, "regarding"), "fieldPath"));
    assert_string_equal(jget(c->body, "reportingController"), "raycluster-controller");
    assert_string_equal(jget(c->body, "reportingInstance"), "raycluster-controller-host1");
    assert_string_equal(jget(c->body, "type"), "Normal");
    assert_string_equal(jget(c->body, "reason"), "CreatedService");
    assert_string_equal(jget(c->body, "action"), "Create");
    assert_string_equal(jget(c->body, "note"), "Created service head-svc");
    assert_string_equal(jget(c->body, "eventTime"), "2023-11-14T22:13:20.000000Z");
    assert_null(json_object_get(c->body, "series"));
    assert_null(json_object_get(c->body, "count"));

    struct krc_events_stats st = stats_of(&x);
    assert_int_equal(st.recorded, 1);
    assert_int_equal(st.created, 1);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.cached, 1);
    teardown(&x);
}

/* ---- series ---- */

static void test_repeats_patch_one_event_series(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    for (int i = 0; i < 5; i++) {
        x.f.now = T0 + i * S;
        assert_int_equal(krc_events_record(x.rec, &cluster, KRC_EVENT_WARNING, "FailedCreate",
                                           "Create", "quota exceeded"),
                         0);
        assert_int_equal(krc_events_drain(x.rec), 1);
    }
    assert_int_equal(creates(&x.f), 1);
    assert_int_equal(patches(&x.f), 4);
    const char *name = jget(x.f.calls[0].body, "metadata.name");
    for (int i = 1; i < 5; i++) {
        struct call *c = &x.f.calls[i];
        assert_string_equal(c->name, name);
        assert_string_equal(c->ns, "team-a");
        assert_int_equal(jint(c->body, "series.count"), i + 1);
        assert_int_equal(json_object_size(c->body), 1); /* only the series changes */
    }
    assert_string_equal(jget(x.f.calls[4].body, "series.lastObservedTime"),
                        "2023-11-14T22:13:24.000000Z");
    struct krc_events_stats st = stats_of(&x);
    assert_int_equal(st.coalesced, 4);
    assert_int_equal(st.patched, 4);
    teardown(&x);
}

static void test_repeats_before_the_first_write_fold_into_one_create(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    for (int i = 0; i < 5; i++) {
        x.f.now = T0 + i * S;
        assert_int_equal(
            krc_events_record(x.rec, &cluster, KRC_EVENT_NORMAL, "Scaled", "Scale", "to %d", 3), 0);
    }
    assert_int_equal(krc_events_drain(x.rec), 1);
    assert_int_equal(x.f.n, 1);
    struct call *c = &x.f.calls[0];
    assert_false(c->patch);
    assert_int_equal(jint(c->body, "series.count"), 5);
    assert_string_equal(jget(c->body, "eventTime"), "2023-11-14T22:13:20.000000Z");
    assert_string_equal(jget(c->body, "series.lastObservedTime"), "2023-11-14T22:13:24.000000Z");
    teardown(&x);
}

/* Which differences make a different Event. */
static void test_dedup_key_table(void **state)
{
    (void)state;
    enum change { NONE, RV, UID, NS, NAME, KIND, FIELD_PATH, TYPE, REASON, ACTION, NOTE };
    static const struct {
        const char *what;
        enum change change;
        int separate;
    } cases[] = {
        {"identical", NONE, 0},
        {"another resourceVersion of the object", RV, 0},
        {"another uid (the object was re-created)", UID, 1},
        {"another namespace", NS, 1},
        {"another object name", NAME, 1},
        {"another kind", KIND, 1},
        {"another field path", FIELD_PATH, 1},
        {"another type", TYPE, 1},
        {"another reason", REASON, 1},
        {"another action", ACTION, 1},
        {"another note", NOTE, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture x;
        setup(&x);
        struct krc_events_ref ref = cluster;
        enum krc_event_type type = KRC_EVENT_NORMAL;
        const char *reason = "R", *action = "A", *note = "n";
        assert_int_equal(krc_events_record(x.rec, &ref, type, reason, action, "%s", note), 0);
        switch (cases[i].change) {
        case NONE:
            break;
        case RV:
            ref.resource_version = "9999";
            break;
        case UID:
            ref.uid = "other-uid";
            break;
        case NS:
            ref.ns = "team-b";
            break;
        case NAME:
            ref.name = "other";
            break;
        case KIND:
            ref.kind = "RayJob";
            break;
        case FIELD_PATH:
            ref.field_path = "spec.headGroupSpec";
            break;
        case TYPE:
            type = KRC_EVENT_WARNING;
            break;
        case REASON:
            reason = "R2";
            break;
        case ACTION:
            action = "A2";
            break;
        case NOTE:
            note = "n2";
            break;
        }
        assert_int_equal(krc_events_record(x.rec, &ref, type, reason, action, "%s", note), 0);
        krc_events_drain(x.rec);
        int want = cases[i].separate ? 2 : 1;
        if (creates(&x.f) != want)
            fail_msg("%s: %d Events created, want %d", cases[i].what, creates(&x.f), want);
        teardown(&x);
    }
}

static void test_a_repeat_after_the_series_window_starts_a_new_event(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    record_and_drain(&x);
    x.f.now = T0 + KRC_EVENTS_DEFAULT_SERIES_WINDOW; /* still inside: one series */
    record_and_drain(&x);
    assert_int_equal(patches(&x.f), 1);
    x.f.now += KRC_EVENTS_DEFAULT_SERIES_WINDOW + 1; /* past it: a new Event */
    record_and_drain(&x);
    assert_int_equal(creates(&x.f), 2);
    struct call *c = &x.f.calls[2];
    assert_false(c->patch);
    assert_null(json_object_get(c->body, "series"));
    assert_string_not_equal(jget(c->body, "metadata.name"),
                            jget(x.f.calls[0].body, "metadata.name"));
    teardown(&x);
}

/* ---- cache ---- */

static int record_named(struct fixture *x, const char *name)
{
    struct krc_events_ref ref = cluster;
    ref.name = name;
    return krc_events_record(x->rec, &ref, KRC_EVENT_NORMAL, "R", "A", "n");
}

static void test_lru_evicts_the_least_recently_recorded(void **state)
{
    (void)state;
    struct fixture x;
    setup_with(&x, KRC_EVENTS_API_EVENTS_V1, 4, 2);
    assert_int_equal(record_named(&x, "a"), 0);
    assert_int_equal(record_named(&x, "b"), 0);
    krc_events_drain(x.rec);
    assert_int_equal(record_named(&x, "a"), 0); /* a is now the most recent */
    krc_events_drain(x.rec);
    assert_int_equal(record_named(&x, "c"), 0); /* evicts b */
    krc_events_drain(x.rec);
    assert_int_equal(creates(&x.f), 3);
    assert_int_equal(record_named(&x, "a"), 0); /* still cached: a patch */
    krc_events_drain(x.rec);
    assert_int_equal(creates(&x.f), 3);
    assert_true(x.f.calls[x.f.n - 1].patch);
    assert_int_equal(record_named(&x, "b"), 0); /* forgotten: a new Event */
    krc_events_drain(x.rec);
    assert_int_equal(creates(&x.f), 4);
    struct krc_events_stats st = stats_of(&x);
    assert_int_equal(st.cached, 2);
    teardown(&x);
}

static void test_entries_waiting_for_a_write_are_never_evicted(void **state)
{
    (void)state;
    struct fixture x;
    setup_with(&x, KRC_EVENTS_API_EVENTS_V1, 3, 2);
    assert_int_equal(record_named(&x, "a"), 0);
    assert_int_equal(record_named(&x, "b"), 0);
    assert_int_equal(record_named(&x, "c"), KRC_ETOOLARGE); /* both cached entries queued */
    assert_int_equal(krc_events_drain(x.rec), 2);
    assert_int_equal(record_named(&x, "c"), 0); /* now a can go */
    krc_events_drain(x.rec);
    assert_int_equal(creates(&x.f), 3);
    struct krc_events_stats st = stats_of(&x);
    assert_int_equal(st.dropped, 1);
    teardown(&x);
}

/* ---- queue ---- */

static void test_a_full_queue_drops_and_counts(void **state)
{
    (void)state;
    struct fixture x;
    setup_with(&x, KRC_EVENTS_API_EVENTS_V1, 3, 16);
    assert_int_equal(record_named(&x, "a"), 0);
    assert_int_equal(record_named(&x, "b"), 0);
    assert_int_equal(record_named(&x, "c"), 0);
    assert_int_equal(record_named(&x, "d"), KRC_ETOOLARGE);
    assert_int_equal(record_named(&x, "e"), KRC_ETOOLARGE);
    /* A repetition of a queued event needs no slot: it folds into the queued write. */
    assert_int_equal(record_named(&x, "a"), 0);
    struct krc_events_stats st = stats_of(&x);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(st.recorded, 4);
    assert_int_equal(st.queued, 3);
    assert_int_equal(st.cached, 3); /* dropped events left no trace */
    assert_int_equal(krc_events_drain(x.rec), 3);
    assert_int_equal(creates(&x.f), 3);
    assert_int_equal(jint(x.f.calls[0].body, "series.count"), 2);
    teardown(&x);
}

/* ---- failures ---- */

static void test_a_patch_of_a_vanished_event_creates_it_again(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    record_and_drain(&x);
    x.f.patch_rc[0] = KRC_ENOTFOUND; /* deleted by the server's event TTL */
    record_and_drain(&x);
    assert_int_equal(x.f.n, 3);
    assert_true(x.f.calls[1].patch);
    struct call *c = &x.f.calls[2];
    assert_false(c->patch);
    assert_string_equal(jget(c->body, "metadata.name"), x.f.calls[1].name);
    assert_int_equal(jint(c->body, "series.count"), 2);
    teardown(&x);
}

static void test_a_name_taken_by_someone_else_is_replaced(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    x.f.create_rc[0] = KRC_EEXIST;
    record_and_drain(&x);
    assert_int_equal(creates(&x.f), 2);
    assert_string_not_equal(x.f.calls[0].name, x.f.calls[1].name);
    struct krc_events_stats st = stats_of(&x);
    assert_int_equal(st.created, 1);
    assert_int_equal(st.failed, 0);
    /* Later repeats patch the name that was created. */
    record_and_drain(&x);
    assert_string_equal(x.f.calls[2].name, x.f.calls[1].name);
    teardown(&x);
}

static void test_a_failed_create_is_retried_by_the_next_repeat(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    x.f.create_rc[0] = KRC_ESERVER;
    record_and_drain(&x);
    record_and_drain(&x);
    assert_int_equal(creates(&x.f), 2);
    assert_int_equal(jint(x.f.calls[1].body, "series.count"), 2);
    struct krc_events_stats st = stats_of(&x);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.created, 1);
    teardown(&x);
}

/* ---- names, notes, arguments ---- */

static void test_event_names(void **state)
{
    (void)state;
    char buf[KRC_EVENTS_NAME_MAX + 1], longname[300];
    krc_events_make_name("pod-a", 0x1a2b, buf, sizeof(buf));
    assert_string_equal(buf, "pod-a.1a2b");

    /* 253-character object name: cut so the whole fits, never leaving "-." or "..". */
    memset(longname, 'x', 253);
    longname[253] = '\0';
    longname[253 - 1 - 16 - 1] = '-';
    krc_events_make_name(longname, UINT64_C(0x17a2b3c4d5e6f708), buf, sizeof(buf));
    assert_int_equal(strlen(buf), 253 - 1);
    assert_null(strstr(buf, "-."));
    assert_string_equal(buf + strlen(buf) - 17, ".17a2b3c4d5e6f708");

    memset(longname, 'y', 253);
    krc_events_make_name(longname, UINT64_C(0x17a2b3c4d5e6f708), buf, sizeof(buf));
    assert_int_equal(strlen(buf), 253);
}

static void test_names_are_unique_within_a_recorder(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    /* Same clock reading, same object: two Events, two names. */
    krc_events_record(x.rec, &cluster, KRC_EVENT_NORMAL, "R1", "A", "n");
    krc_events_record(x.rec, &cluster, KRC_EVENT_NORMAL, "R2", "A", "n");
    krc_events_drain(x.rec);
    assert_string_not_equal(x.f.calls[0].name, x.f.calls[1].name);
    teardown(&x);
}

static void test_notes_are_cut_on_a_character_boundary_and_made_utf8(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    char note[KRC_EVENTS_NOTE_MAX + 8];
    memset(note, 'a', KRC_EVENTS_NOTE_MAX - 1);
    strcpy(note + KRC_EVENTS_NOTE_MAX - 1, "\xc3\xa9tail"); /* "é" straddles the limit */
    krc_events_record(x.rec, &cluster, KRC_EVENT_NORMAL, "Long", "A", "%s", note);
    krc_events_record(x.rec, &cluster, KRC_EVENT_NORMAL, "Bad", "A", "bad \xff byte \xc3");
    krc_events_drain(x.rec);
    const char *cut = jget(x.f.calls[0].body, "note");
    assert_non_null(cut);
    assert_int_equal(strlen(cut), KRC_EVENTS_NOTE_MAX - 1);
    assert_string_equal(jget(x.f.calls[1].body, "note"), "bad ? byte ?");
    teardown(&x);
}

static void test_record_checks_its_arguments(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    struct krc_events_ref noname = cluster;
    noname.name = NULL;
    char longreason[KRC_EVENTS_FIELD_MAX + 2];
    memset(longreason, 'R', sizeof(longreason) - 1);
    longreason[sizeof(longreason) - 1] = '\0';
    assert_int_equal(krc_events_record(x.rec, &noname, KRC_EVENT_NORMAL, "R", "A", "n"),
                     KRC_EINVAL);
    assert_int_equal(krc_events_record(x.rec, NULL, KRC_EVENT_NORMAL, "R", "A", "n"), KRC_EINVAL);
    assert_int_equal(krc_events_record(x.rec, &cluster, KRC_EVENT_NORMAL, "", "A", "n"),
                     KRC_EINVAL);
    assert_int_equal(krc_events_record(x.rec, &cluster, KRC_EVENT_NORMAL, longreason, "A", "n"),
                     KRC_EINVAL);
    assert_int_equal(krc_events_record(x.rec, &cluster, KRC_EVENT_NORMAL, "R", NULL, "n"),
                     KRC_EINVAL); /* events.k8s.io requires an action */
    assert_int_equal(krc_events_record(x.rec, &cluster, (enum krc_event_type)7, "R", "A", "n"),
                     KRC_EINVAL);
    assert_int_equal(krc_events_drain(x.rec), 0);
    teardown(&x);

    struct krc_events *r = NULL;
    struct krc_error err = {0, ""};
    struct krc_events_opts o = {0};
    assert_int_equal(krc_events_new(NULL, &o, &r, &err), KRC_EINVAL);
    o.reporting_controller = "c";
    assert_int_equal(krc_events_new(NULL, &o, &r, &err), KRC_EINVAL); /* no client, no sink */
    assert_null(r);
}

static void test_cluster_scoped_objects_get_events_in_default(void **state)
{
    (void)state;
    struct fixture x;
    setup(&x);
    struct krc_events_ref node = {.api_version = "v1", .kind = "Node", .name = "n1", .uid = "u"};
    krc_events_record(x.rec, &node, KRC_EVENT_NORMAL, "R", "A", "n");
    krc_events_drain(x.rec);
    assert_string_equal(x.f.calls[0].ns, "default");
    assert_null(json_object_get(json_object_get(x.f.calls[0].body, "regarding"), "namespace"));
    teardown(&x);
}

/* ---- core/v1 ---- */

static void test_core_v1_events_carry_count_and_timestamps(void **state)
{
    (void)state;
    struct fixture x;
    setup_with(&x, KRC_EVENTS_API_CORE_V1, 0, 0);
    struct krc_events_ref lease = {.api_version = "coordination.k8s.io/v1",
                                   .kind = "Lease",
                                   .ns = "ray-system",
                                   .name = "ray-operator-leader",
                                   .uid = "u1",
                                   .resource_version = "77"};
    assert_int_equal(krc_events_record(x.rec, &lease, KRC_EVENT_NORMAL, "LeaderElection", NULL,
                                       "%s became leader", "host_1"),
                     0);
    krc_events_drain(x.rec);
    x.f.now = T0 + 3 * S;
    krc_events_record(x.rec, &lease, KRC_EVENT_NORMAL, "LeaderElection", NULL, "%s became leader",
                      "host_1");
    krc_events_drain(x.rec);

    struct call *c = &x.f.calls[0];
    assert_false(c->patch);
    assert_string_equal(jget(c->body, "apiVersion"), "v1");
    assert_string_equal(jget(c->body, "involvedObject.kind"), "Lease");
    assert_string_equal(jget(c->body, "involvedObject.name"), "ray-operator-leader");
    assert_string_equal(jget(c->body, "involvedObject.namespace"), "ray-system");
    assert_string_equal(jget(c->body, "involvedObject.uid"), "u1");
    assert_string_equal(jget(c->body, "involvedObject.resourceVersion"), "77");
    assert_string_equal(jget(c->body, "message"), "host_1 became leader");
    assert_string_equal(jget(c->body, "reason"), "LeaderElection");
    assert_string_equal(jget(c->body, "type"), "Normal");
    assert_string_equal(jget(c->body, "firstTimestamp"), "2023-11-14T22:13:20Z");
    assert_string_equal(jget(c->body, "lastTimestamp"), "2023-11-14T22:13:20Z");
    assert_int_equal(jint(c->body, "count"), 1);
    assert_string_equal(jget(c->body, "source.component"), "raycluster-controller");
    assert_string_equal(jget(c->body, "reportingComponent"), "raycluster-controller");
    assert_null(json_object_get(c->body, "action"));
    assert_null(json_object_get(c->body, "eventTime"));
    assert_null(json_object_get(c->body, "note"));

    c = &x.f.calls[1];
    assert_true(c->patch);
    assert_int_equal(jint(c->body, "count"), 2);
    assert_string_equal(jget(c->body, "lastTimestamp"), "2023-11-14T22:13:23Z");
    teardown(&x);
}

static void test_time_formats(void **state)
{
    (void)state;
    char buf[40];
    assert_string_equal(krc_events_format_time(0, 1, buf, sizeof(buf)),
                        "1970-01-01T00:00:00.000000Z");
    assert_string_equal(krc_events_format_time(INT64_C(1700000000123456789), 1, buf, sizeof(buf)),
                        "2023-11-14T22:13:20.123456Z");
    assert_string_equal(krc_events_format_time(INT64_C(1700000000123456789), 0, buf, sizeof(buf)),
                        "2023-11-14T22:13:20Z");
}

/* ---- the worker ---- */

static void test_the_worker_writes_and_flush_waits(void **state)
{
    (void)state;
    struct fake f;
    memset(&f, 0, sizeof(f));
    f.now = T0;
    struct krc_events_sink sink = {fake_create, fake_patch, &f};
    struct krc_events_opts o = {
        .reporting_controller = "c",
        .now_ns = fake_now,
        .clock_ctx = &f,
        .sink = &sink,
    };
    struct krc_events *r = NULL;
    struct krc_error err = {0, ""};
    assert_int_equal(krc_events_new(NULL, &o, &r, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(krc_events_record(r, &cluster, KRC_EVENT_NORMAL, "R", "A", "note %d", i),
                         0);
    assert_int_equal(krc_events_flush(r, 5000), 0);
    struct krc_events_stats st;
    krc_events_stats(r, &st);
    assert_int_equal(st.created, 3);
    assert_int_equal(st.queued, 0);
    /* Queued but unwritten events are dropped by free without blocking. */
    krc_events_record(r, &cluster, KRC_EVENT_NORMAL, "R", "A", "late");
    krc_events_free(r);
    fake_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_event_is_created_with_every_field),
        cmocka_unit_test(test_repeats_patch_one_event_series),
        cmocka_unit_test(test_repeats_before_the_first_write_fold_into_one_create),
        cmocka_unit_test(test_dedup_key_table),
        cmocka_unit_test(test_a_repeat_after_the_series_window_starts_a_new_event),
        cmocka_unit_test(test_lru_evicts_the_least_recently_recorded),
        cmocka_unit_test(test_entries_waiting_for_a_write_are_never_evicted),
        cmocka_unit_test(test_a_full_queue_drops_and_counts),
        cmocka_unit_test(test_a_patch_of_a_vanished_event_creates_it_again),
        cmocka_unit_test(test_a_name_taken_by_someone_else_is_replaced),
        cmocka_unit_test(test_a_failed_create_is_retried_by_the_next_repeat),
        cmocka_unit_test(test_event_names),
        cmocka_unit_test(test_names_are_unique_within_a_recorder),
        cmocka_unit_test(test_notes_are_cut_on_a_character_boundary_and_made_utf8),
        cmocka_unit_test(test_record_checks_its_arguments),
        cmocka_unit_test(test_cluster_scoped_objects_get_events_in_default),
        cmocka_unit_test(test_core_v1_events_carry_count_and_timestamps),
        cmocka_unit_test(test_time_formats),
        cmocka_unit_test(test_the_worker_writes_and_flush_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
