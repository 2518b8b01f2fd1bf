/* log.c - `log (NAME | TYPE/NAME)` (spec kubectl-ray.md §4.9): the logs of a Ray cluster's pods
 * into <out-dir>/<pod>/, or with --link gke a Cloud Logging URL.
 *
 * As KubeRay: each pod's stdout.log (its first container's current log, read through pods/log),
 * then the Ray session logs: `tar` of /tmp/ray/session_latest/logs run in the pod through
 * pods/exec (kube/exec.h, WebSocket where KubeRay uses SPDY) and extracted as it streams in
 * (untar.h) into <out-dir>/<pod>/. Unlike KubeRay, an archive entry that would land outside that
 * directory is refused, and tar's exit code 1 (a log file grew while it was read, which GNU tar
 * reports even with --warning=no-file-changed) is a warning, not a failure. */
#include "cli/cli.h"
#include "cli/untar.h"
#include "kube/exec.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_MODE         0755
#define FILE_MODE        0644
#define GKE_URL          "https://console.cloud.google.com/logs/query;query="
#define RAY_LOGS         "/tmp/ray/session_latest/logs/"
#define TAR_FILE_CHANGED 1 /* GNU tar: "some files differ" (changed while read) */

const char *cli_check_node_type(const char *v, char *out, size_t size)
{
    size_t n = strlen(v);
    static const char *const bad = "must be one of \"all\", \"head\", or \"worker\"";
    if (n + 1 > size)
        return bad;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)v[i]);
    if (strcmp(out, "all") != 0 && strcmp(out, "head") != 0 && strcmp(out, "worker") != 0)
        return bad;
    return NULL;
}

/* mkdir -p with mode; 0 or errno. */
static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(buf))
        return ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return errno;
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* Go's url.QueryEscape. */
static int query_escape(const char *s, struct krc_strbuf *out)
{
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            rc = krc_strbuf_addch(out, (char)*p);
        else if (*p == ' ')
            rc = krc_strbuf_addch(out, '+');
        else
            rc = krc_strbuf_addf(out, "%%%02X", *p);
    }
    return rc;
}

int cli_gke_log_url(const char *ns, const char *cluster, const char *node_type, const char *context,
                    struct krc_strbuf *out)
{
    struct krc_strbuf q = KRC_STRBUF_INIT;
    int rc = krc_strbuf_addf(&q,
                             "resource.type=\"k8s_container\"\n"
                             "resource.labels.namespace_name=\"%s\"\n"
                             "labels.\"k8s-pod/ray_io/cluster\"=\"%s\"\n",
                             ns, cluster);
    if (rc == 0 && strcmp(node_type, "all") == 0)
        rc = krc_strbuf_adds(&q, "labels.\"k8s-pod/ray_io/is-ray-node\"=\"yes\"");
    else if (rc == 0)
        rc = krc_strbuf_addf(&q, "labels.\"k8s-pod/ray_io/node-type\"=\"%s\"", node_type);
    if (rc == 0)
        rc = krc_strbuf_adds(out, GKE_URL);
    if (rc == 0)
        rc = query_escape(q.buf, out);
    if (rc == 0 && context && strncmp(context, "gke_", 4) == 0) {
        const char *p = context + 4, *end = strchr(p, '_');
        char project[256];
        snprintf(project, sizeof(project), "%.*s", end ? (int)(end - p) : (int)strlen(p), p);
        rc = krc_strbuf_adds(out, "?project=");
        if (rc == 0)
            rc = query_escape(project, out);
    }
    krc_strbuf_release(&q);
    return rc == 0 ? 0 : CLI_FAIL;
}

