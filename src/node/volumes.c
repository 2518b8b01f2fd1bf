/* volumes.c - a pod's volumes, prepared on the host before its sandbox starts:
 *   emptyDir            a host directory (medium Memory: a tmpfs in the pod, sizeLimit applied)
 *   configMap, secret   the keys (or items) written as files
 *   downwardAPI         fieldRef items written as files
 *   projected           serviceAccountToken (TokenRequest API, audience and expiration),
 *                       configMap (kube-root-ca.crt), secret and downwardAPI sources, merged
 *   hostPath            the host path itself
 * Files live in <state root>/volumes/<pod uid>/<volume>/ and are bind-mounted at each
 * volumeMount's mountPath (subPath supported); the pod has one mount namespace, so the mounts of
 * all its containers are merged.
 *
 * configMap, secret, downwardAPI and projected volumes use the kubelet's atomic layout: the files
 * are in a hidden payload directory ..<timestamp>/, ..data is a symlink to it, and each top-level
 * name is a symlink into ..data. krc_volumes_refresh (called by the pod worker) rewrites them:
 * every refresh interval for ConfigMap, Secret and downward API content, and when a projected
 * service-account token has lived its refresh fraction (kubelet: 80%) of expirationSeconds. A
 * new payload that differs from the current one is published by renaming a fresh symlink over
 * ..data, so a reader sees either all old or all new files. subPath mounts keep their first
 * content, as with the kubelet. */
#define _GNU_SOURCE
#include "node/agent.h"

#include "node/volrefresh.h"
#include "util/base64.h"
#include "util/fileio.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/quantity.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct krc_podvolumes {
    char root[512];
    struct krc_pod_mount mounts[KRC_POD_MAX_MOUNTS];
    size_t n;
    uint64_t shm_size;
    char *strings[KRC_POD_MAX_MOUNTS * 2];
    size_t n_strings;
    json_t *vols; /* name -> {"path": host dir or null, "tmpfs": size} */
    /* volumes krc_volumes_refresh rewrites: {"vol": spec, "dir", "payload": current payload
     * name, "digest", "next_ms": next content check, "token_ms": token refresh time or 0} */
    json_t *refresh;
    unsigned seq; /* makes payload names unique */
};

enum { PAYLOAD_NAME_MAX = 64, WALK_DEPTH_MAX = 8 };

static int mkdirs(const char *path, mode_t mode)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, mode) != 0 && errno != EEXIST ? -1 : 0;
}

static int write_file(const char *dir, const char *rel, const char *data, size_t len, int mode,
                      struct krc_error *err)
{
    char path[1024];
    if (!rel || !*rel || strstr(rel, "..") || rel[0] == '/')
        return krc_error_set(err, KRC_EINVAL, "volume file %s: bad path", rel ? rel : "");
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdirs(path, 0755);
    *slash = '/';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode ? mode : 0644);
    if (fd < 0)
        return krc_error_set(err, KRC_EIO, "volume file %s: %s", path, strerror(errno));
    ssize_t w = write(fd, data, len);
    fchmod(fd, mode ? mode : 0644);
    close(fd);
    if (w != (ssize_t)len)
        return krc_error_set(err, KRC_EIO, "volume file %s: short write", path);
    return 0;
}

static int get_object(struct krc_agent *a, const char *kind, const char *ns, const char *name,
                      json_t **out, struct krc_error *err)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    struct krc_resource res = {"", "v1", kind, 1};
    int rc = krc_client_get(a->client, &res, ns, name, &body, err);
    if (rc == 0)
        rc = krc_client_parse_json(&body, out, err);
    krc_strbuf_release(&body);
    return rc;
}

/* The decoded value of key in a ConfigMap or Secret object. */
static int object_key(json_t *obj, int secret, const char *key, struct krc_strbuf *out)
{
    /* Keys hold dots ("ca.crt"): look them up directly, not as krc_json_str paths. */
    const char *v = json_string_value(json_object_get(json_object_get(obj, "data"), key));
    int b64 = secret;
    if (!v && !secret) {
        v = json_string_value(json_object_get(json_object_get(obj, "binaryData"), key));
        b64 = 1;
    }
    if (!v)
        return KRC_ENOTFOUND;
    if (!b64)
        return krc_strbuf_adds(out, v);
    char *dec = NULL;
    size_t n = 0;
    if (krc_base64_decode(v, strlen(v), &dec, &n, NULL) != 0)
        return KRC_EINVAL;
    int rc = krc_strbuf_add(out, dec, n);
    free(dec);
    return rc;
}

