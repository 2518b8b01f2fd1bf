/* nodestatus.c - the Node object of this agent: registration (labels, capacity, allocatable,
 * addresses, Ready), the heartbeat (a Lease in kube-node-lease renewed every 10 s, and the Ready
 * condition's lastHeartbeatTime refreshed with it), and NotReady on shutdown.
 *
 * Status goes through merge patches of the status subresource: the agent owns the fields it
 * writes and leaves the rest (taints, the node lifecycle controller's conditions) alone. */
#define _GNU_SOURCE
#include "node/agent.h"

#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static const struct krc_resource NODE_RESOURCE = {"", "v1", "nodes", 0};
static const struct krc_resource LEASE_RESOURCE = {"coordination.k8s.io", "v1", "leases", 1};

#define LEASE_NAMESPACE  "kube-node-lease"
#define LEASE_DURATION_S 40
#define HEARTBEAT_S      10

static json_t *resources(struct krc_agent *a)
{
    char cpu[32], mem[32];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    snprintf(cpu, sizeof(cpu), "%ld", ncpu > 0 ? ncpu : 1);
    snprintf(mem, sizeof(mem), "%lldKi", pages * psz / 1024);
    json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "cpu", a->cfg.cpu ? a->cfg.cpu : cpu, "memory",
                          a->cfg.memory ? a->cfg.memory : mem, "pods",
                          a->cfg.pods ? a->cfg.pods : "110", "ephemeral-storage", "100Gi");
    for (int i = 0; r && i < a->cfg.n_ext; i++)
        json_object_set_new(r, a->cfg.ext_name[i], json_string(a->cfg.ext_value[i]));
    return r;
}

static json_t *ready_condition(int ready)
{
    char now[64];
    krc_agent_time(now, sizeof(now), krc_agent_now(), 0);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "Ready", "status",
                     ready ? "True" : "False", "reason", ready ? "KubeletReady" : "KubeletNotReady",
                     "message",
                     ready ? "kuberay-node is posting ready status" : "kuberay-node stopped",
                     "lastHeartbeatTime", now, "lastTransitionTime", now);
}

static int patch_status(struct krc_agent *a, int ready, int full, struct krc_error *err)
{
    struct utsname u;
    uname(&u);
    json_t *status = json_object();
    json_object_set_new(status, "conditions", json_pack("[o]", ready_condition(ready)));
    if (full) {
        json_object_set_new(status, "capacity", resources(a));
        json_object_set_new(status, "allocatable", resources(a));
        json_object_set_new(status, "addresses",
                            json_pack("[{s:s,s:s}]", "type", "InternalIP", "address", a->gateway));
        if (a->cfg.kubelet_port)
            json_object_set_new(
                status, "daemonEndpoints",
                json_pack("{s:{s:i}}", "kubeletEndpoint", "Port", a->cfg.kubelet_port));
        json_object_set_new(status, "nodeInfo",
                            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "machineID", "",
                                      "systemUUID", "", "bootID", "", "kernelVersion", u.release,
                                      "osImage", "kuberay-node", "containerRuntimeVersion",
                                      "kuberay-node://0.1", "kubeletVersion", "v1.35.4-krc",
                                      "kubeProxyVersion", "", "operatingSystem", "linux",
                                      "architecture", "amd64"));
    }
    json_t *doc = json_pack("{s:o}", "status", status);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!body)
        return krc_error_set(err, KRC_ENOMEM, "node status: out of memory");
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int rc = krc_client_patch(a->client, &NODE_RESOURCE, NULL, a->cfg.node_name, "status",
                              KRC_PATCH_STRATEGIC, body, strlen(body), NULL, &out, err);
    krc_strbuf_release(&out);
    free(body);
    return rc;
}

int krc_nodestatus_set_ready(struct krc_agent *a, int ready, struct krc_error *err)
{
    return patch_status(a, ready, 0, err);
}

/* "k=v:Effect,k2:Effect" -> [{"key","value","effect"}]. */
static json_t *parse_taints(const char *spec)
{
    json_t *arr = json_array();
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", spec ? spec : "");
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(t, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *eq = strchr(t, '=');
        if (eq)
            *eq = '\0';
        json_t *taint = json_pack("{s:s,s:s}", "key", t, "effect", colon + 1);
        if (eq)
            json_object_set_new(taint, "value", json_string(eq + 1));
        json_array_append_new(arr, taint);
    }
    return arr;
}

