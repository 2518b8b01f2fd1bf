/* raystart.c - `ray start` flag derivation and rendering (see raystart.h).
 *
 * The float map behind --resources is kept as a jansson object of reals and written by hand
 * (sorted keys, Go's float and string formatting), because jansson's own dump would print "4.0"
 * where Go prints "4" - and the command text must match KubeRay byte for byte. */
#include "ray/raystart.h"

#include "api/kobj.h"
#include "util/error.h"
#include "util/log.h"
#include "util/quantity.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ray_node_type_name(enum ray_node_type t)
{
    return t == RAY_NODE_HEAD ? "head" : "worker";
}

const char *raystart_head_port(const json_t *head_params)
{
    const char *p = kobj_map_get(head_params, "port");
    return p ? p : RAY_DEFAULT_GCS_PORT;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Unanchored-start match of `nvidia\.com/mig-\d+g\.\d+gb$`. */
static bool is_mig_key(const char *name)
{
    static const char prefix[] = "nvidia.com/mig-";
    for (const char *p = strstr(name, prefix); p; p = strstr(p + 1, prefix)) {
        const char *q = p + sizeof(prefix) - 1;
        const char *g = strstr(q, "g.");
        if (!g || !all_digits(q, (size_t)(g - q)))
            continue;
        const char *m = g + 2;
        if (!ends_with(m, "gb"))
            continue;
        if (all_digits(m, strlen(m) - 2))
            return true;
    }
    return false;
}

bool raystart_is_gpu_key(const char *name)
{
    return ends_with(name, "gpu") || is_mig_key(name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj sorted by bytes (Go's sort.Strings). Caller frees; NULL for an empty object. */
static const char **sorted_keys(const json_t *obj, size_t *n, int *rc)
{
    json_t *o = (json_t *)(uintptr_t)obj;
    *n = json_object_size(o);
    *rc = 0;
    if (*n == 0)
        return NULL;
    const char **keys = malloc(*n * sizeof(*keys));
    if (!keys) {
        *rc = KRC_ENOMEM;
        return NULL;
    }
    size_t i = 0;
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
        keys[i++] = json_object_iter_key(it);
    qsort(keys, *n, sizeof(*keys), cmp_str);
    return keys;
}

void raystart_format_float(double d, char *buf, size_t size)
{
    char tmp[48];
    if (d == 0) {
        snprintf(buf, size, "%s", signbit(d) ? "-0" : "0");
        return;
    }
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp = [-]D[.DDD]e(+|-)XX: collect the significant digits and the decimal exponent. */
    char digits[24];
    size_t nd = 0;
    const char *p = tmp;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && nd + 1 < sizeof(digits))
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp10 = *p == 'e' ? atoi(p + 1) : 0;
    double a = fabs(d);
    if (a < 1e-6 || a >= 1e21) {
        /* Go's 'e' format with minimal digits, then encoding/json's "e-07" -> "e-7". */
        snprintf(buf, size, "%s%c%s%.*s%c%c%02d", neg ? "-" : "", digits[0], nd > 1 ? "." : "",
                 (int)(nd - 1), digits + 1, 'e', exp10 < 0 ? '-' : '+', abs(exp10));
        size_t len = strlen(buf);
        if (len >= 4 && buf[len - 4] == 'e' && buf[len - 3] == '-' && buf[len - 2] == '0') {
            buf[len - 2] = buf[len - 1];
            buf[len - 1] = '\0';
        }
        return;
    }
    /* 'f' format: value = 0.digits * 10^(exp10+1). */
    char out[64];
    size_t o = 0;
    int point = exp10 + 1; /* digits before the decimal point */
    if (neg)
        out[o++] = '-';
    if (point <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -point; i++)
            out[o++] = '0';
        for (size_t i = 0; i < nd; i++)
            out[o++] = digits[i];
    } else {
        for (int i = 0; i < point; i++)
            out[o++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)point < nd) {
            out[o++] = '.';
            for (size_t i = (size_t)point; i < nd; i++)
                out[o++] = digits[i];
        }
    }
    out[o] = '\0';
    snprintf(buf, size, "%s", out);
}

/* A JSON string as Go's encoding/json writes it (HTML-safe escaping of <, > and &). */
static int add_go_json_string(struct krc_strbuf *sb, const char *s)
{
    int rc = krc_strbuf_addch(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        if (*p == '"' || *p == '\\')
            rc = krc_strbuf_addf(sb, "\\%c", *p);
        else if (*p == '\n')
            rc = krc_strbuf_adds(sb, "\\n");
        else if (*p == '\r')
            rc = krc_strbuf_adds(sb, "\\r");
        else if (*p == '\t')
            rc = krc_strbuf_adds(sb, "\\t");
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
            rc = krc_strbuf_addf(sb, "\\u%04x", *p);
        else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            rc = krc_strbuf_addf(sb, "\\u202%c", p[2] == 0xa8 ? '8' : '9');
            p += 2;
        } else
            rc = krc_strbuf_addch(sb, (char)*p);
    }
    return rc ? rc : krc_strbuf_addch(sb, '"');
}

