/* raycronjob_plan.c - the pure part of the RayCronJob controller (see raycronjob_plan.h).
 * _GNU_SOURCE for timegm(). */
#define _GNU_SOURCE
#include "controller/raycronjob_plan.h"

#include "api/kobj.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SECONDS_PER_MINUTE 60
#define SECONDS_PER_HOUR   3600

int raycronjob_plan_parse_schedule(const struct raycronjob *cj, struct cron_schedule **out,
                                   struct krc_error *err)
{
    const char *schedule = cj->spec.schedule ? cj->spec.schedule : "";
    if (!cj->spec.time_zone)
        return cron_parse(schedule, NULL, out, err);
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    if (krc_strbuf_addf(&sb, "TZ=%s %s", cj->spec.time_zone, schedule)) {
        krc_strbuf_release(&sb);
        return krc_error_set(err, KRC_ENOMEM, "schedule: out of memory");
    }
    int rc = cron_parse(sb.buf, NULL, out, err);
    krc_strbuf_release(&sb);
    return rc;
}

static int two_digits(const char *s, int *out)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
        return KRC_EINVAL;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return 0;
}

int raycronjob_plan_parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!p)
        return KRC_EINVAL;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int h, m;
        if (two_digits(p + 1, &h) || p[3] != ':' || two_digits(p + 4, &m))
            return KRC_EINVAL;
        offset = (int64_t)h * SECONDS_PER_HOUR + (int64_t)m * SECONDS_PER_MINUTE;
        if (*p == '-')
            offset = -offset;
        p += 6;
    } else {
        return KRC_EINVAL;
    }
    if (*p)
        return KRC_EINVAL;
    *out = (int64_t)timegm(&tm) - offset;
    return 0;
}

int raycronjob_plan_format_time(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return KRC_ERANGE;
    return 0;
}

int raycronjob_plan_earliest(const struct raycronjob *cj, int64_t *out)
{
    const char *last = cj->status.last_schedule_time;
    if (last && *last)
        return raycronjob_plan_parse_time(last, out);
    return raycronjob_plan_parse_time(cj->meta.creation_timestamp, out);
}

void raycronjob_plan_decide(const struct cron_schedule *s, int64_t earliest, int64_t now,
                            struct raycronjob_plan *out)
{
    memset(out, 0, sizeof(*out));
    int64_t tick = cron_next(s, earliest);
    if (tick == CRON_NEVER) {
        out->action = RAYCRONJOB_PLAN_NEVER;
        return;
    }
    out->tick = tick;
    if (tick > now) {
        out->action = RAYCRONJOB_PLAN_WAIT;
        out->requeue_s = tick - now;
        return;
    }
    out->action = RAYCRONJOB_PLAN_CREATE;
    int64_t next = cron_next(s, tick);
    out->requeue_s = next == CRON_NEVER ? 0 : next - now;
}

static int oom(struct krc_error *err)
{
    return krc_error_set(err, KRC_ENOMEM, "build RayJob: out of memory");
}

int raycronjob_plan_rayjob(const struct raycronjob *cj, int64_t tick, json_t **out,
                           struct krc_error *err)
{
    char name[RAYJOB_MAX_NAME_LEN + 1], ts[RAYCRONJOB_RFC3339_LEN];
    *out = NULL;
    if (!cj->spec.job_template)
        return krc_error_set(err, KRC_EINVAL, "RayCronJob %s/%s has no spec.jobTemplate",
                             cj->meta.ns, cj->meta.name);
    if (raycronjob_rayjob_name(cj->meta.name, tick, name, sizeof(name)))
        return krc_error_set(err, KRC_EINVAL, "RayCronJob %s/%s: RayJob name too long", cj->meta.ns,
                             cj->meta.name);
    if (raycronjob_plan_format_time(tick, ts, sizeof(ts)))
        return krc_error_set(err, KRC_EINVAL, "RayCronJob %s/%s: tick %lld out of range",
                             cj->meta.ns, cj->meta.name, (long long)tick);
    json_t *spec = json_deep_copy(cj->spec.job_template);
    json_t *obj = spec ? json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:{s:s}, s:[{s:s, s:s, s:s, "
                                   "s:s, s:b, s:b}]}, s:o}",
                                   "apiVersion", "ray.io/v1", "kind", "RayJob", "metadata", "name",
                                   name, "namespace", cj->meta.ns, "labels", RAYCRONJOB_LABEL_NAME,
                                   cj->meta.name, "annotations", RAYCRONJOB_ANNOTATION_SCHEDULED_TS,
                                   ts, "ownerReferences", "apiVersion", "ray.io/v1", "kind",
                                   RAYCRONJOB_CRD_NAME, "name", cj->meta.name, "uid", cj->meta.uid,
                                   "controller", 1, "blockOwnerDeletion", 1, "spec", spec)
                       : NULL;
    if (!obj)
        return oom(err); /* json_pack's "o" consumed spec even on failure */
    *out = obj;
    return 0;
}
