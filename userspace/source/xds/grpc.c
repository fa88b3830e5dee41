// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gRPC h2c client: one TCP connection, one nghttp2 client session, one
 * bidirectional streaming call (stream 1). The request body never ends:
 * its data provider defers when the send queue is empty and km_grpc_send
 * resumes it. Responses are reassembled by grpc_frame.c.
 *
 * Closing is funnelled through grpc_close(): it runs on_close once and
 * marks the object closed; every nghttp2 callback then returns early (or
 * fails, to stop nghttp2_session_mem_recv mid-buffer) so nothing runs
 * after on_close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grpc.h"
#include "grpc_frame.h"

#define KM_GRPC_USER_AGENT "kmesh/" KMESH_VERSION
/* Bytes per recv(): a few DATA frames of the default 16 KiB. */
#define KM_GRPC_READ_CHUNK (64u << 10)
/* km_grpc_tick's longest answer: receive times are stamped by the tick. */
#define KM_GRPC_TICK_MAX_MS 1000
/* The smallest window HTTP/2 starts with; the connection window cannot
 * shrink below what the peer already assumes. */
#define KM_GRPC_MIN_WINDOW 65535
#define KM_GRPC_MAX_WINDOW 0x7fffffff

/* The request body not yet handed to nghttp2. */
struct km_grpc_outq {
	uint8_t *buf;
	size_t off;		/* first unsent byte */
	size_t len;		/* bytes from off */
	size_t cap;
};

struct km_grpc {
	int fd;
	nghttp2_session *h2;
	int32_t sid;
	struct km_grpc_cbs cbs;
	void *arg;

	/* connect: every address on the same socket (see connect_next) */
	struct addrinfo *ai;
	struct addrinfo *ai_next;	/* next address to try */
	int family;			/* of fd */
	bool connecting;
	bool connect_tried;		/* fd was connected before: dissolve */
	bool connect_timed;		/* connect_start is set */
	uint64_t connect_start;
	int connect_err;		/* last failure, negative errno */
	char peer[INET6_ADDRSTRLEN + 8];	/* "[::1]:15010" */
	struct km_tls *tls;		/* NULL: h2c */
	bool handshaking;		/* TLS handshake after the connect */

	/* request body */
	struct km_grpc_outq out;
	bool deferred;			/* data provider deferred */

	/* response */
	struct km_grpc_frame in;
	int http_status;
	bool ctype_bad;
	int grpc_status;		/* -1 absent, -2 malformed */
	char *grpc_message;		/* raw (percent-encoded) */
	size_t grpc_message_len;
	char h2_detail[96];		/* last invalid frame nghttp2 reported */

	/* keepalive */
	uint32_t keepalive_ms;		/* 0: off */
	uint32_t ping_timeout_ms;
	bool rx_seen;			/* bytes read since the last tick */
	bool rx_timed;			/* last_rx is set */
	uint64_t last_rx;
	bool ping_out;
	uint64_t ping_sent_at;
	uint64_t ping_seq;
	uint8_t ping_opaque[8];

	bool closed;
	bool freeing;			/* km_grpc_free's own GOAWAY */
	int close_ret;
	int io_err;			/* errno of a failed send() in send_cb */
	char why[256];
	struct km_grpc_stats st;
	uint8_t rbuf[KM_GRPC_READ_CHUNK];
};

/* ---- closing ------------------------------------------------------------ */

/* The TLS error behind a failed read or write, else strerror. */
static const char *io_why(const struct km_grpc *g, int err)
{
	if (g->tls && *km_tls_why(g->tls))
		return km_tls_why(g->tls);
	return strerror(err);
}

/* The one place on_close is called from. Returns what km_grpc_io returns
 * from now on. */
static int grpc_close_why(struct km_grpc *g, int status, int err, const char *why)
{
	if (g->closed)
		return g->close_ret;
	g->closed = true;
	g->close_ret = err ? err : -EPIPE;
	if (g->cbs.on_close)
		g->cbs.on_close(g->arg, status, why, err);
	return g->close_ret;
}

__attribute__((format(printf, 3, 4)))
static int grpc_fail(struct km_grpc *g, int err, const char *fmt, ...)
{
	va_list ap;

	if (g->closed)
		return g->close_ret;
	va_start(ap, fmt);
	vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
	return grpc_close_why(g, -1, err, g->why);
}

