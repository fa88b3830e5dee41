// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Authorization: RBAC from the YAML reader, compiled (authz_compile.c) and
 * judged by the kernel's evaluator (include/kmesh/authz_eval.h) run in
 * userspace. One table of connects against one set of policies: Envoy's
 * order (DENY wins, then an ALLOW must match, none means allow), unknown
 * conditions failing closed, identities, the wildcard address with
 * prefix_ranges, shadow rules, and a malformed program denying.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_yaml.h"
#include "compiler.h"
#include "authz.h"

/* the evaluator's count hook (this file runs it through km_authz_eval,
 * which counts; the header is included for its types) */
static inline void km_az_count(void *cctx, __u32 row, int what)
{
	(void)cctx;
	(void)row;
	(void)what;
}

#include "kmesh/authz_eval.h"

static const char yaml[] =
	"static_resources:\n"
	"  listeners:\n"
	"  - name: in-a\n"
	"    traffic_direction: INBOUND\n"
	"    address: { socket_address: { address: 10.0.0.2, port_value: 8080 } }\n"
	"    filter_chains:\n"
	"    - filters:\n"
	"      - name: envoy.filters.network.rbac\n"
	"        typed_config:\n"
	"          stat_prefix: deny\n"
	"          rules:\n"
	"            action: DENY\n"
	"            policies:\n"
	"              deny-ns-bad:\n"
	"                permissions: [ { any: true } ]\n"
	"                principals: [ { authenticated: { principal_name: { safe_regex: { regex: \".*/ns/bad/.*\" } } } } ]\n"
	"      - name: envoy.filters.network.rbac\n"
	"        typed_config:\n"
	"          stat_prefix: allow\n"
	"          rules:\n"
	"            policies:\n"
	"              allow-client:\n"
	"                permissions: [ { destination_port: 8080 } ]\n"
	"                principals:\n"
	"                - authenticated: { principal_name: { exact: \"spiffe://cluster.local/ns/good/sa/client\" } }\n"
	"                - authenticated: { principal_name: { exact: \"cluster.local/ns/bad/sa/client\" } }\n"
	"              allow-cidr:\n"
	"                permissions: [ { any: true } ]\n"
	"                principals: [ { source_ip: { address_prefix: 10.1.0.0, prefix_len: 16 } } ]\n"
	"      - name: envoy.filters.network.tcp_proxy\n"
	"        typed_config: { cluster: c }\n"
	"  - name: in-empty\n"
	"    traffic_direction: INBOUND\n"
	"    address: { socket_address: { address: 10.0.0.3, port_value: 8080 } }\n"
	"    filter_chains:\n"
	"    - filters:\n"
	"      - { name: envoy.filters.network.rbac, typed_config: { rules: {} } }\n"
	"      - { name: envoy.filters.network.tcp_proxy, typed_config: { cluster: c } }\n"
	"  - name: in-wild\n"
	"    traffic_direction: INBOUND\n"
	"    address: { socket_address: { address: 0.0.0.0, port_value: 9000 } }\n"
	"    filter_chains:\n"
	"    - filter_chain_match: { destination_port: 9000 }\n"
	"      filters:\n"
	"      - name: envoy.filters.network.rbac\n"
	"        typed_config:\n"
	"          rules:\n"
	"            action: DENY\n"
	"            policies:\n"
	"              deny-in-range:\n"
	"                permissions: [ { destination_ip: { address_prefix: 10.0.5.0, prefix_len: 24 } } ]\n"
	"                principals: [ { any: true } ]\n"
	"      - { name: envoy.filters.network.tcp_proxy, typed_config: { cluster: c } }\n"
	"  - name: in-l7\n"
	"    traffic_direction: INBOUND\n"
	"    address: { socket_address: { address: 10.0.0.5, port_value: 8080 } }\n"
	"    filter_chains:\n"
	"    - filters:\n"
	"      - name: envoy.filters.network.http_connection_manager\n"
	"        typed_config:\n"
	"          rds: { route_config_name: r }\n"
	"          http_filters:\n"
	"          - name: envoy.filters.http.rbac\n"
	"            typed_config:\n"
	"              rules:\n"
	"                action: DENY\n"
	"                policies:\n"
	"                  deny-admin:\n"
	"                    permissions: [ { url_path: { path: { prefix: /admin } } } ]\n"
	"                    principals: [ { not_id: { authenticated: { principal_name: { exact: \"spiffe://cluster.local/ns/ops/sa/admin\" } } } } ]\n"
	"          - name: envoy.filters.http.router\n"
	"  - name: in-shadow\n"
	"    traffic_direction: INBOUND\n"
	"    address: { socket_address: { address: 10.0.0.6, port_value: 8080 } }\n"
	"    filter_chains:\n"
	"    - filters:\n"
	"      - name: envoy.filters.network.rbac\n"
	"        typed_config:\n"
	"          shadow_rules:\n"
	"            action: DENY\n"
	"            policies: { all: { permissions: [ { any: true } ], principals: [ { any: true } ] } }\n"
	"      - { name: envoy.filters.network.tcp_proxy, typed_config: { cluster: c } }\n"
	"  - name: in-nested\n"
	"    traffic_direction: INBOUND\n"
	"    address: { socket_address: { address: 10.0.0.7, port_value: 8050 } }\n"
	"    filter_chains:\n"
	"    - filters:\n"
	"      - name: envoy.filters.network.rbac\n"
	"        typed_config:\n"
	"          rules:\n"
	"            policies:\n"
	"              ranges:\n"
	"                permissions:\n"
	"                - and_rules:\n"
	"                    rules:\n"
	"                    - destination_port_range: { start: 8000, end: 8100 }\n"
	"                    - not_rule: { destination_ip: { address_prefix: 10.0.0.8 } }\n"
	"                principals:\n"
	"                - or_ids: { ids: [ { authenticated: { principal_name: { prefix: \"spiffe://cluster.local/ns/team/\" } } }, { remote_ip: { address_prefix: 10.9.9.9 } } ] }\n"
	"      - { name: envoy.filters.network.tcp_proxy, typed_config: { cluster: c } }\n"
	"  - name: in-custom\n"
	"    traffic_direction: INBOUND\n"
	"    address: { socket_address: { address: 10.0.0.10, port_value: 8080 } }\n"
	"    filter_chains:\n"
	"    - filters:\n"
	"      - name: envoy.filters.network.ext_authz\n"
	"        typed_config: { stat_prefix: ext }\n"
	"      - { name: envoy.filters.network.tcp_proxy, typed_config: { cluster: c } }\n"
	"  clusters:\n"
	"  - name: c\n"
	"    load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 10.0.0.9, port_value: 80 } } } } ] } ] }\n";

