/* common.c - what every kubectl-ray command shares: the run context, namespace resolution, the
 * API client built from the kubeconfig and kubectl's connection flags, error texts, resource
 * references (spec kubectl-ray.md §1.2-§1.4).
 *
 * The kubeconfig is loaded once, on first need: the namespace needs it (unless --namespace is
 * given) and so does the client. As kubectl does, a missing kubeconfig is not an error for the
 * namespace ("default"), only for the client. Connection flags override the loaded
 * configuration field by field; --cluster, --user and the impersonation flags are accepted but
 * not supported (the client has no impersonation headers): using one fails client creation
 * with a message naming it, rather than silently talking to the server as someone else. */
#include "cli/cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct krc_resource cli_res_rayclusters = {"ray.io", "v1", "rayclusters", 1};
const struct krc_resource cli_res_rayjobs = {"ray.io", "v1", "rayjobs", 1};
const struct krc_resource cli_res_rayservices = {"ray.io", "v1", "rayservices", 1};
const struct krc_resource cli_res_pods = {"", "v1", "pods", 1};
const struct krc_resource cli_res_deployments = {"apps", "v1", "deployments", 1};

#define CLI_USER_AGENT "kubectl-ray (kuberay-c)"

void cli_ctx_init(struct cli_ctx *ctx, const char *path, const struct cli_args *a)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->out = stdout;
    ctx->errout = stderr;
    ctx->path = path;
    ctx->args = a;
    krc_strbuf_init(&ctx->err, 0);
}

void cli_ctx_release(struct cli_ctx *ctx)
{
    if (ctx->client)
        krc_client_free(ctx->client);
    if (ctx->cfg_loaded && ctx->cfg_rc == 0)
        krc_kubeconfig_free(&ctx->cfg);
    free(ctx->namespace);
    krc_strbuf_release(&ctx->err);
}

