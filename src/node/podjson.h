/* podjson.h - the JSON forms of pod data: the sandbox record (sandbox.json, written by the agent),
 * container specs and statuses (on the supervisor socket and in status.json), and the small file
 * helpers that read and atomically replace those files.
 *
 * JSON because both files and the socket protocol are then readable with cat and socat when a pod
 * misbehaves, and jansson is already a project dependency. Decoders treat input as hostile: they
 * check types, lengths and counts, and return KRC_EINVAL naming the bad field. Decoded strings
 * point into the json_t the caller passed, which must outlive the decoded struct. */
#ifndef KRC_NODE_PODJSON_H
#define KRC_NODE_PODJSON_H

#include "node/podspec.h"
#include "util/error.h"

#include <jansson.h>
#include <stdint.h>

#define KRC_SANDBOX_MAX_CGROUPS 2 /* v1: memory and cpu directories; v2: one */

/* What the agent knows about a sandbox; everything destroy needs to undo it. */
struct krc_sandbox_record {
    struct krc_sandbox_spec spec; /* spec.ip is the pod's address; spec.hostname is resolved */
    const char *bridge;
    const char *veth;
    const char *gateway;
    int prefix;
    const char *path; /* default PATH of containers */
    const char *cgroups[KRC_SANDBOX_MAX_CGROUPS];
    size_t n_cgroups;
    int pid; /* the supervisor, in the agent's PID namespace; 0 = not started */
    unsigned long long start_time;    /* its start time (clock ticks after boot, /proc/pid/stat) */
    struct krc_pod_mount *mounts_buf; /* owned by a decoded record; see release */
};

int krc_podjson_record_encode(const struct krc_sandbox_record *r, json_t **out,
                              struct krc_error *err);
int krc_podjson_record_decode(json_t *doc, struct krc_sandbox_record *r, struct krc_error *err);
/* Frees what decode allocated (not the strings, which belong to the json_t). */
void krc_podjson_record_release(struct krc_sandbox_record *r);

/* A decoded container spec: spec.argv/env point into argv_env (one allocation). */
struct krc_container_spec_buf {
    struct krc_container_spec spec;
    const char **argv_env;
};
int krc_podjson_container_spec_encode(const struct krc_container_spec *c, json_t **out,
                                      struct krc_error *err);
int krc_podjson_container_spec_decode(json_t *doc, struct krc_container_spec_buf *out,
                                      struct krc_error *err);
void krc_podjson_container_spec_release(struct krc_container_spec_buf *b);

int krc_podjson_status_encode(const struct krc_container_status *s, json_t **out,
                              struct krc_error *err);
int krc_podjson_status_decode(json_t *doc, struct krc_container_status *out, struct krc_error *err);
/* Decodes a JSON array of statuses into a malloc'd array (free() it); *n may be 0. */
int krc_podjson_status_array_decode(json_t *arr, struct krc_container_status **out, size_t *n,
                                    struct krc_error *err);

/* 1 if s is a DNS-1123 label (1..63 of [a-z0-9-], alphanumeric at both ends). */
int krc_podjson_valid_label(const char *s);
/* 1 if s is a usable pod uid: 1..64 of [A-Za-z0-9._-], not "." or "..". */
int krc_podjson_valid_uid(const char *s);

/* Reads and parses a JSON file at dirfd/name (at most 1 MiB). KRC_ENOTFOUND if missing. The
 * caller json_decref()s *out. */
int krc_podjson_read_file(int dirfd, const char *name, json_t **out, struct krc_error *err);
/* Writes doc to dirfd/name atomically (name.tmp, then rename). */
int krc_podjson_write_file(int dirfd, const char *name, json_t *doc, struct krc_error *err);

#endif
