/* job.c - `job submit` (spec kubectl-ray.md §4.8): an InteractiveMode RayJob (generated, or from
 * -f), then, once its RayCluster is ready, `ray job submit` run locally against the cluster's
 * dashboard, and the RayJob followed to a terminal status.
 *
 * Without --address, as KubeRay port-forwards service/<head>:8265 in-process, a forwarder process
 * (forked, so the TLS sessions it uses are its own) listens on 127.0.0.1:8265 and forwards each
 * connection, in a process of its own, to the head pod's dashboard port through the API server
 * (kube/portforward.h). It forwards to the Running head pod, which is what kubectl's service
 * forward resolves to. The listener is 127.0.0.1 only (kubectl also listens on [::1]). */
#define _GNU_SOURCE /* pipe2, prctl */
#include "cli/cli.h"
#include "cli/jobgen.h"
#include "kube/portforward.h"
#include "util/fileio.h"
#include "util/gojson.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define JOB_FILE_MAX          (4u * 1024 * 1024)
#define POLL_INTERVAL_S       2
#define CLUSTER_READY_WAIT_S  120
#define RELAY_LINE_MAX        (1u << 20)
#define DEFAULT_DASHBOARD_URL "http://localhost:8265"
#define DASHBOARD_PORT        8265
#define FORWARD_WAIT_S        60 /* for the forward to answer, and for a Running head pod */
#define FORWARD_PROBE_S       5  /* timeout of one probe GET */
#define FORWARD_OPEN_MS       30000
#define LISTEN_BACKLOG        16
#define PROBE_REQUEST         "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"

struct job_run {
    struct cli_ctx *ctx;
    const struct cli_args *a;
    const char *ns;
    struct krc_strbuf entry;
    char runtime_env[4096], filename[4096];
    const char *working_dir;
    char *working_dir_owned;
    char *runtime_env_json; /* from the file's runtimeEnvYAML */
    bool shutdown;
    long long ttl;
    json_t *file_job; /* -f: the decoded RayJob */
    char name[256];
    char cluster[256]; /* status.rayClusterName, once known */
};

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static int check_regular_file(struct cli_ctx *ctx, const char *path, const char *missing,
                              const char *other)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return cli_fail(ctx, "%s. Failed with: stat %s: no such file or directory", missing,
                            path);
        return cli_fail(ctx, "%s: stat %s: %s", other, path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return cli_fail(ctx, "Filename given is not a regular file. Failed with: %%!w(<nil>)");
    return 0;
}

static int read_yaml(const char *path, json_t **doc, struct krc_error *err)
{
    struct krc_strbuf text = KRC_STRBUF_INIT;
    int rc = krc_file_read(path, JOB_FILE_MAX, &text, err);
    if (rc == 0)
        rc = gojson_yaml_to_json(text.buf, text.len, doc, err);
    krc_strbuf_release(&text);
    return rc;
}

