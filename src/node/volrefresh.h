/* volrefresh.h - when the node agent rewrites a pod's projected service-account token (pure).
 *
 * As the kubelet does: a token is requested again once it has lived `fraction` of its lifetime
 * (0.8 by default: --token-refresh-fraction), and at least once a day, so in-pod clients always
 * read a valid one. ConfigMap, Secret and downward API contents are re-read every
 * --volume-refresh-seconds instead (volumes.c). */
#ifndef KRC_NODE_VOLREFRESH_H
#define KRC_NODE_VOLREFRESH_H

#include <stdint.h>

#define KRC_TOKEN_REFRESH_FRACTION_DEFAULT 0.8
#define KRC_TOKEN_REFRESH_MAX_AGE_S        (24 * 3600)
#define KRC_VOLUME_REFRESH_S_DEFAULT       60

/* The time (ms, the clock of issued_ms) to request a new token for one issued at issued_ms
 * that lives lifetime_s seconds. A fraction outside (0, 1] is taken as the default. */
int64_t krc_volrefresh_token_at(int64_t issued_ms, int64_t lifetime_s, double fraction);

/* Unix seconds of an RFC 3339 UTC time ("2026-12-01T10:47:00Z"); 0 if NULL or malformed. */
int64_t krc_volrefresh_parse_time(const char *s);

#endif
