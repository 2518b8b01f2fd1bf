/* json_field.h - typed, path-aware reads of JSON object members for the ray.io/v1 parsers
 * (RayCluster, RayJob, RayCronJob).
 *
 * Each getter reads obj[key] and, when the member has the wrong JSON type, fails with KRC_EINVAL
 * and a message naming the object and the field path, in one format for every kind:
 *   "RayJob default/x: spec.backoffLimit: expected an int32, got a string"
 * JSON null is treated as absent, as Kubernetes' decoder does for optional fields. An absent
 * member is not an error (except for json_field_obj_required); obj itself may be NULL or not an
 * object, and then every member reads as absent, so a caller can chain getters down a path
 * without checking each level.
 *
 * Out values: every getter clears its out value first (NULL, unset, 0, false) and sets it only on
 * success, so after a failure nothing points at the offending member.
 *
 * Ownership: strings and json_t pointers handed out are borrowed from obj and valid as long as the
 * document is; nothing here allocates, takes a reference or frees. Paths are plain strings built
 * by the caller (json_field_path); they only appear in error messages. */
#ifndef KRC_API_JSON_FIELD_H
#define KRC_API_JSON_FIELD_H

#include "util/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Optional scalars: KubeRay's pointer fields (*int32, *bool in Go), where absent differs from
 * zero. (The rc_ prefix predates this module; every ray.io type uses them.) */
struct rc_opt_i32 {
    bool set;
    int32_t v;
};
struct rc_opt_bool {
    bool set;
    bool v;
};

/* Who is being parsed, for error messages; err receives them (may be NULL). ns and name are ""
 * until the object's metadata is read, and are updated by the caller once it is. */
struct json_field_ctx {
    const char *kind; /* "RayCluster", "RayJob", ... */
    const char *ns;
    const char *name;
    struct krc_error *err;
};

/* The ObjectMeta fields the ray.io parsers type, shared by every kind. Strings and maps are
 * borrowed from the document. */
struct json_field_objmeta {
    const char *name;               /* "" when absent */
    const char *ns;                 /* "" when absent */
    const char *uid;                /* "" when absent */
    const char *resource_version;   /* NULL when absent */
    const char *creation_timestamp; /* NULL when absent */
    const char *deletion_timestamp; /* NULL unless being deleted */
    int64_t generation;             /* 0 when absent */
    json_t *labels;                 /* string map or NULL */
    json_t *annotations;            /* string map or NULL */
    json_t *finalizers;             /* array of strings or NULL */
};

/* Buffer size for field paths; a longer path is cut (it only ever appears in a message). */
#define JSON_FIELD_PATH_MAX 256

/* printf into a JSON_FIELD_PATH_MAX buffer ("spec.workerGroupSpecs[%zu]"); cuts a longer path. */
void json_field_path(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "an object", "an array", "a string", "an integer", "a number", "a boolean", "null", or
 * "nothing" for NULL (a missing value). */
const char *json_field_type_name(const json_t *v);

/* obj[key] with null folded into absent; NULL when obj is not an object. */
json_t *json_field_member(const json_t *obj, const char *key);

/* KRC_EINVAL: "<kind> <ns>/<name>: <path>.<key>: expected <what>, got <type of got>" (no dot when
 * path is ""). got may be NULL ("got nothing"). */
int json_field_fail(const struct json_field_ctx *c, const char *path, const char *key,
                    const char *what, const json_t *got);
/* KRC_EINVAL for a value that has no key of its own (an array element): "... <path>: expected
 * <what>, got <type>". */
int json_field_fail_at(const struct json_field_ctx *c, const char *path, const char *what,
                       const json_t *got);
/* KRC_ENOMEM: "<kind> <ns>/<name>: out of memory". */
int json_field_oom(const struct json_field_ctx *c);

/* Each returns 0 (also when absent) or KRC_EINVAL with c->err filled. */
int json_field_str(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, const char **out);
/* As json_field_str, but "" when absent (a Go string field without omitempty semantics). */
int json_field_str_or_empty(const struct json_field_ctx *c, const json_t *obj, const char *path,
                            const char *key, const char **out);
/* An integer in the int32 range ("expected an int32"; "<n> does not fit in an int32"). */
int json_field_i32(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, struct rc_opt_i32 *out);
/* Any JSON integer ("expected an integer"), 0 when absent: metadata.generation. */
int json_field_i64(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, int64_t *out);
/* A JSON number (integer or real) rounded to float32, as KubeRay's float32 fields hold it, so
 * 0.1 reads back as Go would print it. 0 when absent. */
int json_field_f32(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, double *out);
/* A boolean; json_field_bool reads absent as false. */
int json_field_bool(const struct json_field_ctx *c, const json_t *obj, const char *path,
                    const char *key, bool *out);
int json_field_opt_bool(const struct json_field_ctx *c, const json_t *obj, const char *path,
                        const char *key, struct rc_opt_bool *out);
int json_field_obj(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, json_t **out);
/* As json_field_obj, but absent is an error: "expected an object (the field is required), got
 * nothing". */
int json_field_obj_required(const struct json_field_ctx *c, const json_t *obj, const char *path,
                            const char *key, json_t **out);
int json_field_arr(const struct json_field_ctx *c, const json_t *obj, const char *path,
                   const char *key, json_t **out);
/* An object whose values are all strings (Go map[string]string); a bad value is reported as
 * path.key["k"]. */
int json_field_str_map(const struct json_field_ctx *c, const json_t *obj, const char *path,
                       const char *key, json_t **out);
/* An array of strings (Go []string); a bad element is reported as path.key[i]. */
int json_field_str_list(const struct json_field_ctx *c, const json_t *obj, const char *path,
                        const char *key, json_t **out);

/* Reads doc.metadata (absent reads as empty) into m. As soon as the name and namespace are read,
 * c->name and c->ns point at them, so every later message names the object. 0 or KRC_EINVAL. */
int json_field_objmeta(struct json_field_ctx *c, const json_t *doc, struct json_field_objmeta *m);

#endif
