// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * http_conn_bench: latency of one new-connection HTTP request, side by side
 * for several targets (the VM's L7 benchmark, tests/vm/bench).
 *
 *   http_conn_bench -n COUNT [-r ROUNDS] [-P PATH] [-H HOST]
 *                   NAME=ADDR:PORT[/PATH]...
 *
 * A request is socket, connect, one write of "GET PATH HTTP/1.1" with
 * Connection: close, read to EOF, close: what a client pays for a request
 * on a fresh connection, with whatever the connect path does (kmesh L4,
 * kmesh L7's deferred connect and route match, or a proxy in between).
 * A target's own /PATH replaces -P for it (e.g. the first and the last of
 * 64 routes). Each round runs COUNT requests to each target in turn, so every target
 * sees the same noise; per target it prints
 *
 *   round I NAME mean_us X p50_us Y
 *
 * and, over the rounds, the median of the per-round means and p50s:
 *
 *   result NAME mean_us X p50_us Y errors E
 *
 * A response must start with "HTTP/1.x 200"; anything else is an error,
 * counted and not timed. Figures only: it never judges them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../tools/km_tool.h"

#define MAX_TARGETS	8
#define MAX_COUNT	100000
#define MAX_ROUNDS	50

struct target {
	const char *name;
	const char *path;
	char req[512];
	int req_len;
	struct sockaddr_storage ss;
	socklen_t len;
	double *mean, *p50;	/* per round */
	unsigned long errors;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* One request; its latency in microseconds, or a negative value. */
static double one_request(const struct target *t)
{
	const char *req = t->req;
	size_t len = t->req_len;
	char buf[4096];
	size_t got = 0;
	double t0 = now_us();
	ssize_t n;
	int fd;

	fd = socket(t->ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&t->ss, t->len) ||
	    write(fd, req, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf + got, sizeof(buf) - got)) > 0) {
		got += n;
		if (got == sizeof(buf))
			got = 16;	/* keep the status line, drop the rest */
	}
	close(fd);
	if (n < 0 || got < 12 || memcmp(buf, "HTTP/1.", 7) || memcmp(buf + 8, " 200", 4))
		return -1;
	return now_us() - t0;
}

static void usage(void)
{
	fprintf(stderr, "usage: http_conn_bench -n COUNT [-r ROUNDS] [-P PATH] [-H HOST] NAME=ADDR:PORT[/PATH]...\n");
}

int main(int argc, char **argv)
{
	struct target t[MAX_TARGETS];
	const char *path = "/", *host = "bench";
	long count = 0, rounds = 5;
	int nt = 0, opt;
	static double lat[MAX_COUNT];

	while ((opt = getopt(argc, argv, "n:r:P:H:")) != -1) {
		switch (opt) {
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'r': rounds = strtol(optarg, NULL, 10); break;
		case 'P': path = optarg; break;
		case 'H': host = optarg; break;
		default: usage(); return 2;
		}
	}
	if (count < 1 || count > MAX_COUNT || rounds < 1 || rounds > MAX_ROUNDS ||
	    optind == argc || argc - optind > MAX_TARGETS) {
		usage();
		return 2;
	}
	for (int i = optind; i < argc; i++, nt++) {
		char *eq = strchr(argv[i], '='), *sl = NULL;

		memset(&t[nt], 0, sizeof(t[nt]));
		if (eq) {
			sl = strchr(eq[1] == '[' ? strchr(eq, ']') ?: eq : eq, '/');
			if (sl) {
				t[nt].path = strdup(sl);
				*sl = 0;
			}
		}
		if (!eq || eq == argv[i] || parse_addr(eq + 1, &t[nt].ss, &t[nt].len)) {
			fprintf(stderr, "http_conn_bench: bad target '%s' (NAME=ADDR:PORT)\n", argv[i]);
			return 2;
		}
		*eq = 0;
		t[nt].name = argv[i];
		t[nt].req_len = snprintf(t[nt].req, sizeof(t[nt].req),
			"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: http_conn_bench\r\nConnection: close\r\n\r\n",
			t[nt].path ? t[nt].path : path, host);
		if (t[nt].req_len < 0 || t[nt].req_len >= (int)sizeof(t[nt].req))
			return 2;
		t[nt].mean = calloc(rounds, sizeof(double));
		t[nt].p50 = calloc(rounds, sizeof(double));
		if (!t[nt].mean || !t[nt].p50)
			return 1;
	}
	for (long r = 0; r < rounds; r++) {
		for (int i = 0; i < nt; i++) {
			double sum = 0;
			long ok = 0;

			for (long k = 0; k < count; k++) {
				double us = one_request(&t[i]);

				if (us < 0) {
					t[i].errors++;
					continue;
				}
				lat[ok++] = us;
				sum += us;
			}
			t[i].mean[r] = ok ? sum / ok : 0;
			t[i].p50[r] = ok ? km_median(lat, ok) : 0;
			printf("round %ld %s mean_us %.1f p50_us %.1f\n", r, t[i].name,
			       t[i].mean[r], t[i].p50[r]);
			fflush(stdout);
		}
	}
	for (int i = 0; i < nt; i++)
		printf("result %s mean_us %.1f p50_us %.1f errors %lu\n", t[i].name,
		       km_median(t[i].mean, rounds), km_median(t[i].p50, rounds), t[i].errors);
	return 0;
}
