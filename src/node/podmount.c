/* podmount.c - planning (pure) and applying the pod's mounts (see podmount.h).
 *
 * Bind sources are opened with O_PATH and mounted through /proc/self/fd/N, which names the
 * opened file even after a tmpfs has covered its path. _GNU_SOURCE for O_PATH. */
#define _GNU_SOURCE
#include "node/podmount.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

enum { PATH_CAP = 4096 };

static int under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int krc_podmount_valid_target(const char *t)
{
    if (!t || t[0] != '/' || t[1] == '\0' || strlen(t) >= PATH_CAP)
        return 0;
    for (const char *p = t; *p; p++) {
        if (*p != '/')
            continue;
        const char *c = p + 1; /* the component after this slash */
        size_t len = strcspn(c, "/");
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
    }
    return !under(t, "/proc") && !under(t, "/sys");
}

static int by_target(const void *a, const void *b)
{
    const struct krc_podmount_op *x = a, *y = b;
    return strcmp(x->target, y->target);
}

int krc_podmount_plan(const struct krc_pod_mount *mounts, size_t n, uint64_t shm_size,
                      uint64_t tmp_size, const char *hosts_file, const char *resolv_file,
                      struct krc_podmount_op **ops, size_t *n_ops, struct krc_error *err)
{
    int has_tmp = 0, has_shm = 0;
    if (n > KRC_POD_MAX_MOUNTS)
        return krc_error_set(err, KRC_EINVAL, "mounts: more than %d", KRC_POD_MAX_MOUNTS);
    for (size_t i = 0; i < n; i++) {
        const char *t = mounts[i].target;
        if (!krc_podmount_valid_target(t))
            return krc_error_set(err, KRC_EINVAL,
                                 "mount %s: mountPath must be absolute, "
                                 "normalised and outside /proc and /sys",
                                 t ? t : "(null)");
        if (mounts[i].source && mounts[i].source[0] != '/')
            return krc_error_set(err, KRC_EINVAL, "mount %s: source %s is not absolute", t,
                                 mounts[i].source);
        for (size_t j = 0; j < i; j++)
            if (strcmp(mounts[j].target, t) == 0)
                return krc_error_set(err, KRC_EINVAL, "mount %s: mountPath used twice", t);
        has_tmp |= strcmp(t, "/tmp") == 0;
        has_shm |= strcmp(t, "/dev/shm") == 0;
    }
    struct krc_podmount_op *v = calloc(n + 5, sizeof(*v));
    if (!v)
        return krc_error_set(err, KRC_ENOMEM, "mounts: out of memory");
    size_t k = 0;
    v[k++] = (struct krc_podmount_op){.kind = KRC_PODMOUNT_PROC, .target = "/proc"};
    size_t sorted_from = k;
    if (!has_tmp)
        v[k++] = (struct krc_podmount_op){
            .kind = KRC_PODMOUNT_TMPFS, .target = "/tmp", .size = tmp_size};
    if (!has_shm)
        v[k++] = (struct krc_podmount_op){
            .kind = KRC_PODMOUNT_TMPFS, .target = "/dev/shm", .size = shm_size};
    for (size_t i = 0; i < n; i++)
        v[k++] = (struct krc_podmount_op){
            .kind = mounts[i].source ? KRC_PODMOUNT_BIND : KRC_PODMOUNT_TMPFS,
            .source = mounts[i].source,
            .target = mounts[i].target,
            .read_only = mounts[i].read_only,
            .size = mounts[i].tmpfs_size,
        };
    /* A path sorts before every path it is a prefix of, so parents come first. */
    qsort(v + sorted_from, k - sorted_from, sizeof(*v), by_target);
    if (hosts_file)
        v[k++] = (struct krc_podmount_op){
            .kind = KRC_PODMOUNT_BIND, .source = hosts_file, .target = "/etc/hosts"};
    if (resolv_file)
        v[k++] = (struct krc_podmount_op){
            .kind = KRC_PODMOUNT_BIND, .source = resolv_file, .target = "/etc/resolv.conf"};
    *ops = v;
    *n_ops = k;
    return 0;
}

