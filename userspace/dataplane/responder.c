// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshd's responder (responder.h). A listening socket on
 * 0.0.0.0:KM_RESPONDER_PORT bound to lo (SO_BINDTODEVICE) in kmeshd's
 * network namespace and in each enrolled one: only local clients reach it,
 * at any 127.64.0.0/10 address the kernel rewrote their connect to. One
 * thread accepts on all of them and hands the connections to one
 * libmicrohttpd daemon (MHD_USE_NO_LISTEN_SOCKET). libmicrohttpd parses the request (the raw target comes from
 * its URI log callback, before any decoding); the response bytes are
 * local_reply.c's, written on the connection's socket once the whole
 * request is in, then libmicrohttpd closes it. Writing them ourselves keeps
 * them byte for byte what docs/l7.md says (libmicrohttpd would add its own
 * capitalised Content-Length and Date).
 */
#include <errno.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "compiler.h"
#include "enroll.h"
#include "local_reply.h"
#include "responder.h"
#include "sys.h"

#define RESP_TIMEOUT_S 10
#define RESP_MAX_CONN 1024
/* a 4 KiB body (check.c's limit) and 8 KiB of Location, with room */
#define RESP_BUF (32 * 1024)

/* epoll key of wake_fd: no netns has this cookie */
#define WAKE_KEY UINT64_MAX

/* A listening socket in one network namespace. */
struct lsn {
	uint64_t cookie;	/* the netns's (SO_NETNS_COOKIE): epoll key */
	char path[KM_PATH_MAX];	/* where kmeshd enters it */
	int fd;			/* -1: not listening */
	bool self;		/* kmeshd's own netns: kept until stop */
	bool keep;		/* in the latest km_responder_netns */
	bool failed;		/* could not listen, said once */
};

static struct MHD_Daemon *daemon_;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* lsns: changed by km_responder_netns's thread under lsn_lock, read by
 * accept_loop under it */
static pthread_mutex_t lsn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lsn *lsns;
static size_t n_lsns;
static int ep_fd = -1, wake_fd = -1;
static pthread_t acceptor;
static bool acceptor_on;
static uint16_t port_;
static struct {
	struct km_m_reply **r;
	size_t n;
} tables[2];
static uint8_t cur_tag = 1;	/* the first config gets tag 0 */

struct req {
	char *uri;		/* the request target as sent */
	bool seen;		/* the headers were handed to us */
};

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req *q = calloc(1, sizeof(*q));

	(void)cls;
	(void)c;
	if (q)
		q->uri = strdup(uri ? uri : "/");
	return q;
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *q = *req_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (q)
		free(q->uri);
	free(q);
	*req_cls = NULL;
}

static void imf_date(char *buf, size_t size)
{
	static const char *const day[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const mon[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* An absolute-form target names the host itself (Envoy routes and
 * redirects on its authority). */
static void split_target(const char *uri, const char **host_out,
			 char *host, size_t hsize, const char **path)
{
	const char *p = NULL, *slash;
	size_t n;

	if (!strncasecmp(uri, "http://", 7))
		p = uri + 7;
	else if (!strncasecmp(uri, "https://", 8))
		p = uri + 8;
	*path = uri;
	if (!p)
		return;
	slash = p + strcspn(p, "/?");
	n = (size_t)(slash - p);
	if (n >= hsize)
		n = hsize - 1;
	memcpy(host, p, n);
	host[n] = '\0';
	*host_out = host;
	*path = *slash ? slash : "/";
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, 1000) <= 0)
				return;
			continue;
		}
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* The reply for the address the client was connected to; NULL for one no
 * table has (a stale address after two config changes, or a connect made
 * to the responder directly). */
static int format_reply(int fd, const struct km_reply_req *q, char *buf,
			size_t size)
{
	static const struct km_m_reply none = {
		.kind = KM_REPLY_DIRECT, .status = 503,
	};
	const struct km_m_reply *r = NULL;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	unsigned int tag;
	char date[64];
	uint32_t id;
	int n;

	imf_date(date, sizeof(date));
	pthread_mutex_lock(&lock);
	if (!getsockname(fd, (struct sockaddr *)&sa, &sl) &&
	    sa.sin_family == AF_INET &&
	    km_reply_of_addr(ntohl(sa.sin_addr.s_addr), &tag, &id) &&
	    id <= tables[tag].n)
		r = tables[tag].r[id - 1];
	n = km_reply_format(r ? r : &none, q, date, buf, size);
	pthread_mutex_unlock(&lock);
	return n;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct req *q = *req_cls;
	const union MHD_ConnectionInfo *ci;
	struct km_reply_req rq = { 0 };
	char host[1024], *buf;
	int n;

	(void)cls;
	(void)url;
	(void)version;
	(void)upload_data;
	if (!q)
		return MHD_NO;
	if (!q->seen) {		/* headers: wait for the whole request */
		q->seen = true;
		return MHD_YES;
	}
	if (*upload_data_size) {	/* a body: read and dropped */
		*upload_data_size = 0;
		return MHD_YES;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	buf = malloc(RESP_BUF);
	if (!ci || !buf) {
		free(buf);
		return MHD_NO;
	}
	rq.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	split_target(q->uri ? q->uri : "/", &rq.host, host, sizeof(host),
		     &rq.path);
	rq.head = !strcmp(method, "HEAD");
	n = format_reply(ci->connect_fd, &rq, buf, RESP_BUF);
	if (n > 0)
		write_all(ci->connect_fd, buf, (size_t)n);
	free(buf);
	/* the response is out: close, as "connection: close" said */
	return MHD_NO;
}

/* A listening socket on lo:port in the calling thread's netns. */
static int listen_lo(uint16_t port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	int one = 1, fd, e;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* only lo: a connect to 127.64.x.y (or any local address on this
	 * port from this netns), never traffic from another machine */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 256)) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The listener's netns cookie: the key it is known by. */
static uint64_t fd_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len);
	return c;
}

