/* fake_kube.c - kube clients of the unit tests' fake API servers (see fake_kube.h). */
#include "fake_kube.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct krc_client *fake_kube_client(int port, const char *token, long timeout_ms, int max_retries)
{
    struct krc_kubeconfig cfg;
    struct krc_client *c = NULL;
    struct krc_error err = {0, ""};
    char url[64];
    memset(&cfg, 0, sizeof(cfg));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    cfg.server = strdup(url);
    cfg.token = token ? strdup(token) : NULL;
    cfg.namespace = strdup("default");
    assert_true(cfg.server && cfg.namespace && (!token || cfg.token));
    struct krc_client_options opts = {
        .qps = -1, .request_timeout_ms = timeout_ms, .max_retries = max_retries};
    if (krc_client_new(&cfg, &opts, &c, &err) != 0)
        fail_msg("client: %s", err.msg);
    krc_kubeconfig_free(&cfg);
    return c;
}
