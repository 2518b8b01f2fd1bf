/* podnet.c - bridge and veth plumbing over rtnetlink (see podnet.h for the topology).
 *
 * Why libnl-route-3 rather than libmnl or `ip`: libnl gives typed link/address/route objects,
 * including a veth whose peer is created directly inside another network namespace (so the peer
 * can be called eth0 without clashing with the host's eth0), which keeps this file to the
 * topology instead of attribute encoding; libmnl would need every RTM_NEWLINK/IFLA_LINKINFO/
 * IFLA_VETH_PEER nest built by hand, and shelling out to `ip` would add a fork per step, parse
 * text for errors and depend on PATH. The cost is a larger dependency (libnl-3 + libnl-route-3,
 * both Debian packages) and libnl's own error codes, which are mapped to KRC_E* here.
 *
 * Configuring the pod side needs a netlink socket inside the pod's network namespace: the calling
 * thread enters the namespace with setns(2), opens the socket (a socket stays bound to the
 * namespace it was created in) and returns at once. That is why this file needs _GNU_SOURCE. */
#define _GNU_SOURCE
#include "node/podnet.h"

#include "node/ipam.h"
#include "util/hash.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

/* Fills err with "<context>: <libnl error>" and returns the mapped KRC code. */
static int nl_fail(struct krc_error *err, int nlrc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int nl_fail(struct krc_error *err, int nlrc, const char *fmt, ...)
{
    char ctx[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    int e = nlrc < 0 ? -nlrc : nlrc;
    int code = e == NLE_EXIST          ? KRC_EEXIST
               : e == NLE_OBJ_NOTFOUND ? KRC_ENOTFOUND
               : e == NLE_NODEV        ? KRC_ENOTFOUND
               : e == NLE_NOMEM        ? KRC_ENOMEM
                                       : KRC_EIO;
    return krc_error_set(err, code, "%s: %s", ctx, nl_geterror(e));
}

static int not_found(int nlrc)
{
    return nlrc == -NLE_OBJ_NOTFOUND || nlrc == -NLE_NODEV;
}

int krc_podnet_valid_ifname(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= KRC_PODNET_IFNAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

void krc_podnet_veth_name(const char *bridge, const char *uid, char out[KRC_PODNET_IFNAME_MAX])
{
    uint64_t h = krc_fnv1a64_str(KRC_FNV1A64_INIT, bridge);
    h = krc_fnv1a64_str(krc_fnv1a64_str(h, "/"), uid);
    snprintf(out, KRC_PODNET_IFNAME_MAX, "kv%012llx", (unsigned long long)(h >> 16));
}

static int sock_open(struct nl_sock **out, struct krc_error *err)
{
    struct nl_sock *sk = nl_socket_alloc();
    if (!sk)
        return krc_error_set(err, KRC_ENOMEM, "netlink: socket: out of memory");
    int rc = nl_connect(sk, NETLINK_ROUTE);
    if (rc < 0) {
        nl_socket_free(sk);
        return nl_fail(err, rc, "netlink: connect");
    }
    *out = sk;
    return 0;
}

/* Opens a route socket inside the network namespace of pid (see the file comment). */
static int sock_open_in(pid_t pid, struct nl_sock **out, struct krc_error *err)
{
    char path[64];
    int rc = 0, self = -1, target = -1;
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
    self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) {
        rc = krc_error_set(err, KRC_EIO, "open own netns: %s", strerror(errno));
        goto out;
    }
    target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        rc = krc_error_set(err, KRC_EIO, "open %s: %s", path, strerror(errno));
        goto out;
    }
    if (setns(target, CLONE_NEWNET) != 0) {
        rc = krc_error_set(err, KRC_EIO, "setns %s: %s", path, strerror(errno));
        goto out;
    }
    rc = sock_open(out, err);
    if (setns(self, CLONE_NEWNET) != 0) {
        /* Carrying on in a pod's namespace would configure the wrong network from here on. */
        KRC_LOG_ERROR("cannot return to the agent's network namespace", "error", strerror(errno));
        abort();
    }
out:
    if (self >= 0)
        close(self);
    if (target >= 0)
        close(target);
    return rc;
}

static struct nl_addr *ip4_addr(uint32_t ip, int prefix)
{
    uint32_t be = htonl(ip);
    struct nl_addr *a = nl_addr_build(AF_INET, &be, sizeof(be));
    if (a)
        nl_addr_set_prefixlen(a, prefix);
    return a;
}

static int link_set_up(struct nl_sock *sk, struct rtnl_link *link, const char *what,
                       struct krc_error *err)
{
    struct rtnl_link *change = rtnl_link_alloc();
    if (!change)
        return krc_error_set(err, KRC_ENOMEM, "%s: up: out of memory", what);
    rtnl_link_set_flags(change, IFF_UP);
    int rc = rtnl_link_change(sk, link, change, 0);
    rtnl_link_put(change);
    return rc < 0 ? nl_fail(err, rc, "%s: set up", what) : 0;
}

static int addr_add(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix, const char *what,
                    struct krc_error *err)
{
    int rc = 0;
    struct rtnl_addr *a = rtnl_addr_alloc();
    struct nl_addr *local = ip4_addr(ip, prefix);
    if (!a || !local) {
        rc = krc_error_set(err, KRC_ENOMEM, "%s: address: out of memory", what);
        goto out;
    }
    rtnl_addr_set_ifindex(a, ifindex);
    rtnl_addr_set_family(a, AF_INET);
    rtnl_addr_set_prefixlen(a, prefix);
    rc = rtnl_addr_set_local(a, local);
    if (rc >= 0)
        rc = rtnl_addr_add(sk, a, 0);
    if (rc == -NLE_EXIST)
        rc = 0;
    if (rc < 0) {
        char s[KRC_IPAM_ADDR_MAX];
        krc_ipam_format(ip, s);
        rc = nl_fail(err, rc, "%s: add address %s/%d", what, s, prefix);
    }
out:
    if (local)
        nl_addr_put(local);
    if (a)
        rtnl_addr_put(a);
    return rc;
}

/* Writes a sysctl of an interface, e.g. net/ipv4/conf/<if>/forwarding. */
static int write_sysctl(const char *path, const char *value, struct krc_error *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return krc_error_set(err, KRC_EIO, "open %s: %s", path, strerror(errno));
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    int saved = errno;
    close(fd);
    if (n != (ssize_t)len)
        return krc_error_set(err, KRC_EIO, "write %s: %s", path, strerror(saved));
    return 0;
}

/* Checks every IPv4 address of the host against the pod network: the bridge may already carry
 * exactly gateway/prefix (*has_addr = 1); any other overlap is a conflict. */
static int check_addresses(struct nl_sock *sk, const char *bridge, int br_index, uint32_t gateway,
                           int prefix, int *has_addr, struct krc_error *err)
{
    struct nl_cache *cache = NULL;
    int rc = rtnl_addr_alloc_cache(sk, &cache);
    if (rc < 0)
        return nl_fail(err, rc, "bridge %s: list addresses", bridge);
    *has_addr = 0;
    rc = 0;
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        struct nl_addr *local = rtnl_addr_get_local(a);
        if (rtnl_addr_get_family(a) != AF_INET || !local || nl_addr_get_len(local) != 4)
            continue;
        uint32_t be;
        memcpy(&be, nl_addr_get_binary_addr(local), 4);
        uint32_t ip = ntohl(be);
        int plen = rtnl_addr_get_prefixlen(a);
        char s[KRC_IPAM_ADDR_MAX];
        krc_ipam_format(ip, s);
        if (br_index > 0 && rtnl_addr_get_ifindex(a) == br_index) {
            if (ip == gateway && plen == prefix) {
                *has_addr = 1;
                continue;
            }
            rc = krc_error_set(err, KRC_EEXIST, "bridge %s: already has address %s/%d", bridge, s,
                               plen);
            break;
        }
        if (krc_ipam_overlaps(ip, plen, gateway, prefix)) {
            char ifname[KRC_PODNET_IFNAME_MAX] = "?";
            if (!if_indextoname((unsigned)rtnl_addr_get_ifindex(a), ifname))
                snprintf(ifname, sizeof(ifname), "#%d", rtnl_addr_get_ifindex(a));
            rc = krc_error_set(err, KRC_EEXIST,
                               "bridge %s: pod network overlaps %s/%d on %s; choose another CIDR",
                               bridge, s, plen, ifname);
            break;
        }
    }
    nl_cache_free(cache);
    return rc;
}

