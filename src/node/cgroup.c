/* cgroup.c - pod cgroups on v1 (memory + cpu hierarchies) or v2 (see cgroup.h). */
#include "node/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    CPU_PERIOD_US = 100000,
    MIN_QUOTA_US = 1000,
    /* A pod cgroup stays busy until the kernel has finished its last processes, which under load
     * (or with large memory maps, as Ray's object store) takes seconds after the pod's init
     * exits. One second was too short: `kuberay-node cleanup` then failed now and then. */
    RMDIR_RETRY_MS = 10,
    RMDIR_TRIES = 1000,
};

int krc_cgroup_self_path(const char *content, const char *controller, char *out, size_t outlen)
{
    const char *line = content;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *c1 = memchr(line, ':', len);
        const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
        if (c2) {
            const char *list = c1 + 1;
            size_t list_len = (size_t)(c2 - list);
            int match = 0;
            if (!controller) {
                match = list_len == 0 && c1 - line == 1 && line[0] == '0';
            } else {
                /* the list is comma-separated, e.g. "cpu,cpuacct" */
                size_t cl = strlen(controller);
                for (const char *p = list; p < c2;) {
                    const char *comma = memchr(p, ',', (size_t)(c2 - p));
                    size_t n = comma ? (size_t)(comma - p) : (size_t)(c2 - p);
                    if (n == cl && strncmp(p, controller, cl) == 0)
                        match = 1;
                    p += n + 1;
                }
            }
            size_t plen = len - (size_t)(c2 + 1 - line);
            if (match && plen > 0 && plen < outlen) {
                memcpy(out, c2 + 1, plen);
                out[plen] = '\0';
                return 0;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return KRC_ENOTFOUND;
}

unsigned long krc_cgroup_cpu_shares(int request_millis)
{
    if (request_millis <= 0)
        return 2;
    unsigned long shares = (unsigned long)request_millis * 1024 / 1000;
    return shares < 2 ? 2 : shares > 262144 ? 262144 : shares;
}

unsigned long krc_cgroup_cpu_weight(int request_millis)
{
    unsigned long shares = krc_cgroup_cpu_shares(request_millis);
    return 1 + ((shares - 2) * 9999) / 262142;
}

static int write_file(const char *dir, const char *file, const char *value, struct krc_error *err)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
        return krc_error_set(err, KRC_EINVAL, "cgroup %s: path too long", dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return krc_error_set(err, KRC_EIO, "cgroup: open %s: %s", path, strerror(errno));
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    int saved = errno;
    close(fd);
    if (n != (ssize_t)len)
        return krc_error_set(err, KRC_EIO, "cgroup: write %s to %s: %s", value, path,
                             strerror(saved));
    return 0;
}

static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

static int mkdir_p(char *path, struct krc_error *err)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int failed = mkdir(path, 0755) != 0 && errno != EEXIST;
        int saved = errno;
        *p = c;
        if (failed)
            return krc_error_set(err, KRC_EIO, "cgroup: mkdir %s: %s", path, strerror(saved));
        if (c == '\0')
            return 0;
    }
}

/* Builds <mount>/<own cgroup or "">/<parent> into out and creates it. */
static int make_parent(const char *mount, const char *self_content, const char *controller,
                       const char *parent, char *out, struct krc_error *err)
{
    char self[PATH_MAX] = "";
    if (parent[0] != '/' && krc_cgroup_self_path(self_content, controller, self, sizeof(self)) != 0)
        return krc_error_set(err, KRC_ENOTFOUND, "cgroup: own %s cgroup not in /proc/self/cgroup",
                             controller ? controller : "v2");
    if (strcmp(self, "/") == 0)
        self[0] = '\0';
    const char *sep = parent[0] == '/' ? "" : "/";
    if ((size_t)snprintf(out, PATH_MAX, "%s%s%s%s", mount, self, sep, parent) >= PATH_MAX)
        return krc_error_set(err, KRC_EINVAL, "cgroup: parent path too long");
    return mkdir_p(out, err);
}

int krc_cgroup_root_init(struct krc_cgroup_root *r, const char *fs_root, const char *parent,
                         struct krc_error *err)
{
    char path[PATH_MAX], self[8192];
    int rc;
    memset(r, 0, sizeof(*r));
    if (!parent || !*parent || strstr(parent, ".."))
        return krc_error_set(err, KRC_EINVAL, "cgroup: bad parent name");
    if (read_small("/proc/self/cgroup", self, sizeof(self)) != 0)
        return krc_error_set(err, KRC_EIO, "cgroup: read /proc/self/cgroup: %s", strerror(errno));
    snprintf(path, sizeof(path), "%s/cgroup.controllers", fs_root);
    if (access(path, F_OK) == 0) {
        char own[PATH_MAX] = "", ctrl[256] = "";
        if (read_small(path, ctrl, sizeof(ctrl)) != 0 || !strstr(ctrl, "memory") ||
            !strstr(ctrl, "cpu"))
            return krc_error_set(err, KRC_ENOTFOUND,
                                 "cgroup v2: memory and cpu controllers not available");
        rc = make_parent(fs_root, self, NULL, parent, r->dirs[0], err);
        if (rc)
            return rc;
        /* Controllers must be enabled on every level above the pods: in the node's parent's
         * parent (fails when that cgroup holds processes: not delegated) and the parent. */
        snprintf(own, sizeof(own), "%s", r->dirs[0]);
        char *slash = strrchr(own, '/');
        if (slash)
            *slash = '\0';
        if ((rc = write_file(own, "cgroup.subtree_control", "+memory +cpu", err)) ||
            (rc = write_file(r->dirs[0], "cgroup.subtree_control", "+memory +cpu", err))) {
            rmdir(r->dirs[0]);
            return krc_error_wrap(err, rc, "cgroup v2: enable controllers");
        }
        r->n_dirs = 1;
        r->mode = KRC_CGROUP_V2;
        return 0;
    }
    snprintf(path, sizeof(path), "%s/memory/cgroup.procs", fs_root);
    if (access(path, F_OK) != 0)
        return krc_error_set(err, KRC_ENOTFOUND,
                             "cgroup: neither v2 nor a v1 memory hierarchy "
                             "under %s",
                             fs_root);
    snprintf(path, sizeof(path), "%s/memory", fs_root);
    rc = make_parent(path, self, "memory", parent, r->dirs[0], err);
    if (rc)
        return rc;
    r->n_dirs = 1;
    snprintf(path, sizeof(path), "%s/cpu/cgroup.procs", fs_root);
    if (access(path, F_OK) == 0) {
        snprintf(path, sizeof(path), "%s/cpu", fs_root);
        rc = make_parent(path, self, "cpu", parent, r->dirs[1], err);
        if (rc) {
            rmdir(r->dirs[0]);
            return rc;
        }
        r->n_dirs = 2;
    }
    r->mode = KRC_CGROUP_V1;
    return 0;
}

