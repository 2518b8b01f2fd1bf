/* jobid.c - random attempt names for RayJob (see jobid.h).
 *
 * Bytes come from getrandom(2) and are mapped onto the 27-character alphabet by rejection sampling
 * (bytes >= 243 = 9 * 27 are drawn again), so every character is equally likely. Kubernetes'
 * rand.String uses a seeded PRNG instead; only the alphabet and length are part of the contract. */
#include "ray/jobid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define ALPHABET_LEN   (sizeof(RAY_RANDOM_ALPHABET) - 1)
#define REJECT_FROM    (256 / ALPHABET_LEN * ALPHABET_LEN)
#define RANDOM_BUF_LEN 32

int ray_random_suffix(char out[RAY_RANDOM_SUFFIX_LEN + 1], struct krc_error *err)
{
    static const char alphabet[] = RAY_RANDOM_ALPHABET;
    unsigned char buf[RANDOM_BUF_LEN];
    size_t have = 0, used = 0, n = 0;

    while (n < RAY_RANDOM_SUFFIX_LEN) {
        if (used == have) {
            ssize_t r = getrandom(buf, sizeof(buf), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return krc_error_set(err, KRC_EIO, "getrandom: %s",
                                     r < 0 ? strerror(errno) : "no bytes");
            have = (size_t)r;
            used = 0;
        }
        unsigned char b = buf[used++];
        if (b >= REJECT_FROM)
            continue;
        out[n++] = alphabet[b % ALPHABET_LEN];
    }
    out[n] = '\0';
    return 0;
}

int ray_random_name(const char *prefix, char **out, struct krc_error *err)
{
    char suffix[RAY_RANDOM_SUFFIX_LEN + 1];
    int rc;

    *out = NULL;
    if (!prefix)
        return krc_error_set(err, KRC_EINVAL, "random name: no prefix");
    if ((rc = ray_random_suffix(suffix, err)))
        return rc;
    size_t len = strlen(prefix) + 1 + RAY_RANDOM_SUFFIX_LEN + 1;
    char *s = malloc(len);
    if (!s)
        return krc_error_set(err, KRC_ENOMEM, "random name %s: out of memory", prefix);
    snprintf(s, len, "%s-%s", prefix, suffix);
    *out = s;
    return 0;
}

int ray_jobid_generate(const char *rayjob_name, const char *spec_job_id, char **out,
                       struct krc_error *err)
{
    *out = NULL;
    if (spec_job_id && *spec_job_id) {
        char *s = strdup(spec_job_id);
        if (!s)
            return krc_error_set(err, KRC_ENOMEM, "job id %s: out of memory", spec_job_id);
        *out = s;
        return 0;
    }
    return ray_random_name(rayjob_name, out, err);
}
