// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * HTTP request-head parser and string matching: the code kmesh.ko runs
 * (kmod/http_parse.c, built into libkmesh.a unchanged).
 *
 * Every table row is its own cmocka test, named after the row, so a failure
 * says which input broke and the runner counts rows. Each input is copied
 * into a heap buffer of exactly its length: valgrind (or ASan) then sees any
 * read past len.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kmesh/http_parse.h"

#define EXPECT(row, cond, ...)						\
	do {								\
		if (!(cond)) {						\
			print_error("%s: ", (row));			\
			fail_msg(__VA_ARGS__);				\
		}							\
	} while (0)

static char *dup_exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

/* Parse the first len bytes of s from a buffer holding exactly those. */
static int parse_n(const char *s, size_t len, struct km_http_req *req)
{
	char *b = dup_exact(s, len);
	int ret;

	memset(req, 0, sizeof(*req));
	ret = km_http_parse(b, (__u32)len, req);
	free(b);
	return ret;
}

static int span_is(const char *buf, struct km_http_span sp, const char *want)
{
	return sp.len == strlen(want) && memcmp(buf + sp.off, want, sp.len) == 0;
}

static const char *span_str(const char *buf, struct km_http_span sp)
{
	static char out[KM_HTTP_MAX_HEAD + 1];

	memcpy(out, buf + sp.off, sp.len);
	out[sp.len] = 0;
	return out;
}

/* Every span of a successful parse lies inside the head. */
static void check_spans_inside(const char *row, const struct km_http_req *r)
{
	const struct km_http_span *all[5] = { &r->method, &r->target, &r->path,
					      &r->query, &r->host };

	for (int i = 0; i < 5; i++)
		EXPECT(row, all[i]->off + all[i]->len <= r->head_len,
		       "span %d past the head", i);
	for (int i = 0; i < r->n_headers; i++) {
		EXPECT(row, r->headers[i].name.off + r->headers[i].name.len <=
		       r->head_len, "header %d name past the head", i);
		EXPECT(row, r->headers[i].value.off + r->headers[i].value.len <=
		       r->head_len, "header %d value past the head", i);
	}
}

/* ---- valid heads -------------------------------------------------------- */

struct valid_case {
	const char *name;
	const char *head;	/* exactly the head: head_len == strlen */
	const char *method, *target, *path, *query, *host;
	int version;
	int n_headers;
};

