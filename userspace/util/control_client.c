// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kmeshd's control socket, the client side (control_client.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "control_client.h"

void km_control_path_from_state(const char *state_file, char *out, size_t len)
{
	const char *slash = strrchr(state_file, '/');
	int dir = slash ? (int)(slash - state_file) : 1;

	snprintf(out, len, "%.*s/%s", dir, slash ? state_file : ".",
		 KM_CONTROL_SOCK);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Waits for @events on @fd until @deadline; -ETIMEDOUT after it. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int n;

	do {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n == 0 ? -ETIMEDOUT : 0;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int ret = 0;

		if (n < 0 && errno == EAGAIN && !(ret = wait_fd(fd, POLLOUT, deadline)))
			continue;
		if (n < 0)
			return errno == EAGAIN ? ret : -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Reads up to the first newline (or EOF) into a NUL-terminated buffer. */
static int recv_line(int fd, char **out, long long deadline)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int ret = 0;

	while (buf) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = cap >= KM_CONTROL_MAX_MSG ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				ret = -EMSGSIZE;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret)
			break;
		n = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		len += n;
		if (n == 0 || memchr(buf + len - n, '\n', n))
			break;
	}
	if (!buf)
		return -ENOMEM;
	if (ret) {
		free(buf);
		return ret;
	}
	buf[len] = 0;
	*out = buf;
	return 0;
}

static int dial(const char *path, struct km_err *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(a.sun_path)) {
		km_err_set(err, "control socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		e = errno;
		km_err_set(err, "kmeshd is not reachable at %s: %s%s", path,
			   strerror(e),
			   e == ENOENT || e == ECONNREFUSED ? " (is kmeshd running?)" :
			   e == EACCES ? " (the socket is root's)" : "");
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

int km_control_call(const char *path, json_t *req, int timeout_ms,
		    json_t **reply, struct km_err *err)
{
	long long deadline = now_ms() + timeout_ms;
	char *out = json_dumps(req, JSON_COMPACT), *in = NULL;
	json_error_t jerr;
	int fd, ret;

	*reply = NULL;
	if (!out) {
		km_err_set(err, "control request: out of memory");
		return -ENOMEM;
	}
	fd = dial(path, err);
	if (fd < 0) {
		free(out);
		return fd;
	}
	ret = send_all(fd, out, strlen(out), deadline);
	if (!ret)
		ret = send_all(fd, "\n", 1, deadline);
	if (!ret)
		ret = recv_line(fd, &in, deadline);
	close(fd);
	free(out);
	if (ret) {
		km_err_set(err, "kmeshd at %s: %s", path,
			   ret == -ETIMEDOUT ? "no answer in time" : strerror(-ret));
		return ret;
	}
	*reply = json_loads(in, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!*reply || !json_is_object(*reply)) {
		km_err_set(err, "kmeshd at %s: unreadable answer (%s): '%.80s'", path,
			   *reply ? "not an object" : jerr.text, in);
		json_decref(*reply);
		*reply = NULL;
		ret = -EPROTO;
	}
	free(in);
	return ret;
}
