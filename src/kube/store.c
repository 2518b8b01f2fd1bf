/* store.c - the keyed, indexed object cache behind an informer.
 *
 * Lock: one pthread mutex per store. Every critical section is a hash lookup plus pointer and
 * reference-count updates, O(1), except the snapshots (krc_store_list*: O(k) pointer copies and
 * atomic increments, about half a millisecond for 40,000 objects) and krc_store_replace_end (one
 * O(n) walk per relist). Readers never hold it while they look at an object, so writers (the one
 * informer thread) wait at most that long. A rwlock would let snapshots overlap, but costs more
 * per uncontended acquire and glibc's default one lets readers starve the writer; RCU would make
 * reads lock-free at the price of deferred frees. Neither is worth it at these sizes.
 *
 * Layout: a chained hash table of entries keyed by namespace/name (FNV-1a: unkeyed, acceptable
 * because keys come from the API server and are validated DNS names), doubling when the load
 * passes 1 with an O(n) rehash under the lock (about a millisecond at 40,000; Redis's incremental
 * rehash would spread it, at the cost of two tables to search). Each index is a second hash table
 * of groups (one per distinct key: namespace, owner UID, label value), each holding a count and an
 * intrusive doubly-linked list of its entries, so adding, moving or removing an entry is O(1).
 * An entry costs about 110 bytes beside its object. */
#include "kube/store.h"
#include "util/hash.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NIDX            3
#define INITIAL_BUCKETS 64u

/* Hash table node, first member of entries and groups. */
struct hnode {
    struct hnode *next;
    uint64_t hash;
};

struct htable {
    struct hnode **b;
    size_t n; /* buckets, a power of two */
    size_t count;
};

struct entry;

struct group {
    struct hnode h;
    struct entry *head;
    size_t count;
    char key[];
};

struct link {
    struct entry *prev, *next;
    struct group *group; /* NULL when the object has no key in this index */
};

struct entry {
    struct hnode h;
    struct krc_object *obj;
    uint32_t mark; /* epoch of the relist round that last saw it */
    struct link link[NIDX];
};

struct krc_store {
    pthread_mutex_t lock;
    struct htable entries;
    struct htable groups[NIDX];
    char *index_label;
    uint32_t epoch;
    size_t object_bytes; /* sum of krc_object_size of the stored objects */
    size_t group_bytes;  /* sum of the sizes of the index groups */
};

/* ---- hash tables ---- */

static uint64_t hash_str(const char *s)
{
    return krc_fnv1a64_str(KRC_FNV1A64_INIT, s);
}

static uint64_t hash_key(const char *ns, const char *name)
{
    return krc_fnv1a64_str(krc_fnv1a64_str(hash_str(ns), "/"), name);
}

static int ht_init(struct htable *t)
{
    t->b = calloc(INITIAL_BUCKETS, sizeof(*t->b));
    t->n = INITIAL_BUCKETS;
    t->count = 0;
    return t->b ? 0 : KRC_ENOMEM;
}

/* Doubles the buckets once the load passes 1. Failing to grow only lengthens chains, so it is not
 * an error. */
static void ht_grow(struct htable *t)
{
    struct hnode **nb;
    size_t nn = t->n * 2;

    if (t->count <= t->n || nn < t->n)
        return;
    nb = calloc(nn, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < t->n; i++) {
        struct hnode *h = t->b[i];
        while (h) {
            struct hnode *next = h->next;
            h->next = nb[h->hash & (nn - 1)];
            nb[h->hash & (nn - 1)] = h;
            h = next;
        }
    }
    free(t->b);
    t->b = nb;
    t->n = nn;
}

static void ht_insert(struct htable *t, struct hnode *h)
{
    struct hnode **slot = &t->b[h->hash & (t->n - 1)];
    h->next = *slot;
    *slot = h;
    t->count++;
    ht_grow(t);
}

static void ht_remove(struct htable *t, struct hnode *h)
{
    struct hnode **p = &t->b[h->hash & (t->n - 1)];
    while (*p != h)
        p = &(*p)->next;
    *p = h->next;
    t->count--;
}

static struct entry *entry_find(const struct krc_store *s, const char *ns, const char *name,
                                uint64_t hash)
{
    for (struct hnode *h = s->entries.b[hash & (s->entries.n - 1)]; h; h = h->next) {
        struct entry *e = (struct entry *)h;
        if (h->hash == hash && strcmp(krc_object_name(e->obj), name) == 0 &&
            strcmp(krc_object_namespace(e->obj), ns) == 0)
            return e;
    }
    return NULL;
}

