/* Integration test of the pod sandbox: real namespaces, a real bridge, real processes.
 *
 * Needs root (exit 77 otherwise). Uses its own bridge and /24 (derived from the test's pid, so
 * concurrent runs do not collide) and a state root under /run; every sandbox, the bridge and the
 * state are removed in the group teardown even when a test fails. Network traffic stays between
 * the test's own pod namespaces and the test's bridge address. The real Ray check runs when the
 * Ray venv exists (~/.cache/kuberay-c/venv-ray-2.52.0, or KRC_RAY_VENV). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "node/node.h"
#include "node/podnet.h"
#include "node/podproto.h"
#include "node/sandbox.h"
#include "util/error.h"

#define SYSTEM_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum { MAX_TRACKED = 8 };

struct tracked {
    char uid[64];
    pid_t supervisor;
    ino_t pid_ns, net_ns;
};

static struct {
    char root[64];  /* test scratch: volumes and the node state root */
    char state[80]; /* the node's state root, inside root */
    char bridge[16];
    char cidr[32];
    char range[32]; /* this node's half of the /24; a second node gets the other half */
    char marker[48];
    char pod_path[PATH_MAX];
    char venv[PATH_MAX];
    struct krc_node_config cfg;
    struct krc_node *node;
    struct krc_sandbox *a, *b;
    pid_t agent_child;
    struct tracked seen[MAX_TRACKED]; /* every sandbox ever created, for the leak checks */
    size_t n_seen;
} fx;

/* --- helpers --- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static ino_t ns_inode(pid_t pid, const char *ns)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static void track(struct krc_sandbox *sb)
{
    if (fx.n_seen == MAX_TRACKED)
        return;
    struct tracked *t = &fx.seen[fx.n_seen++];
    snprintf(t->uid, sizeof(t->uid), "%s", krc_sandbox_uid(sb));
    t->supervisor = krc_sandbox_pid(sb);
    t->pid_ns = ns_inode(t->supervisor, "pid");
    t->net_ns = ns_inode(t->supervisor, "net");
}

/* Number of processes whose namespace `ns` has inode ino. */
static int processes_in_ns(const char *ns, ino_t ino)
{
    int n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        if (ns_inode((pid_t)pid, ns) == ino)
            n++;
    }
    closedir(d);
    return n;
}

static struct krc_sandbox *create_with(const char *uid, const char *name, const char *hostname,
                                       int64_t memory, int cpu_millis,
                                       const struct krc_pod_mount *mounts, size_t n_mounts)
{
    struct krc_error err = {0};
    struct krc_sandbox *sb = NULL;
    struct krc_sandbox_spec spec = {
        .uid = uid,
        .name = name,
        .namespace_ = "default",
        .hostname = hostname,
        .memory_limit = memory,
        .cpu_limit_millis = cpu_millis,
        .grace_seconds = 5,
        .mounts = mounts,
        .n_mounts = n_mounts,
    };
    int rc = krc_sandbox_create(fx.node, &spec, &sb, &err);
    if (rc)
        fail_msg("create sandbox %s: %s", uid, err.msg);
    track(sb);
    return sb;
}

static struct krc_sandbox *create(const char *uid, const char *name, const char *hostname)
{
    return create_with(uid, name, hostname, 0, 0, NULL, 0);
}

/* Starts a container; argv ends with NULL. The test's marker is appended as a last argument
 * where the command ignores it (python3 -c, sh -c take it as argv[1] or $0). */
static int start_v(struct krc_sandbox *sb, const char *name, const char *const *env, size_t envc,
                   struct krc_error *err, const char *const *argv)
{
    size_t argc = 0;
    while (argv[argc])
        argc++;
    struct krc_container_spec spec = {
        .name = name, .argv = argv, .argc = argc, .env = env, .envc = envc};
    struct krc_container_status st;
    return krc_sandbox_start_container(sb, &spec, &st, err);
}

/* Starts a container from a NULL-terminated argument list; fails the test if it cannot. */
static void start(struct krc_sandbox *sb, const char *name, ...) __attribute__((sentinel));
static void start(struct krc_sandbox *sb, const char *name, ...)
{
    const char *argv[16];
    size_t argc = 0;
    va_list ap;
    va_start(ap, name);
    while (argc < 15 && (argv[argc] = va_arg(ap, const char *)))
        argc++;
    va_end(ap);
    argv[argc] = NULL;
    struct krc_error err = {0};
    if (start_v(sb, name, NULL, 0, &err, argv) != 0)
        fail_msg("start %s: %s", name, err.msg);
}

static struct krc_container_status wait_exit(struct krc_sandbox *sb, const char *name,
                                             int timeout_ms)
{
    struct krc_container_status st;
    struct krc_error err = {0};
    if (krc_sandbox_wait_container(sb, name, timeout_ms, &st, &err) != 0)
        fail_msg("wait %s: %s", name, err.msg);
    return st;
}

