// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * km_testsrv: a tiny HTTP/1.1 backend for tests and benchmarks.
 *
 *   km_testsrv --name NAME --listen ADDR:PORT [--listen ADDR:PORT ...]
 *              [--ready-file PATH]
 *
 * Every complete request head gets a fixed 200 response whose body is NAME,
 * so a client can tell which backend a connection landed on. Single-threaded
 * epoll, level-triggered, non-blocking. Per-fd state is allocated the first
 * time an fd number is seen and then reused, so steady state (keep-alive or
 * new connection per request) allocates nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "km_tool.h"

#define MAX_LISTENERS	16
#define MAX_NAME	128
/* A request head larger than this is not something our tests send. */
#define IN_BUF_SIZE	4096
/* Responses queued per sendmsg(); bounds the iovec on the stack. */
#define IOV_BATCH	64
/* Stop parsing when this many responses are queued: backpressure. */
#define MAX_PENDING	1024
#define MAX_EVENTS	256
/* accept() calls per listener wakeup, so one listener cannot starve others. */
#define ACCEPT_BATCH	64
#define BACKLOG		4096
/* Upper bound on the per-fd table, whatever RLIMIT_NOFILE says. */
#define MAX_FDS		(1 << 20)

/* Tag stored in epoll_data.u64 above the fd number. */
#define TAG_CONN	0ULL
#define TAG_LISTEN	1ULL
#define TAG_SIGNAL	2ULL

struct listen_spec {
	struct sockaddr_storage ss;
	socklen_t len;
	const char *text;
};

struct conn {
	size_t in_len;		/* bytes buffered in in[] */
	size_t scan;		/* in[0..scan) holds no complete "\r\n\r\n" */
	unsigned int pending;	/* responses not yet fully written */
	size_t out_off;		/* bytes of the first pending response sent */
	bool close_after;	/* last pending response ends the connection */
	bool want_out;		/* currently registered for EPOLLOUT */
	char in[IN_BUF_SIZE];
};

struct server {
	int epfd;
	int sigfd;
	int lfds[MAX_LISTENERS];
	int n_lfds;
	struct conn **conns;
	size_t n_conns;
	char resp_ka[512];
	size_t resp_ka_len;
	char resp_close[512];
	size_t resp_close_len;
};


static int build_responses(struct server *srv, const char *name)
{
	size_t body = strlen(name) + 1;
	int n;

	n = snprintf(srv->resp_ka, sizeof(srv->resp_ka),
		     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
		     "X-Backend: %s\r\nContent-Type: text/plain\r\n\r\n%s\n",
		     body, name, name);
	if (n < 0 || (size_t)n >= sizeof(srv->resp_ka))
		return -ENAMETOOLONG;
	srv->resp_ka_len = n;

	/* Same response, plus the header HTTP asks for when we will close. */
	n = snprintf(srv->resp_close, sizeof(srv->resp_close),
		     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
		     "X-Backend: %s\r\nContent-Type: text/plain\r\n"
		     "Connection: close\r\n\r\n%s\n",
		     body, name, name);
	if (n < 0 || (size_t)n >= sizeof(srv->resp_close))
		return -ENAMETOOLONG;
	srv->resp_close_len = n;
	return 0;
}

static int open_listener(const struct listen_spec *ls)
{
	int one = 1;
	int fd;

	fd = socket(ls->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto err;
	if (ls->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto err;
	if (bind(fd, (const struct sockaddr *)&ls->ss, ls->len) < 0)
		goto err;
	if (listen(fd, BACKLOG) < 0)
		goto err;
	return fd;
err:
	one = -errno;
	close(fd);
	return one;
}

static int write_ready_file(const char *path)
{
	char tmp[4096];
	FILE *f;
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0) {
		n = -errno;
		unlink(tmp);
		return n;
	}
	if (rename(tmp, path) < 0) {
		n = -errno;
		unlink(tmp);
		return n;
	}
	return 0;
}

/* Thousands of connections need more than the usual soft limit of 1024. */
static size_t raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > MAX_FDS)
		return MAX_FDS;
	return rl.rlim_cur;
}

