/* supervisor.c - the pod supervisor's start-up and event loop (see supervisor.h).
 *
 * One thread, one poll(2) loop over a signalfd (SIGCHLD, and SIGTERM/SIGINT from outside the pod
 * meaning "shut down"), the listening socket and at most MAX_CLIENTS connections; the poll
 * timeout is the nearest deadline: a stopping container's SIGKILL or a slow client's cut-off.
 * Containers are direct children:
 * forked, put in their own session (so a SIGKILL at the deadline reaches the whole process group),
 * and exec'd with only the environment the spec gives them. Processes a container leaves behind
 * are reparented to us (PID 1) and reaped like any other child.
 *
 * A container's stop sends SIGTERM to its main process only, as a container runtime does, and
 * SIGKILL to its process group at the deadline or when the main process exits. A descendant that
 * made itself a session leader escapes the group and lives until the pod ends; per-container
 * cgroups would close that gap at the cost of a cgroup per container.
 *
 * _GNU_SOURCE for signalfd's siginfo, sethostname and SO_PEERCRED's struct ucred. */
#define _GNU_SOURCE
#include "node/supervisor.h"

#include "node/podenv.h"
#include "node/podjson.h"
#include "node/podmount.h"
#include "node/podproto.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    MAX_CLIENTS = 16,
    SYNC_TIMEOUT_MS = 30000,
    CLIENT_SEND_TIMEOUT_S = 2,
    CLIENT_IDLE_MS = 10000, /* a connection must deliver its request line within this */
    DEFAULT_GRACE_S = 30,
};

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct container {
    struct krc_container_status st;
    long long kill_at_ms; /* monotonic deadline for SIGKILL; 0 = none */
};

struct client {
    int fd;
    long long deadline_ms; /* closed if the request line is not complete by then */
    struct krc_strbuf in;
};

struct supervisor {
    const char *state_dir;
    int dirfd;
    int devnull;
    json_t *record_doc;
    struct krc_sandbox_record rec;
    const char *hostname;
    int sigfd;
    int listenfd;
    struct client clients[MAX_CLIENTS];
    struct container containers[KRC_POD_MAX_CONTAINERS];
    size_t n_containers;
    int shutting_down;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long wall_seconds(void)
{
    return (long long)time(NULL);
}

/* --- status --- */

static int write_status(struct supervisor *s)
{
    struct krc_error err;
    json_t *doc = json_object(), *arr = json_array();
    int rc = 0;
    if (!doc || !arr || json_object_set(doc, "containers", arr) ||
        json_object_set_new(doc, "shutting_down", json_boolean(s->shutting_down))) {
        rc = KRC_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->n_containers; i++) {
        json_t *st;
        rc = krc_podjson_status_encode(&s->containers[i].st, &st, &err);
        if (rc == 0 && json_array_append_new(arr, st))
            rc = KRC_ENOMEM;
        if (rc)
            goto out;
    }
    rc = krc_podjson_write_file(s->dirfd, "status.json", doc, &err);
    if (rc)
        KRC_LOG_WARN("could not write status.json", "error", err.msg);
out:
    if (rc == KRC_ENOMEM)
        KRC_LOG_WARN("could not write status.json", "error", "out of memory");
    json_decref(arr);
    json_decref(doc);
    return rc;
}

static struct container *find(struct supervisor *s, const char *name)
{
    for (size_t i = 0; i < s->n_containers; i++)
        if (strcmp(s->containers[i].st.name, name) == 0)
            return &s->containers[i];
    return NULL;
}

static size_t running_count(const struct supervisor *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_containers; i++)
        n += s->containers[i].st.state == KRC_CONTAINER_RUNNING;
    return n;
}

/* --- reaping and signals --- */

