/* sandbox.c - the agent side of a pod sandbox (see sandbox.h).
 *
 * The supervisor is started with clone3(2) rather than fork + unshare: one call gives the child
 * its new PID, mount, UTS, IPC and network namespaces (so it is PID 1 of its PID namespace, which
 * unshare(CLONE_NEWPID) cannot make the caller) and hands back a pidfd, through which the agent
 * later waits for and kills exactly that process even if PIDs are reused. The child execs the
 * kuberay-node binary at once; it runs nothing of the agent's (possibly multi-threaded) state.
 * A supervisor found again after an agent restart is opened with pidfd_open(2) and checked
 * against the start time recorded in sandbox.json.
 *
 * Creation order matters for leaving nothing behind: sandbox.json is written before anything
 * else exists, and names everything destroy undoes; every later step is undone by the same
 * teardown path destroy uses, which tolerates steps that never happened.
 *
 * _GNU_SOURCE for the CLONE_* flags and pidfd functions. */
#define _GNU_SOURCE
#include "node/sandbox.h"

#include "node/node_internal.h"
#include "node/podjson.h"
#include "node/podproto.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum {
    CALL_TIMEOUT_MS = 10000,
    READY_TIMEOUT_MS = 30000,
    KILL_WAIT_MS = 10000,
    SHUTDOWN_SLACK_MS = 5000,
    WAIT_POLL_MS = 50, /* krc_sandbox_wait_container without a supervisor watch */
    RMTREE_DEPTH = 8,
};

struct krc_sandbox {
    struct krc_node *node;
    char dir[PATH_MAX];
    char sock[PATH_MAX];
    char uid[72];
    char veth[KRC_PODNET_IFNAME_MAX];
    json_t *doc; /* sandbox.json; rec's strings point into it */
    struct krc_sandbox_record rec;
    int pidfd; /* the supervisor; -1 when it is gone or unknown */
};

/* --- pure helpers --- */

void krc_sandbox_hostname(const struct krc_sandbox_spec *spec, char out[64])
{
    const char *h = spec->hostname && *spec->hostname ? spec->hostname : spec->name;
    snprintf(out, 64, "%s", h ? h : "");
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.'))
        out[--n] = '\0';
}

int krc_sandbox_default_hosts(const char *ip, const char *hostname, struct krc_strbuf *out)
{
    return krc_strbuf_addf(out,
                           "# Kubernetes-managed hosts file (kuberay-node).\n"
                           "127.0.0.1\tlocalhost\n"
                           "::1\tlocalhost ip6-localhost ip6-loopback\n"
                           "fe00::0\tip6-localnet\n"
                           "fe00::0\tip6-mcastprefix\n"
                           "fe00::1\tip6-allnodes\n"
                           "fe00::2\tip6-allrouters\n"
                           "%s\t%s\n",
                           ip, hostname);
}

int krc_sandbox_default_resolv(const char *ns, struct krc_strbuf *out)
{
    /* No cluster DNS server: names resolve through /etc/hosts, and a query for anything else
     * fails at once on the pod's own loopback instead of timing out towards the host's
     * resolver, which a pod cannot reach. */
    int rc = krc_strbuf_adds(out, "# kuberay-node: cluster names are in /etc/hosts; there is "
                                  "no DNS server.\n");
    if (rc == 0 && ns && *ns)
        rc = krc_strbuf_addf(out, "search %s.svc.cluster.local svc.cluster.local cluster.local\n",
                             ns);
    if (rc == 0)
        rc = krc_strbuf_adds(out, "nameserver 127.0.0.1\noptions ndots:5 timeout:1 attempts:1\n");
    return rc;
}

int krc_sandbox_parse_start_time(const char *line, unsigned long long *out)
{
    const char *p = strrchr(line, ')');
    if (!p)
        return KRC_EINVAL;
    p++;
    /* fields after comm start at 3 (state); starttime is field 22 */
    for (int field = 3; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return KRC_EINVAL;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p + 1, &end, 10);
    if (errno || end == p + 1 || (*end != ' ' && *end != '\n' && *end != '\0'))
        return KRC_EINVAL;
    *out = v;
    return 0;
}

