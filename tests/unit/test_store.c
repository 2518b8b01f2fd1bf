/* Unit tests for kube/store: keyed access by reference, index maintenance on insert, update and
 * delete, the relist diff (added/updated/unchanged/deleted), growth, and readers running while
 * the writer works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/projection.h"
#include "kube/store.h"

#define LABEL "ray.io/cluster"

static struct krc_projection *proj;

static int setup(void **state)
{
    (void)state;
    struct krc_error err;
    return krc_projection_new(NULL, 0, NULL, &proj, &err);
}

static int teardown(void **state)
{
    (void)state;
    krc_projection_free(proj);
    return 0;
}

/* An object namespace/name at resourceVersion rv, with the index label set to cluster and a
 * controller owner of UID owner (each NULL for none). */
static struct krc_object *mk(const char *ns, const char *name, const char *rv, const char *cluster,
                             const char *owner)
{
    char doc[1024];
    struct krc_object *o = NULL;
    struct krc_error err;
    int n = snprintf(doc, sizeof(doc),
                     "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"resourceVersion\":"
                     "\"%s\",\"labels\":{\"other\":\"x\"%s%s%s},\"ownerReferences\":[%s%s%s]}}",
                     name, ns, rv, cluster ? ",\"" LABEL "\":\"" : "", cluster ? cluster : "",
                     cluster ? "\"" : "",
                     owner ? "{\"kind\":\"RayCluster\",\"name\":\"o\","
                             "\"controller\":true,\"uid\":\""
                           : "",
                     owner ? owner : "", owner ? "\"}" : "");
    assert_true(n > 0 && (size_t)n < sizeof(doc));
    if (krc_projection_parse_object(proj, doc, (size_t)n, &o, &err) != 0)
        fail_msg("%s: %s", doc, err.msg);
    return o;
}

static struct krc_store *new_store(const char *label)
{
    struct krc_store_options opts = {.index_label = label};
    struct krc_store *s = NULL;
    struct krc_error err;
    assert_int_equal(krc_store_new(&opts, &s, &err), 0);
    return s;
}

static void put(struct krc_store *s, struct krc_object *o)
{
    struct krc_error err;
    assert_int_equal(krc_store_upsert(s, o, NULL, &err), 0);
    krc_object_unref(o);
}

/* "ns/name@rv" of every object with that index key, sorted, space-separated. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *keys(struct krc_object_list *l)
{
    static char out[4096];
    char *names[64];
    size_t pos = 0;
    assert_true(l->len <= 64);
    for (size_t i = 0; i < l->len; i++) {
        names[i] = malloc(256);
        assert_non_null(names[i]);
        snprintf(names[i], 256, "%s/%s@%s", krc_object_namespace(l->items[i]),
                 krc_object_name(l->items[i]), krc_object_resource_version(l->items[i]));
    }
    qsort(names, l->len, sizeof(names[0]), cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < l->len; i++) {
        pos += (size_t)snprintf(out + pos, sizeof(out) - pos, "%s%s", i ? " " : "", names[i]);
        free(names[i]);
    }
    krc_object_list_release(l);
    return out;
}

static char *by(struct krc_store *s, enum krc_store_index idx, const char *key)
{
    struct krc_object_list l;
    struct krc_error err;
    assert_int_equal(krc_store_list_index(s, idx, key, &l, &err), 0);
    assert_int_equal(l.len, krc_store_count_index(s, idx, key));
    return keys(&l);
}

static char *all(struct krc_store *s)
{
    struct krc_object_list l;
    struct krc_error err;
    assert_int_equal(krc_store_list(s, &l, &err), 0);
    return keys(&l);
}

static void test_get_returns_a_reference_that_outlives_removal(void **state)
{
    (void)state;
    struct krc_store *s = new_store(LABEL);
    struct krc_object *o;

    put(s, mk("ns", "a", "1", NULL, NULL));
    put(s, mk("other", "a", "2", NULL, NULL)); /* same name, other namespace: another key */
    assert_int_equal(krc_store_len(s), 2);
    o = krc_store_get(s, "ns", "a");
    assert_non_null(o);
    assert_string_equal(krc_object_resource_version(o), "1");
    assert_int_equal(krc_store_delete(s, "ns", "a", NULL), 0);
    assert_null(krc_store_get(s, "ns", "a"));
    assert_string_equal(krc_object_name(o), "a"); /* the reader's reference keeps it alive */
    krc_object_unref(o);
    assert_null(krc_store_get(s, "ns", "missing"));
    assert_null(krc_store_get(s, "ns", NULL));
    assert_int_equal(krc_store_delete(s, "ns", "a", NULL), KRC_ENOTFOUND);
    assert_int_equal(krc_store_len(s), 1);
    krc_store_free(s);
}

