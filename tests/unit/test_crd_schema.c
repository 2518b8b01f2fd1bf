/* Unit tests for api/crd_schema: the committed CRDs are what the tables render (so a stale
 * config/crd/bases/ray.io_{rayclusters,rayjobs,raycronjobs}.yaml fails the tests), the tables
 * have the fields, defaults, CEL rules and printer columns KubeRay's CRDs have, and the YAML
 * formatting follows PyYAML's safe_dump, which wrote the file before the generator moved to C
 * (quoting of implicitly typed strings, anchors, empty collections). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/crd_schema.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/strbuf.h"

/* <repo>/<rel> from KRC_TESTDATA (<repo>/tests/data). */
static void crd_file_path(const char *rel, char *buf, size_t size)
{
    const char *data = getenv("KRC_TESTDATA");
    assert_non_null(data);
    int n = snprintf(buf, size, "%s/../../%s", data, rel);
    assert_true(n > 0 && (size_t)n < size);
}

/* The pinned Kubernetes' OpenAPI v3 directory (as hack/gen-crds.sh finds it), or NULL. */
static const char *k8s_openapi_dir(char *buf, size_t size)
{
    const char *dir = getenv("KRC_K8S_OPENAPI_DIR");
    if (dir && *dir)
        return dir;
    char path[4096], version[64] = "";
    crd_file_path("hack/versions.env", path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[256];
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "K8S_VERSION=%63s", version) == 1)
            break;
    fclose(f);
    const char *cache = getenv("GOMODCACHE"), *home = getenv("HOME");
    int n = cache && *cache ? snprintf(buf, size, "%s", cache)
                            : snprintf(buf, size, "%s/go/pkg/mod", home ? home : "");
    if (!*version || n < 0 || (size_t)n >= size)
        return NULL;
    n = snprintf(buf + n, size - (size_t)n, "/k8s.io/kubernetes@%s/api/openapi-spec/v3", version);
    if (n < 0)
        return NULL;
    char probe[4600];
    snprintf(probe, sizeof(probe), "%s/api__v1_openapi.json", buf);
    FILE *t = fopen(probe, "r");
    if (!t)
        return NULL;
    fclose(t);
    return buf;
}

/* Every committed CRD file (rayclusters, rayjobs, raycronjobs) is the full rendering (pod templates
 * expanded from the Kubernetes OpenAPI, as KubeRay's CRDs) of its table. */
static void test_committed_crds_match_tables(void **state)
{
    (void)state;
    json_t *k8s = NULL;
    for (int id = 0; id < KRC_CRD_COUNT; id++) {
        const struct krc_crd_file *f = krc_crd_file((enum krc_crd_id)id);
        assert_non_null(f);
        char path[4096];
        crd_file_path(f->path, path, sizeof(path));
        struct krc_strbuf want = KRC_STRBUF_INIT, have = KRC_STRBUF_INIT;
        struct krc_error err = {0};
        if (krc_file_read(path, 16u << 20, &have, &err) != 0) {
            krc_strbuf_release(&have);
            fail_msg("cannot read the committed CRD %s: %s", path, err.msg);
        }
        if (!krc_crd_text_is_expanded(have.buf)) {
            krc_strbuf_release(&have);
            json_decref(k8s);
            fail_msg("%s is not the full (expanded) rendering: run hack/gen-crds.sh", path);
        }
        if (!k8s) {
            char dir[4096];
            if (!k8s_openapi_dir(dir, sizeof(dir))) {
                krc_strbuf_release(&have);
                skip(); /* expanded CRDs need the pinned Kubernetes module (hack/toolchain.sh) */
            }
            assert_int_equal(krc_crd_k8s_load(dir, &k8s, &err), 0);
        }
        assert_int_equal(krc_crd_render_file_k8s((enum krc_crd_id)id, k8s, &want, &err), 0);
        size_t i = 0, line = 1;
        while (i < have.len && i < want.len && have.buf[i] == want.buf[i])
            if (have.buf[i++] == '\n')
                line++;
        bool stale = have.len != want.len || i != want.len;
        krc_strbuf_release(&want);
        krc_strbuf_release(&have);
        if (stale) {
            json_decref(k8s);
            fail_msg("%s is stale (first difference at line %zu): run hack/gen-crds.sh", path,
                     line);
        }
    }
    json_decref(k8s);
    assert_null(krc_crd_file(KRC_CRD_COUNT));
    struct krc_strbuf out = KRC_STRBUF_INIT;
    assert_int_equal(krc_crd_render_file(KRC_CRD_COUNT, &out, NULL), KRC_EINVAL);
    krc_strbuf_release(&out);
}

