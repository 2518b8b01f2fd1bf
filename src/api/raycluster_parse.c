/* raycluster_parse.c - JSON -> struct raycluster (see raycluster.h for the borrowing design).
 *
 * Each field is read through a typed getter from json_field.h that knows its path, so an error
 * says exactly what was wrong and where ("RayCluster default/x: spec.workerGroupSpecs[1].replicas:
 * expected an int32, got a string"). JSON null is treated as absent, as Kubernetes' decoder does
 * for optional fields. Unknown fields are ignored (the API server prunes them anyway). */
#include "api/raycluster.h"

#include "api/json_field.h"
#include "api/kobj.h"

#include <stdlib.h>
#include <string.h>

/* rayStartParams: a string map, or a fresh empty object when absent (KubeRay's setDefaults). The
 * result is an owned reference. */
static int get_params(const struct json_field_ctx *c, const json_t *obj, const char *path,
                      json_t **out)
{
    json_t *m;
    int rc = json_field_str_map(c, obj, path, "rayStartParams", &m);
    if (rc)
        return rc;
    *out = m ? json_incref(m) : json_object();
    return *out ? 0 : json_field_oom(c);
}

/* One container of a pod template: the members builders edit must have the right shape, so a
 * malformed template is reported here by path instead of failing deep inside a builder. */
static int check_container(const struct json_field_ctx *c, const json_t *ct, const char *path)
{
    json_t *member, *res;
    char rsub[JSON_FIELD_PATH_MAX];
    int rc;
    if (!json_is_object(ct))
        return json_field_fail_at(c, path, "an object", ct);
    if ((rc = json_field_arr(c, ct, path, "env", &member)) ||
        (rc = json_field_arr(c, ct, path, "ports", &member)) ||
        (rc = json_field_arr(c, ct, path, "volumeMounts", &member)) ||
        (rc = json_field_str_list(c, ct, path, "command", &member)) ||
        (rc = json_field_str_list(c, ct, path, "args", &member)) ||
        (rc = json_field_obj(c, ct, path, "resources", &res)))
        return rc;
    json_field_path(rsub, "%s.resources", path);
    if ((rc = json_field_obj(c, res, rsub, "limits", &member)) ||
        (rc = json_field_obj(c, res, rsub, "requests", &member)))
        return rc;
    return 0;
}

/* A PodTemplateSpec: required, an object, and if present spec/containers of the right shape, so
 * builders can rely on containers being an array of objects. */
static int get_template(const struct json_field_ctx *c, const json_t *obj, const char *path,
                        json_t **out)
{
    static const char *const CONTAINER_LISTS[] = {"containers", "initContainers"};
    int rc = json_field_obj_required(c, obj, path, "template", out);
    if (rc)
        return rc;
    char sub[JSON_FIELD_PATH_MAX];
    json_t *spec, *meta, *x;
    json_field_path(sub, "%s.template", path);
    if ((rc = json_field_obj(c, *out, sub, "metadata", &meta)) ||
        (rc = json_field_obj(c, *out, sub, "spec", &spec)))
        return rc;
    json_field_path(sub, "%s.template.metadata", path);
    if ((rc = json_field_str_map(c, meta, sub, "labels", &x)) ||
        (rc = json_field_str_map(c, meta, sub, "annotations", &x)))
        return rc;
    json_field_path(sub, "%s.template.spec", path);
    if ((rc = json_field_arr(c, spec, sub, "volumes", &x)))
        return rc;
    for (size_t k = 0; k < sizeof(CONTAINER_LISTS) / sizeof(CONTAINER_LISTS[0]); k++) {
        json_t *containers, *ct;
        size_t i;
        if ((rc = json_field_arr(c, spec, sub, CONTAINER_LISTS[k], &containers)))
            return rc;
        json_array_foreach(containers, i, ct)
        {
            char csub[JSON_FIELD_PATH_MAX];
            json_field_path(csub, "%s.%s[%zu]", sub, CONTAINER_LISTS[k], i);
            if ((rc = check_container(c, ct, csub)))
                return rc;
        }
    }
    return 0;
}

