/* Unit tests for node/podjson: sandbox records (sandbox.json), container specs and statuses
 * round-trip, and hostile input is rejected with a message naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/podjson.h"
#include "util/error.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    if (!doc)
        fail_msg("bad test JSON: %s", e.text);
    return doc;
}

static void test_record_round_trips(void **state)
{
    (void)state;
    struct krc_pod_mount mounts[] = {
        {.source = "/var/lib/x/vol", .target = "/data", .read_only = 1},
        {.target = "/dev/shm", .tmpfs_size = 1 << 30},
    };
    struct krc_sandbox_record r = {
        .spec = {.uid = "0b0e-11",
                 .name = "ray-head",
                 .namespace_ = "default",
                 .hostname = "ray-head",
                 .ip = "10.244.0.7",
                 .shm_size = 1 << 20,
                 .memory_limit = 2LL << 30,
                 .cpu_limit_millis = 1500,
                 .grace_seconds = 30,
                 .mounts = mounts,
                 .n_mounts = 2},
        .bridge = "krc0",
        .veth = "kv0123456789ab",
        .gateway = "10.244.0.1",
        .prefix = 16,
        .path = "/venv/bin:/usr/bin",
        .cgroups = {"/sys/fs/cgroup/memory/x/pod-0b0e-11"},
        .n_cgroups = 1,
        .pid = 4242,
        .start_time = 123456789ULL,
    };
    json_t *doc;
    assert_int_equal(krc_podjson_record_encode(&r, &doc, NULL), 0);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    doc = parse(text);
    free(text);
    struct krc_sandbox_record back;
    struct krc_error err = {0};
    if (krc_podjson_record_decode(doc, &back, &err) != 0)
        fail_msg("decode: %s", err.msg);
    assert_string_equal(back.spec.uid, "0b0e-11");
    assert_string_equal(back.spec.hostname, "ray-head");
    assert_string_equal(back.spec.ip, "10.244.0.7");
    assert_int_equal(back.spec.memory_limit, 2LL << 30);
    assert_int_equal(back.spec.cpu_limit_millis, 1500);
    assert_int_equal(back.spec.n_mounts, 2);
    assert_string_equal(back.spec.mounts[0].source, "/var/lib/x/vol");
    assert_true(back.spec.mounts[0].read_only);
    assert_null(back.spec.mounts[1].source);
    assert_int_equal(back.spec.mounts[1].tmpfs_size, 1 << 30);
    assert_string_equal(back.veth, "kv0123456789ab");
    assert_int_equal(back.prefix, 16);
    assert_int_equal(back.n_cgroups, 1);
    assert_string_equal(back.cgroups[0], "/sys/fs/cgroup/memory/x/pod-0b0e-11");
    assert_int_equal(back.pid, 4242);
    assert_int_equal(back.start_time, 123456789ULL);
    krc_podjson_record_release(&back);
    json_decref(doc);
}

static void test_record_decode_rejects_hostile_input(void **state)
{
    (void)state;
    static const struct {
        const char *json, *field;
    } cases[] = {
        {"[]", "not an object"},
        {"{\"name\":\"p\"}", "uid"},
        {"{\"uid\":\"../etc\",\"name\":\"p\"}", "uid"},
        {"{\"uid\":7,\"name\":\"p\"}", "uid"},
        {"{\"uid\":\"u\",\"name\":\"p\",\"pid\":-1}", "pid"},
        {"{\"uid\":\"u\",\"name\":\"p\",\"prefix\":40}", "prefix"},
        {"{\"uid\":\"u\",\"name\":\"p\",\"mounts\":{}}", "mounts"},
        {"{\"uid\":\"u\",\"name\":\"p\",\"mounts\":[{\"source\":\"/x\"}]}", "target"},
        {"{\"uid\":\"u\",\"name\":\"p\",\"cgroups\":[\"relative\"]}", "cgroups"},
        {"{\"uid\":\"u\",\"name\":\"p\",\"cgroups\":[\"/a\",\"/b\",\"/c\"]}", "cgroups"},
        {"{\"uid\":\"u\",\"name\":\"p\",\"hostname\":"
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaa\"}",
         "hostname"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = parse(cases[i].json);
        struct krc_sandbox_record r;
        struct krc_error err = {0};
        int rc = krc_podjson_record_decode(doc, &r, &err);
        json_decref(doc);
        if (rc != KRC_EINVAL)
            fail_msg("decode %s: rc %d, want InvalidArgument", cases[i].json, rc);
        if (!strstr(err.msg, cases[i].field))
            fail_msg("decode %s: message \"%s\" does not name %s", cases[i].json, err.msg,
                     cases[i].field);
    }
}

static void test_container_spec_round_trips(void **state)
{
    (void)state;
    const char *argv[] = {"ray", "start", "--head", "--block"};
    const char *env[] = {"A=1", "B=x=y"};
    struct krc_container_spec c = {
        .name = "ray-head", .argv = argv, .argc = 4, .env = env, .envc = 2, .workdir = "/home/ray"};
    json_t *doc;
    assert_int_equal(krc_podjson_container_spec_encode(&c, &doc, NULL), 0);
    struct krc_container_spec_buf buf;
    assert_int_equal(krc_podjson_container_spec_decode(doc, &buf, NULL), 0);
    assert_string_equal(buf.spec.name, "ray-head");
    assert_int_equal(buf.spec.argc, 4);
    assert_string_equal(buf.spec.argv[3], "--block");
    assert_null(buf.spec.argv[4]); /* NULL-terminated for execve */
    assert_int_equal(buf.spec.envc, 2);
    assert_string_equal(buf.spec.env[1], "B=x=y");
    assert_string_equal(buf.spec.workdir, "/home/ray");
    krc_podjson_container_spec_release(&buf);
    json_decref(doc);
}