/* mkdir -p of path (each missing component created 0755). */
static int make_dirs(const char *path, struct krc_error *err)
{
    char buf[PATH_CAP];
    if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
        return krc_error_set(err, KRC_EINVAL, "mkdir %s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return krc_error_set(err, KRC_EIO, "mkdir %s: %s", buf, strerror(errno));
        if (c == '\0')
            return 0;
        *p = c;
    }
}

int krc_podmount_in_pod(const char *dir, const struct krc_podmount_op *done, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (done[i].kind != KRC_PODMOUNT_PROC && under(dir, done[i].target))
            return 1;
    return 0;
}

/* The deepest existing ancestor directory of path (which does not exist) into out. */
static void existing_ancestor(const char *path, char *out, size_t len)
{
    struct stat st;
    snprintf(out, len, "%s", path);
    for (;;) {
        char *slash = strrchr(out, '/');
        if (!slash || slash == out) {
            snprintf(out, len, "/");
            return;
        }
        *slash = '\0';
        if (stat(out, &st) == 0)
            return;
    }
}

/* Recreates entry name of dir in the skeleton at staging: symlinks copied, everything else a
 * recursive bind mount on an empty directory or file. */
static int skeleton_entry(const char *dir, const char *staging, const char *name,
                          struct krc_error *err)
{
    char from[PATH_CAP], to[PATH_CAP], link[PATH_CAP];
    struct stat st;
    if ((size_t)snprintf(from, sizeof(from), "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name) >=
            sizeof(from) ||
        (size_t)snprintf(to, sizeof(to), "%s/%s", staging, name) >= sizeof(to))
        return krc_error_set(err, KRC_EINVAL, "skeleton of %s: path too long", dir);
    if (lstat(from, &st) != 0)
        return 0; /* gone meanwhile */
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlink(from, link, sizeof(link) - 1);
        if (n < 0)
            return krc_error_set(err, KRC_EIO, "readlink %s: %s", from, strerror(errno));
        link[n] = '\0';
        if (symlink(link, to) != 0)
            return krc_error_set(err, KRC_EIO, "symlink %s: %s", to, strerror(errno));
        return 0;
    }
    if (S_ISDIR(st.st_mode) ? mkdir(to, st.st_mode & 07777) != 0
                            : mknod(to, S_IFREG | 0600, 0) != 0)
        return krc_error_set(err, KRC_EIO, "skeleton %s: %s", to, strerror(errno));
    if (mount(from, to, NULL, MS_BIND | MS_REC, NULL) != 0)
        return krc_error_set(err, KRC_EIO, "skeleton: bind %s: %s", from, strerror(errno));
    return 0;
}

/* Replaces dir, in this mount namespace only, by a writable tmpfs that shows the same entries
 * (see podmount.h). */
static int skeleton(const char *dir, const char *staging, struct krc_error *err)
{
    struct stat st;
    char data[32];
    if (stat(dir, &st) != 0)
        return krc_error_set(err, KRC_EIO, "stat %s: %s", dir, strerror(errno));
    snprintf(data, sizeof(data), "mode=%o", (unsigned)(st.st_mode & 07777));
    if ((mkdir(staging, 0700) != 0 && errno != EEXIST) ||
        mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, data) != 0)
        return krc_error_set(err, KRC_EIO, "skeleton of %s: tmpfs at %s: %s", dir, staging,
                             strerror(errno));
    DIR *d = opendir(dir);
    if (!d)
        return krc_error_set(err, KRC_EIO, "skeleton: open %s: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            rc = skeleton_entry(dir, staging, e->d_name, err);
    closedir(d);
    if (rc)
        return rc;
    if (strcmp(dir, "/") != 0) {
        if (mount(staging, dir, NULL, MS_MOVE, NULL) != 0)
            return krc_error_set(err, KRC_EIO, "skeleton: move onto %s: %s", dir, strerror(errno));
        return 0;
    }
    /* The root itself: move the skeleton onto / and make it our root (as switch_root does). */
    if (chdir(staging) != 0 || mount(staging, "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 ||
        chdir("/") != 0)
        return krc_error_set(err, KRC_EIO, "skeleton: switch root: %s", strerror(errno));
    return 0;
}

/* Makes sure a mount point of the right type exists at target, creating it only where the pod
 * alone sees it (done: the mounts applied so far). */
static int make_target(const char *target, int is_dir, const struct krc_podmount_op *done,
                       size_t n_done, const char *staging, struct krc_error *err)
{
    struct stat st;
    char base[PATH_CAP];
    if (stat(target, &st) == 0) {
        if ((S_ISDIR(st.st_mode) != 0) != (is_dir != 0))
            return krc_error_set(err, KRC_EINVAL,
                                 "mount %s: one of source and target is a directory, the other "
                                 "is not",
                                 target);
        return 0;
    }
    existing_ancestor(target, base, sizeof(base));
    if (!krc_podmount_in_pod(base, done, n_done)) {
        if (!staging)
            return krc_error_set(err, KRC_EINVAL, "mount %s: missing, and no staging directory",
                                 target);
        int rc = skeleton(base, staging, err);
        if (rc)
            return rc;
    }
    if (is_dir)
        return make_dirs(target, err);
    char parent[PATH_CAP];
    snprintf(parent, sizeof(parent), "%s", target);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        int rc = make_dirs(parent, err);
        if (rc)
            return rc;
    }
    int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return krc_error_set(err, KRC_EIO, "create %s: %s", target, strerror(errno));
    close(fd);
    return 0;
}