static void warn_global_forwarding(void)
{
    char buf[4] = "";
    int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n > 0 && buf[0] == '1')
        KRC_LOG_WARN("net.ipv4.ip_forward is 1 on this host; pod traffic is still kept local by "
                     "forwarding=0 on the pod bridge, but a later global write resets that");
}

int krc_podnet_bridge_ensure(const char *bridge, uint32_t gateway, int prefix,
                             struct krc_error *err)
{
    struct nl_sock *sk = NULL;
    struct rtnl_link *link = NULL;
    char path[128];
    int has_addr = 0;
    if (!krc_podnet_valid_ifname(bridge))
        return krc_error_set(err, KRC_EINVAL, "bridge %s: not a valid interface name",
                             bridge ? bridge : "(null)");
    int rc = sock_open(&sk, err);
    if (rc)
        return rc;
    rc = rtnl_link_get_kernel(sk, 0, bridge, &link);
    if (rc < 0 && !not_found(rc)) {
        rc = nl_fail(err, rc, "bridge %s: get", bridge);
        goto out;
    }
    if (rc < 0) {
        rc = check_addresses(sk, bridge, 0, gateway, prefix, &has_addr, err);
        if (rc)
            goto out;
        rc = rtnl_link_bridge_add(sk, bridge);
        if (rc < 0 && rc != -NLE_EXIST) {
            rc = nl_fail(err, rc, "bridge %s: create", bridge);
            goto out;
        }
        rc = rtnl_link_get_kernel(sk, 0, bridge, &link);
        if (rc < 0) {
            rc = nl_fail(err, rc, "bridge %s: get after create", bridge);
            goto out;
        }
        KRC_LOG_INFO("created pod bridge", "bridge", bridge);
    }
    const char *type = rtnl_link_get_type(link);
    if (!type || strcmp(type, "bridge") != 0) {
        rc = krc_error_set(err, KRC_EINVAL, "bridge %s: an interface of type %s has that name",
                           bridge, type ? type : "unknown");
        goto out;
    }
    rc = check_addresses(sk, bridge, rtnl_link_get_ifindex(link), gateway, prefix, &has_addr, err);
    if (rc)
        goto out;
    /* Forwarding off on the bridge is what keeps pod traffic on this machine. */
    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", bridge);
    rc = write_sysctl(path, "0", err);
    if (rc)
        goto out;
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", bridge);
    if (access(path, F_OK) == 0) {
        rc = write_sysctl(path, "1", err);
        if (rc)
            goto out;
    }
    if (!has_addr) {
        rc = addr_add(sk, rtnl_link_get_ifindex(link), gateway, prefix, bridge, err);
        if (rc)
            goto out;
    }
    rc = link_set_up(sk, link, bridge, err);
    if (rc == 0)
        warn_global_forwarding();
out:
    if (link)
        rtnl_link_put(link);
    nl_socket_free(sk);
    return rc;
}

