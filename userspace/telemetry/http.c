// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * /metrics and /healthz/ready over HTTP, with libmicrohttpd (Debian's
 * libmicrohttpd-dev): a small, long-maintained GNU server library that
 * does HTTP/1.1 parsing, keep-alive and limits itself, in its own thread,
 * with no other dependency. kmesh only renders the bodies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "tel.h"

/* A scraper gets its answer or is cut off: nothing holds a thread. */
#define KM_TEL_HTTP_TIMEOUT_S 10
#define KM_TEL_HTTP_MAX_CONN 16

static struct MHD_Daemon *daemon_;
static km_tel_render_fn render_;
static km_tel_ready_fn ready_;

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code,
			     const char *type, char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **req_cls)
{
	static const char text[] = "text/plain; charset=utf-8";
	size_t len = 0;
	char *body;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text,
			     strdup("only GET\n"), 9);
	if (strcmp(url, "/metrics") == 0) {
		body = render_(&len);
		if (!body)
			return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text,
				     strdup("out of memory\n"), 14);
		return reply(conn, MHD_HTTP_OK,
			     "text/plain; version=0.0.4; charset=utf-8", body, len);
	}
	if (strcmp(url, "/healthz/ready") == 0) {
		bool ok = ready_();

		body = strdup(ok ? "ready\n" : "not ready: no config generation serving\n");
		return reply(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
			     text, body, body ? strlen(body) : 0);
	}
	return reply(conn, MHD_HTTP_NOT_FOUND, text,
		     strdup("not found: /metrics, /healthz/ready\n"), 36);
}

int km_tel_http_start(const char *addr, km_tel_render_fn render,
		      km_tel_ready_fn ready, struct km_err *err)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char host[256], *colon, *end;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	long port;
	int ret;

	snprintf(host, sizeof(host), "%s", addr);
	colon = strrchr(host, ':');
	if (!colon || colon == host) {
		km_err_set(err, "--metrics %s: expected ADDR:PORT (e.g. " KM_TEL_DEFAULT_METRICS ")", addr);
		return -EINVAL;
	}
	*colon = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535) {
		km_err_set(err, "--metrics %s: port must be 1-65535", addr);
		return -EINVAL;
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	ret = getaddrinfo(host, colon + 1, &hints, &ai);
	if (ret) {
		km_err_set(err, "--metrics %s: '%s' is not a numeric IPv4 or IPv6 address",
			   addr, host);
		return -EINVAL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	render_ = render;
	ready_ = ready;
	daemon_ = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, NULL,
				   MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)KM_TEL_HTTP_TIMEOUT_S,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned)KM_TEL_HTTP_MAX_CONN,
				   MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!daemon_) {
		ret = errno ? -errno : -EADDRINUSE;
		km_err_set(err, "metrics: cannot serve on %s: %s", addr, strerror(-ret));
		return ret;
	}
	return 0;
}

void km_tel_http_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}
