/* raycluster_validate.c - controller-side RayCluster validation (spec §5.2, §5.3), in KubeRay's
 * order, with KubeRay's messages. The first failing rule wins, as in KubeRay.
 *
 * Messages are behaviour (users and tests match on them), so they are spelled out here exactly as
 * KubeRay prints them. The one place KubeRay is not deterministic - it walks a Go map when
 * checking group labels - is made deterministic by visiting keys in sorted order. */
#include "api/raycluster.h"

#include "api/generic_version.h"
#include "api/k8s_validation.h"
#include "api/kobj.h"
#include "api/valctx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *template_spec(const json_t *tmpl)
{
    return kobj_obj(tmpl, "spec");
}

static json_t *ray_container(const json_t *tmpl)
{
    return kobj_container(template_spec(tmpl), 0);
}

static size_t container_count(const json_t *tmpl)
{
    return json_array_size(kobj_arr(template_spec(tmpl), "containers"));
}

static const char *restart_policy(const json_t *tmpl)
{
    const char *p = kobj_str(template_spec(tmpl), "restartPolicy");
    return p ? p : "";
}

/* EnvVarByName(...).Value: "" for valueFrom entries; NULL when the variable is absent. */
static const char *env_value(const json_t *container, const char *name)
{
    json_t *e = kobj_env_find(container, name);
    if (!e)
        return NULL;
    const char *v = kobj_str(e, "value");
    return v ? v : "";
}

static bool nonempty(const char *s)
{
    return s && *s;
}

/* --- metadata ------------------------------------------------------------------------------ */

int raycluster_validate_metadata(const struct raycluster *rc, struct krc_error *err,
                                 struct krc_strbuf *full)
{
    struct valctx v = {err, full};
    const char *name = rc->meta.name;
    if (strlen(name) > RAYCLUSTER_MAX_NAME_LEN)
        return valctx_reject(&v, "RayCluster name should be no more than %d characters",
                             RAYCLUSTER_MAX_NAME_LEN);
    struct k8sval_errs errs;
    k8sval_errs_init(&errs);
    k8sval_dns1035_label(name, &errs);
    if (errs.n) {
        char buf[K8SVAL_MAX_ERRS * K8SVAL_MSG_MAX];
        return valctx_reject(&v, "RayCluster name should be a valid DNS1035 label: %s",
                             k8sval_errs_format(&errs, buf, sizeof(buf)));
    }
    return 0;
}

/* --- group rules ----------------------------------------------------------------------------- */

static int validate_group_resources(struct valctx *v, const char *group, const json_t *params,
                                    const json_t *resources)
{
    bool has =
        nonempty(kobj_map_get(params, "num-cpus")) || nonempty(kobj_map_get(params, "num-gpus")) ||
        nonempty(kobj_map_get(params, "memory")) || nonempty(kobj_map_get(params, "resources"));
    if (has && json_object_size(resources) > 0)
        return valctx_reject(
            v,
            "resource fields should not be set in both rayStartParams and Resources "
            "for %s group; please use only one",
            group);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of a map in byte order; *out must be freed. NULL keys array for an empty map. */
static int sorted_keys(const json_t *map, const char ***out, size_t *n)
{
    *n = json_object_size(map);
    *out = NULL;
    if (*n == 0)
        return 0;
    const char **keys = malloc(*n * sizeof(*keys));
    if (!keys)
        return KRC_ENOMEM;
    size_t i = 0;
    void *it = json_object_iter((json_t *)(uintptr_t)map);
    for (; it; it = json_object_iter_next((json_t *)(uintptr_t)map, it))
        keys[i++] = json_object_iter_key(it);
    qsort(keys, *n, sizeof(*keys), cmp_str);
    *out = keys;
    return 0;
}

static int validate_group_labels(struct valctx *v, const char *group, const json_t *params,
                                 const json_t *labels)
{
    if (json_object_get(params, "labels"))
        return valctx_reject(
            v,
            "rayStartParams['labels'] is not supported for %s group; please use the "
            "top-level Labels field instead",
            group);
    const char **keys;
    size_t n;
    if (sorted_keys(labels, &keys, &n))
        return valctx_oom(v);
    struct krc_strbuf all = KRC_STRBUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *val = kobj_map_get(labels, keys[i]);
        struct k8sval_errs ke, ve;
        k8sval_errs_init(&ke);
        k8sval_errs_init(&ve);
        k8sval_qualified_name(keys[i], &ke);
        k8sval_label_value(val ? val : "", &ve);
        for (size_t j = 0; j < ke.n && !rc; j++)
            rc = krc_strbuf_addf(&all, "%sinvalid label key for %s group: '%s', error: %s",
                                 all.len ? "; " : "", group, keys[i], ke.msg[j]);
        for (size_t j = 0; j < ve.n && !rc; j++)
            rc = krc_strbuf_addf(&all,
                                 "%sinvalid label value for key '%s' in %s group: '%s', error: %s",
                                 all.len ? "; " : "", keys[i], group, val ? val : "", ve.msg[j]);
    }
    free(keys);
    if (rc)
        rc = valctx_oom(v);
    else if (all.len)
        rc = valctx_reject(v, "%s", all.buf);
    krc_strbuf_release(&all);
    return rc;
}

