/* Unit tests for cli/jobgen.c: the generated RayJob, the entrypoint's splitting, the `ray job
 * submit` vector, submission IDs and path cleaning (spec kubectl-ray.md §4.8, example 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cli/jobgen.h"

static char *joined(const json_t *arr)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    for (size_t i = 0; i < json_array_size(arr); i++)
        krc_strbuf_addf(&out, "%s[%s]", i ? " " : "", json_string_value(json_array_get(arr, i)));
    return krc_strbuf_detach(&out);
}

static void test_shell_split_follows_shellquote(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"python train.py --epochs 3", "[python] [train.py] [--epochs] [3]"},
        {"python -c print(1 + 1)", "[python] [-c] [print(1] [+] [1)]"},
        {"echo 'a b' \"c \\\"d\\\"\" e\\ f", "[echo] [a b] [c \"d\"] [e f]"},
        {"run a#b # a comment\nnext", "[run] [a#b] [next]"},
        {"  \t\r\n", ""},
        {"x \"\"", "[x] []"},
    };
    char cause[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *w = NULL;
        assert_int_equal(cli_shell_split(cases[i].in, &w, cause, sizeof(cause)), 0);
        char *s = joined(w);
        if (strcmp(s, cases[i].want) != 0)
            fail_msg("split(%s) = %s, want %s", cases[i].in, s, cases[i].want);
        free(s);
        json_decref(w);
    }
    json_t *w = NULL;
    assert_int_equal(cli_shell_split("a 'b", &w, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "EOF found when expecting closing quote");
    assert_int_equal(cli_shell_split("a b\\", &w, cause, sizeof(cause)), CLI_FAIL);
    assert_string_equal(cause, "EOF found after escape character");
}

static void test_submit_argv_order_of_example_2_and_options(void **state)
{
    (void)state;
    struct cli_submit_opts o = {.address = "http://localhost:8265",
                                .submission_id = "nightly-42",
                                .working_dir = "./app",
                                .entrypoint = "python train.py --epochs 3"};
    json_t *argv = NULL;
    char cause[128];
    assert_int_equal(cli_submit_argv(&o, &argv, cause, sizeof(cause)), 0);
    char *s = joined(argv);
    assert_string_equal(s, "[ray] [job] [submit] [--address] [http://localhost:8265] "
                           "[--submission-id] [nightly-42] [--working-dir] [./app] [--] "
                           "[python] [train.py] [--epochs] [3]");
    free(s);
    json_decref(argv);

    o.runtime_env = "env.yaml";
    o.runtime_env_json = "{}";
    o.entrypoint_num_cpus = 0.5f;
    o.entrypoint_num_gpus = 1;
    o.entrypoint_memory = 1024;
    o.entrypoint_resources = "{\"r\":1}";
    o.metadata_json = "{\"m\":\"v\"}";
    o.no_wait = true;
    o.headers = "{}";
    o.verify = "false";
    o.log_style = "record";
    o.log_color = "false";
    o.verbose = true;
    assert_int_equal(cli_submit_argv(&o, &argv, cause, sizeof(cause)), 0);
    s = joined(argv);
    assert_string_equal(
        s, "[ray] [job] [submit] [--address] [http://localhost:8265] [--runtime-env] [env.yaml] "
           "[--runtime-env-json] [{}] [--submission-id] [nightly-42] [--entrypoint-num-cpus] "
           "[0.500000] [--entrypoint-num-gpus] [1.000000] [--entrypoint-memory] [1024] "
           "[--entrypoint-resources] [{\"r\":1}] [--metadata-json] [{\"m\":\"v\"}] [--no-wait] "
           "[--headers] [{}] [--verify] [false] [--log-style] [record] [--log-color] [false] "
           "[--verbose] [--working-dir] [./app] [--] [python] [train.py] [--epochs] [3]");
    free(s);
    json_decref(argv);
}

static void test_generated_rayjob_of_example_2(void **state)
{
    (void)state;
    struct cli_cluster_model m;
    struct cli_group_model g;
    memset(&m, 0, sizeof(m));
    memset(&g, 0, sizeof(g));
    m.ray_version = "2.52.0";
    m.image = "rayproject/ray:2.52.0";
    m.head.cpu = "2";
    m.head.memory = "4Gi";
    m.head.gpu = "0";
    g.name = "default-group";
    g.replicas = 1;
    g.cpu = "2";
    g.memory = "4Gi";
    g.gpu = "0";
    m.groups = &g;
    m.ngroups = 1;
    struct cli_job_model jm = {"nightly", "default", "python train.py --epochs 3", "nightly-42", 0,
                               false,     &m};
    json_t *job = NULL;
    struct krc_error err;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    assert_int_equal(cli_gen_rayjob(&jm, &job, &err), 0);
    assert_int_equal(cli_gen_dry_run(job, &out, &err), 0);
    assert_non_null(strstr(out.buf, "apiVersion: ray.io/v1\nkind: RayJob\nmetadata:\n"
                                    "  name: nightly\n  namespace: default\nspec:\n"
                                    "  entrypoint: python train.py --epochs 3\n"
                                    "  jobId: nightly-42\n  rayClusterSpec:\n"));
    assert_non_null(strstr(out.buf, "    workerGroupSpecs:\n    - groupName: default-group\n"
                                    "      replicas: 1\n      template:\n"));
    assert_null(strstr(out.buf, "numOfHosts"));
    size_t n = strlen(out.buf);
    const char *tail = "  shutdownAfterJobFinishes: false\n  submissionMode: InteractiveMode\n"
                       "  ttlSecondsAfterFinished: 0\n\n";
    assert_true(n > strlen(tail));
    assert_string_equal(out.buf + n - strlen(tail), tail);
    krc_strbuf_release(&out);
    json_decref(job);
}

static void test_submission_ids_use_the_alphabet(void **state)
{
    (void)state;
    char a[32], b[32];
    assert_int_equal(cli_submission_id(a, sizeof(a)), 0);
    assert_int_equal(cli_submission_id(b, sizeof(b)), 0);
    assert_int_equal(strlen(a), strlen("raysubmit_") + 16);
    assert_memory_equal(a, "raysubmit_", 10);
    assert_int_equal(strspn(a + 10, "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ123456789"),
                     16);
    assert_string_not_equal(a, b);
    assert_int_equal(cli_submission_id(a, 10), KRC_EINVAL);
}

static void test_path_clean_is_gos(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {{"./a//b.yaml", "a/b.yaml"},
                 {"", "."},
                 {"/../x", "/x"},
                 {"a/../..", ".."},
                 {"../../a/", "../../a"},
                 {"/a/b/../c/.", "/a/c"},
                 {"a/./b/..", "a"},
                 {"//", "/"}};
    char out[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cli_path_clean(cases[i].in, out, sizeof(out));
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("Clean(%s) = %s, want %s", cases[i].in, out, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_split_follows_shellquote),
        cmocka_unit_test(test_submit_argv_order_of_example_2_and_options),
        cmocka_unit_test(test_generated_rayjob_of_example_2),
        cmocka_unit_test(test_submission_ids_use_the_alphabet),
        cmocka_unit_test(test_path_clean_is_gos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
