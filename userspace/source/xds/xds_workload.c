// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio's ambient API -> the authorization model (xds_workload.h).
 *
 * An Authorization is one policy: it matches when one of its rules does
 * (no rule: never); a rule when all its clauses do (none: always); a
 * clause when one of its non-empty matches does (no match: always; an
 * empty match never matches); a match when every kind it sets does, a
 * kind when one of its values does and a not_ kind when none does, as
 * ztunnel evaluates them (src/rbac.rs). The whole tree goes into the
 * policy's permissions; its principals are "any".
 *
 * Identity conditions follow ztunnel on a peer's SPIFFE identity
 * "TD/ns/NS/sa/SA" (no "spiffe://"), with what kmesh proves (authz.h): an
 * enrolled client's namespace and service account in cluster.local. An
 * unproven peer has no identity: its namespace is "" and no principal
 * matches it, so not_namespaces and not_principals match it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istio/security/authorization.pb-c.h"
#include "istio/workload/workload.pb-c.h"
#include "resources.h"
#include "xds_workload.h"
#include "diag.h"

typedef Istio__Security__Authorization pb_authz;
typedef Istio__Security__Match pb_match;
typedef Istio__Security__StringMatch pb_str;
typedef Istio__Security__Address pb_addr;
typedef Istio__Security__ServiceAccountMatch pb_sa;

struct dc {
	struct km_err *err;
	const char *res;	/* "authorization 'ns/name'" */
	char *fail_closed;	/* the first thing kmesh cannot enforce */
};

static int __attribute__((format(printf, 3, 4)))
fail(struct dc *c, const char *path, const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	km_err_set(c->err, "%s: %s%s%s", c->res, path, *path ? ": " : "", msg);
	km_one_line(c->err->msg);	/* names from the wire may hold anything */
	return -EINVAL;
}

static int oom(struct dc *c)
{
	km_err_set(c->err, "xds: out of memory");
	return -ENOMEM;
}

/* Something kmesh cannot enforce in a valid policy: the policy fails
 * closed (the first reason is kept for the status line). */
static int __attribute__((format(printf, 2, 3)))
poison(struct dc *c, const char *fmt, ...)
{
	va_list ap;
	int ret;

	if (c->fail_closed)
		return 0;
	va_start(ap, fmt);
	ret = vasprintf(&c->fail_closed, fmt, ap);
	va_end(ap);
	if (ret < 0) {
		c->fail_closed = NULL;
		return oom(c);
	}
	km_one_line(c->fail_closed);
	return 0;
}

/* A field number this build does not know (a newer istiod's). */
static int unknown_fields(struct dc *c, const ProtobufCMessage *m,
			  const char *path)
{
	if (!m->n_unknown_fields)
		return 0;
	return poison(c, "%s%sfield %u (unknown to kmesh)", path,
		      *path ? ": " : "", (unsigned int)m->unknown_fields[0].tag);
}

/* ---- nodes ------------------------------------------------------------------ */

static struct km_az_node *kid_add(struct dc *c, struct km_az_node *n)
{
	struct km_az_node *k = realloc(n->kids, (n->n_kids + 1) * sizeof(*k));

	if (!k) {
		oom(c);
		return NULL;
	}
	n->kids = k;
	k = &k[n->n_kids++];
	memset(k, 0, sizeof(*k));
	return k;
}

/* An AND or OR that got no operand is what it is empty: true, false. */
static void close_list(struct km_az_node *n, uint8_t empty)
{
	if (!n->n_kids)
		n->kind = empty;
}

static int __attribute__((format(printf, 3, 4)))
unknown(struct dc *c, struct km_az_node *n, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = km_az_node_unknown(n, fmt, ap);
	va_end(ap);
	if (ret)
		return oom(c);
	return 0;
}

/* A proven identity, and something kmesh cannot decide about it: false
 * for an unproven peer (it has no identity to match), unknown otherwise. */
static int ident_and_unknown(struct dc *c, struct km_az_node *n,
			     const char *kind, const char *how, const char *s)
{
	struct km_az_node *k;

	n->kind = KM_AZN_AND;
	if (!(k = kid_add(c, n)))
		return -ENOMEM;
	k->kind = KM_AZN_IDENT;
	if (!(k = kid_add(c, n)))
		return -ENOMEM;
	return unknown(c, k, "%s %s '%.64s'", kind, how, s);
}

static bool has_spiffe(const char *s)
{
	return !strncmp(s, "spiffe://", 9);
}

