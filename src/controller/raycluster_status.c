/* raycluster_status.c - status computation (spec §9; see raycluster_status.h).
 *
 * The function follows KubeRay's calculateStatus line by line: replica-failure condition, counts,
 * desired resources, `ready`, conditions, `suspended`, endpoints, head info, timestamps. Resource
 * totals use exact quantity arithmetic (util/quantity.h) because the strings are shown by
 * `kubectl get` and compared by clients; a total is kept as a small array of (name, quantity)
 * since a pod has a handful of resource names. */
#include "controller/raycluster_status.h"

#include "api/kobj.h"
#include "controller/raycluster_names.h"
#include "controller/raypod.h"
#include "ray/raystart.h"
#include "util/quantity.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- replica arithmetic (KubeRay's int32, wrapping) --------------------------------------- */

static int32_t wrap_mul(int32_t a, int32_t b)
{
    return (int32_t)(uint32_t)((uint32_t)a * (uint32_t)b);
}

static int32_t wrap_add(int32_t a, int32_t b)
{
    return (int32_t)(uint32_t)((uint32_t)a + (uint32_t)b);
}

int32_t raycluster_group_num_of_hosts(const struct raycluster_worker_group *g)
{
    return g->num_of_hosts.set ? g->num_of_hosts.v : 1;
}

int32_t raycluster_group_desired_pods(const struct raycluster_worker_group *g)
{
    int32_t min = g->min_replicas.set ? g->min_replicas.v : 0;
    int32_t max = g->max_replicas.set ? g->max_replicas.v : INT32_MAX;
    int32_t n;
    if (raycluster_group_suspended(g))
        return 0;
    if (!g->replicas.set || g->replicas.v < min)
        n = min;
    else if (g->replicas.v > max)
        n = max;
    else
        n = g->replicas.v;
    return wrap_mul(n, raycluster_group_num_of_hosts(g));
}

/* --- resource lists ---------------------------------------------------------------------- */

struct rl_item {
    const char *name; /* borrowed from the cluster document */
    struct krc_quantity q;
};

struct rl {
    size_t n, cap;
    struct rl_item *items;
};

static void rl_free(struct rl *l)
{
    free(l->items);
    memset(l, 0, sizeof(*l));
}

static struct rl_item *rl_find(const struct rl *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return &l->items[i];
    return NULL;
}

/* total[name] += q (the first occurrence is a copy, as Go's map assignment). */
static int rl_add(struct rl *l, const char *name, const struct krc_quantity *q,
                  struct krc_error *err)
{
    struct rl_item *it = rl_find(l, name);
    if (it)
        return krc_quantity_add(&it->q, q, err);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct rl_item *grown = realloc(l->items, cap * sizeof(*grown));
        if (!grown)
            return KRC_ENOMEM;
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = (struct rl_item){name, *q};
    return 0;
}

static bool parse_q(const json_t *v, struct krc_quantity *q)
{
    char buf[32];
    const char *text = kobj_quantity_text(v, buf, sizeof(buf));
    return text && krc_quantity_parse(text, q, NULL) == 0;
}

/* KubeRay's CalculatePodResource: per container, requests, plus limits for names without a
 * request; summed over `containers` only. Unparsable quantities are skipped (the API server
 * would have rejected them). */
static int pod_resources(const json_t *tmpl, struct rl *out, struct krc_error *err)
{
    size_t i;
    json_t *c;
    json_array_foreach(kobj_arr(kobj_obj(tmpl, "spec"), "containers"), i, c)
    {
        json_t *res = kobj_obj(c, "resources");
        json_t *req = kobj_obj(res, "requests"), *lim = kobj_obj(res, "limits");
        const char *name;
        json_t *v;
        struct krc_quantity q;
        int rc;
        json_object_foreach(req, name, v)
        {
            if (parse_q(v, &q) && (rc = rl_add(out, name, &q, err)))
                return rc;
        }
        json_object_foreach(lim, name, v)
        {
            if (json_object_get(req, name))
                continue;
            if (parse_q(v, &q) && (rc = rl_add(out, name, &q, err)))
                return rc;
        }
    }
    return 0;
}

