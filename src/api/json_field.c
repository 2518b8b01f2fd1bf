/* json_field.c - typed JSON member getters with path-naming errors (see json_field.h).
 *
 * One getter per JSON shape the ray.io/v1 types use, so the three parsers report a wrong type in
 * one format and treat null and absence alike. The getters are deliberately dumb: no defaults
 * beyond "absent", no semantic checks (those are *_validate). */
#include "api/json_field.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void json_field_path(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(buf, JSON_FIELD_PATH_MAX, fmt, ap) < 0)
        buf[0] = '\0';
    va_end(ap);
}

const char *json_field_type_name(const json_t *v)
{
    if (!v)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

json_t *json_field_member(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

int json_field_fail(const struct json_field_ctx *c, const char *path, const char *key,
                    const char *what, const json_t *got)
{
    return krc_error_set(c->err, KRC_EINVAL, "%s %s/%s: %s%s%s: expected %s, got %s", c->kind,
                         c->ns, c->name, path, *path ? "." : "", key, what,
                         json_field_type_name(got));
}

int json_field_fail_at(const struct json_field_ctx *c, const char *path, const char *what,
                       const json_t *got)
{
    return krc_error_set(c->err, KRC_EINVAL, "%s %s/%s: %s: expected %s, got %s", c->kind, c->ns,
                         c->name, path, what, json_field_type_name(got));
}

int json_field_oom(const struct json_field_ctx *c)
{
    return krc_error_set(c->err, KRC_ENOMEM, "%s %s/%s: out of memory", c->kind, c->ns, c->name);
}

/* Whether v has JSON type t, where JSON_TRUE stands for either boolean and JSON_REAL for any
 * number (integer or real), the two shapes Go decodes more loosely than jansson types them. */
static bool has_type(const json_t *v, json_type t)
{
    switch (t) {
    case JSON_TRUE:
    case JSON_FALSE:
        return json_is_boolean(v);
    case JSON_REAL:
        return json_is_number(v);
    default:
        return json_typeof(v) == t;
    }
}

/* obj[key] when present and of type t; *out is NULL when absent. */
static int get_typed(const struct json_field_ctx *c, const json_t *obj, const char *path,
                     const char *key, json_type t, const char *what, json_t **out)
{
    json_t *v = json_field_member(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!has_type(v, t))
        return json_field_fail(c, path, key, what, v);
    *out = v;
    return 0;
}

int json_field_str(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, const char **out)
{
    json_t *v;
    int rc = get_typed(c, obj, path, key, JSON_STRING, "a string", &v);
    *out = v ? json_string_value(v) : NULL;
    return rc;
}

int json_field_str_or_empty(const struct json_field_ctx *c, const json_t *obj, const char *path,
                            const char *key, const char **out)
{
    int rc = json_field_str(c, obj, path, key, out);
    if (!rc && !*out)
        *out = "";
    return rc;
}

int json_field_i32(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, struct rc_opt_i32 *out)
{
    json_t *v;
    int rc = get_typed(c, obj, path, key, JSON_INTEGER, "an int32", &v);
    out->set = false;
    out->v = 0;
    if (rc || !v)
        return rc;
    json_int_t n = json_integer_value(v);
    if (n < INT32_MIN || n > INT32_MAX)
        return krc_error_set(c->err, KRC_EINVAL, "%s %s/%s: %s%s%s: %lld does not fit in an int32",
                             c->kind, c->ns, c->name, path, *path ? "." : "", key, (long long)n);
    out->set = true;
    out->v = (int32_t)n;
    return 0;
}

int json_field_i64(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, int64_t *out)
{
    json_t *v;
    int rc = get_typed(c, obj, path, key, JSON_INTEGER, "an integer", &v);
    *out = v ? (int64_t)json_integer_value(v) : 0;
    return rc;
}

int json_field_f32(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, double *out)
{
    json_t *v;
    int rc = get_typed(c, obj, path, key, JSON_REAL, "a number", &v);
    *out = v ? (double)(float)json_number_value(v) : 0;
    return rc;
}

int json_field_bool(const struct json_field_ctx *c, const json_t *obj, const char *path,
                    const char *key, bool *out)
{
    json_t *v;
    int rc = get_typed(c, obj, path, key, JSON_TRUE, "a boolean", &v);
    *out = json_is_true(v);
    return rc;
}

int json_field_opt_bool(const struct json_field_ctx *c, const json_t *obj, const char *path,
                        const char *key, struct rc_opt_bool *out)
{
    json_t *v;
    int rc = get_typed(c, obj, path, key, JSON_TRUE, "a boolean", &v);
    out->set = v != NULL;
    out->v = json_is_true(v);
    return rc;
}

int json_field_obj(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, json_t **out)
{
    return get_typed(c, obj, path, key, JSON_OBJECT, "an object", out);
}

int json_field_obj_required(const struct json_field_ctx *c, const json_t *obj, const char *path,
                            const char *key, json_t **out)
{
    int rc = json_field_obj(c, obj, path, key, out);
    if (!rc && !*out)
        return json_field_fail(c, path, key, "an object (the field is required)", NULL);
    return rc;
}

int json_field_arr(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, json_t **out)
{
    return get_typed(c, obj, path, key, JSON_ARRAY, "an array", out);
}

int json_field_str_map(const struct json_field_ctx *c, const json_t *obj, const char *path,
                       const char *key, json_t **out)
{
    json_t *map;
    int rc = json_field_obj(c, obj, path, key, &map);
    *out = NULL;
    if (rc || !map)
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v)
    {
        if (!json_is_string(v))
            return krc_error_set(
                c->err, KRC_EINVAL, "%s %s/%s: %s%s%s[\"%s\"]: expected a string, got %s", c->kind,
                c->ns, c->name, path, *path ? "." : "", key, k, json_field_type_name(v));
    }
    *out = map;
    return 0;
}

int json_field_str_list(const struct json_field_ctx *c, const json_t *obj, const char *path,
                        const char *key, json_t **out)
{
    json_t *list;
    int rc = json_field_arr(c, obj, path, key, &list);
    *out = NULL;
    if (rc || !list)
        return rc;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (!json_is_string(v))
            return krc_error_set(c->err, KRC_EINVAL,
                                 "%s %s/%s: %s%s%s[%zu]: expected a string, got %s", c->kind, c->ns,
                                 c->name, path, *path ? "." : "", key, i, json_field_type_name(v));
    }
    *out = list;
    return 0;
}

