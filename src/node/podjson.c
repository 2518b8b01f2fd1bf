/* podjson.c - JSON encoding and hostile-input decoding of sandbox records, container specs and
 * statuses, plus atomic file replacement (see podjson.h). */
#include "node/podjson.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    FILE_MAX = 1 << 20,
    STRING_MAX = 4096, /* paths, hostnames, messages */
    ARG_MAX_LEN = 128 * 1024,
};

const char *krc_container_state_name(enum krc_container_state s)
{
    switch (s) {
    case KRC_CONTAINER_RUNNING:
        return "running";
    case KRC_CONTAINER_EXITED:
        return "exited";
    default:
        return "unknown";
    }
}

static enum krc_container_state state_from_name(const char *s)
{
    if (strcmp(s, "running") == 0)
        return KRC_CONTAINER_RUNNING;
    if (strcmp(s, "exited") == 0)
        return KRC_CONTAINER_EXITED;
    return KRC_CONTAINER_UNKNOWN;
}

int krc_podjson_valid_label(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

int krc_podjson_valid_uid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* --- decoding helpers: each names the field it rejects --- */

static int get_str(json_t *obj, const char *key, int required, size_t max, const char **out,
                   struct krc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = NULL;
        return required ? krc_error_set(err, KRC_EINVAL, "field %s: missing", key) : 0;
    }
    if (!json_is_string(v))
        return krc_error_set(err, KRC_EINVAL, "field %s: not a string", key);
    if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v))
        return krc_error_set(err, KRC_EINVAL, "field %s: too long or contains NUL", key);
    *out = json_string_value(v);
    return 0;
}

static int get_int(json_t *obj, const char *key, long long min, long long max, long long *out,
                   struct krc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v))
        return krc_error_set(err, KRC_EINVAL, "field %s: not an integer", key);
    long long x = json_integer_value(v);
    if (x < min || x > max)
        return krc_error_set(err, KRC_EINVAL, "field %s: %lld out of range", key, x);
    *out = x;
    return 0;
}

static int get_bool(json_t *obj, const char *key, int *out, struct krc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (!json_is_boolean(v))
        return krc_error_set(err, KRC_EINVAL, "field %s: not a boolean", key);
    *out = json_is_true(v);
    return 0;
}

/* --- sandbox record --- */

