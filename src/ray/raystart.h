/* raystart.h - the `ray start` command exactly as KubeRay generates it (spec §7.5, §7.6).
 *
 * rayStartParams are a JSON object of strings (the CRD's map[string]string). Building the command
 * is a pipeline of edits on a private copy of that map, in KubeRay's order:
 *   1. raystart_apply_group_resources()   group `resources` -> num-cpus/memory/num-gpus/resources
 *   2. raystart_apply_group_labels()      group `labels` -> labels=k=v,...
 *   3. raystart_set_missing()             defaults: address, dashboard-host, block, ports
 *   4. raystart_add_container_resources() Ray container limits/requests -> the same four flags
 *   5. raystart_render()                  "ray start [--head] " + sorted " --k=v " fragments
 * The caller (the pod builder) interleaves other steps between them, as KubeRay does (e.g. the
 * autoscaler's no-monitor, GCS FT's redis flags), so each step is its own function.
 *
 * Text is behaviour here: two spaces between flags, a trailing space, "true"/"false" switches, the
 * JSON of --resources as Go's encoder writes it. All functions are pure (no I/O besides a log line
 * for skipped input, as KubeRay logs it). Errors: 0, KRC_ENOMEM, or KRC_EINVAL for a params object
 * that is not a JSON object. */
#ifndef KRC_RAY_RAYSTART_H
#define KRC_RAY_RAYSTART_H

#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum ray_node_type { RAY_NODE_HEAD = 0, RAY_NODE_WORKER };

#define RAY_DEFAULT_GCS_PORT             "6379"
#define RAY_DEFAULT_METRICS_PORT         8080
#define RAY_DEFAULT_DASHBOARD_PORT       8265
#define RAY_DEFAULT_CLIENT_PORT          10001
#define RAY_DEFAULT_SERVE_PORT           8000
#define RAY_DEFAULT_DASHBOARD_AGENT_PORT 52365

/* "head" / "worker", the values of label ray.io/node-type. */
const char *ray_node_type_name(enum ray_node_type t);

/* The port workers use to reach the head: head rayStartParams["port"], else "6379". Borrowed. */
const char *raystart_head_port(const json_t *head_params);

/* True for "...gpu" (case-sensitive suffix) and NVIDIA MIG names "nvidia.com/mig-<d>g.<d>gb". */
bool raystart_is_gpu_key(const char *name);

/* §7.5.2: each `resources` entry parsed as a quantity; cpu/memory/GPU keys (case-insensitive)
 * overwrite num-cpus/memory/num-gpus (value rounded up), other keys form the single-quoted JSON
 * object of `resources`. Unparsable quantities are skipped with a log line. No-op when empty. */
int raystart_apply_group_resources(json_t *params, const json_t *resources);

/* §7.5.3: labels = "k1=v1,k2=v2" with keys sorted. No-op when empty. */
int raystart_apply_group_labels(json_t *params, const json_t *labels);

/* §7.5.1: worker address (fqdn:head_port) if absent; head dashboard-host=0.0.0.0 if absent;
 * metrics-export-port=8080 and dashboard-agent-listen-port=52365 if absent; block=true always. */
int raystart_set_missing(json_t *params, enum ray_node_type t, const char *head_port,
                         const char *fqdn);

/* §7.5.4: num-cpus (CPU limit, else request), memory (memory limit) and accelerators (limits
 * only: num-gpus, TPU / neuron_cores in `resources`) for keys not already set. `resources` is the
 * Ray container's ResourceRequirements object (may be NULL). */
int raystart_add_container_resources(json_t *params, const json_t *resources);

/* §7.5.6: appends "ray start --head " or "ray start " followed by the sorted flag string. */
int raystart_render(enum ray_node_type t, const json_t *params, struct krc_strbuf *out);

/* Formats d as Go's encoding/json writes a float64 ("4", "0.5", "1e-7", "1e+21"). */
void raystart_format_float(double d, char *buf, size_t size);

#endif
