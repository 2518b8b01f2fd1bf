/* Integration tests of leader election (kube/leader) against the real control plane (exit 77,
 * "skipped", without $KUBECONFIG).
 *
 * Contenders are separate processes, as two operator replicas are: this binary re-executed as
 * "itest_leader contender NS LEASE IDENTITY RELEASE LEASE_MS RENEW_MS RETRY_MS JITTER". Each
 * runs one elector with its own client and reports on stdout (a pipe to the test) one line per
 * callback: "started|stopped|leader|ready <CLOCK_MONOTONIC ns> [identity]". CLOCK_MONOTONIC is
 * one clock for every process of the machine, so the test compares the contenders' times with
 * its own (when it sent a signal). SIGTERM stops a contender cleanly; SIGKILL is a crash.
 *
 * Durations are short to keep the tests fast: lease 3 s, renew deadline 2 s, retry 0.5 s. The
 * timing bounds asserted are derived in comments next to them; each can fail. After every test
 * all contenders' leadership intervals are checked pairwise: no two may overlap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/client.h"
#include "kube/leader.h"
#include "util/log.h"

#define NS_PER_S    INT64_C(1000000000)
#define NS_PER_MS   INT64_C(1000000)
#define LEASE_MS    3000
#define RENEW_MS    2000
#define RETRY_MS    500
#define MAX_PROCS   4
#define MAX_TERMS   8
#define LINE_MAX_   512
#define CONTENDER_S "contender"

static const struct krc_resource leases = {"coordination.k8s.io", "v1", "leases", 1};
static const struct krc_resource namespaces = {"", "v1", "namespaces", 0};
static const struct krc_resource core_events = {"", "v1", "events", 1};

static struct krc_client *client;
static char ns[64];

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static double secs(int64_t ns_)
{
    return (double)ns_ / (double)NS_PER_S;
}

/* ---- the contender process ---- */

static void say(const char *what, const char *arg)
{
    char line[LINE_MAX_];
    int n =
        snprintf(line, sizeof(line), "%s %lld %s\n", what, (long long)mono_ns(), arg ? arg : "");
    if (n > 0 && write(STDOUT_FILENO, line, (size_t)n) != n)
        _exit(3); /* the test is gone */
}

static void on_started(void *ctx)
{
    (void)ctx;
    say("started", NULL);
}

static void on_stopped(void *ctx)
{
    (void)ctx;
    say("stopped", NULL);
}

static void on_new_leader(void *ctx, const char *identity)
{
    (void)ctx;
    say("leader", identity);
}

