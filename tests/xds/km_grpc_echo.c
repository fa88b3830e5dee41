// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Client half of tests/xds/grpc_echo_test.sh: drives userspace/source/xds/grpc.c
 * from its own epoll loop, the way kmeshd does, against the servers of
 * grpc_echo_server.js.
 *
 *   km_grpc_echo --list                 case names, one a line
 *   km_grpc_echo CASE GRPC RAW RAW6 SILENT
 *                                       run one case against those ports
 *                                       (RAW6 0: no IPv6 loopback)
 *
 * Exit 0 pass, 1 fail (what differed on stderr), 77 skip.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "grpc.h"

#define SKIP 77
#define ECHO_PATH "/kmesh.test.Echo/Chat"
#define MAX_MSGS 512

struct ports {
	uint16_t grpc, raw, raw6, silent;
};

/* One connection and everything its callbacks saw. */
struct client {
	struct km_grpc *g;
	int ep;
	uint32_t armed;			/* events registered */
	size_t n_msgs;
	uint8_t *msg[MAX_MSGS];
	size_t len[MAX_MSGS];
	int closes;			/* on_close calls: must end at 1 */
	int status, err;
	char why[512];
	/* pingpong: sends the next message from inside on_message */
	void (*on_msg)(struct client *c);
	void *ctx;
};

static int failures;

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cb_message(void *arg, const uint8_t *msg, size_t len)
{
	struct client *c = arg;

	if (c->n_msgs == MAX_MSGS) {
		fail("more than %d messages", MAX_MSGS);
		return;
	}
	c->msg[c->n_msgs] = malloc(len ? len : 1);
	memcpy(c->msg[c->n_msgs], msg, len);
	c->len[c->n_msgs++] = len;
	if (c->on_msg)
		c->on_msg(c);
}

static void cb_close(void *arg, int status, const char *why, int err)
{
	struct client *c = arg;

	c->closes++;
	c->status = status;
	c->err = err;
	snprintf(c->why, sizeof(c->why), "%s", why ? why : "(null)");
	fprintf(stderr, "on_close: status %d, err %d (%s), why \"%s\"\n", status,
		err, err ? strerror(-err) : "-", c->why);
}

static const struct km_grpc_cbs cbs = { cb_message, cb_close };

static int client_open(struct client *c, struct km_grpc_opts *o)
{
	struct km_err err = {};
	struct epoll_event ev;
	int ret;

	memset(c, 0, sizeof(*c));
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	ret = km_grpc_open(&c->g, o, &cbs, c, &err);
	if (ret) {
		fprintf(stderr, "km_grpc_open: %d: %s\n", ret, err.msg);
		close(c->ep);
		return ret;
	}
	c->armed = km_grpc_events(c->g);
	ev.events = c->armed;
	ev.data.ptr = c;
	epoll_ctl(c->ep, EPOLL_CTL_ADD, km_grpc_fd(c->g), &ev);
	return 0;
}

static void client_close(struct client *c)
{
	km_grpc_free(c->g);
	c->g = NULL;
	if (c->ep >= 0)
		close(c->ep);
	c->ep = -1;
	for (size_t i = 0; i < c->n_msgs; i++)
		free(c->msg[i]);
	c->n_msgs = 0;
}

/* The agent's loop in miniature: tick, re-arm from km_grpc_events (send
 * and tick can make it want EPOLLOUT), wait, io. Until @done says so, the
 * call closes, or @timeout_ms passes (-ETIMEDOUT). */
static int run_until(struct client *c, bool (*done)(struct client *), uint64_t timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct epoll_event ev;
		uint64_t now = now_ms();
		uint32_t wait, want;
		int n;

		if ((done && done(c)) || c->closes)
			return 0;
		if (now >= deadline)
			return -ETIMEDOUT;
		wait = km_grpc_tick(c->g, now);
		if (c->closes)
			return 0;
		if (wait > deadline - now)
			wait = deadline - now;
		want = km_grpc_events(c->g);
		if (want != c->armed) {
			ev.events = want;
			ev.data.ptr = c;
			epoll_ctl(c->ep, EPOLL_CTL_MOD, km_grpc_fd(c->g), &ev);
			c->armed = want;
		}
		n = epoll_wait(c->ep, &ev, 1, wait);
		if (n == 1)
			km_grpc_io(c->g, ev.events);
	}
}

