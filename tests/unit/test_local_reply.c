// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Local replies (model/local_reply.h, dataplane/responder.c): the Location
 * table from Envoy's rules (source/common/http/utility.cc newUri and
 * processRequestHost, prefix_rewrite from config_impl.cc), the response
 * bytes, the targets a route gets (fault abort percentages), the YAML
 * reader and compiler, and the responder over loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "compiler.h"
#include "config_yaml.h"
#include "local_reply.h"
#include "responder.h"
#include "kmesh/route_table.h"

/* ---- Location ---------------------------------------------------------- */

struct loc_case {
	const char *name;
	struct km_m_reply r;
	const char *host, *path;
	const char *want;
};

static void test_location_table(void **state)
{
	(void)state;
	static const struct loc_case t[] = {
		{ "https_redirect keeps host and path",
		  { .scheme = "https" }, "example.com", "/foo",
		  "https://example.com/foo" },
		{ "https_redirect drops :80 (the http default port)",
		  { .scheme = "https" }, "example.com:80", "/foo",
		  "https://example.com/foo" },
		{ "https_redirect keeps another port",
		  { .scheme = "https" }, "example.com:8080", "/foo",
		  "https://example.com:8080/foo" },
		{ "https_redirect keeps :443 (not the request scheme's)",
		  { .scheme = "https" }, "example.com:443", "/",
		  "https://example.com:443/" },
		{ "same scheme keeps :80", { .host = NULL },
		  "example.com:80", "/a", "http://example.com:80/a" },
		{ "host_redirect replaces host and port",
		  { .host = "new.example.com" }, "old.example.com:8080", "/a?b=1",
		  "http://new.example.com/a?b=1" },
		{ "port_redirect replaces the request's port",
		  { .port = 8443 }, "a.com:8080", "/x",
		  "http://a.com:8443/x" },
		{ "port_redirect on an IPv6 Host",
		  { .port = 8443 }, "[fd00::1]:80", "/x",
		  "http://[fd00::1]:8443/x" },
		{ "IPv6 Host without port keeps its colons",
		  { .scheme = "https" }, "[fd00::1]", "/x",
		  "https://[fd00::1]/x" },
		{ "host and port redirect", { .host = "b.com", .port = 9000 },
		  "a.com:8080", "/x", "http://b.com:9000/x" },
		{ "path_redirect keeps the request's query",
		  { .path = "/new" }, "a.com", "/old?x=1",
		  "http://a.com/new?x=1" },
		{ "path_redirect's own query wins",
		  { .path = "/new?y=2" }, "a.com", "/old?x=1",
		  "http://a.com/new?y=2" },
		{ "strip_query with path_redirect",
		  { .path = "/new", .strip_query = true }, "a.com", "/old?x=1",
		  "http://a.com/new" },
		{ "strip_query never strips path_redirect's query",
		  { .path = "/new?y=2", .strip_query = true }, "a.com", "/old?x=1",
		  "http://a.com/new?y=2" },
		{ "strip_query alone", { .strip_query = true }, "a.com",
		  "/a?b=1", "http://a.com/a" },
		{ "path_redirect without a slash gets one", { .path = "new" },
		  "a.com", "/old", "http://a.com/new" },
		{ "prefix_rewrite swaps the matched prefix",
		  { .prefix = "/v2/", .matched = "/v1/" }, "a.com", "/v1/a?b=1",
		  "http://a.com/v2/a?b=1" },
		{ "prefix_rewrite to /", { .prefix = "/", .matched = "/old/" },
		  "a.com", "/old/a", "http://a.com/a" },
		{ "prefix_rewrite of an exact path",
		  { .prefix = "/new", .matched = "/old" }, "a.com", "/old?q",
		  "http://a.com/new?q" },
		{ "prefix_rewrite and strip_query",
		  { .prefix = "/v2", .matched = "/v1", .strip_query = true },
		  "a.com", "/v1/x?y", "http://a.com/v2/x" },
		{ "https, host and prefix rewrite",
		  { .scheme = "https", .host = "new.example.com",
		    .prefix = "/new/", .matched = "/old/" },
		  "old.example.com", "/old/page?x=1",
		  "https://new.example.com/new/page?x=1" },
		{ "scheme_redirect", { .scheme = "ftp" }, "a.com:80", "/",
		  "ftp://a.com/" },
		{ "no Host (HTTP/1.0)", { .scheme = "https" }, NULL, "/a",
		  "https:///a" },
	};
	char buf[512];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct km_m_reply r = t[i].r;
		struct km_reply_req q = { .host = t[i].host, .path = t[i].path };
		int n;

		r.kind = KM_REPLY_REDIRECT;
		r.status = 301;
		n = km_reply_location(&r, &q, buf, sizeof(buf));
		if (n < 0 || strcmp(buf, t[i].want))
			fail_msg("%s: got '%s' (%d), want '%s'", t[i].name, buf,
				 n, t[i].want);
	}
	assert_int_equal(km_reply_location(&t[0].r,
					   &(struct km_reply_req){ "a", "/", false },
					   buf, 8), -ENOSPC);
}

