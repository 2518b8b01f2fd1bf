/* Integration tests of the Kubernetes client (kube/config, kube/client) against a real control
 * plane: the cluster hack/cluster.sh starts, reached through $KUBECONFIG (exit 77, "skipped",
 * without it). Each test works in a namespace of its own making and removes it; the CRD it creates
 * is deleted at the end. Nothing here is mocked: the server's answers are the specification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcd_compact.h"
#include "kube/client.h"
#include "kube/status.h"
#include "util/log.h"

#define CRD_GROUP  "itest.kuberay-c.io"
#define CRD_NAME   "widgets." CRD_GROUP
#define PAGING_N   2000
#define PAGE_LIMIT 500

static const struct krc_resource configmaps = {"", "v1", "configmaps", 1};
static const struct krc_resource namespaces = {"", "v1", "namespaces", 0};
static const struct krc_resource serviceaccounts = {"", "v1", "serviceaccounts", 1};
static const struct krc_resource crds = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                         0};
static const struct krc_resource widgets = {CRD_GROUP, "v1", "widgets", 1};
static const struct krc_resource selfsubjectreviews = {"authentication.k8s.io", "v1",
                                                       "selfsubjectreviews", 0};

static struct krc_client *client; /* unthrottled: the tests below are not about QPS */
static char ns[64];

/* ---- helpers ---- */

#define MUST(call)                                                                                 \
    do {                                                                                           \
        struct krc_error must_err_ = {0, ""};                                                      \
        struct krc_error *errp = &must_err_;                                                       \
        int must_rc_ = (call);                                                                     \
        if (must_rc_ != 0)                                                                         \
            fail_msg("%s failed: %d %s", #call, must_rc_, must_err_.msg);                          \
    } while (0)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static json_t *parse(const struct krc_strbuf *sb)
{
    json_t *doc = NULL;
    struct krc_error err = {0, ""};
    if (krc_client_parse_json(sb, &doc, &err) != 0)
        fail_msg("%s", err.msg);
    return doc;
}

static const char *jstr(json_t *doc, const char *path)
{
    /* path like "metadata.name": objects only. */
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = doc;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return json_string_value(cur);
}

/* A ConfigMap as JSON text (free() it). rv may be NULL; data pairs end with NULL. */
static char *cm_json(const char *name, const char *generate_name, const char *rv, ...)
{
    json_t *meta = json_object(), *data = json_object();
    va_list ap;
    if (name)
        json_object_set_new(meta, "name", json_string(name));
    if (generate_name)
        json_object_set_new(meta, "generateName", json_string(generate_name));
    if (rv)
        json_object_set_new(meta, "resourceVersion", json_string(rv));
    json_object_set_new(meta, "labels", json_pack("{s:s}", "krc-itest", "true"));
    va_start(ap, rv);
    for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *))
        json_object_set_new(data, k, json_string(va_arg(ap, const char *)));
    va_end(ap);
    json_t *doc = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "ConfigMap",
                            "metadata", meta, "data", data);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_non_null(s);
    return s;
}

static void create_cm(const char *namespace_, const char *name, struct krc_strbuf *out)
{
    char *body = cm_json(name, NULL, NULL, "a", "1", NULL);
    MUST(krc_client_create(client, &configmaps, namespace_, body, strlen(body), NULL, out, errp));
    free(body);
}

static void create_namespace(const char *name)
{
    char body[256];
    struct krc_strbuf out = KRC_STRBUF_INIT;
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", name);
    MUST(krc_client_create(client, &namespaces, NULL, body, strlen(body), NULL, &out, errp));
    krc_strbuf_release(&out);
}

/* Polls get until it fails with NotFound; returns how long it took, or fails the test. */
static int64_t wait_gone(const struct krc_resource *res, const char *namespace_, const char *name,
                         long timeout_ms)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int64_t start = now_ms();
    for (;;) {
        struct krc_error err = {0, ""};
        int rc = krc_client_get(client, res, namespace_, name, &out, &err);
        if (rc == KRC_ENOTFOUND)
            break;
        if (rc != 0)
            fail_msg("waiting for %s to go: %s", name, err.msg);
        if (now_ms() - start > timeout_ms)
            fail_msg("%s %s/%s still exists after %ld ms", res->resource,
                     namespace_ ? namespace_ : "", name, timeout_ms);
        sleep_ms(100);
    }
    krc_strbuf_release(&out);
    return now_ms() - start;
}

static void delete_namespace_and_wait(const char *name)
{
    struct krc_delete_opts del = {.propagation_policy = "Background"};
    struct krc_error err = {0, ""};
    int rc = krc_client_delete(client, &namespaces, NULL, name, &del, NULL, &err);
    if (rc && rc != KRC_ENOTFOUND)
        fail_msg("delete namespace %s: %s", name, err.msg);
    wait_gone(&namespaces, NULL, name, 120000);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    (void)state;
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    struct krc_client_options opts = {.qps = -1};
    if (krc_kubeconfig_load(&cfg, NULL, &err) != 0) {
        fprintf(stderr, "kubeconfig: %s\n", err.msg);
        return -1;
    }
    int rc = krc_client_new(&cfg, &opts, &client, &err);
    krc_kubeconfig_free(&cfg);
    if (rc) {
        fprintf(stderr, "client: %s\n", err.msg);
        return -1;
    }
    snprintf(ns, sizeof(ns), "krc-itest-%ld", (long)getpid());
    create_namespace(ns);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    struct krc_error err = {0, ""};
    struct krc_delete_opts del = {.propagation_policy = "Background"};
    krc_client_delete(client, &crds, NULL, CRD_NAME, NULL, NULL, &err);
    krc_client_delete(client, &namespaces, NULL, ns, &del, NULL, &err);
    krc_client_free(client);
    return 0;
}

/* ---- ConfigMap CRUD and typed errors ---- */

