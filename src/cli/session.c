/* session.c - `session (NAME | TYPE/NAME)` (spec kubectl-ray.md §4.11): find the resource's head
 * service, then run `kubectl port-forward` for the Ray ports, again every 3 s after a failure,
 * until it exits 0 or the user stops it. Running kubectl is the contract here (KubeRay's plugin
 * does the same, with only --context and the namespace passed on), not an API shortcut. */
#define _GNU_SOURCE /* pipe2 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RETRY_DELAY_S 3
#define ARGV_MAX      16

struct port {
    int number;
    const char *name;
};

static const struct port cluster_ports[] = {{8265, "Ray Dashboard"},
                                            {10001, "Ray Interactive Client"}};
static const struct port job_ports[] = {{8265, "Ray Dashboard"}};
static const struct port service_ports[] = {{8265, "Ray Dashboard"}, {8000, "Ray Serve"}};

int cli_head_service(struct cli_ctx *ctx, const struct cli_ref *ref, const char *ns, char *svc,
                     size_t size)
{
    static const char *const kinds[] = {"RayCluster", "RayJob", "RayService"};
    const struct krc_resource *res = ref->type == CLI_REF_RAYJOB       ? &cli_res_rayjobs
                                     : ref->type == CLI_REF_RAYSERVICE ? &cli_res_rayservices
                                                                       : &cli_res_rayclusters;
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct krc_error err;
    json_t *obj = NULL;
    int rc;

    if (krc_client_get(ctx->client, res, ns, ref->name, &body, &err) != 0 ||
        krc_client_parse_json(&body, &obj, &err) != 0) {
        rc = cli_fail(ctx, "unable to find %s %s: %s", kinds[ref->type], ref->name,
                      cli_api_msg(&err));
        goto out;
    }
    const json_t *st = json_object_get(obj, "status");
    if (ref->type == CLI_REF_RAYJOB)
        st = json_object_get(st, "rayClusterStatus");
    else if (ref->type == CLI_REF_RAYSERVICE)
        st = json_object_get(json_object_get(st, "activeServiceStatus"), "rayClusterStatus");
    const char *name =
        json_string_value(json_object_get(json_object_get(st, "head"), "serviceName"));
    snprintf(svc, size, "%s", name ? name : "");
    rc = 0;
out:
    json_decref(obj);
    krc_strbuf_release(&body);
    return rc;
}

/* Runs argv with stdin from /dev/null; 0 on exit status 0, else the Go-style cause in buf. */
static int run_child(char *const *argv, char *buf, size_t size)
{
    int sync[2];
    pid_t pid;

    if (pipe2(sync, O_CLOEXEC) != 0) {
        snprintf(buf, size, "%s", strerror(errno));
        return CLI_FAIL;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(buf, size, "%s", strerror(errno));
        close(sync[0]);
        close(sync[1]);
        return CLI_FAIL;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            (void)dup2(devnull, STDIN_FILENO);
        execvp(argv[0], argv);
        int e = errno;
        (void)!write(sync[1], &e, sizeof(e));
        _exit(127);
    }
    close(sync[1]);
    int exec_errno = 0;
    ssize_t n = read(sync[0], &exec_errno, sizeof(exec_errno));
    close(sync[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (n == (ssize_t)sizeof(exec_errno)) {
        if (exec_errno == ENOENT)
            snprintf(buf, size, "exec: \"%s\": executable file not found in $PATH", argv[0]);
        else
            snprintf(buf, size, "fork/exec %s: %s", argv[0], strerror(exec_errno));
        return CLI_FAIL;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
    else
        snprintf(buf, size, "signal: %s", strsignal(WTERMSIG(status)));
    return CLI_FAIL;
}

int cli_run_session(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *ns;
    char cause[512], svc[256], context[256];
    struct cli_ref ref;
    char detail[64];

    if (a->npos != 1) {
        snprintf(detail, sizeof(detail), "accepts 1 arg, received %zu", a->npos);
        char msg[160];
        snprintf(msg, sizeof(msg), "%s\nsession (RAYCLUSTER | TYPE/NAME)", detail);
        return cli_usage_error(ctx, msg);
    }
    if (cli_namespace(ctx, &ns) != 0)
        return CLI_FAIL;
    snprintf(context, sizeof(context), "%s", cli_flag_str(a, "context"));
    if (!context[0]) {
        /* The context the kubeconfig selects; may be empty. */
        if (cli_client(ctx, "error retrieving raw config") != 0)
            return CLI_FAIL;
        snprintf(context, sizeof(context), "%s", ctx->cfg.context ? ctx->cfg.context : "");
        if (strcmp(context, "in-cluster") == 0)
            context[0] = '\0';
    }
    if (cli_ref_parse(a->pos[0], false, false, &ref, cause, sizeof(cause)) != 0)
        return cli_usage_error(ctx, cause);
    if (cli_client(ctx, "failed to create client") != 0 ||
        cli_head_service(ctx, &ref, ns, svc, sizeof(svc)) != 0)
        return CLI_FAIL;

    const struct port *ports = cluster_ports;
    size_t nports = sizeof(cluster_ports) / sizeof(cluster_ports[0]);
    if (ref.type == CLI_REF_RAYJOB) {
        ports = job_ports;
        nports = sizeof(job_ports) / sizeof(job_ports[0]);
    } else if (ref.type == CLI_REF_RAYSERVICE) {
        ports = service_ports;
        nports = sizeof(service_ports) / sizeof(service_ports[0]);
    }
    fprintf(ctx->out, "Forwarding ports to service %s\n", svc);
    for (size_t i = 0; i < nports; i++)
        fprintf(ctx->out, "%s: http://localhost:%d\n", ports[i].name, ports[i].number);
    fprintf(ctx->out, "\n");

    char service_arg[300], port_args[4][16];
    char *argv[ARGV_MAX];
    size_t n = 0;
    argv[n++] = "kubectl";
    if (context[0]) {
        argv[n++] = "--context";
        argv[n++] = context;
    }
    argv[n++] = "port-forward";
    argv[n++] = "-n";
    argv[n++] = (char *)(uintptr_t)ns;
    snprintf(service_arg, sizeof(service_arg), "service/%s", svc);
    argv[n++] = service_arg;
    for (size_t i = 0; i < nports; i++) {
        snprintf(port_args[i], sizeof(port_args[i]), "%d:%d", ports[i].number, ports[i].number);
        argv[n++] = port_args[i];
    }
    argv[n] = NULL;
    for (;;) {
        if (cli_flag_bool(a, "verbose")) {
            fprintf(ctx->out, "Running:");
            for (size_t i = 0; i < n; i++)
                fprintf(ctx->out, " %s", argv[i]);
            fprintf(ctx->out, "\n");
        }
        if (run_child(argv, cause, sizeof(cause)) == 0)
            return 0;
        fprintf(ctx->out, "failed to port-forward: %s. Retrying in %ds ...\n\n", cause,
                RETRY_DELAY_S);
        fflush(ctx->out);
        sleep(RETRY_DELAY_S);
    }
}
