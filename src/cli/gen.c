/* gen.c - building the RayCluster kubectl-ray creates (spec kubectl-ray.md §3, §4.1 rules 4-5).
 *
 * Only the fields KubeRay's generator sets are written, so the dry-run YAML and the server-side
 * apply (which owns exactly the fields sent) match KubeRay's. Quantities are written in
 * Kubernetes' canonical form ("1.5" -> "1500m"), and a resource is left out when it is unset or
 * zero, while the requests and limits maps are always present (possibly empty). */
#include "cli/gen.h"

#include "util/quantity.h"

#include <string.h>

#define QUANTITY_REGEX_MSG                                                                         \
    "quantities must match the regular expression "                                                \
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

#define GCSFUSE_VOLUME  "cluster-storage"
#define GCSFUSE_DRIVER  "gcsfuse.csi.storage.gke.io"
#define TPU_ACCELERATOR "cloud.google.com/gke-tpu-accelerator"
#define TPU_TOPOLOGY    "cloud.google.com/gke-tpu-topology"

int cli_validate_quantity(const char *value, const char *name, char *cause, size_t size)
{
    struct krc_quantity q;
    if (krc_quantity_parse(value ? value : "", &q, NULL) != 0) {
        snprintf(cause, size, "%s is not a valid resource quantity: %s", name, QUANTITY_REGEX_MSG);
        return CLI_FAIL;
    }
    if (krc_quantity_sign(&q) < 0) {
        snprintf(cause, size, "%s cannot be negative", name);
        return CLI_FAIL;
    }
    return 0;
}

int cli_validate_tpu(const char *tpu, bool hosts_known, long long hosts, const json_t *selectors,
                     char *cause, size_t size)
{
    static const char *const keys[] = {TPU_ACCELERATOR, TPU_TOPOLOGY};
    if (!tpu || !*tpu || strcmp(tpu, "0") == 0)
        return 0;
    if (hosts_known && hosts == 0) {
        snprintf(cause, size, "numOfHosts cannot be 0 when using TPU");
        return CLI_FAIL;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!json_object_get(selectors, keys[i])) {
            snprintf(cause, size,
                     "%s is not set in --worker-node-selectors. See "
                     "https://cloud.google.com/kubernetes-engine/docs/concepts/"
                     "plan-tpus#availability for supported values",
                     keys[i]);
            return CLI_FAIL;
        }
    }
    return 0;
}

/* Sets list[key] to the canonical quantity when value is set and non-zero. */
static int put_quantity(json_t *list, const char *key, const char *value, struct krc_error *err)
{
    struct krc_quantity q;
    char buf[KRC_QUANTITY_STR_MAX];

    if (!value || !*value)
        return 0;
    if (krc_quantity_parse(value, &q, err) != 0)
        return KRC_EINVAL;
    if (krc_quantity_is_zero(&q))
        return 0;
    if (krc_quantity_to_string(&q, buf, sizeof(buf)) != 0 ||
        json_object_set_new(list, key, json_string(buf)) != 0)
        return krc_error_set(err, KRC_ENOMEM, "out of memory");
    return 0;
}

/* {requests: {...}, limits: {...}}; cpu only as a request, tpu only when given. */
static json_t *resources(const char *cpu, const char *memory, const char *eph, const char *gpu,
                         const char *tpu, struct krc_error *err)
{
    json_t *req = json_object(), *lim = json_object(), *res = json_object();
    if (!req || !lim || !res || json_object_set(res, "requests", req) != 0 ||
        json_object_set(res, "limits", lim) != 0) {
        krc_error_set(err, KRC_ENOMEM, "out of memory");
        goto fail;
    }
    if (put_quantity(req, "cpu", cpu, err) != 0 || put_quantity(req, "memory", memory, err) != 0 ||
        put_quantity(req, "ephemeral-storage", eph, err) != 0 ||
        put_quantity(req, CLI_RES_GPU, gpu, err) != 0 ||
        put_quantity(req, CLI_RES_TPU, tpu, err) != 0 ||
        put_quantity(lim, "memory", memory, err) != 0 ||
        put_quantity(lim, "ephemeral-storage", eph, err) != 0 ||
        put_quantity(lim, CLI_RES_GPU, gpu, err) != 0 ||
        put_quantity(lim, CLI_RES_TPU, tpu, err) != 0)
        goto fail;
    json_decref(req);
    json_decref(lim);
    return res;
fail:
    json_decref(req);
    json_decref(lim);
    json_decref(res);
    return NULL;
}

