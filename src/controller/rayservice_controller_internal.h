/* rayservice_controller_internal.h - what the files of the RayService controller share: the
 * controller object, the state of one pass (struct rayservice_pass) and the helpers each part of a
 * pass uses. Not for other modules (rayservice_controller.h is the interface).
 *
 * Files: rayservice_controller.c (lifecycle, pass skeleton, RayClusters, Services, helpers),
 * rayservice_serve.c (head serve label, Serve applications), rayservice_suspend.c (§12),
 * rayservice_state.c (pure: new-cluster decision, status), rayservice_memory.c (Serve config and
 * deletion-time tables), rayservice_cluster.c (pure builders). */
#ifndef KRC_CONTROLLER_RAYSERVICE_CONTROLLER_INTERNAL_H
#define KRC_CONTROLLER_RAYSERVICE_CONTROLLER_INTERNAL_H

#include "api/rayservice.h"
#include "controller/controller_runtime.h"
#include "controller/rayservice_controller.h"
#include "controller/rayservice_memory.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/workqueue.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define RAYSERVICE_NS_PER_S         INT64_C(1000000000)
#define RAYSERVICE_REQUEUE_NS       (2 * RAYSERVICE_NS_PER_S) /* §5.2 periodic requeue */
#define RAYSERVICE_SELECTOR_MAX     600
#define RAYSERVICE_DEFAULT_DOMAIN   "cluster.local"
#define RAYSERVICE_DEFAULT_SERVE_PT 8000

extern const struct krc_resource rayservice_res_rayservice, rayservice_res_raycluster,
    rayservice_res_service, rayservice_res_pod, rayservice_res_slice, rayservice_res_secret;

struct rayservice_controller {
    struct rayservice_controller_opts o;
    /* Per namespace entry: RayServices, their RayClusters (the RayCluster controller's when
     * shared), their Services (ray.io/originated-from-crd=RayService) and the RayClusters'
     * Services (ray.io/cluster, read for the dashboard port; the RayCluster controller's when
     * shared). */
    struct krc_informer **services, **clusters, **svcs, **cluster_svcs;
    struct krc_workqueue *queue;
    struct controller_runtime rt;
    const char *zero_downtime_env; /* ENABLE_ZERO_DOWNTIME at start, NULL when unset */
    struct rayservice_memory mem;
};

/* One pass over one RayService. */
struct rayservice_pass {
    struct rayservice_controller *c;
    struct rayservice *rs;
    size_t nsi; /* the namespace entry of the RayService: which informers to read */
    char key[KRC_WORKQUEUE_KEY_MAX];
    char rv[128];             /* resourceVersion for the status write */
    char now[32];             /* RFC 3339, whole seconds */
    int64_t now_s;            /* the same in unix seconds */
    json_t *list;             /* the RayCluster list of §4, from the cache: {"items": [...]} */
    json_t *active, *pending; /* items of list (or the created object), NULL when absent */
    json_t *created;          /* the pending cluster created in this pass */
    json_t *active_apps, *pending_apps; /* applicationStatuses of §7, NULL when not reconciled */
    bool active_ready, pending_ready;
    const char *target;  /* cluster the Services were pointed at in this pass, or NULL */
    json_t *status_hold; /* a status written earlier in the pass, which rs->status then points at */
};

/* rayservice_controller.c */
void rayservice_pass_event(struct rayservice_pass *x, enum krc_event_type type, const char *reason,
                           const char *action, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
const char *rayservice_pass_ns(const struct rayservice_pass *x);
/* metadata.name of an object, "" when absent. */
const char *rayservice_pass_name(const json_t *o);
/* GET / LIST (label selector) / PUT (or PUT status) in the RayService's namespace. */
int rayservice_pass_get(struct rayservice_pass *x, const struct krc_resource *res, const char *name,
                        json_t **out, struct krc_error *err);
int rayservice_pass_list(struct rayservice_pass *x, const struct krc_resource *res,
                         const char *selector, json_t **out, struct krc_error *err);
int rayservice_pass_put(struct rayservice_pass *x, const struct krc_resource *res, const char *name,
                        json_t *obj, bool status, struct krc_strbuf *out, struct krc_error *err);
/* Writes status (lastUpdateTime set to now) on the RayService read by this pass. */
int rayservice_pass_write_status(struct rayservice_pass *x, json_t *status, struct krc_error *err);
/* Background delete with the DeletedRayCluster / FailedToDeleteRayCluster events; suffix is
 * appended to their text ("" or " during suspend"). */
int rayservice_pass_delete_cluster(struct rayservice_pass *x, const char *name, const char *suffix,
                                   struct krc_error *err);

/* rayservice_serve.c */
int rayservice_pass_head_label(struct rayservice_pass *x, const json_t *cluster,
                               struct krc_error *err);
/* §7.2-§7.5 for one cluster: *apps (new object or NULL when the head is not ready) and *ready. */
int rayservice_pass_serve(struct rayservice_pass *x, const json_t *cluster, json_t **apps,
                          bool *ready, struct krc_error *err);

/* rayservice_suspend.c */
/* §12: 1 when the pass ends here (*requeue set), 0 to continue, < 0 on error. */
int rayservice_pass_suspend(struct rayservice_pass *x, int64_t *requeue, struct krc_error *err);

#endif
