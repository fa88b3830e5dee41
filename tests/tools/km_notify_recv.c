// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * km_notify_recv: the receiving end of systemd's notify protocol, to test
 * kmeshd's sd_notify messages without systemd.
 *
 *   km_notify_recv SOCKET_PATH SECONDS
 *
 * Binds an AF_UNIX datagram socket at SOCKET_PATH (what systemd passes as
 * NOTIFY_SOCKET) and prints every datagram, one "msg: ..." line per field,
 * until SECONDS pass.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	time_t end;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: km_notify_recv SOCKET_PATH SECONDS\n");
		return 2;
	}
	memcpy(sa.sun_path, argv[1], strlen(argv[1]));
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("km_notify_recv: bind");
		return 1;
	}
	end = time(NULL) + atoi(argv[2]);
	while (time(NULL) < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (char *s = strtok(buf, "\n"); s; s = strtok(NULL, "\n"))
			printf("msg: %s\n", s);
		fflush(stdout);
	}
	unlink(argv[1]);
	return 0;
}
