/* Unit tests for ray/dashboard's transport against a scripted HTTP server on loopback: request
 * lines, headers and bodies the client sends, and how each kind of answer or failure is typed
 * (spec rayjob.md §9.1, §9.3, §10). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_http.h"
#include "ray/dashboard.h"

#define MAX_EXCHANGES      4
#define REQ_MAX            8192
#define SLOW_MS            300
#define RELAXED_TIMEOUT_MS 20000

/* One connection: the request received and the raw answer to send (NULL = stay silent until
 * the client gives up). */
struct exchange {
    const char *answer;
    char request[REQ_MAX];
};

struct fake_server {
    int fd;
    int port;
    size_t n;
    struct exchange ex[MAX_EXCHANGES];
    pthread_t thread;
};

/* Serves exactly n connections, one after the other, then ends (server_stop waits for that). */
static void *serve(void *arg)
{
    struct fake_server *s = arg;
    for (size_t i = 0; i < s->n; i++) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            break;
        fake_read_request(c, s->ex[i].request, sizeof(s->ex[i].request));
        if (s->ex[i].answer) {
            fake_write_all(c, s->ex[i].answer, strlen(s->ex[i].answer));
        } else {
            char b;
            while (read(c, &b, 1) > 0) /* until the client gives up and closes */
                ;
        }
        close(c);
    }
    return NULL;
}

static void server_start(struct fake_server *s, const char *const *answers, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->fd = fake_listen_loopback(&s->port);
    s->n = n;
    for (size_t i = 0; i < n; i++)
        s->ex[i].answer = answers[i];
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct fake_server *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static struct ray_dashboard_client *client_for(int port, const char *token, long timeout_ms)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    /* 0 = generous: a loaded CI machine (or valgrind) must not turn an answer into a timeout. */
    struct ray_dashboard_opts o = {.base_url = url,
                                   .auth_token = token,
                                   .timeout_ms = timeout_ms ? timeout_ms : RELAXED_TIMEOUT_MS};
    struct ray_dashboard_client *c = NULL;
    struct krc_error err = {0};
    if (ray_dashboard_client_new(&o, &c, &err))
        fail_msg("client: %s", err.msg);
    return c;
}

