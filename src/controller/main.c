/* main.c - kuberay-operator: flags, API client, health/metrics HTTP servers, leader election,
 * the RayCluster, RayJob and RayService controllers, graceful shutdown (operator-runtime.md §1, §2,
 * §7, §10, §11). The RayJob and RayService controllers are skipped, with a warning, when their CRD
 * is not installed; so is the RayCronJob controller, which runs only with the RayCronJob feature
 * gate.
 *
 * Threads: the HTTP servers (libmicrohttpd's own), the leader elector, the informers and the
 * controller's workers. main() blocks SIGTERM/SIGINT before any of them exists and waits for them
 * with sigtimedwait(), so no signal handler runs concurrently with anything: a signal is just an
 * event of the main loop, which also watches for leadership being won (start the controller) or
 * lost (exit 1, as KubeRay does).
 *
 * Not here yet: the log file (§5.3), webhooks, batch schedulers. */
#include "controller/operator_config.h"
#include "controller/raycluster_controller.h"
#include "controller/raycronjob_controller.h"
#include "controller/rayjob_controller.h"
#include "controller/rayservice_controller.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/events.h"
#include "kube/leader.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LEASE_NAME      "ray-operator-leader"
#define VERSION         "kuberay-c-0.1.0"
#define METRICS_MAX     (8u * 1024 * 1024)
#define CONFIG_FILE_MAX (1u * 1024 * 1024)
#define LOOP_TICK_NS    200000000L

struct flags {
    const char *metrics_addr, *probe_addr, *leader_ns, *watch_ns, *stdout_encoder, *kubeconfig;
    const char *feature_gates, *zap_level, *config;
    bool leader_election, enable_metrics;
    long concurrency, burst;
    double qps;
};

struct operator
{
    struct flags f;
    struct krc_client *client;
    /* The recorders' own client: same configuration, its own --qps/--burst token bucket, so Events
     * never take the controllers' write budget (client-go's recorder has its own clientset). */
    struct krc_client *events_client;
    struct krc_events *events;
    struct krc_leader *leader;
    struct raycluster_controller *_Atomic ctrl;     /* set once started; read by /metrics */
    struct rayjob_controller *_Atomic job_ctrl;     /* likewise */
    struct rayservice_controller *_Atomic svc_ctrl; /* likewise */
    struct krc_events *job_events;                  /* reporting controller rayjob-controller */
    struct krc_events *cron_events; /* raycronjob-controller; NULL unless gate RayCronJob */
    struct krc_events *svc_events;  /* rayservice-controller */
    atomic_int leading, lost;
    struct MHD_Daemon *metrics, *probes;
};

/* ---- flags (Go flag syntax: -name / --name, =value or a separate value) -------------------- */

