// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gRPC message reassembly (userspace/source/xds/grpc_frame.c): every case is fed
 * whole, at every two-way split point, at every three-way split (small
 * cases) and byte by byte, and must give the same messages and the same
 * error each time. Plus grpc-status parsing and grpc-message decoding.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "grpc_frame.h"

#define MAX_MSGS 16

/* What the callback saw. */
struct seen {
	size_t n;
	size_t len[MAX_MSGS];
	uint8_t *msg[MAX_MSGS];
	int fail_at;		/* return -ECANCELED for this message (1-based) */
};

static int record(void *arg, const uint8_t *msg, size_t len)
{
	struct seen *s = arg;

	assert_true(s->n < MAX_MSGS);
	assert_non_null(msg);
	s->len[s->n] = len;
	s->msg[s->n] = malloc(len ? len : 1);
	memcpy(s->msg[s->n], msg, len);
	s->n++;
	return (int)s->n == s->fail_at ? -ECANCELED : 0;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->msg[i]);
	memset(s, 0, sizeof(*s));
}

/* One message of the input: flag, length in the prefix, payload bytes
 * (pattern-filled; fewer than len when the input is truncated). */
struct part {
	uint8_t flag;
	uint32_t len;
	uint32_t body;		/* payload bytes actually present */
};

#define MSG(n) { 0, (n), (n) }

struct frame_case {
	const char *name;
	size_t max;		/* 0: KM_GRPC_MAX_MSG */
	struct part parts[8];
	size_t n_parts;
	int ret;		/* feed's result */
	size_t n_msgs;		/* messages delivered (the first n_msgs parts) */
	int idle;		/* at the end (only checked when ret == 0) */
	int fail_at;
};

/* name, limit (0: default), feed result, messages delivered, idle at the
 * end (checked when the result is 0), callback failing at message N,
 * then the input parts */
#define CASE(nm, mx, r, nmsg, idl, fa, ...) {				\
	.name = (nm), .max = (mx), .ret = (r), .n_msgs = (nmsg),	\
	.idle = (idl), .fail_at = (fa), .parts = { __VA_ARGS__ },	\
	.n_parts = sizeof((struct part[]){ __VA_ARGS__ }) / sizeof(struct part) }

static const struct frame_case cases[] = {
	CASE("one message", 0, 0, 1, 1, 0, MSG(10)),
	CASE("three messages in one chunk", 0, 0, 3, 1, 0, MSG(3), MSG(7), MSG(1)),
	CASE("zero-length message", 0, 0, 1, 1, 0, MSG(0)),
	CASE("zero-length between others", 0, 0, 5, 1, 0, MSG(4), MSG(0), MSG(0), MSG(6), MSG(0)),
	CASE("1-byte messages", 0, 0, 3, 1, 0, MSG(1), MSG(1), MSG(1)),
	CASE("300 bytes (multi-byte length)", 0, 0, 2, 1, 0, MSG(300), MSG(2)),
	CASE("exactly the limit", 16, 0, 2, 1, 0, MSG(16), MSG(16)),
	CASE("one byte over the limit", 16, -EMSGSIZE, 1, 0, 0, MSG(5), MSG(17)),
	CASE("over the limit, payload absent", 16, -EMSGSIZE, 1, 0, 0, MSG(1), { 0, 1000000, 0 }),
	CASE("compressed flag", 0, -EPROTO, 1, 0, 0, MSG(4), { 1, 4, 4 }),
	CASE("compressed empty message", 0, -EPROTO, 0, 0, 0, { 1, 0, 0 }),
	CASE("unknown flag 2", 0, -EPROTO, 1, 0, 0, MSG(2), { 2, 3, 3 }, MSG(1)),
	CASE("unknown flag 0x80", 0, -EPROTO, 0, 0, 0, { 0x80, 1, 1 }),
	CASE("truncated payload", 0, 0, 1, 0, 0, MSG(3), { 0, 10, 4 }),
	CASE("truncated payload, none present", 0, 0, 1, 0, 0, MSG(3), { 0, 10, 0 }),
	CASE("callback stops the feed", 0, -ECANCELED, 2, 0, 2, MSG(2), MSG(3), MSG(4)),
	CASE("callback stops on an empty message", 0, -ECANCELED, 1, 0, 1, MSG(0), MSG(3)),
};