int krc_volumes_get_key(struct krc_agent *a, const char *kind, const char *ns, const char *name,
                        const char *key, struct krc_strbuf *out, struct krc_error *err)
{
    json_t *obj = NULL;
    int rc = get_object(a, kind, ns, name, &obj, err);
    if (rc == 0) {
        rc = object_key(obj, strcmp(kind, "secrets") == 0, key, out);
        if (rc == KRC_ENOTFOUND)
            krc_error_set(err, rc, "%s %s/%s: no key %s", kind, ns, name, key);
    }
    json_decref(obj);
    return rc;
}

/* configMap or secret (or the projected form of either) into dir. */
static int write_keys(struct krc_agent *a, const char *ns, json_t *src, int secret, int mode,
                      const char *dir, struct krc_error *err)
{
    const char *name = krc_json_str(src, secret ? "secretName" : "name");
    if (!name)
        name = krc_json_str(src, "name");
    int optional = json_is_true(json_object_get(src, "optional"));
    json_t *obj = NULL;
    int rc = get_object(a, secret ? "secrets" : "configmaps", ns, name ? name : "", &obj, err);
    if (rc == KRC_ENOTFOUND && optional)
        return 0;
    if (rc != 0)
        return rc;
    if (json_is_integer(json_object_get(src, "defaultMode")))
        mode = (int)json_integer_value(json_object_get(src, "defaultMode"));
    json_t *items = json_object_get(src, "items");
    size_t i;
    json_t *it;
    if (json_array_size(items) > 0) {
        json_array_foreach(items, i, it)
        {
            struct krc_strbuf v = KRC_STRBUF_INIT;
            const char *key = krc_json_str(it, "key"), *path = krc_json_str(it, "path");
            int m = (int)krc_json_int(it, "mode", mode);
            rc = key && path ? object_key(obj, secret, key, &v) : KRC_EINVAL;
            if (rc == 0)
                rc = write_file(dir, path, v.buf, v.len, m, err);
            else if (rc != KRC_EIO)
                krc_error_set(err, rc, "volume %s: key %s: missing", name, key ? key : "?");
            krc_strbuf_release(&v);
            if (rc != 0)
                break;
        }
    } else {
        const char *fields[2] = {"data", secret ? NULL : "binaryData"};
        for (int f = 0; f < 2 && rc == 0; f++) {
            const char *key;
            json_t *val;
            if (!fields[f])
                continue;
            json_object_foreach(json_object_get(obj, fields[f]), key, val)
            {
                struct krc_strbuf v = KRC_STRBUF_INIT;
                rc = object_key(obj, secret, key, &v);
                if (rc == 0)
                    rc = write_file(dir, key, v.buf, v.len, mode, err);
                krc_strbuf_release(&v);
                if (rc != 0)
                    break;
            }
        }
    }
    json_decref(obj);
    return rc;
}

static int write_downward(struct krc_agent *a, json_t *pod, json_t *items, const char *dir,
                          struct krc_error *err)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *path = krc_json_str(it, "path");
        const char *field = krc_json_str(it, "fieldRef.fieldPath");
        struct krc_strbuf v = KRC_STRBUF_INIT;
        int rc = field ? krc_containers_fieldref(a, pod, field, "", &v, err)
                       : krc_error_set(err, KRC_EINVAL, "downwardAPI %s: only fieldRef",
                                       path ? path : "?");
        if (rc == 0)
            rc = write_file(dir, path, v.buf, v.len, (int)krc_json_int(it, "mode", 0644), err);
        krc_strbuf_release(&v);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Copies file rel of the previous payload into dir (a token not yet due for refresh). */
static int reuse_file(const char *from, const char *dir, const char *rel, struct krc_error *err)
{
    char path[2400];
    struct krc_strbuf content;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", from, rel) >= sizeof(path))
        return krc_error_set(err, KRC_EINVAL, "volume file %s: path too long", rel);
    krc_strbuf_init(&content, 1 << 20);
    int rc = krc_file_read(path, 1 << 20, &content, err);
    if (rc == 0)
        rc = write_file(dir, rel, content.buf, content.len, 0644, err);
    krc_strbuf_release(&content);
    return rc;
}

/* Requests a token for the pod's service account and writes it; *exp_s is its lifetime. With
 * reuse (the current payload) the token there is kept instead, and *exp_s is 0. */
