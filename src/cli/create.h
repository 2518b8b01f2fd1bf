/* create.h - the cluster config file of `create cluster --file` (spec kubectl-ray.md §4.1.1),
 * parsed into the generator's model (create.c). */
#ifndef KRC_CLI_CREATE_H
#define KRC_CLI_CREATE_H

#include "cli/gen.h"

/* A parsed config file. model's strings and maps point into doc and texts (owned here). */
struct cli_config {
    struct cli_cluster_model model;
    const char *name, *namespace; /* from the file; NULL when absent */
    struct cli_group_model *groups;
    struct cli_gcsfuse_model gcsfuse;
    json_t *doc;   /* the file as JSON */
    json_t *texts; /* strings made from non-string scalars, and converted maps */
};

/* Parses the file text over KubeRay's defaults (§4.1.1). CLI_FAIL with the YAML error in cause
 * (unknown fields as go-yaml's "yaml: unmarshal errors:\n  line N: field x not found in type
 * generation.T"). Release c even on failure. */
int cli_config_parse(const char *text, size_t len, struct cli_config *c, char *cause, size_t size);
/* The file checks in KubeRay's order: quantities, the TPU rule per group, GCS FUSE. */
int cli_config_validate(const struct cli_config *c, char *cause, size_t size);
void cli_config_release(struct cli_config *c);

#endif
