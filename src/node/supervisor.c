/* supervisor.c - the pod supervisor's start-up and event loop (see supervisor.h).
 *
 * One thread, one poll(2) loop over a signalfd (SIGCHLD, and SIGTERM/SIGINT from outside the pod
 * meaning "shut down"), the listening socket and at most MAX_CLIENTS connections; the poll
 * timeout is the nearest deadline: a stopping container's SIGKILL or a slow client's cut-off.
 * Nothing runs on a timer: an idle pod's supervisor sleeps in poll until a signal or a request.
 *
 * "watch" requests (podproto.h) are parked in MAX_WATCHERS slots and answered by write_status,
 * through which every container state change goes, so the agent's pod worker learns of an exit
 * or start without asking for the status on a timer.
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
 * exec (kubectl exec) is a request whose connection stays open: the agent passes the process's
 * stdin, stdout and stderr (pipes, or one pty slave) with SCM_RIGHTS, we fork the command with
 * the container's environment and workingDir (kept from its start request) as our child, so it
 * is in every namespace and the cgroup of the pod, and answer with its exit code when we reap
 * it. If the agent's end closes first (the user went away) the process group is killed.
 *
 * A container's stdout and stderr go to one pipe we read in the same loop and append to its log
 * file, rotating it by size (logrotate.h); a container writing faster than we copy waits on the
 * pipe. Letting the container write the file directly would spare the copy but leave rotation
 * to copy-and-truncate, which loses what is written in between.
 *
 * _GNU_SOURCE for signalfd's siginfo, sethostname and SO_PEERCRED's struct ucred. */
#define _GNU_SOURCE
#include "node/supervisor.h"

#include "node/logrotate.h"
#include "node/podenv.h"
#include "node/podjson.h"
#include "node/podmount.h"
#include "node/podproto.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    MAX_CLIENTS = 16,
    MAX_EXECS = 32,
    MAX_WATCHERS = 8, /* parked "watch" connections; the agent keeps one per pod */
    EXEC_FDS = 3,     /* stdin, stdout, stderr */
    SYNC_TIMEOUT_MS = 30000,
    CLIENT_SEND_TIMEOUT_S = 2,
    CLIENT_IDLE_MS = 10000, /* a connection must deliver its request line within this */
    DEFAULT_GRACE_S = 30,
};

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct container {
    struct krc_container_status st;
    long long kill_at_ms; /* monotonic deadline for SIGKILL; 0 = none */
    json_t *spec_doc;     /* the start request's container spec, for exec's env and workdir */
    int out_fd;           /* read end of the container's stdout+stderr pipe; -1 at EOF */
    int log_fd;           /* its current log file */
    long long log_size;
    unsigned log_seq; /* rotations so far of this start */
};

struct client {
    int fd;
    long long deadline_ms; /* closed if the request line is not complete by then */
    struct krc_strbuf in;
    int fds[EXEC_FDS]; /* received with SCM_RIGHTS; -1 = none */
    int nfds;
};

/* A running exec: fd is the requesting connection (-1 once the agent closed it). */
struct exec_proc {
    pid_t pid; /* 0 = free slot */
    int fd;
};