/* The OpenAPI -> CRD schema conversion on a small document: $ref and allOf inlined, Quantity /
 * IntOrString / Time / ObjectMeta in controller-gen's forms, descriptions and enums dropped, zero
 * defaults dropped on required fields only, required sorted, types embedding LocalObjectReference
 * atomic. */
static void test_k8s_schema_conversion(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *schemas = json_loads(
        "{\"io.k8s.api.core.v1.Thing\": {\"type\": \"object\", \"description\": \"d\","
        " \"required\": [\"z\", \"a\"], \"properties\": {"
        "  \"a\": {\"type\": \"string\", \"default\": \"\", \"enum\": [\"x\"]},"
        "  \"z\": {\"type\": \"integer\", \"format\": \"int32\", \"default\": 0},"
        "  \"proto\": {\"type\": \"string\", \"default\": \"TCP\"},"
        "  \"q\": {\"$ref\": "
        "\"#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity\"},"
        "  \"port\": {\"allOf\": [{\"$ref\": "
        "\"#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString\"}], \"default\": "
        "{}},"
        "  \"t\": {\"$ref\": \"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time\"},"
        "  \"metadata\": {\"allOf\": [{\"$ref\": "
        "\"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta\"}]},"
        "  \"refs\": {\"type\": \"array\", \"x-kubernetes-list-type\": \"map\","
        "   \"x-kubernetes-list-map-keys\": [\"name\"], \"items\": {\"allOf\": [{\"$ref\": "
        "\"#/components/schemas/io.k8s.api.core.v1.Ref\"}], \"default\": {}}},"
        "  \"src\": {\"$ref\": \"#/components/schemas/io.k8s.api.core.v1.EnvSrc\"},"
        "  \"lor\": {\"$ref\": \"#/components/schemas/io.k8s.api.core.v1.LocalObjectReference\"}}},"
        " \"io.k8s.api.core.v1.LocalObjectReference\": {\"type\": \"object\","
        "  \"x-kubernetes-map-type\": \"atomic\", \"properties\": {\"name\": {\"type\": "
        "\"string\", \"default\": \"\", \"description\": \"Name of the referent.\"}}},"
        " \"io.k8s.api.core.v1.EnvSrc\": {\"type\": \"object\", \"properties\": {"
        "  \"name\": {\"type\": \"string\", \"default\": \"\", \"description\": \"Name of the "
        "referent.\"}, \"optional\": {\"type\": \"boolean\"}}},"
        " \"io.k8s.api.core.v1.Ref\": {\"type\": \"object\", \"x-kubernetes-map-type\": \"atomic\","
        "  \"properties\": {\"name\": {\"type\": \"string\", \"default\": \"\"},"
        "  \"optional\": {\"type\": \"boolean\", \"default\": false}}}}",
        0, &jerr);
    assert_non_null(schemas);
    json_t *out = NULL;
    struct krc_error err = {0};
    assert_int_equal(krc_crd_k8s_schema(schemas, "io.k8s.api.core.v1.Thing", &out, &err), 0);
    char *got = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    static const char want[] =
        "{\"properties\":{\"a\":{\"type\":\"string\"},"
        "\"lor\":{\"properties\":{\"name\":{\"default\":\"\",\"type\":\"string\"}},"
        "\"type\":\"object\",\"x-kubernetes-map-type\":\"atomic\"},"
        "\"metadata\":{\"properties\":{\"annotations\":{\"additionalProperties\":{\"type\":"
        "\"string\"},\"type\":\"object\"},\"finalizers\":{\"items\":{\"type\":\"string\"},"
        "\"type\":\"array\"},\"labels\":{\"additionalProperties\":{\"type\":\"string\"},"
        "\"type\":\"object\"},\"name\":{\"type\":\"string\"},\"namespace\":{\"type\":"
        "\"string\"}},\"type\":\"object\"},"
        "\"port\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}],"
        "\"x-kubernetes-int-or-string\":true},"
        "\"proto\":{\"default\":\"TCP\",\"type\":\"string\"},"
        "\"q\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}],\"pattern\":"
        "\"^(\\\\+|-)?(([0-9]+(\\\\.[0-9]*)?)|(\\\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\\\+|-)"
        "?(("
        "[0-9]+(\\\\.[0-9]*)?)|(\\\\.[0-9]+))))?$\",\"x-kubernetes-int-or-string\":true},"
        "\"refs\":{\"items\":{\"properties\":{\"name\":{\"default\":\"\",\"type\":\"string\"},"
        "\"optional\":{\"default\":false,\"type\":\"boolean\"}},\"type\":\"object\","
        "\"x-kubernetes-map-type\":\"atomic\"},\"type\":\"array\",\"x-kubernetes-list-map-"
        "keys\":[\"name\"],\"x-kubernetes-list-type\":\"map\"},"
        "\"src\":{\"properties\":{\"name\":{\"default\":\"\",\"type\":\"string\"},"
        "\"optional\":{\"type\":\"boolean\"}},\"type\":\"object\",\"x-kubernetes-map-type\":"
        "\"atomic\"},"
        "\"t\":{\"format\":\"date-time\",\"type\":\"string\"},"
        "\"z\":{\"format\":\"int32\",\"type\":\"integer\"}},"
        "\"required\":[\"a\",\"z\"],\"type\":\"object\"}";
    assert_string_equal(got, want);
    free(got);
    json_decref(out);
    assert_int_equal(krc_crd_k8s_schema(schemas, "io.k8s.api.core.v1.Nope", &out, &err),
                     KRC_EINVAL);
    assert_non_null(strstr(err.msg, "no OpenAPI definition io.k8s.api.core.v1.Nope"));
    json_decref(schemas);

    /* the expanded header is recognised; the opaque one is not */
    assert_true(krc_crd_text_is_expanded("# Generated by hack/gen-crds.sh from "
                                         "src/api/crd_schema.c and the Kubernetes OpenAPI; do "
                                         "not edit by hand.\n---\n"));
    assert_false(krc_crd_text_is_expanded("# Generated by x; do not edit\nand the Kubernetes "
                                          "OpenAPI"));
}

