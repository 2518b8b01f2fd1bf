/* raypod.c - observed-pod accessors and the pod health rule of spec §6.8 (see raypod.h). */
#include "controller/raypod.h"

#include "api/kobj.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

const char *raypod_name(const json_t *pod)
{
    return or_empty(kobj_path_str(pod, "metadata.name"));
}

const char *raypod_phase(const json_t *pod)
{
    return or_empty(kobj_path_str(pod, "status.phase"));
}

const char *raypod_label(const json_t *pod, const char *key)
{
    return kobj_map_get(kobj_path(pod, "metadata.labels"), key);
}

const char *raypod_restart_policy(const json_t *pod)
{
    return or_empty(kobj_path_str(pod, "spec.restartPolicy"));
}

bool raypod_is_terminating(const json_t *pod)
{
    json_t *ts = kobj_path(pod, "metadata.deletionTimestamp");
    return ts && !json_is_null(ts);
}

const json_t *raypod_ready_condition(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach(kobj_arr(kobj_obj(pod, "status"), "conditions"), i, c)
    {
        const char *t = kobj_str(c, "type");
        if (t && strcmp(t, "Ready") == 0)
            return c;
    }
    return NULL;
}

bool raypod_running_and_ready(const json_t *pod)
{
    if (strcmp(raypod_phase(pod), "Running") != 0)
        return false;
    /* IsRunningAndReady takes any Ready=True condition; pods have at most one Ready. */
    size_t i;
    json_t *c;
    json_array_foreach(kobj_arr(kobj_obj(pod, "status"), "conditions"), i, c)
    {
        const char *t = kobj_str(c, "type"), *s = kobj_str(c, "status");
        if (t && s && strcmp(t, "Ready") == 0 && strcmp(s, "True") == 0)
            return true;
    }
    return false;
}

const json_t *raypod_ray_container_terminated(const json_t *pod)
{
    const char *name = kobj_str(kobj_container(kobj_obj(pod, "spec"), 0), "name");
    if (!name)
        return NULL;
    size_t i;
    json_t *cs;
    json_array_foreach(kobj_arr(kobj_obj(pod, "status"), "containerStatuses"), i, cs)
    {
        const char *n = kobj_str(cs, "name");
        if (n && strcmp(n, name) == 0)
            return kobj_obj(kobj_obj(cs, "state"), "terminated");
    }
    return NULL;
}

bool raypod_all_running(const json_t *pods)
{
    if (json_array_size(pods) == 0)
        return false;
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (strcmp(raypod_phase(p), "Running") != 0)
            return false;
        size_t k;
        json_t *c;
        json_array_foreach(kobj_arr(kobj_obj(p, "status"), "conditions"), k, c)
        {
            const char *t = kobj_str(c, "type"), *s = kobj_str(c, "status");
            if (t && strcmp(t, "Ready") == 0 && (!s || strcmp(s, "True") != 0))
                return false;
        }
    }
    return true;
}

int raypod_terminated_text(const json_t *pod, struct krc_strbuf *out)
{
    const json_t *t = raypod_ray_container_terminated(pod);
    if (!t)
        return krc_strbuf_adds(out, "<nil>");
    char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return KRC_ENOMEM;
    int rc = krc_strbuf_adds(out, s);
    free(s);
    return rc;
}

int raypod_should_delete(const json_t *pod, const char *node_type, struct krc_strbuf *reason)
{
    const char *phase = raypod_phase(pod);
    const char *name = raypod_name(pod);
    struct krc_strbuf term = KRC_STRBUF_INIT;
    int rc = 0, del = 0;
    if (strcmp(phase, "Failed") == 0 || strcmp(phase, "Succeeded") == 0) {
        del = 1;
        if (reason)
            rc = krc_strbuf_addf(reason,
                                 "The %s Pod %s status is %s which is a terminal state. KubeRay "
                                 "will delete the Pod and create new Pods in the next "
                                 "reconciliation if necessary.",
                                 node_type, name, phase);
        goto out;
    }
    if ((rc = raypod_terminated_text(pod, &term)))
        goto out;
    const char *policy = raypod_restart_policy(pod);
    if (strcmp(phase, "Running") == 0 && raypod_ray_container_terminated(pod)) {
        if (strcmp(policy, "Never") == 0) {
            del = 1;
            if (reason)
                rc = krc_strbuf_addf(reason,
                                     "The Pod status of the %s Pod %s is %s, and the Ray container "
                                     "terminated status is %s. The container is unable to restart "
                                     "due to its restart policy %s, so KubeRay will delete it.",
                                     node_type, name, phase, term.buf, policy);
        } else if (reason) {
            rc = krc_strbuf_addf(reason,
                                 "The Pod status of the %s Pod %s is %s, and the Ray container "
                                 "terminated status is %s. However, KubeRay will not delete the "
                                 "Pod because its restartPolicy is set to %s and it should be able "
                                 "to restart automatically.",
                                 node_type, name, phase, term.buf, policy);
        }
        goto out;
    }
    if (reason)
        rc = krc_strbuf_addf(reason,
                             "KubeRay does not need to delete the %s Pod %s. The Pod status is %s, "
                             "and the Ray container terminated status is %s.",
                             node_type, name, phase, term.buf);
out:
    krc_strbuf_release(&term);
    return rc ? rc : del;
}