/* Runs a container to completion (NULL-terminated arguments) and returns its exit code. */
static int run(struct krc_sandbox *sb, const char *name, ...) __attribute__((sentinel));
static int run(struct krc_sandbox *sb, const char *name, ...)
{
    const char *argv[16];
    size_t argc = 0;
    va_list ap;
    va_start(ap, name);
    while (argc < 15 && (argv[argc] = va_arg(ap, const char *)))
        argc++;
    va_end(ap);
    argv[argc] = NULL;
    struct krc_error err = {0};
    if (start_v(sb, name, NULL, 0, &err, argv) != 0)
        fail_msg("start %s: %s", name, err.msg);
    return wait_exit(sb, name, 30000).exit_code;
}

static void read_log(struct krc_sandbox *sb, const char *name, int restart, char *buf, size_t cap)
{
    char path[PATH_MAX];
    assert_int_equal(krc_sandbox_log_path(sb, name, restart, path, sizeof(path)), 0);
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
}

static int wait_log(struct krc_sandbox *sb, const char *name, const char *needle, int timeout_ms)
{
    char buf[65536];
    long long deadline = now_ms() + timeout_ms;
    do {
        read_log(sb, name, 0, buf, sizeof(buf));
        if (strstr(buf, needle))
            return 1;
        sleep_ms(100);
    } while (now_ms() < deadline);
    fail_msg("container %s: log has no \"%s\" after %d ms; log:\n%s", name, needle, timeout_ms,
             buf);
    return 0;
}

