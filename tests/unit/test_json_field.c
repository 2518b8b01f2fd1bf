/* Unit tests for api/json_field: every getter on the value it wants, on absence, on null and on
 * each wrong type, with the exact message (kind, object, field path, expected and actual type);
 * int32 range limits and huge numbers; nested paths through missing parents; what the out value
 * holds after a failure; and the shared ObjectMeta reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raycluster_testutil.h" /* tu_json */
#include "api/json_field.h"

/* --- one table for every getter ----------------------------------------------------------------
 */

enum getter {
    G_STR,
    G_STR0,
    G_I32,
    G_I64,
    G_F32,
    G_BOOL,
    G_OPT_BOOL,
    G_OBJ,
    G_OBJ_REQ,
    G_ARR,
    G_MAP,
    G_LIST
};

struct gcase {
    const char *name;
    enum getter g;
    const char *member; /* JSON text of obj["f"], or NULL for an object without "f" */
    const char *want;   /* NULL: success; otherwise the exact error message */
};

#define PFX "RayJob ns/obj: spec.x.f: "

static const struct gcase gcases[] = {
    {"string", G_STR, "\"v\"", NULL},
    {"string absent", G_STR, NULL, NULL},
    {"string null", G_STR, "null", NULL},
    {"string given an integer", G_STR, "1", PFX "expected a string, got an integer"},
    {"string given an object", G_STR, "{}", PFX "expected a string, got an object"},
    {"string-or-empty absent", G_STR0, NULL, NULL},
    {"string-or-empty given a bool", G_STR0, "true", PFX "expected a string, got a boolean"},
    {"int32", G_I32, "7", NULL},
    {"int32 max", G_I32, "2147483647", NULL},
    {"int32 min", G_I32, "-2147483648", NULL},
    {"int32 one over", G_I32, "2147483648", PFX "2147483648 does not fit in an int32"},
    {"int32 one under", G_I32, "-2147483649", PFX "-2147483649 does not fit in an int32"},
    {"int32 int64 max", G_I32, "9223372036854775807",
     PFX "9223372036854775807 does not fit in an int32"},
    {"int32 given a real", G_I32, "1.5", PFX "expected an int32, got a number"},
    {"int32 given a huge real", G_I32, "1e300", PFX "expected an int32, got a number"},
    {"int32 given a string", G_I32, "\"3\"", PFX "expected an int32, got a string"},
    {"int32 null", G_I32, "null", NULL},
    {"int64", G_I64, "9223372036854775807", NULL},
    {"int64 given a real", G_I64, "2.0", PFX "expected an integer, got a number"},
    {"int64 given an array", G_I64, "[]", PFX "expected an integer, got an array"},
    {"float32 from integer", G_F32, "2", NULL},
    {"float32 from real", G_F32, "0.1", NULL},
    {"float32 given a string", G_F32, "\"2\"", PFX "expected a number, got a string"},
    {"bool", G_BOOL, "true", NULL},
    {"bool given a string", G_BOOL, "\"true\"", PFX "expected a boolean, got a string"},
    {"bool given 0", G_BOOL, "0", PFX "expected a boolean, got an integer"},
    {"optional bool false", G_OPT_BOOL, "false", NULL},
    {"optional bool absent", G_OPT_BOOL, NULL, NULL},
    {"optional bool given null", G_OPT_BOOL, "null", NULL},
    {"optional bool given an object", G_OPT_BOOL, "{}", PFX "expected a boolean, got an object"},
    {"object", G_OBJ, "{\"a\": 1}", NULL},
    {"object given an array", G_OBJ, "[]", PFX "expected an object, got an array"},
    {"required object", G_OBJ_REQ, "{}", NULL},
    {"required object absent", G_OBJ_REQ, NULL,
     PFX "expected an object (the field is required), got nothing"},
    {"required object null", G_OBJ_REQ, "null",
     PFX "expected an object (the field is required), got nothing"},
    {"required object given a string", G_OBJ_REQ, "\"x\"", PFX "expected an object, got a string"},
    {"array", G_ARR, "[1, \"a\"]", NULL},
    {"array given an object", G_ARR, "{}", PFX "expected an array, got an object"},
    {"string map", G_MAP, "{\"a\": \"1\", \"b\": \"\"}", NULL},
    {"string map empty", G_MAP, "{}", NULL},
    {"string map with an integer value", G_MAP, "{\"a\": \"1\", \"b\": 2}",
     "RayJob ns/obj: spec.x.f[\"b\"]: expected a string, got an integer"},
    {"string map with a null value", G_MAP, "{\"a\": null}",
     "RayJob ns/obj: spec.x.f[\"a\"]: expected a string, got null"},
    {"string map given an array", G_MAP, "[\"a\"]", PFX "expected an object, got an array"},
    {"string list", G_LIST, "[\"a\", \"b\"]", NULL},
    {"string list with a nested list", G_LIST, "[\"a\", [\"b\"]]",
     "RayJob ns/obj: spec.x.f[1]: expected a string, got an array"},
    {"string list given a string", G_LIST, "\"a\"", PFX "expected an array, got a string"},
};

