// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The compiler: model -> map records, and the errors only it can find. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "compiler.h"
#include "kmesh/route_table.h"
#include "config_yaml.h"
#include "lb_compile.h"
#include "not_enforced.h"

#define HDR "static_resources:\n"

#define TCP_LISTENER(name, addr, port, cluster)                                \
	"  - name: " name "\n"                                                 \
	"    address: { socket_address: { address: \"" addr "\", port_value: " #port " } }\n" \
	"    filter_chains:\n"                                                 \
	"    - filters:\n"                                                     \
	"      - name: envoy.filters.network.tcp_proxy\n"                      \
	"        typed_config: { stat_prefix: s, cluster: " cluster " }\n"

#define EP(addr, port, health, weight)                                         \
	"        - endpoint: { address: { socket_address: { address: \"" addr "\", port_value: " #port " } } }\n" \
	"          health_status: " #health "\n"                                \
	"          load_balancing_weight: " #weight "\n"

#define CLUSTER1(name, policy, eps)                                            \
	"  - name: " name "\n"                                                 \
	"    lb_policy: " policy "\n"                                          \
	"    load_assignment:\n"                                               \
	"      endpoints:\n"                                                   \
	"      - lb_endpoints:\n" eps

struct fx {
	struct km_model m;
	struct km_records r;
	struct km_err err;
};

static int compile_yaml(struct fx *f, const char *yaml)
{
	int ret;

	memset(f, 0, sizeof(*f));
	ret = km_config_load_string("t.yaml", yaml, strlen(yaml), &f->m, &f->err);
	if (ret) {
		fail_msg("config did not load: %s", f->err.msg);
		return ret;
	}
	return km_compile(&f->m, &f->r, &f->err);
}

static void fx_free(struct fx *f)
{
	km_records_free(&f->r);
	km_model_free(&f->m);
}

static const struct km_frontend *find_fe(const struct km_records *r,
					 const char *ip, unsigned int port)
{
	struct km_ip a;

	assert_int_equal(km_ip_parse(ip, &a), 0);
	for (size_t i = 0; i < r->n_frontends; i++)
		if (memcmp(&r->fe_keys[i].addr, &a.addr, sizeof(a.addr)) == 0 &&
		    r->fe_keys[i].port == htons(port))
			return &r->fe_vals[i];
	return NULL;
}

static long cluster_id(const struct km_records *r, const char *name)
{
	for (size_t i = 0; i < r->n_clusters; i++)
		if (strcmp(r->cluster_names[i], name) == 0)
			return i;
	return -1;
}

static const struct km_endpoint *endpoint(const struct km_records *r,
					  long cid, unsigned int index)
{
	for (size_t i = 0; i < r->n_endpoints; i++)
		if (r->ep_keys[i].cluster_id == cid && r->ep_keys[i].index == index)
			return &r->ep_vals[i];
	return NULL;
}

static void test_frontends_and_targets(void **state)
{
	struct fx f;
	const struct km_frontend *fe;
	const char *y = HDR "  listeners:\n"
		TCP_LISTENER("a", "10.96.0.1", 80, "c1")
		"  - name: split\n"
		"    address: { socket_address: { address: 10.96.0.2, port_value: 80 } }\n"
		"    additional_addresses:\n"
		"    - address: { socket_address: { address: 10.96.0.3, port_value: 80 } }\n"
		"    filter_chains:\n"
		"    - filters:\n"
		"      - name: envoy.filters.network.tcp_proxy\n"
		"        typed_config:\n"
		"          stat_prefix: s\n"
		"          weighted_clusters: { clusters: [ {name: c1, weight: 30}, {name: c2, weight: 70} ] }\n"
		"  clusters:\n"
		CLUSTER1("c1", "ROUND_ROBIN", EP("10.99.0.1", 8080, HEALTHY, 1))
		CLUSTER1("c2", "RANDOM", EP("10.99.0.2", 8080, HEALTHY, 1));

	assert_int_equal(compile_yaml(&f, y), 0);
	assert_int_equal(f.r.n_frontends, 3);
	fe = find_fe(&f.r, "10.96.0.1", 80);
	assert_non_null(fe);
	assert_int_equal(fe->n_targets, 1);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "c1"));
	assert_string_equal(f.r.listener_names[fe->listener_id], "a");
	/* both addresses of one listener, same cumulative weights */
	for (int i = 0; i < 2; i++) {
		fe = find_fe(&f.r, i ? "10.96.0.3" : "10.96.0.2", 80);
		assert_non_null(fe);
		assert_int_equal(fe->n_targets, 2);
		assert_int_equal(fe->targets[0].cum_weight, 30);
		assert_int_equal(fe->targets[1].cum_weight, 100);
		assert_int_equal(fe->total_weight, 100);
		assert_int_equal(fe->targets[1].cluster_id, cluster_id(&f.r, "c2"));
	}
	assert_int_equal(f.r.clusters[cluster_id(&f.r, "c2")].lb_policy, KM_LB_RANDOM);
	fx_free(&f);
}

