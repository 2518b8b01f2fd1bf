/* raycluster_controller_internal.h - what the files of the RayCluster reconcile layer share (not
 * a public interface: raycluster_controller.h is). The layer is split by concern:
 *   raycluster_controller.c    informers, event handlers, the work queue, the top-level reconcile
 *                              order (§6.2), events, metrics
 *   raycluster_apply.c         the children it creates and deletes: autoscaler RBAC, Ingress, auth
 *                              Secret, head Service, the pod plan of raycluster_scale.h
 *   raycluster_status_write.c  status computed from the caches, written only when it differs
 *   raycluster_gcsft.c         the GCS FT Redis cleanup finalizer and Job (§6.12) */
#ifndef KRC_CONTROLLER_RAYCLUSTER_CONTROLLER_INTERNAL_H
#define KRC_CONTROLLER_RAYCLUSTER_CONTROLLER_INTERNAL_H

#include "api/raycluster.h"
#include "controller/controller_runtime.h"
#include "controller/raycluster_controller.h"
#include "controller/raycluster_expect.h"
#include "controller/raycluster_status.h"
#include "kube/informer.h"
#include "kube/workqueue.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static const struct krc_resource RES_RAYCLUSTER = {"ray.io", "v1", "rayclusters", 1};
static const struct krc_resource RES_POD = {"", "v1", "pods", 1};
static const struct krc_resource RES_SERVICE = {"", "v1", "services", 1};
static const struct krc_resource RES_SA = {"", "v1", "serviceaccounts", 1};
static const struct krc_resource RES_JOB = {"batch", "v1", "jobs", 1};
static const struct krc_resource RES_ROLE = {"rbac.authorization.k8s.io", "v1", "roles", 1};
static const struct krc_resource RES_ROLEBINDING = {"rbac.authorization.k8s.io", "v1",
                                                    "rolebindings", 1};

/* Projections: what each cache keeps besides the fixed metadata (projection.h). The index of a
 * path in its list is how it is read back; RC_PATHS begins with the RAYCLUSTER_CACHE_PATH_* of
 * raycluster_controller.h (the RayJob controller reads this cache too). */
static const char *const RC_PATHS[] = {"spec", "status", "metadata.annotations",
                                       "metadata.finalizers", "metadata.creationTimestamp"};
/* Pods: what raypod.h, the pod plan and the status read, no more (a pod's spec.containers, 60 %
 * of a kept pod, is not kept: raycluster_ctrl_pods() names the Ray container from the group's
 * template instead). */
static const char *const POD_PATHS[] = {
    "metadata.annotations", "spec.restartPolicy",       "status.phase",
    "status.conditions",    "status.containerStatuses", "status.podIP"};
static const char *const SVC_PATHS[] = {[RAYCLUSTER_SVC_CACHE_PATH_SPEC] = "spec"};
/* kubectl's copy of the applied RayCluster is not kept. */
static const struct krc_projection_drop RC_DROPS[] = {
    {RAYCLUSTER_CACHE_PATH_ANNOTATIONS, KRC_LAST_APPLIED_ANNOTATION}};
#define NPATHS(a) (sizeof(a) / sizeof((a)[0]))

/* The informers of one watched namespace (ns NULL: all namespaces, one set); the controller's
 * controller_runtime (rt) owns them and the namespace string. */
struct nsset {
    const char *ns;
    struct krc_informer *rcs, *pods, *svcs;
};

struct prov_series {
    char *ns, *name, *uid;
    double seconds;
};

struct raycluster_controller {
    struct raycluster_controller_opts o;
    struct nsset *sets; /* one per entry of rt.ns */
    struct krc_workqueue *queue;
    struct controller_runtime rt; /* watched namespaces, informers, workers */
    struct raycluster_expect *expect;
    pthread_mutex_t mu; /* guards the metric and trim state below */
    struct prov_series *prov;
    size_t nprov, capprov;
    int64_t last_trim_ns; /* monotonic time of the last malloc_trim */
};

