// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * L7 routing end to end in userspace: Envoy YAML -> config_yaml.c -> model
 * -> km_route_build() -> blob -> explain (a real HTTP/1.1 head through
 * km_http_parse()) -> km_route_match(), the matcher kmesh.ko runs.
 *
 * Tables of rows, every row its own cmocka test named after it:
 *   - match rows: a request -> the virtual host, route and cluster expected
 *     (or NO_VHOST / NO_ROUTE), and for host rows the domain that won;
 *   - builder error rows: a config (YAML, or a model changed after loading
 *     where the YAML reader would refuse first) -> the exact error;
 *   - explain error rows: a bad request -> the exact error;
 *   - weighted splits counted over total_weight consecutive draws;
 *   - damaged blobs (every byte flipped, every truncation): km_route_match
 *     answers -EINVAL or a valid result, never reads outside the blob (each
 *     blob is copied to a heap buffer of exactly its length, so valgrind
 *     sees any over-read: valgrind --error-exitcode=1
 *     build/tests/test_route_match).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "config_yaml.h"
#include "explain.h"
#include "route_build.h"
#include "kmesh/http_parse.h"
#include "kmesh/route_match.h"

/*
 * The matcher once more, built without optimisation, for the read tracer
 * below: at -O0 every field the source reads is a load, so the tracer sees
 * the source's fetches, not what an optimiser happened to keep in a
 * register (which is no guarantee the kernel build keeps it there).
 */
#define km_route_match km_route_match_O0
#define km_route_pick_cluster km_route_pick_cluster_O0
#pragma GCC push_options
#pragma GCC optimize("O0")
#include "../../kmod/route_match.c"
#pragma GCC pop_options
#undef km_route_match
#undef km_route_pick_cluster

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- configs ------------------------------------------------------------------ */

/* A full static_resources file: listener "web" with an inline route config
 * "rc" made of vhosts, and clusters c1..c4. The vhosts start at line 14. */
#define CONFIG(vhosts)							\
	"static_resources:\n"						\
	"  listeners:\n"						\
	"  - name: web\n"						\
	"    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n" \
	"    filter_chains:\n"						\
	"    - filters:\n"						\
	"      - name: envoy.filters.network.http_connection_manager\n"	\
	"        typed_config:\n"					\
	"          \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\n" \
	"          stat_prefix: web\n"					\
	"          http_filters: [ { name: envoy.filters.http.router } ]\n" \
	"          route_config:\n"					\
	"            name: rc\n"					\
	"            virtual_hosts:\n"					\
	vhosts								\
	"  clusters:\n"							\
	CLUSTER("c1") CLUSTER("c2") CLUSTER("c3") CLUSTER("c4")

#define CLUSTER(n)							\
	"  - name: " n "\n"						\
	"    type: STATIC\n"						\
	"    load_assignment:\n"					\
	"      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 10.1.0.1, port_value: 80 } } } } ] } ]\n"

/* A route: name, match (flow mapping body), cluster */
#define R(name, match, cluster)						\
	"              - name: " name "\n"				\
	"                match: { " match " }\n"			\
	"                route: { cluster: " cluster " }\n"

#define VH(name, domains)						\
	"            - name: " name "\n"				\
	"              domains: " domains "\n"				\
	"              routes:\n"

/* Host selection: every form of domain, one route per vhost. */
static const char hosts_yaml[] = CONFIG(
	VH("exact", "[\"a.com\", \"a.com:8080\", \"[::1]\"]")
	R("r-exact", "prefix: /", "c1")
	VH("suffix-long", "[\"*.b.a.com\"]")
	R("r-suffix-long", "prefix: /", "c2")
	VH("suffix", "[\"*.A.com\", \"*-x.org\"]")
	R("r-suffix", "prefix: /", "c3")
	VH("prefix-long", "[\"www.a.*\"]")
	R("r-prefix-long", "prefix: /", "c4")
	VH("prefix", "[\"www.*\"]")
	R("r-prefix", "prefix: /", "c1")
	VH("any", "[\"*\"]")
	R("r-any", "prefix: /", "c2"));

/* No "*": a Host nobody lists has no virtual host. */
static const char noany_yaml[] = CONFIG(
	VH("only-a", "[\"a.com\"]")
	R("r-a", "prefix: /", "c1")
	VH("empty", "[\"e.com\"]"));

/* Path matching: no catch-all, so a path nobody matches has no route. */
static const char paths_yaml[] = CONFIG(
	VH("vh", "[\"*\"]")
	R("r-exact", "path: /exact", "c1")
	R("r-sep", "path_separated_prefix: /api", "c2")
	R("r-icase", "prefix: /Static, case_sensitive: false", "c3")
	R("r-prefix", "prefix: /p", "c4")
	R("r-root", "path: /", "c1"));

/* Header matching: the path picks the route under test; a failing header
 * falls through to "fallback". */
#define H(name, path, headers, cluster)					\
	R(name, "prefix: " path ", headers: [ " headers " ]", cluster)
static const char headers_yaml[] = CONFIG(
	VH("vh", "[\"*\"]")
	H("h-exact", "/exact/", "{ name: x-h, exact_match: \"Yes\" }", "c1")
	H("h-exact-ic", "/exact-ic", "{ name: x-h, string_match: { exact: \"yes\", ignore_case: true } }", "c1")
	H("h-prefix", "/prefix", "{ name: x-h, prefix_match: ab }", "c1")
	H("h-suffix", "/suffix", "{ name: x-h, suffix_match: yz }", "c1")
	H("h-contains", "/contains/", "{ name: x-h, contains_match: mid }", "c1")
	H("h-contains-ic", "/contains-ic", "{ name: x-h, string_match: { contains: MID, ignore_case: true } }", "c1")
	H("h-present", "/present", "{ name: x-h, present_match: true }", "c1")
	H("h-absent", "/absent", "{ name: x-h, present_match: false }", "c1")
	H("h-not-present", "/not-present", "{ name: x-h, present_match: true, invert_match: true }", "c1")
	H("h-inv-exact", "/inv-exact", "{ name: x-h, exact_match: bad, invert_match: true }", "c1")
	H("h-inv-prefix-ic", "/inv-prefix-ic", "{ name: x-h, string_match: { prefix: AD, ignore_case: true }, invert_match: true }", "c1")
	H("h-method", "/method", "{ name: \":method\", exact_match: POST }", "c2")
	H("h-path", "/pathhdr", "{ name: \":path\", exact_match: \"/pathhdr?q=1\" }", "c2")
	H("h-authority", "/authority", "{ name: \":authority\", suffix_match: .a.com }", "c2")
	H("h-two", "/two", "{ name: x-a, exact_match: \"1\" }, { name: x-b, exact_match: \"2\" }", "c3")
	H("h-name-case", "/name-case", "{ name: X-Mixed-Case, exact_match: v }", "c3")
	H("h-empty", "/empty", "{ name: x-h, exact_match: \"\" }", "c3")
	H("h-any", "/any", "{ name: x-h }", "c3")
	"              - name: weighted\n"
	"                match: { prefix: /weighted }\n"
	"                route: { weighted_clusters: { clusters: [ { name: c2, weight: 1 }, { name: c3, weight: 2 }, { name: c1, weight: 3 } ] } }\n"
	R("fallback", "prefix: /", "c4"));

/* First match wins, in config order. */
static const char order_yaml[] = CONFIG(
	VH("vh", "[\"*\"]")
	R("first", "prefix: /a", "c1")
	R("shadowed", "prefix: /a/b", "c2")
	R("third", "path: /b", "c3")
	R("fourth", "prefix: /b", "c4"));

static const char weighted_yaml[] = CONFIG(
	VH("vh", "[\"*\"]")
	"              - name: split\n"
	"                match: { prefix: /split }\n"
	"                route:\n"
	"                  weighted_clusters:\n"
	"                    clusters: [ { name: c1, weight: 3 }, { name: c2, weight: 1 }, { name: c3, weight: 6 } ]\n"
	"                    total_weight: 10\n"
	"              - name: sum\n"
	"                match: { prefix: /sum }\n"
	"                route:\n"
	"                  weighted_clusters:\n"
	"                    clusters: [ { name: c4, weight: 7 }, { name: c2, weight: 2 } ]\n"
	"              - name: zero\n"
	"                match: { prefix: /zero }\n"
	"                route:\n"
	"                  weighted_clusters:\n"
	"                    clusters: [ { name: c1, weight: 0 }, { name: c2, weight: 4 }, { name: c3, weight: 1 }, { name: c4, weight: 0 } ]\n"
	R("single", "prefix: /", "c4"));

/* Query parameter matching: as for headers, the path picks the route under
 * test and a failing matcher falls through to "fallback". */
#define Q(name, path, params, cluster)					\
	R(name, "prefix: " path ", query_parameters: [ " params " ]", cluster)
static const char query_yaml[] = CONFIG(
	VH("vh", "[\"*\"]")
	Q("q-present", "/present", "{ name: v, present_match: true }", "c1")
	Q("q-absent", "/absent", "{ name: v, present_match: false }", "c1")
	Q("q-any", "/any", "{ name: v }", "c1")
	Q("q-exact", "/exact", "{ name: v, string_match: { exact: \"2\" } }", "c1")
	Q("q-empty", "/empty", "{ name: v, string_match: { exact: \"\" } }", "c1")
	Q("q-prefix", "/prefix", "{ name: v, string_match: { prefix: ab } }", "c1")
	Q("q-suffix", "/suffix", "{ name: v, string_match: { suffix: yz } }", "c1")
	Q("q-contains", "/contains", "{ name: v, string_match: { contains: mid } }", "c1")
	Q("q-icase", "/icase", "{ name: v, string_match: { exact: Yes, ignore_case: true } }", "c1")
	Q("q-names", "/names", "{ name: a, string_match: { exact: \"1\" } }", "c2")
	Q("q-name-case", "/case", "{ name: V, present_match: true }", "c2")
	Q("q-pct", "/pct", "{ name: \"%76\", string_match: { exact: \"%32\" } }", "c2")
	Q("q-two", "/two", "{ name: a, present_match: true }, { name: b, string_match: { exact: \"2\" } }", "c3")
	R("q-mixed", "prefix: /mixed, headers: [ { name: x-h, exact_match: \"1\" } ], query_parameters: [ { name: v, string_match: { exact: \"2\" } } ]", "c3")
	R("fallback", "prefix: /", "c4"));

/* safe_regex on the path, a header, a query parameter: the whole value
 * (RE2 FullMatch), as Envoy. */
static const char regex_yaml[] = CONFIG(
	VH("vh", "[\"*\"]")
	R("re-path", "safe_regex: { regex: \"/r/[0-9]+\" }", "c1")
	R("re-users", "safe_regex: { regex: \"/users/[a-z]+/orders(/[0-9]{1,4})?\" }", "c2")
	H("re-header", "/h", "{ name: x-v, safe_regex_match: { regex: \"v[0-9]+(\\\\.[0-9]+)?\" } }", "c3")
	H("re-header-inv", "/inv", "{ name: x-v, string_match: { safe_regex: { regex: \"admin|root\" } }, invert_match: true }", "c1")
	H("re-header-ic", "/ic", "{ name: x-v, string_match: { safe_regex: { regex: \"[a-z]+\" }, ignore_case: true } }", "c1")
	Q("re-query", "/q", "{ name: v, string_match: { safe_regex: { regex: \"[0-9]{3}\" } } }", "c2")
	R("re-both", "safe_regex: { regex: \"/b/.*\" }, headers: [ { name: \":method\", safe_regex_match: { regex: \"GET|HEAD\" } } ], query_parameters: [ { name: id, string_match: { safe_regex: { regex: \"\\\\w+\" } } } ]", "c3")
	R("re-icase", "safe_regex: { regex: \"(?i)/CI/[a-z]+\" }", "c2")
	R("fallback", "prefix: /", "c4"));

enum table_id { T_HOSTS, T_HOSTS_NOPORT, T_NOANY, T_PATHS, T_HEADERS, T_ORDER,
		T_WEIGHTED, T_QUERY, T_REGEX, T_MAX };

static const struct {
	const char *name;
	const char *yaml;
	unsigned int flags;
} tables[T_MAX] = {
	[T_HOSTS] = { "hosts", hosts_yaml, 0 },
	[T_HOSTS_NOPORT] = { "hosts, ignore port", hosts_yaml, KM_RT_F_IGNORE_PORT },
	[T_NOANY] = { "no '*'", noany_yaml, 0 },
	[T_PATHS] = { "paths", paths_yaml, 0 },
	[T_HEADERS] = { "headers", headers_yaml, 0 },
	[T_ORDER] = { "order", order_yaml, 0 },
	[T_WEIGHTED] = { "weighted", weighted_yaml, 0 },
	[T_QUERY] = { "query", query_yaml, 0 },
	[T_REGEX] = { "regex", regex_yaml, 0 },
};

/* ---- loading and building ------------------------------------------------------ */

struct built {
	struct km_model m;
	void *blob;
	size_t len;
};

static struct built built[T_MAX];

static int model_cluster_id(void *ctx, const char *name, __u32 *id)
{
	const struct km_model *m = ctx;

	for (size_t i = 0; i < m->n_clusters; i++)
		if (strcmp(m->clusters[i].name, name) == 0) {
			*id = (__u32)i;
			return 0;
		}
	return -ENOENT;
}

static int load(const char *yaml, struct km_model *m, struct km_err *err)
{
	return km_config_load_string("t.yaml", yaml, strlen(yaml), m, err);
}

static struct km_m_route_config *route_config(struct km_model *m)
{
	assert_true(m->n_listeners >= 1 && m->listeners[0].n_chains >= 1);
	return &m->listeners[0].chains[0].routes;
}

/* The blob in a heap buffer of exactly its length (reads past it are
 * valgrind errors). */
static void *exact_copy(const void *p, size_t len)
{
	void *c = malloc(len ? len : 1);

	assert_non_null(c);
	memcpy(c, p, len);
	return c;
}

static const struct built *table(enum table_id t)
{
	struct built *b = &built[t];
	struct km_err err = {};
	void *out = NULL;

	if (b->blob)
		return b;
	if (load(tables[t].yaml, &b->m, &err))
		fail_msg("table '%s' does not load: %s", tables[t].name, err.msg);
	if (km_route_build(route_config(&b->m), tables[t].flags,
			   model_cluster_id, &b->m, &out, &b->len, &err))
		fail_msg("table '%s' does not build: %s", tables[t].name,
			 err.msg);
	b->blob = exact_copy(out, b->len);
	free(out);
	return b;
}