static int set_new(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

int krc_podjson_record_encode(const struct krc_sandbox_record *r, json_t **out,
                              struct krc_error *err)
{
    const struct krc_sandbox_spec *s = &r->spec;
    json_t *doc = json_object(), *mounts = json_array(), *cgroups = json_array();
    int bad = !doc || !mounts || !cgroups;
    for (size_t i = 0; !bad && i < s->n_mounts; i++) {
        const struct krc_pod_mount *m = &s->mounts[i];
        json_t *jm = json_object();
        /* append first: the array owns jm from here on, whatever fails next */
        bad = json_array_append_new(mounts, jm) || set_new(jm, "source", str_or_null(m->source)) ||
              set_new(jm, "target", str_or_null(m->target)) ||
              set_new(jm, "read_only", json_boolean(m->read_only)) ||
              set_new(jm, "tmpfs_size", json_integer((json_int_t)m->tmpfs_size));
    }
    for (size_t i = 0; !bad && i < r->n_cgroups; i++)
        bad = json_array_append_new(cgroups, json_string(r->cgroups[i]));
    bad = bad || set_new(doc, "uid", str_or_null(s->uid)) ||
          set_new(doc, "name", str_or_null(s->name)) ||
          set_new(doc, "namespace", str_or_null(s->namespace_)) ||
          set_new(doc, "hostname", str_or_null(s->hostname)) ||
          set_new(doc, "ip", str_or_null(s->ip)) ||
          set_new(doc, "gateway", str_or_null(r->gateway)) ||
          set_new(doc, "prefix", json_integer(r->prefix)) ||
          set_new(doc, "bridge", str_or_null(r->bridge)) ||
          set_new(doc, "veth", str_or_null(r->veth)) ||
          set_new(doc, "path", str_or_null(r->path)) ||
          set_new(doc, "shm_size", json_integer((json_int_t)s->shm_size)) ||
          set_new(doc, "tmp_size", json_integer((json_int_t)s->tmp_size)) ||
          set_new(doc, "memory_limit", json_integer(s->memory_limit)) ||
          set_new(doc, "cpu_limit_millis", json_integer(s->cpu_limit_millis)) ||
          set_new(doc, "cpu_request_millis", json_integer(s->cpu_request_millis)) ||
          set_new(doc, "grace_seconds", json_integer(s->grace_seconds)) ||
          json_object_set(doc, "mounts", mounts) || json_object_set(doc, "cgroups", cgroups) ||
          set_new(doc, "pid", json_integer(r->pid)) ||
          set_new(doc, "start_time", json_integer((json_int_t)r->start_time));
    json_decref(mounts);
    json_decref(cgroups);
    if (bad) {
        json_decref(doc);
        return krc_error_set(err, KRC_ENOMEM, "sandbox %s: encode record: out of memory",
                             s->uid ? s->uid : "?");
    }
    *out = doc;
    return 0;
}

static int decode_mounts(json_t *arr, struct krc_sandbox_record *r, struct krc_error *err)
{
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > KRC_POD_MAX_MOUNTS)
        return krc_error_set(err, KRC_EINVAL, "field mounts: not an array of at most %d",
                             KRC_POD_MAX_MOUNTS);
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    r->mounts_buf = calloc(n, sizeof(*r->mounts_buf));
    if (!r->mounts_buf)
        return krc_error_set(err, KRC_ENOMEM, "field mounts: out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *jm = json_array_get(arr, i);
        struct krc_pod_mount *m = &r->mounts_buf[i];
        long long size = 0;
        int rc;
        if (!json_is_object(jm))
            return krc_error_set(err, KRC_EINVAL, "field mounts[%zu]: not an object", i);
        if ((rc = get_str(jm, "source", 0, STRING_MAX, &m->source, err)) ||
            (rc = get_str(jm, "target", 1, STRING_MAX, &m->target, err)) ||
            (rc = get_bool(jm, "read_only", &m->read_only, err)) ||
            (rc = get_int(jm, "tmpfs_size", 0, INT64_MAX, &size, err)))
            return krc_error_wrap(err, rc, "field mounts[%zu]", i);
        m->tmpfs_size = (uint64_t)size;
    }
    r->spec.mounts = r->mounts_buf;
    r->spec.n_mounts = n;
    return 0;
}

