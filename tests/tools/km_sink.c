// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * km_sink: a TCP endpoint that stalls its clients (tests/vm unload cases).
 *
 *   km_sink --listen ADDR:PORT --ready-file FILE
 *
 * Accepts every connection and never reads from it, with a small receive
 * buffer: a client's writes stop as soon as the window and its own send
 * buffer are full, and stay blocked. Runs until killed.
 */
#include <unistd.h>

#include "km_tool.h"

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	FILE *f;
	int fd, one = 1, small = 4096;

	if (argc != 5 || strcmp(argv[1], "--listen") ||
	    strcmp(argv[3], "--ready-file") || parse_addr(argv[2], &ss, &len)) {
		fprintf(stderr, "usage: km_sink --listen ADDR:PORT --ready-file FILE\n");
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	/* SO_RCVBUF before listen(): accepted sockets inherit it */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
		perror("km_sink");
		return 1;
	}
	f = fopen(argv[4], "w");
	if (!f || fprintf(f, "ready\n") < 0 || fclose(f)) {
		perror(argv[4]);
		return 1;
	}
	for (;;)	/* accepted sockets stay open, never read */
		if (accept(fd, NULL, NULL) < 0 && errno != EINTR && errno != ECONNABORTED)
			sleep(1);	/* out of descriptors: the rest wait in the queue */
}
