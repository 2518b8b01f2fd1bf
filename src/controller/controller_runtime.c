/* controller_runtime.c - what the RayCluster, RayJob and RayCronJob controllers share to run (see
 * controller_runtime.h): watched namespaces, informers, workers, work queue keys, reconcile
 * counters and Events. */
#include "controller/controller_runtime.h"

#include "api/kobj.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int controller_runtime_parse(const char *list, char ***ns, size_t *nns, struct krc_error *err)
{
    const char *w = list ? list : "";
    size_t cap = 1, n = 0;
    for (const char *p = w; *p; p++)
        cap += *p == ',';
    char **out = calloc(cap, sizeof(*out));
    char *copy = strdup(w);
    if (!out || !copy)
        goto oom;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        /* A namespace listed twice is watched once (KubeRay keys its caches by namespace). */
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(out[i], tok) == 0;
        if (*tok && !seen && !(out[n++] = strdup(tok)))
            goto oom;
    }
    free(copy);
    *ns = out;
    *nns = n ? n : 1; /* no entry: the one NULL entry, all namespaces */
    return 0;
oom:
    free(copy);
    controller_runtime_free_list(out, n);
    return krc_error_set(err, KRC_ENOMEM, "watch namespaces: out of memory");
}

void controller_runtime_free_list(char **ns, size_t nns)
{
    for (size_t i = 0; ns && i < nns; i++)
        free(ns[i]);
    free(ns);
}

int controller_runtime_init(struct controller_runtime *rt, const char *controller,
                            struct krc_client *client, struct krc_workqueue *queue,
                            const char *watch_namespaces, struct krc_error *err)
{
    memset(rt, 0, sizeof(*rt));
    rt->controller = controller;
    rt->client = client;
    rt->queue = queue;
    if (controller_runtime_parse(watch_namespaces, &rt->ns, &rt->nns, err))
        return krc_error_set(err, KRC_ENOMEM, "%s controller: out of memory", controller);
    return 0;
}

long controller_runtime_find(const struct controller_runtime *rt, const char *ns)
{
    for (size_t i = 0; i < rt->nns; i++) {
        if (!rt->ns[i] || (ns && strcmp(rt->ns[i], ns) == 0))
            return (long)i;
    }
    return -1;
}

static int keep(struct controller_runtime *rt, size_t i, struct krc_informer *inf, bool borrowed,
                struct krc_error *err)
{
    if (rt->ncaches == rt->capcaches) {
        size_t cap = rt->capcaches ? 2 * rt->capcaches : 4;
        struct controller_runtime_cache *c = realloc(rt->caches, cap * sizeof(*c));
        if (!c)
            return krc_error_set(err, KRC_ENOMEM, "%s controller: out of memory", rt->controller);
        rt->caches = c;
        rt->capcaches = cap;
    }
    rt->caches[rt->ncaches++] = (struct controller_runtime_cache){inf, i, borrowed};
    return 0;
}

int controller_runtime_informer(struct controller_runtime *rt, size_t i,
                                struct krc_informer_options *opts,
                                const struct krc_informer_handlers *h, struct krc_informer **out,
                                struct krc_error *err)
{
    opts->namespace = rt->ns[i];
    int r = krc_informer_new(rt->client, opts, out, err);
    if (!r &&
        ((r = krc_informer_add_handlers(*out, h, err)) || (r = keep(rt, i, *out, false, err)))) {
        krc_informer_free(*out);
        *out = NULL;
    }
    return r;
}

int controller_runtime_borrow(struct controller_runtime *rt, size_t i, struct krc_informer *inf,
                              struct krc_error *err)
{
    return keep(rt, i, inf, true, err);
}

int controller_runtime_check_crd(const struct controller_runtime *rt,
                                 const struct krc_resource *res, const char *what, const char *crd,
                                 struct krc_error *err)
{
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_list_opts lo = {.limit = 1};
    int r = krc_client_list(rt->client, res, rt->ns[0], &lo, &out, err);
    krc_strbuf_release(&out);
    if (r == KRC_ENOTFOUND)
        return krc_error_set(err, r, "the %s CRD (%s) is not installed", what, crd);
    return r;
}

int controller_runtime_start(struct controller_runtime *rt, int workers,
                             krc_workqueue_reconcile_fn fn, void *ctx, struct krc_error *err)
{
    int r;
    for (size_t i = 0; i < rt->ncaches; i++) {
        if (!rt->caches[i].borrowed && (r = krc_informer_start(rt->caches[i].inf, err)))
            return r;
    }
    for (size_t i = 0; i < rt->ncaches; i++) {
        if ((r = krc_informer_wait_synced(rt->caches[i].inf,
                                          CONTROLLER_RUNTIME_CACHE_SYNC_TIMEOUT_MS))) {
            const char *ns = rt->ns[rt->caches[i].ns_index];
            return krc_error_set(err, r, "%s controller: caches of namespace %s did not sync: %s",
                                 rt->controller, ns ? ns : "(all)", krc_strerror(r));
        }
    }
    return krc_workqueue_start_workers(rt->queue, workers > 0 ? workers : 1, fn, ctx, &rt->workers,
                                       err);
}

void controller_runtime_stop(struct controller_runtime *rt)
{
    if (rt->workers) {
        krc_workqueue_abort_workers(rt->workers);
        rt->workers = NULL;
    } else if (rt->queue) {
        krc_workqueue_shutdown(rt->queue);
    }
    for (size_t i = 0; i < rt->ncaches; i++) {
        if (!rt->caches[i].borrowed)
            krc_informer_stop(rt->caches[i].inf);
    }
}

