/* Integration test of ray/dashboard against a real Ray head (the pinned Ray venv): submit a job
 * through POST /api/jobs/, poll it to SUCCEEDED, see an unknown ID come back as "not found", an
 * ID reused as "already used", and stop a long job (spec rayjob.md §10).
 *
 * Needs no Kubernetes: it skips (exit 77) only when the Ray venv is missing. The head runs as
 * `ray start --head --block` on loopback with every port chosen free, in its own session under
 * this process (a child subreaper), and is torn down by signalling exactly that session and the
 * orphans reparented to us - not by `ray stop`, which kills every Ray process of the machine,
 * including other test clusters' pods. */
#define _GNU_SOURCE /* prctl */
#include "ray/dashboard.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SKIP              77
#define HEAD_READY_MS     200000
#define JOB_DONE_MS       180000
#define POLL_MS           1000
#define STOP_GRACE_MS     15000
#define N_PORTS           10
#define CLIENT_TIMEOUT_MS 60000 /* the first submission waits for a job supervisor actor */
#define PATH_MAX_LEN      512
#define MAX_REAP_ROUNDS   20
#define START_ATTEMPTS    2

static pid_t head_pid = -1;
static char temp_dir[64];
static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* RAY_VERSION from hack/versions.env, to find the venv hack/venv.sh makes. */
static int ray_version(char *out, size_t cap)
{
    char path[PATH_MAX_LEN], line[256];
    snprintf(path, sizeof(path), "%s/hack/versions.env", KRC_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int rc = -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "RAY_VERSION=", 12) == 0) {
            int n = snprintf(out, cap, "%s", line + 12);
            if (n < 0 || (size_t)n >= cap)
                break; /* no version fits: rc stays -1 */
            out[strcspn(out, "\"\r\n")] = '\0';
            if (out[0] == '"')
                memmove(out, out + 1, strlen(out));
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

static int find_ray(char *ray, size_t cap)
{
    char version[64];
    const char *venv = getenv("KRC_RAY_VENV");
    if (venv && *venv) {
        snprintf(ray, cap, "%s/bin/ray", venv);
    } else {
        if (ray_version(version, sizeof(version)))
            return -1;
        const char *cache = getenv("KRC_CACHE");
        const char *home = getenv("HOME");
        if (cache && *cache)
            snprintf(ray, cap, "%s/venv-ray-%s/bin/ray", cache, version);
        else if (home)
            snprintf(ray, cap, "%s/.cache/kuberay-c/venv-ray-%s/bin/ray", home, version);
        else
            return -1;
    }
    return access(ray, X_OK);
}

/* Distinct free loopback ports: all sockets are held open until every port is chosen. */
static int free_ports(int *ports, size_t n)
{
    int fds[N_PORTS];
    size_t got = 0;
    int rc = 0;
    for (; got < n; got++) {
        fds[got] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof(a);
        if (fds[got] < 0 || bind(fds[got], (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fds[got], (struct sockaddr *)&a, &al) < 0) {
            rc = -1;
            if (fds[got] >= 0)
                close(fds[got]);
            break;
        }
        ports[got] = ntohs(a.sin_port);
    }
    for (size_t i = 0; i < got; i++)
        close(fds[i]);
    return rc;
}

static pid_t start_head(char *ray, const int *p, const char *log_path)
{
    char a[N_PORTS + 2][128];
    snprintf(a[0], sizeof(a[0]), "--port=%d", p[0]);
    snprintf(a[1], sizeof(a[1]), "--dashboard-port=%d", p[1]);
    snprintf(a[2], sizeof(a[2]), "--ray-client-server-port=%d", p[2]);
    snprintf(a[3], sizeof(a[3]), "--dashboard-agent-listen-port=%d", p[3]);
    snprintf(a[4], sizeof(a[4]), "--dashboard-agent-grpc-port=%d", p[4]);
    snprintf(a[5], sizeof(a[5]), "--metrics-export-port=%d", p[5]);
    snprintf(a[6], sizeof(a[6]), "--node-manager-port=%d", p[6]);
    snprintf(a[7], sizeof(a[7]), "--object-manager-port=%d", p[7]);
    snprintf(a[8], sizeof(a[8]), "--runtime-env-agent-port=%d", p[8]);
    snprintf(a[9], sizeof(a[9]), "--min-worker-port=0");
    snprintf(a[10], sizeof(a[10]), "--temp-dir=%s", temp_dir);

    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* Child: own session, so the whole head can be signalled as one group. */
    setsid();
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    setenv("RAY_USAGE_STATS_ENABLED", "0", 1);
    setenv("PYTHONUNBUFFERED", "1", 1);
    /* The dashboard's module processes get 30 s to start and the dashboard 60 s by default: too
     * short on a loaded 2-core machine. */
    setenv("RAY_DASHBOARD_SUBPROCESS_MODULE_WAIT_READY_TIMEOUT", "150", 1);
    setenv("RAY_DASHBOARD_STARTUP_TIMEOUT_S", "170", 1);
    char *const argv[] = {ray,
                          "start",
                          "--head",
                          "--block",
                          "--disable-usage-stats",
                          "--node-ip-address=127.0.0.1",
                          "--dashboard-host=127.0.0.1",
                          "--include-dashboard=true",
                          "--num-cpus=2",
                          "--object-store-memory=100000000",
                          a[0],
                          a[1],
                          a[2],
                          a[3],
                          a[4],
                          a[5],
                          a[6],
                          a[7],
                          a[8],
                          a[9],
                          a[10],
                          NULL};
    execv(ray, argv);
    _exit(127);
}

/* Our direct children (the head and, thanks to the subreaper flag, any Ray process whose parent
 * died) - read from /proc. */
static size_t list_children(pid_t *out, size_t cap)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    size_t n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) && n < cap) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        const char *rp = strrchr(buf, ')');
        int ppid = 0;
        char st;
        if (rp && sscanf(rp + 1, " %c %d", &st, &ppid) == 2 && ppid == getpid())
            out[n++] = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    return n;
}

