/* raycluster_pod.c - head and worker Pod construction (spec §7; see raycluster_pod.h).
 *
 * One struct podctx carries the pod being built (a deep copy of the group's template), a private
 * copy of the group's rayStartParams and the derived names. The two public builders are KubeRay's
 * step lists (DefaultHeadPodTemplate / DefaultWorkerPodTemplate, then BuildPod) written out in
 * order; each step is a small static function. Every step returns 0 or a KRC_E* code, and the
 * builders have one cleanup path. */
#include "controller/raycluster_pod.h"

#include "api/generic_version.h"
#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "ray/rayenv.h"
#include "ray/raystart.h"
#include "util/quantity.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHM_VOLUME           "shared-mem"
#define SHM_PATH             "/dev/shm"
#define LOG_VOLUME           "ray-logs"
#define LOG_PATH             "/tmp/ray"
#define AUTOSCALER_CONTAINER "autoscaler"
#define AUTOSCALER_CMD                                                                             \
    "ray kuberay-autoscaler --cluster-name $(RAY_CLUSTER_NAME) --cluster-namespace "               \
    "$(RAY_CLUSTER_NAMESPACE)"
#define ULIMIT_CMD "ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}"
#define WGET_CHECK "wget --tries 1 -T %d -q -O- http://localhost:%lld/%s | grep success"

struct podctx {
    const struct raycluster *rc;
    const struct raycluster_opts *o;
    enum ray_node_type type;
    const char *group;         /* "headgroup" or the worker group name */
    json_t *pod;               /* {apiVersion, kind, metadata, spec}; owned */
    json_t *meta, *spec, *ray; /* borrowed from pod */
    json_t *params;            /* owned copy of rayStartParams */
    const char *head_port;
    char fqdn[RAYNAME_MAX];
    struct krc_error *err;
};

static int nomem(struct podctx *c)
{
    return krc_error_set(c->err, KRC_ENOMEM, "build %s pod for RayCluster %s/%s: out of memory",
                         ray_node_type_name(c->type), c->rc->meta.ns, c->rc->meta.name);
}

/* Maps a step's return code to a filled error: KRC_ENOMEM gets the standard message, any other
 * code is assumed to have filled c->err already. */
static int step(struct podctx *c, int rc)
{
    return rc == KRC_ENOMEM ? nomem(c) : rc;
}

static const char *const bash_c[] = {"/bin/bash", "-c", "--", NULL};
static const char *const bash_cl[] = {"/bin/bash", "-cl", "--", NULL};

static json_t *container_command(const struct podctx *c)
{
    return kobj_strv(c->o->login_shell ? bash_cl : bash_c);
}

/* --- template copy, names, labels, annotations ----------------------------------------------- */

static int copy_template(struct podctx *c, const json_t *tmpl, const char *what)
{
    json_t *pod = json_object();
    json_t *copy = json_deep_copy(tmpl);
    if (!pod || !copy || kobj_set_str(pod, "apiVersion", "v1") ||
        kobj_set_str(pod, "kind", "Pod")) {
        json_decref(pod);
        json_decref(copy);
        return KRC_ENOMEM;
    }
    c->pod = pod;
    json_t *meta = kobj_obj(copy, "metadata");
    json_t *spec = kobj_obj(copy, "spec");
    int rc = kobj_set_new(pod, "metadata", meta ? json_incref(meta) : json_object());
    if (!rc)
        rc = kobj_set_new(pod, "spec", spec ? json_incref(spec) : json_object());
    json_decref(copy);
    if (rc)
        return rc;
    c->meta = kobj_obj(pod, "metadata");
    c->spec = kobj_obj(pod, "spec");
    c->ray = kobj_container(c->spec, 0);
    if (!c->ray)
        return krc_error_set(c->err, KRC_EINVAL,
                             "build %s pod for RayCluster %s/%s: %s should have at least one "
                             "container",
                             ray_node_type_name(c->type), c->rc->meta.ns, c->rc->meta.name, what);
    return 0;
}

/* KubeRay's labelPod: operator labels, then the merged template+group labels overriding all but
 * node-type, group and cluster. */
static int set_labels(struct podctx *c, const json_t *tmpl_labels, const json_t *group_labels)
{
    char ident[RAYNAME_MAX];
    json_t *l = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", RAY_LABEL_IS_RAY_NODE, "yes", RAY_LABEL_CLUSTER,
        c->rc->meta.name, RAY_LABEL_NODE_TYPE, ray_node_type_name(c->type), RAY_LABEL_GROUP,
        c->group, RAY_LABEL_IDENTIFIER, rayname_identifier(c->rc->meta.name, c->type, ident),
        K8S_LABEL_APP_NAME, RAY_APP_NAME, K8S_LABEL_CREATED_BY, RAY_COMPONENT_NAME);
    if (!l)
        return KRC_ENOMEM;
    const json_t *sources[2] = {tmpl_labels, group_labels};
    for (int s = 0; s < 2; s++) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)(uintptr_t)sources[s], k, v)
        {
            if (strcmp(k, RAY_LABEL_NODE_TYPE) == 0 || strcmp(k, RAY_LABEL_GROUP) == 0 ||
                strcmp(k, RAY_LABEL_CLUSTER) == 0 || !json_is_string(v))
                continue;
            if (json_object_set(l, k, v)) {
                json_decref(l);
                return KRC_ENOMEM;
            }
        }
    }
    return kobj_set_new(c->meta, "labels", l);
}

