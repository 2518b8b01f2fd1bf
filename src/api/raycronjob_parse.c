/* raycronjob_parse.c - JSON -> struct raycronjob, its status, its CRD defaults and validation
 * (spec §12.1, §12.2).
 *
 * spec.jobTemplate goes through rayjob_spec_parse(), so the template is typed, defaulted and
 * validated exactly as a RayJob spec; validation passes no annotations to the embedded RayCluster
 * check, as KubeRay builds a bare RayJob{Spec: jobTemplate} for it. */
#include "api/raycronjob.h"

#include "api/json_field.h"
#include "api/kobj.h"
#include "util/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_PATH "spec.jobTemplate"

int raycronjob_parse(json_t *doc, struct raycronjob *cj, struct krc_error *err)
{
    struct json_field_ctx c = {"RayCronJob", "", "", err};
    int rc;
    json_t *spec, *status;
    memset(cj, 0, sizeof(*cj));
    raycronjob_status_init(&cj->status);
    if (!json_is_object(doc))
        return krc_error_set(err, KRC_EINVAL, "RayCronJob: expected a JSON object, got %s",
                             json_field_type_name(doc));
    cj->root = json_incref(doc);
    if ((rc = json_field_objmeta(&c, doc, &cj->meta)) ||
        (rc = json_field_obj(&c, doc, "", "spec", &spec)) ||
        (rc = json_field_str_or_empty(&c, spec, "spec", "schedule", &cj->spec.schedule)) ||
        (rc = json_field_str(&c, spec, "spec", "timeZone", &cj->spec.time_zone)) ||
        (rc = json_field_opt_bool(&c, spec, "spec", "suspend", &cj->spec.suspend)) ||
        (rc = json_field_obj(&c, spec, "spec", "jobTemplate", &cj->spec.job_template)))
        goto fail;
    /* The template's own parse names the RayCronJob as the object (its RayJobs do not exist
     * yet); no annotations reach the embedded RayCluster, as in KubeRay's validation. */
    if ((rc = rayjob_spec_parse(cj->spec.job_template, cj->meta.ns, cj->meta.name, NULL,
                                TEMPLATE_PATH, &cj->spec.job, &cj->spec.cluster, err))) {
        /* the template's errors read "RayJob ns/name: spec.jobTemplate..."; name the kind */
        if (err && rc == KRC_EINVAL && strncmp(err->msg, "RayJob ", 7) == 0) {
            char msg[KRC_ERROR_MSG_MAX];
            snprintf(msg, sizeof(msg), "%s", err->msg + 7);
            krc_error_set(err, rc, "RayCronJob %s", msg);
        }
        goto fail;
    }
    if ((rc = json_field_obj(&c, doc, "", "status", &status)))
        goto fail;
    if ((rc = raycronjob_status_parse(status, &cj->status, err))) {
        krc_error_wrap(err, rc, "RayCronJob %s/%s: status", cj->meta.ns, cj->meta.name);
        goto fail;
    }
    return 0;
fail:
    raycronjob_release(cj);
    return rc;
}

void raycronjob_release(struct raycronjob *cj)
{
    if (!cj)
        return;
    rayjob_spec_release(&cj->spec.job, &cj->spec.cluster);
    raycronjob_status_free(&cj->status);
    json_decref(cj->root);
    memset(cj, 0, sizeof(*cj));
}

int raycronjob_apply_schema_defaults(json_t *doc)
{
    return rayjob_spec_apply_schema_defaults(kobj_obj(kobj_obj(doc, "spec"), "jobTemplate"));
}

/* --- status --------------------------------------------------------------------------------- */

void raycronjob_status_init(struct raycronjob_status *st)
{
    memset(st, 0, sizeof(*st));
}

void raycronjob_status_free(struct raycronjob_status *st)
{
    free(st->last_schedule_time);
    memset(st, 0, sizeof(*st));
}