static int contender_main(int argc, char **argv)
{
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    struct krc_leader *le = NULL;
    sigset_t set;
    int sig = 0, rc;

    if (argc != 10) {
        fprintf(stderr,
                "usage: %s contender NS LEASE ID RELEASE LEASE_MS RENEW_MS RETRY_MS "
                "JITTER\n",
                argv[0]);
        return 2;
    }
    /* SIGTERM is taken with sigwait: block it before any thread exists so all inherit it. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return 2;
    if (krc_kubeconfig_load(&cfg, NULL, &err) != 0) {
        fprintf(stderr, "contender: %s\n", err.msg);
        return 2;
    }
    struct krc_leader_opts o = {
        .lease_namespace = argv[2],
        .lease_name = argv[3],
        .identity = argv[4],
        .release_on_cancel = atoi(argv[5]),
        .lease_duration_ns = atoll(argv[6]) * NS_PER_MS,
        .renew_deadline_ns = atoll(argv[7]) * NS_PER_MS,
        .retry_period_ns = atoll(argv[8]) * NS_PER_MS,
        .jitter = atof(argv[9]),
        .user_agent = "itest-leader",
        .callbacks = {on_started, on_stopped, on_new_leader, NULL},
    };
    rc = krc_leader_new(&cfg, &o, &le, &err);
    krc_kubeconfig_free(&cfg);
    if (rc == 0)
        rc = krc_leader_start(le, &err);
    if (rc) {
        fprintf(stderr, "contender %s: %s\n", argv[4], err.msg);
        krc_leader_free(le);
        return 2;
    }
    say("ready", NULL);
    if (sigwait(&set, &sig) != 0)
        return 2;
    krc_leader_stop(le);
    krc_leader_free(le);
    say("exited", NULL);
    return 0;
}

/* ---- the test's view of contenders ---- */

struct proc {
    pid_t pid;
    int fd; /* read end of its stdout; -1 after EOF */
    char id[64];
    char buf[4096];
    size_t len;
    int64_t started[MAX_TERMS], stopped[MAX_TERMS];
    int nstarted, nstopped;
    int64_t killed; /* when the test SIGKILLed it; 0 if not */
    char seen_leader[128];
    int ready, exited;
};

static struct proc procs[MAX_PROCS];
static int nprocs;

static struct proc *spawn(const char *lease, const char *name, int release, double jitter)
{
    assert_true(nprocs < MAX_PROCS);
    struct proc *p = &procs[nprocs++];
    int fds[2];
    char rel[4], ld[16], rd[16], rp[16], jit[32];

    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s-%ld", name, (long)getpid());
    snprintf(rel, sizeof(rel), "%d", release);
    snprintf(ld, sizeof(ld), "%d", LEASE_MS);
    snprintf(rd, sizeof(rd), "%d", RENEW_MS);
    snprintf(rp, sizeof(rp), "%d", RETRY_MS);
    snprintf(jit, sizeof(jit), "%g", jitter);
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "itest_leader", CONTENDER_S, ns, lease, p->id, rel, ld, rd, rp, jit,
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    p->fd = fds[0];
    return p;
}

static void handle_line(struct proc *p, const char *line)
{
    char kind[16], arg[128] = "";
    long long ts = 0;
    if (sscanf(line, "%15s %lld %127[^\n]", kind, &ts, arg) < 2)
        fail_msg("contender %s: malformed line \"%s\"", p->id, line);
    if (strcmp(kind, "started") == 0) {
        assert_true(p->nstarted < MAX_TERMS);
        p->started[p->nstarted++] = ts;
    } else if (strcmp(kind, "stopped") == 0) {
        assert_true(p->nstopped < MAX_TERMS);
        p->stopped[p->nstopped++] = ts;
    } else if (strcmp(kind, "leader") == 0) {
        snprintf(p->seen_leader, sizeof(p->seen_leader), "%s", arg);
    } else if (strcmp(kind, "ready") == 0) {
        p->ready = 1;
    } else if (strcmp(kind, "exited") == 0) {
        p->exited = 1;
    }
}

/* Reads what the contenders said within timeout_ms (returns early once something arrived). */
static void pump(long timeout_ms)
{
    struct pollfd pfd[MAX_PROCS];
    struct proc *who[MAX_PROCS];
    int n = 0;
    for (int i = 0; i < nprocs; i++) {
        if (procs[i].fd < 0)
            continue;
        pfd[n] = (struct pollfd){.fd = procs[i].fd, .events = POLLIN};
        who[n++] = &procs[i];
    }
    if (n == 0) {
        struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return;
    }
    int r = poll(pfd, (nfds_t)n, (int)timeout_ms);
    if (r < 0 && errno != EINTR)
        fail_msg("poll: %s", strerror(errno));
    for (int i = 0; i < n && r > 0; i++) {
        if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        struct proc *p = who[i];
        ssize_t got = read(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
        if (got <= 0) {
            close(p->fd);
            p->fd = -1;
            continue;
        }
        p->len += (size_t)got;
        p->buf[p->len] = '\0';
        char *nl;
        while ((nl = strchr(p->buf, '\n')) != NULL) {
            *nl = '\0';
            handle_line(p, p->buf);
            size_t used = (size_t)(nl - p->buf) + 1;
            memmove(p->buf, p->buf + used, p->len - used + 1);
            p->len -= used;
        }
    }
}

typedef int (*pred_fn)(void *arg);

/* Pumps until pred holds; fails the test after timeout_ms, naming what was awaited. */
static void wait_until(pred_fn pred, void *arg, long timeout_ms, const char *what)
{
    int64_t deadline = mono_ns() + timeout_ms * NS_PER_MS;
    while (!pred(arg)) {
        int64_t left = (deadline - mono_ns()) / NS_PER_MS;
        if (left <= 0)
            fail_msg("timed out after %ld ms waiting for %s", timeout_ms, what);
        pump(left < 100 ? (long)left : 100);
    }
}

static int any_started(void *arg)
{
    (void)arg;
    for (int i = 0; i < nprocs; i++)
        if (procs[i].nstarted > 0)
            return 1;
    return 0;
}

static int has_started(void *arg)
{
    return ((struct proc *)arg)->nstarted > 0;
}

static int has_stopped(void *arg)
{
    return ((struct proc *)arg)->nstopped > 0;
}

struct seen {
    struct proc *p;
    const char *holder;
};

static int has_seen_leader(void *arg)
{
    struct seen *s = arg;
    return strcmp(s->p->seen_leader, s->holder) == 0;
}

static void sigkill(struct proc *p)
{
    int status;
    p->killed = mono_ns();
    assert_int_equal(kill(p->pid, SIGKILL), 0);
    assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    p->pid = 0;
}

/* SIGTERM, read to EOF, and require a clean exit. */
static void stop(struct proc *p)
{
    int status;
    if (!p->pid)
        return;
    assert_int_equal(kill(p->pid, SIGTERM), 0);
    int64_t deadline = mono_ns() + 10 * NS_PER_S;
    while (p->fd >= 0 && mono_ns() < deadline)
        pump(100);
    assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
    p->pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("contender %s: exit status %d", p->id, status);
    assert_true(p->exited);
}

/* Every [started, stopped-or-killed) interval of one contender is disjoint from every interval
 * of every other: never two leaders at once. */
static void assert_one_leader_at_a_time(void)
{
    for (int i = 0; i < nprocs; i++)
        for (int a = 0; a < procs[i].nstarted; a++) {
            int64_t s1 = procs[i].started[a];
            int64_t e1 = a < procs[i].nstopped ? procs[i].stopped[a]
                         : procs[i].killed     ? procs[i].killed
                                               : INT64_MAX;
            for (int j = 0; j < nprocs; j++)
                for (int b = 0; j != i && b < procs[j].nstarted; b++) {
                    int64_t s2 = procs[j].started[b];
                    int64_t e2 = b < procs[j].nstopped ? procs[j].stopped[b]
                                 : procs[j].killed     ? procs[j].killed
                                                       : INT64_MAX;
                    if (s1 < e2 && s2 < e1)
                        fail_msg("%s and %s led at the same time", procs[i].id, procs[j].id);
                }
        }
}

static void reset_procs(void)
{
    for (int i = 0; i < nprocs; i++) {
        if (procs[i].pid) {
            kill(procs[i].pid, SIGKILL);
            waitpid(procs[i].pid, NULL, 0);
        }
        if (procs[i].fd >= 0)
            close(procs[i].fd);
    }
    memset(procs, 0, sizeof(procs));
    nprocs = 0;
}

/* ---- the test's view of the Lease ---- */

static json_t *get_lease(const char *name)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0, ""};
    json_t *doc = NULL;
    if (krc_client_get(client, &leases, ns, name, &out, &err) != 0 ||
        krc_client_parse_json(&out, &doc, &err) != 0)
        fail_msg("get lease %s: %s", name, err.msg);
    krc_strbuf_release(&out);
    return doc;
}

