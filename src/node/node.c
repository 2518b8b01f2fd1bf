/* node.c - opening and tearing down a node agent's local resources (see node.h). */
#include "node/node_internal.h"

#include "node/logrotate.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_BRIDGE      "krc0"
#define DEFAULT_BRIDGE_CIDR "10.244.0.1/16"

static int make_dir(const char *path, mode_t mode, struct krc_error *err)
{
    if (mkdir(path, mode) != 0 && errno != EEXIST)
        return krc_error_set(err, KRC_EIO, "mkdir %s: %s", path, strerror(errno));
    return 0;
}

static int make_dirs(const char *path, struct krc_error *err)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = make_dir(buf, 0755, err);
        *p = '/';
        if (rc)
            return rc;
    }
    return make_dir(buf, 0700, err);
}

/* The node's cgroup parents are fixed by the first open of its state root and recorded there:
 * they are derived from the opener's own cgroup, and a later opener (a restarted agent, or
 * `kuberay-node cleanup`) may run in another one (a shell job, a systemd unit) and must find the
 * same parents to put pods in and to remove. Format: the mode, then one directory per line. */
#define CGROUP_PARENTS_FILE "cgroup-parents"

static int load_cgroup_parents(struct krc_node *n)
{
    char path[PATH_MAX], line[PATH_MAX];
    struct krc_cgroup_root r;
    int mode;
    memset(&r, 0, sizeof(r));
    snprintf(path, sizeof(path), "%s/%s", n->state_root, CGROUP_PARENTS_FILE);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int ok = fscanf(f, "%d\n", &mode) == 1 && (mode == KRC_CGROUP_V1 || mode == KRC_CGROUP_V2);
    while (ok && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (r.n_dirs == KRC_SANDBOX_MAX_CGROUPS || line[0] != '/' || access(line, F_OK) != 0)
            ok = 0;
        else
            snprintf(r.dirs[r.n_dirs++], sizeof(r.dirs[0]), "%s", line);
    }
    fclose(f);
    if (!ok || r.n_dirs == 0)
        return -1;
    r.mode = (enum krc_cgroup_mode)mode;
    n->cgroups = r;
    return 0;
}

static void save_cgroup_parents(const struct krc_node *n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", n->state_root, CGROUP_PARENTS_FILE);
    FILE *f = fopen(path, "we");
    int ok = f && fprintf(f, "%d\n", (int)n->cgroups.mode) > 0;
    for (size_t i = 0; ok && i < n->cgroups.n_dirs; i++)
        ok = fprintf(f, "%s\n", n->cgroups.dirs[i]) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        KRC_LOG_WARN("could not record the cgroup parents", "path", path, "error", strerror(errno));
}

static int resolve_exe(const char *given, char *out, struct krc_error *err)
{
    if (given) {
        if ((size_t)snprintf(out, PATH_MAX, "%s", given) >= PATH_MAX)
            return krc_error_set(err, KRC_EINVAL, "supervisor %s: path too long", given);
    } else {
        ssize_t n = readlink("/proc/self/exe", out, PATH_MAX - 1);
        if (n < 0)
            return krc_error_set(err, KRC_EIO, "readlink /proc/self/exe: %s", strerror(errno));
        out[n] = '\0';
    }
    if (access(out, X_OK) != 0)
        return krc_error_set(err, KRC_ENOTFOUND, "supervisor %s: %s", out, strerror(errno));
    return 0;
}