int raycronjob_status_parse(const json_t *obj, struct raycronjob_status *st, struct krc_error *err)
{
    raycronjob_status_init(st);
    if (obj && !json_is_null(obj) && !json_is_object(obj))
        return krc_error_set(err, KRC_EINVAL, "status: expected an object");
    json_t *t = json_field_member(obj, "lastScheduleTime");
    if (t && !json_is_string(t))
        return krc_error_set(err, KRC_EINVAL, "status.lastScheduleTime: expected a string");
    st->last_schedule_time = strdup(t ? json_string_value(t) : "");
    return st->last_schedule_time ? 0 : krc_error_set(err, KRC_ENOMEM, "status: out of memory");
}

json_t *raycronjob_status_to_json(const struct raycronjob_status *st)
{
    json_t *o = json_object();
    if (o && st->last_schedule_time && *st->last_schedule_time &&
        kobj_set_str(o, "lastScheduleTime", st->last_schedule_time)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* --- validation ----------------------------------------------------------------------------- */

static int reject_full(struct krc_error *err, struct krc_strbuf *full, const char *prefix,
                       const char *text)
{
    krc_error_set(err, KRC_EINVAL, "%s%s", prefix, text);
    if (full) {
        krc_strbuf_reset(full);
        if (krc_strbuf_addf(full, "%s%s", prefix, text))
            return krc_error_set(err, KRC_ENOMEM, "validation: out of memory");
    }
    return KRC_EINVAL;
}

int raycronjob_validate(const struct raycronjob *cj, const struct raycluster_gates *g,
                        struct krc_error *err, struct krc_strbuf *full)
{
    char msg[KRC_ERROR_MSG_MAX];
    const char *schedule = cj->spec.schedule ? cj->spec.schedule : "";
    if (strlen(cj->meta.name ? cj->meta.name : "") > RAYCRONJOB_MAX_NAME_LEN) {
        snprintf(msg, sizeof(msg), "RayCronJob name should be no more than %d characters",
                 RAYCRONJOB_MAX_NAME_LEN);
        return reject_full(err, full, "", msg);
    }
    if (strstr(schedule, "TZ"))
        return reject_full(err, full, "",
                           "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
    /* The raw schedule (step 2 rejected any TZ= prefix); UTC spares loading the local zone. */
    struct cron_schedule *sched = NULL;
    struct krc_error serr;
    krc_error_clear(&serr);
    int rc = cron_parse(schedule, "UTC", &sched, &serr);
    cron_free(sched);
    if (rc == KRC_EINVAL)
        return reject_full(err, full, "invalid cron schedule: ", serr.msg);
    if (rc)
        return krc_error_set(err, rc, "%s", serr.msg);
    if (cj->spec.time_zone) {
        if (!*cj->spec.time_zone)
            return reject_full(err, full, "",
                               "timeZone must not be empty string, omit the field to use the "
                               "local time zone of the KubeRay operator");
        krc_error_clear(&serr);
        rc = cron_check_zone(cj->spec.time_zone, &serr);
        if (rc == KRC_EINVAL)
            return reject_full(err, full, "invalid time zone: ", serr.msg);
        if (rc)
            return krc_error_set(err, rc, "%s", serr.msg);
    }
    struct krc_error terr;
    struct krc_strbuf tfull = KRC_STRBUF_INIT;
    krc_error_clear(&terr);
    rc = rayjob_validate_spec_only(&cj->spec.job, &cj->spec.cluster, g, &terr, &tfull);
    if (rc == KRC_EINVAL)
        rc = reject_full(err, full, "invalid RayJob template: ", tfull.len ? tfull.buf : terr.msg);
    else if (rc)
        rc = krc_error_set(err, rc, "%s", terr.msg);
    krc_strbuf_release(&tfull);
    return rc;
}

int raycronjob_rayjob_name(const char *cronjob_name, int64_t tick, char *out, size_t out_size)
{
    /* floor division: ticks before 1970 are never produced, but stay correct anyway */
    int64_t minutes = tick >= 0 ? tick / 60 : -((-tick + 59) / 60);
    int n = snprintf(out, out_size, "%s-%lld", cronjob_name, (long long)minutes);
    return n < 0 || (size_t)n >= out_size ? KRC_ERANGE : 0;
}