static int parse_credential(const struct json_field_ctx *c, const json_t *obj, const char *path,
                            const char *key, struct raycluster_credential *out)
{
    json_t *o;
    int rc = json_field_obj(c, obj, path, key, &o);
    memset(out, 0, sizeof(*out));
    if (rc || !o)
        return rc;
    char sub[JSON_FIELD_PATH_MAX];
    json_field_path(sub, "%s.%s", path, key);
    out->set = true;
    if ((rc = json_field_str(c, o, sub, "value", &out->value)))
        return rc;
    return json_field_obj(c, o, sub, "valueFrom", &out->value_from);
}

static int parse_gcs_ft(const struct json_field_ctx *c, const json_t *spec,
                        struct raycluster_gcs_ft *ft)
{
    json_t *o;
    const char *p = "spec.gcsFaultToleranceOptions";
    int rc = json_field_obj(c, spec, "spec", "gcsFaultToleranceOptions", &o);
    if (rc || !o)
        return rc;
    ft->set = true;
    if ((rc = json_field_str(c, o, p, "backend", &ft->backend)) ||
        (rc = json_field_str(c, o, p, "redisAddress", &ft->redis_address)) ||
        (rc = json_field_str(c, o, p, "externalStorageNamespace",
                             &ft->external_storage_namespace)) ||
        (rc = parse_credential(c, o, p, "redisUsername", &ft->redis_username)) ||
        (rc = parse_credential(c, o, p, "redisPassword", &ft->redis_password)) ||
        (rc = json_field_obj(c, o, p, "storage", &ft->storage)))
        return rc;
    if (ft->backend && strcmp(ft->backend, "redis") != 0 && strcmp(ft->backend, "rocksdb") != 0)
        return krc_error_set(c->err, KRC_EINVAL,
                             "RayCluster %s/%s: %s.backend: unsupported value \"%s\" (supported: "
                             "\"redis\", \"rocksdb\")",
                             c->ns, c->name, p, ft->backend);
    const char *sp = "spec.gcsFaultToleranceOptions.storage";
    if ((rc = json_field_str(c, ft->storage, sp, "claimName", &ft->storage_claim_name)) ||
        (rc = json_field_str(c, ft->storage, sp, "subPath", &ft->storage_sub_path)))
        return rc;
    return 0;
}

