/* scale.h - the pure checks and the spec change of `scale cluster` (scale.c). */
#ifndef KRC_CLI_SCALE_H
#define KRC_CLI_SCALE_H

#include "cli/cli.h"

#define CLI_SCALE_UNSET (-1LL) /* a value of exactly -1 means "not given" */

struct cli_scale_req {
    long long replicas, min, max;
};

/* The flag checks of §4.10 rule 2 (worker group name given and non-empty already checked):
 * 0, or CLI_FAIL with KubeRay's message in cause. */
int cli_scale_validate(const struct cli_scale_req *r, char *cause, size_t size);
/* Applies the request to a worker group object (rules 5-6): writes the changed fields, appends
 * "Scaled ...: a to b" texts joined by ", " to changes. Returns 1 if anything changed, 0 if not,
 * CLI_FAIL (group untouched) with the final-combination message in cause. */
int cli_scale_apply(json_t *group, const struct cli_scale_req *r, struct krc_strbuf *changes,
                    char *cause, size_t size);

#endif
