// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * connect_bench: cost of one connect(), where the cgroup connect hooks run.
 *
 *   connect_bench -n COUNT [-r ROUNDS] ADDR:PORT [ADDR2:PORT]
 *
 * Each round does COUNT blocking connect()+close() and prints
 *
 *   round I ns_per_connect X
 *
 * then the median over rounds:
 *
 *   median_ns_per_connect X
 *
 * With a second address, every round runs COUNT connects to each, back to
 * back in one process, so both paths share the machine's noise; it prints
 * "round I ns_per_connect X Y" and then median_ns_per_connect for each and
 * median_delta_ns, the median over rounds of (Y - X): the cost the second
 * path adds (e.g. a VIP routed by kmesh against the same backend dialed
 * directly).
 *
 * Sockets close with SO_LINGER {1, 0}: an RST instead of a FIN, so the client
 * leaves no TIME_WAIT and 200000 connects do not run out of ephemeral ports.
 * A figure, not a verdict: it never fails on timing.
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

#define MAX_COUNT	200000
#define MAX_ROUNDS	100




static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One connect()+close(). Returns 0 or negative errno. */
static int connect_once(const struct sockaddr_storage *ss, socklen_t len)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd, ret = 0;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)ss, len) < 0)
		ret = -errno;
	else if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Time one round: ns per connect, or -1 with *err set to -errno. */
static double run_round(const struct sockaddr_storage *ss, socklen_t len,
			long count, int *err)
{
	long long t0 = now_ns();

	for (long i = 0; i < count; i++) {
		*err = connect_once(ss, len);
		if (*err < 0)
			return -1;
	}
	return (double)(now_ns() - t0) / count;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: connect_bench -n COUNT [-r ROUNDS] ADDR:PORT [ADDR2:PORT]\n"
		   "  COUNT capped at %d, ROUNDS <= %d (default 5)\n",
		MAX_COUNT, MAX_ROUNDS);
}

int main(int argc, char **argv)
{
	static double per[2][MAX_ROUNDS], delta[MAX_ROUNDS];
	struct sockaddr_storage ss[2];
	socklen_t len[2];
	int naddr;
	long count = 0, rounds = 5;
	char *end;
	int opt;

	while ((opt = getopt(argc, argv, "n:r:h")) != -1) {
		switch (opt) {
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || count <= 0) {
				fprintf(stderr, "connect_bench: bad -n '%s'\n",
					optarg);
				return 1;
			}
			if (count > MAX_COUNT) {
				fprintf(stderr,
					"connect_bench: -n capped at %d\n",
					MAX_COUNT);
				count = MAX_COUNT;
			}
			break;
		case 'r':
			rounds = strtol(optarg, &end, 10);
			if (*end || rounds <= 0 || rounds > MAX_ROUNDS) {
				fprintf(stderr,
					"connect_bench: -r must be 1..%d\n",
					MAX_ROUNDS);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (count == 0 || optind > argc - 1 || optind < argc - 2) {
		usage(stderr);
		return 1;
	}
	naddr = argc - optind;
	for (int a = 0; a < naddr; a++) {
		if (parse_addr(argv[optind + a], &ss[a], &len[a]) < 0) {
			fprintf(stderr, "connect_bench: bad address '%s'\n",
				argv[optind + a]);
			return 1;
		}
	}

	for (int i = 0; i < rounds; i++) {
		printf("round %d ns_per_connect", i + 1);
		for (int a = 0; a < naddr; a++) {
			char buf[16];
			int err = 0;

			per[a][i] = run_round(&ss[a], len[a], count, &err);
			if (err < 0) {
				fprintf(stderr,
					"connect_bench: connect to %s failed in round %d: errno=%s\n",
					argv[optind + a], i + 1,
					km_errno_name(-err, buf, sizeof(buf)));
				return 1;
			}
			printf(" %.0f", per[a][i]);
		}
		putchar('\n');
		if (naddr == 2)
			delta[i] = per[1][i] - per[0][i];
		fflush(stdout);
	}
	printf("median_ns_per_connect");
	for (int a = 0; a < naddr; a++)
		printf(" %.0f", km_median(per[a], rounds));
	putchar('\n');
	if (naddr == 2)
		printf("median_delta_ns %.0f\n", km_median(delta, rounds));
	return 0;
}
