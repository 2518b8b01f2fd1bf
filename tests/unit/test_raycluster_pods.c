/* Unit tests for controller/raycluster_pod: the head and worker Pods KubeRay would create
 * (spec §7, worked examples §15.1 and §15.2), and the rules behind each field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raycluster_testutil.h"
#include "controller/raycluster_hash.h"
#include "controller/raycluster_opts.h"
#include "controller/raycluster_pod.h"

#define HEAD_START                                                                                 \
    "ray start --head  --block  --dashboard-agent-listen-port=52365  --dashboard-host=0.0.0.0  "   \
    "--memory=1073741824  --metrics-export-port=8080  --num-cpus=1 "
#define ULIMIT "ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}; "
#define HEAD_PROBE                                                                                 \
    "wget --tries 1 -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success "   \
    "&& wget --tries 1 -T 10 -q -O- http://localhost:8265/api/gcs_healthz | grep success"
#define WORKER_PROBE                                                                               \
    "wget --tries 1 -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success"
#define FQDN "raycluster-sample-head-svc.default.svc.cluster.local"

struct built {
    json_t *doc;
    struct raycluster rc;
    json_t *pod;
};

static json_t *head_pod_of(struct built *b, const char *file, const struct raycluster_opts *o,
                           const char *hash)
{
    struct krc_error err = {0};
    b->doc = tu_load(file);
    tu_parse(b->doc, &b->rc);
    if (raycluster_build_head_pod(&b->rc, o, hash, &b->pod, &err))
        fail_msg("build head pod: %s", err.msg);
    return b->pod;
}

static json_t *worker_pod_of(struct built *b, const struct raycluster_opts *o, size_t group,
                             int replica_index)
{
    struct krc_error err = {0};
    struct raycluster_worker_slot slot = {replica_index, NULL, 0};
    if (raycluster_build_worker_pod(&b->rc, o, group, &slot, &b->pod, &err))
        fail_msg("build worker pod: %s", err.msg);
    return b->pod;
}

static void built_free(struct built *b)
{
    json_decref(b->pod);
    raycluster_release(&b->rc);
    json_decref(b->doc);
}

static json_t *ray_container(const json_t *pod)
{
    return kobj_container(kobj_obj(pod, "spec"), 0);
}

static void test_head_pod_of_minimal_cluster(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    o.kuberay_version = "v9.9.9";
    json_t *defaults =
        tu_json("[{\"name\": \"TEST_DEFAULT_ENV_NAME\", \"value\": \"TEST_ENV_VALUE\"}]");
    o.default_container_envs = defaults;
    struct built b;
    json_t *pod = head_pod_of(&b, "minimal.json", &o, "HASH");
    json_t *meta = kobj_obj(pod, "metadata");
    assert_string_equal(kobj_str(pod, "kind"), "Pod");
    assert_string_equal(kobj_str(meta, "generateName"), "raycluster-sample-head-");
    assert_null(kobj_str(meta, "name"));
    assert_string_equal(kobj_str(meta, "namespace"), "default");
    tu_assert_json(kobj_obj(meta, "labels"),
                   "{\"ray.io/is-ray-node\": \"yes\", \"ray.io/cluster\": \"raycluster-sample\", "
                   "\"ray.io/node-type\": \"head\", \"ray.io/group\": \"headgroup\", "
                   "\"ray.io/identifier\": \"raycluster-sample-head\", \"app.kubernetes.io/name\": "
                   "\"kuberay\", \"app.kubernetes.io/created-by\": \"kuberay-operator\"}");
    tu_assert_json(kobj_obj(meta, "annotations"),
                   "{\"ray.io/ft-enabled\": \"false\", \"ray.io/upgrade-strategy-recreate-hash\": "
                   "\"HASH\", \"ray.io/kuberay-version\": \"v9.9.9\"}");
    tu_assert_json(kobj_arr(meta, "ownerReferences"),
                   "[{\"apiVersion\": \"ray.io/v1\", \"kind\": \"RayCluster\", \"name\": "
                   "\"raycluster-sample\", \"uid\": \"0b5c8a52-1111-4c0e-9f3a-5d2c1e7f9a01\", "
                   "\"controller\": true, \"blockOwnerDeletion\": true}]");
    json_t *spec = kobj_obj(pod, "spec");
    assert_null(json_object_get(spec, "restartPolicy"));
    assert_null(json_object_get(spec, "serviceAccountName"));
    assert_null(json_object_get(spec, "initContainers"));
    json_t *ray = ray_container(pod);
    tu_assert_json(kobj_arr(ray, "command"), "[\"/bin/bash\", \"-c\", \"--\"]");
    tu_assert_json(kobj_arr(ray, "args"), "[\"" ULIMIT HEAD_START "\"]");
    tu_assert_json(kobj_arr(ray, "ports"), "[{\"name\": \"metrics\", \"containerPort\": 8080}]");
    char names[1024];
    assert_string_equal(
        tu_env_names(ray, names, sizeof(names)),
        "TEST_ENV_NAME,TEST_DEFAULT_ENV_NAME,RAY_CLUSTER_NAME,RAY_CLUSTER_NAMESPACE,"
        "RAY_CLOUD_INSTANCE_ID,RAY_NODE_TYPE_NAME,KUBERAY_GEN_RAY_START_CMD,RAY_PORT,"
        "RAY_ADDRESS,RAY_USAGE_STATS_KUBERAY_IN_USE,RAY_USAGE_STATS_EXTRA_TAGS,"
        "RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE");
    tu_assert_json(kobj_env_find(ray, "RAY_CLUSTER_NAME"),
                   "{\"name\": \"RAY_CLUSTER_NAME\", \"valueFrom\": {\"fieldRef\": {\"fieldPath\": "
                   "\"metadata.labels['ray.io/cluster']\"}}}");
    tu_assert_json(
        kobj_env_find(ray, "RAY_NODE_TYPE_NAME"),
        "{\"name\": \"RAY_NODE_TYPE_NAME\", \"valueFrom\": {\"fieldRef\": {\"fieldPath\": "
        "\"metadata.labels['ray.io/group']\"}}}");
    assert_string_equal(tu_env_value(ray, "KUBERAY_GEN_RAY_START_CMD"), HEAD_START);
    assert_string_equal(tu_env_value(ray, "RAY_PORT"), "6379");
    assert_string_equal(tu_env_value(ray, "RAY_ADDRESS"), "127.0.0.1:6379");
    assert_string_equal(tu_env_value(ray, "RAY_USAGE_STATS_EXTRA_TAGS"),
                        "kuberay_version=v9.9.9;kuberay_crd=RayCluster");
    tu_assert_json(kobj_arr(spec, "volumes"),
                   "[{\"name\": \"shared-mem\", \"emptyDir\": {\"medium\": \"Memory\", "
                   "\"sizeLimit\": \"1Gi\"}}]");
    tu_assert_json(kobj_arr(ray, "volumeMounts"),
                   "[{\"name\": \"shared-mem\", \"mountPath\": \"/dev/shm\"}]");
    tu_assert_json(json_object_get(ray, "livenessProbe"),
                   "{\"exec\": {\"command\": [\"bash\", \"-c\", \"" HEAD_PROBE "\"]}, "
                   "\"initialDelaySeconds\": 30, \"timeoutSeconds\": 5, \"periodSeconds\": 5, "
                   "\"successThreshold\": 1, \"failureThreshold\": 120}");
    tu_assert_json(json_object_get(ray, "readinessProbe"),
                   "{\"exec\": {\"command\": [\"bash\", \"-c\", \"" HEAD_PROBE "\"]}, "
                   "\"initialDelaySeconds\": 10, \"timeoutSeconds\": 5, \"periodSeconds\": 5, "
                   "\"successThreshold\": 1, \"failureThreshold\": 10}");
    built_free(&b);
    json_decref(defaults);
}

static void test_http_probes_from_ray_2_53(void **state)
{
    (void)state;
    static const struct {
        const char *version;
        bool http;
    } cases[] = {{"2.53.0", true}, {"2.54.1", true}, {"2.52.0", false}, {"nightly", false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct raycluster_opts o;
        raycluster_opts_default(&o);
        struct built b = {0};
        b.doc = tu_load("gpu-worker.json");
        char v[64];
        snprintf(v, sizeof(v), "\"%s\"", cases[i].version);
        tu_set(b.doc, "spec.rayVersion", v);
        tu_parse(b.doc, &b.rc);
        struct krc_error err;
        assert_int_equal(raycluster_build_head_pod(&b.rc, &o, NULL, &b.pod, &err), 0);
        json_t *lp = json_object_get(ray_container(b.pod), "livenessProbe");
        if ((json_object_get(lp, "httpGet") != NULL) != cases[i].http)
            fail_msg("%s: httpGet=%d", cases[i].version, !cases[i].http);
        if (cases[i].http)
            tu_assert_json(json_object_get(lp, "httpGet"),
                           "{\"path\": \"/api/healthz\", \"port\": 52365}");
        built_free(&b);
    }
}

static void test_autoscaler_sidecar_and_head_changes(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    b.doc = tu_load("minimal.json");
    tu_set(b.doc, "spec.enableInTreeAutoscaling", "true");
    tu_parse(b.doc, &b.rc);
    struct krc_error err;
    assert_int_equal(raycluster_build_head_pod(&b.rc, &o, NULL, &b.pod, &err), 0);
    json_t *spec = kobj_obj(b.pod, "spec");
    json_t *ray = ray_container(b.pod);
    assert_string_equal(kobj_str(spec, "serviceAccountName"), "raycluster-sample");
    assert_null(json_object_get(spec, "restartPolicy"));
    assert_null(kobj_env_find(ray, "RAY_enable_autoscaler_v2"));
    assert_string_equal(
        tu_env_value(ray, "KUBERAY_GEN_RAY_START_CMD"),
        "ray start --head  --block  --dashboard-agent-listen-port=52365  "
        "--dashboard-host=0.0.0.0  --memory=1073741824  --metrics-export-port=8080  "
        "--no-monitor  --num-cpus=1 ");
    json_t *ac = kobj_container(spec, 1);
    tu_assert_json(
        ac, "{\"name\": \"autoscaler\", \"image\": \"repo/image:custom\", \"imagePullPolicy\": "
            "\"IfNotPresent\", \"command\": [\"/bin/bash\", \"-c\", \"--\"], \"args\": [\"ray "
            "kuberay-autoscaler --cluster-name $(RAY_CLUSTER_NAME) --cluster-namespace "
            "$(RAY_CLUSTER_NAMESPACE)\"], \"env\": [{\"name\": \"RAY_CLUSTER_NAME\", "
            "\"valueFrom\": {\"fieldRef\": {\"fieldPath\": "
            "\"metadata.labels['ray.io/cluster']\"}}}, {\"name\": \"RAY_CLUSTER_NAMESPACE\", "
            "\"valueFrom\": {\"fieldRef\": {\"fieldPath\": \"metadata.namespace\"}}}, {\"name\": "
            "\"RAY_HEAD_POD_NAME\", \"valueFrom\": {\"fieldRef\": {\"fieldPath\": "
            "\"metadata.name\"}}}, {\"name\": \"KUBERAY_CRD_VER\", \"value\": \"v1\"}, {\"name\": "
            "\"KUBERAY_GEN_AUTOSCALER_START_CMD\", \"value\": \"ray kuberay-autoscaler "
            "--cluster-name $(RAY_CLUSTER_NAME) --cluster-namespace "
            "$(RAY_CLUSTER_NAMESPACE)\"}], \"resources\": {\"limits\": {\"cpu\": \"500m\", "
            "\"memory\": \"512Mi\"}, \"requests\": {\"cpu\": \"500m\", \"memory\": \"512Mi\"}}, "
            "\"volumeMounts\": [{\"name\": \"ray-logs\", \"mountPath\": \"/tmp/ray\"}]}");
    tu_assert_json(
        kobj_arr(spec, "volumes"),
        "[{\"name\": \"shared-mem\", \"emptyDir\": {\"medium\": \"Memory\", \"sizeLimit\": "
        "\"1Gi\"}}, {\"name\": \"ray-logs\", \"emptyDir\": {}}]");
    tu_assert_json(
        kobj_arr(ray, "volumeMounts"),
        "[{\"name\": \"shared-mem\", \"mountPath\": \"/dev/shm\"}, {\"name\": \"ray-logs\", "
        "\"mountPath\": \"/tmp/ray\"}]");
    built_free(&b);
}

static void test_autoscaler_options_and_v2(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    b.doc = tu_load("autoscaler-v2.json");
    tu_set(b.doc, "spec.autoscalerOptions.image", "\"my/autoscaler:1\"");
    tu_set(b.doc, "spec.autoscalerOptions.env", "[{\"name\": \"EXTRA\", \"value\": \"1\"}]");
    tu_set(b.doc, "spec.autoscalerOptions.args", "[\"custom; $KUBERAY_GEN_AUTOSCALER_START_CMD\"]");
    tu_set(b.doc, "spec.autoscalerOptions.volumeMounts",
           "[{\"name\": \"tls\", \"mountPath\": \"/tls\"}]");
    tu_set(b.doc, "spec.headGroupSpec.template.spec.serviceAccountName", "\"my-sa\"");
    tu_parse(b.doc, &b.rc);
    struct krc_error err;
    assert_int_equal(raycluster_build_head_pod(&b.rc, &o, NULL, &b.pod, &err), 0);
    json_t *spec = kobj_obj(b.pod, "spec");
    json_t *ac = kobj_container(spec, 1);
    assert_string_equal(kobj_str(spec, "restartPolicy"), "Never");
    assert_string_equal(kobj_str(spec, "serviceAccountName"), "my-sa");
    assert_string_equal(tu_env_value(ray_container(b.pod), "RAY_enable_autoscaler_v2"), "true");
    assert_string_equal(kobj_str(ac, "image"), "my/autoscaler:1");
    tu_assert_json(kobj_arr(ac, "args"), "[\"custom; $KUBERAY_GEN_AUTOSCALER_START_CMD\"]");
    tu_assert_json(kobj_obj(ac, "securityContext"), "{}");
    char names[512];
    assert_string_equal(tu_env_names(ac, names, sizeof(names)),
                        "RAY_CLUSTER_NAME,RAY_CLUSTER_NAMESPACE,RAY_HEAD_POD_NAME,KUBERAY_CRD_VER,"
                        "KUBERAY_GEN_AUTOSCALER_START_CMD,EXTRA");
    tu_assert_json(kobj_arr(ac, "volumeMounts"),
                   "[{\"name\": \"tls\", \"mountPath\": \"/tls\"}, {\"name\": \"ray-logs\", "
                   "\"mountPath\": \"/tmp/ray\"}]");
    /* the user's `num-cpus: "0"` wins over the container's CPU limit */
    assert_non_null(
        strstr(tu_env_value(ray_container(b.pod), "KUBERAY_GEN_RAY_START_CMD"), " --num-cpus=0 "));
    json_decref(b.pod);
    /* workers of a v2 cluster get restartPolicy Never */
    worker_pod_of(&b, &o, 0, 0);
    assert_string_equal(kobj_path_str(b.pod, "spec.restartPolicy"), "Never");
    built_free(&b);
}