static int write_token(struct krc_agent *a, json_t *pod, json_t *src, const char *dir,
                       const char *reuse, long long *exp_s, struct krc_error *err)
{
    const char *ns = krc_json_str(pod, "metadata.namespace");
    const char *sa = krc_json_str(pod, "spec.serviceAccountName");
    const char *audience = krc_json_str(src, "audience");
    const char *path = krc_json_str(src, "path");
    long long exp = krc_json_int(src, "expirationSeconds", 3600);
    *exp_s = 0;
    if (reuse && reuse_file(reuse, dir, path ? path : "token", err) == 0)
        return 0;
    *exp_s = exp;
    json_t *req =
        json_pack("{s:s,s:s,s:{s:I,s:{s:s,s:s,s:s,s:s}}}", "apiVersion", "authentication.k8s.io/v1",
                  "kind", "TokenRequest", "spec", "expirationSeconds", (json_int_t)exp,
                  "boundObjectRef", "kind", "Pod", "apiVersion", "v1", "name",
                  krc_json_str(pod, "metadata.name"), "uid", krc_json_str(pod, "metadata.uid"));
    if (!req)
        return krc_error_set(err, KRC_ENOMEM, "token request: out of memory");
    if (audience)
        json_object_set_new(json_object_get(req, "spec"), "audiences", json_pack("[s]", audience));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    struct krc_resource res = {"", "v1", "serviceaccounts", 1};
    struct krc_request r = {.method = "POST",
                            .res = &res,
                            .ns = ns,
                            .name = sa ? sa : "default",
                            .subresource = "token",
                            .content_type = "application/json",
                            .body = body,
                            .body_len = body ? strlen(body) : 0};
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *doc = NULL;
    int rc = body ? krc_client_do(a->client, &r, &out, err) : KRC_ENOMEM;
    if (rc == 0)
        rc = krc_client_parse_json(&out, &doc, err);
    if (rc == 0) {
        const char *tok = krc_json_str(doc, "status.token");
        /* the API server may shorten the lifetime (or extend it: --service-account-extend-token-
         * expiration), and says so in expirationTimestamp */
        int64_t until = krc_volrefresh_parse_time(krc_json_str(doc, "status.expirationTimestamp"));
        if (until > 0 && until > krc_agent_now())
            *exp_s = until - krc_agent_now();
        rc = tok ? write_file(dir, path ? path : "token", tok, strlen(tok), 0644, err)
                 : krc_error_set(err, KRC_EINVAL, "token request: no token in answer");
    }
    json_decref(doc);
    krc_strbuf_release(&out);
    free(body);
    return rc;
}

/* The files of a configMap, secret, downwardAPI or projected volume into payload; *exp_s is the
 * shortest lifetime of a projected token in it (0: none). */
static int write_contents(struct krc_agent *a, json_t *pod, json_t *vol, const char *payload,
                          const char *reuse_token, long long *exp_s, struct krc_error *err)
{
    const char *ns = krc_json_str(pod, "metadata.namespace");
    json_t *src;
    int rc = 0;
    *exp_s = 0;
    if (mkdirs(payload, 0755) != 0)
        return krc_error_set(err, KRC_EIO, "mkdir %s: %s", payload, strerror(errno));
    if ((src = json_object_get(vol, "configMap")))
        return write_keys(a, ns, src, 0, 0644, payload, err);
    if ((src = json_object_get(vol, "secret")))
        return write_keys(a, ns, src, 1, 0644, payload, err);
    if ((src = json_object_get(vol, "downwardAPI")))
        return write_downward(a, pod, json_object_get(src, "items"), payload, err);
    src = json_object_get(vol, "projected");
    size_t i;
    json_t *s;
    int mode = (int)krc_json_int(src, "defaultMode", 0644);
    json_array_foreach(json_object_get(src, "sources"), i, s)
    {
        json_t *x;
        long long exp = 0;
        if ((x = json_object_get(s, "serviceAccountToken")))
            rc = write_token(a, pod, x, payload, reuse_token, &exp, err);
        else if ((x = json_object_get(s, "configMap")))
            rc = write_keys(a, ns, x, 0, mode, payload, err);
        else if ((x = json_object_get(s, "secret")))
            rc = write_keys(a, ns, x, 1, mode, payload, err);
        else if ((x = json_object_get(s, "downwardAPI")))
            rc = write_downward(a, pod, json_object_get(x, "items"), payload, err);
        if (exp > 0 && (*exp_s == 0 || exp < *exp_s))
            *exp_s = exp;
        if (rc != 0)
            break;
    }
    return rc;
}

