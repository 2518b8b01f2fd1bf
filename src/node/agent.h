/* agent.h - the node agent (kubelet stand-in): what its files share.
 *
 * One struct krc_agent per process. Threads: the main thread watches the pods bound to this
 * node and keeps one pod worker per pod (podworker.c); a heartbeat thread renews the node Lease
 * and the Ready condition (nodestatus.c); the DNS informers and thread recompute the cluster's
 * service names when they change (dns.c). Each pod worker owns its sandbox handle, so sandbox
 * calls need no lock; the agent's mutex guards only the worker list and the DNS table.
 *
 * Stopping: a signal only raises the cancel flag (a signal handler cannot signal a condition
 * variable); the main thread's pod watch sees it within the transport's poll slice and calls
 * krc_agent_stop, which wakes every thread sleeping in krc_agent_sleep at once. */
#ifndef KRC_NODE_AGENT_H
#define KRC_NODE_AGENT_H

#include "kube/cancel.h"
#include "kube/client.h"
#include "node/dns.h"
#include "node/node.h"
#include "node/sandbox.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#define KRC_AGENT_MAX_EXTENDED 8
#define KRC_AGENT_MAX_LABELS   16
#define KRC_CLUSTER_DOMAIN     "cluster.local"

struct krc_agent_config {
    const char *kubeconfig;
    const char *node_name;
    const char *bridge, *bridge_cidr, *pod_range;
    const char *state_dir;
    const char *path; /* PATH of container processes */
    const char *cpu, *memory, *pods;
    const char *ext_name[KRC_AGENT_MAX_EXTENDED], *ext_value[KRC_AGENT_MAX_EXTENDED];
    int n_ext;
    const char *label_key[KRC_AGENT_MAX_LABELS], *label_value[KRC_AGENT_MAX_LABELS];
    int n_labels;
    int kubelet_port; /* 0: no kubelet endpoint (kubectl logs) */
    const char *tls_cert, *tls_key, *client_ca;
    const char *taints;            /* "key=value:Effect,..." (kubelet's --register-with-taints) */
    int backoff_base_ms;           /* crash back-off start (kubelet: 10 s), doubling */
    int backoff_max_ms;            /* kubelet: 5 min */
    long long log_max_size;        /* --container-log-max-size; 0 = default (logrotate.h) */
    int log_max_files;             /* --container-log-max-files; 0 = default */
    int volume_refresh_s;          /* --volume-refresh-seconds (volrefresh.h) */
    double token_refresh_fraction; /* --token-refresh-fraction */
};

struct krc_podworker;

struct krc_agent {
    struct krc_agent_config cfg;
    struct krc_client *client;
    struct krc_node *node;
    char gateway[64];
    char api_port[16];
    struct krc_cancel cancel;
    pthread_mutex_t mu;
    pthread_cond_t stop_cond;      /* with mu (CLOCK_MONOTONIC): broadcast by krc_agent_stop */
    struct krc_podworker *workers; /* guarded by mu; linked by next */
    /* DNS: "ip names..." lines per namespace-independent record; see dns.c. Guarded by mu. */
    json_t *dns_records; /* array of {"ip","ns","names":[long...],"short":name or null} */
    unsigned dns_generation;
};

/* agent.c */
int krc_agent_main(int argc, char **argv);
int krc_agent_stopping(struct krc_agent *a);
/* Raises the cancel flag and wakes krc_agent_sleep (not from a signal handler). */
void krc_agent_stop(struct krc_agent *a);
/* Sleeps ms unless the agent stops first; returns krc_agent_stopping. */
int krc_agent_sleep(struct krc_agent *a, int64_t ms);

/* nodestatus.c */
int krc_nodestatus_register(struct krc_agent *a, struct krc_error *err);
void *krc_nodestatus_heartbeat_thread(void *agent);
int krc_nodestatus_set_ready(struct krc_agent *a, int ready, struct krc_error *err);
/* "2026-12-01T08:00:00Z" (micro != 0: with .000000 microseconds, for Leases). */
void krc_agent_time(char *out, size_t len, int64_t t, int micro);