static int parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, t[i]) == 0)
            return *out = true, 0;
        if (strcmp(s, f[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (errno || !*s || *end)
        return -1;
    *out = v;
    return 0;
}

static void usage(FILE *to)
{
    fprintf(to, "Usage of kuberay-operator:\n"
                "  --metrics-addr string               (default \":8080\"; \"0\" disables)\n"
                "  --health-probe-bind-address string  (default \":8082\"; \"0\" disables)\n"
                "  --enable-leader-election bool       (default true; lease " LEASE_NAME ")\n"
                "  --leader-election-namespace string\n"
                "  --watch-namespace string            comma-separated; empty = all\n"
                "  --reconcile-concurrency int         (default 1)\n"
                "  --log-stdout-encoder json|console   (default json)\n"
                "  --zap-log-level debug|info|error    (default info)\n"
                "  --qps float (default 100)  --burst int (default 200)\n"
                "  --feature-gates Name=bool,...       --enable-metrics bool\n"
                "  --kubeconfig path\n");
}

/* Returns 0, or 2 (the exit status of a flag error, as Go's flag package). */
static int parse_flags(int argc, char **argv, struct flags *f)
{
    *f = (struct flags){.metrics_addr = ":8080",
                        .probe_addr = ":8082",
                        .leader_ns = "",
                        .watch_ns = "",
                        .stdout_encoder = "", /* = json; "" also tells "not given" (§3.3) */
                        .kubeconfig = "",
                        .feature_gates = "",
                        .zap_level = "info",
                        .config = "",
                        .leader_election = true,
                        .concurrency = 1,
                        .qps = 100,
                        .burst = 200};
    struct {
        const char *name;
        const char **s;
        bool *b;
        long *l;
        double *d;
    } tab[] = {
        {"metrics-addr", &f->metrics_addr, NULL, NULL, NULL},
        {"health-probe-bind-address", &f->probe_addr, NULL, NULL, NULL},
        {"enable-leader-election", NULL, &f->leader_election, NULL, NULL},
        {"leader-election-namespace", &f->leader_ns, NULL, NULL, NULL},
        {"watch-namespace", &f->watch_ns, NULL, NULL, NULL},
        {"reconcile-concurrency", NULL, NULL, &f->concurrency, NULL},
        {"log-stdout-encoder", &f->stdout_encoder, NULL, NULL, NULL},
        {"kubeconfig", &f->kubeconfig, NULL, NULL, NULL},
        {"feature-gates", &f->feature_gates, NULL, NULL, NULL},
        {"zap-log-level", &f->zap_level, NULL, NULL, NULL},
        {"config", &f->config, NULL, NULL, NULL},
        {"enable-metrics", NULL, &f->enable_metrics, NULL, NULL},
        {"burst", NULL, NULL, &f->burst, NULL},
        {"qps", NULL, NULL, NULL, &f->qps},
        /* accepted, no effect here (§2.1, §2.2) */
        {"forced-cluster-upgrade", NULL, &(bool){false}, NULL, NULL},
        {"use-kubernetes-proxy", NULL, &(bool){false}, NULL, NULL},
        {"zap-devel", NULL, &(bool){false}, NULL, NULL},
        {"zap-encoder", &(const char *){NULL}, NULL, NULL, NULL},
        {"zap-time-encoding", &(const char *){NULL}, NULL, NULL, NULL},
        {"zap-stacktrace-level", &(const char *){NULL}, NULL, NULL, NULL},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0 || a[0] != '-' || strcmp(a, "-") == 0)
            break; /* positional arguments end parsing and are ignored (§2) */
        a += a[1] == '-' ? 2 : 1;
        if (strcmp(a, "h") == 0 || strcmp(a, "help") == 0) {
            usage(stdout);
            exit(0);
        }
        char name[64];
        const char *eq = strchr(a, '='), *val = eq ? eq + 1 : NULL;
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof(name))
            nl = sizeof(name) - 1;
        memcpy(name, a, nl);
        name[nl] = '\0';
        size_t k;
        for (k = 0; k < sizeof(tab) / sizeof(tab[0]); k++) {
            if (strcmp(tab[k].name, name) == 0)
                break;
        }
        if (k == sizeof(tab) / sizeof(tab[0])) {
            fprintf(stderr, "flag provided but not defined: -%s\n", name);
            usage(stderr);
            return 2;
        }
        if (tab[k].b) {
            if (val && parse_bool(val, tab[k].b)) {
                fprintf(stderr, "invalid boolean value \"%s\" for -%s\n", val, name);
                return 2;
            }
            if (!val)
                *tab[k].b = true;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "flag needs an argument: -%s\n", name);
                return 2;
            }
            val = argv[++i];
        }
        if (tab[k].s) {
            *tab[k].s = val;
        } else if (tab[k].l) {
            if (parse_long(val, tab[k].l)) {
                fprintf(stderr, "invalid value \"%s\" for flag -%s: parse error\n", val, name);
                return 2;
            }
        } else {
            char *end;
            *tab[k].d = strtod(val, &end);
            if (!*val || *end) {
                fprintf(stderr, "invalid value \"%s\" for flag -%s: parse error\n", val, name);
                return 2;
            }
        }
    }
    return 0;
}