struct supervisor {
    const char *state_dir;
    unsigned long long generation;      /* grows on every status change (write_status) */
    unsigned long long status_requests; /* "status" requests served, reported by "hello" */
    int watchers[MAX_WATCHERS];         /* parked "watch" connections; -1 = free slot */
    int dirfd;
    int devnull;
    json_t *record_doc;
    struct krc_sandbox_record rec;
    const char *hostname;
    int sigfd;
    int listenfd;
    struct client clients[MAX_CLIENTS];
    struct exec_proc execs[MAX_EXECS];
    long long log_max_size;
    int log_max_files;
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

static void notify_watchers(struct supervisor *s);

/* Records the containers' states in status.json; every call is a state change, so it also
 * advances the generation and then (the file written: a watcher may read it next if we exit)
 * answers the parked watchers. */
static int write_status(struct supervisor *s)
{
    struct krc_error err;
    s->generation++;
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
    notify_watchers(s);
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

static void respond(int fd, json_t *resp);

/* 1 if pid was an exec: its requester gets {"ok":true,"exit_code":N} and the slot is freed. */
static int exec_reaped(struct supervisor *s, pid_t pid, int wst)
{
    for (int i = 0; i < MAX_EXECS; i++) {
        struct exec_proc *e = &s->execs[i];
        if (e->pid != pid)
            continue;
        int code = WIFSIGNALED(wst) ? 128 + WTERMSIG(wst) : WEXITSTATUS(wst);
        /* Whatever it left in its session goes with it, as with a runtime's exec. */
        if (kill(-pid, SIGKILL) != 0 && errno != ESRCH)
            KRC_LOG_WARN("kill exec group", "error", strerror(errno));
        if (e->fd >= 0) {
            json_t *resp = json_pack("{s:b,s:i}", "ok", 1, "exit_code", code);
            if (resp)
                respond(e->fd, resp);
            json_decref(resp);
            close(e->fd);
        }
        e->pid = 0;
        e->fd = -1;
        return 1;
    }
    return 0;
}

static void reap(struct supervisor *s)
{
    int changed = 0;
    for (;;) {
        int wst;
        pid_t pid = waitpid(-1, &wst, WNOHANG);
        if (pid <= 0)
            break;
        if (exec_reaped(s, pid, wst))
            continue;
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

/* In the forked child: only async-signal-safe calls until execve. Never returns. stdio are the
 * new stdin, stdout and stderr; with tty they are one pty slave, made the controlling terminal. */
static void exec_child(const int stdio[EXEC_FDS], int tty, int report, const char *workdir,
                       const char *path, const char *const *argv, const char *const *envp)
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
        dup2(stdio[0], STDIN_FILENO) < 0 || dup2(stdio[1], STDOUT_FILENO) < 0 ||
        dup2(stdio[2], STDERR_FILENO) < 0 || (tty && ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0))
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

/* --- container output --- */

/* Deletes the rotated files of this start that retention no longer keeps. */
static void prune_logs(struct supervisor *s, struct container *c)
{
    char rel[KRC_POD_NAME_MAX + 64];
    unsigned keep_from = krc_logrotate_keep_from(c->log_seq, s->log_max_files);
    snprintf(rel, sizeof(rel), "logs/%s", c->st.name);
    int dfd = openat(s->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    struct dirent *e;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    while ((e = readdir(d))) {
        int restart;
        unsigned seq;
        if (krc_logrotate_parse(e->d_name, &restart, &seq) == KRC_LOGFILE_ROTATED &&
            restart == c->st.restart_count && seq < keep_from &&
            unlinkat(dirfd(d), e->d_name, 0) != 0)
            KRC_LOG_WARN("could not delete a rotated log", "file", e->d_name, "error",
                         strerror(errno));
    }
    closedir(d);
}

/* <restart>.log becomes <restart>.log.<seq> and a new <restart>.log is opened. On failure the
 * container keeps writing to the old file (and we try again at the next write). */
static void rotate_log(struct supervisor *s, struct container *c)
{
    char from[KRC_POD_NAME_MAX + 64], to[KRC_POD_NAME_MAX + 64], name[48];
    struct krc_error err;
    krc_logrotate_name(name, sizeof(name), c->st.restart_count, 0);
    snprintf(from, sizeof(from), "logs/%s/%s", c->st.name, name);
    krc_logrotate_name(name, sizeof(name), c->st.restart_count, c->log_seq + 1);
    snprintf(to, sizeof(to), "logs/%s/%s", c->st.name, name);
    if (renameat(s->dirfd, from, s->dirfd, to) != 0) {
        KRC_LOG_WARN("could not rotate a log", "file", from, "error", strerror(errno));
        return;
    }
    c->log_seq++;
    int fd = open_log(s, c->st.name, c->st.restart_count, &err);
    if (fd < 0) {
        KRC_LOG_WARN("could not open a new log after rotation", "error", err.msg);
        return;
    }
    close(c->log_fd);
    c->log_fd = fd;
    c->log_size = 0;
    prune_logs(s, c);
}

/* Copies what the container wrote (one read) to its log; at EOF closes the pipe. */
static void pump_output(struct supervisor *s, struct container *c)
{
    char buf[65536];
    ssize_t n = read(c->out_fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close(c->out_fd);
        c->out_fd = -1;
        return;
    }
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(c->log_fd, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            KRC_LOG_WARN("container log write failed", "container", c->st.name, "error",
                         strerror(errno));
            break;
        }
        off += w;
    }
    c->log_size += n;
    if (s->log_max_size > 0 && c->log_size >= s->log_max_size)
        rotate_log(s, c);
}

/* Copies everything still in the pipe (the container is gone) and closes both ends. */
static void drain_output(struct supervisor *s, struct container *c)
{
    while (c->out_fd >= 0) {
        struct pollfd p = {.fd = c->out_fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            break;
        pump_output(s, c);
    }
    if (c->out_fd >= 0)
        close(c->out_fd);
    if (c->log_fd >= 0)
        close(c->log_fd);
    c->out_fd = c->log_fd = -1;
}

/* The environment a process of the container gets: defaults (PATH, HOSTNAME, HOME) with the
 * spec's env on top. buf holds the defaults; *envp is malloc'd (free() it). */
struct env_defaults {
    char buf[3][PATH_MAX + 16];
};

static int container_env(struct supervisor *s, const struct krc_container_spec *spec,
                         struct env_defaults *d, const char ***envp, struct krc_error *err)
{
    const char *defaults[3] = {d->buf[0], d->buf[1], d->buf[2]};
    snprintf(d->buf[0], sizeof(d->buf[0]), "PATH=%s", s->rec.path ? s->rec.path : DEFAULT_PATH);
    snprintf(d->buf[1], sizeof(d->buf[1]), "HOSTNAME=%s", s->hostname);
    snprintf(d->buf[2], sizeof(d->buf[2]), "HOME=/root");
    return krc_podenv_merge(defaults, 3, spec->env, spec->envc, envp, err);
}

/* Forks and execs the container; on success fills c->st. On failure records the container as
 * exited with code 128 and the message (as runtimes report StartError) and returns the error. */
static int spawn(struct supervisor *s, struct container *c, const struct krc_container_spec *spec,
                 struct krc_error *err)
{
    struct env_defaults defaults;
    const char **envp = NULL;
    char path[PATH_MAX];
    int logfd = -1, pipefd[2] = {-1, -1}, outpipe[2] = {-1, -1};
    int rc = container_env(s, spec, &defaults, &envp, err);
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
    if (pipe2(pipefd, O_CLOEXEC) != 0 || pipe2(outpipe, O_CLOEXEC) != 0 ||
        fcntl(outpipe[0], F_SETFL, O_NONBLOCK) != 0) {
        rc = krc_error_set(err, KRC_EIO, "container %s: pipe: %s", spec->name, strerror(errno));
        goto out;
    }
    pid_t pid = fork();
    if (pid < 0) {
        rc = krc_error_set(err, KRC_EIO, "container %s: fork: %s", spec->name, strerror(errno));
        goto out;
    }
    if (pid == 0) {
        const int stdio[EXEC_FDS] = {s->devnull, outpipe[1], outpipe[1]};
        exec_child(stdio, 0, pipefd[1], spec->workdir, path, spec->argv, envp);
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    close(outpipe[1]);
    outpipe[1] = -1;
    struct stat st;
    c->out_fd = outpipe[0];
    c->log_fd = logfd;
    c->log_size = fstat(logfd, &st) == 0 ? (long long)st.st_size : 0;
    outpipe[0] = logfd = -1;
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
    for (int i = 0; i < 2; i++)
        if (outpipe[i] >= 0)
            close(outpipe[i]);
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
    if (c->spec_doc) { /* a restart: output a lingering descendant still writes is dropped */
        drain_output(s, c);
        json_decref(c->spec_doc);
    }
    memset(c, 0, sizeof(*c));
    c->out_fd = c->log_fd = -1;
    snprintf(c->st.name, sizeof(c->st.name), "%s", spec->name);
    c->st.restart_count = restarts;
    c->spec_doc = json_incref(cdoc);
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

/* --- exec --- */

/* Forks req's argv in container `name` with stdio = the client's passed fds. On success the
 * connection moves to an exec slot (answered when the process exits) and *pid is set. */
static int start_exec(struct supervisor *s, struct client *cl, json_t *req, struct krc_error *err)
{
    const char *name = json_string_value(json_object_get(req, "name"));
    json_t *argv_j = json_object_get(req, "argv");
    int tty = json_is_true(json_object_get(req, "tty"));
    struct container *c = name ? find(s, name) : NULL;
    struct krc_container_spec_buf buf = {0};
    struct env_defaults defaults;
    const char **envp = NULL, *argv[KRC_POD_MAX_ARGS + 1];
    char path[PATH_MAX];
    int pipefd[2] = {-1, -1}, rc = 0, slot = -1;
    size_t argc = json_array_size(argv_j);
    if (!c || c->st.state != KRC_CONTAINER_RUNNING || !c->spec_doc)
        return krc_error_set(err, KRC_ENOTFOUND, "container %s: not running",
                             name ? name : "(none)");
    if (argc == 0 || argc > KRC_POD_MAX_ARGS)
        return krc_error_set(err, KRC_EINVAL, "exec in %s: argv must have 1 to %d entries", name,
                             KRC_POD_MAX_ARGS);
    if (cl->nfds != EXEC_FDS)
        return krc_error_set(err, KRC_EINVAL, "exec in %s: expected %d file descriptors, got %d",
                             name, EXEC_FDS, cl->nfds);
    for (size_t i = 0; i < argc; i++)
        if (!(argv[i] = json_string_value(json_array_get(argv_j, i))))
            return krc_error_set(err, KRC_EINVAL, "exec in %s: argv[%zu] is not a string", name, i);
    argv[argc] = NULL;
    for (int i = 0; i < MAX_EXECS && slot < 0; i++)
        if (!s->execs[i].pid)
            slot = i;
    if (slot < 0)
        return krc_error_set(err, KRC_ERANGE, "exec in %s: %d execs running already", name,
                             MAX_EXECS);
    if ((rc = krc_podjson_container_spec_decode(c->spec_doc, &buf, err)) ||
        (rc = container_env(s, &buf.spec, &defaults, &envp, err)) ||
        (rc = krc_podenv_resolve(argv[0], krc_podenv_get(envp, "PATH"), path, sizeof(path), err)))
        goto out;
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        rc = krc_error_set(err, KRC_EIO, "exec in %s: pipe: %s", name, strerror(errno));
        goto out;
    }
    pid_t pid = fork();
    if (pid < 0) {
        rc = krc_error_set(err, KRC_EIO, "exec in %s: fork: %s", name, strerror(errno));
        goto out;
    }
    if (pid == 0)
        exec_child(cl->fds, tty, pipefd[1], buf.spec.workdir, path, argv, envp);
    close(pipefd[1]);
    pipefd[1] = -1;
    struct exec_failure f;
    ssize_t n;
    do
        n = read(pipefd[0], &f, sizeof(f));
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(f)) {
        /* reaped later by reap(), which finds no container or exec with this pid */
        rc = krc_error_set(
            err, f.err == ENOENT ? KRC_ENOTFOUND : KRC_EIO, "exec in %s: %s %s: %s", name,
            f.stage == 1   ? "chdir"
            : f.stage == 2 ? "exec"
                           : "setup",
            f.stage == 1 ? (buf.spec.workdir ? buf.spec.workdir : "/") : path, strerror(f.err));
        goto out;
    }
    s->execs[slot].pid = pid;
    s->execs[slot].fd = cl->fd;
    cl->fd = -1; /* the exec slot owns the connection now */
    char pidstr[16];
    snprintf(pidstr, sizeof(pidstr), "%d", pid);
    KRC_LOG_INFO("exec started", "container", name, "command", argv[0], "pid", pidstr);
out:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    free(envp);
    krc_podjson_container_spec_release(&buf);
    return rc;
}

/* The agent closed an exec's connection: the user went away, so the process goes too. */
static void exec_abandoned(struct exec_proc *e)
{
    if (kill(-e->pid, SIGKILL) != 0 && errno != ESRCH)
        KRC_LOG_WARN("kill abandoned exec", "error", strerror(errno));
    close(e->fd);
    e->fd = -1;
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
        json_object_set_new(resp, "generation", json_integer((json_int_t)s->generation));
        json_object_set_new(resp, "status_requests", json_integer((json_int_t)s->status_requests));
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
        s->status_requests++;
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

/* Answers every parked watch with the current generation and closes it. */
static void notify_watchers(struct supervisor *s)
{
    json_t *resp = NULL;
    for (int i = 0; i < MAX_WATCHERS; i++) {
        if (s->watchers[i] < 0)
            continue;
        if (!resp)
            resp = json_pack("{s:b,s:I}", "ok", 1, "generation", (json_int_t)s->generation);
        if (resp)
            respond(s->watchers[i], resp);
        close(s->watchers[i]); /* without a response (out of memory) the EOF still wakes it */
        s->watchers[i] = -1;
    }
    json_decref(resp);
}

/* A watch request: answered at once if the client's generation is stale, else parked until the
 * next change. Returns 1 if the connection was parked (it moves to a watcher slot). */
static int park_watch(struct supervisor *s, struct client *c, json_t *req, json_t *resp,
                      struct krc_error *err, int *rc)
{
    json_t *g = json_object_get(req, "generation");
    *rc = 0;
    if (!json_is_integer(g) || (unsigned long long)json_integer_value(g) != s->generation) {
        json_object_set_new(resp, "generation", json_integer((json_int_t)s->generation));
        return 0;
    }
    for (int i = 0; i < MAX_WATCHERS; i++) {
        if (s->watchers[i] < 0) {
            s->watchers[i] = c->fd;
            c->fd = -1;
            return 1;
        }
    }
    *rc = krc_error_set(err, KRC_ERANGE, "watch: %d watchers already", MAX_WATCHERS);
    return 0;
}

static void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    for (int i = 0; i < c->nfds; i++)
        close(c->fds[i]);
    c->nfds = 0;
    krc_strbuf_release(&c->in);
}

/* recv that also takes file descriptors passed with SCM_RIGHTS (at most EXEC_FDS per client;
 * any beyond are closed). */
static ssize_t recv_with_fds(struct client *c, char *buf, size_t len)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * EXEC_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0)
        return n;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (c->nfds < EXEC_FDS)
                c->fds[c->nfds++] = fd;
            else
                close(fd);
        }
    }
    return n;
}

