/* websocket.c - RFC 6455 handshake keys and framing (see websocket.h).
 *
 * Why hand-written: Debian's WebSocket libraries do not fit a client that already has its own
 * transport. libwebsockets brings its own TLS stack and event loop and wants to own the socket;
 * the others are C++ or server-only. The part a client needs is small: a key, the accept check
 * and the frame layout, here as pure functions; exec.c runs them over a connection that
 * http_native.c upgraded. SHA-1 and base64 come from nettle (already loaded with GnuTLS). */
#include "kube/websocket.h"

#include "util/error.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum {
    KEY_RAW = 16,
    FIN_BIT = 0x80,
    RSV_BITS = 0x70,
    OPCODE_BITS = 0x0f,
    MASK_BIT = 0x80,
    LEN7_MAX = 125,
    LEN16 = 126, /* the next 2 bytes hold the length */
    LEN64 = 127, /* the next 8 bytes hold the length */
};

int krc_ws_make_key(char *key)
{
    uint8_t raw[KEY_RAW];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0)
            return KRC_EIO;
        got += (size_t)n;
    }
    base64_encode_raw((char *)key, sizeof(raw), raw);
    key[KRC_WS_KEY_LEN] = '\0';
    return 0;
}

void krc_ws_accept_for(const char *key, char *accept)
{
    struct sha1_ctx sha;
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_init(&sha);
    sha1_update(&sha, strlen(key), (const uint8_t *)key);
    sha1_update(&sha, sizeof(WS_GUID) - 1, (const uint8_t *)WS_GUID);
    sha1_digest(&sha, sizeof(digest), digest);
    base64_encode_raw(accept, sizeof(digest), digest);
    accept[KRC_WS_ACCEPT_LEN] = '\0';
}

int krc_ws_encode(struct krc_strbuf *out, int opcode, int fin, const void *payload, size_t len,
                  const unsigned char *mask)
{
    unsigned char hdr[KRC_WS_HEADER_MAX];
    size_t h = 0;
    hdr[h++] = (unsigned char)((fin ? FIN_BIT : 0) | (opcode & OPCODE_BITS));
    unsigned char m = mask ? MASK_BIT : 0;
    if (len <= LEN7_MAX) {
        hdr[h++] = (unsigned char)(m | len);
    } else if (len <= 0xffff) {
        hdr[h++] = (unsigned char)(m | LEN16);
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = (unsigned char)(m | LEN64);
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    if (mask) {
        memcpy(hdr + h, mask, 4);
        h += 4;
    }
    size_t start = out->len;
    int rc = krc_strbuf_add(out, hdr, h);
    if (!rc && len)
        rc = krc_strbuf_add(out, payload, len);
    if (!rc && mask) {
        unsigned char *p = (unsigned char *)out->buf + start + h;
        for (size_t i = 0; i < len; i++)
            p[i] ^= mask[i & 3];
    }
    return rc;
}

static long bad(int code, char *why, size_t why_size, const char *reason)
{
    snprintf(why, why_size, "%s", reason);
    return code;
}

long krc_ws_decode(unsigned char *buf, size_t len, size_t max_payload, int expect_masked,
                   struct krc_ws_frame *f, char *why, size_t why_size)
{
    if (len < 2)
        return 0;
    int fin = (buf[0] & FIN_BIT) != 0, opcode = buf[0] & OPCODE_BITS;
    int masked = (buf[1] & MASK_BIT) != 0;
    uint64_t plen = buf[1] & 0x7f;
    size_t h = 2;

    if (buf[0] & RSV_BITS) /* no extension was negotiated */
        return bad(KRC_EINVAL, why, why_size, "reserved bits set");
    if ((opcode > KRC_WS_OP_BINARY && opcode < KRC_WS_OP_CLOSE) || opcode > KRC_WS_OP_PONG)
        return bad(KRC_EINVAL, why, why_size, "reserved opcode");
    if (opcode >= KRC_WS_OP_CLOSE && (!fin || plen > KRC_WS_CONTROL_MAX))
        return bad(KRC_EINVAL, why, why_size, "fragmented or over-long control frame");
    if (masked != (expect_masked != 0))
        return bad(KRC_EINVAL, why, why_size,
                   masked ? "masked frame from the server" : "unmasked frame from a client");
    if (plen == LEN16) {
        if (len < h + 2)
            return 0;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        h += 2;
        if (plen <= LEN7_MAX)
            return bad(KRC_EINVAL, why, why_size, "non-minimal length");
    } else if (plen == LEN64) {
        if (len < h + 8)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | buf[2 + i];
        h += 8;
        if (plen >> 63)
            return bad(KRC_EINVAL, why, why_size, "length with the top bit set");
        if (plen <= 0xffff)
            return bad(KRC_EINVAL, why, why_size, "non-minimal length");
    }
    if (plen > max_payload)
        return bad(KRC_ETOOLARGE, why, why_size, "frame larger than the limit");
    const unsigned char *mask = NULL;
    if (masked) {
        if (len < h + 4)
            return 0;
        mask = buf + h;
        h += 4;
    }
    if (len - h < plen)
        return 0;
    f->fin = fin;
    f->opcode = opcode;
    f->payload = buf + h;
    f->len = (size_t)plen;
    if (mask)
        for (size_t i = 0; i < f->len; i++)
            f->payload[i] ^= mask[i & 3];
    return (long)(h + plen);
}
