/* fake_kube.h - test support: a kube/client.h client of a fake API server on loopback (see
 * fake_http.h), configured in code rather than from a kubeconfig file. */
#ifndef KRC_TESTS_UNIT_SUPPORT_FAKE_KUBE_H
#define KRC_TESTS_UNIT_SUPPORT_FAKE_KUBE_H

#include "kube/client.h"

/* A client of http://127.0.0.1:port, namespace "default", no QPS limit, bearer token (NULL: none),
 * request timeout and retries as given (-1: the client's default). Fails the test on error. */
struct krc_client *fake_kube_client(int port, const char *token, long timeout_ms, int max_retries);

#endif
