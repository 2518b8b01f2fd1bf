/* crd_k8s.c - structural CRD schemas of embedded Kubernetes types (PodTemplateSpec, Service,
 * ResourceRequirements, ...) from the pinned Kubernetes' own OpenAPI v3 documents.
 *
 * KubeRay's CRDs carry the full schema of every embedded Kubernetes type, as controller-gen
 * writes it from the Go types; the API server then prunes unknown fields, applies defaults and
 * type-checks pod templates when a RayCluster/RayJob is written. The same facts are in the
 * OpenAPI v3 documents Kubernetes publishes (api/openapi-spec/v3 of the k8s.io/kubernetes module,
 * which hack/toolchain.sh already downloads to build the control plane), so they are read from
 * there rather than written down again: $refs are inlined; Quantity, IntOrString, Time and the
 * embedded ObjectMeta get controller-gen's special forms; only structural keywords survive
 * (type, format, properties, items, additionalProperties, required, the x-kubernetes list/map
 * markers, scalar defaults except the zero defaults openapi-gen writes on required fields).
 *
 * Known differences from controller-gen, which reads Go markers the OpenAPI does not carry: the
 * non-zero +default=ref(...) markers controller-gen ignores are kept (azureDisk cachingMode and
 * kind, which pod defaulting sets anyway), the validation markers of metav1.Condition (pattern,
 * maxLength, enum: only in an embedded Service's status) are missing, and +structType=atomic is
 * lost where the OpenAPI does not repeat it (except on types embedding LocalObjectReference, see
 * below). None changes which objects are accepted; hack/check-crd-paths.sh compares the paths
 * and types with KubeRay's CRDs. */
#include "api/crd_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K8S_MAX_DEPTH     64 /* PodTemplateSpec nests ~15 deep; the API types have no cycles */
#define OPENAPI_MAX_BYTES (16u << 20)

static const char *const OPENAPI_FILES[] = {
    "api__v1_openapi.json",                     /* core/v1: PodTemplateSpec, Service, ... */
    "apis__networking.k8s.io__v1_openapi.json", /* IngressTLS, NetworkPolicy rules */
};

#define LOCAL_OBJECT_REFERENCE "io.k8s.api.core.v1.LocalObjectReference"

#define QUANTITY_PATTERN                                                                           \
    "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+("   \
    "\\.[0-9]*)?)|(\\.[0-9]+))))?$"

int krc_crd_k8s_load(const char *dir, json_t **schemas, struct krc_error *err)
{
    json_t *all = json_object();
    *schemas = NULL;
    if (!all)
        return krc_error_set(err, KRC_ENOMEM, "crd: out of memory");
    for (size_t i = 0; i < sizeof(OPENAPI_FILES) / sizeof(OPENAPI_FILES[0]); i++) {
        char path[4096];
        json_error_t jerr;
        if (snprintf(path, sizeof(path), "%s/%s", dir, OPENAPI_FILES[i]) >= (int)sizeof(path)) {
            json_decref(all);
            return krc_error_set(err, KRC_EINVAL, "crd: path too long: %s", dir);
        }
        json_t *doc = json_load_file(path, 0, &jerr);
        json_t *s = doc ? json_object_get(json_object_get(doc, "components"), "schemas") : NULL;
        if (!json_is_object(s) || json_object_update(all, s)) {
            json_decref(doc);
            json_decref(all);
            return krc_error_set(err, KRC_EINVAL, "crd: %s: %s", path,
                                 doc ? "no components.schemas object" : jerr.text);
        }
        json_decref(doc);
    }
    *schemas = all;
    return 0;
}

struct conv {
    const json_t *schemas;
    struct krc_error *err;
    int depth;
};

static json_t *convert(struct conv *c, const json_t *s);

