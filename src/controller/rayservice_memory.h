/* rayservice_memory.h - what the RayService controller remembers between passes, in memory only,
 * as KubeRay does (spec rayservice.md §6.5, §7.3):
 *   - the Serve config last submitted successfully per (RayService, RayCluster), so a config is
 *     PUT again only when it changed (or the cluster has no applications);
 *   - the deletion time of each dangling RayCluster (first sighting + the deletion delay).
 * After an operator restart both are empty: configs are submitted once more (the PUT is
 * idempotent) and deletion delays start again, as in KubeRay.
 *
 * KubeRay keeps the configs in an LRU of 1000 RayServices; here entries are dropped when the
 * RayService is gone or the cluster is neither active nor pending (rayservice_memory_serve_prune),
 * so the table is bounded by live objects. Both tables are arrays searched linearly under one
 * mutex: a handful of entries per RayService, O(n) in RayServices per lookup; a hash table would
 * make that O(1) if thousands of RayServices ever matter. Thread-safe. */
#ifndef KRC_CONTROLLER_RAYSERVICE_MEMORY_H
#define KRC_CONTROLLER_RAYSERVICE_MEMORY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rayservice_memory_serve {
    char *key; /* "ns/rayservice" */
    char *cluster;
    char *config;
};

struct rayservice_memory_deletion {
    char *ns, *cluster;
    int64_t at; /* unix seconds */
};

struct rayservice_memory {
    pthread_mutex_t mu;
    struct rayservice_memory_serve *serve;
    size_t nserve, capserve;
    struct rayservice_memory_deletion *del;
    size_t ndel, capdel;
};

void rayservice_memory_init(struct rayservice_memory *m);
void rayservice_memory_release(struct rayservice_memory *m);

/* A config is recorded for (key, cluster). */
bool rayservice_memory_serve_has(struct rayservice_memory *m, const char *key, const char *cluster);
/* The recorded config for (key, cluster) is exactly `config`. */
bool rayservice_memory_serve_matches(struct rayservice_memory *m, const char *key,
                                     const char *cluster, const char *config);
/* Records config for (key, cluster). Best effort: out of memory only means a resubmission. */
void rayservice_memory_serve_store(struct rayservice_memory *m, const char *key,
                                   const char *cluster, const char *config);
/* Drops the entries of key whose cluster is neither keep1 nor keep2 (NULL matches nothing). */
void rayservice_memory_serve_prune(struct rayservice_memory *m, const char *key, const char *keep1,
                                   const char *keep2);

/* The deletion time of a dangling cluster; on first sighting records now + delay and returns 0
 * (nothing is deleted in that pass, §6.5). Also 0 when out of memory (then retried next pass). */
int64_t rayservice_memory_deletion_time(struct rayservice_memory *m, const char *ns,
                                        const char *cluster, int64_t now, int32_t delay);
/* Forgets a cluster's deletion time. */
void rayservice_memory_deletion_forget(struct rayservice_memory *m, const char *ns,
                                       const char *cluster);

#endif