/* q *= n by doubling: O(log n) exact additions. */
static int q_mul(struct krc_quantity *q, int64_t n, struct krc_error *err)
{
    struct krc_quantity result = {0}, base = *q;
    bool neg = n < 0;
    uint64_t m = neg ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    int rc;
    result.format = q->format;
    while (m) {
        if ((m & 1) && (rc = krc_quantity_add(&result, &base, err)))
            return rc;
        m >>= 1;
        if (m && (rc = krc_quantity_add(&base, &base, err)))
            return rc;
    }
    if (neg) {
        struct krc_quantity zero = {0};
        zero.format = result.format;
        if ((rc = krc_quantity_sub(&zero, &result, err)))
            return rc;
        result = zero;
    }
    result.format = q->format;
    *q = result;
    return 0;
}

static int q_text(const struct rl *l, const char *name, char *out)
{
    const struct rl_item *it = rl_find(l, name);
    struct krc_quantity zero = {0};
    return krc_quantity_to_string(it ? &it->q : &zero, out, KRC_QUANTITY_STR_MAX);
}

static int cmp_items(const void *a, const void *b)
{
    return strcmp(((const struct rl_item *)a)->name, ((const struct rl_item *)b)->name);
}

int raycluster_desired_resources(const struct raycluster *rc, char *cpu, char *memory, char *gpu,
                                 char *tpu, struct krc_error *err)
{
    struct rl total = {0}, group = {0};
    int r = pod_resources(rc->spec.head.template, &total, err);
    for (size_t g = 0; g < rc->spec.n_workers && !r; g++) {
        const struct raycluster_worker_group *w = &rc->spec.workers[g];
        if (raycluster_group_suspended(w))
            continue;
        group.n = 0;
        int64_t n =
            (int64_t)raycluster_group_num_of_hosts(w) * (w->replicas.set ? w->replicas.v : 0);
        if ((r = pod_resources(w->template, &group, err)))
            break;
        for (size_t i = 0; i < group.n && !r; i++)
            r = q_mul(&group.items[i].q, n, err);
        for (size_t i = 0; i < group.n && !r; i++)
            r = rl_add(&total, group.items[i].name, &group.items[i].q, err);
    }
    if (!r) {
        /* GPUs: every non-zero total whose name is a GPU key, in name order (so the result's
         * format does not depend on map order). */
        struct krc_quantity gpus = {0};
        if (total.n)
            qsort(total.items, total.n, sizeof(*total.items), cmp_items);
        for (size_t i = 0; i < total.n && !r; i++)
            if (raystart_is_gpu_key(total.items[i].name) &&
                !krc_quantity_is_zero(&total.items[i].q))
                r = krc_quantity_add(&gpus, &total.items[i].q, err);
        if (!r)
            r = krc_quantity_to_string(&gpus, gpu, KRC_QUANTITY_STR_MAX);
    }
    if (!r && ((r = q_text(&total, "cpu", cpu)) || (r = q_text(&total, "memory", memory)) ||
               (r = q_text(&total, "google.com/tpu", tpu))))
        r = krc_error_set(err, r, "format desired resources");
    if (r == KRC_ENOMEM)
        krc_error_set(err, r, "desired resources: out of memory");
    rl_free(&total);
    rl_free(&group);
    return r;
}

/* --- observed objects -------------------------------------------------------------------- */

static bool is_head(const json_t *pod)
{
    const char *t = raypod_label(pod, RAY_LABEL_NODE_TYPE);
    return t && strcmp(t, "head") == 0;
}

static bool is_worker(const json_t *pod)
{
    const char *t = raypod_label(pod, RAY_LABEL_NODE_TYPE);
    return t && strcmp(t, "worker") == 0;
}

/* Go's %v of KubeRay's list options: [<ns> map[k:v k:v]] with keys sorted. */
static int filter_text(const struct raycluster *rc, bool with_identifier, struct krc_strbuf *out)
{
    char ident[RAYNAME_MAX];
    if (with_identifier)
        return krc_strbuf_addf(out, "[%s map[%s:%s %s:%s %s:head]]", rc->meta.ns, RAY_LABEL_CLUSTER,
                               rc->meta.name, RAY_LABEL_IDENTIFIER,
                               rayname_identifier(rc->meta.name, RAY_NODE_HEAD, ident),
                               RAY_LABEL_NODE_TYPE);
    return krc_strbuf_addf(out, "[%s map[%s:%s %s:head]]", rc->meta.ns, RAY_LABEL_CLUSTER,
                           rc->meta.name, RAY_LABEL_NODE_TYPE);
}

