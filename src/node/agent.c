/* agent.c - the node agent's main loop: flags, start-up (Node, Lease, sandbox adoption), the
 * watch of the pods bound to this node, one pod worker per pod, and shutdown.
 *
 * Pods are listed and then watched from the list's resourceVersion (relisting on 410 Gone) with
 * the field selector spec.nodeName=<node>; the informer library would do the same with a cache we
 * do not need, since each worker keeps the one object it owns. A pod that disappears from a
 * relist is treated as deleted. On SIGTERM the agent marks the Node NotReady and exits, leaving
 * the pods running: a restarted agent adopts them (`kuberay-node cleanup` removes them). */
#define _GNU_SOURCE
#include "node/volrefresh.h"
#include "node/agent.h"

#include "node/kubeletserver.h"
#include "node/podworker.h"

#include "kube/config.h"
#include "util/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct krc_resource POD_RESOURCE = {"", "v1", "pods", 1};
static struct krc_agent *g_agent; /* for the signal handler only */

int64_t krc_agent_now(void)
{
    return (int64_t)time(NULL);
}

int64_t krc_agent_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void krc_agent_time(char *out, size_t len, int64_t t, int micro)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, len, micro ? "%Y-%m-%dT%H:%M:%S.000000Z" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The value at a dotted path of objects ("status.podIP"), or NULL when any step is missing. */
static json_t *json_path(json_t *obj, const char *path)
{
    char key[128];
    const char *p = path;
    while (obj && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        obj = json_is_object(obj) ? json_object_get(obj, key) : NULL;
        p += n;
        if (*p == '.')
            p++;
    }
    return obj;
}