static void client_readable(struct supervisor *s, struct client *c)
{
    char chunk[65536];
    ssize_t n = recv_with_fds(c, chunk, sizeof(chunk));
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
    const char *op = rc == 0 ? json_string_value(json_object_get(req, "op")) : NULL;
    if (rc == 0 && op && strcmp(op, "watch") == 0) {
        if (park_watch(s, c, req, resp, &err, &rc)) {
            json_decref(resp);
            json_decref(req);
            client_close(c);
            return;
        }
    } else if (rc == 0 && op && strcmp(op, "exec") == 0) {
        rc = start_exec(s, c, req, &err);
        if (rc == 0) { /* answered when the process exits */
            json_decref(resp);
            json_decref(req);
            client_close(c);
            return;
        }
    } else if (rc == 0) {
        rc = handle_request(s, req, resp, &err);
    }
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
        enum { MAX_POLL = 2 + MAX_CLIENTS + MAX_EXECS + KRC_POD_MAX_CONTAINERS + MAX_WATCHERS };
        struct pollfd pfd[MAX_POLL];
        struct client *who[MAX_POLL];
        struct exec_proc *exec_of[MAX_POLL];
        struct container *out_of[MAX_POLL];
        int *watcher_of[MAX_POLL];
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = s->listenfd, .events = POLLIN};
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (s->clients[i].fd < 0)
                continue;
            who[n] = &s->clients[i];
            exec_of[n] = NULL;
            out_of[n] = NULL;
            watcher_of[n] = NULL;
            pfd[n++] = (struct pollfd){.fd = s->clients[i].fd, .events = POLLIN};
        }
        for (int i = 0; i < MAX_EXECS; i++) {
            if (!s->execs[i].pid || s->execs[i].fd < 0)
                continue;
            who[n] = NULL;
            exec_of[n] = &s->execs[i];
            out_of[n] = NULL;
            watcher_of[n] = NULL;
            pfd[n++] = (struct pollfd){.fd = s->execs[i].fd, .events = POLLIN};
        }
        for (size_t i = 0; i < s->n_containers; i++) {
            if (s->containers[i].out_fd < 0)
                continue;
            who[n] = NULL;
            exec_of[n] = NULL;
            out_of[n] = &s->containers[i];
            watcher_of[n] = NULL;
            pfd[n++] = (struct pollfd){.fd = s->containers[i].out_fd, .events = POLLIN};
        }
        for (int i = 0; i < MAX_WATCHERS; i++) {
            if (s->watchers[i] < 0)
                continue;
            who[n] = NULL;
            exec_of[n] = NULL;
            out_of[n] = NULL;
            watcher_of[n] = &s->watchers[i];
            pfd[n++] = (struct pollfd){.fd = s->watchers[i], .events = POLLIN};
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
            for (nfds_t i = 2; i < n; i++) {
                if (!pfd[i].revents)
                    continue;
                if (watcher_of[i]) {
                    /* the agent sends nothing after a watch: readable means it closed */
                    if (*watcher_of[i] == pfd[i].fd) {
                        close(pfd[i].fd);
                        *watcher_of[i] = -1;
                    }
                } else if (out_of[i]) {
                    if (out_of[i]->out_fd == pfd[i].fd)
                        pump_output(s, out_of[i]);
                } else if (who[i]) {
                    client_readable(s, who[i]);
                } else if (exec_of[i]->fd == pfd[i].fd) {
                    /* the agent sends nothing after the request: readable means it closed */
                    exec_abandoned(exec_of[i]);
                }
            }
        }
        long long now = now_ms();
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (s->clients[i].fd >= 0 && s->clients[i].deadline_ms <= now)
                client_close(&s->clients[i]);
        fire_deadlines(s);
    }
}

