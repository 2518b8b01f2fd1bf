/* raycluster_apply.c - the children a RayCluster reconcile creates and deletes: the autoscaler's
 * ServiceAccount, Role and RoleBinding (§8.5), the dashboard Ingress (§8.4; not the OpenShift
 * Route), the token-auth Secret (§8.7), the head Service (§8.1) and the pods of the plan of
 * raycluster_scale.h (§6.3-6.9), with KubeRay's Events and the scale expectations.
 *
 * _GNU_SOURCE for random(). */
#define _GNU_SOURCE
#include "controller/raycluster_controller_internal.h"

#include "api/kobj.h"
#include "controller/raycluster_auth.h"
#include "controller/raycluster_batch.h"
#include "controller/raycluster_hash.h"
#include "controller/raycluster_ingress.h"
#include "controller/raycluster_names.h"
#include "controller/raycluster_pod.h"
#include "controller/raycluster_rbac.h"
#include "controller/raycluster_scale.h"
#include "controller/raycluster_service.h"
#include "controller/raypod.h"
#include "util/log.h"
#include "util/wipe.h"

#include <errno.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- sub-reconcilers ------------------------------------------------------------------------ */

/* Creates obj (consumed) unless an object of its name exists; never updates (KubeRay). */
static int ensure_created(struct raycluster_controller *c, const struct raycluster *rc,
                          const struct krc_resource *res, json_t *obj, const char *what,
                          const char *ok_reason, const char *fail_reason, struct krc_error *err)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    char *body = NULL;
    const char *name = kobj_path_str(obj, "metadata.name");
    int r = krc_client_get(c->o.client, res, rc->meta.ns, name ? name : "", &out, err);
    if (r != KRC_ENOTFOUND)
        goto out;
    if (!(body = json_dumps(obj, JSON_COMPACT))) {
        r = krc_error_set(err, KRC_ENOMEM, "serialize %s: out of memory", what);
        goto out;
    }
    r = krc_client_create(c->o.client, res, rc->meta.ns, body, strlen(body), NULL, &out, err);
    if (r == KRC_EEXIST) {
        r = 0;
    } else if (r) {
        EVENT(c, rc, KRC_EVENT_WARNING, fail_reason, "Create", "Failed creating %s %s/%s, %s", what,
              rc->meta.ns, name, err->msg);
    } else {
        EVENT(c, rc, KRC_EVENT_NORMAL, ok_reason, "Create", "Created %s %s/%s", what, rc->meta.ns,
              name);
    }
out:
    free(body);
    krc_strbuf_release(&out);
    json_decref(obj);
    return r;
}

int raycluster_ctrl_reconcile_rbac(struct raycluster_controller *c, const struct raycluster *rc,
                                   struct krc_error *err)
{
    json_t *obj = NULL;
    int r;
    if (!raycluster_autoscaling_enabled(rc))
        return 0;
    if (!raycluster_autoscaler_sa_is_user_provided(rc)) {
        if ((r = raycluster_build_autoscaler_sa(rc, &obj, err)) ||
            (r = ensure_created(c, rc, &RES_SA, obj, "service account", "CreatedServiceAccount",
                                "FailedToCreateServiceAccount", err)))
            return r;
    }
    if ((r = raycluster_build_autoscaler_role(rc, &obj, err)) ||
        (r = ensure_created(c, rc, &RES_ROLE, obj, "role", "CreatedRole", "FailedToCreateRole",
                            err)))
        return r;
    if ((r = raycluster_build_autoscaler_rolebinding(rc, &obj, err)) ||
        (r = ensure_created(c, rc, &RES_ROLEBINDING, obj, "role binding", "CreatedRoleBinding",
                            "FailedToCreateRoleBinding", err)))
        return r;
    return 0;
}

static bool labels_match(json_t *selector, const json_t *labels)
{
    const char *k;
    json_t *v;
    json_object_foreach(selector, k, v)
    {
        const char *have = kobj_map_get(labels, k);
        if (!have || strcmp(have, json_string_value(v)) != 0)
            return false;
    }
    return true;
}

