/* rayjob_defaults.c - the RayJob CRD's structural defaults, applied as the API server applies
 * them (only where the member is absent; null counts as absent). Objects read from the API server
 * already carry them; this is for manifests read from files and for tests, so that parsing a file
 * sees what the operator would see after `kubectl apply`. */
#include "api/rayjob.h"

#include "api/kobj.h"

static int default_int(json_t *obj, const char *key, json_int_t v)
{
    json_t *cur = json_object_get(obj, key);
    if (cur && !json_is_null(cur))
        return 0;
    return kobj_set_new(obj, key, json_integer(v));
}

static int default_str(json_t *obj, const char *key, const char *v)
{
    json_t *cur = json_object_get(obj, key);
    if (cur && !json_is_null(cur))
        return 0;
    return kobj_set_str(obj, key, v);
}

int rayjob_spec_apply_schema_defaults(json_t *spec)
{
    int rc;
    if (!json_is_object(spec))
        return 0;
    if ((rc = default_int(spec, "backoffLimit", 0)) ||
        (rc = default_int(spec, "ttlSecondsAfterFinished", 0)) ||
        (rc = default_str(spec, "submissionMode", "K8sJobMode")))
        return rc;
    json_t *rules = kobj_arr(kobj_obj(spec, "deletionStrategy"), "deletionRules");
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        json_t *cond = kobj_obj(r, "condition");
        if (cond && (rc = default_int(cond, "ttlSeconds", 0)))
            return rc;
    }
    json_t *cluster_spec = kobj_obj(spec, "rayClusterSpec");
    if (!cluster_spec)
        return 0;
    /* raycluster_apply_schema_defaults works on a document; lend it the spec. */
    json_t *wrapper = json_object();
    if (!wrapper || json_object_set(wrapper, "spec", cluster_spec)) {
        json_decref(wrapper);
        return KRC_ENOMEM;
    }
    rc = raycluster_apply_schema_defaults(wrapper);
    json_decref(wrapper);
    return rc;
}

int rayjob_apply_schema_defaults(json_t *doc)
{
    int rc = rayjob_spec_apply_schema_defaults(kobj_obj(doc, "spec"));
    if (rc)
        return rc;
    json_t *status = kobj_obj(doc, "status");
    if (status &&
        ((rc = default_int(status, "succeeded", 0)) || (rc = default_int(status, "failed", 0))))
        return rc;
    return 0;
}
