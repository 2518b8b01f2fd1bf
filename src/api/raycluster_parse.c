/* raycluster_parse.c - JSON -> struct raycluster (see raycluster.h for the borrowing design).
 *
 * Each field is read through a typed getter that knows its path, so an error says exactly what
 * was wrong and where ("RayCluster default/x: spec.workerGroupSpecs[1].replicas: expected an
 * int32, got a string"). JSON null is treated as absent, as Kubernetes' decoder does for optional
 * fields. Unknown fields are ignored (the API server prunes them anyway). */
#include "api/raycluster.h"

#include "api/kobj.h"

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
    return krc_error_set(c->err, KRC_EINVAL, "RayCluster %s/%s: %s%s%s: expected %s, got %s", c->ns,
                         c->name, path, *path ? "." : "", key, what,
                         got ? type_name(got) : "nothing");
}

/* Member lookup with null folded into absent. */
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
                             "RayCluster %s/%s: %s.%s: %lld does not fit in an int32", c->ns,
                             c->name, path, key, (long long)n);
    out->set = true;
    out->v = (int32_t)n;
    return 0;
}

static int get_bool(struct pctx *c, const json_t *obj, const char *path, const char *key,
                    struct rc_opt_bool *out)
{
    json_t *v = member(obj, key);
    out->set = false;
    out->v = false;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return fail(c, path, key, "a boolean", v);
    out->set = true;
    out->v = json_is_true(v);
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

static int get_arr(struct pctx *c, const json_t *obj, const char *path, const char *key,
                   json_t **out)
{
    json_t *v = member(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_array(v))
        return fail(c, path, key, "an array", v);
    *out = v;
    return 0;
}

/* An object whose values are all strings (Go map[string]string). */
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
                                 "RayCluster %s/%s: %s.%s[\"%s\"]: expected a string, got %s",
                                 c->ns, c->name, path, key, k, type_name(v));
    }
    return 0;
}

static int get_str_list(struct pctx *c, const json_t *obj, const char *path, const char *key,
                        json_t **out)
{
    int rc = get_arr(c, obj, path, key, out);
    if (rc || !*out)
        return rc;
    size_t i;
    json_t *v;
    json_array_foreach(*out, i, v)
    {
        if (!json_is_string(v))
            return krc_error_set(c->err, KRC_EINVAL,
                                 "RayCluster %s/%s: %s.%s[%zu]: expected a string, got %s", c->ns,
                                 c->name, path, key, i, type_name(v));
    }
    return 0;
}

/* rayStartParams: a string map, or a fresh empty object when absent (KubeRay's setDefaults). The
 * result is an owned reference. */
static int get_params(struct pctx *c, const json_t *obj, const char *path, json_t **out)
{
    json_t *m;
    int rc = get_str_map(c, obj, path, "rayStartParams", &m);
    if (rc)
        return rc;
    *out = m ? json_incref(m) : json_object();
    return *out ? 0
                : krc_error_set(c->err, KRC_ENOMEM, "RayCluster %s/%s: out of memory", c->ns,
                                c->name);
}

/* A PodTemplateSpec: required, an object, and if present spec/containers of the right shape, so
 * builders can rely on containers being an array of objects. */