static void test_cluster_levels(void **state)
{
	struct fx f;
	const struct km_cluster *c;
	const struct km_endpoint *e;
	const char *y = "node: { locality: { region: r1, zone: z1 } }\n" HDR
		"  listeners: []\n"
		"  clusters:\n"
		/* priority 0 unhealthy/draining: priority 1 serves */
		"  - name: prio\n"
		"    load_assignment:\n"
		"      endpoints:\n"
		"      - priority: 0\n"
		"        lb_endpoints:\n"
		EP("10.0.0.1", 1, UNHEALTHY, 1)
		EP("10.0.0.2", 1, DRAINING, 1)
		"      - priority: 1\n"
		"        lb_endpoints:\n"
		EP("10.0.0.3", 1, HEALTHY, 2)
		EP("10.0.0.4", 1, UNKNOWN, 5)
		EP("10.0.0.5", 1, DEGRADED, 1)
		/* same priority: own zone first, then own region */
		"  - name: loc\n"
		"    load_assignment:\n"
		"      endpoints:\n"
		"      - locality: { region: r2, zone: z1 }\n"
		"        lb_endpoints:\n"
		EP("10.0.1.1", 1, HEALTHY, 1)
		"      - locality: { region: r1, zone: z9 }\n"
		"        lb_endpoints:\n"
		EP("10.0.1.2", 1, HEALTHY, 1)
		"      - locality: { region: r1, zone: z1, sub_zone: s5 }\n"
		"        lb_endpoints:\n"
		EP("10.0.1.3", 1, UNHEALTHY, 1)
		CLUSTER1("dead", "ROUND_ROBIN", EP("10.0.2.1", 1, TIMEOUT, 1));

	assert_int_equal(compile_yaml(&f, y), 0);
	c = &f.r.clusters[cluster_id(&f.r, "prio")];
	assert_int_equal(c->n_endpoints, 2);
	assert_int_equal(c->n_configured, 5);
	assert_int_equal(c->priority, 1);
	assert_int_equal(c->total_weight, 7);
	assert_true(c->weighted);
	e = endpoint(&f.r, cluster_id(&f.r, "prio"), 1);
	assert_non_null(e);
	assert_int_equal(e->cum_weight, 7);
	assert_int_equal(e->port, htons(1));
	assert_int_equal(e->addr.w[3], inet_addr("10.0.0.4"));
	assert_int_equal(e->addr.w[2], htonl(0xffff));

	/* the z1 sub_zone endpoint is unhealthy; r1/z9 (rank 1) beats r2 */
	c = &f.r.clusters[cluster_id(&f.r, "loc")];
	assert_int_equal(c->n_endpoints, 1);
	assert_int_equal(c->locality_rank, 1);
	assert_int_equal(endpoint(&f.r, cluster_id(&f.r, "loc"), 0)->addr.w[3],
			 inet_addr("10.0.1.2"));

	c = &f.r.clusters[cluster_id(&f.r, "dead")];
	assert_int_equal(c->n_endpoints, 0);
	assert_int_equal(c->n_configured, 1);
	fx_free(&f);
}

static void test_locality_rank(void **state)
{
	struct km_locality node = { "r1", "z1", "s1" };
	struct km_locality same = { "r1", "z1", "s1" }, zone = { "r1", "z1", "s2" };
	struct km_locality region = { "r1", "z2", "s1" }, other = { "r2", "z1", "s1" };
	struct km_locality unset = {}, partial = { "r1", NULL, NULL };

	assert_int_equal(km_locality_rank(&node, &same), 0);
	assert_int_equal(km_locality_rank(&node, &zone), 1);
	assert_int_equal(km_locality_rank(&node, &region), 2);
	assert_int_equal(km_locality_rank(&node, &other), 3);
	assert_int_equal(km_locality_rank(&node, &unset), 3);
	/* a node without locality ranks everything 0: only priority counts */
	assert_int_equal(km_locality_rank(&unset, &other), 0);
	/* the node sets only a region: matching it is all that counts */
	assert_int_equal(km_locality_rank(&partial, &region), 0);
	assert_int_equal(km_locality_rank(&partial, &other), 1);
}

static void test_http_default_route(void **state)
{
	struct fx f;
	const struct km_frontend *fe;
	const char *y = HDR "  listeners:\n"
		"  - name: web\n"
		"    address: { socket_address: { address: 10.96.0.9, port_value: 80 } }\n"
		"    filter_chains:\n"
		"    - filters:\n"
		"      - name: envoy.filters.network.http_connection_manager\n"
		"        typed_config:\n"
		"          stat_prefix: w\n"
		"          route_config:\n"
		"            virtual_hosts:\n"
		"            - name: api\n"
		"              domains: [api.example.com]\n"
		"              routes:\n"
		"              - { match: { prefix: / }, route: { cluster: a } }\n"
		"            - name: any\n"
		"              domains: [\"*\"]\n"
		"              routes:\n"
		"              - { match: { path: /x }, route: { cluster: a } }\n"
		"              - match: { prefix: /, headers: [ { name: x, exact_match: y } ] }\n"
		"                route: { cluster: a }\n"
		"              - { match: { prefix: / }, route: { cluster: b } }\n"
		"  clusters:\n"
		CLUSTER1("a", "ROUND_ROBIN", EP("10.99.0.1", 80, HEALTHY, 1))
		CLUSTER1("b", "ROUND_ROBIN", EP("10.99.0.2", 80, HEALTHY, 1));

	assert_int_equal(compile_yaml(&f, y), 0);
	fe = find_fe(&f.r, "10.96.0.9", 80);
	assert_non_null(fe);
	/* the "*" host's catch-all route without header matchers */
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "b"));
	assert_true(fe->flags & KM_FE_L7);
	assert_false(fe->flags & KM_FE_L7_AS_L4);
	assert_int_equal(f.r.n_l7_listeners, 1);
	assert_string_equal(f.r.l7_listeners[0], "web");
	/* and its route table, compiled once */
	assert_int_equal(f.r.n_routes, 1);
	assert_int_equal(fe->route_id, 0);
	assert_true(f.r.route_lens[0] > sizeof(struct km_rt_head));
	fx_free(&f);
}

static void test_ipv6(void **state)
{
	struct fx f;
	const char *y = HDR "  listeners:\n"
		TCP_LISTENER("v6", "fd00:96::1", 443, "c6")
		"  clusters:\n"
		CLUSTER1("c6", "ROUND_ROBIN", EP("fd00:99::2", 8443, HEALTHY, 1));
	const struct km_endpoint *e;

	assert_int_equal(compile_yaml(&f, y), 0);
	assert_non_null(find_fe(&f.r, "fd00:96::1", 443));
	e = endpoint(&f.r, 0, 0);
	assert_int_equal(e->family, KM_FAMILY_INET6);
	assert_int_equal(e->port, htons(8443));
	fx_free(&f);
}

/* A route config delivered by RDS (xDS) into model.route_configs. */
static void add_rds_route_config(struct km_model *m, const char *name,
				 const char *cluster)
{
	struct km_m_route_config *rc;
	struct km_m_vhost *vh;
	struct km_m_route *rt;

	m->route_configs = calloc(1, sizeof(*rc));
	m->n_route_configs = 1;
	rc = &m->route_configs[0];
	rc->name = strdup(name);
	rc->vhosts = vh = calloc(1, sizeof(*vh));
	rc->n_vhosts = 1;
	vh->name = strdup("all");
	vh->domains = calloc(1, sizeof(char *));
	vh->domains[0] = strdup("*");
	vh->n_domains = 1;
	vh->routes = rt = calloc(1, sizeof(*rt));
	vh->n_routes = 1;
	rt->path_kind = KM_PATH_PREFIX;
	rt->path = strdup("/");
	rt->action.clusters = calloc(1, sizeof(*rt->action.clusters));
	rt->action.n_clusters = 1;
	rt->action.clusters[0].cluster = strdup(cluster);
	rt->action.clusters[0].weight = 1;
}

