/* informer.c - the list/watch loop of one resource type, on its own thread.
 *
 * The loop is client-go's reflector reduced to its states: LIST (paged, applied to the store as a
 * relist round), WATCH (from the last resourceVersion), and BACKOFF. A watch that ends cleanly
 * (the server's timeoutSeconds) resumes at once; 410 Gone lists again at once; anything else backs
 * off (800 ms doubling to 30 s, equal jitter) and resumes the watch from the last resourceVersion,
 * which replays whatever happened meanwhile, or answers 410 if that is too old. The
 * resourceVersion only advances after an event has been applied, so an event that failed to apply
 * is received again on the next watch.
 *
 * Everything that touches the store and the handlers happens on the informer's thread, so handlers
 * see changes one at a time and in order. Other threads only read the store, the synced flag and
 * the counters; the last two sit under a mutex with a condition variable that also wakes the
 * backoff sleep and krc_informer_wait_synced.
 *
 * Stopping raises the watch's cancel flag (the HTTP layer notices within about a second) and wakes
 * a backoff sleep; a list page in flight is finished first because the client's list call takes
 * no cancel flag. */
#include "kube/informer.h"

#include "kube/status.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RV_MAX 1024 /* resourceVersions are opaque but short: etcd's are decimal integers */
/* A watch that ends cleanly this quickly without an event is treated like a failure, so a
 * server that closes every watch at once is not asked again in a tight loop. */
#define WATCH_MIN_MS 1000
/* Client-side limit on a watch beyond its server-side timeout: catches a silently dead peer. */
#define WATCH_GRACE_S 30
/* A list that brought at least this much JSON ends with malloc_trim(0): its pages and the
 * objects a relist replaced leave free heap that glibc would otherwise keep (measured: 15 MB kept
 * by an operator restarted over 4,500 pods). */
#define LIST_TRIM_BYTES (1024 * 1024)

struct krc_informer {
    struct krc_client *client;
    struct krc_resource res;
    char *group, *version, *resource, *ns, *label_selector, *field_selector;
    char name[160]; /* "pods" or "rayclusters.ray.io in ns", for messages */
    struct krc_projection *proj;
    struct krc_store *store;
    struct krc_informer_handlers handlers[KRC_INFORMER_MAX_HANDLERS];
    size_t nhandlers;
    long long page_size;
    long watch_timeout_s, resync_ms, backoff_min_ms, backoff_max_ms;

    pthread_t thread;
    int started, joined;
    struct krc_cancel cancel;
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t cond;  /* stop and sync */
    int stopping, synced;
    struct krc_informer_stats stats;
    char inject_rv[64]; /* krc_informer_force_rewatch's resourceVersion */
    atomic_int inject;  /* set: abandon the watch and restart it from inject_rv */

    /* the informer thread's own */
    struct krc_strbuf rv;   /* last resourceVersion applied */
    struct krc_strbuf page; /* one list page; freed after each list */
    uint64_t rnd;
    long long next_resync_ms;
};

/* ---- small helpers ---- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t next_rand(struct krc_informer *inf)
{
    uint64_t z = (inf->rnd += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int is_stopping(struct krc_informer *inf)
{
    int s;
    pthread_mutex_lock(&inf->lock);
    s = inf->stopping;
    pthread_mutex_unlock(&inf->lock);
    return s;
}

/* Sleeps ms unless the informer stops first; returns whether it is stopping. */
static int sleep_unless_stopped(struct krc_informer *inf, long ms)
{
    struct timespec until;
    int s;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&inf->lock);
    while (!inf->stopping && pthread_cond_timedwait(&inf->cond, &inf->lock, &until) != ETIMEDOUT)
        ;
    s = inf->stopping;
    pthread_mutex_unlock(&inf->lock);
    return s;
}

static void count(struct krc_informer *inf, unsigned long *counter)
{
    pthread_mutex_lock(&inf->lock);
    (*counter)++;
    pthread_mutex_unlock(&inf->lock);
}

