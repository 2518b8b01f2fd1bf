/* Unit tests for the pure parts of the pod sandbox: mount planning, hostname derivation, the
 * default /etc files, /proc/<pid>/stat and /proc/<pid>/cgroup parsing, veth names, CPU weights. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "node/cgroup.h"
#include "node/podmount.h"
#include "node/podnet.h"
#include "node/sandbox.h"
#include "util/error.h"
#include "util/strbuf.h"

static void test_mount_plan_orders_parents_first(void **state)
{
    (void)state;
    struct krc_pod_mount m[] = {
        {.source = "/h/logs", .target = "/tmp/ray/logs"},
        {.source = "/h/cfg", .target = "/etc/config", .read_only = 1},
        {.target = "/tmp/ray", .tmpfs_size = 4096},
        {.source = "/h/a-b", .target = "/tmp/ray-b"},
    };
    struct krc_podmount_op *ops;
    size_t n;
    assert_int_equal(
        krc_podmount_plan(m, 4, 1 << 20, 0, "/s/hosts", "/s/resolv.conf", &ops, &n, NULL), 0);
    const char *want[] = {"/proc",         "/dev/shm",   "/etc/config",
                          "/tmp",          "/tmp/ray",   "/tmp/ray-b",
                          "/tmp/ray/logs", "/etc/hosts", "/etc/resolv.conf"};
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        if (strcmp(ops[i].target, want[i]) != 0)
            fail_msg("op %zu is %s, want %s", i, ops[i].target, want[i]);
    assert_int_equal(ops[0].kind, KRC_PODMOUNT_PROC);
    assert_int_equal(ops[1].kind, KRC_PODMOUNT_TMPFS);
    assert_int_equal(ops[1].size, 1 << 20);
    assert_int_equal(ops[2].kind, KRC_PODMOUNT_BIND);
    assert_true(ops[2].read_only);
    assert_int_equal(ops[4].kind, KRC_PODMOUNT_TMPFS);
    assert_string_equal(ops[7].source, "/s/hosts");
    free(ops);
}

static void test_missing_mount_points_are_made_directly_only_inside_pod_mounts(void **state)
{
    (void)state;
    const struct krc_podmount_op done[] = {
        {.kind = KRC_PODMOUNT_PROC, .target = "/proc"},
        {.kind = KRC_PODMOUNT_TMPFS, .target = "/tmp"},
        {.kind = KRC_PODMOUNT_BIND, .source = "/h/vol", .target = "/data/vol"},
    };
    const struct {
        const char *dir;
        int in_pod;
    } cases[] = {
        {"/tmp", 1},  {"/tmp/a/b", 1}, {"/data/vol/x", 1},  {"/data/vol", 1},  {"/", 0},
        {"/tmpx", 0}, {"/data", 0},    {"/data/volume", 0}, {"/proc/self", 0}, /* /proc is the
                                                                                  kernel's, not a
                                                                                  place to create
                                                                                  directories */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (krc_podmount_in_pod(cases[i].dir, done, 3) != cases[i].in_pod)
            fail_msg("%s: in_pod should be %d", cases[i].dir, cases[i].in_pod);
    assert_int_equal(krc_podmount_in_pod("/tmp", done, 1), 0); /* only mounts applied so far */
}

static void test_a_volume_at_dev_shm_replaces_the_default(void **state)
{
    (void)state;
    struct krc_pod_mount m[] = {{.target = "/dev/shm", .tmpfs_size = 2 << 20}};
    struct krc_podmount_op *ops;
    size_t n, shm = 0;
    assert_int_equal(krc_podmount_plan(m, 1, 1 << 20, 0, NULL, NULL, &ops, &n, NULL), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ops[i].target, "/dev/shm") == 0) {
            shm++;
            assert_int_equal(ops[i].size, 2 << 20);
        }
    assert_int_equal(shm, 1);
    assert_int_equal(n, 3); /* proc, /dev/shm, /tmp */
    free(ops);
}

static void test_mount_plan_rejects_bad_targets(void **state)
{
    (void)state;
    static const char *bad[] = {"relative", "/",         "/a//b",     "/a/./b", "/a/../etc",
                                "/a/",      "/proc/sys", "/sys/fs/x", "/proc",  NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct krc_pod_mount m = {.source = "/h", .target = bad[i]};
        struct krc_podmount_op *ops = NULL;
        size_t n;
        struct krc_error err = {0};
        if (krc_podmount_plan(&m, 1, 0, 0, NULL, NULL, &ops, &n, &err) != KRC_EINVAL)
            fail_msg("target %s accepted", bad[i] ? bad[i] : "NULL");
        assert_null(ops);
    }
    struct krc_pod_mount twice[] = {{.source = "/a", .target = "/x"},
                                    {.source = "/b", .target = "/x"}};
    struct krc_podmount_op *ops = NULL;
    size_t n;
    assert_int_equal(krc_podmount_plan(twice, 2, 0, 0, NULL, NULL, &ops, &n, NULL), KRC_EINVAL);
    struct krc_pod_mount relsrc = {.source = "rel", .target = "/x"};
    assert_int_equal(krc_podmount_plan(&relsrc, 1, 0, 0, NULL, NULL, &ops, &n, NULL), KRC_EINVAL);
    assert_true(krc_podmount_valid_target("/procfs"));
    assert_true(krc_podmount_valid_target("/a/..b"));
}

