/* kubeletserver.c - the part of the kubelet's HTTPS API the API server calls for `kubectl logs`,
 * `kubectl exec` and `kubectl port-forward`:
 *   GET /containerLogs/<namespace>/<pod>/<container>?follow=&previous=&tailLines=&limitBytes=
 * served from the container log files the supervisor writes (<pod dir>/logs/<c>/<restart>.log);
 *   POST /exec/<namespace>/<pod>/<container>?command=..&input=1&output=1&error=1&tty=1
 * an HTTP upgrade to SPDY/3.1 with stream protocol v4.channel.k8s.io (what kube-apiserver
 * v1.35 speaks to kubelets for exec, also when kubectl talks WebSocket to it), served by
 * execsession.c on a thread of its own per session;
 *   POST /portForward/<namespace>/<pod>
 * an HTTP upgrade to SPDY/3.1 with stream protocol portforward.k8s.io (what kube-apiserver v1.35
 * speaks to kubelets for port-forward, also when kubectl tunnels SPDY through WebSocket to it),
 * served by portforward.c on a thread of its own per session in the pod's network namespace.
 *
 * TLS with client-certificate authentication (tlsfront.c, which owns the listening socket on the
 * node's bridge address and hands each verified connection over as a plaintext socketpair): only
 * clients whose certificate chains to the cluster CA are answered (the API server's kubelet-client
 * certificate); there is no per-request authorisation (the kubelet's SubjectAccessReview), which
 * is what a real cluster adds. libmicrohttpd without TLS (see tlsfront.c for why) and with a
 * thread per connection, so a follow stream may simply sleep while waiting for more output; an
 * upgraded connection is then the socketpair itself. attach is not served, nor the kubelet's
 * WebSocket port-forward (a client speaking WebSocket to the API server without the SPDY tunnel,
 * which the API server passes through to the kubelet as it is). */
#define _GNU_SOURCE
#include "node/kubeletserver.h"

#include "node/execsession.h"
#include "node/podproto.h"
#include "node/podjson.h"
#include "node/podworker.h"
#include "node/portforward.h"
#include "node/tlsfront.h"
#include "util/fileio.h"
#include "util/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_MAX        (64 * 1024)
#define LOG_READ_MAX   (16 * 1024 * 1024) /* a non-follow answer holds at most this much */
#define FOLLOW_POLL_US (200 * 1000)
#define EXEC_MAX_ARGS  1024
/* Per connection: the request, and the write buffer of a log answer. */
#define CONNECTION_MEMORY   (128 * 1024)
#define SESSION_STOP_WAIT_S 5

/* One exec or port-forward from the HTTP request to the end of its SPDY session. */
struct stream_job {
    struct krc_kubeletserver *ks;
    struct stream_job *next;           /* in ks->sessions once upgraded */
    int portforward;                   /* which of the two: pf or req */
    struct krc_portforward_request pf; /* pf.netns_fd is the job's: closed with it */
    char pod_id[80];
    struct krc_exec_request req;
    char socket_path[1200];
    char container[KRC_POD_NAME_MAX];
    const char *argv[EXEC_MAX_ARGS + 1];
    char *argv_store[EXEC_MAX_ARGS];
    char *extra;
    size_t extra_len;
    int sock;
    struct MHD_UpgradeResponseHandle *urh;
};

struct krc_kubeletserver {
    struct MHD_Daemon *daemon;
    struct krc_tlsfront *front;
    pthread_mutex_t add_mu; /* serialises MHD_add_connection */
    struct krc_agent *agent;
    struct krc_strbuf cert, key, ca;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct stream_job *sessions; /* running sessions, guarded by mu */
};

/* The pod directory of ns/name on this node, from the worker list. */
static int pod_dir(struct krc_agent *a, const char *ns, const char *name, char *out, size_t len)
{
    int found = 0;
    pthread_mutex_lock(&a->mu);
    for (struct krc_podworker *w = a->workers; w; w = w->next)
        if (strcmp(w->ns, ns) == 0 && strcmp(w->name, name) == 0) {
            snprintf(out, len, "%s/pods/%s", krc_node_state_root(a->node), w->uid);
            found = 1;
            break;
        }
    pthread_mutex_unlock(&a->mu);
    return found;
}