void controller_runtime_release(struct controller_runtime *rt)
{
    controller_runtime_stop(rt);
    for (size_t i = 0; i < rt->ncaches; i++) {
        if (!rt->caches[i].borrowed)
            krc_informer_free(rt->caches[i].inf);
    }
    free(rt->caches);
    controller_runtime_free_list(rt->ns, rt->nns);
    memset(rt, 0, sizeof(*rt));
}

bool controller_runtime_split_key(const char *key, char ns[CONTROLLER_RUNTIME_NAME_MAX],
                                  char name[CONTROLLER_RUNTIME_NAME_MAX])
{
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) >= CONTROLLER_RUNTIME_NAME_MAX ||
        strlen(slash + 1) >= CONTROLLER_RUNTIME_NAME_MAX)
        return false;
    memcpy(ns, key, (size_t)(slash - key));
    ns[slash - key] = '\0';
    memcpy(name, slash + 1, strlen(slash + 1) + 1);
    return true;
}

void controller_runtime_count(struct controller_runtime *rt, enum controller_runtime_result result)
{
    atomic_fetch_add(&rt->results[result], 1);
}

int controller_runtime_reconcile_total(struct controller_runtime *rt, bool help,
                                       struct krc_strbuf *out)
{
    int r = 0;
    if (help)
        r = krc_strbuf_addf(out, "# HELP controller_runtime_reconcile_total Total number of "
                                 "reconciliations per controller\n"
                                 "# TYPE controller_runtime_reconcile_total counter\n");
    if (!r)
        r = krc_strbuf_addf(
            out,
            "controller_runtime_reconcile_total{controller=\"%s\",result=\"success\"} %llu\n"
            "controller_runtime_reconcile_total{controller=\"%s\",result=\"error\"} %llu\n"
            "controller_runtime_reconcile_total{controller=\"%s\",result=\"requeue_after\"} "
            "%llu\n",
            rt->controller, atomic_load(&rt->results[CONTROLLER_RUNTIME_SUCCESS]), rt->controller,
            atomic_load(&rt->results[CONTROLLER_RUNTIME_ERROR]), rt->controller,
            atomic_load(&rt->results[CONTROLLER_RUNTIME_REQUEUE_AFTER]));
    return r;
}

void controller_runtime_eventv(struct krc_events *ev, const char *kind,
                               const struct json_field_objmeta *meta, enum krc_event_type type,
                               const char *reason, const char *action, const char *fmt, va_list ap)
{
    char note[KRC_EVENTS_NOTE_MAX];
    vsnprintf(note, sizeof(note), fmt, ap);
    KRC_LOG_INFO("event", "reason", reason, "namespace", meta->ns, "name", meta->name);
    if (!ev)
        return;
    struct krc_events_ref ref = {
        "ray.io/v1", kind, meta->ns, meta->name, meta->uid, meta->resource_version, NULL};
    (void)krc_events_record(ev, &ref, type, reason, action, "%s", note);
}

/* ---- cached objects back to documents ------------------------------------------------------- */

static int set_path_json(json_t *doc, const char *dotted, const struct krc_object *o, size_t i)
{
    json_t *v = NULL;
    char buf[128];
    if (krc_object_path_json(o, i, &v, NULL))
        return KRC_ENOMEM;
    if (!v)
        return 0;
    snprintf(buf, sizeof(buf), "%s", dotted);
    json_t *parent = doc;
    char *seg = buf, *dot;
    while ((dot = strchr(seg, '.'))) {
        *dot = '\0';
        if (!(parent = kobj_ensure_obj(parent, seg))) {
            json_decref(v);
            return KRC_ENOMEM;
        }
        seg = dot + 1;
    }
    return kobj_set_new(parent, seg, v);
}

static json_t *meta_doc(const struct krc_object *o)
{
    json_t *m = json_object(), *labels = json_object();
    if (!m || !labels || kobj_set_str(m, "name", krc_object_name(o)) ||
        kobj_set_str(m, "namespace", krc_object_namespace(o)) ||
        kobj_set_str(m, "uid", krc_object_uid(o)) ||
        kobj_set_str(m, "resourceVersion", krc_object_resource_version(o)) ||
        (krc_object_generation(o) &&
         kobj_set_new(m, "generation", json_integer(krc_object_generation(o)))) ||
        (krc_object_deletion_timestamp(o) &&
         kobj_set_str(m, "deletionTimestamp", krc_object_deletion_timestamp(o))))
        goto err;
    for (size_t i = 0; i < krc_object_label_count(o); i++) {
        const char *k, *v;
        if (krc_object_label_at(o, i, &k, &v) == 0 && kobj_set_str(labels, k, v))
            goto err;
    }
    if (kobj_set_new(m, "labels", labels)) { /* consumed labels */
        json_decref(m);
        return NULL;
    }
    return m;
err:
    json_decref(labels);
    json_decref(m);
    return NULL;
}

json_t *controller_runtime_object_doc(const struct krc_object *o, const char *api_version,
                                      const char *kind, const char *const *paths, size_t npaths)
{
    json_t *doc = json_object(), *meta = meta_doc(o);
    if (!doc || !meta) {
        json_decref(meta);
        goto err;
    }
    if (kobj_set_new(doc, "metadata", meta) || kobj_set_str(doc, "apiVersion", api_version) ||
        kobj_set_str(doc, "kind", kind))
        goto err;
    for (size_t i = 0; i < npaths; i++)
        if (set_path_json(doc, paths[i], o, i))
            goto err;
    return doc;
err:
    json_decref(doc);
    return NULL;
}
