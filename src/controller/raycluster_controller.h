/* raycluster_controller.h - the RayCluster controller: informers, work queue and the reconcile
 * layer that applies what the pure builders and planner (raycluster_pod/service/rbac/scale/status)
 * decide, against a real API server.
 *
 * Shape (sample-controller): three informers per watched namespace (RayClusters; Pods filtered by
 * `ray.io/node-type in (head,worker,redis-cleanup)`; Services) feed one work queue keyed
 * "namespace/name" of the RayCluster; N workers reconcile. Pods and Services enqueue their
 * controller owner when it is a RayCluster; RayCluster updates enqueue only when generation,
 * labels or annotations changed (operator-runtime §8.1). Reads come from the caches; writes go to
 * the API server; pod creates/deletes are recorded as scale expectations (raycluster_expect.h) so
 * a stale cache never makes a group plan twice.
 *
 * Ownership: the controller borrows the client and the event recorder (both must outlive it). */
#ifndef KRC_CONTROLLER_RAYCLUSTER_CONTROLLER_H
#define KRC_CONTROLLER_RAYCLUSTER_CONTROLLER_H

#include "controller/raycluster_opts.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <stdbool.h>
#include <stdint.h>

#define RAYCLUSTER_DEFAULT_REQUEUE_S     300
#define RAYCLUSTER_STATUS_REQUEUE_NS     (2 * INT64_C(1000000000))
#define RAYCLUSTER_CACHE_SYNC_TIMEOUT_MS (2 * 60 * 1000) /* operator-runtime §8.3 */
#define RAYCLUSTER_CONTROLLER_NAME       "raycluster-controller"

struct raycluster_controller;

struct raycluster_controller_opts {
    struct krc_client *client;    /* borrowed */
    struct krc_events *events;    /* borrowed; NULL = no Events (logged only) */
    const char *watch_namespaces; /* comma-separated; NULL or "" = all namespaces */
    int workers;                  /* <= 0 behaves as 1 */
    int64_t requeue_ns;           /* periodic requeue; <= 0 = none */
    struct raycluster_opts build; /* what the builders need (gates, env switches) */
    bool enable_metrics;          /* kuberay_cluster_* series in raycluster_controller_metrics */
    /* Fault injection for tests: every pod event waits this long before it is handled, which
     * holds up the pod informer so its cache lags the API server (the stale-cache scenario that
     * scale expectations exist for). 0 in production. */
    int64_t test_pod_event_delay_ns;
    bool redis_cleanup; /* ENABLE_GCS_FT_REDIS_CLEANUP != false: finalizer + cleanup Job (§6.12) */
};

int raycluster_controller_new(const struct raycluster_controller_opts *opts,
                              struct raycluster_controller **out, struct krc_error *err);
/* Starts the informers, waits for their first list (RAYCLUSTER_CACHE_SYNC_TIMEOUT_MS; KRC_ETIMEOUT
 * when a type never syncs, e.g. the CRD is missing), then the workers. */
int raycluster_controller_start(struct raycluster_controller *c, struct krc_error *err);
/* Stops the workers (the reconcile in progress finishes) and the informers. Idempotent. */
void raycluster_controller_stop(struct raycluster_controller *c);
void raycluster_controller_free(struct raycluster_controller *c);

/* The RayCluster cache, shared with another controller (the RayJob controller) so that a
 * RayCluster is cached once: its objects keep these paths at these indices of their projection
 * (krc_object_path; the fixed metadata of projection.h besides). */
#define RAYCLUSTER_CACHE_PATH_SPEC        0
#define RAYCLUSTER_CACHE_PATH_STATUS      1
#define RAYCLUSTER_CACHE_PATH_ANNOTATIONS 2
/* Adds h to the RayCluster informer of the watched namespace ns (NULL: the one of all namespaces)
 * and returns that informer in *out, borrowed: c starts, stops and frees it, so call this before
 * raycluster_controller_start, wait for its sync after it, and stop c before freeing h's ctx.
 * KRC_ENOTFOUND when c does not watch exactly ns; KRC_EINVAL as krc_informer_add_handlers. */
int raycluster_controller_share_clusters(struct raycluster_controller *c, const char *ns,
                                         const struct krc_informer_handlers *h,
                                         struct krc_informer **out, struct krc_error *err);

/* The informer of the RayClusters' Services (labelled ray.io/cluster; projection: "spec" at
 * RAYCLUSTER_SVC_CACHE_PATH_SPEC) of the watched namespace ns, borrowed as with
 * raycluster_controller_share_clusters, for reads only (no handler is added): the RayService
 * controller reads a cluster's head Service from it. KRC_ENOTFOUND when c does not watch exactly
 * ns. */
#define RAYCLUSTER_SVC_CACHE_PATH_SPEC 0
int raycluster_controller_share_services(struct raycluster_controller *c, const char *ns,
                                         struct krc_informer **out, struct krc_error *err);

/* Appends the controller's Prometheus series (text format 0.0.4): the kuberay_cluster_* family of
 * spec §11 when metrics are enabled, and controller_runtime_reconcile_total always. */
int raycluster_controller_metrics(struct raycluster_controller *c, struct krc_strbuf *out);

#endif
