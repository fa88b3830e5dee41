// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio's ambient API: istio.security.Authorization and istio.workload.Address
 * bytes, packed here as istiod packs them, decoded (source/xds/xds_workload.c),
 * turned into per-workload engines (model/authz_workload.c), compiled and
 * judged by the kernel's evaluator run in userspace. Then malformed input:
 * an error naming the resource and the field; and what kmesh cannot enforce
 * failing closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "istio/security/authorization.pb-c.h"
#include "istio/workload/workload.pb-c.h"
#include "resources.h"
#include "xds_workload.h"

static inline void km_az_count(void *cctx, __u32 row, int what)
{
	(void)cctx;
	(void)row;
	(void)what;
}

#include "kmesh/authz_eval.h"

/* ---- packing what istiod sends ------------------------------------------------ */

typedef Istio__Security__Match pb_match;

/* A match is given as a filled pb_match; a policy has one rule of one
 * clause of @n matches (n 0: no rule at all). */
static uint8_t *pack_policy(const char *ns, const char *name, int scope,
			    int action, bool dry_run, pb_match **m, size_t n,
			    size_t *len)
{
	Istio__Security__Authorization a = ISTIO__SECURITY__AUTHORIZATION__INIT;
	Istio__Security__Rule rule = ISTIO__SECURITY__RULE__INIT, *rules[1] = { &rule };
	Istio__Security__Clause cl = ISTIO__SECURITY__CLAUSE__INIT, *cls[1] = { &cl };
	uint8_t *buf;

	a.name = (char *)name;
	a.namespace_ = (char *)ns;
	a.scope = scope;
	a.action = action;
	a.dry_run = dry_run;
	if (n) {
		a.n_rules = 1;
		a.rules = rules;
		rule.n_clauses = 1;
		rule.clauses = cls;
		cl.n_matches = n;
		cl.matches = m;
	}
	*len = istio__security__authorization__get_packed_size(&a);
	buf = malloc(*len + 8);
	assert_non_null(buf);
	istio__security__authorization__pack(&a, buf);
	return buf;
}

static uint8_t *pack_workload(const char *uid, const char *ns, const char *node,
			      const char *ip, size_t bytes, const char *policy,
			      size_t *len)
{
	Istio__Workload__Address a = ISTIO__WORKLOAD__ADDRESS__INIT;
	Istio__Workload__Workload w = ISTIO__WORKLOAD__WORKLOAD__INIT;
	ProtobufCBinaryData addr;
	struct in_addr in;
	char *pols[1] = { (char *)policy };
	uint8_t *buf;

	assert_int_equal(inet_pton(AF_INET, ip, &in), 1);
	addr.data = (uint8_t *)&in;
	addr.len = bytes;
	w.uid = (char *)uid;
	w.name = (char *)"pod";
	w.namespace_ = (char *)ns;
	w.service_account = (char *)"default";
	w.node = (char *)node;
	w.n_addresses = 1;
	w.addresses = &addr;
	if (policy) {
		w.n_authorization_policies = 1;
		w.authorization_policies = pols;
	}
	a.type_case = ISTIO__WORKLOAD__ADDRESS__TYPE_WORKLOAD;
	a.workload = &w;
	*len = istio__workload__address__get_packed_size(&a);
	buf = malloc(*len);
	assert_non_null(buf);
	istio__workload__address__pack(&a, buf);
	return buf;
}

/* ---- matches --------------------------------------------------------------- */

static Istio__Security__StringMatch *str(int kind, const char *s)
{
	Istio__Security__StringMatch *m = calloc(1, sizeof(*m));
	static Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;

	istio__security__string_match__init(m);
	m->match_type_case = kind;
	if (kind == ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_PRESENCE)
		m->presence = &empty;
	else if (kind)
		m->exact = (char *)s;	/* one union */
	return m;
}

static Istio__Security__Address *cidr(const char *ip, unsigned int len,
				      size_t bytes)
{
	Istio__Security__Address *a = calloc(1, sizeof(*a));
	uint8_t *b = calloc(1, 16);

	istio__security__address__init(a);
	assert_int_equal(inet_pton(AF_INET, ip, b), 1);
	a->address.data = b;
	a->address.len = bytes;
	a->length = len;
	return a;
}

#define ONE(f, v) do { m->n_##f = 1; m->f = malloc(sizeof(*m->f)); m->f[0] = v; } while (0)

