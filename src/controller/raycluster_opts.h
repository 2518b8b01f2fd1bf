/* raycluster_opts.h - operator settings that change what the RayCluster controller builds.
 *
 * KubeRay reads these from its process environment and config file at each use. Here they are one
 * explicit struct passed to every pure builder, so builders never call getenv() and tests can set
 * any combination. The operator fills it once at start-up (spec §13.2, §13.3). */
#ifndef KRC_CONTROLLER_RAYCLUSTER_OPTS_H
#define KRC_CONTROLLER_RAYCLUSTER_OPTS_H

#include "api/raycluster.h"

#include <jansson.h>
#include <stdbool.h>

struct raycluster_opts {
    struct raycluster_gates gates;
    const char *kuberay_version;          /* ray.io/kuberay-version, RAY_USAGE_STATS_EXTRA_TAGS */
    const char *cluster_domain;           /* CLUSTER_DOMAIN; NULL/"" = cluster.local */
    bool init_container_injection;        /* ENABLE_INIT_CONTAINER_INJECTION != false */
    bool probes_injection;                /* ENABLE_PROBES_INJECTION != false */
    bool login_shell;                     /* ENABLE_LOGIN_SHELL == true: bash -cl */
    bool deterministic_head_pod_name;     /* ENABLE_DETERMINISTIC_HEAD_POD_NAME == true */
    bool head_cluster_ip_service;         /* ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE == true */
    bool random_pod_delete;               /* ENABLE_RANDOM_POD_DELETE == true */
    const json_t *default_container_envs; /* config defaultContainerEnvs: array of EnvVar */
    const json_t *head_sidecar_containers, *worker_sidecar_containers; /* arrays of Container */
    const json_t *default_pod_annotations, *default_pod_labels;        /* string maps */
};

/* KubeRay's defaults: gates as in raycluster_gates_default(), injections on, everything else
 * off/empty, version "kuberay-c". */
void raycluster_opts_default(struct raycluster_opts *o);

#endif
