/* Unit tests for ray/serve: the Serve status answer as RayService applicationStatuses (spec
 * rayservice.md §7.5, §14.2, example C), the PUT body from serveConfigV2 (§7.4, example B), and
 * the GET and PUT against an HTTP server on loopback (the fake of tests/unit/support). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kobj.h"
#include "fake_http.h"
#include "ray/serve.h"

static const char *const EXAMPLE_C =
    "{\"controller_info\":{\"node_ip\":\"10.4.0.7\"},\"proxy_location\":\"EveryNode\","
    "\"http_options\":{\"host\":\"0.0.0.0\",\"port\":8000,\"request_timeout_s\":null},"
    "\"deploy_mode\":\"MULTI_APP\",\"target_capacity\":null,\"applications\":{"
    "\"fruit_app\":{\"name\":\"fruit_app\",\"route_prefix\":\"/fruit\",\"docs_path\":null,"
    "\"status\":\"RUNNING\",\"message\":\"\",\"last_deployed_time_s\":1718000000.5,"
    "\"deployed_app_config\":{\"x\":1},\"deployments\":{"
    "\"MangoStand\":{\"name\":\"MangoStand\",\"status\":\"HEALTHY\",\"message\":\"\","
    "\"replicas\":[]},"
    "\"FruitMarket\":{\"name\":\"FruitMarket\",\"status\":\"UPSCALING\","
    "\"message\":\"Scaling from 1 to 2 replicas.\"}}},"
    "\"math_app\":{\"name\":\"math_app\",\"route_prefix\":\"/calc\",\"docs_path\":null,"
    "\"status\":\"DEPLOYING\",\"message\":\"\",\"deployments\":{"
    "\"Adder\":{\"name\":\"Adder\",\"status\":\"UPDATING\",\"message\":\"1 replica still "
    "starting.\"}}}}}";

static json_t *parse_ok(const char *body, bool *ready)
{
    json_t *apps = NULL;
    struct krc_error err = {0};
    int r = ray_serve_parse_applications(200, "200 OK", body, strlen(body), &apps, ready, &err);
    if (r)
        fail_msg("parse failed: %s", err.msg);
    return apps;
}

static void test_example_c(void **state)
{
    (void)state;
    bool ready = true;
    json_t *apps = parse_ok(EXAMPLE_C, &ready);
    json_t *want = json_loads(
        "{\"fruit_app\":{\"status\":\"RUNNING\",\"serveDeploymentStatuses\":{"
        "\"FruitMarket\":{\"status\":\"UPSCALING\",\"message\":\"Scaling from 1 to 2 replicas.\"},"
        "\"MangoStand\":{\"status\":\"HEALTHY\"}}},"
        "\"math_app\":{\"status\":\"DEPLOYING\",\"serveDeploymentStatuses\":{"
        "\"Adder\":{\"status\":\"UPDATING\",\"message\":\"1 replica still starting.\"}}}}",
        0, NULL);
    assert_non_null(want);
    if (!json_equal(apps, want)) {
        char *got = json_dumps(apps, JSON_SORT_KEYS);
        fail_msg("applicationStatuses differ: %s", got);
    }
    assert_false(ready); /* math_app is DEPLOYING */
    json_decref(want);
    json_decref(apps);
}