json_t *raycluster_ctrl_head_services(struct nsset *set, const struct raycluster *rc,
                                      struct krc_error *err)
{
    json_t *all =
        raycluster_ctrl_children(krc_informer_store(set->svcs), rc->meta.ns, rc->meta.name, "v1",
                                 "Service", SVC_PATHS, NPATHS(SVC_PATHS), err);
    json_t *sel = raycluster_head_service_selector(rc), *out = json_array();
    size_t i;
    json_t *s;
    if (!all || !sel || !out)
        goto err;
    json_array_foreach(all, i, s)
    {
        if (labels_match(sel, kobj_path(s, "metadata.labels")) && json_array_append(out, s))
            goto err;
    }
    json_decref(all);
    json_decref(sel);
    return out;
err:
    json_decref(all);
    json_decref(sel);
    json_decref(out);
    if (!err->code)
        krc_error_set(err, KRC_ENOMEM, "head services of %s/%s: out of memory", rc->meta.ns,
                      rc->meta.name);
    return NULL;
}

/* ---- Ingress (§8.4) and auth Secret (§8.7) ------------------------------------------------ */

#define AUTH_TOKEN_BYTES 32 /* standard base64: 44 characters */

static const struct krc_resource RES_INGRESS = {"networking.k8s.io", "v1", "ingresses", 1};
static const struct krc_resource RES_SECRET = {"", "v1", "secrets", 1};

static bool controlled_by(const json_t *obj, const struct raycluster *rc)
{
    size_t i;
    json_t *ref;
    json_array_foreach(kobj_path(obj, "metadata.ownerReferences"), i, ref)
    {
        const char *uid = kobj_str(ref, "uid");
        if (json_is_true(json_object_get(ref, "controller")) && uid && rc->meta.uid &&
            strcmp(uid, rc->meta.uid) == 0)
            return true;
    }
    return false;
}

/* Equality of two string maps where absent and empty are the same (Go's maps.Equal on nil). */
static bool maps_equal(json_t *a, json_t *b)
{
    if (json_object_size(a) == 0 && json_object_size(b) == 0)
        return true;
    return json_equal(a, b);
}

/* Sets live[key] to a copy of desired[key] (removing it when desired has none). */
static int copy_member(json_t *live, const json_t *desired, const char *key)
{
    json_t *v = json_object_get(desired, key);
    if (!v)
        return json_object_del(live, key), 0;
    return json_object_set_new(live, key, json_deep_copy(v)) ? KRC_ENOMEM : 0;
}

static int update_ingress(struct raycluster_controller *c, const struct raycluster *rc,
                          json_t *live, json_t *desired, struct krc_error *err)
{
    json_t *lm = kobj_ensure_obj(live, "metadata"), *dm = json_object_get(desired, "metadata");
    json_t *ls = json_object_get(live, "spec"), *ds = json_object_get(desired, "spec");
    const char *name = kobj_path_str(live, "metadata.name");
    bool changed = false;
    int r = 0;
    if (!lm || !ds)
        return krc_error_set(err, KRC_ENOMEM, "ingress of %s/%s: out of memory", rc->meta.ns,
                             rc->meta.name);
    if (!maps_equal(json_object_get(lm, "labels"), json_object_get(dm, "labels"))) {
        changed = true;
        r = copy_member(lm, dm, "labels");
    }
    if (!r && !maps_equal(json_object_get(lm, "annotations"), json_object_get(dm, "annotations"))) {
        changed = true;
        r = copy_member(lm, dm, "annotations");
    }
    /* No class wanted: adopt the live one (e.g. set by the DefaultIngressClass admission). */
    json_t *live_class = json_object_get(ls, "ingressClassName");
    if (!r && !json_object_get(ds, "ingressClassName") && live_class)
        r = json_object_set(ds, "ingressClassName", live_class) ? KRC_ENOMEM : 0;
    if (!r && !json_equal(ls, ds)) {
        changed = true;
        r = copy_member(live, desired, "spec");
    }
    if (r)
        return krc_error_set(err, KRC_ENOMEM, "ingress of %s/%s: out of memory", rc->meta.ns,
                             rc->meta.name);
    if (!changed)
        return 0;
    char *body = json_dumps(live, JSON_COMPACT);
    if (!body)
        return krc_error_set(err, KRC_ENOMEM, "serialize ingress: out of memory");
    r = krc_client_update(c->o.client, &RES_INGRESS, rc->meta.ns, name ? name : "", body,
                          strlen(body), NULL, NULL, err);
    free(body);
    if (r) {
        EVENT(c, rc, KRC_EVENT_WARNING, "FailedToUpdateIngress", "Update",
              "Failed updating ingress %s/%s, %s", rc->meta.ns, name ? name : "", err->msg);
        return r;
    }
    EVENT(c, rc, KRC_EVENT_NORMAL, "UpdatedIngress", "Update", "Updated ingress %s/%s", rc->meta.ns,
          name ? name : "");
    return 0;
}

