/* rayjob_cluster.c - the RayCluster, head Service and dashboard address of a RayJob (see
 * rayjob_cluster.h), spec §6.2-§6.4. */
#include "controller/rayjob_cluster.h"

#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "controller/raycluster_service.h"
#include "controller/rayjob_submitter.h"

#include <stdio.h>
#include <string.h>

json_t *rayjob_owner_reference(const struct rayjob *job)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", "ray.io/v1", "kind",
                     RAYJOB_CRD_NAME, "name", job->meta.name, "uid", job->meta.uid, "controller", 1,
                     "blockOwnerDeletion", 1);
}

int rayjob_set_owner(json_t *obj, const struct rayjob *job)
{
    json_t *meta = kobj_ensure_obj(obj, "metadata");
    json_t *refs = meta ? kobj_ensure_arr(meta, "ownerReferences") : NULL;
    if (!refs)
        return KRC_ENOMEM;
    return kobj_append_new(refs, rayjob_owner_reference(job));
}

static int oom(struct krc_error *err, const struct rayjob *job, const char *what)
{
    return krc_error_set(err, KRC_ENOMEM, "build the %s of RayJob %s/%s: out of memory", what,
                         job->meta.ns, job->meta.name);
}

/* Sidecar mode (§6.2, §8.3.1): the submitter container and restartPolicy Never on the head. */
static int add_sidecar(const struct rayjob *job, json_t *spec, const char *name, const char *job_id,
                       const char *dashboard_url, bool login_shell, struct krc_error *err)
{
    json_t *pod = kobj_path(spec, "headGroupSpec.template.spec"), *c = NULL;
    json_t *containers = pod ? kobj_ensure_arr(pod, "containers") : NULL;
    if (!containers)
        return krc_error_set(err, KRC_EINVAL, "RayJob %s/%s: the head template has no spec",
                             job->meta.ns, job->meta.name);
    struct rayjob_submitter_input in = {job,    &job->cluster, name,
                                        job_id, dashboard_url, login_shell};
    int r = rayjob_build_sidecar_container(&in, &c, err);
    if (r)
        return r;
    if (kobj_append_new(containers, c) || kobj_set_str(pod, "restartPolicy", "Never"))
        return oom(err, job, "RayCluster");
    return 0;
}

int rayjob_build_cluster(const struct rayjob *job, const char *name, const char *job_id,
                         const char *dashboard_url, bool login_shell, json_t **out,
                         struct krc_error *err)
{
    const struct rayjob_spec *sp = &job->spec;
    json_t *rc = NULL, *labels = NULL, *annotations = NULL, *spec = NULL;
    int r;
    *out = NULL;
    if (!sp->cluster_spec)
        return krc_error_set(err, KRC_EINVAL, "RayJob %s/%s has no rayClusterSpec", job->meta.ns,
                             job->meta.name);
    labels = job->meta.labels ? json_deep_copy(job->meta.labels) : json_object();
    annotations = job->meta.annotations ? json_deep_copy(job->meta.annotations) : json_object();
    spec = json_deep_copy(sp->cluster_spec);
    const char *mode = sp->submission_mode_raw ? sp->submission_mode_raw
                                               : rayjob_submission_mode_str(sp->submission_mode);
    if (!labels || !annotations || !spec ||
        kobj_set_str(labels, RAY_LABEL_ORIGINATED_FROM_CR_NAME, job->meta.name) ||
        kobj_set_str(labels, RAY_LABEL_ORIGINATED_FROM_CRD, RAYJOB_CRD_NAME) ||
        kobj_set_str(labels, RAYJOB_LABEL_SUBMISSION_MODE, mode))
        goto nomem;
    if (sp->submission_mode == RAYJOB_MODE_SIDECAR) {
        if (kobj_set_str(annotations, RAY_ANNOTATION_DISABLE_HEAD_RESTART, "true"))
            goto nomem;
        if ((r = add_sidecar(job, spec, name, job_id, dashboard_url, login_shell, err)))
            goto fail;
    }
    rc = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:o}, s:o}", "apiVersion", "ray.io/v1", "kind",
                   "RayCluster", "metadata", "name", name, "namespace", job->meta.ns, "labels",
                   labels, "annotations", annotations, "spec", spec);
    labels = annotations = spec = NULL; /* consumed by json_pack, even on failure */
    if (!rc || rayjob_set_owner(rc, job))
        goto nomem;
    *out = rc;
    return 0;
nomem:
    r = oom(err, job, "RayCluster");
fail:
    json_decref(rc);
    json_decref(labels);
    json_decref(annotations);
    json_decref(spec);
    return r;
}

int rayjob_build_head_service(const struct rayjob *job, const struct raycluster *cluster,
                              const struct raycluster_opts *o, json_t **out, struct krc_error *err)
{
    json_t *svc = NULL, *meta, *labels;
    char name[RAYNAME_MAX], ident[RAYNAME_MAX];
    int r;
    *out = NULL;
    if ((r = raycluster_build_head_service(cluster, o, &svc, err)))
        return r;
    snprintf(name, sizeof(name), "%.200s" RAYJOB_HEAD_SVC_SUFFIX, job->meta.name);
    snprintf(ident, sizeof(ident), "%.200s-head", job->meta.name);
    labels = json_pack("{s:s, s:s, s:s, s:s}", RAY_LABEL_ORIGINATED_FROM_CR_NAME, job->meta.name,
                       RAY_LABEL_ORIGINATED_FROM_CRD, RAYJOB_CRD_NAME, RAY_LABEL_NODE_TYPE, "head",
                       RAY_LABEL_IDENTIFIER, ident);
    if (!(meta = kobj_ensure_obj(svc, "metadata")) || !labels ||
        kobj_set_new(meta, "labels", labels) || kobj_set_str(meta, "name", name) ||
        (json_object_del(meta, "ownerReferences"), rayjob_set_owner(svc, job))) {
        json_decref(svc);
        return oom(err, job, "head Service");
    }
    *out = svc;
    return 0;
}

const char *rayjob_cluster_head_service_name(const struct raycluster *cluster, char *buf,
                                             size_t size)
{
    char name[RAYNAME_MAX];
    snprintf(buf, size, "%s", rayname_head_service(cluster, name));
    return buf;
}

int rayjob_dashboard_url(const struct raycluster *cluster, const json_t *svc, const char *domain,
                         char *out, size_t size, struct krc_error *err)
{
    char name[RAYNAME_MAX];
    json_t *ports = kobj_path(svc, "spec.ports"), *p;
    size_t i;
    json_array_foreach(ports, i, p)
    {
        const char *pn = kobj_str(p, "name");
        json_t *port = json_object_get(p, "port");
        if (pn && strcmp(pn, "dashboard") == 0 && json_is_integer(port)) {
            snprintf(out, size, "%s.%s.svc.%s:%lld", rayname_head_service(cluster, name),
                     cluster->meta.ns, domain && *domain ? domain : RAYJOB_DEFAULT_DOMAIN,
                     (long long)json_integer_value(port));
            return 0;
        }
    }
    return krc_error_set(err, KRC_EINVAL, "dashboard port is not found");
}
