/* raycluster_batch.h - where a reconcile's pod pass yields the work queue: a time budget.
 *
 * KubeRay creates a RayCluster's whole difference in one reconcile, so with one reconcile worker
 * a cluster scaling to 500 workers keeps every other cluster waiting for all of its creates. Here
 * a pass executes its plan (raycluster_scale.h) until RAYCLUSTER_BATCH_BUDGET_NS have gone by and
 * another key waits in the work queue, then stops and the key is requeued behind the keys already
 * queued (workqueue FIFO); the next turn plans the rest once the expectations of what this one
 * created are met, so a stale cache never creates a pod twice. A budget in time rather than in
 * pods keeps the wait of the other clusters independent of how fast the API server answers a
 * create; going on while nobody waits spares a lone cluster the planning of every extra turn.
 *
 * The pass stops only right after a pod create (so every turn that has creates to do makes at
 * least one), never between two pods of one multi-host replica (the next turn would find the
 * replica incomplete and delete it, §6.7) and never after the last action. */
#ifndef KRC_CONTROLLER_RAYCLUSTER_BATCH_H
#define KRC_CONTROLLER_RAYCLUSTER_BATCH_H

#include "controller/raycluster_scale.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Time a pass spends executing its plan before it yields (CLOCK_MONOTONIC): one create beyond it
 * at most, so a cluster created meanwhile waits about this long plus its own reconcile. */
#define RAYCLUSTER_BATCH_BUDGET_NS (200 * INT64_C(1000000))

/* Whether the pass that has just executed plan->actions[i] successfully, having started executing
 * the plan at started_ns and now at now_ns (both CLOCK_MONOTONIC ns), stops there and leaves
 * actions i+1.. to the next turn, under a budget of budget_ns; others_waiting: another key is in
 * the work queue (without one the pass goes on). */
bool raycluster_batch_yield(const struct raycluster_plan *plan, size_t i, int64_t started_ns,
                            int64_t now_ns, int64_t budget_ns, bool others_waiting);

#endif
