/* create.c - `create cluster NAME` (spec kubectl-ray.md §4.1): flags or a --file config into the
 * model of gen.h, then --dry-run YAML, or GET (must be absent) + server-side apply with field
 * manager ray-kubectl-plugin, and with --wait a watch until the cluster is provisioned.
 * The config-file reader (cli_config_parse) is pure and unit-tested; it holds the parsed JSON
 * document the model borrows its strings from. */
#include "cli/create.h"

#include "util/fileio.h"
#include "util/gojson.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CONFIG_FILE_MAX (4u * 1024 * 1024)

/* Flags that may be combined with --file (§4.1 rule 3). */
static const char *const file_compatible[] = {"file",    "context", "namespace",
                                              "dry-run", "wait",    "timeout"};

/* ---- the config file ---- */

/* The 1-based line where "key:" first appears as a mapping key; 1 if not found. */
static int key_line(const char *text, const char *key)
{
    size_t klen = strlen(key);
    int line = 1;
    for (const char *p = text; *p; line++) {
        const char *q = p;
        while (*q == ' ' || *q == '\t' || *q == '-')
            q++;
        if (strncmp(q, key, klen) == 0 && q[klen] == ':')
            return line;
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return 1;
}

static int unknown_field(const json_t *obj, const char *const *known, const char *type,
                         const char *text, char *cause, size_t size)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            ok = ok || strcmp(known[i], key) == 0;
        if (!ok && v) {
            snprintf(cause, size,
                     "yaml: unmarshal errors:\n  line %d: field %s not found in type "
                     "generation.%s",
                     key_line(text, key), key, type);
            return CLI_FAIL;
        }
    }
    return 0;
}

/* A scalar kept as its text: strings as is, numbers and booleans printed. NULL for a null, an
 * object or an array; *bad set for the latter two. */
static const char *scalar_text(struct cli_config *c, const json_t *v, bool *bad)
{
    char buf[64];
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
    else {
        *bad = true;
        return NULL;
    }
    /* Keep the text alive with the config: append it to a holder array. */
    json_t *s = json_string(buf);
    if (!s || json_array_append_new(c->texts, s) != 0) {
        *bad = true;
        return NULL;
    }
    return json_string_value(s);
}

/* A string-to-string map: every value scalar, turned into a string. */
static int string_map(struct cli_config *c, const json_t *v, const json_t **out, bool *bad)
{
    if (!v || json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_object(v)) {
        *bad = true;
        return CLI_FAIL;
    }
    json_t *m = json_object();
    const char *key;
    json_t *x;
    if (!m || json_array_append_new(c->texts, m) != 0) {
        *bad = true;
        return CLI_FAIL;
    }
    json_object_foreach((json_t *)(uintptr_t)v, key, x)
    {
        const char *t = scalar_text(c, x, bad);
        if (*bad || json_object_set_new(m, key, json_string(t ? t : "")) != 0) {
            *bad = true;
            return CLI_FAIL;
        }
    }
    *out = m;
    return 0;
}

static int int_field(const json_t *v, long long *out, bool *bad)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        if (*out > INT32_MAX || *out < INT32_MIN)
            *bad = true;
        return 0;
    }
    if (v && !json_is_null(v))
        *bad = true;
    return CLI_FAIL;
}

static int parse_head(struct cli_config *c, const json_t *h, const char *text, char *cause,
                      size_t size, bool *bad)
{
    static const char *const known[] = {
        "cpu", "gpu", "memory", "ephemeral-storage", "ray-start-params", "node-selectors", NULL};
    struct cli_head_model *m = &c->model.head;
    const char *v;
    if (!json_is_object(h))
        return 0;
    if (unknown_field(h, known, "Head", text, cause, size) != 0)
        return CLI_FAIL;
    if ((v = scalar_text(c, json_object_get(h, "cpu"), bad)))
        m->cpu = v;
    if ((v = scalar_text(c, json_object_get(h, "gpu"), bad)))
        m->gpu = v;
    if ((v = scalar_text(c, json_object_get(h, "memory"), bad)))
        m->memory = v;
    if ((v = scalar_text(c, json_object_get(h, "ephemeral-storage"), bad)))
        m->ephemeral = v;
    (void)string_map(c, json_object_get(h, "ray-start-params"), &m->ray_start_params, bad);
    (void)string_map(c, json_object_get(h, "node-selectors"), &m->node_selectors, bad);
    return 0;
}