static int resolve_cluster(struct cli_ctx *ctx, const struct cli_ref *ref, const char *ns,
                           char *cluster, size_t size)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct krc_error err;
    json_t *obj = NULL;
    int rc = 0;

    if (ref->type == CLI_REF_RAYCLUSTER) {
        snprintf(cluster, size, "%s", ref->name);
        return 0;
    }
    const struct krc_resource *res =
        ref->type == CLI_REF_RAYJOB ? &cli_res_rayjobs : &cli_res_rayservices;
    if (krc_client_get(ctx->client, res, ns, ref->name, &body, &err) != 0 ||
        krc_client_parse_json(&body, &obj, &err) != 0) {
        rc = cli_fail(ctx, "failed to retrieve Ray job info for %s: %s", ref->name,
                      cli_api_msg(&err));
        goto out;
    }
    const json_t *st = json_object_get(obj, "status");
    if (ref->type == CLI_REF_RAYSERVICE)
        st = json_object_get(st, "activeServiceStatus");
    const char *name = json_string_value(json_object_get(st, "rayClusterName"));
    snprintf(cluster, size, "%s", name ? name : "");
out:
    json_decref(obj);
    krc_strbuf_release(&body);
    return rc;
}

static int gke_link(struct cli_ctx *ctx, const char *ns, const char *cluster, const char *node_type)
{
    struct krc_list_opts opts = {0};
    struct krc_strbuf body = KRC_STRBUF_INIT, url = KRC_STRBUF_INIT;
    struct krc_error err;
    json_t *pods = NULL;
    char sel[512];

    snprintf(sel, sizeof(sel), "%s=head,%s=%s", CLI_LABEL_NODE_TYPE, CLI_LABEL_CLUSTER, cluster);
    opts.label_selector = sel;
    if (krc_client_list(ctx->client, &cli_res_pods, ns, &opts, &body, &err) == 0 &&
        krc_client_parse_json(&body, &pods, &err) == 0) {
        const json_t *head = json_array_get(json_object_get(pods, "items"), 0);
        if (head) {
            bool fluentbit = false;
            size_t i;
            const json_t *c;
            json_array_foreach(json_object_get(json_object_get(head, "spec"), "containers"), i, c)
            {
                const char *n = json_string_value(json_object_get(c, "name"));
                fluentbit = fluentbit || (n && strcmp(n, "fluentbit") == 0);
            }
            if (!fluentbit)
                fprintf(ctx->errout, "Warning: The head pod does not have a 'fluentbit' "
                                     "container. Logs might not be exported to Google Cloud "
                                     "Logging.\n");
        }
    }
    json_decref(pods);
    krc_strbuf_release(&body);
    const char *context = ctx->cfg.context;
    if (!context || strncmp(context, "gke_", 4) != 0)
        fprintf(ctx->errout, "Warning: The current kubectl context does not appear to be a GKE "
                             "cluster. The generated link may not work.\n");
    if (cli_gke_log_url(ns, cluster, node_type, context, &url) != 0) {
        krc_strbuf_release(&url);
        return cli_fail(ctx, "out of memory");
    }
    fprintf(ctx->out, "%s\n", url.buf);
    krc_strbuf_release(&url);
    return 0;
}

static int write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, FILE_MODE);
    if (fd < 0)
        return errno;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return e;
        }
        off += (size_t)n;
    }
    return close(fd) == 0 ? 0 : errno;
}

/* One pod's session-log download. */
struct download {
    struct cli_ctx *ctx;
    const char *pod;
    struct cli_untar *untar;
    int announced;
    int untar_failed;
    char why[1024];
};

static void announce(struct download *d)
{
    if (!d->announced)
        fprintf(d->ctx->out, "Downloading log for Ray Node %s\n", d->pod);
    d->announced = 1;
}

static int on_tar_output(void *p, int channel, const char *data, size_t len)
{
    struct download *d = p;
    if (channel == KRC_EXEC_STDERR) { /* tar's complaints, as KubeRay passes them through */
        fwrite(data, 1, len, d->ctx->errout);
        return 0;
    }
    if (cli_untar_feed(d->untar, data, len, d->why, sizeof(d->why)) != 0) {
        d->untar_failed = 1;
        return KRC_EINVAL;
    }
    if (cli_untar_entries(d->untar) > 0)
        announce(d);
    return 0;
}

