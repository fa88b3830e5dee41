// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * km_defer_client: HTTP clients in the ways applications meet a deferred
 * connect (tests/vm).
 *
 *   km_defer_client [-m block|poll|epoll|readfirst|pollin|epollin|stall]
 *                   [-n COUNT] [-P PARALLEL] [-p PATH] [-s SPLIT] [-w MS]
 *                   [-c] ADDR:PORT
 *
 * block      blocking connect, write, read to EOF
 * poll       non-blocking: connect (0 or EINPROGRESS), poll(POLLOUT), write
 *            (retry after POLLOUT on EAGAIN), poll(POLLIN), read to EOF
 * epoll      the same with epoll
 * readfirst  connect, read first (200 ms timeout: nothing comes), then
 *            write and read: the connect must have gone to the fallback
 * pollin     non-blocking: connect, poll(POLLIN) first (300 ms: nothing
 *            comes), print "after_pollin state=NAME" (TCP_INFO), then as
 *            poll: the wait for input must have connected to the fallback
 * epollin    the same with epoll (EPOLLIN only)
 * stall      blocking connect, then one write of 64 MiB that only returns
 *            when the peer reads or goes away (km_sink never reads, so it
 *            stays blocked); prints "stall ret=N errno=E" if it returns
 *            (the unload tests kill it)
 *
 * -H N adds N header lines (more than 32: over the parser's limit); -X adds
 * a header line whose name has a space (not an HTTP head the parser takes).
 * -c calls connect() a second time right after the first and prints
 * "second_connect ret=N errno=NAME"; the request goes on on the same socket.
 *
 * -w MS waits MS milliseconds between connect() and the first write (a
 * socket held deferred). -s SPLIT writes the request in two writes, the first SPLIT bytes long
 * (50 ms apart): the head is not complete in the first write.
 * COUNT connections (default 1), PARALLEL at once (threads, default 1).
 * Prints, for the first connection, "first_poll 0x..." (poll bits before
 * the first write, poll and epoll modes) and "connect_ret ..." then per
 * connection "ok backend=NAME peer=ADDR" or "err STEP errno=NAME" (only
 * when PARALLEL is 1), and "count NAME N" lines and "total ok=N err=M".
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../tools/km_tool.h"

#define MAX_PAR 1024
#define TIMEOUT_MS 5000

static const char *mode = "block", *path = "/";
static struct sockaddr_storage dst;
static socklen_t dst_len;
static long count = 1, par = 1, next_conn, split, wait_ms;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct { char name[64]; long n; } tally[64];
static int ntally;
static long ok_n, err_n;

static void record(const char *backend)
{
	int i;

	pthread_mutex_lock(&mu);
	if (!backend) {
		err_n++;
	} else {
		ok_n++;
		for (i = 0; i < ntally && strcmp(tally[i].name, backend); i++)
			;
		if (i == ntally && ntally < 64)
			snprintf(tally[ntally++].name, sizeof(tally[0].name), "%s", backend);
		if (i < 64)
			tally[i].n++;
	}
	pthread_mutex_unlock(&mu);
}

static bool second_connect, bad_header;
static long extra_headers;

static int wait_ms_for(int fd, short ev, bool use_epoll, short *revents, int ms)
{
	if (use_epoll) {
		struct epoll_event e = { .events = ev == POLLIN ? EPOLLIN : EPOLLOUT }, out;
		int ep = epoll_create1(0), n;

		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
		n = epoll_wait(ep, &out, 1, ms);
		close(ep);
		if (revents)
			*revents = n > 0 ? out.events : 0;
		return n > 0 ? 0 : -ETIMEDOUT;
	} else {
		struct pollfd p = { .fd = fd, .events = ev };
		int n = poll(&p, 1, ms);

		if (revents)
			*revents = n > 0 ? p.revents : 0;
		return n > 0 ? 0 : -ETIMEDOUT;
	}
}

static int wait_for(int fd, short ev, bool use_epoll, short *revents)
{
	return wait_ms_for(fd, ev, use_epoll, revents, TIMEOUT_MS);
}

static const char *tcp_state_name(int fd)
{
	static const char *names[] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
		"LISTEN", "CLOSING",
	};
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ||
	    ti.tcpi_state >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[ti.tcpi_state];
}