static void test_configmap_create_get_update_list_delete(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};

    create_cm(ns, "crud", &out);
    json_t *created = parse(&out);
    assert_string_equal(jstr(created, "metadata.name"), "crud");
    assert_string_equal(jstr(created, "metadata.namespace"), ns);

    MUST(krc_client_get(client, &configmaps, ns, "crud", &out, errp));
    json_t *got = parse(&out);
    assert_string_equal(jstr(got, "data.a"), "1");
    assert_string_equal(jstr(got, "metadata.uid"), jstr(created, "metadata.uid"));

    /* PUT with the current resourceVersion. */
    char *body = cm_json("crud", NULL, jstr(got, "metadata.resourceVersion"), "a", "2", NULL);
    MUST(krc_client_update(client, &configmaps, ns, "crud", body, strlen(body), NULL, &out, errp));
    free(body);
    json_t *updated = parse(&out);
    assert_string_equal(jstr(updated, "data.a"), "2");
    assert_string_not_equal(jstr(updated, "metadata.resourceVersion"),
                            jstr(got, "metadata.resourceVersion"));

    /* List in the namespace by label, and across all namespaces by field selector. */
    struct krc_list_opts lo = {.label_selector = "krc-itest=true"};
    MUST(krc_client_list(client, &configmaps, ns, &lo, &out, errp));
    json_t *list = parse(&out);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    char fs[128];
    snprintf(fs, sizeof(fs), "metadata.namespace=%s,metadata.name=crud", ns);
    struct krc_list_opts all = {.field_selector = fs};
    MUST(krc_client_list(client, &configmaps, NULL, &all, &out, errp));
    json_t *alllist = parse(&out);
    assert_int_equal(json_array_size(json_object_get(alllist, "items")), 1);

    MUST(krc_client_delete(client, &configmaps, ns, "crud", NULL, &out, errp));
    assert_int_equal(krc_client_get(client, &configmaps, ns, "crud", &out, &err), KRC_ENOTFOUND);
    assert_int_equal(out.len, 0); /* no error body leaks into out */
    json_decref(created);
    json_decref(got);
    json_decref(updated);
    json_decref(list);
    json_decref(alllist);
    krc_strbuf_release(&out);
}

static void test_missing_object_is_not_found_with_call_in_message(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    char want[128];
    assert_int_equal(krc_client_get(client, &configmaps, ns, "no-such-cm", &out, &err),
                     KRC_ENOTFOUND);
    snprintf(want, sizeof(want), "get configmaps %s/no-such-cm: 404 NotFound", ns);
    if (!strstr(err.msg, want))
        fail_msg("message: %s", err.msg);
    assert_int_equal(krc_client_delete(client, &configmaps, ns, "no-such-cm", NULL, NULL, &err),
                     KRC_ENOTFOUND);
    krc_strbuf_release(&out);
}

static void test_second_create_is_already_exists(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    char want[128];
    create_cm(ns, "twice", &out);
    char *body = cm_json("twice", NULL, NULL, NULL);
    assert_int_equal(
        krc_client_create(client, &configmaps, ns, body, strlen(body), NULL, &out, &err),
        KRC_EEXIST);
    snprintf(want, sizeof(want), "create configmaps %s/twice: 409 AlreadyExists", ns);
    if (!strstr(err.msg, want))
        fail_msg("message: %s", err.msg);
    free(body);
    krc_strbuf_release(&out);
}

static void test_generate_name_lets_the_server_pick(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    char *body = cm_json(NULL, "gen-", NULL, NULL);
    MUST(krc_client_create(client, &configmaps, ns, body, strlen(body), NULL, &out, errp));
    json_t *doc = parse(&out);
    const char *name = jstr(doc, "metadata.name");
    assert_non_null(name);
    assert_true(strncmp(name, "gen-", 4) == 0 && strlen(name) > 4);
    free(body);
    json_decref(doc);
    krc_strbuf_release(&out);
}

static void test_stale_resource_version_is_conflict(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    char want[128];
    create_cm(ns, "stale", &out);
    json_t *v1 = parse(&out);
    const char *rv1 = jstr(v1, "metadata.resourceVersion");
    char *b1 = cm_json("stale", NULL, rv1, "a", "first", NULL);
    char *b2 = cm_json("stale", NULL, rv1, "a", "second", NULL);
    MUST(krc_client_update(client, &configmaps, ns, "stale", b1, strlen(b1), NULL, &out, errp));
    assert_int_equal(
        krc_client_update(client, &configmaps, ns, "stale", b2, strlen(b2), NULL, &out, &err),
        KRC_ECONFLICT);
    snprintf(want, sizeof(want), "update configmaps %s/stale: 409 Conflict", ns);
    if (!strstr(err.msg, want) || !strstr(err.msg, "has been modified"))
        fail_msg("message: %s", err.msg);
    MUST(krc_client_get(client, &configmaps, ns, "stale", &out, errp));
    json_t *now = parse(&out);
    assert_string_equal(jstr(now, "data.a"), "first"); /* the stale write changed nothing */
    free(b1);
    free(b2);
    json_decref(v1);
    json_decref(now);
    krc_strbuf_release(&out);
}

static void test_invalid_object_reports_server_causes(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    char *body = cm_json("Bad_Name", NULL, NULL, "bad key!", "x", NULL);
    assert_int_equal(
        krc_client_create(client, &configmaps, ns, body, strlen(body), NULL, &out, &err),
        KRC_EINVALID);
    if (!strstr(err.msg, "422 Invalid") || !strstr(err.msg, "metadata.name") ||
        !strstr(err.msg, "Bad_Name") || !strstr(err.msg, "create configmaps"))
        fail_msg("message: %s", err.msg);
    free(body);
    krc_strbuf_release(&out);
}