/* --- small file and process helpers --- */

static int read_start_time(pid_t pid, unsigned long long *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return KRC_ENOTFOUND;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return KRC_EIO;
    buf[n] = '\0';
    return krc_sandbox_parse_start_time(buf, out);
}

static int write_text(const char *dir, const char *name, const char *text, int flags,
                      struct krc_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (fd < 0)
        return krc_error_set(err, KRC_EIO, "write %s: %s", path, strerror(errno));
    size_t len = strlen(text), off = 0;
    int rc = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = krc_error_set(err, KRC_EIO, "write %s: %s", path, strerror(errno));
            break;
        }
        off += (size_t)n;
    }
    if (close(fd) != 0 && rc == 0)
        rc = krc_error_set(err, KRC_EIO, "write %s: %s", path, strerror(errno));
    return rc;
}

/* Removes dirfd/name and everything under it without following symlinks. */
static int rmtree_at(int dirfd, const char *name, int depth)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
    if (depth <= 0)
        return -1;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            rmtree_at(fd, de->d_name, depth - 1) != 0)
            rc = -1;
    closedir(d);
    if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

/* --- handle --- */

static struct krc_sandbox *handle_new(struct krc_node *node, const char *uid)
{
    struct krc_sandbox *sb = calloc(1, sizeof(*sb));
    if (!sb)
        return NULL;
    sb->node = node;
    sb->pidfd = -1;
    /* uid is at most 64 bytes and the state root at most 60: nothing here can be cut */
    if ((size_t)snprintf(sb->uid, sizeof(sb->uid), "%s", uid) >= sizeof(sb->uid) ||
        (size_t)snprintf(sb->dir, sizeof(sb->dir), "%s/%s", node->pods_dir, uid) >=
            sizeof(sb->dir) ||
        (size_t)snprintf(sb->sock, sizeof(sb->sock), "%s/%s", sb->dir, KRC_PODPROTO_SOCKET) >=
            sizeof(sb->sock)) {
        free(sb);
        return NULL;
    }
    krc_podnet_veth_name(node->bridge, uid, sb->veth);
    return sb;
}

void krc_sandbox_close(struct krc_sandbox *sb)
{
    if (!sb)
        return;
    if (sb->pidfd >= 0)
        close(sb->pidfd);
    krc_podjson_record_release(&sb->rec);
    json_decref(sb->doc);
    free(sb);
}

