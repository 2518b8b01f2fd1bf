/* raycluster_auth.c - token-auth Secret (see raycluster_auth.h). */
#include "controller/raycluster_auth.h"

#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "controller/raycluster_pod.h"

#include <string.h>

bool raycluster_wants_auth_secret(const struct raycluster *rc)
{
    const struct raycluster_auth_options *a = &rc->spec.auth;
    if (!a->set || (a->mode && strcmp(a->mode, "disabled") == 0) || raycluster_k8s_auth_enabled(rc))
        return false;
    return !(a->secret_name && *a->secret_name);
}

int raycluster_build_auth_secret(const struct raycluster *rc, const char *token, json_t **out,
                                 struct krc_error *err)
{
    char name[RAYNAME_MAX];
    json_t *s = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind",
                          "Secret", "metadata", "name", rayname_check_name(rc->meta.name, name),
                          "namespace", rc->meta.ns, "labels", RAY_LABEL_CLUSTER, rc->meta.name,
                          "stringData", "auth_token", token ? token : "");
    *out = NULL;
    if (!s || raycluster_set_owner(s, rc)) {
        json_decref(s);
        return krc_error_set(err, KRC_ENOMEM,
                             "build auth secret for RayCluster %s/%s: out of "
                             "memory",
                             rc->meta.ns, rc->meta.name);
    }
    *out = s;
    return 0;
}
