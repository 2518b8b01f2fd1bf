/* Unit tests for kube/path: API paths for core and grouped, namespaced and cluster-scoped types,
 * subresources, escaping of names and query values, and the inputs that must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "kube/path.h"
#include "util/error.h"
#include "util/strbuf.h"

static const struct krc_resource configmaps = {"", "v1", "configmaps", 1};
static const struct krc_resource namespaces = {NULL, "v1", "namespaces", 0};
static const struct krc_resource rayclusters = {"ray.io", "v1", "rayclusters", 1};
static const struct krc_resource pods = {"", "v1", "pods", 1};
static const struct krc_resource crds = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                         0};

struct path_case {
    const struct krc_resource *res;
    const char *ns, *name, *sub;
    const char *want;
};

static void test_paths_follow_the_api_layout(void **state)
{
    (void)state;
    static const struct path_case cases[] = {
        {&configmaps, "default", NULL, NULL, "/api/v1/namespaces/default/configmaps"},
        {&configmaps, NULL, NULL, NULL, "/api/v1/configmaps"}, /* all namespaces */
        {&configmaps, "", NULL, NULL, "/api/v1/configmaps"},
        {&configmaps, "default", "cm-1", NULL, "/api/v1/namespaces/default/configmaps/cm-1"},
        {&namespaces, NULL, "kube-system", NULL, "/api/v1/namespaces/kube-system"},
        {&namespaces, NULL, "ns", "finalize", "/api/v1/namespaces/ns/finalize"},
        {&rayclusters, "ray", NULL, NULL, "/apis/ray.io/v1/namespaces/ray/rayclusters"},
        {&rayclusters, "ray", "c1", "status",
         "/apis/ray.io/v1/namespaces/ray/rayclusters/c1/status"},
        {&rayclusters, "ray", "c1", "scale", "/apis/ray.io/v1/namespaces/ray/rayclusters/c1/scale"},
        {&pods, "ray", "head-0", "log", "/api/v1/namespaces/ray/pods/head-0/log"},
        {&crds, NULL, "rayclusters.ray.io", NULL,
         "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rayclusters.ray.io"},
        /* Names with characters outside the unreserved set are escaped, not passed through. */
        {&configmaps, "default", "a b:c%d", NULL,
         "/api/v1/namespaces/default/configmaps/a%20b%3Ac%25d"},
        {&configmaps, "default", "x?y#z", NULL, "/api/v1/namespaces/default/configmaps/x%3Fy%23z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct path_case *pc = &cases[i];
        struct krc_strbuf sb = KRC_STRBUF_INIT;
        struct krc_error err = {0, ""};
        int rc = krc_path_build(&sb, pc->res, pc->ns, pc->name, pc->sub, &err);
        if (rc)
            fail_msg("case %zu: %s", i, err.msg);
        if (strcmp(sb.buf, pc->want) != 0)
            fail_msg("case %zu: got %s, want %s", i, sb.buf, pc->want);
        krc_strbuf_release(&sb);
    }
}

struct bad_path {
    const struct krc_resource *res;
    const char *ns, *name, *sub;
    const char *want; /* fragment of the message */
};

static void test_unroutable_paths_are_refused(void **state)
{
    (void)state;
    static const struct krc_resource no_version = {"", "", "pods", 1};
    static const struct bad_path cases[] = {
        {&configmaps, "default", "a/b", NULL, "name \"a/b\""},
        {&configmaps, "default", "..", NULL, "name \"..\""},
        {&configmaps, "default", ".", NULL, "name \".\""},
        {&configmaps, "default", "", NULL, "name \"\""},
        {&configmaps, "a/b", NULL, NULL, "namespace \"a/b\""},
        {&configmaps, NULL, "cm", NULL, "needs a namespace"},
        {&namespaces, "default", "x", NULL, "cluster-scoped"},
        {&rayclusters, "ray", NULL, "status", "needs an object name"},
        {&rayclusters, "ray", "c", "a/b", "subresource \"a/b\""},
        {&no_version, "default", NULL, NULL, "version"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_path *bp = &cases[i];
        struct krc_strbuf sb = KRC_STRBUF_INIT;
        struct krc_error err = {0, ""};
        int rc = krc_path_build(&sb, bp->res, bp->ns, bp->name, bp->sub, &err);
        if (rc != KRC_EINVAL)
            fail_msg("case %zu: got %d (%s), want KRC_EINVAL", i, rc, sb.buf);
        if (!strstr(err.msg, bp->want))
            fail_msg("case %zu: message lacks \"%s\": %s", i, bp->want, err.msg);
        krc_strbuf_release(&sb);
    }
}

static void test_query_values_are_escaped_and_joined(void **state)
{
    (void)state;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_int_equal(krc_strbuf_adds(&sb, "/api/v1/pods"), 0);
    assert_int_equal(krc_query_add(&sb, "labelSelector", "app in (a,b),tier!=head"), 0);
    assert_int_equal(krc_query_add(&sb, "fieldSelector", "metadata.name=x"), 0);
    assert_int_equal(krc_query_add(&sb, "continue", NULL), 0);      /* nothing for NULL */
    assert_int_equal(krc_query_add(&sb, "resourceVersion", ""), 0); /* nor for "" */
    assert_int_equal(krc_query_add_int(&sb, "limit", 500), 0);
    assert_int_equal(krc_query_add(&sb, "continue", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MX0+/="),
                     0);
    assert_string_equal(sb.buf, "/api/v1/pods"
                                "?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Dhead"
                                "&fieldSelector=metadata.name%3Dx"
                                "&limit=500"
                                "&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MX0%2B%2F%3D");
    krc_strbuf_release(&sb);
}

static void test_escape_keeps_unreserved_and_escapes_utf8_bytes(void **state)
{
    (void)state;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_int_equal(krc_path_escape(&sb, "aZ09-._~ é&"), 0);
    assert_string_equal(sb.buf, "aZ09-._~%20%C3%A9%26");
    krc_strbuf_release(&sb);
}

static void test_resource_name_includes_group(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(krc_resource_name(&rayclusters, buf, sizeof(buf)), "rayclusters.ray.io");
    assert_string_equal(krc_resource_name(&configmaps, buf, sizeof(buf)), "configmaps");
}

static void test_path_building_respects_the_buffer_cap(void **state)
{
    (void)state;
    struct krc_strbuf sb;
    struct krc_error err = {0, ""};
    krc_strbuf_init(&sb, 16);
    assert_int_equal(krc_path_build(&sb, &configmaps, "default", "cm", NULL, &err), KRC_ETOOLARGE);
    krc_strbuf_release(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_follow_the_api_layout),
        cmocka_unit_test(test_unroutable_paths_are_refused),
        cmocka_unit_test(test_query_values_are_escaped_and_joined),
        cmocka_unit_test(test_escape_keeps_unreserved_and_escapes_utf8_bytes),
        cmocka_unit_test(test_resource_name_includes_group),
        cmocka_unit_test(test_path_building_respects_the_buffer_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
