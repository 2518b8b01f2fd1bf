/* podenv.c - environment merging, $(VAR) expansion and PATH lookup for containers. */
#include "node/podenv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

int krc_podenv_merge(const char *const *defaults, size_t nd, const char *const *env, size_t ne,
                     const char ***out, struct krc_error *err)
{
    const char **v = calloc(nd + ne + 1, sizeof(*v));
    if (!v)
        return krc_error_set(err, KRC_ENOMEM, "environment: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < nd + ne; i++) {
        const char *e = i < nd ? defaults[i] : env[i - nd];
        size_t len = name_len(e);
        size_t j = 0;
        while (j < n && !(name_len(v[j]) == len && strncmp(v[j], e, len) == 0))
            j++;
        v[j] = e;
        if (j == n)
            n++;
    }
    v[n] = NULL;
    *out = v;
    return 0;
}

const char *krc_podenv_get(const char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (; *envp; envp++)
        if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
            return *envp + len + 1;
    return NULL;
}

/* The value of the len-byte name in envp, or NULL. */
static const char *lookup_n(const char *const *envp, const char *name, size_t len)
{
    for (; *envp; envp++)
        if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
            return *envp + len + 1;
    return NULL;
}

int krc_podenv_expand(const char *s, const char *const *envp, struct krc_strbuf *out)
{
    int rc = 0;
    while (*s && rc == 0) {
        if (s[0] == '$' && s[1] == '$') {
            rc = krc_strbuf_addch(out, '$');
            s += 2;
            continue;
        }
        if (s[0] == '$' && s[1] == '(') {
            const char *close = strchr(s + 2, ')');
            if (close) {
                const char *val = lookup_n(envp, s + 2, (size_t)(close - s - 2));
                if (val)
                    rc = krc_strbuf_adds(out, val);
                else
                    rc = krc_strbuf_add(out, s, (size_t)(close - s + 1));
                s = close + 1;
                continue;
            }
        }
        rc = krc_strbuf_addch(out, *s++);
    }
    return rc;
}

static int executable_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int krc_podenv_resolve(const char *cmd, const char *path, char *out, size_t outlen,
                       struct krc_error *err)
{
    if (!cmd || !*cmd)
        return krc_error_set(err, KRC_EINVAL, "no command");
    if (strchr(cmd, '/')) {
        if ((size_t)snprintf(out, outlen, "%s", cmd) >= outlen)
            return krc_error_set(err, KRC_EINVAL, "command %s: path too long", cmd);
        return 0;
    }
    const char *p = path ? path : "";
    while (1) {
        const char *colon = strchr(p, ':');
        size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
        /* An empty entry means the current directory, as in execvp. */
        int n = snprintf(out, outlen, "%.*s%s%s", (int)dlen, p, dlen ? "/" : "", cmd);
        if (n > 0 && (size_t)n < outlen && executable_file(out))
            return 0;
        if (!colon)
            break;
        p = colon + 1;
    }
    return krc_error_set(err, KRC_ENOTFOUND, "command %s: not found in PATH %s", cmd,
                         path ? path : "(unset)");
}