/* An error code from nghttp2 itself (not one of our callbacks'). */
static int grpc_fail_h2(struct km_grpc *g, int rv)
{
	if (rv == NGHTTP2_ERR_CALLBACK_FAILURE && g->io_err)
		return grpc_fail(g, -g->io_err, "send: %s", io_why(g, g->io_err));
	if (rv == NGHTTP2_ERR_NOMEM)
		return grpc_fail(g, -ENOMEM, "out of memory");
	return grpc_fail(g, -EPROTO, "HTTP/2: %s", nghttp2_strerror(rv));
}

/* The response's last HEADERS (trailers, or a trailers-only response). */
static int grpc_call_end(struct km_grpc *g)
{
	char *msg;
	int ret;

	if (g->grpc_status == -2)
		return grpc_fail(g, -EPROTO, "malformed grpc-status");
	if (g->grpc_status < 0)
		return grpc_fail(g, -EPROTO, "call ended without grpc-status");
	if (g->grpc_status == 0 && !km_grpc_frame_idle(&g->in))
		return grpc_fail(g, -EPROTO, "call ended inside a message");

	msg = malloc(g->grpc_message_len + 1);
	if (!msg)
		return grpc_fail(g, -ENOMEM, "out of memory");
	km_grpc_pct_decode(msg, g->grpc_message ? g->grpc_message : "",
			   g->grpc_message_len);
	ret = grpc_close_why(g, g->grpc_status, 0, msg);
	free(msg);
	return ret;
}

/* ---- transport: TCP, or TLS over it -------------------------------------- */