static int get_template(struct pctx *c, const json_t *obj, const char *path, json_t **out)
{
    int rc = get_obj(c, obj, path, "template", out);
    if (rc)
        return rc;
    if (!*out)
        return fail(c, path, "template", "an object (the field is required)", NULL);
    char sub[256];
    snprintf(sub, sizeof(sub), "%s.template", path);
    json_t *spec, *meta, *containers, *x;
    if ((rc = get_obj(c, *out, sub, "metadata", &meta)) ||
        (rc = get_obj(c, *out, sub, "spec", &spec)))
        return rc;
    if (meta) {
        snprintf(sub, sizeof(sub), "%s.template.metadata", path);
        if ((rc = get_str_map(c, meta, sub, "labels", &x)) ||
            (rc = get_str_map(c, meta, sub, "annotations", &x)))
            return rc;
    }
    if (!spec)
        return 0;
    snprintf(sub, sizeof(sub), "%s.template.spec", path);
    if ((rc = get_arr(c, spec, sub, "volumes", &x)))
        return rc;
    for (int k = 0; k < 2; k++) {
        const char *key = k == 0 ? "containers" : "initContainers";
        if ((rc = get_arr(c, spec, sub, key, &containers)))
            return rc;
        size_t i;
        json_t *ct;
        json_array_foreach(containers, i, ct)
        {
            char csub[300];
            snprintf(csub, sizeof(csub), "%s.%s[%zu]", sub, key, i);
            if (!json_is_object(ct))
                return krc_error_set(c->err, KRC_EINVAL,
                                     "RayCluster %s/%s: %s: expected an object, got %s", c->ns,
                                     c->name, csub, type_name(ct));
            /* The members builders edit must have the right shape, so a malformed template is
             * reported here by path instead of failing deep inside a builder. */
            json_t *member, *res;
            char rsub[340];
            if ((rc = get_arr(c, ct, csub, "env", &member)) ||
                (rc = get_arr(c, ct, csub, "ports", &member)) ||
                (rc = get_arr(c, ct, csub, "volumeMounts", &member)) ||
                (rc = get_str_list(c, ct, csub, "command", &member)) ||
                (rc = get_str_list(c, ct, csub, "args", &member)) ||
                (rc = get_obj(c, ct, csub, "resources", &res)))
                return rc;
            snprintf(rsub, sizeof(rsub), "%s.resources", csub);
            if (res && ((rc = get_obj(c, res, rsub, "limits", &member)) ||
                        (rc = get_obj(c, res, rsub, "requests", &member))))
                return rc;
        }
    }
    return 0;
}

static int parse_credential(struct pctx *c, const json_t *obj, const char *path, const char *key,
                            struct raycluster_credential *out)
{
    json_t *o;
    int rc = get_obj(c, obj, path, key, &o);
    memset(out, 0, sizeof(*out));
    if (rc || !o)
        return rc;
    char sub[128];
    snprintf(sub, sizeof(sub), "%s.%s", path, key);
    out->set = true;
    if ((rc = get_str(c, o, sub, "value", &out->value)))
        return rc;
    return get_obj(c, o, sub, "valueFrom", &out->value_from);
}

static int parse_gcs_ft(struct pctx *c, const json_t *spec, struct raycluster_gcs_ft *ft)
{
    json_t *o;
    const char *p = "spec.gcsFaultToleranceOptions";
    int rc = get_obj(c, spec, "spec", "gcsFaultToleranceOptions", &o);
    if (rc || !o)
        return rc;
    ft->set = true;
    if ((rc = get_str(c, o, p, "backend", &ft->backend)) ||
        (rc = get_str(c, o, p, "redisAddress", &ft->redis_address)) ||
        (rc = get_str(c, o, p, "externalStorageNamespace", &ft->external_storage_namespace)) ||
        (rc = parse_credential(c, o, p, "redisUsername", &ft->redis_username)) ||
        (rc = parse_credential(c, o, p, "redisPassword", &ft->redis_password)) ||
        (rc = get_obj(c, o, p, "storage", &ft->storage)))
        return rc;
    if (ft->backend && strcmp(ft->backend, "redis") != 0 && strcmp(ft->backend, "rocksdb") != 0)
        return krc_error_set(c->err, KRC_EINVAL,
                             "RayCluster %s/%s: %s.backend: unsupported value \"%s\" (supported: "
                             "\"redis\", \"rocksdb\")",
                             c->ns, c->name, p, ft->backend);
    if (ft->storage) {
        const char *sp = "spec.gcsFaultToleranceOptions.storage";
        if ((rc = get_str(c, ft->storage, sp, "claimName", &ft->storage_claim_name)) ||
            (rc = get_str(c, ft->storage, sp, "subPath", &ft->storage_sub_path)))
            return rc;
    }
    return 0;
}