static void test_container_spec_decode_rejects_bad_specs(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{\"name\":\"c\"}",                                       /* no command */
        "{\"name\":\"c\",\"argv\":[]}",                           /* empty command */
        "{\"name\":\"c\",\"argv\":[\"\"]}",                       /* empty argv[0] */
        "{\"name\":\"Bad_Name\",\"argv\":[\"sh\"]}",              /* not a DNS label */
        "{\"name\":\"c\",\"argv\":[\"sh\", 3]}",                  /* not a string */
        "{\"name\":\"c\",\"argv\":[\"sh\\u0000x\"]}",             /* embedded NUL */
        "{\"name\":\"c\",\"argv\":[\"sh\"],\"env\":[\"NOEQ\"]}",  /* not NAME=VALUE */
        "{\"name\":\"c\",\"argv\":[\"sh\"],\"env\":[\"=v\"]}",    /* empty name */
        "{\"name\":\"c\",\"argv\":[\"sh\"],\"workdir\":\"rel\"}", /* relative workingDir */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_error_t e;
        json_t *doc = json_loads(bad[i], JSON_ALLOW_NUL, &e);
        assert_non_null(doc);
        struct krc_container_spec_buf buf;
        struct krc_error err = {0};
        if (krc_podjson_container_spec_decode(doc, &buf, &err) != KRC_EINVAL)
            fail_msg("decode %s: accepted", bad[i]);
        assert_true(err.msg[0] != '\0');
        json_decref(doc);
    }
}

static void test_status_round_trips(void **state)
{
    (void)state;
    struct krc_container_status s = {.name = "worker",
                                     .state = KRC_CONTAINER_EXITED,
                                     .pid = 7,
                                     .exit_code = 137,
                                     .signal = 9,
                                     .started_at = 1700000000,
                                     .finished_at = 1700000010,
                                     .restart_count = 2,
                                     .stop_requested = 1,
                                     .message = ""};
    json_t *doc, *arr = json_array();
    assert_int_equal(krc_podjson_status_encode(&s, &doc, NULL), 0);
    assert_int_equal(json_array_append_new(arr, doc), 0);
    struct krc_container_status *out;
    size_t n;
    assert_int_equal(krc_podjson_status_array_decode(arr, &out, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].name, "worker");
    assert_int_equal(out[0].state, KRC_CONTAINER_EXITED);
    assert_int_equal(out[0].exit_code, 137);
    assert_int_equal(out[0].signal, 9);
    assert_int_equal(out[0].finished_at, 1700000010);
    assert_int_equal(out[0].restart_count, 2);
    assert_true(out[0].stop_requested);
    free(out);
    json_decref(arr);
}

static void test_status_file_written_atomically_reads_back(void **state)
{
    (void)state;
    char dir[] = "/tmp/krc-podjson-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dirfd >= 0);
    json_t *doc = parse("{\"containers\":[]}"), *back = NULL;
    assert_int_equal(krc_podjson_write_file(dirfd, "status.json", doc, NULL), 0);
    assert_int_equal(krc_podjson_read_file(dirfd, "status.json", &back, NULL), 0);
    assert_true(json_equal(doc, back));
    assert_int_equal(faccessat(dirfd, "status.json.tmp", F_OK, 0), -1);
    assert_int_equal(krc_podjson_read_file(dirfd, "missing.json", &back, NULL) == KRC_ENOTFOUND, 1);
    json_decref(doc);
    json_decref(back);
    unlinkat(dirfd, "status.json", 0);
    close(dirfd);
    assert_int_equal(rmdir(dir), 0);
}

static void test_names_and_uids(void **state)
{
    (void)state;
    assert_true(krc_podjson_valid_label("ray-head"));
    assert_true(krc_podjson_valid_label("a"));
    assert_false(krc_podjson_valid_label("-a"));
    assert_false(krc_podjson_valid_label("a-"));
    assert_false(krc_podjson_valid_label("A"));
    assert_false(krc_podjson_valid_label(""));
    assert_true(krc_podjson_valid_uid("6f1c9a2e-0d4b-4f7e-9a51-2b9d7c3e8f10"));
    assert_false(krc_podjson_valid_uid(".."));
    assert_false(krc_podjson_valid_uid("a/b"));
    assert_false(krc_podjson_valid_uid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trips),
        cmocka_unit_test(test_record_decode_rejects_hostile_input),
        cmocka_unit_test(test_container_spec_round_trips),
        cmocka_unit_test(test_container_spec_decode_rejects_bad_specs),
        cmocka_unit_test(test_status_round_trips),
        cmocka_unit_test(test_status_file_written_atomically_reads_back),
        cmocka_unit_test(test_names_and_uids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
