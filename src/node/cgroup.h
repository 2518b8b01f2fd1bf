/* cgroup.h - one cgroup per pod for its CPU and memory limits, on cgroup v2 or v1.
 *
 * A node keeps its pods under one parent directory per hierarchy (v1: memory and cpu; v2: the
 * unified tree). The parent is, by default, a child of the agent's own cgroup, so pods stay
 * inside whatever limits and accounting the agent runs under; an absolute parent ("/kubepods")
 * is taken from the hierarchy's root instead, as kubelet does, for an agent run as a service
 * whose own cgroup is killed when it stops.
 *
 * Limits are best effort by design: on a host where cgroups cannot be written (read-only cgroupfs,
 * v2 controllers not delegated) pods run without limits and the caller logs that once. */
#ifndef KRC_NODE_CGROUP_H
#define KRC_NODE_CGROUP_H

#include "node/podjson.h"
#include "util/error.h"

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

enum krc_cgroup_mode { KRC_CGROUP_NONE = 0, KRC_CGROUP_V1, KRC_CGROUP_V2 };

struct krc_cgroup_root {
    enum krc_cgroup_mode mode;
    char dirs[KRC_SANDBOX_MAX_CGROUPS][PATH_MAX]; /* v1: [0] memory, [1] cpu (optional); v2: [0] */
    size_t n_dirs;
};

struct krc_cgroup_limits {
    int64_t memory;         /* bytes; 0 = none */
    int cpu_limit_millis;   /* 0 = none */
    int cpu_request_millis; /* 0 = default weight */
};

/* Finds the cgroup path of controller ("memory", "cpu"; NULL for the v2 "0::" line) in the
 * content of /proc/<pid>/cgroup. Pure. KRC_ENOTFOUND if absent. */
int krc_cgroup_self_path(const char *proc_cgroup, const char *controller, char *out, size_t outlen);

/* v1 cpu.shares for a request (Kubernetes' formula, 2..262144) and the v2 cpu.weight (1..10000)
 * it maps to. Pure. */
unsigned long krc_cgroup_cpu_shares(int request_millis);
unsigned long krc_cgroup_cpu_weight(int request_millis);

/* Detects the hierarchy under fs_root ("/sys/fs/cgroup") and creates the node's parent `parent`
 * (relative to the agent's own cgroup, or absolute). On failure r->mode is KRC_CGROUP_NONE and
 * the error says why; the node carries on without limits. */
int krc_cgroup_root_init(struct krc_cgroup_root *r, const char *fs_root, const char *parent,
                         struct krc_error *err);
/* Removes the node's parent directories (they must be empty); 0 when already gone. */
int krc_cgroup_root_remove(const struct krc_cgroup_root *r, struct krc_error *err);

/* Creates the pod's directories "pod-<uid>" under each parent, applies the limits and moves pid
 * into them. Writes the created paths to paths[] (PATH_MAX each) and their count to *n. On
 * failure removes what it created. */
int krc_cgroup_pod_create(const struct krc_cgroup_root *r, const char *uid,
                          const struct krc_cgroup_limits *limits, pid_t pid,
                          char paths[KRC_SANDBOX_MAX_CGROUPS][PATH_MAX], size_t *n,
                          struct krc_error *err);
/* Removes pod cgroup directories; waits up to about a second for exiting processes to leave.
 * Missing directories are fine. */
int krc_cgroup_pod_remove(const char *const *paths, size_t n, struct krc_error *err);

#endif