static bool autoscaler_v2(const struct raycluster *rc)
{
    return rc->spec.autoscaler.set && rc->spec.autoscaler.version == RAYCLUSTER_AUTOSCALER_V2;
}

/* Autoscaler v2 selected by options, or by the head env var (KubeRay < 1.4 style). */
static bool autoscaler_v2_selected(const struct raycluster *rc)
{
    if (autoscaler_v2(rc))
        return true;
    const char *e = env_value(ray_container(rc->spec.head.template), "RAY_enable_autoscaler_v2");
    return e && (strcmp(e, "1") == 0 || strcmp(e, "true") == 0);
}

static int validate_idle_timeout(struct valctx *v, const struct raycluster *rc,
                                 const struct raycluster_worker_group *w)
{
    if (!w->idle_timeout_seconds.set)
        return 0;
    if (w->idle_timeout_seconds.v < 0)
        return valctx_reject(v, "worker group %s: idleTimeoutSeconds must be non-negative, got %d",
                             w->group_name, (int)w->idle_timeout_seconds.v);
    if (autoscaler_v2_selected(rc))
        return 0;
    return valctx_reject(
        v,
        "worker group %s: idleTimeoutSeconds is set, but autoscaler v2 is not enabled. "
        "Please set .spec.autoscalerOptions.version to 'v2' (or set "
        "RAY_enable_autoscaler_v2 environment variable to 'true' in the head pod if "
        "using KubeRay < 1.4.0)",
        w->group_name);
}

static int validate_priority(struct valctx *v, const struct raycluster *rc,
                             const struct raycluster_worker_group *w)
{
    if (!w->priority.set || w->priority.v == 0)
        return 0;
    const char *rv = rc->spec.ray_version;
    if (!*rv)
        return valctx_reject(
            v,
            "worker group %s: priority is set, but RayVersion was not specified. Ray "
            "version 2.56.0 or later is required",
            w->group_name);
    struct generic_version ver, min = {3, {2, 56, 0}};
    struct krc_error perr;
    if (generic_version_parse(rv, &ver, &perr))
        return valctx_reject(
            v, "worker group %s: priority is set, but RayVersion format is invalid: %s, %s",
            w->group_name, rv, perr.msg);
    if (generic_version_cmp(&ver, &min) < 0)
        return valctx_reject(
            v, "worker group %s: priority is set, but minimum Ray version is 2.56.0, got %s",
            w->group_name, rv);
    if (autoscaler_v2_selected(rc))
        return 0;
    return valctx_reject(
        v,
        "worker group %s: priority is set to %d, but autoscaler v2 is not enabled. "
        "Priority is only supported with autoscaler v2 enabled",
        w->group_name, (int)w->priority.v);
}

static int validate_worker(struct valctx *v, const struct raycluster *rc,
                           const struct raycluster_worker_group *w, bool autoscaling)
{
    const char *g = w->group_name;
    int r;
    if (container_count(w->template) == 0)
        return valctx_reject(v, "workerGroupSpec should have at least one container");
    if (!autoscaling && (!w->min_replicas.set || !w->max_replicas.set))
        return valctx_reject(v,
                             "worker group %s must set both minReplicas and maxReplicas when "
                             "autoscaling is disabled",
                             g);
    if (w->min_replicas.set && w->min_replicas.v < 0)
        return valctx_reject(v, "worker group %s has negative minReplicas %d", g,
                             (int)w->min_replicas.v);
    if (w->max_replicas.set && w->max_replicas.v < 0)
        return valctx_reject(v, "worker group %s has negative maxReplicas %d", g,
                             (int)w->max_replicas.v);
    if (w->min_replicas.set && w->max_replicas.set && w->min_replicas.v > w->max_replicas.v)
        return valctx_reject(v, "worker group %s has minReplicas %d greater than maxReplicas %d", g,
                             (int)w->min_replicas.v, (int)w->max_replicas.v);
    if ((r = validate_group_resources(v, g, w->ray_start_params, w->resources)) ||
        (r = validate_group_labels(v, g, w->ray_start_params, w->labels)) ||
        (r = validate_idle_timeout(v, rc, w)) || (r = validate_priority(v, rc, w)))
        return r;
    return 0;
}

