// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * km_smtest: byte-stream checks for the sockmap tests.
 *
 *   km_smtest serve ADDR:PORT [--conns N] [--ready-file F] [PEER OPTIONS]
 *   km_smtest dial ADDR:PORT [PEER OPTIONS]
 *   km_smtest rr-serve ADDR:PORT [--ready-file F]     request/response echo
 *   km_smtest rr ADDR:PORT --conns N --msgs M          N connections, M
 *                                                       100-byte round trips each
 * PEER OPTIONS (both ends run the same peer):
 *   --send BYTES     bytes to send (a splitmix64 stream, seeded per side),
 *                    in writes of 1..64 KiB, then shutdown(SHUT_WR)
 *   --seed S         this side's stream; the other side's is S ^ 1
 *   --pause-ms MS    wait before reading (slow reader)
 *   --rst-after B    after sending B bytes, close with an RST
 *   --close-after B  after reading B bytes, close (peer gone)
 *   --send-delay-ms MS  wait before sending
 * Both directions run at once (a sender thread). Output, one line:
 *   sent=N recv=N ok=1|0 first_bad=OFF|-1 err=NAME|none blocked_at=N|-1 eagain=N
 * blocked_at: bytes sent when a send first waited more than 300 ms (the
 * receiver's flow control held us), -1 if never.
 * eagain: times a *blocking* recv() returned EAGAIN. Linux must not do
 * that, but tcp_bpf_recvmsg (a socket in a sockmap) does after a wakeup
 * that brought no data (README, Sockmap limits). They are counted, not
 * fatal, and recv() is retried, so the byte checks stay meaningful; the
 * suite reports the count. With --strict-eagain an EAGAIN ends the read
 * side with err=EAGAIN, as an application that trusts blocking reads
 * would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "km_tool.h"

struct peer {
	int fd;
	uint64_t send, rst_after, close_after, seed;
	int pause_ms, send_delay_ms;
	bool strict_eagain;
	/* results */
	uint64_t sent, recvd;
	int64_t first_bad, blocked_at;
	uint64_t eagain;
	int send_err, recv_err;
};

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint8_t stream_byte(uint64_t seed, uint64_t off)
{
	return (uint8_t)(splitmix(seed * 0x1000000000ull + off / 8) >> (8 * (off % 8)));
}

static void fill(uint8_t *b, size_t n, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		b[i] = stream_byte(seed, off + i);
}

static void *sender(void *arg)
{
	struct peer *p = arg;
	static __thread uint8_t buf[65536];
	uint64_t rnd = p->seed + 7, limit = p->send;

	if (p->rst_after && p->rst_after < limit)
		limit = p->rst_after;
	if (p->send_delay_ms)
		usleep(p->send_delay_ms * 1000);
	while (p->sent < limit) {
		size_t n = 1 + (splitmix(rnd++) % sizeof(buf)), done = 0;

		if (n > limit - p->sent)
			n = limit - p->sent;
		fill(buf, n, p->seed, p->sent);
		while (done < n) {
			struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
			ssize_t w = send(p->fd, buf + done, n - done,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w > 0) {
				done += w;
				p->sent += w;
				continue;
			}
			if (w < 0 && errno != EAGAIN) {
				p->send_err = errno;
				return NULL;
			}
			if (poll(&pfd, 1, 300) == 0 && p->blocked_at < 0)
				p->blocked_at = p->sent;
		}
	}
	if (p->rst_after) {
		struct linger l = { 1, 0 };

		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(p->fd);
		p->fd = -1;
		return NULL;
	}
	shutdown(p->fd, SHUT_WR);
	return NULL;
}

static int run_peer(struct peer *p)
{
	static uint8_t buf[65536];
	uint64_t other = p->seed ^ 1;
	pthread_t th;
	char eb[16];
	int fd = p->fd;

	p->first_bad = -1;
	p->blocked_at = -1;
	pthread_create(&th, NULL, sender, p);
	if (p->pause_ms)
		usleep(p->pause_ms * 1000);
	for (;;) {
		ssize_t r;

		if (p->close_after && p->recvd >= p->close_after) {
			close(fd);
			break;
		}
		r = recv(fd, buf, sizeof(buf), 0);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && !p->strict_eagain) {
				p->eagain++;
				continue;
			}
			p->recv_err = errno;
			break;
		}
		if (p->first_bad < 0) {
			for (ssize_t i = 0; i < r; i++) {
				if (buf[i] != stream_byte(other, p->recvd + i)) {
					p->first_bad = p->recvd + i;
					break;
				}
			}
		}
		p->recvd += r;
	}
	pthread_join(th, NULL);
	printf("sent=%llu recv=%llu ok=%d first_bad=%lld err=%s blocked_at=%lld eagain=%llu\n",
	       (unsigned long long)p->sent, (unsigned long long)p->recvd,
	       p->first_bad < 0 && !p->send_err && !p->recv_err,
	       (long long)p->first_bad,
	       p->recv_err ? km_errno_name(p->recv_err, eb, sizeof(eb)) :
	       p->send_err ? km_errno_name(p->send_err, eb, sizeof(eb)) : "none",
	       (long long)p->blocked_at, (unsigned long long)p->eagain);
	fflush(stdout);
	if (p->fd >= 0 && !p->close_after)
		close(p->fd);
	return 0;
}

