/* hash.h - FNV-1a (64-bit), the one string hash of kuberay-c's hash tables and derived names.
 *
 * Incremental: start from KRC_FNV1A64_INIT and feed pieces, so a composite key ("ns" "/" "name")
 * hashes without being assembled in a buffer. Unkeyed: keys are object names chosen by cluster
 * users, and a keyed hash (SipHash) would resist deliberate collisions at the cost of a secret
 * and more code; real names keep chains short. Callers that persist a derived value (veth
 * names) rely on these exact constants: never change them. */
#ifndef KRC_UTIL_HASH_H
#define KRC_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define KRC_FNV1A64_INIT  UINT64_C(14695981039346656037)
#define KRC_FNV1A64_PRIME UINT64_C(1099511628211)

static inline uint64_t krc_fnv1a64(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * KRC_FNV1A64_PRIME;
    return h;
}

static inline uint64_t krc_fnv1a64_str(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * KRC_FNV1A64_PRIME;
    return h;
}

#endif