static int sh_status(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void destroy(struct krc_sandbox **sb, int grace)
{
    struct krc_error err = {0};
    if (!*sb)
        return;
    int rc = krc_sandbox_destroy(*sb, grace, &err);
    *sb = NULL;
    if (rc)
        fail_msg("destroy: %s", err.msg);
}

static const char *LISTENER = "import socket, sys\n"
                              "s = socket.socket()\n"
                              "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                              "s.bind(('0.0.0.0', 6379))\n"
                              "s.listen(16)\n"
                              "print('listening', flush=True)\n"
                              "while True:\n"
                              "    c, _ = s.accept()\n"
                              "    c.sendall(socket.gethostname().encode() + b'\\n')\n"
                              "    c.close()\n";

static const char *CLIENT = "import socket, sys\n"
                            "s = socket.create_connection((sys.argv[1], 6379), timeout=5)\n"
                            "print('got', s.recv(100).decode().strip(), flush=True)\n";

/* --- group setup and teardown --- */

static int group_setup(void **state)
{
    (void)state;
    struct krc_error err = {0};
    const char *home = getenv("HOME");
    const char *venv = getenv("KRC_RAY_VENV");
    if (venv)
        snprintf(fx.venv, sizeof(fx.venv), "%s", venv);
    else
        snprintf(fx.venv, sizeof(fx.venv), "%s/.cache/kuberay-c/venv-ray-2.52.0",
                 home ? home : "/root");
    if ((size_t)snprintf(fx.pod_path, sizeof(fx.pod_path), "%s/bin:%s", fx.venv, SYSTEM_PATH) >=
        sizeof(fx.pod_path))
        return -1;
    snprintf(fx.marker, sizeof(fx.marker), "krc-itest-marker-%d", (int)getpid());
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        fprintf(stderr, "prctl: %s\n", strerror(errno));
        return -1;
    }
    snprintf(fx.root, sizeof(fx.root), "/run/krc-itest-XXXXXX");
    if (!mkdtemp(fx.root)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    snprintf(fx.state, sizeof(fx.state), "%s/node", fx.root);
    for (int attempt = 0; attempt < 20; attempt++) {
        int x = (int)((getpid() + attempt) % 250) + 1;
        snprintf(fx.bridge, sizeof(fx.bridge), "krct%d", x);
        snprintf(fx.cidr, sizeof(fx.cidr), "10.253.%d.1/24", x);
        snprintf(fx.range, sizeof(fx.range), "10.253.%d.0/25", x);
        fx.cfg = (struct krc_node_config){
            .state_root = fx.state,
            .bridge = fx.bridge,
            .bridge_cidr = fx.cidr,
            .pod_range = fx.range,
            .pod_path = fx.pod_path,
            .supervisor_exe = KRC_NODE_BINARY,
        };
        if (!krc_podnet_link_exists(fx.bridge) && krc_node_open(&fx.cfg, &fx.node, &err) == 0)
            break;
        fprintf(stderr, "bridge %s (%s) not usable: %s\n", fx.bridge, fx.cidr, err.msg);
    }
    if (!fx.node)
        return -1;
    fprintf(stderr, "test bridge %s %s, state %s\n", fx.bridge, fx.cidr, fx.state);
    /* volumes live under the pod's private /tmp, so no mount point is created on the host */
    char vol[PATH_MAX], ro[PATH_MAX];
    snprintf(vol, sizeof(vol), "%s/vol-a", fx.root);
    snprintf(ro, sizeof(ro), "%s/ro-a", fx.root);
    if (mkdir(vol, 0755) != 0 || mkdir(ro, 0755) != 0)
        return -1;
    struct krc_pod_mount mounts[] = {
        {.source = vol, .target = "/tmp/vol"},
        {.source = ro, .target = "/tmp/ro", .read_only = 1},
        {.target = "/tmp/mem", .tmpfs_size = 1 << 20},
    };
    fx.a = create_with("uid-a", "pod-a", NULL, 512 << 20, 500, mounts, 3);
    fx.b = create("uid-b", "pod-b", "b-host");
    start(fx.a, "listener", "python3", "-c", LISTENER, fx.marker, NULL);
    start(fx.b, "listener", "python3", "-c", LISTENER, fx.marker, NULL);
    wait_log(fx.a, "listener", "listening", 20000);
    wait_log(fx.b, "listener", "listening", 20000);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    struct krc_error err = {0};
    char cmd[PATH_MAX + 16];
    int failed = 0;
    if (fx.agent_child > 0) {
        kill(fx.agent_child, SIGKILL);
        waitpid(fx.agent_child, NULL, 0);
    }
    struct krc_sandbox **mine[] = {&fx.a, &fx.b};
    for (size_t i = 0; i < 2; i++) {
        if (*mine[i] && krc_sandbox_destroy(*mine[i], 0, &err) != 0) {
            fprintf(stderr, "teardown: %s\n", err.msg);
            failed = 1;
        }
        *mine[i] = NULL;
    }
    if (fx.node) {
        char **uids = NULL;
        size_t n = 0;
        if (krc_sandbox_list(fx.node, &uids, &n, &err) == 0) {
            for (size_t i = 0; i < n; i++) {
                struct krc_sandbox *sb;
                fprintf(stderr, "teardown: destroying leftover sandbox %s\n", uids[i]);
                if (krc_sandbox_adopt(fx.node, uids[i], &sb, &err) != 0 ||
                    krc_sandbox_destroy(sb, 0, &err) != 0) {
                    fprintf(stderr, "teardown: %s\n", err.msg);
                    failed = 1;
                }
            }
            krc_sandbox_list_free(uids, n);
        }
        if (krc_node_teardown(fx.node, &err) != 0) {
            fprintf(stderr, "teardown: %s\n", err.msg);
            failed = 1;
        }
        krc_node_close(fx.node);
        fx.node = NULL;
    }
    if (fx.root[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.root);
        if (sh_status(cmd) != 0)
            failed = 1;
    }
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ; /* orphans reparented to us as subreaper */
    return failed ? -1 : 0;
}

/* --- tests --- */

static void test_two_pods_listen_on_6379_and_reach_each_other_by_ip(void **state)
{
    (void)state;
    char log[4096];
    assert_string_not_equal(krc_sandbox_ip(fx.a), krc_sandbox_ip(fx.b));
    assert_int_equal(run(fx.b, "client-b", "python3", "-c", CLIENT, krc_sandbox_ip(fx.a), NULL), 0);
    read_log(fx.b, "client-b", 0, log, sizeof(log));
    assert_non_null(strstr(log, "got pod-a"));
    assert_int_equal(run(fx.a, "client-a", "python3", "-c", CLIENT, krc_sandbox_ip(fx.b), NULL), 0);
    read_log(fx.a, "client-a", 0, log, sizeof(log));
    assert_non_null(strstr(log, "got b-host"));
}

static void test_pod_reaches_the_bridge_address(void **state)
{
    (void)state;
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    char port[16], buf[64] = "";
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(inet_pton(AF_INET, krc_node_gateway(fx.node), &addr.sin_addr), 1);
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&addr, &len), 0);
    snprintf(port, sizeof(port), "%d", ntohs(addr.sin_port));
    start(fx.a, "to-host", "python3", "-c",
          "import socket, sys\n"
          "socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)"
          ".sendall(b'hi from pod')\n",
          krc_node_gateway(fx.node), port, fx.marker, NULL);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 15000), 1);
    int c = accept(lfd, NULL, NULL);
    assert_true(c >= 0);
    struct timeval tv = {5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = recv(c, buf, sizeof(buf) - 1, MSG_WAITALL);
    buf[n > 0 ? n : 0] = '\0';
    close(c);
    close(lfd);
    assert_string_equal(buf, "hi from pod");
    assert_int_equal(wait_exit(fx.a, "to-host", 10000).exit_code, 0);
}

static void test_bridge_does_not_forward(void **state)
{
    (void)state;
    char path[128], v[8] = "";
    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", fx.bridge);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_true(read(fd, v, sizeof(v) - 1) > 0);
    close(fd);
    assert_int_equal(v[0], '0');
}