static struct lsn *lsn_find(uint64_t cookie)
{
	for (size_t i = 0; i < n_lsns; i++)
		if (lsns[i].cookie == cookie)
			return &lsns[i];
	return NULL;
}

/* Hands every pending connection of @cookie's listener to libmicrohttpd.
 * Under lsn_lock: a listener is never closed (and its fd reused) while
 * accepting from it. False after an error that would wake us again at
 * once (EMFILE, ENOBUFS). */
static bool accept_from(uint64_t cookie)
{
	struct sockaddr_storage sa;
	socklen_t sl;
	struct lsn *l;
	bool ok = true;
	int c;

	pthread_mutex_lock(&lsn_lock);
	l = lsn_find(cookie);
	while (l && l->fd >= 0) {
		sl = sizeof(sa);
		c = accept4(l->fd, (struct sockaddr *)&sa, &sl,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			ok = errno == EAGAIN || errno == EINTR ||
			     errno == ECONNABORTED;
			break;
		}
		/* it owns (and closes) the socket, success or not */
		MHD_add_connection(daemon_, c, (struct sockaddr *)&sa, sl);
	}
	pthread_mutex_unlock(&lsn_lock);
	return ok;
}

static void *accept_loop(void *unused)
{
	struct epoll_event ev[16];

	(void)unused;
	for (;;) {
		int n = epoll_wait(ep_fd, ev, 16, -1);

		if (n < 0 && errno != EINTR)
			return NULL;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == WAKE_KEY)
				return NULL;	/* km_responder_stop */
			if (!accept_from(ev[i].data.u64))
				usleep(100 * 1000);	/* out of fds: let some close */
		}
	}
}

/* Serves @fd (a listener of netns @cookie). Under lsn_lock. */
static int lsn_arm(struct lsn *l, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = l->cookie };

	if (epoll_ctl(ep_fd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	l->fd = fd;
	return 0;
}

static void lsn_close(struct lsn *l)
{
	if (l->fd < 0)
		return;
	epoll_ctl(ep_fd, EPOLL_CTL_DEL, l->fd, NULL);
	close(l->fd);
	l->fd = -1;
}

static struct lsn *lsn_add(uint64_t cookie, const char *path)
{
	struct lsn *v = realloc(lsns, (n_lsns + 1) * sizeof(*v)), *l;

	if (!v)
		return NULL;
	lsns = v;
	l = &lsns[n_lsns++];
	memset(l, 0, sizeof(*l));
	l->cookie = cookie;
	l->fd = -1;
	snprintf(l->path, sizeof(l->path), "%s", path);
	return l;
}

/* The daemon and the accept thread, serving @fd (our own listener; *@l
 * takes it over once armed). A positive errno on failure. */
static int start_threads(int fd, struct lsn **l)
{
	int e;

	/* one daemon for every netns's listener: one thread and one
	 * connection limit, however many pods; accept_loop feeds it */
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
				   MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
				   0, NULL, NULL, handle, NULL,
				   MHD_OPTION_URI_LOG_CALLBACK, uri_cb, NULL,
				   MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)RESP_TIMEOUT_S,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned)RESP_MAX_CONN,
				   MHD_OPTION_END);
	if (!daemon_)
		return errno ? errno : ENOMEM;
	*l = lsn_add(fd_cookie(fd), "our own network namespace");
	if (!*l)
		return ENOMEM;
	e = -lsn_arm(*l, fd);
	if (e) {
		*l = NULL;	/* @fd is still the caller's */
		return e;
	}
	(*l)->self = true;
	e = pthread_create(&acceptor, NULL, accept_loop, NULL);
	acceptor_on = !e;
	return e;
}