/* stall: one blocking 64 MiB write; returns when the peer reads or is gone */
static int stall(int fd)
{
	size_t len = 64 << 20;
	char *big = calloc(1, len);
	int small = 65536;
	ssize_t n;

	/* a small buffer blocks the write sooner (set after connect(): the
	 * socket is deferred, so it applies before the real connect) */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	if (!big)
		return -ENOMEM;
	n = write(fd, big, len);
	printf("stall ret=%zd errno=%s\n", n, n < 0 ? strerror(errno) : "0");
	fflush(stdout);
	free(big);
	return n < 0 ? -errno : 0;
}

/* One connection; returns 0 and the backend name, or -errno and the step. */
static int one(int id, char *backend, size_t blen, const char **step, bool verbose)
{
	bool nb = strstr(mode, "poll") != NULL;
	bool use_epoll = strstr(mode, "epoll") != NULL;
	char req[4096], resp[4096], peer[80] = "?";
	struct sockaddr_storage pa;
	socklen_t plen = sizeof(pa);
	size_t got = 0;
	int fd, ret, n;
	short rev;

	fd = socket(dst.ss_family, SOCK_STREAM | (nb ? SOCK_NONBLOCK : 0), 0);
	*step = "socket";
	if (fd < 0)
		return -errno;
	ret = connect(fd, (struct sockaddr *)&dst, dst_len);
	if (verbose && id == 0)
		printf("connect_ret %d errno=%s\n", ret, ret ? strerror(errno) : "0");
	*step = "connect";
	if (ret && !(nb && errno == EINPROGRESS)) {
		ret = -errno;
		goto out;
	}
	if (second_connect) {
		char buf[16];

		ret = connect(fd, (struct sockaddr *)&dst, dst_len);
		if (verbose && id == 0)
			printf("second_connect ret=%d errno=%s\n", ret,
			       ret ? km_errno_name(errno, buf, sizeof(buf)) : "0");
	}
	if (!strcmp(mode, "stall")) {
		*step = "stall";
		ret = stall(fd);
		goto out;
	}
	if (!strcmp(mode, "pollin") || !strcmp(mode, "epollin")) {
		/* nothing comes: the wait times out, having connected */
		*step = "pollin";
		wait_ms_for(fd, POLLIN, use_epoll, &rev, 300);
		if (verbose && id == 0)
			printf("after_pollin revents=0x%x state=%s\n", rev,
			       tcp_state_name(fd));
	}
	if (!strcmp(mode, "readfirst")) {
		struct timeval tv = { .tv_usec = 200000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = read(fd, resp, sizeof(resp));
		*step = "readfirst";
		if (n > 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			ret = n > 0 ? -EPROTO : -errno;
			goto out;
		}
		tv.tv_usec = 0;
		tv.tv_sec = 5;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (wait_ms)
		usleep(wait_ms * 1000);
	if (nb) {
		*step = "poll-out";
		ret = wait_for(fd, POLLOUT, use_epoll, &rev);
		if (verbose && id == 0)
			printf("first_poll 0x%x%s\n", rev, rev & POLLHUP ? " HUP" : "");
		if (ret)
			goto out;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: test\r\n%s", path,
		     bad_header ? "Bad Name: a space in a field name\r\n" : "");
	for (long h = 0; h < extra_headers; h++)
		n += snprintf(req + n, sizeof(req) - n, "x-pad-%ld: v\r\n", h);
	n += snprintf(req + n, sizeof(req) - n, "Connection: close\r\n\r\n");
	*step = "write";
	if (split > 0 && split < n) {
		if (write(fd, req, split) != split) {
			ret = -errno;
			goto out;
		}
		usleep(50000);
		memmove(req, req + split, n - split);
		n -= split;
	}
	for (;;) {
		ret = write(fd, req, n);
		if (ret == n)
			break;
		if (ret < 0 && nb && errno == EAGAIN) {
			ret = wait_for(fd, POLLOUT, use_epoll, NULL);
			if (ret)
				goto out;
			continue;
		}
		ret = ret < 0 ? -errno : -EIO;
		goto out;
	}
	*step = "read";
	for (;;) {
		if (nb && (ret = wait_for(fd, POLLIN, use_epoll, NULL)))
			goto out;
		n = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (n == 0)
			break;
		if (n < 0) {
			if (nb && errno == EAGAIN)
				continue;
			ret = -errno;
			goto out;
		}
		got += n;
		if (got == sizeof(resp) - 1)
			break;
	}
	resp[got] = 0;
	{
		char *body = strstr(resp, "\r\n\r\n");

		*step = "response";
		if (!body || strncmp(resp, "HTTP/1.1 200", 12)) {
			ret = -EPROTO;
			goto out;
		}
		body += 4;
		body[strcspn(body, "\r\n")] = 0;
		snprintf(backend, blen, "%s", body);
	}
	if (getpeername(fd, (struct sockaddr *)&pa, &plen) == 0) {
		char ip[64];

		if (pa.ss_family == AF_INET)
			snprintf(peer, sizeof(peer), "%s:%u",
				 inet_ntop(AF_INET, &((struct sockaddr_in *)&pa)->sin_addr, ip, sizeof(ip)),
				 ntohs(((struct sockaddr_in *)&pa)->sin_port));
		else
			snprintf(peer, sizeof(peer), "[%s]:%u",
				 inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&pa)->sin6_addr, ip, sizeof(ip)),
				 ntohs(((struct sockaddr_in6 *)&pa)->sin6_port));
	}
	if (verbose)
		printf("ok backend=%s peer=%s\n", backend, peer);
	ret = 0;
out:
	close(fd);
	return ret;
}

