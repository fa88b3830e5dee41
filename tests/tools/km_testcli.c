// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * km_testcli: HTTP test client that reports which backend answered.
 *
 *   km_testcli [-n COUNT] [-t TIMEOUT_MS] [-H HOST] [-P PATH]
 *              [-X 'Name: value']... [-b SRC_IP] [--hold SECONDS] ADDR:PORT
 *
 * -P sets the request path (default /), -X adds a header line (up to 8),
 * for L7 routing tests. -b binds each socket to SRC_IP (port 0) before the
 * connect, so the connect hook knows the source address.
 *
 * Default mode opens COUNT sequential connections, one request each, and
 * prints one line per connection, a count per backend and a total:
 *
 *   ok backend=NAME peer=ADDR:PORT
 *   err connect errno=ECONNREFUSED
 *   count NAME N
 *   total ok=N err=M
 *
 * --hold keeps ONE keep-alive connection and sends a request every 50 ms
 * for SECONDS, proving that an established connection survives whatever
 * happens to the agent meanwhile:
 *
 *   hold ok requests=N backend=NAME
 *   hold err after=N errno=ECONNRESET
 *
 * --keep leaves every connection of the default mode open (the server has
 * answered and closed its side; the socket is only released when this
 * process ends) and, after the total line, waits for SIGTERM: a test holds
 * N connections to see what a load balancer counting them does.
 * --bind ADDR binds each socket to source address ADDR first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "km_tool.h"

#define MAX_BACKENDS	64
#define MAX_NAME	128
#define RESP_BUF_SIZE	8192
#define MAX_COUNT	1000000
#define MAX_HOLD_S	3600
#define HOLD_PERIOD_NS	50000000L

/* getopt values for long-only options. */
#define OPT_HOLD	256
#define OPT_HELP	257
#define OPT_KEEP	258
#define OPT_BIND	259

/* Pseudo-errno values for failures that have no errno of their own. */
#define ERR_EOF		(-100000)	/* peer closed before a full response */
#define ERR_HTTP	(-100001)	/* malformed or non-200 response */

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
	const char *host;
	const char *path;
	char extra[1024];	/* -X lines, each ending in CRLF */
	int timeout_ms;
	bool keep;		/* --keep: never close a connection */
	struct sockaddr_storage src;	/* -b or --bind; family 0 when unset */
	socklen_t src_len;
};

struct backend_count {
	char name[MAX_NAME];
	unsigned long n;
};

struct tally {
	struct backend_count b[MAX_BACKENDS];
	int n_b;
	unsigned long other;	/* backends past MAX_BACKENDS */
	unsigned long ok;
	unsigned long err;
};

struct response {
	char buf[RESP_BUF_SIZE + 1];	/* NUL-terminated for the parser */
	size_t len;
	int status;
	char backend[MAX_NAME];
};


/* err is a positive errno or one of the ERR_* pseudo values. */
static const char *errno_name(int err, char *buf, size_t size)
{
	if (err == ERR_EOF)
		return "EOF";
	if (err == ERR_HTTP)
		return "EPROTO";
	return km_errno_name(err, buf, size);
}


