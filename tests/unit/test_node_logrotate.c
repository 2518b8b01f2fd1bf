/* Unit tests for node/logrotate: rotated container log names and how many are kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "node/logrotate.h"

static void test_log_file_names_are_classified(void **state)
{
    (void)state;
    const struct {
        const char *name;
        enum krc_logfile_kind kind;
        int restart;
        unsigned seq;
    } cases[] = {
        {"0.log", KRC_LOGFILE_CURRENT, 0, 0},         {"12.log", KRC_LOGFILE_CURRENT, 12, 0},
        {"3.log.1", KRC_LOGFILE_ROTATED, 3, 1},       {"3.log.42", KRC_LOGFILE_ROTATED, 3, 42},
        {"3.log.0", KRC_LOGFILE_OTHER, 0, 0},         {"3.log.", KRC_LOGFILE_OTHER, 0, 0},
        {"3.log.1x", KRC_LOGFILE_OTHER, 0, 0},        {"3.log.gz", KRC_LOGFILE_OTHER, 0, 0},
        {"03.log", KRC_LOGFILE_OTHER, 0, 0},          {"-1.log", KRC_LOGFILE_OTHER, 0, 0},
        {"x.log", KRC_LOGFILE_OTHER, 0, 0},           {"1.txt", KRC_LOGFILE_OTHER, 0, 0},
        {"99999999999.log", KRC_LOGFILE_OTHER, 0, 0}, {"", KRC_LOGFILE_OTHER, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int restart = -7;
        unsigned seq = 7;
        enum krc_logfile_kind k = krc_logrotate_parse(cases[i].name, &restart, &seq);
        if (k != cases[i].kind)
            fail_msg("%s: kind %d, want %d", cases[i].name, k, cases[i].kind);
        if (k != KRC_LOGFILE_OTHER && (restart != cases[i].restart || seq != cases[i].seq))
            fail_msg("%s: restart %d seq %u", cases[i].name, restart, seq);
    }
}

static void test_names_round_trip(void **state)
{
    (void)state;
    char buf[32];
    int restart;
    unsigned seq;
    assert_int_equal(krc_logrotate_name(buf, sizeof(buf), 2, 0), 0);
    assert_string_equal(buf, "2.log");
    assert_int_equal(krc_logrotate_name(buf, sizeof(buf), 2, 9), 0);
    assert_string_equal(buf, "2.log.9");
    assert_int_equal(krc_logrotate_parse(buf, &restart, &seq), KRC_LOGFILE_ROTATED);
    assert_int_equal(restart, 2);
    assert_int_equal(seq, 9);
    assert_int_equal(krc_logrotate_name(buf, 5, 2, 9), -1);
}

static void test_retention_keeps_max_files_minus_the_current_one(void **state)
{
    (void)state;
    /* max 5 files: the current one and rotated seqs newest-3..newest */
    assert_int_equal(krc_logrotate_keep_from(1, 5), 1);
    assert_int_equal(krc_logrotate_keep_from(4, 5), 1);
    assert_int_equal(krc_logrotate_keep_from(5, 5), 2);
    assert_int_equal(krc_logrotate_keep_from(10, 5), 7);
    assert_int_equal(krc_logrotate_keep_from(10, 2), 10);
    assert_int_equal(krc_logrotate_keep_from(10, 1), 10); /* at least one rotated file */
    assert_int_equal(krc_logrotate_keep_from(10, 0), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_file_names_are_classified),
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_retention_keeps_max_files_minus_the_current_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
