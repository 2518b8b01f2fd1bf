/* raycluster_testutil.h - shared helpers for the RayCluster, RayJob and RayCronJob unit tests
 * (header-only, static: the unit-test build turns every test_*.c into its own binary, so shared
 * test code lives in headers).
 *
 * Test manifests live in tests/data/raycluster/ and tests/data/rayjob/ (KRC_TESTDATA points at
 * tests/data). A case starts from a manifest and applies small patches by dotted path
 * ("spec.workerGroupSpecs.0.replicas"), so each table row states only what differs. */
#ifndef KRC_TESTS_RAYCLUSTER_TESTUTIL_H
#define KRC_TESTS_RAYCLUSTER_TESTUTIL_H

#include "api/kobj.h"
#include "api/raycluster.h"

#include <jansson.h>
#include <setjmp.h> /* setjmp.h, stdarg.h, stddef.h, stdint.h: before cmocka.h */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* fail_msg */

/* Not every test uses every helper. */
#define TU_FN static __attribute__((unused))

/* Loads tests/data/<dir>/<name>; aborts the test binary on failure (missing test data is a
 * broken checkout, not a test result). */
TU_FN json_t *tu_load_from(const char *dir, const char *name)
{
    const char *root = getenv("KRC_TESTDATA");
    char path[1024];
    json_error_t jerr;
    snprintf(path, sizeof(path), "%s/%s/%s", root ? root : "tests/data", dir, name);
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc) {
        fprintf(stderr, "cannot load %s: %s (line %d)\n", path, jerr.text, jerr.line);
        abort();
    }
    return doc;
}

/* A RayCluster manifest from tests/data/raycluster/. */
TU_FN json_t *tu_load(const char *name)
{
    return tu_load_from("raycluster", name);
}

/* A RayJob or RayCronJob manifest from tests/data/rayjob/. */
TU_FN json_t *tu_load_rayjob(const char *name)
{
    return tu_load_from("rayjob", name);
}

TU_FN json_t *tu_json(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v) {
        fprintf(stderr, "bad JSON in test: %s: %s\n", text, jerr.text);
        abort();
    }
    return v;
}

/* Sets (value_json non-NULL) or deletes (NULL) the member at a dotted path; numeric segments index
 * arrays. Intermediate objects are created as needed. */
TU_FN void tu_set(json_t *doc, const char *path, const char *value_json)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = doc;
    char *seg = buf;
    for (;;) {
        char *dot = strchr(seg, '.');
        if (dot)
            *dot = '\0';
        bool is_index = seg[0] >= '0' && seg[0] <= '9';
        if (!dot) {
            if (is_index) {
                size_t i = strtoul(seg, NULL, 10);
                if (value_json && i >= json_array_size(cur))
                    json_array_append_new(cur, tu_json(value_json));
                else if (value_json)
                    json_array_set_new(cur, i, tu_json(value_json));
                else
                    json_array_remove(cur, i);
            } else if (value_json) {
                json_object_set_new(cur, seg, tu_json(value_json));
            } else {
                json_object_del(cur, seg);
            }
            return;
        }
        json_t *next =
            is_index ? json_array_get(cur, strtoul(seg, NULL, 10)) : json_object_get(cur, seg);
        if (!next) {
            next = json_object();
            json_object_set_new(cur, seg, next);
        }
        cur = next;
        seg = dot + 1;
    }
}

/* Parses doc into rc; aborts with the error when parsing fails. */
TU_FN void tu_parse(json_t *doc, struct raycluster *rc)
{
    struct krc_error err = {0};
    if (raycluster_parse(doc, rc, &err) != 0) {
        fprintf(stderr, "parse failed: %s\n", err.msg);
        abort();
    }
}

TU_FN const char *tu_env_value(const json_t *container, const char *name)
{
    json_t *e = kobj_env_find(container, name);
    return e ? kobj_str(e, "value") : NULL;
}

/* The names of container.env joined by ",". */
TU_FN const char *tu_env_names(const json_t *container, char *buf, size_t size)
{
    size_t used = 0, i;
    json_t *e;
    buf[0] = '\0';
    json_array_foreach(kobj_arr(container, "env"), i, e)
    {
        int n = snprintf(buf + used, size - used, "%s%s", i ? "," : "", kobj_str(e, "name"));
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* Compact JSON with sorted keys, for comparing subtrees as text. Caller frees. */
TU_FN char *tu_dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* Fails the test unless v, as compact sorted JSON, equals want (any JSON text) normalised. */
TU_FN void tu_assert_json(const json_t *v, const char *want)
{
    char *got = tu_dump(v);
    json_t *w = tu_json(want);
    char *norm = tu_dump(w);
    if (!got || strcmp(got, norm) != 0)
        fail_msg("\n got  %s\n want %s", got ? got : "(null)", norm);
    free(got);
    free(norm);
    json_decref(w);
}

/* gpu-worker.json renamed "c": one worker group with the given replicas (-1 = absent), min and
 * max. */
TU_FN json_t *tu_one_group_cluster(int replicas, int min, int max)
{
    json_t *doc = tu_load("gpu-worker.json");
    char buf[32];
    tu_set(doc, "metadata.name", "\"c\"");
    if (replicas >= 0) {
        snprintf(buf, sizeof(buf), "%d", replicas);
        tu_set(doc, "spec.workerGroupSpecs.0.replicas", buf);
    } else {
        tu_set(doc, "spec.workerGroupSpecs.0.replicas", NULL);
    }
    snprintf(buf, sizeof(buf), "%d", min);
    tu_set(doc, "spec.workerGroupSpecs.0.minReplicas", buf);
    snprintf(buf, sizeof(buf), "%d", max);
    tu_set(doc, "spec.workerGroupSpecs.0.maxReplicas", buf);
    return doc;
}

#endif
