/* raycluster_cleanup_job.c - Redis cleanup Job (see raycluster_cleanup_job.h). The Python
 * one-liner is behaviour (it decides which Redis keys die), so its text follows KubeRay's. */
#include "controller/raycluster_cleanup_job.h"

#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "controller/raycluster_pod.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <string.h>

#define CLEANUP_PREFIX                                                                             \
    "echo \"To get more information about manually deleting the storage namespace in Redis and "   \
    "removing the RayCluster's finalizer, please check "                                           \
    "https://docs.ray.io/en/master/cluster/kubernetes/user-guides/kuberay-gcs-ft.html for more "   \
    "details.\" && python -c \"from ray._private.gcs_utils import cleanup_redis_storage; from "    \
    "urllib.parse import urlparse; import os; import sys; redis_address = "                        \
    "os.getenv('RAY_REDIS_ADDRESS', '').split(',')[0]; redis_address = redis_address if '://' in " \
    "redis_address else 'redis://' + redis_address; parsed = urlparse(redis_address); "
#define CLEANUP_CALL_HEAD                                                                          \
    "sys.exit(1) if not cleanup_redis_storage(host=parsed.hostname, port=parsed.port, "
#define CLEANUP_USERNAME "username=os.getenv('REDIS_USERNAME', parsed.username), "
#define CLEANUP_CALL_TAIL                                                                          \
    "password=os.getenv('REDIS_PASSWORD', parsed.password or ''), "                                \
    "use_ssl=parsed.scheme=='rediss', "                                                            \
    "storage_namespace=os.getenv('RAY_external_storage_namespace')) else None\""

static const char *const bash_c[] = {"/bin/bash", "-c", "--", NULL};
static const char *const bash_cl[] = {"/bin/bash", "-cl", "--", NULL};

static int trim_pod(json_t *pod, const struct raycluster_opts *o)
{
    json_t *spec = kobj_obj(pod, "spec");
    json_t *containers = kobj_arr(spec, "containers");
    json_t *labels = kobj_path(pod, "metadata.labels");
    json_t *ray = json_incref(kobj_container(spec, 0));
    int rc = KRC_ENOMEM;
    if (!ray || !labels || kobj_set_str(labels, RAY_LABEL_NODE_TYPE, "redis-cleanup") ||
        json_array_clear(containers) || json_array_append(containers, ray))
        goto out;
    json_t *inits = kobj_arr(spec, "initContainers");
    for (size_t i = json_array_size(inits); i-- > 0;) {
        const char *n = kobj_str(json_array_get(inits, i), "name");
        if (n && strcmp(n, "wait-for-tls-ip-san") == 0)
            json_array_remove(inits, i);
    }
    struct krc_strbuf args = KRC_STRBUF_INIT;
    bool username = kobj_env_exists(ray, "REDIS_USERNAME");
    if (krc_strbuf_addf(&args, "%s%s%s%s", CLEANUP_PREFIX, CLEANUP_CALL_HEAD,
                        username ? CLEANUP_USERNAME : "", CLEANUP_CALL_TAIL) ||
        kobj_set_new(ray, "command", kobj_strv(o->login_shell ? bash_cl : bash_c)) ||
        kobj_set_new(ray, "args", json_pack("[s]", args.buf))) {
        krc_strbuf_release(&args);
        goto out;
    }
    krc_strbuf_release(&args);
    json_object_del(ray, "livenessProbe");
    json_object_del(ray, "readinessProbe");
    if (kobj_env_append_new(ray, kobj_env_value("RAY_redis_db_connect_retries", "120")) ||
        kobj_env_append_new(ray, kobj_env_value("RAY_redis_db_connect_wait_milliseconds", "500")) ||
        kobj_set_new(ray, "resources",
                     json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "limits", "cpu", "200m", "memory",
                               "256Mi", "requests", "cpu", "200m", "memory", "256Mi")) ||
        kobj_set_str(spec, "restartPolicy", "Never"))
        goto out;
    rc = 0;
out:
    json_decref(ray);
    return rc;
}

int raycluster_build_redis_cleanup_job(const struct raycluster *rc, const struct raycluster_opts *o,
                                       json_t **out, struct krc_error *err)
{
    json_t *pod = NULL, *job = NULL;
    char tmp[RAYNAME_MAX], name[RAYNAME_MAX];
    int r = raycluster_build_head_pod(rc, o, NULL, &pod, err);
    *out = NULL;
    if (r)
        return r;
    if (trim_pod(pod, o))
        goto nomem;
    snprintf(tmp, sizeof(tmp), "%.400s-redis-cleanup", rc->meta.name);
    json_t *meta = kobj_obj(pod, "metadata");
    json_t *labels = kobj_obj(meta, "labels"), *anno = kobj_obj(meta, "annotations");
    job = json_pack("{s:s, s:s, s:{s:s, s:s, s:O}, s:{s:i, s:I, s:{s:O, s:O}}}", "apiVersion",
                    "batch/v1", "kind", "Job", "metadata", "name", rayname_check_label(tmp, name),
                    "namespace", rc->meta.ns, "labels", labels, "spec", "backoffLimit", 0,
                    "activeDeadlineSeconds", (json_int_t)300, "template", "metadata", meta, "spec",
                    kobj_obj(pod, "spec"));
    if (!job || (anno && kobj_set_new(kobj_obj(job, "metadata"), "annotations", json_incref(anno))))
        goto nomem;
    /* The template shares nodes with the Job's metadata; make the Job a tree of its own. */
    json_t *copy = json_deep_copy(job);
    json_decref(job);
    job = copy;
    if (!job || raycluster_set_owner(job, rc))
        goto nomem;
    json_decref(pod);
    *out = job;
    return 0;
nomem:
    json_decref(job);
    json_decref(pod);
    return krc_error_set(err, KRC_ENOMEM,
                         "build redis cleanup job for RayCluster %s/%s: out of "
                         "memory",
                         rc->meta.ns, rc->meta.name);
}
