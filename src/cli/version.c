/* version.c - `version` (spec kubectl-ray.md §4.12): the plugin's version and the operator's,
 * read from the image tag of the first Deployment labelled as KubeRay's operator. Failing to
 * find the operator is a warning on stdout, never an error. */
#include "cli/cli.h"

#include <string.h>

#ifndef KRC_CLI_VERSION
#define KRC_CLI_VERSION ""
#endif

#define OPERATOR_SELECTOR "app.kubernetes.io/name in (kuberay-operator,kuberay)"

int cli_image_version(const char *image, char *buf, size_t size)
{
    const char *digest = strstr(image, "@sha256:");
    size_t colons = 0;
    for (const char *p = image; *p; p++)
        colons += *p == ':';
    if (!*image)
        return CLI_FAIL;
    if (digest && colons == 2) {
        snprintf(buf, size, "%s", strchr(image, ':') + 1);
        return 0;
    }
    if (digest) {
        snprintf(buf, size, "%s", digest + 1);
        return 0;
    }
    const char *slash = strrchr(image, '/');
    const char *tag = strchr(slash ? slash + 1 : image, ':');
    if (tag && !tag[1])
        return CLI_FAIL;
    snprintf(buf, size, "%s", tag ? tag + 1 : "latest");
    return 0;
}

static int operator_version(struct cli_ctx *ctx, char *buf, size_t size, char *cause, size_t csize)
{
    struct krc_list_opts opts = {.label_selector = OPERATOR_SELECTOR};
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct krc_error err;
    json_t *doc = NULL;
    int rc = CLI_FAIL;

    if (krc_client_list(ctx->client, &cli_res_deployments, NULL, &opts, &body, &err) != 0 ||
        krc_client_parse_json(&body, &doc, &err) != 0) {
        snprintf(cause, csize, "failed to get KubeRay operator deployment: %s", cli_api_msg(&err));
        goto out;
    }
    const json_t *dep = json_array_get(json_object_get(doc, "items"), 0);
    if (!dep) {
        snprintf(cause, csize, "no KubeRay operator deployments found in any namespace");
        goto out;
    }
    const json_t *c0 = json_array_get(
        json_object_get(
            json_object_get(json_object_get(json_object_get(dep, "spec"), "template"), "spec"),
            "containers"),
        0);
    if (!c0) {
        snprintf(cause, csize, "no containers found in KubeRay operator deployment");
        goto out;
    }
    const char *image = json_string_value(json_object_get(c0, "image"));
    if (!image || cli_image_version(image, buf, size) != 0) {
        snprintf(cause, csize,
                 "unable to parse KubeRay operator version from image: invalid reference "
                 "format: %s",
                 image ? image : "");
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    krc_strbuf_release(&body);
    return rc;
}

int cli_run_version(struct cli_ctx *ctx, const struct cli_args *a)
{
    char version[256], cause[700];
    (void)a;

    if (cli_client(ctx, "failed to create client") != 0)
        return CLI_FAIL;
    fprintf(ctx->out, "kubectl ray plugin version: %s\n",
            *KRC_CLI_VERSION ? KRC_CLI_VERSION : CLI_VERSION_UNSTAMPED);
    if (operator_version(ctx, version, sizeof(version), cause, sizeof(cause)) == 0)
        fprintf(ctx->out, "KubeRay operator version: %s\n", version);
    else
        fprintf(ctx->out,
                "warning: KubeRay operator installation cannot be found: %s. Did you install it "
                "with the name \"kuberay-operator\"?\n",
                cause);
    return 0;
}