/* --- GCS fault tolerance ------------------------------------------------------------------- */

static int validate_gcs_backend(struct valctx *v, const struct raycluster *rc,
                                const struct raycluster_gates *g, const json_t *head)
{
    const struct raycluster_gcs_ft *ft = &rc->spec.gcs_ft;
    if (!raycluster_gcs_ft_embedded(rc)) {
        if (ft->storage)
            return valctx_reject(v, "cannot set GcsFaultToleranceOptions.Storage when backend is "
                                    "'redis' - it only applies to the 'rocksdb' backend");
        return 0;
    }
    if (!g->gcs_ft_embedded)
        return valctx_reject(v, "the embedded RocksDB GCS fault tolerance backend "
                                "(GcsFaultToleranceOptions.Backend: 'rocksdb') requires the "
                                "GCSFaultToleranceEmbeddedStorage feature gate to be enabled");
    if (nonempty(ft->redis_address))
        return valctx_reject(v, "cannot set GcsFaultToleranceOptions.RedisAddress when backend is "
                                "'rocksdb'");
    if (ft->redis_username.set)
        return valctx_reject(v, "cannot set GcsFaultToleranceOptions.RedisUsername when backend is "
                                "'rocksdb'");
    if (ft->redis_password.set)
        return valctx_reject(v, "cannot set GcsFaultToleranceOptions.RedisPassword when backend is "
                                "'rocksdb'");
    if (nonempty(ft->external_storage_namespace))
        return valctx_reject(v, "cannot set GcsFaultToleranceOptions.ExternalStorageNamespace when "
                                "backend is 'rocksdb'");
    if (ft->storage && nonempty(ft->storage_claim_name)) {
        json_t *modes = kobj_arr(ft->storage, "accessModes");
        json_t *size = json_object_get(ft->storage, "size");
        json_t *cls = json_object_get(ft->storage, "storageClassName");
        if ((size && !json_is_null(size)) || (cls && !json_is_null(cls)) ||
            json_array_size(modes) > 0)
            return valctx_reject(v,
                                 "GcsFaultToleranceOptions.Storage.ClaimName is mutually exclusive "
                                 "with size, storageClassName, and accessModes");
    }
    if (kobj_env_exists(head, "RAY_gcs_storage") || kobj_env_exists(head, "RAY_gcs_storage_path"))
        return valctx_reject(
            v, "cannot set `RAY_gcs_storage` or `RAY_gcs_storage_path` env var in head "
               "Pod when the embedded GCS FT backend is used - these are managed by "
               "KubeRay");
    if (kobj_mount_path_exists(head, "/data/gcs") || kobj_mount_name_exists(head, "gcs-storage"))
        return valctx_reject(
            v, "cannot set a volume mount named \"gcs-storage\" or mounted at /data/gcs "
               "in the head container when the embedded GCS FT backend is used - it is "
               "managed by KubeRay");
    if (kobj_volume_exists(template_spec(rc->spec.head.template), "gcs-storage"))
        return valctx_reject(v,
                             "cannot set a volume named \"gcs-storage\" in the head Pod when the "
                             "embedded GCS FT backend is used - it is managed by KubeRay");
    return 0;
}

