/* rayservice_validate.c - controller-side RayService validation (spec rayservice.md §3.3) in
 * KubeRay's order with KubeRay's messages, and Go's duration syntax, which the
 * ray.io/initializing-timeout annotation uses (time.ParseDuration and Duration.String).
 *
 * The messages are behaviour (they reach events and the Ready condition), so they are spelled
 * exactly as KubeRay prints them. */
#include "api/rayservice.h"

#include "api/k8s_validation.h"
#include "api/kobj.h"
#include "api/valctx.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define META_INVALID "The RayService metadata is invalid: "
#define SPEC_INVALID "The RayService spec is invalid: "
#define NS_PER_S     INT64_C(1000000000)

/* --- Go durations ---------------------------------------------------------------------------- */

struct go_unit {
    const char *name;
    uint64_t ns;
};

static const struct go_unit UNITS[] = {
    {"ns", 1},           {"us", 1000},    {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000},                                       /* U+03BC Greek mu */
    {"ms", 1000000},     {"s", NS_PER_S}, {"m", 60 * NS_PER_S}, {"h", 3600 * NS_PER_S},
};

int rayservice_parse_go_duration(const char *s, int64_t *ns)
{
    bool neg = false;
    uint64_t total = 0;
    if (!s || !*s)
        return KRC_EINVAL;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (!*s)
        return KRC_EINVAL;
    while (*s) {
        uint64_t whole = 0, frac = 0, scale = 1;
        bool digits = false;
        if (!(*s == '.' || (*s >= '0' && *s <= '9')))
            return KRC_EINVAL;
        for (; *s >= '0' && *s <= '9'; s++, digits = true) {
            if (whole > (UINT64_C(1) << 63) / 10)
                return KRC_EINVAL;
            whole = whole * 10 + (uint64_t)(*s - '0');
            if (whole > UINT64_C(1) << 63)
                return KRC_EINVAL;
        }
        if (*s == '.') {
            for (s++; *s >= '0' && *s <= '9'; s++, digits = true) {
                if (scale < UINT64_C(1000000000000000000)) { /* extra digits are dropped */
                    frac = frac * 10 + (uint64_t)(*s - '0');
                    scale *= 10;
                }
            }
        }
        if (!digits)
            return KRC_EINVAL;
        const char *u = s;
        while (*s && *s != '.' && !(*s >= '0' && *s <= '9'))
            s++;
        size_t ulen = (size_t)(s - u);
        const struct go_unit *unit = NULL;
        for (size_t i = 0; i < sizeof(UNITS) / sizeof(UNITS[0]); i++)
            if (strlen(UNITS[i].name) == ulen && strncmp(UNITS[i].name, u, ulen) == 0)
                unit = &UNITS[i];
        if (!unit)
            return KRC_EINVAL; /* missing or unknown unit */
        if (whole > (UINT64_C(1) << 63) / unit->ns)
            return KRC_EINVAL;
        uint64_t v = whole * unit->ns;
        v += (uint64_t)((long double)frac * (long double)unit->ns / (long double)scale);
        total += v;
        if (v > UINT64_C(1) << 63 || total > UINT64_C(1) << 63)
            return KRC_EINVAL;
    }
    if (!neg && total > (uint64_t)INT64_MAX)
        return KRC_EINVAL;
    *ns = neg ? (int64_t)(0 - total) : (int64_t)total;
    return 0;
}

/* "<whole>[.<frac without trailing zeros>]" of v / div. */
static int add_fraction(struct krc_strbuf *out, uint64_t v, uint64_t div, int width)
{
    int r = krc_strbuf_addf(out, "%llu", (unsigned long long)(v / div));
    uint64_t f = v % div;
    if (r || f == 0)
        return r;
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%0*llu", width, (unsigned long long)f);
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    return krc_strbuf_addf(out, ".%s", buf);
}

