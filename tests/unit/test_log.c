/* Unit tests for util/log: text and JSON lines, escaping, level filtering, the line-length cap and
 * the level/format names. Each test points the process-wide sink at a pipe and reads back what was
 * written; teardown restores the default sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"

/* log.c's KRC_LOG_LINE_MAX: the longest line, newline included. */
#define LOG_LINE_MAX 4096
/* "2026-07-23T07:07:48.123Z" */
#define TIMESTAMP_LEN 24

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct sink {
    int fds[2];                     /* pipe: the logger writes fds[1], the test reads fds[0] */
    char out[4 * LOG_LINE_MAX + 1]; /* everything read back, NUL-terminated */
};

static int setup(void **state)
{
    static struct sink sink;
    if (pipe(sink.fds) != 0)
        return -1;
    if (fcntl(sink.fds[0], F_SETFL, O_NONBLOCK) != 0)
        return -1;
    *state = &sink;
    return 0;
}

static int teardown(void **state)
{
    struct sink *s = *state;
    krc_log_configure(KRC_LOG_INFO, KRC_LOG_FORMAT_TEXT, STDERR_FILENO);
    close(s->fds[0]);
    close(s->fds[1]);
    return 0;
}

static void use(struct sink *s, enum krc_log_level level, enum krc_log_format format)
{
    krc_log_configure(level, format, s->fds[1]);
}

/* Everything written since the last call. */
static const char *drain(struct sink *s)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = read(s->fds[0], s->out + len, sizeof(s->out) - 1 - len);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break; /* EAGAIN: the pipe is empty */
    }
    s->out[len] = '\0';
    return s->out;
}

/* Checks "YYYY-MM-DDTHH:MM:SS.mmmZ" at ts. */
static void check_timestamp(const char *ts)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; i < TIMESTAMP_LEN; i++) {
        int ok = pattern[i] == 'd' ? ts[i] >= '0' && ts[i] <= '9' : ts[i] == pattern[i];
        if (!ok)
            fail_msg("timestamp \"%.24s\" does not look like %s", ts, pattern);
    }
}

/* Checks the text line's "ts=<timestamp>" and returns what follows it. */
static const char *after_text_ts(const char *line)
{
    if (strncmp(line, "ts=", 3) != 0)
        fail_msg("text line does not start with ts=: \"%s\"", line);
    check_timestamp(line + 3);
    return line + 3 + TIMESTAMP_LEN;
}

/* Checks the JSON line's {"ts":"<timestamp>" and returns what follows it. */
static const char *after_json_ts(const char *line)
{
    if (strncmp(line, "{\"ts\":\"", 7) != 0)
        fail_msg("JSON line does not start with {\"ts\":\": \"%s\"", line);
    check_timestamp(line + 7);
    if (line[7 + TIMESTAMP_LEN] != '"')
        fail_msg("JSON timestamp is not closed: \"%s\"", line);
    return line + 7 + TIMESTAMP_LEN + 1;
}

static void test_text_line_has_ts_level_msg_and_pairs(void **state)
{
    struct sink *s = *state;
    use(s, KRC_LOG_INFO, KRC_LOG_FORMAT_TEXT);
    KRC_LOG_INFO("created pod", "namespace", "default", "name", "ray-head");
    assert_string_equal(after_text_ts(drain(s)),
                        " level=info msg=\"created pod\" namespace=default name=ray-head\n");
}

static void test_json_line_is_one_object(void **state)
{
    struct sink *s = *state;
    use(s, KRC_LOG_INFO, KRC_LOG_FORMAT_JSON);
    KRC_LOG_WARN("created pod", "namespace", "default", "name", "ray-head");
    assert_string_equal(after_json_ts(drain(s)),
                        ",\"level\":\"warn\",\"msg\":\"created pod\","
                        "\"namespace\":\"default\",\"name\":\"ray-head\"}\n");
}

static void test_a_line_without_pairs(void **state)
{
    struct sink *s = *state;
    use(s, KRC_LOG_DEBUG, KRC_LOG_FORMAT_TEXT);
    KRC_LOG_DEBUG("tick");
    assert_string_equal(after_text_ts(drain(s)), " level=debug msg=\"tick\"\n");
    use(s, KRC_LOG_DEBUG, KRC_LOG_FORMAT_JSON);
    KRC_LOG_ERROR("tick");
    assert_string_equal(after_json_ts(drain(s)), ",\"level\":\"error\",\"msg\":\"tick\"}\n");
}

