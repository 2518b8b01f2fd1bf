/* podspec.h - the plain data a pod sandbox is made of: what the agent asks for (sandbox spec,
 * mounts, container spec) and what the supervisor reports (container status).
 *
 * Strings in the spec structs are borrowed (const char *): a caller fills them from its own
 * memory, and the decoders in podjson.h point them into a JSON document the caller keeps alive.
 * Statuses use fixed-size buffers so a status array is one allocation and copies freely. */
#ifndef KRC_NODE_PODSPEC_H
#define KRC_NODE_PODSPEC_H

#include <stddef.h>
#include <stdint.h>

#define KRC_POD_NAME_MAX       64  /* container names are DNS labels: 63 bytes + NUL */
#define KRC_POD_MESSAGE_MAX    256 /* a status message (start error) */
#define KRC_POD_MAX_MOUNTS     64
#define KRC_POD_MAX_ARGS       4096 /* argv or env entries of one container */
#define KRC_POD_MAX_CONTAINERS 64

/* One mount in the pod's mount namespace. source == NULL means a fresh tmpfs (emptyDir with
 * medium Memory) of tmpfs_size bytes (0: the kernel default, half of RAM); otherwise source is a
 * host directory or file the agent prepared, bind-mounted at target. */
struct krc_pod_mount {
    const char *source;
    const char *target;
    int read_only;
    uint64_t tmpfs_size;
};

struct krc_sandbox_spec {
    const char *uid;        /* pod metadata.uid: names the state directory */
    const char *name;       /* pod name */
    const char *namespace_; /* pod namespace */
    const char *hostname;   /* UTS hostname; NULL = name (spec.hostname when the pod sets it) */
    const char *ip;         /* NULL: allocate from the node's range; else reserve this one */
    uint64_t shm_size;      /* /dev/shm tmpfs bytes (emptyDir Memory sizeLimit); 0 = default */
    uint64_t tmp_size;      /* /tmp tmpfs bytes; 0 = default */
    int64_t memory_limit;   /* bytes; 0 = none */
    int cpu_limit_millis;   /* 0 = none */
    int cpu_request_millis; /* relative CPU weight; 0 = default */
    int grace_seconds;      /* default termination grace (supervisor SIGTERM); 0 = 30 */
    const struct krc_pod_mount *mounts;
    size_t n_mounts;
    const char *hosts;       /* /etc/hosts content; NULL = localhost lines + ip hostname */
    const char *resolv_conf; /* /etc/resolv.conf content; NULL = no DNS server (see sandbox.c) */
};

struct krc_container_spec {
    const char *name;
    const char *const *argv; /* argv[0] is looked up in the container's PATH */
    size_t argc;
    const char *const *env; /* "NAME=VALUE"; later entries win */
    size_t envc;
    const char *workdir; /* NULL = "/" */
};

enum krc_container_state {
    KRC_CONTAINER_UNKNOWN = 0,
    KRC_CONTAINER_RUNNING = 1,
    KRC_CONTAINER_EXITED = 2,
};

struct krc_container_status {
    char name[KRC_POD_NAME_MAX];
    enum krc_container_state state;
    int pid;                           /* in the pod's PID namespace */
    int exit_code;                     /* exit status, or 128 + signal (as Kubernetes reports it) */
    int signal;                        /* the killing signal, 0 if it exited */
    int64_t started_at;                /* unix seconds */
    int64_t finished_at;               /* unix seconds; 0 while running */
    int restart_count;                 /* starts of this name before the current one */
    int stop_requested;                /* a stop (or the pod's shutdown) ended it */
    char message[KRC_POD_MESSAGE_MAX]; /* why it could not start, else "" */
};

const char *krc_container_state_name(enum krc_container_state s);

#endif
