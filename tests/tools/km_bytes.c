// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * km_bytes: connections that carry known byte counts (telemetry tests).
 *
 *   km_bytes --listen ADDR:PORT --ready-file FILE
 *   km_bytes [-n COUNT] --send S --recv R [--hold-ms MS] ADDR:PORT
 *
 * The client sends exactly S bytes (at least 16): the decimal R and a
 * newline, padded; it waits MS milliseconds (default 0) and shuts its
 * side down. The server reads to EOF, sends exactly R bytes and closes;
 * the client reads to EOF and closes. Both FINs are exchanged, so each
 * connection ends "fin" with S bytes one way and R the other. One line
 * per connection, then a total:
 *
 *   ok sent=S received=R
 *   err connect errno=ECONNREFUSED
 *   total ok=N err=M
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "km_tool.h"

#define MIN_SEND 16
#define MAX_BYTES (64u << 20)

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Sends @n bytes: @head first, then 'x's. */
static int send_n(int fd, const char *head, size_t n)
{
	char buf[4096];
	size_t hl = strlen(head), chunk;

	memset(buf, 'x', sizeof(buf));
	if (hl > n)
		return -1;
	if (write_all(fd, head, hl))
		return -1;
	for (n -= hl; n; n -= chunk) {
		chunk = n < sizeof(buf) ? n : sizeof(buf);
		if (write_all(fd, buf, chunk))
			return -1;
	}
	return 0;
}

/* Reads to EOF; the count, or -1. The first line goes to @line. */
static long long read_all(int fd, char *line, size_t len)
{
	char buf[4096];
	long long total = 0;
	ssize_t n;

	if (line)
		line[0] = 0;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return total;
		if (line && total < (long long)len - 1) {
			size_t room = len - 1 - total, k = (size_t)n < room ? (size_t)n : room;

			memcpy(line + total, buf, k);
			line[total + k] = 0;
		}
		total += n;
	}
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char line[32];
	unsigned long r;

	if (read_all(fd, line, sizeof(line)) >= 0) {
		r = strtoul(line, NULL, 10);
		if (r <= MAX_BYTES)
			send_n(fd, "", r);
	}
	close(fd);
	return NULL;
}

static int server(const char *addr, const char *ready)
{
	struct sockaddr_storage ss;
	socklen_t len;
	pthread_t t;
	FILE *f;
	int fd, c, one = 1;

	if (parse_addr(addr, &ss, &len))
		return 2;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
		perror("km_bytes: listen");
		return 1;
	}
	f = fopen(ready, "w");
	if (!f || fprintf(f, "ready\n") < 0 || fclose(f)) {
		perror(ready);
		return 1;
	}
	for (;;) {
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		if (pthread_create(&t, NULL, serve, (void *)(long)c) == 0)
			pthread_detach(t);
		else
			close(c);
	}
}

static int one_conn(const struct sockaddr_storage *ss, socklen_t len,
		    unsigned long s, unsigned long r, unsigned hold_ms)
{
	char head[32], ebuf[32];
	long long got;
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)ss, len)) {
		printf("err connect errno=%s\n", km_errno_name(errno, ebuf, sizeof(ebuf)));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	snprintf(head, sizeof(head), "%lu\n", r);
	if (send_n(fd, head, s)) {
		printf("err send errno=%s\n", km_errno_name(errno, ebuf, sizeof(ebuf)));
		close(fd);
		return 1;
	}
	if (hold_ms)
		usleep(hold_ms * 1000u);
	shutdown(fd, SHUT_WR);
	got = read_all(fd, NULL, 0);
	close(fd);
	if (got != (long long)r) {
		printf("err received=%lld expected=%lu\n", got, r);
		return 1;
	}
	printf("ok sent=%lu received=%lu\n", s, r);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long n = 1, s = 0, r = 0, hold = 0;
	struct sockaddr_storage ss;
	socklen_t len;
	int ok = 0, err = 0;

	if (argc == 5 && strcmp(argv[1], "--listen") == 0 &&
	    strcmp(argv[3], "--ready-file") == 0)
		return server(argv[2], argv[4]);
	for (int i = 1; i + 1 < argc; i += 2) {
		unsigned long *v = strcmp(argv[i], "-n") == 0 ? &n :
				   strcmp(argv[i], "--send") == 0 ? &s :
				   strcmp(argv[i], "--recv") == 0 ? &r :
				   strcmp(argv[i], "--hold-ms") == 0 ? &hold : NULL;

		if (!v)
			goto usage;
		*v = strtoul(argv[i + 1], NULL, 10);
	}
	if (argc % 2 || s < MIN_SEND || s > MAX_BYTES || r > MAX_BYTES ||
	    parse_addr(argv[argc - 1], &ss, &len))
		goto usage;
	signal(SIGPIPE, SIG_IGN);
	for (unsigned long i = 0; i < n; i++) {
		if (one_conn(&ss, len, s, r, hold))
			err++;
		else
			ok++;
	}
	printf("total ok=%d err=%d\n", ok, err);
	return err ? 1 : 0;
usage:
	fprintf(stderr, "usage: km_bytes --listen ADDR:PORT --ready-file FILE\n"
			"       km_bytes [-n COUNT] --send S (>= %d) --recv R [--hold-ms MS] ADDR:PORT\n",
		MIN_SEND);
	return 2;
}
