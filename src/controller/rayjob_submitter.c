/* rayjob_submitter.c - the submitter Job and container of a RayJob (see rayjob_submitter.h),
 * following spec §8.1.1-§8.1.2 and §8.3.1 step by step. */
#include "controller/rayjob_submitter.h"

#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "controller/rayjob_cluster.h"
#include "ray/jobsubmit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_TOKEN_KEY "auth_token"

static int oom(struct krc_error *err, const struct rayjob *job)
{
    return krc_error_set(err, KRC_ENOMEM, "build the submitter of RayJob %s/%s: out of memory",
                         job->meta.ns, job->meta.name);
}

static const char *head_image(const struct raycluster *cluster)
{
    json_t *c0 = cluster ? kobj_container(kobj_obj(cluster->spec.head.template, "spec"), 0) : NULL;
    const char *img = kobj_str(c0, "image");
    return img ? img : "";
}

static int build_script(const struct rayjob_submitter_input *in, enum ray_submit_mode mode,
                        char **script, struct krc_error *err)
{
    const struct rayjob_spec *sp = &in->job->spec;
    long long port = 0;
    if (mode == RAY_SUBMIT_SIDECAR) {
        json_t *c0 = kobj_container(
            kobj_obj(kobj_path(sp->cluster_spec, "headGroupSpec.template"), "spec"), 0);
        if (c0 && kobj_container_port(c0, "dashboard", &port) < 0)
            port = 0;
    }
    struct ray_submit_input si = {
        .mode = mode,
        .dashboard_url = in->dashboard_url,
        .dashboard_port = (int)port,
        .job_id = in->job_id,
        .entrypoint = sp->entrypoint,
        .runtime_env_yaml = sp->runtime_env_yaml,
        .metadata = sp->metadata,
        .has_ray_cluster_spec = sp->has_cluster_spec,
        .ray_version = sp->has_cluster_spec ? in->job->cluster.spec.ray_version : NULL,
        .entrypoint_num_cpus = (float)sp->entrypoint_num_cpus,
        .entrypoint_num_gpus = (float)sp->entrypoint_num_gpus,
        .entrypoint_resources = sp->entrypoint_resources,
    };
    return ray_jobsubmit_build_script(&si, script, err);
}

/* Steps 3 and 4 of §8.1.2 (and the env of §8.3.1). */
static int add_env(const struct rayjob_submitter_input *in, json_t *container)
{
    if (kobj_env_append_new(container, kobj_env_value(RAY_ENV_PYTHONUNBUFFERED, "1")) ||
        kobj_env_append_new(container,
                            kobj_env_value(RAY_ENV_DASHBOARD_ADDRESS,
                                           in->dashboard_url ? in->dashboard_url : "")) ||
        kobj_env_append_new(
            container, kobj_env_value(RAY_ENV_JOB_SUBMISSION_ID, in->job_id ? in->job_id : "")))
        return KRC_ENOMEM;
    if (!in->cluster || !in->cluster->spec.auth.mode ||
        strcmp(in->cluster->spec.auth.mode, "token") != 0)
        return 0;
    if (kobj_env_append_if_absent(container, "RAY_AUTH_MODE", "token"))
        return KRC_ENOMEM;
    if (kobj_env_exists(container, "RAY_AUTH_TOKEN"))
        return 0;
    char secret[RAYNAME_MAX];
    const char *sn = in->cluster->spec.auth.secret_name;
    if (!sn || !*sn)
        sn = rayname_check_name(in->cluster_name ? in->cluster_name : "", secret);
    json_t *env = json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", "RAY_AUTH_TOKEN", "valueFrom",
                            "secretKeyRef", "name", sn, "key", AUTH_TOKEN_KEY);
    return kobj_env_append_new(container, env);
}

static int set_command(const struct rayjob_submitter_input *in, json_t *container,
                       const char *script, bool always)
{
    json_t *cmd = kobj_arr(container, "command");
    if (!always && cmd && json_array_size(cmd) > 0)
        return 0;
    const char *argv[] = {RAY_SUBMITTER_SHELL, ray_jobsubmit_shell_flag(in->login_shell),
                          RAY_SUBMITTER_FLAG_END, NULL};
    const char *args[] = {script, NULL};
    if (kobj_set_new(container, "command", kobj_strv(argv)) ||
        kobj_set_new(container, "args", kobj_strv(args)))
        return KRC_ENOMEM;
    return 0;
}