static void test_cluster_scoped_objects_use_an_empty_namespace(void **state)
{
    (void)state;
    struct krc_store *s = new_store(NULL);
    struct krc_object *o;

    put(s, mk("", "node-1", "1", NULL, NULL));
    o = krc_store_get(s, NULL, "node-1");
    assert_non_null(o);
    krc_object_unref(o);
    assert_string_equal(by(s, KRC_STORE_BY_NAMESPACE, ""), "/node-1@1");
    krc_store_free(s);
}

static void test_upsert_hands_back_the_replaced_object(void **state)
{
    (void)state;
    struct krc_store *s = new_store(LABEL);
    struct krc_object *v2 = mk("ns", "a", "2", NULL, NULL), *old = (void *)1;
    struct krc_error err;

    assert_int_equal(krc_store_upsert(s, v2, &old, &err), 0);
    assert_null(old);
    put(s, mk("ns", "a", "1", NULL, NULL)); /* the store does not judge order: last write wins */
    assert_int_equal(krc_store_upsert(s, v2, &old, &err), 0);
    assert_string_equal(krc_object_resource_version(old), "1");
    krc_object_unref(old);
    krc_object_unref(v2);
    assert_int_equal(krc_store_len(s), 1);
    krc_store_free(s);
}

static void test_object_without_name_is_rejected(void **state)
{
    (void)state;
    struct krc_store *s = new_store(NULL);
    struct krc_object *o = mk("ns", "", "1", NULL, NULL);
    struct krc_error err;

    assert_int_equal(krc_store_upsert(s, o, NULL, &err), KRC_EINVAL);
    assert_string_equal(err.msg, "store ns/: object without a name");
    assert_int_equal(krc_store_len(s), 0);
    krc_object_unref(o);
    krc_store_free(s);
}

static void test_indexes_follow_updates_and_deletes(void **state)
{
    (void)state;
    struct krc_store *s = new_store(LABEL);

    put(s, mk("ns1", "head", "1", "c1", "uid-c1"));
    put(s, mk("ns1", "w1", "1", "c1", "uid-c1"));
    put(s, mk("ns1", "w2", "1", "c2", "uid-c2"));
    put(s, mk("ns2", "w3", "1", NULL, NULL));
    assert_string_equal(by(s, KRC_STORE_BY_NAMESPACE, "ns1"), "ns1/head@1 ns1/w1@1 ns1/w2@1");
    assert_string_equal(by(s, KRC_STORE_BY_OWNER, "uid-c1"), "ns1/head@1 ns1/w1@1");
    assert_string_equal(by(s, KRC_STORE_BY_LABEL, "c1"), "ns1/head@1 ns1/w1@1");
    assert_string_equal(by(s, KRC_STORE_BY_LABEL, "c2"), "ns1/w2@1");

    /* w1 moves to cluster c2 and owner c2; head only changes its resourceVersion */
    put(s, mk("ns1", "w1", "2", "c2", "uid-c2"));
    put(s, mk("ns1", "head", "2", "c1", "uid-c1"));
    assert_string_equal(by(s, KRC_STORE_BY_LABEL, "c1"), "ns1/head@2");
    assert_string_equal(by(s, KRC_STORE_BY_LABEL, "c2"), "ns1/w1@2 ns1/w2@1");
    assert_string_equal(by(s, KRC_STORE_BY_OWNER, "uid-c1"), "ns1/head@2");
    assert_string_equal(by(s, KRC_STORE_BY_OWNER, "uid-c2"), "ns1/w1@2 ns1/w2@1");

    /* losing the label and the owner takes it out of both indexes */
    put(s, mk("ns1", "w2", "2", NULL, NULL));
    assert_string_equal(by(s, KRC_STORE_BY_LABEL, "c2"), "ns1/w1@2");
    assert_string_equal(by(s, KRC_STORE_BY_OWNER, "uid-c2"), "ns1/w1@2");
    assert_string_equal(by(s, KRC_STORE_BY_NAMESPACE, "ns1"), "ns1/head@2 ns1/w1@2 ns1/w2@2");

    /* deleting empties and drops the groups */
    assert_int_equal(krc_store_delete(s, "ns1", "head", NULL), 0);
    assert_string_equal(by(s, KRC_STORE_BY_LABEL, "c1"), "");
    assert_string_equal(by(s, KRC_STORE_BY_OWNER, "uid-c1"), "");
    assert_int_equal(krc_store_delete(s, "ns2", "w3", NULL), 0);
    assert_string_equal(by(s, KRC_STORE_BY_NAMESPACE, "ns2"), "");
    assert_string_equal(by(s, KRC_STORE_BY_NAMESPACE, "ns1"), "ns1/w1@2 ns1/w2@2");
    assert_string_equal(all(s), "ns1/w1@2 ns1/w2@2");
    krc_store_free(s);
}