static void test_hostname_and_etc_files_inside_the_pod(void **state)
{
    (void)state;
    char log[4096], want[128];
    assert_int_equal(run(fx.a, "hostname-a", "hostname", NULL), 0);
    read_log(fx.a, "hostname-a", 0, log, sizeof(log));
    assert_string_equal(log, "pod-a\n");
    assert_int_equal(run(fx.b, "hostname-b", "hostname", NULL), 0);
    read_log(fx.b, "hostname-b", 0, log, sizeof(log));
    assert_string_equal(log, "b-host\n");
    assert_int_equal(run(fx.b, "etc", "cat", "/etc/hosts", "/etc/resolv.conf", NULL), 0);
    read_log(fx.b, "etc", 0, log, sizeof(log));
    snprintf(want, sizeof(want), "%s\tb-host\n", krc_sandbox_ip(fx.b));
    assert_non_null(strstr(log, want));
    assert_non_null(strstr(log, "search default.svc.cluster.local"));
    /* the pod sees its own PID namespace: its supervisor is PID 1 */
    assert_int_equal(run(fx.b, "pid1", "sh", "-c", "test \"$(cat /proc/1/comm)\" = kuberay-node",
                         fx.marker, NULL),
                     0);
}

static void test_tmp_and_dev_shm_are_private_to_the_pod(void **state)
{
    (void)state;
    char cmd[256], host_path[128];
    snprintf(cmd, sizeof(cmd), "echo secret > /tmp/%s && echo secret > /dev/shm/%s", fx.marker,
             fx.marker);
    assert_int_equal(run(fx.a, "write-tmp", "sh", "-c", cmd, fx.marker, NULL), 0);
    snprintf(cmd, sizeof(cmd), "test -e /tmp/%s && test -e /dev/shm/%s", fx.marker, fx.marker);
    assert_int_equal(run(fx.a, "see-own-tmp", "sh", "-c", cmd, fx.marker, NULL), 0);
    snprintf(cmd, sizeof(cmd), "test -e /tmp/%s || test -e /dev/shm/%s", fx.marker, fx.marker);
    assert_int_equal(run(fx.b, "see-other-tmp", "sh", "-c", cmd, fx.marker, NULL), 1);
    snprintf(host_path, sizeof(host_path), "/tmp/%s", fx.marker);
    assert_int_equal(access(host_path, F_OK), -1);
    snprintf(host_path, sizeof(host_path), "/dev/shm/%s", fx.marker);
    assert_int_equal(access(host_path, F_OK), -1);
}

static void test_exit_code_and_times_are_recorded(void **state)
{
    (void)state;
    start(fx.a, "exit3", "sh", "-c", "sleep 1; exit 3", fx.marker, NULL);
    struct krc_container_status st = wait_exit(fx.a, "exit3", 10000);
    assert_int_equal(st.state, KRC_CONTAINER_EXITED);
    assert_int_equal(st.exit_code, 3);
    assert_int_equal(st.signal, 0);
    assert_true(st.started_at > 0);
    assert_true(st.finished_at >= st.started_at + 1);
    /* the same name starts again, as a restart */
    start(fx.a, "exit3", "sh", "-c", "exit 4", fx.marker, NULL);
    st = wait_exit(fx.a, "exit3", 10000);
    assert_int_equal(st.exit_code, 4);
    assert_int_equal(st.restart_count, 1);
}

static void test_missing_command_is_a_start_error(void **state)
{
    (void)state;
    struct krc_error err = {0};
    const char *const argv[] = {"no-such-command-krc", NULL};
    assert_int_equal(start_v(fx.a, "missing", NULL, 0, &err, argv), KRC_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no-such-command-krc"));
    struct krc_container_status st;
    assert_int_equal(krc_sandbox_container_status(fx.a, "missing", &st, &err), 0);
    assert_int_equal(st.state, KRC_CONTAINER_EXITED);
    assert_int_equal(st.exit_code, 128);
    assert_non_null(strstr(st.message, "not found"));
}

static void test_env_and_working_dir_reach_the_container(void **state)
{
    (void)state;
    struct krc_error err = {0};
    char log[4096];
    const char *const env[] = {"GREETING=hello", "HOME=/var"};
    const char *const argv[] = {"sh", "-c", "echo $GREETING $HOME $HOSTNAME $(pwd) $PATH",
                                fx.marker, NULL};
    struct krc_container_spec spec = {
        .name = "env", .argv = argv, .argc = 4, .env = env, .envc = 2, .workdir = "/usr"};
    assert_int_equal(krc_sandbox_start_container(fx.b, &spec, NULL, &err), 0);
    assert_int_equal(wait_exit(fx.b, "env", 10000).exit_code, 0);
    read_log(fx.b, "env", 0, log, sizeof(log));
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "hello /var b-host /usr %s\n", fx.pod_path);
    assert_string_equal(log, want);
}

static void test_stop_kills_a_sigterm_ignorer_after_the_grace_period(void **state)
{
    (void)state;
    struct krc_error err = {0};
    struct krc_container_status st;
    start(fx.b, "stubborn", "python3", "-c",
          "import signal, time\n"
          "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
          "print('ready', flush=True)\n"
          "time.sleep(3600)\n",
          fx.marker, NULL);
    wait_log(fx.b, "stubborn", "ready", 20000);
    long long t0 = now_ms();
    assert_int_equal(krc_sandbox_stop_container(fx.b, "stubborn", 2, &err), 0);
    sleep_ms(1000);
    assert_int_equal(krc_sandbox_container_status(fx.b, "stubborn", &st, &err), 0);
    assert_int_equal(st.state, KRC_CONTAINER_RUNNING);
    st = wait_exit(fx.b, "stubborn", 8000);
    long long elapsed = now_ms() - t0;
    assert_true(elapsed >= 2000);
    assert_int_equal(st.signal, SIGKILL);
    assert_int_equal(st.exit_code, 128 + SIGKILL);
    assert_true(st.stop_requested);
}