static int mount_tmpfs(const struct krc_podmount_op *op, size_t n_done, const char *staging,
                       struct krc_error *err)
{
    char data[64];
    int rc = make_target(op->target, 1, op - n_done, n_done, staging, err);
    if (rc)
        return rc;
    if (op->size)
        snprintf(data, sizeof(data), "mode=1777,size=%llu", (unsigned long long)op->size);
    else
        snprintf(data, sizeof(data), "mode=1777");
    if (mount("tmpfs", op->target, "tmpfs", MS_NOSUID | MS_NODEV, data) != 0)
        return krc_error_set(err, KRC_EIO, "mount tmpfs at %s (%s): %s", op->target, data,
                             strerror(errno));
    return 0;
}

static int mount_bind(const struct krc_podmount_op *op, int srcfd, size_t n_done,
                      const char *staging, struct krc_error *err)
{
    struct stat st;
    char src[64];
    if (fstat(srcfd, &st) != 0)
        return krc_error_set(err, KRC_EIO, "mount %s: stat source %s: %s", op->target, op->source,
                             strerror(errno));
    int rc = make_target(op->target, S_ISDIR(st.st_mode), op - n_done, n_done, staging, err);
    if (rc)
        return rc;
    snprintf(src, sizeof(src), "/proc/self/fd/%d", srcfd);
    if (mount(src, op->target, NULL, MS_BIND | MS_REC, NULL) != 0)
        return krc_error_set(err, KRC_EIO, "bind %s at %s: %s", op->source, op->target,
                             strerror(errno));
    if (op->read_only && mount(NULL, op->target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
        return krc_error_set(err, KRC_EIO, "remount %s read-only: %s", op->target, strerror(errno));
    return 0;
}

int krc_podmount_apply(const struct krc_podmount_op *ops, size_t n, const char *staging,
                       struct krc_error *err)
{
    int rc = 0;
    int *fds = malloc((n ? n : 1) * sizeof(*fds));
    if (!fds)
        return krc_error_set(err, KRC_ENOMEM, "mounts: out of memory");
    for (size_t i = 0; i < n; i++)
        fds[i] = -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) {
        rc = krc_error_set(err, KRC_EIO, "make / a slave mount: %s", strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind != KRC_PODMOUNT_BIND)
            continue;
        fds[i] = open(ops[i].source, O_PATH | O_CLOEXEC);
        if (fds[i] < 0) {
            rc = krc_error_set(err, KRC_EIO, "mount %s: source %s: %s", ops[i].target,
                               ops[i].source, strerror(errno));
            goto out;
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        switch (ops[i].kind) {
        case KRC_PODMOUNT_PROC:
            if (mount("proc", ops[i].target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
                rc = krc_error_set(err, KRC_EIO, "mount proc at %s: %s", ops[i].target,
                                   strerror(errno));
            break;
        case KRC_PODMOUNT_TMPFS:
            rc = mount_tmpfs(&ops[i], i, staging, err);
            break;
        case KRC_PODMOUNT_BIND:
            rc = mount_bind(&ops[i], fds[i], i, staging, err);
            break;
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    return rc;
}
