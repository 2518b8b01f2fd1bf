/* jobgen.c - the pure parts of `job submit` (spec kubectl-ray.md §4.8).
 *
 * The generated RayJob carries exactly KubeRay's fields (its TTL and shutdown flag always
 * present); its rayClusterSpec comes from gen.c. The entrypoint is joined by the caller and
 * split again here with go-shellquote's rules, as KubeRay does, so the words reaching `ray` are
 * the same as with KubeRay (including its loss of the original word boundaries). */
#define _GNU_SOURCE /* getrandom */
#include "cli/jobgen.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int cli_gen_rayjob(const struct cli_job_model *m, json_t **out, struct krc_error *err)
{
    json_t *spec = NULL;
    int rc = cli_gen_cluster_spec(m->cluster, &spec, err);
    if (rc != 0)
        return rc;
    json_t *job =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:I, s:b, s:o}}", "apiVersion",
                  "ray.io/v1", "kind", "RayJob", "metadata", "name", m->name ? m->name : "",
                  "namespace", m->namespace ? m->namespace : "", "spec", "submissionMode",
                  "InteractiveMode", "entrypoint", m->entrypoint ? m->entrypoint : "", "jobId",
                  m->job_id ? m->job_id : "", "ttlSecondsAfterFinished", (json_int_t)m->ttl_seconds,
                  "shutdownAfterJobFinishes", m->shutdown_after_finish, "rayClusterSpec", spec);
    if (!job)
        return krc_error_set(err, KRC_ENOMEM, "out of memory");
    *out = job;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int cli_shell_split(const char *s, json_t **words, char *cause, size_t size)
{
    json_t *arr = json_array();
    struct krc_strbuf w = KRC_STRBUF_INIT;
    const char *p = s;
    int rc = CLI_FAIL;

    if (!arr)
        goto nomem;
    for (;;) {
        while (*p && is_space(*p))
            p++;
        if (!*p)
            break;
        if (*p == '#') { /* a comment runs to the end of the line */
            while (*p && *p != '\n')
                p++;
            continue;
        }
        krc_strbuf_reset(&w);
        while (*p && !is_space(*p)) {
            int add = 0;
            if (*p == '\\') {
                if (!p[1]) {
                    snprintf(cause, size, "EOF found after escape character");
                    goto out;
                }
                add = krc_strbuf_addch(&w, p[1]);
                p += 2;
            } else if (*p == '\'') {
                const char *end = strchr(p + 1, '\'');
                if (!end) {
                    snprintf(cause, size, "EOF found when expecting closing quote");
                    goto out;
                }
                add = krc_strbuf_add(&w, p + 1, (size_t)(end - p - 1));
                p = end + 1;
            } else if (*p == '"') {
                p++;
                while (*p != '"') {
                    if (!*p) {
                        snprintf(cause, size, "EOF found when expecting closing quote");
                        goto out;
                    }
                    if (*p == '\\') {
                        if (!p[1]) {
                            snprintf(cause, size, "EOF found after escape character");
                            goto out;
                        }
                        p++;
                    }
                    if ((add = krc_strbuf_addch(&w, *p++)) != 0)
                        break;
                }
                p++;
            } else {
                add = krc_strbuf_addch(&w, *p++);
            }
            if (add != 0)
                goto nomem;
        }
        if (json_array_append_new(arr, json_string(w.buf)) != 0)
            goto nomem;
    }
    *words = arr;
    arr = NULL;
    rc = 0;
    goto out;
nomem:
    snprintf(cause, size, "out of memory");
out:
    json_decref(arr);
    krc_strbuf_release(&w);
    return rc;
}

static int push(json_t *argv, const char *s)
{
    return json_array_append_new(argv, json_string(s));
}

static int push_opt(json_t *argv, const char *flag, const char *value)
{
    if (!value || !*value)
        return 0;
    return push(argv, flag) || push(argv, value);
}