static pb_match *match(void)
{
	pb_match *m = calloc(1, sizeof(*m));

	istio__security__match__init(m);
	return m;
}

static void match_free(pb_match *m)
{
	/* tests own these: the arrays and their one element */
	if (m->n_namespaces) { free(m->namespaces[0]); free(m->namespaces); }
	if (m->n_not_namespaces) { free(m->not_namespaces[0]); free(m->not_namespaces); }
	if (m->n_principals) { free(m->principals[0]); free(m->principals); }
	if (m->n_not_source_ips) { free(m->not_source_ips[0]->address.data); free(m->not_source_ips[0]); free(m->not_source_ips); }
	if (m->n_source_ips) { free(m->source_ips[0]->address.data); free(m->source_ips[0]); free(m->source_ips); }
	free(m->destination_ports);
	free(m);
}

/* ---- the fixture -------------------------------------------------------------- */

enum { A = ISTIO__SECURITY__ACTION__ALLOW, D = ISTIO__SECURITY__ACTION__DENY };
enum { G = 0, NS = 1, SEL = 2 };

#define N_POL 7
#define N_WL 6

struct fx {
	struct km_wl_policy pols[N_POL];
	struct km_wl_workload wls[N_WL];
	struct km_model m;
	struct km_authz_records r;
	struct km_authz_count *rows;
};

static void decode_policy(struct km_wl_policy *p, uint8_t *buf, size_t len)
{
	struct km_err err = { "" };

	if (km_xds_authorization(buf, len, p, &err))
		fail_msg("%s", err.msg);
	free(buf);
}

static void add_policy(struct km_wl_policy *p, const char *ns,
		       const char *name, int scope, int action, pb_match **m,
		       size_t n)
{
	size_t len;
	uint8_t *b = pack_policy(ns, name, scope, action, false, m, n, &len);

	decode_policy(p, b, len);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct km_wl_policy *pp[N_POL];
	struct km_wl_workload *wp[N_WL];
	struct km_err err = { "" };
	pb_match *m, *ms[1];
	size_t len;
	uint8_t *b;

	assert_non_null(f);
	/* 0: DENY from namespace bad, for every workload of shop */
	m = match();
	ONE(namespaces, str(ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_EXACT, "bad"));
	ms[0] = m;
	add_policy(&f->pols[0], "shop", "deny-bad", NS, D, ms, 1);
	match_free(m);
	/* 1: ALLOW on port 8080 only, selected by workload a */
	m = match();
	m->n_destination_ports = 1;
	m->destination_ports = malloc(sizeof(uint32_t));
	m->destination_ports[0] = 8080;
	ms[0] = m;
	add_policy(&f->pols[1], "shop", "allow-ports", SEL, A, ms, 1);
	match_free(m);
	/* 2: DENY unless from 10.1.0.0/16 (notIpBlocks), workload b */
	m = match();
	ONE(not_source_ips, cidr("10.1.0.0", 16, 4));
	ms[0] = m;
	add_policy(&f->pols[2], "shop", "notip", SEL, D, ms, 1);
	match_free(m);
	/* 3: the empty ALLOW (no rules) of namespace other: denies all */
	add_policy(&f->pols[3], "other", "allow-nothing", NS, A, NULL, 0);
	/* 4: a dry-run DENY of everything (an empty rule): never enforced */
	{
		Istio__Security__Authorization a = ISTIO__SECURITY__AUTHORIZATION__INIT;
		Istio__Security__Rule rule = ISTIO__SECURITY__RULE__INIT, *rules[1] = { &rule };

		a.name = "dry";
		a.namespace_ = "shop";
		a.scope = ISTIO__SECURITY__SCOPE__WORKLOAD_SELECTOR;
		a.action = ISTIO__SECURITY__ACTION__DENY;
		a.dry_run = true;
		a.n_rules = 1;
		a.rules = rules;
		len = istio__security__authorization__get_packed_size(&a);
		b = malloc(len);
		istio__security__authorization__pack(&a, b);
		decode_policy(&f->pols[4], b, len);
	}
	/* 5: ALLOW one principal, namespace prin */
	m = match();
	ONE(principals, str(ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_EXACT,
			    "cluster.local/ns/good/sa/client"));
	ms[0] = m;
	add_policy(&f->pols[5], "prin", "allow-sa", NS, A, ms, 1);
	match_free(m);
	/* 6: an action this build does not know: fails closed on ns fc */
	add_policy(&f->pols[6], "fc", "audit", NS, 7, NULL, 0);

	{
		static const struct { const char *uid, *ns, *node, *ip, *pol; } w[N_WL] = {
			{ "c1//Pod/shop/a", "shop", "n1", "10.0.0.1", "shop/allow-ports" },
			{ "c1//Pod/shop/b", "shop", "n1", "10.0.0.2", "shop/notip" },
			{ "c1//Pod/other/c", "other", "n1", "10.0.0.3", NULL },
			{ "c1//Pod/shop/far", "shop", "n2", "10.0.0.4", "shop/allow-ports" },
			{ "c1//Pod/prin/e", "prin", "n1", "10.0.0.5", NULL },
			{ "c1//Pod/fc/f", "fc", "n1", "10.0.0.6", NULL },
		};

		for (int i = 0; i < N_WL; i++) {
			b = pack_workload(w[i].uid, w[i].ns, w[i].node, w[i].ip,
					  4, w[i].pol, &len);
			if (km_xds_address(b, len, &f->wls[i], &err))
				fail_msg("%s", err.msg);
			free(b);
			wp[i] = &f->wls[i];
		}
	}
	/* the dry run is selected by workload a too */
	f->wls[0].policies = realloc(f->wls[0].policies, 2 * sizeof(char *));
	f->wls[0].policies[f->wls[0].n_policies++] = strdup("shop/dry");
	for (int i = 0; i < N_POL; i++)
		pp[i] = &f->pols[i];
	if (km_wl_build(pp, N_POL, wp, N_WL, "n1", &f->m.authz_only,
			&f->m.n_authz_only, &err) ||
	    km_authz_compile(&f->m, &f->r, &err))
		fail_msg("%s", err.msg);
	f->rows = calloc(f->r.n_rows + 1, sizeof(*f->rows));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	km_authz_records_free(&f->r);
	km_wl_listeners_free(f->m.authz_only, f->m.n_authz_only);
	for (int i = 0; i < N_POL; i++)
		km_wl_policy_free(&f->pols[i]);
	for (int i = 0; i < N_WL; i++)
		km_wl_workload_free(&f->wls[i]);
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
	int unknown;		/* the deny rests on an unknown result */
	const char *row;	/* a substring of the deciding row's name */
};