static void test_rds_resolution(void **state)
{
	const char *y = HDR "  listeners:\n"
		"  - name: web\n"
		"    address: { socket_address: { address: 10.96.0.9, port_value: 80 } }\n"
		"    filter_chains:\n"
		"    - filters:\n"
		"      - name: envoy.filters.network.http_connection_manager\n"
		"        typed_config: { stat_prefix: w, rds: { route_config_name: r } }\n"
		TCP_LISTENER("tcp", "10.96.0.8", 80, "a")
		"  clusters:\n"
		CLUSTER1("a", "ROUND_ROBIN", EP("10.99.0.1", 80, HEALTHY, 1));
	struct fx f;

	/* RDS not arrived, xDS mode: the listener waits, the rest is served */
	memset(&f, 0, sizeof(f));
	assert_int_equal(km_config_load_string("t.yaml", y, strlen(y), &f.m, &f.err), 0);
	f.m.rds_may_wait = true;
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_frontends, 1);
	assert_null(find_fe(&f.r, "10.96.0.9", 80));
	assert_int_equal(f.r.n_waiting, 1);
	assert_string_equal(f.r.waiting[0], "web");
	km_records_free(&f.r);

	/* RDS arrived: served (as L4 to its default route) */
	add_rds_route_config(&f.m, "r", "a");
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_frontends, 2);
	assert_non_null(find_fe(&f.r, "10.96.0.9", 80));
	assert_int_equal(f.r.n_waiting, 0);
	assert_int_equal(f.r.n_l7_listeners, 1);
	assert_int_equal(f.r.n_routes, 1);
	fx_free(&f);
}

/* Istio's PassthroughCluster (ORIGINAL_DST): the VIP is not served. */
static void test_passthrough(void **state)
{
	struct fx f;
	const char *y = HDR "  listeners:\n"
		TCP_LISTENER("pass", "10.96.0.1", 80, "PassthroughCluster")
		TCP_LISTENER("svc", "10.96.0.2", 80, "c")
		"  clusters:\n"
		"  - name: PassthroughCluster\n"
		CLUSTER1("c", "ROUND_ROBIN", EP("10.99.0.1", 80, HEALTHY, 1));

	memset(&f, 0, sizeof(f));
	assert_int_equal(km_config_load_string("t.yaml", y, strlen(y), &f.m, &f.err), 0);
	f.m.clusters[0].original_dst = true;	/* what the xDS decoder sets */
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_frontends, 1);
	assert_null(find_fe(&f.r, "10.96.0.1", 80));
	assert_non_null(find_fe(&f.r, "10.96.0.2", 80));
	fx_free(&f);
}

/*
 * Filter chain selection (Envoy's FilterChainMatch order). The YAML reader
 * knows destination_port only; the rest of the match is set in the model
 * as the xDS decoder would. Listener "web" on 10.96.0.9 and 10.96.0.10:80:
 *   chain 0: tcp_proxy -> t
 *   chain 1: http_connection_manager, every request -> h
 */
#define SNIFFED_YAML HDR "  listeners:\n"                                 \
	"  - name: web\n"                                                 \
	"    address: { socket_address: { address: 10.96.0.9, port_value: 80 } }\n" \
	"    additional_addresses:\n"                                      \
	"    - address: { socket_address: { address: 10.96.0.10, port_value: 80 } }\n" \
	"    filter_chains:\n"                                             \
	"    - filters:\n"                                                 \
	"      - name: envoy.filters.network.tcp_proxy\n"                  \
	"        typed_config: { stat_prefix: s, cluster: t }\n"           \
	"    - filter_chain_match: { destination_port: 81 }\n"             \
	"      filters:\n"                                                 \
	"      - name: envoy.filters.network.http_connection_manager\n"    \
	"        typed_config:\n"                                          \
	"          stat_prefix: w\n"                                       \
	"          route_config:\n"                                        \
	"            virtual_hosts:\n"                                     \
	"            - name: any\n"                                        \
	"              domains: [\"*\"]\n"                                 \
	"              routes:\n"                                          \
	"              - { match: { prefix: / }, route: { cluster: h } }\n" \
	"  clusters:\n"                                                    \
	CLUSTER1("t", "ROUND_ROBIN", EP("10.99.0.1", 80, HEALTHY, 1))      \
	CLUSTER1("h", "ROUND_ROBIN", EP("10.99.0.2", 80, HEALTHY, 1))

static void load_sniffed(struct fx *f)
{
	const char *y = SNIFFED_YAML;

	memset(f, 0, sizeof(*f));
	assert_int_equal(km_config_load_string("t.yaml", y, strlen(y), &f->m,
					       &f->err), 0);
	/* istiod's current HTTP chain: raw_buffer + [http/1.1, h2c], on the
	 * listener's port like the TCP chain */
	f->m.listeners[0].chains[1].dest_port = 0;
	f->m.listeners[0].chains[1].match.raw_buffer = true;
	f->m.listeners[0].chains[1].match.http = true;
	f->m.listeners[0].chains[0].match.raw_buffer = true;
}

static void set_prefix(struct km_m_chain *ch, const char *ip, uint8_t len)
{
	ch->match.prefixes = calloc(1, sizeof(*ch->match.prefixes));
	assert_non_null(ch->match.prefixes);
	ch->match.n_prefixes = 1;
	assert_int_equal(km_ip_parse(ip, &ch->match.prefixes[0].ip), 0);
	ch->match.prefixes[0].len = len;
}

/* A sniffed listener: HTTP takes the HTTP chain (route table, kmesh.ko),
 * the rest the TCP chain, which is also what L4 serves without kmesh.ko. */