struct fx {
	struct km_model m;
	struct km_records r;
	struct km_authz_count *rows;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct km_err err = { "" };

	assert_non_null(f);
	if (km_config_load_string("t.yaml", yaml, strlen(yaml), &f->m, &err) ||
	    km_compile(&f->m, &f->r, &err))
		fail_msg("%s", err.msg);
	f->rows = calloc(f->r.authz.n_rows, sizeof(*f->rows));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	km_records_free(&f->r);
	km_model_free(&f->m);
	free(f->rows);
	free(f);
	return 0;
}

static struct km_addr addr(const char *s)
{
	struct km_ip ip;

	assert_int_equal(km_ip_parse(s, &ip), 0);
	return ip.addr;
}

struct row {
	const char *name;
	const char *dst;
	uint16_t port;
	const char *src;	/* NULL: not bound, unknown */
	const char *ns, *sa;	/* NULL: no proven identity */
	int want;		/* -1 no policy, else enum km_az_verdict */
	int why;		/* enum km_az_why */
	int unknown;		/* the deny rests on an unknown result */
	const char *row;	/* a substring of the deciding row's name */
};

static const struct row rows[] = {
	{ "no policy at the destination: allowed", "10.0.0.4", 8080, NULL, NULL, NULL, -1, 0, 0, NULL },
	{ "same address, other port: no policy", "10.0.0.2", 8081, NULL, NULL, NULL, -1, 0, 0, NULL },
	{ "ALLOW by principal", "10.0.0.2", 8080, NULL, "good", "client", KM_AZV_ALLOW, 0, 0, NULL },
	{ "DENY by namespace", "10.0.0.2", 8080, NULL, "bad", "x", KM_AZV_DENY, KM_AZW_DENY_POLICY, 0, "policy 'deny-ns-bad'" },
	{ "DENY over ALLOW (bad/client is allowed by name)", "10.0.0.2", 8080, NULL, "bad", "client", KM_AZV_DENY, KM_AZW_DENY_POLICY, 0, "policy 'deny-ns-bad'" },
	{ "no identity, source unknown: ALLOW fails closed", "10.0.0.2", 8080, NULL, NULL, NULL, KM_AZV_DENY, KM_AZW_NO_ALLOW, 1, "'allow': no ALLOW policy matched" },
	{ "no identity, source in the ALLOW cidr", "10.0.0.2", 8080, "10.1.2.3", NULL, NULL, KM_AZV_ALLOW, 0, 0, NULL },
	{ "no identity, source outside: denied for sure", "10.0.0.2", 8080, "10.2.0.1", NULL, NULL, KM_AZV_DENY, KM_AZW_NO_ALLOW, 0, "no ALLOW policy matched" },
	{ "identity not in the list", "10.0.0.2", 8080, "10.2.0.1", "good", "other", KM_AZV_DENY, KM_AZW_NO_ALLOW, 0, "no ALLOW policy matched" },
	{ "empty ALLOW denies everyone", "10.0.0.3", 8080, "10.1.2.3", "good", "client", KM_AZV_DENY, KM_AZW_NO_ALLOW, 0, "listener 'in-empty'" },
	{ "wildcard, destination in prefix: denied", "10.0.5.9", 9000, NULL, NULL, NULL, KM_AZV_DENY, KM_AZW_DENY_POLICY, 0, "policy 'deny-in-range'" },
	{ "wildcard, destination outside: allowed", "10.0.6.9", 9000, NULL, NULL, NULL, KM_AZV_ALLOW, 0, 0, NULL },
	{ "HTTP path condition: fails closed", "10.0.0.5", 8080, NULL, "good", "client", KM_AZV_DENY, KM_AZW_DENY_POLICY, 1, "policy 'deny-admin'" },
	{ "HTTP path condition, but the excluded principal: allowed", "10.0.0.5", 8080, NULL, "ops", "admin", KM_AZV_ALLOW, 0, 0, NULL },
	{ "shadow rules never deny", "10.0.0.6", 8080, NULL, NULL, NULL, KM_AZV_ALLOW, 0, 0, NULL },
	{ "nested: in range, namespace prefix", "10.0.0.7", 8050, NULL, "team", "x", KM_AZV_ALLOW, 0, 0, NULL },
	{ "nested: remote_ip", "10.0.0.7", 8050, "10.9.9.9", NULL, NULL, KM_AZV_ALLOW, 0, 0, NULL },
	{ "CUSTOM (ext_authz): fails closed for everyone", "10.0.0.10", 8080, "10.1.2.3", "good", "client", KM_AZV_DENY, KM_AZW_NO_ALLOW, 1, "ext_authz 'envoy.filters.network.ext_authz': no ALLOW policy matched" },
	{ "nested: neither", "10.0.0.7", 8050, "10.9.9.8", "other", "x", KM_AZV_DENY, KM_AZW_NO_ALLOW, 0, "no ALLOW policy matched" },
};

