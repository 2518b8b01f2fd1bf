/* raycluster_status.c - the RayCluster status as an owned C struct: parse, copy, serialize,
 * compare (§9.7) and Kubernetes' condition-list semantics (meta.SetStatusCondition).
 *
 * Maps (endpoints, stateTransitionTimes) stay jansson objects; NULL means "absent", which is not
 * the same as an empty map for the write-on-change comparison, exactly as reflect.DeepEqual treats
 * a nil map and an empty one in KubeRay. */
#include "api/raycluster.h"

#include "api/kobj.h"

#include <stdlib.h>
#include <string.h>

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

int raycluster_status_set_str(char **field, const char *value)
{
    char *copy = dup_or_empty(value);
    if (!copy)
        return KRC_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

static void condition_free(struct raycluster_condition *c)
{
    free(c->type);
    free(c->status);
    free(c->reason);
    free(c->message);
    free(c->last_transition_time);
    memset(c, 0, sizeof(*c));
}

void raycluster_status_init(struct raycluster_status *st)
{
    memset(st, 0, sizeof(*st));
}

void raycluster_status_free(struct raycluster_status *st)
{
    free(st->state);
    free(st->reason);
    for (size_t i = 0; i < st->n_conditions; i++)
        condition_free(&st->conditions[i]);
    free(st->conditions);
    free(st->desired_cpu);
    free(st->desired_memory);
    free(st->desired_gpu);
    free(st->desired_tpu);
    json_decref(st->endpoints);
    free(st->head.pod_ip);
    free(st->head.service_ip);
    free(st->head.pod_name);
    free(st->head.service_name);
    free(st->last_update_time);
    json_decref(st->state_transition_times);
    memset(st, 0, sizeof(*st));
}

/* Fills every string that is still NULL with "" (or "0" for quantities) so readers never see
 * NULL. */
static int fill_defaults(struct raycluster_status *st)
{
    char **empty[] = {&st->state,           &st->reason,        &st->head.pod_ip,
                      &st->head.service_ip, &st->head.pod_name, &st->head.service_name,
                      &st->last_update_time};
    char **zero[] = {&st->desired_cpu, &st->desired_memory, &st->desired_gpu, &st->desired_tpu};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
        if (!*empty[i] && !(*empty[i] = strdup("")))
            return KRC_ENOMEM;
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
        if (!*zero[i] && !(*zero[i] = strdup("0")))
            return KRC_ENOMEM;
    return 0;
}

static int bad(struct krc_error *err, const char *field, const char *what)
{
    return krc_error_set(err, KRC_EINVAL, "status.%s: expected %s", field, what);
}

static int take_str(const json_t *obj, const char *key, char **out, struct krc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return bad(err, key, "a string");
    return (*out = strdup(json_string_value(v))) ? 0 : KRC_ENOMEM;
}

static int take_quantity(const json_t *obj, const char *key, char **out, struct krc_error *err)
{
    char buf[64];
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    const char *text = kobj_quantity_text(v, buf, sizeof(buf));
    if (!text)
        return bad(err, key, "a quantity");
    return (*out = strdup(text)) ? 0 : KRC_ENOMEM;
}

static int take_i32(const json_t *obj, const char *key, int32_t *out, struct krc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
        json_integer_value(v) > INT32_MAX)
        return bad(err, key, "an int32");
    *out = (int32_t)json_integer_value(v);
    return 0;
}

static int take_map(const json_t *obj, const char *key, json_t **out, struct krc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return bad(err, key, "an object");
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        if (!json_is_string(x))
            return bad(err, key, "a map of strings");
    }
    return (*out = json_deep_copy(v)) ? 0 : KRC_ENOMEM;
}

static int parse_conditions(const json_t *arr, struct raycluster_status *st, struct krc_error *err)
{
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return bad(err, "conditions", "an array");
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    st->conditions = calloc(n, sizeof(*st->conditions));
    if (!st->conditions)
        return KRC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(arr, i);
        struct raycluster_condition *dst = &st->conditions[i];
        st->n_conditions = i + 1;
        if (!json_is_object(c))
            return bad(err, "conditions", "an array of objects");
        int rc;
        if ((rc = take_str(c, "type", &dst->type, err)) ||
            (rc = take_str(c, "status", &dst->status, err)) ||
            (rc = take_str(c, "reason", &dst->reason, err)) ||
            (rc = take_str(c, "message", &dst->message, err)) ||
            (rc = take_str(c, "lastTransitionTime", &dst->last_transition_time, err)))
            return rc;
        json_t *og = json_object_get(c, "observedGeneration");
        dst->observed_generation = json_is_integer(og) ? json_integer_value(og) : 0;
        char **f[] = {&dst->type, &dst->status, &dst->reason, &dst->message,
                      &dst->last_transition_time};
        for (size_t k = 0; k < 5; k++)
            if (!*f[k] && !(*f[k] = strdup("")))
                return KRC_ENOMEM;
    }
    return 0;
}

