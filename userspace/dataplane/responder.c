// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kmeshd's responder (responder.h). One libmicrohttpd daemon on
 * 0.0.0.0:KM_RESPONDER_PORT bound to lo (SO_BINDTODEVICE): only local
 * clients reach it, at any 127.64.0.0/10 address the kernel rewrote their
 * connect to. libmicrohttpd parses the request (the raw target comes from
 * its URI log callback, before any decoding); the response bytes are
 * local_reply.c's, written on the connection's socket once the whole
 * request is in, then libmicrohttpd closes it. Writing them ourselves keeps
 * them byte for byte what docs/l7.md says (libmicrohttpd would add its own
 * capitalised Content-Length and Date).
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "compiler.h"
#include "local_reply.h"
#include "responder.h"

#define RESP_TIMEOUT_S 10
#define RESP_MAX_CONN 1024
/* a 4 KiB body (check.c's limit) and 8 KiB of Location, with room */
#define RESP_BUF (32 * 1024)

static struct MHD_Daemon *daemon_;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
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

int km_responder_start(uint16_t port, struct km_err *err)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* only lo: a connect to 127.64.x.y (or any local address on this
	 * port from this host), never traffic from another machine */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 256))
		goto fail;
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO,
				   0, NULL, NULL, handle, NULL,
				   MHD_OPTION_LISTEN_SOCKET, fd,
				   MHD_OPTION_URI_LOG_CALLBACK, uri_cb, NULL,
				   MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)RESP_TIMEOUT_S,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned)RESP_MAX_CONN,
				   MHD_OPTION_END);
	if (!daemon_) {
		errno = errno ? errno : EADDRINUSE;
		goto fail;
	}
	return 0;
fail:
	km_err_set(err, "local replies: cannot serve on lo port %u: %s (direct_response, redirect and fault abort routes will be refused)",
		   port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -errno;
}

void km_responder_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
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
