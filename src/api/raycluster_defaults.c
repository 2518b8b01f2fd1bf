/* raycluster_defaults.c - the CRD's structural defaults, applied the way the API server applies
 * them (only where the member is absent; null counts as absent). Kept apart from parsing because
 * objects read from the API server already carry them, and validation must see "absent" exactly
 * when KubeRay would. */
#include "api/raycluster.h"

#include "api/kobj.h"

static int default_int(json_t *obj, const char *key, json_int_t v)
{
    json_t *cur = json_object_get(obj, key);
    if (cur && !json_is_null(cur))
        return 0;
    return kobj_set_new(obj, key, json_integer(v));
}

int raycluster_apply_schema_defaults(json_t *doc)
{
    json_t *spec = kobj_obj(doc, "spec");
    json_t *workers = kobj_arr(spec, "workerGroupSpecs");
    size_t i;
    json_t *w;
    json_array_foreach(workers, i, w)
    {
        if (!json_is_object(w))
            continue;
        int rc;
        if ((rc = default_int(w, "replicas", 0)) || (rc = default_int(w, "minReplicas", 0)) ||
            (rc = default_int(w, "maxReplicas", INT32_MAX)) ||
            (rc = default_int(w, "numOfHosts", 1)) || (rc = default_int(w, "priority", 0)))
            return rc;
    }
    json_t *np = kobj_obj(spec, "networkPolicy");
    if (np && !kobj_str(np, "mode") && kobj_set_str(np, "mode", "DenyAll"))
        return KRC_ENOMEM;
    return 0;
}
