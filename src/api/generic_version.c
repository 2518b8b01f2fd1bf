/* generic_version.c - util/version.ParseGeneric semantics (see generic_version.h). Components past
 * GENERIC_VERSION_MAX_COMPONENTS are parsed and range-checked but not kept; no real version has
 * that many, and keeping a fixed array keeps the type allocation-free. */
#include "api/generic_version.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int generic_version_parse(const char *s, struct generic_version *out, struct krc_error *err)
{
    const char *p = s;
    memset(out, 0, sizeof(*out));
    while (*p && isspace((unsigned char)*p))
        p++;
    if (*p == 'v')
        p++;
    if (!isdigit((unsigned char)*p))
        return krc_error_set(err, KRC_EINVAL, "could not parse \"%s\" as version", s);
    size_t count = 0;
    for (;;) {
        const char *start = p;
        while (isdigit((unsigned char)*p))
            p++;
        size_t len = (size_t)(p - start);
        if (count == 0 && len > 1 && start[0] == '0')
            return krc_error_set(err, KRC_EINVAL,
                                 "illegal zero-prefixed version component \"%.*s\" in \"%s\"",
                                 (int)len, start, s);
        errno = 0;
        unsigned long long v = strtoull(start, NULL, 10);
        if (errno == ERANGE)
            return krc_error_set(err, KRC_EINVAL,
                                 "illegal non-numeric version component \"%.*s\" in \"%s\": "
                                 "strconv.ParseUint: parsing \"%.*s\": value out of range",
                                 (int)len, start, s, (int)len, start);
        if (count < GENERIC_VERSION_MAX_COMPONENTS)
            out->c[count] = v;
        count++;
        /* Another component only if a digit follows the dot; "2.5.x" stops at "2.5". */
        if (p[0] == '.' && isdigit((unsigned char)p[1]))
            p++;
        else
            break;
    }
    if (count < 2)
        return krc_error_set(err, KRC_EINVAL, "illegal version string \"%s\"", s);
    out->n = count < GENERIC_VERSION_MAX_COMPONENTS ? count : GENERIC_VERSION_MAX_COMPONENTS;
    return 0;
}

int generic_version_cmp(const struct generic_version *a, const struct generic_version *b)
{
    size_t n = a->n > b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        unsigned long long x = i < a->n ? a->c[i] : 0, y = i < b->n ? b->c[i] : 0;
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

int generic_version_at_least(const char *s, unsigned major, unsigned minor, unsigned patch)
{
    struct generic_version v, min = {3, {major, minor, patch}};
    if (!s || generic_version_parse(s, &v, NULL) != 0)
        return 0;
    return generic_version_cmp(&v, &min) >= 0;
}
