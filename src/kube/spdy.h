/* spdy.h - SPDY/3.1 framing as Kubernetes speaks it for exec and port-forward (the node agent
 * serves it to the API server; the port-forward client, portforward.c, sends it inside WebSocket
 * messages): frame parsing, frame building and the zlib-compressed header blocks. No I/O here:
 * the caller reads bytes into a buffer, asks krc_spdy_parse how much of it is one frame, and writes
 * the frames these functions append to a strbuf. That keeps the protocol testable with byte tables.
 *
 * Header blocks are compressed with one zlib stream per direction for the whole connection
 * (seeded with the SPDY/3 dictionary), so every SYN_STREAM, SYN_REPLY and HEADERS block of a
 * connection must go through the same struct krc_spdy_zlib in order. Flow control (WINDOW_UPDATE)
 * is not enforced in either direction, as the Go spdystream library the API server uses does not
 * enforce it either. */
#ifndef KRC_KUBE_SPDY_H
#define KRC_KUBE_SPDY_H

#include "util/error.h"
#include "util/strbuf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KRC_SPDY_VERSION          3
#define KRC_SPDY_HEADER_LEN       8
#define KRC_SPDY_MAX_FRAME        (1 << 20) /* larger frames are refused (the API server's are small) */
#define KRC_SPDY_HEADER_BLOCK_MAX (64 * 1024)

enum krc_spdy_type {
    KRC_SPDY_DATA = 0, /* not a control frame type: marks data frames in krc_spdy_frame */
    KRC_SPDY_SYN_STREAM = 1,
    KRC_SPDY_SYN_REPLY = 2,
    KRC_SPDY_RST_STREAM = 3,
    KRC_SPDY_SETTINGS = 4,
    KRC_SPDY_PING = 6,
    KRC_SPDY_GOAWAY = 7,
    KRC_SPDY_HEADERS = 8,
    KRC_SPDY_WINDOW_UPDATE = 9,
};

enum {
    KRC_SPDY_FLAG_FIN = 0x01,
    KRC_SPDY_RST_CANCEL = 5,
    KRC_SPDY_GOAWAY_OK = 0,
};

/* One frame, pointing into the parsed buffer. For control frames stream_id is the frame's
 * stream (SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE), the ping id (PING) or the
 * last good stream (GOAWAY); payload is what follows the frame header. */
struct krc_spdy_frame {
    enum krc_spdy_type type;
    uint8_t flags;
    uint32_t stream_id;
    const uint8_t *payload;
    size_t len;
};

/* Bytes of buf that form the first frame (filling *f), 0 if buf holds only part of it, or
 * KRC_EINVAL for a malformed frame (wrong version, too large, too short for its type). */
ssize_t krc_spdy_parse(const uint8_t *buf, size_t len, struct krc_spdy_frame *f);

/* The compressed header block inside a SYN_STREAM, SYN_REPLY or HEADERS payload. */
int krc_spdy_header_block(const struct krc_spdy_frame *f, const uint8_t **block, size_t *len);

/* The zlib contexts of one connection; see the top of the file. */
struct krc_spdy_zlib;
int krc_spdy_zlib_new(struct krc_spdy_zlib **out, struct krc_error *err);
void krc_spdy_zlib_free(struct krc_spdy_zlib *z);

/* Decompresses a received header block into out (the uncompressed SPDY name/value block). */
int krc_spdy_headers_inflate(struct krc_spdy_zlib *z, const uint8_t *block, size_t len,
                             struct krc_strbuf *out, struct krc_error *err);
/* Copies the value of header `name` (lower case) of an uncompressed block into out. 0 if
 * found, KRC_ENOTFOUND if not, KRC_EINVAL for a malformed block. */
int krc_spdy_headers_get(const uint8_t *block, size_t len, const char *name, char *out,
                         size_t outlen);

/* Frame builders: append one complete frame to out. names/values: n header pairs. */
int krc_spdy_add_syn_stream(struct krc_spdy_zlib *z, uint32_t stream_id, uint8_t flags,
                            const char *const *names, const char *const *values, size_t n,
                            struct krc_strbuf *out, struct krc_error *err);
int krc_spdy_add_syn_reply(struct krc_spdy_zlib *z, uint32_t stream_id, uint8_t flags,
                           const char *const *names, const char *const *values, size_t n,
                           struct krc_strbuf *out, struct krc_error *err);
int krc_spdy_add_data(uint32_t stream_id, uint8_t flags, const void *data, size_t len,
                      struct krc_strbuf *out);
int krc_spdy_add_ping(uint32_t id, struct krc_strbuf *out);
int krc_spdy_add_rst_stream(uint32_t stream_id, uint32_t status, struct krc_strbuf *out);
int krc_spdy_add_goaway(uint32_t last_stream_id, uint32_t status, struct krc_strbuf *out);

#endif