static int parse_group(struct cli_config *c, const json_t *g, struct cli_group_model *m,
                       const char *text, char *cause, size_t size, bool *bad)
{
    static const char *const known[] = {"name",
                                        "cpu",
                                        "gpu",
                                        "tpu",
                                        "num-of-hosts",
                                        "memory",
                                        "ephemeral-storage",
                                        "ray-start-params",
                                        "node-selectors",
                                        "replicas",
                                        NULL};
    memset(m, 0, sizeof(*m));
    if (json_is_null(g))
        return 0;
    if (!json_is_object(g)) {
        *bad = true;
        return 0;
    }
    if (unknown_field(g, known, "WorkerGroup", text, cause, size) != 0)
        return CLI_FAIL;
    m->name = scalar_text(c, json_object_get(g, "name"), bad);
    m->cpu = scalar_text(c, json_object_get(g, "cpu"), bad);
    m->gpu = scalar_text(c, json_object_get(g, "gpu"), bad);
    m->tpu = scalar_text(c, json_object_get(g, "tpu"), bad);
    m->memory = scalar_text(c, json_object_get(g, "memory"), bad);
    m->ephemeral = scalar_text(c, json_object_get(g, "ephemeral-storage"), bad);
    m->has_hosts = int_field(json_object_get(g, "num-of-hosts"), &m->num_of_hosts, bad) == 0;
    (void)int_field(json_object_get(g, "replicas"), &m->replicas, bad);
    (void)string_map(c, json_object_get(g, "ray-start-params"), &m->ray_start_params, bad);
    (void)string_map(c, json_object_get(g, "node-selectors"), &m->node_selectors, bad);
    return 0;
}

static int parse_gke(struct cli_config *c, const json_t *gke, const char *text, char *cause,
                     size_t size, bool *bad)
{
    static const char *const known_gke[] = {"gcsfuse", NULL};
    static const char *const known_fuse[] = {"mount-options",
                                             "disable-metrics",
                                             "gcsfuse-metadata-prefetch-on-mount",
                                             "skip-csi-bucket-access-check",
                                             "resources",
                                             "bucket-name",
                                             "mount-path",
                                             NULL};
    static const char *const known_res[] = {"cpu", "memory", "ephemeral-storage", NULL};
    struct cli_gcsfuse_model *f = &c->gcsfuse;
    if (!json_is_object(gke))
        return 0;
    if (unknown_field(gke, known_gke, "GKE", text, cause, size) != 0)
        return CLI_FAIL;
    const json_t *fuse = json_object_get(gke, "gcsfuse");
    if (!json_is_object(fuse))
        return 0;
    if (unknown_field(fuse, known_fuse, "GCSFuse", text, cause, size) != 0)
        return CLI_FAIL;
    memset(f, 0, sizeof(*f));
    f->bucket_name = scalar_text(c, json_object_get(fuse, "bucket-name"), bad);
    f->mount_path = scalar_text(c, json_object_get(fuse, "mount-path"), bad);
    f->mount_options = scalar_text(c, json_object_get(fuse, "mount-options"), bad);
    f->disable_metrics = json_object_get(fuse, "disable-metrics");
    f->metadata_prefetch = json_object_get(fuse, "gcsfuse-metadata-prefetch-on-mount");
    f->skip_bucket_check = json_object_get(fuse, "skip-csi-bucket-access-check");
    const json_t *flags[] = {f->disable_metrics, f->metadata_prefetch, f->skip_bucket_check};
    for (size_t i = 0; i < 3; i++)
        if (flags[i] && !json_is_boolean(flags[i]) && !json_is_null(flags[i]))
            *bad = true;
    const json_t *res = json_object_get(fuse, "resources");
    if (json_is_object(res)) {
        if (unknown_field(res, known_res, "GCSFuseResources", text, cause, size) != 0)
            return CLI_FAIL;
        f->has_resources = true;
        f->cpu = scalar_text(c, json_object_get(res, "cpu"), bad);
        f->memory = scalar_text(c, json_object_get(res, "memory"), bad);
        f->ephemeral = scalar_text(c, json_object_get(res, "ephemeral-storage"), bad);
    }
    c->model.gcsfuse = f;
    return 0;
}

