/* raycluster_rbac.c - autoscaler RBAC objects (see raycluster_rbac.h). */
#include "controller/raycluster_rbac.h"

#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "controller/raycluster_pod.h"

static json_t *object_meta(const struct raycluster *rc, const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "name", name, "namespace", rc->meta.ns,
                     "labels", RAY_LABEL_CLUSTER, rc->meta.name, K8S_LABEL_APP_NAME, RAY_APP_NAME,
                     K8S_LABEL_CREATED_BY, RAY_COMPONENT_NAME);
}

static int finish(const struct raycluster *rc, json_t *obj, json_t **out, struct krc_error *err,
                  const char *what)
{
    *out = NULL;
    if (!obj || raycluster_set_owner(obj, rc)) {
        json_decref(obj);
        return krc_error_set(err, KRC_ENOMEM, "build %s for RayCluster %s/%s: out of memory", what,
                             rc->meta.ns, rc->meta.name);
    }
    *out = obj;
    return 0;
}

int raycluster_build_autoscaler_sa(const struct raycluster *rc, json_t **out, struct krc_error *err)
{
    char name[RAYNAME_MAX];
    json_t *sa =
        json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata",
                  object_meta(rc, rayname_check_name(rayname_autoscaler_sa(rc), name)));
    return finish(rc, sa, out, err, "autoscaler service account");
}

int raycluster_build_autoscaler_role(const struct raycluster *rc, json_t **out,
                                     struct krc_error *err)
{
    char name[RAYNAME_MAX];
    json_t *role =
        json_pack("{s:s, s:s, s:o, s:[{s:[s], s:[s], s:[s, s, s, s]}, {s:[s], s:[s], s:[s]}, "
                  "{s:[s], s:[s], s:[s, s]}]}",
                  "apiVersion", "rbac.authorization.k8s.io/v1", "kind", "Role", "metadata",
                  object_meta(rc, rayname_check_name(rc->meta.name, name)), "rules", "apiGroups",
                  "", "resources", "pods", "verbs", "get", "list", "watch", "patch", "apiGroups",
                  "", "resources", "pods/resize", "verbs", "patch", "apiGroups", "ray.io",
                  "resources", "rayclusters", "verbs", "get", "patch");
    return finish(rc, role, out, err, "autoscaler role");
}

int raycluster_build_autoscaler_rolebinding(const struct raycluster *rc, json_t **out,
                                            struct krc_error *err)
{
    char name[RAYNAME_MAX], sa[RAYNAME_MAX];
    rayname_check_name(rc->meta.name, name);
    rayname_check_name(rayname_autoscaler_sa(rc), sa);
    json_t *rb = json_pack("{s:s, s:s, s:o, s:[{s:s, s:s, s:s}], s:{s:s, s:s, s:s}}", "apiVersion",
                           "rbac.authorization.k8s.io/v1", "kind", "RoleBinding", "metadata",
                           object_meta(rc, name), "subjects", "kind", "ServiceAccount", "name", sa,
                           "namespace", rc->meta.ns, "roleRef", "apiGroup",
                           "rbac.authorization.k8s.io", "kind", "Role", "name", name);
    return finish(rc, rb, out, err, "autoscaler role binding");
}

bool raycluster_autoscaler_sa_is_user_provided(const struct raycluster *rc)
{
    const char *sa = kobj_path_str(rc->spec.head.template, "spec.serviceAccountName");
    return sa && *sa;
}
