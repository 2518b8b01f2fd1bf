/* crd_schema.h - the ray.io/v1 CustomResourceDefinitions (RayCluster, RayJob, RayCronJob,
 * RayService) as static tables, and their renderer to config/crd/bases/ray.io_<plural>.yaml.
 *
 * The table is the one place the CRD schema is written down (see crd_schema.c for its shape and
 * for why it is a tree of static const nodes). krc_crd_render() turns it into the committed YAML;
 * `krc-gen-crds --check` and the unit test test_crd_schema compare that with the file, so a stale
 * CRD fails the build's tests. */
#ifndef KRC_API_CRD_SCHEMA_H
#define KRC_API_CRD_SCHEMA_H

#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum krc_crd_kind {
    KRC_CRD_STR,  /* a string scalar */
    KRC_CRD_INT,  /* an integer scalar (num) */
    KRC_CRD_BOOL, /* true/false (num != 0) */
    KRC_CRD_MAP,  /* entries, in order, ended by an entry whose key is NULL */
    KRC_CRD_SEQ,  /* items, in order, ended by NULL */
    /* A Kubernetes API type embedded in a CRD (PodTemplateSpec, Service, ...), named by its
     * OpenAPI definition (str, e.g. "io.k8s.api.core.v1.PodTemplateSpec"). Rendered as its full
     * structural schema when the Kubernetes OpenAPI is given (crd_k8s.c), else as an object
     * with x-kubernetes-preserve-unknown-fields. */
    KRC_CRD_K8S,
};

struct krc_crd_node;

struct krc_crd_entry {
    const char *key;
    const struct krc_crd_node *value;
};

struct krc_crd_node {
    enum krc_crd_kind kind;
    /* The node is one named object referenced from several places. Such a node is written in
     * full where it first appears, with a YAML anchor (&id001), and as an alias (*id001)
     * afterwards, as the Python generator's PyYAML dump did. Only flagged nodes get anchors, so
     * a compiler merging identical unnamed constants cannot change the output. */
    bool shared;
    const char *str;
    long long num;
    const struct krc_crd_entry *entries;
    const struct krc_crd_node *const *items;
};

/* The whole CustomResourceDefinition objects (apiVersion, kind, metadata, spec). */
const struct krc_crd_node *krc_crd_raycluster(void);
const struct krc_crd_node *krc_crd_rayjob(void);
const struct krc_crd_node *krc_crd_raycronjob(void);
const struct krc_crd_node *krc_crd_rayservice(void);

/* The paths of the generated files, relative to the repository root. */
#define KRC_CRD_RAYCLUSTER_PATH "config/crd/bases/ray.io_rayclusters.yaml"
#define KRC_CRD_RAYJOB_PATH     "config/crd/bases/ray.io_rayjobs.yaml"
#define KRC_CRD_RAYCRONJOB_PATH "config/crd/bases/ray.io_raycronjobs.yaml"
#define KRC_CRD_RAYSERVICE_PATH "config/crd/bases/ray.io_rayservices.yaml"

enum krc_crd_id {
    KRC_CRD_RAYCLUSTER = 0,
    KRC_CRD_RAYJOB,
    KRC_CRD_RAYCRONJOB,
    KRC_CRD_RAYSERVICE,
    KRC_CRD_COUNT
};

struct krc_crd_file {
    const char *path; /* relative to the repository root */
    const struct krc_crd_node *root;
};

/* The CRD with that id, or NULL for an id out of range. */
const struct krc_crd_file *krc_crd_file(enum krc_crd_id id);

/* Appends the complete text of one CRD file (header comment, "---", the YAML document) to out.
 * Returns 0, KRC_ENOMEM, or KRC_EINVAL if the table cannot be emitted (err says why). */
int krc_crd_render_file(enum krc_crd_id id, struct krc_strbuf *out, struct krc_error *err);
/* krc_crd_render_file(KRC_CRD_RAYCLUSTER, ...). */
int krc_crd_render(struct krc_strbuf *out, struct krc_error *err);

/* The same with Kubernetes types expanded from k8s_schemas (krc_crd_k8s_load; NULL = opaque, as
 * krc_crd_render_file). The header comment of the file says which form it is. */
int krc_crd_render_file_k8s(enum krc_crd_id id, const json_t *k8s_schemas, struct krc_strbuf *out,
                            struct krc_error *err);
/* True when a CRD file's text is the expanded form (its header comment says so). */
bool krc_crd_text_is_expanded(const char *text);

/* crd_k8s.c: loads components.schemas of the pinned Kubernetes' OpenAPI v3 documents in dir
 * (k8s.io/kubernetes@<version>/api/openapi-spec/v3) into one object (*schemas, caller decrefs).
 * 0, KRC_EINVAL (a file is missing or malformed) or KRC_ENOMEM. */
int krc_crd_k8s_load(const char *dir, json_t **schemas, struct krc_error *err);
/* The CRD structural schema of definition `name` (controller-gen's form, see crd_k8s.c) as a
 * new JSON object in *out. 0, KRC_EINVAL (unknown definition) or KRC_ENOMEM. */
int krc_crd_k8s_schema(const json_t *schemas, const char *name, json_t **out,
                       struct krc_error *err);

/* Appends any node tree as one YAML document, formatted as krc_crd_render() formats the CRD
 * (for tests of the formatting rules). */
int krc_crd_render_yaml(const struct krc_crd_node *root, struct krc_strbuf *out,
                        struct krc_error *err);

/* Map member by key; NULL when node is not a map or has no such key. */
const struct krc_crd_node *krc_crd_get(const struct krc_crd_node *node, const char *key);
/* Walks a dotted path from node: map keys, or decimal indexes into sequences
 * ("spec.versions.0.name"). NULL when any step is missing. */
const struct krc_crd_node *krc_crd_path(const struct krc_crd_node *node, const char *dotted);
/* Number of entries of a map or items of a sequence; 0 for scalars. */
size_t krc_crd_len(const struct krc_crd_node *node);

#endif