static const char *spec_str(json_t *lease, const char *key)
{
    return json_string_value(json_object_get(json_object_get(lease, "spec"), key));
}

static json_int_t spec_int(json_t *lease, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(lease, "spec"), key));
}

/* Waits until core/v1 Events regarding the lease say "<id> became leader" for each id. */
static void assert_leader_events(const char *lease, json_t *lease_obj, const char *id1,
                                 const char *id2)
{
    char selector[256], want1[128], want2[128];
    snprintf(selector, sizeof(selector), "involvedObject.name=%s,reason=LeaderElection", lease);
    snprintf(want1, sizeof(want1), "%s became leader", id1);
    snprintf(want2, sizeof(want2), "%s became leader", id2 ? id2 : id1);
    const char *uid =
        json_string_value(json_object_get(json_object_get(lease_obj, "metadata"), "uid"));
    int64_t deadline = mono_ns() + 10 * NS_PER_S;
    for (;;) {
        struct krc_list_opts lo = {.field_selector = selector};
        struct krc_strbuf out = KRC_STRBUF_INIT;
        struct krc_error err = {0, ""};
        json_t *list = NULL;
        if (krc_client_list(client, &core_events, ns, &lo, &out, &err) != 0 ||
            krc_client_parse_json(&out, &list, &err) != 0)
            fail_msg("list events: %s", err.msg);
        krc_strbuf_release(&out);
        int found1 = 0, found2 = 0;
        size_t i;
        json_t *ev;
        json_array_foreach(json_object_get(list, "items"), i, ev)
        {
            const char *msg = json_string_value(json_object_get(ev, "message"));
            json_t *inv = json_object_get(ev, "involvedObject");
            if (!msg)
                continue;
            int is1 = strcmp(msg, want1) == 0, is2 = strcmp(msg, want2) == 0;
            if (!is1 && !is2)
                continue;
            assert_string_equal(json_string_value(json_object_get(ev, "type")), "Normal");
            assert_string_equal(json_string_value(json_object_get(inv, "kind")), "Lease");
            assert_string_equal(json_string_value(json_object_get(inv, "apiVersion")),
                                "coordination.k8s.io/v1");
            assert_string_equal(json_string_value(json_object_get(inv, "namespace")), ns);
            assert_string_equal(json_string_value(json_object_get(inv, "uid")), uid);
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(ev, "source"), "component")),
                is1 ? id1 : id2);
            found1 |= is1;
            found2 |= is2;
        }
        json_decref(list);
        if (found1 && found2)
            return;
        if (mono_ns() > deadline)
            fail_msg("no LeaderElection Event \"%s\"", found1 ? want2 : want1);
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- tests ---- */

