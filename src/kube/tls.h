/* tls.h - the TLS layer under the native transport (http_native.c), one small interface with one
 * implementation per TLS library, chosen at build time by KRC_TLS: tls_mbedtls.c (Mbed TLS, the
 * default: the smallest resident cost, TLS 1.2), tls_gnutls.c (GnuTLS) or tls_openssl.c
 * (OpenSSL), both with TLS 1.3 too. Internal to src/kube.
 *
 * A krc_tls_ctx holds what all connections of a krc_http share: the trust (certificate-authority
 * or -data, else the system store; nothing with insecure-skip-tls-verify), the client certificate
 * and key, ALPN (h2, http/1.1), TLS >= 1.2, and the newest session ticket, which new connections
 * resume from. A krc_tls_conn is one TLS session over a connected non-blocking socket, driven by
 * one thread at a time. Calls never block: they return KRC_TLS_WANT_READ / KRC_TLS_WANT_WRITE when
 * the socket must become readable / writable first (the caller polls, then calls again with the
 * same arguments). Calls never raise SIGPIPE. */
#ifndef KRC_KUBE_TLS_H
#define KRC_KUBE_TLS_H

#include "kube/config.h"
#include "util/error.h"

#include <stddef.h>
#include <sys/types.h>

enum {
    KRC_TLS_WANT_READ = -1001,
    KRC_TLS_WANT_WRITE = -1002,
    KRC_TLS_FAILED = -1003, /* the reason is in the krc_tls_status */
    KRC_TLS_MSG_MAX = 192,
};

/* Why a call returned KRC_TLS_FAILED. */
struct krc_tls_status {
    int verify_failed; /* the server's certificate was rejected (msg says why): not transient */
    int sys_errno;     /* the socket call that failed, 0 when the TLS library itself refused */
    char msg[KRC_TLS_MSG_MAX];
};

struct krc_tls_ctx;
struct krc_tls_conn;

/* Only the TLS fields of cfg are read. Errors name the kubeconfig field at fault. */
int krc_tls_ctx_new(const struct krc_kubeconfig *cfg, struct krc_tls_ctx **out,
                    struct krc_error *err);
void krc_tls_ctx_free(struct krc_tls_ctx *ctx);

/* A TLS client over fd (connected, non-blocking; not closed by krc_tls_conn_free) that sends
 * verify_name as SNI unless it is an IP address and checks the server certificate against it.
 * With http1_only, ALPN offers http/1.1 alone (a connection for an HTTP/1.1 Upgrade, which
 * HTTP/2 does not have). */
int krc_tls_conn_new(struct krc_tls_ctx *ctx, int fd, const char *verify_name, int http1_only,
                     struct krc_tls_conn **out, struct krc_tls_status *st);
/* 0 when the handshake is done, KRC_TLS_WANT_*, or KRC_TLS_FAILED. */
int krc_tls_handshake(struct krc_tls_conn *c, struct krc_tls_status *st);
/* Whether ALPN chose h2 (after the handshake). */
int krc_tls_is_h2(struct krc_tls_conn *c);
/* > 0 bytes read, 0 at the end of the stream (close_notify, or the peer closed or reset the
 * connection), KRC_TLS_WANT_*, or KRC_TLS_FAILED. */
ssize_t krc_tls_read(struct krc_tls_conn *c, void *buf, size_t len, struct krc_tls_status *st);
/* > 0 bytes written, KRC_TLS_WANT_*, or KRC_TLS_FAILED. */
ssize_t krc_tls_write(struct krc_tls_conn *c, const void *buf, size_t len,
                      struct krc_tls_status *st);
/* Frees the session; with notify, first sends close_notify if that can be done without waiting. */
void krc_tls_conn_free(struct krc_tls_conn *c, int notify);

#endif