static int listen_on(const char *a, const char *ready)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (parse_addr(a, &ss, &len)) {
		fprintf(stderr, "km_smtest: bad address %s\n", a);
		exit(2);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
		perror("km_smtest: bind/listen");
		exit(1);
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f) {
			fputs("ready\n", f);
			fclose(f);
		}
	}
	return fd;
}

static int dial(const char *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char eb[16];
	int fd;

	if (parse_addr(a, &ss, &len)) {
		fprintf(stderr, "km_smtest: bad address %s\n", a);
		exit(2);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		printf("connect=%s\n", km_errno_name(errno, eb, sizeof(eb)));
		exit(1);
	}
	return fd;
}

static int full_io(int fd, uint8_t *b, size_t n, bool wr)
{
	size_t d = 0;

	while (d < n) {
		ssize_t r = wr ? send(fd, b + d, n - d, MSG_NOSIGNAL) : recv(fd, b + d, n - d, 0);

		if (r <= 0)
			return -1;
		d += r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct peer p = { .fd = -1 };
	const char *ready = NULL;
	long conns = 1, msgs = 1;
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: see the comment at the top of km_smtest.c\n");
		return 2;
	}
	for (i = 3; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--strict-eagain")) {
			p.strict_eagain = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "km_smtest: %s needs a value\n", o);
			return 2;
		}
		if (!strcmp(o, "--send")) p.send = strtoull(v, NULL, 0);
		else if (!strcmp(o, "--seed")) p.seed = strtoull(v, NULL, 0);
		else if (!strcmp(o, "--pause-ms")) p.pause_ms = atoi(v);
		else if (!strcmp(o, "--send-delay-ms")) p.send_delay_ms = atoi(v);
		else if (!strcmp(o, "--rst-after")) p.rst_after = strtoull(v, NULL, 0);
		else if (!strcmp(o, "--close-after")) p.close_after = strtoull(v, NULL, 0);
		else if (!strcmp(o, "--conns")) conns = atol(v);
		else if (!strcmp(o, "--msgs")) msgs = atol(v);
		else if (!strcmp(o, "--ready-file")) ready = v;
		else {
			fprintf(stderr, "km_smtest: unknown option %s\n", o);
			return 2;
		}
		i++;
	}
	if (!strcmp(argv[1], "serve")) {
		int lfd = listen_on(argv[2], ready);

		for (long c = 0; c < conns; c++) {
			struct peer q = p;

			q.fd = accept(lfd, NULL, NULL);
			if (q.fd < 0)
				return 1;
			run_peer(&q);
		}
		return 0;
	}
	if (!strcmp(argv[1], "dial")) {
		p.fd = dial(argv[2]);
		return run_peer(&p);
	}
	if (!strcmp(argv[1], "rr-serve")) {
		int lfd = listen_on(argv[2], ready);
		uint8_t b[100];

		for (;;) {
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0)
				continue;
			while (full_io(fd, b, sizeof(b), false) == 0 &&
			       full_io(fd, b, sizeof(b), true) == 0)
				;
			close(fd);
		}
	}
	if (!strcmp(argv[1], "rr")) {
		uint8_t b[100] = { 1 };
		long bad = 0;

		for (long c = 0; c < conns; c++) {
			int fd = dial(argv[2]);

			for (long m = 0; m < msgs; m++) {
				b[0] = (uint8_t)m;
				if (full_io(fd, b, sizeof(b), true) ||
				    full_io(fd, b, sizeof(b), false) || b[0] != (uint8_t)m)
					bad++;
			}
			close(fd);
		}
		printf("conns=%ld msgs=%ld bad=%ld\n", conns, msgs, bad);
		return bad != 0;
	}
	fprintf(stderr, "km_smtest: unknown mode %s\n", argv[1]);
	return 2;
}