static int set_label_int(json_t *labels, const char *key, int v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%d", v);
    return kobj_set_str(labels, key, buf);
}

static bool ieq_true(const char *v)
{
    return v && strlen(v) == 4 && (v[0] | 32) == 't' && (v[1] | 32) == 'r' && (v[2] | 32) == 'u' &&
           (v[3] | 32) == 'e';
}

static int init_annotations(struct podctx *c)
{
    json_t *a = kobj_ensure_obj(c->meta, "annotations");
    if (!a)
        return KRC_ENOMEM;
    if (ieq_true(raycluster_annotation(c->rc, RAY_ANNOTATION_OVERWRITE_CMD)))
        return kobj_set_str(a, RAY_ANNOTATION_OVERWRITE_CMD, "true");
    return 0;
}

static int add_metrics_port(struct podctx *c)
{
    if (kobj_container_port(c->ray, "metrics", NULL) >= 0)
        return 0;
    json_t *ports = kobj_ensure_arr(c->ray, "ports");
    if (!ports)
        return KRC_ENOMEM;
    return kobj_append_new(ports, json_pack("{s:s, s:i}", "name", "metrics", "containerPort",
                                            RAY_DEFAULT_METRICS_PORT));
}

/* Config defaults for keys the pod does not have yet. */
static int add_missing(json_t *meta, const char *key, const json_t *defaults)
{
    if (json_object_size(defaults) == 0)
        return 0;
    json_t *m = kobj_ensure_obj(meta, key);
    if (!m)
        return KRC_ENOMEM;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)defaults, k, v)
    {
        if (!json_object_get(m, k) && json_object_set(m, k, v))
            return KRC_ENOMEM;
    }
    return 0;
}

static int apply_operator_config(struct podctx *c, const json_t *sidecars)
{
    json_t *containers = kobj_arr(c->spec, "containers");
    size_t i;
    json_t *s;
    json_array_foreach((json_t *)(uintptr_t)sidecars, i, s)
    {
        if (kobj_append_new(containers, json_deep_copy(s)))
            return KRC_ENOMEM;
    }
    int rc = add_missing(c->meta, "annotations", c->o->default_pod_annotations);
    return rc ? rc : add_missing(c->meta, "labels", c->o->default_pod_labels);
}

/* --- volumes ------------------------------------------------------------------------------- */

/* A quantity as the API server would store it (canonical), or a copy of the raw value. */
static json_t *canonical_quantity(const json_t *v)
{
    char raw[32], out[KRC_QUANTITY_STR_MAX];
    const char *text = kobj_quantity_text(v, raw, sizeof(raw));
    struct krc_quantity q;
    if (text && krc_quantity_parse(text, &q, NULL) == 0 &&
        krc_quantity_to_string(&q, out, sizeof(out)) == 0)
        return json_string(out);
    return json_deep_copy(v);
}

/* KubeRay's addEmptyDir: skipped when the container already mounts the path; the volume is added
 * once (by name); the mount has only name and mountPath. Memory volumes get sizeLimit = memory
 * limit, else request, else none. */
static int add_empty_dir(struct podctx *c, json_t *container, const char *name, const char *path,
                         bool memory)
{
    if (kobj_mount_path_exists(container, path))
        return 0;
    if (!kobj_volume_exists(c->spec, name)) {
        json_t *vols = kobj_ensure_arr(c->spec, "volumes");
        json_t *ed = json_object();
        json_t *vol = json_pack("{s:s}", "name", name);
        if (!vols || !ed || !vol || (memory && kobj_set_str(ed, "medium", "Memory"))) {
            json_decref(ed);
            json_decref(vol);
            return KRC_ENOMEM;
        }
        if (memory) {
            json_t *res = kobj_obj(container, "resources");
            json_t *mem = json_object_get(kobj_obj(res, "limits"), "memory");
            if (!mem)
                mem = json_object_get(kobj_obj(res, "requests"), "memory");
            if (mem && kobj_set_new(ed, "sizeLimit", canonical_quantity(mem))) {
                json_decref(ed);
                json_decref(vol);
                return KRC_ENOMEM;
            }
        }
        if (kobj_set_new(vol, "emptyDir", ed)) {
            json_decref(vol);
            return KRC_ENOMEM;
        }
        if (kobj_append_new(vols, vol))
            return KRC_ENOMEM;
    }
    json_t *mounts = kobj_ensure_arr(container, "volumeMounts");
    if (!mounts)
        return KRC_ENOMEM;
    return kobj_append_new(mounts, json_pack("{s:s, s:s}", "mountPath", path, "name", name));
}

