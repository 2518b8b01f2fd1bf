/* raycluster_auth.h - the Ray token-auth Secret of a RayCluster (spec §8.7).
 *
 * Wanted when authOptions is set, mode is not "disabled", enableK8sTokenAuth is not true and no
 * secretName is given - note this includes `authOptions: {}`, which creates a Secret without
 * enabling auth (a KubeRay quirk we keep). The token is an input so the builder stays pure: the
 * reconcile layer passes standard base64 of 32 bytes from a CSPRNG. */
#ifndef KRC_CONTROLLER_RAYCLUSTER_AUTH_H
#define KRC_CONTROLLER_RAYCLUSTER_AUTH_H

#include "api/raycluster.h"
#include "util/error.h"

#include <jansson.h>
#include <stdbool.h>

bool raycluster_wants_auth_secret(const struct raycluster *rc);
/* Secret CheckName(<cluster>) with stringData.auth_token = token. */
int raycluster_build_auth_secret(const struct raycluster *rc, const char *token, json_t **out,
                                 struct krc_error *err);

#endif
