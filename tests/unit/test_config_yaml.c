// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * config_yaml: a full Envoy-style file read into the model, and a table of
 * bad inputs with the exact message (file, line, object) each must give.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config_yaml.h"

#define TCP_PROXY_URL \
	"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
#define HCM_URL \
	"type.googleapis.com/envoy.extensions.filters.network." \
	"http_connection_manager.v3.HttpConnectionManager"

static const char full_yaml[] =
	"node:\n"
	"  id: sidecar~10.0.0.1\n"
	"  cluster: test\n"
	"  locality: { region: r1, zone: z1, sub_zone: s1 }\n"
	"admin: { address: { socket_address: { address: 127.0.0.1, port_value: 15000 } } }\n"
	"static_resources:\n"
	"  listeners:\n"
	"  - name: reviews\n"
	"    traffic_direction: OUTBOUND\n"
	"    address:\n"
	"      socket_address: { address: 10.96.0.10, port_value: 9080 }\n"
	"    additional_addresses:\n"
	"    - address: { socket_address: { address: \"fd00:96::10\", port_value: 9080 } }\n"
	"    filter_chains:\n"
	"    - filters:\n"
	"      - name: envoy.filters.network.tcp_proxy\n"
	"        typed_config:\n"
	"          \"@type\": " TCP_PROXY_URL "\n"
	"          stat_prefix: reviews\n"
	"          cluster: reviews\n"
	"    - filter_chain_match: { destination_port: 9081 }\n"
	"      name: split\n"
	"      filters:\n"
	"      - name: envoy.filters.network.tcp_proxy\n"
	"        typed_config:\n"
	"          stat_prefix: reviews-split\n"
	"          weighted_clusters: { clusters: [ { name: a, weight: 80 }, { name: b, weight: 20 } ] }\n"
	"  - name: web\n"
	"    address:\n"
	"      socket_address: { address: \"fd00::20\", port_value: 80, protocol: TCP }\n"
	"    filter_chains:\n"
	"    - filters:\n"
	"      - name: envoy.filters.network.http_connection_manager\n"
	"        typed_config:\n"
	"          \"@type\": " HCM_URL "\n"
	"          stat_prefix: web\n"
	"          codec_type: AUTO\n"
	"          route_config:\n"
	"            name: web\n"
	"            virtual_hosts:\n"
	"            - name: vh\n"
	"              domains: [\"*\", \"web.example.com\"]\n"
	"              routes:\n"
	"              - name: r1\n"
	"                match:\n"
	"                  prefix: \"/api\"\n"
	"                  case_sensitive: false\n"
	"                  headers:\n"
	"                  - name: x-canary\n"
	"                    exact_match: \"1\"\n"
	"                  - name: x-user\n"
	"                    string_match: { prefix: adm, ignore_case: true }\n"
	"                    invert_match: true\n"
	"                  - name: x-debug\n"
	"                    present_match: true\n"
	"                  - name: x-re\n"
	"                    safe_regex_match: { google_re2: {}, regex: \"^a+$\" }\n"
	"                  - name: x-any\n"
	"                  query_parameters:\n"
	"                  - name: Version\n"
	"                    string_match: { exact: \"2\", ignore_case: true }\n"
	"                  - name: debug\n"
	"                    present_match: false\n"
	"                  - name: trace\n"
	"                route:\n"
	"                  weighted_clusters:\n"
	"                    clusters: [ { name: web-v1, weight: 90 }, { name: web-v2, weight: 10 } ]\n"
	"                    total_weight: 100\n"
	"                  timeout: 5s\n"
	"              - match: { path: /exact }\n"
	"                route: { cluster: web-v1 }\n"
	"              - match: { path_separated_prefix: /v2 }\n"
	"                route: { cluster: web-v2 }\n"
	"              - match: { safe_regex: { regex: \"/r/[0-9]+\" } }\n"
	"                route: { cluster: web-v2 }\n"
	"          http_filters:\n"
	"          - name: envoy.filters.http.router\n"
	"  - name: rds\n"
	"    address: { socket_address: { address: 10.96.0.30, port_value: 8080 } }\n"
	"    filter_chains:\n"
	"    - filters:\n"
	"      - name: envoy.filters.network.http_connection_manager\n"
	"        typed_config:\n"
	"          stat_prefix: rds\n"
	"          rds: { route_config_name: rds-routes, config_source: { ads: {} } }\n"
	"  clusters:\n"
	"  - name: reviews\n"
	"    type: STATIC\n"
	"    lb_policy: LEAST_REQUEST\n"
	"    connect_timeout: 1s\n"
	"    circuit_breakers:\n"
	"      thresholds:\n"
	"      - priority: HIGH\n"
	"        max_connections: 5\n"
	"      - priority: DEFAULT\n"
	"        max_connections: 100\n"
	"        max_pending_requests: 101\n"
	"        max_requests: \"102\"\n"
	"        max_retries: 3\n"
	"    load_assignment:\n"
	"      cluster_name: reviews\n"
	"      endpoints:\n"
	"      - locality: { region: r1, zone: z1, sub_zone: s1 }\n"
	"        load_balancing_weight: 10\n"
	"        lb_endpoints:\n"
	"        - endpoint:\n"
	"            address: { socket_address: { address: 10.99.0.2, port_value: 8080 } }\n"
	"          health_status: HEALTHY\n"
	"          load_balancing_weight: 3\n"
	"        - endpoint:\n"
	"            address: { socket_address: { address: \"fd00:99::3\", port_value: 8081 } }\n"
	"      - priority: 1\n"
	"        locality: { region: r2 }\n"
	"        lb_endpoints:\n"
	"        - endpoint:\n"
	"            address: { socket_address: { address: 10.99.1.2, port_value: 8080 } }\n"
	"          health_status: DRAINING\n"
	"  - name: a\n"
	"    lb_policy: RANDOM\n"
	"    load_assignment: { endpoints: [] }\n"
	"  - name: b\n"
	"    type: EDS\n"
	"    eds_cluster_config: { eds_config: { ads: {} } }\n"
	"  - name: web-v1\n"
	"    type: EDS\n"
	"    load_assignment:\n"
	"      endpoints:\n"
	"      - lb_endpoints:\n"
	"        - endpoint: { address: { socket_address: { address: 10.1.0.1, port_value: 80 } } }\n"
	"  - name: web-v2\n";

/* 1-based line of the first line of text containing needle. */
static int line_of(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);
	int line = 1;

	assert_non_null(p);
	for (const char *q = text; q < p; q++)
		line += *q == '\n';
	return line;
}

static void assert_ip(const struct km_ip *ip, const char *want)
{
	char buf[64];

	assert_string_equal(km_ip_str(ip, buf, sizeof(buf)), want);
}

static void assert_zeroed(const struct km_model *m)
{
	static const struct km_model zero;

	assert_memory_equal(m, &zero, sizeof(zero));
}

static int load(const char *yaml, struct km_model *m, struct km_err *err)
{
	/* garbage first: the loader must overwrite *m, not trust it */
	memset(m, 0x5a, sizeof(*m));
	memset(err, 0, sizeof(*err));
	return km_config_load_string("t.yaml", yaml, strlen(yaml), m, err);
}

