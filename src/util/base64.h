/* base64.h - standard (RFC 4648) base64 decoding of untrusted text.
 *
 * Kubeconfig "-data" fields and Secret values arrive base64-encoded. Decoding is strict about the
 * alphabet and padding so a corrupted field is reported, not silently turned into garbage, but it
 * skips ASCII whitespace, because PEM blobs pasted into YAML are often wrapped. */
#ifndef KRC_UTIL_BASE64_H
#define KRC_UTIL_BASE64_H

#include <stddef.h>

/* Decodes len bytes of src into a new NUL-terminated heap buffer (*out, caller frees; *out_len
 * excludes the NUL). Returns 0, KRC_EINVAL on a character outside the alphabet or bad padding
 * (*bad_offset, if non-NULL, is the offset of the offending byte), or KRC_ENOMEM. */
int krc_base64_decode(const char *src, size_t len, char **out, size_t *out_len, size_t *bad_offset);

#endif