static json_t *find_container(const json_t *spec, const char *name)
{
    json_t *cs = kobj_arr(spec, "containers");
    size_t i;
    json_t *ct;
    json_array_foreach(cs, i, ct)
    {
        const char *n = kobj_str(ct, "name");
        if (n && strcmp(n, name) == 0)
            return ct;
    }
    return NULL;
}

/* --- autoscaler ---------------------------------------------------------------------------- */

static json_t *fixed_resources(const char *cpu, const char *mem)
{
    return json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "limits", "cpu", cpu, "memory", mem,
                     "requests", "cpu", cpu, "memory", mem);
}

static int append_all(json_t *container, const char *key, const json_t *items)
{
    if (json_array_size(items) == 0)
        return 0;
    json_t *list = kobj_ensure_arr(container, key);
    if (!list)
        return KRC_ENOMEM;
    size_t i;
    json_t *it;
    json_array_foreach((json_t *)(uintptr_t)items, i, it)
    {
        if (kobj_append_new(list, json_deep_copy(it)))
            return KRC_ENOMEM;
    }
    return 0;
}

static const char *auth_secret_name(const struct raycluster *rc, char *buf)
{
    const char *s = rc->spec.auth.secret_name;
    return s && *s ? s : rayname_check_name(rc->meta.name, buf);
}

static int add_autoscaler(struct podctx *c)
{
    const struct raycluster_autoscaler_options *a = &c->rc->spec.autoscaler;
    const char *image = kobj_str(c->ray, "image");
    char sa[RAYNAME_MAX], secret[RAYNAME_MAX];
    int rc;
    json_t *ac = json_pack("{s:s}", "name", AUTOSCALER_CONTAINER);
    if (!ac)
        return KRC_ENOMEM;
    if ((image && (rc = kobj_set_str(ac, "image", image))) ||
        (rc = kobj_set_new(ac, "command", container_command(c))) ||
        (rc = kobj_set_new(ac, "args", json_pack("[s]", AUTOSCALER_CMD))) ||
        (rc = kobj_set_new(
             ac, "env",
             json_pack(
                 "[o, o, o, {s:s, s:s}, {s:s, s:s}]",
                 kobj_env_field_ref("RAY_CLUSTER_NAME", "metadata.labels['" RAY_LABEL_CLUSTER "']"),
                 kobj_env_field_ref("RAY_CLUSTER_NAMESPACE", "metadata.namespace"),
                 kobj_env_field_ref("RAY_HEAD_POD_NAME", "metadata.name"), "name",
                 "KUBERAY_CRD_VER", "value", "v1", "name", "KUBERAY_GEN_AUTOSCALER_START_CMD",
                 "value", AUTOSCALER_CMD))) ||
        (rc = kobj_set_new(ac, "resources", fixed_resources("500m", "512Mi"))) ||
        (rc = kobj_set_str(ac, "imagePullPolicy", "IfNotPresent")))
        goto err;
    if (raycluster_auth_enabled(c->rc) &&
        (rc = rayenv_set_token_auth(ac, raycluster_k8s_auth_enabled(c->rc),
                                    auth_secret_name(c->rc, secret))))
        goto err;
    if (a->set) {
        if ((a->resources && (rc = kobj_set_new(ac, "resources", json_deep_copy(a->resources)))) ||
            (a->image && (rc = kobj_set_str(ac, "image", a->image))) ||
            (a->image_pull_policy &&
             (rc = kobj_set_str(ac, "imagePullPolicy", a->image_pull_policy))) ||
            (rc = append_all(ac, "env", a->env)) || (rc = append_all(ac, "envFrom", a->env_from)) ||
            (rc = append_all(ac, "volumeMounts", a->volume_mounts)) ||
            (a->security_context &&
             (rc = kobj_set_new(ac, "securityContext", json_deep_copy(a->security_context)))) ||
            (json_array_size(a->command) &&
             (rc = kobj_set_new(ac, "command", json_deep_copy(a->command)))) ||
            (json_array_size(a->args) && (rc = kobj_set_new(ac, "args", json_deep_copy(a->args)))))
            goto err;
    }
    if ((rc = kobj_set_str(c->params, "no-monitor", "true")) ||
        (rc = kobj_set_str(c->spec, "serviceAccountName",
                           rayname_check_name(rayname_autoscaler_sa(c->rc), sa))))
        goto err;
    rc = kobj_append_new(kobj_arr(c->spec, "containers"), ac);
    ac = NULL;
    if (rc)
        return rc;
    if ((rc = rayenv_set_autoscaler_version(c->ray,
                                            a->set ? a->version : RAYCLUSTER_AUTOSCALER_UNSET)))
        return rc;
    if (a->set && a->version == RAYCLUSTER_AUTOSCALER_V2)
        return kobj_set_str(c->spec, "restartPolicy", "Never");
    return 0;
err:
    json_decref(ac);
    return rc;
}