static void format_addr(const struct sockaddr_storage *ss, char *buf,
			size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(sin->sin_port));
	} else {
		snprintf(buf, size, "family%d", ss->ss_family);
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline. 0 on ready, -ETIMEDOUT, -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (int i = 0; i < 1000; i++) {
		struct pollfd pfd = { .fd = fd, .events = events };
		long long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
	return -ETIMEDOUT;
}

/* Non-blocking connect bounded by the timeout. Returns fd or -errno. */
static int connect_timeout(const struct target *t)
{
	long long deadline = now_ms() + t->timeout_ms;
	socklen_t elen = sizeof(int);
	int fd, err = 0, ret;

	fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (t->src.ss_family &&
	    bind(fd, (const struct sockaddr *)&t->src, t->src_len) < 0) {
		ret = -errno;
		goto err;
	}
	if (connect(fd, (const struct sockaddr *)&t->ss, t->len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		ret = -errno;
		goto err;
	}
	ret = wait_fd(fd, POLLOUT, deadline);
	if (ret < 0)
		goto err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) {
		ret = -errno;
		goto err;
	}
	if (err) {
		ret = -err;
		goto err;
	}
	return fd;
err:
	close(fd);
	return ret;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	size_t off = 0;

	for (int i = 0; off < len && i < 1000; i++) {
		ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (w >= 0) {
			off += w;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		w = wait_fd(fd, POLLOUT, deadline);
		if (w < 0)
			return w;
	}
	return off == len ? 0 : -ETIMEDOUT;
}

/*
 * If resp->buf holds a complete response, fill status and backend and
 * return the number of bytes it used; 0 if more bytes are needed;
 * ERR_HTTP if it cannot be a response.
 */
static long parse_response(struct response *resp)
{
	const char *buf = resp->buf;
	const char *head_end, *p, *body;
	unsigned long clen = 0;
	bool have_clen = false;
	size_t blen;

	head_end = memmem(buf, resp->len, "\r\n\r\n", 4);
	if (!head_end)
		return resp->len == RESP_BUF_SIZE ? ERR_HTTP : 0;
	if (sscanf(buf, "HTTP/1.%*1d %3d", &resp->status) != 1)
		return ERR_HTTP;

	for (p = strstr(buf, "\r\n"); p && p < head_end; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0) {
			clen = strtoul(p + 17, NULL, 10);
			have_clen = true;
		}
	}
	/* Our server always sends Content-Length; the body must fit. */
	body = head_end + 4;
	if (!have_clen || clen > RESP_BUF_SIZE)
		return ERR_HTTP;
	if ((size_t)(resp->buf + resp->len - body) < clen)
		return resp->len == RESP_BUF_SIZE ? ERR_HTTP : 0;

	p = memchr(body, '\n', clen);
	blen = p ? (size_t)(p - body) : clen;
	if (blen && body[blen - 1] == '\r')
		blen--;
	if (blen >= sizeof(resp->backend))
		blen = sizeof(resp->backend) - 1;
	memcpy(resp->backend, body, blen);
	resp->backend[blen] = '\0';
	return body + clen - buf;
}

/*
 * Read one response. With until_eof, keep reading after it until the
 * server closes, so the server side holds TIME_WAIT and a long run of
 * connections does not eat the client's ephemeral ports.
 */
static int read_response(int fd, struct response *resp, long long deadline,
			 bool until_eof)
{
	long used = 0;

	resp->len = 0;
	resp->status = 0;
	resp->backend[0] = '\0';
	for (int i = 0; i < 10000; i++) {
		ssize_t r;
		int ret;

		if (resp->len == RESP_BUF_SIZE)
			resp->len = 0;	/* trailing junk after the response */
		r = recv(fd, resp->buf + resp->len, RESP_BUF_SIZE - resp->len, 0);
		if (r == 0)
			return used > 0 ? 0 : ERR_EOF;
		if (r > 0) {
			resp->len += r;
			resp->buf[resp->len] = '\0';
			if (used > 0)
				continue;
			used = parse_response(resp);
			if (used < 0)
				return (int)used;
			if (used > 0 && !until_eof)
				return 0;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret == -ETIMEDOUT && used > 0)
			return 0;	/* complete; the server just kept it open */
		if (ret < 0)
			return ret;
	}
	return used > 0 ? 0 : -ETIMEDOUT;
}

static void tally_backend(struct tally *t, const char *name)
{
	for (int i = 0; i < t->n_b; i++) {
		if (strcmp(t->b[i].name, name) == 0) {
			t->b[i].n++;
			return;
		}
	}
	if (t->n_b == MAX_BACKENDS) {
		t->other++;
		return;
	}
	snprintf(t->b[t->n_b].name, sizeof(t->b[0].name), "%s", name);
	t->b[t->n_b++].n = 1;
}

static void print_err(const char *what, int err)
{
	char buf[16];

	if (err == -ETIMEDOUT)
		printf("err timeout\n");
	else if (err == ERR_EOF)
		printf("err %s eof\n", what);
	else if (err == ERR_HTTP)
		printf("err %s bad-response\n", what);
	else
		printf("err %s errno=%s\n", what, errno_name(-err, buf, sizeof(buf)));
}

/* One connection, one request; prints its line and updates the tally. */
static void one_request(const struct target *t, const char *req,
			size_t req_len, struct tally *tl, struct response *resp)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char peer_s[INET6_ADDRSTRLEN + 16];
	long long deadline;
	int fd, ret;

	fd = connect_timeout(t);
	if (fd < 0) {
		print_err("connect", fd);
		tl->err++;
		return;
	}
	deadline = now_ms() + t->timeout_ms;
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) {
		print_err("getpeername", -errno);
		goto fail;
	}
	format_addr(&peer, peer_s, sizeof(peer_s));

	ret = send_all(fd, req, req_len, deadline);
	if (ret < 0) {
		print_err("write", ret);
		goto fail;
	}
	ret = read_response(fd, resp, deadline, true);
	if (ret < 0) {
		print_err("read", ret);
		goto fail;
	}
	if (resp->status != 200) {
		printf("err status=%d peer=%s\n", resp->status, peer_s);
		goto fail;
	}
	printf("ok backend=%s peer=%s\n", resp->backend, peer_s);
	tally_backend(tl, resp->backend);
	tl->ok++;
	if (!t->keep)
		close(fd);
	return;