int json_field_objmeta(struct json_field_ctx *c, const json_t *doc, struct json_field_objmeta *m)
{
    json_t *meta;
    int rc;
    memset(m, 0, sizeof(*m));
    if ((rc = json_field_obj(c, doc, "", "metadata", &meta)) ||
        (rc = json_field_str_or_empty(c, meta, "metadata", "name", &m->name)))
        return rc;
    c->name = m->name;
    if ((rc = json_field_str_or_empty(c, meta, "metadata", "namespace", &m->ns)))
        return rc;
    c->ns = m->ns;
    if ((rc = json_field_str_or_empty(c, meta, "metadata", "uid", &m->uid)) ||
        (rc = json_field_str(c, meta, "metadata", "resourceVersion", &m->resource_version)) ||
        (rc = json_field_str(c, meta, "metadata", "creationTimestamp", &m->creation_timestamp)) ||
        (rc = json_field_str(c, meta, "metadata", "deletionTimestamp", &m->deletion_timestamp)) ||
        (rc = json_field_str_map(c, meta, "metadata", "labels", &m->labels)) ||
        (rc = json_field_str_map(c, meta, "metadata", "annotations", &m->annotations)) ||
        (rc = json_field_str_list(c, meta, "metadata", "finalizers", &m->finalizers)))
        return rc;
    return json_field_i64(c, meta, "metadata", "generation", &m->generation);
}
