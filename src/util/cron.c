/* cron.c - robfig/cron v3 standard schedules and their next activation (see cron.h).
 *
 * A schedule keeps robfig's bit sets (bit i = value i allowed, bit 63 = the field was "*" or "?")
 * and Next() is robfig's field-by-field walk, done on Unix seconds with the zone arithmetic of Go's
 * time package reproduced here: civil fields through the zone's offset at an instant (Time.In),
 * and time.Date's two-lookup normalisation of a civil time back to an instant. That is what makes
 * DST behave as in KubeRay: a 02:30 schedule does not fire on a spring-forward day (the time does
 * not exist), and a 01:30 schedule fires twice on a fall-back day (the hour repeats).
 *
 * Zones come from TZif files (version 2+ 64-bit data and the POSIX TZ footer for instants after
 * the last transition, as Go reads them), parsed into a private table per schedule: no TZ
 * environment changes, no localtime_r, so everything here is thread-safe and the result does not
 * depend on the C library's notion of the zone. */
#include "util/cron.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STAR_BIT          (UINT64_C(1) << 63)
#define SECONDS_PER_MIN   60
#define SECONDS_PER_HOUR  3600
#define SECONDS_PER_DAY   86400
#define SEARCH_YEARS      5
#define TZIF_MAX_BYTES    (1 << 20)
#define TZIF_HEADER_LEN   44
#define TZ_NAME_MAX       256
#define FIELD_COUNT       5
#define FIELDS_SHOWN_MAX  400 /* bytes of the field list echoed in an error */
#define DEFAULT_DST_RULES ",M3.2.0,M11.1.0"
#define TZ_RULE_TIME_DEF  (2 * SECONDS_PER_HOUR)
#define NS_PER_SECOND     INT64_C(1000000000)

static const char *const zone_dirs[] = {"/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/",
                                        "/usr/lib/locale/TZ/", "/etc/zoneinfo/"};

/* ---- calendar ------------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12 already normalised). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct civil {
    int64_t year;
    int month, day, hour, min, sec, wday;
};

static void civil_from_local(int64_t local, struct civil *c)
{
    int64_t days = floor_div(local, SECONDS_PER_DAY);
    int64_t rem = local - days * SECONDS_PER_DAY;
    c->hour = (int)(rem / SECONDS_PER_HOUR);
    c->min = (int)(rem % SECONDS_PER_HOUR / SECONDS_PER_MIN);
    c->sec = (int)(rem % SECONDS_PER_MIN);
    c->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->year = yoe + era * 400 + (c->month <= 2);
}

static bool is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in_month(int m, int64_t y)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* ---- zones (Go's time.Location) ------------------------------------------------------------ */

enum rule_kind { RULE_JULIAN, RULE_DOY, RULE_MWD };

struct tz_rule {
    enum rule_kind kind;
    int day, week, mon;
    int time; /* seconds after local midnight */
};

struct tz_extend {
    bool valid, has_dst;
    int std_off, dst_off; /* seconds east of UTC */
    struct tz_rule start, end;
};

struct tz_type {
    int32_t off;
    bool dst;
};

struct tz {
    int64_t *when; /* transition instants, ascending; at least one (Go adds one at -inf) */
    uint8_t *idx;  /* type index per transition */
    size_t n_tx;
    struct tz_type *types;
    size_t n_types;
    struct tz_extend ext;
};

struct tz_span {
    int32_t off;
    int64_t start, end;
};

static void tz_free(struct tz *z)
{
    if (!z)
        return;
    free(z->when);
    free(z->idx);
    free(z->types);
    free(z);
}

/* A zone with one fixed offset (UTC). */
static struct tz *tz_fixed(int32_t off)
{
    struct tz *z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    z->when = malloc(sizeof(*z->when));
    z->idx = calloc(1, 1);
    z->types = calloc(1, sizeof(*z->types));
    if (!z->when || !z->idx || !z->types) {
        tz_free(z);
        return NULL;
    }
    z->when[0] = INT64_MIN;
    z->n_tx = 1;
    z->types[0].off = off;
    z->n_types = 1;
    return z;
}

/* POSIX TZ string pieces, as Go's tzset parses them. */
static const char *tzset_name(const char *s)
{
    if (*s == '<') {
        const char *e = strchr(s, '>');
        return e ? e + 1 : NULL;
    }
    const char *p = s;
    while (*p && isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] -> seconds. */
static const char *tzset_offset(const char *s, int *out)
{
    int sign = 1, h = 0, m = 0, sec = 0;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*s))
        return NULL;
    while (isdigit((unsigned char)*s))
        h = h * 10 + (*s++ - '0');
    if (h > 24 * 7)
        return NULL;
    if (*s == ':') {
        s++;
        if (!isdigit((unsigned char)*s))
            return NULL;
        while (isdigit((unsigned char)*s))
            m = m * 10 + (*s++ - '0');
        if (*s == ':') {
            s++;
            if (!isdigit((unsigned char)*s))
                return NULL;
            while (isdigit((unsigned char)*s))
                sec = sec * 10 + (*s++ - '0');
        }
    }
    if (m > 59 || sec > 59)
        return NULL;
    *out = sign * (h * SECONDS_PER_HOUR + m * SECONDS_PER_MIN + sec);
    return s;
}

