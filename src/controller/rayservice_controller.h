/* rayservice_controller.h - the RayService controller (spec rayservice.md §5-§12, §16): keeps a
 * RayService's RayClusters (active and pending), submits its Serve config to them, labels the
 * serving head Pod, points the head and serve Services at the ready cluster, deletes old
 * clusters after the deletion delay, and writes the status.
 *
 * Shape (as the RayJob controller): per watched namespace an informer of RayServices (creates,
 * deletes, and updates that change the generation, labels or annotations), the RayCluster
 * informer (the RayCluster controller's when it is given, shared as the RayJob controller shares
 * it) and an informer of the Services labelled ray.io/originated-from-crd=RayService, the last
 * two enqueueing the owning RayService (rayservice_owner_name); one work queue keyed
 * "namespace/name", N workers. Every successful pass requeues itself after 2 s (KubeRay's
 * periodic requeue drives Serve status, the head label and Endpoints; Pods and EndpointSlices
 * are not watched).
 *
 * A pass reads the RayService, its RayClusters, its head and serve Services and the clusters'
 * head Services (for the dashboard port; the RayCluster controller's Service cache when shared)
 * from the caches (projections: what the pass reads, no more). A cache may lag a write of the
 * previous pass: a status or finalizer write from a stale object fails on its resourceVersion and
 * the pass is retried; a pending cluster created a moment ago and not cached yet answers
 * AlreadyExists, and the pass requeues quietly; a Service not cached yet is read from the API
 * server. Objects a pass rewrites whole (a RayCluster updated in place, a Service pointed at
 * another cluster) are read from the API server first, since the caches keep only part of them.
 * Pods (the head serve label) and EndpointSlices (§9.4) are listed from the API server on each
 * pass, as they are not watched (§5.2).
 *
 * The dashboard and the Serve proxy are reached at the head Pod's IP (the ports of the cluster's
 * head Service), as the RayJob controller does: the operator may run outside the pod network
 * without cluster DNS.
 *
 * Not implemented: the incremental upgrade with Gateway API (§13, the NewClusterWithIncremental-
 * Upgrade type behaves as with the gate off, i.e. as None), the API-server proxy mode
 * (useKubernetesProxy), the webhook (§3.2).
 *
 * Ownership: borrows the client, the event recorder and the RayCluster controller. */
#ifndef KRC_CONTROLLER_RAYSERVICE_CONTROLLER_H
#define KRC_CONTROLLER_RAYSERVICE_CONTROLLER_H

#include "controller/raycluster_controller.h"
#include "controller/raycluster_opts.h"
#include "kube/client.h"
#include "kube/events.h"
#include "util/error.h"
#include "util/strbuf.h"

#define RAYSERVICE_CONTROLLER_NAME "rayservice-controller"

struct rayservice_controller;

struct rayservice_controller_opts {
    struct krc_client *client;    /* borrowed */
    struct krc_events *events;    /* borrowed; NULL = no Events (logged only) */
    const char *watch_namespaces; /* comma-separated; NULL or "" = all namespaces */
    int workers;                  /* <= 0 behaves as 1 */
    struct raycluster_opts build; /* gates, version, head Service switches */
    bool enable_metrics;          /* kuberay_service_* series (§17) */
    /* Borrowed: the RayCluster controller whose RayCluster and Service informers this one
     * shares (start it first, stop it before freeing this one); NULL: this controller runs its
     * own. */
    struct raycluster_controller *clusters;
};

int rayservice_controller_new(const struct rayservice_controller_opts *opts,
                              struct rayservice_controller **out, struct krc_error *err);
/* KRC_ENOTFOUND when the RayService CRD is not installed. */
int rayservice_controller_start(struct rayservice_controller *c, struct krc_error *err);
void rayservice_controller_stop(struct rayservice_controller *c);
void rayservice_controller_free(struct rayservice_controller *c);
/* Appends kuberay_service_info, kuberay_service_condition_ready and
 * kuberay_service_condition_upgrade_in_progress (when metrics are enabled) and the controller's
 * controller_runtime_reconcile_total series. */
int rayservice_controller_metrics(struct rayservice_controller *c, struct krc_strbuf *out);

#endif