int rayservice_format_go_duration(int64_t ns, struct krc_strbuf *out)
{
    uint64_t u = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
    int r = 0;
    if (ns == 0)
        return krc_strbuf_adds(out, "0s");
    if (ns < 0 && (r = krc_strbuf_addch(out, '-')))
        return r;
    if (u < 1000)
        return krc_strbuf_addf(out, "%lluns", (unsigned long long)u);
    if (u < 1000000)
        return (r = add_fraction(out, u, 1000, 3)) ? r : krc_strbuf_adds(out, "\xc2\xb5s");
    if (u < (uint64_t)NS_PER_S)
        return (r = add_fraction(out, u, 1000000, 6)) ? r : krc_strbuf_adds(out, "ms");
    uint64_t secs = u / (uint64_t)NS_PER_S, h = secs / 3600, m = secs / 60 % 60;
    uint64_t rest = u - (h * 3600 + m * 60) * (uint64_t)NS_PER_S;
    if (h && (r = krc_strbuf_addf(out, "%lluh", (unsigned long long)h)))
        return r;
    if ((h || m) && (r = krc_strbuf_addf(out, "%llum", (unsigned long long)m)))
        return r;
    return (r = add_fraction(out, rest, (uint64_t)NS_PER_S, 9)) ? r : krc_strbuf_addch(out, 's');
}

/* strconv.Atoi: optional sign and decimal digits, in the int64 range. */
static bool go_atoi(const char *s, long long *v)
{
    char *end;
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno == 0 && !*end;
}

bool rayservice_initializing_timeout(const struct rayservice *rs, int64_t *ns)
{
    const char *v = rayservice_annotation(rs, RAYSERVICE_ANNOTATION_INIT_TIMEOUT);
    long long secs;
    if (!v || !*v)
        return false;
    if (rayservice_parse_go_duration(v, ns) == 0)
        return *ns > 0;
    if (go_atoi(v, &secs) && secs > 0 && secs <= INT64_MAX / NS_PER_S) {
        *ns = (int64_t)secs * NS_PER_S;
        return true;
    }
    return false;
}

/* --- rules ----------------------------------------------------------------------------------- */

static int validate_timeout(struct valctx *v, const struct rayservice *rs)
{
    const char *t = rayservice_annotation(rs, RAYSERVICE_ANNOTATION_INIT_TIMEOUT);
    int64_t ns;
    long long secs;
    if (!t || !*t)
        return 0;
    if (rayservice_parse_go_duration(t, &ns) == 0) {
        if (ns <= 0)
            return valctx_reject(v,
                                 META_INVALID "RayService annotations is invalid: annotation "
                                              "%s must be a positive duration, got: %s",
                                 RAYSERVICE_ANNOTATION_INIT_TIMEOUT, t);
        return 0;
    }
    if (go_atoi(t, &secs)) {
        if (secs <= 0)
            return valctx_reject(v,
                                 META_INVALID "RayService annotations is invalid: annotation "
                                              "%s must be a positive integer (seconds), got: %s",
                                 RAYSERVICE_ANNOTATION_INIT_TIMEOUT, t);
        return 0;
    }
    return valctx_reject(v,
                         META_INVALID "RayService annotations is invalid: annotation %s has "
                                      "invalid format: %s. Expected Go duration format (e.g., "
                                      "'5m', '1h') or positive integer seconds",
                         RAYSERVICE_ANNOTATION_INIT_TIMEOUT, t);
}

int rayservice_validate_metadata(const struct rayservice *rs, struct krc_error *err,
                                 struct krc_strbuf *full)
{
    struct valctx v = {err, full};
    const char *name = rs->meta.name ? rs->meta.name : "";
    if (strlen(name) > RAYSERVICE_MAX_NAME_LEN)
        return valctx_reject(&v,
                             META_INVALID "RayService name should be no more than %d characters",
                             RAYSERVICE_MAX_NAME_LEN);
    struct k8sval_errs errs;
    k8sval_errs_init(&errs);
    k8sval_dns1035_label(name, &errs);
    if (errs.n) {
        char buf[K8SVAL_MAX_ERRS * K8SVAL_MSG_MAX];
        return valctx_reject(&v, META_INVALID "RayService name should be a valid DNS1035 label: %s",
                             k8sval_errs_format(&errs, buf, sizeof(buf)));
    }
    return validate_timeout(&v, rs);
}