/* Bytes sent, or negative errno (-EAGAIN: try again on EPOLLOUT). */
static ssize_t io_send(struct km_grpc *g, const uint8_t *data, size_t len)
{
	ssize_t n;

	if (g->tls)
		return km_tls_send(g->tls, data, len);
	do
		n = send(g->fd, data, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

/* Bytes read, 0 at the peer's close, or negative errno (-EAGAIN). */
static ssize_t io_recv(struct km_grpc *g, uint8_t *buf, size_t len)
{
	ssize_t n;

	if (g->tls)
		return km_tls_recv(g->tls, buf, len);
	do
		n = recv(g->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

/* ---- nghttp2 callbacks --------------------------------------------------- */

static ssize_t h2_send_cb(nghttp2_session *s, const uint8_t *data, size_t len,
			  int flags, void *user)
{
	struct km_grpc *g = user;
	ssize_t n;

	n = io_send(g, data, len);
	if (n < 0) {
		if (n == -EAGAIN)
			return NGHTTP2_ERR_WOULDBLOCK;
		g->io_err = -n;
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	g->st.bytes_out += n;
	return n;
}

/* The request body: whatever km_grpc_send queued; defers when empty. */
static ssize_t h2_body_read(nghttp2_session *s, int32_t sid, uint8_t *buf,
			    size_t len, uint32_t *data_flags,
			    nghttp2_data_source *src, void *user)
{
	struct km_grpc *g = user;
	struct km_grpc_outq *q = &g->out;

	if (!q->len) {
		g->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (len > q->len)
		len = q->len;
	memcpy(buf, q->buf + q->off, len);
	q->off += len;
	q->len -= len;
	if (!q->len)
		q->off = 0;
	return len;
}

static bool is_grpc_ctype(const uint8_t *v, size_t len)
{
	static const char ct[] = "application/grpc";
	size_t n = sizeof(ct) - 1;

	/* "application/grpc", "application/grpc+proto", "...;charset" */
	return len >= n && !strncasecmp((const char *)v, ct, n) &&
	       (len == n || v[n] == '+' || v[n] == ';');
}

static bool hdr_is(const uint8_t *name, size_t len, const char *want)
{
	return len == strlen(want) && !memcmp(name, want, len);
}

static int h2_on_header(nghttp2_session *s, const nghttp2_frame *frame,
			const uint8_t *name, size_t namelen,
			const uint8_t *value, size_t valuelen,
			uint8_t flags, void *user)
{
	struct km_grpc *g = user;
	char *m;

	if (g->closed || g->freeing || frame->hd.type != NGHTTP2_HEADERS ||
	    frame->hd.stream_id != g->sid)
		return 0;
	if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
		if (hdr_is(name, namelen, ":status")) {
			/* nghttp2 has checked it is 3 digits */
			g->http_status = (value[0] - '0') * 100 +
					 (value[1] - '0') * 10 + (value[2] - '0');
			return 0;
		}
		if (hdr_is(name, namelen, "content-type")) {
			g->ctype_bad = !is_grpc_ctype(value, valuelen);
			return 0;
		}
	}
	if (hdr_is(name, namelen, "grpc-status")) {
		int st = km_grpc_parse_status((const char *)value, valuelen);

		g->grpc_status = st < 0 ? -2 : st;
	} else if (hdr_is(name, namelen, "grpc-message")) {
		m = realloc(g->grpc_message, valuelen + 1);
		if (!m) {
			grpc_fail(g, -ENOMEM, "out of memory");
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		memcpy(m, value, valuelen);
		m[valuelen] = '\0';
		g->grpc_message = m;
		g->grpc_message_len = valuelen;
	}
	return 0;
}

static void on_headers(struct km_grpc *g, const nghttp2_frame *frame)
{
	if (frame->hd.stream_id != g->sid)
		return;
	if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
		if (g->http_status != 200) {
			grpc_fail(g, -EPROTO, "HTTP status %d", g->http_status);
			return;
		}
		if (g->ctype_bad) {
			grpc_fail(g, -EPROTO, "response content-type is not application/grpc");
			return;
		}
	}
	/* nghttp2 only accepts trailers that end the stream */
	if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
		grpc_call_end(g);
}

static void on_ping(struct km_grpc *g, const nghttp2_frame *frame)
{
	if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) || !g->ping_out ||
	    memcmp(frame->ping.opaque_data, g->ping_opaque, sizeof(g->ping_opaque)))
		return;
	g->ping_out = false;
	g->st.pings_acked++;
}

/* Appends the GOAWAY's debug data when it is short printable text
 * (grpc-go: "too_many_pings", "max_age"). */
static void on_goaway(struct km_grpc *g, const nghttp2_frame *frame)
{
	const nghttp2_goaway *ga = &frame->goaway;
	char dbg[80] = "";
	size_t n = ga->opaque_data_len;
	bool text = n > 0 && n < sizeof(dbg) - 2;

	for (size_t i = 0; text && i < n; i++)
		text = ga->opaque_data[i] >= 0x20 && ga->opaque_data[i] < 0x7f;
	if (text) {
		dbg[0] = ',';
		dbg[1] = ' ';
		memcpy(dbg + 2, ga->opaque_data, n);
		dbg[n + 2] = '\0';
	}
	grpc_fail(g, ga->error_code == NGHTTP2_NO_ERROR ? -ESHUTDOWN : -ECONNRESET,
		  "GOAWAY (error code %u: %s%s)", ga->error_code,
		  nghttp2_http2_strerror(ga->error_code), dbg);
}

static int h2_on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame,
			    void *user)
{
	struct km_grpc *g = user;

	if (g->closed || g->freeing)
		return 0;
	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
		on_headers(g, frame);
		break;
	case NGHTTP2_PING:
		on_ping(g, frame);
		break;
	case NGHTTP2_GOAWAY:
		on_goaway(g, frame);
		break;
	case NGHTTP2_SETTINGS:
		/* a TCP connect alone is not a connection to an xDS server */
		if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
			g->st.h2_up = true;
		break;
	case NGHTTP2_DATA:
		/* the stream stays half-open (our body never ends), so
		 * h2_on_stream_close would not see this */
		if (frame->hd.stream_id == g->sid &&
		    (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
			grpc_fail(g, -EPROTO, "stream ended without trailers");
		break;
	default:
		/* RST_STREAM: h2_on_stream_close */
		break;
	}
	/* stop nghttp2_session_mem_recv: nothing may follow on_close */
	return g->closed ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int deliver(void *arg, const uint8_t *msg, size_t len)
{
	struct km_grpc *g = arg;

	g->st.msgs_in++;
	if (g->cbs.on_message)
		g->cbs.on_message(g->arg, msg, len);
	return 0;
}

static int h2_on_data(nghttp2_session *s, uint8_t flags, int32_t sid,
		      const uint8_t *data, size_t len, void *user)
{
	struct km_grpc *g = user;
	int ret;

	if (g->closed || g->freeing || sid != g->sid)
		return 0;
	ret = km_grpc_frame_feed(&g->in, data, len, deliver, g);
	switch (ret) {
	case 0:
		return 0;
	case -EPROTO:
		if (g->in.prefix[0] == 1)
			grpc_fail(g, -EPROTO, "compressed message");
		else
			grpc_fail(g, -EPROTO, "bad message flag %u", g->in.prefix[0]);
		break;
	case -EMSGSIZE:
		grpc_fail(g, -EMSGSIZE, "message of %zu bytes exceeds the %u MiB limit",
			  km_grpc_frame_msg_len(&g->in), KM_GRPC_MAX_MSG >> 20);
		break;
	default:
		grpc_fail(g, ret, "message reassembly: %s", strerror(-ret));
		break;
	}
	return NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int h2_on_stream_close(nghttp2_session *s, int32_t sid, uint32_t code,
			      void *user)
{
	struct km_grpc *g = user;

	if (g->closed || g->freeing || sid != g->sid)
		return 0;
	/* RST_STREAM, ours or the peer's: we never end our side, and a
	 * response that ends closed the call already */
	if (g->h2_detail[0])
		grpc_fail(g, -EPROTO, "stream reset (error code %u: %s) after %s",
			  code, nghttp2_http2_strerror(code), g->h2_detail);
	else
		grpc_fail(g, -ECONNRESET, "stream reset (error code %u: %s)",
			  code, nghttp2_http2_strerror(code));
	return 0;
}

/* nghttp2 refused a frame from the peer (it answers with RST_STREAM or
 * GOAWAY itself); kept to explain the close that follows. */
static int h2_on_invalid_frame(nghttp2_session *s, const nghttp2_frame *frame,
			       int lib_error, void *user)
{
	struct km_grpc *g = user;

	snprintf(g->h2_detail, sizeof(g->h2_detail), "invalid frame: %s",
		 nghttp2_strerror(lib_error));
	return 0;
}

static int h2_on_frame_send(nghttp2_session *s, const nghttp2_frame *frame,
			    void *user)
{
	struct km_grpc *g = user;

	switch (frame->hd.type) {
	case NGHTTP2_WINDOW_UPDATE:
		g->st.window_updates_sent++;
		break;
	case NGHTTP2_PING:
		if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
			g->st.pings_sent++;
		break;
	case NGHTTP2_GOAWAY:
		/* nghttp2 ends the connection over a protocol error */
		if (!g->closed && !g->freeing)
			grpc_fail(g, -EPROTO, "HTTP/2 protocol error (sent GOAWAY, error code %u: %s)%s%s",
				  frame->goaway.error_code,
				  nghttp2_http2_strerror(frame->goaway.error_code),
				  g->h2_detail[0] ? ", " : "", g->h2_detail);
		break;
	default:
		break;
	}
	return 0;
}

/* ---- session ------------------------------------------------------------- */

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), \
		   NGHTTP2_NV_FLAG_NONE }

static int h2_setup(struct km_grpc *g, const struct km_grpc_opts *o,
		    const char *authority, uint32_t window)
{
	const char *path = o->path;
	nghttp2_session_callbacks *cbs;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window },
	};
	nghttp2_nv hdrs[] = {
		NV(":method", "POST"),
		NV(":scheme", o->tls ? "https" : "http"),
		NV(":path", path),
		NV(":authority", authority),
		NV("content-type", "application/grpc"),
		NV("te", "trailers"),
		NV("grpc-accept-encoding", "identity"),
		NV("user-agent", KM_GRPC_USER_AGENT),
		/* last: left out without a token */
		NV("authorization", o->authorization ? o->authorization : ""),
	};
	size_t n_hdrs = sizeof(hdrs) / sizeof(hdrs[0]) - !o->authorization;
	nghttp2_data_provider body = { .read_callback = h2_body_read };
	int rv;

	if (nghttp2_session_callbacks_new(&cbs))
		return -ENOMEM;
	nghttp2_session_callbacks_set_send_callback(cbs, h2_send_cb);
	nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, h2_on_invalid_frame);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, h2_on_frame_send);
	rv = nghttp2_session_client_new(&g->h2, cbs, g);
	nghttp2_session_callbacks_del(cbs);
	if (rv)
		return -ENOMEM;

	/* The stream window comes from SETTINGS; the connection window only
	 * from WINDOW_UPDATE, so raise it too or it caps every stream at
	 * 64 KiB in flight. */
	rv = nghttp2_submit_settings(g->h2, NGHTTP2_FLAG_NONE, iv,
				     sizeof(iv) / sizeof(iv[0]));
	if (!rv)
		rv = nghttp2_session_set_local_window_size(g->h2, NGHTTP2_FLAG_NONE,
							   0, window);
	if (rv)
		return rv == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EINVAL;
	g->sid = nghttp2_submit_request(g->h2, NULL, hdrs, n_hdrs, &body, NULL);
	if (g->sid < 0)
		return g->sid == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EINVAL;
	return 0;
}

