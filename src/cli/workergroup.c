/* workergroup.c - `create workergroup NAME -c CLUSTER` [NICHE] (spec kubectl-ray.md §4.2): append
 * a worker group to an existing RayCluster and PUT it back whole. Unlike KubeRay (which panics on
 * an unparsable quantity after the GET), quantities are checked before any API call. */
#include "cli/cli.h"
#include "cli/gen.h"
#include "util/quantity.h"

#include <stdlib.h>
#include <string.h>

/* Sets requests and limits of res to the canonical value; always when always, else non-zero. */
static int put_both(json_t *req, json_t *lim, const char *key, const char *value, bool always)
{
    struct krc_quantity q;
    char buf[KRC_QUANTITY_STR_MAX];
    if (krc_quantity_parse(value, &q, NULL) != 0 || krc_quantity_to_string(&q, buf, sizeof(buf)))
        return KRC_EINVAL;
    if (!always && krc_quantity_is_zero(&q))
        return 0;
    if (json_object_set_new(req, key, json_string(buf)) != 0 ||
        json_object_set_new(lim, key, json_string(buf)) != 0)
        return KRC_ENOMEM;
    return 0;
}

int cli_gen_workergroup(const struct cli_args *a, const char *name, const char *image, json_t **out)
{
    json_t *req = json_object(), *lim = json_object();
    json_t *rsp = json_deep_copy(cli_flag(a, "worker-ray-start-params")->map);
    json_t *group = NULL;
    int rc = KRC_ENOMEM;

    if (!req || !lim || !rsp)
        goto out;
    if ((rc = put_both(req, lim, "cpu", cli_flag_str(a, "worker-cpu"), true)) != 0 ||
        (rc = put_both(req, lim, "memory", cli_flag_str(a, "worker-memory"), true)) != 0 ||
        (rc = put_both(req, lim, CLI_RES_GPU, cli_flag_str(a, "worker-gpu"), false)) != 0 ||
        (rc = put_both(req, lim, CLI_RES_TPU, cli_flag_str(a, "worker-tpu"), false)) != 0)
        goto out;
    rc = KRC_ENOMEM;
    group = json_pack("{s:s, s:I, s:I, s:I, s:I, s:O, s:{s:{s:[{s:s, s:s, s:{s:O, s:O}}]}}}",
                      "groupName", name, "replicas", (json_int_t)cli_flag_int(a, "worker-replicas"),
                      "minReplicas", (json_int_t)cli_flag_int(a, "worker-min-replicas"),
                      "maxReplicas", (json_int_t)cli_flag_int(a, "worker-max-replicas"),
                      "numOfHosts", (json_int_t)cli_flag_int(a, "num-of-hosts"), "rayStartParams",
                      rsp, "template", "spec", "containers", "name", "ray-worker", "image", image,
                      "resources", "requests", req, "limits", lim);
    if (!group)
        goto out;
    const json_t *sel = cli_flag(a, "worker-node-selectors")->map;
    if (json_object_size(sel) > 0 &&
        json_object_set_new(json_object_get(json_object_get(group, "template"), "spec"),
                            "nodeSelector", json_deep_copy(sel)) != 0) {
        json_decref(group);
        group = NULL;
        goto out;
    }
    *out = group;
    rc = 0;
out:
    json_decref(req);
    json_decref(lim);
    json_decref(rsp);
    return rc;
}

int cli_run_create_workergroup(struct cli_ctx *ctx, const struct cli_args *a)
{
    static const char *const quantities[] = {"worker-cpu", "worker-memory", "worker-gpu",
                                             "worker-tpu"};
    const char *ns, *cluster = cli_flag_str(a, "ray-cluster");
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct krc_error err;
    json_t *obj = NULL, *group = NULL, *updated = NULL;
    char cause[512], image[512];
    int rc = CLI_FAIL;

    if (!cli_flag_changed(a, "ray-cluster"))
        return cli_fail(ctx, "required flag(s) \"ray-cluster\" not set");
    if (cli_validate_tpu(cli_flag_str(a, "worker-tpu"), true, cli_flag_int(a, "num-of-hosts"),
                         cli_flag(a, "worker-node-selectors")->map, cause, sizeof(cause)) != 0)
        return cli_fail(ctx, "%s", cause);
    if (cli_namespace(ctx, &ns) != 0)
        return CLI_FAIL;
    if (a->npos != 1)
        return cli_usage_error(ctx, "workergroup (WORKERGROUP) [(-r|--ray-cluster) RAYCLUSTER]");
    for (size_t i = 0; i < sizeof(quantities) / sizeof(quantities[0]); i++)
        if (cli_validate_quantity(cli_flag_str(a, quantities[i]), quantities[i], cause,
                                  sizeof(cause)) != 0)
            return cli_fail(ctx, "%s", cause);
    if (*cli_flag_str(a, "image"))
        snprintf(image, sizeof(image), "%s", cli_flag_str(a, "image"));
    else
        snprintf(image, sizeof(image), "%s:%s", CLI_RAY_IMAGE_REPO, cli_flag_str(a, "ray-version"));
    if (cli_client(ctx, "failed to create client") != 0)
        return CLI_FAIL;
    if (krc_client_get(ctx->client, &cli_res_rayclusters, ns, cluster, &body, &err) != 0 ||
        krc_client_parse_json(&body, &obj, &err) != 0) {
        cli_fail(ctx, "error getting Ray cluster: %s", cli_api_msg(&err));
        goto out;
    }
    json_t *spec = json_object_get(obj, "spec");
    json_t *groups = json_object_get(spec, "workerGroupSpecs");
    if (!json_is_array(groups)) {
        groups = json_array();
        if (!groups || json_object_set_new(spec, "workerGroupSpecs", groups) != 0) {
            cli_fail(ctx, "out of memory");
            goto out;
        }
    }
    if (cli_gen_workergroup(a, a->pos[0], image, &group) != 0 ||
        json_array_append(groups, group) != 0) {
        cli_fail(ctx, "out of memory");
        goto out;
    }
    char *doc = json_dumps(obj, JSON_COMPACT);
    struct krc_write_opts wopts = {.field_manager = CLI_FIELD_MANAGER};
    krc_strbuf_reset(&body);
    int urc = doc ? krc_client_update(ctx->client, &cli_res_rayclusters, ns, cluster, doc,
                                      strlen(doc), &wopts, &body, &err)
                  : krc_error_set(&err, KRC_ENOMEM, "out of memory");
    free(doc);
    if (urc != 0 || krc_client_parse_json(&body, &updated, &err) != 0) {
        cli_fail(ctx, "error updating Ray cluster with new worker group: %s", cli_api_msg(&err));
        goto out;
    }
    const json_t *meta = json_object_get(updated, "metadata");
    fprintf(ctx->out, "Updated Ray cluster %s/%s with new worker group\n",
            json_string_value(json_object_get(meta, "namespace")),
            json_string_value(json_object_get(meta, "name")));
    rc = 0;
out:
    json_decref(obj);
    json_decref(group);
    json_decref(updated);
    krc_strbuf_release(&body);
    return rc;
}