/* --- GCS fault tolerance, auth ------------------------------------------------------------- */

static int configure_gcs_ft(struct podctx *c)
{
    const struct raycluster *rc = c->rc;
    bool ft = raycluster_gcs_ft_enabled(rc);
    json_t *anno = kobj_ensure_obj(c->meta, "annotations");
    int r;
    if (!anno)
        return KRC_ENOMEM;
    if (c->type == RAY_NODE_HEAD &&
        (r = kobj_set_str(anno, RAY_ANNOTATION_FT_ENABLED, ft ? "true" : "false")))
        return r;
    if (!ft)
        return 0;
    if (c->type == RAY_NODE_WORKER)
        return rayenv_set_gcs_ft_worker(c->ray);
    if (raycluster_gcs_ft_embedded(rc)) {
        const char *claim = rc->spec.gcs_ft.storage_claim_name;
        const char *sub = rc->spec.gcs_ft.storage_sub_path;
        struct krc_strbuf pvc = KRC_STRBUF_INIT;
        json_t *mount = json_pack("{s:s, s:s}", "name", "gcs-storage", "mountPath", "/data/gcs");
        if ((r = rayenv_set_gcs_ft_embedded_head(c->ray)) || !mount ||
            (sub && *sub && (r = kobj_set_str(mount, "subPath", sub))) ||
            (r = krc_strbuf_addf(&pvc, "%s%s", claim && *claim ? claim : rc->meta.name,
                                 claim && *claim ? "" : "-gcs-pvc"))) {
            json_decref(mount);
            krc_strbuf_release(&pvc);
            return r ? r : KRC_ENOMEM;
        }
        json_t *mounts = kobj_ensure_arr(c->ray, "volumeMounts");
        json_t *vols = kobj_ensure_arr(c->spec, "volumes");
        r = (mounts && vols) ? kobj_append_new(mounts, mount) : (json_decref(mount), KRC_ENOMEM);
        if (!r)
            r = kobj_append_new(vols, json_pack("{s:s, s:{s:s}}", "name", "gcs-storage",
                                                "persistentVolumeClaim", "claimName", pvc.buf));
        krc_strbuf_release(&pvc);
        return r;
    }
    /* Redis: storage namespace = options > cluster annotation (even empty) > cluster UID. */
    const char *ns = rc->meta.uid;
    const char *anno_ns = raycluster_annotation(rc, RAY_ANNOTATION_EXTERNAL_STORAGE_NS);
    if (anno_ns)
        ns = anno_ns;
    if (rc->spec.gcs_ft.set && rc->spec.gcs_ft.external_storage_namespace &&
        *rc->spec.gcs_ft.external_storage_namespace)
        ns = rc->spec.gcs_ft.external_storage_namespace;
    if ((r = kobj_set_str(anno, RAY_ANNOTATION_EXTERNAL_STORAGE_NS, ns)))
        return r;
    if (rc->spec.gcs_ft.set) {
        if ((rc->spec.gcs_ft.redis_username.set &&
             (r = kobj_set_str(c->params, "redis-username", "$REDIS_USERNAME"))) ||
            (rc->spec.gcs_ft.redis_password.set &&
             (r = kobj_set_str(c->params, "redis-password", "$REDIS_PASSWORD"))))
            return r;
    }
    return rayenv_set_gcs_ft_redis_head(c->ray, rc, ns, c->params);
}

static int configure_token_auth(struct podctx *c)
{
    if (!raycluster_auth_enabled(c->rc))
        return 0;
    char secret[RAYNAME_MAX];
    bool k8s = raycluster_k8s_auth_enabled(c->rc);
    const char *name = auth_secret_name(c->rc, secret);
    int r = rayenv_set_token_auth(c->ray, k8s, name);
    if (r)
        return r;
    if (k8s && !kobj_volume_exists(c->spec, "ray-token")) {
        json_t *vols = kobj_ensure_arr(c->spec, "volumes");
        if (!vols || (r = kobj_append_new(vols, json_pack("{s:s, s:{s:[{s:{s:s}}]}}", "name",
                                                          "ray-token", "projected", "sources",
                                                          "serviceAccountToken", "path", "token"))))
            return r ? r : KRC_ENOMEM;
    }
    json_t *inits = kobj_arr(c->spec, "initContainers");
    size_t i;
    json_t *ic;
    json_array_foreach(inits, i, ic)
    {
        const char *n = kobj_str(ic, "name");
        if (n && strcmp(n, "wait-gcs-ready") == 0 && (r = rayenv_set_token_auth(ic, k8s, name)))
            return r;
    }
    return 0;
}

