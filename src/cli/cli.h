/* cli.h - the internals shared by kubectl-ray's commands (spec kubectl-ray.md).
 *
 * kubectl-ray mirrors KubeRay's cobra/pflag command line: a tree of commands, each with a const
 * table of flag definitions; the parser (flags.c) turns argv into a struct cli_args holding every
 * flag's value, whether it was set on the command line, the positional words and the words after
 * "--". A command's run function receives that and a struct cli_ctx (the connection flags, the
 * lazily loaded kubeconfig and client, the output streams). Pure parts (flag parsing, tables,
 * YAML, the generated RayCluster, scaling checks) take no client and are unit-tested; the command
 * files are the thin I/O layer around them.
 *
 * Errors: a run function returns 0, or CLI_FAIL after writing the message into ctx->err (printed
 * by main.c as "Error: <message>", exit 1). Usage errors carry their "See '<path> -h'" line in the
 * message itself. Messages follow KubeRay's texts; an API error appears as the server's message
 * (cli_api_msg), as client-go renders it. */
#ifndef KRC_CLI_CLI_H
#define KRC_CLI_CLI_H

#include "kube/client.h"
#include "kube/config.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Built-in constants (§1.1). */
#define CLI_RAY_VERSION       "2.52.0"
#define CLI_RAY_IMAGE_REPO    "rayproject/ray"
#define CLI_RAY_IMAGE         CLI_RAY_IMAGE_REPO ":" CLI_RAY_VERSION
#define CLI_FIELD_MANAGER     "ray-kubectl-plugin"
#define CLI_DEFAULT_CPU       "2"
#define CLI_DEFAULT_MEMORY    "4Gi"
#define CLI_DEFAULT_GPU       "0"
#define CLI_DEFAULT_TPU       "0"
#define CLI_DEFAULT_REPLICAS  "1"
#define CLI_DEFAULT_HOSTS     "1"
#define CLI_MAX_REPLICAS      2147483647LL /* maxReplicas when unset */
#define CLI_ROOT              "ray"        /* the root command's name in help and messages */
#define CLI_VERSION_UNSTAMPED "development"

#define CLI_FAIL (-1)

#define CLI_LABEL_CLUSTER   "ray.io/cluster"
#define CLI_LABEL_NODE_TYPE "ray.io/node-type"
#define CLI_LABEL_GROUP     "ray.io/group"
#define CLI_LABEL_IS_NODE   "ray.io/is-ray-node"

#define CLI_RES_GPU "nvidia.com/gpu"
#define CLI_RES_TPU "google.com/tpu"

/* ---- flags (flags.c) ---- */

enum cli_flag_type {
    CLI_FLAG_BOOL,
    CLI_FLAG_STRING,
    CLI_FLAG_INT32,
    CLI_FLAG_INT,
    CLI_FLAG_FLOAT32,
    CLI_FLAG_DURATION, /* Go time.Duration text: "5m0s", "30s", "1h30m" */
    CLI_FLAG_MAP,      /* pflag stringToString: k=v,k2=v2 */
    CLI_FLAG_STRINGS,  /* repeatable string (stringArray) */
    CLI_FLAG_ENUM,     /* a string checked by a validator (autoscaler, node-type) */
};

/* Checks (and may rewrite, e.g. lower-case) an enum value; returns NULL when accepted, else the
 * cause printed in the invalid-argument envelope. out has room for the rewritten value. */
typedef const char *(*cli_enum_fn)(const char *value, char *out, size_t size);

struct cli_flagdef {
    const char *name;
    char shorthand; /* 0 for none */
    enum cli_flag_type type;
    const char *def; /* default value text (also shown in help); NULL = zero value */
    const char *usage;
    cli_enum_fn check; /* CLI_FLAG_ENUM only */
};

struct cli_flagval {
    const struct cli_flagdef *def;
    bool changed;  /* given on the command line (even to its default) */
    const char *s; /* string/enum value: argv memory, a default literal or enum_buf */
    long long i;   /* int32/int; duration in milliseconds; bool 0/1 */
    double f;
    json_t *map;       /* CLI_FLAG_MAP: object of strings (owned) */
    json_t *list;      /* CLI_FLAG_STRINGS: array of strings (owned) */
    char enum_buf[16]; /* rewritten enum values are short */
};

