/* rayenv.c - env var injection for Ray pods (see rayenv.h). Each function is a straight list of
 * appends in KubeRay's order; the only logic is the "if absent" checks KubeRay makes. */
#include "ray/rayenv.h"

#include "api/kobj.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <string.h>

#define FIELD_CLUSTER_LABEL "metadata.labels['" RAY_LABEL_CLUSTER "']"
#define FIELD_GROUP_LABEL   "metadata.labels['" RAY_LABEL_GROUP "']"
#define RAY_EVENT_TYPES                                                                            \
    "TASK_DEFINITION_EVENT,TASK_LIFECYCLE_EVENT,ACTOR_TASK_DEFINITION_EVENT,TASK_PROFILE_EVENT,"   \
    "DRIVER_JOB_DEFINITION_EVENT,DRIVER_JOB_LIFECYCLE_EVENT,ACTOR_DEFINITION_EVENT,"               \
    "ACTOR_LIFECYCLE_EVENT,NODE_DEFINITION_EVENT,NODE_LIFECYCLE_EVENT"

const char *rayenv_ray_ip(const char *fqdn, char *buf, size_t size)
{
    const char *dot = strchr(fqdn, '.');
    size_t n = dot ? (size_t)(dot - fqdn) : strlen(fqdn);
    if (n >= size)
        n = size - 1;
    memcpy(buf, fqdn, n);
    buf[n] = '\0';
    return buf;
}

static int append(json_t *c, const char *name, const char *value)
{
    return kobj_env_append_new(c, kobj_env_value(name, value));
}

static int append_field(json_t *c, const char *name, const char *path)
{
    return kobj_env_append_new(c, kobj_env_field_ref(name, path));
}

int rayenv_set_init_container(json_t *container, const char *fqdn)
{
    char ip[256];
    int rc = append(container, "FQ_RAY_IP", fqdn);
    return rc ? rc : append(container, "RAY_IP", rayenv_ray_ip(fqdn, ip, sizeof(ip)));
}

static int set_default_envs(json_t *c, const json_t *defaults)
{
    size_t i;
    json_t *e;
    json_array_foreach(defaults, i, e)
    {
        const char *name = kobj_str(e, "name");
        if (!name || kobj_env_exists(c, name))
            continue;
        int rc = kobj_env_append_new(c, json_deep_copy(e));
        if (rc)
            return rc;
    }
    return 0;
}

int rayenv_set_ray_container(json_t *c, const struct rayenv_opts *o)
{
    int rc;
    char ip[256];
    bool worker = o->node_type == RAY_NODE_WORKER;
    struct krc_strbuf addr = KRC_STRBUF_INIT;
    if ((rc = kobj_ensure_arr(c, "env") ? 0 : KRC_ENOMEM) ||
        (rc = set_default_envs(c, o->default_container_envs)))
        goto out;
    if (worker && ((rc = append(c, "FQ_RAY_IP", o->fqdn)) ||
                   (rc = append(c, "RAY_IP", rayenv_ray_ip(o->fqdn, ip, sizeof(ip))))))
        goto out;
    if ((rc = append_field(c, "RAY_CLUSTER_NAME", FIELD_CLUSTER_LABEL)) ||
        (rc = append_field(c, "RAY_CLUSTER_NAMESPACE", "metadata.namespace")) ||
        (rc = append_field(c, "RAY_CLOUD_INSTANCE_ID", "metadata.name")) ||
        (rc = append_field(c, "RAY_NODE_TYPE_NAME", FIELD_GROUP_LABEL)) ||
        (rc = append(c, "KUBERAY_GEN_RAY_START_CMD", o->ray_start_cmd)) ||
        (rc = kobj_env_append_if_absent(c, "RAY_PORT", o->head_port)))
        goto out;
    if (o->creator == RAYCLUSTER_CREATOR_RAYSERVICE &&
        ((rc = kobj_env_append_if_absent(c, "RAY_timeout_ms_task_wait_for_death_info", "0")) ||
         (rc = kobj_env_append_if_absent(c, "RAY_gcs_server_request_timeout_seconds", "5")) ||
         (rc = kobj_env_append_if_absent(c, "RAY_SERVE_KV_TIMEOUT_S", "5"))))
        goto out;
    if ((rc = krc_strbuf_addf(&addr, "%s:%s", worker ? o->fqdn : "127.0.0.1", o->head_port)) ||
        (rc = kobj_env_append_if_absent(c, "RAY_ADDRESS", addr.buf)) ||
        (rc = kobj_env_append_if_absent(c, "RAY_USAGE_STATS_KUBERAY_IN_USE", "1")))
        goto out;
    if (!worker) {
        krc_strbuf_reset(&addr);
        if ((rc = krc_strbuf_addf(&addr, "kuberay_version=%s;kuberay_crd=%s", o->kuberay_version,
                                  raycluster_creator_name(o->creator))) ||
            (rc = append(c, "RAY_USAGE_STATS_EXTRA_TAGS", addr.buf)))
            goto out;
    }
    if ((rc = kobj_env_append_if_absent(c, "RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE", "1")))
        goto out;
    if (o->collector_present &&
        ((rc = kobj_env_append_if_absent(c, "RAY_enable_ray_event", "true")) ||
         (rc = kobj_env_append_if_absent(c, "RAY_enable_core_worker_ray_event_to_aggregator",
                                         "true")) ||
         (rc = kobj_env_append_if_absent(c, "RAY_DASHBOARD_AGGREGATOR_AGENT_EVENTS_EXPORT_ADDR",
                                         "http://localhost:8084/v1/events")) ||
         (rc = kobj_env_append_if_absent(c, "RAY_DASHBOARD_AGGREGATOR_AGENT_EXPOSABLE_EVENT_TYPES",
                                         RAY_EVENT_TYPES)) ||
         (rc = kobj_env_append_if_absent(
              c, "RAY_DASHBOARD_AGGREGATOR_AGENT_PUBLISHER_HTTP_ENDPOINT_EXPOSABLE_EVENT_TYPES",
              RAY_EVENT_TYPES))))
        goto out;
out:
    krc_strbuf_release(&addr);
    return rc;
}