int raycluster_ctrl_reconcile_ingress(struct raycluster_controller *c, const struct raycluster *rc,
                                      struct krc_error *err)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *desired = NULL, *live = NULL;
    char *body = NULL;
    int r;
    if (!raycluster_wants_ingress(rc))
        return 0;
    if ((r = raycluster_build_ingress(rc, &desired, err)))
        return r;
    const char *name = kobj_path_str(desired, "metadata.name");
    r = krc_client_get(c->o.client, &RES_INGRESS, rc->meta.ns, name ? name : "", &out, err);
    if (r == KRC_ENOTFOUND) {
        if (!(body = json_dumps(desired, JSON_COMPACT))) {
            r = krc_error_set(err, KRC_ENOMEM, "serialize ingress: out of memory");
            goto out;
        }
        krc_strbuf_reset(&out);
        r = krc_client_create(c->o.client, &RES_INGRESS, rc->meta.ns, body, strlen(body), NULL,
                              &out, err);
        if (r == KRC_EEXIST) {
            r = 0;
        } else if (r) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToCreateIngress", "Create",
                  "Failed creating ingress %s/%s, %s", rc->meta.ns, name ? name : "", err->msg);
        } else {
            EVENT(c, rc, KRC_EVENT_NORMAL, "CreatedIngress", "Create", "Created ingress %s/%s",
                  rc->meta.ns, name ? name : "");
        }
        goto out;
    }
    if (r || (r = krc_client_parse_json(&out, &live, err)))
        goto out;
    if (!controlled_by(live, rc)) {
        EVENT(c, rc, KRC_EVENT_WARNING, "FailedToCreateIngress", "Create",
              "Ingress %s/%s already exists and is not owned by this RayCluster; not modifying it",
              rc->meta.ns, name ? name : "");
        goto out;
    }
    r = update_ingress(c, rc, live, desired, err);
out:
    free(body);
    json_decref(live);
    json_decref(desired);
    krc_strbuf_release(&out);
    return r;
}