/* namespaces: compared with the peer's namespace, "" when unproven. */
static int ns_match(struct dc *c, const pb_str *m, const char *path,
		    struct km_az_node *n)
{
	const char *s;
	bool prefix;

	switch (m->match_type_case) {
	case ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_PRESENCE:
		n->kind = KM_AZN_IDENT;
		return 0;
	case ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_EXACT:
		s = m->exact;
		if (!*s) {	/* the unproven peer's namespace */
			n->kind = KM_AZN_NOT;
			if (!(n = kid_add(c, n)))
				return -ENOMEM;
			n->kind = KM_AZN_IDENT;
			return 0;
		}
		if (strlen(s) >= KM_IDENT_NS_MAX || strchr(s, '/')) {
			n->kind = KM_AZN_NONE;	/* no proven namespace is */
			return 0;
		}
		n->kind = KM_AZN_IDENT_NS;
		n->ns = strdup(s);
		return n->ns ? 0 : oom(c);
	case ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_PREFIX:
	case ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_SUFFIX:
		prefix = m->match_type_case ==
			 ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_PREFIX;
		s = prefix ? m->prefix : m->suffix;
		if (!*s) {	/* "" starts and ends every namespace */
			n->kind = KM_AZN_ANY;
			return 0;
		}
		return ident_and_unknown(c, n, "namespaces",
					 prefix ? "prefix" : "suffix", s);
	default:
		return fail(c, path, "a string match without exact, prefix, suffix or presence");
	}
}

/* principals: compared with the peer's identity without "spiffe://". */
static int principal_match(struct dc *c, const pb_str *m, const char *path,
			   struct km_az_node *n)
{
	const char *s;
	int ret;

	switch (m->match_type_case) {
	case ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_PRESENCE:
		n->kind = KM_AZN_IDENT;
		return 0;
	case ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_EXACT:
		if (has_spiffe(m->exact)) {
			n->kind = KM_AZN_NONE;	/* never an identity */
			return 0;
		}
		return km_az_principal_exact(m->exact, n) ? oom(c) : 0;
	case ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_PREFIX:
		s = m->prefix;
		if (!*s) {
			n->kind = KM_AZN_IDENT;
			return 0;
		}
		if (has_spiffe(s)) {
			n->kind = KM_AZN_NONE;
			return 0;
		}
		ret = km_az_principal_prefix(s, n);
		if (ret <= 0)
			return ret ? oom(c) : 0;
		return ident_and_unknown(c, n, "principals", "prefix", s);
	case ISTIO__SECURITY__STRING_MATCH__MATCH_TYPE_SUFFIX:
		s = m->suffix;
		if (!*s) {
			n->kind = KM_AZN_IDENT;
			return 0;
		}
		/* Istio's "*\/ns/NS/sa/SA": NS/SA in any trust domain; kmesh
		 * proves cluster.local ones */
		if (!strncmp(s, "/ns/", 4)) {
			char *full;

			if (asprintf(&full, "%s%s", KM_TRUST_DOMAIN, s) < 0)
				return oom(c);
			ret = km_az_principal_exact(full, n);
			free(full);
			if (ret)
				return oom(c);
			if (n->kind == KM_AZN_IDENT_SA)
				return 0;
			km_az_node_free(n);
		}
		return ident_and_unknown(c, n, "principals", "suffix", s);
	default:
		return fail(c, path, "a string match without exact, prefix, suffix or presence");
	}
}

static int sa_match(struct dc *c, const pb_sa *m, const char *path,
		    struct km_az_node *n)
{
	char *full;
	int ret;

	if (!*m->namespace_ || !*m->serviceaccount ||
	    strchr(m->namespace_, '/') || strchr(m->serviceaccount, '/')) {
		n->kind = KM_AZN_NONE;	/* no proven identity is that */
		return 0;
	}
	if (asprintf(&full, "%s/ns/%s/sa/%s", KM_TRUST_DOMAIN, m->namespace_,
		     m->serviceaccount) < 0)
		return oom(c);
	ret = km_az_principal_exact(full, n);
	free(full);
	return ret ? oom(c) : 0;
}