/* params["resources"] = '<json of the float map>' (Go's json.Marshal of map[string]float64). */
static int set_resources_json(json_t *params, const json_t *floats)
{
    size_t n;
    int rc;
    const char **keys = sorted_keys(floats, &n, &rc);
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    if (rc)
        return rc;
    rc = krc_strbuf_adds(&sb, "'{");
    for (size_t i = 0; i < n && !rc; i++) {
        char num[64];
        raystart_format_float(json_number_value(json_object_get(floats, keys[i])), num,
                              sizeof(num));
        if ((i > 0 && (rc = krc_strbuf_addch(&sb, ','))) ||
            (rc = add_go_json_string(&sb, keys[i])) || (rc = krc_strbuf_addch(&sb, ':')) ||
            (rc = krc_strbuf_adds(&sb, num)))
            break;
    }
    if (!rc)
        rc = krc_strbuf_adds(&sb, "}'");
    if (!rc)
        rc = kobj_set_str(params, "resources", sb.buf);
    free(keys);
    krc_strbuf_release(&sb);
    return rc;
}

static bool ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        if (x != *b)
            return false;
    }
    return *a == *b;
}

static int set_int(json_t *params, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    return kobj_set_str(params, key, buf);
}

int raystart_apply_group_resources(json_t *params, const json_t *resources)
{
    if (!json_is_object(params))
        return KRC_EINVAL;
    size_t n;
    int rc;
    const char **keys = sorted_keys(resources, &n, &rc);
    json_t *floats = NULL;
    if (rc || n == 0)
        return rc;
    if (!(floats = json_object())) {
        rc = KRC_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const char *name = keys[i];
        char buf[32];
        const char *text = kobj_quantity_text(json_object_get(resources, name), buf, sizeof(buf));
        struct krc_quantity q;
        int64_t v;
        if (!text || krc_quantity_parse(text, &q, NULL) != 0) {
            KRC_LOG_INFO("skipping group resource: failed to parse quantity", "resource", name,
                         "quantity", text ? text : "");
            continue;
        }
        char lower[128];
        size_t k;
        for (k = 0; name[k] && k + 1 < sizeof(lower); k++)
            lower[k] = (name[k] >= 'A' && name[k] <= 'Z') ? (char)(name[k] + 32) : name[k];
        lower[k] = '\0';
        bool is_cpu = ascii_ieq(name, "cpu"), is_mem = ascii_ieq(name, "memory");
        if (is_cpu || is_mem || raystart_is_gpu_key(lower)) {
            if (krc_quantity_value(&q, &v, NULL) != 0) {
                KRC_LOG_INFO("skipping group resource: quantity out of range", "resource", name,
                             "quantity", text);
                continue;
            }
            rc = set_int(params, is_cpu ? "num-cpus" : is_mem ? "memory" : "num-gpus", v);
        } else {
            rc = kobj_set_new(floats, name, json_real(krc_quantity_to_double(&q)));
        }
    }
    if (!rc && json_object_size(floats) > 0)
        rc = set_resources_json(params, floats);
out:
    json_decref(floats);
    free(keys);
    return rc;
}