static void set_rv(struct krc_informer *inf, const char *rv)
{
    if (!rv || !*rv || strlen(rv) > RV_MAX)
        return;
    krc_strbuf_reset(&inf->rv);
    if (krc_strbuf_adds(&inf->rv, rv) < 0)
        return; /* keeps the older resourceVersion: the next watch replays a little more */
    pthread_mutex_lock(&inf->lock);
    snprintf(inf->stats.resource_version, sizeof(inf->stats.resource_version), "%s", rv);
    pthread_mutex_unlock(&inf->lock);
}

static void emit_add(struct krc_informer *inf, struct krc_object *o)
{
    for (size_t i = 0; i < inf->nhandlers; i++)
        if (inf->handlers[i].on_add)
            inf->handlers[i].on_add(inf->handlers[i].ctx, o);
}

static void emit_update(struct krc_informer *inf, struct krc_object *old, struct krc_object *o)
{
    for (size_t i = 0; i < inf->nhandlers; i++)
        if (inf->handlers[i].on_update)
            inf->handlers[i].on_update(inf->handlers[i].ctx, old, o);
}

static void emit_delete(struct krc_informer *inf, struct krc_object *o)
{
    for (size_t i = 0; i < inf->nhandlers; i++)
        if (inf->handlers[i].on_delete)
            inf->handlers[i].on_delete(inf->handlers[i].ctx, o);
}

/* ---- list ---- */

static int on_list_item(void *ctx, struct krc_object *obj, struct krc_error *err)
{
    struct krc_informer *inf = ctx;
    struct krc_object *old = NULL;
    enum krc_store_change ch;
    int rc = krc_store_replace_item(inf->store, obj, &ch, &old, err);

    if (rc == 0 && ch == KRC_STORE_ADDED)
        emit_add(inf, obj);
    else if (rc == 0 && ch == KRC_STORE_UPDATED)
        emit_update(inf, old, obj);
    krc_object_unref(old);
    krc_object_unref(obj);
    return rc;
}

/* One complete paged list, applied as a relist round. */
static int list_all(struct krc_informer *inf, struct krc_error *err)
{
    struct krc_projection_parser *ps = NULL;
    struct krc_strbuf cont = KRC_STRBUF_INIT;
    struct krc_object_list deleted = {0};
    size_t pages = 0, bytes = 0;
    int rc;

    rc = krc_projection_parser_new(inf->proj, KRC_PROJECTION_LIST, on_list_item, NULL, inf, &ps,
                                   err);
    if (rc < 0)
        goto out;
    krc_store_replace_begin(inf->store);
    do {
        struct krc_list_opts o = {
            .label_selector = inf->label_selector,
            .field_selector = inf->field_selector,
            .limit = inf->page_size,
            .continue_token = cont.len ? cont.buf : NULL,
        };
        if (is_stopping(inf)) {
            rc = krc_error_set(err, KRC_ECANCELED, "list %s: stopped", inf->name);
            goto out;
        }
        rc = krc_client_list(inf->client, &inf->res, inf->ns, &o, &inf->page, err);
        if (rc < 0)
            goto out;
        pages++;
        bytes += inf->page.len;
        rc = krc_projection_parser_feed(ps, inf->page.buf, inf->page.len, err);
        if (rc == 0)
            rc = krc_projection_parser_finish(ps, err);
        if (rc < 0) {
            krc_error_wrap(err, rc, "list %s: page %zu", inf->name, pages);
            goto out;
        }
        set_rv(inf, krc_projection_parser_list_resource_version(ps));
        krc_strbuf_reset(&cont);
        rc = krc_strbuf_adds(&cont, krc_projection_parser_list_continue(ps));
        if (rc == 0)
            rc = krc_projection_parser_reset(ps, err);
        if (rc < 0) {
            krc_error_set(err, rc, "list %s: out of memory", inf->name);
            goto out;
        }
    } while (cont.len);
    rc = krc_store_replace_end(inf->store, &deleted, err);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < deleted.len; i++)
        emit_delete(inf, deleted.items[i]);
    pthread_mutex_lock(&inf->lock);
    inf->stats.lists++;
    inf->synced = 1;
    pthread_cond_broadcast(&inf->cond);
    pthread_mutex_unlock(&inf->lock);
    KRC_LOG_DEBUG("informer listed", "resource", inf->name, "resourceVersion", inf->rv.buf);