static int ip_match(struct dc *c, const pb_addr *a, const char *path,
		    uint8_t kind, struct km_az_node *n)
{
	size_t len = a->address.len;
	struct km_ip *ip = &n->cidr.ip;

	if (len != 4 && len != 16)
		return fail(c, path, "an address of %zu bytes (4 or 16)", len);
	if (a->length > len * 8)
		return fail(c, path, "prefix length %u longer than the address",
			    a->length);
	n->kind = kind;
	memset(ip, 0, sizeof(*ip));
	if (len == 4) {
		ip->family = KM_FAMILY_INET;
		ip->addr.w[2] = htonl(0xffff);
		memcpy(&ip->addr.w[3], a->address.data, 4);
	} else {
		ip->family = KM_FAMILY_INET6;
		memcpy(&ip->addr, a->address.data, 16);
	}
	n->cidr.len = a->length;
	return 0;
}

static int port_match(struct dc *c, uint32_t port, const char *path,
		      struct km_az_node *n)
{
	if (!port || port > 65535)
		return fail(c, path, "port %u out of range", port);
	n->kind = KM_AZN_DPORT;
	n->lo = n->hi = port;
	return 0;
}

/*
 * One kind of a match: the OR of its values (the NOT of it for a not_
 * kind), ANDed into @and. Nothing when the kind has no value. The value
 * decoders share one signature through these thin wrappers.
 */
typedef int (*value_fn)(struct dc *c, const void *v, const char *path,
			struct km_az_node *n);

static int v_ns(struct dc *c, const void *v, const char *p, struct km_az_node *n)
{
	return ns_match(c, *(const pb_str *const *)v, p, n);
}

static int v_principal(struct dc *c, const void *v, const char *p,
		       struct km_az_node *n)
{
	return principal_match(c, *(const pb_str *const *)v, p, n);
}

static int v_sa(struct dc *c, const void *v, const char *p, struct km_az_node *n)
{
	return sa_match(c, *(const pb_sa *const *)v, p, n);
}

static int v_sip(struct dc *c, const void *v, const char *p, struct km_az_node *n)
{
	return ip_match(c, *(const pb_addr *const *)v, p, KM_AZN_SIP, n);
}

static int v_dip(struct dc *c, const void *v, const char *p, struct km_az_node *n)
{
	return ip_match(c, *(const pb_addr *const *)v, p, KM_AZN_DIP, n);
}

static int v_port(struct dc *c, const void *v, const char *p, struct km_az_node *n)
{
	return port_match(c, *(const uint32_t *)v, p, n);
}

static int kind_add(struct dc *c, struct km_az_node *and, const char *mpath,
		    const char *field, bool negate, const void *vals,
		    size_t n_vals, size_t size, bool msg, value_fn fn)
{
	struct km_az_node *or;
	char path[KM_WHAT_LEN + 64];
	int ret;

	if (!n_vals)
		return 0;
	if (!(or = kid_add(c, and)))
		return -ENOMEM;
	if (negate) {
		or->kind = KM_AZN_NOT;
		if (!(or = kid_add(c, or)))
			return -ENOMEM;
	}
	or->kind = KM_AZN_OR;
	for (size_t i = 0; i < n_vals; i++) {
		struct km_az_node *k = kid_add(c, or);
		const void *v = (const char *)vals + i * size;

		if (!k)
			return -ENOMEM;
		snprintf(path, sizeof(path), "%s.%s[%zu]", mpath, field, i);
		/* a message value with a field kmesh does not know fails the
		 * policy closed, whatever its kind */
		ret = msg ? unknown_fields(c, *(const ProtobufCMessage *const *)v,
					   path) : 0;
		if (!ret)
			ret = fn(c, v, path, k);
		if (ret)
			return ret;
	}
	return 0;
}

/* A match: the AND of the kinds it sets; NONE when it sets none (ztunnel
 * skips an empty match: it never matches). */
