/* fileio.h - reading small files whole, with a size cap.
 *
 * Configuration, tokens and certificates are small; a cap turns a wrong path (a device, a huge
 * log) into a clear error instead of an unbounded read. */
#ifndef KRC_UTIL_FILEIO_H
#define KRC_UTIL_FILEIO_H

#include "util/error.h"
#include "util/strbuf.h"

#include <stddef.h>

/* Replaces the content of out with the whole file at path. Returns 0, KRC_ENOTFOUND if it does
 * not exist, KRC_ETOOLARGE past max bytes, KRC_EIO on another failure, KRC_ENOMEM; err names the
 * path and the cause. out keeps its own cap too. */
int krc_file_read(const char *path, size_t max, struct krc_strbuf *out, struct krc_error *err);

#endif
