/* generic_version.h - "generic" version numbers as Kubernetes' util/version.ParseGeneric reads
 * them, used for KubeRay's Ray-version gates (token auth >= 2.52.0, HTTP probes >= 2.53.0, worker
 * priority >= 2.56.0).
 *
 * Accepted: optional surrounding whitespace, an optional leading 'v', at least two dot-separated
 * decimal components (the first without a leading zero), then arbitrary trailing text, which is
 * ignored. "nightly" and "2" do not parse. Comparison is numeric per component, missing ones
 * counting as 0. Parse errors carry apimachinery's wording because KubeRay embeds them in its
 * validation messages. */
#ifndef KRC_API_GENERIC_VERSION_H
#define KRC_API_GENERIC_VERSION_H

#include "util/error.h"

#include <stddef.h>

#define GENERIC_VERSION_MAX_COMPONENTS 8

struct generic_version {
    size_t n;
    unsigned long long c[GENERIC_VERSION_MAX_COMPONENTS];
};

/* 0, or KRC_EINVAL with err->msg holding the apimachinery error text (no object prefix). */
int generic_version_parse(const char *s, struct generic_version *out, struct krc_error *err);
/* <0, 0, >0 like strcmp. */
int generic_version_cmp(const struct generic_version *a, const struct generic_version *b);
/* True when s parses and is >= major.minor.patch. */
int generic_version_at_least(const char *s, unsigned major, unsigned minor, unsigned patch);

#endif