static int parse_autoscaler(struct pctx *c, const json_t *spec,
                            struct raycluster_autoscaler_options *a)
{
    json_t *o;
    const char *p = "spec.autoscalerOptions";
    int rc = get_obj(c, spec, "spec", "autoscalerOptions", &o);
    if (rc || !o)
        return rc;
    a->set = true;
    const char *version = NULL;
    if ((rc = get_str(c, o, p, "version", &version)) ||
        (rc = get_str(c, o, p, "image", &a->image)) ||
        (rc = get_str(c, o, p, "imagePullPolicy", &a->image_pull_policy)) ||
        (rc = get_str(c, o, p, "upscalingMode", &a->upscaling_mode)) ||
        (rc = get_obj(c, o, p, "resources", &a->resources)) ||
        (rc = get_obj(c, o, p, "securityContext", &a->security_context)) ||
        (rc = get_arr(c, o, p, "env", &a->env)) ||
        (rc = get_arr(c, o, p, "envFrom", &a->env_from)) ||
        (rc = get_arr(c, o, p, "volumeMounts", &a->volume_mounts)) ||
        (rc = get_str_list(c, o, p, "command", &a->command)) ||
        (rc = get_str_list(c, o, p, "args", &a->args)) ||
        (rc = get_i32(c, o, p, "idleTimeoutSeconds", &a->idle_timeout_seconds)))
        return rc;
    if (version) {
        if (strcmp(version, "v1") == 0)
            a->version = RAYCLUSTER_AUTOSCALER_V1;
        else if (strcmp(version, "v2") == 0)
            a->version = RAYCLUSTER_AUTOSCALER_V2;
        else
            return krc_error_set(c->err, KRC_EINVAL,
                                 "RayCluster %s/%s: %s.version: unsupported value \"%s\" "
                                 "(supported: \"v1\", \"v2\")",
                                 c->ns, c->name, p, version);
    }
    return 0;
}

static int parse_head(struct pctx *c, const json_t *spec, struct raycluster_head_group *h)
{
    json_t *o;
    const char *p = "spec.headGroupSpec";
    int rc = get_obj(c, spec, "spec", "headGroupSpec", &o);
    if (rc)
        return rc;
    if (!o)
        return fail(c, "spec", "headGroupSpec", "an object (the field is required)", NULL);
    if ((rc = get_template(c, o, p, &h->template)) ||
        (rc = get_str_map(c, o, p, "resources", &h->resources)) ||
        (rc = get_str_map(c, o, p, "labels", &h->labels)) ||
        (rc = get_str(c, o, p, "serviceType", &h->service_type)) ||
        (rc = get_obj(c, o, p, "headService", &h->head_service)) ||
        (rc = get_bool(c, o, p, "enableIngress", &h->enable_ingress)) ||
        (rc = get_obj(c, o, p, "ingressOptions", &h->ingress_options)))
        return rc;
    return get_params(c, o, p, &h->ray_start_params);
}

static int parse_worker(struct pctx *c, const json_t *o, size_t idx,
                        struct raycluster_worker_group *w)
{
    char p[64];
    int rc;
    snprintf(p, sizeof(p), "spec.workerGroupSpecs[%zu]", idx);
    if (!json_is_object(o))
        return krc_error_set(c->err, KRC_EINVAL, "RayCluster %s/%s: %s: expected an object, got %s",
                             c->ns, c->name, p, type_name(o));
    json_t *scale = NULL;
    if ((rc = get_str(c, o, p, "groupName", &w->group_name)) ||
        (rc = get_i32(c, o, p, "replicas", &w->replicas)) ||
        (rc = get_i32(c, o, p, "minReplicas", &w->min_replicas)) ||
        (rc = get_i32(c, o, p, "maxReplicas", &w->max_replicas)) ||
        (rc = get_i32(c, o, p, "idleTimeoutSeconds", &w->idle_timeout_seconds)) ||
        (rc = get_i32(c, o, p, "priority", &w->priority)) ||
        (rc = get_i32(c, o, p, "numOfHosts", &w->num_of_hosts)) ||
        (rc = get_bool(c, o, p, "suspend", &w->suspend)) ||
        (rc = get_str_map(c, o, p, "resources", &w->resources)) ||
        (rc = get_str_map(c, o, p, "labels", &w->labels)) ||
        (rc = get_template(c, o, p, &w->template)) ||
        (rc = get_obj(c, o, p, "scaleStrategy", &scale)))
        return rc;
    if (scale) {
        char sp[96];
        snprintf(sp, sizeof(sp), "%s.scaleStrategy", p);
        if ((rc = get_str_list(c, scale, sp, "workersToDelete", &w->workers_to_delete)))
            return rc;
    }
    if (!w->group_name)
        w->group_name = "";
    return get_params(c, o, p, &w->ray_start_params);
}

