/* crd_schema.h - the RayCluster CustomResourceDefinition (ray.io/v1) as a static table, and its
 * renderer to config/crd/bases/ray.io_rayclusters.yaml.
 *
 * The table is the one place the CRD schema is written down (see crd_schema.c for its shape and
 * for why it is a tree of static const nodes). krc_crd_render() turns it into the committed YAML;
 * `krc-gen-crds --check` and the unit test test_crd_schema compare that with the file, so a stale
 * CRD fails the build's tests. */
#ifndef KRC_API_CRD_SCHEMA_H
#define KRC_API_CRD_SCHEMA_H

#include "util/error.h"
#include "util/strbuf.h"

#include <stdbool.h>
#include <stddef.h>

enum krc_crd_kind {
    KRC_CRD_STR,  /* a string scalar */
    KRC_CRD_INT,  /* an integer scalar (num) */
    KRC_CRD_BOOL, /* true/false (num != 0) */
    KRC_CRD_MAP,  /* entries, in order, ended by an entry whose key is NULL */
    KRC_CRD_SEQ,  /* items, in order, ended by NULL */
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

/* The whole CustomResourceDefinition object (apiVersion, kind, metadata, spec). */
const struct krc_crd_node *krc_crd_raycluster(void);

/* The path of the generated file, relative to the repository root. */
#define KRC_CRD_RAYCLUSTER_PATH "config/crd/bases/ray.io_rayclusters.yaml"

/* Appends the complete file text (header comment, "---", the YAML document) to out. Returns 0,
 * KRC_ENOMEM, or KRC_EINVAL if the table cannot be emitted (err says why). */
int krc_crd_render(struct krc_strbuf *out, struct krc_error *err);

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