/* An order-independent digest of the files under dir (relative path, mode, content): equal
 * digests mean a refresh changed nothing and need not be published. */
static uint64_t tree_digest(const char *dir, const char *rel, int depth)
{
    char path[2200], sub[1024];
    uint64_t sum = 0;
    snprintf(path, sizeof(path), "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    struct dirent *e;
    if (!d || depth > WALK_DEPTH_MAX) {
        if (d)
            closedir(d);
        return 0;
    }
    while ((e = readdir(d))) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, sub);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            sum += tree_digest(dir, sub, depth + 1);
            continue;
        }
        uint64_t h = krc_fnv1a64_str(KRC_FNV1A64_INIT, sub);
        h = krc_fnv1a64(h, &st.st_mode, sizeof(st.st_mode));
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char buf[4096];
        ssize_t n;
        while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
            h = krc_fnv1a64(h, buf, (size_t)n);
        if (fd >= 0)
            close(fd);
        sum += h;
    }
    closedir(d);
    return sum;
}

static int remove_tree(const char *root);

/* Makes payload (a directory name in dir) the volume's content: ..data is swapped to it in one
 * rename, then everything else is tidied: older payloads deleted, top-level names pointing into
 * ..data for what the payload has, and names (or plain files of an older layout) it no longer
 * has removed. */
static int publish(const char *dir, const char *payload, struct krc_error *err)
{
    char path[1024], tmp[1024], link[1024];
    snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
    snprintf(path, sizeof(path), "%s/..data", dir);
    unlink(tmp);
    if (symlink(payload, tmp) != 0 || rename(tmp, path) != 0)
        return krc_error_set(err, KRC_EIO, "publish %s/%s: %s", dir, payload, strerror(errno));
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return krc_error_set(err, KRC_EIO, "open %s: %s", dir, strerror(errno));
    while ((e = readdir(d))) {
        struct stat st;
        const char *n = e->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, "..data") == 0 ||
            strcmp(n, payload) == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, n);
        if (strncmp(n, "..", 2) == 0 || lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
            remove_tree(path); /* an old payload, or a file of the non-atomic layout */
        else if (stat(path, &st) != 0)
            unlink(path); /* a name the new payload does not have */
    }
    closedir(d);
    snprintf(path, sizeof(path), "%s/%s", dir, payload);
    if (!(d = opendir(path)))
        return krc_error_set(err, KRC_EIO, "open %s: %s", path, strerror(errno));
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        snprintf(link, sizeof(link), "..data/%s", e->d_name);
        if (symlink(link, path) != 0 && errno != EEXIST)
            KRC_LOG_WARN("could not link a volume entry", "path", path, "error", strerror(errno));
    }
    closedir(d);
    return 0;
}

/* Writes the volume of entry into a new payload and publishes it if it differs. */
static int refresh_one(struct krc_agent *a, json_t *pod, struct krc_podvolumes *v, json_t *entry,
                       struct krc_error *err)
{
    const char *dir = json_string_value(json_object_get(entry, "dir"));
    const char *old = json_string_value(json_object_get(entry, "payload"));
    char name[PAYLOAD_NAME_MAX], payload[1200];
    struct tm tm;
    time_t now = time(NULL);
    long long exp_s = 0;
    int64_t now_ms = krc_agent_now_ms();
    gmtime_r(&now, &tm);
    snprintf(name, sizeof(name), "..%04d_%02d_%02d_%02d_%02d_%02d.%u", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ++v->seq);
    snprintf(payload, sizeof(payload), "%s/%s", dir, name);
    /* a token is requested only when due: other content changes keep the current one */
    int64_t token_ms = json_integer_value(json_object_get(entry, "token_ms"));
    char current[1200];
    snprintf(current, sizeof(current), "%s/%s", dir, old ? old : "");
    int reuse = old && *old && token_ms && now_ms < token_ms;
    int rc = write_contents(a, pod, json_object_get(entry, "vol"), payload, reuse ? current : NULL,
                            &exp_s, err);
    uint64_t digest = rc == 0 ? tree_digest(payload, "", 0) : 0;
    int changed =
        rc == 0 && (!old || !*old ||
                    (json_int_t)digest != json_integer_value(json_object_get(entry, "digest")));
    if (rc == 0 && changed)
        rc = publish(dir, name, err);
    if (rc != 0 || !changed)
        remove_tree(payload);
    if (rc == 0 && changed) {
        json_object_set_new(entry, "payload", json_string(name));
        json_object_set_new(entry, "digest", json_integer((json_int_t)digest));
    }
    /* checked again after the interval even after a failure (the API may be back by then) */
    json_object_set_new(entry, "next_ms",
                        json_integer(now_ms + (int64_t)a->cfg.volume_refresh_s * 1000));
    if (rc != 0 && token_ms && token_ms <= now_ms) /* a due token: retry with the content */
        json_object_set_new(entry, "token_ms",
                            json_integer(now_ms + (int64_t)a->cfg.volume_refresh_s * 1000));
    if (rc == 0 && exp_s > 0)
        json_object_set_new(
            entry, "token_ms",
            json_integer(krc_volrefresh_token_at(now_ms, exp_s, a->cfg.token_refresh_fraction)));
    return rc;
}

