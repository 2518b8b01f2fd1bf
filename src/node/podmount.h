/* podmount.h - the pod's mount namespace: what is mounted where, and in which order.
 *
 * A pod sees the host's filesystem (the container image is ignored) with these differences, all
 * private to the pod: a new /proc for its PID namespace, a tmpfs at /tmp and at /dev/shm (sized
 * by the sandbox spec), its volumes bind-mounted (or tmpfs for emptyDir medium Memory) at their
 * mountPaths, and agent-managed files at /etc/hosts and /etc/resolv.conf.
 *
 * Planning is pure (unit-tested): it validates targets and orders the mounts so a parent
 * directory is mounted before anything inside it. Applying runs in the supervisor, inside the new
 * mount namespace.
 *
 * A mountPath missing on the host is never created on the host. Inside a pod-private mount (a
 * tmpfs, a volume) it is simply created there, as a container runtime creates it in the
 * container's rootfs. Under the host's filesystem, the deepest existing ancestor directory is
 * replaced, in the pod's namespace only, by a "skeleton": a tmpfs holding a recursive bind mount
 * of each of its entries (symlinks copied), in which the missing path can then be created. The
 * cost is a tmpfs and one bind per entry of that directory (for a missing top-level directory:
 * per entry of "/", which then becomes the pod's root through chroot); a per-pod overlay root
 * would instead cost an overlayfs over every host mount. New files written directly in such a
 * directory stay in the pod's tmpfs. */
#ifndef KRC_NODE_PODMOUNT_H
#define KRC_NODE_PODMOUNT_H

#include "node/podspec.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

enum krc_podmount_kind { KRC_PODMOUNT_PROC, KRC_PODMOUNT_TMPFS, KRC_PODMOUNT_BIND };

struct krc_podmount_op {
    enum krc_podmount_kind kind;
    const char *source; /* bind: host path */
    const char *target;
    int read_only;
    uint64_t size; /* tmpfs bytes; 0 = kernel default */
};

/* 1 if target is an absolute, normalised path ("/a/b": no "//", ".", ".." or trailing '/') that
 * is not "/" and not inside /proc or /sys. */
int krc_podmount_valid_target(const char *target);

/* Orders the mounts of a pod into a malloc'd array (free() it; strings are borrowed from the
 * inputs). hosts_file and resolv_file are host paths of the agent-managed files (NULL to skip).
 * A mount whose target is /tmp or /dev/shm replaces the default tmpfs there. */
int krc_podmount_plan(const struct krc_pod_mount *mounts, size_t n, uint64_t shm_size,
                      uint64_t tmp_size, const char *hosts_file, const char *resolv_file,
                      struct krc_podmount_op **ops, size_t *n_ops, struct krc_error *err);

/* 1 if dir is at or under the target of one of the tmpfs or bind mounts in done[0..n): a place
 * private to the pod, where a missing mount point may be created directly. */
int krc_podmount_in_pod(const char *dir, const struct krc_podmount_op *done, size_t n);

/* Applies a plan in the calling process's (new) mount namespace, after making every mount a
 * slave so nothing propagates back to the host. Bind sources are opened before anything is
 * mounted, so a source under a path the plan covers (e.g. /tmp) is still found. staging is an
 * empty directory the pod may use as a mount point while building skeletons (see above); it
 * may be chroot()ed into. */
int krc_podmount_apply(const struct krc_podmount_op *ops, size_t n, const char *staging,
                       struct krc_error *err);

#endif