static int save_record(struct krc_sandbox *sb, struct krc_error *err)
{
    json_t *doc;
    int rc = krc_podjson_record_encode(&sb->rec, &doc, err);
    if (rc)
        return rc;
    int dirfd = open(sb->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        rc = krc_error_set(err, KRC_EIO, "open %s: %s", sb->dir, strerror(errno));
    else
        rc = krc_podjson_write_file(dirfd, "sandbox.json", doc, err);
    if (dirfd >= 0)
        close(dirfd);
    json_decref(doc);
    return rc;
}

int krc_sandbox_alive(struct krc_sandbox *sb)
{
    if (sb->pidfd < 0)
        return 0;
    struct pollfd p = {.fd = sb->pidfd, .events = POLLIN};
    if (poll(&p, 1, 0) == 0)
        return 1;
    /* exited: reap it if it is our child (ECHILD otherwise, when init or a subreaper does) */
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (waitid(P_PIDFD, (id_t)sb->pidfd, &info, WEXITED | WNOHANG) != 0 && errno != ECHILD)
        KRC_LOG_WARN("reap pod supervisor", "uid", sb->uid, "error", strerror(errno));
    if (info.si_pid && !(info.si_code == CLD_EXITED && info.si_status == 0) &&
        !(info.si_code == CLD_KILLED && info.si_status == SIGKILL)) {
        char how[32];
        snprintf(how, sizeof(how), "%s %d", info.si_code == CLD_EXITED ? "exit" : "signal",
                 info.si_status);
        KRC_LOG_WARN("pod supervisor ended abnormally", "uid", sb->uid, "status", how, "log",
                     "supervisor.log in the pod state directory");
    }
    close(sb->pidfd);
    sb->pidfd = -1;
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to ms for the supervisor to exit; 1 if it did. */
static int wait_exit(struct krc_sandbox *sb, int ms)
{
    long long deadline = now_ms() + ms;
    while (sb->pidfd >= 0) {
        struct pollfd p = {.fd = sb->pidfd, .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) != -1 || errno != EINTR)
            break;
    }
    return !krc_sandbox_alive(sb);
}

/* Undoes everything a sandbox may have: processes, veth, cgroup, IP, state directory. If the
 * processes cannot be ended it stops there, keeping the record so a retry finds them; after that
 * each step runs even when an earlier one failed, and the first failure is reported. */
static int teardown(struct krc_sandbox *sb, int grace_seconds, struct krc_error *err)
{
    struct krc_error e;
    int rc = 0;
#define KEEP_FIRST(call)                                                                           \
    do {                                                                                           \
        if ((call) != 0 && rc == 0)                                                                \
            rc = krc_error_set(err, e.code ? e.code : KRC_EIO, "%s", e.msg);                       \
    } while (0)
    krc_error_clear(&e);
    if (krc_sandbox_alive(sb)) {
        json_t *req = json_pack("{s:s, s:i}", "op", "shutdown", "grace", grace_seconds);
        json_t *resp = NULL;
        int asked = req && krc_podproto_call(sb->sock, req, &resp, CALL_TIMEOUT_MS, &e) == 0;
        json_decref(req);
        json_decref(resp);
        if (!asked || !wait_exit(sb, grace_seconds * 1000 + SHUTDOWN_SLACK_MS)) {
            if (pidfd_send_signal(sb->pidfd, SIGKILL, NULL, 0) != 0 && errno != ESRCH)
                KRC_LOG_WARN("kill pod supervisor", "uid", sb->uid, "error", strerror(errno));
            if (!wait_exit(sb, KILL_WAIT_MS))
                KEEP_FIRST(krc_error_set(&e, KRC_ETIMEOUT,
                                         "sandbox %s: supervisor did not exit after SIGKILL",
                                         sb->uid));
        }
    }
    if (rc) {
        /* The pod's processes may still run: keep the record so a retry finds them. */
        return rc;
    }
    KEEP_FIRST(krc_podnet_detach(sb->veth, &e));
    if (sb->rec.n_cgroups)
        KEEP_FIRST(krc_cgroup_pod_remove(sb->rec.cgroups, sb->rec.n_cgroups, &e));
    KEEP_FIRST(krc_ipam_release(&sb->node->ipam, sb->uid, &e));
    if (rc == 0 && rmtree_at(AT_FDCWD, sb->dir, RMTREE_DEPTH) != 0)
        rc = krc_error_set(err, KRC_EIO, "sandbox %s: remove %s: %s", sb->uid, sb->dir,
                           strerror(errno));
#undef KEEP_FIRST
    return rc;
}

int krc_sandbox_destroy(struct krc_sandbox *sb, int grace_seconds, struct krc_error *err)
{
    if (grace_seconds < 0)
        grace_seconds = 0;
    int rc = teardown(sb, grace_seconds, err);
    if (rc == 0)
        KRC_LOG_INFO("destroyed pod sandbox", "uid", sb->uid);
    else
        krc_error_wrap(err, rc, "destroy sandbox %s", sb->uid);
    krc_sandbox_close(sb);
    return rc;
}

/* Reads sandbox.json into the handle, which then owns the record's strings. On failure the
 * handle's record is unchanged. */
static int load_record(struct krc_sandbox *sb, struct krc_error *err)
{
    json_t *doc = NULL;
    struct krc_sandbox_record rec;
    int dirfd = open(sb->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return krc_error_set(err, errno == ENOENT ? KRC_ENOTFOUND : KRC_EIO, "sandbox %s: %s",
                             sb->uid, strerror(errno));
    int rc = krc_podjson_read_file(dirfd, "sandbox.json", &doc, err);
    close(dirfd);
    if (rc == 0)
        rc = krc_podjson_record_decode(doc, &rec, err);
    if (rc == 0 && strcmp(rec.spec.uid, sb->uid) != 0) {
        krc_podjson_record_release(&rec);
        rc = krc_error_set(err, KRC_EINVAL, "sandbox.json names uid %s", rec.spec.uid);
    }
    if (rc) {
        json_decref(doc);
        return krc_error_wrap(err, rc, "sandbox %s", sb->uid);
    }
    krc_podjson_record_release(&sb->rec);
    json_decref(sb->doc);
    sb->doc = doc;
    sb->rec = rec;
    if (rec.veth && krc_podnet_valid_ifname(rec.veth))
        snprintf(sb->veth, sizeof(sb->veth), "%s", rec.veth);
    return 0;
}

/* --- create --- */

/* clone3 with new namespaces, then exec the supervisor. Returns the pid and sets *pidfd. */
static pid_t spawn_supervisor(struct krc_sandbox *sb, int child_fd, int *pidfd,
                              struct krc_error *err)
{
    char fdstr[16], maxsize[24], maxfiles[16];
    snprintf(fdstr, sizeof(fdstr), "%d", child_fd);
    snprintf(maxsize, sizeof(maxsize), "%lld", sb->node->log_max_size);
    snprintf(maxfiles, sizeof(maxfiles), "%d", sb->node->log_max_files);
    const char *argv[] = {
        "kuberay-node",   "pod-supervisor", "--state-dir",     sb->dir,  "--sync-fd", fdstr,
        "--log-max-size", maxsize,          "--log-max-files", maxfiles, NULL};
    union {
        const char **c;
        char *const *m;
    } a = {.c = argv};
    const char *exe = sb->node->supervisor_exe;
    struct clone_args ca;
    memset(&ca, 0, sizeof(ca));
    ca.flags =
        CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)pidfd;
    ca.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid < 0)
        return krc_error_set(err, KRC_EIO, "sandbox %s: clone3: %s", sb->uid, strerror(errno));
    if (pid == 0) {
        /* child: async-signal-safe calls only */
        if (fcntl(child_fd, F_SETFD, 0) == 0)
            execve(exe, a.m, environ);
        _exit(127);
    }
    return (pid_t)pid;
}