/* Validation rules 1-8 of §4.8, in order. */
static int validate(struct job_run *r)
{
    struct cli_ctx *ctx = r->ctx;
    const struct cli_args *a = r->a;
    struct krc_error err;
    char cause[512];

    for (size_t i = 0; i < a->ndash; i++)
        if (krc_strbuf_addf(&r->entry, "%s%s", i ? " " : "", a->dash[i]) != 0)
            return cli_fail(ctx, "out of memory");
    if (!a->dash_seen || r->entry.len == 0)
        return cli_usage_error(ctx, "submit [OPTIONS] -f/--filename RAYJOB_YAML -- ENTRYPOINT");
    if (cli_namespace(ctx, &r->ns) != 0)
        return CLI_FAIL;
    r->runtime_env[0] = r->filename[0] = '\0';
    if (*cli_flag_str(a, "runtime-env"))
        cli_path_clean(cli_flag_str(a, "runtime-env"), r->runtime_env, sizeof(r->runtime_env));
    if (*cli_flag_str(a, "filename"))
        cli_path_clean(cli_flag_str(a, "filename"), r->filename, sizeof(r->filename));
    r->working_dir = cli_flag_str(a, "working-dir");

    if (r->runtime_env[0]) {
        json_t *env = NULL;
        if (check_regular_file(ctx, r->runtime_env, "Runtime Env file does not exist",
                               "Error occurred when checking runtime env file") != 0)
            return CLI_FAIL;
        if (read_yaml(r->runtime_env, &env, &err) != 0)
            return cli_fail(ctx, "Error while checking runtime env: %s", err.msg);
        const char *wd = json_string_value(json_object_get(env, "working_dir"));
        if (wd && !*r->working_dir) {
            if (!(r->working_dir_owned = strdup(wd))) {
                json_decref(env);
                return cli_fail(ctx, "out of memory");
            }
            r->working_dir = r->working_dir_owned;
        }
        json_decref(env);
    }
    r->ttl = cli_flag_int(a, "ttl-seconds-after-finished");
    r->shutdown = cli_flag_changed(a, "ttl-seconds-after-finished");
    if (r->ttl < 0)
        return cli_fail(ctx, "--ttl-seconds-after-finished must be greater than or equal to 0");

    if (r->filename[0]) {
        if (check_regular_file(ctx, r->filename, "Ray Job file does not exist",
                               "Error occurred when checking Ray job file") != 0)
            return CLI_FAIL;
        if (read_yaml(r->filename, &r->file_job, &err) != 0)
            return cli_fail(ctx, "Failed to decode RayJob Yaml: %s", err.msg);
        const char *api = json_string_value(json_object_get(r->file_job, "apiVersion"));
        const char *kind = json_string_value(json_object_get(r->file_job, "kind"));
        if (!api || !kind)
            return cli_fail(ctx, "Failed to decode RayJob Yaml: Object 'Kind' is missing in "
                                 "the file");
        if (strcmp(api, "ray.io/v1") != 0 || strcmp(kind, "RayJob") != 0)
            return cli_fail(ctx,
                            "Failed to decode RayJob Yaml: no kind \"%s\" is registered "
                            "for version \"%s\"",
                            kind, api);
        json_t *spec = json_object_get(r->file_job, "spec");
        if (!json_is_object(spec)) {
            spec = json_object();
            if (!spec || json_object_set_new(r->file_job, "spec", spec) != 0)
                return cli_fail(ctx, "out of memory");
        }
        const char *mode = json_string_value(json_object_get(spec, "submissionMode"));
        if (!mode || strcmp(mode, "InteractiveMode") != 0)
            return cli_fail(ctx, "Submission mode of the Ray Job must be set to "
                                 "'InteractiveMode'");
        if (json_integer_value(json_object_get(spec, "backoffLimit")) > 0)
            return cli_fail(ctx, "BackoffLimit is incompatible with InteractiveMode");
        const char *env_yaml = json_string_value(json_object_get(spec, "runtimeEnvYAML"));
        if (!r->runtime_env[0] && !*cli_flag_str(a, "runtime-env-json") && env_yaml && *env_yaml) {
            json_t *env = NULL;
            struct krc_strbuf js = KRC_STRBUF_INIT;
            if (gojson_yaml_to_json(env_yaml, strlen(env_yaml), &env, &err) != 0 ||
                gojson_encode(env, &js, &err) != 0) {
                json_decref(env);
                krc_strbuf_release(&js);
                return cli_fail(ctx, "Failed to convert runtime env to json: %s", err.msg);
            }
            json_decref(env);
            r->runtime_env_json = krc_strbuf_detach(&js);
            if (!r->runtime_env_json)
                return cli_fail(ctx, "out of memory");
        }
        if (r->shutdown &&
            (json_object_set_new(spec, "ttlSecondsAfterFinished", json_integer(r->ttl)) != 0 ||
             json_object_set_new(spec, "shutdownAfterJobFinishes", json_true()) != 0))
            return cli_fail(ctx, "out of memory");
        long long fttl = json_integer_value(json_object_get(spec, "ttlSecondsAfterFinished"));
        if (fttl < 0)
            return cli_fail(ctx, "ttlSecondsAfterFinished must be greater than or equal to 0");
        if (fttl > 0 && !json_is_true(json_object_get(spec, "shutdownAfterJobFinishes")))
            return cli_fail(ctx, "ttlSecondsAfterFinished is only supported when "
                                 "shutdownAfterJobFinishes is set to true");
    } else if (blank(cli_flag_str(a, "name"))) {
        return cli_fail(ctx, "Must set either yaml file (--filename) or set Ray job name (--name)");
    }
    if (!*r->working_dir)
        return cli_fail(ctx,
                        "working directory is required, use --working-dir or set with runtime env");
    static const char *const quantities[] = {"head-cpu",   "head-gpu",   "head-memory",
                                             "worker-cpu", "worker-gpu", "worker-memory"};
    for (size_t i = 0; i < sizeof(quantities) / sizeof(quantities[0]); i++) {
        const char *v = cli_flag_str(a, quantities[i]);
        if ((*v || cli_flag_changed(a, quantities[i])) &&
            cli_validate_quantity(v, quantities[i], cause, sizeof(cause)) != 0)
            return cli_fail(ctx, "%s", cause);
    }
    if (cli_flag_changed(a, "address") && blank(cli_flag_str(a, "address")))
        return cli_fail(ctx, "--address was provided but is empty");
    return 0;
}

