/* websocket.h - the pure parts of an RFC 6455 WebSocket client: the opening handshake's keys and
 * the frame format. No I/O here (exec.c drives a connection with it), so unit tests cover every
 * byte layout, malformed frames included. */
#ifndef KRC_KUBE_WEBSOCKET_H
#define KRC_KUBE_WEBSOCKET_H

#include "util/strbuf.h"

#include <stddef.h>
#include <stdint.h>

enum {
    KRC_WS_OP_CONTINUATION = 0x0,
    KRC_WS_OP_TEXT = 0x1,
    KRC_WS_OP_BINARY = 0x2,
    KRC_WS_OP_CLOSE = 0x8,
    KRC_WS_OP_PING = 0x9,
    KRC_WS_OP_PONG = 0xA,
    KRC_WS_KEY_LEN = 24,        /* base64 of 16 random bytes */
    KRC_WS_ACCEPT_LEN = 28,     /* base64 of a SHA-1 digest */
    KRC_WS_CONTROL_MAX = 125,   /* payload of a control frame */
    KRC_WS_HEADER_MAX = 14,     /* 2 + 8 (64-bit length) + 4 (mask key) */
    KRC_WS_CLOSE_NORMAL = 1000, /* status codes of a close frame */
    KRC_WS_CLOSE_PROTOCOL = 1002,
    KRC_WS_CLOSE_TOO_BIG = 1009,
};

/* One decoded frame; payload points into the buffer given to krc_ws_decode. */
struct krc_ws_frame {
    int fin;
    int opcode;
    unsigned char *payload;
    size_t len;
};

/* A fresh Sec-WebSocket-Key (16 bytes from the kernel's random source, base64) into
 * key[KRC_WS_KEY_LEN + 1]. 0 or KRC_EIO. */
int krc_ws_make_key(char *key);

/* The Sec-WebSocket-Accept a server must answer to key, into accept[KRC_WS_ACCEPT_LEN + 1]:
 * base64(SHA-1(key + the RFC's GUID)). */
void krc_ws_accept_for(const char *key, char *accept);

/* Appends one frame. Client frames are masked with mask[4] (RFC 6455 5.3: every client frame);
 * with mask NULL the frame is unmasked, as a server sends (tests use it to play the server).
 * 0 or KRC_ENOMEM / KRC_ETOOLARGE from the buffer. */
int krc_ws_encode(struct krc_strbuf *out, int opcode, int fin, const void *payload, size_t len,
                  const unsigned char *mask);

/* Decodes the frame at the start of buf[0, len): returns the number of bytes it takes (> 0) and
 * fills f (a masked payload is unmasked in place), 0 when buf holds only part of it, or
 * KRC_EINVAL for a frame RFC 6455 forbids (reserved bits or opcodes, a fragmented or over-long
 * control frame, a non-minimal or 64-bit-overflowing length, a mask where expect_masked says
 * there must be none or the reverse) and KRC_ETOOLARGE for a payload over max_payload, with the
 * reason in why[why_size]. */
long krc_ws_decode(unsigned char *buf, size_t len, size_t max_payload, int expect_masked,
                   struct krc_ws_frame *f, char *why, size_t why_size);

#endif