int cli_config_parse(const char *text, size_t len, struct cli_config *c, char *cause, size_t size)
{
    static const char *const known[] = {
        "namespace",       "name", "labels", "annotations", "ray-version",   "image",
        "service-account", "head", "gke",    "autoscaler",  "worker-groups", NULL};
    struct krc_error err;
    bool bad = false;
    const char *v;

    memset(c, 0, sizeof(*c));
    if (!(c->texts = json_array()))
        goto nomem;
    c->model.ray_version = CLI_RAY_VERSION;
    c->model.image = CLI_RAY_IMAGE;
    c->model.head.cpu = CLI_DEFAULT_CPU;
    c->model.head.memory = CLI_DEFAULT_MEMORY;
    c->groups = calloc(1, sizeof(*c->groups));
    if (!c->groups)
        goto nomem;
    c->groups[0].name = "default-group";
    c->groups[0].replicas = 1;
    c->groups[0].cpu = CLI_DEFAULT_CPU;
    c->groups[0].memory = CLI_DEFAULT_MEMORY;
    c->model.groups = c->groups;
    c->model.ngroups = 1;

    if (gojson_yaml_to_json(text, len, &c->doc, &err) != 0) {
        snprintf(cause, size, "%s", err.msg);
        return CLI_FAIL;
    }
    const json_t *d = c->doc;
    if (json_is_null(d))
        return 0;
    if (!json_is_object(d)) {
        snprintf(cause, size,
                 "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!%s into "
                 "generation.RayClusterConfig",
                 json_is_array(d) ? "seq" : "str");
        return CLI_FAIL;
    }
    if (unknown_field(d, known, "RayClusterConfig", text, cause, size) != 0)
        return CLI_FAIL;
    c->name = scalar_text(c, json_object_get(d, "name"), &bad);
    c->namespace = scalar_text(c, json_object_get(d, "namespace"), &bad);
    (void)string_map(c, json_object_get(d, "labels"), &c->model.labels, &bad);
    (void)string_map(c, json_object_get(d, "annotations"), &c->model.annotations, &bad);
    if ((v = scalar_text(c, json_object_get(d, "ray-version"), &bad)))
        c->model.ray_version = v;
    if ((v = scalar_text(c, json_object_get(d, "image"), &bad)))
        c->model.image = v;
    c->model.service_account = scalar_text(c, json_object_get(d, "service-account"), &bad);
    if (parse_head(c, json_object_get(d, "head"), text, cause, size, &bad) != 0)
        return CLI_FAIL;
    const json_t *as = json_object_get(d, "autoscaler");
    if (json_is_object(as)) {
        static const char *const known_as[] = {"version", NULL};
        if (unknown_field(as, known_as, "Autoscaler", text, cause, size) != 0)
            return CLI_FAIL;
        c->model.autoscaler = scalar_text(c, json_object_get(as, "version"), &bad);
    }
    if (parse_gke(c, json_object_get(d, "gke"), text, cause, size, &bad) != 0)
        return CLI_FAIL;
    const json_t *groups = json_object_get(d, "worker-groups");
    if (json_is_array(groups) && json_array_size(groups) > 0) {
        size_t n = json_array_size(groups);
        struct cli_group_model *g = calloc(n, sizeof(*g));
        if (!g)
            goto nomem;
        free(c->groups);
        c->groups = g;
        c->model.groups = g;
        c->model.ngroups = n;
        for (size_t i = 0; i < n; i++)
            if (parse_group(c, json_array_get(groups, i), &g[i], text, cause, size, &bad) != 0)
                return CLI_FAIL;
    } else if (groups && !json_is_null(groups) && !json_is_array(groups)) {
        bad = true;
    }
    if (bad) {
        snprintf(cause, size,
                 "yaml: unmarshal errors:\n  a value has the wrong type for "
                 "generation.RayClusterConfig");
        return CLI_FAIL;
    }
    return 0;
nomem:
    snprintf(cause, size, "out of memory");
    return CLI_FAIL;
}

