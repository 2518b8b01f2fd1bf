/* incluster.c - configuration of a client running in a pod, and the default loading order.
 *
 * In a pod the API server is the "kubernetes" Service, announced through KUBERNETES_SERVICE_HOST
 * and KUBERNETES_SERVICE_PORT, and the service account's token, CA bundle and namespace are files
 * in one mounted directory. The token is referenced by path, not copied, because the kubelet
 * rotates it (token.c re-reads it); it is read once here only to fail early with a clear message.
 * The directory is a parameter so tests can point it at a temporary one. */
#include "kube/config.h"

#include "util/fileio.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NAMESPACE_FILE_MAX = 1024 };

static char *join(const char *dir, const char *name)
{
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    if (krc_strbuf_addf(&sb, "%s/%s", dir, name) != 0) {
        krc_strbuf_release(&sb);
        return NULL;
    }
    return krc_strbuf_detach(&sb);
}

static void trim(struct krc_strbuf *sb)
{
    size_t start = 0;
    while (sb->len > 0 && isspace((unsigned char)sb->buf[sb->len - 1]))
        sb->buf[--sb->len] = '\0';
    while (start < sb->len && isspace((unsigned char)sb->buf[start]))
        start++;
    if (start) {
        memmove(sb->buf, sb->buf + start, sb->len - start + 1);
        sb->len -= start;
    }
}

/* "https://host:port", with an IPv6 literal bracketed as URLs require. */
static int build_server(const char *host, const char *port, char **out, struct krc_error *err)
{
    struct krc_strbuf sb = KRC_STRBUF_INIT;
    int rc;

    *out = NULL;
    for (const char *p = port; *p; p++)
        if (!isdigit((unsigned char)*p) || p - port > 5)
            return krc_error_set(
                err, KRC_EINVAL,
                "in-cluster config: KUBERNETES_SERVICE_PORT \"%.16s\" is not a port", port);
    if (strpbrk(host, "/?#@ []"))
        return krc_error_set(err, KRC_EINVAL,
                             "in-cluster config: KUBERNETES_SERVICE_HOST \"%.64s\" is not a host",
                             host);
    if (strchr(host, ':'))
        rc = krc_strbuf_addf(&sb, "https://[%s]:%s", host, port);
    else
        rc = krc_strbuf_addf(&sb, "https://%s:%s", host, port);
    if (rc) {
        krc_strbuf_release(&sb);
        return krc_error_set(err, KRC_ENOMEM, "in-cluster config: out of memory");
    }
    *out = krc_strbuf_detach(&sb);
    return *out ? 0 : krc_error_set(err, KRC_ENOMEM, "in-cluster config: out of memory");
}

int krc_kubeconfig_load_in_cluster(struct krc_kubeconfig *cfg, const char *dir,
                                   struct krc_error *err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    struct krc_strbuf text;
    char *ca = NULL, *ns_path = NULL;
    int rc = 0;

    memset(cfg, 0, sizeof(*cfg));
    krc_strbuf_init(&text, KRC_TOKEN_FILE_MAX);
    if (!dir)
        dir = KRC_SERVICEACCOUNT_DIR;
    if (!host || !*host || !port || !*port) {
        rc = krc_error_set(err, KRC_ENOTFOUND,
                           "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                           "are not set (not running in a pod)");
        goto out;
    }
    rc = build_server(host, port, &cfg->server, err);
    if (rc)
        goto out;

    cfg->token_file = join(dir, "token");
    ca = join(dir, "ca.crt");
    ns_path = join(dir, "namespace");
    cfg->source = strdup(dir);
    cfg->context = strdup("in-cluster");
    if (!cfg->token_file || !ca || !ns_path || !cfg->source || !cfg->context) {
        rc = krc_error_set(err, KRC_ENOMEM, "in-cluster config: out of memory");
        goto out;
    }

    rc = krc_file_read(cfg->token_file, KRC_TOKEN_FILE_MAX, &text, err);
    if (rc) {
        krc_error_wrap(err, rc, "in-cluster config: service-account token");
        goto out;
    }
    trim(&text);
    if (text.len == 0) {
        rc = krc_error_set(err, KRC_EINVAL, "in-cluster config: service-account token %s is empty",
                           cfg->token_file);
        goto out;
    }

    /* client-go goes on with the system trust store when ca.crt is missing; so do we, loudly. */
    if (access(ca, R_OK) == 0) {
        cfg->ca_file = ca;
        ca = NULL;
    } else {
        KRC_LOG_WARN("in-cluster CA bundle not readable; using the system trust store", "path", ca,
                     "error", strerror(errno));
    }

    krc_strbuf_reset(&text);
    rc = krc_file_read(ns_path, NAMESPACE_FILE_MAX, &text, err);
    if (rc && rc != KRC_ENOTFOUND) {
        krc_error_wrap(err, rc, "in-cluster config: namespace");
        goto out;
    }
    rc = 0;
    trim(&text);
    cfg->namespace = strdup(text.len ? text.buf : "default");
    if (!cfg->namespace)
        rc = krc_error_set(err, KRC_ENOMEM, "in-cluster config: out of memory");
out:
    /* The token passed through text: clear it before the memory goes back to the heap. */
    if (text.alloc)
        memset(text.buf, 0, text.alloc);
    krc_strbuf_release(&text);
    free(ca);
    free(ns_path);
    if (rc)
        krc_kubeconfig_free(cfg);
    return rc;
}

int krc_kubeconfig_load_default(struct krc_kubeconfig *cfg,
                                const struct krc_kubeconfig_options *opts, struct krc_error *err)
{
    const char *env = getenv("KUBECONFIG");
    const char *host = getenv("KUBERNETES_SERVICE_HOST");

    if ((opts && opts->path && *opts->path) || (env && *env))
        return krc_kubeconfig_load(cfg, opts, err);
    if (host && *host)
        return krc_kubeconfig_load_in_cluster(cfg, NULL, err);
    return krc_kubeconfig_load(cfg, opts, err);
}
