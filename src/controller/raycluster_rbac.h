/* raycluster_rbac.h - the autoscaler's ServiceAccount, Role and RoleBinding (spec §8.5).
 *
 * Built only when enableInTreeAutoscaling is true; created once if missing, never updated. The
 * reconcile layer looks objects up by the unclipped names (raycluster_autoscaler_*_lookup_name)
 * and creates them under the clipped names these builders use - KubeRay's behaviour, which keeps
 * clusters with names longer than 50 characters working. */
#ifndef KRC_CONTROLLER_RAYCLUSTER_RBAC_H
#define KRC_CONTROLLER_RAYCLUSTER_RBAC_H

#include "api/raycluster.h"
#include "util/error.h"

#include <jansson.h>
#include <stdbool.h>

int raycluster_build_autoscaler_sa(const struct raycluster *rc, json_t **out,
                                   struct krc_error *err);
int raycluster_build_autoscaler_role(const struct raycluster *rc, json_t **out,
                                     struct krc_error *err);
int raycluster_build_autoscaler_rolebinding(const struct raycluster *rc, json_t **out,
                                            struct krc_error *err);
/* True when the head template names its ServiceAccount explicitly: a missing one is then the
 * user's to create (Warning AutoscalerServiceAccountNotFound), not ours. */
bool raycluster_autoscaler_sa_is_user_provided(const struct raycluster *rc);

#endif