/* With the real pinned OpenAPI (skipped without it): pod templates are fully typed. */
static void test_k8s_pod_template_from_pinned_openapi(void **state)
{
    (void)state;
    char dir[4096];
    if (!k8s_openapi_dir(dir, sizeof(dir)))
        skip();
    json_t *k8s = NULL, *pts = NULL;
    struct krc_error err = {0};
    assert_int_equal(krc_crd_k8s_load(dir, &k8s, &err), 0);
    assert_int_equal(krc_crd_k8s_schema(k8s, "io.k8s.api.core.v1.PodTemplateSpec", &pts, &err), 0);
    json_t *spec = json_object_get(json_object_get(pts, "properties"), "spec");
    json_t *containers = json_object_get(json_object_get(spec, "properties"), "containers");
    json_t *c = json_object_get(containers, "items");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "required"), 0)),
                        "name");
    json_t *ports = json_object_get(json_object_get(c, "properties"), "ports");
    json_t *proto =
        json_object_get(json_object_get(json_object_get(ports, "items"), "properties"), "protocol");
    assert_string_equal(json_string_value(json_object_get(proto, "default")), "TCP");
    json_t *ips = json_object_get(json_object_get(spec, "properties"), "imagePullSecrets");
    json_t *name =
        json_object_get(json_object_get(json_object_get(ips, "items"), "properties"), "name");
    assert_string_equal(json_string_value(json_object_get(name, "default")), "");
    json_decref(pts);
    /* the whole expanded RayJob CRD renders */
    struct krc_strbuf out = KRC_STRBUF_INIT;
    assert_int_equal(krc_crd_render_file_k8s(KRC_CRD_RAYJOB, k8s, &out, &err), 0);
    assert_true(krc_crd_text_is_expanded(out.buf));
    assert_null(strstr(out.buf, "x-kubernetes-preserve-unknown-fields"));
    krc_strbuf_release(&out);
    json_decref(k8s);
}

