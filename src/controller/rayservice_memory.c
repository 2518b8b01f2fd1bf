/* rayservice_memory.c - the RayService controller's in-memory tables (see rayservice_memory.h). */
#define _GNU_SOURCE
#include "controller/rayservice_memory.h"

#include <stdlib.h>
#include <string.h>

void rayservice_memory_init(struct rayservice_memory *m)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
}

static void serve_entry_free(struct rayservice_memory_serve *e)
{
    free(e->key);
    free(e->cluster);
    free(e->config);
}

bool rayservice_memory_serve_matches(struct rayservice_memory *m, const char *key,
                                     const char *cluster, const char *config)
{
    bool hit = false;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nserve && !hit; i++)
        hit = strcmp(m->serve[i].key, key) == 0 && strcmp(m->serve[i].cluster, cluster) == 0 &&
              strcmp(m->serve[i].config, config) == 0;
    pthread_mutex_unlock(&m->mu);
    return hit;
}

bool rayservice_memory_serve_has(struct rayservice_memory *m, const char *key, const char *cluster)
{
    bool hit = false;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nserve && !hit; i++)
        hit = strcmp(m->serve[i].key, key) == 0 && strcmp(m->serve[i].cluster, cluster) == 0;
    pthread_mutex_unlock(&m->mu);
    return hit;
}

/* Keeps the entries of key whose cluster is `keep1` or `keep2` (NULL keeps none of key). */
void rayservice_memory_serve_prune(struct rayservice_memory *m, const char *key, const char *keep1,
                                   const char *keep2)
{
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nserve;) {
        struct rayservice_memory_serve *e = &m->serve[i];
        bool keep = strcmp(e->key, key) != 0 || (keep1 && strcmp(e->cluster, keep1) == 0) ||
                    (keep2 && strcmp(e->cluster, keep2) == 0);
        if (keep) {
            i++;
            continue;
        }
        serve_entry_free(e);
        m->serve[i] = m->serve[--m->nserve];
    }
    pthread_mutex_unlock(&m->mu);
}

/* Records config as the one submitted to cluster. Best effort: out of memory only means a
 * resubmission next pass. */
void rayservice_memory_serve_store(struct rayservice_memory *m, const char *key,
                                   const char *cluster, const char *config)
{
    pthread_mutex_lock(&m->mu);
    struct rayservice_memory_serve *e = NULL;
    for (size_t i = 0; i < m->nserve && !e; i++)
        if (strcmp(m->serve[i].key, key) == 0 && strcmp(m->serve[i].cluster, cluster) == 0)
            e = &m->serve[i];
    if (!e && m->nserve == m->capserve) {
        size_t cap = m->capserve ? 2 * m->capserve : 16;
        struct rayservice_memory_serve *n = realloc(m->serve, cap * sizeof(*n));
        if (!n)
            goto out;
        m->serve = n;
        m->capserve = cap;
    }
    if (!e) {
        e = &m->serve[m->nserve];
        e->key = strdup(key);
        e->cluster = strdup(cluster);
        e->config = NULL;
        if (!e->key || !e->cluster) {
            serve_entry_free(e);
            goto out;
        }
        m->nserve++;
    }
    char *copy = strdup(config);
    if (copy) {
        free(e->config);
        e->config = copy;
    } else if (!e->config) { /* a new entry without a config: drop it */
        serve_entry_free(e);
        *e = m->serve[--m->nserve];
    }
out:
    pthread_mutex_unlock(&m->mu);
}

/* §6.5: the recorded deletion time of a dangling cluster, recording now + delay on first
 * sighting (then returns 0: nothing is deleted in that pass). */
int64_t rayservice_memory_deletion_time(struct rayservice_memory *m, const char *ns,
                                        const char *cluster, int64_t now, int32_t delay)
{
    int64_t at = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->ndel && !at; i++)
        if (strcmp(m->del[i].ns, ns) == 0 && strcmp(m->del[i].cluster, cluster) == 0)
            at = m->del[i].at;
    if (!at) {
        if (m->ndel == m->capdel) {
            size_t cap = m->capdel ? 2 * m->capdel : 16;
            struct rayservice_memory_deletion *n = realloc(m->del, cap * sizeof(*n));
            if (!n)
                goto out;
            m->del = n;
            m->capdel = cap;
        }
        struct rayservice_memory_deletion *e = &m->del[m->ndel];
        e->ns = strdup(ns);
        e->cluster = strdup(cluster);
        e->at = now + delay;
        if (!e->ns || !e->cluster) {
            free(e->ns);
            free(e->cluster);
            goto out;
        }
        m->ndel++;
    }
out:
    pthread_mutex_unlock(&m->mu);
    return at;
}

/* Forgets a deleted cluster's deletion time (KubeRay never does; nothing observable depends on
 * it, and it keeps the table bounded). */
void rayservice_memory_deletion_forget(struct rayservice_memory *m, const char *ns,
                                       const char *cluster)
{
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->ndel; i++) {
        if (strcmp(m->del[i].ns, ns) == 0 && strcmp(m->del[i].cluster, cluster) == 0) {
            free(m->del[i].ns);
            free(m->del[i].cluster);
            m->del[i] = m->del[--m->ndel];
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
}

void rayservice_memory_release(struct rayservice_memory *m)
{
    for (size_t i = 0; i < m->nserve; i++)
        serve_entry_free(&m->serve[i]);
    free(m->serve);
    for (size_t i = 0; i < m->ndel; i++) {
        free(m->del[i].ns);
        free(m->del[i].cluster);
    }
    free(m->del);
    pthread_mutex_destroy(&m->mu);
    memset(m, 0, sizeof(*m));
}