static const char *tzset_num(const char *s, int *out, int max)
{
    int v = 0;
    if (!isdigit((unsigned char)*s))
        return NULL;
    while (isdigit((unsigned char)*s)) {
        v = v * 10 + (*s++ - '0');
        if (v > max)
            return NULL;
    }
    *out = v;
    return s;
}

static const char *tzset_rule(const char *s, struct tz_rule *r)
{
    if (*s == 'J') {
        r->kind = RULE_JULIAN;
        if (!(s = tzset_num(s + 1, &r->day, 365)) || r->day < 1)
            return NULL;
    } else if (*s == 'M') {
        r->kind = RULE_MWD;
        if (!(s = tzset_num(s + 1, &r->mon, 12)) || r->mon < 1 || *s++ != '.' ||
            !(s = tzset_num(s, &r->week, 5)) || r->week < 1 || *s++ != '.' ||
            !(s = tzset_num(s, &r->day, 6)))
            return NULL;
    } else {
        r->kind = RULE_DOY;
        if (!(s = tzset_num(s, &r->day, 365)))
            return NULL;
    }
    r->time = TZ_RULE_TIME_DEF;
    if (*s == '/')
        s = tzset_offset(s + 1, &r->time);
    return s;
}

static bool tzset_parse(const char *s, struct tz_extend *x)
{
    int off;
    memset(x, 0, sizeof(*x));
    if (!(s = tzset_name(s)) || !(s = tzset_offset(s, &off)))
        return false;
    x->std_off = -off;
    if (*s == '\0' || *s == ',') { /* no daylight saving time */
        x->valid = true;
        return true;
    }
    if (!(s = tzset_name(s)))
        return false;
    x->dst_off = x->std_off + SECONDS_PER_HOUR;
    if (*s && *s != ',') {
        if (!(s = tzset_offset(s, &off)))
            return false;
        x->dst_off = -off;
    }
    if (*s == '\0')
        s = DEFAULT_DST_RULES;
    if (*s++ != ',' || !(s = tzset_rule(s, &x->start)) || *s++ != ',' ||
        !(s = tzset_rule(s, &x->end)) || *s)
        return false;
    x->valid = x->has_dst = true;
    return true;
}

/* Seconds after the start of the (UTC) year at which rule r fires, given offset off before it. */
static int64_t tzrule_time(int64_t year, const struct tz_rule *r, int off)
{
    int64_t s = 0;
    switch (r->kind) {
    case RULE_JULIAN:
        s = (int64_t)(r->day - 1) * SECONDS_PER_DAY;
        if (is_leap(year) && r->day >= 60)
            s += SECONDS_PER_DAY;
        break;
    case RULE_DOY:
        s = (int64_t)r->day * SECONDS_PER_DAY;
        break;
    case RULE_MWD: {
        /* Weekday of the 1st of the month, then the week-th such weekday (5 = last). */
        int64_t first = days_from_civil(year, r->mon, 1);
        int dow = (int)((first % 7 + 11) % 7);
        int d = r->day - dow;
        if (d < 0)
            d += 7;
        for (int i = 1; i < r->week; i++) {
            if (d + 7 >= days_in_month(r->mon, year))
                break;
            d += 7;
        }
        s = (first - days_from_civil(year, 1, 1) + d) * SECONDS_PER_DAY;
        break;
    }
    }
    return s + r->time - off;
}

/* Go's tzset(): the zone span containing sec from the footer rule. */
static struct tz_span tzset_span(const struct tz_extend *x, int64_t last_tx, int64_t sec)
{
    struct tz_span sp;
    if (!x->has_dst) {
        sp.off = x->std_off;
        sp.start = last_tx;
        sp.end = INT64_MAX;
        return sp;
    }
    struct civil c;
    civil_from_local(sec, &c);
    int64_t ystart = days_from_civil(c.year, 1, 1) * SECONDS_PER_DAY;
    int64_t ysec = sec - ystart;
    int64_t start = tzrule_time(c.year, &x->start, x->std_off);
    int64_t end = tzrule_time(c.year, &x->end, x->dst_off);
    int std_off = x->std_off, dst_off = x->dst_off;
    if (end < start) {
        int64_t t = start;
        start = end;
        end = t;
        int o = std_off;
        std_off = dst_off;
        dst_off = o;
    }
    if (ysec < start) {
        sp.off = std_off, sp.start = ystart, sp.end = ystart + start;
    } else if (ysec >= end) {
        sp.off = std_off, sp.start = ystart + end, sp.end = ystart + 365 * SECONDS_PER_DAY;
    } else {
        sp.off = dst_off, sp.start = ystart + start, sp.end = ystart + end;
    }
    return sp;
}

