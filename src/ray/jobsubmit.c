/* jobsubmit.c - the submitter's shell script (see jobsubmit.h).
 *
 * KubeRay builds a list of tokens and joins it with single spaces; this file appends the same
 * tokens in the same order to one strbuf through add_token(), so an empty token (an empty job ID
 * or entrypoint) still produces its two separators, as strings.Join does. */
#include "ray/jobsubmit.h"

#include "util/gojson.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_DASHBOARD_PORT      8265
#define HEALTH_CHECK_TIMEOUT_S      10
#define HTTP_PREFIX                 "http://"
#define SIDECAR_HOST                "http://127.0.0.1:"
#define METADATA_MIN_MAJOR          2
#define METADATA_MIN_MINOR          6
#define METADATA_MIN_PATCH          0
#define MSG_METADATA_VERSION        "the Ray version must be at least 2.6.0 to use the metadata field"
#define SEMVER_ERR_INVALID          "invalid semantic version"
#define SEMVER_ERR_SEGMENT_ZERO     "version segment starts with 0"
#define SEMVER_ERR_INVALID_PRE      "invalid prerelease string"
#define SEMVER_ERR_INVALID_METADATA "invalid metadata string"

struct script {
    struct krc_strbuf sb;
    bool first;
};

static int add_token(struct script *s, const char *tok)
{
    if (!s->first && krc_strbuf_addch(&s->sb, ' '))
        return KRC_ENOMEM;
    s->first = false;
    return krc_strbuf_adds(&s->sb, tok ? tok : "");
}

static int add_tokens(struct script *s, const char *const *toks)
{
    for (; *toks; toks++) {
        if (add_token(s, *toks))
            return KRC_ENOMEM;
    }
    return 0;
}

/* Appends a token built by quoting raw bytes as strconv.Quote. */
static int add_quoted_token(struct script *s, const char *raw, size_t len)
{
    if (add_token(s, ""))
        return KRC_ENOMEM;
    return gojson_strconv_quote(raw, len, &s->sb);
}

const char *ray_jobsubmit_shell_flag(bool login_shell)
{
    return login_shell ? RAY_SUBMITTER_FLAG_LOGIN : RAY_SUBMITTER_FLAG;
}

bool ray_jobsubmit_login_shell_enabled(const char *env_value)
{
    return env_value && strcasecmp(env_value, "true") == 0;
}

static int sidecar_port(const struct ray_submit_input *in)
{
    return in->dashboard_port > 0 ? in->dashboard_port : DEFAULT_DASHBOARD_PORT;
}

int ray_jobsubmit_address(const struct ray_submit_input *in, struct krc_strbuf *out)
{
    if (in->mode == RAY_SUBMIT_SIDECAR)
        return krc_strbuf_addf(out, SIDECAR_HOST "%d", sidecar_port(in));
    const char *url = in->dashboard_url ? in->dashboard_url : "";
    if (strncmp(url, HTTP_PREFIX, strlen(HTTP_PREFIX)) != 0 && krc_strbuf_adds(out, HTTP_PREFIX))
        return KRC_ENOMEM;
    return krc_strbuf_adds(out, url);
}

/* ---- Masterminds semver v3 (NewVersion, coercing) ------------------------------------------ */

struct semver {
    uint64_t major, minor, patch;
    bool has_pre;
};

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '-';
}

/* Dot-separated non-empty identifiers of [0-9A-Za-z-]: the loose regex's pre-release/metadata. */
static bool loose_idents(const char *p, const char *end)
{
    if (p == end)
        return false;
    const char *start = p;
    for (; p <= end; p++) {
        if (p == end || *p == '.') {
            if (p == start)
                return false;
            start = p + 1;
        } else if (!ident_char(*p)) {
            return false;
        }
    }
    return true;
}