int raystart_apply_group_labels(json_t *params, const json_t *labels)
{
    if (!json_is_object(params))
        return KRC_EINVAL;
    size_t n;
    int rc;
    const char **keys = sorted_keys(labels, &n, &rc);
    if (rc || n == 0)
        return rc;
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *v = kobj_map_get(labels, keys[i]);
        rc = krc_strbuf_addf(&sb, "%s%s=%s", i ? "," : "", keys[i], v ? v : "");
    }
    if (!rc)
        rc = kobj_set_str(params, "labels", sb.buf);
    krc_strbuf_release(&sb);
    free(keys);
    return rc;
}

static int set_if_absent(json_t *params, const char *key, const char *value)
{
    if (json_object_get(params, key))
        return 0;
    return kobj_set_str(params, key, value);
}

int raystart_set_missing(json_t *params, enum ray_node_type t, const char *head_port,
                         const char *fqdn)
{
    if (!json_is_object(params))
        return KRC_EINVAL;
    int rc = 0;
    char buf[32];
    if (t == RAY_NODE_WORKER && !json_object_get(params, "address")) {
        struct krc_strbuf sb = KRC_STRBUF_INIT;
        rc = krc_strbuf_addf(&sb, "%s:%s", fqdn ? fqdn : "", head_port ? head_port : "");
        if (!rc)
            rc = kobj_set_str(params, "address", sb.buf);
        krc_strbuf_release(&sb);
    }
    if (!rc && t == RAY_NODE_HEAD)
        rc = set_if_absent(params, "dashboard-host", "0.0.0.0");
    snprintf(buf, sizeof(buf), "%d", RAY_DEFAULT_METRICS_PORT);
    if (!rc)
        rc = set_if_absent(params, "metrics-export-port", buf);
    if (!rc)
        rc = kobj_set_str(params, "block", "true");
    snprintf(buf, sizeof(buf), "%d", RAY_DEFAULT_DASHBOARD_AGENT_PORT);
    if (!rc)
        rc = set_if_absent(params, "dashboard-agent-listen-port", buf);
    return rc;
}

/* A quantity from a ResourceList (limits/requests); false when absent, unparsable or zero. */
static bool nonzero_quantity(const json_t *list, const char *name, struct krc_quantity *q)
{
    char buf[32];
    const char *text = kobj_quantity_text(json_object_get(list, name), buf, sizeof(buf));
    if (!text)
        return false;
    if (krc_quantity_parse(text, q, NULL) != 0) {
        KRC_LOG_INFO("ignoring unparsable container resource", "resource", name, "quantity", text);
        return false;
    }
    return !krc_quantity_is_zero(q);
}

static int set_quantity_value(json_t *params, const char *key, const struct krc_quantity *q)
{
    int64_t v;
    if (krc_quantity_value(q, &v, NULL) != 0)
        return 0; /* beyond int64: Kubernetes would wrap; we leave the flag out */
    return set_int(params, key, v);
}

/* The current `resources` JSON as a float map (trimmed of quotes/backticks/spaces). Returns 0 and
 * a new object, KRC_EINVAL when it is not a JSON object of numbers, or KRC_ENOMEM. */
static int current_resources(const json_t *params, json_t **out)
{
    const char *s = kobj_map_get(params, "resources");
    *out = NULL;
    if (!s)
        return (*out = json_object()) ? 0 : KRC_ENOMEM;
    static const char trim[] = "'\"` ";
    size_t len = strlen(s);
    while (len && strchr(trim, s[len - 1]))
        len--;
    size_t start = 0;
    while (start < len && strchr(trim, s[start]))
        start++;
    json_error_t jerr;
    json_t *doc = json_loadb(s + start, len - start, JSON_DECODE_ANY, &jerr);
    if (json_is_null(doc)) { /* Go leaves a nil map; treat it as empty instead of crashing */
        json_decref(doc);
        return (*out = json_object()) ? 0 : KRC_ENOMEM;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        return KRC_EINVAL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (!json_is_number(v)) {
            json_decref(doc);
            return KRC_EINVAL;
        }
    }
    *out = doc;
    return 0;
}