static void test_worker_pod_of_gpu_group(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    b.doc = tu_load("gpu-worker.json");
    tu_parse(b.doc, &b.rc);
    json_t *pod = worker_pod_of(&b, &o, 0, 2);
    json_t *meta = kobj_obj(pod, "metadata");
    assert_string_equal(kobj_str(meta, "generateName"), "raycluster-sample-small-group-worker-");
    assert_null(json_object_get(meta, "annotations"));
    tu_assert_json(
        kobj_obj(meta, "labels"),
        "{\"ray.io/is-ray-node\": \"yes\", \"ray.io/cluster\": \"raycluster-sample\", "
        "\"ray.io/node-type\": \"worker\", \"ray.io/group\": \"small-group\", "
        "\"ray.io/identifier\": \"raycluster-sample-worker\", \"app.kubernetes.io/name\": "
        "\"kuberay\", \"app.kubernetes.io/created-by\": \"kuberay-operator\", "
        "\"ray.io/worker-group-replica-index\": \"2\"}");
    json_t *spec = kobj_obj(pod, "spec");
    json_t *ic = json_array_get(kobj_arr(spec, "initContainers"), 0);
    assert_int_equal(json_array_size(kobj_arr(spec, "initContainers")), 1);
    assert_string_equal(kobj_str(ic, "name"), "wait-gcs-ready");
    assert_string_equal(kobj_str(ic, "image"), "repo/image:custom");
    tu_assert_json(kobj_arr(ic, "command"), "[\"/bin/bash\", \"-c\", \"--\"]");
    const char *script = json_string_value(json_array_get(kobj_arr(ic, "args"), 0));
    assert_non_null(strstr(script, "ray health-check --address " FQDN ":6379 > /dev/null 2>&1"));
    assert_non_null(strstr(script, "echo \"GCS is ready.\""));
    assert_non_null(
        strstr(script, "$SECONDS seconds elapsed: Still waiting for GCS to be ready. For "
                       "troubleshooting, refer to the FAQ at "
                       "https://docs.ray.io/en/master/cluster/kubernetes/troubleshooting.html."));
    assert_non_null(strstr(script, "sleep 5"));
    tu_assert_json(kobj_arr(ic, "env"),
                   "[{\"name\": \"TEST_ENV_NAME\", \"value\": \"TEST_ENV_VALUE\"}, {\"name\": "
                   "\"FQ_RAY_IP\", \"value\": \"" FQDN "\"}, {\"name\": \"RAY_IP\", \"value\": "
                   "\"raycluster-sample-head-svc\"}]");
    tu_assert_json(
        kobj_obj(ic, "resources"),
        "{\"limits\": {\"cpu\": \"200m\", \"memory\": \"256Mi\"}, \"requests\": {\"cpu\": "
        "\"200m\", \"memory\": \"256Mi\"}}");
    json_t *ray = ray_container(pod);
    const char *start = "ray start  --address=" FQDN ":6379  --block  "
                        "--dashboard-agent-listen-port=52365  --memory=1073741824  "
                        "--metrics-export-port=8080  --num-cpus=1  --num-gpus=3  --port=6379 ";
    char want_args[1024];
    snprintf(want_args, sizeof(want_args), "%s%s", ULIMIT, start);
    assert_string_equal(json_string_value(json_array_get(kobj_arr(ray, "args"), 0)), want_args);
    char names[1024];
    assert_string_equal(
        tu_env_names(ray, names, sizeof(names)),
        "TEST_ENV_NAME,FQ_RAY_IP,RAY_IP,RAY_CLUSTER_NAME,RAY_CLUSTER_NAMESPACE,"
        "RAY_CLOUD_INSTANCE_ID,RAY_NODE_TYPE_NAME,KUBERAY_GEN_RAY_START_CMD,RAY_PORT,"
        "RAY_ADDRESS,RAY_USAGE_STATS_KUBERAY_IN_USE,RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE");
    assert_string_equal(tu_env_value(ray, "KUBERAY_GEN_RAY_START_CMD"), start);
    assert_string_equal(tu_env_value(ray, "RAY_ADDRESS"), FQDN ":6379");
    assert_string_equal(tu_env_value(ray, "RAY_IP"), "raycluster-sample-head-svc");
    tu_assert_json(json_object_get(ray, "livenessProbe"),
                   "{\"exec\": {\"command\": [\"bash\", \"-c\", \"" WORKER_PROBE "\"]}, "
                   "\"initialDelaySeconds\": 30, \"timeoutSeconds\": 2, \"periodSeconds\": 5, "
                   "\"successThreshold\": 1, \"failureThreshold\": 120}");
    tu_assert_json(json_object_get(ray, "readinessProbe"),
                   "{\"exec\": {\"command\": [\"bash\", \"-c\", \"" WORKER_PROBE "\"]}, "
                   "\"initialDelaySeconds\": 10, \"timeoutSeconds\": 2, \"periodSeconds\": 5, "
                   "\"successThreshold\": 1, \"failureThreshold\": 10}");
    tu_assert_json(
        kobj_arr(spec, "volumes"),
        "[{\"name\": \"shared-mem\", \"emptyDir\": {\"medium\": \"Memory\", \"sizeLimit\": "
        "\"1Gi\"}}]");
    built_free(&b);
}