/* Streams the pod's Ray session logs into dir. */
static int download_ray_logs(struct cli_ctx *ctx, const char *ns, const char *pod,
                             const char *container, const char *dir)
{
    static const char *const argv[] = {
        "tar", "--warning=no-file-changed", "-cf", "-", "-C", RAY_LOGS, "."};
    struct download d = {.ctx = ctx, .pod = pod};
    struct krc_exec_opts o = {.ns = ns,
                              .pod = pod,
                              .container = container,
                              .argv = argv,
                              .argc = sizeof(argv) / sizeof(argv[0]),
                              .want_stderr = 1,
                              .on_output = on_tar_output,
                              .ctx = &d};
    struct krc_exec_result res;
    struct krc_error err = {0, ""};
    int rc = 0;

    if (!(d.untar = cli_untar_new(dir, ctx->out)))
        return cli_fail(ctx, "out of memory");
    int erc = krc_exec(ctx->client, &o, &res, &err);
    if (d.untar_failed) {
        rc = cli_fail(ctx, "failed to download ray head log files with error: %s", d.why);
        goto out;
    }
    if (erc != 0) {
        rc = cli_fail(ctx, "Error occurred while calling remote command: %s", cli_api_msg(&err));
        goto out;
    }
    if (res.exit_code == TAR_FILE_CHANGED) {
        fprintf(ctx->errout, "Warning: tar in pod %s: some log files changed while being read\n",
                pod);
    } else if (res.exit_code != 0) {
        rc = cli_fail(ctx,
                      "Error occurred while calling remote command: command terminated with exit "
                      "code %d",
                      res.exit_code);
        goto out;
    }
    if (cli_untar_finish(d.untar, d.why, sizeof(d.why)) != 0) {
        rc = cli_fail(ctx, "failed to download ray head log files with error: %s", d.why);
        goto out;
    }
    announce(&d);
out:
    cli_untar_free(d.untar);
    return rc;
}