static int reject_unimplemented(struct podctx *c)
{
    if (raycluster_tls_enabled(c->rc, &c->o->gates))
        return krc_error_set(c->err, KRC_EINVAL,
                             "build %s pod for RayCluster %s/%s: tlsOptions (mTLS) is not "
                             "supported by kuberay-c yet",
                             ray_node_type_name(c->type), c->rc->meta.ns, c->rc->meta.name);
    if (c->o->gates.history_server &&
        kobj_obj(c->rc->spec.history_server_options, "collectorOptions"))
        return krc_error_set(c->err, KRC_EINVAL,
                             "build %s pod for RayCluster %s/%s: historyServerOptions (collector "
                             "sidecar) is not supported by kuberay-c yet",
                             ray_node_type_name(c->type), c->rc->meta.ns, c->rc->meta.name);
    return 0;
}

/* --- worker init container ----------------------------------------------------------------- */

static int add_wait_gcs_ready(struct podctx *c)
{
    struct krc_strbuf script = KRC_STRBUF_INIT;
    int rc = krc_strbuf_addf(
        &script,
        "\n"
        "\t\t\t\t\tSECONDS=0\n"
        "\t\t\t\t\twhile true; do\n"
        "\t\t\t\t\t\tif (( SECONDS <= 120 )); then\n"
        "\t\t\t\t\t\t\tif ray health-check --address %s:%s > /dev/null 2>&1; then\n"
        "\t\t\t\t\t\t\t\techo \"GCS is ready.\"\n"
        "\t\t\t\t\t\t\t\tbreak\n"
        "\t\t\t\t\t\t\tfi\n"
        "\t\t\t\t\t\t\techo \"$SECONDS seconds elapsed: Waiting for GCS to be ready.\"\n"
        "\t\t\t\t\t\telse\n"
        "\t\t\t\t\t\t\tif ray health-check --address %s:%s; then\n"
        "\t\t\t\t\t\t\t\techo \"GCS is ready. Any error messages above can be safely "
        "ignored.\"\n"
        "\t\t\t\t\t\t\t\tbreak\n"
        "\t\t\t\t\t\t\tfi\n"
        "\t\t\t\t\t\t\techo \"$SECONDS seconds elapsed: Still waiting for GCS to be ready. For "
        "troubleshooting, refer to the FAQ at "
        "https://docs.ray.io/en/master/cluster/kubernetes/troubleshooting.html.\"\n"
        "\t\t\t\t\t\tfi\n"
        "\t\t\t\t\t\tsleep 5\n"
        "\t\t\t\t\tdone\n"
        "\t\t\t\t",
        c->fqdn, c->head_port, c->fqdn, c->head_port);
    json_t *ic = rc ? NULL : json_pack("{s:s}", "name", "wait-gcs-ready");
    const char *image = kobj_str(c->ray, "image");
    const char *pull = kobj_str(c->ray, "imagePullPolicy");
    json_t *sc = kobj_obj(c->ray, "securityContext");
    json_t *env = kobj_arr(c->ray, "env"), *mounts = kobj_arr(c->ray, "volumeMounts");
    if (!ic || (image && kobj_set_str(ic, "image", image)) ||
        kobj_set_new(ic, "command", container_command(c)) ||
        kobj_set_new(ic, "args", json_pack("[s]", script.buf)) ||
        (json_array_size(env) && kobj_set_new(ic, "env", json_deep_copy(env))) ||
        kobj_set_new(ic, "resources", fixed_resources("200m", "256Mi")) ||
        (json_array_size(mounts) && kobj_set_new(ic, "volumeMounts", json_deep_copy(mounts))) ||
        (pull && kobj_set_str(ic, "imagePullPolicy", pull)) ||
        (sc && kobj_set_new(ic, "securityContext", json_deep_copy(sc)))) {
        json_decref(ic);
        krc_strbuf_release(&script);
        return KRC_ENOMEM;
    }
    krc_strbuf_release(&script);
    json_t *inits = kobj_ensure_arr(c->spec, "initContainers");
    if (!inits) {
        json_decref(ic);
        return KRC_ENOMEM;
    }
    return kobj_append_new(inits, ic);
}

/* --- BuildPod: command, env, probes -------------------------------------------------------- */

