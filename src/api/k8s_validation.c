/* k8s_validation.c - apimachinery's name/label validation (see k8s_validation.h). */
#include "api/k8s_validation.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DNS1035_LABEL_MSG                                                                          \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "   \
    "alphabetic character, and end with an alphanumeric character"
#define DNS1035_LABEL_FMT "[a-z]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_LABEL_MSG                                                                          \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
    "must start and end with an alphanumeric character"
#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUBDOMAIN_MSG                                                                      \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define QNAME_MSG                                                                                  \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character"
#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_VALUE_MSG                                                                            \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character"
#define LABEL_VALUE_FMT "(" QNAME_FMT ")?"

void k8sval_errs_init(struct k8sval_errs *e)
{
    e->n = 0;
}

/* Bounded formatting where truncation is acceptable (messages are capped at K8SVAL_MSG_MAX);
 * vsnprintf keeps -Wformat-truncation from flagging every call. */
static void fmt_into(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fmt_into(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

static void add(struct k8sval_errs *e, const char *prefix, const char *msg)
{
    if (e->n >= K8SVAL_MAX_ERRS)
        return;
    fmt_into(e->msg[e->n++], K8SVAL_MSG_MAX, "%s%s", prefix, msg);
}

/* apimachinery's RegexError: msg (e.g. 'a',  or 'b', regex used for validation is 'fmt'). */
static void add_regex(struct k8sval_errs *e, const char *prefix, const char *msg, const char *fmt,
                      const char *ex1, const char *ex2, const char *ex3)
{
    char buf[K8SVAL_MSG_MAX];
    const char *ex[3] = {ex1, ex2, ex3};
    int n = snprintf(buf, sizeof(buf), "%s (e.g. ", msg);
    for (int i = 0; i < 3 && ex[i] && n > 0 && (size_t)n < sizeof(buf); i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s'%s', ", i > 0 ? " or " : "", ex[i]);
    if (n > 0 && (size_t)n < sizeof(buf))
        snprintf(buf + n, sizeof(buf) - (size_t)n, "regex used for validation is '%s')", fmt);
    add(e, prefix, buf);
}

static void add_maxlen(struct k8sval_errs *e, const char *prefix, int max)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "must be no more than %d characters", max);
    add(e, prefix, buf);
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [first]([-a-z0-9]*[a-z0-9])? over s[0..len). */
static bool match_dns_label(const char *s, size_t len, bool first_alpha_only)
{
    if (len == 0)
        return false;
    if (first_alpha_only ? !(s[0] >= 'a' && s[0] <= 'z') : !is_lower_alnum(s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return is_lower_alnum(s[len - 1]);
}

static bool match_qname(const char *s, size_t len)
{
    if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
        return false;
    for (size_t i = 1; i + 1 < len; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

static bool match_subdomain(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (!match_dns_label(s + start, i - start, false))
                return false;
            start = i + 1;
        }
    }
    return true;
}

void k8sval_dns1035_label(const char *value, struct k8sval_errs *e)
{
    size_t len = strlen(value);
    if (len > 63)
        add_maxlen(e, "", 63);
    if (!match_dns_label(value, len, true))
        add_regex(e, "", DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123", NULL);
}

void k8sval_dns1123_label(const char *value, struct k8sval_errs *e)
{
    size_t len = strlen(value);
    if (len > 63)
        add_maxlen(e, "", 63);
    if (!match_dns_label(value, len, false))
        add_regex(e, "", DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc", NULL);
}

static void subdomain(const char *value, size_t len, const char *prefix, struct k8sval_errs *e)
{
    if (len > 253)
        add_maxlen(e, prefix, 253);
    if (!match_subdomain(value, len))
        add_regex(e, prefix, DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com", NULL,
                  NULL);
}

void k8sval_dns1123_subdomain(const char *value, struct k8sval_errs *e)
{
    subdomain(value, strlen(value), "", e);
}

void k8sval_qualified_name(const char *value, struct k8sval_errs *e)
{
    const char *slash = strchr(value, '/');
    const char *name = value;
    if (slash && strchr(slash + 1, '/')) {
        char buf[K8SVAL_MSG_MAX];
        struct k8sval_errs tmp;
        k8sval_errs_init(&tmp);
        add_regex(&tmp, "", QNAME_MSG, QNAME_FMT, "MyName", "my.name", "123-abc");
        fmt_into(buf, sizeof(buf),
                 "%s with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                 tmp.msg[0]);
        add(e, "a qualified name ", buf);
        return;
    }
    if (slash) {
        size_t plen = (size_t)(slash - value);
        if (plen == 0)
            add(e, "prefix part ", "must be non-empty");
        else
            subdomain(value, plen, "prefix part ", e);
        name = slash + 1;
    }
    size_t len = strlen(name);
    if (len == 0)
        add(e, "name part ", "must be non-empty");
    else if (len > 63)
        add_maxlen(e, "name part ", 63);
    if (!match_qname(name, len))
        add_regex(e, "name part ", QNAME_MSG, QNAME_FMT, "MyName", "my.name", "123-abc");
}

void k8sval_label_value(const char *value, struct k8sval_errs *e)
{
    size_t len = strlen(value);
    if (len > 63)
        add_maxlen(e, "", 63);
    if (len > 0 && !match_qname(value, len))
        add_regex(e, "", LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345");
}

char *k8sval_errs_format(const struct k8sval_errs *e, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i <= e->n && used < size; i++) {
        const char *piece = i == e->n ? "]" : e->msg[i];
        const char *sep = i == 0 ? "[" : (i == e->n ? "" : " ");
        int n = snprintf(out + used, size - used, "%s%s", sep, piece);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (e->n == 0)
        snprintf(out, size, "[]");
    return out;
}