static void test_row(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct km_az_rows cr = { f->rows, f->r.authz.n_rows };
		struct km_az_env env = { .dport = w->port };
		struct km_az_state st;
		bool had;

		env.dst = addr(w->dst);
		if (w->src) {
			env.src = addr(w->src);
			env.src_known = 1;
		}
		had = km_authz_decide(&f->r.authz, &env, w->ns, w->sa, &st, &cr);
		if (w->want < 0) {
			if (had)
				fail_msg("%s: a policy applies", w->name);
			continue;
		}
		if (!had)
			fail_msg("%s: no policy applies", w->name);
		if (st.verdict != w->want || (w->want && (st.why != w->why ||
							  st.unknown != w->unknown)))
			fail_msg("%s: verdict %d why %d unknown %d, want %d %d %d",
				 w->name, st.verdict, st.why, st.unknown,
				 w->want, w->why, w->unknown);
		if (w->row && (st.row >= f->r.authz.n_rows ||
			       !strstr(f->r.authz.row_names[st.row], w->row)))
			fail_msg("%s: decided by row %u '%s', want '%s'", w->name,
				 st.row, st.row < f->r.authz.n_rows ?
				 f->r.authz.row_names[st.row] : "?", w->row);
	}
}

static const struct km_authz_count *row_named(struct fx *f, const char *s)
{
	for (size_t i = 0; i < f->r.authz.n_rows; i++)
		if (strstr(f->r.authz.row_names[i], s))
			return &f->rows[i];
	fail_msg("no row '%s'", s);
	return NULL;
}

/* after the table: counted where the kernel counts */
static void test_counts(void **state)
{
	struct fx *f = *state;

	assert_int_equal(row_named(f, "policy 'deny-ns-bad'")->denied, 2);
	assert_int_equal(row_named(f, "policy 'allow-client'")->allowed, 1);
	assert_int_equal(row_named(f, "policy 'allow-cidr'")->allowed, 1);
	assert_int_equal(row_named(f, "'allow': no ALLOW policy matched")->denied, 3);
	assert_int_equal(row_named(f, "'allow': no ALLOW policy matched")->fail_closed, 1);
	assert_int_equal(row_named(f, "policy 'deny-admin'")->fail_closed, 1);
	assert_int_equal(row_named(f, "shadow_rules")->shadow_denied, 0);
	assert_int_equal(row_named(f, "policy 'all'")->shadow_denied, 1);
	assert_int_equal(row_named(f, "policy 'all'")->denied, 0);
}