static int link_delete(const char *name, const char *what, struct krc_error *err)
{
    struct nl_sock *sk = NULL;
    struct rtnl_link *link = NULL;
    int rc = sock_open(&sk, err);
    if (rc)
        return rc;
    rc = rtnl_link_get_kernel(sk, 0, name, &link);
    if (rc < 0) {
        rc = not_found(rc) ? 0 : nl_fail(err, rc, "%s %s: get", what, name);
        goto out;
    }
    rc = rtnl_link_delete(sk, link);
    if (rc < 0)
        rc = not_found(rc) ? 0 : nl_fail(err, rc, "%s %s: delete", what, name);
out:
    if (link)
        rtnl_link_put(link);
    nl_socket_free(sk);
    return rc;
}

/* Counts the interfaces enslaved to ifindex; -1 with err set on failure. */
static int count_ports(struct nl_sock *sk, const char *bridge, int ifindex, struct krc_error *err)
{
    struct nl_cache *cache = NULL;
    int rc = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
    if (rc < 0) {
        nl_fail(err, rc, "bridge %s: list links", bridge);
        return -1;
    }
    int n = 0;
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
        n += rtnl_link_get_master((struct rtnl_link *)o) == ifindex;
    nl_cache_free(cache);
    return n;
}

int krc_podnet_bridge_delete(const char *bridge, struct krc_error *err)
{
    struct nl_sock *sk = NULL;
    struct rtnl_link *link = NULL;
    if (!krc_podnet_valid_ifname(bridge))
        return krc_error_set(err, KRC_EINVAL, "bridge %s: not a valid interface name",
                             bridge ? bridge : "(null)");
    int rc = sock_open(&sk, err);
    if (rc)
        return rc;
    rc = rtnl_link_get_kernel(sk, 0, bridge, &link);
    if (rc < 0) {
        rc = not_found(rc) ? 0 : nl_fail(err, rc, "bridge %s: get", bridge);
        goto out;
    }
    int ports = count_ports(sk, bridge, rtnl_link_get_ifindex(link), err);
    if (ports != 0) {
        rc = ports < 0 ? KRC_EIO
                       : krc_error_set(err, KRC_EEXIST, "bridge %s: %d interfaces still attached",
                                       bridge, ports);
        goto out;
    }
    rc = rtnl_link_delete(sk, link);
    if (rc < 0)
        rc = not_found(rc) ? 0 : nl_fail(err, rc, "bridge %s: delete", bridge);
    else
        KRC_LOG_INFO("deleted pod bridge", "bridge", bridge);
out:
    if (link)
        rtnl_link_put(link);
    nl_socket_free(sk);
    return rc;
}

