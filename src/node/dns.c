/* dns.c - cluster DNS without a DNS server: every pod's /etc/hosts lists the cluster's Service
 * names, kept current by a thread that relists Services, EndpointSlices and Pods every 2 s.
 *
 * Records (one per address): a Service resolves to its ready endpoints' pod IPs (headless: all
 * of them; ClusterIP: the first, since no proxy implements the virtual IP), under
 * name.ns.svc.cluster.local, name.ns.svc and name.ns, and under the short name only in the pod's
 * own namespace; a pod with spec.hostname and spec.subdomain gets
 * hostname.subdomain.ns.svc.cluster.local. Polling costs three list calls per period and node;
 * a watch-fed informer would make updates immediate, at the cost of a cache of every pod. */
#define _GNU_SOURCE
#include "node/agent.h"

#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DNS_PERIOD_MS 2000

static const struct krc_resource SVC = {"", "v1", "services", 1};
static const struct krc_resource SLICES = {"discovery.k8s.io", "v1", "endpointslices", 1};
static const struct krc_resource PODS = {"", "v1", "pods", 1};

static json_t *list(struct krc_agent *a, const struct krc_resource *res, struct krc_error *err)
{
    struct krc_strbuf body = KRC_STRBUF_INIT;
    json_t *doc = NULL;
    if (krc_client_list(a->client, res, NULL, NULL, &body, err) == 0)
        krc_client_parse_json(&body, &doc, err);
    krc_strbuf_release(&body);
    return doc;
}

static void add_record(json_t *recs, const char *ip, const char *ns, const char *name,
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
    json_array_append_new(recs, json_pack("{s:s,s:s,s:o,s:s?}", "ip", ip, "ns", ns, "names", names,
                                          "short", with_service_forms ? name : NULL));
}

json_t *krc_dns_compute(json_t *svcs, json_t *slices, json_t *pods)
{
    json_t *recs = json_array();
    size_t i, j, k;
    json_t *svc, *sl, *ep, *addr, *pod;
    json_array_foreach(json_object_get(svcs, "items"), i, svc)
    {
        const char *name = krc_json_str(svc, "metadata.name");
        const char *ns = krc_json_str(svc, "metadata.namespace");
        const char *cip = krc_json_str(svc, "spec.clusterIP");
        int headless = cip && strcmp(cip, "None") == 0;
        int publish =
            json_is_true(json_object_get(json_object_get(svc, "spec"), "publishNotReadyAddresses"));
        int found = 0;
        if (!name || !ns)
            continue;
        json_array_foreach(json_object_get(slices, "items"), j, sl)
        {
            const char *owner =
                krc_json_key(json_object_get(json_object_get(sl, "metadata"), "labels"),
                             "kubernetes.io/service-name");
            const char *sns = krc_json_str(sl, "metadata.namespace");
            if (!owner || !sns || strcmp(owner, name) != 0 || strcmp(sns, ns) != 0)
                continue;
            json_array_foreach(json_object_get(sl, "endpoints"), k, ep)
            {
                json_t *ready = json_object_get(json_object_get(ep, "conditions"), "ready");
                if (!publish && json_is_false(ready))
                    continue;
                size_t m;
                json_array_foreach(json_object_get(ep, "addresses"), m, addr)
                {
                    if (!json_is_string(addr) || (found && !headless))
                        continue;
                    add_record(recs, json_string_value(addr), ns, name, 1);
                    found = 1;
                }
            }
        }
    }
    json_array_foreach(json_object_get(pods, "items"), i, pod)
    {
        const char *hn = krc_json_str(pod, "spec.hostname");
        const char *sub = krc_json_str(pod, "spec.subdomain");
        const char *ip = krc_json_str(pod, "status.podIP");
        const char *ns = krc_json_str(pod, "metadata.namespace");
        if (!hn || !sub || !ip || !ns || krc_json_str(pod, "metadata.deletionTimestamp"))
            continue;
        char fq[400];
        snprintf(fq, sizeof(fq), "%s.%s.%s.svc." KRC_CLUSTER_DOMAIN, hn, sub, ns);
        add_record(recs, ip, ns, fq, 0);
    }
    return recs;
}

void *krc_dns_thread(void *arg)
{
    struct krc_agent *a = arg;
    int64_t next = 0;
    while (!krc_agent_stopping(a)) {
        if (krc_agent_now_ms() < next) {
            usleep(100 * 1000);
            continue;
        }
        next = krc_agent_now_ms() + DNS_PERIOD_MS;
        struct krc_error err = {0};
        json_t *svcs = list(a, &SVC, &err), *slices = svcs ? list(a, &SLICES, &err) : NULL;
        json_t *pods = slices ? list(a, &PODS, &err) : NULL;
        if (pods) {
            json_t *recs = krc_dns_compute(svcs, slices, pods);
            pthread_mutex_lock(&a->mu);
            int changed = !json_equal(recs, a->dns_records);
            if (changed) {
                json_decref(a->dns_records);
                a->dns_records = json_incref(recs);
                a->dns_generation++;
            }
            pthread_mutex_unlock(&a->mu);
            if (changed) /* pod workers sleep until woken: each rewrites its /etc/hosts */
                krc_podworker_wake_all(a);
            json_decref(recs);
        } else
            KRC_LOG_WARN("listing services for DNS failed", "error", err.msg);
        json_decref(svcs);
        json_decref(slices);
        json_decref(pods);
    }
    return NULL;
}

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