/* The highest (back = 0) or second highest (back = 1) restart number with a log file. */
static int pick_log(const char *dir, int back)
{
    DIR *d = opendir(dir);
    int best = -1, second = -1;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        char *end;
        long n = strtol(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".log") != 0 || n < 0 || n > 1000000)
            continue;
        if (n > best) {
            second = best;
            best = (int)n;
        } else if (n > second)
            second = (int)n;
    }
    closedir(d);
    return back ? second : best;
}

/* Offset where the last `lines` lines of fd's content start. */
static off_t tail_offset(int fd, long lines)
{
    off_t size = lseek(fd, 0, SEEK_END), pos = size;
    char buf[4096];
    long seen = 0;
    if (lines < 0 || size <= 0)
        return 0;
    while (pos > 0) {
        size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
        pos -= (off_t)chunk;
        if (pread(fd, buf, chunk, pos) != (ssize_t)chunk)
            return 0;
        for (size_t i = chunk; i-- > 0;) {
            if (buf[i] != '\n' || pos + (off_t)i == size - 1)
                continue;
            if (++seen == lines)
                return pos + (off_t)i + 1;
        }
    }
    return 0;
}

struct follow {
    int fd;
    char pod_dir[1024];
    char container[KRC_POD_NAME_MAX];
    int restart;
};

