/* rayservice_controller.h - the RayService controller (spec rayservice.md §5-§12, §16): keeps a
 * RayService's RayClusters (active and pending), submits its Serve config to them, labels the
 * serving head Pod, points the head and serve Services at the ready cluster, deletes old
 * clusters after the deletion delay, and writes the status.
 *
 * Shape (as the RayJob controller): per watched namespace an informer of RayServices (every
 * event) and the RayCluster informer (enqueueing a RayService owner), one work queue keyed
 * "namespace/name", N workers. Every successful pass requeues itself after 2 s (KubeRay's
 * periodic requeue drives Serve status, the head label and Endpoints; Pods, Services and
 * EndpointSlices are not watched). A pass reads the RayService and its RayClusters from the API
 * server (not from the caches: the status a pass writes is computed from the object it read, so a
 * cache lagging one write behind would only cost conflicts), Pods, Services and EndpointSlices
 * likewise.
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
    /* Borrowed: the RayCluster controller whose RayCluster informers this one shares (start it
     * first, stop it before freeing this one); NULL: this controller runs its own. */
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
