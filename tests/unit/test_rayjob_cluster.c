/* Unit tests for controller/rayjob_cluster: the RayCluster a RayJob creates (spec rayjob.md §6.2),
 * its `<rayjob>-head-svc` (§6.3) and the dashboard address (§6.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kobj.h"
#include "controller/raycluster_opts.h"
#include "controller/rayjob_cluster.h"

#define HEAD_TEMPLATE                                                                              \
    "\"headGroupSpec\": {\"template\": {\"spec\": {\"containers\": [{\"name\": \"ray-head\", "     \
    "\"image\": \"rayproject/ray:2.52.0\", \"ports\": [{\"name\": \"dashboard\", "                 \
    "\"containerPort\": 8265}]}]}}}"

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        fail_msg("bad test JSON: %s", jerr.text);
    return v;
}

static void parse(const char *spec_members, struct rayjob *job)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "{\"metadata\": {\"name\": \"job\", \"namespace\": \"ns\", \"uid\": \"u-1\", "
             "\"labels\": {\"team\": \"a\", \"ray.io/originated-from-crd\": \"x\"}, "
             "\"annotations\": {\"note\": \"n\"}}, \"spec\": {%s}}",
             spec_members);
    json_t *doc = load(text);
    struct krc_error err = {0};
    if (rayjob_parse(doc, job, &err))
        fail_msg("parse: %s", err.msg);
    json_decref(doc);
}

static void test_cluster_carries_the_rayjob_labels_annotations_and_owner(void **state)
{
    (void)state;
    struct rayjob job;
    parse("\"entrypoint\": \"python x.py\", \"rayClusterSpec\": {\"rayVersion\": "
          "\"2.52.0\", " HEAD_TEMPLATE "}",
          &job);
    json_t *rc = NULL;
    assert_int_equal(rayjob_build_cluster(&job, "job-abcde", "job-fghij", "", false, &rc, NULL), 0);
    assert_string_equal(kobj_path_str(rc, "metadata.name"), "job-abcde");
    assert_string_equal(kobj_path_str(rc, "metadata.namespace"), "ns");
    json_t *labels = kobj_path(rc, "metadata.labels");
    assert_string_equal(kobj_map_get(labels, "team"), "a");
    assert_string_equal(kobj_map_get(labels, "ray.io/originated-from-crd"), "RayJob");
    assert_string_equal(kobj_map_get(labels, "ray.io/originated-from-cr-name"), "job");
    assert_string_equal(kobj_map_get(labels, "ray.io/job-submission-mode"), "K8sJobMode");
    assert_string_equal(kobj_map_get(kobj_path(rc, "metadata.annotations"), "note"), "n");
    json_t *owner = json_array_get(kobj_path(rc, "metadata.ownerReferences"), 0);
    assert_string_equal(kobj_str(owner, "kind"), "RayJob");
    assert_string_equal(kobj_str(owner, "uid"), "u-1");
    assert_true(json_is_true(json_object_get(owner, "blockOwnerDeletion")));
    assert_string_equal(kobj_path_str(rc, "spec.rayVersion"), "2.52.0");
    assert_int_equal(json_array_size(kobj_path(rc, "spec.headGroupSpec.template.spec.containers")),
                     1);
    json_decref(rc);
    rayjob_release(&job);
}

static void test_sidecar_mode_adds_the_submitter_and_disables_head_restart(void **state)
{
    (void)state;
    struct rayjob job;
    parse("\"submissionMode\": \"SidecarMode\", \"entrypoint\": \"python x.py\", "
          "\"rayClusterSpec\": {" HEAD_TEMPLATE "}",
          &job);
    json_t *rc = NULL;
    assert_int_equal(rayjob_build_cluster(&job, "job-abcde", "job-fghij", "", false, &rc, NULL), 0);
    assert_string_equal(kobj_map_get(kobj_path(rc, "metadata.annotations"),
                                     "ray.io/disable-provisioned-head-restart"),
                        "true");
    json_t *pod = kobj_path(rc, "spec.headGroupSpec.template.spec");
    assert_string_equal(kobj_str(pod, "restartPolicy"), "Never");
    json_t *c1 = kobj_container(pod, 1);
    assert_string_equal(kobj_str(c1, "name"), "ray-job-submitter");
    assert_string_equal(kobj_str(c1, "image"), "rayproject/ray:2.52.0");
    json_decref(rc);
    rayjob_release(&job);
}

static void test_head_service_follows_the_current_cluster(void **state)
{
    (void)state;
    struct rayjob job;
    parse("\"entrypoint\": \"python x.py\", \"rayClusterSpec\": {" HEAD_TEMPLATE "}", &job);
    json_t *doc = load("{\"metadata\": {\"name\": \"job-abcde\", \"namespace\": \"ns\", \"uid\": "
                       "\"c-1\"}, \"spec\": {" HEAD_TEMPLATE "}}");
    struct raycluster rc;
    assert_int_equal(raycluster_parse(doc, &rc, NULL), 0);
    json_decref(doc);
    struct raycluster_opts o;
    raycluster_opts_default(&o);
    json_t *svc = NULL;
    assert_int_equal(rayjob_build_head_service(&job, &rc, &o, &svc, NULL), 0);
    assert_string_equal(kobj_path_str(svc, "metadata.name"), "job-head-svc");
    json_t *labels = kobj_path(svc, "metadata.labels");
    assert_int_equal(json_object_size(labels), 4);
    assert_string_equal(kobj_map_get(labels, "ray.io/identifier"), "job-head");
    assert_string_equal(kobj_map_get(kobj_path(svc, "spec.selector"), "ray.io/cluster"),
                        "job-abcde");
    json_t *refs = kobj_path(svc, "metadata.ownerReferences");
    assert_int_equal(json_array_size(refs), 1);
    assert_string_equal(kobj_str(json_array_get(refs, 0), "kind"), "RayJob");

    char url[256];
    json_t *head_svc = load("{\"spec\": {\"ports\": [{\"name\": \"client\", \"port\": 10001}, "
                            "{\"name\": \"dashboard\", \"port\": 8265}]}}");
    assert_int_equal(rayjob_dashboard_url(&rc, head_svc, NULL, url, sizeof(url), NULL), 0);
    assert_string_equal(url, "job-abcde-head-svc.ns.svc.cluster.local:8265");
    assert_int_equal(rayjob_dashboard_url(&rc, head_svc, "example.org", url, sizeof(url), NULL), 0);
    assert_string_equal(url, "job-abcde-head-svc.ns.svc.example.org:8265");
    json_t *no_port = load("{\"spec\": {\"ports\": []}}");
    struct krc_error err = {0};
    assert_int_equal(rayjob_dashboard_url(&rc, no_port, NULL, url, sizeof(url), &err), KRC_EINVAL);
    assert_string_equal(err.msg, "dashboard port is not found");
    json_decref(no_port);
    json_decref(head_svc);
    json_decref(svc);
    raycluster_release(&rc);
    rayjob_release(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_carries_the_rayjob_labels_annotations_and_owner),
        cmocka_unit_test(test_sidecar_mode_adds_the_submitter_and_disables_head_restart),
        cmocka_unit_test(test_head_service_follows_the_current_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