/* Sends "go" and waits for the supervisor's "ok" or "error: ...". */
static int handshake(struct krc_sandbox *sb, int fd, struct krc_error *err)
{
    char buf[KRC_ERROR_MSG_MAX + 16];
    if (send(fd, "go", 2, MSG_NOSIGNAL) != 2)
        return krc_error_set(err, KRC_EIO, "sandbox %s: supervisor gone before start: %s", sb->uid,
                             strerror(errno));
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, READY_TIMEOUT_MS);
    if (r <= 0)
        return krc_error_set(err, KRC_ETIMEOUT, "sandbox %s: supervisor not ready after %d ms",
                             sb->uid, READY_TIMEOUT_MS);
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return krc_error_set(err, KRC_EIO,
                             "sandbox %s: supervisor exited during start-up "
                             "(see %s/supervisor.log)",
                             sb->uid, sb->dir);
    buf[n] = '\0';
    if (strcmp(buf, "ok") == 0)
        return 0;
    return krc_error_set(err, KRC_EIO, "sandbox %s: supervisor: %s", sb->uid,
                         strncmp(buf, "error: ", 7) == 0 ? buf + 7 : buf);
}

static int write_pod_files(struct krc_sandbox *sb, const struct krc_sandbox_spec *spec,
                           const char *ip, const char *hostname, struct krc_error *err)
{
    struct krc_strbuf hosts = KRC_STRBUF_INIT, resolv = KRC_STRBUF_INIT;
    int rc = 0;
    if ((!spec->hosts && krc_sandbox_default_hosts(ip, hostname, &hosts)) ||
        (!spec->resolv_conf && krc_sandbox_default_resolv(spec->namespace_, &resolv)))
        rc = krc_error_set(err, KRC_ENOMEM, "sandbox %s: out of memory", sb->uid);
    if (rc == 0)
        rc = write_text(sb->dir, "hosts", spec->hosts ? spec->hosts : hosts.buf, O_TRUNC, err);
    if (rc == 0)
        rc = write_text(sb->dir, "resolv.conf", spec->resolv_conf ? spec->resolv_conf : resolv.buf,
                        O_TRUNC, err);
    krc_strbuf_release(&hosts);
    krc_strbuf_release(&resolv);
    return rc;
}