static void test_sniffed_listener(void **state)
{
	const struct km_frontend *fe;
	struct fx f;

	(void)state;
	load_sniffed(&f);
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_frontends, 2);
	fe = find_fe(&f.r, "10.96.0.9", 80);
	assert_non_null(fe);
	assert_true(fe->flags & KM_FE_L7);
	assert_int_equal(fe->n_targets, 1);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "t"));
	assert_int_equal(f.r.n_routes, 1);
	assert_int_equal(f.r.n_sniffed, 1);
	assert_string_equal(f.r.sniffed[0], "web");
	assert_int_equal(f.r.n_l7_listeners, 1);
	fx_free(&f);

	/* Envoy does not fall back from a transport_protocol level that
	 * matched: with the TCP chain's transport unset, non-HTTP traffic
	 * has no chain, and L4 serves the HTTP chain's default route */
	load_sniffed(&f);
	f.m.listeners[0].chains[0].match.raw_buffer = false;
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	fe = find_fe(&f.r, "10.96.0.9", 80);
	assert_true(fe->flags & KM_FE_L7);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "h"));
	assert_int_equal(f.r.n_sniffed, 0);
	fx_free(&f);

	/* an HTTP-only chain (no TCP chain): L4 is its default route */
	load_sniffed(&f);
	f.m.listeners[0].chains[0].dest_port = 82;
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	fe = find_fe(&f.r, "10.96.0.9", 80);
	assert_non_null(fe);
	assert_true(fe->flags & KM_FE_L7);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "h"));
	assert_int_equal(f.r.n_sniffed, 0);
	fe = find_fe(&f.r, "10.96.0.9", 82);
	assert_non_null(fe);
	assert_false(fe->flags & KM_FE_L7);
	fx_free(&f);
}

/* istiod's sniffed port today: the HTTP chain matches raw_buffer +
 * [http/1.1, h2c], the TCP side is the listener's default_filter_chain,
 * taken by what no chain matches: L4 serves it, kmesh.ko routes HTTP. */
static void test_default_filter_chain(void **state)
{
	const struct km_frontend *fe;
	struct fx f;

	(void)state;
	load_sniffed(&f);
	f.m.listeners[0].chains[0].fallback = true;
	f.m.listeners[0].chains[0].match.raw_buffer = false;
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	fe = find_fe(&f.r, "10.96.0.9", 80);
	assert_non_null(fe);
	assert_true(fe->flags & KM_FE_L7);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "t"));
	assert_int_equal(f.r.n_sniffed, 1);
	fx_free(&f);
}

/* prefix_ranges pick per address, longest prefix first; raw_buffer and
 * EXTERNAL beat unset; a chain for HTTP never takes other traffic. */
static void test_chain_pick(void **state)
{
	const struct km_frontend *fe;
	struct km_m_chain *ch;
	struct fx f;

	(void)state;
	load_sniffed(&f);
	ch = f.m.listeners[0].chains;
	/* both chains for every protocol; .10 only in chain 1's /32 */
	ch[1].match.http = false;
	set_prefix(&ch[0], "10.96.0.0", 16);
	set_prefix(&ch[1], "10.96.0.10", 32);
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	fe = find_fe(&f.r, "10.96.0.9", 80);
	assert_false(fe->flags & KM_FE_L7);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "t"));
	fe = find_fe(&f.r, "10.96.0.10", 80);
	assert_true(fe->flags & KM_FE_L7);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "h"));
	km_records_free(&f.r);

	/* no range holds 10.96.0.9: no chain, no frontend */
	ch[0].match.prefixes[0].len = 32;
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_frontends, 1);
	assert_null(find_fe(&f.r, "10.96.0.9", 80));
	km_records_free(&f.r);

	/* same destination: raw_buffer (chain 1) beats unset (chain 0) */
	ch[0].match.n_prefixes = ch[1].match.n_prefixes = 0;
	ch[0].match.raw_buffer = false;
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	fe = find_fe(&f.r, "10.96.0.9", 80);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "h"));
	km_records_free(&f.r);

	/* ... unless the other is EXTERNAL at the same transport level */
	ch[0].match.raw_buffer = true;
	ch[0].match.external = true;
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	fe = find_fe(&f.r, "10.96.0.9", 80);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "t"));
	fx_free(&f);
}

/* traffic_direction INBOUND: kept and listed, never a frontend. */
static void test_inbound_listener(void **state)
{
	struct fx f;

	(void)state;
	load_sniffed(&f);
	f.m.listeners[0].direction = KM_DIR_INBOUND;
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_frontends, 0);
	assert_int_equal(f.r.n_inbound, 1);
	assert_string_equal(f.r.inbound[0], "web");
	assert_int_equal(f.r.n_l7_listeners, 0);
	km_records_free(&f.r);
	f.m.listeners[0].direction = KM_DIR_OUTBOUND;
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_frontends, 2);
	assert_int_equal(f.r.n_inbound, 0);
	fx_free(&f);
}

/*
 * istiod's port-wide HTTP listener: 0.0.0.0_9080, one virtual host per
 * service holding its names and ClusterIP (with and without the port).
 * Each IP domain on this port is a frontend routed by the whole table,
 * its L4 fallback its own virtual host's default route, not "*"'s; an
 * exact listener on a VIP keeps it; the wildcard itself is no frontend.
 */