int krc_volumes_refresh(struct krc_agent *a, json_t *pod, struct krc_podvolumes *v,
                        struct krc_error *err)
{
    size_t i;
    json_t *entry;
    int rc = 0;
    int64_t now = krc_agent_now_ms();
    json_array_foreach(v->refresh, i, entry)
    {
        int64_t next = json_integer_value(json_object_get(entry, "next_ms"));
        int64_t token = json_integer_value(json_object_get(entry, "token_ms"));
        if (now < next && (!token || now < token))
            continue;
        int r = refresh_one(a, pod, v, entry, err);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

int64_t krc_volumes_next_refresh_ms(const struct krc_podvolumes *v)
{
    size_t i;
    json_t *entry;
    int64_t next = 0;
    json_array_foreach(v->refresh, i, entry)
    {
        int64_t at = json_integer_value(json_object_get(entry, "next_ms"));
        int64_t token = json_integer_value(json_object_get(entry, "token_ms"));
        if (token && token < at)
            at = token;
        if (at <= 0)
            at = 1; /* never checked yet: due now */
        if (!next || at < next)
            next = at;
    }
    return next;
}

static const char *keep(struct krc_podvolumes *v, const char *s)
{
    if (v->n_strings >= sizeof(v->strings) / sizeof(v->strings[0]))
        return NULL;
    char *d = strdup(s);
    if (d)
        v->strings[v->n_strings++] = d;
    return d;
}

static int prepare_volume(struct krc_agent *a, json_t *pod, json_t *vol, struct krc_podvolumes *v,
                          struct krc_error *err)
{
    const char *name = krc_json_str(vol, "name");
    char dir[1024];
    json_t *src;
    if (!name)
        return krc_error_set(err, KRC_EINVAL, "volume without a name");
    snprintf(dir, sizeof(dir), "%s/%s", v->root, name);
    if ((src = json_object_get(vol, "emptyDir"))) {
        const char *medium = krc_json_str(src, "medium");
        if (medium && strcmp(medium, "Memory") == 0) {
            struct krc_quantity q;
            int64_t size = 0;
            const char *limit = krc_json_str(src, "sizeLimit");
            if (limit && krc_quantity_parse(limit, &q, NULL) == 0)
                krc_quantity_value(&q, &size, NULL);
            json_object_set_new(v->vols, name,
                                json_pack("{s:n,s:I}", "path", "tmpfs", (json_int_t)size));
            return 0;
        }
    } else if ((src = json_object_get(vol, "hostPath"))) {
        const char *p = krc_json_str(src, "path");
        const char *type = krc_json_str(src, "type");
        if (!p)
            return krc_error_set(err, KRC_EINVAL, "volume %s: hostPath without path", name);
        if (type && strcmp(type, "DirectoryOrCreate") == 0)
            mkdirs(p, 0755);
        json_object_set_new(v->vols, name, json_pack("{s:s}", "path", p));
        return 0;
    }
    if (mkdirs(dir, 0755) != 0)
        return krc_error_set(err, KRC_EIO, "volume %s: mkdir %s: %s", name, dir, strerror(errno));
    int rc = 0;
    if (json_object_get(vol, "configMap") || json_object_get(vol, "secret") ||
        json_object_get(vol, "downwardAPI") || json_object_get(vol, "projected")) {
        json_t *entry =
            json_pack("{s:O,s:s,s:s,s:I,s:I,s:I}", "vol", vol, "dir", dir, "payload", "", "digest",
                      (json_int_t)0, "next_ms", (json_int_t)0, "token_ms", (json_int_t)0);
        rc = entry && json_array_append_new(v->refresh, entry) == 0
                 ? refresh_one(a, pod, v, entry, err)
                 : krc_error_set(err, KRC_ENOMEM, "out of memory");
    } else if (!json_object_get(vol, "emptyDir")) {
        rc = krc_error_set(err, KRC_EINVAL, "volume %s: unsupported volume type", name);
    }
    if (rc == 0)
        json_object_set_new(v->vols, name, json_pack("{s:s}", "path", dir));
    else
        krc_error_wrap(err, rc, "volume %s", name);
    return rc;
}

static int add_mounts(struct krc_podvolumes *v, json_t *container, struct krc_error *err)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(container, "volumeMounts"), i, m)
    {
        const char *name = krc_json_str(m, "name"), *target = krc_json_str(m, "mountPath");
        const char *sub = krc_json_str(m, "subPath");
        json_t *vol = json_object_get(v->vols, name ? name : "");
        if (!vol || !target)
            return krc_error_set(err, KRC_EINVAL, "volumeMount %s: no such volume",
                                 name ? name : "?");
        int dup = 0;
        for (size_t k = 0; k < v->n; k++)
            dup |= strcmp(v->mounts[k].target, target) == 0;
        if (dup)
            continue;
        if (v->n >= KRC_POD_MAX_MOUNTS)
            return krc_error_set(err, KRC_EINVAL, "too many volumeMounts");
        struct krc_pod_mount *pm = &v->mounts[v->n];
        memset(pm, 0, sizeof(*pm));
        const char *path = krc_json_str(vol, "path");
        if (!path) {
            pm->tmpfs_size = (uint64_t)krc_json_int(vol, "tmpfs", 0);
            if (strcmp(target, "/dev/shm") == 0)
                v->shm_size = pm->tmpfs_size;
        } else {
            char src[1024];
            if (sub && (strstr(sub, "..") || sub[0] == '/'))
                return krc_error_set(err, KRC_EINVAL, "volumeMount %s: bad subPath", name);
            snprintf(src, sizeof(src), "%s%s%s", path, sub ? "/" : "", sub ? sub : "");
            if (sub && access(src, F_OK) != 0)
                mkdirs(src, 0755);
            pm->source = keep(v, src);
        }
        pm->target = keep(v, target);
        pm->read_only = json_is_true(json_object_get(m, "readOnly"));
        v->n++;
    }
    return 0;
}

