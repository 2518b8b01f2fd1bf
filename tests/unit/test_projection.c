/* Unit tests for kube/projection: what an object keeps, the three response shapes (object, List,
 * watch stream), independence from chunk boundaries, caps, malformed input and references.
 * Test data: tests/data/kube/ (pod.json, podlist.json, watch.jsonl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/projection.h"
#include "util/fileio.h"
#include "util/strbuf.h"

enum { P_PHASE, P_CONDITIONS, P_NODE, P_CONTAINER_STATUSES, P_OWNERS, P_MESSAGE, P_COUNT };
static const char *const pod_paths[P_COUNT] = {
    "status.phase",
    "status.conditions",
    "spec.nodeName",
    "status.containerStatuses",
    "metadata.ownerReferences",
    "status.message",
};

static struct krc_projection *pod_projection(void)
{
    struct krc_projection *p = NULL;
    struct krc_error err;
    int rc = krc_projection_new(pod_paths, P_COUNT, NULL, &p, &err);
    if (rc != 0)
        fail_msg("projection: %s", err.msg);
    return p;
}

static void load(const char *name, struct krc_strbuf *out)
{
    char path[1024];
    struct krc_error err;
    const char *dir = getenv("KRC_TESTDATA");
    snprintf(path, sizeof(path), "%s/kube/%s", dir ? dir : "tests/data", name);
    if (krc_file_read(path, 1 << 20, out, &err) != 0)
        fail_msg("%s", err.msg);
}

/* Everything an object holds, as one string, so two objects compare with one assertion. */
static void describe(const struct krc_object *o, size_t npaths, struct krc_strbuf *sb)
{
    const char *k, *v;
    krc_strbuf_addf(sb, "%s/%s uid=%s rv=%s gen=%lld del=%s owner=%s/%s/%s labels=",
                    krc_object_namespace(o), krc_object_name(o), krc_object_uid(o),
                    krc_object_resource_version(o), krc_object_generation(o),
                    krc_object_deletion_timestamp(o) ? krc_object_deletion_timestamp(o) : "-",
                    krc_object_controller_kind(o) ? krc_object_controller_kind(o) : "-",
                    krc_object_controller_name(o) ? krc_object_controller_name(o) : "-",
                    krc_object_controller_uid(o) ? krc_object_controller_uid(o) : "-");
    for (size_t i = 0; krc_object_label_at(o, i, &k, &v) == 0; i++)
        krc_strbuf_addf(sb, "%s=%s,", k, v);
    for (size_t i = 0; i < npaths; i++) {
        size_t len = 0;
        const char *j = krc_object_path(o, i, &len);
        krc_strbuf_addf(sb, " [%zu]=", i);
        if (j)
            krc_strbuf_add(sb, j, len);
        else
            krc_strbuf_adds(sb, "<absent>");
    }
    krc_strbuf_addch(sb, '\n');
}

/* ---- collecting what a parser emits ---- */

struct collect {
    size_t npaths;
    struct krc_strbuf text; /* describe() of every item or event */
    size_t count;
    int stop_at; /* return KRC_ECANCELED from the callback for this item (1-based); 0 = never */
    struct krc_watch_event last_error;
    char reason[64], message[256];
};

static int on_item(void *ctx, struct krc_object *obj, struct krc_error *err)
{
    struct collect *c = ctx;
    c->count++;
    describe(obj, c->npaths, &c->text);
    krc_object_unref(obj);
    if (c->stop_at && (int)c->count == c->stop_at)
        return krc_error_set(err, KRC_ECANCELED, "stopped at item %zu", c->count);
    return 0;
}

static int on_event(void *ctx, const struct krc_watch_event *ev, struct krc_error *err)
{
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    struct collect *c = ctx;
    (void)err;
    c->count++;
    krc_strbuf_addf(&c->text, "%s ", names[ev->type]);
    if (ev->type == KRC_WATCH_ERROR) {
        assert_null(ev->object);
        krc_strbuf_addf(&c->text, "code=%d reason=%s message=%s\n", ev->code, ev->reason,
                        ev->message);
        return 0;
    }
    describe(ev->object, c->npaths, &c->text);
    krc_object_unref(ev->object);
    return 0;
}

/* Parses data in chunks of chunk bytes (0 = whole) and returns the parser's result code. */
static int parse_chunked(const struct krc_projection *p, enum krc_projection_mode mode,
                         const char *data, size_t len, size_t chunk, struct collect *c,
                         struct krc_strbuf *list_meta, struct krc_error *err)
{
    struct krc_projection_parser *ps = NULL;
    int rc = krc_projection_parser_new(p, mode, on_item, on_event, c, &ps, err);
    if (rc)
        return rc;
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t off = 0; rc == 0 && off < len; off += chunk)
        rc = krc_projection_parser_feed(ps, data + off, len - off < chunk ? len - off : chunk, err);
    if (rc == 0)
        rc = krc_projection_parser_finish(ps, err);
    if (rc == 0 && list_meta)
        krc_strbuf_addf(list_meta, "rv=%s continue=%s",
                        krc_projection_parser_list_resource_version(ps),
                        krc_projection_parser_list_continue(ps));
    if (rc == 0 && mode == KRC_PROJECTION_OBJECT) {
        struct krc_object *o = krc_projection_parser_take(ps);
        describe(o, c->npaths, &c->text);
        krc_object_unref(o);
    }
    krc_projection_parser_free(ps);
    return rc;
}