static int validate_spec(const struct krc_sandbox_spec *spec, struct krc_error *err)
{
    if (!krc_podjson_valid_uid(spec->uid))
        return krc_error_set(err, KRC_EINVAL, "sandbox: uid %s is not 1..64 of [A-Za-z0-9._-]",
                             spec->uid ? spec->uid : "(null)");
    if (!spec->name || !*spec->name || strlen(spec->name) > 253)
        return krc_error_set(err, KRC_EINVAL, "sandbox %s: bad pod name", spec->uid);
    if (spec->grace_seconds < 0 || spec->memory_limit < 0 || spec->cpu_limit_millis < 0 ||
        spec->cpu_request_millis < 0)
        return krc_error_set(err, KRC_EINVAL, "sandbox %s: negative limit or grace", spec->uid);
    return 0;
}

int krc_sandbox_create(struct krc_node *node, const struct krc_sandbox_spec *spec,
                       struct krc_sandbox **out, struct krc_error *err)
{
    char hostname[64], ip[KRC_IPAM_ADDR_MAX], cgpaths[KRC_SANDBOX_MAX_CGROUPS][PATH_MAX];
    int sync[2] = {-1, -1};
    uint32_t addr;
    struct krc_sandbox *sb = NULL;
    int rc = validate_spec(spec, err);
    if (rc)
        return rc;
    sb = handle_new(node, spec->uid);
    if (!sb)
        return krc_error_set(err, KRC_ENOMEM, "sandbox %s: out of memory", spec->uid);
    if (mkdir(sb->dir, 0700) != 0) {
        rc = krc_error_set(err, errno == EEXIST ? KRC_EEXIST : KRC_EIO, "sandbox %s: mkdir %s: %s",
                           spec->uid, sb->dir, strerror(errno));
        krc_sandbox_close(sb); /* the directory is not ours to remove */
        return rc;
    }
    krc_sandbox_hostname(spec, hostname);
    sb->rec.spec = *spec;
    sb->rec.spec.hostname = hostname;
    sb->rec.bridge = node->bridge;
    sb->rec.veth = sb->veth;
    sb->rec.gateway = node->gateway;
    sb->rec.prefix = node->ipam.net.prefix;
    sb->rec.path = node->pod_path;
    sb->rec.spec.hosts = sb->rec.spec.resolv_conf = NULL;
    if (spec->ip) {
        if (krc_ipam_parse_addr(spec->ip, &addr) != 0) {
            rc = krc_error_set(err, KRC_EINVAL, "sandbox %s: ip %s is not IPv4", spec->uid,
                               spec->ip);
            goto fail;
        }
        rc = krc_ipam_reserve(&node->ipam, spec->uid, addr, err);
    } else {
        rc = krc_ipam_allocate(&node->ipam, spec->uid, &addr, err);
    }
    if (rc)
        goto fail;
    krc_ipam_format(addr, ip);
    sb->rec.spec.ip = ip;
    if ((rc = save_record(sb, err)) || (rc = write_pod_files(sb, spec, ip, hostname, err)))
        goto fail;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) != 0) {
        rc = krc_error_set(err, KRC_EIO, "sandbox %s: socketpair: %s", spec->uid, strerror(errno));
        goto fail;
    }
    pid_t pid = spawn_supervisor(sb, sync[1], &sb->pidfd, err);
    close(sync[1]);
    sync[1] = -1;
    if (pid < 0) {
        rc = pid;
        goto fail;
    }
    sb->rec.pid = pid;
    if (read_start_time(pid, &sb->rec.start_time) != 0)
        KRC_LOG_WARN("no start time for the pod supervisor", "uid", spec->uid);
    struct krc_cgroup_limits limits = {spec->memory_limit, spec->cpu_limit_millis,
                                       spec->cpu_request_millis};
    struct krc_error cgerr;
    static int cgroup_warned;
    if (krc_cgroup_pod_create(&node->cgroups, spec->uid, &limits, pid, cgpaths, &sb->rec.n_cgroups,
                              &cgerr) != 0 &&
        !cgroup_warned) {
        cgroup_warned = 1;
        KRC_LOG_WARN("pods run without CPU and memory limits", "error", cgerr.msg);
    }
    for (size_t i = 0; i < sb->rec.n_cgroups; i++)
        sb->rec.cgroups[i] = cgpaths[i];
    if ((rc = save_record(sb, err)) ||
        (rc = krc_podnet_attach(node->bridge, sb->veth, pid, addr, node->ipam.net.prefix,
                                node->ipam.net.gateway, err)) ||
        (rc = handshake(sb, sync[0], err)) || (rc = load_record(sb, err)))
        goto fail;
    close(sync[0]);
    KRC_LOG_INFO("created pod sandbox", "uid", spec->uid, "pod", spec->name, "ip", ip);
    *out = sb;
    return 0;