out:
    krc_object_list_release(&deleted);
    krc_projection_parser_free(ps);
    krc_strbuf_release(&cont);
    krc_strbuf_release(&inf->page); /* a page is megabytes: give it back between lists */
    if (bytes >= LIST_TRIM_BYTES)
        malloc_trim(0);
    return rc;
}

/* ---- watch ---- */

struct watch_ctx {
    struct krc_informer *inf;
    struct krc_projection_parser *ps;
    unsigned long events;
    int rc; /* why the line callback stopped the stream */
    struct krc_error err;
};

static int on_watch_event(void *ctx, const struct krc_watch_event *ev, struct krc_error *err)
{
    struct watch_ctx *wc = ctx;
    struct krc_informer *inf = wc->inf;
    struct krc_object *o = ev->object, *old = NULL;
    int rc = 0;

    switch (ev->type) {
    case KRC_WATCH_ERROR:
        rc = ev->code == 410 ? KRC_EGONE
                             : krc_status_code_to_error(ev->code ? ev->code : 500, ev->reason);
        return krc_error_set(err, rc, "watch %s: ERROR event %d %s: %s", inf->name, ev->code,
                             ev->reason, ev->message);
    case KRC_WATCH_BOOKMARK:
        break;
    case KRC_WATCH_ADDED:
    case KRC_WATCH_MODIFIED:
        rc = krc_store_upsert(inf->store, o, &old, err);
        if (rc == 0 && old)
            emit_update(inf, old, o);
        else if (rc == 0)
            emit_add(inf, o);
        break;
    case KRC_WATCH_DELETED:
        /* KRC_ENOTFOUND is no error: the object may have come and gone between lists */
        (void)krc_store_delete(inf->store, krc_object_namespace(o), krc_object_name(o), NULL);
        emit_delete(inf, o); /* the event's object is the final state */
        break;
    }
    if (rc == 0) {
        set_rv(inf, krc_object_resource_version(o));
        if (ev->type != KRC_WATCH_BOOKMARK) {
            wc->events++;
            count(inf, &inf->stats.events);
        }
    }
    krc_object_unref(old);
    krc_object_unref(o);
    return rc;
}

static int on_watch_line(void *ctx, const char *line, size_t len)
{
    struct watch_ctx *wc = ctx;
    int rc;

    if (atomic_load(&wc->inf->inject)) {
        wc->rc = krc_error_set(&wc->err, KRC_ECANCELED, "watch %s: abandoned (fault injection)",
                               wc->inf->name);
        return wc->rc;
    }
    rc = krc_projection_parser_feed(wc->ps, line, len, &wc->err);

    /* one event per line; the newline keeps yajl from reading two adjacent values as one token */
    if (rc == 0)
        rc = krc_projection_parser_feed(wc->ps, "\n", 1, &wc->err);
    if (rc < 0)
        wc->rc = rc;
    return rc;
}

/* One watch from the last resourceVersion, until the server ends it or something fails. */
static int watch_once(struct krc_informer *inf, struct watch_ctx *wc, struct krc_error *err)
{
    long timeout = inf->watch_timeout_s + (long)(next_rand(inf) % (uint64_t)inf->watch_timeout_s);
    int rc;

    if (inf->resync_ms) {
        long long left = (inf->next_resync_ms - now_ms()) / 1000;
        timeout = left < 1 ? 1 : left < timeout ? (long)left : timeout;
    }
    struct krc_list_opts o = {
        .label_selector = inf->label_selector,
        .field_selector = inf->field_selector,
        .resource_version = inf->rv.buf,
        .timeout_seconds = timeout,
        .allow_watch_bookmarks = 1,
    };
    struct krc_stream_opts so = {
        .on_line = on_watch_line,
        .ctx = wc,
        .timeout_ms = (timeout + WATCH_GRACE_S) * 1000,
        .cancel = &inf->cancel,
    };
    memset(wc, 0, sizeof(*wc));
    wc->inf = inf;
    rc = krc_projection_parser_new(inf->proj, KRC_PROJECTION_WATCH, NULL, on_watch_event, wc,
                                   &wc->ps, err);
    if (rc < 0)
        return rc;
    count(inf, &inf->stats.watches);
    rc = krc_client_watch(inf->client, &inf->res, inf->ns, &o, &so, err);
    if (wc->rc) {
        rc = wc->rc;
        if (err)
            *err = wc->err;
    }
    krc_projection_parser_free(wc->ps);
    wc->ps = NULL;
    return rc;
}

