/* status.c - Status body to typed error (see status.h). Messages are built in a fixed buffer the
 * size of struct krc_error's: a long message or list of causes is cut, never allocated for. */
#include "kube/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Bytes of a non-Status body quoted in a message. */
enum { BODY_EXCERPT_MAX = 160 };

static int reason_is(const char *reason, const char *want)
{
    return reason && strcmp(reason, want) == 0;
}

int krc_status_code_to_error(long http_code, const char *reason)
{
    if (reason_is(reason, "Expired") || reason_is(reason, "Gone"))
        return KRC_EGONE;
    switch (http_code) {
    case 400:
        return KRC_EINVAL;
    case 401:
        return KRC_EUNAUTHORIZED;
    case 403:
        return KRC_EFORBIDDEN;
    case 404:
        return KRC_ENOTFOUND;
    case 408:
    case 504:
        return KRC_ETIMEOUT;
    case 409:
        /* AlreadyExists is the only 409 that does not mean "retry with fresh data". */
        return reason_is(reason, "AlreadyExists") ? KRC_EEXIST : KRC_ECONFLICT;
    case 410:
        return KRC_EGONE;
    case 413:
        return KRC_ETOOLARGE;
    case 422:
        return KRC_EINVALID;
    default:
        return KRC_ESERVER;
    }
}

static const char *json_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* A message being built in a fixed buffer; appends past the end are cut, never fail. */
struct msgbuf {
    char buf[KRC_ERROR_MSG_MAX];
    size_t len;
};

__attribute__((format(printf, 2, 3))) static void put(struct msgbuf *m, const char *fmt, ...)
{
    va_list ap;
    if (m->len >= sizeof(m->buf) - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(m->buf + m->len, sizeof(m->buf) - m->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->len += (size_t)n < sizeof(m->buf) - m->len ? (size_t)n : sizeof(m->buf) - 1 - m->len;
}

/* Appends " [causes: field: message; ...]", as much as fits. */
static void add_causes(struct msgbuf *m, const json_t *status)
{
    const json_t *causes = json_object_get(json_object_get(status, "details"), "causes");
    size_t i;
    const json_t *c;

    if (!json_is_array(causes) || json_array_size(causes) == 0)
        return;
    json_array_foreach(causes, i, c)
    {
        const char *field = json_str(c, "field"), *msg = json_str(c, "message");
        if (!*msg)
            msg = json_str(c, "reason");
        put(m, "%s%s%s%s", i ? "; " : " [causes: ", field, *field ? ": " : "", msg);
    }
    put(m, "]");
}

/* The server's message for 422 usually lists the causes already ("... is invalid: [spec.x: ...]");
 * repeating them would only push the end of the message out of the fixed buffer. */
static int causes_in_message(const json_t *status, const char *message)
{
    const json_t *causes = json_object_get(json_object_get(status, "details"), "causes");
    const char *field = json_str(json_array_get(causes, 0), "field");
    return *field && strstr(message, field) != NULL;
}

/* Fills err from a Status object and an HTTP code (the Status's own code when http_code is 0). */
static int from_status(long http_code, const json_t *status, const char *what,
                       struct krc_error *err)
{
    struct msgbuf m = {.len = 0};
    const char *reason = json_str(status, "reason");
    const char *message = json_str(status, "message");
    json_int_t code = json_integer_value(json_object_get(status, "code"));

    m.buf[0] = '\0';
    if (http_code == 0)
        http_code = code > 0 && code < 1000 ? (long)code : 500;
    int rc = krc_status_code_to_error(http_code, reason);
    put(&m, "%s: %ld %s: %s", what, http_code, *reason ? reason : krc_strerror(rc),
        *message ? message : "(no message)");
    if (!causes_in_message(status, message))
        add_causes(&m, status);
    return krc_error_set(err, rc, "%s", m.buf);
}

int krc_status_error_json(const json_t *status, const char *what, struct krc_error *err)
{
    return from_status(0, status, what, err);
}

int krc_status_error(long http_code, const char *body, size_t len, const char *what,
                     struct krc_error *err)
{
    json_t *doc = NULL;
    int rc;

    if (len > 0)
        doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(doc) && strcmp(json_str(doc, "kind"), "Status") == 0) {
        rc = from_status(http_code, doc, what, err);
        goto out;
    }
    /* Not a Status: quote the start of the body, printable bytes only (it is hostile input). */
    char excerpt[BODY_EXCERPT_MAX + 4];
    size_t n = 0;
    for (size_t i = 0; i < len && n < BODY_EXCERPT_MAX; i++)
        excerpt[n++] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
    if (len > BODY_EXCERPT_MAX) {
        memcpy(excerpt + n, "...", 3);
        n += 3;
    }
    excerpt[n] = '\0';
    rc = krc_status_code_to_error(http_code, NULL);
    if (rc == KRC_OK)
        rc = KRC_ESERVER;
    krc_error_set(err, rc, "%s: HTTP %ld%s%s", what, http_code, n ? ": " : " (empty body)",
                  excerpt);
out:
    json_decref(doc);
    return rc;
}
