/* jobgen.h - the pure parts of `job submit` (spec kubectl-ray.md §4.8): the generated RayJob,
 * the entrypoint's shell-like splitting, the `ray job submit` argument vector, submission IDs
 * and Go's lexical path cleaning (jobgen.c). */
#ifndef KRC_CLI_JOBGEN_H
#define KRC_CLI_JOBGEN_H

#include "cli/gen.h"

/* The generated RayJob (§4.8 Run rule 2). cluster supplies rayClusterSpec (no metadata used). */
struct cli_job_model {
    const char *name, *namespace, *entrypoint, *job_id;
    long long ttl_seconds;
    bool shutdown_after_finish;
    const struct cli_cluster_model *cluster;
};
int cli_gen_rayjob(const struct cli_job_model *m, json_t **out, struct krc_error *err);

/* Splits an entrypoint into words (go-shellquote rules, §4.8 Run rule 8). *words is a new array
 * of strings. CLI_FAIL with "EOF found when expecting closing quote" / "EOF found after escape
 * character" in cause. */
int cli_shell_split(const char *s, json_t **words, char *cause, size_t size);

/* What the `ray job submit` vector is built from (empty strings and zeros are left out). */
struct cli_submit_opts {
    const char *address, *runtime_env, *runtime_env_json, *submission_id;
    double entrypoint_num_cpus, entrypoint_num_gpus;
    long long entrypoint_memory;
    const char *entrypoint_resources, *metadata_json;
    bool no_wait;
    const char *headers, *verify, *log_style, *log_color;
    bool verbose;
    const char *working_dir, *entrypoint;
};
/* argv of the child, starting with "ray"; a new array of strings. */
int cli_submit_argv(const struct cli_submit_opts *o, json_t **argv, char *cause, size_t size);

#define CLI_SUBMISSION_ID_PREFIX "raysubmit_"
#define CLI_SUBMISSION_ID_LEN    16
/* "raysubmit_" + 16 characters from the crypto RNG; buf needs 27 bytes. KRC_EIO on RNG failure. */
int cli_submission_id(char *buf, size_t size);

/* Go's filepath.Clean: "./a//b.yaml" -> "a/b.yaml", "" -> ".". out needs strlen(p) + 2 bytes. */
void cli_path_clean(const char *p, char *out, size_t size);

#endif