/* The generated RayJob of rule 2 (no -f). */
static int generated_job(struct job_run *r, const char *job_id, json_t **job, struct krc_error *err)
{
    const struct cli_args *a = r->a;
    struct cli_cluster_model m;
    struct cli_group_model g;

    memset(&m, 0, sizeof(m));
    memset(&g, 0, sizeof(g));
    m.ray_version = cli_flag_str(a, "ray-version");
    m.image = cli_flag_str(a, "image");
    m.head.cpu = cli_flag_str(a, "head-cpu");
    m.head.memory = cli_flag_str(a, "head-memory");
    m.head.gpu = cli_flag_str(a, "head-gpu");
    m.head.node_selectors = cli_flag(a, "head-node-selectors")->map;
    g.name = "default-group";
    g.replicas = cli_flag_int(a, "worker-replicas");
    g.cpu = cli_flag_str(a, "worker-cpu");
    g.memory = cli_flag_str(a, "worker-memory");
    g.gpu = cli_flag_str(a, "worker-gpu");
    g.node_selectors = cli_flag(a, "worker-node-selectors")->map;
    m.groups = &g;
    m.ngroups = 1;
    struct cli_job_model jm = {
        cli_flag_str(a, "name"), r->ns, r->entry.buf, job_id, r->ttl, r->shutdown, &m};
    return cli_gen_rayjob(&jm, job, err);
}

static int get_json(struct cli_ctx *ctx, const struct krc_resource *res, const char *ns,
                    const char *name, json_t **doc, struct krc_error *err)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    int rc = krc_client_get(ctx->client, res, ns, name, &body, err);
    if (rc == 0)
        rc = krc_client_parse_json(&body, doc, err);
    krc_strbuf_release(&body);
    return rc;
}

static bool cluster_ready(const json_t *rc)
{
    const json_t *st = json_object_get(rc, "status");
    const char *state = json_string_value(json_object_get(st, "state"));
    if (state && strcmp(state, "ready") == 0)
        return true;
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *status = json_string_value(json_object_get(c, "status"));
        if (type && status && strcmp(type, "Ready") == 0 && strcmp(status, "True") == 0)
            return true;
    }
    return false;
}