/* 1 while the container's run that writes this log may still write. */
static int still_writing(struct follow *f)
{
    char dir[1200];
    snprintf(dir, sizeof(dir), "%s/logs/%s", f->pod_dir, f->container);
    if (access(f->pod_dir, F_OK) != 0 || pick_log(dir, 0) != f->restart)
        return 0;
    int dfd = open(f->pod_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    json_t *doc = NULL;
    struct krc_container_status *st = NULL;
    size_t n = 0;
    int running = 1;
    if (dfd >= 0 && krc_podjson_read_file(dfd, "status.json", &doc, NULL) == 0 &&
        krc_podjson_status_array_decode(json_object_get(doc, "containers"), &st, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(st[i].name, f->container) == 0)
                running = st[i].state == KRC_CONTAINER_RUNNING;
    }
    free(st);
    json_decref(doc);
    if (dfd >= 0)
        close(dfd);
    return running;
}

/* The supervisor rotated the file we follow (logrotate.h): once we have read what it wrote to
 * the old file before renaming it, continue at the start of the new <restart>.log. Returns
 * bytes still read from the old file, 0 after switching, -1 if not rotated. */
static ssize_t follow_rotation(struct follow *f, char *buf, size_t max)
{
    char path[1400];
    struct stat now, ours;
    snprintf(path, sizeof(path), "%s/logs/%s/%d.log", f->pod_dir, f->container, f->restart);
    if (stat(path, &now) != 0 || fstat(f->fd, &ours) != 0 ||
        (now.st_ino == ours.st_ino && now.st_dev == ours.st_dev))
        return -1;
    ssize_t r = read(f->fd, buf, max);
    if (r > 0)
        return r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    close(f->fd);
    f->fd = fd;
    return 0;
}

static ssize_t follow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct follow *f = cls;
    (void)pos;
    for (int idle = 0;; idle++) {
        ssize_t r = read(f->fd, buf, max);
        if (r > 0)
            return r;
        if (r < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if ((r = follow_rotation(f, buf, max)) > 0)
            return r;
        if (r == 0)
            continue;
        /* EOF: wait for more unless the run ended (check once a second). */
        if (idle % 5 == 4 && !still_writing(f)) {
            r = read(f->fd, buf, max);
            return r > 0 ? r : MHD_CONTENT_READER_END_OF_STREAM;
        }
        usleep(FOLLOW_POLL_US);
    }
}

static void follow_free(void *cls)
{
    struct follow *f = cls;
    close(f->fd);
    free(f);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
                                                             MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* --- exec and port-forward sessions --- */

static void stream_job_free(struct stream_job *j)
{
    if (j->portforward && j->pf.netns_fd >= 0)
        close(j->pf.netns_fd);
    for (size_t i = 0; i < j->req.argc; i++)
        free(j->argv_store[i]);
    free(j->extra);
    free(j);
}

static void *stream_thread(void *arg)
{
    struct stream_job *j = arg;
    struct krc_kubeletserver *ks = j->ks;
    if (j->portforward)
        krc_portforward_serve(j->sock, j->extra, j->extra_len, &j->pf);
    else
        krc_exec_serve(j->sock, j->extra, j->extra_len, &j->req);
    pthread_mutex_lock(&ks->mu);
    for (struct stream_job **p = &ks->sessions; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    pthread_cond_broadcast(&ks->cond);
    pthread_mutex_unlock(&ks->mu);
    MHD_upgrade_action(j->urh, MHD_UPGRADE_ACTION_CLOSE);
    stream_job_free(j);
    return NULL;
}

/* MHD hands over the upgraded connection; the session must not run on MHD's thread (it forwards
 * the TLS data for us once this returns). */
static void stream_upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
                            size_t extra_len, MHD_socket sock,
                            struct MHD_UpgradeResponseHandle *urh)
{
    struct stream_job *j = cls;
    struct krc_kubeletserver *ks = j->ks;
    pthread_t t;
    pthread_attr_t attr;
    (void)c;
    (void)con_cls;
    j->sock = sock;
    j->urh = urh;
    if (extra_len && (j->extra = malloc(extra_len)))
        memcpy(j->extra, extra, extra_len);
    j->extra_len = j->extra ? extra_len : 0;
    pthread_mutex_lock(&ks->mu);
    j->next = ks->sessions;
    ks->sessions = j;
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (rc == 0)
            rc = pthread_create(&t, &attr, stream_thread, j);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0)
        ks->sessions = j->next;
    pthread_mutex_unlock(&ks->mu);
    if (rc != 0) {
        KRC_LOG_WARN("exec/port-forward: no thread for the session", "error", strerror(rc));
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        stream_job_free(j);
    }
}

static enum MHD_Result collect_command(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    struct stream_job *j = cls;
    (void)kind;
    if (strcmp(key, "command") != 0 || !value)
        return MHD_YES;
    if (j->req.argc == EXEC_MAX_ARGS)
        return MHD_NO;
    char *copy = strdup(value);
    if (!copy)
        return MHD_NO;
    j->argv_store[j->req.argc] = copy;
    j->argv[j->req.argc++] = copy;
    j->argv[j->req.argc] = NULL;
    return MHD_YES;
}

/* Whether the client's X-Stream-Protocol-Version headers (repeated or comma-separated) name
 * `want`, and whether it sent any. */
struct protocol_search {
    const char *want;
    int found, any;
};

static enum MHD_Result find_protocol(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct protocol_search *ps = cls;
    (void)kind;
    if (strcasecmp(key, "X-Stream-Protocol-Version") != 0 || !value)
        return MHD_YES;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", value);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        ps->any = 1;
        if (strcmp(t, ps->want) == 0)
            ps->found = 1;
    }
    return MHD_YES;
}

/* 403 when the client offers stream protocols but not ours, as the kubelet's handshake. */
static enum MHD_Result refuse_protocol(struct MHD_Connection *c, const char *ours)
{
    static const char msg[] = "unable to upgrade: unable to negotiate protocol\n";
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(msg), (void *)(uintptr_t)msg,
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "X-Accepted-Stream-Protocol-Versions", ours);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_FORBIDDEN, r);
    MHD_destroy_response(r);
    return ret;
}

/* The 101 answer that hands the connection to j's session thread. */
static enum MHD_Result switch_to_spdy(struct MHD_Connection *c, struct stream_job *j,
                                      const char *protocol)
{
    struct MHD_Response *r = MHD_create_response_for_upgrade(stream_upgraded, j);
    if (!r) {
        stream_job_free(j);
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "SPDY/3.1");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
    if (protocol)
        MHD_add_response_header(r, "X-Stream-Protocol-Version", protocol);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    /* j is the upgrade handler's now (not called if the response never goes out: then j leaks,
     * bounded by failed upgrades) */
    return ret;
}