/* §9: Name=bool,... ; unknown names and bad values are fatal. */
static int parse_gates(const char *spec, struct raycluster_gates *g, struct krc_error *err)
{
    static const char *const other[] = {"RayServiceIncrementalUpgrade", "SidecarSubmitterRestart",
                                        "KubernetesWAS", "AllAlpha", "AllBeta"};
    char *copy = strdup(spec), *save = NULL;
    int r = 0;
    if (!copy)
        return krc_error_set(err, KRC_ENOMEM, "out of memory");
    for (char *it = strtok_r(copy, ",", &save); it && !r; it = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*it))
            it++;
        if (!*it)
            continue;
        char *eq = strchr(it, '=');
        if (!eq) {
            r = krc_error_set(err, KRC_EINVAL, "missing bool value for %s", it);
            break;
        }
        *eq = '\0';
        char *name = it, *val = eq + 1;
        for (char *e = name + strlen(name); e > name && isspace((unsigned char)e[-1]);)
            *--e = '\0';
        while (isspace((unsigned char)*val))
            val++;
        for (char *e = val + strlen(val); e > val && isspace((unsigned char)e[-1]);)
            *--e = '\0';
        bool v;
        if (parse_bool(val, &v)) {
            r = krc_error_set(err, KRC_EINVAL, "invalid value of %s=%s, err: invalid syntax", name,
                              val);
            break;
        }
        struct {
            const char *n;
            bool *p;
        } known[] = {{"RayClusterStatusConditions", &g->status_conditions},
                     {"RayMultiHostIndexing", &g->multi_host_indexing},
                     {"RayJobDeletionPolicy", &g->job_deletion_policy},
                     {"GCSFaultToleranceEmbeddedStorage", &g->gcs_ft_embedded},
                     {"RayClusterMTLS", &g->mtls},
                     {"RayClusterNetworkPolicy", &g->network_policy},
                     {"RayClusterHistoryServer", &g->history_server},
                     {"RayCronJob", &g->cron_job}};
        bool found = false;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
            if (strcmp(known[k].n, name) == 0) {
                *known[k].p = v;
                found = true;
            }
        }
        for (size_t k = 0; k < sizeof(other) / sizeof(other[0]) && !found; k++)
            found = strcmp(other[k], name) == 0;
        if (!found)
            r = krc_error_set(err, KRC_EINVAL, "unrecognized feature gate: %s", name);
    }
    free(copy);
    return r;
}

static bool env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v && strcasecmp(v, value) == 0;
}

static int64_t requeue_from_env(void)
{
    const char *v = getenv("RAYCLUSTER_DEFAULT_REQUEUE_SECONDS_ENV");
    long s;
    if (!v || parse_long(v, &s))
        s = RAYCLUSTER_DEFAULT_REQUEUE_S;
    return s > 0 ? (int64_t)s * 1000000000 : 0;
}

/* KRC_TEST_POD_EVENT_DELAY_MS: fault injection for the stale-cache test only. */
static int64_t test_pod_delay_ns(void)
{
    const char *v = getenv("KRC_TEST_POD_EVENT_DELAY_MS");
    long ms;
    if (!v || parse_long(v, &ms) || ms <= 0)
        return 0;
    KRC_LOG_WARN("test fault injection: pod events delayed", "ms", v);
    return (int64_t)ms * 1000000;
}

/* --config (§3): the file replaces every flag that has a field there; --feature-gates,
 * --kubeconfig and the --zap-* flags still count, and the stdout encoder comes from the file
 * unless the flag was given (§3.3 item 3). Errors are printed: logging is not configured yet. */
