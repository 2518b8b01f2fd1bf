/* raycluster_expect.h - scale expectations: stale-cache protection for pod creates and deletes
 * (spec §6.9).
 *
 * The informer cache lags the API server. Without a memory of what a reconcile just did, the next
 * reconcile (triggered by that very create) would see too few pods and create more. So every
 * successful pod create or delete is recorded under (namespace, cluster, group, pod), and a
 * group is planned again only once the cache agrees: a created pod is visible (or 30 s passed),
 * a deleted pod is gone (no timeout: a terminating pod still counts, as in KubeRay).
 *
 * The cache is reached through a lookup callback, so the logic is pure and the clock is passed in:
 * unit tests drive it with tables. The store is a flat array scanned under one mutex: O(items)
 * per call, where items is the number of creates/deletes not yet observed by the cache, which is
 * small (bounded by what reconciles did in the last informer round trip). A hash by group would
 * make it O(1) if that ever stops being true. Thread-safe. */
#ifndef KRC_CONTROLLER_RAYCLUSTER_EXPECT_H
#define KRC_CONTROLLER_RAYCLUSTER_EXPECT_H

#include "util/error.h"

#include <stdbool.h>
#include <stdint.h>

#define RAYCLUSTER_EXPECT_CREATE_TIMEOUT_NS (30 * INT64_C(1000000000))

enum raycluster_expect_op { RAYCLUSTER_EXPECT_CREATE, RAYCLUSTER_EXPECT_DELETE };

struct raycluster_expect;

/* What the cache says about pod ns/name: 1 present, 0 not found, negative: a read error (the
 * expectation then stays unsatisfied). */
typedef int (*raycluster_expect_lookup_fn)(void *ctx, const char *ns, const char *pod);

int raycluster_expect_new(struct raycluster_expect **out, struct krc_error *err);
void raycluster_expect_free(struct raycluster_expect *e);

/* Records op on pod ns/pod of (cluster, group); group "" is the head. Recording a pod again
 * replaces its earlier item. 0 or KRC_ENOMEM (then nothing is recorded: the caller logs it, and
 * the cost is one reconcile planned against a possibly stale cache). */
int raycluster_expect_record(struct raycluster_expect *e, const char *ns, const char *cluster,
                             const char *group, const char *pod, enum raycluster_expect_op op,
                             int64_t now_ns);

/* Whether every item of (ns, cluster, group) is observed; observed items are removed, the first
 * unobserved one ends the check. now_ns is on the clock the items were recorded with. */
bool raycluster_expect_satisfied(struct raycluster_expect *e, const char *ns, const char *cluster,
                                 const char *group, raycluster_expect_lookup_fn lookup, void *ctx,
                                 int64_t now_ns);

/* Drops every item of the cluster (not found, or all pods deleted by a Recreate upgrade). */
void raycluster_expect_drop_cluster(struct raycluster_expect *e, const char *ns,
                                    const char *cluster);

/* Items held, for tests and metrics. */
size_t raycluster_expect_len(struct raycluster_expect *e);

#endif
