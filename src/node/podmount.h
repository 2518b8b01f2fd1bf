/* podmount.h - the pod's mount namespace: what is mounted where, and in which order.
 *
 * A pod sees the host's filesystem (the container image is ignored) with these differences, all
 * private to the pod: a new /proc for its PID namespace, a tmpfs at /tmp and at /dev/shm (sized
 * by the sandbox spec), its volumes bind-mounted (or tmpfs for emptyDir medium Memory) at their
 * mountPaths, and agent-managed files at /etc/hosts and /etc/resolv.conf.
 *
 * Planning is pure (unit-tested): it validates targets and orders the mounts so a parent
 * directory is mounted before anything inside it. Applying runs in the supervisor, inside the new
 * mount namespace. A mountPath missing on the host is created there as an empty directory (or
 * file): that is visible on the host and stays after the pod; the alternative, a per-pod overlay
 * root, would cost an overlayfs mount and a copy of the host's view per pod. */
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

/* Applies a plan in the calling process's (new) mount namespace, after making every mount a
 * slave so nothing propagates back to the host. Bind sources are opened before anything is
 * mounted, so a source under a path the plan covers (e.g. /tmp) is still found. */
int krc_podmount_apply(const struct krc_podmount_op *ops, size_t n, struct krc_error *err);

#endif
