/* raycluster_names.h - KubeRay's naming rules for the objects a RayCluster owns (spec §3.4).
 *
 * Names are part of the compatibility contract: RayJob, RayService, the autoscaler, `kubectl ray`
 * and users' scripts find pods and services by them. Every helper writes into a caller buffer of
 * RAYNAME_MAX bytes (enough for any Kubernetes name plus suffixes) and returns it. */
#ifndef KRC_CONTROLLER_RAYCLUSTER_NAMES_H
#define KRC_CONTROLLER_RAYCLUSTER_NAMES_H

#include "api/raycluster.h"
#include "ray/raystart.h"

#include <stdbool.h>
#include <stddef.h>

#define RAYNAME_MAX 512

/* Keeps the last 50 bytes; a leading digit, then a leading punctuation character, becomes 'r'. */
char *rayname_check_name(const char *s, char *out);
/* Keeps the last 63 bytes; a leading punctuation character becomes 'r'. */
char *rayname_check_label(const char *s, char *out);
/* lower(prefix[:50] + "-" + type) plus "-" when generate is true. */
char *rayname_pod_name(const char *prefix, enum ray_node_type t, bool generate, char *out);
/* CheckLabel("<cluster>-<type>"), the value of ray.io/identifier. */
char *rayname_identifier(const char *cluster, enum ray_node_type t, char *out);
/* headGroupSpec.headService.metadata.name, else "<cluster>-head-svc". */
char *rayname_head_service(const struct raycluster *rc, char *out);
/* "<head service>.<ns>.svc.<domain>"; domain NULL or "" means cluster.local. */
char *rayname_head_fqdn(const struct raycluster *rc, const char *domain, char *out);
/* Head template serviceAccountName, else the cluster name (unclipped; clip with check_name). */
const char *rayname_autoscaler_sa(const struct raycluster *rc);

#endif