int km_responder_start(uint16_t port, struct km_err *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_KEY };
	struct sockaddr_in sa;
	struct lsn *l = NULL;
	sigset_t all, old;
	int fd = -1, e;

	port_ = port;
	ep_fd = epoll_create1(EPOLL_CLOEXEC);
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ep_fd < 0 || wake_fd < 0 ||
	    epoll_ctl(ep_fd, EPOLL_CTL_ADD, wake_fd, &ev))
		goto fail;
	fd = listen_lo(port);
	if (fd < 0) {
		errno = -fd;
		goto fail;
	}
	/* port 0 (tests): the one the kernel gave our own listener */
	if (getsockname(fd, (struct sockaddr *)&sa, &(socklen_t){ sizeof(sa) }))
		goto fail;
	port_ = ntohs(sa.sin_port);
	/* the threads start with every signal blocked: kmeshd takes SIGHUP
	 * and SIGTERM through a signalfd, and one landing in a thread that
	 * left it unblocked would end the process */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = start_threads(fd, &l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		errno = e;
		fd = l ? -1 : fd;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	km_err_set(err, "local replies: cannot serve on lo port %u: %s (direct_response, redirect and fault abort routes will be refused)",
		   port, strerror(e));
	if (fd >= 0)
		close(fd);
	km_responder_stop();
	return -e;
}

uint16_t km_responder_port(void)
{
	return port_;
}


void km_responder_stop(void)
{
	if (acceptor_on) {
		eventfd_write(wake_fd, 1);
		pthread_join(acceptor, NULL);
		acceptor_on = false;
	}
	for (size_t i = 0; i < n_lsns; i++)
		lsn_close(&lsns[i]);
	free(lsns);
	lsns = NULL;
	n_lsns = 0;
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	if (ep_fd >= 0)
		close(ep_fd);
	if (wake_fd >= 0)
		close(wake_fd);
	ep_fd = wake_fd = -1;
}

static int listen_in_netns(void *arg, struct km_err *err)
{
	int fd = listen_lo(port_);

	*(int *)arg = fd;
	if (fd < 0)
		km_err_set(err, "%s", strerror(-fd));
	return fd < 0 ? fd : 0;
}

/* Opens @l's listener in its netns; says so when that changes. */
static void lsn_open(struct lsn *l, km_responder_log_fn log)
{
	struct km_err err = {};
	char msg[sizeof(err.msg) + KM_PATH_MAX + 256];
	int fd = -1, ret;

	ret = km_in_netns(l->path, listen_in_netns, &fd, &err);
	if (!ret) {
		pthread_mutex_lock(&lsn_lock);
		ret = lsn_arm(l, fd);
		pthread_mutex_unlock(&lsn_lock);
		if (ret) {
			close(fd);
			km_err_set(&err, "%s", strerror(-ret));
		}
	}
	if (!ret) {
		snprintf(msg, sizeof(msg), "local replies: serving the network namespace %s on lo port %u",
			 l->path, port_);
		log(false, msg);
	} else if (!l->failed) {
		/* once: a port a pod keeps is tried again each scan, quietly */
		snprintf(msg, sizeof(msg), "local replies: network namespace %s: cannot listen on lo port %u: %s (its direct_response, redirect and fault abort routes are refused until it can)",
			 l->path, port_, err.msg);
		log(true, msg);
	}
	l->failed = ret != 0;
}

void km_responder_netns(const struct km_enroll_row *rows, int n,
			km_responder_log_fn log)
{
	char msg[KM_PATH_MAX + 128];
	size_t out = 0;

	if (!daemon_)
		return;
	/* only this thread changes lsns: it reads them without the lock */
	for (size_t i = 0; i < n_lsns; i++)
		lsns[i].keep = lsns[i].self;
	for (int i = 0; i < n; i++) {
		struct lsn *l = lsn_find(rows[i].k.id);

		if (!l) {
			pthread_mutex_lock(&lsn_lock);
			l = lsn_add(rows[i].k.id, rows[i].v.path);
			pthread_mutex_unlock(&lsn_lock);
			if (!l)
				continue;
		}
		l->keep = true;
		if (l->fd < 0)
			lsn_open(l, log);
	}
	/* unenrolled or gone: closing lets the netns go too */
	pthread_mutex_lock(&lsn_lock);
	for (size_t i = 0; i < n_lsns; i++) {
		if (lsns[i].keep) {
			lsns[out++] = lsns[i];
			continue;
		}
		if (lsns[i].fd >= 0) {
			snprintf(msg, sizeof(msg), "local replies: network namespace %s: no longer served (unenrolled or gone)",
				 lsns[i].path);
			log(false, msg);
		}
		lsn_close(&lsns[i]);
	}
	n_lsns = out;
	pthread_mutex_unlock(&lsn_lock);
}

uint8_t km_responder_next_tag(void)
{
	return cur_tag ^ 1;
}

void km_responder_install(struct km_records *r)
{
	uint8_t tag = r->reply_tag & 1;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < tables[tag].n; i++)
		km_reply_free(tables[tag].r[i]);
	free(tables[tag].r);
	tables[tag].r = r->replies;
	tables[tag].n = r->n_replies;
	r->replies = NULL;
	cur_tag = tag;
	pthread_mutex_unlock(&lock);
}
