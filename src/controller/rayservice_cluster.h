/* rayservice_cluster.h - the pure builders of the RayService controller (spec rayservice.md §4,
 * §6.1, §6.2, §9, §9.4): the RayClusters it creates, the cluster-spec hash that decides between
 * "nothing", "update in place" and "new cluster", the head and serve Services, and the endpoint
 * count. No I/O: (RayService, observed objects) -> JSON objects and values, so unit tests cover
 * them with tables.
 *
 * The hash follows raycluster_hash.h's choice: SHA-1 over the spec serialized with sorted keys
 * (not Go's field order), base32 "extended hex"; stable, not bit-equal to KubeRay's, which the
 * spec allows because a cluster stamped by another operator version is re-stamped (§6.4). */
#ifndef KRC_CONTROLLER_RAYSERVICE_CLUSTER_H
#define KRC_CONTROLLER_RAYSERVICE_CLUSTER_H

#include "api/raycluster.h"
#include "api/rayservice.h"
#include "controller/raycluster_opts.h"
#include "util/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RAYSERVICE_HASH_LEN          32
#define RAYSERVICE_HEAD_SVC_SUFFIX   "-head-svc"
#define RAYSERVICE_SERVE_SVC_SUFFIX  "-serve-svc"
#define RAYSERVICE_NAME_MAX          320
#define RAYSERVICE_ALL_WORKER_GROUPS (-1)

/* §6.2: the hash of cluster_config without the muted fields, over its first ngroups worker
 * groups (RAYSERVICE_ALL_WORKER_GROUPS: all). out holds RAYSERVICE_HASH_LEN + 1 bytes. 0 or
 * KRC_ENOMEM. */
int rayservice_cluster_hash(const json_t *cluster_config, long ngroups,
                            char out[RAYSERVICE_HASH_LEN + 1]);

/* §6.2 comparisons of the goal spec with a RayCluster's annotations. */
struct rayservice_hash_cmp {
    bool full;   /* the hash annotation equals the goal's hash */
    bool prefix; /* only worker groups were appended (or the group count is unknown) */
};
int rayservice_compare_cluster(const struct rayservice *rs, const json_t *cluster_annotations,
                               struct rayservice_hash_cmp *out);

/* The controller owner reference to the RayService, and appending it to obj. */
json_t *rayservice_owner_reference(const struct rayservice *rs);
int rayservice_set_owner(json_t *obj, const struct rayservice *rs);

/* §5.2, the watches of owned objects (KubeRay's Owns(&RayCluster{}) and Owns(&Service{})): the
 * RayService an owned RayCluster or Service belongs to. The name of its controller owner
 * reference when that is a RayService; else its ray.io/originated-from-cr-name label when
 * ray.io/originated-from-crd is RayService (an object whose owner reference was removed still
 * reaches its RayService); else NULL. Any argument may be NULL; the result is one of them. */
const char *rayservice_owner_name(const char *owner_kind, const char *owner_name,
                                  const char *crd_label, const char *cr_name_label);
/* Whether an object with these two label values is one of RayService `name`'s: §4's selector
 * ray.io/originated-from-cr-name=<name>,ray.io/originated-from-crd=RayService, applied to the
 * cache. */
bool rayservice_labels_match(const char *crd_label, const char *cr_name_label, const char *name);

/* §6.1: the RayCluster `name` (labels, annotations incl. hash, group count and version, owner,
 * spec = copy of rayClusterConfig). */
int rayservice_build_cluster(const struct rayservice *rs, const char *name, const char *version,
                             json_t **out, struct krc_error *err);

/* §9.1: `<rs>-head-svc` pointing at `cluster` (parsed from the RayCluster object). */
int rayservice_build_head_service(const struct rayservice *rs, const struct raycluster *cluster,
                                  const struct raycluster_opts *o, json_t **out,
                                  struct krc_error *err);
/* §9.3: the serve Service (name from serveService or `<rs>-serve-svc`) pointing at `cluster`.
 * KRC_EINVAL with KubeRay's message when no serve port exists and no template is given. */
int rayservice_build_serve_service(const struct rayservice *rs, const struct raycluster *cluster,
                                   json_t **out, struct krc_error *err);
/* The serve Service's name into buf (size RAYSERVICE_NAME_MAX). */
const char *rayservice_serve_service_name(const struct rayservice *rs, char *buf);

/* §9.4: distinct targetRef.uid of endpoints whose conditions.ready is true, over the items of an
 * EndpointSliceList. */
long rayservice_count_endpoints(const json_t *slice_list);

#endif