static void reap(struct supervisor *s)
{
    int changed = 0;
    for (;;) {
        int wst;
        pid_t pid = waitpid(-1, &wst, WNOHANG);
        if (pid <= 0)
            break;
        for (size_t i = 0; i < s->n_containers; i++) {
            struct container *c = &s->containers[i];
            if (c->st.state != KRC_CONTAINER_RUNNING || c->st.pid != pid)
                continue;
            c->st.state = KRC_CONTAINER_EXITED;
            c->st.finished_at = wall_seconds();
            c->kill_at_ms = 0;
            if (WIFSIGNALED(wst)) {
                c->st.signal = WTERMSIG(wst);
                c->st.exit_code = 128 + c->st.signal;
            } else {
                c->st.exit_code = WEXITSTATUS(wst);
            }
            /* The container ends with its main process, as in a container runtime. */
            if (kill(-pid, SIGKILL) != 0 && errno != ESRCH)
                KRC_LOG_WARN("kill container group", "container", c->st.name, "error",
                             strerror(errno));
            char code[16];
            snprintf(code, sizeof(code), "%d", c->st.exit_code);
            KRC_LOG_INFO("container exited", "container", c->st.name, "exit_code", code);
            changed = 1;
        }
    }
    if (changed)
        write_status(s);
}

static void kill_container(struct container *c)
{
    /* The group first (pgid == pid: containers start in their own session), then the main
     * process in case it left its group. */
    if (kill(-c->st.pid, SIGKILL) != 0 && errno != ESRCH)
        KRC_LOG_WARN("kill container group", "container", c->st.name, "error", strerror(errno));
    if (kill(c->st.pid, SIGKILL) != 0 && errno != ESRCH)
        KRC_LOG_WARN("kill container", "container", c->st.name, "error", strerror(errno));
    c->kill_at_ms = 0;
}

static void stop_container(struct container *c, long long grace_s)
{
    if (c->st.state != KRC_CONTAINER_RUNNING)
        return;
    c->st.stop_requested = 1;
    if (grace_s <= 0) {
        kill_container(c);
        return;
    }
    if (kill(c->st.pid, SIGTERM) != 0 && errno != ESRCH)
        KRC_LOG_WARN("SIGTERM container", "container", c->st.name, "error", strerror(errno));
    long long deadline = now_ms() + grace_s * 1000;
    if (!c->kill_at_ms || deadline < c->kill_at_ms)
        c->kill_at_ms = deadline;
}

static void begin_shutdown(struct supervisor *s, long long grace_s)
{
    if (!s->shutting_down)
        KRC_LOG_INFO("pod shutting down");
    s->shutting_down = 1;
    for (size_t i = 0; i < s->n_containers; i++)
        stop_container(&s->containers[i], grace_s);
    write_status(s);
}

static void fire_deadlines(struct supervisor *s)
{
    long long now = now_ms();
    for (size_t i = 0; i < s->n_containers; i++) {
        struct container *c = &s->containers[i];
        if (c->st.state == KRC_CONTAINER_RUNNING && c->kill_at_ms && c->kill_at_ms <= now) {
            KRC_LOG_INFO("grace period over, killing container", "container", c->st.name);
            kill_container(c);
        }
    }
}

static int poll_timeout(const struct supervisor *s)
{
    long long next = 0, now = now_ms();
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s->clients[i].fd >= 0 && (!next || s->clients[i].deadline_ms < next))
            next = s->clients[i].deadline_ms;
    for (size_t i = 0; i < s->n_containers; i++) {
        const struct container *c = &s->containers[i];
        if (c->st.state == KRC_CONTAINER_RUNNING && c->kill_at_ms &&
            (!next || c->kill_at_ms < next))
            next = c->kill_at_ms;
    }
    if (!next)
        return -1;
    return next <= now ? 0 : (int)(next - now > INT_MAX ? INT_MAX : next - now);
}

static void handle_signals(struct supervisor *s)
{
    struct signalfd_siginfo si;
    while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            reap(s);
        } else if (si.ssi_pid == 0) {
            /* pid 0: sent from outside the pod's PID namespace (the agent, an operator) */
            int grace = s->rec.spec.grace_seconds ? s->rec.spec.grace_seconds : DEFAULT_GRACE_S;
            begin_shutdown(s, grace);
        } else {
            KRC_LOG_WARN("ignoring a signal sent from inside the pod", "signal",
                         strsignal((int)si.ssi_signo));
        }
    }
}

/* --- starting containers --- */

struct exec_failure {
    int stage; /* 1 chdir, 2 exec, 3 session/stdio */
    int err;
};