/* podworker.c */
struct krc_podworker *krc_podworker_start(struct krc_agent *a, json_t *pod);
void krc_podworker_update(struct krc_podworker *w, json_t *pod); /* pod NULL: deleted */
const char *krc_podworker_uid(const struct krc_podworker *w);
int krc_podworker_done(struct krc_podworker *w);
void krc_podworker_join(struct krc_podworker *w); /* joins and frees */
void krc_podworker_wake(struct krc_podworker *w);
/* Wakes every worker (the DNS records changed: their /etc/hosts are rewritten). */
void krc_podworker_wake_all(struct krc_agent *a);

/* volumes.c: prepares the pod's volumes in <state>/volumes/<uid>/ and the mounts of a container.
 */
struct krc_podvolumes;
int krc_volumes_prepare(struct krc_agent *a, json_t *pod, struct krc_podvolumes **out,
                        struct krc_error *err);
/* The mounts of every container of the pod, merged (the sandbox has one mount namespace). */
int krc_volumes_mounts(struct krc_podvolumes *v, const struct krc_pod_mount **mounts, size_t *n,
                       uint64_t *shm_size);
void krc_volumes_free(struct krc_podvolumes *v);
/* Rewrites the configMap, secret, downwardAPI and projected volumes that are due (see
 * volumes.c): cheap when nothing is due; the pod worker calls it whenever it wakes and wakes
 * for krc_volumes_next_refresh_ms. */
int krc_volumes_refresh(struct krc_agent *a, json_t *pod, struct krc_podvolumes *v,
                        struct krc_error *err);
/* When krc_volumes_refresh next has something due (monotonic ms); 0 if never. */
int64_t krc_volumes_next_refresh_ms(const struct krc_podvolumes *v);
int krc_volumes_remove(struct krc_agent *a, const char *uid);
/* Removes <state_root>/volumes entirely (`kuberay-node cleanup`, after every sandbox is gone). */
int krc_volumes_remove_all(const char *state_root);
/* Fetches the key of a ConfigMap or Secret (decoded) into out. optional: missing is not an
 * error (returns 1). */
int krc_volumes_get_key(struct krc_agent *a, const char *kind, const char *ns, const char *name,
                        const char *key, struct krc_strbuf *out, struct krc_error *err);

/* containers.c: the container spec (argv, env, workdir) of a pod container. */
struct krc_containerbuf {
    struct krc_container_spec spec;
    char **strings; /* everything spec points to */
    size_t n_strings;
    const char **argv, **env;
};
int krc_containers_build(struct krc_agent *a, json_t *pod, json_t *container, const char *pod_ip,
                         struct krc_containerbuf *out, struct krc_error *err);
void krc_containers_release(struct krc_containerbuf *b);

/* The value of a fieldRef (metadata.name, metadata.labels['k'], status.podIP, ...) of pod. */
int krc_containers_fieldref(struct krc_agent *a, json_t *pod, const char *field, const char *pod_ip,
                            struct krc_strbuf *out, struct krc_error *err);

/* probes.c: one probe run. 1 success, 0 failure. */
int krc_probe_run(struct krc_sandbox *sb, const char *pod_ip, json_t *probe, json_t *container,
                  const char *probe_name);

/* small JSON helpers (agent.c) */
const char *krc_json_str(json_t *obj, const char *path); /* "a.b.c"; NULL if absent */
/* obj[key] as a string, key taken whole (label keys hold dots); NULL if absent. */
const char *krc_json_key(json_t *obj, const char *key);
long long krc_json_int(json_t *obj, const char *path, long long dflt);
int64_t krc_agent_now(void);
int64_t krc_agent_now_ms(void);

#endif
