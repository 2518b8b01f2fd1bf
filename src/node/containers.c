/* containers.c - a pod container's process spec: env (values, fieldRef, resourceFieldRef,
 * configMapKeyRef, secretKeyRef, envFrom, the Kubernetes service variables), command/args with
 * $(VAR) expansion, workingDir.
 *
 * Like the kubelet, env entries may refer to earlier ones with $(VAR), and command and args are
 * expanded against the final environment. KUBERNETES_SERVICE_HOST is the bridge address of this
 * node, where the API server listens (it binds every address), since there is no service proxy. */
#define _GNU_SOURCE
#include "node/agent.h"

#include "node/podenv.h"
#include "util/quantity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void krc_containers_release(struct krc_containerbuf *b)
{
    for (size_t i = 0; i < b->n_strings; i++)
        free(b->strings[i]);
    free(b->strings);
    free(b->argv);
    free(b->env);
    memset(b, 0, sizeof(*b));
}

static const char *keep(struct krc_containerbuf *b, char *s)
{
    if (!s)
        return NULL;
    char **v = realloc(b->strings, (b->n_strings + 1) * sizeof(*v));
    if (!v) {
        free(s);
        return NULL;
    }
    b->strings = v;
    v[b->n_strings++] = s;
    return s;
}

static void append_map(json_t *map, struct krc_strbuf *out)
{
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v)
    {
        if (json_is_string(v))
            krc_strbuf_addf(out, "%s=\"%s\"\n", k, json_string_value(v));
    }
}

int krc_containers_fieldref(struct krc_agent *a, json_t *pod, const char *field, const char *pod_ip,
                            struct krc_strbuf *out, struct krc_error *err)
{
    const char *v = NULL;
    char key[256];
    if (strcmp(field, "metadata.name") == 0 || strcmp(field, "metadata.namespace") == 0 ||
        strcmp(field, "metadata.uid") == 0 || strcmp(field, "spec.nodeName") == 0 ||
        strcmp(field, "spec.serviceAccountName") == 0)
        v = krc_json_str(pod, field);
    else if (strcmp(field, "status.podIP") == 0 || strcmp(field, "status.podIPs") == 0)
        v = pod_ip;
    else if (strcmp(field, "status.hostIP") == 0 || strcmp(field, "status.hostIPs") == 0)
        v = a->gateway;
    else if (strcmp(field, "metadata.labels") == 0 || strcmp(field, "metadata.annotations") == 0) {
        append_map(json_object_get(json_object_get(pod, "metadata"), field + 9), out);
        return 0;
    } else if (sscanf(field, "metadata.labels['%255[^']']", key) == 1)
        v = krc_json_key(json_object_get(json_object_get(pod, "metadata"), "labels"), key);
    else if (sscanf(field, "metadata.annotations['%255[^']']", key) == 1)
        v = krc_json_key(json_object_get(json_object_get(pod, "metadata"), "annotations"), key);
    else
        return krc_error_set(err, KRC_EINVAL, "fieldRef %s: unsupported field", field);
    return krc_strbuf_adds(out, v ? v : "");
}