static int flag_arg(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static enum MHD_Result handle_exec(struct krc_kubeletserver *ks, struct MHD_Connection *c,
                                   const char *url)
{
    char ns[254], pod[254], dir[1024];
    struct stream_job *j = calloc(1, sizeof(*j));
    enum MHD_Result ret;
    if (!j)
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    j->ks = ks;
    j->req.argv = j->argv;
    j->req.container = j->container;
    j->req.socket_path = j->socket_path;
    j->req.tty = flag_arg(c, "tty");
    j->req.in = flag_arg(c, "input"); /* core/v1 ExecStdinParam and friends */
    j->req.out = flag_arg(c, "output");
    j->req.err = flag_arg(c, "error") && !j->req.tty;
    const char *upgrade = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
    struct protocol_search ps = {.want = KRC_EXEC_PROTOCOL};
    MHD_get_connection_values(c, MHD_HEADER_KIND, find_protocol, &ps);
    if (sscanf(url, "/exec/%253[^/]/%253[^/]/%63[^/?]", ns, pod, j->container) != 3) {
        ret = reply(c, MHD_HTTP_NOT_FOUND, "not found\n");
    } else if (!pod_dir(ks->agent, ns, pod, dir, sizeof(dir))) {
        ret = reply(c, MHD_HTTP_NOT_FOUND, "pod not found on this node\n");
    } else if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_command, j) < 0 ||
               j->req.argc == 0 || j->req.argc >= EXEC_MAX_ARGS) {
        ret = reply(c, MHD_HTTP_BAD_REQUEST, "command: 1 to 1023 arguments required\n");
    } else if (!j->req.in && !j->req.out && !j->req.err) {
        ret = reply(c, MHD_HTTP_BAD_REQUEST,
                    "you must specify at least 1 of stdin, stdout, stderr\n");
    } else if (!upgrade || strcasecmp(upgrade, "SPDY/3.1") != 0) {
        ret = reply(c, MHD_HTTP_BAD_REQUEST,
                    "unable to upgrade: missing upgrade headers in request (SPDY/3.1 only)\n");
    } else if (!ps.found) {
        ret = refuse_protocol(c, KRC_EXEC_PROTOCOL);
    } else {
        snprintf(j->socket_path, sizeof(j->socket_path), "%s/%s", dir, KRC_PODPROTO_SOCKET);
        return switch_to_spdy(c, j, KRC_EXEC_PROTOCOL);
    }
    stream_job_free(j);
    return ret;
}

/* --- port-forward --- */

