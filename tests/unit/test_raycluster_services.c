/* Unit tests for the RayCluster's Services, autoscaler RBAC and names (spec §3.4, §8.1-§8.5,
 * §15.1, §15.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raycluster_testutil.h"
#include "controller/raycluster_auth.h"
#include "controller/raycluster_cleanup_job.h"
#include "controller/raycluster_ingress.h"
#include "controller/raycluster_names.h"
#include "controller/raycluster_opts.h"
#include "controller/raycluster_rbac.h"
#include "controller/raycluster_service.h"

#define OWNER                                                                                      \
    "[{\"apiVersion\": \"ray.io/v1\", \"kind\": \"RayCluster\", \"name\": \"raycluster-sample\", " \
    "\"uid\": \"0b5c8a52-1111-4c0e-9f3a-5d2c1e7f9a01\", \"controller\": true, "                    \
    "\"blockOwnerDeletion\": true}]"
#define HEAD_LABELS                                                                                \
    "{\"ray.io/cluster\": \"raycluster-sample\", \"ray.io/node-type\": \"head\", "                 \
    "\"ray.io/identifier\": \"raycluster-sample-head\", \"app.kubernetes.io/name\": \"kuberay\", " \
    "\"app.kubernetes.io/created-by\": \"kuberay-operator\"}"

static void test_default_head_service_is_headless_with_default_ports(void **state)
{
    (void)state;
    json_t *doc = tu_load("minimal.json");
    struct raycluster rc;
    struct raycluster_opts o;
    struct krc_error err;
    json_t *svc;
    tu_parse(doc, &rc);
    raycluster_opts_default(&o);
    assert_int_equal(raycluster_build_head_service(&rc, &o, &svc, &err), 0);
    tu_assert_json(
        svc, "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": "
             "\"raycluster-sample-head-svc\", \"namespace\": \"default\", \"labels\": " HEAD_LABELS
             ", \"ownerReferences\": " OWNER "}, \"spec\": {\"clusterIP\": \"None\", "
             "\"publishNotReadyAddresses\": true, \"selector\": " HEAD_LABELS ", \"ports\": ["
             "{\"name\": \"client\", \"port\": 10001, \"appProtocol\": \"tcp\"}, "
             "{\"name\": \"dashboard\", \"port\": 8265, \"appProtocol\": \"tcp\"}, "
             "{\"name\": \"gcs-server\", \"port\": 6379, \"appProtocol\": \"tcp\"}, "
             "{\"name\": \"metrics\", \"port\": 8080, \"appProtocol\": \"tcp\"}, "
             "{\"name\": \"serve\", \"port\": 8000, \"appProtocol\": \"tcp\"}]}}");
    json_decref(svc);
    /* ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE keeps a cluster IP */
    o.head_cluster_ip_service = true;
    assert_int_equal(raycluster_build_head_service(&rc, &o, &svc, &err), 0);
    assert_null(kobj_path(svc, "spec.clusterIP"));
    json_decref(svc);
    raycluster_release(&rc);
    /* declared ports replace the defaults; metrics is added; unnamed ports get <port>-port */
    tu_set(doc, "spec.headGroupSpec.template.spec.containers.0.ports",
           "[{\"name\": \"gcs-server\", \"containerPort\": 6379}, {\"name\": \"dashboard\", "
           "\"containerPort\": 8265}, {\"containerPort\": 9000}, {\"name\": \"serve\", "
           "\"containerPort\": 8000}]");
    tu_set(doc, "spec.headGroupSpec.serviceType", "\"LoadBalancer\"");
    tu_set(doc, "spec.headServiceAnnotations", "{\"a\": \"b\"}");
    tu_parse(doc, &rc);
    o.head_cluster_ip_service = false;
    assert_int_equal(raycluster_build_head_service(&rc, &o, &svc, &err), 0);
    tu_assert_json(kobj_path(svc, "spec.ports"),
                   "[{\"name\": \"9000-port\", \"port\": 9000, \"appProtocol\": \"tcp\"}, "
                   "{\"name\": \"dashboard\", \"port\": 8265, \"appProtocol\": \"tcp\"}, "
                   "{\"name\": \"gcs-server\", \"port\": 6379, \"appProtocol\": \"tcp\"}, "
                   "{\"name\": \"metrics\", \"port\": 8080, \"appProtocol\": \"tcp\"}, "
                   "{\"name\": \"serve\", \"port\": 8000, \"appProtocol\": \"tcp\"}]");
    assert_string_equal(kobj_path_str(svc, "spec.type"), "LoadBalancer");
    assert_null(kobj_path(svc, "spec.clusterIP"));
    tu_assert_json(kobj_path(svc, "metadata.annotations"), "{\"a\": \"b\"}");
    json_decref(svc);
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_custom_head_service_is_the_base(void **state)
{
    (void)state;
    json_t *doc = tu_load("custom-head-service.json");
    struct raycluster rc;
    struct raycluster_opts o;
    struct krc_error err;
    json_t *svc;
    tu_parse(doc, &rc);
    raycluster_opts_default(&o);
    assert_int_equal(raycluster_build_head_service(&rc, &o, &svc, &err), 0);
    json_t *meta = kobj_obj(svc, "metadata");
    assert_string_equal(kobj_str(meta, "name"), "my-head");
    assert_string_equal(kobj_str(meta, "namespace"), "team-a");
    tu_assert_json(
        kobj_obj(meta, "annotations"),
        "{\"shared\": \"from-head-service-annotations\", \"only\": \"svc\", \"team\": \"a\"}");
    /* the selector honours the template's app.kubernetes.io/name */
    tu_assert_json(
        kobj_path(svc, "spec.selector"),
        "{\"ray.io/cluster\": \"raycluster-custom-svc\", \"ray.io/node-type\": \"head\", "
        "\"ray.io/identifier\": \"raycluster-custom-svc-head\", \"app.kubernetes.io/name\": "
        "\"my-app\", \"app.kubernetes.io/created-by\": \"kuberay-operator\"}");
    assert_string_equal(kobj_str(kobj_obj(meta, "labels"), "custom"), "yes");
    tu_assert_json(
        kobj_path(svc, "spec.ports"),
        "[{\"name\": \"custom\", \"port\": 9999}, {\"name\": \"6379-port\", \"port\": 6379, "
        "\"appProtocol\": \"tcp\"}, {\"name\": \"dashboard\", \"port\": 8265, "
        "\"appProtocol\": \"tcp\"}, {\"name\": \"metrics\", \"port\": 8080, \"appProtocol\": "
        "\"tcp\"}]");
    assert_string_equal(kobj_path_str(svc, "spec.type"), "NodePort");
    assert_null(kobj_path(svc, "spec.clusterIP"));
    json_decref(svc);
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_headless_and_serve_services(void **state)
{
    (void)state;
    json_t *doc = tu_load("tpu-multihost.json");
    struct raycluster rc;
    struct krc_error err;
    json_t *svc;
    tu_parse(doc, &rc);
    assert_true(raycluster_wants_headless_worker_service(&rc));
    assert_int_equal(raycluster_build_headless_worker_service(&rc, &svc, &err), 0);
    assert_string_equal(kobj_path_str(svc, "metadata.name"), "raycluster-tpu-multihost-headless");
    tu_assert_json(kobj_path(svc, "spec"),
                   "{\"clusterIP\": \"None\", \"selector\": {\"ray.io/cluster\": "
                   "\"raycluster-tpu-multihost\", \"ray.io/node-type\": \"worker\"}, \"type\": "
                   "\"ClusterIP\", \"publishNotReadyAddresses\": true}");
    json_decref(svc);
    assert_int_equal(raycluster_build_serve_service(&rc, &svc, &err), 0);
    assert_string_equal(kobj_path_str(svc, "metadata.name"), "raycluster-tpu-multihost-serve-svc");
    tu_assert_json(kobj_path(svc, "metadata.labels"),
                   "{\"ray.io/originated-from-cr-name\": \"raycluster-tpu-multihost\", "
                   "\"ray.io/originated-from-crd\": \"RayCluster\", \"ray.io/serve\": "
                   "\"raycluster-tpu-multihost-serve\"}");
    tu_assert_json(kobj_path(svc, "spec.ports"), "[{\"name\": \"serve\", \"port\": 8000}]");
    json_decref(svc);
    raycluster_release(&rc);
    json_decref(doc);
    doc = tu_load("sample.json");
    tu_parse(doc, &rc);
    assert_false(raycluster_wants_headless_worker_service(&rc));
    assert_int_equal(raycluster_build_serve_service(&rc, &svc, &err), KRC_EINVAL);
    assert_string_equal(err.msg,
                        "Please specify a port named 'serve' (or with the prefix 'serve-', "
                        "e.g. 'serve-grpc') in the Ray head container; otherwise, the "
                        "Kubernetes service for Ray Serve will not be created.");
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_autoscaler_rbac(void **state)
{
    (void)state;
    json_t *doc = tu_load("minimal.json");
    struct raycluster rc;
    struct krc_error err;
    json_t *obj;
    tu_parse(doc, &rc);
    assert_false(raycluster_autoscaler_sa_is_user_provided(&rc));
    assert_int_equal(raycluster_build_autoscaler_sa(&rc, &obj, &err), 0);
    tu_assert_json(
        obj, "{\"apiVersion\": \"v1\", \"kind\": \"ServiceAccount\", \"metadata\": {\"name\": "
             "\"raycluster-sample\", \"namespace\": \"default\", \"labels\": "
             "{\"ray.io/cluster\": \"raycluster-sample\", \"app.kubernetes.io/name\": "
             "\"kuberay\", \"app.kubernetes.io/created-by\": \"kuberay-operator\"}, "
             "\"ownerReferences\": " OWNER "}}");
    json_decref(obj);
    assert_int_equal(raycluster_build_autoscaler_role(&rc, &obj, &err), 0);
    tu_assert_json(
        kobj_arr(obj, "rules"),
        "[{\"apiGroups\": [\"\"], \"resources\": [\"pods\"], \"verbs\": [\"get\", \"list\", "
        "\"watch\", \"patch\"]}, {\"apiGroups\": [\"\"], \"resources\": [\"pods/resize\"], "
        "\"verbs\": [\"patch\"]}, {\"apiGroups\": [\"ray.io\"], \"resources\": "
        "[\"rayclusters\"], \"verbs\": [\"get\", \"patch\"]}]");
    json_decref(obj);
    raycluster_release(&rc);
    /* long names are clipped; a user-named SA is the subject */
    tu_set(doc, "metadata.name", "\"a-very-long-cluster-name-that-is-longer-than-fifty-chars\"");
    tu_set(doc, "spec.headGroupSpec.template.spec.serviceAccountName", "\"9-user-sa\"");
    tu_parse(doc, &rc);
    assert_true(raycluster_autoscaler_sa_is_user_provided(&rc));
    assert_int_equal(raycluster_build_autoscaler_rolebinding(&rc, &obj, &err), 0);
    assert_string_equal(kobj_path_str(obj, "metadata.name"),
                        "rlong-cluster-name-that-is-longer-than-fifty-chars");
    tu_assert_json(
        kobj_arr(obj, "subjects"),
        "[{\"kind\": \"ServiceAccount\", \"name\": \"r-user-sa\", \"namespace\": \"default\"}]");
    tu_assert_json(kobj_obj(obj, "roleRef"),
                   "{\"apiGroup\": \"rbac.authorization.k8s.io\", \"kind\": \"Role\", \"name\": "
                   "\"rlong-cluster-name-that-is-longer-than-fifty-chars\"}");
    json_decref(obj);
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_dashboard_ingress(void **state)
{
    (void)state;
    json_t *doc = tu_load("custom-head-service.json");
    struct raycluster rc;
    struct krc_error err;
    json_t *ing;
    tu_parse(doc, &rc);
    assert_true(raycluster_wants_ingress(&rc));
    assert_int_equal(raycluster_build_ingress(&rc, &ing, &err), 0);
    assert_string_equal(kobj_path_str(ing, "metadata.name"), "raycluster-custom-svc-head-ingress");
    tu_assert_json(kobj_path(ing, "metadata.labels"),
                   "{\"ray.io/cluster\": \"raycluster-custom-svc\", \"ray.io/identifier\": "
                   "\"raycluster-custom-svc-head\", \"app.kubernetes.io/name\": \"kuberay\", "
                   "\"app.kubernetes.io/created-by\": \"kuberay-operator\"}");
    assert_null(kobj_path(ing, "metadata.annotations"));
    tu_assert_json(
        kobj_path(ing, "spec"),
        "{\"ingressClassName\": \"nginx\", \"rules\": [{\"http\": {\"paths\": [{\"path\": "
        "\"/\", \"pathType\": \"Prefix\", \"backend\": {\"service\": {\"name\": \"my-head\", "
        "\"port\": {\"number\": 8265}}}}]}}]}");
    json_decref(ing);
    raycluster_release(&rc);
    tu_set(doc, "metadata.annotations",
           "{\"nginx.ingress.kubernetes.io/rewrite-target\": \"/$1\"}");
    tu_set(doc, "spec.headGroupSpec.ingressOptions",
           "{\"host\": \"ray.example.com\", \"path\": \"/ray(/|$)(.*)\", \"pathType\": "
           "\"ImplementationSpecific\", \"tls\": [{\"hosts\": [\"ray.example.com\"], "
           "\"secretName\": \"t\"}]}");
    tu_parse(doc, &rc);
    assert_int_equal(raycluster_build_ingress(&rc, &ing, &err), 0);
    tu_assert_json(kobj_path(ing, "metadata.annotations"),
                   "{\"nginx.ingress.kubernetes.io/rewrite-target\": \"/$1\"}");
    tu_assert_json(kobj_path(ing, "spec"),
                   "{\"rules\": [{\"host\": \"ray.example.com\", \"http\": {\"paths\": [{\"path\": "
                   "\"/ray(/|$)(.*)\", \"pathType\": \"ImplementationSpecific\", \"backend\": "
                   "{\"service\": {\"name\": \"my-head\", \"port\": {\"number\": 8265}}}}]}}], "
                   "\"tls\": [{\"hosts\": [\"ray.example.com\"], \"secretName\": \"t\"}]}");
    json_decref(ing);
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_auth_secret(void **state)
{
    (void)state;
    static const struct {
        const char *auth;
        bool want;
    } cases[] = {
        {"{\"mode\": \"token\"}", true},
        {"{}", true}, /* quirk: a Secret without auth */
        {"{\"mode\": \"disabled\"}", false},
        {"{\"mode\": \"token\", \"secretName\": \"mine\"}", false},
        {"{\"mode\": \"token\", \"enableK8sTokenAuth\": true}", false},
        {NULL, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = tu_load("auth-token.json");
        tu_set(doc, "spec.authOptions", cases[i].auth);
        struct raycluster rc;
        tu_parse(doc, &rc);
        if (raycluster_wants_auth_secret(&rc) != cases[i].want)
            fail_msg("authOptions %s: want %d", cases[i].auth ? cases[i].auth : "absent",
                     cases[i].want);
        raycluster_release(&rc);
        json_decref(doc);
    }
    json_t *doc = tu_load("auth-token.json");
    struct raycluster rc;
    struct krc_error err;
    json_t *secret;
    tu_parse(doc, &rc);
    assert_int_equal(raycluster_build_auth_secret(&rc, "dG9rZW4=", &secret, &err), 0);
    assert_string_equal(kobj_path_str(secret, "metadata.name"), "raycluster-auth");
    tu_assert_json(kobj_path(secret, "metadata.labels"),
                   "{\"ray.io/cluster\": \"raycluster-auth\"}");
    tu_assert_json(kobj_obj(secret, "stringData"), "{\"auth_token\": \"dG9rZW4=\"}");
    json_decref(secret);
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_redis_cleanup_job(void **state)
{
    (void)state;
    json_t *doc = tu_load("external-redis.json");
    tu_set(doc, "spec.enableInTreeAutoscaling", "true");
    struct raycluster rc;
    struct raycluster_opts o;
    struct krc_error err;
    json_t *job;
    tu_parse(doc, &rc);
    raycluster_opts_default(&o);
    assert_int_equal(raycluster_build_redis_cleanup_job(&rc, &o, &job, &err), 0);
    assert_string_equal(kobj_path_str(job, "metadata.name"),
                        "raycluster-external-redis-redis-cleanup");
    assert_string_equal(kobj_map_get(kobj_path(job, "metadata.labels"), "ray.io/node-type"),
                        "redis-cleanup");
    assert_string_equal(
        kobj_map_get(kobj_path(job, "metadata.labels"), "app.kubernetes.io/created-by"),
        "kuberay-operator");
    assert_int_equal(json_integer_value(kobj_path(job, "spec.backoffLimit")), 0);
    assert_int_equal(json_integer_value(kobj_path(job, "spec.activeDeadlineSeconds")), 300);
    json_t *pspec = kobj_path(job, "spec.template.spec");
    assert_string_equal(kobj_str(pspec, "restartPolicy"), "Never");
    assert_int_equal(json_array_size(kobj_arr(pspec, "containers")), 1);
    json_t *ray = kobj_container(pspec, 0);
    assert_null(json_object_get(ray, "livenessProbe"));
    assert_null(json_object_get(ray, "readinessProbe"));
    tu_assert_json(
        kobj_obj(ray, "resources"),
        "{\"limits\": {\"cpu\": \"200m\", \"memory\": \"256Mi\"}, \"requests\": {\"cpu\": "
        "\"200m\", \"memory\": \"256Mi\"}}");
    const char *args = json_string_value(json_array_get(kobj_arr(ray, "args"), 0));
    assert_non_null(strstr(args, "cleanup_redis_storage(host=parsed.hostname, port=parsed.port, "
                                 "password=os.getenv('REDIS_PASSWORD', parsed.password or ''), "
                                 "use_ssl=parsed.scheme=='rediss', "
                                 "storage_namespace=os.getenv('RAY_external_storage_namespace')) "
                                 "else None\""));
    assert_string_equal(tu_env_value(ray, "RAY_redis_db_connect_retries"), "120");
    assert_string_equal(tu_env_value(ray, "RAY_redis_db_connect_wait_milliseconds"), "500");
    tu_assert_json(
        json_array_get(kobj_path(job, "metadata.ownerReferences"), 0),
        "{\"apiVersion\": \"ray.io/v1\", \"kind\": \"RayCluster\", \"name\": "
        "\"raycluster-external-redis\", \"uid\": \"a3f7e0c2-2222-4d1b-8e6f-0c9b8a7d6e5f\", "
        "\"controller\": true, \"blockOwnerDeletion\": true}");
    json_decref(job);
    raycluster_release(&rc);
    json_decref(doc);
}

static void test_name_helpers(void **state)
{
    (void)state;
    char out[RAYNAME_MAX];
    static const struct {
        const char *in, *want;
    } check_names[] = {
        {"72fbcc7e-a661-4b18e-ca41-e903-fc3ae634b18e-lazer090scholar-director-s",
         "rca41-e903-fc3ae634b18e-lazer090scholar-director-s"},
        {"--------566666--------444433-----------222222----------4444",
         "r6666--------444433-----------222222----------4444"},
        {"acceptable-name-head-12345", "acceptable-name-head-12345"},
        {"_x", "rx"},
        {"$x", "$x"},
    };
    for (size_t i = 0; i < sizeof(check_names) / sizeof(check_names[0]); i++)
        assert_string_equal(rayname_check_name(check_names[i].in, out), check_names[i].want);
    assert_string_equal(rayname_check_label("-abc", out), "rabc");
    assert_string_equal(rayname_check_label("1abc", out), "1abc");
    assert_string_equal(rayname_pod_name("ray-cluster-group-name-01", RAY_NODE_WORKER, true, out),
                        "ray-cluster-group-name-01-worker-");
    assert_string_equal(
        rayname_pod_name(
            "ray-cluster-0000000000000000000000011111111122222233333333333333-group-name",
            RAY_NODE_WORKER, true, out),
        "ray-cluster-00000000000000000000000111111111222222-worker-");
    assert_string_equal(
        rayname_pod_name("ray-cluster-0000000000000000000000011111111122222233333333333333",
                         RAY_NODE_HEAD, false, out),
        "ray-cluster-00000000000000000000000111111111222222-head");
    assert_string_equal(rayname_pod_name("My-Cluster-GPU", RAY_NODE_WORKER, true, out),
                        "my-cluster-gpu-worker-");
    assert_string_equal(rayname_identifier("c", RAY_NODE_HEAD, out), "c-head");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_head_service_is_headless_with_default_ports),
        cmocka_unit_test(test_custom_head_service_is_the_base),
        cmocka_unit_test(test_headless_and_serve_services),
        cmocka_unit_test(test_autoscaler_rbac),
        cmocka_unit_test(test_dashboard_ingress),
        cmocka_unit_test(test_auth_secret),
        cmocka_unit_test(test_redis_cleanup_job),
        cmocka_unit_test(test_name_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
