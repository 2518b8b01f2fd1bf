/* raycronjob_controller.h - the RayCronJob controller (spec rayjob.md §12, feature gate
 * RayCronJob): one informer per watched namespace on RayCronJobs feeds a work queue keyed
 * "namespace/name"; a worker reads the object from the API server (so status.lastScheduleTime
 * is never stale), validates it, and creates at most one RayJob per reconcile for the due tick
 * (raycronjob_plan.h), then requeues itself for the next tick. Created RayJobs are not watched.
 *
 * Ownership: the controller borrows the client and the event recorder (both must outlive it). */
#ifndef KRC_CONTROLLER_RAYCRONJOB_CONTROLLER_H
#define KRC_CONTROLLER_RAYCRONJOB_CONTROLLER_H

#include "api/raycluster.h"
#include "kube/client.h"
#include "kube/events.h"
#include "util/error.h"

#define RAYCRONJOB_CONTROLLER_NAME "raycronjob-controller"

struct raycronjob_controller;

struct raycronjob_controller_opts {
    struct krc_client *client;     /* borrowed */
    struct krc_events *events;     /* borrowed; NULL = no Events (logged only) */
    const char *watch_namespaces;  /* comma-separated; NULL or "" = all namespaces */
    int workers;                   /* <= 0 behaves as 1 */
    struct raycluster_gates gates; /* for the jobTemplate validation */
};

int raycronjob_controller_new(const struct raycronjob_controller_opts *opts,
                              struct raycronjob_controller **out, struct krc_error *err);
/* Starts the informers, waits for their first list, then the workers. KRC_ENOTFOUND when the
 * RayCronJob CRD is not installed (the caller may run without this controller). */
int raycronjob_controller_start(struct raycronjob_controller *c, struct krc_error *err);
void raycronjob_controller_stop(struct raycronjob_controller *c);
void raycronjob_controller_free(struct raycronjob_controller *c);

#endif