int krc_node_open(const struct krc_node_config *cfg, struct krc_node **out, struct krc_error *err)
{
    static int cgroup_warned;
    const char *bridge = cfg->bridge ? cfg->bridge : DEFAULT_BRIDGE;
    const char *cidr = cfg->bridge_cidr ? cfg->bridge_cidr : DEFAULT_BRIDGE_CIDR;
    const char *name = cfg->name ? cfg->name : bridge;
    char parent[96];
    int rc;
    if (!cfg->state_root || cfg->state_root[0] != '/' ||
        strlen(cfg->state_root) > KRC_NODE_STATE_ROOT_MAX)
        return krc_error_set(err, KRC_EINVAL,
                             "node: state root %s must be an absolute path of at most %d bytes",
                             cfg->state_root ? cfg->state_root : "(null)", KRC_NODE_STATE_ROOT_MAX);
    if (!krc_podnet_valid_ifname(bridge))
        return krc_error_set(err, KRC_EINVAL, "node: bridge %s: not a valid interface name",
                             bridge);
    if (strlen(name) > 63 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-.") != strlen(name))
        return krc_error_set(err, KRC_EINVAL, "node: name %s: not a lowercase DNS name", name);
    struct krc_node *n = calloc(1, sizeof(*n));
    if (!n)
        return krc_error_set(err, KRC_ENOMEM, "node: out of memory");
    snprintf(n->state_root, sizeof(n->state_root), "%s", cfg->state_root);
    snprintf(n->pods_dir, sizeof(n->pods_dir), "%s/pods", n->state_root);
    snprintf(n->ipam_dir, sizeof(n->ipam_dir), "%s/ipam", n->state_root);
    snprintf(n->bridge, sizeof(n->bridge), "%s", bridge);
    n->ipam.dir = n->ipam_dir;
    n->log_max_size = cfg->log_max_size > 0 ? cfg->log_max_size : KRC_LOG_MAX_SIZE_DEFAULT;
    n->log_max_files = cfg->log_max_files > 0 ? cfg->log_max_files : KRC_LOG_MAX_FILES_DEFAULT;
    if (cfg->pod_path && !(n->pod_path = strdup(cfg->pod_path))) {
        rc = krc_error_set(err, KRC_ENOMEM, "node: out of memory");
        goto fail;
    }
    /* The bridge first: it is the likely failure (a CIDR clash) and, being shared and
     * idempotent, the one thing a later failure may leave behind for the next open. */
    if ((rc = krc_ipam_net_init(&n->ipam.net, cidr, cfg->pod_range, err)) ||
        (rc = resolve_exe(cfg->supervisor_exe, n->supervisor_exe, err)) ||
        (rc = krc_podnet_bridge_ensure(n->bridge, n->ipam.net.gateway, n->ipam.net.prefix, err)) ||
        (rc = make_dirs(n->state_root, err)) || (rc = make_dir(n->pods_dir, 0700, err)) ||
        (rc = make_dir(n->ipam_dir, 0700, err)))
        goto fail;
    krc_ipam_format(n->ipam.net.gateway, n->gateway);
    snprintf(parent, sizeof(parent), "kuberay-node-%s", name);
    struct krc_error cgerr;
    if (load_cgroup_parents(n) == 0) {
        /* recorded by the first open */
    } else if (krc_cgroup_root_init(&n->cgroups, "/sys/fs/cgroup",
                                    cfg->cgroup_parent ? cfg->cgroup_parent : parent,
                                    &cgerr) != 0) {
        if (!cgroup_warned)
            KRC_LOG_WARN("pods run without CPU and memory limits: no usable cgroup", "error",
                         cgerr.msg);
        cgroup_warned = 1;
    } else {
        save_cgroup_parents(n);
    }
    *out = n;
    return 0;
fail:
    free(n->pod_path);
    free(n);
    return krc_error_wrap(err, rc, "node %s", cfg->state_root);
}

void krc_node_close(struct krc_node *node)
{
    if (!node)
        return;
    free(node->pod_path);
    free(node);
}

int krc_node_teardown(struct krc_node *node, struct krc_error *err)
{
    char path[PATH_MAX];
    struct krc_error e2;
    int rc = krc_cgroup_root_remove(&node->cgroups, err);
    if (krc_podnet_bridge_delete(node->bridge, &e2) != 0) {
        if (e2.code == KRC_EEXIST)
            KRC_LOG_INFO("pod bridge left for the node agents still using it", "bridge",
                         node->bridge, "reason", e2.msg);
        else if (rc == 0)
            rc = krc_error_set(err, e2.code, "%s", e2.msg);
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", node->state_root, CGROUP_PARENTS_FILE) <
            sizeof(path) &&
        unlink(path) != 0 && errno != ENOENT && rc == 0)
        rc = krc_error_set(err, KRC_EIO, "remove %s: %s", path, strerror(errno));
    if ((size_t)snprintf(path, sizeof(path), "%s/last", node->ipam_dir) < sizeof(path) &&
        unlink(path) != 0 && errno != ENOENT && rc == 0)
        rc = krc_error_set(err, KRC_EIO, "remove %s: %s", path, strerror(errno));
    const char *dirs[] = {node->ipam_dir, node->pods_dir, node->state_root};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (rmdir(dirs[i]) != 0 && errno != ENOENT && rc == 0)
            rc = krc_error_set(err, KRC_EIO, "remove %s: %s (a sandbox is left?)", dirs[i],
                               strerror(errno));
    return rc;
}

const char *krc_node_state_root(const struct krc_node *node)
{
    return node->state_root;
}

const char *krc_node_bridge(const struct krc_node *node)
{
    return node->bridge;
}

const char *krc_node_gateway(const struct krc_node *node)
{
    return node->gateway;
}
