/* raycluster_names.c - KubeRay name helpers (see raycluster_names.h).
 *
 * KubeRay tests "is the first byte a digit / punctuation" with unicode.IsDigit/IsPunct on the
 * first byte widened to a rune, so only ASCII digits count as digits and the punctuation set is
 * Unicode's P* categories restricted to code points below 256. We reproduce that set exactly. */
#include "controller/raycluster_names.h"

#include "api/kobj.h"

#include <stdio.h>
#include <string.h>

static bool is_punct_byte(unsigned char c)
{
    if (c < 0x80)
        return c != '\0' && strchr("!\"#%&'()*,-./:;?@[\\]_{}", c) != NULL;
    /* Latin-1 punctuation: U+00A1 U+00A7 U+00AB U+00B6 U+00B7 U+00BB U+00BF */
    return c == 0xa1 || c == 0xa7 || c == 0xab || c == 0xb6 || c == 0xb7 || c == 0xbb || c == 0xbf;
}

static char *keep_tail(const char *s, size_t max, char *out)
{
    size_t len = strlen(s);
    const char *start = len > max ? s + (len - max) : s;
    snprintf(out, RAYNAME_MAX, "%s", start);
    return out;
}

char *rayname_check_name(const char *s, char *out)
{
    keep_tail(s, 50, out);
    if (out[0] >= '0' && out[0] <= '9')
        out[0] = 'r';
    if (is_punct_byte((unsigned char)out[0]))
        out[0] = 'r';
    return out;
}

char *rayname_check_label(const char *s, char *out)
{
    keep_tail(s, 63, out);
    if (is_punct_byte((unsigned char)out[0]))
        out[0] = 'r';
    return out;
}

char *rayname_pod_name(const char *prefix, enum ray_node_type t, bool generate, char *out)
{
    size_t len = strlen(prefix);
    if (len > 50)
        len = 50;
    snprintf(out, RAYNAME_MAX, "%.*s-%s%s", (int)len, prefix, ray_node_type_name(t),
             generate ? "-" : "");
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return out;
}

char *rayname_identifier(const char *cluster, enum ray_node_type t, char *out)
{
    char tmp[RAYNAME_MAX];
    snprintf(tmp, sizeof(tmp), "%.400s-%s", cluster, ray_node_type_name(t));
    return rayname_check_label(tmp, out);
}

char *rayname_head_service(const struct raycluster *rc, char *out)
{
    const char *custom = kobj_path_str(rc->spec.head.head_service, "metadata.name");
    if (custom && *custom)
        snprintf(out, RAYNAME_MAX, "%s", custom);
    else
        snprintf(out, RAYNAME_MAX, "%.400s-head-svc", rc->meta.name);
    return out;
}

char *rayname_head_fqdn(const struct raycluster *rc, const char *domain, char *out)
{
    char svc[RAYNAME_MAX];
    rayname_head_service(rc, svc);
    snprintf(out, RAYNAME_MAX, "%.253s.%.63s.svc.%.150s", svc, rc->meta.ns,
             domain && *domain ? domain : "cluster.local");
    return out;
}

const char *rayname_autoscaler_sa(const struct raycluster *rc)
{
    const char *sa = kobj_path_str(rc->spec.head.template, "spec.serviceAccountName");
    return sa && *sa ? sa : rc->meta.name;
}
