/* Unit tests for cli/untar (the streaming tar extractor of `kubectl ray log`): archives built
 * block by block here, fed whole and one byte at a time; directories, files, GNU long names,
 * skipped link entries, and the archives that must be refused (names escaping the directory, bad
 * checksums, a stream cut inside an entry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/untar.h"
#include "util/strbuf.h"

enum { BLOCK = 512, TMP_DIR_MAX = 64 };

/* Appends a GNU-style header block ("ustar  " magic) with a correct checksum. */
static void add_header(struct krc_strbuf *tar, const char *name, char type, size_t size, int posix,
                       const char *prefix)
{
    unsigned char h[BLOCK];
    memset(h, 0, sizeof(h));
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0640);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    snprintf((char *)h + 124, 12, "%011zo", size);
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = (unsigned char)type;
    memcpy(h + 257,
           posix ? "ustar\0"
                   "00"
                 : "ustar  \0",
           8);
    if (prefix)
        snprintf((char *)h + 345, 155, "%s", prefix);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < BLOCK; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    assert_int_equal(krc_strbuf_add(tar, h, sizeof(h)), 0);
}

static void add_data(struct krc_strbuf *tar, const char *data, size_t len)
{
    static const char zeros[BLOCK];
    assert_int_equal(krc_strbuf_add(tar, data, len), 0);
    assert_int_equal(krc_strbuf_add(tar, zeros, (BLOCK - len % BLOCK) % BLOCK), 0);
}

static void add_file(struct krc_strbuf *tar, const char *name, const char *content)
{
    add_header(tar, name, '0', strlen(content), 0, NULL);
    add_data(tar, content, strlen(content));
}

static void add_end(struct krc_strbuf *tar)
{
    static const char zeros[2 * BLOCK];
    assert_int_equal(krc_strbuf_add(tar, zeros, sizeof(zeros)), 0);
}