int krc_podnet_detach(const char *veth, struct krc_error *err)
{
    if (!krc_podnet_valid_ifname(veth))
        return krc_error_set(err, KRC_EINVAL, "veth %s: not a valid interface name",
                             veth ? veth : "(null)");
    return link_delete(veth, "veth", err);
}

int krc_podnet_link_exists(const char *name)
{
    return krc_podnet_valid_ifname(name) && if_nametoindex(name) != 0;
}

static int route_add_default(struct nl_sock *sk, int ifindex, uint32_t gateway,
                             struct krc_error *err)
{
    int rc = 0;
    uint32_t zero = 0;
    struct rtnl_route *r = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    struct nl_addr *dst = nl_addr_build(AF_INET, &zero, sizeof(zero));
    struct nl_addr *gw = ip4_addr(gateway, 32);
    if (!r || !nh || !dst || !gw) {
        rc = krc_error_set(err, KRC_ENOMEM, "pod eth0: default route: out of memory");
        goto out;
    }
    nl_addr_set_prefixlen(dst, 0);
    rtnl_route_set_family(r, AF_INET);
    rtnl_route_set_table(r, RT_TABLE_MAIN);
    rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
    rtnl_route_set_protocol(r, RTPROT_BOOT);
    rtnl_route_set_type(r, RTN_UNICAST);
    rc = rtnl_route_set_dst(r, dst);
    if (rc < 0)
        goto fail;
    rtnl_route_nh_set_ifindex(nh, ifindex);
    rtnl_route_nh_set_gateway(nh, gw);
    rtnl_route_add_nexthop(r, nh);
    nh = NULL; /* owned by the route now */
    rc = rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_EXCL);
    if (rc == -NLE_EXIST)
        rc = 0;
fail:
    if (rc < 0)
        rc = nl_fail(err, rc, "pod eth0: add default route");