fail:
    if (sync[0] >= 0)
        close(sync[0]);
    struct krc_error ignored;
    if (teardown(sb, 0, &ignored) != 0)
        KRC_LOG_WARN("cleanup after a failed create left something", "uid", spec->uid, "error",
                     ignored.msg);
    krc_sandbox_close(sb);
    /* most causes already name the sandbox; add it only where they do not */
    if (err && !strstr(err->msg, spec->uid))
        krc_error_wrap(err, rc, "create sandbox %s", spec->uid);
    return rc;
}

/* --- adopt and list --- */

int krc_sandbox_adopt(struct krc_node *node, const char *uid, struct krc_sandbox **out,
                      struct krc_error *err)
{
    struct stat st;
    if (!krc_podjson_valid_uid(uid))
        return krc_error_set(err, KRC_EINVAL, "adopt sandbox: bad uid");
    struct krc_sandbox *sb = handle_new(node, uid);
    if (!sb)
        return krc_error_set(err, KRC_ENOMEM, "adopt sandbox %s: out of memory", uid);
    if (stat(sb->dir, &st) != 0) {
        int rc = krc_error_set(err, errno == ENOENT ? KRC_ENOTFOUND : KRC_EIO,
                               "adopt sandbox %s: %s: %s", uid, sb->dir, strerror(errno));
        krc_sandbox_close(sb);
        return rc;
    }
    struct krc_error rerr;
    if (load_record(sb, &rerr) != 0) {
        /* A crash between mkdir and the first record: nothing but derived names to clean. */
        KRC_LOG_WARN("sandbox record unreadable; treating the pod as dead", "uid", uid, "error",
                     rerr.msg);
    } else if (sb->rec.pid > 0) {
        unsigned long long start = 0;
        int fd = pidfd_open(sb->rec.pid, 0);
        /* The pidfd pins the process; if its start time matches the record it is our
         * supervisor and not a later process that reused the pid. */
        if (fd >= 0 && read_start_time(sb->rec.pid, &start) == 0 && start == sb->rec.start_time)
            sb->pidfd = fd;
        else if (fd >= 0)
            close(fd);
    }
    *out = sb;
    return 0;
}

int krc_sandbox_list(struct krc_node *node, char ***uids, size_t *n, struct krc_error *err)
{
    char **v = NULL;
    size_t count = 0, cap = 0;
    int rc = 0;
    DIR *d = opendir(node->pods_dir);
    if (!d)
        return krc_error_set(err, KRC_EIO, "list sandboxes: %s: %s", node->pods_dir,
                             strerror(errno));
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!krc_podjson_valid_uid(de->d_name))
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nv = realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                rc = KRC_ENOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        if (!(v[count] = strdup(de->d_name))) {
            rc = KRC_ENOMEM;
            break;
        }
        count++;
    }
    closedir(d);
    if (rc) {
        krc_sandbox_list_free(v, count);
        return krc_error_set(err, rc, "list sandboxes: out of memory");
    }
    *uids = v;
    *n = count;
    return 0;
}

void krc_sandbox_list_free(char **uids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(uids[i]);
    free(uids);
}