int krc_nodestatus_register(struct krc_agent *a, struct krc_error *err)
{
    json_t *labels = json_pack("{s:s,s:s,s:s}", "kubernetes.io/hostname", a->cfg.node_name,
                               "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64");
    for (int i = 0; i < a->cfg.n_labels; i++)
        json_object_set_new(labels, a->cfg.label_key[i], json_string(a->cfg.label_value[i]));
    json_t *taints = parse_taints(a->cfg.taints);
    json_t *node =
        json_pack("{s:s,s:s,s:{s:s,s:O},s:{s:O}}", "apiVersion", "v1", "kind", "Node", "metadata",
                  "name", a->cfg.node_name, "labels", labels, "spec", "taints", taints);
    json_t *patch =
        json_pack("{s:{s:o},s:{s:o}}", "metadata", "labels", labels, "spec", "taints", taints);
    char *body = json_dumps(node, JSON_COMPACT), *pbody = json_dumps(patch, JSON_COMPACT);
    json_decref(node);
    json_decref(patch);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int rc = KRC_ENOMEM;
    if (!body || !pbody) {
        krc_error_set(err, rc, "node %s: out of memory", a->cfg.node_name);
        goto out;
    }
    rc = krc_client_create(a->client, &NODE_RESOURCE, NULL, body, strlen(body), NULL, &out, err);
    if (rc == KRC_EEXIST) {
        krc_strbuf_reset(&out);
        rc = krc_client_patch(a->client, &NODE_RESOURCE, NULL, a->cfg.node_name, NULL,
                              KRC_PATCH_MERGE, pbody, strlen(pbody), NULL, &out, err);
    }
    if (rc == 0)
        rc = patch_status(a, 1, 1, err);
out:
    krc_strbuf_release(&out);
    free(body);
    free(pbody);
    return rc;
}

static int renew_lease(struct krc_agent *a, struct krc_error *err)
{
    char now[64];
    krc_agent_time(now, sizeof(now), krc_agent_now(), 1);
    json_t *doc = json_pack("{s:{s:s}}", "spec", "renewTime", now);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int rc = krc_client_patch(a->client, &LEASE_RESOURCE, LEASE_NAMESPACE, a->cfg.node_name, NULL,
                              KRC_PATCH_MERGE, body, strlen(body), NULL, &out, err);
    free(body);
    if (rc == KRC_ENOTFOUND) {
        json_t *lease = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:i,s:s,s:s}}", "apiVersion",
                                  "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name",
                                  a->cfg.node_name, "namespace", LEASE_NAMESPACE, "spec",
                                  "holderIdentity", a->cfg.node_name, "leaseDurationSeconds",
                                  LEASE_DURATION_S, "acquireTime", now, "renewTime", now);
        body = json_dumps(lease, JSON_COMPACT);
        json_decref(lease);
        krc_strbuf_reset(&out);
        rc = krc_client_create(a->client, &LEASE_RESOURCE, LEASE_NAMESPACE, body, strlen(body),
                               NULL, &out, err);
        free(body);
    }
    krc_strbuf_release(&out);
    return rc;
}

/* Beats every HEARTBEAT_S, sleeping on the agent's stop condition in between (krc_agent_stop
 * ends the sleep at once, so shutdown does not wait for the next beat). */
void *krc_nodestatus_heartbeat_thread(void *arg)
{
    struct krc_agent *a = arg;
    while (!krc_agent_stopping(a)) {
        struct krc_error err = {0};
        if (renew_lease(a, &err) != 0)
            KRC_LOG_WARN("lease renewal failed", "node", a->cfg.node_name, "error", err.msg);
        int rc = patch_status(a, 1, 0, &err);
        if (rc == KRC_ENOTFOUND) /* the Node was deleted: register it again */
            rc = krc_nodestatus_register(a, &err);
        if (rc != 0)
            KRC_LOG_WARN("node status update failed", "node", a->cfg.node_name, "error", err.msg);
        krc_agent_sleep(a, HEARTBEAT_S * 1000);
    }
    return NULL;
}