static int validate_gcs_ft(struct valctx *v, const struct raycluster *rc,
                           const struct raycluster_gates *g, const json_t *head)
{
    const char *ft_anno = raycluster_annotation(rc, RAY_ANNOTATION_FT_ENABLED);
    if (nonempty(ft_anno) && rc->spec.gcs_ft.set)
        return valctx_reject(v,
                             "ray.io/ft-enabled annotation and GcsFaultToleranceOptions are both "
                             "set. Please use only GcsFaultToleranceOptions to configure GCS fault "
                             "tolerance");
    if (!raycluster_gcs_ft_enabled(rc) && kobj_env_exists(head, "RAY_REDIS_ADDRESS"))
        return valctx_reject(
            v, "RAY_REDIS_ADDRESS is set which implicitly enables GCS fault tolerance, "
               "but GcsFaultToleranceOptions is not set. Please set "
               "GcsFaultToleranceOptions to enable GCS fault tolerance");
    if (rc->spec.gcs_ft.set) {
        if (nonempty(kobj_map_get(rc->spec.head.ray_start_params, "redis-password")))
            return valctx_reject(v, "cannot set `redis-password` in rayStartParams when "
                                    "GcsFaultToleranceOptions is enabled - use "
                                    "GcsFaultToleranceOptions.RedisPassword instead");
        if (kobj_env_exists(head, "REDIS_PASSWORD"))
            return valctx_reject(v, "cannot set `REDIS_PASSWORD` env var in head Pod when "
                                    "GcsFaultToleranceOptions is enabled - use "
                                    "GcsFaultToleranceOptions.RedisPassword instead");
        if (kobj_env_exists(head, "RAY_REDIS_ADDRESS"))
            return valctx_reject(v, "cannot set `RAY_REDIS_ADDRESS` env var in head Pod when "
                                    "GcsFaultToleranceOptions is enabled - use "
                                    "GcsFaultToleranceOptions.RedisAddress instead");
        if (nonempty(raycluster_annotation(rc, RAY_ANNOTATION_EXTERNAL_STORAGE_NS)))
            return valctx_reject(v,
                                 "cannot set `ray.io/external-storage-namespace` annotation when "
                                 "GcsFaultToleranceOptions is enabled - use "
                                 "GcsFaultToleranceOptions.ExternalStorageNamespace instead");
        int r = validate_gcs_backend(v, rc, g, head);
        if (r)
            return r;
    }
    if (nonempty(kobj_map_get(rc->spec.head.ray_start_params, "redis-username")) ||
        kobj_env_exists(head, "REDIS_USERNAME"))
        return valctx_reject(
            v, "cannot set redis username in rayStartParams or environment variables - "
               "use GcsFaultToleranceOptions.RedisUsername instead");
    return 0;
}

/* --- autoscaler ---------------------------------------------------------------------------- */

static int validate_autoscaler(struct valctx *v, const struct raycluster *rc, const json_t *head,
                               bool autoscaling)
{
    const struct raycluster_autoscaler_options *a = &rc->spec.autoscaler;
    if (!autoscaling) {
        const char *e = env_value(head, "RAY_enable_autoscaler_v2");
        if (e && (strcmp(e, "1") == 0 || strcmp(e, "true") == 0))
            return valctx_reject(
                v,
                "environment variable RAY_enable_autoscaler_v2 cannot be set to '%s' "
                "when enableInTreeAutoscaling is false. Please set "
                "enableInTreeAutoscaling: true to use autoscaler v2",
                e);
    } else {
        for (size_t i = 0; i < rc->spec.n_workers; i++)
            if (raycluster_group_suspended(&rc->spec.workers[i]))
                return valctx_reject(v,
                                     "worker group %s cannot be suspended with Autoscaler enabled",
                                     rc->spec.workers[i].group_name);
        if (a->set && a->version != RAYCLUSTER_AUTOSCALER_UNSET &&
            kobj_env_exists(head, "RAY_enable_autoscaler_v2"))
            return valctx_reject(v, "both .spec.autoscalerOptions.version and head Pod env var "
                                    "RAY_enable_autoscaler_v2 are set, please only use the former");
        if (autoscaler_v2(rc)) {
            const char *p = restart_policy(rc->spec.head.template);
            if (*p && strcmp(p, "Never") != 0)
                return valctx_reject(
                    v, "restartPolicy for head Pod should be Never or unset when using "
                       "autoscaler V2");
            for (size_t i = 0; i < rc->spec.n_workers; i++) {
                p = restart_policy(rc->spec.workers[i].template);
                if (*p && strcmp(p, "Never") != 0)
                    return valctx_reject(
                        v,
                        "restartPolicy for worker group %s should be Never or unset "
                        "when using autoscaler V2",
                        rc->spec.workers[i].group_name);
            }
        }
    }
    if (a->set && a->idle_timeout_seconds.set && a->idle_timeout_seconds.v < 0)
        return valctx_reject(v, "autoscalerOptions.idleTimeoutSeconds must be non-negative, got %d",
                             (int)a->idle_timeout_seconds.v);
    if (a->set && kobj_list_find(a->env, "name", "KUBERAY_GEN_AUTOSCALER_START_CMD"))
        return valctx_reject(
            v, "autoscalerOptions.env must not contain KUBERAY_GEN_AUTOSCALER_START_CMD: "
               "it is managed by KubeRay and injected automatically into the autoscaler "
               "container");
    return 0;
}

/* --- history server collector [NICHE] ------------------------------------------------------ */

