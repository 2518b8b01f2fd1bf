/* portforward.h - forwarding one TCP connection to a pod's port (pods/portforward), as
 * `kubectl port-forward` 1.35 does: a WebSocket (subprotocol SPDY/3.1+portforward.k8s.io) on an
 * upgraded HTTP/1.1 connection (http.h) whose binary messages carry a SPDY/3.1 byte stream
 * (spdy.h); in it, per forwarded connection, an error stream and a data stream. One connection per
 * krc_portforward; everything runs on the caller's thread (the TLS session is never shared). */
#ifndef KRC_KUBE_PORTFORWARD_H
#define KRC_KUBE_PORTFORWARD_H

#include "kube/cancel.h"
#include "kube/client.h"
#include "util/error.h"

#include <stddef.h>

#define KRC_PORTFORWARD_PROTOCOL "SPDY/3.1+portforward.k8s.io"

struct krc_portforward;

struct krc_portforward_opts {
    const char *ns, *pod;
    int port;                  /* the pod's port, 1..65535 */
    long timeout_ms;           /* connecting and the handshake; 0 = the client's connect timeout */
    struct krc_cancel *cancel; /* also stops later reads and writes; NULL = not cancellable */
};

/* Opens the WebSocket and the connection's two SPDY streams. 0 with *out, or a negative code:
 * the typed error of a non-101 answer (KRC_ENOTFOUND for a missing pod, ...), KRC_EIO, ... */
int krc_portforward_open(struct krc_client *c, const struct krc_portforward_opts *o,
                         struct krc_portforward **out, struct krc_error *err);

/* Reads bytes the pod's port sent, waiting at most timeout_ms (0 = no limit) for the first one:
 * > 0 bytes, 0 when the pod side closed the connection, KRC_ETIMEOUT, KRC_ECANCELED, or KRC_EIO
 * (the stream broke, or the node reported an error such as a refused connection: see err). */
long krc_portforward_read(struct krc_portforward *pf, void *buf, size_t len, long timeout_ms,
                          struct krc_error *err);
/* Sends all of data to the pod's port: 0 or a negative code. */
int krc_portforward_write(struct krc_portforward *pf, const void *data, size_t len,
                          struct krc_error *err);
/* Half-closes: the pod's port sees the end of its input. Reads go on. */
int krc_portforward_shutdown_write(struct krc_portforward *pf, struct krc_error *err);

/* Copies bytes both ways between fd (a connected socket, for instance one accepted on a local
 * listener) and the pod's port until both directions ended or an error. 0 or a negative code. */
int krc_portforward_pipe(struct krc_portforward *pf, int fd, struct krc_error *err);

/* Closes the streams and the connection (GOAWAY, WebSocket close). NULL is fine. */
void krc_portforward_free(struct krc_portforward *pf);

#endif