/* Rules 4-6: the RayJob's cluster name, then up to 120 s for the cluster to be ready. */
static int wait_cluster(struct job_run *r)
{
    struct cli_ctx *ctx = r->ctx;
    struct krc_error err;
    char cluster[256] = "";

    for (;;) {
        json_t *job = NULL;
        if (get_json(ctx, &cli_res_rayjobs, r->ns, r->name, &job, &err) != 0)
            return cli_fail(ctx, "Failed to get Ray Job status");
        const char *c =
            json_string_value(json_object_get(json_object_get(job, "status"), "rayClusterName"));
        if (c && *c)
            snprintf(cluster, sizeof(cluster), "%s", c);
        json_decref(job);
        sleep(POLL_INTERVAL_S);
        if (cluster[0])
            break;
    }
    snprintf(r->cluster, sizeof(r->cluster), "%s", cluster);
    fprintf(ctx->out, "Waiting for RayCluster\nChecking Cluster Status for cluster %s...\n",
            cluster);
    fflush(ctx->out);
    time_t start = time(NULL);
    while (time(NULL) - start <= CLUSTER_READY_WAIT_S) {
        json_t *rc = NULL;
        sleep(POLL_INTERVAL_S);
        if (get_json(ctx, &cli_res_rayclusters, r->ns, cluster, &rc, &err) != 0)
            return cli_fail(ctx, "Failed to get cluster information with error: %s",
                            cli_api_msg(&err));
        bool ready = cluster_ready(rc);
        json_decref(rc);
        if (ready)
            return 0;
        fprintf(ctx->out, "Cluster is not ready\n");
        fflush(ctx->out);
    }
    fprintf(ctx->out, "Deleting RayJob...\n");
    if (krc_client_delete(ctx->client, &cli_res_rayjobs, r->ns, r->name, NULL, NULL, &err) != 0)
        return cli_fail(ctx, "Failed to clean up Ray job after time out.: %s", cli_api_msg(&err));
    fprintf(ctx->out, "Cleaned Up RayJob: %s\n", r->name);
    return cli_fail(ctx, "Timed out waiting for cluster");
}

/* Relays complete non-empty lines of fd to out; returns -1 at EOF. */
static int relay(int fd, struct krc_strbuf *pending, FILE *out)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        if (pending->len)
            fprintf(out, "%s\n", pending->buf);
        krc_strbuf_reset(pending);
        return -1;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            if (pending->len)
                fprintf(out, "%s\n", pending->buf);
            krc_strbuf_reset(pending);
        } else if (pending->len < RELAY_LINE_MAX) {
            (void)krc_strbuf_addch(pending, buf[i]);
        }
    }
    fflush(out);
    return 0;
}

/* The name of a Running head pod of r->cluster into pod[size], waiting up to FORWARD_WAIT_S. */
static int head_pod(struct job_run *r, char *pod, size_t size)
{
    struct cli_ctx *ctx = r->ctx;
    char selector[320];
    snprintf(selector, sizeof(selector), "ray.io/cluster=%s,ray.io/node-type=head", r->cluster);
    struct krc_list_opts opts = {.label_selector = selector};
    time_t start = time(NULL);
    for (;;) {
        struct krc_strbuf body = KRC_STRBUF_INIT;
        struct krc_error err;
        json_t *list = NULL, *item;
        size_t i;
        if (krc_client_list(ctx->client, &cli_res_pods, r->ns, &opts, &body, &err) != 0 ||
            krc_client_parse_json(&body, &list, &err) != 0) {
            krc_strbuf_release(&body);
            return cli_fail(ctx, "unable to find the head pod: %s", cli_api_msg(&err));
        }
        krc_strbuf_release(&body);
        pod[0] = '\0';
        json_array_foreach(json_object_get(list, "items"), i, item)
        {
            const char *phase =
                json_string_value(json_object_get(json_object_get(item, "status"), "phase"));
            const char *name =
                json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
            if (phase && name && strcmp(phase, "Running") == 0 && !pod[0])
                snprintf(pod, size, "%s", name);
        }
        json_decref(list);
        if (pod[0])
            return 0;
        if (time(NULL) - start > FORWARD_WAIT_S)
            return cli_fail(ctx, "timed out waiting for a running head pod of %s", r->cluster);
        sleep(POLL_INTERVAL_S);
    }
}

