/* Unit tests for kube/config: kubeconfig parsing, kubectl's merge rules, data vs file fields,
 * relative paths, error messages with file and line, and the in-cluster configuration. Fixtures
 * are in tests/data/kubeconfig; error cases are inline YAML written to a temporary directory, so
 * each case shows the line its message must point at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/config.h"
#include "util/strbuf.h"

static char datadir[1024];
static char tmpdir[256];

static const char *data(const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/kubeconfig/%s", datadir, name);
    assert_true(n > 0 && (size_t)n < size);
    return buf;
}

static const char *write_tmp(const char *name, const char *text, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s", tmpdir, name);
    assert_true(n > 0 && (size_t)n < size);
    FILE *f = fopen(buf, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static int setup(void **state)
{
    (void)state;
    const char *d = getenv("KRC_TESTDATA");
    char cwd[512];
    if (!d)
        d = "tests/data";
    /* Expected paths are absolute, as the loader makes them. */
    if (d[0] != '/' && getcwd(cwd, sizeof(cwd)))
        snprintf(datadir, sizeof(datadir), "%s/%s", cwd, d);
    else
        snprintf(datadir, sizeof(datadir), "%s", d);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/krc-kubeconfig-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    unsetenv("KUBECONFIG");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Loads one file; asserts success. */
static void load_path(const char *path, const char *context, struct krc_kubeconfig *cfg)
{
    struct krc_error err = {0, ""};
    struct krc_kubeconfig_options opts = {.path = path, .context = context};
    int rc = krc_kubeconfig_load(cfg, &opts, &err);
    if (rc)
        fail_msg("load %s: %s", path, err.msg);
}

/* Loads one file that must fail with want; the message is left in err. */
static void load_fails(const char *path, int want, struct krc_error *err)
{
    struct krc_kubeconfig cfg;
    struct krc_kubeconfig_options opts = {.path = path};
    assert_int_equal(krc_kubeconfig_load(&cfg, &opts, err), want);
}

static void test_current_context_selects_cluster_user_and_namespace(void **state)
{
    (void)state;
    char p[PATH_MAX], ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX];
    struct krc_kubeconfig cfg;
    load_path(data("basic.yaml", p, sizeof(p)), NULL, &cfg);
    assert_string_equal(cfg.context, "dev");
    assert_string_equal(cfg.server, "https://dev.example.com:6443"); /* trailing '/' dropped */
    assert_string_equal(cfg.namespace, "team-a");
    assert_string_equal(cfg.tls_server_name, "kubernetes.default.svc");
    assert_int_equal(cfg.insecure_skip_tls_verify, 0);
    assert_string_equal(cfg.ca_file, data("ca.crt", ca, sizeof(ca)));
    assert_string_equal(cfg.client_cert_file, data("client.crt", crt, sizeof(crt)));
    assert_string_equal(cfg.client_key_file, data("client.key", key, sizeof(key)));
    assert_null(cfg.ca_data.data);
    assert_null(cfg.token);
    krc_kubeconfig_free(&cfg);
}

static void test_context_override_wins_over_current_context(void **state)
{
    (void)state;
    char p[PATH_MAX], tok[PATH_MAX];
    struct krc_kubeconfig cfg;
    load_path(data("basic.yaml", p, sizeof(p)), "prod", &cfg);
    assert_string_equal(cfg.context, "prod");
    assert_string_equal(cfg.server, "https://10.0.0.1:443");
    assert_int_equal(cfg.insecure_skip_tls_verify, 1);
    assert_string_equal(cfg.namespace, "default"); /* the context sets none */
    assert_string_equal(cfg.token, "static-token-value");
    assert_string_equal(cfg.token_file, data("token", tok, sizeof(tok)));
    assert_null(cfg.ca_file);
    krc_kubeconfig_free(&cfg);
}