/* ---- one object ---- */

static void test_object_keeps_fixed_metadata_and_declared_paths_only(void **state)
{
    (void)state;
    struct krc_projection *p = pod_projection();
    struct krc_strbuf json = KRC_STRBUF_INIT;
    struct krc_object *o = NULL;
    struct krc_error err;
    size_t len;

    load("pod.json", &json);
    assert_int_equal(krc_projection_parse_object(p, json.buf, json.len, &o, &err), 0);
    assert_string_equal(krc_object_name(o), "raycluster-sample-head-x7k2p");
    assert_string_equal(krc_object_namespace(o), "ray-system");
    assert_string_equal(krc_object_uid(o), "5f0c7c52-3a55-4a3e-9c1e-0d6f4b1c2a10");
    assert_string_equal(krc_object_resource_version(o), "48213");
    assert_int_equal(krc_object_generation(o), 3);
    assert_null(krc_object_deletion_timestamp(o));
    assert_string_equal(krc_object_controller_uid(o), "a3c1e5f7-0b2d-4e6f-8a9c-1b3d5f7e9a0c");
    assert_string_equal(krc_object_controller_kind(o), "RayCluster");
    assert_string_equal(krc_object_controller_name(o), "raycluster-sample");
    assert_int_equal(krc_object_label_count(o), 4);
    assert_string_equal(krc_object_label(o, "ray.io/cluster"), "raycluster-sample");
    assert_string_equal(krc_object_label(o, "ray.io/group"), "headgroup");
    assert_null(krc_object_label(o, "ray.io/missing"));

    assert_string_equal(krc_object_path(o, P_PHASE, &len), "\"Running\"");
    assert_int_equal(len, 9);
    assert_string_equal(krc_object_path(o, P_NODE, NULL), "\"kwok-node-0\"");
    assert_string_equal(
        krc_object_path(o, P_CONDITIONS, NULL),
        "[{\"type\":\"Initialized\",\"status\":\"True\",\"lastProbeTime\":null,"
        "\"lastTransitionTime\":\"2025-01-10T08:15:02Z\"},{\"type\":\"Ready\",\"status\":\"True\","
        "\"lastProbeTime\":null,\"lastTransitionTime\":\"2025-01-10T08:15:09Z\"}]");
    assert_string_equal(krc_object_path(o, P_CONTAINER_STATUSES, NULL),
                        "[{\"name\":\"ray-head\",\"ready\":true,\"restartCount\":0,\"image\":"
                        "\"rayproject/ray:2.52.0\",\"state\":{\"running\":{\"startedAt\":"
                        "\"2025-01-10T08:15:08Z\"}}}]");
    assert_null(krc_object_path(o, P_MESSAGE, NULL)); /* not in the document */
    assert_null(krc_object_path(o, P_COUNT, NULL));   /* out of range */

    /* Undeclared parts (annotations, managedFields, the container spec) are not kept: the object
     * is a fraction of the document. */
    if (krc_object_size(o) > json.len / 2)
        fail_msg("object of %zu bytes from a document of %zu", krc_object_size(o), json.len);
    krc_object_unref(o);
    krc_strbuf_release(&json);
    krc_projection_free(p);
}

static void test_declared_path_parses_with_jansson(void **state)
{
    (void)state;
    struct krc_projection *p = pod_projection();
    struct krc_strbuf json = KRC_STRBUF_INIT;
    struct krc_object *o = NULL;
    struct krc_error err;
    json_t *v = NULL;

    load("pod.json", &json);
    assert_int_equal(krc_projection_parse_object(p, json.buf, json.len, &o, &err), 0);
    assert_int_equal(krc_object_path_json(o, P_OWNERS, &v, &err), 0);
    assert_true(json_is_array(v));
    assert_int_equal(json_array_size(v), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 1), "kind")),
                        "RayCluster");
    assert_true(json_is_true(json_object_get(json_array_get(v, 1), "controller")));
    json_decref(v);
    assert_int_equal(krc_object_path_json(o, P_MESSAGE, &v, &err), 0);
    assert_null(v); /* absent: no value, no error */
    krc_object_unref(o);
    krc_strbuf_release(&json);
    krc_projection_free(p);
}

static void test_labels_and_annotations_when_declared(void **state)
{
    (void)state;
    static const char *const paths[] = {"metadata.labels", "metadata.annotations"};
    struct krc_projection *p = NULL;
    struct krc_strbuf json = KRC_STRBUF_INIT;
    struct krc_object *o = NULL;
    struct krc_error err;

    assert_int_equal(krc_projection_new(paths, 2, NULL, &p, &err), 0);
    load("pod.json", &json);
    assert_int_equal(krc_projection_parse_object(p, json.buf, json.len, &o, &err), 0);
    /* labels are both pairs (for indexes and selectors) and JSON (as declared) */
    assert_string_equal(krc_object_label(o, "ray.io/node-type"), "head");
    assert_string_equal(krc_object_path(o, 0, NULL),
                        "{\"app.kubernetes.io/created-by\":\"kuberay-operator\","
                        "\"ray.io/cluster\":\"raycluster-sample\",\"ray.io/node-type\":\"head\","
                        "\"ray.io/group\":\"headgroup\"}");
    /* the server's HTML-safe escapes come back as plain characters, still valid JSON */
    assert_string_equal(krc_object_path(o, 1, NULL),
                        "{\"ray.io/ft-enabled\":\"false\",\"note\":\"<b>bold</b> & more\"}");
    krc_object_unref(o);
    krc_strbuf_release(&json);
    krc_projection_free(p);
}

