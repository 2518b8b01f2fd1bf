/* podworker.c - one thread per pod: create (or adopt) its sandbox, run its init containers in
 * order and then its containers, restart them by restartPolicy with the kubelet's back-off
 * (base doubling to a cap, configurable for tests), run probes, keep /etc/hosts current, write
 * the pod status when it changes, and on deletion stop everything within the grace period and
 * delete the pod object with grace 0, as the kubelet does.
 *
 * The loop runs a pass (container states from the supervisor, starts, restarts, probes, volume
 * refresh, status write) whenever something happened and otherwise sleeps in poll(2) on two
 * descriptors: an eventfd the agent writes when the API watch hands over a newer pod object (or
 * the DNS records or the agent's state change), and a "watch" request to the pod's supervisor
 * that it answers when a container starts, exits or is asked to stop (sandbox.h). The poll
 * timeout is the next deadline of the worker's own (krc_podworker_next_wake): a probe's period,
 * a restart back-off, a retry after a failed step, a volume refresh, or the RESYNC_MS resync.
 * An idle pod therefore costs one pass per RESYNC_MS. Without a watch (a supervisor that predates
 * it, or one that is gone) the worker falls back to a pass every TICK_MS. Status writes happen
 * only when the computed status differs from the last one written, which keeps the API quiet
 * while still reporting changes as they happen. */
#define _GNU_SOURCE
#include "node/podworker.h"

#include "util/log.h"
#include "util/quantity.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static const struct krc_resource POD_RESOURCE = {"", "v1", "pods", 1};
enum {
    TICK_MS = 200,           /* pass period without a supervisor watch; retry after a failure */
    RESYNC_MS = 10000,       /* a full pass at least this often even when nothing happened */
    SANDBOX_RETRY_MS = 5000, /* after a failed sandbox creation */
    CONFIG_RETRY_MS = 2000,  /* after CreateContainerConfigError */
};

const char *krc_podworker_uid(const struct krc_podworker *w)
{
    return w->uid;
}

int krc_podworker_done(struct krc_podworker *w)
{
    pthread_mutex_lock(&w->mu);
    int d = w->done;
    pthread_mutex_unlock(&w->mu);
    return d;
}

/* Lock-free (called with the agent's lock held): an eventfd write never blocks in practice;
 * on EAGAIN the counter is already non-zero, so the worker wakes anyway. */