/* Writes until EAGAIN or nothing is left. */
static int h2_flush(struct km_grpc *g)
{
	int rv;

	if (g->connecting || g->handshaking || g->closed)
		return g->closed ? g->close_ret : 0;
	rv = nghttp2_session_send(g->h2);
	if (g->closed)
		return g->close_ret;
	if (rv)
		return grpc_fail_h2(g, rv);
	if (!nghttp2_session_want_read(g->h2) && !nghttp2_session_want_write(g->h2))
		return grpc_fail(g, -EPROTO, "HTTP/2 session ended");
	return 0;
}

/* Reads until EAGAIN. */
static int h2_read(struct km_grpc *g)
{
	ssize_t n, rv;

	for (;;) {
		n = io_recv(g, g->rbuf, sizeof(g->rbuf));
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return grpc_fail(g, n, "recv: %s", io_why(g, -n));
		if (n == 0)
			return grpc_fail(g, -ECONNRESET, "connection closed by peer");
		g->st.bytes_in += n;
		g->rx_seen = true;
		rv = nghttp2_session_mem_recv(g->h2, g->rbuf, n);
		if (g->closed)
			return g->close_ret;
		if (rv < 0)
			return grpc_fail_h2(g, (int)rv);
	}
}

/* ---- connect ------------------------------------------------------------- */

