/* raycronjob.h - the ray.io/v1 RayCronJob type in C: parse, validation, status, created RayJob
 * names.
 *
 * Design: as rayjob.h - the parsed struct borrows from the document it came from, and
 * spec.jobTemplate is parsed with rayjob_spec_parse() into a struct rayjob_spec (plus the
 * embedded RayCluster), so template validation is exactly the RayJob spec validation.
 *
 * The schedule (robfig/cron v3's "standard" grammar, spec §12.3) and time zones are util/cron.h;
 * validation uses it, and the controller parses "TZ=<timeZone> <schedule>" with it.
 *
 * Ownership: raycronjob_parse() fills a caller-provided struct; raycronjob_release() frees it. */
#ifndef KRC_API_RAYCRONJOB_H
#define KRC_API_RAYCRONJOB_H

#include "api/rayjob.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAYCRONJOB_MAX_NAME_LEN            36 /* RAYJOB_MAX_NAME_LEN minus "-" + 10-digit minute */
#define RAYCRONJOB_LABEL_NAME              "ray.io/cronjob-name"
#define RAYCRONJOB_ANNOTATION_SCHEDULED_TS "ray.io/cronjob-scheduled-timestamp"
#define RAYCRONJOB_EVENT_INVALID_SPEC      "InvalidRayCronJobSpec"
#define RAYCRONJOB_EVENT_SUSPENDED         "SuspendedRayCronJob"

struct raycronjob_spec {
    const char *schedule;  /* "" when absent */
    const char *time_zone; /* NULL when absent; "" is a validation error */
    struct rc_opt_bool suspend;
    json_t *job_template;      /* borrowed RayJobSpec object; NULL when absent */
    struct rayjob_spec job;    /* parsed jobTemplate (zeroed when absent) */
    struct raycluster cluster; /* jobTemplate.rayClusterSpec when job.has_cluster_spec */
};

/* Owns its memory. */
struct raycronjob_status {
    char *last_schedule_time; /* RFC 3339, "" when absent */
};

struct raycronjob {
    json_t *root; /* owned reference */
    struct json_field_objmeta meta;
    struct raycronjob_spec spec;
    struct raycronjob_status status;
};

/* Parses a RayCronJob object (types only; semantic checks are raycronjob_validate). On failure
 * KRC_EINVAL/KRC_ENOMEM with err naming the object and field; nothing to release. */
int raycronjob_parse(json_t *doc, struct raycronjob *cj, struct krc_error *err);
void raycronjob_release(struct raycronjob *cj);

/* CRD structural defaults inside spec.jobTemplate (see rayjob_spec_apply_schema_defaults).
 * 0 or KRC_ENOMEM. */
int raycronjob_apply_schema_defaults(json_t *doc);

/* Spec §12.2, in order, KubeRay's exact messages ("invalid RayJob template: The RayJob spec is
 * invalid: ..."). 0, KRC_EINVAL or KRC_ENOMEM; full (optional) gets the untruncated message. */
int raycronjob_validate(const struct raycronjob *cj, const struct raycluster_gates *g,
                        struct krc_error *err, struct krc_strbuf *full);

void raycronjob_status_init(struct raycronjob_status *st);
void raycronjob_status_free(struct raycronjob_status *st);
int raycronjob_status_parse(const json_t *obj, struct raycronjob_status *st, struct krc_error *err);
/* {"lastScheduleTime": ...} with omitempty; NULL on ENOMEM. */
json_t *raycronjob_status_to_json(const struct raycronjob_status *st);

/* "<name>-<floor(tick/60)>" into out (RAYJOB_MAX_NAME_LEN + 1 bytes suffice for valid names).
 * 0 or KRC_ERANGE when it does not fit. */
int raycronjob_rayjob_name(const char *cronjob_name, int64_t tick, char *out, size_t out_size);

#endif