/* Dropped members: kubectl's last-applied-configuration (a scalar), a container member, first,
 * middle and last positions (the commas), a same-named key deeper down or in another path kept,
 * and chunked input changes nothing. */
static void test_dropped_members_are_left_out(void **state)
{
    (void)state;
    static const char *const paths[] = {"metadata.annotations", "spec"};
    static const struct {
        const char *json, *annotations, *spec;
    } cases[] = {
        {"{\"metadata\":{\"name\":\"a\",\"annotations\":{\"" KRC_LAST_APPLIED_ANNOTATION
         "\":\"{\\\"big\\\":1}\",\"keep\":\"x\"}},\"spec\":{\"drop\":1}}",
         "{\"keep\":\"x\"}", "{\"drop\":1}"},
        {"{\"metadata\":{\"annotations\":{\"a\":\"1\",\"" KRC_LAST_APPLIED_ANNOTATION
         "\":\"v\",\"b\":\"2\"}}}",
         "{\"a\":\"1\",\"b\":\"2\"}", NULL},
        {"{\"metadata\":{\"annotations\":{\"a\":\"1\",\"" KRC_LAST_APPLIED_ANNOTATION
         "\":{\"x\":[1,{\"y\":null}],\"z\":{}}}}}",
         "{\"a\":\"1\"}", NULL},
        {"{\"metadata\":{\"annotations\":{\"" KRC_LAST_APPLIED_ANNOTATION "\":[]}}}", "{}", NULL},
        {"{\"metadata\":{\"annotations\":{\"m\":{\"" KRC_LAST_APPLIED_ANNOTATION "\":\"deep\"}}}}",
         "{\"m\":{\"" KRC_LAST_APPLIED_ANNOTATION "\":\"deep\"}}", NULL},
        {"{\"metadata\":{\"annotations\":\"not a map\"},\"spec\":{\"drop\":{\"a\":[]},"
         "\"k\":true}}",
         "\"not a map\"", "{\"k\":true}"},
    };
    struct krc_projection *p = NULL;
    struct krc_error err;
    struct krc_projection_drop d1 = {0, KRC_LAST_APPLIED_ANNOTATION}, d2 = {1, "drop"};

    assert_int_equal(krc_projection_new(paths, 2, NULL, &p, &err), 0);
    assert_int_equal(krc_projection_drop_member(p, &d1, &err), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (i == 1) /* path 1 keeps its "drop" member in the first case only */
            assert_int_equal(krc_projection_drop_member(p, &d2, &err), 0);
        for (size_t chunk = 0; chunk < 8; chunk += 7) {
            struct krc_projection_parser *ps = NULL;
            const char *js = cases[i].json;
            assert_int_equal(
                krc_projection_parser_new(p, KRC_PROJECTION_OBJECT, NULL, NULL, NULL, &ps, &err),
                0);
            size_t len = strlen(js), step = chunk ? chunk : len;
            for (size_t off = 0; off < len; off += step)
                assert_int_equal(krc_projection_parser_feed(
                                     ps, js + off, len - off < step ? len - off : step, &err),
                                 0);
            assert_int_equal(krc_projection_parser_finish(ps, &err), 0);
            struct krc_object *o = krc_projection_parser_take(ps);
            assert_non_null(o);
            assert_string_equal(krc_object_path(o, 0, NULL), cases[i].annotations);
            if (cases[i].spec)
                assert_string_equal(krc_object_path(o, 1, NULL), cases[i].spec);
            else
                assert_null(krc_object_path(o, 1, NULL));
            json_t *v = NULL;
            assert_int_equal(krc_object_path_json(o, 0, &v, &err), 0); /* still valid JSON */
            json_decref(v);
            krc_object_unref(o);
            krc_projection_parser_free(ps);
        }
    }
    struct krc_projection_drop bad = {2, "x"}, empty = {0, ""};
    assert_int_equal(krc_projection_drop_member(p, &bad, &err), KRC_EINVAL);
    assert_int_equal(krc_projection_drop_member(p, &empty, &err), KRC_EINVAL);
    krc_projection_free(p);
}

static void test_label_values_that_are_not_strings_are_ignored(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"1\",\"b\":2,\"c\":{\"d\":\"e\"},"
        "\"f\":null,\"g\":\"7\"}}}";
    struct krc_projection *p = pod_projection();
    struct krc_object *o = NULL;
    struct krc_error err;
    const char *k, *v;

    assert_int_equal(krc_projection_parse_object(p, doc, strlen(doc), &o, &err), 0);
    assert_int_equal(krc_object_label_count(o), 2);
    assert_int_equal(krc_object_label_at(o, 1, &k, &v), 0);
    assert_string_equal(k, "g");
    assert_string_equal(v, "7");
    assert_null(krc_object_label(o, "b"));
    assert_int_equal(krc_object_label_at(o, 2, &k, &v), KRC_EINVAL);
    krc_object_unref(o);
    krc_projection_free(p);
}

