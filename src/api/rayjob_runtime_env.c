/* rayjob_runtime_env.c - spec.runtimeEnvYAML -> JSON object, as KubeRay's
 * UnmarshalRuntimeEnvYAML does it (sigs.k8s.io/yaml: YAML -> JSON -> map[string]any).
 *
 * The YAML reading itself (go-yaml v2 typing, sigs.k8s.io/yaml key conversion) is
 * util/gojson.h; this file adds KubeRay's error wording, shared by validation and the dashboard
 * submission body: "failed to unmarshal RuntimeEnvYAML: <yaml>: " followed by
 * "error converting YAML to JSON: yaml: line N: <problem>" for malformed YAML, or
 * "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal <kind> into Go value of
 * type types.RuntimeEnvType" for a document that is not a mapping. */
#include "api/rayjob.h"

#include "util/gojson.h"

#include <stdio.h>
#include <string.h>

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "string";
    case JSON_ARRAY:
        return "array";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "number";
    }
}

static int fail(struct krc_error *err, struct krc_strbuf *full, const char *yaml, const char *what,
                const char *detail)
{
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    if (krc_strbuf_addf(&sb, "failed to unmarshal RuntimeEnvYAML: %s: %s%s", yaml, what, detail)) {
        krc_strbuf_release(&sb);
        return krc_error_set(err, KRC_ENOMEM, "runtimeEnvYAML: out of memory");
    }
    krc_error_set(err, KRC_EINVAL, "%s", sb.buf);
    int rc = KRC_EINVAL;
    if (full) {
        krc_strbuf_reset(full);
        if (krc_strbuf_add(full, sb.buf, sb.len))
            rc = krc_error_set(err, KRC_ENOMEM, "runtimeEnvYAML: out of memory");
    }
    krc_strbuf_release(&sb);
    return rc;
}

int rayjob_runtime_env_json(const char *yaml, json_t **out, struct krc_error *err,
                            struct krc_strbuf *full)
{
    json_t *v = NULL;
    struct krc_error why;
    *out = NULL;
    if (!yaml)
        yaml = "";
    krc_error_clear(&why);
    int rc = gojson_yaml_to_json(yaml, strlen(yaml), &v, &why);
    if (rc == KRC_ENOMEM)
        return krc_error_set(err, KRC_ENOMEM, "runtimeEnvYAML: out of memory");
    if (rc)
        return fail(err, full, yaml, "error converting YAML to JSON: ", why.msg);
    if (json_is_object(v)) {
        *out = v;
        return 0;
    }
    if (!json_is_null(v)) {
        char what[200];
        snprintf(what, sizeof(what),
                 "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal %s into Go "
                 "value of type types.RuntimeEnvType",
                 json_kind(v));
        rc = fail(err, full, yaml, what, "");
    }
    json_decref(v);
    return rc;
}