static void test_port_wide_listener(void **state)
{
	const struct km_frontend *fe;
	struct fx f;
	const char *y = HDR "  listeners:\n"
		TCP_LISTENER("10.96.0.13_9080", "10.96.0.13", 9080, "t")
		"  - name: 0.0.0.0_9080\n"
		"    address: { socket_address: { address: 0.0.0.0, port_value: 9080 } }\n"
		"    filter_chains:\n"
		"    - filters:\n"
		"      - name: envoy.filters.network.http_connection_manager\n"
		"        typed_config:\n"
		"          stat_prefix: w\n"
		"          route_config:\n"
		"            name: \"9080\"\n"
		"            virtual_hosts:\n"
		"            - name: reviews\n"
		"              domains: [reviews.default.svc.cluster.local, \"10.96.0.12\", \"10.96.0.12:9080\"]\n"
		"              routes:\n"
		"              - { match: { prefix: /v2 }, route: { cluster: r2 } }\n"
		"              - { match: { prefix: / }, route: { cluster: r } }\n"
		"            - name: ratings\n"
		"              domains: [ratings, \"10.96.0.13:9080\", \"10.96.0.14:9999\", \"[fd00::14]\"]\n"
		"              routes:\n"
		"              - { match: { prefix: / }, route: { cluster: r2 } }\n"
		"            - name: allow_any\n"
		"              domains: [\"*\"]\n"
		"              routes:\n"
		"              - { match: { prefix: / }, route: { cluster: t } }\n"
		"  clusters:\n"
		CLUSTER1("t", "ROUND_ROBIN", EP("10.99.0.1", 80, HEALTHY, 1))
		CLUSTER1("r", "ROUND_ROBIN", EP("10.99.0.2", 80, HEALTHY, 1))
		CLUSTER1("r2", "ROUND_ROBIN", EP("10.99.0.3", 80, HEALTHY, 1));

	(void)state;
	assert_int_equal(compile_yaml(&f, y), 0);
	/* 10.96.0.12 once (two domains), 10.96.0.13 the TCP listener's */
	assert_int_equal(f.r.n_frontends, 2);
	fe = find_fe(&f.r, "10.96.0.12", 9080);
	assert_non_null(fe);
	assert_true(fe->flags & KM_FE_L7);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "r"));
	assert_string_equal(f.r.listener_names[fe->listener_id], "0.0.0.0_9080");
	fe = find_fe(&f.r, "10.96.0.13", 9080);
	assert_false(fe->flags & KM_FE_L7);
	assert_string_equal(f.r.listener_names[fe->listener_id], "10.96.0.13_9080");
	assert_null(find_fe(&f.r, "0.0.0.0", 9080));
	assert_null(find_fe(&f.r, "10.96.0.14", 9080));
	assert_null(find_fe(&f.r, "10.96.0.14", 9999));
	assert_int_equal(f.r.n_port_wide, 1);
	assert_string_equal(f.r.port_wide[0], "0.0.0.0_9080");
	fx_free(&f);
}

/* A wildcard TCP listener's single-host prefix_ranges are its service
 * addresses (istiod's 0.0.0.0_PORT chains per ClusterIP). */
static void test_wildcard_prefix_hosts(void **state)
{
	const struct km_frontend *fe;
	struct fx f;
	const char *y = HDR "  listeners:\n"
		TCP_LISTENER("0.0.0.0_8080", "0.0.0.0", 8080, "t")
		"  clusters:\n"
		CLUSTER1("t", "ROUND_ROBIN", EP("10.99.0.1", 80, HEALTHY, 1));
	struct km_m_chain *ch;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(km_config_load_string("t.yaml", y, strlen(y), &f.m, &f.err), 0);
	ch = &f.m.listeners[0].chains[0];
	ch->match.prefixes = calloc(2, sizeof(*ch->match.prefixes));
	assert_non_null(ch->match.prefixes);
	ch->match.n_prefixes = 2;
	assert_int_equal(km_ip_parse("10.96.0.9", &ch->match.prefixes[0].ip), 0);
	ch->match.prefixes[0].len = 32;
	assert_int_equal(km_ip_parse("10.97.0.0", &ch->match.prefixes[1].ip), 0);
	ch->match.prefixes[1].len = 16;
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_frontends, 1);
	fe = find_fe(&f.r, "10.96.0.9", 8080);
	assert_non_null(fe);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "t"));
	fx_free(&f);
}

static void test_host_ip(void **state)
{
	struct km_ip ip, want;
	uint16_t port;

	(void)state;
	assert_int_equal(km_host_ip("10.0.0.1:80", &ip, &port), 0);
	assert_int_equal(port, 80);
	assert_int_equal(km_ip_parse("10.0.0.1", &want), 0);
	assert_memory_equal(&ip, &want, sizeof(ip));
	assert_int_equal(km_host_ip("[fd00::1]:8080", &ip, &port), 0);
	assert_int_equal(port, 8080);
	assert_int_equal(km_host_ip("fd00::1", &ip, &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(km_host_ip("[fd00::1]", &ip, &port), 0);
	assert_int_equal(km_host_ip("*", &ip, &port), -EINVAL);
	assert_int_equal(km_host_ip("reviews:9080", &ip, &port), -EINVAL);
	assert_int_equal(km_host_ip("10.0.0.1:", &ip, &port), -EINVAL);
	assert_int_equal(km_host_ip("10.0.0.1:0", &ip, &port), -EINVAL);
	assert_int_equal(km_host_ip("10.0.0.1:70000", &ip, &port), -EINVAL);
	assert_int_equal(km_host_ip("[fd00::1]x", &ip, &port), -EINVAL);
	assert_true(km_ip_parse("0.0.0.0", &ip) == 0 && km_ip_unspecified(&ip));
	assert_true(km_ip_parse("::", &ip) == 0 && km_ip_unspecified(&ip));
	assert_true(km_ip_parse("::ffff:0.0.0.0", &ip) == 0);
	assert_true(km_ip_parse("10.0.0.1", &ip) == 0 && !km_ip_unspecified(&ip));
}

/*
 * Cluster kinds the connect hook acts on. xDS (validate_clusters false):
 * a cluster CDS does not have is accepted, from a tcp_proxy or a route, and
 * resolves to one "no cluster" record; BlackHoleCluster and ORIGINAL_DST
 * are kinds; an HTTP listener whose default route is the passthrough keeps
 * its frontend for its other routes.
 */
static void test_cluster_kinds(void **state)
{
	const struct km_frontend *fe;
	struct fx f;
	long none;
	const char *y = HDR "  listeners:\n"
		TCP_LISTENER("gone", "10.96.0.1", 80, "missing")
		TCP_LISTENER("bh", "10.96.0.2", 80, "BlackHoleCluster")
		"  - name: web\n"
		"    address: { socket_address: { address: 10.96.0.3, port_value: 80 } }\n"
		"    filter_chains:\n"
		"    - filters:\n"
		"      - name: envoy.filters.network.http_connection_manager\n"
		"        typed_config:\n"
		"          stat_prefix: w\n"
		"          route_config:\n"
		"            virtual_hosts:\n"
		"            - name: any\n"
		"              domains: [\"*\"]\n"
		"              routes:\n"
		"              - { match: { prefix: /old }, route: { cluster: missing-too } }\n"
		"              - { match: { prefix: /a }, route: { cluster: a } }\n"
		"              - { match: { prefix: / }, route: { cluster: PassthroughCluster } }\n"
		"  clusters:\n"
		"  - name: PassthroughCluster\n"
		"  - name: BlackHoleCluster\n"
		CLUSTER1("a", "ROUND_ROBIN", EP("10.99.0.1", 80, HEALTHY, 1));

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(km_config_load_string("t.yaml", y, strlen(y), &f.m, &f.err), 0);
	/* a static file must define what it names */
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), -ENOENT);
	assert_non_null(strstr(f.err.msg, "cluster 'missing' is not defined"));
	f.m.rds_may_wait = true;	/* what the xDS client sets */
	f.m.clusters[0].original_dst = true;	/* and the decoder */
	assert_int_equal(km_compile(&f.m, &f.r, &f.err), 0);
	assert_int_equal(f.r.n_clusters, 4);
	assert_int_equal(f.r.no_cluster_id, 4);
	none = 3;
	assert_int_equal(f.r.clusters[none].kind, KM_CK_NO_CLUSTER);
	assert_int_equal(f.r.clusters[cluster_id(&f.r, "PassthroughCluster")].kind,
			 KM_CK_PASSTHROUGH);
	assert_int_equal(f.r.clusters[cluster_id(&f.r, "BlackHoleCluster")].kind,
			 KM_CK_BLACKHOLE);
	assert_int_equal(f.r.clusters[cluster_id(&f.r, "a")].kind, KM_CK_ENDPOINTS);
	fe = find_fe(&f.r, "10.96.0.1", 80);
	assert_non_null(fe);
	assert_int_equal(fe->n_targets, 1);
	assert_int_equal(fe->targets[0].cluster_id, none);
	fe = find_fe(&f.r, "10.96.0.2", 80);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "BlackHoleCluster"));
	fe = find_fe(&f.r, "10.96.0.3", 80);
	assert_non_null(fe);
	assert_true(fe->flags & KM_FE_L7);
	assert_int_equal(fe->targets[0].cluster_id, cluster_id(&f.r, "PassthroughCluster"));
	assert_int_equal(f.r.n_routes, 1);
	fx_free(&f);
}