static void format_peer(char *out, size_t size, const struct addrinfo *a)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;

	if (a->ai_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)a->ai_addr;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
		snprintf(out, size, "[%s]:%u", ip, port);
	} else {
		const struct sockaddr_in *s4 = (const void *)a->ai_addr;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
		snprintf(out, size, "%s:%u", ip, port);
	}
}

/* @a as an address for our socket: IPv4 becomes IPv4-mapped on a
 * dual-stack IPv6 socket. -EAFNOSUPPORT for IPv6 on an IPv4 socket. */
static int sockaddr_for(const struct km_grpc *g, const struct addrinfo *a,
			struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->ai_family == g->family) {
		memcpy(ss, a->ai_addr, a->ai_addrlen);
		*len = a->ai_addrlen;
		return 0;
	}
	if (a->ai_family == AF_INET && g->family == AF_INET6) {
		const struct sockaddr_in *s4 = (const void *)a->ai_addr;
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = s4->sin_port;
		s6->sin6_addr.s6_addr[10] = 0xff;
		s6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
		*len = sizeof(*s6);
		return 0;
	}
	return -EAFNOSUPPORT;
}

/* One socket for every address: IPv6 dual-stack when the name has IPv6
 * addresses, so km_grpc_fd (registered in the caller's epoll) never
 * changes while we go down the list. */
static int open_socket(struct km_grpc *g)
{
	bool v6 = false;
	int fd, off = 0, one = 1;

	for (const struct addrinfo *a = g->ai; a; a = a->ai_next)
		v6 |= a->ai_family == AF_INET6;
	fd = -1;
	if (v6) {
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			g->family = AF_INET6;
			/* may fail where IPv6 is v6-only by policy: then
			 * the IPv4 addresses fail and the next is tried */
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		}
	}
	if (fd < 0) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		g->family = AF_INET;
	}
	/* ADS requests are small and latency matters more than segments */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	g->fd = fd;
	return 0;
}

