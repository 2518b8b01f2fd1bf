/* Unit tests for node/podenv: environment merging, $(VAR) expansion and PATH lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/podenv.h"
#include "util/error.h"
#include "util/strbuf.h"

static void test_spec_env_overrides_defaults_in_place(void **state)
{
    (void)state;
    const char *defaults[] = {"PATH=/venv/bin:/usr/bin", "HOSTNAME=pod-a", "HOME=/root"};
    const char *env[] = {"HOME=/home/ray", "A=1", "A=2", "EMPTY="};
    const char **out = NULL;
    assert_int_equal(krc_podenv_merge(defaults, 3, env, 4, &out, NULL), 0);
    const char *want[] = {
        "PATH=/venv/bin:/usr/bin", "HOSTNAME=pod-a", "HOME=/home/ray", "A=2", "EMPTY=", NULL};
    for (size_t i = 0; want[i]; i++) {
        assert_non_null(out[i]);
        assert_string_equal(out[i], want[i]);
    }
    assert_null(out[5]);
    free(out);
}

static void test_names_are_compared_whole(void **state)
{
    (void)state;
    const char *env[] = {"PATH=/a", "PATHX=/b", "PAT=/c"};
    const char **out = NULL;
    assert_int_equal(krc_podenv_merge(NULL, 0, env, 3, &out, NULL), 0);
    assert_string_equal(krc_podenv_get(out, "PATH"), "/a");
    assert_string_equal(krc_podenv_get(out, "PATHX"), "/b");
    assert_string_equal(krc_podenv_get(out, "PAT"), "/c");
    assert_null(krc_podenv_get(out, "PA"));
    free(out);
}

static void test_expand_follows_kubernetes_rules(void **state)
{
    (void)state;
    const char *envp[] = {"HEAD=10.244.0.2", "PORT=6379", "EMPTY=", NULL};
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"--address=$(HEAD):$(PORT)", "--address=10.244.0.2:6379"},
        {"$(MISSING)", "$(MISSING)"},
        {"$$(HEAD)", "$(HEAD)"},
        {"$$", "$"},
        {"cost: $5", "cost: $5"},
        {"x$(EMPTY)y", "xy"},
        {"$(HEAD", "$(HEAD"},
        {"", ""},
        {"$(HEAD)$(HEAD)", "10.244.0.210.244.0.2"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct krc_strbuf sb = KRC_STRBUF_INIT;
        assert_int_equal(krc_podenv_expand(cases[i].in, envp, &sb), 0);
        if (strcmp(sb.buf, cases[i].want) != 0)
            fail_msg("expand(\"%s\") = \"%s\", want \"%s\"", cases[i].in, sb.buf, cases[i].want);
        krc_strbuf_release(&sb);
    }
}

static void test_resolve_searches_path_in_order(void **state)
{
    (void)state;
    char dir[] = "/tmp/krc-podenv-test-XXXXXX";
    char first[96], second[96], exe[128], path[256], out[256];
    assert_non_null(mkdtemp(dir));
    snprintf(first, sizeof(first), "%s/first", dir);
    snprintf(second, sizeof(second), "%s/second", dir);
    assert_int_equal(mkdir(first, 0755), 0);
    assert_int_equal(mkdir(second, 0755), 0);
    /* "tool" in first is not executable, so the one in second wins */
    snprintf(exe, sizeof(exe), "%s/tool", first);
    FILE *f = fopen(exe, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(exe, sizeof(exe), "%s/tool", second);
    f = fopen(exe, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(exe, 0755), 0);
    snprintf(path, sizeof(path), "%s:%s", first, second);

    assert_int_equal(krc_podenv_resolve("tool", path, out, sizeof(out), NULL), 0);
    assert_string_equal(out, exe);
    assert_int_equal(krc_podenv_resolve("/bin/sh", path, out, sizeof(out), NULL), 0);
    assert_string_equal(out, "/bin/sh");
    struct krc_error err = {0};
    assert_int_equal(krc_podenv_resolve("nope", path, out, sizeof(out), &err), KRC_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nope"));
    assert_int_equal(krc_podenv_resolve("", path, out, sizeof(out), NULL), KRC_EINVAL);

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_env_overrides_defaults_in_place),
        cmocka_unit_test(test_names_are_compared_whole),
        cmocka_unit_test(test_expand_follows_kubernetes_rules),
        cmocka_unit_test(test_resolve_searches_path_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