int krc_podjson_record_decode(json_t *doc, struct krc_sandbox_record *r, struct krc_error *err)
{
    struct krc_sandbox_spec *s = &r->spec;
    long long prefix = 0, shm = 0, tmp = 0, mem = 0, cpu = 0, cpureq = 0, grace = 0, pid = 0,
              start = 0;
    int rc;
    memset(r, 0, sizeof(*r));
    if (!json_is_object(doc))
        return krc_error_set(err, KRC_EINVAL, "sandbox record: not an object");
    if ((rc = get_str(doc, "uid", 1, 64, &s->uid, err)) ||
        (rc = get_str(doc, "name", 1, 253, &s->name, err)) ||
        (rc = get_str(doc, "namespace", 0, 253, &s->namespace_, err)) ||
        (rc = get_str(doc, "hostname", 0, 63, &s->hostname, err)) ||
        (rc = get_str(doc, "ip", 0, 15, &s->ip, err)) ||
        (rc = get_str(doc, "gateway", 0, 15, &r->gateway, err)) ||
        (rc = get_int(doc, "prefix", 0, 32, &prefix, err)) ||
        (rc = get_str(doc, "bridge", 0, 15, &r->bridge, err)) ||
        (rc = get_str(doc, "veth", 0, 15, &r->veth, err)) ||
        (rc = get_str(doc, "path", 0, STRING_MAX, &r->path, err)) ||
        (rc = get_int(doc, "shm_size", 0, INT64_MAX, &shm, err)) ||
        (rc = get_int(doc, "tmp_size", 0, INT64_MAX, &tmp, err)) ||
        (rc = get_int(doc, "memory_limit", 0, INT64_MAX, &mem, err)) ||
        (rc = get_int(doc, "cpu_limit_millis", 0, 1000000000, &cpu, err)) ||
        (rc = get_int(doc, "cpu_request_millis", 0, 1000000000, &cpureq, err)) ||
        (rc = get_int(doc, "grace_seconds", 0, 1000000000, &grace, err)) ||
        (rc = get_int(doc, "pid", 0, 1 << 30, &pid, err)) ||
        (rc = get_int(doc, "start_time", 0, INT64_MAX, &start, err)))
        goto fail;
    if (!krc_podjson_valid_uid(s->uid)) {
        rc = krc_error_set(err, KRC_EINVAL, "field uid: %s is not a valid pod uid", s->uid);
        goto fail;
    }
    r->prefix = (int)prefix;
    s->shm_size = (uint64_t)shm;
    s->tmp_size = (uint64_t)tmp;
    s->memory_limit = mem;
    s->cpu_limit_millis = (int)cpu;
    s->cpu_request_millis = (int)cpureq;
    s->grace_seconds = (int)grace;
    r->pid = (int)pid;
    r->start_time = (unsigned long long)start;
    json_t *cg = json_object_get(doc, "cgroups");
    if (cg && !json_is_null(cg)) {
        if (!json_is_array(cg) || json_array_size(cg) > KRC_SANDBOX_MAX_CGROUPS) {
            rc = krc_error_set(err, KRC_EINVAL, "field cgroups: not an array of at most %d",
                               KRC_SANDBOX_MAX_CGROUPS);
            goto fail;
        }
        for (size_t i = 0; i < json_array_size(cg); i++) {
            json_t *v = json_array_get(cg, i);
            if (!json_is_string(v) || json_string_length(v) > STRING_MAX ||
                json_string_value(v)[0] != '/') {
                rc = krc_error_set(err, KRC_EINVAL, "field cgroups[%zu]: not an absolute path", i);
                goto fail;
            }
            r->cgroups[r->n_cgroups++] = json_string_value(v);
        }
    }
    rc = decode_mounts(json_object_get(doc, "mounts"), r, err);
    if (rc == 0)
        return 0;
fail:
    krc_podjson_record_release(r);
    return krc_error_wrap(err, rc, "sandbox record");
}

void krc_podjson_record_release(struct krc_sandbox_record *r)
{
    free(r->mounts_buf);
    r->mounts_buf = NULL;
    r->spec.mounts = NULL;
    r->spec.n_mounts = 0;
}

/* --- container spec --- */

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (!v[i] || json_array_append_new(arr, json_string(v[i]))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int krc_podjson_container_spec_encode(const struct krc_container_spec *c, json_t **out,
                                      struct krc_error *err)
{
    json_t *doc = json_object();
    if (!doc || set_new(doc, "name", str_or_null(c->name)) ||
        set_new(doc, "argv", string_array(c->argv, c->argc)) ||
        set_new(doc, "env", string_array(c->env, c->envc)) ||
        set_new(doc, "workdir", str_or_null(c->workdir))) {
        json_decref(doc);
        return krc_error_set(err, KRC_ENOMEM, "container %s: encode: out of memory or bad string",
                             c->name ? c->name : "?");
    }
    *out = doc;
    return 0;
}

/* Checks arr is an array of at most KRC_POD_MAX_ARGS strings; returns its size or a KRC code. */
static long string_array_size(json_t *arr, const char *key, struct krc_error *err)
{
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > KRC_POD_MAX_ARGS)
        return krc_error_set(err, KRC_EINVAL, "field %s: not an array of at most %d strings", key,
                             KRC_POD_MAX_ARGS);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) || json_string_length(v) > ARG_MAX_LEN ||
            strlen(json_string_value(v)) != json_string_length(v))
            return krc_error_set(err, KRC_EINVAL, "field %s[%zu]: not a string without NUL", key,
                                 i);
    }
    return (long)json_array_size(arr);
}