static void test_label_index_needs_a_label(void **state)
{
    (void)state;
    struct krc_store *s = new_store(NULL);
    struct krc_object_list l = {(void *)1, 1};
    struct krc_error err;

    put(s, mk("ns", "a", "1", "c1", NULL));
    assert_int_equal(krc_store_list_index(s, KRC_STORE_BY_LABEL, "c1", &l, &err), KRC_EINVAL);
    assert_null(l.items);
    assert_int_equal(l.len, 0);
    assert_int_equal(krc_store_count_index(s, KRC_STORE_BY_LABEL, "c1"), 0);
    krc_store_free(s);
}

/* One relist round over the store: the fresh list, and the changes it must report. */
static void test_replace_reports_exactly_the_difference(void **state)
{
    (void)state;
    struct krc_store *s = new_store(LABEL);
    static const struct {
        const char *name, *rv, *cluster;
        enum krc_store_change want;
        const char *old_rv;
    } fresh[] = {
        {"same", "1", "c1", KRC_STORE_UNCHANGED, NULL},
        {"changed", "7", "c2", KRC_STORE_UPDATED, "1"},
        {"new", "8", "c1", KRC_STORE_ADDED, NULL},
    };
    struct krc_object_list deleted;
    struct krc_error err;

    put(s, mk("ns", "same", "1", "c1", NULL));
    put(s, mk("ns", "changed", "1", "c1", NULL));
    put(s, mk("ns", "gone", "1", "c1", NULL));
    put(s, mk("ns", "gone-too", "3", NULL, NULL));

    krc_store_replace_begin(s);
    for (size_t i = 0; i < sizeof(fresh) / sizeof(fresh[0]); i++) {
        struct krc_object *o = mk("ns", fresh[i].name, fresh[i].rv, fresh[i].cluster, NULL);
        struct krc_object *old = (void *)1;
        enum krc_store_change ch;
        assert_int_equal(krc_store_replace_item(s, o, &ch, &old, &err), 0);
        if (ch != fresh[i].want)
            fail_msg("%s: change %d, want %d", fresh[i].name, ch, fresh[i].want);
        if (fresh[i].old_rv)
            assert_string_equal(krc_object_resource_version(old), fresh[i].old_rv);
        else
            assert_null(old);
        krc_object_unref(old);
        krc_object_unref(o);
    }
    assert_int_equal(krc_store_replace_end(s, &deleted, &err), 0);
    assert_string_equal(keys(&deleted), "ns/gone-too@3 ns/gone@1");
    assert_string_equal(all(s), "ns/changed@7 ns/new@8 ns/same@1");
    assert_string_equal(by(s, KRC_STORE_BY_LABEL, "c1"), "ns/new@8 ns/same@1");
    assert_string_equal(by(s, KRC_STORE_BY_LABEL, "c2"), "ns/changed@7");

    /* listing the same objects again reports nothing; an empty list deletes everything */
    krc_store_replace_begin(s);
    for (size_t i = 0; i < sizeof(fresh) / sizeof(fresh[0]); i++) {
        struct krc_object *o = mk("ns", fresh[i].name, fresh[i].rv, fresh[i].cluster, NULL);
        enum krc_store_change ch;
        assert_int_equal(krc_store_replace_item(s, o, &ch, NULL, &err), 0);
        assert_int_equal(ch, KRC_STORE_UNCHANGED);
        krc_object_unref(o);
    }
    assert_int_equal(krc_store_replace_end(s, &deleted, &err), 0);
    assert_int_equal(deleted.len, 0);
    krc_store_replace_begin(s);
    assert_int_equal(krc_store_replace_end(s, &deleted, &err), 0);
    assert_string_equal(keys(&deleted), "ns/changed@7 ns/new@8 ns/same@1");
    assert_int_equal(krc_store_len(s), 0);
    assert_int_equal(krc_store_count_index(s, KRC_STORE_BY_LABEL, "c1"), 0);
    krc_store_free(s);
}

