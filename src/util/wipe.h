/* wipe.h - clearing secrets (tokens, keys) from memory before it is freed or reused.
 *
 * A plain memset before free() may be removed by the compiler as a dead store; these writes go
 * through a volatile pointer, so they stay. */
#ifndef KRC_UTIL_WIPE_H
#define KRC_UTIL_WIPE_H

#include <stddef.h>

/* Zeroes n bytes at p (p may be NULL when n is 0). */
void krc_wipe(void *p, size_t n);

/* Zeroes the NUL-terminated string s in place (NULL is allowed). */
void krc_wipe_str(char *s);

#endif