static void test_cpu_request_fallback_variant(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    b.doc = tu_load("gpu-worker.json");
    tu_set(
        b.doc, "spec.workerGroupSpecs.0.template.spec.containers.0.resources",
        "{\"requests\": {\"cpu\": \"2\", \"memory\": \"1Gi\"}, \"limits\": {\"memory\": \"1Gi\", "
        "\"nvidia.com/gpu\": \"3\"}}");
    tu_parse(b.doc, &b.rc);
    worker_pod_of(&b, &o, 0, 0);
    const char *cmd = tu_env_value(ray_container(b.pod), "KUBERAY_GEN_RAY_START_CMD");
    assert_non_null(strstr(cmd, " --memory=1073741824  --metrics-export-port=8080  --num-cpus=2  "
                                "--num-gpus=3 "));
    built_free(&b);
}

static void test_group_labels_and_resources_feed_params_and_pod_labels(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    head_pod_of(&b, "custom-head-service.json", &o, NULL);
    json_t *labels = kobj_path(b.pod, "metadata.labels");
    /* template labels override operator ones except node-type/group/cluster; group labels too */
    assert_string_equal(kobj_str(labels, "app.kubernetes.io/name"), "my-app");
    assert_string_equal(kobj_str(labels, "ray.io/node-type"), "head");
    assert_string_equal(kobj_str(labels, "team"), "a");
    assert_string_equal(kobj_str(labels, "ray.io/market-type"), "on-demand");
    json_t *ray = ray_container(b.pod);
    assert_string_equal(tu_env_value(ray, "KUBERAY_GEN_RAY_START_CMD"),
                        "ray start --head  --block  --dashboard-agent-listen-port=52365  "
                        "--dashboard-host=0.0.0.0  --dashboard-port=8266  "
                        "--labels=ray.io/market-type=on-demand  --memory=4294967296  "
                        "--metrics-export-port=8080  --num-cpus=2  "
                        "--resources='{\"custom_resource\":0.5}' ");
    /* dashboard-port feeds the GCS probe; rayVersion 2.53 means HTTP probes though */
    assert_non_null(kobj_path(ray, "livenessProbe.httpGet"));
    /* the head FQDN uses the custom head service name */
    json_decref(b.pod);
    worker_pod_of(&b, &o, 0, 0);
    ray = ray_container(b.pod);
    assert_string_equal(tu_env_value(ray, "FQ_RAY_IP"), "my-head.team-a.svc.cluster.local");
    assert_string_equal(tu_env_value(ray, "RAY_IP"), "my-head");
    labels = kobj_path(b.pod, "metadata.labels");
    assert_string_equal(kobj_str(labels, "cloud.google.com/gke-spot"), "true");
    /* the user's command runs first, then ulimit and ray start */
    const char *args = json_string_value(json_array_get(kobj_arr(ray, "args"), 0));
    assert_true(strncmp(args,
                        " echo  hello  && ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}; "
                        "ray start  --address=my-head.team-a.svc.cluster.local:6379 ",
                        strlen(" echo  hello  && ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}; "
                               "ray start  --address=my-head.team-a.svc.cluster.local:6379 ")) ==
                0);
    assert_non_null(strstr(args,
                           " --labels=cloud.google.com/gke-spot=true,ray.io/"
                           "node-group=worker-group-1,topology.kubernetes.io/zone=us-central2 "));
    /* memory request only: no --memory, but the request sizes /dev/shm */
    assert_null(strstr(args, "--memory"));
    assert_non_null(strstr(args, "--num-cpus=1 "));
    json_t *vol = json_array_get(kobj_path(b.pod, "spec.volumes"), 0);
    assert_string_equal(kobj_path_str(vol, "emptyDir.sizeLimit"), "512Mi");
    built_free(&b);
}