int krc_podjson_container_spec_decode(json_t *doc, struct krc_container_spec_buf *out,
                                      struct krc_error *err)
{
    struct krc_container_spec *c = &out->spec;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(doc))
        return krc_error_set(err, KRC_EINVAL, "container spec: not an object");
    int rc = get_str(doc, "name", 1, KRC_POD_NAME_MAX - 1, &c->name, err);
    if (rc == 0)
        rc = get_str(doc, "workdir", 0, STRING_MAX, &c->workdir, err);
    if (rc)
        return krc_error_wrap(err, rc, "container spec");
    if (!krc_podjson_valid_label(c->name))
        return krc_error_set(err, KRC_EINVAL, "container %s: name is not a DNS label", c->name);
    json_t *argv = json_object_get(doc, "argv"), *env = json_object_get(doc, "env");
    long argc = string_array_size(argv, "argv", err);
    if (argc < 0)
        return krc_error_wrap(err, (int)argc, "container %s", c->name);
    long envc = string_array_size(env, "env", err);
    if (envc < 0)
        return krc_error_wrap(err, (int)envc, "container %s", c->name);
    if (argc == 0 || json_string_length(json_array_get(argv, 0)) == 0)
        return krc_error_set(err, KRC_EINVAL, "container %s: no command", c->name);
    if (c->workdir && c->workdir[0] != '/')
        return krc_error_set(err, KRC_EINVAL, "container %s: workingDir %s is not absolute",
                             c->name, c->workdir);
    out->argv_env = calloc((size_t)(argc + envc + 2), sizeof(*out->argv_env));
    if (!out->argv_env)
        return krc_error_set(err, KRC_ENOMEM, "container %s: out of memory", c->name);
    for (long i = 0; i < argc; i++)
        out->argv_env[i] = json_string_value(json_array_get(argv, (size_t)i));
    for (long i = 0; i < envc; i++) {
        const char *e = json_string_value(json_array_get(env, (size_t)i));
        const char *eq = strchr(e, '=');
        if (!eq || eq == e) {
            krc_podjson_container_spec_release(out);
            return krc_error_set(err, KRC_EINVAL, "container %s: env[%ld] is not NAME=VALUE",
                                 c->name, i);
        }
        out->argv_env[argc + 1 + i] = e;
    }
    c->argv = out->argv_env;
    c->argc = (size_t)argc;
    c->env = out->argv_env + argc + 1;
    c->envc = (size_t)envc;
    return 0;
}

void krc_podjson_container_spec_release(struct krc_container_spec_buf *b)
{
    free(b->argv_env);
    b->argv_env = NULL;
}

/* --- container status --- */

int krc_podjson_status_encode(const struct krc_container_status *s, json_t **out,
                              struct krc_error *err)
{
    json_t *doc =
        json_pack("{s:s, s:s, s:i, s:i, s:i, s:I, s:I, s:i, s:b, s:s}", "name", s->name, "state",
                  krc_container_state_name(s->state), "pid", s->pid, "exit_code", s->exit_code,
                  "signal", s->signal, "started_at", (json_int_t)s->started_at, "finished_at",
                  (json_int_t)s->finished_at, "restart_count", s->restart_count, "stop_requested",
                  s->stop_requested, "message", s->message);
    if (!doc)
        return krc_error_set(err, KRC_ENOMEM, "container %s: encode status: out of memory",
                             s->name);
    *out = doc;
    return 0;
}

