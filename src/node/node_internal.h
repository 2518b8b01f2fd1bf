/* node_internal.h - the krc_node struct, shared by node.c and sandbox.c only. */
#ifndef KRC_NODE_NODE_INTERNAL_H
#define KRC_NODE_NODE_INTERNAL_H

#include "node/cgroup.h"
#include "node/ipam.h"
#include "node/node.h"
#include "node/podnet.h"

#include <limits.h>

#define KRC_NODE_STATE_ROOT_MAX 60

struct krc_node {
    char state_root[KRC_NODE_STATE_ROOT_MAX + 1];
    char pods_dir[PATH_MAX];
    char ipam_dir[PATH_MAX];
    char bridge[KRC_PODNET_IFNAME_MAX];
    char gateway[KRC_IPAM_ADDR_MAX];
    char *pod_path;
    char supervisor_exe[PATH_MAX];
    long long log_max_size; /* passed to each pod supervisor (logrotate.h) */
    int log_max_files;
    struct krc_ipam ipam; /* ipam.dir points at ipam_dir */
    struct krc_cgroup_root cgroups;
};

#endif
