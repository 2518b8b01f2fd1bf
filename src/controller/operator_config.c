/* operator_config.c - decoding the operator's configuration file (see operator_config.h). */
#include "controller/operator_config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 64

static bool plain_is(const char *v, const char *const *words)
{
    for (; *words; words++) {
        if (strcmp(v, *words) == 0)
            return true;
    }
    return false;
}

static json_t *scalar(const yaml_node_t *n)
{
    static const char *const t[] = {"true", "True", "TRUE", NULL};
    static const char *const f[] = {"false", "False", "FALSE", NULL};
    static const char *const nul[] = {"null", "Null", "NULL", "~", "", NULL};
    const char *v = (const char *)n->data.scalar.value;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(v, n->data.scalar.length);
    if (plain_is(v, t))
        return json_true();
    if (plain_is(v, f))
        return json_false();
    if (plain_is(v, nul))
        return json_null();
    char *end;
    errno = 0;
    long long i = strtoll(v, &end, 10);
    if (*v && !*end && !errno)
        return json_integer(i);
    double d = strtod(v, &end);
    if (*v && !*end && isfinite(d))
        return json_real(d);
    return json_stringn(v, n->data.scalar.length);
}

static json_t *convert(yaml_document_t *doc, yaml_node_t *n, int depth, struct krc_error *err)
{
    json_t *out = NULL;
    if (depth > YAML_MAX_DEPTH) {
        krc_error_set(err, KRC_EINVAL, "config: nested deeper than %d", YAML_MAX_DEPTH);
        return NULL;
    }
    switch (n->type) {
    case YAML_SCALAR_NODE:
        out = scalar(n);
        break;
    case YAML_SEQUENCE_NODE:
        out = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             out && it < n->data.sequence.items.top; it++) {
            json_t *v = convert(doc, yaml_document_get_node(doc, *it), depth + 1, err);
            if (!v || json_array_append_new(out, v)) {
                json_decref(out);
                return NULL;
            }
        }
        break;
    case YAML_MAPPING_NODE:
        out = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             out && p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE) {
                krc_error_set(err, KRC_EINVAL, "config: line %lu: a key that is not a scalar",
                              (unsigned long)(k ? k->start_mark.line + 1 : 0));
                json_decref(out);
                return NULL;
            }
            json_t *v = convert(doc, yaml_document_get_node(doc, p->value), depth + 1, err);
            if (!v || json_object_set_new(out, (const char *)k->data.scalar.value, v)) {
                json_decref(out);
                return NULL;
            }
        }
        break;
    default:
        break;
    }
    if (!out && !err->code)
        krc_error_set(err, KRC_ENOMEM, "config: out of memory");
    return out;
}

int operator_yaml_to_json(const char *text, size_t len, json_t **out, struct krc_error *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    int r = 0;
    *out = NULL;
    if (!yaml_parser_initialize(&parser))
        return krc_error_set(err, KRC_ENOMEM, "config: out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        r = krc_error_set(err, KRC_EINVAL, "config: line %lu: %s",
                          (unsigned long)parser.problem_mark.line + 1,
                          parser.problem ? parser.problem : "malformed YAML");
        yaml_parser_delete(&parser);
        return r;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root)
        *out = json_object(); /* an empty file: every default */
    else
        *out = convert(&doc, root, 0, err);
    if (!*out)
        r = err->code ? err->code : krc_error_set(err, KRC_ENOMEM, "config: out of memory");
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return r;
}

/* ---- fields, with Go's encoding/json type rules ------------------------------------------- */

static int type_err(struct krc_error *err, const char *field, const char *type)
{
    return krc_error_set(err, KRC_EINVAL,
                         "config: cannot unmarshal into Go struct field Configuration.%s of type "
                         "%s",
                         field, type);
}

static int get_str(const json_t *root, const char *field, const char **out, struct krc_error *err)
{
    json_t *v = json_object_get(root, field);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return type_err(err, field, "string");
    *out = json_string_value(v);
    return 0;
}

static int get_bool(const json_t *root, const char *field, bool *out, struct krc_error *err)
{
    json_t *v = json_object_get(root, field);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return type_err(err, field, "bool");
    *out = json_is_true(v);
    return 0;
}