/* KubeRay's GetRayClusterHeadPod: NULL for none, error for more than one. */
static int find_head_pod(const struct raycluster *rc, const json_t *pods, const json_t **head,
                         struct krc_error *err)
{
    size_t i, n = 0;
    json_t *p;
    *head = NULL;
    json_array_foreach(pods, i, p)
    {
        if (is_head(p)) {
            n++;
            if (!*head)
                *head = p;
        }
    }
    if (n <= 1)
        return 0;
    struct krc_strbuf f = KRC_STRBUF_INIT;
    int rc2 = filter_text(rc, false, &f);
    krc_error_set(err, rc2 ? rc2 : KRC_EINVAL, "found multiple heads. filter labels %s", f.buf);
    krc_strbuf_release(&f);
    return rc2 ? rc2 : KRC_EINVAL;
}

/* --- conditions -------------------------------------------------------------------------- */

static int head_pod_ready_condition(struct raycluster_status *st, const json_t *head,
                                    const char *now)
{
    if (!head)
        return raycluster_status_set_condition(st, RAYCLUSTER_COND_HEAD_POD_READY, "False",
                                               "HeadPodNotFound", "Head Pod not found", now);
    const json_t *ready = raypod_ready_condition(head);
    if (!ready)
        return raycluster_status_set_condition(st, RAYCLUSTER_COND_HEAD_POD_READY, "False",
                                               "Unknown", "", now);
    const char *status = kobj_str(ready, "status");
    const char *reason = kobj_str(ready, "reason");
    const char *msg = kobj_str(ready, "message");
    struct krc_strbuf message = KRC_STRBUF_INIT;
    int rc = krc_strbuf_adds(&message, msg ? msg : "");
    if (!status)
        status = "";
    if (!reason || !*reason)
        reason = strcmp(status, "True") == 0 ? "HeadPodRunningAndReady" : "Unknown";
    if (!rc && strcmp(reason, "ContainersNotReady") == 0) {
        size_t i;
        json_t *cs;
        json_array_foreach(kobj_arr(kobj_obj(head, "status"), "containerStatuses"), i, cs)
        {
            json_t *state = kobj_obj(cs, "state");
            json_t *s = kobj_obj(state, "waiting");
            if (!s)
                s = kobj_obj(state, "terminated");
            if (!s)
                continue;
            const char *r2 = kobj_str(s, "reason"), *m2 = kobj_str(s, "message");
            const char *name = kobj_str(cs, "name");
            rc = krc_strbuf_addf(&message, "%s%s: %s", message.len ? "; " : "", name ? name : "",
                                 m2 ? m2 : "");
            reason = r2 ? r2 : "";
            break;
        }
    }
    if (!rc)
        rc = raycluster_status_set_condition(st, RAYCLUSTER_COND_HEAD_POD_READY,
                                             *status ? status : "False", reason, message.buf, now);
    krc_strbuf_release(&message);
    return rc;
}

/* FindRayClusterSuspendStatus: the first True condition among Suspending/Suspended. */
static const char *suspend_status(const struct raycluster_status *st)
{
    for (size_t i = 0; i < st->n_conditions; i++) {
        const struct raycluster_condition *c = &st->conditions[i];
        if ((strcmp(c->type, RAYCLUSTER_COND_SUSPENDING) == 0 ||
             strcmp(c->type, RAYCLUSTER_COND_SUSPENDED) == 0) &&
            strcmp(c->status, "True") == 0)
            return c->type;
    }
    return "";
}

static int conditions(const struct raycluster *rc, struct raycluster_status *st, const json_t *pods,
                      const json_t *head, const char *now)
{
    int r;
    if ((r = head_pod_ready_condition(st, head, now)))
        return r;
    const char *s = suspend_status(st);
    bool suspending = strcmp(s, RAYCLUSTER_COND_SUSPENDING) == 0;
    bool suspended = strcmp(s, RAYCLUSTER_COND_SUSPENDED) == 0;
    if (!raycluster_status_condition_true(st, RAYCLUSTER_COND_PROVISIONED) && !suspended) {
        bool all = raypod_all_running(pods);
        if ((r = raycluster_status_set_condition(
                 st, RAYCLUSTER_COND_PROVISIONED, all ? "True" : "False",
                 all ? "AllPodRunningAndReadyFirstTime" : "RayClusterPodsProvisioning",
                 all ? "All Ray Pods are ready for the first time"
                     : "RayCluster Pods are being provisioned for first time",
                 now)))
            return r;
    }
    const struct rc_opt_bool *sus = &rc->spec.suspend;
    if (suspending) {
        if (json_array_size(pods) == 0 &&
            ((r = raycluster_status_set_condition(st, RAYCLUSTER_COND_PROVISIONED, "False",
                                                  "RayClusterPodsProvisioning",
                                                  "RayCluster has been suspended", now)) ||
             (r = raycluster_status_set_condition(st, RAYCLUSTER_COND_SUSPENDING, "False",
                                                  RAYCLUSTER_COND_SUSPENDING, "", now)) ||
             (r = raycluster_status_set_condition(st, RAYCLUSTER_COND_SUSPENDED, "True",
                                                  RAYCLUSTER_COND_SUSPENDED, "", now))))
            return r;
    } else if (suspended) {
        if (sus->set && !sus->v &&
            (r = raycluster_status_set_condition(st, RAYCLUSTER_COND_SUSPENDED, "False",
                                                 RAYCLUSTER_COND_SUSPENDED, "", now)))
            return r;
    } else {
        bool want = sus->set && sus->v;
        if ((r = raycluster_status_set_condition(st, RAYCLUSTER_COND_SUSPENDED, "False",
                                                 RAYCLUSTER_COND_SUSPENDED, "", now)) ||
            (r = raycluster_status_set_condition(st, RAYCLUSTER_COND_SUSPENDING,
                                                 want ? "True" : "False",
                                                 RAYCLUSTER_COND_SUSPENDING, "", now)))
            return r;
    }
    return 0;
}