fail:
	tl->err++;
	close(fd);
}

static int cmp_backend(const void *a, const void *b)
{
	const struct backend_count *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int run_count(const struct target *t, unsigned long count)
{
	static struct response resp;
	struct tally tl = { 0 };
	char req[2048];
	int len;

	len = snprintf(req, sizeof(req),
		       "GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n",
		       t->path, t->host, t->extra);
	if (len < 0 || (size_t)len >= sizeof(req))
		return -ENAMETOOLONG;

	for (unsigned long i = 0; i < count; i++) {
		one_request(t, req, len, &tl, &resp);
		fflush(stdout);
	}

	qsort(tl.b, tl.n_b, sizeof(tl.b[0]), cmp_backend);
	for (int i = 0; i < tl.n_b; i++)
		printf("count %s %lu\n", tl.b[i].name, tl.b[i].n);
	if (tl.other)
		printf("count (more-backends) %lu\n", tl.other);
	printf("total ok=%lu err=%lu\n", tl.ok, tl.err);
	fflush(stdout);
	if (t->keep)
		pause();	/* SIGTERM ends the process and its sockets */
	return tl.err ? 1 : 0;
}

static void sleep_until(struct timespec *next)
{
	next->tv_nsec += HOLD_PERIOD_NS;
	if (next->tv_nsec >= 1000000000L) {
		next->tv_nsec -= 1000000000L;
		next->tv_sec++;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) ==
	       EINTR)
		;
}

static int hold_fail(unsigned long done, int err)
{
	char buf[16];
	const char *name;

	if (err == ERR_EOF || err == ERR_HTTP)
		name = errno_name(err, buf, sizeof(buf));
	else
		name = errno_name(-err, buf, sizeof(buf));
	printf("hold err after=%lu errno=%s\n", done, name);
	return 1;
}