void krc_podworker_wake(struct krc_podworker *w)
{
    uint64_t one = 1;
    if (write(w->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        KRC_LOG_WARN("waking a pod worker failed", "pod", w->name, "error", strerror(errno));
}

void krc_podworker_wake_all(struct krc_agent *a)
{
    pthread_mutex_lock(&a->mu);
    for (struct krc_podworker *w = a->workers; w; w = w->next)
        krc_podworker_wake(w);
    pthread_mutex_unlock(&a->mu);
}

void krc_podworker_update(struct krc_podworker *w, json_t *pod)
{
    pthread_mutex_lock(&w->mu);
    if (pod) {
        json_decref(w->latest);
        w->latest = json_incref(pod);
    } else
        w->gone = 1;
    pthread_mutex_unlock(&w->mu);
    krc_podworker_wake(w);
}

static void free_worker(struct krc_podworker *w)
{
    json_decref(w->latest);
    json_decref(w->pod);
    free(w->ctrs);
    free(w->last_status);
    krc_volumes_free(w->vols);
    if (w->wakefd >= 0)
        close(w->wakefd);
    if (w->watch_fd >= 0)
        close(w->watch_fd);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void krc_podworker_join(struct krc_podworker *w)
{
    pthread_join(w->thread, NULL);
    free_worker(w);
}

/* ---- helpers ---- */

/* Copies src into dst (size n), truncating. */
static void copy_str(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static int64_t backoff_ms(struct krc_podworker *w, int restarts)
{
    int64_t d = w->agent->cfg.backoff_base_ms;
    for (int i = 0; i < restarts && d < w->agent->cfg.backoff_max_ms; i++)
        d *= 2;
    return d < w->agent->cfg.backoff_max_ms ? d : w->agent->cfg.backoff_max_ms;
}

static void log_err(struct krc_podworker *w, const char *msg, const struct krc_error *err)
{
    KRC_LOG_WARN(msg, "pod", w->name, "namespace", w->ns, "error", err->msg);
}

static int sum_limits(json_t *spec, const char *res, int64_t *out)
{
    size_t i;
    json_t *c;
    int64_t total = 0;
    json_array_foreach(json_object_get(spec, "containers"), i, c)
    {
        const char *v =
            krc_json_key(json_object_get(json_object_get(c, "resources"), "limits"), res);
        struct krc_quantity q;
        int64_t x = 0;
        if (!v)
            return 0; /* one unlimited container: the pod is unlimited */
        if (krc_quantity_parse(v, &q, NULL) != 0)
            return 0;
        if (strcmp(res, "cpu") == 0 ? krc_quantity_milli_value(&q, &x, NULL)
                                    : krc_quantity_value(&q, &x, NULL))
            return 0;
        total += x;
    }
    *out = total;
    return 0;
}

static int setup_containers(struct krc_podworker *w)
{
    json_t *spec = json_object_get(w->pod, "spec");
    json_t *init = json_object_get(spec, "initContainers"),
           *main = json_object_get(spec, "containers");
    w->n_init = json_array_size(init);
    w->n_ctrs = w->n_init + json_array_size(main);
    w->ctrs = calloc(w->n_ctrs ? w->n_ctrs : 1, sizeof(*w->ctrs));
    if (!w->ctrs)
        return KRC_ENOMEM;
    for (size_t i = 0; i < w->n_ctrs; i++) {
        struct krc_ctrstate *c = &w->ctrs[i];
        c->init = i < w->n_init;
        c->spec = c->init ? json_array_get(init, i) : json_array_get(main, i - w->n_init);
        c->name = krc_json_str(c->spec, "name");
        if (!c->name)
            c->name = "unnamed";
    }
    w->initialized = w->n_init == 0;
    return 0;
}

static int create_sandbox(struct krc_podworker *w, struct krc_error *err)
{
    struct krc_node *node = w->agent->node;
    int rc = krc_sandbox_adopt(node, w->uid, &w->sb, err);
    if (rc == 0) {
        if (krc_sandbox_alive(w->sb)) {
            KRC_LOG_INFO("adopted running pod", "pod", w->name, "namespace", w->ns);
            return 1;
        }
        rc = krc_sandbox_destroy(w->sb, 0, err);
        w->sb = NULL;
        if (rc != 0)
            return rc;
    } else if (rc != KRC_ENOTFOUND)
        return rc;
    krc_volumes_free(w->vols);
    w->vols = NULL;
    rc = krc_volumes_prepare(w->agent, w->pod, &w->vols, err);
    if (rc != 0)
        return rc;
    json_t *spec = json_object_get(w->pod, "spec");
    struct krc_sandbox_spec ss = {
        .uid = w->uid,
        .name = w->name,
        .namespace_ = w->ns,
        .hostname = krc_json_str(spec, "hostname"),
        .grace_seconds = (int)krc_json_int(spec, "terminationGracePeriodSeconds", 30),
    };
    int64_t mem = 0, cpu = 0;
    sum_limits(spec, "memory", &mem);
    sum_limits(spec, "cpu", &cpu);
    ss.memory_limit = mem;
    ss.cpu_limit_millis = (int)cpu;
    krc_volumes_mounts(w->vols, &ss.mounts, &ss.n_mounts, &ss.shm_size);
    return krc_sandbox_create(node, &ss, &w->sb, err);
}

/* Reconciles adopted containers: statuses the supervisor knows become our state. */
static void adopt_statuses(struct krc_podworker *w)
{
    struct krc_container_status *st = NULL;
    size_t n = 0;
    struct krc_error err = {0};
    if (krc_sandbox_status(w->sb, &st, &n, &err) != 0)
        return;
    int any_main = 0;
    for (size_t i = 0; i < w->n_ctrs; i++)
        for (size_t k = 0; k < n; k++)
            if (strcmp(st[k].name, w->ctrs[i].name) == 0) {
                w->ctrs[i].started_once = 1;
                w->ctrs[i].st = st[k];
                any_main |= !w->ctrs[i].init;
            }
    if (any_main) {
        w->initialized = 1;
        w->init_next = w->n_init;
    }
    free(st);
}

static void refresh_statuses(struct krc_podworker *w)
{
    struct krc_container_status *st = NULL;
    size_t n = 0;
    struct krc_error err = {0};
    if (krc_sandbox_status(w->sb, &st, &n, &err) != 0)
        return;
    for (size_t i = 0; i < w->n_ctrs; i++) {
        struct krc_ctrstate *c = &w->ctrs[i];
        for (size_t k = 0; k < n; k++) {
            if (strcmp(st[k].name, c->name) != 0)
                continue;
            if (c->started_once && c->st.state == KRC_CONTAINER_EXITED &&
                st[k].restart_count > c->st.restart_count) {
                c->last = c->st;
                c->has_last = 1;
            }
            c->st = st[k];
            c->started_once = 1;
        }
        if (!c->started_once || c->st.state != KRC_CONTAINER_RUNNING) {
            c->ready = 0;
            c->started = 0;
        }
    }
    free(st);
}

static void start_container(struct krc_podworker *w, struct krc_ctrstate *c)
{
    struct krc_containerbuf b;
    struct krc_error err = {0};
    int64_t now = krc_agent_now_ms();
    if (c->next_start_ms && now < c->next_start_ms)
        return;
    int rc = krc_containers_build(w->agent, w->pod, c->spec, w->pod_ip, &b, &err);
    if (rc != 0) {
        snprintf(c->waiting_reason, sizeof(c->waiting_reason), "CreateContainerConfigError");
        copy_str(c->waiting_message, sizeof(c->waiting_message), err.msg);
        c->next_start_ms = now + CONFIG_RETRY_MS;
        return;
    }
    if (c->started_once && c->st.state == KRC_CONTAINER_EXITED) {
        c->last = c->st;
        c->has_last = 1;
    }
    struct krc_container_status st = {0}; /* not filled when the request fails */
    rc = krc_sandbox_start_container(w->sb, &b.spec, &st, &err);
    krc_containers_release(&b);
    c->waiting_reason[0] = '\0';
    c->next_start_ms = 0;
    if (rc == 0 || st.name[0]) {
        c->st = st;
        c->started_once = 1;
    }
    if (rc != 0 && !st.name[0]) /* the request itself failed: no state change will wake us */
        w->retry_at = now + TICK_MS;
    if (rc != 0)
        log_err(w, "container start failed", &err);
    else
        KRC_LOG_INFO("container started", "pod", w->name, "namespace", w->ns, "container", c->name);
}

/* An exited container: start it again now, or schedule its back-off. Returns 1 if it waits. */
static int maybe_restart(struct krc_podworker *w, struct krc_ctrstate *c, int restart)
{
    if (!restart)
        return 0;
    int64_t now = krc_agent_now_ms();
    if (c->next_start_ms == 0) {
        c->next_start_ms = now + backoff_ms(w, c->st.restart_count);
        snprintf(c->waiting_reason, sizeof(c->waiting_reason), "CrashLoopBackOff");
        char msg[600];
        snprintf(msg, sizeof(msg), "back-off %llds restarting failed container=%s pod=%s_%s",
                 (long long)(c->next_start_ms - now) / 1000, c->name, w->name, w->ns);
        copy_str(c->waiting_message, sizeof(c->waiting_message), msg);
        if (c->st.exit_code == 0) /* a clean exit under Always restarts at once, no back-off */
            c->next_start_ms = now;
    }
    if (now >= c->next_start_ms)
        start_container(w, c);
    return 1;
}

static const char *restart_policy(struct krc_podworker *w)
{
    const char *p = krc_json_str(w->pod, "spec.restartPolicy");
    return p ? p : "Always";
}

static void run_probes(struct krc_podworker *w, size_t idx)
{
    struct krc_ctrstate *c = &w->ctrs[idx];
    static const char *const keys[PROBE_KINDS] = {"startupProbe", "readinessProbe",
                                                  "livenessProbe"};
    static const char *const short_names[PROBE_KINDS] = {"s", "r", "l"};
    int64_t now = krc_agent_now_ms();
    if (c->run_started_at != c->st.started_at) {
        c->run_started_at = c->st.started_at;
        for (int k = 0; k < PROBE_KINDS; k++) {
            json_t *p = json_object_get(c->spec, keys[k]);
            c->probe_next[k] = now + krc_json_int(p, "initialDelaySeconds", 0) * 1000;
            c->probe_ok[k] = c->probe_bad[k] = 0;
        }
        c->started = !json_object_get(c->spec, keys[PROBE_STARTUP]);
        c->ready = 0;
    }
    if (!json_object_get(c->spec, keys[PROBE_READINESS]) && c->started)
        c->ready = 1;
    for (int k = 0; k < PROBE_KINDS; k++) {
        json_t *p = json_object_get(c->spec, keys[k]);
        if (!p || now < c->probe_next[k] || (k != PROBE_STARTUP && !c->started) ||
            (k == PROBE_STARTUP && c->started))
            continue;
        char pname[64];
        snprintf(pname, sizeof(pname), "krcprobe-%zu-%s", idx, short_names[k]);
        int ok = krc_probe_run(w->sb, w->pod_ip, p, c->spec, pname);
        c->probe_next[k] = krc_agent_now_ms() + krc_json_int(p, "periodSeconds", 10) * 1000;
        if (ok) {
            c->probe_bad[k] = 0;
            c->probe_ok[k]++;
        } else {
            c->probe_ok[k] = 0;
            c->probe_bad[k]++;
        }
        int succ_needed = (int)krc_json_int(p, "successThreshold", 1);
        int fail_needed = (int)krc_json_int(p, "failureThreshold", 3);
        if (k == PROBE_STARTUP && ok && c->probe_ok[k] >= succ_needed)
            c->started = 1;
        if (k == PROBE_READINESS) {
            if (ok && c->probe_ok[k] >= succ_needed)
                c->ready = 1;
            else if (!ok && c->probe_bad[k] >= fail_needed)
                c->ready = 0;
        }
        if ((k == PROBE_LIVENESS || k == PROBE_STARTUP) && !ok && c->probe_bad[k] >= fail_needed) {
            struct krc_error err = {0};
            KRC_LOG_INFO("probe failed, restarting container", "pod", w->name, "container", c->name,
                         "probe", keys[k]);
            int grace = (int)krc_json_int(w->pod, "spec.terminationGracePeriodSeconds", 30);
            if (krc_sandbox_stop_container(w->sb, c->name, grace, &err) != 0)
                log_err(w, "stopping container failed", &err);
            c->probe_bad[k] = 0;
        }
    }
}

/* An init container with restartPolicy Always (a sidecar). */
static int is_sidecar(const struct krc_ctrstate *c)
{
    const char *p = c->init ? krc_json_str(c->spec, "restartPolicy") : NULL;
    return p && strcmp(p, "Always") == 0;
}

static void step_containers(struct krc_podworker *w)
{
    const char *policy = restart_policy(w);
    /* Init containers, one at a time; a sidecar (restartPolicy Always) counts as done once it
     * runs and its startup probe passed, and keeps running beside the containers. */
    while (!w->initialized && !w->failed) {
        struct krc_ctrstate *c = &w->ctrs[w->init_next];
        if (is_sidecar(c)) {
            if (!c->started_once) {
                start_container(w, c);
                return;
            }
            if (c->st.state != KRC_CONTAINER_RUNNING) {
                maybe_restart(w, c, 1);
                return;
            }
            c->waiting_reason[0] = '\0';
            run_probes(w, w->init_next);
            if (!c->started)
                return;
            if (++w->init_next == w->n_init)
                w->initialized = 1;
            continue;
        }
        if (!c->started_once || (c->st.state == KRC_CONTAINER_EXITED && c->next_start_ms)) {
            start_container(w, c);
            return;
        }
        if (c->st.state != KRC_CONTAINER_EXITED)
            return;
        if (c->st.exit_code == 0) {
            c->waiting_reason[0] = '\0';
            if (++w->init_next == w->n_init)
                w->initialized = 1;
            continue;
        }
        if (strcmp(policy, "Never") == 0) {
            w->failed = 1;
            return;
        }
        maybe_restart(w, c, 1);
        return;
    }
    if (w->failed)
        return;
    for (size_t i = 0; i < w->n_init; i++) { /* sidecars keep running */
        struct krc_ctrstate *c = &w->ctrs[i];
        if (!is_sidecar(c) || !c->started_once)
            continue;
        if (c->st.state == KRC_CONTAINER_RUNNING) {
            c->waiting_reason[0] = '\0';
            run_probes(w, i);
        } else if (c->st.state == KRC_CONTAINER_EXITED)
            maybe_restart(w, c, 1);
    }
    for (size_t i = w->n_init; i < w->n_ctrs; i++) {
        struct krc_ctrstate *c = &w->ctrs[i];
        if (!c->started_once) {
            start_container(w, c);
            continue;
        }
        if (c->st.state == KRC_CONTAINER_RUNNING) {
            c->waiting_reason[0] = '\0';
            run_probes(w, i);
            continue;
        }
        if (c->st.state == KRC_CONTAINER_EXITED) {
            int restart = strcmp(policy, "Always") == 0 ||
                          (strcmp(policy, "OnFailure") == 0 && c->st.exit_code != 0);
            maybe_restart(w, c, restart);
        }
    }
}

static void write_status(struct krc_podworker *w)
{
    json_t *status = krc_podstatus_build(w);
    char *s = json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(status);
    if (!s || (w->last_status && strcmp(s, w->last_status) == 0)) {
        free(s);
        return;
    }
    struct krc_strbuf body = KRC_STRBUF_INIT, out = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    krc_strbuf_addf(&body, "{\"status\":%s}", s);
    int rc = krc_client_patch(w->agent->client, &POD_RESOURCE, w->ns, w->name, "status",
                              KRC_PATCH_MERGE, body.buf, body.len, NULL, &out, &err);
    krc_strbuf_release(&body);
    krc_strbuf_release(&out);
    if (rc != 0) {
        if (rc != KRC_ENOTFOUND)
            log_err(w, "pod status update failed", &err);
        free(s);
        w->retry_at = krc_agent_now_ms() + TICK_MS;
        return;
    }
    free(w->last_status);
    w->last_status = s;
}

static void update_hosts(struct krc_podworker *w)
{
    unsigned gen;
    pthread_mutex_lock(&w->agent->mu);
    gen = w->agent->dns_generation;
    pthread_mutex_unlock(&w->agent->mu);
    if (gen == w->dns_generation && w->dns_generation != 0)
        return;
    struct krc_strbuf hosts = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    const char *hn = krc_json_str(w->pod, "spec.hostname");
    char hostname[64];
    copy_str(hostname, sizeof(hostname), hn ? hn : w->name);
    if (krc_dns_hosts(w->agent, w->ns, w->pod_ip, hostname, &hosts) == 0 &&
        krc_sandbox_set_hosts(w->sb, hosts.buf, &err) == 0)
        w->dns_generation = gen ? gen : 1;
    else
        w->retry_at = krc_agent_now_ms() + TICK_MS;
    krc_strbuf_release(&hosts);
}

static void terminate(struct krc_podworker *w, int delete_object, int orphan)
{
    struct krc_error err = {0};
    long long grace = krc_json_int(w->pod, "metadata.deletionGracePeriodSeconds",
                                   krc_json_int(w->pod, "spec.terminationGracePeriodSeconds", 30));
    if (w->sb && !orphan) {
        /* preStop hooks (exec or httpGet) of running containers, within the grace period. */
        int64_t deadline = krc_agent_now_ms() + grace * 1000;
        for (size_t i = w->n_init; i < w->n_ctrs; i++) {
            struct krc_ctrstate *c = &w->ctrs[i];
            json_t *hook = json_object_get(json_object_get(c->spec, "lifecycle"), "preStop");
            int64_t left = deadline - krc_agent_now_ms();
            if (!hook || !c->started_once || c->st.state != KRC_CONTAINER_RUNNING || left <= 0)
                continue;
            json_t *probe = json_deep_copy(hook);
            char pname[64];
            snprintf(pname, sizeof(pname), "krcprestop-%zu", i);
            json_object_set_new(probe, "timeoutSeconds", json_integer((left + 999) / 1000));
            KRC_LOG_INFO("running preStop hook", "pod", w->name, "container", c->name);
            krc_probe_run(w->sb, w->pod_ip, probe, c->spec, pname);
            json_decref(probe);
        }
        /* What the hooks left of the grace period, rounded up: truncating cut a whole second
         * off even when no hook ran (the few milliseconds since the deadline was taken). */
        int64_t left_ms = deadline - krc_agent_now_ms();
        grace = left_ms > 0 ? (left_ms + 999) / 1000 : 0;
    }
    if (w->sb) {
        KRC_LOG_INFO("stopping pod", "pod", w->name, "namespace", w->ns);
        if (krc_sandbox_destroy(w->sb, (int)grace, &err) != 0)
            log_err(w, "destroying the sandbox failed", &err);
        w->sb = NULL;
    }
    krc_volumes_remove(w->agent, w->uid);
    if (delete_object && !orphan) {
        struct krc_delete_opts opts = {
            .grace_period_set = 1, .grace_period_seconds = 0, .precondition_uid = w->uid};
        int rc =
            krc_client_delete(w->agent->client, &POD_RESOURCE, w->ns, w->name, &opts, NULL, &err);
        if (rc != 0 && rc != KRC_ENOTFOUND && rc != KRC_ECONFLICT)
            log_err(w, "deleting the pod failed", &err);
    }
}

/* ---- waiting ---- */

static void consider(int64_t *next, int64_t at, int64_t t0)
{
    if (at > t0 && at < *next)
        *next = at;
}

int64_t krc_podworker_next_wake(const struct krc_podworker *w, int64_t t0, int64_t now,
                                int64_t idle_ms)
{
    static const char *const keys[PROBE_KINDS] = {"startupProbe", "readinessProbe",
                                                  "livenessProbe"};
    int64_t next = now + idle_ms;
    for (size_t i = 0; i < w->n_ctrs; i++) {
        const struct krc_ctrstate *c = &w->ctrs[i];
        if (c->next_start_ms)
            consider(&next, c->next_start_ms, t0);
        if (!c->started_once || c->st.state != KRC_CONTAINER_RUNNING)
            continue;
        for (int k = 0; k < PROBE_KINDS; k++)
            if (json_object_get(c->spec, keys[k]))
                consider(&next, c->probe_next[k], t0);
    }
    if (w->retry_at)
        consider(&next, w->retry_at, t0);
    if (w->vols) {
        int64_t v = krc_volumes_next_refresh_ms(w->vols);
        if (v)
            consider(&next, v, t0);
    }
    return next;
}

/* Opens the supervisor watch if none is open and the supervisor supports it. */
static void arm_watch(struct krc_podworker *w)
{
    struct krc_error err = {0};
    if (w->watch_fd >= 0 || w->watch_unsupported || !w->sb ||
        krc_agent_now_ms() < w->watch_retry_at)
        return;
    if (krc_sandbox_watch_start(w->sb, w->watch_gen, &w->watch_fd, &err) != 0) {
        w->watch_fd = -1;
        w->watch_retry_at = krc_agent_now_ms() + TICK_MS;
    }
}

/* The watch answered (or closed): note the new generation. */
static void finish_watch(struct krc_podworker *w)
{
    struct krc_error err = {0};
    unsigned long long gen = w->watch_gen;
    int rc = krc_sandbox_watch_finish(w->sb, w->watch_fd, &gen, &err);
    w->watch_fd = -1;
    if (rc == 0) {
        w->watch_gen = gen;
        return;
    }
    if (rc == KRC_EINVAL && strstr(err.msg, "unknown op")) {
        KRC_LOG_INFO("pod supervisor has no watch; polling it", "pod", w->name, "namespace", w->ns);
        w->watch_unsupported = 1;
    }
    /* EOF: the supervisor exited or dropped us. Not at once again, in case it keeps doing so. */
    w->watch_retry_at = krc_agent_now_ms() + TICK_MS;
}

/* Sleeps until the agent wakes us, the supervisor reports a change, or wait_ms passed. */
static void wait_events(struct krc_podworker *w, int64_t wait_ms)
{
    struct pollfd pfd[2] = {{.fd = w->wakefd, .events = POLLIN},
                            {.fd = w->watch_fd, .events = POLLIN}};
    nfds_t n = w->watch_fd >= 0 ? 2 : 1;
    if (wait_ms < 0)
        wait_ms = 0;
    if (wait_ms > INT32_MAX)
        wait_ms = INT32_MAX;
    int r = poll(pfd, n, (int)wait_ms);
    if (r < 0 && errno != EINTR) {
        KRC_LOG_WARN("pod worker poll failed", "pod", w->name, "error", strerror(errno));
        struct timespec ts = {0, TICK_MS * 1000000L};
        nanosleep(&ts, NULL);
        return;
    }
    if (r <= 0)
        return;
    if (pfd[0].revents) {
        uint64_t count;
        if (read(w->wakefd, &count, sizeof(count)) < 0 && errno != EAGAIN)
            KRC_LOG_WARN("pod worker eventfd read failed", "pod", w->name, "error",
                         strerror(errno));
    }
    if (n == 2 && pfd[1].revents)
        finish_watch(w);
}

/* Takes the newest pod object from the watch. Returns 1 if the pod is gone. */
static int take_latest(struct krc_podworker *w)
{
    pthread_mutex_lock(&w->mu);
    int gone = w->gone;
    if (w->latest) {
        /* The spec is immutable in what we use; keep the first object (ctrs point into it)
         * and take only metadata (deletion) from newer ones. */
        json_t *meta = json_object_get(w->latest, "metadata");
        if (meta)
            json_object_set(w->pod, "metadata", meta);
        json_decref(w->latest);
        w->latest = NULL;
    }
    pthread_mutex_unlock(&w->mu);
    return gone;
}

static void *worker_main(void *arg)
{
    struct krc_podworker *w = arg;
    struct krc_agent *a = w->agent;
    struct krc_error err = {0};
    int orphan = json_is_true(json_object_get(w->pod, "krcOrphan"));
    int created = 0;
    int64_t retry_at = 0, wait_ms = 0;
    w->start_time = krc_agent_now();
    if (setup_containers(w) != 0)
        goto out;
    while (!krc_agent_stopping(a)) {
        wait_events(w, wait_ms);
        if (krc_agent_stopping(a))
            break;
        int gone = take_latest(w);
        if (gone || krc_json_str(w->pod, "metadata.deletionTimestamp")) {
            if (!w->sb && !created && orphan) {
                if (krc_sandbox_adopt(a->node, w->uid, &w->sb, &err) != 0)
                    w->sb = NULL;
            } else if (!w->sb && !created) {
                /* Never started here: maybe a sandbox from before a restart. */
                if (krc_sandbox_adopt(a->node, w->uid, &w->sb, &err) != 0)
                    w->sb = NULL;
            }
            terminate(w, !gone, orphan);
            break;
        }
        if (!w->sb) {
            wait_ms = retry_at - krc_agent_now_ms();
            if (wait_ms > 0)
                continue;
            int rc = create_sandbox(w, &err);
            if (rc < 0) {
                copy_str(w->sandbox_error, sizeof(w->sandbox_error), err.msg);
                log_err(w, "creating the pod sandbox failed", &err);
                retry_at = krc_agent_now_ms() + SANDBOX_RETRY_MS;
                wait_ms = SANDBOX_RETRY_MS;
                for (size_t i = 0; i < w->n_ctrs; i++) {
                    snprintf(w->ctrs[i].waiting_reason, sizeof(w->ctrs[i].waiting_reason),
                             "CreateContainerConfigError");
                    copy_str(w->ctrs[i].waiting_message, sizeof(w->ctrs[i].waiting_message),
                             err.msg);
                }
                write_status(w);
                w->sb = NULL;
                continue;
            }
            created = 1;
            w->sandbox_error[0] = '\0';
            for (size_t i = 0; i < w->n_ctrs; i++)
                w->ctrs[i].waiting_reason[0] = '\0';
            snprintf(w->pod_ip, sizeof(w->pod_ip), "%s", krc_sandbox_ip(w->sb));
            if (rc == 1)
                adopt_statuses(w);
            KRC_LOG_INFO("pod sandbox ready", "pod", w->name, "namespace", w->ns, "ip", w->pod_ip);
        }
        int64_t t0 = krc_agent_now_ms();
        w->retry_at = 0;
        update_hosts(w);
        arm_watch(w); /* before the status call: a change after it answers the watch */
        refresh_statuses(w);
        step_containers(w);
        if (w->vols && krc_volumes_refresh(a, w->pod, w->vols, &err) != 0)
            log_err(w, "refreshing a volume failed", &err);
        write_status(w);
        int64_t now = krc_agent_now_ms();
        wait_ms = krc_podworker_next_wake(w, t0, now, w->watch_fd >= 0 ? RESYNC_MS : TICK_MS) - now;
    }
out:
    if (w->watch_fd >= 0)
        close(w->watch_fd);
    w->watch_fd = -1;
    if (w->sb)
        krc_sandbox_close(w->sb);
    w->sb = NULL;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct krc_podworker *krc_podworker_start(struct krc_agent *a, json_t *pod)
{
    const char *uid = krc_json_str(pod, "metadata.uid");
    const char *ns = krc_json_str(pod, "metadata.namespace");
    const char *name = krc_json_str(pod, "metadata.name");
    if (!uid || !ns || !name)
        return NULL;
    struct krc_podworker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->agent = a;
    snprintf(w->uid, sizeof(w->uid), "%s", uid);
    snprintf(w->ns, sizeof(w->ns), "%s", ns);
    snprintf(w->name, sizeof(w->name), "%s", name);
    w->pod = json_deep_copy(pod);
    w->watch_fd = -1;
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&w->mu, NULL);
    if (!w->pod || w->wakefd < 0 || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        free_worker(w);
        return NULL;
    }
    return w;
}
