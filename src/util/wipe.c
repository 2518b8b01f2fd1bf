/* wipe.c - clearing secrets from memory (see wipe.h). */
#include "util/wipe.h"

void krc_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    for (size_t i = 0; i < n; i++)
        v[i] = 0;
}

void krc_wipe_str(char *s)
{
    if (!s)
        return;
    volatile char *v = s;
    while (*v)
        *v++ = 0;
}