static uint8_t pattern(size_t part, size_t i)
{
	return (uint8_t)(part * 31 + i * 7 + 1);
}

/* Serialises a case; *len gets the size. A part whose prefix is cut
 * (body of a truncated prefix) is not expressible here: truncation inside
 * the prefix is covered by cutting the buffer (prefix_cut). */
static uint8_t *build(const struct frame_case *c, size_t *len)
{
	size_t n = 0;
	uint8_t *buf, *p;

	for (size_t i = 0; i < c->n_parts; i++)
		n += KM_GRPC_PREFIX_LEN + c->parts[i].body;
	buf = malloc(n ? n : 1);
	p = buf;
	for (size_t i = 0; i < c->n_parts; i++) {
		const struct part *pt = &c->parts[i];

		km_grpc_frame_prefix(p, pt->len);
		p[0] = pt->flag;
		p += KM_GRPC_PREFIX_LEN;
		for (size_t j = 0; j < pt->body; j++)
			*p++ = pattern(i, j);
	}
	*len = n;
	return buf;
}

/* Feeds @buf cut at @cuts (ascending offsets), stopping at the first
 * error like grpc.c does. */
static int feed_cut(struct km_grpc_frame *f, struct seen *s, const uint8_t *buf,
		    size_t len, const size_t *cuts, size_t n_cuts)
{
	size_t from = 0;

	for (size_t i = 0; i <= n_cuts; i++) {
		size_t to = i < n_cuts ? cuts[i] : len;
		int ret = km_grpc_frame_feed(f, buf + from, to - from, record, s);

		if (ret)
			return ret;
		from = to;
	}
	return 0;
}

static void check(const struct frame_case *c, const uint8_t *buf, size_t len,
		  const size_t *cuts, size_t n_cuts)
{
	struct km_grpc_frame f;
	struct seen s = { .fail_at = c->fail_at };
	char where[128];
	int ret;

	snprintf(where, sizeof(where), "%s, cuts %zu:%zu,%zu", c->name, n_cuts,
		 n_cuts > 0 ? cuts[0] : 0, n_cuts > 1 ? cuts[1] : 0);
	km_grpc_frame_init(&f, c->max);
	ret = feed_cut(&f, &s, buf, len, cuts, n_cuts);
	if (ret != c->ret || s.n != c->n_msgs)
		fail_msg("%s: ret %d (want %d), %zu messages (want %zu)", where,
			 ret, c->ret, s.n, c->n_msgs);
	for (size_t i = 0; i < s.n; i++) {
		const struct part *pt = &c->parts[i];

		if (s.len[i] != pt->len)
			fail_msg("%s: message %zu is %zu bytes, want %u", where, i,
				 s.len[i], pt->len);
		for (size_t j = 0; j < s.len[i]; j++)
			if (s.msg[i][j] != pattern(i, j))
				fail_msg("%s: message %zu byte %zu differs", where, i, j);
	}
	if (!c->ret && km_grpc_frame_idle(&f) != !!c->idle)
		fail_msg("%s: idle %d, want %d", where, km_grpc_frame_idle(&f), c->idle);
	seen_free(&s);
	km_grpc_frame_free(&f);
}

static void test_every_split(void **state)
{
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct frame_case *c = &cases[k];
		size_t len, cuts[2];
		uint8_t *buf = build(c, &len);

		check(c, buf, len, NULL, 0);
		for (size_t i = 0; i <= len; i++) {
			cuts[0] = i;
			check(c, buf, len, cuts, 1);
		}
		/* three chunks: every pair of cut points (small cases) */
		if (len <= 80) {
			for (size_t i = 0; i <= len; i++)
				for (size_t j = i; j <= len; j++) {
					cuts[0] = i;
					cuts[1] = j;
					check(c, buf, len, cuts, 2);
				}
		}
		free(buf);
	}
}

