/* rayjob_controller.h - the RayJob controller: informers, work queue and the reconcile layer that
 * gathers what rayjob_state.h needs, executes the actions it decides and writes the status.
 *
 * Shape (sample-controller, as the RayCluster controller): per watched namespace three informers -
 * RayJobs (every event), RayClusters and submitter batch Jobs (label
 * app.kubernetes.io/created-by=kuberay-operator), the last two enqueueing their controller owner
 * when it is a RayJob - feed one work queue keyed "namespace/name"; N workers reconcile (the
 * RayCluster informer is the RayCluster controller's when opts.clusters is set). Reads
 * come from the caches (a submitter Job just created and not cached yet is read from the API);
 * writes go to the API server. Every non-final state requeues itself after 3 s (KubeRay).
 *
 * The dashboard is reached at the head pod IP from the RayCluster status, with the port of
 * status.dashboardURL: KubeRay resolves the head Service's DNS name instead, which reaches the
 * same pod for its headless head Service, but needs cluster DNS, which an operator outside the
 * pod network (this project's node agents, or `go run` of KubeRay) does not have.
 *
 * Ownership: the controller borrows the client and the event recorder (both must outlive it). */
#ifndef KRC_CONTROLLER_RAYJOB_CONTROLLER_H
#define KRC_CONTROLLER_RAYJOB_CONTROLLER_H

#include "controller/raycluster_controller.h"
#include "controller/raycluster_opts.h"
#include "kube/client.h"
#include "kube/events.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <stdbool.h>
#include <stdint.h>

#define RAYJOB_CONTROLLER_NAME "rayjob-controller"

struct rayjob_controller;

struct rayjob_controller_opts {
    struct krc_client *client;    /* borrowed */
    struct krc_events *events;    /* borrowed; NULL = no Events (logged only) */
    const char *watch_namespaces; /* comma-separated; NULL or "" = all namespaces */
    int workers;                  /* <= 0 behaves as 1 */
    struct raycluster_opts build; /* gates, CLUSTER_DOMAIN, login shell, head Service switches */
    bool enable_metrics;          /* kuberay_job_* series */
    /* Borrowed: the RayCluster controller whose RayCluster informers this one shares
     * (raycluster_controller_share_clusters; start it first, stop it before freeing this one);
     * NULL: this controller runs its own. */
    struct raycluster_controller *clusters;
};

int rayjob_controller_new(const struct rayjob_controller_opts *opts, struct rayjob_controller **out,
                          struct krc_error *err);
/* Starts the informers, waits for their first list, then the workers. KRC_ENOTFOUND when the
 * RayJob CRD is not installed (the caller may run without this controller). */
int rayjob_controller_start(struct rayjob_controller *c, struct krc_error *err);
void rayjob_controller_stop(struct rayjob_controller *c);
void rayjob_controller_free(struct rayjob_controller *c);

/* Appends kuberay_job_info, kuberay_job_deployment_status and
 * kuberay_job_execution_duration_seconds (when metrics are enabled) and the controller's
 * controller_runtime_reconcile_total series. */
int rayjob_controller_metrics(struct rayjob_controller *c, struct krc_strbuf *out);

#endif