static void test_merge_json_strategic_and_apply_patches(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    create_cm(ns, "patched", &out);

    static const char merge[] =
        "{\"metadata\":{\"labels\":{\"m\":\"yes\"}},\"data\":{\"b\":\"2\"}}";
    MUST(krc_client_patch(client, &configmaps, ns, "patched", NULL, KRC_PATCH_MERGE, merge,
                          strlen(merge), NULL, &out, errp));
    json_t *m = parse(&out);
    assert_string_equal(jstr(m, "data.a"), "1");
    assert_string_equal(jstr(m, "data.b"), "2");
    assert_string_equal(jstr(m, "metadata.labels.m"), "yes");

    static const char jp[] = "[{\"op\":\"test\",\"path\":\"/data/a\",\"value\":\"1\"},"
                             "{\"op\":\"replace\",\"path\":\"/data/a\",\"value\":\"10\"},"
                             "{\"op\":\"remove\",\"path\":\"/data/b\"}]";
    MUST(krc_client_patch(client, &configmaps, ns, "patched", NULL, KRC_PATCH_JSON, jp, strlen(jp),
                          NULL, &out, errp));
    json_t *j = parse(&out);
    assert_string_equal(jstr(j, "data.a"), "10");
    assert_null(jstr(j, "data.b"));

    /* A failed "test" operation applies nothing and is a typed error. */
    static const char failing[] = "[{\"op\":\"test\",\"path\":\"/data/a\",\"value\":\"nope\"},"
                                  "{\"op\":\"replace\",\"path\":\"/data/a\",\"value\":\"x\"}]";
    int rc = krc_client_patch(client, &configmaps, ns, "patched", NULL, KRC_PATCH_JSON, failing,
                              strlen(failing), NULL, &out, &err);
    if (rc != KRC_EINVALID && rc != KRC_EINVAL)
        fail_msg("failed test op: got %d: %s", rc, err.msg);
    if (!strstr(err.msg, "patch configmaps"))
        fail_msg("message: %s", err.msg);

    static const char smp[] = "{\"data\":{\"s\":\"strategic\"}}";
    MUST(krc_client_patch(client, &configmaps, ns, "patched", NULL, KRC_PATCH_STRATEGIC, smp,
                          strlen(smp), NULL, &out, errp));
    json_t *s = parse(&out);
    assert_string_equal(jstr(s, "data.s"), "strategic");

    /* Server-side apply (JSON is YAML) with a field manager; force takes "a" from its owner. */
    static const char apply[] = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                                "\"metadata\":{\"name\":\"patched\"},\"data\":{\"a\":\"applied\"}}";
    struct krc_write_opts wo = {.field_manager = "krc-itest", .force = 1};
    MUST(krc_client_patch(client, &configmaps, ns, "patched", NULL, KRC_PATCH_APPLY, apply,
                          strlen(apply), &wo, &out, errp));
    json_t *a = parse(&out);
    assert_string_equal(jstr(a, "data.a"), "applied");

    /* dryRun: validated and answered, not stored. */
    static const char dry[] = "{\"data\":{\"a\":\"dry\"}}";
    struct krc_write_opts dwo = {.dry_run = 1};
    MUST(krc_client_patch(client, &configmaps, ns, "patched", NULL, KRC_PATCH_MERGE, dry,
                          strlen(dry), &dwo, &out, errp));
    MUST(krc_client_get(client, &configmaps, ns, "patched", &out, errp));
    json_t *after = parse(&out);
    assert_string_equal(jstr(after, "data.a"), "applied");

    json_decref(m);
    json_decref(j);
    json_decref(s);
    json_decref(a);
    json_decref(after);
    krc_strbuf_release(&out);
}

/* ---- custom resources ---- */

static const char crd_body[] =
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
    "\"metadata\":{\"name\":\"" CRD_NAME "\"},"
    "\"spec\":{\"group\":\"" CRD_GROUP "\",\"scope\":\"Namespaced\","
    "\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\","
    "\"listKind\":\"WidgetList\"},"
    "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
    "\"subresources\":{\"status\":{}},"
    "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"
    "\"spec\":{\"type\":\"object\",\"properties\":{\"size\":{\"type\":\"integer\",\"minimum\":1}}},"
    "\"status\":{\"type\":\"object\",\"properties\":{\"phase\":{\"type\":\"string\"},"
    "\"ready\":{\"type\":\"integer\"}}}}}}}]}}";

static int crd_established(json_t *crd)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(crd, "status"), "conditions"), i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *status = json_string_value(json_object_get(c, "status"));
        if (type && status && !strcmp(type, "Established") && !strcmp(status, "True"))
            return 1;
    }
    return 0;
}

static void ensure_crd(void)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    int rc = krc_client_create(client, &crds, NULL, crd_body, strlen(crd_body), NULL, &out, &err);
    if (rc && rc != KRC_EEXIST)
        fail_msg("create CRD: %s", err.msg);
    int64_t start = now_ms();
    for (;;) {
        MUST(krc_client_get(client, &crds, NULL, CRD_NAME, &out, errp));
        json_t *crd = parse(&out);
        int ok = crd_established(crd);
        json_decref(crd);
        if (ok)
            break;
        if (now_ms() - start > 30000)
            fail_msg("CRD %s not Established after 30 s", CRD_NAME);
        sleep_ms(100);
    }
    /* The new endpoint is served a moment after Established: wait until a list answers. */
    for (start = now_ms();; sleep_ms(100)) {
        rc = krc_client_list(client, &widgets, ns, NULL, &out, &err);
        if (rc == 0)
            break;
        if (rc != KRC_ENOTFOUND || now_ms() - start > 30000)
            fail_msg("list widgets: %s", err.msg);
    }
    krc_strbuf_release(&out);
}