/* Errors only the compiler can see: table of config -> message. */
/* ---- LB policies (issue 16) ------------------------------------------- */

#define LB_YAML(lr_name, mg_name)                                              \
	HDR "  listeners:\n"                                                   \
	TCP_LISTENER("l1", "10.0.0.1", 80, lr_name)                            \
	"  - name: l2\n"                                                       \
	"    address: { socket_address: { address: \"10.0.0.2\", port_value: 80 } }\n" \
	"    filter_chains:\n"                                                 \
	"    - filters:\n"                                                     \
	"      - name: envoy.filters.network.tcp_proxy\n"                      \
	"        typed_config: { cluster: " mg_name ", hash_policy: [ { source_ip: {} } ] }\n" \
	"  - name: web\n"                                                      \
	"    address: { socket_address: { address: \"10.0.0.3\", port_value: 80 } }\n" \
	"    filter_chains:\n"                                                 \
	"    - filters:\n"                                                     \
	"      - name: envoy.filters.network.http_connection_manager\n"        \
	"        typed_config:\n"                                              \
	"          route_config:\n"                                            \
	"            name: rc\n"                                               \
	"            virtual_hosts:\n"                                         \
	"            - name: vh\n"                                             \
	"              domains: [\"*\"]\n"                                     \
	"              routes:\n"                                              \
	"              - match: { prefix: /a }\n"                              \
	"                route: { cluster: rh, hash_policy: [ { connection_properties: { source_ip: true } } ], retry_policy: {} }\n" \
	"              - match: { prefix: / }\n"                               \
	"                route: { cluster: mg2, timeout: 5s }\n"

#define LB_CLUSTERS_A                                                          \
	"  - name: lr\n"                                                       \
	"    lb_policy: LEAST_REQUEST\n"                                       \
	"    least_request_lb_config: { choice_count: 4 }\n"                   \
	"    connect_timeout: 10s\n"                                           \
	"    outlier_detection: { consecutive_5xx: 5 }\n"                      \
	"    circuit_breakers: { thresholds: [ { max_connections: 2, max_retries: 3 } ] }\n" \
	"    load_assignment:\n"                                               \
	"      endpoints:\n"                                                   \
	"      - lb_endpoints:\n"                                              \
	EP("10.1.0.1", 80, HEALTHY, 1) EP("10.1.0.2", 80, HEALTHY, 1)         \
	"  - name: mg\n"                                                       \
	"    lb_policy: MAGLEV\n"                                              \
	"    maglev_lb_config: { table_size: 251 }\n"                          \
	"    load_assignment:\n"                                               \
	"      endpoints:\n"                                                   \
	"      - lb_endpoints:\n"                                              \
	EP("10.2.0.1", 80, HEALTHY, 1) EP("10.2.0.2", 80, HEALTHY, 1)         \
	EP("10.2.0.3", 80, HEALTHY, 1)
#define LB_CLUSTERS_B                                                          \
	CLUSTER1("rh", "RING_HASH", EP("10.3.0.1", 80, HEALTHY, 1)             \
		 EP("10.3.0.2", 80, HEALTHY, 3))                               \
	CLUSTER1("mg2", "MAGLEV", EP("10.4.0.1", 80, HEALTHY, 1))