/* ---- response bytes ----------------------------------------------------- */

#define DATE "Mon, 07 Dec 2026 20:00:00 GMT"

static void expect_reply(const struct km_m_reply *r, const char *host,
			 const char *path, bool head, const char *want)
{
	struct km_reply_req q = { .host = host, .path = path, .head = head };
	char buf[2048];
	int n = km_reply_format(r, &q, DATE, buf, sizeof(buf));

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_format(void **state)
{
	(void)state;
	struct km_m_reply direct = { .kind = KM_REPLY_DIRECT, .status = 200,
				     .body = "hello\n", .body_len = 6 };
	struct km_m_reply block = { .kind = KM_REPLY_DIRECT, .status = 502 };
	struct km_m_reply redir = { .kind = KM_REPLY_REDIRECT, .status = 301,
				    .scheme = "https", .host = "new.example.com",
				    .prefix = "/new/", .matched = "/old/" };
	struct km_m_reply abort = { .kind = KM_REPLY_ABORT, .status = 503 };
	struct km_m_reply odd = { .kind = KM_REPLY_DIRECT, .status = 299 };

	expect_reply(&direct, "a.com", "/", false,
		     "HTTP/1.1 200 OK\r\n"
		     "content-length: 6\r\n"
		     "content-type: text/plain\r\n"
		     "date: " DATE "\r\n"
		     "server: kmesh\r\n"
		     "connection: close\r\n"
		     "\r\n"
		     "hello\n");
	/* HEAD: the same headers, no body */
	expect_reply(&direct, "a.com", "/", true,
		     "HTTP/1.1 200 OK\r\n"
		     "content-length: 6\r\n"
		     "content-type: text/plain\r\n"
		     "date: " DATE "\r\n"
		     "server: kmesh\r\n"
		     "connection: close\r\n"
		     "\r\n");
	/* REGISTRY_ONLY's block_all: 502, no body */
	expect_reply(&block, "x.external.com", "/", false,
		     "HTTP/1.1 502 Bad Gateway\r\n"
		     "date: " DATE "\r\n"
		     "server: kmesh\r\n"
		     "content-length: 0\r\n"
		     "connection: close\r\n"
		     "\r\n");
	expect_reply(&redir, "old.example.com", "/old/a?b", false,
		     "HTTP/1.1 301 Moved Permanently\r\n"
		     "location: https://new.example.com/new/a?b\r\n"
		     "date: " DATE "\r\n"
		     "server: kmesh\r\n"
		     "content-length: 0\r\n"
		     "connection: close\r\n"
		     "\r\n");
	expect_reply(&abort, "a.com", "/", false,
		     "HTTP/1.1 503 Service Unavailable\r\n"
		     "content-length: 18\r\n"
		     "content-type: text/plain\r\n"
		     "date: " DATE "\r\n"
		     "server: kmesh\r\n"
		     "connection: close\r\n"
		     "\r\n"
		     "fault filter abort");
	expect_reply(&odd, "a", "/", false,
		     "HTTP/1.1 299 Unknown\r\n"
		     "date: " DATE "\r\n"
		     "server: kmesh\r\n"
		     "content-length: 0\r\n"
		     "connection: close\r\n"
		     "\r\n");
}

static void test_addr(void **state)
{
	(void)state;
	unsigned int tag;
	uint32_t id;

	assert_true(km_reply_of_addr(km_reply_addr(1, 7), &tag, &id));
	assert_int_equal(tag, 1);
	assert_int_equal(id, 7);
	assert_true(km_reply_of_addr(km_reply_addr(0, KM_REPLY_MAX_IDS), &tag, &id));
	assert_int_equal(tag, 0);
	assert_int_equal(id, KM_REPLY_MAX_IDS);
	assert_false(km_reply_of_addr(0x7f000001u, &tag, &id));	/* 127.0.0.1 */
	assert_false(km_reply_of_addr(km_reply_addr(0, 0), &tag, &id));
}

/* ---- targets ----------------------------------------------------------- */

static int ids_cluster(void *ctx, const char *name, uint32_t *id)
{
	(void)ctx;
	*id = (uint32_t)(name[0] - 'a');
	return 0;
}

static int ids_abort(void *ctx, uint16_t status, uint32_t *id)
{
	(void)ctx;
	*id = 1000 + status;
	return 0;
}

static void test_targets(void **state)
{
	(void)state;
	struct km_m_weighted w[2] = { { .cluster = "a", .weight = 3 },
				      { .cluster = "b", .weight = 1 } };
	struct km_m_action a = { .n_clusters = 2, .clusters = w };
	struct km_m_fault chain = { .filter = true };
	const struct km_target_ids ids = { .cluster = ids_cluster,
					   .abort = ids_abort };
	uint32_t id[8], cum[8], total;
	long bad;

	/* no filter in the chain: a route's fault config does nothing */
	a.abort = (struct km_m_abort){ .set = true, .status = 503, .num = 1,
				       .den = 100 };
	assert_null(km_abort_for(&a, &(struct km_m_fault){ 0 }));
	assert_null(km_abort_for(&a, NULL));
	/* 0% aborts nothing */
	a.abort.num = 0;
	assert_null(km_abort_for(&a, &chain));
	/* 25%: abort first with 1 x 4, then a and b scaled by 3 */
	a.abort.num = 25;
	assert_int_equal(km_action_n_targets(&a, km_abort_for(&a, &chain)), 3);
	assert_int_equal(km_action_targets(&a, km_abort_for(&a, &chain), &ids,
					   id, cum, &total, &bad), 0);
	assert_int_equal(total, 16);
	assert_int_equal(id[0], 1503);
	assert_int_equal(cum[0], 4);
	assert_int_equal(id[1], 0);
	assert_int_equal(cum[1], 4 + 9);
	assert_int_equal(id[2], 1);
	assert_int_equal(cum[2], 16);
	/* 100% (in millionths): the abort only */
	a.abort.num = a.abort.den = 1000000;
	assert_int_equal(km_action_n_targets(&a, km_abort_for(&a, &chain)), 1);
	assert_int_equal(km_action_targets(&a, km_abort_for(&a, &chain), &ids,
					   id, cum, &total, &bad), 0);
	assert_int_equal(total, 1);
	assert_int_equal(id[0], 1503);
	/* the route's own config replaces the listener's abort */
	chain.abort = (struct km_m_abort){ .status = 500, .num = 1, .den = 1 };
	a.abort = (struct km_m_abort){ .set = true };
	assert_null(km_abort_for(&a, &chain));
	a.abort.set = false;
	assert_int_equal(km_abort_for(&a, &chain)->status, 500);
	/* weights that overflow once scaled are refused, not wrapped */
	w[0].weight = KM_MAX_TOTAL_WEIGHT / 2;
	chain.abort = (struct km_m_abort){ .status = 503, .num = 1,
					   .den = 1000000 };
	assert_int_equal(km_action_targets(&a, km_abort_for(&a, &chain), &ids,
					   id, cum, &total, &bad), -ERANGE);
}

/* ---- reader and compiler --------------------------------------------------- */

#define CFG(routes, filters)                                                   \
	"static_resources:\n"                                                  \
	"  listeners:\n"                                                       \
	"  - name: web\n"                                                      \
	"    address: { socket_address: { address: 127.100.0.2, port_value: 80 } }\n" \
	"    filter_chains:\n"                                                 \
	"    - filters:\n"                                                     \
	"      - name: envoy.filters.network.http_connection_manager\n"        \
	"        typed_config:\n"                                              \
	"          stat_prefix: web\n"                                         \
	"          http_filters:\n" filters                                    \
	"          - name: envoy.filters.http.router\n"                        \
	"          route_config:\n"                                            \
	"            name: web\n"                                              \
	"            virtual_hosts:\n"                                         \
	"            - name: all\n"                                            \
	"              domains: [ \"*\" ]\n"                                   \
	"              routes:\n" routes                                       \
	"  clusters:\n"                                                        \
	"  - name: a\n"                                                        \
	"    load_assignment:\n"                                               \
	"      endpoints:\n"                                                   \
	"      - lb_endpoints:\n"                                              \
	"        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8081 } } }\n"

#define FAULT_FILTER "          - name: envoy.filters.http.fault\n"

#define ROUTES                                                                 \
	"              - match: { prefix: /direct }\n"                         \
	"                direct_response: { status: 200, body: { inline_string: \"hi\" } }\n" \
	"              - match: { prefix: /old/ }\n"                           \
	"                redirect: { https_redirect: true, host_redirect: n.com, prefix_rewrite: /new/, response_code: FOUND }\n" \
	"              - match: { prefix: /half }\n"                           \
	"                route: { cluster: a }\n"                              \
	"                typed_per_filter_config:\n"                           \
	"                  envoy.filters.http.fault:\n"                        \
	"                    \"@type\": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault\n" \
	"                    abort: { http_status: 503, percentage: { numerator: 500000, denominator: MILLION } }\n" \
	"              - match: { prefix: / }\n"                               \
	"                direct_response: { status: 502 }\n"

struct fx {
	struct km_model m;
	struct km_records r;
	struct km_err err;
};

static int load(struct fx *f, const char *yaml)
{
	memset(f, 0, sizeof(*f));
	return km_config_load_string("t.yaml", yaml, strlen(yaml), &f->m,
				     &f->err);
}

static void fx_free(struct fx *f)
{
	km_records_free(&f->r);
	km_model_free(&f->m);
}

static const struct km_rt_route *rt_route(const void *blob, size_t i)
{
	const struct km_rt_head *h = blob;
	const struct km_rt_vhost *v = (const void *)((const char *)blob +
						     h->vhost_off);

	return (const struct km_rt_route *)((const char *)blob + v->route_off) + i;
}

static const struct km_target *rt_targets(const void *blob,
					  const struct km_rt_route *r)
{
	return (const void *)((const char *)blob + r->target_off);
}

/* The endpoint of the synthetic cluster @cid: its reply id. */
static uint32_t reply_of(const struct km_records *r, uint32_t cid)
{
	unsigned int tag;
	uint32_t id = 0;

	for (size_t i = 0; i < r->n_endpoints; i++)
		if (r->ep_keys[i].cluster_id == cid) {
			assert_int_equal(ntohs(r->ep_vals[i].port),
					 KM_RESPONDER_PORT);
			assert_true(km_reply_of_addr(ntohl(r->ep_vals[i].addr.w[3]),
						     &tag, &id));
			assert_int_equal(tag, r->reply_tag);
		}
	return id;
}

static void test_compile(void **state)
{
	(void)state;
	const struct km_rt_route *rt;
	const struct km_target *t;
	struct fx f;
	uint32_t id;

	assert_int_equal(load(&f, CFG(ROUTES, FAULT_FILTER)), 0);
	f.m.reply_tag = 1;
	if (km_compile(&f.m, &f.r, &f.err))
		fail_msg("%s", f.err.msg);
	/* direct 200, redirect, abort 503, direct 502 */
	assert_int_equal(f.r.n_replies, 4);
	assert_int_equal(f.r.n_clusters, 1 + 4);
	assert_int_equal(f.r.n_routes, 1);

	rt = rt_route(f.r.route_blobs[0], 0);
	t = rt_targets(f.r.route_blobs[0], rt);
	assert_int_equal(rt->n_targets, 1);
	id = reply_of(&f.r, t[0].cluster_id);
	assert_int_equal(f.r.replies[id - 1]->kind, KM_REPLY_DIRECT);
	assert_int_equal(f.r.replies[id - 1]->status, 200);
	assert_int_equal(f.r.replies[id - 1]->body_len, 2);
	assert_string_equal(f.r.cluster_names[t[0].cluster_id],
			    "(direct_response 200)");

	rt = rt_route(f.r.route_blobs[0], 1);
	t = rt_targets(f.r.route_blobs[0], rt);
	id = reply_of(&f.r, t[0].cluster_id);
	assert_int_equal(f.r.replies[id - 1]->kind, KM_REPLY_REDIRECT);
	assert_int_equal(f.r.replies[id - 1]->status, 302);
	assert_string_equal(f.r.replies[id - 1]->scheme, "https");
	assert_string_equal(f.r.replies[id - 1]->matched, "/old/");

	/* 50%: the abort and cluster a, equal weights */
	rt = rt_route(f.r.route_blobs[0], 2);
	t = rt_targets(f.r.route_blobs[0], rt);
	assert_int_equal(rt->n_targets, 2);
	id = reply_of(&f.r, t[0].cluster_id);
	assert_int_equal(f.r.replies[id - 1]->kind, KM_REPLY_ABORT);
	assert_int_equal(f.r.replies[id - 1]->status, 503);
	assert_int_equal(t[1].cluster_id, 0);
	assert_int_equal(t[0].cum_weight * 2, t[1].cum_weight);
	assert_int_equal(rt->total_weight, t[1].cum_weight);

	/* the default route (served as L4 without kmesh.ko) is the 502 */
	id = reply_of(&f.r, f.r.fe_vals[0].targets[0].cluster_id);
	assert_int_equal(f.r.replies[id - 1]->status, 502);
	fx_free(&f);

	/* the listener's fault filter with its own abort: every route of the
	 * table gets it, and so does the L4 default route (a, 10%) */
	assert_int_equal(load(&f, CFG(
		"              - match: { prefix: / }\n"
		"                route: { cluster: a }\n",
		"          - name: envoy.filters.http.fault\n"
		"            typed_config:\n"
		"              \"@type\": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault\n"
		"              abort: { http_status: 429, percentage: { numerator: 10 } }\n"
		"              delay: { fixed_delay: 1s, percentage: { numerator: 10 } }\n")), 0);
	assert_true(f.m.listeners[0].chains[0].fault.filter);
	assert_int_equal(f.m.listeners[0].chains[0].not_enforced, KM_NE_FAULT);
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_replies, 1);
	assert_int_equal(f.r.replies[0]->kind, KM_REPLY_ABORT);
	assert_int_equal(f.r.replies[0]->status, 429);
	rt = rt_route(f.r.route_blobs[0], 0);
	t = rt_targets(f.r.route_blobs[0], rt);
	assert_int_equal(rt->n_targets, 2);
	assert_int_equal(t[0].cum_weight, 1);		/* 1/10 */
	assert_int_equal(rt->total_weight, 10);
	assert_int_equal(f.r.fe_vals[0].n_targets, 2);
	assert_int_equal(f.r.fe_vals[0].total_weight, 10);
	fx_free(&f);

	/* without the fault filter in the chain the abort does nothing */
	assert_int_equal(load(&f, CFG(ROUTES, "")), 0);
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_replies, 3);
	rt = rt_route(f.r.route_blobs[0], 2);
	assert_int_equal(rt->n_targets, 1);
	assert_int_equal(rt_targets(f.r.route_blobs[0], rt)[0].cluster_id, 0);
	fx_free(&f);
}