static void test_fail_closed_lines(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->r.authz.n_fail_closed, 2);
	assert_string_equal(f->r.authz.fail_closed[0],
			    "listener 'in-l7': chain 0: http rbac 'envoy.filters.http.rbac': policy 'deny-admin': url_path cannot be evaluated at connect: connections it could decide are denied (fail closed)");
	assert_string_equal(f->r.authz.fail_closed[1],
			    "listener 'in-custom': chain 0: ext_authz 'envoy.filters.network.ext_authz': policy 'CUSTOM': CUSTOM authorization (ext_authz, not callable from the kernel) cannot be evaluated at connect: connections it could decide are not allowed by it (fail closed)");
}

/* a program cut short, a bad opcode, a stack underflow: denied */
static void test_malformed(void **state)
{
	struct fx *f = *state;
	struct km_az_env env = { .dport = 8080 };
	const struct km_authz_prog *p;
	struct km_authz_op bad[3] = { { .code = KM_AZ_ENGINE, .lo = 2 },
				      { .code = KM_AZ_POLICY },
				      { .code = KM_AZ_END } };
	struct km_az_state st;

	env.dst = addr("10.0.0.2");
	p = km_authz_lookup(&f->r.authz, &env.dst, 8080);
	assert_non_null(p);
	km_az_init(&st);
	st.env = env;
	km_authz_eval(f->r.authz.ops + p->first, p->n_ops - 1, &st, NULL);
	assert_int_equal(st.verdict, KM_AZV_DENY);
	assert_int_equal(st.why, KM_AZW_MALFORMED);
	km_az_init(&st);
	km_authz_eval(bad, 3, &st, NULL);
	assert_int_equal(st.verdict, KM_AZV_DENY);
	assert_int_equal(st.why, KM_AZW_MALFORMED);
	bad[0].code = KM_AZ_OPCODE_MAX;
	km_az_init(&st);
	km_authz_eval(bad, 3, &st, NULL);
	assert_int_equal(st.why, KM_AZW_MALFORMED);
}

/* the destination's own port and address are constants in its program:
 * folded away, never evaluated per connect */
static void test_folding(void **state)
{
	struct fx *f = *state;
	const char *dests[] = { "10.0.0.2", "10.0.0.7" };
	uint16_t ports[] = { 8080, 8050 };

	for (int d = 0; d < 2; d++) {
		struct km_addr a = addr(dests[d]);
		const struct km_authz_prog *p =
			km_authz_lookup(&f->r.authz, &a, ports[d]);

		assert_non_null(p);
		for (size_t i = 0; i < p->n_ops; i++) {
			uint8_t code = f->r.authz.ops[p->first + i].code;

			if (code == KM_AZ_DPORT || code == KM_AZ_DIP)
				fail_msg("%s: op %zu is %u", dests[d], i, code);
		}
	}
}

/* principal name forms kmesh resolves, and what it cannot */
static void test_principals(void **state)
{
	struct km_az_node n;

	(void)state;
	assert_int_equal(km_az_principal_exact("spiffe://cluster.local/ns/a/sa/b", &n), 0);
	assert_int_equal(n.kind, KM_AZN_IDENT_SA);
	km_az_node_free(&n);
	assert_int_equal(km_az_principal_exact("cluster.local/ns/a/sa/b/c", &n), 0);
	assert_int_equal(n.kind, KM_AZN_NONE);
	assert_int_equal(km_az_principal_exact("spiffe://evil.td/ns/a/sa/b", &n), 0);
	assert_int_equal(n.kind, KM_AZN_NONE);
	assert_int_equal(km_az_principal_prefix("spiffe://cluster.local/ns/a/", &n), 0);
	assert_int_equal(n.kind, KM_AZN_IDENT_NS);
	assert_string_equal(n.ns, "a");
	km_az_node_free(&n);
	assert_int_equal(km_az_principal_prefix("spiffe://cluster.local/ns/a", &n), 1);
	assert_int_equal(km_az_principal_regex(".*/ns/kube-system/.*", &n), 0);
	assert_int_equal(n.kind, KM_AZN_IDENT_NS);
	km_az_node_free(&n);
	assert_int_equal(km_az_principal_regex(".*/ns/a.b/.*", &n), 1);
	assert_int_equal(km_az_principal_regex(".+", &n), 0);
	assert_int_equal(n.kind, KM_AZN_IDENT);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_fail_closed_lines),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_principals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
