/* operator_config.h - the operator's configuration file (config.ray.io/v1alpha1 Configuration,
 * operator-runtime.md §3): YAML or JSON, decoded into the same settings the flags set.
 *
 * Pure: text in, struct out, so unit tests cover decoding, defaults and type errors. The YAML is
 * first turned into a jansson tree (plain scalars typed as YAML 1.1 core: true/false, null,
 * integers, floats; quoted scalars are strings), then read field by field with Go's
 * encoding/json rules: unknown fields ignored, wrong types an error naming the field.
 *
 * Ownership: the struct keeps the tree (root); strings and the json_t members point into it and
 * live until operator_config_release(). */
#ifndef KRC_CONTROLLER_OPERATOR_CONFIG_H
#define KRC_CONTROLLER_OPERATOR_CONFIG_H

#include "util/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct operator_config {
    json_t *root;
    const char *metrics_addr, *probe_addr, *leader_election_namespace, *watch_namespace;
    const char *log_stdout_encoder; /* "" when absent */
    bool enable_leader_election, enable_metrics, use_kubernetes_proxy;
    long reconcile_concurrency;
    double qps;
    long burst;
    /* Config-file only; NULL when absent. */
    const json_t *head_sidecar_containers, *worker_sidecar_containers, *default_container_envs;
    const json_t *default_pod_annotations, *default_pod_labels;
};

/* Decodes text (len bytes) and applies §3.2's defaults. KRC_EINVAL with a message naming the
 * field (or the YAML line) on malformed input, a wrong apiVersion/kind or a wrong type;
 * KRC_ENOMEM. On error there is nothing to release. */
int operator_config_parse(const char *text, size_t len, struct operator_config *out,
                          struct krc_error *err);
void operator_config_release(struct operator_config *c);

/* A YAML (or JSON) document as a jansson tree; exposed for tests. *out is a new reference. */
int operator_yaml_to_json(const char *text, size_t len, json_t **out, struct krc_error *err);

#endif