static void tables_free(void)
{
	for (size_t t = 0; t < T_MAX; t++) {
		free(built[t].blob);
		km_model_free(&built[t].m);
	}
}

/* ---- match rows ------------------------------------------------------------------ */

#define NO_VHOST "(no virtual host)"
#define NO_ROUTE "(no route)"
#define NO_HOST NULL
#define MAX_ROW_HEADERS 4

struct match_row {
	enum table_id t;
	const char *method;	/* NULL: GET */
	const char *target;
	const char *host;	/* NO_HOST: no Host line */
	const char *headers[MAX_ROW_HEADERS];
	const char *vhost;	/* or NO_VHOST */
	const char *route;	/* or NO_ROUTE; ignored with NO_VHOST */
	const char *cluster;	/* first target's cluster; NULL unless matched */
	const char *domain;	/* the domain that chose the vhost; NULL: not checked */
};

static const struct match_row match_rows[] = {
	/* exact > longest suffix > longest prefix > "*" */
	{ T_HOSTS, NULL, "/", "a.com", {}, "exact", "r-exact", "c1", "a.com" },
	{ T_HOSTS, NULL, "/", "A.CoM", {}, "exact", "r-exact", "c1", "a.com" },
	{ T_HOSTS, NULL, "/", "x.b.a.com", {}, "suffix-long", "r-suffix-long", "c2", "*.b.a.com" },
	{ T_HOSTS, NULL, "/", "X.B.A.COM", {}, "suffix-long", "r-suffix-long", "c2", "*.b.a.com" },
	/* "*.b.a.com" needs a character before ".b.a.com" */
	{ T_HOSTS, NULL, "/", "b.a.com", {}, "suffix", "r-suffix", "c3", "*.a.com" },
	{ T_HOSTS, NULL, "/", ".a.com", {}, "any", "r-any", "c2", "*" },
	{ T_HOSTS, NULL, "/", "foo-x.org", {}, "suffix", "r-suffix", "c3", "*-x.org" },
	{ T_HOSTS, NULL, "/", "-x.org", {}, "any", "r-any", "c2", "*" },
	/* suffix beats a longer prefix */
	{ T_HOSTS, NULL, "/", "www.a.com", {}, "suffix", "r-suffix", "c3", "*.a.com" },
	{ T_HOSTS, NULL, "/", "www.a.net", {}, "prefix-long", "r-prefix-long", "c4", "www.a.*" },
	{ T_HOSTS, NULL, "/", "www.z.net", {}, "prefix", "r-prefix", "c1", "www.*" },
	{ T_HOSTS, NULL, "/", "www.", {}, "any", "r-any", "c2", "*" },
	{ T_HOSTS, NULL, "/", "other.net", {}, "any", "r-any", "c2", "*" },
	/* the port is part of the Host unless the table ignores it */
	{ T_HOSTS, NULL, "/", "a.com:8080", {}, "exact", "r-exact", "c1", "a.com:8080" },
	{ T_HOSTS, NULL, "/", "a.com:9090", {}, "any", "r-any", "c2", "*" },
	{ T_HOSTS, NULL, "/", "x.b.a.com:80", {}, "any", "r-any", "c2", "*" },
	{ T_HOSTS, NULL, "/", "www.a.net:80", {}, "prefix-long", "r-prefix-long", "c4", "www.a.*" },
	{ T_HOSTS, NULL, "/", "[::1]", {}, "exact", "r-exact", "c1", "[::1]" },
	{ T_HOSTS, NULL, "/", "[::1]:80", {}, "any", "r-any", "c2", "*" },
	{ T_HOSTS_NOPORT, NULL, "/", "a.com:9090", {}, "exact", "r-exact", "c1", "a.com" },
	{ T_HOSTS_NOPORT, NULL, "/", "a.com:", {}, "exact", "r-exact", "c1", "a.com" },
	{ T_HOSTS_NOPORT, NULL, "/", "x.b.a.com:80", {}, "suffix-long", "r-suffix-long", "c2", "*.b.a.com" },
	{ T_HOSTS_NOPORT, NULL, "/", "[::1]:80", {}, "exact", "r-exact", "c1", "[::1]" },
	{ T_HOSTS_NOPORT, NULL, "/", "[::1]", {}, "exact", "r-exact", "c1", "[::1]" },
	/* "a.com:8080" is listed, but with the port cut the Host is "a.com" */
	{ T_HOSTS_NOPORT, NULL, "/", "a.com:8080", {}, "exact", "r-exact", "c1", "a.com" },
	/* no Host: only "*" */
	{ T_HOSTS, NULL, "/", NO_HOST, {}, "any", "r-any", "c2", "*" },
	{ T_HOSTS, NULL, "/", "", {}, "any", "r-any", "c2", "*" },
	{ T_NOANY, NULL, "/", NO_HOST, {}, NO_VHOST, NULL, NULL, NULL },
	{ T_NOANY, NULL, "/", "b.com", {}, NO_VHOST, NULL, NULL, NULL },
	{ T_NOANY, NULL, "/", "a.com", {}, "only-a", "r-a", "c1", "a.com" },
	{ T_NOANY, NULL, "/", "e.com", {}, "empty", NO_ROUTE, NULL, "e.com" },
	/* absolute-form: its authority wins over Host */
	{ T_HOSTS, NULL, "http://a.com/x", "other.net", {}, "exact", "r-exact", "c1", "a.com" },
	{ T_HOSTS, NULL, "http://www.z.net", NO_HOST, {}, "prefix", "r-prefix", "c1", "www.*" },
	{ T_NOANY, NULL, "http://a.com:80/", "a.com", {}, NO_VHOST, NULL, NULL, NULL },

	/* paths */
	{ T_PATHS, NULL, "/exact", "h", {}, "vh", "r-exact", "c1", NULL },
	{ T_PATHS, NULL, "/exact?x=1", "h", {}, "vh", "r-exact", "c1", NULL },
	{ T_PATHS, NULL, "/exact#frag", "h", {}, "vh", "r-exact", "c1", NULL },
	{ T_PATHS, NULL, "/exact/", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_PATHS, NULL, "/EXACT", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_PATHS, NULL, "/exac", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_PATHS, NULL, "/api", "h", {}, "vh", "r-sep", "c2", NULL },
	{ T_PATHS, NULL, "/api/", "h", {}, "vh", "r-sep", "c2", NULL },
	{ T_PATHS, NULL, "/api/x", "h", {}, "vh", "r-sep", "c2", NULL },
	{ T_PATHS, NULL, "/api?x", "h", {}, "vh", "r-sep", "c2", NULL },
	{ T_PATHS, NULL, "/apix", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_PATHS, NULL, "/API", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_PATHS, NULL, "/ap", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_PATHS, NULL, "/Static/a.css", "h", {}, "vh", "r-icase", "c3", NULL },
	{ T_PATHS, NULL, "/STATIC", "h", {}, "vh", "r-icase", "c3", NULL },
	{ T_PATHS, NULL, "/staticx", "h", {}, "vh", "r-icase", "c3", NULL },
	{ T_PATHS, NULL, "/stati", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_PATHS, NULL, "/p", "h", {}, "vh", "r-prefix", "c4", NULL },
	{ T_PATHS, NULL, "/px/y", "h", {}, "vh", "r-prefix", "c4", NULL },
	{ T_PATHS, NULL, "/P", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_PATHS, NULL, "/", "h", {}, "vh", "r-root", "c1", NULL },
	{ T_PATHS, NULL, "/?p", "h", {}, "vh", "r-root", "c1", NULL },
	/* an absolute-form target without a path is "/" */
	{ T_PATHS, NULL, "http://h", NO_HOST, {}, "vh", "r-root", "c1", NULL },
	{ T_PATHS, NULL, "http://h?q", NO_HOST, {}, "vh", "r-root", "c1", NULL },
	{ T_PATHS, NULL, "http://h/api/v1", NO_HOST, {}, "vh", "r-sep", "c2", NULL },
	{ T_PATHS, NULL, "/q", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	/* CONNECT has no path: no route (Envoy needs connect_matcher) */
	{ T_PATHS, "CONNECT", "h:443", "h:443", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_ORDER, "CONNECT", "h:443", NO_HOST, {}, "vh", NO_ROUTE, NULL, NULL },
	/* OPTIONS *: the path is "*" */
	{ T_PATHS, "OPTIONS", "*", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_HEADERS, "OPTIONS", "*", "h", {}, "vh", NO_ROUTE, NULL, NULL },

	/* headers: exact, case-sensitive value, trimmed */
	{ T_HEADERS, NULL, "/exact/", "h", { "X-H: Yes" }, "vh", "h-exact", "c1", NULL },
	{ T_HEADERS, NULL, "/exact/", "h", { "x-h:Yes  " }, "vh", "h-exact", "c1", NULL },
	{ T_HEADERS, NULL, "/exact/", "h", { "x-h: yes" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/exact/", "h", { "x-h: Yes2" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/exact/", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/exact/", "h", { "x-other: Yes" }, "vh", "fallback", "c4", NULL },
	/* a repeated header is seen by its first line */
	{ T_HEADERS, NULL, "/exact/", "h", { "x-h: Yes", "x-h: no" }, "vh", "h-exact", "c1", NULL },
	{ T_HEADERS, NULL, "/exact/", "h", { "x-h: no", "x-h: Yes" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/exact-ic", "h", { "x-h: YES" }, "vh", "h-exact-ic", "c1", NULL },
	{ T_HEADERS, NULL, "/exact-ic", "h", { "x-h: yess" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/prefix", "h", { "x-h: abc" }, "vh", "h-prefix", "c1", NULL },
	{ T_HEADERS, NULL, "/prefix", "h", { "x-h: ab" }, "vh", "h-prefix", "c1", NULL },
	{ T_HEADERS, NULL, "/prefix", "h", { "x-h: xab" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/prefix", "h", { "x-h: AB" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/suffix", "h", { "x-h: xyz" }, "vh", "h-suffix", "c1", NULL },
	{ T_HEADERS, NULL, "/suffix", "h", { "x-h: yzx" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/contains/", "h", { "x-h: amidb" }, "vh", "h-contains", "c1", NULL },
	{ T_HEADERS, NULL, "/contains/", "h", { "x-h: mid" }, "vh", "h-contains", "c1", NULL },
	{ T_HEADERS, NULL, "/contains/", "h", { "x-h: mi" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/contains/", "h", { "x-h: aMIDb" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/contains-ic", "h", { "x-h: aMiDb" }, "vh", "h-contains-ic", "c1", NULL },
	/* present_match true/false, and inverted */
	{ T_HEADERS, NULL, "/present", "h", { "x-h: anything" }, "vh", "h-present", "c1", NULL },
	{ T_HEADERS, NULL, "/present", "h", { "x-h:" }, "vh", "h-present", "c1", NULL },
	{ T_HEADERS, NULL, "/present", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/absent", "h", {}, "vh", "h-absent", "c1", NULL },
	{ T_HEADERS, NULL, "/absent", "h", { "X-H: 1" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/not-present", "h", {}, "vh", "h-not-present", "c1", NULL },
	{ T_HEADERS, NULL, "/not-present", "h", { "x-h: 1" }, "vh", "fallback", "c4", NULL },
	/* a matcher with no value is present_match: true */
	{ T_HEADERS, NULL, "/any", "h", { "x-h: 1" }, "vh", "h-any", "c3", NULL },
	{ T_HEADERS, NULL, "/any", "h", {}, "vh", "fallback", "c4", NULL },
	/* invert: a missing header matches no inverted value matcher */
	{ T_HEADERS, NULL, "/inv-exact", "h", { "x-h: good" }, "vh", "h-inv-exact", "c1", NULL },
	{ T_HEADERS, NULL, "/inv-exact", "h", { "x-h: bad" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/inv-exact", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/inv-prefix-ic", "h", { "x-h: admin" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/inv-prefix-ic", "h", { "x-h: Admin" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/inv-prefix-ic", "h", { "x-h: user" }, "vh", "h-inv-prefix-ic", "c1", NULL },
	{ T_HEADERS, NULL, "/inv-prefix-ic", "h", {}, "vh", "fallback", "c4", NULL },
	/* pseudo-headers */
	{ T_HEADERS, "POST", "/method", "h", {}, "vh", "h-method", "c2", NULL },
	{ T_HEADERS, NULL, "/method", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, "post", "/method", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/pathhdr?q=1", "h", {}, "vh", "h-path", "c2", NULL },
	{ T_HEADERS, NULL, "/pathhdr?q=1#f", "h", {}, "vh", "h-path", "c2", NULL },
	{ T_HEADERS, NULL, "/pathhdr?q=2", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/pathhdr", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "http://h/pathhdr?q=1", NO_HOST, {}, "vh", "h-path", "c2", NULL },
	{ T_HEADERS, NULL, "/authority", "x.a.com", {}, "vh", "h-authority", "c2", NULL },
	{ T_HEADERS, NULL, "/authority", "x.a.com:80", {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/authority", "a.org", {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/authority", NO_HOST, {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "http://x.a.com/authority", "a.org", {}, "vh", "h-authority", "c2", NULL },
	/* every matcher must match; header names ignore case */
	{ T_HEADERS, NULL, "/two", "h", { "x-a: 1", "x-b: 2" }, "vh", "h-two", "c3", NULL },
	{ T_HEADERS, NULL, "/two", "h", { "X-B: 2", "X-A: 1" }, "vh", "h-two", "c3", NULL },
	{ T_HEADERS, NULL, "/two", "h", { "x-a: 1" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/two", "h", { "x-a: 1", "x-b: 3" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/name-case", "h", { "x-mixed-case: v" }, "vh", "h-name-case", "c3", NULL },
	{ T_HEADERS, NULL, "/name-case", "h", { "X-MIXED-CASE: v" }, "vh", "h-name-case", "c3", NULL },
	{ T_HEADERS, NULL, "/empty", "h", { "x-h:" }, "vh", "h-empty", "c3", NULL },
	{ T_HEADERS, NULL, "/empty", "h", { "x-h: v" }, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/empty", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_HEADERS, NULL, "/weighted", "h", {}, "vh", "weighted", "c2", NULL },

	/* first match wins */
	{ T_ORDER, NULL, "/a/b", "h", {}, "vh", "first", "c1", NULL },
	{ T_ORDER, NULL, "/a", "h", {}, "vh", "first", "c1", NULL },
	{ T_ORDER, NULL, "/b", "h", {}, "vh", "third", "c3", NULL },
	{ T_ORDER, NULL, "/bc", "h", {}, "vh", "fourth", "c4", NULL },
	{ T_ORDER, NULL, "/c", "h", {}, "vh", NO_ROUTE, NULL, NULL },
	{ T_WEIGHTED, NULL, "/x", "h", {}, "vh", "single", "c4", NULL },

	/* safe_regex: the whole path, without its query */
	{ T_REGEX, NULL, "/r/1", "h", {}, "vh", "re-path", "c1", NULL },
	{ T_REGEX, NULL, "/r/0123?x=y", "h", {}, "vh", "re-path", "c1", NULL },
	{ T_REGEX, NULL, "/r/", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/r/1x", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/x/r/1", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/R/1", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/users/bob/orders", "h", {}, "vh", "re-users", "c2", NULL },
	{ T_REGEX, NULL, "/users/bob/orders/1234", "h", {}, "vh", "re-users", "c2", NULL },
	{ T_REGEX, NULL, "/users/bob/orders/12345", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/users/Bob/orders", "h", {}, "vh", "fallback", "c4", NULL },
	/* a header's whole value */
	{ T_REGEX, NULL, "/h", "h", { "X-V: v1" }, "vh", "re-header", "c3", NULL },
	{ T_REGEX, NULL, "/h", "h", { "x-v: v12.3" }, "vh", "re-header", "c3", NULL },
	{ T_REGEX, NULL, "/h", "h", { "x-v: v12." }, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/h", "h", { "x-v: xv1" }, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/h", "h", {}, "vh", "fallback", "c4", NULL },
	/* inverted: a value that does not match; a missing header does not
	 * match an inverted regex (Envoy) */
	{ T_REGEX, NULL, "/inv", "h", { "x-v: bob" }, "vh", "re-header-inv", "c1", NULL },
	{ T_REGEX, NULL, "/inv", "h", { "x-v: rootx" }, "vh", "re-header-inv", "c1", NULL },
	{ T_REGEX, NULL, "/inv", "h", { "x-v: root" }, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/inv", "h", {}, "vh", "fallback", "c4", NULL },
	/* ignore_case has no effect on safe_regex (Envoy) */
	{ T_REGEX, NULL, "/ic", "h", { "x-v: abc" }, "vh", "re-header-ic", "c1", NULL },
	{ T_REGEX, NULL, "/ic", "h", { "x-v: ABC" }, "vh", "fallback", "c4", NULL },
	/* a query parameter's whole value, first occurrence */
	{ T_REGEX, NULL, "/q?v=123", "h", {}, "vh", "re-query", "c2", NULL },
	{ T_REGEX, NULL, "/q?x=1&v=007&v=1", "h", {}, "vh", "re-query", "c2", NULL },
	{ T_REGEX, NULL, "/q?v=1234", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/q?v=1&v=123", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/q?v", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/q", "h", {}, "vh", "fallback", "c4", NULL },
	/* all three on one route */
	{ T_REGEX, NULL, "/b/x?id=a_1", "h", {}, "vh", "re-both", "c3", NULL },
	{ T_REGEX, "HEAD", "/b/?id=7", "h", {}, "vh", "re-both", "c3", NULL },
	{ T_REGEX, "POST", "/b/x?id=a_1", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_REGEX, NULL, "/b/x?id=a-1", "h", {}, "vh", "fallback", "c4", NULL },
	/* (?i) folds ASCII case */
	{ T_REGEX, NULL, "/ci/AbC", "h", {}, "vh", "re-icase", "c2", NULL },
	{ T_REGEX, NULL, "/Ci/x", "h", {}, "vh", "re-icase", "c2", NULL },
	{ T_REGEX, NULL, "/ci/1", "h", {}, "vh", "fallback", "c4", NULL },

	/* query parameters: present_match true, any value or none */
	{ T_QUERY, NULL, "/present?v=1", "h", {}, "vh", "q-present", "c1", NULL },
	{ T_QUERY, NULL, "/present?v=", "h", {}, "vh", "q-present", "c1", NULL },
	{ T_QUERY, NULL, "/present?v", "h", {}, "vh", "q-present", "c1", NULL },
	{ T_QUERY, NULL, "/present?x=1&v", "h", {}, "vh", "q-present", "c1", NULL },
	{ T_QUERY, NULL, "/present?x=1", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/present?x=v", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/present?vv=1", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/present?", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/present", "h", {}, "vh", "fallback", "c4", NULL },
	/* present_match false: the parameter is not there */
	{ T_QUERY, NULL, "/absent", "h", {}, "vh", "q-absent", "c1", NULL },
	{ T_QUERY, NULL, "/absent?x=1&vx=2", "h", {}, "vh", "q-absent", "c1", NULL },
	{ T_QUERY, NULL, "/absent?v=1", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/absent?x=1&v", "h", {}, "vh", "fallback", "c4", NULL },
	/* no match specifier: presence */
	{ T_QUERY, NULL, "/any?v=0", "h", {}, "vh", "q-any", "c1", NULL },
	{ T_QUERY, NULL, "/any", "h", {}, "vh", "fallback", "c4", NULL },
	/* exact, wherever the parameter stands */
	{ T_QUERY, NULL, "/exact?v=2", "h", {}, "vh", "q-exact", "c1", NULL },
	{ T_QUERY, NULL, "/exact?a=1&v=2&b=3", "h", {}, "vh", "q-exact", "c1", NULL },
	{ T_QUERY, NULL, "/exact?&v=2&", "h", {}, "vh", "q-exact", "c1", NULL },
	{ T_QUERY, NULL, "/exact?v=22", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/exact?v=", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/exact", "h", {}, "vh", "fallback", "c4", NULL },
	/* the value is everything after the first '=' */
	{ T_QUERY, NULL, "/exact?v=2=3", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/exact?x=v=2", "h", {}, "vh", "fallback", "c4", NULL },
	/* a repeated parameter is seen by its first occurrence */
	{ T_QUERY, NULL, "/exact?v=2&v=1", "h", {}, "vh", "q-exact", "c1", NULL },
	{ T_QUERY, NULL, "/exact?v=1&v=2", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/exact?v&v=2", "h", {}, "vh", "fallback", "c4", NULL },
	/* names are case-sensitive, nothing is percent-decoded */
	{ T_QUERY, NULL, "/exact?V=2", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/exact?v=%32", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/exact?%76=2", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/pct?%76=%32", "h", {}, "vh", "q-pct", "c2", NULL },
	{ T_QUERY, NULL, "/pct?v=2", "h", {}, "vh", "fallback", "c4", NULL },
	/* a fragment is not part of the query */
	{ T_QUERY, NULL, "/exact?v=2#f", "h", {}, "vh", "q-exact", "c1", NULL },
	{ T_QUERY, NULL, "/exact?x=1#&v=2", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/exact#?v=2", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "http://h/exact?v=2", NO_HOST, {}, "vh", "q-exact", "c1", NULL },
	/* exact "": an empty value, or no '=' at all */
	{ T_QUERY, NULL, "/empty?v=", "h", {}, "vh", "q-empty", "c1", NULL },
	{ T_QUERY, NULL, "/empty?x=1&v", "h", {}, "vh", "q-empty", "c1", NULL },
	{ T_QUERY, NULL, "/empty?v=1", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/empty", "h", {}, "vh", "fallback", "c4", NULL },
	/* prefix, suffix, contains; case-sensitive unless ignore_case */
	{ T_QUERY, NULL, "/prefix?v=abc", "h", {}, "vh", "q-prefix", "c1", NULL },
	{ T_QUERY, NULL, "/prefix?v=xab", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/prefix?v=ABc", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/suffix?v=xyz", "h", {}, "vh", "q-suffix", "c1", NULL },
	{ T_QUERY, NULL, "/suffix?v=yzx", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/contains?v=amidb", "h", {}, "vh", "q-contains", "c1", NULL },
	{ T_QUERY, NULL, "/contains?v=aMIDb", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/contains?mid=1", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/icase?v=yES", "h", {}, "vh", "q-icase", "c1", NULL },
	{ T_QUERY, NULL, "/icase?v=yess", "h", {}, "vh", "fallback", "c4", NULL },
	/* ignore_case is for the value: the name still compares exactly */
	{ T_QUERY, NULL, "/icase?V=yes", "h", {}, "vh", "fallback", "c4", NULL },
	/* "a" is not "ab" */
	{ T_QUERY, NULL, "/names?a=1", "h", {}, "vh", "q-names", "c2", NULL },
	{ T_QUERY, NULL, "/names?ab=1", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/names?ab=1&a=1", "h", {}, "vh", "q-names", "c2", NULL },
	{ T_QUERY, NULL, "/names?ab=2&a=1&a=2", "h", {}, "vh", "q-names", "c2", NULL },
	{ T_QUERY, NULL, "/names?b=1&a=11", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/case?V", "h", {}, "vh", "q-name-case", "c2", NULL },
	{ T_QUERY, NULL, "/case?v", "h", {}, "vh", "fallback", "c4", NULL },
	/* every matcher must match, headers and query parameters alike */
	{ T_QUERY, NULL, "/two?a&b=2", "h", {}, "vh", "q-two", "c3", NULL },
	{ T_QUERY, NULL, "/two?b=2&a=", "h", {}, "vh", "q-two", "c3", NULL },
	{ T_QUERY, NULL, "/two?b=2", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/two?a=1&b=3", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/mixed?v=2", "h", { "x-h: 1" }, "vh", "q-mixed", "c3", NULL },
	{ T_QUERY, NULL, "/mixed?v=2", "h", {}, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/mixed?v=1", "h", { "x-h: 1" }, "vh", "fallback", "c4", NULL },
	/* a header named like the parameter is not the parameter */
	{ T_QUERY, NULL, "/present", "h", { "v: 1" }, "vh", "fallback", "c4", NULL },
	{ T_QUERY, NULL, "/mixed?x-h=1&v=2", "h", {}, "vh", "fallback", "c4", NULL },
};

static size_t row_headers(const struct match_row *r)
{
	size_t n = 0;

	while (n < MAX_ROW_HEADERS && r->headers[n])
		n++;
	return n;
}

static void row_name(const struct match_row *r, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "%s: %s %s, host %s",
				    tables[r->t].name,
				    r->method ? r->method : "GET", r->target,
				    r->host ? r->host : "(none)");

	for (size_t i = 0; i < row_headers(r) && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, ", '%s'",
				      r->headers[i]);
}

static struct km_explain_req row_req(const struct match_row *r)
{
	return (struct km_explain_req){
		.method = r->method, .target = r->target, .host = r->host,
		.n_headers = row_headers(r), .headers = r->headers,
	};
}

static const char *name_at(const struct built *b, __u32 off, __u16 len,
			   char *buf, size_t size)
{
	return km_rt_view_str(b->blob, b->len, off, len, buf, size);
}

static void test_match(void **state)
{
	const struct match_row *r = *state;
	const struct built *b = table(r->t);
	struct km_explain_req rq = row_req(r);
	static struct km_explain x;
	struct km_err err = {};
	char got[KM_RT_STR_MAX + 1], dom[KM_RT_STR_MAX + 2];
	const struct km_rt_vhost *v;
	const struct km_rt_route *rt;
	const struct km_rt_domain *d;
	long cid;

	if (km_explain(b->blob, b->len, &rq, &x, &err))
		fail_msg("explain failed: %s", err.msg);
	if (strcmp(r->vhost, NO_VHOST) == 0) {
		if (x.res.status != KM_ROUTE_NO_VHOST)
			fail_msg("status %u, want no virtual host", x.res.status);
		return;
	}
	if (x.res.status == KM_ROUTE_NO_VHOST)
		fail_msg("no virtual host, want '%s'", r->vhost);
	v = km_rt_view_vhost(b->blob, b->len, x.res.vhost);
	assert_non_null(v);
	name_at(b, v->name_off, v->name_len, got, sizeof(got));
	if (strcmp(got, r->vhost))
		fail_msg("virtual host '%s', want '%s'", got, r->vhost);
	if (r->domain) {
		d = x.domain < 0 ? NULL :
		    km_rt_view_domain(b->blob, b->len, x.res.vhost, x.domain);
		if (!d)
			fail_msg("no winning domain found, want '%s'", r->domain);
		km_rt_view_domain_text(b->blob, b->len, d, dom, sizeof(dom));
		if (strcmp(dom, r->domain))
			fail_msg("domain '%s', want '%s'", dom, r->domain);
	}
	if (strcmp(r->route, NO_ROUTE) == 0) {
		if (x.res.status != KM_ROUTE_NO_ROUTE)
			fail_msg("status %u, want no route", x.res.status);
		assert_int_equal(km_route_pick_cluster(&x.res, 0), -1);
		return;
	}
	if (x.res.status != KM_ROUTE_MATCHED)
		fail_msg("status %u, want route '%s'", x.res.status, r->route);
	rt = km_rt_view_route(b->blob, b->len, x.res.vhost, x.res.route);
	assert_non_null(rt);
	name_at(b, rt->name_off, rt->name_len, got, sizeof(got));
	if (strcmp(got, r->route))
		fail_msg("route '%s', want '%s'", got, r->route);
	cid = km_route_pick_cluster(&x.res, 0);
	if (cid < 0 || (size_t)cid >= b->m.n_clusters)
		fail_msg("picked cluster id %ld", cid);
	if (strcmp(b->m.clusters[cid].name, r->cluster))
		fail_msg("cluster '%s', want '%s'", b->m.clusters[cid].name,
			 r->cluster);
	assert_int_equal(x.targets[0].cluster_id, cid);
}

/* ---- weighted clusters --------------------------------------------------------------- */

struct split_row {
	const char *name;
	const char *target;
	const char *clusters[4];
	unsigned int weights[4];
	unsigned int total;
};

static const struct split_row split_rows[] = {
	{ "total_weight 10: 3/1/6", "/split", { "c1", "c2", "c3" }, { 3, 1, 6 }, 10 },
	{ "no total_weight: the sum, 7/2", "/sum", { "c4", "c2" }, { 7, 2 }, 9 },
	{ "one cluster", "/", { "c4" }, { 1 }, 1 },
	/* weight 0 is legal in a route (Envoy): that cluster gets no draw */
	{ "zero weights first and last: 0/4/1/0", "/zero", { "c1", "c2", "c3", "c4" }, { 0, 4, 1, 0 }, 5 },
};

/* Every total_weight consecutive draws, from any start, give each cluster
 * exactly its weight. */
static void test_split(void **state)
{
	const struct split_row *s = *state;
	const struct built *b = table(T_WEIGHTED);
	struct km_explain_req rq = { .target = s->target, .host = "h" };
	static struct km_explain x;
	struct km_err err = {};
	static const __u32 starts[] = { 0, 1, 12345, 0xfffffff0u };

	if (km_explain(b->blob, b->len, &rq, &x, &err))
		fail_msg("explain failed: %s", err.msg);
	assert_int_equal(x.res.status, KM_ROUTE_MATCHED);
	assert_int_equal(x.total_weight, s->total);
	for (unsigned int i = 0; i < 4 && s->clusters[i]; i++) {
		assert_string_equal(b->m.clusters[x.targets[i].cluster_id].name,
				    s->clusters[i]);
		assert_int_equal(x.targets[i].weight, s->weights[i]);
	}
	for (size_t st = 0; st < NELEM(starts); st++) {
		unsigned int count[4] = {};

		/* unsigned wrap-around is where a draw counter goes */
		for (__u32 k = 0; k < 3 * s->total; k++) {
			long id = km_route_pick_cluster(&x.res, starts[st] + k);
			unsigned int i;

			assert_true(id >= 0);
			for (i = 0; i < 4 && s->clusters[i]; i++)
				if (!strcmp(b->m.clusters[id].name,
					    s->clusters[i]))
					break;
			assert_true(i < 4 && s->clusters[i]);
			count[i]++;
		}
		/* the wrap at 2^32 breaks the cycle unless total divides
		 * 2^32: only the starts that do not cross it are exact */
		if ((uint64_t)starts[st] + 3 * s->total > UINT32_MAX + 1ull)
			continue;
		for (unsigned int i = 0; i < 4 && s->clusters[i]; i++)
			if (count[i] != 3 * s->weights[i])
				fail_msg("start %u: cluster %s got %u of %u draws, want %u",
					 starts[st], s->clusters[i], count[i],
					 3 * s->total, 3 * s->weights[i]);
	}
}

/* ---- explain details --------------------------------------------------------------------- */

static void explain_or_fail(enum table_id t, const struct km_explain_req *rq,
			    struct km_explain *x)
{
	const struct built *b = table(t);
	struct km_err err = {};

	if (km_explain(b->blob, b->len, rq, x, &err))
		fail_msg("explain failed: %s", err.msg);
}

/* Route 'h-two' (index 14) with one of its two headers: the path matches,
 * only header 0 does. */
static void test_why_headers(void **state)
{
	const char *hd[] = { "x-a: 1", "x-b: 3" };
	struct km_explain_req rq = { .target = "/two", .host = "h",
				     .n_headers = 2, .headers = hd };
	const struct built *b = table(T_HEADERS);
	static struct km_explain x;
	char name[64];
	bool path_ok;
	__u32 ok;

	explain_or_fail(T_HEADERS, &rq, &x);
	name_at(b, km_rt_view_route(b->blob, b->len, 0, 14)->name_off,
		km_rt_view_route(b->blob, b->len, 0, 14)->name_len, name,
		sizeof(name));
	assert_string_equal(name, "h-two");
	assert_int_equal(km_explain_route_why(b->blob, b->len, &x, 14,
					      &path_ok, &ok), 0);
	assert_true(path_ok);
	assert_int_equal(ok, 1);
	/* route 0 (prefix /exact/): path fails, its header too */
	assert_int_equal(km_explain_route_why(b->blob, b->len, &x, 0,
					      &path_ok, &ok), 0);
	assert_false(path_ok);
	assert_int_equal(ok, 0);
	/* past the last route */
	assert_int_equal(km_explain_route_why(b->blob, b->len, &x, 99,
					      &path_ok, &ok), -EINVAL);
}

/* Route 'q-mixed' (index 13): its header matcher is bit 0, its query
 * parameter matcher bit 1. */
static void test_why_query(void **state)
{
	const char *hd[] = { "x-h: 1" };
	struct km_explain_req rq = { .target = "/mixed?v=1", .host = "h",
				     .n_headers = 1, .headers = hd };
	const struct built *b = table(T_QUERY);
	const struct km_rt_route *r = km_rt_view_route(b->blob, b->len, 0, 13);
	static struct km_explain x;
	char name[64];
	bool path_ok;
	__u32 ok;

	assert_non_null(r);
	name_at(b, r->name_off, r->name_len, name, sizeof(name));
	assert_string_equal(name, "q-mixed");
	explain_or_fail(T_QUERY, &rq, &x);
	assert_int_equal(km_explain_route_why(b->blob, b->len, &x, 13,
					      &path_ok, &ok), 0);
	assert_true(path_ok);
	assert_int_equal(ok, 1);
	rq.target = "/mixed?v=2";
	rq.n_headers = 0;
	explain_or_fail(T_QUERY, &rq, &x);
	assert_int_equal(km_explain_route_why(b->blob, b->len, &x, 13,
					      &path_ok, &ok), 0);
	assert_true(path_ok);
	assert_int_equal(ok, 2);
	/* route 'q-two' (12) on "?b=2": only its second matcher */
	rq.target = "/two?b=2";
	explain_or_fail(T_QUERY, &rq, &x);
	assert_int_equal(km_explain_route_why(b->blob, b->len, &x, 12,
					      &path_ok, &ok), 0);
	assert_true(path_ok);
	assert_int_equal(ok, 2);
}

/* The probes copy a route's regex (its DFA) into the probe table: route
 're-both' (index 6) has a path, a header and a query parameter regex. */
static void test_why_regex(void **state)
{
	struct km_explain_req rq = { .target = "/b/x?id=a-1", .host = "h" };
	const struct built *b = table(T_REGEX);
	const struct km_rt_route *r = km_rt_view_route(b->blob, b->len, 0, 6);
	static struct km_explain x;
	char name[64], text[600];
	bool path_ok;
	__u32 ok;

	assert_non_null(r);
	name_at(b, r->name_off, r->name_len, name, sizeof(name));
	assert_string_equal(name, "re-both");
	explain_or_fail(T_REGEX, &rq, &x);
	assert_int_equal(km_explain_route_why(b->blob, b->len, &x, 6,
					      &path_ok, &ok), 0);
	assert_true(path_ok);
	assert_int_equal(ok, 1);	/* :method yes, id no */
	rq.target = "/c/x?id=a_1";
	rq.method = "HEAD";
	explain_or_fail(T_REGEX, &rq, &x);
	assert_int_equal(km_explain_route_why(b->blob, b->len, &x, 6,
					      &path_ok, &ok), 0);
	assert_false(path_ok);
	assert_int_equal(ok, 3);
	/* route 're-path' (0) */
	rq.target = "/r/77";
	explain_or_fail(T_REGEX, &rq, &x);
	assert_int_equal(km_explain_route_why(b->blob, b->len, &x, 0,
					      &path_ok, &ok), 0);
	assert_true(path_ok);
	assert_int_equal(x.res.route, 0);
	km_rt_view_path_text(b->blob, b->len, r, text, sizeof(text));
	assert_string_equal(text, "safe_regex '/b/.*'");
	km_rt_view_header_text(b->blob, b->len,
			       km_rt_view_header(b->blob, b->len, 0, 6, 1),
			       text, sizeof(text));
	assert_string_equal(text, "query parameter 'id' safe_regex '\\w+'");
	km_rt_view_header_text(b->blob, b->len,
			       km_rt_view_header(b->blob, b->len, 0, 3, 0),
			       text, sizeof(text));
	assert_string_equal(text, "header 'x-v' not safe_regex 'admin|root' (invert_match)");
}

static void test_why_path(void **state)
{
	struct km_explain_req rq = { .target = "/apix", .host = "h" };
	const struct built *b = table(T_PATHS);
	static struct km_explain x;
	bool path_ok;
	__u32 ok;

	explain_or_fail(T_PATHS, &rq, &x);
	assert_int_equal(x.res.status, KM_ROUTE_NO_ROUTE);
	for (unsigned int ri = 0; ri < 5; ri++) {
		assert_int_equal(km_explain_route_why(b->blob, b->len, &x, ri,
						      &path_ok, &ok), 0);
		assert_false(path_ok);
	}
	rq.target = "/api/v1";
	explain_or_fail(T_PATHS, &rq, &x);
	assert_int_equal(km_explain_route_why(b->blob, b->len, &x, 1,
					      &path_ok, &ok), 0);
	assert_true(path_ok);
}

/* What kmeshctl prints comes from these. */
static void test_texts(void **state)
{
	const struct built *b = table(T_HEADERS);
	const struct built *p = table(T_PATHS);
	const struct built *q = table(T_QUERY);
	char buf[300];
	const struct km_rt_head *h = km_rt_view_head(b->blob, b->len);

	assert_non_null(h);
	assert_string_equal(km_rt_view_str(b->blob, b->len, h->name_off,
					   h->name_len, buf, sizeof(buf)), "rc");
	assert_string_equal(km_rt_view_path_text(p->blob, p->len,
		km_rt_view_route(p->blob, p->len, 0, 2), buf, sizeof(buf)),
		"prefix '/Static' (case-insensitive)");
	assert_string_equal(km_rt_view_path_text(p->blob, p->len,
		km_rt_view_route(p->blob, p->len, 0, 1), buf, sizeof(buf)),
		"path_separated_prefix '/api'");
	assert_string_equal(km_rt_view_header_text(b->blob, b->len,
		km_rt_view_header(b->blob, b->len, 0, 1, 0), buf, sizeof(buf)),
		"header 'x-h' exact 'yes' (ignore_case)");
	assert_string_equal(km_rt_view_header_text(b->blob, b->len,
		km_rt_view_header(b->blob, b->len, 0, 8, 0), buf, sizeof(buf)),
		"header 'x-h' not present (invert_match)");
	assert_string_equal(km_rt_view_header_text(b->blob, b->len,
		km_rt_view_header(b->blob, b->len, 0, 9, 0), buf, sizeof(buf)),
		"header 'x-h' not exact 'bad'");
	assert_string_equal(km_rt_view_header_text(b->blob, b->len,
		km_rt_view_header(b->blob, b->len, 0, 15, 0), buf, sizeof(buf)),
		"header 'x-mixed-case' exact 'v'");
	/* query parameter matchers: the name as configured, not lowercased */
	assert_string_equal(km_rt_view_header_text(q->blob, q->len,
		km_rt_view_header(q->blob, q->len, 0, 0, 0), buf, sizeof(buf)),
		"query parameter 'v' present");
	assert_string_equal(km_rt_view_header_text(q->blob, q->len,
		km_rt_view_header(q->blob, q->len, 0, 1, 0), buf, sizeof(buf)),
		"query parameter 'v' not present");
	assert_string_equal(km_rt_view_header_text(q->blob, q->len,
		km_rt_view_header(q->blob, q->len, 0, 3, 0), buf, sizeof(buf)),
		"query parameter 'v' exact '2'");
	assert_string_equal(km_rt_view_header_text(q->blob, q->len,
		km_rt_view_header(q->blob, q->len, 0, 8, 0), buf, sizeof(buf)),
		"query parameter 'v' exact 'Yes' (ignore_case)");
	assert_string_equal(km_rt_view_header_text(q->blob, q->len,
		km_rt_view_header(q->blob, q->len, 0, 10, 0), buf, sizeof(buf)),
		"query parameter 'V' present");
	/* a route's header matchers come first, then its query parameters */
	assert_string_equal(km_rt_view_header_text(q->blob, q->len,
		km_rt_view_header(q->blob, q->len, 0, 13, 0), buf, sizeof(buf)),
		"header 'x-h' exact '1'");
	assert_string_equal(km_rt_view_header_text(q->blob, q->len,
		km_rt_view_header(q->blob, q->len, 0, 13, 1), buf, sizeof(buf)),
		"query parameter 'v' exact '2'");
	assert_int_equal(km_rt_view_route(q->blob, q->len, 0, 13)->n_headers, 2);
	/* out of range */
	assert_null(km_rt_view_header(b->blob, b->len, 0, 15, 1));
	assert_null(km_rt_view_route(b->blob, b->len, 1, 0));
	assert_null(km_rt_view_head(b->blob, b->len - 1));
	assert_string_equal(km_rt_view_str(b->blob, b->len, (__u32)b->len, 1,
					   buf, sizeof(buf)), "?");
}

/* The blob as route_table.h lays it out. */
static void test_layout(void **state)
{
	const struct built *b = table(T_HOSTS);
	const struct km_rt_head *h = b->blob;
	const struct km_rt_vhost *v;
	const struct km_rt_domain *d;
	const char *pool = b->blob;

	assert_int_equal(h->magic, KM_RT_MAGIC);
	assert_int_equal(h->version, KM_RT_VERSION);
	assert_int_equal(h->len, b->len);
	assert_int_equal(b->len % 4, 0);
	assert_int_equal(h->n_vhosts, 6);
	assert_int_equal(h->vhost_off, sizeof(*h));
	v = km_rt_view_vhost(b->blob, b->len, 2);	/* "*.A.com", "*-x.org" */
	assert_int_equal(v->n_domains, 2);
	d = km_rt_view_domain(b->blob, b->len, 2, 0);
	assert_int_equal(d->kind, KM_RT_DOM_SUFFIX);
	assert_int_equal(d->len, 6);
	/* stored lowercase, without the '*', NUL after it */
	assert_memory_equal(pool + d->off, ".a.com", 7);
	d = km_rt_view_domain(b->blob, b->len, 5, 0);
	assert_int_equal(d->kind, KM_RT_DOM_ANY);
	assert_int_equal(d->len, 0);
	d = km_rt_view_domain(b->blob, b->len, 3, 0);
	assert_int_equal(d->kind, KM_RT_DOM_PREFIX);
	assert_memory_equal(pool + d->off, "www.a.", 7);
	/* the same model builds the same bytes */
	{
		void *again;
		size_t len;
		struct km_err err = {};

		assert_int_equal(km_route_build(route_config(&built[T_HOSTS].m),
						0, model_cluster_id,
						&built[T_HOSTS].m, &again, &len,
						&err), 0);
		assert_int_equal(len, b->len);
		assert_memory_equal(again, b->blob, len);
		free(again);
	}
}

/* ---- explain errors ------------------------------------------------------------------------- */

struct req_error_row {
	const char *name;
	struct km_explain_req rq;
	int ret;
	const char *msg;
};

static const char *const too_many[33] = {
	"a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1",
	"a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1",
	"a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1",
	"a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1", "a: 1",
	"a: 1",
};
static char long_header[KM_HTTP_MAX_HEAD];

#define HDRS(...) .n_headers = NELEM(((const char *[]){ __VA_ARGS__ })), \
		  .headers = (const char *const []){ __VA_ARGS__ }

static const struct req_error_row req_error_rows[] = {
	{ "header without ':'", { .target = "/", HDRS("NoColon") }, -EINVAL,
	  "header 'NoColon' is not 'Name: value'" },
	{ "header without a name", { .target = "/", HDRS(": v") }, -EINVAL,
	  "header ': v' is not 'Name: value'" },
	{ "space before ':'", { .target = "/", HDRS("X-A : v") }, -EINVAL,
	  "header 'X-A : v': whitespace before ':' (HTTP/1.1 forbids it; kmesh.ko would not route such a request)" },
	{ "CR LF in a header", { .target = "/", HDRS("X-A: a", "X-B: b\r\nX-C: c") }, -EINVAL,
	  "header 2 contains CR or LF: each value must be one line" },
	{ "LF in the host", { .target = "/", .host = "a.com\nX: y" }, -EINVAL,
	  "host contains CR or LF: each value must be one line" },
	{ "CR in the path", { .target = "/a\rb" }, -EINVAL,
	  "path contains CR or LF: each value must be one line" },
	{ "space in the path", { .target = "/a b" }, -EINVAL,
	  "path '/a b' contains a space or tab: percent-encode it (%20)" },
	{ "empty path", { .target = "" }, -EINVAL,
	  "the path (request-target) is empty: give --path /something" },
	{ "empty method", { .method = "", .target = "/" }, -EINVAL,
	  "method '' is not one token" },
	{ "method with a space", { .method = "GE T", .target = "/" }, -EINVAL,
	  "method 'GE T' is not one token" },
	{ "method not a token", { .method = "G(T", .target = "/" }, -EINVAL,
	  "request line 'G(T / HTTP/1.1' is not one kmesh.ko routes on (method a token; path '/...', 'http://authority/...', or '*' with OPTIONS; visible ASCII, no userinfo)" },
	{ "relative path", { .target = "api" }, -EINVAL,
	  "request line 'GET api HTTP/1.1' is not one kmesh.ko routes on (method a token; path '/...', 'http://authority/...', or '*' with OPTIONS; visible ASCII, no userinfo)" },
	{ "userinfo in the target", { .target = "http://u@a.com/" }, -EINVAL,
	  "request line 'GET http://u@a.com/ HTTP/1.1' is not one kmesh.ko routes on (method a token; path '/...', 'http://authority/...', or '*' with OPTIONS; visible ASCII, no userinfo)" },
	{ "userinfo in the host", { .target = "/", .host = "user@a.com" }, -EINVAL,
	  "host 'user@a.com' is not a valid authority (host[:port])" },
	{ "bad header name", { .target = "/", .host = "a", HDRS("X-A: 1", "Bad Name: v") }, -EINVAL,
	  "header 'Bad Name: v' is rejected by the HTTP parser (name a token, value visible ASCII; a second Host must equal the first)" },
	{ "second Host differs", { .target = "/", .host = "a.com", HDRS("Host: b.com") }, -EINVAL,
	  "header 'Host: b.com' is rejected by the HTTP parser (name a token, value visible ASCII; a second Host must equal the first)" },
	{ "33 header lines", { .target = "/", .host = "a", .n_headers = 32, .headers = too_many }, -E2BIG,
	  "33 header lines, kmesh.ko routes on requests with at most 32" },
	{ "head too long", { .target = "/", .n_headers = 1, .headers = (const char *const []){ long_header } }, -E2BIG,
	  "the request head is too long: kmesh.ko routes on heads of at most 4096 bytes" },
};

static void test_req_error(void **state)
{
	const struct req_error_row *r = *state;
	const struct built *b = table(T_HOSTS);
	static struct km_explain x;
	struct km_err err = {};
	int ret = km_explain(b->blob, b->len, &r->rq, &x, &err);

	if (ret != r->ret)
		fail_msg("returned %d (%s), want %d", ret, err.msg, r->ret);
	assert_string_equal(err.msg, r->msg);
}

/* Exactly KM_HTTP_MAX_HEADERS lines (Host included) are fine. */
static void test_req_max_headers(void **state)
{
	struct km_explain_req rq = { .target = "/", .host = "a.com",
				     .n_headers = 31, .headers = too_many };
	static struct km_explain x;

	explain_or_fail(T_HOSTS, &rq, &x);
	assert_int_equal(x.res.status, KM_ROUTE_MATCHED);
	assert_int_equal(x.req.n_headers, 32);
}

static void test_bad_table(void **state)
{
	static __u32 zero[64];
	struct km_explain_req rq = { .target = "/", .host = "a.com" };
	static struct km_explain x;
	struct km_err err = {};

	assert_int_equal(km_explain(zero, sizeof(zero), &rq, &x, &err), -EINVAL);
	assert_string_equal(err.msg, "the route table is malformed (the kernel would route this connection by the listener's default route)");
}

/* A version-1 table (before KM_RT_H_QUERY) is refused, not read with
 * query parameter matchers taken for header matchers: the version is what
 * keeps an old module and a new agent (or the reverse) from misrouting. */
static void test_old_version(void **state)
{
	const struct built *b = table(T_QUERY);
	struct km_explain_req rq = { .target = "/exact?v=2", .host = "h" };
	struct km_rt_head *h = exact_copy(b->blob, b->len);
	static struct km_explain x;
	struct km_err err = {};

	assert_int_equal(KM_RT_VERSION, 4);
	explain_or_fail(T_QUERY, &rq, &x);
	assert_int_equal(x.res.status, KM_ROUTE_MATCHED);
	h->version = 1;
	assert_int_equal(km_explain(h, b->len, &rq, &x, &err), -EINVAL);
	free(h);
}

/* ---- builder errors --------------------------------------------------------------------------- */

/* Changes the loaded model before the build: what the YAML reader would
 * refuse itself, or what only another source (xDS) could produce. */
typedef void (*model_edit)(struct km_m_route_config *rc);

struct build_error_row {
	const char *name;
	const char *yaml;
	model_edit edit;
	unsigned int flags;
	int ret;
	const char *msg;
};

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static char *long_string(char c, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);
	char *s = malloc(pl + n + 1);

	assert_non_null(s);
	memcpy(s, prefix, pl);
	memset(s + pl, c, n);
	s[pl + n] = 0;
	return s;
}

/* Grows an array of the model to n elements, each a copy of element 0
 * (shallow, then the strings the free function owns are duplicated by the
 * caller through fix). */
static void *grow(void *arr, size_t size, size_t *count, size_t n)
{
	unsigned char *a = realloc(arr, size * n);

	assert_non_null(a);
	for (size_t i = *count; i < n; i++)
		memset(a + i * size, 0, size);
	*count = n;
	return a;
}

static void add_vhosts(struct km_m_route_config *rc, size_t n)
{
	size_t old = rc->n_vhosts;
	char name[32];

	rc->vhosts = grow(rc->vhosts, sizeof(*rc->vhosts), &rc->n_vhosts, n);
	for (size_t i = old; i < n; i++) {
		struct km_m_vhost *v = &rc->vhosts[i];

		snprintf(name, sizeof(name), "v%zu", i);
		v->name = xstrdup(name);
		v->domains = calloc(1, sizeof(char *));
		assert_non_null(v->domains);
		snprintf(name, sizeof(name), "d%zu.com", i);
		v->domains[0] = xstrdup(name);
		v->n_domains = 1;
	}
}

static void add_domains(struct km_m_vhost *v, size_t n)
{
	char name[32];

	v->domains = realloc(v->domains, n * sizeof(char *));
	assert_non_null(v->domains);
	for (size_t i = v->n_domains; i < n; i++) {
		snprintf(name, sizeof(name), "x%zu.com", i);
		v->domains[i] = xstrdup(name);
	}
	v->n_domains = n;
}

/* n routes, each "prefix <path><i>" to c1 */
static void add_routes(struct km_m_vhost *v, size_t n, const char *path)
{
	char p[512];

	v->routes = grow(v->routes, sizeof(*v->routes), &v->n_routes, n);
	for (size_t i = 0; i < n; i++) {
		struct km_m_route *r = &v->routes[i];

		if (r->path)
			continue;
		snprintf(p, sizeof(p), "%s%zu", path, i);
		r->path_kind = KM_PATH_PREFIX;
		r->path = xstrdup(p);
		r->case_sensitive = true;
		r->action.clusters = calloc(1, sizeof(*r->action.clusters));
		assert_non_null(r->action.clusters);
		r->action.clusters[0].cluster = xstrdup("c1");
		r->action.clusters[0].weight = 1;
		r->action.n_clusters = 1;
	}
}

static struct km_m_route *route0(struct km_m_route_config *rc)
{
	return &rc->vhosts[0].routes[0];
}

static void edit_65_vhosts(struct km_m_route_config *rc) { add_vhosts(rc, KM_MAX_VHOSTS + 1); }
static void edit_64_vhosts(struct km_m_route_config *rc) { add_vhosts(rc, KM_MAX_VHOSTS); }
static void edit_65_domains(struct km_m_route_config *rc) { add_domains(&rc->vhosts[0], 65); }
static void edit_65_routes(struct km_m_route_config *rc) { add_routes(&rc->vhosts[0], KM_MAX_ROUTES + 1, "/r"); }

static void edit_9_headers(struct km_m_route_config *rc)
{
	struct km_m_route *r = route0(rc);

	r->headers = calloc(9, sizeof(*r->headers));
	assert_non_null(r->headers);
	for (size_t i = 0; i < 9; i++) {
		r->headers[i].name = xstrdup("x-h");
		r->headers[i].kind = KM_STR_PRESENT;
		r->headers[i].present = true;
	}
	r->n_headers = 9;
}

/* n query parameter matchers "v" present, from line 19 */
static void set_query_params(struct km_m_route *r, size_t n)
{
	static const struct km_src at19 = { .file = "t.yaml", .line = 19 };

	r->query_params = calloc(n, sizeof(*r->query_params));
	assert_non_null(r->query_params);
	for (size_t i = 0; i < n; i++) {
		r->query_params[i].src = at19;
		r->query_params[i].name = xstrdup("v");
		r->query_params[i].kind = KM_STR_PRESENT;
		r->query_params[i].present = true;
	}
	r->n_query_params = n;
}

/* 5 + 4: each list within the limit, not both */
static void edit_5_headers_4_query(struct km_m_route_config *rc)
{
	edit_9_headers(rc);
	for (size_t i = 5; i < 9; i++)
		free(route0(rc)->headers[i].name);
	route0(rc)->n_headers = 5;
	set_query_params(route0(rc), 4);
}

static void edit_4_headers_4_query(struct km_m_route_config *rc)
{
	edit_5_headers_4_query(rc);
	free(route0(rc)->headers[4].name);
	route0(rc)->n_headers = 4;
}

static void edit_9_query(struct km_m_route_config *rc)
{
	set_query_params(route0(rc), 9);
}

static void edit_query_invert(struct km_m_route_config *rc)
{
	set_query_params(route0(rc), 1);
	route0(rc)->query_params[0].invert = true;
}

static void edit_query_empty_name(struct km_m_route_config *rc)
{
	set_query_params(route0(rc), 2);
	route0(rc)->query_params[1].name[0] = 0;
}

static void edit_long_query_name(struct km_m_route_config *rc)
{
	set_query_params(route0(rc), 1);
	free(route0(rc)->query_params[0].name);
	route0(rc)->query_params[0].name = long_string('q', KM_MAX_MATCH_STR, "");
}

static void edit_long_query_value(struct km_m_route_config *rc)
{
	set_query_params(route0(rc), 1);
	route0(rc)->query_params[0].kind = KM_STR_CONTAINS;
	route0(rc)->query_params[0].value = long_string('v', KM_MAX_MATCH_STR, "");
}

static void edit_33_clusters(struct km_m_route_config *rc)
{
	struct km_m_action *a = &route0(rc)->action;

	a->clusters = grow(a->clusters, sizeof(*a->clusters), &a->n_clusters, 33);
	for (size_t i = 1; i < 33; i++) {
		a->clusters[i].cluster = xstrdup("c2");
		a->clusters[i].weight = 1;
	}
}

static void edit_long_domain(struct km_m_route_config *rc)
{
	free(rc->vhosts[0].domains[0]);
	rc->vhosts[0].domains[0] = long_string('d', KM_MAX_MATCH_STR, "");
}

static void edit_long_wildcard(struct km_m_route_config *rc)
{
	free(rc->vhosts[0].domains[0]);
	rc->vhosts[0].domains[0] = long_string('d', KM_MAX_MATCH_STR - 1, "*");
}

static void edit_longest_domain(struct km_m_route_config *rc)
{
	free(rc->vhosts[0].domains[0]);
	rc->vhosts[0].domains[0] = long_string('d', KM_MAX_MATCH_STR - 2, "*");
}

static void edit_long_path(struct km_m_route_config *rc)
{
	free(route0(rc)->path);
	route0(rc)->path = long_string('p', KM_MAX_MATCH_STR - 1, "/");
}

static void edit_long_header_name(struct km_m_route_config *rc)
{
	edit_9_headers(rc);
	route0(rc)->n_headers = 1;
	free(route0(rc)->headers[0].name);
	route0(rc)->headers[0].name = long_string('h', KM_MAX_MATCH_STR, "");
	for (size_t i = 1; i < 9; i++)
		free(route0(rc)->headers[i].name);
}

static void edit_long_header_value(struct km_m_route_config *rc)
{
	edit_9_headers(rc);
	route0(rc)->n_headers = 1;
	route0(rc)->headers[0].kind = KM_STR_SUFFIX;
	route0(rc)->headers[0].value = long_string('v', KM_MAX_MATCH_STR, "");
	for (size_t i = 1; i < 9; i++)
		free(route0(rc)->headers[i].name);
}

static void edit_long_route_name(struct km_m_route_config *rc)
{
	free(route0(rc)->name);
	route0(rc)->name = long_string('n', KM_MAX_MATCH_STR, "");
}

static void edit_dup_domain(struct km_m_route_config *rc)
{
	add_vhosts(rc, 2);
	free(rc->vhosts[1].domains[0]);
	rc->vhosts[1].domains[0] = xstrdup("A.com");
}

static void edit_dup_in_vhost(struct km_m_route_config *rc)
{
	add_domains(&rc->vhosts[0], 3);
	free(rc->vhosts[0].domains[2]);
	rc->vhosts[0].domains[2] = xstrdup("*.A.COM");
}

static void edit_two_any(struct km_m_route_config *rc)
{
	size_t n = rc->n_vhosts;

	add_vhosts(rc, n + 1);
	free(rc->vhosts[n].domains[0]);
	rc->vhosts[n].domains[0] = xstrdup("*");
	free(rc->vhosts[n].name);
	rc->vhosts[n].name = NULL;
}

static void edit_empty_domain(struct km_m_route_config *rc)
{
	free(rc->vhosts[0].domains[0]);
	rc->vhosts[0].domains[0] = xstrdup("");
}

static void edit_no_domains(struct km_m_route_config *rc)
{
	for (size_t i = 0; i < rc->vhosts[0].n_domains; i++)
		free(rc->vhosts[0].domains[i]);
	rc->vhosts[0].n_domains = 0;
}

static void edit_no_cluster(struct km_m_route_config *rc)
{
	struct km_m_action *a = &route0(rc)->action;

	free(a->clusters[0].cluster);
	a->n_clusters = 0;
}

static void edit_zero_weight(struct km_m_route_config *rc)
{
	route0(rc)->action.clusters[0].weight = 0;
}

static void edit_total_weight(struct km_m_route_config *rc)
{
	route0(rc)->action.total_weight = 99;
}

static void edit_weight_overflow(struct km_m_route_config *rc)
{
	struct km_m_action *a = &route0(rc)->action;

	edit_33_clusters(rc);
	a->n_clusters = 2;
	free(a->clusters[2].cluster);	/* 2..32 dropped */
	for (size_t i = 3; i < 33; i++)
		free(a->clusters[i].cluster);
	a->clusters[0].weight = KM_MAX_TOTAL_WEIGHT;
	a->clusters[1].weight = 1;
}

/* 64 vhosts x 64 routes with 200-byte paths: every limit kept, too big */
/* 1024 vhosts x 16 routes with 195-byte paths: ~3.9 MB, over
 * KM_ROUTE_TABLE_BIG */
static void edit_too_big(struct km_m_route_config *rc)
{
	char path[201];

	memset(path, 'p', 200);
	path[0] = '/';
	path[196] = 0;
	add_vhosts(rc, 1024);
	for (size_t i = 0; i < 1024; i++)
		add_routes(&rc->vhosts[i], 16, path);
}

/* 64 vhosts x 64 routes with 195-byte paths: ~1 MB, a km_route_big table */
static void edit_big_table(struct km_m_route_config *rc)
{
	char path[201];

	memset(path, 'p', 200);
	path[0] = '/';
	path[196] = 0;
	add_vhosts(rc, 64);
	for (size_t i = 0; i < 64; i++)
		add_routes(&rc->vhosts[i], 64, path);
}

/* 64 vhosts x 16 routes with 60-byte paths: ~100 KiB, fits */
static void edit_big_fits(struct km_m_route_config *rc)
{
	add_vhosts(rc, 64);
	for (size_t i = 0; i < 64; i++)
		add_routes(&rc->vhosts[i], 16,
			   "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

/* as the xDS reader fills it: file "xds", no line, unnamed route */
static void edit_xds_src(struct km_m_route_config *rc)
{
	static const struct km_src xds = { .file = "xds", .line = 0 };

	rc->src = xds;
	rc->vhosts[0].src = xds;
	route0(rc)->src = xds;
	route0(rc)->action.src = xds;
	route0(rc)->action.clusters[0].src = xds;
	free(route0(rc)->name);
	route0(rc)->name = NULL;
	free(route0(rc)->action.clusters[0].cluster);
	route0(rc)->action.clusters[0].cluster = xstrdup("nope");
}

static void edit_regex_kind(struct km_m_route_config *rc)
{
	route0(rc)->path_kind = 9;
}

static void edit_unnamed_config(struct km_m_route_config *rc)
{
	free(rc->name);
	rc->name = NULL;
	edit_regex_kind(rc);
}

/* one vhost "vh" (line 15) with domains a.com and *.a.com, route "r" at
 * line 18: its header matchers at line 19, its action at line 20 */
#define ONE_ROUTE(match, action)					\
	CONFIG(VH("vh", "[\"a.com\", \"*.a.com\"]")			\
	       "              - name: r\n"				\
	       "                match: " match "\n"			\
	       "                route: " action "\n")
static const char base_yaml[] = ONE_ROUTE("{ prefix: / }", "{ cluster: c1 }");

#define AT_VH "t.yaml:15: route_config 'rc': virtual_host 'vh'"
#define AT_R "t.yaml:18: route_config 'rc': virtual_host 'vh': route 'r'"

/* 33 nested groups (a message quotes the first 64 bytes) */
#define DEEP33 "(((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))"

static const struct build_error_row build_error_rows[] = {
	{ "regex path", ONE_ROUTE("{ safe_regex: { regex: \"/a.*\" } }", "{ cluster: c1 }"), NULL, 0, 0, NULL },
	{ "regex path backreference", ONE_ROUTE("{ safe_regex: { regex: \"/(a)\\\\1\" } }", "{ cluster: c1 }"), NULL, 0, -EINVAL,
	  AT_R ": match: safe_regex '/(a)\\1': backreference \\1 at offset 4 is not supported (RE2 has none)" },
	{ "regex path over the state limit", ONE_ROUTE("{ safe_regex: { regex: \"/(a|b)*a(a|b){9}\" } }", "{ cluster: c1 }"), NULL, 0, -EINVAL,
	  AT_R ": match: safe_regex '/(a|b)*a(a|b){9}': the DFA would need more than 1024 states (limits: 1024 states, 16384 transitions; 4 byte classes here)" },
	{ "regex header lookahead", ONE_ROUTE("{ prefix: /, headers: [ { name: X-V, safe_regex_match: { regex: \"v(?=1)\" } } ] }", "{ cluster: c1 }"), NULL, 0, -EINVAL,
	  "t.yaml:19: route_config 'rc': virtual_host 'vh': route 'r': header 'X-V': safe_regex 'v(?=1)': lookahead (?= at offset 1 is not supported (RE2 has none)" },
	{ "regex string_match word boundary", ONE_ROUTE("{ prefix: /, headers: [ { name: x, string_match: { safe_regex: { regex: \"\\\\ba\" } } } ] }", "{ cluster: c1 }"), NULL, 0, -EINVAL,
	  "t.yaml:19: route_config 'rc': virtual_host 'vh': route 'r': header 'x': safe_regex '\\ba': word boundary \\b at offset 0 is not supported" },
	{ "regex query parameter nesting", ONE_ROUTE("{ prefix: /, query_parameters: [ { name: v, string_match: { safe_regex: { regex: \"" DEEP33 "\" } } } ] }", "{ cluster: c1 }"), NULL, 0, -EINVAL,
	  "t.yaml:19: route_config 'rc': virtual_host 'vh': route 'r': query parameter 'v': safe_regex '" "(((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))...': groups nested deeper than 32 at offset 32" },
	{ "regex query parameter unicode class", ONE_ROUTE("{ prefix: /, query_parameters: [ { name: v, string_match: { safe_regex: { regex: \"\\\\p{L}\" } } } ] }", "{ cluster: c1 }"), NULL, 0, -EINVAL,
	  "t.yaml:19: route_config 'rc': virtual_host 'vh': route 'r': query parameter 'v': safe_regex '\\p{L}': Unicode class \\p at offset 0 is not supported" },
	{ "unknown pseudo-header", ONE_ROUTE("{ prefix: /, headers: [ { name: \":scheme\", exact_match: http } ] }", "{ cluster: c1 }"), NULL, 0, -EINVAL,
	  "t.yaml:19: route_config 'rc': virtual_host 'vh': route 'r': header ':scheme': pseudo-header is not supported (:method, :path and :authority are)" },
	{ "unknown cluster", ONE_ROUTE("{ prefix: / }", "{ cluster: nope }"), NULL, 0, -ENOENT,
	  "t.yaml:20: route_config 'rc': virtual_host 'vh': route 'r': cluster 'nope' is not defined" },
	{ "unknown weighted cluster", ONE_ROUTE("{ prefix: / }", "{ weighted_clusters: { clusters: [ { name: c1, weight: 1 }, { name: c9, weight: 1 } ] } }"), NULL, 0, -ENOENT,
	  "t.yaml:20: route_config 'rc': virtual_host 'vh': route 'r': cluster 'c9' is not defined" },
	{ "4097 virtual hosts", base_yaml, edit_65_vhosts, 0, -EINVAL,
	  "t.yaml:13: route_config 'rc': 4097 virtual_hosts, limit is 4096" },
	{ "4096 virtual hosts", base_yaml, edit_64_vhosts, 0, 0, NULL },
	{ "65 domains", base_yaml, edit_65_domains, 0, -EINVAL,
	  AT_VH ": 65 domains, limit is 64" },
	{ "no domains", base_yaml, edit_no_domains, 0, -EINVAL,
	  AT_VH ": domains is empty" },
	{ "257 routes", base_yaml, edit_65_routes, 0, -EINVAL,
	  "t.yaml:13: route_config 'rc': virtual_host 'vh': 257 routes, limit is 256" },
	{ "9 header matchers", base_yaml, edit_9_headers, 0, -EINVAL,
	  AT_R ": 9 header matchers, limit is 8" },
	{ "5 header and 4 query parameter matchers", base_yaml, edit_5_headers_4_query, 0, -EINVAL,
	  AT_R ": 5 header and 4 query parameter matchers, limit is 8 in all" },
	{ "4 header and 4 query parameter matchers", base_yaml, edit_4_headers_4_query, 0, 0, NULL },
	{ "9 query parameter matchers", base_yaml, edit_9_query, 0, -EINVAL,
	  AT_R ": 9 query parameter matchers, limit is 8" },
	{ "inverted query parameter", base_yaml, edit_query_invert, 0, -EINVAL,
	  "t.yaml:19: route_config 'rc': virtual_host 'vh': route 'r': query parameter 'v': invert_match is not supported for query parameters" },
	{ "empty query parameter name", base_yaml, edit_query_empty_name, 0, -EINVAL,
	  "t.yaml:19: route_config 'rc': virtual_host 'vh': route 'r': query_parameters[1]: name is empty" },
	{ "query parameter name of 1024 bytes", base_yaml, edit_long_query_name, 0, -EINVAL,
	  "t.yaml:19: route_config 'rc': virtual_host 'vh': route 'r': query parameter 'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq...' is 1024 bytes long, limit is 1023" },
	{ "query parameter value of 1024 bytes", base_yaml, edit_long_query_value, 0, -EINVAL,
	  "t.yaml:19: route_config 'rc': virtual_host 'vh': route 'r': query parameter 'v': value is 1024 bytes long, limit is 1023" },
	{ "33 weighted clusters", base_yaml, edit_33_clusters, 0, -EINVAL,
	  "t.yaml:20: route_config 'rc': virtual_host 'vh': route 'r': weighted_clusters: 33 clusters, limit is 32" },
	{ "domain of 1024 bytes", base_yaml, edit_long_domain, 0, -EINVAL,
	  AT_VH ": domains[0] is 1024 bytes long, limit is 1023" },
	{ "wildcard of 1024 bytes", base_yaml, edit_long_wildcard, 0, -EINVAL,
	  AT_VH ": domains[0] is 1024 bytes long, limit is 1023" },
	{ "wildcard of 1023 bytes", base_yaml, edit_longest_domain, 0, 0, NULL },
	{ "path of 1024 bytes", base_yaml, edit_long_path, 0, -EINVAL,
	  AT_R ": match: path is 1024 bytes long, limit is 1023" },
	{ "header name of 1024 bytes", base_yaml, edit_long_header_name, 0, -EINVAL,
	  AT_R ": header 'hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh...' is 1024 bytes long, limit is 1023" },
	{ "header value of 1024 bytes", base_yaml, edit_long_header_value, 0, -EINVAL,
	  AT_R ": header 'x-h': value is 1024 bytes long, limit is 1023" },
	{ "route name of 1024 bytes", base_yaml, edit_long_route_name, 0, -EINVAL,
	  "t.yaml:18: route_config 'rc': virtual_host 'vh': route 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...': name is 1024 bytes long, limit is 1023" },
	{ "duplicate domain across virtual hosts", base_yaml, edit_dup_domain, 0, -EINVAL,
	  "t.yaml:13: route_config 'rc': virtual_host 'v1': domain 'A.com' is also in virtual_host 'vh' (line 15)" },
	{ "duplicate domain in a virtual host", base_yaml, edit_dup_in_vhost, 0, -EINVAL,
	  AT_VH ": domain '*.A.COM' appears twice" },
	{ "two '*'", hosts_yaml, edit_two_any, 0, -EINVAL,
	  "t.yaml:13: route_config 'rc': virtual_hosts[6]: domain '*' is also in virtual_host 'any' (line 45)" },
	{ "empty domain", base_yaml, edit_empty_domain, 0, -EINVAL,
	  AT_VH ": domains[0] is empty" },
	{ "route without cluster", base_yaml, edit_no_cluster, 0, -EINVAL,
	  "t.yaml:20: route_config 'rc': virtual_host 'vh': route 'r': weighted_clusters: clusters is empty" },
	{ "weights add up to 0", base_yaml, edit_zero_weight, 0, -EINVAL,
	  "t.yaml:20: route_config 'rc': virtual_host 'vh': route 'r': weighted_clusters: the sum of weights is 0: no cluster would get traffic" },
	{ "total_weight differs", base_yaml, edit_total_weight, 0, -EINVAL,
	  "t.yaml:20: route_config 'rc': virtual_host 'vh': route 'r': weighted_clusters: total_weight 99 differs from the sum of weights 1" },
	{ "weights overflow", base_yaml, edit_weight_overflow, 0, -EINVAL,
	  "t.yaml:20: route_config 'rc': virtual_host 'vh': route 'r': weighted_clusters: sum of weights 2147483648 is over the limit 2147483647" },
	{ "over KM_ROUTE_TABLE_BIG", base_yaml, edit_too_big, 0, -E2BIG,
	  "t.yaml:13: route_config 'rc': compiled route table would be 3981032 bytes, limit is 3145728 (KM_ROUTE_TABLE_BIG): fewer virtual hosts, routes or shorter strings" },
	{ "1 MB fits (a big table)", base_yaml, edit_big_table, 0, 0, NULL },
	{ "100 KiB fits", base_yaml, edit_big_fits, 0, 0, NULL },
	{ "xDS source, unnamed route", base_yaml, edit_xds_src, 0, -ENOENT,
	  "route_config 'rc': virtual_host 'vh': routes[0]: cluster 'nope' is not defined" },
	{ "unknown path kind", base_yaml, edit_regex_kind, 0, -EINVAL,
	  AT_R ": match: unknown path match kind 9" },
	{ "unnamed route config", base_yaml, edit_unnamed_config, 0, -EINVAL,
	  "t.yaml:18: route_config: virtual_host 'vh': route 'r': match: unknown path match kind 9" },
	{ "unknown flag", base_yaml, NULL, 0x10, -EINVAL,
	  "t.yaml:13: route_config 'rc': unknown route table flags 0x10" },
};

static int refuse_cluster(void *ctx, const char *name, __u32 *id)
{
	return -EOPNOTSUPP;
}

static void test_build_error(void **state)
{
	const struct build_error_row *r = *state;
	struct km_model m = {};
	struct km_err err = {};
	void *out = (void *)&m;
	size_t len = 12345;
	int ret;

	if (load(r->yaml, &m, &err))
		fail_msg("does not load: %s", err.msg);
	if (r->edit)
		r->edit(route_config(&m));
	ret = km_route_build(route_config(&m), r->flags, model_cluster_id, &m,
			     &out, &len, &err);
	if (ret != r->ret)
		fail_msg("returned %d (%s), want %d", ret, err.msg, r->ret);
	if (ret == 0) {
		const struct km_rt_head *h = km_rt_view_head(out, len);

		assert_non_null(h);
		assert_int_equal(h->n_vhosts, route_config(&m)->n_vhosts);
		free(out);
	} else {
		assert_string_equal(err.msg, r->msg);
		/* *out untouched on error */
		assert_ptr_equal(out, &m);
		assert_int_equal(len, 12345);
	}
	km_model_free(&m);
}

/* A pattern used twice (a path and a header here) is one DFA in the
 * table; both matchers use it, a third pattern gets its own. */
static void test_regex_shared(void **state)
{
	static const char yaml[] = CONFIG(
		VH("vh", "[\"*\"]")
		R("p", "safe_regex: { regex: \"/[a-z]+\" }", "c1")
		H("h", "/", "{ name: x-v, safe_regex_match: { regex: \"/[a-z]+\" } }", "c2")
		H("q", "/", "{ name: x-w, safe_regex_match: { regex: \"[0-9]+\" } }", "c3"));
	struct km_explain_req rq = { .target = "/1", .host = "h" };
	const char *hd[] = { "x-v: /ab" };
	struct km_model m = {};
	struct km_err err = {};
	static struct km_explain x;
	const struct km_rt_regexes *rx;
	const struct km_rt_head *h;
	void *out = NULL;
	size_t len;

	if (load(yaml, &m, &err) ||
	    km_route_build(route_config(&m), 0, model_cluster_id, &m, &out,
			   &len, &err))
		fail_msg("%s", err.msg);
	h = km_rt_view_head(out, len);
	assert_non_null(h);
	assert_int_not_equal(h->regex_off, 0);
	rx = (const void *)((const char *)out + h->regex_off);
	assert_int_equal(rx->n, 2);
	assert_int_equal(km_rt_view_route(out, len, 0, 0)->regex,
			 km_rt_view_header(out, len, 0, 1, 0)->regex);
	assert_int_not_equal(km_rt_view_header(out, len, 0, 1, 0)->regex,
			     km_rt_view_header(out, len, 0, 2, 0)->regex);
	rq.n_headers = 1;
	rq.headers = hd;
	assert_int_equal(km_explain(out, len, &rq, &x, &err), 0);
	assert_int_equal(x.res.route, 1);
	free(out);
	km_model_free(&m);
}

/* The callback's own error comes back with the cluster named. */
static void test_build_callback_error(void **state)
{
	struct km_model m = {};
	struct km_err err = {};
	void *out = NULL;
	size_t len;

	assert_int_equal(load(base_yaml, &m, &err), 0);
	assert_int_equal(km_route_build(route_config(&m), 0, refuse_cluster,
					NULL, &out, &len, &err), -EOPNOTSUPP);
	assert_string_equal(err.msg, "t.yaml:20: route_config 'rc': virtual_host 'vh': route 'r': cluster 'c1' cannot be a route's target (Operation not supported)");
	assert_null(out);
	km_model_free(&m);
}

/* ---- damaged blobs ---------------------------------------------------------------------------- */

static const struct km_explain_req damage_reqs[] = {
	{ .target = "/exact/", .host = "h", HDRS("x-h: Yes") },
	{ .target = "/two", .host = "x.a.com", HDRS("x-a: 1", "x-b: 2") },
	{ .method = "POST", .target = "/pathhdr?q=1", .host = "h" },
	{ .target = "/inv-prefix-ic", .host = "h", HDRS("x-h: user", "X-Mixed-Case: v") },
	{ .target = "/nothing" },
	{ .target = "/weighted", .host = "h" },
	{ .target = "/exact?a&v=2&v=1#f", .host = "h" },
	{ .target = "/mixed?v=2", .host = "h", HDRS("x-h: 1") },
	{ .target = "/absent?x=1&&vx", .host = "h" },
	/* T_REGEX's path, header and query regexes */
	{ .target = "/users/bob/orders/12", .host = "h" },
	{ .target = "/h", .host = "h", HDRS("x-v: v1.2") },
	{ .target = "/b/x?id=a_1", .host = "h" },
};

/* The tables the damage tests break: the header matchers, and the query
 * parameter matchers. */
static const enum table_id damage_tables[] = { T_HEADERS, T_QUERY, T_REGEX };

/* One damaged blob: every answer is a valid one or -EINVAL. */
static void check_damaged(const void *blob, size_t len, const char *what)
{
	static struct km_explain x[NELEM(damage_reqs)];
	static bool parsed;
	struct km_route_result res;
	struct km_err err = {};
	int ret;

	if (!parsed) {
		const struct built *b = table(T_HEADERS);

		for (size_t i = 0; i < NELEM(damage_reqs); i++)
			assert_int_equal(km_explain(b->blob, b->len,
						    &damage_reqs[i], &x[i],
						    &err), 0);
		parsed = true;
	}
	for (size_t i = 0; i < NELEM(damage_reqs); i++) {
		memset(&res, 0xa5, sizeof(res));
		ret = km_route_match(blob, (__u32)len, x[i].head, &x[i].req,
				     &res);
		if (ret == -EINVAL) {
			if (res.status != KM_ROUTE_BAD_TABLE)
				fail_msg("%s: -EINVAL with status %u", what,
					 res.status);
			continue;
		}
		if (ret == -ENOENT) {
			if (res.status != KM_ROUTE_NO_VHOST &&
			    res.status != KM_ROUTE_NO_ROUTE)
				fail_msg("%s: -ENOENT with status %u", what,
					 res.status);
			continue;
		}
		if (ret != 0 || res.status != KM_ROUTE_MATCHED)
			fail_msg("%s: returned %d, status %u", what, ret,
				 res.status);
		if (res.action.n_targets < 1 ||
		    res.action.n_targets > KM_MAX_WEIGHTED ||
		    res.action.total_weight == 0)
			fail_msg("%s: matched with %u targets, total %u", what,
				 res.action.n_targets, res.action.total_weight);
		for (__u32 d = 0; d < 64; d++)
			if (km_route_pick_cluster(&res, d * 0x9e3779b9u) < 0)
				fail_msg("%s: a match that picks no cluster",
					 what);
	}
}

static void test_damage_flip(void **state)
{
	const struct built *b = table(*(const enum table_id *)*state);
	static const unsigned char masks[] = { 0x01, 0x80, 0xff, 0x10 };
	unsigned char *c = malloc(b->len);
	char what[64];

	assert_non_null(c);
	for (size_t i = 0; i < b->len; i++)
		for (size_t k = 0; k < NELEM(masks); k++) {
			memcpy(c, b->blob, b->len);
			c[i] ^= masks[k];
			snprintf(what, sizeof(what), "byte %zu ^ 0x%02x", i,
				 masks[k]);
			check_damaged(c, b->len, what);
		}
	free(c);
}

/* A __u32 field set to values that stress bounds arithmetic. */
static void test_damage_words(void **state)
{
	const struct built *b = table(*(const enum table_id *)*state);
	static const __u32 vals[] = { 0, 1, 3, 0x7fff, 0xffff, 0x10000,
				      0x7fffffff, 0x80000000u, 0xfffffffcu,
				      0xffffffffu };
	__u32 *c = malloc(b->len);
	char what[64];

	assert_non_null(c);
	for (size_t i = 0; i < b->len / 4; i++)
		for (size_t k = 0; k < NELEM(vals); k++) {
			memcpy(c, b->blob, b->len);
			c[i] = vals[k];
			snprintf(what, sizeof(what), "word %zu = 0x%x", i,
				 vals[k]);
			check_damaged(c, b->len, what);
		}
	free(c);
}

/* Every truncation is refused: the head says how long the blob is. */
static void test_damage_truncate(void **state)
{
	const struct built *b = table(*(const enum table_id *)*state);
	const struct km_explain_req rq = { .target = "/", .host = "h" };
	static struct km_explain x;
	struct km_route_result res;
	struct km_err err = {};

	assert_int_equal(km_explain(b->blob, b->len, &rq, &x, &err), 0);
	for (size_t n = 0; n < b->len; n++) {
		void *c = exact_copy(b->blob, n);

		if (km_route_match(c, (__u32)n, x.head, &x.req, &res) != -EINVAL)
			fail_msg("truncated to %zu of %zu bytes: not -EINVAL",
				 n, b->len);
		check_damaged(c, n, "truncated");
		free(c);
	}
}

/* A map value is longer than its blob: the bytes after it are never read
 * as part of it. */
static void test_map_value_tail(void **state)
{
	const struct built *b = table(T_HEADERS);
	unsigned char *v = malloc(KM_ROUTE_TABLE_MAX);
	static struct km_explain a, x;
	struct km_err err = {};

	assert_non_null(v);
	memset(v, 0xee, KM_ROUTE_TABLE_MAX);
	memcpy(v, b->blob, b->len);
	for (size_t i = 0; i < NELEM(damage_reqs); i++) {
		assert_int_equal(km_explain(b->blob, b->len, &damage_reqs[i],
					    &a, &err), 0);
		assert_int_equal(km_explain(v, KM_ROUTE_TABLE_MAX,
					    &damage_reqs[i], &x, &err), 0);
		assert_memory_equal(&a.res, &x.res, sizeof(a.res));
		assert_int_equal(a.domain, x.domain);
	}
	/* misaligned: refused */
	assert_int_equal(km_explain(v + 1, KM_ROUTE_TABLE_MAX - 4,
				    &damage_reqs[0], &x, &err), -EINVAL);
	free(v);
}

/* ---- runner ------------------------------------------------------------------------------------ */

static struct CMUnitTest *tests;
static size_t n_tests, max_tests;
static char **names;

static void add(const char *kind, const char *row, CMUnitTestFunction f,
		const void *arg)
{
	char *name;

	if (n_tests == max_tests) {	/* main()'s count is short: say so */
		fprintf(stderr, "test_route_match: more than %zu tests\n", max_tests);
		exit(1);
	}
	assert_true(asprintf(&name, "%s: %s", kind, row) > 0);
	names[n_tests] = name;
	tests[n_tests++] = (struct CMUnitTest){
		.name = name, .test_func = f, .initial_state = (void *)arg,
	};
}

/*
 * A hostile concurrent writer. The table is a map value: anyone holding the
 * map can rewrite it while kmesh.ko matches. Here a second thread keeps
 * rewriting words of the live blob (each length, count and offset field in
 * turn: to a huge value, to a random one, back to the original) while this
 * thread matches requests that reach every record kind. The blob and the
 * request each end at a PROT_NONE page: a length read again after its check
 * and found bigger would read into it and crash the test. Bounded by count.
 */
struct race {
	__u32 *words;
	size_t n;
	volatile int stop;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	__u32 *orig = malloc(r->n * 4), seed = 12345;
	size_t i = 0;

	if (!orig)
		return NULL;
	memcpy(orig, r->words, r->n * 4);
	while (!r->stop) {
		volatile __u32 *w = &r->words[i % r->n];

		seed = seed * 1103515245u + 12345u;
		*w = orig[i % r->n] | 0xffff0000u;	/* high half: counts */
		*w = orig[i % r->n] | 0x0000ffffu;	/* low half: lengths */
		*w = seed;
		*w = orig[i % r->n];
		i++;
	}
	memcpy(r->words, orig, r->n * 4);
	free(orig);
	return NULL;
}

/* len bytes of p at the end of a mapping whose next page is PROT_NONE */
static void *before_guard(const void *p, size_t len, void **map, size_t *maplen)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t body = (len + pg - 1) / pg * pg;
	char *m = mmap(NULL, body + pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + body, pg, PROT_NONE), 0);
	*map = m;
	*maplen = body + pg;
	memcpy(m + body - len, p, len);
	return m + body - len;
}

static void test_concurrent_writer(void **state)
{
	static const char *const heads[] = {
		"GET /api/x HTTP/1.1\r\nHost: a.com\r\n\r\n",
		"GET /api HTTP/1.1\r\nHost: www.a.b\r\n\r\n",
		"GET /Static/y?q=1 HTTP/1.1\r\nHost: x.b.a.com\r\nX-A: 1\r\n\r\n",
		"GET /exact HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
	};
	enum table_id ids[] = { T_PATHS, T_HOSTS, T_HEADERS };
	struct km_route_result res;
	struct km_http_req req;
	void *bmap, *hmap[NELEM(heads)], *blob;
	const char *buf[NELEM(heads)];
	size_t bmaplen, hmaplen[NELEM(heads)];
	long matched = 0;

	for (size_t h = 0; h < NELEM(heads); h++)
		buf[h] = before_guard(heads[h], strlen(heads[h]), &hmap[h],
				      &hmaplen[h]);
	for (size_t t = 0; t < NELEM(ids); t++) {
		const struct built *b = table(ids[t]);
		struct race r;
		pthread_t th;

		assert_int_equal(b->len % 4, 0);
		blob = before_guard(b->blob, b->len, &bmap, &bmaplen);
		r = (struct race){ .words = blob, .n = b->len / 4 };
		assert_int_equal(pthread_create(&th, NULL, race_writer, &r), 0);
		for (long i = 0; i < 200000; i++) {
			size_t h = i % NELEM(heads);

			assert_int_equal(km_http_parse(buf[h], strlen(heads[h]), &req), 0);
			if (km_route_match(blob, b->len, buf[h], &req, &res) == 0)
				matched++;
		}
		r.stop = 1;
		pthread_join(th, NULL);
		/* the writer put every word back: the table routes again */
		assert_int_equal(km_http_parse(buf[0], strlen(heads[0]), &req), 0);
		assert_int_equal(km_route_match(blob, b->len, buf[0], &req, &res), 0);
		munmap(bmap, bmaplen);
	}
	for (size_t h = 0; h < NELEM(heads); h++)
		munmap(hmap[h], hmaplen[h]);
	print_message("concurrent writer: 600000 matches, %ld routed\n", matched);
}

/*
 * Double fetches, found deterministically. The blob sits alone in pages
 * that are PROT_NONE during a match: each load from it faults, the handler
 * counts the word it touched, opens the pages and single-steps (TF) that
 * one instruction, and the trap closes them again. Every 32-bit word of
 * every record (head, virtual hosts, domains, routes, header matchers,
 * targets) must be loaded at most once per match: a record is copied out
 * once and checked and used from the copy. Strings are read in place and
 * not counted. x86-64 only (the trap flag).
 */
static char *trace_base;
static size_t trace_len;
static unsigned char trace_reads[KM_ROUTE_TABLE_MAX / 4];

static void trace_segv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	char *a = si->si_addr;

	if (a < trace_base || a >= trace_base + trace_len) {
		signal(SIGSEGV, SIG_DFL);	/* a real fault: crash */
		return;
	}
	if (trace_reads[(a - trace_base) / 4] < 255)
		trace_reads[(a - trace_base) / 4]++;
	mprotect(trace_base, trace_len, PROT_READ);
	uc->uc_mcontext.gregs[REG_EFL] |= 0x100;
}

static void trace_trap(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	mprotect(trace_base, trace_len, PROT_NONE);
	uc->uc_mcontext.gregs[REG_EFL] &= ~0x100;
}

/* marks the words [off, off + size) as record words in rec[] */
static void trace_mark(unsigned char *rec, __u32 off, __u32 size, __u32 len)
{
	assert_true(off + size <= len);
	for (__u32 w = off / 4; w < (off + size) / 4; w++)
		rec[w] = 1;
}

static void trace_records(const void *blob, __u32 len, unsigned char *rec)
{
	const struct km_rt_head *h = blob;
	const struct km_rt_index *x = (const void *)((const char *)blob + h->index_off);

	trace_mark(rec, 0, sizeof(*h), len);
	/* the domain index: a bucket's start[] words, the entries */
	trace_mark(rec, h->index_off, sizeof(*x), len);
	trace_mark(rec, x->bucket_off, ((1u << x->bucket_bits) + 1) * 4, len);
	trace_mark(rec, x->exact_off, x->n_exact * sizeof(struct km_rt_dref), len);
	trace_mark(rec, x->wild_off, x->n_wild * sizeof(struct km_rt_dref), len);
	trace_mark(rec, h->vhost_off, h->n_vhosts * sizeof(struct km_rt_vhost), len);
	for (__u32 i = 0; i < h->n_vhosts; i++) {
		const struct km_rt_vhost *v = km_rt_view_vhost(blob, len, i);

		assert_non_null(v);
		trace_mark(rec, v->domain_off, v->n_domains * sizeof(struct km_rt_domain), len);
		trace_mark(rec, v->route_off, v->n_routes * sizeof(struct km_rt_route), len);
		for (__u32 j = 0; j < v->n_routes; j++) {
			const struct km_rt_route *r = (const void *)
				((const char *)blob + v->route_off + j * sizeof(*r));

			trace_mark(rec, r->header_off,
				   r->n_headers * sizeof(struct km_rt_header_match), len);
			trace_mark(rec, r->target_off,
				   r->n_targets * sizeof(struct km_target), len);
		}
	}
}

static void test_single_fetch(void **state)
{
	static const struct { enum table_id t; const char *head; } reqs[] = {
		{ T_HOSTS, "GET / HTTP/1.1\r\nHost: x.b.a.com\r\n\r\n" },
		{ T_HOSTS, "GET / HTTP/1.1\r\nHost: other.net\r\n\r\n" },
		{ T_PATHS, "GET /api/x HTTP/1.1\r\nHost: h\r\n\r\n" },
		{ T_PATHS, "GET /STATIC/x HTTP/1.1\r\nHost: h\r\n\r\n" },
		{ T_HEADERS, "GET /two HTTP/1.1\r\nHost: h\r\nx-a: 1\r\nx-b: 2\r\n\r\n" },
		{ T_HEADERS, "GET /inv-prefix-ic HTTP/1.1\r\nHost: h\r\nx-h: user\r\n\r\n" },
		{ T_HEADERS, "GET /weighted HTTP/1.1\r\nHost: h\r\n\r\n" },
		{ T_QUERY, "GET /two?a&b=2 HTTP/1.1\r\nHost: h\r\n\r\n" },
	};
	struct sigaction sa = { .sa_flags = SA_SIGINFO }, old_segv, old_trap;
	static unsigned char rec[KM_ROUTE_TABLE_MAX / 4];
	struct km_route_result res;
	struct km_http_req req;
	long pg = sysconf(_SC_PAGESIZE);
	int ret;

	sa.sa_sigaction = trace_segv;
	sigaction(SIGSEGV, &sa, &old_segv);
	sa.sa_sigaction = trace_trap;
	sigaction(SIGTRAP, &sa, &old_trap);
	for (size_t i = 0; i < NELEM(reqs); i++) {
		const struct built *b = table(reqs[i].t);
		const char *head = reqs[i].head;

		trace_len = (b->len + pg - 1) / pg * pg;
		trace_base = mmap(NULL, trace_len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(trace_base != MAP_FAILED);
		memcpy(trace_base, b->blob, b->len);
		memset(rec, 0, sizeof(rec));
		trace_records(b->blob, b->len, rec);
		assert_int_equal(km_http_parse(head, strlen(head), &req), 0);
		memset(trace_reads, 0, sizeof(trace_reads));
		mprotect(trace_base, trace_len, PROT_NONE);
		ret = km_route_match_O0(trace_base, b->len, head, &req, &res);
		mprotect(trace_base, trace_len, PROT_READ);
		assert_true(ret == 0 || ret == -ENOENT);
		assert_int_not_equal(res.status, KM_ROUTE_BAD_TABLE);
		if (trace_reads[0] != 1)	/* the tracer saw the head's magic */
			fail_msg("the head's first word was loaded %u times", trace_reads[0]);
		for (__u32 w = 0; w < b->len / 4; w++)
			if (rec[w] && trace_reads[w] > 1)
				fail_msg("%s: record word at offset %u loaded %u times in one match",
					 tables[reqs[i].t].name, w * 4, trace_reads[w]);
		munmap(trace_base, trace_len);
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGTRAP, &old_trap, NULL);
}

/*
 * Istio's shape at its largest: 4,096 virtual hosts of four domains each
 * (16,384 in all), found through the domain index. Exact domains (any
 * case), then the longest suffix, then the longest prefix, then "*", as
 * the linear scan of table version 2 did; a km_route_big table (over
 * KM_ROUTE_TABLE_MAX).
 */
static int one_cluster(void *ctx, const char *name, __u32 *id)
{
	*id = 0;
	return 0;
}

static void test_big_table(void **state)
{
	static const struct { const char *host; int vhost; } want[] = {
		{ "svc7.ns.svc.cluster.local", 7 },
		{ "SVC4095.NS.SVC.CLUSTER.LOCAL", 4095 },
		{ "svc77", 77 },
		{ "10.15.255.1", 4095 },
		{ "10.0.9.1:80", 9 },
		{ "other.ns.svc.cluster.local", 1 },	/* *.ns.svc.cluster.local */
		{ "x.svc.cluster.local", 3 },		/* the shorter suffix */
		{ "svc5.elsewhere", 2 },		/* svc5.* */
		{ "nowhere", 0 },			/* * */
		{ "svc12.ns.svc.cluster.local:80", 0 },	/* exact needs the port */
	};
	struct km_m_route_config rc = { .name = xstrdup("big") };
	struct km_err err = {};
	char buf[256], head[512];
	void *blob = NULL;
	size_t len = 0;

	(void)state;
	add_vhosts(&rc, KM_MAX_VHOSTS);
	for (size_t i = 0; i < KM_MAX_VHOSTS; i++) {
		struct km_m_vhost *v = &rc.vhosts[i];

		add_domains(v, 4);
		for (size_t j = 0; j < 4; j++)
			free(v->domains[j]);
		snprintf(buf, sizeof(buf), "svc%zu.ns.svc.cluster.local", i);
		v->domains[0] = xstrdup(buf);
		snprintf(buf, sizeof(buf), "svc%zu", i);
		v->domains[1] = xstrdup(buf);
		snprintf(buf, sizeof(buf), "10.%zu.%zu.1", i / 256, i % 256);
		v->domains[2] = xstrdup(buf);
		snprintf(buf, sizeof(buf), "10.%zu.%zu.1:80", i / 256, i % 256);
		v->domains[3] = xstrdup(buf);
		add_routes(v, 1, "/");
	}
	free(rc.vhosts[0].domains[3]);
	rc.vhosts[0].domains[3] = xstrdup("*");
	free(rc.vhosts[1].domains[3]);
	rc.vhosts[1].domains[3] = xstrdup("*.ns.svc.cluster.local");
	free(rc.vhosts[2].domains[3]);
	rc.vhosts[2].domains[3] = xstrdup("svc5.*");
	free(rc.vhosts[3].domains[3]);
	rc.vhosts[3].domains[3] = xstrdup("*.svc.cluster.local");
	if (km_route_build(&rc, 0, one_cluster, NULL, &blob, &len, &err))
		fail_msg("4096 virtual hosts do not build: %s", err.msg);
	assert_true(len > KM_ROUTE_TABLE_MAX && len <= KM_ROUTE_TABLE_BIG);
	for (size_t i = 0; i < NELEM(want); i++) {
		struct km_route_result res;
		struct km_http_req req;

		/* add_routes() made each virtual host's one route: prefix /0 */
		snprintf(head, sizeof(head), "GET /0 HTTP/1.1\r\nHost: %s\r\n\r\n",
			 want[i].host);
		assert_int_equal(km_http_parse(head, strlen(head), &req), 0);
		if (km_route_match(blob, (__u32)len, head, &req, &res) != 0 ||
		    res.status != KM_ROUTE_MATCHED || res.vhost != want[i].vhost)
			fail_msg("Host %s: status %u vhost %u, want vhost %d",
				 want[i].host, res.status, res.vhost,
				 want[i].vhost);
	}
	free(blob);
	km_route_config_free(&rc);
}

int main(void)
{
	const size_t max = NELEM(match_rows) + NELEM(split_rows) +
			   NELEM(req_error_rows) + NELEM(build_error_rows) + 32;
	char row[512];
	int ret;

	memset(long_header, 'v', sizeof(long_header) - 1);
	memcpy(long_header, "X-Long: ", 8);
	max_tests = max;
	tests = calloc(max, sizeof(*tests));
	names = calloc(max, sizeof(*names));
	if (!tests || !names)
		return 1;
	for (size_t i = 0; i < NELEM(match_rows); i++) {
		row_name(&match_rows[i], row, sizeof(row));
		add("match", row, test_match, &match_rows[i]);
	}
	for (size_t i = 0; i < NELEM(split_rows); i++)
		add("weighted", split_rows[i].name, test_split, &split_rows[i]);
	add("explain", "why: headers of a route", test_why_headers, NULL);
	add("explain", "why: paths", test_why_path, NULL);
	add("explain", "why: regexes (path, header, query parameter)",
	    test_why_regex, NULL);
	add("explain", "why: query parameters of a route", test_why_query, NULL);
	add("explain", "texts for kmeshctl", test_texts, NULL);
	add("explain", "32 header lines", test_req_max_headers, NULL);
	add("explain", "malformed table", test_bad_table, NULL);
	add("explain", "version-1 table", test_old_version, NULL);
	add("match", "a concurrent writer never makes it read outside",
	    test_concurrent_writer, NULL);
	add("match", "every record word is loaded once per match",
	    test_single_fetch, NULL);
	add("match", "4096 virtual hosts through the domain index",
	    test_big_table, NULL);
	for (size_t i = 0; i < NELEM(req_error_rows); i++)
		add("explain error", req_error_rows[i].name, test_req_error,
		    &req_error_rows[i]);
	add("build", "blob layout", test_layout, NULL);
	for (size_t i = 0; i < NELEM(build_error_rows); i++)
		add("build", build_error_rows[i].name, test_build_error,
		    &build_error_rows[i]);
	add("build", "callback error", test_build_callback_error, NULL);
	add("build", "a repeated regex shares one DFA", test_regex_shared, NULL);
	for (size_t i = 0; i < NELEM(damage_tables); i++) {
		const enum table_id *t = &damage_tables[i];
		const char *tn = tables[*t].name;

		snprintf(row, sizeof(row), "%s: every byte flipped", tn);
		add("damaged", row, test_damage_flip, t);
		snprintf(row, sizeof(row), "%s: every word set to edge values", tn);
		add("damaged", row, test_damage_words, t);
		snprintf(row, sizeof(row), "%s: every truncation", tn);
		add("damaged", row, test_damage_truncate, t);
	}
	add("damaged", "map value longer than the blob", test_map_value_tail, NULL);

	ret = _cmocka_run_group_tests("route_match", tests, n_tests, NULL, NULL);
	for (size_t i = 0; i < n_tests; i++)
		free(names[i]);
	free(names);
	free(tests);
	tables_free();
	return ret;
}