/* In the forked child: only async-signal-safe calls until execve. Never returns. */
static void exec_child(int devnull, int logfd, int report, const char *workdir, const char *path,
                       const char *const *argv, const char *const *envp)
{
    struct exec_failure f = {3, 0};
    sigset_t none;
    sigemptyset(&none);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL); /* fails harmlessly for SIGKILL, SIGSTOP, RT internals */
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0 || setsid() < 0 ||
        dup2(devnull, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
        dup2(logfd, STDERR_FILENO) < 0)
        goto fail;
    f.stage = 1;
    if (chdir(workdir ? workdir : "/") != 0)
        goto fail;
    f.stage = 2;
    union {
        const char *const *c;
        char *const *m;
    } a = {.c = argv}, e = {.c = envp};
    execve(path, a.m, e.m);
fail:
    f.err = errno;
    if (write(report, &f, sizeof(f)) < 0)
        _exit(126);
    _exit(127);
}

static int open_log(struct supervisor *s, const char *name, int restart, struct krc_error *err)
{
    char rel[KRC_POD_NAME_MAX + 64];
    if (mkdirat(s->dirfd, "logs", 0755) != 0 && errno != EEXIST)
        return krc_error_set(err, KRC_EIO, "container %s: mkdir logs: %s", name, strerror(errno));
    snprintf(rel, sizeof(rel), "logs/%s", name);
    if (mkdirat(s->dirfd, rel, 0755) != 0 && errno != EEXIST)
        return krc_error_set(err, KRC_EIO, "container %s: mkdir %s: %s", name, rel,
                             strerror(errno));
    snprintf(rel, sizeof(rel), "logs/%s/%d.log", name, restart);
    int fd = openat(s->dirfd, rel, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return krc_error_set(err, KRC_EIO, "container %s: open %s: %s", name, rel, strerror(errno));
    return fd;
}

/* Forks and execs the container; on success fills c->st. On failure records the container as
 * exited with code 128 and the message (as runtimes report StartError) and returns the error. */
static int spawn(struct supervisor *s, struct container *c, const struct krc_container_spec *spec,
                 struct krc_error *err)
{
    char defaults_buf[3][PATH_MAX + 16];
    const char *defaults[3] = {defaults_buf[0], defaults_buf[1], defaults_buf[2]};
    const char **envp = NULL;
    char path[PATH_MAX];
    int logfd = -1, pipefd[2] = {-1, -1};
    snprintf(defaults_buf[0], sizeof(defaults_buf[0]), "PATH=%s",
             s->rec.path ? s->rec.path : DEFAULT_PATH);
    snprintf(defaults_buf[1], sizeof(defaults_buf[1]), "HOSTNAME=%s", s->hostname);
    snprintf(defaults_buf[2], sizeof(defaults_buf[2]), "HOME=/root");
    int rc = krc_podenv_merge(defaults, 3, spec->env, spec->envc, &envp, err);
    if (rc)
        goto out;
    rc = krc_podenv_resolve(spec->argv[0], krc_podenv_get(envp, "PATH"), path, sizeof(path), err);
    if (rc)
        goto out;
    logfd = open_log(s, spec->name, c->st.restart_count, err);
    if (logfd < 0) {
        rc = logfd;
        goto out;
    }
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        rc = krc_error_set(err, KRC_EIO, "container %s: pipe: %s", spec->name, strerror(errno));
        goto out;
    }
    pid_t pid = fork();
    if (pid < 0) {
        rc = krc_error_set(err, KRC_EIO, "container %s: fork: %s", spec->name, strerror(errno));
        goto out;
    }
    if (pid == 0)
        exec_child(s->devnull, logfd, pipefd[1], spec->workdir, path, spec->argv, envp);
    close(pipefd[1]);
    pipefd[1] = -1;
    struct exec_failure f;
    ssize_t n;
    do
        n = read(pipefd[0], &f, sizeof(f));
    while (n < 0 && errno == EINTR);
    c->st.pid = pid;
    c->st.started_at = wall_seconds();
    if (n == (ssize_t)sizeof(f)) {
        /* The child has _exit()ed; reap() records nothing for it as it is not yet running. */
        rc = krc_error_set(
            err, f.err == ENOENT ? KRC_ENOTFOUND : KRC_EIO, "container %s: %s %s: %s", spec->name,
            f.stage == 1   ? "chdir"
            : f.stage == 2 ? "exec"
                           : "setup",
            f.stage == 1 ? (spec->workdir ? spec->workdir : "/") : path, strerror(f.err));
        goto out;
    }
    c->st.state = KRC_CONTAINER_RUNNING;
out:
    if (rc) {
        c->st.state = KRC_CONTAINER_EXITED;
        c->st.exit_code = 128;
        c->st.finished_at = wall_seconds();
        if (!c->st.started_at)
            c->st.started_at = c->st.finished_at;
        const char *msg = err ? err->msg : "start failed";
        size_t len = strnlen(msg, sizeof(c->st.message) - 1);
        memcpy(c->st.message, msg, len);
        c->st.message[len] = '\0';
    }
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (logfd >= 0)
        close(logfd);
    free(envp);
    return rc;
}