/* Readiness: at least one application and all RUNNING; deployments play no part. */
static void test_readiness(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        bool ready;
        size_t napps;
    } cases[] = {
        {"{\"applications\":{}}", false, 0},
        {"{\"applications\":null}", false, 0},
        {"{}", false, 0},
        {"null", false, 0},
        {"{\"applications\":{\"a\":{\"status\":\"RUNNING\",\"deployments\":{\"d\":{\"status\":"
         "\"UNHEALTHY\"}}}}}",
         true, 1},
        {"{\"applications\":{\"a\":{\"status\":\"RUNNING\"},\"b\":{\"status\":\"UNHEALTHY\"}}}",
         false, 2},
        {"{\"applications\":{\"\":{\"status\":\"RUNNING\"}}}", true, 1},
        {"{\"applications\":{\"a\":{\"status\":\"running\"}}}", false, 1},
        {"{\"applications\":{\"a\":null}}", false, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool ready = !cases[i].ready;
        json_t *apps = parse_ok(cases[i].body, &ready);
        if (ready != cases[i].ready || json_object_size(apps) != cases[i].napps)
            fail_msg("case %zu: ready %d apps %zu", i, ready, json_object_size(apps));
        json_decref(apps);
    }
    bool ready;
    json_t *apps = parse_ok("{\"applications\":{\"\":{\"status\":\"RUNNING\"}}}", &ready);
    assert_non_null(json_object_get(apps, "default"));
    json_decref(apps);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        long status;
        const char *text, *body, *want;
        int rc;
    } cases[] = {
        {500, "500 Internal Server Error", "boom",
         "GetServeDetails fail: 500 Internal Server "
         "Error boom",
         KRC_ESERVER},
        {200, "200 OK", "not json", "GetServeDetails failed. Failed to unmarshal bytes: not json",
         KRC_EINVAL},
        {200, "200 OK", "[]", "Failed to unmarshal bytes: []", KRC_EINVAL},
        {200, "200 OK", "{\"applications\":[]}", "Failed to unmarshal", KRC_EINVAL},
        {200, "200 OK", "{\"applications\":{\"a\":{\"status\":1}}}", "Failed to unmarshal",
         KRC_EINVAL},
        {200, "200 OK", "{\"applications\":{\"a\":{\"deployments\":{\"d\":{\"message\":[]}}}}}",
         "Failed to unmarshal", KRC_EINVAL},
        {200, "200 OK", "{\"deploy_mode\":3}", "Failed to unmarshal", KRC_EINVAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *apps = NULL;
        bool ready = true;
        struct krc_error err = {0};
        int r = ray_serve_parse_applications(cases[i].status, cases[i].text, cases[i].body,
                                             strlen(cases[i].body), &apps, &ready, &err);
        if (r != cases[i].rc || !strstr(err.msg, cases[i].want) || apps || ready)
            fail_msg("case %zu: rc %d msg \"%s\"", i, r, err.msg);
    }
}

static void test_body_example_b(void **state)
{
    (void)state;
    const char *yaml = "proxy_location: EveryNode\n"
                       "http_options:\n"
                       "  host: 0.0.0.0\n"
                       "  port: 8000\n"
                       "applications:\n"
                       "  - name: fruit_app\n"
                       "    route_prefix: /fruit\n"
                       "    import_path: fruit.deployment_graph\n"
                       "    runtime_env:\n"
                       "      working_dir: \"https://example.com/fruit.zip\"\n"
                       "    deployments:\n"
                       "      - name: MangoStand\n"
                       "        num_replicas: 2\n"
                       "        user_config:\n"
                       "          price: 3.0\n"
                       "          fresh: yes\n"
                       "        ray_actor_options:\n"
                       "          num_cpus: 0.5\n";
    const char *want =
        "{\"applications\":[{\"deployments\":[{\"name\":\"MangoStand\",\"num_replicas\":2,"
        "\"ray_actor_options\":{\"num_cpus\":0.5},\"user_config\":{\"fresh\":true,\"price\":3}}],"
        "\"import_path\":\"fruit.deployment_graph\",\"name\":\"fruit_app\",\"route_prefix\":"
        "\"/fruit\",\"runtime_env\":{\"working_dir\":\"https://example.com/fruit.zip\"}}],"
        "\"http_options\":{\"host\":\"0.0.0.0\",\"port\":8000},\"proxy_location\":\"EveryNode\"}";
    struct krc_strbuf out = KRC_STRBUF_INIT;
    struct krc_error err = {0};
    assert_int_equal(ray_serve_build_body(yaml, &out, &err), 0);
    assert_string_equal(out.buf, want);
    krc_strbuf_release(&out);
    assert_int_equal(ray_serve_build_body("", &out, &err), 0);
    assert_string_equal(out.buf, "null");
    krc_strbuf_release(&out);
    assert_int_equal(ray_serve_build_body("- a\n- b\n", &out, &err), KRC_EINVAL);
    krc_strbuf_release(&out);
    assert_int_equal(ray_serve_build_body("a: [\n", &out, &err), KRC_EINVAL);
    assert_non_null(strstr(err.msg, "yaml"));
    krc_strbuf_release(&out);
}