static const struct row rows[] = {
	{ "allow-list on ports: 8080 allowed", "10.0.0.1", 8080, NULL, "good", "x", KM_AZV_ALLOW, 0, NULL },
	{ "allow-list on ports: 9090 denied", "10.0.0.1", 9090, NULL, "good", "x", KM_AZV_DENY, 0, "ALLOW: no ALLOW policy matched" },
	{ "DENY from namespace bad before the ALLOW", "10.0.0.1", 8080, NULL, "bad", "x", KM_AZV_DENY, 0, "DENY policy 'shop/deny-bad'" },
	{ "unproven peer: DENY by namespace does not match it", "10.0.0.1", 8080, NULL, NULL, NULL, KM_AZV_ALLOW, 0, NULL },
	{ "namespace scope: deny-bad on workload b too", "10.0.0.2", 80, "10.1.2.3", "bad", "x", KM_AZV_DENY, 0, "shop/deny-bad" },
	{ "notIpBlocks: source inside allowed", "10.0.0.2", 80, "10.1.2.3", NULL, NULL, KM_AZV_ALLOW, 0, NULL },
	{ "notIpBlocks: source outside denied", "10.0.0.2", 80, "10.2.0.1", NULL, NULL, KM_AZV_DENY, 0, "policy 'shop/notip'" },
	{ "notIpBlocks: source unknown fails closed", "10.0.0.2", 80, NULL, NULL, NULL, KM_AZV_DENY, 1, "policy 'shop/notip'" },
	{ "empty ALLOW denies all", "10.0.0.3", 80, "10.1.2.3", "other", "x", KM_AZV_DENY, 0, "no ALLOW policy matched" },
	{ "workload on another node: no policy here", "10.0.0.4", 9090, NULL, "bad", "x", -1, 0, NULL },
	{ "address of no workload: no policy", "10.0.0.9", 80, NULL, "bad", "x", -1, 0, NULL },
	{ "principals: the enrolled identity allowed", "10.0.0.5", 80, NULL, "good", "client", KM_AZV_ALLOW, 0, NULL },
	{ "principals: another identity denied", "10.0.0.5", 80, NULL, "good", "other", KM_AZV_DENY, 0, "no ALLOW policy matched" },
	{ "principals: unproven peer denied", "10.0.0.5", 80, "10.1.2.3", NULL, NULL, KM_AZV_DENY, 0, "no ALLOW policy matched" },
	{ "unknown action fails closed", "10.0.0.6", 80, "10.1.2.3", "fc", "x", KM_AZV_DENY, 1, "fail-closed 'fc/audit': no ALLOW policy matched" },
};