static void reap(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/* Stops the head: SIGTERM to its session, a grace period, then SIGKILL to the session and to every
 * remaining child (orphans reparented to us), repeated until none is left. */
static void stop_head(void)
{
    if (head_pid <= 0)
        return;
    kill(-head_pid, SIGTERM);
    long deadline = now_ms() + STOP_GRACE_MS;
    while (now_ms() < deadline) {
        reap();
        pid_t kids[256];
        if (kill(-head_pid, 0) < 0 && list_children(kids, 256) == 0)
            break;
        sleep_ms(200);
    }
    for (int round = 0; round < MAX_REAP_ROUNDS; round++) {
        kill(-head_pid, SIGKILL);
        pid_t kids[256];
        size_t n = list_children(kids, 256);
        for (size_t i = 0; i < n; i++)
            kill(kids[i], SIGKILL);
        sleep_ms(100);
        reap();
        if (n == 0 && kill(-head_pid, 0) < 0)
            break;
    }
    head_pid = -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    stop_head();
    if (temp_dir[0] && getenv("KRC_KEEP_RAY_TMP") == NULL)
        nftw(temp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_signal(int sig)
{
    (void)sig;
    exit(1); /* runs cleanup() through atexit */
}

static void dump_log(const char *log_path)
{
    char cmd[PATH_MAX_LEN + 32];
    snprintf(cmd, sizeof(cmd), "tail -n 40 '%s' >&2", log_path);
    if (system(cmd) != 0)
        fprintf(stderr, "(no head log)\n");
}

/* Polls until the job's status is one of want (comma list) or the deadline; returns the status
 * seen last (static buffer). */
static const char *wait_status(struct ray_dashboard_client *c, const char *id, const char *want,
                               long timeout_ms)
{
    static char last[64];
    long deadline = now_ms() + timeout_ms;
    snprintf(last, sizeof(last), "(none)");
    while (now_ms() < deadline) {
        struct ray_job_info info;
        struct krc_error err = {0};
        int rc = ray_dashboard_get_job(c, id, &info, &err);
        if (rc == 0) {
            snprintf(last, sizeof(last), "%s", info.status);
            bool done = strstr(want, info.status) && info.status[0];
            if (!done && ray_job_status_is_terminal(info.status))
                fprintf(stderr, "job %s ended %s: %s\n", id, info.status, info.message);
            bool terminal = ray_job_status_is_terminal(info.status);
            ray_job_info_release(&info);
            if (done || terminal)
                return last;
        } else {
            snprintf(last, sizeof(last), "error %d", rc);
        }
        sleep_ms(POLL_MS);
    }
    return last;
}

/* Submits, retrying while the dashboard answers 500 "No available agent to submit job": GCS is
 * healthy before the node's dashboard agent has registered, and on a loaded machine that gap is
 * long. */
static int submit_when_agent_ready(struct ray_dashboard_client *c,
                                   const struct ray_job_submit_request *req, char **job_id,
                                   struct krc_error *err)
{
    long deadline = now_ms() + JOB_DONE_MS;
    int rc;
    for (;;) {
        rc = ray_dashboard_submit_job(c, req, job_id, err);
        if (rc != KRC_ESERVER || !strstr(err->msg, "No available agent") || now_ms() > deadline)
            return rc;
        sleep_ms(POLL_MS);
    }
}

/* Starts the head and waits for GCS health through the dashboard; a head that dies while
 * starting (Ray's dashboard modules can time out on a loaded machine) is retried once. */
static int start_until_healthy(char *ray, const int *ports, const char *log_path,
                               struct ray_dashboard_client *c)
{
    struct krc_error err = {0};
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        head_pid = start_head(ray, ports, log_path);
        if (head_pid < 0) {
            perror("fork");
            return -1;
        }
        long deadline = now_ms() + HEAD_READY_MS;
        while (now_ms() < deadline) {
            if (ray_dashboard_gcs_healthz(c, &err) == 0)
                return 0;
            if (waitpid(head_pid, NULL, WNOHANG) == head_pid)
                break;
            sleep_ms(POLL_MS);
        }
        fprintf(stderr, "attempt %d: head not healthy (%s); its log:\n", attempt, err.msg);
        dump_log(log_path);
        stop_head();
    }
    return -1;
}

int main(void)
{
    char ray[PATH_MAX_LEN], log_path[PATH_MAX_LEN], base[64];
    int ports[N_PORTS];
    int rc;

    if (find_ray(ray, sizeof(ray)) != 0) {
        printf("SKIP: no Ray venv (run make venv)\n");
        return SKIP;
    }
    snprintf(temp_dir, sizeof(temp_dir), "/tmp/krc-dc-XXXXXX");
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(log_path, sizeof(log_path), "%s/head.log", temp_dir);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        perror("prctl(PR_SET_CHILD_SUBREAPER)");
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (free_ports(ports, N_PORTS) != 0) {
        perror("free ports");
        return 1;
    }
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", ports[1]);
    struct ray_dashboard_opts o = {.base_url = base, .timeout_ms = CLIENT_TIMEOUT_MS};
    struct ray_dashboard_client *c = NULL;
    struct krc_error err = {0};
    if (ray_dashboard_client_new(&o, &c, &err)) {
        fprintf(stderr, "client: %s\n", err.msg);
        return 1;
    }
    if (start_until_healthy(ray, ports, log_path, c) != 0) {
        ray_dashboard_client_free(c);
        return 1;
    }
    printf("head ready: %s\n", base);

    /* Submit and poll to SUCCEEDED. */
    char id[64], long_id[64];
    snprintf(id, sizeof(id), "krc-itest-%d", (int)getpid());
    snprintf(long_id, sizeof(long_id), "krc-itest-long-%d", (int)getpid());
    json_t *meta = json_pack("{s:s}", "owner", "kuberay-c");
    struct ray_job_submit_request req = {.entrypoint = "echo hello-from-kuberay-c",
                                         .submission_id = id,
                                         .metadata = meta,
                                         .runtime_env_yaml = "env_vars: {KRC_TEST: \"1\"}",
                                         .entrypoint_num_cpus = 0.5f};
    char *job_id = NULL;
    rc = submit_when_agent_ready(c, &req, &job_id, &err);
    CHECK(rc == 0, "submit: %d %s", rc, err.msg);
    CHECK(job_id && strcmp(job_id, id) == 0, "submit answered job_id %s, want %s",
          job_id ? job_id : "(null)", id);
    free(job_id);
    const char *st = wait_status(c, id, RAY_JOB_STATUS_SUCCEEDED, JOB_DONE_MS);
    CHECK(strcmp(st, RAY_JOB_STATUS_SUCCEEDED) == 0, "job %s ended as %s", id, st);

    struct ray_job_info info;
    rc = ray_dashboard_get_job(c, id, &info, &err);
    CHECK(rc == 0, "get_job: %s", err.msg);
    if (rc == 0) {
        CHECK(strcmp(info.submission_id, id) == 0, "submission_id %s", info.submission_id);
        CHECK(strcmp(info.entrypoint, req.entrypoint) == 0, "entrypoint %s", info.entrypoint);
        CHECK(info.start_time > 0 && info.end_time >= info.start_time, "times %llu..%llu",
              (unsigned long long)info.start_time, (unsigned long long)info.end_time);
        const char *owner = json_string_value(json_object_get(info.metadata, "owner"));
        CHECK(owner && strcmp(owner, "kuberay-c") == 0, "metadata owner %s",
              owner ? owner : "(null)");
        ray_job_info_release(&info);
    }

    /* The same submission ID again: "already used". */
    rc = ray_dashboard_submit_job(c, &req, NULL, &err);
    CHECK(rc == KRC_EEXIST, "resubmit: %d %s", rc, err.msg);

    /* An unknown ID: not found. */
    rc = ray_dashboard_get_job(c, "krc-no-such-job", &info, &err);
    CHECK(rc == KRC_ENOTFOUND, "unknown job: %d %s", rc, err.msg);
    CHECK(strcmp(err.msg, "Job krc-no-such-job does not exist on the cluster") == 0, "msg %s",
          err.msg);

    /* A long job: running, then stopped. */
    struct ray_job_submit_request lreq = {.entrypoint = "sleep 600", .submission_id = long_id};
    rc = submit_when_agent_ready(c, &lreq, NULL, &err);
    CHECK(rc == 0, "submit long: %d %s", rc, err.msg);
    st = wait_status(c, long_id, RAY_JOB_STATUS_RUNNING, JOB_DONE_MS);
    CHECK(strcmp(st, RAY_JOB_STATUS_RUNNING) == 0, "long job is %s, want RUNNING", st);
    bool stopped = false;
    rc = ray_dashboard_stop_job(c, long_id, &stopped, &err);
    CHECK(rc == 0 && stopped, "stop: %d stopped=%d %s", rc, stopped, err.msg);
    st = wait_status(c, long_id, RAY_JOB_STATUS_STOPPED, JOB_DONE_MS);
    CHECK(strcmp(st, RAY_JOB_STATUS_STOPPED) == 0, "long job is %s, want STOPPED", st);
    /* Stopping a stopped job: "stopped": false, but terminal, so success. */
    rc = ray_dashboard_stop_job(c, long_id, &stopped, &err);
    CHECK(rc == 0 && !stopped, "second stop: %d stopped=%d %s", rc, stopped, err.msg);

    rc = ray_dashboard_delete_job(c, id, &err);
    CHECK(rc == 0, "delete: %d %s", rc, err.msg);
    rc = ray_dashboard_get_job(c, id, &info, &err);
    CHECK(rc == KRC_ENOTFOUND, "deleted job: %d %s", rc, err.msg);

    json_decref(meta);
    ray_dashboard_client_free(c);

    /* After the head is gone: connection refused. */
    stop_head();
    o.timeout_ms = 2000;
    if (ray_dashboard_client_new(&o, &c, &err) == 0) {
        rc = ray_dashboard_get_job(c, id, &info, &err);
        CHECK(rc == KRC_EIO && strncmp(err.msg, "connection refused", 18) == 0, "after stop: %d %s",
              rc, err.msg);
        ray_dashboard_client_free(c);
    }
    if (failures)
        dump_log(log_path);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
