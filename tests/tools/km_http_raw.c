// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * km_http_raw: one HTTP/1.1 request in one write, the response as it came
 * (tests/vm: local replies, byte for byte).
 *
 *   km_http_raw [-H HOST] [-X METHOD] [-p PATH] [-t MS] ADDR:PORT
 *
 * Prints the response bytes to EOF on stdout, CR included; on a failure,
 * "err STEP errno=NAME" on stderr and exit 1. A server that does not close
 * (a backend keeping the connection alive) is given up on after MS
 * milliseconds (default 10000) with what came so far printed: the test
 * then fails on the bytes, never hangs.
 */
#include <sys/time.h>
#include <unistd.h>

#include "km_tool.h"

static int fail(const char *step, int err)
{
	char buf[16];

	fprintf(stderr, "err %s errno=%s\n", step,
		km_errno_name(err, buf, sizeof(buf)));
	return 1;
}

int main(int argc, char **argv)
{
	const char *host = NULL, *method = "GET", *path = "/";
	struct timeval tv = { .tv_sec = 10 };
	struct sockaddr_storage ss;
	char req[4096], buf[65536];
	socklen_t sl;
	ssize_t n;
	int o, fd, len;

	while ((o = getopt(argc, argv, "H:X:p:t:")) != -1) {
		switch (o) {
		case 't':
			tv.tv_sec = atoi(optarg) / 1000;
			tv.tv_usec = atoi(optarg) % 1000 * 1000;
			break;
		case 'H': host = optarg; break;
		case 'X': method = optarg; break;
		case 'p': path = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || parse_addr(argv[optind], &ss, &sl)) {
		fprintf(stderr, "usage: km_http_raw [-H HOST] [-X METHOD] [-p PATH] [-t MS] ADDR:PORT\n");
		return 2;
	}
	len = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\n%s%s%sUser-Agent: km_http_raw\r\n\r\n",
		       method, path, host ? "Host: " : "", host ? host : "",
		       host ? "\r\n" : "");
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket", errno);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return fail("setsockopt", errno);
	if (connect(fd, (struct sockaddr *)&ss, sl))
		return fail("connect", errno);
	if (write(fd, req, (size_t)len) != len)
		return fail("write", errno);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return fail("stdout", errno);
	fflush(stdout);
	if (n < 0)
		return fail("read", errno);
	close(fd);
	return 0;
}