static void test_full_example(void **state)
{
	const char *y = full_yaml;
	struct km_model m;
	struct km_err err;
	const struct km_m_listener *l;
	const struct km_m_chain *ch;
	const struct km_m_route_config *rc;
	const struct km_m_route *r;
	const struct km_m_cluster *cl;
	int ret;

	(void)state;
	ret = load(y, &m, &err);
	if (ret)
		fail_msg("%s", err.msg);
	assert_string_equal(m.source, "t.yaml");
	assert_string_equal(m.node_locality.region, "r1");
	assert_string_equal(m.node_locality.zone, "z1");
	assert_string_equal(m.node_locality.sub_zone, "s1");
	assert_int_equal(m.n_listeners, 3);
	assert_int_equal(m.n_clusters, 5);

	/* tcp_proxy listener, dual-stack, two chains */
	l = &m.listeners[0];
	assert_string_equal(l->name, "reviews");
	assert_ptr_equal(l->src.file, m.source);
	assert_int_equal(l->src.line, line_of(y, "- name: reviews"));
	assert_int_equal(l->port, 9080);
	assert_int_equal(l->n_addrs, 2);
	assert_int_equal(l->addrs[0].family, KM_FAMILY_INET);
	assert_int_equal(l->addrs[0].addr.w[2], htonl(0xffff));
	assert_ip(&l->addrs[0], "10.96.0.10");
	assert_int_equal(l->addrs[1].family, KM_FAMILY_INET6);
	assert_ip(&l->addrs[1], "fd00:96::10");
	assert_int_equal(l->n_chains, 2);
	ch = &l->chains[0];
	assert_int_equal(ch->kind, KM_CHAIN_TCP_PROXY);
	assert_int_equal(ch->dest_port, 0);
	assert_int_equal(ch->src.line, line_of(y, "    - filters:"));
	assert_int_equal(ch->tcp.n_clusters, 1);
	assert_string_equal(ch->tcp.clusters[0].cluster, "reviews");
	assert_int_equal(ch->tcp.clusters[0].weight, 1);
	assert_int_equal(ch->tcp.clusters[0].src.line,
			 line_of(y, "cluster: reviews"));
	assert_null(ch->rds_name);
	ch = &l->chains[1];
	assert_int_equal(ch->dest_port, 9081);
	assert_int_equal(ch->src.line, line_of(y, "destination_port: 9081"));
	assert_int_equal(ch->tcp.n_clusters, 2);
	assert_string_equal(ch->tcp.clusters[0].cluster, "a");
	assert_int_equal(ch->tcp.clusters[0].weight, 80);
	assert_string_equal(ch->tcp.clusters[1].cluster, "b");
	assert_int_equal(ch->tcp.clusters[1].weight, 20);
	assert_int_equal(ch->tcp.total_weight, 0);

	/* HTTP listener with an inline route config */
	l = &m.listeners[1];
	assert_string_equal(l->name, "web");
	assert_int_equal(l->n_addrs, 1);
	assert_int_equal(l->addrs[0].family, KM_FAMILY_INET6);
	assert_ip(&l->addrs[0], "fd00::20");
	assert_int_equal(l->port, 80);
	ch = &l->chains[0];
	assert_int_equal(ch->kind, KM_CHAIN_HTTP);
	assert_null(ch->rds_name);
	rc = &ch->routes;
	assert_string_equal(rc->name, "web");
	assert_int_equal(rc->src.line, line_of(y, "name: web\n            virtual_hosts"));
	assert_int_equal(rc->n_vhosts, 1);
	assert_string_equal(rc->vhosts[0].name, "vh");
	assert_int_equal(rc->vhosts[0].src.line, line_of(y, "- name: vh"));
	assert_int_equal(rc->vhosts[0].n_domains, 2);
	assert_string_equal(rc->vhosts[0].domains[0], "*");
	assert_string_equal(rc->vhosts[0].domains[1], "web.example.com");
	assert_int_equal(rc->vhosts[0].n_routes, 4);

	r = &rc->vhosts[0].routes[0];
	assert_string_equal(r->name, "r1");
	assert_int_equal(r->src.line, line_of(y, "- name: r1"));
	assert_int_equal(r->path_kind, KM_PATH_PREFIX);
	assert_string_equal(r->path, "/api");
	assert_false(r->case_sensitive);
	assert_int_equal(r->n_headers, 5);
	assert_string_equal(r->headers[0].name, "x-canary");
	assert_int_equal(r->headers[0].kind, KM_STR_EXACT);
	assert_string_equal(r->headers[0].value, "1");
	assert_false(r->headers[0].invert);
	assert_int_equal(r->headers[0].src.line, line_of(y, "- name: x-canary"));
	assert_int_equal(r->headers[1].kind, KM_STR_PREFIX);
	assert_string_equal(r->headers[1].value, "adm");
	assert_true(r->headers[1].ignore_case);
	assert_true(r->headers[1].invert);
	assert_int_equal(r->headers[2].kind, KM_STR_PRESENT);
	assert_true(r->headers[2].present);
	assert_null(r->headers[2].value);
	assert_int_equal(r->headers[3].kind, KM_STR_REGEX);
	assert_string_equal(r->headers[3].value, "^a+$");
	/* no value: Envoy's presence match */
	assert_int_equal(r->headers[4].kind, KM_STR_PRESENT);
	assert_true(r->headers[4].present);
	/* query parameters: names kept as written */
	assert_int_equal(r->n_query_params, 3);
	assert_string_equal(r->query_params[0].name, "Version");
	assert_int_equal(r->query_params[0].kind, KM_STR_EXACT);
	assert_string_equal(r->query_params[0].value, "2");
	assert_true(r->query_params[0].ignore_case);
	assert_false(r->query_params[0].invert);
	assert_int_equal(r->query_params[0].src.line, line_of(y, "- name: Version"));
	assert_string_equal(r->query_params[1].name, "debug");
	assert_int_equal(r->query_params[1].kind, KM_STR_PRESENT);
	assert_false(r->query_params[1].present);
	assert_null(r->query_params[1].value);
	/* no match specifier: Envoy's presence match */
	assert_string_equal(r->query_params[2].name, "trace");
	assert_int_equal(r->query_params[2].kind, KM_STR_PRESENT);
	assert_true(r->query_params[2].present);
	assert_int_equal(r->action.n_clusters, 2);
	assert_string_equal(r->action.clusters[0].cluster, "web-v1");
	assert_int_equal(r->action.clusters[0].weight, 90);
	assert_int_equal(r->action.clusters[1].weight, 10);
	assert_int_equal(r->action.total_weight, 100);
	assert_int_equal(r->action.src.line, line_of(y, "weighted_clusters:\n"));

	r = &rc->vhosts[0].routes[1];
	assert_null(r->name);
	assert_true(r->case_sensitive);
	assert_int_equal(r->path_kind, KM_PATH_EXACT);
	assert_string_equal(r->path, "/exact");
	assert_int_equal(r->n_headers, 0);
	assert_int_equal(r->n_query_params, 0);
	assert_null(r->query_params);
	assert_int_equal(r->action.n_clusters, 1);
	assert_string_equal(r->action.clusters[0].cluster, "web-v1");
	assert_int_equal(r->action.clusters[0].weight, 1);
	r = &rc->vhosts[0].routes[2];
	assert_int_equal(r->path_kind, KM_PATH_SEPARATED_PREFIX);
	assert_string_equal(r->path, "/v2");
	r = &rc->vhosts[0].routes[3];
	assert_int_equal(r->path_kind, KM_PATH_REGEX);
	assert_string_equal(r->path, "/r/[0-9]+");

	/* HTTP via rds */
	ch = &m.listeners[2].chains[0];
	assert_int_equal(ch->kind, KM_CHAIN_HTTP);
	assert_string_equal(ch->rds_name, "rds-routes");
	assert_int_equal(ch->routes.n_vhosts, 0);

	/* clusters */
	cl = &m.clusters[0];
	assert_string_equal(cl->name, "reviews");
	assert_int_equal(cl->src.line, line_of(y, "  - name: reviews\n    type"));
	assert_ptr_equal(cl->src.file, m.source);
	assert_int_equal(cl->type, KM_CLUSTER_STATIC);
	assert_int_equal(cl->lb_policy, KM_LB_LEAST_REQUEST);
	assert_true(cl->has_load_assignment);
	assert_int_equal(cl->cb.max_connections, 100);
	assert_int_equal(cl->cb.max_pending_requests, 101);
	assert_int_equal(cl->cb.max_requests, 102);
	assert_int_equal(cl->cb.max_retries, 3);
	assert_int_equal(cl->n_localities, 2);
	assert_string_equal(cl->localities[0].zone, "z1");
	assert_string_equal(cl->localities[1].region, "r2");
	assert_null(cl->localities[1].zone);
	assert_int_equal(cl->n_endpoints, 3);
	assert_ip(&cl->endpoints[0].ip, "10.99.0.2");
	assert_int_equal(cl->endpoints[0].port, 8080);
	assert_int_equal(cl->endpoints[0].weight, 3);
	assert_int_equal(cl->endpoints[0].health, KM_HEALTH_HEALTHY);
	assert_int_equal(cl->endpoints[0].priority, 0);
	assert_ptr_equal(cl->endpoints[0].locality.region,
			 cl->localities[0].region);
	assert_int_equal(cl->endpoints[0].src.line,
			 line_of(y, "address: 10.99.0.2") - 1);
	assert_ip(&cl->endpoints[1].ip, "fd00:99::3");
	assert_int_equal(cl->endpoints[1].port, 8081);
	assert_int_equal(cl->endpoints[1].weight, 1);
	assert_int_equal(cl->endpoints[1].health, KM_HEALTH_UNKNOWN);
	assert_ip(&cl->endpoints[2].ip, "10.99.1.2");
	assert_int_equal(cl->endpoints[2].priority, 1);
	assert_int_equal(cl->endpoints[2].health, KM_HEALTH_DRAINING);
	assert_ptr_equal(cl->endpoints[2].locality.region,
			 cl->localities[1].region);

	cl = &m.clusters[1];
	assert_int_equal(cl->lb_policy, KM_LB_RANDOM);
	assert_true(cl->has_load_assignment);
	assert_int_equal(cl->n_endpoints, 0);
	cl = &m.clusters[2];
	assert_int_equal(cl->type, KM_CLUSTER_EDS);
	assert_false(cl->has_load_assignment);
	cl = &m.clusters[3];
	assert_int_equal(cl->type, KM_CLUSTER_EDS);
	assert_true(cl->has_load_assignment);
	assert_int_equal(cl->n_endpoints, 1);
	assert_null(cl->endpoints[0].locality.region);
	cl = &m.clusters[4];
	assert_string_equal(cl->name, "web-v2");
	assert_int_equal(cl->type, KM_CLUSTER_STATIC);
	assert_false(cl->has_load_assignment);
	assert_memory_equal(&cl->cb, &(struct km_circuit_breakers){ 0 },
			    sizeof(cl->cb));

	km_model_free(&m);
	assert_zeroed(&m);
}

static void test_minimal(void **state)
{
	static const char *const ok[] = {
		"static_resources: {}\n",
		"static_resources:\n  listeners: []\n  clusters: []\n",
		"static_resources:\n  listeners:\n  clusters: ~\n",
		"# comment\n---\nstatic_resources: {}\n...\n",
	};
	struct km_model m;
	struct km_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (load(ok[i], &m, &err))
			fail_msg("case %zu: %s", i, err.msg);
		assert_string_equal(m.source, "t.yaml");
		assert_int_equal(m.n_listeners, 0);
		assert_int_equal(m.n_clusters, 0);
		assert_null(m.node_locality.region);
		km_model_free(&m);
	}
}

/* STRICT_DNS and LOGICAL_DNS as Envoy's bootstrap writes them: names in
 * the socket_address, the DNS settings; an IP among them stays an IP. */
static void test_dns_clusters(void **state)
{
	static const char yaml[] =
		"static_resources:\n  clusters:\n"
		"  - name: ext\n"
		"    type: STRICT_DNS\n"
		"    dns_lookup_family: V4_PREFERRED\n"
		"    dns_refresh_rate: 0.25s\n"
		"    respect_dns_ttl: true\n"
		"    load_assignment:\n"
		"      endpoints:\n"
		"      - lb_endpoints:\n"
		"        - endpoint: { address: { socket_address: { address: api.example.com, port_value: 443 } } }\n"
		"        - endpoint: { address: { socket_address: { address: 10.0.0.9, port_value: 80 } } }\n"
		"  - name: one\n"
		"    type: LOGICAL_DNS\n"
		"    dns_refresh_rate: { seconds: 2, nanos: 1 }\n"
		"    load_assignment:\n"
		"      endpoints:\n"
		"      - lb_endpoints:\n"
		"        - endpoint: { address: { socket_address: { address: db.example.com, port_value: 5432 } } }\n";
	struct km_model m;
	struct km_err err;
	const struct km_m_cluster *c;

	(void)state;
	if (load(yaml, &m, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(m.n_clusters, 2);
	c = &m.clusters[0];
	assert_int_equal(c->type, KM_CLUSTER_STRICT_DNS);
	assert_int_equal(c->dns.family, KM_DNS_V4_PREFERRED);
	assert_int_equal(c->dns.refresh_ms, 250);
	assert_true(c->dns.respect_ttl);
	assert_int_equal(c->n_endpoints, 2);
	assert_string_equal(c->endpoints[0].hostname, "api.example.com");
	assert_int_equal(c->endpoints[0].ip.family, 0);
	assert_int_equal(c->endpoints[0].port, 443);
	assert_null(c->endpoints[1].hostname);
	assert_int_equal(c->endpoints[1].ip.family, KM_FAMILY_INET);
	c = &m.clusters[1];
	assert_int_equal(c->type, KM_CLUSTER_LOGICAL_DNS);
	assert_int_equal(c->dns.family, KM_DNS_AUTO);
	assert_int_equal(c->dns.refresh_ms, 2001);	/* rounded up */
	assert_false(c->dns.respect_ttl);
	assert_string_equal(c->endpoints[0].hostname, "db.example.com");
	km_model_free(&m);
}

static void test_file(void **state)
{
	char path[] = "/tmp/test_config_yaml.XXXXXX";
	struct km_model m;
	struct km_err err;
	char want[128];
	int fd, ret;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, full_yaml, strlen(full_yaml)),
			 (ssize_t)strlen(full_yaml));
	close(fd);
	ret = km_config_load_file(path, &m, &err);
	if (ret)
		fail_msg("%s", err.msg);
	assert_string_equal(m.source, path);
	assert_ptr_equal(m.clusters[0].endpoints[0].src.file, m.source);
	km_model_free(&m);
	unlink(path);

	memset(&m, 0x5a, sizeof(m));
	ret = km_config_load_file(path, &m, &err);
	assert_int_equal(ret, -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path,
		 strerror(ENOENT));
	assert_string_equal(err.msg, want);
	assert_zeroed(&m);
}

/* ---- bad inputs ------------------------------------------------------- */

struct bad_case {
	const char *name;
	const char *yaml;
	const char *want;	/* substring of the message, FILE:LINE first */
};

/* lines 1-2 */
#define CLUSTERS "static_resources:\n  clusters:\n"
#define LISTENERS "static_resources:\n  listeners:\n"

/* one cluster "reviews" (line 3) whose second endpoint is at line 8 */
#define EP2(addr, port, extra)						\
	CLUSTERS							\
	"  - name: reviews\n"						\
	"    load_assignment:\n"					\
	"      endpoints:\n"						\
	"      - lb_endpoints:\n"					\
	"        - endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 80 } } }\n" \
	"        - endpoint: { address: { socket_address: { address: " addr ", port_value: " port " } } }\n" \
	extra

/* a tcp_proxy listener "l" (line 3); typed_config body from line 9 */
#define TCP_L(tc)							\
	LISTENERS							\
	"  - name: l\n"							\
	"    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n" \
	"    filter_chains:\n"						\
	"    - filters:\n"						\
	"      - name: envoy.filters.network.tcp_proxy\n"		\
	"        typed_config:\n"					\
	tc

/* a three-line listener named n */
#define LSN(n)								\
	"  - name: " n "\n"						\
	"    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n" \
	"    filter_chains: [ { filters: [ { name: envoy.filters.network.tcp_proxy, typed_config: { cluster: c } } ] } ]\n"

/* an HTTP listener "web" with route config "rc", virtual_host "vh"; its
 * routes start at line 15 */
#define HTTP_HEAD							\
	LISTENERS							\
	"  - name: web\n"						\
	"    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n" \
	"    filter_chains:\n"						\
	"    - filters:\n"						\
	"      - name: envoy.filters.network.http_connection_manager\n"	\
	"        typed_config:\n"					\
	"          route_config:\n"					\
	"            name: rc\n"					\
	"            virtual_hosts:\n"					\
	"            - name: vh\n"					\
	"              domains: [\"*\"]\n"				\
	"              routes:\n"
#define HCM_WHAT "listener 'web': filter_chains[0]: http_connection_manager"
#define VH_WHAT HCM_WHAT ": route_config 'rc': virtual_host 'vh'"
#define ROUTE(match, action)						\
	HTTP_HEAD							\
	"              - match: " match "\n"				\
	"                route: " action "\n"
#define TCP_WHAT "listener 'l': filter_chains[0]: tcp_proxy"