static char *read_file(const char *dir, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void make_dir(char dir[TMP_DIR_MAX])
{
    snprintf(dir, TMP_DIR_MAX, "/tmp/krc-untar-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void remove_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Feeds the archive in pieces of step bytes; returns the first failure. */
static int feed(struct cli_untar *t, const struct krc_strbuf *tar, size_t step, char *why)
{
    for (size_t off = 0; off < tar->len; off += step) {
        size_t k = tar->len - off < step ? tar->len - off : step;
        if (cli_untar_feed(t, tar->buf + off, k, why, 256) != 0)
            return -1;
    }
    return cli_untar_finish(t, why, 256);
}

static void build_log_archive(struct krc_strbuf *tar, char *long_name, size_t long_size)
{
    add_header(tar, "./", '5', 0, 0, NULL);
    add_file(tar, "./raylet.out", "raylet started\n");
    add_header(tar, "./old/", '5', 0, 0, NULL);
    add_file(tar, "./old/gcs_server.out", "gcs\n");
    add_file(tar, "./nested/deeper/implied.log", "parents made\n"); /* no dir entries */
    memset(long_name, 'n', long_size - 1);
    memcpy(long_name, "./", 2);
    long_name[long_size - 1] = '\0';
    add_header(tar, "././@LongLink", 'L', long_size, 0, NULL);
    add_data(tar, long_name, long_size);
    add_file(tar, "truncated-in-header", "long\n");
    add_header(tar, "./link", '2', 0, 0, NULL);         /* skipped */
    add_header(tar, "file", '0', 0, 1, "posix/prefix"); /* ustar prefix + name */
    add_file(tar, "./big.log", "");
    add_end(tar);
}

static void test_log_archive_extracts_whole_and_byte_by_byte(void **state)
{
    (void)state;
    static const size_t steps[] = {1 << 20, 1, 7, 511, 513};
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        char dir[TMP_DIR_MAX], why[256] = "", long_name[200];
        struct krc_strbuf tar = KRC_STRBUF_INIT;
        make_dir(dir);
        build_log_archive(&tar, long_name, sizeof(long_name));
        char *msgs = NULL;
        size_t msgs_len = 0;
        FILE *m = open_memstream(&msgs, &msgs_len);
        assert_non_null(m);
        struct cli_untar *t = cli_untar_new(dir, m);
        assert_non_null(t);
        if (feed(t, &tar, steps[s], why) != 0)
            fail_msg("step %zu: %s", steps[s], why);
        assert_int_equal(cli_untar_entries(t), 9);
        cli_untar_free(t);
        fclose(m);
        assert_string_equal(read_file(dir, "raylet.out"), "raylet started\n");
        assert_string_equal(read_file(dir, "old/gcs_server.out"), "gcs\n");
        assert_string_equal(read_file(dir, "nested/deeper/implied.log"), "parents made\n");
        assert_string_equal(read_file(dir, long_name + 2), "long\n");
        assert_string_equal(read_file(dir, "posix/prefix/file"), "");
        assert_string_equal(read_file(dir, "big.log"), "");
        assert_null(read_file(dir, "link"));
        assert_string_equal(msgs, "Ignoring unsupported file type: 110010"); /* '2', Go's %b */
        struct stat st;
        char path[128];
        snprintf(path, sizeof(path), "%s/raylet.out", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0640);
        free(msgs);
        krc_strbuf_release(&tar);
        remove_dir(dir);
    }
}

struct refused_case {
    const char *name;
    const char *why_part;
};

static void test_names_escaping_the_directory_are_refused(void **state)
{
    (void)state;
    static const struct refused_case cases[] = {
        {"../evil", "outside"},
        {"./a/../../evil", "outside"},
        {"a/..", "outside"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char dir[TMP_DIR_MAX], why[256] = "";
        struct krc_strbuf tar = KRC_STRBUF_INIT;
        make_dir(dir);
        add_file(&tar, cases[i].name, "x");
        add_end(&tar);
        struct cli_untar *t = cli_untar_new(dir, stdout);
        assert_non_null(t);
        assert_int_equal(feed(t, &tar, 1 << 20, why), -1);
        if (!strstr(why, cases[i].why_part))
            fail_msg("%s: reason \"%s\"", cases[i].name, why);
        cli_untar_free(t);
        krc_strbuf_release(&tar);
        remove_dir(dir);
    }
}

static void test_absolute_names_stay_inside(void **state)
{
    (void)state;
    char dir[TMP_DIR_MAX], why[256] = "";
    struct krc_strbuf tar = KRC_STRBUF_INIT;
    make_dir(dir);
    add_file(&tar, "/etc/abs.txt", "inside\n");
    add_end(&tar);
    struct cli_untar *t = cli_untar_new(dir, stdout);
    assert_non_null(t);
    if (feed(t, &tar, 1 << 20, why) != 0)
        fail_msg("%s", why);
    assert_string_equal(read_file(dir, "etc/abs.txt"), "inside\n");
    cli_untar_free(t);
    krc_strbuf_release(&tar);
    remove_dir(dir);
}

static void test_bad_checksum_and_cut_streams_fail(void **state)
{
    (void)state;
    char dir[TMP_DIR_MAX], why[256] = "";
    struct krc_strbuf tar = KRC_STRBUF_INIT;
    make_dir(dir);
    add_file(&tar, "a.log", "0123456789");
    tar.buf[0] = 'b'; /* the checksum no longer matches */
    struct cli_untar *t = cli_untar_new(dir, stdout);
    assert_non_null(t);
    assert_int_equal(feed(t, &tar, 1 << 20, why), -1);
    assert_non_null(strstr(why, "checksum"));
    cli_untar_free(t);

    krc_strbuf_reset(&tar);
    add_file(&tar, "a.log", "0123456789");
    tar.len -= BLOCK - 5; /* cut inside the data */
    t = cli_untar_new(dir, stdout);
    assert_non_null(t);
    assert_int_equal(feed(t, &tar, 1 << 20, why), -1);
    assert_non_null(strstr(why, "unexpected EOF"));
    cli_untar_free(t);
    krc_strbuf_release(&tar);
    remove_dir(dir);
}

struct clean_case {
    const char *in;
    const char *want; /* NULL: refused */
};

static void test_names_are_cleaned(void **state)
{
    (void)state;
    static const struct clean_case cases[] = {
        {"./", ""},           {".", ""},          {"./a//b/", "a/b"}, {"/abs", "abs"},
        {"a/./b", "a/b"},     {"..", NULL},       {"a/../b", NULL},   {"..hidden", "..hidden"},
        {"a/b..c", "a/b..c"}, {"./.x/y", ".x/y"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        int rc = cli_untar_clean_name(cases[i].in, out, sizeof(out));
        if (!cases[i].want) {
            if (rc == 0)
                fail_msg("\"%s\" was accepted as \"%s\"", cases[i].in, out);
        } else if (rc != 0 || strcmp(out, cases[i].want) != 0) {
            fail_msg("\"%s\": got rc %d \"%s\", want \"%s\"", cases[i].in, rc, rc ? "" : out,
                     cases[i].want);
        }
    }
    char small[4];
    assert_int_equal(cli_untar_clean_name("abcd", small, sizeof(small)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_archive_extracts_whole_and_byte_by_byte),
        cmocka_unit_test(test_names_escaping_the_directory_are_refused),
        cmocka_unit_test(test_absolute_names_stay_inside),
        cmocka_unit_test(test_bad_checksum_and_cut_streams_fail),
        cmocka_unit_test(test_names_are_cleaned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
