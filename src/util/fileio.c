/* fileio.c - whole-file reads with read(2) in a loop, so short reads and EINTR are handled and the
 * cap is enforced while reading (st_size is not trusted: /proc files report 0, files grow). */
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

enum { READ_CHUNK = 16 * 1024 };

int krc_file_read(const char *path, size_t max, struct krc_strbuf *out, struct krc_error *err)
{
    int rc = 0;
    int fd;

    krc_strbuf_reset(out);
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        return krc_error_set(err, e == ENOENT ? KRC_ENOTFOUND : KRC_EIO, "open %s: %s", path,
                             strerror(e));
    }
    for (;;) {
        size_t want = READ_CHUNK;
        if (out->len >= max) {
            want = 1; /* probe for one byte past the cap */
        } else if (max - out->len < want) {
            want = max - out->len;
        }
        rc = krc_strbuf_grow(out, want);
        if (rc) {
            krc_error_set(err, rc, "read %s: %s", path,
                          rc == KRC_ENOMEM ? "out of memory" : "file too large");
            goto out;
        }
        ssize_t n = read(fd, out->buf + out->len, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = krc_error_set(err, KRC_EIO, "read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > max) {
            rc = krc_error_set(err, KRC_ETOOLARGE, "read %s: larger than %zu bytes", path, max);
            goto out;
        }
        out->len += (size_t)n;
        out->buf[out->len] = '\0';
    }
out:
    if (close(fd) != 0 && !rc)
        rc = krc_error_set(err, KRC_EIO, "close %s: %s", path, strerror(errno));
    if (rc)
        krc_strbuf_reset(out);
    return rc;
}