static void test_overwrite_container_cmd_keeps_user_command(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    head_pod_of(&b, "overwrite-command.json", &o, NULL);
    json_t *ray = ray_container(b.pod);
    tu_assert_json(kobj_arr(ray, "command"), "[\"/bin/bash\", \"-lc\", \"--\"]");
    tu_assert_json(kobj_arr(ray, "args"),
                   "[\"ulimit -n 65536; echo head; $KUBERAY_GEN_RAY_START_CMD\"]");
    assert_string_equal(
        kobj_str(kobj_path(b.pod, "metadata.annotations"), "ray.io/overwrite-container-cmd"),
        "true");
    assert_non_null(tu_env_value(ray, "KUBERAY_GEN_RAY_START_CMD"));
    json_decref(b.pod);
    worker_pod_of(&b, &o, 0, 0);
    ray = ray_container(b.pod);
    tu_assert_json(kobj_arr(ray, "args"),
                   "[\"ulimit -n 65536; echo worker; $KUBERAY_GEN_RAY_START_CMD\"]");
    /* the init container is still injected */
    assert_string_equal(
        kobj_path_str(json_array_get(kobj_path(b.pod, "spec.initContainers"), 0), "name"),
        "wait-gcs-ready");
    built_free(&b);
}

static void test_command_containing_ray_start_is_kept(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    o.login_shell = true;
    struct built b = {0};
    b.doc = tu_load("minimal.json");
    tu_set(b.doc, "spec.headGroupSpec.template.spec.containers.0.args",
           "[\"ray start --head --block\"]");
    tu_parse(b.doc, &b.rc);
    struct krc_error err;
    assert_int_equal(raycluster_build_head_pod(&b.rc, &o, NULL, &b.pod, &err), 0);
    json_t *ray = ray_container(b.pod);
    assert_null(json_object_get(ray, "command"));
    tu_assert_json(kobj_arr(ray, "args"), "[\"ray start --head --block\"]");
    json_decref(b.pod);
    raycluster_release(&b.rc);
    tu_set(b.doc, "spec.headGroupSpec.template.spec.containers.0.args", NULL);
    tu_parse(b.doc, &b.rc);
    assert_int_equal(raycluster_build_head_pod(&b.rc, &o, NULL, &b.pod, &err), 0);
    tu_assert_json(kobj_arr(ray_container(b.pod), "command"), "[\"/bin/bash\", \"-cl\", \"--\"]");
    built_free(&b);
}

