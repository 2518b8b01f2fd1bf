/* get.h - the pure halves of the `get` commands: list JSON in, table rows out (get.c). */
#ifndef KRC_CLI_GET_H
#define KRC_CLI_GET_H

#include "cli/cli.h"

/* Rows of `get cluster` from a RayClusterList; ages relative to now (Unix seconds). */
int cli_cluster_rows(const json_t *list, int64_t now, struct cli_table *t);
/* Rows of `get node` from a PodList; the NAMESPACE column only with all_namespaces. */
int cli_node_rows(const json_t *list, bool all_namespaces, int64_t now, struct cli_table *t);
/* The `get workergroup` header, then one row per group (ready = cli_ready_workers of its pods). */
int cli_workergroup_table_init(bool all_namespaces, struct cli_table *t);
int cli_workergroup_row(const json_t *cluster, const json_t *group, size_t ready,
                        bool all_namespaces, struct cli_table *t);
/* Pods labelled worker, Running, with condition Ready=True, in a PodList. */
size_t cli_ready_workers(const json_t *pods);

#endif