/* Starts connecting to the next usable address. 0 (connecting or
 * connected), or the last address's error when none is left. */
static int connect_next(struct km_grpc *g)
{
	struct sockaddr_storage ss;
	socklen_t len;

	while (g->ai_next) {
		const struct addrinfo *a = g->ai_next;

		g->ai_next = a->ai_next;
		if (sockaddr_for(g, a, &ss, &len)) {
			if (!g->connect_err)
				g->connect_err = -EAFNOSUPPORT;
			continue;
		}
		format_peer(g->peer, sizeof(g->peer), a);
		if (g->connect_tried) {
			/* connect(2): AF_UNSPEC dissolves the failed
			 * association; the socket can connect again */
			struct sockaddr un = { .sa_family = AF_UNSPEC };

			connect(g->fd, &un, sizeof(un));
		}
		g->connect_tried = true;
		g->connect_timed = false;
		if (!connect(g->fd, (struct sockaddr *)&ss, len)) {
			g->connecting = false;
			g->handshaking = g->tls != NULL;
			return 0;
		}
		if (errno == EINPROGRESS) {
			g->connecting = true;
			return 0;
		}
		g->connect_err = -errno;
	}
	return g->connect_err ? g->connect_err : -EHOSTUNREACH;
}

/* The current address failed with @err: the next one, or on_close. */
static int connect_failed(struct km_grpc *g, int err, const char *what)
{
	char peer[sizeof(g->peer)];

	g->connect_err = err;
	memcpy(peer, g->peer, sizeof(peer));
	if (!connect_next(g))
		return 0;
	g->connecting = false;
	return grpc_fail(g, err, "connect to %s: %s", peer, what ? what : strerror(-err));
}

/* One step of the TLS handshake. It follows the TCP connect within the
 * same connect timeout; a TLS failure ends the attempt, with no next
 * address: the server answered, and said no. */
static int tls_step(struct km_grpc *g)
{
	int ret = km_tls_handshake(g->tls);

	if (ret == -EAGAIN)
		return 0;
	if (ret)
		return grpc_fail(g, ret, "TLS handshake with %s: %s", g->peer,
				 km_tls_why(g->tls));
	g->handshaking = false;
	return 0;
}

/* EPOLLOUT/ERR/HUP while connecting: done, or failed. */
static int connect_check(struct km_grpc *g)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (!soerr) {
		g->connecting = false;
		g->rx_timed = false;	/* keepalive counts from here */
		g->handshaking = g->tls != NULL;
		return 0;
	}
	return connect_failed(g, -soerr, NULL);
}

static int resolve(struct km_grpc *g, const char *host, uint16_t port,
		   struct km_err *err)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	char sport[8];
	int rv;

	snprintf(sport, sizeof(sport), "%u", port);
	rv = getaddrinfo(host, sport, &hints, &g->ai);
	if (!rv) {
		g->ai_next = g->ai;
		return 0;
	}
	km_err_set(err, "grpc: resolve '%s': %s", host,
		   rv == EAI_SYSTEM ? strerror(errno) : gai_strerror(rv));
	if (rv == EAI_MEMORY)
		return -ENOMEM;
	if (rv == EAI_SYSTEM && errno)
		return -errno;
	return -EHOSTUNREACH;
}

/* ---- API ----------------------------------------------------------------- */