int raycluster_status_parse(const json_t *obj, struct raycluster_status *st, struct krc_error *err)
{
    int rc = 0;
    raycluster_status_init(st);
    if (obj && json_is_object(obj)) {
        json_t *head = json_object_get(obj, "head");
        json_t *og = json_object_get(obj, "observedGeneration");
        if ((rc = take_str(obj, "state", &st->state, err)) ||
            (rc = take_str(obj, "reason", &st->reason, err)) ||
            (rc = take_quantity(obj, "desiredCPU", &st->desired_cpu, err)) ||
            (rc = take_quantity(obj, "desiredMemory", &st->desired_memory, err)) ||
            (rc = take_quantity(obj, "desiredGPU", &st->desired_gpu, err)) ||
            (rc = take_quantity(obj, "desiredTPU", &st->desired_tpu, err)) ||
            (rc = take_str(obj, "lastUpdateTime", &st->last_update_time, err)) ||
            (rc = take_map(obj, "stateTransitionTimes", &st->state_transition_times, err)) ||
            (rc = take_map(obj, "endpoints", &st->endpoints, err)) ||
            (rc = take_i32(obj, "readyWorkerReplicas", &st->ready_worker_replicas, err)) ||
            (rc = take_i32(obj, "availableWorkerReplicas", &st->available_worker_replicas, err)) ||
            (rc = take_i32(obj, "desiredWorkerReplicas", &st->desired_worker_replicas, err)) ||
            (rc = take_i32(obj, "minWorkerReplicas", &st->min_worker_replicas, err)) ||
            (rc = take_i32(obj, "maxWorkerReplicas", &st->max_worker_replicas, err)) ||
            (rc = parse_conditions(json_object_get(obj, "conditions"), st, err)))
            goto out;
        if (og && !json_is_null(og) && !json_is_integer(og)) {
            rc = bad(err, "observedGeneration", "an integer");
            goto out;
        }
        st->observed_generation = json_is_integer(og) ? json_integer_value(og) : 0;
        if (head && !json_is_null(head)) {
            if (!json_is_object(head)) {
                rc = bad(err, "head", "an object");
                goto out;
            }
            if ((rc = take_str(head, "podIP", &st->head.pod_ip, err)) ||
                (rc = take_str(head, "serviceIP", &st->head.service_ip, err)) ||
                (rc = take_str(head, "podName", &st->head.pod_name, err)) ||
                (rc = take_str(head, "serviceName", &st->head.service_name, err)))
                goto out;
        }
    } else if (obj && !json_is_null(obj)) {
        rc = krc_error_set(err, KRC_EINVAL, "status: expected an object");
        goto out;
    }
    rc = fill_defaults(st);
out:
    if (rc == KRC_ENOMEM)
        krc_error_set(err, rc, "status: out of memory");
    if (rc)
        raycluster_status_free(st);
    return rc;
}

static int copy_str(char **dst, const char *src)
{
    return (*dst = dup_or_empty(src)) ? 0 : KRC_ENOMEM;
}