static int set_map_if(json_t *obj, const char *key, const json_t *map)
{
    if (!json_is_object(map) || json_object_size(map) == 0)
        return 0;
    return json_object_set_new(obj, key, json_deep_copy(map));
}

static json_t *port(int number, const char *name)
{
    return json_pack("{s:i, s:s}", "containerPort", number, "name", name);
}

static int add_gcsfuse(json_t *template, const struct cli_gcsfuse_model *g)
{
    json_t *spec = json_object_get(template, "spec");
    json_t *c0 = json_array_get(json_object_get(spec, "containers"), 0);
    json_t *attrs = json_pack("{s:s}", "bucketName", g->bucket_name ? g->bucket_name : "");
    json_t *meta = json_object(), *ann = json_object();
    int rc = -1;

    if (!attrs || !meta || !ann)
        goto out;
    if (g->mount_options && *g->mount_options &&
        json_object_set_new(attrs, "mountOptions", json_string(g->mount_options)) != 0)
        goto out;
    const struct {
        const char *key;
        const json_t *v;
    } flags[] = {{"disableMetrics", g->disable_metrics},
                 {"gcsfuseMetadataPrefetchOnMount", g->metadata_prefetch},
                 {"skipCSIBucketAccessCheck", g->skip_bucket_check}};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (flags[i].v &&
            json_object_set_new(attrs, flags[i].key,
                                json_string(json_is_true(flags[i].v) ? "true" : "false")) != 0)
            goto out;
    json_t *vol = json_pack("{s:s, s:{s:s, s:O}}", "name", GCSFUSE_VOLUME, "csi", "driver",
                            GCSFUSE_DRIVER, "volumeAttributes", attrs);
    json_t *vols = json_pack("[o]", vol);
    json_t *mounts = json_pack("[{s:s, s:s}]", "name", GCSFUSE_VOLUME, "mountPath",
                               g->mount_path ? g->mount_path : "");
    if (!vols || !mounts || json_object_set_new(spec, "volumes", vols) != 0 ||
        json_object_set_new(c0, "volumeMounts", mounts) != 0)
        goto out;
    if (g->has_resources) {
        const struct {
            const char *key, *value;
        } res[] = {{"gke-gcsfuse/cpu-request", g->cpu},
                   {"gke-gcsfuse/memory-request", g->memory},
                   {"gke-gcsfuse/memory-limit", g->memory},
                   {"gke-gcsfuse/ephemeral-storage-request", g->ephemeral},
                   {"gke-gcsfuse/ephemeral-storage-limit", g->ephemeral}};
        for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++)
            if (res[i].value && *res[i].value &&
                json_object_set_new(ann, res[i].key, json_string(res[i].value)) != 0)
                goto out;
    }
    if (json_object_size(ann) > 0 && json_object_set(meta, "annotations", ann) != 0)
        goto out;
    rc = json_object_set(template, "metadata", meta);
out:
    json_decref(attrs);
    json_decref(meta);
    json_decref(ann);
    return rc;
}

/* A pod template with one container; ports for the head. */
static json_t *template_of(const char *container, const char *image, json_t *res, bool head,
                           const json_t *selectors, const char *sa)
{
    json_t *c = json_pack("{s:s, s:s}", "name", container, "image", image ? image : "");
    json_t *spec = json_object(), *tmpl = json_object();
    if (!c || !spec || !tmpl)
        goto fail;
    if (head && json_object_set_new(c, "ports",
                                    json_pack("[o,o,o]", port(6379, "gcs-server"),
                                              port(8265, "dashboard"), port(10001, "client"))) != 0)
        goto fail;
    if (json_object_set(c, "resources", res) != 0 ||
        json_object_set_new(spec, "containers", json_pack("[O]", c)) != 0 ||
        set_map_if(spec, "nodeSelector", selectors) != 0 ||
        (sa && *sa && json_object_set_new(spec, "serviceAccountName", json_string(sa)) != 0) ||
        json_object_set(tmpl, "spec", spec) != 0)
        goto fail;
    json_decref(c);
    json_decref(spec);
    return tmpl;
fail:
    json_decref(c);
    json_decref(spec);
    json_decref(tmpl);
    return NULL;
}