int raycluster_ctrl_reconcile_auth_secret(struct raycluster_controller *c,
                                          const struct raycluster *rc, struct krc_error *err)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    unsigned char raw[AUTH_TOKEN_BYTES];
    char token[4 * ((AUTH_TOKEN_BYTES + 2) / 3) + 1], name[RAYNAME_MAX];
    json_t *secret = NULL;
    char *body = NULL;
    int r;
    if (!raycluster_wants_auth_secret(rc))
        return 0;
    rayname_check_name(rc->meta.name, name);
    r = krc_client_get(c->o.client, &RES_SECRET, rc->meta.ns, name, &out, err);
    if (r != KRC_ENOTFOUND)
        goto out; /* exists (never rotated), or a read error */
    /* The kernel's CSPRNG; a short read only happens for requests over 256 bytes. */
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        r = krc_error_set(err, KRC_EIO, "auth token for %s/%s: no random bytes: %s", rc->meta.ns,
                          rc->meta.name, strerror(errno));
        goto out;
    }
    base64_encode_raw(token, sizeof(raw), raw);
    token[BASE64_ENCODE_RAW_LENGTH(sizeof(raw))] = '\0';
    if ((r = raycluster_build_auth_secret(rc, token, &secret, err)))
        goto out;
    if (!(body = json_dumps(secret, JSON_COMPACT))) {
        r = krc_error_set(err, KRC_ENOMEM, "serialize auth secret: out of memory");
        goto out;
    }
    krc_strbuf_reset(&out);
    r = krc_client_create(c->o.client, &RES_SECRET, rc->meta.ns, body, strlen(body), NULL, &out,
                          err);
    if (r == KRC_EEXIST)
        r = 0;
out:
    krc_wipe(raw, sizeof(raw));
    krc_wipe(token, sizeof(token));
    krc_wipe_str(body);
    free(body);
    json_decref(secret); /* holds the token too; freed with it */
    krc_strbuf_release(&out);
    return r;
}

int raycluster_ctrl_reconcile_head_service(struct raycluster_controller *c, struct nsset *set,
                                           const struct raycluster *rc, struct krc_error *err)
{
    json_t *have = raycluster_ctrl_head_services(set, rc, err), *svc = NULL;
    char *body = NULL;
    struct krc_strbuf out = KRC_STRBUF_INIT;
    int r;
    if (!have)
        return err->code;
    if (json_array_size(have) > 0) {
        r = 0;
        goto out;
    }
    if ((r = raycluster_build_head_service(rc, &c->o.build, &svc, err)))
        goto out;
    if (!(body = json_dumps(svc, JSON_COMPACT))) {
        r = krc_error_set(err, KRC_ENOMEM, "serialize head service: out of memory");
        goto out;
    }
    const char *name = kobj_path_str(svc, "metadata.name");
    r = krc_client_create(c->o.client, &RES_SERVICE, rc->meta.ns, body, strlen(body), NULL, &out,
                          err);
    if (r == KRC_EEXIST) {
        r = 0; /* our cache is behind; the next reconcile sees it */
    } else if (r) {
        EVENT(c, rc, KRC_EVENT_WARNING, "FailedToCreateService", "Create",
              "Failed creating service %s/%s, %s", rc->meta.ns, name, err->msg);
    } else {
        EVENT(c, rc, KRC_EVENT_NORMAL, "CreatedService", "Create", "Created service %s/%s",
              rc->meta.ns, name);
    }
out:
    free(body);
    krc_strbuf_release(&out);
    json_decref(svc);
    json_decref(have);
    return r;
}

/* ---- pods ------------------------------------------------------------------------------------ */

static int pod_lookup(void *ctx, const char *ns, const char *pod)
{
    struct krc_object *o = krc_store_get(ctx, ns, pod);
    krc_object_unref(o);
    return o != NULL;
}

static void random_suffix(char out[6], void *arg)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    (void)arg;
    for (int i = 0; i < 5; i++)
        out[i] = alphabet[random() % (sizeof(alphabet) - 1)];
    out[5] = '\0';
}

static const json_t *find_pod(const json_t *pods, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (strcmp(raypod_name(p), name) == 0)
            return p;
    }
    return NULL;
}

/* "Pod status: <phase>; Pod restart policy: <policy>; Ray container terminated status: <s>". */
static void pod_state_text(const json_t *pod, char *buf, size_t size)
{
    struct krc_strbuf t = KRC_STRBUF_INIT;
    if (!pod || raypod_terminated_text(pod, &t))
        krc_strbuf_reset(&t);
    snprintf(buf, size,
             "Pod status: %s; Pod restart policy: %s; Ray container terminated status: %s",
             pod ? raypod_phase(pod) : "", pod ? raypod_restart_policy(pod) : "",
             t.len ? t.buf : "<nil>");
    krc_strbuf_release(&t);
}