static void copy_bounded(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

int krc_podjson_status_decode(json_t *doc, struct krc_container_status *out, struct krc_error *err)
{
    const char *name, *state, *message;
    long long pid = 0, code = 0, sig = 0, started = 0, finished = 0, restarts = 0;
    int rc;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(doc))
        return krc_error_set(err, KRC_EINVAL, "container status: not an object");
    if ((rc = get_str(doc, "name", 1, KRC_POD_NAME_MAX - 1, &name, err)) ||
        (rc = get_str(doc, "state", 1, 16, &state, err)) ||
        (rc = get_int(doc, "pid", 0, 1 << 30, &pid, err)) ||
        (rc = get_int(doc, "exit_code", 0, 255, &code, err)) ||
        (rc = get_int(doc, "signal", 0, 64, &sig, err)) ||
        (rc = get_int(doc, "started_at", 0, INT64_MAX, &started, err)) ||
        (rc = get_int(doc, "finished_at", 0, INT64_MAX, &finished, err)) ||
        (rc = get_int(doc, "restart_count", 0, 1 << 30, &restarts, err)) ||
        (rc = get_bool(doc, "stop_requested", &out->stop_requested, err)) ||
        (rc = get_str(doc, "message", 0, STRING_MAX, &message, err)))
        return krc_error_wrap(err, rc, "container status");
    copy_bounded(out->name, sizeof(out->name), name);
    out->state = state_from_name(state);
    out->pid = (int)pid;
    out->exit_code = (int)code;
    out->signal = (int)sig;
    out->started_at = started;
    out->finished_at = finished;
    out->restart_count = (int)restarts;
    copy_bounded(out->message, sizeof(out->message), message);
    return 0;
}

int krc_podjson_status_array_decode(json_t *arr, struct krc_container_status **out, size_t *n,
                                    struct krc_error *err)
{
    if (!json_is_array(arr) || json_array_size(arr) > KRC_POD_MAX_CONTAINERS)
        return krc_error_set(err, KRC_EINVAL, "containers: not an array of at most %d",
                             KRC_POD_MAX_CONTAINERS);
    size_t count = json_array_size(arr);
    struct krc_container_status *v = calloc(count ? count : 1, sizeof(*v));
    if (!v)
        return krc_error_set(err, KRC_ENOMEM, "containers: out of memory");
    for (size_t i = 0; i < count; i++) {
        int rc = krc_podjson_status_decode(json_array_get(arr, i), &v[i], err);
        if (rc) {
            free(v);
            return rc;
        }
    }
    *out = v;
    *n = count;
    return 0;
}

/* --- files --- */

int krc_podjson_read_file(int dirfd, const char *name, json_t **out, struct krc_error *err)
{
    int rc = 0;
    char *buf = NULL;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return krc_error_set(err, errno == ENOENT ? KRC_ENOTFOUND : KRC_EIO, "read %s: %s", name,
                             strerror(errno));
    buf = malloc(FILE_MAX + 1);
    if (!buf) {
        rc = krc_error_set(err, KRC_ENOMEM, "read %s: out of memory", name);
        goto out;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = krc_error_set(err, KRC_EIO, "read %s: %s", name, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > FILE_MAX) {
            rc = krc_error_set(err, KRC_ETOOLARGE, "read %s: larger than %d bytes", name, FILE_MAX);
            goto out;
        }
    }
    json_error_t jerr;
    *out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out)
        rc = krc_error_set(err, KRC_EINVAL, "parse %s: line %d: %s", name, jerr.line, jerr.text);
out:
    free(buf);
    close(fd);
    return rc;
}

int krc_podjson_write_file(int dirfd, const char *name, json_t *doc, struct krc_error *err)
{
    char tmp[256];
    int rc = 0;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= sizeof(tmp))
        return krc_error_set(err, KRC_EINVAL, "write %s: name too long", name);
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text)
        return krc_error_set(err, KRC_ENOMEM, "write %s: encode: out of memory", name);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = krc_error_set(err, KRC_EIO, "write %s: %s", tmp, strerror(errno));
        goto out;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = krc_error_set(err, KRC_EIO, "write %s: %s", tmp, strerror(errno));
            break;
        }
        off += (size_t)n;
    }
    if (close(fd) != 0 && rc == 0)
        rc = krc_error_set(err, KRC_EIO, "write %s: close: %s", tmp, strerror(errno));
    if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
        rc = krc_error_set(err, KRC_EIO, "rename %s: %s", name, strerror(errno));
    if (rc)
        unlinkat(dirfd, tmp, 0);
out:
    free(text);
    return rc;
}