int cli_gen_cluster_spec(const struct cli_cluster_model *m, json_t **out, struct krc_error *err)
{
    const struct cli_head_model *h = &m->head;
    json_t *spec = json_object(), *head = json_object(), *groups = json_array();
    json_t *res = NULL, *tmpl = NULL;
    int rc = KRC_ENOMEM;

    if (!spec || !head || !groups)
        goto fail;
    if (json_object_set_new(spec, "rayVersion",
                            json_string(m->ray_version ? m->ray_version : "")) != 0)
        goto fail;
    if (!(res = resources(h->cpu, h->memory, h->ephemeral, h->gpu, NULL, err))) {
        rc = err ? err->code : KRC_EINVAL;
        goto fail;
    }
    if (!(tmpl = template_of("ray-head", m->image, res, true, h->node_selectors,
                             m->service_account)) ||
        (m->gcsfuse && add_gcsfuse(tmpl, m->gcsfuse) != 0) ||
        set_map_if(head, "rayStartParams", h->ray_start_params) != 0 ||
        json_object_set(head, "template", tmpl) != 0 ||
        json_object_set(spec, "headGroupSpec", head) != 0)
        goto fail;
    json_decref(res);
    json_decref(tmpl);
    res = tmpl = NULL;
    for (size_t i = 0; i < m->ngroups; i++) {
        const struct cli_group_model *g = &m->groups[i];
        char name[64];
        if (i == 0)
            snprintf(name, sizeof(name), "default-group");
        else
            snprintf(name, sizeof(name), "default-group-%zu", i);
        json_t *group = json_pack("{s:s, s:I}", "groupName", g->name && *g->name ? g->name : name,
                                  "replicas", (json_int_t)g->replicas);
        if (!group || json_array_append_new(groups, group) != 0)
            goto fail;
        if (g->has_hosts &&
            json_object_set_new(group, "numOfHosts", json_integer(g->num_of_hosts)) != 0)
            goto fail;
        if (!(res = resources(g->cpu, g->memory, g->ephemeral, g->gpu, g->tpu, err))) {
            rc = err ? err->code : KRC_EINVAL;
            goto fail;
        }
        if (!(tmpl = template_of("ray-worker", m->image, res, false, g->node_selectors,
                                 m->service_account)) ||
            (m->gcsfuse && add_gcsfuse(tmpl, m->gcsfuse) != 0) ||
            set_map_if(group, "rayStartParams", g->ray_start_params) != 0 ||
            json_object_set(group, "template", tmpl) != 0)
            goto fail;
        json_decref(res);
        json_decref(tmpl);
        res = tmpl = NULL;
    }
    if (json_object_set(spec, "workerGroupSpecs", groups) != 0)
        goto fail;
    if (m->autoscaler && *m->autoscaler &&
        (json_object_set_new(spec, "enableInTreeAutoscaling", json_true()) != 0 ||
         json_object_set_new(spec, "autoscalerOptions",
                             json_pack("{s:s}", "version", m->autoscaler)) != 0))
        goto fail;
    json_decref(head);
    json_decref(groups);
    *out = spec;
    return 0;
fail:
    if (rc == KRC_ENOMEM)
        krc_error_set(err, KRC_ENOMEM, "out of memory");
    json_decref(res);
    json_decref(tmpl);
    json_decref(spec);
    json_decref(head);
    json_decref(groups);
    return rc;
}

int cli_gen_cluster(const struct cli_cluster_model *m, json_t **out, struct krc_error *err)
{
    json_t *spec = NULL, *obj = NULL, *meta = NULL;
    int rc = cli_gen_cluster_spec(m, &spec, err);
    if (rc != 0)
        return rc;
    meta = json_pack("{s:s}", "name", m->name ? m->name : "");
    obj = json_pack("{s:s, s:s}", "apiVersion", "ray.io/v1", "kind", "RayCluster");
    if (!meta || !obj ||
        (m->namespace && *m->namespace &&
         json_object_set_new(meta, "namespace", json_string(m->namespace)) != 0) ||
        set_map_if(meta, "labels", m->labels) != 0 ||
        set_map_if(meta, "annotations", m->annotations) != 0 ||
        json_object_set(obj, "metadata", meta) != 0 || json_object_set(obj, "spec", spec) != 0) {
        json_decref(obj);
        obj = NULL;
        rc = krc_error_set(err, KRC_ENOMEM, "out of memory");
    }
    json_decref(meta);
    json_decref(spec);
    *out = obj;
    return rc;
}

int cli_gen_dry_run(const json_t *obj, struct krc_strbuf *out, struct krc_error *err)
{
    int rc = cli_yaml_emit(obj, out, err);
    if (rc == 0 && krc_strbuf_addch(out, '\n') != 0)
        rc = krc_error_set(err, KRC_ENOMEM, "out of memory");
    return rc;
}
