/* rayjob_parse.c - JSON -> struct rayjob (see rayjob.h for the borrowing design), the enum
 * spellings, and the small derived predicates.
 *
 * Fields are read through the typed getters of json_field.h, which know their path, so an error
 * says exactly what was wrong and where ("RayJob default/x: spec.backoffLimit: expected an int32,
 * got a string"). JSON null is treated as absent, as Kubernetes' decoder does for optional fields.
 * spec.rayClusterSpec is handed to raycluster_parse() inside a synthetic RayCluster document so
 * both kinds share one parser; its error paths are rewritten from "spec." to
 * "spec.rayClusterSpec.". */
#include "api/rayjob.h"

#include "api/json_field.h"
#include "api/kobj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- enums ---------------------------------------------------------------------------------- */

static const char *const JOB_STATUS[] = {"",        "PENDING",   "RUNNING",
                                         "STOPPED", "SUCCEEDED", "FAILED"};
static const char *const DEPLOY_STATUS[] = {
    "",           "Initializing", "Running",  "Complete", "Failed", "ValidationFailed",
    "Suspending", "Suspended",    "Retrying", "Waiting"};
static const char *const MODES[] = {"K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"};
static const char *const POLICIES[] = {"", "DeleteCluster", "DeleteWorkers", "DeleteSelf",
                                       "DeleteNone"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

const char *rayjob_job_status_str(enum rayjob_job_status s)
{
    return (size_t)s < NELEM(JOB_STATUS) ? JOB_STATUS[s] : "";
}

enum rayjob_job_status rayjob_job_status_parse(const char *s)
{
    if (!s)
        return RAYJOB_JS_NEW;
    int i = lookup(JOB_STATUS, NELEM(JOB_STATUS), s);
    return i < 0 ? RAYJOB_JS_UNKNOWN : (enum rayjob_job_status)i;
}

const char *rayjob_deployment_status_str(enum rayjob_deployment_status s)
{
    return (size_t)s < NELEM(DEPLOY_STATUS) ? DEPLOY_STATUS[s] : "";
}

enum rayjob_deployment_status rayjob_deployment_status_parse(const char *s)
{
    if (!s)
        return RAYJOB_DS_NEW;
    int i = lookup(DEPLOY_STATUS, NELEM(DEPLOY_STATUS), s);
    return i < 0 ? RAYJOB_DS_UNKNOWN : (enum rayjob_deployment_status)i;
}

const char *rayjob_submission_mode_str(enum rayjob_submission_mode m)
{
    return (size_t)m < NELEM(MODES) ? MODES[m] : "";
}

enum rayjob_submission_mode rayjob_submission_mode_parse(const char *s)
{
    if (!s || !*s)
        return RAYJOB_MODE_K8S_JOB;
    int i = lookup(MODES, NELEM(MODES), s);
    return i < 0 ? RAYJOB_MODE_UNKNOWN : (enum rayjob_submission_mode)i;
}

const char *rayjob_deletion_policy_str(enum rayjob_deletion_policy p)
{
    return (size_t)p < NELEM(POLICIES) ? POLICIES[p] : "";
}

enum rayjob_deletion_policy rayjob_deletion_policy_parse(const char *s)
{
    if (!s)
        return RAYJOB_POLICY_UNSET;
    int i = lookup(POLICIES, NELEM(POLICIES), s);
    return i <= 0 ? RAYJOB_POLICY_UNKNOWN : (enum rayjob_deletion_policy)i;
}

bool rayjob_job_status_terminal(enum rayjob_job_status s)
{
    return s == RAYJOB_JS_STOPPED || s == RAYJOB_JS_SUCCEEDED || s == RAYJOB_JS_FAILED;
}

bool rayjob_deployment_status_terminal(enum rayjob_deployment_status s)
{
    return s == RAYJOB_DS_COMPLETE || s == RAYJOB_DS_FAILED;
}

/* --- spec ----------------------------------------------------------------------------------- */

static int parse_legacy(const struct json_field_ctx *c, const json_t *ds, const char *path,
                        const char *key, struct rayjob_deletion_legacy *out)
{
    json_t *o;
    const char *p;
    int rc;
    char sub[JSON_FIELD_PATH_MAX];
    if ((rc = json_field_obj(c, ds, path, key, &o)) || !o)
        return rc;
    json_field_path(sub, "%s.%s", path, key);
    if ((rc = json_field_str(c, o, sub, "policy", &p)))
        return rc;
    out->set = true;
    out->policy = rayjob_deletion_policy_parse(p);
    return 0;
}

static int parse_rule(const struct json_field_ctx *c, const json_t *r, const char *path, size_t i,
                      struct rayjob_deletion_rule *out)
{
    char sub[JSON_FIELD_PATH_MAX], csub[JSON_FIELD_PATH_MAX];
    json_field_path(sub, "%s[%zu]", path, i);
    if (!json_is_object(r))
        return json_field_fail_at(c, sub, "an object", r);
    const char *policy, *js, *ds;
    json_t *cond;
    struct rc_opt_i32 ttl;
    int rc;
    if ((rc = json_field_str(c, r, sub, "policy", &policy)) ||
        (rc = json_field_obj(c, r, sub, "condition", &cond)))
        return rc;
    json_field_path(csub, "%s.condition", sub);
    if ((rc = json_field_str(c, cond, csub, "jobStatus", &js)) ||
        (rc = json_field_str(c, cond, csub, "jobDeploymentStatus", &ds)) ||
        (rc = json_field_i32(c, cond, csub, "ttlSeconds", &ttl)))
        return rc;
    /* KubeRay's DeletionRule.Policy is a plain string: absent reads as "". */
    out->policy = policy ? rayjob_deletion_policy_parse(policy) : RAYJOB_POLICY_UNKNOWN;
    out->job_status_set = js != NULL;
    out->job_status = rayjob_job_status_parse(js);
    out->deployment_status_set = ds != NULL;
    out->deployment_status = rayjob_deployment_status_parse(ds);
    out->ttl_seconds = ttl.v;
    out->condition_value = js ? js : ds ? ds : "";
    return 0;
}

static int parse_deletion(const struct json_field_ctx *c, const json_t *spec, const char *path,
                          struct rayjob_deletion_strategy *d)
{
    json_t *ds, *rules;
    int rc;
    char sub[JSON_FIELD_PATH_MAX], rsub[JSON_FIELD_PATH_MAX];
    if ((rc = json_field_obj(c, spec, path, "deletionStrategy", &ds)) || !ds)
        return rc;
    d->set = true;
    json_field_path(sub, "%s.deletionStrategy", path);
    if ((rc = parse_legacy(c, ds, sub, "onSuccess", &d->on_success)) ||
        (rc = parse_legacy(c, ds, sub, "onFailure", &d->on_failure)) ||
        (rc = json_field_arr(c, ds, sub, "deletionRules", &rules)) || !rules)
        return rc;
    d->rules_set = true;
    size_t n = json_array_size(rules);
    if (n == 0)
        return 0;
    d->rules = calloc(n, sizeof(*d->rules));
    if (!d->rules)
        return json_field_oom(c);
    d->n_rules = n;
    json_field_path(rsub, "%s.deletionRules", sub);
    for (size_t i = 0; i < n; i++)
        if ((rc = parse_rule(c, json_array_get(rules, i), rsub, i, &d->rules[i])))
            return rc;
    return 0;
}

/* The submitter builder edits containers[0]; make sure the list has the right shape. */
static int check_submitter_template(const struct json_field_ctx *c, const json_t *tmpl,
                                    const char *path)
{
    char sub[JSON_FIELD_PATH_MAX];
    json_t *pspec, *containers, *ct, *x;
    size_t i;
    int rc;
    json_field_path(sub, "%s.submitterPodTemplate", path);
    if ((rc = json_field_obj(c, tmpl, sub, "spec", &pspec)))
        return rc;
    json_field_path(sub, "%s.submitterPodTemplate.spec", path);
    if ((rc = json_field_arr(c, pspec, sub, "containers", &containers)))
        return rc;
    json_array_foreach(containers, i, ct)
    {
        char csub[JSON_FIELD_PATH_MAX];
        json_field_path(csub, "%s.containers[%zu]", sub, i);
        if (!json_is_object(ct))
            return json_field_fail_at(c, csub, "an object", ct);
        if ((rc = json_field_str_list(c, ct, csub, "command", &x)) ||
            (rc = json_field_str_list(c, ct, csub, "args", &x)) ||
            (rc = json_field_arr(c, ct, csub, "env", &x)))
            return rc;
    }
    return 0;
}

static int parse_spec(const struct json_field_ctx *c, json_t *spec, const char *path,
                      json_t *annotations, struct rayjob_spec *s, struct raycluster *cluster)
{
    int rc;
    json_t *sc;
    struct rc_opt_i32 ttl;
    char sub[JSON_FIELD_PATH_MAX];
    if ((rc = json_field_str_or_empty(c, spec, path, "entrypoint", &s->entrypoint)) ||
        (rc = json_field_str_or_empty(c, spec, path, "jobId", &s->job_id)) ||
        (rc = json_field_str_or_empty(c, spec, path, "runtimeEnvYAML", &s->runtime_env_yaml)) ||
        (rc = json_field_str_or_empty(c, spec, path, "entrypointResources",
                                      &s->entrypoint_resources)) ||
        (rc = json_field_f32(c, spec, path, "entrypointNumCpus", &s->entrypoint_num_cpus)) ||
        (rc = json_field_f32(c, spec, path, "entrypointNumGpus", &s->entrypoint_num_gpus)) ||
        (rc = json_field_str(c, spec, path, "submissionMode", &s->submission_mode_raw)) ||
        (rc = json_field_str_map(c, spec, path, "metadata", &s->metadata)) ||
        (rc = json_field_str_map(c, spec, path, "clusterSelector", &s->cluster_selector)) ||
        (rc = json_field_obj(c, spec, path, "rayClusterSpec", &s->cluster_spec)) ||
        (rc = json_field_obj(c, spec, path, "submitterPodTemplate", &s->submitter_pod_template)) ||
        (rc = json_field_obj(c, spec, path, "submitterConfig", &sc)) ||
        (rc = json_field_str(c, spec, path, "managedBy", &s->managed_by)) ||
        (rc = json_field_bool(c, spec, path, "shutdownAfterJobFinishes",
                              &s->shutdown_after_job_finishes)) ||
        (rc = json_field_bool(c, spec, path, "suspend", &s->suspend)) ||
        (rc =
             json_field_i32(c, spec, path, "activeDeadlineSeconds", &s->active_deadline_seconds)) ||
        (rc = json_field_i32(c, spec, path, "preRunningDeadlineSeconds",
                             &s->pre_running_deadline_seconds)) ||
        (rc = json_field_i32(c, spec, path, "backoffLimit", &s->backoff_limit)) ||
        (rc = json_field_i32(c, spec, path, "ttlSecondsAfterFinished", &ttl)))
        return rc;
    s->ttl_seconds_after_finished = ttl.v;
    s->submission_mode = rayjob_submission_mode_parse(s->submission_mode_raw);
    s->submitter_config_set = sc != NULL;
    json_field_path(sub, "%s.submitterConfig", path);
    if ((rc = json_field_i32(c, sc, sub, "backoffLimit", &s->submitter_backoff_limit)) ||
        (rc = check_submitter_template(c, s->submitter_pod_template, path)) ||
        (rc = parse_deletion(c, spec, path, &s->deletion)))
        return rc;
    if (s->cluster_spec) {
        s->has_cluster_spec = true;
        json_field_path(sub, "%s.rayClusterSpec", path);
        if ((rc = raycluster_parse_embedded(c, s->cluster_spec, annotations, "RayJob", sub,
                                            cluster)))
            return rc;
    }
    return 0;
}

int rayjob_spec_parse(json_t *spec_obj, const char *ns, const char *name, json_t *annotations,
                      const char *path, struct rayjob_spec *spec, struct raycluster *cluster,
                      struct krc_error *err)
{
    struct json_field_ctx c = {"RayJob", ns ? ns : "", name ? name : "", err};
    memset(spec, 0, sizeof(*spec));
    memset(cluster, 0, sizeof(*cluster));
    if (spec_obj && !json_is_object(spec_obj))
        return json_field_fail_at(&c, path, "an object", spec_obj);
    int rc = parse_spec(&c, spec_obj, path, annotations, spec, cluster);
    if (rc)
        rayjob_spec_release(spec, cluster);
    return rc;
}

void rayjob_spec_release(struct rayjob_spec *spec, struct raycluster *cluster)
{
    if (spec) {
        free(spec->deletion.rules);
        memset(spec, 0, sizeof(*spec));
    }
    if (cluster && cluster->root)
        raycluster_release(cluster);
}

int rayjob_parse(json_t *doc, struct rayjob *job, struct krc_error *err)
{
    struct json_field_ctx c = {"RayJob", "", "", err};
    int r;
    memset(job, 0, sizeof(*job));
    rayjob_status_init(&job->status);
    if (!json_is_object(doc))
        return krc_error_set(err, KRC_EINVAL, "RayJob: expected a JSON object, got %s",
                             json_field_type_name(doc));
    job->root = json_incref(doc);
    if ((r = json_field_objmeta(&c, doc, &job->meta)))
        goto err;
    json_t *spec = NULL, *status = NULL;
    if ((r = json_field_obj(&c, doc, "", "spec", &spec)) ||
        (r = parse_spec(&c, spec, "spec", job->meta.annotations, &job->spec, &job->cluster)))
        goto err;
    if ((r = json_field_obj(&c, doc, "", "status", &status)))
        goto err;
    if ((r = rayjob_status_parse(status, &job->status, err))) {
        krc_error_wrap(err, r, "RayJob %s/%s: status", c.ns, c.name);
        goto err;
    }
    return 0;
err:
    rayjob_release(job);
    return r;
}

void rayjob_release(struct rayjob *job)
{
    if (!job)
        return;
    rayjob_spec_release(&job->spec, &job->cluster);
    rayjob_status_free(&job->status);
    json_decref(job->root);
    memset(job, 0, sizeof(*job));
}

/* --- derived values ------------------------------------------------------------------------- */

bool rayjob_uses_cluster_selector(const struct rayjob_spec *spec)
{
    return json_object_size(spec->cluster_selector) != 0;
}

const char *rayjob_selector_cluster_name(const struct rayjob_spec *spec)
{
    if (!rayjob_uses_cluster_selector(spec))
        return NULL;
    const char *v = kobj_map_get(spec->cluster_selector, RAYJOB_CLUSTER_SELECTOR_KEY);
    return v ? v : "";
}

int32_t rayjob_submitter_backoff_limit(const struct rayjob_spec *spec)
{
    return spec->submitter_backoff_limit.set ? spec->submitter_backoff_limit.v
                                             : RAYJOB_DEFAULT_SUBMITTER_BACKOFF_LIMIT;
}

int32_t rayjob_backoff_limit(const struct rayjob_spec *spec)
{
    return spec->backoff_limit.set ? spec->backoff_limit.v : 0;
}

bool rayjob_managed_by_kuberay(const struct rayjob_spec *spec)
{
    return !spec->managed_by || strcmp(spec->managed_by, RAY_MANAGED_BY_KUBERAY) == 0;
}

const char *rayjob_annotation(const struct rayjob *job, const char *key)
{
    return kobj_map_get(job->meta.annotations, key);
}

const char *rayjob_label(const struct rayjob *job, const char *key)
{
    return kobj_map_get(job->meta.labels, key);
}