int raycluster_status_copy(const struct raycluster_status *src, struct raycluster_status *dst)
{
    raycluster_status_init(dst);
    *dst = (struct raycluster_status){
        .ready_worker_replicas = src->ready_worker_replicas,
        .available_worker_replicas = src->available_worker_replicas,
        .desired_worker_replicas = src->desired_worker_replicas,
        .min_worker_replicas = src->min_worker_replicas,
        .max_worker_replicas = src->max_worker_replicas,
        .observed_generation = src->observed_generation,
    };
    int rc = 0;
    if ((rc = copy_str(&dst->state, src->state)) || (rc = copy_str(&dst->reason, src->reason)) ||
        (rc = copy_str(&dst->desired_cpu, src->desired_cpu)) ||
        (rc = copy_str(&dst->desired_memory, src->desired_memory)) ||
        (rc = copy_str(&dst->desired_gpu, src->desired_gpu)) ||
        (rc = copy_str(&dst->desired_tpu, src->desired_tpu)) ||
        (rc = copy_str(&dst->head.pod_ip, src->head.pod_ip)) ||
        (rc = copy_str(&dst->head.service_ip, src->head.service_ip)) ||
        (rc = copy_str(&dst->head.pod_name, src->head.pod_name)) ||
        (rc = copy_str(&dst->head.service_name, src->head.service_name)) ||
        (rc = copy_str(&dst->last_update_time, src->last_update_time)))
        goto err;
    if (src->endpoints && !(dst->endpoints = json_deep_copy(src->endpoints)))
        goto nomem;
    if (src->state_transition_times &&
        !(dst->state_transition_times = json_deep_copy(src->state_transition_times)))
        goto nomem;
    if (src->n_conditions) {
        dst->conditions = calloc(src->n_conditions, sizeof(*dst->conditions));
        if (!dst->conditions)
            goto nomem;
        for (size_t i = 0; i < src->n_conditions; i++) {
            const struct raycluster_condition *s = &src->conditions[i];
            struct raycluster_condition *d = &dst->conditions[i];
            dst->n_conditions = i + 1;
            d->observed_generation = s->observed_generation;
            if ((rc = copy_str(&d->type, s->type)) || (rc = copy_str(&d->status, s->status)) ||
                (rc = copy_str(&d->reason, s->reason)) ||
                (rc = copy_str(&d->message, s->message)) ||
                (rc = copy_str(&d->last_transition_time, s->last_transition_time)))
                goto err;
        }
    }
    return 0;
nomem:
    rc = KRC_ENOMEM;
err:
    raycluster_status_free(dst);
    return rc;
}

static int put_str_omitempty(json_t *o, const char *key, const char *v)
{
    return (v && *v) ? kobj_set_str(o, key, v) : 0;
}

static int put_i_omitempty(json_t *o, const char *key, json_int_t v)
{
    return v ? kobj_set_new(o, key, json_integer(v)) : 0;
}