int rayenv_set_autoscaler_version(json_t *container, enum raycluster_autoscaler_version v)
{
    if (v == RAYCLUSTER_AUTOSCALER_UNSET)
        return 0;
    return append(container, "RAY_enable_autoscaler_v2",
                  v == RAYCLUSTER_AUTOSCALER_V2 ? "true" : "false");
}

static int append_credential(json_t *c, const char *name, const struct raycluster_credential *cr)
{
    json_t *e = json_pack("{s:s}", "name", name);
    if (!e)
        return KRC_ENOMEM;
    if (cr->value && *cr->value && kobj_set_str(e, "value", cr->value)) {
        json_decref(e);
        return KRC_ENOMEM;
    }
    if (cr->value_from && kobj_set_new(e, "valueFrom", json_deep_copy(cr->value_from))) {
        json_decref(e);
        return KRC_ENOMEM;
    }
    return kobj_env_append_new(c, e);
}

int rayenv_set_gcs_ft_redis_head(json_t *c, const struct raycluster *rc, const char *storage_ns,
                                 const json_t *head_params)
{
    const struct raycluster_gcs_ft *ft = &rc->spec.gcs_ft;
    int r;
    if ((r = kobj_env_append_if_absent(c, "RAY_external_storage_namespace", storage_ns)))
        return r;
    if (ft->set) {
        /* Go's EnvVar{Value: ""} omits the empty value, so an unset address is a bare name. */
        json_t *e = json_pack("{s:s}", "name", "RAY_REDIS_ADDRESS");
        if (!e || (ft->redis_address && *ft->redis_address &&
                   kobj_set_str(e, "value", ft->redis_address))) {
            json_decref(e);
            return KRC_ENOMEM;
        }
        if ((r = kobj_env_append_new(c, e)))
            return r;
        if (ft->redis_username.set &&
            (r = append_credential(c, "REDIS_USERNAME", &ft->redis_username)))
            return r;
        if (ft->redis_password.set &&
            (r = append_credential(c, "REDIS_PASSWORD", &ft->redis_password)))
            return r;
        return 0;
    }
    const char *pw = kobj_map_get(head_params, "redis-password");
    if (pw && !kobj_env_exists(c, "REDIS_PASSWORD")) {
        json_t *e = json_pack("{s:s}", "name", "REDIS_PASSWORD");
        if (!e || (*pw && kobj_set_str(e, "value", pw))) {
            json_decref(e);
            return KRC_ENOMEM;
        }
        return kobj_env_append_new(c, e);
    }
    return 0;
}

int rayenv_set_gcs_ft_embedded_head(json_t *c)
{
    int r = kobj_env_append_if_absent(c, "RAY_gcs_storage", "rocksdb");
    return r ? r : kobj_env_append_if_absent(c, "RAY_gcs_storage_path", "/data/gcs");
}

int rayenv_set_gcs_ft_worker(json_t *c)
{
    return kobj_env_append_if_absent(c, "RAY_gcs_rpc_server_reconnect_timeout_s", "600");
}

int rayenv_set_token_auth(json_t *c, bool k8s_token_auth, const char *secret_name)
{
    int r;
    if ((r = kobj_env_append_if_absent(c, "RAY_AUTH_MODE", "token")))
        return r;
    if (k8s_token_auth) {
        if ((r = kobj_env_append_if_absent(c, "RAY_ENABLE_K8S_TOKEN_AUTH", "true")))
            return r;
        if (kobj_mount_name_exists(c, "ray-token"))
            return 0;
        json_t *mounts = kobj_ensure_arr(c, "volumeMounts");
        if (!mounts)
            return KRC_ENOMEM;
        return kobj_append_new(mounts,
                               json_pack("{s:s, s:s, s:b}", "name", "ray-token", "mountPath",
                                         "/var/run/secrets/ray.io/serviceaccount", "readOnly", 1));
    }
    if (kobj_env_exists(c, "RAY_AUTH_TOKEN"))
        return 0;
    return kobj_env_append_new(c, json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", "RAY_AUTH_TOKEN",
                                            "valueFrom", "secretKeyRef", "name", secret_name, "key",
                                            "auth_token"));
}