static void test_object_without_controller_owner_has_none(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"metadata\":{\"name\":\"x\",\"ownerReferences\":[{\"kind\":\"A\",\"name\":\"a\","
        "\"uid\":\"ua\",\"controller\":false},{\"kind\":\"B\",\"name\":\"b\",\"uid\":\"ub\"}]}}";
    struct krc_projection *p = pod_projection();
    struct krc_object *o = NULL;
    struct krc_error err;

    assert_int_equal(krc_projection_parse_object(p, doc, strlen(doc), &o, &err), 0);
    assert_null(krc_object_controller_uid(o));
    assert_null(krc_object_controller_kind(o));
    assert_string_equal(krc_object_namespace(o), ""); /* cluster-scoped */
    assert_string_equal(krc_object_uid(o), "");
    krc_object_unref(o);
    krc_projection_free(p);
}

static void test_numbers_are_kept_verbatim(void **state)
{
    (void)state;
    static const char *const paths[] = {"spec"};
    static const char doc[] = "{\"metadata\":{\"name\":\"n\",\"generation\":9007199254740993},"
                              "\"spec\":{\"big\":123456789012345678901234567890,\"f\":-1.5e-3,"
                              "\"z\":0,\"a\":[],\"o\":{},\"t\":true,\"n\":null}}";
    struct krc_projection *p = NULL;
    struct krc_object *o = NULL;
    struct krc_error err;

    assert_int_equal(krc_projection_new(paths, 1, NULL, &p, &err), 0);
    assert_int_equal(krc_projection_parse_object(p, doc, strlen(doc), &o, &err), 0);
    assert_int_equal(krc_object_generation(o), 9007199254740993LL);
    assert_string_equal(krc_object_path(o, 0, NULL),
                        "{\"big\":123456789012345678901234567890,\"f\":-1.5e-3,\"z\":0,\"a\":[],"
                        "\"o\":{},\"t\":true,\"n\":null}");
    krc_object_unref(o);
    krc_projection_free(p);
}

static void test_unicode_escapes_decode_and_reencode(void **state)
{
    (void)state;
    static const char *const paths[] = {"data"};
    static const char doc[] =
        "{\"metadata\":{\"name\":\"caf\\u00e9\",\"labels\":{\"emoji\":\"\\ud83d\\ude00\"}},"
        "\"data\":{\"k\\\"ey\":\"line\\nnext\\ttab\\u0001\\u001f\\\\ \\/ \\u00e9\\ud83d\\ude00\"}}";
    struct krc_projection *p = NULL;
    struct krc_object *o = NULL;
    struct krc_error err;
    json_t *v = NULL;

    assert_int_equal(krc_projection_new(paths, 1, NULL, &p, &err), 0);
    assert_int_equal(krc_projection_parse_object(p, doc, strlen(doc), &o, &err), 0);
    assert_string_equal(krc_object_name(o), "caf\xc3\xa9");
    assert_string_equal(krc_object_label(o, "emoji"), "\xf0\x9f\x98\x80");
    assert_string_equal(
        krc_object_path(o, 0, NULL),
        "{\"k\\\"ey\":\"line\\nnext\\ttab\\u0001\\u001f\\\\ / \xc3\xa9\xf0\x9f\x98\x80\"}");
    assert_int_equal(krc_object_path_json(o, 0, &v, &err), 0);
    assert_string_equal(json_string_value(json_object_get(v, "k\"ey")),
                        "line\nnext\ttab\x01\x1f\\ / \xc3\xa9\xf0\x9f\x98\x80");
    json_decref(v);
    krc_object_unref(o);
    krc_projection_free(p);
}

static void test_nul_escape_in_kept_value_survives_and_in_name_is_rejected(void **state)
{
    (void)state;
    static const char *const paths[] = {"data"};
    static const char ok[] = "{\"metadata\":{\"name\":\"n\"},\"data\":\"a\\u0000b\"}";
    static const char bad[] = "{\"metadata\":{\"name\":\"a\\u0000b\"}}";
    struct krc_projection *p = NULL;
    struct krc_object *o = NULL;
    struct krc_error err;

    assert_int_equal(krc_projection_new(paths, 1, NULL, &p, &err), 0);
    assert_int_equal(krc_projection_parse_object(p, ok, strlen(ok), &o, &err), 0);
    assert_string_equal(krc_object_path(o, 0, NULL), "\"a\\u0000b\"");
    krc_object_unref(o);
    assert_int_equal(krc_projection_parse_object(p, bad, strlen(bad), &o, &err), KRC_EINVAL);
    assert_null(o);
    assert_non_null(strstr(err.msg, "metadata.name contains a NUL"));
    krc_projection_free(p);
}

/* ---- lists ---- */

