/* ipam.c - pod IPv4 allocation: address arithmetic (pure) and the one-file-per-address store
 * (see ipam.h for why files and O_EXCL). */
#include "node/ipam.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    UID_MAX_LEN = 128,
    MAX_PREFIX_WITH_BROADCAST = 30, /* /31 and /32 have no network or broadcast address */
};

static uint32_t prefix_mask(int prefix)
{
    return prefix <= 0 ? 0 : (uint32_t)(0xffffffffu << (32 - prefix));
}

int krc_ipam_parse_addr(const char *s, uint32_t *addr)
{
    uint32_t out = 0;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        if (*p < '0' || *p > '9')
            return KRC_EINVAL;
        unsigned v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (unsigned)(*p - '0');
            if (++digits > 3 || v > 255)
                return KRC_EINVAL;
            p++;
        }
        if (digits > 1 && p[-digits] == '0')
            return KRC_EINVAL; /* no leading zeros: "010" is octal to inet_aton */
        out = out << 8 | v;
        if (i < 3 && *p++ != '.')
            return KRC_EINVAL;
    }
    if (*p)
        return KRC_EINVAL;
    *addr = out;
    return 0;
}

int krc_ipam_parse_cidr(const char *s, uint32_t *addr, int *prefix)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash - s >= KRC_IPAM_ADDR_MAX)
        return KRC_EINVAL;
    char ip[KRC_IPAM_ADDR_MAX];
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    const char *p = slash + 1;
    if (!*p || strlen(p) > 2)
        return KRC_EINVAL;
    int n = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return KRC_EINVAL;
        n = n * 10 + (*p - '0');
    }
    if (n > 32)
        return KRC_EINVAL;
    if (krc_ipam_parse_addr(ip, addr))
        return KRC_EINVAL;
    *prefix = n;
    return 0;
}

void krc_ipam_format(uint32_t addr, char *out)
{
    snprintf(out, KRC_IPAM_ADDR_MAX, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
             (addr >> 8) & 0xff, addr & 0xff);
}

int krc_ipam_overlaps(uint32_t a, int pa, uint32_t b, int pb)
{
    uint32_t m = prefix_mask(pa < pb ? pa : pb);
    return (a & m) == (b & m);
}

int krc_ipam_net_init(struct krc_ipam_net *net, const char *bridge_cidr, const char *range_cidr,
                      struct krc_error *err)
{
    uint32_t gw, range;
    int prefix, range_prefix;
    if (!bridge_cidr || krc_ipam_parse_cidr(bridge_cidr, &gw, &prefix))
        return krc_error_set(err, KRC_EINVAL, "pod network %s: not an IPv4 a.b.c.d/n",
                             bridge_cidr ? bridge_cidr : "(null)");
    if (prefix < 8 || prefix > 30)
        return krc_error_set(err, KRC_EINVAL, "pod network %s: prefix must be /8../30",
                             bridge_cidr);
    uint32_t mask = prefix_mask(prefix);
    uint32_t network = gw & mask, broadcast = network | ~mask;
    if (gw == network || gw == broadcast)
        return krc_error_set(err, KRC_EINVAL,
                             "pod network %s: the bridge address is the network or broadcast "
                             "address; give the bridge's own address, e.g. x.y.z.1/n",
                             bridge_cidr);
    net->network = network;
    net->gateway = gw;
    net->prefix = prefix;
    net->first = network + 1;
    net->last = broadcast - 1;
    if (range_cidr && *range_cidr) {
        if (krc_ipam_parse_cidr(range_cidr, &range, &range_prefix))
            return krc_error_set(err, KRC_EINVAL, "pod range %s: not an IPv4 a.b.c.d/n",
                                 range_cidr);
        uint32_t rmask = prefix_mask(range_prefix);
        if (range_prefix < prefix || (range & mask) != network || (range & rmask) != range)
            return krc_error_set(err, KRC_EINVAL,
                                 "pod range %s: must be a network inside pod network %s",
                                 range_cidr, bridge_cidr);
        /* As CNI host-local does with a node's podCIDR, the range's own network and broadcast
         * addresses are not handed out (10.244.1.0/24 gives .1 to .254), except in /31 and /32
         * ranges, which have no such addresses. */
        uint32_t lo = range, hi = range | ~rmask;
        if (range_prefix <= MAX_PREFIX_WITH_BROADCAST) {
            lo++;
            hi--;
        }
        if (lo > net->first)
            net->first = lo;
        if (hi < net->last)
            net->last = hi;
    }
    if (net->first > net->last || (net->first == net->last && net->first == net->gateway))
        return krc_error_set(err, KRC_EINVAL, "pod range %s: no allocatable address",
                             range_cidr ? range_cidr : bridge_cidr);
    return 0;
}

