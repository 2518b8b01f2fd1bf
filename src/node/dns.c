/* dns.c - cluster DNS without a DNS server: every pod's /etc/hosts lists the cluster's Service
 * names, recomputed when a watched Service, EndpointSlice or Pod changes.
 *
 * Records (one per address): a Service resolves to its ready endpoints' pod IPs (headless: all
 * of them; ClusterIP: the first, since no proxy implements the virtual IP), under
 * name.ns.svc.cluster.local, name.ns.svc and name.ns, and under the short name only in the pod's
 * own namespace; a pod with spec.hostname and spec.subdomain gets
 * hostname.subdomain.ns.svc.cluster.local. Records come in list order (Services, then pods, each
 * by "namespace/name"; a Service's addresses by slice name, then as the slice lists them), since
 * /etc/hosts answers a name with its first line.
 *
 * Updates: three informers of every namespace cache projections of what the records read (a
 * Service's clusterIP and publishNotReadyAddresses, a slice's labels and endpoints, a pod's
 * hostname, subdomain and podIP). Their handlers mark the records dirty only when a change can
 * alter them (krc_dns_relevant: a pod's status conditions cannot), and the DNS thread recomputes
 * them from the stores once a burst of changes has been quiet for KRC_DNS_QUIET_MS; pod workers
 * are woken only when the records differ. A recomputation sorts snapshots of the three stores
 * (O(n log n); the stores keep no order) and finds a Service's slices by binary search. The cost is
 * a cache of every pod of the cluster (metadata, labels and three short fields: ~500 bytes for a
 * Ray worker pod); polling three lists every 2 s, which this replaced, cached nothing but cost half
 * of an idle agent's CPU and made every change wait up to 2 s. */
#define _GNU_SOURCE
#include "node/dns.h"

#include "node/agent.h"

#include "kube/informer.h"
#include "util/log.h"
#include "util/mutex.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"
/* A recomputation that failed (out of memory) is tried again this much later. */
#define DNS_RETRY_MS 1000

#define NPATHS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const SVC_PATHS[] = {"spec.clusterIP", "spec.publishNotReadyAddresses"};
enum { SVC_CLUSTER_IP, SVC_PUBLISH };
static const char *const SLICE_PATHS[] = {"endpoints"};
enum { SLICE_ENDPOINTS };
static const char *const POD_PATHS[] = {"spec.hostname", "spec.subdomain", "status.podIP"};
enum { POD_HOSTNAME, POD_SUBDOMAIN, POD_IP };

static const struct krc_resource RESOURCES[KRC_DNS_NKINDS] = {
    [KRC_DNS_SERVICES] = {"", "v1", "services", 1},
    [KRC_DNS_SLICES] = {"discovery.k8s.io", "v1", "endpointslices", 1},
    [KRC_DNS_PODS] = {"", "v1", "pods", 1},
};

const char *const *krc_dns_paths(enum krc_dns_kind kind, size_t *n)
{
    switch (kind) {
    case KRC_DNS_SERVICES:
        *n = NPATHS(SVC_PATHS);
        return SVC_PATHS;
    case KRC_DNS_SLICES:
        *n = NPATHS(SLICE_PATHS);
        return SLICE_PATHS;
    case KRC_DNS_PODS:
        *n = NPATHS(POD_PATHS);
        return POD_PATHS;
    default:
        *n = 0;
        return NULL;
    }
}

/* ---- which changes matter ---- */

static int same_text(const char *x, const char *y)
{
    return x == y || (x && y && strcmp(x, y) == 0);
}

static int same_paths(const struct krc_object *a, const struct krc_object *b, size_t npaths)
{
    for (size_t i = 0; i < npaths; i++)
        if (!same_text(krc_object_path(a, i, NULL), krc_object_path(b, i, NULL)))
            return 0;
    return 1;
}

/* Whether the pod gets a hostname.subdomain record: all three fields are strings and the pod is
 * not being deleted. */
static int pod_named(const struct krc_object *pod)
{
    for (size_t i = 0; i < NPATHS(POD_PATHS); i++) {
        const char *t = krc_object_path(pod, i, NULL);
        if (!t || t[0] != '"')
            return 0;
    }
    return !krc_object_deletion_timestamp(pod) && *krc_object_namespace(pod);
}