/* ---- EchoMsg, by hand (fields in number order, as protobufjs writes) ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)v | 0x80;
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static size_t put_bytes(uint8_t *p, int field, const void *b, size_t len)
{
	size_t n = put_varint(p, (uint64_t)field << 3 | 2);

	n += put_varint(p + n, len);
	memcpy(p + n, b, len);
	return n + len;
}

/* EchoMsg; @payload NULL omits field 1 (an empty message is 0 bytes). */
static uint8_t *echo_msg(const uint8_t *payload, size_t plen, const char *cmd,
			 uint32_t size, uint32_t code, const char *message, size_t *len)
{
	uint8_t *p = malloc(plen + 64 + (message ? strlen(message) : 0));
	size_t n = 0;

	if (payload)
		n += put_bytes(p + n, 1, payload, plen);
	if (cmd)
		n += put_bytes(p + n, 2, cmd, strlen(cmd));
	if (size) {
		n += put_varint(p + n, 3 << 3);
		n += put_varint(p + n, size);
	}
	if (code) {
		n += put_varint(p + n, 4 << 3);
		n += put_varint(p + n, code);
	}
	if (message)
		n += put_bytes(p + n, 5, message, strlen(message));
	*len = n;
	return p;
}

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* Field 1 of an EchoMsg. */
static int echo_payload(const uint8_t *m, size_t len, const uint8_t **pl, size_t *plen)
{
	const uint8_t *p = m, *end = m + len;
	uint64_t tag, v;

	*pl = NULL;
	*plen = 0;
	while (p < end) {
		if (get_varint(&p, end, &tag))
			return -1;
		if ((tag & 7) == 0) {
			if (get_varint(&p, end, &v))
				return -1;
			continue;
		}
		if ((tag & 7) != 2 || get_varint(&p, end, &v) || v > (uint64_t)(end - p))
			return -1;
		if (tag >> 3 == 1) {
			*pl = p;
			*plen = v;
		}
		p += v;
	}
	return 0;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* ---- helpers for cases ---------------------------------------------------- */

static struct km_grpc_opts opts_for(const char *host, uint16_t port, const char *path)
{
	struct km_grpc_opts o = { .host = host, .port = port, .path = path };

	return o;
}

static void send_or_fail(struct client *c, const uint8_t *m, size_t len)
{
	int ret = km_grpc_send(c->g, m, len);

	if (ret)
		fail("km_grpc_send(%zu bytes): %d", len, ret);
}

static void send_cmd(struct client *c, const char *cmd, uint32_t size, uint32_t code,
		     const char *message)
{
	size_t len;
	uint8_t *m = echo_msg(NULL, 0, cmd, size, code, message, &len);

	send_or_fail(c, m, len);
	free(m);
}

static size_t want_msgs;

static bool have_msgs(struct client *c)
{
	return c->n_msgs >= want_msgs;
}

static void expect_close(struct client *c, int status, int err, const char *why)
{
	if (c->closes != 1)
		fail("on_close called %d times, want 1", c->closes);
	if (c->status != status)
		fail("status %d, want %d", c->status, status);
	if (c->err != err)
		fail("err %d (%s), want %d (%s)", c->err, strerror(-c->err), err,
		     strerror(-err));
	if (why && strncmp(c->why, why, strlen(why)))
		fail("why \"%s\", want \"%s...\"", c->why, why);
}

static void expect_open(struct client *c, const char *when)
{
	if (c->closes)
		fail("%s: closed: %d %s", when, c->status, c->why);
}

static void print_stats(struct client *c)
{
	struct km_grpc_stats st;

	km_grpc_get_stats(c->g, &st);
	fprintf(stderr, "stats: in %llu B / %llu msgs, out %llu B / %llu msgs, "
		"pings %u sent %u acked, %u WINDOW_UPDATE sent\n",
		(unsigned long long)st.bytes_in, (unsigned long long)st.msgs_in,
		(unsigned long long)st.bytes_out, (unsigned long long)st.msgs_queued,
		st.pings_sent, st.pings_acked, st.window_updates_sent);
}

/* ---- cases ------------------------------------------------------------------ */

/* Messages of sizes around the HTTP/2 frame size and the 64 KiB default
 * window, queued before the connection is up and all in flight at once;
 * each echo must be byte-identical; then "end" gives grpc-status 0. */
static int case_echo(const struct ports *pt)
{
	static const size_t sizes[] = {
		(size_t)-1 /* no fields: a 0-byte message */, 0, 1, 5, 100,
		16379, 16384, 16385, 65535, 65536, 70000, 300000, 1 << 20,
		(2 << 20) + 3,
	};
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	struct km_grpc_opts o = opts_for("127.0.0.1", pt->grpc, ECHO_PATH);
	uint8_t *sent[sizeof(sizes) / sizeof(sizes[0])];
	size_t sent_len[sizeof(sizes) / sizeof(sizes[0])];
	struct client c;

	if (client_open(&c, &o))
		return 1;
	for (size_t i = 0; i < n; i++) {
		size_t plen = sizes[i] == (size_t)-1 ? 0 : sizes[i];
		uint8_t *pl = malloc(plen + 1);

		for (size_t j = 0; j < plen; j++)
			pl[j] = (uint8_t)(j * 13 + i);
		sent[i] = echo_msg(sizes[i] == (size_t)-1 ? NULL : pl, plen, NULL,
				   0, 0, NULL, &sent_len[i]);
		free(pl);
		send_or_fail(&c, sent[i], sent_len[i]);
	}
	want_msgs = n;
	run_until(&c, have_msgs, 20000);
	expect_open(&c, "echo");
	if (c.n_msgs != n)
		fail("%zu echoes, want %zu", c.n_msgs, n);
	for (size_t i = 0; i < c.n_msgs && i < n; i++) {
		if (c.len[i] != sent_len[i] || memcmp(c.msg[i], sent[i], sent_len[i]))
			fail("echo %zu: %zu bytes, sent %zu, or content differs", i,
			     c.len[i], sent_len[i]);
	}
	send_cmd(&c, "end", 0, 0, NULL);
	run_until(&c, NULL, 5000);
	expect_close(&c, 0, 0, NULL);
	print_stats(&c);
	for (size_t i = 0; i < n; i++)
		free(sent[i]);
	client_close(&c);
	return failures ? 1 : 0;
}

/* Each echo's on_message sends the next message: km_grpc_send from inside
 * a callback, with the request body deferred in between. */
#define PINGPONG_ROUNDS 300

static uint8_t *pp_sent[PINGPONG_ROUNDS];
static size_t pp_len[PINGPONG_ROUNDS];

static void pingpong_next(struct client *c)
{
	size_t i = c->n_msgs;

	if (i >= PINGPONG_ROUNDS)
		return;
	send_or_fail(c, pp_sent[i], pp_len[i]);
}

static int case_pingpong(const struct ports *pt)
{
	struct km_grpc_opts o = opts_for("127.0.0.1", pt->grpc, ECHO_PATH);
	struct client c;

	for (size_t i = 0; i < PINGPONG_ROUNDS; i++) {
		size_t plen = (i * 37) % 5000;
		uint8_t *pl = malloc(plen + 1);

		for (size_t j = 0; j < plen; j++)
			pl[j] = (uint8_t)(j + i);
		pp_sent[i] = echo_msg(pl, plen, NULL, 0, 0, NULL, &pp_len[i]);
		free(pl);
	}
	if (client_open(&c, &o))
		return 1;
	c.on_msg = pingpong_next;
	send_or_fail(&c, pp_sent[0], pp_len[0]);
	want_msgs = PINGPONG_ROUNDS;
	run_until(&c, have_msgs, 20000);
	expect_open(&c, "pingpong");
	if (c.n_msgs != PINGPONG_ROUNDS)
		fail("%zu rounds, want %d", c.n_msgs, PINGPONG_ROUNDS);
	for (size_t i = 0; i < c.n_msgs; i++)
		if (c.len[i] != pp_len[i] || memcmp(c.msg[i], pp_sent[i], pp_len[i]))
			fail("round %zu differs", i);
	print_stats(&c);
	client_close(&c);
	for (size_t i = 0; i < PINGPONG_ROUNDS; i++)
		free(pp_sent[i]);
	return failures ? 1 : 0;
}

/* One 5 MB message, whole and in order. With the default 16 MiB windows
 * it is all in flight at once: at most the one connection WINDOW_UPDATE
 * that raises the window at the start (nghttp2 replenishes at half the
 * window). With a 64 KiB window the same transfer needs dozens: the
 * counter measures what it claims to. */
#define BIG 5000000

static int big(const struct ports *pt, uint32_t window)
{
	struct km_grpc_opts o = opts_for("127.0.0.1", pt->grpc, ECHO_PATH);
	struct km_grpc_stats st;
	const uint8_t *pl;
	size_t plen;
	struct client c;

	o.window = window;
	if (client_open(&c, &o))
		return 1;
	send_cmd(&c, "big", BIG, 0, NULL);
	want_msgs = 1;
	run_until(&c, have_msgs, 20000);
	expect_open(&c, "big");
	if (c.n_msgs != 1) {
		fail("%zu messages, want 1", c.n_msgs);
	} else if (echo_payload(c.msg[0], c.len[0], &pl, &plen) || plen != BIG) {
		fail("message of %zu bytes: payload of %zu bytes, want %d", c.len[0],
		     plen, BIG);
	} else {
		for (size_t i = 0; i < plen; i++)
			if (pl[i] != pattern(i)) {
				fail("payload byte %zu is %u, want %u", i, pl[i], pattern(i));
				break;
			}
	}
	print_stats(&c);
	km_grpc_get_stats(c.g, &st);
	if (!window && st.window_updates_sent > 1)
		fail("%u WINDOW_UPDATEs with a 16 MiB window, want at most 1",
		     st.window_updates_sent);
	if (window && st.window_updates_sent < 20)
		fail("%u WINDOW_UPDATEs with a %u-byte window: expected dozens",
		     st.window_updates_sent, window);
	client_close(&c);
	return failures ? 1 : 0;
}

static int case_big(const struct ports *pt)
{
	return big(pt, 0);
}

static int case_big_small_window(const struct ports *pt)
{
	return big(pt, 65535);
}

/* grpc-js percent-encodes grpc-message (encodeURI); we decode it. */
#define STATUS_MSG "not found: 50% \xc3\xbc \xe2\x9c\x93 [x]"

static int case_status(const struct ports *pt)
{
	struct km_grpc_opts o = opts_for("127.0.0.1", pt->grpc, ECHO_PATH);
	struct client c;

	if (client_open(&c, &o))
		return 1;
	send_cmd(&c, NULL, 0, 0, NULL);		/* one echo first */
	send_cmd(&c, "status", 0, 5, STATUS_MSG);
	run_until(&c, NULL, 10000);
	if (c.n_msgs != 1)
		fail("%zu messages before the status, want 1", c.n_msgs);
	expect_close(&c, 5, 0, STATUS_MSG);
	if (strcmp(c.why, STATUS_MSG))
		fail("grpc-message \"%s\", want \"%s\"", c.why, STATUS_MSG);
	if (km_grpc_io(c.g, EPOLLIN) != -EPIPE)
		fail("km_grpc_io after the close: not -EPIPE");
	if (km_grpc_send(c.g, (const uint8_t *)"x", 1) != -EPIPE)
		fail("km_grpc_send after the close: not -EPIPE");
	if (km_grpc_events(c.g))
		fail("km_grpc_events after the close: not 0");
	client_close(&c);
	return failures ? 1 : 0;
}

/* The server's socket goes away mid-call: RST ("abort") or FIN ("close"). */
static int peer_gone(const struct ports *pt, const char *cmd, int err, const char *why)
{
	struct km_grpc_opts o = opts_for("127.0.0.1", pt->grpc, ECHO_PATH);
	struct client c;

	if (client_open(&c, &o))
		return 1;
	send_cmd(&c, NULL, 0, 0, NULL);
	want_msgs = 1;
	run_until(&c, have_msgs, 10000);
	expect_open(&c, "before the close");
	send_cmd(&c, cmd, 0, 0, NULL);
	run_until(&c, NULL, 10000);
	expect_close(&c, -1, err, why);
	if (km_grpc_io(c.g, EPOLLIN) != err)
		fail("km_grpc_io after the close: not %d", err);
	client_close(&c);
	return failures ? 1 : 0;
}

static int case_abort(const struct ports *pt)
{
	return peer_gone(pt, "abort", -ECONNRESET, "recv: ");
}

static int case_close(const struct ports *pt)
{
	return peer_gone(pt, "close", -ECONNRESET, "connection closed by peer");
}

/* keepalive_ms 100 under a 500 ms floor: over 2.8 idle seconds the pings
 * come every ~500 ms (about 5), each acknowledged, the call stays up and
 * still echoes. Unclamped, 100 ms would give ~25. */
static int case_keepalive(const struct ports *pt)
{
	struct km_grpc_opts o = opts_for("127.0.0.1", pt->grpc, ECHO_PATH);
	struct km_grpc_stats st;
	struct client c;

	o.keepalive_ms = 100;
	o.test_keepalive_floor_ms = 500;
	o.test_ping_timeout_ms = 2000;
	if (client_open(&c, &o))
		return 1;
	send_cmd(&c, NULL, 0, 0, NULL);
	want_msgs = 1;
	run_until(&c, have_msgs, 10000);
	run_until(&c, NULL, 2800);
	expect_open(&c, "idle with keepalive");
	km_grpc_get_stats(c.g, &st);
	print_stats(&c);
	if (st.pings_acked < 3)
		fail("%u PING ACKs in 2.8 s at a 500 ms interval, want >= 3", st.pings_acked);
	if (st.pings_sent > 7)
		fail("%u PINGs in 2.8 s: the 500 ms floor was not applied", st.pings_sent);
	if (st.pings_sent - st.pings_acked > 1)
		fail("%u PINGs sent, %u acknowledged", st.pings_sent, st.pings_acked);
	send_cmd(&c, NULL, 0, 0, NULL);
	want_msgs = 2;
	run_until(&c, have_msgs, 10000);
	if (c.n_msgs != 2)
		fail("no echo after the idle period");
	client_close(&c);
	return failures ? 1 : 0;
}

/* A peer that accepts and never answers: one PING, no ACK, closed with
 * -ETIMEDOUT after the (test-shortened) ping timeout. */
static int case_keepalive_timeout(const struct ports *pt)
{
	struct km_grpc_opts o = opts_for("127.0.0.1", pt->silent, ECHO_PATH);
	struct km_grpc_stats st;
	struct client c;
	uint64_t t0 = now_ms(), el;

	o.keepalive_ms = 100;
	o.test_keepalive_floor_ms = 200;
	o.test_ping_timeout_ms = 500;
	if (client_open(&c, &o))
		return 1;
	run_until(&c, NULL, 5000);
	el = now_ms() - t0;
	expect_close(&c, -1, -ETIMEDOUT, "keepalive timeout");
	km_grpc_get_stats(c.g, &st);
	print_stats(&c);
	if (st.pings_sent != 1 || st.pings_acked)
		fail("%u PINGs sent, %u acked; want 1, 0", st.pings_sent, st.pings_acked);
	if (el < 600)
		fail("closed after %llu ms, before floor + timeout (700 ms)",
		     (unsigned long long)el);
	client_close(&c);
	return failures ? 1 : 0;
}

/* A closed port: refused, from km_grpc_open or through on_close. */
static int case_refused(const struct ports *pt)
{
	struct km_grpc_opts o = opts_for("127.0.0.1", 1, ECHO_PATH);
	struct client c;
	int ret;

	ret = client_open(&c, &o);
	if (ret) {
		if (ret != -ECONNREFUSED)
			fail("km_grpc_open: %d, want -ECONNREFUSED", ret);
		return failures ? 1 : 0;
	}
	run_until(&c, NULL, 5000);
	expect_close(&c, -1, -ECONNREFUSED, "connect to 127.0.0.1:1: ");
	client_close(&c);
	return failures ? 1 : 0;
}

/* A name (getaddrinfo) rather than a literal. */
static int case_name(const struct ports *pt)
{
	struct km_grpc_opts o = opts_for("localhost", pt->grpc, ECHO_PATH);
	struct client c;

	if (client_open(&c, &o))
		return 1;
	send_cmd(&c, NULL, 0, 0, NULL);
	want_msgs = 1;
	run_until(&c, have_msgs, 10000);
	expect_open(&c, "localhost");
	if (c.n_msgs != 1)
		fail("no echo through 'localhost'");
	client_close(&c);
	return failures ? 1 : 0;
}

/*
 * A name with an IPv6 and an IPv4 address, to test going down the list:
 * getaddrinfo is interposed (this executable's definition wins over libc's
 * for libkmesh.a's call) for DUAL_NAME only, answering [::1] first, where
 * nothing listens, then 127.0.0.1.
 */
#define DUAL_NAME "km-test-dual.invalid"

struct fake_ai {
	struct addrinfo ai;
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} sa;
};

