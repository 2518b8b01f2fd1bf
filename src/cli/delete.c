/* delete.c - `delete (NAME | TYPE/NAME)...` (spec kubectl-ray.md §4.7): parse every reference
 * first, confirm on stdin unless --yes, then delete grouped by type (RayClusters, RayJobs,
 * RayServices; argument order within a type), stopping at the first failure. */
#include "cli/cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIRM_LINE_MAX 4096

static const struct krc_resource *resource_of(enum cli_ref_type t)
{
    switch (t) {
    case CLI_REF_RAYJOB:
        return &cli_res_rayjobs;
    case CLI_REF_RAYSERVICE:
        return &cli_res_rayservices;
    default:
        return &cli_res_rayclusters;
    }
}

/* 1 to proceed, 0 to stop quietly, CLI_FAIL on a read error. */
static int confirm(struct cli_ctx *ctx, const struct cli_ref *refs, size_t n)
{
    char line[CONFIRM_LINE_MAX];

    fprintf(ctx->out, "Are you sure you want to delete the following resources?");
    for (size_t i = 0; i < n; i++)
        fprintf(ctx->out, "\n- %s/%s", cli_ref_type_name(refs[i].type), refs[i].name);
    fprintf(ctx->out, "\n(y/yes/n/no)");
    fflush(ctx->out);
    if (!fgets(line, sizeof(line), stdin) || !strchr(line, '\n'))
        return cli_fail(ctx, "Failed to read user input: EOF");
    size_t b = 0, e = strlen(line);
    while (b < e && isspace((unsigned char)line[b]))
        b++;
    while (e > b && isspace((unsigned char)line[e - 1]))
        e--;
    char word[8];
    size_t len = e - b;
    if (len < sizeof(word)) {
        memcpy(word, line + b, len);
        word[len] = '\0';
        if (strcasecmp(word, "y") == 0 || strcasecmp(word, "yes") == 0)
            return 1;
        if (strcasecmp(word, "n") == 0 || strcasecmp(word, "no") == 0) {
            fprintf(ctx->out, "Canceled deletion.\n");
            return 0;
        }
    }
    fprintf(ctx->out, "Unknown input %s\n", line);
    return 0;
}

int cli_run_delete(struct cli_ctx *ctx, const struct cli_args *a)
{
    static const enum cli_ref_type order[] = {CLI_REF_RAYCLUSTER, CLI_REF_RAYJOB,
                                              CLI_REF_RAYSERVICE};
    struct cli_ref *refs = NULL;
    const char *ns;
    char cause[600];
    int rc = CLI_FAIL;

    if (a->npos == 0)
        return cli_usage_error(ctx, "accepts a minimum of 1 arg, received 0\n"
                                    "delete (RAYCLUSTER | TYPE/NAME)");
    if (cli_namespace(ctx, &ns) != 0)
        return CLI_FAIL;
    if (!(refs = calloc(a->npos, sizeof(*refs))))
        return cli_fail(ctx, "out of memory");
    for (size_t i = 0; i < a->npos; i++) {
        if (cli_ref_parse(a->pos[i], true, true, &refs[i], cause, sizeof(cause)) != 0) {
            cli_usage_error(ctx, cause);
            goto out;
        }
    }
    if (cli_client(ctx, "failed to create client") != 0)
        goto out;
    if (!cli_flag_bool(a, "yes")) {
        int ok = confirm(ctx, refs, a->npos);
        if (ok <= 0) {
            rc = ok;
            goto out;
        }
    }
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        for (size_t i = 0; i < a->npos; i++) {
            struct krc_error err;
            if (refs[i].type != order[k])
                continue;
            if (krc_client_delete(ctx->client, resource_of(refs[i].type), ns, refs[i].name, NULL,
                                  NULL, &err) != 0) {
                cli_fail(ctx, "failed to delete %s/%s: %s", cli_ref_type_name(refs[i].type),
                         refs[i].name, cli_api_msg(&err));
                goto out;
            }
            fprintf(ctx->out, "Deleted %s %s\n", cli_ref_type_name(refs[i].type), refs[i].name);
        }
    }
    rc = 0;
out:
    free(refs);
    return rc;
}
