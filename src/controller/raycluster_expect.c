/* raycluster_expect.c - scale expectations (see raycluster_expect.h). A flat array under a mutex;
 * items are removed by swapping the last one in, so order is not kept (none is needed). */
#include "controller/raycluster_expect.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct expect_item {
    char *ns, *cluster, *group, *pod;
    enum raycluster_expect_op op;
    int64_t recorded_ns;
};

struct raycluster_expect {
    pthread_mutex_t mu;
    struct expect_item *items;
    size_t n, cap;
};

int raycluster_expect_new(struct raycluster_expect **out, struct krc_error *err)
{
    struct raycluster_expect *e = calloc(1, sizeof(*e));
    if (!e)
        return krc_error_set(err, KRC_ENOMEM, "scale expectations: out of memory");
    pthread_mutex_init(&e->mu, NULL);
    *out = e;
    return 0;
}

static void item_free(struct expect_item *it)
{
    free(it->ns);
    free(it->cluster);
    free(it->group);
    free(it->pod);
}

static void remove_at(struct raycluster_expect *e, size_t i)
{
    item_free(&e->items[i]);
    e->items[i] = e->items[--e->n];
}

void raycluster_expect_free(struct raycluster_expect *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        item_free(&e->items[i]);
    free(e->items);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

int raycluster_expect_record(struct raycluster_expect *e, const char *ns, const char *cluster,
                             const char *group, const char *pod, enum raycluster_expect_op op,
                             int64_t now_ns)
{
    struct expect_item it = {strdup(ns), strdup(cluster), strdup(group), strdup(pod), op, now_ns};
    int r = KRC_ENOMEM;
    if (!it.ns || !it.cluster || !it.group || !it.pod)
        goto fail;
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->items[i].ns, ns) == 0 && strcmp(e->items[i].pod, pod) == 0) {
            item_free(&e->items[i]);
            e->items[i] = it;
            pthread_mutex_unlock(&e->mu);
            return 0;
        }
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        struct expect_item *items = realloc(e->items, cap * sizeof(*items));
        if (!items) {
            pthread_mutex_unlock(&e->mu);
            goto fail;
        }
        e->items = items;
        e->cap = cap;
    }
    e->items[e->n++] = it;
    pthread_mutex_unlock(&e->mu);
    return 0;
fail:
    item_free(&it);
    return r;
}

static bool observed(const struct expect_item *it, raycluster_expect_lookup_fn lookup, void *ctx,
                     int64_t now_ns)
{
    int found = lookup(ctx, it->ns, it->pod);
    if (it->op == RAYCLUSTER_EXPECT_CREATE)
        return found == 1 || now_ns - it->recorded_ns > RAYCLUSTER_EXPECT_CREATE_TIMEOUT_NS;
    return found == 0;
}

bool raycluster_expect_satisfied(struct raycluster_expect *e, const char *ns, const char *cluster,
                                 const char *group, raycluster_expect_lookup_fn lookup, void *ctx,
                                 int64_t now_ns)
{
    bool ok = true;
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < e->n;) {
        struct expect_item *it = &e->items[i];
        if (strcmp(it->ns, ns) != 0 || strcmp(it->cluster, cluster) != 0 ||
            strcmp(it->group, group) != 0) {
            i++;
            continue;
        }
        if (!observed(it, lookup, ctx, now_ns)) {
            ok = false;
            break;
        }
        remove_at(e, i);
    }
    pthread_mutex_unlock(&e->mu);
    return ok;
}

void raycluster_expect_drop_cluster(struct raycluster_expect *e, const char *ns,
                                    const char *cluster)
{
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < e->n;) {
        if (strcmp(e->items[i].ns, ns) == 0 && strcmp(e->items[i].cluster, cluster) == 0)
            remove_at(e, i);
        else
            i++;
    }
    pthread_mutex_unlock(&e->mu);
}

size_t raycluster_expect_len(struct raycluster_expect *e)
{
    pthread_mutex_lock(&e->mu);
    size_t n = e->n;
    pthread_mutex_unlock(&e->mu);
    return n;
}
