/* Unit tests for node/spdy: SPDY/3.1 frame parsing and building, and header blocks compressed
 * the way Go's spdystream (the API server's side of exec) compresses them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kube/spdy.h"
#include "util/error.h"
#include "util/strbuf.h"

/* Two SYN_STREAM frames (streams 1 and 3, streamtype error and stdout) as written by
 * github.com/moby/spdystream/spdy v0.5.1's Framer on one connection. */
static const uint8_t go_syn_streams[] = {
    0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x29, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2, 0x62, 0x60, 0x60, 0x60,
    0x04, 0xa7, 0xb3, 0x92, 0xa2, 0xd4, 0xc4, 0x5c, 0x68, 0x51, 0xc2, 0x9a, 0x0a, 0x0a,
    0x68, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x19, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc2, 0x2a, 0xc5,
    0x56, 0x5c, 0x92, 0x92, 0x5f, 0x5a, 0x02, 0x00, 0x00, 0x00, 0xff, 0xff,
};

/* Parses the frame at *pos, inflates its header block and returns the streamtype header. */
static void read_streamtype(struct krc_spdy_zlib *z, const uint8_t *buf, size_t len, size_t *pos,
                            uint32_t want_stream, const char *want_type)
{
    struct krc_spdy_frame f;
    const uint8_t *block;
    size_t blen;
    struct krc_strbuf raw = KRC_STRBUF_INIT;
    char value[64];
    ssize_t n = krc_spdy_parse(buf + *pos, len - *pos, &f);
    assert_true(n > 0);
    assert_int_equal(f.type, KRC_SPDY_SYN_STREAM);
    assert_int_equal(f.stream_id, want_stream);
    assert_int_equal(krc_spdy_header_block(&f, &block, &blen), 0);
    assert_int_equal(krc_spdy_headers_inflate(z, block, blen, &raw, NULL), 0);
    assert_int_equal(
        krc_spdy_headers_get((const uint8_t *)raw.buf, raw.len, "streamtype", value, sizeof(value)),
        0);
    assert_string_equal(value, want_type);
    assert_int_equal(
        krc_spdy_headers_get((const uint8_t *)raw.buf, raw.len, "other", value, sizeof(value)),
        KRC_ENOTFOUND);
    krc_strbuf_release(&raw);
    *pos += (size_t)n;
}

static void test_go_header_blocks_inflate_in_connection_order(void **state)
{
    (void)state;
    struct krc_spdy_zlib *z;
    size_t pos = 0;
    assert_int_equal(krc_spdy_zlib_new(&z, NULL), 0);
    read_streamtype(z, go_syn_streams, sizeof(go_syn_streams), &pos, 1, "error");
    /* the second block only decodes with the first one's compression state */
    read_streamtype(z, go_syn_streams, sizeof(go_syn_streams), &pos, 3, "stdout");
    assert_int_equal(pos, sizeof(go_syn_streams));
    krc_spdy_zlib_free(z);
}