int raycluster_ctrl_delete_pods(struct raycluster_controller *c, const char *ns,
                                const char *selector, struct krc_error *err)
{
    struct krc_strbuf q = KRC_STRBUF_INIT, out = KRC_STRBUF_INIT;
    int r = krc_query_add(&q, "labelSelector", selector);
    if (!r) {
        struct krc_request req = {.method = "DELETE", .res = &RES_POD, .ns = ns, .query = q.buf};
        r = krc_client_do(c->o.client, &req, &out, err);
    } else {
        krc_error_set(err, r, "delete pods in %s: cannot build the query", ns);
    }
    krc_strbuf_release(&q);
    krc_strbuf_release(&out);
    return r;
}

static bool any_live_pod(const json_t *pods, const char *group)
{
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *g = raypod_label(p, RAY_LABEL_GROUP);
        if (!raypod_is_terminating(p) && (!group || (g && strcmp(g, group) == 0)))
            return true;
    }
    return false;
}

static int create_pod(struct raycluster_controller *c, const struct raycluster *rc, json_t *pod,
                      char *name, size_t size, struct krc_error *err)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    json_t *resp = NULL;
    char *body = json_dumps(pod, JSON_COMPACT);
    int r;
    if (!body) {
        r = krc_error_set(err, KRC_ENOMEM, "serialize pod: out of memory");
        goto out;
    }
    if ((r = krc_client_create(c->o.client, &RES_POD, rc->meta.ns, body, strlen(body), NULL, &out,
                               err)))
        goto out;
    if ((r = krc_client_parse_json(&out, &resp, err)))
        goto out;
    const char *n = kobj_path_str(resp, "metadata.name");
    snprintf(name, size, "%s", n ? n : "");
out:
    json_decref(resp);
    free(body);
    krc_strbuf_release(&out);
    return r;
}

static int delete_pod(struct raycluster_controller *c, const char *ns, const char *name,
                      struct krc_error *err)
{
    return krc_client_delete(c->o.client, &RES_POD, ns, name, NULL, NULL, err);
}

struct pod_ctx {
    struct raycluster_controller *c;
    const struct raycluster *rc;
    const json_t *pods;
    const char *hash;
    struct raycluster_reconcile_result *res;
    char *msg; /* buffer of res->message */
    size_t msg_size;
    bool more; /* stopped when the time budget ran out (raycluster_batch.h); the rest is for the
                  next turn */
};

static const char *group_name(const struct raycluster *rc, long g)
{
    return g < 0 ? "" : rc->spec.workers[g].group_name;
}

static int fail_replica(struct pod_ctx *p, const struct raycluster_action *a,
                        const struct krc_error *e)
{
    p->res->outcome = RAYCLUSTER_OUTCOME_REPLICA_FAILURE;
    p->res->failure_reason = a->failure_reason;
    snprintf(p->msg, p->msg_size, "%s\n%s", a->failure_reason ? a->failure_reason : "", e->msg);
    p->res->message = p->msg;
    return e->code ? e->code : KRC_EIO;
}