int cli_submit_argv(const struct cli_submit_opts *o, json_t **out, char *cause, size_t size)
{
    json_t *argv = json_array(), *words = NULL;
    char num[64];
    int bad = !argv;

    bad = bad || push(argv, "ray") || push(argv, "job") || push(argv, "submit") ||
          push_opt(argv, "--address", o->address) ||
          push_opt(argv, "--runtime-env", o->runtime_env) ||
          push_opt(argv, "--runtime-env-json", o->runtime_env_json) ||
          push_opt(argv, "--submission-id", o->submission_id);
    if (!bad && o->entrypoint_num_cpus > 0) {
        snprintf(num, sizeof(num), "%f", o->entrypoint_num_cpus);
        bad = push_opt(argv, "--entrypoint-num-cpus", num);
    }
    if (!bad && o->entrypoint_num_gpus > 0) {
        snprintf(num, sizeof(num), "%f", o->entrypoint_num_gpus);
        bad = push_opt(argv, "--entrypoint-num-gpus", num);
    }
    if (!bad && o->entrypoint_memory > 0) {
        snprintf(num, sizeof(num), "%lld", o->entrypoint_memory);
        bad = push_opt(argv, "--entrypoint-memory", num);
    }
    /* KubeRay passes the singular --entrypoint-resource, which `ray` rejects (spec §4.8 rule 10);
     * the plural is the Ray CLI's option. */
    bad = bad || push_opt(argv, "--entrypoint-resources", o->entrypoint_resources) ||
          push_opt(argv, "--metadata-json", o->metadata_json) ||
          (o->no_wait && push(argv, "--no-wait")) || push_opt(argv, "--headers", o->headers) ||
          push_opt(argv, "--verify", o->verify) || push_opt(argv, "--log-style", o->log_style) ||
          push_opt(argv, "--log-color", o->log_color) || (o->verbose && push(argv, "--verbose")) ||
          push(argv, "--working-dir") || push(argv, o->working_dir ? o->working_dir : "") ||
          push(argv, "--");
    if (bad) {
        snprintf(cause, size, "out of memory");
        json_decref(argv);
        return CLI_FAIL;
    }
    if (cli_shell_split(o->entrypoint ? o->entrypoint : "", &words, cause, size) != 0) {
        json_decref(argv);
        return CLI_FAIL;
    }
    if (json_array_extend(argv, words) != 0) {
        snprintf(cause, size, "out of memory");
        json_decref(words);
        json_decref(argv);
        return CLI_FAIL;
    }
    json_decref(words);
    *out = argv;
    return 0;
}

int cli_submission_id(char *buf, size_t size)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ123456789";
    const size_t n = sizeof(alphabet) - 1;
    /* rejection sampling: bytes >= limit would favour the first characters */
    const unsigned limit = 256 - (256 % n);
    size_t prefix = strlen(CLI_SUBMISSION_ID_PREFIX), k = 0;

    if (size < prefix + CLI_SUBMISSION_ID_LEN + 1)
        return KRC_EINVAL;
    memcpy(buf, CLI_SUBMISSION_ID_PREFIX, prefix);
    while (k < CLI_SUBMISSION_ID_LEN) {
        unsigned char bytes[32];
        ssize_t got = getrandom(bytes, sizeof(bytes), 0);
        if (got <= 0)
            return KRC_EIO;
        for (ssize_t i = 0; i < got && k < CLI_SUBMISSION_ID_LEN; i++)
            if (bytes[i] < limit)
                buf[prefix + k++] = alphabet[bytes[i] % n];
    }
    buf[prefix + k] = '\0';
    return 0;
}

void cli_path_clean(const char *p, char *out, size_t size)
{
    bool rooted = p[0] == '/';
    size_t len = 0;
    const char *s = p;

    if (size < 2) {
        if (size)
            out[0] = '\0';
        return;
    }
    out[0] = '\0';
    if (rooted)
        out[len++] = '/';
    size_t base = len; /* ".." cannot remove what is before base */
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t n = (size_t)(e - s);
        if (n == 0 || (n == 1 && s[0] == '.')) {
            /* skip */
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (len > base) {
                while (len > base && out[len - 1] != '/')
                    len--;
                if (len > base)
                    len--; /* the separator */
            } else if (!rooted) {
                if (len > 0 && len + 1 < size)
                    out[len++] = '/';
                if (len + 2 < size) {
                    out[len++] = '.';
                    out[len++] = '.';
                }
                base = len;
            }
        } else {
            if (len > 0 && out[len - 1] != '/' && len + 1 < size)
                out[len++] = '/';
            for (size_t i = 0; i < n && len + 1 < size; i++)
                out[len++] = s[i];
        }
        s = e;
    }
    if (len == 0)
        out[len++] = '.';
    out[len] = '\0';
}