static struct fake_ai fake[2];
static bool fake_used;

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	int (*real)(const char *, const char *, const struct addrinfo *,
		    struct addrinfo **) = dlsym(RTLD_NEXT, "getaddrinfo");
	uint16_t port;

	if (!node || strcmp(node, DUAL_NAME))
		return real(node, service, hints, res);
	port = htons(atoi(service));
	memset(fake, 0, sizeof(fake));
	fake[0].sa.in6.sin6_family = AF_INET6;
	fake[0].sa.in6.sin6_port = port;
	fake[0].sa.in6.sin6_addr = in6addr_loopback;
	fake[0].ai.ai_family = AF_INET6;
	fake[0].ai.ai_addrlen = sizeof(fake[0].sa.in6);
	fake[1].sa.in.sin_family = AF_INET;
	fake[1].sa.in.sin_port = port;
	fake[1].sa.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fake[1].ai.ai_family = AF_INET;
	fake[1].ai.ai_addrlen = sizeof(fake[1].sa.in);
	for (int i = 0; i < 2; i++) {
		fake[i].ai.ai_socktype = SOCK_STREAM;
		fake[i].ai.ai_addr = (struct sockaddr *)&fake[i].sa;
	}
	fake[0].ai.ai_next = &fake[1].ai;
	fake_used = true;
	*res = &fake[0].ai;
	return 0;
}