static void test_built_syn_frames_round_trip(void **state)
{
    (void)state;
    struct krc_spdy_zlib *tx, *rx;
    struct krc_strbuf wire = KRC_STRBUF_INIT;
    const char *names[] = {"streamtype"};
    const char *types[] = {"error", "stdin", "stdout", "stderr"};
    assert_int_equal(krc_spdy_zlib_new(&tx, NULL), 0);
    assert_int_equal(krc_spdy_zlib_new(&rx, NULL), 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(
            krc_spdy_add_syn_stream(tx, (uint32_t)(2 * i + 1), 0, names, &types[i], 1, &wire, NULL),
            0);
    size_t pos = 0;
    for (size_t i = 0; i < 4; i++)
        read_streamtype(rx, (const uint8_t *)wire.buf, wire.len, &pos, (uint32_t)(2 * i + 1),
                        types[i]);
    /* a SYN_REPLY with no headers: stream id, then a block of zero pairs */
    krc_strbuf_reset(&wire);
    assert_int_equal(krc_spdy_add_syn_reply(tx, 7, 0, NULL, NULL, 0, &wire, NULL), 0);
    struct krc_spdy_frame f;
    assert_int_equal(krc_spdy_parse((const uint8_t *)wire.buf, wire.len, &f), (ssize_t)wire.len);
    assert_int_equal(f.type, KRC_SPDY_SYN_REPLY);
    assert_int_equal(f.stream_id, 7);
    krc_strbuf_release(&wire);
    krc_spdy_zlib_free(tx);
    krc_spdy_zlib_free(rx);
}

static void test_fixed_frames_have_the_spec_layout(void **state)
{
    (void)state;
    struct krc_strbuf wire = KRC_STRBUF_INIT;
    static const uint8_t data[] = {0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x02, 'h', 'i'};
    static const uint8_t ping[] = {0x80, 0x03, 0x00, 0x06, 0x00, 0x00,
                                   0x00, 0x04, 0x00, 0x00, 0x00, 0x07};
    static const uint8_t goaway[] = {0x80, 0x03, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08,
                                     0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t rst[] = {0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08,
                                  0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x05};
    const struct {
        const uint8_t *want;
        size_t len;
    } cases[] = {
        {data, sizeof(data)}, {ping, sizeof(ping)}, {goaway, sizeof(goaway)}, {rst, sizeof(rst)}};
    for (size_t i = 0; i < 4; i++) {
        krc_strbuf_reset(&wire);
        int rc = i == 0   ? krc_spdy_add_data(3, KRC_SPDY_FLAG_FIN, "hi", 2, &wire)
                 : i == 1 ? krc_spdy_add_ping(7, &wire)
                 : i == 2 ? krc_spdy_add_goaway(9, KRC_SPDY_GOAWAY_OK, &wire)
                          : krc_spdy_add_rst_stream(5, KRC_SPDY_RST_CANCEL, &wire);
        assert_int_equal(rc, 0);
        assert_int_equal(wire.len, cases[i].len);
        assert_memory_equal(wire.buf, cases[i].want, cases[i].len);
    }
    struct krc_spdy_frame f;
    assert_int_equal(krc_spdy_parse(data, sizeof(data), &f), (ssize_t)sizeof(data));
    assert_int_equal(f.type, KRC_SPDY_DATA);
    assert_int_equal(f.stream_id, 3);
    assert_int_equal(f.flags, KRC_SPDY_FLAG_FIN);
    assert_int_equal(f.len, 2);
    assert_memory_equal(f.payload, "hi", 2);
    assert_int_equal(krc_spdy_parse(ping, sizeof(ping), &f), (ssize_t)sizeof(ping));
    assert_int_equal(f.type, KRC_SPDY_PING);
    assert_int_equal(f.stream_id, 7);
    krc_strbuf_release(&wire);
}

static void test_partial_and_malformed_frames(void **state)
{
    (void)state;
    struct krc_spdy_frame f;
    static const uint8_t ping[] = {0x80, 0x03, 0x00, 0x06, 0x00, 0x00,
                                   0x00, 0x04, 0x00, 0x00, 0x00, 0x07};
    static const uint8_t spdy2[] = {0x80, 0x02, 0x00, 0x06, 0x00, 0x00,
                                    0x00, 0x04, 0x00, 0x00, 0x00, 0x07};
    static const uint8_t short_rst[] = {0x80, 0x03, 0x00, 0x03, 0x00, 0x00,
                                        0x00, 0x04, 0x00, 0x00, 0x00, 0x05};
    static const uint8_t huge[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff};
    for (size_t cut = 0; cut < sizeof(ping); cut++)
        assert_int_equal(krc_spdy_parse(ping, cut, &f), 0);
    assert_int_equal(krc_spdy_parse(spdy2, sizeof(spdy2), &f), KRC_EINVAL);
    assert_int_equal(krc_spdy_parse(short_rst, sizeof(short_rst), &f), KRC_EINVAL);
    assert_int_equal(krc_spdy_parse(huge, sizeof(huge), &f), KRC_EINVAL);
    /* a header block claiming more bytes than it has */
    static const uint8_t block[] = {0, 0, 0, 1, 0, 0, 0, 10, 's', 't'};
    char v[8];
    assert_int_equal(krc_spdy_headers_get(block, sizeof(block), "st", v, sizeof(v)), KRC_EINVAL);
    /* garbage instead of a zlib stream */
    struct krc_spdy_zlib *z;
    struct krc_strbuf raw = KRC_STRBUF_INIT;
    struct krc_error err;
    assert_int_equal(krc_spdy_zlib_new(&z, NULL), 0);
    assert_int_equal(krc_spdy_headers_inflate(z, (const uint8_t *)"garbage!", 8, &raw, &err),
                     KRC_EINVAL);
    krc_strbuf_release(&raw);
    krc_spdy_zlib_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_header_blocks_inflate_in_connection_order),
        cmocka_unit_test(test_built_syn_frames_round_trip),
        cmocka_unit_test(test_fixed_frames_have_the_spec_layout),
        cmocka_unit_test(test_partial_and_malformed_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