static int run_hold(const struct target *t, double seconds)
{
	static struct response resp;
	char backend[MAX_NAME] = "";
	unsigned long done = 0, max_reqs;
	long long end;
	struct timespec next;
	char req[2048];
	int fd, len, ret;

	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
		       t->path, t->host, t->extra);
	if (len < 0 || (size_t)len >= sizeof(req))
		return -ENAMETOOLONG;

	fd = connect_timeout(t);
	if (fd < 0)
		return hold_fail(0, fd);

	end = now_ms() + (long long)(seconds * 1000);
	max_reqs = (unsigned long)(seconds * 1000000000.0 / HOLD_PERIOD_NS) + 1;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (done < max_reqs && now_ms() < end) {
		long long deadline = now_ms() + t->timeout_ms;

		ret = send_all(fd, req, len, deadline);
		if (ret == 0)
			ret = read_response(fd, &resp, deadline, false);
		if (ret == 0 && resp.status != 200)
			ret = ERR_HTTP;
		if (ret < 0) {
			close(fd);
			return hold_fail(done, ret);
		}
		if (!backend[0])
			snprintf(backend, sizeof(backend), "%s", resp.backend);
		done++;
		sleep_until(&next);
	}
	close(fd);
	printf("hold ok requests=%lu backend=%s\n", done, backend);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: km_testcli [-n COUNT] [-t TIMEOUT_MS] [-H HOST] [-P PATH]\n"
		"                  [-X 'Name: value']... [--hold SECONDS] [--keep]\n"
		"                  [-b SRC_IP | --bind SRC_ADDR] ADDR:PORT\n"
		"  ADDR is IPv4 (10.96.0.1:80) or IPv6 ([fd00:96::1]:80)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "host", required_argument, NULL, 'H' },
		{ "path", required_argument, NULL, 'P' },
		{ "header", required_argument, NULL, 'X' },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "bind", required_argument, NULL, OPT_BIND },
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 }
	};
	struct target t = { .timeout_ms = 2000, .path = "/" };
	size_t xlen = 0;
	int nx = 0;
	unsigned long count = 1;
	double hold = -1;
	char *end;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "n:t:H:P:X:b:", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			count = strtoul(optarg, &end, 10);
			if (*end || count == 0 || count > MAX_COUNT) {
				fprintf(stderr, "km_testcli: bad -n (1..%d)\n",
					MAX_COUNT);
				return 2;
			}
			break;
		case 't':
			t.timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || t.timeout_ms <= 0 || t.timeout_ms > 600000) {
				fprintf(stderr, "km_testcli: bad -t (1..600000 ms)\n");
				return 2;
			}
			break;
		case 'H':
			t.host = optarg;
			break;
		case 'P':
			if (optarg[0] != '/' || strpbrk(optarg, " \r\n")) {
				fprintf(stderr, "km_testcli: bad -P '%s' (an origin-form path: '/', no spaces)\n",
					optarg);
				return 2;
			}
			t.path = optarg;
			break;
		case 'X':
			if (!strchr(optarg, ':') || strpbrk(optarg, "\r\n") ||
			    ++nx > 8 || xlen + strlen(optarg) + 3 > sizeof(t.extra)) {
				fprintf(stderr, "km_testcli: bad -X '%s' ('Name: value', up to 8)\n",
					optarg);
				return 2;
			}
			xlen += snprintf(t.extra + xlen, sizeof(t.extra) - xlen,
					 "%s\r\n", optarg);
			break;
		case 'b': {
			char spec[80];

			/* parse_addr wants a port: any, then 0 (the kernel's
			 * pick) */
			snprintf(spec, sizeof(spec), strchr(optarg, ':') ?
				 "[%s]:1" : "%s:1", optarg);
			if (parse_addr(spec, &t.src, &t.src_len) < 0) {
				fprintf(stderr, "km_testcli: bad -b '%s'\n", optarg);
				return 2;
			}
			if (t.src.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&t.src)->sin6_port = 0;
			else
				((struct sockaddr_in *)&t.src)->sin_port = 0;
			break;
		}
		case OPT_HOLD:
			hold = strtod(optarg, &end);
			if (*end || !(hold > 0 && hold <= MAX_HOLD_S)) {
				fprintf(stderr, "km_testcli: bad --hold (0..%d s)\n",
					MAX_HOLD_S);
				return 2;
			}
			break;
		case OPT_KEEP:
			t.keep = true;
			break;
		case OPT_BIND: {
			char spec[INET6_ADDRSTRLEN + 8];

			/* parse_addr wants a port 1..65535; bind to any */
			snprintf(spec, sizeof(spec), strchr(optarg, ':') ? "[%s]:1" : "%s:1",
				 optarg);
			if (parse_addr(spec, &t.src, &t.src_len) < 0) {
				fprintf(stderr, "km_testcli: bad --bind '%s'\n", optarg);
				return 2;
			}
			/* sin_port and sin6_port share their offset */
			((struct sockaddr_in *)&t.src)->sin_port = 0;
			break;
		}
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (parse_addr(argv[optind], &t.ss, &t.len) < 0) {
		fprintf(stderr, "km_testcli: bad address '%s'\n", argv[optind]);
		return 2;
	}
	if (!t.host)
		t.host = argv[optind];
	signal(SIGPIPE, SIG_IGN);

	if (hold > 0)
		ret = run_hold(&t, hold);
	else
		ret = run_count(&t, count);
	if (ret < 0) {
		fprintf(stderr, "km_testcli: %s\n", strerror(-ret));
		return 2;
	}
	return ret;
}