out:
    if (nh)
        rtnl_route_nh_free(nh);
    if (gw)
        nl_addr_put(gw);
    if (dst)
        nl_addr_put(dst);
    if (r)
        rtnl_route_put(r);
    return rc;
}

/* Configures lo and eth0 inside the pod's namespace through psk. */
static int configure_pod_side(struct nl_sock *psk, uint32_t ip, int prefix, uint32_t gateway,
                              struct krc_error *err)
{
    struct rtnl_link *lo = NULL, *eth0 = NULL;
    int rc = rtnl_link_get_kernel(psk, 0, "lo", &lo);
    if (rc < 0) {
        rc = nl_fail(err, rc, "pod lo: get");
        goto out;
    }
    rc = link_set_up(psk, lo, "pod lo", err);
    if (rc)
        goto out;
    rc = rtnl_link_get_kernel(psk, 0, "eth0", &eth0);
    if (rc < 0) {
        rc = nl_fail(err, rc, "pod eth0: get");
        goto out;
    }
    rc = addr_add(psk, rtnl_link_get_ifindex(eth0), ip, prefix, "pod eth0", err);
    if (rc)
        goto out;
    rc = link_set_up(psk, eth0, "pod eth0", err);
    if (rc)
        goto out;
    rc = route_add_default(psk, rtnl_link_get_ifindex(eth0), gateway, err);
out:
    if (lo)
        rtnl_link_put(lo);
    if (eth0)
        rtnl_link_put(eth0);
    return rc;
}

int krc_podnet_attach(const char *bridge, const char *veth, pid_t pid, uint32_t ip, int prefix,
                      uint32_t gateway, struct krc_error *err)
{
    struct nl_sock *sk = NULL, *psk = NULL;
    struct rtnl_link *br = NULL, *link = NULL, *peer = NULL, *host = NULL;
    int created = 0;
    if (!krc_podnet_valid_ifname(bridge) || !krc_podnet_valid_ifname(veth) || pid <= 0)
        return krc_error_set(err, KRC_EINVAL, "veth %s: bad bridge, name or pid",
                             veth ? veth : "(null)");
    int rc = sock_open(&sk, err);
    if (rc)
        return rc;
    rc = rtnl_link_get_kernel(sk, 0, bridge, &br);
    if (rc < 0) {
        rc = nl_fail(err, rc, "veth %s: bridge %s", veth, bridge);
        goto out;
    }
    link = rtnl_link_veth_alloc();
    if (!link) {
        rc = krc_error_set(err, KRC_ENOMEM, "veth %s: out of memory", veth);
        goto out;
    }
    peer = rtnl_link_veth_get_peer(link);
    rtnl_link_set_name(link, veth);
    rtnl_link_set_master(link, rtnl_link_get_ifindex(br));
    rtnl_link_set_name(peer, "eth0");
    rtnl_link_set_ns_pid(peer, pid);
    rc = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
    if (rc < 0) {
        rc = nl_fail(err, rc, "veth %s: create with eth0 in pid %d's namespace", veth, (int)pid);
        goto out;
    }
    created = 1;
    rc = rtnl_link_get_kernel(sk, 0, veth, &host);
    if (rc < 0) {
        rc = nl_fail(err, rc, "veth %s: get after create", veth);
        goto out;
    }
    rc = link_set_up(sk, host, veth, err);
    if (rc)
        goto out;
    rc = sock_open_in(pid, &psk, err);
    if (rc)
        goto out;
    rc = configure_pod_side(psk, ip, prefix, gateway, err);
out:
    if (rc && created) {
        struct krc_error ignored;
        if (krc_podnet_detach(veth, &ignored))
            KRC_LOG_WARN("could not delete veth after a failed attach", "veth", veth, "error",
                         ignored.msg);
    }
    if (psk)
        nl_socket_free(psk);
    if (host)
        rtnl_link_put(host);
    if (peer)
        rtnl_link_put(peer);
    if (link)
        rtnl_link_put(link);
    if (br)
        rtnl_link_put(br);
    nl_socket_free(sk);
    return rc;
}