#define CLI_MAX_FLAGS 64

struct cli_args {
    struct cli_flagval flags[CLI_MAX_FLAGS];
    size_t nflags;
    const char **pos; /* positional words (owned array, argv strings) */
    size_t npos;
    const char **dash; /* words after "--" */
    size_t ndash;
    bool dash_seen;
    bool help; /* -h/--help given */
};

/* Parses argv[0..argc) against defs (command flags) followed by globals. On failure returns
 * CLI_FAIL with pflag's message in err ("unknown flag: --x", the invalid-argument envelope...). */
int cli_args_parse(struct cli_args *a, const struct cli_flagdef *defs, size_t ndefs,
                   const struct cli_flagdef *globals, size_t nglobals, int argc, char **argv,
                   struct krc_error *err);
void cli_args_release(struct cli_args *a);
/* The value of a flag by long name; NULL if the command has no such flag (a programming error). */
const struct cli_flagval *cli_flag(const struct cli_args *a, const char *name);
const char *cli_flag_str(const struct cli_args *a, const char *name); /* "" if unset */
long long cli_flag_int(const struct cli_args *a, const char *name);
bool cli_flag_bool(const struct cli_args *a, const char *name);
bool cli_flag_changed(const struct cli_args *a, const char *name);

/* pflag stringToString parsing of one occurrence into map (merged; later keys win). Returns NULL
 * or the offending entry's cause ("a must be formatted as key=value") written into cause. */
int cli_parse_map(const char *value, json_t *map, char *cause, size_t size);
/* Go time.ParseDuration; milliseconds. -1 on a malformed value. */
int cli_parse_duration(const char *s, long long *ms);
/* strconv.ParseInt-like: 0, or CLI_FAIL with Go's message in cause. */
int cli_parse_int(const char *s, int bits, long long *out, char *cause, size_t size);

/* The connection flags every command accepts (persistent on the root). */
extern const struct cli_flagdef cli_global_flags[];
extern const size_t cli_nglobal_flags;

/* ---- the command tree (main.c) ---- */

struct cli_ctx;
typedef int (*cli_run_fn)(struct cli_ctx *ctx, const struct cli_args *a);

struct cli_command {
    const char *name;
    const char *aliases[3];
    const char *use; /* verbatim Use line of KubeRay */
    const char *short_desc;
    const char *long_desc;
    const char *example;
    const struct cli_flagdef *flags;
    size_t nflags;
    cli_run_fn run;                 /* NULL for a group */
    const struct cli_command *subs; /* NULL-name-terminated array, or NULL */
    bool unknown_words_note;        /* create/get/scale print `unknown command(s) "..."` */
};

/* Runs the plugin: argv as main() receives it; returns the exit status (commands.c). */
int cli_main(int argc, char **argv);

/* The commands' run functions, one file each. */
int cli_run_version(struct cli_ctx *ctx, const struct cli_args *a);
int cli_run_get_cluster(struct cli_ctx *ctx, const struct cli_args *a);
int cli_run_get_node(struct cli_ctx *ctx, const struct cli_args *a);
int cli_run_get_workergroup(struct cli_ctx *ctx, const struct cli_args *a);
int cli_run_delete(struct cli_ctx *ctx, const struct cli_args *a);
int cli_run_scale_cluster(struct cli_ctx *ctx, const struct cli_args *a);
int cli_run_create_cluster(struct cli_ctx *ctx, const struct cli_args *a);
int cli_run_job_submit(struct cli_ctx *ctx, const struct cli_args *a);
int cli_run_session(struct cli_ctx *ctx, const struct cli_args *a);
int cli_run_get_token(struct cli_ctx *ctx, const struct cli_args *a);
int cli_run_create_workergroup(struct cli_ctx *ctx, const struct cli_args *a);
/* The worker group `create workergroup` appends (§4.2 rule 4), from its flags (workergroup.c). */
int cli_gen_workergroup(const struct cli_args *a, const char *name, const char *image,
                        json_t **out);
int cli_run_log(struct cli_ctx *ctx, const struct cli_args *a);
/* --node-type's check: all, head or worker, case-insensitive (log.c). */
const char *cli_check_node_type(const char *v, char *out, size_t size);
/* The Cloud Logging URL of `log --link gke` (§4.9.1); context is the kubeconfig's. */
int cli_gke_log_url(const char *ns, const char *cluster, const char *node_type, const char *context,
                    struct krc_strbuf *out);