/* " <elem> " for every command element then every args element (KubeRay's convertCmdToString). */
static int user_command(const json_t *ray, struct krc_strbuf *out)
{
    const char *keys[2] = {"command", "args"};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *e;
        json_array_foreach(kobj_arr(ray, keys[k]), i, e)
        {
            int rc = krc_strbuf_addf(out, " %s ", json_is_string(e) ? json_string_value(e) : "");
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int set_command(struct podctx *c, const char *ray_start_cmd)
{
    struct krc_strbuf user = KRC_STRBUF_INIT, args = KRC_STRBUF_INIT;
    int rc = user_command(c->ray, &user);
    if (rc)
        goto out;
    const char *tmpl_anno =
        kobj_map_get(kobj_obj(c->meta, "annotations"), RAY_ANNOTATION_OVERWRITE_CMD);
    if (ieq_true(tmpl_anno) || strstr(user.buf, "ray start"))
        goto out;
    if (user.len)
        rc = krc_strbuf_addf(&args, "%s && %s; %s", user.buf, ULIMIT_CMD, ray_start_cmd);
    else
        rc = krc_strbuf_addf(&args, "%s; %s", ULIMIT_CMD, ray_start_cmd);
    if (rc || (rc = kobj_set_new(c->ray, "command", container_command(c))))
        goto out;
    rc = kobj_set_new(c->ray, "args", json_pack("[s]", args.buf));
out:
    krc_strbuf_release(&user);
    krc_strbuf_release(&args);
    return rc;
}

/* strconv.ParseInt(s, 10, 32): optional sign, decimal digits, int32 range. */
static long long param_port(const json_t *params, const char *key, long long def)
{
    const char *s = kobj_map_get(params, key);
    if (!s || !*s)
        return def;
    const char *p = s + (*s == '+' || *s == '-');
    if (!*p)
        return def;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return def;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || v < INT32_MIN || v > INT32_MAX)
        return def;
    return v;
}

/* A probe: the handler object ({"exec": ...} or {"httpGet": ...}, consumed) plus KubeRay's
 * timing fields. NULL on ENOMEM. */
static json_t *probe(int delay, int timeout, int failure, json_t *handler)
{
    json_t *timing =
        json_pack("{s:i, s:i, s:i, s:i, s:i}", "initialDelaySeconds", delay, "timeoutSeconds",
                  timeout, "periodSeconds", 5, "successThreshold", 1, "failureThreshold", failure);
    if (!timing || !handler || json_object_update(handler, timing)) {
        json_decref(handler);
        handler = NULL;
    }
    json_decref(timing);
    return handler;
}

static json_t *exec_handler(const char *cmd)
{
    return json_pack("{s:{s:[s, s, s]}}", "exec", "command", "bash", "-c", cmd);
}

static int set_probes(struct podctx *c)
{
    bool head = c->type == RAY_NODE_HEAD;
    bool serve_worker = !head && raycluster_creator(c->rc) == RAYCLUSTER_CREATOR_RAYSERVICE;
    long long agent =
        param_port(c->params, "dashboard-agent-listen-port", RAY_DEFAULT_DASHBOARD_AGENT_PORT);
    long long dash = param_port(c->params, "dashboard-port", RAY_DEFAULT_DASHBOARD_PORT);
    bool http = generic_version_at_least(c->rc->spec.ray_version, 2, 53, 0);
    struct krc_strbuf cmd = KRC_STRBUF_INIT;
    int rc = krc_strbuf_addf(&cmd, WGET_CHECK, 2, agent, "api/local_raylet_healthz");
    if (!rc && head)
        rc = krc_strbuf_addf(&cmd, " && " WGET_CHECK, 10, dash, "api/gcs_healthz");
    if (rc)
        goto out;
    json_t *lp = json_object_get(c->ray, "livenessProbe");
    if (!lp || json_is_null(lp)) {
        json_t *h = http ? json_pack("{s:{s:s, s:I}}", "httpGet", "path", "/api/healthz", "port",
                                     (json_int_t)agent)
                         : exec_handler(cmd.buf);
        if ((rc = kobj_set_new(c->ray, "livenessProbe", probe(30, head ? 5 : 2, 120, h))))
            goto out;
    }
    json_t *rp = json_object_get(c->ray, "readinessProbe");
    if (!rp || json_is_null(rp)) {
        json_t *h;
        int failure = 10;
        if (serve_worker) {
            long long serve = RAY_DEFAULT_SERVE_PORT;
            kobj_container_port(c->ray, "serve", &serve);
            if ((rc = krc_strbuf_addf(&cmd, " && " WGET_CHECK, 10, serve, "-/healthz")))
                goto out;
            h = exec_handler(cmd.buf);
            failure = 1;
        } else {
            h = http ? json_pack("{s:{s:s, s:I}}", "httpGet", "path", "/api/healthz", "port",
                                 (json_int_t)agent)
                     : exec_handler(cmd.buf);
        }
        rc = kobj_set_new(c->ray, "readinessProbe", probe(10, head ? 5 : 2, failure, h));
    }
out:
    krc_strbuf_release(&cmd);
    return rc;
}

/* KubeRay's BuildPod: serve label, volumes, command, env, probes. */
static int finish_pod(struct podctx *c)
{
    int rc;
    json_t *labels = kobj_ensure_obj(c->meta, "labels");
    if (!labels)
        return KRC_ENOMEM;
    if (raycluster_creator(c->rc) == RAYCLUSTER_CREATOR_RAYSERVICE &&
        (rc = kobj_set_str(labels, RAY_LABEL_SERVE, c->type == RAY_NODE_HEAD ? "false" : "true")))
        return rc;
    if (!json_object_get(c->params, "plasma-directory") &&
        (rc = add_empty_dir(c, c->ray, SHM_VOLUME, SHM_PATH, true)))
        return rc;
    if (c->type == RAY_NODE_HEAD && raycluster_autoscaling_enabled(c->rc)) {
        json_t *ac = find_container(c->spec, AUTOSCALER_CONTAINER);
        if ((rc = add_empty_dir(c, c->ray, LOG_VOLUME, LOG_PATH, false)) ||
            (ac && (rc = add_empty_dir(c, ac, LOG_VOLUME, LOG_PATH, false))))
            return rc;
    }
    struct krc_strbuf cmd = KRC_STRBUF_INIT;
    if ((rc = raystart_add_container_resources(c->params, kobj_obj(c->ray, "resources"))) ||
        (rc = raystart_render(c->type, c->params, &cmd)) || (rc = set_command(c, cmd.buf)))
        goto out;
    json_t *inits = kobj_arr(c->spec, "initContainers");
    size_t i;
    json_t *ic;
    json_array_foreach(inits, i, ic)
    {
        if (json_is_object(ic) && (rc = rayenv_set_init_container(ic, c->fqdn)))
            goto out;
    }
    struct rayenv_opts eo = {
        .node_type = c->type,
        .fqdn = c->fqdn,
        .head_port = c->head_port,
        .ray_start_cmd = cmd.buf,
        .creator = raycluster_creator(c->rc),
        .kuberay_version = c->o->kuberay_version,
        .default_container_envs = c->o->default_container_envs,
        .collector_present = false,
    };
    if ((rc = rayenv_set_ray_container(c->ray, &eo)))
        goto out;
    if (c->o->probes_injection)
        rc = set_probes(c);
out:
    krc_strbuf_release(&cmd);
    return rc;
}

json_t *raycluster_owner_reference(const struct raycluster *rc)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", "ray.io/v1", "kind",
                     "RayCluster", "name", rc->meta.name, "uid", rc->meta.uid, "controller", 1,
                     "blockOwnerDeletion", 1);
}