void freeaddrinfo(struct addrinfo *ai)
{
	void (*real)(struct addrinfo *) = dlsym(RTLD_NEXT, "freeaddrinfo");

	if (ai != &fake[0].ai)
		real(ai);
}

/* [::1] refuses (the echo server is IPv4 only), 127.0.0.1 answers, on the
 * same socket: the fd registered in epoll never changes. */
static int case_fallback(const struct ports *pt)
{
	struct km_grpc_opts o = opts_for(DUAL_NAME, pt->grpc, ECHO_PATH);
	struct client c;
	int fd;

	if (client_open(&c, &o))
		return 1;
	if (!fake_used)
		fail("getaddrinfo was not interposed");
	fd = km_grpc_fd(c.g);
	send_cmd(&c, NULL, 0, 0, NULL);
	want_msgs = 1;
	run_until(&c, have_msgs, 10000);
	expect_open(&c, "after falling back to 127.0.0.1");
	if (c.n_msgs != 1)
		fail("no echo after falling back to 127.0.0.1");
	if (km_grpc_fd(c.g) != fd)
		fail("fd changed while going down the address list");
	client_close(&c);
	return failures ? 1 : 0;
}

/* Every address refused: the last one's error. */
static int case_fallback_refused(const struct ports *pt)
{
	struct km_grpc_opts o = opts_for(DUAL_NAME, 1, ECHO_PATH);
	struct client c;
	int ret;

	ret = client_open(&c, &o);
	if (ret) {
		if (ret != -ECONNREFUSED)
			fail("km_grpc_open: %d, want -ECONNREFUSED", ret);
		return failures ? 1 : 0;
	}
	run_until(&c, NULL, 5000);
	expect_close(&c, -1, -ECONNREFUSED, "connect to 127.0.0.1:1: Connection refused");
	client_close(&c);
	return failures ? 1 : 0;
}