static json_t *env_entry(const json_t *list, const char *name)
{
    size_t i;
    json_t *e, *found = NULL;
    json_array_foreach(list, i, e)
    {
        const char *n = kobj_str(e, "name");
        if (n && strcmp(n, name) == 0)
            found = e; /* KubeRay builds a map: the last entry of a name wins */
    }
    return found;
}

static bool env_has_value(const json_t *list, const char *name)
{
    json_t *e = env_entry(list, name);
    if (!e)
        return false;
    json_t *vf = json_object_get(e, "valueFrom");
    return nonempty(kobj_str(e, "value")) || (vf && !json_is_null(vf));
}

static int validate_collector(struct valctx *v, const json_t *opts)
{
    if (!nonempty(kobj_str(opts, "image")))
        return valctx_reject(v, "historyServerOptions.collectorOptions.image must be set");
    json_t *env = kobj_arr(opts, "env");
    static const char *const forbidden[] = {
        "POD_IP",   "FQ_RAY_IP",  "RAY_CLUSTER_NAME", "RAY_CLUSTER_NAMESPACE",
        "RAY_ROLE", "OWNER_KIND", "OWNER_NAME",       "EVENTS_PORT"};
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
        if (env_entry(env, forbidden[i]))
            return valctx_reject(
                v,
                "historyServerOptions.collectorOptions.env must not contain %s: it is "
                "managed by KubeRay and injected automatically into the collector "
                "container",
                forbidden[i]);
    json_t *backend_env = env_entry(env, "STORAGE_BACKEND");
    const char *backend = kobj_str(backend_env, "value");
    if (!nonempty(backend))
        return valctx_reject(
            v, "STORAGE_BACKEND environment variable must be set with a literal string "
               "value in historyServerOptions.collectorOptions.env");
    char up[32];
    size_t i;
    for (i = 0; backend[i] && i + 1 < sizeof(up); i++)
        up[i] = (backend[i] >= 'a' && backend[i] <= 'z') ? (char)(backend[i] - 32) : backend[i];
    up[i] = '\0';
    if (strcmp(up, "GCS") == 0 && !env_has_value(env, "GCS_BUCKET"))
        return valctx_reject(
            v, "GCS_BUCKET environment variable must be set when STORAGE_BACKEND is GCS");
    if (strcmp(up, "S3") == 0 && !env_has_value(env, "S3_REGION"))
        return valctx_reject(
            v, "S3_REGION environment variable must be set when STORAGE_BACKEND is S3");
    if (strcmp(up, "AZUREBLOB") == 0) {
        char mode[64] = "";
        const char *m = kobj_str(env_entry(env, "AZURE_STORAGE_AUTH_MODE"), "value");
        if (m) {
            while (*m == ' ' || *m == '\t' || *m == '\n' || *m == '\r')
                m++;
            size_t k;
            for (k = 0; m[k] && k + 1 < sizeof(mode); k++)
                mode[k] = (m[k] >= 'A' && m[k] <= 'Z') ? (char)(m[k] + 32) : m[k];
            while (k > 0 && (mode[k - 1] == ' ' || mode[k - 1] == '\t' || mode[k - 1] == '\n' ||
                             mode[k - 1] == '\r'))
                k--;
            mode[k] = '\0';
        }
        bool conn = env_has_value(env, "AZURE_STORAGE_CONNECTION_STRING");
        bool url = env_has_value(env, "AZURE_STORAGE_ACCOUNT_URL");
        if (strcmp(mode, "connection_string") == 0) {
            if (!conn)
                return valctx_reject(v,
                                     "AZURE_STORAGE_CONNECTION_STRING environment variable must be "
                                     "set when STORAGE_BACKEND is AZUREBLOB and "
                                     "AZURE_STORAGE_AUTH_MODE is connection_string");
        } else if (strcmp(mode, "workload_identity") == 0 || strcmp(mode, "default") == 0) {
            if (!url)
                return valctx_reject(
                    v,
                    "AZURE_STORAGE_ACCOUNT_URL environment variable must be set when "
                    "STORAGE_BACKEND is AZUREBLOB and AZURE_STORAGE_AUTH_MODE is %s",
                    mode);
        } else if (!conn && !url) {
            return valctx_reject(
                v, "either AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL "
                   "environment variable must be set when STORAGE_BACKEND is AZUREBLOB");
        }
    }
    if (strcmp(up, "ALIYUNOSS") == 0) {
        static const char *const need[] = {"OSS_BUCKET", "OSS_ENDPOINT", "OSS_REGION"};
        for (size_t k = 0; k < 3; k++)
            if (!env_has_value(env, need[k]))
                return valctx_reject(v,
                                     "%s environment variable must be set when STORAGE_BACKEND is "
                                     "ALIYUNOSS",
                                     need[k]);
    }
    return 0;
}

