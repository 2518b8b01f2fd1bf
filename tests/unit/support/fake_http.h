/* fake_http.h - test support for unit tests that talk to a fake server on loopback (HTTP, TLS,
 * the Ray dashboard): a listening socket on 127.0.0.1 with an ephemeral port, an accept thread
 * that hands each connection to the test's handler and stops on request, and the small pieces
 * every fake server needs (write everything, read one request, pick a header, sleep, hold a
 * stream open). Setup failures are cmocka assertion failures. Not a test binary: it is built
 * into the krc_unit_support library that every tests/unit/test_*.c links. */
#ifndef KRC_TESTS_UNIT_SUPPORT_FAKE_HTTP_H
#define KRC_TESTS_UNIT_SUPPORT_FAKE_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

/* Handles one accepted connection; the listener closes fd when it returns. */
typedef void (*fake_conn_fn)(void *arg, int fd);

struct fake_listener {
    int fd, port;
    pthread_t th;
    atomic_int stop;
    fake_conn_fn on_conn;
    void *arg;
};

/* A socket listening on 127.0.0.1 with a free port (stored in *port), backlog 16. */
int fake_listen_loopback(int *port);

/* Listens on loopback and starts a thread that accepts connections one at a time and passes
 * each to on_conn(arg, fd) until fake_listener_stop. */
void fake_listener_start(struct fake_listener *l, fake_conn_fn on_conn, void *arg);

/* Asks the thread to stop (handlers see fake_listener_stopping), joins it and closes the socket. */
void fake_listener_stop(struct fake_listener *l);

int fake_listener_stopping(struct fake_listener *l);

void fake_sleep_ms(long ms);

/* Sends all n bytes; gives up quietly when the client has gone (fine for a test server). */
void fake_write_all(int fd, const char *s, size_t n);

/* Copies the value of the header line starting with name (e.g. "\r\nAuthorization:") in req into
 * out, leading blanks skipped, cut to size; "" when absent. */
void fake_header_value(const char *req, const char *name, char *out, size_t size);

/* Reads one request (headers and a Content-Length body) into buf, NUL-terminated. 0, or -1 when
 * the client hung up first or the request does not fit. */
int fake_read_request(int fd, char *buf, size_t size);

/* Keeps a connection open until the client hangs up or fake_listener_stopping(l). */
void fake_hold_open(struct fake_listener *l, int fd);

#endif