int krc_dns_relevant(enum krc_dns_kind kind, const struct krc_object *old_obj,
                     const struct krc_object *new_obj)
{
    if (!old_obj && !new_obj)
        return 0;
    switch (kind) {
    case KRC_DNS_SERVICES:
        return !old_obj || !new_obj || !same_paths(old_obj, new_obj, NPATHS(SVC_PATHS));
    case KRC_DNS_SLICES:
        if (!old_obj || !new_obj)
            return krc_object_label(old_obj ? old_obj : new_obj, SERVICE_NAME_LABEL) != NULL;
        return !same_text(krc_object_label(old_obj, SERVICE_NAME_LABEL),
                          krc_object_label(new_obj, SERVICE_NAME_LABEL)) ||
               !same_paths(old_obj, new_obj, NPATHS(SLICE_PATHS));
    case KRC_DNS_PODS: {
        int was = old_obj && pod_named(old_obj), is = new_obj && pod_named(new_obj);
        if (was != is)
            return 1;
        return is && !same_paths(old_obj, new_obj, NPATHS(POD_PATHS));
    }
    default:
        return 0;
    }
}

int64_t krc_dns_due_ms(int64_t first_ms, int64_t last_ms)
{
    int64_t quiet = last_ms + KRC_DNS_QUIET_MS, cap = first_ms + KRC_DNS_MAX_DELAY_MS;
    return quiet < cap ? quiet : cap;
}

/* ---- the records (pure) ---- */

/* Walks "namespace/name" of an object one byte at a time. */
struct key_cursor {
    const char *p, *name;
};

static int key_next(struct key_cursor *c)
{
    if (*c->p)
        return (unsigned char)*c->p++;
    if (c->name) {
        c->p = c->name;
        c->name = NULL;
        return '/';
    }
    return 0;
}

/* Orders objects as a list does: by the etcd key's "namespace/name", bytewise (so "a-b/x"
 * comes before "a/x"). */
static int cmp_list_order(const void *x, const void *y)
{
    const struct krc_object *a = *(struct krc_object *const *)x;
    const struct krc_object *b = *(struct krc_object *const *)y;
    struct key_cursor ca = {krc_object_namespace(a), krc_object_name(a)};
    struct key_cursor cb = {krc_object_namespace(b), krc_object_name(b)};
    for (;;) {
        int u = key_next(&ca), v = key_next(&cb);
        if (u != v || u == 0)
            return u - v;
    }
}

static const char *slice_service(const struct krc_object *slice)
{
    const char *s = krc_object_label(slice, SERVICE_NAME_LABEL);
    return s ? s : "";
}

/* Slices grouped by namespace and Service, each group by name (its list order). */
static int cmp_slice(const void *x, const void *y)
{
    const struct krc_object *a = *(struct krc_object *const *)x;
    const struct krc_object *b = *(struct krc_object *const *)y;
    int c = strcmp(krc_object_namespace(a), krc_object_namespace(b));
    if (c == 0)
        c = strcmp(slice_service(a), slice_service(b));
    return c ? c : strcmp(krc_object_name(a), krc_object_name(b));
}

static int slice_cmp_service(const struct krc_object *slice, const char *ns, const char *svc)
{
    int c = strcmp(krc_object_namespace(slice), ns);
    return c ? c : strcmp(slice_service(slice), svc);
}

