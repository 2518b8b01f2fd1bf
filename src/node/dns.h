/* dns.h - the node agent's cluster DNS: the records every pod's /etc/hosts lists (dns.c).
 *
 * Three informers (Services, EndpointSlices, Pods of every namespace, each projected to the few
 * fields the records read) feed a thread that recomputes the records after a relevant change,
 * once a burst of changes has settled, and wakes the pod workers when the records differ. */
#ifndef KRC_NODE_DNS_H
#define KRC_NODE_DNS_H

#include "kube/store.h"
#include "util/error.h"
#include "util/strbuf.h"

#include <jansson.h>
#include <stdint.h>

struct krc_agent;
struct krc_dns;

/* A recomputation waits until no relevant change came for KRC_DNS_QUIET_MS, but at most
 * KRC_DNS_MAX_DELAY_MS after the first change of a burst (a steady stream of changes cannot
 * postpone it forever). */
#define KRC_DNS_QUIET_MS     150
#define KRC_DNS_MAX_DELAY_MS 1000

enum krc_dns_kind { KRC_DNS_SERVICES, KRC_DNS_SLICES, KRC_DNS_PODS, KRC_DNS_NKINDS };

/* The projection (declared paths) of kind's informer; *n receives their count. Objects handed to
 * krc_dns_compute and krc_dns_relevant must have been projected with exactly these paths. */
const char *const *krc_dns_paths(enum krc_dns_kind kind, size_t *n);

/* Whether a change of one object (old NULL: added; new NULL: deleted) can change the records:
 * a Service or an EndpointSlice whose declared fields changed, a pod whose named record
 * (spec.hostname, spec.subdomain, status.podIP, not being deleted) appeared, changed or went.
 * Pure. */
int krc_dns_relevant(enum krc_dns_kind kind, const struct krc_object *old_obj,
                     const struct krc_object *new_obj);

/* When (ms, any clock) a burst whose first relevant change came at first_ms and last at last_ms
 * is recomputed. Pure. */
int64_t krc_dns_due_ms(int64_t first_ms, int64_t last_ms);

/* The records of Services, EndpointSlices and Pods: a new array of
 * {"ip","ns","names":[...],"short":name or null}, or NULL when out of memory. Sorts the lists in
 * place into the API server's list order (by "namespace/name", bytewise), so records come in
 * the order a list would give them whatever order the store kept them in. Pure. */
json_t *krc_dns_compute(struct krc_object_list *svcs, struct krc_object_list *slices,
                        struct krc_object_list *pods);

/* Starts the informers and the thread that publishes the records into a->dns_records. KRC_ENOMEM,
 * KRC_EINVAL, KRC_EIO (no thread). */
int krc_dns_start(struct krc_agent *a, struct krc_dns **out, struct krc_error *err);
/* Stops the informers and the thread, and frees d (NULL is ignored). */
void krc_dns_stop(struct krc_dns *d);

/* /etc/hosts content for a pod in ns with ip and hostname. */
int krc_dns_hosts(struct krc_agent *a, const char *ns, const char *ip, const char *hostname,
                  struct krc_strbuf *out);

#endif