static int add_accelerators(json_t *params, const json_t *limits)
{
    size_t n;
    int rc;
    if (json_object_size(limits) == 0)
        return 0;
    json_t *floats = NULL;
    if ((rc = current_resources(params, &floats)) != 0) {
        if (rc == KRC_EINVAL) {
            KRC_LOG_ERROR("failed to add accelerator resources to rayStartParams: resources is "
                          "not a JSON object of numbers",
                          "resources", kobj_map_get(params, "resources"));
            return 0;
        }
        return rc;
    }
    const char **keys = sorted_keys(limits, &n, &rc);
    bool custom_done = json_object_get(floats, "TPU") || json_object_get(floats, "neuron_cores");
    for (size_t i = 0; i < n && !rc; i++) {
        struct krc_quantity q;
        if (!nonzero_quantity(limits, keys[i], &q))
            continue;
        if (!json_object_get(params, "num-gpus") && raystart_is_gpu_key(keys[i]))
            rc = set_quantity_value(params, "num-gpus", &q);
        const char *ray_name = strcmp(keys[i], "google.com/tpu") == 0              ? "TPU"
                               : strcmp(keys[i], "aws.amazon.com/neuroncore") == 0 ? "neuron_cores"
                                                                                   : NULL;
        if (!rc && !custom_done && ray_name) {
            if (!json_object_get(floats, ray_name)) {
                rc = kobj_set_new(floats, ray_name, json_real(krc_quantity_to_double(&q)));
                if (!rc)
                    rc = set_resources_json(params, floats);
            }
            custom_done = true;
        }
    }
    free(keys);
    json_decref(floats);
    return rc;
}

int raystart_add_container_resources(json_t *params, const json_t *resources)
{
    if (!json_is_object(params))
        return KRC_EINVAL;
    json_t *limits = kobj_obj(resources, "limits");
    json_t *requests = kobj_obj(resources, "requests");
    struct krc_quantity q;
    int rc = 0;
    if (!json_object_get(params, "num-cpus")) {
        if (nonzero_quantity(limits, "cpu", &q) || nonzero_quantity(requests, "cpu", &q))
            rc = set_quantity_value(params, "num-cpus", &q);
    }
    if (!rc && !json_object_get(params, "memory") && nonzero_quantity(limits, "memory", &q))
        rc = set_quantity_value(params, "memory", &q);
    if (!rc)
        rc = add_accelerators(params, limits);
    return rc;
}

static bool is_bool_text(const char *v, bool *truth)
{
    if (ascii_ieq(v, "true")) {
        *truth = true;
        return true;
    }
    if (ascii_ieq(v, "false")) {
        *truth = false;
        return true;
    }
    return false;
}

int raystart_render(enum ray_node_type t, const json_t *params, struct krc_strbuf *out)
{
    static const char *const explicit_bool[] = {"log-color", "include-dashboard",
                                                "include-log-monitor"};
    size_t n;
    int rc;
    const char **keys = sorted_keys(params, &n, &rc);
    if (rc)
        return rc;
    rc = krc_strbuf_adds(out, t == RAY_NODE_HEAD ? "ray start --head " : "ray start ");
    for (size_t i = 0; i < n && !rc; i++) {
        const char *v = kobj_map_get(params, keys[i]);
        bool truth, special = false;
        for (size_t k = 0; k < 3; k++)
            special = special || strcmp(keys[i], explicit_bool[k]) == 0;
        if (!v)
            v = "";
        if (!special && is_bool_text(v, &truth)) {
            if (truth)
                rc = krc_strbuf_addf(out, " --%s ", keys[i]);
        } else {
            rc = krc_strbuf_addf(out, " --%s=%s ", keys[i], v);
        }
    }
    free(keys);
    return rc;
}
