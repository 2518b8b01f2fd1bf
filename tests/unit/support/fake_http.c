/* fake_http.c - loopback listener and request helpers for the unit tests' fake servers (see
 * fake_http.h). */
#include "fake_http.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { FAKE_BACKLOG = 16, FAKE_POLL_MS = 50 };

int fake_listen_loopback(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t alen = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, FAKE_BACKLOG), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void *accept_loop(void *arg)
{
    struct fake_listener *l = arg;
    while (!atomic_load(&l->stop)) {
        struct pollfd p = {l->fd, POLLIN, 0};
        if (poll(&p, 1, FAKE_POLL_MS) <= 0)
            continue;
        int fd = accept(l->fd, NULL, NULL);
        if (fd < 0)
            continue;
        l->on_conn(l->arg, fd);
        close(fd);
    }
    return NULL;
}

void fake_listener_start(struct fake_listener *l, fake_conn_fn on_conn, void *arg)
{
    l->on_conn = on_conn;
    l->arg = arg;
    atomic_init(&l->stop, 0);
    l->fd = fake_listen_loopback(&l->port);
    assert_int_equal(pthread_create(&l->th, NULL, accept_loop, l), 0);
}

void fake_listener_stop(struct fake_listener *l)
{
    atomic_store(&l->stop, 1);
    assert_int_equal(pthread_join(l->th, NULL), 0);
    close(l->fd);
}

int fake_listener_stopping(struct fake_listener *l)
{
    return atomic_load(&l->stop);
}

void fake_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void fake_write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

void fake_header_value(const char *req, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    const char *p = strstr(req, name);
    if (!p)
        return;
    p += strlen(name);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

int fake_read_request(int fd, char *buf, size_t size)
{
    size_t len = 0;
    char *end = NULL;
    buf[0] = '\0';
    while (!end) {
        if (len + 1 >= size)
            return -1;
        ssize_t r = recv(fd, buf + len, size - 1 - len, 0);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    char cl[32];
    fake_header_value(buf, "\r\nContent-Length:", cl, sizeof(cl));
    size_t want = (size_t)(end + 4 - buf) + (size_t)atol(cl);
    while (len < want && len + 1 < size) {
        ssize_t r = recv(fd, buf + len, size - 1 - len, 0);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
    }
    return 0;
}

void fake_hold_open(struct fake_listener *l, int fd)
{
    while (!fake_listener_stopping(l)) {
        struct pollfd p = {fd, POLLIN, 0};
        char b[64];
        if (poll(&p, 1, FAKE_POLL_MS) > 0 && recv(fd, b, sizeof(b), 0) <= 0)
            break;
    }
}
