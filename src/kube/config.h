/* config.h - how to reach and authenticate to a Kubernetes API server.
 *
 * A struct krc_kubeconfig is the resolved client configuration (client-go's rest.Config): one
 * server, its trust anchors, one set of credentials and a default namespace. It comes either from
 * kubeconfig files (krc_kubeconfig_load) or from the pod's service account
 * (krc_kubeconfig_load_in_cluster); krc_kubeconfig_load_default picks like controller-runtime.
 *
 * Kubeconfig files follow kubectl's rules: KUBECONFIG may list several files separated by ':';
 * missing files in that list are skipped, an explicit --kubeconfig path must exist; the first file
 * to set current-context, or to define a cluster, user or context of a given name, wins (a later
 * definition of the same name is ignored whole, never merged field by field). Relative file paths
 * are resolved against the directory of the file that contained them. Secrets are never logged and
 * never appear in error messages.
 *
 * Ownership: every string in the struct is heap memory owned by it; release with
 * krc_kubeconfig_free(). The struct is immutable after loading and may be shared by threads. */
#ifndef KRC_KUBE_CONFIG_H
#define KRC_KUBE_CONFIG_H

#include "util/error.h"

#include <stddef.h>

/* The service-account directory mounted into every pod. */
#define KRC_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
/* Files larger than this (kubeconfig, token, namespace) are rejected as malformed. */
#define KRC_KUBECONFIG_FILE_MAX (4u * 1024 * 1024)
#define KRC_TOKEN_FILE_MAX      (64u * 1024)

/* A blob of PEM bytes, decoded from a "-data" field; len excludes the NUL that follows. */
struct krc_pem {
    char *data;
    size_t len;
};

struct krc_kubeconfig {
    char *server;          /* "https://host:port[/prefix]", no trailing '/' */
    char *tls_server_name; /* SNI and certificate name to verify instead of the host, or NULL */
    int insecure_skip_tls_verify;
    char *ca_file;          /* PEM file of trusted CAs, or NULL */
    struct krc_pem ca_data; /* in-memory PEM of trusted CAs (data NULL if unset) */
    char *client_cert_file;
    struct krc_pem client_cert_data;
    char *client_key_file;
    struct krc_pem client_key_data;
    char *token;      /* static bearer token, or NULL (never log it) */
    char *token_file; /* bearer token re-read when the file changes; wins over token */
    char *namespace;  /* the context's namespace, or "default" */
    char *context;    /* name of the context used ("in-cluster" for the service account) */
    char *source;     /* where this came from, for messages: file list or the in-cluster dir */
};

/* Where to load from. Every field may be NULL: path falls back to $KUBECONFIG and then to
 * ~/.kube/config; context falls back to current-context. */
struct krc_kubeconfig_options {
    const char *path;    /* --kubeconfig: one file, which must exist */
    const char *context; /* --context: overrides current-context */
};

/* Loads and resolves kubeconfig files into *cfg (zeroed first). Errors (KRC_EINVAL unless said)
 * name the file, the line and the field: malformed YAML, wrong types, undefined context, cluster or
 * user, missing server, bad base64, conflicting fields, unreadable referenced files
 * (KRC_ENOTFOUND when no kubeconfig exists at all). On error *cfg holds nothing to free. */
int krc_kubeconfig_load(struct krc_kubeconfig *cfg, const struct krc_kubeconfig_options *opts,
                        struct krc_error *err);

/* Builds the in-cluster configuration from KUBERNETES_SERVICE_HOST/PORT and the service-account
 * files in dir (NULL = KRC_SERVICEACCOUNT_DIR): token (required; re-read as it rotates), ca.crt
 * (used when present), namespace (default "default"). KRC_ENOTFOUND when not in a cluster. */
int krc_kubeconfig_load_in_cluster(struct krc_kubeconfig *cfg, const char *dir,
                                   struct krc_error *err);

/* controller-runtime's order: opts->path, $KUBECONFIG, in-cluster (when KUBERNETES_SERVICE_HOST
 * is set), ~/.kube/config. */
int krc_kubeconfig_load_default(struct krc_kubeconfig *cfg,
                                const struct krc_kubeconfig_options *opts, struct krc_error *err);

void krc_kubeconfig_free(struct krc_kubeconfig *cfg);

#endif
