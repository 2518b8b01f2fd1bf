/* events.c - the events recorder (see events.h for the contract and the departures from
 * client-go).
 *
 * One allocation per distinct event: a struct entry holds the event's strings (the dedup key and
 * the resourceVersion, back to back) and its series state, and is linked into three structures:
 *   - a chained hash table keyed by a 64-bit FNV-1a of the key, sized once for cache_size (the
 *     cache never grows past it, so the table never rehashes), full-key compare on a hash match;
 *   - an LRU list, most recent first: eviction walks from the tail past entries that are queued or
 *     being written (pinned), so the common eviction is O(1) and the worst case O(queue size);
 *   - a ring of queued entries, queue_size slots allocated once; an entry is on it at most once,
 *     which is what folds a burst of repetitions into one write.
 * record() builds the key on the heap (one allocation per call, freed before return) because the
 * caller's strings have no fixed bound; a stack key would need a cap on every field.
 *
 * Locking: one mutex. The worker holds it only to pop an entry, snapshot the numbers and store the
 * outcome; bodies are built and sent unlocked. Entry strings are immutable after creation and an
 * entry cannot be freed while in flight, so the worker reads them without the lock. A pthread call
 * failing on an initialised object is a broken invariant: it aborts, as in workqueue.c. */
#include "kube/events.h"

#include "util/hash.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY_MAX      (64u * 1024) /* all caller strings of one event together */
#define HOSTNAME_LEN 256
#define MIN_SLOTS    16

/* The strings of an event. Those before F_KEY_END form the dedup key. */
enum field {
    F_API_VERSION,
    F_KIND,
    F_NS,
    F_NAME,
    F_UID,
    F_FIELD_PATH,
    F_TYPE,
    F_REASON,
    F_ACTION,
    F_NOTE,
    F_KEY_END,
    F_RV = F_KEY_END,
    F_COUNT
};

static const struct krc_resource events_v1 = {"events.k8s.io", "v1", "events", 1};
static const struct krc_resource core_events = {"", "v1", "events", 1};

struct entry {
    struct entry *hnext;       /* hash chain */
    struct entry *prev, *next; /* LRU list; head = most recently recorded */
    uint64_t hash;
    size_t key_len;         /* bytes of data[] covered by the key, NULs included */
    const char *f[F_COUNT]; /* into data[] */
    int queued;             /* on the ring */
    int in_flight;          /* held by the worker */
    int created;            /* the server has an Event called name */
    int64_t count;          /* occurrences in the current series */
    int64_t first_ns, last_ns;
    char name[KRC_EVENTS_NAME_MAX + 1];
    char data[];
};

struct krc_events {
    pthread_mutex_t mu;
    pthread_cond_t work; /* an entry was queued, or stopping */
    pthread_cond_t idle; /* CLOCK_MONOTONIC; nothing queued or in flight */
    int mu_ok, work_ok, idle_ok;
    struct krc_events_sink sink;
    enum krc_events_api api;
    char *controller, *instance;
    size_t queue_size, cache_size;
    int64_t window_ns;
    int64_t (*now_ns)(void *clock_ctx);
    void *clock_ctx;
    int no_worker;

    struct entry **slots;
    size_t nslots;
    struct entry *lru_head, *lru_tail;
    size_t nentries;
    struct entry **ring;
    size_t qhead, qlen;
    size_t in_flight;
    uint64_t last_suffix;
    int stopping;
    pthread_t worker;
    int worker_started;
    struct krc_events_stats st;
};

static void must(int rc, const char *call)
{
    if (rc == 0)
        return;
    char num[16];
    snprintf(num, sizeof(num), "%d", rc);
    KRC_LOG_ERROR("events: pthread call failed", "call", call, "errno", num);
    abort();
}

static void lock(struct krc_events *r)
{
    must(pthread_mutex_lock(&r->mu), "pthread_mutex_lock");
}

static void unlock(struct krc_events *r)
{
    must(pthread_mutex_unlock(&r->mu), "pthread_mutex_unlock");
}

/* ---- time and names ---- */

