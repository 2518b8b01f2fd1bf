/* exec.h - running a command in a pod's container (pods/exec) over WebSocket, as `kubectl exec`
 * does: the Kubernetes remote-command channel protocol (v5.channel.k8s.io, falling back to
 * v4.channel.k8s.io) on an upgraded HTTP/1.1 connection (http.h), framed by websocket.h. Output
 * streams to a callback; the exit code comes from the error channel's Status. No stdin, no TTY. */
#ifndef KRC_KUBE_EXEC_H
#define KRC_KUBE_EXEC_H

#include "kube/cancel.h"
#include "kube/client.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <stddef.h>

enum {
    KRC_EXEC_STDIN = 0, /* channel numbers of the protocol */
    KRC_EXEC_STDOUT = 1,
    KRC_EXEC_STDERR = 2,
    KRC_EXEC_ERROR = 3,
    KRC_EXEC_RESIZE = 4,
    KRC_EXEC_CLOSE = 255, /* v5: "close this channel" */
    KRC_EXEC_STATUS_MAX = 64 * 1024,
};

/* Receives output as it arrives: channel is KRC_EXEC_STDOUT or KRC_EXEC_STDERR. Returns 0 to go
 * on, or a negative KRC_E* code, which stops the command's stream and is returned by krc_exec. */
typedef int (*krc_exec_output_fn)(void *ctx, int channel, const char *data, size_t len);

struct krc_exec_opts {
    const char *ns, *pod;
    const char *container; /* NULL = the pod's only container */
    const char *const *argv;
    size_t argc;
    int want_stderr; /* ask for stderr (else the server drops it) */
    krc_exec_output_fn on_output;
    void *ctx;
    long timeout_ms;           /* the whole exchange; 0 = no limit */
    struct krc_cancel *cancel; /* NULL = not cancellable */
};

struct krc_exec_result {
    int exit_code;     /* the command's exit code; -1 when it did not run */
    char protocol[32]; /* the subprotocol the server chose */
};

/* Runs the command to its end. Returns 0 when it ran (whatever its exit code: see res), or a
 * negative code: the typed error of a non-101 answer (KRC_ENOTFOUND for a missing pod, ...),
 * KRC_EIO when the server could not run it (the Status message says why: "executable file not
 * found", a missing container) or the stream broke, KRC_ETIMEOUT, KRC_ECANCELED, or the code
 * on_output returned. */
int krc_exec(struct krc_client *c, const struct krc_exec_opts *o, struct krc_exec_result *res,
             struct krc_error *err);

/* ---- the pure parts, for tests ---- */

/* Reads the error channel's Status: 0 with *exit_code for "Success" (0) or a NonZeroExitCode
 * failure (its ExitCode cause), KRC_EIO with the Status message for any other failure,
 * KRC_EINVAL when json is not a Status. */
int krc_exec_parse_status(const char *json, size_t len, int *exit_code, struct krc_error *err);

/* The path and query of an exec request: /api/v1/namespaces/NS/pods/POD/exec?command=...&... */
int krc_exec_build_path(const struct krc_exec_opts *o, struct krc_strbuf *out,
                        struct krc_error *err);

#endif
