// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Local replies (local_reply.h): the targets a route gets, and the bytes
 * kmeshd's responder writes, checked against Envoy's source
 * (envoyproxy/envoy: source/common/http/utility.cc newUri and
 * processRequestHost, source/common/router/config_impl.cc for
 * prefix_rewrite on a redirect, source/common/http/utility.cc
 * sendLocalReply for the headers).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "local_reply.h"

/* ---- targets ------------------------------------------------------------- */

const struct km_m_abort *km_abort_for(const struct km_m_action *a,
				      const struct km_m_fault *chain)
{
	const struct km_m_abort *ab;

	if (!chain || !chain->filter)
		return NULL;
	ab = a->abort.set ? &a->abort : &chain->abort;
	if (!ab->status || !ab->num || !ab->den)
		return NULL;
	return ab;
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

size_t km_action_n_targets(const struct km_m_action *a,
			   const struct km_m_abort *ab)
{
	size_t n = a->reply ? 1 : a->n_clusters;

	if (!ab)
		return n;
	return ab->num >= ab->den ? 1 : n + 1;
}

static int put(uint32_t *id_out, uint32_t *cum_out, size_t *n, uint64_t *cum,
	       uint32_t id, uint64_t w)
{
	*cum += w;
	if (*cum > KM_MAX_TOTAL_WEIGHT)
		return -ERANGE;
	id_out[*n] = id;
	cum_out[*n] = (uint32_t)*cum;
	(*n)++;
	return 0;
}

int km_action_targets(const struct km_m_action *a, const struct km_m_abort *ab,
		      const struct km_target_ids *ids, uint32_t *id_out,
		      uint32_t *cum_out, uint32_t *total, long *bad)
{
	uint64_t sum = 0, cum = 0, mul = 1;
	size_t n = 0, i;
	uint32_t id;
	int ret;

	*bad = -1;
	if (ab) {
		uint32_t g = gcd(ab->num, ab->den);
		uint32_t num = ab->num / g, den = ab->den / g;

		if (!ids->abort)
			return -EOPNOTSUPP;
		ret = ids->abort(ids->ctx, ab->status, &id);
		if (ret)
			return ret;
		if (num >= den) {	/* 100%: every connection */
			id_out[0] = id;
			cum_out[0] = *total = 1;
			return 0;
		}
		if (a->reply)
			sum = 1;
		for (i = 0; !a->reply && i < a->n_clusters; i++)
			sum += a->clusters[i].weight;
		/* abort first: num * T of den * T */
		ret = put(id_out, cum_out, &n, &cum, id, (uint64_t)num * sum);
		if (ret)
			return ret;
		mul = den - num;
	}
	if (a->reply) {
		if (!ids->reply)
			return -EOPNOTSUPP;
		ret = ids->reply(ids->ctx, a->reply, &id);
		if (!ret)
			ret = put(id_out, cum_out, &n, &cum, id, mul);
		if (ret)
			return ret;
	}
	for (i = 0; !a->reply && i < a->n_clusters; i++) {
		ret = ids->cluster(ids->ctx, a->clusters[i].cluster, &id);
		if (ret) {
			*bad = (long)i;
			return ret;
		}
		ret = put(id_out, cum_out, &n, &cum, id,
			  mul * a->clusters[i].weight);
		if (ret)
			return ret;
	}
	*total = (uint32_t)cum;
	return 0;
}

/* ---- Location ----------------------------------------------------------- */

struct out {
	char *buf;
	size_t size, len;
	bool full;
};

static void add(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len + n >= o->size) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void adds(struct out *o, const char *s)
{
	add(o, s, strlen(s));
}

static void addf(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void addf(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		o->full = true;
	else
		add(o, tmp, (size_t)n);
}

/*
 * Envoy's processRequestHost: the request's Host without its port when a
 * port_redirect is set, or when the scheme changes and the port is the
 * default one of the request's scheme. A plaintext request's
 * x-forwarded-proto is "http" (the HCM sets it on a connection without
 * TLS), so only ":80" is dropped on a scheme change.
 */
static size_t request_host_len(const char *host, const char *scheme,
			       bool port_redirect)
{
	size_t len = strlen(host);
	const char *end = NULL;

	if (!len)
		return 0;
	if (host[0] == '[') {
		for (const char *p = host; (p = strstr(p, "]:")); p++)
			end = p + 1;
	} else {
		end = strrchr(host, ':');
	}
	if (!end)
		return len;
	if (port_redirect ||
	    (strcmp(scheme, "http") && !strcmp(end, ":80")))
		return (size_t)(end - host);
	return len;
}

/* The path after the route's prefix_rewrite: the matched prefix (or path)
 * swapped for the rewrite, the rest (query included) kept. Envoy asserts
 * the path starts with it; a request the route matched always does. */
static void rewritten_path(const struct km_m_reply *r, const char *path,
			   struct out *o)
{
	size_t m = r->matched ? strlen(r->matched) : 0;

	if (r->prefix && *r->prefix && m && strlen(path) >= m &&
	    !strncasecmp(path, r->matched, m)) {
		adds(o, r->prefix);
		adds(o, path + m);
		return;
	}
	adds(o, path);
}

int km_reply_location(const struct km_m_reply *r, const struct km_reply_req *q,
		      char *buf, size_t size)
{
	const char *scheme = r->scheme ? r->scheme : "http";
	const char *host = q->host ? q->host : "";
	const char *qpath = q->path && *q->path ? q->path : "/";
	char pbuf[8192];
	struct out p = { pbuf, sizeof(pbuf), 0, false };
	struct out o = { buf, size, 0, false };
	bool path_query = r->path && strchr(r->path, '?');
	const char *path;
	char *cut;

	if (!size)
		return -ENOSPC;
	buf[0] = pbuf[0] = '\0';
	if (r->path && *r->path) {
		/* path_redirect: its own query wins, else the request's */
		adds(&p, r->path);
		if (!path_query && strchr(qpath, '?'))
			adds(&p, strchr(qpath, '?'));
	} else {
		rewritten_path(r, qpath, &p);
	}
	if (p.full)
		return -ENOSPC;
	path = pbuf;
	if (!path_query && r->strip_query && (cut = strchr(pbuf, '?')))
		*cut = '\0';

	adds(&o, scheme);
	adds(&o, "://");
	if (r->host && *r->host)
		adds(&o, r->host);
	else
		add(&o, host, request_host_len(host, scheme, r->port != 0));
	if (r->port)
		addf(&o, ":%u", r->port);
	if (path[0] != '/')
		adds(&o, "/");
	adds(&o, path);
	return o.full ? -ENOSPC : (int)o.len;
}

/* ---- the response ------------------------------------------------------- */

/* Envoy's CodeUtility::toString (source/common/http/codes.cc) */
const char *km_http_reason(unsigned int status)
{
	static const struct {
		unsigned int code;
		const char *reason;
	} t[] = {
		{ 100, "Continue" }, { 101, "Switching Protocols" },
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 203, "Non-Authoritative Information" },
		{ 204, "No Content" }, { 205, "Reset Content" },
		{ 206, "Partial Content" }, { 207, "Multi-Status" },
		{ 208, "Already Reported" }, { 226, "IM Used" },
		{ 300, "Multiple Choices" }, { 301, "Moved Permanently" },
		{ 302, "Found" }, { 303, "See Other" },
		{ 304, "Not Modified" }, { 305, "Use Proxy" },
		{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 402, "Payment Required" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" },
		{ 407, "Proxy Authentication Required" },
		{ 408, "Request Timeout" }, { 409, "Conflict" },
		{ 410, "Gone" }, { 411, "Length Required" },
		{ 412, "Precondition Failed" }, { 413, "Payload Too Large" },
		{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
		{ 416, "Range Not Satisfiable" },
		{ 417, "Expectation Failed" },
		{ 421, "Misdirected Request" },
		{ 422, "Unprocessable Entity" }, { 423, "Locked" },
		{ 424, "Failed Dependency" }, { 425, "Too Early" },
		{ 426, "Upgrade Required" },
		{ 428, "Precondition Required" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
		{ 506, "Variant Also Negotiates" },
		{ 507, "Insufficient Storage" }, { 508, "Loop Detected" },
		{ 510, "Not Extended" },
		{ 511, "Network Authentication Required" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].code == status)
			return t[i].reason;
	return "Unknown";
}

#define ABORT_BODY "fault filter abort"

/*
 * Envoy's local reply over HTTP/1.1: with a body, content-length and
 * content-type first (sendLocalReply), then date and server (the HCM);
 * without one, location (a redirect), date, server, then the codec's
 * content-length: 0. kmesh's differences (docs/l7.md): server is
 * "kmesh", and "connection: close" ends the headers because the responder
 * closes after one reply.
 */
int km_reply_format(const struct km_m_reply *r, const struct km_reply_req *q,
		    const char *date, char *buf, size_t size)
{
	struct out o = { buf, size, 0, false };
	const char *body = NULL;
	size_t blen = 0;
	char loc[8192];

	if (!size)
		return -ENOSPC;
	buf[0] = '\0';
	if (r->kind == KM_REPLY_DIRECT && r->body && r->body_len) {
		body = r->body;
		blen = r->body_len;
	} else if (r->kind == KM_REPLY_ABORT) {
		body = ABORT_BODY;
		blen = strlen(ABORT_BODY);
	}
	addf(&o, "HTTP/1.1 %u ", r->status);
	adds(&o, km_http_reason(r->status));
	adds(&o, "\r\n");
	if (blen) {
		addf(&o, "content-length: %zu\r\n", blen);
		adds(&o, "content-type: text/plain\r\n");
	}
	if (r->kind == KM_REPLY_REDIRECT) {
		if (km_reply_location(r, q, loc, sizeof(loc)) < 0)
			return -ENOSPC;
		adds(&o, "location: ");
		adds(&o, loc);
		adds(&o, "\r\n");
	}
	adds(&o, "date: ");
	adds(&o, date);
	adds(&o, "\r\nserver: kmesh\r\n");
	if (!blen)
		adds(&o, "content-length: 0\r\n");
	adds(&o, "connection: close\r\n\r\n");
	if (blen && !q->head)
		add(&o, body, blen);
	return o.full ? -ENOSPC : (int)o.len;
}

char *km_reply_describe(const struct km_m_reply *r)
{
	char buf[256];

	switch (r->kind) {
	case KM_REPLY_DIRECT:
		snprintf(buf, sizeof(buf), "(direct_response %u)", r->status);
		break;
	case KM_REPLY_REDIRECT:
		snprintf(buf, sizeof(buf), "(redirect %u%s%s%s%s)", r->status,
			 r->scheme ? " " : "", r->scheme ? r->scheme : "",
			 r->host ? " " : "", r->host ? r->host : "");
		break;
	default:
		snprintf(buf, sizeof(buf), "(fault abort %u)", r->status);
		break;
	}
	return strdup(buf);
}

static int dup_str(const char *s, char **out)
{
	*out = NULL;
	if (s && !(*out = strdup(s)))
		return -ENOMEM;
	return 0;
}

struct km_m_reply *km_reply_dup(const struct km_m_reply *r)
{
	struct km_m_reply *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	*d = *r;
	d->body = d->scheme = d->host = d->path = d->prefix = NULL;
	d->matched = NULL;
	if (r->body) {
		d->body = malloc(r->body_len + 1);
		if (!d->body)
			goto fail;
		memcpy(d->body, r->body, r->body_len);
		d->body[r->body_len] = '\0';
	}
	if (dup_str(r->scheme, &d->scheme) || dup_str(r->host, &d->host) ||
	    dup_str(r->path, &d->path) || dup_str(r->prefix, &d->prefix) ||
	    dup_str(r->matched, &d->matched))
		goto fail;
	return d;
fail:
	km_reply_free(d);
	return NULL;
}
