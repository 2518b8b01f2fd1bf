/* rayjob_parse.c - JSON -> struct rayjob (see rayjob.h for the borrowing design), the enum
 * spellings, and the small derived predicates.
 *
 * Typed getters know their path, so an error says exactly what was wrong and where ("RayJob
 * default/x: spec.backoffLimit: expected an int32, got a string"). JSON null is treated as absent,
 * as Kubernetes' decoder does for optional fields. spec.rayClusterSpec is handed to
 * raycluster_parse() inside a synthetic RayCluster document so both kinds share one parser; its
 * error paths are rewritten from "spec." to "spec.rayClusterSpec.". */
#include "api/rayjob.h"

#include "api/kobj.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pctx {
    const char *ns, *name;
    struct krc_error *err;
};

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static int fail(struct pctx *c, const char *path, const char *key, const char *what,
                const json_t *got)
{
    return krc_error_set(c->err, KRC_EINVAL, "RayJob %s/%s: %s%s%s: expected %s, got %s", c->ns,
                         c->name, path, *path ? "." : "", key, what,
                         got ? type_name(got) : "nothing");
}

static int oom(struct pctx *c)
{
    return krc_error_set(c->err, KRC_ENOMEM, "RayJob %s/%s: out of memory", c->ns, c->name);
}

/* Field paths only appear in error messages, so a path cut at PATH_LEN is acceptable. */
#define PATH_LEN 256

static void path_fmt(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void path_fmt(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(buf, PATH_LEN, fmt, ap) < 0)
        buf[0] = '\0';
    va_end(ap);
}

static json_t *member(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

static int get_str(struct pctx *c, const json_t *obj, const char *path, const char *key,
                   const char **out)
{
    json_t *v = member(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return fail(c, path, key, "a string", v);
    *out = json_string_value(v);
    return 0;
}

/* A string that is "" when absent. */
static int get_str0(struct pctx *c, const json_t *obj, const char *path, const char *key,
                    const char **out)
{
    int rc = get_str(c, obj, path, key, out);
    if (!rc && !*out)
        *out = "";
    return rc;
}

static int get_i32(struct pctx *c, const json_t *obj, const char *path, const char *key,
                   struct rc_opt_i32 *out)
{
    json_t *v = member(obj, key);
    out->set = false;
    out->v = 0;
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return fail(c, path, key, "an int32", v);
    json_int_t n = json_integer_value(v);
    if (n < INT32_MIN || n > INT32_MAX)
        return krc_error_set(c->err, KRC_EINVAL,
                             "RayJob %s/%s: %s.%s: %lld does not fit in an int32", c->ns, c->name,
                             path, key, (long long)n);
    out->set = true;
    out->v = (int32_t)n;
    return 0;
}

static int get_bool(struct pctx *c, const json_t *obj, const char *path, const char *key, bool *out)
{
    json_t *v = member(obj, key);
    *out = false;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return fail(c, path, key, "a boolean", v);
    *out = json_is_true(v);
    return 0;
}

/* A JSON number stored as KubeRay's float32 (so 0.1 reads back as Go would print it). */
static int get_f32(struct pctx *c, const json_t *obj, const char *path, const char *key,
                   double *out)
{
    json_t *v = member(obj, key);
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_number(v))
        return fail(c, path, key, "a number", v);
    *out = (double)(float)json_number_value(v);
    return 0;
}

static int get_obj(struct pctx *c, const json_t *obj, const char *path, const char *key,
                   json_t **out)
{
    json_t *v = member(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_object(v))
        return fail(c, path, key, "an object", v);
    *out = v;
    return 0;
}

static int get_str_map(struct pctx *c, const json_t *obj, const char *path, const char *key,
                       json_t **out)
{
    int rc = get_obj(c, obj, path, key, out);
    if (rc || !*out)
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach(*out, k, v)
    {
        if (!json_is_string(v))
            return krc_error_set(c->err, KRC_EINVAL,
                                 "RayJob %s/%s: %s.%s[\"%s\"]: expected a string, got %s", c->ns,
                                 c->name, path, key, k, type_name(v));
    }
    return 0;
}

static int get_str_list(struct pctx *c, const json_t *obj, const char *path, const char *key,
                        json_t **out)
{
    json_t *v = member(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_array(v))
        return fail(c, path, key, "an array", v);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return krc_error_set(c->err, KRC_EINVAL,
                                 "RayJob %s/%s: %s.%s[%zu]: expected a string, got %s", c->ns,
                                 c->name, path, key, i, type_name(e));
    }
    *out = v;
    return 0;
}

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

