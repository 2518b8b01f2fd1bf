/* scale.c - `scale cluster NAME -w GROUP [-r N] [--min-replicas N] [--max-replicas N]` (spec
 * kubectl-ray.md §4.10): GET the RayCluster, change the group's replicas/min/max, PUT it back
 * whole (no field manager, no retry on conflict, as KubeRay). The checks and the change are pure
 * (cli_scale_validate, cli_scale_apply) and unit-tested. */
#include "cli/scale.h"

#include <stdlib.h>
#include <string.h>

int cli_scale_validate(const struct cli_scale_req *r, char *cause, size_t size)
{
    bool min_set = r->min != CLI_SCALE_UNSET, max_set = r->max != CLI_SCALE_UNSET,
         rep_set = r->replicas != CLI_SCALE_UNSET;

    if (!min_set && !max_set && !rep_set)
        snprintf(cause, size,
                 "must specify at least one of --replicas, --min-replicas, or --max-replicas "
                 "(non-negative integers)");
    else if (min_set && r->min < 0)
        snprintf(cause, size, "--min-replicas must be a non-negative integer");
    else if (max_set && r->max < 0)
        snprintf(cause, size, "--max-replicas must be a non-negative integer");
    else if (rep_set && r->replicas < 0)
        snprintf(cause, size, "--replicas must be a non-negative integer");
    else if (min_set && max_set && r->min > r->max)
        snprintf(cause, size, "--min-replicas (%lld) cannot be greater than --max-replicas (%lld)",
                 r->min, r->max);
    else if (rep_set && min_set && r->replicas < r->min)
        snprintf(cause, size, "--replicas (%lld) cannot be less than --min-replicas (%lld)",
                 r->replicas, r->min);
    else if (rep_set && max_set && r->replicas > r->max)
        snprintf(cause, size, "--replicas (%lld) cannot be greater than --max-replicas (%lld)",
                 r->replicas, r->max);
    else
        return 0;
    return CLI_FAIL;
}