static void resync(struct krc_informer *inf)
{
    struct krc_object_list all;
    struct krc_error err;

    if (!inf->resync_ms || now_ms() < inf->next_resync_ms)
        return;
    inf->next_resync_ms = now_ms() + inf->resync_ms;
    if (krc_store_list(inf->store, &all, &err) < 0) {
        KRC_LOG_WARN("informer resync skipped", "resource", inf->name, "error", err.msg);
        return;
    }
    for (size_t i = 0; i < all.len; i++)
        emit_update(inf, all.items[i], all.items[i]);
    krc_object_list_release(&all);
}

/* After a watch: takes up a pending krc_informer_force_rewatch. Returns whether there was one. */
static int take_injection(struct krc_informer *inf)
{
    char rv[sizeof(inf->inject_rv)];

    if (!atomic_load(&inf->inject))
        return 0;
    pthread_mutex_lock(&inf->lock);
    memcpy(rv, inf->inject_rv, sizeof(rv));
    atomic_store(&inf->inject, 0);
    if (!inf->stopping) /* the flag served the injection; a stop keeps it raised */
        atomic_store(&inf->cancel.requested, 0);
    pthread_mutex_unlock(&inf->lock);
    set_rv(inf, rv);
    KRC_LOG_INFO("informer watch restarted by fault injection", "resource", inf->name,
                 "resourceVersion", rv);
    return 1;
}

/* ---- the thread ---- */

static void *run(void *arg)
{
    struct krc_informer *inf = arg;
    long backoff = inf->backoff_min_ms;
    int need_list = 1;

    while (!is_stopping(inf)) {
        struct krc_error err = {0};
        struct watch_ctx wc;
        long long started = now_ms();
        int rc;

        if (need_list) {
            rc = list_all(inf, &err);
            if (rc == 0) {
                need_list = 0;
                backoff = inf->backoff_min_ms;
                inf->next_resync_ms = now_ms() + inf->resync_ms;
                continue;
            }
        } else {
            rc = watch_once(inf, &wc, &err);
            if (take_injection(inf))
                continue;
            if (wc.events)
                backoff = inf->backoff_min_ms; /* it was working: start the backoff afresh */
            if (rc == 0 && (wc.events || now_ms() - started >= WATCH_MIN_MS)) {
                resync(inf);
                continue;
            }
            if (rc == 0)
                rc = krc_error_set(&err, KRC_EIO, "watch %s: ended at once", inf->name);
        }
        if (rc == KRC_EGONE) {
            KRC_LOG_INFO("informer resourceVersion too old, listing again", "resource", inf->name,
                         "resourceVersion", inf->rv.buf, "error", err.msg);
            count(inf, &inf->stats.gone);
            need_list = 1;
            continue;
        }
        if (rc == KRC_ECANCELED && is_stopping(inf))
            break;
        count(inf, &inf->stats.errors);
        long delay = backoff / 2 + (long)(next_rand(inf) % (uint64_t)(backoff / 2 + 1));
        char delay_s[32];
        snprintf(delay_s, sizeof(delay_s), "%ld", delay);
        KRC_LOG_WARN(need_list ? "informer list failed" : "informer watch failed", "resource",
                     inf->name, "resourceVersion", inf->rv.buf, "error", err.msg, "retry_ms",
                     delay_s);
        if (sleep_unless_stopped(inf, delay))
            break;
        backoff = backoff * 2 > inf->backoff_max_ms ? inf->backoff_max_ms : backoff * 2;
    }
    pthread_mutex_lock(&inf->lock);
    pthread_cond_broadcast(&inf->cond); /* wakes krc_informer_wait_synced */
    pthread_mutex_unlock(&inf->lock);
    return NULL;
}

/* ---- life cycle ---- */

static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s || !*s)
        return 0;
    *out = strdup(s);
    return *out ? 0 : KRC_ENOMEM;
}

int krc_informer_new(struct krc_client *client, const struct krc_informer_options *opts,
                     struct krc_informer **out, struct krc_error *err)
{
    struct krc_informer *inf = NULL;
    pthread_condattr_t ca;
    char rname[128];
    int rc;