static int parse_legacy(struct pctx *c, const json_t *ds, const char *path, const char *key,
                        struct rayjob_deletion_legacy *out)
{
    json_t *o;
    const char *p;
    int rc;
    char sub[PATH_LEN];
    if ((rc = get_obj(c, ds, path, key, &o)) || !o)
        return rc;
    path_fmt(sub, "%s.%s", path, key);
    if ((rc = get_str(c, o, sub, "policy", &p)))
        return rc;
    out->set = true;
    out->policy = rayjob_deletion_policy_parse(p);
    return 0;
}

static int parse_rule(struct pctx *c, const json_t *r, const char *path, size_t i,
                      struct rayjob_deletion_rule *out)
{
    char sub[PATH_LEN], csub[PATH_LEN];
    path_fmt(sub, "%s[%zu]", path, i);
    if (!json_is_object(r))
        return krc_error_set(c->err, KRC_EINVAL, "RayJob %s/%s: %s: expected an object, got %s",
                             c->ns, c->name, sub, type_name(r));
    const char *policy, *js, *ds;
    json_t *cond;
    struct rc_opt_i32 ttl;
    int rc;
    if ((rc = get_str(c, r, sub, "policy", &policy)) ||
        (rc = get_obj(c, r, sub, "condition", &cond)))
        return rc;
    path_fmt(csub, "%s.condition", sub);
    if ((rc = get_str(c, cond, csub, "jobStatus", &js)) ||
        (rc = get_str(c, cond, csub, "jobDeploymentStatus", &ds)) ||
        (rc = get_i32(c, cond, csub, "ttlSeconds", &ttl)))
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

static int parse_deletion(struct pctx *c, const json_t *spec, const char *path,
                          struct rayjob_deletion_strategy *d)
{
    json_t *ds, *rules;
    int rc;
    char sub[PATH_LEN];
    if ((rc = get_obj(c, spec, path, "deletionStrategy", &ds)) || !ds)
        return rc;
    d->set = true;
    path_fmt(sub, "%s.deletionStrategy", path);
    if ((rc = parse_legacy(c, ds, sub, "onSuccess", &d->on_success)) ||
        (rc = parse_legacy(c, ds, sub, "onFailure", &d->on_failure)))
        return rc;
    rules = member(ds, "deletionRules");
    if (!rules)
        return 0;
    if (!json_is_array(rules))
        return fail(c, sub, "deletionRules", "an array", rules);
    d->rules_set = true;
    size_t n = json_array_size(rules);
    if (n == 0)
        return 0;
    d->rules = calloc(n, sizeof(*d->rules));
    if (!d->rules)
        return oom(c);
    d->n_rules = n;
    char rsub[PATH_LEN];
    path_fmt(rsub, "%s.deletionRules", sub);
    for (size_t i = 0; i < n; i++)
        if ((rc = parse_rule(c, json_array_get(rules, i), rsub, i, &d->rules[i])))
            return rc;
    return 0;
}

/* raycluster_parse() over {metadata: {name, namespace, annotations}, spec: cluster_spec}. Its
 * messages read "RayCluster ns/name: spec.x: ..."; they are rewritten to name the RayJob and the
 * embedding path. */
static int parse_cluster(struct pctx *c, json_t *cluster_spec, json_t *annotations,
                         const char *path, struct raycluster *out)
{
    json_t *doc = json_object(), *meta = json_object();
    int rc = 0;
    if (!doc || !meta || json_object_set_new(doc, "metadata", meta)) {
        if (!doc)
            json_decref(meta);
        json_decref(doc);
        return oom(c);
    }
    if (kobj_set_str(meta, "name", c->name) || kobj_set_str(meta, "namespace", c->ns) ||
        (annotations && json_object_set(meta, "annotations", annotations)) ||
        json_object_set(doc, "spec", cluster_spec)) {
        rc = oom(c);
        goto out;
    }
    struct krc_error cerr;
    krc_error_clear(&cerr);
    rc = raycluster_parse(doc, out, &cerr);
    if (rc == KRC_ENOMEM) {
        rc = oom(c);
    } else if (rc) {
        char prefix[KRC_ERROR_MSG_MAX];
        snprintf(prefix, sizeof(prefix), "RayCluster %s/%s: spec", c->ns, c->name);
        size_t plen = strlen(prefix);
        const char *rest = strncmp(cerr.msg, prefix, plen) == 0 ? cerr.msg + plen : cerr.msg;
        rc = krc_error_set(c->err, rc, "RayJob %s/%s: %s.rayClusterSpec%s", c->ns, c->name, path,
                           rest);
    }
out:
    json_decref(doc);
    return rc;
}

static int parse_spec(struct pctx *c, json_t *spec, const char *path, json_t *annotations,
                      struct rayjob_spec *s, struct raycluster *cluster)
{
    int rc;
    json_t *sc;
    if ((rc = get_str0(c, spec, path, "entrypoint", &s->entrypoint)) ||
        (rc = get_str0(c, spec, path, "jobId", &s->job_id)) ||
        (rc = get_str0(c, spec, path, "runtimeEnvYAML", &s->runtime_env_yaml)) ||
        (rc = get_str0(c, spec, path, "entrypointResources", &s->entrypoint_resources)) ||
        (rc = get_f32(c, spec, path, "entrypointNumCpus", &s->entrypoint_num_cpus)) ||
        (rc = get_f32(c, spec, path, "entrypointNumGpus", &s->entrypoint_num_gpus)) ||
        (rc = get_str(c, spec, path, "submissionMode", &s->submission_mode_raw)) ||
        (rc = get_str_map(c, spec, path, "metadata", &s->metadata)) ||
        (rc = get_str_map(c, spec, path, "clusterSelector", &s->cluster_selector)) ||
        (rc = get_obj(c, spec, path, "rayClusterSpec", &s->cluster_spec)) ||
        (rc = get_obj(c, spec, path, "submitterPodTemplate", &s->submitter_pod_template)) ||
        (rc = get_obj(c, spec, path, "submitterConfig", &sc)) ||
        (rc = get_str(c, spec, path, "managedBy", &s->managed_by)) ||
        (rc = get_bool(c, spec, path, "shutdownAfterJobFinishes",
                       &s->shutdown_after_job_finishes)) ||
        (rc = get_bool(c, spec, path, "suspend", &s->suspend)) ||
        (rc = get_i32(c, spec, path, "activeDeadlineSeconds", &s->active_deadline_seconds)) ||
        (rc = get_i32(c, spec, path, "preRunningDeadlineSeconds",
                      &s->pre_running_deadline_seconds)) ||
        (rc = get_i32(c, spec, path, "backoffLimit", &s->backoff_limit)))
        return rc;
    struct rc_opt_i32 ttl;
    if ((rc = get_i32(c, spec, path, "ttlSecondsAfterFinished", &ttl)))
        return rc;
    s->ttl_seconds_after_finished = ttl.v;
    s->submission_mode = rayjob_submission_mode_parse(s->submission_mode_raw);
    if (sc) {
        char sub[PATH_LEN];
        path_fmt(sub, "%s.submitterConfig", path);
        s->submitter_config_set = true;
        if ((rc = get_i32(c, sc, sub, "backoffLimit", &s->submitter_backoff_limit)))
            return rc;
    }
    if (s->submitter_pod_template) {
        /* The submitter builder edits containers[0]; make sure the list has the right shape. */
        json_t *pspec = member(s->submitter_pod_template, "spec"), *containers, *x;
        char sub[PATH_LEN];
        path_fmt(sub, "%s.submitterPodTemplate", path);
        if (pspec && !json_is_object(pspec))
            return fail(c, sub, "spec", "an object", pspec);
        path_fmt(sub, "%s.submitterPodTemplate.spec", path);
        containers = member(pspec, "containers");
        if (containers && !json_is_array(containers))
            return fail(c, sub, "containers", "an array", containers);
        size_t i;
        json_t *ct;
        json_array_foreach(containers, i, ct)
        {
            char csub[PATH_LEN];
            path_fmt(csub, "%s.containers[%zu]", sub, i);
            if (!json_is_object(ct))
                return krc_error_set(c->err, KRC_EINVAL,
                                     "RayJob %s/%s: %s: expected an object, got %s", c->ns, c->name,
                                     csub, type_name(ct));
            if ((rc = get_str_list(c, ct, csub, "command", &x)) ||
                (rc = get_str_list(c, ct, csub, "args", &x)))
                return rc;
            x = member(ct, "env");
            if (x && !json_is_array(x))
                return fail(c, csub, "env", "an array", x);
        }
    }
    if ((rc = parse_deletion(c, spec, path, &s->deletion)))
        return rc;
    if (s->cluster_spec) {
        s->has_cluster_spec = true;
        if ((rc = parse_cluster(c, s->cluster_spec, annotations, path, cluster)))
            return rc;
    }
    return 0;
}

int rayjob_spec_parse(json_t *spec_obj, const char *ns, const char *name, json_t *annotations,
                      const char *path, struct rayjob_spec *spec, struct raycluster *cluster,
                      struct krc_error *err)
{
    struct pctx c = {ns ? ns : "", name ? name : "", err};
    memset(spec, 0, sizeof(*spec));
    memset(cluster, 0, sizeof(*cluster));
    if (spec_obj && !json_is_object(spec_obj))
        return krc_error_set(err, KRC_EINVAL, "RayJob %s/%s: %s: expected an object, got %s", c.ns,
                             c.name, path, type_name(spec_obj));
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

static int parse_meta(struct pctx *c, const json_t *doc, struct rayjob_meta *m)
{
    json_t *meta;
    int rc = get_obj(c, doc, "", "metadata", &meta);
    if (rc)
        return rc;
    if ((rc = get_str0(c, meta, "metadata", "name", &m->name)) ||
        (rc = get_str0(c, meta, "metadata", "namespace", &m->ns)) ||
        (rc = get_str0(c, meta, "metadata", "uid", &m->uid)) ||
        (rc = get_str(c, meta, "metadata", "resourceVersion", &m->resource_version)) ||
        (rc = get_str(c, meta, "metadata", "creationTimestamp", &m->creation_timestamp)) ||
        (rc = get_str(c, meta, "metadata", "deletionTimestamp", &m->deletion_timestamp)) ||
        (rc = get_str_map(c, meta, "metadata", "labels", &m->labels)) ||
        (rc = get_str_map(c, meta, "metadata", "annotations", &m->annotations)) ||
        (rc = get_str_list(c, meta, "metadata", "finalizers", &m->finalizers)))
        return rc;
    json_t *gen = member(meta, "generation");
    if (gen && !json_is_integer(gen))
        return fail(c, "metadata", "generation", "an integer", gen);
    m->generation = gen ? (int64_t)json_integer_value(gen) : 0;
    return 0;
}

int rayjob_parse(json_t *doc, struct rayjob *job, struct krc_error *err)
{
    struct pctx c = {"", "", err};
    int r;
    memset(job, 0, sizeof(*job));
    rayjob_status_init(&job->status);
    if (!json_is_object(doc))
        return krc_error_set(err, KRC_EINVAL, "RayJob: expected a JSON object, got %s",
                             doc ? type_name(doc) : "nothing");
    job->root = json_incref(doc);
    if ((r = parse_meta(&c, doc, &job->meta)))
        goto err;
    c.ns = job->meta.ns;
    c.name = job->meta.name;
    json_t *spec = NULL, *status = NULL;
    if ((r = get_obj(&c, doc, "", "spec", &spec)) ||
        (r = parse_spec(&c, spec, "spec", job->meta.annotations, &job->spec, &job->cluster)))
        goto err;
    if ((r = get_obj(&c, doc, "", "status", &status)))
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