static void test_lb_policies(void **state)
{
	struct km_ne_item ne[KM_NE_COUNT];
	const struct km_cluster *lr, *mg, *rh, *mg2;
	uint64_t lr_key, mg_key;
	unsigned int counts[3] = { 0 };
	const uint16_t *t;
	struct fx f;
	long mg_id;

	(void)state;
	assert_int_equal(compile_yaml(&f, LB_YAML("lr", "mg") "  clusters:\n"
				      LB_CLUSTERS_A LB_CLUSTERS_B), 0);
	lr = &f.r.clusters[cluster_id(&f.r, "lr")];
	mg_id = cluster_id(&f.r, "mg");
	mg = &f.r.clusters[mg_id];
	rh = &f.r.clusters[cluster_id(&f.r, "rh")];
	mg2 = &f.r.clusters[cluster_id(&f.r, "mg2")];

	assert_int_equal(lr->lb_policy, KM_LB_LEAST_REQUEST);
	assert_int_equal(lr->choice_count, 4);
	assert_int_equal(lr->lr_bias, 1);
	assert_int_equal(lr->max_connections, 2);
	assert_int_equal(lr->maglev_size, 0);
	assert_int_equal(mg->lb_policy, KM_LB_MAGLEV);
	assert_int_equal(mg->maglev_size, 251);
	assert_int_equal(mg->hash_flags, KM_HASH_SOURCE_IP);
	/* RING_HASH is a Maglev table of the default size; the route's
	 * hash policy reaches the cluster, and a route without one does not */
	assert_int_equal(rh->lb_policy, KM_LB_MAGLEV);
	assert_int_equal(rh->maglev_size, KM_MAGLEV_SIZE_DEFAULT);
	assert_int_equal(rh->hash_flags, KM_HASH_SOURCE_IP);
	assert_int_equal(mg2->maglev_size, KM_MAGLEV_SIZE_DEFAULT);
	assert_int_equal(mg2->hash_flags, 0);
	/* tables are whole chunks, one after the other */
	assert_int_equal(mg->maglev_chunk, 0);
	assert_int_equal(rh->maglev_chunk, 1);
	assert_int_equal(mg2->maglev_chunk, 1 + 129);
	assert_int_equal(f.r.n_maglev_chunks, 1 + 129 + 129);
	/* equal weights: every endpoint owns a third of the table, give or
	 * take one entry */
	t = (const uint16_t *)&f.r.maglev[mg->maglev_chunk];
	for (unsigned int i = 0; i < 251; i++) {
		assert_true(t[i] < 3);
		counts[t[i]]++;
	}
	for (unsigned int i = 0; i < 3; i++)
		assert_in_range(counts[i], 83, 84);
	/* weights 1 and 3: a quarter and three quarters */
	t = (const uint16_t *)&f.r.maglev[rh->maglev_chunk];
	memset(counts, 0, sizeof(counts));
	for (unsigned int i = 0; i < KM_MAGLEV_SIZE_DEFAULT; i++)
		counts[t[i]]++;
	assert_in_range(counts[0], 16384 - 1, 16384 + 1);

	/* accepted, not enforced: listed with a count and an example */
	assert_int_equal(km_not_enforced(&f.m, ne), 5);
	assert_string_equal(ne[0].kind, "outlier_detection");
	assert_string_equal(ne[0].example, "lr");
	assert_string_equal(ne[1].kind, "connect_timeout");
	assert_string_equal(ne[2].kind, "max_retries");
	assert_string_equal(ne[3].kind, "retry_policy");
	assert_string_equal(ne[3].example, "rc");
	assert_string_equal(ne[4].kind, "timeout");
	assert_int_equal(ne[4].count, 1);

	lr_key = lr->stat_key;
	mg_key = mg->stat_key;
	assert_true(lr_key != 0 && lr_key != mg_key);
	fx_free(&f);

	/* the stat key follows the name, not the id: clusters listed in
	 * another order keep their counts */
	assert_int_equal(compile_yaml(&f, LB_YAML("lr", "mg") "  clusters:\n"
				      LB_CLUSTERS_B LB_CLUSTERS_A), 0);
	assert_true(cluster_id(&f.r, "mg") != mg_id);
	assert_true(f.r.clusters[cluster_id(&f.r, "lr")].stat_key == lr_key);
	assert_true(f.r.clusters[cluster_id(&f.r, "mg")].stat_key == mg_key);
	fx_free(&f);
}

/* Maglev tables of one generation are bounded, and going past the bound
 * names the cluster. */
static void test_maglev_limit(void **state)
{
	char *y = malloc(64 * 1024), *p = y;
	struct fx f;
	int i;

	(void)state;
	p += sprintf(p, HDR "  clusters:\n");
	/* 129 chunks each: the 32nd goes past 4096 */
	for (i = 0; i < 32; i++)
		p += sprintf(p, CLUSTER1("m%d", "MAGLEV", EP("10.0.0.1", 80, HEALTHY, 1)), i);
	assert_int_equal(compile_yaml(&f, y), -E2BIG);
	assert_string_equal(f.err.msg,
			    "t.yaml:251: cluster 'm31': its Maglev table (65537 entries) goes past the limit of 2097152 table entries in all clusters");
	fx_free(&f);
	free(y);
}

/* Locality weighted LB: every weighted locality of the serving priority,
 * each endpoint weighted by its locality's effective weight (weight x
 * min(1, 1.4 x healthy share)) over the locality's usable weight; the
 * node's own locality no longer decides; a locality without a weight gets
 * nothing (Envoy). */
static void test_locality_weighted(void **state)
{
	static const char y[] =
		"node: { locality: { region: r1, zone: zone-b } }\n"
		HDR "  clusters:\n"
		"  - name: lw\n"
		"    common_lb_config: { locality_weighted_lb_config: {} }\n"
		"    load_assignment:\n"
		"      endpoints:\n"
		"      - locality: { region: r1, zone: zone-a }\n"
		"        load_balancing_weight: 80\n"
		"        lb_endpoints:\n"
		EP("10.0.1.1", 80, HEALTHY, 1)
		"      - locality: { region: r1, zone: zone-b }\n"
		"        load_balancing_weight: 20\n"
		"        lb_endpoints:\n"
		EP("10.0.2.1", 80, HEALTHY, 1)
		EP("10.0.2.2", 80, UNHEALTHY, 1)
		"      - locality: { region: r1, zone: zone-c }\n"
		"        lb_endpoints:\n"
		EP("10.0.3.1", 80, HEALTHY, 1);
	const struct km_cluster *c;
	struct fx f;

	(void)state;
	assert_int_equal(compile_yaml(&f, y), 0);
	c = &f.r.clusters[cluster_id(&f.r, "lw")];
	assert_int_equal(c->n_endpoints, 2);
	assert_int_equal(c->weighted, 1);
	/* zone-a: 80 x min(1, 1.4 x 1/1) = 80; zone-b: 20 x min(1, 1.4 x 1/2) = 14 */
	assert_int_equal(f.r.ep_vals[0].weight, 80 * KM_LW_SCALE);
	assert_int_equal(f.r.ep_vals[1].weight, 14 * KM_LW_SCALE);
	assert_int_equal(c->total_weight, 94 * KM_LW_SCALE);
	assert_int_equal(c->locality_rank, 0);
	fx_free(&f);
}