int krc_ipam_net_allocatable(const struct krc_ipam_net *net, uint32_t addr)
{
    return addr >= net->first && addr <= net->last && addr != net->gateway;
}

uint32_t krc_ipam_net_next(const struct krc_ipam_net *net, uint32_t after)
{
    uint32_t a = (after < net->first || after >= net->last) ? net->first : after + 1;
    if (a == net->gateway)
        a = a == net->last ? net->first : a + 1;
    return krc_ipam_net_allocatable(net, a) ? a : 0;
}

/* Reads the uid recorded in dir/name into out; 0, KRC_ENOTFOUND or KRC_EIO. */
static int read_owner(int dirfd, const char *name, char *out, size_t outlen)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? KRC_ENOTFOUND : KRC_EIO;
    ssize_t n = read(fd, out, outlen - 1);
    close(fd);
    if (n < 0)
        return KRC_EIO;
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

static int open_dir(const struct krc_ipam *ipam, struct krc_error *err)
{
    int fd = open(ipam->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return krc_error_set(err, KRC_EIO, "ipam %s: open: %s", ipam->dir, strerror(errno));
    return fd;
}

/* Calls fn for every address file owned by uid; stops at the first non-zero return. */
static int scan_owned(const struct krc_ipam *ipam, int dirfd, const char *uid,
                      int (*fn)(int dirfd, const char *name, uint32_t addr, void *arg), void *arg,
                      struct krc_error *err)
{
    int rc = 0;
    int fd = dup(dirfd);
    if (fd < 0)
        return krc_error_set(err, KRC_EIO, "ipam %s: dup: %s", ipam->dir, strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return krc_error_set(err, KRC_EIO, "ipam %s: %s", ipam->dir, strerror(errno));
    }
    struct dirent *de;
    char owner[UID_MAX_LEN + 2];
    while ((de = readdir(d))) {
        uint32_t addr;
        if (krc_ipam_parse_addr(de->d_name, &addr))
            continue;
        if (read_owner(dirfd, de->d_name, owner, sizeof(owner)) || strcmp(owner, uid) != 0)
            continue;
        rc = fn(dirfd, de->d_name, addr, arg);
        if (rc)
            break;
    }
    closedir(d);
    return rc;
}

static int found_addr(int dirfd, const char *name, uint32_t addr, void *arg)
{
    (void)dirfd;
    (void)name;
    *(uint32_t *)arg = addr;
    return 1;
}

static int lookup_at(const struct krc_ipam *ipam, int dirfd, const char *uid, uint32_t *addr,
                     struct krc_error *err)
{
    uint32_t found = 0;
    int rc = scan_owned(ipam, dirfd, uid, found_addr, &found, err);
    if (rc < 0)
        return rc;
    if (!found)
        return krc_error_set(err, KRC_ENOTFOUND, "ipam %s: no address for pod %s", ipam->dir, uid);
    *addr = found;
    return 0;
}

static int check_uid(const char *uid, struct krc_error *err)
{
    if (!uid || !*uid || strlen(uid) > UID_MAX_LEN || strchr(uid, '\n'))
        return krc_error_set(err, KRC_EINVAL, "ipam: bad pod uid");
    return 0;
}

int krc_ipam_lookup(const struct krc_ipam *ipam, const char *uid, uint32_t *addr,
                    struct krc_error *err)
{
    int rc = check_uid(uid, err);
    if (rc)
        return rc;
    int dirfd = open_dir(ipam, err);
    if (dirfd < 0)
        return dirfd;
    rc = lookup_at(ipam, dirfd, uid, addr, err);
    close(dirfd);
    return rc;
}

/* Creates the file for addr owned by uid. 0, KRC_EEXIST (taken) or KRC_EIO. */
static int claim(int dirfd, uint32_t addr, const char *uid, struct krc_error *err)
{
    char name[KRC_IPAM_ADDR_MAX];
    krc_ipam_format(addr, name);
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            return KRC_EEXIST;
        return krc_error_set(err, KRC_EIO, "ipam: create %s: %s", name, strerror(errno));
    }
    size_t len = strlen(uid);
    int rc = 0;
    if (write(fd, uid, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
        rc = krc_error_set(err, KRC_EIO, "ipam: write %s: %s", name, strerror(errno));
        unlinkat(dirfd, name, 0);
    }
    close(fd);
    return rc;
}

static uint32_t read_last(int dirfd)
{
    char buf[KRC_IPAM_ADDR_MAX + 2];
    uint32_t addr = 0;
    if (read_owner(dirfd, "last", buf, sizeof(buf)) == 0 && krc_ipam_parse_addr(buf, &addr) == 0)
        return addr;
    return 0;
}

/* Best effort: a lost "last" only makes the next search start at the range's beginning. */
static void write_last(int dirfd, uint32_t addr)
{
    char buf[KRC_IPAM_ADDR_MAX + 1];
    krc_ipam_format(addr, buf);
    size_t len = strlen(buf);
    buf[len++] = '\n';
    int fd = openat(dirfd, "last.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    ssize_t n = write(fd, buf, len);
    close(fd);
    if (n == (ssize_t)len)
        renameat(dirfd, "last.tmp", dirfd, "last");
    else
        unlinkat(dirfd, "last.tmp", 0);
}

int krc_ipam_allocate(const struct krc_ipam *ipam, const char *uid, uint32_t *addr,
                      struct krc_error *err)
{
    int rc = check_uid(uid, err);
    if (rc)
        return rc;
    int dirfd = open_dir(ipam, err);
    if (dirfd < 0)
        return dirfd;
    rc = lookup_at(ipam, dirfd, uid, addr, err);
    if (rc != KRC_ENOTFOUND)
        goto out;
    krc_error_clear(err);
    uint32_t start = krc_ipam_net_next(&ipam->net, read_last(dirfd));
    uint32_t a = start;
    rc = krc_error_set(err, KRC_ERANGE, "ipam %s: no free address for pod %s", ipam->dir, uid);
    while (a) {
        int c = claim(dirfd, a, uid, err);
        if (c == 0) {
            krc_error_clear(err);
            write_last(dirfd, a);
            *addr = a;
            rc = 0;
            break;
        }
        if (c != KRC_EEXIST) {
            rc = c;
            break;
        }
        a = krc_ipam_net_next(&ipam->net, a);
        if (a == start)
            break;
    }
out:
    close(dirfd);
    return rc;
}

int krc_ipam_reserve(const struct krc_ipam *ipam, const char *uid, uint32_t addr,
                     struct krc_error *err)
{
    char name[KRC_IPAM_ADDR_MAX], owner[UID_MAX_LEN + 2];
    int rc = check_uid(uid, err);
    if (rc)
        return rc;
    krc_ipam_format(addr, name);
    if (!krc_ipam_net_allocatable(&ipam->net, addr))
        return krc_error_set(err, KRC_EINVAL, "ipam: %s is outside the pod range", name);
    int dirfd = open_dir(ipam, err);
    if (dirfd < 0)
        return dirfd;
    rc = claim(dirfd, addr, uid, err);
    if (rc == KRC_EEXIST) {
        if (read_owner(dirfd, name, owner, sizeof(owner)) == 0 && strcmp(owner, uid) == 0)
            rc = 0;
        else
            rc = krc_error_set(err, KRC_EEXIST, "ipam: %s is already used by pod %s", name, owner);
    }
    close(dirfd);
    return rc;
}

static int unlink_addr(int dirfd, const char *name, uint32_t addr, void *arg)
{
    (void)addr;
    struct krc_error *err = arg;
    if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
        return krc_error_set(err, KRC_EIO, "ipam: remove %s: %s", name, strerror(errno));
    return 0;
}

int krc_ipam_release(const struct krc_ipam *ipam, const char *uid, struct krc_error *err)
{
    int rc = check_uid(uid, err);
    if (rc)
        return rc;
    int dirfd = open_dir(ipam, err);
    if (dirfd < 0)
        return dirfd;
    rc = scan_owned(ipam, dirfd, uid, unlink_addr, err, err);
    close(dirfd);
    return rc;
}