static int parse_spec(struct pctx *c, const json_t *spec, struct raycluster_spec *s)
{
    int rc;
    json_t *x;
    if (!spec)
        return fail(c, "", "spec", "an object", NULL);
    if ((rc = get_str(c, spec, "spec", "rayVersion", &s->ray_version)) ||
        (rc = get_bool(c, spec, "spec", "enableInTreeAutoscaling",
                       &s->enable_in_tree_autoscaling)) ||
        (rc = get_bool(c, spec, "spec", "suspend", &s->suspend)) ||
        (rc = get_str(c, spec, "spec", "managedBy", &s->managed_by)) ||
        (rc = get_str_map(c, spec, "spec", "headServiceAnnotations",
                          &s->head_service_annotations)) ||
        (rc = parse_autoscaler(c, spec, &s->autoscaler)) ||
        (rc = parse_gcs_ft(c, spec, &s->gcs_ft)) ||
        (rc = get_obj(c, spec, "spec", "networkPolicy", &s->network_policy)) ||
        (rc = get_obj(c, spec, "spec", "historyServerOptions", &s->history_server_options)))
        return rc;
    if (!s->ray_version)
        s->ray_version = "";
    if ((rc = get_obj(c, spec, "spec", "upgradeStrategy", &x)))
        return rc;
    if (x) {
        s->upgrade_strategy_set = true;
        if ((rc = get_str(c, x, "spec.upgradeStrategy", "type", &s->upgrade_strategy_type)))
            return rc;
    }
    if ((rc = get_obj(c, spec, "spec", "authOptions", &x)))
        return rc;
    if (x) {
        s->auth.set = true;
        if ((rc = get_str(c, x, "spec.authOptions", "mode", &s->auth.mode)) ||
            (rc = get_str(c, x, "spec.authOptions", "secretName", &s->auth.secret_name)) ||
            (rc = get_bool(c, x, "spec.authOptions", "enableK8sTokenAuth",
                           &s->auth.enable_k8s_token_auth)))
            return rc;
    }
    if ((rc = get_obj(c, spec, "spec", "tlsOptions", &x)))
        return rc;
    if (x) {
        s->tls_options_set = true;
        if ((rc = get_bool(c, x, "spec.tlsOptions", "enabled", &s->tls_enabled)))
            return rc;
    }
    if ((rc = parse_head(c, spec, &s->head)))
        return rc;
    json_t *workers;
    if ((rc = get_arr(c, spec, "spec", "workerGroupSpecs", &workers)))
        return rc;
    size_t n = json_array_size(workers);
    if (n == 0)
        return 0;
    s->workers = calloc(n, sizeof(*s->workers));
    if (!s->workers)
        return krc_error_set(c->err, KRC_ENOMEM, "RayCluster %s/%s: out of memory", c->ns, c->name);
    for (size_t i = 0; i < n; i++) {
        s->n_workers = i + 1; /* so release frees the params of groups parsed so far */
        if ((rc = parse_worker(c, json_array_get(workers, i), i, &s->workers[i])))
            return rc;
    }
    return 0;
}

static int parse_meta(struct pctx *c, const json_t *doc, struct raycluster_meta *m)
{
    json_t *meta;
    int rc = get_obj(c, doc, "", "metadata", &meta);
    if (rc)
        return rc;
    if ((rc = get_str(c, meta, "metadata", "name", &m->name)) ||
        (rc = get_str(c, meta, "metadata", "namespace", &m->ns)) ||
        (rc = get_str(c, meta, "metadata", "uid", &m->uid)) ||
        (rc = get_str(c, meta, "metadata", "resourceVersion", &m->resource_version)) ||
        (rc = get_str(c, meta, "metadata", "creationTimestamp", &m->creation_timestamp)) ||
        (rc = get_str(c, meta, "metadata", "deletionTimestamp", &m->deletion_timestamp)) ||
        (rc = get_str_map(c, meta, "metadata", "labels", &m->labels)) ||
        (rc = get_str_map(c, meta, "metadata", "annotations", &m->annotations)))
        return rc;
    json_t *gen = member(meta, "generation");
    if (gen && !json_is_integer(gen))
        return fail(c, "metadata", "generation", "an integer", gen);
    m->generation = gen ? (int64_t)json_integer_value(gen) : 0;
    if (!m->name)
        m->name = "";
    if (!m->ns)
        m->ns = "";
    if (!m->uid)
        m->uid = "";
    return 0;
}