static void test_custom_resource_crud_and_status_subresource(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    ensure_crd();

    static const char w[] = "{\"apiVersion\":\"" CRD_GROUP "/v1\",\"kind\":\"Widget\","
                            "\"metadata\":{\"name\":\"w1\"},\"spec\":{\"size\":3},"
                            "\"status\":{\"phase\":\"ignored-on-create\"}}";
    MUST(krc_client_create(client, &widgets, ns, w, strlen(w), NULL, &out, errp));
    json_t *created = parse(&out);
    /* With a status subresource the main resource ignores .status. */
    assert_null(jstr(created, "status.phase"));

    /* Status update through the subresource: status changes, spec does not. */
    json_t *st = json_deep_copy(created);
    json_object_set_new(st, "status", json_pack("{s:s, s:i}", "phase", "Ready", "ready", 3));
    json_object_set_new(json_object_get(st, "spec"), "size", json_integer(99));
    char *stbody = json_dumps(st, JSON_COMPACT);
    MUST(krc_client_update_status(client, &widgets, ns, "w1", stbody, strlen(stbody), NULL, &out,
                                  errp));
    json_t *after = parse(&out);
    assert_string_equal(jstr(after, "status.phase"), "Ready");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(after, "spec"), "size")),
                     3);

    /* A merge patch of the status subresource. */
    static const char sp[] = "{\"status\":{\"phase\":\"Patched\"}}";
    MUST(krc_client_patch(client, &widgets, ns, "w1", "status", KRC_PATCH_MERGE, sp, strlen(sp),
                          NULL, &out, errp));
    MUST(krc_client_get(client, &widgets, ns, "w1", &out, errp));
    json_t *got = parse(&out);
    assert_string_equal(jstr(got, "status.phase"), "Patched");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(got, "status"), "ready")),
                     3);

    /* Schema validation of a CR is a 422 with the field in the message. */
    static const char bad[] = "{\"apiVersion\":\"" CRD_GROUP "/v1\",\"kind\":\"Widget\","
                              "\"metadata\":{\"name\":\"w-bad\"},\"spec\":{\"size\":0}}";
    assert_int_equal(krc_client_create(client, &widgets, ns, bad, strlen(bad), NULL, &out, &err),
                     KRC_EINVALID);
    if (!strstr(err.msg, "spec.size") || !strstr(err.msg, "widgets." CRD_GROUP))
        fail_msg("message: %s", err.msg);

    MUST(krc_client_delete(client, &widgets, ns, "w1", NULL, NULL, errp));
    wait_gone(&widgets, ns, "w1", 10000);
    free(stbody);
    json_decref(created);
    json_decref(st);
    json_decref(after);
    json_decref(got);
    krc_strbuf_release(&out);
}

/* ---- paging ---- */

struct creator {
    const char *ns;
    int from, to;
    int failures;
    char first_error[KRC_ERROR_MSG_MAX];
};

static void *create_range(void *arg)
{
    struct creator *cr = arg;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    for (int i = cr->from; i < cr->to; i++) {
        char name[32];
        struct krc_error err = {0, ""};
        snprintf(name, sizeof(name), "cm-%05d", i);
        char *body = cm_json(name, NULL, NULL, "i", name, NULL);
        if (krc_client_create(client, &configmaps, cr->ns, body, strlen(body), NULL, &out, &err) &&
            cr->failures++ == 0)
            memcpy(cr->first_error, err.msg, sizeof(cr->first_error));
        free(body);
    }
    krc_strbuf_release(&out);
    return NULL;
}

static void test_list_pages_through_2000_configmaps(void **state)
{
    (void)state;
    char pns[64];
    enum { THREADS = 4 };
    pthread_t th[THREADS];
    struct creator cr[THREADS];
    struct krc_strbuf out = KRC_STRBUF_INIT;

    snprintf(pns, sizeof(pns), "krc-itest-paging-%ld", (long)getpid());
    create_namespace(pns);
    int64_t t0 = now_ms();
    for (int t = 0; t < THREADS; t++) {
        cr[t] = (struct creator){pns, t * PAGING_N / THREADS, (t + 1) * PAGING_N / THREADS, 0, ""};
        assert_int_equal(pthread_create(&th[t], NULL, create_range, &cr[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        if (cr[t].failures)
            fail_msg("%d creates failed, first: %s", cr[t].failures, cr[t].first_error);
    }
    fprintf(stderr, "created %d ConfigMaps in %lld ms\n", PAGING_N, (long long)(now_ms() - t0));

    char *cont = NULL, *seen = calloc(PAGING_N, 1);
    int pages = 0, total = 0;
    assert_non_null(seen);
    do {
        struct krc_list_opts lo = {.limit = PAGE_LIMIT, .continue_token = cont};
        MUST(krc_client_list(client, &configmaps, pns, &lo, &out, errp));
        json_t *page = parse(&out);
        json_t *items = json_object_get(page, "items");
        size_t i;
        json_t *it;
        assert_true(json_array_size(items) <= PAGE_LIMIT);
        json_array_foreach(items, i, it)
        {
            const char *name = jstr(it, "metadata.name");
            if (strncmp(name, "cm-", 3) != 0)
                continue; /* kube-root-ca.crt, made by the controller-manager */
            int n = atoi(name + 3);
            assert_true(n >= 0 && n < PAGING_N);
            if (seen[n]++)
                fail_msg("%s listed twice", name);
            total++;
        }
        if (pages == 0) {
            json_int_t remaining = json_integer_value(
                json_object_get(json_object_get(page, "metadata"), "remainingItemCount"));
            assert_true(remaining >= PAGING_N - PAGE_LIMIT);
        }
        free(cont);
        const char *next = jstr(page, "metadata.continue");
        cont = next && *next ? strdup(next) : NULL;
        json_decref(page);
        pages++;
    } while (cont);
    assert_int_equal(total, PAGING_N);
    /* 2000 (plus the namespace's kube-root-ca.crt) in pages of 500: 4 or 5 pages. */
    assert_true(pages == 4 || pages == 5);
    free(seen);

    /* A list without limit returns everything at once, and the buffer cap holds it. */
    MUST(krc_client_list(client, &configmaps, pns, NULL, &out, errp));
    json_t *all = parse(&out);
    assert_true(json_array_size(json_object_get(all, "items")) >= PAGING_N);
    json_decref(all);

    /* A caller's smaller cap is honoured: the list does not fit in 64 KiB. */
    struct krc_strbuf small;
    struct krc_error err = {0, ""};
    krc_strbuf_init(&small, 64 * 1024);
    assert_int_equal(krc_client_list(client, &configmaps, pns, NULL, &small, &err), KRC_ETOOLARGE);
    assert_int_equal(small.len, 0);
    krc_strbuf_release(&small);

    int64_t t1 = now_ms();
    delete_namespace_and_wait(pns);
    fprintf(stderr, "namespace with %d ConfigMaps deleted in %lld ms\n", PAGING_N,
            (long long)(now_ms() - t1));
    krc_strbuf_release(&out);
}

/* ---- deletion ---- */

static void create_owned(const char *name, json_t *owner, struct krc_strbuf *out)
{
    json_t *ref =
        json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion", "v1", "kind", "ConfigMap", "name",
                  jstr(owner, "metadata.name"), "uid", jstr(owner, "metadata.uid"));
    json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:o}}", "apiVersion", "v1", "kind", "ConfigMap",
                            "metadata", "name", name, "ownerReferences", ref);
    char *body = json_dumps(doc, JSON_COMPACT);
    MUST(krc_client_create(client, &configmaps, ns, body, strlen(body), NULL, out, errp));
    free(body);
    json_decref(doc);
}