int cli_config_validate(const struct cli_config *c, char *cause, size_t size)
{
    const struct cli_head_model *h = &c->model.head;
    const struct {
        const char *name, *value;
    } head[] = {{"cpu", h->cpu},
                {"gpu", h->gpu},
                {"memory", h->memory},
                {"ephemeral-storage", h->ephemeral}};
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        if (head[i].value && cli_validate_quantity(head[i].value, head[i].name, cause, size) != 0)
            return CLI_FAIL;
    for (size_t gi = 0; gi < c->model.ngroups; gi++) {
        const struct cli_group_model *g = &c->model.groups[gi];
        const struct {
            const char *name, *value;
        } res[] = {{"cpu", g->cpu},
                   {"gpu", g->gpu},
                   {"tpu", g->tpu},
                   {"memory", g->memory},
                   {"ephemeral-storage", g->ephemeral}};
        for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
            char name[64];
            snprintf(name, sizeof(name), "%s (worker group %zu)", res[i].name, gi);
            if (res[i].value && cli_validate_quantity(res[i].value, name, cause, size) != 0)
                return CLI_FAIL;
        }
        if (cli_validate_tpu(g->tpu, g->has_hosts, g->num_of_hosts, g->node_selectors, cause,
                             size) != 0)
            return CLI_FAIL;
    }
    const struct cli_gcsfuse_model *f = c->model.gcsfuse;
    if (f) {
        if (!f->bucket_name || !*f->bucket_name) {
            snprintf(cause, size, ".gcsfuse.bucket-name is required");
            return CLI_FAIL;
        }
        if (!f->mount_path || !*f->mount_path) {
            snprintf(cause, size, ".gcsfuse.mount-path is required");
            return CLI_FAIL;
        }
        const struct {
            const char *name, *value;
        } res[] = {{"gcsfuse.resources.cpu", f->cpu},
                   {"gcsfuse.resources.memory", f->memory},
                   {"gcsfuse.resources.ephemeral-storage", f->ephemeral}};
        for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++)
            if (res[i].value && cli_validate_quantity(res[i].value, res[i].name, cause, size) != 0)
                return CLI_FAIL;
    }
    return 0;
}

void cli_config_release(struct cli_config *c)
{
    json_decref(c->doc);
    json_decref(c->texts);
    free(c->groups);
    memset(c, 0, sizeof(*c));
}

/* ---- the command ---- */

/* Flag mode: the model from the command line (§4.1 rules 2, 4, 5, 7). */
static int model_from_flags(struct cli_ctx *ctx, const struct cli_args *a,
                            struct cli_cluster_model *m, struct cli_group_model *g, char *image,
                            size_t isize)
{
    static const char *const quantity_flags[] = {
        "head-cpu",   "head-gpu",   "head-memory",   "head-ephemeral-storage",  "worker-cpu",
        "worker-gpu", "worker-tpu", "worker-memory", "worker-ephemeral-storage"};
    char cause[512];
    const char *ver = cli_flag_str(a, "ray-version"), *img = cli_flag_str(a, "image");

    if (!*img || (strcmp(img, CLI_RAY_IMAGE) == 0 && strcmp(ver, CLI_RAY_VERSION) != 0))
        snprintf(image, isize, "%s:%s", CLI_RAY_IMAGE_REPO, ver);
    else
        snprintf(image, isize, "%s", img);
    for (size_t i = 0; i < sizeof(quantity_flags) / sizeof(quantity_flags[0]); i++) {
        const char *v = cli_flag_str(a, quantity_flags[i]);
        if ((*v || cli_flag_changed(a, quantity_flags[i])) &&
            cli_validate_quantity(v, quantity_flags[i], cause, sizeof(cause)) != 0)
            return cli_fail(ctx, "%s", cause);
    }
    if (cli_validate_tpu(cli_flag_str(a, "worker-tpu"), true, cli_flag_int(a, "num-of-hosts"),
                         cli_flag(a, "worker-node-selectors")->map, cause, sizeof(cause)) != 0)
        return cli_fail(ctx, "%s", cause);

    m->labels = cli_flag(a, "labels")->map;
    m->annotations = cli_flag(a, "annotations")->map;
    m->ray_version = ver;
    m->image = image;
    m->head.cpu = cli_flag_str(a, "head-cpu");
    m->head.memory = cli_flag_str(a, "head-memory");
    m->head.gpu = cli_flag_str(a, "head-gpu");
    m->head.ephemeral = cli_flag_str(a, "head-ephemeral-storage");
    m->head.ray_start_params = cli_flag(a, "head-ray-start-params")->map;
    m->head.node_selectors = cli_flag(a, "head-node-selectors")->map;
    g->name = "default-group";
    g->replicas = cli_flag_int(a, "worker-replicas");
    g->has_hosts = true;
    g->num_of_hosts = cli_flag_int(a, "num-of-hosts");
    g->cpu = cli_flag_str(a, "worker-cpu");
    g->memory = cli_flag_str(a, "worker-memory");
    g->gpu = cli_flag_str(a, "worker-gpu");
    g->tpu = cli_flag_str(a, "worker-tpu");
    g->ephemeral = cli_flag_str(a, "worker-ephemeral-storage");
    g->ray_start_params = cli_flag(a, "worker-ray-start-params")->map;
    g->node_selectors = cli_flag(a, "worker-node-selectors")->map;
    m->groups = g;
    m->ngroups = 1;
    m->autoscaler = *cli_flag_str(a, "autoscaler") ? cli_flag_str(a, "autoscaler") : NULL;
    return 0;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* File mode: §4.1 rule 3 and the file itself. */
static int model_from_file(struct cli_ctx *ctx, const struct cli_args *a, struct cli_config *c)
{
    const char *bad[CLI_MAX_FLAGS];
    size_t nbad = 0;
    const char *path = cli_flag_str(a, "file");
    char cause[1024];
    struct stat st;

    for (size_t i = 0; i < a->nflags; i++) {
        if (!a->flags[i].changed)
            continue;
        bool ok = false;
        for (size_t k = 0; k < sizeof(file_compatible) / sizeof(file_compatible[0]); k++)
            ok = ok || strcmp(a->flags[i].def->name, file_compatible[k]) == 0;
        if (!ok)
            bad[nbad++] = a->flags[i].def->name;
    }
    if (nbad) {
        struct krc_strbuf list = KRC_STRBUF_INIT;
        qsort(bad, nbad, sizeof(bad[0]), cmp_str);
        for (size_t i = 0; i < nbad; i++)
            (void)krc_strbuf_addf(&list, "%s%s", i ? " " : "", bad[i]);
        cli_fail(ctx, "the following flags are incompatible with --file: [%s]", list.buf);
        krc_strbuf_release(&list);
        return CLI_FAIL;
    }
    if (stat(path, &st) != 0 && errno == ENOENT)
        return cli_fail(ctx, "failed to parse config file: config file %s does not exist", path);
    struct krc_strbuf text = KRC_STRBUF_INIT;
    struct krc_error err;
    if (krc_file_read(path, CONFIG_FILE_MAX, &text, &err) != 0) {
        krc_strbuf_release(&text);
        return cli_fail(ctx, "failed to parse config file: failed to read config file: %s",
                        err.msg);
    }
    int rc = cli_config_parse(text.buf, text.len, c, cause, sizeof(cause));
    krc_strbuf_release(&text);
    if (rc != 0)
        return cli_fail(ctx, "failed to parse config file: failed to parse YAML: %s", cause);
    if (cli_config_validate(c, cause, sizeof(cause)) != 0)
        return cli_fail(ctx, "failed to validate config file: %s", cause);
    return 0;
}

struct wait_state {
    int done;
    struct krc_strbuf problem;
};

static int provisioned(const json_t *rc)
{
    const json_t *st = json_object_get(rc, "status");
    const char *state = json_string_value(json_object_get(st, "state"));
    if (state && strcmp(state, "ready") == 0)
        return 1;
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *status = json_string_value(json_object_get(c, "status"));
        if (type && status && strcmp(type, "RayClusterProvisioned") == 0 &&
            strcmp(status, "True") == 0)
            return 1;
    }
    return 0;
}

