/* Unit tests for kube/token: a static token, a token file re-read when its mtime changes (not
 * more often than the recheck interval), forced re-reads (the 401 path), and a failed re-read
 * keeping the previous token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/token.h"

static char dir[64];
static char path[128];

static void write_token(const char *text, time_t mtime)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/krc-token-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/token", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(dir);
}

static void get(struct krc_bearer *b, int force, const char *want)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    int rc = krc_bearer_get(b, force, &out, &err);
    if (rc)
        fail_msg("krc_bearer_get: %s", err.msg);
    if (strcmp(out.buf, want) != 0)
        fail_msg("token is \"%s\", want \"%s\"", out.buf, want);
    krc_strbuf_release(&out);
}

static void test_static_token_and_none(void **state)
{
    (void)state;
    struct krc_bearer b;
    assert_int_equal(krc_bearer_init(&b, "abc", NULL, NULL), 0);
    get(&b, 0, "abc");
    get(&b, 1, "abc");
    krc_bearer_destroy(&b);
    assert_int_equal(krc_bearer_init(&b, NULL, NULL, NULL), 0);
    get(&b, 0, "");
    krc_bearer_destroy(&b);
}

static void test_file_is_reread_only_when_its_mtime_changes(void **state)
{
    (void)state;
    struct krc_bearer b;
    write_token("one\n", 1000);
    assert_int_equal(krc_bearer_init(&b, "ignored-static", path, NULL), 0);
    b.recheck_ns = 0;           /* stat on every call */
    get(&b, 0, "one");          /* whitespace trimmed; the file wins over the static */
    write_token("two\n", 1000); /* same mtime, same size: looks unchanged */
    get(&b, 0, "one");
    write_token("three\n", 2000); /* rotated */
    get(&b, 0, "three");
    krc_bearer_destroy(&b);
}

static void test_recheck_interval_limits_stat_and_force_bypasses_it(void **state)
{
    (void)state;
    struct krc_bearer b;
    write_token("first", 1000);
    assert_int_equal(krc_bearer_init(&b, NULL, path, NULL), 0);
    get(&b, 0, "first"); /* default interval: a minute */
    write_token("second", 3000);
    get(&b, 0, "first");  /* within the minute: not looked at */
    get(&b, 1, "second"); /* a 401 forces the re-read */
    krc_bearer_destroy(&b);
}

static void test_failed_reread_keeps_previous_token(void **state)
{
    (void)state;
    struct krc_bearer b;
    write_token("kept", 1000);
    assert_int_equal(krc_bearer_init(&b, NULL, path, NULL), 0);
    b.recheck_ns = 0;
    get(&b, 0, "kept");
    assert_int_equal(unlink(path), 0);
    get(&b, 1, "kept");
    krc_bearer_destroy(&b);

    /* Without a previous token the error surfaces. */
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    assert_int_equal(krc_bearer_init(&b, NULL, path, NULL), 0);
    assert_int_equal(krc_bearer_get(&b, 0, &out, &err), KRC_ENOTFOUND);
    assert_non_null(strstr(err.msg, path));
    krc_bearer_destroy(&b);
    krc_strbuf_release(&out);
    write_token("", 1000);
    assert_int_equal(krc_bearer_init(&b, NULL, path, NULL), 0);
    assert_int_equal(krc_bearer_get(&b, 0, &out, &err), KRC_EINVAL);
    assert_non_null(strstr(err.msg, "empty"));
    krc_bearer_destroy(&b);
    krc_strbuf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_token_and_none),
        cmocka_unit_test(test_file_is_reread_only_when_its_mtime_changes),
        cmocka_unit_test(test_recheck_interval_limits_stat_and_force_bypasses_it),
        cmocka_unit_test(test_failed_reread_keeps_previous_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