/* --- containers --- */

static int call(struct krc_sandbox *sb, json_t *req, json_t **resp, struct krc_error *err)
{
    if (!req)
        return krc_error_set(err, KRC_ENOMEM, "sandbox %s: out of memory", sb->uid);
    int rc = krc_podproto_call(sb->sock, req, resp, CALL_TIMEOUT_MS, err);
    json_decref(req);
    return rc;
}

int krc_sandbox_start_container(struct krc_sandbox *sb, const struct krc_container_spec *spec,
                                struct krc_container_status *status, struct krc_error *err)
{
    json_t *c, *resp = NULL;
    int rc = krc_podjson_container_spec_encode(spec, &c, err);
    if (rc)
        return rc;
    rc = call(sb, json_pack("{s:s, s:o}", "op", "start", "container", c), &resp, err);
    if (rc == 0 && status)
        rc = krc_podjson_status_decode(json_object_get(resp, "status"), status, err);
    json_decref(resp);
    return rc;
}

/* The last states the supervisor wrote, for a pod whose supervisor is gone. */
static int last_status(struct krc_sandbox *sb, struct krc_container_status **out, size_t *n,
                       struct krc_error *err)
{
    json_t *doc = NULL;
    int dirfd = open(sb->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return krc_error_set(err, KRC_EIO, "sandbox %s: %s", sb->uid, strerror(errno));
    int rc = krc_podjson_read_file(dirfd, "status.json", &doc, err);
    close(dirfd);
    if (rc == KRC_ENOTFOUND) {
        *out = calloc(1, sizeof(**out));
        *n = 0;
        return *out ? 0 : krc_error_set(err, KRC_ENOMEM, "sandbox %s: out of memory", sb->uid);
    }
    if (rc == 0)
        rc = krc_podjson_status_array_decode(json_object_get(doc, "containers"), out, n, err);
    json_decref(doc);
    for (size_t i = 0; rc == 0 && i < *n; i++)
        if ((*out)[i].state == KRC_CONTAINER_RUNNING)
            (*out)[i].state = KRC_CONTAINER_UNKNOWN;
    return rc;
}

int krc_sandbox_status(struct krc_sandbox *sb, struct krc_container_status **out, size_t *n,
                       struct krc_error *err)
{
    json_t *resp = NULL;
    if (!krc_sandbox_alive(sb))
        return last_status(sb, out, n, err);
    int rc = call(sb, json_pack("{s:s}", "op", "status"), &resp, err);
    if (rc == 0)
        rc = krc_podjson_status_array_decode(json_object_get(resp, "containers"), out, n, err);
    json_decref(resp);
    return rc;
}

int krc_sandbox_container_status(struct krc_sandbox *sb, const char *name,
                                 struct krc_container_status *out, struct krc_error *err)
{
    struct krc_container_status *all = NULL;
    size_t n = 0;
    int rc = krc_sandbox_status(sb, &all, &n, err);
    if (rc)
        return rc;
    rc = krc_error_set(err, KRC_ENOTFOUND, "sandbox %s: container %s: not found", sb->uid, name);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].name, name) == 0) {
            *out = all[i];
            krc_error_clear(err);
            rc = 0;
        }
    }
    free(all);
    return rc;
}

int krc_sandbox_stop_container(struct krc_sandbox *sb, const char *name, int grace_seconds,
                               struct krc_error *err)
{
    json_t *resp = NULL;
    int rc = call(sb,
                  json_pack("{s:s, s:s, s:i}", "op", "stop", "name", name, "grace",
                            grace_seconds < 0 ? 0 : grace_seconds),
                  &resp, err);
    json_decref(resp);
    return rc;
}

/* Waits on a watch of generation gen for at most timeout_ms. 0 and *gen updated when it was
 * answered, 1 on timeout, < 0 when the watch failed (unsupported, or the supervisor went). */
static int watch_wait(struct krc_sandbox *sb, unsigned long long *gen, int timeout_ms,
                      struct krc_error *err)
{
    int fd;
    int rc = krc_sandbox_watch_start(sb, *gen, &fd, err);
    if (rc)
        return rc;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        close(fd);
        return r == 0
                   ? 1
                   : krc_error_set(err, KRC_EIO, "sandbox %s: poll: %s", sb->uid, strerror(errno));
    }
    return krc_sandbox_watch_finish(sb, fd, gen, err);
}

