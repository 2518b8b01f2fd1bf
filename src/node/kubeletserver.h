/* kubeletserver.h - the kubelet HTTPS endpoint of the node agent (containerLogs for
 * `kubectl logs`); see kubeletserver.c. */
#ifndef KRC_NODE_KUBELETSERVER_H
#define KRC_NODE_KUBELETSERVER_H

#include "node/agent.h"

struct krc_kubeletserver;

/* Listens on the node's bridge address and port with the given serving certificate; clients
 * must present a certificate signed by ca_file. Free with krc_kubeletserver_stop. */
int krc_kubeletserver_start(struct krc_agent *a, int port, const char *cert_file,
                            const char *key_file, const char *ca_file,
                            struct krc_kubeletserver **out, struct krc_error *err);
void krc_kubeletserver_stop(struct krc_kubeletserver *ks);

#endif