static json_t *int_or_string(bool quantity)
{
    json_t *o = json_pack("{s:[{s:s},{s:s}],s:b}", "anyOf", "type", "integer", "type", "string",
                          "x-kubernetes-int-or-string", 1);
    if (o && quantity && json_object_set_new(o, "pattern", json_string(QUANTITY_PATTERN))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* What controller-gen writes for an embedded ObjectMeta (crd:generateEmbeddedObjectMeta). */
static json_t *embedded_object_meta(void)
{
    return json_pack("{s:s,s:{s:{s:s,s:{s:s}},s:{s:s,s:{s:s}},s:{s:s,s:{s:s}},s:{s:s},s:{s:s}}}",
                     "type", "object", "properties", "annotations", "type", "object",
                     "additionalProperties", "type", "string", "finalizers", "type", "array",
                     "items", "type", "string", "labels", "type", "object", "additionalProperties",
                     "type", "string", "name", "type", "string", "namespace", "type", "string");
}

/* True when the type def (named name) embeds LocalObjectReference inline (ConfigMapEnvSource,
 * ConfigMapVolumeSource, SecretProjection, ...): controller-gen carries the embedded struct's
 * +structType=atomic over to the outer type, the OpenAPI flattens the embedding away. It is
 * recognised by LocalObjectReference's own "name" property (description included). */
static bool inlines_local_object_reference(const json_t *schemas, const char *name,
                                           const json_t *def)
{
    if (!strcmp(name, LOCAL_OBJECT_REFERENCE))
        return false;
    const json_t *lor = json_object_get(schemas, LOCAL_OBJECT_REFERENCE);
    const json_t *want = json_object_get(json_object_get(lor, "properties"), "name");
    const json_t *have = json_object_get(json_object_get(def, "properties"), "name");
    return want && have && json_equal(want, have);
}

static json_t *convert_ref(struct conv *c, const char *ref)
{
    const char *name = strrchr(ref, '/');
    name = name ? name + 1 : ref;
    if (!strcmp(name, "io.k8s.apimachinery.pkg.api.resource.Quantity"))
        return int_or_string(true);
    if (!strcmp(name, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"))
        return int_or_string(false);
    if (!strcmp(name, "io.k8s.apimachinery.pkg.apis.meta.v1.Time") ||
        !strcmp(name, "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"))
        return json_pack("{s:s,s:s}", "type", "string", "format", "date-time");
    if (!strcmp(name, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"))
        return embedded_object_meta();
    const json_t *def = json_object_get(c->schemas, name);
    if (!json_is_object(def)) {
        krc_error_set(c->err, KRC_EINVAL, "crd: no OpenAPI definition %s", name);
        return NULL;
    }
    json_t *out = convert(c, def);
    if (out && json_object_get(out, "properties") && !json_object_get(out, "type") &&
        json_object_set_new(out, "type", json_string("object"))) {
        json_decref(out);
        return NULL;
    }
    if (out && inlines_local_object_reference(c->schemas, name, def) &&
        !json_object_get(out, "x-kubernetes-map-type") &&
        json_object_set_new(out, "x-kubernetes-map-type", json_string("atomic"))) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static bool zero_value(const json_t *v)
{
    return json_is_null(v) || json_is_false(v) || (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_integer(v) && json_integer_value(v) == 0) ||
           (json_is_real(v) && json_real_value(v) == 0);
}

static bool array_has_string(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), s))
            return true;
    }
    return false;
}

/* openapi-gen writes the zero value as the default of every required field and of every field
 * with a +default marker; controller-gen writes only the markers. A zero default on a property
 * its object does not list as required comes from a marker (LocalObjectReference's name: "",
 * FileKeySelector's optional: false, ...) and is kept; the zero defaults of required properties,
 * of list items and of map values are dropped. (Checked against KubeRay's CRDs with
 * hack/check-crd-paths.sh: the same zero defaults on the same paths.) */
static void prune_zero_defaults(json_t *schema, bool required)
{
    json_t *d = json_object_get(schema, "default");
    if (d && zero_value(d) && required)
        json_object_del(schema, "default");
    json_t *req = json_object_get(schema, "required");
    json_t *props = json_object_get(schema, "properties");
    const char *k;
    json_t *v;
    json_object_foreach(props, k, v)
    {
        prune_zero_defaults(v, array_has_string(req, k));
    }
    json_t *items = json_object_get(schema, "items");
    if (json_is_object(items))
        prune_zero_defaults(items, true);
    json_t *ap = json_object_get(schema, "additionalProperties");
    if (json_is_object(ap))
        prune_zero_defaults(ap, true);
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* controller-gen lists required properties sorted; so does this. Non-strings are left alone. */
static int sort_strings(json_t *arr)
{
    size_t n = json_array_size(arr);
    if (n < 2)
        return 0;
    json_t **v = calloc(n, sizeof(*v));
    if (!v)
        return KRC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        v[i] = json_array_get(arr, i);
        if (!json_is_string(v[i])) {
            free(v);
            return 0;
        }
        json_incref(v[i]);
    }
    qsort(v, n, sizeof(*v), cmp_json_str);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (json_array_set_new(arr, i, v[i]))
            rc = KRC_ENOMEM;
    free(v);
    return rc;
}

/* Copies the structural keywords of s into out (converting nested schemas). */
static int copy_keywords(struct conv *c, const json_t *s, json_t *out)
{
    static const char *const plain[] = {"type",
                                        "format",
                                        "required",
                                        "x-kubernetes-list-type",
                                        "x-kubernetes-list-map-keys",
                                        "x-kubernetes-map-type"};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        json_t *v = json_object_get(s, plain[i]);
        if (v && json_object_set_new(out, plain[i], json_deep_copy(v)))
            return KRC_ENOMEM;
    }
    if (sort_strings(json_object_get(out, "required")))
        return KRC_ENOMEM;
    /* scalar defaults are kept here; prune_zero_defaults() drops the zero ones afterwards */
    json_t *def = json_object_get(s, "default");
    if (def && !json_is_object(def) && !json_is_array(def) &&
        json_object_set_new(out, "default", json_deep_copy(def)))
        return KRC_ENOMEM;
    static const char *const nested[] = {"items", "additionalProperties"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(s, nested[i]);
        if (!json_is_object(v))
            continue;
        json_t *conv_v = convert(c, v);
        if (!conv_v || json_object_set_new(out, nested[i], conv_v))
            return c->err && c->err->code ? c->err->code : KRC_ENOMEM;
    }
    json_t *props = json_object_get(s, "properties");
    if (json_is_object(props)) {
        json_t *p = json_object();
        if (!p || json_object_set_new(out, "properties", p))
            return KRC_ENOMEM;
        const char *k;
        json_t *v;
        json_object_foreach(props, k, v)
        {
            json_t *conv_v = convert(c, v);
            if (!conv_v || json_object_set_new(p, k, conv_v))
                return c->err && c->err->code ? c->err->code : KRC_ENOMEM;
        }
    }
    return 0;
}

static json_t *convert(struct conv *c, const json_t *s)
{
    if (++c->depth > K8S_MAX_DEPTH) {
        krc_error_set(c->err, KRC_EINVAL, "crd: OpenAPI schema nested deeper than %d",
                      K8S_MAX_DEPTH);
        c->depth--;
        return NULL;
    }
    json_t *out = NULL;
    const char *ref = json_string_value(json_object_get(s, "$ref"));
    json_t *all_of = json_object_get(s, "allOf");
    if (ref) {
        out = convert_ref(c, ref);
    } else if (json_is_array(all_of) && json_array_size(all_of) == 1) {
        /* {allOf: [{$ref}], default: ..., description: ...}: the type plus local keywords */
        out = convert(c, json_array_get(all_of, 0));
        if (out && copy_keywords(c, s, out)) {
            json_decref(out);
            out = NULL;
        }
    } else {
        out = json_object();
        if (out && copy_keywords(c, s, out)) {
            json_decref(out);
            out = NULL;
        }
    }
    c->depth--;
    return out;
}

int krc_crd_k8s_schema(const json_t *schemas, const char *name, json_t **out, struct krc_error *err)
{
    struct krc_error local = {0};
    struct conv c = {schemas, err ? err : &local, 0};
    c.err->code = 0;
    char ref[512];
    snprintf(ref, sizeof(ref), "#/components/schemas/%s", name);
    *out = convert_ref(&c, ref);
    if (*out) {
        prune_zero_defaults(*out, true);
        return 0;
    }
    if (c.err->code)
        return c.err->code;
    return krc_error_set(err, KRC_ENOMEM, "crd: out of memory converting %s", name);
}