/* Go's lookupFirstZone: the zone in effect before the first transition. */
static size_t first_zone(const struct tz *z)
{
    bool used = false;
    for (size_t i = 0; i < z->n_tx; i++) {
        if (z->idx[i] == 0)
            used = true;
    }
    if (!used)
        return 0;
    if (z->n_tx > 0 && z->types[z->idx[0]].dst) {
        for (size_t zi = z->idx[0]; zi-- > 0;) {
            if (!z->types[zi].dst)
                return zi;
        }
    }
    for (size_t zi = 0; zi < z->n_types; zi++) {
        if (!z->types[zi].dst)
            return zi;
    }
    return 0;
}

/* Go's Location.lookup(sec): offset in effect and the span it holds for. */
static struct tz_span tz_lookup(const struct tz *z, int64_t sec)
{
    struct tz_span sp;
    if (sec < z->when[0]) {
        sp.off = z->types[first_zone(z)].off;
        sp.start = INT64_MIN;
        sp.end = z->when[0];
        return sp;
    }
    size_t lo = 0, hi = z->n_tx;
    int64_t end = INT64_MAX;
    while (hi - lo > 1) {
        size_t m = lo + (hi - lo) / 2;
        if (sec < z->when[m]) {
            end = z->when[m];
            hi = m;
        } else {
            lo = m;
        }
    }
    if (lo == z->n_tx - 1 && z->ext.valid)
        return tzset_span(&z->ext, z->when[lo], sec);
    sp.off = z->types[z->idx[lo]].off;
    sp.start = z->when[lo];
    sp.end = end;
    return sp;
}

static void tz_civil(const struct tz *z, int64_t t, struct civil *c)
{
    civil_from_local(t + tz_lookup(z, t).off, c);
}

/* Go's time.Date(y, m, d, h, mi, s, 0, loc): fields normalised, then the local time converted
 * with a lookup at the guess and a second one if the guess lies outside the span found. */