/* km_grpc_free at any point: while connecting, connected with messages
 * queued, mid-transfer of a big message, after the close; NULL. It never
 * calls on_close. Memory errors show under valgrind/ASan. */
static int case_free_anytime(const struct ports *pt)
{
	struct km_grpc_opts o = opts_for("127.0.0.1", pt->grpc, ECHO_PATH);
	struct client c;

	km_grpc_free(NULL);

	if (client_open(&c, &o))
		return 1;
	send_cmd(&c, NULL, 0, 0, NULL);
	client_close(&c);			/* connecting */
	if (c.closes)
		fail("free while connecting called on_close");

	if (client_open(&c, &o))
		return 1;
	want_msgs = 1;
	send_cmd(&c, NULL, 0, 0, NULL);
	run_until(&c, have_msgs, 10000);
	for (int i = 0; i < 50; i++)
		send_cmd(&c, NULL, 0, 0, NULL);
	client_close(&c);			/* messages queued */

	if (client_open(&c, &o))
		return 1;
	send_cmd(&c, "big", BIG, 0, NULL);
	want_msgs = 1;
	c.n_msgs = 0;
	run_until(&c, NULL, 100);		/* part of it */
	client_close(&c);			/* mid-transfer */

	if (client_open(&c, &o))
		return 1;
	send_cmd(&c, "end", 0, 0, NULL);
	run_until(&c, NULL, 5000);
	expect_close(&c, 0, 0, NULL);
	client_close(&c);			/* after the close */
	return failures ? 1 : 0;
}