static const struct bad_case bad_cases[] = {
	/* YAML itself */
	{ "syntax: unclosed flow", "static_resources:\n  clusters: [\n",
	  "t.yaml:3: YAML syntax error: did not find expected node content (while parsing a flow node at line 3)" },
	{ "syntax: bad indentation",
	  CLUSTERS "  - name: a\n   type: STATIC\n",
	  "t.yaml:4: YAML syntax error: did not find expected key (while parsing a block mapping at line 2)" },
	{ "syntax: undefined alias", "static_resources: *x\n",
	  "t.yaml:1: YAML syntax error: found undefined alias" },
	{ "encoding: bad UTF-8", "static_resources: {}\nnode: \xff\n",
	  "t.yaml:2: YAML error: invalid leading UTF-8 octet (byte 0xFF)" },
	{ "two documents", "static_resources: {}\n---\nstatic_resources: {}\n",
	  "t.yaml:3: a second YAML document is not supported" },

	/* top level */
	{ "empty file", "", "t.yaml:1: static_resources is missing" },
	{ "missing static_resources", "node: { id: x }\n",
	  "t.yaml:1: static_resources is missing" },
	{ "top level is a sequence", "- static_resources\n",
	  "t.yaml:1: the top level must be a mapping, not a sequence" },
	{ "unknown top-level field", "static_resources: {}\nadmn: {}\n",
	  "t.yaml:2: unknown field 'admn' (did you mean 'admin'?)" },
	{ "dynamic_resources refused",
	  "static_resources: {}\ndynamic_resources: {}\n",
	  "t.yaml:2: unknown field 'dynamic_resources'" },
	{ "static_resources is a sequence", "static_resources: []\n",
	  "t.yaml:1: static_resources must be a mapping, not a sequence" },
	{ "secrets refused", "static_resources:\n  secrets: []\n",
	  "t.yaml:2: static_resources: unknown field 'secrets'" },
	{ "node is a sequence", "node: [a]\nstatic_resources: {}\n",
	  "t.yaml:1: node must be a mapping, not a sequence" },
	{ "node locality typo",
	  "node:\n  locality: { regoin: r1 }\nstatic_resources: {}\n",
	  "t.yaml:2: node: unknown field 'regoin' (did you mean 'region'?)" },
	{ "clusters is a mapping", CLUSTERS "    name: x\n",
	  "t.yaml:3: static_resources: clusters must be a sequence, not a mapping" },
	{ "duplicate key", "static_resources: {}\nnode: {}\nnode: {}\n",
	  "t.yaml:3: field 'node' appears twice (first at line 2)" },

	/* clusters */
	{ "cluster is a scalar", CLUSTERS "  - reviews\n",
	  "t.yaml:3: static_resources: clusters[0] must be a mapping, not a scalar" },
	{ "cluster without name", CLUSTERS "  - name: a\n  - type: STATIC\n",
	  "t.yaml:4: clusters[1]: name is missing" },
	{ "cluster name empty", CLUSTERS "  - name: \"\"\n",
	  "t.yaml:3: clusters[0]: name is empty" },
	{ "cluster name is a mapping", CLUSTERS "  - name: { a: 1 }\n",
	  "t.yaml:3: clusters[0]: name must be a scalar, not a mapping" },
	{ "cluster name with NUL", CLUSTERS "  - name: \"a\\0b\"\n",
	  "t.yaml:3: clusters[0]: name contains a NUL byte" },
	{ "cluster unknown field", CLUSTERS "  - name: x\n    lb_polcy: RANDOM\n",
	  "t.yaml:4: cluster 'x': unknown field 'lb_polcy' (did you mean 'lb_policy'?)" },
	{ "cluster health_checks refused",
	  CLUSTERS "  - name: x\n    health_checks: []\n",
	  "t.yaml:4: cluster 'x': unknown field 'health_checks'" },
	{ "duplicate cluster", CLUSTERS "  - name: x\n  - name: y\n  - name: x\n",
	  "t.yaml:5: cluster 'x': duplicate name (first at line 3)" },
	{ "lb_policy CLUSTER_PROVIDED", CLUSTERS "  - name: x\n    lb_policy: CLUSTER_PROVIDED\n",
	  "t.yaml:4: cluster 'x': lb_policy CLUSTER_PROVIDED not supported (ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV)" },
	/* LB configs (issue 16) */
	{ "least_request_lb_config on ROUND_ROBIN",
	  CLUSTERS "  - name: x\n    least_request_lb_config: { choice_count: 3 }\n",
	  "t.yaml:4: cluster 'x': least_request_lb_config needs lb_policy LEAST_REQUEST" },
	{ "maglev_lb_config on RING_HASH",
	  CLUSTERS "  - name: x\n    lb_policy: RING_HASH\n    maglev_lb_config: {}\n",
	  "t.yaml:5: cluster 'x': maglev_lb_config needs lb_policy MAGLEV" },
	{ "two lb configs",
	  CLUSTERS "  - name: x\n    lb_policy: MAGLEV\n    maglev_lb_config: {}\n    ring_hash_lb_config: {}\n",
	  "t.yaml:5: cluster 'x': ring_hash_lb_config and maglev_lb_config are mutually exclusive" },
	{ "choice_count 1",
	  CLUSTERS "  - name: x\n    lb_policy: LEAST_REQUEST\n    least_request_lb_config: { choice_count: 1 }\n",
	  "t.yaml:5: cluster 'x': least_request_lb_config: choice_count 1 is out of range (2-16)" },
	{ "choice_count 17",
	  CLUSTERS "  - name: x\n    lb_policy: LEAST_REQUEST\n    least_request_lb_config: { choice_count: 17 }\n",
	  "t.yaml:5: cluster 'x': least_request_lb_config: choice_count 17 is out of range (2-16)" },
	{ "active_request_bias 0.5",
	  CLUSTERS "  - name: x\n    lb_policy: LEAST_REQUEST\n    least_request_lb_config:\n      active_request_bias: { default_value: 0.5 }\n",
	  "t.yaml:6: cluster 'x': least_request_lb_config: active_request_bias: default_value 0.5 is not supported (0 or 1.0: weight / (active + 1)^bias is compared in the kernel in integers)" },
	{ "least_request slow_start_config",
	  CLUSTERS "  - name: x\n    lb_policy: LEAST_REQUEST\n    least_request_lb_config: { slow_start_config: {} }\n",
	  "t.yaml:5: cluster 'x': least_request_lb_config: unknown field 'slow_start_config'" },
	{ "maglev table_size not a prime",
	  CLUSTERS "  - name: x\n    lb_policy: MAGLEV\n    maglev_lb_config: { table_size: 65536 }\n",
	  "t.yaml:5: cluster 'x': maglev_lb_config: table_size 65536 is not a prime" },
	{ "maglev table_size too big",
	  CLUSTERS "  - name: x\n    lb_policy: MAGLEV\n    maglev_lb_config: { table_size: 1048583 }\n",
	  "t.yaml:5: cluster 'x': maglev_lb_config: table_size 1048583 is out of range (2-1048573)" },
	{ "common_lb_config healthy_panic_threshold",
	  CLUSTERS "  - name: x\n    common_lb_config: { healthy_panic_threshold: { value: 0 } }\n",
	  "t.yaml:4: cluster 'x': common_lb_config: unknown field 'healthy_panic_threshold'" },
	{ "ring_hash hash_function unknown",
	  CLUSTERS "  - name: x\n    lb_policy: RING_HASH\n    ring_hash_lb_config: { hash_function: SHA1 }\n",
	  "t.yaml:5: cluster 'x': ring_hash_lb_config: unknown hash_function 'SHA1' (XX_HASH or MURMUR_HASH_2)" },
	{ "route hash_policy header",
	  ROUTE("{ prefix: / }", "{ cluster: c, hash_policy: [ { header: { header_name: x-user } } ] }"),
	  "t.yaml:16: " VH_WHAT ": routes[0]: hash_policy[0]: header is not supported: kmesh picks the endpoint when the connection is made, so only the source address can be hashed (connection_properties.source_ip)" },
	{ "route hash_policy cookie",
	  ROUTE("{ prefix: / }", "{ cluster: c, hash_policy: [ { connection_properties: { source_ip: true } }, { cookie: { name: s } } ] }"),
	  "t.yaml:16: " VH_WHAT ": routes[0]: hash_policy[1]: cookie is not supported: kmesh picks the endpoint when the connection is made, so only the source address can be hashed (connection_properties.source_ip)" },
	{ "tcp_proxy hash_policy filter_state",
	  TCP_L("          cluster: c\n          hash_policy: [ { filter_state: { key: k } } ]\n"),
	  "t.yaml:10: " TCP_WHAT ": hash_policy[0]: filter_state is not supported: kmesh picks the endpoint when the connection is made, so only the source address can be hashed (source_ip)" },
	{ "tcp_proxy two hash_policy",
	  TCP_L("          cluster: c\n          hash_policy: [ { source_ip: {} }, { source_ip: {} } ]\n"),
	  "t.yaml:9: " TCP_WHAT ": 2 hash_policy entries, limit is 1" },
	{ "lb_policy unknown", CLUSTERS "  - name: x\n    lb_policy: round_robin\n",
	  "t.yaml:4: cluster 'x': unknown lb_policy 'round_robin'" },
	{ "type ORIGINAL_DST", CLUSTERS "  - name: x\n    type: ORIGINAL_DST\n",
	  "t.yaml:4: cluster 'x': type ORIGINAL_DST not supported (STATIC, EDS, STRICT_DNS or LOGICAL_DNS)" },
	{ "STRICT_DNS: not a DNS name",
	  CLUSTERS "  - name: x\n    type: STRICT_DNS\n    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint: { address: { socket_address: { address: \"a..b\", port_value: 80 } } }\n",
	  "t.yaml:8: cluster 'x': endpoint 1: address 'a..b' is neither an IP address nor a DNS name" },
	{ "STATIC: a name is not an address",
	  CLUSTERS "  - name: x\n    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint: { address: { socket_address: { address: web.example.com, port_value: 80 } } }\n",
	  "t.yaml:7: cluster 'x': endpoint 1: address 'web.example.com' is not an IPv4 or IPv6 address" },
	{ "LOGICAL_DNS with two endpoints",
	  CLUSTERS "  - name: x\n    type: LOGICAL_DNS\n    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint: { address: { socket_address: { address: a.example, port_value: 80 } } }\n        - endpoint: { address: { socket_address: { address: b.example, port_value: 80 } } }\n",
	  "t.yaml:3: cluster 'x': LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint (it has 2 endpoints in 1 groups)" },
	{ "LOGICAL_DNS without endpoints",
	  CLUSTERS "  - name: x\n    type: LOGICAL_DNS\n",
	  "t.yaml:3: cluster 'x': LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint (it has 0 endpoints in 0 groups)" },
	{ "dns_lookup_family unknown",
	  CLUSTERS "  - name: x\n    type: STRICT_DNS\n    dns_lookup_family: V4\n",
	  "t.yaml:5: cluster 'x': unknown dns_lookup_family 'V4' (AUTO, V4_ONLY, V6_ONLY, V4_PREFERRED or ALL)" },
	{ "dns_refresh_rate not a duration",
	  CLUSTERS "  - name: x\n    type: STRICT_DNS\n    dns_refresh_rate: 5000\n",
	  "t.yaml:5: cluster 'x': dns_refresh_rate '5000' is not a duration (seconds with an 's', e.g. \"5s\" or \"0.5s\")" },
	{ "dns_refresh_rate 1 ms",
	  CLUSTERS "  - name: x\n    type: STRICT_DNS\n    dns_refresh_rate: 0.001s\n",
	  "t.yaml:3: cluster 'x': dns_refresh_rate must be more than 1 ms" },
	{ "dns_refresh_rate too long",
	  CLUSTERS "  - name: x\n    type: STRICT_DNS\n    dns_refresh_rate: { seconds: 5000000 }\n",
	  "t.yaml:5: cluster 'x': dns_refresh_rate: seconds 5000000 is out of range (0-4294967)" },
	{ "respect_dns_ttl not a bool",
	  CLUSTERS "  - name: x\n    type: STRICT_DNS\n    respect_dns_ttl: yes\n",
	  "t.yaml:5: cluster 'x': respect_dns_ttl 'yes' is not true or false" },
	{ "type unknown", CLUSTERS "  - name: x\n    type: STATIK\n",
	  "t.yaml:4: cluster 'x': unknown type 'STATIK'" },
	{ "cluster @type wrong",
	  CLUSTERS "  - name: x\n    \"@type\": type.googleapis.com/envoy.config.listener.v3.Listener\n",
	  "t.yaml:4: cluster 'x': @type 'type.googleapis.com/envoy.config.listener.v3.Listener' is wrong, expected 'type.googleapis.com/envoy.config.cluster.v3.Cluster'" },
	{ "circuit breaker priority",
	  CLUSTERS "  - name: x\n    circuit_breakers: { thresholds: [ { priority: LOW } ] }\n",
	  "t.yaml:4: cluster 'x': circuit_breakers: thresholds[0]: unknown priority 'LOW' (DEFAULT or HIGH)" },
	{ "circuit breaker 0",
	  CLUSTERS "  - name: x\n    circuit_breakers:\n      thresholds:\n      - max_connections: 0\n",
	  "t.yaml:6: cluster 'x': circuit_breakers: thresholds[0]: max_connections 0 is out of range (1-4294967295)" },
	{ "circuit breaker two DEFAULT",
	  CLUSTERS "  - name: x\n    circuit_breakers:\n      thresholds:\n      - max_connections: 1\n      - priority: DEFAULT\n",
	  "t.yaml:7: cluster 'x': circuit_breakers: thresholds[1]: a second DEFAULT entry (first at line 6)" },
	{ "load_assignment is a sequence",
	  CLUSTERS "  - name: x\n    load_assignment: []\n",
	  "t.yaml:4: cluster 'x': load_assignment must be a mapping, not a sequence" },
	{ "endpoint port 0", EP2("10.0.0.2", "0", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: port_value 0 is out of range (1-65535)" },
	{ "endpoint port 65536", EP2("10.0.0.2", "65536", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: port_value 65536 is out of range (1-65535)" },
	{ "endpoint port -1", EP2("10.0.0.2", "-1", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: port_value -1 is out of range (1-65535)" },
	{ "endpoint port abc", EP2("10.0.0.2", "abc", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: port_value 'abc' is not a decimal integer" },
	{ "endpoint port trailing junk", EP2("10.0.0.2", "\"80x\"", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: port_value '80x' is not a decimal integer" },
	{ "endpoint port leading zero", EP2("10.0.0.2", "080", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: port_value '080' is not a decimal integer" },
	{ "endpoint port huge", EP2("10.0.0.2", "99999999999999999999999", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: port_value 99999999999999999999999 is out of range (1-65535)" },
	{ "endpoint port missing", EP2("10.0.0.2", "~", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: port_value is missing" },
	{ "endpoint bad IPv4", EP2("10.0.0.256", "80", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: address '10.0.0.256' is not an IPv4 or IPv6 address" },
	{ "endpoint hostname", EP2("reviews.default", "80", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: address 'reviews.default' is not an IPv4 or IPv6 address" },
	{ "endpoint bad IPv6", EP2("\"fd00::1::2\"", "80", ""),
	  "t.yaml:8: cluster 'reviews': endpoint 2: address 'fd00::1::2' is not an IPv4 or IPv6 address" },
	{ "endpoint UDP",
	  CLUSTERS "  - name: x\n    load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 53, protocol: UDP } } } } ] } ] }\n",
	  "t.yaml:4: cluster 'x': endpoint 1: protocol UDP is not supported (TCP only)" },
	{ "endpoint pipe address",
	  CLUSTERS "  - name: x\n    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint: { address: { pipe: { path: /x } } }\n",
	  "t.yaml:7: cluster 'x': endpoint 1: unknown field 'pipe'" },
	{ "health_status", EP2("10.0.0.2", "80", "          health_status: SICK\n"),
	  "t.yaml:9: cluster 'reviews': endpoint 2: unknown health_status 'SICK'" },
	{ "endpoint weight 0",
	  EP2("10.0.0.2", "80", "          load_balancing_weight: 0\n"),
	  "t.yaml:9: cluster 'reviews': endpoint 2: load_balancing_weight 0 is out of range (1-4294967295)" },
	{ "endpoint weight negative",
	  EP2("10.0.0.2", "80", "          load_balancing_weight: -3\n"),
	  "t.yaml:9: cluster 'reviews': endpoint 2: load_balancing_weight -3 is out of range (1-4294967295)" },
	{ "endpoint is a scalar", EP2("10.0.0.2", "80", "        - x\n"),
	  "t.yaml:9: cluster 'reviews': endpoint 3 must be a mapping, not a scalar" },
	{ "priority 128",
	  CLUSTERS "  - name: x\n    load_assignment:\n      endpoints:\n      - priority: 128\n",
	  "t.yaml:6: cluster 'x': endpoints[0]: priority 128 is out of range (0-127)" },
	{ "locality weight 0",
	  CLUSTERS "  - name: x\n    load_assignment:\n      endpoints:\n      - load_balancing_weight: 0\n",
	  "t.yaml:6: cluster 'x': endpoints[0]: load_balancing_weight 0 is out of range (1-4294967295)" },
	{ "lb_endpoints is a mapping",
	  CLUSTERS "  - name: x\n    load_assignment:\n      endpoints:\n      - lb_endpoints: { endpoint: {} }\n",
	  "t.yaml:6: cluster 'x': endpoints[0]: lb_endpoints must be a sequence, not a mapping" },
	{ "load_assignment policy refused",
	  CLUSTERS "  - name: x\n    load_assignment: { policy: { overprovisioning_factor: 140 } }\n",
	  "t.yaml:4: cluster 'x': load_assignment: unknown field 'policy'" },

	/* listeners */
	{ "duplicate listener", LISTENERS LSN("l") LSN("m") LSN("l"),
	  "t.yaml:9: listener 'l': duplicate name (first at line 3)" },
	{ "listener without name",
	  LISTENERS "  - address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n",
	  "t.yaml:3: listeners[0]: name is missing" },
	{ "listener without address", LISTENERS "  - name: l\n    filter_chains: []\n",
	  "t.yaml:3: listener 'l': address is missing" },
	{ "listener port abc",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: abc } }\n",
	  "t.yaml:4: listener 'l': port_value 'abc' is not a decimal integer" },
	{ "listener address is a sequence",
	  LISTENERS "  - name: l\n    address: [ 10.0.0.1 ]\n",
	  "t.yaml:4: listener 'l': address must be a mapping, not a sequence" },
	{ "listener without socket_address",
	  LISTENERS "  - name: l\n    address: {}\n",
	  "t.yaml:4: listener 'l': address: socket_address is missing" },
	{ "additional address port",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    additional_addresses:\n    - address: { socket_address: { address: \"fd00::1\", port_value: 81 } }\n",
	  "t.yaml:6: listener 'l': additional_addresses[0]: port_value 81 differs from the listener's port 80" },
	{ "listener without filter_chains",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n",
	  "t.yaml:3: listener 'l': filter_chains is missing" },
	{ "listener filter_chains empty",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n    filter_chains: []\n",
	  "t.yaml:5: listener 'l': filter_chains is empty" },
	{ "listener_filters refused",
	  LISTENERS "  - name: l\n    listener_filters: []\n",
	  "t.yaml:4: listener 'l': unknown field 'listener_filters'" },
	{ "chain with no filters",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters: []\n",
	  "t.yaml:6: listener 'l': filter_chains[0]: filters is empty, needs a tcp_proxy or http_connection_manager filter" },
	{ "chain transport_socket refused",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - transport_socket: {}\n",
	  "t.yaml:6: listener 'l': filter_chains[0]: unknown field 'transport_socket'" },
	{ "unknown filter",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters: [ { name: envoy.filters.network.tcp_proxy, typed_config: { cluster: c } } ]\n"
	  "    - filter_chain_match: { destination_port: 81 }\n"
	  "      filters:\n      - name: envoy.filters.network.foo\n",
	  "t.yaml:9: listener 'l': filter_chains[1]: unknown filter 'envoy.filters.network.foo'" },
	/* authorization (model/authz.h): refused with the reason, never
	 * skipped, whether named or only typed */
	{ "network RBAC matcher refused",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n"
	  "      - name: envoy.filters.network.rbac\n"
	  "        typed_config: { matcher: { matcher_tree: {} } }\n"
	  "      - name: envoy.filters.network.tcp_proxy\n"
	  "        typed_config: { cluster: c }\n",
	  "t.yaml:8: listener 'l': filter_chains[0]: filter 'envoy.filters.network.rbac': matcher is not supported (rules and shadow_rules only): refused" },
	{ "network RBAC unknown field",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n"
	  "      - name: envoy.filters.network.rbac\n"
	  "        typed_config:\n"
	  "          rules:\n"
	  "            action: DENY\n"
	  "            polices: {}\n",
	  "t.yaml:11: listener 'l': filter_chains[0]: filter 'envoy.filters.network.rbac': unknown field 'polices'" },
	{ "network RBAC without typed_config",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n"
	  "      - name: envoy.filters.network.rbac\n",
	  "t.yaml:7: listener 'l': filter_chains[0]: filter 'envoy.filters.network.rbac': typed_config is missing (an RBAC filter is never skipped)" },
	{ "HTTP RBAC as a network filter refused",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n"
	  "      - name: envoy.filters.http.rbac\n"
	  "        typed_config: {}\n",
	  "t.yaml:7: listener 'l': filter_chains[0]: filter 'envoy.filters.http.rbac': HTTP RBAC (envoy.filters.http.rbac) belongs in an http_connection_manager's http_filters, not here: refused" },
	{ "HTTP RBAC port out of range",
	  LISTENERS "  - name: web\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n"
	  "      - name: envoy.filters.network.http_connection_manager\n"
	  "        typed_config:\n"
	  "          rds: { route_config_name: x }\n"
	  "          http_filters:\n"
	  "          - name: envoy.filters.http.rbac\n"
	  "            typed_config:\n"
	  "              rules:\n"
	  "                policies:\n"
	  "                  p: { permissions: [ { destination_port: 70000 } ], principals: [ { any: true } ] }\n",
	  "t.yaml:13: " HCM_WHAT ": filter 'envoy.filters.http.rbac': policy 'p': destination_port 70000 is out of range (0-65535)" },
	{ "traffic_direction unknown",
	  LISTENERS LSN("l") "    traffic_direction: SIDEWAYS\n",
	  "t.yaml:6: listener 'l': traffic_direction 'SIDEWAYS' is not UNSPECIFIED, INBOUND or OUTBOUND" },
	{ "network ext_authz known by its @type, in http_filters: refused",
	  LISTENERS "  - name: web\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n"
	  "      - name: envoy.filters.network.http_connection_manager\n"
	  "        typed_config:\n"
	  "          rds: { route_config_name: x }\n"
	  "          http_filters:\n"
	  "          - name: my-authz\n"
	  "            typed_config: { \"@type\": type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz }\n",
	  "t.yaml:11: " HCM_WHAT ": filter 'my-authz': ext_authz (CUSTOM authorization) belongs in a filter chain's filters, not here: refused" },
	{ "jwt_authn refused",
	  LISTENERS "  - name: web\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n"
	  "      - name: envoy.filters.network.http_connection_manager\n"
	  "        typed_config:\n"
	  "          rds: { route_config_name: x }\n"
	  "          http_filters:\n"
	  "          - name: envoy.filters.http.jwt_authn\n",
	  "t.yaml:11: " HCM_WHAT ": filter 'envoy.filters.http.jwt_authn': jwt_authn rejects requests and kmesh does not verify tokens: refused" },
	{ "http_filters entry without a name",
	  LISTENERS "  - name: web\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n"
	  "      - name: envoy.filters.network.http_connection_manager\n"
	  "        typed_config:\n"
	  "          rds: { route_config_name: x }\n"
	  "          http_filters: [ { typed_config: {} } ]\n",
	  "t.yaml:10: " HCM_WHAT ": http_filters[0]: name is missing" },
	{ "two main filters",
	  TCP_L("          cluster: c\n"
		"      - name: envoy.filters.network.http_connection_manager\n"
		"        typed_config: { rds: { route_config_name: x } }\n"),
	  "t.yaml:10: listener 'l': filter_chains[0]: more than one tcp_proxy or http_connection_manager filter" },
	{ "filter without typed_config",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n      - name: envoy.filters.network.tcp_proxy\n",
	  "t.yaml:7: " TCP_WHAT ": typed_config is missing" },
	{ "destination_port 0",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filter_chain_match: { destination_port: 0 }\n",
	  "t.yaml:6: listener 'l': filter_chains[0]: destination_port 0 is out of range (1-65535)" },
	{ "server_names refused",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filter_chain_match: { server_names: [a] }\n",
	  "t.yaml:6: listener 'l': filter_chains[0]: unknown field 'server_names'" },
	{ "same chain match twice",
	  LISTENERS "  - name: l\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n"
	  "    - filters: [ { name: envoy.filters.network.tcp_proxy, typed_config: { cluster: c } } ]\n"
	  "    - filters: [ { name: envoy.filters.network.tcp_proxy, typed_config: { cluster: d } } ]\n",
	  "t.yaml:7: listener 'l': filter_chains[1]: same filter_chain_match as filter_chains[0] (line 6)" },

	/* tcp_proxy */
	{ "tcp_proxy bad @type",
	  TCP_L("          \"@type\": " HCM_URL "\n          cluster: c\n"),
	  "t.yaml:9: " TCP_WHAT ": @type '" },
	{ "tcp_proxy no cluster", TCP_L("          stat_prefix: x\n"),
	  "t.yaml:9: " TCP_WHAT ": needs cluster or weighted_clusters" },
	{ "tcp_proxy both cluster kinds",
	  TCP_L("          cluster: c\n          weighted_clusters: { clusters: [ { name: a, weight: 1 } ] }\n"),
	  "t.yaml:10: " TCP_WHAT ": cluster and weighted_clusters are mutually exclusive" },
	{ "tcp_proxy cluster empty", TCP_L("          cluster: \"\"\n"),
	  "t.yaml:9: " TCP_WHAT ": cluster is empty" },
	{ "tcp_proxy cluster is a sequence", TCP_L("          cluster: [a]\n"),
	  "t.yaml:9: " TCP_WHAT ": cluster must be a scalar, not a sequence" },
	{ "weighted weight 0",
	  TCP_L("          weighted_clusters:\n            clusters:\n            - { name: a, weight: 1 }\n            - { name: b, weight: 0 }\n"),
	  "t.yaml:12: " TCP_WHAT ": weighted_clusters: clusters[1]: weight 0 is out of range (1-2147483647)" },
	{ "weighted weight missing",
	  TCP_L("          weighted_clusters:\n            clusters:\n            - { name: a }\n"),
	  "t.yaml:11: " TCP_WHAT ": weighted_clusters: clusters[0]: weight is missing" },
	{ "weighted sum overflow",
	  TCP_L("          weighted_clusters:\n            clusters:\n            - { name: a, weight: 2147483647 }\n            - { name: b, weight: 1 }\n"),
	  "t.yaml:12: " TCP_WHAT ": weighted_clusters: sum of weights 2147483648 is over the limit 2147483647" },
	{ "weighted empty",
	  TCP_L("          weighted_clusters: { clusters: [] }\n"),
	  "t.yaml:9: " TCP_WHAT ": weighted_clusters: clusters is empty" },
	{ "tcp_proxy total_weight refused",
	  TCP_L("          weighted_clusters: { clusters: [ { name: a, weight: 1 } ], total_weight: 1 }\n"),
	  "t.yaml:9: " TCP_WHAT ": weighted_clusters: unknown field 'total_weight'" },
	{ "weighted metadata_match refused",
	  TCP_L("          weighted_clusters: { clusters: [ { name: a, weight: 1, metadata_match: {} } ] }\n"),
	  "t.yaml:9: " TCP_WHAT ": weighted_clusters: clusters[0]: unknown field 'metadata_match'" },

	/* http_connection_manager and routes */
	{ "hcm without routes",
	  LISTENERS "  - name: web\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n      - name: envoy.filters.network.http_connection_manager\n"
	  "        typed_config: { stat_prefix: web }\n",
	  "t.yaml:8: " HCM_WHAT ": needs rds or route_config" },
	{ "hcm bad @type",
	  LISTENERS "  - name: web\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n      - name: envoy.filters.network.http_connection_manager\n"
	  "        typed_config:\n          \"@type\": " TCP_PROXY_URL "\n",
	  "t.yaml:9: " HCM_WHAT ": @type '" TCP_PROXY_URL "' is wrong, expected '" HCM_URL "'" },
	{ "rds without name",
	  LISTENERS "  - name: web\n    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
	  "    filter_chains:\n    - filters:\n      - name: envoy.filters.network.http_connection_manager\n"
	  "        typed_config: { rds: { config_source: {} } }\n",
	  "t.yaml:8: " HCM_WHAT ": rds: route_config_name is missing" },
	{ "route_config bad @type",
	  HTTP_HEAD "              - { match: { prefix: / }, route: { cluster: c } }\n"
	  "            \"@type\": type.googleapis.com/envoy.config.route.v3.Route\n",
	  "t.yaml:16: " HCM_WHAT ": route_config 'rc': @type 'type.googleapis.com/envoy.config.route.v3.Route' is wrong" },
	{ "route without match", HTTP_HEAD "              - route: { cluster: c }\n",
	  "t.yaml:15: " VH_WHAT ": routes[0]: match is missing" },
	{ "route without action", HTTP_HEAD "              - name: r\n                match: { prefix: / }\n",
	  "t.yaml:15: " VH_WHAT ": route 'r': needs route, direct_response or redirect" },
	{ "redirect regex_rewrite refused",
	  HTTP_HEAD "              - match: { prefix: / }\n                redirect: { regex_rewrite: { substitution: x } }\n",
	  "t.yaml:16: " VH_WHAT ": routes[0]: redirect: regex_rewrite is not supported (path_redirect or prefix_rewrite)" },
	{ "match prefix and path", ROUTE("{ prefix: /, path: /x }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: prefix and path are mutually exclusive" },
	{ "match without path", ROUTE("{ case_sensitive: true }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: needs prefix, path, path_separated_prefix or safe_regex" },
	{ "match typo", ROUTE("{ prefx: / }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: unknown field 'prefx' (did you mean 'prefix'?)" },
	{ "case_sensitive not a bool", ROUTE("{ prefix: /, case_sensitive: maybe }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: case_sensitive 'maybe' is not true or false" },
	{ "path_separated_prefix ends in /", ROUTE("{ path_separated_prefix: /api/ }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: path_separated_prefix '/api/' must not contain '?' or '#' or end with '/'" },
	{ "regex empty", ROUTE("{ safe_regex: { regex: \"\" } }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: regex is empty" },
	{ "route action with both", ROUTE("{ prefix: / }", "{ cluster: c, weighted_clusters: { clusters: [ { name: a, weight: 1 } ] } }"),
	  "t.yaml:16: " VH_WHAT ": routes[0]: cluster and weighted_clusters are mutually exclusive" },
	{ "route cluster_header refused", ROUTE("{ prefix: / }", "{ cluster_header: x }"),
	  "t.yaml:16: " VH_WHAT ": routes[0]: unknown field 'cluster_header'" },
	{ "route: every weight 0",
	  ROUTE("{ prefix: / }", "{ weighted_clusters: { clusters: [ { name: a, weight: 0 }, { name: b, weight: 0 } ] } }"),
	  "t.yaml:16: " VH_WHAT ": routes[0]: weighted_clusters: the sum of weights is 0: no cluster would get traffic" },
	{ "total_weight mismatch",
	  ROUTE("{ prefix: / }", "{ weighted_clusters: { clusters: [ { name: a, weight: 60 }, { name: b, weight: 30 } ], total_weight: 100 } }"),
	  "t.yaml:16: " VH_WHAT ": routes[0]: weighted_clusters: total_weight 100 differs from the sum of weights 90" },
	{ "header two kinds",
	  HTTP_HEAD "              - name: r\n                match:\n                  prefix: /\n"
	  "                  headers:\n                  - { name: x-a, exact_match: a, prefix_match: b }\n"
	  "                route: { cluster: c }\n",
	  "t.yaml:19: " VH_WHAT ": route 'r': header 'x-a': exact_match and prefix_match are mutually exclusive" },
	{ "header without name",
	  ROUTE("{ prefix: /, headers: [ { exact_match: a } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: headers[0]: name is missing" },
	{ "header string_match empty prefix",
	  ROUTE("{ prefix: /, headers: [ { name: x, string_match: { prefix: \"\" } } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: header 'x': string_match: prefix is empty" },
	{ "header string_match without value",
	  ROUTE("{ prefix: /, headers: [ { name: x, string_match: { ignore_case: true } } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: header 'x': string_match: needs exact, prefix, suffix, contains or safe_regex" },
	{ "header present_match not bool",
	  ROUTE("{ prefix: /, headers: [ { name: x, present_match: 1 } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: header 'x': present_match '1' is not true or false" },
	{ "headers is a mapping",
	  ROUTE("{ prefix: /, headers: { name: x } }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: headers must be a sequence, not a mapping" },
	{ "query_parameters is a mapping",
	  ROUTE("{ prefix: /, query_parameters: { name: v } }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query_parameters must be a sequence, not a mapping" },
	{ "query parameter is a scalar",
	  ROUTE("{ prefix: /, query_parameters: [ v ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query_parameters[0] must be a mapping, not a scalar" },
	{ "query parameter without name",
	  ROUTE("{ prefix: /, query_parameters: [ { present_match: true } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query_parameters[0]: name is missing" },
	{ "query parameter empty name",
	  ROUTE("{ prefix: /, query_parameters: [ { name: v }, { name: \"\" } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query_parameters[1]: name is empty" },
	{ "query parameter two kinds",
	  HTTP_HEAD "              - name: r\n                match:\n                  prefix: /\n"
	  "                  query_parameters:\n                  - name: v\n"
	  "                    string_match: { exact: \"2\" }\n"
	  "                    present_match: true\n"
	  "                route: { cluster: c }\n",
	  "t.yaml:21: " VH_WHAT ": route 'r': query parameter 'v': string_match and present_match are mutually exclusive" },
	{ "query parameter invert_match refused",
	  ROUTE("{ prefix: /, query_parameters: [ { name: v, present_match: true, invert_match: true } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query parameter 'v': unknown field 'invert_match'" },
	{ "query parameter header form refused",
	  ROUTE("{ prefix: /, query_parameters: [ { name: v, exact_match: \"2\" } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query parameter 'v': unknown field 'exact_match'" },
	{ "query parameter legacy value refused",
	  ROUTE("{ prefix: /, query_parameters: [ { name: v, value: \"2\" } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query parameter 'v': unknown field 'value'" },
	{ "query parameter present_match not bool",
	  ROUTE("{ prefix: /, query_parameters: [ { name: v, present_match: yes } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query parameter 'v': present_match 'yes' is not true or false" },
	{ "query parameter string_match empty suffix",
	  ROUTE("{ prefix: /, query_parameters: [ { name: v, string_match: { suffix: \"\" } } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query parameter 'v': string_match: suffix is empty" },
	{ "query parameter string_match typo",
	  ROUTE("{ prefix: /, query_parameters: [ { name: v, string_match: { exct: \"2\" } } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query parameter 'v': string_match: unknown field 'exct' (did you mean 'exact'?)" },
	{ "query parameter string_match is a scalar",
	  ROUTE("{ prefix: /, query_parameters: [ { name: v, string_match: \"2\" } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: query parameter 'v': string_match must be a mapping, not a scalar" },
	{ "duplicate domains",
	  HTTP_HEAD "              - { match: { prefix: / }, route: { cluster: c } }\n"
	  "            - name: vh2\n              domains: [a.example, \"*\"]\n",
	  "t.yaml:17: " HCM_WHAT ": route_config 'rc': virtual_host 'vh2': domain '*' is also in virtual_host 'vh' (line 12)" },
	{ "duplicate domains ignoring case",
	  HTTP_HEAD "              - { match: { prefix: / }, route: { cluster: c } }\n"
	  "            - name: vh2\n              domains: [A.example]\n"
	  "            - name: vh3\n              domains: [a.EXAMPLE]\n",
	  "t.yaml:19: " HCM_WHAT ": route_config 'rc': virtual_host 'vh3': domain 'a.EXAMPLE' is also in virtual_host 'vh2' (line 16)" },
	{ "duplicate virtual_host",
	  HTTP_HEAD "              - { match: { prefix: / }, route: { cluster: c } }\n"
	  "            - name: vh\n              domains: [b]\n",
	  "t.yaml:16: " HCM_WHAT ": route_config 'rc': virtual_host 'vh' appears twice (first at line 12)" },
	{ "vhost without domains",
	  HTTP_HEAD "              - { match: { prefix: / }, route: { cluster: c } }\n"
	  "            - name: vh2\n",
	  "t.yaml:16: " HCM_WHAT ": route_config 'rc': virtual_host 'vh2': domains is missing" },
	/* model/check.c's rule, the same row for xDS in test_xds_resources.c */
	{ "domain with a line break",
	  HTTP_HEAD "              - { match: { prefix: / }, route: { cluster: c } }\n"
	  "            - name: vh2\n              domains: [ok, \"a\\nb\"]\n",
	  "t.yaml:17: " HCM_WHAT ": route_config 'rc': virtual_host 'vh2': domains[1] holds a CR or LF, which no request can carry (Envoy refuses it too)" },
	{ "header name with a line break",
	  ROUTE("{ prefix: /, headers: [ { name: \"x-a\\rb\", present_match: true } ] }", "{ cluster: c }"),
	  "t.yaml:15: " VH_WHAT ": routes[0]: header 'x-a?b' holds a CR or LF, which no request can carry (Envoy refuses it too)" },
	{ "domain empty",
	  HTTP_HEAD "              - { match: { prefix: / }, route: { cluster: c } }\n"
	  "            - name: vh2\n              domains: [ok, \"\"]\n",
	  "t.yaml:17: " HCM_WHAT ": route_config 'rc': virtual_host 'vh2': domains[1] is empty" },
};

static void check_error(const char *label, const char *yaml, size_t len,
			const char *want)
{
	struct km_model m;
	struct km_err err;
	int ret;

	memset(&m, 0x5a, sizeof(m));
	memset(&err, 0, sizeof(err));
	ret = km_config_load_string("t.yaml", yaml, len, &m, &err);
	if (ret >= 0)
		fail_msg("%s: loaded, expected \"%s\"", label, want);
	if (!strstr(err.msg, want) || strncmp(err.msg, want, 7) != 0)
		fail_msg("%s:\n  got:  %s\n  want: %s", label, err.msg, want);
	assert_int_equal(ret, -EINVAL);
	assert_null(strchr(err.msg, '\n'));
	assert_zeroed(&m);
}

static void test_bad(void **state)
{
	const struct bad_case *bc = *state;

	check_error(bc->name, bc->yaml, strlen(bc->yaml), bc->want);
}

/* ---- limits, with generated inputs ------------------------------------ */

struct gen {
	char *buf;
	size_t len;
	FILE *f;
};

static void gen_open(struct gen *g)
{
	g->f = open_memstream(&g->buf, &g->len);
	assert_non_null(g->f);
}

static const char *gen_close(struct gen *g)
{
	assert_int_equal(fclose(g->f), 0);
	return g->buf;
}

static void expect_ok(const char *yaml, struct km_model *m)
{
	struct km_err err;

	if (load(yaml, m, &err))
		fail_msg("%s", err.msg);
}

static const char *endpoints_yaml(struct gen *g, size_t n)
{
	gen_open(g);
	fprintf(g->f, CLUSTERS "  - name: big\n    load_assignment:\n"
		"      endpoints:\n      - lb_endpoints:\n");
	for (size_t i = 0; i < n / 2; i++)
		fprintf(g->f, "        - endpoint: { address: { socket_address: { address: 10.%zu.%zu.1, port_value: 80 } } }\n",
			i / 256, i % 256);
	/* the rest in a second locality group: the limit is per cluster */
	fprintf(g->f, "      - priority: 1\n        lb_endpoints:\n");
	for (size_t i = n / 2; i < n; i++)
		fprintf(g->f, "        - endpoint: { address: { socket_address: { address: 10.%zu.%zu.1, port_value: 80 } } }\n",
			i / 256, i % 256);
	return gen_close(g);
}

static void test_limit_endpoints(void **state)
{
	struct km_model m;
	struct gen g;

	(void)state;
	expect_ok(endpoints_yaml(&g, KM_MAX_CLUSTER_ENDPOINTS), &m);
	assert_int_equal(m.clusters[0].n_endpoints, KM_MAX_CLUSTER_ENDPOINTS);
	assert_int_equal(m.clusters[0].endpoints[KM_MAX_CLUSTER_ENDPOINTS - 1].priority, 1);
	km_model_free(&m);
	free(g.buf);

	endpoints_yaml(&g, KM_MAX_CLUSTER_ENDPOINTS + 1);
	check_error("endpoints over limit", g.buf, g.len,
		    "t.yaml:6: cluster 'big': 8193 endpoints, limit is 8192");
	free(g.buf);
}

static void test_limit_name(void **state)
{
	char name[KM_NAME_MAX + 1];
	char want[128];
	struct km_model m;
	struct gen g;

	(void)state;
	memset(name, 'n', KM_NAME_MAX - 1);
	name[KM_NAME_MAX - 1] = '\0';
	gen_open(&g);
	fprintf(g.f, CLUSTERS "  - name: %s\n", name);
	expect_ok(gen_close(&g), &m);
	assert_int_equal(strlen(m.clusters[0].name), KM_NAME_MAX - 1);
	km_model_free(&m);
	free(g.buf);

	strcat(name, "n");
	gen_open(&g);
	fprintf(g.f, LISTENERS "  - name: %s\n", name);
	gen_close(&g);
	snprintf(want, sizeof(want),
		 "t.yaml:3: listeners[0]: name is %d bytes long, limit is %d",
		 KM_NAME_MAX, KM_NAME_MAX - 1);
	check_error("name too long", g.buf, g.len, want);
	free(g.buf);

	/* a long name in a message is shortened, the message still whole */
	name[KM_NAME_MAX - 1] = '\0';
	gen_open(&g);
	fprintf(g.f, CLUSTERS "  - name: %s\n    type: FOO\n", name);
	gen_close(&g);
	snprintf(want, sizeof(want),
		 "t.yaml:4: cluster '%.64s...': unknown type 'FOO'", name);
	check_error("long name quoted", g.buf, g.len, want);
	free(g.buf);
}

static void test_limit_weighted(void **state)
{
	struct km_model m;
	struct gen g;

	(void)state;
	for (size_t n = KM_MAX_WEIGHTED; n <= KM_MAX_WEIGHTED + 1; n++) {
		gen_open(&g);
		fprintf(g.f, TCP_L("          weighted_clusters:\n            clusters:\n"));
		for (size_t i = 0; i < n; i++)
			fprintf(g.f, "            - { name: c%zu, weight: 1 }\n", i);
		gen_close(&g);
		if (n == KM_MAX_WEIGHTED) {
			expect_ok(g.buf, &m);
			assert_int_equal(m.listeners[0].chains[0].tcp.n_clusters, n);
			km_model_free(&m);
		} else {
			check_error("weighted over limit", g.buf, g.len,
				    "t.yaml:43: " TCP_WHAT ": weighted_clusters: 33 clusters, limit is 32");
		}
		free(g.buf);
	}
}

/* A route config with v vhosts of d domains and r routes of h headers and
 * q query parameter matchers. */
static void http_yaml_q(struct gen *g, size_t v, size_t d, size_t r, size_t h,
			size_t q)
{
	gen_open(g);
	fprintf(g->f, LISTENERS
		"  - name: web\n"
		"    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
		"    filter_chains:\n"
		"    - filters:\n"
		"      - name: envoy.filters.network.http_connection_manager\n"
		"        typed_config:\n"
		"          route_config:\n"
		"            name: rc\n"
		"            virtual_hosts:\n");
	for (size_t i = 0; i < v; i++) {
		fprintf(g->f, "            - name: vh%zu\n              domains:\n", i);
		for (size_t j = 0; j < d; j++)
			fprintf(g->f, "              - d%zu.v%zu\n", j, i);
		fprintf(g->f, "              routes:\n");
		for (size_t j = 0; j < r; j++) {
			fprintf(g->f, "              - match:\n                  prefix: /%zu\n"
				"                  headers:\n", j);
			for (size_t k = 0; k < h; k++)
				fprintf(g->f, "                  - { name: h%zu, exact_match: v }\n", k);
			if (q)
				fprintf(g->f, "                  query_parameters:\n");
			for (size_t k = 0; k < q; k++)
				fprintf(g->f, "                  - { name: q%zu, present_match: true }\n", k);
			fprintf(g->f, "                route: { cluster: c }\n");
		}
	}
	gen_close(g);
}

static void http_yaml(struct gen *g, size_t v, size_t d, size_t r, size_t h)
{
	http_yaml_q(g, v, d, r, h, 0);
}

static void test_limit_routes(void **state)
{
	struct km_model m;
	struct gen g;
	const struct km_m_route_config *rc;

	(void)state;
	/* every per-virtual-host limit at once: loads */
	http_yaml(&g, 1, KM_MAX_DOMAINS, KM_MAX_ROUTES, KM_MAX_HEADER_MATCHES);
	expect_ok(g.buf, &m);
	rc = &m.listeners[0].chains[0].routes;
	assert_int_equal(rc->vhosts[0].n_domains, KM_MAX_DOMAINS);
	assert_int_equal(rc->vhosts[0].n_routes, KM_MAX_ROUTES);
	assert_int_equal(rc->vhosts[0].routes[KM_MAX_ROUTES - 1].n_headers,
			 KM_MAX_HEADER_MATCHES);
	km_model_free(&m);
	free(g.buf);

	/* every virtual host, and every domain of a route config: loads */
	http_yaml(&g, KM_MAX_VHOSTS, KM_MAX_RC_DOMAINS / KM_MAX_VHOSTS, 1, 0);
	expect_ok(g.buf, &m);
	rc = &m.listeners[0].chains[0].routes;
	assert_int_equal(rc->n_vhosts, KM_MAX_VHOSTS);
	assert_int_equal(rc->vhosts[KM_MAX_VHOSTS - 1].n_domains,
			 KM_MAX_RC_DOMAINS / KM_MAX_VHOSTS);
	km_model_free(&m);
	free(g.buf);

	http_yaml(&g, KM_MAX_VHOSTS, KM_MAX_RC_DOMAINS / KM_MAX_VHOSTS + 1, 1, 0);
	check_error("domains of a route config over limit", g.buf, g.len,
		    "t.yaml:39324: " HCM_WHAT ": route_config 'rc': more than 16384 domains in all virtual hosts (at virtual_hosts[3276])");
	free(g.buf);

	http_yaml(&g, KM_MAX_VHOSTS + 1, 1, 1, 0);
	check_error("vhosts over limit", g.buf, g.len,
		    "t.yaml:32780: " HCM_WHAT ": route_config 'rc': 4097 virtual_hosts, limit is 4096");
	free(g.buf);

	http_yaml(&g, 1, KM_MAX_DOMAINS + 1, 1, 0);
	check_error("domains over limit", g.buf, g.len,
		    "t.yaml:78: " HCM_WHAT ": route_config 'rc': virtual_host 'vh0': 65 domains, limit is 64");
	free(g.buf);

	http_yaml(&g, 1, 1, KM_MAX_ROUTES + 1, 0);
	check_error("routes over limit", g.buf, g.len,
		    "t.yaml:1040: " HCM_WHAT ": route_config 'rc': virtual_host 'vh0': 257 routes, limit is 256");
	free(g.buf);

	http_yaml(&g, 1, 1, 1, KM_MAX_HEADER_MATCHES + 1);
	check_error("headers over limit", g.buf, g.len,
		    "t.yaml:19: " HCM_WHAT ": route_config 'rc': virtual_host 'vh0': routes[0]: 9 header matchers, limit is 8");
	free(g.buf);

	/* header and query parameter matchers count together */
	http_yaml_q(&g, 1, 1, 1, 3, KM_MAX_HEADER_MATCHES - 3);
	expect_ok(g.buf, &m);
	rc = &m.listeners[0].chains[0].routes;
	assert_int_equal(rc->vhosts[0].routes[0].n_headers, 3);
	assert_int_equal(rc->vhosts[0].routes[0].n_query_params, 5);
	km_model_free(&m);
	free(g.buf);

	http_yaml_q(&g, 1, 1, 1, 0, KM_MAX_HEADER_MATCHES + 1);
	check_error("query parameters over limit", g.buf, g.len,
		    "t.yaml:20: " HCM_WHAT ": route_config 'rc': virtual_host 'vh0': routes[0]: 9 query parameter matchers, limit is 8");
	free(g.buf);

	http_yaml_q(&g, 1, 1, 1, 4, 5);
	check_error("headers and query parameters over limit", g.buf, g.len,
		    "t.yaml:24: " HCM_WHAT ": route_config 'rc': virtual_host 'vh0': routes[0]: 4 header and 5 query parameter matchers, limit is 8 in all");
	free(g.buf);
}

static void test_string_limits(void **state)
{
	char path[KM_MAX_MATCH_STR + 1];
	char want[256];
	struct gen g;

	(void)state;
	path[0] = '/';
	memset(path + 1, 'p', KM_MAX_MATCH_STR - 1);
	path[KM_MAX_MATCH_STR] = '\0';
	gen_open(&g);
	fprintf(g.f, ROUTE("{ path: %s }", "{ cluster: c }"), path);
	gen_close(&g);
	snprintf(want, sizeof(want),
		 "t.yaml:15: " VH_WHAT ": routes[0]: path is %d bytes long, limit is %d",
		 KM_MAX_MATCH_STR, KM_MAX_MATCH_STR - 1);
	check_error("path too long", g.buf, g.len, want);
	free(g.buf);
}

/* Messages stay one line whatever the YAML holds. */
static void test_one_line(void **state)
{
	static const char yaml[] = CLUSTERS "  - name: \"a\\nb\"\n    type: \"X\\nY\"\n";

	(void)state;
	check_error("newline in values", yaml, strlen(yaml),
		    "t.yaml:4: cluster 'a?b': unknown type 'X?Y'");
}

/* The bootstrap node: what an xDS server is told (kmeshd --xds). */
/* LB configs, hash policies and what is accepted without being enforced
 * (issue 16). */
static void test_lb_configs(void **state)
{
	static const char yaml[] =
		"static_resources:\n"
		"  listeners:\n"
		"  - name: l\n"
		"    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n"
		"    filter_chains:\n"
		"    - filters:\n"
		"      - name: envoy.filters.network.tcp_proxy\n"
		"        typed_config: { cluster: lr, hash_policy: [ { source_ip: {} } ], idle_timeout: 3600s }\n"
		"  - name: web\n"
		"    address: { socket_address: { address: 10.0.0.2, port_value: 80 } }\n"
		"    filter_chains:\n"
		"    - filters:\n"
		"      - name: envoy.filters.network.http_connection_manager\n"
		"        typed_config:\n"
		"          http_filters:\n"
		"          - name: envoy.filters.http.fault\n"
		"          - name: envoy.filters.http.router\n"
		"          route_config:\n"
		"            name: rc\n"
		"            virtual_hosts:\n"
		"            - name: vh\n"
		"              domains: [\"*\"]\n"
		"              retry_policy: { num_retries: 1 }\n"
		"              routes:\n"
		"              - match: { prefix: / }\n"
		"                request_headers_to_add: [ { header: { key: x, value: y } } ]\n"
		"                route:\n"
		"                  cluster: rh\n"
		"                  prefix_rewrite: /v2\n"
		"                  timeout: 0s\n"
		"                  retry_policy: { num_retries: 2 }\n"
		"                  request_mirror_policies: [ { cluster: lr } ]\n"
		"                  hash_policy: [ { connection_properties: { source_ip: true } } ]\n"
		"  clusters:\n"
		"  - name: lr\n"
		"    lb_policy: LEAST_REQUEST\n"
		"    least_request_lb_config:\n"
		"      choice_count: 5\n"
		"      active_request_bias: { default_value: 0.0, runtime_key: x }\n"
		"    connect_timeout: 1s\n"
		"    outlier_detection: { consecutive_5xx: 3 }\n"
		"  - name: rh\n"
		"    lb_policy: RING_HASH\n"
		"    ring_hash_lb_config: { minimum_ring_size: 1024 }\n"
		"  - name: mg\n"
		"    lb_policy: MAGLEV\n"
		"    maglev_lb_config: { table_size: 251 }\n"
		"    common_lb_config: { zone_aware_lb_config: {} }\n"
		"  - name: lw\n"
		"    common_lb_config: { locality_weighted_lb_config: {} }\n"
		"    load_assignment:\n"
		"      endpoints:\n"
		"      - load_balancing_weight: 7\n"
		"        lb_endpoints:\n"
		"        - endpoint: { address: { socket_address: { address: 10.0.0.9, port_value: 80 } } }\n";
	const struct km_m_action *ra;
	const struct km_m_cluster *cl;
	struct km_model m = {};
	struct km_err err = {};

	(void)state;
	assert_int_equal(km_config_load_string("t.yaml", yaml, strlen(yaml), &m, &err), 0);
	cl = &m.clusters[0];
	assert_int_equal(cl->lb_policy, KM_LB_LEAST_REQUEST);
	assert_int_equal(cl->lb.choice_count, 5);
	assert_true(cl->lb.bias_set && cl->lb.bias == 0.0);
	assert_int_equal(cl->not_enforced, KM_NE_CONNECT_TIMEOUT | KM_NE_OUTLIER_DETECTION);
	cl = &m.clusters[1];
	assert_int_equal(cl->lb_policy, KM_LB_MAGLEV);
	assert_true(cl->lb.ring_hash);
	assert_int_equal(cl->not_enforced, KM_NE_RING_HASH_CONFIG);
	cl = &m.clusters[2];
	assert_int_equal(cl->lb_policy, KM_LB_MAGLEV);
	assert_false(cl->lb.ring_hash);
	assert_int_equal(cl->lb.maglev_size, 251);
	assert_int_equal(cl->not_enforced, KM_NE_ZONE_AWARE);
	cl = &m.clusters[3];
	assert_true(cl->lb.locality_weighted);
	assert_int_equal(cl->endpoints[0].locality_weight, 7);
	assert_int_equal(cl->not_enforced, 0);

	assert_int_equal(m.listeners[0].chains[0].tcp.n_hash, 1);
	assert_int_equal(m.listeners[0].chains[0].tcp.hash[0].kind, KM_HK_SOURCE_IP);
	assert_int_equal(m.listeners[0].chains[0].tcp.not_enforced, KM_NE_ROUTE_TIMEOUT);
	/* the fault filter without a delay: nothing it does goes unenforced */
	assert_true(m.listeners[1].chains[0].fault.filter);
	assert_int_equal(m.listeners[1].chains[0].not_enforced, 0);
	ra = &m.listeners[1].chains[0].routes.vhosts[0].routes[0].action;
	assert_int_equal(ra->n_hash, 1);
	assert_int_equal(ra->hash[0].kind, KM_HK_SOURCE_IP);
	/* timeout 0s is off: nothing to list; the route's headers and the
	 * action's rewrite are header rewrites */
	assert_int_equal(ra->not_enforced,
			 KM_NE_RETRY_POLICY | KM_NE_MIRROR | KM_NE_HEADER_REWRITE);
	assert_int_equal(m.listeners[1].chains[0].routes.vhosts[0].not_enforced,
			 KM_NE_RETRY_POLICY);
	km_model_free(&m);
}

/* kmeshd --strict on the YAML file (issue 12): every field the readers
 * accept without enforcing is refused instead, naming the file, the
 * field's line and the resource; without it the same file loads and lists
 * it. Istio's mutual TLS is one of them (a warning in kmeshctl status). */
#define S_CL "static_resources:\n  clusters:\n  - name: c\n"
#define S_TCP "static_resources:\n  listeners:\n  - name: l\n" \
	"    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n" \
	"    filter_chains:\n    - filters:\n" \
	"      - name: envoy.filters.network.tcp_proxy\n"
#define S_HCM "static_resources:\n  listeners:\n  - name: l\n" \
	"    address: { socket_address: { address: 10.0.0.1, port_value: 80 } }\n" \
	"    filter_chains:\n    - filters:\n" \
	"      - name: envoy.filters.network.http_connection_manager\n" \
	"        typed_config:\n"
#define S_RC "          route_config:\n            name: rc\n"
#define S_VH "            virtual_hosts:\n            - name: vh\n              domains: [\"*\"]\n"
#define S_RT "              routes:\n              - match: { prefix: / }\n"
#define S_SDS_TLS "name: envoy.transport_sockets.tls, typed_config: { \"@type\": " \
	"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext, " \
	"common_tls_context: { tls_certificate_sds_secret_configs: [ { name: default } ], " \
	"combined_validation_context: { validation_context_sds_secret_config: { name: ROOTCA } } }, " \
	"sni: outbound_.80_._.r.ns.svc.cluster.local }"

static const struct strict_case {
	const char *name, *yaml, *want;
	uint32_t bits;		/* without --strict: where the item is listed */
	int where;		/* 0 cluster 0, 1 tcp chain, 2 chain, 3 route,
				 * 4 virtual host, 5 route config */
} strict_cases[] = {
	{ "connect_timeout", S_CL "    connect_timeout: 1s\n",
	  "t.yaml:4: cluster 'c': connect_timeout is not enforced by kmesh, refused under --strict",
	  KM_NE_CONNECT_TIMEOUT, 0 },
	{ "outlier_detection", S_CL "    outlier_detection: { consecutive_5xx: 3 }\n",
	  "t.yaml:4: cluster 'c': outlier_detection is not enforced", KM_NE_OUTLIER_DETECTION, 0 },
	{ "ring sizes", S_CL "    lb_policy: RING_HASH\n    ring_hash_lb_config: { minimum_ring_size: 1024 }\n",
	  "t.yaml:5: cluster 'c': ring_hash_lb_config: ring_hash_lb_config is not enforced",
	  KM_NE_RING_HASH_CONFIG, 0 },
	{ "zone aware", S_CL "    common_lb_config:\n      zone_aware_lb_config: {}\n",
	  "t.yaml:5: cluster 'c': common_lb_config: zone_aware_lb_config is not enforced",
	  KM_NE_ZONE_AWARE, 0 },
	{ "max_requests", S_CL "    circuit_breakers:\n      thresholds:\n      - max_connections: 5\n        max_requests: 9\n",
	  "t.yaml:7: cluster 'c': circuit_breakers: thresholds[0]: max_requests is not enforced", 0, 0 },
	{ "Istio mTLS matches", S_CL "    transport_socket_matches:\n"
	  "    - name: tlsMode-istio\n      match: { tlsMode: istio }\n      transport_socket: { " S_SDS_TLS " }\n"
	  "    - name: tlsMode-disabled\n      match: {}\n      transport_socket: { name: envoy.transport_sockets.raw_buffer }\n",
	  "t.yaml:5: cluster 'c': transport_socket_matches is not enforced", KM_NE_MTLS, 0 },
	{ "Istio mTLS /etc/certs", S_CL "    transport_socket:\n      name: envoy.transport_sockets.tls\n"
	  "      typed_config: { common_tls_context: { tls_certificates: [ { certificate_chain: { filename: /etc/certs/cert-chain.pem } } ] } }\n",
	  "t.yaml:5: cluster 'c': transport_socket is not enforced", KM_NE_MTLS, 0 },
	{ "tcp_proxy idle_timeout", S_TCP "        typed_config: { cluster: c, idle_timeout: 3600s }\n",
	  "t.yaml:8: listener 'l': filter_chains[0]: tcp_proxy: idle_timeout is not enforced",
	  KM_NE_ROUTE_TIMEOUT, 1 },
	{ "fault delay", S_HCM "          http_filters:\n          - name: envoy.filters.http.fault\n"
	  "            typed_config:\n"
	  "              \"@type\": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault\n"
	  "              delay: { fixed_delay: 1s, percentage: { numerator: 10 } }\n"
	  "          - name: envoy.filters.http.router\n" S_RC S_VH S_RT "                route: { cluster: c }\n",
	  "t.yaml:13: listener 'l': filter_chains[0]: http_connection_manager: http_filters[0] 'envoy.filters.http.fault': fault delay is not enforced",
	  KM_NE_FAULT, 2 },
	{ "route timeout", S_HCM S_RC S_VH S_RT "                route: { cluster: c, timeout: 5s }\n",
	  "t.yaml:16: listener 'l': filter_chains[0]: http_connection_manager: route_config 'rc': virtual_host 'vh': routes[0]: timeout is not enforced",
	  KM_NE_ROUTE_TIMEOUT, 3 },
	{ "route retry_policy", S_HCM S_RC S_VH S_RT "                route: { cluster: c, retry_policy: { num_retries: 2 } }\n",
	  "t.yaml:16: listener 'l': filter_chains[0]: http_connection_manager: route_config 'rc': virtual_host 'vh': routes[0]: retry_policy is not enforced",
	  KM_NE_RETRY_POLICY, 3 },
	{ "route headers", S_HCM S_RC S_VH S_RT "                route: { cluster: c }\n"
	  "                request_headers_to_add: [ { header: { key: x, value: y } } ]\n",
	  "t.yaml:17: listener 'l': filter_chains[0]: http_connection_manager: route_config 'rc': virtual_host 'vh': routes[0]: request_headers_to_add is not enforced",
	  KM_NE_HEADER_REWRITE, 3 },
	{ "vhost hedge_policy", S_HCM S_RC S_VH "              hedge_policy: { initial_requests: 2 }\n"
	  S_RT "                route: { cluster: c }\n",
	  "t.yaml:14: listener 'l': filter_chains[0]: http_connection_manager: route_config 'rc': virtual_host 'vh': hedge_policy is not enforced",
	  KM_NE_HEDGE_POLICY, 4 },
	{ "route config headers", S_HCM S_RC "            response_headers_to_remove: [ x ]\n"
	  S_VH S_RT "                route: { cluster: c }\n",
	  "t.yaml:11: listener 'l': filter_chains[0]: http_connection_manager: route_config 'rc': response_headers_to_remove is not enforced",
	  KM_NE_HEADER_REWRITE, 5 },
};

static uint32_t strict_bits(const struct km_model *m, int where)
{
	const struct km_m_chain *ch = m->n_listeners ? &m->listeners[0].chains[0] : NULL;

	switch (where) {
	case 0:
		return m->clusters[0].not_enforced |
		       (m->clusters[0].cb.max_requests ? KM_NE_MAX_REQUESTS : 0);
	case 1:
		return ch->tcp.not_enforced;
	case 2:
		return ch->not_enforced;
	case 3:
		return ch->routes.vhosts[0].routes[0].action.not_enforced;
	case 4:
		return ch->routes.vhosts[0].not_enforced;
	default:
		return ch->routes.not_enforced;
	}
}

static void test_strict(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(strict_cases) / sizeof(strict_cases[0]); i++) {
		const struct strict_case *sc = &strict_cases[i];
		struct km_model m;
		struct km_err err = {};
		uint32_t want = sc->bits ? sc->bits : KM_NE_MAX_REQUESTS;
		int ret;

		ret = km_config_load_string("t.yaml", sc->yaml, strlen(sc->yaml), &m, &err);
		if (ret)
			fail_msg("%s: not loaded without --strict: %s", sc->name, err.msg);
		if (strict_bits(&m, sc->where) != want)
			fail_msg("%s: listed as 0x%x, want 0x%x", sc->name,
				 strict_bits(&m, sc->where), want);
		km_model_free(&m);
		memset(&m, 0x5a, sizeof(m));
		ret = km_config_load_string_flags("t.yaml", sc->yaml, strlen(sc->yaml),
						  KM_CONFIG_STRICT, &m, &err);
		if (ret != -EINVAL || strncmp(err.msg, sc->want, strlen(sc->want)))
			fail_msg("%s under --strict:\n  got:  %s (%d)\n  want: %s...",
				 sc->name, ret ? err.msg : "loaded", ret, sc->want);
		assert_non_null(strstr(err.msg, "refused under --strict"));
		assert_zeroed(&m);
	}
}

/* Upstream TLS from the file, with or without --strict: Istio's mutual
 * TLS is listed (above), plaintext is what kmesh does, any other TLS and
 * internal upstreams are refused. */
static void test_upstream_tls(void **state)
{
	static const char raw[] = S_CL "    transport_socket: { name: envoy.transport_sockets.raw_buffer }\n";
	static const char tls[] = S_CL "    transport_socket:\n      name: envoy.transport_sockets.tls\n"
		"      typed_config: { sni: api.example.com }\n";
	static const char internal[] = S_CL "    transport_socket_matches:\n"
		"    - name: internal\n      transport_socket: { name: envoy.transport_sockets.internal_upstream }\n";
	static const char notseq[] = S_CL "    transport_socket_matches: { name: x }\n";
	struct km_model m;
	struct km_err err = {};

	(void)state;
	assert_int_equal(km_config_load_string_flags("t.yaml", raw, strlen(raw), KM_CONFIG_STRICT, &m, &err), 0);
	assert_int_equal(m.clusters[0].not_enforced, 0);
	km_model_free(&m);
	check_error("TLS origination", tls, strlen(tls),
		    "t.yaml:5: cluster 'c': transport_socket: TLS origination is not supported (kmesh would send it plaintext)");
	check_error("internal upstream", internal, strlen(internal),
		    "t.yaml:5: cluster 'c': transport_socket_matches: internal_upstream transport sockets (ambient HBONE) are not supported");
	check_error("matches not a list", notseq, strlen(notseq),
		    "t.yaml:4: cluster 'c': transport_socket_matches");
}

static void test_node_for_xds(void **state)
{
	static const char yaml[] =
		"node:\n"
		"  id: sidecar~10.1.2.3~app-1.ns~ns.svc.cluster.local\n"
		"  cluster: app.ns\n"
		"  metadata:\n"
		"    ISTIO_VERSION: \"1.24.0\"\n"
		"    CLUSTER_ID: Kubernetes\n"
		"    NAMESPACE: ns\n"
		"    INSTANCE_IPS: 10.1.2.3,fd00::3\n"
		"    LABELS: { app: web, version: v2 }\n"
		"    SOMETHING_ELSE: [ ignored ]\n"
		"static_resources: {}\n";
	static const char bad[] =
		"node:\n"
		"  metadata: [ 1 ]\n"
		"static_resources: {}\n";
	struct km_model m;
	struct km_err err;

	(void)state;
	assert_int_equal(km_config_load_string("t.yaml", yaml, strlen(yaml), &m, &err), 0);
	assert_string_equal(m.node.id, "sidecar~10.1.2.3~app-1.ns~ns.svc.cluster.local");
	assert_string_equal(m.node.cluster, "app.ns");
	assert_string_equal(m.node.istio_version, "1.24.0");
	assert_string_equal(m.node.cluster_id, "Kubernetes");
	assert_string_equal(m.node.namespace_, "ns");
	assert_string_equal(m.node.instance_ips, "10.1.2.3,fd00::3");
	assert_string_equal(m.node.labels, "app=web,version=v2");
	assert_null(m.node.node_name);
	km_model_free(&m);
	check_error("node metadata not a mapping", bad, strlen(bad),
		    "t.yaml:2: node: metadata must be a mapping");
}

/* With --xds the file may hold only the bootstrap node; without, that is
 * still "static_resources is missing". What it holds is still checked. */
static void test_node_only(void **state)
{
	const char *y = "node:\n  id: a\n  metadata: { CLUSTER_ID: c }\n";
	struct km_model m;
	struct km_err err;

	(void)state;
	assert_int_equal(km_config_load_node_string("n.yaml", y, strlen(y), &m, &err), 0);
	assert_string_equal(m.node.id, "a");
	assert_string_equal(m.node.cluster_id, "c");
	assert_int_equal(m.n_listeners, 0);
	km_model_free(&m);
	assert_int_equal(km_config_load_string("n.yaml", y, strlen(y), &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "static_resources"));
	y = "node:\n  id: a\n  bogus: 1\n";
	assert_int_not_equal(km_config_load_node_string("n.yaml", y, strlen(y), &m, &err), 0);
	assert_non_null(strstr(err.msg, "bogus"));
}

/* ---- input bounds ------------------------------------------------------ */

static void expect_refused(const char *path, int want_ret, const char *want)
{
	struct km_model m;
	struct km_err err = {};
	int ret;

	memset(&m, 0x5a, sizeof(m));
	ret = km_config_load_file(path, &m, &err);
	assert_int_equal(ret, want_ret);
	if (!strstr(err.msg, want) || strncmp(err.msg, path, strlen(path)))
		fail_msg("want '%s: ...%s...', got '%s'", path, want, err.msg);
	assert_zeroed(&m);
}

/* A FIFO with no writer would block open() and read() for good. */
static void test_fifo_refused(void **state)
{
	char dir[] = "/tmp/test_config_fifo.XXXXXX", path[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mesh.yaml", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_refused(path, -EINVAL, "not a regular file (a FIFO)");
	unlink(path);
	/* a symlink to a device: /dev/zero would be read until OOM */
	assert_int_equal(symlink("/dev/zero", path), 0);
	expect_refused(path, -EINVAL, "not a regular file (a character device)");
	unlink(path);
	expect_refused(dir, -EINVAL, "not a regular file (a directory)");
	rmdir(dir);
}

/* Sparse: a 65 MiB file costs no disk. */
static void test_size_limit(void **state)
{
	char path[] = "/tmp/test_config_big.XXXXXX";
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, KM_CONFIG_MAX_BYTES + 1), 0);
	close(fd);
	expect_refused(path, -EFBIG, "larger than the 64 MiB limit");
	unlink(path);
}

static char *nested(size_t levels, const char *open, const char *close)
{
	size_t lo = strlen(open), lc = strlen(close);
	char *s = malloc(levels * (lo + lc) + 1), *p = s;

	assert_non_null(s);
	for (size_t i = 0; i < levels; i++, p += lo)
		memcpy(p, open, lo);
	for (size_t i = 0; i < levels; i++, p += lc)
		memcpy(p, close, lc);
	*p = 0;
	return s;
}

/* 100k levels took the loader 19 s; refused at level 65 in microseconds.
 * The time is printed, not asserted. */
static void test_depth_limit(void **state)
{
	struct km_model m;
	struct km_err err = {};
	struct timespec t0, t1;
	char *yaml;
	int ret;

	(void)state;
	yaml = nested(100000, "[", "]");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = km_config_load_string("deep.yaml", yaml, strlen(yaml), &m, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(err.msg,
			    "deep.yaml:1:65: YAML nested deeper than 64 levels: refused");
	printf("# 100k levels refused in %.3f ms\n",
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	free(yaml);

	/* mappings in block style: line and column of the 65th level */
	yaml = malloc(65 * 200);
	assert_non_null(yaml);
	yaml[0] = 0;
	for (int i = 0; i < 65; i++)
		sprintf(yaml + strlen(yaml), "%*sk%d:\n", i, "", i);
	sprintf(yaml + strlen(yaml), "%*sv\n", 65, "");
	ret = km_config_load_string("deep.yaml", yaml, strlen(yaml), &m, &err);
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(err.msg,
			    "deep.yaml:65:65: YAML nested deeper than 64 levels: refused");
	free(yaml);

	/* 64 levels pass the depth check (and fail later, as not Envoy) */
	yaml = nested(64, "[", "]");
	ret = km_config_load_string("deep.yaml", yaml, strlen(yaml), &m, &err);
	assert_int_not_equal(ret, 0);
	assert_null(strstr(err.msg, "nested deeper"));
	free(yaml);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_lb_configs),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_upstream_tls),
		cmocka_unit_test(test_node_for_xds),
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_dns_clusters),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_fifo_refused),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_limit_endpoints),
		cmocka_unit_test(test_limit_name),
		cmocka_unit_test(test_limit_weighted),
		cmocka_unit_test(test_limit_routes),
		cmocka_unit_test(test_string_limits),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_node_only),
	};
	const size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]);
	const size_t n_bad = sizeof(bad_cases) / sizeof(bad_cases[0]);
	struct CMUnitTest *tests;
	int ret;

	/* one named test per table row, so a failure says which row */
	tests = calloc(n_fixed + n_bad, sizeof(*tests));
	if (!tests)
		return 1;
	memcpy(tests, fixed, sizeof(fixed));
	for (size_t i = 0; i < n_bad; i++) {
		tests[n_fixed + i] = (struct CMUnitTest){
			.name = bad_cases[i].name,
			.test_func = test_bad,
			.initial_state = (void *)&bad_cases[i],
		};
	}
	ret = _cmocka_run_group_tests("config_yaml", tests, n_fixed + n_bad,
				      NULL, NULL);
	free(tests);
	return ret;
}