static bool template_has_container(const json_t *tmpl, const char *name)
{
    return kobj_list_find(kobj_arr(template_spec(tmpl), "containers"), "name", name) != NULL;
}

static int validate_history_server(struct valctx *v, const struct raycluster *rc,
                                   const struct raycluster_gates *g)
{
    const json_t *h = rc->spec.history_server_options;
    if (!h)
        return 0;
    if (!g->history_server)
        return valctx_reject(v, "RayClusterHistoryServer feature gate is not enabled");
    json_t *opts = kobj_obj(h, "collectorOptions");
    if (!opts)
        return valctx_reject(v, "historyServerOptions.collectorOptions must be set");
    int r = validate_collector(v, opts);
    if (r)
        return r;
    if (template_has_container(rc->spec.head.template, "ray-history-collector"))
        return valctx_reject(v, "head pod template must not define a container with name "
                                "'ray-history-collector' when history server collector options are "
                                "enabled");
    for (size_t i = 0; i < rc->spec.n_workers; i++)
        if (template_has_container(rc->spec.workers[i].template, "ray-history-collector"))
            return valctx_reject(
                v,
                "worker group %s pod template must not define a container with name "
                "'ray-history-collector' when history server collector options are "
                "enabled",
                rc->spec.workers[i].group_name);
    return 0;
}

/* --- auth ----------------------------------------------------------------------------------- */

static int validate_auth(struct valctx *v, const struct raycluster *rc)
{
    if (!raycluster_auth_enabled(rc)) {
        if (raycluster_k8s_auth_enabled(rc))
            return valctx_reject(
                v, "authOptions.enableK8sTokenAuth is enabled but authOptions.mode not "
                   "set to 'token'");
        return 0;
    }
    const char *rv = rc->spec.ray_version;
    if (!*rv)
        return valctx_reject(v, "authOptions.mode is 'token' but RayVersion was not specified. Ray "
                                "version 2.52.0 or later is required");
    struct generic_version ver, min52 = {3, {2, 52, 0}}, min55 = {3, {2, 55, 0}};
    struct krc_error perr;
    if (generic_version_parse(rv, &ver, &perr))
        return valctx_reject(v,
                             "authOptions.mode is 'token' but RayVersion format is invalid: %s, %s",
                             rv, perr.msg);
    if (generic_version_cmp(&ver, &min52) < 0)
        return valctx_reject(
            v, "authOptions.mode is 'token' but minimum Ray version is 2.52.0, got %s", rv);
    if (raycluster_k8s_auth_enabled(rc)) {
        if (generic_version_cmp(&ver, &min55) < 0)
            return valctx_reject(
                v,
                "authOptions.enableK8sTokenAuth is enabled but minimum Ray version is "
                "2.55.0, got %s",
                rv);
        if (nonempty(rc->spec.auth.secret_name))
            return valctx_reject(
                v, "authOptions.enableK8sTokenAuth is enabled and authOptions.secretName "
                   "is also set");
    }
    return 0;
}

/* --- network policy [NICHE] ----------------------------------------------------------------- */

static int check_rules(struct valctx *v, const json_t *rules, const char *where, const char *mode)
{
    if (!rules)
        return 0;
    if (strcmp(mode, "DenyAllEgress") == 0 && json_array_size(kobj_arr(rules, "ingressRules")))
        return valctx_reject(v,
                             "%s.ingressRules cannot be set when mode is \"%s\" (ingress is not "
                             "restricted)",
                             where, mode);
    if (strcmp(mode, "DenyAllIngress") == 0 && json_array_size(kobj_arr(rules, "egressRules")))
        return valctx_reject(
            v, "%s.egressRules cannot be set when mode is \"%s\" (egress is not restricted)", where,
            mode);
    return 0;
}