static int start_container(struct supervisor *s, json_t *cdoc, json_t *resp, struct krc_error *err)
{
    struct krc_container_spec_buf buf;
    int rc = krc_podjson_container_spec_decode(cdoc, &buf, err);
    if (rc)
        return rc;
    const struct krc_container_spec *spec = &buf.spec;
    struct container *c = find(s, spec->name);
    if (s->shutting_down) {
        rc =
            krc_error_set(err, KRC_ECANCELED, "container %s: the pod is shutting down", spec->name);
        goto out;
    }
    if (c && c->st.state == KRC_CONTAINER_RUNNING) {
        rc = krc_error_set(err, KRC_EEXIST, "container %s: already running (pid %d)", spec->name,
                           c->st.pid);
        goto out;
    }
    int restarts = 0;
    if (c) {
        restarts = c->st.restart_count + 1;
    } else if (s->n_containers == KRC_POD_MAX_CONTAINERS) {
        rc = krc_error_set(err, KRC_ERANGE, "container %s: the pod has %d containers already",
                           spec->name, KRC_POD_MAX_CONTAINERS);
        goto out;
    } else {
        c = &s->containers[s->n_containers++];
    }
    memset(c, 0, sizeof(*c));
    snprintf(c->st.name, sizeof(c->st.name), "%s", spec->name);
    c->st.restart_count = restarts;
    rc = spawn(s, c, spec, err);
    if (rc == 0) {
        char pid[16];
        snprintf(pid, sizeof(pid), "%d", c->st.pid);
        KRC_LOG_INFO("container started", "container", spec->name, "pid", pid);
    } else {
        KRC_LOG_WARN("container did not start", "container", spec->name, "error", err->msg);
    }
    write_status(s);
    json_t *st = NULL;
    if (rc == 0 && krc_podjson_status_encode(&c->st, &st, err) == 0)
        json_object_set_new(resp, "status", st);
out:
    krc_podjson_container_spec_release(&buf);
    return rc;
}

/* --- requests --- */

static int handle_request(struct supervisor *s, json_t *req, json_t *resp, struct krc_error *err)
{
    const char *op = json_string_value(json_object_get(req, "op"));
    json_t *grace_j = json_object_get(req, "grace");
    long long grace = json_is_integer(grace_j) ? json_integer_value(grace_j) : 0;
    if (grace < 0 || grace > 86400)
        return krc_error_set(err, KRC_EINVAL, "grace %lld: out of range", grace);
    if (!op)
        return krc_error_set(err, KRC_EINVAL, "request: no op");
    if (strcmp(op, "hello") == 0) {
        json_object_set_new(resp, "uid", json_string(s->rec.spec.uid));
        json_object_set_new(resp, "containers", json_integer((json_int_t)s->n_containers));
        return 0;
    }
    if (strcmp(op, "start") == 0)
        return start_container(s, json_object_get(req, "container"), resp, err);
    if (strcmp(op, "shutdown") == 0) {
        begin_shutdown(s, grace);
        return 0;
    }
    const char *name = json_string_value(json_object_get(req, "name"));
    if (strcmp(op, "status") == 0) {
        json_t *arr = json_array();
        if (!arr || json_object_set_new(resp, "containers", arr))
            return krc_error_set(err, KRC_ENOMEM, "status: out of memory");
        for (size_t i = 0; i < s->n_containers; i++) {
            json_t *st;
            if (name && strcmp(name, s->containers[i].st.name) != 0)
                continue;
            int rc = krc_podjson_status_encode(&s->containers[i].st, &st, err);
            if (rc)
                return rc;
            if (json_array_append_new(arr, st))
                return krc_error_set(err, KRC_ENOMEM, "status: out of memory");
        }
        if (name && json_array_size(arr) == 0)
            return krc_error_set(err, KRC_ENOTFOUND, "container %s: not found", name);
        return 0;
    }
    if (strcmp(op, "stop") == 0) {
        struct container *c = name ? find(s, name) : NULL;
        if (!c)
            return krc_error_set(err, KRC_ENOTFOUND, "container %s: not found",
                                 name ? name : "(none)");
        stop_container(c, grace);
        write_status(s);
        return 0;
    }
    return krc_error_set(err, KRC_EINVAL, "request: unknown op %s", op);
}

