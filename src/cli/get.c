/* get.c - `get cluster`, `get node`, `get workergroup` (spec kubectl-ray.md §4.3-§4.5).
 *
 * Each command lists, then turns the list into table rows with a pure function
 * (cli_cluster_rows, cli_node_rows, cli_workergroup_row: unit-tested on JSON fixtures), then
 * prints the table. Rows keep the API server's order. Quantities print in canonical form; a
 * worker group's totals are its pod template's per-pod resources (containers' requests, limits
 * where no request is set) times its replicas, numOfHosts ignored as KubeRay does. */
#include "cli/get.h"

#include "util/quantity.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *str_at(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static const json_t *path_get(const json_t *obj, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(obj, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return v;
}

static const char *label(const json_t *obj, const char *key)
{
    return str_at(path_get(obj, "metadata", "labels", NULL), key);
}

/* The type of the first True condition among KubeRay's ordered list; "" for none. */
static const char *cluster_condition(const json_t *rc)
{
    static const char *const order[] = {"RayClusterProvisioned", "HeadPodReady", "ReplicaFailure",
                                        "RayClusterSuspended", "RayClusterSuspending"};
    const json_t *conds = path_get(rc, "status", "conditions", NULL);
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        size_t i;
        const json_t *c;
        json_array_foreach(conds, i, c)
        {
            if (strcmp(str_at(c, "type"), order[k]) == 0 &&
                strcmp(str_at(c, "status"), "True") == 0)
                return order[k];
        }
    }
    return "";
}

static void int_cell(const json_t *v, char *buf, size_t size)
{
    snprintf(buf, size, "%lld", json_is_integer(v) ? (long long)json_integer_value(v) : 0LL);
}

static void quantity_cell(const json_t *v, char *buf, size_t size)
{
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return;
    }
    cli_quantity_canon(json_string_value(v), buf, size);
}

int cli_cluster_rows(const json_t *list, int64_t now, struct cli_table *t)
{
    static const char *const headers[] = {
        "NAME", "NAMESPACE", "DESIRED WORKERS", "AVAILABLE WORKERS", "CPUS",
        "GPUS", "TPUS",      "MEMORY",          "CONDITION",         "STATUS",
        "AGE"};
    size_t i;
    const json_t *rc;

    if (cli_table_init(t, sizeof(headers) / sizeof(headers[0]), headers) != 0)
        return KRC_ENOMEM;
    json_array_foreach(json_object_get(list, "items"), i, rc)
    {
        const json_t *st = json_object_get(rc, "status");
        char desired[24], avail[24], cpu[KRC_QUANTITY_STR_MAX], gpu[KRC_QUANTITY_STR_MAX],
            tpu[KRC_QUANTITY_STR_MAX], mem[KRC_QUANTITY_STR_MAX], age[32];
        int_cell(json_object_get(st, "desiredWorkerReplicas"), desired, sizeof(desired));
        int_cell(json_object_get(st, "availableWorkerReplicas"), avail, sizeof(avail));
        quantity_cell(json_object_get(st, "desiredCPU"), cpu, sizeof(cpu));
        quantity_cell(json_object_get(st, "desiredGPU"), gpu, sizeof(gpu));
        quantity_cell(json_object_get(st, "desiredTPU"), tpu, sizeof(tpu));
        quantity_cell(json_object_get(st, "desiredMemory"), mem, sizeof(mem));
        cli_age(json_string_value(path_get(rc, "metadata", "creationTimestamp", NULL)), now, age,
                sizeof(age));
        const char *row[] = {str_at(json_object_get(rc, "metadata"), "name"),
                             str_at(json_object_get(rc, "metadata"), "namespace"),
                             desired,
                             avail,
                             cpu,
                             gpu,
                             tpu,
                             mem,
                             cluster_condition(rc),
                             str_at(st, "state"),
                             age};
        if (cli_table_add(t, row) != 0)
            return KRC_ENOMEM;
    }
    return 0;
}