static const struct valid_case valid_cases[] = {
	{ "origin-form GET with Host",
	  "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n",
	  "GET", "/index.html", "/index.html", "", "example.com", 11, 1 },
	{ "HTTP/1.0 without headers",
	  "GET / HTTP/1.0\r\n\r\n", "GET", "/", "/", "", "", 10, 0 },
	{ "HTTP/1.1 without Host is parsed, host empty",
	  "GET /x HTTP/1.1\r\nAccept: */*\r\n\r\n",
	  "GET", "/x", "/x", "", "", 11, 1 },
	{ "HTTP/1.0 with Host",
	  "HEAD /h HTTP/1.0\r\nHost: a.b\r\n\r\n",
	  "HEAD", "/h", "/h", "", "a.b", 10, 1 },
	{ "query split",
	  "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\n\r\n",
	  "GET", "/a/b?x=1&y=2", "/a/b", "x=1&y=2", "h", 11, 1 },
	{ "fragment after query is cut",
	  "GET /p?q=1#frag HTTP/1.1\r\nHost: h\r\n\r\n",
	  "GET", "/p?q=1#frag", "/p", "q=1", "h", 11, 1 },
	{ "fragment without query",
	  "GET /p#f?notquery HTTP/1.1\r\nHost: h\r\n\r\n",
	  "GET", "/p#f?notquery", "/p", "", "h", 11, 1 },
	{ "empty query",
	  "GET /p? HTTP/1.1\r\nHost: h\r\n\r\n",
	  "GET", "/p?", "/p", "", "h", 11, 1 },
	{ "second '?' belongs to the query",
	  "GET /p?a?b=c HTTP/1.1\r\nHost: h\r\n\r\n",
	  "GET", "/p?a?b=c", "/p", "a?b=c", "h", 11, 1 },
	{ "percent-encoding and sub-delims in target",
	  "GET /a%20b;c=d,e!$&'()*+~ HTTP/1.1\r\nHost: h\r\n\r\n",
	  "GET", "/a%20b;c=d,e!$&'()*+~", "/a%20b;c=d,e!$&'()*+~", "", "h", 11, 1 },
	{ "absolute-form",
	  "GET http://example.com/x?y=1 HTTP/1.1\r\n\r\n",
	  "GET", "http://example.com/x?y=1", "/x", "y=1", "example.com", 11, 0 },
	{ "absolute-form authority overrides Host",
	  "GET http://svc.ns:8080/api HTTP/1.1\r\nHost: other.example\r\n\r\n",
	  "GET", "http://svc.ns:8080/api", "/api", "", "svc.ns:8080", 11, 1 },
	{ "absolute-form without path",
	  "GET http://h:8080 HTTP/1.1\r\n\r\n",
	  "GET", "http://h:8080", "", "", "h:8080", 11, 0 },
	{ "absolute-form query without path",
	  "GET http://h?q HTTP/1.1\r\n\r\n",
	  "GET", "http://h?q", "", "q", "h", 11, 0 },
	{ "absolute-form uppercase scheme, https, IPv6",
	  "GET HTTPS://[2001:db8::1]:443/ HTTP/1.1\r\n\r\n",
	  "GET", "HTTPS://[2001:db8::1]:443/", "/", "", "[2001:db8::1]:443", 11, 0 },
	{ "asterisk-form OPTIONS",
	  "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	  "OPTIONS", "*", "*", "", "h", 11, 1 },
	{ "authority-form CONNECT",
	  "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	  "CONNECT", "example.com:443", "", "", "example.com:443", 11, 1 },
	{ "authority-form CONNECT IPv6",
	  "CONNECT [::1]:8443 HTTP/1.1\r\n\r\n",
	  "CONNECT", "[::1]:8443", "", "", "[::1]:8443", 11, 0 },
	{ "bare LF line endings",
	  "GET /lf HTTP/1.1\nHost: h\nX-A: 1\n\n",
	  "GET", "/lf", "/lf", "", "h", 11, 2 },
	{ "mixed CRLF and LF",
	  "GET /m HTTP/1.1\r\nHost: h\nX: y\r\n\n",
	  "GET", "/m", "/m", "", "h", 11, 2 },
	{ "OWS around the value is trimmed",
	  "GET / HTTP/1.1\r\nHost: \t h.example \t \r\n\r\n",
	  "GET", "/", "/", "", "h.example", 11, 1 },
	{ "Host without OWS, odd name case",
	  "GET / HTTP/1.1\r\nhOsT:h:81\r\n\r\n",
	  "GET", "/", "/", "", "h:81", 11, 1 },
	{ "Host with port",
	  "GET / HTTP/1.1\r\nHost: reviews.default.svc.cluster.local:9080\r\n\r\n",
	  "GET", "/", "/", "", "reviews.default.svc.cluster.local:9080", 11, 1 },
	{ "Host IPv6 literal",
	  "GET / HTTP/1.1\r\nHost: [fe80::1]:80\r\n\r\n",
	  "GET", "/", "/", "", "[fe80::1]:80", 11, 1 },
	{ "empty Host value",
	  "GET / HTTP/1.1\r\nHost:\r\n\r\n",
	  "GET", "/", "/", "", "", 11, 1 },
	{ "duplicate Host, same value up to case",
	  "GET / HTTP/1.1\r\nHost: a.b\r\nX: 1\r\nHOST: A.B\r\n\r\n",
	  "GET", "/", "/", "", "a.b", 11, 3 },	/* the first line's bytes */
	{ "empty header value",
	  "GET / HTTP/1.1\r\nX-Empty:\r\nX-Blank:   \r\nHost: h\r\n\r\n",
	  "GET", "/", "/", "", "h", 11, 3 },
	{ "obs-text and inner spaces in a value",
	  "GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9  au lait\r\nDate: Tue, 15 Nov 1994 08:12:31 GMT\r\n\r\n",
	  "GET", "/", "/", "", "", 11, 2 },
	{ "every tchar in a name and a method",
	  "M-SEARCH!#$%&'*+.^_`|~09 / HTTP/1.1\r\nX!#$%&'*+-.^_`|~09az: v\r\n\r\n",
	  "M-SEARCH!#$%&'*+.^_`|~09", "/", "/", "", "", 11, 1 },
	{ "POST with a body length",
	  "POST /api/v1/items HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n",
	  "POST", "/api/v1/items", "/api/v1/items", "", "api", 11, 3 },
	{ "curl-like request",
	  "GET /productpage?u=normal HTTP/1.1\r\nHost: productpage:9080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nx-request-id: 1f2e\r\nend-user: jason\r\n\r\n",
	  "GET", "/productpage?u=normal", "/productpage", "u=normal", "productpage:9080", 11, 5 },
};

static void test_valid(void **state)
{
	const struct valid_case *c = *state;
	size_t n = strlen(c->head);
	struct km_http_req r;
	int ret = parse_n(c->head, n, &r);

	EXPECT(c->name, ret == 0, "parse returned %d", ret);
	EXPECT(c->name, r.head_len == n, "head_len %u, want %zu", r.head_len, n);
	EXPECT(c->name, span_is(c->head, r.method, c->method), "method '%s'",
	       span_str(c->head, r.method));
	EXPECT(c->name, span_is(c->head, r.target, c->target), "target '%s'",
	       span_str(c->head, r.target));
	EXPECT(c->name, span_is(c->head, r.path, c->path), "path '%s'",
	       span_str(c->head, r.path));
	EXPECT(c->name, span_is(c->head, r.query, c->query), "query '%s'",
	       span_str(c->head, r.query));
	EXPECT(c->name, span_is(c->head, r.host, c->host), "host '%s'",
	       span_str(c->head, r.host));
	EXPECT(c->name, r.version == c->version, "version %u", r.version);
	EXPECT(c->name, r.n_headers == c->n_headers, "n_headers %u", r.n_headers);
	check_spans_inside(c->name, &r);
}

/* Bytes after the head are never read: a body, a pipelined request, junk
 * that would be invalid in a head, or exactly KM_HTTP_MAX_HEAD bytes. */
static void test_trailing_ignored(void **state)
{
	static const struct {
		const char *s;
		size_t n;
	} tails[] = {
#define T(x) { x, sizeof(x) - 1 }
		T("{\"k\": 1}"),
		T("GET /second HTTP/1.1\r\nHost: other\r\n\r\n"),
		T("\r\0\x01 \t:"),
		T("\n"),
#undef T
	};
	const struct valid_case *c = *state;
	size_t n = strlen(c->head);
	struct km_http_req want, got;
	char *buf = malloc(KM_HTTP_MAX_HEAD + n + 64);

	assert_non_null(buf);
	assert_int_equal(parse_n(c->head, n, &want), 0);
	memcpy(buf, c->head, n);
	for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
		memcpy(buf + n, tails[t].s, tails[t].n);
		EXPECT(c->name, parse_n(buf, n + tails[t].n, &got) == 0,
		       "tail %zu", t);
		EXPECT(c->name, memcmp(&want, &got, sizeof(want)) == 0,
		       "tail %zu changed the result", t);
	}
	memset(buf + n, 'x', KM_HTTP_MAX_HEAD);
	EXPECT(c->name, parse_n(buf, n + KM_HTTP_MAX_HEAD, &got) == 0,
	       "long tail");
	EXPECT(c->name, memcmp(&want, &got, sizeof(want)) == 0,
	       "long tail changed the result");
	free(buf);
}

/* The deferred-connect rule: a head split across writes is INCOMPLETE at
 * every cut, never an error and never a head. */
static void test_every_prefix_incomplete(void **state)
{
	const struct valid_case *c = *state;
	size_t n = strlen(c->head);
	struct km_http_req r;

	for (size_t k = 0; k < n; k++) {
		int ret = parse_n(c->head, k, &r);

		EXPECT(c->name, ret == KM_HTTP_INCOMPLETE,
		       "prefix of %zu bytes returned %d", k, ret);
	}
}

/* ---- inputs that are not a complete valid head --------------------------- */

struct result_case {
	const char *name;
	const char *buf;
	size_t len;		/* 0: strlen(buf) */
	int want;
};

#define R(name, buf, want) { name, buf, 0, want }
#define RN(name, buf, want) { name, buf, sizeof(buf) - 1, want }

static const struct result_case result_cases[] = {
	R("empty method", " / HTTP/1.1\r\n\r\n", -EINVAL),
	R("leading empty line", "\r\nGET / HTTP/1.1\r\n\r\n", -EINVAL),
	R("leading LF", "\nGET / HTTP/1.1\r\n\r\n", -EINVAL),
	R("non-tchar in method", "GE(T / HTTP/1.1\r\n\r\n", -EINVAL),
	R("TAB after method", "GET\t/ HTTP/1.1\r\n\r\n", -EINVAL),
	R("two SP after method", "GET  / HTTP/1.1\r\n\r\n", -EINVAL),
	R("two SP before version", "GET /  HTTP/1.1\r\n\r\n", -EINVAL),
	R("no target (HTTP/0.9-like)", "GET /\r\n\r\n", -EINVAL),
	R("method only", "GET\r\n\r\n", -EINVAL),
	R("lowercase version", "GET / http/1.1\r\n\r\n", -EINVAL),
	R("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", -EINVAL),
	R("HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", -EINVAL),
	R("HTTP/1.10", "GET / HTTP/1.10\r\n\r\n", -EINVAL),
	R("SP after version", "GET / HTTP/1.1 \r\n\r\n", -EINVAL),
	R("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", -EINVAL),
	RN("TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", -EINVAL),
	R("control byte in target", "GET /a\x01z HTTP/1.1\r\n\r\n", -EINVAL),
	R("DEL in target", "GET /a\x7fz HTTP/1.1\r\n\r\n", -EINVAL),
	R("non-ASCII in target", "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", -EINVAL),
	RN("NUL in target", "GET /a\0b HTTP/1.1\r\n\r\n", -EINVAL),
	R("relative target", "GET a/b HTTP/1.1\r\n\r\n", -EINVAL),
	R("asterisk with GET", "GET * HTTP/1.1\r\n\r\n", -EINVAL),
	R("asterisk with more", "OPTIONS *x HTTP/1.1\r\n\r\n", -EINVAL),
	R("asterisk with OPTIONSX", "OPTIONSX * HTTP/1.1\r\n\r\n", -EINVAL),
	R("asterisk with lowercase options", "options * HTTP/1.1\r\n\r\n", -EINVAL),
	R("authority-form with lowercase connect", "connect h:443 HTTP/1.1\r\n\r\n", -EINVAL),
	R("CONNECT origin-form", "CONNECT / HTTP/1.1\r\n\r\n", -EINVAL),
	R("CONNECT without port", "CONNECT example.com HTTP/1.1\r\n\r\n", -EINVAL),
	R("CONNECT empty port", "CONNECT example.com: HTTP/1.1\r\n\r\n", -EINVAL),
	R("CONNECT absolute-form", "CONNECT http://h:1/ HTTP/1.1\r\n\r\n", -EINVAL),
	R("authority-form with GET", "GET example.com:80 HTTP/1.1\r\n\r\n", -EINVAL),
	R("absolute-form empty host", "GET http:///x HTTP/1.1\r\n\r\n", -EINVAL),
	R("absolute-form userinfo", "GET http://user@evil/ HTTP/1.1\r\n\r\n", -EINVAL),
	R("absolute-form bad port", "GET http://h:8a/ HTTP/1.1\r\n\r\n", -EINVAL),
	R("absolute-form unclosed IPv6", "GET http://[::1/ HTTP/1.1\r\n\r\n", -EINVAL),
	R("scheme starts with digit", "GET 1http://h/ HTTP/1.1\r\n\r\n", -EINVAL),
	R("scheme without //", "GET http:h/ HTTP/1.1\r\n\r\n", -EINVAL),
	R("bare CR ends request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", -EINVAL),
	R("bare CR in a value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", -EINVAL),
	R("bare CR as the empty line", "GET / HTTP/1.1\r\nX: a\r\n\rX\n", -EINVAL),
	R("SP before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", -EINVAL),
	R("TAB before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", -EINVAL),
	R("obs-fold", "GET / HTTP/1.1\r\nX: a\r\n  b\r\n\r\n", -EINVAL),
	R("obs-fold with TAB", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", -EINVAL),
	R("SP right after request line", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", -EINVAL),
	R("empty field name", "GET / HTTP/1.1\r\n: v\r\n\r\n", -EINVAL),
	R("non-tchar in field name", "GET / HTTP/1.1\r\nX(y: v\r\n\r\n", -EINVAL),
	R("field line without colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", -EINVAL),
	RN("NUL in a value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", -EINVAL),
	R("control byte in a value", "GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", -EINVAL),
	R("DEL in a value", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", -EINVAL),
	R("two Hosts, different", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -EINVAL),
	R("two Hosts, different port", "GET / HTTP/1.1\r\nHost: a:80\r\nHost: a\r\n\r\n", -EINVAL),
	R("two Hosts, one empty", "GET / HTTP/1.1\r\nHost:\r\nHost: a\r\n\r\n", -EINVAL),
	R("two Hosts with absolute-form", "GET http://t/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -EINVAL),
	R("Host with SP inside", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", -EINVAL),
	R("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", -EINVAL),
	R("Host with path", "GET / HTTP/1.1\r\nHost: h/x\r\n\r\n", -EINVAL),
	R("Host with bad port", "GET / HTTP/1.1\r\nHost: h:8x\r\n\r\n", -EINVAL),
	R("Host port only", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", -EINVAL),
	R("Host empty IPv6", "GET / HTTP/1.1\r\nHost: []\r\n\r\n", -EINVAL),
	/* incomplete: no byte is wrong yet, the head has not ended */
	R("nothing", "", KM_HTTP_INCOMPLETE),
	R("method only, cut", "OPTIONS", KM_HTTP_INCOMPLETE),
	R("cut after a CR", "GET / HTTP/1.1\r\nHost: h\r", KM_HTTP_INCOMPLETE),
	R("no empty line yet", "GET / HTTP/1.1\r\nHost: h\r\n", KM_HTTP_INCOMPLETE),
	/* whole-element checks wait for the element to end */
	R("unfinished bad target", "GET http://user@evil/", KM_HTTP_INCOMPLETE),
	R("unfinished bad Host", "GET / HTTP/1.1\r\nHost: u@h", KM_HTTP_INCOMPLETE),
	/* byte-level errors are found before the head ends */
	R("bad version, cut", "GET / HTTP/2", -EINVAL),
	R("obs-fold, cut", "GET / HTTP/1.1\r\nX: a\r\n ", -EINVAL),
};

static void test_result(void **state)
{
	const struct result_case *c = *state;
	size_t n = c->len ? c->len : strlen(c->buf);
	struct km_http_req r;
	int ret = parse_n(c->buf, n, &r);

	EXPECT(c->name, ret == c->want, "returned %d, want %d", ret, c->want);
}

/* ---- limits ------------------------------------------------------------- */

/* A head with n "X-Hn: v" lines. */
static size_t head_with_headers(char *buf, size_t size, int n)
{
	size_t p = (size_t)snprintf(buf, size, "GET / HTTP/1.1\r\n");

	for (int i = 0; i < n; i++)
		p += (size_t)snprintf(buf + p, size - p, "X-H%d: v%d\r\n", i, i);
	p += (size_t)snprintf(buf + p, size - p, "\r\n");
	return p;
}

static void test_max_headers(void **state)
{
	char buf[2048];
	struct km_http_req r;
	size_t n = head_with_headers(buf, sizeof(buf), KM_HTTP_MAX_HEADERS);
	int idx;

	assert_int_equal(parse_n(buf, n, &r), 0);
	assert_int_equal(r.n_headers, KM_HTTP_MAX_HEADERS);
	assert_int_equal(r.head_len, n);
	idx = km_http_header(&r, buf, "x-h31", 5);
	assert_int_equal(idx, 31);
	assert_true(span_is(buf, r.headers[idx].value, "v31"));
	check_spans_inside("max headers", &r);
}

static void test_over_max_headers(void **state)
{
	char buf[2048];
	struct km_http_req r;
	size_t n = head_with_headers(buf, sizeof(buf), KM_HTTP_MAX_HEADERS + 1);
	size_t cut = n - strlen("X-H32: v32\r\n\r\n");

	assert_int_equal(parse_n(buf, n, &r), -E2BIG);
	/* the limit is known from the first byte of the 33rd line */
	assert_int_equal(parse_n(buf, cut + 1, &r), -E2BIG);
	/* 32 lines and no end yet: a 33rd line or the empty line may follow */
	assert_int_equal(parse_n(buf, cut, &r), KM_HTTP_INCOMPLETE);
}

/* "GET /aaa...a HTTP/1.1\r\nHost: h\r\n\r\n", exactly len bytes long. */
static char *head_of_len(size_t len)
{
	static const char pre[] = "GET /", post[] = " HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t fixed = strlen(pre) + strlen(post);
	char *b = malloc(len + KM_HTTP_MAX_HEAD);

	assert_non_null(b);
	assert_true(len > fixed);
	memcpy(b, pre, strlen(pre));
	memset(b + strlen(pre), 'a', len - fixed);
	memcpy(b + len - strlen(post), post, strlen(post));
	memset(b + len, 'z', KM_HTTP_MAX_HEAD);
	return b;
}

static void test_head_exactly_max(void **state)
{
	char *b = head_of_len(KM_HTTP_MAX_HEAD);
	struct km_http_req r;

	assert_int_equal(parse_n(b, KM_HTTP_MAX_HEAD, &r), 0);
	assert_int_equal(r.head_len, KM_HTTP_MAX_HEAD);
	assert_int_equal(r.path.len, KM_HTTP_MAX_HEAD - 26);
	assert_true(span_is(b, r.host, "h"));
	/* more bytes in the write change nothing */
	assert_int_equal(parse_n(b, KM_HTTP_MAX_HEAD + 100, &r), 0);
	assert_int_equal(r.head_len, KM_HTTP_MAX_HEAD);
	/* the rule holds for the longest head too */
	for (size_t k = 0; k < KM_HTTP_MAX_HEAD; k++)
		if (parse_n(b, k, &r) != KM_HTTP_INCOMPLETE)
			fail_msg("prefix of %zu bytes of a max head", k);
	free(b);
}

static void test_head_over_max(void **state)
{
	char *b = head_of_len(KM_HTTP_MAX_HEAD + 1);
	struct km_http_req r;

	assert_int_equal(parse_n(b, KM_HTTP_MAX_HEAD + 1, &r), -E2BIG);
	assert_int_equal(parse_n(b, KM_HTTP_MAX_HEAD + 500, &r), -E2BIG);
	/* KM_HTTP_MAX_HEAD bytes without an end: no continuation can fit */
	assert_int_equal(parse_n(b, KM_HTTP_MAX_HEAD, &r), -E2BIG);
	assert_int_equal(parse_n(b, KM_HTTP_MAX_HEAD - 1, &r), KM_HTTP_INCOMPLETE);
	free(b);

	/* the limit also ends an endless header value */
	b = malloc(3 * KM_HTTP_MAX_HEAD);
	assert_non_null(b);
	memcpy(b, "GET / HTTP/1.1\r\nX: ", 19);
	memset(b + 19, 'v', 3 * KM_HTTP_MAX_HEAD - 19);
	assert_int_equal(parse_n(b, 3 * KM_HTTP_MAX_HEAD, &r), -E2BIG);
	assert_int_equal(parse_n(b, 2000, &r), KM_HTTP_INCOMPLETE);
	free(b);
}

/* ---- header lookup ------------------------------------------------------- */

static const char lookup_head[] =
	"GET / HTTP/1.1\r\n"
	"Host: h\r\n"
	"X-Route: first\r\n"
	"x-route: second\r\n"
	"Accept: */*\r\n"
	"X-Empty:\r\n"
	"\r\n";

struct lookup_case {
	const char *name;	/* looked up */
	int want;		/* index or -ENOENT */
	const char *value;	/* expected value when found */
};

static const struct lookup_case lookup_cases[] = {
	{ "Host", 0, "h" },
	{ "host", 0, "h" },
	{ "HOST", 0, "h" },
	{ "x-route", 1, "first" },	/* first match wins */
	{ "X-ROUTE", 1, "first" },
	{ "accept", 3, "*/*" },
	{ "x-empty", 4, "" },
	{ "x-rout", -ENOENT, NULL },	/* a prefix of a name is not the name */
	{ "x-routes", -ENOENT, NULL },
	{ "x_route", -ENOENT, NULL },
	{ "", -ENOENT, NULL },
	{ "absent", -ENOENT, NULL },
};

static void test_lookup(void **state)
{
	const struct lookup_case *c = *state;
	struct km_http_req r;
	char *b = dup_exact(lookup_head, sizeof(lookup_head) - 1);
	char *name = dup_exact(c->name, strlen(c->name));
	int idx;

	memset(&r, 0, sizeof(r));
	assert_int_equal(km_http_parse(b, sizeof(lookup_head) - 1, &r), 0);
	idx = km_http_header(&r, b, name, (__u32)strlen(c->name));
	EXPECT(c->name, idx == c->want, "index %d, want %d", idx, c->want);
	if (idx >= 0)
		EXPECT(c->name, span_is(b, r.headers[idx].value, c->value),
		       "value '%s'", span_str(b, r.headers[idx].value));
	free(name);
	free(b);
}

/* ---- string matching ----------------------------------------------------- */

struct match_case {
	const char *s, *pat;
	__u32 kind;
	bool want;
};

#define IC KM_MATCH_ICASE
static const struct match_case match_cases[] = {
	{ "/api", "/api", KM_MATCH_EXACT, true },
	{ "/api", "/API", KM_MATCH_EXACT, false },
	{ "/api", "/API", KM_MATCH_EXACT | IC, true },
	{ "/api", "/ap", KM_MATCH_EXACT, false },
	{ "/ap", "/api", KM_MATCH_EXACT, false },
	{ "", "", KM_MATCH_EXACT, true },
	{ "a", "", KM_MATCH_EXACT, false },
	{ "", "a", KM_MATCH_EXACT, false },
	{ "/api/v1", "/api", KM_MATCH_PREFIX, true },
	{ "/API/v1", "/api", KM_MATCH_PREFIX, false },
	{ "/API/v1", "/api", KM_MATCH_PREFIX | IC, true },
	{ "/ap", "/api", KM_MATCH_PREFIX, false },
	{ "/v1/api", "/api", KM_MATCH_PREFIX, false },
	{ "anything", "", KM_MATCH_PREFIX, true },
	{ "", "", KM_MATCH_PREFIX, true },
	{ "index.html", ".html", KM_MATCH_SUFFIX, true },
	{ "index.HTML", ".html", KM_MATCH_SUFFIX, false },
	{ "index.HTML", ".html", KM_MATCH_SUFFIX | IC, true },
	{ "html", ".html", KM_MATCH_SUFFIX, false },
	{ "x.html.gz", ".html", KM_MATCH_SUFFIX, false },
	{ "anything", "", KM_MATCH_SUFFIX, true },
	{ "", "", KM_MATCH_SUFFIX, true },
	{ "Mozilla/5.0 (X11) Firefox", "Firefox", KM_MATCH_CONTAINS, true },
	{ "Mozilla/5.0 (X11) Firefox", "firefox", KM_MATCH_CONTAINS, false },
	{ "Mozilla/5.0 (X11) Firefox", "FIREFOX", KM_MATCH_CONTAINS | IC, true },
	{ "aaab", "aab", KM_MATCH_CONTAINS, true },	/* restart after a near match */
	{ "abab", "bab", KM_MATCH_CONTAINS, true },
	{ "abc", "abc", KM_MATCH_CONTAINS, true },
	{ "abc", "abcd", KM_MATCH_CONTAINS, false },
	{ "abc", "x", KM_MATCH_CONTAINS, false },
	{ "anything", "", KM_MATCH_CONTAINS, true },
	{ "", "", KM_MATCH_CONTAINS, true },
	{ "", "a", KM_MATCH_CONTAINS, false },
	/* ICASE folds ASCII letters only */
	{ "[", "{", KM_MATCH_EXACT | IC, false },
	{ "@", "`", KM_MATCH_EXACT | IC, false },
	{ "\xc3\xa9", "\xc3\x89", KM_MATCH_EXACT | IC, false },
	{ "Z", "z", KM_MATCH_EXACT | IC, true },
	/* unknown kinds and flags never match */
	{ "a", "a", 0, false },
	{ "a", "a", 5, false },
	{ "a", "a", KM_MATCH_EXACT | 0x200, false },
	{ "a", "", IC, false },
};

static void test_match(void **state)
{
	const struct match_case *c = *state;
	char *s = dup_exact(c->s, strlen(c->s));
	char *p = dup_exact(c->pat, strlen(c->pat));
	bool got = km_str_match(s, (__u32)strlen(c->s), p, (__u32)strlen(c->pat),
				c->kind);

	if (got != c->want)
		fail_msg("match('%s', '%s', 0x%x) = %d", c->s, c->pat, c->kind, got);
	free(s);
	free(p);
}

/* ---- runner ---------------------------------------------------------------- */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct CMUnitTest *tests;
static size_t n_tests;
static char **names;

static void add(const char *kind, const char *row, CMUnitTestFunction f,
		const void *arg)
{
	char *name;

	assert_true(asprintf(&name, "%s: %s", kind, row) > 0);
	names[n_tests] = name;
	tests[n_tests++] = (struct CMUnitTest){
		.name = name, .test_func = f, .initial_state = (void *)arg,
	};
}

int main(void)
{
	const size_t max = 3 * NELEM(valid_cases) + NELEM(result_cases) +
			   NELEM(lookup_cases) + NELEM(match_cases) + 8;
	char row[160];
	int ret;

	tests = calloc(max, sizeof(*tests));
	names = calloc(max, sizeof(*names));
	if (!tests || !names)
		return 1;
	for (size_t i = 0; i < NELEM(valid_cases); i++) {
		const struct valid_case *c = &valid_cases[i];

		add("valid", c->name, test_valid, c);
		add("trailing bytes ignored", c->name, test_trailing_ignored, c);
		add("every prefix incomplete", c->name,
		    test_every_prefix_incomplete, c);
	}
	for (size_t i = 0; i < NELEM(result_cases); i++)
		add("result", result_cases[i].name, test_result, &result_cases[i]);
	add("limit", "32 headers", test_max_headers, NULL);
	add("limit", "33 headers", test_over_max_headers, NULL);
	add("limit", "head of exactly KM_HTTP_MAX_HEAD", test_head_exactly_max, NULL);
	add("limit", "head over KM_HTTP_MAX_HEAD", test_head_over_max, NULL);
	for (size_t i = 0; i < NELEM(lookup_cases); i++)
		add("header lookup", lookup_cases[i].name[0] ?
		    lookup_cases[i].name : "(empty)", test_lookup,
		    &lookup_cases[i]);
	for (size_t i = 0; i < NELEM(match_cases); i++) {
		const struct match_case *c = &match_cases[i];

		snprintf(row, sizeof(row), "'%s' ~ '%s' kind 0x%x", c->s, c->pat,
			 c->kind);
		add("str_match", row, test_match, c);
	}

	ret = _cmocka_run_group_tests("http_parse", tests, n_tests, NULL, NULL);
	for (size_t i = 0; i < n_tests; i++)
		free(names[i]);
	free(names);
	free(tests);
	return ret;
}
