/* podworker.h - the state one pod worker keeps, shared by podworker.c (the lifecycle: sandbox,
 * init containers, containers, restarts, probes, deletion) and podstatus.c (the pod status built
 * from it). Internal to the agent. */
#ifndef KRC_NODE_PODWORKER_H
#define KRC_NODE_PODWORKER_H

#include "node/agent.h"

enum { PROBE_STARTUP = 0, PROBE_READINESS = 1, PROBE_LIVENESS = 2, PROBE_KINDS = 3 };

struct krc_ctrstate {
    json_t *spec; /* borrowed from the worker's pod */
    const char *name;
    int init;
    int started_once; /* st is valid */
    struct krc_container_status st;
    int has_last; /* last holds the previous run's end */
    struct krc_container_status last;
    int64_t next_start_ms; /* back-off: no start before this (monotonic ms); 0 = none pending */
    char waiting_reason[64];
    char waiting_message[KRC_POD_MESSAGE_MAX];
    int ready, started;
    int64_t run_started_at; /* st.started_at the probe state belongs to */
    int64_t probe_next[PROBE_KINDS];
    int probe_ok[PROBE_KINDS], probe_bad[PROBE_KINDS];
};

struct krc_podworker {
    struct krc_podworker *next; /* the agent's list (agent.c), guarded by agent->mu */
    struct krc_agent *agent;
    char uid[80], ns[80], name[260];
    pthread_t thread;
    pthread_mutex_t mu;
    int wakefd;     /* eventfd: written by krc_podworker_wake/update, polled by the worker */
    json_t *latest; /* newest pod object from the watch; guarded by mu */
    int gone;       /* deleted from the API; guarded by mu */
    int done;       /* the thread returned; guarded by mu */

    /* Owned by the worker thread. */
    json_t *pod;
    struct krc_sandbox *sb;
    struct krc_podvolumes *vols;
    char pod_ip[64];
    int64_t start_time;
    struct krc_ctrstate *ctrs;
    size_t n_ctrs, n_init;
    size_t init_next; /* index of the init container to run */
    int initialized;
    int failed; /* an init container failed under restartPolicy Never */
    char sandbox_error[KRC_POD_MESSAGE_MAX];
    unsigned dns_generation;
    char *last_status; /* the last status written */
    int64_t retry_at;  /* a pass again then (monotonic ms; 0 = none): something failed in
                          this pass (status write, /etc/hosts, a start request) */
    /* The supervisor's "watch" (sandbox.h): readable when the pod's containers changed. */
    int watch_fd;                 /* -1 when none is open */
    unsigned long long watch_gen; /* the status generation last seen */
    int watch_unsupported;        /* the supervisor predates watch: poll every tick */
    int64_t watch_retry_at;       /* after a failed watch, none is opened before this */
    int64_t cond_time[4];
    int cond_value[4];
};

/* When the worker next has something to do on its own (monotonic ms): the earliest restart
 * back-off end, probe due time, retry (retry_at) or volume refresh that is later than t0 (the
 * time its last pass began: anything due by then was handled or does not apply), capped at
 * now + idle_ms (the resync period, or the poll tick without a watch). */
int64_t krc_podworker_next_wake(const struct krc_podworker *w, int64_t t0, int64_t now,
                                int64_t idle_ms);

/* podstatus.c: the status object of the pod (without the "status" wrapper). */
json_t *krc_podstatus_build(struct krc_podworker *w);
const char *krc_podstatus_phase(struct krc_podworker *w);

#endif