static void test_list_emits_items_in_order_with_list_metadata(void **state)
{
    (void)state;
    struct krc_projection *p = pod_projection();
    struct krc_strbuf json = KRC_STRBUF_INIT, meta = KRC_STRBUF_INIT;
    struct collect c = {.npaths = P_COUNT, .text = KRC_STRBUF_INIT};
    struct krc_error err;

    load("podlist.json", &json);
    assert_int_equal(parse_chunked(p, KRC_PROJECTION_LIST, json.buf, json.len, 0, &c, &meta, &err),
                     0);
    assert_int_equal(c.count, 3);
    assert_string_equal(meta.buf, "rv=90210 continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6OTAyMTAs"
                                  "InN0YXJ0IjoidzEifQ");
    assert_string_equal(
        c.text.buf,
        "default/w0 uid=u-0 rv=101 gen=0 del=- owner=RayCluster/c1/owner-c1 "
        "labels=ray.io/cluster=c1,ray.io/node-type=worker, [0]=\"Pending\" "
        "[1]=[{\"type\":\"PodScheduled\",\"status\":\"True\"}] [2]=\"n0\" [3]=<absent> "
        "[4]=[{\"apiVersion\":\"ray.io/v1\",\"kind\":\"RayCluster\",\"name\":\"c1\",\"uid\":"
        "\"owner-c1\",\"controller\":true}] [5]=<absent>\n"
        "default/w1 uid=u-1 rv=102 gen=0 del=2025-01-10T09:00:00Z owner=-/-/- "
        "labels=ray.io/cluster=c1, [0]=\"Running\" [1]=<absent> [2]=<absent> [3]=<absent> "
        "[4]=<absent> [5]=<absent>\n"
        "other/h2 uid=u-2 rv=103 gen=0 del=- owner=-/-/- labels= [0]=\"Succeeded\" [1]=<absent> "
        "[2]=<absent> [3]=<absent> [4]=<absent> "
        "[5]=\"tab\\there, quote \\\" backslash \\\\ nul \\u0000 end\"\n");
    krc_strbuf_release(&c.text);
    krc_strbuf_release(&meta);
    krc_strbuf_release(&json);
    krc_projection_free(p);
}

static void test_chunk_boundaries_do_not_change_the_result(void **state)
{
    (void)state;
    static const size_t chunks[] = {1, 2, 3, 5, 7, 13, 64, 1000};
    static const struct {
        const char *file;
        enum krc_projection_mode mode;
    } docs[] = {
        {"pod.json", KRC_PROJECTION_OBJECT},
        {"podlist.json", KRC_PROJECTION_LIST},
        {"watch.jsonl", KRC_PROJECTION_WATCH},
    };
    struct krc_projection *p = pod_projection();
    struct krc_error err;

    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        struct krc_strbuf json = KRC_STRBUF_INIT;
        struct collect whole = {.npaths = P_COUNT, .text = KRC_STRBUF_INIT};
        load(docs[d].file, &json);
        assert_int_equal(parse_chunked(p, docs[d].mode, json.buf, json.len, 0, &whole, NULL, &err),
                         0);
        assert_true(whole.text.len > 0);
        for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
            struct collect c = {.npaths = P_COUNT, .text = KRC_STRBUF_INIT};
            int rc = parse_chunked(p, docs[d].mode, json.buf, json.len, chunks[i], &c, NULL, &err);
            if (rc != 0)
                fail_msg("%s in chunks of %zu: %s", docs[d].file, chunks[i], err.msg);
            if (strcmp(c.text.buf, whole.text.buf) != 0)
                fail_msg("%s in chunks of %zu differs:\n%s\nvs whole:\n%s", docs[d].file, chunks[i],
                         c.text.buf, whole.text.buf);
            krc_strbuf_release(&c.text);
        }
        krc_strbuf_release(&whole.text);
        krc_strbuf_release(&json);
    }
    krc_projection_free(p);
}

static void test_parser_reset_reads_the_next_page(void **state)
{
    (void)state;
    static const char page1[] = "{\"metadata\":{\"resourceVersion\":\"5\",\"continue\":\"c1\"},"
                                "\"items\":[{\"metadata\":{\"name\":\"a\"}}]}";
    static const char page2[] =
        "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"metadata\":"
        "{\"name\":\"b\"}},{\"metadata\":{\"name\":\"c\"}}]}";
    struct krc_projection *p = pod_projection();
    struct krc_projection_parser *ps = NULL;
    struct collect c = {.npaths = 0, .text = KRC_STRBUF_INIT};
    struct krc_error err;

    assert_int_equal(
        krc_projection_parser_new(p, KRC_PROJECTION_LIST, on_item, NULL, &c, &ps, &err), 0);
    assert_int_equal(krc_projection_parser_feed(ps, page1, strlen(page1), &err), 0);
    assert_int_equal(krc_projection_parser_finish(ps, &err), 0);
    assert_string_equal(krc_projection_parser_list_continue(ps), "c1");
    assert_int_equal(krc_projection_parser_reset(ps, &err), 0);
    assert_int_equal(krc_projection_parser_offset(ps), 0);
    assert_int_equal(krc_projection_parser_feed(ps, page2, strlen(page2), &err), 0);
    assert_int_equal(krc_projection_parser_finish(ps, &err), 0);
    assert_string_equal(krc_projection_parser_list_continue(ps), "");
    assert_string_equal(krc_projection_parser_list_resource_version(ps), "5");
    assert_int_equal(c.count, 3);
    assert_string_equal(c.text.buf, "/a uid= rv= gen=0 del=- owner=-/-/- labels=\n"
                                    "/b uid= rv= gen=0 del=- owner=-/-/- labels=\n"
                                    "/c uid= rv= gen=0 del=- owner=-/-/- labels=\n");
    krc_projection_parser_free(ps);
    krc_strbuf_release(&c.text);
    krc_projection_free(p);
}