static void test_render_is_deterministic_and_appends(void **state)
{
    (void)state;
    struct krc_strbuf a = KRC_STRBUF_INIT, b = KRC_STRBUF_INIT;
    assert_int_equal(krc_strbuf_adds(&b, "prefix\n"), 0);
    assert_int_equal(krc_crd_render(&a, NULL), 0);
    assert_int_equal(krc_crd_render(&b, NULL), 0);
    assert_int_equal(b.len, a.len + 7);
    assert_memory_equal(b.buf + 7, a.buf, a.len);
    assert_true(strncmp(a.buf, "# Generated by ", 15) == 0);
    krc_strbuf_release(&a);
    krc_strbuf_release(&b);
}

static const struct krc_crd_node *str_node(const struct krc_crd_node *n)
{
    assert_non_null(n);
    assert_int_equal(n->kind, KRC_CRD_STR);
    return n;
}

static void test_key_paths(void **state)
{
    (void)state;
    const struct krc_crd_node *crd = krc_crd_raycluster();
    assert_string_equal(str_node(krc_crd_path(crd, "metadata.name"))->str, "rayclusters.ray.io");
    assert_string_equal(str_node(krc_crd_path(crd, "spec.names.kind"))->str, "RayCluster");
    const struct krc_crd_node *v1 = krc_crd_path(crd, "spec.versions.0");
    assert_non_null(v1);
    assert_string_equal(str_node(krc_crd_get(v1, "name"))->str, "v1");
    /* the deprecated v1alpha1: served, not stored, the old field set, the same columns */
    const struct krc_crd_node *a1 = krc_crd_path(crd, "spec.versions.1");
    assert_string_equal(str_node(krc_crd_get(a1, "name"))->str, "v1alpha1");
    assert_int_equal(krc_crd_get(a1, "storage")->num, 0);
    assert_int_equal(krc_crd_get(a1, "deprecated")->num, 1);
    assert_string_equal(str_node(krc_crd_get(a1, "deprecationWarning"))->str,
                        "ray.io/v1alpha1 RayCluster is deprecated; use ray.io/v1 RayCluster. "
                        "v1alpha1 receives no new fields and will be unavailable in KubeRay 1.9.");
    assert_int_equal(krc_crd_len(krc_crd_get(a1, "additionalPrinterColumns")), 10);
    assert_null(krc_crd_path(a1, "schema.openAPIV3Schema.properties.spec.properties.managedBy"));
    assert_string_equal(
        str_node(krc_crd_path(a1, "schema.openAPIV3Schema.properties.spec.properties."
                                  "headGroupSpec.required.0"))
            ->str,
        "rayStartParams");
    assert_null(krc_crd_path(crd, "spec.versions.2"));

    /* rayStartParams is a map of strings, on the head and on every worker group. */
    const struct krc_crd_node *props =
        krc_crd_path(v1, "schema.openAPIV3Schema.properties.spec.properties");
    assert_non_null(props);
    const char *const rsp[] = {"headGroupSpec.properties.rayStartParams",
                               "workerGroupSpecs.items.properties.rayStartParams"};
    for (size_t i = 0; i < 2; i++) {
        const struct krc_crd_node *n = krc_crd_path(props, rsp[i]);
        assert_non_null(n);
        assert_string_equal(str_node(krc_crd_get(n, "type"))->str, "object");
        assert_string_equal(str_node(krc_crd_path(n, "additionalProperties.type"))->str, "string");
        assert_null(krc_crd_get(n, "properties"));
    }
    assert_string_equal(str_node(krc_crd_path(props, "headGroupSpec.required.0"))->str, "template");
    const struct krc_crd_node *max =
        krc_crd_path(props, "workerGroupSpecs.items.properties.maxReplicas.default");
    assert_non_null(max);
    assert_int_equal(max->kind, KRC_CRD_INT);
    assert_int_equal(max->num, 2147483647);

    /* The status subresource, so the operator can update status without touching spec. */
    const struct krc_crd_node *st = krc_crd_path(v1, "subresources.status");
    assert_non_null(st);
    assert_int_equal(st->kind, KRC_CRD_MAP);
    assert_int_equal(krc_crd_len(st), 0);
    assert_non_null(krc_crd_path(v1, "schema.openAPIV3Schema.properties.status.properties.state"));

    /* Printer columns: each has name, type and jsonPath; the first is desired workers. */
    const struct krc_crd_node *cols = krc_crd_get(v1, "additionalPrinterColumns");
    assert_non_null(cols);
    assert_int_equal(cols->kind, KRC_CRD_SEQ);
    assert_int_equal(krc_crd_len(cols), 10);
    for (size_t i = 0; i < krc_crd_len(cols); i++) {
        assert_non_null(str_node(krc_crd_get(cols->items[i], "name")));
        assert_non_null(str_node(krc_crd_get(cols->items[i], "type")));
        assert_int_equal(str_node(krc_crd_get(cols->items[i], "jsonPath"))->str[0], '.');
    }
    assert_string_equal(krc_crd_get(cols->items[0], "jsonPath")->str,
                        ".status.desiredWorkerReplicas");

    assert_null(krc_crd_path(crd, "spec.nosuch"));
    assert_null(krc_crd_path(crd, "spec..group"));
    assert_null(krc_crd_path(crd, "spec.versions.x"));
}

