/* portforward.h - one `kubectl port-forward` connection on the kubelet endpoint: the SPDY/3.1
 * session (protocol portforward.k8s.io) that the API server opens after the HTTP upgrade (also
 * when kubectl itself speaks WebSocket to the API server: the API server unwraps that tunnel and
 * talks SPDY to the kubelet), each pair of streams bridged to a TCP connection to 127.0.0.1 (or
 * ::1) on the requested port inside the pod's network namespace. */
#ifndef KRC_NODE_PORTFORWARD_H
#define KRC_NODE_PORTFORWARD_H

#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

#define KRC_PORTFORWARD_PROTOCOL "portforward.k8s.io"
#define KRC_PORTFORWARD_ID_MAX   64 /* bytes of a requestID header we accept, with the NUL */

struct krc_portforward_request {
    const char *pod_id; /* names the pod in error messages (its uid, the sandbox's id) */
    int netns_fd;       /* the pod's network namespace; the session does not close it */
};

/* Serves the session on sock (the upgraded connection; extra holds bytes already read from it)
 * until the client goes away. Never closes sock. */
void krc_portforward_serve(int sock, const char *extra, size_t extra_len,
                           const struct krc_portforward_request *req);

/* Opens the network namespace of the pod whose state directory is pod_dir (the supervisor's
 * /proc/<pid>/ns/net, after checking that pid is still the supervisor sandbox.json names).
 * KRC_ENOTFOUND when the pod has no running supervisor. The caller closes *fd. */
int krc_portforward_open_netns(const char *pod_dir, int *fd, struct krc_error *err);

/* Pure part, exposed for tests. */

enum krc_portforward_stream { KRC_PF_STREAM_ERROR, KRC_PF_STREAM_DATA };

/* What a port-forward SYN_STREAM's headers ask for. */
struct krc_portforward_headers {
    enum krc_portforward_stream type;
    uint16_t port;
    char request_id[KRC_PORTFORWARD_ID_MAX];
};

/* Reads the streamtype, port and requestid headers of a stream's uncompressed header block as
 * the kubelet does: port 1..65535 and streamtype error or data are required (KRC_EINVAL with the
 * kubelet's reason in err otherwise, and the stream is to be refused); a missing requestid (an
 * old client) is derived from the stream id: the id itself for an error stream, id - 2 for a
 * data stream, which pairs the streams of one connection when their ids are consecutive. */
int krc_portforward_parse_headers(const uint8_t *block, size_t len, uint32_t stream_id,
                                  struct krc_portforward_headers *out, struct krc_error *err);

/* The error-stream text after both connection attempts failed (v4_error, v6_error: errno
 * values), in the words of the kubelet and containerd: "error forwarding port P to pod ID, uid :
 * failed to connect to localhost:P inside namespace ...". */
int krc_portforward_connect_error(const char *pod_id, uint16_t port, int v4_error, int v6_error,
                                  char *out, size_t outlen);

#endif