/* --- endpoints and head info ------------------------------------------------------------- */

static int endpoints(struct raycluster_status *st, const json_t *services)
{
    json_t *svc = json_array_get(services, 0);
    if (!svc)
        return 0;
    if (!st->endpoints && !(st->endpoints = json_object()))
        return KRC_ENOMEM;
    size_t i;
    json_t *p;
    json_array_foreach(kobj_arr(kobj_obj(svc, "spec"), "ports"), i, p)
    {
        const char *name = kobj_str(p, "name");
        json_t *np = json_object_get(p, "nodePort"), *tp = json_object_get(p, "targetPort");
        char buf[32];
        const char *value = NULL;
        if (!name || !*name)
            continue;
        if (json_is_integer(np) && json_integer_value(np) != 0) {
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(np));
            value = buf;
        } else if (json_is_integer(tp) && json_integer_value(tp) != 0) {
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(tp));
            value = buf;
        } else if (json_is_string(tp) && *json_string_value(tp)) {
            value = json_string_value(tp);
        }
        if (value && kobj_set_str(st->endpoints, name, value))
            return KRC_ENOMEM;
    }
    return 0;
}

static int head_info(const struct raycluster *rc, struct raycluster_status *st, const json_t *head,
                     const json_t *services, struct krc_error *err)
{
    const char *pod_ip = head ? kobj_path_str(head, "status.podIP") : NULL;
    if (raycluster_status_set_str(&st->head.pod_ip, pod_ip) ||
        raycluster_status_set_str(&st->head.pod_name, head ? raypod_name(head) : ""))
        return KRC_ENOMEM;
    size_t n = json_array_size(services);
    const char *what = NULL;
    json_t *svc = json_array_get(services, 0);
    const char *cluster_ip = kobj_path_str(svc, "spec.clusterIP");
    if (n < 1)
        what = "unable to find head service.";
    else if (n > 1)
        what = "found multiple head services.";
    else if (!cluster_ip || !*cluster_ip)
        what = "head service IP is empty.";
    if (what) {
        struct krc_strbuf f = KRC_STRBUF_INIT;
        int rc2 = filter_text(rc, true, &f);
        krc_error_set(err, rc2 ? rc2 : KRC_EINVAL, "%s cluster name %s, filter labels %s", what,
                      rc->meta.name, f.buf);
        krc_strbuf_release(&f);
        return rc2 ? rc2 : KRC_EINVAL;
    }
    const char *ip = strcmp(cluster_ip, "None") == 0 ? pod_ip : cluster_ip;
    if (raycluster_status_set_str(&st->head.service_ip, ip) ||
        raycluster_status_set_str(&st->head.service_name, kobj_path_str(svc, "metadata.name")))
        return KRC_ENOMEM;
    return 0;
}

/* --- the computation ----------------------------------------------------------------------- */

static int compute(const struct raycluster *rc, const struct raycluster_gates *g,
                   const struct raycluster_observed *obs,
                   const struct raycluster_reconcile_result *res, const char *now,
                   struct raycluster_status *st, struct krc_error *err)
{
    int r;
    const json_t *pods = obs->pods;
    if (g->status_conditions) {
        if (res->outcome == RAYCLUSTER_OUTCOME_REPLICA_FAILURE) {
            if ((r = raycluster_status_set_condition(st, RAYCLUSTER_COND_REPLICA_FAILURE, "True",
                                                     res->failure_reason, res->message, now)))
                return r;
        } else if (res->outcome == RAYCLUSTER_OUTCOME_OK) {
            raycluster_status_remove_condition(st, RAYCLUSTER_COND_REPLICA_FAILURE);
        }
    }
    st->observed_generation = rc->meta.generation;