static int match_node(struct dc *c, const pb_match *m, const char *path,
		      struct km_az_node *n)
{
	const struct {
		const char *name;
		bool neg;
		size_t n;
		const void *v;
		size_t size;
		bool msg;
		value_fn fn;
	} kinds[] = {
#define K(f, neg, fn) { #f, neg, m->n_##f, m->f, sizeof(*m->f), \
			fn != v_port, fn }
		K(namespaces, false, v_ns),
		K(not_namespaces, true, v_ns),
		K(service_accounts, false, v_sa),
		K(not_service_accounts, true, v_sa),
		K(principals, false, v_principal),
		K(not_principals, true, v_principal),
		K(source_ips, false, v_sip),
		K(not_source_ips, true, v_sip),
		K(destination_ips, false, v_dip),
		K(not_destination_ips, true, v_dip),
		K(destination_ports, false, v_port),
		K(not_destination_ports, true, v_port),
#undef K
	};
	int ret;

	n->kind = KM_AZN_AND;
	ret = unknown_fields(c, &m->base, path);
	for (size_t i = 0; !ret && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		ret = kind_add(c, n, path, kinds[i].name, kinds[i].neg,
			       kinds[i].v, kinds[i].n, kinds[i].size,
			       kinds[i].msg, kinds[i].fn);
	for (size_t i = 0; !ret && i < m->n_extensions; i++) {
		struct km_az_node *k = kid_add(c, n);

		ret = k ? unknown(c, k, "%s.extensions[%zu] '%.64s'", path, i,
				  m->extensions[i]->name) : -ENOMEM;
	}
	if (!ret)
		close_list(n, KM_AZN_NONE);
	return ret;
}

static int rules_node(struct dc *c, const pb_authz *a, struct km_az_node *n)
{
	char path[KM_WHAT_LEN];
	int ret;

	n->kind = KM_AZN_OR;
	for (size_t r = 0; r < a->n_rules; r++) {
		const Istio__Security__Rule *rule = a->rules[r];
		struct km_az_node *rn = kid_add(c, n);

		if (!rn)
			return -ENOMEM;
		rn->kind = KM_AZN_AND;
		snprintf(path, sizeof(path), "rules[%zu]", r);
		if ((ret = unknown_fields(c, &rule->base, path)))
			return ret;
		for (size_t k = 0; k < rule->n_clauses; k++) {
			const Istio__Security__Clause *cl = rule->clauses[k];
			struct km_az_node *cn = kid_add(c, rn);

			if (!cn)
				return -ENOMEM;
			cn->kind = KM_AZN_OR;
			snprintf(path, sizeof(path), "rules[%zu].clauses[%zu]", r, k);
			if ((ret = unknown_fields(c, &cl->base, path)))
				return ret;
			for (size_t m = 0; m < cl->n_matches; m++) {
				struct km_az_node *mn = kid_add(c, cn);

				if (!mn)
					return -ENOMEM;
				snprintf(path, sizeof(path),
					 "rules[%zu].clauses[%zu].matches[%zu]",
					 r, k, m);
				ret = match_node(c, cl->matches[m], path, mn);
				if (ret)
					return ret;
			}
			close_list(cn, KM_AZN_ANY);
		}
		close_list(rn, KM_AZN_ANY);
	}
	close_list(n, KM_AZN_NONE);
	return 0;
}

/* What kmesh cannot enforce at the policy's level. */
static int policy_level(struct dc *c, const pb_authz *a)
{
	int ret = unknown_fields(c, &a->base, "");

	if (!ret && a->action != ISTIO__SECURITY__ACTION__ALLOW &&
	    a->action != ISTIO__SECURITY__ACTION__DENY)
		ret = poison(c, "action %d (unknown to kmesh)", (int)a->action);
	if (!ret && a->scope > ISTIO__SECURITY__SCOPE__WORKLOAD_SELECTOR)
		ret = poison(c, "scope %d (unknown to kmesh, taken as GLOBAL)",
			     (int)a->scope);
	if (!ret && a->n_extensions)
		ret = poison(c, "extensions[0] '%.64s'", a->extensions[0]->name);
	return ret;
}

int km_xds_authorization(const uint8_t *buf, size_t len,
			 struct km_wl_policy *out, struct km_err *err)
{
	pb_authz *a = istio__security__authorization__unpack(NULL, len, buf);
	char res[2 * KM_QUOTE_MAX + 32];
	struct dc c = { .err = err, .res = res };
	int ret;