static void test_abandoned_replace_round_is_finished_by_the_next(void **state)
{
    (void)state;
    struct krc_store *s = new_store(NULL);
    struct krc_object_list deleted;
    struct krc_error err;
    enum krc_store_change ch;
    struct krc_object *o;

    put(s, mk("ns", "a", "1", NULL, NULL));
    put(s, mk("ns", "b", "1", NULL, NULL));
    krc_store_replace_begin(s); /* the list fails after one item: no end */
    o = mk("ns", "a", "2", NULL, NULL);
    assert_int_equal(krc_store_replace_item(s, o, &ch, NULL, &err), 0);
    assert_int_equal(ch, KRC_STORE_UPDATED);
    krc_object_unref(o);
    /* a watch event between rounds is applied as usual */
    put(s, mk("ns", "c", "5", NULL, NULL));

    krc_store_replace_begin(s);
    o = mk("ns", "c", "5", NULL, NULL);
    assert_int_equal(krc_store_replace_item(s, o, &ch, NULL, &err), 0);
    assert_int_equal(ch, KRC_STORE_UNCHANGED);
    krc_object_unref(o);
    assert_int_equal(krc_store_replace_end(s, &deleted, &err), 0);
    assert_string_equal(keys(&deleted), "ns/a@2 ns/b@1");
    assert_string_equal(all(s), "ns/c@5");
    krc_store_free(s);
}

static void test_many_objects_survive_growth(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct krc_store *s = new_store(LABEL);
    char name[32], cluster[32];

    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "pod-%d", i);
        snprintf(cluster, sizeof(cluster), "c%d", i % 100);
        put(s, mk(i % 2 ? "odd" : "even", name, "1", cluster, NULL));
    }
    assert_int_equal(krc_store_len(s), N);
    assert_int_equal(krc_store_count_index(s, KRC_STORE_BY_NAMESPACE, "odd"), N / 2);
    assert_int_equal(krc_store_count_index(s, KRC_STORE_BY_LABEL, "c42"), N / 100);
    for (int i = 0; i < N; i += 2) {
        snprintf(name, sizeof(name), "pod-%d", i);
        assert_int_equal(krc_store_delete(s, "even", name, NULL), 0);
    }
    for (int i = 1; i < N; i += 2) {
        snprintf(name, sizeof(name), "pod-%d", i);
        struct krc_object *o = krc_store_get(s, "odd", name);
        if (!o)
            fail_msg("odd/%s lost", name);
        krc_object_unref(o);
    }
    assert_int_equal(krc_store_len(s), N / 2);
    assert_int_equal(krc_store_count_index(s, KRC_STORE_BY_NAMESPACE, "even"), 0);
    assert_int_equal(krc_store_count_index(s, KRC_STORE_BY_LABEL, "c43"), N / 100);
    assert_int_equal(krc_store_count_index(s, KRC_STORE_BY_LABEL, "c42"), 0);
    krc_store_free(s);
}

struct reader {
    struct krc_store *s;
    atomic_int stop;
    atomic_long reads;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load(&r->stop)) {
        struct krc_object_list l;
        struct krc_object *o = krc_store_get(r->s, "ns", "p-7");
        if (o) {
            if (strcmp(krc_object_name(o), "p-7") != 0)
                abort();
            krc_object_unref(o);
        }
        if (krc_store_list_index(r->s, KRC_STORE_BY_LABEL, "c", &l, NULL) == 0) {
            for (size_t i = 0; i < l.len; i++)
                if (strcmp(krc_object_label(l.items[i], LABEL), "c") != 0)
                    abort();
            krc_object_list_release(&l);
        }
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void test_readers_run_while_the_writer_churns(void **state)
{
    (void)state;
    struct reader r = {.s = new_store(LABEL)};
    pthread_t t[2];
    char name[32];

    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, read_loop, &r), 0);
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 20; i++) {
            snprintf(name, sizeof(name), "p-%d", i);
            put(r.s, mk("ns", name, round % 2 ? "2" : "1", round % 3 ? "c" : "d", NULL));
        }
        for (int i = 0; i < 20; i += 3) {
            snprintf(name, sizeof(name), "p-%d", i);
            krc_store_delete(r.s, "ns", name, NULL);
        }
    }
    /* Under valgrind threads run one at a time: let the readers overlap the churn at least a
     * little before stopping them, however the scheduler ran them so far. */
    for (int i = 0; atomic_load(&r.reads) < 2; i++) {
        snprintf(name, sizeof(name), "p-%d", i % 20);
        put(r.s, mk("ns", name, "3", "c", NULL));
        sched_yield();
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_true(atomic_load(&r.reads) >= 2);
    krc_store_free(r.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_returns_a_reference_that_outlives_removal),
        cmocka_unit_test(test_cluster_scoped_objects_use_an_empty_namespace),
        cmocka_unit_test(test_upsert_hands_back_the_replaced_object),
        cmocka_unit_test(test_object_without_name_is_rejected),
        cmocka_unit_test(test_indexes_follow_updates_and_deletes),
        cmocka_unit_test(test_label_index_needs_a_label),
        cmocka_unit_test(test_replace_reports_exactly_the_difference),
        cmocka_unit_test(test_abandoned_replace_round_is_finished_by_the_next),
        cmocka_unit_test(test_many_objects_survive_growth),
        cmocka_unit_test(test_readers_run_while_the_writer_churns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
