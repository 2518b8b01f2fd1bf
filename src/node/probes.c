/* probes.c - one run of an exec, httpGet or tcpSocket probe.
 *
 * exec probes run inside the pod as a short-lived container named by the caller (the supervisor
 * is the only way into the pod's namespaces); its log file is removed after each run so probes
 * leave nothing behind. httpGet and tcpSocket connect from the host to the pod IP over the
 * bridge. Named ports are looked up in the container's ports. Every run is bounded by the
 * probe's timeoutSeconds. */
#define _GNU_SOURCE
#include "node/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port_of(json_t *port, json_t *container)
{
    if (json_is_integer(port))
        return (int)json_integer_value(port);
    const char *name = json_string_value(port);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(container, "ports"), i, p)
    {
        const char *n = krc_json_str(p, "name");
        if (name && n && strcmp(n, name) == 0)
            return (int)krc_json_int(p, "containerPort", 0);
    }
    return name ? atoi(name) : 0;
}

static int connect_to(const char *ip, int port, int timeout_ms)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1 || port <= 0)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 && errno != EINPROGRESS)
        goto fail;
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (poll(&pfd, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
        soerr != 0)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

static int http_probe(const char *ip, int port, const char *path, int timeout_ms)
{
    int fd = connect_to(ip, port, timeout_ms);
    if (fd < 0)
        return 0;
    char req[1200];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: kube-probe/1.35\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n",
                     path && *path ? path : "/", ip, port);
    int ok = 0;
    if (n > 0 && n < (int)sizeof(req) && write(fd, req, (size_t)n) == n) {
        char buf[64] = {0};
        size_t got = 0;
        int64_t deadline = krc_agent_now_ms() + timeout_ms;
        while (got < 12) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int left = (int)(deadline - krc_agent_now_ms());
            if (left <= 0 || poll(&pfd, 1, left) != 1)
                break;
            ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        int code = 0;
        if (got >= 12 && sscanf(buf, "HTTP/%*s %d", &code) == 1)
            ok = code >= 200 && code < 400;
        /* Read the rest (up to 64 KiB) so closing does not reset the server's connection. */
        char drain[4096];
        for (int budget = 16; budget > 0; budget--) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int left = (int)(deadline - krc_agent_now_ms());
            if (left <= 0 || poll(&pfd, 1, left) != 1 || read(fd, drain, sizeof(drain)) <= 0)
                break;
        }
    }
    close(fd);
    return ok;
}

static int exec_probe(struct krc_sandbox *sb, json_t *cmd, const char *name, int timeout_ms)
{
    size_t n = json_array_size(cmd);
    if (n == 0 || n > 256)
        return 0;
    const char *argv[257];
    for (size_t i = 0; i < n; i++)
        argv[i] = json_string_value(json_array_get(cmd, i))
                      ? json_string_value(json_array_get(cmd, i))
                      : "";
    argv[n] = NULL;
    const char *env[] = {"KRC_PROBE=1"};
    struct krc_container_spec spec = {
        .name = name, .argv = argv, .argc = n, .env = env, .envc = 1, .workdir = NULL};
    struct krc_container_status st;
    struct krc_error err = {0};
    if (krc_sandbox_start_container(sb, &spec, &st, &err) != 0)
        return 0;
    int ok = 0;
    if (krc_sandbox_wait_container(sb, name, timeout_ms, &st, &err) == 0)
        ok = st.state == KRC_CONTAINER_EXITED && st.exit_code == 0;
    else
        krc_sandbox_stop_container(sb, name, 0, &err);
    char path[1024];
    if (krc_sandbox_log_path(sb, name, st.restart_count, path, sizeof(path)) == 0)
        unlink(path);
    return ok;
}

int krc_probe_run(struct krc_sandbox *sb, const char *pod_ip, json_t *probe, json_t *container,
                  const char *probe_name)
{
    int timeout_ms = (int)krc_json_int(probe, "timeoutSeconds", 1) * 1000;
    json_t *x;
    if ((x = json_object_get(probe, "exec")))
        return exec_probe(sb, json_object_get(x, "command"), probe_name, timeout_ms);
    if ((x = json_object_get(probe, "httpGet")))
        return http_probe(pod_ip, port_of(json_object_get(x, "port"), container),
                          krc_json_str(x, "path"), timeout_ms);
    if ((x = json_object_get(probe, "tcpSocket"))) {
        int fd = connect_to(pod_ip, port_of(json_object_get(x, "port"), container), timeout_ms);
        if (fd >= 0)
            close(fd);
        return fd >= 0;
    }
    return 0;
}