	memset(out, 0, sizeof(*out));
	if (!a) {
		km_err_set(err, "authorization: undecodable istio.security.Authorization (%zu bytes)",
			   len);
		return -EINVAL;
	}
	snprintf(res, sizeof(res), "authorization '%.64s/%.64s'",
		 a->namespace_, a->name);
	km_one_line(res);
	if (!*a->name || !*a->namespace_) {
		ret = fail(&c, "", "a policy without a %s",
			   *a->name ? "namespace" : "name");
		goto out;
	}
	ret = -ENOMEM;
	if (asprintf(&out->key, "%s/%s", a->namespace_, a->name) < 0) {
		out->key = NULL;
		oom(&c);
		goto out;
	}
	out->ns = strdup(a->namespace_);
	out->pol.name = strdup(out->key);
	if (!out->ns || !out->pol.name) {
		oom(&c);
		goto out;
	}
	out->scope = a->scope;
	out->deny = a->action == ISTIO__SECURITY__ACTION__DENY;
	out->dry_run = a->dry_run;
	out->pol.principals.kind = KM_AZN_ANY;
	ret = policy_level(&c, a);
	if (!ret)
		ret = rules_node(&c, a, &out->pol.permissions);
	if (!ret && c.fail_closed) {
		/* one unknown condition in an engine of its own: every
		 * connection to what it selects is denied, unless the
		 * policy is a dry run, which stays counted only */
		km_az_node_free(&out->pol.permissions);
		out->pol.permissions.kind = KM_AZN_UNKNOWN;
		out->pol.permissions.what = strdup(c.fail_closed);
		out->fail_closed = c.fail_closed;
		c.fail_closed = NULL;
		out->deny = false;
		if (!out->pol.permissions.what)
			ret = oom(&c);
	}
out:
	free(c.fail_closed);
	if (ret)
		km_wl_policy_free(out);
	istio__security__authorization__free_unpacked(a, NULL);
	return ret;
}

/* ---- Address ------------------------------------------------------------------ */

static int workload(const Istio__Workload__Workload *w,
		    struct km_wl_workload *out, struct km_err *err)
{
	char res[2 * KM_QUOTE_MAX + 32];
	struct dc c = { .err = err, .res = res };
	char path[32];

	snprintf(res, sizeof(res), "workload '%.64s' (%.32s/%.32s)", w->uid,
		 w->namespace_, w->name);
	km_one_line(res);
	if (!*w->uid)
		return fail(&c, "uid", "missing");
	for (size_t i = 0; i < w->n_addresses; i++) {
		size_t len = w->addresses[i].len;

		snprintf(path, sizeof(path), "addresses[%zu]", i);
		if (len != 4 && len != 16)
			return fail(&c, path, "an address of %zu bytes (4 or 16)", len);
	}
	out->uid = strdup(w->uid);
	out->name = strdup(w->name);
	out->ns = strdup(w->namespace_);
	out->sa = strdup(w->service_account);
	out->node = strdup(w->node);
	out->foreign_trust_domain = *w->trust_domain &&
				    strcmp(w->trust_domain, KM_TRUST_DOMAIN);
	out->addrs = calloc(w->n_addresses + 1, sizeof(*out->addrs));
	out->policies = calloc(w->n_authorization_policies + 1,
			       sizeof(*out->policies));
	if (!out->uid || !out->name || !out->ns || !out->sa || !out->node ||
	    !out->addrs || !out->policies)
		return oom(&c);
	for (size_t i = 0; i < w->n_addresses; i++) {
		struct km_ip *ip = &out->addrs[out->n_addrs++];

		if (w->addresses[i].len == 4) {
			ip->family = KM_FAMILY_INET;
			ip->addr.w[2] = htonl(0xffff);
			memcpy(&ip->addr.w[3], w->addresses[i].data, 4);
		} else {
			ip->family = KM_FAMILY_INET6;
			memcpy(&ip->addr, w->addresses[i].data, 16);
		}
	}
	for (size_t i = 0; i < w->n_authorization_policies; i++) {
		out->policies[i] = strdup(w->authorization_policies[i]);
		if (!out->policies[i])
			return oom(&c);
		out->n_policies++;
	}
	return 0;
}

int km_xds_address(const uint8_t *buf, size_t len,
		   struct km_wl_workload *out, struct km_err *err)
{
	Istio__Workload__Address *a =
		istio__workload__address__unpack(NULL, len, buf);
	int ret;

	memset(out, 0, sizeof(*out));
	if (!a) {
		km_err_set(err, "address: undecodable istio.workload.Address (%zu bytes)",
			   len);
		return -EINVAL;
	}
	switch (a->type_case) {
	case ISTIO__WORKLOAD__ADDRESS__TYPE_WORKLOAD:
		ret = workload(a->workload, out, err);
		if (ret)
			km_wl_workload_free(out);
		break;
	case ISTIO__WORKLOAD__ADDRESS__TYPE_SERVICE:
		ret = KM_XDS_SKIP;	/* policies select workloads */
		break;
	default:
		km_err_set(err, "address: neither a workload nor a service");
		ret = -EINVAL;
		break;
	}
	istio__workload__address__free_unpacked(a, NULL);
	return ret;
}