/* Misbehaving HTTP/2 servers (grpc_echo_server.js "raw"). */
struct raw_case {
	const char *name;
	const char *path;
	bool v6;
	int status, err;
	const char *why;	/* prefix */
	int n_msgs;
};

static const struct raw_case raw_cases[] = {
	{ "raw-http503", "/raw/http503", false, -1, -EPROTO, "HTTP status 503", 0 },
	{ "raw-trailers-only", "/raw/trailers-only", false, 7, 0,
	  "denied here: \xe2\x9c\x93 50%", 0 },
	{ "raw6-trailers-only", "/raw/trailers-only", true, 7, 0,
	  "denied here: \xe2\x9c\x93 50%", 0 },
	{ "raw-bad-content-type", "/raw/bad-content-type", false, -1, -EPROTO,
	  "response content-type is not application/grpc", 0 },
	{ "raw-no-grpc-status", "/raw/no-grpc-status", false, -1, -EPROTO,
	  "call ended without grpc-status", 1 },
	{ "raw-no-trailers", "/raw/no-trailers", false, -1, -EPROTO,
	  "stream ended without trailers", 1 },
	{ "raw-compressed", "/raw/compressed", false, -1, -EPROTO, "compressed message", 1 },
	{ "raw-oversize", "/raw/oversize", false, -1, -EMSGSIZE,
	  "message of 67108865 bytes exceeds the 64 MiB limit", 0 },
	{ "raw-goaway", "/raw/goaway", false, -1, -ECONNRESET,
	  "GOAWAY (error code 11: ENHANCE_YOUR_CALM, too_many_pings)", 0 },
	{ "raw-goaway-graceful", "/raw/goaway-graceful", false, -1, -ESHUTDOWN,
	  "GOAWAY (error code 0: NO_ERROR, max_age)", 0 },
	{ "raw-rst", "/raw/rst", false, -1, -ECONNRESET,
	  "stream reset (error code 8: CANCEL)", 0 },
	{ "raw-split", "/raw/split", false, 0, 0, NULL, 6 },
};