static int64_t tz_date(const struct tz *z, int64_t y, int64_t m, int64_t d, int64_t h, int64_t mi,
                       int64_t s)
{
    int64_t m0 = m - 1;
    y += floor_div(m0, 12);
    m0 -= floor_div(m0, 12) * 12;
    int64_t unix = (days_from_civil(y, (int)m0 + 1, 1) + d - 1) * SECONDS_PER_DAY +
                   h * SECONDS_PER_HOUR + mi * SECONDS_PER_MIN + s;
    struct tz_span sp = tz_lookup(z, unix);
    if (sp.off != 0) {
        int64_t utc = unix - sp.off;
        if (utc < sp.start || utc >= sp.end)
            sp = tz_lookup(z, utc);
        unix -= sp.off;
    }
    return unix;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Parses TZif data (Go's LoadLocationFromTZData). */
static int tz_parse(const unsigned char *d, size_t len, const char *name, struct tz **out,
                    struct krc_error *err)
{
    struct tz *z = NULL;
    size_t p = 0;

    *out = NULL;
    if (len < TZIF_HEADER_LEN || memcmp(d, "TZif", 4) != 0)
        goto bad;
    int version = d[4] == 0 ? 1 : d[4] - '0';
    size_t w = 4; /* bytes per transition time */
    uint32_t n[6];
    for (int i = 0; i < 6; i++)
        n[i] = be32(d + 20 + 4 * i);
    /* counts: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
    if (version >= 2) {
        size_t skip = (size_t)n[3] * 5 + (size_t)n[4] * 6 + n[5] + (size_t)n[2] * 8 + n[1] + n[0];
        p = TZIF_HEADER_LEN + skip;
        if (p + TZIF_HEADER_LEN > len || memcmp(d + p, "TZif", 4) != 0)
            goto bad;
        for (int i = 0; i < 6; i++)
            n[i] = be32(d + p + 20 + 4 * i);
        w = 8;
    }
    p += TZIF_HEADER_LEN;
    size_t need =
        (size_t)n[3] * (w + 1) + (size_t)n[4] * 6 + n[5] + (size_t)n[2] * (w + 4) + n[1] + n[0];
    if (n[4] == 0 || p + need > len)
        goto bad;
    if (!(z = calloc(1, sizeof(*z))))
        goto oom;
    size_t ntx = n[3] ? n[3] : 1;
    z->when = calloc(ntx, sizeof(*z->when));
    z->idx = calloc(ntx, 1);
    z->types = calloc(n[4], sizeof(*z->types));
    if (!z->when || !z->idx || !z->types)
        goto oom;
    for (size_t i = 0; i < n[3]; i++)
        z->when[i] = w == 8 ? be64(d + p + i * 8) : (int32_t)be32(d + p + i * 4);
    p += (size_t)n[3] * w;
    for (size_t i = 0; i < n[3]; i++) {
        z->idx[i] = d[p + i];
        if (z->idx[i] >= n[4])
            goto bad;
    }
    p += n[3];
    for (size_t i = 0; i < n[4]; i++) {
        z->types[i].off = (int32_t)be32(d + p + i * 6);
        z->types[i].dst = d[p + i * 6 + 4] != 0;
    }
    p += (size_t)n[4] * 6;
    if (n[3] == 0) {
        z->when[0] = INT64_MIN; /* Go: one transition at the start of time to zone 0 */
        z->idx[0] = 0;
    }
    z->n_tx = ntx;
    z->n_types = n[4];
    p += n[5] + (size_t)n[2] * (w + 4) + n[1] + n[0];
    /* Footer "\n<POSIX TZ>\n" (version 2+). An unparsable one is ignored, as Go does. */
    if (version >= 2 && p < len && d[p] == '\n') {
        const unsigned char *nl = memchr(d + p + 1, '\n', len - p - 1);
        size_t flen = nl ? (size_t)(nl - (d + p + 1)) : 0;
        if (nl && flen > 0 && flen < TZ_NAME_MAX) {
            char footer[TZ_NAME_MAX];
            memcpy(footer, d + p + 1, flen);
            footer[flen] = '\0';
            if (!tzset_parse(footer, &z->ext))
                memset(&z->ext, 0, sizeof(z->ext));
        }
    }
    *out = z;
    return 0;
bad:
    tz_free(z);
    return krc_error_set(err, KRC_EINVAL, "malformed time zone information for %s", name);
oom:
    tz_free(z);
    return krc_error_set(err, KRC_ENOMEM, "time zone %s: out of memory", name);
}

/* Reads path into a malloc'd buffer (capped). 0, KRC_ENOTFOUND, KRC_EIO or KRC_ETOOLARGE. */
static int read_file(const char *path, unsigned char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    *len = 0;
    if (!f)
        return errno == ENOENT || errno == ENOTDIR || errno == EISDIR ? KRC_ENOTFOUND : KRC_EIO;
    unsigned char *b = malloc(TZIF_MAX_BYTES);
    if (!b) {
        fclose(f);
        return KRC_ENOMEM;
    }
    size_t n = fread(b, 1, TZIF_MAX_BYTES, f);
    int rc = ferror(f) ? KRC_EIO : 0;
    if (!rc && n == TZIF_MAX_BYTES && fgetc(f) != EOF)
        rc = KRC_ETOOLARGE;
    fclose(f);
    if (rc) {
        free(b);
        return rc == KRC_EIO && n == 0 ? KRC_ENOTFOUND : rc; /* a directory reads as EISDIR */
    }
    *buf = b;
    *len = n;
    return 0;
}

static int load_from(const char *dir, const char *name, struct tz **out, struct krc_error *err)
{
    char path[PATH_MAX];
    unsigned char *buf;
    size_t len;
    int n = snprintf(path, sizeof(path), "%s%s%s", dir,
                     *dir && dir[strlen(dir) - 1] != '/' ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return KRC_ENOTFOUND;
    int rc = read_file(path, &buf, &len);
    if (rc)
        return rc;
    rc = tz_parse(buf, len, name, out, err);
    free(buf);
    return rc;
}

/* Go's loadLocation over a list of sources; KRC_ENOTFOUND when no source has the zone. */
static int load_zone_from_sources(const char *name, struct tz **out, struct krc_error *err)
{
    const char *zoneinfo = getenv("ZONEINFO");
    int rc;
    if (zoneinfo && *zoneinfo && (rc = load_from(zoneinfo, name, out, err)) != KRC_ENOTFOUND)
        return rc;
    for (size_t i = 0; i < sizeof(zone_dirs) / sizeof(zone_dirs[0]); i++) {
        if ((rc = load_from(zone_dirs[i], name, out, err)) != KRC_ENOTFOUND)
            return rc;
    }
    return KRC_ENOTFOUND;
}

/* The process's local zone as Go's initLocal finds it; UTC when nothing is found. */
static int load_local(struct tz **out, struct krc_error *err)
{
    const char *tz = getenv("TZ");
    int rc = KRC_ENOTFOUND;
    if (!tz) {
        rc = load_from("/etc/", "localtime", out, err);
    } else if (*tz) {
        if (*tz == ':')
            tz++;
        if (*tz == '/')
            rc = load_from("", tz, out, err);
        else if (*tz && strcmp(tz, "UTC") != 0)
            rc = load_zone_from_sources(tz, out, err);
    }
    if (rc == 0 || rc == KRC_ENOMEM)
        return rc;
    krc_error_clear(err);
    *out = tz_fixed(0);
    return *out ? 0 : krc_error_set(err, KRC_ENOMEM, "time zone: out of memory");
}

/* Go's time.LoadLocation. */
static int load_location(const char *name, struct tz **out, struct krc_error *err)
{
    *out = NULL;
    if (!name || !*name || strcmp(name, "UTC") == 0) {
        *out = tz_fixed(0);
        return *out ? 0 : krc_error_set(err, KRC_ENOMEM, "time zone: out of memory");
    }
    if (strcmp(name, "Local") == 0)
        return load_local(out, err);
    if (strstr(name, "..") || name[0] == '/' || name[0] == '\\')
        return krc_error_set(err, KRC_EINVAL, "time: invalid location name");
    int rc = load_zone_from_sources(name, out, err);
    if (rc == KRC_ENOTFOUND || rc == KRC_ETOOLARGE)
        return krc_error_set(err, KRC_EINVAL, "unknown time zone %s", name);
    if (rc == KRC_EIO)
        return krc_error_set(err, KRC_EIO, "time zone %s: cannot read its file", name);
    return rc;
}

int cron_check_zone(const char *name, struct krc_error *err)
{
    struct tz *z = NULL;
    int rc = load_location(name, &z, err);
    tz_free(z);
    return rc;
}

/* ---- parsing (robfig parser.go) ------------------------------------------------------------- */

struct bounds {
    unsigned min, max;
    const char *const *names; /* names[i] is value i (lower case), NULL-terminated */
};

static const char *const month_names[] = {"",    "jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
static const struct bounds b_minute = {0, 59, NULL};
static const struct bounds b_hour = {0, 23, NULL};
static const struct bounds b_dom = {1, 31, NULL};
static const struct bounds b_month = {1, 12, month_names};
static const struct bounds b_dow = {0, 6, dow_names};

struct cron_schedule {
    bool every;
    int64_t every_s;
    uint64_t minute, hour, dom, month, dow; /* seconds are always {0} in the standard parser */
    struct tz *loc;
};

/* Go's strconv.Quote for the short ASCII texts that appear in these messages. */
static void go_quote(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap < 3) {
        if (cap)
            out[0] = '\0';
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* strconv.Atoi then the negative check (robfig mustParseInt). */
static int must_parse_int(const char *s, size_t n, int64_t *out, struct krc_error *err)
{
    char q[FIELDS_SHOWN_MAX];
    size_t i = 0;
    bool neg = false;
    uint64_t v = 0;
    go_quote(s, n, q, sizeof(q));
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        goto syntax;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            goto syntax;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > ((uint64_t)INT64_MAX + (neg ? 1 : 0) - d) / 10) {
            for (; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                    goto syntax;
            }
            return krc_error_set(err, KRC_EINVAL,
                                 "failed to parse int from %.*s: strconv.Atoi: parsing %s: value "
                                 "out of range",
                                 (int)n, s, q);
        }
        v = v * 10 + d;
    }
    if (neg && v > 0)
        return krc_error_set(err, KRC_EINVAL, "negative number (-%llu) not allowed: %.*s",
                             (unsigned long long)v, (int)n, s);
    *out = (int64_t)v;
    return 0;
syntax:
    return krc_error_set(err, KRC_EINVAL,
                         "failed to parse int from %.*s: strconv.Atoi: parsing %s: invalid syntax",
                         (int)n, s, q);
}

static int int_or_name(const char *s, size_t n, const struct bounds *b, int64_t *out,
                       struct krc_error *err)
{
    if (b->names) {
        for (size_t i = 0; b->names[i]; i++) {
            if (b->names[i][0] && strlen(b->names[i]) == n && strncasecmp(s, b->names[i], n) == 0) {
                *out = (int64_t)i;
                return 0;
            }
        }
    }
    return must_parse_int(s, n, out, err);
}

static size_t count_char(const char *s, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

static const char *find_char(const char *s, size_t n, char c)
{
    return memchr(s, c, n);
}

/* One range expression "number | number-number [/step] | * [/step]" (robfig getRange). */
static int get_range(const char *e, size_t n, const struct bounds *b, uint64_t *bits,
                     struct krc_error *err)
{
    int64_t start, end, step = 1;
    uint64_t extra = 0;
    int rc;

    size_t slashes = count_char(e, n, '/');
    const char *slash = find_char(e, n, '/');
    size_t rlen = slash ? (size_t)(slash - e) : n; /* the range part, before the first '/' */
    size_t hyphens = count_char(e, rlen, '-');
    const char *hy = find_char(e, rlen, '-');
    size_t lowlen = hy ? (size_t)(hy - e) : rlen;
    bool single = hyphens == 0;

    if ((lowlen == 1 && (e[0] == '*' || e[0] == '?'))) {
        start = b->min;
        end = b->max;
        extra = STAR_BIT;
    } else {
        if ((rc = int_or_name(e, lowlen, b, &start, err)))
            return rc;
        if (hyphens == 0) {
            end = start;
        } else if (hyphens == 1) {
            if ((rc = int_or_name(hy + 1, rlen - lowlen - 1, b, &end, err)))
                return rc;
        } else {
            return krc_error_set(err, KRC_EINVAL, "too many hyphens: %.*s", (int)n, e);
        }
    }
    if (slashes == 1) {
        if ((rc = must_parse_int(slash + 1, n - rlen - 1, &step, err)))
            return rc;
        if (single)
            end = b->max; /* "N/step" means "N-max/step" */
        if (step > 1)
            extra = 0;
    } else if (slashes > 1) {
        return krc_error_set(err, KRC_EINVAL, "too many slashes: %.*s", (int)n, e);
    }
    if (start < b->min)
        return krc_error_set(err, KRC_EINVAL, "beginning of range (%lld) below minimum (%u): %.*s",
                             (long long)start, b->min, (int)n, e);
    if (end > b->max)
        return krc_error_set(err, KRC_EINVAL, "end of range (%lld) above maximum (%u): %.*s",
                             (long long)end, b->max, (int)n, e);
    if (start > end)
        return krc_error_set(err, KRC_EINVAL,
                             "beginning of range (%lld) beyond end of range (%lld): %.*s",
                             (long long)start, (long long)end, (int)n, e);
    if (step == 0)
        return krc_error_set(err, KRC_EINVAL, "step of range should be a positive number: %.*s",
                             (int)n, e);
    uint64_t v = 0;
    for (int64_t i = start; i <= end; i += step) {
        v |= UINT64_C(1) << i;
        if (step > end - i)
            break;
    }
    *bits = v | extra;
    return 0;
}

/* A comma list of ranges; empty items are skipped (strings.FieldsFunc). */
static int get_field(const char *f, size_t n, const struct bounds *b, uint64_t *bits,
                     struct krc_error *err)
{
    *bits = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && f[j] != ',')
            j++;
        if (j > i) {
            uint64_t v = 0;
            int rc = get_range(f + i, j - i, b, &v, err);
            if (rc)
                return rc;
            *bits |= v;
        }
        i = j + 1;
    }
    return 0;
}

/* Go's time.ParseDuration, to whole nanoseconds (int64). */
static int parse_go_duration(const char *s, int64_t *ns_out, struct krc_error *err)
{
    static const struct {
        const char *unit;
        int64_t ns;
    } units[] = {{"ns", 1},
                 {"us", 1000},
                 {"\xc2\xb5s", 1000},
                 {"\xce\xbcs", 1000},
                 {"ms", 1000000},
                 {"s", NS_PER_SECOND},
                 {"m", 60 * NS_PER_SECOND},
                 {"h", 3600 * NS_PER_SECOND}};
    char q[FIELDS_SHOWN_MAX];
    const char *p = s;
    bool neg = false;
    uint64_t total = 0;

    go_quote(s, strlen(s), q, sizeof(q));
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *ns_out = 0;
        return 0;
    }
    if (!*p)
        return krc_error_set(err, KRC_EINVAL, "time: invalid duration %s", q);
    while (*p) {
        uint64_t v = 0, frac = 0, scale = 1;
        bool pre = false, post = false, overflow = false;
        if (!(*p == '.' || isdigit((unsigned char)*p)))
            return krc_error_set(err, KRC_EINVAL, "time: invalid duration %s", q);
        while (isdigit((unsigned char)*p)) {
            if (v > (UINT64_C(1) << 63) / 10)
                overflow = true;
            v = v * 10 + (uint64_t)(*p++ - '0');
            if (v > (UINT64_C(1) << 63))
                overflow = true;
            pre = true;
        }
        if (overflow)
            return krc_error_set(err, KRC_EINVAL, "time: invalid duration %s", q);
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char)*p)) {
                if (scale < UINT64_C(1000000000000000000)) {
                    frac = frac * 10 + (uint64_t)(*p - '0');
                    scale *= 10;
                }
                p++;
                post = true;
            }
        }
        if (!pre && !post)
            return krc_error_set(err, KRC_EINVAL, "time: invalid duration %s", q);
        const char *u = p;
        while (*p && *p != '.' && !isdigit((unsigned char)*p))
            p++;
        size_t ulen = (size_t)(p - u);
        if (ulen == 0)
            return krc_error_set(err, KRC_EINVAL, "time: missing unit in duration %s", q);
        int64_t unit = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strlen(units[i].unit) == ulen && memcmp(units[i].unit, u, ulen) == 0)
                unit = units[i].ns;
        }
        if (!unit) {
            char uq[FIELDS_SHOWN_MAX];
            go_quote(u, ulen, uq, sizeof(uq));
            return krc_error_set(err, KRC_EINVAL, "time: unknown unit %s in duration %s", uq, q);
        }
        if (v > (UINT64_C(1) << 63) / (uint64_t)unit)
            return krc_error_set(err, KRC_EINVAL, "time: invalid duration %s", q);
        v *= (uint64_t)unit;
        if (frac) {
            v += (uint64_t)((long double)frac * (long double)unit / (long double)scale);
            if (v > (UINT64_C(1) << 63))
                return krc_error_set(err, KRC_EINVAL, "time: invalid duration %s", q);
        }
        total += v;
        if (total > (UINT64_C(1) << 63))
            return krc_error_set(err, KRC_EINVAL, "time: invalid duration %s", q);
    }
    if (!neg && total > (uint64_t)INT64_MAX)
        return krc_error_set(err, KRC_EINVAL, "time: invalid duration %s", q);
    *ns_out = neg ? (int64_t)(0 - total) : (int64_t)total;
    return 0;
}