static void respond(int fd, json_t *resp)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err;
    if (krc_podproto_encode(resp, &out, &err) == 0) {
        for (size_t off = 0; off < out.len;) {
            ssize_t n = send(fd, out.buf + off, out.len - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break; /* the client went away or stalled; it will retry */
            off += (size_t)n;
        }
    }
    krc_strbuf_release(&out);
}

static void client_close(struct client *c)
{
    close(c->fd);
    c->fd = -1;
    krc_strbuf_release(&c->in);
}

static void client_readable(struct supervisor *s, struct client *c)
{
    char chunk[65536];
    ssize_t n = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0 || krc_strbuf_add(&c->in, chunk, (size_t)n)) {
        client_close(c);
        return;
    }
    char *nl = memchr(c->in.buf, '\n', c->in.len);
    if (!nl)
        return;
    struct krc_error err;
    krc_error_clear(&err);
    json_t *req = NULL, *resp = json_object();
    int rc = resp ? krc_podproto_decode(c->in.buf, (size_t)(nl - c->in.buf), &req, &err)
                  : krc_error_set(&err, KRC_ENOMEM, "response: out of memory");
    if (rc == 0)
        rc = handle_request(s, req, resp, &err);
    if (rc == 0) {
        json_object_set_new(resp, "ok", json_true());
    } else {
        json_decref(resp);
        resp = krc_podproto_error(rc, err.msg);
    }
    if (resp)
        respond(c->fd, resp);
    json_decref(resp);
    json_decref(req);
    client_close(c);
}

static void accept_client(struct supervisor *s)
{
    int fd = accept4(s->listenfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != 0 && cred.uid != getuid())) {
        close(fd);
        return;
    }
    struct timeval tv = {CLIENT_SEND_TIMEOUT_S, 0};
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
        close(fd);
        return;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (s->clients[i].fd < 0) {
            s->clients[i].fd = fd;
            s->clients[i].deadline_ms = now_ms() + CLIENT_IDLE_MS;
            krc_strbuf_init(&s->clients[i].in, KRC_PODPROTO_LINE_MAX);
            return;
        }
    }
    close(fd); /* full: the client sees EOF and retries */
}

static void loop(struct supervisor *s)
{
    while (!(s->shutting_down && running_count(s) == 0)) {
        struct pollfd pfd[2 + MAX_CLIENTS];
        struct client *who[2 + MAX_CLIENTS];
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = s->listenfd, .events = POLLIN};
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (s->clients[i].fd < 0)
                continue;
            who[n] = &s->clients[i];
            pfd[n++] = (struct pollfd){.fd = s->clients[i].fd, .events = POLLIN};
        }
        int ready = poll(pfd, n, poll_timeout(s));
        if (ready < 0 && errno != EINTR) {
            KRC_LOG_ERROR("poll failed", "error", strerror(errno));
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (ready > 0) {
            if (pfd[0].revents)
                handle_signals(s);
            if (pfd[1].revents & POLLIN)
                accept_client(s);
            for (nfds_t i = 2; i < n; i++)
                if (pfd[i].revents)
                    client_readable(s, who[i]);
        }
        long long now = now_ms();
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (s->clients[i].fd >= 0 && s->clients[i].deadline_ms <= now)
                client_close(&s->clients[i]);
        fire_deadlines(s);
    }
}

