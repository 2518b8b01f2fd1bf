/* raypod.h - reading observed Ray pods (as the informer cache holds them, JSON) the way KubeRay's
 * status, health and scaling code reads them. Pure accessors; nothing here allocates except
 * raypod_health(), which formats a reason. */
#ifndef KRC_CONTROLLER_RAYPOD_H
#define KRC_CONTROLLER_RAYPOD_H

#include "util/strbuf.h"

#include <jansson.h>
#include <stdbool.h>

const char *raypod_name(const json_t *pod);                   /* "" when absent */
const char *raypod_phase(const json_t *pod);                  /* "" when absent */
const char *raypod_label(const json_t *pod, const char *key); /* NULL when absent */
const char *raypod_restart_policy(const json_t *pod);         /* "" when absent */
bool raypod_is_terminating(const json_t *pod);                /* deletionTimestamp set */
/* The pod's Ready condition object, or NULL. */
const json_t *raypod_ready_condition(const json_t *pod);
/* Phase Running and condition Ready=True (KubeRay's IsRunningAndReady). */
bool raypod_running_and_ready(const json_t *pod);
/* The Ray container's state.terminated (status matched by the name of spec.containers[0]), or
 * NULL when it has not terminated or cannot be found. */
const json_t *raypod_ray_container_terminated(const json_t *pod);

/* KubeRay's "all pods running": at least one pod, all Running, none with Ready != True. */
bool raypod_all_running(const json_t *pods);

/* §6.8: whether the pod must be deleted. Writes KubeRay's reason text into reason (may be NULL).
 * node_type is "head" or "worker". Returns 1 (delete), 0 (keep) or KRC_ENOMEM. */
int raypod_should_delete(const json_t *pod, const char *node_type, struct krc_strbuf *reason);

/* Appends a readable rendering of the Ray container's terminated state ("<nil>" when none), the
 * "Ray container terminated status: %v" part of KubeRay's event notes. */
int raypod_terminated_text(const json_t *pod, struct krc_strbuf *out);

#endif
