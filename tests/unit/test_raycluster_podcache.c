/* The RayCluster controller's pod cache (raycluster_controller_internal.h): what POD_PATHS keeps of
 * a pod (issue 5: no spec.containers, no status field nobody reads), and the documents
 * raycluster_ctrl_pods() rebuilds from it, with the Ray container's name taken from the pod's
 * group template so that raypod.h still finds the Ray container's terminated state. Also the
 * RayCluster cache shared with the RayJob controller. No API server: the informer is never
 * started, its store is filled by hand. */
#include "controller/raycluster_controller_internal.h"
#include "controller/raypod.h"
#include "raycluster_testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* A pod as the API server returns it, with what the cache must drop: the containers' specs (the
 * images), the init container statuses, hostIP, qosClass, the node name. */
static const char POD_FMT[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":"
    "\"default\",\"uid\":\"u-%s\",\"resourceVersion\":\"7\",\"labels\":{\"ray.io/cluster\":"
    "\"raycluster-kuberay\",\"ray.io/node-type\":\"%s\",\"ray.io/group\":\"%s\"},"
    "\"annotations\":{\"ray.io/ft-enabled\":\"false\"},\"ownerReferences\":[{\"apiVersion\":"
    "\"ray.io/v1\",\"kind\":\"RayCluster\",\"name\":\"raycluster-kuberay\",\"uid\":\"rc-uid\","
    "\"controller\":true}]},\"spec\":{\"nodeName\":\"node-1\",\"restartPolicy\":\"Never\","
    "\"containers\":[{\"name\":\"%s\",\"image\":\"rayproject/ray:DROPPED\"},{\"name\":\"side\","
    "\"image\":\"busybox:DROPPED\"}]},\"status\":{\"phase\":\"Running\",\"hostIP\":\"10.9.9.9\","
    "\"qosClass\":\"DROPPED\",\"podIP\":\"10.0.0.%d\",\"conditions\":[{\"type\":\"Ready\","
    "\"status\":\"False\"}],\"initContainerStatuses\":[{\"name\":\"wait-gcs-ready\",\"image\":"
    "\"DROPPED\"}],\"containerStatuses\":[{\"name\":\"side\",\"state\":{\"running\":{}}},"
    "{\"name\":\"%s\",\"state\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\"}}}]}}";

struct fixture {
    struct krc_client *client;
    struct krc_informer *inf;
    struct krc_projection *proj;
    struct nsset set;
    json_t *doc;
    struct raycluster rc;
};

static struct krc_client *offline_client(void)
{
    struct krc_kubeconfig cfg;
    struct krc_client *c = NULL;
    struct krc_error err = {0};
    memset(&cfg, 0, sizeof(cfg));
    cfg.server = strdup("http://127.0.0.1:1"); /* never called */
    cfg.namespace = strdup("default");
    struct krc_client_options opts = {.qps = -1, .request_timeout_ms = 1000, .max_retries = -1};
    if (krc_client_new(&cfg, &opts, &c, &err) != 0)
        fail_msg("client: %s", err.msg);
    krc_kubeconfig_free(&cfg);
    return c;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct krc_error err = {0};
    assert_non_null(f);
    f->client = offline_client();
    struct krc_informer_options io = {
        .resource = RES_POD,
        .paths = POD_PATHS,
        .npaths = NPATHS(POD_PATHS),
        .index_label = RAY_LABEL_CLUSTER,
    };
    assert_int_equal(krc_informer_new(f->client, &io, &f->inf, &err), 0);
    assert_int_equal(krc_projection_new(POD_PATHS, NPATHS(POD_PATHS), NULL, &f->proj, &err), 0);
    f->set.pods = f->inf;
    f->doc = tu_load("sample.json");
    tu_set(f->doc, "metadata.namespace", "\"default\"");
    tu_parse(f->doc, &f->rc);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    raycluster_release(&f->rc);
    json_decref(f->doc);
    krc_projection_free(f->proj);
    krc_informer_free(f->inf);
    krc_client_free(f->client);
    free(f);
    return 0;
}

/* Projects a pod and puts it in the informer's store; returns the store's object (borrowed). */
static const struct krc_object *add_pod(struct fixture *f, const char *name, const char *type,
                                        const char *group, const char *ray_container, int ip)
{
    char json[4096];
    struct krc_object *o = NULL;
    struct krc_error err = {0};
    int n = snprintf(json, sizeof(json), POD_FMT, name, name, type, group, ray_container, ip,
                     ray_container);
    assert_true(n > 0 && (size_t)n < sizeof(json));
    assert_int_equal(krc_projection_parse_object(f->proj, json, (size_t)n, &o, &err), 0);
    assert_int_equal(krc_store_upsert(krc_informer_store(f->inf), o, NULL, &err), 0);
    krc_object_unref(o); /* the store keeps its own reference */
    return o;
}

static json_t *pod_named(json_t *pods, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (strcmp(raypod_name(p), name) == 0)
            return p;
    }
    fail_msg("no pod %s", name);
    return NULL;
}

static void test_cache_keeps_only_what_is_read(void **state)
{
    struct fixture *f = *state;
    const struct krc_object *o = add_pod(f, "w1", "worker", "workergroup", "ray-worker", 2);
    for (size_t i = 0; i < NPATHS(POD_PATHS); i++) {
        const char *text = krc_object_path(o, i, NULL);
        if (text && strstr(text, "DROPPED"))
            fail_msg("path %s keeps a dropped field: %s", POD_PATHS[i], text);
    }
    /* what raypod.h and the status read is there */
    assert_string_equal(krc_object_path(o, 1, NULL), "\"Never\"");
    assert_string_equal(krc_object_path(o, 2, NULL), "\"Running\"");
    assert_string_equal(krc_object_path(o, 5, NULL), "\"10.0.0.2\"");
    assert_non_null(strstr(krc_object_path(o, 4, NULL), "\"terminated\""));
}