static void test_hostname_follows_kubelet(void **state)
{
    (void)state;
    char out[64];
    struct krc_sandbox_spec s = {.name = "ray-head-abc12"};
    krc_sandbox_hostname(&s, out);
    assert_string_equal(out, "ray-head-abc12");
    s.hostname = "head";
    krc_sandbox_hostname(&s, out);
    assert_string_equal(out, "head");
    /* a long pod name is cut to 63 bytes, without a trailing '-' */
    s.hostname = NULL;
    s.name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbb";
    krc_sandbox_hostname(&s, out);
    assert_int_equal(strlen(out), 62);
    assert_true(out[61] == 'a');
}

static void test_default_etc_files(void **state)
{
    (void)state;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    assert_int_equal(krc_sandbox_default_hosts("10.244.0.9", "ray-head", &sb), 0);
    assert_non_null(strstr(sb.buf, "127.0.0.1\tlocalhost\n"));
    assert_non_null(strstr(sb.buf, "\n10.244.0.9\tray-head\n"));
    krc_strbuf_release(&sb);
    assert_int_equal(krc_sandbox_default_resolv("team-a", &sb), 0);
    assert_non_null(strstr(sb.buf, "search team-a.svc.cluster.local svc.cluster.local "
                                   "cluster.local\n"));
    assert_non_null(strstr(sb.buf, "nameserver 127.0.0.1\n"));
    krc_strbuf_release(&sb);
}

static void test_start_time_survives_odd_comm(void **state)
{
    (void)state;
    unsigned long long t = 0;
    const char *line = "4242 (a) b (c) d) S 1 4242 4242 0 -1 4194560 150 0 0 0 1 2 0 0 20 0 1 0 "
                       "987654 1234 56 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n";
    assert_int_equal(krc_sandbox_parse_start_time(line, &t), 0);
    assert_int_equal(t, 987654ULL);
    assert_int_equal(krc_sandbox_parse_start_time("12 (x) S 1 2", &t), KRC_EINVAL);
    assert_int_equal(krc_sandbox_parse_start_time("no parens", &t), KRC_EINVAL);
}

static void test_cgroup_self_path(void **state)
{
    (void)state;
    const char *v1 = "9:name=systemd:/\n"
                     "4:memory:/process_api/5ccd\n"
                     "3:cpu,cpuacct:/svc\n"
                     "0::/\n";
    char out[256];
    assert_int_equal(krc_cgroup_self_path(v1, "memory", out, sizeof(out)), 0);
    assert_string_equal(out, "/process_api/5ccd");
    assert_int_equal(krc_cgroup_self_path(v1, "cpu", out, sizeof(out)), 0);
    assert_string_equal(out, "/svc");
    assert_int_equal(krc_cgroup_self_path(v1, "cpuacct", out, sizeof(out)), 0);
    assert_int_equal(krc_cgroup_self_path(v1, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "/");
    assert_int_equal(krc_cgroup_self_path(v1, "pids", out, sizeof(out)), KRC_ENOTFOUND);
    assert_int_equal(krc_cgroup_self_path(v1, "cpuac", out, sizeof(out)), KRC_ENOTFOUND);
    assert_int_equal(krc_cgroup_self_path("0::/user.slice/x", NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "/user.slice/x");
}

static void test_cpu_shares_and_weight(void **state)
{
    (void)state;
    assert_int_equal(krc_cgroup_cpu_shares(0), 2);
    assert_int_equal(krc_cgroup_cpu_shares(1), 2);
    assert_int_equal(krc_cgroup_cpu_shares(1000), 1024);
    assert_int_equal(krc_cgroup_cpu_shares(500), 512);
    assert_int_equal(krc_cgroup_cpu_shares(1000000), 262144);
    assert_int_equal(krc_cgroup_cpu_weight(0), 1);
    assert_int_equal(krc_cgroup_cpu_weight(1000000), 10000);
    assert_int_equal(krc_cgroup_cpu_weight(1000), 39);
}

static void test_veth_names_are_valid_and_distinct_per_bridge(void **state)
{
    (void)state;
    char a[KRC_PODNET_IFNAME_MAX], b[KRC_PODNET_IFNAME_MAX], c[KRC_PODNET_IFNAME_MAX];
    krc_podnet_veth_name("krc0", "6f1c9a2e-0d4b-4f7e-9a51-2b9d7c3e8f10", a);
    krc_podnet_veth_name("krc1", "6f1c9a2e-0d4b-4f7e-9a51-2b9d7c3e8f10", b);
    krc_podnet_veth_name("krc0", "6f1c9a2e-0d4b-4f7e-9a51-2b9d7c3e8f11", c);
    assert_int_equal(strlen(a), 14);
    assert_true(krc_podnet_valid_ifname(a));
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_false(krc_podnet_valid_ifname("this-name-is-too-long"));
    assert_false(krc_podnet_valid_ifname("a b"));
    assert_false(krc_podnet_valid_ifname(""));
    assert_true(krc_podnet_valid_ifname("krc0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mount_plan_orders_parents_first),
        cmocka_unit_test(test_a_volume_at_dev_shm_replaces_the_default),
        cmocka_unit_test(test_missing_mount_points_are_made_directly_only_inside_pod_mounts),
        cmocka_unit_test(test_mount_plan_rejects_bad_targets),
        cmocka_unit_test(test_hostname_follows_kubelet),
        cmocka_unit_test(test_default_etc_files),
        cmocka_unit_test(test_start_time_survives_odd_comm),
        cmocka_unit_test(test_cgroup_self_path),
        cmocka_unit_test(test_cpu_shares_and_weight),
        cmocka_unit_test(test_veth_names_are_valid_and_distinct_per_bridge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