static enum MHD_Result handle_portforward(struct krc_kubeletserver *ks, struct MHD_Connection *c,
                                          const char *url)
{
    char ns[254], pod[254], dir[1024];
    struct krc_error err;
    struct stream_job *j = calloc(1, sizeof(*j));
    enum MHD_Result ret;
    if (!j)
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    krc_error_clear(&err);
    j->ks = ks;
    j->portforward = 1;
    j->pf.netns_fd = -1;
    j->pf.pod_id = j->pod_id;
    const char *upgrade = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
    struct protocol_search ps = {.want = KRC_PORTFORWARD_PROTOCOL};
    MHD_get_connection_values(c, MHD_HEADER_KIND, find_protocol, &ps);
    if (sscanf(url, "/portForward/%253[^/]/%253[^/?]", ns, pod) != 2) {
        ret = reply(c, MHD_HTTP_NOT_FOUND, "not found\n");
    } else if (!pod_dir(ks->agent, ns, pod, dir, sizeof(dir))) {
        ret = reply(c, MHD_HTTP_NOT_FOUND, "pod not found on this node\n");
    } else if (!upgrade || strcasecmp(upgrade, "SPDY/3.1") != 0) {
        ret = reply(c, MHD_HTTP_BAD_REQUEST,
                    "unable to upgrade: missing upgrade headers in request (SPDY/3.1 only)\n");
    } else if (ps.any && !ps.found) {
        ret = refuse_protocol(c, KRC_PORTFORWARD_PROTOCOL);
    } else if (krc_portforward_open_netns(dir, &j->pf.netns_fd, &err) != 0) {
        char msg[2 * sizeof(ns) + KRC_ERROR_MSG_MAX + 64];
        snprintf(msg, sizeof(msg), "port-forward to %s/%s: %s\n", ns, pod, err.msg);
        ret = reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
    } else {
        const char *slash = strrchr(dir, '/');
        const char *id = slash ? slash + 1 : dir;
        size_t id_len = strnlen(id, sizeof(j->pod_id) - 1);
        memcpy(j->pod_id, id, id_len);
        j->pod_id[id_len] = '\0';
        /* A client that names no protocol gets none back, as the kubelet's handshake. */
        return switch_to_spdy(c, j, ps.any ? KRC_PORTFORWARD_PROTOCOL : NULL);
    }
    stream_job_free(j);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    struct krc_kubeletserver *ks = cls;
    (void)version;
    (void)upload;
    (void)upload_size;
    if (!*state) { /* first call: headers only */
        *state = ks;
        return MHD_YES;
    }
    if (strncmp(url, "/exec/", 6) == 0 && (!strcmp(method, "POST") || !strcmp(method, "GET")))
        return handle_exec(ks, c, url);
    if (strncmp(url, "/portForward/", 13) == 0 &&
        (!strcmp(method, "POST") || !strcmp(method, "GET")))
        return handle_portforward(ks, c, url);
    if (strcmp(method, "GET") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    char ns[254], pod[254], ctr[KRC_POD_NAME_MAX];
    if (sscanf(url, "/containerLogs/%253[^/]/%253[^/]/%63[^/?]", ns, pod, ctr) != 3)
        return reply(c, MHD_HTTP_NOT_FOUND, "not found (kuberay-node serves containerLogs only)\n");
    char dir[1024], logdir[1200], path[1300];
    if (!pod_dir(ks->agent, ns, pod, dir, sizeof(dir)))
        return reply(c, MHD_HTTP_NOT_FOUND, "pod not found on this node\n");
    const char *prev = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "previous");
    const char *follow = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "follow");
    const char *tail = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tailLines");
    const char *limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limitBytes");
    int previous = prev && strcmp(prev, "true") == 0;
    snprintf(logdir, sizeof(logdir), "%s/logs/%s", dir, ctr);
    int restart = pick_log(logdir, previous);
    if (restart < 0)
        return reply(c, MHD_HTTP_BAD_REQUEST,
                     previous ? "previous terminated container not found\n"
                              : "container has not started yet\n");
    snprintf(path, sizeof(path), "%s/%d.log", logdir, restart);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "log file not found\n");
    off_t start = tail ? tail_offset(fd, atol(tail)) : 0;
    off_t end = lseek(fd, 0, SEEK_END);
    if (limit && atoll(limit) > 0 && end - start > atoll(limit))
        end = start + atoll(limit);
    if (end - start > LOG_READ_MAX)
        start = end - LOG_READ_MAX;
    lseek(fd, start, SEEK_SET);
    struct MHD_Response *r;
    if (follow && strcmp(follow, "true") == 0 && !previous) {
        struct follow *f = calloc(1, sizeof(*f));
        if (!f) {
            close(fd);
            return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        }
        f->fd = fd;
        f->restart = restart;
        snprintf(f->pod_dir, sizeof(f->pod_dir), "%s", dir);
        snprintf(f->container, sizeof(f->container), "%s", ctr);
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, follow_read, f,
                                              follow_free);
    } else {
        r = MHD_create_response_from_fd_at_offset64((uint64_t)(end - start), fd, (uint64_t)start);
    }
    if (!r)
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "could not answer\n");
    MHD_add_response_header(r, "Content-Type", "text/plain");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* A verified client from tlsfront.c: MHD serves it as if it had accepted it (MHD closes fd if it
 * cannot). */