static void test_callback_error_stops_the_parse_for_good(void **state)
{
    (void)state;
    struct krc_projection *p = pod_projection();
    struct krc_projection_parser *ps = NULL;
    struct krc_strbuf json = KRC_STRBUF_INIT;
    struct collect c = {.npaths = P_COUNT, .text = KRC_STRBUF_INIT, .stop_at = 2};
    struct krc_error err;

    load("podlist.json", &json);
    assert_int_equal(
        krc_projection_parser_new(p, KRC_PROJECTION_LIST, on_item, NULL, &c, &ps, &err), 0);
    assert_int_equal(krc_projection_parser_feed(ps, json.buf, json.len, &err), KRC_ECANCELED);
    assert_string_equal(err.msg, "stopped at item 2");
    assert_int_equal(c.count, 2);
    assert_int_equal(krc_projection_parser_feed(ps, "x", 1, &err), KRC_ECANCELED);
    assert_int_equal(krc_projection_parser_finish(ps, &err), KRC_ECANCELED);
    assert_int_equal(c.count, 2);
    krc_projection_parser_free(ps);
    krc_strbuf_release(&c.text);
    krc_strbuf_release(&json);
    krc_projection_free(p);
}

/* ---- watch streams ---- */

static void test_watch_stream_delivers_every_event_type(void **state)
{
    (void)state;
    struct krc_projection *p = pod_projection();
    struct krc_strbuf json = KRC_STRBUF_INIT;
    struct collect c = {.npaths = 1, .text = KRC_STRBUF_INIT};
    struct krc_error err;

    load("watch.jsonl", &json);
    assert_int_equal(parse_chunked(p, KRC_PROJECTION_WATCH, json.buf, json.len, 1, &c, NULL, &err),
                     0);
    assert_int_equal(c.count, 5);
    assert_string_equal(
        c.text.buf,
        "ADDED default/p1 uid=u-p1 rv=200 gen=0 del=- owner=-/-/- labels=ray.io/cluster=c1, "
        "[0]=\"Pending\"\n"
        "MODIFIED default/p1 uid=u-p1 rv=201 gen=0 del=- owner=-/-/- labels=ray.io/cluster=c1, "
        "[0]=\"Running\"\n"
        "BOOKMARK / uid= rv=250 gen=0 del=- owner=-/-/- labels= [0]=<absent>\n"
        "DELETED default/p1 uid=u-p1 rv=260 gen=0 del=- owner=-/-/- labels= [0]=\"Running\"\n"
        "ERROR code=410 reason=Expired message=too old resource version: 1 (270)\n");
    krc_strbuf_release(&c.text);
    krc_strbuf_release(&json);
    krc_projection_free(p);
}

static void test_watch_stream_ends_cleanly_between_events_only(void **state)
{
    (void)state;
    static const struct {
        const char *input;
        int rc;
        size_t events;
    } cases[] = {
        {"", 0, 0},
        {"\n\r\n  ", 0, 0},
        {"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n", 0, 1},
        {"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n{\"ty",
         KRC_EINVAL, 1},
        {"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":", KRC_EINVAL, 0},
    };
    struct krc_projection *p = pod_projection();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct collect c = {.npaths = 0, .text = KRC_STRBUF_INIT};
        struct krc_error err = {0};
        int rc = parse_chunked(p, KRC_PROJECTION_WATCH, cases[i].input, strlen(cases[i].input), 0,
                               &c, NULL, &err);
        if (rc != cases[i].rc || c.count != cases[i].events)
            fail_msg("case %zu: rc %d (%s), %zu events; want rc %d, %zu events", i, rc, err.msg,
                     c.count, cases[i].rc, cases[i].events);
        krc_strbuf_release(&c.text);
    }
    krc_projection_free(p);
}

static void test_malformed_watch_events_are_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *input;
        const char *msg;
    } cases[] = {
        {"{\"type\":\"SURPRISE\",\"object\":{}}", "unknown type \"SURPRISE\""},
        {"{\"object\":{\"metadata\":{\"name\":\"a\"}}}", "without a type"},
        {"{\"type\":\"ADDED\"}", "without an object"},
        {"{\"type\":\"ADDED\",\"object\":null}", "expected an object"},
        {"{\"type\":\"ADDED\",\"object\":[]}", "expected an object, found an array"},
        {"[1]", "expected an object, found an array"},
        {"42", "expected an object"},
    };
    struct krc_projection *p = pod_projection();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct collect c = {.npaths = 0, .text = KRC_STRBUF_INIT};
        struct krc_error err = {0};
        int rc = parse_chunked(p, KRC_PROJECTION_WATCH, cases[i].input, strlen(cases[i].input), 0,
                               &c, NULL, &err);
        if (rc != KRC_EINVAL || !strstr(err.msg, cases[i].msg) || !strstr(err.msg, "at byte"))
            fail_msg("case %zu: rc %d, message \"%s\"; want KRC_EINVAL and \"%s\"", i, rc, err.msg,
                     cases[i].msg);
        assert_int_equal(c.count, 0);
        krc_strbuf_release(&c.text);
    }
    krc_projection_free(p);
}

/* ---- hostile input ---- */