static void test_data_fields_are_base64_decoded(void **state)
{
    (void)state;
    char p[PATH_MAX];
    struct krc_kubeconfig cfg;
    static const char ca[] =
        "-----BEGIN CERTIFICATE-----\nZGF0YSBDQQ==\n-----END CERTIFICATE-----\n";
    static const char key[] =
        "-----BEGIN PRIVATE KEY-----\nZGF0YSBrZXk=\n-----END PRIVATE KEY-----\n";
    load_path(data("data.yaml", p, sizeof(p)), NULL, &cfg);
    assert_int_equal(cfg.ca_data.len, strlen(ca));
    assert_memory_equal(cfg.ca_data.data, ca, strlen(ca));
    assert_non_null(cfg.client_cert_data.data);
    assert_int_equal(cfg.client_key_data.len, strlen(key));
    assert_memory_equal(cfg.client_key_data.data, key, strlen(key));
    assert_null(cfg.ca_file);
    assert_null(cfg.client_cert_file);
    krc_kubeconfig_free(&cfg);
}

static void test_kubeconfig_list_merges_first_definition_wins(void **state)
{
    (void)state;
    char a[PATH_MAX], b[PATH_MAX], list[3 * PATH_MAX], subca[PATH_MAX];
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    /* A missing entry in the list is skipped, as kubectl does. */
    snprintf(list, sizeof(list), "%s:%s/does-not-exist.yaml:%s",
             data("merge-first.yaml", a, sizeof(a)), tmpdir,
             data("sub/merge-second.yaml", b, sizeof(b)));
    setenv("KUBECONFIG", list, 1);
    int rc = krc_kubeconfig_load(&cfg, NULL, &err);
    unsetenv("KUBECONFIG");
    if (rc)
        fail_msg("merged load: %s", err.msg);
    /* current-context from the first file names a context only the second defines. */
    assert_string_equal(cfg.context, "from-second");
    assert_string_equal(cfg.server, "https://second-only.example.com:8443");
    assert_string_equal(cfg.namespace, "second-ns");
    /* The user "first-user" is defined in both: the first file's definition wins whole. */
    assert_string_equal(cfg.token, "first-token");
    /* A relative path is resolved against the directory of the file that holds it. */
    assert_string_equal(cfg.ca_file, data("sub/ca.crt", subca, sizeof(subca)));
    krc_kubeconfig_free(&cfg);

    /* And "shared-ctx" (defined in both) uses the first file's definition and its cluster. */
    setenv("KUBECONFIG", list, 1);
    struct krc_kubeconfig_options opts = {.context = "shared-ctx"};
    rc = krc_kubeconfig_load(&cfg, &opts, &err);
    unsetenv("KUBECONFIG");
    if (rc)
        fail_msg("merged load: %s", err.msg);
    assert_string_equal(cfg.server, "https://first.example.com");
    assert_string_equal(cfg.namespace, "first-ns");
    krc_kubeconfig_free(&cfg);
}

static void test_relative_kubeconfig_path_resolves_against_its_directory(void **state)
{
    (void)state;
    char cwd[PATH_MAX], kdir[PATH_MAX], ca[PATH_MAX];
    struct krc_kubeconfig cfg;
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(kdir, sizeof(kdir), "%s/kubeconfig", datadir);
    assert_int_equal(chdir(kdir), 0);
    load_path("sub/merge-second.yaml", "from-second", &cfg);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(cfg.ca_file, data("sub/ca.crt", ca, sizeof(ca)));
    krc_kubeconfig_free(&cfg);
}

static void test_missing_current_context_is_reported(void **state)
{
    (void)state;
    char p[PATH_MAX];
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    load_fails(data("no-current-context.yaml", p, sizeof(p)), KRC_EINVAL, &err);
    assert_non_null(strstr(err.msg, "current-context is not set"));
    assert_non_null(strstr(err.msg, "no-current-context.yaml"));
    /* An explicit context makes the same file usable. */
    load_path(p, "only", &cfg);
    assert_string_equal(cfg.server, "https://c.example.com");
    krc_kubeconfig_free(&cfg);
}

static void test_malformed_yaml_reports_file_and_line(void **state)
{
    (void)state;
    char p[PATH_MAX];
    struct krc_error err = {0, ""};
    load_fails(data("malformed.yaml", p, sizeof(p)), KRC_EINVAL, &err);
    assert_non_null(strstr(err.msg, "malformed.yaml:"));
    assert_non_null(strstr(err.msg, "malformed YAML"));
    /* The string left open on line 6 runs to the end of the file (line 8): both are named. */
    if (!strstr(err.msg, "malformed.yaml:8:1:") || !strstr(err.msg, "started at line 6"))
        fail_msg("message does not point at lines 8 and 6: %s", err.msg);
}