int krc_sandbox_wait_container(struct krc_sandbox *sb, const char *name, int timeout_ms,
                               struct krc_container_status *out, struct krc_error *err)
{
    long long deadline = now_ms() + timeout_ms;
    unsigned long long gen = 0;
    struct krc_error werr;
    /* The generation first, then the state: a change after the status call answers the watch
     * of that generation, so the wait cannot miss the exit. A supervisor without watch (or an
     * error) falls back to polling the status every WAIT_POLL_MS. */
    int watch = watch_wait(sb, &gen, timeout_ms, &werr) == 0; /* answered at once */
    for (;;) {
        int rc = krc_sandbox_container_status(sb, name, out, err);
        if (rc || out->state != KRC_CONTAINER_RUNNING)
            return rc;
        long long left = deadline - now_ms();
        if (left <= 0)
            return krc_error_set(err, KRC_ETIMEOUT,
                                 "sandbox %s: container %s still running "
                                 "after %d ms",
                                 sb->uid, name, timeout_ms);
        if (watch && watch_wait(sb, &gen, (int)left, &werr) >= 0)
            continue;
        watch = 0;
        struct timespec ts = {0, WAIT_POLL_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int krc_sandbox_watch_start(struct krc_sandbox *sb, unsigned long long generation, int *fd,
                            struct krc_error *err)
{
    *fd = -1;
    if (!krc_sandbox_alive(sb))
        return krc_error_set(err, KRC_ENOTFOUND, "sandbox %s: supervisor gone", sb->uid);
    json_t *req = json_pack("{s:s, s:I}", "op", "watch", "generation", (json_int_t)generation);
    if (!req)
        return krc_error_set(err, KRC_ENOMEM, "sandbox %s: out of memory", sb->uid);
    int rc = krc_podproto_send(sb->sock, req, CALL_TIMEOUT_MS, fd, err);
    json_decref(req);
    return rc;
}

int krc_sandbox_watch_finish(struct krc_sandbox *sb, int fd, unsigned long long *generation,
                             struct krc_error *err)
{
    json_t *resp = NULL;
    int rc = krc_podproto_recv(fd, sb->sock, &resp, err);
    close(fd);
    if (rc == 0) {
        json_t *g = json_object_get(resp, "generation");
        if (json_is_integer(g))
            *generation = (unsigned long long)json_integer_value(g);
        else
            rc = krc_error_set(err, KRC_EIO, "sandbox %s: watch answer without a generation",
                               sb->uid);
    }
    json_decref(resp);
    return rc;
}

int krc_sandbox_set_hosts(struct krc_sandbox *sb, const char *content, struct krc_error *err)
{
    return write_text(sb->dir, "hosts", content, O_TRUNC, err);
}

/* --- accessors --- */

const char *krc_sandbox_uid(const struct krc_sandbox *sb)
{
    return sb->uid;
}

const char *krc_sandbox_ip(const struct krc_sandbox *sb)
{
    return sb->rec.spec.ip ? sb->rec.spec.ip : "";
}

const char *krc_sandbox_dir(const struct krc_sandbox *sb)
{
    return sb->dir;
}

const char *krc_sandbox_veth(const struct krc_sandbox *sb)
{
    return sb->veth;
}

pid_t krc_sandbox_pid(const struct krc_sandbox *sb)
{
    return sb->rec.pid;
}

size_t krc_sandbox_cgroups(const struct krc_sandbox *sb, const char *const **paths)
{
    *paths = sb->rec.cgroups;
    return sb->rec.n_cgroups;
}

int krc_sandbox_log_path(const struct krc_sandbox *sb, const char *name, int restart_count,
                         char *out, size_t outlen)
{
    if ((size_t)snprintf(out, outlen, "%s/logs/%s/%d.log", sb->dir, name, restart_count) >= outlen)
        return KRC_EINVAL;
    return 0;
}