/* --- start-up --- */

static int parse_args(int argc, char **argv, struct supervisor *s, const char **dir, int *sync_fd)
{
    *dir = NULL;
    *sync_fd = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        char *end;
        if (strcmp(argv[i], "--state-dir") == 0) {
            *dir = argv[i + 1];
        } else if (strcmp(argv[i], "--log-max-size") == 0) {
            s->log_max_size = strtoll(argv[i + 1], &end, 10);
            if (*end || s->log_max_size < 0)
                return KRC_EINVAL;
        } else if (strcmp(argv[i], "--log-max-files") == 0) {
            long v = strtol(argv[i + 1], &end, 10);
            if (*end || v < 1 || v > INT_MAX)
                return KRC_EINVAL;
            s->log_max_files = (int)v;
        } else if (strcmp(argv[i], "--sync-fd") == 0) {
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
    char hosts[PATH_MAX], resolv[PATH_MAX], staging[PATH_MAX];
    struct krc_podmount_op *ops = NULL;
    size_t n = 0;
    snprintf(hosts, sizeof(hosts), "%s/hosts", s->state_dir);
    snprintf(resolv, sizeof(resolv), "%s/resolv.conf", s->state_dir);
    snprintf(staging, sizeof(staging), "%s/staging", s->state_dir);
    const struct krc_sandbox_spec *spec = &s->rec.spec;
    int rc = krc_podmount_plan(spec->mounts, spec->n_mounts, spec->shm_size, spec->tmp_size, hosts,
                               resolv, &ops, &n, err);
    if (rc == 0)
        rc = krc_podmount_apply(ops, n, staging, err);
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
    for (int i = 0; i < MAX_EXECS; i++)
        s.execs[i].fd = -1;
    for (int i = 0; i < MAX_WATCHERS; i++)
        s.watchers[i] = -1;
    krc_error_clear(&err);
    s.log_max_size = KRC_LOG_MAX_SIZE_DEFAULT;
    s.log_max_files = KRC_LOG_MAX_FILES_DEFAULT;
    if (parse_args(argc, argv, &s, &dir, &sync_fd) != 0) {
        fprintf(stderr, "usage: kuberay-node pod-supervisor --state-dir DIR --sync-fd N "
                        "[--log-max-size BYTES] [--log-max-files N]\n");
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
    for (int i = 0; i < MAX_EXECS; i++)
        if (s.execs[i].fd >= 0)
            close(s.execs[i].fd);
    for (int i = 0; i < MAX_WATCHERS; i++)
        if (s.watchers[i] >= 0)
            close(s.watchers[i]);
    for (size_t i = 0; i < s.n_containers; i++) {
        drain_output(&s, &s.containers[i]);
        json_decref(s.containers[i].spec_doc);
    }
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