static int on_event(void *arg, const char *line, size_t len)
{
    struct wait_state *w = arg;
    json_t *ev = json_loadb(line, len, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    const json_t *obj = json_object_get(ev, "object");
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    int rc = 0;

    if (!kind)
        kind = "";

    if (type && strcmp(type, "ERROR") == 0) {
        char *s = json_dumps(obj, JSON_COMPACT);
        (void)krc_strbuf_addf(&w->problem, "error watching Ray cluster: %s", s ? s : "");
        free(s);
        rc = 1;
    } else if (type && strcmp(type, "BOOKMARK") != 0 && strcmp(kind, "RayCluster") != 0) {
        (void)krc_strbuf_addf(&w->problem, "unexpected type %s", *kind ? kind : "<nil>");
        rc = 1;
    } else if (obj && provisioned(obj)) {
        w->done = 1;
        rc = 1;
    }
    json_decref(ev);
    return rc;
}

static int wait_provisioned(struct cli_ctx *ctx, const char *name, const char *ns,
                            long long timeout_ms)
{
    struct wait_state w = {0, KRC_STRBUF_INIT};
    char fsel[512];
    struct krc_list_opts opts = {0};
    struct krc_stream_opts sopts = {0};
    struct krc_error err;
    int rc;

    snprintf(fsel, sizeof(fsel), "metadata.name=%s", name);
    opts.field_selector = fsel;
    opts.timeout_seconds = timeout_ms > 0 ? (long)((timeout_ms + 999) / 1000) : 0;
    sopts.on_line = on_event;
    sopts.ctx = &w;
    sopts.timeout_ms = timeout_ms > 0 ? (long)timeout_ms : 0;
    rc = krc_client_watch(ctx->client, &cli_res_rayclusters, ns, &opts, &sopts, &err);
    if (w.done) {
        fprintf(ctx->out, "Ray cluster %s is provisioned\n", name);
        rc = 0;
    } else if (w.problem.len) {
        rc = cli_fail(ctx, "%s", w.problem.buf);
    } else if (rc == KRC_ETIMEOUT || rc == 0) {
        /* The server ends the watch at timeoutSeconds: that is our deadline too. */
        rc = cli_fail(ctx, "timed out waiting for Ray cluster %s in namespace %s to be provisioned",
                      name, ns);
    } else {
        rc = cli_fail(ctx, "failed to watch Ray cluster %s in namespace %s: %s", name, ns,
                      cli_api_msg(&err));
    }
    krc_strbuf_release(&w.problem);
    return rc;
}

int cli_run_create_cluster(struct cli_ctx *ctx, const struct cli_args *a)
{
    struct cli_cluster_model m;
    struct cli_group_model group;
    struct cli_config config;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err;
    json_t *obj = NULL;
    const char *ns;
    char image[512];
    bool file_mode = *cli_flag_str(a, "file") != '\0';
    int rc = CLI_FAIL;

    memset(&m, 0, sizeof(m));
    memset(&group, 0, sizeof(group));
    memset(&config, 0, sizeof(config));
    if (cli_namespace(ctx, &ns) != 0)
        return CLI_FAIL;
    if (a->npos != 1)
        return cli_usage_error(ctx, "cluster [CLUSTERNAME]");
    if (file_mode) {
        if (model_from_file(ctx, a, &config) != 0)
            goto out;
        m = config.model;
    } else if (model_from_flags(ctx, a, &m, &group, image, sizeof(image)) != 0) {
        goto out;
    }
    if (cli_client(ctx, "failed to create client") != 0)
        goto out;
    m.name = a->pos[0];
    m.namespace = ns;
    if (file_mode) {
        if (config.name && *config.name && strcmp(config.name, m.name) != 0) {
            cli_fail(ctx,
                     "the cluster name in the config file \"%s\" does not match the cluster name "
                     "\"%s\". You must use the same name to perform this operation",
                     config.name, m.name);
            goto out;
        }
        if (config.namespace && *config.namespace) {
            if (cli_flag_changed(a, "namespace") && strcmp(config.namespace, ns) != 0) {
                cli_fail(ctx,
                         "the namespace in the config file \"%s\" does not match the namespace "
                         "\"%s\". You must pass --namespace=%s to perform this operation",
                         config.namespace, ns, config.namespace);
                goto out;
            }
            m.namespace = config.namespace;
        }
    }
    if (cli_gen_cluster(&m, &obj, &err) != 0) {
        cli_fail(ctx, "error creating RayCluster YAML: %s", err.msg);
        goto out;
    }
    if (cli_flag_bool(a, "dry-run")) {
        if (cli_gen_dry_run(obj, &out, &err) != 0) {
            cli_fail(ctx, "error creating RayCluster YAML: %s", err.msg);
            goto out;
        }
        fwrite(out.buf, 1, out.len, ctx->out);
        rc = 0;
        goto out;
    }
    if (krc_client_get(ctx->client, &cli_res_rayclusters, m.namespace, m.name, &out, &err) == 0) {
        cli_fail(ctx, "the Ray cluster %s in namespace %s already exists", m.name, m.namespace);
        goto out;
    }
    char *body = json_dumps(obj, JSON_COMPACT);
    struct krc_write_opts wopts = {.field_manager = CLI_FIELD_MANAGER};
    if (!body) {
        cli_fail(ctx, "out of memory");
        goto out;
    }
    krc_strbuf_reset(&out);
    int prc = krc_client_patch(ctx->client, &cli_res_rayclusters, m.namespace, m.name, NULL,
                               KRC_PATCH_APPLY, body, strlen(body), &wopts, &out, &err);
    free(body);
    if (prc != 0) {
        cli_fail(ctx, "failed to create Ray cluster: %s", cli_api_msg(&err));
        goto out;
    }
    fprintf(ctx->out, "Created Ray cluster: %s\n", m.name);
    fflush(ctx->out);
    if (cli_flag_bool(a, "wait") &&
        wait_provisioned(ctx, m.name, m.namespace, cli_flag_int(a, "timeout")) != 0)
        goto out;
    rc = 0;
out:
    json_decref(obj);
    krc_strbuf_release(&out);
    cli_config_release(&config);
    return rc;
}