static void expect_refused(const char *routes, const char *want)
{
	struct fx f;
	char yaml[8192];
	int ret;

	snprintf(yaml, sizeof(yaml), CFG("%s", FAULT_FILTER), routes);
	ret = load(&f, yaml);
	if (!ret)
		ret = km_compile(&f.m, &f.r, &f.err);
	if (!ret)
		fail_msg("accepted, expected '%s'", want);
	if (!strstr(f.err.msg, want))
		fail_msg("got '%s', expected '%s'", f.err.msg, want);
	fx_free(&f);
}

static void test_refused(void **state)
{
	(void)state;
	expect_refused("              - match: { prefix: / }\n"
		       "                direct_response: { status: 200, body: { filename: /etc/passwd } }\n",
		       "filename is not supported");
	expect_refused("              - match: { prefix: / }\n"
		       "                direct_response: { status: 700 }\n",
		       "direct_response status 700 is out of range");
	expect_refused("              - match: { prefix: / }\n"
		       "                redirect: { path_redirect: /a, prefix_rewrite: /b }\n",
		       "mutually exclusive");
	expect_refused("              - match: { prefix: / }\n"
		       "                redirect: { response_code: 9 }\n",
		       "response_code");
	expect_refused("              - match: { prefix: / }\n"
		       "                route: { cluster: a }\n"
		       "                direct_response: { status: 200 }\n",
		       "mutually exclusive");
	expect_refused("              - match: { prefix: / }\n"
		       "                route: { cluster: a }\n"
		       "                typed_per_filter_config:\n"
		       "                  envoy.filters.http.fault:\n"
		       "                    abort: { grpc_status: 14 }\n",
		       "only http_status is supported");
	expect_refused("              - match: { prefix: / }\n"
		       "                route: { cluster: a }\n"
		       "                typed_per_filter_config:\n"
		       "                  envoy.filters.http.fault:\n"
		       "                    headers: [ { name: x, present_match: true } ]\n"
		       "                    abort: { http_status: 503 }\n",
		       "headers is not supported");
	expect_refused("              - match: { prefix: / }\n"
		       "                route: { cluster: a }\n"
		       "                typed_per_filter_config:\n"
		       "                  envoy.filters.http.cors: {}\n",
		       "per-route config of this filter is not supported");
}