int cli_fail(struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    krc_strbuf_reset(&ctx->err);
    va_start(ap, fmt);
    (void)krc_strbuf_vaddf(&ctx->err, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_usage_error(struct cli_ctx *ctx, const char *detail)
{
    return cli_fail(ctx, "%s\nSee '%s -h' for help and examples", detail, ctx->path);
}

const char *cli_api_msg(const struct krc_error *err)
{
    /* The client writes "<verb> <resource> <ns>/<name>: <code> <Reason>: <server message>". */
    const char *p = err->msg;
    while ((p = strstr(p, ": ")) != NULL) {
        const char *q = p + 2;
        if (isdigit((unsigned char)q[0]) && isdigit((unsigned char)q[1]) &&
            isdigit((unsigned char)q[2]) && q[3] == ' ') {
            const char *r = strstr(q + 4, ": ");
            if (r && !memchr(q + 4, ' ', (size_t)(r - (q + 4))))
                return r + 2;
        }
        p += 2;
    }
    return err->msg;
}

static void load_config(struct cli_ctx *ctx)
{
    struct krc_kubeconfig_options opts = {0};
    const char *path = cli_flag_str(ctx->args, "kubeconfig");
    const char *context = cli_flag_str(ctx->args, "context");

    if (ctx->cfg_loaded)
        return;
    ctx->cfg_loaded = true;
    opts.path = *path ? path : NULL;
    opts.context = *context ? context : NULL;
    ctx->cfg_rc = krc_kubeconfig_load(&ctx->cfg, &opts, &ctx->cfg_err);
    if (ctx->cfg_rc == KRC_ENOTFOUND && !opts.path && getenv("KUBERNETES_SERVICE_HOST")) {
        ctx->cfg_rc = krc_kubeconfig_load_in_cluster(&ctx->cfg, NULL, &ctx->cfg_err);
    }
}

int cli_namespace(struct cli_ctx *ctx, const char **ns)
{
    const char *flag = cli_flag_str(ctx->args, "namespace");

    if (!ctx->namespace) {
        const char *chosen = flag;
        if (!*chosen) {
            load_config(ctx);
            if (ctx->cfg_rc == 0)
                chosen = ctx->cfg.namespace;
            else if (ctx->cfg_rc == KRC_ENOTFOUND && !*cli_flag_str(ctx->args, "kubeconfig"))
                chosen = "default";
            else
                return cli_fail(ctx, "failed to get namespace: %s", ctx->cfg_err.msg);
        }
        if (!(ctx->namespace = strdup(chosen)))
            return cli_fail(ctx, "failed to get namespace: out of memory");
    }
    *ns = ctx->namespace;
    return 0;
}

/* Replaces a string field of the configuration with a flag's value when the flag is set. */
static int override(char **field, const char *value)
{
    if (!*value)
        return 0;
    char *copy = strdup(value);
    if (!copy)
        return KRC_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

static void clear_pem(struct krc_pem *p)
{
    free(p->data);
    p->data = NULL;
    p->len = 0;
}

/* kubectl's --request-timeout: "0", a bare number of seconds, or a Go duration. */
static int request_timeout_ms(const char *s, long long *ms)
{
    char *end;
    long long secs = strtoll(s, &end, 10);
    if (*s && *end == '\0' && secs >= 0) {
        *ms = secs * 1000;
        return 0;
    }
    return cli_parse_duration(s, ms) == 0 && *ms >= 0 ? 0 : CLI_FAIL;
}

int cli_client(struct cli_ctx *ctx, const char *prefix)
{
    static const char *const unsupported[] = {"cluster", "user", "as", "as-uid"};
    struct krc_client_options opts = {0};
    struct krc_error err;
    const struct cli_args *a = ctx->args;
    long long timeout_ms = 0;
    int rc;

    if (ctx->client)
        return 0;
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (*cli_flag_str(a, unsupported[i]))
            return cli_fail(ctx, "%s: --%s is not supported by this kubectl-ray", prefix,
                            unsupported[i]);
    if (json_array_size(cli_flag(a, "as-group")->list) ||
        json_array_size(cli_flag(a, "as-user-extra")->list))
        return cli_fail(ctx, "%s: impersonation is not supported by this kubectl-ray", prefix);
    if (request_timeout_ms(cli_flag_str(a, "request-timeout"), &timeout_ms) != 0)
        return cli_fail(ctx,
                        "%s: invalid timeout value. Timeout must be a single integer in seconds, "
                        "or an integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)",
                        prefix);
    load_config(ctx);
    if (ctx->cfg_rc == KRC_ENOTFOUND && *cli_flag_str(a, "server") &&
        !*cli_flag_str(a, "kubeconfig")) {
        memset(&ctx->cfg, 0, sizeof(ctx->cfg));
        ctx->cfg_rc = 0;
        if (!(ctx->cfg.namespace = strdup("default")))
            return cli_fail(ctx, "%s: out of memory", prefix);
    }
    if (ctx->cfg_rc != 0)
        return cli_fail(ctx, "%s: %s", prefix, ctx->cfg_err.msg);

    struct krc_kubeconfig *cfg = &ctx->cfg;
    const char *server = cli_flag_str(a, "server");
    if (*server && strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) {
        char url[1024];
        snprintf(url, sizeof(url), "https://%s", server);
        rc = override(&cfg->server, url);
    } else {
        rc = override(&cfg->server, server);
    }
    if (rc == 0 && *cli_flag_str(a, "token")) {
        free(cfg->token_file);
        cfg->token_file = NULL;
        rc = override(&cfg->token, cli_flag_str(a, "token"));
    }
    if (rc == 0 && *cli_flag_str(a, "certificate-authority")) {
        clear_pem(&cfg->ca_data);
        rc = override(&cfg->ca_file, cli_flag_str(a, "certificate-authority"));
    }
    if (rc == 0 && *cli_flag_str(a, "client-certificate")) {
        clear_pem(&cfg->client_cert_data);
        rc = override(&cfg->client_cert_file, cli_flag_str(a, "client-certificate"));
    }
    if (rc == 0 && *cli_flag_str(a, "client-key")) {
        clear_pem(&cfg->client_key_data);
        rc = override(&cfg->client_key_file, cli_flag_str(a, "client-key"));
    }
    if (rc == 0)
        rc = override(&cfg->tls_server_name, cli_flag_str(a, "tls-server-name"));
    if (rc != 0)
        return cli_fail(ctx, "%s: out of memory", prefix);
    if (cli_flag_bool(a, "insecure-skip-tls-verify"))
        cfg->insecure_skip_tls_verify = 1;
    if (!cfg->server || !*cfg->server)
        return cli_fail(ctx, "%s: no server found for cluster", prefix);

    opts.user_agent = CLI_USER_AGENT;
    opts.qps = -1; /* an interactive tool: no client-side throttling */
    if (timeout_ms > 0)
        opts.request_timeout_ms = (long)timeout_ms;
    if (krc_client_new(cfg, &opts, &ctx->client, &err) != 0)
        return cli_fail(ctx, "%s: %s", prefix, err.msg);
    return 0;
}

const char *cli_ref_type_name(enum cli_ref_type t)
{
    switch (t) {
    case CLI_REF_RAYJOB:
        return "rayjob";
    case CLI_REF_RAYSERVICE:
        return "rayservice";
    default:
        return "raycluster";
    }
}

int cli_ref_parse(const char *arg, bool case_insensitive, bool whole_arg_in_error,
                  struct cli_ref *out, char *cause, size_t size)
{
    const char *slash = strchr(arg, '/');
    static const enum cli_ref_type types[] = {CLI_REF_RAYCLUSTER, CLI_REF_RAYJOB,
                                              CLI_REF_RAYSERVICE};

    if (!slash) {
        out->type = CLI_REF_RAYCLUSTER;
        out->name = arg;
        return 0;
    }
    if (strchr(slash + 1, '/') || slash[1] == '\0') {
        snprintf(cause, size, "invalid resource type/name: %s", arg);
        return CLI_FAIL;
    }
    size_t tlen = (size_t)(slash - arg);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *name = cli_ref_type_name(types[i]);
        if (strlen(name) != tlen)
            continue;
        if (case_insensitive ? strncasecmp(arg, name, tlen) == 0 : strncmp(arg, name, tlen) == 0) {
            out->type = types[i];
            out->name = slash + 1;
            return 0;
        }
    }
    if (whole_arg_in_error)
        snprintf(cause, size, "unsupported resource type: %s", arg);
    else
        snprintf(cause, size, "unsupported resource type: %.*s", (int)tlen, arg);
    return CLI_FAIL;
}