int raycluster_parse(json_t *doc, struct raycluster *rc, struct krc_error *err)
{
    struct pctx c = {"", "", err};
    int r;
    memset(rc, 0, sizeof(*rc));
    raycluster_status_init(&rc->status);
    if (!json_is_object(doc))
        return krc_error_set(err, KRC_EINVAL, "RayCluster: expected a JSON object, got %s",
                             doc ? type_name(doc) : "nothing");
    rc->root = json_incref(doc);
    if ((r = parse_meta(&c, doc, &rc->meta)))
        goto err;
    c.ns = rc->meta.ns;
    c.name = rc->meta.name;
    json_t *spec = NULL, *status = NULL;
    if ((r = get_obj(&c, doc, "", "spec", &spec)) || (r = parse_spec(&c, spec, &rc->spec)))
        goto err;
    if ((r = get_obj(&c, doc, "", "status", &status)))
        goto err;
    if ((r = raycluster_status_parse(status, &rc->status, err))) {
        krc_error_wrap(err, r, "RayCluster %s/%s: status", c.ns, c.name);
        goto err;
    }
    return 0;
err:
    raycluster_release(rc);
    return r;
}

void raycluster_release(struct raycluster *rc)
{
    if (!rc)
        return;
    json_decref(rc->spec.head.ray_start_params);
    for (size_t i = 0; i < rc->spec.n_workers; i++)
        json_decref(rc->spec.workers[i].ray_start_params);
    free(rc->spec.workers);
    raycluster_status_free(&rc->status);
    json_decref(rc->root);
    memset(rc, 0, sizeof(*rc));
}

void raycluster_gates_default(struct raycluster_gates *g)
{
    memset(g, 0, sizeof(*g));
    g->status_conditions = true;
    g->multi_host_indexing = true;
    g->job_deletion_policy = true;
}

bool raycluster_autoscaling_enabled(const struct raycluster *rc)
{
    return rc->spec.enable_in_tree_autoscaling.set && rc->spec.enable_in_tree_autoscaling.v;
}

const char *raycluster_annotation(const struct raycluster *rc, const char *key)
{
    return kobj_map_get(rc->meta.annotations, key);
}

const char *raycluster_label(const struct raycluster *rc, const char *key)
{
    return kobj_map_get(rc->meta.labels, key);
}

enum raycluster_creator raycluster_creator(const struct raycluster *rc)
{
    const char *v = raycluster_label(rc, RAY_LABEL_ORIGINATED_FROM_CRD);
    if (v && strcmp(v, "RayJob") == 0)
        return RAYCLUSTER_CREATOR_RAYJOB;
    if (v && strcmp(v, "RayService") == 0)
        return RAYCLUSTER_CREATOR_RAYSERVICE;
    return RAYCLUSTER_CREATOR_RAYCLUSTER;
}

const char *raycluster_creator_name(enum raycluster_creator c)
{
    switch (c) {
    case RAYCLUSTER_CREATOR_RAYJOB:
        return "RayJob";
    case RAYCLUSTER_CREATOR_RAYSERVICE:
        return "RayService";
    default:
        return "RayCluster";
    }
}

static bool ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

bool raycluster_gcs_ft_enabled(const struct raycluster *rc)
{
    const char *v = raycluster_annotation(rc, RAY_ANNOTATION_FT_ENABLED);
    return (v && ascii_ieq(v, "true")) || rc->spec.gcs_ft.set;
}

bool raycluster_gcs_ft_embedded(const struct raycluster *rc)
{
    return rc->spec.gcs_ft.set && rc->spec.gcs_ft.backend &&
           strcmp(rc->spec.gcs_ft.backend, "rocksdb") == 0;
}

bool raycluster_auth_enabled(const struct raycluster *rc)
{
    return rc->spec.auth.set && rc->spec.auth.mode && strcmp(rc->spec.auth.mode, "token") == 0;
}

bool raycluster_k8s_auth_enabled(const struct raycluster *rc)
{
    return rc->spec.auth.set && rc->spec.auth.enable_k8s_token_auth.set &&
           rc->spec.auth.enable_k8s_token_auth.v;
}

bool raycluster_tls_enabled(const struct raycluster *rc, const struct raycluster_gates *g)
{
    return g->mtls && rc->spec.tls_options_set && rc->spec.tls_enabled.set &&
           rc->spec.tls_enabled.v;
}

bool raycluster_group_suspended(const struct raycluster_worker_group *g)
{
    return g->suspend.set && g->suspend.v;
}
