/* Unit tests for the stream line splitter (krc_lines): lines split across chunks in every possible
 * place, CRLF, empty lines, the per-line cap, a callback that stops the stream, and a stream cut
 * inside a line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kube/client.h"
#include "util/strbuf.h"

struct collector {
    struct krc_strbuf joined; /* lines joined with '|' */
    int count;
    int stop_at; /* return 1 at this line number (1-based); 0 = never */
};

static int collect(void *ctx, const char *line, size_t len)
{
    struct collector *c = ctx;
    assert_int_equal(strlen(line), len); /* NUL-terminated, no embedded NUL */
    c->count++;
    if (c->joined.len)
        assert_int_equal(krc_strbuf_addch(&c->joined, '|'), 0);
    assert_int_equal(krc_strbuf_add(&c->joined, line, len), 0);
    return c->stop_at && c->count == c->stop_at ? 1 : 0;
}

static const char events[] = "{\"type\":\"ADDED\",\"object\":{}}\n"
                             "{\"type\":\"MODIFIED\",\"object\":{}}\r\n"
                             "\n"
                             "{\"type\":\"DELETED\",\"object\":{}}\n";
static const char want[] = "{\"type\":\"ADDED\",\"object\":{}}|"
                           "{\"type\":\"MODIFIED\",\"object\":{}}|"
                           "{\"type\":\"DELETED\",\"object\":{}}";

static void test_lines_are_whole_wherever_chunks_split(void **state)
{
    (void)state;
    size_t n = strlen(events);
    /* Two chunks split at every offset, then one byte at a time. */
    for (size_t cut = 0; cut <= n; cut++) {
        struct collector c = {KRC_STRBUF_INIT, 0, 0};
        struct krc_lines l;
        krc_lines_init(&l, 0, collect, &c);
        assert_int_equal(krc_lines_feed(&l, events, cut), 0);
        assert_int_equal(krc_lines_feed(&l, events + cut, n - cut), 0);
        assert_int_equal(krc_lines_finish(&l), 0);
        if (strcmp(c.joined.buf, want) != 0)
            fail_msg("cut at %zu: got %s", cut, c.joined.buf);
        krc_lines_release(&l);
        krc_strbuf_release(&c.joined);
    }
    struct collector c = {KRC_STRBUF_INIT, 0, 0};
    struct krc_lines l;
    krc_lines_init(&l, 0, collect, &c);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(krc_lines_feed(&l, events + i, 1), 0);
    assert_string_equal(c.joined.buf, want);
    assert_int_equal(c.count, 3);
    krc_lines_release(&l);
    krc_strbuf_release(&c.joined);
}

static void test_line_over_the_cap_fails_and_at_the_cap_passes(void **state)
{
    (void)state;
    struct collector c = {KRC_STRBUF_INIT, 0, 0};
    struct krc_lines l;
    char line[18];
    memset(line, 'a', 16);
    line[16] = '\n';
    line[17] = '\0';
    krc_lines_init(&l, 16, collect, &c);
    assert_int_equal(krc_lines_feed(&l, line, 17), 0); /* exactly 16 bytes: accepted */
    assert_int_equal(krc_lines_feed(&l, "0123456789abcdef\r\n", 18), 0); /* 16 + CR: accepted */
    assert_int_equal(c.count, 2);
    /* 17 bytes, arriving in pieces, never buffered past the cap. */
    assert_int_equal(krc_lines_feed(&l, "0123456789", 10), 0);
    assert_int_equal(krc_lines_feed(&l, "abcdefg", 7), 0);
    int rc = krc_lines_feed(&l, "h\n", 2);
    assert_int_equal(rc, KRC_ETOOLARGE);
    assert_int_equal(c.count, 2);
    assert_true(l.line.alloc <= 64); /* the buffer did not grow with the hostile line */
    krc_lines_release(&l);
    krc_strbuf_release(&c.joined);
}

static void test_callback_value_stops_the_feed(void **state)
{
    (void)state;
    struct collector c = {KRC_STRBUF_INIT, 0, 2};
    struct krc_lines l;
    krc_lines_init(&l, 0, collect, &c);
    assert_int_equal(krc_lines_feed(&l, events, strlen(events)), 1);
    assert_int_equal(c.count, 2); /* the third line was not delivered */
    krc_lines_release(&l);
    krc_strbuf_release(&c.joined);
}

static void test_stream_cut_inside_a_line_is_reported(void **state)
{
    (void)state;
    struct collector c = {KRC_STRBUF_INIT, 0, 0};
    struct krc_lines l;
    krc_lines_init(&l, 0, collect, &c);
    assert_int_equal(krc_lines_feed(&l, "{\"type\":\"ADDED\"}\n{\"type\":", 25), 0);
    assert_int_equal(c.count, 1);
    assert_int_equal(krc_lines_finish(&l), KRC_EIO);
    assert_int_equal(krc_lines_finish(&l), 0); /* the partial line is dropped */
    krc_lines_release(&l);
    krc_strbuf_release(&c.joined);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_are_whole_wherever_chunks_split),
        cmocka_unit_test(test_line_over_the_cap_fails_and_at_the_cap_passes),
        cmocka_unit_test(test_callback_value_stops_the_feed),
        cmocka_unit_test(test_stream_cut_inside_a_line_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
