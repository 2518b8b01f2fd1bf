/* raycluster_ingress.h - the dashboard Ingress of a RayCluster (spec §8.4, Kubernetes Ingress;
 * the OpenShift Route variant is not built yet).
 *
 * Pure builder: the reconcile layer creates it when headGroupSpec.enableIngress is true, and when
 * one it owns already exists, replaces labels/annotations/spec if they differ (adopting the live
 * ingressClassName when ours is unset). */
#ifndef KRC_CONTROLLER_RAYCLUSTER_INGRESS_H
#define KRC_CONTROLLER_RAYCLUSTER_INGRESS_H

#include "api/raycluster.h"
#include "util/error.h"

#include <jansson.h>
#include <stdbool.h>

bool raycluster_wants_ingress(const struct raycluster *rc);
int raycluster_build_ingress(const struct raycluster *rc, json_t **out, struct krc_error *err);

#endif