static int load_config(struct flags *f, struct operator_config *c)
{
    struct krc_strbuf text = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    int r = krc_file_read(f->config, CONFIG_FILE_MAX, &text, &err);
    if (!r)
        r = operator_config_parse(text.buf, text.len, c, &err);
    krc_strbuf_release(&text);
    if (r) {
        fprintf(stderr, "unable to load the config file %s: %s\n", f->config, err.msg);
        return r;
    }
    f->metrics_addr = c->metrics_addr;
    f->probe_addr = c->probe_addr;
    f->leader_election = c->enable_leader_election;
    f->leader_ns = c->leader_election_namespace;
    f->watch_ns = c->watch_namespace;
    f->concurrency = c->reconcile_concurrency;
    f->qps = c->qps;
    f->burst = c->burst;
    f->enable_metrics = c->enable_metrics;
    if (!*f->stdout_encoder)
        f->stdout_encoder = c->log_stdout_encoder;
    return 0;
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned code, const char *type,
                               char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    enum MHD_Result r = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result serve_probes(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **req_cls)
{
    (void)cls, (void)version, (void)upload_data, (void)upload_size, (void)req_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(conn, 405, "text/plain", "method not allowed\n", 19, MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
        strcmp(url, "/healthz/healthz") == 0 || strcmp(url, "/readyz/readyz") == 0)
        return respond(conn, 200, "text/plain; charset=utf-8", "ok", 2, MHD_RESPMEM_PERSISTENT);
    return respond(conn, 404, "text/plain", "404 page not found\n", 19, MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result serve_metrics(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_size, void **req_cls)
{
    struct operator* op = cls;
    (void)version, (void)upload_data, (void)upload_size, (void)req_cls;
    if (strcmp(url, "/metrics") != 0)
        return respond(conn, 404, "text/plain", "404 page not found\n", 19, MHD_RESPMEM_PERSISTENT);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(conn, 405, "text/plain", "method not allowed\n", 19, MHD_RESPMEM_PERSISTENT);
    struct krc_strbuf sb;
    krc_strbuf_init(&sb, METRICS_MAX);
    int r = 0;
    if (op->f.leader_election)
        r = krc_strbuf_addf(&sb,
                            "# HELP leader_election_master_status Gauge of if the reporting "
                            "system is master of the relevant lease, 0 indicates backup, 1 "
                            "indicates master. 'name' is the string used to identify the lease. "
                            "Please make sure to group by name.\n"
                            "# TYPE leader_election_master_status gauge\n"
                            "leader_election_master_status{name=\"" LEASE_NAME "\"} %d\n",
                            op->leader && krc_leader_is_leader(op->leader) ? 1 : 0);
    struct raycluster_controller *ctrl = atomic_load(&op->ctrl);
    if (!r && ctrl)
        r = raycluster_controller_metrics(ctrl, &sb);
    struct rayjob_controller *job_ctrl = atomic_load(&op->job_ctrl);
    if (!r && job_ctrl)
        r = rayjob_controller_metrics(job_ctrl, &sb);
    struct rayservice_controller *svc_ctrl = atomic_load(&op->svc_ctrl);
    if (!r && svc_ctrl)
        r = rayservice_controller_metrics(svc_ctrl, &sb);
    if (r) {
        krc_strbuf_release(&sb);
        return respond(conn, 500, "text/plain", "metrics unavailable\n", 20,
                       MHD_RESPMEM_PERSISTENT);
    }
    size_t len = sb.len;
    char *body = krc_strbuf_detach(&sb);
    if (!body)
        return MHD_NO;
    return respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", body, len,
                   MHD_RESPMEM_MUST_FREE);
}

/* addr is "[host]:port" (":8080" = every address), or "0" to disable. */
static int start_http(const char *addr, MHD_AccessHandlerCallback fn, void *cls,
                      struct MHD_Daemon **out, struct krc_error *err)
{
    *out = NULL;
    if (strcmp(addr, "0") == 0 || !*addr)
        return 0;
    const char *colon = strrchr(addr, ':');
    long port;
    if (!colon || parse_long(colon + 1, &port) || port < 0 || port > 65535)
        return krc_error_set(err, KRC_EINVAL, "bad bind address %s: want [host]:port", addr);
    char host[64];
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof(host))
        return krc_error_set(err, KRC_EINVAL, "bad bind address %s: host too long", addr);
    memcpy(host, addr, hl);
    host[hl] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (!hl || strcmp(host, "0.0.0.0") == 0)
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(host, "localhost") == 0)
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return krc_error_set(err, KRC_EINVAL, "bad bind address %s: not an IPv4 address", addr);
    *out = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port,
                            NULL, NULL, fn, cls, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
    if (!*out)
        return krc_error_set(err, KRC_EIO, "listen on %s failed", addr);
    return 0;
}

/* ---- leader election --------------------------------------------------------------------------
 */

static void on_started(void *ctx)
{
    struct operator* op = ctx;
    atomic_store(&op->leading, 1);
}

static void on_stopped(void *ctx)
{
    struct operator* op = ctx;
    atomic_store(&op->lost, 1);
}

static const char *lease_namespace(const struct operator* op, char *buf, size_t size)
{
    if (*op->f.leader_ns)
        return op->f.leader_ns;
    FILE *fp = fopen(KRC_SERVICEACCOUNT_DIR "/namespace", "r");
    if (fp) {
        if (fgets(buf, (int)size, fp) && *buf) {
            buf[strcspn(buf, "\r\n")] = '\0';
            fclose(fp);
            return buf;
        }
        fclose(fp);
    }
    return krc_client_namespace(op->client);
}

/* ---- main -------------------------------------------------------------------------------------
 */