typedef int (*json_getter)(const struct json_field_ctx *, const json_t *, const char *,
                           const char *, json_t **);
static const json_getter JSON_GETTERS[] = {[G_OBJ] = json_field_obj,
                                           [G_OBJ_REQ] = json_field_obj_required,
                                           [G_ARR] = json_field_arr,
                                           [G_MAP] = json_field_str_map,
                                           [G_LIST] = json_field_str_list};

/* Runs getter g on obj["f"]; returns rc and leaves in *found whether the out value holds
 * something. Every out starts out "set", so a getter that fails must clear it. */
static int run_getter(const struct json_field_ctx *c, enum getter g, json_t *obj, bool *found)
{
    const char *s = "sentinel";
    struct rc_opt_i32 i32 = {true, 99};
    struct rc_opt_bool ob = {true, true};
    int64_t i64 = 99;
    double f = 99;
    bool b = true;
    json_t *j = obj;
    int rc = KRC_EINVAL;
    if (g == G_STR || g == G_STR0)
        rc = (g == G_STR ? json_field_str : json_field_str_or_empty)(c, obj, "spec.x", "f", &s);
    else if (g == G_I32)
        rc = json_field_i32(c, obj, "spec.x", "f", &i32);
    else if (g == G_I64)
        rc = json_field_i64(c, obj, "spec.x", "f", &i64);
    else if (g == G_F32)
        rc = json_field_f32(c, obj, "spec.x", "f", &f);
    else if (g == G_BOOL)
        rc = json_field_bool(c, obj, "spec.x", "f", &b);
    else if (g == G_OPT_BOOL)
        rc = json_field_opt_bool(c, obj, "spec.x", "f", &ob);
    else
        rc = JSON_GETTERS[g](c, obj, "spec.x", "f", &j);
    /* only the getter that ran can have cleared its out value */
    *found = s && *s && i32.set && ob.set && i64 && f != 0 && b && j;
    return rc;
}

static void test_getters_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(gcases) / sizeof(gcases[0]); i++) {
        const struct gcase *tc = &gcases[i];
        json_t *obj = json_object();
        assert_non_null(obj);
        if (tc->member)
            json_object_set_new(obj, "f", tu_json(tc->member));
        struct krc_error err = {0};
        struct json_field_ctx c = {"RayJob", "ns", "obj", &err};
        bool found;
        int rc = run_getter(&c, tc->g, obj, &found);
        bool present = tc->member && strcmp(tc->member, "null") != 0;
        if (tc->want) {
            if (rc != KRC_EINVAL || strcmp(err.msg, tc->want) != 0)
                fail_msg("%s: got rc %d \"%s\", want KRC_EINVAL \"%s\"", tc->name, rc, err.msg,
                         tc->want);
            if (found)
                fail_msg("%s: the out value is set after a failure", tc->name);
        } else {
            if (rc != 0)
                fail_msg("%s: got rc %d \"%s\", want success", tc->name, rc, err.msg);
            /* a present falsy value (false, "", 0) reads as "not found" for the plain getters */
            bool falsy =
                tc->member && (strcmp(tc->member, "false") == 0 || strcmp(tc->member, "\"\"") == 0);
            if (tc->g == G_OPT_BOOL ? found != present : found != (present && !falsy))
                fail_msg("%s: out value %s, want %s", tc->name, found ? "set" : "cleared",
                         present ? "set" : "cleared");
        }
        json_decref(obj);
    }
}

/* --- values --------------------------------------------------------------------------------------
 */