/* resourceFieldRef: limits.cpu (cores, rounded up, with divisor), requests.memory, ... */
static int resource_field(json_t *container, json_t *ref, struct krc_strbuf *out,
                          struct krc_error *err)
{
    const char *res = krc_json_str(ref, "resource");
    const char *divisor = krc_json_str(ref, "divisor");
    if (!res)
        return krc_error_set(err, KRC_EINVAL, "resourceFieldRef: no resource");
    const char *dot = strchr(res, '.');
    if (!dot)
        return krc_error_set(err, KRC_EINVAL, "resourceFieldRef %s: unsupported", res);
    char kind[32];
    snprintf(kind, sizeof(kind), "%.*s", (int)(dot - res), res);
    json_t *resources = json_object_get(container, "resources");
    const char *val = krc_json_key(json_object_get(resources, kind), dot + 1);
    if (!val && strcmp(kind, "requests") == 0)
        val = krc_json_key(json_object_get(resources, "limits"), dot + 1);
    int is_cpu = strcmp(dot + 1, "cpu") == 0;
    struct krc_quantity q, d;
    if (!val) {
        /* No limit: the node's allocatable, as the kubelet reports it. */
        if (is_cpu)
            return krc_strbuf_addf(out, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
        return krc_strbuf_addf(out, "%lld",
                               (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
    }
    if (krc_quantity_parse(val, &q, err) != 0)
        return err ? err->code : KRC_EINVAL;
    if (krc_quantity_parse(divisor ? divisor : "1", &d, err) != 0)
        return err ? err->code : KRC_EINVAL;
    int64_t qm = 0, dm = 0;
    if (krc_quantity_milli_value(&q, &qm, err) != 0 || krc_quantity_milli_value(&d, &dm, err) != 0)
        return err ? err->code : KRC_ERANGE;
    if (dm <= 0)
        dm = 1000;
    return krc_strbuf_addf(out, "%lld", (long long)((qm + dm - 1) / dm));
}

struct envlist {
    const char **v;
    size_t n;
};

static int env_set(struct krc_containerbuf *b, struct envlist *e, const char *name,
                   const char *value)
{
    char *s = NULL;
    if (asprintf(&s, "%s=%s", name, value) < 0 || !keep(b, s))
        return KRC_ENOMEM;
    for (size_t i = 0; i < e->n; i++) {
        size_t n = strcspn(e->v[i], "=");
        if (strlen(name) == n && strncmp(e->v[i], name, n) == 0) {
            e->v[i] = s;
            return 0;
        }
    }
    const char **v = realloc(e->v, (e->n + 2) * sizeof(*v));
    if (!v)
        return KRC_ENOMEM;
    e->v = v;
    v[e->n++] = s;
    v[e->n] = NULL;
    return 0;
}

static int env_from(struct krc_agent *a, const char *ns, json_t *src, struct krc_containerbuf *b,
                    struct envlist *e, struct krc_error *err)
{
    const char *prefix = krc_json_str(src, "prefix");
    json_t *ref = json_object_get(src, "configMapRef");
    const char *kind = "configmaps";
    if (!ref) {
        ref = json_object_get(src, "secretRef");
        kind = "secrets";
    }
    const char *name = krc_json_str(ref, "name");
    int optional = json_is_true(json_object_get(ref, "optional"));
    if (!name)
        return 0;
    struct krc_strbuf body = KRC_STRBUF_INIT;
    json_t *doc = NULL;
    struct krc_resource res = {"", "v1", kind, 1};
    int rc = krc_client_get(a->client, &res, ns, name, &body, err);
    if (rc == 0)
        rc = krc_client_parse_json(&body, &doc, err);
    if (rc == KRC_ENOTFOUND && optional)
        rc = 0;
    if (rc == 0 && doc) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(doc, "data"), k, v)
        {
            struct krc_strbuf key = KRC_STRBUF_INIT, val = KRC_STRBUF_INIT;
            krc_strbuf_addf(&key, "%s%s", prefix ? prefix : "", k);
            if (strcmp(kind, "secrets") == 0) {
                rc = krc_volumes_get_key(a, "secrets", ns, name, k, &val, err);
            } else
                krc_strbuf_adds(&val, json_string_value(v) ? json_string_value(v) : "");
            if (rc == 0)
                rc = env_set(b, e, key.buf, val.buf);
            krc_strbuf_release(&key);
            krc_strbuf_release(&val);
            if (rc != 0)
                break;
        }
    }
    json_decref(doc);
    krc_strbuf_release(&body);
    return rc;
}

int krc_containers_build(struct krc_agent *a, json_t *pod, json_t *c, const char *pod_ip,
                         struct krc_containerbuf *b, struct krc_error *err)
{
    memset(b, 0, sizeof(*b));
    struct envlist e = {0};
    const char *ns = krc_json_str(pod, "metadata.namespace");
    int rc = 0;
    char port[16];
    snprintf(port, sizeof(port), "%s", a->api_port);
    /* Defaults first, so the pod's own env wins. */
    if ((rc = env_set(b, &e, "KUBERNETES_SERVICE_HOST", a->gateway)) != 0 ||
        (rc = env_set(b, &e, "KUBERNETES_SERVICE_PORT", port)) != 0 ||
        (rc = env_set(b, &e, "KUBERNETES_SERVICE_PORT_HTTPS", port)) != 0)
        goto fail;
    {
        char url[128];
        snprintf(url, sizeof(url), "tcp://%s:%s", a->gateway, port);
        if ((rc = env_set(b, &e, "KUBERNETES_PORT", url)) != 0)
            goto fail;
    }
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(c, "envFrom"), i, item)
    {
        if ((rc = env_from(a, ns, item, b, &e, err)) != 0)
            goto fail;
    }
    json_array_foreach(json_object_get(c, "env"), i, item)
    {
        const char *name = krc_json_str(item, "name");
        json_t *from = json_object_get(item, "valueFrom");
        struct krc_strbuf val = KRC_STRBUF_INIT;
        if (!name)
            continue;
        if (!from) {
            const char *v = krc_json_str(item, "value");
            rc = krc_podenv_expand(v ? v : "", e.v, &val);
        } else if (json_object_get(from, "fieldRef")) {
            const char *f = krc_json_str(from, "fieldRef.fieldPath");
            rc = krc_containers_fieldref(a, pod, f ? f : "", pod_ip, &val, err);
        } else if (json_object_get(from, "resourceFieldRef")) {
            rc = resource_field(c, json_object_get(from, "resourceFieldRef"), &val, err);
        } else {
            json_t *ref = json_object_get(from, "configMapKeyRef");
            const char *kind = "configmaps";
            if (!ref) {
                ref = json_object_get(from, "secretKeyRef");
                kind = "secrets";
            }
            const char *rname = krc_json_str(ref, "name"), *key = krc_json_str(ref, "key");
            rc = rname && key
                     ? krc_volumes_get_key(a, kind, ns, rname, key, &val, err)
                     : krc_error_set(err, KRC_EINVAL, "env %s: unsupported valueFrom", name);
            if (rc == 1) { /* optional and missing: the variable is not set */
                krc_strbuf_release(&val);
                rc = 0;
                continue;
            }
        }
        if (rc == 0)
            rc = env_set(b, &e, name, val.buf);
        else
            krc_error_wrap(err, rc, "env %s", name);
        krc_strbuf_release(&val);
        if (rc != 0)
            goto fail;
    }
    /* argv: command (or, without it, args alone: there is no image entrypoint), expanded. */
    size_t argc = 0;
    json_t *cmd = json_object_get(c, "command"), *args = json_object_get(c, "args");
    size_t total = json_array_size(cmd) + json_array_size(args);
    b->argv = calloc(total + 1, sizeof(*b->argv));
    if (!b->argv) {
        rc = KRC_ENOMEM;
        goto fail;
    }
    json_t *lists[2] = {cmd, args};
    for (int l = 0; l < 2; l++) {
        json_array_foreach(lists[l], i, item)
        {
            struct krc_strbuf s = KRC_STRBUF_INIT;
            krc_podenv_expand(json_string_value(item) ? json_string_value(item) : "", e.v, &s);
            b->argv[argc++] = keep(b, krc_strbuf_detach(&s));
        }
    }
    if (argc == 0) {
        rc = krc_error_set(err, KRC_EINVAL,
                           "container %s: no command (images are not run; set command)",
                           krc_json_str(c, "name") ? krc_json_str(c, "name") : "?");
        goto fail;
    }
    b->env = e.v;
    b->spec.name = krc_json_str(c, "name");
    b->spec.argv = b->argv;
    b->spec.argc = argc;
    b->spec.env = b->env;
    b->spec.envc = e.n;
    b->spec.workdir = krc_json_str(c, "workingDir");
    return 0;
fail:
    free(e.v);
    krc_containers_release(b);
    if (rc == KRC_ENOMEM)
        krc_error_set(err, rc, "container: out of memory");
    return rc;
}
