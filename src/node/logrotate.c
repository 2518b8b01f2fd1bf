/* logrotate.c - rotated container log names and retention (see logrotate.h). */
#include "node/logrotate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number without sign or leading zeros (other than "0") that fits max. */
static int parse_number(const char *s, const char **end, unsigned long max, unsigned long *out)
{
    char *e;
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return -1;
    unsigned long v = strtoul(s, &e, 10);
    if (v > max)
        return -1;
    *out = v;
    *end = e;
    return 0;
}

enum krc_logfile_kind krc_logrotate_parse(const char *name, int *restart, unsigned *seq)
{
    const char *p;
    unsigned long r, q;
    if (parse_number(name, &p, INT_MAX, &r) != 0 || strncmp(p, ".log", 4) != 0)
        return KRC_LOGFILE_OTHER;
    p += 4;
    *restart = (int)r;
    *seq = 0;
    if (*p == '\0')
        return KRC_LOGFILE_CURRENT;
    if (*p != '.' || parse_number(p + 1, &p, UINT_MAX, &q) != 0 || *p != '\0' || q == 0)
        return KRC_LOGFILE_OTHER;
    *seq = (unsigned)q;
    return KRC_LOGFILE_ROTATED;
}

int krc_logrotate_name(char *out, size_t len, int restart, unsigned seq)
{
    int n =
        seq ? snprintf(out, len, "%d.log.%u", restart, seq) : snprintf(out, len, "%d.log", restart);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

unsigned krc_logrotate_keep_from(unsigned newest_seq, int max_files)
{
    unsigned keep = max_files < 2 ? 1 : (unsigned)max_files - 1;
    return newest_seq >= keep ? newest_seq - keep + 1 : 1;
}