static int ep_set(struct server *srv, int op, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = {
		.events = events,
		.data.u64 = (tag << 32) | (uint32_t)fd,
	};

	return epoll_ctl(srv->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static struct conn *conn_get(struct server *srv, int fd)
{
	struct conn *c;

	if (fd < 0 || (size_t)fd >= srv->n_conns)
		return NULL;
	c = srv->conns[fd];
	if (!c) {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		srv->conns[fd] = c;
	}
	c->in_len = 0;
	c->scan = 0;
	c->pending = 0;
	c->out_off = 0;
	c->close_after = false;
	c->want_out = false;
	return c;
}

static void conn_close(struct server *srv, int fd)
{
	/* close() drops the epoll registration: no EPOLL_CTL_DEL needed. */
	close(fd);
}

static bool token_in_value(const char *v, const char *end, const char *tok)
{
	size_t tlen = strlen(tok);

	for (; v + tlen <= end; v++)
		if (strncasecmp(v, tok, tlen) == 0)
			return true;
	return false;
}

/*
 * Decide whether the connection stays open after answering the request
 * whose head is head[0..len). HTTP/1.1 defaults to keep-alive, HTTP/1.0 to
 * close; a Connection header overrides either.
 */
static bool head_wants_close(const char *head, size_t len)
{
	const char *end = head + len;
	const char *line = head;
	const char *eol;
	bool close_conn;

	eol = memchr(line, '\n', len);
	if (!eol)
		return true;
	close_conn = eol - line >= 9 &&
		     memcmp(eol - 9, "HTTP/1.0", 8) == 0;

	for (line = eol + 1; line < end; line = eol + 1) {
		static const char hdr[] = "connection:";

		eol = memchr(line, '\n', end - line);
		if (!eol)
			break;
		if ((size_t)(eol - line) < sizeof(hdr) - 1 ||
		    strncasecmp(line, hdr, sizeof(hdr) - 1) != 0)
			continue;
		if (token_in_value(line + sizeof(hdr) - 1, eol, "close"))
			close_conn = true;
		else if (token_in_value(line + sizeof(hdr) - 1, eol,
					"keep-alive"))
			close_conn = false;
	}
	return close_conn;
}

/* Turn every complete request head in c->in into a pending response. */
static void parse_requests(struct conn *c)
{
	size_t start = 0;

	while (!c->close_after && c->pending < MAX_PENDING) {
		size_t from = c->scan > start + 3 ? c->scan - 3 : start;
		const char *p = memmem(c->in + from, c->in_len - from,
				       "\r\n\r\n", 4);
		size_t head_len;

		if (!p) {
			c->scan = c->in_len;
			break;
		}
		head_len = p + 4 - (c->in + start);
		if (head_wants_close(c->in + start, head_len))
			c->close_after = true;
		c->pending++;
		start += head_len;
		c->scan = start;
	}
	if (start == 0)
		return;
	c->in_len -= start;
	if (c->in_len)
		memmove(c->in, c->in + start, c->in_len);
	c->scan -= start;
}

/*
 * Send queued responses. Returns 1 when all were sent, 0 when the socket
 * is full, negative errno on a dead connection.
 */
static int flush_responses(struct server *srv, struct conn *c, int fd)
{
	struct iovec iov[IOV_BATCH];

	while (c->pending) {
		unsigned int n = c->pending < IOV_BATCH ? c->pending : IOV_BATCH;
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = n };
		size_t total = 0;
		ssize_t w, sent;

		for (unsigned int i = 0; i < n; i++) {
			bool last = c->close_after && i == c->pending - 1;

			iov[i].iov_base = last ? srv->resp_close : srv->resp_ka;
			iov[i].iov_len = last ? srv->resp_close_len :
						srv->resp_ka_len;
			total += iov[i].iov_len;
		}
		iov[0].iov_base = (char *)iov[0].iov_base + c->out_off;
		iov[0].iov_len -= c->out_off;
		total -= c->out_off;

		w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		sent = w;
		/* Retire fully written responses, remember the partial one. */
		for (unsigned int i = 0; i < n && w > 0; i++) {
			if ((size_t)w < iov[i].iov_len) {
				c->out_off += w;
				w = 0;
				break;
			}
			w -= iov[i].iov_len;
			c->pending--;
			c->out_off = 0;
		}
		if ((size_t)sent < total)
			return 0;	/* short write: the socket buffer is full */
	}
	return 1;
}

static int update_interest(struct server *srv, struct conn *c, int fd)
{
	bool want_out = c->pending > 0;

	if (want_out == c->want_out)
		return 0;
	c->want_out = want_out;
	/* While output is stuck, stop reading: the peer must drain first. */
	return ep_set(srv, EPOLL_CTL_MOD, fd, want_out ? EPOLLOUT : EPOLLIN,
		      TAG_CONN);
}

static int conn_read(struct conn *c, int fd)
{
	ssize_t r;

	if (c->close_after)
		return 0;	/* anything after the last request is ignored */
	if (c->in_len == sizeof(c->in))
		return -EMSGSIZE;
	r = recv(fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
		 MSG_DONTWAIT);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return -errno;
	}
	if (r == 0)
		return -ECONNRESET;	/* peer closed: nothing left to answer */
	c->in_len += r;
	return 0;
}

static void handle_conn(struct server *srv, int fd, uint32_t events)
{
	struct conn *c = srv->conns[fd];
	int ret;

	if (events & EPOLLIN) {
		ret = conn_read(c, fd);
		if (ret < 0)
			goto drop;
		parse_requests(c);
	} else if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLOUT)) {
		goto drop;
	}

	ret = flush_responses(srv, c, fd);
	if (ret < 0)
		goto drop;
	if (ret == 1) {
		if (c->close_after)
			goto drop;
		/* More requests may already be buffered behind a full batch. */
		parse_requests(c);
		if (c->pending) {
			ret = flush_responses(srv, c, fd);
			if (ret < 0)
				goto drop;
		}
	}
	if (update_interest(srv, c, fd) < 0)
		goto drop;
	return;