static int exec_delete_worker(struct pod_ctx *p, const struct raycluster_action *a,
                              struct krc_error *err)
{
    struct raycluster_controller *c = p->c;
    const struct raycluster *rc = p->rc;
    const char *ns = rc->meta.ns, *g = group_name(rc, a->group);
    char state[512];
    int r = delete_pod(c, ns, a->pod_name, err);
    switch (a->cause) {
    case RAYCLUSTER_DELETE_WORKERS_TO_DELETE:
        if (r == KRC_ENOTFOUND)
            return 0;
        if (r) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteWorkerPod", "Delete",
                  "Failed deleting pod %s/%s, %s", ns, a->pod_name, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedWorkerPod", "Delete", "Deleted pod %s/%s", ns,
              a->pod_name);
        break;
    case RAYCLUSTER_DELETE_SCALE_DOWN:
        if (r && r != KRC_ENOTFOUND) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteWorkerPod", "Delete",
                  "Failed deleting Pod %s/%s, %s", ns, a->pod_name, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedWorkerPod", "Delete", "Deleted Pod %s/%s", ns,
              a->pod_name);
        break;
    case RAYCLUSTER_DELETE_MULTIHOST:
        if (r == KRC_ENOTFOUND)
            return 0;
        pod_state_text(find_pod(p->pods, a->pod_name), state, sizeof(state));
        if (r) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteWorkerPod", "Delete",
                  "Failed deleting worker Pod %s/%s for group %s; %s, %s", ns, a->pod_name, g,
                  state, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedWorkerPod", "Delete",
              "Deleted worker Pod %s/%s for group %s: %s", ns, a->pod_name, g,
              a->reason ? a->reason : "");
        break;
    default: /* unhealthy: NotFound is a failure, as in KubeRay */
        pod_state_text(find_pod(p->pods, a->pod_name), state, sizeof(state));
        if (r) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteWorkerPod", "Delete",
                  "Failed deleting worker Pod %s/%s; %s, %s", ns, a->pod_name, state, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedWorkerPod", "Delete", "Deleted worker Pod %s/%s; %s",
              ns, a->pod_name, state);
        break;
    }
    if (raycluster_expect_record(c->expect, ns, rc->meta.name, g, a->pod_name,
                                 RAYCLUSTER_EXPECT_DELETE, raycluster_ctrl_mono_now()))
        KRC_LOG_WARN("cannot record a delete expectation", "pod", a->pod_name);
    return 0;
}