/* Two processes contend for one lease: exactly one leads, the other does not while the leader
 * lives; after a SIGKILL (no release) the other takes over once the lease has expired. */
static void test_one_of_two_processes_leads_and_the_other_takes_over_after_sigkill(void **state)
{
    (void)state;
    const char *lease = "itest-kill";
    /* No jitter: the bound below is then exact; jitter is exercised by the release test. */
    struct proc *a = spawn(lease, "a", 0, -1);
    struct proc *b = spawn(lease, "b", 0, -1);
    wait_until(any_started, NULL, 20000, "a leader");
    struct proc *leader = a->nstarted ? a : b, *standby = a->nstarted ? b : a;

    /* For two lease durations: the standby never leads, and the Lease names the leader. */
    int64_t until = mono_ns() + 2 * LEASE_MS * NS_PER_MS;
    while (mono_ns() < until) {
        pump(250);
        assert_int_equal(standby->nstarted, 0);
        assert_int_equal(leader->nstopped, 0);
        json_t *l = get_lease(lease);
        assert_string_equal(spec_str(l, "holderIdentity"), leader->id);
        assert_int_equal(spec_int(l, "leaseDurationSeconds"), LEASE_MS / 1000);
        json_decref(l);
    }
    json_t *before = get_lease(lease);
    json_int_t transitions = spec_int(before, "leaseTransitions");
    json_decref(before);

    /* Kill at a random phase of the renewal period: the watch window above is a multiple of it,
     * which would otherwise always kill just after a renewal. */
    struct timespec phase = {0, (long)(rand() % RETRY_MS) * 1000000L};
    nanosleep(&phase, NULL);
    sigkill(leader);
    wait_until(has_started, standby, 4 * LEASE_MS, "the standby to take over");
    int64_t takeover = standby->started[0] - leader->killed;
    fprintf(stderr, "takeover after SIGKILL: %.3f s (lease %.1f s, retry %.1f s)\n", secs(takeover),
            LEASE_MS / 1000.0, RETRY_MS / 1000.0);
    /* Bound: leaseDuration + retryPeriod + 0.5 s. The leader last renewed at r <= kill. The
     * standby, polling every R plus a request (no jitter here), first sees that renewal at
     * p <= r + R + request <= kill + R + request: client-go judges expiry from when it saw the
     * record change, never from the remote renewTime. It takes over at the first poll after
     * p + L; L being a whole number (6) of retry periods, that is the 6th poll after p, at
     * p + L + 6 requests. So takeover - kill <= L + R + ~9 requests (2 more for the winning
     * GET and PUT). 0.5 s of margin is ~10x that under sanitizers. (With L not a multiple of
     * the poll period, or with jitter, up to one more poll period can be needed.) */
    int64_t max = (LEASE_MS + RETRY_MS + 500) * NS_PER_MS;
    if (takeover > max)
        fail_msg("takeover took %.3f s, more than %.3f s", secs(takeover), secs(max));
    /* And not before the lease could have expired: the leader renewed at most one retry period
     * (plus a request) before the kill, so the lease was valid until >= kill + L - R. */
    int64_t min = (LEASE_MS - RETRY_MS - 300) * NS_PER_MS;
    if (takeover < min)
        fail_msg("takeover after %.3f s: before the lease expired (>= %.3f s)", secs(takeover),
                 secs(min));

    json_t *after = get_lease(lease);
    assert_string_equal(spec_str(after, "holderIdentity"), standby->id);
    assert_int_equal(spec_int(after, "leaseTransitions"), transitions + 1);
    assert_leader_events(lease, after, leader->id, standby->id);
    json_decref(after);

    stop(standby);
    assert_int_equal(standby->nstopped, 1);
    assert_one_leader_at_a_time();
}