/* The first slice of Service ns/svc in slices sorted by cmp_slice (len when there is none). */
static size_t first_slice(const struct krc_object_list *slices, const char *ns, const char *svc)
{
    size_t lo = 0, hi = slices->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slice_cmp_service(slices->items[mid], ns, svc) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int add_record(json_t *recs, const char *ip, const char *ns, const char *name,
                      int with_service_forms)
{
    char l1[300], l2[300], l3[300];
    json_t *names;
    if (with_service_forms) {
        snprintf(l1, sizeof(l1), "%s.%s.svc." KRC_CLUSTER_DOMAIN, name, ns);
        snprintf(l2, sizeof(l2), "%s.%s.svc", name, ns);
        snprintf(l3, sizeof(l3), "%s.%s", name, ns);
        names = json_pack("[s,s,s]", l1, l2, l3);
    } else
        names = json_pack("[s]", name);
    json_t *rec = names ? json_pack("{s:s,s:s,s:o,s:s?}", "ip", ip, "ns", ns, "names", names,
                                    "short", with_service_forms ? name : NULL)
                        : NULL;
    return rec && json_array_append_new(recs, rec) == 0 ? 0 : KRC_ENOMEM;
}

static int service_records(json_t *recs, const struct krc_object *svc,
                           const struct krc_object_list *slices)
{
    const char *name = krc_object_name(svc), *ns = krc_object_namespace(svc);
    const char *cip = krc_object_path(svc, SVC_CLUSTER_IP, NULL);
    const char *pub = krc_object_path(svc, SVC_PUBLISH, NULL);
    int headless = cip && strcmp(cip, "\"None\"") == 0;
    int publish = pub && strcmp(pub, "true") == 0;
    int found = 0, rc = 0;
    if (!*name || !*ns)
        return 0;
    for (size_t j = first_slice(slices, ns, name);
         rc == 0 && j < slices->len && slice_cmp_service(slices->items[j], ns, name) == 0 &&
         (headless || !found);
         j++) {
        struct krc_error err = {0};
        json_t *eps = NULL, *ep, *addr;
        size_t k, m;
        if (krc_object_path_json(slices->items[j], SLICE_ENDPOINTS, &eps, &err) == KRC_ENOMEM)
            return KRC_ENOMEM; /* malformed endpoints count as none */
        json_array_foreach(eps, k, ep)
        {
            json_t *ready = json_object_get(json_object_get(ep, "conditions"), "ready");
            if (!publish && json_is_false(ready))
                continue;
            json_array_foreach(json_object_get(ep, "addresses"), m, addr)
            {
                if (rc != 0 || !json_is_string(addr) || (found && !headless))
                    continue;
                rc = add_record(recs, json_string_value(addr), ns, name, 1);
                found = 1;
            }
        }
        json_decref(eps);
    }
    return rc;
}

static int pod_record(json_t *recs, const struct krc_object *pod)
{
    json_t *v[NPATHS(POD_PATHS)] = {NULL};
    int rc = 0;
    if (!pod_named(pod))
        return 0;
    for (size_t i = 0; rc == 0 && i < NPATHS(POD_PATHS); i++) {
        struct krc_error err = {0};
        if (krc_object_path_json(pod, i, &v[i], &err) == KRC_ENOMEM)
            rc = KRC_ENOMEM;
    }
    if (rc == 0 && json_is_string(v[POD_HOSTNAME]) && json_is_string(v[POD_SUBDOMAIN]) &&
        json_is_string(v[POD_IP])) {
        char fq[400];
        snprintf(fq, sizeof(fq), "%s.%s.%s.svc." KRC_CLUSTER_DOMAIN,
                 json_string_value(v[POD_HOSTNAME]), json_string_value(v[POD_SUBDOMAIN]),
                 krc_object_namespace(pod));
        rc = add_record(recs, json_string_value(v[POD_IP]), krc_object_namespace(pod), fq, 0);
    }
    for (size_t i = 0; i < NPATHS(POD_PATHS); i++)
        json_decref(v[i]);
    return rc;
}

static void sort_list(struct krc_object_list *l, int (*cmp)(const void *, const void *))
{
    if (l->len > 1)
        qsort(l->items, l->len, sizeof(*l->items), cmp);
}

json_t *krc_dns_compute(struct krc_object_list *svcs, struct krc_object_list *slices,
                        struct krc_object_list *pods)
{
    json_t *recs = json_array();
    int rc = recs ? 0 : KRC_ENOMEM;
    sort_list(svcs, cmp_list_order);
    sort_list(slices, cmp_slice);
    sort_list(pods, cmp_list_order);
    for (size_t i = 0; rc == 0 && i < svcs->len; i++)
        rc = service_records(recs, svcs->items[i], slices);
    for (size_t i = 0; rc == 0 && i < pods->len; i++)
        rc = pod_record(recs, pods->items[i]);
    if (rc != 0) {
        json_decref(recs);
        return NULL;
    }
    return recs;
}

/* ---- the informers and the thread ---- */

struct dns_source {
    struct krc_dns *d;
    enum krc_dns_kind kind;
};

struct krc_dns {
    struct krc_agent *a;
    struct krc_informer *inf[KRC_DNS_NKINDS];
    struct dns_source src[KRC_DNS_NKINDS];
    pthread_t thread;
    int started, sync_init;
    pthread_mutex_t mu;  /* guards what follows */
    pthread_cond_t cond; /* the records turned dirty, or stop */
    int stopping, dirty;
    int64_t first_ms, last_ms; /* first and last relevant change since the records were clean */
};

/* Informer threads: marks the records dirty when the change matters. Only the clean-to-dirty
 * transition wakes the DNS thread; later changes of the burst just move last_ms, which the
 * thread reads when its wait for the due time ends. */
static void changed(struct dns_source *s, const struct krc_object *old_obj,
                    const struct krc_object *new_obj)
{
    struct krc_dns *d = s->d;
    if (!krc_dns_relevant(s->kind, old_obj, new_obj))
        return;
    int64_t now = krc_agent_now_ms();
    krc_mutex_lock(&d->mu);
    if (!d->dirty) {
        d->dirty = 1;
        d->first_ms = now;
        pthread_cond_signal(&d->cond);
    }
    d->last_ms = now;
    krc_mutex_unlock(&d->mu);
}

static void on_add(void *ctx, struct krc_object *obj)
{
    changed(ctx, NULL, obj);
}

static void on_update(void *ctx, struct krc_object *old_obj, struct krc_object *new_obj)
{
    changed(ctx, old_obj, new_obj);
}

static void on_delete(void *ctx, struct krc_object *obj)
{
    changed(ctx, obj, NULL);
}

/* Recomputes the records from the stores; wakes the pod workers when they changed. */
static int publish(struct krc_dns *d)
{
    struct krc_object_list l[KRC_DNS_NKINDS] = {{0}};
    struct krc_error err = {0};
    struct krc_agent *a = d->a;
    json_t *recs = NULL;
    int rc = 0, differ = 0;
    for (int k = 0; rc == 0 && k < KRC_DNS_NKINDS; k++)
        rc = krc_store_list(krc_informer_store(d->inf[k]), &l[k], &err);
    if (rc == 0 &&
        !(recs = krc_dns_compute(&l[KRC_DNS_SERVICES], &l[KRC_DNS_SLICES], &l[KRC_DNS_PODS])))
        rc = krc_error_set(&err, KRC_ENOMEM, "cluster DNS records: out of memory");
    if (rc == 0) {
        krc_mutex_lock(&a->mu);
        differ = !json_equal(recs, a->dns_records);
        if (differ) {
            json_decref(a->dns_records);
            a->dns_records = json_incref(recs);
            a->dns_generation++;
        }
        krc_mutex_unlock(&a->mu);
    }
    if (differ) /* pod workers sleep until woken: each rewrites its /etc/hosts */
        krc_podworker_wake_all(a);
    json_decref(recs);
    for (int k = 0; k < KRC_DNS_NKINDS; k++)
        krc_object_list_release(&l[k]);
    if (rc != 0)
        KRC_LOG_WARN("computing cluster DNS records failed", "error", err.msg);
    return rc;
}

static void wait_until(struct krc_dns *d, int64_t due_ms)
{
    struct timespec until = {.tv_sec = (time_t)(due_ms / 1000),
                             .tv_nsec = (long)(due_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&d->cond, &d->mu, &until); /* ETIMEDOUT, a wake-up: both re-checked */
}

/* Waits for the first complete lists, then publishes after each settled burst of changes. The
 * records start dirty, so the first lists are published at once. */
static void *dns_main(void *arg)
{
    struct krc_dns *d = arg;
    for (int k = 0; k < KRC_DNS_NKINDS; k++)
        if (krc_informer_wait_synced(d->inf[k], -1) != 0)
            return NULL; /* stopped */
    krc_mutex_lock(&d->mu);
    while (!d->stopping) {
        if (!d->dirty) {
            pthread_cond_wait(&d->cond, &d->mu);
            continue;
        }
        int64_t due = krc_dns_due_ms(d->first_ms, d->last_ms);
        if (krc_agent_now_ms() < due) {
            wait_until(d, due);
            continue;
        }
        d->dirty = 0;
        krc_mutex_unlock(&d->mu);
        int rc = publish(d);
        krc_mutex_lock(&d->mu);
        if (rc != 0 && !d->dirty) {
            d->dirty = 1;
            d->first_ms = d->last_ms = krc_agent_now_ms() + DNS_RETRY_MS;
        }
    }
    krc_mutex_unlock(&d->mu);
    return NULL;
}

static int init_sync(struct krc_dns *d, struct krc_error *err)
{
    pthread_condattr_t ca;
    int ok = pthread_condattr_init(&ca) == 0;
    if (!ok)
        return krc_error_set(err, KRC_ENOMEM, "cluster DNS: cannot create a condition variable");
    ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
         pthread_mutex_init(&d->mu, NULL) == 0;
    if (ok && pthread_cond_init(&d->cond, &ca) != 0) {
        pthread_mutex_destroy(&d->mu);
        ok = 0;
    }
    pthread_condattr_destroy(&ca);
    if (!ok)
        return krc_error_set(err, KRC_ENOMEM, "cluster DNS: cannot create its lock");
    d->sync_init = 1;
    return 0;
}

int krc_dns_start(struct krc_agent *a, struct krc_dns **out, struct krc_error *err)
{
    struct krc_dns *d = calloc(1, sizeof(*d));
    int rc;
    *out = NULL;
    if (!d)
        return krc_error_set(err, KRC_ENOMEM, "cluster DNS: out of memory");
    d->a = a;
    d->dirty = 1;
    if ((rc = init_sync(d, err)) != 0)
        goto err;
    for (int k = 0; k < KRC_DNS_NKINDS; k++) {
        struct krc_informer_options io = {.resource = RESOURCES[k]};
        io.paths = krc_dns_paths((enum krc_dns_kind)k, &io.npaths);
        d->src[k] = (struct dns_source){d, (enum krc_dns_kind)k};
        struct krc_informer_handlers h = {on_add, on_update, on_delete, &d->src[k]};
        if ((rc = krc_informer_new(a->client, &io, &d->inf[k], err)) != 0 ||
            (rc = krc_informer_add_handlers(d->inf[k], &h, err)) != 0)
            goto err;
    }
    for (int k = 0; k < KRC_DNS_NKINDS; k++)
        if ((rc = krc_informer_start(d->inf[k], err)) != 0)
            goto err;
    if (pthread_create(&d->thread, NULL, dns_main, d) != 0) {
        rc = krc_error_set(err, KRC_EIO, "cluster DNS: cannot start its thread");
        goto err;
    }
    d->started = 1;
    *out = d;
    return 0;
err:
    krc_dns_stop(d);
    return rc;
}

static void *stop_informer(void *inf)
{
    krc_informer_stop(inf);
    return NULL;
}

void krc_dns_stop(struct krc_dns *d)
{
    pthread_t t[KRC_DNS_NKINDS];
    int helper[KRC_DNS_NKINDS] = {0};
    if (!d)
        return;
    /* Informers first: a DNS thread still waiting for their first lists returns then. Each stop
     * waits for its watch to notice the cancel (up to the transport's poll slice) and close its
     * connection, so they are stopped side by side, which keeps the agent's shutdown as quick as
     * with the single polling thread; one at a time if no thread can be started. */
    for (int k = 1; k < KRC_DNS_NKINDS; k++)
        helper[k] = d->inf[k] && pthread_create(&t[k], NULL, stop_informer, d->inf[k]) == 0;
    for (int k = 0; k < KRC_DNS_NKINDS; k++)
        if (d->inf[k] && !helper[k])
            krc_informer_stop(d->inf[k]);
    for (int k = 1; k < KRC_DNS_NKINDS; k++)
        if (helper[k])
            pthread_join(t[k], NULL);
    if (d->sync_init) {
        krc_mutex_lock(&d->mu);
        d->stopping = 1;
        pthread_cond_broadcast(&d->cond);
        krc_mutex_unlock(&d->mu);
    }
    if (d->started)
        pthread_join(d->thread, NULL);
    for (int k = 0; k < KRC_DNS_NKINDS; k++)
        krc_informer_free(d->inf[k]);
    if (d->sync_init) {
        pthread_cond_destroy(&d->cond);
        pthread_mutex_destroy(&d->mu);
    }
    free(d);
}

/* ---- hosts files ---- */

int krc_dns_hosts(struct krc_agent *a, const char *ns, const char *ip, const char *hostname,
                  struct krc_strbuf *out)
{
    int rc = krc_sandbox_default_hosts(ip, hostname, out);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&a->mu);
    size_t i, j;
    json_t *r, *n;
    json_array_foreach(a->dns_records, i, r)
    {
        krc_strbuf_adds(out, krc_json_str(r, "ip"));
        json_array_foreach(json_object_get(r, "names"), j, n)
            krc_strbuf_addf(out, " %s", json_string_value(n));
        const char *rns = krc_json_str(r, "ns"), *shortname = krc_json_str(r, "short");
        if (shortname && rns && strcmp(rns, ns) == 0)
            krc_strbuf_addf(out, " %s", shortname);
        rc = krc_strbuf_addch(out, '\n');
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}