int krc_volumes_prepare(struct krc_agent *a, json_t *pod, struct krc_podvolumes **out,
                        struct krc_error *err)
{
    struct krc_podvolumes *v = calloc(1, sizeof(*v));
    if (!v)
        return krc_error_set(err, KRC_ENOMEM, "volumes: out of memory");
    v->vols = json_object();
    v->refresh = json_array();
    snprintf(v->root, sizeof(v->root), "%s/volumes/%s", krc_node_state_root(a->node),
             krc_json_str(pod, "metadata.uid"));
    int rc = mkdirs(v->root, 0755) == 0
                 ? 0
                 : krc_error_set(err, KRC_EIO, "volumes: mkdir %s: %s", v->root, strerror(errno));
    size_t i;
    json_t *x;
    json_t *spec = json_object_get(pod, "spec");
    json_array_foreach(json_object_get(spec, "volumes"), i, x)
    {
        if (rc == 0)
            rc = prepare_volume(a, pod, x, v, err);
    }
    const char *lists[2] = {"initContainers", "containers"};
    for (int l = 0; l < 2 && rc == 0; l++) {
        json_array_foreach(json_object_get(spec, lists[l]), i, x)
        {
            if (rc == 0)
                rc = add_mounts(v, x, err);
        }
    }
    if (rc != 0) {
        krc_volumes_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

int krc_volumes_mounts(struct krc_podvolumes *v, const struct krc_pod_mount **mounts, size_t *n,
                       uint64_t *shm_size)
{
    *mounts = v->mounts;
    *n = v->n;
    *shm_size = v->shm_size;
    return 0;
}

void krc_volumes_free(struct krc_podvolumes *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n_strings; i++)
        free(v->strings[i]);
    json_decref(v->vols);
    json_decref(v->refresh);
    free(v);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int remove_tree(const char *root)
{
    if (access(root, F_OK) != 0)
        return 0;
    return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0 ? 0 : KRC_EIO;
}

int krc_volumes_remove(struct krc_agent *a, const char *uid)
{
    char root[1024];
    snprintf(root, sizeof(root), "%s/volumes/%s", krc_node_state_root(a->node), uid);
    return remove_tree(root);
}

int krc_volumes_remove_all(const char *state_root)
{
    char root[1024];
    snprintf(root, sizeof(root), "%s/volumes", state_root);
    return remove_tree(root);
}