static int parse_autoscaler(const struct json_field_ctx *c, const json_t *spec,
                            struct raycluster_autoscaler_options *a)
{
    json_t *o;
    const char *p = "spec.autoscalerOptions";
    int rc = json_field_obj(c, spec, "spec", "autoscalerOptions", &o);
    if (rc || !o)
        return rc;
    a->set = true;
    const char *version = NULL;
    if ((rc = json_field_str(c, o, p, "version", &version)) ||
        (rc = json_field_str(c, o, p, "image", &a->image)) ||
        (rc = json_field_str(c, o, p, "imagePullPolicy", &a->image_pull_policy)) ||
        (rc = json_field_str(c, o, p, "upscalingMode", &a->upscaling_mode)) ||
        (rc = json_field_obj(c, o, p, "resources", &a->resources)) ||
        (rc = json_field_obj(c, o, p, "securityContext", &a->security_context)) ||
        (rc = json_field_arr(c, o, p, "env", &a->env)) ||
        (rc = json_field_arr(c, o, p, "envFrom", &a->env_from)) ||
        (rc = json_field_arr(c, o, p, "volumeMounts", &a->volume_mounts)) ||
        (rc = json_field_str_list(c, o, p, "command", &a->command)) ||
        (rc = json_field_str_list(c, o, p, "args", &a->args)) ||
        (rc = json_field_i32(c, o, p, "idleTimeoutSeconds", &a->idle_timeout_seconds)))
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

static int parse_head(const struct json_field_ctx *c, const json_t *spec,
                      struct raycluster_head_group *h)
{
    json_t *o;
    const char *p = "spec.headGroupSpec";
    int rc;
    if ((rc = json_field_obj_required(c, spec, "spec", "headGroupSpec", &o)) ||
        (rc = get_template(c, o, p, &h->template)) ||
        (rc = json_field_str_map(c, o, p, "resources", &h->resources)) ||
        (rc = json_field_str_map(c, o, p, "labels", &h->labels)) ||
        (rc = json_field_str(c, o, p, "serviceType", &h->service_type)) ||
        (rc = json_field_obj(c, o, p, "headService", &h->head_service)) ||
        (rc = json_field_opt_bool(c, o, p, "enableIngress", &h->enable_ingress)) ||
        (rc = json_field_obj(c, o, p, "ingressOptions", &h->ingress_options)))
        return rc;
    return get_params(c, o, p, &h->ray_start_params);
}

static int parse_worker(const struct json_field_ctx *c, const json_t *o, size_t idx,
                        struct raycluster_worker_group *w)
{
    char p[JSON_FIELD_PATH_MAX], sp[JSON_FIELD_PATH_MAX];
    int rc;
    json_field_path(p, "spec.workerGroupSpecs[%zu]", idx);
    if (!json_is_object(o))
        return json_field_fail_at(c, p, "an object", o);
    json_t *scale = NULL;
    if ((rc = json_field_str(c, o, p, "groupName", &w->group_name)) ||
        (rc = json_field_i32(c, o, p, "replicas", &w->replicas)) ||
        (rc = json_field_i32(c, o, p, "minReplicas", &w->min_replicas)) ||
        (rc = json_field_i32(c, o, p, "maxReplicas", &w->max_replicas)) ||
        (rc = json_field_i32(c, o, p, "idleTimeoutSeconds", &w->idle_timeout_seconds)) ||
        (rc = json_field_i32(c, o, p, "priority", &w->priority)) ||
        (rc = json_field_i32(c, o, p, "numOfHosts", &w->num_of_hosts)) ||
        (rc = json_field_opt_bool(c, o, p, "suspend", &w->suspend)) ||
        (rc = json_field_str_map(c, o, p, "resources", &w->resources)) ||
        (rc = json_field_str_map(c, o, p, "labels", &w->labels)) ||
        (rc = get_template(c, o, p, &w->template)) ||
        (rc = json_field_obj(c, o, p, "scaleStrategy", &scale)))
        return rc;
    json_field_path(sp, "%s.scaleStrategy", p);
    if ((rc = json_field_str_list(c, scale, sp, "workersToDelete", &w->workers_to_delete)))
        return rc;
    if (!w->group_name)
        w->group_name = "";
    return get_params(c, o, p, &w->ray_start_params);
}

/* The small optional blocks of the spec: upgradeStrategy, authOptions, tlsOptions. */
static int parse_options(const struct json_field_ctx *c, const json_t *spec,
                         struct raycluster_spec *s)
{
    json_t *up, *auth, *tls;
    int rc;
    if ((rc = json_field_obj(c, spec, "spec", "upgradeStrategy", &up)) ||
        (rc = json_field_str(c, up, "spec.upgradeStrategy", "type", &s->upgrade_strategy_type)) ||
        (rc = json_field_obj(c, spec, "spec", "authOptions", &auth)) ||
        (rc = json_field_str(c, auth, "spec.authOptions", "mode", &s->auth.mode)) ||
        (rc = json_field_str(c, auth, "spec.authOptions", "secretName", &s->auth.secret_name)) ||
        (rc = json_field_opt_bool(c, auth, "spec.authOptions", "enableK8sTokenAuth",
                                  &s->auth.enable_k8s_token_auth)) ||
        (rc = json_field_obj(c, spec, "spec", "tlsOptions", &tls)) ||
        (rc = json_field_opt_bool(c, tls, "spec.tlsOptions", "enabled", &s->tls_enabled)))
        return rc;
    s->upgrade_strategy_set = up != NULL;
    s->auth.set = auth != NULL;
    s->tls_options_set = tls != NULL;
    return 0;
}

static int parse_spec(const struct json_field_ctx *c, const json_t *spec, struct raycluster_spec *s)
{
    int rc;
    if (!spec)
        return json_field_fail(c, "", "spec", "an object", NULL);
    if ((rc = json_field_str(c, spec, "spec", "rayVersion", &s->ray_version)) ||
        (rc = json_field_opt_bool(c, spec, "spec", "enableInTreeAutoscaling",
                                  &s->enable_in_tree_autoscaling)) ||
        (rc = json_field_opt_bool(c, spec, "spec", "suspend", &s->suspend)) ||
        (rc = json_field_str(c, spec, "spec", "managedBy", &s->managed_by)) ||
        (rc = json_field_str_map(c, spec, "spec", "headServiceAnnotations",
                                 &s->head_service_annotations)) ||
        (rc = parse_autoscaler(c, spec, &s->autoscaler)) ||
        (rc = parse_gcs_ft(c, spec, &s->gcs_ft)) ||
        (rc = json_field_obj(c, spec, "spec", "networkPolicy", &s->network_policy)) ||
        (rc = json_field_obj(c, spec, "spec", "historyServerOptions", &s->history_server_options)))
        return rc;
    if (!s->ray_version)
        s->ray_version = "";
    if ((rc = parse_options(c, spec, s)) || (rc = parse_head(c, spec, &s->head)))
        return rc;
    json_t *workers;
    if ((rc = json_field_arr(c, spec, "spec", "workerGroupSpecs", &workers)))
        return rc;
    size_t n = json_array_size(workers);
    if (n == 0)
        return 0;
    s->workers = calloc(n, sizeof(*s->workers));
    if (!s->workers)
        return json_field_oom(c);
    for (size_t i = 0; i < n; i++) {
        s->n_workers = i + 1; /* so release frees the params of groups parsed so far */
        if ((rc = parse_worker(c, json_array_get(workers, i), i, &s->workers[i])))
            return rc;
    }
    return 0;
}

int raycluster_parse(json_t *doc, struct raycluster *rc, struct krc_error *err)
{
    struct json_field_ctx c = {"RayCluster", "", "", err};
    int r;
    memset(rc, 0, sizeof(*rc));
    raycluster_status_init(&rc->status);
    if (!json_is_object(doc))
        return krc_error_set(err, KRC_EINVAL, "RayCluster: expected a JSON object, got %s",
                             json_field_type_name(doc));
    rc->root = json_incref(doc);
    if ((r = json_field_objmeta(&c, doc, &rc->meta)))
        goto err;
    json_t *spec = NULL, *status = NULL;
    if ((r = json_field_obj(&c, doc, "", "spec", &spec)) || (r = parse_spec(&c, spec, &rc->spec)))
        goto err;
    if ((r = json_field_obj(&c, doc, "", "status", &status)))
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

int raycluster_parse_embedded(const struct json_field_ctx *c, json_t *cluster_spec,
                              json_t *annotations, const char *kind, const char *path,
                              struct raycluster *out)
{
    json_t *doc = json_object(), *meta = json_object();
    int rc = 0;
    if (!doc || !meta || json_object_set_new(doc, "metadata", meta)) {
        if (!doc)
            json_decref(meta);
        json_decref(doc);
        return json_field_oom(c);
    }
    if (kobj_set_str(meta, "name", c->name) || kobj_set_str(meta, "namespace", c->ns) ||
        (annotations && json_object_set(meta, "annotations", annotations)) ||
        json_object_set(doc, "spec", cluster_spec)) {
        rc = json_field_oom(c);
        goto out;
    }
    struct krc_error cerr;
    krc_error_clear(&cerr);
    rc = raycluster_parse(doc, out, &cerr);
    if (rc == KRC_ENOMEM) {
        rc = json_field_oom(c);
    } else if (rc) {
        char prefix[KRC_ERROR_MSG_MAX];
        snprintf(prefix, sizeof(prefix), "RayCluster %s/%s: spec", c->ns, c->name);
        size_t plen = strlen(prefix);
        const char *rest = strncmp(cerr.msg, prefix, plen) == 0 ? cerr.msg + plen : cerr.msg;
        rc = krc_error_set(c->err, rc, "%s %s/%s: %s%s", kind, c->ns, c->name, path, rest);
    }
out:
    json_decref(doc);
    return rc;
}