int cli_node_rows(const json_t *list, bool all_namespaces, int64_t now, struct cli_table *t)
{
    static const char *const headers[] = {"NAMESPACE", "NAME",    "CPUS", "GPUS",         "TPUS",
                                          "MEMORY",    "CLUSTER", "TYPE", "WORKER GROUP", "AGE"};
    size_t i, off = all_namespaces ? 0 : 1;
    const json_t *pod;

    if (cli_table_init(t, sizeof(headers) / sizeof(headers[0]) - off, headers + off) != 0)
        return KRC_ENOMEM;
    json_array_foreach(json_object_get(list, "items"), i, pod)
    {
        const json_t *c0 = json_array_get(path_get(pod, "spec", "containers", NULL), 0);
        const json_t *req = path_get(c0, "resources", "requests", NULL);
        char cpu[KRC_QUANTITY_STR_MAX], gpu[KRC_QUANTITY_STR_MAX], tpu[KRC_QUANTITY_STR_MAX],
            mem[KRC_QUANTITY_STR_MAX], age[32];
        quantity_cell(json_object_get(req, "cpu"), cpu, sizeof(cpu));
        quantity_cell(json_object_get(req, CLI_RES_GPU), gpu, sizeof(gpu));
        quantity_cell(json_object_get(req, CLI_RES_TPU), tpu, sizeof(tpu));
        quantity_cell(json_object_get(req, "memory"), mem, sizeof(mem));
        cli_age(json_string_value(path_get(pod, "metadata", "creationTimestamp", NULL)), now, age,
                sizeof(age));
        const char *row[] = {str_at(json_object_get(pod, "metadata"), "namespace"),
                             str_at(json_object_get(pod, "metadata"), "name"),
                             cpu,
                             gpu,
                             tpu,
                             mem,
                             label(pod, CLI_LABEL_CLUSTER),
                             label(pod, CLI_LABEL_NODE_TYPE),
                             label(pod, CLI_LABEL_GROUP),
                             age};
        if (cli_table_add(t, row + off) != 0)
            return KRC_ENOMEM;
    }
    return 0;
}

/* q * n by doubling, so a huge replica count costs log2(n) additions. */
static int quantity_times(const struct krc_quantity *q, long long n, struct krc_quantity *out)
{
    struct krc_quantity base = *q, acc;
    memset(&acc, 0, sizeof(acc));
    while (n > 0) {
        if ((n & 1) && krc_quantity_add(&acc, &base, NULL) != 0)
            return KRC_ERANGE;
        n >>= 1;
        if (n > 0 && krc_quantity_add(&base, &base, NULL) != 0)
            return KRC_ERANGE;
    }
    *out = acc;
    return 0;
}

/* Per-pod total of one resource over the template's containers (request, else limit) times n. */
static void group_total(const json_t *group, const char *res, long long n, char *buf, size_t size)
{
    struct krc_quantity sum;
    size_t i;
    const json_t *c;

    memset(&sum, 0, sizeof(sum));
    json_array_foreach(path_get(group, "template", "spec", "containers"), i, c)
    {
        const json_t *v = path_get(c, "resources", "requests", res);
        if (!v)
            v = path_get(c, "resources", "limits", res);
        struct krc_quantity q;
        const char *text = json_string_value(v);
        char num[32];
        if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            text = num;
        }
        if (text && krc_quantity_parse(text, &q, NULL) == 0)
            (void)krc_quantity_add(&sum, &q, NULL);
    }
    if (n <= 0 || quantity_times(&sum, n, &sum) != 0)
        memset(&sum, 0, sizeof(sum));
    if (krc_quantity_to_string(&sum, buf, size) != 0)
        snprintf(buf, size, "0");
}

int cli_workergroup_table_init(bool all_namespaces, struct cli_table *t)
{
    static const char *const headers[] = {"NAMESPACE", "NAME", "MIN",  "MAX",    "REPLICAS",
                                          "CPUS",      "GPUS", "TPUS", "MEMORY", "CLUSTER"};
    size_t off = all_namespaces ? 0 : 1;
    return cli_table_init(t, sizeof(headers) / sizeof(headers[0]) - off, headers + off);
}

size_t cli_ready_workers(const json_t *pods)
{
    size_t i, ready = 0;
    const json_t *pod;
    json_array_foreach(json_object_get(pods, "items"), i, pod)
    {
        if (strcmp(label(pod, CLI_LABEL_NODE_TYPE), "worker") != 0 ||
            strcmp(str_at(json_object_get(pod, "status"), "phase"), "Running") != 0)
            continue;
        size_t k;
        const json_t *c;
        json_array_foreach(path_get(pod, "status", "conditions", NULL), k, c)
        {
            if (strcmp(str_at(c, "type"), "Ready") == 0 &&
                strcmp(str_at(c, "status"), "True") == 0) {
                ready++;
                break;
            }
        }
    }
    return ready;
}