static int exec_action(struct pod_ctx *p, const struct raycluster_action *a, struct krc_error *err)
{
    struct raycluster_controller *c = p->c;
    const struct raycluster *rc = p->rc;
    const char *ns = rc->meta.ns, *name = rc->meta.name;
    char sel[RAYNAME_MAX + 128], pod_name[RAYNAME_MAX], state[512];
    json_t *pod = NULL;
    int r = 0;
    switch (a->kind) {
    case RAYCLUSTER_ACT_DELETE_ALL_PODS: {
        bool recreate = a->cause == RAYCLUSTER_DELETE_RECREATE;
        snprintf(sel, sizeof(sel), "%s=%s", RAY_LABEL_CLUSTER, name);
        if (any_live_pod(p->pods, NULL) && (r = raycluster_ctrl_delete_pods(c, ns, sel, err))) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeletePodCollection", "Delete",
                  recreate ? "Failed deleting Pods due to spec change with Recreate "
                             "upgradeStrategy for RayCluster %s/%s, %s"
                           : "Failed deleting Pods due to suspension for RayCluster %s/%s, %s",
                  ns, name, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedPod", "Delete",
              recreate ? "Deleted all Pods for RayCluster %s/%s due to spec change with Recreate "
                         "upgradeStrategy"
                       : "Deleted Pods for RayCluster %s/%s due to suspension",
              ns, name);
        if (a->drop_expectations)
            raycluster_expect_drop_cluster(c->expect, ns, name);
        break;
    }
    case RAYCLUSTER_ACT_UPDATE_HEAD_STAMP: {
        char patch[512];
        snprintf(patch, sizeof(patch),
                 "{\"metadata\":{\"annotations\":{\"%s\":\"%s\",\"%s\":\"%s\"}}}",
                 RAY_ANNOTATION_KUBERAY_VERSION, c->o.build.kuberay_version,
                 RAY_ANNOTATION_RECREATE_HASH, p->hash);
        struct krc_error e2 = {0};
        if (krc_client_patch(c->o.client, &RES_POD, ns, a->pod_name, NULL, KRC_PATCH_MERGE, patch,
                             strlen(patch), NULL, NULL, &e2))
            KRC_LOG_WARN("cannot re-stamp the head pod", "error", e2.msg);
        break;
    }
    case RAYCLUSTER_ACT_DELETE_HEAD_POD:
        pod_state_text(find_pod(p->pods, a->pod_name), state, sizeof(state));
        if ((r = delete_pod(c, ns, a->pod_name, err))) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteHeadPod", "Delete",
                  "Failed deleting head Pod %s/%s; %s, %s", ns, a->pod_name, state, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedHeadPod", "Delete", "Deleted head Pod %s/%s; %s", ns,
              a->pod_name, state);
        if (raycluster_expect_record(c->expect, ns, name, "", a->pod_name, RAYCLUSTER_EXPECT_DELETE,
                                     raycluster_ctrl_mono_now()))
            KRC_LOG_WARN("cannot record a delete expectation", "pod", a->pod_name);
        break;
    case RAYCLUSTER_ACT_CREATE_HEAD_POD:
        if ((r = raycluster_build_head_pod(rc, &c->o.build, p->hash, &pod, err)))
            return fail_replica(p, a, err);
        if ((r = create_pod(c, rc, pod, pod_name, sizeof(pod_name), err))) {
            const char *n = kobj_path_str(pod, "metadata.name");
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToCreateHeadPod", "Create",
                  "Failed to create head Pod %s/%s, %s", ns, n ? n : "", err->msg);
            json_decref(pod);
            return fail_replica(p, a, err);
        }
        json_decref(pod);
        if (raycluster_expect_record(c->expect, ns, name, "", pod_name, RAYCLUSTER_EXPECT_CREATE,
                                     raycluster_ctrl_mono_now()))
            KRC_LOG_WARN("cannot record a create expectation", "pod", pod_name);
        EVENT(c, rc, KRC_EVENT_NORMAL, "CreatedHeadPod", "Create", "Created head Pod %s/%s", ns,
              pod_name);
        break;
    case RAYCLUSTER_ACT_DELETE_GROUP_PODS: {
        const char *g = group_name(rc, a->group);
        snprintf(sel, sizeof(sel), "%s=%s,%s=%s", RAY_LABEL_CLUSTER, name, RAY_LABEL_GROUP, g);
        if (any_live_pod(p->pods, g) && (r = raycluster_ctrl_delete_pods(c, ns, sel, err))) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToDeleteWorkerPodCollection", "Delete",
                  "Failed deleting worker Pods for suspended group %s in RayCluster %s/%s, %s", g,
                  ns, name, err->msg);
            return fail_replica(p, a, err);
        }
        EVENT(c, rc, KRC_EVENT_NORMAL, "DeletedWorkerPod", "Delete",
              "Deleted all pods for suspended worker group %s in RayCluster %s/%s", g, ns, name);
        break;
    }
    case RAYCLUSTER_ACT_DELETE_WORKER_POD:
        if ((r = exec_delete_worker(p, a, err)))
            return r;
        break;
    case RAYCLUSTER_ACT_CREATE_WORKER_POD: {
        struct raycluster_worker_slot slot = a->slot;
        slot.replica_name = a->replica_name[0] ? a->replica_name : NULL;
        if ((r = raycluster_build_worker_pod(rc, &c->o.build, (size_t)a->group, &slot, &pod, err)))
            return fail_replica(p, a, err);
        r = create_pod(c, rc, pod, pod_name, sizeof(pod_name), err);
        json_decref(pod);
        if (r) {
            EVENT(c, rc, KRC_EVENT_WARNING, "FailedToCreateWorkerPod", "Create",
                  "Failed to create worker Pod for the cluster %s/%s, %s", ns, name, err->msg);
            return fail_replica(p, a, err);
        }
        if (raycluster_expect_record(c->expect, ns, name, group_name(rc, a->group), pod_name,
                                     RAYCLUSTER_EXPECT_CREATE, raycluster_ctrl_mono_now()))
            KRC_LOG_WARN("cannot record a create expectation", "pod", pod_name);
        EVENT(c, rc, KRC_EVENT_NORMAL, "CreatedWorkerPod", "Create", "Created worker Pod %s/%s", ns,
              pod_name);
        break;
    }
    case RAYCLUSTER_ACT_FAIL:
        p->res->outcome = RAYCLUSTER_OUTCOME_OTHER_ERROR;
        snprintf(p->msg, p->msg_size, "%s", a->reason ? a->reason : "");
        p->res->message = p->msg;
        return krc_error_set(err, KRC_EINVAL, "%s", p->msg);
    }
    if (a->then_fail) {
        p->res->outcome = RAYCLUSTER_OUTCOME_OTHER_ERROR;
        snprintf(p->msg, p->msg_size, "%s", a->reason ? a->reason : "");
        p->res->message = p->msg;
        return krc_error_set(err, KRC_EINVAL, "%s", p->msg);
    }
    return 0;
}