static void test_delete_propagation_and_preconditions(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};

    /* Foreground: the owner waits, with the foregroundDeletion finalizer, for its dependents. */
    create_cm(ns, "owner-fg", &out);
    json_t *owner = parse(&out);
    create_owned("dependent-fg", owner, &out);
    struct krc_delete_opts fg = {.propagation_policy = "Foreground"};
    MUST(krc_client_delete(client, &configmaps, ns, "owner-fg", &fg, &out, errp));
    json_t *deleting = parse(&out);
    assert_non_null(jstr(deleting, "metadata.deletionTimestamp"));
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_object_get(deleting, "metadata"), "finalizers"), 0)),
        "foregroundDeletion");
    wait_gone(&configmaps, ns, "dependent-fg", 60000);
    wait_gone(&configmaps, ns, "owner-fg", 60000);
    json_decref(owner);
    json_decref(deleting);

    /* Orphan: the dependent stays and loses its owner reference. */
    create_cm(ns, "owner-or", &out);
    owner = parse(&out);
    create_owned("dependent-or", owner, &out);
    struct krc_delete_opts orphan = {.propagation_policy = "Orphan"};
    MUST(krc_client_delete(client, &configmaps, ns, "owner-or", &orphan, NULL, errp));
    wait_gone(&configmaps, ns, "owner-or", 60000);
    for (int64_t start = now_ms();; sleep_ms(100)) {
        MUST(krc_client_get(client, &configmaps, ns, "dependent-or", &out, errp));
        json_t *dep = parse(&out);
        int refs = (int)json_array_size(
            json_object_get(json_object_get(dep, "metadata"), "ownerReferences"));
        json_decref(dep);
        if (refs == 0)
            break;
        if (now_ms() - start > 30000)
            fail_msg("orphaned dependent still has its owner reference after 30 s");
    }
    json_decref(owner);

    /* Preconditions: a wrong uid is a conflict and deletes nothing; the right rv deletes. */
    create_cm(ns, "guarded", &out);
    json_t *g = parse(&out);
    struct krc_delete_opts wrong = {.precondition_uid = "00000000-0000-0000-0000-000000000000"};
    assert_int_equal(krc_client_delete(client, &configmaps, ns, "guarded", &wrong, NULL, &err),
                     KRC_ECONFLICT);
    if (!strstr(err.msg, "delete configmaps") || !strstr(err.msg, "recondition"))
        fail_msg("message: %s", err.msg);
    struct krc_delete_opts right = {
        .precondition_uid = jstr(g, "metadata.uid"),
        .precondition_resource_version = jstr(g, "metadata.resourceVersion"),
        .grace_period_set = 1,
        .grace_period_seconds = 0,
    };
    MUST(krc_client_delete(client, &configmaps, ns, "guarded", &right, NULL, errp));
    assert_int_equal(krc_client_get(client, &configmaps, ns, "guarded", &out, &err), KRC_ENOTFOUND);
    json_decref(g);
    krc_strbuf_release(&out);
}

/* ---- watch ---- */

struct watch_ctx {
    const char *name;
    char types[8][16];
    int n;
    int bookmarks;
};

static int on_event(void *arg, const char *line, size_t len)
{
    struct watch_ctx *w = arg;
    json_t *ev = json_loadb(line, len, 0, NULL);
    if (!ev)
        return KRC_EINVAL;
    const char *type = jstr(ev, "type");
    const char *name = jstr(json_object_get(ev, "object"), "metadata.name");
    int stop = 0;
    if (type && !strcmp(type, "BOOKMARK"))
        w->bookmarks++;
    else if (type && name && !strcmp(name, w->name) && w->n < 8) {
        snprintf(w->types[w->n++], sizeof(w->types[0]), "%s", type);
        stop = !strcmp(type, "DELETED");
    }
    json_decref(ev);
    return stop; /* 1 ends the stream: the test has seen what it waited for */
}

struct watch_run {
    struct krc_list_opts lo;
    struct krc_stream_opts so;
    int rc;
    struct krc_error err;
};

static void *watch_thread(void *arg)
{
    struct watch_run *r = arg;
    r->rc = krc_client_watch(client, &configmaps, ns, &r->lo, &r->so, &r->err);
    return NULL;
}

static char *collection_rv(void)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_list_opts lo = {.limit = 1};
    MUST(krc_client_list(client, &configmaps, ns, &lo, &out, errp));
    json_t *l = parse(&out);
    char *rv = strdup(jstr(l, "metadata.resourceVersion"));
    json_decref(l);
    krc_strbuf_release(&out);
    return rv;
}