static long long int_or(const json_t *group, const char *key, long long dflt)
{
    const json_t *v = json_object_get(group, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

int cli_scale_apply(json_t *group, const struct cli_scale_req *r, struct krc_strbuf *changes,
                    char *cause, size_t size)
{
    static const struct {
        const char *field, *text;
    } fields[] = {{"minReplicas", "Scaled minReplicas"},
                  {"maxReplicas", "Scaled maxReplicas"},
                  {"replicas", "Scaled Replicas"}};
    long long cur[3] = {int_or(group, "minReplicas", 0),
                        int_or(group, "maxReplicas", CLI_MAX_REPLICAS),
                        int_or(group, "replicas", 0)};
    long long want[3] = {r->min, r->max, r->replicas};
    long long fin[3];
    bool changed[3];
    int any = 0;

    for (int k = 0; k < 3; k++) {
        changed[k] = want[k] != CLI_SCALE_UNSET && want[k] != cur[k];
        fin[k] = want[k] != CLI_SCALE_UNSET ? want[k] : cur[k];
    }
    if (fin[0] > fin[1]) {
        snprintf(cause, size, "cannot set --min-replicas (%lld) greater than --max-replicas (%lld)",
                 fin[0], fin[1]);
        return CLI_FAIL;
    }
    if (fin[2] < fin[0]) {
        snprintf(cause, size, "cannot set --replicas (%lld) less than --min-replicas (%lld)",
                 fin[2], fin[0]);
        return CLI_FAIL;
    }
    if (fin[2] > fin[1]) {
        snprintf(cause, size, "cannot set --replicas (%lld) greater than --max-replicas (%lld)",
                 fin[2], fin[1]);
        return CLI_FAIL;
    }
    for (int k = 0; k < 3; k++) {
        if (!changed[k])
            continue;
        if (json_object_set_new(group, fields[k].field, json_integer(fin[k])) != 0 ||
            krc_strbuf_addf(changes, "%s%s: %lld to %lld", any ? ", " : "", fields[k].text, cur[k],
                            fin[k]) != 0) {
            snprintf(cause, size, "out of memory");
            return CLI_FAIL;
        }
        any = 1;
    }
    return any;
}

int cli_run_scale_cluster(struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *ns, *name, *wg = cli_flag_str(a, "worker-group");
    struct cli_scale_req req = {cli_flag_int(a, "replicas"), cli_flag_int(a, "min-replicas"),
                                cli_flag_int(a, "max-replicas")};
    struct krc_strbuf body = KRC_STRBUF_INIT, changes = KRC_STRBUF_INIT, names = KRC_STRBUF_INIT;
    struct krc_error err;
    json_t *rc_obj = NULL, *group = NULL;
    char cause[512];
    int rc = CLI_FAIL;

    if (a->npos != 1)
        return cli_fail(ctx, "accepts 1 arg(s), received %zu", a->npos);
    if (!cli_flag_changed(a, "worker-group"))
        return cli_fail(ctx, "required flag(s) \"worker-group\" not set");
    if (cli_namespace(ctx, &ns) != 0)
        return CLI_FAIL;
    name = a->pos[0];
    if (!*wg)
        return cli_fail(ctx, "must specify -w/--worker-group");
    if (cli_scale_validate(&req, cause, sizeof(cause)) != 0)
        return cli_fail(ctx, "%s", cause);
    if (cli_client(ctx, "failed to create client") != 0)
        return CLI_FAIL;
    if (krc_client_get(ctx->client, &cli_res_rayclusters, ns, name, &body, &err) != 0 ||
        krc_client_parse_json(&body, &rc_obj, &err) != 0) {
        cli_fail(ctx, "failed to scale worker group %s in Ray cluster %s in namespace %s: %s", wg,
                 name, ns, cli_api_msg(&err));
        goto out;
    }
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(json_object_get(rc_obj, "spec"), "workerGroupSpecs"), i, g)
    {
        const char *gname = json_string_value(json_object_get(g, "groupName"));
        if (krc_strbuf_addf(&names, "%s%s", i ? ", " : "", gname ? gname : "") != 0) {
            cli_fail(ctx, "out of memory");
            goto out;
        }
        if (!group && gname && strcmp(gname, wg) == 0)
            group = g;
    }
    if (!group) {
        cli_fail(ctx,
                 "worker group %s not found in Ray cluster %s in namespace %s. Available worker "
                 "groups: %s",
                 wg, name, ns, names.buf);
        goto out;
    }
    int changed = cli_scale_apply(group, &req, &changes, cause, sizeof(cause));
    if (changed < 0) {
        cli_fail(ctx, "%s", cause);
        goto out;
    }
    if (changed == 0) {
        fprintf(ctx->out,
                "Worker group %s in Ray cluster %s in namespace %s already matches the requested "
                "configuration. Skipping.\n",
                wg, name, ns);
        rc = 0;
        goto out;
    }
    char *doc = json_dumps(rc_obj, JSON_COMPACT);
    if (!doc) {
        cli_fail(ctx, "out of memory");
        goto out;
    }
    krc_strbuf_reset(&body);
    int urc = krc_client_update(ctx->client, &cli_res_rayclusters, ns, name, doc, strlen(doc), NULL,
                                &body, &err);
    free(doc);
    if (urc != 0) {
        cli_fail(ctx, "failed to update worker group %s in Ray cluster %s in namespace %s: %s", wg,
                 name, ns, cli_api_msg(&err));
        goto out;
    }
    fprintf(ctx->out, "Updated worker group %s in Ray cluster %s in namespace %s (%s)\n", wg, name,
            ns, changes.buf);
    rc = 0;
out:
    json_decref(rc_obj);
    krc_strbuf_release(&body);
    krc_strbuf_release(&changes);
    krc_strbuf_release(&names);
    return rc;
}
