/* sandbox.h - the pod sandbox API the agent loop calls: create a pod's namespaces, network,
 * cgroup and supervisor; start, inspect and stop its containers; destroy it; and find sandboxes
 * again after an agent restart.
 *
 * A sandbox is a directory <state root>/pods/<uid>/ plus a supervisor process (supervisor.h):
 *   sandbox.json    what the agent created (podjson.h); everything destroy must undo
 *   status.json     the supervisor's last container states
 *   sock            the supervisor's socket (podproto.h)
 *   hosts, resolv.conf   bind-mounted at /etc/hosts and /etc/resolv.conf in the pod
 *   logs/<container>/<restart>.log   stdout+stderr of each container start
 *   supervisor.log
 * Pods outlive the agent: krc_sandbox_close forgets a handle without touching the pod, and
 * krc_sandbox_list + krc_sandbox_adopt find it again.
 *
 * Calls block for at most a few seconds (one round trip to the supervisor); create waits for the
 * supervisor to be ready, and destroy for the pod's processes to exit (up to its grace period).
 * Handles are not thread-safe; use one thread per handle or lock around calls. */
#ifndef KRC_NODE_SANDBOX_H
#define KRC_NODE_SANDBOX_H

#include "node/node.h"
#include "node/podspec.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <stddef.h>
#include <sys/types.h>

struct krc_sandbox;

/* Creates the pod: allocates its IP (or reserves spec->ip), writes its state directory, starts
 * its supervisor in new PID/mount/UTS/IPC/network namespaces, puts it in the pod cgroup, attaches
 * the network and waits until the supervisor listens. KRC_EEXIST if a sandbox directory for the
 * uid exists (adopt or destroy it first). On failure everything created is removed again. */
int krc_sandbox_create(struct krc_node *node, const struct krc_sandbox_spec *spec,
                       struct krc_sandbox **out, struct krc_error *err);

/* Starts a container (a container name may be started again once its previous run exited; its
 * restart_count grows). On success fills *status if non-NULL. A command that cannot be started
 * (not found, bad workingDir) returns the error and is also recorded as exited with code 128. */
int krc_sandbox_start_container(struct krc_sandbox *sb, const struct krc_container_spec *spec,
                                struct krc_container_status *status, struct krc_error *err);
/* Every container's status, in start order: a malloc'd array (free() it). When the supervisor is
 * gone, the last recorded states with running ones reported as KRC_CONTAINER_UNKNOWN. */
int krc_sandbox_status(struct krc_sandbox *sb, struct krc_container_status **out, size_t *n,
                       struct krc_error *err);
int krc_sandbox_container_status(struct krc_sandbox *sb, const char *name,
                                 struct krc_container_status *out, struct krc_error *err);
/* SIGTERM to the container now, SIGKILL to its process group after grace_seconds (0: at once).
 * Returns without waiting; 0 also for a container that already exited. */
int krc_sandbox_stop_container(struct krc_sandbox *sb, const char *name, int grace_seconds,
                               struct krc_error *err);
/* Waits until the container is no longer running (KRC_ETIMEOUT after timeout_ms), on the
 * supervisor's watch (polling if the supervisor predates it). */
int krc_sandbox_wait_container(struct krc_sandbox *sb, const char *name, int timeout_ms,
                               struct krc_container_status *out, struct krc_error *err);

/* Asks the supervisor to report the next status change ("watch", podproto.h): *fd becomes
 * readable once the pod's status generation differs from generation (at once if it already
 * does; 0 never matches). krc_sandbox_watch_finish then reads the answer, closes fd and stores
 * the new generation. A supervisor that is gone gives KRC_ENOTFOUND; one that predates watch
 * answers with KRC_EINVAL ("unknown op") from finish. */
int krc_sandbox_watch_start(struct krc_sandbox *sb, unsigned long long generation, int *fd,
                            struct krc_error *err);
int krc_sandbox_watch_finish(struct krc_sandbox *sb, int fd, unsigned long long *generation,
                             struct krc_error *err);

/* Rewrites the pod's /etc/hosts in place (a bind mount follows the inode, so the file is
 * truncated and rewritten, never replaced). */
int krc_sandbox_set_hosts(struct krc_sandbox *sb, const char *content, struct krc_error *err);

/* Ends the pod: asks the supervisor to stop every container with grace_seconds, kills whatever
 * is left after that, then removes the veth, the cgroup, the IP allocation and the state
 * directory. Frees sb in every case; on failure what is left is found again by list + adopt. */
int krc_sandbox_destroy(struct krc_sandbox *sb, int grace_seconds, struct krc_error *err);
/* Frees the handle only; the pod keeps running. */
void krc_sandbox_close(struct krc_sandbox *sb);

/* The uids of every sandbox directory of the node: a malloc'd array of malloc'd strings; free
 * with krc_sandbox_list_free. */
int krc_sandbox_list(struct krc_node *node, char ***uids, size_t *n, struct krc_error *err);
void krc_sandbox_list_free(char **uids, size_t n);
/* Opens the sandbox of uid from its state directory. Succeeds for a dead pod too (its supervisor
 * gone, or its record incomplete after a crash), so that the caller can destroy it;
 * krc_sandbox_alive tells which. KRC_ENOTFOUND if there is no such directory. */
int krc_sandbox_adopt(struct krc_node *node, const char *uid, struct krc_sandbox **out,
                      struct krc_error *err);

/* 1 while the supervisor runs. Reaps it if it was our child and has exited. */
int krc_sandbox_alive(struct krc_sandbox *sb);
const char *krc_sandbox_uid(const struct krc_sandbox *sb);
const char *krc_sandbox_ip(const struct krc_sandbox *sb); /* "" if unknown */
const char *krc_sandbox_dir(const struct krc_sandbox *sb);
const char *krc_sandbox_veth(const struct krc_sandbox *sb);
pid_t krc_sandbox_pid(const struct krc_sandbox *sb); /* the supervisor, host PID; 0 if unknown */
/* The pod's cgroup directories (0 when it runs without one). */
size_t krc_sandbox_cgroups(const struct krc_sandbox *sb, const char *const **paths);
/* Writes the log path of a container run into out: <dir>/logs/<name>/<restart>.log. */
int krc_sandbox_log_path(const struct krc_sandbox *sb, const char *name, int restart_count,
                         char *out, size_t outlen);

/* Pure helpers, exposed for tests. */
/* The pod's hostname as kubelet derives it: spec.hostname or the pod name, cut to 63 bytes,
 * without trailing '-' or '.'. */
void krc_sandbox_hostname(const struct krc_sandbox_spec *spec, char out[64]);
/* Default /etc/hosts (localhost entries and "ip hostname") and /etc/resolv.conf contents. */
int krc_sandbox_default_hosts(const char *ip, const char *hostname, struct krc_strbuf *out);
int krc_sandbox_default_resolv(const char *namespace_, struct krc_strbuf *out);
/* Field 22 (starttime) of a /proc/<pid>/stat line, whose comm field may hold spaces and ')'. */
int krc_sandbox_parse_start_time(const char *stat_line, unsigned long long *out);

#endif
