/* raycronjob_plan.h - the pure part of the RayCronJob controller (spec rayjob.md §12.3-§12.5):
 * the schedule KubeRay evaluates, which tick is due and how long to wait, and the RayJob created
 * for a tick. No I/O; raycronjob_controller.c executes the plan.
 *
 * Usage:
 *     raycronjob_plan_parse_schedule(cj, &sched, err);           // "TZ=<timeZone> <schedule>"
 *     raycronjob_plan_earliest(cj, &earliest);                   // lastScheduleTime | created
 *     raycronjob_plan_decide(sched, earliest, now, &plan);       // WAIT / CREATE / NEVER
 *     raycronjob_plan_rayjob(cj, plan.tick, &obj, err);          // then create it */
#ifndef KRC_CONTROLLER_RAYCRONJOB_PLAN_H
#define KRC_CONTROLLER_RAYCRONJOB_PLAN_H

#include "api/raycronjob.h"
#include "util/cron.h"
#include "util/error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define RAYCRONJOB_CRD_NAME    "RayCronJob"
#define RAYCRONJOB_RFC3339_LEN 21 /* "2024-01-01T00:05:00Z" + NUL */

enum raycronjob_plan_action {
    RAYCRONJOB_PLAN_WAIT,   /* the next tick is in the future: requeue after requeue_s */
    RAYCRONJOB_PLAN_CREATE, /* tick is due: create its RayJob, then requeue after requeue_s if > 0
                             */
    RAYCRONJOB_PLAN_NEVER,  /* the schedule has no further activation: nothing to do */
};

struct raycronjob_plan {
    enum raycronjob_plan_action action;
    int64_t tick;      /* WAIT: the next tick; CREATE: the due tick (Unix seconds) */
    int64_t requeue_s; /* WAIT: tick - now (> 0); CREATE: Next(tick) - now (<= 0: none timed) */
};

/* The schedule as KubeRay parses it: "TZ=<timeZone> <schedule>" when spec.timeZone is set, else
 * the schedule in the operator's local zone. Errors as cron_parse. */
int raycronjob_plan_parse_schedule(const struct raycronjob *cj, struct cron_schedule **out,
                                   struct krc_error *err);

/* §12.4 step 4: status.lastScheduleTime when set, else metadata.creationTimestamp, as Unix
 * seconds. KRC_EINVAL when the chosen one is missing or not RFC 3339. */
int raycronjob_plan_earliest(const struct raycronjob *cj, int64_t *out);

/* §12.4 steps 4 and 7 for the time now. */
void raycronjob_plan_decide(const struct cron_schedule *s, int64_t earliest, int64_t now,
                            struct raycronjob_plan *out);

/* RFC 3339 in UTC ("2024-01-01T00:05:00Z"); size >= RAYCRONJOB_RFC3339_LEN. 0 or KRC_ERANGE. */
int raycronjob_plan_format_time(int64_t t, char *buf, size_t size);
/* Parses RFC 3339 ("...Z", "...+09:00", optional fraction, which is dropped). 0 or KRC_EINVAL. */
int raycronjob_plan_parse_time(const char *s, int64_t *out);

/* §12.5: the RayJob for tick - name "<cronjob>-<tick/60>", the cronjob-name label, the
 * scheduled-timestamp annotation, a controller owner reference and a deep copy of
 * spec.jobTemplate as spec. *out is a new object. KRC_EINVAL (no jobTemplate, name too long),
 * KRC_ENOMEM. */
int raycronjob_plan_rayjob(const struct raycronjob *cj, int64_t tick, json_t **out,
                           struct krc_error *err);

#endif