static void test_missing_explicit_file_is_not_found(void **state)
{
    (void)state;
    char p[PATH_MAX];
    struct krc_error err = {0, ""};
    snprintf(p, sizeof(p), "%s/nope.yaml", tmpdir);
    load_fails(p, KRC_ENOTFOUND, &err);
    assert_non_null(strstr(err.msg, "nope.yaml"));
}

/* Bad inputs that must fail: the message must contain each listed fragment (file:line, field). */
struct bad_case {
    const char *name;
    const char *yaml;
    int code;
    const char *want[3];
};

static const struct bad_case bad_cases[] = {
    {"clusters-not-a-sequence",
     "current-context: x\n"
     "clusters:\n"
     "  name: c\n",
     KRC_EINVAL,
     {":3:", "clusters: expected a sequence, found a mapping"}},
    {"server-not-a-string",
     "current-context: x\n"
     "clusters:\n"
     "- name: c\n"
     "  cluster:\n"
     "    server: [a, b]\n",
     KRC_EINVAL,
     {":5:", "clusters[0].cluster.server: expected a string, found a sequence"}},
    {"insecure-not-a-bool",
     "clusters:\n"
     "- name: c\n"
     "  cluster:\n"
     "    server: https://x\n"
     "    insecure-skip-tls-verify: maybe\n",
     KRC_EINVAL,
     {":5:", "insecure-skip-tls-verify: expected true or false", "maybe"}},
    {"bad-base64",
     "users:\n"
     "- name: u\n"
     "  user:\n"
     "    client-key-data: not*base64\n",
     KRC_EINVAL,
     {":4:", "users[0].user.client-key-data: invalid base64"}},
    {"entry-without-name",
     "contexts:\n"
     "- context:\n"
     "    cluster: c\n",
     KRC_EINVAL,
     {":2:", "contexts[0]: name is missing"}},
    {"top-level-sequence", "- a\n- b\n", KRC_EINVAL, {":1:", "top level: expected a mapping"}},
    {"undefined-context",
     "current-context: ghost\n"
     "contexts: []\n",
     KRC_EINVAL,
     {":1:", "current-context \"ghost\" is not defined"}},
    {"undefined-cluster",
     "current-context: x\n"
     "contexts:\n"
     "- name: x\n"
     "  context:\n"
     "    cluster: ghost\n",
     KRC_EINVAL,
     {":5:", "cluster \"ghost\" is not defined"}},
    {"undefined-user",
     "current-context: x\n"
     "clusters:\n"
     "- name: c\n"
     "  cluster: {server: https://x}\n"
     "contexts:\n"
     "- name: x\n"
     "  context: {cluster: c, user: ghost}\n",
     KRC_EINVAL,
     {":7:", "user \"ghost\" is not defined"}},
    {"cluster-without-server",
     "current-context: x\n"
     "clusters:\n"
     "- name: c\n"
     "  cluster: {insecure-skip-tls-verify: true}\n"
     "contexts:\n"
     "- name: x\n"
     "  context: {cluster: c}\n",
     KRC_EINVAL,
     {":3:", "cluster \"c\": server is not set"}},
    {"ca-file-and-data",
     "current-context: x\n"
     "clusters:\n"
     "- name: c\n"
     "  cluster:\n"
     "    server: https://x\n"
     "    certificate-authority: /etc/hostname\n"
     "    certificate-authority-data: YQ==\n"
     "contexts:\n"
     "- name: x\n"
     "  context: {cluster: c}\n",
     KRC_EINVAL,
     {":7:", "both certificate-authority and certificate-authority-data"}},
    {"cert-without-key",
     "current-context: x\n"
     "clusters:\n"
     "- name: c\n"
     "  cluster: {server: https://x}\n"
     "users:\n"
     "- name: u\n"
     "  user: {client-certificate-data: YQ==}\n"
     "contexts:\n"
     "- name: x\n"
     "  context: {cluster: c, user: u}\n",
     KRC_EINVAL,
     {":6:", "needs a client key"}},
    {"exec-plugin",
     "current-context: x\n"
     "clusters:\n"
     "- name: c\n"
     "  cluster: {server: https://x}\n"
     "users:\n"
     "- name: u\n"
     "  user:\n"
     "    exec: {command: aws}\n"
     "contexts:\n"
     "- name: x\n"
     "  context: {cluster: c, user: u}\n",
     KRC_EINVAL,
     {"user \"u\"", "not supported"}},
    {"missing-ca-file",
     "current-context: x\n"
     "clusters:\n"
     "- name: c\n"
     "  cluster:\n"
     "    server: https://x\n"
     "    certificate-authority: missing-ca.crt\n"
     "contexts:\n"
     "- name: x\n"
     "  context: {cluster: c}\n",
     KRC_ENOTFOUND,
     {":6:", "missing-ca.crt", "No such file"}},
    /* A broken entry fails the load even when it is not the one used, as in kubectl. */
    {"broken-unused-entry",
     "current-context: x\n"
     "clusters:\n"
     "- name: c\n"
     "  cluster: {server: https://x}\n"
     "- name: unused\n"
     "  cluster: {server: {nested: map}}\n"
     "contexts:\n"
     "- name: x\n"
     "  context: {cluster: c}\n",
     KRC_EINVAL,
     {":6:", "clusters[1].cluster.server"}},
};