static struct group *group_find(const struct htable *t, const char *key, uint64_t hash)
{
    for (struct hnode *h = t->b[hash & (t->n - 1)]; h; h = h->next) {
        struct group *g = (struct group *)h;
        if (h->hash == hash && strcmp(g->key, key) == 0)
            return g;
    }
    return NULL;
}

/* ---- indexes ---- */

static const char *index_key(const struct krc_store *s, const struct krc_object *o, int i)
{
    switch (i) {
    case KRC_STORE_BY_NAMESPACE:
        return krc_object_namespace(o);
    case KRC_STORE_BY_OWNER:
        return krc_object_controller_uid(o);
    default:
        return s->index_label ? krc_object_label(o, s->index_label) : NULL;
    }
}

static struct group *group_get(struct krc_store *s, struct htable *t, const char *key)
{
    uint64_t hash = hash_str(key);
    struct group *g = group_find(t, key, hash);
    size_t len = strlen(key);

    if (g)
        return g;
    g = malloc(sizeof(*g) + len + 1);
    if (!g)
        return NULL;
    g->h.hash = hash;
    g->head = NULL;
    g->count = 0;
    memcpy(g->key, key, len + 1);
    ht_insert(t, &g->h);
    s->group_bytes += sizeof(*g) + len + 1;
    return g;
}

static void group_drop_if_empty(struct krc_store *s, struct htable *t, struct group *g)
{
    if (g && g->count == 0) {
        ht_remove(t, &g->h);
        s->group_bytes -= sizeof(*g) + strlen(g->key) + 1;
        free(g);
    }
}

static void unlink_entry(struct krc_store *s, struct entry *e, int i)
{
    struct link *l = &e->link[i];
    struct group *g = l->group;

    if (!g)
        return;
    if (l->prev)
        l->prev->link[i].next = l->next;
    else
        g->head = l->next;
    if (l->next)
        l->next->link[i].prev = l->prev;
    g->count--;
    l->group = NULL;
    l->prev = l->next = NULL;
    group_drop_if_empty(s, &s->groups[i], g);
}

static void link_entry(struct entry *e, int i, struct group *g)
{
    struct link *l = &e->link[i];

    l->group = g;
    l->prev = NULL;
    l->next = g->head;
    if (g->head)
        g->head->link[i].prev = e;
    g->head = e;
    g->count++;
}

/* Puts e (holding its new object already or about to) into the groups of obj. All or nothing: the
 * groups that might be missing are made first, and only then is anything moved. */
static int reindex(struct krc_store *s, struct entry *e, const struct krc_object *obj)
{
    struct group *target[NIDX] = {0};
    int change[NIDX] = {0};

    for (int i = 0; i < NIDX; i++) {
        const char *key = index_key(s, obj, i);
        struct group *cur = e->link[i].group;
        if (cur ? key && strcmp(cur->key, key) == 0 : !key)
            continue;
        change[i] = 1;
        if (key && !(target[i] = group_get(s, &s->groups[i], key))) {
            for (int j = 0; j < i; j++)
                if (change[j])
                    group_drop_if_empty(s, &s->groups[j], target[j]);
            return KRC_ENOMEM;
        }
    }
    for (int i = 0; i < NIDX; i++) {
        if (!change[i])
            continue;
        unlink_entry(s, e, i); /* may drop the old group, never target[i]: keys differ */
        if (target[i])
            link_entry(e, i, target[i]);
    }
    return 0;
}

/* ---- life cycle ---- */

int krc_store_new(const struct krc_store_options *opts, struct krc_store **out,
                  struct krc_error *err)
{
    struct krc_store *s = calloc(1, sizeof(*s));
    int rc = KRC_ENOMEM;

    *out = NULL;
    if (!s)
        return krc_error_set(err, KRC_ENOMEM, "store: out of memory");
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return krc_error_set(err, KRC_ENOMEM, "store: cannot create its mutex");
    }
    if (ht_init(&s->entries) < 0)
        goto err;
    for (int i = 0; i < NIDX; i++)
        if (ht_init(&s->groups[i]) < 0)
            goto err;
    if (opts && opts->index_label && !(s->index_label = strdup(opts->index_label)))
        goto err;
    *out = s;
    return 0;