int cli_workergroup_row(const json_t *cluster, const json_t *group, size_t ready,
                        bool all_namespaces, struct cli_table *t)
{
    const json_t *min = json_object_get(group, "minReplicas");
    const json_t *max = json_object_get(group, "maxReplicas");
    long long replicas = json_integer_value(json_object_get(group, "replicas"));
    long long n = json_is_true(json_object_get(group, "suspend")) ? 0 : replicas;
    char cmin[24], cmax[24], crep[48], cpu[KRC_QUANTITY_STR_MAX], gpu[KRC_QUANTITY_STR_MAX],
        tpu[KRC_QUANTITY_STR_MAX], mem[KRC_QUANTITY_STR_MAX];

    snprintf(cmin, sizeof(cmin), "%lld",
             json_is_integer(min) ? (long long)json_integer_value(min) : 0LL);
    snprintf(cmax, sizeof(cmax), "%lld",
             json_is_integer(max) ? (long long)json_integer_value(max) : CLI_MAX_REPLICAS);
    snprintf(crep, sizeof(crep), "%zu/%lld", ready, replicas);
    group_total(group, "cpu", n, cpu, sizeof(cpu));
    group_total(group, CLI_RES_GPU, n, gpu, sizeof(gpu));
    group_total(group, CLI_RES_TPU, n, tpu, sizeof(tpu));
    group_total(group, "memory", n, mem, sizeof(mem));
    const char *row[] = {str_at(json_object_get(cluster, "metadata"), "namespace"),
                         str_at(group, "groupName"),
                         cmin,
                         cmax,
                         crep,
                         cpu,
                         gpu,
                         tpu,
                         mem,
                         str_at(json_object_get(cluster, "metadata"), "name")};
    return cli_table_add(t, row + (all_namespaces ? 0 : 1));
}

/* ---- the commands ---- */

static int print_table(struct cli_ctx *ctx, const struct cli_table *t)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int rc = cli_table_print(t, &out);
    if (rc == 0 && out.len && fwrite(out.buf, 1, out.len, ctx->out) != out.len)
        rc = KRC_EIO;
    krc_strbuf_release(&out);
    return rc == 0 ? 0 : cli_fail(ctx, "failed to print the table: %s", krc_strerror(rc));
}

static int list_json(struct cli_ctx *ctx, const struct krc_resource *res, const char *ns,
                     const struct krc_list_opts *opts, json_t **doc, struct krc_error *err)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    int rc = krc_client_list(ctx->client, res, ns, opts, &body, err);
    if (rc == 0)
        rc = krc_client_parse_json(&body, doc, err);
    krc_strbuf_release(&body);
    return rc;
}

static int too_many_args(struct cli_ctx *ctx, const struct cli_args *a)
{
    return cli_fail(ctx, "accepts at most 1 arg(s), received %zu", a->npos);
}

int cli_run_get_cluster(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *ns, *name = a->npos ? a->pos[0] : NULL;
    bool all = cli_flag_bool(a, "all-namespaces");
    struct krc_list_opts opts = {0};
    struct krc_error err;
    struct cli_table t = {0};
    json_t *list = NULL;
    char selector[512];
    int rc = CLI_FAIL;

    if (a->npos > 1)
        return too_many_args(ctx, a);
    if (cli_namespace(ctx, &ns) != 0 || cli_client(ctx, "failed to create client") != 0)
        return CLI_FAIL;
    if (name) {
        snprintf(selector, sizeof(selector), "metadata.name=%s", name);
        opts.field_selector = selector;
    }
    if (list_json(ctx, &cli_res_rayclusters, all ? NULL : ns, &opts, &list, &err) != 0) {
        if (all)
            return cli_fail(ctx, "unable to retrieve Ray clusters for all namespaces: %s",
                            cli_api_msg(&err));
        return cli_fail(ctx, "unable to retrieve Ray clusters for namespace %s: %s", ns,
                        cli_api_msg(&err));
    }
    if (name && json_array_size(json_object_get(list, "items")) == 0) {
        if (all)
            cli_fail(ctx, "Ray cluster %s not found in any namespace", name);
        else
            cli_fail(ctx, "Ray cluster %s not found in namespace %s", name, ns);
        goto out;
    }
    if (cli_cluster_rows(list, (int64_t)time(NULL), &t) != 0) {
        cli_fail(ctx, "out of memory");
        goto out;
    }
    rc = print_table(ctx, &t);
out:
    cli_table_release(&t);
    json_decref(list);
    return rc;
}

/* " in any namespace" / " in namespace <ns>" + " in Ray cluster <c>" / " in any Ray cluster" */
static void scope_phrase(bool all, const char *ns, const char *cluster, char *buf, size_t size)
{
    char nsp[300];
    if (all)
        snprintf(nsp, sizeof(nsp), " in any namespace");
    else
        snprintf(nsp, sizeof(nsp), " in namespace %s", ns);
    if (*cluster)
        snprintf(buf, size, "%s in Ray cluster %s", nsp, cluster);
    else
        snprintf(buf, size, "%s in any Ray cluster", nsp);
}