/* ---- per-run context (common.c) ---- */

struct cli_ctx {
    FILE *out, *errout;
    const char *path; /* "ray get cluster", for usage errors */
    const struct cli_args *args;
    struct krc_kubeconfig cfg;
    bool cfg_loaded;
    int cfg_rc; /* result of loading the kubeconfig, kept for client creation */
    struct krc_error cfg_err;
    char *namespace;
    struct krc_client *client;
    struct krc_strbuf err; /* the command's error message */
};

void cli_ctx_init(struct cli_ctx *ctx, const char *path, const struct cli_args *a);
void cli_ctx_release(struct cli_ctx *ctx);
/* Fills ctx->err and returns CLI_FAIL. */
int cli_fail(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: "<detail>\nSee '<path> -h' for help and examples". */
int cli_usage_error(struct cli_ctx *ctx, const char *detail);
/* Resolves the namespace (--namespace, the context's, "default"); "failed to get namespace: ..." */
int cli_namespace(struct cli_ctx *ctx, const char **ns);
/* Builds the API client from the kubeconfig and the global flags; on failure the message is
 * "<prefix>: <cause>" (KubeRay's prefixes differ per command). */
int cli_client(struct cli_ctx *ctx, const char *prefix);
/* The server's own message inside a client error ("rayclusters.ray.io \"x\" not found"), as
 * client-go prints it; the whole message when it is not an API error. */
const char *cli_api_msg(const struct krc_error *err);

/* The ray.io/v1 and core resources the plugin reads. */
extern const struct krc_resource cli_res_rayclusters, cli_res_rayjobs, cli_res_rayservices,
    cli_res_pods, cli_res_deployments;

/* ---- resource references (§1.4) ---- */

enum cli_ref_type { CLI_REF_RAYCLUSTER, CLI_REF_RAYJOB, CLI_REF_RAYSERVICE };
struct cli_ref {
    enum cli_ref_type type;
    const char *name; /* points into the argument */
};
/* Parses NAME or TYPE/NAME; on failure writes the message into cause ("invalid resource type/name:
 * a/b/c", "unsupported resource type: <what>", what = the argument or only TYPE). */
int cli_ref_parse(const char *arg, bool case_insensitive, bool whole_arg_in_error,
                  struct cli_ref *out, char *cause, size_t size);
const char *cli_ref_type_name(enum cli_ref_type t); /* "raycluster", "rayjob", "rayservice" */
/* The head service name of a resource (§1.4; may be ""); on failure "unable to find <Kind>
 * <name>: <api error>" in ctx->err (session.c). */
int cli_head_service(struct cli_ctx *ctx, const struct cli_ref *ref, const char *ns, char *svc,
                     size_t size);

/* ---- tables and ages (table.c) ---- */

struct cli_table {
    size_t ncols;
    char **cells; /* rows * ncols owned strings, header first */
    size_t nrows; /* including the header */
};
int cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers);
/* Adds a row of ncols cells (copied). */
int cli_table_add(struct cli_table *t, const char *const *cells);
/* Prints nothing when there are no rows besides the header (§1.4). */
int cli_table_print(const struct cli_table *t, struct krc_strbuf *out);
void cli_table_release(struct cli_table *t);
/* kubectl's HumanDuration of now - creationTimestamp (RFC 3339); "<unknown>" when ts is NULL
 * or unparsable. */
void cli_age(const char *ts, int64_t now, char *buf, size_t size);
void cli_human_duration(int64_t seconds, char *buf, size_t size);
/* A quantity text in canonical form ("2048Mi" -> "2Gi"); "0" when s is NULL or empty; the text
 * itself when unparsable. */
void cli_quantity_canon(const char *s, char *buf, size_t size);

/* The operator version from its image (§4.12 rule 3); CLI_FAIL when unparsable (version.c). */
int cli_image_version(const char *image, char *buf, size_t size);

/* ---- YAML output (yaml.c): go-yaml v2's Marshal of a generic map ---- */
int cli_yaml_emit(const json_t *doc, struct krc_strbuf *out, struct krc_error *err);

#endif