drop:
	conn_close(srv, fd);
}

static void handle_accept(struct server *srv, int lfd)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int one = 1;
		int fd;

		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;	/* EAGAIN, or EMFILE: retried next wakeup */
		if (!conn_get(srv, fd)) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (ep_set(srv, EPOLL_CTL_ADD, fd, EPOLLIN, TAG_CONN) < 0)
			close(fd);
	}
}

static int run_loop(struct server *srv)
{
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		int n = epoll_wait(srv->epfd, evs, MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64 >> 32;
			int fd = (int)(uint32_t)evs[i].data.u64;

			if (tag == TAG_SIGNAL)
				return 0;
			if (tag == TAG_LISTEN)
				handle_accept(srv, fd);
			else
				handle_conn(srv, fd, evs[i].events);
		}
	}
}

static int setup_signals(struct server *srv)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	srv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv->sigfd < 0)
		return -errno;
	return ep_set(srv, EPOLL_CTL_ADD, srv->sigfd, EPOLLIN, TAG_SIGNAL);
}

static void cleanup(struct server *srv)
{
	for (size_t i = 0; i < srv->n_conns; i++)
		free(srv->conns[i]);
	free(srv->conns);
	for (int i = 0; i < srv->n_lfds; i++)
		close(srv->lfds[i]);
	if (srv->sigfd >= 0)
		close(srv->sigfd);
	if (srv->epfd >= 0)
		close(srv->epfd);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: km_testsrv --name NAME --listen ADDR:PORT "
		"[--listen ADDR:PORT ...] [--ready-file PATH]\n"
		"  ADDR is IPv4 (10.0.0.2:8080) or IPv6 ([fd00::2]:8080)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "listen", required_argument, NULL, 'l' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct listen_spec specs[MAX_LISTENERS];
	struct server srv = { .epfd = -1, .sigfd = -1 };
	const char *name = NULL, *ready = NULL;
	int n_specs = 0;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 'l':
			if (n_specs == MAX_LISTENERS) {
				fprintf(stderr, "km_testsrv: at most %d --listen\n",
					MAX_LISTENERS);
				return 1;
			}
			if (parse_addr(optarg, &specs[n_specs].ss,
				       &specs[n_specs].len) < 0) {
				fprintf(stderr,
					"km_testsrv: bad listen address '%s'\n",
					optarg);
				return 1;
			}
			specs[n_specs++].text = optarg;
			break;
		case 'r':
			ready = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!name || !*name || n_specs == 0 || optind != argc) {
		usage(stderr);
		return 1;
	}
	if (strlen(name) > MAX_NAME || strpbrk(name, "\r\n")) {
		fprintf(stderr, "km_testsrv: bad --name (max %d chars, one line)\n",
			MAX_NAME);
		return 1;
	}
	if (build_responses(&srv, name) < 0) {
		fprintf(stderr, "km_testsrv: name too long\n");
		return 1;
	}

	srv.n_conns = raise_nofile();
	srv.conns = calloc(srv.n_conns, sizeof(*srv.conns));
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!srv.conns || srv.epfd < 0) {
		fprintf(stderr, "km_testsrv: setup failed: %s\n",
			strerror(errno));
		ret = 1;
		goto out;
	}
	ret = setup_signals(&srv);
	if (ret < 0) {
		fprintf(stderr, "km_testsrv: signal setup failed: %s\n",
			strerror(-ret));
		ret = 1;
		goto out;
	}
	for (int i = 0; i < n_specs; i++) {
		int fd = open_listener(&specs[i]);

		if (fd < 0) {
			fprintf(stderr, "km_testsrv: cannot listen on %s: %s\n",
				specs[i].text, strerror(-fd));
			ret = 1;
			goto out;
		}
		srv.lfds[srv.n_lfds++] = fd;
		ret = ep_set(&srv, EPOLL_CTL_ADD, fd, EPOLLIN, TAG_LISTEN);
		if (ret < 0) {
			fprintf(stderr, "km_testsrv: epoll add %s: %s\n",
				specs[i].text, strerror(-ret));
			ret = 1;
			goto out;
		}
	}
	if (ready) {
		ret = write_ready_file(ready);
		if (ret < 0) {
			fprintf(stderr, "km_testsrv: cannot write %s: %s\n",
				ready, strerror(-ret));
			ret = 1;
			goto out;
		}
	}

	ret = run_loop(&srv);
	if (ret < 0)
		fprintf(stderr, "km_testsrv: epoll_wait: %s\n", strerror(-ret));
	ret = ret < 0 ? 1 : 0;
	if (ready)
		unlink(ready);
out:
	cleanup(&srv);
	return ret;
}