int cli_run_get_node(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *ns, *name = a->npos ? a->pos[0] : NULL;
    const char *cluster = cli_flag_str(a, "ray-cluster");
    bool all = cli_flag_bool(a, "all-namespaces");
    struct krc_list_opts opts = {0};
    struct krc_error err;
    struct cli_table t = {0};
    json_t *list = NULL;
    char fsel[512], lsel[512], scope[600];
    int rc = CLI_FAIL;

    if (a->npos > 1)
        return too_many_args(ctx, a);
    if (cli_namespace(ctx, &ns) != 0 || cli_client(ctx, "failed to create client") != 0)
        return CLI_FAIL;
    if (*cluster)
        snprintf(lsel, sizeof(lsel), "%s=yes,%s=%s", CLI_LABEL_IS_NODE, CLI_LABEL_CLUSTER, cluster);
    else
        snprintf(lsel, sizeof(lsel), "%s=yes", CLI_LABEL_IS_NODE);
    opts.label_selector = lsel;
    if (name) {
        snprintf(fsel, sizeof(fsel), "metadata.name=%s", name);
        opts.field_selector = fsel;
    }
    if (list_json(ctx, &cli_res_pods, all ? NULL : ns, &opts, &list, &err) != 0)
        return cli_fail(ctx, "unable to get Ray nodes: %s", cli_api_msg(&err));
    if (name && json_array_size(json_object_get(list, "items")) == 0) {
        scope_phrase(all, ns, cluster, scope, sizeof(scope));
        cli_fail(ctx, "Ray node %s not found%s", name, scope);
        goto out;
    }
    if (cli_node_rows(list, all, (int64_t)time(NULL), &t) != 0) {
        cli_fail(ctx, "out of memory");
        goto out;
    }
    rc = print_table(ctx, &t);
out:
    cli_table_release(&t);
    json_decref(list);
    return rc;
}

int cli_run_get_workergroup(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *ns, *name = a->npos ? a->pos[0] : NULL;
    const char *cluster = cli_flag_str(a, "ray-cluster");
    bool all = cli_flag_bool(a, "all-namespaces");
    struct krc_list_opts opts = {0};
    struct krc_error err;
    struct cli_table t = {0};
    json_t *list = NULL;
    char fsel[512], scope[600];
    size_t found = 0;
    int rc = CLI_FAIL;

    if (a->npos > 1)
        return too_many_args(ctx, a);
    if (cli_namespace(ctx, &ns) != 0 || cli_client(ctx, "failed to create client") != 0)
        return CLI_FAIL;
    if (*cluster) {
        snprintf(fsel, sizeof(fsel), "metadata.name=%s", cluster);
        opts.field_selector = fsel;
    }
    if (list_json(ctx, &cli_res_rayclusters, all ? NULL : ns, &opts, &list, &err) != 0) {
        if (*cluster)
            return cli_fail(ctx, "unable to get Ray cluster %s in namespace %s: %s", cluster,
                            all ? "" : ns, cli_api_msg(&err));
        return cli_fail(ctx, "unable to list Ray clusters in namespace %s: %s", all ? "" : ns,
                        cli_api_msg(&err));
    }
    if (cli_workergroup_table_init(all, &t) != 0) {
        cli_fail(ctx, "out of memory");
        goto out;
    }
    size_t i;
    const json_t *rcl;
    json_array_foreach(json_object_get(list, "items"), i, rcl)
    {
        size_t g;
        const json_t *group;
        json_array_foreach(path_get(rcl, "spec", "workerGroupSpecs", NULL), g, group)
        {
            const char *gname = str_at(group, "groupName");
            const char *cname = str_at(json_object_get(rcl, "metadata"), "name");
            const char *cns = str_at(json_object_get(rcl, "metadata"), "namespace");
            if (name && strcmp(gname, name) != 0)
                continue;
            found++;
            if (!*gname) {
                cli_fail(ctx,
                         "could not create K8s label selectors for a worker group in cluster %s, "
                         "namespace %s: group name cannot be empty",
                         cname, cns);
                goto out;
            }
            struct krc_list_opts popts = {0};
            char psel[768];
            json_t *pods = NULL;
            snprintf(psel, sizeof(psel), "%s=worker,%s=%s,%s=%s", CLI_LABEL_NODE_TYPE,
                     CLI_LABEL_GROUP, gname, CLI_LABEL_CLUSTER, cname);
            popts.label_selector = psel;
            if (list_json(ctx, &cli_res_pods, cns, &popts, &pods, &err) != 0) {
                cli_fail(ctx, "%s", cli_api_msg(&err));
                goto out;
            }
            int arc = cli_workergroup_row(rcl, group, cli_ready_workers(pods), all, &t);
            json_decref(pods);
            if (arc != 0) {
                cli_fail(ctx, "out of memory");
                goto out;
            }
        }
    }
    if (name && found == 0) {
        scope_phrase(all, ns, cluster, scope, sizeof(scope));
        cli_fail(ctx, "Ray worker group %s not found%s", name, scope);
        goto out;
    }
    rc = print_table(ctx, &t);
out:
    cli_table_release(&t);
    json_decref(list);
    return rc;
}
