/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the test and benchmark tools share: ADDR:PORT parsing and errno
 * names. Each tool is one .c file; this header is all they share. */
#ifndef KM_TOOL_H
#define KM_TOOL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const struct {
	int err;
	const char *name;
} errno_names[] = {
	{ ECONNREFUSED, "ECONNREFUSED" },
	{ ECONNRESET, "ECONNRESET" },
	{ ECONNABORTED, "ECONNABORTED" },
	{ ENETUNREACH, "ENETUNREACH" },
	{ EHOSTUNREACH, "EHOSTUNREACH" },
	{ ETIMEDOUT, "ETIMEDOUT" },
	{ EPIPE, "EPIPE" },
	{ EACCES, "EACCES" },
	{ EPERM, "EPERM" },
	{ EADDRNOTAVAIL, "EADDRNOTAVAIL" },
	{ EADDRINUSE, "EADDRINUSE" },
	{ EAFNOSUPPORT, "EAFNOSUPPORT" },
	{ EINVAL, "EINVAL" },
	{ ENOTCONN, "ENOTCONN" },
	{ ENOBUFS, "ENOBUFS" },
	{ ENOMEM, "ENOMEM" },
	{ EMFILE, "EMFILE" },
	{ EPROTO, "EPROTO" },
	{ EINTR, "EINTR" },
	{ EISCONN, "EISCONN" },
	{ EALREADY, "EALREADY" },
	{ EINPROGRESS, "EINPROGRESS" },
};

/* Symbolic name of a positive errno, or its number in @buf. */
static inline const char *km_errno_name(int err, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	snprintf(buf, size, "%d", err);
	return buf;
}

/* "1.2.3.4:80" or "[fd00::1]:80" -> sockaddr; -EINVAL when malformed. */
static inline int parse_addr(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port_s;
	char *end;
	unsigned long port;
	size_t hlen;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hlen = rb - s - 1;
		port_s = rb + 2;
		s++;
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon)
			return -EINVAL;
		hlen = colon - s;
		port_s = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';

	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno || *port_s == '\0' || *end != '\0' || port == 0 ||
	    port > 65535)
		return -EINVAL;

	memset(ss, 0, sizeof(*ss));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
	}
	return 0;
}

static inline int km_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of v[0..n), n >= 1; sorts v. */
static inline double km_median(double *v, int n)
{
	qsort(v, n, sizeof(v[0]), km_cmp_double);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