    *out = NULL;
    if (!client || !opts || !opts->resource.version || !opts->resource.resource)
        return krc_error_set(err, KRC_EINVAL, "informer: no client or no resource");
    inf = calloc(1, sizeof(*inf));
    if (!inf)
        return krc_error_set(err, KRC_ENOMEM, "informer: out of memory");
    inf->client = client;
    krc_cancel_init(&inf->cancel);
    krc_strbuf_init(&inf->rv, RV_MAX);
    krc_strbuf_init(&inf->page, KRC_CLIENT_RESPONSE_MAX);
    inf->rnd = (uint64_t)now_ms() ^ (uint64_t)(uintptr_t)inf;
    inf->page_size = opts->page_size > 0 ? opts->page_size : KRC_INFORMER_DEFAULT_PAGE_SIZE;
    inf->watch_timeout_s =
        opts->watch_timeout_s > 0 ? opts->watch_timeout_s : KRC_INFORMER_DEFAULT_WATCH_TIMEOUT;
    inf->resync_ms = opts->resync_ms > 0 ? opts->resync_ms : 0;
    inf->backoff_min_ms =
        opts->backoff_min_ms > 0 ? opts->backoff_min_ms : KRC_INFORMER_DEFAULT_BACKOFF_MIN_MS;
    inf->backoff_max_ms =
        opts->backoff_max_ms > 0 ? opts->backoff_max_ms : KRC_INFORMER_DEFAULT_BACKOFF_MAX_MS;
    if (inf->backoff_max_ms < inf->backoff_min_ms)
        inf->backoff_max_ms = inf->backoff_min_ms;
    if (dup_opt(opts->resource.group, &inf->group) ||
        dup_opt(opts->resource.version, &inf->version) ||
        dup_opt(opts->resource.resource, &inf->resource) || dup_opt(opts->namespace, &inf->ns) ||
        dup_opt(opts->label_selector, &inf->label_selector) ||
        dup_opt(opts->field_selector, &inf->field_selector)) {
        rc = krc_error_set(err, KRC_ENOMEM, "informer: out of memory");
        goto err;
    }
    inf->res = KRC_RESOURCE(inf->group, inf->version, inf->resource, opts->resource.namespaced);
    snprintf(inf->name, sizeof(inf->name), "%s%s%s",
             krc_resource_name(&inf->res, rname, sizeof(rname)), inf->ns ? " in " : "",
             inf->ns ? inf->ns : "");
    rc = krc_projection_new(opts->paths, opts->npaths, &opts->limits, &inf->proj, err);
    for (size_t i = 0; rc == 0 && i < opts->ndrops; i++)
        rc = krc_projection_drop_member(inf->proj, &opts->drops[i], err);
    if (rc < 0)
        goto err;
    struct krc_store_options so = {.index_label = opts->index_label};
    rc = krc_store_new(&so, &inf->store, err);
    if (rc < 0)
        goto err;
    if (pthread_condattr_init(&ca) != 0) {
        rc = krc_error_set(err, KRC_ENOMEM, "informer %s: cannot make a condition", inf->name);
        goto err;
    }
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                 pthread_cond_init(&inf->cond, &ca) == 0
             ? 0
             : krc_error_set(err, KRC_ENOMEM, "informer %s: cannot make a condition", inf->name);
    pthread_condattr_destroy(&ca);
    if (rc < 0)
        goto err;
    if (pthread_mutex_init(&inf->lock, NULL) != 0) {
        pthread_cond_destroy(&inf->cond);
        rc = krc_error_set(err, KRC_ENOMEM, "informer %s: cannot make a mutex", inf->name);
        goto err;
    }
    *out = inf;
    return 0;
err:
    krc_store_free(inf->store);
    krc_projection_free(inf->proj);
    free(inf->group);
    free(inf->version);
    free(inf->resource);
    free(inf->ns);
    free(inf->label_selector);
    free(inf->field_selector);
    free(inf);
    return rc;
}

