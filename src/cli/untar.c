/* untar.c - a streaming tar extractor (see untar.h).
 *
 * A small state machine over 512-byte blocks, so the archive never sits in memory: a header
 * block, then the entry's data rounded up to whole blocks, written straight to its file. Two
 * zero blocks end the archive. Hand-written because libarchive (the Debian library that would
 * do it) brings a dozen compression libraries for a format this plain; the cost is that only the
 * entry types GNU tar writes for plain files are understood. */
#include "cli/untar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    BLOCK = 512,
    NAME_OFF = 0,
    NAME_LEN = 100,
    MODE_OFF = 100,
    MODE_LEN = 8,
    SIZE_OFF = 124,
    SIZE_LEN = 12,
    CHKSUM_OFF = 148,
    CHKSUM_LEN = 8,
    TYPE_OFF = 156,
    MAGIC_OFF = 257,
    PREFIX_OFF = 345,
    PREFIX_LEN = 155,
    PATH_CAP = 4096,     /* a longer name is refused */
    MODE_BITS = 0777,    /* no set-id or sticky bits from an archive */
    DEFAULT_MODE = 0644, /* when the header's mode is unreadable */
    DIR_MODE = 0755,
};

enum state { IN_HEADER, IN_DATA, AT_END, BROKEN };
enum sink { TO_NOTHING, TO_FILE, TO_LONGNAME };

struct cli_untar {
    char *dir;
    FILE *msgs;
    enum state state;
    unsigned char hdr[BLOCK];
    size_t hfill;
    int zero_blocks;
    enum sink sink;
    int fd;
    uint64_t data_left, pad_left;
    char longname[PATH_CAP];
    size_t longname_len;
    int have_longname;
    size_t entries;
};

struct cli_untar *cli_untar_new(const char *dir, FILE *msgs)
{
    struct cli_untar *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (!(t->dir = strdup(dir))) {
        free(t);
        return NULL;
    }
    t->msgs = msgs;
    t->fd = -1;
    return t;
}

void cli_untar_free(struct cli_untar *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    free(t->dir);
    free(t);
}

size_t cli_untar_entries(const struct cli_untar *t)
{
    return t->entries;
}

static int broken(struct cli_untar *t, char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int broken(struct cli_untar *t, char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    t->state = BROKEN;
    return -1;
}

int cli_untar_clean_name(const char *name, char *out, size_t size)
{
    size_t n = 0;
    const char *p = name;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        if (len && !(len == 1 && p[0] == '.')) {
            if (n + (n ? 1 : 0) + len + 1 > size)
                return -1;
            if (n)
                out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
    }
    if (size == 0)
        return -1;
    out[n] = '\0';
    return 0;
}

/* An octal field (NUL- or space-terminated), or GNU's base-256 form for large sizes. */
static int parse_number(const unsigned char *f, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (f[0] & 0x80) {
        if (f[0] != 0x80)
            return -1; /* negative, or larger than 64 bits */
        for (size_t i = 1; i < len; i++) {
            if (v >> 56)
                return -1;
            v = v << 8 | f[i];
        }
        *out = v;
        return 0;
    }
    size_t i = 0;
    while (i < len && f[i] == ' ')
        i++;
    size_t digits = 0;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v >> 61)
            return -1;
        v = v << 3 | (uint64_t)(f[i] - '0');
    }
    if (!digits || (i < len && f[i] != '\0' && f[i] != ' '))
        return -1;
    *out = v;
    return 0;
}

static int checksum_ok(const unsigned char *h)
{
    uint64_t want;
    if (parse_number(h + CHKSUM_OFF, CHKSUM_LEN, &want) != 0)
        return 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < BLOCK; i++)
        sum += i >= CHKSUM_OFF && i < CHKSUM_OFF + CHKSUM_LEN ? ' ' : h[i];
    return sum == want;
}

/* Creates the directories above a relative path inside t->dir. */
static int make_parents(const char *full, size_t base_len)
{
    char buf[PATH_CAP + 4096];
    size_t len = strlen(full);
    if (len >= sizeof(buf))
        return ENAMETOOLONG;
    memcpy(buf, full, len + 1);
    for (size_t i = base_len + 1; i < len; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, DIR_MODE) != 0 && errno != EEXIST)
            return errno;
        buf[i] = '/';
    }
    return 0;
}

