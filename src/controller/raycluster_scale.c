/* raycluster_scale.c - the pod plan (see raycluster_scale.h).
 *
 * Structure mirrors KubeRay's reconcilePods: suspension, Recreate upgrade, head pod, then each
 * worker group (single-host or multi-host). Where KubeRay iterates a Go map (multi-host replicas)
 * and so picks an arbitrary element, we take pods in list order, which is one of the orders
 * KubeRay could produce. */
#include "controller/raycluster_scale.h"

#include "api/kobj.h"
#include "controller/raycluster_status.h"
#include "controller/raypod.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct planner {
    const struct raycluster *rc;
    const struct raycluster_opts *o;
    const struct raycluster_scale_input *in;
    struct raycluster_plan *plan;
    struct krc_error *err;
    bool stopped; /* a FAIL / then_fail / early return ended the plan */
};

static struct raycluster_action *push(struct planner *p, enum raycluster_action_kind kind,
                                      long group)
{
    struct raycluster_plan *pl = p->plan;
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 16;
        struct raycluster_action *grown = realloc(pl->actions, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        pl->actions = grown;
        pl->cap = cap;
    }
    struct raycluster_action *a = &pl->actions[pl->n++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->group = group;
    return a;
}

static int push_delete(struct planner *p, enum raycluster_action_kind kind, long group,
                       enum raycluster_delete_cause cause, const char *pod, const char *reason,
                       const char *failure)
{
    struct raycluster_action *a = push(p, kind, group);
    if (!a)
        return KRC_ENOMEM;
    a->cause = cause;
    a->failure_reason = failure;
    if ((pod && !(a->pod_name = strdup(pod))) || (reason && !(a->reason = strdup(reason))))
        return KRC_ENOMEM;
    return 0;
}

static int push_fail(struct planner *p, long group, const char *msg)
{
    struct raycluster_action *a = push(p, RAYCLUSTER_ACT_FAIL, group);
    if (!a || !(a->reason = strdup(msg)))
        return KRC_ENOMEM;
    p->stopped = true;
    return 0;
}

static bool label_is(const json_t *pod, const char *key, const char *value)
{
    const char *v = raypod_label(pod, key);
    return v && strcmp(v, value) == 0;
}

/* strconv.Atoi: optional sign and decimal digits, no spaces. */
static bool parse_index(const char *s, long *out)
{
    if (!s || !*s)
        return false;
    const char *d = s + (*s == '+' || *s == '-');
    if (!*d)
        return false;
    for (const char *c = d; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* A set of replica indices in use (small: a group's replica count). */
struct idxset {
    long *v;
    size_t n, cap;
};

static bool idx_has(const struct idxset *s, long x)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == x)
            return true;
    return false;
}

static int idx_add(struct idxset *s, long x)
{
    if (idx_has(s, x))
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        long *grown = realloc(s->v, cap * sizeof(*grown));
        if (!grown)
            return KRC_ENOMEM;
        s->v = grown;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

/* The next free index from *next upwards, marked used. */
static int idx_take(struct idxset *s, long *next)
{
    while (idx_has(s, *next))
        (*next)++;
    return idx_add(s, *next);
}

static bool random_delete_allowed(const struct planner *p)
{
    return !raycluster_autoscaling_enabled(p->rc) || p->o->random_pod_delete;
}

/* --- suspension and Recreate --------------------------------------------------------------- */

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

/* Returns 1 when the plan ends here. */
static int plan_suspension(struct planner *p)
{
    const struct raycluster *rc = p->rc;
    const char *s = suspend_status(&rc->status);
    bool gate = p->o->gates.status_conditions;
    bool want = rc->spec.suspend.set && rc->spec.suspend.v;
    if (strcmp(s, RAYCLUSTER_COND_SUSPENDING) == 0 || (!gate && want)) {
        int r = push_delete(p, RAYCLUSTER_ACT_DELETE_ALL_PODS, -1, RAYCLUSTER_DELETE_SUSPENSION,
                            NULL, NULL, "FailedDeleteAllPods");
        return r ? r : 1;
    }
    if (gate && (strcmp(s, RAYCLUSTER_COND_SUSPENDED) == 0 || want))
        return 1;
    return 0;
}

static int plan_recreate(struct planner *p)
{
    const struct raycluster *rc = p->rc;
    const char *t = rc->spec.upgrade_strategy_type;
    if (!t || strcmp(t, "Recreate") != 0 || !p->in->spec_hash)
        return 0;
    size_t i;
    json_t *pod, *head = NULL;
    json_array_foreach(p->in->pods, i, pod)
    {
        if (label_is(pod, RAY_LABEL_NODE_TYPE, "head")) {
            head = pod;
            break;
        }
    }
    if (!head)
        return 0;
    json_t *anno = kobj_path(head, "metadata.annotations");
    const char *version = kobj_map_get(anno, RAY_ANNOTATION_KUBERAY_VERSION);
    if (version && *version && strcmp(version, p->o->kuberay_version) != 0)
        return push_delete(p, RAYCLUSTER_ACT_UPDATE_HEAD_STAMP, -1, RAYCLUSTER_DELETE_RECREATE,
                           raypod_name(head), NULL, NULL);
    const char *hash = kobj_map_get(anno, RAY_ANNOTATION_RECREATE_HASH);
    if (hash && *hash && strcmp(hash, p->in->spec_hash) != 0) {
        int r = push_delete(p, RAYCLUSTER_ACT_DELETE_ALL_PODS, -1, RAYCLUSTER_DELETE_RECREATE, NULL,
                            NULL, "FailedDeleteAllPods");
        if (r)
            return r;
        p->plan->actions[p->plan->n - 1].drop_expectations = true;
        return 1;
    }
    return 0;
}

/* --- head --------------------------------------------------------------------------------------
 */

static int plan_head(struct planner *p)
{
    size_t i, n = 0;
    json_t *pod, *head = NULL;
    int r;
    struct krc_strbuf names = KRC_STRBUF_INIT;
    json_array_foreach(p->in->pods, i, pod)
    {
        if (!label_is(pod, RAY_LABEL_NODE_TYPE, "head"))
            continue;
        if (!head)
            head = pod;
        if ((r = krc_strbuf_addf(&names, "%s%s", n ? " " : "", raypod_name(pod))))
            goto out;
        n++;
    }
    r = 0;
    if (!p->in->head_expectations_satisfied)
        goto out;
    if (n == 1) {
        struct krc_strbuf reason = KRC_STRBUF_INIT;
        r = raypod_should_delete(head, "head", &reason);
        if (r == 1) {
            r = push_delete(p, RAYCLUSTER_ACT_DELETE_HEAD_POD, -1, RAYCLUSTER_DELETE_UNHEALTHY,
                            raypod_name(head), reason.buf, "FailedDeleteHeadPod");
            if (!r) {
                p->plan->actions[p->plan->n - 1].then_fail = true;
                p->stopped = true;
            }
        }
        krc_strbuf_release(&reason);
    } else if (n == 0) {
        const char *skip = raycluster_annotation(p->rc, RAY_ANNOTATION_DISABLE_HEAD_RESTART);
        if (raycluster_status_condition_true(&p->rc->status, RAYCLUSTER_COND_PROVISIONED) && skip &&
            strcmp(skip, "true") == 0) {
            p->stopped = true;
            goto out;
        }
        struct raycluster_action *a = push(p, RAYCLUSTER_ACT_CREATE_HEAD_POD, -1);
        if (!a)
            r = KRC_ENOMEM;
        else
            a->failure_reason = "FailedCreateHeadPod";
    } else {
        struct krc_strbuf msg = KRC_STRBUF_INIT;
        r = krc_strbuf_addf(&msg, "%zu head pods found [%s]. Please delete extra head pods", n,
                            names.buf);
        if (!r)
            r = push_fail(p, -1, msg.buf);
        krc_strbuf_release(&msg);
    }
out:
    krc_strbuf_release(&names);
    return r;
}

/* --- worker groups --------------------------------------------------------------------------- */

static bool in_list(const json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

static int push_create_worker(struct planner *p, long group, long replica_index,
                              const char *replica_name, int host_index)
{
    struct raycluster_action *a = push(p, RAYCLUSTER_ACT_CREATE_WORKER_POD, group);
    if (!a)
        return KRC_ENOMEM;
    a->failure_reason = "FailedCreateWorkerPod";
    a->slot.replica_index = (int)replica_index;
    a->slot.host_index = host_index;
    if (replica_name)
        snprintf(a->replica_name, sizeof(a->replica_name), "%s", replica_name);
    return 0;
}

static int plan_single_host(struct planner *p, long g, const json_t *pods)
{
    const struct raycluster_worker_group *w = &p->rc->spec.workers[g];
    size_t i, unhealthy = 0;
    json_t *pod;
    int r = 0;
    json_array_foreach(pods, i, pod)
    {
        struct krc_strbuf reason = KRC_STRBUF_INIT;
        r = raypod_should_delete(pod, "worker", &reason);
        if (r == 1) {
            unhealthy++;
            r = push_delete(p, RAYCLUSTER_ACT_DELETE_WORKER_POD, g, RAYCLUSTER_DELETE_UNHEALTHY,
                            raypod_name(pod), reason.buf, "FailedDeleteWorkerPod");
        }
        krc_strbuf_release(&reason);
        if (r)
            return r;
    }
    if (unhealthy) {
        char msg[64];
        snprintf(msg, sizeof(msg), "delete %zu unhealthy worker Pods", unhealthy);
        return push_fail(p, g, msg);
    }
    json_t *names;
    json_array_foreach(w->workers_to_delete, i, names)
    {
        if ((r = push_delete(p, RAYCLUSTER_ACT_DELETE_WORKER_POD, g,
                             RAYCLUSTER_DELETE_WORKERS_TO_DELETE, json_string_value(names), NULL,
                             "FailedDeleteWorkerPod")))
            return r;
    }
    /* running = listed pods minus the ones named in workersToDelete (see the header). */
    size_t n = json_array_size(pods), running = 0;
    const json_t **run = n ? malloc(n * sizeof(*run)) : NULL;
    struct idxset used = {0};
    if (n && !run)
        return KRC_ENOMEM;
    json_array_foreach(pods, i, pod)
    {
        if (!in_list(w->workers_to_delete, raypod_name(pod)))
            run[running++] = pod;
    }
    long diff = (long)raycluster_group_desired_pods(w) - (long)running;
    bool gate = p->o->gates.multi_host_indexing;
    for (i = 0; gate && i < running && !r; i++) {
        long idx;
        if (parse_index(raypod_label(run[i], RAY_LABEL_REPLICA_INDEX), &idx))
            r = idx_add(&used, idx);
    }
    long next = 0;
    if (diff > RAYCLUSTER_PLAN_MAX_CREATES)
        diff = RAYCLUSTER_PLAN_MAX_CREATES;
    for (long k = 0; k < diff && !r; k++) {
        if (gate)
            r = idx_take(&used, &next);
        if (!r)
            r = push_create_worker(p, g, gate ? next : 0, NULL, 0);
    }
    if (!r && diff < 0 && random_delete_allowed(p))
        for (long k = 0; k < -diff && (size_t)k < running && !r; k++)
            r = push_delete(p, RAYCLUSTER_ACT_DELETE_WORKER_POD, g, RAYCLUSTER_DELETE_SCALE_DOWN,
                            raypod_name(run[k]), NULL, "FailedDeleteWorkerPod");
    free(used.v);
    free(run);
    return r;
}

/* Multi-host replicas: pods grouped by ray.io/worker-group-replica-name, in first-seen order. */
struct replica {
    const char *name;
    const json_t **pods;
    size_t n;
    bool deleted;
};

struct replicas {
    struct replica *r;
    size_t n;
};

static void replicas_free(struct replicas *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->r[i].pods);
    free(rs->r);
}

static int group_replicas(const json_t *pods, struct replicas *rs)
{
    size_t total = json_array_size(pods), i;
    json_t *pod;
    memset(rs, 0, sizeof(*rs));
    if (total == 0)
        return 0;
    if (!(rs->r = calloc(total, sizeof(*rs->r))))
        return KRC_ENOMEM;
    json_array_foreach(pods, i, pod)
    {
        const char *name = raypod_label(pod, RAY_LABEL_REPLICA_NAME);
        if (!name)
            continue;
        struct replica *rep = NULL;
        for (size_t k = 0; k < rs->n && !rep; k++)
            if (strcmp(rs->r[k].name, name) == 0)
                rep = &rs->r[k];
        if (!rep) {
            rep = &rs->r[rs->n++];
            rep->name = name;
            if (!(rep->pods = calloc(total, sizeof(*rep->pods))))
                return KRC_ENOMEM;
        }
        rep->pods[rep->n++] = pod;
    }
    return 0;
}

static int delete_replica(struct planner *p, long g, struct replica *rep, const char *reason)
{
    for (size_t i = 0; i < rep->n; i++) {
        int r = push_delete(p, RAYCLUSTER_ACT_DELETE_WORKER_POD, g, RAYCLUSTER_DELETE_MULTIHOST,
                            raypod_name(rep->pods[i]), reason, "FailedDeleteWorkerPod");
        if (r)
            return r;
    }
    rep->deleted = true;
    return 0;
}

static int plan_multi_host(struct planner *p, long g, const json_t *pods)
{
    const struct raycluster_worker_group *w = &p->rc->spec.workers[g];
    int32_t hosts = raycluster_group_num_of_hosts(w);
    struct replicas rs;
    struct idxset used = {0};
    char msg[256];
    int r = group_replicas(pods, &rs);
    if (r)
        goto out;
    for (size_t k = 0; k < rs.n; k++) {
        if (rs.r[k].n < (size_t)hosts) {
            if (!(r = delete_replica(p, g, &rs.r[k], "cleanup of incomplete multi-host group"))) {
                snprintf(msg, sizeof(msg), "cleaned up incomplete replica group %s, requeueing",
                         rs.r[k].name);
                r = push_fail(p, g, msg);
            }
            goto out;
        }
    }
    size_t i;
    json_t *pod;
    json_array_foreach(pods, i, pod)
    {
        const char *name = raypod_label(pod, RAY_LABEL_REPLICA_NAME);
        struct replica *rep = NULL;
        for (size_t k = 0; name && k < rs.n && !rep; k++)
            if (strcmp(rs.r[k].name, name) == 0)
                rep = &rs.r[k];
        if (!rep || rep->deleted)
            continue;
        struct krc_strbuf reason = KRC_STRBUF_INIT;
        r = raypod_should_delete(pod, "worker", &reason);
        if (r == 1)
            r = delete_replica(p, g, rep, reason.buf);
        krc_strbuf_release(&reason);
        if (r)
            goto out;
    }
    size_t to_delete = 0, replicas_hit = 0;
    for (size_t k = 0; k < rs.n; k++) {
        bool named = false;
        for (size_t j = 0; j < rs.r[k].n && !named; j++)
            named = in_list(w->workers_to_delete, raypod_name(rs.r[k].pods[j]));
        if (!named)
            continue;
        replicas_hit++;
        to_delete += rs.r[k].n;
        if ((r = delete_replica(p, g, &rs.r[k], "autoscaler scale-down request")))
            goto out;
    }
    if (replicas_hit) {
        snprintf(msg, sizeof(msg), "deleted %zu worker Pods based on ScaleStrategy, requeueing",
                 to_delete);
        r = push_fail(p, g, msg);
        goto out;
    }
    int32_t desired = raycluster_group_desired_pods(w);
    if (hosts <= 0 || desired % hosts != 0) {
        snprintf(msg, sizeof(msg),
                 "desired worker pods (%d) is not a multiple of NumOfHosts (%d) for group %.100s",
                 (int)desired, (int)hosts, w->group_name);
        r = push_fail(p, g, msg);
        goto out;
    }
    size_t valid = 0;
    for (size_t k = 0; k < rs.n && !r; k++) {
        long idx;
        if (rs.r[k].deleted)
            continue;
        valid++;
        if (parse_index(raypod_label(rs.r[k].pods[0], RAY_LABEL_REPLICA_INDEX), &idx))
            r = idx_add(&used, idx);
    }
    long create = (long)(desired / hosts) - (long)valid, next = 0;
    if (create > RAYCLUSTER_PLAN_MAX_CREATES / hosts)
        create = RAYCLUSTER_PLAN_MAX_CREATES / hosts;
    for (long k = 0; k < create && !r; k++) {
        char name[80], suffix[6] = "xxxxx";
        if ((r = idx_take(&used, &next)))
            break;
        if (p->in->random_suffix)
            p->in->random_suffix(suffix, p->in->random_arg);
        suffix[5] = '\0';
        snprintf(name, sizeof(name), "%.60s-%s", w->group_name, suffix);
        for (int h = 0; h < hosts && !r; h++)
            r = push_create_worker(p, g, next, name, h);
    }
    if (!r && create < 0 && random_delete_allowed(p)) {
        long removed = 0;
        for (size_t k = 0; k < rs.n && removed < -create && !r; k++) {
            if (rs.r[k].deleted)
                continue;
            r = delete_replica(p, g, &rs.r[k], "scaling down");
            removed++;
        }
    }
out:
    free(used.v);
    replicas_free(&rs);
    return r;
}

static int plan_workers(struct planner *p)
{
    const struct raycluster *rc = p->rc;
    json_t *group_pods = json_array();
    int r = group_pods ? 0 : KRC_ENOMEM;
    for (size_t g = 0; g < rc->spec.n_workers && !r && !p->stopped; g++) {
        const struct raycluster_worker_group *w = &rc->spec.workers[g];
        if (p->in->group_expectations_satisfied && !p->in->group_expectations_satisfied[g])
            continue;
        json_array_clear(group_pods);
        size_t i;
        json_t *pod;
        json_array_foreach(p->in->pods, i, pod)
        {
            if (label_is(pod, RAY_LABEL_GROUP, w->group_name) &&
                json_array_append(group_pods, pod)) {
                r = KRC_ENOMEM;
                break;
            }
        }
        if (r)
            break;
        if (raycluster_group_suspended(w)) {
            struct raycluster_action *a = push(p, RAYCLUSTER_ACT_DELETE_GROUP_PODS, (long)g);
            if (!a)
                r = KRC_ENOMEM;
            else
                a->failure_reason = "FailedDeleteWorkerPod";
            continue;
        }
        if (raycluster_group_num_of_hosts(w) > 1 && p->o->gates.multi_host_indexing)
            r = plan_multi_host(p, (long)g, group_pods);
        else
            r = plan_single_host(p, (long)g, group_pods);
    }
    json_decref(group_pods);
    return r;
}

int raycluster_plan_pods(const struct raycluster *rc, const struct raycluster_opts *o,
                         const struct raycluster_scale_input *in, struct raycluster_plan *plan,
                         struct krc_error *err)
{
    struct planner p = {rc, o, in, plan, err, false};
    memset(plan, 0, sizeof(*plan));
    int r = plan_suspension(&p);
    if (r == 0)
        r = plan_recreate(&p);
    if (r == 0)
        r = plan_head(&p);
    if (r == 0 && !p.stopped)
        r = plan_workers(&p);
    if (r < 0) {
        raycluster_plan_free(plan);
        return krc_error_set(err, r, "plan pods for RayCluster %s/%s: %s", rc->meta.ns,
                             rc->meta.name, krc_strerror(r));
    }
    for (size_t i = 0; i < plan->n; i++) {
        struct raycluster_action *a = &plan->actions[i];
        a->slot.replica_name = a->replica_name[0] ? a->replica_name : NULL;
    }
    return 0;
}

void raycluster_plan_free(struct raycluster_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        free(plan->actions[i].pod_name);
        free(plan->actions[i].reason);
    }
    free(plan->actions);
    memset(plan, 0, sizeof(*plan));
}