int krc_informer_add_handlers(struct krc_informer *inf, const struct krc_informer_handlers *h,
                              struct krc_error *err)
{
    if (inf->started)
        return krc_error_set(err, KRC_EINVAL, "informer %s: handlers added after start", inf->name);
    if (inf->nhandlers == KRC_INFORMER_MAX_HANDLERS)
        return krc_error_set(err, KRC_EINVAL, "informer %s: more than %d handler sets", inf->name,
                             KRC_INFORMER_MAX_HANDLERS);
    inf->handlers[inf->nhandlers++] = *h;
    return 0;
}

int krc_informer_start(struct krc_informer *inf, struct krc_error *err)
{
    int rc;

    if (inf->started)
        return krc_error_set(err, KRC_EINVAL, "informer %s: already started", inf->name);
    rc = pthread_create(&inf->thread, NULL, run, inf);
    if (rc != 0)
        return krc_error_set(err, KRC_EIO, "informer %s: cannot start its thread: %s", inf->name,
                             strerror(rc));
    pthread_mutex_lock(&inf->lock);
    inf->started = 1;
    pthread_mutex_unlock(&inf->lock);
    return 0;
}

int krc_informer_has_synced(struct krc_informer *inf)
{
    int s;
    pthread_mutex_lock(&inf->lock);
    s = inf->synced;
    pthread_mutex_unlock(&inf->lock);
    return s;
}

int krc_informer_wait_synced(struct krc_informer *inf, long timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int rc = 0;

    pthread_mutex_lock(&inf->lock);
    while (!inf->synced && rc == 0) {
        if (inf->stopping) {
            rc = KRC_ECANCELED;
        } else if (timeout_ms < 0) {
            pthread_cond_wait(&inf->cond, &inf->lock);
        } else {
            long long left = deadline - now_ms();
            struct timespec until;
            if (left <= 0) {
                rc = KRC_ETIMEOUT;
                break;
            }
            clock_gettime(CLOCK_MONOTONIC, &until);
            left = left > 1000 ? 1000 : left; /* re-check the state every second */
            until.tv_sec += left / 1000;
            until.tv_nsec += (left % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&inf->cond, &inf->lock, &until);
        }
    }
    pthread_mutex_unlock(&inf->lock);
    return rc;
}

struct krc_store *krc_informer_store(struct krc_informer *inf)
{
    return inf->store;
}

void krc_informer_stats(struct krc_informer *inf, struct krc_informer_stats *out)
{
    pthread_mutex_lock(&inf->lock);
    *out = inf->stats;
    pthread_mutex_unlock(&inf->lock);
}

int krc_informer_force_rewatch(struct krc_informer *inf, const char *resource_version,
                               struct krc_error *err)
{
    int rc = 0;

    if (!resource_version || strlen(resource_version) >= sizeof(inf->inject_rv))
        return krc_error_set(err, KRC_EINVAL, "informer %s: bad resourceVersion", inf->name);
    pthread_mutex_lock(&inf->lock);
    if (!inf->started || inf->stopping) {
        rc = krc_error_set(err, KRC_EINVAL, "informer %s: not running", inf->name);
    } else {
        snprintf(inf->inject_rv, sizeof(inf->inject_rv), "%s", resource_version);
        atomic_store(&inf->inject, 1);
        krc_cancel_request(&inf->cancel); /* a quiet watch has no line to notice it on */
    }
    pthread_mutex_unlock(&inf->lock);
    return rc;
}

void krc_informer_stop(struct krc_informer *inf)
{
    if (!inf->started || inf->joined)
        return;
    pthread_mutex_lock(&inf->lock);
    inf->stopping = 1;
    pthread_cond_broadcast(&inf->cond);
    pthread_mutex_unlock(&inf->lock);
    krc_cancel_request(&inf->cancel);
    pthread_join(inf->thread, NULL);
    inf->joined = 1;
}

void krc_informer_free(struct krc_informer *inf)
{
    if (!inf)
        return;
    krc_informer_stop(inf);
    krc_store_free(inf->store);
    krc_projection_free(inf->proj);
    krc_strbuf_release(&inf->rv);
    krc_strbuf_release(&inf->page);
    pthread_cond_destroy(&inf->cond);
    pthread_mutex_destroy(&inf->lock);
    free(inf->group);
    free(inf->version);
    free(inf->resource);
    free(inf->ns);
    free(inf->label_selector);
    free(inf->field_selector);
    free(inf);
}