static int parse_u64_segment(const char *p, const char *end, uint64_t *out, struct krc_error *err)
{
    uint64_t v = 0;
    for (const char *q = p; q < end; q++) {
        unsigned d = (unsigned)(*q - '0');
        if (v > (UINT64_MAX - d) / 10)
            return krc_error_set(err, KRC_EINVAL,
                                 "error parsing version segment: strconv.ParseUint: parsing "
                                 "\"%.*s\": value out of range",
                                 (int)(end - p), p);
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static const char *digits_end(const char *p)
{
    while (*p >= '0' && *p <= '9')
        p++;
    return p;
}

/* ^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-idents)?(\+idents)?$ then prerelease/metadata checks; error
 * texts are the library's. */
static int semver_parse(const char *v, struct semver *out, struct krc_error *err)
{
    const char *p = v, *e;
    uint64_t *seg[3] = {&out->major, &out->minor, &out->patch};
    int rc;

    memset(out, 0, sizeof(*out));
    if (*p == 'v')
        p++;
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*p != '.' || !(p[1] >= '0' && p[1] <= '9'))
                break;
            p++;
        }
        e = digits_end(p);
        if (e == p)
            return krc_error_set(err, KRC_EINVAL, SEMVER_ERR_INVALID);
        if ((rc = parse_u64_segment(p, e, seg[i], err)))
            return rc;
        p = e;
    }
    const char *pre = NULL, *pre_end = NULL, *meta = NULL, *meta_end = NULL;
    if (*p == '-') {
        pre = ++p;
        while (*p && *p != '+')
            p++;
        pre_end = p;
        if (!loose_idents(pre, pre_end))
            return krc_error_set(err, KRC_EINVAL, SEMVER_ERR_INVALID);
    }
    if (*p == '+') {
        meta = ++p;
        meta_end = p + strlen(p);
        if (!loose_idents(meta, meta_end))
            return krc_error_set(err, KRC_EINVAL, SEMVER_ERR_INVALID);
        p = meta_end;
    }
    if (*p)
        return krc_error_set(err, KRC_EINVAL, SEMVER_ERR_INVALID);
    if (pre) {
        /* validatePrerelease: numeric identifiers must not have a leading zero. */
        const char *start = pre;
        for (const char *q = pre; q <= pre_end; q++) {
            if (q == pre_end || *q == '.') {
                bool numeric = digits_end(start) >= q;
                if (numeric && q - start > 1 && *start == '0')
                    return krc_error_set(err, KRC_EINVAL, SEMVER_ERR_SEGMENT_ZERO);
                start = q + 1;
            }
        }
        out->has_pre = true;
    }
    (void)meta;
    return 0;
}

/* A function rather than an inline >=, which a zero minimum makes a tautology warning. */
static bool at_least(uint64_t v, uint64_t min)
{
    return v >= min;
}

int ray_jobsubmit_check_metadata_version(bool has_ray_cluster_spec, const char *ray_version,
                                         struct krc_error *err)
{
    struct semver v;
    struct krc_error why = {0};

    if (!has_ray_cluster_spec || !ray_version || !*ray_version)
        return 0;
    if (semver_parse(ray_version, &v, &why))
        return krc_error_set(err, KRC_EINVAL, "failed to parse Ray version: %s: %s", ray_version,
                             why.msg);
    /* Constraint ">= 2.6.0": a pre-release never satisfies a constraint without one. */
    bool ok =
        !v.has_pre && (v.major != METADATA_MIN_MAJOR   ? v.major > METADATA_MIN_MAJOR
                       : v.minor != METADATA_MIN_MINOR ? v.minor > METADATA_MIN_MINOR
                                                       : at_least(v.patch, METADATA_MIN_PATCH));
    if (!ok)
        return krc_error_set(err, KRC_EINVAL, MSG_METADATA_VERSION);
    return 0;
}

/* ---- the script ----------------------------------------------------------------------------- */

static bool has_metadata(const json_t *m)
{
    return m && json_is_object(m) && json_object_size(m) > 0;
}

static int metadata_json(const json_t *m, struct krc_strbuf *out, struct krc_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)m, k, v)
    {
        if (!json_is_string(v))
            return krc_error_set(err, KRC_EINVAL, "metadata %s: value is not a string", k);
    }
    return gojson_encode(m, out, err);
}

static int runtime_env_json(const char *yaml, struct krc_strbuf *out, struct krc_error *err)
{
    json_t *v = NULL;
    int rc = gojson_yaml_to_json(yaml, strlen(yaml), &v, err);
    if (rc)
        return rc;
    rc = gojson_encode(v, out, err);
    json_decref(v);
    return rc;
}

