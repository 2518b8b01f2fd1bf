/* rayjob_cluster.h - the objects a RayJob owns besides its submitter (spec rayjob.md §6): the
 * RayCluster of an attempt, the `<rayjob>-head-svc` Service that follows the current cluster's
 * head, and the dashboard address read from the cluster's head Service.
 *
 * Pure builders over jansson trees, as the RayCluster builders are: the result is a new object the
 * caller creates (or compares) and json_decref()s. */
#ifndef KRC_CONTROLLER_RAYJOB_CLUSTER_H
#define KRC_CONTROLLER_RAYJOB_CLUSTER_H

#include "api/raycluster.h"
#include "api/rayjob.h"
#include "controller/raycluster_opts.h"
#include "util/error.h"

#include <jansson.h>
#include <stddef.h>

#define RAYJOB_LABEL_SUBMISSION_MODE "ray.io/job-submission-mode"
#define RAYJOB_CRD_NAME              "RayJob"
#define RAYJOB_HEAD_SVC_SUFFIX       "-head-svc"
#define RAYJOB_DEFAULT_DOMAIN        "cluster.local"

/* The controller owner reference to the RayJob (controller and blockOwnerDeletion true). */
json_t *rayjob_owner_reference(const struct rayjob *job);
/* Appends it to obj.metadata.ownerReferences. 0 or KRC_ENOMEM. */
int rayjob_set_owner(json_t *obj, const struct rayjob *job);

/* §6.2: the RayCluster `name` for job. job_id and dashboard_url only matter in SidecarMode (the
 * submitter container goes into the head Pod; dashboard_url is usually still "", as in KubeRay).
 * KRC_EINVAL when the job has no rayClusterSpec or the sidecar script cannot be built (KubeRay's
 * message), KRC_ENOMEM. */
int rayjob_build_cluster(const struct rayjob *job, const char *name, const char *job_id,
                         const char *dashboard_url, bool login_shell, json_t **out,
                         struct krc_error *err);

/* §6.3: `<rayjob>-head-svc`, built like the head Service of `cluster` (the RayCluster in use,
 * parsed from the API object) with the RayJob's labels, name and owner. */
int rayjob_build_head_service(const struct rayjob *job, const struct raycluster *cluster,
                              const struct raycluster_opts *o, json_t **out, struct krc_error *err);

/* §6.4: "<head svc>.<ns>.svc.<domain>:<port of the port named dashboard>" from the cluster's head
 * Service object `svc`. domain NULL or "" = cluster.local. KRC_EINVAL "dashboard port is not
 * found" when the Service has no such port. */
int rayjob_dashboard_url(const struct raycluster *cluster, const json_t *svc, const char *domain,
                         char *out, size_t size, struct krc_error *err);

/* The name of the cluster's head Service (headService.metadata.name or <cluster>-head-svc). */
const char *rayjob_cluster_head_service_name(const struct raycluster *cluster, char *buf,
                                             size_t size);

#endif