static void test_byte_by_byte(void **state)
{
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct frame_case *c = &cases[k];
		size_t len, *cuts;
		uint8_t *buf = build(c, &len);

		cuts = malloc((len + 1) * sizeof(*cuts));
		for (size_t i = 0; i < len; i++)
			cuts[i] = i + 1;
		check(c, buf, len, cuts, len ? len - 1 : 0);
		free(cuts);
		free(buf);
	}
}

/* A stream that ends inside a prefix is not idle; one that ends between
 * messages is. */
static void test_prefix_cut(void **state)
{
	const struct frame_case c = CASE("prefix cut", 0, 0, 1, 0, 0, MSG(3), MSG(2));
	size_t len;
	uint8_t *buf = build(&c, &len);

	for (size_t cut = 1; cut < KM_GRPC_PREFIX_LEN; cut++) {
		struct km_grpc_frame f;
		struct seen s = {};

		km_grpc_frame_init(&f, 0);
		assert_int_equal(km_grpc_frame_feed(&f, buf, 8 + cut, record, &s), 0);
		assert_int_equal(s.n, 1);
		assert_false(km_grpc_frame_idle(&f));
		/* the rest completes it */
		assert_int_equal(km_grpc_frame_feed(&f, buf + 8 + cut, len - 8 - cut,
						    record, &s), 0);
		assert_int_equal(s.n, 2);
		assert_true(km_grpc_frame_idle(&f));
		seen_free(&s);
		km_grpc_frame_free(&f);
	}
	free(buf);
}

/* The default limit is KM_GRPC_MAX_MSG (64 MiB): a prefix announcing it is
 * accepted, one byte more is refused before any payload arrives, and
 * nothing is allocated for a length the payload has not backed. */
static void test_default_limit(void **state)
{
	uint8_t prefix[KM_GRPC_PREFIX_LEN], some[100] = {};
	struct km_grpc_frame f;
	struct seen s = {};

	assert_int_equal(KM_GRPC_MAX_MSG, 64u << 20);
	km_grpc_frame_init(&f, 0);
	km_grpc_frame_prefix(prefix, KM_GRPC_MAX_MSG);
	assert_int_equal(km_grpc_frame_feed(&f, prefix, sizeof(prefix), record, &s), 0);
	assert_int_equal(km_grpc_frame_feed(&f, some, sizeof(some), record, &s), 0);
	assert_true(f.cap < 1u << 20);
	assert_false(km_grpc_frame_idle(&f));
	km_grpc_frame_free(&f);

	km_grpc_frame_init(&f, 0);
	km_grpc_frame_prefix(prefix, KM_GRPC_MAX_MSG + 1);
	assert_int_equal(km_grpc_frame_feed(&f, prefix, sizeof(prefix), record, &s), -EMSGSIZE);
	assert_int_equal(km_grpc_frame_msg_len(&f), KM_GRPC_MAX_MSG + 1);
	assert_int_equal(s.n, 0);
	km_grpc_frame_free(&f);

	km_grpc_frame_init(&f, 0);
	km_grpc_frame_prefix(prefix, UINT32_MAX);
	assert_int_equal(km_grpc_frame_feed(&f, prefix, sizeof(prefix), record, &s), -EMSGSIZE);
	km_grpc_frame_free(&f);
}

/* Big messages across uneven chunks (HTTP/2 DATA frames of 1..20000
 * bytes), including one past the 1 MiB buffer-release threshold and
 * messages after it. */