static int get_int(const json_t *root, const char *field, long *out, bool *set,
                   struct krc_error *err)
{
    json_t *v = json_object_get(root, field);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return type_err(err, field, "int");
    *out = (long)json_integer_value(v);
    if (set)
        *set = true;
    return 0;
}

static int get_json(const json_t *root, const char *field, bool array, const json_t **out,
                    struct krc_error *err)
{
    json_t *v = json_object_get(root, field);
    if (!v || json_is_null(v))
        return 0;
    if (array ? !json_is_array(v) : !json_is_object(v))
        return type_err(err, field, array ? "[]" : "map[string]string");
    if (!array) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            if (!json_is_string(x))
                return type_err(err, field, "map[string]string");
        }
    }
    *out = v;
    return 0;
}

int operator_config_parse(const char *text, size_t len, struct operator_config *out,
                          struct krc_error *err)
{
    json_t *root = NULL;
    bool burst_set = false;
    int r;
    memset(out, 0, sizeof(*out));
    if ((r = operator_yaml_to_json(text, len, &root, err)))
        return r;
    if (!json_is_object(root)) {
        r = krc_error_set(err, KRC_EINVAL, "config: the document is not a mapping");
        goto err;
    }
    const char *api = NULL, *kind = NULL;
    if ((r = get_str(root, "apiVersion", &api, err)) || (r = get_str(root, "kind", &kind, err)))
        goto err;
    if ((api && strcmp(api, "config.ray.io/v1alpha1") != 0) ||
        (kind && strcmp(kind, "Configuration") != 0)) {
        r = krc_error_set(err, KRC_EINVAL,
                          "config: no kind \"%s\" is registered for version \"%s\"",
                          kind ? kind : "Configuration", api ? api : "config.ray.io/v1alpha1");
        goto err;
    }
    out->root = root;
    out->metrics_addr = ":8080";
    out->probe_addr = ":8082";
    out->leader_election_namespace = out->watch_namespace = out->log_stdout_encoder = "";
    out->enable_leader_election = true;
    out->qps = 100;
    out->burst = 200;
    json_t *qps = json_object_get(root, "qps");
    if (qps && !json_is_null(qps)) {
        if (!json_is_number(qps)) {
            r = type_err(err, "qps", "float64");
            goto err;
        }
        out->qps = json_number_value(qps);
    }
    if ((r = get_str(root, "metricsAddr", &out->metrics_addr, err)) ||
        (r = get_str(root, "probeAddr", &out->probe_addr, err)) ||
        (r = get_str(root, "leaderElectionNamespace", &out->leader_election_namespace, err)) ||
        (r = get_str(root, "watchNamespace", &out->watch_namespace, err)) ||
        (r = get_str(root, "logStdoutEncoder", &out->log_stdout_encoder, err)) ||
        (r = get_bool(root, "enableLeaderElection", &out->enable_leader_election, err)) ||
        (r = get_bool(root, "enableMetrics", &out->enable_metrics, err)) ||
        (r = get_bool(root, "useKubernetesProxy", &out->use_kubernetes_proxy, err)) ||
        (r = get_int(root, "reconcileConcurrency", &out->reconcile_concurrency, NULL, err)) ||
        (r = get_int(root, "burst", &out->burst, &burst_set, err)) ||
        (r = get_json(root, "headSidecarContainers", true, &out->head_sidecar_containers, err)) ||
        (r = get_json(root, "workerSidecarContainers", true, &out->worker_sidecar_containers,
                      err)) ||
        (r = get_json(root, "defaultContainerEnvs", true, &out->default_container_envs, err)) ||
        (r = get_json(root, "defaultPodAnnotations", false, &out->default_pod_annotations, err)) ||
        (r = get_json(root, "defaultPodLabels", false, &out->default_pod_labels, err)))
        goto err;
    if (out->reconcile_concurrency == 0)
        out->reconcile_concurrency = 1;
    if (!*out->metrics_addr)
        out->metrics_addr = ":8080";
    if (!*out->probe_addr)
        out->probe_addr = ":8082";
    return 0;
err:
    json_decref(root);
    memset(out, 0, sizeof(*out));
    return r;
}

void operator_config_release(struct operator_config *c)
{
    json_decref(c->root);
    memset(c, 0, sizeof(*c));
}