static void test_gcs_fault_tolerance_wiring(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    head_pod_of(&b, "external-redis.json", &o, NULL);
    json_t *anno = kobj_path(b.pod, "metadata.annotations");
    assert_string_equal(kobj_str(anno, "ray.io/ft-enabled"), "true");
    assert_string_equal(kobj_str(anno, "ray.io/external-storage-namespace"),
                        "a3f7e0c2-2222-4d1b-8e6f-0c9b8a7d6e5f");
    json_t *ray = ray_container(b.pod);
    assert_string_equal(tu_env_value(ray, "RAY_external_storage_namespace"),
                        "a3f7e0c2-2222-4d1b-8e6f-0c9b8a7d6e5f");
    assert_string_equal(tu_env_value(ray, "RAY_REDIS_ADDRESS"), "redis:6379");
    tu_assert_json(kobj_env_find(ray, "REDIS_PASSWORD"),
                   "{\"name\": \"REDIS_PASSWORD\", \"valueFrom\": {\"secretKeyRef\": {\"name\": "
                   "\"redis-password-secret\", \"key\": \"password\"}}}");
    const char *cmd = tu_env_value(ray, "KUBERAY_GEN_RAY_START_CMD");
    assert_non_null(strstr(cmd, " --redis-password=$REDIS_PASSWORD "));
    assert_null(strstr(cmd, "redis-username"));
    /* a template that mounts /tmp/ray keeps its own volume; /dev/shm is still added */
    assert_int_equal(json_array_size(kobj_path(b.pod, "spec.volumes")), 2);
    json_decref(b.pod);
    worker_pod_of(&b, &o, 0, 0);
    assert_string_equal(
        tu_env_value(ray_container(b.pod), "RAY_gcs_rpc_server_reconnect_timeout_s"), "600");
    assert_null(kobj_path(b.pod, "metadata.annotations"));
    built_free(&b);
}

