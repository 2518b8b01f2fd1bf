/* commands.c - kubectl-ray's command tree, help and dispatch (spec kubectl-ray.md §1.3, §2).
 *
 * The tree and every flag table are const data here, so the whole command line of the plugin
 * reads in one place; each leaf's behaviour lives in its own file (get.c, delete.c, ...). The
 * dispatch follows cobra: words select subcommands (global flags may come before them), a
 * group without a subcommand prints its help, an unknown top-level word is an error with
 * cobra's suggestions, and the leaf's flags are parsed from every remaining word. Help text
 * follows cobra's default template; only the Use lines are contractual (§2). */
#include "cli/cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SUGGEST_DISTANCE 2

static const char *check_autoscaler(const char *v, char *out, size_t size)
{
    size_t n = strlen(v);
    if (n + 1 > size)
        return "must be one of \"v1\" or \"v2\"";
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)v[i]);
    if (strcmp(out, "v1") != 0 && strcmp(out, "v2") != 0)
        return "must be one of \"v1\" or \"v2\"";
    return NULL;
}

/* ---- flag tables ---- */

static const struct cli_flagdef create_cluster_flags[] = {
    {"labels", 0, CLI_FLAG_MAP, NULL, "K8s labels (e.g. --labels app=ray,env=dev)", NULL},
    {"annotations", 0, CLI_FLAG_MAP, NULL,
     "K8s annotations (e.g. --annotations ttl-hours=24,owner=chthulu)", NULL},
    {"ray-version", 0, CLI_FLAG_STRING, CLI_RAY_VERSION, "Ray version to use", NULL},
    {"image", 0, CLI_FLAG_STRING, CLI_RAY_IMAGE, "container image to use", NULL},
    {"head-cpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_CPU, "number of CPUs in the Ray head", NULL},
    {"head-memory", 0, CLI_FLAG_STRING, CLI_DEFAULT_MEMORY, "amount of memory in the Ray head",
     NULL},
    {"head-gpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_GPU, "number of GPUs in the Ray head", NULL},
    {"head-ephemeral-storage", 0, CLI_FLAG_STRING, "",
     "amount of ephemeral storage in the Ray head", NULL},
    {"head-ray-start-params", 0, CLI_FLAG_MAP, NULL,
     "a map of arguments to the Ray head's 'ray start' entrypoint, e.g. "
     "'--head-ray-start-params dashboard-host=0.0.0.0,num-cpus=2'",
     NULL},
    {"head-node-selectors", 0, CLI_FLAG_MAP, NULL,
     "Node selectors to apply to all head pods in the cluster", NULL},
    {"worker-replicas", 0, CLI_FLAG_INT32, CLI_DEFAULT_REPLICAS, "desired worker group replicas",
     NULL},
    {"worker-cpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_CPU,
     "number of CPUs in each worker group replica", NULL},
    {"worker-memory", 0, CLI_FLAG_STRING, CLI_DEFAULT_MEMORY,
     "amount of memory in each worker group replica", NULL},
    {"worker-gpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_GPU,
     "number of GPUs in each worker group replica", NULL},
    {"worker-ephemeral-storage", 0, CLI_FLAG_STRING, "",
     "amount of ephemeral storage in each worker group replica", NULL},
    {"worker-tpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_TPU,
     "number of TPUs in each worker group replica. If greater than 0, you must also set "
     "cloud.google.com/gke-tpu-accelerator and cloud.google.com/gke-tpu-topology in "
     "--worker-node-selectors.",
     NULL},
    {"worker-ray-start-params", 0, CLI_FLAG_MAP, NULL,
     "a map of arguments to the Ray workers' 'ray start' entrypoint, e.g. "
     "'--worker-ray-start-params metrics-export-port=8080,num-cpus=2'",
     NULL},
    {"worker-node-selectors", 0, CLI_FLAG_MAP, NULL,
     "Node selectors to apply to all worker pods in the cluster", NULL},
    {"num-of-hosts", 0, CLI_FLAG_INT32, CLI_DEFAULT_HOSTS,
     "number of hosts in default worker group per replica", NULL},
    {"autoscaler", 0, CLI_FLAG_ENUM, "", "autoscaler to use, supports: \"v1\", \"v2\"",
     check_autoscaler},
    {"file", 0, CLI_FLAG_STRING, "", "path to a YAML file containing Ray cluster configuration",
     NULL},
    {"dry-run", 0, CLI_FLAG_BOOL, "false",
     "print the generated YAML instead of creating the cluster", NULL},
    {"wait", 0, CLI_FLAG_BOOL, "false",
     "wait for the cluster to be provisioned before returning. Returns an error if the cluster "
     "is not provisioned by the timeout specified",
     NULL},
    {"timeout", 0, CLI_FLAG_DURATION, "5m0s", "the timeout for --wait", NULL},
};

static const struct cli_flagdef create_workergroup_flags[] = {
    {"ray-cluster", 'c', CLI_FLAG_STRING, "", "The name of the RayCluster to add a worker group.",
     NULL},
    {"ray-version", 0, CLI_FLAG_STRING, CLI_RAY_VERSION, "Ray version to use", NULL},
    {"image", 0, CLI_FLAG_STRING, CLI_RAY_IMAGE, "container image to use", NULL},
    {"worker-replicas", 0, CLI_FLAG_INT32, CLI_DEFAULT_REPLICAS, "desired worker group replicas",
     NULL},
    {"num-of-hosts", 0, CLI_FLAG_INT32, CLI_DEFAULT_HOSTS,
     "number of hosts in the worker group per replica", NULL},
    {"worker-min-replicas", 0, CLI_FLAG_INT32, "1", "minimum worker group replicas", NULL},
    {"worker-max-replicas", 0, CLI_FLAG_INT32, "10", "maximum worker group replicas", NULL},
    {"worker-cpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_CPU,
     "number of CPUs in each worker group replica", NULL},
    {"worker-memory", 0, CLI_FLAG_STRING, CLI_DEFAULT_MEMORY,
     "amount of memory in each worker group replica", NULL},
    {"worker-gpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_GPU,
     "number of GPUs in each worker group replica", NULL},
    {"worker-tpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_TPU,
     "number of TPUs in each worker group replica", NULL},
    {"worker-ray-start-params", 0, CLI_FLAG_MAP, NULL,
     "a map of arguments to the Ray workers' 'ray start' entrypoint", NULL},
    {"worker-node-selectors", 0, CLI_FLAG_MAP, NULL,
     "Node selectors to apply to all worker pods in this worker group", NULL},
};

static const struct cli_flagdef all_ns_flag[] = {
    {"all-namespaces", 'A', CLI_FLAG_BOOL, "false",
     "If present, list the requested clusters across all namespaces. Namespace in current "
     "context is ignored even if specified with --namespace.",
     NULL},
};

static const struct cli_flagdef get_filtered_flags[] = {
    {"ray-cluster", 'c', CLI_FLAG_STRING, "", "Ray cluster", NULL},
    {"all-namespaces", 'A', CLI_FLAG_BOOL, "false",
     "If present, list the requested resources across all namespaces. Namespace in current "
     "context is ignored even if specified with --namespace.",
     NULL},
};

static const struct cli_flagdef delete_flags[] = {
    {"yes", 'y', CLI_FLAG_BOOL, "false", "Skip confirmation", NULL},
};

static const struct cli_flagdef scale_cluster_flags[] = {
    {"worker-group", 'w', CLI_FLAG_STRING, "", "worker group", NULL},
    {"replicas", 'r', CLI_FLAG_INT32, "-1", "Desired number of replicas in worker group", NULL},
    {"min-replicas", 0, CLI_FLAG_INT32, "-1", "Minimum number of replicas in worker group", NULL},
    {"max-replicas", 0, CLI_FLAG_INT32, "-1", "Maximum number of replicas in worker group", NULL},
};

static const struct cli_flagdef job_submit_flags[] = {
    {"filename", 'f', CLI_FLAG_STRING, "", "Path and name of the Ray Job YAML file", NULL},
    {"name", 0, CLI_FLAG_STRING, "", "Ray job name", NULL},
    {"working-dir", 0, CLI_FLAG_STRING, "", "Directory containing files that your job will run in",
     NULL},
    {"runtime-env", 0, CLI_FLAG_STRING, "", "Path and name to the runtime env YAML file.", NULL},
    {"runtime-env-json", 0, CLI_FLAG_STRING, "", "JSON-serialized runtime_env dictionary.", NULL},
    {"submission-id", 0, CLI_FLAG_STRING, "",
     "ID to specify for the Ray job. If not provided, one will be generated", NULL},
    {"address", 0, CLI_FLAG_STRING, "",
     "Ray dashboard address to submit to directly (no port-forwarding)", NULL},
    {"headers", 0, CLI_FLAG_STRING, "",
     "Used to pass headers through http/s to Ray Cluster. Must be JSON formatting", NULL},
    {"verify", 0, CLI_FLAG_STRING, "",
     "Boolean indication to verify the server's TLS certificate or a path to a file or "
     "directory of trusted certificates.",
     NULL},
    {"entrypoint-resources", 0, CLI_FLAG_STRING, "",
     "JSON-serialized dictionary mapping resource name to resource quantity", NULL},
    {"metadata-json", 0, CLI_FLAG_STRING, "",
     "JSON-serialized dictionary of metadata to attach to the job.", NULL},
    {"log-style", 0, CLI_FLAG_STRING, "",
     "Specific to 'ray job submit'. Options are 'auto | record | pretty'", NULL},
    {"log-color", 0, CLI_FLAG_STRING, "",
     "Specific to 'ray job submit'. Options are 'auto | false | true'", NULL},
    {"entrypoint-num-cpus", 0, CLI_FLAG_FLOAT32, "0",
     "Number of CPU reserved for the for the entrypoint command", NULL},
    {"entrypoint-num-gpus", 0, CLI_FLAG_FLOAT32, "0",
     "Number of GPU reserved for the for the entrypoint command", NULL},
    {"entrypoint-memory", 0, CLI_FLAG_INT, "0",
     "Amount of memory reserved for the entrypoint command", NULL},
    {"no-wait", 0, CLI_FLAG_BOOL, "false",
     "If present, will not stream logs and wait for job to finish", NULL},
    {"verbose", 'v', CLI_FLAG_BOOL, "false",
     "Passing the '--verbose' flag to the 'ray job "
     "submit' command",
     NULL},
    {"ray-version", 0, CLI_FLAG_STRING, CLI_RAY_VERSION, "Ray version to use", NULL},
    {"image", 0, CLI_FLAG_STRING, CLI_RAY_IMAGE, "container image to use", NULL},
    {"head-cpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_CPU, "number of CPUs in the Ray head", NULL},
    {"head-memory", 0, CLI_FLAG_STRING, CLI_DEFAULT_MEMORY, "amount of memory in the Ray head",
     NULL},
    {"head-gpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_GPU, "number of GPUs in the Ray head", NULL},
    {"worker-replicas", 0, CLI_FLAG_INT32, CLI_DEFAULT_REPLICAS, "desired worker group replicas",
     NULL},
    {"worker-cpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_CPU,
     "number of CPUs in each worker group replica", NULL},
    {"worker-memory", 0, CLI_FLAG_STRING, CLI_DEFAULT_MEMORY,
     "amount of memory in each worker group replica", NULL},
    {"worker-gpu", 0, CLI_FLAG_STRING, CLI_DEFAULT_GPU,
     "number of GPUs in each worker group replica", NULL},
    {"head-node-selectors", 0, CLI_FLAG_MAP, NULL,
     "Node selectors to apply to all head pods in the cluster", NULL},
    {"worker-node-selectors", 0, CLI_FLAG_MAP, NULL,
     "Node selectors to apply to all worker pods in the cluster", NULL},
    {"dry-run", 0, CLI_FLAG_BOOL, "false",
     "print the generated YAML instead of creating the cluster. Only works when filename is "
     "not provided",
     NULL},
    {"ttl-seconds-after-finished", 0, CLI_FLAG_INT32, "0",
     "TTL seconds after finished. Sets shutdownAfterJobFinishes to true", NULL},
};

static const struct cli_flagdef log_flags[] = {
    {"out-dir", 0, CLI_FLAG_STRING, "",
     "File Directory PATH of where to download the file logs to.", NULL},
    {"node-type", 0, CLI_FLAG_ENUM, "all",
     "Type of Ray node to download the files for, supports 'worker', 'head', or 'all'",
     cli_check_node_type},
    {"link", 0, CLI_FLAG_STRING, "",
     "Generate a link to an external logging service. Supports: 'gke'", NULL},
};

static const struct cli_flagdef session_flags[] = {
    {"verbose", 'v', CLI_FLAG_BOOL, "false", "verbose output", NULL},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the tree ---- */

static const struct cli_command create_subs[] = {
    {"cluster",
     {NULL},
     "cluster [CLUSTERNAME]",
     "Create Ray cluster",
     "Create a Ray cluster with the given name and options.",
     "  # Create a Ray cluster using default values\n"
     "  kubectl ray create cluster sample-cluster\n\n"
     "  # Create a Ray cluster from a YAML configuration file\n"
     "  kubectl ray create cluster sample-cluster --file ray-cluster-config.yaml",
     create_cluster_flags,
     N(create_cluster_flags),
     cli_run_create_cluster,
     NULL,
     false},
    {"workergroup",
     {NULL},
     "workergroup (WORKERGROUP) [(-r|--ray-cluster) RAYCLUSTER]",
     "Create worker group in an existing Ray cluster",
     "Adds a worker group to an existing Ray cluster.",
     "  # Create a worker group in an existing Ray cluster\n"
     "  kubectl ray create workergroup gpu-group --ray-cluster sample-cluster --worker-gpu 1",
     create_workergroup_flags,
     N(create_workergroup_flags),
     cli_run_create_workergroup,
     NULL,
     false},
    {NULL, {NULL}, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, false},
};

static const struct cli_command get_subs[] = {
    {"cluster",
     {"clusters", NULL},
     "cluster [NAME]",
     "Get cluster information.",
     "Prints the Ray cluster information in the current namespace or all namespaces.",
     "  # Print all Ray clusters in the current namespace\n"
     "  kubectl ray get cluster\n\n"
     "  # Print all Ray clusters in all namespaces\n"
     "  kubectl ray get cluster --all-namespaces",
     all_ns_flag,
     N(all_ns_flag),
     cli_run_get_cluster,
     NULL,
     false},
    {"node",
     {"nodes", NULL},
     "node [NODE] [(-c|--ray-cluster) RAYCLUSTER]",
     "Get Ray nodes",
     "Print a list of Ray nodes (pods) in the current namespace or all namespaces.",
     "  # Print all Ray nodes in the current namespace\n"
     "  kubectl ray get node\n\n"
     "  # Print all Ray nodes in a specific Ray cluster\n"
     "  kubectl ray get node --ray-cluster my-raycluster",
     get_filtered_flags,
     N(get_filtered_flags),
     cli_run_get_node,
     NULL,
     false},
    {"workergroup",
     {"workergroups", NULL},
     "workergroup [GROUP] [(-c/--ray-cluster) RAYCLUSTER]",
     "Get Ray worker groups",
     "Prints Ray worker groups in the current namespace or all namespaces.",
     "  # Print all Ray worker groups in the current namespace\n"
     "  kubectl ray get workergroup\n\n"
     "  # Print the worker group my-group of a specific Ray cluster\n"
     "  kubectl ray get workergroup my-group --ray-cluster my-raycluster",
     get_filtered_flags,
     N(get_filtered_flags),
     cli_run_get_workergroup,
     NULL,
     false},
    {"token",
     {NULL},
     "token [CLUSTER NAME]",
     "Get the auth token from the ray cluster.",
     "Get the auth token from the ray cluster.",
     "  # Get the auth token of a Ray cluster with token authentication\n"
     "  kubectl ray get token my-raycluster",
     NULL,
     0,
     cli_run_get_token,
     NULL,
     false},
    {NULL, {NULL}, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, false},
};

static const struct cli_command scale_subs[] = {
    {"cluster",
     {NULL},
     "cluster (RAYCLUSTER) (-w/--worker-group WORKERGROUP) (-r/--replicas N)",
     "Scale a Ray cluster",
     "Scale a Ray cluster's worker group.",
     "  # Scale a Ray cluster's worker group to 3 replicas\n"
     "  kubectl ray scale cluster my-raycluster --worker-group my-group --replicas 3",
     scale_cluster_flags,
     N(scale_cluster_flags),
     cli_run_scale_cluster,
     NULL,
     false},
    {NULL, {NULL}, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, false},
};

static const struct cli_command job_subs[] = {
    {"submit",
     {NULL},
     "submit [OPTIONS] -f/--filename RAYJOB_YAML -- ENTRYPOINT",
     "Submit Ray job to Ray cluster",
     "Submit Ray job to Ray cluster as one would using Ray CLI e.g. 'ray job submit "
     "ENTRYPOINT'. Command supports all options that 'ray job submit' supports, except "
     "'--address'.\nIf RayCluster is already setup, use 'ray job submit' instead.",
     "  # Submit Ray job with working-directory\n"
     "  kubectl ray job submit -f rayjob.yaml --working-dir /path/to/working-dir/ -- python "
     "my_script.py\n\n"
     "  # Generate Ray job with specifications and submit Ray job with runtime Env file\n"
     "  kubectl ray job submit --name rayjob-sample --working-dir /path/to/working-dir/ -- "
     "python my_script.py",
     job_submit_flags,
     N(job_submit_flags),
     cli_run_job_submit,
     NULL,
     false},
    {NULL, {NULL}, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, false},
};

static const struct cli_command root_subs[] = {
    {"create",
     {NULL},
     "create",
     "Create Ray resources",
     NULL,
     NULL,
     NULL,
     0,
     NULL,
     create_subs,
     true},
    {"delete",
     {NULL},
     "delete (RAYCLUSTER | TYPE/NAME)",
     "Delete Ray resources",
     "Deletes Ray custom resources such as RayCluster, RayService, or RayJob",
     "  # Delete a RayCluster\n"
     "  kubectl ray delete my-raycluster\n\n"
     "  # Delete a RayJob\n"
     "  kubectl ray delete rayjob/my-rayjob",
     delete_flags,
     N(delete_flags),
     cli_run_delete,
     NULL,
     false},
    {"get",
     {"list", NULL},
     "get",
     "Display one or many Ray resources.",
     NULL,
     NULL,
     NULL,
     0,
     NULL,
     get_subs,
     true},
    {"job", {NULL}, "job", "submit Ray job", NULL, NULL, NULL, 0, NULL, job_subs, false},
    {"log",
     {"logs", NULL},
     "log (RAYCLUSTER | TYPE/NAME) [--out-dir DIR_PATH] [--node-type all|head|worker] [--link gke]",
     "Get Ray cluster logs",
     "Download Ray cluster logs to a local directory (stdout.log of each Ray node; see the "
     "README for what is not downloaded yet)",
     "  # Download logs from a RayCluster and save them to a directory with the RayCluster's "
     "name\n"
     "  kubectl ray log my-raycluster\n\n"
     "  # Download logs from a RayJob's cluster\n"
     "  kubectl ray log rayjob/my-rayjob --out-dir /path/to/dir",
     log_flags,
     N(log_flags),
     cli_run_log,
     NULL,
     false},
    {"scale", {NULL}, "scale", "Scale a Ray resource", NULL, NULL, NULL, 0, NULL, scale_subs, true},
    {"session",
     {NULL},
     "session (RAYCLUSTER | TYPE/NAME)",
     "Forward local ports to the Ray resources.",
     "Forward local ports to the Ray resources.\n\nForward local ports to the Ray resources. "
     "Currently only supports RayCluster, RayJob and RayService.",
     "  # Without specifying the resource type, forward local ports to the RayCluster\n"
     "  kubectl ray session my-raycluster\n\n"
     "  # Forward local ports to the RayJob resource\n"
     "  kubectl ray session rayjob/my-rayjob",
     session_flags,
     N(session_flags),
     cli_run_session,
     NULL,
     false},
    {"version",
     {NULL},
     "version",
     "Output the version of the Ray kubectl plugin and KubeRay operator",
     "Output the version of the Ray kubectl plugin and KubeRay operator",
     NULL,
     NULL,
     0,
     cli_run_version,
     NULL,
     false},
    {NULL, {NULL}, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, false},
};

static const struct cli_command root = {CLI_ROOT,
                                        {NULL},
                                        CLI_ROOT,
                                        "ray kubectl plugin",
                                        "Manage Ray resources on Kubernetes",
                                        NULL,
                                        NULL,
                                        0,
                                        NULL,
                                        root_subs,
                                        false};

/* ---- help ---- */

static const char *type_name(enum cli_flag_type t)
{
    switch (t) {
    case CLI_FLAG_STRING:
        return "string";
    case CLI_FLAG_INT32:
        return "int32";
    case CLI_FLAG_INT:
        return "int";
    case CLI_FLAG_FLOAT32:
        return "float32";
    case CLI_FLAG_DURATION:
        return "duration";
    case CLI_FLAG_MAP:
        return "stringToString";
    case CLI_FLAG_STRINGS:
        return "stringArray";
    case CLI_FLAG_ENUM:
        return "string";
    default:
        return "";
    }
}

static int cmp_flagdef(const void *x, const void *y)
{
    const struct cli_flagdef *a = *(const struct cli_flagdef *const *)x;
    const struct cli_flagdef *b = *(const struct cli_flagdef *const *)y;
    return strcmp(a->name, b->name);
}

/* pflag's FlagUsages: sorted, names and types left, usage aligned after the longest. */
static void flag_usages(FILE *out, const struct cli_flagdef *defs, size_t n,
                        const struct cli_flagdef *help)
{
    const struct cli_flagdef *sorted[CLI_MAX_FLAGS];
    char left[CLI_MAX_FLAGS][96];
    size_t count = 0, width = 0;

    for (size_t i = 0; i < n && count < CLI_MAX_FLAGS - 1; i++)
        sorted[count++] = &defs[i];
    if (help)
        sorted[count++] = help;
    qsort(sorted, count, sizeof(sorted[0]), cmp_flagdef);
    for (size_t i = 0; i < count; i++) {
        const struct cli_flagdef *d = sorted[i];
        if (d->shorthand)
            snprintf(left[i], sizeof(left[i]), "  -%c, --%s %s", d->shorthand, d->name,
                     type_name(d->type));
        else
            snprintf(left[i], sizeof(left[i]), "      --%s %s", d->name, type_name(d->type));
        size_t len = strlen(left[i]);
        while (len > 0 && left[i][len - 1] == ' ')
            left[i][--len] = '\0';
        width = len > width ? len : width;
    }
    for (size_t i = 0; i < count; i++) {
        const struct cli_flagdef *d = sorted[i];
        fprintf(out, "%-*s   %s", (int)width, left[i], d->usage);
        if (d->def && *d->def && strcmp(d->def, "false") != 0 &&
            !(strcmp(d->def, "0") == 0 && d->type != CLI_FLAG_STRING)) {
            if (d->type == CLI_FLAG_STRING || d->type == CLI_FLAG_ENUM)
                fprintf(out, " (default \"%s\")", d->def);
            else
                fprintf(out, " (default %s)", d->def);
        }
        fputc('\n', out);
    }
}

static int cmp_command(const void *x, const void *y)
{
    const struct cli_command *a = *(const struct cli_command *const *)x;
    const struct cli_command *b = *(const struct cli_command *const *)y;
    return strcmp(a->name, b->name);
}

static void print_help(FILE *out, const struct cli_command *cmd, const char *path)
{
    const struct cli_flagdef help = {"help", 'h', CLI_FLAG_BOOL, "false", "help for ", NULL};
    char help_usage[64];
    struct cli_flagdef h = help;

    snprintf(help_usage, sizeof(help_usage), "help for %s", cmd->name);
    h.usage = help_usage;
    fprintf(out, "%s\n\n", cmd->long_desc ? cmd->long_desc : cmd->short_desc);
    fprintf(out, "Usage:\n");
    if (cmd->run) {
        const char *parent_end = strrchr(path, ' ');
        fprintf(out, "  %.*s%s%s%s\n", parent_end ? (int)(parent_end - path) : 0, path,
                parent_end ? " " : "", cmd->use, " [flags]");
    }
    if (cmd->subs)
        fprintf(out, "  %s [command]\n", path);
    if (cmd->aliases[0]) {
        fprintf(out, "\nAliases:\n  %s", cmd->name);
        for (size_t i = 0; i < N(cmd->aliases) && cmd->aliases[i]; i++)
            fprintf(out, ", %s", cmd->aliases[i]);
        fputc('\n', out);
    }
    if (cmd->example)
        fprintf(out, "\nExamples:\n%s\n", cmd->example);
    if (cmd->subs) {
        /* cobra lists subcommands sorted by name, with its own "help" on the root */
        static const struct cli_command help_cmd = {
            "help", {NULL}, "help [command]", "Help about any command", NULL, NULL, NULL, 0, NULL,
            NULL,   false};
        const struct cli_command *list[16];
        size_t n = 0, width = 0;
        for (const struct cli_command *s = cmd->subs; s->name && n < N(list) - 1; s++)
            list[n++] = s;
        if (cmd == &root)
            list[n++] = &help_cmd;
        qsort(list, n, sizeof(list[0]), cmp_command);
        for (size_t i = 0; i < n; i++)
            width = strlen(list[i]->name) > width ? strlen(list[i]->name) : width;
        width = width < 11 ? 11 : width;
        fprintf(out, "\nAvailable Commands:\n");
        for (size_t i = 0; i < n; i++)
            fprintf(out, "  %-*s %s\n", (int)width, list[i]->name, list[i]->short_desc);
    }
    fprintf(out, "\nFlags:\n");
    flag_usages(out, cmd->flags, cmd->nflags, &h);
    if (cmd != &root) {
        fprintf(out, "\nGlobal Flags:\n");
        flag_usages(out, cli_global_flags, cli_nglobal_flags, NULL);
    }
    if (cmd->subs)
        fprintf(out, "\nUse \"%s [command] --help\" for more information about a command.\n", path);
}

/* ---- dispatch ---- */

static const struct cli_command *find_sub(const struct cli_command *cmd, const char *word)
{
    if (!cmd->subs)
        return NULL;
    for (const struct cli_command *s = cmd->subs; s->name; s++) {
        if (strcmp(s->name, word) == 0)
            return s;
        for (size_t i = 0; i < N(s->aliases) && s->aliases[i]; i++)
            if (strcmp(s->aliases[i], word) == 0)
                return s;
    }
    return NULL;
}

/* Does argv[i], a global flag written without "=", take the next word as its value? */
static int global_takes_value(const char *w)
{
    for (size_t k = 0; k < cli_nglobal_flags; k++) {
        const struct cli_flagdef *d = &cli_global_flags[k];
        if (d->type == CLI_FLAG_BOOL)
            continue;
        if (strncmp(w, "--", 2) == 0 && strcmp(w + 2, d->name) == 0)
            return 1;
        if (d->shorthand && w[0] == '-' && w[1] == d->shorthand && w[2] == '\0')
            return 1;
    }
    return 0;
}

static size_t levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[64];
    if (lb >= N(row))
        return lb;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = prev + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

static int unknown_command(const char *word)
{
    fprintf(stderr, "Error: unknown command \"%s\" for \"%s\"\n", word, CLI_ROOT);
    int first = 1;
    for (const struct cli_command *s = root_subs; s->name; s++) {
        if (levenshtein(word, s->name) <= SUGGEST_DISTANCE ||
            (*word && strncasecmp(s->name, word, strlen(word)) == 0)) {
            if (first)
                fprintf(stderr, "\nDid you mean this?\n");
            first = 0;
            fprintf(stderr, "\t%s\n", s->name);
        }
    }
    if (!first)
        fputc('\n', stderr);
    fprintf(stderr, "Run '%s --help' for usage.\n", CLI_ROOT);
    return 1;
}

int cli_main(int argc, char **argv)
{
    const struct cli_command *cmd = &root;
    char path[256];
    char **rest = NULL;
    int nrest = 0, status = 1;
    bool help_topic = false;
    struct cli_args a;
    struct krc_error err;

    snprintf(path, sizeof(path), "%s", CLI_ROOT);
    rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!rest) {
        fprintf(stderr, "Error: out of memory\n");
        return 1;
    }
    /* Select the command: words name subcommands until a leaf is reached. */
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (w[0] == '-' || cmd->run) {
            rest[nrest++] = argv[i];
            if (w[0] == '-' && !cmd->run && global_takes_value(w) && i + 1 < argc)
                rest[nrest++] = argv[++i];
            if (strcmp(w, "--") == 0)
                for (i++; i < argc; i++)
                    rest[nrest++] = argv[i];
            continue;
        }
        if (cmd == &root && strcmp(w, "help") == 0 && !help_topic) {
            help_topic = true;
            continue;
        }
        const struct cli_command *sub = find_sub(cmd, w);
        if (!sub) {
            if (cmd == &root && !help_topic) {
                status = unknown_command(w);
                goto out;
            }
            rest[nrest++] = argv[i];
            continue;
        }
        cmd = sub;
        size_t len = strlen(path);
        snprintf(path + len, sizeof(path) - len, " %s", sub->name);
    }
    if (cli_args_parse(&a, cmd->flags, cmd->nflags, cli_global_flags, cli_nglobal_flags, nrest,
                       rest, &err) != 0) {
        fprintf(stderr, "Error: %s\n", err.msg);
        cli_args_release(&a);
        goto out;
    }
    if (help_topic || a.help || !cmd->run) {
        if (!cmd->run && cmd->unknown_words_note && a.npos > 0 && !a.help && !help_topic) {
            printf("unknown command(s) \"");
            for (size_t k = 0; k < a.npos; k++)
                printf("%s%s", k ? " " : "", a.pos[k]);
            printf("\"\n");
        }
        print_help(stdout, cmd, path);
        cli_args_release(&a);
        status = 0;
        goto out;
    }
    struct cli_ctx ctx;
    cli_ctx_init(&ctx, path, &a);
    if (cmd->run(&ctx, &a) == 0) {
        status = 0;
    } else {
        fflush(stdout);
        fprintf(stderr, "Error: %s\n", ctx.err.len ? ctx.err.buf : "failed");
    }
    cli_ctx_release(&ctx);
    cli_args_release(&a);
out:
    free(rest);
    fflush(stdout);
    return status;
}