/* --- start-up --- */

static int parse_args(int argc, char **argv, const char **dir, int *sync_fd)
{
    *dir = NULL;
    *sync_fd = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--state-dir") == 0) {
            *dir = argv[i + 1];
        } else if (strcmp(argv[i], "--sync-fd") == 0) {
            char *end;
            long v = strtol(argv[i + 1], &end, 10);
            if (*end || v < 0 || v > INT_MAX)
                return KRC_EINVAL;
            *sync_fd = (int)v;
        } else {
            return KRC_EINVAL;
        }
    }
    return *dir && *sync_fd >= 0 && argc % 2 == 1 ? 0 : KRC_EINVAL;
}

/* Redirects stdin/stdout to /dev/null and stderr (our log) to DIR/supervisor.log. */
static int setup_stdio(struct supervisor *s, struct krc_error *err)
{
    s->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (s->devnull < 0)
        return krc_error_set(err, KRC_EIO, "open /dev/null: %s", strerror(errno));
    int logfd = openat(s->dirfd, "supervisor.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return krc_error_set(err, KRC_EIO, "open supervisor.log: %s", strerror(errno));
    int rc = 0;
    if (dup2(s->devnull, STDIN_FILENO) < 0 || dup2(s->devnull, STDOUT_FILENO) < 0 ||
        dup2(logfd, STDERR_FILENO) < 0)
        rc = krc_error_set(err, KRC_EIO, "redirect stdio: %s", strerror(errno));
    close(logfd);
    krc_log_configure(KRC_LOG_INFO, KRC_LOG_FORMAT_TEXT, STDERR_FILENO);
    return rc;
}

static int setup_signals(struct supervisor *s, struct krc_error *err)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || signal(SIGHUP, SIG_IGN) == SIG_ERR ||
        sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return krc_error_set(err, KRC_EIO, "signals: %s", strerror(errno));
    s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sigfd < 0)
        return krc_error_set(err, KRC_EIO, "signalfd: %s", strerror(errno));
    return 0;
}

static int wait_for_go(int sync_fd, struct krc_error *err)
{
    struct pollfd p = {.fd = sync_fd, .events = POLLIN};
    char buf[8] = "";
    int r = poll(&p, 1, SYNC_TIMEOUT_MS);
    if (r <= 0)
        return krc_error_set(err, KRC_ETIMEOUT, "no go from the agent");
    ssize_t n = recv(sync_fd, buf, sizeof(buf) - 1, 0);
    if (n != 2 || memcmp(buf, "go", 2) != 0)
        return krc_error_set(err, KRC_ECANCELED, "the agent gave up before the pod started");
    return 0;
}

static int setup_mounts(struct supervisor *s, struct krc_error *err)
{
    char hosts[PATH_MAX], resolv[PATH_MAX];
    struct krc_podmount_op *ops = NULL;
    size_t n = 0;
    snprintf(hosts, sizeof(hosts), "%s/hosts", s->state_dir);
    snprintf(resolv, sizeof(resolv), "%s/resolv.conf", s->state_dir);
    const struct krc_sandbox_spec *spec = &s->rec.spec;
    int rc = krc_podmount_plan(spec->mounts, spec->n_mounts, spec->shm_size, spec->tmp_size, hosts,
                               resolv, &ops, &n, err);
    if (rc == 0)
        rc = krc_podmount_apply(ops, n, err);
    free(ops);
    return rc;
}

static int setup_socket(struct supervisor *s, struct krc_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, KRC_PODPROTO_SOCKET, sizeof(KRC_PODPROTO_SOCKET));
    s->listenfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listenfd < 0)
        return krc_error_set(err, KRC_EIO, "socket: %s", strerror(errno));
    /* bind relative to the state directory: its path may be long, or covered by our /tmp */
    if (fchdir(s->dirfd) != 0)
        return krc_error_set(err, KRC_EIO, "chdir to state dir: %s", strerror(errno));
    int rc = 0;
    if ((unlinkat(s->dirfd, KRC_PODPROTO_SOCKET, 0) != 0 && errno != ENOENT) ||
        bind(s->listenfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        fchmodat(s->dirfd, KRC_PODPROTO_SOCKET, 0600, 0) != 0 || listen(s->listenfd, 64) != 0)
        rc = krc_error_set(err, KRC_EIO, "listen on %s/%s: %s", s->state_dir, KRC_PODPROTO_SOCKET,
                           strerror(errno));
    if (chdir("/") != 0 && rc == 0)
        rc = krc_error_set(err, KRC_EIO, "chdir /: %s", strerror(errno));
    return rc;
}

