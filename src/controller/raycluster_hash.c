/* raycluster_hash.c - Recreate-strategy spec hash (see raycluster_hash.h). Uses nettle's SHA-1
 * (nettle is GnuTLS's crypto library, already loaded); the hash is a change detector, not a
 * security boundary. */
#include "controller/raycluster_hash.h"

#include "api/kobj.h"
#include "util/error.h"

#include <nettle/sha1.h>
#include <stdlib.h>
#include <string.h>

static void strip_template(json_t *group)
{
    json_t *spec = kobj_path(group, "template.spec");
    if (json_is_object(spec)) {
        json_object_del(spec, "tolerations");
        json_object_del(spec, "schedulingGates");
    }
}

static void base32hex(const unsigned char *in, size_t n, char *out)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
    unsigned buffer = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        buffer = (buffer << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = alphabet[(buffer >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(buffer << (5 - bits)) & 31];
    out[o] = '\0';
}

void raycluster_hash_strip_group(json_t *group)
{
    if (!json_is_object(group))
        return;
    json_object_del(group, "replicas");
    json_object_del(group, "minReplicas");
    json_object_del(group, "maxReplicas");
    json_t *ss = kobj_obj(group, "scaleStrategy");
    if (ss)
        json_object_del(ss, "workersToDelete");
    /* Go always serializes the (struct) scaleStrategy, so absent and {} must hash alike. */
    if (ss && json_object_size(ss) == 0)
        json_object_del(group, "scaleStrategy");
    strip_template(group);
}

int raycluster_hash_json(const json_t *spec, char out[RAYCLUSTER_HASH_LEN + 1])
{
    char *text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return KRC_ENOMEM;
    uint8_t digest[SHA1_DIGEST_SIZE];
    struct sha1_ctx sha;
    sha1_init(&sha);
    sha1_update(&sha, strlen(text), (const uint8_t *)text);
    sha1_digest(&sha, sizeof(digest), digest);
    base32hex(digest, sizeof(digest), out);
    free(text);
    return 0;
}

int raycluster_spec_hash(const struct raycluster *rc, char out[RAYCLUSTER_HASH_LEN + 1])
{
    json_t *spec = json_deep_copy(kobj_obj(rc->root, "spec"));
    int r = KRC_ENOMEM;
    if (!spec)
        goto out;
    json_object_del(spec, "upgradeStrategy");
    json_t *head = kobj_obj(spec, "headGroupSpec");
    if (head) {
        raycluster_hash_strip_group(head);
        if (!kobj_obj(head, "rayStartParams") &&
            kobj_set_new(head, "rayStartParams", json_object()))
            goto out;
    }
    size_t i;
    json_t *w;
    json_array_foreach(kobj_arr(spec, "workerGroupSpecs"), i, w)
    {
        if (!json_is_object(w))
            continue;
        raycluster_hash_strip_group(w);
        if (!kobj_obj(w, "rayStartParams") && kobj_set_new(w, "rayStartParams", json_object()))
            goto out;
    }
    r = raycluster_hash_json(spec, out);
out:
    json_decref(spec);
    return r;
}
