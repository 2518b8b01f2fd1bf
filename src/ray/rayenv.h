/* rayenv.h - the environment variables KubeRay injects into Ray pods (spec §7.8, §8.7, §8.8).
 *
 * Order is behaviour: Kubernetes keeps env lists in order and the last duplicate wins, so every
 * function appends exactly where KubeRay does, "if absent" only where KubeRay checks. The pod
 * builder calls these at the matching steps of its construction order:
 *   rayenv_set_autoscaler_version()  §7.1 step 6 (head, autoscaling on, version set)
 *   rayenv_set_gcs_ft_*()            §7.1 step 7 / §7.2 step 7
 *   rayenv_set_token_auth()          §8.7 (Ray, wait-gcs-ready and autoscaler containers)
 *   rayenv_set_init_container()      §7.4 step 6 (every init container)
 *   rayenv_set_ray_container()       §7.4 step 7: rows 10-23 of the §7.8 table
 * All take a container object and return 0 or KRC_ENOMEM. */
#ifndef KRC_RAY_RAYENV_H
#define KRC_RAY_RAYENV_H

#include "api/raycluster.h"
#include "ray/raystart.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct rayenv_opts {
    enum ray_node_type node_type;
    const char *fqdn;          /* head service FQDN, e.g. c-head-svc.ns.svc.cluster.local */
    const char *head_port;     /* raystart_head_port() */
    const char *ray_start_cmd; /* the bare `ray start ...` text (KUBERAY_GEN_RAY_START_CMD) */
    enum raycluster_creator creator;
    const char *kuberay_version;          /* operator version for RAY_USAGE_STATS_EXTRA_TAGS */
    const json_t *default_container_envs; /* operator config defaultContainerEnvs (array) or NULL */
    bool collector_present;               /* history-server collector injected [NICHE] */
};

/* RAY_IP: the FQDN up to its first dot (the head service name), copied into buf. */
const char *rayenv_ray_ip(const char *fqdn, char *buf, size_t size);

int rayenv_set_ray_container(json_t *container, const struct rayenv_opts *o);
/* FQ_RAY_IP and RAY_IP, appended unconditionally. */
int rayenv_set_init_container(json_t *container, const char *fqdn);
/* RAY_enable_autoscaler_v2=true|false for v2|v1; nothing when unset. */
int rayenv_set_autoscaler_version(json_t *container, enum raycluster_autoscaler_version v);
/* Head, Redis backend: RAY_external_storage_namespace (if absent) = storage_ns; with options:
 * RAY_REDIS_ADDRESS, REDIS_USERNAME, REDIS_PASSWORD; legacy annotation mode: REDIS_PASSWORD from
 * the redis-password start param when no REDIS_PASSWORD env exists. */
int rayenv_set_gcs_ft_redis_head(json_t *container, const struct raycluster *rc,
                                 const char *storage_ns, const json_t *head_params);
/* Head, embedded backend: RAY_gcs_storage=rocksdb, RAY_gcs_storage_path=/data/gcs (if absent). */
int rayenv_set_gcs_ft_embedded_head(json_t *container);
/* Worker, FT on: RAY_gcs_rpc_server_reconnect_timeout_s=600 (if absent). */
int rayenv_set_gcs_ft_worker(json_t *container);
/* RAY_AUTH_MODE=token, then RAY_ENABLE_K8S_TOKEN_AUTH + ray-token mount, or RAY_AUTH_TOKEN from
 * the Secret `secret_name` key auth_token (each if absent). */
int rayenv_set_token_auth(json_t *container, bool k8s_token_auth, const char *secret_name);

#endif
