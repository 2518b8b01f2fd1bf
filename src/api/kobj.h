/* kobj.h - helpers for reading and editing Kubernetes objects held as jansson trees.
 *
 * The operator keeps Kubernetes objects (pods, services, pod templates) as JSON trees: what the
 * API server sends is what we pass on, so fields this project does not model survive untouched.
 * These helpers are the few reads and edits every builder needs (typed member access, env vars,
 * volume mounts, container resources), written once so each builder reads like KubeRay's steps.
 *
 * Conventions: getters never allocate and return borrowed pointers (NULL when the member is
 * absent or has another type, so hostile input can only make a lookup fail). Editors return 0 or
 * KRC_ENOMEM and take ownership of nothing the caller passes unless the name says "_new" (jansson
 * "steal" semantics: the reference is consumed even on failure).
 *
 * These know nothing of Ray; they live in api/ only because src/kube/ is being written in
 * parallel. Move them there once it settles. */
#ifndef KRC_API_KOBJ_H
#define KRC_API_KOBJ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Typed member access; NULL when absent or of another type. */
const char *kobj_str(const json_t *obj, const char *key);
json_t *kobj_obj(const json_t *obj, const char *key);
json_t *kobj_arr(const json_t *obj, const char *key);
/* Walks a dotted path of object members ("metadata.labels"); NULL when any step is missing.
 * Keys containing dots (label keys such as "ray.io/cluster") cannot be reached this way: look
 * them up with kobj_map_get() on the map. */
json_t *kobj_path(const json_t *obj, const char *dotted);
const char *kobj_path_str(const json_t *obj, const char *dotted);
/* String member of a string map, e.g. a label; NULL when absent. */
const char *kobj_map_get(const json_t *map, const char *key);

/* Returns parent[key] as an object/array, creating it when absent or null. NULL on ENOMEM or when
 * the member exists with another type (the caller reports that as malformed input). */
json_t *kobj_ensure_obj(json_t *parent, const char *key);
json_t *kobj_ensure_arr(json_t *parent, const char *key);
/* parent[key] = string value. 0 or KRC_ENOMEM. */
int kobj_set_str(json_t *parent, const char *key, const char *value);
/* parent[key] = value, consuming the reference. 0 or KRC_ENOMEM. */
int kobj_set_new(json_t *parent, const char *key, json_t *value);
/* Appends value to arr, consuming the reference. 0 or KRC_ENOMEM. */
int kobj_append_new(json_t *arr, json_t *value);

/* An array of strings built from a NULL-terminated list; NULL on ENOMEM. */
json_t *kobj_strv(const char *const *items);
/* A {"name": n, "value": v} env var, or {"name": n, "valueFrom": {"fieldRef": {"fieldPath": p}}}.
 */
json_t *kobj_env_value(const char *name, const char *value);
json_t *kobj_env_field_ref(const char *name, const char *field_path);

/* The first object in list (an array; NULL reads as empty) whose string member field equals
 * value, or NULL: env vars, volumes, mounts and containers by name. */
json_t *kobj_list_find(const json_t *list, const char *field, const char *value);

/* Container env: the first entry with that name, or NULL. */
json_t *kobj_env_find(const json_t *container, const char *name);
bool kobj_env_exists(const json_t *container, const char *name);
/* Appends an env var (consumed) to container.env, creating the list. 0 or KRC_ENOMEM. */
int kobj_env_append_new(json_t *container, json_t *env);
/* Appends name=value unless an env var of that name exists (KubeRay's "if absent"). */
int kobj_env_append_if_absent(json_t *container, const char *name, const char *value);

/* True when container.volumeMounts has an entry with that mountPath / name. */
bool kobj_mount_path_exists(const json_t *container, const char *mount_path);
bool kobj_mount_name_exists(const json_t *container, const char *name);
/* True when pod spec.volumes has a volume of that name. */
bool kobj_volume_exists(const json_t *pod_spec, const char *name);

/* containers[i] of a pod spec, or NULL. */
json_t *kobj_container(const json_t *pod_spec, size_t i);
/* The index of the container port named name in container.ports, or -1; *port gets containerPort.
 */
int kobj_container_port(const json_t *container, const char *name, long long *port);

/* A quantity member as text: Kubernetes accepts int-or-string quantities, so numbers are
 * rendered the way they appear in the JSON. NULL when absent or not a string/number; buf holds the
 * rendering of numbers (size >= 32). */
const char *kobj_quantity_text(const json_t *v, char *buf, size_t size);

#endif