/* The supervisor's generation and "status" request count, from its "hello". */
static void hello(struct krc_sandbox *sb, unsigned long long *gen, long long *status_requests)
{
    char sock[PATH_MAX + 8];
    struct krc_error err = {0};
    json_t *resp = NULL;
    snprintf(sock, sizeof(sock), "%s/%s", krc_sandbox_dir(sb), KRC_PODPROTO_SOCKET);
    json_t *req = json_pack("{s:s}", "op", "hello");
    int rc = krc_podproto_call(sock, req, &resp, 10000, &err);
    json_decref(req);
    if (rc != 0)
        fail_msg("hello: %s", err.msg);
    *gen = (unsigned long long)json_integer_value(json_object_get(resp, "generation"));
    if (status_requests)
        *status_requests = json_integer_value(json_object_get(resp, "status_requests"));
    json_decref(resp);
}

static int readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) == 1;
}

/* The watch is answered on each change (start, stop) with a larger generation, in order, and
 * stays parked while nothing changes; a stale generation is answered at once. No timing:
 * every wait is a generous upper bound. */
static void test_watch_reports_container_changes_in_order(void **state)
{
    (void)state;
    struct krc_error err = {0};
    struct krc_container_status st;
    unsigned long long g0 = 0, g1 = 0, g2 = 0, g, now_gen;
    long long req0 = 0, req1 = 0;
    int fd;
    assert_int_equal(krc_sandbox_watch_start(fx.b, 0, &fd, &err), 0);
    assert_true(readable(fd, 10000)); /* 0 is stale */
    assert_int_equal(krc_sandbox_watch_finish(fx.b, fd, &g0, &err), 0);
    assert_true(g0 > 0);
    hello(fx.b, &now_gen, &req0);
    assert_true(now_gen >= g0);

    /* parked while the generation stays; answered when a container starts */
    assert_int_equal(krc_sandbox_watch_start(fx.b, now_gen, &fd, &err), 0);
    int early = readable(fd, 200);
    hello(fx.b, &g, NULL);
    if (g == now_gen) /* nothing changed in the pod meanwhile: the watch must still wait */
        assert_false(early);
    start(fx.b, "watched", "sleep", "3600", NULL);
    assert_true(readable(fd, 10000));
    assert_int_equal(krc_sandbox_watch_finish(fx.b, fd, &g1, &err), 0);
    assert_true(g1 > now_gen);
    assert_int_equal(krc_sandbox_container_status(fx.b, "watched", &st, &err), 0);
    assert_int_equal(st.state, KRC_CONTAINER_RUNNING);

    /* the exit after a stop is reported, and the status then shows it */
    long long status_calls = 1;
    assert_int_equal(krc_sandbox_watch_start(fx.b, g1, &fd, &err), 0);
    assert_int_equal(krc_sandbox_stop_container(fx.b, "watched", 0, &err), 0);
    for (;; status_calls++) {
        assert_true(readable(fd, 10000));
        assert_int_equal(krc_sandbox_watch_finish(fx.b, fd, &g2, &err), 0);
        assert_true(g2 > g1);
        assert_int_equal(krc_sandbox_container_status(fx.b, "watched", &st, &err), 0);
        if (st.state == KRC_CONTAINER_EXITED)
            break;
        g1 = g2; /* the stop request itself is a change; the exit comes next */
        assert_int_equal(krc_sandbox_watch_start(fx.b, g1, &fd, &err), 0);
    }
    assert_int_equal(st.exit_code, 128 + SIGKILL);
    /* watching costs no status requests: only the ones above were made */
    hello(fx.b, &g, &req1);
    assert_int_equal(req1 - req0, status_calls + 1);
}

static void test_pod_cgroup_has_the_limits(void **state)
{
    (void)state;
    const char *const *paths;
    char path[PATH_MAX + 32], buf[4096] = "", pid[16];
    size_t n = krc_sandbox_cgroups(fx.a, &paths);
    if (n == 0) {
        fprintf(stderr, "no cgroup on this host; limits not checked\n");
        return;
    }
    snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", paths[0]);
    int fd = open(path, O_RDONLY);
    if (fd < 0) { /* cgroup v2 */
        snprintf(path, sizeof(path), "%s/memory.max", paths[0]);
        fd = open(path, O_RDONLY);
    }
    assert_true(fd >= 0);
    assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
    close(fd);
    assert_int_equal(strtoll(buf, NULL, 10), 512LL << 20);
    snprintf(path, sizeof(path), "%s/cgroup.procs", paths[0]);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    memset(buf, 0, sizeof(buf));
    assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
    close(fd);
    snprintf(pid, sizeof(pid), "%d\n", (int)krc_sandbox_pid(fx.a));
    assert_non_null(strstr(buf, pid));
    if (n > 1) {
        snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", paths[1]);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        memset(buf, 0, sizeof(buf));
        assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
        close(fd);
        assert_int_equal(atoi(buf), 50000);
    }
}