/* Printer columns as (name, type, jsonPath) triples. */
static void assert_columns(const struct krc_crd_node *cols, const char *const (*want)[3], size_t n)
{
    assert_non_null(cols);
    assert_int_equal(krc_crd_len(cols), n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(str_node(krc_crd_get(cols->items[i], "name"))->str, want[i][0]);
        assert_string_equal(str_node(krc_crd_get(cols->items[i], "type"))->str, want[i][1]);
        assert_string_equal(str_node(krc_crd_get(cols->items[i], "jsonPath"))->str, want[i][2]);
        assert_null(krc_crd_get(cols->items[i], "priority"));
    }
}

static const char *default_str(const struct krc_crd_node *props, const char *path)
{
    const struct krc_crd_node *n = krc_crd_path(props, path);
    assert_non_null(n);
    return str_node(krc_crd_get(n, "default"))->str;
}

static long long default_int(const struct krc_crd_node *props, const char *path)
{
    const struct krc_crd_node *n = krc_crd_path(props, path);
    assert_non_null(n);
    const struct krc_crd_node *d = krc_crd_get(n, "default");
    assert_non_null(d);
    assert_int_equal(d->kind, KRC_CRD_INT);
    return d->num;
}

static void test_rayjob_crd(void **state)
{
    (void)state;
    const struct krc_crd_node *crd = krc_crd_rayjob();
    assert_string_equal(str_node(krc_crd_path(crd, "metadata.name"))->str, "rayjobs.ray.io");
    assert_string_equal(str_node(krc_crd_path(crd, "spec.names.kind"))->str, "RayJob");
    assert_string_equal(str_node(krc_crd_path(crd, "spec.names.listKind"))->str, "RayJobList");
    assert_string_equal(str_node(krc_crd_path(crd, "spec.names.categories.0"))->str, "all");
    assert_null(krc_crd_path(crd, "spec.names.shortNames"));
    assert_string_equal(str_node(krc_crd_path(crd, "spec.scope"))->str, "Namespaced");
    const struct krc_crd_node *v1 = krc_crd_path(crd, "spec.versions.0");
    assert_string_equal(str_node(krc_crd_get(v1, "name"))->str, "v1");
    assert_int_equal(krc_crd_len(krc_crd_path(v1, "subresources")), 1); /* status, no scale */
    assert_non_null(krc_crd_path(v1, "subresources.status"));
    static const char *const cols[][3] = {
        {"job status", "string", ".status.jobStatus"},
        {"deployment status", "string", ".status.jobDeploymentStatus"},
        {"ray cluster name", "string", ".status.rayClusterName"},
        {"start time", "string", ".status.startTime"},
        {"end time", "string", ".status.endTime"},
        {"age", "date", ".metadata.creationTimestamp"},
    };
    assert_columns(krc_crd_get(v1, "additionalPrinterColumns"), cols, 6);

    const struct krc_crd_node *props =
        krc_crd_path(v1, "schema.openAPIV3Schema.properties.spec.properties");
    assert_non_null(props);
    assert_int_equal(default_int(props, "backoffLimit"), 0);
    assert_int_equal(default_int(props, "ttlSecondsAfterFinished"), 0);
    assert_string_equal(default_str(props, "submissionMode"), "K8sJobMode");
    assert_int_equal(krc_crd_path(props, "preRunningDeadlineSeconds.minimum")->num, 1);
    assert_string_equal(str_node(krc_crd_path(props, "entrypointNumCpus.type"))->str, "number");
    /* rayClusterSpec is the RayCluster spec node itself */
    assert_ptr_equal(krc_crd_get(props, "rayClusterSpec"),
                     krc_crd_path(krc_crd_raycluster(),
                                  "spec.versions.0.schema.openAPIV3Schema.properties.spec"));
    const struct krc_crd_node *rules =
        krc_crd_path(props, "deletionStrategy.properties.deletionRules");
    assert_int_equal(krc_crd_get(rules, "minItems")->num, 1);
    assert_string_equal(str_node(krc_crd_get(rules, "x-kubernetes-list-type"))->str, "atomic");
    assert_int_equal(default_int(rules, "items.properties.condition.properties.ttlSeconds"), 0);
    assert_int_equal(krc_crd_len(krc_crd_path(props, "deletionStrategy.x-kubernetes-validations")),
                     2);
    assert_string_equal(
        str_node(krc_crd_path(props, "deletionStrategy.x-kubernetes-validations.1.message"))->str,
        "deletionStrategy requires either BOTH onSuccess and onFailure, OR the deletionRules "
        "field (cannot be empty)");
    assert_string_equal(
        str_node(krc_crd_path(props, "managedBy.x-kubernetes-validations.0.rule"))->str,
        "self == oldSelf");

    const struct krc_crd_node *st =
        krc_crd_path(v1, "schema.openAPIV3Schema.properties.status.properties");
    assert_int_equal(default_int(st, "succeeded"), 0);
    assert_int_equal(default_int(st, "failed"), 0);
    assert_string_equal(str_node(krc_crd_path(st, "startTime.format"))->str, "date-time");
    assert_non_null(krc_crd_path(st, "rayClusterStatus.properties.state"));
    assert_non_null(krc_crd_path(st, "rayJobInfo.properties.endTime"));

    /* the deprecated v1alpha1: served, not stored, with KubeRay's warning */
    const struct krc_crd_node *a1 = krc_crd_path(crd, "spec.versions.1");
    assert_string_equal(str_node(krc_crd_get(a1, "name"))->str, "v1alpha1");
    assert_int_equal(krc_crd_get(a1, "served")->num, 1);
    assert_int_equal(krc_crd_get(a1, "storage")->num, 0);
    assert_int_equal(krc_crd_get(a1, "deprecated")->num, 1);
    assert_string_equal(str_node(krc_crd_get(a1, "deprecationWarning"))->str,
                        "ray.io/v1alpha1 RayJob is deprecated; use ray.io/v1 RayJob. v1alpha1 "
                        "receives no new fields and will be unavailable in KubeRay 1.9.");
    assert_null(krc_crd_get(a1, "additionalPrinterColumns"));
    assert_string_equal(
        str_node(krc_crd_path(a1, "schema.openAPIV3Schema.properties.spec.required.0"))->str,
        "entrypoint");
    assert_null(krc_crd_path(crd, "spec.versions.2"));
}

