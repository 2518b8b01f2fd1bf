/* base64.c - strict RFC 4648 base64 decoder (see base64.h). A 256-entry table maps bytes to
 * sextets; whitespace is skipped, '=' is accepted only as final padding. */
#include "util/base64.h"

#include "util/error.h"

#include <stdlib.h>

enum { B64_BAD = 0xff, B64_SPACE = 0xfe, B64_PAD = 0xfd };

static unsigned char sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return (unsigned char)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (unsigned char)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (unsigned char)(c - '0' + 52);
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    if (c == '=')
        return B64_PAD;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        return B64_SPACE;
    return B64_BAD;
}

int krc_base64_decode(const char *src, size_t len, char **out, size_t *out_len, size_t *bad_offset)
{
    int rc = 0;
    /* 3 output bytes per 4 input bytes, rounded up, plus the NUL. */
    char *buf = malloc(len / 4 * 3 + 4);
    size_t n = 0, quad_len = 0, pads = 0, i;
    unsigned long acc = 0;

    *out = NULL;
    *out_len = 0;
    if (!buf)
        return KRC_ENOMEM;
    for (i = 0; i < len; i++) {
        unsigned char v = sextet((unsigned char)src[i]);
        if (v == B64_SPACE)
            continue;
        if (v == B64_BAD || (pads && v != B64_PAD)) {
            rc = KRC_EINVAL;
            goto out;
        }
        if (v == B64_PAD) {
            /* Padding may only fill the third and fourth place of the last quad. */
            if (quad_len < 2) {
                rc = KRC_EINVAL;
                goto out;
            }
            pads++;
            v = 0;
        }
        acc = (acc << 6) | v;
        if (++quad_len == 4) {
            buf[n++] = (char)(acc >> 16);
            if (pads < 2)
                buf[n++] = (char)(acc >> 8);
            if (pads < 1)
                buf[n++] = (char)acc;
            quad_len = 0;
            acc = 0;
            if (pads)
                pads = 3; /* anything after the padded quad is an error */
        }
    }
    if (quad_len != 0) {
        rc = KRC_EINVAL; /* unpadded or truncated input */
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    buf = NULL;
out:
    if (rc && bad_offset)
        *bad_offset = i;
    free(buf);
    return rc;
}