static void test_pod_documents(void **state)
{
    struct fixture *f = *state;
    struct krc_error err = {0};
    add_pod(f, "h", "head", "headgroup", "ray-head", 1);
    add_pod(f, "w1", "worker", "workergroup", "ray-worker", 2);
    /* a group the RayCluster no longer has: no template, so no Ray container name */
    add_pod(f, "x1", "worker", "gone", "ray-worker", 3);
    /* the Ray container renamed since: the template's name wins, so it is not found */
    add_pod(f, "w2", "worker", "workergroup", "old-name", 4);
    json_t *pods = raycluster_ctrl_pods(&f->set, &f->rc, &err);
    assert_non_null(pods);
    assert_int_equal(json_array_size(pods), 4);

    json_t *h = pod_named(pods, "h"), *w1 = pod_named(pods, "w1");
    char *s = tu_dump(kobj_path(h, "spec.containers"));
    assert_string_equal(s, "[{\"name\":\"ray-head\"}]");
    free(s);
    s = tu_dump(kobj_path(w1, "spec.containers"));
    assert_string_equal(s, "[{\"name\":\"ray-worker\"}]");
    free(s);
    assert_string_equal(raypod_restart_policy(w1), "Never");
    assert_string_equal(raypod_phase(w1), "Running");
    assert_string_equal(kobj_path_str(w1, "status.podIP"), "10.0.0.2");
    assert_string_equal(raypod_label(w1, RAY_LABEL_GROUP), "workergroup");
    assert_string_equal(kobj_map_get(kobj_path(w1, "metadata.annotations"), "ray.io/ft-enabled"),
                        "false");
    assert_null(kobj_path(w1, "status.hostIP"));
    assert_null(kobj_path(w1, "status.initContainerStatuses"));
    assert_non_null(raypod_ready_condition(w1));

    /* the Ray container's terminated state is found by the template's container name */
    const json_t *t = raypod_ray_container_terminated(w1);
    assert_non_null(t);
    assert_string_equal(kobj_str(t, "reason"), "Error");
    assert_non_null(raypod_ray_container_terminated(h));
    assert_null(raypod_ray_container_terminated(pod_named(pods, "x1")));
    assert_null(kobj_path(pod_named(pods, "x1"), "spec.containers"));
    assert_null(raypod_ray_container_terminated(pod_named(pods, "w2")));

    /* §6.8 still reads the terminated Ray container of a Running pod with restartPolicy Never */
    assert_int_equal(raypod_should_delete(w1, "worker", NULL), 1);
    json_decref(pods);
}

static void test_pods_of_other_namespace_or_cluster_are_not_read(void **state)
{
    struct fixture *f = *state;
    struct krc_error err = {0};
    add_pod(f, "w1", "worker", "workergroup", "ray-worker", 2);
    raycluster_release(&f->rc);
    tu_set(f->doc, "metadata.namespace", "\"other\"");
    tu_parse(f->doc, &f->rc);
    json_t *pods = raycluster_ctrl_pods(&f->set, &f->rc, &err);
    assert_non_null(pods);
    assert_int_equal(json_array_size(pods), 0);
    json_decref(pods);
}

static void noop_add(void *ctx, struct krc_object *o)
{
    (void)ctx;
    (void)o;
}

static void test_share_clusters(void **state)
{
    struct fixture *f = *state;
    struct krc_error err = {0};
    struct raycluster_controller *c = NULL;
    struct krc_informer *inf = NULL, *inf2 = NULL;
    struct krc_informer_handlers h = {noop_add, NULL, noop_add, NULL};
    struct raycluster_controller_opts o = {.client = f->client, .watch_namespaces = "a, b"};
    assert_int_equal(raycluster_controller_new(&o, &c, &err), 0);
    assert_int_equal(raycluster_controller_share_clusters(c, "b", &h, &inf, &err), 0);
    assert_ptr_equal(inf, c->sets[1].rcs);
    assert_int_equal(raycluster_controller_share_clusters(c, "a", &h, &inf2, &err), 0);
    assert_ptr_equal(inf2, c->sets[0].rcs);
    assert_int_equal(raycluster_controller_share_clusters(c, NULL, &h, &inf, &err), KRC_ENOTFOUND);
    assert_null(inf);
    assert_int_equal(raycluster_controller_share_clusters(c, "c", &h, &inf, &err), KRC_ENOTFOUND);
    raycluster_controller_free(c);

    /* the shared cache keeps the paths the RayJob controller reads where it reads them */
    assert_string_equal(RC_PATHS[RAYCLUSTER_CACHE_PATH_SPEC], "spec");
    assert_string_equal(RC_PATHS[RAYCLUSTER_CACHE_PATH_STATUS], "status");
    assert_string_equal(RC_PATHS[RAYCLUSTER_CACHE_PATH_ANNOTATIONS], "metadata.annotations");

    o.watch_namespaces = NULL;
    assert_int_equal(raycluster_controller_new(&o, &c, &err), 0);
    assert_int_equal(raycluster_controller_share_clusters(c, NULL, &h, &inf, &err), 0);
    assert_ptr_equal(inf, c->sets[0].rcs);
    raycluster_controller_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cache_keeps_only_what_is_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pod_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pods_of_other_namespace_or_cluster_are_not_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_share_clusters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