static void test_rows(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct km_az_rows cr = { f->rows, f->r.n_rows };
		struct km_az_env env = { .dport = w->port };
		struct km_az_state st;
		bool had;

		env.dst = addr(w->dst);
		if (w->src) {
			env.src = addr(w->src);
			env.src_known = 1;
		}
		had = km_authz_decide(&f->r, &env, w->ns, w->sa, &st, &cr);
		if (w->want < 0) {
			if (had)
				fail_msg("%s: a policy applies", w->name);
			continue;
		}
		if (!had)
			fail_msg("%s: no policy applies", w->name);
		if (st.verdict != w->want || (w->want && st.unknown != w->unknown))
			fail_msg("%s: verdict %d unknown %d, want %d %d", w->name,
				 st.verdict, st.unknown, w->want, w->unknown);
		if (w->row && (st.row >= f->r.n_rows ||
			       !strstr(f->r.row_names[st.row], w->row)))
			fail_msg("%s: decided by row %u '%s', want '%s'", w->name,
				 st.row, st.row < f->r.n_rows ?
				 f->r.row_names[st.row] : "?", w->row);
	}
}

/* The dry run is counted, never enforced; the fail-closed policy is said. */
static void test_shadow_and_status(void **state)
{
	struct fx *f = *state;
	struct km_az_rows cr = { f->rows, f->r.n_rows };
	struct km_az_env env = { .dport = 8080 };
	struct km_az_state st;
	bool shadow = false, said = false;

	env.dst = addr("10.0.0.1");
	assert_true(km_authz_decide(&f->r, &env, "good", "x", &st, &cr));
	assert_int_equal(st.verdict, KM_AZV_ALLOW);
	for (size_t i = 0; i < f->r.n_rows; i++)
		if (strstr(f->r.row_names[i], "dry-run DENY policy 'shop/dry'") &&
		    f->rows[i].shadow_denied)
			shadow = true;
	for (size_t i = 0; i < f->r.n_fail_closed; i++)
		if (strstr(f->r.fail_closed[i], "'fc/audit'") &&
		    strstr(f->r.fail_closed[i], "action 7 (unknown to kmesh)"))
			said = true;
	assert_true(shadow);
	assert_true(said);
}

/* ---- malformed input ------------------------------------------------------------ */