static int validate_network_policy(struct valctx *v, const struct raycluster *rc,
                                   const struct raycluster_gates *g)
{
    const json_t *np = rc->spec.network_policy;
    if (!np)
        return 0;
    if (!g->network_policy)
        return valctx_reject(
            v, "spec.networkPolicy requires the RayClusterNetworkPolicy feature gate to "
               "be enabled");
    const char *mode = kobj_str(np, "mode");
    if (!mode)
        mode = "DenyAll";
    int r;
    if ((r = check_rules(v, kobj_obj(np, "head"), "networkPolicy.head", mode)) ||
        (r = check_rules(v, kobj_obj(np, "worker"), "networkPolicy.worker", mode)))
        return r;
    for (size_t i = 0; i < rc->spec.n_workers; i++) {
        const char *name = rc->spec.workers[i].group_name;
        struct k8sval_errs errs;
        k8sval_errs_init(&errs);
        k8sval_dns1123_label(name, &errs);
        if (errs.n) {
            char buf[K8SVAL_MAX_ERRS * K8SVAL_MSG_MAX];
            return valctx_reject(
                v,
                "worker group name \"%s\" must be a valid DNS1123 label when "
                "networkPolicy is enabled (it is embedded in the NetworkPolicy name): %s",
                name, k8sval_errs_format(&errs, buf, sizeof(buf)));
        }
    }
    json_t *groups = kobj_arr(np, "workerGroups");
    size_t i;
    json_t *wg;
    json_array_foreach(groups, i, wg)
    {
        const char *name = kobj_str(wg, "groupName");
        char where[320];
        snprintf(where, sizeof(where), "networkPolicy.workerGroups[\"%s\"]", name ? name : "");
        if ((r = check_rules(v, wg, where, mode)))
            return r;
        bool found = false;
        for (size_t k = 0; k < rc->spec.n_workers && !found; k++)
            found = name && strcmp(rc->spec.workers[k].group_name, name) == 0;
        if (!found)
            return valctx_reject(v, "%s does not match any group name in workerGroupSpecs", where);
    }
    return 0;
}

/* --- mTLS [NICHE] --------------------------------------------------------------------------- */

static const char *const tls_env[] = {"RAY_USE_TLS", "RAY_TLS_SERVER_CERT", "RAY_TLS_SERVER_KEY",
                                      "RAY_TLS_CA_CERT"};

static int check_tls_container(struct valctx *v, const json_t *c, const char *where)
{
    for (size_t i = 0; i < 4; i++)
        if (kobj_env_exists(c, tls_env[i]))
            return valctx_reject(
                v,
                "cannot set %s environment variable in %s when tlsOptions is set - the "
                "operator manages TLS configuration automatically",
                tls_env[i], where);
    json_t *mounts = kobj_arr(c, "volumeMounts");
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m)
    {
        const char *n = kobj_str(m, "name"), *p = kobj_str(m, "mountPath");
        if (n && strcmp(n, "ray-tls") == 0)
            return valctx_reject(
                v,
                "cannot use volume mount named \"ray-tls\" in %s when tlsOptions is set "
                "- the operator manages TLS configuration automatically",
                where);
        if (p && strcmp(p, "/etc/ray/tls") == 0)
            return valctx_reject(
                v,
                "cannot use volume mount at path \"/etc/ray/tls\" in %s when tlsOptions "
                "is set - the operator manages TLS configuration automatically",
                where);
    }
    return 0;
}

static int validate_tls(struct valctx *v, const struct raycluster *rc,
                        const struct raycluster_gates *g)
{
    if (rc->spec.tls_options_set && !g->mtls)
        return valctx_reject(
            v, "spec.tlsOptions requires the RayClusterMTLS feature gate to be enabled");
    if (!raycluster_tls_enabled(rc, g))
        return 0;
    int r;
    json_t *head = ray_container(rc->spec.head.template);
    if (head && (r = check_tls_container(v, head, "head Pod")))
        return r;
    for (size_t i = 0; i < rc->spec.n_workers; i++) {
        json_t *c = ray_container(rc->spec.workers[i].template);
        char where[300];
        snprintf(where, sizeof(where), "worker group \"%s\"", rc->spec.workers[i].group_name);
        if (c && (r = check_tls_container(v, c, where)))
            return r;
    }
    const struct raycluster_autoscaler_options *a = &rc->spec.autoscaler;
    if (!a->set)
        return 0;
    for (size_t i = 0; i < 4; i++)
        if (kobj_list_find(a->env, "name", tls_env[i]))
            return valctx_reject(
                v,
                "cannot set %s environment variable in autoscalerOptions.env when "
                "tlsOptions is set - the operator manages TLS configuration for the "
                "autoscaler automatically",
                tls_env[i]);
    size_t i;
    json_t *m;
    json_array_foreach(a->volume_mounts, i, m)
    {
        const char *n = kobj_str(m, "name"), *p = kobj_str(m, "mountPath");
        if (n && strcmp(n, "ray-tls") == 0)
            return valctx_reject(
                v, "cannot use volume mount named \"ray-tls\" in "
                   "autoscalerOptions.volumeMounts when tlsOptions is set - the operator "
                   "manages TLS configuration automatically");
        if (p && strcmp(p, "/etc/ray/tls") == 0)
            return valctx_reject(
                v, "cannot use volume mount at path \"/etc/ray/tls\" in "
                   "autoscalerOptions.volumeMounts when tlsOptions is set - the operator "
                   "manages TLS configuration automatically");
    }
    return 0;
}