static int reconcile_pods(struct raycluster_controller *c, struct nsset *set,
                          const struct raycluster *rc, struct pod_ctx *p, json_t **pods_out,
                          struct krc_error *err)
{
    struct krc_store *pods_store = krc_informer_store(set->pods);
    struct raycluster_plan plan = {0};
    char hash[RAYCLUSTER_HASH_LEN + 1];
    bool *sat = NULL;
    json_t *pods = NULL;
    int r;
    int64_t now = raycluster_ctrl_mono_now();
    if ((r = raycluster_spec_hash(rc, hash))) {
        krc_error_set(err, r, "hash the spec of %s/%s", rc->meta.ns, rc->meta.name);
        goto out;
    }
    if (!(pods = raycluster_ctrl_pods(set, rc, err))) {
        r = err->code;
        goto out;
    }
    if (rc->spec.n_workers && !(sat = calloc(rc->spec.n_workers, sizeof(*sat)))) {
        r = krc_error_set(err, KRC_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t g = 0; g < rc->spec.n_workers; g++)
        sat[g] = raycluster_expect_satisfied(c->expect, rc->meta.ns, rc->meta.name,
                                             rc->spec.workers[g].group_name, pod_lookup, pods_store,
                                             now);
    struct raycluster_scale_input in = {
        .pods = pods,
        .head_expectations_satisfied = raycluster_expect_satisfied(
            c->expect, rc->meta.ns, rc->meta.name, "", pod_lookup, pods_store, now),
        .group_expectations_satisfied = sat,
        .spec_hash = hash,
        .random_suffix = random_suffix,
    };
    if ((r = raycluster_plan_pods(rc, &c->o.build, &in, &plan, err)))
        goto out;
    p->pods = pods;
    p->hash = hash;
    /* The budget counts from here, not from the planning above: every turn gets its full
     * budget for creates, however many pods the cluster's listing held. */
    int64_t started = raycluster_ctrl_mono_now();
    for (size_t i = 0; i < plan.n; i++) {
        if ((r = exec_action(p, &plan.actions[i], err)))
            break;
        bool waiting = c->queue && krc_workqueue_len(c->queue) > 0;
        if (raycluster_batch_yield(&plan, i, started, raycluster_ctrl_mono_now(),
                                   RAYCLUSTER_BATCH_BUDGET_NS, waiting)) {
            p->more = true;
            break;
        }
    }
out:
    if (!r && pods && plan.n == 0)
        *pods_out = json_incref(pods); /* nothing written: the status step reads these pods */
    raycluster_plan_free(&plan);
    free(sat);
    json_decref(pods);
    p->pods = NULL;
    p->hash = NULL;
    return r;
}

int raycluster_ctrl_reconcile_pods(struct raycluster_controller *c, struct nsset *set,
                                   const struct raycluster *rc,
                                   struct raycluster_reconcile_result *res, char *msg,
                                   size_t msg_size, bool *more, json_t **pods,
                                   struct krc_error *err)
{
    struct pod_ctx p = {c, rc, NULL, NULL, res, msg, msg_size, false};
    int r = reconcile_pods(c, set, rc, &p, pods, err);
    *more = p.more;
    return r;
}
