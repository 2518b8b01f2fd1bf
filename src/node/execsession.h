/* execsession.h - one `kubectl exec` on the kubelet endpoint: the SPDY/3.1 session (protocol
 * v4.channel.k8s.io) that the API server opens after the HTTP upgrade, bridged to a process the
 * pod's supervisor forks in the container (podproto.h op "exec"). */
#ifndef KRC_NODE_EXECSESSION_H
#define KRC_NODE_EXECSESSION_H

#include "util/strbuf.h"

#include <stddef.h>

#define KRC_EXEC_PROTOCOL "v4.channel.k8s.io"

struct krc_exec_request {
    const char *socket_path; /* the pod supervisor's socket */
    const char *container;
    const char *const *argv; /* NULL-terminated */
    size_t argc;
    int in, out, err, tty; /* which streams the client asked for (stdin=1 ...) */
};

/* Serves the session on sock (the upgraded connection; extra holds bytes already read from it)
 * until the process exits and its status is sent, or the client goes away. Never closes sock. */
void krc_exec_serve(int sock, const char *extra, size_t extra_len,
                    const struct krc_exec_request *req);

/* The v4 error-stream message, a metav1.Status as the kubelet writes it: Success for exit code
 * 0, NonZeroExitCode with an ExitCode cause otherwise, and InternalError when error_msg is not
 * NULL (the command could not be run). Appends compact JSON to out. */
int krc_exec_status_json(int exit_code, const char *error_msg, struct krc_strbuf *out);

#endif