static int run(struct operator* op, struct krc_kubeconfig *cfg, const struct raycluster_opts *bo)
{
    struct krc_error err = {0};
    int status = 1, r;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);

    struct krc_client_options co = {.qps = op->f.qps == 0 ? 5 : op->f.qps,
                                    .burst = op->f.burst == 0 ? 10 : (int)op->f.burst,
                                    .user_agent = "kuberay-operator/" VERSION};
    if ((r = krc_client_new(cfg, &co, &op->client, &err)) ||
        (r = krc_client_new(cfg, &co, &op->events_client, &err)))
        goto fail;
    struct krc_events_opts eo = {.reporting_controller = RAYCLUSTER_CONTROLLER_NAME};
    if ((r = krc_events_new(op->events_client, &eo, &op->events, &err)))
        goto fail;
    struct krc_events_opts jeo = {.reporting_controller = RAYJOB_CONTROLLER_NAME};
    if ((r = krc_events_new(op->events_client, &jeo, &op->job_events, &err)))
        goto fail;
    struct krc_events_opts seo = {.reporting_controller = RAYSERVICE_CONTROLLER_NAME};
    if ((r = krc_events_new(op->events_client, &seo, &op->svc_events, &err)))
        goto fail;
    struct krc_events_opts ceo = {.reporting_controller = RAYCRONJOB_CONTROLLER_NAME};
    if (bo->gates.cron_job && (r = krc_events_new(op->events_client, &ceo, &op->cron_events, &err)))
        goto fail;
    if ((r = start_http(op->f.metrics_addr, serve_metrics, op, &op->metrics, &err)) ||
        (r = start_http(op->f.probe_addr, serve_probes, op, &op->probes, &err)))
        goto fail;
    KRC_LOG_INFO("starting manager", "metricsAddr", op->f.metrics_addr, "probeAddr",
                 op->f.probe_addr, "watchNamespace", op->f.watch_ns);

    struct raycluster_controller_opts ro = {
        .client = op->client,
        .events = op->events,
        .watch_namespaces = op->f.watch_ns,
        .workers = (int)op->f.concurrency,
        .requeue_ns = requeue_from_env(),
        .build = *bo,
        .enable_metrics = op->f.enable_metrics,
        .test_pod_event_delay_ns = test_pod_delay_ns(),
        .redis_cleanup = !env_is("ENABLE_GCS_FT_REDIS_CLEANUP", "false"),
    };
    struct raycluster_controller *ctrl = NULL;
    struct rayjob_controller *job_ctrl = NULL;
    struct raycronjob_controller *cron_ctrl = NULL; /* only with the RayCronJob gate */
    struct rayservice_controller *svc_ctrl = NULL;
    if ((r = raycluster_controller_new(&ro, &ctrl, &err)))
        goto fail;
    struct rayjob_controller_opts jo = {
        .client = op->client,
        .events = op->job_events,
        .watch_namespaces = op->f.watch_ns,
        .workers = (int)op->f.concurrency,
        .build = *bo,
        .enable_metrics = op->f.enable_metrics,
        .clusters = ctrl, /* one RayCluster cache for both controllers */
    };
    if ((r = rayjob_controller_new(&jo, &job_ctrl, &err)))
        goto fail_ctrl;
    struct rayservice_controller_opts so = {
        .client = op->client,
        .events = op->svc_events,
        .watch_namespaces = op->f.watch_ns,
        .workers = (int)op->f.concurrency,
        .build = *bo,
        .enable_metrics = op->f.enable_metrics,
        .clusters = ctrl,
    };
    if ((r = rayservice_controller_new(&so, &svc_ctrl, &err)))
        goto fail_ctrl;
    struct raycronjob_controller_opts cjo = {
        .client = op->client,
        .events = op->cron_events,
        .watch_namespaces = op->f.watch_ns,
        .workers = (int)op->f.concurrency,
        .gates = bo->gates,
    };
    if (bo->gates.cron_job && (r = raycronjob_controller_new(&cjo, &cron_ctrl, &err)))
        goto fail_ctrl;

    if (op->f.leader_election) {
        char nsbuf[256];
        struct krc_leader_opts lo = {
            .lease_name = LEASE_NAME,
            .lease_namespace = lease_namespace(op, nsbuf, sizeof(nsbuf)),
            .user_agent = "kuberay-operator/" VERSION,
            .callbacks = {on_started, on_stopped, NULL, op},
        };
        if ((r = krc_leader_new(cfg, &lo, &op->leader, &err)) ||
            (r = krc_leader_start(op->leader, &err)))
            goto fail_ctrl;
        KRC_LOG_INFO("attempting to acquire leader lease", "lease", LEASE_NAME, "namespace",
                     lo.lease_namespace);
    } else {
        atomic_store(&op->leading, 1);
    }

    bool started = false;
    for (;;) {
        struct timespec tick = {0, LOOP_TICK_NS};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            KRC_LOG_INFO("shutdown signal received; stopping", "signal",
                         sig == SIGTERM ? "SIGTERM" : "SIGINT");
            status = 0;
            break;
        }
        if (atomic_load(&op->lost)) {
            KRC_LOG_ERROR("leader election lost");
            status = 1;
            break;
        }
        if (!started && atomic_load(&op->leading)) {
            if ((r = raycluster_controller_start(ctrl, &err)))
                goto fail_ctrl;
            atomic_store(&op->ctrl, ctrl);
            if ((r = rayjob_controller_start(job_ctrl, &err)) == KRC_ENOTFOUND) {
                KRC_LOG_WARN("RayJob controller not started", "error", err.msg);
            } else if (r) {
                goto fail_ctrl;
            } else {
                atomic_store(&op->job_ctrl, job_ctrl);
                KRC_LOG_INFO("controller started", "controller", "rayjob");
            }
            if ((r = rayservice_controller_start(svc_ctrl, &err)) == KRC_ENOTFOUND) {
                KRC_LOG_WARN("RayService controller not started", "error", err.msg);
            } else if (r) {
                goto fail_ctrl;
            } else {
                atomic_store(&op->svc_ctrl, svc_ctrl);
                KRC_LOG_INFO("controller started", "controller", "rayservice");
            }
            if (cron_ctrl && (r = raycronjob_controller_start(cron_ctrl, &err)) == KRC_ENOTFOUND) {
                KRC_LOG_WARN("RayCronJob controller not started", "error", err.msg);
            } else if (cron_ctrl && r) {
                goto fail_ctrl;
            } else if (cron_ctrl) {
                KRC_LOG_INFO("controller started", "controller", "raycronjob");
            }
            started = true;
            KRC_LOG_INFO("controller started", "controller", "raycluster");
        }
    }
    atomic_store(&op->ctrl, NULL);
    atomic_store(&op->job_ctrl, NULL);
    atomic_store(&op->svc_ctrl, NULL);
    if (cron_ctrl)
        raycronjob_controller_stop(cron_ctrl);
    rayservice_controller_stop(svc_ctrl);
    rayjob_controller_stop(job_ctrl);
    raycluster_controller_stop(ctrl);
    if (op->leader)
        krc_leader_stop(op->leader);
    (void)krc_events_flush(op->events, 2000); /* best effort: events are not worth a hung exit */
    (void)krc_events_flush(op->job_events, 2000);
    (void)krc_events_flush(op->svc_events, 2000);
    if (op->cron_events)
        (void)krc_events_flush(op->cron_events, 2000);
    raycronjob_controller_free(cron_ctrl);
    rayservice_controller_free(svc_ctrl);
    rayjob_controller_free(job_ctrl);
    raycluster_controller_free(ctrl);
    return status;