int64_t krc_events_wall_now(void)
{
    struct timespec ts;
    must(clock_gettime(CLOCK_REALTIME, &ts) == 0 ? 0 : errno, "clock_gettime");
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

static int64_t default_now(void *ctx)
{
    (void)ctx;
    return krc_events_wall_now();
}

char *krc_events_format_time(int64_t wall_ns, int micro, char *buf, size_t size)
{
    time_t secs = (time_t)(wall_ns / INT64_C(1000000000));
    long usec = (long)((wall_ns % INT64_C(1000000000)) / 1000);
    struct tm tm;
    if (wall_ns < 0 || !gmtime_r(&secs, &tm)) {
        /* Out of gmtime's range (no real clock reads so): the epoch rather than garbage. */
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = 70;
        tm.tm_mday = 1;
        usec = 0;
    }
    if (micro)
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
    else
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

void krc_events_make_name(const char *object_name, uint64_t suffix, char *buf, size_t size)
{
    char hex[24];
    int hexlen = snprintf(hex, sizeof(hex), "%llx", (unsigned long long)suffix);
    size_t max = KRC_EVENTS_NAME_MAX - 1 - (size_t)hexlen;
    size_t n = strlen(object_name);
    if (n > max) {
        n = max;
        while (n > 0 && (object_name[n - 1] == '.' || object_name[n - 1] == '-'))
            n--;
    }
    snprintf(buf, size, "%.*s.%s", (int)n, object_name, hex);
}

/* A new name for e; suffixes only grow, so two events in the same nanosecond differ. Locked. */
static void new_name(struct krc_events *r, struct entry *e, int64_t now)
{
    uint64_t suffix = now > 0 ? (uint64_t)now : 0;
    if (suffix <= r->last_suffix)
        suffix = r->last_suffix + 1;
    r->last_suffix = suffix;
    krc_events_make_name(e->f[F_NAME], suffix, e->name, sizeof(e->name));
}

/* ---- notes ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not valid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Formats the note into buf (KRC_EVENTS_NOTE_MAX + 2 bytes): cut to the limit on a character
 * boundary, invalid bytes replaced by '?', so jansson accepts it. */
static void format_note(char *buf, const char *fmt, va_list ap)
{
    size_t size = KRC_EVENTS_NOTE_MAX + 2;
    int n = vsnprintf(buf, size, fmt ? fmt : "", ap);
    if (n < 0)
        n = 0, buf[0] = '\0';
    size_t len = strlen(buf);
    if (len > KRC_EVENTS_NOTE_MAX) {
        len = KRC_EVENTS_NOTE_MAX;
        while (len > 0 && ((unsigned char)buf[len] & 0xC0) == 0x80)
            len--;
        buf[len] = '\0';
    }
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq((const unsigned char *)buf + i, len - i);
        if (k == 0) {
            buf[i] = '?';
            k = 1;
        }
        i += k;
    }
}

/* ---- cache ---- */

static int pinned(const struct entry *e)
{
    return e->queued || e->in_flight;
}

static struct entry *lookup(struct krc_events *r, uint64_t hash, const char *key, size_t len)
{
    for (struct entry *e = r->slots[hash & (r->nslots - 1)]; e; e = e->hnext)
        if (e->hash == hash && e->key_len == len && memcmp(e->data, key, len) == 0)
            return e;
    return NULL;
}

static void lru_unlink(struct krc_events *r, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        r->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        r->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_head(struct krc_events *r, struct entry *e)
{
    e->prev = NULL;
    e->next = r->lru_head;
    if (r->lru_head)
        r->lru_head->prev = e;
    r->lru_head = e;
    if (!r->lru_tail)
        r->lru_tail = e;
}

static void cache_insert(struct krc_events *r, struct entry *e)
{
    struct entry **slot = &r->slots[e->hash & (r->nslots - 1)];
    e->hnext = *slot;
    *slot = e;
    lru_push_head(r, e);
    r->nentries++;
}

static void cache_remove(struct krc_events *r, struct entry *e)
{
    struct entry **pp = &r->slots[e->hash & (r->nslots - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(r, e);
    r->nentries--;
}

/* Makes room for one more entry: 0, or KRC_ETOOLARGE when every entry is pinned. Locked. */
static int cache_make_room(struct krc_events *r)
{
    if (r->nentries < r->cache_size)
        return 0;
    struct entry *v = r->lru_tail;
    while (v && pinned(v))
        v = v->prev;
    if (!v)
        return KRC_ETOOLARGE;
    cache_remove(r, v);
    free(v);
    return 0;
}

static void ring_push(struct krc_events *r, struct entry *e)
{
    r->ring[(r->qhead + r->qlen) % r->queue_size] = e;
    r->qlen++;
    e->queued = 1;
    must(pthread_cond_signal(&r->work), "pthread_cond_signal");
}

static struct entry *ring_pop(struct krc_events *r)
{
    struct entry *e = r->ring[r->qhead];
    r->qhead = (r->qhead + 1) % r->queue_size;
    r->qlen--;
    e->queued = 0;
    return e;
}

/* A new entry holding the key and the resourceVersion. NULL when out of memory. */
static struct entry *entry_new(const char *key, size_t key_len, const char *rv, uint64_t hash)
{
    size_t rv_len = strlen(rv);
    struct entry *e = calloc(1, sizeof(*e) + key_len + rv_len + 1);
    if (!e)
        return NULL;
    memcpy(e->data, key, key_len);
    memcpy(e->data + key_len, rv, rv_len + 1);
    e->key_len = key_len;
    e->hash = hash;
    const char *p = e->data;
    for (int i = 0; i < F_COUNT; i++) {
        e->f[i] = p;
        p += strlen(p) + 1;
    }
    return e;
}

/* ---- record ---- */

static const char *nz(const char *s)
{
    return s ? s : "";
}

static int check_record(const struct krc_events *r, const struct krc_events_ref *ref,
                        enum krc_event_type type, const char *reason, const char *action)
{
    if (!r || !ref || !ref->api_version || !*ref->api_version || !ref->kind || !*ref->kind ||
        !ref->name || !*ref->name)
        return KRC_EINVAL;
    if (type != KRC_EVENT_NORMAL && type != KRC_EVENT_WARNING)
        return KRC_EINVAL;
    if (!reason || !*reason || strlen(reason) > KRC_EVENTS_FIELD_MAX)
        return KRC_EINVAL;
    if (action && strlen(action) > KRC_EVENTS_FIELD_MAX)
        return KRC_EINVAL;
    if (r->api == KRC_EVENTS_API_EVENTS_V1 && (!action || !*action))
        return KRC_EINVAL;
    return 0;
}

/* Logs a drop at counts 1, 2, 4, 8, ... so a flood of drops is visible without flooding. */
static void log_drop(uint64_t dropped, const struct krc_events_ref *ref, const char *reason,
                     const char *why)
{
    if (dropped & (dropped - 1))
        return;
    char num[24];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)dropped);
    KRC_LOG_WARN("event dropped", "why", why, "reason", reason, "kind", ref->kind, "namespace",
                 nz(ref->ns), "name", ref->name, "dropped_total", num);
}

int krc_events_record(struct krc_events *r, const struct krc_events_ref *ref,
                      enum krc_event_type type, const char *reason, const char *action,
                      const char *note_fmt, ...)
{
    char note[KRC_EVENTS_NOTE_MAX + 2];
    struct krc_strbuf key;
    const char *why = NULL;
    uint64_t dropped = 0;
    int rc = check_record(r, ref, type, reason, action);
    va_list ap;

    krc_strbuf_init(&key, KEY_MAX);
    if (rc)
        return rc;
    va_start(ap, note_fmt);
    format_note(note, note_fmt, ap);
    va_end(ap);

    const char *parts[F_KEY_END] = {
        [F_API_VERSION] = ref->api_version,
        [F_KIND] = ref->kind,
        [F_NS] = nz(ref->ns),
        [F_NAME] = ref->name,
        [F_UID] = nz(ref->uid),
        [F_FIELD_PATH] = nz(ref->field_path),
        [F_TYPE] = type == KRC_EVENT_WARNING ? "Warning" : "Normal",
        [F_REASON] = reason,
        [F_ACTION] = nz(action),
        [F_NOTE] = note,
    };
    for (int i = 0; i < F_KEY_END && !rc; i++)
        rc = krc_strbuf_add(&key, parts[i], strlen(parts[i]) + 1);
    if (rc) {
        rc = rc == KRC_ETOOLARGE ? KRC_EINVAL : rc;
        goto out;
    }
    uint64_t hash = krc_fnv1a64(KRC_FNV1A64_INIT, key.buf, key.len);

    lock(r);
    if (r->stopping) {
        rc = KRC_ECANCELED;
        goto unlock;
    }
    int64_t now = r->now_ns(r->clock_ctx);
    struct entry *e = lookup(r, hash, key.buf, key.len);
    if ((!e || !e->queued) && r->qlen == r->queue_size) {
        why = "queue full";
    } else if (e) {
        if (!pinned(e) && now - e->last_ns > r->window_ns) {
            /* The series ended: a new Event, as client-go after finishTime. */
            e->created = 0;
            e->count = 1;
            e->first_ns = now;
            new_name(r, e, now);
        } else {
            e->count++;
            r->st.coalesced++;
        }
        e->last_ns = now;
        lru_unlink(r, e);
        lru_push_head(r, e);
        if (!e->queued)
            ring_push(r, e);
    } else if (cache_make_room(r) != 0) {
        why = "every cached event is waiting to be written";
    } else {
        e = entry_new(key.buf, key.len, nz(ref->resource_version), hash);
        if (!e) {
            rc = KRC_ENOMEM;
            goto unlock;
        }
        e->count = 1;
        e->first_ns = e->last_ns = now;
        new_name(r, e, now);
        cache_insert(r, e);
        ring_push(r, e);
    }
    if (why) {
        dropped = ++r->st.dropped;
        rc = KRC_ETOOLARGE;
    } else {
        r->st.recorded++;
    }
unlock:
    unlock(r);
    if (why)
        log_drop(dropped, ref, reason, why);
out:
    krc_strbuf_release(&key);
    return rc;
}

/* ---- bodies ---- */

/* json_object_set_new steals v even when it fails; a NULL v (a failed constructor) fails. */
static int jset(json_t *obj, const char *k, json_t *v)
{
    if (!obj || !v) {
        json_decref(v);
        return -1;
    }
    return json_object_set_new(obj, k, v);
}

static int jset_str_opt(json_t *obj, const char *k, const char *s)
{
    return *s ? jset(obj, k, json_string(s)) : 0;
}

static const char *event_namespace(const struct entry *e)
{
    return *e->f[F_NS] ? e->f[F_NS] : "default";
}

static json_t *ref_json(const struct entry *e)
{
    json_t *o = json_object();
    int bad = 0;
    bad |= jset(o, "apiVersion", json_string(e->f[F_API_VERSION]));
    bad |= jset(o, "kind", json_string(e->f[F_KIND]));
    bad |= jset_str_opt(o, "namespace", e->f[F_NS]);
    bad |= jset(o, "name", json_string(e->f[F_NAME]));
    bad |= jset_str_opt(o, "uid", e->f[F_UID]);
    bad |= jset_str_opt(o, "resourceVersion", e->f[F_RV]);
    bad |= jset_str_opt(o, "fieldPath", e->f[F_FIELD_PATH]);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* What the worker writes, copied under the lock. */
struct snap {
    char name[KRC_EVENTS_NAME_MAX + 1];
    int created;
    int64_t count, first_ns, last_ns;
};

static json_t *series_json(const struct snap *s)
{
    char ts[40];
    json_t *o = json_object();
    if (jset(o, "count", json_integer(s->count)) ||
        jset(o, "lastObservedTime",
             json_string(krc_events_format_time(s->last_ns, 1, ts, sizeof(ts))))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *create_body(const struct krc_events *r, const struct entry *e, const struct snap *s)
{
    char first[40], last[40];
    json_t *doc = json_object(), *meta = json_object();
    int bad = 0;

    bad |= jset(meta, "name", json_string(s->name));
    bad |= jset(meta, "namespace", json_string(event_namespace(e)));
    bad |= jset(doc, "metadata", meta);
    bad |= jset(doc, "kind", json_string("Event"));
    bad |= jset(doc, "type", json_string(e->f[F_TYPE]));
    bad |= jset(doc, "reason", json_string(e->f[F_REASON]));
    bad |= jset_str_opt(doc, "action", e->f[F_ACTION]);
    if (r->api == KRC_EVENTS_API_EVENTS_V1) {
        bad |= jset(doc, "apiVersion", json_string("events.k8s.io/v1"));
        bad |= jset(doc, "regarding", ref_json(e));
        bad |= jset(doc, "note", json_string(e->f[F_NOTE]));
        bad |= jset(doc, "eventTime",
                    json_string(krc_events_format_time(s->first_ns, 1, first, sizeof(first))));
        bad |= jset(doc, "reportingController", json_string(r->controller));
        bad |= jset(doc, "reportingInstance", json_string(r->instance));
        if (s->count >= 2)
            bad |= jset(doc, "series", series_json(s));
    } else {
        json_t *source = json_object();
        bad |= jset(source, "component", json_string(r->controller));
        bad |= jset_str_opt(source, "host", r->instance);
        bad |= jset(doc, "source", source);
        bad |= jset(doc, "apiVersion", json_string("v1"));
        bad |= jset(doc, "involvedObject", ref_json(e));
        bad |= jset(doc, "message", json_string(e->f[F_NOTE]));
        bad |= jset(doc, "firstTimestamp",
                    json_string(krc_events_format_time(s->first_ns, 0, first, sizeof(first))));
        bad |= jset(doc, "lastTimestamp",
                    json_string(krc_events_format_time(s->last_ns, 0, last, sizeof(last))));
        bad |= jset(doc, "count", json_integer(s->count));
        bad |= jset(doc, "reportingComponent", json_string(r->controller));
        bad |= jset_str_opt(doc, "reportingInstance", r->instance);
    }
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static json_t *patch_body(const struct krc_events *r, const struct snap *s)
{
    char last[40];
    json_t *doc = json_object();
    int bad = 0;
    if (r->api == KRC_EVENTS_API_EVENTS_V1) {
        bad |= jset(doc, "series", series_json(s));
    } else {
        bad |= jset(doc, "count", json_integer(s->count));
        bad |= jset(doc, "lastTimestamp",
                    json_string(krc_events_format_time(s->last_ns, 0, last, sizeof(last))));
    }
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* ---- writing ---- */

static const struct krc_resource *resource(const struct krc_events *r)
{
    return r->api == KRC_EVENTS_API_EVENTS_V1 ? &events_v1 : &core_events;
}

static int send_create(struct krc_events *r, const struct entry *e, const struct snap *s,
                       struct krc_error *err)
{
    json_t *doc = create_body(r, e, s);
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    int rc;
    if (!body) {
        rc = krc_error_set(err, KRC_EINVAL, "event %s: cannot encode the body", s->name);
        goto out;
    }
    rc = r->sink.create(r->sink.ctx, resource(r), event_namespace(e), body, strlen(body), err);
out:
    free(body);
    json_decref(doc);
    return rc;
}

static int send_patch(struct krc_events *r, const struct entry *e, const struct snap *s,
                      struct krc_error *err)
{
    json_t *doc = patch_body(r, s);
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    int rc;
    if (!body) {
        rc = krc_error_set(err, KRC_EINVAL, "event %s: cannot encode the patch", s->name);
        goto out;
    }
    rc = r->sink.patch(r->sink.ctx, resource(r), event_namespace(e), s->name, body, strlen(body),
                       err);
out:
    free(body);
    json_decref(doc);
    return rc;
}

/* Writes one in-flight entry and records the outcome. Called unlocked, by whoever popped e. */
static void write_entry(struct krc_events *r, struct entry *e)
{
    struct krc_error err = {0, ""};
    struct snap s;
    int rc, patched = 0;

    lock(r);
    memcpy(s.name, e->name, sizeof(s.name));
    s.created = e->created;
    s.count = e->count;
    s.first_ns = e->first_ns;
    s.last_ns = e->last_ns;
    unlock(r);

    if (s.created) {
        rc = send_patch(r, e, &s, &err);
        patched = rc == 0;
        if (rc == KRC_ENOTFOUND) /* expired on the server: create it again (client-go) */
            s.created = 0;
    }
    if (!s.created) {
        rc = send_create(r, e, &s, &err);
        if (rc == KRC_EEXIST) { /* a name taken by someone else: pick another, once */
            lock(r);
            new_name(r, e, r->now_ns(r->clock_ctx));
            memcpy(s.name, e->name, sizeof(s.name));
            unlock(r);
            rc = send_create(r, e, &s, &err);
        }
    }

    lock(r);
    e->in_flight = 0;
    r->in_flight--;
    if (rc == 0) {
        e->created = 1;
        if (patched)
            r->st.patched++;
        else
            r->st.created++;
    } else {
        /* After a failed create the next repetition creates it; after a failed patch, patches. */
        e->created = s.created;
        r->st.failed++;
    }
    if (r->qlen == 0 && r->in_flight == 0)
        must(pthread_cond_broadcast(&r->idle), "pthread_cond_broadcast");
    unlock(r);

    if (rc != 0) {
        char ns_name[600];
        snprintf(ns_name, sizeof(ns_name), "%s/%s", e->f[F_NS], e->f[F_NAME]);
        KRC_LOG_WARN("event not written", "reason", e->f[F_REASON], "kind", e->f[F_KIND], "object",
                     ns_name, "event", s.name, "error", err.msg);
    }
}

/* Pops the next entry and marks it in flight. Locked; qlen > 0. */
static struct entry *take(struct krc_events *r)
{
    struct entry *e = ring_pop(r);
    e->in_flight = 1;
    r->in_flight++;
    return e;
}

static void *worker_main(void *arg)
{
    struct krc_events *r = arg;
    lock(r);
    for (;;) {
        while (!r->stopping && r->qlen == 0)
            must(pthread_cond_wait(&r->work, &r->mu), "pthread_cond_wait");
        if (r->stopping)
            break;
        struct entry *e = take(r);
        unlock(r);
        write_entry(r, e);
        lock(r);
    }
    unlock(r);
    return NULL;
}

size_t krc_events_drain(struct krc_events *r)
{
    size_t n = 0;
    lock(r);
    while (r->qlen > 0 && !r->stopping) {
        struct entry *e = take(r);
        unlock(r);
        write_entry(r, e);
        n++;
        lock(r);
    }
    unlock(r);
    return n;
}

int krc_events_flush(struct krc_events *r, long timeout_ms)
{
    struct timespec deadline;
    int rc = 0;

    if (r->no_worker) {
        krc_events_drain(r);
        return 0;
    }
    must(clock_gettime(CLOCK_MONOTONIC, &deadline) == 0 ? 0 : errno, "clock_gettime");
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    lock(r);
    while ((r->qlen > 0 || r->in_flight > 0) && !r->stopping) {
        int w = pthread_cond_timedwait(&r->idle, &r->mu, &deadline);
        if (w == ETIMEDOUT) {
            rc = KRC_ETIMEOUT;
            break;
        }
        must(w, "pthread_cond_timedwait");
    }
    unlock(r);
    return rc;
}

void krc_events_stats(struct krc_events *r, struct krc_events_stats *out)
{
    lock(r);
    *out = r->st;
    out->queued = r->qlen;
    out->cached = r->nentries;
    unlock(r);
}

/* ---- lifecycle ---- */

static int client_create(void *ctx, const struct krc_resource *res, const char *ns,
                         const char *body, size_t len, struct krc_error *err)
{
    return krc_client_create(ctx, res, ns, body, len, NULL, NULL, err);
}

static int client_patch(void *ctx, const struct krc_resource *res, const char *ns, const char *name,
                        const char *body, size_t len, struct krc_error *err)
{
    return krc_client_patch(ctx, res, ns, name, NULL, KRC_PATCH_MERGE, body, len, NULL, NULL, err);
}

static size_t pow2_at_least(size_t n)
{
    size_t p = MIN_SLOTS;
    while (p < n)
        p *= 2;
    return p;
}

/* "<controller>-<hostname>", cut to the API's 128 bytes. NULL when out of memory. */
static char *default_instance(const char *controller)
{
    char host[HOSTNAME_LEN] = "";
    struct krc_strbuf sb;
    krc_strbuf_init(&sb, 0);
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "unknown");
    if (krc_strbuf_addf(&sb, "%s-%s", controller, host) != 0)
        return NULL;
    if (sb.len > KRC_EVENTS_FIELD_MAX)
        sb.buf[KRC_EVENTS_FIELD_MAX] = '\0';
    return krc_strbuf_detach(&sb);
}

static int init_sync(struct krc_events *r)
{
    pthread_condattr_t attr;
    if (pthread_mutex_init(&r->mu, NULL) != 0)
        return KRC_EIO;
    r->mu_ok = 1;
    if (pthread_cond_init(&r->work, NULL) != 0)
        return KRC_EIO;
    r->work_ok = 1;
    if (pthread_condattr_init(&attr) != 0)
        return KRC_EIO;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&r->idle, &attr);
    must(pthread_condattr_destroy(&attr), "pthread_condattr_destroy");
    if (rc != 0)
        return KRC_EIO;
    r->idle_ok = 1;
    return 0;
}

int krc_events_new(struct krc_client *client, const struct krc_events_opts *opts,
                   struct krc_events **out, struct krc_error *err)
{
    struct krc_events *r = NULL;
    int rc;

    *out = NULL;
    if (!opts || !opts->reporting_controller || !*opts->reporting_controller)
        return krc_error_set(err, KRC_EINVAL, "events recorder: no reporting controller given");
    if (!opts->sink && !client)
        return krc_error_set(err, KRC_EINVAL, "events recorder %s: no client and no sink",
                             opts->reporting_controller);
    if (opts->api != KRC_EVENTS_API_EVENTS_V1 && opts->api != KRC_EVENTS_API_CORE_V1)
        return krc_error_set(err, KRC_EINVAL, "events recorder %s: unknown API %d",
                             opts->reporting_controller, (int)opts->api);
    if (opts->reporting_instance && strlen(opts->reporting_instance) > KRC_EVENTS_FIELD_MAX)
        return krc_error_set(err, KRC_EINVAL,
                             "events recorder %s: reporting instance longer than %d bytes",
                             opts->reporting_controller, KRC_EVENTS_FIELD_MAX);
    r = calloc(1, sizeof(*r));
    if (!r)
        return krc_error_set(err, KRC_ENOMEM, "events recorder: out of memory");
    rc = init_sync(r);
    if (rc) {
        krc_error_set(err, rc, "events recorder %s: cannot initialise its lock",
                      opts->reporting_controller);
        goto out;
    }
    r->api = opts->api;
    r->queue_size = opts->queue_size ? opts->queue_size : KRC_EVENTS_DEFAULT_QUEUE_SIZE;
    r->cache_size = opts->cache_size ? opts->cache_size : KRC_EVENTS_DEFAULT_CACHE_SIZE;
    r->window_ns =
        opts->series_window_ns > 0 ? opts->series_window_ns : KRC_EVENTS_DEFAULT_SERIES_WINDOW;
    r->now_ns = opts->now_ns ? opts->now_ns : default_now;
    r->clock_ctx = opts->clock_ctx;
    r->no_worker = opts->no_worker;
    if (opts->sink)
        r->sink = *opts->sink;
    else
        r->sink = (struct krc_events_sink){client_create, client_patch, client};
    r->controller = strdup(opts->reporting_controller);
    if (opts->reporting_instance)
        r->instance = strdup(opts->reporting_instance);
    else if (r->api == KRC_EVENTS_API_EVENTS_V1)
        r->instance = default_instance(opts->reporting_controller);
    else
        r->instance = strdup("");
    r->nslots = pow2_at_least(r->cache_size);
    r->slots = calloc(r->nslots, sizeof(*r->slots));
    r->ring = calloc(r->queue_size, sizeof(*r->ring));
    if (!r->controller || !r->instance || !r->slots || !r->ring) {
        rc = krc_error_set(err, KRC_ENOMEM, "events recorder %s: out of memory",
                           opts->reporting_controller);
        goto out;
    }
    if (!r->no_worker) {
        int t = pthread_create(&r->worker, NULL, worker_main, r);
        if (t != 0) {
            rc = krc_error_set(err, KRC_EIO, "events recorder %s: pthread_create: %s",
                               opts->reporting_controller, strerror(t));
            goto out;
        }
        r->worker_started = 1;
    }
    *out = r;
out:
    if (rc)
        krc_events_free(r);
    return rc;
}

void krc_events_free(struct krc_events *r)
{
    if (!r)
        return;
    if (r->mu_ok) {
        lock(r);
        r->stopping = 1;
        if (r->work_ok)
            must(pthread_cond_broadcast(&r->work), "pthread_cond_broadcast");
        if (r->idle_ok)
            must(pthread_cond_broadcast(&r->idle), "pthread_cond_broadcast");
        unlock(r);
    }
    if (r->worker_started)
        must(pthread_join(r->worker, NULL), "pthread_join");
    for (struct entry *e = r->lru_head, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    free(r->slots);
    free(r->ring);
    free(r->controller);
    free(r->instance);
    if (r->idle_ok)
        must(pthread_cond_destroy(&r->idle), "pthread_cond_destroy");
    if (r->work_ok)
        must(pthread_cond_destroy(&r->work), "pthread_cond_destroy");
    if (r->mu_ok)
        must(pthread_mutex_destroy(&r->mu), "pthread_mutex_destroy");
    free(r);
}