static void test_legacy_ft_annotation_wiring(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    head_pod_of(&b, "legacy-ft.json", &o, NULL);
    json_t *ray = ray_container(b.pod);
    assert_string_equal(
        kobj_str(kobj_path(b.pod, "metadata.annotations"), "ray.io/external-storage-namespace"),
        "my-ns");
    assert_string_equal(kobj_str(kobj_path(b.pod, "metadata.annotations"), "ray.io/ft-enabled"),
                        "true");
    assert_string_equal(tu_env_value(ray, "RAY_external_storage_namespace"), "my-ns");
    assert_string_equal(tu_env_value(ray, "REDIS_PASSWORD"), "5241590000000000");
    built_free(&b);
}

static void test_token_auth_env(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    head_pod_of(&b, "auth-token.json", &o, NULL);
    json_t *ray = ray_container(b.pod);
    assert_string_equal(tu_env_value(ray, "RAY_AUTH_MODE"), "token");
    tu_assert_json(kobj_env_find(ray, "RAY_AUTH_TOKEN"),
                   "{\"name\": \"RAY_AUTH_TOKEN\", \"valueFrom\": {\"secretKeyRef\": {\"name\": "
                   "\"raycluster-auth\", \"key\": \"auth_token\"}}}");
    json_decref(b.pod);
    worker_pod_of(&b, &o, 0, 0);
    json_t *ic = json_array_get(kobj_path(b.pod, "spec.initContainers"), 0);
    char names[512];
    assert_string_equal(tu_env_names(ic, names, sizeof(names)),
                        "RAY_AUTH_MODE,RAY_AUTH_TOKEN,FQ_RAY_IP,RAY_IP");
    built_free(&b);
}