/* One forwarded connection, in a process of its own; never returns. */
static void forward_connection(struct cli_ctx *ctx, const char *ns, const char *pod, int fd)
{
    struct krc_portforward_opts o = {
        .ns = ns, .pod = pod, .port = DASHBOARD_PORT, .timeout_ms = FORWARD_OPEN_MS};
    struct krc_portforward *pf = NULL;
    struct krc_error err;
    int rc = krc_portforward_open(ctx->client, &o, &pf, &err);
    if (rc == 0)
        rc = krc_portforward_pipe(pf, fd, &err);
    if (rc)
        fprintf(ctx->errout, "E portforward: %s\n", err.msg);
    krc_portforward_free(pf);
    close(fd);
    fflush(NULL);
    _exit(rc ? 1 : 0);
}

/* The forwarder process: accepts on lfd, a child per connection; never returns. */
static void forwarder(struct cli_ctx *ctx, const char *ns, const char *pod, int lfd)
{
    (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
    (void)signal(SIGCHLD, SIG_IGN); /* connection children are reaped by the kernel */
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(ctx->errout, "error: accept: %s\n", strerror(errno));
            _exit(1);
        }
        fprintf(ctx->out, "Handling connection for %d\n", DASHBOARD_PORT);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
            close(lfd);
            forward_connection(ctx, ns, pod, fd);
        }
        if (pid < 0)
            fprintf(ctx->errout, "error: fork: %s\n", strerror(errno));
        close(fd);
    }
}

/* Rule 7: listens on 127.0.0.1:8265 and starts the forwarder process (*pid). */
static int start_forward(struct job_run *r, pid_t *pid)
{
    struct cli_ctx *ctx = r->ctx;
    struct cli_ref ref = {CLI_REF_RAYJOB, r->name};
    char svc[256], pod[256];
    if (cli_head_service(ctx, &ref, r->ns, svc, sizeof(svc)) != 0) {
        char why[512];
        snprintf(why, sizeof(why), "%s", ctx->err.buf);
        return cli_fail(ctx, "Failed to find service name: %s", why);
    }
    fprintf(ctx->out, "Port forwarding service %s\n", svc);
    if (head_pod(r, pod, sizeof(pod)) != 0)
        return CLI_FAIL;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(DASHBOARD_PORT)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, LISTEN_BACKLOG) != 0) {
        int e = errno;
        if (lfd >= 0)
            close(lfd);
        return cli_fail(ctx, "unable to listen on port %d: %s", DASHBOARD_PORT, strerror(e));
    }
    fprintf(ctx->out, "Forwarding from 127.0.0.1:%d -> %d\n", DASHBOARD_PORT, DASHBOARD_PORT);
    fflush(NULL);
    *pid = fork();
    if (*pid == 0)
        forwarder(ctx, r->ns, pod, lfd);
    int e = errno;
    close(lfd);
    if (*pid < 0)
        return cli_fail(ctx, "fork: %s", strerror(e));
    return 0;
}