err:
    krc_store_free(s);
    return krc_error_set(err, rc, "store: out of memory");
}

void krc_store_free(struct krc_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->entries.b && i < s->entries.n; i++) {
        struct hnode *h = s->entries.b[i];
        while (h) {
            struct hnode *next = h->next;
            krc_object_unref(((struct entry *)h)->obj);
            free(h);
            h = next;
        }
    }
    free(s->entries.b);
    for (int g = 0; g < NIDX; g++) {
        for (size_t i = 0; s->groups[g].b && i < s->groups[g].n; i++) {
            struct hnode *h = s->groups[g].b[i];
            while (h) {
                struct hnode *next = h->next;
                free(h);
                h = next;
            }
        }
        free(s->groups[g].b);
    }
    free(s->index_label);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- reading ---- */

void krc_object_list_release(struct krc_object_list *l)
{
    for (size_t i = 0; i < l->len; i++)
        krc_object_unref(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

struct krc_object *krc_store_get(struct krc_store *s, const char *ns, const char *name)
{
    struct krc_object *o = NULL;
    struct entry *e;

    if (!name)
        return NULL;
    if (!ns)
        ns = "";
    pthread_mutex_lock(&s->lock);
    e = entry_find(s, ns, name, hash_key(ns, name));
    if (e)
        o = krc_object_ref(e->obj);
    pthread_mutex_unlock(&s->lock);
    return o;
}

size_t krc_store_len(struct krc_store *s)
{
    size_t n;
    pthread_mutex_lock(&s->lock);
    n = s->entries.count;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static int list_alloc(struct krc_object_list *out, size_t n, struct krc_error *err)
{
    out->items = NULL;
    out->len = 0;
    if (n == 0)
        return 0;
    out->items = malloc(n * sizeof(*out->items));
    if (!out->items)
        return krc_error_set(err, KRC_ENOMEM, "store: out of memory for a list of %zu objects", n);
    return 0;
}

int krc_store_list(struct krc_store *s, struct krc_object_list *out, struct krc_error *err)
{
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = list_alloc(out, s->entries.count, err);
    for (size_t i = 0; rc == 0 && i < s->entries.n; i++)
        for (struct hnode *h = s->entries.b[i]; h; h = h->next)
            out->items[out->len++] = krc_object_ref(((struct entry *)h)->obj);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int krc_store_list_index(struct krc_store *s, enum krc_store_index index, const char *key,
                         struct krc_object_list *out, struct krc_error *err)
{
    struct group *g;
    int rc;

    out->items = NULL;
    out->len = 0;
    if ((unsigned)index >= NIDX || (index == KRC_STORE_BY_LABEL && !s->index_label) || !key)
        return krc_error_set(err, KRC_EINVAL, "store: no index %d or no key", (int)index);
    pthread_mutex_lock(&s->lock);
    g = group_find(&s->groups[index], key, hash_str(key));
    rc = list_alloc(out, g ? g->count : 0, err);
    for (struct entry *e = g && rc == 0 ? g->head : NULL; e; e = e->link[index].next)
        out->items[out->len++] = krc_object_ref(e->obj);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

size_t krc_store_count_index(struct krc_store *s, enum krc_store_index index, const char *key)
{
    struct group *g;
    size_t n;

    if ((unsigned)index >= NIDX || !key)
        return 0;
    pthread_mutex_lock(&s->lock);
    g = group_find(&s->groups[index], key, hash_str(key));
    n = g ? g->count : 0;
    pthread_mutex_unlock(&s->lock);
    return n;
}

size_t krc_store_bytes(struct krc_store *s)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = s->object_bytes + s->group_bytes + s->entries.count * sizeof(struct entry) +
        s->entries.n * sizeof(struct hnode *);
    for (int i = 0; i < NIDX; i++)
        n += s->groups[i].n * sizeof(struct hnode *);
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* ---- writing ---- */

/* Inserts or replaces under the lock; *prev gets the replaced object (a reference) or NULL. */
static int upsert_locked(struct krc_store *s, struct krc_object *obj, struct entry *e,
                         uint64_t hash, struct krc_object **prev)
{
    int rc;

    *prev = NULL;
    if (e) {
        rc = reindex(s, e, obj);
        if (rc < 0)
            return rc;
        *prev = e->obj;
        e->obj = krc_object_ref(obj);
        e->mark = s->epoch;
        s->object_bytes += krc_object_size(obj) - krc_object_size(*prev);
        return 0;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        return KRC_ENOMEM;
    rc = reindex(s, e, obj);
    if (rc < 0) {
        free(e);
        return rc;
    }
    e->h.hash = hash;
    e->obj = krc_object_ref(obj);
    e->mark = s->epoch;
    ht_insert(&s->entries, &e->h);
    s->object_bytes += krc_object_size(obj);
    return 0;
}

static int write_error(int rc, const struct krc_object *obj, struct krc_error *err)
{
    return krc_error_set(err, rc, "store %s/%s: %s", krc_object_namespace(obj),
                         krc_object_name(obj),
                         rc == KRC_ENOMEM ? "out of memory" : "object without a name");
}

static int store_write(struct krc_store *s, struct krc_object *obj, int skip_unchanged,
                       enum krc_store_change *change, struct krc_object **old,
                       struct krc_error *err)
{
    const char *ns = krc_object_namespace(obj), *name = krc_object_name(obj);
    uint64_t hash = hash_key(ns, name);
    struct krc_object *prev = NULL;
    struct entry *e;
    int rc = 0;

    if (old)
        *old = NULL;
    if (!*name)
        return write_error(KRC_EINVAL, obj, err);
    pthread_mutex_lock(&s->lock);
    e = entry_find(s, ns, name, hash);
    if (skip_unchanged && e &&
        strcmp(krc_object_resource_version(e->obj), krc_object_resource_version(obj)) == 0) {
        e->mark = s->epoch;
        *change = KRC_STORE_UNCHANGED;
    } else {
        rc = upsert_locked(s, obj, e, hash, &prev);
        if (change)
            *change = e ? KRC_STORE_UPDATED : KRC_STORE_ADDED;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc < 0)
        return write_error(rc, obj, err);
    if (old)
        *old = prev;
    else
        krc_object_unref(prev);
    return 0;
}

int krc_store_upsert(struct krc_store *s, struct krc_object *obj, struct krc_object **old,
                     struct krc_error *err)
{
    return store_write(s, obj, 0, NULL, old, err);
}

/* Unlinks and frees e under the lock; returns its object reference. */
static struct krc_object *remove_locked(struct krc_store *s, struct entry *e)
{
    struct krc_object *o = e->obj;

    for (int i = 0; i < NIDX; i++)
        unlink_entry(s, e, i);
    ht_remove(&s->entries, &e->h);
    s->object_bytes -= krc_object_size(o);
    free(e);
    return o;
}

int krc_store_delete(struct krc_store *s, const char *ns, const char *name, struct krc_object **old)
{
    struct krc_object *o = NULL;
    struct entry *e;

    if (!name)
        return KRC_ENOTFOUND;
    if (!ns)
        ns = "";
    pthread_mutex_lock(&s->lock);
    e = entry_find(s, ns, name, hash_key(ns, name));
    if (e)
        o = remove_locked(s, e);
    pthread_mutex_unlock(&s->lock);
    if (old)
        *old = o;
    else
        krc_object_unref(o);
    return o ? 0 : KRC_ENOTFOUND;
}

void krc_store_replace_begin(struct krc_store *s)
{
    pthread_mutex_lock(&s->lock);
    s->epoch++;
    pthread_mutex_unlock(&s->lock);
}

int krc_store_replace_item(struct krc_store *s, struct krc_object *obj,
                           enum krc_store_change *change, struct krc_object **old,
                           struct krc_error *err)
{
    return store_write(s, obj, 1, change, old, err);
}

int krc_store_replace_end(struct krc_store *s, struct krc_object_list *deleted,
                          struct krc_error *err)
{
    size_t stale = 0;
    int rc;

    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->entries.n; i++)
        for (struct hnode *h = s->entries.b[i]; h; h = h->next)
            stale += ((struct entry *)h)->mark != s->epoch;
    rc = list_alloc(deleted, stale, err);
    for (size_t i = 0; rc == 0 && stale && i < s->entries.n; i++) {
        struct hnode **p = &s->entries.b[i];
        while (*p) {
            struct entry *e = (struct entry *)*p;
            if (e->mark == s->epoch) {
                p = &(*p)->next;
                continue;
            }
            deleted->items[deleted->len++] = remove_locked(s, e); /* unlinks *p */
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}