static void test_watch_streams_added_modified_deleted_in_order(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct watch_ctx w = {.name = "watched", .n = 0};
    struct krc_cancel cancel = KRC_CANCEL_INIT;
    char *rv = collection_rv();
    struct watch_run r = {
        .lo = {.resource_version = rv, .timeout_seconds = 60, .allow_watch_bookmarks = 1},
        .so = {.on_line = on_event, .ctx = &w, .timeout_ms = 60000, .cancel = &cancel},
    };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, watch_thread, &r), 0);

    /* The watch starts at rv, before these writes, so no event can be missed however late the
     * stream connects. */
    create_cm(ns, "watched", &out);
    static const char mp[] = "{\"data\":{\"a\":\"changed\"}}";
    MUST(krc_client_patch(client, &configmaps, ns, "watched", NULL, KRC_PATCH_MERGE, mp, strlen(mp),
                          NULL, &out, errp));
    MUST(krc_client_delete(client, &configmaps, ns, "watched", NULL, NULL, errp));

    assert_int_equal(pthread_join(th, NULL), 0);
    if (r.rc != 1)
        fail_msg("watch ended with %d (%s), events seen: %d", r.rc, r.err.msg, w.n);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.types[0], "ADDED");
    assert_string_equal(w.types[1], "MODIFIED");
    assert_string_equal(w.types[2], "DELETED");
    free(rv);
    krc_strbuf_release(&out);
}

static void test_watch_is_cancelled_from_another_thread(void **state)
{
    (void)state;
    struct watch_ctx w = {.name = "nothing-happens", .n = 0};
    struct krc_cancel cancel = KRC_CANCEL_INIT;
    char *rv = collection_rv();
    struct watch_run r = {
        .lo = {.resource_version = rv, .timeout_seconds = 120},
        .so = {.on_line = on_event, .ctx = &w, .cancel = &cancel},
    };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, watch_thread, &r), 0);
    sleep_ms(500);
    int64_t t0 = now_ms();
    krc_cancel_request(&cancel);
    assert_int_equal(pthread_join(th, NULL), 0);
    int64_t took = now_ms() - t0;
    if (r.rc != KRC_ECANCELED)
        fail_msg("watch ended with %d (%s), want KRC_ECANCELED", r.rc, r.err.msg);
    if (took > 2500)
        fail_msg("cancel took %lld ms", (long long)took);
    free(rv);
}

static void test_watch_ends_at_server_timeout_and_client_timeout(void **state)
{
    (void)state;
    struct watch_ctx w = {.name = "nothing-happens", .n = 0};
    char *rv = collection_rv();
    struct krc_error err = {0, ""};

    /* Server side: timeoutSeconds ends the stream cleanly. */
    struct krc_list_opts lo = {.resource_version = rv, .timeout_seconds = 1};
    struct krc_stream_opts so = {.on_line = on_event, .ctx = &w};
    int64_t t0 = now_ms();
    int rc = krc_client_watch(client, &configmaps, ns, &lo, &so, &err);
    if (rc != 0)
        fail_msg("watch with timeoutSeconds=1: %d %s", rc, err.msg);
    assert_true(now_ms() - t0 >= 900);

    /* Client side: the stream's own deadline. */
    struct krc_list_opts lo2 = {.resource_version = rv, .timeout_seconds = 60};
    struct krc_stream_opts so2 = {.on_line = on_event, .ctx = &w, .timeout_ms = 700};
    t0 = now_ms();
    rc = krc_client_watch(client, &configmaps, ns, &lo2, &so2, &err);
    assert_int_equal(rc, KRC_ETIMEOUT);
    assert_true(now_ms() - t0 < 5000);
    free(rv);
}

/* A watch from a resourceVersion the server no longer keeps: an ERROR event carrying a 410 Status,
 * which krc_status_error_json types as KRC_EGONE (the informer's cue to list again). */
struct gone_ctx {
    int code;
    struct krc_error err;
};

static int on_error_event(void *arg, const char *line, size_t len)
{
    struct gone_ctx *g = arg;
    json_t *ev = json_loadb(line, len, 0, NULL);
    if (!ev)
        return KRC_EINVAL;
    if (jstr(ev, "type") && !strcmp(jstr(ev, "type"), "ERROR"))
        g->code = krc_status_error_json(json_object_get(ev, "object"), "watch configmaps", &g->err);
    json_decref(ev);
    return g->code ? g->code : 0;
}

static void test_watch_from_expired_resource_version_is_gone(void **state)
{
    (void)state;
    struct gone_ctx g = {0, {0, ""}};
    struct krc_error err = {0, ""};
    /* On a fresh cluster revision 1 is still served (see etcd_compact.h): expire it first. */
    if (krc_test_expire_resource_versions() != 0)
        fail_msg("could not compact etcd and restart kube-apiserver");
    struct krc_list_opts lo = {.resource_version = "1", .timeout_seconds = 10};
    struct krc_stream_opts so = {.on_line = on_error_event, .ctx = &g, .timeout_ms = 15000};
    int rc = krc_client_watch(client, &configmaps, ns, &lo, &so, &err);
    if (rc != KRC_EGONE)
        fail_msg("watch from rv 1: %d %s", rc, err.msg);
    if (!strstr(g.err.msg, "410 Expired") || !strstr(g.err.msg, "too old resource version"))
        fail_msg("message: %s", g.err.msg);
}

/* ---- throttling ---- */

struct hammer {
    struct krc_client *c;
    int64_t deadline;
    int done; /* requests completed before the deadline */
};

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    while (now_ms() < h->deadline) {
        struct krc_error err = {0, ""};
        if (krc_client_get(h->c, &namespaces, NULL, "default", &out, &err) != 0)
            fail_msg("get: %s", err.msg);
        if (now_ms() <= h->deadline)
            h->done++;
    }
    krc_strbuf_release(&out);
    return NULL;
}