fail_ctrl:
    atomic_store(&op->ctrl, NULL);
    atomic_store(&op->job_ctrl, NULL);
    atomic_store(&op->svc_ctrl, NULL);
    raycluster_controller_stop(ctrl); /* its RayCluster informers call the RayJob controller */
    raycronjob_controller_free(cron_ctrl);
    rayservice_controller_free(svc_ctrl);
    rayjob_controller_free(job_ctrl);
    raycluster_controller_free(ctrl);
fail:
    KRC_LOG_ERROR("operator failed", "error", err.msg);
    return 1;
}

/* glibc's malloc for a process that caches thousands of objects for as long as it runs (issue 5,
 * measured with the RayCluster bench): MALLOC_ARENAS arenas rather than one per thread (up to 8 per
 * core), since each of the dozen informer, worker and HTTP threads kept free memory of its own;
 * and a fixed mmap threshold, since glibc otherwise raises it to the largest block freed (an
 * informer's list page is megabytes), after which such blocks come from the heap, whose trim
 * threshold (twice the mmap threshold) then keeps their pages. Malloc tuned through the
 * environment is left alone. */
#define MALLOC_ARENAS         2
#define MALLOC_MMAP_THRESHOLD (128 * 1024)

static void tune_malloc(void)
{
    if (getenv("MALLOC_ARENA_MAX") || getenv("MALLOC_MMAP_THRESHOLD_") || getenv("GLIBC_TUNABLES"))
        return;
    if (!mallopt(M_ARENA_MAX, MALLOC_ARENAS) || !mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD))
        KRC_LOG_WARN("mallopt failed; malloc keeps its defaults");
}