/* §3.3 rule 9 [NICHE]. */
static int validate_upgrade_options(struct valctx *v, const struct rayservice *rs)
{
    const json_t *o = rs->spec.cluster_upgrade_options;
    json_t *surge = json_object_get(o, "maxSurgePercent");
    json_t *step = json_object_get(o, "stepSizePercent");
    json_t *interval = json_object_get(o, "intervalSeconds");
    const char *gw = kobj_str(o, "gatewayClassName");
    json_int_t ms = json_is_integer(surge) ? json_integer_value(surge) : 100;
    if (!raycluster_autoscaling_enabled(&rs->cluster))
        return valctx_reject(v, SPEC_INVALID
                             "Ray Autoscaler is required for NewClusterWithIncrementalUpgrade");
    if (!o)
        return valctx_reject(
            v,
            SPEC_INVALID "ClusterUpgradeOptions are required for NewClusterWithIncrementalUpgrade");
    if (ms < 0 || ms > 100)
        return valctx_reject(v, SPEC_INVALID "maxSurgePercent must be between 0 and 100");
    if (!json_is_integer(step) || json_integer_value(step) < 0 || json_integer_value(step) > 100)
        return valctx_reject(v, SPEC_INVALID "stepSizePercent must be between 0 and 100");
    if (json_integer_value(step) > ms)
        return valctx_reject(v, SPEC_INVALID "stepSizePercent must be less than or equal to "
                                             "maxSurgePercent");
    if (!json_is_integer(interval) || json_integer_value(interval) <= 0)
        return valctx_reject(v, SPEC_INVALID "intervalSeconds must be greater than 0");
    if (!gw || !*gw)
        return valctx_reject(v, SPEC_INVALID "gatewayClassName is required for "
                                             "NewClusterWithIncrementalUpgrade");
    return 0;
}

int rayservice_validate_spec(const struct rayservice *rs, const struct raycluster_gates *g,
                             bool incremental_gate, struct krc_error *err, struct krc_strbuf *full)
{
    struct valctx v = {err, full};
    const struct rayservice_spec *s = &rs->spec;
    int rc;
    if (!s->cluster_config) /* the CRD requires it; a document read from elsewhere may lack it */
        return valctx_reject(&v, SPEC_INVALID "spec.rayClusterConfig is required");
    if (raycluster_k8s_auth_enabled(&rs->cluster))
        return valctx_reject(&v, SPEC_INVALID
                             "K8s token auth mode is currently not supported for RayService");
    struct krc_error cerr = {0};
    struct krc_strbuf cfull = KRC_STRBUF_INIT;
    rc = raycluster_validate_spec(&rs->cluster, g, &cerr, &cfull);
    if (rc == KRC_ENOMEM)
        rc = valctx_oom(&v);
    else if (rc)
        rc = valctx_reject(&v, SPEC_INVALID "%s", cfull.len ? cfull.buf : cerr.msg);
    krc_strbuf_release(&cfull);
    if (rc)
        return rc;
    const char *hs = kobj_path_str(rs->cluster.spec.head.head_service, "metadata.name");
    if (hs && *hs)
        return valctx_reject(&v, SPEC_INVALID "spec.rayClusterConfig.headGroupSpec.headService."
                                              "metadata.name should not be set");
    const char *t = s->upgrade_type;
    if (t && strcmp(t, RAYSERVICE_UPGRADE_NONE) != 0 &&
        strcmp(t, RAYSERVICE_UPGRADE_NEW_CLUSTER) != 0 &&
        strcmp(t, RAYSERVICE_UPGRADE_INCREMENTAL) != 0)
        return valctx_reject(&v,
                             SPEC_INVALID "Spec.UpgradeStrategy.Type value %s is invalid, valid "
                                          "options are %s, %s, or %s",
                             t, RAYSERVICE_UPGRADE_INCREMENTAL, RAYSERVICE_UPGRADE_NEW_CLUSTER,
                             RAYSERVICE_UPGRADE_NONE);
    if (s->deletion_delay_seconds.set && s->deletion_delay_seconds.v < 0)
        return valctx_reject(&v,
                             SPEC_INVALID "Spec.RayClusterDeletionDelaySeconds should be a "
                                          "non-negative integer, got %d",
                             (int)s->deletion_delay_seconds.v);
    if (incremental_gate && t && strcmp(t, RAYSERVICE_UPGRADE_INCREMENTAL) == 0)
        return validate_upgrade_options(&v, rs);
    return 0;
}
