/* node.h - one node agent's local resources: its state directory, the pod network (bridge and
 * IP range) and the cgroup parent its pods live under. The agent loop opens one krc_node at
 * start-up and passes it to every krc_sandbox_* call (sandbox.h).
 *
 * State directory layout (state_root):
 *   ipam/<a.b.c.d>      one file per allocated pod IP (ipam.h)
 *   pods/<uid>/         one directory per pod sandbox (sandbox.h)
 * The state root must be short enough for the pods' unix socket paths (at most 60 bytes). */
#ifndef KRC_NODE_NODE_H
#define KRC_NODE_NODE_H

#include "util/error.h"

struct krc_node_config {
    const char *name;           /* the node's name (DNS label); default: the bridge name */
    const char *state_root;     /* required, absolute; created if missing */
    const char *bridge;         /* pod bridge interface name; default "krc0" */
    const char *bridge_cidr;    /* bridge address and pod network; default "10.244.0.1/16" */
    const char *pod_range;      /* this node's allocation range inside it; NULL = all of it */
    const char *pod_path;       /* PATH of container processes (Ray venv bin first); NULL =
                                   the usual system PATH */
    const char *supervisor_exe; /* the kuberay-node binary; NULL = this process's executable */
    const char *cgroup_parent;  /* default "kuberay-node-<name>", relative to the agent's own
                                   cgroup; absolute ("/kubepods") = from the hierarchy root */
    long long log_max_size;     /* container log rotation size in bytes; 0 = 10 MiB, as the
                                   kubelet's containerLogMaxSize (logrotate.h) */
    int log_max_files;          /* files kept per container start; 0 = 5 (containerLogMaxFiles) */
};

struct krc_node;

/* Creates the state directories, makes sure the bridge exists (krc_podnet_bridge_ensure) and
 * prepares the cgroup parent (logging once and carrying on without limits when it cannot).
 * The caller frees *out with krc_node_close. */
int krc_node_open(const struct krc_node_config *cfg, struct krc_node **out, struct krc_error *err);
/* Frees the handle; pods, bridge and state stay (an agent restart re-adopts them). */
void krc_node_close(struct krc_node *node);
/* Removes the node's resources: its cgroup parent, its state directory and the bridge. Call
 * after destroying every sandbox (krc_sandbox_list + destroy); the node handle stays valid only
 * for krc_node_close. A bridge other node agents still have pods on is left to the last of them
 * (logged, not an error). */
int krc_node_teardown(struct krc_node *node, struct krc_error *err);

const char *krc_node_state_root(const struct krc_node *node);
const char *krc_node_bridge(const struct krc_node *node);
/* The bridge's address (the pods' gateway), dotted quad. */
const char *krc_node_gateway(const struct krc_node *node);

#endif