static int parse_descriptor(const char *d, struct cron_schedule *s, struct krc_error *err)
{
    const uint64_t all_hours = (UINT64_C(1) << 24) - 1, all_dom = ((UINT64_C(1) << 32) - 2),
                   all_months = ((UINT64_C(1) << 13) - 2), all_dow = (UINT64_C(1) << 7) - 1;
    s->minute = 1;
    s->hour = 1;
    s->dom = all_dom | STAR_BIT;
    s->month = all_months | STAR_BIT;
    s->dow = all_dow | STAR_BIT;
    if (strcmp(d, "@yearly") == 0 || strcmp(d, "@annually") == 0) {
        s->dom = UINT64_C(1) << 1;
        s->month = UINT64_C(1) << 1;
    } else if (strcmp(d, "@monthly") == 0) {
        s->dom = UINT64_C(1) << 1;
    } else if (strcmp(d, "@weekly") == 0) {
        s->dow = 1;
    } else if (strcmp(d, "@daily") == 0 || strcmp(d, "@midnight") == 0) {
        /* midnight every day */
    } else if (strcmp(d, "@hourly") == 0) {
        s->hour = all_hours | STAR_BIT;
    } else if (strncmp(d, "@every ", 7) == 0) {
        struct krc_error why = {0};
        int64_t ns = 0;
        if (parse_go_duration(d + 7, &ns, &why))
            return krc_error_set(err, KRC_EINVAL, "failed to parse duration %s: %s", d, why.msg);
        if (ns < NS_PER_SECOND)
            ns = NS_PER_SECOND;
        s->every = true;
        s->every_s = ns / NS_PER_SECOND;
    } else {
        return krc_error_set(err, KRC_EINVAL, "unrecognized descriptor: %s", d);
    }
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* "[f1 f2 ...]" as Go prints a []string. */
static void fields_text(const char *const *f, const size_t *len, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    o += (size_t)snprintf(out + o, cap - o, "[");
    for (size_t i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%.*s", i ? " " : "", (int)len[i], f[i]);
    if (o < cap)
        snprintf(out + o, cap - o, "]");
}

static int parse_fields(const char *spec, struct cron_schedule *s, struct krc_error *err)
{
#define MAX_SHOWN_FIELDS 64
    const char *f[MAX_SHOWN_FIELDS];
    size_t len[MAX_SHOWN_FIELDS], n = 0, total = 0;
    const char *p = spec;
    while (*p) {
        while (*p && is_space(*p))
            p++;
        if (!*p)
            break;
        const char *q = p;
        while (*q && !is_space(*q))
            q++;
        if (n < MAX_SHOWN_FIELDS) {
            f[n] = p;
            len[n] = (size_t)(q - p);
            n++;
        }
        total++;
        p = q;
    }
    if (total != FIELD_COUNT) {
        char shown[FIELDS_SHOWN_MAX];
        fields_text(f, len, n, shown, sizeof(shown));
        return krc_error_set(err, KRC_EINVAL, "expected exactly %d fields, found %zu: %s",
                             FIELD_COUNT, total, shown);
    }
    const struct bounds *b[FIELD_COUNT] = {&b_minute, &b_hour, &b_dom, &b_month, &b_dow};
    uint64_t *dst[FIELD_COUNT] = {&s->minute, &s->hour, &s->dom, &s->month, &s->dow};
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        int rc = get_field(f[i], len[i], b[i], dst[i], err);
        if (rc)
            return rc;
    }
    return 0;
#undef MAX_SHOWN_FIELDS
}

int cron_parse(const char *spec, const char *zone, struct cron_schedule **out,
               struct krc_error *err)
{
    struct cron_schedule *s = NULL;
    char *copy = NULL;
    int rc;

    *out = NULL;
    if (!spec || !*spec)
        return krc_error_set(err, KRC_EINVAL, "empty spec string");
    if (!(s = calloc(1, sizeof(*s))))
        goto oom;
    const char *rest = spec;
    if (strncmp(spec, "TZ=", 3) == 0 || strncmp(spec, "CRON_TZ=", 8) == 0) {
        const char *sp = strchr(spec, ' ');
        const char *eq = strchr(spec, '=');
        if (!sp) {
            /* robfig slices spec[eq+1:-1] here and panics; report it instead. */
            rc = krc_error_set(err, KRC_EINVAL, "provided bad location %s: no schedule after it",
                               eq + 1);
            goto fail;
        }
        char name[TZ_NAME_MAX];
        size_t nlen = (size_t)(sp - (eq + 1));
        if (nlen >= sizeof(name)) {
            rc = krc_error_set(err, KRC_EINVAL, "provided bad location %.*s: unknown time zone",
                               (int)nlen, eq + 1);
            goto fail;
        }
        memcpy(name, eq + 1, nlen);
        name[nlen] = '\0';
        struct krc_error why = {0};
        if ((rc = load_location(name, &s->loc, &why))) {
            rc = krc_error_set(err, rc, "provided bad location %s: %s", name, why.msg);
            goto fail;
        }
        rest = sp;
        while (*rest && is_space(*rest))
            rest++;
        if (!(copy = strdup(rest)))
            goto oom;
        size_t l = strlen(copy);
        while (l > 0 && is_space(copy[l - 1]))
            copy[--l] = '\0';
        rest = copy;
    } else if ((rc = load_location(zone && *zone ? zone : "Local", &s->loc, err))) {
        goto fail;
    }
    if (rest[0] == '@')
        rc = parse_descriptor(rest, s, err);
    else
        rc = parse_fields(rest, s, err);
    if (rc)
        goto fail;
    free(copy);
    *out = s;
    return 0;
oom:
    rc = krc_error_set(err, KRC_ENOMEM, "cron: out of memory");
fail:
    free(copy);
    cron_free(s);
    return rc;
}

void cron_free(struct cron_schedule *s)
{
    if (!s)
        return;
    tz_free(s->loc);
    free(s);
}

/* ---- Next (robfig spec.go) ------------------------------------------------------------------ */

static bool day_matches(const struct cron_schedule *s, const struct civil *c)
{
    bool dom = (UINT64_C(1) << c->day & s->dom) != 0;
    bool dow = (UINT64_C(1) << c->wday & s->dow) != 0;
    if ((s->dom & STAR_BIT) || (s->dow & STAR_BIT))
        return dom && dow;
    return dom || dow;
}

int64_t cron_next(const struct cron_schedule *s, int64_t t)
{
    const struct tz *z = s->loc;
    struct civil c;

    if (s->every)
        return t + s->every_s;
    t += 1; /* the earliest possible time: the upcoming second */
    bool added = false;
    tz_civil(z, t, &c);
    int64_t year_limit = c.year + SEARCH_YEARS;

wrap:
    tz_civil(z, t, &c);
    if (c.year > year_limit)
        return CRON_NEVER;
    while (!(UINT64_C(1) << c.month & s->month)) {
        if (!added) {
            added = true;
            t = tz_date(z, c.year, c.month, 1, 0, 0, 0);
            tz_civil(z, t, &c);
        }
        t = tz_date(z, c.year, c.month + 1, c.day, c.hour, c.min, c.sec);
        tz_civil(z, t, &c);
        if (c.month == 1)
            goto wrap;
    }
    while (!day_matches(s, &c)) {
        if (!added) {
            added = true;
            t = tz_date(z, c.year, c.month, c.day, 0, 0, 0);
            tz_civil(z, t, &c);
        }
        t = tz_date(z, c.year, c.month, c.day + 1, c.hour, c.min, c.sec);
        tz_civil(z, t, &c);
        /* Midnight may not exist (DST): move back to it or forward to the next one. */
        if (c.hour != 0) {
            if (c.hour > 12)
                t += (int64_t)(24 - c.hour) * SECONDS_PER_HOUR;
            else
                t -= (int64_t)c.hour * SECONDS_PER_HOUR;
            tz_civil(z, t, &c);
        }
        if (c.day == 1)
            goto wrap;
    }
    while (!(UINT64_C(1) << c.hour & s->hour)) {
        if (!added) {
            added = true;
            t = tz_date(z, c.year, c.month, c.day, c.hour, 0, 0);
        }
        t += SECONDS_PER_HOUR;
        tz_civil(z, t, &c);
        if (c.hour == 0)
            goto wrap;
    }
    while (!(UINT64_C(1) << c.min & s->minute)) {
        if (!added) {
            added = true;
            t = floor_div(t, SECONDS_PER_MIN) * SECONDS_PER_MIN;
        }
        t += SECONDS_PER_MIN;
        tz_civil(z, t, &c);
        if (c.min == 0)
            goto wrap;
    }
    while (c.sec != 0) { /* the standard parser's seconds field is "0" */
        added = true;
        t += 1;
        tz_civil(z, t, &c);
        if (c.sec == 0)
            goto wrap;
    }
    return t;
}