static int start_up(struct supervisor *s, int sync_fd, struct krc_error *err)
{
    int rc = krc_podjson_read_file(s->dirfd, "sandbox.json", &s->record_doc, err);
    if (rc == 0)
        rc = krc_podjson_record_decode(s->record_doc, &s->rec, err);
    if (rc)
        return rc;
    s->hostname = s->rec.spec.hostname ? s->rec.spec.hostname : s->rec.spec.name;
    if ((rc = setup_signals(s, err)))
        return rc;
    if (setsid() < 0)
        return krc_error_set(err, KRC_EIO, "setsid: %s", strerror(errno));
    if ((rc = wait_for_go(sync_fd, err)) || (rc = setup_mounts(s, err)))
        return rc;
    if (sethostname(s->hostname, strlen(s->hostname)) != 0)
        return krc_error_set(err, KRC_EIO, "sethostname %s: %s", s->hostname, strerror(errno));
    if ((rc = setup_socket(s, err)))
        return rc;
    return write_status(s) ? krc_error_set(err, KRC_EIO, "write status.json") : 0;
}

int krc_supervisor_main(int argc, char **argv)
{
    struct supervisor s;
    struct krc_error err;
    const char *dir;
    int sync_fd, code = 1;
    memset(&s, 0, sizeof(s));
    s.dirfd = s.devnull = s.sigfd = s.listenfd = -1;
    for (int i = 0; i < MAX_CLIENTS; i++)
        s.clients[i].fd = -1;
    krc_error_clear(&err);
    if (parse_args(argc, argv, &dir, &sync_fd) != 0) {
        fprintf(stderr, "usage: kuberay-node pod-supervisor --state-dir DIR --sync-fd N\n");
        return 2;
    }
    if (getpid() != 1) {
        fprintf(stderr, "pod-supervisor: must be PID 1 of a new PID namespace (started by the "
                        "agent)\n");
        return 2;
    }
    s.state_dir = dir;
    s.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = s.dirfd < 0 ? krc_error_set(&err, KRC_EIO, "open %s: %s", dir, strerror(errno))
                         : setup_stdio(&s, &err);
    if (rc == 0)
        rc = start_up(&s, sync_fd, &err);
    if (rc) {
        char msg[KRC_ERROR_MSG_MAX + 8];
        int n = snprintf(msg, sizeof(msg), "error: %s", err.msg);
        if (send(sync_fd, msg, (size_t)n, MSG_NOSIGNAL) < 0)
            KRC_LOG_ERROR("could not report the start-up error", "error", strerror(errno));
        KRC_LOG_ERROR("pod supervisor failed to start", "state_dir", dir, "error", err.msg);
        goto out;
    }
    if (send(sync_fd, "ok", 2, MSG_NOSIGNAL) != 2) {
        KRC_LOG_ERROR("the agent went away during start-up", "state_dir", dir);
        goto out;
    }
    close(sync_fd);
    sync_fd = -1;
    KRC_LOG_INFO("pod supervisor ready", "uid", s.rec.spec.uid, "hostname", s.hostname);
    loop(&s);
    write_status(&s);
    KRC_LOG_INFO("pod supervisor exiting", "uid", s.rec.spec.uid);
    code = 0;
out:
    if (sync_fd >= 0)
        close(sync_fd);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s.clients[i].fd >= 0)
            client_close(&s.clients[i]);
    if (s.listenfd >= 0)
        close(s.listenfd);
    if (s.sigfd >= 0)
        close(s.sigfd);
    if (s.devnull >= 0)
        close(s.devnull);
    if (s.dirfd >= 0)
        close(s.dirfd);
    krc_podjson_record_release(&s.rec);
    json_decref(s.record_doc);
    return code;
}