static void test_values_read_back(void **state)
{
    (void)state;
    json_t *obj = tu_json("{\"s\": \"x\", \"i\": -5, \"big\": 9007199254740993, \"f\": 0.1, "
                          "\"b\": false, \"m\": {\"k\": \"v\"}, \"l\": [\"a\"]}");
    struct json_field_ctx c = {"RayCluster", "", "", NULL};
    const char *s;
    struct rc_opt_i32 i32;
    struct rc_opt_bool ob;
    int64_t i64;
    double f;
    json_t *j;
    assert_int_equal(json_field_str(&c, obj, "", "s", &s), 0);
    assert_string_equal(s, "x");
    assert_int_equal(json_field_str_or_empty(&c, obj, "", "missing", &s), 0);
    assert_string_equal(s, "");
    assert_int_equal(json_field_i32(&c, obj, "", "i", &i32), 0);
    assert_true(i32.set);
    assert_int_equal(i32.v, -5);
    assert_int_equal(json_field_i64(&c, obj, "", "big", &i64), 0);
    assert_true(i64 == INT64_C(9007199254740993));
    assert_int_equal(json_field_f32(&c, obj, "", "f", &f), 0);
    assert_true(f == (double)0.1f); /* float32 precision, as Go holds it */
    assert_int_equal(json_field_opt_bool(&c, obj, "", "b", &ob), 0);
    assert_true(ob.set);
    assert_false(ob.v);
    assert_int_equal(json_field_str_map(&c, obj, "", "m", &j), 0);
    assert_ptr_equal(j, json_object_get(obj, "m")); /* borrowed, not copied */
    assert_int_equal(json_field_str_list(&c, obj, "", "l", &j), 0);
    assert_ptr_equal(j, json_object_get(obj, "l"));
    json_decref(obj);
}

/* --- paths and parents
 * ---------------------------------------------------------------------------- */

static void test_top_level_path_has_no_leading_dot(void **state)
{
    (void)state;
    json_t *doc = tu_json("{\"spec\": []}");
    struct krc_error err = {0};
    struct json_field_ctx c = {"RayCronJob", "default", "cj", &err};
    json_t *spec;
    assert_int_equal(json_field_obj(&c, doc, "", "spec", &spec), KRC_EINVAL);
    assert_string_equal(err.msg, "RayCronJob default/cj: spec: expected an object, got an array");
    assert_int_equal(json_field_obj_required(&c, doc, "", "status", &spec), KRC_EINVAL);
    assert_string_equal(err.msg, "RayCronJob default/cj: status: expected an object (the field "
                                 "is required), got nothing");
    json_decref(doc);
}

static void test_nested_paths_through_missing_and_wrong_parents(void **state)
{
    (void)state;
    /* a: absent parent, b: a parent that is not an object, c: the real nesting */
    json_t *doc = tu_json("{\"b\": [1], \"c\": {\"d\": {\"e\": [\"ok\", 5]}}}");
    struct krc_error err = {0};
    struct json_field_ctx c = {"RayJob", "ns", "j", &err};
    json_t *a, *d, *e;
    const char *s;
    char path[JSON_FIELD_PATH_MAX];
    assert_int_equal(json_field_obj(&c, doc, "spec", "a", &a), 0);
    assert_null(a);
    assert_int_equal(json_field_str(&c, a, "spec.a", "x", &s), 0); /* NULL parent: absent */
    assert_null(s);
    assert_int_equal(json_field_str(&c, json_object_get(doc, "b"), "spec.b", "x", &s), 0);
    assert_null(s); /* a non-object parent has no members */
    assert_int_equal(json_field_obj(&c, json_object_get(doc, "c"), "spec.c", "d", &d), 0);
    json_field_path(path, "%s.%s", "spec.c", "d");
    assert_int_equal(json_field_str_list(&c, d, path, "e", &e), KRC_EINVAL);
    assert_string_equal(err.msg, "RayJob ns/j: spec.c.d.e[1]: expected a string, got an integer");
    assert_null(e);
    json_decref(doc);
}

static void test_path_is_cut_at_the_buffer_size(void **state)
{
    (void)state;
    char longseg[2 * JSON_FIELD_PATH_MAX];
    memset(longseg, 'a', sizeof(longseg) - 1);
    longseg[sizeof(longseg) - 1] = '\0';
    char path[JSON_FIELD_PATH_MAX];
    json_field_path(path, "spec.%s[%d]", longseg, 3);
    assert_int_equal(strlen(path), JSON_FIELD_PATH_MAX - 1);
    assert_memory_equal(path, "spec.aaa", 8);
    json_field_path(path, "spec.workerGroupSpecs[%zu]", (size_t)12);
    assert_string_equal(path, "spec.workerGroupSpecs[12]");
}

/* --- object metadata -----------------------------------------------------------------------------
 */