static int run_raw(const struct raw_case *rc, const struct ports *pt)
{
	struct km_grpc_opts o = opts_for(rc->v6 ? "::1" : "127.0.0.1",
					 rc->v6 ? pt->raw6 : pt->raw, rc->path);
	struct client c;

	if (rc->v6 && !pt->raw6) {
		fprintf(stderr, "no IPv6 loopback\n");
		return SKIP;
	}
	if (client_open(&c, &o))
		return 1;
	run_until(&c, NULL, 10000);
	if (rc->n_msgs >= 0 && c.n_msgs != (size_t)rc->n_msgs)
		fail("%zu messages, want %d", c.n_msgs, rc->n_msgs);
	expect_close(&c, rc->status, rc->err, rc->why);
	if (!strcmp(rc->name, "raw-split")) {
		static const char *const want[] = { "a", NULL, "", "x", "yy", "zzz" };

		for (size_t i = 0; i < c.n_msgs && i < 6; i++) {
			const char *w = want[i];
			size_t wl = w ? strlen(w) : 300;
			bool ok = c.len[i] == wl;

			for (size_t j = 0; ok && j < wl; j++)
				ok = c.msg[i][j] == (w ? (uint8_t)w[j] : 'b');
			if (!ok)
				fail("split message %zu: %zu bytes or content differ", i, c.len[i]);
		}
	}
	client_close(&c);
	return failures ? 1 : 0;
}