/* The fake dashboard: records the last request; GET answers one RUNNING app, PUT answers with
 * put_status. */
struct fake_dash {
    struct fake_listener l;
    char last[8192];
    int put_status;
};

static void dash_conn(void *arg, int fd)
{
    struct fake_dash *d = arg;
    char req[8192], resp[1024];
    while (fake_read_request(fd, req, sizeof(req)) == 0) {
        snprintf(d->last, sizeof(d->last), "%s", req);
        const char *body = "{\"applications\":{\"a\":{\"status\":\"RUNNING\"}}}";
        int status = 200;
        if (strncmp(req, "PUT ", 4) == 0) {
            status = d->put_status;
            body = status == 200 ? "" : "invalid config";
        }
        int n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         status, status == 200 ? "OK" : "Bad Request", strlen(body), body);
        fake_write_all(fd, resp, (size_t)n);
    }
}

static void test_get_and_put_over_http(void **state)
{
    (void)state;
    struct fake_dash d = {.put_status = 200};
    char base[64];
    struct ray_dashboard_client *c = NULL;
    struct krc_error err = {0};
    fake_listener_start(&d.l, dash_conn, &d);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", d.l.port);
    struct ray_dashboard_opts o = {.base_url = base, .auth_token = "tok"};
    assert_int_equal(ray_dashboard_client_new(&o, &c, &err), 0);

    json_t *apps = NULL;
    bool ready = false;
    assert_int_equal(ray_serve_get_applications(c, &apps, &ready, &err), 0);
    assert_true(ready);
    assert_non_null(strstr(d.last, "GET /api/serve/applications/?api_type=declarative "));
    char auth[128];
    fake_header_value(d.last, "\r\nx-ray-authorization:", auth, sizeof(auth));
    assert_string_equal(auth, "Bearer tok");
    json_decref(apps);

    assert_int_equal(ray_serve_put_applications(c, "applications:\n  - name: a\n", &err), 0);
    assert_non_null(strstr(d.last, "PUT /api/serve/applications/ "));
    char ct[64];
    fake_header_value(d.last, "\r\nContent-Type:", ct, sizeof(ct));
    assert_string_equal(ct, "application/json");
    assert_non_null(strstr(d.last, "\r\n\r\n{\"applications\":[{\"name\":\"a\"}]}"));

    d.put_status = 400;
    assert_int_equal(ray_serve_put_applications(c, "applications: []\n", &err), KRC_ESERVER);
    assert_string_equal(err.msg, "UpdateDeployments fail: 400 Bad Request invalid config");
    ray_dashboard_client_free(c);

    /* §14.4: the proxy check is a plain GET /-/healthz, healthy on 200 */
    assert_true(ray_serve_proxy_healthy("127.0.0.1", d.l.port));
    assert_non_null(strstr(d.last, "GET /-/healthz "));
    fake_header_value(d.last, "\r\nx-ray-authorization:", auth, sizeof(auth));
    assert_string_equal(auth, "");
    fake_listener_stop(&d.l);
}

/* The proxy check against a closed port is simply "unhealthy". */
static void test_proxy_closed_port(void **state)
{
    (void)state;
    assert_false(ray_serve_proxy_healthy("127.0.0.1", 1));
    assert_false(ray_serve_proxy_healthy("", 8000));
    assert_false(ray_serve_proxy_healthy(NULL, 8000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_c),
        cmocka_unit_test(test_readiness),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_body_example_b),
        cmocka_unit_test(test_get_and_put_over_http),
        cmocka_unit_test(test_proxy_closed_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