int raycluster_set_owner(json_t *obj, const struct raycluster *rc)
{
    json_t *meta = kobj_ensure_obj(obj, "metadata");
    json_t *refs = meta ? kobj_ensure_arr(meta, "ownerReferences") : NULL;
    json_t *ref = raycluster_owner_reference(rc);
    if (!refs || !ref) {
        json_decref(ref);
        return KRC_ENOMEM;
    }
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r)
    {
        const char *uid = kobj_str(r, "uid");
        if (uid && strcmp(uid, rc->meta.uid) == 0)
            return json_array_set_new(refs, i, ref) ? KRC_ENOMEM : 0;
    }
    return kobj_append_new(refs, ref);
}

/* Go omits empty maps; so do we for the two the builders always create. */
static void drop_empty_maps(json_t *meta)
{
    if (json_object_size(kobj_obj(meta, "annotations")) == 0)
        json_object_del(meta, "annotations");
}

static int init_ctx(struct podctx *c, const struct raycluster *rc, const struct raycluster_opts *o,
                    enum ray_node_type t, const char *group, const json_t *params,
                    struct krc_error *err)
{
    memset(c, 0, sizeof(*c));
    c->rc = rc;
    c->o = o;
    c->type = t;
    c->group = group;
    c->err = err;
    c->head_port = raystart_head_port(rc->spec.head.ray_start_params);
    rayname_head_fqdn(rc, o->cluster_domain, c->fqdn);
    c->params = json_deep_copy(params ? params : json_object());
    if (!c->params)
        c->params = json_object();
    return c->params ? 0 : KRC_ENOMEM;
}

int raycluster_build_head_pod(const struct raycluster *rc, const struct raycluster_opts *o,
                              const char *spec_hash, json_t **out, struct krc_error *err)
{
    struct podctx c;
    const struct raycluster_head_group *h = &rc->spec.head;
    char name[RAYNAME_MAX];
    int r;
    *out = NULL;
    if ((r = step(&c, init_ctx(&c, rc, o, RAY_NODE_HEAD, RAY_HEAD_GROUP_NAME, h->ray_start_params,
                               err))) ||
        (r = step(&c, reject_unimplemented(&c))) ||
        (r = step(&c, copy_template(&c, h->template, "headGroupSpec"))))
        goto err;
    rayname_pod_name(rc->meta.name, RAY_NODE_HEAD, !o->deterministic_head_pod_name, name);
    if ((r = step(&c, kobj_set_str(c.meta, o->deterministic_head_pod_name ? "name" : "generateName",
                                   name))) ||
        (r = step(&c, kobj_set_str(c.meta, "namespace", rc->meta.ns))) ||
        (r = step(&c, raystart_apply_group_resources(c.params, h->resources))) ||
        (r = step(&c, raystart_apply_group_labels(c.params, h->labels))) ||
        (r = step(&c, set_labels(&c, kobj_obj(c.meta, "labels"), h->labels))) ||
        (r = step(&c, raystart_set_missing(c.params, RAY_NODE_HEAD, c.head_port, ""))) ||
        (r = step(&c, init_annotations(&c))))
        goto err;
    if (raycluster_autoscaling_enabled(rc) && (r = step(&c, add_autoscaler(&c))))
        goto err;
    if ((r = step(&c, configure_gcs_ft(&c))) || (r = step(&c, add_metrics_port(&c))) ||
        (r = step(&c, configure_token_auth(&c))) ||
        (r = step(&c, apply_operator_config(&c, o->head_sidecar_containers))) ||
        (r = step(&c, finish_pod(&c))) || (r = step(&c, raycluster_set_owner(c.pod, rc))))
        goto err;
    if (spec_hash) {
        json_t *anno = kobj_ensure_obj(c.meta, "annotations");
        if (!anno || (r = kobj_set_str(anno, RAY_ANNOTATION_RECREATE_HASH, spec_hash)) ||
            (r = kobj_set_str(anno, RAY_ANNOTATION_KUBERAY_VERSION, o->kuberay_version))) {
            r = nomem(&c);
            goto err;
        }
    }
    drop_empty_maps(c.meta);
    json_decref(c.params);
    *out = c.pod;
    return 0;
err:
    json_decref(c.params);
    json_decref(c.pod);
    return r;
}