/* ---- the responder over loopback ------------------------------------------ */

static int talk(uint32_t addr, const char *req, char *buf, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(km_responder_port()),
				  .sin_addr.s_addr = htonl(addr) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	return (int)got;
}

/* date: is the only header that changes */
static void strip_date(char *s)
{
	char *d = strstr(s, "date: "), *e = d ? strstr(d, "\r\n") : NULL;

	if (e)
		memmove(d, e + 2, strlen(e + 2) + 1);
}

static uint32_t id_of(const struct km_records *r, uint8_t kind,
		      uint16_t status)
{
	for (size_t i = 0; i < r->n_replies; i++)
		if (r->replies[i]->kind == kind && r->replies[i]->status == status)
			return (uint32_t)i + 1;
	fail_msg("no reply %u %u", kind, status);
	return 0;
}

static void test_responder(void **state)
{
	(void)state;
	struct km_err err = { 0 };
	uint32_t direct, redirect, abort;
	char buf[4096];
	struct fx f;

	assert_int_equal(load(&f, CFG(ROUTES, FAULT_FILTER)), 0);
	f.m.reply_tag = km_responder_next_tag();
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	if (km_responder_start(0, &err))	/* any free port */
		fail_msg("%s", err.msg);
	direct = id_of(&f.r, KM_REPLY_DIRECT, 200);
	redirect = id_of(&f.r, KM_REPLY_REDIRECT, 302);
	abort = id_of(&f.r, KM_REPLY_ABORT, 503);
	km_responder_install(&f.r);

	talk(km_reply_addr(f.r.reply_tag, direct),
	     "GET /direct HTTP/1.1\r\nHost: a.com\r\n\r\n", buf, sizeof(buf));
	strip_date(buf);
	assert_string_equal(buf, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"
			    "content-type: text/plain\r\nserver: kmesh\r\n"
			    "connection: close\r\n\r\nhi");
	/* the redirect, built from this request's Host and path */
	talk(km_reply_addr(f.r.reply_tag, redirect),
	     "GET /old/x%20y?q=1 HTTP/1.1\r\nHost: old.com:80\r\n\r\n", buf,
	     sizeof(buf));
	strip_date(buf);
	assert_string_equal(buf, "HTTP/1.1 302 Found\r\n"
			    "location: https://n.com/new/x%20y?q=1\r\n"
			    "server: kmesh\r\ncontent-length: 0\r\n"
			    "connection: close\r\n\r\n");
	/* a request with a body is read before the reply */
	talk(km_reply_addr(f.r.reply_tag, abort),
	     "POST /half HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
	     buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 503 Service Unavailable\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\nfault filter abort"));
	/* an address no table has: 503, counted unknown */
	talk(km_reply_addr(f.r.reply_tag ^ 1, 1),
	     "GET / HTTP/1.1\r\nHost: a\r\n\r\n", buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 503 "));
	km_responder_stop();
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_location_table),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_responder),
	};

	return cmocka_run_group_tests_name("local_reply", tests, NULL, NULL);
}