int main(int argc, char **argv)
{
    struct operator op = {0};
    struct krc_kubeconfig cfg = {0};
    struct krc_error err = {0};
    struct raycluster_opts bo;
    struct operator_config file_cfg = {0};
    enum krc_log_format fmt;
    enum krc_log_level lvl;
    int status;

    if ((status = parse_flags(argc, argv, &op.f)))
        return status;
    if (*op.f.config && load_config(&op.f, &file_cfg))
        return 1;
    if (strcmp(op.f.stdout_encoder, "json") != 0 && strcmp(op.f.stdout_encoder, "console") != 0 &&
        *op.f.stdout_encoder) {
        fprintf(stderr, "invalid log-stdout-encoder %s: want json or console\n",
                op.f.stdout_encoder);
        return 1;
    }
    if (krc_log_parse_level(op.f.zap_level, &lvl) || strcasecmp(op.f.zap_level, "warn") == 0) {
        fprintf(stderr, "invalid argument \"%s\" for \"--zap-log-level\" flag\n", op.f.zap_level);
        return 2;
    }
    fmt = strcmp(op.f.stdout_encoder, "console") == 0 ? KRC_LOG_FORMAT_TEXT : KRC_LOG_FORMAT_JSON;
    krc_log_configure(lvl, fmt, 1);
    tune_malloc();
    raycluster_opts_default(&bo);
    bo.head_sidecar_containers = file_cfg.head_sidecar_containers;
    bo.worker_sidecar_containers = file_cfg.worker_sidecar_containers;
    bo.default_container_envs = file_cfg.default_container_envs;
    bo.default_pod_annotations = file_cfg.default_pod_annotations;
    bo.default_pod_labels = file_cfg.default_pod_labels;
    bo.kuberay_version = VERSION;
    bo.cluster_domain = getenv("CLUSTER_DOMAIN");
    bo.init_container_injection = !env_is("ENABLE_INIT_CONTAINER_INJECTION", "false");
    bo.probes_injection = !env_is("ENABLE_PROBES_INJECTION", "false");
    bo.login_shell = env_is("ENABLE_LOGIN_SHELL", "true");
    bo.deterministic_head_pod_name = env_is("ENABLE_DETERMINISTIC_HEAD_POD_NAME", "true");
    bo.head_cluster_ip_service = env_is("ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE", "true");
    bo.random_pod_delete = env_is("ENABLE_RANDOM_POD_DELETE", "true");
    if (parse_gates(op.f.feature_gates, &bo.gates, &err)) {
        KRC_LOG_ERROR("unable to set feature gates", "error", err.msg);
        return 1;
    }

    /* Before any thread exists, so every thread inherits the mask and only sigtimedwait sees
     * these signals. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct krc_kubeconfig_options ko = {.path = *op.f.kubeconfig ? op.f.kubeconfig : NULL};
    if (krc_kubeconfig_load_default(&cfg, &ko, &err)) {
        KRC_LOG_ERROR("unable to load the kubeconfig", "error", err.msg);
        return 1;
    }
    status = run(&op, &cfg, &bo);
    if (op.client)
        krc_client_shutdown(op.client);
    if (op.events_client) /* after run()'s flush: cuts short a write still in progress */
        krc_client_shutdown(op.events_client);
    krc_leader_free(op.leader);
    krc_events_free(op.events);
    krc_events_free(op.job_events);
    krc_events_free(op.svc_events);
    krc_events_free(op.cron_events);
    if (op.metrics)
        MHD_stop_daemon(op.metrics);
    if (op.probes)
        MHD_stop_daemon(op.probes);
    if (op.client)
        krc_client_free(op.client);
    if (op.events_client) /* after the recorders that write through it */
        krc_client_free(op.events_client);
    krc_kubeconfig_free(&cfg);
    operator_config_release(&file_cfg);
    KRC_LOG_INFO("stopped", "status", status ? "error" : "ok");
    return status;
}