int raycluster_build_worker_pod(const struct raycluster *rc, const struct raycluster_opts *o,
                                size_t group, const struct raycluster_worker_slot *slot,
                                json_t **out, struct krc_error *err)
{
    struct podctx c;
    char name[RAYNAME_MAX];
    struct krc_strbuf prefix = KRC_STRBUF_INIT;
    int r;
    *out = NULL;
    if (group >= rc->spec.n_workers)
        return krc_error_set(err, KRC_EINVAL, "build worker pod for RayCluster %s/%s: no group %zu",
                             rc->meta.ns, rc->meta.name, group);
    const struct raycluster_worker_group *w = &rc->spec.workers[group];
    if ((r = step(&c,
                  init_ctx(&c, rc, o, RAY_NODE_WORKER, w->group_name, w->ray_start_params, err))) ||
        (r = step(&c, reject_unimplemented(&c))) ||
        (r = step(&c, copy_template(&c, w->template, "workerGroupSpec"))) ||
        (r = step(&c, krc_strbuf_addf(&prefix, "%s-%s", rc->meta.name, w->group_name))))
        goto err;
    rayname_pod_name(prefix.buf, RAY_NODE_WORKER, true, name);
    if ((r = step(&c, kobj_set_str(c.meta, "generateName", name))) ||
        (r = step(&c, kobj_set_str(c.meta, "namespace", rc->meta.ns))))
        goto err;
    if (o->init_container_injection && (r = step(&c, add_wait_gcs_ready(&c))))
        goto err;
    json_object_del(c.meta, "name");
    if ((r = step(&c, raystart_apply_group_resources(c.params, w->resources))) ||
        (r = step(&c, raystart_apply_group_labels(c.params, w->labels))) ||
        (r = step(&c, set_labels(&c, kobj_obj(c.meta, "labels"), w->labels))))
        goto err;
    if (o->gates.multi_host_indexing && slot) {
        json_t *labels = kobj_obj(c.meta, "labels");
        if ((r = step(&c, set_label_int(labels, RAY_LABEL_REPLICA_INDEX, slot->replica_index))))
            goto err;
        if (w->num_of_hosts.set && w->num_of_hosts.v > 1 &&
            ((r = step(&c, kobj_set_str(labels, RAY_LABEL_REPLICA_NAME,
                                        slot->replica_name ? slot->replica_name : ""))) ||
             (r = step(&c, set_label_int(labels, RAY_LABEL_HOST_INDEX, slot->host_index)))))
            goto err;
    }
    if ((r = step(&c, raystart_set_missing(c.params, RAY_NODE_WORKER, c.head_port, c.fqdn))) ||
        (r = step(&c, init_annotations(&c))) || (r = step(&c, configure_gcs_ft(&c))) ||
        (r = step(&c, add_metrics_port(&c))))
        goto err;
    if (raycluster_autoscaling_enabled(rc) && rc->spec.autoscaler.set &&
        rc->spec.autoscaler.version == RAYCLUSTER_AUTOSCALER_V2 &&
        (r = step(&c, kobj_set_str(c.spec, "restartPolicy", "Never"))))
        goto err;
    if ((r = step(&c, configure_token_auth(&c))) ||
        (r = step(&c, apply_operator_config(&c, o->worker_sidecar_containers))) ||
        (r = step(&c, finish_pod(&c))) || (r = step(&c, raycluster_set_owner(c.pod, rc))))
        goto err;
    drop_empty_maps(c.meta);
    krc_strbuf_release(&prefix);
    json_decref(c.params);
    *out = c.pod;
    return 0;
err:
    krc_strbuf_release(&prefix);
    json_decref(c.params);
    json_decref(c.pod);
    return r;
}
