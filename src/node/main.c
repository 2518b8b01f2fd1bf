/* main.c - the kuberay-node binary.
 *
 *   kuberay-node pod-supervisor --state-dir DIR --sync-fd N
 *       internal: the PID 1 of one pod, started by the agent (supervisor.h)
 *   kuberay-node cleanup --state-root DIR [--bridge NAME] [--bridge-cidr CIDR]
 *       destroys every pod sandbox under DIR, then the bridge and the node's state
 *
 *   kuberay-node agent --kubeconfig FILE --node-name NAME --state-dir DIR [...]
 *       the node agent: registers the Node and runs the pods bound to it (agent.c) */
#include "node/agent.h"
#include "node/node.h"
#include "node/sandbox.h"
#include "node/supervisor.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

static int usage(void)
{
    fprintf(
        stderr,
        "usage: kuberay-node agent --help | kuberay-node cleanup --state-root DIR [--bridge NAME] "
        "[--bridge-cidr CIDR] [--grace SECONDS]\n");
    return 2;
}

static int cleanup(int argc, char **argv)
{
    struct krc_node_config cfg = {0};
    struct krc_node *node = NULL;
    struct krc_error err;
    char **uids = NULL;
    size_t n = 0;
    int grace = 10, failed = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--state-root") == 0)
            cfg.state_root = argv[i + 1];
        else if (strcmp(argv[i], "--bridge") == 0)
            cfg.bridge = argv[i + 1];
        else if (strcmp(argv[i], "--bridge-cidr") == 0)
            cfg.bridge_cidr = argv[i + 1];
        else if (strcmp(argv[i], "--grace") == 0 && sscanf(argv[i + 1], "%d", &grace) == 1)
            continue;
        else
            return usage();
    }
    if (!cfg.state_root || argc % 2 == 0)
        return usage();
    if (krc_node_open(&cfg, &node, &err) != 0 || krc_sandbox_list(node, &uids, &n, &err) != 0) {
        KRC_LOG_ERROR("cleanup failed", "error", err.msg);
        krc_node_close(node);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        struct krc_sandbox *sb;
        if (krc_sandbox_adopt(node, uids[i], &sb, &err) != 0 ||
            krc_sandbox_destroy(sb, grace, &err) != 0) {
            KRC_LOG_ERROR("could not destroy a sandbox", "uid", uids[i], "error", err.msg);
            failed = 1;
        }
    }
    krc_sandbox_list_free(uids, n);
    if (!failed && krc_volumes_remove_all(cfg.state_root) != 0) {
        KRC_LOG_ERROR("could not remove the pods' volume directories", "state_root",
                      cfg.state_root);
        failed = 1;
    }
    if (!failed && krc_node_teardown(node, &err) != 0) {
        KRC_LOG_ERROR("could not tear down the node", "error", err.msg);
        failed = 1;
    }
    krc_node_close(node);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "pod-supervisor") == 0)
        return krc_supervisor_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "cleanup") == 0)
        return cleanup(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "agent") == 0)
        return krc_agent_main(argc - 1, argv + 1);
    return usage();
}