static void test_bad_kubeconfigs_name_file_line_and_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        char p[PATH_MAX], file[PATH_MAX + 8];
        struct krc_kubeconfig cfg;
        struct krc_error err = {0, ""};
        write_tmp(bc->name, bc->yaml, p, sizeof(p));
        struct krc_kubeconfig_options opts = {.path = p};
        int rc = krc_kubeconfig_load(&cfg, &opts, &err);
        if (rc != bc->code)
            fail_msg("case %s: got %d (%s), want %d", bc->name, rc, err.msg, bc->code);
        snprintf(file, sizeof(file), "%s", bc->name);
        if (!strstr(err.msg, file))
            fail_msg("case %s: message does not name the file: %s", bc->name, err.msg);
        for (int k = 0; k < 3 && bc->want[k]; k++)
            if (!strstr(err.msg, bc->want[k]))
                fail_msg("case %s: message lacks \"%s\": %s", bc->name, bc->want[k], err.msg);
    }
}

static void test_empty_file_is_an_empty_config(void **state)
{
    (void)state;
    char p[PATH_MAX];
    struct krc_error err = {0, ""};
    load_fails(write_tmp("empty.yaml", "# nothing here\n", p, sizeof(p)), KRC_EINVAL, &err);
    assert_non_null(strstr(err.msg, "current-context is not set"));
}

static void test_secrets_never_appear_in_errors(void **state)
{
    (void)state;
    char p[PATH_MAX];
    struct krc_error err = {0, ""};
    write_tmp("secret.yaml",
              "current-context: x\n"
              "users:\n"
              "- name: u\n"
              "  user: {token: SUPERSECRET, client-key-data: U1VQRVJTRUNSRVQ=}\n"
              "contexts:\n"
              "- name: x\n"
              "  context: {cluster: ghost, user: u}\n",
              p, sizeof(p));
    load_fails(p, KRC_EINVAL, &err);
    assert_null(strstr(err.msg, "SUPERSECRET"));
}

/* ---- in-cluster ---- */

