/* supervisor.h - the pod supervisor: PID 1 of a pod's PID namespace, one per pod.
 *
 * The agent clones it into new PID, mount, UTS, IPC and network namespaces and execs
 * `kuberay-node pod-supervisor --state-dir DIR --sync-fd N`. It reads DIR/sandbox.json, waits for
 * the agent to finish the pod's network and cgroup ("go" on the sync socket), sets up its mounts
 * and hostname, listens on DIR/sock (podproto.h) and answers "ok" (or the error) on the sync
 * socket. From then on it starts containers on request, reaps every process of the pod, records
 * each container's exit in DIR/status.json, and delivers stop signals with their grace periods.
 *
 * It does not depend on the agent after start-up: it runs in its own session, logs to
 * DIR/supervisor.log, and a restarted agent re-attaches through the socket. When it exits, the
 * kernel kills every remaining process of the pod, and the pod's network namespace (with eth0
 * and the host-side veth) goes with them. */
#ifndef KRC_NODE_SUPERVISOR_H
#define KRC_NODE_SUPERVISOR_H

/* argv as passed to `kuberay-node pod-supervisor ...` (argv[0] is "pod-supervisor"). Returns the
 * process exit code. */
int krc_supervisor_main(int argc, char **argv);

#endif
