/* error.c - formatting of struct krc_error (see error.h for the convention). */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int krc_error_set(struct krc_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

int krc_error_wrap(struct krc_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    char old[KRC_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';

    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    /* Append ": old" by hand: truncation of an over-long message is accepted (the start names
     * the object), and snprintf's truncation warnings would fire on every build type. */
    size_t used = n < 0 ? 0 : (size_t)n;
    /* A clear error has no earlier message to append: the context alone is the message. */
    if (old[0] != '\0' && used < sizeof(err->msg) - 1) {
        size_t room = sizeof(err->msg) - 1 - used;
        const char *sep = ": ";
        size_t seplen = room < 2 ? room : 2;
        memcpy(err->msg + used, sep, seplen);
        used += seplen;
        room -= seplen;
        size_t oldlen = strlen(old);
        if (oldlen > room)
            oldlen = room;
        memcpy(err->msg + used, old, oldlen);
        used += oldlen;
        err->msg[used] = '\0';
    }
    if (err->code == KRC_OK)
        err->code = code;
    return err->code;
}

void krc_error_clear(struct krc_error *err)
{
    if (!err)
        return;
    err->code = KRC_OK;
    err->msg[0] = '\0';
}

const char *krc_strerror(int code)
{
    switch (code) {
    case KRC_OK:
        return "OK";
    case KRC_ENOMEM:
        return "OutOfMemory";
    case KRC_EINVAL:
        return "InvalidArgument";
    case KRC_EIO:
        return "IOError";
    case KRC_ENOTFOUND:
        return "NotFound";
    case KRC_EEXIST:
        return "AlreadyExists";
    case KRC_ECONFLICT:
        return "Conflict";
    case KRC_EGONE:
        return "Gone";
    case KRC_EFORBIDDEN:
        return "Forbidden";
    case KRC_EUNAUTHORIZED:
        return "Unauthorized";
    case KRC_EINVALID:
        return "Invalid";
    case KRC_ETIMEOUT:
        return "Timeout";
    case KRC_ETOOLARGE:
        return "TooLarge";
    case KRC_ESERVER:
        return "ServerError";
    case KRC_ECANCELED:
        return "Canceled";
    case KRC_ERANGE:
        return "OutOfRange";
    default:
        return "Unknown";
    }
}