static json_t *default_container(const struct rayjob_submitter_input *in)
{
    return json_pack("{s:s, s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}}", "name",
                     RAY_SUBMITTER_CONTAINER_NAME, "image", head_image(in->cluster), "resources",
                     "limits", "cpu", RAY_SUBMITTER_LIMIT_CPU, "memory", RAY_SUBMITTER_LIMIT_MEMORY,
                     "requests", "cpu", RAY_SUBMITTER_REQUEST_CPU, "memory",
                     RAY_SUBMITTER_REQUEST_MEMORY);
}

static json_t *labels(const struct rayjob *job)
{
    return json_pack("{s:s, s:s, s:s}", RAY_LABEL_ORIGINATED_FROM_CR_NAME, job->meta.name,
                     RAY_LABEL_ORIGINATED_FROM_CRD, RAYJOB_CRD_NAME, K8S_LABEL_CREATED_BY,
                     RAY_COMPONENT_NAME);
}

static int build_template(const struct rayjob_submitter_input *in, const char *script, json_t **out)
{
    const struct rayjob *job = in->job;
    json_t *tpl = NULL, *c0;
    if (job->spec.submitter_pod_template) {
        if (!(tpl = json_deep_copy(job->spec.submitter_pod_template)))
            return KRC_ENOMEM;
    } else {
        tpl = json_pack("{s:{s:s, s:[o]}}", "spec", "restartPolicy", "Never", "containers",
                        default_container(in));
        if (!tpl)
            return KRC_ENOMEM;
    }
    json_t *spec = kobj_ensure_obj(tpl, "spec");
    json_t *containers = spec ? kobj_ensure_arr(spec, "containers") : NULL;
    if (!containers)
        goto nomem;
    if (!(c0 = json_array_get(containers, 0))) {
        if (kobj_append_new(containers, json_object()))
            goto nomem;
        c0 = json_array_get(containers, 0);
    }
    if (set_command(in, c0, script, false) || add_env(in, c0))
        goto nomem;
    json_t *meta = kobj_ensure_obj(tpl, "metadata");
    json_t *l = meta ? kobj_ensure_obj(meta, "labels") : NULL, *want = labels(job);
    if (!l || !want || json_object_update(l, want)) {
        json_decref(want);
        goto nomem;
    }
    json_decref(want);
    *out = tpl;
    return 0;
nomem:
    json_decref(tpl);
    return KRC_ENOMEM;
}

int rayjob_build_submitter_job(const struct rayjob_submitter_input *in, json_t **out,
                               struct krc_error *err)
{
    const struct rayjob *job = in->job;
    char *script = NULL;
    json_t *tpl = NULL, *obj = NULL;
    int r;
    *out = NULL;
    if ((r = build_script(in, RAY_SUBMIT_K8S_JOB, &script, err)))
        return r;
    if ((r = build_template(in, script, &tpl))) {
        free(script);
        return oom(err, job);
    }
    free(script);
    obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:{s:i, s:o}}", "apiVersion", "batch/v1", "kind",
                    "Job", "metadata", "name", job->meta.name, "namespace", job->meta.ns, "labels",
                    labels(job), "spec", "backoffLimit",
                    (int)rayjob_submitter_backoff_limit(&job->spec), "template", tpl);
    if (!obj || rayjob_set_owner(obj, job)) {
        json_decref(obj);
        return oom(err, job);
    }
    *out = obj;
    return 0;
}

int rayjob_build_sidecar_container(const struct rayjob_submitter_input *in, json_t **out,
                                   struct krc_error *err)
{
    char *script = NULL;
    int r;
    *out = NULL;
    if ((r = build_script(in, RAY_SUBMIT_SIDECAR, &script, err)))
        return r;
    json_t *c = default_container(in);
    r = !c || set_command(in, c, script, true) || add_env(in, c);
    free(script);
    if (r) {
        json_decref(c);
        return oom(err, in->job);
    }
    *out = c;
    return 0;
}