static void test_json_escapes_quotes_backslashes_and_control_characters(void **state)
{
    struct sink *s = *state;
    use(s, KRC_LOG_INFO, KRC_LOG_FORMAT_JSON);
    KRC_LOG_INFO("say \"hi\"\n", "path", "C:\\tmp\t\r", "ctl", "\x01\x1f", "k\"ey", "v", "utf8",
                 "é→");
    assert_string_equal(after_json_ts(drain(s)),
                        ",\"level\":\"info\",\"msg\":\"say \\\"hi\\\"\\n\","
                        "\"path\":\"C:\\\\tmp\\t\\r\",\"ctl\":\"\\u0001\\u001f\","
                        "\"k\\\"ey\":\"v\",\"utf8\":\"é→\"}\n");
}

/* In text, a value is bare unless it is empty or holds a space, '"', '=' or a control character;
 * then it is quoted with JSON escaping. The message is always quoted. */
static void test_text_quotes_values_only_when_needed(void **state)
{
    struct sink *s = *state;
    static const struct {
        const char *value, *want;
    } cases[] = {
        {"plain", "plain"},
        {"a/b:c-1.5Gi", "a/b:c-1.5Gi"},
        {"", "\"\""},
        {"two words", "\"two words\""},
        {"a=b", "\"a=b\""},
        {"say \"x\"", "\"say \\\"x\\\"\""},
        {"line\nbreak", "\"line\\nbreak\""},
        {"tab\there", "\"tab\\there\""},
        {"back\\slash", "back\\slash"},
        {"é", "é"},
    };
    use(s, KRC_LOG_INFO, KRC_LOG_FORMAT_TEXT);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char want[128];
        KRC_LOG_INFO("m", "k", cases[i].value);
        snprintf(want, sizeof(want), " level=info msg=\"m\" k=%s\n", cases[i].want);
        const char *got = after_text_ts(drain(s));
        if (strcmp(got, want) != 0)
            fail_msg("value \"%s\" logged as \"%s\", want \"%s\"", cases[i].value, got, want);
    }
}

static void test_a_null_value_is_logged_empty(void **state)
{
    struct sink *s = *state;
    use(s, KRC_LOG_INFO, KRC_LOG_FORMAT_TEXT);
    KRC_LOG_INFO("m", "k", (const char *)NULL, "after", "x");
    assert_string_equal(after_text_ts(drain(s)), " level=info msg=\"m\" k=\"\" after=x\n");
}

static void test_lines_below_the_minimum_level_are_dropped(void **state)
{
    struct sink *s = *state;
    use(s, KRC_LOG_WARN, KRC_LOG_FORMAT_TEXT);
    assert_false(krc_log_enabled(KRC_LOG_DEBUG));
    assert_false(krc_log_enabled(KRC_LOG_INFO));
    assert_true(krc_log_enabled(KRC_LOG_WARN));
    assert_true(krc_log_enabled(KRC_LOG_ERROR));

    KRC_LOG_DEBUG("debug");
    KRC_LOG_INFO("info");
    assert_string_equal(drain(s), "");
    KRC_LOG_WARN("warn");
    assert_non_null(strstr(drain(s), "level=warn"));
    KRC_LOG_ERROR("error");
    assert_non_null(strstr(drain(s), "level=error"));

    use(s, KRC_LOG_DEBUG, KRC_LOG_FORMAT_TEXT);
    KRC_LOG_DEBUG("debug");
    assert_non_null(strstr(drain(s), "level=debug msg=\"debug\""));
}

static void test_each_call_writes_exactly_one_line(void **state)
{
    struct sink *s = *state;
    use(s, KRC_LOG_INFO, KRC_LOG_FORMAT_TEXT);
    KRC_LOG_INFO("one");
    KRC_LOG_INFO("two", "k", "multi\nline");
    KRC_LOG_INFO("three");
    const char *out = drain(s);
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(out, "msg=\"two\" k=\"multi\\nline\"\n"));
}

/* A line over the cap is cut to exactly LOG_LINE_MAX bytes ending "...\n"; JSON loses its closing
 * brace, which tells a reader the object is incomplete. */
static void test_a_long_line_is_cut_with_an_ellipsis(void **state)
{
    struct sink *s = *state;
    static char big[3 * LOG_LINE_MAX];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    static const enum krc_log_format formats[] = {KRC_LOG_FORMAT_TEXT, KRC_LOG_FORMAT_JSON};
    for (size_t i = 0; i < ARRAY_LEN(formats); i++) {
        use(s, KRC_LOG_INFO, formats[i]);
        KRC_LOG_INFO("long", "value", big, "after", "lost");
        const char *out = drain(s);
        size_t len = strlen(out);
        assert_int_equal(len, LOG_LINE_MAX);
        assert_string_equal(out + len - 5, "v...\n");
        assert_ptr_equal(strchr(out, '\n'), out + len - 1);
        assert_null(strstr(out, "lost"));
    }
}

/* log.c keeps 4 bytes for "...\n", so a line of LOG_LINE_MAX - 4 bytes before its newline is the
 * longest written whole; one more byte and it is cut. */