static void test_malformed_json_is_einval_with_position(void **state)
{
    (void)state;
    static const struct {
        enum krc_projection_mode mode;
        const char *input;
        const char *pos; /* "at byte N" expected in the message */
    } cases[] = {
        {KRC_PROJECTION_OBJECT, "{", "at byte 1"},
        {KRC_PROJECTION_OBJECT, "", "at byte 0"},
        {KRC_PROJECTION_OBJECT, "{\"a\":}", "at byte 6"}, /* just past the bad token */
        {KRC_PROJECTION_OBJECT, "{\"a\":1,}", "at byte"},
        {KRC_PROJECTION_OBJECT, "not json", "at byte"},
        {KRC_PROJECTION_OBJECT, "{\"a\":\"\xff\"}", "at byte"},
        {KRC_PROJECTION_OBJECT, "{} {}", "at byte"},
        {KRC_PROJECTION_OBJECT, "[]", "at byte 1"},
        {KRC_PROJECTION_OBJECT, "{\"a\":tru}", "at byte"},
        {KRC_PROJECTION_LIST, "{\"items\":{}}", "at byte 10"},
        {KRC_PROJECTION_LIST, "{\"items\":[1]}", "at byte"},
        {KRC_PROJECTION_LIST, "{\"items\":[{\"metadata\":{\"name\":\"a\"}}", "at byte"},
        {KRC_PROJECTION_LIST, "{\"items\":[{]}", "at byte"},
    };
    struct krc_projection *p = pod_projection();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t chunk = 0; chunk <= 1; chunk++) {
            struct collect c = {.npaths = P_COUNT, .text = KRC_STRBUF_INIT};
            struct krc_error err = {0};
            int rc = parse_chunked(p, cases[i].mode, cases[i].input, strlen(cases[i].input), chunk,
                                   &c, NULL, &err);
            if (rc != KRC_EINVAL || !strstr(err.msg, cases[i].pos))
                fail_msg("case %zu (chunk %zu) \"%s\": rc %d, message \"%s\"; want KRC_EINVAL "
                         "\"%s\"",
                         i, chunk, cases[i].input, rc, err.msg, cases[i].pos);
            krc_strbuf_release(&c.text);
        }
    }
    krc_projection_free(p);
}

static void nest(struct krc_strbuf *sb, const char *key, size_t depth)
{
    krc_strbuf_addf(sb, "{\"metadata\":{\"name\":\"deep\"},\"%s\":", key);
    for (size_t i = 0; i < depth; i++)
        krc_strbuf_addch(sb, '[');
    for (size_t i = 0; i < depth; i++)
        krc_strbuf_addch(sb, ']');
    krc_strbuf_addch(sb, '}');
}

static void test_nesting_deeper_than_the_cap_is_rejected(void **state)
{
    (void)state;
    static const char *const paths[] = {"kept"};
    struct krc_projection_limits lim = {.max_depth = 16};
    struct krc_projection *p = NULL;
    struct krc_error err;

    assert_int_equal(krc_projection_new(paths, 1, &lim, &p, &err), 0);
    for (int kept = 0; kept <= 1; kept++) {
        struct krc_strbuf ok = KRC_STRBUF_INIT, deep = KRC_STRBUF_INIT, huge = KRC_STRBUF_INIT;
        struct collect c = {.npaths = 1, .text = KRC_STRBUF_INIT};
        const char *key = kept ? "kept" : "other";
        nest(&ok, key, 15); /* the object's own map is level 1 */
        nest(&deep, key, 16);
        nest(&huge, key, 100000);
        assert_int_equal(parse_chunked(p, KRC_PROJECTION_OBJECT, ok.buf, ok.len, 1, &c, NULL, &err),
                         0);
        assert_int_equal(
            parse_chunked(p, KRC_PROJECTION_OBJECT, deep.buf, deep.len, 1, &c, NULL, &err),
            KRC_ETOOLARGE);
        assert_non_null(strstr(err.msg, "deeper than 16 levels at byte"));
        assert_int_equal(
            parse_chunked(p, KRC_PROJECTION_OBJECT, huge.buf, huge.len, 0, &c, NULL, &err),
            KRC_ETOOLARGE);
        krc_strbuf_release(&c.text);
        krc_strbuf_release(&ok);
        krc_strbuf_release(&deep);
        krc_strbuf_release(&huge);
    }
    krc_projection_free(p);
}

static void test_value_and_token_caps(void **state)
{
    (void)state;
    static const char *const paths[] = {"kept"};
    struct krc_projection_limits lim = {.max_value = 1024};
    struct krc_projection *p = NULL;
    struct krc_object *o = NULL;
    struct krc_error err;
    struct krc_strbuf doc = KRC_STRBUF_INIT;

    assert_int_equal(krc_projection_new(paths, 1, &lim, &p, &err), 0);

    /* a kept value just under the cap is kept; one over it fails */
    krc_strbuf_adds(&doc, "{\"metadata\":{\"name\":\"n\"},\"kept\":\"");
    for (int i = 0; i < 1000; i++)
        krc_strbuf_addch(&doc, 'a');
    krc_strbuf_adds(&doc, "\"}");
    assert_int_equal(krc_projection_parse_object(p, doc.buf, doc.len, &o, &err), 0);
    assert_int_equal(strlen(krc_object_path(o, 0, NULL)), 1002);
    krc_object_unref(o);
    krc_strbuf_reset(&doc);
    krc_strbuf_adds(&doc, "{\"metadata\":{\"name\":\"n\"},\"kept\":[");
    for (int i = 0; i < 600; i++)
        krc_strbuf_adds(&doc, i ? ",1" : "1");
    krc_strbuf_adds(&doc, "]}");
    assert_int_equal(krc_projection_parse_object(p, doc.buf, doc.len, &o, &err), KRC_ETOOLARGE);
    assert_non_null(strstr(err.msg, "kept over 1024 bytes"));
    assert_null(o);

    /* an unkept string of any moderate size passes; a token far over the cap fails, even though
     * nothing keeps it, because yajl would buffer it whole */
    krc_strbuf_reset(&doc);
    krc_strbuf_adds(&doc, "{\"metadata\":{\"name\":\"n\"},\"other\":\"");
    for (int i = 0; i < 50000; i++)
        krc_strbuf_addch(&doc, 'b');
    krc_strbuf_adds(&doc, "\"}");
    assert_int_equal(krc_projection_parse_object(p, doc.buf, doc.len, &o, &err), 0);
    krc_object_unref(o);
    krc_strbuf_reset(&doc);
    krc_strbuf_adds(&doc, "{\"metadata\":{\"name\":\"n\"},\"other\":\"");
    for (int i = 0; i < 300000; i++)
        krc_strbuf_addch(&doc, 'b');
    krc_strbuf_adds(&doc, "\"}");
    assert_int_equal(krc_projection_parse_object(p, doc.buf, doc.len, &o, &err), KRC_ETOOLARGE);
    assert_non_null(strstr(err.msg, "token longer than 1024 bytes"));

    krc_strbuf_release(&doc);
    krc_projection_free(p);
}