/* With release on shutdown, a SIGTERMed leader stops leading, clears holderIdentity, and the
 * standby takes over at its next poll instead of after leaseDuration. */
static void test_release_on_shutdown_hands_over_at_once(void **state)
{
    (void)state;
    const char *lease = "itest-release";
    struct proc *a = spawn(lease, "a", 1, 0); /* default jitter, 1.2 */
    wait_until(has_started, a, 20000, "a to lead");
    struct proc *b = spawn(lease, "b", 1, 0);
    struct seen seen = {b, a->id};
    wait_until(has_seen_leader, &seen, 10000, "b to see a as the leader");
    json_t *before = get_lease(lease);
    json_int_t transitions = spec_int(before, "leaseTransitions");
    json_decref(before);

    int64_t term = mono_ns();
    assert_int_equal(kill(a->pid, SIGTERM), 0);
    wait_until(has_started, b, 4 * LEASE_MS, "b to take over");
    int64_t handover = b->started[0] - term;
    fprintf(stderr, "handover after SIGTERM with release: %.3f s\n", secs(handover));
    /* Bound: the release lands within a request of the SIGTERM; b polls every R + up to 1.2 R of
     * jitter, so it sees the free lease within 2.2 R = 1.1 s; 0.5 s for requests and scheduling.
     * Without a release b would wait for expiry, at least L - R = 2.5 s. */
    int64_t max = (RETRY_MS * 22 / 10 + 500) * NS_PER_MS;
    if (handover > max)
        fail_msg("handover took %.3f s, more than %.3f s", secs(handover), secs(max));
    stop(a);
    assert_int_equal(a->nstopped, 1);
    assert_true(a->stopped[0] <= b->started[0]);

    json_t *after = get_lease(lease);
    assert_string_equal(spec_str(after, "holderIdentity"), b->id);
    assert_int_equal(spec_int(after, "leaseTransitions"), transitions + 1);
    json_decref(after);

    /* b releases too: the Lease is left free. */
    stop(b);
    json_t *released = get_lease(lease);
    assert_string_equal(spec_str(released, "holderIdentity"), "");
    assert_int_equal(spec_int(released, "leaseDurationSeconds"), 1);
    json_decref(released);
    assert_one_leader_at_a_time();
}

/* A leader that cannot renew (someone else overwrote the Lease) gives up leadership once the renew
 * deadline has passed, without waiting for the lease duration. */
static void test_leader_gives_up_when_renewals_fail_for_the_renew_deadline(void **state)
{
    (void)state;
    const char *lease = "itest-deadline";
    struct proc *a = spawn(lease, "a", 0, -1);
    wait_until(has_started, a, 20000, "a to lead");
    pump(RETRY_MS * 2); /* let it renew a couple of times */

    /* Overwrite the holder, as a contender that believed the lease expired would. The leader
     * renews every 0.5 s, so our read may be stale by the time we write: retry on 409. */
    json_t *l = NULL;
    char *body = NULL;
    struct krc_error err = {0, ""};
    int rc;
    int64_t stolen;
    do {
        json_decref(l);
        free(body);
        l = get_lease(lease);
        json_object_set_new(json_object_get(l, "spec"), "holderIdentity", json_string("intruder"));
        body = json_dumps(l, JSON_COMPACT);
        assert_non_null(body);
        rc = krc_client_update(client, &leases, ns, lease, body, strlen(body), NULL, NULL, &err);
        stolen = mono_ns();
    } while (rc == KRC_ECONFLICT);
    if (rc)
        fail_msg("overwrite lease: %s", err.msg);
    json_decref(l);
    free(body);

    wait_until(has_stopped, a, 4 * LEASE_MS, "a to give up");
    int64_t lost = a->stopped[0] - stolen;
    fprintf(stderr, "leadership given up %.3f s after the lease was taken\n", secs(lost));
    /* Bound: the first failed renewal starts a cycle at most one retry period after the
     * overwrite (or one request before it, if its write arrived after ours), and the cycle gives
     * up renew deadline later: lost in [RD - request, RD + R + 0.5 s of latency]. It is well
     * below the lease duration plus the retry that waiting for expiry would take. */
    if (lost < (RENEW_MS - 300) * NS_PER_MS || lost > (RENEW_MS + RETRY_MS + 500) * NS_PER_MS)
        fail_msg("gave up %.3f s after losing the lease, want %.1f..%.1f s", secs(lost),
                 (RENEW_MS - 300) / 1000.0, (RENEW_MS + RETRY_MS + 500) / 1000.0);
    json_t *after = get_lease(lease);
    assert_string_equal(spec_str(after, "holderIdentity"), "intruder");
    json_decref(after);
    stop(a);
    assert_int_equal(a->nstarted, 1);
    assert_int_equal(a->nstopped, 1);
}