/* Acts on a complete header block. */
static int on_header(struct cli_untar *t, char *why, size_t why_size)
{
    const unsigned char *h = t->hdr;
    char raw[PATH_CAP], rel[PATH_CAP], full[PATH_CAP + 4096];
    uint64_t size, mode;

    if (!checksum_ok(h))
        return broken(t, why, why_size, "%s",
                      "Error reading tar archive: archive/tar: invalid tar header (checksum)");
    if (parse_number(h + SIZE_OFF, SIZE_LEN, &size) != 0)
        return broken(t, why, why_size, "%s",
                      "Error reading tar archive: archive/tar: invalid tar header (size)");
    if (parse_number(h + MODE_OFF, MODE_LEN, &mode) != 0)
        mode = DEFAULT_MODE;
    char type = (char)h[TYPE_OFF];
    t->data_left = size;
    t->pad_left = (BLOCK - size % BLOCK) % BLOCK;
    t->sink = TO_NOTHING;
    t->state = IN_DATA;

    if (type == 'L') { /* GNU: the data is the next entry's name */
        if (size >= sizeof(t->longname))
            return broken(t, why, why_size, "%s", "tar long name too long");
        t->sink = TO_LONGNAME;
        t->longname_len = 0;
        return 0;
    }
    if (type == 'K' || type == 'x' || type == 'g') /* a long link name, pax headers */
        return 0;

    t->entries++;
    if (t->have_longname) {
        memcpy(raw, t->longname, t->longname_len + 1); /* < PATH_CAP, checked on its header */
        t->have_longname = 0;
    } else {
        char name[NAME_LEN + 1], prefix[PREFIX_LEN + 1];
        memcpy(name, h + NAME_OFF, NAME_LEN);
        name[NAME_LEN] = '\0';
        int ustar = memcmp(h + MAGIC_OFF, "ustar\0", 6) == 0; /* POSIX; GNU has no prefix */
        if (ustar && h[PREFIX_OFF]) {
            memcpy(prefix, h + PREFIX_OFF, PREFIX_LEN);
            prefix[PREFIX_LEN] = '\0';
            snprintf(raw, sizeof(raw), "%s/%s", prefix, name);
        } else {
            snprintf(raw, sizeof(raw), "%s", name);
        }
    }
    if (cli_untar_clean_name(raw, rel, sizeof(rel)) != 0)
        return broken(t, why, why_size, "refusing tar entry outside the directory: %s", raw);
    snprintf(full, sizeof(full), "%s%s%s", t->dir, rel[0] ? "/" : "", rel);
    size_t base = strlen(t->dir);

    if (type == '5') {
        int e = make_parents(full, base);
        if (!e && mkdir(full, DIR_MODE) != 0 && errno != EEXIST)
            e = errno;
        if (e) {
            snprintf(why, why_size, "Error creating directory: mkdir %s: %s", full, strerror(e));
            t->state = BROKEN;
            return -1;
        }
        return 0;
    }
    if (type == '0' || type == '\0') {
        int e = make_parents(full, base);
        if (!e) {
            /* O_NOFOLLOW: never write through a link planted where a file goes. */
            t->fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                         (mode_t)(mode & MODE_BITS));
            if (t->fd < 0)
                e = errno;
        }
        if (e) {
            snprintf(why, why_size, "Error creating file: open %s: %s", full, strerror(e));
            t->state = BROKEN;
            return -1;
        }
        t->sink = TO_FILE;
        return 0;
    }
    /* KubeRay prints the type byte with Go's %b (binary), and no newline. */
    char bits[9];
    size_t nb = 0;
    unsigned v = (unsigned char)type;
    int started = 0;
    for (int i = 7; i >= 0; i--) {
        if ((v >> i) & 1)
            started = 1;
        if (started || i == 0)
            bits[nb++] = (char)('0' + ((v >> i) & 1));
    }
    bits[nb] = '\0';
    fprintf(t->msgs, "Ignoring unsupported file type: %s", bits);
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Ends the current entry's data. */
static int end_entry(struct cli_untar *t, char *why, size_t why_size)
{
    if (t->sink == TO_FILE) {
        int e = close(t->fd) == 0 ? 0 : errno;
        t->fd = -1;
        if (e)
            return broken(t, why, why_size, "failed while writing to file: %s", strerror(e));
    } else if (t->sink == TO_LONGNAME) {
        t->longname[t->longname_len] = '\0';
        t->have_longname = 1;
    }
    t->sink = TO_NOTHING;
    t->state = IN_HEADER;
    t->hfill = 0;
    return 0;
}

int cli_untar_feed(struct cli_untar *t, const char *data, size_t len, char *why, size_t why_size)
{
    while (len) {
        switch (t->state) {
        case BROKEN:
            snprintf(why, why_size, "tar extraction already failed");
            return -1;
        case AT_END:
            return 0; /* tar pads the archive with zeros to a record: ignore the rest */
        case IN_HEADER: {
            size_t k = BLOCK - t->hfill < len ? BLOCK - t->hfill : len;
            memcpy(t->hdr + t->hfill, data, k);
            t->hfill += k;
            data += k;
            len -= k;
            if (t->hfill < BLOCK)
                break;
            t->hfill = 0;
            int zero = 1;
            for (size_t i = 0; i < BLOCK && zero; i++)
                zero = t->hdr[i] == 0;
            if (zero) {
                if (++t->zero_blocks == 2)
                    t->state = AT_END;
                break;
            }
            t->zero_blocks = 0;
            if (on_header(t, why, why_size) != 0)
                return -1;
            if (t->data_left == 0 && t->pad_left == 0 && end_entry(t, why, why_size) != 0)
                return -1;
            break;
        }
        case IN_DATA: {
            if (t->data_left) {
                size_t k = t->data_left < len ? (size_t)t->data_left : len;
                if (t->sink == TO_FILE) {
                    int e = write_all(t->fd, data, k);
                    if (e)
                        return broken(t, why, why_size, "failed while writing to file: %s",
                                      strerror(e));
                } else if (t->sink == TO_LONGNAME) {
                    memcpy(t->longname + t->longname_len, data, k);
                    t->longname_len += k;
                }
                t->data_left -= k;
                data += k;
                len -= k;
            } else {
                size_t k = t->pad_left < len ? (size_t)t->pad_left : len;
                t->pad_left -= k;
                data += k;
                len -= k;
            }
            if (!t->data_left && !t->pad_left && end_entry(t, why, why_size) != 0)
                return -1;
            break;
        }
        }
    }
    return 0;
}

int cli_untar_finish(struct cli_untar *t, char *why, size_t why_size)
{
    if (t->state == BROKEN) {
        snprintf(why, why_size, "tar extraction already failed");
        return -1;
    }
    if (t->state == IN_DATA || t->hfill) {
        snprintf(why, why_size, "Error reading tar archive: unexpected EOF");
        t->state = BROKEN;
        return -1;
    }
    return 0; /* without the zero blocks too, as Go's archive/tar */
}