/* Requests four threads complete within window_ms through one client. */
static int hammer(double qps, int burst, long window_ms)
{
    enum { THREADS = 4 };
    struct krc_kubeconfig cfg;
    struct krc_client *c;
    struct hammer h[THREADS];
    pthread_t th[THREADS];
    struct krc_client_options opts = {.qps = qps, .burst = burst};
    MUST(krc_kubeconfig_load(&cfg, NULL, errp));
    MUST(krc_client_new(&cfg, &opts, &c, errp));
    krc_kubeconfig_free(&cfg);
    int64_t deadline = now_ms() + window_ms;
    for (int t = 0; t < THREADS; t++) {
        h[t] = (struct hammer){c, deadline, 0};
        assert_int_equal(pthread_create(&th[t], NULL, hammer_thread, &h[t]), 0);
    }
    int total = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        total += h[t].done;
    }
    krc_client_free(c);
    return total;
}

static void test_qps_limiter_bounds_the_request_rate(void **state)
{
    (void)state;
    const double qps = 10;
    const int burst = 5;
    const long window = 2000;
    const int bound = burst + (int)(qps * window / 1000); /* 25: burst now, qps after */

    /* Control: without a limiter the same loop goes far past the bound, so the check below can
     * fail. */
    int unlimited = hammer(-1, 1, window);
    if (unlimited <= 2 * bound)
        fail_msg("unthrottled client made only %d requests in %ld ms: the measurement cannot tell "
                 "a working limiter from a broken one",
                 unlimited, window);

    int limited = hammer(qps, burst, window);
    fprintf(stderr, "in %ld ms: %d requests unthrottled, %d at qps=%g burst=%d (bound %d)\n",
            window, unlimited, limited, qps, burst, bound);
    if (limited > bound)
        fail_msg("%d requests in %ld ms exceed qps*window + burst = %d", limited, window, bound);
    if (limited < bound / 2)
        fail_msg("only %d requests in %ld ms: the limiter starves callers", limited, window);
}

/* ---- transport: reuse, TLS name, tokens ---- */

static void test_connections_are_reused_over_http2(void **state)
{
    (void)state;
    struct krc_client_stats before, after;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    krc_client_stats(client, &before);
    for (int i = 0; i < 50; i++)
        MUST(krc_client_get(client, &namespaces, NULL, "default", &out, errp));
    krc_client_stats(client, &after);
    assert_int_equal(after.attempts - before.attempts, 50);
    if (after.connections - before.connections > 1)
        fail_msg("50 sequential requests opened %llu connections",
                 (unsigned long long)(after.connections - before.connections));
    assert_int_equal(after.http2 - before.http2, 50);
    krc_strbuf_release(&out);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_ca_and_client_certificate_from_files(void **state)
{
    (void)state;
    struct krc_kubeconfig cfg;
    struct krc_client *c;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    char dir[] = "/tmp/krc-itest-pki-XXXXXX", ca[64], crt[64], key[64];
    assert_non_null(mkdtemp(dir));
    snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
    snprintf(crt, sizeof(crt), "%s/client.crt", dir);
    snprintf(key, sizeof(key), "%s/client.key", dir);

    /* The admin kubeconfig carries everything inline (the *_BLOB path, used by every other
     * test); move it to files to exercise CURLOPT_CAINFO, CURLOPT_SSLCERT and CURLOPT_SSLKEY. */
    MUST(krc_kubeconfig_load(&cfg, NULL, errp));
    assert_non_null(cfg.client_cert_data.data);
    write_file(ca, cfg.ca_data.data, cfg.ca_data.len);
    write_file(crt, cfg.client_cert_data.data, cfg.client_cert_data.len);
    write_file(key, cfg.client_key_data.data, cfg.client_key_data.len);
    free(cfg.ca_data.data);
    free(cfg.client_cert_data.data);
    free(cfg.client_key_data.data);
    cfg.ca_data = (struct krc_pem){NULL, 0};
    cfg.client_cert_data = (struct krc_pem){NULL, 0};
    cfg.client_key_data = (struct krc_pem){NULL, 0};
    cfg.ca_file = strdup(ca);
    cfg.client_cert_file = strdup(crt);
    cfg.client_key_file = strdup(key);
    MUST(krc_client_new(&cfg, NULL, &c, errp));
    krc_kubeconfig_free(&cfg);
    MUST(krc_client_get(c, &namespaces, NULL, "default", &out, errp));
    json_t *doc = parse(&out);
    assert_string_equal(jstr(doc, "metadata.name"), "default");
    json_decref(doc);
    krc_client_free(c);
    unlink(ca);
    unlink(crt);
    unlink(key);
    rmdir(dir);
    krc_strbuf_release(&out);
}

static void test_tls_server_name_is_verified(void **state)
{
    (void)state;
    struct krc_kubeconfig cfg;
    struct krc_client *c;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};

    /* The serving certificate names kubernetes.default.svc; we connect to 127.0.0.1. */
    MUST(krc_kubeconfig_load(&cfg, NULL, errp));
    cfg.tls_server_name = strdup("kubernetes.default.svc");
    MUST(krc_client_new(&cfg, NULL, &c, errp));
    MUST(krc_client_get(c, &namespaces, NULL, "default", &out, errp));
    krc_client_free(c);
    free(cfg.tls_server_name);

    /* A name the certificate does not carry must fail verification, and fast (no retries). */
    cfg.tls_server_name = strdup("not-in-the-certificate.example");
    MUST(krc_client_new(&cfg, NULL, &c, errp));
    int64_t t0 = now_ms();
    assert_int_equal(krc_client_get(c, &namespaces, NULL, "default", &out, &err), KRC_EIO);
    assert_true(now_ms() - t0 < 3000);
    if (!strstr(err.msg, "get namespaces default") ||
        (!strstr(err.msg, "certificate") && !strstr(err.msg, "SSL")))
        fail_msg("message: %s", err.msg);
    krc_client_free(c);
    krc_kubeconfig_free(&cfg);
    krc_strbuf_release(&out);
}