const char *krc_json_str(json_t *obj, const char *path)
{
    json_t *v = json_path(obj, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *krc_json_key(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

long long krc_json_int(json_t *obj, const char *path, long long dflt)
{
    json_t *v = json_path(obj, path);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

int krc_agent_stopping(struct krc_agent *a)
{
    return krc_cancel_requested(&a->cancel);
}

void krc_agent_stop(struct krc_agent *a)
{
    krc_cancel_request(&a->cancel);
    pthread_mutex_lock(&a->mu);
    pthread_cond_broadcast(&a->stop_cond);
    pthread_mutex_unlock(&a->mu);
}

int krc_agent_sleep(struct krc_agent *a, int64_t ms)
{
    int64_t due = krc_agent_now_ms() + ms;
    struct timespec until = {.tv_sec = (time_t)(due / 1000),
                             .tv_nsec = (long)(due % 1000) * 1000000L};
    pthread_mutex_lock(&a->mu);
    while (!krc_agent_stopping(a) &&
           pthread_cond_timedwait(&a->stop_cond, &a->mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&a->mu);
    return krc_agent_stopping(a);
}

static void on_signal(int sig)
{
    (void)sig;
    if (g_agent)
        krc_cancel_request(&g_agent->cancel);
}

static int usage(void)
{
    fprintf(
        stderr,
        "usage: kuberay-node agent --kubeconfig FILE --node-name NAME --state-dir DIR\n"
        "         [--bridge IF] [--bridge-cidr A.B.C.D/N] [--pod-range A.B.C.D/N] [--path PATH]\n"
        "         [--capacity cpu=N,memory=Q,pods=N] [--extended-resource NAME=N]...\n"
        "         [--labels k=v,...] [--register-with-taints k=v:Effect,...]\n"
        "         [--kubelet-port P --tls-cert-file F --tls-private-key-file F --client-ca-file "
        "F]\n"
        "         [--backoff-base-ms MS] [--backoff-max-ms MS]\n"
        "         [--container-log-max-size BYTES[Ki|Mi|Gi]] [--container-log-max-files N]\n"
        "         [--volume-refresh-seconds S] [--token-refresh-fraction F]\n");
    return 2;
}

static int parse_pairs(char *s, const char **keys, const char **values, int *n, int max)
{
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        if (!eq || *n >= max)
            return -1;
        *eq = '\0';
        keys[*n] = tok;
        values[*n] = eq + 1;
        (*n)++;
    }
    return 0;
}

/* "1048576", "512Ki", "10Mi", "1Gi" in bytes; -1 if malformed. */
static long long parse_size(const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    long long unit = strcmp(end, "Ki") == 0   ? 1024LL
                     : strcmp(end, "Mi") == 0 ? 1024LL * 1024
                     : strcmp(end, "Gi") == 0 ? 1024LL * 1024 * 1024
                     : *end == '\0'           ? 1
                                              : 0;
    if (end == v || n <= 0 || !unit || n > (1LL << 50) / unit)
        return -1;
    return n * unit;
}

static int parse_flags(int argc, char **argv, struct krc_agent_config *c)
{
    c->backoff_base_ms = 10000;
    c->backoff_max_ms = 300000;
    c->volume_refresh_s = KRC_VOLUME_REFRESH_S_DEFAULT;
    c->token_refresh_fraction = KRC_TOKEN_REFRESH_FRACTION_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (i + 1 >= argc)
            return -1;
        char *v = argv[++i];
        if (strcmp(f, "--kubeconfig") == 0)
            c->kubeconfig = v;
        else if (strcmp(f, "--node-name") == 0)
            c->node_name = v;
        else if (strcmp(f, "--bridge") == 0)
            c->bridge = v;
        else if (strcmp(f, "--bridge-cidr") == 0)
            c->bridge_cidr = v;
        else if (strcmp(f, "--pod-range") == 0)
            c->pod_range = v;
        else if (strcmp(f, "--state-dir") == 0)
            c->state_dir = v;
        else if (strcmp(f, "--path") == 0)
            c->path = v;
        else if (strcmp(f, "--kubelet-port") == 0)
            c->kubelet_port = atoi(v);
        else if (strcmp(f, "--tls-cert-file") == 0)
            c->tls_cert = v;
        else if (strcmp(f, "--tls-private-key-file") == 0)
            c->tls_key = v;
        else if (strcmp(f, "--client-ca-file") == 0)
            c->client_ca = v;
        else if (strcmp(f, "--register-with-taints") == 0)
            c->taints = v;
        else if (strcmp(f, "--backoff-base-ms") == 0)
            c->backoff_base_ms = atoi(v);
        else if (strcmp(f, "--backoff-max-ms") == 0)
            c->backoff_max_ms = atoi(v);
        else if (strcmp(f, "--container-log-max-size") == 0) {
            if ((c->log_max_size = parse_size(v)) <= 0)
                return -1;
        } else if (strcmp(f, "--container-log-max-files") == 0) {
            if ((c->log_max_files = atoi(v)) < 1)
                return -1;
        } else if (strcmp(f, "--volume-refresh-seconds") == 0) {
            if ((c->volume_refresh_s = atoi(v)) < 1)
                return -1;
        } else if (strcmp(f, "--token-refresh-fraction") == 0) {
            char *end;
            c->token_refresh_fraction = strtod(v, &end);
            if (*end || !(c->token_refresh_fraction > 0 && c->token_refresh_fraction <= 1))
                return -1;
        } else if (strcmp(f, "--capacity") == 0) {
            const char *k[8], *val[8];
            int n = 0;
            if (parse_pairs(v, k, val, &n, 8) != 0)
                return -1;
            for (int j = 0; j < n; j++) {
                if (strcmp(k[j], "cpu") == 0)
                    c->cpu = val[j];
                else if (strcmp(k[j], "memory") == 0)
                    c->memory = val[j];
                else if (strcmp(k[j], "pods") == 0)
                    c->pods = val[j];
                else
                    return -1;
            }
        } else if (strcmp(f, "--extended-resource") == 0) {
            if (parse_pairs(v, c->ext_name, c->ext_value, &c->n_ext, KRC_AGENT_MAX_EXTENDED) != 0)
                return -1;
        } else if (strcmp(f, "--labels") == 0) {
            if (parse_pairs(v, c->label_key, c->label_value, &c->n_labels, KRC_AGENT_MAX_LABELS) !=
                0)
                return -1;
        } else
            return -1;
    }
    if (c->kubelet_port && (!c->tls_cert || !c->tls_key || !c->client_ca))
        return -1;
    return c->kubeconfig && c->node_name && c->state_dir ? 0 : -1;
}

/* ---- the pod table ---- */

static struct krc_podworker *find_worker(struct krc_agent *a, const char *uid)
{
    for (struct krc_podworker *w = a->workers; w; w = w->next)
        if (strcmp(krc_podworker_uid(w), uid) == 0)
            return w;
    return NULL;
}

/* Joins workers that finished. Called from the main thread only (the only one that adds). */
static void reap_workers(struct krc_agent *a)
{
    pthread_mutex_lock(&a->mu);
    struct krc_podworker **pp = &a->workers;
    while (*pp) {
        struct krc_podworker *w = *pp;
        if (krc_podworker_done(w)) {
            *pp = w->next;
            pthread_mutex_unlock(&a->mu);
            krc_podworker_join(w);
            pthread_mutex_lock(&a->mu);
            pp = &a->workers;
            continue;
        }
        pp = &w->next;
    }
    pthread_mutex_unlock(&a->mu);
}

static void pod_seen(struct krc_agent *a, json_t *pod, int deleted)
{
    const char *uid = krc_json_str(pod, "metadata.uid");
    if (!uid)
        return;
    pthread_mutex_lock(&a->mu);
    struct krc_podworker *w = find_worker(a, uid);
    pthread_mutex_unlock(&a->mu);
    if (w) {
        krc_podworker_update(w, deleted ? NULL : pod);
        return;
    }
    if (deleted)
        return;
    w = krc_podworker_start(a, pod);
    if (!w)
        return;
    pthread_mutex_lock(&a->mu);
    w->next = a->workers;
    a->workers = w;
    pthread_mutex_unlock(&a->mu);
}

struct watch_ctx {
    struct krc_agent *a;
    char rv[64];
    int gone;
};

static int on_event(void *ctx, const char *line, size_t len)
{
    struct watch_ctx *wc = ctx;
    json_error_t jerr;
    json_t *ev = json_loadb(line, len, 0, &jerr);
    if (!ev)
        return 0;
    const char *type = krc_json_str(ev, "type");
    json_t *obj = json_object_get(ev, "object");
    const char *rv = krc_json_str(obj, "metadata.resourceVersion");
    if (type && strcmp(type, "ERROR") == 0) {
        if (krc_json_int(obj, "code", 0) == 410)
            wc->gone = 1;
        json_decref(ev);
        return wc->gone ? 1 : 0;
    }
    if (rv)
        snprintf(wc->rv, sizeof(wc->rv), "%s", rv);
    if (type && strcmp(type, "BOOKMARK") != 0)
        pod_seen(wc->a, obj, strcmp(type, "DELETED") == 0);
    json_decref(ev);
    return 0;
}

/* Lists this node's pods, hands each to its worker, marks workers of vanished pods deleted. */
static int relist(struct krc_agent *a, char *selector, struct watch_ctx *wc, struct krc_error *err)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    json_t *doc = NULL;
    struct krc_list_opts lo = {.field_selector = selector};
    int rc = krc_client_list(a->client, &POD_RESOURCE, NULL, &lo, &body, err);
    if (rc == 0)
        rc = krc_client_parse_json(&body, &doc, err);
    if (rc != 0)
        goto out;
    json_t *items = json_object_get(doc, "items");
    const char *rv = krc_json_str(doc, "metadata.resourceVersion");
    snprintf(wc->rv, sizeof(wc->rv), "%s", rv ? rv : "");
    size_t i;
    json_t *pod;
    json_array_foreach(items, i, pod) pod_seen(a, pod, 0);
    /* Workers whose pod is not in the list anymore: deleted while we were not watching. */
    pthread_mutex_lock(&a->mu);
    for (struct krc_podworker *w = a->workers; w; w = w->next) {
        int found = 0;
        json_array_foreach(items, i, pod)
        {
            const char *uid = krc_json_str(pod, "metadata.uid");
            found |= uid && strcmp(uid, krc_podworker_uid(w)) == 0;
        }
        if (!found)
            krc_podworker_update(w, NULL);
    }
    pthread_mutex_unlock(&a->mu);
    /* Sandboxes without a pod (deleted while the agent was down): adopt through a worker with a
     * placeholder object, which destroys them. */
    char **uids = NULL;
    size_t n = 0;
    if (krc_sandbox_list(a->node, &uids, &n, err) == 0) {
        for (size_t k = 0; k < n; k++) {
            int found = 0;
            json_array_foreach(items, i, pod)
            {
                const char *uid = krc_json_str(pod, "metadata.uid");
                found |= uid && strcmp(uid, uids[k]) == 0;
            }
            pthread_mutex_lock(&a->mu);
            found |= find_worker(a, uids[k]) != NULL;
            pthread_mutex_unlock(&a->mu);
            if (!found) {
                json_t *ghost = json_pack("{s:{s:s,s:s,s:s,s:s}}", "metadata", "uid", uids[k],
                                          "name", uids[k], "namespace", "(deleted pod)",
                                          "deletionTimestamp", "1970-01-01T00:00:00Z");
                if (ghost) {
                    json_object_set_new(ghost, "krcOrphan", json_true());
                    pod_seen(a, ghost, 0);
                    json_decref(ghost);
                }
            }
        }
        krc_sandbox_list_free(uids, n);
    }
out:
    json_decref(doc);
    krc_strbuf_release(&body);
    return rc;
}

static void watch_pods(struct krc_agent *a)
{
    char selector[300];
    snprintf(selector, sizeof(selector), "spec.nodeName=%s", a->cfg.node_name);
    struct watch_ctx wc = {.a = a};
    int need_list = 1;
    while (!krc_agent_stopping(a)) {
        struct krc_error err = {0};
        reap_workers(a);
        if (need_list) {
            if (relist(a, selector, &wc, &err) != 0) {
                KRC_LOG_WARN("listing pods failed", "error", err.msg);
                sleep(1);
                continue;
            }
            need_list = 0;
        }
        struct krc_list_opts lo = {.field_selector = selector,
                                   .resource_version = wc.rv,
                                   .allow_watch_bookmarks = 1,
                                   .timeout_seconds = 30};
        struct krc_stream_opts so = {.on_line = on_event, .ctx = &wc, .cancel = &a->cancel};
        wc.gone = 0;
        int rc = krc_client_watch(a->client, &POD_RESOURCE, NULL, &lo, &so, &err);
        if (rc == KRC_EGONE || wc.gone) {
            need_list = 1;
        } else if (rc != 0 && rc != KRC_ECANCELED) {
            KRC_LOG_WARN("pod watch ended", "error", err.msg);
            need_list = 1;
            sleep(1);
        }
    }
}

static int api_port_of(const char *server, char *out, size_t len)
{
    const char *host = strstr(server, "://");
    host = host ? host + 3 : server;
    const char *colon = strrchr(host, ':');
    snprintf(out, len, "%s", colon ? colon + 1 : "443");
    char *slash = strchr(out, '/');
    if (slash)
        *slash = '\0';
    return 0;
}

int krc_agent_main(int argc, char **argv)
{
    struct krc_agent a;
    memset(&a, 0, sizeof(a));
    struct krc_kubeconfig kc = {0};
    struct krc_error err = {0};
    pthread_t hb;
    pthread_condattr_t ca;
    struct krc_kubeletserver *ks = NULL;
    struct krc_dns *dns = NULL;
    int have_hb = 0, rc = 1;
    if (parse_flags(argc, argv, &a.cfg) != 0)
        return usage();
    krc_cancel_init(&a.cancel);
    if (pthread_mutex_init(&a.mu, NULL) != 0 || pthread_condattr_init(&ca) != 0) {
        KRC_LOG_ERROR("node agent failed", "error", "cannot create its lock");
        return 1;
    }
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&a.stop_cond, &ca) != 0) {
        KRC_LOG_ERROR("node agent failed", "error", "cannot create its condition variable");
        pthread_condattr_destroy(&ca);
        pthread_mutex_destroy(&a.mu);
        return 1;
    }
    pthread_condattr_destroy(&ca);
    a.dns_records = json_array();
    g_agent = &a;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct krc_kubeconfig_options ko = {.path = a.cfg.kubeconfig};
    struct krc_client_options co = {.qps = 100, .burst = 200, .user_agent = "kuberay-node"};
    if (krc_kubeconfig_load(&kc, &ko, &err) != 0 || krc_client_new(&kc, &co, &a.client, &err) != 0)
        goto out;
    api_port_of(kc.server, a.api_port, sizeof(a.api_port));
    struct krc_node_config nc = {.name = a.cfg.node_name,
                                 .state_root = a.cfg.state_dir,
                                 .bridge = a.cfg.bridge,
                                 .bridge_cidr = a.cfg.bridge_cidr,
                                 .pod_range = a.cfg.pod_range,
                                 .pod_path = a.cfg.path,
                                 .log_max_size = a.cfg.log_max_size,
                                 .log_max_files = a.cfg.log_max_files};
    if (krc_node_open(&nc, &a.node, &err) != 0)
        goto out;
    snprintf(a.gateway, sizeof(a.gateway), "%s", krc_node_gateway(a.node));
    if (a.cfg.kubelet_port &&
        krc_kubeletserver_start(&a, a.cfg.kubelet_port, a.cfg.tls_cert, a.cfg.tls_key,
                                a.cfg.client_ca, &ks, &err) != 0)
        goto out;
    if (krc_nodestatus_register(&a, &err) != 0)
        goto out;
    KRC_LOG_INFO("node registered", "node", a.cfg.node_name, "gateway", a.gateway);
    if (pthread_create(&hb, NULL, krc_nodestatus_heartbeat_thread, &a) == 0)
        have_hb = 1;
    if (krc_dns_start(&a, &dns, &err) != 0)
        goto out;
    watch_pods(&a);
    rc = 0;
out:
    if (rc != 0)
        KRC_LOG_ERROR("node agent failed", "error", err.msg);
    krc_agent_stop(&a);         /* wakes the heartbeat's sleep */
    krc_kubeletserver_stop(ks); /* follow streams end with it */
    /* Workers see the cancel and return, leaving their pods running. */
    for (;;) {
        pthread_mutex_lock(&a.mu);
        struct krc_podworker *w = a.workers;
        if (w)
            a.workers = w->next;
        pthread_mutex_unlock(&a.mu);
        if (!w)
            break;
        krc_podworker_wake(w);
        krc_podworker_join(w);
    }
    if (have_hb)
        pthread_join(hb, NULL);
    krc_dns_stop(dns);
    if (a.client && a.node) {
        struct krc_error e2 = {0};
        if (krc_nodestatus_set_ready(&a, 0, &e2) != 0)
            KRC_LOG_WARN("could not mark the node NotReady", "error", e2.msg);
        else
            KRC_LOG_INFO("node marked NotReady", "node", a.cfg.node_name);
    }
    krc_node_close(a.node);
    if (a.client)
        krc_client_free(a.client);
    krc_kubeconfig_free(&kc);
    json_decref(a.dns_records);
    pthread_cond_destroy(&a.stop_cond);
    pthread_mutex_destroy(&a.mu);
    g_agent = NULL;
    return rc;
}