int krc_cgroup_root_remove(const struct krc_cgroup_root *r, struct krc_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < r->n_dirs; i++)
        if (rmdir(r->dirs[i]) != 0 && errno != ENOENT && rc == 0)
            rc = krc_error_set(err, KRC_EIO, "cgroup: rmdir %s: %s", r->dirs[i], strerror(errno));
    return rc;
}

/* Applies limits to one pod directory; which files depends on mode and which hierarchy. */
static int apply_limits(enum krc_cgroup_mode mode, size_t index, const char *dir,
                        const struct krc_cgroup_limits *l, struct krc_error *err)
{
    char v[64];
    int rc = 0;
    int is_memory = mode == KRC_CGROUP_V2 || index == 0;
    int is_cpu = mode == KRC_CGROUP_V2 || index == 1;
    if (is_memory && l->memory > 0) {
        snprintf(v, sizeof(v), "%lld", (long long)l->memory);
        rc =
            write_file(dir, mode == KRC_CGROUP_V2 ? "memory.max" : "memory.limit_in_bytes", v, err);
    }
    if (rc == 0 && is_cpu && l->cpu_limit_millis > 0) {
        long long quota = (long long)l->cpu_limit_millis * CPU_PERIOD_US / 1000;
        if (quota < MIN_QUOTA_US)
            quota = MIN_QUOTA_US;
        if (mode == KRC_CGROUP_V2) {
            snprintf(v, sizeof(v), "%lld %d", quota, CPU_PERIOD_US);
            rc = write_file(dir, "cpu.max", v, err);
        } else {
            snprintf(v, sizeof(v), "%d", CPU_PERIOD_US);
            rc = write_file(dir, "cpu.cfs_period_us", v, err);
            snprintf(v, sizeof(v), "%lld", quota);
            if (rc == 0)
                rc = write_file(dir, "cpu.cfs_quota_us", v, err);
        }
    }
    if (rc == 0 && is_cpu && l->cpu_request_millis > 0) {
        if (mode == KRC_CGROUP_V2) {
            snprintf(v, sizeof(v), "%lu", krc_cgroup_cpu_weight(l->cpu_request_millis));
            rc = write_file(dir, "cpu.weight", v, err);
        } else {
            snprintf(v, sizeof(v), "%lu", krc_cgroup_cpu_shares(l->cpu_request_millis));
            rc = write_file(dir, "cpu.shares", v, err);
        }
    }
    return rc;
}

int krc_cgroup_pod_create(const struct krc_cgroup_root *r, const char *uid,
                          const struct krc_cgroup_limits *limits, pid_t pid,
                          char paths[KRC_SANDBOX_MAX_CGROUPS][PATH_MAX], size_t *n,
                          struct krc_error *err)
{
    char pidbuf[32];
    int rc = 0;
    *n = 0;
    if (r->mode == KRC_CGROUP_NONE)
        return 0;
    snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
    for (size_t i = 0; i < r->n_dirs; i++) {
        if ((size_t)snprintf(paths[i], PATH_MAX, "%s/pod-%s", r->dirs[i], uid) >= PATH_MAX) {
            rc = krc_error_set(err, KRC_EINVAL, "cgroup: pod path too long");
            goto fail;
        }
        if (mkdir(paths[i], 0755) != 0 && errno != EEXIST) {
            rc = krc_error_set(err, KRC_EIO, "cgroup: mkdir %s: %s", paths[i], strerror(errno));
            goto fail;
        }
        *n = i + 1;
        rc = apply_limits(r->mode, i, paths[i], limits, err);
        if (rc == 0)
            rc = write_file(paths[i], "cgroup.procs", pidbuf, err);
        if (rc)
            goto fail;
    }
    return 0;
fail:
    for (size_t i = 0; i < *n; i++)
        rmdir(paths[i]);
    *n = 0;
    return rc;
}

int krc_cgroup_pod_remove(const char *const *paths, size_t n, struct krc_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int tries = 0;
        while (rmdir(paths[i]) != 0) {
            if (errno == ENOENT)
                break;
            /* EBUSY while the last processes finish exiting */
            if (errno != EBUSY || ++tries > RMDIR_TRIES) {
                if (rc == 0)
                    rc = krc_error_set(err, KRC_EIO, "cgroup: rmdir %s: %s", paths[i],
                                       strerror(errno));
                break;
            }
            struct timespec ts = {0, RMDIR_RETRY_MS * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return rc;
}