/* One GET of http://localhost:8265: 0 for a 2xx answer, 1 for another, -1 with why[] else. */
static int probe_dashboard(char *why, size_t size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(DASHBOARD_PORT)};
    struct timeval tv = {FORWARD_PROBE_S, 0};
    char buf[64] = "";
    ssize_t got = 0, n;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        send(fd, PROBE_REQUEST, strlen(PROBE_REQUEST), MSG_NOSIGNAL) < 0) {
        snprintf(why, size, "Get \"http://localhost:%d\": %s", DASHBOARD_PORT, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (got < (ssize_t)sizeof(buf) - 1 &&
           (n = recv(fd, buf + got, sizeof(buf) - 1 - (size_t)got, 0)) > 0)
        got += n;
    close(fd);
    buf[got] = '\0';
    const char *sp = strchr(buf, ' ');
    if (strncmp(buf, "HTTP/", 5) != 0 || !sp) {
        snprintf(why, size, "Get \"http://localhost:%d\": EOF", DASHBOARD_PORT);
        return -1;
    }
    return sp[1] == '2' ? 0 : 1;
}

/* Rule 7: waits for the forward to answer. */
static int wait_forward(struct cli_ctx *ctx)
{
    char why[256];
    fprintf(ctx->out, "Waiting for port forwarding...");
    fflush(ctx->out);
    time_t start = time(NULL);
    while (time(NULL) - start <= FORWARD_WAIT_S) {
        sleep(POLL_INTERVAL_S);
        int rc = probe_dashboard(why, sizeof(why));
        if (rc == 0) {
            fprintf(ctx->out, "Port forwarding started on %s\n", DEFAULT_DASHBOARD_URL);
            fflush(ctx->out);
            return 0;
        }
        if (rc < 0)
            fprintf(ctx->out, "Error occurred when waiting for port forwarding: %s\n", why);
        fflush(ctx->out);
    }
    return cli_fail(ctx, "Timed out waiting for port forwarding");
}

/* Rule 9-10: runs `ray` with argv, relaying its output; 0 when it exits 0. */
static int run_ray(struct cli_ctx *ctx, const json_t *argv)
{
    size_t n = json_array_size(argv);
    char **args = calloc(n + 1, sizeof(*args));
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, rc = CLI_FAIL;
    struct krc_strbuf po = KRC_STRBUF_INIT, pe = KRC_STRBUF_INIT;
    pid_t pid = -1;

    if (!args)
        return cli_fail(ctx, "out of memory");
    for (size_t i = 0; i < n; i++)
        args[i] = (char *)(uintptr_t)json_string_value(json_array_get(argv, i));
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        cli_fail(ctx, "error occurred while running command: %s", strerror(errno));
        goto done;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        cli_fail(ctx, "error occurred while running command: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(errp[1], STDERR_FILENO) < 0)
            _exit(127);
        execvp("ray", args);
        dprintf(STDERR_FILENO, "exec ray: %s\n", strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(errp[1]);
    out[1] = errp[1] = -1;
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (relay(fds[k].fd, k == 0 ? &po : &pe, k == 0 ? ctx->out : ctx->errout) < 0) {
                close(fds[k].fd);
                fds[k].fd = -1;
                open_fds--;
            }
        }
    }
    out[0] = errp[0] = -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        rc = 0;
    else if (WIFEXITED(status))
        cli_fail(ctx, "Error occurred with Ray job submit: exit status %d", WEXITSTATUS(status));
    else
        cli_fail(ctx, "Error occurred with Ray job submit: signal: %s",
                 strsignal(WTERMSIG(status)));
done:
    for (int k = 0; k < 2; k++) {
        if (out[k] >= 0)
            close(out[k]);
        if (errp[k] >= 0)
            close(errp[k]);
    }
    krc_strbuf_release(&po);
    krc_strbuf_release(&pe);
    free(args);
    return rc;
}

struct follow {
    struct cli_ctx *ctx;
    const char *name;
    int outcome; /* 0 running, 1 finished, 2 failed */
};

static int on_job_event(void *arg, const char *line, size_t len)
{
    struct follow *f = arg;
    json_t *ev = json_loadb(line, len, 0, NULL);
    const json_t *obj = json_object_get(ev, "object");
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    int rc = 0;

    if (!kind || strcmp(kind, "RayJob") != 0) {
        fprintf(f->ctx->errout, "unexpected watch event type %s\n", kind ? kind : "<nil>");
        json_decref(ev);
        return 0;
    }
    const json_t *st = json_object_get(obj, "status");
    const char *status = json_string_value(json_object_get(st, "jobStatus"));
    const char *id = json_string_value(json_object_get(st, "jobId"));
    const char *msg = json_string_value(json_object_get(st, "message"));
    status = status ? status : "";
    id = id && *id ? id : "unknown";
    fprintf(f->ctx->out, "Current status: %s (RayJob: %s, JobID: %s)\n", status, f->name, id);
    fflush(f->ctx->out);
    if (strcmp(status, "SUCCEEDED") == 0 || strcmp(status, "STOPPED") == 0) {
        fprintf(f->ctx->out, "Job %s finished with status %s.\n", id, status);
        f->outcome = 1;
        rc = 1;
    } else if (strcmp(status, "FAILED") == 0) {
        if (msg && *msg)
            cli_fail(f->ctx, "job %s failed: %s", id, msg);
        else
            cli_fail(f->ctx, "job %s failed with status FAILED", id);
        f->outcome = 2;
        rc = 1;
    }
    json_decref(ev);
    return rc;
}

static int follow_job(struct job_run *r)
{
    struct follow f = {r->ctx, r->name, 0};
    char fsel[512];
    struct krc_list_opts opts = {0};
    struct krc_stream_opts sopts = {0};
    struct krc_error err;

    snprintf(fsel, sizeof(fsel), "metadata.name=%s", r->name);
    opts.field_selector = fsel;
    sopts.on_line = on_job_event;
    sopts.ctx = &f;
    /* The watch is opened before "Waiting for job to finish..." in KubeRay; a setup failure
     * prints nothing. Our client opens it lazily, so the line comes first. */
    fprintf(r->ctx->out, "Waiting for job to finish...\n");
    fflush(r->ctx->out);
    int rc = krc_client_watch(r->ctx->client, &cli_res_rayjobs, r->ns, &opts, &sopts, &err);
    if (f.outcome == 1)
        return 0;
    if (f.outcome == 2)
        return CLI_FAIL;
    if (rc < 0)
        return cli_fail(r->ctx, "failed to watch RayJob: %s", cli_api_msg(&err));
    fprintf(r->ctx->errout, "rayjob %s watch ended without a clear terminal state\n", r->name);
    return 0;
}

int cli_run_job_submit(struct cli_ctx *ctx, const struct cli_args *a)
{
    struct job_run r;
    struct krc_error err;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *job = NULL, *argv = NULL;
    char id_buf[64], cause[512];
    const char *job_id = cli_flag_str(a, "submission-id");
    int rc = CLI_FAIL;
    pid_t forward_pid = -1;

    memset(&r, 0, sizeof(r));
    r.ctx = ctx;
    r.a = a;
    krc_strbuf_init(&r.entry, 0);
    if (validate(&r) != 0 || cli_client(ctx, "failed to initialize clientset") != 0)
        goto out;
    if (!*job_id) {
        if (cli_submission_id(id_buf, sizeof(id_buf)) != 0) {
            cli_fail(ctx, "failed to generate a submission ID");
            goto out;
        }
        job_id = id_buf;
        fprintf(ctx->out, "Generated submission ID for Ray job: %s\n", job_id);
    }
    if (!r.file_job) {
        if (generated_job(&r, job_id, &job, &err) != 0) {
            cli_fail(ctx, "Failed to generate RayJob: %s", err.msg);
            goto out;
        }
        if (cli_flag_bool(a, "dry-run")) {
            if (cli_gen_dry_run(job, &out, &err) != 0) {
                cli_fail(ctx, "%s", err.msg);
                goto out;
            }
            fwrite(out.buf, 1, out.len, ctx->out);
            rc = 0;
            goto out;
        }
        char *body = json_dumps(job, JSON_COMPACT);
        struct krc_write_opts wopts = {.field_manager = CLI_FIELD_MANAGER};
        const char *name = cli_flag_str(a, "name");
        int prc = body ? krc_client_patch(ctx->client, &cli_res_rayjobs, r.ns, name, NULL,
                                          KRC_PATCH_APPLY, body, strlen(body), &wopts, &out, &err)
                       : krc_error_set(&err, KRC_ENOMEM, "out of memory");
        free(body);
        if (prc != 0) {
            cli_fail(ctx, "Failed to apply generated YAML: %s", cli_api_msg(&err));
            goto out;
        }
    } else {
        json_t *spec = json_object_get(r.file_job, "spec");
        struct krc_write_opts wopts = {.field_manager = CLI_FIELD_MANAGER};
        if (json_object_set_new(spec, "jobId", json_string(job_id)) != 0) {
            cli_fail(ctx, "out of memory");
            goto out;
        }
        char *body = json_dumps(r.file_job, JSON_COMPACT);
        int crc = body ? krc_client_create(ctx->client, &cli_res_rayjobs, r.ns, body, strlen(body),
                                           &wopts, &out, &err)
                       : krc_error_set(&err, KRC_ENOMEM, "out of memory");
        free(body);
        if (crc != 0) {
            cli_fail(ctx, "Error when creating RayJob CR: %s", cli_api_msg(&err));
            goto out;
        }
    }
    json_t *created = NULL;
    if (krc_client_parse_json(&out, &created, &err) != 0) {
        cli_fail(ctx, "%s", err.msg);
        goto out;
    }
    snprintf(r.name, sizeof(r.name), "%s",
             json_string_value(json_object_get(json_object_get(created, "metadata"), "name"))
                 ? json_string_value(json_object_get(json_object_get(created, "metadata"), "name"))
                 : "");
    json_decref(created);
    fprintf(ctx->out, "Submitted RayJob %s.\n", r.name);
    fflush(ctx->out);
    if (wait_cluster(&r) != 0)
        goto out;
    const char *address = cli_flag_str(a, "address");
    if (!cli_flag_changed(a, "address")) {
        if (start_forward(&r, &forward_pid) != 0 || wait_forward(ctx) != 0)
            goto out;
    } else {
        fprintf(ctx->out, "Using address %s (no port-forwarding)\n", address);
    }
    struct cli_submit_opts so = {
        .address = *address ? address : DEFAULT_DASHBOARD_URL,
        .runtime_env = r.runtime_env,
        .runtime_env_json = *cli_flag_str(a, "runtime-env-json")
                                ? cli_flag_str(a, "runtime-env-json")
                                : r.runtime_env_json,
        .submission_id = job_id,
        .entrypoint_num_cpus = cli_flag(a, "entrypoint-num-cpus")->f,
        .entrypoint_num_gpus = cli_flag(a, "entrypoint-num-gpus")->f,
        .entrypoint_memory = cli_flag_int(a, "entrypoint-memory"),
        .entrypoint_resources = cli_flag_str(a, "entrypoint-resources"),
        .metadata_json = cli_flag_str(a, "metadata-json"),
        .no_wait = cli_flag_bool(a, "no-wait"),
        .headers = cli_flag_str(a, "headers"),
        .verify = cli_flag_str(a, "verify"),
        .log_style = cli_flag_str(a, "log-style"),
        .log_color = cli_flag_str(a, "log-color"),
        .verbose = cli_flag_bool(a, "verbose"),
        .working_dir = r.working_dir,
        .entrypoint = r.entry.buf,
    };
    if (cli_submit_argv(&so, &argv, cause, sizeof(cause)) != 0) {
        cli_fail(ctx, "failed to create Ray submit command with error: %s", cause);
        goto out;
    }
    fprintf(ctx->out, "Ray command: [");
    for (size_t i = 0; i < json_array_size(argv); i++)
        fprintf(ctx->out, "%s%s", i ? " " : "", json_string_value(json_array_get(argv, i)));
    fprintf(ctx->out, "]\nRunning Ray submit job command...\n");
    fflush(ctx->out);
    if (run_ray(ctx, argv) != 0)
        goto out;
    if (so.no_wait) {
        fprintf(ctx->out, "Ray job submitted with ID %s\n", job_id);
        rc = 0;
        goto out;
    }
    rc = follow_job(&r);
out:
    if (forward_pid > 0) {
        (void)kill(forward_pid, SIGTERM);
        while (waitpid(forward_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    json_decref(job);
    json_decref(argv);
    json_decref(r.file_job);
    free(r.working_dir_owned);
    free(r.runtime_env_json);
    krc_strbuf_release(&r.entry);
    krc_strbuf_release(&out);
    return rc;
}
