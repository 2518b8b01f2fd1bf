/* rayservice_status.c - pure operations on RayService status objects (JSON, see rayservice.h):
 * conditions with meta.SetStatusCondition semantics and the "should this be written" comparison
 * of spec §5.3. */
#include "api/rayservice.h"

#include "api/kobj.h"

#include <string.h>

json_t *rayservice_status_condition(const json_t *status, const char *type)
{
    json_t *c;
    size_t i;
    json_array_foreach(kobj_arr(status, "conditions"), i, c)
    {
        const char *t = kobj_str(c, "type");
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

bool rayservice_status_condition_true(const json_t *status, const char *type)
{
    const char *s = kobj_str(rayservice_status_condition(status, type), "status");
    return s && strcmp(s, "True") == 0;
}

int rayservice_status_set_condition(json_t *status, const char *type, const char *cstatus,
                                    const char *reason, const char *message, const char *now)
{
    json_t *c = rayservice_status_condition(status, type);
    json_t *gen = json_object_get(status, "observedGeneration");
    json_int_t g = json_is_integer(gen) ? json_integer_value(gen) : 0;
    if (!c) {
        json_t *list = kobj_ensure_arr(status, "conditions");
        c = json_object();
        if (!list || !c || kobj_set_str(c, "type", type) ||
            kobj_set_str(c, "lastTransitionTime", now) || kobj_append_new(list, json_incref(c))) {
            json_decref(c);
            return KRC_ENOMEM;
        }
        json_decref(c); /* the list holds it */
    } else {
        const char *old = kobj_str(c, "status");
        if ((!old || strcmp(old, cstatus) != 0) && kobj_set_str(c, "lastTransitionTime", now))
            return KRC_ENOMEM;
    }
    if (kobj_set_str(c, "status", cstatus) || kobj_set_str(c, "reason", reason) ||
        kobj_set_str(c, "message", message ? message : ""))
        return KRC_ENOMEM;
    if (g > 0 ? kobj_set_new(c, "observedGeneration", json_integer(g))
              : (json_object_del(c, "observedGeneration"), 0))
        return KRC_ENOMEM;
    return 0;
}

void rayservice_status_remove_condition(json_t *status, const char *type)
{
    json_t *list = kobj_arr(status, "conditions"), *c;
    size_t i;
    json_array_foreach(list, i, c)
    {
        const char *t = kobj_str(c, "type");
        if (t && strcmp(t, type) == 0) {
            json_array_remove(list, i);
            return;
        }
    }
}

static const char *side_key(bool pending)
{
    return pending ? "pendingServiceStatus" : "activeServiceStatus";
}

const char *rayservice_status_cluster_name(const json_t *status, bool pending)
{
    const char *n = kobj_str(kobj_obj(status, side_key(pending)), "rayClusterName");
    return n ? n : "";
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Objects compared as Go compares the typed maps: absent and empty are the same. */
static bool map_eq(const json_t *a, const json_t *b)
{
    size_t na = json_is_object(a) ? json_object_size(a) : 0;
    size_t nb = json_is_object(b) ? json_object_size(b) : 0;
    return (na == 0 && nb == 0) || (na == nb && json_equal(a, b));
}

static bool side_differs(const json_t *a, const json_t *b, bool pending)
{
    const json_t *sa = kobj_obj(a, side_key(pending)), *sb = kobj_obj(b, side_key(pending));
    return !str_eq(kobj_str(sa, "rayClusterName"), kobj_str(sb, "rayClusterName")) ||
           !map_eq(kobj_obj(sa, "applicationStatuses"), kobj_obj(sb, "applicationStatuses"));
}

bool rayservice_status_differs(const json_t *a, const json_t *b)
{
    json_t *ea = json_object_get(a, "numServeEndpoints");
    json_t *eb = json_object_get(b, "numServeEndpoints");
    json_int_t na = json_is_integer(ea) ? json_integer_value(ea) : 0;
    json_int_t nb = json_is_integer(eb) ? json_integer_value(eb) : 0;
    json_t *ca = kobj_arr(a, "conditions"), *cb = kobj_arr(b, "conditions");
    bool conds_eq = (json_array_size(ca) == 0 && json_array_size(cb) == 0) || json_equal(ca, cb);
    return !str_eq(kobj_str(a, "serviceStatus"), kobj_str(b, "serviceStatus")) || na != nb ||
           !conds_eq || side_differs(a, b, false) || side_differs(a, b, true);
}