static void add_connection(void *ctx, int fd, const struct sockaddr *peer, socklen_t peer_len)
{
    struct krc_kubeletserver *ks = ctx;
    pthread_mutex_lock(&ks->add_mu);
    enum MHD_Result ok = MHD_add_connection(ks->daemon, fd, peer, peer_len);
    pthread_mutex_unlock(&ks->add_mu);
    if (ok != MHD_YES)
        KRC_LOG_WARN("kubelet endpoint: the HTTP server refused a connection");
}

int krc_kubeletserver_start(struct krc_agent *a, int port, const char *cert_file,
                            const char *key_file, const char *ca_file,
                            struct krc_kubeletserver **out, struct krc_error *err)
{
    struct krc_kubeletserver *ks = calloc(1, sizeof(*ks));
    if (!ks)
        return krc_error_set(err, KRC_ENOMEM, "kubelet server: out of memory");
    ks->agent = a;
    if (pthread_mutex_init(&ks->mu, NULL) != 0) {
        free(ks);
        return krc_error_set(err, KRC_ENOMEM, "kubelet server: no mutex");
    }
    if (pthread_mutex_init(&ks->add_mu, NULL) != 0) {
        pthread_mutex_destroy(&ks->mu);
        free(ks);
        return krc_error_set(err, KRC_ENOMEM, "kubelet server: no mutex");
    }
    if (pthread_cond_init(&ks->cond, NULL) != 0) {
        pthread_mutex_destroy(&ks->add_mu);
        pthread_mutex_destroy(&ks->mu);
        free(ks);
        return krc_error_set(err, KRC_ENOMEM, "kubelet server: no condition variable");
    }
    krc_strbuf_init(&ks->cert, PEM_MAX);
    krc_strbuf_init(&ks->key, PEM_MAX);
    krc_strbuf_init(&ks->ca, PEM_MAX);
    int rc = krc_file_read(cert_file, PEM_MAX, &ks->cert, err);
    if (rc == 0)
        rc = krc_file_read(key_file, PEM_MAX, &ks->key, err);
    if (rc == 0)
        rc = krc_file_read(ca_file, PEM_MAX, &ks->ca, err);
    if (rc != 0)
        goto fail;
    /* No listening socket of its own: tlsfront.c adds each connection (MHD_USE_ITC wakes the
     * polling thread for it). */
    ks->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                      MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET | MHD_ALLOW_UPGRADE,
                                  0, NULL, NULL, handle, ks, MHD_OPTION_CONNECTION_TIMEOUT,
                                  (unsigned)0, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                  (size_t)CONNECTION_MEMORY, MHD_OPTION_END);
    if (!ks->daemon) {
        rc = krc_error_set(err, KRC_EIO, "kubelet server: cannot start the HTTP server");
        goto fail;
    }
    rc = krc_tlsfront_start(a->gateway, port, ks->cert.buf, ks->key.buf, ks->ca.buf, add_connection,
                            ks, &ks->front, err);
    if (rc != 0)
        goto fail;
    *out = ks;
    return 0;
fail:
    krc_kubeletserver_stop(ks);
    return rc;
}

void krc_kubeletserver_stop(struct krc_kubeletserver *ks)
{
    if (!ks)
        return;
    /* No new connections, and every client connection closed: the HTTP server's connections see
     * EOF. Then end running exec and port-forward sessions: MHD waits for upgraded connections to
     * be closed. */
    krc_tlsfront_stop(ks->front);
    pthread_mutex_lock(&ks->mu);
    for (struct stream_job *j = ks->sessions; j; j = j->next)
        shutdown(j->sock, SHUT_RDWR);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += SESSION_STOP_WAIT_S;
    while (ks->sessions && pthread_cond_timedwait(&ks->cond, &ks->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&ks->mu);
    if (ks->daemon)
        MHD_stop_daemon(ks->daemon);
    pthread_mutex_destroy(&ks->mu);
    pthread_mutex_destroy(&ks->add_mu);
    pthread_cond_destroy(&ks->cond);
    krc_strbuf_release(&ks->cert);
    krc_strbuf_release(&ks->key);
    krc_strbuf_release(&ks->ca);
    free(ks);
}