static void test_objmeta_reads_fields_and_defaults(void **state)
{
    (void)state;
    json_t *doc =
        tu_json("{\"metadata\": {\"name\": \"a\", \"namespace\": \"ns\", \"generation\": 3, "
                "\"labels\": {\"l\": \"v\"}, \"finalizers\": [\"f\"]}}");
    struct krc_error err = {0};
    struct json_field_ctx c = {"RayJob", "", "", &err};
    struct json_field_objmeta m;
    assert_int_equal(json_field_objmeta(&c, doc, &m), 0);
    assert_string_equal(m.name, "a");
    assert_string_equal(m.ns, "ns");
    assert_string_equal(m.uid, "");
    assert_null(m.resource_version);
    assert_null(m.deletion_timestamp);
    assert_int_equal(m.generation, 3);
    assert_non_null(m.labels);
    assert_null(m.annotations);
    assert_int_equal(json_array_size(m.finalizers), 1);
    assert_string_equal(c.name, "a"); /* later messages name the object */
    assert_string_equal(c.ns, "ns");
    json_decref(doc);

    doc = tu_json("{}"); /* no metadata at all: every field at its default */
    assert_int_equal(json_field_objmeta(&c, doc, &m), 0);
    assert_string_equal(m.name, "");
    assert_string_equal(m.ns, "");
    assert_int_equal(m.generation, 0);
    json_decref(doc);
}

static void test_objmeta_errors_name_the_object_as_far_as_known(void **state)
{
    (void)state;
    static const struct {
        const char *doc, *want;
    } cases[] = {
        {"{\"metadata\": []}", "RayCluster /: metadata: expected an object, got an array"},
        {"{\"metadata\": {\"name\": 1}}",
         "RayCluster /: metadata.name: expected a string, got an integer"},
        {"{\"metadata\": {\"name\": \"a\", \"namespace\": {}}}",
         "RayCluster /a: metadata.namespace: expected a string, got an object"},
        {"{\"metadata\": {\"name\": \"a\", \"namespace\": \"n\", \"uid\": false}}",
         "RayCluster n/a: metadata.uid: expected a string, got a boolean"},
        {"{\"metadata\": {\"name\": \"a\", \"finalizers\": [\"x\", null]}}",
         "RayCluster /a: metadata.finalizers[1]: expected a string, got null"},
        {"{\"metadata\": {\"name\": \"a\", \"generation\": \"1\"}}",
         "RayCluster /a: metadata.generation: expected an integer, got a string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = tu_json(cases[i].doc);
        struct krc_error err = {0};
        struct json_field_ctx c = {"RayCluster", "", "", &err};
        struct json_field_objmeta m;
        int rc = json_field_objmeta(&c, doc, &m);
        if (rc != KRC_EINVAL || strcmp(err.msg, cases[i].want) != 0)
            fail_msg("%s: got %d \"%s\", want \"%s\"", cases[i].doc, rc, err.msg, cases[i].want);
        json_decref(doc);
    }
}

/* --- messages without a key, and without an error struct
 * ------------------------------------------ */

static void test_fail_at_oom_and_type_names(void **state)
{
    (void)state;
    struct krc_error err = {0};
    struct json_field_ctx c = {"RayCluster", "default", "rc", &err};
    json_t *v = json_integer(7);
    assert_int_equal(json_field_fail_at(&c, "spec.workerGroupSpecs[0]", "an object", v),
                     KRC_EINVAL);
    assert_string_equal(err.msg,
                        "RayCluster default/rc: spec.workerGroupSpecs[0]: expected an object, "
                        "got an integer");
    assert_int_equal(json_field_oom(&c), KRC_ENOMEM);
    assert_string_equal(err.msg, "RayCluster default/rc: out of memory");
    json_decref(v);

    static const struct {
        const char *json, *want;
    } names[] = {{"{}", "an object"},    {"[]", "an array"},  {"\"\"", "a string"},
                 {"1", "an integer"},    {"1.5", "a number"}, {"true", "a boolean"},
                 {"false", "a boolean"}, {"null", "null"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_t *x = tu_json(names[i].json);
        if (strcmp(json_field_type_name(x), names[i].want) != 0)
            fail_msg("type name of %s: got %s, want %s", names[i].json, json_field_type_name(x),
                     names[i].want);
        json_decref(x);
    }
    assert_string_equal(json_field_type_name(NULL), "nothing");
}

static void test_null_error_struct_still_returns_the_code(void **state)
{
    (void)state;
    json_t *doc = tu_json("{\"n\": 4294967296}");
    struct json_field_ctx c = {"RayJob", "", "", NULL};
    struct rc_opt_i32 v;
    assert_int_equal(json_field_i32(&c, doc, "spec", "n", &v), KRC_EINVAL);
    assert_false(v.set);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getters_table),
        cmocka_unit_test(test_values_read_back),
        cmocka_unit_test(test_top_level_path_has_no_leading_dot),
        cmocka_unit_test(test_nested_paths_through_missing_and_wrong_parents),
        cmocka_unit_test(test_path_is_cut_at_the_buffer_size),
        cmocka_unit_test(test_objmeta_reads_fields_and_defaults),
        cmocka_unit_test(test_objmeta_errors_name_the_object_as_far_as_known),
        cmocka_unit_test(test_fail_at_oom_and_type_names),
        cmocka_unit_test(test_null_error_struct_still_returns_the_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
