/* gen.h - the RayCluster kubectl-ray generates (spec kubectl-ray.md §3), from a small model
 * filled by `create cluster` (flags or --file) and `job submit`. Pure: no I/O (gen.c). */
#ifndef KRC_CLI_GEN_H
#define KRC_CLI_GEN_H

#include "cli/cli.h"

/* Every string may be NULL or "" for "not set"; maps may be NULL or empty. */
struct cli_group_model {
    const char *name; /* NULL or "": default-group, default-group-<index> */
    long long replicas;
    bool has_hosts;
    long long num_of_hosts;
    const char *cpu, *gpu, *tpu, *memory, *ephemeral;
    const json_t *ray_start_params, *node_selectors;
};

struct cli_head_model {
    const char *cpu, *gpu, *memory, *ephemeral;
    const json_t *ray_start_params, *node_selectors;
};

struct cli_gcsfuse_model { /* [NICHE] GKE Cloud Storage FUSE, config file only */
    const char *bucket_name, *mount_path, *mount_options;
    const json_t *disable_metrics, *metadata_prefetch, *skip_bucket_check; /* booleans or NULL */
    const char *cpu, *memory, *ephemeral;
    bool has_resources;
};

struct cli_cluster_model {
    const char *name, *namespace;
    const json_t *labels, *annotations;
    const char *ray_version, *image, *service_account;
    const char *autoscaler; /* "v1", "v2" or NULL */
    struct cli_head_model head;
    const struct cli_group_model *groups;
    size_t ngroups;
    const struct cli_gcsfuse_model *gcsfuse; /* NULL for none */
};

/* spec of the RayCluster (rayVersion, headGroupSpec, workerGroupSpecs, autoscaler). Quantities
 * must be valid (checked by the caller with cli_validate_quantity): an invalid one is
 * KRC_EINVAL. *out is a new reference. */
int cli_gen_cluster_spec(const struct cli_cluster_model *m, json_t **out, struct krc_error *err);
/* The whole object: apiVersion ray.io/v1, kind RayCluster, metadata, spec. */
int cli_gen_cluster(const struct cli_cluster_model *m, json_t **out, struct krc_error *err);

/* §4.1 rule 4: 0, or CLI_FAIL with "<name> is not a valid resource quantity: ..." /
 * "<name> cannot be negative" in cause. */
int cli_validate_quantity(const char *value, const char *name, char *cause, size_t size);
/* §4.1 rule 5: the TPU rule for one worker group; flag names the selectors' flag in messages
 * ("--worker-node-selectors"). */
int cli_validate_tpu(const char *tpu, bool hosts_known, long long hosts, const json_t *selectors,
                     char *cause, size_t size);

/* The dry-run text: YAML of obj followed by an empty line. */
int cli_gen_dry_run(const json_t *obj, struct krc_strbuf *out, struct krc_error *err);

#endif