json_t *raycluster_status_to_json(const struct raycluster_status *st)
{
    json_t *o = json_object();
    json_t *head = json_object();
    json_t *conds = NULL;
    if (!o || !head)
        goto err;
    if (put_str_omitempty(o, "state", st->state) ||
        kobj_set_str(o, "desiredCPU", st->desired_cpu ? st->desired_cpu : "0") ||
        kobj_set_str(o, "desiredMemory", st->desired_memory ? st->desired_memory : "0") ||
        kobj_set_str(o, "desiredGPU", st->desired_gpu ? st->desired_gpu : "0") ||
        kobj_set_str(o, "desiredTPU", st->desired_tpu ? st->desired_tpu : "0") ||
        put_str_omitempty(o, "lastUpdateTime", st->last_update_time))
        goto err;
    if (st->state_transition_times && json_object_size(st->state_transition_times) &&
        kobj_set_new(o, "stateTransitionTimes", json_deep_copy(st->state_transition_times)))
        goto err;
    if (st->endpoints && json_object_size(st->endpoints) &&
        kobj_set_new(o, "endpoints", json_deep_copy(st->endpoints)))
        goto err;
    if (put_str_omitempty(head, "podIP", st->head.pod_ip) ||
        put_str_omitempty(head, "serviceIP", st->head.service_ip) ||
        put_str_omitempty(head, "podName", st->head.pod_name) ||
        put_str_omitempty(head, "serviceName", st->head.service_name))
        goto err;
    int head_rc = kobj_set_new(o, "head", head); /* consumes head */
    head = NULL;
    if (head_rc)
        goto err;
    if (put_str_omitempty(o, "reason", st->reason))
        goto err;
    if (st->n_conditions) {
        if (!(conds = json_array()))
            goto err;
        for (size_t i = 0; i < st->n_conditions; i++) {
            const struct raycluster_condition *c = &st->conditions[i];
            json_t *jc = json_pack("{s:s, s:s}", "type", c->type, "status", c->status);
            if (!jc || put_i_omitempty(jc, "observedGeneration", c->observed_generation) ||
                kobj_set_str(jc, "lastTransitionTime", c->last_transition_time) ||
                kobj_set_str(jc, "reason", c->reason) || kobj_set_str(jc, "message", c->message)) {
                json_decref(jc);
                goto err;
            }
            if (kobj_append_new(conds, jc)) /* consumes jc */
                goto err;
        }
        int conds_rc = kobj_set_new(o, "conditions", conds); /* consumes conds */
        conds = NULL;
        if (conds_rc)
            goto err;
    }
    if (put_i_omitempty(o, "readyWorkerReplicas", st->ready_worker_replicas) ||
        put_i_omitempty(o, "availableWorkerReplicas", st->available_worker_replicas) ||
        put_i_omitempty(o, "desiredWorkerReplicas", st->desired_worker_replicas) ||
        put_i_omitempty(o, "minWorkerReplicas", st->min_worker_replicas) ||
        put_i_omitempty(o, "maxWorkerReplicas", st->max_worker_replicas) ||
        put_i_omitempty(o, "observedGeneration", st->observed_generation))
        goto err;
    return o;
err:
    json_decref(conds);
    json_decref(head);
    json_decref(o);
    return NULL;
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool map_eq(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    return json_equal(a, b);
}

bool raycluster_status_differs(const struct raycluster_status *a, const struct raycluster_status *b)
{
    if (!str_eq(a->state, b->state) || !str_eq(a->reason, b->reason))
        return true;
    if (a->ready_worker_replicas != b->ready_worker_replicas ||
        a->available_worker_replicas != b->available_worker_replicas ||
        a->desired_worker_replicas != b->desired_worker_replicas ||
        a->min_worker_replicas != b->min_worker_replicas ||
        a->max_worker_replicas != b->max_worker_replicas)
        return true;
    if (!map_eq(a->endpoints, b->endpoints))
        return true;
    if (!str_eq(a->head.pod_ip, b->head.pod_ip) ||
        !str_eq(a->head.service_ip, b->head.service_ip) ||
        !str_eq(a->head.pod_name, b->head.pod_name) ||
        !str_eq(a->head.service_name, b->head.service_name))
        return true;
    if (a->n_conditions != b->n_conditions)
        return true;
    for (size_t i = 0; i < a->n_conditions; i++) {
        const struct raycluster_condition *x = &a->conditions[i], *y = &b->conditions[i];
        if (!str_eq(x->type, y->type) || !str_eq(x->status, y->status) ||
            !str_eq(x->reason, y->reason) || !str_eq(x->message, y->message) ||
            !str_eq(x->last_transition_time, y->last_transition_time) ||
            x->observed_generation != y->observed_generation)
            return true;
    }
    return false;
}

const struct raycluster_condition *raycluster_status_condition(const struct raycluster_status *st,
                                                               const char *type)
{
    for (size_t i = 0; i < st->n_conditions; i++)
        if (str_eq(st->conditions[i].type, type))
            return &st->conditions[i];
    return NULL;
}

bool raycluster_status_condition_true(const struct raycluster_status *st, const char *type)
{
    const struct raycluster_condition *c = raycluster_status_condition(st, type);
    return c && str_eq(c->status, "True");
}

int raycluster_status_set_condition(struct raycluster_status *st, const char *type,
                                    const char *status, const char *reason, const char *message,
                                    const char *now)
{
    struct raycluster_condition *c = NULL;
    for (size_t i = 0; i < st->n_conditions && !c; i++)
        if (str_eq(st->conditions[i].type, type))
            c = &st->conditions[i];
    if (!c) {
        struct raycluster_condition *grown =
            realloc(st->conditions, (st->n_conditions + 1) * sizeof(*st->conditions));
        if (!grown)
            return KRC_ENOMEM;
        st->conditions = grown;
        c = &st->conditions[st->n_conditions];
        memset(c, 0, sizeof(*c));
        if (!(c->type = strdup(type)) || !(c->status = strdup(status)) ||
            !(c->last_transition_time = dup_or_empty(now)) || !(c->reason = dup_or_empty(reason)) ||
            !(c->message = dup_or_empty(message))) {
            condition_free(c);
            return KRC_ENOMEM;
        }
        st->n_conditions++;
        return 0;
    }
    if (!str_eq(c->status, status)) {
        if (raycluster_status_set_str(&c->status, status) ||
            raycluster_status_set_str(&c->last_transition_time, now))
            return KRC_ENOMEM;
    }
    c->observed_generation = 0;
    if (raycluster_status_set_str(&c->reason, reason) ||
        raycluster_status_set_str(&c->message, message))
        return KRC_ENOMEM;
    return 0;
}

void raycluster_status_remove_condition(struct raycluster_status *st, const char *type)
{
    for (size_t i = 0; i < st->n_conditions; i++) {
        if (!str_eq(st->conditions[i].type, type))
            continue;
        condition_free(&st->conditions[i]);
        memmove(&st->conditions[i], &st->conditions[i + 1],
                (st->n_conditions - i - 1) * sizeof(*st->conditions));
        st->n_conditions--;
        return;
    }
}