static void test_raycronjob_crd(void **state)
{
    (void)state;
    const struct krc_crd_node *crd = krc_crd_raycronjob();
    assert_string_equal(str_node(krc_crd_path(crd, "metadata.name"))->str, "raycronjobs.ray.io");
    assert_string_equal(str_node(krc_crd_path(crd, "spec.names.kind"))->str, "RayCronJob");
    const struct krc_crd_node *v1 = krc_crd_path(crd, "spec.versions.0");
    assert_null(krc_crd_path(crd, "spec.versions.1"));
    assert_non_null(krc_crd_path(v1, "subresources.status"));
    static const char *const cols[][3] = {
        {"schedule", "string", ".spec.schedule"},
        {"timezone", "string", ".spec.timeZone"},
        {"last schedule", "date", ".status.lastScheduleTime"},
        {"age", "date", ".metadata.creationTimestamp"},
        {"suspend", "boolean", ".spec.suspend"},
    };
    assert_columns(krc_crd_get(v1, "additionalPrinterColumns"), cols, 5);
    const struct krc_crd_node *spec = krc_crd_path(v1, "schema.openAPIV3Schema.properties.spec");
    assert_string_equal(str_node(krc_crd_path(spec, "required.0"))->str, "jobTemplate");
    assert_string_equal(str_node(krc_crd_path(spec, "required.1"))->str, "schedule");
    assert_int_equal(krc_crd_path(spec, "properties.timeZone.minLength")->num, 1);
    /* jobTemplate is the RayJob spec node */
    assert_ptr_equal(
        krc_crd_path(spec, "properties.jobTemplate"),
        krc_crd_path(krc_crd_rayjob(), "spec.versions.0.schema.openAPIV3Schema.properties.spec"));
}

