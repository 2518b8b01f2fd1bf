/* raycluster_service.h - the Services a RayCluster owns (spec §8.1-§8.3), built as JSON.
 *
 * Pure builders: (cluster, options) -> Service object with a controller reference, which the
 * reconcile layer creates when missing (KubeRay never updates these). The head Service is headless
 * by default and named <cluster>-head-svc unless headGroupSpec.headService names it. */
#ifndef KRC_CONTROLLER_RAYCLUSTER_SERVICE_H
#define KRC_CONTROLLER_RAYCLUSTER_SERVICE_H

#include "api/raycluster.h"
#include "controller/raycluster_opts.h"
#include "util/error.h"

#include <jansson.h>

/* The labels that find the head Service (and, as a selector, its pods): ray.io/cluster,
 * ray.io/node-type=head, ray.io/identifier=<cluster>-head. A new object. */
json_t *raycluster_head_service_selector(const struct raycluster *rc);

/* §8.1. */
int raycluster_build_head_service(const struct raycluster *rc, const struct raycluster_opts *o,
                                  json_t **out, struct krc_error *err);
/* §8.2: <cluster>-headless for multi-host worker groups. */
int raycluster_build_headless_worker_service(const struct raycluster *rc, json_t **out,
                                             struct krc_error *err);
/* §8.3: <cluster>-serve-svc (annotation ray.io/enable-serve-service=true). KRC_EINVAL with
 * KubeRay's message when the head container has no serve port. */
int raycluster_build_serve_service(const struct raycluster *rc, json_t **out,
                                   struct krc_error *err);
/* The head port set of §8.1 as {name: port}: the head template's Ray container ports (unnamed ->
 * "<port>-port"), or the five defaults, plus metrics. A new object; NULL on ENOMEM. */
json_t *raycluster_service_ports(const struct raycluster *rc);
/* True when any worker group has numOfHosts > 1 (the headless worker Service is wanted). */
bool raycluster_wants_headless_worker_service(const struct raycluster *rc);

#endif
