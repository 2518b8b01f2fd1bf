/* tlsfront.h - TLS termination in front of the kubelet endpoint's HTTP server;
 * see tlsfront.c. */
#ifndef KRC_NODE_TLSFRONT_H
#define KRC_NODE_TLSFRONT_H

#include "util/error.h"

#include <sys/socket.h>

struct krc_tlsfront;

/* Called on the connection's own thread with the plaintext end of a socketpair
 * for each client whose certificate verified; the callee owns plain_fd from
 * then on (also on failure). */
typedef void (*krc_tlsfront_conn_fn)(void *ctx, int plain_fd, const struct sockaddr *peer,
                                     socklen_t peer_len);

/* Listens on addr:port (IPv4) with the PEM certificate and key; clients must
 * present a certificate that chains to the PEM CA bundle (others get a 401 and
 * are closed). Free with krc_tlsfront_stop. */
int krc_tlsfront_start(const char *addr, int port, const char *cert_pem, const char *key_pem,
                       const char *ca_pem, krc_tlsfront_conn_fn fn, void *ctx,
                       struct krc_tlsfront **out, struct krc_error *err);

/* Stops listening and ends every relayed connection (both sides shut down). */
void krc_tlsfront_stop(struct krc_tlsfront *f);

#endif