static void test_rayservice_created_cluster(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    b.doc = tu_load("gpu-worker.json");
    tu_set(b.doc, "metadata.labels", "{\"ray.io/originated-from-crd\": \"RayService\"}");
    tu_parse(b.doc, &b.rc);
    struct krc_error err;
    assert_int_equal(raycluster_build_head_pod(&b.rc, &o, NULL, &b.pod, &err), 0);
    json_t *ray = ray_container(b.pod);
    assert_string_equal(kobj_str(kobj_path(b.pod, "metadata.labels"), "ray.io/serve"), "false");
    assert_string_equal(tu_env_value(ray, "RAY_USAGE_STATS_EXTRA_TAGS"),
                        "kuberay_version=kuberay-c;kuberay_crd=RayService");
    assert_string_equal(tu_env_value(ray, "RAY_SERVE_KV_TIMEOUT_S"), "5");
    json_decref(b.pod);
    worker_pod_of(&b, &o, 0, 0);
    ray = ray_container(b.pod);
    assert_string_equal(kobj_str(kobj_path(b.pod, "metadata.labels"), "ray.io/serve"), "true");
    tu_assert_json(
        json_object_get(ray, "readinessProbe"),
        "{\"exec\": {\"command\": [\"bash\", \"-c\", \"" WORKER_PROBE
        " && wget --tries 1 -T 10 -q -O- http://localhost:8000/-/healthz | grep success\"]}, "
        "\"initialDelaySeconds\": 10, \"timeoutSeconds\": 2, \"periodSeconds\": 5, "
        "\"successThreshold\": 1, \"failureThreshold\": 1}");
    built_free(&b);
}

static void test_operator_options(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    o.deterministic_head_pod_name = true;
    o.probes_injection = false;
    o.init_container_injection = false;
    o.cluster_domain = "corp.local";
    json_t *sidecars = tu_json("[{\"name\": \"log-shipper\", \"image\": \"fluent\"}]");
    json_t *anno = tu_json("{\"team\": \"x\", \"ray.io/ft-enabled\": \"nope\"}");
    json_t *labels = tu_json("{\"ray.io/cluster\": \"nope\", \"extra\": \"y\"}");
    o.head_sidecar_containers = sidecars;
    o.default_pod_annotations = anno;
    o.default_pod_labels = labels;
    struct built b = {0};
    head_pod_of(&b, "gpu-worker.json", &o, NULL);
    json_t *meta = kobj_obj(b.pod, "metadata");
    assert_string_equal(kobj_str(meta, "name"), "raycluster-sample-head");
    assert_null(json_object_get(meta, "generateName"));
    assert_string_equal(kobj_str(kobj_obj(meta, "annotations"), "team"), "x");
    assert_string_equal(kobj_str(kobj_obj(meta, "annotations"), "ray.io/ft-enabled"), "false");
    assert_string_equal(kobj_str(kobj_obj(meta, "labels"), "ray.io/cluster"), "raycluster-sample");
    assert_string_equal(kobj_str(kobj_obj(meta, "labels"), "extra"), "y");
    assert_string_equal(kobj_str(kobj_container(kobj_obj(b.pod, "spec"), 1), "name"),
                        "log-shipper");
    assert_null(json_object_get(ray_container(b.pod), "livenessProbe"));
    json_decref(b.pod);
    worker_pod_of(&b, &o, 0, 0);
    assert_null(kobj_path(b.pod, "spec.initContainers"));
    assert_string_equal(tu_env_value(ray_container(b.pod), "FQ_RAY_IP"),
                        "raycluster-sample-head-svc.default.svc.corp.local");
    built_free(&b);
    json_decref(sidecars);
    json_decref(anno);
    json_decref(labels);
}

static void test_plasma_directory_and_existing_shm_skip_volume(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    b.doc = tu_load("minimal.json");
    tu_set(b.doc, "spec.headGroupSpec.rayStartParams.plasma-directory", "\"/plasma\"");
    tu_parse(b.doc, &b.rc);
    struct krc_error err;
    assert_int_equal(raycluster_build_head_pod(&b.rc, &o, NULL, &b.pod, &err), 0);
    assert_null(kobj_path(b.pod, "spec.volumes"));
    built_free(&b);
    b.doc = tu_load("minimal.json");
    tu_set(b.doc, "spec.headGroupSpec.template.spec.containers.0.volumeMounts",
           "[{\"name\": \"mine\", \"mountPath\": \"/dev/shm\"}]");
    tu_parse(b.doc, &b.rc);
    assert_int_equal(raycluster_build_head_pod(&b.rc, &o, NULL, &b.pod, &err), 0);
    assert_null(kobj_path(b.pod, "spec.volumes"));
    assert_int_equal(json_array_size(kobj_arr(ray_container(b.pod), "volumeMounts")), 1);
    built_free(&b);
}