static void expect_policy_error(pb_match *m, const char *want)
{
	struct km_wl_policy p;
	struct km_err err = { "" };
	pb_match *ms[1] = { m };
	size_t len;
	uint8_t *b = pack_policy("ns", "p", SEL, D, false, ms, 1, &len);

	assert_int_equal(km_xds_authorization(b, len, &p, &err), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("error '%s', want '%s'", err.msg, want);
	assert_null(p.key);
	free(b);
	match_free(m);
}

static void test_malformed(void **state)
{
	struct km_wl_policy p;
	struct km_wl_workload w;
	struct km_err err = { "" };
	static const uint8_t junk[] = { 0x0a, 0x7f, 'x' };
	pb_match *m;
	size_t len;
	uint8_t *b;

	(void)state;
	assert_int_equal(km_xds_authorization(junk, sizeof(junk), &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "undecodable istio.security.Authorization"));

	m = match();
	ONE(source_ips, cidr("10.0.0.0", 8, 5));
	expect_policy_error(m, "authorization 'ns/p': rules[0].clauses[0].matches[0].source_ips[0]: an address of 5 bytes (4 or 16)");
	m = match();
	ONE(not_source_ips, cidr("10.0.0.0", 33, 4));
	expect_policy_error(m, "matches[0].not_source_ips[0]: prefix length 33 longer than the address");
	m = match();
	m->n_destination_ports = 1;
	m->destination_ports = malloc(sizeof(uint32_t));
	m->destination_ports[0] = 70000;
	expect_policy_error(m, "matches[0].destination_ports[0]: port 70000 out of range");
	m = match();
	ONE(not_namespaces, str(0, NULL));
	expect_policy_error(m, "matches[0].not_namespaces[0]: a string match without exact, prefix, suffix or presence");

	b = pack_policy("", "p", NS, D, false, NULL, 0, &len);
	assert_int_equal(km_xds_authorization(b, len, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "a policy without a namespace"));
	free(b);

	/* a field this build does not know (number 99): fails closed */
	b = pack_policy("ns", "new", NS, D, false, NULL, 0, &len);
	b[len++] = 0x98;	/* key: field 99, varint */
	b[len++] = 0x06;
	b[len++] = 0x01;
	assert_int_equal(km_xds_authorization(b, len, &p, &err), 0);
	assert_non_null(p.fail_closed);
	assert_non_null(strstr(p.fail_closed, "field 99 (unknown to kmesh)"));
	assert_int_equal(p.pol.permissions.kind, KM_AZN_UNKNOWN);
	assert_false(p.deny);
	km_wl_policy_free(&p);
	free(b);

	/* a field this build does not know inside a string match (a newer
	 * istiod's ignore_case, say): the policy fails closed; and a dry run
	 * with such a field stays a dry run (counted, never enforced) */
	for (int dry = 0; dry < 2; dry++) {
		static uint8_t one = 1;
		ProtobufCMessageUnknownField uf = {
			.tag = 9, .wire_type = PROTOBUF_C_WIRE_TYPE_VARINT,
			.len = 1, .data = &one,
		};
		Istio__Security__StringMatch *sm;

		m = match();
		ONE(namespaces, str(ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_EXACT, "shop"));
		sm = m->namespaces[0];
		sm->base.n_unknown_fields = 1;
		sm->base.unknown_fields = &uf;
		b = pack_policy("ns", "nested", NS, D, dry, &m, 1, &len);
		sm->base.n_unknown_fields = 0;
		sm->base.unknown_fields = NULL;
		assert_int_equal(km_xds_authorization(b, len, &p, &err), 0);
		assert_non_null(p.fail_closed);
		if (!strstr(p.fail_closed, "namespaces[0]: field 9 (unknown to kmesh)"))
			fail_msg("%s", p.fail_closed);
		assert_int_equal(p.pol.permissions.kind, KM_AZN_UNKNOWN);
		assert_int_equal(p.dry_run, dry);
		km_wl_policy_free(&p);
		free(b);
		match_free(m);
	}

	/* a workload address of 3 bytes */
	b = pack_workload("c1//Pod/x/y", "x", "n1", "10.0.0.1", 3, NULL, &len);
	assert_int_equal(km_xds_address(b, len, &w, &err), -EINVAL);
	if (!strstr(err.msg, "workload 'c1//Pod/x/y' (x/pod): addresses[0]: an address of 3 bytes"))
		fail_msg("%s", err.msg);
	free(b);
	b = pack_workload("", "x", "n1", "10.0.0.1", 4, NULL, &len);
	assert_int_equal(km_xds_address(b, len, &w, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "uid: missing"));
	free(b);
	assert_int_equal(km_xds_address(junk, sizeof(junk), &w, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "undecodable istio.workload.Address"));
}

/* A Service address names no workload: skipped, not an error. */
static void test_service(void **state)
{
	Istio__Workload__Address a = ISTIO__WORKLOAD__ADDRESS__INIT;
	Istio__Workload__Service s = ISTIO__WORKLOAD__SERVICE__INIT;
	struct km_wl_workload w;
	struct km_err err = { "" };
	uint8_t buf[128];
	size_t len;

	(void)state;
	s.name = "svc";
	s.namespace_ = "ns";
	s.hostname = "svc.ns.svc.cluster.local";
	a.type_case = ISTIO__WORKLOAD__ADDRESS__TYPE_SERVICE;
	a.service = &s;
	len = istio__workload__address__pack(&a, buf);
	assert_int_equal(km_xds_address(buf, len, &w, &err), KM_XDS_SKIP);
}

/* A Workload of another trust domain is never vouched for (kmesh proves
 * cluster.local identities only); cluster.local or none is. */
static void test_trust_domain(void **state)
{
	static const struct { const char *td; bool foreign; } tds[] = {
		{ "", false }, { "cluster.local", false },
		{ "corp.example", true },
	};
	Istio__Workload__Address a = ISTIO__WORKLOAD__ADDRESS__INIT;
	Istio__Workload__Workload w = ISTIO__WORKLOAD__WORKLOAD__INIT;
	uint8_t ip[4] = { 10, 0, 0, 1 }, buf[256];
	ProtobufCBinaryData addr = { 4, ip };
	struct km_err err = { "" };

	(void)state;
	w.uid = "u1";
	w.name = "pod";
	w.namespace_ = "ns";
	w.service_account = "sa";
	w.node = "n1";
	w.n_addresses = 1;
	w.addresses = &addr;
	a.type_case = ISTIO__WORKLOAD__ADDRESS__TYPE_WORKLOAD;
	a.workload = &w;
	for (size_t i = 0; i < sizeof(tds) / sizeof(tds[0]); i++) {
		struct km_wl_workload out;
		size_t len;

		w.trust_domain = (char *)tds[i].td;
		len = istio__workload__address__pack(&a, buf);
		assert_int_equal(km_xds_address(buf, len, &out, &err), 0);
		if (out.foreign_trust_domain != tds[i].foreign)
			fail_msg("trust domain '%s': foreign %d", tds[i].td,
				 out.foreign_trust_domain);
		km_wl_workload_free(&out);
	}
}

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2)
		sscanf(h, "%2hhx", &out[n++]);
	return n;
}