/* Formats an answer with the right Content-Length into a static slot. */
static const char *answer(int slot, const char *status, const char *body)
{
    static char buf[MAX_EXCHANGES][1024];
    snprintf(buf[slot], sizeof(buf[slot]),
             "HTTP/1.1 %s\r\nContent-Type: application/json\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             status, strlen(body), body);
    return buf[slot];
}

static void test_get_job_sends_auth_header_and_decodes(void **state)
{
    (void)state;
    struct fake_server s;
    const char *a[] = {answer(0, "200 OK", "{\"status\":\"RUNNING\",\"start_time\":5}")};
    server_start(&s, a, 1);
    struct ray_dashboard_client *c = client_for(s.port, "s3cret", 0);
    struct ray_job_info info;
    struct krc_error err = {0};
    int rc = ray_dashboard_get_job(c, "job-x", &info, &err);
    server_stop(&s);
    if (rc)
        fail_msg("get_job: %s", err.msg);
    assert_string_equal(info.status, "RUNNING");
    assert_true(info.start_time == 5);
    assert_non_null(strstr(s.ex[0].request, "GET /api/jobs/job-x HTTP/1.1\r\n"));
    assert_non_null(strstr(s.ex[0].request, "\r\nx-ray-authorization: Bearer s3cret\r\n"));
    ray_job_info_release(&info);
    ray_dashboard_client_free(c);
}

static void test_get_job_404_is_not_found_and_no_auth_without_token(void **state)
{
    (void)state;
    struct fake_server s;
    const char *a[] = {answer(0, "404 Not Found", "{\"detail\":\"nope\"}")};
    server_start(&s, a, 1);
    struct ray_dashboard_client *c = client_for(s.port, NULL, 0);
    struct ray_job_info info;
    struct krc_error err = {0};
    int rc = ray_dashboard_get_job(c, "missing", &info, &err);
    server_stop(&s);
    assert_int_equal(rc, KRC_ENOTFOUND);
    assert_string_equal(err.msg, "Job missing does not exist on the cluster");
    assert_null(strstr(s.ex[0].request, "x-ray-authorization"));
    ray_dashboard_client_free(c);
}

static void test_get_job_non_json_is_bad_json(void **state)
{
    (void)state;
    struct fake_server s;
    const char *a[] = {answer(0, "502 Bad Gateway", "upstream down")};
    server_start(&s, a, 1);
    struct ray_dashboard_client *c = client_for(s.port, NULL, 0);
    struct ray_job_info info;
    struct krc_error err = {0};
    int rc = ray_dashboard_get_job(c, "j", &info, &err);
    server_stop(&s);
    assert_int_equal(rc, KRC_EINVAL);
    assert_string_equal(err.msg, "GetJobInfo fail: upstream down");
    ray_dashboard_client_free(c);
}

static void test_submit_posts_body_and_types_answers(void **state)
{
    (void)state;
    struct fake_server s;
    const char *a[] = {
        answer(0, "200 OK", "{\"job_id\":\"raysubmit_1\",\"submission_id\":\"id1\"}"),
        answer(1, "500 Internal Server Error",
               "Job with submission_id id1 already exists. Please use a different submission_id."),
        answer(2, "400 Bad Request", "bad entrypoint"),
        answer(3, "200 OK", "not json"),
    };
    server_start(&s, a, 4);
    struct ray_dashboard_client *c = client_for(s.port, NULL, 0);
    struct ray_job_submit_request req = {.entrypoint = "echo hi", .submission_id = "id1"};
    struct krc_error err = {0};
    char *job_id = NULL;
    int rc1 = ray_dashboard_submit_job(c, &req, &job_id, &err);
    struct krc_error e2 = {0}, e3 = {0}, e4 = {0};
    int rc2 = ray_dashboard_submit_job(c, &req, NULL, &e2);
    int rc3 = ray_dashboard_submit_job(c, &req, NULL, &e3);
    int rc4 = ray_dashboard_submit_job(c, &req, NULL, &e4);
    server_stop(&s);
    if (rc1)
        fail_msg("submit: %s", err.msg);
    assert_string_equal(job_id, "raysubmit_1");
    free(job_id);
    assert_non_null(strstr(s.ex[0].request, "POST /api/jobs/ HTTP/1.1\r\n"));
    assert_non_null(strstr(s.ex[0].request, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(
        strstr(s.ex[0].request, "\r\n\r\n{\"entrypoint\":\"echo hi\",\"submission_id\":\"id1\"}"));
    assert_int_equal(rc2, KRC_EEXIST);
    assert_string_equal(e2.msg,
                        "submission ID 'id1' already used, Please use a different submission_id");
    assert_int_equal(rc3, KRC_ESERVER);
    assert_string_equal(e3.msg, "SubmitJob fail: 400 Bad Request bad entrypoint");
    assert_int_equal(rc4, KRC_EINVAL);
    assert_string_equal(e4.msg, "SubmitJob fail: not json");
    ray_dashboard_client_free(c);
}

static void test_stop_checks_status_when_not_stopped(void **state)
{
    (void)state;
    struct fake_server s;
    const char *a[] = {
        answer(0, "200 OK", "{\"stopped\":true}"),
        answer(1, "200 OK", "{\"stopped\":false}"),
        answer(2, "200 OK", "{\"status\":\"SUCCEEDED\"}"),
    };
    server_start(&s, a, 3);
    struct ray_dashboard_client *c = client_for(s.port, NULL, 0);
    bool stopped = false;
    struct krc_error err = {0};
    assert_int_equal(ray_dashboard_stop_job(c, "j1", &stopped, &err), 0);
    assert_true(stopped);
    /* Not stopped, but already terminal: success. */
    assert_int_equal(ray_dashboard_stop_job(c, "j1", &stopped, &err), 0);
    assert_false(stopped);
    server_stop(&s);
    assert_non_null(strstr(s.ex[0].request, "POST /api/jobs/j1/stop HTTP/1.1\r\n"));
    assert_non_null(strstr(s.ex[2].request, "GET /api/jobs/j1 HTTP/1.1\r\n"));

    const char *b[] = {
        answer(0, "200 OK", "{\"stopped\":false}"),
        answer(1, "200 OK", "{\"status\":\"RUNNING\"}"),
    };
    server_start(&s, b, 2);
    ray_dashboard_client_free(c);
    c = client_for(s.port, NULL, 0);
    assert_int_equal(ray_dashboard_stop_job(c, "j2", NULL, &err), KRC_ESERVER);
    server_stop(&s);
    ray_dashboard_client_free(c);
}

static void test_delete_and_gcs_health(void **state)
{
    (void)state;
    struct fake_server s;
    const char *a[] = {
        answer(0, "200 OK", "{\"deleted\":true}"),
        answer(1, "404 Not Found", "{}"),
        answer(2, "200 OK", "success"),
        answer(3, "503 Service Unavailable", "GCS not ready"),
    };
    server_start(&s, a, 4);
    struct ray_dashboard_client *c = client_for(s.port, NULL, 0);
    struct krc_error err = {0};
    assert_int_equal(ray_dashboard_delete_job(c, "d1", &err), 0);
    assert_int_equal(ray_dashboard_delete_job(c, "d2", &err), KRC_ENOTFOUND);
    int rc = ray_dashboard_gcs_healthz(c, &err);
    if (rc)
        fail_msg("gcs_healthz: %s", err.msg);
    assert_int_equal(ray_dashboard_gcs_healthz(c, &err), KRC_ESERVER);
    server_stop(&s);
    assert_non_null(strstr(s.ex[0].request, "DELETE /api/jobs/d1 HTTP/1.1\r\n"));
    assert_non_null(strstr(s.ex[2].request, "GET /api/gcs_healthz HTTP/1.1\r\n"));
    ray_dashboard_client_free(c);
}

static void test_silent_server_times_out(void **state)
{
    (void)state;
    struct fake_server s;
    const char *a[] = {NULL};
    server_start(&s, a, 1);
    struct ray_dashboard_client *c = client_for(s.port, NULL, SLOW_MS);
    struct ray_job_info info;
    struct krc_error err = {0};
    int rc = ray_dashboard_get_job(c, "j", &info, &err);
    server_stop(&s);
    assert_int_equal(rc, KRC_ETIMEOUT);
    assert_true(ray_dashboard_is_check_failure(rc));
    ray_dashboard_client_free(c);
}

static void test_closed_port_is_connection_refused(void **state)
{
    (void)state;
    int port;
    int fd = fake_listen_loopback(&port);
    close(fd); /* the port is now closed */
    struct ray_dashboard_client *c = client_for(port, NULL, 0);
    struct ray_job_info info;
    struct krc_error err = {0};
    int rc = ray_dashboard_get_job(c, "j", &info, &err);
    assert_int_equal(rc, KRC_EIO);
    if (strncmp(err.msg, "connection refused: ", 20) != 0)
        fail_msg("message [%s] does not say connection refused", err.msg);
    assert_true(ray_dashboard_is_check_failure(rc));
    ray_dashboard_client_free(c);
}

struct getter {
    struct ray_dashboard_client *c;
    int rc;
    char status[32];
};

static void *get_in_thread(void *arg)
{
    struct getter *g = arg;
    struct ray_job_info info;
    g->rc = ray_dashboard_get_job(g->c, "shared", &info, NULL);
    if (g->rc == 0) {
        snprintf(g->status, sizeof(g->status), "%s", info.status);
        ray_job_info_release(&info);
    }
    return NULL;
}

/* One client used from two threads at once: each call has its own transfer. */
static void test_client_is_shared_between_threads(void **state)
{
    (void)state;
    struct fake_server s;
    const char *a[] = {answer(0, "200 OK", "{\"status\":\"RUNNING\"}"),
                       answer(1, "200 OK", "{\"status\":\"RUNNING\"}")};
    server_start(&s, a, 2);
    struct ray_dashboard_client *c = client_for(s.port, NULL, 0);
    struct getter g[2] = {{.c = c}, {.c = c}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, get_in_thread, &g[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    server_stop(&s);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(g[i].rc, 0);
        assert_string_equal(g[i].status, "RUNNING");
    }
    ray_dashboard_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_job_sends_auth_header_and_decodes),
        cmocka_unit_test(test_get_job_404_is_not_found_and_no_auth_without_token),
        cmocka_unit_test(test_get_job_non_json_is_bad_json),
        cmocka_unit_test(test_submit_posts_body_and_types_answers),
        cmocka_unit_test(test_stop_checks_status_when_not_stopped),
        cmocka_unit_test(test_delete_and_gcs_health),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_closed_port_is_connection_refused),
        cmocka_unit_test(test_client_is_shared_between_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