static void test_multi_host_labels_and_template_name_rules(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    struct built b = {0};
    b.doc = tu_load("tpu-multihost.json");
    tu_set(b.doc, "spec.workerGroupSpecs.0.template.metadata", "{\"name\": \"fixed\"}");
    tu_set(b.doc, "spec.headGroupSpec.template.metadata", "{\"name\": \"my-head\"}");
    tu_parse(b.doc, &b.rc);
    struct krc_error err;
    struct raycluster_worker_slot slot = {1, "tpu-group-abcde", 1};
    assert_int_equal(raycluster_build_worker_pod(&b.rc, &o, 0, &slot, &b.pod, &err), 0);
    json_t *labels = kobj_path(b.pod, "metadata.labels");
    assert_string_equal(kobj_str(labels, "ray.io/worker-group-replica-index"), "1");
    assert_string_equal(kobj_str(labels, "ray.io/worker-group-replica-name"), "tpu-group-abcde");
    assert_string_equal(kobj_str(labels, "ray.io/replica-host-index"), "1");
    assert_null(kobj_path(b.pod, "metadata.name"));
    assert_non_null(strstr(tu_env_value(ray_container(b.pod), "KUBERAY_GEN_RAY_START_CMD"),
                           " --resources='{\"TPU\":4}' "));
    json_decref(b.pod);
    /* gate off: no replica labels at all */
    o.gates.multi_host_indexing = false;
    assert_int_equal(raycluster_build_worker_pod(&b.rc, &o, 0, &slot, &b.pod, &err), 0);
    assert_null(kobj_str(kobj_path(b.pod, "metadata.labels"), "ray.io/worker-group-replica-index"));
    json_decref(b.pod);
    /* quirk: a head template name is kept */
    assert_int_equal(raycluster_build_head_pod(&b.rc, &o, NULL, &b.pod, &err), 0);
    assert_string_equal(kobj_path_str(b.pod, "metadata.name"), "my-head");
    assert_string_equal(kobj_path_str(b.pod, "metadata.generateName"),
                        "raycluster-tpu-multihost-head-");
    built_free(&b);
}

static void test_unimplemented_niche_features_fail_loudly(void **state)
{
    (void)state;
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    o.gates.mtls = true;
    struct built b = {0};
    b.doc = tu_load("minimal.json");
    tu_set(b.doc, "spec.tlsOptions", "{\"enabled\": true}");
    tu_parse(b.doc, &b.rc);
    struct krc_error err;
    assert_int_equal(raycluster_build_head_pod(&b.rc, &o, NULL, &b.pod, &err), KRC_EINVAL);
    assert_non_null(strstr(err.msg, "not supported by kuberay-c yet"));
    assert_null(b.pod);
    built_free(&b);
}

static void test_spec_hash_ignores_scaling_fields(void **state)
{
    (void)state;
    json_t *doc = tu_load("gpu-worker.json");
    struct raycluster rc;
    char h1[RAYCLUSTER_HASH_LEN + 1], h2[RAYCLUSTER_HASH_LEN + 1], h3[RAYCLUSTER_HASH_LEN + 1];
    tu_parse(doc, &rc);
    assert_int_equal(raycluster_spec_hash(&rc, h1), 0);
    assert_int_equal(strlen(h1), 32);
    for (const char *p = h1; *p; p++)
        assert_true((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'V'));
    raycluster_release(&rc);
    tu_set(doc, "spec.workerGroupSpecs.0.replicas", "7");
    tu_set(doc, "spec.workerGroupSpecs.0.scaleStrategy", "{\"workersToDelete\": [\"a\"]}");
    tu_set(doc, "spec.headGroupSpec.template.spec.tolerations", "[{\"key\": \"k\"}]");
    tu_set(doc, "spec.upgradeStrategy", "{\"type\": \"Recreate\"}");
    tu_parse(doc, &rc);
    assert_int_equal(raycluster_spec_hash(&rc, h2), 0);
    assert_string_equal(h1, h2);
    raycluster_release(&rc);
    tu_set(doc, "spec.workerGroupSpecs.0.template.spec.containers.0.image", "\"new\"");
    tu_parse(doc, &rc);
    assert_int_equal(raycluster_spec_hash(&rc, h3), 0);
    assert_string_not_equal(h1, h3);
    raycluster_release(&rc);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_pod_of_minimal_cluster),
        cmocka_unit_test(test_http_probes_from_ray_2_53),
        cmocka_unit_test(test_autoscaler_sidecar_and_head_changes),
        cmocka_unit_test(test_autoscaler_options_and_v2),
        cmocka_unit_test(test_worker_pod_of_gpu_group),
        cmocka_unit_test(test_cpu_request_fallback_variant),
        cmocka_unit_test(test_group_labels_and_resources_feed_params_and_pod_labels),
        cmocka_unit_test(test_overwrite_container_cmd_keeps_user_command),
        cmocka_unit_test(test_command_containing_ray_start_is_kept),
        cmocka_unit_test(test_gcs_fault_tolerance_wiring),
        cmocka_unit_test(test_legacy_ft_annotation_wiring),
        cmocka_unit_test(test_token_auth_env),
        cmocka_unit_test(test_rayservice_created_cluster),
        cmocka_unit_test(test_operator_options),
        cmocka_unit_test(test_plasma_directory_and_existing_shm_skip_volume),
        cmocka_unit_test(test_multi_host_labels_and_template_name_rules),
        cmocka_unit_test(test_unimplemented_niche_features_fail_loudly),
        cmocka_unit_test(test_spec_hash_ignores_scaling_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