/* In one process: is_leader follows the lease, a stop without release keeps the holder, and a
 * second elector with its own client waits while the lease is held. */
static void test_is_leader_and_stop_without_release(void **state)
{
    (void)state;
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    struct krc_leader *e1 = NULL, *e2 = NULL;
    assert_int_equal(krc_kubeconfig_load(&cfg, NULL, &err), 0);
    struct krc_leader_opts o = {
        .lease_namespace = ns,
        .lease_name = "itest-inproc",
        .identity = "one",
        .lease_duration_ns = LEASE_MS * NS_PER_MS,
        .renew_deadline_ns = RENEW_MS * NS_PER_MS,
        .retry_period_ns = RETRY_MS * NS_PER_MS,
        .no_events = 1,
    };
    assert_int_equal(krc_leader_new(&cfg, &o, &e1, &err), 0);
    o.identity = "two";
    assert_int_equal(krc_leader_new(&cfg, &o, &e2, &err), 0);
    krc_kubeconfig_free(&cfg);
    assert_int_equal(krc_leader_start(e1, &err), 0);
    int64_t deadline = mono_ns() + 10 * NS_PER_S;
    while (!krc_leader_is_leader(e1) && mono_ns() < deadline)
        pump(50);
    assert_true(krc_leader_is_leader(e1));
    assert_true(krc_leader_has_led(e1));
    assert_int_equal(krc_leader_start(e2, &err), 0);
    assert_int_equal(krc_leader_start(e2, &err), KRC_EINVAL);
    pump(LEASE_MS);
    assert_false(krc_leader_is_leader(e2));
    assert_false(krc_leader_has_led(e2));
    krc_leader_stop(e1);
    assert_false(krc_leader_is_leader(e1));
    assert_true(krc_leader_finished(e1));
    json_t *l = get_lease("itest-inproc");
    assert_string_equal(spec_str(l, "holderIdentity"), "one"); /* not released */
    json_decref(l);
    krc_leader_free(e1);
    krc_leader_free(e2);
}

/* Kills what a test left running (a failed test stops at its first failure). */
static int proc_teardown(void **state)
{
    (void)state;
    reset_procs();
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    srand((unsigned)mono_ns());
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    struct krc_client_options opts = {.qps = -1};
    char body[256];
    if (krc_kubeconfig_load(&cfg, NULL, &err) != 0) {
        fprintf(stderr, "kubeconfig: %s\n", err.msg);
        return -1;
    }
    int rc = krc_client_new(&cfg, &opts, &client, &err);
    krc_kubeconfig_free(&cfg);
    if (rc) {
        fprintf(stderr, "client: %s\n", err.msg);
        return -1;
    }
    snprintf(ns, sizeof(ns), "krc-itest-leader-%ld", (long)getpid());
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    if (krc_client_create(client, &namespaces, NULL, body, strlen(body), NULL, NULL, &err) != 0) {
        fprintf(stderr, "create namespace: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    struct krc_error err = {0, ""};
    struct krc_delete_opts del = {.propagation_policy = "Background"};
    reset_procs();
    if (krc_client_delete(client, &namespaces, NULL, ns, &del, NULL, &err) != 0)
        fprintf(stderr, "delete namespace %s: %s\n", ns, err.msg);
    krc_client_free(client);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], CONTENDER_S) == 0)
        return contender_main(argc, argv);
    if (!getenv("KUBECONFIG") || !*getenv("KUBECONFIG")) {
        fprintf(stderr, "KUBECONFIG is not set: skipping (start a cluster with hack/cluster.sh)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(
            test_one_of_two_processes_leads_and_the_other_takes_over_after_sigkill, proc_teardown),
        cmocka_unit_test_teardown(test_release_on_shutdown_hands_over_at_once, proc_teardown),
        cmocka_unit_test_teardown(test_leader_gives_up_when_renewals_fail_for_the_renew_deadline,
                                  proc_teardown),
        cmocka_unit_test(test_is_leader_and_stop_without_release),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