static void test_projection_rejects_bad_paths(void **state)
{
    (void)state;
    static const struct {
        const char *paths[3];
        size_t n;
        const char *msg;
    } cases[] = {
        {{""}, 1, "is empty"},
        {{"a..b"}, 1, "empty segment"},
        {{".a"}, 1, "empty segment"},
        {{"a."}, 1, "empty segment"},
        {{"status.phase", "status.phase"}, 2, "repeats declared path \"status.phase\""},
        {{"status", "status.phase"}, 2, "lies inside declared path \"status\""},
        {{"status.phase", "status"}, 2, "another declared path lies inside it"},
        {{"spec.x", "status.y", "spec"}, 3, "another declared path lies inside it"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct krc_projection *p = (void *)1;
        struct krc_error err = {0};
        int rc = krc_projection_new(cases[i].paths, cases[i].n, NULL, &p, &err);
        if (rc != KRC_EINVAL || p || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: rc %d, message \"%s\"; want KRC_EINVAL \"%s\"", i, rc, err.msg,
                     cases[i].msg);
    }
}

static void test_projection_reports_its_paths(void **state)
{
    (void)state;
    struct krc_projection *p = pod_projection();
    assert_int_equal(krc_projection_count(p), P_COUNT);
    assert_string_equal(krc_projection_path(p, P_NODE), "spec.nodeName");
    assert_null(krc_projection_path(p, P_COUNT));
    krc_projection_free(p);
}

/* ---- references ---- */

static void test_object_outlives_parser_and_projection_until_last_unref(void **state)
{
    (void)state;
    struct krc_projection *p = pod_projection();
    struct krc_strbuf json = KRC_STRBUF_INIT;
    struct krc_object *o = NULL, *again;
    struct krc_error err;

    load("pod.json", &json);
    assert_int_equal(krc_projection_parse_object(p, json.buf, json.len, &o, &err), 0);
    krc_projection_free(p);
    krc_strbuf_release(&json);
    again = krc_object_ref(o);
    assert_ptr_equal(again, o);
    krc_object_unref(o);
    assert_string_equal(krc_object_path(again, P_PHASE, NULL), "\"Running\""); /* still alive */
    krc_object_unref(again); /* freed here; LSan reports a leak if not, ASan a double free */
    assert_null(krc_object_ref(NULL));
    krc_object_unref(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_keeps_fixed_metadata_and_declared_paths_only),
        cmocka_unit_test(test_declared_path_parses_with_jansson),
        cmocka_unit_test(test_labels_and_annotations_when_declared),
        cmocka_unit_test(test_dropped_members_are_left_out),
        cmocka_unit_test(test_label_values_that_are_not_strings_are_ignored),
        cmocka_unit_test(test_object_without_controller_owner_has_none),
        cmocka_unit_test(test_numbers_are_kept_verbatim),
        cmocka_unit_test(test_unicode_escapes_decode_and_reencode),
        cmocka_unit_test(test_nul_escape_in_kept_value_survives_and_in_name_is_rejected),
        cmocka_unit_test(test_list_emits_items_in_order_with_list_metadata),
        cmocka_unit_test(test_chunk_boundaries_do_not_change_the_result),
        cmocka_unit_test(test_parser_reset_reads_the_next_page),
        cmocka_unit_test(test_callback_error_stops_the_parse_for_good),
        cmocka_unit_test(test_watch_stream_delivers_every_event_type),
        cmocka_unit_test(test_watch_stream_ends_cleanly_between_events_only),
        cmocka_unit_test(test_malformed_watch_events_are_rejected),
        cmocka_unit_test(test_malformed_json_is_einval_with_position),
        cmocka_unit_test(test_nesting_deeper_than_the_cap_is_rejected),
        cmocka_unit_test(test_value_and_token_caps),
        cmocka_unit_test(test_projection_rejects_bad_paths),
        cmocka_unit_test(test_projection_reports_its_paths),
        cmocka_unit_test(test_object_outlives_parser_and_projection_until_last_unref),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