static void test_large_uneven(void **state)
{
	static const uint32_t sizes[] = { 200000, 7, 0, (3u << 20) / 2, 65536, 1 };
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	struct km_grpc_frame f;
	struct seen s = {};
	size_t len = 0, off = 0;
	uint32_t rng = 12345;
	uint8_t *buf, *p;

	for (size_t i = 0; i < n; i++)
		len += KM_GRPC_PREFIX_LEN + sizes[i];
	buf = p = malloc(len);
	for (size_t i = 0; i < n; i++) {
		km_grpc_frame_prefix(p, sizes[i]);
		p += KM_GRPC_PREFIX_LEN;
		for (size_t j = 0; j < sizes[i]; j++)
			*p++ = pattern(i, j);
	}
	km_grpc_frame_init(&f, 0);
	while (off < len) {
		size_t chunk;

		rng = rng * 1103515245 + 12345;
		chunk = 1 + (rng >> 8) % 20000;
		if (chunk > len - off)
			chunk = len - off;
		assert_int_equal(km_grpc_frame_feed(&f, buf + off, chunk, record, &s), 0);
		off += chunk;
	}
	assert_true(km_grpc_frame_idle(&f));
	assert_int_equal(s.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s.len[i], sizes[i]);
		for (size_t j = 0; j < sizes[i]; j++)
			if (s.msg[i][j] != pattern(i, j))
				fail_msg("message %zu byte %zu differs", i, j);
	}
	/* the 1.5 MiB buffer was released, the last ones are small */
	assert_true(f.cap <= 1u << 20);
	seen_free(&s);
	km_grpc_frame_free(&f);
	free(buf);
}

static void test_prefix_encoding(void **state)
{
	static const struct {
		uint32_t len;
		uint8_t want[KM_GRPC_PREFIX_LEN];
	} rows[] = {
		{ 0, { 0, 0, 0, 0, 0 } },
		{ 1, { 0, 0, 0, 0, 1 } },
		{ 255, { 0, 0, 0, 0, 0xff } },
		{ 256, { 0, 0, 0, 1, 0 } },
		{ 0x01020304, { 0, 1, 2, 3, 4 } },
		{ 64u << 20, { 0, 0x04, 0, 0, 0 } },
		{ UINT32_MAX, { 0, 0xff, 0xff, 0xff, 0xff } },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t out[KM_GRPC_PREFIX_LEN];

		km_grpc_frame_prefix(out, rows[i].len);
		assert_memory_equal(out, rows[i].want, sizeof(out));
	}
}

static void test_parse_status(void **state)
{
	static const struct {
		const char *in;
		int want;
	} rows[] = {
		{ "0", 0 }, { "5", 5 }, { "16", 16 }, { "007", 7 },
		{ "2147483647", 2147483647 },
		{ "2147483648", -EINVAL }, { "99999999999", -EINVAL },
		{ "", -EINVAL }, { "-1", -EINVAL }, { "+1", -EINVAL },
		{ " 1", -EINVAL }, { "1 ", -EINVAL }, { "1a", -EINVAL },
		{ "OK", -EINVAL },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int got = km_grpc_parse_status(rows[i].in, strlen(rows[i].in));

		if (got != rows[i].want)
			fail_msg("grpc-status '%s': %d, want %d", rows[i].in, got,
				 rows[i].want);
	}
}

static void test_pct_decode(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} rows[] = {
		{ "", "" },
		{ "plain text", "plain text" },
		{ "a%20b", "a b" },
		{ "100%25", "100%" },
		{ "%C3%BCber", "\xc3\xbc" "ber" },	/* grpc-js: encodeURI */
		{ "%c3%bc", "\xc3\xbc" },		/* lowercase hex */
		{ "%", "%" },				/* malformed: verbatim */
		{ "%2", "%2" },
		{ "%zz%41", "%zzA" },
		{ "50%", "50%" },
		{ "%%41", "%A" },
		{ "end%4", "end%4" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char out[64];
		size_t n = km_grpc_pct_decode(out, rows[i].in, strlen(rows[i].in));

		assert_int_equal(n, strlen(rows[i].want));
		assert_string_equal(out, rows[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_prefix_cut),
		cmocka_unit_test(test_default_limit),
		cmocka_unit_test(test_large_uneven),
		cmocka_unit_test(test_prefix_encoding),
		cmocka_unit_test(test_parse_status),
		cmocka_unit_test(test_pct_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