    size_t i;
    json_t *p;
    int32_t ready = 0, available = 0, desired = 0, min = 0;
    int64_t max = 0;
    json_array_foreach(pods, i, p)
    {
        if (!is_worker(p))
            continue;
        ready += raypod_running_and_ready(p);
        available += strcmp(raypod_phase(p), "Running") == 0;
    }
    for (size_t k = 0; k < rc->spec.n_workers; k++) {
        const struct raycluster_worker_group *w = &rc->spec.workers[k];
        desired = wrap_add(desired, raycluster_group_desired_pods(w));
        if (raycluster_group_suspended(w))
            continue;
        int32_t hosts = raycluster_group_num_of_hosts(w);
        min = wrap_add(min, wrap_mul(w->min_replicas.set ? w->min_replicas.v : 0, hosts));
        max += (int64_t)(w->max_replicas.set ? w->max_replicas.v : INT32_MAX) * hosts;
    }
    st->ready_worker_replicas = ready;
    st->available_worker_replicas = available;
    st->desired_worker_replicas = desired;
    st->min_worker_replicas = min;
    st->max_worker_replicas = max > INT32_MAX   ? INT32_MAX
                              : max < INT32_MIN ? INT32_MIN
                                                : (int32_t)max;

    char cpu[KRC_QUANTITY_STR_MAX], mem[KRC_QUANTITY_STR_MAX], gpu[KRC_QUANTITY_STR_MAX],
        tpu[KRC_QUANTITY_STR_MAX];
    if ((r = raycluster_desired_resources(rc, cpu, mem, gpu, tpu, err)))
        return r;
    if (raycluster_status_set_str(&st->desired_cpu, cpu) ||
        raycluster_status_set_str(&st->desired_memory, mem) ||
        raycluster_status_set_str(&st->desired_gpu, gpu) ||
        raycluster_status_set_str(&st->desired_tpu, tpu))
        return KRC_ENOMEM;

    if (res->outcome == RAYCLUSTER_OUTCOME_OK && json_array_size(pods) == (size_t)desired + 1 &&
        raypod_all_running(pods) &&
        (raycluster_status_set_str(&st->state, RAYCLUSTER_STATE_READY) ||
         raycluster_status_set_str(&st->reason, "")))
        return KRC_ENOMEM;

    const json_t *head = NULL;
    if (g->status_conditions) {
        if ((r = find_head_pod(rc, pods, &head, err)) || (r = conditions(rc, st, pods, head, now)))
            return r;
    }
    if (rc->spec.suspend.set && rc->spec.suspend.v && json_array_size(pods) == 0 &&
        raycluster_status_set_str(&st->state, RAYCLUSTER_STATE_SUSPENDED))
        return KRC_ENOMEM;
    if ((r = endpoints(st, obs->head_services)))
        return r;
    if ((r = find_head_pod(rc, pods, &head, err)) ||
        (r = head_info(rc, st, head, obs->head_services, err)))
        return r;
    if (raycluster_status_set_str(&st->last_update_time, now))
        return KRC_ENOMEM;
    if (strcmp(rc->status.state ? rc->status.state : "", st->state) != 0) {
        if (!st->state_transition_times && !(st->state_transition_times = json_object()))
            return KRC_ENOMEM;
        if (kobj_set_str(st->state_transition_times, st->state, now))
            return KRC_ENOMEM;
    }
    return 0;
}

int raycluster_compute_status(const struct raycluster *rc, const struct raycluster_gates *g,
                              const struct raycluster_observed *obs,
                              const struct raycluster_reconcile_result *res, const char *now,
                              struct raycluster_status *out, struct krc_error *err)
{
    int r = raycluster_status_copy(&rc->status, out);
    if (r)
        return krc_error_set(err, r, "compute status of RayCluster %s/%s: out of memory",
                             rc->meta.ns, rc->meta.name);
    r = compute(rc, g, obs, res, now, out, err);
    if (r == KRC_ENOMEM)
        krc_error_set(err, r, "compute status of RayCluster %s/%s: out of memory", rc->meta.ns,
                      rc->meta.name);
    if (r)
        raycluster_status_free(out);
    return r;
}
