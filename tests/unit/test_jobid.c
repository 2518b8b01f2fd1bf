/* Unit tests for ray/jobid: attempt names and job IDs of spec rayjob.md §6.1 and §7. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ray/jobid.h"

#define DRAWS 2000

static void assert_suffix_alphabet(const char *s)
{
    assert_int_equal(strlen(s), RAY_RANDOM_SUFFIX_LEN);
    for (const char *p = s; *p; p++) {
        if (!strchr(RAY_RANDOM_ALPHABET, *p))
            fail_msg("character '%c' of \"%s\" is not in the alphabet", *p, s);
    }
}

static void test_spec_job_id_is_used_verbatim(void **state)
{
    (void)state;
    char *id = NULL;
    struct krc_error err = {0};
    assert_int_equal(ray_jobid_generate("my-job", "Fixed_ID 1", &id, &err), 0);
    assert_string_equal(id, "Fixed_ID 1");
    free(id);
}

static void test_generated_id_is_name_dash_five_alphabet_characters(void **state)
{
    (void)state;
    const char *const spec_ids[] = {NULL, ""};
    for (size_t i = 0; i < 2; i++) {
        char *id = NULL;
        struct krc_error err = {0};
        assert_int_equal(ray_jobid_generate("rayjob-sample", spec_ids[i], &id, &err), 0);
        assert_int_equal(strncmp(id, "rayjob-sample-", 14), 0);
        assert_suffix_alphabet(id + 14);
        free(id);
    }
}

static void test_each_attempt_gets_a_fresh_id(void **state)
{
    (void)state;
    char *a = NULL, *b = NULL;
    assert_int_equal(ray_jobid_generate("j", NULL, &a, NULL), 0);
    /* 27^5 = 14.3M values: two draws collide with probability 7e-8; three tries make a false
     * failure practically impossible while a constant generator still fails. */
    int same = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ray_jobid_generate("j", NULL, &b, NULL), 0);
        same += strcmp(a, b) == 0;
        free(b);
    }
    assert_true(same < 3);
    free(a);
}

static void test_suffix_uses_every_character_of_the_alphabet(void **state)
{
    (void)state;
    int seen[256] = {0};
    for (int i = 0; i < DRAWS; i++) {
        char s[RAY_RANDOM_SUFFIX_LEN + 1];
        assert_int_equal(ray_random_suffix(s, NULL), 0);
        assert_suffix_alphabet(s);
        for (const char *p = s; *p; p++)
            seen[(unsigned char)*p]++;
    }
    /* 10000 characters over 27 symbols: ~370 each; every one must appear. */
    for (const char *p = RAY_RANDOM_ALPHABET; *p; p++) {
        if (seen[(unsigned char)*p] < 100)
            fail_msg("character '%c' drawn only %d times", *p, seen[(unsigned char)*p]);
    }
}

static void test_random_name_rejects_null_prefix(void **state)
{
    (void)state;
    char *s = (char *)1;
    struct krc_error err = {0};
    assert_int_equal(ray_random_name(NULL, &s, &err), KRC_EINVAL);
    assert_null(s);
    assert_int_equal(ray_random_name("cluster", &s, &err), 0);
    assert_int_equal(strlen(s), strlen("cluster-") + RAY_RANDOM_SUFFIX_LEN);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_job_id_is_used_verbatim),
        cmocka_unit_test(test_generated_id_is_name_dash_five_alphabet_characters),
        cmocka_unit_test(test_each_attempt_gets_a_fresh_id),
        cmocka_unit_test(test_suffix_uses_every_character_of_the_alphabet),
        cmocka_unit_test(test_random_name_rejects_null_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