int cli_run_log(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *ns, *node_type = cli_flag_str(a, "node-type");
    const char *link = cli_flag_str(a, "link"), *out_dir = cli_flag_str(a, "out-dir");
    struct cli_ref ref;
    char cause[512], cluster[256], created[4096] = "";
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct krc_error err;
    json_t *pods = NULL;
    struct krc_strbuf *logs = NULL;
    size_t npods = 0;
    int rc = CLI_FAIL;

    if (a->npos != 1) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "accepts 1 arg, received %zu\nlog (RAYCLUSTER | TYPE/NAME) [--out-dir DIR_PATH] "
                 "[--node-type all|head|worker] [--link gke]",
                 a->npos);
        return cli_usage_error(ctx, msg);
    }
    if (cli_namespace(ctx, &ns) != 0)
        return CLI_FAIL;
    if (cli_ref_parse(a->pos[0], true, false, &ref, cause, sizeof(cause)) != 0)
        return cli_usage_error(ctx, cause);
    if (strcmp(node_type, "head") == 0)
        fprintf(ctx->out, "Command set to retrieve only head node logs.\n");
    else if (strcmp(node_type, "worker") == 0)
        fprintf(ctx->out, "Command set to retrieve only worker node logs.\n");
    else
        fprintf(ctx->out, "Command set to retrieve both head and worker node logs.\n");
    if (*link && strcmp(link, "gke") != 0)
        return cli_fail(ctx, "unsupported link type \"%s\", only \"gke\" is supported", link);
    if (*link && *out_dir)
        return cli_fail(ctx, "--out-dir is incompatible with --link");
    if (!*link) {
        if (!*out_dir) {
            fprintf(ctx->out, "No output directory specified, creating dir under current "
                              "directory using resource name.\n");
            snprintf(created, sizeof(created), "%s", ref.name);
            int e = mkdir_p(created, DIR_MODE);
            if (e != 0)
                return cli_fail(ctx, "could not create directory with cluster name %s: %s",
                                ref.name, strerror(e));
            out_dir = created;
        }
        struct stat st;
        if (stat(out_dir, &st) != 0) {
            if (errno == ENOENT)
                return cli_fail(ctx,
                                "Directory does not exist. Failed with: stat %s: no such file or "
                                "directory",
                                out_dir);
            return cli_fail(ctx, "Error occurred will checking directory: stat %s: %s", out_dir,
                            strerror(errno));
        }
        if (!S_ISDIR(st.st_mode))
            return cli_fail(ctx, "Path is not a directory. Please input a directory and try again");
    }
    if (cli_client(ctx, "failed to retrieve Kubernetes client set") != 0 ||
        resolve_cluster(ctx, &ref, ns, cluster, sizeof(cluster)) != 0)
        return CLI_FAIL;
    if (*link)
        return gke_link(ctx, ns, cluster, node_type);

    char sel[512];
    struct krc_list_opts opts = {0};
    if (strcmp(node_type, "all") == 0)
        snprintf(sel, sizeof(sel), "%s=%s", CLI_LABEL_CLUSTER, cluster);
    else
        snprintf(sel, sizeof(sel), "%s=%s,%s=%s", CLI_LABEL_NODE_TYPE, node_type, CLI_LABEL_CLUSTER,
                 cluster);
    opts.label_selector = sel;
    if (krc_client_list(ctx->client, &cli_res_pods, ns, &opts, &body, &err) != 0 ||
        krc_client_parse_json(&body, &pods, &err) != 0) {
        cli_fail(ctx, "failed to retrieve head node for Ray cluster %s: %s", cluster,
                 cli_api_msg(&err));
        goto out;
    }
    const json_t *items = json_object_get(pods, "items");
    npods = json_array_size(items);
    if (npods == 0) {
        if (created[0])
            (void)rmdir(created);
        cli_fail(ctx, "No Ray nodes found for resource %s", cluster);
        goto out;
    }
    /* Every log first, as KubeRay reads them all before writing anything. */
    if (!(logs = calloc(npods, sizeof(*logs)))) {
        cli_fail(ctx, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < npods; i++)
        krc_strbuf_init(&logs[i], 0);
    for (size_t i = 0; i < npods; i++) {
        const json_t *pod = json_array_get(items, i);
        const char *pname =
            json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
        const char *cname = json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0),
            "name"));
        struct krc_strbuf query = KRC_STRBUF_INIT;
        if (krc_query_add(&query, "container", cname ? cname : "") != 0) {
            krc_strbuf_release(&query);
            cli_fail(ctx, "out of memory");
            goto out;
        }
        struct krc_request req = {.method = "GET",
                                  .res = &cli_res_pods,
                                  .ns = ns,
                                  .name = pname,
                                  .subresource = "log",
                                  .query = query.buf,
                                  .accept = "*/*"};
        int lrc = krc_client_do(ctx->client, &req, &logs[i], &err);
        krc_strbuf_release(&query);
        if (lrc != 0) {
            cli_fail(ctx, "Error retrieving log for Ray cluster node %s: %s", pname ? pname : "",
                     cli_api_msg(&err));
            goto out;
        }
    }
    for (size_t i = 0; i < npods; i++) {
        const char *pname = json_string_value(
            json_object_get(json_object_get(json_array_get(items, i), "metadata"), "name"));
        char dir[4096 + 256], file[4096 + 300];
        snprintf(dir, sizeof(dir), "%s/%s", out_dir, pname ? pname : "");
        int e = mkdir_p(dir, DIR_MODE);
        if (e != 0) {
            cli_fail(ctx, "failed to create directory within path %s: %s", dir, strerror(e));
            goto out;
        }
        snprintf(file, sizeof(file), "%s/stdout.log", dir);
        if ((e = write_file(file, logs[i].buf, logs[i].len)) != 0) {
            cli_fail(ctx, "failed to create/open file for kuberay-head with path: %s: %s", file,
                     strerror(e));
            goto out;
        }
        const char *cname = json_string_value(json_object_get(
            json_array_get(
                json_object_get(json_object_get(json_array_get(items, i), "spec"), "containers"),
                0),
            "name"));
        if (download_ray_logs(ctx, ns, pname ? pname : "", cname, dir) != 0)
            goto out;
    }
    rc = 0;
out:
    if (logs)
        for (size_t i = 0; i < npods; i++)
            krc_strbuf_release(&logs[i]);
    free(logs);
    json_decref(pods);
    krc_strbuf_release(&body);
    return rc;
}