static void test_errors(void **state)
{
	static const struct {
		const char *yaml;
		const char *msg;
	} cases[] = {
		{ HDR "  listeners:\n" TCP_LISTENER("a", "10.96.0.1", 80, "nope")
		  "  clusters: []\n",
		  "t.yaml:8: listener 'a': cluster 'nope' is not defined" },
		{ HDR "  listeners:\n" TCP_LISTENER("a", "10.96.0.1", 80, "c6")
		  "  clusters:\n" CLUSTER1("c6", "ROUND_ROBIN", EP("fd00::1", 80, HEALTHY, 1)),
		  "t.yaml:3: listener 'a': IPv4 address, but cluster 'c6' has IPv6 endpoints" },
		{ HDR "  listeners:\n" TCP_LISTENER("a", "fd00::5", 80, "c4")
		  "  clusters:\n" CLUSTER1("c4", "ROUND_ROBIN", EP("10.0.0.1", 80, HEALTHY, 1)),
		  "t.yaml:3: listener 'a': IPv6 address, but cluster 'c4' has IPv4 endpoints" },
		{ HDR "  listeners:\n" TCP_LISTENER("a", "10.96.0.1", 80, "c")
		  TCP_LISTENER("b", "10.96.0.1", 80, "c")
		  "  clusters:\n" CLUSTER1("c", "ROUND_ROBIN", EP("10.0.0.1", 80, HEALTHY, 1)),
		  "listener 'b': 10.96.0.1 port 80 is already served by listener 'a' (line 3)" },
		{ HDR "  listeners: []\n  clusters:\n"
		  CLUSTER1("c", "ROUND_ROBIN", EP("10.0.0.1", 80, HEALTHY, 2147483647)
						EP("10.0.0.2", 80, HEALTHY, 2)),
		  "cluster 'c': endpoint weights add up to more than 2147483647" },
		{ HDR "  listeners:\n"
		  "  - name: web\n"
		  "    address: { socket_address: { address: 10.96.0.9, port_value: 80 } }\n"
		  "    filter_chains:\n"
		  "    - filters:\n"
		  "      - name: envoy.filters.network.http_connection_manager\n"
		  "        typed_config: { stat_prefix: w, rds: { route_config_name: r } }\n"
		  "  clusters: []\n",
		  "listener 'web': route config 'r' (rds) is not available: a static config cannot use rds" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		int ret;

		memset(&f, 0, sizeof(f));
		ret = km_config_load_string("t.yaml", cases[i].yaml, strlen(cases[i].yaml),
					    &f.m, &f.err);
		if (ret == 0)
			ret = km_compile(&f.m, &f.r, &f.err);
		if (ret == 0 || !strstr(f.err.msg, cases[i].msg))
			fail_msg("case %zu: got %d '%s', want '%s'", i, ret, f.err.msg,
				 cases[i].msg);
		/* a failed compile leaves nothing behind */
		assert_null(f.r.fe_keys);
		assert_int_equal(f.r.n_frontends, 0);
		fx_free(&f);
	}
}

/* Global limits, on models built in C (too big to be worth writing as YAML). */
static void test_global_limits(void **state)
{
	struct km_model m = { .source = strdup("big.yaml") };
	struct km_limits def = km_limits;
	struct km_records r;
	struct km_err err;
	size_t n;

	/* as kmeshd --max-services 32768 --max-endpoints 131072 sets them */
	km_limits = (struct km_limits){ .clusters = 32768, .frontends = 32768,
					.endpoints = 131072 };
	n = km_limits.endpoints / KM_MAX_CLUSTER_ENDPOINTS + 1;

	/* one endpoint too many across clusters of legal size */
	m.n_clusters = n;
	m.clusters = calloc(n, sizeof(*m.clusters));
	for (size_t i = 0; i < n; i++) {
		struct km_m_cluster *c = &m.clusters[i];

		asprintf(&c->name, "c%zu", i);
		c->src = (struct km_src){ "big.yaml", (int)i + 1 };
		c->n_endpoints = i == n - 1 ? 1 : KM_MAX_CLUSTER_ENDPOINTS;
		c->endpoints = calloc(c->n_endpoints, sizeof(*c->endpoints));
		for (size_t j = 0; j < c->n_endpoints; j++) {
			km_ip_parse("10.0.0.1", &c->endpoints[j].ip);
			c->endpoints[j].port = 80;
			c->endpoints[j].weight = 1;
		}
	}
	assert_int_not_equal(km_compile(&m, &r, &err), 0);
	assert_non_null(strstr(err.msg, "cluster 'c16': more than 131072 endpoints in all clusters (--max-endpoints)"));

	/* a cluster over the per-cluster limit */
	m.clusters[0].n_endpoints = KM_MAX_CLUSTER_ENDPOINTS + 1;
	assert_int_not_equal(km_compile(&m, &r, &err), 0);
	assert_string_equal(err.msg, "big.yaml:1: cluster 'c0': 8193 endpoints, limit is 8192");
	m.clusters[0].n_endpoints = KM_MAX_CLUSTER_ENDPOINTS;
	km_model_free(&m);

	/* too many clusters */
	memset(&m, 0, sizeof(m));
	m.source = strdup("big.yaml");
	m.n_clusters = km_limits.clusters + 1;
	m.clusters = calloc(m.n_clusters, sizeof(*m.clusters));
	assert_int_not_equal(km_compile(&m, &r, &err), 0);
	assert_string_equal(err.msg, "big.yaml: 32769 clusters, limit is 32768 (--max-services)");
	free(m.clusters);
	m.clusters = NULL;
	m.n_clusters = 0;
	km_model_free(&m);
	km_limits = def;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frontends_and_targets),
		cmocka_unit_test(test_cluster_levels),
		cmocka_unit_test(test_locality_rank),
		cmocka_unit_test(test_http_default_route),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_rds_resolution),
		cmocka_unit_test(test_passthrough),
		cmocka_unit_test(test_sniffed_listener),
		cmocka_unit_test(test_chain_pick),
		cmocka_unit_test(test_default_filter_chain),
		cmocka_unit_test(test_inbound_listener),
		cmocka_unit_test(test_port_wide_listener),
		cmocka_unit_test(test_wildcard_prefix_hosts),
		cmocka_unit_test(test_host_ip),
		cmocka_unit_test(test_cluster_kinds),
		cmocka_unit_test(test_lb_policies),
		cmocka_unit_test(test_maglev_limit),
		cmocka_unit_test(test_locality_weighted),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_global_limits),
	};

	return cmocka_run_group_tests_name("compiler", tests, NULL, NULL);
}