static void test_volumes_are_mounted_at_their_mount_paths(void **state)
{
    (void)state;
    char path[PATH_MAX], log[8192];
    assert_int_equal(
        run(fx.a, "write-vol", "sh", "-c", "echo from-pod > /tmp/vol/f", fx.marker, NULL), 0);
    snprintf(path, sizeof(path), "%s/vol-a/f", fx.root);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_not_equal(
        run(fx.a, "write-ro", "sh", "-c", "touch /tmp/ro/x 2>/dev/null", fx.marker, NULL), 0);
    assert_int_equal(run(fx.a, "mountinfo", "cat", "/proc/self/mountinfo", NULL), 0);
    read_log(fx.a, "mountinfo", 0, log, sizeof(log));
    const char *mem = strstr(log, " /tmp/mem ");
    assert_non_null(mem);
    assert_non_null(strstr(mem, "size=1024k"));
}

/* A supervisor killed while no agent watches: the pod is found dead, its last known states are
 * reported, and destroy still removes everything. */
static void test_dead_pod_is_found_and_cleaned_up(void **state)
{
    (void)state;
    struct krc_error err = {0};
    struct krc_sandbox *d = create("uid-d", "pod-d", NULL);
    start(d, "sleeper", "sleep", "3600", NULL);
    pid_t pid = krc_sandbox_pid(d);
    char veth[KRC_PODNET_IFNAME_MAX];
    snprintf(veth, sizeof(veth), "%s", krc_sandbox_veth(d));
    krc_sandbox_close(d);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    assert_int_equal(krc_sandbox_adopt(fx.node, "uid-d", &d, &err), 0);
    assert_false(krc_sandbox_alive(d));
    struct krc_container_status st;
    assert_int_equal(krc_sandbox_container_status(d, "sleeper", &st, &err), 0);
    assert_int_equal(st.state, KRC_CONTAINER_UNKNOWN);
    destroy(&d, 0);
    assert_false(krc_podnet_link_exists(veth));
}

/* A bad volume is a clear error from create, and nothing of the pod is left. */
static void test_bad_volume_fails_create_cleanly(void **state)
{
    (void)state;
    struct krc_error err = {0};
    struct krc_sandbox *sb = NULL;
    char path[PATH_MAX], veth[KRC_PODNET_IFNAME_MAX];
    struct krc_pod_mount m = {.source = "/nonexistent-krc-volume", .target = "/tmp/x"};
    struct krc_sandbox_spec spec = {
        .uid = "uid-bad", .name = "pod-bad", .mounts = &m, .n_mounts = 1};
    assert_int_not_equal(krc_sandbox_create(fx.node, &spec, &sb, &err), 0);
    assert_null(sb);
    assert_non_null(strstr(err.msg, "/nonexistent-krc-volume"));
    snprintf(path, sizeof(path), "%s/pods/uid-bad", fx.state);
    assert_int_equal(access(path, F_OK), -1);
    krc_podnet_veth_name(fx.bridge, "uid-bad", veth);
    assert_false(krc_podnet_link_exists(veth));
    /* the uid can be created again once the spec is fixed */
    spec.n_mounts = 0;
    assert_int_equal(krc_sandbox_create(fx.node, &spec, &sb, &err), 0);
    track(sb);
    destroy(&sb, 0);
}

/* Two node agents share one bridge with disjoint halves of the network: a pod of the second
 * reaches a pod of the first, and the second's teardown leaves the bridge to the first. */
static void test_second_node_on_the_same_bridge_reaches_the_first(void **state)
{
    (void)state;
    struct krc_error err = {0};
    char state2[96], range2[32], log[4096];
    snprintf(state2, sizeof(state2), "%s/node2", fx.root);
    snprintf(range2, sizeof(range2), "%s", fx.range);
    memcpy(strrchr(range2, '.'), ".128/25", 8);
    struct krc_node_config cfg2 = fx.cfg;
    cfg2.name = "itest-node2";
    cfg2.state_root = state2;
    cfg2.pod_range = range2;
    struct krc_node *node2 = NULL;
    assert_int_equal(krc_node_open(&cfg2, &node2, &err), 0);
    struct krc_sandbox_spec spec = {.uid = "uid-e", .name = "pod-e", .namespace_ = "default"};
    struct krc_sandbox *e = NULL;
    if (krc_sandbox_create(node2, &spec, &e, &err) != 0)
        fail_msg("create on node2: %s", err.msg);
    track(e);
    assert_true(strncmp(krc_sandbox_ip(e), range2, strlen(range2) - 7) == 0);
    assert_true(atoi(strrchr(krc_sandbox_ip(e), '.') + 1) >= 128);
    assert_int_equal(run(e, "client-e", "python3", "-c", CLIENT, krc_sandbox_ip(fx.a), NULL), 0);
    read_log(e, "client-e", 0, log, sizeof(log));
    assert_non_null(strstr(log, "got pod-a"));
    destroy(&e, 0);
    assert_int_equal(krc_node_teardown(node2, &err), 0);
    krc_node_close(node2);
    assert_true(krc_podnet_link_exists(fx.bridge));
    assert_int_equal(access(state2, F_OK), -1);
}

