/* cron.h - cron schedules as robfig/cron v3's standard parser reads them (KubeRay's RayCronJob,
 * spec rayjob.md §12.3), and "next activation after t" in an IANA time zone.
 *
 * Accepted: five fields (minute hour day-of-month month day-of-week) with `*`, `?`, lists `a,b`,
 * ranges `a-b`, steps `*\/n` `a-b/n` `a/n` (a/n means a-max/n), month names JAN-DEC and weekday
 * names SUN-SAT (case-insensitive), 7 as Sunday is NOT accepted (robfig: 0-6); descriptors
 * @yearly @annually @monthly @weekly @daily @midnight @hourly and @every <Go duration>; an
 * optional `TZ=<zone> ` or `CRON_TZ=<zone> ` prefix. Error texts are robfig's
 * ("expected exactly 5 fields, found 3: [a b c]", "end of range (61) above maximum (59): 0-61").
 *
 * Time zones are read from the system tz database (TZif files under /usr/share/zoneinfo, or
 * $ZONEINFO) into a private table per schedule, so computing activations never touches the
 * process-wide TZ/localtime state and is thread-safe. A zone of "" or "Local" means the process's
 * local zone (/etc/localtime, or $TZ naming a zone file), "UTC" needs no file.
 *
 * Usage:
 *     struct cron_schedule *s;
 *     if (cron_parse("*\/5 * * * *", "Asia/Tokyo", &s, err)) -> "invalid cron schedule: ..."
 *     int64_t next = cron_next(s, now_unix_seconds);   // strictly after; CRON_NEVER = none
 *     cron_free(s);
 * A parsed schedule is immutable and may be shared between threads. */
#ifndef KRC_UTIL_CRON_H
#define KRC_UTIL_CRON_H

#include "util/error.h"

#include <stdint.h>

struct cron_schedule;

/* Parses spec. zone (may be NULL) is the default location, overridden by a TZ=/CRON_TZ= prefix in
 * spec: KubeRay passes "TZ=<timeZone> <schedule>", which callers may also do. Errors: KRC_EINVAL
 * with robfig's text (no "invalid cron schedule: " prefix), or for an unknown zone
 * "provided bad location <zone>: unknown time zone <zone>" (prefix form) / "unknown time zone
 * <zone>"; KRC_ENOMEM; KRC_EIO when a zone file cannot be read. */
int cron_parse(const char *spec, const char *zone, struct cron_schedule **out,
               struct krc_error *err);
void cron_free(struct cron_schedule *s);

#define CRON_NEVER INT64_MIN

/* The first activation strictly after t (Unix seconds, second resolution), or CRON_NEVER when there
 * is none within five years (robfig's limit and its zero time, e.g. "0 0 30 2 *"). @every d: t + d
 * rounded down to the second (robfig's ConstantDelaySchedule; d under 1 s counts as 1 s). */
int64_t cron_next(const struct cron_schedule *s, int64_t t);

/* Loads an IANA zone as cron_parse does: 0, KRC_EINVAL "unknown time zone <name>" (err), KRC_EIO.
 * Exposed so the RayCronJob validation can check spec.timeZone (§12.2 step 4) on its own. */
int cron_check_zone(const char *name, struct krc_error *err);

#endif
