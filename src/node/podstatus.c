/* podstatus.c - the pod status the agent reports, computed from a pod worker's state: phase,
 * conditions (PodScheduled, Initialized, ContainersReady, Ready), podIP(s), hostIP(s), startTime
 * and one status per init container and container (waiting / running / terminated, lastState,
 * restartCount, ready, started). Pure apart from the clock; the worker writes it only when it
 * differs from the last one written. */
#define _GNU_SOURCE
#include "node/podworker.h"

#include <stdio.h>
#include <string.h>

static const char *policy(struct krc_podworker *w)
{
    const char *p = krc_json_str(w->pod, "spec.restartPolicy");
    return p ? p : "Always";
}

static int will_restart(struct krc_podworker *w, const struct krc_ctrstate *c)
{
    const char *p = policy(w);
    if (strcmp(p, "Always") == 0)
        return 1;
    return strcmp(p, "OnFailure") == 0 && c->st.exit_code != 0;
}

const char *krc_podstatus_phase(struct krc_podworker *w)
{
    if (w->failed)
        return "Failed";
    if (!w->initialized)
        return "Pending";
    int running = 0, exited = 0, failed = 0, restarting = 0, n = 0;
    for (size_t i = w->n_init; i < w->n_ctrs; i++) {
        const struct krc_ctrstate *c = &w->ctrs[i];
        n++;
        if (!c->started_once)
            continue;
        if (c->st.state == KRC_CONTAINER_RUNNING)
            running++;
        else if (c->st.state == KRC_CONTAINER_EXITED) {
            exited++;
            failed += c->st.exit_code != 0;
            restarting += will_restart(w, c);
        }
    }
    if (running > 0 || restarting > 0)
        return running + exited > 0 ? "Running" : "Pending";
    if (exited == n && n > 0)
        return failed ? "Failed" : "Succeeded";
    return running + exited > 0 ? "Running" : "Pending";
}

static json_t *when(int64_t t)
{
    char buf[64];
    krc_agent_time(buf, sizeof(buf), t, 0);
    return json_string(buf);
}

static json_t *terminated(const struct krc_container_status *st)
{
    const char *reason = st->message[0] ? "StartError" : st->exit_code == 0 ? "Completed" : "Error";
    json_t *t = json_pack("{s:i,s:s,s:o,s:o}", "exitCode", st->exit_code, "reason", reason,
                          "startedAt", when(st->started_at), "finishedAt",
                          when(st->finished_at ? st->finished_at : st->started_at));
    if (st->signal)
        json_object_set_new(t, "signal", json_integer(st->signal));
    if (st->message[0])
        json_object_set_new(t, "message", json_string(st->message));
    return json_pack("{s:o}", "terminated", t);
}

static json_t *container_status(struct krc_podworker *w, const struct krc_ctrstate *c)
{
    json_t *state, *last = json_object();
    char id[200];
    snprintf(id, sizeof(id), "krc://%s/%s", w->uid, c->name);
    if (c->started_once && c->st.state == KRC_CONTAINER_RUNNING)
        state = json_pack("{s:{s:o}}", "running", "startedAt", when(c->st.started_at));
    else if (c->waiting_reason[0])
        state = json_pack("{s:{s:s,s:s}}", "waiting", "reason", c->waiting_reason, "message",
                          c->waiting_message);
    else if (c->started_once)
        state = terminated(&c->st);
    else
        state = json_pack("{s:{s:s}}", "waiting", "reason",
                          c->init || w->initialized ? "ContainerCreating" : "PodInitializing");
    if (c->has_last) {
        json_decref(last);
        last = terminated(&c->last);
    }
    const char *image = krc_json_str(c->spec, "image");
    json_t *s = json_pack("{s:s,s:o,s:o,s:b,s:i,s:s,s:s}", "name", c->name, "state", state,
                          "lastState", last, "ready", c->ready, "restartCount",
                          c->started_once ? c->st.restart_count : 0, "image",
                          image ? image : "none", "imageID", "");
    if (c->started_once)
        json_object_set_new(s, "containerID", json_string(id));
    json_object_set_new(s, "started", json_boolean(c->started));
    return s;
}

static json_t *condition(struct krc_podworker *w, int i, const char *type, int value)
{
    if (w->cond_time[i] == 0 || w->cond_value[i] != value) {
        w->cond_time[i] = krc_agent_now();
        w->cond_value[i] = value;
    }
    json_t *c = json_pack("{s:s,s:s,s:n,s:o}", "type", type, "status", value ? "True" : "False",
                          "lastProbeTime", "lastTransitionTime", when(w->cond_time[i]));
    if (!value && i >= 2)
        json_object_set_new(c, "reason", json_string("ContainersNotReady"));
    return c;
}

json_t *krc_podstatus_build(struct krc_podworker *w)
{
    int all_ready = w->initialized && w->n_ctrs > w->n_init;
    for (size_t i = w->n_init; i < w->n_ctrs; i++)
        all_ready &= w->ctrs[i].ready;
    const char *phase = krc_podstatus_phase(w);
    if (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)
        all_ready = 0;
    json_t *conds = json_pack("[o,o,o,o]", condition(w, 0, "PodScheduled", 1),
                              condition(w, 1, "Initialized", w->initialized),
                              condition(w, 2, "ContainersReady", all_ready),
                              condition(w, 3, "Ready", all_ready));
    json_t *init = json_array(), *main = json_array();
    for (size_t i = 0; i < w->n_ctrs; i++)
        json_array_append_new(w->ctrs[i].init ? init : main, container_status(w, &w->ctrs[i]));
    json_t *s = json_pack("{s:s,s:o,s:s,s:[{s:s}],s:o,s:o}", "phase", phase, "conditions", conds,
                          "hostIP", w->agent->gateway, "hostIPs", "ip", w->agent->gateway,
                          "containerStatuses", main, "initContainerStatuses", init);
    if (w->pod_ip[0]) {
        json_object_set_new(s, "podIP", json_string(w->pod_ip));
        json_object_set_new(s, "podIPs", json_pack("[{s:s}]", "ip", w->pod_ip));
    }
    if (w->start_time)
        json_object_set_new(s, "startTime", when(w->start_time));
    if (w->sandbox_error[0]) {
        json_object_set_new(s, "message", json_string(w->sandbox_error));
        json_object_set_new(s, "reason", json_string("SandboxError"));
    }
    return s;
}
