/* etcd_compact.h - test helpers that make "resourceVersion too old" (410 Gone) happen on demand.
 *
 * On a fresh control plane "watch from resourceVersion 1" legitimately succeeds twice over: etcd
 * still holds every revision (the API server compacts only every five minutes), and the API
 * server's watch cache, started at about revision 1, still holds every event. So a test first
 * compacts etcd to its current revision (etcd_compact_now, through etcd's JSON gateway at
 * $KRC_ETCD_ENDPOINT) and then restarts kube-apiserver (krc_test_restart_apiserver, through
 * hack/cluster.sh), whose new watch cache starts at the current revision: from then on an older
 * resourceVersion is 410 Gone. Header-only, for tests. */
#ifndef KRC_TEST_ETCD_COMPACT_H
#define KRC_TEST_ETCD_COMPACT_H

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct etcd_compact_buf {
    char data[4096];
    size_t len;
};

static size_t etcd_compact_write(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    struct etcd_compact_buf *b = ctx;
    size_t n = size * nmemb;
    size_t room = sizeof(b->data) - 1 - b->len;
    memcpy(b->data + b->len, ptr, n < room ? n : room);
    b->len += n < room ? n : room;
    b->data[b->len] = '\0';
    return n;
}

static int etcd_compact_post(const char *endpoint, const char *path, const char *body,
                             struct etcd_compact_buf *out)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", endpoint, path);
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    out->len = 0;
    out->data[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, etcd_compact_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return rc == CURLE_OK && status == 200 ? 0 : -1;
}

/* Returns the revision compacted to (> 0), or -1 with a message on stderr. */
static long long etcd_compact_now(void)
{
    const char *endpoint = getenv("KRC_ETCD_ENDPOINT");
    if (!endpoint || !*endpoint) {
        fprintf(stderr, "etcd_compact: KRC_ETCD_ENDPOINT is not set\n");
        return -1;
    }
    struct etcd_compact_buf b;
    /* Any range read returns the current revision in its header ("Zm9v" is base64 "foo"). */
    if (etcd_compact_post(endpoint, "/v3/kv/range", "{\"key\":\"Zm9v\"}", &b) != 0) {
        fprintf(stderr, "etcd_compact: range at %s failed: %s\n", endpoint, b.data);
        return -1;
    }
    const char *p = strstr(b.data, "\"revision\":\"");
    if (!p) {
        fprintf(stderr, "etcd_compact: no revision in %s\n", b.data);
        return -1;
    }
    long long rev = strtoll(p + strlen("\"revision\":\""), NULL, 10);
    char body[128];
    snprintf(body, sizeof(body), "{\"revision\":\"%lld\",\"physical\":true}", rev);
    if (etcd_compact_post(endpoint, "/v3/kv/compaction", body, &b) != 0 &&
        !strstr(b.data, "compacted")) {
        fprintf(stderr, "etcd_compact: compaction to %lld failed: %s\n", rev, b.data);
        return -1;
    }
    return rev;
}

/* Kills the test cluster's kube-apiserver and starts it again with hack/cluster.sh (the cluster
 * named $KRC_CLUSTER_NAME); returns when /readyz passes again. 0 or -1. */
static int krc_test_restart_apiserver(void)
{
    const char *name = getenv("KRC_CLUSTER_NAME");
    if (!name || !*name)
        return -1;
    char cmd[1024];
    snprintf(
        cmd, sizeof(cmd),
        "pid=$(cat \"${KRC_CACHE:-$HOME/.cache/kuberay-c}/clusters/%s/run/kube-apiserver.pid\") "
        "&& kill \"$pid\" && while kill -0 \"$pid\" 2>/dev/null; do sleep 0.1; done "
        "&& %s/hack/cluster.sh up --name %s >/dev/null 2>&1",
        name, KRC_SOURCE_DIR, name);
    return system(cmd) == 0 ? 0 : -1;
}

/* Makes every resourceVersion older than now 410 Gone: compaction, then a fresh watch cache. */
static int krc_test_expire_resource_versions(void)
{
    if (etcd_compact_now() <= 0)
        return -1;
    return krc_test_restart_apiserver();
}

#endif