#define EVENT(c, rc, type, reason, action, ...)                                                    \
    raycluster_ctrl_event((c), (rc), (type), (reason), (action), __VA_ARGS__)

/* raycluster_controller.c */
int64_t raycluster_ctrl_mono_now(void);
/* The documents of every cached pod of rc, with spec.containers[0].name (the Ray container's,
 * which the cache does not keep) taken from the pod's group template in rc. */
json_t *raycluster_ctrl_pods(struct nsset *set, const struct raycluster *rc, struct krc_error *err);
/* The documents of every cached object of store with label ray.io/cluster=cluster in ns. */
json_t *raycluster_ctrl_children(struct krc_store *store, const char *ns, const char *cluster,
                                 const char *api_version, const char *kind,
                                 const char *const *paths, size_t npaths, struct krc_error *err);
/* Records an Event on rc (best effort) and logs it. */
void raycluster_ctrl_event(struct raycluster_controller *c, const struct raycluster *rc,
                           enum krc_event_type type, const char *reason, const char *action,
                           const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Remembers when rc became provisioned, for kuberay_cluster_provisioned_duration_seconds. */
void raycluster_ctrl_prov_set(struct raycluster_controller *c, const struct raycluster *rc);

/* raycluster_apply.c */
int raycluster_ctrl_reconcile_rbac(struct raycluster_controller *c, const struct raycluster *rc,
                                   struct krc_error *err);
/* The dashboard Ingress when headGroupSpec.enableIngress (created, or updated when owned). */
int raycluster_ctrl_reconcile_ingress(struct raycluster_controller *c, const struct raycluster *rc,
                                      struct krc_error *err);
/* The token-auth Secret, created once with a random token when wanted (never updated). */
int raycluster_ctrl_reconcile_auth_secret(struct raycluster_controller *c,
                                          const struct raycluster *rc, struct krc_error *err);
/* The cached Services that select the head (raycluster_head_service_selector), as documents. */
json_t *raycluster_ctrl_head_services(struct nsset *set, const struct raycluster *rc,
                                      struct krc_error *err);
int raycluster_ctrl_reconcile_head_service(struct raycluster_controller *c, struct nsset *set,
                                           const struct raycluster *rc, struct krc_error *err);
/* Deletes the pods of ns matching the label selector (one delete-collection call). */
int raycluster_ctrl_delete_pods(struct raycluster_controller *c, const char *ns,
                                const char *selector, struct krc_error *err);
/* Plans and executes the pod actions; a replica failure is described in *res (its message in
 * msg); *more when the pass stopped after a batch of creations and the rest is for the next.
 * When the plan had no action, *pods receives (a new reference to) the pod documents it read,
 * for the status step: the cache is rebuilt into documents only once in such a reconcile. */
int raycluster_ctrl_reconcile_pods(struct raycluster_controller *c, struct nsset *set,
                                   const struct raycluster *rc,
                                   struct raycluster_reconcile_result *res, char *msg,
                                   size_t msg_size, bool *more, json_t **pods,
                                   struct krc_error *err);

/* raycluster_status_write.c: computes the status from the caches (pods: the documents of the
 * pod step when it had them, borrowed; NULL reads the cache) and writes it when it differs;
 * *written tells which. */
int raycluster_ctrl_reconcile_status(struct raycluster_controller *c, struct nsset *set,
                                     const struct raycluster *rc,
                                     const struct raycluster_reconcile_result *res, json_t *pods,
                                     bool *written, struct krc_error *err);

/* raycluster_gcsft.c: returns 1 when the reconcile ends here (with *requeue and the result in
 * *r), 0 to go on. */
int raycluster_ctrl_reconcile_finalizer(struct raycluster_controller *c, struct nsset *set,
                                        const struct raycluster *rc, int64_t *requeue, int *r,
                                        struct krc_error *err);

#endif
