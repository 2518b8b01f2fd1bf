/* raycluster_batch.c - the time budget of a reconcile's pod pass (see raycluster_batch.h). */
#include "controller/raycluster_batch.h"

#include <string.h>

static bool is_create(const struct raycluster_action *a)
{
    return a->kind == RAYCLUSTER_ACT_CREATE_HEAD_POD || a->kind == RAYCLUSTER_ACT_CREATE_WORKER_POD;
}

/* Whether b creates another pod of a's multi-host replica. */
static bool same_replica(const struct raycluster_action *a, const struct raycluster_action *b)
{
    return a->kind == RAYCLUSTER_ACT_CREATE_WORKER_POD &&
           b->kind == RAYCLUSTER_ACT_CREATE_WORKER_POD && b->group == a->group &&
           a->replica_name[0] && strcmp(a->replica_name, b->replica_name) == 0;
}

bool raycluster_batch_yield(const struct raycluster_plan *plan, size_t i, int64_t started_ns,
                            int64_t now_ns, int64_t budget_ns, bool others_waiting)
{
    if (!others_waiting || !plan || i + 1 >= plan->n)
        return false;
    const struct raycluster_action *a = &plan->actions[i];
    return is_create(a) && now_ns - started_ns >= budget_ns &&
           !same_replica(a, &plan->actions[i + 1]);
}