static void make_sa_dir(const char *sub, const char *token, const char *ns, int with_ca, char *dir,
                        size_t size)
{
    char p[PATH_MAX + 32];
    snprintf(dir, size, "%s/%s", tmpdir, sub);
    assert_int_equal(mkdir(dir, 0700) == 0 || access(dir, F_OK) == 0, 1);
    char name[PATH_MAX];
    if (token) {
        snprintf(name, sizeof(name), "%s/token", sub);
        write_tmp(name, token, p, sizeof(p));
    }
    if (ns) {
        snprintf(name, sizeof(name), "%s/namespace", sub);
        write_tmp(name, ns, p, sizeof(p));
    }
    if (with_ca) {
        snprintf(name, sizeof(name), "%s/ca.crt", sub);
        write_tmp(name, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", p, sizeof(p));
    }
}

static void test_in_cluster_reads_service_account_dir(void **state)
{
    (void)state;
    char dir[PATH_MAX], want[PATH_MAX + 16];
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    make_sa_dir("sa-ok", "tok-123\n", "ray-system\n", 1, dir, sizeof(dir));
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    int rc = krc_kubeconfig_load_in_cluster(&cfg, dir, &err);
    if (rc)
        fail_msg("in-cluster: %s", err.msg);
    assert_string_equal(cfg.server, "https://10.96.0.1:443");
    assert_string_equal(cfg.namespace, "ray-system");
    snprintf(want, sizeof(want), "%s/token", dir);
    assert_string_equal(cfg.token_file, want);
    assert_null(cfg.token); /* referenced, not copied: it rotates */
    snprintf(want, sizeof(want), "%s/ca.crt", dir);
    assert_string_equal(cfg.ca_file, want);
    krc_kubeconfig_free(&cfg);
}

static void test_in_cluster_brackets_ipv6_and_defaults_namespace(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    make_sa_dir("sa-v6", "tok", NULL, 0, dir, sizeof(dir));
    setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
    int rc = krc_kubeconfig_load_in_cluster(&cfg, dir, &err);
    if (rc)
        fail_msg("in-cluster: %s", err.msg);
    assert_string_equal(cfg.server, "https://[fd00:10:96::1]:6443");
    assert_string_equal(cfg.namespace, "default");
    assert_null(cfg.ca_file); /* no ca.crt: the system trust store, as client-go does */
    krc_kubeconfig_free(&cfg);
}

static void test_in_cluster_errors(void **state)
{
    (void)state;
    char dir[PATH_MAX], empty[PATH_MAX];
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    make_sa_dir("sa-notoken", NULL, "ns", 1, dir, sizeof(dir));
    make_sa_dir("sa-emptytoken", "  \n", NULL, 1, empty, sizeof(empty));

    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(krc_kubeconfig_load_in_cluster(&cfg, dir, &err), KRC_ENOTFOUND);
    assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_HOST"));

    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    assert_int_equal(krc_kubeconfig_load_in_cluster(&cfg, dir, &err), KRC_ENOTFOUND);
    assert_non_null(strstr(err.msg, "sa-notoken/token"));
    assert_int_equal(krc_kubeconfig_load_in_cluster(&cfg, empty, &err), KRC_EINVAL);
    assert_non_null(strstr(err.msg, "empty"));

    setenv("KUBERNETES_SERVICE_PORT", "https", 1);
    assert_int_equal(krc_kubeconfig_load_in_cluster(&cfg, dir, &err), KRC_EINVAL);
    assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_PORT"));
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_load_default_prefers_kubeconfig_over_in_cluster(void **state)
{
    (void)state;
    char p[PATH_MAX];
    struct krc_kubeconfig cfg;
    struct krc_error err = {0, ""};
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    setenv("KUBECONFIG", data("basic.yaml", p, sizeof(p)), 1);
    int rc = krc_kubeconfig_load_default(&cfg, NULL, &err);
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    if (rc)
        fail_msg("load_default: %s", err.msg);
    assert_string_equal(cfg.context, "dev");
    krc_kubeconfig_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_context_selects_cluster_user_and_namespace),
        cmocka_unit_test(test_context_override_wins_over_current_context),
        cmocka_unit_test(test_data_fields_are_base64_decoded),
        cmocka_unit_test(test_kubeconfig_list_merges_first_definition_wins),
        cmocka_unit_test(test_relative_kubeconfig_path_resolves_against_its_directory),
        cmocka_unit_test(test_missing_current_context_is_reported),
        cmocka_unit_test(test_malformed_yaml_reports_file_and_line),
        cmocka_unit_test(test_missing_explicit_file_is_not_found),
        cmocka_unit_test(test_bad_kubeconfigs_name_file_line_and_field),
        cmocka_unit_test(test_empty_file_is_an_empty_config),
        cmocka_unit_test(test_secrets_never_appear_in_errors),
        cmocka_unit_test(test_in_cluster_reads_service_account_dir),
        cmocka_unit_test(test_in_cluster_brackets_ipv6_and_defaults_namespace),
        cmocka_unit_test(test_in_cluster_errors),
        cmocka_unit_test(test_load_default_prefers_kubeconfig_over_in_cluster),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
