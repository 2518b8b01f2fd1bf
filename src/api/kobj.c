/* kobj.c - jansson helpers for Kubernetes objects (see kobj.h). Lookups are linear scans: the
 * lists involved (env vars, mounts, ports, containers) hold a handful of entries, so an index
 * would cost more than it saves. */
#include "api/kobj.h"

#include "util/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *kobj_str(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *kobj_obj(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

json_t *kobj_arr(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_array(v) ? v : NULL;
}

json_t *kobj_path(const json_t *obj, const char *dotted)
{
    /* jansson's getters take const and return non-const; we do the same without a cast-qual
     * warning by going through uintptr_t. */
    json_t *cur = (json_t *)(uintptr_t)obj;
    const char *p = dotted;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_getn(cur, p, len);
        p += len;
        if (*p == '.')
            p++;
    }
    return cur;
}

const char *kobj_path_str(const json_t *obj, const char *dotted)
{
    json_t *v = kobj_path(obj, dotted);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *kobj_map_get(const json_t *map, const char *key)
{
    return kobj_str(map, key);
}

static json_t *ensure(json_t *parent, const char *key, bool want_object)
{
    if (!json_is_object(parent))
        return NULL;
    json_t *v = json_object_get(parent, key);
    if (v && !json_is_null(v))
        return (want_object ? json_is_object(v) : json_is_array(v)) ? v : NULL;
    v = want_object ? json_object() : json_array();
    if (!v || json_object_set_new(parent, key, v) != 0)
        return NULL;
    return v;
}

json_t *kobj_ensure_obj(json_t *parent, const char *key)
{
    return ensure(parent, key, true);
}

json_t *kobj_ensure_arr(json_t *parent, const char *key)
{
    return ensure(parent, key, false);
}

int kobj_set_str(json_t *parent, const char *key, const char *value)
{
    return kobj_set_new(parent, key, json_string(value));
}

int kobj_set_new(json_t *parent, const char *key, json_t *value)
{
    if (!value || !json_is_object(parent)) {
        json_decref(value);
        return KRC_ENOMEM;
    }
    return json_object_set_new(parent, key, value) == 0 ? 0 : KRC_ENOMEM;
}

int kobj_append_new(json_t *arr, json_t *value)
{
    if (!value || !json_is_array(arr)) {
        json_decref(value);
        return KRC_ENOMEM;
    }
    return json_array_append_new(arr, value) == 0 ? 0 : KRC_ENOMEM;
}

json_t *kobj_strv(const char *const *items)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && items[i]; i++) {
        if (json_array_append_new(arr, json_string(items[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *kobj_env_value(const char *name, const char *value)
{
    return json_pack("{s:s, s:s}", "name", name, "value", value);
}

json_t *kobj_env_field_ref(const char *name, const char *field_path)
{
    return json_pack("{s:s, s:{s:{s:s}}}", "name", name, "valueFrom", "fieldRef", "fieldPath",
                     field_path);
}

json_t *kobj_list_find(const json_t *list, const char *field, const char *value)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *v = kobj_str(e, field);
        if (v && strcmp(v, value) == 0)
            return e;
    }
    return NULL;
}

json_t *kobj_env_find(const json_t *container, const char *name)
{
    return kobj_list_find(kobj_arr(container, "env"), "name", name);
}

bool kobj_env_exists(const json_t *container, const char *name)
{
    return kobj_env_find(container, name) != NULL;
}

int kobj_env_append_new(json_t *container, json_t *env)
{
    json_t *list = kobj_ensure_arr(container, "env");
    if (!list) {
        json_decref(env);
        return KRC_ENOMEM;
    }
    return kobj_append_new(list, env);
}

int kobj_env_append_if_absent(json_t *container, const char *name, const char *value)
{
    if (kobj_env_exists(container, name))
        return 0;
    return kobj_env_append_new(container, kobj_env_value(name, value));
}

static bool mount_has(const json_t *container, const char *field, const char *want)
{
    return kobj_list_find(kobj_arr(container, "volumeMounts"), field, want) != NULL;
}

bool kobj_mount_path_exists(const json_t *container, const char *mount_path)
{
    return mount_has(container, "mountPath", mount_path);
}

bool kobj_mount_name_exists(const json_t *container, const char *name)
{
    return mount_has(container, "name", name);
}

bool kobj_volume_exists(const json_t *pod_spec, const char *name)
{
    return kobj_list_find(kobj_arr(pod_spec, "volumes"), "name", name) != NULL;
}

json_t *kobj_container(const json_t *pod_spec, size_t i)
{
    json_t *c = json_array_get(kobj_arr(pod_spec, "containers"), i);
    return json_is_object(c) ? c : NULL;
}

int kobj_container_port(const json_t *container, const char *name, long long *port)
{
    json_t *ports = kobj_arr(container, "ports");
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        const char *n = kobj_str(p, "name");
        if (n && strcmp(n, name) == 0) {
            json_t *cp = json_object_get(p, "containerPort");
            if (port)
                *port = json_is_integer(cp) ? json_integer_value(cp) : 0;
            return (int)i;
        }
    }
    return -1;
}

const char *kobj_quantity_text(const json_t *v, char *buf, size_t size)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        /* Shortest text that reads back as the same double, as YAML/JSON writers print it. */
        double d = json_real_value(v);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, size, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
        return buf;
    }
    return NULL;
}