static void test_service_account_token_file_is_reread_on_401(void **state)
{
    (void)state;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    char dir[] = "/tmp/krc-itest-token-XXXXXX", tokpath[64], capath[64], want[128];
    assert_non_null(mkdtemp(dir));
    snprintf(tokpath, sizeof(tokpath), "%s/token", dir);
    snprintf(capath, sizeof(capath), "%s/ca.crt", dir);

    /* A service account and a token for it, from the TokenRequest API. */
    static const char sa[] = "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\","
                             "\"metadata\":{\"name\":\"krc-itest-sa\"}}";
    MUST(krc_client_create(client, &serviceaccounts, ns, sa, strlen(sa), NULL, &out, errp));
    static const char tr[] = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":"
                             "\"TokenRequest\",\"spec\":{\"expirationSeconds\":600}}";
    struct krc_request req = {.method = "POST",
                              .res = &serviceaccounts,
                              .ns = ns,
                              .name = "krc-itest-sa",
                              .subresource = "token",
                              .content_type = "application/json",
                              .body = tr,
                              .body_len = strlen(tr)};
    MUST(krc_client_do(client, &req, &out, errp));
    json_t *treq = parse(&out);
    const char *token = jstr(treq, "status.token");
    assert_non_null(token);

    /* A config with only a CA file and a token file: no client certificate. */
    struct krc_kubeconfig admin, cfg = {0};
    MUST(krc_kubeconfig_load(&admin, NULL, errp));
    assert_non_null(admin.ca_data.data);
    write_file(capath, admin.ca_data.data, admin.ca_data.len);
    write_file(tokpath, "not-a-valid-token\n", 18);
    cfg.server = strdup(admin.server);
    cfg.ca_file = strdup(capath);
    cfg.token_file = strdup(tokpath);
    cfg.namespace = strdup(ns);
    krc_kubeconfig_free(&admin);
    struct krc_client *c;
    MUST(krc_client_new(&cfg, NULL, &c, errp));
    krc_kubeconfig_free(&cfg);

    static const char ssr[] = "{\"apiVersion\":\"authentication.k8s.io/v1\","
                              "\"kind\":\"SelfSubjectReview\"}";
    assert_int_equal(
        krc_client_create(c, &selfsubjectreviews, NULL, ssr, strlen(ssr), NULL, &out, &err),
        KRC_EUNAUTHORIZED);
    if (!strstr(err.msg, "401"))
        fail_msg("message: %s", err.msg);

    /* The kubelet rotates the file; the client's cached token is now stale. The 401 makes it
     * re-read the file at once, without waiting for the minute between checks. */
    write_file(tokpath, token, strlen(token));
    struct krc_client_stats before, after;
    krc_client_stats(c, &before);
    MUST(krc_client_create(c, &selfsubjectreviews, NULL, ssr, strlen(ssr), NULL, &out, errp));
    krc_client_stats(c, &after);
    assert_int_equal(after.attempts - before.attempts, 2); /* the 401, then the success */
    json_t *review = parse(&out);
    snprintf(want, sizeof(want), "system:serviceaccount:%s:krc-itest-sa", ns);
    assert_string_equal(jstr(review, "status.userInfo.username"), want);

    /* The service account has no RBAC grants: reading a namespace is forbidden. */
    assert_int_equal(krc_client_get(c, &namespaces, NULL, "default", &out, &err), KRC_EFORBIDDEN);
    if (!strstr(err.msg, "403 Forbidden") || !strstr(err.msg, "krc-itest-sa"))
        fail_msg("message: %s", err.msg);

    krc_client_free(c);
    json_decref(treq);
    json_decref(review);
    unlink(tokpath);
    unlink(capath);
    rmdir(dir);
    krc_strbuf_release(&out);
}

static void test_shutdown_cancels_throttled_and_future_calls(void **state)
{
    (void)state;
    struct krc_kubeconfig cfg;
    struct krc_client *c;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    struct krc_client_options opts = {.qps = 0.5, .burst = 1};
    MUST(krc_kubeconfig_load(&cfg, NULL, errp));
    MUST(krc_client_new(&cfg, &opts, &c, errp));
    krc_kubeconfig_free(&cfg);
    MUST(krc_client_get(c, &namespaces, NULL, "default", &out, errp)); /* uses the burst */
    krc_client_shutdown(c);
    int64_t t0 = now_ms();
    assert_int_equal(krc_client_get(c, &namespaces, NULL, "default", &out, &err), KRC_ECANCELED);
    assert_true(now_ms() - t0 < 500);
    krc_client_free(c);
    krc_strbuf_release(&out);
}

int main(void)
{
    if (!getenv("KUBECONFIG") || !*getenv("KUBECONFIG")) {
        fprintf(stderr, "KUBECONFIG is not set: skipping (start a cluster with hack/cluster.sh)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configmap_create_get_update_list_delete),
        cmocka_unit_test(test_missing_object_is_not_found_with_call_in_message),
        cmocka_unit_test(test_second_create_is_already_exists),
        cmocka_unit_test(test_generate_name_lets_the_server_pick),
        cmocka_unit_test(test_stale_resource_version_is_conflict),
        cmocka_unit_test(test_invalid_object_reports_server_causes),
        cmocka_unit_test(test_merge_json_strategic_and_apply_patches),
        cmocka_unit_test(test_custom_resource_crud_and_status_subresource),
        cmocka_unit_test(test_list_pages_through_2000_configmaps),
        cmocka_unit_test(test_delete_propagation_and_preconditions),
        cmocka_unit_test(test_watch_streams_added_modified_deleted_in_order),
        cmocka_unit_test(test_watch_is_cancelled_from_another_thread),
        cmocka_unit_test(test_watch_ends_at_server_timeout_and_client_timeout),
        cmocka_unit_test(test_watch_from_expired_resource_version_is_gone),
        cmocka_unit_test(test_qps_limiter_bounds_the_request_rate),
        cmocka_unit_test(test_connections_are_reused_over_http2),
        cmocka_unit_test(test_ca_and_client_certificate_from_files),
        cmocka_unit_test(test_tls_server_name_is_verified),
        cmocka_unit_test(test_service_account_token_file_is_reread_on_401),
        cmocka_unit_test(test_shutdown_cancels_throttled_and_future_calls),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