/*
 * Bytes packed by protobufjs from istio/ztunnel's own proto files
 * (@62d82652, proto/SOURCES.md), not from kmesh's transcription: the
 * field numbers agree. An Authorization ns/p, WORKLOAD_SELECTOR, DENY, one
 * match of not_source_ips 10.1.0.0/16 and destination_ports 80; a
 * Workload u1 in ns on node n1 at 10.0.0.1 selecting ns/p.
 */
static void test_upstream_bytes(void **state)
{
	static const char authz[] =
		"0a017012026e73180220012a110a0f120d32080a040a01000010104a0150";
	static const char wl[] =
		"0a1a12026e731a040a0000014a026e318201046e732f70a201027531";
	struct km_wl_policy p;
	struct km_wl_workload w;
	struct km_err err = { "" };
	const struct km_az_node *m;
	struct km_ip ip;
	uint8_t buf[64];

	(void)state;
	assert_int_equal(km_xds_authorization(buf, unhex(authz, buf), &p, &err), 0);
	assert_string_equal(p.key, "ns/p");
	assert_int_equal(p.scope, KM_WL_WORKLOAD_SELECTOR);
	assert_true(p.deny);
	assert_null(p.fail_closed);
	/* policy OR > rule AND > clause OR > match AND */
	m = &p.pol.permissions.kids[0].kids[0].kids[0];
	assert_int_equal(m->kind, KM_AZN_AND);
	assert_int_equal(m->n_kids, 2);
	assert_int_equal(m->kids[0].kind, KM_AZN_NOT);
	assert_int_equal(m->kids[0].kids[0].kids[0].kind, KM_AZN_SIP);
	assert_int_equal(m->kids[0].kids[0].kids[0].cidr.len, 16);
	assert_int_equal(m->kids[1].kids[0].kind, KM_AZN_DPORT);
	assert_int_equal(m->kids[1].kids[0].lo, 80);
	km_wl_policy_free(&p);

	assert_int_equal(km_xds_address(buf, unhex(wl, buf), &w, &err), 0);
	assert_string_equal(w.uid, "u1");
	assert_string_equal(w.ns, "ns");
	assert_string_equal(w.node, "n1");
	assert_int_equal(w.n_addrs, 1);
	assert_int_equal(km_ip_parse("10.0.0.1", &ip), 0);
	assert_memory_equal(&w.addrs[0].addr, &ip.addr, sizeof(ip.addr));
	assert_int_equal(w.n_policies, 1);
	assert_string_equal(w.policies[0], "ns/p");
	km_wl_workload_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shadow_and_status, setup, teardown),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_trust_domain),
		cmocka_unit_test(test_upstream_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
