/* podnet.h - the pod network: one Linux bridge per cluster network, one veth pair per pod.
 *
 * The bridge carries the gateway address (e.g. krc0 with 10.244.0.1/16); each pod's network
 * namespace gets `eth0` (the peer of a host-side veth enslaved to the bridge) with the pod's
 * address, `lo` up, and a default route via the bridge address. Pods reach each other over the
 * bridge (layer 2) and reach the host's own addresses through the gateway; nothing is routed off
 * the machine: no NAT, and IPv4 forwarding is switched off on the bridge itself, so a packet from
 * a pod to any other address is dropped by the host even where global ip_forward is on.
 *
 * Functions here are stateless: each opens its own netlink socket. They take a pid whose network
 * namespace is the pod's, which keeps the namespace's lifetime that of the pod's processes (when
 * the pod's PID 1 exits the namespace, eth0 and its host-side peer disappear with it). */
#ifndef KRC_NODE_PODNET_H
#define KRC_NODE_PODNET_H

#include "util/error.h"

#include <net/if.h>
#include <stdint.h>
#include <sys/types.h>

#define KRC_PODNET_IFNAME_MAX IF_NAMESIZE /* 16, including the NUL */

/* 1 if name is a usable interface name (1..15 bytes of [A-Za-z0-9_.-]). */
int krc_podnet_valid_ifname(const char *name);

/* The host-side veth name of a pod: "kv" + 12 hex digits of a hash of bridge and uid, so pods
 * with the same uid on different bridges (two clusters, or tests) do not collide. Pure. */
void krc_podnet_veth_name(const char *bridge, const char *uid, char out[KRC_PODNET_IFNAME_MAX]);

/* Makes sure bridge exists, is up, has gateway/prefix and does not forward. Idempotent: an
 * existing bridge with that address is reused (several node agents share one bridge). Fails
 * with KRC_EEXIST if another interface has an address overlapping the network, or the bridge
 * exists with a different address, and with KRC_EINVAL if the name is taken by a non-bridge. */
int krc_podnet_bridge_ensure(const char *bridge, uint32_t gateway, int prefix,
                             struct krc_error *err);
/* Deletes the bridge; 0 also when it does not exist. KRC_EEXIST while interfaces are still
 * attached to it (another node agent's pods on a shared bridge): it is left in place. */
int krc_podnet_bridge_delete(const char *bridge, struct krc_error *err);

/* Creates veth (host end, enslaved to bridge, up) with its peer named eth0 inside the network
 * namespace of pid, and configures the pod side: address ip/prefix, up, lo up, default route via
 * gateway. On failure deletes what it created. */
int krc_podnet_attach(const char *bridge, const char *veth, pid_t pid, uint32_t ip, int prefix,
                      uint32_t gateway, struct krc_error *err);
/* Deletes the host-side veth (and with it the pod's eth0); 0 also when it does not exist. */
int krc_podnet_detach(const char *veth, struct krc_error *err);
/* 1 if an interface with this name exists in the agent's network namespace, 0 if not. */
int krc_podnet_link_exists(const char *name);

#endif