/* The "agent" is a child process that creates a sandbox and is then SIGKILLed; the test, as the
 * restarted agent, finds the sandbox again with its container still running. */
static void test_pod_survives_agent_restart_and_is_readopted(void **state)
{
    (void)state;
    int pfd[2];
    struct krc_error err = {0};
    assert_int_equal(pipe(pfd), 0);
    fx.agent_child = fork();
    assert_true(fx.agent_child >= 0);
    if (fx.agent_child == 0) {
        struct krc_node *node;
        struct krc_sandbox *sb;
        struct krc_sandbox_spec spec = {.uid = "uid-c", .name = "pod-c", .namespace_ = "default"};
        const char *const argv[] = {"python3", "-c", "import time; time.sleep(3600)", fx.marker,
                                    NULL};
        struct krc_container_spec c = {.name = "sleeper", .argv = argv, .argc = 4};
        close(pfd[0]);
        if (krc_node_open(&fx.cfg, &node, &err) != 0 ||
            krc_sandbox_create(node, &spec, &sb, &err) != 0 ||
            krc_sandbox_start_container(sb, &c, NULL, &err) != 0) {
            fprintf(stderr, "agent child: %s\n", err.msg);
            _exit(1);
        }
        if (write(pfd[1], "ok", 2) != 2)
            _exit(1);
        for (;;)
            pause();
    }
    close(pfd[1]);
    char buf[4] = "";
    struct pollfd p = {.fd = pfd[0], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 30000), 1);
    assert_int_equal(read(pfd[0], buf, 2), 2);
    close(pfd[0]);
    assert_int_equal(kill(fx.agent_child, SIGKILL), 0);
    assert_int_equal(waitpid(fx.agent_child, NULL, 0), fx.agent_child);
    fx.agent_child = 0;

    struct krc_sandbox *c = NULL;
    assert_int_equal(krc_sandbox_adopt(fx.node, "uid-c", &c, &err), 0);
    track(c);
    assert_true(krc_sandbox_alive(c));
    struct krc_container_status st;
    assert_int_equal(krc_sandbox_container_status(c, "sleeper", &st, &err), 0);
    assert_int_equal(st.state, KRC_CONTAINER_RUNNING);
    assert_int_equal(run(c, "after-restart", "hostname", NULL), 0);
    char log[256];
    read_log(c, "after-restart", 0, log, sizeof(log));
    assert_string_equal(log, "pod-c\n");
    /* the list after a restart includes it */
    char **uids;
    size_t n, found = 0;
    assert_int_equal(krc_sandbox_list(fx.node, &uids, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        found += strcmp(uids[i], "uid-c") == 0;
    krc_sandbox_list_free(uids, n);
    assert_int_equal(found, 1);
    destroy(&c, 2);
}

static int count(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A real Ray head in one pod and a worker in another, joined by the head's pod IP: `ray status`
 * run inside the head's pod lists two nodes. */
static void test_real_ray_head_and_worker_form_a_two_node_cluster(void **state)
{
    (void)state;
    char ray[PATH_MAX], address[64], log[65536] = "";
    struct krc_error err = {0};
    if ((size_t)snprintf(ray, sizeof(ray), "%s/bin/ray", fx.venv) >= sizeof(ray) ||
        access(ray, X_OK) != 0) {
        fprintf(stderr, "no Ray venv at %s (hack/venv.sh makes one); Ray check skipped\n", fx.venv);
        skip();
    }
    struct krc_sandbox *head = create("uid-ray-head", "ray-head", NULL);
    struct krc_sandbox *worker = create("uid-ray-worker", "ray-worker", NULL);
    const char *const env[] = {"RAY_USAGE_STATS_ENABLED=0", "PYTHONUNBUFFERED=1"};
    snprintf(address, sizeof(address), "--address=%s:6379", krc_sandbox_ip(head));
    const char *const head_argv[] = {"ray",
                                     "start",
                                     "--head",
                                     "--block",
                                     "--port=6379",
                                     "--dashboard-host=0.0.0.0",
                                     "--num-cpus=1",
                                     "--object-store-memory=100000000",
                                     "--disable-usage-stats",
                                     NULL};
    if (start_v(head, "ray", env, 2, &err, head_argv) != 0)
        fail_msg("start ray head: %s", err.msg);
    wait_log(head, "ray", "Ray runtime started", 180000);
    const char *const worker_argv[] = {"ray",     "start",        address,
                                       "--block", "--num-cpus=1", "--object-store-memory=100000000",
                                       NULL};
    if (start_v(worker, "ray", env, 2, &err, worker_argv) != 0)
        fail_msg("start ray worker: %s", err.msg);
    const char *const status_argv[] = {"ray", "status", address, NULL};
    int nodes = 0;
    long long deadline = now_ms() + 180000;
    for (int i = 0; nodes < 2 && now_ms() < deadline; i++) {
        char name[32];
        snprintf(name, sizeof(name), "status-%d", i);
        if (start_v(head, name, env, 2, &err, status_argv) != 0)
            fail_msg("start ray status: %s", err.msg);
        wait_exit(head, name, 60000);
        read_log(head, name, 0, log, sizeof(log));
        nodes = count(log, " 1 node_");
        if (nodes < 2)
            sleep_ms(2000);
    }
    if (nodes != 2)
        fail_msg("ray status lists %d nodes, want 2; last output:\n%s", nodes, log);
    fprintf(stderr, "ray status in the head pod:\n%s", log);
    destroy(&worker, 15);
    destroy(&head, 15);
}

static void test_destroy_leaves_nothing_behind(void **state)
{
    (void)state;
    char cmd[512];
    char veth_a[KRC_PODNET_IFNAME_MAX], veth_b[KRC_PODNET_IFNAME_MAX];
    snprintf(veth_a, sizeof(veth_a), "%s", krc_sandbox_veth(fx.a));
    snprintf(veth_b, sizeof(veth_b), "%s", krc_sandbox_veth(fx.b));
    assert_true(krc_podnet_link_exists(veth_a));
    destroy(&fx.a, 2);
    destroy(&fx.b, 2);
    assert_false(krc_podnet_link_exists(veth_a));
    assert_false(krc_podnet_link_exists(veth_b));
    for (size_t i = 0; i < fx.n_seen; i++) {
        assert_int_equal(processes_in_ns("pid", fx.seen[i].pid_ns), 0);
        assert_int_equal(processes_in_ns("net", fx.seen[i].net_ns), 0);
        assert_true(kill(fx.seen[i].supervisor, 0) != 0 && errno == ESRCH);
    }
    /* "[k]rc..." so the pattern does not match the shell running pgrep */
    int written =
        snprintf(cmd, sizeof(cmd), "pgrep -f '[%c]%s' >/dev/null", fx.marker[0], fx.marker + 1);
    assert_true(written > 0 && (size_t)written < sizeof(cmd));
    assert_int_equal(sh_status(cmd), 1);
    snprintf(cmd, sizeof(cmd), "grep -q '%s' /proc/mounts", fx.root);
    assert_int_equal(sh_status(cmd), 1);
    snprintf(cmd, sizeof(cmd), "ip netns list | grep -q kv");
    assert_int_equal(sh_status(cmd), 1);
    /* the bridge and the node state go with the node teardown */
    struct krc_error err = {0};
    char **uids;
    size_t n;
    assert_int_equal(krc_sandbox_list(fx.node, &uids, &n, &err), 0);
    krc_sandbox_list_free(uids, n);
    assert_int_equal(n, 0);
    assert_int_equal(krc_node_teardown(fx.node, &err), 0);
    krc_node_close(fx.node);
    fx.node = NULL;
    snprintf(cmd, sizeof(cmd), "ip link show %s >/dev/null 2>&1", fx.bridge);
    assert_int_not_equal(sh_status(cmd), 0);
    assert_int_equal(access(fx.state, F_OK), -1);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: the pod sandbox test needs root\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_pods_listen_on_6379_and_reach_each_other_by_ip),
        cmocka_unit_test(test_pod_reaches_the_bridge_address),
        cmocka_unit_test(test_bridge_does_not_forward),
        cmocka_unit_test(test_hostname_and_etc_files_inside_the_pod),
        cmocka_unit_test(test_tmp_and_dev_shm_are_private_to_the_pod),
        cmocka_unit_test(test_exit_code_and_times_are_recorded),
        cmocka_unit_test(test_missing_command_is_a_start_error),
        cmocka_unit_test(test_env_and_working_dir_reach_the_container),
        cmocka_unit_test(test_stop_kills_a_sigterm_ignorer_after_the_grace_period),
        cmocka_unit_test(test_watch_reports_container_changes_in_order),
        cmocka_unit_test(test_pod_cgroup_has_the_limits),
        cmocka_unit_test(test_volumes_are_mounted_at_their_mount_paths),
        cmocka_unit_test(test_dead_pod_is_found_and_cleaned_up),
        cmocka_unit_test(test_bad_volume_fails_create_cleanly),
        cmocka_unit_test(test_second_node_on_the_same_bridge_reaches_the_first),
        cmocka_unit_test(test_pod_survives_agent_restart_and_is_readopted),
        cmocka_unit_test(test_real_ray_head_and_worker_form_a_two_node_cluster),
        cmocka_unit_test(test_destroy_leaves_nothing_behind),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