int km_grpc_open(struct km_grpc **gp, const struct km_grpc_opts *o,
		 const struct km_grpc_cbs *cbs, void *arg, struct km_err *err)
{
	struct km_grpc *g;
	char authority[300];
	uint32_t window;
	int ret;

	*gp = NULL;
	if (!o || !o->host || !*o->host || !o->path || o->path[0] != '/' || !o->port) {
		km_err_set(err, "grpc: host, port and an absolute path are required");
		return -EINVAL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		km_err_set(err, "grpc: out of memory");
		return -ENOMEM;
	}
	g->fd = -1;
	g->grpc_status = -1;
	if (cbs)
		g->cbs = *cbs;
	g->arg = arg;
	km_grpc_frame_init(&g->in, KM_GRPC_MAX_MSG);

	window = o->window ? o->window : KM_GRPC_DEFAULT_WINDOW;
	if (window < KM_GRPC_MIN_WINDOW)
		window = KM_GRPC_MIN_WINDOW;
	if (window > KM_GRPC_MAX_WINDOW)
		window = KM_GRPC_MAX_WINDOW;
	if (o->keepalive_ms) {
		uint32_t floor = o->test_keepalive_floor_ms ?
				 o->test_keepalive_floor_ms : KM_GRPC_MIN_KEEPALIVE_MS;

		g->keepalive_ms = o->keepalive_ms < floor ? floor : o->keepalive_ms;
	}
	g->ping_timeout_ms = o->test_ping_timeout_ms ?
			     o->test_ping_timeout_ms : KM_GRPC_PING_TIMEOUT_MS;

	if (o->authority)
		snprintf(authority, sizeof(authority), "%s", o->authority);
	else if (strchr(o->host, ':'))
		snprintf(authority, sizeof(authority), "[%s]:%u", o->host, o->port);
	else
		snprintf(authority, sizeof(authority), "%s:%u", o->host, o->port);

	ret = h2_setup(g, o, authority, window);
	if (ret) {
		km_err_set(err, "grpc: HTTP/2 session setup: %s", strerror(-ret));
		goto fail;
	}
	if (o->tls) {
		ret = km_tls_new(&g->tls, o->tls, err);
		if (ret)
			goto fail;
	}
	ret = resolve(g, o->host, o->port, err);
	if (ret)
		goto fail;
	ret = open_socket(g);
	if (ret) {
		km_err_set(err, "grpc: socket: %s", strerror(-ret));
		goto fail;
	}
	/* the one socket for every address: TLS binds to it once */
	if (g->tls && km_tls_start(g->tls, g->fd)) {
		km_err_set(err, "grpc: %s", km_tls_why(g->tls));
		ret = -ENOMEM;
		goto fail;
	}
	ret = connect_next(g);
	if (ret) {
		km_err_set(err, "grpc: connect to %s: %s", g->peer[0] ? g->peer : o->host,
			   strerror(-ret));
		goto fail;
	}
	*gp = g;
	return 0;

fail:
	km_grpc_free(g);
	return ret;
}

int km_grpc_fd(const struct km_grpc *g)
{
	return g->fd;
}

uint32_t km_grpc_events(const struct km_grpc *g)
{
	if (g->closed)
		return 0;
	if (g->handshaking)
		return EPOLLIN | km_tls_events(g->tls);
	if (g->connecting || nghttp2_session_want_write(g->h2) ||
	    (g->tls && (km_tls_events(g->tls) & EPOLLOUT)))
		return EPOLLIN | EPOLLOUT;
	return EPOLLIN;
}