static void *worker(void *arg)
{
	for (;;) {
		char backend[64], buf[16];
		const char *step;
		long id;
		int ret;

		pthread_mutex_lock(&mu);
		id = next_conn < count ? next_conn++ : -1;
		pthread_mutex_unlock(&mu);
		if (id < 0)
			return NULL;
		ret = one(id, backend, sizeof(backend), &step, par == 1);
		if (ret && par == 1)
			printf("err %s errno=%s\n", step, km_errno_name(-ret, buf, sizeof(buf)));
		record(ret ? NULL : backend);
	}
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_PAR];
	int o;

	while ((o = getopt(argc, argv, "cH:Xm:n:P:p:s:w:")) != -1) {
		switch (o) {
		case 'H': extra_headers = atol(optarg); break;
		case 'X': bad_header = true; break;
		case 'c': second_connect = true; break;
		case 'm': mode = optarg; break;
		case 'n': count = atol(optarg); break;
		case 'P': par = atol(optarg); break;
		case 'p': path = optarg; break;
		case 's': split = atol(optarg); break;
		case 'w': wait_ms = atol(optarg); break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || parse_addr(argv[optind], &dst, &dst_len) ||
	    count < 1 || count > 100000 || par < 1 || par > MAX_PAR ||
	    extra_headers < 0 || extra_headers > 200 ||
	    (strcmp(mode, "block") && strcmp(mode, "poll") && strcmp(mode, "epoll") &&
	     strcmp(mode, "readfirst") && strcmp(mode, "pollin") &&
	     strcmp(mode, "epollin") && strcmp(mode, "stall"))) {
		fprintf(stderr, "usage: km_defer_client [-m block|poll|epoll|readfirst|pollin|epollin|stall] [-n COUNT] [-P PARALLEL] [-p PATH] [-s SPLIT] [-w MS] [-c] [-H N] [-X] ADDR:PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);	/* a write to a dead socket: report EPIPE */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long i = 0; i < par; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (long i = 0; i < par; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < ntally; i++)
		printf("count %s %ld\n", tally[i].name, tally[i].n);
	printf("total ok=%ld err=%ld\n", ok_n, err_n);
	return err_n ? 1 : 0;
}