static void trim_span(const char *s, const char **start, size_t *len)
{
    /* strings.TrimSpace: ASCII white space (Unicode spaces are rare in entrypoints). */
    const char *e = s + strlen(s);
    while (*s && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    *start = s;
    *len = (size_t)(e - s);
}

int ray_jobsubmit_build_script(const struct ray_submit_input *in, char **out, struct krc_error *err)
{
    struct script s = {.sb = KRC_STRBUF_INIT, .first = true};
    struct krc_strbuf addr = KRC_STRBUF_INIT, tmp = KRC_STRBUF_INIT;
    const char *job_id = in->job_id ? in->job_id : "";
    int rc = KRC_ENOMEM;

    *out = NULL;
    if (in->mode != RAY_SUBMIT_K8S_JOB && in->mode != RAY_SUBMIT_SIDECAR)
        return krc_error_set(err, KRC_EINVAL,
                             "unsupported submission mode for job submit command: %d",
                             (int)in->mode);
    bool status_check = in->mode == RAY_SUBMIT_K8S_JOB || in->sidecar_status_check;
    if (ray_jobsubmit_address(in, &addr))
        goto oom;

    /* Wait loop: python health probe of the GCS through the dashboard. */
    if (in->mode == RAY_SUBMIT_SIDECAR)
        rc = krc_strbuf_addf(&tmp, "http://localhost:%d/%s", sidecar_port(in),
                             RAY_DASHBOARD_GCS_HEALTH_PATH);
    else
        rc = krc_strbuf_addf(&tmp, "%s/%s", addr.buf, RAY_DASHBOARD_GCS_HEALTH_PATH);
    if (rc)
        goto oom;
    if (add_token(&s, "until") ||
        krc_strbuf_addf(&s.sb,
                        " python -c \"import urllib.request; r=urllib.request.urlopen('%s', "
                        "timeout=%d); exit(0 if b'success' in r.read() else 1)\"",
                        tmp.buf, HEALTH_CHECK_TIMEOUT_S) ||
        add_tokens(&s, (const char *const[]){">/dev/null", "2>&1", ";", "do", "echo", NULL}))
        goto oom;
    krc_strbuf_reset(&tmp);
    if (krc_strbuf_addf(&tmp, "Waiting for Ray Dashboard GCS to become healthy at %s ...",
                        addr.buf) ||
        add_quoted_token(&s, tmp.buf, tmp.len) ||
        add_tokens(&s, (const char *const[]){";", "sleep", "2", ";", "done", ";", NULL}))
        goto oom;

    if (status_check && add_tokens(&s, (const char *const[]){
                                           "if", "!", "ray", "job", "status", "--address", addr.buf,
                                           job_id, ">/dev/null", "2>&1", ";", "then", NULL}))
        goto oom;
    if (add_tokens(&s, (const char *const[]){"ray", "job", "submit", "--address", addr.buf, NULL}))
        goto oom;
    if (status_check && add_token(&s, "--no-wait"))
        goto oom;

    if (in->runtime_env_yaml && *in->runtime_env_yaml) {
        krc_strbuf_reset(&tmp);
        if ((rc = runtime_env_json(in->runtime_env_yaml, &tmp, err)))
            goto fail;
        if (add_token(&s, "--runtime-env-json") || add_quoted_token(&s, tmp.buf, tmp.len))
            goto oom;
    }
    if (has_metadata(in->metadata)) {
        if ((rc = ray_jobsubmit_check_metadata_version(in->has_ray_cluster_spec, in->ray_version,
                                                       err)))
            goto fail;
        krc_strbuf_reset(&tmp);
        if ((rc = metadata_json(in->metadata, &tmp, err)))
            goto fail;
        if (add_token(&s, "--metadata-json") || add_quoted_token(&s, tmp.buf, tmp.len))
            goto oom;
    }
    if (*job_id && add_tokens(&s, (const char *const[]){"--submission-id", job_id, NULL}))
        goto oom;
    if (in->entrypoint_num_cpus > 0 &&
        (add_token(&s, "--entrypoint-num-cpus") ||
         krc_strbuf_addf(&s.sb, " %f", (double)in->entrypoint_num_cpus)))
        goto oom;
    if (in->entrypoint_num_gpus > 0 &&
        (add_token(&s, "--entrypoint-num-gpus") ||
         krc_strbuf_addf(&s.sb, " %f", (double)in->entrypoint_num_gpus)))
        goto oom;
    if (in->entrypoint_resources && *in->entrypoint_resources &&
        (add_token(&s, "--entrypoint-resources") ||
         add_quoted_token(&s, in->entrypoint_resources, strlen(in->entrypoint_resources))))
        goto oom;

    const char *ep;
    size_t ep_len;
    trim_span(in->entrypoint ? in->entrypoint : "", &ep, &ep_len);
    if (add_token(&s, "--") || add_token(&s, "") || krc_strbuf_add(&s.sb, ep, ep_len) ||
        add_token(&s, ";"))
        goto oom;
    if (status_check &&
        add_tokens(&s, (const char *const[]){"fi", ";", "ray", "job", "logs", "--address", addr.buf,
                                             "--follow", job_id, NULL}))
        goto oom;

    if (!(*out = krc_strbuf_detach(&s.sb)))
        goto oom;
    rc = 0;
    goto done;
oom:
    rc = krc_error_set(err, KRC_ENOMEM, "job submit command: out of memory");
fail:
    krc_strbuf_release(&s.sb);
done:
    krc_strbuf_release(&addr);
    krc_strbuf_release(&tmp);
    return rc;
}