static void test_the_longest_whole_line_is_not_cut(void **state)
{
    struct sink *s = *state;
    use(s, KRC_LOG_INFO, KRC_LOG_FORMAT_TEXT);
    KRC_LOG_INFO("m", "k", "");
    size_t overhead = strlen(drain(s)) - 1 - 2; /* without the newline and the empty value's "" */
    static char value[LOG_LINE_MAX];
    size_t n = LOG_LINE_MAX - 4 - overhead;
    memset(value, 'v', n);
    value[n] = '\0';
    KRC_LOG_INFO("m", "k", value);
    const char *out = drain(s);
    assert_int_equal(strlen(out), LOG_LINE_MAX - 4 + 1);
    assert_string_equal(out + strlen(out) - 3, "vv\n");

    value[n] = 'v';
    value[n + 1] = '\0';
    KRC_LOG_INFO("m", "k", value);
    out = drain(s);
    assert_int_equal(strlen(out), LOG_LINE_MAX);
    assert_string_equal(out + strlen(out) - 4, "...\n");
}

static void test_logging_keeps_errno_and_survives_a_bad_fd(void **state)
{
    (void)state;
    krc_log_configure(KRC_LOG_INFO, KRC_LOG_FORMAT_TEXT, -1);
    errno = ENOENT;
    KRC_LOG_ERROR("nowhere to go", "k", "v");
    assert_int_equal(errno, ENOENT);

    struct sink *s = *state;
    use(s, KRC_LOG_INFO, KRC_LOG_FORMAT_JSON);
    errno = EAGAIN;
    KRC_LOG_INFO("ok");
    assert_int_equal(errno, EAGAIN);
    assert_non_null(strstr(drain(s), "\"msg\":\"ok\""));
}

static void test_parse_level_accepts_kuberay_names(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int rc;
        enum krc_log_level level;
    } cases[] = {
        {"debug", 0, KRC_LOG_DEBUG},         {"info", 0, KRC_LOG_INFO},
        {"warn", 0, KRC_LOG_WARN},           {"warning", 0, KRC_LOG_WARN},
        {"error", 0, KRC_LOG_ERROR},         {"", KRC_EINVAL, KRC_LOG_INFO},
        {"INFO", KRC_EINVAL, KRC_LOG_INFO},  {"trace", KRC_EINVAL, KRC_LOG_INFO},
        {"info ", KRC_EINVAL, KRC_LOG_INFO},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        enum krc_log_level level = KRC_LOG_INFO;
        int rc = krc_log_parse_level(cases[i].s, &level);
        if (rc != cases[i].rc || level != cases[i].level)
            fail_msg("level \"%s\": rc %d level %d, want rc %d level %d", cases[i].s, rc,
                     (int)level, cases[i].rc, (int)cases[i].level);
    }
}

static void test_parse_format_accepts_console_as_text(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int rc;
        enum krc_log_format format;
    } cases[] = {
        {"text", 0, KRC_LOG_FORMAT_TEXT},      {"console", 0, KRC_LOG_FORMAT_TEXT},
        {"json", 0, KRC_LOG_FORMAT_JSON},      {"JSON", KRC_EINVAL, KRC_LOG_FORMAT_TEXT},
        {"", KRC_EINVAL, KRC_LOG_FORMAT_TEXT}, {"logfmt", KRC_EINVAL, KRC_LOG_FORMAT_TEXT},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        enum krc_log_format format = KRC_LOG_FORMAT_TEXT;
        int rc = krc_log_parse_format(cases[i].s, &format);
        if (rc != cases[i].rc || format != cases[i].format)
            fail_msg("format \"%s\": rc %d format %d, want rc %d format %d", cases[i].s, rc,
                     (int)format, cases[i].rc, (int)cases[i].format);
    }
}

#define LOG_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        LOG_TEST(test_text_line_has_ts_level_msg_and_pairs),
        LOG_TEST(test_json_line_is_one_object),
        LOG_TEST(test_a_line_without_pairs),
        LOG_TEST(test_json_escapes_quotes_backslashes_and_control_characters),
        LOG_TEST(test_text_quotes_values_only_when_needed),
        LOG_TEST(test_a_null_value_is_logged_empty),
        LOG_TEST(test_lines_below_the_minimum_level_are_dropped),
        LOG_TEST(test_each_call_writes_exactly_one_line),
        LOG_TEST(test_a_long_line_is_cut_with_an_ellipsis),
        LOG_TEST(test_the_longest_whole_line_is_not_cut),
        LOG_TEST(test_logging_keeps_errno_and_survives_a_bad_fd),
        LOG_TEST(test_parse_level_accepts_kuberay_names),
        LOG_TEST(test_parse_format_accepts_console_as_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
