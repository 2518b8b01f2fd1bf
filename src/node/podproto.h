/* podproto.h - the protocol between the agent and a pod supervisor, on the unix socket
 * <pod state dir>/sock.
 *
 * One request per connection: the client connects, writes one JSON object and a newline, reads
 * one JSON object and a newline, and closes. Connection-per-request keeps the supervisor's loop
 * free of per-client session state, and a restarted agent simply connects again. The one
 * exception is "watch", which stays open until the pod's state changes. Lines are capped at 1 MiB.
 *
 * Requests ("op"):
 *   hello                                   -> {"ok":true,"uid":...,"containers":N,
 *                                               "generation":G,"status_requests":R}
 *            (R: "status" requests served so far, for tests and debugging)
 *   start    {"container":{name,argv,env,workdir}} -> {"ok":true,"status":{...}}
 *   status   {"name":... (optional)}        -> {"ok":true,"containers":[{...}]}
 *   stop     {"name":...,"grace":seconds}   -> {"ok":true}  (SIGTERM now, SIGKILL at the deadline)
 *   shutdown {"grace":seconds}              -> {"ok":true}  (stop all, then the supervisor exits)
 *   watch    {"generation":G}               -> {"ok":true,"generation":N} once the supervisor's
 *            status generation N differs from G (at once if it already does). N grows by one or
 *            more on every change of a container state (started, exited, stop requested,
 *            shutdown); the connection stays open until then, so a client blocks on it instead
 *            of polling "status". Supervisors that predate it answer "unknown op".
 * Errors: {"ok":false,"code":<KRC_E* value>,"error":"message naming the object and the cause"}. */
#ifndef KRC_NODE_PODPROTO_H
#define KRC_NODE_PODPROTO_H

#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stddef.h>

#define KRC_PODPROTO_LINE_MAX (1 << 20)
#define KRC_PODPROTO_SOCKET   "sock"

/* Appends doc as one compact line (JSON + '\n') to out. */
int krc_podproto_encode(json_t *doc, struct krc_strbuf *out, struct krc_error *err);
/* Parses one line (without its newline). */
int krc_podproto_decode(const char *line, size_t len, json_t **out, struct krc_error *err);

/* {"ok":false,"code":code,"error":msg}; NULL on allocation failure. */
json_t *krc_podproto_error(int code, const char *msg);
/* Returns 0 if resp says ok, else fills err from its code and message. */
int krc_podproto_check(json_t *resp, struct krc_error *err);

/* Sends req to the supervisor listening at socket_path and returns its response in *resp
 * (json_decref it), after krc_podproto_check. Waits at most timeout_ms for each of connect,
 * send and receive. KRC_ENOTFOUND when nobody listens there. */
int krc_podproto_call(const char *socket_path, json_t *req, json_t **resp, int timeout_ms,
                      struct krc_error *err);
/* The two halves of krc_podproto_call, for a request whose answer comes later (watch): send
 * connects and writes req, returning the connected socket in *fd (its receive timeout is
 * timeout_ms); recv reads and checks the response line from it. The caller closes fd. */
int krc_podproto_send(const char *socket_path, json_t *req, int timeout_ms, int *fd,
                      struct krc_error *err);
int krc_podproto_recv(int fd, const char *socket_path, json_t **resp, struct krc_error *err);

#endif
