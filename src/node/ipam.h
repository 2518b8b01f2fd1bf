/* ipam.h - pod IP address management for one node: which IPv4 address each pod has.
 *
 * The pod network is described by the bridge's address in CIDR notation ("10.244.0.1/16": the
 * bridge, which is every pod's gateway, has 10.244.0.1 and the pods share 10.244.0.0/16) and an
 * optional allocation range inside it ("10.244.1.0/24"), so several node agents can share one
 * bridge and one L2 network while handing out disjoint addresses.
 *
 * Allocations live on disk, one file per address in a directory (`<dir>/10.244.0.7`, content: the
 * pod uid), created with O_EXCL: a restarted agent keeps every pod's address, and two processes
 * can never hand out the same address. Addresses are handed out round-robin after the last one
 * given (remembered in `<dir>/last`), so a freed address is not reused at once. Finding a pod's
 * existing address scans the directory, O(allocated); a by-uid index would make it O(1) but is
 * not worth a second file to keep consistent at the few hundred pods a node runs. */
#ifndef KRC_NODE_IPAM_H
#define KRC_NODE_IPAM_H

#include "util/error.h"

#include <stdint.h>

/* IPv4 addresses are uint32_t in host byte order throughout. */
#define KRC_IPAM_ADDR_MAX 16 /* "255.255.255.255" + NUL */

struct krc_ipam_net {
    uint32_t network; /* network address of the pod network */
    uint32_t gateway; /* the bridge's address */
    int prefix;       /* prefix length of the pod network, 8..30 */
    uint32_t first;   /* first allocatable address */
    uint32_t last;    /* last allocatable address (inclusive) */
};

/* Parses "a.b.c.d/n" (n in 0..32). KRC_EINVAL on anything else. */
int krc_ipam_parse_cidr(const char *s, uint32_t *addr, int *prefix);
/* Formats addr as dotted quad into out (at least KRC_IPAM_ADDR_MAX bytes). */
void krc_ipam_format(uint32_t addr, char *out);
/* Parses a dotted quad. KRC_EINVAL on anything else. */
int krc_ipam_parse_addr(const char *s, uint32_t *addr);
/* 1 if a.b.c.d/pa and w.x.y.z/pb share any address. */
int krc_ipam_overlaps(uint32_t a, int pa, uint32_t b, int pb);

/* Builds the network from the bridge address ("10.244.0.1/16") and an optional range
 * ("10.244.1.0/24", NULL = the whole network). The range must lie inside the network; the network's
 * own address, its broadcast address and the gateway are never allocated. */
int krc_ipam_net_init(struct krc_ipam_net *net, const char *bridge_cidr, const char *range_cidr,
                      struct krc_error *err);
/* 1 if addr may be given to a pod. */
int krc_ipam_net_allocatable(const struct krc_ipam_net *net, uint32_t addr);
/* The allocatable address after `after` in range order, wrapping from last to first; `after`
 * may be any address (0 starts at first). Returns 0 when the range has no allocatable address. */
uint32_t krc_ipam_net_next(const struct krc_ipam_net *net, uint32_t after);

/* Directory-backed allocation. dir must exist. */
struct krc_ipam {
    struct krc_ipam_net net;
    const char *dir; /* borrowed; must outlive the struct */
};

/* The address already recorded for uid. KRC_ENOTFOUND if none. */
int krc_ipam_lookup(const struct krc_ipam *ipam, const char *uid, uint32_t *addr,
                    struct krc_error *err);
/* Gives uid an address: the one it already has, else the next free one. KRC_ERANGE when the range
 * is exhausted. */
int krc_ipam_allocate(const struct krc_ipam *ipam, const char *uid, uint32_t *addr,
                      struct krc_error *err);
/* Records exactly addr for uid (idempotent for the same uid). KRC_EEXIST if another uid has it,
 * KRC_EINVAL if addr is not allocatable. */
int krc_ipam_reserve(const struct krc_ipam *ipam, const char *uid, uint32_t addr,
                     struct krc_error *err);
/* Frees every address recorded for uid; 0 also when there was none. */
int krc_ipam_release(const struct krc_ipam *ipam, const char *uid, struct krc_error *err);

#endif