static bool json_has(const char *json, const char *want)
{
	if (strstr(json, want))
		return true;
	fail("request info lacks %s", want);
	return false;
}

/* What the server saw: the request headers and our flow-control settings
 * (SETTINGS_INITIAL_WINDOW_SIZE, and the connection window through the
 * server's own accounting). */
static int case_request_info(const struct ports *pt)
{
	struct km_grpc_opts o = opts_for("127.0.0.1", pt->raw, "/raw/info");
	char want[128], *json;
	struct client c;

	if (client_open(&c, &o))
		return 1;
	run_until(&c, NULL, 10000);
	expect_close(&c, 0, 0, NULL);
	if (c.n_msgs != 1) {
		fail("%zu messages, want 1", c.n_msgs);
		client_close(&c);
		return 1;
	}
	json = strndup((const char *)c.msg[0], c.len[0]);
	fprintf(stderr, "server saw: %s\n", json);
	json_has(json, "\":method\":\"POST\"");
	json_has(json, "\":scheme\":\"http\"");
	json_has(json, "\":path\":\"/raw/info\"");
	snprintf(want, sizeof(want), "\":authority\":\"127.0.0.1:%u\"", pt->raw);
	json_has(json, want);
	json_has(json, "\"content-type\":\"application/grpc\"");
	json_has(json, "\"te\":\"trailers\"");
	json_has(json, "\"grpc-accept-encoding\":\"identity\"");
	json_has(json, "\"user-agent\":\"kmesh/" KMESH_VERSION "\"");
	snprintf(want, sizeof(want), "\"initialWindowSize\":%u", KM_GRPC_DEFAULT_WINDOW);
	json_has(json, want);
	snprintf(want, sizeof(want), "\"remoteWindowSize\":%u", KM_GRPC_DEFAULT_WINDOW);
	json_has(json, want);
	free(json);
	client_close(&c);
	return failures ? 1 : 0;
}

struct named_case {
	const char *name;
	int (*run)(const struct ports *pt);
};

static const struct named_case named[] = {
	{ "echo", case_echo },
	{ "pingpong", case_pingpong },
	{ "big", case_big },
	{ "big-small-window", case_big_small_window },
	{ "status", case_status },
	{ "abort", case_abort },
	{ "close", case_close },
	{ "keepalive", case_keepalive },
	{ "keepalive-timeout", case_keepalive_timeout },
	{ "refused", case_refused },
	{ "name", case_name },
	{ "fallback", case_fallback },
	{ "fallback-refused", case_fallback_refused },
	{ "free-anytime", case_free_anytime },
	{ "request-info", case_request_info },
};

int main(int argc, char **argv)
{
	const size_t n_named = sizeof(named) / sizeof(named[0]);
	const size_t n_raw = sizeof(raw_cases) / sizeof(raw_cases[0]);
	struct ports pt;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < n_named; i++)
			puts(named[i].name);
		for (size_t i = 0; i < n_raw; i++)
			puts(raw_cases[i].name);
		return 0;
	}
	if (argc != 6) {
		fprintf(stderr, "usage: %s --list | CASE GRPC RAW RAW6 SILENT\n", argv[0]);
		return 2;
	}
	pt.grpc = atoi(argv[2]);
	pt.raw = atoi(argv[3]);
	pt.raw6 = atoi(argv[4]);
	pt.silent = atoi(argv[5]);
	for (size_t i = 0; i < n_named; i++)
		if (!strcmp(argv[1], named[i].name))
			return named[i].run(&pt);
	for (size_t i = 0; i < n_raw; i++)
		if (!strcmp(argv[1], raw_cases[i].name))
			return run_raw(&raw_cases[i], &pt);
	fprintf(stderr, "unknown case %s\n", argv[1]);
	return 2;
}