#define S(v)  (&(const struct krc_crd_node){.kind = KRC_CRD_STR, .str = (v)})
#define ITEMS (const struct krc_crd_node *const[])

static const struct krc_crd_node shared_kv = {
    .kind = KRC_CRD_MAP,
    .shared = true,
    .entries = (const struct krc_crd_entry[]){{"k", S("v")}, {NULL, NULL}}};
static const struct krc_crd_node lonely = {
    .kind = KRC_CRD_MAP,
    .shared = true,
    .entries = (const struct krc_crd_entry[]){{"once", S("only")}, {NULL, NULL}}};

/* Expected text from PyYAML 6 yaml.safe_dump(..., sort_keys=False, width=100) of the same tree. */
static void test_formatting_matches_pyyaml(void **state)
{
    (void)state;
    static const char *const strs[] = {
        "True", "false", "0",          "1.5",  "null", "",     "2024-01-02", "<<",    "=", "x: y",
        "- x",  "#c",    "plain text", "0x1F", "yes",  "it's", ".inf",       "1_000", "on"};
    enum { N = sizeof(strs) / sizeof(strs[0]) };
    struct krc_crd_node nodes[N];
    const struct krc_crd_node *items[N + 1];
    for (size_t i = 0; i < N; i++) {
        nodes[i] = (struct krc_crd_node){.kind = KRC_CRD_STR, .str = strs[i]};
        items[i] = &nodes[i];
    }
    items[N] = NULL;
    const struct krc_crd_node seq = {.kind = KRC_CRD_SEQ, .items = items};
    const struct krc_crd_node empty_seq = {.kind = KRC_CRD_SEQ, .items = ITEMS{NULL}};
    const struct krc_crd_node inner = {
        .kind = KRC_CRD_MAP,
        .entries = (const struct krc_crd_entry[]){{"x", S("y")}, {"z", &empty_seq}, {NULL, NULL}}};
    const struct krc_crd_node list = {.kind = KRC_CRD_SEQ, .items = ITEMS{&inner, NULL}};
    const struct krc_crd_node root = {
        .kind = KRC_CRD_MAP,
        .entries = (const struct krc_crd_entry[]){
            {"a", &seq},
            {"n", &(const struct krc_crd_node){.kind = KRC_CRD_INT, .num = 7}},
            {"b", &(const struct krc_crd_node){.kind = KRC_CRD_BOOL, .num = 0}},
            {"e",
             &(const struct krc_crd_node){.kind = KRC_CRD_MAP,
                                          .entries = (const struct krc_crd_entry[]){{NULL, NULL}}}},
            {"s1", &shared_kv},
            {"s2", &shared_kv},
            {"l", &list},
            {"o", &lonely},
            {NULL, NULL}}};
    static const char want[] =
        "a:\n- 'True'\n- 'false'\n- '0'\n- '1.5'\n- 'null'\n- ''\n- '2024-01-02'\n- '<<'\n"
        "- '='\n- 'x: y'\n- '- x'\n- '#c'\n- plain text\n- '0x1F'\n- 'yes'\n- it's\n- '.inf'\n"
        "- '1_000'\n- 'on'\nn: 7\nb: false\ne: {}\ns1: &id001\n  k: v\ns2: *id001\nl:\n"
        "- x: y\n  z: []\no:\n  once: only\n";
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    assert_int_equal(krc_crd_render_yaml(&root, &out, &err), 0);
    assert_string_equal(out.buf, want);
    krc_strbuf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_committed_crds_match_tables),
        cmocka_unit_test(test_k8s_schema_conversion),
        cmocka_unit_test(test_k8s_pod_template_from_pinned_openapi),
        cmocka_unit_test(test_rayjob_crd),
        cmocka_unit_test(test_raycronjob_crd),
        cmocka_unit_test(test_render_is_deterministic_and_appends),
        cmocka_unit_test(test_key_paths),
        cmocka_unit_test(test_formatting_matches_pyyaml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
