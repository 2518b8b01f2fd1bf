/* Unit tests for api/kobj list lookups: kobj_list_find and the env / mount / volume finders built
 * on it, including hostile lists (non-objects, non-string names, not an array at all). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "raycluster_testutil.h" /* tu_json */
#include "api/kobj.h"

static void test_list_find_returns_the_first_match_and_skips_junk(void **state)
{
    (void)state;
    json_t *list = tu_json("[1, null, {\"name\": 5}, {\"name\": \"a\", \"i\": 1}, "
                           "{\"name\": \"a\", \"i\": 2}, {\"mountPath\": \"/tmp\"}]");
    json_t *hit = kobj_list_find(list, "name", "a");
    assert_non_null(hit);
    assert_int_equal(json_integer_value(json_object_get(hit, "i")), 1);
    assert_null(kobj_list_find(list, "name", "b"));
    assert_null(kobj_list_find(list, "name", "5")); /* a number is not the string "5" */
    assert_non_null(kobj_list_find(list, "mountPath", "/tmp"));
    assert_null(kobj_list_find(NULL, "name", "a"));
    json_t *obj = tu_json("{\"name\": \"a\"}");
    assert_null(kobj_list_find(obj, "name", "a")); /* not an array */
    json_decref(obj);
    json_decref(list);
}

static void test_container_finders_use_their_lists(void **state)
{
    (void)state;
    json_t *ct = tu_json("{\"env\": [{\"name\": \"E\", \"value\": \"1\"}], "
                         "\"volumeMounts\": [{\"name\": \"logs\", \"mountPath\": \"/l\"}]}");
    json_t *spec = tu_json("{\"volumes\": [{\"name\": \"logs\"}], \"env\": [{\"name\": \"V\"}]}");
    assert_non_null(kobj_env_find(ct, "E"));
    assert_false(kobj_env_exists(ct, "logs"));
    assert_true(kobj_mount_name_exists(ct, "logs"));
    assert_true(kobj_mount_path_exists(ct, "/l"));
    assert_false(kobj_mount_path_exists(ct, "logs"));
    assert_true(kobj_volume_exists(spec, "logs"));
    assert_false(kobj_volume_exists(spec, "V")); /* env of the spec is not its volumes */
    assert_false(kobj_volume_exists(ct, "logs"));
    json_decref(spec);
    json_decref(ct);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_find_returns_the_first_match_and_skips_junk),
        cmocka_unit_test(test_container_finders_use_their_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