int km_grpc_io(struct km_grpc *g, uint32_t revents)
{
	int ret;

	if (g->closed)
		return g->close_ret;
	if (g->connecting) {
		if (!(revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return 0;
		ret = connect_check(g);
		if (ret || g->connecting)
			return ret;
	}
	if (g->handshaking) {
		ret = tls_step(g);
		if (ret || g->handshaking)
			return ret;
	}
	/* TLS: a read may wait for EPOLLOUT, and records already decrypted
	 * raise no EPOLLIN; reading until EAGAIN costs one recv */
	if (g->tls || (revents & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
		ret = h2_read(g);
		if (ret)
			return ret;
	}
	return h2_flush(g);
}

static int outq_append(struct km_grpc_outq *q, const uint8_t *p, size_t len)
{
	size_t need = q->len + len, cap;
	uint8_t *b;

	if (q->off + need > q->cap && q->off) {
		memmove(q->buf, q->buf + q->off, q->len);
		q->off = 0;
	}
	if (need > q->cap) {
		cap = q->cap ? q->cap : 4096;
		while (cap < need)
			cap *= 2;
		b = realloc(q->buf, cap);
		if (!b)
			return -ENOMEM;
		q->buf = b;
		q->cap = cap;
	}
	memcpy(q->buf + q->off + q->len, p, len);
	q->len += len;
	return 0;
}

int km_grpc_send(struct km_grpc *g, const uint8_t *msg, size_t len)
{
	uint8_t prefix[KM_GRPC_PREFIX_LEN];
	size_t old = g->out.len;
	int ret;

	if (g->closed)
		return -EPIPE;
	if (len > KM_GRPC_MAX_MSG)
		return -EMSGSIZE;
	km_grpc_frame_prefix(prefix, len);
	ret = outq_append(&g->out, prefix, sizeof(prefix));
	if (!ret && len)
		ret = outq_append(&g->out, msg, len);
	if (ret) {
		g->out.len = old;
		return ret;
	}
	g->st.msgs_queued++;
	if (g->deferred) {
		g->deferred = false;
		nghttp2_session_resume_data(g->h2, g->sid);
	}
	return 0;
}

static uint32_t min_ms(uint32_t a, uint64_t b)
{
	return b < a ? (uint32_t)b : a;
}

uint32_t km_grpc_tick(struct km_grpc *g, uint64_t now)
{
	uint32_t next = KM_GRPC_TICK_MAX_MS;
	uint64_t el;

	if (g->closed)
		return next;
	if (g->connecting || g->handshaking) {
		if (!g->connect_timed) {
			g->connect_timed = true;
			g->connect_start = now;
		}
		el = now - g->connect_start;
		if (el < KM_GRPC_CONNECT_TIMEOUT_MS)
			return min_ms(next, KM_GRPC_CONNECT_TIMEOUT_MS - el);
		if (g->handshaking)
			grpc_fail(g, -ETIMEDOUT, "TLS handshake with %s: timed out", g->peer);
		else
			connect_failed(g, -ETIMEDOUT, "timed out");
		return next;
	}
	if (!g->keepalive_ms)
		return next;

	if (g->rx_seen || !g->rx_timed) {
		/* anything received proves the peer alive, PING ACK or not:
		 * a big response can queue an ACK behind MBs of DATA */
		g->rx_seen = false;
		g->rx_timed = true;
		g->last_rx = now;
		if (g->ping_out)
			g->ping_sent_at = now;
	}
	if (g->ping_out) {
		el = now - g->ping_sent_at;
		if (el >= g->ping_timeout_ms) {
			grpc_fail(g, -ETIMEDOUT, "keepalive timeout");
			return next;
		}
		return min_ms(next, g->ping_timeout_ms - el);
	}
	el = now - g->last_rx;
	if (el < g->keepalive_ms)
		return min_ms(next, g->keepalive_ms - el);

	g->ping_seq++;
	memcpy(g->ping_opaque, &g->ping_seq, sizeof(g->ping_opaque));
	if (nghttp2_submit_ping(g->h2, NGHTTP2_FLAG_NONE, g->ping_opaque))
		return next;	/* out of memory: try again next tick */
	g->ping_out = true;
	g->ping_sent_at = now;
	return min_ms(next, g->ping_timeout_ms);
}

void km_grpc_get_stats(const struct km_grpc *g, struct km_grpc_stats *st)
{
	*st = g->st;
}

void km_grpc_describe(const struct km_grpc *g, char *out, size_t size)
{
	if (g->tls)
		km_tls_describe(g->tls, out, size);
	else
		snprintf(out, size, "plaintext h2c");
}

void km_grpc_free(struct km_grpc *g)
{
	if (!g)
		return;
	if (g->h2) {
		if (g->fd >= 0 && !g->connecting && !g->handshaking && g->connect_tried) {
			/* best effort, never blocks: cancel the call, say
			 * goodbye, drop whatever does not fit the socket */
			nghttp2_stream *st = nghttp2_session_find_stream(g->h2, g->sid);

			g->freeing = true;
			if (st && nghttp2_stream_get_state(st) != NGHTTP2_STREAM_STATE_CLOSED)
				nghttp2_submit_rst_stream(g->h2, NGHTTP2_FLAG_NONE,
							  g->sid, NGHTTP2_CANCEL);
			nghttp2_submit_goaway(g->h2, NGHTTP2_FLAG_NONE,
					      nghttp2_session_get_last_proc_stream_id(g->h2),
					      NGHTTP2_NO_ERROR, NULL, 0);
			nghttp2_session_send(g->h2);
		}
		nghttp2_session_del(g->h2);
	}
	km_tls_free(g->tls);
	if (g->fd >= 0)
		close(g->fd);
	if (g->ai)
		freeaddrinfo(g->ai);
	km_grpc_frame_free(&g->in);
	free(g->out.buf);
	free(g->grpc_message);
	free(g);
}
