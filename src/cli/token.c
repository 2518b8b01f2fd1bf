/* token.c - `get token CLUSTER` [NICHE] (spec kubectl-ray.md §4.6): the auth token of a RayCluster
 * with authOptions.mode token, read from the Secret named like the cluster (KubeRay ignores a
 * custom authOptions.secretName; so do we) and printed raw, without a newline. */
#include "cli/cli.h"
#include "util/base64.h"
#include "util/wipe.h"

#include <stdlib.h>
#include <string.h>

static const struct krc_resource secrets = {"", "v1", "secrets", 1};

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

int cli_run_get_token(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *ns, *name;
    struct krc_error err;
    json_t *rc_obj = NULL, *secret = NULL;
    char *token = NULL;
    size_t len = 0;
    int rc = CLI_FAIL;

    if (a->npos != 1)
        return cli_fail(ctx, "accepts 1 arg(s), received %zu", a->npos);
    if (cli_namespace(ctx, &ns) != 0 || cli_client(ctx, "failed to create client") != 0)
        return CLI_FAIL;
    name = a->pos[0];
    if (get_json(ctx, &cli_res_rayclusters, ns, name, &rc_obj, &err) != 0) {
        cli_fail(ctx, "failed to get RayCluster %s/%s: %s", ns, name, cli_api_msg(&err));
        goto out;
    }
    const json_t *auth = json_object_get(json_object_get(rc_obj, "spec"), "authOptions");
    const char *mode = json_string_value(json_object_get(auth, "mode"));
    if (!mode || strcmp(mode, "token") != 0) {
        cli_fail(ctx, "RayCluster %s/%s was not configured to use authentication tokens", ns, name);
        goto out;
    }
    if (get_json(ctx, &secrets, ns, name, &secret, &err) != 0) {
        cli_fail(ctx, "failed to get secret %s/%s: %s", ns, name, cli_api_msg(&err));
        goto out;
    }
    const char *b64 =
        json_string_value(json_object_get(json_object_get(secret, "data"), "auth_token"));
    size_t bad = 0;
    if (!b64 || krc_base64_decode(b64, strlen(b64), &token, &len, &bad) != 0) {
        cli_fail(ctx, "secret %s/%s does not have an auth_token", ns, name);
        goto out;
    }
    if (fwrite(token, 1, len, ctx->out) != len) {
        cli_fail(ctx, "failed to write the token");
        goto out;
    }
    rc = 0;
out:
    if (token)
        krc_wipe(token, len);
    free(token);
    json_decref(rc_obj);
    json_decref(secret);
    return rc;
}