/* --- spec ----------------------------------------------------------------------------------- */

int raycluster_validate_spec(const struct raycluster *rc, const struct raycluster_gates *g,
                             struct krc_error *err, struct krc_strbuf *full)
{
    struct valctx v = {err, full};
    const struct raycluster_head_group *h = &rc->spec.head;
    int r;
    if (container_count(h->template) == 0)
        return valctx_reject(&v, "headGroupSpec should have at least one container");
    if ((r = validate_group_resources(&v, "Head", h->ray_start_params, h->resources)) ||
        (r = validate_group_labels(&v, "Head", h->ray_start_params, h->labels)))
        return r;
    bool autoscaling = raycluster_autoscaling_enabled(rc);
    for (size_t i = 0; i < rc->spec.n_workers; i++)
        if ((r = validate_worker(&v, rc, &rc->spec.workers[i], autoscaling)))
            return r;
    json_t *head = ray_container(h->template);
    if ((r = validate_gcs_ft(&v, rc, g, head)))
        return r;
    if (!g->job_deletion_policy)
        for (size_t i = 0; i < rc->spec.n_workers; i++)
            if (raycluster_group_suspended(&rc->spec.workers[i]))
                return valctx_reject(&v,
                                     "worker group %s can be suspended only when the "
                                     "RayJobDeletionPolicy feature gate is enabled",
                                     rc->spec.workers[i].group_name);
    if ((r = validate_autoscaler(&v, rc, head, autoscaling)) ||
        (r = validate_history_server(&v, rc, g)) || (r = validate_auth(&v, rc)) ||
        (r = validate_network_policy(&v, rc, g)) || (r = validate_tls(&v, rc, g)))
        return r;
    return 0;
}

int raycluster_validate_upgrade_strategy(const struct raycluster *rc, struct krc_error *err)
{
    struct valctx v = {err, NULL};
    const char *t = rc->spec.upgrade_strategy_type;
    if (!t)
        return 0;
    if (strcmp(t, "Recreate") != 0 && strcmp(t, "None") != 0)
        return valctx_reject(
            &v,
            "The RayCluster spec is invalid: Spec.UpgradeStrategy.Type value %s is "
            "invalid, valid options are Recreate or None",
            t);
    enum raycluster_creator c = raycluster_creator(rc);
    if (c == RAYCLUSTER_CREATOR_RAYJOB || c == RAYCLUSTER_CREATOR_RAYSERVICE)
        return valctx_reject(&v, "upgradeStrategy cannot be set when RayCluster is created by %s",
                             raycluster_creator_name(c));
    return 0;
}

int raycluster_validate_status(const struct raycluster *rc, struct krc_error *err)
{
    struct valctx v = {err, NULL};
    if (raycluster_status_condition_true(&rc->status, RAYCLUSTER_COND_SUSPENDING) &&
        raycluster_status_condition_true(&rc->status, RAYCLUSTER_COND_SUSPENDED))
        return valctx_reject(&v, "invalid RayCluster State: rayv1.RayClusterSuspending and "
                                 "rayv1.RayClusterSuspended conditions should not be both true");
    return 0;
}

int raycluster_autoscaler_v1_warning(const struct raycluster *rc, struct krc_strbuf *out)
{
    if (!raycluster_autoscaling_enabled(rc) || !rc->spec.autoscaler.set ||
        rc->spec.autoscaler.version != RAYCLUSTER_AUTOSCALER_V1)
        return 0;
    size_t bad_groups = 0;
    int rc2 = 0;
    krc_strbuf_reset(out);
    for (size_t i = 0; i < rc->spec.n_workers && !rc2; i++) {
        const char *p = restart_policy(rc->spec.workers[i].template);
        if (!*p || strcmp(p, "Never") == 0)
            continue;
        rc2 =
            krc_strbuf_addf(out, "%s%s", bad_groups++ ? ", " : "restartPolicy for worker groups [",
                            rc->spec.workers[i].group_name);
    }
    if (!rc2 && bad_groups)
        rc2 = krc_strbuf_adds(out, "] should be Never or unset when using autoscaler V1");
    if (rc2)
        return KRC_ENOMEM;
    return bad_groups ? 1 : 0;
}
